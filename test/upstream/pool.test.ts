// KeepalivePool on its own, with stand-in connections: the most recently used comes out first,
// a full cache closes the oldest, the idle timeout closes per key in the order they came back,
// maxRequests and unusable sockets are refused, and a dropped one leaves the pool. Time is a
// ManualClock's: nothing sleeps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'node:net';
import { KeepalivePool, type Keepable } from '../../src/http/upstream/keepalive.js';
import { ManualClock } from '../../src/core/clock.js';

class Fake implements Keepable {
  readonly socket: Socket;
  requests = 1;
  keptIn: KeepalivePool | null = null;
  keptKey = '';
  keptUntil = 0;
  readonly startedAt: number;
  closed = false;
  refs = 1;
  constructor(readonly name: string, startedAt = Date.now()) {
    this.startedAt = startedAt;
    const me = this;
    this.socket = {
      get destroyed() { return me.closed; },
      get writable() { return !me.closed; },
      readableLength: 0,
      ref() { me.refs = 1; return this; },
      unref() { me.refs = 0; return this; },
    } as unknown as Socket;
  }
  destroy(): void { this.closed = true; }
}

test('take: most recently used first; per key; null when empty', () => {
  const p = new KeepalivePool<Fake>(4);
  const a = new Fake('a'), b = new Fake('b'), c = new Fake('c');
  assert.ok(p.put('k', a));
  assert.ok(p.put('k', b));
  assert.ok(p.put('other', c));
  assert.is(a.refs, 0, 'an idle connection does not keep the process alive');
  assert.is(p.count(), 3);
  assert.is(p.take('k'), b);
  assert.is(b.keptIn, null, 'out of the pool');
  assert.is(b.refs, 1, 'ref\'d again in use');
  assert.is(p.take('k'), a);
  assert.is(p.take('k'), null);
  assert.is(p.count('other'), 1);
  p.clear();
  assert.ok(c.closed, 'clear() closes what is kept');
});

/** A TurnScheduler whose turns a test ends by hand. */
function turns() {
  const queued: (() => void)[] = [];
  return { schedule: (fn: () => void) => { queued.push(fn); }, queued, end: () => { for (const fn of queued.splice(0)) fn(); } };
}

test('put: a full cache closes the oldest once the next turn has passed; maxRequests and dead sockets are refused', () => {
  const t = turns();
  const p = new KeepalivePool<Fake>(2, 60000, 5, new ManualClock(0), 3600000, t.schedule);
  const [a, b, c] = [new Fake('a'), new Fake('b'), new Fake('c')];
  p.put('k', a); p.put('k', b);
  assert.is(t.queued.length, 0, 'not full: nothing to trim');
  p.put('k', c);
  assert.not.ok(a.closed, 'the surplus waits for the next turn');
  assert.is(p.count('k'), 3);
  assert.is(t.queued.length, 1, 'one trim scheduled');
  t.end();
  assert.ok(a.closed, 'the least recently used went');
  assert.is(a.keptIn, null);
  assert.not.ok(b.closed || c.closed);
  assert.is(p.count('k'), 2);
  const worn = new Fake('worn');
  worn.requests = 5;
  assert.not.ok(p.put('k', worn), 'used maxRequests times');
  assert.ok(worn.closed);
  const dead = new Fake('dead');
  dead.closed = true;
  assert.not.ok(p.put('k', dead));
  const gone = p.take('k')!;
  gone.closed = true;
  p.put('k', gone);
  assert.is(p.take('k'), b, 'a closed one is skipped over by take');
  p.clear();
});

test('put: a surplus taken before the next turn ends is not closed; one trim per turn', () => {
  const t = turns();
  const p = new KeepalivePool<Fake>(1, 60000, 100, new ManualClock(0), 3600000, t.schedule);
  const [a, b, c] = [new Fake('a'), new Fake('b'), new Fake('c')];
  // a turn's responses all come back (three puts into a cache of one)...
  p.put('k', a); p.put('k', b); p.put('k', c);
  assert.is(t.queued.length, 1, 'the first put over the size schedules the trim, the next ones share it');
  // ...and the next turn's requests take them before its end
  assert.is(p.take('k'), c);
  assert.is(p.take('k'), b);
  t.end();
  assert.not.ok(a.closed || b.closed || c.closed, 'nothing over the size at the trim: nothing closed');
  assert.is(p.count('k'), 1);
  // more keys: each trimmed to the size on its own, least recently used first
  const [j1, j2] = [new Fake('j1'), new Fake('j2')];
  p.put('k', b); p.put('k', c); p.put('j', j1); p.put('j', j2);
  t.end();
  assert.ok(a.closed && b.closed, 'k: the two oldest went');
  assert.not.ok(c.closed);
  assert.is(p.take('k'), c);
  assert.ok(j1.closed);
  assert.not.ok(j2.closed);
  assert.is(p.count('j'), 1);
  p.clear();
});

test('the default scheduler runs after the next turn: a setImmediate of this turn comes first', async () => {
  const p = new KeepalivePool<Fake>(1);
  const [a, b] = [new Fake('a'), new Fake('b')];
  p.put('k', a); p.put('k', b);
  let closedAtFirstCheck: boolean | null = null;
  await new Promise<void>((resolve) => setImmediate(() => { closedAtFirstCheck = a.closed; resolve(); }));
  assert.is(closedAtFirstCheck, false, 'still kept at the end of this turn');
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.ok(a.closed, 'closed after the next turn');
  assert.not.ok(b.closed);
  p.clear();
});

test('drop: a connection that turned readable or closed leaves the pool at once', () => {
  const p = new KeepalivePool<Fake>(4);
  const [a, b] = [new Fake('a'), new Fake('b')];
  p.put('k', a); p.put('k', b);
  p.drop(a);
  assert.ok(a.closed);
  assert.is(p.count('k'), 1);
  p.drop(a); // twice is harmless
  assert.is(p.count('k'), 1);
  assert.is(p.take('k'), b);
});

test('timeout: idle connections close after it, each key on its own, the newest last', () => {
  const clock = new ManualClock();
  const p = new KeepalivePool<Fake>(8, 120, 1000, clock);
  const a = new Fake('a', clock.now());
  p.put('x', a);
  clock.advance(60);
  const b = new Fake('b', clock.now()), c = new Fake('c', clock.now());
  p.put('x', b);
  p.put('y', c);
  assert.is(clock.pending(), 1, 'one timer for the pool, however many are kept');
  clock.advance(59);
  assert.not.ok(a.closed, 'not a ms early');
  clock.advance(1);
  assert.ok(a.closed, 'the first closed after 120 ms');
  assert.not.ok(b.closed || c.closed, 'the later ones still kept');
  assert.is(p.count(), 2);
  clock.advance(59);
  assert.not.ok(b.closed || c.closed);
  clock.advance(1);
  assert.ok(b.closed && c.closed, 'then the others, on both keys');
  assert.is(p.count(), 0);
  assert.is(clock.pending(), 0, 'no timer while nothing is kept');
  const d = new Fake('d', clock.now());
  p.put('x', d); // the sweep timer comes back for a new one
  assert.is(clock.pending(), 1);
  clock.advance(120);
  assert.ok(d.closed);
});

test('timeout: a connection taken out early leaves no work behind; clear() stops the timer', () => {
  const clock = new ManualClock();
  const p = new KeepalivePool<Fake>(8, 1000, 1000, clock);
  const a = new Fake('a', clock.now());
  p.put('k', a);
  clock.advance(500);
  assert.is(p.take('k'), a);
  clock.advance(600); // the timer wakes at 1000, finds nothing kept and sleeps no more
  assert.not.ok(a.closed, 'a connection in use is not the pool\'s to close');
  assert.is(clock.pending(), 0);
  p.put('k', a);
  assert.is(clock.pending(), 1);
  p.clear();
  assert.ok(a.closed);
  assert.is(clock.pending(), 0, 'clear() let go of the timer');
});

test('timeout: a shorter timeout set later takes effect for the connections put after it', () => {
  const clock = new ManualClock();
  const p = new KeepalivePool<Fake>(8, 10000, 1000, clock);
  const a = new Fake('a', clock.now()), b = new Fake('b', clock.now());
  p.put('x', a);
  p.timeout = 100; // as a client's setKeepalive(timeout) does
  p.put('y', b);
  clock.advance(100);
  assert.ok(b.closed, 'closed at its own, shorter, time');
  assert.not.ok(a.closed);
  clock.advance(9900);
  assert.ok(a.closed);
});

test('maxTime (keepalive_time): a connection opened longer ago than that is closed when it comes back', () => {
  const clock = new ManualClock();
  const p = new KeepalivePool<Fake>(8, 60000, 1000, clock, 5000);
  const a = new Fake('a', clock.now());
  assert.ok(p.put('k', a), 'young: kept');
  assert.is(p.take('k'), a);
  clock.advance(5000);
  assert.ok(p.put('k', a), 'exactly maxTime old: still kept (nginx closes it only past the limit)');
  assert.is(p.take('k'), a);
  clock.advance(1);
  assert.not.ok(p.put('k', a), 'past maxTime: refused');
  assert.ok(a.closed, 'and closed');
  assert.is(p.count(), 0);
  p.clear();
});

test.run();
