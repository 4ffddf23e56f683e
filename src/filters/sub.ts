// cf. ngx_http_sub_filter_module.c — sub_filter: replaces strings in a response body, matched
// case-insensitively (ASCII), on bufs as they stream past.
//
// The search runs over the bytes held from the previous bufs followed by the new ones, so a match
// split across bufs is found. Only the tail where some pattern's beginning matches (a possible
// match waiting for more bytes) is held back, as a copy; everything else goes down as windows onto
// the bufs that came in, with the replacements between them. At the last buf what is held goes
// down as it is (nginx does the same: a pattern still incomplete at the end is not a match).
//
// Candidates are found as nginx finds them: a Horspool-style skip over the first `min` bytes of
// all patterns (min = the shortest pattern's length), the patterns sorted (stably) by their byte
// at min-1; at the leftmost position where one matches, the first in that order wins, and a
// pattern still incomplete there holds the scan until it is decided.

import { Buf, Chain, ChainOut, B_FLUSH, B_LAST_BUF, B_LAST_IN_CHAIN, B_MEMORY } from '../core/buf.js';
import { BodyFilter, HeaderFilter, allocCtxSlot, type FilterRequest } from './filter.js';
import { weakEtag } from './headers-out.js';

const SLOT = allocCtxSlot();

/** One sub_filter pair as configured: the search string and the replacement (either may hold $variables). */
export interface SubPair {
  readonly match: string;
  readonly value: string;
}

/** sub_filter as resolved: the pairs and, when no search string has variables, their tables. */
export interface SubFilters {
  readonly pairs: readonly SubPair[];
  readonly table: SubTable | null;
}

const lower = new Uint8Array(256);
for (let i = 0; i < 256; i++) lower[i] = i >= 0x41 && i <= 0x5a ? i + 0x20 : i;

/** ASCII lower case, byte by byte (ngx_strlow): other bytes are left as they are. */
function lowerBytes(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  for (let i = 0; i < b.length; i++) b[i] = lower[b[i]];
  return b;
}

/** The search tables (ngx_http_sub_tables_t): patterns sorted, skip and index by byte. */
export class SubTable {
  /** Lower-cased search strings, sorted (stably) by their byte at min-1. */
  readonly matches: Buffer[];
  /** The replacement of each, as configured ($variables not yet expanded). */
  readonly values: string[];
  /** Replacements without variables, encoded once; null where a value has variables. */
  readonly fixed: (Buffer | null)[];
  readonly min: number;
  readonly max: number;
  /** How far the scan may move when this byte is at a candidate's position min-1. */
  readonly shift: Uint16Array;
  /** Patterns whose byte at min-1 is c are matches[index[c] .. index[c + 1]). */
  readonly index: Uint16Array;

  constructor(matches: readonly Buffer[], values: readonly string[]) {
    let min = matches[0].length;
    let max = min;
    for (const m of matches) { if (m.length < min) min = m.length; if (m.length > max) max = m.length; }
    const order = matches.map((_m, i) => i).sort((a, b) => matches[a][min - 1] - matches[b][min - 1]);
    this.matches = order.map((i) => matches[i]);
    this.values = order.map((i) => values[i]);
    this.fixed = this.values.map((v) => (v.indexOf('$') < 0 ? Buffer.from(v, 'utf8') : null));
    this.min = min;
    this.max = max;
    this.shift = new Uint16Array(256).fill(min);
    for (const m of this.matches) {
      for (let j = 0; j < min; j++) {
        const c = m[min - 1 - j];
        if (j < this.shift[c]) this.shift[c] = j;
      }
    }
    this.index = new Uint16Array(257);
    let k = 0;
    for (let c = 0; c < 257; c++) {
      while (k < this.matches.length && this.matches[k][min - 1] < c) k++;
      this.index[c] = k;
    }
  }
}

/** Builds the tables of pairs whose search strings have no variables (at load). */
export function subTable(pairs: readonly SubPair[]): SubTable | null {
  if (pairs.some((p) => p.match.indexOf('$') >= 0)) return null;
  return new SubTable(pairs.map((p) => lowerBytes(p.match)), pairs.map((p) => p.value));
}

const MATCH = 0;
const PARTIAL = 1;
const NO = 2;

class SubCtx {
  readonly table: SubTable;
  /** Replacements, expanded at their first use (as nginx evaluates each once per request). */
  readonly subs: (Buffer | null)[];
  /** sub_filter_once: which patterns have been replaced. */
  readonly used: Uint8Array;
  applied: number;
  /** Every pattern has been replaced once (sub_filter_once): the rest passes untouched. */
  done: boolean;
  /** Bytes held back: a possible match that needs more bytes to be decided (nginx's "looked"). */
  held: Buffer | null;
  /** The buf being scanned, for at(). */
  mem: Buffer | null;
  pos: number;
  constructor(table: SubTable) {
    this.table = table;
    this.subs = new Array<Buffer | null>(table.matches.length).fill(null);
    this.used = new Uint8Array(table.matches.length);
    this.applied = 0;
    this.done = false;
    this.held = null;
    this.mem = null;
    this.pos = 0;
  }
}

/** sub_filter_types: the MIME type (parameters aside) is listed, text/html always; '*' any. */
export function typeListed(types: ReadonlySet<string>, ct: string | null): boolean {
  if (types.has('*')) return true;
  if (ct === null || ct === '') return false;
  const semi = ct.indexOf(';');
  const mime = (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  return mime === 'text/html' || types.has(mime);
}

export class SubHeaderFilter extends HeaderFilter {
  readonly name = 'sub';

  header(r: FilterRequest): number {
    const conf = r.conf;
    const sf = conf.subFilter;
    const h = r.headersOut;
    if (sf === null || h.contentLength === 0 || !typeListed(conf.subFilterTypes, h.contentType)) {
      return this.next!.header(r);
    }
    let table = sf.table;
    if (table === null) {
      // search strings with variables: this request's values, empty ones left out
      const matches: Buffer[] = [];
      const values: string[] = [];
      for (const p of sf.pairs) {
        const m = lowerBytes(p.match.indexOf('$') < 0 ? p.match : r.expand(p.match));
        if (m.length === 0) continue;
        matches.push(m);
        values.push(p.value);
      }
      if (matches.length === 0) return this.next!.header(r);
      table = new SubTable(matches, values);
    }
    r.filterCtx[SLOT] = new SubCtx(table);
    r.filterNeedInMemory = true;
    if (r === r.main) {
      h.contentLength = -1;
      if (!conf.subFilterLastModified) {
        h.lastModified = -1;
        h.etag = null;
      } else {
        weakEtag(h);
      }
    }
    return this.next!.header(r);
  }
}

export class SubBodyFilter extends BodyFilter {
  readonly name = 'sub';

  body(r: FilterRequest, cl: Chain | null): number {
    const ctx = r.filterCtx[SLOT] as SubCtx | undefined;
    if (ctx === undefined || cl === null || (ctx.done && ctx.held === null)) return this.next!.body(r, cl);

    const out = new ChainOut();
    for (let c: Chain | null = cl; c !== null; c = c.next) {
      const b = c.buf;
      const flags = b.flags;
      if (b.size() > 0) {
        if ((flags & B_MEMORY) === 0) throw new Error('sub filter: a file buf reached it (copy filter missing?)');
        if (b.text !== null) b.view(); // a latin1 string buf: its bytes, once
        scan(r, ctx, b, out);
      }
      const end = flags & (B_LAST_BUF | B_LAST_IN_CHAIN | B_FLUSH);
      if ((end & (B_LAST_BUF | B_LAST_IN_CHAIN)) !== 0 && ctx.held !== null) {
        // the end: a match still incomplete is not one
        out.push(Buf.memory(ctx.held));
        ctx.held = null;
      }
      if (end !== 0) out.push(Buf.special(end));
    }
    if (out.head === null) return 0;
    return this.next!.body(r, out.head);
  }
}

/** The byte at offset i of held + buf. */
function at(ctx: SubCtx, i: number, held: number): number {
  return i < held ? ctx.held![i] : ctx.mem![ctx.pos + i - held];
}

/** Pattern m at offset s of held + buf (total bytes): MATCH, PARTIAL (ran out of bytes) or NO. */
function matchAt(ctx: SubCtx, m: Buffer, s: number, held: number, total: number): number {
  const n = m.length;
  let i = 0;
  for (; i < n && s + i < total; i++) if (lower[at(ctx, s + i, held)] !== m[i]) return NO;
  return i === n ? MATCH : PARTIAL;
}

/** Emit offsets [a, e) of held + buf: the held part from its copy, the rest as a window onto b. */
function emit(out: ChainOut, ctx: SubCtx, b: Buf, a: number, e: number, held: number): void {
  if (a >= e) return;
  if (a < held) out.push(Buf.memory(ctx.held!, a, Math.min(e, held)));
  if (e > held) {
    const w = new Buf();
    // a window shares its memory with b: no tag, so it is never recycled
    w.mem = b.mem;
    w.pos = b.pos + Math.max(a, held) - held;
    w.last = b.pos + e - held;
    w.flags = B_MEMORY;
    out.push(w);
  }
}

/** Scan one memory buf after what is held; matches replaced, a possible match at the end held. */
function scan(r: FilterRequest, ctx: SubCtx, b: Buf, out: ChainOut): void {
  const t = ctx.table;
  const held = ctx.held === null ? 0 : ctx.held.length;
  const total = held + b.last - b.pos;
  ctx.mem = b.mem;
  ctx.pos = b.pos;
  const min = t.min;
  const once = r.conf.subFilterOnce;
  let from = 0;  // first offset not yet emitted
  let s = 0;     // candidate start
  let hold = -1; // where the held tail begins, if one is held

  scanning:
  while (!ctx.done) {
    if (s + min > total) {
      // fewer than min bytes left: hold from the first place where a pattern may begin
      for (; s < total; s++) {
        for (let k = 0; k < t.matches.length; k++) {
          if (once && ctx.used[k] === 1) continue;
          if (matchAt(ctx, t.matches[k], s, held, total) === PARTIAL) { hold = s; break scanning; }
        }
      }
      break;
    }
    const c = lower[at(ctx, s + min - 1, held)];
    const sh = t.shift[c];
    if (sh > 0) { s += sh; continue; }
    for (let k = t.index[c], j = t.index[c + 1]; k < j; k++) {
      if (once && ctx.used[k] === 1) continue;
      const m = t.matches[k];
      const rc = matchAt(ctx, m, s, held, total);
      if (rc === NO) continue;
      if (rc === PARTIAL) { hold = s; break scanning; }
      emit(out, ctx, b, from, s, held);
      const sub = replacement(r, ctx, k);
      if (sub.length > 0) out.push(Buf.memory(sub));
      from = s = s + m.length;
      if (once) {
        ctx.used[k] = 1;
        if (++ctx.applied === t.matches.length) ctx.done = true;
      }
      continue scanning;
    }
    s++;
  }

  if (hold < 0) {
    emit(out, ctx, b, from, total, held);
    ctx.held = null;
  } else {
    emit(out, ctx, b, from, hold, held);
    // a copy: the buf's memory may be reused once it has gone down
    const keep = Buffer.allocUnsafe(total - hold);
    for (let i = hold; i < total; i++) keep[i - hold] = at(ctx, i, held);
    ctx.held = keep;
  }
  ctx.mem = null;
}

/** Pattern k's replacement, expanded once per request. */
function replacement(r: FilterRequest, ctx: SubCtx, k: number): Buffer {
  let v = ctx.subs[k];
  if (v === null) v = ctx.subs[k] = ctx.table.fixed[k] ?? Buffer.from(r.expand(ctx.table.values[k]), 'utf8');
  return v;
}
