// From an I/O callback (or a timer's), an immediate runs before a timeout
// of 0: the check phase comes before the next timers phase. Node's
// main-module race between the two does not arise here.
const fs = require('fs');
fs.stat(__filename, () => {
  console.log('stat callback');
  setTimeout(() => {
    console.log('timeout 0 from the stat callback');
    setTimeout(() => console.log('timeout 0 from the timeout'), 0);
    setImmediate(() => console.log('immediate from the timeout'));
  }, 0);
  setImmediate(() => {
    console.log('immediate from the stat callback');
    process.nextTick(() => console.log('tick from the immediate'));
  });
  process.nextTick(() => console.log('tick from the stat callback'));
});
