// cf. ngx_event_recv (ngx_unix_recv) and ngx_http_wait_request_handler's c->buffer — reading a
// connection into memory the server owns.
//
// By default a net.Socket gets each read as a new Buffer: Node allocates 64 KiB for it, trims
// it to what came, wraps it, and pushes it through the Readable machinery to a 'data' listener.
// nginx reads into a buffer it keeps. Node has the same thing for the sockets it creates itself
// (`net.connect({ onread: { buffer, callback } })`), but not for a socket a server accepted.
// This file gives an accepted socket that mode: one buffer shared by every connection of the
// process (reads are callbacks on one thread, one at a time), and a callback `(socket, n)` with
// the bytes in `readBuffer()[0..n)` — valid only until the callback returns. Whoever keeps
// bytes past that copies them (src/http/connection.ts says which). Upstream sockets, which we
// connect ourselves, read into the same buffer through the public `onread` (connectRead()); the
// upstream exchange copies the body bytes it hands on (src/http/upstream/connection.ts).
//
// Private Node API, used only here: the socket's own `kBuffer`/`kBufferCb`/`kBufferGen` slots
// (the ones `onread` fills, found by their symbols' names) and its handle's `useUserBuffer()`.
// `selfTest()` checks the whole path on a loopback connection once, before the server accepts;
// when it fails (another Node), or SLUICE_READ=stream asks for it, `userRead()` returns false and
// the connection reads through 'data' events, the public path. The test suite runs on both.

import { Socket } from 'node:net';
import { loopbackCheck } from './loopback-check.js';

/** The shared buffer's size: what one read may bring (Node's own read size). */
export const READ_BUFFER_SIZE = 64 * 1024;

type ReadCallback = (this: Socket, n: number, buf: Buffer) => boolean | void;

interface Slots { kBuffer: symbol; kBufferCb: symbol; kBufferGen: symbol }

let shared: Buffer | null = null;
/** The read being handled: the view of the shared buffer readChunk() made, until endRead(). */
let current: Buffer | null = null;
let slots: Slots | null | undefined;
/** The self-test's verdict: undefined until it ran. */
let works: boolean | undefined;

/** The symbols of a net.Socket's user-buffer slots, or null when this Node has none. */
function findSlots(): Slots | null {
  if (slots !== undefined) return slots;
  const s = new Socket();
  const by = new Map<string, symbol>();
  for (const sym of Object.getOwnPropertySymbols(s)) if (sym.description !== undefined) by.set(sym.description, sym);
  s.destroy();
  const kBuffer = by.get('kBuffer'), kBufferCb = by.get('kBufferCb'), kBufferGen = by.get('kBufferGen');
  return slots = kBuffer === undefined || kBufferCb === undefined || kBufferGen === undefined ? null : { kBuffer, kBufferCb, kBufferGen };
}

/** The process's read buffer (made on first use). */
export function readBuffer(): Buffer {
  // its own ArrayBuffer (never Buffer's pool): `isTransient` knows its bytes by it
  return shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);
}

/** The first `n` bytes of the shared buffer as the read being handled (until endRead()). */
export function readChunk(n: number): Buffer {
  return current = readBuffer().subarray(0, n);
}

export function endRead(): void {
  current = null;
}

/**
 * The bytes of the read being handled, which the next read overwrites: a copy is kept of what
 * is wanted after. (Known by identity: the code that takes views of a read checks it first.)
 */
export function isTransient(b: Uint8Array): boolean {
  return b === current && b !== null;
}

/**
 * Make `socket` read into the shared buffer and call `cb` (with the socket as `this`) for each
 * read; returning false from it pauses reading, as Node's `onread` does. End of input, errors
 * and close still come as the socket's events; pause() and resume() still work. Returns false,
 * leaving the socket as it was, when the path is not available: use 'data' events then.
 */
export function userRead(socket: Socket, cb: ReadCallback): boolean {
  if (works !== true) return false;
  return install(socket, cb);
}

/**
 * The same mode for a socket this process connects (an upstream): `net.connect`'s public
 * `onread` option over the shared buffer, so that its reads are transient in the same way and
 * `cb` gets `(socket, n)` as userRead's does. Undefined (read through 'data') when the private
 * path is off: an upstream socket that leaves HTTP (a 101) is handed back to 'data' events by
 * forwardToStream(), which needs the socket's slots.
 */
export function connectRead(cb: ReadCallback): { buffer: Buffer; callback: (n: number, buf: Buffer) => boolean } | undefined {
  if (works !== true) return undefined;
  return { buffer: readBuffer(), callback: cb as (n: number, buf: Buffer) => boolean };
}

function install(socket: Socket, cb: ReadCallback): boolean {
  const k = findSlots();
  const h = (socket as unknown as { _handle: { useUserBuffer?: (b: Buffer) => void } | null })._handle;
  if (k === null || h === null || h === undefined || typeof h.useUserBuffer !== 'function') return false;
  const buf = readBuffer();
  const o = socket as unknown as Record<symbol, unknown>;
  o[k.kBuffer] = buf;
  o[k.kBufferCb] = cb;
  o[k.kBufferGen] = null;
  h.useUserBuffer(buf);
  return true;
}

/**
 * After userRead: hand reads to the socket's Readable side again (as copies), for an owner that
 * listens to 'data' (an upgraded connection). The handle keeps reading into the shared buffer;
 * what `push` refuses pauses it until the reader wants more.
 */
export function forwardToStream(socket: Socket): void {
  const k = findSlots();
  if (k === null) return;
  const o = socket as unknown as Record<symbol, unknown>;
  if (o[k.kBuffer] === undefined || o[k.kBuffer] === null) return;
  o[k.kBufferCb] = forward;
}

function forward(this: Socket, n: number, buf: Buffer): boolean {
  return this.push(Buffer.from(buf.subarray(0, n)));
}

/**
 * The start-up check: a loopback connection whose accepted side reads through userRead's path
 * must get the bytes sent, in the shared buffer, through the callback and not as 'data', see the
 * end of input, and pause and resume. Resolves true when all of that held (bounded: 2 s).
 * SLUICE_READ=stream skips it and keeps the public path.
 */
export function selfTest(): Promise<boolean> {
  if (works !== undefined) return Promise.resolve(works);
  if (process.env.SLUICE_READ === 'stream' || findSlots() === null) return Promise.resolve(works = false);
  return loopbackCheck((s, finish, client) => {
    let got = '';
    let sawData = false;
    let paused = false;
    s.on('data', () => { sawData = true; });
    s.on('end', () => finish(!sawData && paused && got === 'ping-pong'));
    const ok = install(s, function (this: Socket, n: number, buf: Buffer) {
      if (this !== s || buf !== readBuffer()) { finish(false); return; }
      got += buf.toString('latin1', 0, n);
      if (!paused && got.length >= 4) {
        // pause, then resume: the rest must still come
        paused = true;
        s.pause();
        setImmediate(() => { s.resume(); client()?.end('-pong'); });
      }
    });
    if (!ok) finish(false);
  }, (c) => {
    c.once('connect', () => { c.write('ping'); });
  }).then((ok) => works = ok);
}

/** For tests: forget the verdict (and take SLUICE_READ again). */
export function resetSelfTest(): void {
  works = undefined;
}
