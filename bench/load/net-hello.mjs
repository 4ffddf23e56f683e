// A node:net server that parses nothing and writes one fixed response per received chunk.
// With wrk (no pipelining) a chunk is one request, so this is the ceiling for Node on this machine.
// `close`: the new-connection floor instead: the first chunk of each connection gets one fixed
// `Connection: close` response and the connection is ended (socket.end: FIN after the bytes), what
// accepting, answering and closing a connection costs Node itself (bench:nginx's hello-close).
// Usage: node bench/load/net-hello.mjs PORT [close]   (prints "ready" when listening)
import net from 'node:net';

const port = Number(process.argv[2] ?? 0);
const close = process.argv[3] === 'close';
const RESPONSE = Buffer.from(
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: ${close ? 'close' : 'keep-alive'}\r\n\r\nhello\n`,
);

function onData() { this.write(RESPONSE); }
function onDataClose() { this.end(RESPONSE); }
function onError() { this.destroy(); }

const server = net.createServer({ noDelay: true }, function onConnection(s) {
  s.on('data', close ? onDataClose : onData);
  s.on('error', onError);
});
server.listen(port, '127.0.0.1', function onListening() {
  console.log('ready', server.address().port);
});
// exit normally on SIGTERM so --cpu-prof / --prof output gets written
process.on('SIGTERM', () => process.exit(0));
