// sluice serving files from a directory (cf. nginx's `root`), from dist/ (run `npm run build` first).
// Usage: node bench/load/sluice-static.mjs PORT DIR   (prints "ready" when listening)
import { startServer } from '../../dist/src/index.js';

const port = Number(process.argv[2] ?? 0);
const root = process.argv[3];
if (!root) {
  console.error('usage: node bench/load/sluice-static.mjs PORT DIR');
  process.exit(2);
}

const server = await startServer({
  accessLog: false,
  // OPEN_FILE_CACHE='max=1000' turns openFileCache on (nginx's open_file_cache)
  ...(process.env.OPEN_FILE_CACHE ? { openFileCache: process.env.OPEN_FILE_CACHE } : {}),
  servers: [{ listen: `127.0.0.1:${port}`, locations: { '/': { root } } }],
});
console.log('ready', server.port);
// exit normally on SIGTERM so --cpu-prof / --prof output gets written
process.on('SIGTERM', () => process.exit(0));
