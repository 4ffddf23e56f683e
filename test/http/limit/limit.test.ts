// limitReq and limitConn through real sockets, on a ManualClock: no test waits for time to pass,
// it moves the clock. What nginx does was read in ngx_http_limit_req_module.c and
// ngx_http_limit_conn_module.c and checked on nginx 1.22.1 (test/diff/limit.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock, startServer, type SluiceServer } from '../../../src/index.js';
import type { Request } from '../../../src/http/request.js';
import type { SluiceConfig } from '../../../src/http/conf/config.js';
import { resolveConfig } from '../../../src/http/conf/config.js';
import { RawClient, captureLog, errorLines, stopCapture, timed, until as untilOrFalse } from '../../helpers.js';

/** Wait for `cond`; fails the test past the helpers' deadline. */
async function until(cond: () => boolean): Promise<void> {
  assert.ok(await untilOrFalse(cond), `waited in vain for ${String(cond)}`);
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;

/** What the content handler saw: $limit_req_status and $limit_conn_status ('-' when not found). */
const vars = (r: Request) => `${r.var.limit_req_status ?? '-'} ${r.var.limit_conn_status ?? '-'}`;

let clock: ManualClock;
let s: SluiceServer;
/** Requests held in the content phase of /slow until a test lets them go. */
let held: (() => void)[] = [];
let contentRuns = 0;

async function start(http: Partial<SluiceConfig>, locations: SluiceConfig['servers'][number]['locations']): Promise<void> {
  clock = new ManualClock();
  s = await startServer({ errorLog: [errorLines, 'info'], ...http, servers: [{ listen: '127.0.0.1:0', locations }] } as SluiceConfig, { clock });
}

function say(r: Request): void {
  contentRuns++;
  r.say(vars(r));
}

function slow(r: Request): Promise<void> {
  contentRuns++;
  return new Promise<void>((resolve) => held.push(() => { r.say(vars(r)); resolve(); }));
}

async function one(path: string): Promise<{ status: number; body: string }> {
  const c = await RawClient.open(s.port);
  try {
    const [res] = await c.exchange(get(path));
    return { status: res.status, body: res.body.toString() };
  } finally {
    c.close();
  }
}

test.before.each(() => { held = []; contentRuns = 0; captureLog(); });
test.after.each(async () => { stopCapture(); if (s !== undefined) await s.close(); });

/** Error log lines so far (every level: the servers log from info) that include `text`. */
function logged(text: string): number {
  return errorLines.lines.filter((l) => l.includes(text)).length;
}
const delays = () => logged('delaying request');

test('burst=2 nodelay: three pass at once, the fourth gets limitReqStatus (429); return is not limited', timed(20000, async () => {
  await start(
    { limitReqZone: '$binary_remote_addr zone=one:1m rate=1r/m', limitReqStatus: 429 },
    { '/': { limitReq: 'zone=one burst=2 nodelay', content: say }, '/ret': { limitReq: 'zone=one', return: [200, 'r\n'] } },
  );
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await one('/'));
  assert.equal(got.map((g) => g.status), [200, 200, 200, 429]);
  assert.is(got[0].body, 'PASSED -\n');
  assert.is(got[2].body, 'PASSED -\n', 'nodelay: passed, not delayed');
  // return answers in the rewrite phase, before preaccess (as nginx)
  assert.is((await one('/ret')).status, 200);
  // 1r/m: nginx's rate is 16 thousandths a second, so a slot frees after 62.5 s
  clock.advance(62499);
  assert.is((await one('/')).status, 429);
  clock.advance(1);
  assert.is((await one('/')).status, 200);
}));

test('burst without nodelay: the excess waits (1r/s: 1 s a request over), on the server\'s clock', timed(20000, async () => {
  await start({ limitReqZone: { one: { key: '$binary_remote_addr', size: '1m', rate: '1r/s' } } }, { '/': { limitReq: { zone: 'one', burst: 5 }, content: say } });
  assert.is((await one('/')).body, 'PASSED -\n');
  const a = await RawClient.open(s.port);
  const b = await RawClient.open(s.port);
  try {
    a.write(get('/'));
    await until(() => delays() === 1);
    b.write(get('/'));
    await until(() => delays() === 2);
    assert.is(contentRuns, 1);
    clock.advance(999);
    assert.is(contentRuns, 1, 'a waits 1000 ms');
    clock.advance(1);
    await a.wait(1);
    assert.is(a.take()[0].body.toString(), 'DELAYED -\n');
    assert.is(contentRuns, 2);
    clock.advance(999);
    assert.is(contentRuns, 2, 'b waits 2000 ms');
    clock.advance(1);
    await b.wait(1);
    assert.is(b.take()[0].body.toString(), 'DELAYED -\n');
  } finally {
    a.close();
    b.close();
  }
}));

test('delay=2: two over the rate pass at once, the third waits for what is over the two', timed(20000, async () => {
  await start({ limitReqZone: '$binary_remote_addr zone=one:1m rate=2r/s' }, { '/': { limitReq: 'zone=one burst=5 delay=2', content: say } });
  for (let i = 0; i < 3; i++) assert.is((await one('/')).body, 'PASSED -\n');
  const c = await RawClient.open(s.port);
  try {
    c.write(get('/'));
    await until(() => delays() === 1);
    // excess 3000 at 2r/s, 2000 allowed at once: (3000 - 2000) * 1000 / 2000 = 500 ms
    assert.is(clock.nextAt() - clock.now(), 500);
    clock.advance(500);
    await c.wait(1);
    assert.is(c.take()[0].body.toString(), 'DELAYED -\n');
  } finally {
    c.close();
  }
}));

test('dry run: nothing is rejected or delayed, $limit_req_status says what would have been; the log says dry run', timed(20000, async () => {
  await start({ limitReqZone: '$binary_remote_addr zone=one:1m rate=1r/s' }, {
    '/': { limitReq: 'zone=one burst=1', limitReqDryRun: true, limitReqLogLevel: 'warn', content: say },
  });
  const got = [];
  for (let i = 0; i < 3; i++) got.push(await one('/'));
  const log = errorLines.lines;
  assert.equal(got.map((g) => g.status), [200, 200, 200]);
  assert.equal(got.map((g) => g.body), ['PASSED -\n', 'DELAYED_DRY_RUN -\n', 'REJECTED_DRY_RUN -\n']);
  assert.ok(log.some((l) => l.includes('[warn]') && l.includes('limiting requests, dry run, excess: 2.000 by zone "one"')), log.join(''));
  // the delay is logged one level lower than the limit (warn -> notice)
  assert.ok(log.some((l) => l.includes('[notice]') && l.includes('delaying request, dry run, excess: 1.000, by zone "one"')), log.join(''));
}));

test('the key has variables; an empty key is not limited (no status either)', timed(20000, async () => {
  await start({ limitReqZone: ['$arg_k zone=byk:1m rate=1r/m'] }, { '/': { limitReq: 'zone=byk', content: say } });
  assert.is((await one('/?k=a')).status, 200);
  assert.is((await one('/?k=a')).status, 503);
  assert.is((await one('/?k=b')).status, 200, 'another key, another bucket');
  for (let i = 0; i < 3; i++) {
    const r = await one('/');
    assert.is(r.status, 200);
    assert.is(r.body, '- -\n', 'empty key: $limit_req_status not found');
  }
}));

test('several limits: checked in order; one that rejects leaves the ones before it untouched', timed(20000, async () => {
  await start({ limitReqZone: ['$arg_a zone=za:1m rate=1r/m', '$arg_b zone=zb:1m rate=1r/m'] }, {
    '/': { limitReq: ['zone=za burst=1 nodelay', 'zone=zb'], content: say },
  });
  assert.is((await one('/?a=1&b=1')).status, 200);
  assert.is((await one('/?a=2&b=1')).status, 503, 'zb rejects');
  assert.is((await one('/?a=2&b=2')).status, 200, 'za of a=2 was not taken by the rejected request');
  assert.is((await one('/?a=2&b=3')).status, 200, 'a=2 within its burst of 1');
  assert.is((await one('/?a=2&b=4')).status, 503, 'za: a=2 now over');
  assert.is((await one('/?b=5')).status, 200, 'an empty first key: only zb counts');
}));

test('several limits: the longest delay of them is waited (and logged with its zone)', timed(20000, async () => {
  await start({ limitReqZone: ['$arg_a zone=fast:1m rate=10r/s', '$arg_b zone=slow:1m rate=1r/s'] }, {
    '/': { limitReq: ['zone=slow burst=5', 'zone=fast burst=5'], content: say },
  });
  assert.is((await one('/?a=1&b=1')).status, 200);
  const c = await RawClient.open(s.port);
  try {
    c.write(get('/?a=1&b=1'));
    await until(() => delays() === 1);
    assert.is(clock.nextAt() - clock.now(), 1000, 'slow: 1000 ms, fast: 100 ms');
    assert.is(logged('delaying request, excess: 1.000, by zone "slow"'), 1);
    clock.advance(1000);
    await c.wait(1);
  } finally {
    c.close();
  }
}));

test('zone size bounds the keys: the oldest state is evicted to make room (32k: 191 keys, as nginx)', timed(30000, async () => {
  await start({ limitReqZone: '$arg_k zone=small:32k rate=1r/m' }, { '/': { limitReq: 'zone=small', content: say } });
  const c = await RawClient.open(s.port);
  try {
    const probe = async (n: number, prefix: string) => {
      for (let i = 1; i <= n; i++) await c.exchange(get(`/?k=${prefix}${i}`));
      const [r] = await c.exchange(get(`/?k=${prefix}1`));
      return r.status;
    };
    assert.is(await probe(191, 'a'), 503, '191 keys fit: the first is still there, over its rate');
    assert.is(await probe(192, 'b'), 200, 'the 192nd evicted the first');
  } finally {
    c.close();
  }
}));

test('rejection status and log level; the status page is the special response (as nginx)', timed(20000, async () => {
  await start({ limitReqZone: '$binary_remote_addr zone=one:1m rate=1r/m' }, { '/': { limitReq: 'zone=one', limitReqStatus: 599, content: say } });
  await one('/');
  const r = await one('/');
  const log = errorLines.lines;
  assert.is(r.status, 599);
  assert.ok(log.some((l) => l.includes('[error]') && /limiting requests, excess: 1\.000 by zone "one", client: 127\.0\.0\.1/.test(l)), log.join(''));
}));

test('an internal redirect or a subrequest does not count the main request again', timed(20000, async () => {
  await start({ limitReqZone: '$binary_remote_addr zone=one:1m rate=1r/m' }, {
    '/a': { limitReq: 'zone=one', content: (r: Request) => r.exec('/b') },
    '/b': { limitReq: 'zone=one', content: say },
  });
  const r = await one('/a');
  assert.is(r.status, 200);
  assert.is(r.body, 'PASSED -\n');
}));

test('the client closes during a delay: the request ends (499), its timer is cleared, content never runs', timed(20000, async () => {
  await start({ limitReqZone: '$binary_remote_addr zone=one:1m rate=1r/s' }, { '/': { limitReq: 'zone=one burst=5', content: say } });
  await one('/');
  const c = await RawClient.open(s.port);
  c.write(get('/'));
  await until(() => delays() === 1);
  c.socket.end();
  await until(() => logged('client prematurely closed connection') === 1);
  clock.advance(5000);
  assert.is(contentRuns, 1);
  assert.ok(await c.waitClosed());
  c.close();
}));

test('limitConn: concurrent slow requests of one key beyond the limit get 503; released when each is done', timed(20000, async () => {
  await start({ limitConnZone: '$binary_remote_addr zone=addr:1m', limitConnLogLevel: 'error' }, {
    '/slow': { limitConn: 'addr 2', content: slow },
    '/fast': { limitConn: { addr: 2 }, content: say },
  });
  const a = await RawClient.open(s.port);
  const b = await RawClient.open(s.port);
  const c = await RawClient.open(s.port);
  try {
    a.write(get('/slow'));
    b.write(get('/slow'));
    await until(() => held.length === 2);
    const [r] = await c.exchange(get('/fast'));
    assert.is(r.status, 503, 'two in progress: a third is refused');
    const log = errorLines.lines;
    assert.ok(log.some((l) => l.includes('limiting connections by zone "addr"')), log.join(''));
    held[0]();
    await a.wait(1);
    assert.is(a.take()[0].body.toString(), '- PASSED\n');
    // a is idle on its keep-alive connection now: it holds nothing
    const [r2] = await c.exchange(get('/fast'));
    assert.is(r2.status, 200);
    assert.is(r2.body.toString(), '- PASSED\n');
    held[1]();
    await b.wait(1);
    const [r3] = await a.exchange(get('/fast'));
    assert.is(r3.status, 200);
  } finally {
    a.close(); b.close(); c.close();
  }
}));

test('limitConn: a client gone (reset) mid-request releases its count; dry run passes with REJECTED_DRY_RUN', timed(20000, async () => {
  await start({ limitConnZone: { addr: { key: '$binary_remote_addr', size: '1m' } } }, {
    '/slow': { limitConn: 'addr 1', content: slow },
    '/dry': { limitConn: 'addr 1', limitConnDryRun: true, content: say },
    '/fast': { limitConn: 'addr 1', content: say },
  });
  const a = await RawClient.open(s.port);
  a.write(get('/slow'));
  await until(() => held.length === 1);
  const d = await one('/dry');
  assert.is(d.status, 200);
  assert.is(d.body, '- REJECTED_DRY_RUN\n');
  assert.is((await one('/fast')).status, 503);
  a.socket.resetAndDestroy();
  await until(() => s.connections().length === 0);
  assert.is((await one('/fast')).status, 200, 'the closed connection\'s request was let go');
}));

test('limit_req runs before limit_conn: a request waiting out its delay is not counted by limit_conn', timed(20000, async () => {
  await start({ limitReqZone: '$binary_remote_addr zone=one:1m rate=1r/s', limitConnZone: '$binary_remote_addr zone=addr:1m' }, {
    '/': { limitReq: 'zone=one burst=5', limitConn: 'addr 1', content: slow },
    '/c': { limitConn: 'addr 1', content: say },
  });
  const a = await RawClient.open(s.port);
  const b = await RawClient.open(s.port);
  try {
    a.write(get('/'));
    await until(() => held.length === 1);
    held[0]();
    await a.wait(1);
    a.take();
    b.write(get('/'));
    await until(() => delays() === 1); // b is delayed by limit_req
    assert.is((await one('/c')).status, 200, 'b is not counted while it waits');
    clock.advance(1000);
    await until(() => held.length === 2);
    assert.is((await one('/c')).status, 503, 'now b is counted');
    held[1]();
    await b.wait(1);
    assert.is(b.take()[0].body.toString(), 'DELAYED PASSED\n');
  } finally {
    a.close(); b.close();
  }
}));

test('config: nginx\'s checks and messages', () => {
  const bad = (c: Record<string, unknown>, msg: string) => {
    try {
      resolveConfig({ servers: [{ listen: 80, locations: { '/': {} } }], ...c });
    } catch (e) {
      assert.ok((e as Error).message.includes(msg), `${(e as Error).message} has ${msg}`);
      return;
    }
    assert.unreachable(`accepted: ${JSON.stringify(c)}`);
  };
  const loc = (l: Record<string, unknown>, http: Record<string, unknown> = {}) => ({ ...http, servers: [{ listen: 80, locations: { '/': l } }] });
  bad(loc({ limitReq: 'zone=nope' }), 'zero size shared memory zone "nope" in servers[0].locations["/"]');
  bad(loc({ limitConn: 'nope 1' }), 'zero size shared memory zone "nope"');
  bad({ limitReqZone: '$ zone=one:1m rate=1r/s' }, 'invalid variable name in "$"');
  bad({ limitConnZone: { c: { key: '${a', size: '1m' } } }, 'invalid variable name');
  bad({ limitReqZone: '$arg_a zone=one:10k rate=1r/s' }, 'zone "zone=one:10k" is too small');
  bad({ limitReqZone: '$arg_a zone=one rate=1r/s' }, 'invalid zone size "zone=one"');
  bad({ limitReqZone: '$arg_a zone=one:1g rate=1r/s' }, 'invalid zone size "zone=one:1g"');
  bad({ limitReqZone: '$arg_a zone=one:1m rate=0r/s' }, 'invalid rate "rate=0r/s"');
  bad({ limitReqZone: '$arg_a zone=one:1m rate=1r/h' }, 'invalid rate "rate=1r/h"');
  bad({ limitReqZone: '$arg_a zone=one:1m' }, 'invalid number of arguments in "limitReqZone" directive');
  bad({ limitReqZone: '$arg_a zone=one:1m rate=1r/s sync' }, 'invalid number of arguments');
  bad({ limitReqZone: ['$arg_a zone=one:1m rate=1r/s', '$arg_b zone=one:1m rate=1r/s'] }, 'limitReqZone "one" is already bound to key "$arg_a"');
  bad({ limitConnZone: ['$arg_a zone=c:1m', '$arg_a zone=c:1m'] }, 'limitConnZone "c" is already bound to key "$arg_a"');
  bad({ limitReqZone: '$arg_a zone=z:1m rate=1r/s', limitConnZone: '$arg_a zone=z:1m' }, 'the shared memory zone "z" is already declared for a different use');
  const z = { limitReqZone: '$arg_a zone=one:1m rate=1r/s', limitConnZone: '$arg_a zone=addr:1m' };
  bad(loc({ limitReq: 'zone=one burst=0' }, z), 'invalid burst value "burst=0"');
  bad(loc({ limitReq: 'zone=one delay=-1' }, z), 'invalid delay value "delay=-1"');
  bad(loc({ limitReq: 'burst=3' }, z), '"limitReq" must have "zone" parameter');
  bad(loc({ limitReq: 'zone=one fast' }, z), 'invalid parameter "fast"');
  bad(loc({ limitReq: ['zone=one', { zone: 'one', burst: 2 }] }, z), '"limitReq" directive is duplicate');
  bad(loc({ limitReqStatus: 600 }, z), 'value must be between 400 and 599');
  bad(loc({ limitConnStatus: 399 }, z), 'value must be between 400 and 599');
  bad(loc({ limitReqLogLevel: 'crit' }, z), 'invalid value "crit" for "limitReqLogLevel"');
  bad(loc({ limitConn: 'addr 0' }, z), 'invalid number of connections "0"');
  bad(loc({ limitConn: 'addr 65536' }, z), 'connection limit must be less 65536');
  bad(loc({ limitConn: ['addr 1', 'addr 2'] }, z), '"limitConn" directive is duplicate');
  // nodelay and delay: the last written wins in nginx's string form
  const c = resolveConfig(loc({ limitReq: 'zone=one delay=2 nodelay' }, z));
  assert.is(c.servers[0].locations.find('/')!.conf.limitReq[0].delay, Number.MAX_SAFE_INTEGER);
  const c2 = resolveConfig(loc({ limitReq: 'zone=one nodelay delay=2' }, z));
  assert.is(c2.servers[0].locations.find('/')!.conf.limitReq[0].delay, 2000);
});

test.run();
