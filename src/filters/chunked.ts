// cf. ngx_http_chunked_filter_module.c — Transfer-Encoding: chunked when the length is unknown
// and the client speaks HTTP/1.1; an HTTP/1.0 client gets a close-delimited body instead.

import { Buf, Chain, B_FLUSH, B_LAST_BUF, B_LAST_IN_CHAIN, link } from '../core/buf.js';
import { BodyFilter, HeaderFilter, type FilterRequest } from './filter.js';

const CRLF = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
const TAG = 'chunked';

export class ChunkedHeaderFilter extends HeaderFilter {
  readonly name = 'chunked';

  header(r: FilterRequest): number {
    const status = r.headersOut.status;
    if (status === 304 || status === 204 || status < 200 || r.headerOnly || r !== r.main || r.headersOut.contentLength >= 0) {
      return this.next!.header(r);
    }
    if (r.httpVersion >= 1001 && r.conf.chunkedTransferEncoding) {
      r.chunked = true;
    } else {
      r.keepalive = false; // the close marks the end of the body
    }
    return this.next!.header(r);
  }
}

export class ChunkedBodyFilter extends BodyFilter {
  readonly name = 'chunked';

  body(r: FilterRequest, cl: Chain | null): number {
    if (!r.chunked || cl === null) return this.next!.body(r, cl);

    // one chunk for all the data bufs of this call: "size CRLF" data... CRLF
    let size = 0;
    let last: Buf | null = null;
    let tail: Chain | null = null;
    for (let c: Chain | null = cl; c !== null; c = c.next) {
      size += c.buf.size();
      if ((c.buf.flags & B_LAST_BUF) !== 0) last = c.buf;
      tail = c;
    }
    let out: Chain | null = cl;
    if (size > 0) {
      const hdr = Buf.memory(sizeLine(size));
      hdr.tag = TAG;
      out = link(hdr, cl);
      tail!.next = link(Buf.memory(last !== null ? CRLF_LAST : CRLF));
      if (last !== null) { moveLast(last, tail!.next.buf); }
    } else if (last !== null) {
      const b = Buf.memory(LAST_CHUNK);
      moveLast(last, b);
      tail!.next = link(b);
    }
    return this.next!.body(r, out);
  }
}

const CRLF_LAST = Buffer.from('\r\n0\r\n\r\n');

// "size CRLF" lines for small chunks, made once (the bufs pointing at them are read-only)
const SIZE_LINES: Buffer[] = [];
const SIZE_LINES_MAX = 4096;
function sizeLine(size: number): Buffer {
  if (size >= SIZE_LINES_MAX) return Buffer.from(size.toString(16) + '\r\n', 'latin1');
  return SIZE_LINES[size] ??= Buffer.from(size.toString(16) + '\r\n', 'latin1');
}

/** The last-buf flag moves to the framing buf that now ends the body. */
function moveLast(from: Buf, to: Buf): void {
  to.flags |= from.flags & (B_LAST_BUF | B_LAST_IN_CHAIN | B_FLUSH);
  from.flags &= ~(B_LAST_BUF | B_LAST_IN_CHAIN);
  to.tag = TAG;
}

