// cf. ngx_http_upstream.c (connect, send the request, read the header and the body) — one
// request/response exchange with an upstream peer, over a fresh or a pooled connection, read with
// our parser in response mode. Shared by proxy_pass and the HTTP client.
//
// The response body is handed on as views of the socket's chunks (never copied); the consumer
// may pause() the exchange when its own output is full, which stops reading the socket.

import { connect, type Socket } from 'node:net';
import type { SocketCache } from '../net/pool.js';
import { HttpParser } from './parser/index.js';
import {
  E_OK, PARSER_RESPONSE, SINK_OK, SINK_SKIP_BODY, type MessageHead, type ParserSink,
} from './parser/types.js';

/** Why an exchange failed (nginx's NGX_HTTP_UPSTREAM_FT_*). */
export const FAIL_CONNECT = 1;    // could not connect (error)
export const FAIL_TIMEOUT = 2;    // connect, send or read timed out
export const FAIL_ERROR = 3;      // the connection broke while sending or reading (error)
export const FAIL_CLOSED = 4;     // closed before the response was complete (error / truncated)
export const FAIL_INVALID = 5;    // the response could not be parsed (invalid_header)
/** A pooled connection died before any byte of the response: try again on a fresh one. */
export const FAIL_STALE = 6;

export interface ExchangeHandler {
  /** Status and headers (1xx interim responses are skipped). */
  onHead(x: Exchange, h: MessageHead): void;
  /** Body bytes: chunk[start, end), a view of the socket's chunk. */
  onData(x: Exchange, chunk: Buffer, start: number, end: number): void;
  /** The response ended cleanly (the connection went back to the pool when it could). */
  onEnd(x: Exchange): void;
  /** The exchange failed; `where` tells whether a response head had arrived. */
  onFail(x: Exchange, kind: number, err: Error | null): void;
}

export interface ExchangeTimeouts {
  connect: number;
  send: number;
  read: number;
}

const ST_CONNECT = 0, ST_SEND = 1, ST_HEAD = 2, ST_BODY = 3, ST_DONE = 4, ST_FAILED = 5;
const T_CONNECT = 1, T_SEND = 2, T_READ = 3;

const EXCHANGE = Symbol('sluice.exchange');
const SOCKET_PARSER = Symbol('sluice.upstream-parser');

/**
 * One response parser per upstream connection, kept across the exchanges of a pooled
 * connection (and freed when the socket closes): the sink forwards to the current exchange.
 */
class SocketParser implements ParserSink {
  x: Exchange | null;
  readonly parser: HttpParser;
  constructor() {
    this.x = null;
    this.parser = new HttpParser(PARSER_RESPONSE, this);
  }
  onHead(h: MessageHead): number { return this.x !== null ? this.x.onHead(h) : SINK_OK; }
  onBody(chunk: Buffer, start: number, end: number): void { if (this.x !== null) this.x.onBody(chunk, start, end); }
  onTrailers(): void {} // upstream trailers are not passed on (nginx drops them too)
  onMessageComplete(): number { return this.x !== null ? this.x.onMessageComplete() : SINK_OK; }
}

function freeSocketParser(this: Socket): void {
  const sp = (this as unknown as Record<symbol, SocketParser | undefined>)[SOCKET_PARSER];
  if (sp !== undefined) {
    delete (this as unknown as Record<symbol, SocketParser | undefined>)[SOCKET_PARSER];
    sp.parser.destroy();
  }
}

/** Requests and their bodies up to this size leave in one write. */
const COALESCE_MAX = 16 * 1024;

export class Exchange {
  readonly host: string;
  readonly port: number;
  /** Pool key ("host:port"). */
  readonly key: string;
  readonly pool: SocketCache | null;
  readonly handler: ExchangeHandler;
  readonly timeouts: ExchangeTimeouts;
  /** The request was HEAD: the response has no body whatever it says. */
  readonly headOnly: boolean;
  socket: Socket | null;
  parser: HttpParser | null;
  /** Requests carried by this connection before this one (pooled). */
  requests: number;
  reused: boolean;
  state: number;
  status: number;
  gotBytes: boolean;
  /** The whole request (head and body) has been written. */
  requestSent: boolean;
  keepAlive: boolean;
  paused: boolean;
  private interim: boolean;
  private timer: NodeJS.Timeout | null;
  private timerKind: number;
  private pendingBody: boolean;
  /** Streamed body that arrived before the connection was up: sent after the head. */
  private early: Buffer[] | null;

  constructor(host: string, port: number, key: string, pool: SocketCache | null, handler: ExchangeHandler,
    timeouts: ExchangeTimeouts, headOnly: boolean) {
    this.host = host;
    this.port = port;
    this.key = key;
    this.pool = pool;
    this.handler = handler;
    this.timeouts = timeouts;
    this.headOnly = headOnly;
    this.socket = null;
    this.parser = null;
    this.requests = 0;
    this.reused = false;
    this.state = ST_CONNECT;
    this.status = 0;
    this.gotBytes = false;
    this.requestSent = false;
    this.keepAlive = false;
    this.paused = false;
    this.interim = false;
    this.timer = null;
    this.timerKind = 0;
    this.pendingBody = false;
    this.early = null;
  }

  /**
   * Send the request: `head` (request line and headers) and `body` pieces. With `more`, the body
   * goes on with write() / end() as it arrives (streamed from the client).
   */
  start(head: Buffer, body: readonly Buffer[], more: boolean, fresh = false): void {
    this.pendingBody = more;
    const pooled = fresh || this.pool === null ? null : this.pool.take(this.key);
    let s: Socket;
    if (pooled !== null) {
      s = pooled.socket;
      this.requests = pooled.requests;
      this.reused = true;
      this.attach(s);
      this.state = ST_SEND;
      this.send(head, body);
    } else {
      s = connect({ host: this.host, port: this.port, noDelay: true });
      this.attach(s);
      this.arm(T_CONNECT, this.timeouts.connect);
      s.once('connect', () => {
        if (this.state !== ST_CONNECT) return;
        this.state = ST_SEND;
        this.send(head, body);
      });
    }
  }

  /** More request body (streaming). */
  write(chunk: Buffer): void {
    const s = this.socket;
    if (s === null || this.state >= ST_DONE) return;
    if (this.state === ST_CONNECT) {
      (this.early ??= []).push(chunk);
      return;
    }
    if (!s.write(chunk)) this.arm(T_SEND, this.timeouts.send);
  }

  /** The streamed request body is complete. */
  end(): void {
    this.pendingBody = false;
    if (this.state !== ST_CONNECT) this.requestSent = true;
  }

  /** Stop reading the response (the consumer's output is full). */
  pause(): void {
    if (this.paused || this.socket === null) return;
    this.paused = true;
    this.socket.pause();
    if (this.timerKind === T_READ) this.disarm(); // a slow client is not the upstream's fault
  }

  resume(): void {
    if (!this.paused || this.socket === null) return;
    this.paused = false;
    if (this.state < ST_DONE) this.arm(T_READ, this.timeouts.read);
    this.socket.resume();
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

  // ---------------------------------------------------------------- socket events

  private attach(s: Socket): void {
    this.socket = s;
    (s as unknown as Record<symbol, Exchange>)[EXCHANGE] = this;
    let sp = (s as unknown as Record<symbol, SocketParser | undefined>)[SOCKET_PARSER];
    if (sp === undefined) {
      sp = (s as unknown as Record<symbol, SocketParser>)[SOCKET_PARSER] = new SocketParser();
      s.once('close', freeSocketParser);
    } else {
      sp.parser.reset();
    }
    sp.x = this;
    this.parser = sp.parser;
    s.on('data', onData);
    s.on('end', onEnd);
    s.on('error', onError);
    s.on('close', onClose);
    s.on('drain', onDrain);
    if (s.isPaused()) s.resume();
  }

  private send(head: Buffer, body: readonly Buffer[]): void {
    const s = this.socket!;
    const parts = this.early === null ? body : [...body, ...this.early];
    this.early = null;
    let total = head.length;
    for (let i = 0; i < parts.length; i++) total += parts[i].length;
    let ok: boolean;
    if (parts.length === 0) {
      ok = s.write(head);
    } else if (total <= COALESCE_MAX) {
      // one small write costs less than a writev of pieces
      const out = Buffer.allocUnsafe(total);
      let at = head.copy(out, 0);
      for (let i = 0; i < parts.length; i++) at += parts[i].copy(out, at);
      ok = s.write(out);
    } else {
      s.cork();
      ok = s.write(head);
      for (let i = 0; i < parts.length; i++) ok = s.write(parts[i]);
      s.uncork();
    }
    if (!this.pendingBody) this.requestSent = true;
    this.arm(ok ? T_READ : T_SEND, ok ? this.timeouts.read : this.timeouts.send);
  }

  data(chunk: Buffer): void {
    if (this.state >= ST_DONE) return;
    this.gotBytes = true;
    if (this.timerKind === T_READ) this.timer!.refresh();
    const rc = this.parser!.execute(chunk);
    if (rc !== E_OK && this.state < ST_DONE) this.fail(FAIL_INVALID, new Error(`upstream sent an invalid response: ${this.parser!.errorReason}`));
  }

  eof(): void {
    if (this.state >= ST_DONE) return;
    if (this.state === ST_BODY) {
      // a close-delimited body ends here; anything else ended too early
      const rc = this.parser!.finish();
      if (rc === E_OK && this.state >= ST_DONE) return;
    }
    this.fail(this.reused && !this.gotBytes ? FAIL_STALE : FAIL_CLOSED,
      new Error(this.state === ST_BODY ? 'upstream prematurely closed connection while reading upstream' : 'upstream prematurely closed connection while reading response header from upstream'));
  }

  error(err: Error): void {
    if (this.state >= ST_DONE) return;
    const kind = this.state === ST_CONNECT ? FAIL_CONNECT : this.reused && !this.gotBytes ? FAIL_STALE : FAIL_ERROR;
    this.fail(kind, err);
  }

  drain(): void {
    if (this.timerKind === T_SEND) this.arm(T_READ, this.timeouts.read);
  }

  timeout(): void {
    const kind = this.timerKind;
    this.timer = null;
    this.timerKind = 0;
    if (this.state >= ST_DONE) return;
    const what = kind === T_CONNECT ? 'connecting to' : kind === T_SEND ? 'sending request to' : 'reading response from';
    this.fail(FAIL_TIMEOUT, new Error(`upstream timed out while ${what} upstream`));
  }

  private fail(kind: number, err: Error | null): void {
    if (this.state >= ST_DONE) return;
    this.state = ST_FAILED;
    this.cleanup(false);
    this.handler.onFail(this, kind, err);
  }

  /** Detach from the socket; keep it in the pool or close it. */
  private cleanup(reuse: boolean): void {
    this.disarm();
    const s = this.socket;
    if (s !== null) {
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('error', onError);
      s.off('close', onClose);
      s.off('drain', onDrain);
      delete (s as unknown as Record<symbol, Exchange | undefined>)[EXCHANGE];
      if (this.paused) s.resume();
      if (reuse) this.pool!.put(this.key, s, this.requests + 1);
      else s.destroy();
      this.socket = null;
    }
    if (this.parser !== null) {
      // the parser stays with the socket (freed when it closes); it no longer talks to us
      const sp = s !== null ? (s as unknown as Record<symbol, SocketParser | undefined>)[SOCKET_PARSER] : undefined;
      if (sp !== undefined && sp.x === this) sp.x = null;
      this.parser = null;
    }
  }

  private arm(kind: number, ms: number): void {
    this.disarm();
    if (ms <= 0) return;
    this.timerKind = kind;
    this.timer = setTimeout(onTimeout, ms, this);
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerKind = 0;
  }
}

function xOf(s: Socket): Exchange | undefined {
  return (s as unknown as Record<symbol, Exchange | undefined>)[EXCHANGE];
}
function onData(this: Socket, chunk: Buffer): void { xOf(this)?.data(chunk); }
function onEnd(this: Socket): void { xOf(this)?.eof(); }
function onError(this: Socket, e: Error): void { xOf(this)?.error(e); }
function onClose(this: Socket): void { xOf(this)?.eof(); }
function onDrain(this: Socket): void { xOf(this)?.drain(); }
function onTimeout(x: Exchange): void { x.timeout(); }

/** Request methods safe to send again on a fresh connection (RFC 9110 9.2.2). */
export function idempotent(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'PUT' || method === 'DELETE'
    || method === 'OPTIONS' || method === 'TRACE';
}
