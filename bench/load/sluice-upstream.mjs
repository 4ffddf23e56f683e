// sluice talking to an upstream, from dist/ (run `npm run build` first).
// Usage: node bench/load/sluice-upstream.mjs PORT MODE PORT2   (prints "ready" when listening)
//   capture PORT2: examples/md5 capture form: /test captures POST /spe_md5 (proxyPass, upstream
//                  keepalive 20) to the md5 backend on PORT2, a second server block of this process
//   client  PORT2: examples/md5 client form: /test POSTs with HttpClient (keepalive pool 20)
//   proxy   PORT2: every uri proxyPass'ed to 127.0.0.1:PORT2 (upstream keepalive 20), another process
import { startServer } from '../../dist/src/index.js';
import { md5CaptureConfig } from '../../dist/examples/md5/capture.js';
import { md5ClientConfig } from '../../dist/examples/md5/client.js';

const port = Number(process.argv[2] ?? 0);
const mode = process.argv[3];
const port2 = Number(process.argv[4]);

const CONFIGS = {
  capture: () => md5CaptureConfig(port, port2),
  client: () => md5ClientConfig(port, port2),
  proxy: () => ({
    upstreams: { backend: { servers: [`127.0.0.1:${port2}`], keepalive: 20 } },
    servers: [{ listen: `127.0.0.1:${port}`, locations: { '/': { proxyPass: 'http://backend' } } }],
  }),
};
if (!(mode in CONFIGS) || !port2) {
  console.error('usage: node bench/load/sluice-upstream.mjs PORT capture|client|proxy PORT2');
  process.exit(2);
}

const server = await startServer({ ...CONFIGS[mode](), accessLog: false });
console.log('ready', server.port);
// exit normally on SIGTERM so --cpu-prof / --prof output gets written
process.on('SIGTERM', () => process.exit(0));
