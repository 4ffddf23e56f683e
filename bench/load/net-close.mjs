// The new-connection floor: a node:net server that answers the first chunk of each connection with
// one fixed `Connection: close` response and ends the connection (socket.end: FIN after the
// bytes). No parsing: what accepting, answering and closing a connection costs Node itself on this
// machine, the floor for bench:nginx's hello-close scenario.
// Usage: node bench/load/net-close.mjs PORT   (prints "ready" when listening)
import net from 'node:net';

const port = Number(process.argv[2] ?? 0);
const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n',
);

function onData() { this.end(RESPONSE); }
function onError() { this.destroy(); }

const server = net.createServer({ noDelay: true }, function onConnection(s) {
  s.on('data', onData);
  s.on('error', onError);
});
server.listen(port, '127.0.0.1', function onListening() {
  console.log('ready', server.address().port);
});
// exit normally on SIGTERM so --cpu-prof output gets written
process.on('SIGTERM', () => process.exit(0));
