// An example body filter, installed through the public API: it upper-cases ASCII letters of
// text responses for locations that ask for it with ctx. Read docs/filters.md next to it.
//
//   import { UppercaseFilter } from './examples/filters/uppercase.js';
//   export default defineConfig({ filters: [UppercaseFilter], servers: [...] });
//
// The class is given, not an instance: every server makes its own chains from fresh filters.
//
// User filters sit below copy and above gzip (where nginx's sub and addition filters are), so
// they see bytes when they set filterNeedInMemory. It follows the habits of nginx filters: check the skip conditions first and pass straight
// through; keep per-request state in a ctx slot; no closure or promise per chunk; copy a buf
// only when it is not ours to change (B_TEMPORARY means it is).

import {
  BodyFilter, Buf, Chain, HeaderFilter, B_TEMPORARY, allocCtxSlot, type FilterRequest,
} from 'sluice';

const SLOT = allocCtxSlot();
const ON = 1;

export class UppercaseFilter {
  readonly header = new UppercaseHeaderFilter();
  readonly body = new UppercaseBodyFilter();
}

class UppercaseHeaderFilter extends HeaderFilter {
  readonly name = 'uppercase';
  header(r: FilterRequest): number {
    const ct = r.headersOut.contentType;
    if (r.inHeader('x-uppercase') === null || ct === null || !ct.startsWith('text/')) return this.next!.header(r);
    r.filterCtx[SLOT] = ON;
    // the body keeps its length; a filter that changed it would set contentLength = -1 here
    r.filterNeedInMemory = true; // we need bytes, so the copy filter reads files for us
    return this.next!.header(r);
  }
}

class UppercaseBodyFilter extends BodyFilter {
  readonly name = 'uppercase';
  body(r: FilterRequest, cl: Chain | null): number {
    if (r.filterCtx[SLOT] !== ON || cl === null) return this.next!.body(r, cl);
    for (let c: Chain | null = cl; c !== null; c = c.next) {
      const b = c.buf;
      if (!b.inMemory() || b.size() === 0) continue;
      if ((b.flags & B_TEMPORARY) === 0) {
        // not ours to write into: one copy, then it is
        const copy = Buffer.from(b.view());
        c.buf = Buf.memory(copy, 0, copy.length, b.flags | B_TEMPORARY);
      }
      const m = c.buf.mem!;
      for (let i = c.buf.pos; i < c.buf.last; i++) {
        const ch = m[i];
        if (ch >= 0x61 && ch <= 0x7a) m[i] = ch - 0x20;
      }
    }
    return this.next!.body(r, cl);
  }
}
