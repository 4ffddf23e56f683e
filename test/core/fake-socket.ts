// Just what a Conn (src/core/conn.ts) uses of a socket, with no handle, so every write takes
// socket.write(): a test sees each write as it is given (`writes`, and `log` for the order of
// writes and the other calls a test records there).
import { EventEmitter } from 'node:events';
import { setHoldOutput } from '../../src/core/conn.js';

export class FakeSocket extends EventEmitter {
  peerAddress = '127.0.0.1';
  peerPort = 1;
  get remoteAddress(): string { return this.peerAddress; }
  get remotePort(): number { return this.peerPort; }
  destroyed = false;
  connecting = false;
  writableLength = 0;
  writableCorked = 0;
  writableNeedDrain = false;
  bytesWritten = 0;
  _handle = null;
  writes: (string | Buffer)[] = [];
  log: string[] = [];
  write(d: string | Buffer, enc?: unknown, cb?: unknown): boolean {
    this.writes.push(d);
    this.log.push(`write ${String(d)}`);
    const done = typeof enc === 'function' ? enc : cb;
    if (typeof done === 'function') (done as () => void)();
    return true;
  }
  cork(): void { this.writableCorked++; }
  uncork(): void { this.writableCorked--; }
  setNoDelay(on: boolean): this { this.log.push(`nodelay ${on}`); return this; }
}

/**
 * Run `fn` with output written as it is sent (src/core/conn.ts setHoldOutput(false)), not held
 * for the end of the turn: for tests of what one write is made of, or of what comes between two.
 */
export function writesAtOnce(fn: () => void): void {
  const was = setHoldOutput(false);
  try {
    fn();
  } finally {
    setHoldOutput(was);
  }
}

/** The end of this turn's I/O callbacks: held output has been written (the check phase). */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
