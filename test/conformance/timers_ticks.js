// Ticks and promise jobs run between two timers of the same phase, and a
// timeout started from a timer callback waits for a later iteration, even
// with a delay of 0, behind a timer already due.
setTimeout(() => {
  console.log('a');
  process.nextTick(() => console.log('tick from a'));
  Promise.resolve().then(() => console.log('promise from a'));
  setTimeout(() => console.log('timeout of 0 from a'), 0);
}, 5);
setTimeout(() => {
  console.log('b, due with a');
  Promise.resolve().then(() => {
    console.log('promise from b');
    process.nextTick(() => console.log('tick from promise from b'));
  });
}, 5);
