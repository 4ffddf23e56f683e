#!/usr/bin/env node
// Serving a 1 GiB file: the server's RSS must grow by less than 64 MiB, whether the file goes to
// the socket as a file buf (read 128 KiB at a time by the write filter) or through a filter that
// needs it in memory (the copy filter reads it in bounded pieces).
//
//   npm run build && node bench/static/big-file.mjs [sizeMiB=1024]
//
// The server runs in a child process (so its RSS is its own); this process is the client,
// reading as fast as it can and checking the byte count. Exits 1 when a limit is broken.

import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, openSync, ftruncateSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const sizeMiB = Number(process.argv[2] ?? 1024);
const SIZE = sizeMiB * 1024 * 1024;
const LIMIT = 64 * 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'sluice-big-'));
const file = join(dir, 'big.txt');
const fd = openSync(file, 'w');
ftruncateSync(fd, SIZE); // sparse: reads give zeros, nothing to write first
closeSync(fd);

// the server: the file under a plain location and under one with a filter that needs bytes
const serverScript = join(dir, 'server.mjs');
writeFileSync(serverScript, `
import { startServer } from ${JSON.stringify(join(ROOT, 'dist/src/index.js'))};
import { UppercaseFilter } from ${JSON.stringify(join(ROOT, 'dist/examples/filters/uppercase.js'))};
const s = await startServer({ errorLog: 'off', filters: [UppercaseFilter], servers: [{ listen: '127.0.0.1:0', locations: { '/': { root: ${JSON.stringify(dir)} } } }] });
process.send({ port: s.port });
setInterval(() => process.send({ rss: process.memoryUsage().rss }), 50);
process.on('message', (m) => { if (m === 'stop') s.close().then(() => process.exit(0)); });
`);

const child = spawn(process.execPath, [serverScript], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
let baseRss = 0;
let maxRss = 0;
const port = await new Promise((res) => child.on('message', (m) => {
  if (m.port) res(m.port);
  if (m.rss) { if (baseRss === 0) baseRss = m.rss; maxRss = Math.max(maxRss, m.rss); }
}));

function fetchAll(extraHeader) {
  return new Promise((resolveFetch, reject) => {
    const t0 = Date.now();
    const c = connect(port, '127.0.0.1');
    let head = '';
    let bodyBytes = 0;
    let inBody = false;
    c.on('data', (d) => {
      if (!inBody) {
        head += d.toString('latin1');
        const i = head.indexOf('\r\n\r\n');
        if (i < 0) return;
        inBody = true;
        bodyBytes += Buffer.byteLength(head.slice(i + 4), 'latin1');
        return;
      }
      bodyBytes += d.length;
    });
    c.on('end', () => resolveFetch({ head: head.slice(0, head.indexOf('\r\n\r\n')), bodyBytes, ms: Date.now() - t0 }));
    c.on('error', reject);
    c.write(`GET /big.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extraHeader}\r\n`);
  });
}

const results = [];
let failed = false;
for (const [label, extra] of [['file buf to the socket', ''], ['filterNeedInMemory (copy filter)', 'X-Uppercase: 1\r\n']]) {
  await new Promise((r) => setTimeout(r, 300));
  baseRss = 0; maxRss = 0;
  await new Promise((r) => setTimeout(r, 120));
  const before = baseRss;
  const res = await fetchAll(extra);
  const growth = maxRss - before;
  const chunked = /transfer-encoding: chunked/i.test(res.head);
  // chunked framing adds bytes; the plain case must be exact
  const ok = growth < LIMIT && (chunked ? res.bodyBytes >= SIZE : res.bodyBytes === SIZE);
  if (!ok) failed = true;
  results.push({ case: label, 'MiB sent': (res.bodyBytes / 1048576).toFixed(0), 'RSS growth MiB': (growth / 1048576).toFixed(1), 'MiB/s': (res.bodyBytes / 1048576 / (res.ms / 1000)).toFixed(0), ok });
}
child.send('stop');
await new Promise((r) => child.on('exit', r));
rmSync(dir, { recursive: true, force: true });
console.log(`node ${process.version}, ${sizeMiB} MiB file, limit ${LIMIT / 1048576} MiB RSS growth`);
console.table(results);
process.exit(failed ? 1 : 0);
