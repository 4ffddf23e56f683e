// cf. ngx_regex.c and ngx_http_variables.c (ngx_http_regex_compile, ngx_http_regex_exec) — the
// regexes of a config (locations, server names, rewrite, if, map), compiled once, and the
// captures a match leaves on the request: $1..$9 for the numbered groups, a variable for each
// named group ((?<name>...), or PCRE's (?P<name>...)), as nginx sets them.

import { ConfigError } from './conf/size-time.js';
import type { Request } from './request.js';
import { declareVariable } from './script.js';

export interface ConfigRegex {
  readonly regex: RegExp;
  /** Numbered groups in the source. */
  readonly groups: number;
  /** Named groups, in order; null when there are none. */
  readonly names: readonly string[] | null;
}

/**
 * Compile a regex as nginx (PCRE) writes it: `(?P<name>` is JavaScript's `(?<name>`, a leading
 * `(?i)` makes it case-insensitive. `what` names the directive for the error.
 */
export function compileRegex(source: string, caseless: boolean, what: string, key: string): ConfigRegex {
  let src = pcreSource(source);
  let flags = caseless ? 'i' : '';
  if (src.startsWith('(?i)')) { src = src.slice(4); flags = 'i'; }
  let regex: RegExp;
  try {
    regex = new RegExp(src, flags);
  } catch (e) {
    throw new ConfigError(`invalid regex "${source}" in ${what}: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`, key);
  }
  return describeRegex(regex);
}

/** The groups of a compiled regex (a match of the empty alternative gives one slot per group). */
export function describeRegex(regex: RegExp): ConfigRegex {
  const m = new RegExp(`(?:${regex.source})|`, regex.flags.replace(/[gy]/g, '')).exec('')!;
  const names = m.groups === undefined ? null : Object.keys(m.groups);
  if (names !== null) for (const n of names) declareVariable(n);
  return { regex, groups: m.length - 1, names };
}

/** PCRE's spelling of a named group, `(?P<name>`, as JavaScript's. */
export function pcreSource(source: string): string {
  return source.replace(/\(\?P</g, '(?<');
}

/**
 * Match `s`; on a match the captures become the request's ($1.., named ones as variables), as
 * ngx_http_regex_exec does. Without groups it is a plain test, and the old captures stay.
 */
export function regexExec(r: Request, re: ConfigRegex, s: string): boolean {
  if (re.groups === 0) return re.regex.test(s);
  const m = re.regex.exec(s);
  if (m === null) return false;
  setCaptures(r, m, re.names);
  return true;
}

export function setCaptures(r: Request, m: RegExpExecArray, names: readonly string[] | null): void {
  r.captures = m;
  if (names !== null && m.groups !== undefined) {
    const vars = (r.variables ??= new Map());
    for (let i = 0; i < names.length; i++) vars.set(names[i], m.groups[names[i]] ?? '');
  }
}
