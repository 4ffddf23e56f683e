// cf. lua-nginx-module ngx_http_lua_util.c (ngx_http_lua_escape_uri, ngx_http_lua_unescape_uri,
// ngx_http_lua_process_args_option), ngx_http_lua_args.c (ngx_http_lua_parse_args) and
// ngx_http_lua_consts.c. Strings are UTF-8 encoded before escaping, as Lua strings are bytes.

import { hexValue } from '../core/hex.js';
import * as crypto from 'node:crypto';

const PERCENT = 0x25, PLUS = 0x2b, EQUALS = 0x3d, AMPERSAND = 0x26;

/** crypto.hash (Node >= 20.12): one call into C++, without a Hash object. */
const oneShot = (crypto as { hash?: (alg: string, data: string | Buffer, enc: 'hex') => string }).hash;

/** ngx.md5: the hex MD5 digest (lower case) of a string's UTF-8 bytes or of a Buffer. */
export function md5(s: string | Buffer): string {
  return oneShot !== undefined ? oneShot('md5', s, 'hex') : crypto.createHash('md5').update(s).digest('hex');
}

/* ngx.escape_uri */

/** ngx.escape_uri types (NGX_ESCAPE_*); lua-resty-core accepts 0..6. */
export const ESCAPE_URI = 0, ESCAPE_ARGS = 1, ESCAPE_URI_COMPONENT = 2, ESCAPE_HTML = 3,
  ESCAPE_REFRESH = 4, ESCAPE_MEMCACHED = 5, ESCAPE_MAIL_AUTH = 6;

/** A 256-entry table, 1 = escape: `chars`, plus controls (0x00-0x1f), DEL and 0x80-0xff if asked. */
function escapeSet(chars: string, ctl: boolean, delAndHigh: boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  if (ctl) t.fill(1, 0, 0x20);
  if (delAndHigh) t.fill(1, 0x7f, 256);
  return t;
}

function componentSet(): Uint8Array {
  // RFC 3986 unreserved plus the marks !'()* are kept (lua-nginx-module since 2017, #1124)
  const t = new Uint8Array(256).fill(1);
  const keep = "-._~!'()*";
  for (let c = 0x30; c <= 0x39; c++) t[c] = 0;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 0;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 0;
  for (let i = 0; i < keep.length; i++) t[keep.charCodeAt(i)] = 0;
  return t;
}

const ESCAPE: readonly Uint8Array[] = [
  escapeSet(' #%?', true, true),      // 0 uri
  escapeSet(' #%+?', true, true),     // 1 args
  componentSet(),                     // 2 uri component
  escapeSet(' #"%\'', true, true),    // 3 html
  escapeSet(' "\'', true, true),      // 4 refresh
  escapeSet(' %', true, false),       // 5 memcached
  escapeSet(' %', true, false),       // 6 mail_auth
];

const HEX = '0123456789ABCDEF';

/**
 * ngx.escape_uri(s, type): type 2 (the default) escapes everything but ALPHA, DIGIT and
 * `-._~!'()*`; type 0 escapes only space, `#`, `%`, `?`, controls and bytes >= 0x7f.
 * Upper-case hex. Throws RangeError for a type outside 0..6.
 */
export function escapeUri(s: string | Buffer, type: number = ESCAPE_URI_COMPONENT): string {
  if (typeof type !== 'number') throw new TypeError('"type" is not a number');
  if (!Number.isInteger(type) || type < 0 || type > 6) throw new RangeError(`"type" ${type} out of range`);
  const table = ESCAPE[type];
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  let n = 0;
  for (let i = 0; i < b.length; i++) n += table[b[i]];
  if (n === 0) return typeof s === 'string' ? s : b.toString('utf8');
  const out = Buffer.allocUnsafe(b.length + 2 * n);
  let o = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (table[c] === 1) {
      out[o++] = PERCENT;
      out[o++] = HEX.charCodeAt(c >> 4);
      out[o++] = HEX.charCodeAt(c & 0xf);
    } else {
      out[o++] = c;
    }
  }
  // types 5 and 6 leave bytes >= 0x80 alone, so this may be more than ASCII
  return out.toString('utf8');
}

/* ngx.unescape_uri */


/** Unescapes b[start, end) into out at o; returns the new end of out. */
function unescapeInto(b: Uint8Array, start: number, end: number, out: Uint8Array, o: number): number {
  let i = start;
  while (i < end) {
    const c = b[i++];
    if (c === PERCENT) {
      // a '%' without two hex digits after it stays as it is, and the scan goes on after it
      if (end - i >= 2) {
        const hi = hexValue(b[i]), lo = hexValue(b[i + 1]);
        if (hi >= 0 && lo >= 0) {
          out[o++] = (hi << 4) | lo;
          i += 2;
          continue;
        }
      }
      out[o++] = PERCENT;
    } else if (c === PLUS) {
      out[o++] = 0x20;
    } else {
      out[o++] = c;
    }
  }
  return o;
}

/**
 * ngx.unescape_uri: `%XX` decoded (either case), `+` becomes a space, an invalid escape is
 * kept as it is ("%ua%%20%au" → "%ua% %au"). The bytes are read as UTF-8.
 */
export function unescapeUri(s: string | Buffer): string {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const out = Buffer.allocUnsafe(b.length);
  return out.toString('utf8', 0, unescapeInto(b, 0, b.length, out, 0));
}

/* ngx.encode_args / ngx.decode_args */

export type ArgValue = string | number | boolean | null | undefined;
export type ArgsInput = Readonly<Record<string, ArgValue | readonly ArgValue[]>>;
export type ArgsTable = Record<string, string | true | (string | true)[]>;

/**
 * ngx.encode_args: `{a: 1, 'b r': 'x y'}` → `a=1&b%20r=x%20y`. Keys and values escaped as URI
 * components; an array repeats the key; `true` gives the bare key; `false`, null and undefined
 * (Lua's nil) leave the key out; numbers are written as Lua writes them. Keys come in insertion
 * order (Lua's order is the hash's). Throws TypeError for objects, functions and the like.
 */
export function encodeArgs(args: ArgsInput): string {
  let out = '';
  let first = true;
  for (const key of Object.keys(args)) {
    const v = args[key];
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const pair = encodePair(key, v[i], true);
        if (pair === null) continue;
        out += first ? pair : '&' + pair;
        first = false;
      }
    } else {
      const pair = encodePair(key, v as ArgValue, false);
      if (pair === null) continue;
      out += first ? pair : '&' + pair;
      first = false;
    }
  }
  return out;
}

function encodePair(key: string, v: unknown, inArray: boolean): string | null {
  switch (typeof v) {
    case 'string': return escapeUri(key) + '=' + escapeUri(v);
    case 'number': return escapeUri(key) + '=' + escapeUri(luaNumber(v));
    case 'boolean': return v ? escapeUri(key) : null;
    case 'undefined': if (!inArray) return null; break;
    case 'object': if (v === null && !inArray) return null; break;
  }
  throw new TypeError(`attempt to use ${luaType(v)} as query arg value`);
}

function luaType(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'object') return 'table';
  return typeof v;
}

/** tostring() of a Lua number: "%.14g" (3 → "3", 0.1 + 0.2 → "0.3", 1e15 → "1e+15"). */
export function luaNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const e = n.toExponential(13); // 14 significant digits, rounded
  const x = e.indexOf('e');
  const exp = Number(e.slice(x + 1));
  if (exp < -4 || exp >= 14) {
    const mant = stripZeros(e.slice(0, x));
    const sign = exp < 0 ? '-' : '+';
    const ae = Math.abs(exp);
    return `${mant}e${sign}${ae < 10 ? '0' : ''}${ae}`;
  }
  return stripZeros(n.toFixed(13 - exp));
}

function stripZeros(s: string): string {
  if (s.indexOf('.') < 0) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 0x30) end--;
  if (s.charCodeAt(end - 1) === 0x2e) end--;
  return s.slice(0, end);
}

/**
 * ngx.decode_args: `a=1&b&a=2` → `{a: ['1', '2'], b: true}`. Keys and values are unescaped
 * (`+` is a space); a key without '=' is `true`; pairs with an empty key are skipped; a second
 * '=' belongs to the value. At most `maxArgs` pairs (counted at each '&', skipped ones
 * included, as OpenResty counts) are read; 0 or less means no limit. When the limit cut the
 * input short, `info.truncated` is set (OpenResty's second return value "truncated").
 * The table has no prototype, so any key is safe.
 */
export function decodeArgs(
  s: string | Buffer, maxArgs = 100, info?: { truncated: boolean },
): ArgsTable {
  const t: ArgsTable = Object.create(null);
  if (info !== undefined) info.truncated = false;
  if (typeof s === 'string' && !NEEDS_DECODING.test(s)) return splitArgs(s, t, maxArgs, info);
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const len = b.length;
  if (len === 0) return t;
  const tmp = Buffer.allocUnsafe(len);
  let q = 0;
  let key: string | null = null; // set while reading a value
  let count = 0;
  for (let p = 0; p < len; p++) {
    const c = b[p];
    if (c === EQUALS && key === null) {
      key = tmp.toString('utf8', 0, unescapeInto(b, q, p, tmp, 0));
      q = p + 1;
    } else if (c === AMPERSAND) {
      const seg = tmp.toString('utf8', 0, unescapeInto(b, q, p, tmp, 0));
      q = p + 1;
      if (key !== null) setArg(t, key, seg);
      else setArg(t, seg, true);
      key = null;
      if (maxArgs > 0 && ++count === maxArgs) {
        if (info !== undefined) info.truncated = true;
        return t;
      }
    }
  }
  if (q !== len || key !== null) {
    const seg = tmp.toString('utf8', 0, unescapeInto(b, q, len, tmp, 0));
    if (key !== null) setArg(t, key, seg);
    else setArg(t, seg, true);
  }
  return t;
}

/** What makes a query string more than split work: escapes, '+', bytes beyond ASCII. */
const NEEDS_DECODING = /[%+\u0080-\uffff]/;

/** decodeArgs of an ASCII string with nothing to unescape: split on '&' and '='. */
function splitArgs(s: string, t: ArgsTable, maxArgs: number, info?: { truncated: boolean }): ArgsTable {
  const len = s.length;
  let count = 0;
  for (let q = 0; q < len;) {
    let amp = s.indexOf('&', q);
    if (amp < 0) amp = len;
    if (amp > q) {
      const eq = s.indexOf('=', q);
      if (eq >= 0 && eq < amp) setArg(t, s.slice(q, eq), s.slice(eq + 1, amp));
      else setArg(t, s.slice(q, amp), true);
    }
    if (amp < len && maxArgs > 0 && ++count === maxArgs) {
      if (info !== undefined) info.truncated = true;
      return t;
    }
    q = amp + 1;
  }
  return t;
}

function setArg(t: ArgsTable, key: string, v: string | true): void {
  if (key === '') return;
  const old = t[key];
  if (old === undefined) t[key] = v;
  else if (Array.isArray(old)) old.push(v);
  else t[key] = [old, v];
}

/* constants */

/**
 * Method names under lua-nginx-module's constant names (ngx.HTTP_GET, ...). They are strings,
 * not nginx's bit flags, because they are passed as the `method` option of subrequests and
 * compared with r.method, which holds the method as received.
 */
export const HTTP_GET = 'GET', HTTP_HEAD = 'HEAD', HTTP_PUT = 'PUT', HTTP_POST = 'POST',
  HTTP_DELETE = 'DELETE', HTTP_OPTIONS = 'OPTIONS', HTTP_MKCOL = 'MKCOL', HTTP_COPY = 'COPY',
  HTTP_MOVE = 'MOVE', HTTP_PROPFIND = 'PROPFIND', HTTP_PROPPATCH = 'PROPPATCH',
  HTTP_LOCK = 'LOCK', HTTP_UNLOCK = 'UNLOCK', HTTP_PATCH = 'PATCH', HTTP_TRACE = 'TRACE';

/** Status codes under lua-nginx-module's names (ngx_http_lua_consts.c). */
export const HTTP_CONTINUE = 100, HTTP_SWITCHING_PROTOCOLS = 101,
  HTTP_OK = 200, HTTP_CREATED = 201, HTTP_ACCEPTED = 202, HTTP_NO_CONTENT = 204,
  HTTP_PARTIAL_CONTENT = 206,
  HTTP_SPECIAL_RESPONSE = 300, HTTP_MOVED_PERMANENTLY = 301, HTTP_MOVED_TEMPORARILY = 302,
  HTTP_SEE_OTHER = 303, HTTP_NOT_MODIFIED = 304, HTTP_TEMPORARY_REDIRECT = 307,
  HTTP_PERMANENT_REDIRECT = 308,
  HTTP_BAD_REQUEST = 400, HTTP_UNAUTHORIZED = 401, HTTP_PAYMENT_REQUIRED = 402,
  HTTP_FORBIDDEN = 403, HTTP_NOT_FOUND = 404, HTTP_NOT_ALLOWED = 405, HTTP_NOT_ACCEPTABLE = 406,
  HTTP_REQUEST_TIMEOUT = 408, HTTP_CONFLICT = 409, HTTP_GONE = 410, HTTP_UPGRADE_REQUIRED = 426,
  HTTP_TOO_MANY_REQUESTS = 429, HTTP_CLOSE = 444, HTTP_ILLEGAL = 451,
  HTTP_INTERNAL_SERVER_ERROR = 500, HTTP_NOT_IMPLEMENTED = 501, HTTP_METHOD_NOT_IMPLEMENTED = 501,
  HTTP_BAD_GATEWAY = 502, HTTP_SERVICE_UNAVAILABLE = 503, HTTP_GATEWAY_TIMEOUT = 504,
  HTTP_VERSION_NOT_SUPPORTED = 505, HTTP_INSUFFICIENT_STORAGE = 507;

/** Reason phrases by status code (the header filter's table). */
export { STATUS_TEXT } from '../filters/status-lines.js';
