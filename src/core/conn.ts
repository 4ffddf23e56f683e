// cf. src/core/ngx_connection.h, ngx_writev_chain.c — a socket and its output side.
//
// Knows nothing of HTTP. Output is handed to Node's socket with cork/uncork so that several
// pieces leave in one writev; `full` tells producers to stop until the socket drains
// (backpressure): Node buffers what it is given, so the bound is "one batch past the mark".
//
// One write per read: while its owner handles a read (`batch()` .. `flush()`), what is sent is
// only gathered, and leaves in one write when the read is done — the responses to all the
// requests pipelined in one read go out together, as nginx's do when its write filter runs
// once per event. Past BATCH_MAX the batch is written at once (the bound stays).
//
// One write per turn: what every connection sends while the event loop runs its I/O callbacks
// (the reads, and the promises they settle: a capture's answer, an upstream's body) is held
// and written when they are done, one connection after the other, in the loop's check phase
// (setImmediate). Nothing waits longer than the rest of this turn's callbacks. On loopback,
// and on a VM, a write that finds the peer's CPU asleep pays for waking it (an interrupt to
// another core); the writes of a turn made back to back wake it once, where writes spread
// between the requests' work wake it again and again (bench/RESULTS.md, "One write per turn").
// A Conn that closes writes what is held first (end()); destroy() drops only what the read
// being handled had gathered, as before.
//
// A write with nothing queued goes straight to the socket's handle (src/core/direct-write.ts);
// when the kernel does not take it all, the rest waits in libuv and the Conn is full until it
// has gone (what is sent meanwhile is gathered, and follows it). Otherwise socket.write().
//
// Two things nginx has for free from accept(2) and its own state cost Node a system call each
// per connection, so they are done only when needed: the peer's address (getpeername(2), read
// when first asked for, or by keepPeer() while the socket is surely open), and TCP_NODELAY
// (setsockopt(2), set before the connection's second write: a first write has nothing unacked
// before it for Nagle's algorithm to wait on, so a connection that writes once never needs it —
// nginx likewise sets it only when a connection goes keep-alive).

import type { Socket } from 'node:net';
import { QUEUED, UNAVAILABLE, WROTE, writeDirect } from './direct-write.js';

/** Small pieces are copied into one Buffer: one write call costs more than a short memcpy. */
const COALESCE_MAX = 8192;
/** A batch over this leaves at once (the bound on what one read may hold back). */
const BATCH_MAX = 64 * 1024;

/**
 * Where small pieces are copied together: one buffer for the process, used again as long as
 * each write it carried went to the kernel whole at once (the common case). A write that waits
 * (in libuv, or in the socket's stream) keeps it; the next copies go to Node's pool until a
 * write goes whole again. (Node's
 * own pool gives a new ArrayBuffer to each piece over 4 KiB: a 4 KiB file and its head.)
 */
let scratch: Buffer | null = null;
/** The last write1() went to the kernel whole, at once. */
let wroteAll = false;

/** Conns whose output waits for the end of this turn's I/O, in the order they first sent. */
const held: (Conn | null)[] = [];
let heldScheduled = false;
/** Output is held until the check phase (setHoldOutput). */
let holdOutput = true;

/**
 * The check phase: every held Conn writes what it gathered (in one write each). A write's
 * callback may send more, on this Conn or another: it joins the list and is written in this same
 * pass. A throw (a callback's bug) goes on to the process's handler, and the Conns after it are
 * written in a pass of their own: one bug must not leave every connection silent.
 */
function writeHeld(): void {
  let i = 0;
  try {
    for (; i < held.length; i++) {
      const c = held[i]!;
      held[i] = null;
      c.release();
    }
  } finally {
    if (i < held.length) {
      held.splice(0, i + 1);
      setImmediate(writeHeld); // (heldScheduled stays true)
    } else {
      held.length = 0;
      heldScheduled = false;
    }
  }
}

/**
 * Hold output until the end of the turn's I/O (the default), or write it as it is sent (off:
 * each response leaves as soon as it is made, one write per read at most). Returns the old value.
 */
export function setHoldOutput(on: boolean): boolean {
  const was = holdOutput;
  holdOutput = on;
  if (!on && held.length > 0) writeHeld();
  return was;
}

function allText(list: (Buffer | string)[], n: number): boolean {
  for (let i = 0; i < n; i++) if (typeof list[i] !== 'string') return false;
  return true;
}

export class Conn {
  readonly socket: Socket;
  /** Set by the owner: called (with this Conn) when a write left the socket over its mark. */
  onFull: ((this: Conn) => void) | null;
  /** Set by the owner: a direct write that had to wait has gone (the socket's 'drain' for it). */
  onDrain: ((this: Conn) => void) | null;
  /** The socket's buffer is over its high-water mark; wait for 'drain'. */
  full: boolean;
  closed: boolean;
  /** Bytes handed to the socket in all (for logs and tests). */
  sent: number;
  /** The peer's address and port once read (null: not yet; see remoteAddress). */
  private peerAddr: string | null;
  private peerPort: number;
  /** TCP_NODELAY as the owner wants it (noDelay()), and as it is on the socket. */
  private nodelayWanted: boolean;
  private nodelaySet: boolean;
  /** A write has gone (the next one sets TCP_NODELAY first, when wanted). */
  private wrote: boolean;
  /** Inside batch()..flush(): sendv gathers into `pend` instead of writing. */
  batching: boolean;
  /** push() was called inside the batch: the batch is written when it ends, not held. */
  private pushWanted = false;
  /** On the list of Conns written in the check phase (writeHeld). */
  private held: boolean;
  private pend: (Buffer | string)[];
  /** The other list, while one is being written (writePend). */
  private spare: (Buffer | string)[] | null;
  private pendN: number;
  private pendSize: number;
  private pendDone: (() => void)[] | null;
  /** A direct write is waiting in libuv; its `written` callback, and the bytes completed so far. */
  private direct: boolean;
  /** end() waits for the direct write (and what was gathered after it). */
  private ending: boolean;
  private directWritten: (() => void) | undefined;
  private directBytes: number;
  private directSize: number;
  private readonly directDone: (err: Error | null) => void;

  constructor(socket: Socket) {
    this.socket = socket;
    this.onFull = null;
    this.full = false;
    this.closed = false;
    this.sent = 0;
    this.peerAddr = null;
    this.peerPort = 0;
    this.nodelayWanted = false;
    this.nodelaySet = false;
    this.wrote = false;
    this.batching = false;
    this.held = false;
    this.pend = [];
    this.spare = [];
    this.pendN = 0;
    this.pendSize = 0;
    this.pendDone = null;
    this.onDrain = null;
    this.direct = false;
    this.ending = false;
    this.directWritten = undefined;
    this.directBytes = 0;
    this.directSize = 0;
    this.directDone = (err: Error | null) => this.afterDirect(err);
  }

  /**
   * The peer's address ('' when the socket cannot tell): read from the socket the first time it
   * is asked for, then kept. Once the socket has closed it cannot be read any more: an owner
   * whose work may go on past the current event calls keepPeer() first.
   */
  get remoteAddress(): string {
    this.keepPeer();
    return this.peerAddr!;
  }

  get remotePort(): number {
    this.keepPeer();
    return this.peerPort;
  }

  /** Read the peer's address now if it was not yet (the socket is open: it may close later). */
  keepPeer(): void {
    if (this.peerAddr !== null) return;
    const s = this.socket;
    this.peerAddr = s.remoteAddress ?? '';
    this.peerPort = s.remotePort ?? 0;
  }

  /**
   * TCP_NODELAY on or off (tcp_nodelay), as the owner wants it now (the server's, then the
   * location's): the socket is set before the next write but the first, so choices that change
   * between writes cost nothing; `now` sets it at once (a TLS connection: its handshake wrote).
   */
  noDelay(on: boolean, now = false): void {
    this.nodelayWanted = on;
    if (now && on !== this.nodelaySet) this.applyNoDelay();
  }

  /** A write goes: after the first, TCP_NODELAY is brought to what is wanted first. */
  private beforeWrite(): void {
    if (!this.wrote) { this.wrote = true; return; }
    this.applyNoDelay();
  }

  private applyNoDelay(): void {
    this.nodelaySet = this.nodelayWanted;
    this.socket.setNoDelay(this.nodelaySet);
  }

  /** Bytes the socket has written so far (a write timeout looks for progress). */
  progress(): number {
    return this.socket.bytesWritten + this.directBytes;
  }

  private afterDirect(err: Error | null): void {
    this.direct = false;
    this.directBytes += this.directSize;
    const w = this.directWritten;
    this.directWritten = undefined;
    if (w !== undefined) w();
    if (err !== null) { this.socket.destroy(err); return; }
    if (this.socket.destroyed) return;
    if (this.ending) {
      // end() came while this write waited: what was gathered goes, then the FIN
      this.ending = false;
      this.handOver();
      this.socket.end();
      return;
    }
    if (this.closed) return;
    // what was sent meanwhile follows (now, or with the turn's other writes)
    if (this.pendN > 0 && !this.batching) this.flush();
    if (!this.direct && this.full && !this.socket.writableNeedDrain) {
      this.full = false;
      if (this.onDrain !== null) this.onDrain();
    }
  }

  /** Start gathering output (the owner is about to handle a read). */
  batch(): void {
    this.batching = true;
  }

  /**
   * Stop gathering: what was gathered leaves in one write, with the turn's other writes (or at
   * once when output is not held).
   */
  flush(): void {
    this.batching = false;
    const push = this.pushWanted;
    this.pushWanted = false;
    if (this.pendN === 0 || this.direct) return; // (after a waiting direct write: when it has gone)
    if (holdOutput && !push) this.hold();
    else this.writePend();
  }

  /**
   * Write what is held now, not at the turn's end (ngx.flush: the handler goes on after it and
   * expects the bytes to have left). Inside a read's batch, the batch is written when it ends.
   */
  push(): void {
    if (this.batching) { this.pushWanted = true; return; }
    if (this.pendN > 0 && !this.direct && !this.closed && !this.socket.destroyed) this.writePend();
  }

  /** Join the Conns written in the check phase. */
  private hold(): void {
    if (this.held) return;
    this.held = true;
    held.push(this);
    if (!heldScheduled) {
      heldScheduled = true;
      setImmediate(writeHeld);
    }
  }

  /** The check phase: write what was held (unless a batch or a waiting write has it now). */
  release(): void {
    this.held = false;
    if (this.pendN === 0 || this.batching || this.direct) return;
    if (!this.closed && !this.socket.destroyed) this.writePend();
    else this.dropPend(); // closed meanwhile (the peer went): nothing to write to
  }

  /** Drop what was gathered, unwritten: the pieces are free, their callbacks run. */
  private dropPend(): void {
    for (let i = 0; i < this.pendN; i++) this.pend[i] = '';
    const done = this.pendDone;
    this.pendN = this.pendSize = 0;
    this.pendDone = null;
    if (done !== null) for (let i = 0; i < done.length; i++) done[i]();
  }

  /** Write what was gathered, in one write. */
  private writePend(): void {
    const n = this.pendN;
    const size = this.pendSize;
    const done = this.pendDone;
    // (a callback run by the write may send again: that goes to the other list)
    const list = this.pend;
    this.pend = this.spare ?? [];
    this.spare = null;
    this.pendN = 0;
    this.pendSize = 0;
    this.pendDone = null;
    this.write(list, n, size, done === null ? undefined : done.length === 1 ? done[0] : () => { for (let i = 0; i < done.length; i++) done[i](); });
    for (let i = 0; i < n; i++) list[i] = '';
    this.spare = list;
  }

  /**
   * Send `n` pieces of `list` (total `size` bytes) in one go: Buffers, or latin1 strings (one
   * char, one byte: the header block) that Node encodes as it writes. Returns false when the
   * socket is full afterwards; the owner then waits for the socket's 'drain'. `written` runs
   * once the socket no longer needs the buffers.
   */
  sendv(list: (Buffer | string)[], n: number, size: number, written?: () => void): boolean {
    const s = this.socket;
    if (this.closed || s.destroyed) return true;
    this.sent += size;
    if (this.batching || this.direct || holdOutput) {
      // (while a direct write waits, what follows is gathered and sent when it has gone)
      const pend = this.pend;
      for (let i = 0; i < n; i++) pend[this.pendN++] = list[i];
      this.pendSize += size;
      if (written !== undefined) (this.pendDone ??= []).push(written);
      if (this.direct) {
        if (!this.full) { this.full = true; if (this.onFull !== null) this.onFull(); }
        return false;
      }
      if (this.pendSize >= BATCH_MAX) {
        // the bound on what is held back: all of it leaves now
        this.writePend();
        return !this.full;
      }
      if (!this.batching) this.hold();
      return true;
    }
    return this.write(list, n, size, written);
  }

  /** The write itself: one piece, or several copied or corked into one write. */
  private write(list: (Buffer | string)[], n: number, size: number, written: (() => void) | undefined): boolean {
    const s = this.socket;
    if (this.nodelayWanted !== this.nodelaySet) this.beforeWrite(); else this.wrote = true;
    let ok: boolean;
    if (n === 1) {
      ok = this.write1(list[0], size, written);
    } else if (size <= COALESCE_MAX && allText(list, n)) {
      // latin1 strings only (a head and a handler's text, the chunk framing): one string, which
      // Node encodes as it writes — no Buffer is made for them at all
      let t = list[0] as string;
      for (let i = 1; i < n; i++) t += list[i] as string;
      if (written !== undefined) written();
      ok = this.write1(t, size, undefined);
    } else if (size <= COALESCE_MAX) {
      // (without a free scratch buffer, Node's pool: a socket that never writes directly, such
      // as a TLS one, never makes one)
      const own = scratch;
      scratch = null;
      const buf = own ?? Buffer.allocUnsafe(size);
      let at = 0;
      for (let i = 0; i < n; i++) {
        const p = list[i];
        at += typeof p === 'string' ? buf.write(p, at, 'latin1') : p.copy(buf, at);
      }
      if (written !== undefined) written(); // the pieces were copied: free at once
      ok = this.write1(own === null ? buf : buf.subarray(0, size), size, undefined);
      // the kernel has the bytes: the buffer is free again (or one is made for next time)
      if (wroteAll) scratch = own ?? Buffer.allocUnsafeSlow(COALESCE_MAX);
    } else {
      s.cork();
      for (let i = 0; i < n; i++) {
        const p = list[i];
        const cb = i === n - 1 ? written : undefined;
        if (typeof p === 'string') s.write(p, 'latin1', cb);
        else s.write(p, cb);
      }
      s.uncork();
      ok = !s.writableNeedDrain;
    }
    if (!ok && !this.full) {
      this.full = true;
      if (this.onFull !== null) this.onFull();
    }
    return ok;
  }

  /** One piece: straight to the handle when nothing is queued, else through the socket. */
  private write1(p: Buffer | string, size: number, written: (() => void) | undefined): boolean {
    const s = this.socket;
    const rc = writeDirect(s, p, this.directDone);
    wroteAll = rc === WROTE;
    if (rc === WROTE) {
      this.directBytes += size;
      if (written !== undefined) written();
      return true;
    }
    if (rc === QUEUED) {
      this.direct = true;
      this.directSize = size;
      this.directWritten = written;
      return false;
    }
    if (rc !== UNAVAILABLE) return true; // failed: the socket is destroyed, its 'error' and 'close' follow
    return typeof p === 'string' ? s.write(p, 'latin1', written) : s.write(p, written);
  }

  /**
   * The socket gets another owner (an upgrade): what is gathered goes out now through
   * socket.write (after a waiting direct write, in libuv's order), and this Conn sends no more.
   */
  handOver(): void {
    this.batching = false;
    const s = this.socket;
    // the new owner writes as it likes (a tunnel: TCP_NODELAY, as nginx sets it for WebSocket proxying)
    if (this.nodelayWanted !== this.nodelaySet) this.applyNoDelay();
    for (let i = 0; i < this.pendN; i++) {
      const p = this.pend[i];
      if (typeof p === 'string') s.write(p, 'latin1'); else s.write(p);
      this.pend[i] = '';
    }
    const done = this.pendDone;
    this.pendN = this.pendSize = 0;
    this.pendDone = null;
    if (done !== null) for (let i = 0; i < done.length; i++) done[i]();
    this.onFull = null;
    this.onDrain = null;
  }

  /** Half-close after the queued output has gone, then close. */
  end(): void {
    if (this.closed) return;
    if (this.direct) {
      this.closed = true;
      this.ending = true;
      return;
    }
    if (this.pendN > 0) this.writePend();
    this.closed = true;
    this.socket.end();
  }

  /**
   * Close now (framing in doubt, timeouts, 444): what was sent before, and only held for the
   * batch or the turn's end, is written first, as it would have left already without the hold
   * (the answers to requests pipelined before this one, say); then the socket goes. When nothing
   * can be written, the held pieces are dropped and their callbacks run (their buffers are free).
   */
  destroy(): void {
    this.batching = false;
    this.pushWanted = false;
    if (this.pendN > 0 && !this.direct && !this.closed && !this.socket.destroyed) this.writePend();
    this.closed = true;
    this.dropPend();
    this.socket.destroy();
  }
}
