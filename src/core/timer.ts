// cf. src/event/ngx_event_timer.c — a deadline per owner that moves without touching the timer
// list: one clock timer per owner, armed at `wakeAt`; moving the deadline later costs nothing
// (the timer wakes at its old time, sees the later deadline and sleeps again), a sooner one
// re-arms it. The client connection's read timer, the upstream connection's timer and the
// keepalive pool's sweep all work this way.

import { SYSTEM_CLOCK, type Clock, type TimerHandle } from './clock.js';

/** The timer waits for nothing. Owners number what they wait for from 1. */
export const TIMER_OFF = 0;

/** setTimeout() holds at most 2^31-1 ms; a longer wait is slept in pieces. */
const MAX_SLEEP = 2147483647;

export class DeadlineTimer<T> {
  readonly clock: Clock;
  readonly owner: T;
  /** Called once the deadline has passed, with what the timer waited for. */
  private readonly expire: (owner: T, kind: number) => void;
  private readonly unref: boolean;
  /** What it waits for (the owner's code), TIMER_OFF when disarmed. */
  kind: number;
  /** When it expires (the clock's ms). */
  deadline: number;
  /** The last duration armed (refresh() uses it again). */
  ms: number;
  private handle: TimerHandle | null;
  private wakeAt: number;

  /**
   * `expire` is best a module-level function (no closure per owner). An unref'd timer does not
   * keep the process alive (for owners whose sockets do that while they matter).
   */
  constructor(owner: T, expire: (owner: T, kind: number) => void, clock: Clock = SYSTEM_CLOCK, unref = false) {
    this.clock = clock;
    this.owner = owner;
    this.expire = expire;
    this.unref = unref;
    this.kind = TIMER_OFF;
    this.deadline = 0;
    this.ms = 0;
    this.handle = null;
    this.wakeAt = 0;
  }

  /** Expire `ms` from now for `kind` (replacing what it waited for); 0 or less disarms. */
  arm(kind: number, ms: number): void {
    if (ms <= 0) { this.kind = TIMER_OFF; return; }
    const at = this.clock.now() + ms;
    this.kind = kind;
    this.ms = ms;
    this.deadline = at;
    if (this.handle !== null) {
      if (this.wakeAt <= at) return;
      this.clock.clearTimeout(this.handle);
    }
    this.sleep(ms);
  }

  /** The same wait again from now (bytes arrived: the read timeout starts over). */
  refresh(): void {
    if (this.kind !== TIMER_OFF) this.arm(this.kind, this.ms);
  }

  /** Wait for nothing; the clock's timer may still wake once and find nothing to do. */
  disarm(): void {
    this.kind = TIMER_OFF;
  }

  /** Disarm and let go of the clock's timer too (the owner is gone). */
  stop(): void {
    this.kind = TIMER_OFF;
    if (this.handle !== null) {
      this.clock.clearTimeout(this.handle);
      this.handle = null;
    }
  }

  get armed(): boolean {
    return this.kind !== TIMER_OFF;
  }

  /** @internal the clock's timer woke */
  wake(): void {
    this.handle = null;
    const kind = this.kind;
    if (kind === TIMER_OFF) return;
    const left = this.deadline - this.clock.now();
    if (left > 0) {
      // the deadline moved on since the timer was set: sleep until the new one
      this.sleep(left);
      return;
    }
    this.kind = TIMER_OFF;
    this.expire(this.owner, kind);
  }

  private sleep(ms: number): void {
    const d = ms > MAX_SLEEP ? MAX_SLEEP : ms;
    this.wakeAt = this.clock.now() + d;
    this.handle = this.clock.setTimeout(onWake, d, this, this.unref);
  }
}

function onWake<T>(t: DeadlineTimer<T>): void { t.wake(); }
