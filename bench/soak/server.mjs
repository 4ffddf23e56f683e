// The soak's sluice: every kind of response the soak asks for, from dist/ (run `npx tsc -p .`
// first; SLUICE_DIST points at another build's dist/). Run it with --expose-gc: /_mem forces a
// full collection before it samples, so the figures are what stays alive, not what awaits GC.
// Usage: node --expose-gc bench/soak/server.mjs PORT UPSTREAM_PORT ROOT   (ROOT/static/ is served; prints "ready PORT")
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const dist = resolve(process.env.SLUICE_DIST ?? join(fileURLToPath(new URL('.', import.meta.url)), '../../dist'));
const { startServer, HttpClient } = await import(pathToFileURL(join(dist, 'src/index.js')).href);

const port = Number(process.argv[2] ?? 0);
const upPort = Number(process.argv[3]);
const root = process.argv[4];
if (!upPort || !root) {
  console.error('usage: node --expose-gc bench/soak/server.mjs PORT UPSTREAM_PORT STATIC_ROOT');
  process.exit(2);
}

const client = new HttpClient();
const clientUrl = `http://127.0.0.1:${upPort}/client`;
const GZ_TEXT = Buffer.from('sluice soak: a line of text that compresses well, again and again.\n'.repeat(240));
const BIG_CHUNKS = 64; // x 64 KiB: 4 MiB, each chunk a fresh buffer
const gc = globalThis.gc ?? null;

const server = await startServer({
  accessLog: false,
  errorLog: 'stderr',
  upstreams: { up: { servers: [`127.0.0.1:${upPort}`], keepalive: 32 } },
  servers: [{
    listen: `127.0.0.1:${port}`,
    locations: {
      '= /hello': { content: (r) => { r.say('hello'); } },
      '/static/': { root },
      '= /gzip': { gzip: true, gzipTypes: ['text/plain'], content: (r) => { r.print(GZ_TEXT); } },
      '/internal/': { internal: true, content: (r) => { r.say('sub ', r.uri); } },
      '= /capture': {
        content: async (r) => {
          const res = await r.location.capture('/internal/a');
          r.print(res.body);
        },
      },
      '= /multi': {
        content: async (r) => {
          const all = await r.location.captureMulti([['/internal/a'], ['/internal/b'], ['/internal/c']]);
          for (const res of all) r.print(res.body);
        },
      },
      '/proxy/': { proxyPass: 'http://up' },
      '= /client': {
        content: async (r) => {
          const res = await client.requestUri(clientUrl, { keepalivePool: 32, keepaliveTimeout: 60000 });
          r.print(res.body);
        },
      },
      '= /big': {
        content: async (r) => {
          try {
            for (let i = 0; i < BIG_CHUNKS; i++) {
              const b = Buffer.allocUnsafe(65536).fill(97 + (i % 26));
              if (!r.print(b)) await r.flush();
            }
          } catch {
            // the client went away mid-response (the soak's never-reading and aborting clients)
          }
        },
      },
      '= /_mem': {
        content: (r) => {
          if (gc !== null) gc();
          const m = process.memoryUsage();
          const body = JSON.stringify({ gc: gc !== null, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, connections: server.connectionCount() });
          r.header['Content-Type'] = 'application/json';
          r.header['Content-Length'] = String(body.length);
          r.print(body);
        },
      },
    },
  }],
});
console.log('ready', server.port);
process.on('SIGTERM', () => process.exit(0));
