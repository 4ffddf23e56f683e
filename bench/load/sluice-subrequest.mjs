// sluice capturing internal locations that return "hello\n", from dist/ (run `npm run build` first).
// Usage: node bench/load/sluice-subrequest.mjs PORT   (prints "ready" when listening)
//   GET /direct   r.print('hello\n') without a capture, the baseline (cf. ngx.print)
//   GET /capture  one r.location.capture('/sub'), then r.print(res.body)
//                 (cf. ngx.location.capture + ngx.print)
//   GET /multi    r.location.captureMulti of /sub, /sub2, /sub3, the three bodies printed
//                 (cf. ngx.location.capture_multi)
import { startServer } from '../../dist/src/index.js';

const port = Number(process.argv[2] ?? 0);
const HELLO = { internal: true, return: [200, 'hello\n'] };

const server = await startServer({
  accessLog: false,
  servers: [{
    listen: `127.0.0.1:${port}`,
    locations: {
      '= /direct': { content: (r) => { r.print('hello\n'); } },
      '= /capture': {
        content: async (r) => {
          const res = await r.location.capture('/sub');
          r.print(res.body);
        },
      },
      '= /multi': {
        content: async (r) => {
          const [a, b, c] = await r.location.captureMulti(['/sub', '/sub2', '/sub3']);
          r.print(a.body, b.body, c.body);
        },
      },
      '= /sub': HELLO,
      '= /sub2': HELLO,
      '= /sub3': HELLO,
    },
  }],
});
console.log('ready', server.port);
// exit normally on SIGTERM so --cpu-prof / --prof output gets written
process.on('SIGTERM', () => process.exit(0));
