// proxyPass with nginx's WebSocket idiom: a 101 joins the two connections into a tunnel
// (ngx_http_upstream_upgrade). The example echo server (examples/websocket) behind proxyPass
// for 1,000 messages and 100 MiB each way with bounded memory; closes from each side; the idle
// timeout on the server's ManualClock; an upstream that refuses (200); the pool never gets the
// connection; a 101 never has a body.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, connect, type Socket } from 'node:net';
import { startServer, type SluiceServer } from '../../src/index.js';
import type { SluiceConfig } from '../../src/http/conf/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { Tunnel, TUNNEL_CLIENT_EOF, TUNNEL_UPSTREAM_EOF } from '../../src/http/upstream/tunnel.js';
import { echoConfig } from '../../examples/websocket/echo.js';
import { RawClient, captureLog, errorLines, get, stopCapture, timed, until } from '../helpers.js';
import { WsClient } from '../ws-client.js';
import { maskedFrame } from '../../examples/websocket/frame.js';
import { netUpstream, type Upstream } from './upstreams.js';

const open: { close(): unknown }[] = [];
function keep<T extends { close(): unknown }>(x: T): T { open.push(x); return x; }
test.after.each(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

/** nginx's idiom, as its docs write it. */
const MAP = { '$http_upgrade $connection_upgrade': { default: 'upgrade', '': 'close' } };
const idiom = (addr: string, extra: Record<string, unknown> = {}) => ({
  proxyPass: `http://${addr}`,
  proxyHttpVersion: '1.1',
  proxySetHeader: { Upgrade: '$http_upgrade', Connection: '$connection_upgrade' },
  ...extra,
});

async function proxy(locations: Record<string, unknown>, o: { upstreams?: SluiceConfig['upstreams']; clock?: ManualClock; info?: boolean } = {}): Promise<SluiceServer> {
  const s = await startServer({ errorLog: o.info ? [errorLines, 'info'] : errorLines, map: MAP, upstreams: o.upstreams ?? {}, servers: [{ listen: '127.0.0.1:0', locations }] } as SluiceConfig,
    o.clock ? { clock: o.clock } : {});
  keep({ close: async () => { await s.close(100); for (const g of s.config.upstreams.values()) g.pool?.clear(); } });
  return s;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/** The example's echo server on its own sluice. */
async function echoServer(): Promise<SluiceServer> {
  const s = await startServer({ ...echoConfig(await freePort()), errorLog: errorLines } as SluiceConfig);
  keep({ close: () => s.close(100) });
  return s;
}

/**
 * A raw upstream: answers the first head with a 101 (its request head kept in `heads`), then
 * echoes every byte; `refuse` in the path: a 200 instead.
 */
async function tunnelUpstream(): Promise<Upstream & { heads: string[]; ends: number }> {
  const heads: string[] = [];
  const u = await netUpstream((s) => {
    let buf = Buffer.alloc(0);
    let up = false;
    s.on('end', () => { (u as unknown as { ends: number }).ends++; });
    s.on('data', (d: Buffer) => {
      if (up) { s.write(d); return; }
      buf = Buffer.concat([buf, d]);
      const e = buf.indexOf('\r\n\r\n');
      if (e < 0) return;
      const head = buf.toString('latin1', 0, e);
      heads.push(head);
      if (head.includes('refuse')) {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Type: text/plain\r\n\r\nrefused');
        buf = buf.subarray(e + 4);
        return;
      }
      up = true;
      s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nContent-Length: 0\r\nX-Up: 1\r\n\r\nready;');
      if (buf.length > e + 4) s.write(buf.subarray(e + 4));
    });
  });
  return Object.assign(u, { heads, ends: 0 });
}

const UPGRADE_GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: echo\r\nConnection: Upgrade\r\n${extra}\r\n`;

/** Read from a raw client until `n` bytes past the head are in (or the close). */
async function tunnelBytes(c: RawClient, n: number): Promise<{ head: string; after: string }> {
  await until(() => { const p = c.pending(); const e = p.indexOf('\r\n\r\n'); return c.closed || (e >= 0 && p.length - e - 4 >= n); });
  const p = c.pending();
  const e = p.indexOf('\r\n\r\n');
  return { head: p.toString('latin1', 0, e), after: p.toString('latin1', e + 4) };
}

// ------------------------------------------------------------------ the handshake

test('101: the upstream gets Upgrade and Connection from proxySetHeader only; the client gets 101 with Upgrade, Connection: upgrade, no body', timed(30000, async () => {
  const up = keep(await tunnelUpstream());
  const s = await proxy({ '/': idiom(up.addr) });
  const c = keep(await RawClient.open(s.port));
  c.write(UPGRADE_GET('/ws') + 'early;');
  const { head, after } = await tunnelBytes(c, 'ready;early;'.length);
  assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(head, /\r\nConnection: upgrade\r\n/i, 'Connection: upgrade');
  assert.match(head, /\r\nUpgrade: echo(\r\n|$)/, "the upstream's Upgrade");
  assert.match(head, /\r\nX-Up: 1(\r\n|$)/, "the upstream's other headers");
  assert.not.match(head, /content-length|transfer-encoding|content-type/i, 'no framing, no type on a 101');
  assert.is(after, 'ready;early;', "the upstream's bytes past its head, then the client's early bytes echoed: nothing else");
  // nginx's order: the proxySetHeader lines, then Host; the client's own Upgrade/Connection never pass as they are
  const lines = up.heads[0].split('\r\n');
  assert.equal(lines.slice(1, 4), ['Upgrade: echo', 'Connection: upgrade', `Host: ${up.addr}`]);
  c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const more = await tunnelBytes(c, 'ready;early;GET / HTTP/1.1\r\nHost: x\r\n\r\n'.length);
  assert.is(more.after, 'ready;early;GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'an HTTP request after the switch is tunnel bytes, not parsed');
  assert.is(up.heads.length, 1);
}));

test('a request without Upgrade: Connection: close upstream (the map), a plain response; a 101 to it is invalid: 502', timed(30000, async () => {
  const up = keep(await netUpstream((sock) => {
    sock.once('data', () => sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n'));
  }));
  const s = await proxy({ '/': idiom(up.addr) });
  captureLog();
  const c = keep(await RawClient.open(s.port));
  const [res] = await c.exchange(get('/'));
  const log = stopCapture().join('');
  assert.is(res.status, 502);
  assert.match(log, /upstream sent "101 Switching Protocols" to a request without "Upgrade"/);
}));

test('an upstream that refuses the upgrade (200) is a normal response, and the client connection stays HTTP', timed(30000, async () => {
  const up = keep(await tunnelUpstream());
  const s = await proxy({ '/': idiom(up.addr) });
  const c = keep(await RawClient.open(s.port));
  const [res] = await c.exchange(UPGRADE_GET('/refuse'));
  assert.is(res.status, 200);
  assert.is(res.body.toString(), 'refused');
  assert.is(res.headers.connection, 'keep-alive', 'kept alive, as nginx does');
  assert.is(res.headers.upgrade, undefined);
  const [again] = await c.exchange(UPGRADE_GET('/refuse/2'));
  assert.is(again.status, 200, 'the next bytes are the next request');
  assert.is(up.heads.length, 2);
}));

test('the upstream connection of a tunnel never goes back to the pool', timed(30000, async () => {
  const up = keep(await tunnelUpstream());
  const s = await proxy({ '/': { ...idiom('ka'), proxySetHeader: { Upgrade: '$http_upgrade', Connection: '$connection_upgrade' } } },
    { upstreams: { ka: { servers: [up.addr], keepalive: 4 } } });
  for (let i = 0; i < 3; i++) {
    const c = await RawClient.open(s.port);
    c.write(UPGRADE_GET('/ws' + i));
    await tunnelBytes(c, 'ready;'.length);
    c.close();
    assert.ok(await until(() => up.sockets.size === 0), `tunnel ${i}: the upstream connection closed with the client`);
  }
  assert.is(up.conns, 3, 'a fresh connection each time');
  assert.is(s.config.upstreams.get('ka')!.pool!.count(), 0, 'nothing pooled');
}));

// ------------------------------------------------------------------ closing

test('the client closing closes the upstream; the upstream closing closes the client', timed(30000, async () => {
  const up = keep(await tunnelUpstream());
  const s = await proxy({ '/': idiom(up.addr) });
  // the client's FIN: the upstream gets its bytes, then a FIN, then the close
  const a = keep(await RawClient.open(s.port));
  a.write(UPGRADE_GET('/a'));
  await tunnelBytes(a, 6);
  a.socket.end('last');
  assert.ok(await until(() => up.ends === 1 && up.sockets.size === 0), 'the upstream saw the end and closed');
  assert.ok(await a.waitClosed(), 'and the client connection closed');
  // the upstream's close: the client gets what was sent first, then the close
  const b = keep(await RawClient.open(s.port));
  b.write(UPGRADE_GET('/b'));
  await tunnelBytes(b, 6);
  for (const sock of up.sockets) sock.end('bye');
  assert.ok(await b.waitClosed(), 'the client connection closed');
  assert.ok(b.pending().toString().endsWith('ready;bye'), 'after the bytes the upstream sent');
}));

test('idle: proxyReadTimeout closes a silent tunnel; bytes either way move it on (ManualClock)', timed(30000, async () => {
  const clock = new ManualClock();
  const up = keep(await tunnelUpstream());
  const s = await proxy({ '/': idiom(up.addr, { proxyReadTimeout: '30s' }) }, { clock, info: true });
  captureLog();
  const c = keep(await RawClient.open(s.port));
  c.write(UPGRADE_GET('/idle'));
  await tunnelBytes(c, 6);
  clock.advance(20000);
  c.write('x');
  await tunnelBytes(c, 7); // echoed: bytes went both ways
  clock.advance(20000);
  assert.not.ok(c.closed, '40 s in, but 20 s since the last bytes: open');
  clock.advance(10001);
  assert.ok(await c.waitClosed(), 'closed 30 s after the last bytes');
  assert.ok(await until(() => up.sockets.size === 0), 'the upstream connection too');
  assert.match(stopCapture().join(''), /upstream timed out \(110: Connection timed out\) while proxying upgraded connection/);
}));

test('Tunnel: a slow side pauses its peer (backpressure both ways), and ends close both', timed(60000, async () => {
  // two socket pairs: client <-> [tunnel] <-> upstream, the outer ends held by the test
  const pair = async (): Promise<[Socket, Socket]> => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const inner = new Promise<Socket>((r) => srv.once('connection', r));
    const outer = connect((srv.address() as { port: number }).port, '127.0.0.1');
    const s = await inner;
    srv.close();
    return [outer, s];
  };
  const [clientOuter, clientInner] = await pair();
  const [upOuter, upInner] = await pair();
  keep({ close: () => { clientOuter.destroy(); upOuter.destroy(); } });
  let done: Tunnel | null = null;
  const t = new Tunnel(clientInner, upInner, [], null, { read: 60000, send: 60000, clientSend: 60000 }, new ManualClock(), (x) => { done = x; });
  // the upstream reads nothing: the client's bytes stop at the tunnel, which stops reading the client
  upOuter.pause();
  const chunk = Buffer.alloc(64 * 1024, 1);
  const tick = () => new Promise<void>((r) => setImmediate(r));
  for (let wrote = 0; !clientInner.isPaused() && wrote < 256 * 1024 * 1024; wrote += chunk.length) {
    clientOuter.write(chunk);
    await tick();
  }
  assert.ok(await until(() => clientInner.isPaused()), 'the client side is paused while the upstream is full');
  assert.ok(upInner.writableLength <= 256 * 1024, `what the tunnel holds for the upstream stays small (${upInner.writableLength} bytes)`);
  upOuter.resume();
  assert.ok(await until(() => !clientInner.isPaused()), 'resumed once the upstream drains');
  // the other way: the client reads nothing
  clientOuter.pause();
  for (let wrote = 0; !upInner.isPaused() && wrote < 256 * 1024 * 1024; wrote += chunk.length) {
    upOuter.write(chunk);
    await tick();
  }
  assert.ok(upInner.isPaused(), 'the upstream side is paused while the client is full');
  assert.ok(clientInner.writableLength <= 256 * 1024, `what the tunnel holds for the client stays small (${clientInner.writableLength} bytes)`);
  clientOuter.resume();
  assert.ok(await until(() => !upInner.isPaused()), 'resumed once the client drains');
  upOuter.end();
  assert.ok(await until(() => done !== null), 'the upstream\'s end closed both');
  assert.ok(t.reason === TUNNEL_UPSTREAM_EOF || t.reason === TUNNEL_CLIENT_EOF);
  assert.ok(clientInner.destroyed && upInner.destroyed);
}));

// ------------------------------------------------------------------ WebSocket through the tunnel

test('WebSocket echo behind proxyPass: 1,000 messages and 100 MiB each way, memory bounded', timed(180000, async () => {
  const echo = await echoServer();
  const s = await proxy({ '/': idiom(`127.0.0.1:${echo.port}`) });
  const c = await WsClient.open(s.port, '/echo');
  keep({ close: () => c.destroy() });
  assert.is(c.status, 101, c.head);
  assert.match(c.head, /\r\nUpgrade: websocket/i);
  const N = 1000;
  const SIZE = Math.ceil(100 * 1024 * 1024 / N); // 100 MiB in all
  const msg = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i++) msg[i] = i * 7;
  global.gc?.();
  const base = process.memoryUsage();
  let peakAb = 0, peakRss = 0;
  const sample = () => {
    const u = process.memoryUsage();
    peakAb = Math.max(peakAb, u.arrayBuffers - base.arrayBuffers);
    peakRss = Math.max(peakRss, u.rss - base.rss);
  };
  // the client sends as fast as its socket takes it (no window of its own: only backpressure
  // through the tunnel and the echo server bounds what is in flight) and reads at the same time
  const sender = (async () => {
    for (let sent = 0; sent < N; sent++) {
      msg.writeUInt32BE(sent, 0);
      if (!c.send(msg)) await new Promise<void>((r) => c.socket.once('drain', () => r()));
    }
  })();
  for (let got = 0; got < N; got++) {
    const m = await c.next(60000);
    if (m.op !== 2 || m.data.length !== SIZE || m.data.readUInt32BE(0) !== got || m.data[SIZE - 1] !== msg[SIZE - 1]) {
      assert.unreachable(`message ${got}: op ${m.op}, ${m.data.length} bytes, #${m.data.readUInt32BE(0)}`);
    }
    if (got % 25 === 0) sample();
  }
  await sender;
  if (process.env.SLUICE_SHOW_MEMORY) console.log(`peak growth: arrayBuffers ${(peakAb / 1048576).toFixed(1)} MiB, rss ${(peakRss / 1048576).toFixed(1)} MiB`);
  c.send('text too', 1);
  const t = await c.next();
  assert.is(t.op, 1);
  assert.is(t.data.toString(), 'text too');
  assert.is(c.received, N * SIZE + 8);
  // 100 MiB each way through the tunnel and the echo server, all in this process: a leak, or a
  // hop without backpressure, would hold a good part of it (the rest is garbage not yet collected)
  assert.ok(peakAb < 64 * 1024 * 1024, `arrayBuffers grew at most ${(peakAb / 1048576).toFixed(1)} MiB`);
  assert.ok(peakRss < 192 * 1024 * 1024, `rss grew at most ${(peakRss / 1048576).toFixed(1)} MiB`);
  c.close(1000);
  const bye = await c.next();
  assert.is(bye.op, 8, 'the echo server answers the close');
  assert.is(bye.data.readUInt16BE(0), 1000);
  assert.ok(await c.waitClosed(), 'and the tunnel closes');
}));

test('WebSocket through the tunnel: early frames in the handshake\'s packet, fragments, ping', timed(30000, async () => {
  const echo = await echoServer();
  const s = await proxy({ '/': idiom(`127.0.0.1:${echo.port}`) });
  const early = Buffer.concat([maskedFrame(1, Buffer.from('hel'), false), maskedFrame(0, Buffer.from('lo'))]);
  const c = await WsClient.open(s.port, '/echo', '', early);
  keep({ close: () => c.destroy() });
  assert.is(c.status, 101);
  const m = await c.next();
  assert.is(m.data.toString(), 'hello', 'a fragmented message sent with the handshake comes back whole');
  c.send(Buffer.from('p'), 9);
  const pong = await c.next();
  assert.is(pong.op, 10, 'ping answered with pong');
  assert.is(pong.data.toString(), 'p');
}));

test.run();
