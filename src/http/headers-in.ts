// cf. ngx_http_request.h (ngx_http_headers_in_t) — request headers.
//
// Straight from the parser they are offsets into the head's bytes plus the grammar's known-header
// ids: no string is made until someone asks, and the common headers are found by id, never by
// comparing names. A subrequest or a handler that changes headers turns them into plain arrays.

import {
  H_OTHER, KNOWN_HEADER_NAMES, type MessageHead,
} from './parser/types.js';
import { isTransient } from '../core/read-buffer.js';

const EMPTY = Buffer.alloc(0);
const KNOWN_ID = new Map<string, number>();
for (let i = 1; i < KNOWN_HEADER_NAMES.length; i++) KNOWN_ID.set(KNOWN_HEADER_NAMES[i], i);

/** The H_* id of a lower-case name, H_OTHER when the grammar does not know it. */
export function knownHeaderId(lower: string): number {
  return KNOWN_ID.get(lower) ?? H_OTHER;
}

export class HeadersIn {
  /**
   * Offset form: bytes, 5 ints per field (nameStart, nameEnd, valueStart, valueEnd, id). A plain
   * array of small ints: copying the parser's into one costs a fraction of an Int32Array slice,
   * which past 64 bytes (a head of four fields or more) gets a backing store of its own.
   */
  private buf: Buffer | null;
  private offs: number[] | null;
  /** Array form, made on demand (materialise()). */
  private names: string[] | null;
  private values: string[] | null;
  private ids: number[] | null;
  count: number;
  /** The request ended while its bytes were in the shared read buffer (expire()). */
  private expired: boolean;

  constructor() {
    this.expired = false;
    this.buf = null;
    this.offs = null;
    this.names = null;
    this.values = null;
    this.ids = null;
    this.count = 0;
  }

  /**
   * The bytes may be the shared read buffer's (src/core/read-buffer.ts): keep a copy of the
   * part the fields use, for a request that goes on after the read (the connection calls this
   * when the read is done; clone() before sharing them).
   */
  detach(): void {
    const b = this.buf;
    if (b === null || !isTransient(b)) return;
    const offs = this.offs!;
    const n = this.count * 5;
    if (n === 0) { this.buf = EMPTY; return; }
    let lo = offs[0], hi = offs[3];
    for (let o = 0; o < n; o += 5) {
      if (offs[o] < lo) lo = offs[o];
      if (offs[o + 3] > hi) hi = offs[o + 3];
    }
    const copy = Buffer.allocUnsafe(hi - lo);
    b.copy(copy, 0, lo, hi);
    if (lo !== 0) {
      // (the offsets are this request's own: fromHead copied them)
      for (let o = 0; o < n; o += 5) { offs[o] -= lo; offs[o + 1] -= lo; offs[o + 2] -= lo; offs[o + 3] -= lo; }
    }
    this.buf = copy;
  }

  /**
   * The request is over: bytes still in the shared read buffer are about to be overwritten, so
   * reading them from now on is an error rather than another request's bytes.
   */
  expire(): void {
    const b = this.buf;
    if (b !== null && isTransient(b)) {
      this.buf = null;
      this.offs = null;
      this.names = this.values = null;
      this.ids = null;
      this.count = 0;
      this.expired = true;
    }
  }

  /** Take the parser's head (the offsets are copied; the bytes are shared). */
  static fromHead(h: MessageHead): HeadersIn {
    const hi = new HeadersIn();
    const n = h.headerCount;
    hi.buf = h.buf;
    hi.count = n;
    const m = n * 5;
    const src = h.headers;
    const offs: number[] = new Array(m);
    for (let i = 0; i < m; i++) offs[i] = src[i];
    hi.offs = offs;
    return hi;
  }

  name(i: number): string {
    if (this.names !== null) return this.names[i];
    const o = i * 5;
    return this.buf!.toString("latin1", this.offs![o], this.offs![o + 1]);
  }

  value(i: number): string {
    if (this.values !== null) return this.values[i];
    const o = i * 5;
    return this.buf!.toString("latin1", this.offs![o + 2], this.offs![o + 3]);
  }

  id(i: number): number {
    return this.ids !== null ? this.ids[i] : this.offs![i * 5 + 4];
  }

  /** Index of the first field with a known id, or -1: a scan of a few ints beats an index
   *  built per request (a head has a handful of fields). */
  private indexOf(id: number): number {
    if (this.ids !== null) return this.ids.indexOf(id);
    const offs = this.offs!;
    for (let i = 0, o = 4; i < this.count; i++, o += 5) if (offs[o] === id) return i;
    return -1;
  }

  /** Value of the first field with a known id (H_*), or null. */
  known(id: number): string | null {
    const i = this.indexOf(id);
    return i < 0 ? null : this.value(i);
  }

  /** known() for a caller that may run late: refused once the request has ended, as get() is. */
  first(id: number): string | null {
    if (this.expired) this.gone();
    return this.known(id);
  }

  /** True when a known header (H_*) is present. */
  hasKnown(id: number): boolean {
    return this.indexOf(id) >= 0;
  }

  private gone(): void {
    if (this.expired) throw new Error('request headers read after the request ended (keep what you need while it runs)');
  }

  /** First value of a header (any case), or undefined. */
  get(name: string): string | undefined {
    if (this.expired) this.gone();
    const lower = name.toLowerCase();
    const id = knownHeaderId(lower);
    if (id !== H_OTHER) return this.known(id) ?? undefined;
    for (let i = 0; i < this.count; i++) {
      if (this.id(i) === H_OTHER && this.name(i).toLowerCase() === lower) return this.value(i);
    }
    return undefined;
  }

  /**
   * The values of a header joined with `sep` ($http_NAME), without an array for the usual one
   * value; `lower` is the name in lower case, `id` its known id (H_OTHER when unknown).
   */
  joined(lower: string, id: number, sep: string): string | undefined {
    let out: string | undefined;
    for (let i = 0; i < this.count; i++) {
      if (id !== H_OTHER ? this.id(i) === id : this.id(i) === H_OTHER && this.name(i).toLowerCase() === lower) {
        out = out === undefined ? this.value(i) : out + sep + this.value(i);
      }
    }
    return out;
  }

  /** Every value of a header, in order. */
  getAll(name: string): string[] {
    if (this.expired) this.gone();
    const lower = name.toLowerCase();
    const id = knownHeaderId(lower);
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) {
      if (id !== H_OTHER ? this.id(i) === id : this.id(i) === H_OTHER && this.name(i).toLowerCase() === lower) {
        out.push(this.value(i));
      }
    }
    return out;
  }

  /** ngx.req.get_headers(): lower-case names, repeated headers as arrays. */
  toObject(raw = false): Record<string, string | string[]> {
    if (this.expired) this.gone();
    const o: Record<string, string | string[]> = Object.create(null);
    for (let i = 0; i < this.count; i++) {
      // a name the grammar knows has its lower-case spelling ready; only the others are made
      const id = this.id(i);
      const k = raw ? this.name(i) : id !== H_OTHER ? KNOWN_HEADER_NAMES[id] : this.name(i).toLowerCase();
      const v = this.value(i);
      const prev = o[k];
      if (prev === undefined) o[k] = v;
      else if (typeof prev === 'string') o[k] = [prev, v];
      else prev.push(v);
    }
    return o;
  }

  /** [name, value] pairs in order, names as the client wrote them. */
  entries(): [string, string][] {
    if (this.expired) this.gone();
    const out: [string, string][] = [];
    for (let i = 0; i < this.count; i++) out.push([this.name(i), this.value(i)]);
    return out;
  }

  /** A copy that can be changed without touching this one (subrequests). */
  clone(): HeadersIn {
    const c = new HeadersIn();
    this.detach(); // the copy may outlive the read
    if (this.names === null) {
      // the offset form never changes (set() replaces it with arrays): share it, copy on write
      c.buf = this.buf;
      c.offs = this.offs;
      c.count = this.count;
    } else {
      c.materialiseFrom(this);
    }
    return c;
  }

  /** Replace every field of that name (case-insensitive); null removes them (ngx.req.set_header). */
  set(name: string, value: string | readonly string[] | null): void {
    this.materialise();
    const lower = name.toLowerCase();
    const id = knownHeaderId(lower);
    const names = this.names!, values = this.values!, ids = this.ids!;
    let j = 0;
    for (let i = 0; i < this.count; i++) {
      // a known name is matched by its id, only the others by comparing names
      if (id !== H_OTHER ? ids[i] === id : ids[i] === H_OTHER && names[i].toLowerCase() === lower) continue;
      names[j] = names[i]; values[j] = values[i]; ids[j] = ids[i]; j++;
    }
    names.length = values.length = ids.length = j;
    if (value !== null) {
      const list = typeof value === 'string' ? [value] : value;
      for (const v of list) {
        if (/[\r\n\0]/.test(v)) throw new TypeError(`invalid value for header "${name}"`);
        names.push(name); values.push(v); ids.push(id);
      }
    }
    this.count = names.length;
  }

  private materialise(): void {
    if (this.names !== null) return;
    const names: string[] = [], values: string[] = [], ids: number[] = [];
    for (let i = 0; i < this.count; i++) { names.push(this.name(i)); values.push(this.value(i)); ids.push(this.id(i)); }
    this.names = names; this.values = values; this.ids = ids;
    this.buf = null; this.offs = null;
  }

  private materialiseFrom(src: HeadersIn): void {
    const names: string[] = [], values: string[] = [], ids: number[] = [];
    for (let i = 0; i < src.count; i++) { names.push(src.name(i)); values.push(src.value(i)); ids.push(src.id(i)); }
    this.names = names; this.values = values; this.ids = ids;
    this.count = names.length;
  }
}
