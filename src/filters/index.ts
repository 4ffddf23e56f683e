// The chain builder: a server's header and body filter chains from an ordered list of steps.
// The order itself is the module list's (src/modules.ts, the counterpart of objs/ngx_modules.c),
// where it is written down with the reasons for it.

import type { Chain } from '../core/buf.js';
import { BodyFilter, HeaderFilter, type FilterRequest } from './filter.js';
import { HeaderWriteFilter } from './header.js';
import { TRACE_ALL, TraceBodyFilter, TraceHeaderFilter } from './trace.js';
import { WriteFilter } from './write.js';

/** What one module contributes to the chains: a header filter, a body filter, or both. */
export interface FilterPair {
  header?: HeaderFilter | null;
  body?: BodyFilter | null;
}

/** One step of building the chains: the filters a module adds, made anew for this chain. */
export type FilterStep = () => readonly FilterPair[];

/**
 * One server's header and body chains (nginx's ngx_http_top_header_filter and
 * ngx_http_top_body_filter, but per server, never shared: each chain holds its own instances).
 * Built from the bottom up, as nginx's modules install their filters at init: each step's
 * filters take the current top as their `next`.
 */
export class FilterChains {
  topHeader: HeaderFilter;
  topBody: BodyFilter;
  /** Tracers sit between the filters (installed when tracing may be asked for). */
  readonly traced: boolean;

  constructor(steps: readonly FilterStep[], traced = TRACE_ALL) {
    this.traced = traced;
    let th: HeaderFilter | null = null;
    let tb: BodyFilter | null = null;
    for (const step of steps) {
      for (const p of step()) {
        const h = p.header ?? null;
        const b = p.body ?? null;
        if (h !== null) th = link1(h, th, traced);
        if (b !== null) tb = link1(b, tb, traced);
      }
    }
    if (th === null || tb === null) throw new Error('filter chains need the header and write filters at the bottom');
    this.topHeader = th;
    this.topBody = tb;
    // the header filter hands its buf straight to the write filter (as nginx calls ngx_http_write_filter)
    let write: BodyFilter | null = null;
    for (let b: BodyFilter | null = tb; b !== null; b = b.next) if (b instanceof WriteFilter) write = b;
    for (let h: HeaderFilter | null = th; h !== null; h = h.next) if (h instanceof HeaderWriteFilter) h.write = write;
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

/** Put `f` on top of `top` (with a tracer above it when tracing). */
function link1<F extends HeaderFilter | BodyFilter>(f: F, top: F | null, traced: boolean): F {
  if (f.next !== null) throw new Error(`filter "${f.name}" is already in a chain: filters are made anew for each chain`);
  f.next = top as never;
  if (!traced) return f;
  const t = (f instanceof HeaderFilter ? new TraceHeaderFilter(f.name) : new TraceBodyFilter(f.name)) as unknown as F;
  t.next = f as never;
  return t;
}

export * from '../core/buf.js';
export * from './filter.js';
export { HeadersOut } from './headers-out.js';
export { STATUS_TEXT } from './status-lines.js';
export { setTraceSink } from './trace.js';
export { Postponed, addPostponed } from './postpone.js';
