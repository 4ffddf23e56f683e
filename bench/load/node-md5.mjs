// The md5 scenario (examples/md5, client form) with Node's own HTTP stack: a node:http front that
// POSTs `data` with http.request over an http.Agent keeping 20 idle sockets (keepAlive,
// maxFreeSockets 20: the counterpart of `keepalive 20`), to a node:http md5 backend in the same
// process. What Node's standard library reaches here, for bench/load/upstream.sh.
// Usage: node bench/load/node-md5.mjs PORT PORT2   (prints "ready" when listening)
import http from 'node:http';
import { createHash } from 'node:crypto';

const port = Number(process.argv[2] ?? 0);
const port2 = Number(process.argv[3] ?? 0);
const SALT = 'sluice-salt';
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 20, maxSockets: Infinity });

const backend = http.createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const digest = createHash('md5').update(Buffer.concat(parts)).update(SALT).digest('hex');
    res.setHeader('Content-Type', 'text/plain');
    res.end(digest);
  });
});

const front = http.createServer((req, res) => {
  const args = new URL(req.url, 'http://x').searchParams;
  const data = args.get('data') ?? '';
  const key = args.get('key');
  const up = http.request({
    host: '127.0.0.1', port: port2, path: '/', method: 'POST', agent,
    headers: { 'Content-Length': Buffer.byteLength(data) },
  }, (ures) => {
    const parts = [];
    ures.on('data', (c) => parts.push(c));
    ures.on('end', () => {
      res.setHeader('Content-Type', 'text/plain');
      res.end(Buffer.concat(parts).toString() === key ? 'valid request\n' : 'invalid request\n');
    });
  });
  up.on('error', () => { res.statusCode = 502; res.end(); });
  up.end(data);
});

backend.keepAliveTimeout = 60000;
front.keepAliveTimeout = 60000;
backend.listen(port2, '127.0.0.1', () => {
  front.listen(port, '127.0.0.1', () => console.log('ready', front.address().port));
});
process.on('SIGTERM', () => process.exit(0));
