// cf. ngx_http_core_module.c (ngx_http_core_commands, ngx_http_core_merge_loc_conf)
// The directive table. Like ngx_command_t, a row gives the name, the blocks that may hold the
// directive, the parser of its value, the default (in the notation users write) and how it
// merges downward. To add a directive: add its field to DirectiveValues and DirectiveInputs,
// a row to DIRECTIVES, and its name to the block types in config.ts (HttpDirectives, ...).

import type { FilterModule } from '../filters/index.js';
import { DEFAULT_TYPES } from './mime-types.js';
import { ConfigError, invalidValue, parseSize, parseTime, showValue } from './size-time.js';
import { FV_BAD, fieldValue, isToken } from './field.js';

/** Blocks a directive may appear in (NGX_HTTP_MAIN_CONF, NGX_HTTP_SRV_CONF, NGX_HTTP_LOC_CONF). */
export const CTX_HTTP = 1, CTX_SERVER = 2, CTX_LOCATION = 4;
const H = CTX_HTTP, S = CTX_SERVER, L = CTX_LOCATION;

// setTimeout() holds at most 2^31-1 ms; a longer timer would fire at once
// (declared before the table, whose defaults go through the parsers at load)
const MAX_TIMER = 2147483647;

/**
 * A phase handler (rewrite, access, content). The request type lives in request.ts, which
 * imports this module; the parameter stays loose so imports keep flowing one way.
 */
export type Handler = (r: any) => void | Promise<void>;

export interface ReturnValue {
  code: number;
  /** Body text, or the Location for 301/302/303/307/308; null when only a code was given. */
  text: string | null;
}

export interface HeaderBuffers {
  number: number;
  size: number;
}

/** The resolved value of every directive (times in ms, sizes in bytes). */
export interface DirectiveValues {
  clientMaxBodySize: number;
  clientBodyTimeout: number;
  clientHeaderTimeout: number;
  largeClientHeaderBuffers: HeaderBuffers;
  keepaliveTimeout: number;
  keepaliveRequests: number;
  sendTimeout: number;
  root: string;
  alias: string | null;
  index: string[];
  defaultType: string;
  types: Map<string, string>;
  internal: boolean;
  return: ReturnValue | null;
  rewrite: Handler | null;
  access: Handler | null;
  content: Handler | null;
  serverTokens: boolean;
  chunkedTransferEncoding: boolean;
  subrequestDepth: number;
  errorLog: string | null;
  accessLog: string | null;
  filterTrace: boolean;
  tcpNodelay: boolean;
  ifModifiedSince: string;
  maxRanges: number | null;
  gzip: boolean;
  gzipTypes: ReadonlySet<string>;
  gzipMinLength: number;
  gzipCompLevel: number;
  gzipVary: boolean;
  addHeader: readonly AddHeader[];
  expires: Expires | null;
  filters: readonly FilterModule[];
  proxyPass: ProxyTarget | null;
  proxySetHeader: readonly (readonly [string, string])[];
  /** 'default', 'off' (null), or [from, to] prefix pairs for Location and Refresh. */
  proxyRedirect: ProxyRedirect;
  proxyPassRequestHeaders: boolean;
  proxyPassRequestBody: boolean;
  proxyHttpVersion: string;
  proxyConnectTimeout: number;
  proxySendTimeout: number;
  proxyReadTimeout: number;
  /** NU_* bits. */
  proxyNextUpstream: number;
  proxyNextUpstreamTries: number;
  /** Client connections one process keeps open at most (nginx's worker_connections). */
  workerConnections: number;
}

/** proxy_next_upstream conditions. */
export const NU_ERROR = 1, NU_TIMEOUT = 2, NU_INVALID_HEADER = 4, NU_HTTP_500 = 8, NU_HTTP_502 = 16,
  NU_HTTP_503 = 32, NU_HTTP_504 = 64, NU_HTTP_403 = 128, NU_HTTP_404 = 256, NU_HTTP_429 = 512,
  NU_NON_IDEMPOTENT = 1024, NU_OFF = 0;
const NU_NAMES: Record<string, number> = {
  error: NU_ERROR, timeout: NU_TIMEOUT, invalid_header: NU_INVALID_HEADER, http_500: NU_HTTP_500,
  http_502: NU_HTTP_502, http_503: NU_HTTP_503, http_504: NU_HTTP_504, http_403: NU_HTTP_403,
  http_404: NU_HTTP_404, http_429: NU_HTTP_429, non_idempotent: NU_NON_IDEMPOTENT, off: NU_OFF,
};

/** proxy_redirect: `default` (from proxyPass and the location), off, or prefix replacements. */
export type ProxyRedirect = 'default' | 'off' | readonly (readonly [string, string])[];

/** A parsed proxyPass URL; `group` is bound when the whole config is resolved. */
export class ProxyTarget {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly explicitPort: boolean;
  /** The URI part ('/x/'), or null when there is none. */
  readonly uri: string | null;
  /** $proxy_host: the upstream name, or host[:port]. */
  readonly proxyHost: string;
  group: unknown;
  constructor(url: string, host: string, port: number, explicitPort: boolean, uri: string | null) {
    this.url = url;
    this.host = host;
    this.port = port;
    this.explicitPort = explicitPort;
    this.uri = uri;
    this.proxyHost = explicitPort && port !== 80 ? `${host}:${port}` : host;
    this.group = null;
  }
}

export interface AddHeader {
  name: string;
  value: string;
  always: boolean;
}

export interface Expires {
  kind: 'epoch' | 'max' | 'offset' | 'modified';
  /** Offset in ms (negative: in the past). */
  ms: number;
}

/** Sizes: bytes, or nginx notation ('8k', '1m', '1g'). */
export type SizeInput = number | string;
/** Times: seconds, or nginx notation ('75s', '500ms', '1m30s'). */
export type TimeInput = number | string;

/** Directive values as users write them. */
export interface DirectiveInputs {
  clientMaxBodySize: SizeInput;
  clientBodyTimeout: TimeInput;
  clientHeaderTimeout: TimeInput;
  /** '4 8k' or [4, '8k']. */
  largeClientHeaderBuffers: string | readonly [number, SizeInput];
  keepaliveTimeout: TimeInput;
  keepaliveRequests: number;
  sendTimeout: TimeInput;
  root: string;
  alias: string;
  index: string | readonly string[];
  defaultType: string;
  /** Content type → extensions; replaces the inherited map (as nginx's `types {}` does). */
  types: Readonly<Record<string, string | readonly string[]>>;
  internal: boolean;
  /** [code], [code, text], [code, url] for 301/302/303/307/308, or 'http(s)://url' for a 302. */
  return: number | string | readonly [number] | readonly [number, string];
  rewrite: Handler;
  access: Handler;
  content: Handler;
  serverTokens: boolean;
  chunkedTransferEncoding: boolean;
  subrequestDepth: number;
  /** A path, 'stderr', 'off', true (= 'stderr') or false. */
  errorLog: string | boolean;
  /** A path, 'stdout', 'off', true (= 'stdout') or false. */
  accessLog: string | boolean;
  filterTrace: boolean;
  tcpNodelay: boolean;
  /** 'exact' (default), 'before' or 'off'. */
  ifModifiedSince: 'exact' | 'before' | 'off';
  /** At most this many ranges in one request; more are answered with the whole body. */
  maxRanges: number | null;
  gzip: boolean;
  /** MIME types to compress besides text/html (always); '*' for any. */
  gzipTypes: string | readonly string[];
  gzipMinLength: SizeInput;
  /** 1..9. */
  gzipCompLevel: number;
  gzipVary: boolean;
  /** [name, value] or [name, value, 'always'], as many as wanted; a block's list replaces the
   *  inherited one (as nginx's add_header does). */
  addHeader: readonly (readonly [string, string] | readonly [string, string, 'always'])[];
  /** 'off', 'epoch', 'max', a time ('1h', '-1d', 3600), or 'modified 1h'. */
  expires: string | number;
  /** Filter modules of one's own, installed below copy and above gzip, first on top. */
  filters: readonly FilterModule[];
  /** 'http://upstream_name[/uri]' or 'http://host:port[/uri]'. */
  proxyPass: string;
  /** Request headers for the upstream; '' removes one. Values may use $variables. */
  proxySetHeader: Readonly<Record<string, string>>;
  /**
   * How the upstream's Location and Refresh headers are rewritten (nginx's proxy_redirect):
   * 'default' (the proxyPass URL becomes the location's prefix), 'off', or [from, to] pairs
   * ([from, to] or a list of them): a value starting with `from` gets `to` instead; `to` may
   * use $variables.
   */
  proxyRedirect: 'default' | 'off' | readonly [string, string] | readonly (readonly [string, string])[];
  proxyPassRequestHeaders: boolean;
  proxyPassRequestBody: boolean;
  /** '1.1' (default here: keepalive works without more setup) or '1.0' (nginx's default). */
  proxyHttpVersion: '1.0' | '1.1';
  proxyConnectTimeout: TimeInput;
  proxySendTimeout: TimeInput;
  proxyReadTimeout: TimeInput;
  /** 'error timeout' (default), 'off', or any of error timeout invalid_header http_500 http_502
   *  http_503 http_504 http_403 http_404 http_429 non_idempotent. */
  proxyNextUpstream: string | readonly string[];
  /** 0 = no limit. */
  proxyNextUpstreamTries: number;
  /** Client connections one process keeps open at most (nginx's worker_connections, 512). */
  workerConnections: number;
}

export type DirectiveName = keyof DirectiveValues;

export interface Directive<K extends DirectiveName = DirectiveName> {
  readonly name: K;
  /** CTX_* bits. */
  readonly ctx: number;
  /** Checks and converts a value as written; throws ConfigError (without the block). */
  readonly set: (v: unknown, key: string) => DirectiveValues[K];
  /** The resolved default. */
  readonly def: DirectiveValues[K];
  /** Taken from the enclosing block when not set (ngx_conf_merge_*); false for the rewrite
   *  module's `return`, which runs in its own block's phase and is never inherited. */
  readonly inherit: boolean;
}

function cmd<K extends DirectiveName>(
  name: K, ctx: number, set: (v: unknown, key: string) => DirectiveValues[K],
  def: unknown, inherit = true,
): Directive<K> {
  // null = unset; anything else is written as a user would and goes through the parser
  const d = (def === null ? null : set(def, name)) as DirectiveValues[K];
  return { name, ctx, set, def: d, inherit };
}

/** The directives, in the order their fields are laid out on Directives. */
export const DIRECTIVES: readonly Directive[] = [
  cmd('clientMaxBodySize', H | S | L, setSize, '1m'),
  cmd('clientBodyTimeout', H | S | L, setTimer, '60s'),
  cmd('clientHeaderTimeout', H | S, setTimer, '60s'),
  cmd('largeClientHeaderBuffers', H | S, setBufs, '4 8k'),
  cmd('keepaliveTimeout', H | S | L, setTimer, '75s'),
  cmd('keepaliveRequests', H | S | L, setNum, 1000),
  cmd('sendTimeout', H | S | L, setTimer, '60s'),
  cmd('root', H | S | L, setPath, 'html'),
  cmd('alias', L, setPath, null),
  cmd('index', H | S | L, setIndex, 'index.html'),
  cmd('defaultType', H | S | L, setContentType, 'text/plain'),
  // a block's types replace the inherited map, never merge with it, as nginx's types {} do
  cmd('types', H | S | L, setTypes, DEFAULT_TYPES),
  cmd('internal', L, setFlag, false),
  cmd('return', S | L, setReturn, null, false),
  cmd('rewrite', H | S | L, setHandler, null),
  cmd('access', H | S | L, setHandler, null),
  cmd('content', L, setHandler, null),
  // sluice sends "Server: sluice" unless asked for the version (nginx's default is on)
  cmd('serverTokens', H | S | L, setFlag, false),
  cmd('chunkedTransferEncoding', H | S | L, setFlag, true),
  cmd('subrequestDepth', H | S | L, setNum, 50),
  cmd('errorLog', H | S | L, setErrorLog, 'stderr'),
  cmd('accessLog', H | S | L, setAccessLog, false),
  cmd('filterTrace', H | S | L, setFlag, false),
  cmd('tcpNodelay', H | S | L, setFlag, true),
  cmd('ifModifiedSince', H | S | L, setIfModifiedSince, 'exact'),
  cmd('maxRanges', H | S | L, setNum, null),
  cmd('gzip', H | S | L, setFlag, false),
  cmd('gzipTypes', H | S | L, setGzipTypes, 'text/html'),
  cmd('gzipMinLength', H | S | L, setSize, 20),
  cmd('gzipCompLevel', H | S | L, setCompLevel, 1),
  cmd('gzipVary', H | S | L, setFlag, false),
  cmd('addHeader', H | S | L, setAddHeader, []),
  cmd('expires', H | S | L, setExpires, null),
  cmd('filters', H, setFilters, []),
  cmd('proxyPass', L, setProxyPass, null, false),
  cmd('proxySetHeader', H | S | L, setProxySetHeader, {}),
  cmd('proxyRedirect', H | S | L, setProxyRedirect, 'default'),
  cmd('proxyPassRequestHeaders', H | S | L, setFlag, true),
  cmd('proxyPassRequestBody', H | S | L, setFlag, true),
  cmd('proxyHttpVersion', H | S | L, setProxyHttpVersion, '1.1'),
  cmd('proxyConnectTimeout', H | S | L, setTimer, '60s'),
  cmd('proxySendTimeout', H | S | L, setTimer, '60s'),
  cmd('proxyReadTimeout', H | S | L, setTimer, '60s'),
  cmd('proxyNextUpstream', H | S | L, setNextUpstream, 'error timeout'),
  cmd('proxyNextUpstreamTries', H | S | L, setNum, 0),
  // nginx's events { worker_connections 512; }: a process-wide limit, so top level only
  cmd('workerConnections', H, setNum, 512),
];

export const DIRECTIVE_BY_NAME: ReadonlyMap<string, Directive> =
  new Map(DIRECTIVES.map((d) => [d.name, d]));

/** One block's resolved directives: set here, inherited from the enclosing block, or defaults. */
// (declaration merging: the interface gives the fields their types, the constructor sets them)
export interface Directives extends DirectiveValues {}
export class Directives {
  constructor(parent: Directives | null) {
    // every field, in table order, so all Directives share one hidden class
    const self = this as unknown as Record<string, unknown>;
    for (let i = 0; i < DIRECTIVES.length; i++) {
      const d = DIRECTIVES[i];
      self[d.name] = parent !== null && d.inherit ? parent[d.name] : d.def;
    }
  }
}

/* parsers (ngx_conf_set_*_slot) */

function setIfModifiedSince(v: unknown, key: string): string {
  if (v === 'exact' || v === 'before' || v === 'off') return v;
  throw invalidValue(v, key);
}

function setGzipTypes(v: unknown, key: string): ReadonlySet<string> {
  const list = words(v);
  if (list === null || list.length === 0) throw invalidValue(v, key);
  const set = new Set<string>(['text/html']);
  for (const t of list) {
    if (typeof t !== 'string' || !/^(\*|[\w.+-]+\/[\w.+*-]+)$/.test(t)) throw invalidValue(t, key);
    set.add(t.toLowerCase());
  }
  return set;
}

function setCompLevel(v: unknown, key: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 9) return v;
  throw invalidValue(v, key);
}

// cf. ngx_http_headers_filter_module.c (ngx_http_headers_add)
function setAddHeader(v: unknown, key: string): AddHeader[] {
  if (!Array.isArray(v)) throw invalidValue(v, key);
  const out: AddHeader[] = [];
  for (const e of v) {
    if (!Array.isArray(e) || (e.length !== 2 && e.length !== 3) || typeof e[0] !== 'string' || typeof e[1] !== 'string'
      || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(e[0]) || !isHeaderSafe(e[1]) || (e.length === 3 && e[2] !== 'always')) {
      throw invalidValue(e, key);
    }
    out.push({ name: e[0], value: e[1], always: e.length === 3 });
  }
  return out;
}

// cf. ngx_http_headers_filter_module.c (ngx_http_headers_expires)
function setExpires(v: unknown, key: string): Expires | null {
  if (v === 'off' || v === false) return null;
  if (v === 'epoch') return { kind: 'epoch', ms: 0 };
  if (v === 'max') return { kind: 'max', ms: 0 };
  let kind: Expires['kind'] = 'offset';
  let t: unknown = v;
  if (typeof v === 'string' && v.startsWith('modified ')) {
    kind = 'modified';
    t = v.slice(9).trim();
  }
  let sign = 1;
  if (typeof t === 'string' && t.startsWith('-')) { sign = -1; t = t.slice(1); }
  if (typeof t === 'string' && t.startsWith('+')) t = t.slice(1);
  if (typeof t === 'number' && t < 0) { sign = -1; t = -t; }
  if (typeof t !== 'string' && typeof t !== 'number') throw invalidValue(v, key);
  return { kind, ms: sign * parseTime(t, key) };
}

// cf. ngx_http_proxy_module.c (ngx_http_proxy_pass)
function setProxyPass(v: unknown, key: string): ProxyTarget {
  if (typeof v !== 'string') throw invalidValue(v, key);
  const m = /^http:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?(\/[\x21-\x7e]*)?$/.exec(v);
  if (m === null) {
    if (/^https:/i.test(v)) throw new ConfigError(`https upstreams are not supported in "${key}" ${showValue(v)}`, key);
    throw new ConfigError(`invalid URL prefix in ${showValue(v)} for "${key}" (http://host[:port][/uri] expected)`, key);
  }
  const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
  const port = m[2] === undefined ? 80 : Number(m[2]);
  if (port < 1 || port > 65535) throw invalidValue(v, key);
  return new ProxyTarget(v, host, port, m[2] !== undefined, m[3] ?? null);
}

function setProxySetHeader(v: unknown, key: string): [string, string][] {
  if (!isPlainObject(v)) throw invalidValue(v, key);
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(v)) {
    // a $variable's value is checked again once expanded, where the upstream head is made
    if (!isToken(name)) throw new ConfigError(`invalid header name ${showValue(name)} in "${key}" (a field name is an RFC 9110 token)`, key);
    if (typeof value !== 'string' || fieldValue(value) === FV_BAD) {
      throw new ConfigError(`invalid value ${showValue(value)} for header "${name}" in "${key}" (a string without control characters expected)`, key);
    }
    out.push([name, value]);
  }
  return out;
}

// cf. ngx_http_proxy_module.c (ngx_http_proxy_redirect): no regexes here, prefixes only
function setProxyRedirect(v: unknown, key: string): ProxyRedirect {
  if (v === 'default' || v === 'off') return v;
  if (v === false) return 'off';
  const pair = (x: unknown): x is readonly [string, string] => Array.isArray(x) && x.length === 2
    && typeof x[0] === 'string' && x[0] !== '' && typeof x[1] === 'string' && isHeaderSafe(x[0]) && isHeaderSafe(x[1]);
  if (pair(v)) return [[v[0], v[1]]];
  if (Array.isArray(v) && v.length > 0 && v.every(pair)) return v.map((x) => [x[0], x[1]] as const);
  throw new ConfigError(`invalid value ${showValue(v)} for "${key}" ('default', 'off', [from, to] or a list of [from, to] expected)`, key);
}

function setProxyHttpVersion(v: unknown, key: string): string {
  if (v === '1.0' || v === '1.1') return v;
  throw invalidValue(v, key);
}

function setNextUpstream(v: unknown, key: string): number {
  const list = words(v);
  if (list === null || list.length === 0) throw invalidValue(v, key);
  let bits = 0;
  for (const w of list) {
    const b = typeof w === 'string' ? NU_NAMES[w] : undefined;
    if (b === undefined) throw new ConfigError(`invalid value ${showValue(w)} in "${key}"`, key);
    if (b === NU_OFF && list.length > 1) throw new ConfigError(`"off" cannot be combined with other values in "${key}"`, key);
    bits |= b;
  }
  return bits;
}

function setFilters(v: unknown, key: string): FilterModule[] {
  if (!Array.isArray(v)) throw invalidValue(v, key);
  for (const f of v) {
    const m = f as FilterModule;
    if (typeof f !== 'object' || f === null || (m.header == null && m.body == null)
      || (m.header != null && typeof m.header.header !== 'function')
      || (m.body != null && typeof m.body.body !== 'function')) {
      throw new ConfigError(`invalid filter module in "${key}": an object with a header and/or body filter is expected`, key);
    }
  }
  return v as FilterModule[];
}

function setSize(v: unknown, key: string): number {
  return parseSize(v as string | number, key);
}

function setTimer(v: unknown, key: string): number {
  const ms = parseTime(v as string | number, key);
  if (ms > MAX_TIMER) {
    throw new ConfigError(`invalid value ${showValue(v)} for "${key}" (at most 24 days)`, key);
  }
  return ms;
}

function setNum(v: unknown, key: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^[0-9]{1,15}$/.test(v)) return Number(v);
  throw invalidValue(v, key);
}

function setFlag(v: unknown, key: string): boolean {
  if (typeof v === 'boolean') return v;
  throw invalidValue(v, key);
}

function setHandler(v: unknown, key: string): Handler {
  if (typeof v === 'function') return v as Handler;
  throw invalidValue(v, key);
}

function setPath(v: unknown, key: string): string {
  if (typeof v === 'string' && v !== '' && !v.includes('\0')) return v;
  throw invalidValue(v, key);
}

/** Control characters would break a header line. */
function isHeaderSafe(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

function setContentType(v: unknown, key: string): string {
  if (typeof v === 'string' && v.trim() !== '' && isHeaderSafe(v)) return v;
  throw invalidValue(v, key);
}

/** A list written as an array or as one whitespace-separated string, as in nginx. */
function words(v: unknown): unknown[] | null {
  if (typeof v === 'string') return v.split(/\s+/).filter((w) => w !== '');
  if (Array.isArray(v)) return v;
  return null;
}

function setIndex(v: unknown, key: string): string[] {
  const list = words(v);
  if (list === null || list.length === 0) throw invalidValue(v, key);
  for (let i = 0; i < list.length; i++) {
    const f = list[i];
    if (typeof f !== 'string' || f === '' || /\s|\0/.test(f)) {
      throw new ConfigError(`index ${showValue(f)} in "${key}" directive is invalid`, key);
    }
    // ngx_http_index_module: an absolute index is an internal redirect, so nothing can follow it
    if (f.charCodeAt(0) === 0x2f && i !== list.length - 1) {
      throw new ConfigError(`only the last index in "${key}" directive should be absolute`, key);
    }
  }
  return list as string[];
}

function setTypes(v: unknown, key: string): Map<string, string> {
  if (!isPlainObject(v)) throw invalidValue(v, key);
  const map = new Map<string, string>();
  for (const type of Object.keys(v)) {
    if (type.trim() === '' || !isHeaderSafe(type)) {
      throw new ConfigError(`invalid content type ${showValue(type)} in "${key}"`, key);
    }
    const exts = words(v[type]);
    if (exts === null || exts.length === 0) {
      throw new ConfigError(`invalid extensions ${showValue(v[type])} for "${type}" in "${key}"`, key);
    }
    for (const e of exts) {
      if (typeof e !== 'string' || e === '' || /[\s/\0]/.test(e)) {
        throw new ConfigError(`invalid extension ${showValue(e)} for "${type}" in "${key}"`, key);
      }
      // nginx warns about a duplicate extension and keeps the later type; so do we (silently)
      map.set(e.toLowerCase(), type);
    }
  }
  return map;
}

function setBufs(v: unknown, key: string): HeaderBuffers {
  const w = words(v);
  if (w === null || w.length !== 2) throw invalidValue(v, key);
  const num = w[0];
  let n: number;
  if (typeof num === 'number') n = num;
  else if (typeof num === 'string' && /^[0-9]{1,9}$/.test(num)) n = Number(num);
  else throw invalidValue(v, key);
  if (!Number.isSafeInteger(n) || n < 1) throw invalidValue(v, key);
  if (typeof w[1] !== 'number' && typeof w[1] !== 'string') throw invalidValue(v, key);
  let size: number;
  try {
    size = parseSize(w[1], key);
  } catch {
    throw invalidValue(v, key);
  }
  if (size < 1) throw invalidValue(v, key);
  return { number: n, size };
}

function isRedirect(code: number): boolean {
  return code === 301 || code === 302 || code === 303 || code === 307 || code === 308;
}

// cf. ngx_http_rewrite_module.c (ngx_http_rewrite_return)
function setReturn(v: unknown, key: string): ReturnValue {
  let code: unknown;
  let text: unknown = null;
  if (typeof v === 'string') {
    // a lone URL means 302, as in nginx; anything else is a bad code
    if (v.startsWith('http://') || v.startsWith('https://')) {
      if (!isHeaderSafe(v)) throw invalidValue(v, key);
      return { code: 302, text: v };
    }
    throw new ConfigError(`invalid return code ${showValue(v)}`, key);
  }
  if (typeof v === 'number') {
    code = v;
  } else if (Array.isArray(v) && (v.length === 1 || v.length === 2)) {
    code = v[0];
    if (v.length === 2) {
      text = v[1];
      if (typeof text !== 'string') throw invalidValue(v, key);
    }
  } else {
    throw invalidValue(v, key);
  }
  // nginx takes 0..999 and sends what it is given; a status line is 200..599 (RFC 9110 §15),
  // and 444 / 499 close without an answer (they are for the log)
  if (typeof code !== 'number' || !Number.isInteger(code) || ((code < 200 || code > 599) && code !== 0)) {
    throw new ConfigError(`invalid return code ${showValue(code)}`, key);
  }
  if (isRedirect(code)) {
    // nginx would send an empty Location; we ask for the URL at startup instead
    if (typeof text !== 'string' || text === '' || !isHeaderSafe(text)) {
      throw new ConfigError(`"${key}" with code ${code} needs a URL`, key);
    }
  }
  return { code, text: text as string | null };
}

function setLog(v: unknown, key: string, on: string): string | null {
  if (v === false || v === 'off') return null;
  if (v === true) return on;
  if (typeof v === 'string' && v !== '' && !v.includes('\0')) return v;
  throw invalidValue(v, key);
}

function setErrorLog(v: unknown, key: string): string | null {
  return setLog(v, key, 'stderr');
}

function setAccessLog(v: unknown, key: string): string | null {
  return setLog(v, key, 'stdout');
}

/** An object literal (or Object.create(null)), not an array, class instance or null. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
