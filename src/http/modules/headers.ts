// cf. ngx_http_headers_filter_module.c — add_header and expires, as a header filter.

import { HeadersFilter, type Expires } from '../../filters/headers.js';
import { isToken } from '../../core/field.js';
import { ConfigError, invalidValue, parseTime } from '../conf/size-time.js';
import { HSL, cmd, defineModule, parser } from '../conf/module.js';
import { isHeaderSafe } from '../conf/parse.js';
import { compileComplex, type Complex } from '../script.js';

export interface AddHeader {
  name: string;
  value: string;
  always: boolean;
  /** ETag or Last-Modified: replaced, or removed by an empty value, not added. */
  replaces: boolean;
  /** The value compiled (null when it has no variables). */
  complex: Complex | null;
}

export type { Expires };

/** [name, value] or [name, value, 'always'], as many as wanted; a block's list replaces the
 *  inherited one (as nginx's add_header does). */
const addHeader = parser<readonly (readonly [string, string] | readonly [string, string, 'always'])[]>()((v, key): readonly AddHeader[] => {
  if (!Array.isArray(v)) throw invalidValue(v, key);
  const out: AddHeader[] = [];
  for (const e of v) {
    if (!Array.isArray(e) || (e.length !== 2 && e.length !== 3) || typeof e[0] !== 'string' || typeof e[1] !== 'string'
      || !isToken(e[0]) || !isHeaderSafe(e[1]) || (e.length === 3 && e[2] !== 'always')) {
      throw invalidValue(e, key);
    }
    const lower = e[0].toLowerCase();
    out.push({
      name: e[0], value: e[1], always: e.length === 3, replaces: lower === 'etag' || lower === 'last-modified',
      complex: e[1].includes('$') ? compileComplex(e[1], key) : null,
    });
  }
  return out;
});

/**
 * ngx_http_parse_expires: 'epoch', 'max', 'off' (not after 'modified'), or a time in seconds'
 * units ('1h', '-1d', '+30m', 3600), or '@' a time of day ('@15h30m', not after 'modified').
 * Returns the expires, 'off', or an error message.
 */
function readExpires(v: string | number, modified: boolean): Expires | 'off' | string {
  if (!modified) {
    if (v === 'epoch') return { kind: 'epoch', ms: 0 };
    if (v === 'max') return { kind: 'max', ms: 0 };
    if (v === 'off') return 'off';
  }
  let kind: Expires['kind'] = modified ? 'modified' : 'offset';
  let t: string | number = v;
  let sign = 1;
  if (typeof t === 'number') {
    if (t < 0) { sign = -1; t = -t; }
  } else if (t.startsWith('@')) {
    if (modified) return 'daily time cannot be used with "modified" parameter';
    kind = 'daily';
    t = t.slice(1);
  } else if (t.startsWith('+')) {
    t = t.slice(1);
  } else if (t.startsWith('-')) {
    sign = -1;
    t = t.slice(1);
  }
  // seconds' units only (nginx's ngx_parse_time(value, 1) refuses "ms")
  if (t === '' || (typeof t === 'string' && t.includes('ms'))) return 'invalid value';
  let ms: number;
  try {
    ms = parseTime(t, 'expires');
  } catch {
    return 'invalid value';
  }
  if (kind === 'daily' && ms > 86400000) return 'daily time value must be less than 24 hours';
  return { kind, ms: sign * ms };
}

/** The same, at request time, for a value with variables: null when it is not valid. */
function expiresAt(modified: boolean): (s: string) => Expires | 'off' | null {
  return (s) => {
    const e = readExpires(s, modified);
    return typeof e === 'string' && e !== 'off' ? null : e;
  };
}

/** 'off', 'epoch', 'max', a time ('1h', '-1d', 3600), '@15h30m', 'modified 1h'; a value may hold $variables. */
const expires = parser<string | number | false>()((v, key): Expires | null => {
  if (v === false) return null;
  if (typeof v !== 'string' && typeof v !== 'number') throw invalidValue(v, key);
  let t: string | number = v;
  let modified = false;
  if (typeof v === 'string') {
    const m = /^modified\s+(\S+)$/.exec(v);
    if (m !== null) { modified = true; t = m[1]; } else if (/\s/.test(v)) throw invalidValue(v, key);
    if (typeof t === 'string' && t.indexOf('$') >= 0) {
      return { kind: modified ? 'modified' : 'offset', ms: 0, value: t, parse: expiresAt(modified) };
    }
  }
  const e = readExpires(t, modified);
  if (e === 'off') return null;
  if (typeof e === 'string') throw new ConfigError(`${e} ${JSON.stringify(String(v))} for "${key}"`, key);
  return e;
});

export const headersModule = defineModule({
  name: 'headers',
  nginx: 'ngx_http_headers_filter_module',
  about: 'addHeader and expires, added to main responses (header filter)',
  notYet: ['add_trailer'],
  directives: {
    addHeader: cmd(HSL, addHeader, []),
    expires: cmd(HSL, expires, null, { differs: 'a response\'s own Expires and Cache-Control are replaced by lines at the end of the head (nginx rewrites them in place)' }),
  },
  headerFilter: () => new HeadersFilter(),
});
