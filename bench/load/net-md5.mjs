// The md5 scenario (examples/md5) on bare node:net, with as little as can still be called HTTP:
// a front that finds the query in the request line, POSTs `data` to an md5 backend in the same
// process over a pool of at most 20 idle connections, and answers "valid request" when the key
// matches; the backend reads Content-Length, hashes body .. salt and answers. No header parsing
// beyond that, no chunked, no errors handled: the ceiling for Node on this machine, the
// counterpart of net-hello.mjs for bench/load/upstream.sh.
// Usage: node bench/load/net-md5.mjs PORT PORT2   (prints "ready" when listening)
import net from 'node:net';
import { createHash } from 'node:crypto';

const port = Number(process.argv[2] ?? 0);
const port2 = Number(process.argv[3] ?? 0);
const SALT = 'sluice-salt';
const POOL = 20;

function reply(body) {
  return `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}
const VALID = Buffer.from(reply('valid request\n'));
const INVALID = Buffer.from(reply('invalid request\n'));

// Content-Length of a head (lowercase or canonical), -1 when absent
function contentLength(head) {
  const i = head.search(/\r\ncontent-length:/i);
  if (i < 0) return -1;
  return parseInt(head.slice(i + 17), 10);
}

// ---- the backend: md5(body .. salt)
const backend = net.createServer({ noDelay: true }, (s) => {
  let pending = '';
  s.on('data', (chunk) => {
    pending += chunk.latin1Slice(0, chunk.length);
    for (;;) {
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = Math.max(0, contentLength(pending.slice(0, end + 2)));
      if (pending.length < end + 4 + len) return;
      const body = pending.slice(end + 4, end + 4 + len);
      pending = pending.slice(end + 4 + len);
      s.write(reply(createHash('md5').update(body + SALT).digest('hex')), 'latin1');
    }
  });
  s.on('error', () => s.destroy());
});

// ---- the front's upstream pool
const idle = [];
function exchange(data, done) {
  const s = idle.pop() ?? net.connect({ port: port2, host: '127.0.0.1', noDelay: true });
  let got = '';
  s.removeAllListeners('data');
  s.on('data', (chunk) => {
    got += chunk.latin1Slice(0, chunk.length);
    const end = got.indexOf('\r\n\r\n');
    if (end < 0) return;
    const len = contentLength(got.slice(0, end + 2));
    if (got.length < end + 4 + len) return;
    if (idle.length < POOL) idle.push(s);
    else s.end();
    done(got.slice(end + 4, end + 4 + len));
  });
  s.write(`POST / HTTP/1.1\r\nHost: md5_server\r\nContent-Length: ${data.length}\r\n\r\n${data}`, 'latin1');
}

// ---- the front: /test?data=...&key=...
const front = net.createServer({ noDelay: true }, (s) => {
  s.on('data', (chunk) => {
    const line = chunk.latin1Slice(0, chunk.indexOf(13));
    const q = line.indexOf('?');
    const params = new URLSearchParams(line.slice(q + 1, line.lastIndexOf(' ')));
    const key = params.get('key');
    exchange(params.get('data') ?? '', (md5) => s.write(md5 === key ? VALID : INVALID));
  });
  s.on('error', () => s.destroy());
});

backend.listen(port2, '127.0.0.1', () => {
  front.listen(port, '127.0.0.1', () => console.log('ready', front.address().port));
});
process.on('SIGTERM', () => process.exit(0));
