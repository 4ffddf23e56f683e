// cf. objs/ngx_modules.c — the order of the filters.
//
// THE ORDER IS IMPORTANT. A header or body leaves a handler at the top of its chain and walks
// down to the write filter; each filter passes what it does not change straight to the next.
//
//   header:  chunked -> header (serialise) -> [write]
//   body:    chunked -> write
//
// Filters are installed from the bottom up, as nginx's modules do at init: each new filter
// takes the current top as its `next`.

import type { Chain } from './buf.js';
import { BodyFilter, HeaderFilter, type FilterRequest } from './filter.js';
import { ChunkedBodyFilter, ChunkedHeaderFilter } from './chunked.js';
import { HeaderWriteFilter } from './header.js';
import { WriteFilter } from './write.js';

export class FilterChains {
  topHeader: HeaderFilter;
  topBody: BodyFilter;

  constructor() {
    const write = new WriteFilter();
    const header = new HeaderWriteFilter();
    header.write = write;
    this.topHeader = header;
    this.topBody = write;
    this.push(new ChunkedHeaderFilter(), new ChunkedBodyFilter());
  }

  /** Install a filter pair (either may be null) on top of the chains. */
  push(h: HeaderFilter | null, b: BodyFilter | null): void {
    if (h !== null) { h.next = this.topHeader; this.topHeader = h; }
    if (b !== null) { b.next = this.topBody; this.topBody = b; }
  }

  /** Names from top to bottom, for docs, traces and tests. */
  order(): { header: string[]; body: string[] } {
    const header: string[] = [];
    const body: string[] = [];
    for (let h: HeaderFilter | null = this.topHeader; h !== null; h = h.next) header.push(h.name);
    for (let b: BodyFilter | null = this.topBody; b !== null; b = b.next) body.push(b.name);
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
