// timeout.refresh() restarts a timer with its delay from the call: before
// it ran (it moves later), and after it ran (it runs again).
let n = 0;
const t = setTimeout(() => console.log(`t (50 ms) runs, time ${++n}`), 50);
setTimeout(() => {
  t.refresh();
  console.log('30 ms: refresh t, now due at 80 ms');
}, 30);
setTimeout(() => console.log('60 ms'), 60);
setTimeout(() => {
  console.log('120 ms: refresh t after it ran, due at 170 ms');
  t.refresh();
}, 120);
setTimeout(() => console.log('150 ms'), 150);
