// cf. ngx_http_header_filter_module.c — the last header filter: the status line and the header
// block, serialised into one memory buf and handed to the write filter.

import { Buf, B_FLUSH, link } from './buf.js';
import { HeaderFilter, OK, type BodyFilter, type FilterRequest } from './filter.js';
import { statusLine } from './status-lines.js';
import { httpDate, formatHttpDate } from '../net/clock.js';

export const SERVER_NAME = 'sluice';
export const SERVER_VERSION = '0.1.0';

function serverLine(tokens: boolean): string {
  return tokens ? `Server: ${SERVER_NAME}/${SERVER_VERSION}\r\n` : `Server: ${SERVER_NAME}\r\n`;
}

// "status line + Server + Date", made once per status and second (nginx keeps the Date string
// cached the same way: ngx_cached_http_time)
let prefixDate = '';
const prefixes: string[] = [];
const prefixesTokens: string[] = [];

function prefix(status: number, tokens: boolean): string {
  const date = httpDate();
  if (date !== prefixDate) {
    prefixDate = date;
    prefixes.length = 0;
    prefixesTokens.length = 0;
  }
  const cache = tokens ? prefixesTokens : prefixes;
  let p = cache[status];
  if (p === undefined) p = cache[status] = statusLine(status, null) + serverLine(tokens) + 'Date: ' + date + '\r\n';
  return p;
}

export class HeaderWriteFilter extends HeaderFilter {
  readonly name = 'header';
  /** The write filter, where the header buf goes (nginx calls ngx_http_write_filter directly). */
  write: BodyFilter | null = null;

  header(r: FilterRequest): number {
    if (r.headerSent) return OK;
    r.headerSent = true;
    if (r !== r.main) return OK; // a subrequest's header never reaches the socket

    const h = r.headersOut;
    let status = h.status;
    if (status === 0) status = h.status = 200;
    if (r.httpVersion < 1000) return OK; // HTTP/0.9 has no header

    let s = h.statusLine === null ? prefix(status, r.conf.serverTokens)
      : statusLine(status, h.statusLine) + serverLine(r.conf.serverTokens) + 'Date: ' + httpDate() + '\r\n';
    if (h.contentType !== null) s += 'Content-Type: ' + h.contentType + '\r\n';
    if (h.contentLength >= 0 && status !== 304 && status !== 204 && !(status >= 100 && status < 200)) {
      s += 'Content-Length: ' + h.contentLength + '\r\n';
    }
    if (h.lastModified >= 0) s += 'Last-Modified: ' + formatHttpDate(h.lastModified) + '\r\n';
    if (h.location !== null) s += 'Location: ' + h.location + '\r\n';
    if (r.chunked) s += 'Transfer-Encoding: chunked\r\n';
    if (status === 101) {
      s += 'Connection: upgrade\r\n';
    } else if (r.keepalive) {
      s += 'Connection: keep-alive\r\n';
    } else {
      s += 'Connection: close\r\n';
    }
    if (h.etag !== null) s += 'ETag: ' + h.etag + '\r\n';
    if (h.contentEncoding !== null) s += 'Content-Encoding: ' + h.contentEncoding + '\r\n';
    const names = h.names;
    const values = h.values;
    for (let i = 0; i < names.length; i++) s += names[i] + ': ' + values[i] + '\r\n';
    s += '\r\n';

    const b = Buf.latin1(s);
    // a header-only response is complete here; otherwise the body follows and flushes it
    if (r.headerOnly) b.flags |= B_FLUSH;
    return this.write!.body(r, link(b));
  }
}
