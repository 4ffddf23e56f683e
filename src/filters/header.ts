// cf. ngx_http_header_filter_module.c — the last header filter: the status line and the header
// block, serialised into one memory buf and handed to the write filter.

import { Buf, B_FLUSH, link } from '../core/buf.js';
import { HeaderFilter, OK, type BodyFilter, type FilterRequest } from './filter.js';
import { statusLine } from './status-lines.js';
import { httpDate, formatHttpDate } from '../core/clock.js';
import { FV_BAD, FV_UTF8, FieldError, fieldValue, isToken } from '../core/field.js';

import { SERVER_NAME, SERVER_VERSION } from '../core/version.js';

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

/** Tags the header block's buf, so the write filter knows it from body bytes (header-only responses). */
export const HEADER_BUF = 'header';

export class HeaderWriteFilter extends HeaderFilter {
  readonly name = 'header';
  /** The write filter, where the header buf goes (nginx calls ngx_http_write_filter directly). */
  write: BodyFilter | null = null;

  header(r: FilterRequest): number {
    if (r.headerSent) return OK;
    const h = r.headersOut;
    let status = h.status;
    if (status === 0) status = h.status = 200;
    // a status line holds 200..599 (101 only for a protocol switch); 444 and 499 are log codes
    if ((status < 200 && status !== 101) || status > 599 || status === 444 || status === 499) {
      if (r === r.main) throw new FieldError(`invalid response status ${status}`, 'ERR_INVALID_STATUS');
    }
    if (r !== r.main) { r.headerSent = true; return OK; } // a subrequest's header never reaches the socket
    // no body byte may follow these (RFC 9110 §6.4.1): the write filter drops any
    if (status === 204 || status === 304 || status < 200) r.headerOnly = true;
    if (r.httpVersion < 1000) { r.headerSent = true; return OK; } // HTTP/0.9 has no header

    // Every string is checked here, where it becomes bytes: names are tokens, values hold no
    // control character; a value above U+007F makes the whole block UTF-8 (never a latin1 low
    // byte, which could turn U+010D into CR). A bad one throws before anything is sent.
    let utf8 = false;
    let s: string;
    if (h.statusLine === null) {
      s = prefix(status, r.conf.serverTokens);
    } else {
      utf8 = value('status line', h.statusLine) || utf8;
      s = statusLine(status, h.statusLine) + serverLine(r.conf.serverTokens) + 'Date: ' + httpDate() + '\r\n';
    }
    // a 204 has no type (ngx_http_header_filter clears it)
    if (h.contentType !== null && status !== 204) { utf8 = value('Content-Type', h.contentType) || utf8; s += 'Content-Type: ' + h.contentType + '\r\n'; }
    if (h.contentLength >= 0 && status !== 304 && status !== 204 && status >= 200) s += 'Content-Length: ' + h.contentLength + '\r\n';
    // only a 200, 206 or 304 says when its content changed (ngx_http_header_filter)
    if (h.lastModified >= 0 && (status === 200 || status === 206 || status === 304)) s += 'Last-Modified: ' + formatHttpDate(h.lastModified) + '\r\n';
    if (h.location !== null) { utf8 = value('Location', h.location) || utf8; s += 'Location: ' + h.location + '\r\n'; }
    if (r.chunked) s += 'Transfer-Encoding: chunked\r\n';
    if (status === 101) {
      s += 'Connection: upgrade\r\n';
    } else if (r.keepalive) {
      s += 'Connection: keep-alive\r\n';
    } else {
      s += 'Connection: close\r\n';
    }
    if (h.etag !== null) { utf8 = value('ETag', h.etag) || utf8; s += 'ETag: ' + h.etag + '\r\n'; }
    if (h.contentEncoding !== null) { utf8 = value('Content-Encoding', h.contentEncoding) || utf8; s += 'Content-Encoding: ' + h.contentEncoding + '\r\n'; }
    const names = h.names;
    const values = h.values;
    for (let i = 0; i < names.length; i++) {
      const n = names[i];
      if (!isToken(n)) throw new FieldError(`invalid response header name ${JSON.stringify(n)}`, 'ERR_INVALID_HEADER_NAME');
      utf8 = value(n, values[i]) || utf8;
      s += n + ': ' + values[i] + '\r\n';
    }
    s += '\r\n';

    r.headerSent = true;
    // ASCII (the usual case) leaves as the string itself, encoded once into the outgoing bytes
    const b = utf8 ? Buf.memory(Buffer.from(s, 'utf8')) : Buf.latin1(s);
    b.tag = HEADER_BUF;
    r.headerSize = b.last - b.pos;
    // a header-only response is complete here; otherwise the body follows and flushes it
    if (r.headerOnly) b.flags |= B_FLUSH;
    return this.write!.body(r, link(b));
  }
}

/** Check one value for the wire; true when it needs UTF-8. */
function value(name: string, v: string): boolean {
  const k = fieldValue(v);
  if (k === FV_BAD) throw new FieldError(`invalid value for response header "${name}" (control characters are not allowed)`, 'ERR_INVALID_HEADER_VALUE');
  return k === FV_UTF8;
}
