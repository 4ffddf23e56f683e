// cf. ngx_http.c (ngx_http_server_names) and ngx_http_request.c (ngx_http_find_virtual_server)

import type { ResolvedServer } from './conf/config.js';
import { ConfigError } from './conf/size-time.js';

export type ServerNameKind = 'exact' | 'head' | 'tail' | 'regex';

export interface ServerName {
  kind: ServerNameKind;
  /** exact: the name; head: the suffix with its dot ('.example.com'); tail: the prefix with
   *  its dot ('www.example.'); regex: the source without '~'. */
  match: string;
  /** head only: '.example.com' also matches 'example.com' itself ('*.example.com' does not). */
  bare: boolean;
  regex: RegExp | null;
}

/**
 * Classifies and checks one server name as nginx's server_name does: exact names,
 * '*.example.com' and '.example.com' (leading wildcards), 'www.example.*' (trailing wildcard),
 * '~regex'. Names other than regexes are lower-cased. A regex is matched case-insensitively
 * when its source has an upper-case letter, as in nginx. Throws ConfigError (key 'serverName').
 */
export function parseServerName(raw: string): ServerName {
  if (raw.charCodeAt(0) === 0x7e /* ~ */) {
    const src = raw.slice(1);
    if (src === '') throw new ConfigError(`empty regex in server name "${raw}"`, 'serverName');
    let regex: RegExp;
    try {
      regex = new RegExp(src, /[A-Z]/.test(src) ? 'i' : '');
    } catch (e) {
      throw new ConfigError(
        `invalid regex in server name "${raw}": ${(e as Error).message}`, 'serverName');
    }
    return { kind: 'regex', match: src, bare: false, regex };
  }
  const name = raw.toLowerCase();
  if ((name.startsWith('*') && (name.length < 3 || name.charCodeAt(1) !== 0x2e))
    || (name.startsWith('.') && name.length < 2)
    || name.includes('..') || name.includes('\0') || /\s/.test(name)) {
    throw new ConfigError(`server name "${raw}" is invalid`, 'serverName');
  }
  const stars = name.split('*').length - 1;
  if (stars === 0) {
    if (name.startsWith('.')) return { kind: 'head', match: name, bare: true, regex: null };
    return { kind: 'exact', match: name, bare: false, regex: null };
  }
  if (stars === 1 && name.startsWith('*.')) {
    return { kind: 'head', match: name.slice(1), bare: false, regex: null };
  }
  if (stars === 1 && name.length > 2 && name.endsWith('.*')) {
    return { kind: 'tail', match: name.slice(0, -1), bare: false, regex: null };
  }
  // ngx_hash_add_key: only one '*', and only at either end
  throw new ConfigError(`invalid server name or wildcard "${raw}"`, 'serverName');
}

/**
 * The Host as compared with server names: lower case, without the port and one trailing dot
 * (as ngx_http_validate_host leaves it). '[::1]:8080' gives '[::1]'.
 */
export function normalizeHost(host: string): string {
  let end = host.length;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']');
    if (close > 0) end = close + 1;
  } else {
    const colon = host.indexOf(':');
    if (colon >= 0) end = colon;
  }
  if (end > 1 && host.charCodeAt(end - 1) === 0x2e) end--;
  const h = end === host.length ? host : host.slice(0, end);
  // most Host headers are already lower case; skip the copy then
  return /[A-Z]/.test(h) ? h.toLowerCase() : h;
}

interface Wildcard {
  match: string;
  bare: boolean;
  server: ResolvedServer;
}

interface RegexName {
  regex: RegExp;
  server: ResolvedServer;
}

/** The address a connection was accepted on, to pick that address's default_server. */
export interface ListenAddr {
  host?: string;
  port: number;
}

/**
 * The names of one listening address as nginx's ngx_http_server_names hashes them (with
 * NGX_HASH_WILDCARD_KEY): servers in config order, each name added unless its key is taken —
 * then it is ignored, and returned by add() as nginx's "conflicting server name" warning says.
 * Exact names, the bare form of '.example.com' and the empty name share the exact keys;
 * '*.example.com' and '.example.com' share the leading-wildcard keys; regexes never conflict.
 */
export class NameRegistry {
  readonly exact = new Map<string, ResolvedServer>();
  readonly head: Wildcard[] = [];
  readonly tail: Wildcard[] = [];
  readonly regex: RegexName[] = [];
  /** Exact keys taken (also by '.example.com', which is looked up through its wildcard). */
  private readonly exactKeys = new Set<string>();
  private readonly headKeys = new Set<string>();
  private readonly tailKeys = new Set<string>();

  /** Add one name of `server`; false when it conflicts with one added before (and is ignored). */
  add(raw: string, server: ResolvedServer): boolean {
    const n = parseServerName(raw);
    switch (n.kind) {
      case 'exact':
        if (this.exactKeys.has(n.match)) return false;
        this.exactKeys.add(n.match);
        this.exact.set(n.match, server);
        return true;
      case 'head': {
        const key = n.match.slice(1);
        if (n.bare) {
          // '.example.com' takes the exact key 'example.com' first, then its wildcard's
          if (this.exactKeys.has(key)) return false;
          this.exactKeys.add(key);
        }
        if (this.headKeys.has(key)) return false;
        this.headKeys.add(key);
        this.head.push({ match: n.match, bare: n.bare, server });
        return true;
      }
      case 'tail':
        if (this.tailKeys.has(n.match)) return false;
        this.tailKeys.add(n.match);
        this.tail.push({ match: n.match, bare: false, server });
        return true;
      case 'regex':
        this.regex.push({ regex: n.regex!, server });
        return true;
    }
  }
}

/**
 * The names two or more servers of one address declare, in nginx's warning's words, for each
 * name ignored: `servers` listen on the address `addr` (as nginx writes it, "0.0.0.0:80"), in config order.
 */
export function conflictingNames(servers: readonly ResolvedServer[], addr: string): string[] {
  const reg = new NameRegistry();
  const out: string[] = [];
  for (const s of servers) {
    for (const raw of s.matchNames) if (!reg.add(raw, s)) out.push(`conflicting server name "${raw}" on ${addr}, ignored`);
  }
  return out;
}

/**
 * The virtual server index of one listening address (nginx's ngx_http_virtual_names_t):
 * exact names in a Map, then the longest leading wildcard, then the longest trailing
 * wildcard, then regexes in the order written, then the default server. When a name is
 * declared by several servers the first in config order keeps it, whichever is the default
 * (nginx's "conflicting server name ... ignored").
 */
export class VirtualNames {
  readonly servers: readonly ResolvedServer[];
  readonly defaultServer: ResolvedServer;
  private readonly exact: Map<string, ResolvedServer>;
  private readonly head: Wildcard[];
  private readonly tail: Wildcard[];
  private readonly regex: RegexName[];
  /** The address the default was chosen for (undefined: any default_server). */
  readonly addr: ListenAddr | undefined;

  constructor(servers: readonly ResolvedServer[], addr?: ListenAddr) {
    if (servers.length === 0) throw new Error('VirtualNames: no servers for this address');
    this.servers = servers;
    this.addr = addr;
    let def: ResolvedServer | null = null;
    for (const s of servers) if (def === null && isDefaultFor(s, addr)) def = s;
    // names in config order (the listener may hold its default server first)
    const reg = new NameRegistry();
    for (const s of servers.slice().sort((a, b) => a.index - b.index)) for (const raw of s.matchNames) reg.add(raw, s);
    this.exact = reg.exact;
    this.head = reg.head;
    this.tail = reg.tail;
    this.regex = reg.regex;
    this.defaultServer = def ?? servers[0];
    // longest first, so the first hit is the most specific; sort is stable for equal lengths
    this.head.sort((a, b) => b.match.length - a.match.length);
    this.tail.sort((a, b) => b.match.length - a.match.length);
  }

  /** The server for a Host value (raw or normalized); null or '' means no Host. */
  find(host: string | null): ResolvedServer {
    return this.named(host) ?? this.defaultServer;
  }

  /** The server whose names match, or null (no Host, or no match: where find() takes the default). */
  named(host: string | null): ResolvedServer | null {
    const h = host === null ? '' : normalizeHost(host);
    const exact = this.exact.get(h);
    if (exact !== undefined) return exact;
    if (h === '') return null;
    const head = this.head;
    for (let i = 0; i < head.length; i++) {
      const w = head[i];
      // '.example.com' matches label-aligned: 'a.example.com', not 'aexample.com'
      if ((h.length > w.match.length && h.endsWith(w.match))
        || (w.bare && h.length === w.match.length - 1 && w.match.endsWith(h))) {
        return w.server;
      }
    }
    const tail = this.tail;
    for (let i = 0; i < tail.length; i++) {
      const w = tail[i];
      if (h.length > w.match.length && h.startsWith(w.match)) return w.server;
    }
    const regex = this.regex;
    for (let i = 0; i < regex.length; i++) {
      if (regex[i].regex.test(h)) return regex[i].server;
    }
    return null;
  }
}

function sameAddr(a: ListenAddr | undefined, b: ListenAddr | undefined): boolean {
  if (a === b) return true;
  return a !== undefined && b !== undefined && a.port === b.port && a.host === b.host;
}

function isDefaultFor(s: ResolvedServer, addr: ListenAddr | undefined): boolean {
  for (const l of s.listen) {
    if (!l.defaultServer) continue;
    if (addr === undefined) return true;
    if (l.port === addr.port && (addr.host === undefined || addr.host === l.host)) return true;
  }
  return false;
}

// one index per servers array; the caller keeps one array per listening address
const cache = new WeakMap<readonly ResolvedServer[], VirtualNames>();

/**
 * nginx's choice of virtual server: exact name, longest leading wildcard ('*.example.com'),
 * longest trailing wildcard ('www.example.*'), first matching regex ('~^...'), else the
 * default server (default_server on this address, else the first). `servers` are those
 * listening on the accepting address; the index built for it is cached, so pass the same
 * array each time. `addr` narrows which default_server flag counts.
 */
export function findServer(
  servers: readonly ResolvedServer[], host: string | null, addr?: ListenAddr,
): ResolvedServer {
  return namesOf(servers, addr).find(host);
}

/** As findServer, but null where no name matches (SNI: nginx keeps no server name then). */
export function findNamedServer(
  servers: readonly ResolvedServer[], host: string | null, addr?: ListenAddr,
): ResolvedServer | null {
  return namesOf(servers, addr).named(host);
}

function namesOf(servers: readonly ResolvedServer[], addr: ListenAddr | undefined): VirtualNames {
  let vn = cache.get(servers);
  if (vn === undefined || !sameAddr(vn.addr, addr)) {
    vn = new VirtualNames(servers, addr);
    cache.set(servers, vn);
  }
  return vn;
}
