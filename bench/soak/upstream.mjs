// The soak's fake upstream: a bare node:net HTTP/1.1 server with keep-alive, for proxyPass and
// the HTTP client. Usage: node bench/soak/upstream.mjs PORT   (prints "ready PORT")
//   /client     "client-ok\n"
//   /proxy/big  1 MiB
//   anything    1 KiB
import { createServer } from 'node:net';

const bodies = {
  client: Buffer.from('client-ok\n'),
  big: Buffer.alloc(1024 * 1024, 'U'),
  small: Buffer.alloc(1024, 'u'),
};
const heads = {};
for (const [k, b] of Object.entries(bodies)) {
  heads[k] = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${b.length}\r\n\r\n`);
}

const server = createServer({ noDelay: true }, (s) => {
  let buf = null;
  let need = -1; // body bytes still to skip for the request being read
  let which = 'small';
  let close = false;
  s.on('error', () => {});
  s.on('data', (d) => {
    buf = buf === null ? d : Buffer.concat([buf, d]);
    for (;;) {
      if (need < 0) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > 65536) s.destroy();
          return;
        }
        const head = buf.toString('latin1', 0, end);
        const sp = head.indexOf(' ');
        const path = head.slice(sp + 1, head.indexOf(' ', sp + 1));
        which = path.startsWith('/client') ? 'client' : path.startsWith('/proxy/big') ? 'big' : 'small';
        const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        close = /\r\nconnection:\s*close/i.test(head);
        if (/\r\ntransfer-encoding:/i.test(head)) { s.destroy(); return; } // not used by the soak
        need = cl ? Number(cl[1]) : 0;
        buf = buf.subarray(end + 4);
      }
      if (buf.length < need) {
        need -= buf.length;
        buf = buf.subarray(buf.length);
        return;
      }
      buf = buf.subarray(need);
      need = -1;
      s.cork();
      s.write(heads[which]);
      s.write(bodies[which]);
      s.uncork();
      if (close) { s.end(); return; }
      if (buf.length === 0) { buf = null; return; }
    }
  });
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log('ready', server.address().port));
process.on('SIGTERM', () => process.exit(0));
