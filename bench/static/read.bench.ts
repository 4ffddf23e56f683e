// How to get a file's bytes off the disk (the page cache) with the least copying Node allows:
// what src/core/file-read.ts does (one positional read for a small file; positional reads into
// reused 128 KiB buffers for a large one, blocking or in the thread pool) against fs.createReadStream and readFileSync. Bytes
// are only counted (no socket): this is the read side of bench/load/static.sh alone.
//
//   npx tsc -p . && node dist/bench/static/read.bench.js

import { Bench } from 'tinybench';
import * as assert from 'node:assert/strict';
import { closeSync, createReadStream, mkdtempSync, openSync, read, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'sluice-read-'));
const SMALL = 4096;
const BIG = 1024 * 1024;
const PIECE = 128 * 1024; // FILE_READ_SIZE
writeFileSync(join(dir, 'small'), Buffer.alloc(SMALL, 0x61));
writeFileSync(join(dir, 'big'), Buffer.alloc(BIG, 0x62));
const smallFd = openSync(join(dir, 'small'), 'r'); // a cached descriptor (openFileCache)
const bigFd = openSync(join(dir, 'big'), 'r');
const pieces = [Buffer.allocUnsafe(PIECE), Buffer.allocUnsafe(PIECE)]; // recycled, as file-read.ts does

/** Small: one pread into a fresh buffer of the file's size (readFileRestSync). */
function smallPread(): number {
  const b = Buffer.allocUnsafe(SMALL);
  return readSync(smallFd, b, 0, SMALL, 0);
}

/** Small: open, fstat, read, close by path (what an uncached readFileSync costs). */
function smallReadFile(): number {
  return readFileSync(join(dir, 'small')).length;
}

/** Small: one pread through libuv's thread pool. */
function smallAsync(): Promise<number> {
  return new Promise((res, rej) => read(smallFd, Buffer.allocUnsafe(SMALL), 0, SMALL, 0, (e, n) => e ? rej(e) : res(n)));
}

/** Big: positional reads into reused 128 KiB buffers, one in flight (readFilePiece). */
function bigPieces(): Promise<number> {
  return new Promise((res, rej) => {
    let pos = 0;
    let k = 0;
    const next = () => {
      const b = pieces[k++ & 1];
      read(bigFd, b, 0, Math.min(PIECE, BIG - pos), pos, (e, n) => {
        if (e) { rej(e); return; }
        pos += n;
        if (pos >= BIG || n === 0) res(pos); else next();
      });
    };
    next();
  });
}

/** Big: the same positional reads, blocking (no thread pool round trip). */
function bigPiecesSync(): number {
  let pos = 0;
  let k = 0;
  while (pos < BIG) pos += readSync(bigFd, pieces[k++ & 1], 0, Math.min(PIECE, BIG - pos), pos);
  return pos;
}

/** Big: blocking positional reads, each piece handed on in setImmediate (readFilePiece, aio off). */
function bigPiecesImmediate(): Promise<number> {
  return new Promise((res) => {
    let pos = 0;
    let k = 0;
    const next = () => {
      const n = readSync(bigFd, pieces[k++ & 1], 0, Math.min(PIECE, BIG - pos), pos);
      setImmediate(() => {
        pos += n;
        if (pos >= BIG || n === 0) res(pos); else next();
      });
    };
    next();
  });
}

/** Big: fs.createReadStream on the descriptor, from 0 (a new buffer per chunk). */
function bigStream(highWaterMark: number): Promise<number> {
  return new Promise((res, rej) => {
    let n = 0;
    const s = createReadStream('', { fd: bigFd, start: 0, end: BIG - 1, autoClose: false, highWaterMark });
    s.on('data', (c) => { n += c.length; });
    s.on('end', () => res(n));
    s.on('error', rej);
  });
}

assert.equal(smallPread(), SMALL);
assert.equal(smallReadFile(), SMALL);
assert.equal(await smallAsync(), SMALL);
assert.equal(await bigPieces(), BIG);
assert.equal(bigPiecesSync(), BIG);
assert.equal(await bigPiecesImmediate(), BIG);
assert.equal(await bigStream(64 * 1024), BIG);
assert.equal(await bigStream(PIECE), BIG);

const only = process.env.BENCH_ONLY;
const bench = new Bench({ name: 'file reads (page cache, no socket)', time: 1500 });
const add = (name: string, fn: () => unknown) => { if (only === undefined || name.includes(only)) bench.add(name, fn); };
add('4 KiB: one pread on a cached fd (sluice)', smallPread);
add('4 KiB: pread via the thread pool', smallAsync);
add('4 KiB: readFileSync by path', smallReadFile);
add('1 MiB: 128 KiB preads into reused buffers, blocking, setImmediate per piece (sluice, aio off)', bigPiecesImmediate);
add('1 MiB: 128 KiB preads into reused buffers, thread pool (sluice, aio threads)', bigPieces);
add('1 MiB: 128 KiB preads into reused buffers, blocking, one loop', bigPiecesSync);
add('1 MiB: createReadStream, 64 KiB chunks', () => bigStream(64 * 1024));
add('1 MiB: createReadStream, 128 KiB chunks', () => bigStream(PIECE));
await bench.run();
console.log(`node ${process.version}`);
console.table(bench.table());
closeSync(smallFd);
closeSync(bigFd);
rmSync(dir, { recursive: true, force: true });
