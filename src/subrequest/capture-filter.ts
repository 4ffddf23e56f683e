// cf. lua-nginx-module's ngx_http_lua_capturefilter.c — the filter that collects a captured
// subrequest's status, headers and body (on top of the header chain, just below copy in the
// body chain: see src/filters/index.ts).
//
// Header: record status and headers, set filterNeedInMemory, go on down the chain (the filters
// below skip subrequests; the header filter never writes one). Body: keep the bufs (views, no
// copies) until the last one; the copy filter above has read any file into memory for us.
// A captured body never goes below this filter, so it never reaches the socket.

import { Chain, B_LAST_BUF, B_LAST_IN_CHAIN, B_MEMORY, chainLast } from '../core/buf.js';
import { AGAIN, BodyFilter, HeaderFilter, OK, type FilterRequest } from '../filters/filter.js';
import type { CaptureSink } from './capture.js';

/** A request with a capture attached (see Request.capture). */
type Captured = FilterRequest & { capture: CaptureSink | null };

export class CaptureHeaderFilter extends HeaderFilter {
  readonly name = 'capture';

  header(r: FilterRequest): number {
    const cap = (r as Captured).capture;
    if (cap === null || cap === undefined) return this.next!.header(r);
    r.filterNeedInMemory = true;
    const rc = this.next!.header(r);
    cap.onHeader(r);
    return rc;
  }
}

export class CaptureBodyFilter extends BodyFilter {
  readonly name = 'capture';

  body(r: FilterRequest, cl: Chain | null): number {
    const cap = (r as Captured).capture;
    if (cap === null || cap === undefined) return this.next!.body(r, cl);
    if (cl !== null) {
      if (cap.held === null) cap.held = cl;
      else chainLast(cap.held).next = cl;
    }
    return drain(r, cap);
  }
}

/** Move held bufs into the capture (copy above has made them memory); AGAIN while the stream is full. */
function drain(r: FilterRequest, cap: CaptureSink): number {
  let l = cap.held;
  while (l !== null) {
    if (cap.full()) {
      cap.held = l;
      return AGAIN; // the stream's reader is behind: resumed through r.onWritable()
    }
    const b = l.buf;
    if ((b.flags & B_MEMORY) === 0 && b.size() > 0) {
      // copy reads files for us (we set filterNeedInMemory); a file buf here is a bug
      cap.fail(r, new Error('capture: a file buf reached the capture filter'));
      return OK;
    }
    const next: Chain | null = l.next;
    l.next = null;
    if (b.size() > 0) cap.onData(b);
    if ((b.flags & (B_LAST_BUF | B_LAST_IN_CHAIN)) !== 0) {
      cap.held = null;
      cap.onEnd(r);
      return OK;
    }
    l = next;
  }
  cap.held = null;
  return OK;
}
