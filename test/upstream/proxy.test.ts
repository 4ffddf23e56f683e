// proxyPass against real upstream servers (some misbehaving on purpose): keepalive, failover and
// failure accounting, balancing, timeouts, truncated bodies, streaming, and the request it sends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { listen, raw, timed, get, sleep, parseResponses, until, RawClient } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { SluiceConfig } from '../../src/http/conf/config.js';
import type { Request } from '../../src/http/request.js';
import {
  bigUpstream, closedPort, echoUpstream, httpUpstream, netUpstream, scriptedUpstream, type Seen,
} from './upstreams.js';

type Locations = Parameters<typeof listen>[0];

/** Everything a test opened, closed after it (pass or fail). */
const open: { close(): unknown }[] = [];
function keep<T extends { close(): unknown }>(x: T): T { open.push(x); return x; }
test.after.each(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

/** sluice with these locations and upstream groups. */
async function sluice(locations: Locations, upstreams: SluiceConfig['upstreams'] = {}): Promise<SluiceServer> {
  const s = await listen(locations, {}, { upstreams } as Partial<SluiceConfig>);
  keep({ close: async () => { await s.close(100); for (const g of s.config.upstreams.values()) g.pool?.clear(); } });
  return s;
}

function poolCount(s: SluiceServer, group: string): number {
  return s.config.upstreams.get(group)!.pool!.count();
}

/** An http upstream handler answering `body`. */
const ok = (body: string) => (_seen: Seen, res: ServerResponse) => res.end(body);

// ------------------------------------------------------------------ keepalive

test('keepalive: 1000 sequential requests use one upstream connection (keepalive 20)', timed(30000, async () => {
  const up = keep(await httpUpstream((seen, res) => res.end('ok ' + seen.url)));
  const s = await sluice({ '/': { proxyPass: 'http://ka' } }, { ka: { servers: [up.addr], keepalive: 20 } });
  const c = keep(await RawClient.open(s.port));
  for (let i = 0; i < 1000; i++) {
    const [res] = await c.exchange(get('/n' + i));
    if (res?.status !== 200 || res.body.toString() !== 'ok /n' + i) assert.unreachable(`request ${i}: ${res?.status} ${res?.body}`);
  }
  assert.is(up.hits, 1000, 'every request reached the upstream');
  assert.ok(up.conns <= 20, `at most 20 upstream connections (${up.conns})`);
  assert.is(up.conns, 1, 'sequential requests: one connection, reused');
  assert.is(poolCount(s, 'ka'), 0, 'keepaliveRequests (default 1000) reached: that connection was closed');
  assert.is(up.last!.headers.connection, undefined, 'no "Connection: close" sent upstream');
}));

test('keepalive: the upstream\'s "Connection: close" is honoured (not reused)', timed(30000, async () => {
  const up = keep(await httpUpstream((_seen, res) => { res.setHeader('Connection', 'close'); res.end('bye'); }));
  const s = await sluice({ '/': { proxyPass: 'http://kc' } }, { kc: { servers: [up.addr], keepalive: 20 } });
  const c = keep(await RawClient.open(s.port));
  for (let i = 0; i < 3; i++) {
    const [res] = await c.exchange(get('/c' + i));
    assert.is(res?.status, 200, `request ${i}`);
    assert.is(res.body.toString(), 'bye');
  }
  assert.is(up.conns, 3, 'a new connection for each request');
  assert.is(poolCount(s, 'kc'), 0, 'nothing kept');
}));

test('keepalive: an idle connection the upstream closes is dropped, the next request gets a new one', timed(30000, async () => {
  const up = keep(await httpUpstream(ok('fine')));
  const s = await sluice({ '/': { proxyPass: 'http://kd' } }, { kd: { servers: [up.addr], keepalive: 20 } });
  const c = keep(await RawClient.open(s.port));
  assert.is((await c.exchange(get('/1')))[0]?.status, 200);
  assert.is(poolCount(s, 'kd'), 1, 'kept');
  for (const sock of up.sockets) sock.destroy(); // the upstream's keepalive timeout, say
  assert.ok(await until(() => poolCount(s, 'kd') === 0), 'the closed idle connection left the pool');
  const [res] = await c.exchange(get('/2'));
  assert.is(res?.status, 200, 'the next request is answered');
  assert.is(res.body.toString(), 'fine');
  assert.is(up.conns, 2, 'on a new connection');
}));

test('keepalive: an idle connection that turns readable (bytes nobody asked for) is dropped', timed(30000, async () => {
  const up = keep(await scriptedUpstream((target, _head, sock) => {
    sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${target.length}\r\n\r\n${target}`);
    if (target === '/noisy') setTimeout(() => { if (!sock.destroyed) sock.write('garbage'); }, 50);
  }));
  const s = await sluice({ '/': { proxyPass: 'http://kn' } }, { kn: { servers: [up.addr], keepalive: 20 } });
  const c = keep(await RawClient.open(s.port));
  assert.is((await c.exchange(get('/noisy')))[0]?.status, 200);
  assert.ok(await until(() => poolCount(s, 'kn') === 0), 'the idle connection that spoke left the pool');
  assert.ok(await until(() => up.sockets.size === 0), 'and was closed');
  const [res] = await c.exchange(get('/quiet'));
  assert.is(res?.status, 200, 'the next request is answered');
  assert.is(res.body.toString(), '/quiet', 'with its own answer, not the stray bytes');
  assert.is(up.conns, 2, 'on a new connection');
  assert.is(poolCount(s, 'kn'), 1, 'which is kept');
}));

test('keepalive: a kept connection that dies as it is reused is replaced transparently (idempotent)', timed(30000, async () => {
  // the race nginx knows: the upstream closes a kept connection just as a request goes out on it
  const up = keep(await scriptedUpstream((target, _head, sock, n) => {
    if (n === 0) sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${target.length}\r\n\r\n${target}`);
    else sock.destroy(); // second request on a connection: closed without a byte
  }));
  const s = await sluice({ '/': { proxyPass: 'http://ke' } }, { ke: { servers: [up.addr], keepalive: 20 } });
  const c = keep(await RawClient.open(s.port));
  for (let i = 0; i < 3; i++) {
    const [res] = await c.exchange(get('/r' + i));
    assert.is(res?.status, 200, `request ${i} answered`);
    assert.is(res.body.toString(), '/r' + i);
  }
  assert.is(up.conns, 3, 'each later request found its kept connection dead and went on over a fresh one');
  const g = s.config.upstreams.get('ke')!;
  assert.is(g.primary[0].fails, 0, 'a stale kept connection is not a failure of the peer');
}));

test('keepalive: keepaliveRequests and keepaliveTimeout close kept connections', timed(30000, async () => {
  const up = keep(await httpUpstream(ok('k')));
  const s = await sluice({ '/r/': { proxyPass: 'http://kr' }, '/t/': { proxyPass: 'http://kt' } }, {
    kr: { servers: [up.addr], keepalive: 4, keepaliveRequests: 3 },
    kt: { servers: [up.addr], keepalive: 4, keepaliveTimeout: '150ms' },
  });
  const c = keep(await RawClient.open(s.port));
  for (let i = 0; i < 9; i++) assert.is((await c.exchange(get('/r/')))[0]?.status, 200);
  assert.is(up.conns, 3, 'three requests per connection');
  assert.is(poolCount(s, 'kr'), 0, 'the last one closed after its third request');
  assert.is((await c.exchange(get('/t/')))[0]?.status, 200);
  assert.is(poolCount(s, 'kt'), 1, 'kept');
  assert.ok(await until(() => poolCount(s, 'kt') === 0), 'closed after keepaliveTimeout idle');
  assert.ok(await until(() => up.sockets.size === 0), 'the upstream saw it close');
}));

// ------------------------------------------------------------------ failover, failure accounting, balancing

test('failover: a server refusing connections is skipped for the next one', timed(30000, async () => {
  const good = keep(await httpUpstream(ok('good')));
  const dead = await closedPort();
  const s = await sluice({ '/': { proxyPass: 'http://fo' } }, { fo: { servers: [`127.0.0.1:${dead}`, good.addr] } });
  for (let i = 0; i < 4; i++) {
    const res = await raw(s.port, get('/x' + i), { responses: 1 });
    assert.is(res.responses[0]?.status, 200, `request ${i}`);
    assert.is(res.responses[0].body.toString(), 'good');
  }
  assert.is(good.hits, 4);
}));

test('failover: a 502 answer goes to the next server with proxyNextUpstream http_502', timed(30000, async () => {
  const bad = keep(await httpUpstream((_s, res) => { res.statusCode = 502; res.end('bad gateway from upstream'); }));
  const bad2 = keep(await httpUpstream((_s, res) => { res.statusCode = 502; res.end('second bad gateway'); }));
  const good = keep(await httpUpstream(ok('good')));
  const s = await sluice({
    '/next/': { proxyPass: 'http://f502', proxyNextUpstream: 'error timeout http_502' },
    '/plain/': { proxyPass: 'http://p502' },
    '/all/': { proxyPass: 'http://a502', proxyNextUpstream: 'error timeout http_502' },
  }, {
    f502: { servers: [{ address: bad.addr, maxFails: 0 }, good.addr] },
    p502: { servers: [bad.addr] },
    a502: { servers: [bad.addr, bad2.addr] },
  });
  for (let i = 0; i < 4; i++) {
    const res = await raw(s.port, get('/next/' + i), { responses: 1 });
    assert.is(res.responses[0]?.status, 200, `request ${i} answered by the good server`);
    assert.is(res.responses[0].body.toString(), 'good');
  }
  assert.ok(bad.hits >= 2, `the 502 server was asked too (${bad.hits})`);
  const before = bad.hits;
  const plain = await raw(s.port, get('/plain/'), { responses: 1 });
  assert.is(plain.responses[0]?.status, 502, 'without http_502 the upstream\'s 502 goes to the client');
  assert.is(plain.responses[0].body.toString(), 'bad gateway from upstream', 'with the upstream\'s body');
  assert.is(bad.hits, before + 1);
  const all = await raw(s.port, get('/all/'), { responses: 1 });
  assert.is(all.responses[0]?.status, 502, 'every server answers 502: the client gets the last 502');
  assert.ok(all.responses[0].complete, 'complete, with its body');
  assert.ok(['bad gateway from upstream', 'second bad gateway'].includes(all.responses[0].body.toString()), all.text);
}));

test('maxFails/failTimeout: a failing server is left alone for failTimeout, then tried again', timed(30000, async () => {
  const FAIL_TIMEOUT = 2000;
  const bad = keep(await netUpstream((sock) => sock.destroy())); // accepts, then hangs up: an error
  const good = keep(await httpUpstream(ok('good')));
  const s = await sluice({ '/': { proxyPass: 'http://mf' } }, {
    mf: { servers: [{ address: bad.addr, maxFails: 2, failTimeout: `${FAIL_TIMEOUT}ms` }, good.addr] },
  });
  const peer = s.config.upstreams.get('mf')!.primary[0];
  const c = keep(await RawClient.open(s.port)); // quick rounds: well inside failTimeout
  const round = async (n: number) => {
    for (let i = 0; i < n; i++) assert.is((await c.exchange(get('/m' + i)))[0]?.status, 200, `request ${i} answered`);
  };
  await round(10);
  assert.is(bad.hits, 2, 'tried until maxFails (2) failures, then not any more');
  await round(10);
  // the window is real time (the peer's clock is Date.now()): say so if the rounds took it all
  assert.ok(Date.now() < peer.checked + FAIL_TIMEOUT, 'the rounds ran inside failTimeout');
  assert.is(bad.hits, 2, 'still left alone within failTimeout');
  await sleep(peer.checked + FAIL_TIMEOUT + 50 - Date.now());
  await round(4);
  assert.is(bad.hits, 3, 'after failTimeout it gets one more try (which fails: out again)');
  assert.is(good.hits, 24, 'every request ended at the good server');
}));

test('backup: used only when all primaries are down', timed(30000, async () => {
  const primary = keep(await httpUpstream(ok('primary')));
  const backup1 = keep(await httpUpstream(ok('backup1')));
  const backup2 = keep(await httpUpstream(ok('backup2')));
  const backup3 = keep(await httpUpstream(ok('backup3')));
  const dead = await closedPort();
  const s = await sluice({
    '/up/': { proxyPass: 'http://b1' },
    '/dead/': { proxyPass: 'http://b2' },
    '/down/': { proxyPass: 'http://b3' },
  }, {
    b1: { servers: [primary.addr, { address: backup1.addr, backup: true }] },
    b2: { servers: [`127.0.0.1:${dead}`, { address: backup2.addr, backup: true }] },
    b3: { servers: [{ address: primary.addr, down: true }, { address: backup3.addr, backup: true }] },
  });
  for (let i = 0; i < 6; i++) assert.is((await raw(s.port, get('/up/'), { responses: 1 })).responses[0]?.body.toString(), 'primary');
  assert.is(backup1.hits, 0, 'a live primary: the backup is never asked');
  for (let i = 0; i < 3; i++) assert.is((await raw(s.port, get('/dead/'), { responses: 1 })).responses[0]?.body.toString(), 'backup2');
  assert.is(backup2.hits, 3, 'primary refuses connections: the backup answers');
  for (let i = 0; i < 3; i++) assert.is((await raw(s.port, get('/down/'), { responses: 1 })).responses[0]?.body.toString(), 'backup3');
  assert.is(primary.hits, 6, 'a primary marked down is not asked');
}));

test('weighted round-robin: weights 3:1 over 40 requests give 30/10', timed(30000, async () => {
  const a = keep(await httpUpstream(ok('a')));
  const b = keep(await httpUpstream(ok('b')));
  const s = await sluice({ '/': { proxyPass: 'http://w' } }, { w: { servers: [{ address: a.addr, weight: 3 }, { address: b.addr, weight: 1 }], keepalive: 4 } });
  const c = keep(await RawClient.open(s.port));
  const seq: string[] = [];
  for (let i = 0; i < 40; i++) seq.push((await c.exchange(get('/')))[0].body.toString());
  assert.is(a.hits, 30, 'weight 3');
  assert.is(b.hits, 10, 'weight 1');
  assert.is(seq.slice(0, 8).join(''), 'aaba' + 'aaba', 'smooth: spread out, not in runs');
}));

test('hash balancing: the same key always goes to the same server', timed(30000, async () => {
  const a = keep(await httpUpstream(ok('a')));
  const b = keep(await httpUpstream(ok('b')));
  const c3 = keep(await httpUpstream(ok('c')));
  const s = await sluice({ '/': { proxyPass: 'http://hs' } }, { hs: { servers: [a.addr, b.addr, c3.addr], balance: { hash: '$arg_k' }, keepalive: 4 } });
  const c = keep(await RawClient.open(s.port));
  const where = new Map<string, Set<string>>();
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < 12; k++) {
      const body = (await c.exchange(get('/?k=key' + k)))[0].body.toString();
      if (!where.has('key' + k)) where.set('key' + k, new Set());
      where.get('key' + k)!.add(body);
    }
  }
  for (const [k, set] of where) assert.is(set.size, 1, `${k} always on one server`);
  assert.ok(new Set([...where.values()].map((x) => [...x][0])).size > 1, 'keys spread over the servers');
}));

// ------------------------------------------------------------------ 502 and 504

test('502 when no upstream answers (every port closed)', timed(30000, async () => {
  const d1 = await closedPort();
  const d2 = await closedPort();
  const s = await sluice({
    '/group/': { proxyPass: 'http://none' },
    '/implicit/': { proxyPass: `http://127.0.0.1:${d1}` },
  }, { none: { servers: [`127.0.0.1:${d1}`, `127.0.0.1:${d2}`] } });
  const a = await raw(s.port, get('/group/'), { responses: 1 });
  assert.is(a.responses[0]?.status, 502, 'group');
  assert.match(a.responses[0].body.toString(), /502 Bad Gateway/);
  const b = await raw(s.port, get('/implicit/'), { responses: 1 });
  assert.is(b.responses[0]?.status, 502, 'implicit upstream');
  const again = await raw(s.port, get('/group/'), { responses: 1 });
  assert.is(again.responses[0]?.status, 502, 'and again with both marked failed (no live upstreams)');
}));

test('504 on read timeout (the upstream accepts and never answers)', timed(30000, async () => {
  const mute = keep(await netUpstream((sock) => sock.resume())) // reads, never answers;
  const s = await sluice({ '/': { proxyPass: 'http://mute', proxyReadTimeout: '300ms' } }, { mute: { servers: [mute.addr] } });
  const t0 = Date.now();
  const res = await raw(s.port, get('/'), { responses: 1 });
  assert.is(res.responses[0]?.status, 504);
  assert.ok(Date.now() - t0 >= 250, 'after the read timeout, not before');
  assert.is(mute.hits, 1);
}));

// ------------------------------------------------------------------ truncated bodies

/** Misbehaving answers, picked by the request path. */
function misbehave(target: string, sock: Socket): void {
  const path = target.replace(/^\/u/, '');
  switch (path) {
    case '/short': // Content-Length 1024, 11 bytes, close
      sock.end('HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\nhello world');
      return;
    case '/stall': // 10 of 100 bytes, then silence
      sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
      return;
    case '/chunked-cut': // chunked, no last chunk, close
      sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n wor');
      return;
    case '/close-delimited': // HTTP/1.0 style: the close ends the body
      sock.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n' + 'all of it\n'.repeat(100));
      return;
    case '/big-cut': // 50000 of 100000 bytes, close
      sock.end('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(50000));
      return;
    case '/big-chunked-cut': // 50000 bytes in chunks, no last chunk, close
      sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + ('1000\r\n' + 'y'.repeat(4096) + '\r\n').repeat(12) + '10\r\nyyyy');
      return;
    case '/chunked-ok': { // chunked, in pieces with pauses, ended properly
      sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Up: chunked\r\n\r\n');
      const pieces = ['5\r\nhello\r\n', '1\r\n \r\n', '7\r\nchunke', 'd\r\n', '1\r\n!\r\n0\r\n\r\n'];
      let i = 0;
      const t = setInterval(() => { if (sock.destroyed) { clearInterval(t); return; } sock.write(pieces[i++]); if (i === pieces.length) clearInterval(t); }, 20);
      return;
    }
  }
  sock.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
}

async function misbehavingProxy(): Promise<SluiceServer> {
  const up = keep(await scriptedUpstream((target, _h, sock) => misbehave(target, sock)));
  return sluice({
    '/u/': { proxyPass: 'http://mis', proxyReadTimeout: '300ms' },
    '= /cap': {
      content: async (r: Request) => {
        const res = await r.location.capture('/u' + r.var.arg_p);
        r.header['Content-Type'] = 'application/json';
        r.print(JSON.stringify({ status: res.status, truncated: res.truncated, body: res.body.toString(), header: res.header }));
      },
    },
  }, { mis: { servers: [up.addr] } });
}

async function capture(s: SluiceServer, p: string): Promise<{ status: number; truncated: boolean; body: string; header: Record<string, string> }> {
  const res = await raw(s.port, get('/cap?p=' + p), { responses: 1 });
  assert.is(res.responses[0]?.status, 200, `capture of ${p}: ${res.text}`);
  return JSON.parse(res.responses[0].body.toString());
}

test('truncated captures: short Content-Length body, read timeout mid-body, cut chunked body', timed(30000, async () => {
  const s = await misbehavingProxy();
  const short = await capture(s, '/short');
  assert.is(short.status, 200);
  assert.is(short.truncated, true, 'Content-Length 1024, 11 bytes, close: truncated');
  assert.is(short.body, 'hello world', 'what did arrive is there');
  const stall = await capture(s, '/stall');
  assert.is(stall.truncated, true, 'read timeout in the middle of the body: truncated');
  assert.is(stall.body, '0123456789');
  const cut = await capture(s, '/chunked-cut');
  assert.is(cut.truncated, true, 'chunked body without its last chunk: truncated');
  assert.ok(cut.body.startsWith('hello'), cut.body);
}));

test('close-delimited body (HTTP/1.0 style): complete, not truncated', timed(30000, async () => {
  const s = await misbehavingProxy();
  const full = await capture(s, '/close-delimited');
  assert.is(full.truncated, false);
  assert.is(full.body, 'all of it\n'.repeat(100));
  const main = await raw(s.port, get('/u/close-delimited'), { responses: 1 });
  assert.is(main.responses[0]?.status, 200);
  assert.ok(main.responses[0].complete, 'the client gets a complete response (chunked by us)');
  assert.is(main.responses[0].body.toString(), 'all of it\n'.repeat(100));
}));

test('main request: an upstream dying mid-body closes the client connection', timed(30000, async () => {
  const s = await misbehavingProxy();
  const cl = await raw(s.port, get('/u/big-cut'));
  assert.ok(cl.closed, 'the connection was closed');
  assert.is(cl.responses[0]?.headers['content-length'], '100000', 'the header had gone out');
  assert.ok(!cl.responses[0].complete, `without the full body (${cl.responses[0].body.length} bytes)`);
  const ch = await raw(s.port, get('/u/big-chunked-cut'));
  assert.ok(ch.closed, 'the connection was closed');
  assert.is(ch.responses[0]?.headers['transfer-encoding'], 'chunked');
  assert.ok(!ch.responses[0].complete, 'without the last chunk');
  assert.ok(!ch.text.includes('\r\n0\r\n\r\n'), 'no last chunk anywhere');
  // the connection is not kept after such an answer: a second request on it gets nothing
  const c = keep(await RawClient.open(s.port));
  const rs = await c.exchange(get('/u/short'));
  assert.ok(await c.waitClosed(), 'closed');
  assert.ok(rs.every((r) => !r.complete), 'no complete response');
}));

// ------------------------------------------------------------------ chunked, pipelining

test('chunked upstream responses: passed through to a client and captured', timed(30000, async () => {
  const s = await misbehavingProxy();
  const main = await raw(s.port, get('/u/chunked-ok'), { responses: 1 });
  const r0 = main.responses[0];
  assert.is(r0?.status, 200);
  assert.is(r0.headers['transfer-encoding'], 'chunked', 'chunked to the client (length unknown)');
  assert.is(r0.headers['x-up'], 'chunked', 'upstream headers passed');
  assert.ok(r0.complete, 'ends with the last chunk');
  assert.is(r0.body.toString(), 'hello chunked!');
  const cap = await capture(s, '/chunked-ok');
  assert.is(cap.truncated, false);
  assert.is(cap.body, 'hello chunked!');
  assert.is(cap.header['X-Up'] ?? cap.header['x-up'], 'chunked');
}));

test('pipelined client requests through the proxy are answered in order', timed(30000, async () => {
  const up = keep(await httpUpstream((seen, res) => {
    const delay = seen.url.includes('slow') ? 150 : seen.url.includes('mid') ? 60 : 0;
    setTimeout(() => res.end('answer ' + seen.url), delay);
  }));
  const s = await sluice({ '/': { proxyPass: 'http://pl' } }, { pl: { servers: [up.addr], keepalive: 8 } });
  const c = keep(await RawClient.open(s.port));
  const rs = await c.exchange(get('/slow') + get('/mid') + get('/fast') + get('/slow2'), 4);
  assert.equal(rs.map((r) => r.body.toString()), ['answer /slow', 'answer /mid', 'answer /fast', 'answer /slow2']);
  assert.ok(rs.every((r) => r.status === 200 && r.complete));
}));

// ------------------------------------------------------------------ streaming big bodies

test('a 1 GiB upstream body streamed to a slow client in bounded memory', timed(120000, async () => {
  const SIZE = 1024 * 1024 * 1024;
  const up = keep(await bigUpstream(SIZE));
  const s = await sluice({ '/': { proxyPass: 'http://big' } }, { big: { servers: [up.addr] } });
  const base = process.memoryUsage().rss;
  let max = base;
  const sampler = setInterval(() => { max = Math.max(max, process.memoryUsage().rss); }, 20);
  const sock = connect(s.port, '127.0.0.1');
  keep({ close: () => sock.destroy() });
  let head: string | null = null;
  let pre = Buffer.alloc(0);
  let body = 0;
  let sincePause = 0;
  const got = await new Promise<number>((resolve, reject) => {
    sock.on('connect', () => sock.write(get('/big')));
    sock.on('error', reject);
    sock.on('close', () => resolve(body));
    sock.on('data', (d: Buffer) => {
      if (head === null) {
        pre = Buffer.concat([pre, d]);
        const e = pre.indexOf('\r\n\r\n');
        if (e < 0) return;
        head = pre.toString('latin1', 0, e);
        d = pre.subarray(e + 4);
      }
      body += d.length;
      sincePause += d.length;
      if (sincePause >= 64 * 1024 * 1024) { sincePause = 0; sock.pause(); setTimeout(() => sock.resume(), 100); } // a slow client
      if (body >= SIZE) { sock.destroy(); resolve(body); }
    });
  });
  clearInterval(sampler);
  max = Math.max(max, process.memoryUsage().rss);
  assert.match(head ?? '', new RegExp(`Content-Length: ${SIZE}`, 'i'));
  assert.is(got, SIZE, 'every byte, exactly');
  const growth = (max - base) / 1048576;
  assert.ok(growth < 128, `RSS grew by ${growth.toFixed(1)} MiB (< 128 MiB): the upstream is read only as fast as the client takes it`);
}));

test('a client that goes away mid-body: the upstream connection is closed', timed(30000, async () => {
  const up = keep(await netUpstream((sock) => {
    // an endless body, a piece every few ms: only closing ends it
    sock.once('data', () => {
      sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n');
      const piece = Buffer.alloc(32 * 1024, 'd');
      const t = setInterval(() => { if (sock.destroyed) clearInterval(t); else sock.write(piece); }, 2);
      sock.on('close', () => clearInterval(t));
    });
  }));
  const mute = keep(await netUpstream((sock) => sock.resume())) // reads, never answers;
  const s = await sluice({
    '/big/': { proxyPass: 'http://gone' },
    '/mute/': { proxyPass: 'http://mute' },
  }, { gone: { servers: [up.addr] }, mute: { servers: [mute.addr] } });
  const c = keep(await RawClient.open(s.port));
  c.socket.write(get('/big/'));
  assert.ok(await until(() => c.pending().length > 100000), 'the body is flowing');
  c.socket.pause();
  c.close();
  assert.ok(await until(() => up.sockets.size === 0), 'the upstream connection was closed with the client\'s');
  const c2 = keep(await RawClient.open(s.port));
  c2.socket.write(get('/mute/'));
  assert.ok(await until(() => mute.sockets.size === 1), 'waiting for the upstream\'s answer');
  c2.socket.resetAndDestroy();
  assert.ok(await until(() => mute.sockets.size === 0), 'the client reset the connection while we waited for the head: closed too');
}));

test('captureStream of a proxied body: a slow reader holds the upstream back', timed(90000, async () => {
  const SIZE = 64 * 1024 * 1024;
  const up = keep(await bigUpstream(SIZE));
  let lead = 0;
  const s = await sluice({
    '/big/': { internal: true, proxyPass: 'http://cs' },
    '= /stream': {
      content: async (r: Request) => {
        const st = await r.location.captureStream('/big/');
        const upSock = [...up.sockets][0];
        let n = 0;
        let since = 0;
        for await (const chunk of st.body) {
          n += chunk.length;
          since += chunk.length;
          lead = Math.max(lead, upSock.bytesWritten - n);
          if (since >= 8 * 1024 * 1024) { since = 0; await sleep(50); }
        }
        r.print(JSON.stringify({ n, truncated: st.truncated }));
      },
    },
  }, { cs: { servers: [up.addr] } });
  const res = await raw(s.port, get('/stream'), { responses: 1, deadlineMs: 60000 });
  assert.equal(JSON.parse(res.responses[0].body.toString()), { n: SIZE, truncated: false });
  assert.ok(lead < 24 * 1024 * 1024, `the upstream was at most ${(lead / 1048576).toFixed(1)} MiB ahead of the reader (socket buffers), not the whole body`);
}));

// ------------------------------------------------------------------ what goes upstream

test('URI: no URI part passes the request URI as sent; a URI part replaces the location prefix', timed(30000, async () => {
  const up = keep(await echoUpstream());
  const s = await sluice({
    '/': { proxyPass: 'http://echo' },
    '/old/': { proxyPass: 'http://echo/new/' },
    '= /cap': { content: async (r: Request) => { const res = await r.location.capture('/old/sub/x', { args: 'q=1' }); r.print(res.body); } },
  }, { echo: { servers: [up.addr], keepalive: 4 } });
  const c = keep(await RawClient.open(s.port));
  const seen = async (path: string): Promise<Seen> => JSON.parse((await c.exchange(get(path)))[0].body.toString());
  assert.is((await seen('/orig/a%2Fb/./c//d?x=1&y=%20z')).url, '/orig/a%2Fb/./c//d?x=1&y=%20z', 'unchanged');
  assert.is((await seen('/old/a?b=1')).url, '/new/a?b=1', '/old/ -> /new/');
  assert.is((await seen('/old/')).url, '/new/', 'the prefix itself');
  assert.is((await seen('/old/x%20y?')).url, '/new/x%20y', 'the normalised uri, escaped again');
  assert.is((await seen('/cap')).url, '/new/sub/x?q=1', 'a subrequest: its uri and args');
}));

test('proxyRedirect: default, off, and [from, to] pairs rewrite Location and Refresh', timed(30000, async () => {
  // the upstream redirects to wherever ?to= says, and sends a Refresh with the same URL
  const up = keep(await httpUpstream((seen, res) => {
    const to = new URL(seen.url, 'http://x').searchParams.get('to')!;
    res.writeHead(302, { Location: to, Refresh: `3; url=${to}` });
    res.end();
  }));
  const base = `http://127.0.0.1:${up.port}`;
  const s = await sluice({
    // (absoluteRedirect off: the Location as proxyRedirect leaves it, not made absolute)
    '/one/': { proxyPass: `${base}/two/`, absoluteRedirect: false },
    '/plain/': { proxyPass: base, absoluteRedirect: false },
    '/off/': { proxyPass: `${base}/two/`, proxyRedirect: 'off', absoluteRedirect: false },
    '/pairs/': { proxyPass: `${base}/two/`, proxyRedirect: [['http://inside.example/', 'http://$host/outside/'], [`${base}/`, '/x/']], absoluteRedirect: false },
    '= /cap': { content: async (r: Request) => { const res = await r.location.capture('/one/a', { args: { to: `${base}/two/b` } }); r.print(res.header.Location as string); } },
  });
  const c = keep(await RawClient.open(s.port));
  const loc = async (path: string, to: string) => {
    const [res] = await c.exchange(get(`${path}?to=${encodeURIComponent(to)}`));
    return [res.headers['location'], res.headers['refresh']];
  };
  assert.equal(await loc('/one/a', `${base}/two/page?q=1`), ['/one/page?q=1', '3; url=/one/page?q=1'], 'default: proxyPass URL -> location prefix');
  assert.equal(await loc('/one/a', `${base}/elsewhere`), [`${base}/elsewhere`, `3; url=${base}/elsewhere`], 'no match: unchanged');
  assert.equal(await loc('/one/a', '/two/rel'), ['/two/rel', '3; url=/two/rel'], 'a relative Location is left alone');
  assert.equal(await loc('/plain/a', `${base}/b/c`), ['/b/c', '3; url=/b/c'], 'default without a URI part: URL + "/" -> "/"');
  assert.equal(await loc('/off/a', `${base}/two/p`), [`${base}/two/p`, `3; url=${base}/two/p`], 'off');
  assert.equal((await loc('/pairs/a', 'http://inside.example/p'))[0], 'http://localhost/outside/p', 'a pair, $variables in the replacement');
  assert.equal((await loc('/pairs/a', `${base}/two/p`))[0], '/x/two/p', 'the first pair that matches');
  const [cap] = await c.exchange(get('/cap'));
  assert.is(cap.body.toString(), '/one/b', 'a capture sees the rewritten Location too (relative: no header filter made it absolute)');
}));

test('proxyRedirect: a bad value is a clear config error', async () => {
  for (const bad of [['x'], 'on', [['', '/']], 42]) {
    try {
      await sluice({ '/': { proxyPass: 'http://127.0.0.1:1', proxyRedirect: bad as never } });
      assert.unreachable(`accepted ${JSON.stringify(bad)}`);
    } catch (e) {
      assert.match(String((e as Error).message), /proxyRedirect/, JSON.stringify(bad));
    }
  }
});

test('headers: Host is the upstream name, proxySetHeader overrides and \'\' removes, hop-by-hop dropped', timed(30000, async () => {
  const up = keep(await echoUpstream());
  const s = await sluice({
    '/': { proxyPass: 'http://echo' },
    '/set/': { proxyPass: 'http://echo', proxySetHeader: { Host: 'override.example', 'User-Agent': '', 'X-Added': 'v-$proxy_host' } },
    '/xff/': { proxyPass: 'http://echo', proxySetHeader: { 'X-Forwarded-For': '$proxy_add_x_forwarded_for' } },
    '/nokeep/': { proxyPass: `http://127.0.0.1:${up.port}` },
  }, { echo: { servers: [up.addr], keepalive: 4 } });
  const c = keep(await RawClient.open(s.port));
  const hop = 'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: foo/1\r\nProxy-Connection: keep-alive\r\n';
  const seen = async (path: string, extra = ''): Promise<Seen> => JSON.parse((await c.exchange(get(path, extra)))[0].body.toString());

  const d = await seen('/', 'User-Agent: ua/1\r\nX-Keep: yes\r\n' + hop);
  assert.is(d.headers.host, 'echo', 'Host: the upstream group\'s name');
  assert.is(d.headers['user-agent'], 'ua/1', 'client headers passed');
  assert.is(d.headers['x-keep'], 'yes');
  for (const h of ['keep-alive', 'te', 'upgrade', 'proxy-connection', 'connection']) {
    assert.is(d.headers[h], undefined, `${h} not forwarded`);
  }
  assert.is(d.headers['x-forwarded-for'], undefined, 'no X-Forwarded-For unless configured');
  assert.is(d.raw.filter(([k]) => k.toLowerCase() === 'host').length, 1, 'one Host');

  const o = await seen('/set/', 'User-Agent: ua/1\r\n');
  assert.is(o.headers.host, 'override.example', 'proxySetHeader Host');
  assert.is(o.headers['user-agent'], undefined, '\'\' removes the header');
  assert.is(o.headers['x-added'], 'v-echo', 'values expand variables');

  assert.is((await seen('/xff/')).headers['x-forwarded-for'], '127.0.0.1', '$proxy_add_x_forwarded_for');
  assert.is((await seen('/xff/', 'X-Forwarded-For: 10.0.0.1\r\n')).headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1', 'appended');

  const n = await seen('/nokeep/');
  assert.is(n.headers.connection, 'close', 'no keepalive cache: "Connection: close" upstream');
  assert.is(n.headers.host, `127.0.0.1:${up.port}`, 'implicit upstream: Host is host:port');
}));

test('request bodies: Content-Length bodies forwarded whole, chunked ones streamed as they come', timed(30000, async () => {
  let firstChunk: (() => void) | null = null;
  const got = new Promise<void>((r) => { firstChunk = r; });
  const streamSeen: { te?: string; cl?: string; body?: string } = {};
  const up = createHttpServer((req, res) => {
    const parts: Buffer[] = [];
    streamSeen.te = req.headers['transfer-encoding'];
    streamSeen.cl = req.headers['content-length'];
    req.on('data', (d: Buffer) => { parts.push(d); firstChunk?.(); firstChunk = null; });
    req.on('end', () => { streamSeen.body = Buffer.concat(parts).toString(); res.end(JSON.stringify(streamSeen)); });
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
  keep({ close: () => new Promise<void>((r) => { up.closeAllConnections(); up.close(() => r()); }) });
  const port = (up.address() as { port: number }).port;
  const s = await sluice({ '/': { proxyPass: 'http://b' } }, { b: { servers: [`127.0.0.1:${port}`] } });

  const whole = await raw(s.port, 'POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello body', { responses: 1 });
  const w = JSON.parse(whole.responses[0].body.toString());
  assert.is(w.cl, '10', 'Content-Length passed');
  assert.is(w.te, undefined);
  assert.is(w.body, 'hello body');

  // a slow chunked body: the rest is sent only once the upstream has the first piece
  const sock: Socket = connect(s.port, '127.0.0.1');
  keep({ close: () => sock.destroy() });
  const reply: Buffer[] = [];
  sock.on('data', (d: Buffer) => reply.push(d));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write('POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst,\r\n');
  await got; // streamed: the upstream reads the body while the client is still sending it
  await sleep(50);
  sock.write('7\r\nsecond,\r\n');
  await sleep(50);
  sock.write('5\r\nthird\r\n0\r\n\r\n');
  assert.ok(await until(() => Buffer.concat(reply).includes('third')), 'answered');
  const st = JSON.parse(parseResponses(Buffer.concat(reply))[0].body.toString());
  assert.is(st.te, 'chunked', 'a body of unknown length goes upstream chunked');
  assert.is(st.body, 'first,second,third');
}));

test('HEAD, 204 and 304 through the proxy: no body, the connection goes on', timed(30000, async () => {
  const up = keep(await httpUpstream((seen, res) => {
    if (seen.url === '/204') { res.statusCode = 204; res.end(); return; }
    if (seen.url === '/304') { res.statusCode = 304; res.setHeader('ETag', '"e"'); res.end(); return; }
    res.setHeader('Content-Type', 'text/plain');
    res.setHeader('Content-Length', '5'); // node sends none for HEAD on its own
    res.end('hello');
  }));
  const s = await sluice({ '/': { proxyPass: 'http://h' } }, { h: { servers: [up.addr], keepalive: 4 } });
  const c = keep(await RawClient.open(s.port));
  const rs = await c.exchange('HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n' + get('/204') + get('/304') + get('/h'), 4, [0]);
  assert.is(rs.length, 4, `four responses: ${rs.map((r) => r.status)}`);
  assert.is(rs[0].status, 200, 'HEAD');
  assert.is(rs[0].headers['content-length'], '5', 'HEAD: the length of the body it would have');
  assert.is(rs[1].status, 204);
  assert.is(rs[1].headers['transfer-encoding'], undefined, '204: no chunked framing');
  assert.is(rs[1].headers['content-length'], undefined, '204: no Content-Length');
  assert.is(rs[2].status, 304);
  assert.is(rs[2].headers.etag, '"e"');
  assert.is(rs[2].headers['transfer-encoding'], undefined, '304: no chunked framing');
  assert.is(rs[3].status, 200);
  assert.is(rs[3].body.toString(), 'hello', 'the connection went on in step');
  assert.is(up.last!.method, 'GET');
}));

test('1xx from the upstream (100 Continue, 103 Early Hints) are skipped', timed(30000, async () => {
  const up = keep(await scriptedUpstream((_t, _h, sock) => {
    sock.write('HTTP/1.1 100 Continue\r\n\r\n');
    sock.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
    setTimeout(() => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Final: 1\r\n\r\nfinal'), 20);
  }));
  const s = await sluice({ '/': { proxyPass: 'http://one' } }, { one: { servers: [up.addr], keepalive: 2 } });
  const res = await raw(s.port, get('/'), { responses: 1 });
  assert.is(res.responses.length, 1, res.text);
  assert.is(res.responses[0].status, 200);
  assert.is(res.responses[0].headers['x-final'], '1');
  assert.is(res.responses[0].headers.link, undefined, 'the interim response\'s headers are not mixed in');
  assert.is(res.responses[0].body.toString(), 'final');
}));

test.run();
