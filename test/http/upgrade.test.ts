// r.upgrade(): the request's checks (400 otherwise), the 101 with the handler's headers and no
// body, the raw duplex (early bytes first), the request lasting until the stream closes; and the
// example WebSocket echo server (examples/websocket) spoken to directly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { startServer, type SluiceServer } from '../../src/index.js';
import type { SluiceConfig } from '../../src/http/conf/config.js';
import type { Request } from '../../src/http/request.js';
import { echoConfig } from '../../examples/websocket/echo.js';
import { RawClient, errorLines, captureLog, stopCapture, listen, timed, until } from '../helpers.js';
import { WsClient } from '../ws-client.js';
import { maskedFrame } from '../../examples/websocket/frame.js';

const open: { close(): unknown }[] = [];
function keep<T extends { close(): unknown }>(x: T): T { open.push(x); return x; }
test.after.each(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

const UP = (path = '/', extra = '') => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: raw\r\nConnection: keep-alive, Upgrade\r\n${extra}\r\n`;

/** A handler that upgrades and echoes bytes upper-cased; `streams` keeps what it made. */
function rawEcho(streams: Duplex[]) {
  return (r: Request) => {
    const s = r.upgrade({ 'X-Proto': 'shout' });
    streams.push(s);
    s.on('data', (c: Buffer) => s.write(c.toString().toUpperCase()));
  };
}

async function afterHead(c: RawClient, n: number): Promise<{ head: string; after: string }> {
  await until(() => { const p = c.pending(); const e = p.indexOf('\r\n\r\n'); return c.closed || (e >= 0 && p.length - e - 4 >= n); });
  const p = c.pending();
  const e = p.indexOf('\r\n\r\n');
  return { head: p.toString('latin1', 0, e), after: p.toString('latin1', e + 4) };
}

test('r.upgrade(): 101 with the handler\'s headers, no body or framing; early bytes first; later HTTP is just bytes', timed(30000, async () => {
  const streams: Duplex[] = [];
  const s = await listen({ '/': { content: rawEcho(streams) } });
  keep({ close: () => s.close(100) });
  const c = keep(await RawClient.open(s.port));
  c.write(UP('/', '') + 'early;');
  const { head, after } = await afterHead(c, 6);
  assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(head, /\r\nConnection: upgrade(\r\n|$)/);
  assert.match(head, /\r\nUpgrade: raw(\r\n|$)/, 'Upgrade: the protocol asked for, by default');
  assert.match(head, /\r\nX-Proto: shout(\r\n|$)/);
  assert.not.match(head, /content-length|transfer-encoding|content-type/i);
  assert.is(after, 'EARLY;');
  c.write('GET /x HTTP/1.1\r\n\r\n');
  const more = await afterHead(c, 6 + 19);
  assert.is(more.after, 'EARLY;GET /X HTTP/1.1\r\n\r\n', 'not parsed as a request');
  // ending the stream closes the connection
  streams[0].end();
  assert.ok(await c.waitClosed());
}));

test('r.upgrade(): the request ends when the stream closes (access log then, status 101); the client closing ends it', timed(30000, async () => {
  const streams: Duplex[] = [];
  const lines: string[] = [];
  const sink = { write(l: string) { lines.push(l); } };
  const s = await startServer({ errorLog: errorLines, accessLog: sink, servers: [{ listen: '127.0.0.1:0', locations: { '/': { content: rawEcho(streams) } } }] } as unknown as SluiceConfig);
  keep({ close: () => s.close(100) });
  const c = keep(await RawClient.open(s.port));
  c.write(UP('/logged'));
  await afterHead(c, 0);
  c.write('abc');
  await afterHead(c, 3);
  assert.is(lines.length, 0, 'no access log line while the stream is open');
  c.socket.end();
  assert.ok(await c.waitClosed(), 'the client\'s FIN ends the stream, which closes the connection');
  assert.ok(await until(() => lines.length === 1), 'the line is written when the stream has closed');
  assert.match(lines[0], /"GET \/logged HTTP\/1\.1" 101 /);
}));

test('r.upgrade() refuses what is not an upgrade request: 400, logged at info', timed(30000, async () => {
  const s = await startServer({ errorLog: [errorLines, 'info'], servers: [{ listen: '127.0.0.1:0', locations: { '/': { content: rawEcho([]) } } }] } as unknown as SluiceConfig);
  keep({ close: () => s.close(100) });
  const cases: [string, RegExp][] = [
    ['GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n\r\n', /no "Upgrade" header/],
    ['GET / HTTP/1.1\r\nHost: x\r\nUpgrade: raw\r\n\r\n', /"Connection" without "upgrade"/],
    ['GET / HTTP/1.0\r\nHost: x\r\nUpgrade: raw\r\nConnection: upgrade\r\n\r\n', /HTTP\/1\.0/],
    ['POST / HTTP/1.1\r\nHost: x\r\nUpgrade: raw\r\nConnection: upgrade\r\nContent-Length: 0\r\n\r\n', /a POST request/],
    ['GET / HTTP/1.1\r\nHost: x\r\nUpgrade: raw\r\nConnection: upgrade\r\nContent-Length: 2\r\n\r\nhi', /a request body/],
  ];
  for (const [req, why] of cases) {
    captureLog();
    const c = keep(await RawClient.open(s.port));
    const [res] = await c.exchange(req);
    const log = stopCapture().join('');
    assert.is(res?.status, 400, req);
    assert.match(log, why);
  }
}));

test('r.upgrade() misuse throws: twice, after the head, in a subrequest', timed(30000, async () => {
  const errors: string[] = [];
  const s = await listen({
    '/twice': { content: (r: Request) => { const d = r.upgrade(); try { r.upgrade(); } catch (e) { errors.push((e as Error).message); } d.end(); } },
    '/late': { content: async (r: Request) => { r.say('x'); await r.flush(); try { r.upgrade(); } catch (e) { errors.push((e as Error).message); } } },
  });
  keep({ close: () => s.close(100) });
  const a = keep(await RawClient.open(s.port));
  a.write(UP('/twice'));
  assert.ok(await a.waitClosed());
  const b = keep(await RawClient.open(s.port));
  await b.exchange(UP('/late'));
  assert.ok(await until(() => errors.length === 2));
  assert.match(errors[0], /upgraded already/);
  assert.match(errors[1], /headers already sent/);
}));

test('output through r.say() after r.upgrade() is refused; the stream is the only way', timed(30000, async () => {
  let thrown = '';
  const s = await listen({ '/': { content: (r: Request) => { const d = r.upgrade(); try { r.say('no'); } catch (e) { thrown = (e as Error).message; } d.end('yes'); } } });
  keep({ close: () => s.close(100) });
  const c = keep(await RawClient.open(s.port));
  c.write(UP());
  assert.ok(await c.waitClosed());
  const p = c.pending().toString('latin1');
  assert.is(p.slice(p.indexOf('\r\n\r\n') + 4), 'yes', 'exactly the stream\'s bytes after the head');
  assert.match(thrown, /output after the end of the response/);
}));

// ------------------------------------------------------------------ the example

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

async function echo(): Promise<SluiceServer> {
  const s = await startServer({ ...echoConfig(await freePort()), errorLog: errorLines } as SluiceConfig);
  keep({ close: () => s.close(100) });
  return s;
}

test('examples/websocket: handshake, text and binary echo, fragments, ping, close', timed(30000, async () => {
  const s = await echo();
  const c = await WsClient.open(s.port, '/echo');
  keep({ close: () => c.destroy() });
  assert.is(c.status, 101, c.head);
  c.send('héllo');
  let m = await c.next();
  assert.equal([m.op, m.data.toString()], [1, 'héllo']);
  c.send(Buffer.from([0, 1, 2, 255]));
  m = await c.next();
  assert.equal([m.op, [...m.data]], [2, [0, 1, 2, 255]]);
  c.socket.write(Buffer.concat([maskedFrame(1, Buffer.from('frag'), false), maskedFrame(9, Buffer.from('!'), true), maskedFrame(0, Buffer.from('men'), false), maskedFrame(0, Buffer.from('ted'), true)]));
  m = await c.next();
  assert.equal([m.op, m.data.toString()], [10, '!'], 'a ping between fragments is answered at once');
  m = await c.next();
  assert.equal([m.op, m.data.toString()], [1, 'fragmented']);
  const big = Buffer.alloc(200000, 7);
  c.send(big);
  m = await c.next();
  assert.ok(m.data.equals(big), 'a 64-bit length frame');
  c.close(1001);
  m = await c.next();
  assert.is(m.op, 8);
  assert.is(m.data.readUInt16BE(0), 1001, 'the close echoed with its code');
  assert.ok(await c.waitClosed());
}));

test('examples/websocket: a plain GET is 400; a wrong version 426; an unmasked frame closes with 1002', timed(30000, async () => {
  const s = await echo();
  const plain = keep(await RawClient.open(s.port));
  const [res] = await plain.exchange('GET /echo HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.is(res.status, 400);
  const v = keep(await RawClient.open(s.port));
  const [res2] = await v.exchange('GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n');
  assert.is(res2.status, 426);
  assert.is(res2.headers['sec-websocket-version'], '13');
  const c = await WsClient.open(s.port, '/echo');
  keep({ close: () => c.destroy() });
  c.socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // "hi", not masked
  const m = await c.next();
  assert.is(m.op, 8);
  assert.is(m.data.readUInt16BE(0), 1002);
  assert.ok(await c.waitClosed());
}));

test.run();
