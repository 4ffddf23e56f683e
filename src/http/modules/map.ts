// cf. ngx_http_map_module.c — `map $source $variable { ... }`: a variable whose value is chosen
// by matching another value (a complex value: variables and text) against a table. As nginx:
// strings are compared case-insensitively; with `hostnames`, '*.example.com', '.example.com'
// and 'www.example.*' masks match too (exact first, then the longest leading mask, then the
// longest trailing one); then the regexes (~ and ~*) in the order written, whose captures the
// value may use; else `default` (else empty). The value is worked out once per request, when
// first read (unless `volatile`).
//
//   map: { '$http_user_agent $mobile': { default: '0', '~*iphone|android': '1' } }
//
// The keys `default`, `hostnames` and `volatile` are the parameters, as in nginx's block; a
// literal key of that name is written with a backslash ('\\default'), as in nginx.

import { ConfigError, invalidValue, showValue } from '../conf/size-time.js';
import { H, cmd, defineModule, parser } from '../conf/module.js';
import { isPlainObject } from '../conf/parse.js';
import type { Request } from '../request.js';
import { compileComplex, type Complex } from '../script.js';
import { compileRegex, setCaptures, type ConfigRegex } from '../regex.js';
import type { Getter } from '../variables.js';
import type { Directives } from '../conf/directives.js';

export interface MapDef {
  readonly name: string;
  readonly source: Complex;
  readonly exact: ReadonlyMap<string, Complex>;
  /** '.example.com' style suffixes (with their dot), longest first; `bare`: matches example.com too. */
  readonly head: readonly { suffix: string; bare: boolean; value: Complex }[];
  /** 'www.example.' style prefixes, longest first. */
  readonly tail: readonly { prefix: string; value: Complex }[];
  readonly regexes: readonly { re: ConfigRegex; value: Complex }[];
  readonly def: Complex | null;
  readonly volatile: boolean;
  readonly hostnames: boolean;
}

type MapBlock = Readonly<Record<string, string | number | boolean>>;

function mapDef(head: string, body: unknown, key: string): MapDef {
  const w = head.trim().split(/\s+/);
  if (w.length !== 2 || !w[0].includes('$') || !/^\$[A-Za-z0-9_]+$/.test(w[1])) {
    throw new ConfigError(`invalid map "${head}": it is "$source $variable"`, key);
  }
  if (!isPlainObject(body)) throw invalidValue(body, key);
  const name = w[1].slice(1);
  const hostnames = body.hostnames === true;
  const exact = new Map<string, Complex>();
  const heads: { suffix: string; bare: boolean; value: Complex }[] = [];
  const tails: { prefix: string; value: Complex }[] = [];
  const regexes: { re: ConfigRegex; value: Complex }[] = [];
  let def: Complex | null = null;
  let volatile = false;
  for (const k of Object.keys(body)) {
    const raw = body[k];
    if (k === 'hostnames' || k === 'volatile') {
      if (typeof raw !== 'boolean') throw new ConfigError(`"${k}" in map "${head}" is true or false`, key);
      if (k === 'volatile') volatile = raw;
      continue;
    }
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new ConfigError(`invalid value ${showValue(raw)} for ${showValue(k)} in map "${head}"`, key);
    const value = compileComplex(String(raw), key);
    if (k === 'default') { def = value; continue; }
    let match = k.startsWith('\\') ? k.slice(1) : k;
    if (!k.startsWith('\\') && (match.startsWith('~'))) {
      const caseless = match.startsWith('~*');
      regexes.push({ re: compileRegex(match.slice(caseless ? 2 : 1), caseless, `map "${head}"`, key), value });
      continue;
    }
    match = match.toLowerCase();
    if (hostnames) {
      if (match.endsWith('.')) match = match.slice(0, -1);
      if (match.startsWith('*.')) { heads.push({ suffix: match.slice(1), bare: false, value }); continue; }
      if (match.startsWith('.')) { heads.push({ suffix: match, bare: true, value }); continue; }
      if (match.endsWith('.*')) { tails.push({ prefix: match.slice(0, -1), value }); continue; }
    }
    if (exact.has(match)) throw new ConfigError(`conflicting parameter "${k}" in map "${head}"`, key);
    exact.set(match, value);
  }
  heads.sort((a, b) => b.suffix.length - a.suffix.length);
  tails.sort((a, b) => b.prefix.length - a.prefix.length);
  return { name, source: compileComplex(w[0], key), exact, head: heads, tail: tails, regexes, def, volatile, hostnames };
}

/** { '$source $variable': { default, hostnames, volatile, match: value, ... } }, in order. */
const maps = parser<Readonly<Record<string, MapBlock>>>()((v, key): readonly MapDef[] => {
  if (!isPlainObject(v)) throw invalidValue(v, key);
  return Object.keys(v).map((head) => mapDef(head, v[head], key));
});

/** The value for a source string (ngx_http_map_find), or null for the default. */
export function mapFind(r: Request, m: MapDef, s: string): Complex | null {
  let low = s.toLowerCase();
  const hit = m.exact.get(low);
  if (hit !== undefined) return hit;
  if (m.hostnames) {
    if (low.endsWith('.')) low = low.slice(0, -1);
    for (const h of m.head) {
      if (low.endsWith(h.suffix) || (h.bare && low === h.suffix.slice(1))) return h.value;
    }
    for (const t of m.tail) if (low.startsWith(t.prefix) && low.length > t.prefix.length) return t.value;
  }
  if (s.length > 0) {
    for (const x of m.regexes) {
      if (x.re.groups === 0) {
        if (x.re.regex.test(s)) return x.value;
        continue;
      }
      const mt = x.re.regex.exec(s);
      if (mt !== null) { setCaptures(r, mt, x.re.names); return x.value; }
    }
  }
  return null;
}

function getter(m: MapDef): Getter {
  return (r) => {
    // the values of non-volatile maps are kept for the request once worked out
    if (!m.volatile && r.varCache !== null) {
      const c = r.varCache.get(m);
      if (c !== undefined) return c;
    }
    const value = mapFind(r, m, m.source.run(r)) ?? m.def;
    const out = value === null ? '' : value.run(r);
    if (!m.volatile) (r.varCache ??= new Map()).set(m, out);
    return out;
  };
}

// (typed apart from the module: an inline hook reading Directives makes the config's types recurse)
function mapVariables(http: Directives): Iterable<readonly [string, Getter]> {
  const list = (http as unknown as { map: readonly MapDef[] | null }).map ?? [];
  return list.map((m) => [m.name, getter(m)] as const);
}

export const mapModule = defineModule({
  name: 'map',
  nginx: 'ngx_http_map_module',
  about: 'map: variables whose values are chosen from a table by another value',
  notYet: ['map_hash_max_size', 'map_hash_bucket_size'],
  directives: {
    map: cmd(H, maps, null, { differs: 'one object: "$source $variable" keys, each a block of match: value; `include` is not taken (a config is code: spread an object in)' }),
  },
  variables: mapVariables,
});
