// cf. ngx_http_core_module.c (ngx_http_core_error_page) and ngx_http_special_response.c
// (ngx_http_send_error_page) — `error_page code ... [=[response]] uri`: an error status is
// answered by another URI (an internal redirect, GET unless HEAD), a named location, or a
// redirect to a URL. The answer goes out with the original status, with `=code`'s, or (with a
// bare `=`) with the status the target gives. Once per request unless recursiveErrorPages.

import { ConfigError, invalidValue, showValue } from './conf/size-time.js';
import { parser } from './conf/module.js';
import { compileComplex, type Complex } from './script.js';

export interface ErrorPage {
  readonly uri: Complex;
  /** -1: the original status; 0 (a bare '='): the target's own; else this code. */
  readonly overwrite: number;
  /** A URL, not a URI: a redirect (302, or the =code when it is 301/302/303/307/308). */
  readonly redirect: boolean;
}

type Entry = string | readonly (number | string)[];

function entry(v: unknown, key: string, into: Map<number, ErrorPage>): void {
  let w: unknown[];
  if (typeof v === 'string') w = v.trim().split(/\s+/);
  else if (Array.isArray(v)) w = v;
  else throw invalidValue(v, key);
  if (w.length < 2) throw new ConfigError(`invalid number of arguments in "${key}" directive: ${showValue(v)}`, key);
  const uri = w[w.length - 1];
  if (typeof uri !== 'string' || uri === '') throw invalidValue(v, key);
  let overwrite = -1;
  let end = w.length - 1;
  const eq = w[end - 1];
  if (typeof eq === 'string' && eq.startsWith('=')) {
    end--;
    if (eq === '=') overwrite = 0;
    else {
      const n = Number(eq.slice(1));
      if (!/^=[0-9]{3}$/.test(eq) || n < 200 || n > 599 || n === 444 || n === 499) throw new ConfigError(`invalid value "${eq}"`, key);
      overwrite = n;
    }
  }
  if (end === 0) throw new ConfigError(`invalid number of arguments in "${key}" directive: ${showValue(v)}`, key);
  const redirect = !uri.startsWith('/') && !uri.startsWith('@') && !uri.startsWith('$');
  const page: ErrorPage = { uri: compileComplex(uri, key), overwrite, redirect };
  for (let i = 0; i < end; i++) {
    const c = typeof w[i] === 'string' && /^[0-9]+$/.test(w[i] as string) ? Number(w[i]) : w[i];
    if (typeof c !== 'number' || !Number.isInteger(c)) throw new ConfigError(`invalid value ${showValue(w[i])}`, key);
    if (c < 300 || c > 599) throw new ConfigError(`value "${c}" must be between 300 and 599`, key);
    if (c === 499) throw new ConfigError(`value "${c}" must be between 300 and 599, not 499`, key);
    into.set(c, page);
  }
}

/**
 * One entry ('404 /404.html', [500, 502, '/50x.html'], [404, '=200', '/empty.gif']) or a list of
 * them; a block's list replaces the inherited one, as nginx's error_page does.
 */
export const errorPage = parser<Entry | readonly Entry[]>()((v, key): ReadonlyMap<number, ErrorPage> => {
  const map = new Map<number, ErrorPage>();
  if (typeof v === 'string' || (Array.isArray(v) && v.length > 0 && typeof v[0] === 'number')) entry(v, key, map);
  else if (Array.isArray(v) && v.length > 0) for (const e of v) entry(e, key, map);
  else throw invalidValue(v, key);
  return map;
});
