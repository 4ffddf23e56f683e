// cf. ngx_http_range_filter_module.c — byte ranges: one range → 206 with Content-Range,
// several → 206 multipart/byteranges, none satisfiable → 416; If-Range; Accept-Ranges.
//
// The body filter never copies: each range is a window onto the bufs that pass (memory or file).
// Ranges go out in the order asked, as nginx sends them (overlaps included, within nginx's limit:
// no more bytes than the body has). Ranges in ascending order stream through in one pass; others
// wait for the last buf, holding windows onto the bufs (not their bytes) until then.

import { Buf, Chain, ChainOut, B_FLUSH, B_IN_FILE, B_LAST_BUF, B_LAST_IN_CHAIN, B_MEMORY } from '../core/buf.js';
import { BodyFilter, HeaderFilter, allocCtxSlot, type FilterRequest } from './filter.js';
import { H_IF_RANGE, H_RANGE } from '../http/parser/types.js';

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
  /** Ranges out of ascending order: windows onto every buf, held until the last one. */
  held: Buf[] | null;
  heldAt: number[] | null;
  constructor(starts: number[], ends: number[]) {
    this.starts = starts;
    this.ends = ends;
    this.parts = null;
    this.tail = null;
    this.offset = 0;
    this.next = 0;
    this.partsSent = 0;
    let ordered = true;
    for (let i = 1; i < starts.length; i++) if (starts[i] < ends[i - 1]) ordered = false;
    this.held = ordered ? null : [];
    this.heldAt = ordered ? null : [];
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
    const maxRanges = r.conf.maxRanges;
    if (maxRanges === 0) return this.next!.header(r); // ranges off: not even Accept-Ranges
    const range = r.inKnown(H_RANGE);
    if (range === null || range.length < 7 || !/^bytes=/i.test(range)) {
      h.setConstant('Accept-Ranges', 'accept-ranges', 'bytes');
      return this.next!.header(r);
    }
    const ifRange = r.inKnown(H_IF_RANGE);
    if (ifRange !== null && !ifRangeMatches(r, ifRange)) {
      h.setConstant('Accept-Ranges', 'accept-ranges', 'bytes');
      return this.next!.header(r);
    }

    const parsed = parseRanges(range.slice(6), len, maxRanges ?? Infinity);
    if (parsed === 416) {
      h.set('Content-Range', `bytes */${len}`);
      return r.filterFinalize(416);
    }
    if (parsed === 200) {
      // too many ranges, or more bytes asked than the body has (overlaps): the whole body
      h.setConstant('Accept-Ranges', 'accept-ranges', 'bytes');
      return this.next!.header(r);
    }
    const starts: number[] = [];
    const ends: number[] = [];
    for (let i = 0; i < parsed.length; i += 2) { starts.push(parsed[i]); ends.push(parsed[i + 1]); }
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
    if (ctx.held !== null) return this.unordered(r, ctx, cl);

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

  /** Ranges out of order: hold windows onto the bufs; at the last one, the parts as asked. */
  private unordered(r: FilterRequest, ctx: RangeCtx, cl: Chain): number {
    const held = ctx.held!;
    const at = ctx.heldAt!;
    let lastFlags = 0;
    for (let c: Chain | null = cl; c !== null; c = c.next) {
      const b = c.buf;
      lastFlags |= b.flags & (B_LAST_BUF | B_LAST_IN_CHAIN);
      const size = b.size();
      if (size === 0) continue;
      held.push(window(b, 0, size));
      at.push(ctx.offset);
      ctx.offset += size;
    }
    if (lastFlags === 0) return 0;
    const out = new ChainOut();
    for (let i = 0; i < ctx.starts.length; i++) {
      const s = ctx.starts[i];
      const e = ctx.ends[i];
      out.push(Buf.memory(ctx.parts![i]));
      for (let k = 0; k < held.length; k++) {
        const bs = at[k];
        const be = bs + held[k].size();
        if (be <= s || bs >= e) continue;
        out.push(window(held[k], Math.max(s, bs) - bs, Math.min(e, be) - bs));
      }
    }
    out.push(Buf.memory(ctx.tail!));
    out.push(Buf.special(lastFlags));
    ctx.held = ctx.heldAt = null;
    return this.next!.body(r, out.head);
  }
}

/** A window [from, to) of a buf's bytes, onto the same memory or file. */
function window(b: Buf, from: number, to: number): Buf {
  const w = new Buf();
  // a window shares its memory (maybe with other windows): no tag, so it is never recycled
  if ((b.flags & B_MEMORY) !== 0) {
    w.mem = b.mem;
    w.text = b.text;
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

/** Status codes parseRanges() answers with instead of ranges. */
type RangeAnswer = 200 | 416;

const MAX_OFF = '9223372036854775807'; // nginx's NGX_MAX_OFF_T_VALUE: longer numbers are refused

/** Digits from `i`; [value, next index], or null past nginx's off_t. */
function digits(s: string, i: number): [number, number] | null {
  const from = i;
  while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
  const d = s.slice(from, i).replace(/^0+(?=\d)/, '');
  if (d.length > MAX_OFF.length || (d.length === MAX_OFF.length && d > MAX_OFF)) return null;
  return [Number(d), i];
}

function spaces(s: string, i: number): number {
  while (s.charCodeAt(i) === 0x20) i++;
  return i;
}

/**
 * The byte-range-set after "bytes=", as nginx's ngx_http_range_parse reads it: flat [start, end)
 * pairs clipped to len, in the order asked; 416 for bad syntax (a letter, no hyphen, no comma
 * between ranges, an empty element) or when none is satisfiable; 200 (the whole body) when more
 * than `max` ranges are asked, when a range starts at 0 of an empty body, or when the ranges add
 * up to more bytes than the body has (overlapping ranges asked to multiply the output).
 */
export function parseRanges(spec: string, len: number, max = Infinity): number[] | RangeAnswer {
  const out: number[] = [];
  let total = 0;
  let left = max;
  let i = 0;
  for (;;) {
    let start = 0;
    let end: number;
    i = spaces(spec, i);
    if (spec.charCodeAt(i) !== 0x2d /* - */) {
      const a = digits(spec, i);
      if (a === null || a[1] === i) return 416;
      start = a[0];
      i = spaces(spec, a[1]);
      if (spec.charCodeAt(i++) !== 0x2d) return 416;
      i = spaces(spec, i);
      if (i >= spec.length || spec.charCodeAt(i) === 0x2c /* , */) {
        end = len;
      } else {
        const b = digits(spec, i);
        if (b === null || b[1] === i) return 416;
        i = spaces(spec, b[1]);
        if (i < spec.length && spec.charCodeAt(i) !== 0x2c) return 416;
        end = b[0] >= len ? len : b[0] + 1;
      }
    } else {
      i++;
      const b = digits(spec, i);
      if (b === null || b[1] === i) return 416;
      i = spaces(spec, b[1]);
      if (i < spec.length && spec.charCodeAt(i) !== 0x2c) return 416;
      start = b[0] < len ? len - b[0] : 0;
      end = len;
    }
    if (start < end) {
      out.push(start, end);
      total += end - start;
      if (left-- === 0) return 200;
    } else if (start === 0) {
      return 200;
    }
    if (spec.charCodeAt(i++) !== 0x2c) break;
  }
  if (out.length === 0) return 416;
  if (total > len) return 200;
  return out;
}

function ifRangeMatches(r: FilterRequest, v: string): boolean {
  const h = r.headersOut;
  // nginx: a value ending in '"' is an entity tag, compared byte for byte (a weak one too)
  if (v.length >= 2 && v.endsWith('"')) return h.etag !== null && v === h.etag;
  const t = Date.parse(v);
  return !Number.isNaN(t) && h.lastModified >= 0 && Math.floor(h.lastModified / 1000) * 1000 === t;
}
