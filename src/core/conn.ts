// cf. src/core/ngx_connection.h, ngx_writev_chain.c — a socket and its output side.
//
// Knows nothing of HTTP. Output is handed to Node's socket with cork/uncork so that several
// pieces leave in one writev; `full` tells producers to stop until the socket drains
// (backpressure): Node buffers what it is given, so the bound is "one batch past the mark".

import type { Socket } from 'node:net';

/** Small pieces are copied into one Buffer: one write call costs more than a short memcpy. */
const COALESCE_MAX = 8192;

export class Conn {
  readonly socket: Socket;
  /** Set by the owner: called (with this Conn) when a write left the socket over its mark. */
  onFull: ((this: Conn) => void) | null;
  /** The socket's buffer is over its high-water mark; wait for 'drain'. */
  full: boolean;
  closed: boolean;
  /** Bytes handed to the socket in all (for logs and tests). */
  sent: number;
  remoteAddress: string;
  remotePort: number;

  constructor(socket: Socket) {
    this.socket = socket;
    this.onFull = null;
    this.full = false;
    this.closed = false;
    this.sent = 0;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
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
    let ok: boolean;
    if (n === 1) {
      const p = list[0];
      ok = typeof p === 'string' ? s.write(p, 'latin1', written) : s.write(p, written);
    } else if (size <= COALESCE_MAX) {
      const out = Buffer.allocUnsafe(size);
      let at = 0;
      for (let i = 0; i < n; i++) {
        const p = list[i];
        at += typeof p === 'string' ? out.write(p, at, 'latin1') : p.copy(out, at);
      }
      ok = s.write(out);
      if (written !== undefined) written(); // the pieces were copied: free at once
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

  /** Half-close after the queued output has gone, then close. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
  }

  /** Close now, dropping unsent output (framing in doubt, timeouts). */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
