// cf. ngx_http_gzip_filter_module.c — gzip and its directives; the filters are src/filters/gzip.ts.

import { GzipBodyFilter, GzipHeaderFilter } from '../../filters/gzip.js';
import { invalidValue } from '../conf/size-time.js';
import { HSL, cmd, defineModule, parser } from '../conf/module.js';
import { flag, size, words } from '../conf/parse.js';

/** MIME types to compress besides text/html (always); '*' for any. */
const gzipTypes = parser<string | readonly string[]>()((v, key): ReadonlySet<string> => {
  const list = words(v);
  if (list === null || list.length === 0) throw invalidValue(v, key);
  const set = new Set<string>(['text/html']);
  for (const t of list) {
    if (typeof t !== 'string' || !/^(\*|[\w.+-]+\/[\w.+*-]+)$/.test(t)) throw invalidValue(t, key);
    set.add(t.toLowerCase());
  }
  return set;
});

/** 1..9. */
const compLevel = parser<number>()((v, key): number => {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 9) return v;
  throw invalidValue(v, key);
});

export const gzipModule = defineModule({
  name: 'gzip',
  nginx: 'ngx_http_gzip_filter_module',
  about: 'compresses main responses of the listed types for clients that accept gzip',
  notYet: ['gzip_proxied', 'gzip_disable', 'gzip_http_version', 'gzip_buffers'],
  directives: {
    gzip: cmd(HSL, flag, false),
    gzipTypes: cmd(HSL, gzipTypes, 'text/html'),
    gzipMinLength: cmd(HSL, size, 20),
    gzipCompLevel: cmd(HSL, compLevel, 1),
    gzipVary: cmd(HSL, flag, false),
  },
  headerFilter: () => new GzipHeaderFilter(),
  bodyFilter: () => new GzipBodyFilter(),
});
