// cf. ngx_http_variables.c — nginx's variables, read through r.var as OpenResty's ngx.var.

import { SERVER_VERSION } from '../core/version.js';
import { hostname } from 'node:os';
import type { Request } from './request.js';
import { formatHttpDate } from '../core/clock.js';
import { complexOf } from './script.js';
import { knownHeaderId } from './headers-in.js';

export type Getter = (r: Request) => string | undefined;

const HOSTNAME = hostname();

/** The built-in variables, by name. */
const BUILTIN = new Map<string, Getter>([
  ['uri', (r) => r.uri],
  ['document_uri', (r) => r.uri],
  ['args', (r) => r.args],
  ['query_string', (r) => r.args],
  ['is_args', (r) => (r.args.length > 0 ? '?' : '')],
  ['request_uri', (r) => r.unparsedUri],
  ['request_method', (r) => r.method],
  ['request', (r) => r.requestLine ?? `${r.method} ${r.unparsedUri} HTTP/${(r.httpVersion / 1000) | 0}.${r.httpVersion % 1000}`],
  ['server_protocol', (r) => `HTTP/${(r.httpVersion / 1000) | 0}.${r.httpVersion % 1000}`],
  // a TLS socket has `encrypted` (node:tls); nginx's $scheme/$https read c->ssl the same way
  ['scheme', (r) => (r.main.conn?.socket as { encrypted?: boolean } | undefined)?.encrypted === true ? 'https' : 'http'],
  ['https', (r) => (r.main.conn?.socket as { encrypted?: boolean } | undefined)?.encrypted === true ? 'on' : ''],
  ['host', (r) => r.hostName || r.server.serverNames[0] || ''],
  ['hostname', () => HOSTNAME],
  ['server_name', (r) => r.server.serverNames[0] ?? ''],
  ['remote_addr', (r) => r.main.remoteAddr],
  ['remote_port', (r) => (r.main.remotePort > 0 ? String(r.main.remotePort) : '')],
  ['binary_remote_addr', (r) => r.main.remoteAddr],
  ['server_addr', (r) => r.main.conn?.socket.localAddress ?? ''],
  ['server_port', (r) => String(r.main.conn?.socket.localPort ?? '')],
  ['content_length', (r) => r.headersIn.get('content-length')],
  ['content_type', (r) => r.headersIn.get('content-type')],
  ['cookie', (r) => r.headersIn.getAll('cookie').join('; ') || undefined],
  ['request_body', (r) => r.body()?.toString('latin1')],
  ['http_date', () => formatHttpDate(Date.now())],
  // (the log's variables, $status, $time_local, $body_bytes_sent ..., are in log/variables.ts)
  ['pid', () => String(process.pid)],
  ['sluice_version', () => SERVER_VERSION],
  ['realpath_root', (r) => r.conf.root],
  ['document_root', (r) => r.conf.root],
]);

/**
 * A module's own variables ($upstream_addr, $limit_req_status, ...), as a module's
 * preconfiguration adds them in nginx (ngx_http_add_variable). Called at a module file's top level.
 */
export function registerVariable(name: string, get: Getter): void {
  if (BUILTIN.has(name)) throw new Error(`variable "${name}" is registered twice`);
  BUILTIN.set(name, get);
}

/** Prefix variables of modules ($upstream_http_NAME ...), asked after the built-in prefixes. */
const PREFIXES: { prefix: string; get: (r: Request, rest: string) => string | undefined }[] = [];

/**
 * A module's prefix variable: `$PREFIXname` asks `get(r, 'name')` (ngx_http_variables'
 * prefix variables such as $upstream_http_). Called at a module file's top level.
 */
export function registerPrefixVariable(prefix: string, get: (r: Request, rest: string) => string | undefined): void {
  if (PREFIXES.some((p) => p.prefix === prefix)) throw new Error(`prefix variable "${prefix}" is registered twice`);
  PREFIXES.push({ prefix, get });
}

function prefixOf(name: string): (typeof PREFIXES)[number] | null {
  for (let i = 0; i < PREFIXES.length; i++) if (name.startsWith(PREFIXES[i].prefix)) return PREFIXES[i];
  return null;
}

/** Variables a handler may assign to (like `set $args ...`). */
const WRITABLE = new Set(['args', 'query_string']);

function getVar(r: Request, name: string): string | undefined {
  return getterFor(name)(r);
}

const getters = new Map<string, Getter>();

/**
 * The getter for $name, found once per name (ngx_http_get_variable_index): a built-in or
 * module variable, a capture ($1..$9), a prefix family ($arg_x, $http_x, $cookie_x,
 * $sent_http_x), else a variable of the config (map, geo) or one set by `set` or a handler.
 */
export function getterFor(name: string): Getter {
  let g = getters.get(name);
  if (g === undefined) getters.set(name, g = makeGetter(name));
  return g;
}

function makeGetter(name: string): Getter {
  const c = name.charCodeAt(0);
  if (name.length === 1 && c >= 0x31 && c <= 0x39) {
    const n = c - 0x30;
    return (r) => r.captures?.[n] ?? undefined;
  }
  const b = BUILTIN.get(name);
  if (b !== undefined) return b;
  if (name.startsWith('arg_')) {
    const arg = name.slice(4);
    return (r) => argVar(r.args, arg);
  }
  if (name.startsWith('http_')) {
    const h = name.slice(5).replace(/_/g, '-');
    // nginx joins repeated cookies with "; " and other repeated headers with ", "
    const sep = h === 'cookie' ? '; ' : ', ';
    const id = knownHeaderId(h);
    return (r) => r.headersIn.joined(h, id, sep);
  }
  if (name.startsWith('cookie_')) {
    const ck = name.slice(7);
    return (r) => cookieVar(r.headersIn.getAll('cookie'), ck);
  }
  if (name.startsWith('sent_http_')) {
    const h = name.slice(10).replace(/_/g, '-');
    return (r) => {
      const v = r.headersOut.get(h);
      return Array.isArray(v) ? v.join(', ') : v;
    };
  }
  const px = prefixOf(name);
  if (px !== null) {
    const rest = name.slice(px.prefix.length);
    const get = px.get;
    return (r) => get(r, rest);
  }
  return (r) => {
    const user = r.variables?.get(name);
    if (user !== undefined) return user;
    const conf = r.server.variables.get(name);
    if (conf !== undefined) return conf(r);
    // registered after this getter was made (a module loaded late)
    const late = BUILTIN.get(name);
    return late === undefined ? undefined : late(r);
  };
}

/** May `set` (or a handler) assign $name? User variables and $args / $query_string. */
export function isChangeable(name: string): boolean {
  return WRITABLE.has(name) || !isKnownVariable(name);
}

/** Is $name known without a request: built in, a capture or a prefix family? */
export function isKnownVariable(name: string): boolean {
  return BUILTIN.has(name) || /^[1-9]$/.test(name) || /^(arg|http|cookie|sent_http)_./.test(name) || prefixOf(name) !== null;
}

export function setVar(r: Request, name: string, value: unknown): void {
  const s = value === null || value === undefined ? '' : String(value);
  if (WRITABLE.has(name)) {
    r.args = s;
    return;
  }
  if (BUILTIN.has(name) || /^(arg|http|cookie|sent_http)_/.test(name) || prefixOf(name) !== null) {
    throw new Error(`variable "${name}" is not changeable`);
  }
  (r.variables ??= new Map()).set(name, s);
}

/** $arg_name: the first value of the argument, raw (not unescaped), as nginx gives it. */
function argVar(args: string, name: string): string | undefined {
  if (args.length === 0) return undefined;
  const lower = name.toLowerCase();
  let start = 0;
  while (start <= args.length) {
    let end = args.indexOf('&', start);
    if (end < 0) end = args.length;
    const eq = args.indexOf('=', start);
    const kEnd = eq >= 0 && eq < end ? eq : end;
    if (args.slice(start, kEnd).toLowerCase() === lower) return eq >= 0 && eq < end ? args.slice(eq + 1, end) : '';
    start = end + 1;
  }
  return undefined;
}

function cookieVar(cookies: string[], name: string): string | undefined {
  for (const line of cookies) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

/** The object behind r.var. */
export function makeVarProxy(r: Request): Record<string, string | undefined> {
  return new Proxy(Object.create(null) as Record<string, string | undefined>, {
    get(_t, name) {
      return typeof name === 'string' ? getVar(r, name) : undefined;
    },
    set(_t, name, value) {
      if (typeof name !== 'string') return false;
      setVar(r, name, value);
      return true;
    },
    has(_t, name) {
      return typeof name === 'string' && getVar(r, name) !== undefined;
    },
  });
}

/**
 * $name and ${name} in a directive's string (return, addHeader, proxySetHeader), as nginx's
 * complex values (compiled once per string, see script.ts); `extra` answers the caller's own
 * variables first.
 */
export function expandVariables(r: Request, s: string, extra?: (name: string) => string | undefined): string {
  if (s.indexOf('$') < 0) return s;
  if (extra === undefined) return complexOf(s).run(r);
  return s.replace(/\$(?:\{(\w+)\}|(\w+))/g, (_m, a: string | undefined, b: string | undefined) => {
    const name = a ?? b!;
    return extra(name) ?? getVar(r, name) ?? '';
  });
}
