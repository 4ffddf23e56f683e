// HttpClient (lua-resty-http's counterpart) against real servers: requestUri, keepalive pools,
// timeouts, streaming with request() + bodyReader(), and a 1 GiB body in bounded memory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listen, raw, timed, get, sleep, until } from '../helpers.js';
import { HttpClient, HttpClientError } from '../../src/index.js';
import { clientPoolIdle } from '../../src/lua/client.js';
import { ManualClock } from '../../src/core/clock.js';
import type { Request } from '../../src/http/request.js';
import { bigUpstream, echoUpstream, httpUpstream, netUpstream, scriptedUpstream, type Seen } from './upstreams.js';

const open: { close(): unknown }[] = [];
function keep<T extends { close(): unknown }>(x: T): T { open.push(x); return x; }
test.after.each(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

const url = (port: number, path: string) => `http://127.0.0.1:${port}${path}`;
const seenOf = (body: Buffer): Seen => JSON.parse(body.toString());

test('requestUri: GET with query (object and string) and headers', timed(30000, async () => {
  const up = keep(await echoUpstream());
  const c = new HttpClient();
  const a = await c.requestUri(url(up.port, '/p?z=0'), { query: { a: 1, b: 'x y', list: ['1', '2'] }, headers: { 'X-A': 'b', 'X-Multi': ['1', '2'] } });
  assert.is(a.status, 200);
  assert.is(a.reason, 'OK');
  assert.is(a.headers['content-type'], 'application/json', 'lower-case header names');
  const sa = seenOf(a.body);
  assert.is(sa.method, 'GET');
  assert.is(sa.url, '/p?z=0&a=1&b=x%20y&list=1&list=2', 'the URL\'s query, then the query object, encoded');
  assert.is(sa.headers['x-a'], 'b');
  assert.equal(sa.raw.filter(([k]) => k === 'X-Multi').map(([, v]) => v), ['1', '2'], 'repeated headers');
  assert.is(sa.headers.host, `127.0.0.1:${up.port}`, 'Host with the port');
  assert.match(sa.headers['user-agent'], /^sluice-http\//);
  const b = await c.requestUri(url(up.port, '/q'), { query: 'k=v&w' });
  assert.is(seenOf(b.body).url, '/q?k=v&w', 'a query string as given');
}));

test('requestUri: POST with a body (string and Buffer), other methods', timed(30000, async () => {
  const up = keep(await echoUpstream());
  const c = new HttpClient();
  const p = seenOf((await c.requestUri(url(up.port, '/post'), { method: 'POST', body: 'name=value', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })).body);
  assert.is(p.method, 'POST');
  assert.is(p.headers['content-length'], '10');
  assert.is(p.body, 'name=value');
  const bin = Buffer.from([0, 1, 2, 255]);
  const q = seenOf((await c.requestUri(url(up.port, '/put'), { method: 'put', body: bin })).body);
  assert.is(q.method, 'PUT', 'method upper-cased');
  assert.is(q.headers['content-length'], '4');
  const e = seenOf((await c.requestUri(url(up.port, '/empty'), { method: 'POST' })).body);
  assert.is(e.headers['content-length'], '0', 'POST without a body: Content-Length: 0');
  const h = await c.requestUri(url(up.port, '/head'), { method: 'HEAD' });
  assert.is(h.status, 200);
  assert.is(h.body.length, 0, 'HEAD: no body');
}));

test('requestUri: keepalive reuses one connection; keepalive: false closes each', timed(30000, async () => {
  const up = keep(await echoUpstream());
  const c = new HttpClient();
  for (let i = 0; i < 5; i++) {
    const res = await c.requestUri(url(up.port, '/k' + i));
    assert.is(seenOf(res.body).url, '/k' + i);
    assert.is(seenOf(res.body).headers.connection, undefined, 'no "Connection: close" asked for');
  }
  assert.is(up.conns, 1, 'the upstream saw one connection for five requests');
  assert.is(clientPoolIdle(`127.0.0.1:${up.port}`), 1, 'kept idle in the pool for host:port');

  const up2 = keep(await echoUpstream());
  for (let i = 0; i < 3; i++) {
    const res = await c.requestUri(url(up2.port, '/n' + i), { keepalive: false });
    assert.is(seenOf(res.body).headers.connection, 'close', 'asks the server to close');
  }
  assert.is(up2.conns, 3, 'a connection per request');
  assert.ok(await until(() => up2.sockets.size === 0), 'all closed');
  assert.is(clientPoolIdle(`127.0.0.1:${up2.port}`), 0, 'nothing kept');

  const named = await c.requestUri(url(up2.port, '/named'), { keepalivePool: 'my-pool' });
  assert.is(named.status, 200);
  assert.is(clientPoolIdle('my-pool'), 1, 'a named pool (lua-resty-http\'s pool option)');
}));

test('requestUri: a kept connection the server closed is replaced for the next request', timed(30000, async () => {
  const up = keep(await scriptedUpstream((target, _h, sock, n) => {
    if (n === 0) sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${target.length}\r\n\r\n${target}`);
    else sock.destroy(); // the kept connection dies as it is reused
  }));
  const c = new HttpClient();
  for (let i = 0; i < 3; i++) {
    const res = await c.requestUri(url(up.port, '/s' + i));
    assert.is(res.body.toString(), '/s' + i, `request ${i}`);
  }
  assert.is(up.conns, 3);
  await up.close();
  assert.ok(await until(() => clientPoolIdle(`127.0.0.1:${up.port}`) === 0), 'closed idle connections leave the pool');
}));

test('setTimeouts: a read timeout rejects with code ETIMEDOUT, at its time on the client\'s clock; a refused connect with EUPSTREAM', timed(30000, async () => {
  let got = 0;
  const mute = keep(await netUpstream((sock) => sock.on('data', () => { got++; }))); // reads, never answers
  const clock = new ManualClock();
  const c = new HttpClient({ clock });
  c.setTimeouts(1000, 1000, 200);
  let e: unknown = null;
  const p = c.requestUri(url(mute.port, '/')).then(() => 'answered', (err: unknown) => { e = err; });
  assert.ok(await until(() => got === 1), 'the request reached the upstream');
  clock.advance(199);
  await sleep(0);
  assert.is(e, null, 'not before the read timeout');
  clock.advance(1);
  await p;
  assert.instance(e, HttpClientError);
  assert.is((e as HttpClientError).code, 'ETIMEDOUT');
  c.connect('127.0.0.1', mute.port);
  let e2: unknown = null;
  const p2 = c.request({ path: '/' }).then(() => 'answered', (err: unknown) => { e2 = err; });
  assert.ok(await until(() => got === 2), 'request() reached the upstream');
  clock.advance(200);
  await p2;
  assert.is((e2 as HttpClientError).code, 'ETIMEDOUT', 'request() too');
  c.close();
  const port = mute.port;
  await mute.close();
  const e3 = await new HttpClient().requestUri(url(port, '/')).then(() => null, (err: unknown) => err);
  assert.is((e3 as HttpClientError).code, 'EUPSTREAM', 'connection refused');
}));

test('requestUri: keepaliveTimeout in nginx notation (\'1h\', \'1m30s\') or ms keeps the connection that long; a bad one is EINVAL', timed(30000, async () => {
  const up = keep(await echoUpstream());
  const clock = new ManualClock();
  const c = new HttpClient({ clock });
  for (const [kt, ms] of [['1h', 3600000], ['1m30s', 90000], [2500, 2500]] as const) {
    const pool = `kt-${kt}-${up.port}`;
    const res = await c.requestUri(url(up.port, '/kt'), { keepaliveTimeout: kt, keepalivePool: pool });
    assert.is(res.status, 200, String(kt));
    assert.is(clientPoolIdle(pool), 1, `${kt}: kept`);
    clock.advance(ms - 1);
    assert.is(clientPoolIdle(pool), 1, `${kt}: still kept 1 ms before ${ms} ms`);
    clock.advance(1);
    assert.is(clientPoolIdle(pool), 0, `${kt}: closed after ${ms} ms idle`);
  }
  for (const bad of ['soon', '1x', '-5s', '', -1, 1.5]) {
    const e = await c.requestUri(url(up.port, '/'), { keepaliveTimeout: bad }).then(() => null, (err: unknown) => err);
    assert.instance(e, HttpClientError, JSON.stringify(bad));
    assert.is((e as HttpClientError).code, 'EINVAL', JSON.stringify(bad));
    assert.match((e as Error).message, /keepaliveTimeout/);
  }
}));

test('streaming: request() + bodyReader(), setKeepalive() reuses, close() closes', timed(30000, async () => {
  const up = keep(await httpUpstream((seen, res) => {
    res.setHeader('X-Url', seen.url);
    // in pieces, chunked
    res.write('one,');
    setTimeout(() => { res.write('two,'); setTimeout(() => res.end('three:' + seen.body), 10); }, 10);
  }));
  const c = new HttpClient();
  c.connect('127.0.0.1', up.port);
  const r1 = await c.request({ method: 'POST', path: '/a', query: { q: 1 }, headers: { 'X-H': 'h' }, body: 'payload' });
  assert.is(r1.status, 200);
  assert.is(r1.headers['x-url'], '/a?q=1');
  const parts: string[] = [];
  for await (const chunk of r1.bodyReader()) parts.push(chunk.toString());
  assert.is(parts.join(''), 'one,two,three:payload');
  assert.ok(parts.length >= 2, 'the body came in pieces, as read');
  assert.is(up.last!.headers['x-h'], 'h');
  assert.is(c.setKeepalive(10000, 10), true, 'kept');

  c.connect('127.0.0.1', up.port);
  const r2 = await c.request({ path: '/b' });
  assert.is((await r2.readBody()).toString(), 'one,two,three:');
  assert.is(up.conns, 1, 'the second request went over the kept connection');
  const r3 = await c.request({ path: '/c' }); // no setKeepalive() in between: the same connection
  assert.is((await r3.readBody()).toString(), 'one,two,three:');
  assert.is(up.conns, 1, 'request() after request() goes over the connection it holds');
  c.close();
  assert.ok(await until(() => up.sockets.size === 0), 'close() closed it');
  assert.is(clientPoolIdle(`127.0.0.1:${up.port}`), 0);
}));

test('streaming: setKeepalive() or close() before the body is read closes the connection', timed(30000, async () => {
  // each body ends only when the test says so: "before the body is read" holds however slow the machine
  const ends: (() => void)[] = [];
  const up = keep(await httpUpstream((_seen, res) => { res.write('start'); ends.push(() => res.end('end')); }));
  const c = new HttpClient();
  c.connect('127.0.0.1', up.port);
  await c.request({ path: '/unread' });
  assert.is(c.setKeepalive(), false, 'not kept: the response was not read to the end');
  assert.ok(await until(() => up.sockets.size === 0), 'and the connection is closed, not left behind');
  c.connect('127.0.0.1', up.port);
  await c.request({ path: '/unread2' });
  c.close();
  assert.ok(await until(() => up.sockets.size === 0), 'close() in the middle of a body closes it');
  c.connect('127.0.0.1', up.port);
  const r3 = await c.request({ path: '/read' });
  for (const end of ends.splice(0)) end();
  assert.is((await r3.readBody()).toString(), 'startend', 'the client works on after that');
  c.close();
}));

test('streaming: many kept requests on one connection do not pile up listeners', timed(30000, async () => {
  const up = keep(await httpUpstream((_seen, res) => res.end('x')));
  const warnings: string[] = [];
  const onWarn = (w: Error) => warnings.push(w.name + ': ' + w.message);
  process.on('warning', onWarn);
  try {
    const c = new HttpClient();
    for (let i = 0; i < 30; i++) {
      c.connect('127.0.0.1', up.port);
      const r = await c.request({ path: '/' + i });
      assert.is((await r.readBody()).toString(), 'x');
      assert.ok(c.setKeepalive(), `kept ${i}`);
    }
    assert.is(up.conns, 1);
    await sleep(10);
    assert.equal(warnings.filter((w) => w.includes('MaxListeners')), [], 'no listener leak');
  } finally {
    process.off('warning', onWarn);
  }
}));

test('HttpClient inside a handler: requestUri and streaming from a content handler', timed(30000, async () => {
  const up = keep(await echoUpstream());
  const s = await listen({
    '/': {
      content: async (r: Request) => {
        const c = new HttpClient();
        const res = await c.requestUri(url(up.port, '/inner'), { query: { from: r.uri } });
        c.connect('127.0.0.1', up.port);
        const st = await c.request({ path: '/streamed' });
        const body = await st.readBody();
        c.setKeepalive();
        r.header['Content-Type'] = 'application/json';
        r.print(JSON.stringify({ a: seenOf(res.body).url, b: seenOf(body).url }));
      },
    },
  });
  keep({ close: () => s.close(100) });
  const res = await raw(s.port, get('/outer'), { responses: 1 });
  assert.equal(JSON.parse(res.responses[0].body.toString()), { a: '/inner?from=%2Fouter', b: '/streamed' });
}));

test('bodyReader(): a 1 GiB body read slowly, in bounded memory', timed(120000, async () => {
  const SIZE = 1024 * 1024 * 1024;
  const up = keep(await bigUpstream(SIZE));
  const c = new HttpClient();
  c.connect('127.0.0.1', up.port);
  const res = await c.request({ path: '/big' });
  assert.is(res.headers['content-length'], String(SIZE));
  const base = process.memoryUsage().rss;
  let max = base;
  const sampler = setInterval(() => { max = Math.max(max, process.memoryUsage().rss); }, 20);
  let n = 0;
  let sincePause = 0;
  try {
    for await (const chunk of res.bodyReader()) {
      n += chunk.length;
      sincePause += chunk.length;
      if (sincePause >= 64 * 1024 * 1024) { sincePause = 0; await sleep(100); } // a slow reader
    }
  } finally {
    clearInterval(sampler);
  }
  max = Math.max(max, process.memoryUsage().rss);
  c.close();
  assert.is(n, SIZE, 'every byte, exactly');
  const growth = (max - base) / 1048576;
  assert.ok(growth < 128, `RSS grew by ${growth.toFixed(1)} MiB (< 128 MiB)`);
}));

// ------------------------------------------------------------------ what reaches the wire

test('request heads: a bad method, path, header name or value is EINVAL before anything is sent', timed(30000, async () => {
  const heads: string[] = [];
  const up = keep(await scriptedUpstream((_t, head, sock) => { heads.push(head); sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'); }));
  const bad: [Parameters<HttpClient['requestUri']>[1] & { path?: string }, RegExp][] = [
    [{ headers: { 'X Bad': 'v' } }, /invalid header name "X Bad"/],
    [{ headers: { 'X-A:': 'v' } }, /invalid header name "X-A:"/],
    [{ headers: { '': 'v' } }, /invalid header name ""/],
    [{ headers: { 'X-A': 'a\r\nX-Injected: 1' } }, /invalid value for header "X-A"/],
    [{ headers: { 'X-A': ['fine', 'b\nX-Injected: 1'] } }, /invalid value for header "X-A"/],
    [{ headers: { 'X-A': 'soh\x01' } }, /invalid value for header "X-A"/],
    [{ headers: { 'X-A': 'del\x7f' } }, /invalid value for header "X-A"/],
    [{ headers: { 'X-A': 'half \uDC00' } }, /invalid value for header "X-A"/],
    [{ headers: { 'X-A': 5 as unknown as string } }, /header "X-A" must be a string/],
    [{ method: 'GE T' }, /invalid method "GE T"/],
    [{ method: 'GET\r\nX-Injected: 1\r\n' }, /invalid method/],
    [{ query: 'a=1 HTTP/1.1\r\nX-Injected: 1' }, /invalid path/],
    [{ query: 'a=\tb' }, /invalid path/],
  ];
  const c = new HttpClient();
  c.connect('127.0.0.1', up.port);
  for (const [o, re] of bad) {
    const what = JSON.stringify(o);
    try {
      await c.requestUri(url(up.port, '/p'), o);
      assert.unreachable(`requestUri accepted ${what}`);
    } catch (e) {
      assert.instance(e, HttpClientError, what);
      assert.is((e as HttpClientError).code, 'EINVAL', what);
      assert.match((e as Error).message, /^requestUri\(\): /, what);
      assert.match((e as Error).message, re, what);
    }
    let p: Promise<unknown> | null = null;
    try {
      p = c.request({ path: '/p', ...o });
    } catch (e) {
      assert.unreachable(`request() threw at once instead of rejecting: ${(e as Error).message}`);
    }
    try {
      await p;
      assert.unreachable(`request accepted ${what}`);
    } catch (e) {
      assert.is((e as HttpClientError).code, 'EINVAL', what);
      assert.match((e as Error).message, /^request\(\): /, what);
      assert.match((e as Error).message, re, what);
    }
  }
  assert.is(up.conns, 0, 'nothing reached the upstream');
  // and the client is still usable
  const ok = await c.request({ path: '/ok' });
  assert.is(ok.status, 200);
  c.close();
}));

test('request heads: text above U+007F in header values and the path goes as UTF-8, never as a low byte', timed(30000, async () => {
  const heads: string[] = [];
  const up = keep(await scriptedUpstream((_t, head, sock) => { heads.push(head); sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'); }));
  const u8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
  const c = new HttpClient();
  // Č is U+010C: as a latin1 low byte it would be 0x0C; Ċ (U+010A) would be LF
  const res = await c.requestUri(url(up.port, '/p'), { query: 'q=č', headers: { 'X-U': 'Čapek Ċ é', 'X-Tab': 'a\tb' } });
  assert.is(res.status, 200);
  const hl = heads[0].split('\r\n');
  assert.is(hl[0], `GET /p?q=${u8('č')} HTTP/1.1`, 'the target as UTF-8');
  assert.ok(hl.includes('X-U: ' + u8('Čapek Ċ é')), JSON.stringify(hl));
  assert.ok(hl.includes('X-Tab: a\tb'), 'HTAB is allowed in a value');
  for (const l of hl) assert.ok(!/[\0-\x08\x0a-\x1f\x7f]/.test(l), `no control byte in ${JSON.stringify(l)}`);
}));

test.run();
