// cf. ngx_http_core_module.c (server, listen, server_name, location) and ngx_http.c (the merge)
// The config mirrors nginx's blocks: the top level is the http block, then servers, then their
// locations. resolveConfig() checks every key against the directive table (directives.ts) and
// merges values downward the way nginx's merge_*_conf do: a value set in an inner block wins,
// otherwise the enclosing block's value, otherwise the default.

import { isIP } from 'node:net';
import { DirectiveTable, Directives, isPlainObject } from './directives.js';
import { PhaseEngine, type Block, type BlockContext, type HttpModule } from './module.js';
import type { Request } from '../request.js';
import type { Getter } from '../variables.js';
import { describeRegex, type ConfigRegex } from '../regex.js';
import { endVariableCheck, startVariableCheck } from '../script.js';
import type { LocationApi } from '../../subrequest/subrequest.js';
import { MODULES, type HttpDirectives, type LocationDirectives, type ServerDirectives } from '../../modules.js';
import { LocationTree, ResolvedLocation, parseLocationKey } from '../location.js';
import { conflictingNames, parseServerName } from '../server-name.js';
import { ConfigError, invalidValue } from './size-time.js';

import { resolveUpstreams, implicitGroup, type UpstreamGroup } from '../upstream/upstream.js';

export { ConfigError } from './size-time.js';
export { Directives, DirectiveTable, type Handler, type ReturnValue, type HeaderBuffers } from './directives.js';
export type { HttpDirectives, LocationDirectives, ServerDirectives } from '../../modules.js';
export { LocationTree, ResolvedLocation, type LocationKind } from '../location.js';

/* the shape users write: each block's directives come from the modules (src/modules.ts) */

/** 8080, '8080', '127.0.0.1:8080', '[::1]:80', '*:80', '127.0.0.1' (port 80), each optionally
 *  followed by ' default_server' and/or ' ssl' ('443 ssl default_server'). */
export type ListenInput = number | string;

export interface LocationConfig extends LocationDirectives {}

export interface ServerConfig extends ServerDirectives {
  listen: ListenInput | readonly ListenInput[];
  /** Names as nginx's server_name takes them ('example.com', '*.example.com', '.example.com',
   *  'www.example.*', '~^regex$'); one string may hold several, separated by spaces. */
  serverName?: string | readonly string[];
  /** Keys in nginx's location syntax: '= /exact', '^~ /prefix', '~ regex', '~* regex',
   *  '/prefix', '@named'. Regexes are tried in the order written. */
  locations?: Readonly<Record<string, LocationConfig>>;
}

/** An upstream group, as nginx's upstream {} block. */
export interface UpstreamConfig {
  servers: readonly (string | {
    address: string; weight?: number; maxFails?: number; failTimeout?: string | number;
    backup?: boolean; down?: boolean;
  })[];
  /** Idle connections kept per worker (a cache, not a cap). */
  keepalive?: number;
  keepaliveTimeout?: string | number;
  keepaliveRequests?: number;
  /** How long one connection may be reused, from when it was opened (nginx's keepalive_time, 1h). */
  keepaliveTime?: string | number;
  balance?: 'round-robin' | 'least-conn' | { hash: string };
}

export interface SluiceConfig extends HttpDirectives {
  upstreams?: Readonly<Record<string, UpstreamConfig>>;
  servers: readonly ServerConfig[];
}

/**
 * Returns its argument; it is there for the type checking and completion. Not generic on purpose:
 * the config is checked against SluiceConfig as an object literal, so a misspelt key is an error
 * (excess property checks) and handlers get their `r: Request` without an annotation.
 */
export function defineConfig(c: SluiceConfig): SluiceConfig {
  return c;
}

/* the resolved shape */

export class ListenAddress {
  /** '0.0.0.0' for a port alone or '*', '::1' for '[::1]' (no brackets), or a host name. */
  host: string;
  port: number;
  defaultServer: boolean;
  /** `listen ... ssl`: connections on this address speak TLS (src/http/ssl.ts). */
  ssl: boolean;

  constructor(host: string, port: number, defaultServer: boolean, ssl = false) {
    this.host = host;
    this.port = port;
    this.defaultServer = defaultServer;
    this.ssl = ssl;
  }
}

const NO_PHASES = new PhaseEngine([]);
const NO_VARIABLES: ReadonlyMap<string, Getter> = new Map();

export class ResolvedServer {
  listen: ListenAddress[];
  /**
   * As written (non-regex names lower-cased); [''] when none was given, as nginx's default. The
   * first is nginx's cscf->server_name ($server_name, the error log's "server:"): a leading-dot
   * name '.example.com' is 'example.com' there, as nginx stores it.
   */
  serverNames: string[];
  /** The names as written, for finding the server by Host (VirtualNames). */
  matchNames: string[];
  /** Server level, merged with the top level. */
  conf: Directives;
  locations: LocationTree;
  /** '@name' → location, for internal redirects to named locations. */
  named: Map<string, ResolvedLocation>;
  /** Makes r.location (from the module that provides subrequests), or null when none does. */
  locationApi: ((r: Request) => LocationApi) | null;
  /** The modules' phase handlers, in module order. */
  phases: PhaseEngine;
  /** Variables the config defines (map, geo), shared by all servers of one config. */
  variables: ReadonlyMap<string, Getter>;
  /** What a URI no location matches gets: the server block's own config (as nginx does). */
  implicit: ResolvedLocation;
  /** Its regex names that have groups: the one the Host matches sets the request's captures. */
  nameCaptures: readonly ConfigRegex[];
  /** Its place in the config's servers (the first declaring a name keeps it). */
  index: number;

  constructor(listen: ListenAddress[], serverNames: string[], conf: Directives,
    locations: LocationTree, named: Map<string, ResolvedLocation>) {
    this.listen = listen;
    this.matchNames = serverNames;
    const first = serverNames[0];
    this.serverNames = first !== undefined && first.startsWith('.') ? [first.slice(1), ...serverNames.slice(1)] : serverNames;
    this.conf = conf;
    this.locations = locations;
    this.named = named;
    this.locationApi = null;
    this.phases = NO_PHASES;
    this.variables = NO_VARIABLES;
    this.nameCaptures = [];
    this.index = 0;
    this.implicit = new ResolvedLocation('', 'prefix', '', null, conf);
  }
}

export class ResolvedConfig {
  /** The top level, with defaults filled in. */
  http: Directives;
  servers: ResolvedServer[];
  upstreams: Map<string, UpstreamGroup>;
  /** The modules it was resolved with (their filters make each server's chains). */
  table: DirectiveTable;
  /**
   * What nginx warns about while it reads a config (`conflicting server name "x" on
   * 0.0.0.0:80, ignored`), without "sluice: [warn]": the server logs each at warn when it starts.
   */
  warnings: string[];

  constructor(http: Directives, servers: ResolvedServer[], upstreams: Map<string, UpstreamGroup>, table: DirectiveTable) {
    this.http = http;
    this.servers = servers;
    this.upstreams = upstreams;
    this.table = table;
    this.warnings = [];
  }

  get modules(): readonly HttpModule[] {
    return this.table.modules;
  }
}

// keys that are blocks or block parameters rather than directives, and where they belong
const STRUCTURE: ReadonlyMap<string, Block> = new Map<string, Block>([
  ['upstreams', 'http'], ['servers', 'http'],
  ['listen', 'server'], ['serverName', 'server'], ['locations', 'server'],
]);

const TOP = 'config';

/**
 * Validates a config (see SluiceConfig) and merges its directives downward.
 * Throws ConfigError naming the directive and the block, e.g.
 * `sluice: unknown directive "clientMaxBodySise" in servers[0].locations["/"]`.
 */
export function resolveConfig(raw: unknown, modules: readonly HttpModule[] = MODULES): ResolvedConfig {
  startVariableCheck();
  try {
    return resolve(raw, modules);
  } finally {
    endVariableCheck(() => true);
  }
}

/** The directives the config being resolved sets somewhere (the phase engine's modules). */
let usedDirectives = new Set<string>();

function resolve(raw: unknown, modules: readonly HttpModule[]): ResolvedConfig {
  usedDirectives = new Set();
  if (!isPlainObject(raw)) throw new ConfigError('the config must be an object', '');
  const table = new DirectiveTable(modules);
  const http = resolveBlock(table, raw, 'http', null, TOP);

  if (raw.upstreams !== undefined && !isPlainObject(raw.upstreams)) throw invalidValue(raw.upstreams, 'upstreams').at(TOP);
  const upstreams = resolveUpstreams(raw.upstreams);

  const list = raw.servers;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError('"servers" must be a non-empty array', 'servers', TOP);
  }
  const servers: ResolvedServer[] = [];
  for (let i = 0; i < list.length; i++) servers.push(resolveServer(table, list[i], i, http));

  // ngx_http_add_addresses: one default server per address
  const defaults = new Map<string, number>();
  for (let i = 0; i < servers.length; i++) {
    for (const l of servers[i].listen) {
      if (!l.defaultServer) continue;
      const addr = formatAddr(l);
      if (defaults.has(addr)) {
        throw new ConfigError(`a duplicate default server for ${addr}`, 'listen', `servers[${i}]`);
      }
      defaults.set(addr, i);
    }
  }
  // ngx_http_server_names: per address, a name a server before already declared is ignored
  const warnings: string[] = [];
  const byAddr = new Map<string, ResolvedServer[]>();
  for (let i = 0; i < servers.length; i++) {
    servers[i].index = i;
    for (const l of servers[i].listen) {
      const addr = formatAddr(l);
      let list = byAddr.get(addr);
      if (list === undefined) byAddr.set(addr, list = []);
      if (!list.includes(servers[i])) list.push(servers[i]);
    }
  }
  for (const [addr, list] of byAddr) warnings.push(...conflictingNames(list, addr));
  bindProxyTargets(servers, upstreams);
  const phases = new PhaseEngine(modules, usedDirectives);
  const variables = new Map<string, Getter>();
  for (const m of modules) {
    if (m.variables === undefined) continue;
    for (const [name, get] of m.variables(http)) {
      if (variables.has(name)) throw new ConfigError(`the duplicate "${name}" variable`, m.name, TOP);
      variables.set(name, get);
    }
  }
  for (const s of servers) { s.phases = phases; s.variables = variables; }
  const withLocation = modules.find((m) => m.locationApi !== undefined);
  if (withLocation !== undefined) for (const s of servers) s.locationApi = withLocation.locationApi!;
  const resolved = new ResolvedConfig(http, servers, upstreams, table);
  resolved.warnings = warnings;
  for (const m of modules) m.checkConfig?.(resolved);
  // ngx_http_variables_init_vars: a variable a value reads must exist
  const unknown = endVariableCheck((name) => variables.has(name));
  if (unknown.length > 0) {
    const u = unknown[0];
    throw new ConfigError(`unknown "${u.name}" variable in "${u.key}" (a handler's own variable is declared with set: { $${u.name}: '' })`, u.key, TOP);
  }
  return resolved;
}

/** Each proxyPass gets its upstream group: a named one, or an implicit one for host:port. */
function bindProxyTargets(servers: ResolvedServer[], upstreams: Map<string, UpstreamGroup>): void {
  const implicit = new Map<string, UpstreamGroup>();
  servers.forEach((s, i) => {
    for (const loc of [...s.locations.locations, ...s.named.values()]) {
      const t = loc.conf.proxyPass;
      if (t === null) continue;
      const where = `servers[${i}].locations["${loc.key}"]`;
      if (loc.conf.content !== null) throw new ConfigError('"proxyPass" and "content" cannot both be set', 'proxyPass', where);
      if (t.dynamic) {
        // looked up per request, among the named groups and the implicit ones (all bound below)
        t.lookup = { named: upstreams, implicit };
        continue;
      }
      if (t.uri !== null && (loc.kind === 'regex' || loc.kind === 'iregex' || loc.kind === 'named')) {
        throw new ConfigError('"proxyPass" cannot have URI part in location given by regular expression, or inside named location', 'proxyPass', where);
      }
      const named = t.explicitPort ? undefined : upstreams.get(t.host);
      if (named !== undefined) {
        t.group = named;
      } else {
        const k = `${t.host.toLowerCase()}:${t.port}`;
        let g = implicit.get(k);
        if (g === undefined) implicit.set(k, g = implicitGroup(t.host, t.port));
        t.group = g;
      }
    }
  });
}

function resolveServer(table: DirectiveTable, raw: unknown, i: number, http: Directives): ResolvedServer {
  const path = `servers[${i}]`;
  if (!isPlainObject(raw)) throw new ConfigError('a server must be an object', 'servers', path);
  const conf = resolveBlock(table, raw, 'server', http, path);

  if (raw.listen === undefined) throw new ConfigError('"listen" is required', 'listen', path);
  const listen = parseListen(raw.listen, path);

  const serverNames: string[] = [];
  if (raw.serverName !== undefined) {
    // '' alone is nginx's server_name "": the server for requests without a Host
    const names = typeof raw.serverName === 'string'
      ? (raw.serverName === '' ? [''] : raw.serverName.split(/\s+/).filter((n) => n !== ''))
      : raw.serverName;
    if (!Array.isArray(names) || names.length === 0) {
      throw invalidValue(raw.serverName, 'serverName').at(path);
    }
    for (const n of names) {
      if (typeof n !== 'string') throw invalidValue(n, 'serverName').at(path);
      const sn = wrap(() => parseServerName(n), path);
      serverNames.push(sn.kind === 'regex' ? n : n.toLowerCase());
    }
  } else {
    serverNames.push('');
  }

  const locs: ResolvedLocation[] = [];
  const named = new Map<string, ResolvedLocation>();
  if (raw.locations !== undefined) {
    if (!isPlainObject(raw.locations)) throw invalidValue(raw.locations, 'locations').at(path);
    for (const key of Object.keys(raw.locations)) {
      const lpath = `${path}.locations[${JSON.stringify(key)}]`;
      const block = raw.locations[key];
      if (!isPlainObject(block)) throw new ConfigError('a location must be an object', 'location', lpath);
      const k = wrap(() => parseLocationKey(key), lpath);
      const lconf = resolveBlock(table, block, 'location', conf, lpath);
      const loc = new ResolvedLocation(key, k.kind, k.path, k.regex, lconf);
      locs.push(loc);
      if (k.kind === 'named') named.set(k.path, loc);
    }
  }
  const tree = wrap(() => new LocationTree(locs), path);
  const server = new ResolvedServer(listen, serverNames, conf, tree, named);
  server.nameCaptures = serverNames.map((n) => n.startsWith('~') ? parseServerName(n).regex : null)
    .filter((re): re is RegExp => re !== null).map(describeRegex).filter((d) => d.groups > 0);
  return server;
}

/** One block's own directives over `parent` (null for the top level). */
function resolveBlock(
  table: DirectiveTable, raw: Record<string, unknown>, block: Block, parent: Directives | null, path: string, inIf = false,
): Directives {
  const conf = new Directives(table, parent);
  const self = conf as unknown as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    const where = STRUCTURE.get(key);
    if (where !== undefined) {
      if (where !== block) throw notAllowed(key, path);
      continue;
    }
    const d = table.byName.get(key);
    if (d === undefined) throw new ConfigError(`unknown directive "${key}"${suggest(table, key)}`, key, path);
    if (raw[key] !== undefined) usedDirectives.add(key);
    if (!table.allowed(d, block)) throw notAllowed(key, path);
    const v = raw[key];
    // undefined reads as "not set", so optional values can be spread in
    if (v === undefined) continue;
    self[key] = wrap(() => d.cmd.set(v, key), path);
  }
  for (const m of table.modules) if (m.checkBlock !== undefined) wrap(() => m.checkBlock!(raw), path);
  const ctx: BlockContext = {
    kind: block,
    inIf,
    nested: (body, name) => {
      if (!isPlainObject(body)) throw new ConfigError('a block must be an object', name);
      return resolveBlock(table, body, 'location', conf, `${path}.${name}`, true);
    },
  };
  for (const m of table.modules) if (m.block !== undefined) wrap(() => m.block!(raw, conf, ctx), path);
  return conf;
}

/** ", did you mean ..." for a key one or two edits from a directive's name. */
function suggest(table: DirectiveTable, key: string): string {
  let best = '';
  let bestD = 3;
  for (const e of table.list) {
    const d = distance(key.toLowerCase(), e.name.toLowerCase(), bestD);
    if (d < bestD) { bestD = d; best = e.name; }
  }
  return best === '' ? '' : ` (did you mean "${best}"?)`;
}

/** Levenshtein distance, given up at `max`. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) >= max) return max;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let low = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (cur[j] < low) low = cur[j];
    }
    if (low >= max) return max;
    prev = cur;
  }
  return prev[b.length];
}

function notAllowed(key: string, path: string): ConfigError {
  return new ConfigError(`"${key}" directive is not allowed here`, key, path);
}

function wrap<T>(fn: () => T, path: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError) throw e.at(path);
    throw e;
  }
}

// cf. ngx_http_core_listen / ngx_parse_url (inet addresses only)
function parseListen(v: unknown, path: string): ListenAddress[] {
  const items = Array.isArray(v) ? v : [v];
  if (items.length === 0) throw invalidValue(v, 'listen').at(path);
  const out: ListenAddress[] = [];
  for (const item of items) {
    const l = parseListenItem(item, path);
    if (out.some((o) => o.host === l.host && o.port === l.port)) {
      throw new ConfigError(`a duplicate listen ${formatAddr(l)}`, 'listen', path);
    }
    out.push(l);
  }
  return out;
}

function parseListenItem(v: unknown, path: string): ListenAddress {
  if (typeof v === 'number') return new ListenAddress('0.0.0.0', port(v, v, path), false);
  if (typeof v !== 'string') throw invalidValue(v, 'listen').at(path);
  const words = v.trim().split(/\s+/);
  const addr = words[0];
  let def = false;
  let ssl = false;
  for (let i = 1; i < words.length; i++) {
    if (words[i] === 'default_server' || words[i] === 'default') def = true;
    else if (words[i] === 'ssl') ssl = true;
    else if (words[i] === 'http2' || words[i] === 'quic' || words[i] === 'spdy') {
      throw new ConfigError(`the "${words[i]}" parameter of "listen" is not supported: sluice speaks HTTP/1.1 only (put an HTTP/2 proxy in front)`, 'listen', path);
    } else throw new ConfigError(`invalid parameter "${words[i]}" in "listen"`, 'listen', path);
  }
  if (/^[0-9]+$/.test(addr)) return new ListenAddress('0.0.0.0', port(Number(addr), v, path), def, ssl);

  let host: string;
  let rest: string;
  if (addr.startsWith('[')) {
    const close = addr.indexOf(']');
    if (close < 0) throw invalidValue(v, 'listen').at(path);
    host = addr.slice(1, close);
    rest = addr.slice(close + 1);
    if (isIP(host) !== 6) throw new ConfigError(`invalid IPv6 address in "${v}"`, 'listen', path);
  } else {
    const colon = addr.indexOf(':');
    host = colon < 0 ? addr : addr.slice(0, colon);
    rest = colon < 0 ? '' : addr.slice(colon);
    if (host === '*') host = '0.0.0.0';
    // IPv6 needs brackets (nginx reads the last ':' as the port otherwise)
    else if (isIP(host) !== 4 && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host)) {
      throw new ConfigError(`host not found in "${v}"`, 'listen', path);
    }
    host = host.toLowerCase();
  }
  let p = 80;
  if (rest !== '') {
    if (!/^:[0-9]+$/.test(rest)) throw invalidValue(v, 'listen').at(path);
    p = port(Number(rest.slice(1)), v, path);
  }
  return new ListenAddress(host, p, def, ssl);
}

/** Port 0 is allowed (an ephemeral port, for tests), unlike in nginx. */
function port(n: number, v: unknown, path: string): number {
  if (Number.isInteger(n) && n >= 0 && n <= 65535) return n;
  throw new ConfigError(`invalid port in "${String(v)}"`, 'listen', path);
}

function formatAddr(l: ListenAddress): string {
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}
