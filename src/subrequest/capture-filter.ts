// cf. lua-nginx-module's ngx_http_lua_capturefilter.c — the filter at the top of both chains
// that collects a captured subrequest's status, headers and body.
//
// Header: record status and headers, set filterNeedInMemory, go on down the chain (the filters
// below skip subrequests; the header filter never writes one). Body: keep the bufs (views, no
// copies) until the last one; file bufs are read into memory with the copy module's reader.
// A captured body never goes below this filter, so it never reaches the socket.

import { Buf, Chain, B_LAST_BUF, B_LAST_IN_CHAIN, B_MEMORY, chainLast, link } from '../filters/buf.js';
import { AGAIN, BodyFilter, HeaderFilter, OK, type FilterRequest } from '../filters/filter.js';
import { FILE_READ_SIZE, readFilePiece, readFileRestSync } from '../filters/file-read.js';
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

/** Move held bufs into the capture, reading file bufs piece by piece; AGAIN while waiting. */
function drain(r: FilterRequest, cap: CaptureSink): number {
  if (r.reading) return AGAIN;
  let l = cap.held;
  while (l !== null) {
    if (cap.full()) {
      cap.held = l;
      return AGAIN; // the stream's reader is behind: resumed through r.onWritable()
    }
    const b = l.buf;
    if ((b.flags & B_MEMORY) === 0 && b.size() > 0) {
      const small = readFileRestSync(b);
      if (small !== null) {
        l.buf = small; // read at once; go on with it in place of the file buf
        continue;
      }
      cap.held = l;
      readFilePiece(r, b, FILE_READ_SIZE, onPiece);
      return AGAIN;
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

function onPiece(r: FilterRequest, m: Buf | null, err: Error | null): void {
  const cap = (r as Captured).capture!;
  if (m === null) {
    cap.fail(r, err!);
    return;
  }
  const f = cap.held!;
  cap.held = f.buf.size() === 0 ? link(m, f.next) : link(m, f);
  r.onWritable(); // runs the chain again: drain() goes on from here
}
