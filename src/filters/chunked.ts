// cf. ngx_http_chunked_filter_module.c — Transfer-Encoding: chunked when the length is unknown
// and the client speaks HTTP/1.1; an HTTP/1.0 client gets a close-delimited body instead.

import { Buf, Chain, B_FLUSH, B_LAST_BUF, B_LAST_IN_CHAIN, link } from '../core/buf.js';
import { BodyFilter, HeaderFilter, type FilterRequest } from './filter.js';

// the framing is latin1 text bufs: strings to the socket, joined with the data around them
const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';
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
    // the framing is of the data's kind: text around text (all strings to the socket, one
    // string in the end), Buffers around Buffers or file data (copied together, cheaper than a
    // string's write)
    let text = true;
    for (let c: Chain | null = cl; c !== null; c = c.next) {
      const b = c.buf;
      size += b.size();
      if ((b.flags & B_LAST_BUF) !== 0) last = b;
      if (b.text === null && b.size() > 0) text = false;
      tail = c;
    }
    let out: Chain | null = cl;
    if (size > 0) {
      const hdr = text ? Buf.latin1(sizeLine(size)) : Buf.memory(sizeLineBytes(size));
      hdr.tag = TAG;
      out = link(hdr, cl);
      const end = last !== null ? CRLF_LAST : CRLF;
      tail!.next = link(text ? Buf.latin1(end) : Buf.memory(end === CRLF ? CRLF_BYTES : CRLF_LAST_BYTES));
      if (last !== null) { moveLast(last, tail!.next.buf); }
    } else if (last !== null) {
      const b = Buf.latin1(LAST_CHUNK);
      moveLast(last, b);
      tail!.next = link(b);
    }
    return this.next!.body(r, out);
  }
}

const CRLF_LAST = '\r\n0\r\n\r\n';
const CRLF_BYTES = Buffer.from(CRLF, 'latin1');
const CRLF_LAST_BYTES = Buffer.from(CRLF_LAST, 'latin1');

// "size CRLF" lines for small chunks, made once
const SIZE_LINES: string[] = [];
const SIZE_LINES_MAX = 4096;
function sizeLine(size: number): string {
  if (size >= SIZE_LINES_MAX) return size.toString(16) + '\r\n';
  return SIZE_LINES[size] ??= size.toString(16) + '\r\n';
}
const SIZE_LINE_BYTES: Buffer[] = [];
function sizeLineBytes(size: number): Buffer {
  if (size >= SIZE_LINES_MAX) return Buffer.from(sizeLine(size), 'latin1');
  return SIZE_LINE_BYTES[size] ??= Buffer.from(sizeLine(size), 'latin1');
}

/** The last-buf flag moves to the framing buf that now ends the body. */
function moveLast(from: Buf, to: Buf): void {
  to.flags |= from.flags & (B_LAST_BUF | B_LAST_IN_CHAIN | B_FLUSH);
  from.flags &= ~(B_LAST_BUF | B_LAST_IN_CHAIN);
  to.tag = TAG;
}

