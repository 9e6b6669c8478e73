// Unreferenced timers do not keep the process alive: the unref'd interval
// and timeout never run once the referenced timers are done, and a timer
// referenced again does keep it.
const bg = setInterval(() => console.log('unref interval: never printed'),
                       1000);
bg.unref();
setTimeout(() => console.log('unref timeout: never printed'), 500).unref();
const back = setTimeout(() => console.log('unref then ref: 200 ms'), 200);
back.unref();
back.ref();
console.log('hasRef', bg.hasRef(), back.hasRef());
setTimeout(() => console.log('referenced: 10 ms'), 10);
process.on('exit', () => console.log('exit'));
