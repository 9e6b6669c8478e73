// Equal delays run in start order (0 means 1 ms, so it joins the 1 ms
// timers), shorter delays first, and a timer cleared by an earlier one
// never runs.
const later = setTimeout(() => console.log('cleared: never printed'), 30);
let sibling;
setTimeout(() => {
  console.log('a (10 ms) clears its sibling and a later timer');
  clearTimeout(sibling);
  clearTimeout(later);
}, 10);
sibling = setTimeout(() => console.log('sibling: never printed'), 10);
setTimeout(() => console.log('b (10 ms)'), 10);
setTimeout(() => console.log('x (1 ms)'), 1);
setTimeout(() => console.log('y (0 ms: 1 ms, after x)'), 0);
setTimeout(() => console.log('z (1 ms)'), 1);
setTimeout(() => console.log('c (5 ms)'), 5);
console.log('sync end');
