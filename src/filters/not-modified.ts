// cf. ngx_http_not_modified_filter_module.c — conditional requests on a 200 response:
// If-Unmodified-Since / If-Match → 412, If-Modified-Since / If-None-Match → 304.

import { HeaderFilter, type FilterRequest } from './filter.js';
import { H_IF_MATCH, H_IF_MODIFIED_SINCE, H_IF_NONE_MATCH, H_IF_UNMODIFIED_SINCE } from '../http/parser/types.js';

export class NotModifiedFilter extends HeaderFilter {
  readonly name = 'not_modified';

  header(r: FilterRequest): number {
    const h = r.headersOut;
    if (h.status !== 200 || r !== r.main || (h.lastModified < 0 && h.etag === null)) {
      return this.next!.header(r);
    }
    const ius = r.inKnown(H_IF_UNMODIFIED_SINCE);
    if (ius !== null && !unmodifiedSince(h.lastModified, ius)) return r.filterFinalize(412);
    const im = r.inKnown(H_IF_MATCH);
    if (im !== null && !matchEtag(h.etag, im, false)) return r.filterFinalize(412);

    const ims = r.inKnown(H_IF_MODIFIED_SINCE);
    const inm = r.inKnown(H_IF_NONE_MATCH);
    if (ims !== null || inm !== null) {
      const mode = r.conf.ifModifiedSince;
      if (ims !== null && inm === null && (mode === 'off' || modifiedSince(h.lastModified, ims, mode === 'before'))) {
        return this.next!.header(r);
      }
      if (inm !== null && !matchEtag(h.etag, inm, true)) {
        return this.next!.header(r);
      }
      // 304: the header goes out alone; what a 200 needed to frame its body is dropped
      h.status = 304;
      h.statusLine = null;
      r.headerOnly = true;
      h.contentType = null;
      h.contentLength = -1;
      h.remove('accept-ranges');
      return this.next!.header(r);
    }
    return this.next!.header(r);
  }
}

/** if_modified_since: `exact` wants the very date, `before` any date not older than the file's. */
function modifiedSince(lastModified: number, ims: string, before: boolean): boolean {
  if (lastModified < 0) return true;
  const t = Date.parse(ims);
  if (Number.isNaN(t)) return true;
  const lm = Math.floor(lastModified / 1000) * 1000;
  return before ? lm > t : lm !== t;
}

function unmodifiedSince(lastModified: number, ius: string): boolean {
  if (lastModified < 0) return false;
  const t = Date.parse(ius);
  if (Number.isNaN(t)) return true; // an invalid date is ignored (RFC 9110 13.1.4)
  return Math.floor(lastModified / 1000) * 1000 <= t;
}

/** If-Match (strong) / If-None-Match (weak) comparison against the response's ETag. */
function matchEtag(etag: string | null, list: string, weak: boolean): boolean {
  if (list.trim() === '*') return etag !== null;
  if (etag === null) return false;
  const mine = weak ? stripWeak(etag) : etag;
  if (!weak && etag.startsWith('W/')) return false;
  for (let part of list.split(',')) {
    part = part.trim();
    if (part === '') continue;
    if (weak) part = stripWeak(part);
    else if (part.startsWith('W/')) continue;
    if (part === mine) return true;
  }
  return false;
}

function stripWeak(e: string): string {
  return e.startsWith('W/') ? e.slice(2) : e;
}
