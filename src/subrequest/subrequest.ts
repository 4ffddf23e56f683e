// cf. ngx_http_core_module.c (ngx_http_subrequest) and lua-nginx-module's
// ngx_http_lua_subrequest.c (ngx.location.capture, capture_multi) — a request inside the
// server: a Request whose `main` and `parent` point at its callers, which shares the client
// connection but never writes to it, and runs the same phases, locations and filter chains.

import { chunkIterator } from '../core/buf.js';
import { runRequest } from '../http/core.js';
import { RequestBody, type Request } from '../http/request.js';
import { parseRequestTarget } from '../http/uri.js';
import { encodeArgs, type ArgsInput } from '../lua/ngx.js';
import { CaptureSink, decodeBody, type CaptureResult, type CaptureStream } from './capture.js';
import { H_ACCEPT_ENCODING, H_CONTENT_LENGTH, H_TRANSFER_ENCODING } from '../http/parser/types.js';
import { FV_UTF8, FieldError, checkFieldName, checkFieldValue, isToken, utf8Latin1 } from '../core/field.js';

/** Options of capture(), as ngx.location.capture's table, in camelCase. */
export interface CaptureOptions {
  /** HTTP_GET (default), HTTP_POST, ... or a method name. */
  method?: string;
  /** The subrequest's body; its Content-Length is recomputed. */
  body?: string | Buffer;
  /** Query string, or a table escaped as encodeArgs does; appended to the uri's own with '&'. */
  args?: string | ArgsInput;
  /** Variables set in the subrequest (after copyAllVars / shareAllVars). */
  vars?: Record<string, string | number>;
  /** Becomes the subrequest's r.ctx (pass r.ctx to share it). */
  ctx?: Record<string, unknown>;
  /** Start with a copy of the parent's variables. */
  copyAllVars?: boolean;
  /** Share the parent's variables: writes are seen by both. */
  shareAllVars?: boolean;
  /** Forward the parent's body to methods other than POST and PUT too. */
  alwaysForwardBody?: boolean;
  /**
   * Request headers that replace the inherited ones of the same name (null removes). Names must
   * be tokens and values hold no control character (a FieldError otherwise); text above U+007F
   * is stored as its UTF-8 bytes, as if it had come from a client.
   */
  headers?: Record<string, string | number | readonly (string | number)[] | null>;
  /**
   * The Accept-Encoding remedy (sluice only): the inherited Accept-Encoding is dropped unless
   * `headers` sets one, so captures come back uncompressed; with `decode: true` a compressed
   * body (gzip, deflate, br) is decoded and Content-Encoding removed from the result.
   */
  decode?: boolean;
}

export type CaptureSpec = readonly [uri: string, options?: CaptureOptions] | string;

/** Build a subrequest of `parent` (not started). Throws on a refused uri or option. */
export function createSubrequest(parent: Request, uri: string, o: CaptureOptions = {}): Request {
  if (typeof uri !== 'string' || uri.length === 0) throw new TypeError('capture(): the uri must be a non-empty string');
  const t = target(uri);
  // the limit of the main request's location (nginx counts depth per main request)
  const limit = parent.main.conf.subrequestDepth;
  if (parent.depth + 1 > limit) {
    const chain: string[] = [];
    for (let p: Request | null = parent; p !== null; p = p.parent) chain.unshift(p.uri);
    chain.push(uri);
    throw new Error(`capture(): subrequest depth limit ${limit} reached (a cycle?): ${chain.slice(-8).join(' -> ')}`);
  }

  const sr = new (parent.constructor as typeof Request)(parent.main.conn, parent.server, parent.chains, parent);
  const method = o.method === undefined ? 'GET' : typeof o.method === 'string' ? o.method.toUpperCase() : '';
  if (!isToken(method)) throw new TypeError(`capture(): invalid method ${JSON.stringify(o.method)} (a method is an RFC 9110 token)`);
  sr.method = method;
  sr.httpVersion = parent.httpVersion;
  sr.hostName = parent.hostName;
  sr.uri = t.uri;
  let args = t.args;
  if (o.args !== undefined) {
    // a string is taken as it is (as lua-nginx-module does), but never with a control character
    if (typeof o.args === 'string' && hasControl(o.args)) throw new TypeError(`capture(): invalid args ${JSON.stringify(o.args)} (control characters are not allowed)`);
    const extra = typeof o.args === 'string' ? o.args : encodeArgs(o.args);
    if (extra.length > 0) args = args.length > 0 ? args + '&' + extra : extra;
  }
  sr.args = args;
  sr.unparsedUri = args.length > 0 ? `${t.path}?${args}` : t.path;
  if (method === 'HEAD') sr.headerOnly = true;

  // request headers: a copy of the parent's, overrides by name, never leaking back
  const hi = parent.headersIn.clone();
  let aeSet = false;
  if (o.headers !== undefined) {
    for (const name of Object.keys(o.headers)) {
      hi.set(name, headerValues(name, o.headers[name]));
      if (name.toLowerCase() === 'accept-encoding') aeSet = true;
    }
  }
  // (set() only where there is something to change: the copy stays shared until then)
  if (!aeSet && hi.hasKnown(H_ACCEPT_ENCODING)) hi.set('Accept-Encoding', null);
  if (hi.hasKnown(H_TRANSFER_ENCODING)) hi.set('Transfer-Encoding', null);
  sr.headersIn = hi;

  // the body: an explicit one, the parent's (POST, PUT, or asked for), or none
  const rb = sr.requestBody = new RequestBody();
  rb.complete = true;
  rb.read = true;
  if (o.body !== undefined) {
    const b = typeof o.body === 'string' ? Buffer.from(o.body) : o.body;
    if (b.length > 0) rb.append(b, 0, b.length);
    hi.set('Content-Length', String(b.length));
    sr.contentLengthIn = b.length;
  } else if (method === 'POST' || method === 'PUT' || o.alwaysForwardBody === true) {
    const prb = parent.requestBody;
    if (parent.hasBody() && (prb === null || !prb.complete || !prb.read)) {
      throw new Error('capture(): the request body has not been read yet: call await r.readBody() before capturing');
    }
    if (prb !== null) {
      for (let c = prb.head; c !== null; c = c.next) rb.append(c.buf.mem!, c.buf.pos, c.buf.last);
    }
    hi.set('Content-Length', String(rb.size));
    sr.contentLengthIn = rb.size;
  } else {
    if (hi.hasKnown(H_CONTENT_LENGTH)) hi.set('Content-Length', null);
    sr.contentLengthIn = -1;
  }

  // variables: fresh, copied or shared; then the ones given
  if (o.shareAllVars === true) sr.variables = parent.variables ??= new Map();
  else if (o.copyAllVars === true && parent.variables !== null) sr.variables = new Map(parent.variables);
  if (o.vars !== undefined) {
    const v = sr.variables ??= new Map();
    for (const k of Object.keys(o.vars)) v.set(k, String(o.vars[k]));
  }
  if (o.ctx !== undefined) sr.ctx = o.ctx;
  return sr;
}

/**
 * A capture header's value(s) checked and made into what a client would have sent: the name a
 * token, no control character, text above U+007F as its UTF-8 bytes (one latin1 char per byte,
 * as headersIn holds the parser's bytes). Throws FieldError.
 */
function headerValues(name: string, v: string | number | readonly (string | number)[] | null | undefined): string | string[] | null {
  checkFieldName(name, 'capture()');
  if (v === null) return null;
  if (typeof v === 'string' || typeof v === 'number') return headerValue(name, v);
  if (!Array.isArray(v)) {
    throw new FieldError(`capture(): the value of header "${name}" must be a string, an array of strings, or null`, 'ERR_INVALID_HEADER_VALUE');
  }
  const out: string[] = [];
  for (let i = 0; i < v.length; i++) out.push(headerValue(name, v[i]));
  return out;
}

function headerValue(name: string, v: unknown): string {
  if (typeof v !== 'string' && typeof v !== 'number') {
    throw new FieldError(`capture(): the value of header "${name}" must be a string, an array of strings, or null`, 'ERR_INVALID_HEADER_VALUE');
  }
  const s = String(v);
  return checkFieldValue(name, s, 'capture()') === FV_UTF8 ? utf8Latin1(s) : s;
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

interface Target { uri: string; args: string; path: string }

/** Checked and parsed capture uris, by their text: a handler captures the same few again and again. */
const targets = new Map<string, Target>();
const TARGETS_MAX = 512;

/** The uri checked (not named, safe) and parsed; throws when refused. */
function target(uri: string): Target {
  let t = targets.get(uri);
  if (t !== undefined) return t;
  if (uri.charCodeAt(0) === 64 /* @ */) throw new Error(`capture(): named locations are not supported: "${uri}"`);
  if (uri.charCodeAt(0) !== 47 /* / */ || unsafe(uri)) throw new Error(`capture(): unsafe uri "${uri}"`);
  const p = parseRequestTarget(Buffer.from(uri), 0, Buffer.byteLength(uri));
  if (p === null) throw new Error(`capture(): unsafe uri "${uri}"`);
  const q = uri.indexOf('?');
  t = { uri: p.uri, args: p.args, path: q < 0 ? uri : uri.slice(0, q) };
  if (targets.size >= TARGETS_MAX) targets.delete(targets.keys().next().value!);
  targets.set(uri, t);
  return t;
}

/** ngx_http_parse_unsafe_uri: no "." or ".." segments, no NUL or control bytes. */
function unsafe(uri: string): boolean {
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  if (/[\0-\x1f\x7f]/.test(uri)) return true;
  return /(^|\/)\.\.?(\/|$)/.test(path) || /%2e%2e|%00/i.test(path);
}

/** Start a capture of `sr`; `done` gets what it produced when it ends. */
function startCapture(sr: Request, decode: boolean, done: (res: CaptureResult) => void): void {
  sr.capture = new CaptureSink(false, null, (c) => {
    const res: CaptureResult = { status: c.status, header: c.header, body: c.joinBody(), truncated: c.truncated };
    if (sr.method === 'HEAD') res.body = Buffer.alloc(0);
    if (decode) decodeBody(res);
    done(res);
  });
  runRequest(sr);
}

/** The `r.location` object: capture, captureMulti, captureStream, include. */
export class LocationApi {
  constructor(private readonly r: Request) {}

  /** ngx.location.capture: one subrequest; resolves with its status, headers and body. */
  capture(uri: string, options?: CaptureOptions): Promise<CaptureResult> {
    // as in lua-nginx-module, capture is capture_multi of one; its result comes unwrapped, with
    // no then() in between
    let sr: Request;
    try {
      sr = createSubrequest(this.r, uri, options);
    } catch (e) {
      return Promise.reject(e);
    }
    const decode = options?.decode === true;
    return new Promise<CaptureResult>((resolve) => { startCapture(sr, decode, resolve); });
  }

  /** ngx.location.capture_multi: all at once; results in the order given. */
  captureMulti(specs: readonly CaptureSpec[]): Promise<CaptureResult[]> {
    let srs: Request[];
    try {
      // every subrequest is built before any starts, so a bad one refuses them all
      srs = specs.map((s) => (typeof s === 'string' ? createSubrequest(this.r, s) : createSubrequest(this.r, s[0], s[1])));
    } catch (e) {
      return Promise.reject(e);
    }
    const decode = (i: number) => { const spec = specs[i]; return typeof spec !== 'string' && spec[1]?.decode === true; };
    // one promise for them all, resolved when the last ends (not a Promise.all over a promise
    // each: that is 2n + 1 promises, each a microtask and, on Node 20, hook calls)
    const n = srs.length;
    if (n === 0) return Promise.resolve([]);
    return new Promise<CaptureResult[]>((resolve) => {
      const results = new Array<CaptureResult>(n);
      let left = n;
      for (let i = 0; i < n; i++) {
        startCapture(srs[i], decode(i), (res) => {
          results[i] = res;
          if (--left === 0) resolve(results);
        });
      }
    });
  }

  /**
   * Beyond OpenResty: status and headers first, then the body as an async iterator, read on
   * demand, so a large body is never held whole (the subrequest waits while it is not read).
   */
  captureStream(uri: string, options?: CaptureOptions): Promise<CaptureStream> {
    let sr: Request;
    try {
      sr = createSubrequest(this.r, uri, options);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve) => {
      const cap = new CaptureSink(true, (c) => {
        resolve({
          status: c.status,
          header: c.header,
          body: chunkIterator(() => c.next()),
          get truncated() { return c.truncated; },
        });
      }, () => {});
      sr.capture = cap;
      runRequest(sr);
    });
  }

  /**
   * A subrequest whose output goes to the client in its place in the document (nginx's SSI
   * include, echo_location): the postpone filter keeps the order. Resolves when it is done.
   */
  include(uri: string, options?: CaptureOptions): Promise<void> {
    let sr: Request;
    try {
      sr = createSubrequest(this.r, uri, options);
    } catch (e) {
      return Promise.reject(e);
    }
    const r = this.r;
    if (!r.main.headerSent) r.main.sendHeader();
    addPostponedRequest(r, sr);
    return new Promise((resolve) => {
      sr.onDone = resolve;
      runRequest(sr);
    });
  }
}


/** ngx_http_subrequest's part for postponed output: sr writes when it is the active request. */
function addPostponedRequest(r: Request, sr: Request): void {
  const main = r.main;
  if (main.active === r && r.postponed === null) main.active = sr;
  r.addPostponed(sr, null);
}
