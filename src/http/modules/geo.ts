// cf. ngx_http_geo_module.c — variables whose value depends on the client's address (or on an
// address in another variable), by longest CIDR prefix or, with `ranges`, by IPv4 range.
//
//   geo: {
//     '$geo': { default: 'other', '10.0.0.0/8': 'lan', '2001:db8::/32': 'v6', proxy: '10.0.0.1' },
//     '$arg_ip $net': { ranges: true, '10.0.0.0-10.0.0.255': 'a' },
//   }
//
// A key is the rest of nginx's `geo [$address] $variable` line; the entries are its block's lines.
// A geo variable is worked out when first read and kept for the request (unless `volatile`).

import { AF_INET, parseCidr, parseInet4, parseIp, type Cidr, type IpAddr } from '../../core/cidr.js';
import { ConfigError, invalidValue, showValue } from '../conf/size-time.js';
import { H, cmd, defineModule, parser } from '../conf/module.js';
import type { Directives } from '../conf/directives.js';
import type { Getter } from '../variables.js';
import { isPlainObject, words } from '../conf/parse.js';
import { expandVariables } from '../variables.js';
import type { Request } from '../request.js';
import { forwarded, type Hop } from './realip.js';

const NONE = 0xffffffff; // INADDR_NONE: what is looked up when there is no usable address

/** Longest-prefix match: for each prefix length present (longest first), masked address -> value. */
class CidrTable {
  readonly lens: number[] = [];
  readonly maps: Map<string | number, string>[] = [];

  set(c: Cidr, len: number, value: string): void {
    let i = this.lens.indexOf(len);
    if (i < 0) {
      this.lens.push(len);
      this.lens.sort((a, b) => b - a);
      i = this.lens.indexOf(len);
      this.maps.splice(i, 0, new Map());
    }
    this.maps[i].set(key(c.family, c.a0, c.a1, c.a2, c.a3), value);
  }

  find4(a: number): string | undefined {
    for (let i = 0; i < this.lens.length; i++) {
      const m = this.lens[i] === 0 ? 0 : (0xffffffff << (32 - this.lens[i])) >>> 0;
      const v = this.maps[i].get(((a & m) >>> 0));
      if (v !== undefined) return v;
    }
    return undefined;
  }

  find6(ip: IpAddr): string | undefined {
    const w = [ip.w0, ip.w1, ip.w2, ip.w3];
    for (let i = 0; i < this.lens.length; i++) {
      const len = this.lens[i];
      const m = [0, 1, 2, 3].map((k) => { const b = Math.max(0, Math.min(32, len - 32 * k)); return b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0; });
      const v = this.maps[i].get(key(6, (w[0] & m[0]) >>> 0, (w[1] & m[1]) >>> 0, (w[2] & m[2]) >>> 0, (w[3] & m[3]) >>> 0));
      if (v !== undefined) return v;
    }
    return undefined;
  }
}

function key(family: number, a0: number, a1: number, a2: number, a3: number): string | number {
  return family === AF_INET ? a3 : `${a0}:${a1}:${a2}:${a3}`;
}

/** One geo block, resolved. */
export class Geo {
  /** The variable it sets, without '$'. */
  readonly name: string;
  /** `$variable` whose value is the address, or null for the client's. */
  readonly source: string | null;
  readonly proxies: Cidr[] = [];
  proxyRecursive = false;
  ranges = false;
  volatile = false;
  defaultValue = '';
  readonly v4 = new CidrTable();
  readonly v6 = new CidrTable();
  /** ranges: disjoint, sorted [start, end, value] (a later range wins where it lies inside an earlier one). */
  readonly spans: [number, number, string][] = [];

  constructor(name: string, source: string | null) {
    this.name = name;
    this.source = source;
  }

  /** The value for this request (ngx_http_geo_cidr_variable / ngx_http_geo_range_variable). */
  value(r: Request): string {
    let ip: IpAddr | null;
    if (this.source === null) ip = parseIp(r.main.remoteAddr);
    else ip = parseIp(expandVariables(r, this.source));
    if (ip !== null && this.proxies.length > 0) {
      const xff = r.headersIn.getAll('x-forwarded-for');
      if (xff.length > 0) {
        const fw: Hop = { addr: ip };
        forwarded(fw, xff, this.proxies, this.proxyRecursive);
        ip = fw.addr;
      }
    }
    let a4 = -1;
    if (ip === null) a4 = NONE;
    else if (ip.family === AF_INET || ip.v4mapped) a4 = ip.w3;
    else if (this.ranges) a4 = NONE;
    if (this.ranges) return this.findSpan(a4) ?? this.defaultValue;
    if (a4 >= 0) return this.v4.find4(a4) ?? this.defaultValue;
    return this.v6.find6(ip!) ?? this.defaultValue;
  }

  private findSpan(a: number): string | undefined {
    const s = this.spans;
    let lo = 0, hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (a < s[mid][0]) hi = mid - 1;
      else if (a > s[mid][1]) lo = mid + 1;
      else return s[mid][2];
    }
    return undefined;
  }

  /** ngx_http_geo_add_range: inside an existing range (per /16, as nginx keeps them) or apart from all. */
  addRange(text: string, start: number, end: number, value: string, key: string): void {
    for (const [s, e] of this.spans) {
      if (e < start || s > end) continue;
      // each /16 both cover: the new piece must lie inside the old one
      for (let h = Math.max(s, start) >>> 16; h <= Math.min(e, end) >>> 16; h++) {
        const lo = h * 65536, hi = lo + 65535;
        const ns = Math.max(start, lo), ne = Math.min(end, hi), os = Math.max(s, lo), oe = Math.min(e, hi);
        if (ne < os || ns > oe) continue;
        if (!(ns >= os && ne <= oe)) {
          throw new ConfigError(`range "${text}" overlaps "${ip4(os)}-${ip4(oe)}" in "${key}"`, key);
        }
      }
    }
    // paint [start, end] over what is there
    const out: [number, number, string][] = [];
    for (const sp of this.spans) {
      if (sp[1] < start || sp[0] > end) { out.push(sp); continue; }
      if (sp[0] < start) out.push([sp[0], start - 1, sp[2]]);
      if (sp[1] > end) out.push([end + 1, sp[1], sp[2]]);
    }
    out.push([start, end, value]);
    out.sort((a, b) => a[0] - b[0]);
    this.spans.length = 0;
    this.spans.push(...out);
  }
}

function ip4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

function parseGeoBlock(head: string, block: unknown, key: string): Geo {
  const w = head.trim().split(/\s+/);
  if (w.length < 1 || w.length > 2 || !w.every((x) => /^\$\w+$/.test(x))) {
    throw new ConfigError(`invalid geo ${showValue(head)} in "${key}" (want "$variable" or "$address $variable")`, key);
  }
  const g = new Geo(w[w.length - 1].slice(1), w.length === 2 ? w[0] : null);
  if (!isPlainObject(block)) throw invalidValue(block, key);
  if (block.ranges === true) g.ranges = true;
  else if (block.ranges !== undefined && block.ranges !== false) throw invalidValue(block.ranges, key);
  for (const [net, v] of Object.entries(block)) {
    if (net === 'ranges' || net === 'volatile') {
      if (typeof v !== 'boolean') throw invalidValue(v, key);
      if (net === 'volatile') g.volatile = v;
      continue;
    }
    if (net === 'proxy_recursive' || net === 'proxyRecursive') {
      if (typeof v !== 'boolean') throw invalidValue(v, key);
      g.proxyRecursive = v;
      continue;
    }
    if (net === 'proxy') {
      const list = words(v);
      if (list === null || list.length === 0) throw invalidValue(v, key);
      for (const p of list) {
        const c = typeof p === 'string' ? parseCidr(p) : null;
        if (c === null) throw new ConfigError(`invalid network ${showValue(p)} in "${key}"`, key);
        g.proxies.push(c.cidr);
      }
      continue;
    }
    if (typeof v !== 'string') throw new ConfigError(`invalid value ${showValue(v)} for ${showValue(net)} in "${key}"`, key);
    if (net === 'default') {
      g.defaultValue = v;
      continue;
    }
    if (g.ranges) {
      const dash = net.indexOf('-');
      const start = dash < 0 ? -1 : parseInet4(net, 0, dash);
      const end = dash < 0 ? -1 : parseInet4(net, dash + 1);
      if (start < 0 || end < 0 || start > end) throw new ConfigError(`invalid range "${net}" in "${key}"`, key);
      g.addRange(net, start, end, v, key);
      continue;
    }
    const c = parseCidr(net);
    if (c === null) throw new ConfigError(`invalid network "${net}" in "${key}"`, key);
    const slash = net.indexOf('/');
    const len = slash < 0 ? (c.cidr.family === AF_INET ? 32 : 128) : Number(net.slice(slash + 1));
    // a later line for the same network replaces the value (nginx warns "duplicate network")
    (c.cidr.family === AF_INET ? g.v4 : g.v6).set(c.cidr, len, v);
  }
  return g;
}

const geoBlocks = parser<Readonly<Record<string, Readonly<Record<string, string | boolean | readonly string[]>>>>>()((v, key): readonly Geo[] => {
  if (!isPlainObject(v)) throw invalidValue(v, key);
  const out: Geo[] = [];
  for (const [head, block] of Object.entries(v)) {
    const g = parseGeoBlock(head, block, key);
    if (out.some((o) => o.name === g.name)) throw new ConfigError(`duplicate geo variable "$${g.name}" in "${key}"`, key);
    out.push(g);
  }
  return out;
});

function getter(g: Geo): Getter {
  return (r) => {
    if (!g.volatile && r.varCache !== null) {
      const c = r.varCache.get(g);
      if (c !== undefined) return c;
    }
    const v = g.value(r);
    if (!g.volatile) (r.varCache ??= new Map()).set(g, v);
    return v;
  };
}

// (typed apart from the module, as map's: an inline hook reading Directives makes the types recurse)
function geoVariables(http: Directives): Iterable<readonly [string, Getter]> {
  const list = (http as unknown as { geo: readonly Geo[] | null }).geo ?? [];
  return list.map((g) => [g.name, getter(g)] as const);
}

export const geoModule = defineModule({
  name: 'geo',
  nginx: 'ngx_http_geo_module',
  about: 'variables by client address: longest CIDR prefix, or IPv4 ranges',
  directives: {
    geo: cmd(H, geoBlocks, null, {
      differs: 'one object: "[$address] $variable" keys, each a block of network: value (and default, ranges, proxy, proxy_recursive, volatile); no include, delete or binary bases',
    }),
  },
  variables: geoVariables,
});
