// cf. ngx_http_upstream_keepalive_module.c — a cache of idle connections per key (an upstream
// peer "host:port"), shared by proxy_pass and the HTTP client.
//
// `keepalive N` is a cache size, not a cap on connections: at most N idle connections are kept
// per pool; more may be open while busy, and one put back when the cache is full is closed.
// An idle connection that turns readable (the peer sent something unasked) or closes is
// dropped at once; one idle past `timeout` or used `maxRequests` times is closed.

import type { Socket } from 'node:net';

/** An idle connection as the pool keeps it. */
class Idle {
  socket: Socket;
  key: string;
  requests: number;
  timer: NodeJS.Timeout | null;
  pool: KeepalivePool;
  constructor(socket: Socket, key: string, requests: number, pool: KeepalivePool) {
    this.socket = socket;
    this.key = key;
    this.requests = requests;
    this.timer = null;
    this.pool = pool;
  }
}

export interface PooledSocket {
  socket: Socket;
  /** Requests this connection has carried before. */
  requests: number;
}

const IDLE = Symbol('sluice.idle');

/** Where an exchange takes a kept connection from and gives it back to. */
export interface SocketCache {
  take(key: string): PooledSocket | null;
  put(key: string, socket: Socket, requests: number): boolean;
}

export class KeepalivePool implements SocketCache {
  /** Idle connections kept per key at most (nginx's `keepalive N`). */
  size: number;
  /** Idle time after which a kept connection is closed (ms). */
  timeout: number;
  /** Requests after which a connection is not kept any more. */
  maxRequests: number;
  private readonly idle: Map<string, Idle[]>;

  constructor(size: number, timeout = 60000, maxRequests = 1000) {
    this.size = size;
    this.timeout = timeout;
    this.maxRequests = maxRequests;
    this.idle = new Map();
  }

  /** An idle connection for `key`, most recently used first, or null. */
  take(key: string): PooledSocket | null {
    const list = this.idle.get(key);
    while (list !== undefined && list.length > 0) {
      const it = list.pop()!;
      this.detach(it);
      if (it.socket.destroyed || !it.socket.writable) continue;
      return { socket: it.socket, requests: it.requests };
    }
    return null;
  }

  /**
   * Offer a connection whose last response was read to the end. Returns false (and closes
   * it) when it is not kept: cache full, too many requests, or it is not usable.
   */
  put(key: string, socket: Socket, requests: number): boolean {
    if (this.size <= 0 || requests >= this.maxRequests || socket.destroyed || !socket.writable
      || socket.readableLength > 0) {
      socket.destroy();
      return false;
    }
    let list = this.idle.get(key);
    if (list === undefined) this.idle.set(key, list = []);
    if (list.length >= this.size) {
      // the cache is full: the oldest idle one goes (nginx reuses the least recently used slot)
      const old = list.shift()!;
      this.detach(old);
      old.socket.destroy();
    }
    const it = new Idle(socket, key, requests, this);
    (socket as unknown as Record<symbol, Idle>)[IDLE] = it;
    socket.on('data', onIdleData);
    socket.on('end', onIdleClose);
    socket.on('close', onIdleClose);
    socket.on('error', onIdleClose);
    socket.setTimeout(0);
    it.timer = setTimeout(onIdleTimeout, this.timeout, it);
    it.timer.unref();
    socket.unref();
    socket.resume(); // so 'data' and 'end' are seen while idle
    list.push(it);
    return true;
  }

  /** Idle connections kept for `key` (all keys when omitted). */
  count(key?: string): number {
    if (key !== undefined) return this.idle.get(key)?.length ?? 0;
    let n = 0;
    for (const l of this.idle.values()) n += l.length;
    return n;
  }

  /** Close every idle connection. */
  clear(): void {
    for (const list of this.idle.values()) {
      for (const it of list) { this.detach(it); it.socket.destroy(); }
    }
    this.idle.clear();
  }

  private detach(it: Idle): void {
    const s = it.socket;
    s.off('data', onIdleData);
    s.off('end', onIdleClose);
    s.off('close', onIdleClose);
    s.off('error', onIdleClose);
    s.pause();
    s.ref();
    delete (s as unknown as Record<symbol, Idle | undefined>)[IDLE];
    if (it.timer !== null) { clearTimeout(it.timer); it.timer = null; }
  }

  /** Drop an idle connection that is no good any more. */
  drop(it: Idle): void {
    const list = this.idle.get(it.key);
    if (list !== undefined) {
      const i = list.indexOf(it);
      if (i >= 0) list.splice(i, 1);
    }
    this.detach(it);
    it.socket.destroy();
  }
}

function idleOf(s: Socket): Idle | undefined {
  return (s as unknown as Record<symbol, Idle | undefined>)[IDLE];
}
// an idle connection must stay silent: data or a close means it cannot be reused
function onIdleData(this: Socket): void { const it = idleOf(this); if (it !== undefined) it.pool.drop(it); }
function onIdleClose(this: Socket): void { const it = idleOf(this); if (it !== undefined) it.pool.drop(it); }
function onIdleTimeout(it: Idle): void { it.pool.drop(it); }
