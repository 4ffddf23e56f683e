// The system clock's cached time (nginx's ngx_current_msec): read once when an event's handling
// begins, the same for everything that asks during it, the live clock outside.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SYSTEM_CLOCK, eventEnd, eventStart, httpDate, systemNow } from '../../src/core/clock.js';
import { listen, raw, get } from '../helpers.js';
import type { Request } from '../../src/http/request.js';

function withDateNow(fn: (set: (ms: number) => void) => void): void {
  const real = Date.now;
  let ms = 0;
  Date.now = () => ms;
  try { fn((v) => { ms = v; }); } finally { Date.now = real; }
}

test('inside an event the clock reads the time taken at its start; outside, the live time', () => {
  withDateNow((set) => {
    set(1_000);
    assert.is(systemNow(), 1_000);
    eventStart();
    set(5_000);
    assert.is(systemNow(), 1_000, 'cached for the event');
    assert.is(SYSTEM_CLOCK.now(), 1_000, 'SYSTEM_CLOCK reads it too');
    eventStart(); // an event handled inside another keeps the outer one's time
    assert.is(systemNow(), 1_000);
    eventEnd();
    assert.is(systemNow(), 1_000);
    eventEnd();
    assert.is(systemNow(), 5_000, 'live again once the event is done');
  });
});

test('the Date header follows the event time', () => {
  withDateNow((set) => {
    set(Date.UTC(2026, 11, 3, 10, 0, 0));
    eventStart();
    set(Date.UTC(2026, 11, 3, 10, 0, 9));
    assert.is(httpDate(), 'Thu, 03 Dec 2026 10:00:00 GMT');
    eventEnd();
    assert.is(httpDate(), 'Thu, 03 Dec 2026 10:00:09 GMT');
  });
});

test('a connection\'s read is one event: one time for the request, the live clock after it, a throwing handler too', async () => {
  const seen: number[] = [];
  const s = await listen({
    '= /t': { content: (r: Request) => { seen.push(systemNow()); r.say('t'); } },
    '= /throw': { content: () => { throw new Error('boom'); } },
  }, {}, { errorLog: 'off' });
  try {
    // a clock that moves on 1 ms at every look: only a cached time reads the same twice
    const real = Date.now;
    let t = real();
    Date.now = () => t++;
    let a;
    try { a = (await raw(s.port, get('/t') + get('/t'), { responses: 2 })).responses; } finally { Date.now = real; }
    assert.equal(a.map((x) => x.status), [200, 200]);
    const b = (await raw(s.port, get('/throw'), { responses: 1 })).responses;
    assert.is(b[0].status, 500);
    assert.is(seen.length, 2);
    assert.is(seen[0], seen[1], 'the pipelined requests of one read share its time');
    withDateNow((set) => { set(123); assert.is(systemNow(), 123, 'no event left open'); });
  } finally {
    await s.close();
  }
});

test.run();
