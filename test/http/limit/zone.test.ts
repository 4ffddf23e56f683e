// The zones' arithmetic against nginx's (ngx_http_limit_req_module.c): excess in thousandths of a
// request, leaked at the rate per ms, rounded down; LRU eviction; the slab model's capacity
// (a 32k zone holds 191 short keys: measured on nginx 1.22.1, see test/diff/limit.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LocalConnZone, LocalReqZone } from '../../../src/http/limit/local-zone.js';
import { SlabModel, zonePages } from '../../../src/http/limit/slab.js';
import { LC_BUSY, LC_ERROR, LC_OK, LR_AGAIN, LR_BUSY, LR_ERROR, LR_OK } from '../../../src/http/limit/zone.js';

const T0 = 1_000_000;

test('slab model: pages of a zone as ngx_slab_init counts them', () => {
  assert.is(zonePages(32768), 7);
  assert.is(zonePages(1024 * 1024), 254);
  assert.is(zonePages(10 * 1024 * 1024), 2544);
});

test('slab model: 128-byte states, 32 a page; a page comes back when its last state goes', () => {
  const s = new SlabModel(32768);
  for (let i = 0; i < 7 * 32; i++) assert.ok(s.alloc(84), `state ${i}`);
  assert.not.ok(s.alloc(84));
  assert.not.ok(s.alloc(20), 'no page left for another class');
  for (let i = 0; i < 32; i++) s.free(84);
  assert.is(s.pagesFree, 1);
  assert.ok(s.alloc(20));
});

test('a 32k limit_req zone holds 191 short keys, a 1m zone 8095 (nginx: about 8000 per megabyte)', () => {
  for (const [size, want] of [[32768, 191], [1024 * 1024, 8095]] as const) {
    const z = new LocalReqZone('small', '$arg_k', 16, size);
    let n = 0;
    // idle states younger than a minute are never expired: each new key fits or evicts the oldest
    while (z.lookup('k' + n, T0, 0, true) === LR_OK && z.keys === n + 1) n++;
    assert.is(n, want, `zone of ${size} bytes`);
    assert.is(z.peek('k0'), null, 'the oldest key made room for the next');
  }
});

test('1r/s, no burst: the second request in the same ms is over; a second later it is not', () => {
  const z = new LocalReqZone('one', '$k', 1000, 1024 * 1024);
  assert.is(z.lookup('a', T0, 0, true), LR_OK);
  assert.is(z.excess, 0);
  assert.is(z.lookup('a', T0, 0, true), LR_BUSY);
  assert.is(z.excess, 1000);
  assert.is(z.lookup('a', T0 + 999, 0, true), LR_BUSY);
  assert.is(z.excess, 1);
  assert.is(z.lookup('a', T0 + 1000, 0, true), LR_OK);
  assert.is(z.excess, 0);
});

test('1r/m is 16 thousandths a second, as nginx rounds it: 62.5 s between requests, not 60', () => {
  const z = new LocalReqZone('one', '$k', Math.floor(1000 / 60), 1024 * 1024);
  assert.is(z.rate, 16);
  assert.is(z.lookup('a', T0, 0, true), LR_OK);
  assert.is(z.lookup('a', T0 + 60000, 0, true), LR_BUSY);
  assert.is(z.excess, 40);
  assert.is(z.lookup('a', T0 + 62499, 0, true), LR_BUSY);
  assert.is(z.lookup('a', T0 + 62500, 0, true), LR_OK);
});

test('burst: excess grows by 1000 a request and leaks at the rate; a rejected request leaves it as it was', () => {
  const z = new LocalReqZone('one', '$k', 2000, 1024 * 1024); // 2r/s
  assert.is(z.lookup('a', T0, 3000, true), LR_OK);
  for (const want of [1000, 2000, 3000]) {
    assert.is(z.lookup('a', T0, 3000, true), LR_OK);
    assert.is(z.excess, want);
  }
  assert.is(z.lookup('a', T0, 3000, true), LR_BUSY);
  assert.equal(z.peek('a'), [3000, T0]);
  assert.is(z.lookup('a', T0 + 250, 3000, true), LR_BUSY, '250 ms leak 500 at 2r/s: 3500 is still over');
  assert.is(z.lookup('a', T0 + 500, 3000, true), LR_OK, '500 ms leak a whole request');
  assert.is(z.excess, 3000);
});

test('the last time moves only when ms have passed; a clock gone back counts as no time', () => {
  const z = new LocalReqZone('one', '$k', 1000, 1024 * 1024);
  z.lookup('a', T0, 10000, true);
  z.lookup('a', T0 - 5, 10000, true);
  assert.equal(z.peek('a'), [1000, T0]);
  z.lookup('a', T0 - 70000, 10000, true); // far back: 1 ms
  assert.equal(z.peek('a'), [1999, T0 - 70000]);
});

test('not the last limit: the state is held (AGAIN), then account() takes the request, rollback() leaves it', () => {
  const z = new LocalReqZone('one', '$k', 1000, 1024 * 1024);
  assert.is(z.lookup('a', T0, 5000, false), LR_AGAIN);
  assert.equal(z.peek('a'), [0, 0], 'a new held state: excess 0, last 0');
  assert.is(z.account(T0), 0, 'from last 0, everything has leaked');
  assert.equal(z.peek('a'), [0, T0]);
  assert.is(z.account(T0), -1, 'nothing held any more');
  assert.is(z.lookup('a', T0, 5000, false), LR_AGAIN);
  assert.is(z.excess, 1000);
  z.rollback();
  assert.equal(z.peek('a'), [0, T0], 'rolled back: not taken');
  assert.is(z.lookup('a', T0, 5000, false), LR_AGAIN);
  assert.is(z.account(T0), 1000);
});

test('eviction: idle a minute and leaked away goes first; a held state stops eviction (ERROR)', () => {
  const z = new LocalReqZone('small', '$k', 1000, 32768);
  for (let i = 0; i < 191; i++) z.lookup('k' + i, T0, 0, true);
  assert.is(z.keys, 191);
  // a minute later, a new key expires up to two stale ones before it allocates
  assert.is(z.lookup('new', T0 + 60000, 0, true), LR_OK);
  assert.is(z.keys, 190);
  assert.is(z.peek('k0'), null);
  assert.is(z.peek('k1'), null);
  // hold the oldest (k2): the next new key cannot evict it, and the zone is full
  const h = new LocalReqZone('small', '$k', 1000, 32768);
  for (let i = 0; i < 191; i++) h.lookup('k' + i, T0, 0, true);
  h.lookup('k0', T0, 5000, false); // moves k0 to the newest end, held
  assert.is(h.lookup('x', T0, 0, true), LR_OK, 'k1 (oldest, not held) evicted');
  assert.is(h.peek('k1'), null);
  const g = new LocalReqZone('small', '$k', 1000, 32768);
  assert.is(g.lookup('held', T0, 0, false), LR_AGAIN);
  for (let i = 0; i < 190; i++) g.lookup('k' + i, T0, 0, true);
  assert.is(g.keys, 191);
  // the oldest is held: nothing can be evicted
  assert.is(g.lookup('y', T0, 0, true), LR_ERROR);
});

test('limit_conn zone: counts per key, the state goes with the last release; full: ERROR', () => {
  const z = new LocalConnZone('addr', '$k', 32768);
  assert.is(z.acquire('a', 2), LC_OK);
  assert.is(z.acquire('a', 2), LC_OK);
  assert.is(z.acquire('a', 2), LC_BUSY);
  assert.is(z.count('a'), 2);
  z.release('a');
  assert.is(z.acquire('a', 2), LC_OK);
  z.release('a'); z.release('a');
  assert.is(z.keys, 0);
  let n = 0;
  while (z.acquire('k' + n, 1) === LC_OK) n++;
  // 64-byte states (36 + key), 64 a page; 7 pages, the log context's page and the head's slot aside
  assert.is(n, 6 * 64 - 1);
  assert.is(z.acquire('k' + n, 1), LC_ERROR);
  z.release('k0');
  assert.is(z.acquire('again', 1), LC_OK);
});

test.run();
