// cf. objs/ngx_modules.c — the order of the filters.
//
// THE ORDER IS IMPORTANT. A header or body leaves a handler at the top of its chain and walks
// down to the write filter; each filter passes what it does not change straight to the next.
//
//   header:  capture -> not_modified -> headers -> [user filters] -> gzip -> range -> chunked -> header -> (write)
//   body:    range -> copy -> capture -> [user filters] -> postpone -> gzip -> chunked -> write
//
// Why this order (as in nginx):
//   - not_modified first: a 304/412 decision needs the handler's Last-Modified/ETag untouched.
//   - headers (add_header, expires) before gzip and range, which may change the status.
//   - gzip above range: a gzipped body has no known length, so range lets it pass whole.
//   - range above copy in the body chain: it cuts file bufs as windows, before any byte is read.
//   - copy above gzip: gzip needs bytes, so copy reads file bufs into memory for it
//     (filterNeedInMemory); with no such need, file bufs reach the write filter untouched.
//   - capture on top of the header chain and just below copy in the body chain (registered by
//     src/subrequest, where lua-nginx-module's capture filter sits): it records a captured
//     subrequest's status and headers first, asks for bytes (filterNeedInMemory), and collects
//     the body once copy has read any file into memory; nothing below it sees a captured body.
//   - postpone above gzip: subrequests that write to the client are put in document order
//     before the main request's encoders see the bytes.
//   - chunked just above the bottom: it frames whatever the filters above produced.
//   - header (serialise) and write at the bottom: they put bytes on the socket.
//
// Filters are installed from the bottom up, as nginx's modules do at init: each new filter
// takes the current top as its `next`. User filters go where nginx's sub and addition filters
// are: below copy (so they can ask for bytes) and above gzip (so they see the plain body).

import type { Chain } from './buf.js';
import { BodyFilter, HeaderFilter, type FilterRequest } from './filter.js';
import { ChunkedBodyFilter, ChunkedHeaderFilter } from './chunked.js';
import { CopyFilter } from './copy.js';
import { GzipBodyFilter, GzipHeaderFilter } from './gzip.js';
import { HeaderWriteFilter } from './header.js';
import { HeadersFilter } from './headers.js';
import { NotModifiedFilter } from './not-modified.js';
import { PostponeFilter } from './postpone.js';
import { RangeBodyFilter, RangeHeaderFilter } from './range.js';
import { TRACE_ALL, TraceBodyFilter, TraceHeaderFilter } from './trace.js';
import { WriteFilter } from './write.js';

/** A filter module as a user writes one: a header filter, a body filter, or both. */
export interface FilterModule {
  header?: HeaderFilter | null;
  body?: BodyFilter | null;
}

const captureModules: FilterModule[] = [];

/**
 * The subrequest capture filter registers itself here when src/subrequest is loaded, before any
 * chain is built: its header filter goes on top of the header chain, its body filter just below
 * copy — where lua-nginx-module's capture filter ends up (copy's init runs after it), so that
 * the copy filter reads a captured file into memory for it.
 */
export function registerCaptureFilter(m: FilterModule): void {
  captureModules.push(m);
}

export class FilterChains {
  topHeader: HeaderFilter;
  topBody: BodyFilter;
  /** Tracers sit between the filters (installed when tracing may be asked for). */
  readonly traced: boolean;

  constructor(traced = TRACE_ALL, userFilters: readonly FilterModule[] = []) {
    this.traced = traced;
    const write = new WriteFilter();
    const header = new HeaderWriteFilter();
    header.write = write;
    this.topHeader = header;
    this.topBody = write;
    if (traced) {
      const th = new TraceHeaderFilter(header.name);
      th.next = header;
      this.topHeader = th;
      const tb = new TraceBodyFilter(write.name);
      tb.next = write;
      this.topBody = tb;
    }
    this.push(new ChunkedHeaderFilter(), new ChunkedBodyFilter());
    this.push(new RangeHeaderFilter(), null);
    this.push(new GzipHeaderFilter(), new GzipBodyFilter());
    this.push(null, new PostponeFilter());
    // the first user filter listed ends up on top of the others
    for (let i = userFilters.length - 1; i >= 0; i--) this.push(userFilters[i].header ?? null, userFilters[i].body ?? null);
    for (const m of captureModules) this.push(null, m.body ?? null);
    this.push(new HeadersFilter(), new CopyFilter());
    this.push(new NotModifiedFilter(), new RangeBodyFilter());
    for (const m of captureModules) this.push(m.header ?? null, null);
  }

  /** Install a filter pair (either may be null) on top of the chains. */
  push(h: HeaderFilter | null, b: BodyFilter | null): void {
    if (h !== null) {
      h.next = this.topHeader;
      this.topHeader = h;
      if (this.traced) {
        const t = new TraceHeaderFilter(h.name);
        t.next = h;
        this.topHeader = t;
      }
    }
    if (b !== null) {
      b.next = this.topBody;
      this.topBody = b;
      if (this.traced) {
        const t = new TraceBodyFilter(b.name);
        t.next = b;
        this.topBody = t;
      }
    }
  }

  /** Names from top to bottom (tracers left out), for docs, traces and tests. */
  order(): { header: string[]; body: string[] } {
    const header: string[] = [];
    const body: string[] = [];
    for (let h: HeaderFilter | null = this.topHeader; h !== null; h = h.next) if (!h.name.startsWith('trace:')) header.push(h.name);
    for (let b: BodyFilter | null = this.topBody; b !== null; b = b.next) if (!b.name.startsWith('trace:')) body.push(b.name);
    return { header, body };
  }

  sendHeader(r: FilterRequest): number {
    return this.topHeader.header(r);
  }

  output(r: FilterRequest, cl: Chain | null): number {
    return this.topBody.body(r, cl);
  }
}

export * from './buf.js';
export * from './filter.js';
export { HeadersOut } from './headers-out.js';
export { STATUS_TEXT } from './status-lines.js';
export { setTraceSink } from './trace.js';
export { Postponed, addPostponed } from './postpone.js';
