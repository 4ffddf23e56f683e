// cf. ngx_http_upstream.c (ngx_http_upstream_upgrade, ngx_http_upstream_process_upgraded) — after
// a 101, the client's and the upstream's sockets joined: bytes both ways as they come, each
// reader paused while its peer's socket is full, and the tunnel over when either side ends.
//
//   client socket ──data──► upstream.write()   (client paused while the upstream is full)
//   client socket ◄─write── upstream data      (upstream paused while the client is full)
//
// Timers, as nginx arms them: `idle` (proxyReadTimeout) while we wait for the upstream to send,
// moved on by bytes in either direction (nginx re-arms the upstream's read timer on every event
// of the tunnel); `upSend` (proxySendTimeout) while the upstream's socket is full; `clientSend`
// (sendTimeout) while the client's is. The client's reading side has no timer (nor in nginx).

import type { Socket } from 'node:net';
import type { Clock } from '../../core/clock.js';
import { DeadlineTimer } from '../../core/timer.js';

/** How the tunnel ended. */
export const TUNNEL_CLIENT_EOF = 1;   // the client closed (or half-closed) its side
export const TUNNEL_UPSTREAM_EOF = 2; // the upstream did
export const TUNNEL_ERROR = 3;        // a socket broke
export const TUNNEL_UPSTREAM_TIMEOUT = 4;
export const TUNNEL_CLIENT_TIMEOUT = 5;
export const TUNNEL_ABORTED = 6;      // closed from outside (close())

export interface TunnelTimeouts {
  /** proxyReadTimeout: nothing from the upstream (and nothing from the client either) for this long. */
  read: number;
  /** proxySendTimeout: the upstream took nothing of what we write for this long. */
  send: number;
  /** sendTimeout: the client took nothing of what we write for this long. */
  clientSend: number;
}

const T_IDLE = 1, T_SEND = 2;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

export class Tunnel {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes from the client to the upstream, and from the upstream to the client. */
  up: number;
  down: number;
  /** Why it ended (TUNNEL_*), 0 while it runs. */
  reason: number;
  private readonly timeouts: TunnelTimeouts;
  private readonly upTimer: DeadlineTimer<Tunnel>;
  private readonly upSendTimer: DeadlineTimer<Tunnel>;
  private readonly clientTimer: DeadlineTimer<Tunnel>;
  private upMark: number;
  private clientMark: number;
  private open: number;
  private readonly onDone: (t: Tunnel) => void;
  private readonly listeners: [Socket, string, Listener][];

  /**
   * `fromClient`: bytes the client sent past its request's head (the parser read them already);
   * `fromUpstream`: bytes the upstream sent past its 101. `onDone` runs once both sockets are closed.
   */
  constructor(client: Socket, upstream: Socket, fromClient: readonly Buffer[], fromUpstream: Buffer | null,
    timeouts: TunnelTimeouts, clock: Clock, onDone: (t: Tunnel) => void) {
    this.client = client;
    this.upstream = upstream;
    this.up = 0;
    this.down = 0;
    this.reason = 0;
    this.timeouts = timeouts;
    this.upTimer = new DeadlineTimer<Tunnel>(this, onUpTimer, clock, true);
    this.upSendTimer = new DeadlineTimer<Tunnel>(this, onUpSendTimer, clock, true);
    this.clientTimer = new DeadlineTimer<Tunnel>(this, onClientTimer, clock, true);
    this.upMark = 0;
    this.clientMark = 0;
    this.open = (client.destroyed ? 0 : 1) + (upstream.destroyed ? 0 : 1);
    this.onDone = onDone;
    this.listeners = [];
    // one set of listeners per tunnel, for its life
    this.on(client, 'data', (c: Buffer) => this.fromClient(c));
    this.on(upstream, 'data', (c: Buffer) => this.fromUpstream(c));
    this.on(client, 'drain', () => this.clientDrained());
    this.on(upstream, 'drain', () => this.upstreamDrained());
    this.on(client, 'end', () => this.end(TUNNEL_CLIENT_EOF));
    this.on(upstream, 'end', () => this.end(TUNNEL_UPSTREAM_EOF));
    this.on(client, 'error', () => this.broken());
    this.on(upstream, 'error', () => this.broken());
    this.on(client, 'close', () => this.closed(client));
    this.on(upstream, 'close', () => this.closed(upstream));
    if (this.open < 2) {
      this.broken();
      return;
    }
    for (let i = 0; i < fromClient.length; i++) this.fromClient(fromClient[i]);
    if (fromUpstream !== null && fromUpstream.length > 0) this.fromUpstream(fromUpstream);
    if (this.reason !== 0) return;
    // each reader flows unless its peer is full (the client may come paused from the HTTP side)
    if (!this.upstream.writableNeedDrain) this.client.resume();
    if (!this.client.writableNeedDrain) this.upstream.resume();
    this.armIdle();
  }

  /** Close both sides now (the server is going away, the request was cut). */
  close(): void {
    if (this.reason === 0) this.reason = TUNNEL_ABORTED;
    this.client.destroy();
    this.upstream.destroy();
  }

  get done(): boolean {
    return this.open === 0;
  }

  // ---------------------------------------------------------------- bytes

  private fromClient(c: Buffer): void {
    if (this.reason !== 0) return;
    this.up += c.length;
    this.armIdle();
    if (!this.upstream.write(c)) {
      this.client.pause();
      if (!this.upSendTimer.armed) {
        this.upMark = this.upstream.bytesWritten;
        this.upSendTimer.arm(T_SEND, this.timeouts.send);
      }
    }
  }

  private fromUpstream(c: Buffer): void {
    if (this.reason !== 0) return;
    this.down += c.length;
    if (!this.client.write(c)) {
      // the client is slow: the upstream waits, and is not timed out for it
      this.upstream.pause();
      this.upTimer.disarm();
      if (!this.clientTimer.armed) {
        this.clientMark = this.client.bytesWritten;
        this.clientTimer.arm(T_SEND, this.timeouts.clientSend);
      }
      return;
    }
    this.armIdle();
  }

  private clientDrained(): void {
    this.clientTimer.disarm();
    if (this.reason !== 0) return;
    this.upstream.resume();
    this.armIdle();
  }

  private upstreamDrained(): void {
    this.upSendTimer.disarm();
    if (this.reason !== 0) return;
    this.client.resume();
    this.armIdle();
  }

  /** Waiting for the upstream (not paused by a slow client): the idle timer runs from now. */
  private armIdle(): void {
    if (this.reason === 0 && !this.upstream.isPaused()) this.upTimer.arm(T_IDLE, this.timeouts.read);
  }

  // ---------------------------------------------------------------- the end

  /**
   * One side ended: as nginx, the tunnel is over once what that side sent has been passed on.
   * Both sockets finish what they were given (a FIN after the queued bytes) and then close.
   */
  private end(why: number): void {
    if (this.reason !== 0) return;
    this.reason = why;
    this.stopTimers();
    this.client.pause();
    this.upstream.pause();
    finish(this.client);
    finish(this.upstream);
  }

  private broken(): void {
    if (this.reason === 0) this.reason = TUNNEL_ERROR;
    this.stopTimers();
    this.client.destroy();
    this.upstream.destroy();
  }

  /** @internal proxyReadTimeout: nothing came from either side for that long. */
  idleExpired(): void {
    this.timedOut(TUNNEL_UPSTREAM_TIMEOUT);
  }

  /** @internal proxySendTimeout: the upstream took none of our bytes since the timer was armed. */
  upSendExpired(): void {
    if (this.reason !== 0) return;
    if (this.upstream.bytesWritten !== this.upMark) {
      // it reads, slowly: the timeout is between two writes, not for the whole backlog
      this.upMark = this.upstream.bytesWritten;
      this.upSendTimer.arm(T_SEND, this.timeouts.send);
      return;
    }
    this.timedOut(TUNNEL_UPSTREAM_TIMEOUT);
  }

  /** @internal sendTimeout: the client took none of our bytes since the timer was armed. */
  clientSendExpired(): void {
    if (this.reason !== 0) return;
    if (this.client.bytesWritten !== this.clientMark) {
      this.clientMark = this.client.bytesWritten;
      this.clientTimer.arm(T_SEND, this.timeouts.clientSend);
      return;
    }
    this.timedOut(TUNNEL_CLIENT_TIMEOUT);
  }

  private timedOut(why: number): void {
    if (this.reason !== 0) return;
    this.reason = why;
    this.stopTimers();
    this.client.destroy();
    this.upstream.destroy();
  }

  private closed(s: Socket): void {
    if (this.open === 0) return;
    this.open--;
    if (this.reason === 0) this.reason = s === this.client ? TUNNEL_CLIENT_EOF : TUNNEL_UPSTREAM_EOF;
    // either side gone: the other goes too (after its queued bytes, when it is still healthy)
    const other = s === this.client ? this.upstream : this.client;
    if (!other.destroyed) {
      this.stopTimers();
      if (s.errored || this.reason === TUNNEL_ERROR) other.destroy(); else finish(other);
    }
    if (this.open === 0) {
      this.stopTimers();
      for (const [sock, ev, fn] of this.listeners) sock.off(ev, fn);
      this.listeners.length = 0;
      this.onDone(this);
    }
  }

  private stopTimers(): void {
    this.upTimer.stop();
    this.upSendTimer.stop();
    this.clientTimer.stop();
  }

  private on(s: Socket, ev: string, fn: Listener): void {
    s.on(ev, fn);
    this.listeners.push([s, ev, fn]);
  }
}

/** Send what is queued, then a FIN, then close (whatever the peer does with its side). */
function finish(s: Socket): void {
  if (s.destroyed) return;
  if (s.writableFinished) { s.destroy(); return; }
  s.once('finish', () => s.destroy());
  s.end();
}

function onUpTimer(t: Tunnel): void { t.idleExpired(); }
function onUpSendTimer(t: Tunnel): void { t.upSendExpired(); }
function onClientTimer(t: Tunnel): void { t.clientSendExpired(); }
