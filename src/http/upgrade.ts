// cf. ngx_http_upstream.c (ngx_http_upstream_upgrade) and lua-resty-websocket's server side
// (resty.websocket.server.new: the handshake's checks) — a handler's r.upgrade(): the request is
// checked, 101 goes out with the handler's headers, and the client connection becomes a raw
// Duplex for the handler (a WebSocket server, say), the bytes already read past the head first.
//
// The request lasts as long as the stream: the content phase waits for its close (lua.ts), and
// the access log line is written then, with status 101, as nginx logs an upgraded request.

import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { logError } from '../core/log.js';
import { H_CONNECTION, H_UPGRADE } from './parser/types.js';
import type { Request } from './request.js';

/** Why the request cannot switch protocols, or null when it can. */
export function upgradeRefusal(r: Request): string | null {
  const hi = r.headersIn;
  if (!hi.hasKnown(H_UPGRADE)) return 'no "Upgrade" header';
  if (!hi.getAll('connection').some((v) => v.split(',').some((t) => t.trim().toLowerCase() === 'upgrade'))) {
    return '"Connection" without "upgrade"';
  }
  if (r.httpVersion < 1001) return 'an HTTP/1.0 request to upgrade';
  if (r.method !== 'GET') return `a ${r.method} request to upgrade`;
  if (r.hasBody()) return 'a request body with an upgrade';
  return null;
}

/**
 * r.upgrade(headers): see Request.upgrade. Programmer errors throw an Error; a request that did
 * not ask for an upgrade the right way ends with 400 (thrown as r.exit(400) is), logged at info.
 */
export function upgradeRequest(r: Request, headers: Readonly<Record<string, string | readonly string[]>>): UpgradedStream {
  if (r !== r.main || r.hc === null || r.conn === null || r.hc.upgrade === undefined) {
    throw new Error('upgrade(): only a main request on a client connection can switch protocols');
  }
  if (r.upgraded !== null) throw new Error('upgrade(): the request was upgraded already');
  if (r.headerSent) throw new Error('upgrade(): response headers already sent');
  const why = upgradeRefusal(r);
  if (why !== null) {
    logError('info', r, `client sent ${why}, answered 400`);
    r.exit(400);
  }
  const out = r.headersOut;
  for (const [name, value] of Object.entries(headers)) out.set(name, value as string | string[]);
  // RFC 9110 §15.2.2: a 101 names the protocol it switches to; by default the one asked for
  if (!out.has('upgrade')) out.set('Upgrade', r.headersIn.known(H_UPGRADE)!.split(',')[0].trim());
  out.remove('connection');
  out.status = 101;
  out.contentLength = -1;
  r.keepalive = false;
  r.sendHeader();
  if (r.filterFinalized || out.status !== 101) throw new Error('upgrade(): a header filter replaced the 101');
  r.outputDone = true; // nothing more through the filters: the bytes are the stream's
  const s = new UpgradedStream(r);
  r.upgraded = s;
  r.addCleanup(() => s.destroy());
  // the parser is still inside this request's head when a handler runs from it: the connection
  // is taken once it has returned (what it read past the head is then known)
  queueMicrotask(() => s.attach());
  return s;
}

/** The client connection after a 101, as a Duplex over its socket. */
export class UpgradedStream extends Duplex {
  /** The client's socket, once taken from the HTTP connection (null before, for a moment). */
  socket: Socket | null;
  private readonly r: Request;
  /** A write (or the end) that came before the socket was taken. */
  private pendingWrite: [Buffer, (e?: Error | null) => void] | null;
  private pendingFinal: ((e?: Error | null) => void) | null;
  private readonly onData: (c: Buffer) => void;
  private readonly onEnd: () => void;
  private readonly onClose: () => void;
  private readonly onError: (e: Error) => void;

  constructor(r: Request) {
    // either side's end ends both (as an nginx tunnel does): the client's FIN ends our writing
    super({ allowHalfOpen: false });
    this.socket = null;
    this.r = r;
    this.pendingWrite = null;
    this.pendingFinal = null;
    this.onData = (c: Buffer) => { if (!this.push(c)) this.socket!.pause(); };
    this.onEnd = () => this.push(null);
    this.onClose = () => this.destroy();
    this.onError = (e: Error) => this.destroy(e);
  }

  /** @internal take the socket from the HTTP connection */
  attach(): void {
    if (this.destroyed) return;
    const r = this.r;
    const pre = r.hc!.upgrade!(r);
    const c = r.conn;
    if (pre === null || c === null || c.closed || c.socket.destroyed) {
      this.destroy(new Error('upgrade(): the client connection closed before the switch'));
      return;
    }
    const s = this.socket = c.socket;
    s.pause();
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('close', this.onClose);
    s.on('error', this.onError);
    for (let i = 0; i < pre.length; i++) this.push(pre[i]);
    if (this.pendingWrite !== null) {
      const [b, cb] = this.pendingWrite;
      this.pendingWrite = null;
      s.write(b, cb);
    }
    if (this.pendingFinal !== null) {
      const cb = this.pendingFinal;
      this.pendingFinal = null;
      s.end(cb);
    }
    if (this.readableFlowing !== false && this.readableLength < this.readableHighWaterMark) s.resume();
  }

  override _read(): void {
    const s = this.socket;
    if (s !== null && s.isPaused()) s.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const s = this.socket;
    if (s === null) { this.pendingWrite = [chunk, cb]; return; }
    s.write(chunk, cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    const s = this.socket;
    if (s === null) { this.pendingFinal = cb; return; }
    s.end(cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    const s = this.socket;
    if (s !== null) {
      s.off('data', this.onData);
      s.off('end', this.onEnd);
      s.off('close', this.onClose);
      s.off('error', this.onError);
      s.destroy();
    } else {
      this.r.conn?.destroy();
    }
    cb(err);
  }
}

/** The content phase's wait: until the upgraded stream (if any) has closed. */
export function whenUpgradeDone(r: Request): Promise<void> | null {
  const s = r.upgraded;
  if (s === null || s.closed) return null;
  return new Promise<void>((resolve) => s.once('close', () => resolve()));
}
