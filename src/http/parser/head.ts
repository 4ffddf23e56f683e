// The MessageHead a parser fills and reuses: one for heads, one for trailer sections.

import type { MessageHead } from './types.js';

const EMPTY = Buffer.alloc(0);
const SPACE = 0x20, HTAB = 0x09;

export class Head implements MessageHead {
  buf: Buffer = EMPTY;
  method = 0;
  versionMajor = 1;
  versionMinor = 1;
  urlStart = 0;
  urlEnd = 0;
  statusCode = 0;
  reasonStart = 0;
  reasonEnd = 0;
  headerCount = 0;
  headers: Int32Array;
  contentLength = -1;
  flags = 0;
  keepAlive = false;

  constructor(fields: number) {
    this.headers = new Int32Array(fields * 5);
  }

  reset(): void {
    this.buf = EMPTY;
    this.method = 0;
    this.versionMajor = 1;
    this.versionMinor = 1;
    this.urlStart = this.urlEnd = 0;
    this.statusCode = 0;
    this.reasonStart = this.reasonEnd = 0;
    this.headerCount = 0;
    this.contentLength = -1;
    this.flags = 0;
    this.keepAlive = false;
  }

  /** Index of a new field line's five ints. */
  add(): number {
    const i = this.headerCount++ * 5;
    if (i + 5 > this.headers.length) {
      const h = new Int32Array(this.headers.length * 2);
      h.set(this.headers);
      this.headers = h;
    }
    return i;
  }

  /** The head began at `d` in its first chunk: make every offset relative to that. */
  shift(d: number): void {
    // 0 means not seen yet: a target or a reason never starts a head
    if (this.urlEnd !== 0) {
      this.urlStart -= d;
      this.urlEnd -= d;
    }
    if (this.reasonEnd !== 0) {
      this.reasonStart -= d;
      this.reasonEnd -= d;
    }
    const h = this.headers;
    for (let i = 0, n = this.headerCount * 5; i < n; i += 5) {
      h[i] -= d;
      h[i + 1] -= d;
      h[i + 2] -= d;
      h[i + 3] -= d;
    }
  }

  /** Values that arrived in pieces: trailing OWS may have been split from the rest. */
  trimValues(): void {
    const b = this.buf, h = this.headers;
    for (let i = 0, n = this.headerCount * 5; i < n; i += 5) {
      let e = h[i + 3];
      while (e > h[i + 2] && (b[e - 1] === SPACE || b[e - 1] === HTAB)) e--;
      h[i + 3] = e;
    }
  }
}
