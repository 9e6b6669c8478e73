// timeout.refresh() restarts a timer with its delay from the call: before
// it ran (it moves later), and after it ran (it runs again).
let n = 0;
const t = setTimeout(() => console.log(`t (150 ms) runs, time ${++n}`), 150);
setTimeout(() => {
  t.refresh();
  console.log('90 ms: refresh t, now due at 240 ms');
}, 90);
setTimeout(() => console.log('180 ms'), 180);
setTimeout(() => {
  console.log('360 ms: refresh t after it ran, due at 510 ms');
  t.refresh();
}, 360);
setTimeout(() => console.log('450 ms'), 450);
