// Immediates run in start order, each followed by the ticks and promise
// jobs it queued (a tick queued by the first runs before the second); an
// immediate cleared by an earlier one never runs; one queued by an
// immediate runs after every immediate already queued.
console.log('main');
setImmediate(() => {
  console.log('immediate 1');
  process.nextTick(() => console.log('tick from immediate 1'));
  Promise.resolve().then(() => {
    console.log('promise from immediate 1');
    process.nextTick(() => console.log('tick from that promise'));
  });
  setImmediate(() => console.log('immediate from immediate 1'));
  clearImmediate(third);
});
setImmediate(() => {
  console.log('immediate 2');
  Promise.resolve().then(() => console.log('promise from immediate 2'));
  process.nextTick(() => clearImmediate(fifth));
});
const third = setImmediate(() => console.log('immediate 3: cleared'));
setImmediate(() => console.log('immediate 4'));
const fifth = setImmediate(() => console.log('immediate 5: cleared'));
process.nextTick(() => console.log('tick from main'));
