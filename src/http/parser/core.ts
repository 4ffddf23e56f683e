// What both bindings share: the C parser's lifetime, and turning records into sink calls.
// Offsets in records are relative to the buffer of one sluice_exec call; `delta` maps them to
// the JS chunk. A head that spans chunks is gathered in `saved` and handed out as one Buffer.

import {
  E_OK, E_CLOSED, E_UPGRADE, E_INTERNAL, SINK_OK, SINK_PAUSE, SINK_SKIP_BODY,
  PARSER_REQUEST, PARSER_RESPONSE,
} from './types.js';
import type { ParserLimits, ParserSink } from './types.js';
import {
  EV_BEGIN, EV_URL, EV_REASON, EV_NAME, EV_VALUE, EV_HEAD_CL, EV_HEAD, EV_BODY, EV_TNAME,
  EV_TVALUE, EV_TRAILERS, EV_DONE, EV_PARTIAL, HEAD_KEEP_ALIVE, PUBLIC_FLAGS, OUT_REASON, OUT_BODY_LEFT,
  DEFAULT_MAX_REQUEST_LINE, DEFAULT_MAX_FIELD_LINE, DEFAULT_MAX_HEAD, DEFAULT_MAX_HEADERS,
} from './constants.js';
import { Head } from './head.js';
import { wasm } from './instance.js';

const EMPTY = Buffer.alloc(0);
/** The sink of a parser waiting in the free list, or destroyed: nothing may reach it. */
export const NO_SINK: ParserSink = {
  onHead: () => { throw new Error('parser: a recycled parser was used'); },
  onBody: () => { throw new Error('parser: a recycled parser was used'); },
  onTrailers: () => { throw new Error('parser: a recycled parser was used'); },
  onMessageComplete: () => { throw new Error('parser: a recycled parser was used'); },
};
const INITIAL_FIELDS = 32;
/** run() did not return: a sink threw. */
const THREW = -1;
const DEFER_RESET = 1, DEFER_DESTROY = 2, DEFER_RECYCLE = 3;

/** The four limits as sluice_alloc takes them, checked. */
export function limitsOf(limits: ParserLimits | undefined): number[] {
  return [
    limit(limits?.maxRequestLine, DEFAULT_MAX_REQUEST_LINE),
    limit(limits?.maxFieldLine, DEFAULT_MAX_FIELD_LINE),
    limit(limits?.maxHead, DEFAULT_MAX_HEAD),
    limit(limits?.maxHeaders, DEFAULT_MAX_HEADERS),
  ];
}

function limit(v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`parser limit must be a positive integer, not ${v}`);
  return Math.min(v, 0x3fffffff);
}

export abstract class ParserCore {
  /** After a pause or error: offset in the chunk where parsing stopped. */
  pos = 0;
  /** Human-readable reason for the last error. */
  errorReason = '';
  readonly kind: number;
  protected sink: ParserSink;
  /** The limits it was made with, as sluice_alloc took them (a recycled parser serves the same ones). */
  protected readonly limits: readonly number[];
  protected ptr: number;
  /** Index of the parser's shared int32 slots (OUT_*) in memory. */
  protected readonly info: number;
  /** Sticky result: an error, E_UPGRADE or E_CLOSED. */
  protected err = E_OK;
  protected readonly head = new Head(INITIAL_FIELDS);
  protected readonly trailers = new Head(8);

  /* the current chunk */
  protected chunk: Buffer = EMPTY;
  /** Chunk offset of the current sluice_exec buffer. */
  protected delta = 0;
  private from = 0;

  /* the head or trailer section being filled */
  protected target: Head;
  private sectionOpen = false;
  /** Chunk offset where it began, in the chunk where it began. */
  private sectionStart = 0;
  /** Added to chunk offsets to get offsets into its Buffer: 0 unless it began in an earlier chunk. */
  protected hoff = 0;
  private saved: Buffer[] | null = null;
  private savedLen = 0;
  /** Kind of a span that goes on in the next buffer. */
  protected open = 0;
  private pieced = false;
  private cl = -1;

  private inMessage = false;
  /** The last complete message ends the connection. */
  protected closing = false;
  /** What the sink answered to the last head. */
  protected headRc = SINK_OK;
  /** Where the message the sink paused after ends. */
  protected pausePos = 0;
  /** Table binding: the sink paused after a message while the C state ran ahead. */
  protected stale = false;
  /** Inside execute() or finish(); reset() and destroy() wait for it (DEFER_*). */
  private busy = false;
  protected deferred = 0;

  constructor(kind: number, sink: ParserSink, limits: ParserLimits | undefined, callbacks: number) {
    if (kind !== PARSER_REQUEST && kind !== PARSER_RESPONSE) throw new RangeError(`bad parser kind ${kind}`);
    this.kind = kind;
    this.sink = sink;
    this.target = this.head;
    const w = wasm();
    const l = this.limits = limitsOf(limits);
    this.ptr = w.x.sluice_alloc(kind, callbacks, l[0], l[1], l[2], l[3]);
    if (this.ptr === 0) throw new Error('parser: out of wasm memory');
    w.refresh();
    this.info = this.ptr >> 2;
  }

  /**
   * Parses chunk[from..]. Returns E_OK (all consumed), E_PAUSED (the sink paused after a message;
   * resume with execute(chunk, pos)), or a sticky stop or error with `pos` where it happened.
   */
  execute(chunk: Buffer, from = 0): number {
    if (this.err !== E_OK) {
      this.pos = from;
      return this.err;
    }
    this.busy = true;
    let rc = THREW;
    try {
      rc = this.run(chunk, from);
    } finally {
      this.busy = false;
      if (rc === THREW) this.broken();
    }
    return this.deferred === 0 ? rc : this.settle(chunk.length);
  }

  /** End of input: E_OK, or E_INVALID_EOF when a message was cut short. */
  finish(): number {
    if (this.err !== E_OK) return this.err === E_CLOSED || this.err === E_UPGRADE ? E_OK : this.err;
    this.busy = true;
    let rc = THREW;
    try {
      rc = this.runFinish();
    } finally {
      this.busy = false;
      if (rc === THREW) this.broken();
    }
    return this.deferred === 0 ? rc : this.settle(0);
  }

  /** Bytes of a message have been seen and it is not complete. */
  messageInProgress(): boolean {
    return this.inMessage;
  }

  /** Start a fresh stream (pooled connections). Inside a sink call: once execute() returns. */
  reset(): void {
    if (this.busy) {
      if (this.deferred === 0) this.deferred = DEFER_RESET;
      return;
    }
    this.reinit(0);
    this.err = this.ptr === 0 ? E_CLOSED : E_OK;
    this.pos = 0;
    this.errorReason = '';
    this.inMessage = false;
    this.closing = false;
    this.stale = false;
    this.sectionOpen = false;
    this.saved = null;
    this.open = 0;
    this.chunk = EMPTY;
  }

  /** Free the wasm memory; the parser is unusable afterwards. Inside a sink call: once execute() returns. */
  destroy(): void {
    if (this.busy) {
      this.deferred = DEFER_DESTROY;
      return;
    }
    if (this.ptr === 0) return;
    wasm().x.sluice_free(this.ptr);
    this.ptr = 0;
    this.err = E_CLOSED;
    this.errorReason = 'parser destroyed';
    this.chunk = EMPTY;
    this.saved = null;
  }

  /**
   * The connection is done with this parser: it is made fresh and kept for the next connection of
   * its kind (ngx_free_connection's free list), or destroyed when enough are kept. Its owner must
   * not use it afterwards (it takes HttpParser.closed in its place). Inside a sink call: once
   * execute() returns, as destroy().
   */
  recycle(): void {
    if (this.busy) {
      this.deferred = DEFER_RECYCLE;
      return;
    }
    if (this.ptr === 0) return;
    // (a fresh stream: every message starts its sections anew; the heads let go of the old bytes)
    this.reset();
    this.sink = NO_SINK;
    this.head.reset();
    this.trailers.reset();
    if (!this.keep()) this.destroy();
  }

  /** Kept for the next connection (recycle())? A binding with a free list says yes. */
  protected keep(): boolean {
    return false;
  }

  /** A recycled parser taken for a new connection: the sink it calls from now on. */
  protected adopt(sink: ParserSink): void {
    this.sink = sink;
  }

  /** One chunk, in the binding's way. */
  protected abstract run(chunk: Buffer, from: number): number;

  protected abstract runFinish(): number;

  /** reset() or destroy() came from a sink: the rest of the chunk is dropped. */
  private settle(len: number): number {
    const d = this.deferred;
    this.deferred = 0;
    if (d === DEFER_DESTROY || d === DEFER_RECYCLE) {
      if (d === DEFER_DESTROY) this.destroy(); else this.recycle();
      this.pos = len;
      return E_CLOSED;
    }
    this.reset();
    this.pos = len;
    return E_OK;
  }

  /** A sink threw: the parser's state is unknown, so it stops. */
  private broken(): void {
    if (this.deferred !== 0) this.settle(0);
    this.err = E_INTERNAL;
    this.errorReason = 'a sink callback threw';
  }

  protected reinit(closed: number): void {
    if (this.ptr !== 0) wasm().x.sluice_reinit(this.ptr, closed);
  }

  /** A stop or an error: sticky until reset(). */
  protected fail(rc: number, pos: number): number {
    this.err = rc;
    this.pos = pos;
    const w = wasm();
    this.errorReason = w.cstring(w.i32[this.info + OUT_REASON]);
    return rc;
  }

  /* ---------------------------------------------------------------- chunks */

  /**
   * Body bytes that C would only count (the rest of a Content-Length body or of a chunk) go to
   * the sink straight from the chunk, neither copied nor parsed. Returns how many were taken.
   */
  protected takeBody(chunk: Buffer, start: number): number {
    const w = wasm();
    const left = w.i32[this.info + OUT_BODY_LEFT];
    if (left <= 0 || start >= chunk.length) return 0;
    const n = Math.min(left, chunk.length - start);
    w.x.sluice_skip(this.ptr, n);
    this.sink.onBody(chunk, start, start + n);
    return n;
  }

  protected enter(chunk: Buffer, from: number): void {
    this.chunk = chunk;
    this.from = from;
    if (this.saved !== null) this.hoff = this.savedLen - from;
  }

  /** End of a chunk: keep the bytes of a head that goes on in the next one. */
  protected leave(): void {
    if (!this.sectionOpen) return;
    const c = this.chunk;
    const start = this.saved === null ? this.sectionStart : this.from;
    const copy = Buffer.allocUnsafe(c.length - start);
    c.copy(copy, 0, start);
    if (this.saved === null) {
      if (start !== 0) this.target.shift(start);
      this.saved = [copy];
      this.savedLen = copy.length;
    } else {
      this.saved.push(copy);
      this.savedLen += copy.length;
    }
    this.pieced = true;
  }

  /* ---------------------------------------------------------------- records */

  /**
   * One record: calls the sink. Returns SINK_PAUSE when the sink paused after a message,
   * SINK_SKIP_BODY when it asked to skip a response body, else 0.
   */
  handle(kind: number, a: number, b: number, c: number): number {
    if (this.deferred !== 0) return 0;
    const d = this.delta;
    switch (kind & 0xff) {
      case EV_BEGIN:
        this.begin(a + d);
        return 0;
      case EV_URL: {
        const h = this.head;
        if (this.open !== EV_URL) h.urlStart = a + d + this.hoff;
        h.urlEnd = b + d + this.hoff;
        break;
      }
      case EV_REASON: {
        const h = this.head;
        if (this.open !== EV_REASON) h.reasonStart = a + d + this.hoff;
        h.reasonEnd = b + d + this.hoff;
        break;
      }
      case EV_TNAME:
      case EV_NAME: {
        if (!this.sectionOpen) this.section(this.trailers, a + d);
        const h = this.target;
        const hs = h.headers;
        const e = b + d + this.hoff;
        if (this.open === EV_NAME) {
          const i = (h.headerCount - 1) * 5;
          hs[i + 1] = hs[i + 2] = hs[i + 3] = e;
          hs[i + 4] = c;
        } else {
          const i = h.add();
          const s = a + d + this.hoff;
          const hs2 = h.headers;
          hs2[i] = s;
          hs2[i + 1] = hs2[i + 2] = hs2[i + 3] = e;
          hs2[i + 4] = c;
        }
        this.open = kind & EV_PARTIAL ? EV_NAME : 0;
        return 0;
      }
      case EV_VALUE:
      case EV_TVALUE: {
        const h = this.target;
        const hs = h.headers;
        const i = (h.headerCount - 1) * 5;
        if (this.open !== EV_VALUE) hs[i + 2] = a + d + this.hoff;
        else this.pieced = true;
        hs[i + 3] = b + d + this.hoff;
        this.open = kind & EV_PARTIAL ? EV_VALUE : 0;
        return 0;
      }
      case EV_HEAD_CL:
        this.cl = b < 0 ? -1 : b * 0x100000000 + (a >>> 0);
        return 0;
      case EV_HEAD:
        return this.onHead(a + d, b, c);
      case EV_BODY:
        this.sink.onBody(this.chunk, a + d, b + d);
        return 0;
      case EV_TRAILERS:
        this.close(this.trailers, a + d);
        this.sink.onTrailers(this.trailers);
        return 0;
      case EV_DONE:
        this.inMessage = false;
        this.sectionOpen = false;
        if (this.sink.onMessageComplete() === SINK_PAUSE) {
          this.pausePos = a + d;
          return SINK_PAUSE;
        }
        return 0;
      default:
        return 0;
    }
    this.open = kind & EV_PARTIAL ? kind & 0xff : 0;
    return 0;
  }

  private begin(at: number): void {
    this.inMessage = true;
    this.head.reset();
    this.section(this.head, at);
  }

  private section(h: Head, at: number): void {
    if (h !== this.head) h.reset();
    this.target = h;
    this.sectionOpen = true;
    this.sectionStart = at;
    this.hoff = 0;
    this.saved = null;
    this.savedLen = 0;
    this.open = 0;
    this.pieced = false;
  }

  /** The head or trailer section ended at chunk offset `end`: give it its Buffer. */
  private close(h: Head, end: number): void {
    if (this.saved === null) {
      h.buf = this.chunk;
    } else {
      this.saved.push(this.chunk.subarray(this.from, end));
      h.buf = Buffer.concat(this.saved, this.savedLen + end - this.from);
      this.saved = null;
      this.hoff = 0;
    }
    if (this.pieced) h.trimValues();
    this.pieced = false;
    this.sectionOpen = false;
    this.open = 0;
  }

  private onHead(end: number, numbers: number, flags: number): number {
    const h = this.head;
    h.method = numbers & 0xff;
    h.versionMajor = 1;
    h.versionMinor = (numbers >> 8) & 0xf;
    h.statusCode = (numbers >>> 12) & 0x3ff;
    h.flags = flags & PUBLIC_FLAGS;
    h.keepAlive = (flags & HEAD_KEEP_ALIVE) !== 0;
    h.contentLength = this.cl;
    this.closing = !h.keepAlive;
    this.close(h, end);
    const rc = this.sink.onHead(h);
    this.headRc = rc;
    return this.kind === PARSER_RESPONSE && rc === SINK_SKIP_BODY ? SINK_SKIP_BODY : 0;
  }
}
