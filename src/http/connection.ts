// cf. ngx_http_request.c — a client connection: reading heads, bodies, keep-alive, pipelining,
// discarding unread bodies, the read and write timeouts.
//
// One request at a time, as nginx does: the parser pauses after each message, the request runs,
// and only when its response has been handed to the socket is the next pipelined request
// parsed (from the same chunk, without waiting for another read).
//
// Reads come into the process's one read buffer (src/core/read-buffer.ts) when Node allows it,
// else as 'data' Buffers. Bytes of the shared buffer are valid only while the read is handled,
// so what outlives it is copied when it does: an unparsed rest, queued reads, body bytes, the
// head of a request that is still running when the read is done (HeadersIn.detach). The
// responses made while one read is handled leave in one write at its end (Conn.batch/flush).

import type { Socket } from 'node:net';
import { Conn } from '../core/conn.js';
import { SYSTEM_CLOCK, eventEnd, eventStart, type Clock, type TimerHandle } from '../core/clock.js';
import type { FilterChains } from '../filters/index.js';
import type { ResolvedConfig, ResolvedServer } from './conf/config.js';
import { finalizeRequest, runRequest } from './core.js';
import { HeadersIn } from './headers-in.js';
import { logError } from '../core/log.js';
import { STAT, STAT_NONE, STAT_READING, STAT_WAITING, STAT_WRITING, statMove } from '../core/status.js';
import { HttpParser } from './parser/index.js';
import {
  E_OK, E_PAUSED, E_CLOSED, E_INVALID_VERSION, E_UNKNOWN_METHOD, E_URI_TOO_LONG, E_HEADER_TOO_LARGE, E_UNSUPPORTED_TE, E_UPGRADE,
  F_CHUNKED, F_EXPECT_CONTINUE, H_HOST, METHODS, M_CONNECT, M_TRACE, PARSER_REQUEST, SINK_OK, SINK_PAUSE,
  type MessageHead, type ParserSink,
} from './parser/types.js';
import { Request, type HttpConnectionLike } from './request.js';
import { findServer } from './server-name.js';
import { setCaptures } from './regex.js';
import { parseRequestTarget, validateHost } from './uri.js';
import { KD_MSIE6, KD_SAFARI } from './modules/core.js';
import type { TlsListen } from './ssl.js';
import type { TLSSocket } from 'node:tls';
import { tlsInfo } from './modules/ssl.js';
import { endRead, forwardToStream, isTransient, readChunk, userRead } from '../core/read-buffer.js';

/** What all connections of one listening socket share. */
export class ListenContext {
  readonly config: ResolvedConfig;
  readonly servers: ResolvedServer[];
  /** Each server's filter chains; `chains0` is the default server's (for errors before a name is known). */
  readonly chains: ReadonlyMap<ResolvedServer, FilterChains>;
  readonly chains0: FilterChains;
  readonly connections: Set<HttpConnection>;
  /** The listening address, to pick its default_server. */
  readonly addr: { host: string; port: number };
  /** Counts open connections for worker_connections (the server that accepted them). */
  readonly counter: { active: number };
  /** The clock of the timeouts (the system's; a test may give its own). */
  readonly clock: Clock;
  /** Graceful shutdown or reload (src/http/server.ts drain()): no keep-alive past the current response. */
  draining: boolean;
  /** Called when draining and the last connection has closed. */
  onDrained: (() => void) | null;
  /** A `listen ... ssl` address: its contexts and sessions (src/http/ssl.ts); null for plain HTTP. */
  tls: TlsListen | null;
  constructor(config: ResolvedConfig, servers: ResolvedServer[], chains: ReadonlyMap<ResolvedServer, FilterChains>, addr: { host: string; port: number }, counter: { active: number } = { active: 0 }, clock: Clock = SYSTEM_CLOCK) {
    this.config = config;
    this.counter = counter;
    this.clock = clock;
    this.addr = addr;
    this.servers = servers;
    this.chains = chains;
    this.chains0 = chains.get(servers[0])!;
    this.connections = new Set();
    this.draining = false;
    this.onDrained = null;
    this.tls = null;
  }
}

// connection states
const ST_HEAD = 0;      // between requests or reading a head
const ST_BODY = 1;      // a request runs; its body may still be arriving
const ST_WAIT = 2;      // the message is complete; waiting for its response to finish
const ST_DISCARD = 3;   // the response is done; reading and dropping the rest of the body
const ST_DRAIN = 4;     // the response is done; waiting for the socket to drain first
const ST_CLOSED = 5;
const ST_UPGRADED = 6;  // after a 101: the socket belongs to a tunnel or a handler's stream

// read timer kinds
const T_NONE = 0, T_HEADER = 1, T_BODY = 2, T_KEEPALIVE = 3;

/** Data queued while a request runs; past this we stop reading the socket. */
const QUEUE_MAX = 64 * 1024;

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');
const HEAD_SP = Buffer.from('HEAD ');

let connectionSerial = 0;

export class HttpConnection implements ParserSink, HttpConnectionLike {
  readonly id: number;
  readonly ctx: ListenContext;
  readonly conn: Conn;
  readonly socket: Socket;
  parser: HttpParser;
  /** Where time and the read/write timers come from (the server's clock). */
  readonly clock: Clock;
  readonly server0: ResolvedServer;
  state: number;
  r: Request | null;
  /** A request with a body, run once the parser has walked what this read holds (see onHead). */
  starting: Request | null;
  /** How much of "HEAD " the message being parsed began with (5: all of it; -1: it is not HEAD). */
  headMatch: number;
  /** TCP_NODELAY as the socket has it now (the last request's location chose it). */
  nodelay: boolean;
  /** keepalive_timeout of the last request's location: how long an idle connection waits. */
  keepaliveMs: number;
  /** Unparsed bytes after a pause: rest[restPos..]. */
  rest: Buffer | null;
  restPos: number;
  queue: Buffer[];
  queued: number;
  inFeed: boolean;
  requests: number;
  /** When the connection was accepted (the clock's ms), for keepalive_time. */
  readonly startTime: number;
  eof: boolean;
  continueSent: boolean;
  /** The current request asked for "100 Continue". */
  expectContinue: boolean;
  /** One Node timer per connection, armed at `readTimerAt`; the real deadline may be later. */
  readTimer: TimerHandle | null;
  readTimerKind: number;
  readTimerAt: number;
  readDeadline: number;
  /** The read timeout now in force, for refreshes on each body chunk. */
  readTimerMs: number;
  writeTimer: TimerHandle | null;
  writeMark: number;
  /** What stub_status counts it as: STAT_WAITING, STAT_READING, STAT_WRITING (src/core/status.ts). */
  stat: number;
  /** The bytes of the message being parsed (head + body as framed: $request_length), and
   *  whether it began in bytes read with the one before ($pipe). */
  msgBytes: number;
  /** The read the current message began in, and where (its first line, for a bad head's log). */
  msgChunk: Buffer | null;
  msgFrom: number;
  msgPipelined: boolean;
  /** Plain HTTP on a TLS address: each request is answered 497 (ngx_http_process_request). */
  readonly plainOnTls: boolean;
  /** The last Host value and what validateHost made of it. */
  private lastHost: string | null;
  private lastValid: string | null;

  /** `server0`: the server SNI chose on a TLS address (the default one otherwise). */
  constructor(socket: Socket, ctx: ListenContext, server0: ResolvedServer = ctx.servers[0], plainOnTls = false) {
    this.id = ++connectionSerial;
    this.ctx = ctx;
    this.socket = socket;
    this.conn = new Conn(socket);
    this.clock = ctx.clock;
    this.server0 = server0;
    this.plainOnTls = plainOnTls;
    this.lastHost = null;
    this.lastValid = null;
    const conf = this.server0.conf;
    const hb = conf.largeClientHeaderBuffers;
    this.parser = HttpParser.take(PARSER_REQUEST, this, {
      maxRequestLine: hb.size,
      maxFieldLine: hb.size,
      maxHead: hb.size * hb.number,
    });
    this.state = ST_HEAD;
    this.r = null;
    this.starting = null;
    this.headMatch = 0;
    this.nodelay = true;
    this.keepaliveMs = 0;
    this.rest = null;
    this.restPos = 0;
    this.queue = [];
    this.queued = 0;
    this.inFeed = false;
    this.requests = 0;
    this.startTime = this.clock.now();
    this.eof = false;
    this.continueSent = false;
    this.expectContinue = false;
    this.readTimer = null;
    this.readTimerKind = T_NONE;
    this.readTimerAt = 0;
    this.readDeadline = 0;
    this.readTimerMs = 0;
    this.writeTimer = null;
    this.writeMark = 0;
    // stub_status: handled and active; idle until its first byte (nginx's reusable connection)
    STAT.handled++;
    STAT.active++;
    this.stat = statMove(STAT_NONE, STAT_WAITING);
    this.msgBytes = 0;
    this.msgChunk = null;
    this.msgFrom = 0;
    this.msgPipelined = false;

    ctx.connections.add(this);
    (socket as unknown as { _hc: HttpConnection })._hc = this;
    this.nodelay = conf.tcpNodelay;
    this.keepaliveMs = conf.keepaliveTimeout;
    // (set before the second write, or at once on TLS, as nginx sets it on SSL connections: the
    // handshake has written already; see Conn.noDelay)
    this.conn.noDelay(conf.tcpNodelay, (socket as { encrypted?: boolean }).encrypted === true);
    // the shared read buffer when Node allows it; 'data' stays the way in either way
    userRead(socket, onSocketRead);
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('drain', onSocketDrain);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    this.conn.onFull = onConnFull;
    this.conn.onDrain = onConnDrain;
    this.setReadTimer(T_HEADER, conf.clientHeaderTimeout);
  }

  /** The chains of server0 (the SNI-chosen server's on a TLS address). */
  chains0(): FilterChains {
    return this.server0 === this.ctx.servers[0] ? this.ctx.chains0 : this.ctx.chains.get(this.server0)!;
  }

  // ---------------------------------------------------------------- reading

  /** A read into the shared buffer: its first `n` bytes. */
  onRead(n: number): void {
    eventStart();
    try {
      this.onData(readChunk(n));
      if (this.state !== ST_CLOSED) this.keep();
    } finally {
      eventEnd();
    }
    endRead();
  }

  onData(chunk: Buffer): void {
    if (this.state === ST_CLOSED) return;
    const c = this.conn;
    c.batch();
    if (this.rest === null && this.queue.length === 0 && this.canParse()) {
      this.parse(chunk, 0);
      if (this.state !== ST_CLOSED) this.pump();
    } else {
      // (a read in the shared buffer is copied: it waits past this callback)
      this.queue.push(isTransient(chunk) ? Buffer.from(chunk) : chunk);
      this.queued += chunk.length;
      if (this.queued > QUEUE_MAX) this.socket.pause();
    }
    c.flush();
  }

  /**
   * The read in the shared buffer is done: copy what of it is still wanted after — the unparsed
   * rest, the first line of a head not complete yet, and the head of the request still running.
   */
  private keep(): void {
    const rest = this.rest;
    if (rest !== null && isTransient(rest)) {
      this.rest = Buffer.from(rest.subarray(this.restPos));
      this.restPos = 0;
    }
    const mc = this.msgChunk;
    if (mc !== null && isTransient(mc)) {
      let end = this.msgFrom;
      while (end < mc.length && mc[end] !== 0x0a) end++;
      this.msgChunk = Buffer.from(mc.subarray(this.msgFrom, end));
      this.msgFrom = 0;
    }
    const r = this.r;
    if (r !== null) {
      r.headersIn.detach();
      const t = r.requestBody?.trailers;
      if (t !== null && t !== undefined) t.detach();
    }
  }

  private canParse(): boolean {
    return this.state === ST_HEAD || this.state === ST_BODY || this.state === ST_DISCARD;
  }

  /** Parse what is waiting: the rest of a paused chunk, then queued chunks. */
  pump(): void {
    while (this.canParse()) {
      let chunk: Buffer;
      let from = 0;
      let pipelined = false;
      if (this.rest !== null) {
        chunk = this.rest;
        from = this.restPos;
        this.rest = null;
        pipelined = true;
      } else if (this.queue.length > 0) {
        chunk = this.queue.shift()!;
        this.queued -= chunk.length;
      } else {
        break;
      }
      this.parse(chunk, from, pipelined);
    }
    if (this.state === ST_CLOSED) return;
    if (this.queued <= QUEUE_MAX && this.socket.isPaused()) this.socket.resume();
    if (this.state === ST_HEAD && this.rest === null && this.queue.length === 0) {
      if (this.parser.messageInProgress()) {
        if (this.readTimerKind !== T_HEADER) this.setReadTimer(T_HEADER, this.server0.conf.clientHeaderTimeout);
      } else if (this.eof) {
        this.close();
      } else if (this.requests > 0 && this.readTimerKind !== T_KEEPALIVE) {
        this.setReadTimer(T_KEEPALIVE, this.keepaliveMs);
      }
    }
  }

  private parse(chunk: Buffer, from: number, pipelined = false): void {
    // (a keep-alive timer still running here is replaced by the header timer in pump() if the
    // head stays incomplete, and cleared by onHead() if it is complete: no work per request)
    this.inFeed = true;
    // the parser pauses after each message, so a new message starts at `from`: remember whether
    // it is a HEAD, for an error page of a head that fails to parse (nginx knows the method by then)
    if (this.state === ST_HEAD) {
      // (matched over reads: the method may come split, "H" then "EAD ...")
      let m = this.headMatch;
      if (!this.parser.messageInProgress()) {
        // the first byte of a request: stub_status counts it, and reading (ngx_http_create_request)
        m = 0;
        STAT.requests++;
        this.stat = statMove(this.stat, STAT_READING);
      }
      for (let i = from; m >= 0 && m < 5 && i < chunk.length; i++) m = chunk[i] === HEAD_SP[m] ? m + 1 : -1;
      this.headMatch = m;
    }
    if (this.state === ST_HEAD && !this.parser.messageInProgress()) {
      this.msgBytes = 0;
      this.msgPipelined = pipelined;
      // where this message starts: a head that fails to parse is logged with its first line
      this.msgChunk = chunk;
      this.msgFrom = from;
    }
    const rc = this.parser.execute(chunk, from);
    // $request_length: what this message took of the bytes read
    this.msgBytes += (rc === E_PAUSED ? this.parser.pos : chunk.length) - from;
    const cur = this.starting ?? this.r;
    if (cur !== null && this.msgBytes > cur.requestLength) cur.bodyLength = this.msgBytes - cur.requestLength;
    if (rc === E_PAUSED) {
      const pos = this.parser.pos;
      if (pos < chunk.length && this.state !== ST_CLOSED) {
        this.rest = chunk;
        this.restPos = pos;
      }
    } else if (rc !== E_OK && rc !== E_CLOSED && rc !== E_UPGRADE) {
      this.parseError(rc);
    }
    const r = this.starting;
    if (r !== null) {
      // the body bytes of this read have been parsed (a framing error in them is known now,
      // as nginx knows it when it discards what is in the buffer): run the request
      this.starting = null;
      if (this.state !== ST_CLOSED) runRequest(r);
    }
    // a request that goes on after this parse (its handler, or its output) may ask for the
    // client's address once the socket has closed, when it cannot be read any more: read it now
    // (Conn.remoteAddress)
    const running = this.r;
    if (running !== null && (!running.finalized || running.waitingOutput)) this.conn.keepPeer();
    this.inFeed = false;
    if (rc === E_OK || rc === E_PAUSED) return;
    if (rc === E_CLOSED) {
      // bytes after a message that ends the connection: never parsed, never answered
      this.rest = null;
      this.queue.length = 0;
      return;
    }
    if (rc === E_UPGRADE) {
      // CONNECT: its answer is on the way; what follows is not HTTP
      this.rest = null;
      this.queue.length = 0;
      if (this.state === ST_BODY) this.state = ST_WAIT;
    }
  }

  // ---------------------------------------------------------------- parser events

  onHead(h: MessageHead): number {
    this.msgChunk = null; // the head parsed: its first line is not needed (nor the read kept)
    const conf = this.server0.conf;
    this.clearReadTimer();
    this.requests++;
    this.stat = statMove(this.stat, STAT_WRITING); // the head is read: the request is processed
    const method = h.method;
    const r = new Request(this.conn, this.server0, this.chains0(), null);
    r.hc = this;
    r.startTime = this.clock.now();
    r.pipelined = this.msgPipelined;
    r.requestLength = headBytes(h);
    r.method = METHODS[method] ?? 'GET';
    r.httpVersion = h.versionMajor * 1000 + h.versionMinor;
    r.headersIn = HeadersIn.fromHead(h);
    r.keepalive = h.keepAlive && !this.ctx.draining;
    this.r = r;
    this.state = ST_BODY;
    this.continueSent = false;
    this.expectContinue = (h.flags & F_EXPECT_CONTINUE) !== 0;
    r.initBody(h.contentLength, (h.flags & F_CHUNKED) !== 0);

    if (method === M_TRACE) {
      // nginx refuses TRACE outright (it would echo the request, cookies included, back)
      r.unparsedUri = h.buf.toString('latin1', h.urlStart, h.urlEnd);
      logError('info', r, 'client sent TRACE method');
      r.keepalive = false;
      finalizeRequest(r, 405);
      return SINK_OK;
    }
    if (method === M_CONNECT) {
      // an origin server has nothing to tunnel to (the target is host:port, not a path)
      r.unparsedUri = h.buf.toString('latin1', h.urlStart, h.urlEnd);
      r.keepalive = false;
      finalizeRequest(r, 405);
      return SINK_OK;
    }
    // '*' is parsed for every method; only OPTIONS could mean something by it, and no
    // location matches it, so it ends in 404
    const t = parseRequestTarget(h.buf, h.urlStart, h.urlEnd, true);
    const hostHeader = r.headersIn.known(H_HOST);
    const absoluteHost = t !== null && t.host !== undefined ? t.host : null;
    const absolute = absoluteHost !== null;
    let host = absolute ? absoluteHost : hostHeader;
    // HTTP/1.0 may come without Host: the server's name then
    if (host === null && r.httpVersion < 1001) host = '';
    else if (host !== null) {
      // (a keep-alive client sends the same Host each time: checked once)
      if (host === this.lastHost) host = this.lastValid;
      else { this.lastHost = host; host = this.lastValid = validateHost(host); }
    }
    // an absolute-form target wins, but a Host header beside it must still be valid (as nginx
    // checks it); a Host header that gave the name was checked above (once per connection)
    if (absolute && host !== null && hostHeader !== null && host !== hostHeader && validateHost(hostHeader) === null) host = null;
    if (t !== null && host !== null) {
      r.uri = t.uri;
      r.args = t.args;
      r.unparsedUri = t.unparsedUri;
      r.hostName = host;
      if (this.ctx.servers.length > 1) {
        r.server = findServer(this.ctx.servers, host, this.ctx.addr);
        r.chains = this.ctx.chains.get(r.server)!;
      }
      r.conf = r.server.conf;
      if (r.server.nameCaptures.length > 0) serverNameCaptures(r, host);
      this.confChosen(r); // the server's keep-alive settings, until a location's replace them
    } else {
      r.unparsedUri = h.buf.toString('latin1', h.urlStart, h.urlEnd);
    }
    if (t === null || host === null) {
      logError('info', r, t === null ? 'client sent invalid request target' : 'client sent invalid host header');
      finalizeRequest(r, 400);
      return SINK_OK;
    }
    if (this.plainOnTls) {
      logError('info', r, 'client sent plain HTTP request to HTTPS port');
      r.keepalive = false;
      finalizeRequest(r, 497);
      return SINK_OK;
    }
    if (this.ctx.tls !== null) {
      const rc = sslRequestCheck(r, this.server0, this.socket as TLSSocket);
      if (rc !== 0) { r.keepalive = false; finalizeRequest(r, rc); return SINK_OK; }
    }
    if (r.hasBody()) this.starting = r; // run after this read's body bytes are parsed (parse())
    else runRequest(r);
    return SINK_OK;
  }

  onBody(chunk: Buffer, start: number, end: number): void {
    const r = this.r;
    if (this.state !== ST_BODY || r === null) return; // discarding
    const rb = r.requestBody!;
    if (rb.error !== 0 || rb.discarding) return;
    const max = r.conf.clientMaxBodySize;
    if (max > 0 && rb.size + (end - start) > max) {
      // checked before the bytes go anywhere (a body stream never sees what is over the limit);
      // whoever reads it gets 413, which closes; a body that is only discarded has no limit
      logError('error', r, `client intended to send too large chunked body: ${rb.size + (end - start)} bytes`);
      rb.fail(413);
      return;
    }
    if (isTransient(chunk)) {
      // the shared read buffer is read again after this callback: the body keeps a copy
      chunk = Buffer.from(chunk.subarray(start, end));
      end -= start;
      start = 0;
    }
    rb.append(chunk, start, end);
    if (rb.stream !== null) rb.stream.data(chunk, start, end);
    if (this.readTimerKind === T_BODY) this.readDeadline = this.clock.now() + this.readTimerMs;
  }

  onTrailers(t: MessageHead): void {
    const r = this.r;
    if (r !== null && this.state === ST_BODY) r.requestBody!.trailers = HeadersIn.fromHead(t);
  }

  onMessageComplete(): number {
    if (this.state === ST_DISCARD) {
      this.clearReadTimer();
      this.state = ST_HEAD;
      this.stat = statMove(this.stat, STAT_WAITING);
      this.r = null;
      return SINK_PAUSE;
    }
    if (this.state !== ST_BODY) return SINK_PAUSE;
    const rb = this.r!.requestBody!;
    if (this.readTimerKind === T_BODY) this.clearReadTimer();
    this.state = ST_WAIT;
    if (rb.error === 0) {
      rb.complete = true;
      rb.wake();
      if (rb.stream !== null) rb.stream.end();
    }
    return SINK_PAUSE;
  }

  // ---------------------------------------------------------------- what requests ask of us

  wantBody(r: Request): void {
    this.testExpect(r);
    if (r !== this.r || this.state !== ST_BODY) return;
    this.setReadTimer(T_BODY, r.conf.clientBodyTimeout);
  }

  private expectsContinue(r: Request): boolean {
    return this.expectContinue && r.httpVersion >= 1001 && r.requestBody!.size === 0;
  }

  /**
   * ngx_http_test_expect: the body is about to be read or discarded, so a client waiting for
   * "100 Continue" gets it now — whatever the body's length (nginx sends it for Content-Length: 0 too).
   */
  testExpect(r: Request): void {
    if (r !== this.r || this.continueSent || this.state === ST_CLOSED || !this.expectsContinue(r)) return;
    if (r.headerSent || (r.requestBody!.complete && this.state !== ST_WAIT && this.state !== ST_BODY)) return;
    this.continueSent = true;
    this.conn.sendv([CONTINUE], 1, CONTINUE.length);
  }

  /**
   * ngx_http_discard_request_body, called before `return` and static answer: the body bytes
   * already read have been parsed (onHead deferred the run), so a malformed body is known here
   * and answered with its status instead of the location's. Returns that status, or 0.
   */
  discardBody(r: Request, expect = true): number {
    const rb = r.requestBody;
    if (r !== this.r || rb === null) return 0; // (an error page for a head that failed has no body)
    // too large only matters to a reader: nginx discards a body of any size
    if (rb.error === 413 && rb.stream === null) rb.error = 0;
    if (rb.error !== 0) return rb.error;
    rb.discarded();
    if (expect) this.testExpect(r);
    return 0;
  }

  /**
   * A block was chosen for the request (its server, then its location): keep-alive and
   * TCP_NODELAY come from there, as nginx reads them from the request's location
   * (ngx_http_update_location_config, ngx_http_set_keepalive).
   */
  confChosen(r: Request): void {
    if (r !== this.r) return;
    const conf = r.conf;
    if (r.keepalive && (conf.keepaliveTimeout <= 0 || this.requests >= conf.keepaliveRequests)) r.keepalive = false;
    // keepalive_time and keepalive_disable are a location's, as nginx checks them only there
    if (r.keepalive && r.loc !== null
      && (this.clock.now() - this.startTime > conf.keepaliveTime || keepaliveDisabled(r, conf.keepaliveDisable))) {
      r.keepalive = false;
    }
    if (conf.tcpNodelay !== this.nodelay) {
      this.nodelay = conf.tcpNodelay;
      this.conn.noDelay(this.nodelay);
    }
  }

  requestDone(r: Request): void {
    r.cleanup();
    // its head may be in the shared read buffer: after its end a request's headers are gone
    // (reading them from a timer then is an error, as OpenResty's API is disabled there)
    if (r === this.r) r.headersIn.expire();
    if (r !== this.r || this.state === ST_CLOSED) return;
    this.keepaliveMs = r.conf.keepaliveTimeout;
    if (!r.keepalive || this.conn.closed || this.ctx.draining) {
      this.close();
      return;
    }
    if (this.state === ST_BODY) {
      // the handler did not read the whole body: read on and drop it (ngx_http_discard_request_body)
      if (r.requestBody!.error !== 0 || (r.hasBody() && this.expectsContinue(r) && !this.continueSent)) {
        this.close();
        return;
      }
      this.state = ST_DISCARD;
      this.setReadTimer(T_BODY, r.conf.clientBodyTimeout);
      return;
    }
    this.r = null;
    if (this.conn.full) {
      this.state = ST_DRAIN;
      return;
    }
    this.state = ST_HEAD;
    this.stat = statMove(this.stat, STAT_WAITING); // a pipelined request makes it reading again
    if (!this.inFeed) {
      // (the requests pipelined behind an asynchronous one: their responses leave together)
      this.conn.batch();
      this.pump();
      this.conn.flush();
    }
  }

  /**
   * The request's 101 has gone out and the connection leaves HTTP (ngx_http_upstream_upgrade, a
   * handler's r.upgrade()): nothing here reads the socket or times it any more, and the bytes
   * already read past the request's head are returned, in order, for the new owner. The
   * connection still counts as open until its socket closes. Null when it cannot be taken (the
   * request is not this connection's current one, or its body is still arriving).
   */
  upgrade(r: Request): Buffer[] | null {
    if (r !== this.r || this.state !== ST_WAIT || this.conn.closed) return null;
    // the 101 (gathered while this read is handled) goes before whatever the new owner writes
    const out: Buffer[] = [];
    if (this.rest !== null && this.restPos < this.rest.length) {
      const b = this.rest.subarray(this.restPos);
      out.push(isTransient(this.rest) ? Buffer.from(b) : b);
    }
    for (let i = 0; i < this.queue.length; i++) out.push(this.queue[i]);
    this.rest = null;
    this.queue.length = 0;
    this.queued = 0;
    this.state = ST_UPGRADED;
    this.dropReadTimer();
    if (this.writeTimer !== null) { this.clock.clearTimeout(this.writeTimer); this.writeTimer = null; }
    const s = this.socket;
    s.off('data', onSocketData);
    forwardToStream(s); // reads come as 'data' (copies) for the new owner
    s.off('end', onSocketEnd);
    s.off('drain', onSocketDrain);
    this.conn.handOver();
    return out;
  }

  // ---------------------------------------------------------------- errors, timers, closing

  private parseError(rc: number): void {
    const status = rc === E_URI_TOO_LONG ? 414 : rc === E_HEADER_TOO_LARGE ? 431
      : rc === E_UNSUPPORTED_TE || rc === E_UNKNOWN_METHOD ? 501 : rc === E_INVALID_VERSION ? 505 : 400;
    const r = this.r;
    this.rest = null;
    this.queue.length = 0;
    if (r !== null && (this.state === ST_BODY || this.state === ST_DISCARD)) {
      // bad framing inside a body: the request fails, the connection goes
      logError('info', r, `client sent invalid body: ${this.parser.errorReason}`);
      r.keepalive = false;
      const rb = r.requestBody!;
      if (this.state === ST_DISCARD || r.finalized) { this.close(); return; }
      rb.fail(400);
      this.state = ST_WAIT;
      return;
    }
    const e = new Request(this.conn, this.server0, this.chains0(), null);
    e.hc = this;
    e.startTime = this.clock.now();
    e.keepalive = false;
    if (this.headMatch === 5) e.method = 'HEAD'; // its error page goes without a body
    // $request: the line as it was read, as nginx logs a request it could not parse
    const mc = this.msgChunk;
    if (mc !== null) {
      let end = this.msgFrom;
      while (end < mc.length && mc[end] !== 0x0d && mc[end] !== 0x0a) end++;
      e.requestLine = mc.toString('latin1', this.msgFrom, end);
    }
    this.msgChunk = null;
    this.r = e;
    this.state = ST_WAIT;
    logError('info', null, `client sent invalid request (${this.parser.errorReason}) while reading client request headers, client: ${this.conn.remoteAddress}`, this.server0.conf.errorLog);
    finalizeRequest(e, status);
  }

  /**
   * Arm the read timeout (header, body or keep-alive). Like nginx's timer tree this costs no
   * timer-list work per request: only the deadline moves; the one Node timer fires at its old
   * time, sees a later deadline and sleeps again. A sooner deadline re-arms it.
   */
  setReadTimer(kind: number, ms: number): void {
    if (ms <= 0) { this.clearReadTimer(); return; }
    const now = this.clock.now();
    this.readTimerKind = kind;
    this.readTimerMs = ms;
    this.readDeadline = now + ms;
    if (this.readTimer !== null && this.readTimerAt <= this.readDeadline) return;
    if (this.readTimer !== null) this.clock.clearTimeout(this.readTimer);
    this.readTimerAt = this.readDeadline;
    this.readTimer = this.clock.setTimeout(onReadTimeout, ms, this, false);
  }

  /** Disarm: the Node timer may still fire once and find nothing to do. */
  clearReadTimer(): void {
    this.readTimerKind = T_NONE;
  }

  private dropReadTimer(): void {
    this.readTimerKind = T_NONE;
    if (this.readTimer !== null) {
      this.clock.clearTimeout(this.readTimer);
      this.readTimer = null;
    }
  }

  onReadTimeout(): void {
    this.readTimer = null;
    const kind = this.readTimerKind;
    if (kind === T_NONE || this.state === ST_CLOSED) return;
    const left = this.readDeadline - this.clock.now();
    if (left > 0) {
      // the deadline moved on since the timer was set: sleep until the new one
      this.readTimerAt = this.readDeadline;
      this.readTimer = this.clock.setTimeout(onReadTimeout, left, this, false);
      return;
    }
    this.readTimerKind = T_NONE;
    if (kind === T_KEEPALIVE) { this.destroy(); return; }
    if (kind === T_HEADER) {
      if (this.parser.messageInProgress() && !this.conn.closed) {
        logError('info', null, `client timed out while reading client request headers, client: ${this.conn.remoteAddress}`, this.server0.conf.errorLog);
        const e = new Request(this.conn, this.server0, this.chains0(), null);
        e.hc = this;
        e.startTime = this.clock.now();
        e.keepalive = false;
        this.r = e;
        this.state = ST_WAIT;
        finalizeRequest(e, 408);
      } else {
        this.destroy();
      }
      return;
    }
    if (kind === T_BODY) {
      const r = this.r;
      if (r === null || this.state === ST_DISCARD || r.finalized) { this.destroy(); return; }
      logError('info', r, 'client timed out while reading client request body');
      r.keepalive = false;
      const rb = r.requestBody!;
      rb.fail(408);
      this.state = ST_WAIT;
    }
  }

  onFull(): void {
    const ms = (this.r?.conf ?? this.server0.conf).sendTimeout;
    if (ms <= 0) return;
    this.writeMark = this.conn.progress();
    if (this.writeTimer !== null) this.clock.clearTimeout(this.writeTimer);
    this.writeTimer = this.clock.setTimeout(onWriteTimeout, ms, this, false);
  }

  onWriteTimeout(): void {
    this.writeTimer = null;
    if (this.state === ST_CLOSED || !this.conn.full) return;
    const now = this.conn.progress();
    if (now !== this.writeMark) {
      // the client reads, slowly: send_timeout is between two writes, not for the whole response
      this.onFull();
      return;
    }
    logError('info', this.r, 'client timed out while sending response to client');
    this.destroy();
  }

  onDrain(): void {
    this.conn.full = false;
    this.conn.batch();
    this.drained();
    this.conn.flush();
  }

  private drained(): void {
    if (this.writeTimer !== null) { this.clock.clearTimeout(this.writeTimer); this.writeTimer = null; }
    const r = this.r;
    if (r !== null) r.onWritable();
    if (this.state === ST_DRAIN) {
      this.state = ST_HEAD;
      this.stat = statMove(this.stat, STAT_WAITING);
      this.pump();
    }
  }

  onEnd(): void {
    this.eof = true;
    if (this.state === ST_CLOSED) return;
    if (this.state === ST_HEAD) {
      if (this.rest === null && this.queue.length === 0) this.close();
      return;
    }
    if (this.state === ST_BODY && this.rest === null && this.queue.length === 0) {
      // the client stopped in the middle of its body
      const r = this.r!;
      r.keepalive = false;
      const rb = r.requestBody!;
      if (!rb.complete && rb.error === 0 && this.parser.messageInProgress()) {
        rb.fail(400);
      }
    } else if (this.state === ST_DISCARD) {
      this.close();
    } else if (this.state === ST_WAIT && this.rest === null && this.queue.length === 0) {
      const r = this.r;
      if (r !== null && r.onClientAbort !== null) r.onClientAbort();
    }
  }

  /** Close after the queued output has gone (a FIN, then the socket closes). */
  close(): void {
    if (this.state === ST_CLOSED) return;
    this.state = ST_CLOSED;
    this.stat = statMove(this.stat, STAT_NONE);
    this.dropReadTimer();
    this.conn.end();
    this.socket.resume(); // drain what the client still sends so the close is clean
  }

  /** Close at once. */
  destroy(): void {
    this.state = ST_CLOSED;
    this.stat = statMove(this.stat, STAT_NONE);
    this.dropReadTimer();
    this.conn.destroy();
  }

  onClose(): void {
    this.state = ST_CLOSED;
    this.stat = statMove(this.stat, STAT_NONE);
    this.dropReadTimer();
    if (this.writeTimer !== null) { this.clock.clearTimeout(this.writeTimer); this.writeTimer = null; }
    this.conn.closed = true;
    const r = this.r;
    if (r !== null) {
      r.cleanup();
      const rb = r.requestBody;
      if (rb !== null && !rb.complete && rb.error === 0) rb.fail(400);
      r.onWritable();
    }
    this.rest = null;
    this.queue.length = 0;
    // (back to the free list for the next connection; this one holds a closed parser from now on)
    this.parser.recycle();
    this.parser = HttpParser.closed();
    if (this.ctx.connections.delete(this)) {
      this.ctx.counter.active--;
      STAT.active--;
      if (this.ctx.draining && this.ctx.connections.size === 0) this.ctx.onDrained?.();
    }
  }

  /**
   * Graceful shutdown (ngx_close_idle_connections): a busy connection closes after its current
   * response; an idle one (keep-alive, or nothing sent yet) is closed once `graceMs` pass without
   * a request, and a request that comes before is answered with Connection: close. (nginx closes
   * idle ones at once, which cuts a request already on its way; clients retry those.)
   */
  drain(graceMs: number): void {
    if (this.state !== ST_HEAD || this.r !== null || this.rest !== null || this.queue.length > 0 || this.parser.messageInProgress()) return;
    const kind = this.requests > 0 ? T_KEEPALIVE : T_HEADER;
    const left = this.readTimerKind === kind ? this.readDeadline - this.clock.now() : graceMs;
    this.setReadTimer(kind, Math.max(1, Math.min(graceMs, left)));
  }
}

/** The bytes of a request's head, request line to the empty line (what nginx's request_length starts with). */
function headBytes(h: MessageHead): number {
  const b = h.buf;
  let start = h.urlStart;
  while (start > 0 && b[start - 1] !== 0x0a) start--;
  let i = h.headerCount > 0 ? h.headers[(h.headerCount - 1) * 5 + 3] : h.urlEnd;
  i = b.indexOf(0x0a, i) + 1;
  if (i === 0) return 0;
  if (b[i] === 0x0d) i++;
  return i + 1 - start;
}

// socket listeners: named functions, `this` is the socket (no closure per connection)
function hcOf(s: Socket): HttpConnection {
  return (s as unknown as { _hc: HttpConnection })._hc;
}
/**
 * keepalive_disable: the browsers it names lose keep-alive (ngx_http_process_user_agent's
 * checks, case-sensitive substrings): msie6 (MSIE 4-6 without SV1, not Opera) for POST only,
 * safari (Safari/ with Mac OS X, not MSIE, Opera, Gecko/ or Chrome/).
 */
function keepaliveDisabled(r: Request, bits: number): boolean {
  if (bits === 0 || ((bits & KD_SAFARI) === 0 && r.method !== 'POST')) return false;
  const uas = r.headersIn.getAll('user-agent');
  for (let i = 0; i < uas.length; i++) {
    const ua = uas[i];
    const opera = ua.includes('Opera');
    const m = ua.indexOf('MSIE ');
    const msie = !opera && m >= 0 && m + 7 < ua.length;
    if ((bits & KD_MSIE6) !== 0 && msie && r.method === 'POST' && ua[m + 6] === '.'
      && (ua[m + 5] === '4' || ua[m + 5] === '5' || (ua[m + 5] === '6' && ua.indexOf('SV1', m + 8) < 0))) return true;
    if ((bits & KD_SAFARI) !== 0 && !msie && !opera && !ua.includes('Gecko/') && !ua.includes('Chrome/')
      && ua.includes('Safari/') && ua.includes('Mac OS X')) return true;
  }
  return false;
}

function onSocketData(this: Socket, chunk: Buffer): void {
  eventStart();
  try { hcOf(this).onData(chunk); } finally { eventEnd(); }
}
function onSocketRead(this: Socket, n: number): void { hcOf(this).onRead(n); }
function onSocketEnd(this: Socket): void { hcOf(this).onEnd(); }
function onSocketDrain(this: Socket): void { hcOf(this).onDrain(); }
function onSocketError(this: Socket, _e: Error): void { hcOf(this).destroy(); }
function onSocketClose(this: Socket): void { hcOf(this).onClose(); }
function onReadTimeout(hc: HttpConnection): void { hc.onReadTimeout(); }
function onWriteTimeout(hc: HttpConnection): void { hc.onWriteTimeout(); }
function onConnFull(this: Conn): void { hcOf(this.socket).onFull(); }
function onConnDrain(this: Conn): void { hcOf(this.socket).onDrain(); }

/**
 * ngx_http_set_virtual_server's and ngx_http_process_request's TLS checks: a Host other than the
 * SNI name whose server (the one the request goes to) verifies clients (421), then the request's server's
 * client certificate policy (495 a bad certificate, 496 none where one is required). 0: go on.
 */
function sslRequestCheck(r: Request, _sniServer: ResolvedServer, s: TLSSocket): number {
  const info = tlsInfo(s);
  if (info === null) return 0;
  // the Host's server, not SNI's, decides: a client must not reach a verifying server past its check
  if (info.name !== '' && r.hostName !== '' && r.hostName !== info.name && r.server.conf.sslVerifyClient !== 'off') {
    logError('info', r, 'client attempted to request the server name different from the one that was negotiated');
    return 421;
  }
  const mode = r.server.conf.sslVerifyClient;
  if (mode === 'off') return 0;
  const v = info.verify;
  if (v.startsWith('FAILED:') && !(mode === 'optional_no_ca' && caOnly(s))) {
    logError('info', r, `client SSL certificate verify error: (${verifyCode(s)}:${v.slice(7)})`);
    return 495;
  }
  if (mode === 'on' && v === 'NONE') {
    logError('info', r, 'client sent no required SSL certificate');
    return 496;
  }
  return 0;
}

/** optional_no_ca lets through what fails only for want of a trusted issuer (ngx_ssl_verify_error_optional). */
function caOnly(s: TLSSocket): boolean {
  const c = errCode(s);
  return /DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|UNABLE_TO_VERIFY_LEAF_SIGNATURE/.test(c);
}

/** node:tls's verify error code ('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), an Error's code or a string. */
function errCode(s: TLSSocket): string {
  const e = s.authorizationError as unknown as { code?: string } | string | null;
  return e === null || e === undefined ? '' : typeof e === 'string' ? e : e.code ?? '';
}

/** OpenSSL's X509_V_ERR number for the verify error nginx prints. */
function verifyCode(s: TLSSocket): number {
  const c = errCode(s);
  const codes: Record<string, number> = {
    UNABLE_TO_GET_ISSUER_CERT: 2, CERT_SIGNATURE_FAILURE: 7, CERT_NOT_YET_VALID: 9, CERT_HAS_EXPIRED: 10,
    DEPTH_ZERO_SELF_SIGNED_CERT: 18, SELF_SIGNED_CERT_IN_CHAIN: 19, UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 20,
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 21, CERT_REVOKED: 23, INVALID_CA: 24, INVALID_PURPOSE: 26, CERT_UNTRUSTED: 27, CERT_REJECTED: 28,
  };
  return codes[c] ?? 0;
}

/** A regex server_name with groups that the Host matches: its captures ($1, named) for the request. */
function serverNameCaptures(r: Request, host: string): void {
  for (const re of r.server.nameCaptures) {
    const m = re.regex.exec(host);
    if (m !== null) { setCaptures(r, m, re.names); return; }
  }
}
