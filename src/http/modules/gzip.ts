// cf. ngx_http_gzip_filter_module.c — gzip and its directives; the filters are src/filters/gzip.ts.

import { GzipBodyFilter, GzipHeaderFilter } from '../../filters/gzip.js';
import { invalidValue } from '../conf/size-time.js';
import { HSL, cmd, defineModule, parser } from '../conf/module.js';
import { flag, size, words } from '../conf/parse.js';
import { mimeTypes } from '../conf/parse.js';

// MIME types: conf/parse.ts's mimeTypes (text/html always, '*' for any)
const gzipTypes = mimeTypes;

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
