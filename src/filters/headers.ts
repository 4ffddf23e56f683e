// cf. ngx_http_headers_filter_module.c — add_header (with `always`) and expires.

import { HeaderFilter, type FilterRequest } from './filter.js';
import { formatHttpDate } from '../core/clock.js';

/** expires as resolved (nginx's ngx_http_expires_t with its time). */
export interface Expires {
  /** offset: from now (nginx's "access"); modified: from Last-Modified; daily: '@' a time of day. */
  kind: 'epoch' | 'max' | 'offset' | 'modified' | 'daily';
  /** offset/modified: ms (negative: in the past), whole seconds; daily: ms after local midnight. */
  ms: number;
  /** A value with $variables: expanded and read per request by `parse` (kind: offset or modified). */
  value?: string | null;
  /** Reads an expanded value: the expires it gives, 'off', or null when it is not valid. */
  parse?: ((s: string) => Expires | 'off' | null) | null;
}

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

    if (conf.expires !== null && ok) setExpires(r, conf.expires);
    const list = conf.addHeader;
    for (let i = 0; i < list.length; i++) {
      const a = list[i];
      if (!ok && !a.always) continue;
      const v = a.complex != null ? a.complex.run(r as never) : a.value.indexOf('$') < 0 ? a.value : r.expand(a.value);
      if (a.replaces ?? /^(etag|last-modified)$/i.test(a.name)) {
        // nginx replaces these; an empty value removes the response's own
        if (v === '') h.remove(a.name); else h.set(a.name, v);
      } else if (v !== '') {
        h.add(a.name, v);
      }
    }
    return this.next!.header(r);
  }
}

/** ngx_http_set_expires: Expires and Cache-Control, in whole seconds as nginx counts them. */
function setExpires(r: FilterRequest, conf: Expires): void {
  let ex = conf;
  if (conf.value != null && conf.parse != null) {
    const d = conf.parse(r.expand(conf.value));
    if (d === null || d === 'off') return; // nginx: an invalid value sets nothing
    ex = d;
  }
  const h = r.headersOut;
  h.remove('expires');
  h.remove('cache-control');
  if (ex.kind === 'epoch') {
    h.set('Expires', 'Thu, 01 Jan 1970 00:00:01 GMT');
    h.set('Cache-Control', 'no-cache');
    return;
  }
  if (ex.kind === 'max') {
    h.set('Expires', EXPIRES_MAX);
    h.set('Cache-Control', `max-age=${MAX_AGE_MAX}`);
    return;
  }
  // one reading of the clock for both (two could fall on either side of a second)
  const nowMs = Date.now();
  const now = Math.floor(nowMs / 1000);
  const t = Math.trunc(ex.ms / 1000);
  if (t === 0 && ex.kind !== 'daily') {
    h.set('Expires', formatHttpDate(now * 1000));
    h.set('Cache-Control', 'max-age=0');
    return;
  }
  let at: number;
  let maxAge: number;
  if (ex.kind === 'daily') {
    at = nextTime(now, t);
    maxAge = at - now;
  } else if (ex.kind === 'offset' || h.lastModified < 0) {
    maxAge = t;
    at = now + t;
  } else {
    at = Math.floor(h.lastModified / 1000) + t;
    maxAge = at - now;
  }
  h.set('Expires', formatHttpDate(at * 1000));
  // nginx looks at the configured time's sign (0 for a value with variables) and at max-age's
  h.set('Cache-Control', conf.ms < 0 || maxAge < 0 ? 'no-cache' : `max-age=${maxAge}`);
}

/** ngx_next_time: the next moment (seconds) that local time of day `when` comes, after now. */
function nextTime(now: number, when: number): number {
  const d = new Date(now * 1000);
  d.setHours(Math.floor(when / 3600), Math.floor((when % 3600) / 60), when % 60, 0);
  const next = Math.floor(d.getTime() / 1000);
  if (next - now > 0) return next;
  d.setDate(d.getDate() + 1);
  return Math.floor(d.getTime() / 1000);
}
