// Node's side of the differential test (run.py, beside this file): reads
// "name TAB hex-bytes" lines from stdin and prints "name TAB verdict" for
// the first message of each, in the form verdict.c prints. Each case goes
// to a fresh http.Server (strict parser: insecureHTTPParser false) through
// an in-memory Duplex given as its connection, then the input ends.
'use strict';
const http = require('http');
const readline = require('readline');
const { Duplex } = require('stream');

const hex = (b) => (b.length === 0 ? '-' : Buffer.from(b).toString('hex'));

function verdict(input) {
  return new Promise((resolve) => {
    let result = null;
    const out = [];
    const server = http.createServer({ insecureHTTPParser: false });
    let first = null;
    server.on('request', (req, res) => {
      if (first === null)
        first = req;
      const body = [];
      req.on('data', (c) => body.push(c));
      req.on('error', () => {});
      req.on('end', () => {
        if (result === null) {
          const fields = [];
          for (let i = 0; i < req.rawHeaders.length; i += 2)
            fields.push(req.rawHeaders[i] + ':' + req.rawHeaders[i + 1] + '\n');
          result = ['accept', req.method, hex(Buffer.from(req.url, 'latin1')),
            hex(Buffer.from(fields.join(''), 'latin1')),
            hex(Buffer.concat(body))].join(' ');
        }
        res.end();
      });
    });
    server.on('clientError', (err, socket) => {
      // An error in bytes after a complete first message (the next one)
      // does not change the verdict on the first: let its 'end' come.
      if (first !== null && first.complete)
        return;
      if (result === null)
        result = err.code === 'HPE_INVALID_EOF_STATE' ? 'incomplete'
          : 'reject ' + err.code;
      socket.destroy();
    });
    const conn = new Duplex({
      read() {},
      write(chunk, enc, cb) { out.push(chunk); cb(); },
    });
    conn.on('error', () => {});
    server.emit('connection', conn);
    conn.push(input);
    conn.push(null);
    // Everything above runs on this tick and the next few; a response
    // Node writes itself (400 without Host, 417) ends without a request.
    setTimeout(() => {
      if (result === null) {
        const head = Buffer.concat(out).toString('latin1');
        const m = /^HTTP\/1\.1 ([45]\d\d)/.exec(head);
        result = m ? 'reject ' + m[1] : 'incomplete';
      }
      conn.destroy();
      resolve(result);
    }, 5);
  });
}

(async () => {
  const rl = readline.createInterface({ input: process.stdin });
  const lines = [];
  for await (const line of rl) lines.push(line);
  for (const line of lines) {
    const [name, h] = line.split('\t');
    process.stdout.write(name + '\t' + (await verdict(Buffer.from(h, 'hex'))) + '\n');
  }
})();
