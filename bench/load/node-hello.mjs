// Node's http server answering "hello\n": the baseline sluice is measured against.
// Usage: node bench/load/node-hello.mjs PORT   (prints "ready" when listening)
import http from 'node:http';

const port = Number(process.argv[2] ?? 0);
const BODY = Buffer.from('hello\n');

// default server options: this is the plain-Node baseline
const server = http.createServer(function onRequest(req, res) {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length });
  res.end(BODY);
});
server.listen(port, '127.0.0.1', function onListening() {
  console.log('ready', server.address().port);
});
// exit normally on SIGTERM so --cpu-prof / --prof output gets written
process.on('SIGTERM', () => process.exit(0));
