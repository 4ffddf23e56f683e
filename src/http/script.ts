// cf. ngx_http_script.c (ngx_http_compile_complex_value, ngx_http_complex_value) — a directive's
// string with $variables, compiled once at load into literal pieces and variable getters, so a
// request only runs the getters and joins. `$name`, `${name}` (to glue text after a name) and
// `$1`..`$9` (the captures of the last regex match), as nginx reads them.

import { ConfigError } from './conf/size-time.js';
import type { Request } from './request.js';
import { getterFor, isKnownVariable, type Getter } from './variables.js';

export class Complex {
  /** The string as written. */
  readonly source: string;
  /** The value when it has no variables, else null. */
  readonly literal: string | null;
  /** Literal pieces and getters, in order (empty for a literal). */
  readonly parts: readonly (string | Getter)[];
  /** The variable names it reads ('1'..'9' for captures). */
  readonly names: readonly string[];

  constructor(source: string, parts: (string | Getter)[], names: string[]) {
    this.source = source;
    this.parts = parts;
    this.names = names;
    this.literal = names.length === 0 ? source : null;
  }

  /** The value for this request. */
  run(r: Request): string {
    if (this.literal !== null) return this.literal;
    const parts = this.parts;
    let s = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      s += typeof p === 'string' ? p : (p(r) ?? '');
    }
    return s;
  }
}

const NAME = /[A-Za-z0-9_]/;

/**
 * While a config is resolved: the variables its values read (with the directive) and those it
 * declares (set, named captures), so that a name nobody defines is a config error, as nginx's
 * "unknown variable".
 */
let reads: { name: string; key: string }[] | null = null;
let declared: Set<string> | null = null;

export function startVariableCheck(): void {
  reads = [];
  declared = new Set();
}

/** The names read but neither known, declared nor in `defined`; ends the check. */
export function endVariableCheck(defined: (name: string) => boolean): { name: string; key: string }[] {
  const r = reads ?? [];
  const d = declared ?? new Set<string>();
  reads = null;
  declared = null;
  return r.filter((x) => !d.has(x.name) && !defined(x.name) && !isKnownVariable(x.name));
}

/** A variable the config makes (set, a named capture, map, geo). */
export function declareVariable(name: string): void {
  if (declared !== null) declared.add(name);
}

/**
 * Compile `s`. With `key` (a directive being loaded) a `$` that starts no variable name is a
 * config error, as in nginx ("invalid variable name"); without it (a string given at run time)
 * such a `$` is kept as text.
 */
export function compileComplex(s: string, key?: string): Complex {
  const parts: (string | Getter)[] = [];
  const names: string[] = [];
  let text = '';
  let i = 0;
  while (i < s.length) {
    const d = s.indexOf('$', i);
    if (d < 0) { text += s.slice(i); break; }
    text += s.slice(i, d);
    let j = d + 1;
    let name = '';
    const c = s.charCodeAt(j);
    if (c >= 0x31 && c <= 0x39) {
      // $1..$9: one digit, so "$12" is capture 1 then "2"
      name = s[j];
      j++;
    } else if (c === 0x7b /* { */) {
      const close = s.indexOf('}', j);
      if (close > j + 1 && /^[A-Za-z0-9_]+$/.test(s.slice(j + 1, close))) {
        name = s.slice(j + 1, close);
        j = close + 1;
      }
    } else {
      while (j < s.length && NAME.test(s[j])) j++;
      name = s.slice(d + 1, j);
    }
    if (name === '') {
      if (key !== undefined) throw new ConfigError(`invalid variable name in "${s}"`, key);
      text += '$';
      i = d + 1;
      continue;
    }
    if (text !== '') { parts.push(text); text = ''; }
    parts.push(getterFor(name));
    names.push(name);
    if (reads !== null && key !== undefined) reads.push({ name, key });
    i = j;
  }
  if (text !== '') parts.push(text);
  return new Complex(s, parts, names);
}

/** Strings given at run time (r.expand, lua), compiled once each; bounded, as a cache. */
const runtime = new Map<string, Complex>();

export function complexOf(s: string): Complex {
  let c = runtime.get(s);
  if (c === undefined) {
    if (runtime.size >= 1024) runtime.clear();
    runtime.set(s, c = compileComplex(s));
  }
  return c;
}
