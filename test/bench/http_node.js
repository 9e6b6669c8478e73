// The Node.js side of test/bench/http_wrk.sh: Node's own http module
// serving the same JSON as examples/http/server's GET /api/fast.
//   node test/bench/http_node.js [PORT]   (0, the default: any free port;
//   it prints "listening on http://127.0.0.1:PORT" as the C server does)
'use strict';
const http = require('http');

const body = '{"message":"hello from libasyncrt","route":"fast"}\n';
const port = Number(process.argv[2] || 0);

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/api/fast') {
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end('{"error":"Not Found","status":404}\n');
});
server.maxConnections = 20000;
// The same listen backlog as examples/http/server, so that a storm of
// 10,000 connects is accepted alike.
server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
