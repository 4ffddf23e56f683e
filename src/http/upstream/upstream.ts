// cf. ngx_http_upstream.c (upstream {} blocks), ngx_http_upstream_round_robin.c,
// ngx_http_upstream_least_conn_module.c, ngx_http_upstream_hash_module.c,
// ngx_http_upstream_keepalive_module.c — upstream groups, peer selection and failure accounting.

import { KeepalivePool } from './keepalive.js';
import type { UpstreamConnection } from './connection.js';
import { ConfigError, parseTime, showValue } from '../conf/size-time.js';

export type Balance = 'round-robin' | 'least-conn' | { hash: string };

/** One `server` of an upstream group, with its state. */
export class Peer {
  readonly host: string;
  readonly port: number;
  /** "host:port", the pool key. */
  readonly name: string;
  readonly weight: number;
  readonly maxFails: number;
  readonly failTimeout: number;
  readonly backup: boolean;
  down: boolean;
  // state (ngx_http_upstream_rr_peer_t)
  fails: number;
  /** When the failure window began, or the peer was last tried after one (ms). */
  checked: number;
  /** When it last failed (ms), 0 when never. */
  accessed: number;
  conns: number;
  currentWeight: number;
  effectiveWeight: number;

  constructor(host: string, port: number, weight: number, maxFails: number, failTimeout: number, backup: boolean, down: boolean) {
    this.host = host;
    this.port = port;
    this.name = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.weight = weight;
    this.maxFails = maxFails;
    this.failTimeout = failTimeout;
    this.backup = backup;
    this.down = down;
    this.fails = 0;
    this.checked = 0;
    this.accessed = 0;
    this.conns = 0;
    this.currentWeight = 0;
    this.effectiveWeight = weight;
  }
}

export class UpstreamGroup {
  readonly name: string;
  readonly primary: Peer[];
  readonly backup: Peer[];
  readonly balance: Balance;
  /** Idle connections kept (nginx's `keepalive N`); null = none. */
  readonly pool: KeepalivePool<UpstreamConnection> | null;
  /** A group made for a proxyPass to a plain host:port (nginx's implicit upstream). */
  readonly implicit: boolean;

  constructor(name: string, primary: Peer[], backup: Peer[], balance: Balance, pool: KeepalivePool<UpstreamConnection> | null, implicit: boolean) {
    this.name = name;
    this.primary = primary;
    this.backup = backup;
    this.balance = balance;
    this.pool = pool;
    this.implicit = implicit;
  }

  /**
   * The next peer to try, or null when none is left ("no live upstreams"). `tried` holds the
   * peers this request already tried; `hashKey` is the expanded key for `hash` balancing.
   */
  select(tried: ReadonlySet<Peer>, hashKey: string | null, now = Date.now()): Peer | null {
    const single = this.primary.length === 1 && this.backup.length === 0;
    let p = this.pick(this.primary, tried, hashKey, now, single);
    if (p === null && this.backup.length > 0) p = this.pick(this.backup, tried, null, now, false);
    return p;
  }

  /** Whether select() would find a peer; changes no state (for "is there another one to try?"). */
  hasPeer(tried: ReadonlySet<Peer>, now = Date.now()): boolean {
    const single = this.primary.length === 1 && this.backup.length === 0;
    for (const p of this.primary) if (!p.down && !tried.has(p) && (single || available(p, now))) return true;
    for (const p of this.backup) if (!p.down && !tried.has(p) && available(p, now)) return true;
    return false;
  }

  private pick(peers: Peer[], tried: ReadonlySet<Peer>, hashKey: string | null, now: number, single: boolean): Peer | null {
    const usable = (peer: Peer) => !peer.down && !tried.has(peer) && (single || available(peer, now));
    const b = this.balance;
    if (typeof b === 'object' && hashKey !== null) {
      // ngx_http_upstream_hash: crc32 of the key picks a weighted slot; an unusable peer
      // is skipped by rehashing (20 tries), then round-robin takes over
      const total = peers.reduce((n, peer) => n + peer.weight, 0);
      let h = crc32(hashKey);
      for (let tries = 0; tries < 20 && total > 0; tries++) {
        let w = h % total;
        let chosen: Peer | null = null;
        for (const peer of peers) {
          if (w < peer.weight) { chosen = peer; break; }
          w -= peer.weight;
        }
        if (chosen !== null && usable(chosen)) return take(chosen, now);
        h = crc32(String(h) + hashKey);
      }
    }
    if (b === 'least-conn') {
      let best: Peer | null = null;
      for (const peer of peers) {
        if (!usable(peer)) continue;
        if (best === null || peer.conns * best.weight < best.conns * peer.weight) best = peer;
      }
      return best === null ? null : take(best, now);
    }
    // smooth weighted round-robin (ngx_http_upstream_get_peer)
    let best: Peer | null = null;
    let total = 0;
    for (const peer of peers) {
      if (!usable(peer)) continue;
      peer.currentWeight += peer.effectiveWeight;
      total += peer.effectiveWeight;
      if (peer.effectiveWeight < peer.weight) peer.effectiveWeight++;
      if (best === null || peer.currentWeight > best.currentWeight) best = peer;
    }
    if (best === null) return null;
    best.currentWeight -= total;
    return take(best, now);
  }

  /**
   * The peer failed this request (error, timeout, or a status listed in proxyNextUpstream): it
   * counts towards max_fails, and its effective weight drops by weight/max_fails, so round-robin
   * picks it less often until it earns the weight back (one per selection). A group of one peer
   * keeps no such accounts (nginx's `single`).
   */
  fail(peer: Peer, now = Date.now()): void {
    if (this.primary.length === 1 && this.backup.length === 0) return;
    peer.fails++;
    peer.accessed = now;
    peer.checked = now;
    if (peer.maxFails > 0) {
      peer.effectiveWeight -= Math.floor(peer.weight / peer.maxFails);
      if (peer.effectiveWeight < 0) peer.effectiveWeight = 0;
    }
  }

  /**
   * The peer answered. Its failures are forgotten only once it was tried after fail_timeout
   * (checked later than its last failure), as nginx does: a success within the window does not
   * wipe the count.
   */
  succeed(peer: Peer): void {
    if (peer.accessed < peer.checked) peer.fails = 0;
  }
}

/** CRC-32 of a string's UTF-8 bytes (the hash nginx's `hash` balancing uses). */
const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();
export function crc32(s: string): number {
  const b = Buffer.from(s);
  let c = -1;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Not failed too often within fail_timeout (max_fails=0 turns the accounting off). */
function available(p: Peer, now: number): boolean {
  if (p.maxFails === 0 || p.fails < p.maxFails) return true;
  return now - p.checked > p.failTimeout;
}

function take(p: Peer, now: number): Peer {
  // a peer picked once fail_timeout has passed since it was last checked is checked now: a
  // success from here on clears its failures, and a failed one is tried again
  if (now - p.checked > p.failTimeout) p.checked = now;
  return p;
}

/** "host:port", "[v6]:port", "host" (port 80). */
export function parseAddress(a: unknown, key: string): { host: string; port: number } {
  if (typeof a !== 'string' || a === '') throw new ConfigError(`invalid address ${showValue(a)} for "${key}"`, key);
  let host: string;
  let portStr: string | undefined;
  if (a.startsWith('[')) {
    const close = a.indexOf(']');
    if (close < 0) throw new ConfigError(`invalid address ${showValue(a)} for "${key}"`, key);
    host = a.slice(1, close);
    const rest = a.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new ConfigError(`invalid address ${showValue(a)} for "${key}"`, key);
    portStr = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = a.lastIndexOf(':');
    host = colon < 0 ? a : a.slice(0, colon);
    portStr = colon < 0 ? undefined : a.slice(colon + 1);
  }
  const port = portStr === undefined ? 80 : Number(portStr);
  if (host === '' || !/^[A-Za-z0-9.:_-]+$/.test(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`invalid address ${showValue(a)} for "${key}"`, key);
  }
  return { host, port };
}

const SERVER_KEYS = new Set(['address', 'weight', 'maxFails', 'failTimeout', 'backup', 'down']);
const GROUP_KEYS = new Set(['servers', 'keepalive', 'keepaliveTimeout', 'keepaliveRequests', 'keepaliveTime', 'balance']);

/** A ConfigError from `fn` placed in the block `path`. */
function at<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError) throw e.at(path);
    throw e;
  }
}

/** Validate `upstreams: { name: { servers, keepalive?, balance? } }` into groups. */
export function resolveUpstreams(raw: unknown): Map<string, UpstreamGroup> {
  const out = new Map<string, UpstreamGroup>();
  if (raw === undefined) return out;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('"upstreams" must be an object of upstream groups', 'upstreams', 'config');
  for (const [name, g] of Object.entries(raw as Record<string, unknown>)) {
    const where = `upstreams["${name}"]`;
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ConfigError(`invalid upstream name "${name}"`, name, 'upstreams');
    if (typeof g !== 'object' || g === null || Array.isArray(g)) throw new ConfigError('an upstream must be an object', name, where);
    const grp = g as Record<string, unknown>;
    for (const k of Object.keys(grp)) {
      if (!GROUP_KEYS.has(k)) throw new ConfigError(`unknown directive "${k}"`, k, where);
    }
    if (!Array.isArray(grp.servers) || grp.servers.length === 0) throw new ConfigError(`no servers are inside upstream`, 'servers', where);
    const primary: Peer[] = [];
    const backup: Peer[] = [];
    grp.servers.forEach((s: unknown, i: number) => {
      const sk = `${where}.servers[${i}]`;
      const so = typeof s === 'string' ? { address: s } : s;
      if (typeof so !== 'object' || so === null) throw new ConfigError('invalid server', 'servers', sk);
      const sv = so as Record<string, unknown>;
      for (const k of Object.keys(sv)) {
        if (!SERVER_KEYS.has(k)) throw new ConfigError(`invalid parameter "${k}"`, k, sk);
      }
      const { host, port } = at(sk, () => parseAddress(sv.address, 'address'));
      const num = (v: unknown, d: number, k: string) => {
        if (v === undefined) return d;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigError(`invalid value ${showValue(v)} for "${k}"`, k, sk);
        return v;
      };
      const weight = num(sv.weight, 1, 'weight');
      if (weight < 1) throw new ConfigError(`invalid value "0" for "weight"`, 'weight', sk);
      const maxFails = num(sv.maxFails, 1, 'maxFails');
      const failTimeout = sv.failTimeout === undefined ? 10000 : at(sk, () => parseTime(sv.failTimeout as string | number, 'failTimeout'));
      const flag = (v: unknown, k: string) => {
        if (v === undefined) return false;
        if (typeof v !== 'boolean') throw new ConfigError(`invalid value ${showValue(v)} for "${k}"`, k, sk);
        return v;
      };
      const peer = new Peer(host, port, weight, maxFails, failTimeout, flag(sv.backup, 'backup'), flag(sv.down, 'down'));
      (peer.backup ? backup : primary).push(peer);
    });
    if (primary.length === 0) throw new ConfigError(`no primary servers`, 'servers', where);
    let balance: Balance = 'round-robin';
    const b = grp.balance;
    if (b === 'least-conn' || b === 'round-robin') balance = b;
    else if (typeof b === 'object' && b !== null && typeof (b as { hash?: unknown }).hash === 'string') balance = { hash: (b as { hash: string }).hash };
    else if (b !== undefined) throw new ConfigError(`invalid value ${showValue(b)} for "balance"`, 'balance', where);
    if (typeof balance === 'object' && backup.length > 0) throw new ConfigError(`balancing method does not support parameter "backup"`, 'balance', where);
    let pool: KeepalivePool<UpstreamConnection> | null = null;
    if (grp.keepalive !== undefined) {
      const n = grp.keepalive;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new ConfigError(`invalid value ${showValue(n)} for "keepalive"`, 'keepalive', where);
      const kt = grp.keepaliveTimeout === undefined ? 60000 : at(where, () => parseTime(grp.keepaliveTimeout as string | number, 'keepaliveTimeout'));
      const kr = grp.keepaliveRequests === undefined ? 1000 : Number(grp.keepaliveRequests);
      if (!Number.isInteger(kr) || kr < 1) throw new ConfigError(`invalid value ${showValue(grp.keepaliveRequests)} for "keepaliveRequests"`, 'keepaliveRequests', where);
      const ktime = grp.keepaliveTime === undefined ? 3600000 : at(where, () => parseTime(grp.keepaliveTime as string | number, 'keepaliveTime'));
      pool = new KeepalivePool<UpstreamConnection>(n, kt, kr, undefined, ktime);
    }
    out.set(name, new UpstreamGroup(name, primary, backup, balance, pool, false));
  }
  return out;
}

/** The group for a proxyPass host: a named upstream, or an implicit one for host:port. */
export function implicitGroup(host: string, port: number): UpstreamGroup {
  // nginx's implicit upstream: one server, no keepalive cache, never marked down
  const peer = new Peer(host, port, 1, 1, 10000, false, false);
  return new UpstreamGroup(peer.name, [peer], [], 'round-robin', null, true);
}
