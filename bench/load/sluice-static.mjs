// sluice serving files from a directory (cf. nginx's `root`), from dist/ (run `npm run build` first).
// Usage: node bench/load/sluice-static.mjs PORT DIR [OPEN_FILE_CACHE]   (prints "ready" when listening)
import { startServer } from '../../dist/src/index.js';

const port = Number(process.argv[2] ?? 0);
const root = process.argv[3];
// openFileCache (nginx's open_file_cache), e.g. 'max=1000 inactive=20s': the 3rd argument or OPEN_FILE_CACHE
const cache = process.argv[4] ?? process.env.OPEN_FILE_CACHE;
if (!root) {
  console.error('usage: node bench/load/sluice-static.mjs PORT DIR [OPEN_FILE_CACHE]');
  process.exit(2);
}

const server = await startServer({
  accessLog: false,
  ...(cache ? { openFileCache: cache } : {}),
  servers: [{ listen: `127.0.0.1:${port}`, locations: { '/': { root } } }],
});
console.log('ready', server.port);
// exit normally on SIGTERM so --cpu-prof / --prof output gets written
process.on('SIGTERM', () => process.exit(0));
