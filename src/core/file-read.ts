// Reading file bufs in bounded pieces (the part of ngx_output_chain / sendfile that Node has to do
// in user space): one piece in flight per request, so memory stays bounded whatever the file size.
// Reads are positional (pread) into recycled buffers: no stream, no copy beyond the read itself.

import { read, readSync } from 'node:fs';
import { Buf, B_FLUSH, B_LAST_BUF, B_LAST_IN_CHAIN, B_TEMPORARY } from './buf.js';
import type { FilterRequest } from '../filters/filter.js';

/** Bytes read from a file per step. */
export const FILE_READ_SIZE = 128 * 1024;

/**
 * Read buffers are recycled once the socket has written them (nginx recycles its output
 * buffers the same way): without it each 128 KiB piece would wait for a GC, and a fast 1 GiB
 * transfer would leave hundreds of MiB of dead buffers behind. Bufs carrying such a buffer are
 * tagged FILE_PIECE; a buf that shares its memory with another (a split) loses the tag.
 */
export const FILE_PIECE = 'file-piece';
const free: Buffer[] = [];
const FREE_MAX = 16;

function pieceBuffer(n: number): Buffer {
  return n === FILE_READ_SIZE && free.length > 0 ? free.pop()! : Buffer.allocUnsafe(n);
}

/** The socket is done with this piece's memory: it may hold the next read. */
export function recyclePiece(mem: Buffer): void {
  if (mem.length === FILE_READ_SIZE && free.length < FREE_MAX && free.indexOf(mem) < 0) free.push(mem);
}

/**
 * What is left of a file buf up to this size is read at once, in this thread, as nginx reads
 * (blocking, from the page cache): a trip through libuv's thread pool costs more than the read.
 */
export const FILE_SYNC_MAX = 64 * 1024;

/**
 * Small reads share slabs: windows are handed out in order and never reused, so a window is the
 * request's until the socket has written it; a full slab is left to the GC once its windows are gone.
 */
const SLAB_SIZE = 128 * 1024;
const SLAB_PIECE_MAX = 16 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabPos = 0;

/**
 * The rest of a small file buf as a memory buf, read synchronously; null when it is too big
 * (or the read fails: the asynchronous path will then report it). `shared`: the bytes may sit in
 * a shared slab (for the socket: they are gone once written); false for bytes that a filter or a
 * handler may keep (the copy filter's: a captured body), which get a Buffer of their own.
 */
export function readFileRestSync(b: Buf, shared = true): Buf | null {
  const want = b.fileLast - b.filePos;
  if (want > FILE_SYNC_MAX) return null;
  // a small rest is read into a window of a shared slab (a Buffer of its own per 4 KiB file
  // cost more than the read: a new ArrayBuffer each time, and the GC after it)
  let mem: Buffer;
  let at = 0;
  if (shared && want <= SLAB_PIECE_MAX) {
    if (slabPos + want > SLAB_SIZE) { slab = Buffer.allocUnsafeSlow(SLAB_SIZE); slabPos = 0; }
    mem = slab;
    at = slabPos;
  } else {
    mem = Buffer.allocUnsafe(want);
  }
  let n: number;
  try {
    n = readSync(b.file!.fd, mem, at, want, b.filePos);
  } catch {
    return null;
  }
  if (n !== want) return null;
  if (mem === slab) slabPos = (at + n + 7) & ~7;
  b.filePos += n;
  const m = Buf.memory(mem, at, at + n, B_TEMPORARY);
  m.flags |= b.flags & (B_LAST_BUF | B_LAST_IN_CHAIN | B_FLUSH);
  b.flags &= ~(B_LAST_BUF | B_LAST_IN_CHAIN | B_FLUSH); // spent: its size() is now 0
  return m;
}

export type FileReadDone = (r: FilterRequest, data: Buf | null, err: Error | null) => void;

/**
 * Read the next piece of file buf `b` (at most `max` bytes). Sets r.reading until the read is
 * done; then `b` has moved past the bytes read and `done` gets them as a memory buf, which
 * carries b's last/flush flags when it was the final piece. Always called back later, never
 * from inside this call.
 *
 * As nginx reads (without `aio`), the read blocks: from the page cache a 128 KiB pread costs a
 * few µs, a round trip through libuv's thread pool tens to hundreds (bench/static/read.bench.ts);
 * the answer then comes in setImmediate, after the loop has polled, so other connections go on
 * between two pieces. A file ref with `threads` (`aio: 'threads'`) is read in the thread pool,
 * for files that may not be in memory (a blocking read from a disk would stop the loop).
 */
export function readFilePiece(r: FilterRequest, b: Buf, max: number, done: FileReadDone): void {
  const want = Math.min(b.fileLast - b.filePos, max);
  const mem = pieceBuffer(want);
  r.reading = true;
  const file = b.file!;
  if (file.threads) {
    read(file.fd, mem, 0, want, b.filePos, (err, n) => pieceRead(r, b, mem, err, n, done));
    return;
  }
  let n = 0;
  let err: Error | null = null;
  try {
    n = readSync(file.fd, mem, 0, want, b.filePos);
  } catch (e) {
    err = e as Error;
  }
  setImmediate(pieceRead, r, b, mem, err, n, done);
}

function pieceRead(r: FilterRequest, b: Buf, mem: Buffer, err: Error | null, n: number, done: FileReadDone): void {
  r.reading = false;
  if (err !== null || n === 0) {
    done(r, null, err ?? new Error(`file "${b.file!.path}" was truncated while being sent`));
    return;
  }
  b.filePos += n;
  const m = Buf.memory(mem, 0, n, B_TEMPORARY);
  m.tag = FILE_PIECE;
  if (b.filePos >= b.fileLast) {
    m.flags |= b.flags & (B_LAST_BUF | B_LAST_IN_CHAIN | B_FLUSH);
    b.flags &= ~(B_LAST_BUF | B_LAST_IN_CHAIN | B_FLUSH); // spent: its size() is now 0
  }
  done(r, m, null);
}
