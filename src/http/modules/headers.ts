// cf. ngx_http_headers_filter_module.c — add_header and expires, as a header filter.

import { HeadersFilter } from '../../filters/headers.js';
import { isToken } from '../../core/field.js';
import { invalidValue, parseTime } from '../conf/size-time.js';
import { HSL, cmd, defineModule, parser } from '../conf/module.js';
import { isHeaderSafe } from '../conf/parse.js';

export interface AddHeader {
  name: string;
  value: string;
  always: boolean;
}

export interface Expires {
  kind: 'epoch' | 'max' | 'offset' | 'modified';
  /** Offset in ms (negative: in the past). */
  ms: number;
}

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
    out.push({ name: e[0], value: e[1], always: e.length === 3 });
  }
  return out;
});

/** 'off', 'epoch', 'max', a time ('1h', '-1d', 3600), or 'modified 1h'. */
const expires = parser<string | number | false>()((v, key): Expires | null => {
  if (v === 'off' || v === false) return null;
  if (v === 'epoch') return { kind: 'epoch', ms: 0 };
  if (v === 'max') return { kind: 'max', ms: 0 };
  let kind: Expires['kind'] = 'offset';
  let t: unknown = v;
  if (typeof v === 'string' && v.startsWith('modified ')) {
    kind = 'modified';
    t = v.slice(9).trim();
  }
  let sign = 1;
  if (typeof t === 'string' && t.startsWith('-')) { sign = -1; t = t.slice(1); }
  if (typeof t === 'string' && t.startsWith('+')) t = t.slice(1);
  if (typeof t === 'number' && t < 0) { sign = -1; t = -t; }
  if (typeof t !== 'string' && typeof t !== 'number') throw invalidValue(v, key);
  return { kind, ms: sign * parseTime(t, key) };
});

export const headersModule = defineModule({
  name: 'headers',
  nginx: 'ngx_http_headers_filter_module',
  about: 'addHeader and expires, added to main responses (header filter)',
  notYet: ['add_trailer'],
  directives: {
    addHeader: cmd(HSL, addHeader, []),
    expires: cmd(HSL, expires, null),
  },
  headerFilter: () => new HeadersFilter(),
});
