// cf. lua-nginx-module's ngx_http_lua_subrequest.c — what a capture collects, and how it is
// handed back: whole (capture / captureMulti) or as a stream (captureStream).

import { gunzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';
import type { Buf, Chain } from '../core/buf.js';
import { chainToBuffer, link } from '../core/buf.js';
import type { FilterRequest } from '../filters/filter.js';
import type { HeadersOut } from '../filters/headers-out.js';

/** What capture() resolves to (ngx.location.capture's res table). */
export interface CaptureResult {
  status: number;
  header: Record<string, string | string[]>;
  body: Buffer;
  /** The body did not end cleanly (the handler failed mid-body, an upstream broke off). */
  truncated: boolean;
}

/** What captureStream() resolves to: status and headers first, the body as it comes. */
export interface CaptureStream {
  status: number;
  header: Record<string, string | string[]>;
  /** Chunks of the body, read on demand: the subrequest is held back while they are not read. */
  body: AsyncIterableIterator<Buffer>;
  /** Known once the body iterator has ended. */
  readonly truncated: boolean;
}

/** Bytes a stream holds before the subrequest producing them is made to wait. */
const STREAM_HIGH_WATER = 64 * 1024;

/**
 * The capture's bookkeeping for one subrequest (lua's ngx_http_lua_ctx_t capture fields):
 * status and headers from the header filter, the body chain from the body filter.
 */
export class CaptureSink {
  status: number;
  header: Record<string, string | string[]>;
  headerDone: boolean;
  /** Body bufs, kept as they came (views). */
  head: Chain | null;
  tail: Chain | null;
  size: number;
  /** Bufs the filter still holds (a file piece being read, a full stream). */
  held: Chain | null;
  ended: boolean;
  truncated: boolean;
  error: Error | null;
  /** Streaming: chunks waiting for the reader, and the reader waiting for chunks. */
  readonly streaming: boolean;
  private waiter: (() => void) | null;
  private onHeaderDone: ((c: CaptureSink) => void) | null;
  private onDone: ((c: CaptureSink) => void) | null;
  private request: FilterRequest | null;

  constructor(streaming: boolean, onHeaderDone: ((c: CaptureSink) => void) | null, onDone: (c: CaptureSink) => void) {
    this.status = 0;
    this.header = NO_HEADERS; // (replaced by onHeader(), always before anyone reads it)
    this.headerDone = false;
    this.head = null;
    this.tail = null;
    this.size = 0;
    this.held = null;
    this.ended = false;
    this.truncated = false;
    this.error = null;
    this.streaming = streaming;
    this.waiter = null;
    this.onHeaderDone = onHeaderDone;
    this.onDone = onDone;
    this.request = null;
  }

  onHeader(r: FilterRequest): void {
    if (this.headerDone) return;
    this.headerDone = true;
    this.request = r;
    this.status = r.headersOut.status || 200;
    this.header = headerRecord(r.headersOut);
    const cb = this.onHeaderDone;
    this.onHeaderDone = null;
    if (cb !== null) cb(this);
  }

  onData(b: Buf): void {
    const l = link(b);
    if (this.tail === null) this.head = l; else this.tail.next = l;
    this.tail = l;
    this.size += b.size();
    this.wakeReader();
  }

  onEnd(r: FilterRequest): void {
    if (this.ended) return;
    this.ended = true;
    this.request = r;
    if (!this.headerDone) this.onHeader(r);
    if ((r as { truncated?: boolean }).truncated) this.truncated = true;
    this.wakeReader();
    const cb = this.onDone;
    this.onDone = null;
    if (cb !== null) cb(this);
  }

  fail(r: FilterRequest, err: Error): void {
    this.error = err;
    this.truncated = true;
    this.held = null;
    this.onEnd(r);
  }

  /** A stream's reader is behind: the producer must wait. */
  full(): boolean {
    return this.streaming && this.size >= STREAM_HIGH_WATER;
  }

  /** The whole body as one Buffer: the buf itself when there is one, else one copy. */
  joinBody(): Buffer {
    return chainToBuffer(this.head);
  }


  /** Next chunk for the stream reader, or null at the end. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      const c = this.head;
      if (c !== null) {
        this.head = c.next;
        if (this.head === null) this.tail = null;
        const b = c.buf;
        this.size -= b.size();
        // the producer may go on once the reader has caught up
        if (this.size < STREAM_HIGH_WATER && this.request !== null) this.request.onWritable();
        return b.view();
      }
      if (this.ended) return null;
      await new Promise<void>((resolve) => { this.waiter = resolve; });
    }
  }

  private wakeReader(): void {
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w();
    }
  }
}

const NO_HEADERS: Record<string, string | string[]> = Object.freeze(Object.create(null));

/**
 * Headers as a record: names as the subrequest set them, repeated ones as arrays. (The typed
 * fields first, as HeadersOut.entries() lists them, but without its [name, value] pairs: this
 * runs once per capture.) The record has no prototype: a header may be called "__proto__".
 */
function headerRecord(h: HeadersOut): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  if (h.contentType !== null) out['Content-Type'] = h.contentType;
  if (h.contentLength >= 0) out['Content-Length'] = String(h.contentLength);
  if (h.lastModified >= 0) out['Last-Modified'] = new Date(h.lastModified).toUTCString();
  if (h.etag !== null) out.ETag = h.etag;
  if (h.location !== null) out.Location = h.location;
  if (h.contentEncoding !== null) out['Content-Encoding'] = h.contentEncoding;
  const names = h.names, values = h.values;
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const prev = out[name];
    if (prev === undefined) out[name] = values[i];
    else if (typeof prev === 'string') out[name] = [prev, values[i]];
    else prev.push(values[i]);
  }
  return out;
}

/** The `decode` option: undo Content-Encoding of a captured body (gzip, deflate, br). */
export function decodeBody(res: CaptureResult): void {
  const key = Object.keys(res.header).find((k) => k.toLowerCase() === 'content-encoding');
  if (key === undefined || res.body.length === 0) return;
  const enc = String(res.header[key]).trim().toLowerCase();
  let body: Buffer;
  try {
    if (enc === 'gzip' || enc === 'x-gzip') body = gunzipSync(res.body);
    else if (enc === 'deflate') body = inflateSync(res.body);
    else if (enc === 'br') body = brotliDecompressSync(res.body);
    else return;
  } catch {
    res.truncated = true; // a broken compressed body did not end cleanly
    return;
  }
  res.body = body;
  delete res.header[key];
  for (const k of Object.keys(res.header)) if (k.toLowerCase() === 'content-length') res.header[k] = String(body.length);
}
