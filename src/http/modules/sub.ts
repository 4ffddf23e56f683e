// cf. ngx_http_sub_filter_module.c — sub_filter and its directives; the filters are src/filters/sub.ts.

import { SubBodyFilter, SubHeaderFilter, subTable, type SubFilters, type SubPair } from '../../filters/sub.js';
import { ConfigError, invalidValue } from '../conf/size-time.js';
import { HSL, cmd, defineModule, parser } from '../conf/module.js';
import { flag, words } from '../conf/parse.js';
import { mimeTypes } from '../conf/parse.js';

/** [search, replacement] pairs, as many as wanted (up to 255); either may hold $variables. A
 *  block's list replaces the inherited one, as nginx's sub_filter does. */
const subFilter = parser<readonly (readonly [string, string])[]>()((v, key): SubFilters => {
  if (!Array.isArray(v) || v.length === 0) throw invalidValue(v, key);
  const pairs: SubPair[] = [];
  for (const e of v) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'string') throw invalidValue(e, key);
    if (e[0] === '') throw new ConfigError(`empty search pattern in "${key}"`, key);
    if (pairs.length === 255) throw new ConfigError(`number of search patterns exceeds 255 in "${key}"`, key);
    pairs.push({ match: e[0], value: e[1] });
  }
  return { pairs, table: subTable(pairs) };
});

// MIME types: conf/parse.ts's mimeTypes (text/html always, '*' for any)
const subTypes = mimeTypes;

export const subModule = defineModule({
  name: 'sub',
  nginx: 'ngx_http_sub_filter_module',
  about: 'replaces strings in response bodies of the listed types, matched case-insensitively across bufs',
  directives: {
    subFilter: cmd(HSL, subFilter, null),
    subFilterOnce: cmd(HSL, flag, true),
    subFilterTypes: cmd(HSL, subTypes, 'text/html'),
    subFilterLastModified: cmd(HSL, flag, false),
  },
  headerFilter: () => new SubHeaderFilter(),
  bodyFilter: () => new SubBodyFilter(),
});
