// Writes the seed corpus of the parser fuzzer: every case of the conformance fixtures
// (test/fixtures/conformance/*.json, and /work/shared/conformance/*.json where they differ) plus
// a few responses, each behind the harness's 4-byte control header (see parser_fuzz.c).
//
//   node tools/fuzz/seeds.mjs DIR

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = process.argv[2] ?? path.join(ROOT, 'tools/fuzz/out/seeds');
const DIRS = [path.join(ROOT, 'test/fixtures/conformance'), '/work/shared/conformance'];

const RESPONSE = 1, SKIP_BODY = 2, DRIVER_BODY = 4, SMALL_LIMITS = 8, PAUSE = 16;

const RESPONSES = [
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nuntil the close',
  'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n',
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n',
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x00',
  'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx',
];

const seen = new Set();
let written = 0;
function seed(ctl, bytes) {
  const data = Buffer.concat([Buffer.from([ctl, written & 0xff, 3 + (written % 5), written & 0xff]), bytes]);
  const name = createHash('sha1').update(data).digest('hex');
  if (seen.has(name)) return;
  seen.add(name);
  fs.writeFileSync(path.join(OUT, name), data);
  written++;
}

fs.mkdirSync(OUT, { recursive: true });
for (const dir of DIRS) {
  if (!fs.existsSync(dir)) continue;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    for (const c of JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))) {
      for (const raw of new Set([c.raw, c.rawWithHost].filter((r) => typeof r === 'string'))) {
        const bytes = Buffer.from(raw, c.encoding === 'base64' ? 'base64' : 'latin1');
        seed(0, bytes);
        seed(DRIVER_BODY, bytes);
        seed(SMALL_LIMITS, bytes);
        seed(PAUSE | DRIVER_BODY, bytes);
      }
    }
  }
}
for (const r of RESPONSES) {
  const bytes = Buffer.from(r, 'latin1');
  seed(RESPONSE, bytes);
  seed(RESPONSE | SKIP_BODY, bytes);
  seed(RESPONSE | DRIVER_BODY, bytes);
  seed(RESPONSE | SMALL_LIMITS, bytes);
  seed(RESPONSE | PAUSE, bytes);
}
console.log(`seeds: ${written} files in ${OUT}`);
