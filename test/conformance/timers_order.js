// Equal delays run in start order (0 means 1 ms, so it joins the 1 ms
// timers), shorter delays first, and a timer cleared by an earlier one
// never runs.
const later = setTimeout(() => console.log('cleared: never printed'), 100);
let sibling;
setTimeout(() => {
  console.log('a (50 ms) clears its sibling and a later timer');
  clearTimeout(sibling);
  clearTimeout(later);
}, 50);
sibling = setTimeout(() => console.log('sibling: never printed'), 50);
setTimeout(() => console.log('b (50 ms)'), 50);
setTimeout(() => console.log('x (1 ms)'), 1);
setTimeout(() => console.log('y (0 ms: 1 ms, after x)'), 0);
setTimeout(() => console.log('z (1 ms)'), 1);
setTimeout(() => console.log('c (25 ms)'), 25);
console.log('sync end');
