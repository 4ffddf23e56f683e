// cf. src/core/ngx_times.c — the cached time strings, remade at most once per second; and the
// clock that timers read (the system's, or a manual one a test moves by hand).

/** An opaque timer handle, given back to the clock that made it. */
export type TimerHandle = object;

/**
 * Where time and timers come from. Everything that waits (timeouts, idle sweeps) takes one, so a
 * test can pass a ManualClock and move time instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Call `fn(arg)` in `ms`; an unref'd timer does not keep the process alive. */
  setTimeout<A>(fn: (arg: A) => void, ms: number, arg: A, unref: boolean): TimerHandle;
  clearTimeout(h: TimerHandle): void;
}

// nginx's cached time (ngx_current_msec, ngx_time_update): the clock is read once when the
// handling of an event begins (a read on a client connection), and everything that asks during
// it — the request's start, keep-alive checks, the read timer's deadline, the Date header, the
// log's $request_time — gets that same millisecond, as nginx's modules do. Outside an event,
// Date.now() itself.
let eventMs = 0;
let eventDepth = 0;

/** An event's handling begins: read the clock once for it. Pair with eventEnd() (finally). */
export function eventStart(): void {
  if (eventDepth++ === 0) eventMs = Date.now();
}

export function eventEnd(): void {
  eventDepth--;
}

/** Milliseconds since the epoch: the event's cached time inside one, else the clock's. */
export function systemNow(): number {
  return eventDepth > 0 ? eventMs : Date.now();
}

/** The system clock: Date.now() (cached while an event is handled, see eventStart) and Node's timers. */
export const SYSTEM_CLOCK: Clock = {
  now: systemNow,
  setTimeout<A>(fn: (arg: A) => void, ms: number, arg: A, unref: boolean): TimerHandle {
    const t = setTimeout(fn, ms, arg);
    if (unref) t.unref();
    return t;
  },
  clearTimeout(h: TimerHandle): void {
    clearTimeout(h as NodeJS.Timeout);
  },
};

class ManualTimer {
  constructor(readonly at: number, readonly seq: number, readonly fn: (arg: never) => void, readonly arg: unknown) {}
}

/**
 * A clock for tests: time stands still until advance() moves it, running every timer that falls
 * due on the way, in order, each with now() at its own time. No real timer is ever set.
 */
export class ManualClock implements Clock {
  private time: number;
  private seq: number;
  private readonly timers: ManualTimer[];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
    this.seq = 0;
    this.timers = [];
  }

  now(): number {
    return this.time;
  }

  setTimeout<A>(fn: (arg: A) => void, ms: number, arg: A): TimerHandle {
    // as Node: less than 1 ms is 1 ms
    const t = new ManualTimer(this.time + (ms >= 1 ? ms : 1), this.seq++, fn as (arg: never) => void, arg);
    this.timers.push(t);
    return t;
  }

  clearTimeout(h: TimerHandle): void {
    const i = this.timers.indexOf(h as ManualTimer);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** Move time on by `ms`, running the timers due by then (also those they set). Returns how many ran. */
  advance(ms: number): number {
    const end = this.time + ms;
    let ran = 0;
    for (;;) {
      let next: ManualTimer | null = null;
      for (const t of this.timers) {
        if (t.at <= end && (next === null || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (next === null) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.time = next.at;
      (next.fn as (arg: unknown) => void)(next.arg);
      if (++ran > 100000) throw new Error('ManualClock.advance: timers keep setting timers');
    }
    this.time = end;
    return ran;
  }

  /** Timers waiting to run. */
  pending(): number {
    return this.timers.length;
  }

  /** When the next timer runs (ms since the epoch), or Infinity. */
  nextAt(): number {
    let at = Infinity;
    for (const t of this.timers) if (t.at < at) at = t.at;
    return at;
  }
}

let cachedSecond = -1;
let cachedHttpDate = '';

/** The IMF-fixdate for now, as in the Date header; formatted once per second. */
export function httpDate(): string {
  const now = systemNow();
  const sec = (now / 1000) | 0;
  if (sec !== cachedSecond) {
    cachedSecond = sec;
    cachedHttpDate = new Date(sec * 1000).toUTCString();
  }
  return cachedHttpDate;
}

let lastMs = NaN;
let lastFormatted = '';

/**
 * An IMF-fixdate for a time in ms. The last one is kept: a file served again and again asks for
 * its Last-Modified with the same mtime each time.
 */
export function formatHttpDate(ms: number): string {
  if (ms === lastMs) return lastFormatted;
  lastMs = ms;
  return lastFormatted = new Date(ms).toUTCString();
}
