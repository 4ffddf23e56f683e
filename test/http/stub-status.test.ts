// stub_status: its figures against the connections and requests this test made (counted from a
// snapshot taken before, as the counters belong to the process), its text, HEAD and 405, the
// $connections_* variables, and a source of figures set from outside (a master's sum).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listen, get, raw, RawClient, until, captureLog, stopCapture } from '../helpers.js';
import { STAT, localStatus, setStatusSource, statusText, type StatusCounters } from '../../src/core/status.js';
import { resolveConfig, ConfigError } from '../../src/http/conf/config.js';

const LOCS = {
  '= /status': { stubStatus: true },
  '/': { return: [200, 'ok\n'] },
  '= /vars': { return: [200, '$connections_active $connections_reading $connections_writing $connections_waiting\n'] },
} as const;

/** Parse stub_status's text back into figures (and check its shape exactly on the way). */
function figures(body: string): StatusCounters {
  const m = /^Active connections: (\d+) \nserver accepts handled requests\n (\d+) (\d+) (\d+) \nReading: (\d+) Writing: (\d+) Waiting: (\d+) \n$/.exec(body);
  assert.ok(m !== null, `stub_status text: ${JSON.stringify(body)}`);
  const n = m!.slice(1).map(Number);
  return { active: n[0], accepts: n[1], handled: n[2], requests: n[3], reading: n[4], writing: n[5], waiting: n[6] };
}

/** Stop a server once its connections are gone (so the next test's snapshot is still). */
async function done(s: { connectionCount(): number; close(ms?: number): Promise<void> }): Promise<void> {
  await until(() => s.connectionCount() === 0);
  await s.close(100);
}

function plus(base: StatusCounters, d: Partial<StatusCounters>): StatusCounters {
  const out = { ...base };
  for (const k of Object.keys(d) as (keyof StatusCounters)[]) out[k] += d[k]!;
  return out;
}

test('the text is nginx\'s, trailing spaces and all', () => {
  assert.is(statusText({ active: 1, accepts: 2, handled: 3, requests: 4, reading: 5, writing: 6, waiting: 7 }),
    'Active connections: 1 \nserver accepts handled requests\n 2 3 4 \nReading: 5 Writing: 6 Waiting: 7 \n');
});

test('one connection: its requests, itself writing; HEAD has no body; POST is 405', async () => {
  const s = await listen(LOCS);
  try {
    const base = localStatus();
    const c = await RawClient.open(s.port);
    for (let i = 0; i < 3; i++) assert.is((await c.exchange(get('/x')))[0].status, 200);
    const [r] = await c.exchange(get('/status'));
    assert.is(r.status, 200);
    assert.is(r.headers['content-type'], 'text/plain');
    assert.is(r.headers['last-modified'], undefined);
    assert.is(Number(r.headers['content-length']), r.body.length);
    // 3 requests and this one; the connection is the one writing
    assert.equal(figures(r.body.toString()), plus(base, { active: 1, accepts: 1, handled: 1, requests: 4, writing: 1 }));
    const [h] = await c.exchange('HEAD /status HTTP/1.1\r\nHost: localhost\r\n\r\n', 1, [0]);
    assert.is(h.status, 200);
    assert.is(h.body.length, 0);
    assert.is(Number(h.headers['content-length']), r.body.length);
    const [p] = await c.exchange('POST /status HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc');
    assert.is(p.status, 405);
    // pipelined: both counted when the second is answered
    const two = await c.exchange(get('/x') + get('/status'), 2);
    assert.equal(figures(two[1].body.toString()), plus(base, { active: 1, accepts: 1, handled: 1, requests: 8, writing: 1 }));
    c.close();
  } finally {
    await done(s);
  }
});

test('waiting (kept alive and never used), reading (a head half sent), a bad request, closed connections', async () => {
  const s = await listen(LOCS);
  try {
    const base = localStatus();
    // B: one request, then idle in keep-alive
    const b = await RawClient.open(s.port);
    await b.exchange(get('/x'));
    // C: connected, nothing sent (nginx counts it waiting)
    const c = await RawClient.open(s.port);
    // D: half a head
    const d = await RawClient.open(s.port);
    d.write('GET /x HTTP/1.1\r\nHo');
    // E: a bad request, answered 400 and closed
    const e = await raw(s.port, 'BAD\r\n\r\n');
    assert.match(e.text, /^HTTP\/1\.1 400 /);
    // the server has seen C's connect and D's bytes, and E's close
    assert.ok(await until(() => STAT.accepts === base.accepts + 4 && STAT.reading === base.reading + 1 && STAT.active === base.active + 3), JSON.stringify(localStatus()));
    const a = await RawClient.open(s.port);
    const [r] = await a.exchange(get('/status'));
    // requests: B's, D's, E's, A's; active: A B C D; writing: A; reading: D; waiting: B C
    assert.equal(figures(r.body.toString()), plus(base, { active: 4, accepts: 5, handled: 5, requests: 4, reading: 1, writing: 1, waiting: 2 }));
    const [v] = await a.exchange(get('/vars'));
    assert.is(v.body.toString(), `${base.active + 4} ${base.reading + 1} ${base.writing + 1} ${base.waiting + 2}\n`);
    // D finishes its head: reading goes, and D is waiting once answered
    d.write('st: x\r\n\r\n');
    await d.wait(1);
    for (const x of [b, c, d]) x.close();
    assert.ok(await until(() => s.connectionCount() === 1));
    const [r2] = await a.exchange(get('/status'));
    assert.equal(figures(r2.body.toString()), plus(base, { active: 1, accepts: 5, handled: 5, requests: 6, writing: 1 }));
    a.close();
    assert.ok(await until(() => s.connectionCount() === 0));
    assert.equal(localStatus(), plus(base, { accepts: 5, handled: 5, requests: 6 }));
  } finally {
    await done(s);
  }
});

test('workerConnections: a dropped connection is accepted, not handled', async () => {
  captureLog();
  const s = await listen(LOCS, {}, { workerConnections: 1 });
  try {
    const base = localStatus();
    const a = await RawClient.open(s.port);
    await a.exchange(get('/x'));
    const b = await RawClient.open(s.port);
    assert.ok(await b.waitClosed(), 'the second connection is closed');
    const [r] = await a.exchange(get('/status'));
    assert.equal(figures(r.body.toString()), plus(base, { active: 1, accepts: 2, handled: 1, requests: 2, writing: 1 }));
    assert.ok(stopCapture().some((l) => l.includes('1 worker_connections are not enough')));
    a.close();
  } finally {
    stopCapture();
    await done(s);
  }
});

test('a status source set from outside answers (a master summing its workers); null goes back to local', async () => {
  const s = await listen(LOCS);
  const fixed = { active: 9, accepts: 100, handled: 99, requests: 1234, reading: 2, writing: 3, waiting: 4 };
  try {
    setStatusSource(() => Promise.resolve(fixed));
    const r = await raw(s.port, get('/status', 'Connection: close\r\n'));
    assert.is(r.responses[0].body.toString(), statusText(fixed));
    setStatusSource(null);
    const r2 = await raw(s.port, get('/status', 'Connection: close\r\n'));
    assert.is.not(r2.responses[0].body.toString(), statusText(fixed));
  } finally {
    setStatusSource(null);
    await done(s);
  }
});

test('stubStatus: in server and location blocks, not inherited, a boolean', () => {
  const c = resolveConfig({ servers: [{ listen: 0, stubStatus: true, locations: { '/': {} } }] });
  assert.is(c.servers[0].conf.stubStatus, true);
  assert.is(c.servers[0].locations.find('/')!.conf.stubStatus, false);
  assert.throws(() => resolveConfig({ stubStatus: true, servers: [{ listen: 0 }] } as never), (e: unknown) => e instanceof ConfigError && /stubStatus/.test((e as Error).message));
  assert.throws(() => resolveConfig({ servers: [{ listen: 0, locations: { '/': { stubStatus: 'on' } } }] } as never), (e: unknown) => e instanceof ConfigError);
});

test.run();
