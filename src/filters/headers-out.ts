// cf. ngx_http_request.h (ngx_http_headers_out_t)
//
// Response headers. The ones filters reason about are typed fields (like nginx's content_length_n
// or last_modified_time); the rest is an ordered list of name/value pairs. Names keep the case
// they were given; lookups are case-insensitive through the lower-cased `keys`.
//
// A name must be a token and a value must hold no control character: both are refused here,
// where a handler or a directive gives them (a clear error at the call that made them), and
// checked again where the head is serialised (src/filters/header.ts).

import { FV_UTF8, checkFieldName, checkFieldValue } from '../core/field.js';

/**
 * What the arrays of other headers are until one is added: one empty array for every response,
 * frozen, so a caller that pushed into it past set()/add() would fail, not leak the header into
 * every other response.
 */
const NONE: string[] = Object.freeze([]) as unknown as string[];

export class HeadersOut {
  status: number;
  /** Overrides the reason phrase of the status line. */
  statusLine: string | null;
  contentType: string | null;
  /** -1 when unknown (the chunked filter then frames the body). */
  contentLength: number;
  /** ms since the epoch, -1 when absent. */
  lastModified: number;
  etag: string | null;
  location: string | null;
  /** The Location is a header passed through as it came (an upstream's, no proxyRedirect rule
   *  matched): never made absolute, as nginx's r->headers_out.location is not set for it. */
  locationAsIs: boolean;
  /** The Content-Type is as the response came (an upstream's, none included): defaultType is
   *  not added, as nginx sets it only for what it serves itself. */
  typeAsIs: boolean;
  contentEncoding: string | null;
  /** Other headers, in order; `keys` holds the lower-cased names. Add through set()/add(): until
   *  the first one the three are a shared frozen empty array. */
  names: string[];
  keys: string[];
  values: string[];
  /** Some value holds characters above U+007F: the head goes out as UTF-8, not latin1. */
  utf8: boolean;

  constructor() {
    this.status = 0;
    this.statusLine = null;
    this.contentType = null;
    this.contentLength = -1;
    this.lastModified = -1;
    this.etag = null;
    this.location = null;
    this.locationAsIs = false;
    this.typeAsIs = false;
    this.contentEncoding = null;
    // (most responses add no other header: the three arrays are made at the first one)
    this.names = NONE;
    this.keys = NONE;
    this.values = NONE;
    this.utf8 = false;
  }

  /** The arrays of other headers, made before the first is added. */
  private own(): void {
    if (this.names === NONE) {
      this.names = [];
      this.keys = [];
      this.values = [];
    }
  }

  /** Set a header, replacing every previous value; null or undefined removes it. */
  set(name: string, value: string | number | readonly (string | number)[] | null | undefined): void {
    const key = normalizeKey(name);
    if (this.setKnown(key, value)) return;
    this.removeKey(key);
    if (value === null || value === undefined) return;
    const n = displayName(name);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) this.push(n, key, String(value[i]));
    } else {
      this.push(n, key, String(value));
    }
  }

  /**
   * set() for a header of our own whose name, lower-case key and value are constants known to be
   * valid (Accept-Ranges: bytes on every file): no name to normalise, nothing to check. Not for
   * anything a handler or a directive gives, and not for the typed fields.
   */
  setConstant(name: string, key: string, value: string): void {
    if (this.keys.length > 0) this.removeKey(key);
    this.own();
    this.names.push(name);
    this.keys.push(key);
    this.values.push(value);
  }

  /** Add one more value (a repeated header such as Set-Cookie). */
  add(name: string, value: string | number): void {
    const key = normalizeKey(name);
    if (this.setKnown(key, value)) return;
    this.push(displayName(name), key, String(value));
  }

  /** The value, an array for a repeated header, or undefined. */
  get(name: string): string | string[] | undefined {
    const key = normalizeKey(name);
    switch (key) {
      case 'content-type': return this.contentType ?? undefined;
      case 'content-length': return this.contentLength >= 0 ? String(this.contentLength) : undefined;
      case 'last-modified': return this.lastModified >= 0 ? new Date(this.lastModified).toUTCString() : undefined;
      case 'etag': return this.etag ?? undefined;
      case 'location': return this.location ?? undefined;
      case 'content-encoding': return this.contentEncoding ?? undefined;
    }
    let first: string | undefined;
    let all: string[] | undefined;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] !== key) continue;
      if (first === undefined) first = this.values[i];
      else (all ??= [first]).push(this.values[i]);
    }
    return all ?? first;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  remove(name: string): void {
    const key = normalizeKey(name);
    if (!this.setKnown(key, null)) this.removeKey(key);
  }

  /** Every header as [name, value] pairs, typed fields included (for captures and tests). */
  entries(): [string, string][] {
    const out: [string, string][] = [];
    if (this.contentType !== null) out.push(['Content-Type', this.contentType]);
    if (this.contentLength >= 0) out.push(['Content-Length', String(this.contentLength)]);
    if (this.lastModified >= 0) out.push(['Last-Modified', new Date(this.lastModified).toUTCString()]);
    if (this.etag !== null) out.push(['ETag', this.etag]);
    if (this.location !== null) out.push(['Location', this.location]);
    if (this.contentEncoding !== null) out.push(['Content-Encoding', this.contentEncoding]);
    for (let i = 0; i < this.names.length; i++) out.push([this.names[i], this.values[i]]);
    return out;
  }

  /** Forget everything (an error page replaces the response). */
  reset(): void {
    this.status = 0;
    this.statusLine = null;
    this.contentType = null;
    this.contentLength = -1;
    this.lastModified = -1;
    this.etag = null;
    this.location = null;
    this.locationAsIs = false;
    this.typeAsIs = false;
    this.contentEncoding = null;
    this.names = NONE;
    this.keys = NONE;
    this.values = NONE;
    this.utf8 = false;
  }

  private push(name: string, key: string, value: string): void {
    checkFieldName(name, 'response header');
    if (checkFieldValue(name, value, 'response header') === FV_UTF8) this.utf8 = true;
    this.own();
    this.names.push(name);
    this.keys.push(key);
    this.values.push(value);
  }

  private removeKey(key: string): void {
    if (this.keys === NONE) return;
    let j = 0;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] === key) continue;
      this.names[j] = this.names[i];
      this.keys[j] = this.keys[i];
      this.values[j] = this.values[i];
      j++;
    }
    this.names.length = j;
    this.keys.length = j;
    this.values.length = j;
  }

  private setKnown(key: string, value: unknown): boolean {
    const v = Array.isArray(value) ? value[value.length - 1] : value;
    switch (key) {
      case 'content-type': case 'content-length': case 'last-modified': case 'etag': case 'location': case 'content-encoding': break;
      default: return false;
    }
    const s = v === null || v === undefined ? null : String(v);
    if (s !== null && checkFieldValue(key, s, 'response header') === FV_UTF8) this.utf8 = true;
    switch (key) {
      case 'content-type': this.contentType = s; return true;
      case 'content-length': {
        if (s === null) { this.contentLength = -1; return true; }
        if (!/^\d{1,15}$/.test(s)) throw new TypeError(`invalid Content-Length "${s}"`);
        this.contentLength = Number(s);
        return true;
      }
      case 'last-modified': {
        if (s === null) { this.lastModified = -1; return true; }
        const t = typeof v === 'number' ? v : Date.parse(s);
        this.lastModified = Number.isFinite(t) ? t : -1;
        return true;
      }
      case 'etag': this.etag = s; return true;
      case 'location': this.location = s; return true;
      case 'content-encoding': this.contentEncoding = s; return true;
    }
    return false;
  }
}

/** nginx's ngx_http_weak_etag: a strong entity tag becomes weak; one that is not quoted goes. */
export function weakEtag(h: HeadersOut): void {
  const e = h.etag;
  if (e === null || (e.length > 2 && e.startsWith('W/'))) return;
  h.etag = e.startsWith('"') ? 'W/' + e : null;
}

/** OpenResty's ngx.header accepts `content_type` for `Content-Type`. */
function normalizeKey(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

function displayName(name: string): string {
  return name.indexOf('_') >= 0 ? name.replace(/_/g, '-') : name;
}
