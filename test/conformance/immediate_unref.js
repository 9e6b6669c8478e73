// An unreferenced immediate does not keep the process alive, nor the poll
// phase from waiting: it runs only when the loop gets to a check phase for
// another reason (here after the stat callback), and one left pending when
// nothing else is alive never runs. ref() makes it count again.
const fs = require('fs');
const early = setImmediate(() => {
  console.log('unreferenced immediate');
  const never = setImmediate(() => console.log('never printed'));
  never.unref();
  console.log('never hasRef:', never.hasRef());
});
early.unref();
console.log('early hasRef:', early.hasRef());
const back = setImmediate(() => {});
back.unref();
back.ref();
console.log('back hasRef:', back.hasRef());
clearImmediate(back);
console.log('cleared hasRef:', back.hasRef());
fs.stat(__filename, () => console.log('stat callback'));
process.on('exit', () => console.log('exit'));
