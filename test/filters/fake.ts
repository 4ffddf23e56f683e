// A fake request and a fake connection for filter unit tests: the real filter classes linked into
// a chain with the real header and write filters at the bottom, writing into a FakeConn that
// records what it is given. No sockets, no timers: every call runs to its end synchronously.

import { Buf, B_FLUSH, B_LAST_BUF, link, type Chain } from '../../src/core/buf.js';
import type { Conn } from '../../src/core/conn.js';
import { FilterChains, type FilterPair } from '../../src/filters/index.js';
import { OK, type FilterConf, type FilterRequest } from '../../src/filters/filter.js';
import { HeadersOut } from '../../src/filters/headers-out.js';
import { HeaderWriteFilter } from '../../src/filters/header.js';
import { WriteFilter } from '../../src/filters/write.js';
import type { Postponed } from '../../src/filters/postpone.js';
import { parseResponses, type ParsedResponse } from '../helpers.js';
import { KNOWN_HEADER_NAMES } from '../../src/http/parser/types.js';

/** What Conn.sendv is given, piece by piece (views as handed over, and copies of them). */
export class FakeConn {
  closed: boolean;
  /** Set to make sendv() report a full socket (backpressure). */
  full: boolean;
  destroyed: boolean;
  sent: number;
  /** The pieces as the write filter handed them (Buffer views, or the header block's string). */
  readonly given: (Buffer | string)[];
  /** One entry per sendv() call: the bytes it carried. */
  readonly writes: Buffer[];

  constructor() {
    this.closed = false;
    this.full = false;
    this.destroyed = false;
    this.sent = 0;
    this.given = [];
    this.writes = [];
  }

  sendv(list: (Buffer | string)[], n: number, size: number, written?: () => void): boolean {
    const parts: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const p = list[i];
      this.given.push(p);
      parts.push(typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p));
    }
    const w = Buffer.concat(parts);
    if (w.length !== size) throw new Error(`sendv: size ${size} but ${w.length} bytes given`);
    this.writes.push(w);
    this.sent += size;
    if (written !== undefined) written();
    return !this.full;
  }

  end(): void { this.closed = true; }
  destroy(): void { this.closed = true; this.destroyed = true; }

  /** Every byte sent so far. */
  bytes(): Buffer { return Buffer.concat(this.writes); }
  text(): string { return this.bytes().toString('latin1'); }
  /** The responses in the bytes sent so far (headAt: which ones answer a HEAD). */
  responses(headAt: number[] = []): ParsedResponse[] { return parseResponses(this.bytes(), headAt); }
}

/** The switches the filters read, as a location with no directive set has them. */
export function filterConf(o: Partial<FilterConf> = {}): FilterConf {
  return {
    chunkedTransferEncoding: true,
    serverTokens: true,
    filterTrace: false,
    keepaliveTimeout: 75000,
    sendTimeout: 60000,
    ifModifiedSince: 'exact',
    maxRanges: null,
    gzip: false,
    gzipTypes: new Set(['text/html']),
    gzipMinLength: 20,
    gzipCompLevel: 1,
    gzipVary: false,
    addHeader: [],
    expires: null,
    subFilter: null,
    subFilterOnce: true,
    subFilterTypes: new Set(['text/html']),
    subFilterLastModified: false,
    ...o,
  };
}

export interface FakeOptions {
  method?: string;
  httpVersion?: number;
  /** Request headers, lower-case names. */
  headers?: Record<string, string>;
  /** $variables for expand(). */
  vars?: Record<string, string>;
  conf?: Partial<FilterConf>;
  /** A subrequest of this request (main and parent point at it). */
  parent?: FakeRequest;
  conn?: FakeConn;
}

/** A FilterRequest with every field of the interface, and records of what the filters did to it. */
export class FakeRequest implements FilterRequest {
  readonly conn: Conn | null;
  readonly fakeConn: FakeConn;
  readonly main: FakeRequest;
  readonly parent: FakeRequest | null;
  readonly headersOut: HeadersOut;
  readonly conf: FilterConf;
  readonly method: string;
  readonly httpVersion: number;
  headerOnly: boolean;
  filterFinalized = false;
  outputDone = false;
  headerSent: boolean;
  headerSize: number;
  keepalive: boolean;
  chunked: boolean;
  filterNeedInMemory: boolean;
  mainFilterNeedInMemory: boolean;
  out: Chain | null;
  readonly filterCtx: unknown[];
  readonly traceId: string;
  allowRanges: boolean;
  reading: boolean;
  buffered: number;
  postponed: Postponed | null;
  active: FilterRequest;
  finalized: boolean;
  readonly headersIn: Record<string, string>;
  readonly vars: Record<string, string>;
  /** The status filterFinalize() was asked for, or null. */
  finalizedWith: number | null;
  /** Body bytes the write filter dropped (bodyDropped). */
  dropped: number;
  writable: number;

  constructor(o: FakeOptions = {}) {
    const parent = o.parent ?? null;
    this.fakeConn = o.conn ?? parent?.fakeConn ?? new FakeConn();
    this.conn = this.fakeConn as unknown as Conn;
    this.main = parent === null ? this : parent.main;
    this.parent = parent;
    this.headersOut = new HeadersOut();
    this.headersOut.status = 200; // as Request.sendHeader() sets it before the chain
    this.conf = filterConf(o.conf);
    this.method = o.method ?? 'GET';
    this.httpVersion = o.httpVersion ?? 1001;
    this.headerOnly = this.method === 'HEAD';
    this.headerSent = false;
    this.headerSize = 0;
    this.keepalive = true;
    this.chunked = false;
    this.filterNeedInMemory = false;
    this.mainFilterNeedInMemory = false;
    this.out = null;
    this.filterCtx = [];
    this.traceId = parent === null ? 'r1' : parent.traceId + '.s';
    this.allowRanges = false;
    this.reading = false;
    this.buffered = 0;
    this.postponed = null;
    this.active = this;
    this.finalized = false;
    this.headersIn = o.headers ?? {};
    this.vars = o.vars ?? {};
    this.finalizedWith = null;
    this.dropped = 0;
    this.writable = 0;
  }

  inHeader(name: string): string | null { return this.headersIn[name] ?? null; }
  inKnown(id: number): string | null { return this.inHeader(KNOWN_HEADER_NAMES[id]); }
  bodyDropped(bytes: number): void { this.dropped += bytes; }
  expand(s: string): string { return s.replace(/\$\{?([a-z_0-9]+)\}?/gi, (_m, k: string) => this.vars[k] ?? ''); }
  filterFinalize(status: number): number { this.finalizedWith = status; return OK; }
  onWritable(): void { this.writable++; }
}

/**
 * Chains made of these filter pairs, top first, with the real header and write filters under
 * them (fresh instances, as every server makes its own).
 */
export function chains(...top: FilterPair[]): FilterChains {
  const steps = [() => [{ header: new HeaderWriteFilter(), body: new WriteFilter() }], ...top.slice().reverse().map((p) => () => [p])];
  return new FilterChains(steps, false);
}

/** A memory buf over `data` (latin1 for strings), the last one when `last`, a flush when `flush`. */
export function buf(data: string | Buffer, last = false, flush = false): Chain {
  const m = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  return link(Buf.memory(m, 0, m.length, (last ? B_LAST_BUF : 0) | (flush ? B_FLUSH : 0)));
}

/** One chain of several memory bufs (the last one flagged last when `last`). */
export function bufs(parts: (string | Buffer)[], last = true): Chain {
  let head: Chain | null = null;
  for (let i = parts.length - 1; i >= 0; i--) {
    const l = buf(parts[i], last && i === parts.length - 1);
    l.next = head;
    head = l;
  }
  return head!;
}

/** The header, then the body in the calls given (each call one chain), on these chains. */
export function respond(ch: FilterChains, r: FakeRequest, calls: Chain[]): number[] {
  const rcs = [ch.sendHeader(r)];
  for (const cl of calls) rcs.push(ch.output(r, cl));
  return rcs;
}
