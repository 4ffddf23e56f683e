// cf. ngx_http_request.h (ngx_http_request_t) and lua-nginx-module's ngx.req / ngx.* API.
//
// One object per request, main or sub. Every field is set in the constructor (one hidden class).
// The handler API (say, print, exit, readBody, var, ctx, ...) mirrors OpenResty's names.

import { Buf, ChainOut, B_FLUSH, B_LAST_BUF, B_LAST_IN_CHAIN, B_TEMPORARY, asciiText, chainToBuffer, link, type Chain } from '../core/buf.js';
import { AGAIN, ERROR, OK, ctxSlotCount, type FilterRequest } from '../filters/filter.js';
import type { FilterChains } from '../filters/index.js';
import { HeadersOut } from '../filters/headers-out.js';
import { addPostponed, type Postponed } from '../filters/postpone.js';
import type { Conn } from '../core/conn.js';
import type { Directives, ResolvedLocation, ResolvedServer } from './conf/config.js';
import { HeadersIn } from './headers-in.js';
import { decodeArgs, encodeArgs } from '../lua/ngx.js';
import { expandVariables, makeVarProxy } from './variables.js';
import { absoluteUrl } from './redirect.js';
import type { OpenedFile } from './try-files.js';
import { H_CONTENT_TYPE } from './parser/types.js';
import { specialResponse } from './special-response.js';
import { isRedirect } from './modules/rewrite.js';
import type { LocationApi } from '../subrequest/subrequest.js';
import type { UpstreamInfo } from './upstream/state.js';
import { FieldError, checkFieldName, checkFieldValue } from '../core/field.js';
import { logError, logs, type LogLevel } from '../core/log.js';
import { log as handlerLog } from './log/handler-log.js';
import type { Clock } from '../core/clock.js';
import { upgradeRequest, type UpgradedStream } from './upgrade.js';

/** How a handler leaves early: thrown by exit(), exec() and redirect(), caught by the phase runner. */
export class ExitSignal {
  constructor(
    readonly kind: 'exit' | 'exec' | 'redirect',
    readonly status: number,
    readonly uri: string | null = null,
    readonly args: string | null = null,
    /** Thrown by a handler's r.exit() (not by a module finishing with a status, as proxyPass does). */
    readonly byHandler = false,
  ) {}
}

export function isExit(e: unknown): e is ExitSignal {
  return e instanceof ExitSignal;
}

/** The client connection as a main request sees it (r->http_connection). */
export interface HttpConnectionLike {
  /** Send "100 Continue" if the client waits for it, and start the body timer. */
  wantBody(r: Request): void;
  /** The main request is over: keep-alive, the next pipelined request, or close. */
  requestDone(r: Request): void;
  /** Answering without reading the body (return, static, error pages): 100 Continue if asked and `expect`; the body's error status, or 0. */
  discardBody(r: Request, expect?: boolean): number;
  /** The body is about to be read: send "100 Continue" if the client waits for it. */
  testExpect(r: Request): void;
  /** r.conf now is the chosen location's: apply its keep-alive and TCP_NODELAY settings. */
  confChosen(r: Request): void;
  /** The server's clock (limitReq's delays and buckets read it). */
  readonly clock: Clock;
  /** The connection's serial ($connection), its requests so far ($connection_requests), when it was accepted. */
  readonly id: number;
  readonly requests: number;
  readonly startTime: number;
  /** After a 101: the connection leaves HTTP; the bytes read past the head, or null when it cannot (src/http/upgrade.ts). */
  upgrade?(r: Request): Buffer[] | null;
}

/** A consumer of the body as it arrives (proxyPass streaming it upstream). */
export interface BodyStream {
  data(chunk: Buffer, start: number, end: number): void;
  end(): void;
  /** The body cannot be completed (bad chunk, timeout, too large, client gone): `status` says why. */
  error(status: number): void;
}

/** The body as it arrives: a chain of views of the socket chunks. */
export class RequestBody {
  head: Chain | null;
  tail: Chain | null;
  size: number;
  complete: boolean;
  /** HTTP status when reading failed (400 framing, 408 timeout, 413 too large), else 0. */
  error: number;
  waiters: (() => void)[] | null;
  /** The single Buffer made once by body(). */
  joined: Buffer | null;
  /** Trailer fields after a chunked body. */
  trailers: HeadersIn | null;
  /** Someone (proxyPass) forwards the body as it arrives. */
  stream: BodyStream | null;
  /** Nobody will read it (return, static): what arrives is dropped. */
  discarding: boolean;
  /** A handler has read it (readBody() resolved): before that it is not the request's body yet, however much has arrived. */
  read: boolean;

  constructor() {
    this.head = null;
    this.tail = null;
    this.size = 0;
    this.complete = false;
    this.error = 0;
    this.waiters = null;
    this.joined = null;
    this.trailers = null;
    this.stream = null;
    this.discarding = false;
    this.read = false;
  }

  /** The body is being discarded: drop what was kept, keep nothing more. */
  discarded(): void {
    this.discarding = true;
    this.head = this.tail = null;
    this.joined = null;
  }

  append(chunk: Buffer, start: number, end: number): void {
    const cl = link(Buf.memory(chunk, start, end));
    if (this.tail === null) this.head = cl; else this.tail.next = cl;
    this.tail = cl;
    this.size += end - start;
  }

  /** Reading the body failed (400 framing, 408 timeout, 413 too large): tell whoever waits or streams. */
  fail(status: number): void {
    if (this.error !== 0) return;
    this.error = status;
    this.wake();
    const st = this.stream;
    if (st !== null) {
      this.stream = null;
      st.error(status);
    }
  }

  /**
   * What came before the location was chosen (with the head, in the same read) is over that
   * location's client_max_body_size: the body fails as if the limit had been met while it arrived
   * (a reader gets 413; a body that is only discarded has no limit, as in nginx).
   */
  overLimit(): void {
    this.complete = false;
    this.fail(413);
  }

  wake(): void {
    const w = this.waiters;
    if (w === null) return;
    this.waiters = null;
    for (let i = 0; i < w.length; i++) w[i]();
  }
}

let requestSerial = 0;

export type { Handler } from './modules/lua.js';
type Printable = string | Buffer | Uint8Array | number | boolean | null | undefined | readonly Printable[];

export class Request implements FilterRequest {
  // -- links
  conn: Conn | null;
  main: Request;
  parent: Request | null;
  server: ResolvedServer;
  loc: ResolvedLocation | null;
  conf: Directives;
  chains: FilterChains;
  /** The client connection (main requests). */
  hc: HttpConnectionLike | null;

  // -- request line
  method: string;
  httpVersion: number;
  /** Normalised path: percent-decoded, dot segments resolved, slashes merged. */
  uri: string;
  /** Query string without '?'. */
  args: string;
  /** The request target exactly as received ($request_uri). */
  unparsedUri: string;
  /** Host from the absolute-form target or the Host header, lower-case, no port. */
  hostName: string;
  headersIn: HeadersIn;
  /** Declared request body length, -1 when none (chunked or no body). */
  contentLengthIn: number;
  chunkedIn: boolean;
  requestBody: RequestBody | null;

  // -- response
  headersOut: HeadersOut;
  headerOnly: boolean;
  headerSent: boolean;
  keepalive: boolean;
  chunked: boolean;
  filterNeedInMemory: boolean;
  mainFilterNeedInMemory: boolean;
  out: Chain | null;
  filterCtx: unknown[];
  /** Number of this request, for logs and the filter trace. */
  readonly serial: number;
  /** The last buf has gone down the chain. */
  outputDone: boolean;
  /** Waiting for the socket to drain (flush(true) or a full socket). */
  writeWaiters: (() => void)[] | null;
  /** Bytes of body handed to the filters. */
  bodyBytesSent: number;
  /** The log's byte counts (main request): the connection's Conn.sent when this request began,
   *  the size of the response head, the request's bytes off the wire (head + body, as framed),
   *  and whether it came pipelined behind another ($pipe). */
  sentBase: number;
  headerSize: number;
  requestLength: number;
  /** The body's bytes as framed (chunk lines too) that came after the head. */
  bodyLength: number;
  pipelined: boolean;
  /** $request_id, made when first read. */
  requestId: string | null;
  allowRanges: boolean;
  reading: boolean;
  buffered: number;
  /** A header filter replaced the response (412, 416): the handler's output is dropped. */
  filterFinalized: boolean;
  /** finalize() ran while output was still held or being read: finish when it has gone. */
  waitingOutput: boolean;
  private cleanups: (() => void)[] | null;
  /** Output and subrequests waiting for this request's turn (postpone filter). */
  postponed: Postponed | null;
  /** On the main request: whose output may go to the client now (nginx's c->data). */
  active: Request;
  /** A captured subrequest's sink (src/subrequest); null otherwise. */
  capture: CaptureLike | null;
  /** The body did not end cleanly (a handler failed mid-body); a capture reports it. */
  truncated: boolean;
  /** Called once when a subrequest has finished (include()). */
  onDone: (() => void) | null;
  /**
   * The client closed its side while this request runs and nothing else is pipelined behind it
   * (nginx's ngx_http_test_reading): proxyPass ends the upstream exchange with 499 then.
   */
  onClientAbort: (() => void) | null;
  private locationApi: LocationApi | null;

  // -- processing
  /** May enter `internal` locations (after exec or as a subrequest). */
  internal: boolean;
  /** Internal redirects left (nginx allows 10 uri changes). */
  uriChanges: number;
  /** Subrequest depth below the main request. */
  depth: number;
  startTime: number;
  finalized: boolean;
  /** The content handler answered SUSPENDED and has not called resumeRequest() yet. */
  suspended: boolean;
  /** User variables set with r.var.name = value ("set $name"). */
  variables: Map<string, string> | null;
  /** A file try_files opened for the static module to serve (closed at the end if it does not). */
  openedFile: OpenedFile | null;
  /** The request line as read, for a head that failed to parse ($request); null otherwise. */
  requestLine: string | null;
  /** Values of cacheable config variables (map) worked out for this request. */
  varCache: Map<unknown, string> | null;
  /** The last regex match that had groups ($1..$9): a location, server name, rewrite, if, map. */
  captures: RegExpExecArray | null;
  /** The status an error_page response goes out with (r->err_status); 0: the target's own. */
  errStatus: number;
  /** An error_page has redirected this request (r->error_page): a second one is not taken
   *  unless recursiveErrorPages is on. */
  errorPage: boolean;
  /** The address and port the realip module put in the connection's place (null: none). */
  private addrSet: string | null;
  private portSet: number;
  /** The connection's own address and port when realip replaced them ($realip_remote_addr), else null. */
  realipAddr: string | null;
  realipPort: number;
  /** satisfy any: what the access modules said so far (0, 401, 403; -1 one of them allowed). */
  accessCode: number;
  /** On the main request: limit_req's and limit_conn's verdicts (r->main->limit_req_status), 0 before. */
  limitReqStatus: number;
  limitConnStatus: number;
  /** What proxying left ($upstream_* variables), made when the proxy first runs. */
  upstream: UpstreamInfo | null;
  /** After r.upgrade(): the client connection as a stream; the request lasts until it closes. */
  upgraded: UpgradedStream | null;
  private userCtx: Record<string, unknown> | null;
  private varProxy: Record<string, string | undefined> | null;
  private headerProxy: Record<string, string | string[] | undefined> | null;
  private headersObject: Record<string, string | string[]> | null;

  constructor(conn: Conn | null, server: ResolvedServer, chains: FilterChains, parent: Request | null) {
    this.conn = conn;
    this.main = parent === null ? this : parent.main;
    this.parent = parent;
    this.server = server;
    this.loc = null;
    this.conf = server.conf;
    this.chains = chains;
    this.hc = null;
    this.method = 'GET';
    this.httpVersion = 1001;
    this.uri = '/';
    this.args = '';
    this.unparsedUri = '/';
    this.hostName = '';
    this.headersIn = EMPTY_HEADERS;
    this.contentLengthIn = -1;
    this.chunkedIn = false;
    this.requestBody = null;
    this.headersOut = new HeadersOut();
    this.headerOnly = false;
    this.headerSent = false;
    this.keepalive = false;
    this.chunked = false;
    this.filterNeedInMemory = false;
    this.mainFilterNeedInMemory = false;
    this.out = null;
    this.filterCtx = new Array(ctxSlotCount());
    this.serial = ++requestSerial;
    this.outputDone = false;
    this.writeWaiters = null;
    this.bodyBytesSent = 0;
    this.sentBase = conn === null ? 0 : conn.sent;
    this.headerSize = 0;
    this.requestLength = 0;
    this.bodyLength = 0;
    this.pipelined = false;
    this.requestId = null;
    this.allowRanges = false;
    this.reading = false;
    this.buffered = 0;
    this.filterFinalized = false;
    this.waitingOutput = false;
    this.cleanups = null;
    this.postponed = null;
    this.active = this;
    this.capture = null;
    this.truncated = false;
    this.onDone = null;
    this.onClientAbort = null;
    this.locationApi = null;
    this.internal = parent !== null;
    this.uriChanges = 10;
    this.depth = parent === null ? 0 : parent.depth + 1;
    // (a main request's is set by its connection, from the server's clock)
    this.startTime = parent === null ? 0 : Date.now();
    this.finalized = false;
    this.suspended = false;
    this.variables = null;
    this.captures = null;
    this.varCache = null;
    this.requestLine = null;
    this.openedFile = null;
    this.errStatus = 0;
    this.errorPage = false;
    this.addrSet = null;
    this.portSet = 0;
    this.realipAddr = null;
    this.realipPort = 0;
    this.accessCode = 0;
    this.limitReqStatus = 0;
    this.limitConnStatus = 0;
    this.upstream = null;
    this.upgraded = null;
    this.userCtx = null;
    this.varProxy = null;
    this.headerProxy = null;
    this.headersObject = null;
  }
  /**
   * The client's address as $remote_addr, the logs and access rules see it (main request): the
   * connection's (read from its socket when first asked for, see Conn.remoteAddress), or what the
   * realip module found in a header.
   */
  get remoteAddr(): string {
    const a = this.addrSet;
    if (a !== null) return a;
    const c = this.conn;
    return c === null ? '' : c.remoteAddress;
  }

  set remoteAddr(a: string) {
    if (this.addrSet === null) this.portSet = this.remotePort;
    this.addrSet = a;
  }

  /** The client's port ($remote_port); 0 when realip took an address without one. */
  get remotePort(): number {
    if (this.addrSet !== null) return this.portSet;
    const c = this.conn;
    return c === null ? 0 : c.remotePort;
  }

  set remotePort(p: number) {
    if (this.addrSet === null) this.addrSet = this.remoteAddr;
    this.portSet = p;
  }


  // ---------------------------------------------------------------- what a handler reads

  /** "r12", or "r12.13" for a subrequest of r12 (made only when a log or trace asks). */
  get traceId(): string {
    return this.parent === null ? 'r' + this.serial : this.parent.traceId + '.' + this.serial;
  }

  get isSubrequest(): boolean {
    return this.parent !== null;
  }

  /**
   * Subrequests (ngx.location.*): capture, captureMulti, captureStream, include. Provided by
   * src/subrequest, which plugs itself in when loaded (it builds on this module).
   */
  get location(): LocationApi {
    const make = this.server.locationApi;
    if (make === null) throw new Error('r.location: no module of this config provides subrequests');
    return this.locationApi ??= make(this);
  }

  /** Add a subrequest or output to this request's postponed list. */
  addPostponed(sr: Request | null, out: Chain | null): void {
    addPostponed(this, sr, out);
  }

  /** ngx.ctx: per-request table for the user's handlers. */
  get ctx(): Record<string, unknown> {
    return this.userCtx ??= {};
  }
  set ctx(v: Record<string, unknown>) {
    this.userCtx = v;
  }

  /** ngx.req.get_headers(): lower-case names, repeated headers as arrays. */
  get headers(): Record<string, string | string[]> {
    return this.headersObject ??= this.headersIn.toObject();
  }

  /** ngx.req.set_header / clear_header. */
  setHeader(name: string, value: string | readonly string[] | null): void {
    checkFieldName(name, 'setHeader()');
    if (typeof value === 'string') checkFieldValue(name, value, 'setHeader()');
    else if (value !== null) for (const v of value) checkFieldValue(name, v, 'setHeader()');
    this.headersIn.set(name, value);
    this.headersObject = null;
  }

  /** ngx.var: nginx variables ($uri, $arg_x, $http_x, ...); user variables are writable. */
  get var(): Record<string, string | undefined> {
    return this.varProxy ??= makeVarProxy(this);
  }

  /** ngx.req.get_uri_args(). */
  uriArgs(maxArgs = 100): Record<string, string | true | (string | true)[]> {
    return decodeArgs(this.args, maxArgs);
  }

  /** ngx.req.get_post_args(): the url-encoded body; the body must have been read. */
  postArgs(maxArgs = 100): Record<string, string | true | (string | true)[]> {
    const rb = this.requestBody;
    if (rb === null || !rb.complete) {
      if (this.hasBody()) throw new Error('postArgs(): request body not read (call await r.readBody() first)');
      return Object.create(null);
    }
    return decodeArgs(this.body()!, maxArgs);
  }

  /** The request declared a body (Content-Length > 0 or chunked). */
  hasBody(): boolean {
    return this.chunkedIn || this.contentLengthIn > 0;
  }

  /** ngx.req.read_body(): resolves once the whole body is in (100-continue sent if asked for). */
  readBody(): Promise<void> {
    const rb = this.requestBody;
    if (rb !== null && rb.complete && this === this.main) this.hc?.testExpect(this);
    if (rb === null || rb.complete) {
      if (rb !== null) rb.read = true;
      return RESOLVED; // (one settled promise for every such call: awaiting it costs no new one)
    }
    if (rb.error !== 0) return Promise.reject(new ExitSignal('exit', rb.error));
    this.main.hc?.wantBody(this);
    return new Promise<void>((resolve, reject) => {
      (rb.waiters ??= []).push(() => {
        if (rb.error !== 0) reject(new ExitSignal('exit', rb.error));
        else { rb.read = true; resolve(); }
      });
    });
  }

  /** ngx.req.get_body_data(): the body as one Buffer once read; null when there is none (or empty). */
  body(): Buffer | null {
    const rb = this.requestBody;
    if (rb === null || !rb.complete || rb.size === 0) return null;
    return rb.joined ??= chainToBuffer(rb.head);
  }

  // ---------------------------------------------------------------- the response

  get status(): number {
    return this.headersOut.status;
  }
  /** ngx.status: a final status, 200..599 (1xx are interim and never a response's status). */
  set status(s: number) {
    if (this.headerSent) throw new RequestError('attempt to set status after sending out response headers', this);
    checkStatus(s, 'status');
    if (s === 444 || s === 499) throw new RangeError(`status: ${s} closes the connection and is never sent: use exit(${s})`);
    this.headersOut.status = s;
  }

  /** ngx.header: response headers by name (any case, '_' for '-'). */
  get header(): Record<string, string | string[] | undefined> {
    return this.headerProxy ??= makeHeaderProxy(this);
  }

  /** ngx.send_headers(). */
  sendHeader(): number {
    if (this.headerSent) return OK;
    const h = this.headersOut;
    if (this.errStatus !== 0) h.status = this.errStatus;
    else if (h.status === 0) h.status = 200;
    // absolute_redirect: a relative Location gets the scheme, host and port (ngx_http_header_filter)
    if (h.location !== null && h.location.charCodeAt(0) === 0x2f && this === this.main && this.conf.absoluteRedirect && !h.locationAsIs) {
      h.location = absoluteUrl(this, h.location);
    }
    // (a 101 has no content; a proxied response keeps what its upstream sent, no type included)
    if (h.contentType === null && !h.typeAsIs && h.status !== 101) h.contentType = this.conf.defaultType;
    if (this.method === 'HEAD') this.headerOnly = true;
    try {
      return this.chains.sendHeader(this);
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      // a value that cannot go on the wire (a $variable holding CR LF, say): nothing was
      // sent; the response becomes a 500 from clean filter state
      logError('alert', this, `${e.message}: response replaced by 500`);
      this.filterCtx.fill(undefined);
      this.chunked = false;
      this.headerOnly = false;
      return this.filterFinalize(500);
    }
  }

  /** ngx.print(): output without a newline. Returns false when the client is slow: await flush(). */
  print(...args: Printable[]): boolean {
    return this.emit(args, false);
  }

  /** ngx.say(): output with a newline. */
  say(...args: Printable[]): boolean {
    return this.emit(args, true);
  }

  /** ngx.flush(): pass what is buffered to the socket; resolves when the socket has taken it. */
  flush(wait = true): Promise<void> {
    if (!this.headerSent) this.sendHeader();
    if (!this.outputDone) this.chains.output(this, link(Buf.special(B_FLUSH)));
    // (the connection holds output to the turn's end: a flush writes it now)
    if (this.capture === null) this.main.conn?.push();
    if (!wait) return Promise.resolve();
    return this.waitWritable();
  }

  /** ngx.eof(): end the response now; the handler may go on (e.g. to log). */
  eof(): void {
    if (this.outputDone) return;
    if (!this.headerSent) this.sendHeader();
    this.outputDone = true;
    this.chains.output(this, link(Buf.special(this === this.main ? B_LAST_BUF : B_LAST_IN_CHAIN)));
  }

  /**
   * ngx.exit(status): end the request; status >= 300 sends nginx's page for it. Never returns.
   * 0 ends it as it is; 444 and 499 close the connection without an answer (nginx's codes for
   * the log). After the head has gone a status can no longer be sent: the response that started
   * is finished and the attempt logged (lua-nginx-module's rule).
   */
  exit(status = 0): never {
    if (status !== 0 && status !== 444 && status !== 499) checkStatus(status, 'exit()');
    throw new ExitSignal('exit', status, null, null, true);
  }

  /** ngx.exec(uri, args): internal redirect (may reach `internal` and `@named` locations). */
  exec(uri: string, args?: string | Record<string, unknown>): never {
    if (this.headerSent) throw new Error('exec(): response headers already sent');
    const a = args === undefined ? null : typeof args === 'string' ? args : encodeArgs(args as Parameters<typeof encodeArgs>[0]);
    throw new ExitSignal('exec', 0, uri, a);
  }

  /** ngx.redirect(url, status = 302). */
  redirect(url: string, status = 302): never {
    if (!isRedirect(status)) {
      throw new RangeError(`redirect(): status ${status} is not a redirect`);
    }
    if (this.headerSent) throw new Error('redirect(): response headers already sent');
    checkFieldValue('Location', url, 'redirect()');
    throw new ExitSignal('redirect', status, url);
  }

  /**
   * Switch protocols (the server side of lua-resty-websocket's handshake, without its framing):
   * the request must be a GET over HTTP/1.1 without a body, with an `Upgrade` header and
   * `Connection: upgrade` — otherwise it ends with 400 (as r.exit(400); logged at info). Answers
   * `101 Switching Protocols` with `headers` (Upgrade defaults to the protocol asked for) and
   * returns the client connection as a Duplex: the bytes the client sent after its head come
   * first; ending it (or the client's FIN) closes the connection. The request, and its access
   * log line, last until the stream closes; the handler may return at once. No timeout applies
   * to the stream: the handler keeps its own.
   */
  upgrade(headers: Readonly<Record<string, string | readonly string[]>> = {}): UpgradedStream {
    return upgradeRequest(this, headers);
  }

  // ---------------------------------------------------------------- internals

  private emit(args: Printable[], newline: boolean): boolean {
    if (!this.headerSent) this.sendHeader();
    if (this.filterFinalized) return true; // a filter replaced the response: what follows is dropped
    if (this.outputDone) throw new RequestError('output after the end of the response', this);
    if (this.headerOnly) {
      // (the size is counted only for the info line, when that line would be written)
      if (logs(this.conf.errorLog, 'info')) this.bodyDropped(printableSize(args));
      return true;
    }
    if (args.length === 1 && typeof args[0] === 'string') {
      // the common say('text'): one buf, the newline included; ASCII text stays a string to the
      // socket (encoded once, where it leaves), other text is encoded here, and so is a
      // captured subrequest's (its handler is given Buffers)
      const t = newline ? args[0] + '\n' : args[0];
      if (t.length === 0) return true;
      let b: Buf;
      if (this.capture === null && asciiText(t)) b = Buf.latin1(t);
      else { const m = Buffer.from(t); b = Buf.memory(m, 0, m.length, B_TEMPORARY); }
      this.bodyBytesSent += b.last;
      const rc1 = this.chains.output(this, link(b));
      if (rc1 === ERROR) throw new Error('output failed: the connection is gone');
      return rc1 !== AGAIN;
    }
    const out = new ChainOut();
    for (let i = 0; i < args.length; i++) addPrintable(args[i], out);
    if (newline) out.push(Buf.memory(NEWLINE));
    if (out.head === null) return true;
    for (let l: Chain | null = out.head; l !== null; l = l.next) this.bodyBytesSent += l.buf.size();
    const rc = this.chains.output(this, out.head);
    if (rc === ERROR) throw new Error('output failed: the connection is gone');
    return rc !== AGAIN;
  }

  /** The output cannot take more now: the socket is full, or a stream's reader is behind. */
  blocked(): boolean {
    if (this.capture !== null) return this.capture.full();
    const c = this.main.conn;
    return c !== null && c.full && !c.closed;
  }

  /** Resolves when the output can take more (or at once). */
  waitWritable(): Promise<void> {
    if (!this.blocked()) return Promise.resolve();
    return new Promise<void>((resolve) => { (this.writeWaiters ??= []).push(resolve); });
  }

  /**
   * The write side can take more, or a file piece arrived (nginx's write event): run the chain
   * with no new input so held output moves on, wake flush() waiters, and finish a finalized
   * request once its output has gone.
   */
  onWritable(): void {
    const c = this.main.conn;
    if (c !== null && c.closed) {
      this.out = null;
    } else {
      this.chains.output(this, null);
    }
    const w = this.writeWaiters;
    if (w !== null && !this.blocked()) {
      this.writeWaiters = null;
      for (let i = 0; i < w.length; i++) w[i]();
    }
    if (this.waitingOutput && (!this.outputPending() || (c !== null && c.closed))) {
      this.waitingOutput = false;
      this.hc?.requestDone(this);
    }
  }

  /** Output is still held by a filter, postponed, or a file read is in flight. */
  outputPending(): boolean {
    return this.out !== null || this.reading || this.buffered !== 0 || this.postponed !== null;
  }

  /**
   * ngx.log(ngx.ERR, ...): a line at `level` ('debug', 'info', 'notice', 'warn', 'error', 'crit',
   * 'alert', 'emerg') to this location's errorLog, in nginx's shape (src/http/log/handler-log.ts).
   */
  log(level: LogLevel, ...args: unknown[]): void {
    handlerLog(this, level, ...args);
  }

  /** A directive's string with its $variables filled in (nginx's complex values). */
  expand(s: string): string {
    return expandVariables(this, s);
  }

  /** Body bytes were dropped: the response has no body (HEAD, 1xx, 204, 304). */
  bodyDropped(bytes: number): void {
    if (bytes > 0) logError('info', this, `${bytes} bytes of body dropped: a ${this.method === 'HEAD' ? 'HEAD request' : this.headersOut.status + ' response'} has no body`);
  }

  /** A request header by lower-case name (first value), or null. */
  inHeader(name: string): string | null {
    return this.headersIn.get(name) ?? null;
  }

  inKnown(id: number): string | null {
    return this.headersIn.first(id);
  }

  /** ngx_http_filter_finalize_request: replace the response with the page for `status`. */
  filterFinalize(status: number): number {
    this.filterFinalized = true;
    specialResponse(this, status);
    if (!this.outputDone) {
      this.outputDone = true;
      this.chains.output(this, link(Buf.special(this === this.main ? B_LAST_BUF : B_LAST_IN_CHAIN)));
    }
    return OK;
  }

  /** Run `fn` when the request is over (files to close, streams to end). */
  addCleanup(fn: () => void): void {
    (this.cleanups ??= []).push(fn);
  }

  /** Run the cleanups (the connection calls this when the request ends or the socket closes). */
  cleanup(): void {
    const list = this.cleanups;
    if (list === null) return;
    this.cleanups = null;
    this.postponed = null;
    this.active = this;
    this.capture = null;
    this.truncated = false;
    this.onDone = null;
    this.locationApi = null;
    for (let i = 0; i < list.length; i++) {
      try { list[i](); } catch { /* a cleanup must not stop the others */ }
    }
  }

  /** Set up the body reader: the parser already knows the framing (-1: no Content-Length). */
  initBody(contentLength: number, chunked: boolean): void {
    this.contentLengthIn = contentLength;
    this.chunkedIn = chunked;
    const rb = this.requestBody = new RequestBody();
    if (!this.hasBody()) rb.complete = true;
  }
}

const NEWLINE = Buffer.from('\n');
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A misuse of a request's API (output after the end, a status after the head): it carries the
 * request, so an error thrown where no handler catches it (a timer) still finds its request.
 */
export class RequestError extends Error {
  readonly request: Request;
  constructor(message: string, r: Request) {
    super(message);
    this.name = 'RequestError';
    this.request = r;
  }
}

/** A final status for the wire: an integer 200..599 (RFC 9110 §15; 1xx are interim). */
function checkStatus(s: number, where: string): void {
  if (!Number.isInteger(s) || s < 200 || s > 599) {
    throw new RangeError(`${where}: invalid status ${String(s)} (a final status is 200..599${s >= 100 && s < 200 ? '; 1xx are interim responses' : ''})`);
  }
}

function printableSize(args: readonly Printable[]): number {
  let n = 0;
  for (const v of args) {
    if (typeof v === 'string') n += Buffer.byteLength(v);
    else if (v instanceof Uint8Array) n += v.length;
    else if (Array.isArray(v)) n += printableSize(v);
    else n += String(v).length;
  }
  return n;
}

/** What a capture looks like from here (src/subrequest's CaptureSink). */
export interface CaptureLike {
  full(): boolean;
}



const EMPTY_HEADERS = new HeadersIn();

function addPrintable(v: Printable, out: ChainOut): void {
  if (typeof v === 'string') {
    if (v.length > 0) out.push(Buf.memory(Buffer.from(v), 0, undefined, B_TEMPORARY));
  } else if (v instanceof Uint8Array) {
    if (v.length > 0) {
      // the caller's memory itself, never a copy
      const b = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      out.push(Buf.memory(b));
    }
  } else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) addPrintable(v[i], out);
  } else if (v === null || v === undefined) {
    out.push(Buf.memory(NULL_STR));
  } else {
    out.push(Buf.memory(Buffer.from(String(v)), 0, undefined, B_TEMPORARY));
  }
}
// ngx.say(nil) prints "nil"; ngx.null prints "null" — JS has one of them
const NULL_STR = Buffer.from('null');

function makeHeaderProxy(r: Request): Record<string, string | string[] | undefined> {
  return new Proxy(Object.create(null) as Record<string, string | string[] | undefined>, {
    get(_t, name) {
      if (typeof name !== 'string') return undefined;
      return r.headersOut.get(name);
    },
    set(_t, name, value) {
      if (typeof name !== 'string') return false;
      if (r.headerSent) throw new Error(`attempt to set header "${name}" after sending out response headers`);
      r.headersOut.set(name, value as string | string[] | null);
      return true;
    },
    deleteProperty(_t, name) {
      if (typeof name !== 'string') return false;
      r.headersOut.remove(name);
      return true;
    },
    has(_t, name) {
      return typeof name === 'string' && r.headersOut.has(name);
    },
    ownKeys() {
      return [...new Set(r.headersOut.entries().map(([n]) => n.toLowerCase()))];
    },
    getOwnPropertyDescriptor(_t, name) {
      if (typeof name !== 'string') return undefined;
      const value = r.headersOut.get(name);
      return value === undefined ? undefined : { value, enumerable: true, configurable: true, writable: true };
    },
  });
}

