// cf. ngx_http_range_filter_module.c — byte ranges: one range → 206 with Content-Range,
// several → 206 multipart/byteranges, none satisfiable → 416; If-Range; Accept-Ranges.
//
// The body filter never copies: each range is a window onto the bufs that pass (memory or file).
// Ranges are sorted and overlapping ones merged (RFC 9110 14.2 allows it), so any body streams
// through in one pass whatever the order the client asked for.

import { Buf, Chain, ChainOut, B_FLUSH, B_IN_FILE, B_LAST_BUF, B_LAST_IN_CHAIN, B_MEMORY } from '../core/buf.js';
import { BodyFilter, HeaderFilter, allocCtxSlot, type FilterRequest } from './filter.js';

const SLOT = allocCtxSlot();
let boundarySerial = 0;

class RangeCtx {
  starts: number[];
  ends: number[];        // exclusive
  /** Part headers for multipart (one per range) and the closing boundary; null for one range. */
  parts: Buffer[] | null;
  tail: Buffer | null;
  /** Bytes of the original body seen so far. */
  offset: number;
  /** Ranges wholly behind us. */
  next: number;
  /** Ranges whose part header has gone out (multipart). */
  partsSent: number;
  constructor(starts: number[], ends: number[]) {
    this.starts = starts;
    this.ends = ends;
    this.parts = null;
    this.tail = null;
    this.offset = 0;
    this.next = 0;
    this.partsSent = 0;
  }
}

export class RangeHeaderFilter extends HeaderFilter {
  readonly name = 'range';

  header(r: FilterRequest): number {
    const h = r.headersOut;
    if (r.httpVersion < 1000 || h.status !== 200 || r !== r.main || h.contentLength < 0 || !r.allowRanges) {
      return this.next!.header(r);
    }
    const len = h.contentLength;
    const range = r.inHeader('range');
    if (range === null || !/^bytes=/i.test(range) || r.conf.maxRanges === 0) {
      h.set('Accept-Ranges', 'bytes');
      return this.next!.header(r);
    }
    const ifRange = r.inHeader('if-range');
    if (ifRange !== null && !ifRangeMatches(r, ifRange)) {
      h.set('Accept-Ranges', 'bytes');
      return this.next!.header(r);
    }

    const parsed = parseRanges(range.slice(6), len);
    if (parsed === null) return this.next!.header(r); // syntax error: the whole body
    if (parsed.length === 0) {
      h.set('Content-Range', `bytes */${len}`);
      return r.filterFinalize(416);
    }
    const maxRanges = r.conf.maxRanges;
    if (maxRanges !== null && parsed.length > maxRanges * 2) return this.next!.header(r);
    const merged = mergeRanges(parsed);
    if (maxRanges !== null && merged.length / 2 > maxRanges) return this.next!.header(r);

    const starts: number[] = [];
    const ends: number[] = [];
    for (let i = 0; i < merged.length; i += 2) { starts.push(merged[i]); ends.push(merged[i + 1]); }
    const ctx = new RangeCtx(starts, ends);
    r.filterCtx[SLOT] = ctx;
    h.status = 206;
    h.statusLine = null;

    if (starts.length === 1) {
      h.set('Content-Range', `bytes ${starts[0]}-${ends[0] - 1}/${len}`);
      h.contentLength = ends[0] - starts[0];
      return this.next!.header(r);
    }

    const boundary = String(++boundarySerial).padStart(20, '0');
    const type = h.contentType;
    ctx.parts = [];
    let total = 0;
    for (let i = 0; i < starts.length; i++) {
      const p = Buffer.from(`\r\n--${boundary}\r\n${type !== null ? `Content-Type: ${type}\r\n` : ''}Content-Range: bytes ${starts[i]}-${ends[i] - 1}/${len}\r\n\r\n`, 'latin1');
      ctx.parts.push(p);
      total += p.length + ends[i] - starts[i];
    }
    ctx.tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
    total += ctx.tail.length;
    h.contentType = `multipart/byteranges; boundary=${boundary}`;
    h.contentLength = total;
    return this.next!.header(r);
  }
}

export class RangeBodyFilter extends BodyFilter {
  readonly name = 'range';

  body(r: FilterRequest, cl: Chain | null): number {
    const ctx = r.filterCtx[SLOT] as RangeCtx | undefined;
    if (ctx === undefined || cl === null) return this.next!.body(r, cl);

    const out = new ChainOut();
    let lastFlags = 0;
    const n = ctx.starts.length;
    for (let c: Chain | null = cl; c !== null; c = c.next) {
      const b = c.buf;
      lastFlags |= b.flags & (B_LAST_BUF | B_LAST_IN_CHAIN | B_FLUSH);
      const size = b.size();
      const bStart = ctx.offset;
      const bEnd = bStart + size;
      ctx.offset = bEnd;
      if (size === 0) continue;
      for (let i = ctx.next; i < n; i++) {
        const s = ctx.starts[i];
        const e = ctx.ends[i];
        if (s >= bEnd) break;
        if (e <= bStart) { if (i === ctx.next) ctx.next++; continue; }
        // a part header goes out once, just before the first byte of its range
        if (ctx.parts !== null && ctx.partsSent <= i) { out.push(Buf.memory(ctx.parts[i])); ctx.partsSent = i + 1; }
        out.push(window(b, Math.max(s, bStart) - bStart, Math.min(e, bEnd) - bStart));
      }
    }
    if ((lastFlags & (B_LAST_BUF | B_LAST_IN_CHAIN)) !== 0) {
      if (ctx.tail !== null) out.push(Buf.memory(ctx.tail));
      out.push(Buf.special(lastFlags));
    } else if ((lastFlags & B_FLUSH) !== 0) {
      out.push(Buf.special(B_FLUSH));
    }
    return this.next!.body(r, out.head);
  }
}

/** A window [from, to) of a buf's bytes, onto the same memory or file. */
function window(b: Buf, from: number, to: number): Buf {
  const w = new Buf();
  // a window shares its memory (maybe with other windows): no tag, so it is never recycled
  if ((b.flags & B_MEMORY) !== 0) {
    w.mem = b.mem;
    w.pos = b.pos + from;
    w.last = b.pos + to;
    w.flags = B_MEMORY;
  } else {
    w.file = b.file;
    w.filePos = b.filePos + from;
    w.fileLast = b.filePos + to;
    w.flags = B_IN_FILE;
  }
  return w;
}

/** "a-b, c-, -n" → flat [start, end) pairs clipped to len; [] when none is satisfiable; null on bad syntax. */
export function parseRanges(spec: string, len: number): number[] | null {
  const out: number[] = [];
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const m = /^(\d*)\s*-\s*(\d*)$/.exec(part);
    if (m === null || (m[1] === '' && m[2] === '')) return null;
    let start: number;
    let end: number;
    if (m[1] === '') {
      const suffix = Number(m[2]);
      if (suffix === 0) continue;
      start = Math.max(0, len - suffix);
      end = len;
    } else {
      start = Number(m[1]);
      end = m[2] === '' ? len : Math.min(Number(m[2]) + 1, len);
      if (m[2] !== '' && Number(m[2]) < start) return null;
    }
    if (!Number.isSafeInteger(start) || start >= len) continue;
    out.push(start, end);
  }
  return out;
}

/** Sort by start and merge ranges that overlap or touch. */
function mergeRanges(flat: number[]): number[] {
  const idx: number[] = [];
  for (let i = 0; i < flat.length; i += 2) idx.push(i);
  idx.sort((a, b) => flat[a] - flat[b]);
  const out: number[] = [];
  for (const i of idx) {
    const s = flat[i], e = flat[i + 1];
    if (out.length > 0 && s <= out[out.length - 1]) {
      if (e > out[out.length - 1]) out[out.length - 1] = e;
    } else {
      out.push(s, e);
    }
  }
  return out;
}

function ifRangeMatches(r: FilterRequest, v: string): boolean {
  const h = r.headersOut;
  if (v.startsWith('"') || v.startsWith('W/')) {
    return h.etag !== null && !h.etag.startsWith('W/') && v === h.etag;
  }
  const t = Date.parse(v);
  return !Number.isNaN(t) && h.lastModified >= 0 && Math.floor(h.lastModified / 1000) * 1000 === t;
}
