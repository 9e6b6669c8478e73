// Ticks and promise jobs nested in each other: every tick queued so far
// runs before any promise job, and a tick queued from a promise job runs
// after the promise jobs already queued.
console.log('sync start');
process.nextTick(() => {
  console.log('tick 1');
  Promise.resolve().then(() => {
    console.log('promise from tick 1');
    process.nextTick(() => console.log('tick from promise'));
  });
  process.nextTick(() => console.log('tick from tick 1'));
});
Promise.resolve().then(() => {
  console.log('promise 1');
  Promise.resolve().then(() => console.log('promise from promise 1'));
});
process.nextTick(() => console.log('tick 2'));
console.log('sync end');
