// cf. ngx_http_headers_filter_module.c — add_header (with `always`) and expires.

import { HeaderFilter, type FilterRequest } from './filter.js';
import { formatHttpDate } from '../core/clock.js';

/** Statuses add_header applies to without `always`. */
function addable(status: number): boolean {
  return status === 200 || status === 201 || status === 204 || status === 206 || status === 301
    || status === 302 || status === 303 || status === 304 || status === 307 || status === 308;
}

const MAX_AGE_MAX = 315360000; // nginx's "expires max": 10 years
const EXPIRES_MAX = 'Thu, 31 Dec 2037 23:55:55 GMT';

export class HeadersFilter extends HeaderFilter {
  readonly name = 'headers';

  header(r: FilterRequest): number {
    const conf = r.conf;
    if ((conf.addHeader.length === 0 && conf.expires === null) || r !== r.main) return this.next!.header(r);
    const h = r.headersOut;
    const ok = addable(h.status);

    const ex = conf.expires;
    if (ex !== null && ok) {
      h.remove('expires');
      h.remove('cache-control');
      if (ex.kind === 'epoch') {
        h.set('Expires', 'Thu, 01 Jan 1970 00:00:01 GMT');
        h.set('Cache-Control', 'no-cache');
      } else if (ex.kind === 'max') {
        h.set('Expires', EXPIRES_MAX);
        h.set('Cache-Control', `max-age=${MAX_AGE_MAX}`);
      } else {
        // one reading of the clock for both (two could fall on either side of a second)
        const now = Date.now();
        const base = ex.kind === 'modified' && h.lastModified >= 0 ? h.lastModified : now;
        const at = base + ex.ms;
        h.set('Expires', formatHttpDate(at));
        const age = Math.floor((at - now) / 1000);
        h.set('Cache-Control', age > 0 ? `max-age=${age}` : 'no-cache');
      }
    }
    const list = conf.addHeader;
    for (let i = 0; i < list.length; i++) {
      const a = list[i];
      if (ok || a.always) h.add(a.name, a.value.indexOf('$') < 0 ? a.value : r.expand(a.value));
    }
    return this.next!.header(r);
  }
}
