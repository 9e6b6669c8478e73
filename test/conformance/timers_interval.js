// setInterval is re-armed after its callback returns, measured from when
// the callback began. First: 8 ms of work in the first run, then a 15 ms
// timeout; the interval (20 ms from the run's start) comes first. Then an
// interval whose first run is 60 ms late: a 5 ms timeout started by that
// run comes before the interval's next run (50 ms from the run's start),
// where re-arming from the missed deadline would make the interval first.
function busy(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

let runs = 0;
const first = setInterval(() => {
  runs++;
  console.log(`first interval, run ${runs}`);
  if (runs === 1) {
    busy(8);
    setTimeout(() => {
      console.log('timeout of 15 ms from run 1');
      second();
    }, 15);
  } else {
    clearInterval(first);
  }
}, 20);

function second() {
  let n = 0;
  const iv = setInterval(() => {
    n++;
    console.log(`late interval, run ${n}`);
    if (n === 1)
      setTimeout(() => console.log('timeout of 5 ms from run 1'), 5);
    else
      clearInterval(iv);
  }, 50);
  busy(110);
}
