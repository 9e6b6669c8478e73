// Close callbacks around the check phase. Sockets destroyed in an
// immediate emit 'close' in that iteration's close phase, right after the
// check phase, newest first (libuv's closing list is a stack), each
// followed by its ticks; an immediate queued by the immediate or by a
// close callback runs in the next iteration's check phase, after them.
const net = require('net');
const names = ['A', 'B', 'C'];
const clients = {};
const server = net.createServer((conn) => conn.resume());
server.listen(0, '127.0.0.1', () => {
  let connected = 0;
  for (const name of names) {
    const socket = net.connect(server.address().port, '127.0.0.1', () => {
      if (++connected === names.length)
        allConnected();
    });
    socket.on('close', () => {
      console.log('close', name);
      process.nextTick(() => console.log('tick from close', name));
      if (name === 'C')
        setImmediate(() => console.log('immediate from close C'));
    });
    clients[name] = socket;
  }
});

function allConnected() {
  console.log('all connected');
  setImmediate(() => {
    console.log('immediate');
    for (const name of names)
      clients[name].destroy();
    server.close();
    setImmediate(() => console.log('immediate from immediate'));
  });
}
