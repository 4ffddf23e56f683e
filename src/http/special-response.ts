// cf. ngx_http_special_response.c — the answer for an error status: the status with its small
// HTML page (or nothing, for 204, 304, 1xx and subrequests).

import { Buf, link } from '../core/buf.js';
import { STATUS_TEXT } from '../filters/status-lines.js';
import type { Request } from './request.js';

/** Statuses after which nginx does not keep the connection (ngx_http_special_response_handler). */
export function closesConnection(status: number): boolean {
  return status === 400 || status === 408 || status === 413 || status === 414 || status === 431
    || status === 500 || status === 501;
}

const PAGE_TAIL = '<hr><p>sluice</p>\n</body>\n</html>\n';
const pages: Buffer[] = [];

/**
 * The statuses nginx has a page for (ngx_http_error_pages), titled as nginx titles them (302's
 * page says "Found" and 401's "Authorization Required", whatever the status line says). Any
 * other status gets no body at all, as in nginx.
 */
const TITLES: Readonly<Record<number, string>> = {
  301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Authorization Required', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Not Allowed', 406: 'Not Acceptable', 408: 'Request Time-out', 409: 'Conflict', 410: 'Gone',
  411: 'Length Required', 412: 'Precondition Failed', 413: 'Request Entity Too Large', 414: 'Request-URI Too Large',
  415: 'Unsupported Media Type', 416: 'Requested Range Not Satisfiable', 421: 'Misdirected Request',
  429: 'Too Many Requests', 500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out', 505: 'HTTP Version Not Supported',
  507: 'Insufficient Storage',
};

/**
 * nginx's own statuses that go out as 400 with a page of their own (ngx_http_error_494_page ...):
 * the status line, $status and the log say 400; error_page still matches the first number.
 */
const AS_400: Readonly<Record<number, string>> = {
  494: 'Request Header Or Cookie Too Large', 495: 'The SSL certificate error',
  496: 'No required SSL certificate was sent', 497: 'The plain HTTP request was sent to HTTPS port',
};

/** 431 is sluice's own answer for a head over the limit (nginx: 400), so it keeps a page. */
function title(status: number): string | undefined {
  return TITLES[status] ?? (status === 431 ? STATUS_TEXT[431] : undefined);
}

function page(status: number): Buffer {
  let p = pages[status];
  if (p === undefined) {
    const title = AS_400[status] !== undefined ? `400 ${AS_400[status]}` : `${status} ${TITLES[status] ?? STATUS_TEXT[status] ?? ''}`.trimEnd();
    p = pages[status] = Buffer.from(`<!DOCTYPE html>\n<html>\n<head><title>${title}</title></head>\n<body>\n<h1>${title}</h1>\n${PAGE_TAIL}`);
  }
  return p;
}

/** ngx_http_special_response_handler: the status with its small HTML page. */
export function specialResponse(r: Request, status: number): void {
  // the body nobody will read is discarded, without "100 Continue" (nginx sets expect_tested first)
  if (r === r.main && r.hc !== null && !r.headerSent) r.hc.discardBody(r, false);
  const location = r.headersOut.location;
  const contentRange = status === 416 ? r.headersOut.get('content-range') : undefined;
  // a 401 keeps its challenge (nginx keeps headers_out.www_authenticate)
  const challenge = status === 401 ? r.headersOut.get('www-authenticate') : undefined;
  r.headersOut.reset();
  if (challenge !== undefined) r.headersOut.set('WWW-Authenticate', challenge as string | string[]);
  // the page goes out with its own status (nginx sets r->err_status to it)
  r.errStatus = 0;
  r.headerSent = false;
  r.headerOnly = r.method === 'HEAD';
  r.chunked = false;
  if (typeof contentRange === 'string') r.headersOut.set('Content-Range', contentRange);
  const own = AS_400[status] !== undefined;
  r.headersOut.status = own ? 400 : status;
  if (closesConnection(status) || own) r.keepalive = false;
  if (status >= 301 && status <= 308 && location !== null) r.headersOut.location = location;
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
    r.headerOnly = true;
    r.sendHeader();
    return;
  }
  if (status < 300 || r !== r.main || (title(status) === undefined && !own)) {
    // a subrequest gets the status alone: the page is for clients, not for captures; a status
    // nginx has no page for goes out with no body (and no type)
    if (status >= 300 && r === r.main) r.headersOut.contentType = '';
    r.headersOut.contentLength = 0;
    r.sendHeader();
    return;
  }
  const body = page(status);
  r.headersOut.contentType = 'text/html';
  r.headersOut.contentLength = body.length;
  r.sendHeader();
  // (outputDone already: the head could not be sent and a 500 replaced this response)
  if (!r.headerOnly && !r.outputDone) r.chains.output(r, link(Buf.memory(body)));
}
