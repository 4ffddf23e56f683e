// Peer selection on its own (ngx_http_upstream_round_robin.c): smooth weighted round-robin, a
// failed peer picked less often while its effective weight climbs back one per selection,
// max_fails / fail_timeout, and when failures are forgotten. Time is passed in: nothing sleeps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveUpstreams, type Peer, type UpstreamGroup } from '../../src/http/upstream/upstream.js';

function group(servers: unknown[]): UpstreamGroup {
  return resolveUpstreams({ g: { servers } }).get('g')!;
}

/** `n` selections at time `now`, each a fresh request; the picks per peer name, in order. */
function picks(g: UpstreamGroup, n: number, now = 1000): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(g.select(new Set(), null, now)?.name ?? '-');
  return out;
}
const count = (list: string[], name: string) => list.filter((x) => x === name).length;

test('smooth weighted round-robin: weights 5,1,1 give a a b a c a a (nginx\'s order)', () => {
  const g = group([{ address: 'a:1', weight: 5 }, { address: 'b:1' }, { address: 'c:1' }]);
  assert.equal(picks(g, 7).map((x) => x[0]), ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
});

test('a failed peer loses weight/max_fails of its effective weight and earns it back one per selection', () => {
  const g = group([{ address: 'a:1', weight: 4, maxFails: 2 }, { address: 'b:1', weight: 4, maxFails: 2 }]);
  const [a, b] = g.primary as [Peer, Peer];
  assert.equal(count(picks(g, 8), 'a:1'), 4, 'even split before any failure');
  g.fail(a, 1000);
  assert.is(a.effectiveWeight, 2, '4 - 4/2');
  assert.is(a.fails, 1, 'under max_fails: still usable');
  // from here, each selection adds a's effective weight (2, then 3, then 4) to its current weight
  const after = picks(g, 3, 1001);
  assert.is(a.effectiveWeight, 4, 'back to its weight after two selections');
  assert.equal(after, ['b:1', 'a:1', 'b:1'], 'b twice, a once just after a\'s failure');
  // recovered: the split is even again
  assert.equal(count(picks(g, 8, 1002), 'a:1'), 4, 'even again once recovered');
  assert.is(b.effectiveWeight, 4);
});

test('counted over many requests: a peer failing every 10th pick gets fewer picks than its peers', () => {
  const g = group([{ address: 'a:1', weight: 10, maxFails: 0 }, { address: 'b:1', weight: 10, maxFails: 0 }]);
  // max_fails=0: no weight is taken, so the split stays even
  const [a] = g.primary as [Peer, Peer];
  let na = 0;
  for (let i = 0; i < 1000; i++) {
    const p = g.select(new Set(), null, 1000)!;
    if (p === a) { na++; if (na % 10 === 0) g.fail(a, 1000); }
  }
  assert.is(na, 500, 'max_fails=0 turns the accounting off');
  const h = group([{ address: 'a:1', weight: 10, maxFails: 1, failTimeout: 0 }, { address: 'b:1', weight: 10, maxFails: 1, failTimeout: 0 }]);
  const [ha] = h.primary as [Peer, Peer];
  let nh = 0;
  for (let i = 0; i < 1000; i++) {
    // fail_timeout 0 and a new millisecond per request: a failed peer is never shut out,
    // only its weight falls (to 0) and climbs back
    const now = 1000 + i;
    const p = h.select(new Set(), null, now)!;
    if (p === ha) { nh++; if (nh % 10 === 0) h.fail(ha, now); }
  }
  assert.ok(nh < 500 && nh > 400, `a failing peer picked less than half the time (${nh} of 1000)`);
});

test('max_fails within fail_timeout shuts a peer out; after fail_timeout it is tried again', () => {
  const g = group([{ address: 'a:1', maxFails: 2, failTimeout: '10s' }, { address: 'b:1', maxFails: 2, failTimeout: '10s' }]);
  const [a, b] = g.primary as [Peer, Peer];
  g.fail(a, 1000);
  g.fail(a, 2000);
  assert.equal(picks(g, 4, 5000), ['b:1', 'b:1', 'b:1', 'b:1'], 'a is out for fail_timeout');
  assert.ok(g.hasPeer(new Set([b]), 5000) === false, 'no other peer while a is out');
  const later = picks(g, 2, 2000 + 10001);
  assert.ok(later.includes('a:1'), `a is tried again after fail_timeout (${later.join(' ')})`);
});

test('a success forgets failures only once the peer was checked after them (nginx\'s accessed < checked)', () => {
  const g = group([{ address: 'a:1', maxFails: 3, failTimeout: '10s' }, { address: 'b:1', maxFails: 3, failTimeout: '10s' }]);
  const [a] = g.primary as [Peer, Peer];
  g.select(new Set(), null, 1000);
  g.fail(a, 1000);
  g.select(new Set([g.primary[1]]), null, 1500);
  g.succeed(a);
  assert.is(a.fails, 1, 'a success inside the window does not wipe the count');
  g.select(new Set([g.primary[1]]), null, 1000 + 10001); // picked past fail_timeout: checked now
  g.succeed(a);
  assert.is(a.fails, 0, 'a success after a check past fail_timeout does');
});

test('a group of one peer keeps no failure accounts (nginx\'s single)', () => {
  const g = group(['a:1']);
  const [a] = g.primary as [Peer];
  for (let i = 0; i < 5; i++) g.fail(a, 1000);
  assert.is(a.fails, 0);
  assert.is(a.effectiveWeight, 1);
  assert.is(g.select(new Set(), null, 1001), a);
});

test('upstream keepaliveTime: parsed into the pool (default 1h)', () => {
  const u = resolveUpstreams({ k: { servers: ['a:1'], keepalive: 2, keepaliveTime: '30s' }, d: { servers: ['a:1'], keepalive: 2 } });
  assert.is(u.get('k')!.pool!.maxTime, 30000);
  assert.is(u.get('d')!.pool!.maxTime, 3600000);
  assert.throws(() => resolveUpstreams({ k: { servers: ['a:1'], keepalive: 2, keepaliveTime: 'soon' } }), /keepaliveTime/);
});

test.run();
