// cf. ngx_http_upstream_keepalive_module.c — a cache of idle connections per key (an upstream
// peer "host:port"), shared by proxy_pass and the HTTP client.
//
// `keepalive N` is a cache size, not a cap on connections: at most N idle connections are kept per
// pool; more may be open while busy, and one put back when the cache is full is closed — not at
// once, as nginx does, but once the event loop's next turn has passed (`afterNextTurn`), and only
// if the cache is still over N then. (One trim is queued at a time: puts over N while it waits
// share it, so a surplus put in the next turn may go at that turn's end, oldest first.) Why: one
// turn's responses all come back before the next turn's requests go out (each connection's output
// leaves at its turn's end, so the clients' next requests arrive in the next turn), so under more
// concurrent requests than N the cache would close the surplus in one turn and open as many fresh
// connections in the next. Measured on the md5 scenario (keepalive 20, 50 clients): 8.6% of the
// requests went out on a fresh connection (nginx: 2.2%); with the close deferred, 2%
// (bench/RESULTS.md). The surplus are connections that were busy one turn before, so it is bounded
// by the concurrency that opened them; docs/differences.md, 'keepalive-surplus-turn'.
// An idle connection that turns readable (the peer sent something unasked) or closes is
// dropped at once; one idle past `timeout`, used `maxRequests` times or opened more than
// `maxTime` ago (keepalive_time) is closed when it comes back.
//
// Nothing is allocated, and no listener or timer is touched, when a connection goes in or comes
// out: the connection keeps its own socket listeners for its whole life (they tell the pool when
// an idle one turns readable or closes, through `keptIn`), and one timer per pool closes the
// connections idle for too long, as nginx's keepalive module leaves its cached connections'
// event handlers in place and lets a timer per connection expire. Time comes from the pool's
// clock (a ManualClock in tests).

import type { Socket } from 'node:net';
import { SYSTEM_CLOCK, type Clock } from '../../core/clock.js';
import { DeadlineTimer } from '../../core/timer.js';

/** What a pool keeps: a connection that knows its socket and how often it was used. */
export interface Keepable {
  readonly socket: Socket;
  /** Requests this connection has carried. */
  requests: number;
  /** The pool that keeps it while it is idle, else null. */
  keptIn: KeepalivePool | null;
  /** Its key in that pool. */
  keptKey: string;
  /** When it has been idle too long (the pool's clock, ms). */
  keptUntil: number;
  /** When it was opened (the pool's clock, ms), for keepalive_time. */
  readonly startedAt: number;
  /** Close it (its socket listeners free what it holds). */
  destroy(): void;
}

/** Where an exchange takes a kept connection from and gives it back to. */
export interface SocketCache<T extends Keepable = Keepable> {
  take(key: string): T | null;
  put(key: string, conn: T): boolean;
}

/** Runs `fn` once the event loop's next turn has passed (a test may run it when it likes). */
export type TurnScheduler = (fn: () => void) => void;

/** The next turn's check phase: the first setImmediate runs at the end of this turn, the second at the end of the next. */
export const AFTER_NEXT_TURN: TurnScheduler = (fn) => { setImmediate(() => { setImmediate(fn); }); };

export class KeepalivePool<T extends Keepable = Keepable> implements SocketCache<T> {
  /** Idle connections kept per key at most (nginx's `keepalive N`). */
  size: number;
  /** Idle time after which a kept connection is closed (ms). */
  timeout: number;
  /** Requests after which a connection is not kept any more. */
  maxRequests: number;
  /** Age (since it was opened, ms) after which a connection is not kept any more (keepalive_time). */
  maxTime: number;
  /** Idle connections per key, least recently used first. */
  private readonly idle: Map<string, T[]>;
  readonly clock: Clock;
  /** Wakes when the first kept connection's time is up; disarmed while none is kept. */
  private readonly sweeper: DeadlineTimer<KeepalivePool<T>>;
  /** Where the close of a full cache's surplus waits for the next turn's end. */
  private readonly afterNextTurn: TurnScheduler;
  /** A trim() is scheduled. */
  private trimQueued: boolean;
  /** Runs trim() (made once: put() schedules it without a closure per call). */
  private readonly trimTask: () => void;

  constructor(size: number, timeout = 60000, maxRequests = 1000, clock: Clock = SYSTEM_CLOCK, maxTime = 3600000,
    afterNextTurn: TurnScheduler = AFTER_NEXT_TURN) {
    this.size = size;
    this.timeout = timeout;
    this.maxRequests = maxRequests;
    this.maxTime = maxTime;
    this.idle = new Map();
    this.clock = clock;
    this.sweeper = new DeadlineTimer<KeepalivePool<T>>(this, onSweep, clock, true);
    this.afterNextTurn = afterNextTurn;
    this.trimQueued = false;
    this.trimTask = () => { this.trimQueued = false; this.trim(); };
  }

  /** An idle connection for `key`, most recently used first, or null. */
  take(key: string): T | null {
    const list = this.idle.get(key);
    while (list !== undefined && list.length > 0) {
      const c = list.pop()!;
      c.keptIn = null;
      const s = c.socket;
      if (s.destroyed || !s.writable) { c.destroy(); continue; }
      s.ref();
      return c;
    }
    return null;
  }

  /**
   * Offer a connection whose last response was read to the end. Returns false (and closes
   * it) when it is not kept: too many requests, open too long, or it is not usable. Into a full
   * cache it goes too: trim() closes the least recently used surplus after the next turn.
   */
  put(key: string, c: T): boolean {
    const s = c.socket;
    if (this.size <= 0 || c.requests >= this.maxRequests || this.clock.now() - c.startedAt > this.maxTime
      || s.destroyed || !s.writable || s.readableLength > 0) {
      c.destroy();
      return false;
    }
    let list = this.idle.get(key);
    if (list === undefined) this.idle.set(key, list = []);
    if (list.length >= this.size && !this.trimQueued) {
      // the cache is full: the least recently used go once the next turn has passed, unless
      // that turn's requests take them (see the top of this file)
      this.trimQueued = true;
      this.afterNextTurn(this.trimTask);
    }
    c.keptIn = this as unknown as KeepalivePool;
    c.keptKey = key;
    const until = c.keptUntil = this.clock.now() + this.timeout;
    s.unref(); // an idle connection does not keep the process alive
    list.push(c);
    const t = this.sweeper;
    if (!t.armed || t.deadline > until) t.arm(SWEEP, Math.max(1, this.timeout));
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
      for (const c of list) { c.keptIn = null; c.destroy(); }
    }
    this.idle.clear();
    this.sweeper.stop();
  }

  /** Close the least recently used idle connections of each key over the cache's size. */
  trim(): void {
    for (const list of this.idle.values()) {
      while (list.length > this.size) closeOldest(list);
    }
  }

  /** Drop an idle connection that is no good any more (it turned readable, or closed). */
  drop(c: T): void {
    if (c.keptIn !== (this as unknown as KeepalivePool)) return;
    c.keptIn = null;
    const list = this.idle.get(c.keptKey);
    if (list !== undefined) {
      const i = list.lastIndexOf(c);
      if (i >= 0) list.splice(i, 1);
    }
    c.destroy();
  }

  /** Close the connections idle past their time; sleep until the next one's. */
  sweep(): void {
    const now = this.clock.now();
    let next = Infinity;
    for (const list of this.idle.values()) {
      // each list is in the order the connections came back, so the expired ones lead
      while (list.length > 0 && list[0].keptUntil <= now) closeOldest(list);
      if (list.length > 0 && list[0].keptUntil < next) next = list[0].keptUntil;
    }
    if (next !== Infinity) this.sweeper.arm(SWEEP, Math.max(1, next - now));
    else this.sweeper.disarm();
  }
}

/** The sweeper's one kind of wait. */
const SWEEP = 1;

function onSweep<T extends Keepable>(p: KeepalivePool<T>): void { p.sweep(); }

/** Close the least recently used of an idle list (its first) and take it out of the pool. */
function closeOldest(list: Keepable[]): void {
  const c = list.shift()!;
  c.keptIn = null;
  c.destroy();
}
