// cf. ngx_unix_send / ngx_writev — a write(2) straight from the server, no layer between.
//
// `socket.write()` goes through the Writable machinery (state, a queue, a write request object,
// a callback deferred to the next tick) even when the kernel takes all the bytes at once, which
// for a small response it nearly always does. nginx calls write(2) and looks at the result. This
// file does that for a socket with nothing queued: the bytes go to the socket's handle itself
// (libuv tries the write at once and queues only what the kernel did not take, in order with
// everything written later). Conn (src/core/conn.ts) uses it and falls back to socket.write().
//
// Private Node API, used only here: the handle's writeBuffer/writeLatin1String, the WriteWrap
// request class and the stream state slots of process.binding('stream_wrap'). `selfTest()`
// checks the whole path on a loopback connection once, before the server accepts; when it fails,
// or SLUICE_WRITE=stream asks for it, `directWriter()` returns null and Conn writes through
// socket.write(), the public path. The test suite runs on both.

import type { Socket } from 'node:net';
import { loopbackCheck } from './loopback-check.js';
import { getSystemErrorName } from 'node:util';

/** What a direct write did: all taken, or part queued in libuv (`done` runs when it has gone). */
export const WROTE = 0, QUEUED = 1, FAILED = 2, UNAVAILABLE = 3;

interface Handle {
  writeBuffer(req: object, b: Buffer): number;
  writeLatin1String(req: object, s: string): number;
}

interface Binding {
  WriteWrap: new () => { handle: unknown; oncomplete: (status: number) => void; async: boolean; bytes: number; buffer: unknown; done: ((err: Error | null) => void) | null };
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

let binding: Binding | null | undefined;
/** How often each outcome happened in this process (tests look at them). */
export const directStats = { wrote: 0, queued: 0 };
let works: boolean | undefined;

function findBinding(): Binding | null {
  if (binding !== undefined) return binding;
  try {
    const pb = (process as unknown as { binding?: (name: string) => unknown }).binding;
    const b = typeof pb === 'function' ? pb.call(process, 'stream_wrap') as Partial<Binding> : null;
    binding = b !== null && typeof b.WriteWrap === 'function' && b.streamBaseState instanceof Int32Array && typeof b.kLastWriteWasAsync === 'number'
      ? b as Binding : null;
  } catch {
    binding = null;
  }
  return binding;
}

function onComplete(this: InstanceType<Binding['WriteWrap']>, status: number): void {
  const done = this.done;
  this.done = null;
  this.buffer = null;
  if (done !== null) done(status < 0 ? sysError(status) : null);
}

function sysError(status: number): Error {
  let name = 'EIO';
  try { name = getSystemErrorName(status); } catch { /* an unknown code */ }
  const e = new Error(`write ${name}`) as NodeJS.ErrnoException;
  e.code = name;
  e.errno = status;
  e.syscall = 'write';
  return e;
}

/**
 * Write `data` (a Buffer, or a latin1 string) to the socket's handle when nothing is queued in
 * its Writable side. WROTE: the kernel took it all. QUEUED: libuv holds the rest and calls `done`
 * once it has gone (or failed). FAILED: the write failed (the socket is destroyed with the
 * error). UNAVAILABLE: the socket is not in a state for it, or the path is off — use
 * socket.write().
 */
export function writeDirect(socket: Socket, data: Buffer | string, done: (err: Error | null) => void): number {
  if (works !== true) return UNAVAILABLE;
  return attempt(socket, data, done);
}

function attempt(socket: Socket, data: Buffer | string, done: (err: Error | null) => void): number {
  const b = binding!;
  const h = (socket as unknown as { _handle: Handle | null })._handle;
  if (h === null || h === undefined || socket.writableLength !== 0 || socket.writableCorked !== 0 || socket.connecting || socket.destroyed) return UNAVAILABLE;
  // a TLS socket's handle encrypts into its own buffer, not into the kernel: "taken at once" would
  // not mean sent (a 431 and then the close lost its answer), so TLS keeps socket.write()
  if ((socket as { encrypted?: boolean }).encrypted === true) return UNAVAILABLE;
  const req = new b.WriteWrap();
  req.handle = h;
  req.oncomplete = onComplete;
  req.async = false;
  req.bytes = 0;
  req.buffer = null;
  req.done = null;
  const err = typeof data === 'string' ? h.writeLatin1String(req, data) : h.writeBuffer(req, data);
  if (err !== 0) {
    socket.destroy(sysError(err));
    return FAILED;
  }
  if (b.streamBaseState[b.kLastWriteWasAsync] === 0) { directStats.wrote++; return WROTE; }
  directStats.queued++;
  req.buffer = data; // kept alive until libuv is done with it
  req.done = done;
  return QUEUED;
}

/**
 * The start-up check: on a loopback connection, a direct write of a string and of a Buffer must
 * arrive in order after a socket.write(), and the Writable side must still work after them.
 * Resolves true when that held (bounded: 2 s). SLUICE_WRITE=stream skips it.
 */
export function selfTest(): Promise<boolean> {
  if (works !== undefined) return Promise.resolve(works);
  if (process.env.SLUICE_WRITE === 'stream' || findBinding() === null) return Promise.resolve(works = false);
  return loopbackCheck((s) => {
    s.write('one,');
    // (the first write may still be queued: a direct one is refused then)
    const go = (): void => {
      const a = attempt(s, 'two,', () => undefined);
      const b = attempt(s, Buffer.from('three,'), () => undefined);
      if ((a !== WROTE && a !== QUEUED) || (b !== WROTE && b !== QUEUED)) { s.destroy(); return; }
      s.end('four');
    };
    if (s.writableLength === 0) go(); else s.once('drain', go);
  }, (c, finish) => {
    let got = '';
    c.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    c.on('end', () => finish(got === 'one,two,three,four'));
    c.on('close', () => finish(false));
  }).then((ok) => works = ok);
}
