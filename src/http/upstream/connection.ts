// cf. ngx_http_upstream.c (connect, send the request, read the header and the body) — one
// request/response exchange with an upstream peer, over a fresh or a pooled connection, read with
// our parser in response mode. Shared by proxy_pass and the HTTP client.
//
// A plain connection reads into the process's shared read buffer (src/core/read-buffer.ts) and
// writes straight to its handle when nothing is queued (src/core/direct-write.ts), as a client
// connection does; a TLS one, or either path switched off, uses the socket's stream side. The
// head is made into strings while it is parsed; the body bytes handed on are a copy when they
// sit in the shared buffer, else views of the socket's chunks. The consumer may pause() the
// exchange when its own output is full, which stops reading the socket.

import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { SYSTEM_CLOCK, eventEnd, eventStart, type Clock } from '../../core/clock.js';
import { DeadlineTimer } from '../../core/timer.js';
import { connectRead, endRead, forwardToStream, isTransient, readChunk } from '../../core/read-buffer.js';
import { QUEUED, UNAVAILABLE, WROTE, writeDirect } from '../../core/direct-write.js';
import type { Keepable, KeepalivePool, SocketCache } from './keepalive.js';
import type { TlsDial } from './ssl.js';
import { HttpParser } from '../parser/index.js';
import {
  E_OK, PARSER_RESPONSE, SINK_OK, SINK_SKIP_BODY, type MessageHead, type ParserSink,
} from '../parser/types.js';

/** Why an exchange failed (nginx's NGX_HTTP_UPSTREAM_FT_*). */
export const FAIL_CONNECT = 1;    // could not connect (error)
export const FAIL_TIMEOUT = 2;    // connect, send or read timed out
export const FAIL_ERROR = 3;      // the connection broke while sending or reading (error)
export const FAIL_CLOSED = 4;     // closed before the response was complete (error / truncated)
export const FAIL_INVALID = 5;    // the response could not be parsed (invalid_header)
/** A pooled connection died before any byte of the response: try again on a fresh one. */
export const FAIL_STALE = 6;
/** The TLS handshake failed, or the certificate was not taken (error; nothing was sent). */
export const FAIL_SSL = 7;

export interface ExchangeHandler {
  /** Status and headers (1xx interim responses are skipped). */
  onHead(x: Exchange, h: MessageHead): void;
  /** Body bytes: chunk[start, end), a view of the socket's chunk. */
  onData(x: Exchange, chunk: Buffer, start: number, end: number): void;
  /** The response ended cleanly (the connection went back to the pool when it could). */
  onEnd(x: Exchange): void;
  /** The exchange failed; `where` tells whether a response head had arrived. */
  onFail(x: Exchange, kind: number, err: Error | null): void;
  /** The connection is up (fresh or from the pool) and the request starts to go out. */
  onConnected?(x: Exchange): void;
  /**
   * After a 101 the handler took with x.upgrade(): the socket is the handler's now (never
   * pooled), with the bytes the upstream sent past the head (`rest`, or null).
   */
  onUpgraded?(x: Exchange, socket: Socket, rest: Buffer | null): void;
}

export interface ExchangeTimeouts {
  connect: number;
  send: number;
  read: number;
}

const ST_CONNECT = 0, ST_SEND = 1, ST_BODY = 3, ST_DONE = 4, ST_FAILED = 5;
// what the connection's timer waits for (0 is TIMER_OFF)
const T_CONNECT = 1, T_SEND = 2, T_READ = 3;

const CONN = Symbol('sluice.upstream-connection');

/**
 * One connection to an upstream peer for its whole life (nginx's ngx_peer_connection_t with the
 * keepalive module's cache item): the socket, its response parser, its listeners and one timer,
 * set up once and kept across the exchanges it carries and the time it waits in a pool. An
 * exchange only points `x` at itself; the pool only sets `keptIn`. Nothing is added or removed
 * per request.
 */
export class UpstreamConnection implements ParserSink, Keepable {
  readonly socket: Socket;
  parser: HttpParser;
  /** The exchange using it, or null while idle (kept in a pool, or held by an HttpClient). */
  x: Exchange | null;
  requests: number;
  keptIn: KeepalivePool | null;
  keptKey: string;
  keptUntil: number;
  readonly startedAt: number;
  /**
   * The exchange's connect, send or read timeout (T_*): one timer for the connection's life,
   * unref'd (the socket keeps the process alive while it is in use); moving its deadline later
   * costs nothing.
   */
  readonly timer: DeadlineTimer<UpstreamConnection>;
  /** How it went TLS (its peer's sessions are kept through it), or null for plain TCP. */
  readonly tls: TlsDial | null;
  /** The TCP connection is up (a TLS one may still be handshaking). */
  tcpUp: boolean;
  /** A direct write that had to wait in libuv has gone (the socket's 'drain' for it). */
  readonly written: (err: Error | null) => void;
  /**
   * TCP_NODELAY is set; else whether a write has gone: it is set before the second (a first
   * write has nothing unacked before it for Nagle's algorithm to hold back — most connections a
   * full keepalive cache closes carried one request — as the client side does, src/core/conn.ts).
   */
  nodelay: boolean;
  private wrote: boolean;

  constructor(socket: Socket, clock: Clock = SYSTEM_CLOCK, tls: TlsDial | null = null) {
    this.socket = socket;
    this.parser = HttpParser.take(PARSER_RESPONSE, this);
    this.x = null;
    this.requests = 0;
    this.keptIn = null;
    this.keptKey = '';
    this.keptUntil = 0;
    this.startedAt = clock.now();
    this.timer = new DeadlineTimer<UpstreamConnection>(this, onTimer, clock, true);
    this.tls = tls;
    this.tcpUp = false;
    this.nodelay = false;
    this.wrote = false;
    this.written = (err) => {
      if (err !== null) this.socket.destroy(err);
      else this.x?.drain();
    };
    (socket as unknown as Record<symbol, UpstreamConnection>)[CONN] = this;
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('drain', onDrain);
  }

  /** A fresh connection; with `tls`, node:tls over it (the handshake follows the TCP connect). */
  static connect(host: string, port: number, clock: Clock = SYSTEM_CLOCK, tls: TlsDial | null = null): UpstreamConnection {
    if (tls === null) return new UpstreamConnection(connect({ host, port, onread: connectRead(onRead) }), clock);
    const s = tlsConnect(tls.options(host, port));
    s.setNoDelay(true); // (the handshake writes first)
    const c = new UpstreamConnection(s, clock, tls);
    c.nodelay = true;
    s.once('connect', onTcpConnect);
    if (tls.client.sessionReuse) s.on('session', onSession);
    return c;
  }

  destroy(): void { this.socket.destroy(); }

  /** TCP_NODELAY before any write but the first (see `nodelay`); at once with `now` (a tunnel). */
  beforeWrite(now = false): void {
    if (this.nodelay) return;
    if (!this.wrote && !now) { this.wrote = true; return; }
    this.nodelay = true;
    this.socket.setNoDelay(true);
  }

  /** Send `b`: false when it has to wait (the socket's 'drain', or `written` for a direct write). */
  write(b: Buffer): boolean {
    this.beforeWrite();
    const s = this.socket;
    const rc = writeDirect(s, b, this.written);
    if (rc === WROTE) return true;
    if (rc === QUEUED) return false;
    if (rc !== UNAVAILABLE) return true; // failed: the socket is destroyed, its 'error' and 'close' follow
    return s.write(b);
  }

  // ---- ParserSink: forwarded to the exchange in progress
  onHead(h: MessageHead): number { return this.x !== null ? this.x.onHead(h) : SINK_OK; }
  onBody(chunk: Buffer, start: number, end: number): void { if (this.x !== null) this.x.onBody(chunk, start, end); }
  onTrailers(): void {} // upstream trailers are not passed on (nginx drops them too)
  onMessageComplete(): number { return this.x !== null ? this.x.onMessageComplete() : SINK_OK; }

  // ---- socket events
  data(chunk: Buffer): void {
    if (this.x !== null) { this.x.data(chunk); return; }
    // an idle connection must stay silent: data means it cannot be reused
    if (this.keptIn !== null) this.keptIn.drop(this);
    else this.socket.destroy();
  }

  /** The peer closed (err null) or the connection broke. */
  closed(err: Error | null): void {
    if (this.x !== null) {
      if (err !== null) this.x.error(err);
      else this.x.eof();
    } else if (this.keptIn !== null) {
      this.keptIn.drop(this);
    }
  }

  /** The socket is gone: nothing of this connection stays behind. */
  freed(): void {
    this.closed(null);
    this.timer.stop();
    this.parser.recycle();
    this.parser = HttpParser.closed();
  }
}

function connOf(s: Socket): UpstreamConnection {
  return (s as unknown as Record<symbol, UpstreamConnection>)[CONN];
}
// (a read is one event: the system clock is read once for it, as nginx's time is per event)
function onData(this: Socket, chunk: Buffer): void {
  eventStart();
  try { connOf(this).data(chunk); } finally { eventEnd(); }
}
/** A read into the shared buffer (connectRead): its first `n` bytes, valid until this returns. */
function onRead(this: Socket, n: number): void {
  eventStart();
  try { connOf(this).data(readChunk(n)); } finally { eventEnd(); }
  endRead();
}
function onEnd(this: Socket): void { connOf(this).closed(null); }
function onError(this: Socket, e: Error): void { connOf(this).closed(e); }
function onClose(this: Socket): void { connOf(this).freed(); }
function onDrain(this: Socket): void { connOf(this).x?.drain(); }
function onTimer(c: UpstreamConnection, kind: number): void { c.x?.timeout(kind); }
function onTcpConnect(this: Socket): void { connOf(this).tcpUp = true; }
/** A session to offer next time (ngx_http_upstream_ssl_save_session: not while the connection is idle). */
function onSession(this: Socket, session: Buffer): void {
  const c = connOf(this);
  if (c.x !== null && c.tls !== null) c.tls.client.saveSession(c.tls.peer, session);
}

/** Requests and their bodies up to this size leave in one write. */
const COALESCE_MAX = 16 * 1024;

export class Exchange {
  readonly host: string;
  readonly port: number;
  /** Pool key ("host:port"). */
  readonly key: string;
  readonly pool: SocketCache<UpstreamConnection> | null;
  readonly handler: ExchangeHandler;
  readonly timeouts: ExchangeTimeouts;
  /** The request was HEAD: the response has no body whatever it says. */
  readonly headOnly: boolean;
  conn: UpstreamConnection | null;
  reused: boolean;
  state: number;
  status: number;
  gotBytes: boolean;
  /** The whole request (head and body) has been written. */
  requestSent: boolean;
  keepAlive: boolean;
  paused: boolean;
  /** Bytes written to and read from the connection by this exchange ($upstream_bytes_*). */
  bytesSent: number;
  bytesReceived: number;
  private interim: boolean;
  /** The handler took the 101 (upgrade()): the socket is handed over once the parser returns. */
  private upgrading: boolean;
  private pendingBody: boolean;
  /** Streamed body that arrived before the connection was up: sent after the head. */
  private early: Buffer[] | null;
  /** The clock a fresh connection's timer reads. */
  private readonly clock: Clock;
  /** TLS for a fresh connection (a pooled one went TLS when it was made), or null. */
  readonly tls: TlsDial | null;

  constructor(host: string, port: number, key: string, pool: SocketCache<UpstreamConnection> | null,
    handler: ExchangeHandler, timeouts: ExchangeTimeouts, headOnly: boolean, clock: Clock = SYSTEM_CLOCK,
    tls: TlsDial | null = null) {
    this.host = host;
    this.port = port;
    this.key = key;
    this.pool = pool;
    this.handler = handler;
    this.timeouts = timeouts;
    this.headOnly = headOnly;
    this.conn = null;
    this.reused = false;
    this.state = ST_CONNECT;
    this.status = 0;
    this.gotBytes = false;
    this.requestSent = false;
    this.keepAlive = false;
    this.paused = false;
    this.bytesSent = 0;
    this.bytesReceived = 0;
    this.interim = false;
    this.upgrading = false;
    this.pendingBody = false;
    this.early = null;
    this.clock = clock;
    this.tls = tls;
  }

  /**
   * Send the request: `head` (request line and headers) and `body` pieces. With `more`, the body
   * goes on with write() / end() as it arrives (streamed from the client).
   */
  start(head: Buffer, body: readonly Buffer[], more: boolean, fresh = false): void {
    this.pendingBody = more;
    const pooled = fresh || this.pool === null ? null : this.pool.take(this.key);
    if (pooled !== null) {
      this.reused = true;
      pooled.parser.reset();
      this.attach(pooled);
      this.state = ST_SEND;
      this.send(head, body);
    } else {
      const tls = this.tls;
      const c = UpstreamConnection.connect(this.host, this.port, this.clock, tls);
      this.attach(c);
      // the handshake is under the connect timeout too, as nginx's
      c.timer.arm(T_CONNECT, this.timeouts.connect);
      c.socket.once(tls === null ? 'connect' : 'secureConnect', () => {
        if (this.state !== ST_CONNECT) return;
        if (tls !== null) {
          const bad = tls.client.check(c.socket as TLSSocket, tls.name);
          if (bad !== null) { this.fail(FAIL_SSL, bad); return; }
        }
        this.state = ST_SEND;
        this.send(head, body);
      });
    }
  }

  /** More request body (streaming). */
  write(chunk: Buffer): void {
    const c = this.conn;
    if (c === null || this.state >= ST_DONE) return;
    if (this.state === ST_CONNECT) {
      (this.early ??= []).push(chunk);
      return;
    }
    this.bytesSent += chunk.length;
    if (!c.write(chunk)) c.timer.arm(T_SEND, this.timeouts.send);
  }

  /** The streamed request body is complete. */
  end(): void {
    this.pendingBody = false;
    if (this.state !== ST_CONNECT) this.requestSent = true;
  }

  /** Stop reading the response (the consumer's output is full). */
  pause(): void {
    const c = this.conn;
    if (this.paused || c === null) return;
    this.paused = true;
    c.socket.pause();
    if (c.timer.kind === T_READ) c.timer.disarm(); // a slow client is not the upstream's fault
  }

  resume(): void {
    const c = this.conn;
    if (!this.paused || c === null) return;
    this.paused = false;
    if (this.state < ST_DONE) c.timer.arm(T_READ, this.timeouts.read);
    c.socket.resume();
  }

  /**
   * Called from onHead of a 101: the connection leaves HTTP. Once this read is parsed, the socket
   * and the bytes after the head go to the handler's onUpgraded; the exchange is over.
   */
  upgrade(): void {
    if (this.state !== ST_BODY || this.status !== 101) return;
    this.state = ST_DONE;
    this.upgrading = true;
  }

  /** Give up on this exchange (next upstream, client gone): the connection is closed. */
  abort(): void {
    if (this.state >= ST_DONE) return;
    this.state = ST_FAILED;
    this.cleanup(false);
  }

  // ---------------------------------------------------------------- parser events

  onHead(h: MessageHead): number {
    const status = h.statusCode;
    if (status >= 100 && status < 200 && status !== 101) {
      this.interim = true; // 100 Continue, 103 Early Hints: the real answer follows
      return SINK_OK;
    }
    this.status = status;
    this.keepAlive = h.keepAlive;
    this.state = ST_BODY;
    this.handler.onHead(this, h);
    return this.headOnly ? SINK_SKIP_BODY : SINK_OK;
  }

  onBody(chunk: Buffer, start: number, end: number): void {
    if (this.state !== ST_BODY) return;
    if (isTransient(chunk)) {
      // the shared read buffer is read into again after this read: what goes on is a copy
      chunk = Buffer.from(chunk.subarray(start, end));
      end -= start;
      start = 0;
    }
    this.handler.onData(this, chunk, start, end);
  }

  onMessageComplete(): number {
    if (this.interim) {
      this.interim = false;
      return SINK_OK;
    }
    if (this.state !== ST_BODY) return SINK_OK;
    this.state = ST_DONE;
    const reuse = this.keepAlive && this.requestSent && !this.pendingBody && this.pool !== null;
    this.cleanup(reuse);
    this.handler.onEnd(this);
    return SINK_OK;
  }

  // ---------------------------------------------------------------- the connection's events

  private attach(c: UpstreamConnection): void {
    this.conn = c;
    c.x = this;
    if (c.socket.isPaused()) c.socket.resume();
  }

  private send(head: Buffer, body: readonly Buffer[]): void {
    const c = this.conn!;
    const s = c.socket;
    const parts = this.early === null ? body : [...body, ...this.early];
    this.early = null;
    let total = head.length;
    for (let i = 0; i < parts.length; i++) total += parts[i].length;
    this.bytesSent += total;
    this.handler.onConnected?.(this);
    let ok: boolean;
    if (parts.length === 0) {
      ok = c.write(head);
    } else if (total <= COALESCE_MAX) {
      // one small write costs less than a writev of pieces
      const out = Buffer.allocUnsafe(total);
      let at = head.copy(out, 0);
      for (let i = 0; i < parts.length; i++) at += parts[i].copy(out, at);
      ok = c.write(out);
    } else {
      c.beforeWrite();
      s.cork();
      ok = s.write(head);
      for (let i = 0; i < parts.length; i++) ok = s.write(parts[i]);
      s.uncork();
    }
    if (!this.pendingBody) this.requestSent = true;
    if (ok) c.timer.arm(T_READ, this.timeouts.read);
    else c.timer.arm(T_SEND, this.timeouts.send);
  }

  data(chunk: Buffer): void {
    if (this.state >= ST_DONE) return;
    this.gotBytes = true;
    this.bytesReceived += chunk.length;
    const c = this.conn!;
    if (c.timer.kind === T_READ) c.timer.refresh();
    const rc = c.parser.execute(chunk);
    if (this.upgrading) { this.handOver(c, chunk); return; }
    if (rc !== E_OK && this.state < ST_DONE) this.fail(FAIL_INVALID, new Error(`upstream sent an invalid response: ${c.parser.errorReason}`));
  }

  eof(): void {
    if (this.state >= ST_DONE) return;
    if (this.state === ST_CONNECT && this.conn !== null && this.conn.tcpUp && this.conn.tls !== null) {
      this.fail(FAIL_SSL, new Error('peer closed connection in SSL handshake'));
      return;
    }
    if (this.state === ST_BODY) {
      // a close-delimited body ends here; anything else ended too early
      const rc = this.conn!.parser.finish();
      if (rc === E_OK && this.state >= ST_DONE) return;
    }
    this.fail(this.reused && !this.gotBytes ? FAIL_STALE : FAIL_CLOSED,
      new Error(this.state === ST_BODY ? 'upstream prematurely closed connection while reading upstream' : 'upstream prematurely closed connection while reading response header from upstream'));
  }

  error(err: Error): void {
    if (this.state >= ST_DONE) return;
    if (this.state === ST_CONNECT && this.conn !== null && this.conn.tcpUp && this.conn.tls !== null) {
      // nginx's "SSL_do_handshake() failed (SSL: error:...)"
      this.fail(FAIL_SSL, new Error(`SSL_do_handshake() failed (SSL: ${sslReason(err)})`));
      return;
    }
    const kind = this.state === ST_CONNECT ? FAIL_CONNECT : this.reused && !this.gotBytes ? FAIL_STALE : FAIL_ERROR;
    this.fail(kind, err);
  }

  drain(): void {
    const c = this.conn;
    if (c !== null && c.timer.kind === T_SEND) c.timer.arm(T_READ, this.timeouts.read);
  }

  timeout(kind: number): void {
    if (this.state >= ST_DONE) return;
    const shaking = kind === T_CONNECT && this.conn !== null && this.conn.tcpUp && this.conn.tls !== null;
    const what = shaking ? 'SSL handshaking to' : kind === T_CONNECT ? 'connecting to' : kind === T_SEND ? 'sending request to' : 'reading response from';
    this.fail(FAIL_TIMEOUT, new Error(`upstream timed out while ${what} upstream`));
  }

  private fail(kind: number, err: Error | null): void {
    if (this.state >= ST_DONE) return;
    this.state = ST_FAILED;
    this.cleanup(false);
    this.handler.onFail(this, kind, err);
  }

  /** The 101's connection goes to the handler: our listeners off (but 'close', which frees the parser and timer). */
  private handOver(c: UpstreamConnection, chunk: Buffer): void {
    const at = c.parser.pos;
    let rest = at < chunk.length ? chunk.subarray(at) : null;
    if (rest !== null && isTransient(chunk)) rest = Buffer.from(rest);
    this.conn = null;
    c.x = null;
    c.requests++;
    c.timer.disarm();
    const s = c.socket;
    s.off('data', onData);
    s.off('end', onEnd);
    s.off('error', onError);
    s.off('drain', onDrain);
    forwardToStream(s); // reads come as 'data' (copies) for the new owner
    if (this.handler.onUpgraded === undefined) { s.destroy(); return; }
    c.beforeWrite(true); // a tunnel's writes go as they come (nginx: tcp_nodelay for WebSocket proxying)
    this.handler.onUpgraded(this, s, rest);
  }

  /** Let go of the connection: back to the pool, or closed. */
  private cleanup(reuse: boolean): void {
    const c = this.conn;
    if (c === null) return;
    this.conn = null;
    c.timer.disarm();
    c.x = null;
    c.requests++;
    if (this.paused) c.socket.resume();
    if (reuse) this.pool!.put(this.key, c);
    else c.destroy();
  }
}

/** OpenSSL's error as OpenSSL 3 prints it for nginx: "error:0A00010B:SSL routines::wrong version number". */
function sslReason(e: Error): string {
  const m = /error:([0-9A-F]+):/.exec(e.message);
  const o = e as Error & { library?: string; reason?: string };
  if (m !== null && o.reason !== undefined) return `error:${m[1]}:${o.library ?? 'SSL routines'}::${o.reason}`;
  return e.message;
}

/** Request methods safe to send again on a fresh connection (RFC 9110 9.2.2). */
export function idempotent(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'PUT' || method === 'DELETE'
    || method === 'OPTIONS' || method === 'TRACE';
}
