// The connection fuzz's generator and model: random HTTP/1.x requests, valid and not, each with
// the answers it may get (nginx's, as docs/lifecycle.md lists them). Everything comes from one
// seeded PRNG, so a seed and a connection number give back the same bytes.

import { createHash } from 'node:crypto';

/** mulberry32: small, fast, good enough to pick bytes; never Math.random. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** 0 .. n-1 */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** a .. b, both included */
  range(a: number, b: number): number {
    return a + this.int(b - a + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** One of the keys, by weight. */
  weighted<K extends string>(w: Readonly<Record<K, number>>): K {
    const keys = Object.keys(w) as K[];
    let total = 0;
    for (const k of keys) total += w[k];
    let x = this.next() * total;
    for (const k of keys) {
      x -= w[k];
      if (x < 0) return k;
    }
    return keys[keys.length - 1];
  }
  str(n: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}

/** The seed of connection `i` of a run: one run's connections are independent of each other. */
export function connectionSeed(seed: number, i: number): number {
  const r = new Rng((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  r.next();
  return (r.next() * 4294967296) >>> 0;
}

/** clientMaxBodySize of the fuzzed server. */
export const MAX_BODY = 2048;

/** What the static location serves, learned once the server is up. */
export interface Site {
  file: Buffer;
  etag: string;
  lastModified: string;
}

/** One answer the model accepts for a request. */
export interface Outcome {
  /** The final status; null: no response at all, the connection just closes. */
  status: number | null;
  /** The exact body, when the model knows it (never for HEAD, 204, 304). */
  body?: Buffer;
  /** The connection after this response. */
  after: 'keep' | 'close' | 'either';
  /** The response itself must say `Connection: close` (the server knew before its header left). */
  sayClose?: boolean;
}

export interface Planned {
  bytes: Buffer;
  /** Where its head ends (bytes before the body). */
  headLen: number;
  /** HEAD: no response to it may have a body. */
  head: boolean;
  /** `100 Continue` before the final response. */
  interim: 'must' | 'no' | 'may';
  outcomes: Outcome[];
  /** What was generated, for the failure report. */
  note: string;
  /** Its framing eats what would follow, or it was cut short: nothing may come after it. */
  last: boolean;
}

export interface Piece {
  data: Buffer;
  /** Before this piece: -1 the same tick as the previous, 0 setImmediate, else ms. */
  delay: number;
}

export interface Pipeline {
  reqs: Planned[];
  /** The client goes away: at the first response byte, or right after sending. Nothing is checked
   * but that the server lives on (no alert in its log) and other connections are untouched. */
  abort: 'first-byte' | 'after-write' | null;
  bytes: Buffer;
  pieces: Piece[];
  /** Half-close (FIN) after the last piece; then every answer ends with the server's close. */
  fin: boolean;
  split: string;
}

/** Counts of what the run exercised, printed at the end. */
export type Coverage = Record<string, number>;

type Loc = 'echo' | 'echoc' | 'ok' | 'nc' | 'static' | 'missing' | 'cond' | 'range';
type Framing = 'none' | 'cl' | 'chunked';
type Kind = 'valid' | 'head-error' | 'body-error' | 'truncated';

const TCHAR = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&\'*+-.^_`|~';
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const UNRESERVED = 'abcdefghijklmnopqrstuvwxyz0123456789-._~';
const ARGCHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%+';
// VCHAR without '"' and '\' keeps JSON simple to read in reports; obs-text comes separately
const VCHAR = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&\'()*+,-./:;<=>?@[]^_`{|}~';
const SMUGGLE = 'GET /ok?smuggled=1 HTTP/1.1\r\nHost: x\r\n\r\n';

const CRLF = '\r\n';

/** A request as generated, before it becomes bytes. */
interface Draft {
  id: string;
  kind: Kind;
  loc: Loc;
  method: string;
  version: '1.0' | '1.1';
  target: string;
  /** What the server must make of the target and Host. */
  uri: string;
  args: string;
  host: string;
  /** Field lines with their terminators ("Name: value\r\n"). */
  lines: string[];
  framing: Framing;
  /** Content-Length as sent (valid ones only). */
  cl: number;
  body: Buffer;
  wire: Buffer;
  keepAlive: boolean;
  expect: boolean;
  xEcho: string | null;
  features: string[];
}

export class Generator {
  readonly rng: Rng;
  readonly site: Site;
  readonly known: ReadonlySet<string>;
  readonly cov: Coverage;
  private conn: number;
  private n: number;

  constructor(seed: number, site: Site, known: ReadonlySet<string>, cov: Coverage, conn: number) {
    this.rng = new Rng(seed);
    this.site = site;
    this.known = known;
    this.cov = cov;
    this.conn = conn;
    this.n = 0;
  }

  private count(name: string): void {
    this.cov[name] = (this.cov[name] ?? 0) + 1;
  }

  /** One connection's worth: requests, the bytes, how they are cut and paced. */
  pipeline(): Pipeline {
    const rng = this.rng;
    if (rng.chance(0.04)) return this.aborted();
    // now and then a flood: more pipelined body bytes than the server queues (64 KiB) before it
    // stops reading the socket
    const flood = rng.chance(0.02);
    const want = flood ? rng.range(35, 60) : Number(rng.weighted({ 1: 3, 2: 4, 3: 4, 4: 3, 5: 2, 6: 1 } as Record<string, number>));
    if (flood) this.count('conn:flood');
    const reqs: Planned[] = [];
    for (let i = 0; i < want; i++) {
      const isLast = i === want - 1;
      const got = this.request(isLast, flood);
      reqs.push(...got);
      if (got[got.length - 1].last) break;
    }
    const bytes = Buffer.concat(reqs.map((q) => q.bytes));
    const definite = reqs.every((q) => q.outcomes.every((o) => o.status !== null && o.after === 'keep'));
    const fin = !definite || rng.chance(0.6);
    const { pieces, split } = this.cut(bytes, reqs);
    this.count(fin ? 'conn:fin' : 'conn:no-fin');
    this.count(`split:${split}`);
    return { reqs, bytes, pieces, fin, split, abort: null };
  }

  /** A client that leaves mid-request or mid-response. */
  private aborted(): Pipeline {
    const rng = this.rng;
    const kinds: Record<string, number> = {
      // a static file bigger than one read: the close comes while a file read is in flight
      'static-big': this.known.has('static-abort-read') ? 0 : 3,
      'echo-partial-body': 2, 'ok-partial-body': 1, 'echo-then-leave': 1, 'half-head': 1,
    };
    const k = rng.weighted(kinds);
    this.count(`abort:${k}`);
    let text: string;
    let abort: Pipeline['abort'] = 'after-write';
    if (k === 'static-big') { text = 'GET /static/big.bin HTTP/1.1\r\nHost: a\r\n\r\n'; abort = 'first-byte'; }
    else if (k === 'echo-partial-body') text = `POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n${'b'.repeat(rng.range(0, 1500))}`;
    else if (k === 'ok-partial-body') text = `POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'b'.repeat(rng.range(0, 500))}`;
    else if (k === 'echo-then-leave') { text = `POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc`; abort = rng.chance(0.5) ? 'first-byte' : 'after-write'; }
    else text = 'GET /echo HTTP/1.1\r\nHost: a\r\nX-Fu';
    const bytes = Buffer.from(text, 'latin1');
    const { pieces, split } = this.cut(bytes, []);
    return { reqs: [], bytes, pieces, fin: false, split, abort };
  }

  private cut(bytes: Buffer, reqs: Planned[]): { pieces: Piece[]; split: string } {
    const rng = this.rng;
    const n = bytes.length;
    const split = n <= 400 && rng.chance(0.08) ? 'bytewise' : rng.weighted({ whole: 15, random: 60, boundary: 25 });
    const points = new Set<number>();
    if (split === 'bytewise') {
      for (let i = 1; i < n; i++) points.add(i);
    } else if (split === 'random') {
      const k = rng.range(1, 8);
      for (let i = 0; i < k; i++) points.add(rng.range(1, n - 1));
    } else if (split === 'boundary') {
      // at, or a byte around, where heads and requests end: where parsers change state
      let at = 0;
      for (const q of reqs) {
        for (const b of [at + q.headLen, at + q.bytes.length]) {
          const p = b + rng.range(-2, 2);
          if (p > 0 && p < n) points.add(p);
        }
        at += q.bytes.length;
      }
    }
    const cuts = [...points].filter((p) => p > 0 && p < n).sort((a, b) => a - b);
    const pieces: Piece[] = [];
    let prev = 0;
    let budget = 30; // ms of delays at most per connection
    for (const p of [...cuts, n]) {
      let delay = -1;
      if (pieces.length > 0) {
        const d = split === 'bytewise' ? rng.pick([-1, -1, 0]) : rng.pick([-1, 0, 0, 1, 2, 3]);
        delay = d > budget ? 0 : d;
        if (delay > 0) budget -= delay;
      }
      pieces.push({ data: bytes.subarray(prev, p), delay });
      prev = p;
    }
    return { pieces, split };
  }

  /** One request (two when a Content-Length too short leaves garbage for the next parse). */
  private request(isLast: boolean, flood: boolean): Planned[] {
    const rng = this.rng;
    let kind: Kind = flood && !isLast ? 'valid' : rng.weighted({ valid: 70, 'head-error': 13, 'body-error': 11, truncated: isLast ? 6 : 0 });
    const d = this.draft(kind, flood && !isLast);
    if (kind === 'head-error') return [this.headError(d)];
    if (kind === 'body-error') {
      const p = this.bodyError(d);
      if (p !== null) return p;
      kind = d.kind = 'valid';
    }
    if (kind === 'truncated') return [this.truncate(d)];
    this.count(`valid:${d.loc}`);
    return [this.plan(d, this.answer(d), false)];
  }

  // ---------------------------------------------------------------- a valid request

  private draft(kind: Kind, flood = false): Draft {
    const rng = this.rng;
    const id = `c${this.conn}r${this.n++}`;
    const loc: Loc = flood ? rng.pick(['echo', 'ok'] as const) : rng.weighted({ echo: 30, echoc: 10, ok: 18, nc: 6, static: 14, missing: 6, cond: 8, range: 6 });
    const version = flood || rng.chance(0.82) ? '1.1' : '1.0';
    let method: string;
    if (flood) method = 'POST';
    else if (loc === 'cond') method = rng.pick(['GET', 'GET', 'HEAD']);
    else if (loc === 'range') method = 'GET';
    else if (loc === 'static' || loc === 'missing') method = rng.weighted({ GET: 10, HEAD: 4, POST: 2, PUT: 1, DELETE: 1, OPTIONS: 1 });
    else method = rng.weighted({ GET: 28, POST: 24, HEAD: 14, PUT: 8, DELETE: 5, PATCH: 6, OPTIONS: 5, PROPFIND: 2, MKCOL: 1, LOCK: 1, TRACE: 1 });

    // target: origin-form (or absolute-form) with a path the model normalises alongside
    let raw: string;
    let uri: string;
    if (loc === 'echo' || loc === 'echoc') {
      ({ raw, uri } = this.path(loc === 'echo' ? '/echo' : '/echoc'));
    } else if (loc === 'ok') {
      raw = uri = rng.chance(0.5) ? '/ok' : `/ok/${rng.str(rng.range(1, 6), ALNUM)}`;
    } else if (loc === 'nc') {
      raw = uri = '/nc';
    } else if (loc === 'missing') {
      raw = uri = `/static/nope-${rng.str(4, ALNUM)}.txt`;
    } else {
      raw = uri = '/static/a.txt';
    }
    let args = '';
    if (rng.chance(0.45)) {
      const pairs: string[] = [];
      for (let i = rng.range(0, 3); i > 0; i--) pairs.push(`${rng.str(rng.range(1, 4), ALNUM)}=${this.argValue()}`);
      args = pairs.join('&');
      raw += '?' + args;
    }
    const hostPick = rng.pick([
      ['localhost', 'localhost'], ['Fuzz.Example', 'fuzz.example'], ['fuzz.example:8080', 'fuzz.example'],
      ['127.0.0.1', '127.0.0.1'], ['a-b.c', 'a-b.c'], ['fuzz.example.', 'fuzz.example'],
    ] as const);
    const withHost = version === '1.1' || rng.chance(0.5);
    let host: string = withHost ? hostPick[1] : '';
    let target = raw;
    if (rng.chance(0.05)) {
      // absolute-form: its host wins over the Host header
      const abs = rng.pick([['Other.Example', 'other.example'], ['other.example:81', 'other.example']] as const);
      target = `http://${abs[0]}${raw}`;
      host = abs[1];
      this.count('target:absolute');
    }

    const lines: string[] = [];
    // OWS: SP only where the value matters (nginx takes a tab as part of the value), SP or HTAB elsewhere
    const hostLine = `${rng.pick(['Host', 'host', 'HOST'])}:${this.sp()}${hostPick[0]}${this.sp()}${CRLF}`;
    const extra: string[] = [];
    extra.push(`X-Fuzz: ${id}${rng.chance(0.3) ? ' ' + rng.str(rng.range(1, 8), VCHAR) : ''}${this.sp()}${CRLF}`);
    let xEcho: string | null = null;
    if (rng.chance(0.3)) {
      // obs-text and inner whitespace: the server hands header values on as latin1
      xEcho = this.fieldValue();
      extra.push(`X-Echo:${this.sp()}${xEcho}${this.sp()}${CRLF}`);
      this.count('header:obs-text');
    }
    for (let i = rng.range(0, 4); i > 0; i--) {
      extra.push(`X-R${rng.str(rng.range(1, 10), TCHAR)}:${this.ows()}${this.fieldValue()}${this.ows()}${CRLF}`);
    }
    if (rng.chance(0.2)) extra.push(`User-Agent: fuzz/${rng.range(1, 9)}${CRLF}`);

    // Connection
    let close = false;
    let kaToken = false;
    const conn = flood ? 'none' : rng.weighted({ none: 62, close: 10, ka: 16, kaClose: 3, fooKa: 4, upgrade: 5 });
    if (conn === 'close') { extra.push(`Connection: ${rng.pick(['close', 'Close', 'CLOSE'])}${CRLF}`); close = true; }
    if (conn === 'ka') { extra.push(`Connection: ${rng.pick(['keep-alive', 'Keep-Alive'])}${CRLF}`); kaToken = true; }
    if (conn === 'kaClose') { extra.push(`Connection: keep-alive, close${CRLF}`); close = true; kaToken = true; }
    if (conn === 'fooKa') { extra.push(`Connection: foo,  Keep-Alive${CRLF}`); kaToken = true; }
    if (conn === 'upgrade') { extra.push(`Connection: Upgrade${CRLF}Upgrade: websocket${CRLF}`); this.count('header:upgrade'); }

    // the body and its framing
    // chunked only in HTTP/1.1: nginx refuses Transfer-Encoding in 1.0 (head-error te-http10)
    const framing: Framing = kind === 'body-error' || flood
      ? (version === '1.1' && rng.chance(0.75) ? 'chunked' : 'cl')
      : rng.weighted({ none: 45, cl: 30, chunked: version === '1.1' ? 25 : 0 });
    let size = 0;
    if (framing !== 'none') {
      const band = flood ? 'big' : kind === 'body-error' ? rng.weighted({ small: 50, mid: 50 })
        : rng.weighted({ zero: 8, small: 40, mid: 35, big: 10, over: 7 });
      size = band === 'zero' ? 0 : band === 'small' ? rng.range(1, 64) : band === 'mid' ? rng.range(65, 1500)
        : band === 'big' ? rng.range(1501, MAX_BODY) : rng.range(MAX_BODY + 1, MAX_BODY + 600);
      // while KNOWN_FAILING lists discard-chunked-413: a discarded chunked body over the limit gets 413 (nginx discards it, no limit)
      if (framing === 'chunked' && size > MAX_BODY && !reads(loc) && this.known.has('discard-chunked-413')) size = MAX_BODY;
      // while it lists error-page-discard-413: the same on the way to a 404/405 page, when the
      // first read holds more than the limit but not the whole body
      const errorPage = loc === 'missing' || (loc === 'static' && method !== 'GET' && method !== 'HEAD');
      if (framing === 'chunked' && size > MAX_BODY && errorPage && this.known.has('error-page-discard-413')) size = MAX_BODY;
    }
    const body = this.bodyBytes(size);
    let wire: Buffer = body;
    let cl = -1;
    if (framing === 'cl') {
      cl = size;
      extra.push(`${rng.pick(['Content-Length', 'content-length', 'CONTENT-LENGTH'])}:${this.sp()}${rng.chance(0.1) ? '00' : ''}${size}${this.sp()}${CRLF}`);
      this.count('body:content-length');
    } else if (framing === 'chunked') {
      extra.push(`${rng.pick(['Transfer-Encoding', 'transfer-encoding'])}:${this.sp()}${rng.pick(['chunked', 'Chunked', 'CHUNKED'])}${this.sp()}${CRLF}`);
      wire = this.chunked(body);
      this.count('body:chunked');
    }
    let expect = rng.chance(0.12);
    // while KNOWN_FAILING lists expect-error-page-close: an error page (404, 405) to a bodiless request with Expect closes the connection
    const errorPage = loc === 'missing' || (loc === 'static' && method !== 'GET' && method !== 'HEAD');
    if (expect && errorPage && size === 0 && this.known.has('expect-error-page-close')) expect = false;
    if (expect) extra.push(`Expect: ${rng.pick(['100-continue', '100-Continue'])}${CRLF}`);

    // Host first or anywhere else
    const hostAt = withHost ? rng.int(extra.length + 1) : -1;
    for (let i = 0; i <= extra.length; i++) {
      if (i === hostAt) lines.push(hostLine);
      if (i < extra.length) lines.push(extra[i]);
    }
    const keepAlive = version === '1.1' ? !close : kaToken && !close;
    const features = [loc, method, `HTTP/${version}`, framing === 'none' ? '' : `${framing}(${size})`, conn === 'none' ? '' : `conn:${conn}`, expect ? 'expect' : ''].filter(Boolean);
    if (method === 'HEAD') this.count('method:HEAD');
    if (expect) this.count('expect:100-continue');
    return { id, kind, loc, method, version, target, uri, args, host, lines, framing, cl, body, wire, keepAlive, expect, xEcho, features };
  }

  private ows(): string {
    return this.rng.pick(['', '', ' ', ' ', '  ', '\t', ' \t']);
  }

  private sp(): string {
    return this.rng.pick(['', '', ' ', '  ']);
  }

  private argValue(): string {
    const rng = this.rng;
    let v = rng.str(rng.range(0, 6), ARGCHARS.replace('%', ''));
    if (rng.chance(0.3)) v += '%' + rng.pick(['41', '2F', '20', 'e9', 'C3%A9']);
    return v;
  }

  /** A field value: VCHAR, inner SP/HTAB, sometimes obs-text; never OWS at either end. */
  private fieldValue(): string {
    const rng = this.rng;
    const n = rng.range(1, 24);
    let s = '';
    for (let i = 0; i < n; i++) {
      const c = rng.int(20);
      if (c === 0 && i > 0 && i < n - 1) s += ' ';
      else if (c === 1 && i > 0 && i < n - 1) s += '\t';
      else if (c === 2) s += String.fromCharCode(rng.range(0x80, 0xff));
      else s += VCHAR[rng.int(VCHAR.length)];
    }
    return s;
  }

  /** A path under `base`: percent-escapes, '//', './' and 'x/../' that the server must resolve. */
  private path(base: string): { raw: string; uri: string } {
    const rng = this.rng;
    let raw = base;
    let uri = base;
    const n = rng.range(0, 4);
    for (let i = 0; i < n; i++) {
      const op = i === n - 1 ? 'plain' : rng.weighted({ plain: 6, double: 1, dot: 1, dotdot: 1 });
      if (op === 'dot') { raw += '/.'; this.count('uri:dot'); continue; }
      if (op === 'dotdot') { raw += `/${this.segment().raw}/..`; this.count('uri:dotdot'); continue; }
      const s = this.segment();
      raw += (op === 'double' ? '//' : '/') + s.raw;
      uri += '/' + s.uri;
      if (op === 'double') this.count('uri:double-slash');
    }
    return { raw, uri };
  }

  private segment(): { raw: string; uri: string } {
    const rng = this.rng;
    let raw = '';
    let uri = '';
    const n = rng.range(1, 8);
    for (let i = 0; i < n; i++) {
      const c = i === 0 ? ALNUM[rng.int(ALNUM.length)] : UNRESERVED[rng.int(UNRESERVED.length)];
      const e = rng.int(14);
      if (e === 0) {
        const hex = c.charCodeAt(0).toString(16);
        raw += '%' + (rng.chance(0.5) ? hex.toUpperCase() : hex);
        uri += c;
        this.count('uri:escape');
      } else if (e === 1) {
        raw += rng.pick(['%20', '%c3%a9', '%E2%82%AC']);
        uri += raw.endsWith('%20') ? ' ' : raw.endsWith('%c3%a9') ? '\u00e9' : '\u20ac';
      } else {
        raw += c;
        uri += c;
      }
    }
    return { raw, uri };
  }

  private bodyBytes(size: number): Buffer {
    const rng = this.rng;
    const kind = rng.weighted({ alnum: 4, binary: 3, smuggle: 2, crlf: 1 });
    const b = Buffer.alloc(size);
    if (kind === 'alnum') {
      for (let i = 0; i < size; i++) b[i] = ALNUM.charCodeAt(rng.int(ALNUM.length));
    } else if (kind === 'binary') {
      for (let i = 0; i < size; i++) b[i] = rng.int(256);
    } else {
      // request-looking and chunk-looking bytes: a body is never parsed as a message
      const unit = kind === 'smuggle' ? SMUGGLE : '0\r\n\r\n\r\n5\r\n';
      for (let i = 0; i < size; i++) b[i] = unit.charCodeAt(i % unit.length);
    }
    if (size > 0) this.count(`body:${kind}`);
    return b;
  }

  /** The chunked form of `body`: random chunk sizes, hex cases, extensions, trailers. */
  private chunked(body: Buffer): Buffer {
    const out: Buffer[] = [];
    for (const c of this.splitBody(body)) out.push(Buffer.from(this.sizeLine(c.length) + CRLF, 'latin1'), c, Buffer.from(CRLF));
    out.push(Buffer.from(this.lastChunk(), 'latin1'));
    return Buffer.concat(out);
  }

  private splitBody(body: Buffer): Buffer[] {
    const rng = this.rng;
    const chunks: Buffer[] = [];
    let p = 0;
    const k = rng.range(1, 6);
    while (p < body.length) {
      const left = body.length - p;
      const n = chunks.length === k - 1 ? left : rng.range(1, Math.max(1, Math.ceil(left / (k - chunks.length))));
      chunks.push(body.subarray(p, p + n));
      p += n;
    }
    return chunks;
  }

  private sizeLine(n: number): string {
    const rng = this.rng;
    let hex = n.toString(16);
    if (rng.chance(0.3)) hex = hex.toUpperCase();
    if (rng.chance(0.1)) hex = '0'.repeat(rng.range(1, 3)) + hex;
    return hex + this.chunkExt();
  }

  private chunkExt(): string {
    const rng = this.rng;
    if (!rng.chance(0.25)) return '';
    this.count('chunk:extension');
    return rng.pick([';a', ';a=b', ';name=value;x', ';q="quoted; v"', ' ; a = b', ';a=' + rng.str(4, ALNUM)]);
  }

  /** "0" [ext] CRLF *(trailer CRLF) CRLF */
  private lastChunk(): string {
    const rng = this.rng;
    let s = rng.pick(['0', '0', '00', '000']) + this.chunkExt() + CRLF;
    for (let i = rng.pick([0, 0, 0, 0, 0, 0, 1, 1, 2]); i > 0; i--) {
      s += `X-Trailer-${rng.range(1, 9)}:${this.ows()}${rng.str(rng.range(1, 8), ALNUM)}${CRLF}`;
      this.count('chunk:trailer');
    }
    return s + CRLF;
  }

  // ---------------------------------------------------------------- the model

  /** What a request whose head and framing are valid gets, from its location. */
  private answer(d: Draft): { outcomes: Outcome[]; interim: Planned['interim'] } {
    const hasBody = d.framing === 'chunked' || d.cl > 0;
    // nginx sends 100 Continue when the body is read or discarded, and not at all when the head
    // already says 413; whether it still makes sense with the body in the same read is the
    // server's call, so the model allows it and checks only where it comes
    const interim = this.interim(d);
    const ka = d.keepAlive;
    const isHead = d.method === 'HEAD';
    if (d.method === 'TRACE') {
      // nginx refuses TRACE before looking for a location
      this.count('status:405');
      return { outcomes: [{ status: 405, after: 'close', sayClose: true }], interim: 'no' };
    }
    if (d.framing === 'cl' && d.cl > MAX_BODY) {
      // client_max_body_size by the declared length, before any handler (and no 100 Continue)
      this.count('status:413');
      return { outcomes: [{ status: 413, after: 'close', sayClose: true }], interim: 'no' };
    }
    if (d.loc === 'echo' || d.loc === 'echoc') {
      if (d.framing === 'chunked' && d.body.length > MAX_BODY) {
        this.count('status:413');
        return { outcomes: [{ status: 413, after: 'close', sayClose: true }], interim };
      }
      const body = echoBody(d, d.loc === 'echoc');
      if (d.loc === 'echoc' && d.version === '1.0') {
        // no length and no chunked in HTTP/1.0: the body ends with the close
        return { outcomes: [isHead ? { status: 200, after: ka ? 'either' : 'close' } : { status: 200, body, after: 'close', sayClose: true }], interim };
      }
      return { outcomes: [{ status: 200, body: isHead ? undefined : body, after: ka ? 'keep' : 'close', sayClose: !ka }], interim };
    }
    // locations that never read the body: they answer at once and the body is discarded; with
    // 100-continue asked and no body read, the server may close instead (nginx sends 100 and reads on)
    const after = !ka ? 'close' : interim !== 'no' && hasBody ? 'either' : 'keep';
    const o = this.plainOutcome(d);
    return { outcomes: [{ ...o, body: isHead ? undefined : o.body, after, sayClose: !ka }], interim };
  }

  private interim(d: Draft): Planned['interim'] {
    return d.expect && d.version === '1.1' && d.method !== 'TRACE' && !(d.framing === 'cl' && d.cl > MAX_BODY) ? 'may' : 'no';
  }

  /** Status and body of a location that does not read the request body. */
  private plainOutcome(d: Draft): { status: number; body?: Buffer } {
    const m = d.method;
    let st: { status: number; body?: Buffer };
    switch (d.loc) {
      case 'ok': st = { status: 200, body: Buffer.from('ok\n') }; break;
      case 'nc': st = { status: 204 }; break;
      case 'static': st = m === 'GET' || m === 'HEAD' ? { status: 200, body: this.site.file } : { status: 405 }; break;
      case 'missing': st = m === 'GET' || m === 'HEAD' || m === 'POST' ? { status: 404 } : { status: 405 }; break;
      case 'cond': st = { status: 304 }; break;
      case 'range': st = { status: 206, body: this.site.file.subarray(10, 100) }; break;
      default: throw new Error(`no plain outcome for ${d.loc}`);
    }
    this.count(`status:${st.status}`);
    return st;
  }

  private plan(d: Draft, a: { outcomes: Outcome[]; interim: Planned['interim'] }, last: boolean): Planned {
    if (d.loc === 'cond') {
      d.lines.splice(this.rng.int(d.lines.length + 1), 0, this.rng.chance(0.5)
        ? `If-None-Match: ${this.site.etag}${CRLF}` : `If-Modified-Since: ${this.site.lastModified}${CRLF}`);
    }
    if (d.loc === 'range') d.lines.push(`Range: bytes=10-99${CRLF}`);
    // empty lines before a request line are skipped (RFC 9112 2.2)
    const lead = this.rng.chance(0.03) ? this.rng.pick([CRLF, CRLF + CRLF]) : '';
    if (lead !== '') this.count('request:leading-crlf');
    const head = Buffer.from(`${lead}${d.method} ${d.target} HTTP/${d.version}${CRLF}${d.lines.join('')}${CRLF}`, 'latin1');
    const bytes = Buffer.concat([head, d.wire]);
    return { bytes, headLen: head.length, head: d.method === 'HEAD', interim: a.interim, outcomes: a.outcomes, note: `${d.kind} ${d.features.join(' ')}`, last };
  }

  // ---------------------------------------------------------------- invalid heads

  private headError(d: Draft): Planned {
    const rng = this.rng;
    // while a HEAD request's error page is known to carry a body, invalid heads use another method
    if (d.method === 'HEAD' && this.known.has('head-error-body')) d.method = 'GET';
    const kinds: Record<string, number> = {
      'header-name': 10, 'ctl-in-value': 6, 'obs-fold': 5, 'bare-lf': 6, 'bare-cr': 3, 'missing-host': d.version === '1.1' ? 5 : 0,
      'dup-host': 4, 'bad-host': 4, 'bad-cl': 8, 'dup-cl': 5, 'cl-te': 8, 'te-unknown': 6,
      'te-coded': 5, 'te-two-lines': 3, 'te-tab': 2, 'te-http10': 4, 'unknown-method': 5, 'bad-method': 3,
      'bad-version': 5, 'bad-target': 5, 'long-uri': 1, 'long-header': 1, 'many-headers': 1, 'space-first-line': 2,
    };
    const k = rng.weighted(kinds);
    let status = 400;
    let alt = 0;
    const at = () => rng.int(d.lines.length + 1);
    const insert = (line: string) => d.lines.splice(at(), 0, line);
    let reqLine: string | null = null;
    let methodKnown = true;
    switch (k) {
      case 'header-name': insert(rng.pick(['Bad Header: x', 'X-A : b', ': v', 'NoColon', 'X(y): z', 'X-A\t: b']) + CRLF); break;
      case 'ctl-in-value': insert(`X-C: a${rng.pick(['\x01', '\x00', '\x7f', '\x1b', '\x0b'])}b${CRLF}`); break;
      case 'obs-fold': insert(`X-F: a${CRLF}${rng.pick([' ', '\t'])}b${CRLF}`); break;
      case 'bare-lf': {
        if (d.lines.length === 0 || rng.chance(0.3)) reqLine = `${d.method} ${d.target} HTTP/${d.version}\n`;
        else { const i = rng.int(d.lines.length); d.lines[i] = d.lines[i].slice(0, -2) + '\n'; }
        break;
      }
      case 'bare-cr': insert(`X-Cr: a\rb${CRLF}`); break;
      case 'missing-host': d.lines = d.lines.filter((l) => !/^host:/i.test(l)); break;
      case 'dup-host': {
        if (!d.lines.some((l) => /^host:/i.test(l))) insert(`Host: a${CRLF}`);
        insert(`Host: ${rng.pick(['other.example', 'localhost'])}${CRLF}`);
        break;
      }
      case 'bad-host': {
        // while KNOWN_FAILING lists absolute-form-bad-host: with an absolute-form target only the parser's check of Host applies
        const lax = d.target.startsWith('http://') && this.known.has('absolute-form-bad-host');
        d.lines = d.lines.filter((l) => !/^host:/i.test(l));
        insert(`Host: ${rng.pick(lax ? ['a/b', 'a b', 'a\\b', 'a@b', 'a?b'] : ['a/b', 'a b', 'a\\b', 'a@b', '..', 'a..b', 'a?b'])}${CRLF}`);
        break;
      }
      case 'bad-cl': insert(`Content-Length: ${rng.pick(['+3', '-1', '3, 3', '0x3', '3a', '', '1 2', '99999999999999999999', '3.0'])}${CRLF}`); break;
      case 'dup-cl': { const n = rng.range(0, 5); insert(`Content-Length: ${n}${CRLF}`); insert(`Content-Length: ${rng.chance(0.5) ? n : n + 1}${CRLF}`); break; }
      case 'cl-te': insert(`Content-Length: ${rng.range(0, 20)}${CRLF}`); insert(`Transfer-Encoding: chunked${CRLF}`); break;
      // Transfer-Encoding as nginx 1.22 takes it (test/http/framing.test.ts): one line, exactly
      // "chunked" with SP around, else 501; two lines 400; any in HTTP/1.0 400; before Content-Length
      case 'te-unknown': dropTe(d); insert(`Transfer-Encoding: ${rng.pick(['gzip', 'identity', 'chunked, gzip', 'foo', 'chunked;q=1', ''])}${CRLF}`); status = d.version === '1.1' ? 501 : 400; break;
      case 'te-coded': dropTe(d); insert(`Transfer-Encoding: ${rng.pick(['gzip, chunked', 'chunked, chunked', 'identity, chunked', 'deflate,chunked'])}${CRLF}`); status = d.version === '1.1' ? 501 : 400; break;
      case 'te-two-lines': dropTe(d); insert(`Transfer-Encoding: ${rng.pick(['chunked', 'gzip'])}${CRLF}`); insert(`Transfer-Encoding: chunked${CRLF}`); alt = 501; break; // 501 when the first line is gzip (a deliberate difference: nginx says 400)
      case 'te-tab': dropTe(d); insert(`Transfer-Encoding:${rng.pick(['\tchunked', 'chunked\t', ' \tchunked'])}${CRLF}`); status = d.version === '1.1' ? 501 : 400; break;
      case 'te-http10': dropTe(d); d.version = '1.0'; insert(`Transfer-Encoding: ${rng.pick(['chunked', 'gzip'])}${CRLF}`); break;
      case 'unknown-method': d.method = rng.pick(['FOO', 'get', 'Get', 'BREW', 'POSTX']); status = 501; methodKnown = false; break;
      case 'bad-method': d.method = rng.pick(['G@T', 'GE{T', 'GET\x01']); methodKnown = false; break;
      case 'bad-version': {
        const v = rng.pick(['HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/3.0', 'http/1.1', 'HTTP/1', 'HTTP/1.1x', 'HTTP/11']);
        reqLine = `${d.method} ${d.target} ${v}${CRLF}`;
        // a well-formed other version is 505; a malformed one 400 in nginx, 505 is as fine
        status = /^HTTP\/\d\.\d$/.test(v) ? 505 : 400;
        if (status === 400 && v.startsWith('HTTP/')) alt = 505;
        break;
      }
      case 'bad-target': {
        const t = rng.pick(['/a b', 'echo', '/a\x01b', '/%zz', '/%00', '/../x', '//../x', '/a\x7f']);
        reqLine = `${d.method} ${t} HTTP/${d.version}${CRLF}`;
        break;
      }
      case 'long-uri': reqLine = `${d.method} /echo/${'a'.repeat(8300)} HTTP/${d.version}${CRLF}`; status = 414; break;
      case 'long-header': insert(`X-Long: ${'b'.repeat(8300)}${CRLF}`); status = 431; break;
      case 'many-headers': for (let i = rng.range(101, 110); i > 0; i--) insert(`X-M${i}: v${CRLF}`); status = 431; break;
      case 'space-first-line': d.lines.unshift(` X-Sp: v${CRLF}`); break;
    }
    const line = reqLine ?? `${d.method} ${d.target} HTTP/${d.version}${CRLF}`;
    const headBytes = Buffer.from(line + d.lines.join('') + CRLF, 'latin1');
    const bytes = Buffer.concat([headBytes, d.wire]);
    this.count(`head-error:${k}`);
    this.count(`status:${status}`);
    const outcomes: Outcome[] = [{ status, after: 'close', sayClose: true }];
    // nginx answers 501 to a transfer coding it does not apply; 400 is as safe
    if (k === 'te-coded') outcomes.push({ status: 400, after: 'close', sayClose: true });
    if (alt !== 0) outcomes.push({ status: alt, after: 'close', sayClose: true });
    // which refusal comes first is not a property worth pinning: TRACE may be refused before the rest
    if (d.method === 'TRACE' && status !== 405) outcomes.push({ status: 405, after: 'close', sayClose: true });
    return {
      bytes, headLen: headBytes.length, head: methodKnown && d.method === 'HEAD', interim: 'no', outcomes,
      note: `head-error:${k} ${d.features.join(' ')}`, last: false,
    };
  }

  // ---------------------------------------------------------------- invalid bodies

  /** Break the framing of the body; null when this draft has nothing to break. */
  private bodyError(d: Draft): Planned[] | null {
    const rng = this.rng;
    if (d.framing === 'cl' && d.cl > 0 && d.cl <= MAX_BODY) {
      // more bytes than Content-Length: the rest is the next "request", and it is garbage
      const junk = Buffer.from('@' + rng.str(rng.range(0, 10), ALNUM) + CRLF + CRLF, 'latin1');
      const first = this.plan(d, this.answer(d), false);
      first.note = `valid(cl-too-long) ${d.features.join(' ')}`;
      this.count('body-error:cl-too-long');
      this.count(`valid:${d.loc}`);
      return [first, {
        bytes: junk, headLen: junk.length, head: false, interim: 'no', outcomes: [{ status: 400, after: 'close', sayClose: true }],
        note: 'garbage after a Content-Length body', last: false,
      }];
    }
    if (d.framing !== 'chunked' || d.body.length === 0) return null;
    // the data of a broken chunk has no CR or LF, so where the parser looks for CRLF it finds none
    const parts = this.splitBody(Buffer.from(d.body.map((c) => ALNUM.charCodeAt(c % ALNUM.length))));
    d.body = Buffer.concat(parts);
    const k = rng.weighted({ 'chunk-size': 5, 'chunk-ext': 3, 'chunk-too-long': 4, 'chunk-too-short': 4, 'trailer': 3, 'last-chunk': 2 });
    const bad = rng.int(parts.length);
    const out: string[] = [];
    let tail = '';
    for (let i = 0; i < parts.length; i++) {
      const data = parts[i].toString('latin1');
      let size = parts[i].length.toString(16);
      if (i !== bad) { out.push(size + CRLF + data + CRLF); continue; }
      if (k === 'chunk-size') size = rng.pick(['zz', size + ' ', '-' + size, '0x' + size, '', '+' + size, '1' + '0'.repeat(16) + size, size + '\t', 'g']);
      else if (k === 'chunk-ext') size += rng.pick([';', ';=a', ';a="x', ';a=b c', ';a=\x01', ';a=', ' ;']);
      else if (k === 'chunk-too-long' && parts[i].length >= 2) size = rng.range(1, parts[i].length - 1).toString(16);
      else if (k === 'chunk-too-long') size = size + 'z';
      out.push(`${size}${CRLF}${data}`);
      tail = CRLF;
      if (k === 'chunk-too-short') out[out.length - 1] = `\u0000${data}`; // size filled in below
    }
    let lastChunk = '0' + CRLF;
    if (k === 'trailer') lastChunk += rng.pick(['bad trailer', 'X-T : v', 'NoColon', 'X-T: a\x01']) + CRLF;
    if (k === 'last-chunk') lastChunk = rng.pick(['0 ', '0x', 'O', '0;', '0\n']) + CRLF;
    let wire = '';
    for (let i = 0; i < out.length; i++) wire += out[i] + (i === bad ? tail : '');
    wire += lastChunk + CRLF;
    if (k === 'chunk-too-short') {
      // declared = actual + e: the parser reads e bytes past the data, then wants CRLF there
      const at = wire.indexOf('\u0000');
      const afterData = at + 1 + parts[bad].length;
      const own = wire.slice(afterData);
      const choices: number[] = [];
      for (let e = 1; e <= own.length - 2; e++) if (own.slice(e, e + 2) !== CRLF) choices.push(e);
      const e = choices.length > 0 ? rng.pick(choices) : -1;
      if (e < 0) return null;
      wire = wire.slice(0, at) + (parts[bad].length + e).toString(16) + CRLF + wire.slice(at + 1);
    }
    d.wire = Buffer.from(wire, 'latin1');
    this.count(`body-error:${k}`);
    const isHead = d.method === 'HEAD';
    let a: { outcomes: Outcome[]; interim: Planned['interim'] };
    if (d.method === 'TRACE') {
      a = this.answer(d);
    } else if (d.loc === 'echo' || d.loc === 'echoc') {
      this.count('status:400');
      a = { outcomes: [{ status: 400, after: 'close', sayClose: true }], interim: this.interim(d) };
    } else {
      // a location that does not read the body answers from the head, and the broken body then
      // ends the connection; or, as nginx when the bad bytes are already in its buffer, 400
      const o = this.plainOutcome(d);
      a = {
        outcomes: [{ ...o, body: isHead ? undefined : o.body, after: 'close', sayClose: !d.keepAlive }, { status: 400, after: 'close', sayClose: true }],
        interim: this.interim(d),
      };
    }
    const p = this.plan(d, a, false);
    p.note = `body-error:${k}(chunk ${bad}) ${d.features.join(' ')}`;
    return [p];
  }

  // ---------------------------------------------------------------- cut short

  /** The last request, cut at a random byte, then FIN. */
  private truncate(d: Draft): Planned {
    const rng = this.rng;
    const full = this.plan(d, { outcomes: [], interim: 'no' }, true);
    const cutAt = rng.range(1, full.bytes.length - 1);
    full.bytes = full.bytes.subarray(0, cutAt);
    const inHead = cutAt < full.headLen;
    full.headLen = Math.min(full.headLen, cutAt);
    this.count(inHead ? 'truncated:head' : 'truncated:body');
    full.note = `truncated:${inHead ? 'head' : 'body'}@${cutAt} ${d.features.join(' ')}`;
    if (inHead) {
      // nginx closes without an answer ("client prematurely closed connection"); 400 is as fine
      full.outcomes = [{ status: null, after: 'close' }, { status: 400, after: 'close' }];
      return full;
    }
    const a = this.answer(d);
    if (a.outcomes.some((o) => o.status === 413 && o.sayClose) && d.framing === 'cl') {
      full.outcomes = a.outcomes;
      full.interim = a.interim;
      return full;
    }
    if ((d.loc === 'echo' || d.loc === 'echoc') && d.method !== 'TRACE') {
      full.outcomes = [{ status: null, after: 'close' }, { status: 400, after: 'close' }];
      if (d.framing === 'chunked' && d.body.length > MAX_BODY) full.outcomes.push({ status: 413, after: 'close' });
      full.interim = this.interim(d);
      return full;
    }
    full.outcomes = a.outcomes.map((o) => ({ ...o, after: 'close' }));
    full.interim = a.interim;
    return full;
  }
}

/** The location reads the request body (the others discard it). */
function reads(loc: Loc): boolean {
  return loc === 'echo' || loc === 'echoc';
}

/** For a Transfer-Encoding error of its own: the draft's chunked line goes. */
function dropTe(d: Draft): void {
  d.lines = d.lines.filter((l) => !/^transfer-encoding:/i.test(l));
}

/** The body /echo and /echoc answer with (the handler in connection.test.ts builds the same). */
export function echoJson(e: { id: string | null; m: string; u: string; a: string; h: string; v: number; x: string | null; l: number; md5: string }): string {
  return JSON.stringify(e);
}

function echoBody(d: Draft, newline: boolean): Buffer {
  const json = echoJson({
    id: d.lines.find((l) => l.startsWith('X-Fuzz:'))!.slice(7).replace(/\r\n$/, '').replace(/^[ \t]+|[ \t]+$/g, ''),
    m: d.method, u: d.uri, a: d.args, h: d.host, v: d.version === '1.1' ? 1001 : 1000, x: d.xEcho,
    l: d.body.length, md5: createHash('md5').update(d.body).digest('hex'),
  });
  return Buffer.from(newline ? json + '\n' : json);
}
