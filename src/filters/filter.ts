// cf. ngx_http_core_module.h (ngx_http_output_header_filter_pt, ngx_http_output_body_filter_pt)
//
// A header filter and a body filter are objects linked to the next one through `next`. Each
// filter is its own class, so every `this.next.x()` call site sees one class and stays
// monomorphic. Filters are synchronous; a null chain means "flush what you hold".

import type { Chain } from '../core/buf.js';
import type { HeadersOut } from './headers-out.js';
import type { Conn } from '../core/conn.js';
import type { Postponed } from './postpone.js';
import type { SubFilters } from './sub.js';
import type { Expires } from './headers.js';

/** Return codes (ngx_int_t: NGX_OK, NGX_ERROR, NGX_AGAIN). */
export const OK = 0;
export const ERROR = -1;
export const AGAIN = -2;

/** Per-location switches the filters read; the http layer's Directives satisfy it. */
export interface FilterConf {
  chunkedTransferEncoding: boolean;
  serverTokens: boolean;
  filterTrace: boolean;
  keepaliveTimeout: number;
  sendTimeout: number;
  /** if_modified_since: 'exact' (default), 'before' or 'off'. */
  ifModifiedSince: string;
  /** max_ranges: more ranges than this are answered with the whole body; -1 = no limit. */
  maxRanges: number | null;
  gzip: boolean;
  gzipTypes: ReadonlySet<string>;
  gzipMinLength: number;
  gzipCompLevel: number;
  gzipVary: boolean;
  addHeader: readonly { name: string; value: string; always: boolean; replaces?: boolean; complex?: { run(r: never): string } | null }[];
  /** expires: null = off; else { epoch | max | modified | offset | daily, ms } or a value with variables. */
  expires: Expires | null;
  /** sub_filter: the pairs (null: none), sub_filter_once, sub_filter_types, sub_filter_last_modified. */
  subFilter: SubFilters | null;
  subFilterOnce: boolean;
  subFilterTypes: ReadonlySet<string>;
  subFilterLastModified: boolean;
}

/** What filters see of a request (implemented by http's Request). */
export interface FilterRequest {
  readonly conn: Conn | null;
  readonly main: FilterRequest;
  readonly parent: FilterRequest | null;
  readonly headersOut: HeadersOut;
  readonly conf: FilterConf;
  /** Request method name. */
  readonly method: string;
  /** 1000 * major + minor, as nginx's r->http_version (1001 for HTTP/1.1). */
  readonly httpVersion: number;
  /** The response carries no body (HEAD, 204, 304). */
  headerOnly: boolean;
  headerSent: boolean;
  /** Bytes of the response head (for $body_bytes_sent). */
  headerSize: number;
  keepalive: boolean;
  chunked: boolean;
  /** A filter needs bodies in memory: the copy filter reads file bufs into memory. */
  filterNeedInMemory: boolean;
  mainFilterNeedInMemory: boolean;
  /** Output held by the write filter until a flush, the last buf or enough bytes (r->out). */
  out: Chain | null;
  /** Per-filter state, one slot per registered filter (r->ctx[module.ctx_index]). */
  readonly filterCtx: unknown[];
  /** Trace tag for the filter trace ("r1", "r1.s2"). */
  readonly traceId: string;
  /** The static module allows byte ranges on this response (r->allow_ranges). */
  allowRanges: boolean;
  /** A file piece is being read for the copy, write or capture filter. */
  reading: boolean;
  /** Filters holding data back (BUFFERED_* bits; nginx's r->buffered). */
  buffered: number;
  /** A request header by lower-case name (first value), or null. */
  inHeader(name: string): string | null;
  /** A request header by its parser id (H_* of src/http/parser/types.ts; first value), or null:
   *  no name to lower-case and look up, for the filters that ask on every response. */
  inKnown(id: number): string | null;
  /** A header filter replaced the response (412, 416, a head that could not be sent). */
  readonly filterFinalized: boolean;
  /** The last buf has gone down the chain. */
  readonly outputDone: boolean;
  /** Body bytes were dropped because the response is header-only (logged at info). */
  bodyDropped(bytes: number): void;
  /** A directive's string with its $variables filled in. */
  expand(s: string): string;
  /** Output and subrequests waiting for this request's turn (postpone filter). */
  postponed: Postponed | null;
  /** On the main request: the request whose output may go to the client now (c->data). */
  active: FilterRequest;
  /** The request has been finalized (its last buf has been sent down). */
  readonly finalized: boolean;
  /**
   * From a header filter: drop this response and send the page for `status` instead
   * (ngx_http_filter_finalize_request). Later output of the handler is discarded.
   */
  filterFinalize(status: number): number;
  /** Called by the write side when the connection can take more output (ngx write event). */
  onWritable(): void;
}

export abstract class HeaderFilter {
  next: HeaderFilter | null = null;
  abstract readonly name: string;
  abstract header(r: FilterRequest): number;
}

export abstract class BodyFilter {
  next: BodyFilter | null = null;
  abstract readonly name: string;
  abstract body(r: FilterRequest, cl: Chain | null): number;
}

/** r.buffered bits. */
export const BUFFERED_COPY = 1;

let ctxSlots = 0;
/** A slot in FilterRequest.filterCtx for a filter module's per-request state. */
export function allocCtxSlot(): number {
  return ctxSlots++;
}
export function ctxSlotCount(): number {
  return ctxSlots;
}
