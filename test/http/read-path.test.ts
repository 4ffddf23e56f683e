// The read path (src/core/read-buffer.ts) and one write per read (src/core/conn.ts): reads land
// in one buffer shared by every connection, so what a request keeps past its read must have been
// copied; each case lets another connection's read overwrite that buffer before the request
// looks at its bytes. The whole suite runs on both paths (test/run.mjs: SLUICE_READ=stream).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { listen, raw, RawClient } from '../helpers.js';
import { readBuffer, selfTest } from '../../src/core/read-buffer.js';
import { directStats, selfTest as writeSelfTest } from '../../src/core/direct-write.js';
import { connect, createServer, type AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { resolveConfig, SluiceServer, type Request } from '../../src/index.js';
import { HttpConnection, type ListenContext } from '../../src/http/connection.js';
import { setHoldOutput } from '../../src/core/conn.js';
import { turn } from '../core/fake-socket.js';

const STREAM = process.env.SLUICE_READ === 'stream';
const WRITE_STREAM = process.env.SLUICE_WRITE === 'stream';

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => { open = r; });
  return { wait, open };
}

test('the start-up self-test finds the shared read buffer on this Node (SLUICE_READ=stream turns it off)', async () => {
  assert.is(await selfTest(), !STREAM);
});

test('a request still running after its read keeps its head, body and pipelined followers', async () => {
  const g = gate();
  const entered = gate();
  const seen: string[] = [];
  const s = await listen({
    '= /slow': {
      content: async (r: Request) => {
        await r.readBody();
        entered.open();
        await g.wait;
        seen.push(r.headersIn.get('x-a') ?? '-', String(r.body()), r.var.http_x_b ?? '-', r.uri, r.args);
        r.say('slow ', r.headersIn.get('x-a') ?? '-');
      },
    },
    '= /fast': { content: (r: Request) => { r.say('fast ', r.headersIn.get('x-a') ?? '-'); } },
  });
  try {
    const port = s.addresses()[0].port;
    const a = await RawClient.open(port);
    a.write('POST /slow?k=v HTTP/1.1\r\nHost: a\r\nX-A: first-value\r\nX-B: bee\r\nContent-Length: 11\r\n\r\nhello world'
      + 'GET /fast HTTP/1.1\r\nHost: a\r\nX-A: second\r\n\r\n'
      + 'GET /fast HTTP/1.1\r\nHost: a\r\nX-A: third\r\n\r\n');
    await entered.wait;
    // another connection's read overwrites the shared buffer meanwhile
    const b = await raw(port, 'GET /fast HTTP/1.1\r\nHost: b\r\nX-A: ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ\r\nConnection: close\r\n\r\n');
    assert.match(b.text, /fast Z+/);
    g.open();
    await a.wait(3);
    const rs = a.take();
    a.close();
    assert.equal(rs.map((x) => x.body.toString()), ['slow first-value\n', 'fast second\n', 'fast third\n']);
    assert.equal(seen, ['first-value', 'hello world', 'bee', '/slow', 'k=v']);
  } finally {
    await s.close();
  }
});

test('a body that comes in two reads, read after another connection used the buffer', async () => {
  const g = gate();
  const s = await listen({
    '= /b': { content: async (r: Request) => { await r.readBody(); await g.wait; r.print(r.body() ?? ''); } },
    '= /x': { return: [200, 'x'] },
  });
  try {
    const port = s.addresses()[0].port;
    const a = await RawClient.open(port);
    a.write('POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    await raw(port, 'GET /x HTTP/1.1\r\nHost: b\r\nX-Fill: ' + 'y'.repeat(300) + '\r\nConnection: close\r\n\r\n');
    a.write('6\r\n world\r\n0\r\n\r\n');
    await raw(port, 'GET /x HTTP/1.1\r\nHost: b\r\nX-Fill: ' + 'q'.repeat(300) + '\r\nConnection: close\r\n\r\n');
    g.open();
    const [res] = await a.exchange('', 1);
    a.close();
    assert.is(res.body.toString(), 'hello world');
  } finally {
    await s.close();
  }
});

test('a capture started in the read sees the headers of its parent after the read', async () => {
  const g = gate();
  const s = await listen({
    '= /main': {
      content: async (r: Request) => {
        const p = r.location.capture('/sub');
        const res = await p;
        r.print(res.body);
      },
    },
    '= /sub': { internal: true, content: async (r: Request) => { await g.wait; r.say('sub ', r.headersIn.get('x-a') ?? '-'); } },
    '= /x': { return: [200, 'x'] },
  });
  try {
    const port = s.addresses()[0].port;
    const a = await RawClient.open(port);
    a.write('GET /main HTTP/1.1\r\nHost: a\r\nX-A: parent-value\r\n\r\n');
    await raw(port, 'GET /x HTTP/1.1\r\nHost: b\r\nX-A: ' + 'W'.repeat(200) + '\r\nConnection: close\r\n\r\n');
    g.open();
    await a.wait(1);
    const [res] = a.take();
    a.close();
    assert.is(res.body.toString(), 'sub parent-value\n');
  } finally {
    await s.close();
  }
});

test('an upstream response read into the shared buffer: its body is kept whole across other reads', async () => {
  // the upstream: sends the head and a first part, the rest once told to
  const sent = gate();
  let rest: (() => void) | null = null;
  const up = createServer((c) => {
    c.once('data', () => {
      c.write('HTTP/1.1 200 OK\r\nContent-Length: 29\r\n\r\nfirst-part;');
      rest = () => c.write('MARKER-second-part');
      sent.open();
    });
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
  const upPort = (up.address() as AddressInfo).port;
  const s = await listen({
    '= /main': { content: async (r: Request) => { const res = await r.location.capture('/up'); r.print(res.body); } },
    '= /up': { internal: true, proxyPass: `http://127.0.0.1:${upPort}` },
    '= /x': { return: [200, 'x'] },
  });
  try {
    const port = s.addresses()[0].port;
    const a = await RawClient.open(port);
    a.write('GET /main HTTP/1.1\r\nHost: a\r\n\r\n');
    await sent.wait;
    // another connection's read overwrites the shared buffer between the two upstream reads
    await raw(port, 'GET /x HTTP/1.1\r\nHost: b\r\nX-Fill: ' + 'Q'.repeat(400) + '\r\nConnection: close\r\n\r\n');
    readBuffer().fill(0); // (its memory may hold anything before: Node's own freed reads)
    rest!();
    await a.wait(1);
    const [res] = a.take();
    a.close();
    assert.is(res.body.toString(), 'first-part;MARKER-second-part');
    // the upstream's last read went through the shared buffer (on the private path only)
    assert.is(readBuffer().includes('MARKER-second-part'), !STREAM);
  } finally {
    await s.close();
    up.close();
  }
});

test('headers read from a timer after the request ended: an error on the shared buffer, not another request\'s bytes', async () => {
  const got = gate();
  let outcome = '';
  const s = await listen({
    '= /t': {
      content: (r: Request) => {
        r.say('ok');
        setImmediate(() => {
          try { outcome = 'value ' + (r.headersIn.get('x-a') ?? '-'); } catch (e) { outcome = 'error ' + (e as Error).message; }
          got.open();
        });
      },
    },
  });
  try {
    const res = await raw(s.addresses()[0].port, 'GET /t HTTP/1.1\r\nHost: a\r\nX-A: mine\r\n\r\n', { responses: 1 });
    assert.match(res.text, /ok/);
    await got.wait;
    if (STREAM) assert.is(outcome, 'value mine');
    else assert.match(outcome, /^error request headers read after the request ended/);
  } finally {
    await s.close();
  }
});

test('the start-up self-test finds the direct write on this Node (SLUICE_WRITE=stream turns it off)', async () => {
  assert.is(await writeSelfTest(), !WRITE_STREAM);
});

/** Read a whole response from a reader that stops now and then (so writes queue), with its sha1. */
function slowRead(port: number, request: string): Promise<{ head: string; sha: string; size: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let n = 0;
    c.on('data', (d: Buffer) => {
      parts.push(d);
      if (++n % 8 === 0) { c.pause(); setTimeout(() => c.resume(), 2); }
    });
    c.on('end', () => {
      const all = Buffer.concat(parts);
      const at = all.indexOf('\r\n\r\n');
      const body = all.subarray(at + 4);
      resolve({ head: all.toString('latin1', 0, at), sha: createHash('sha1').update(body).digest('hex'), size: body.length, body });
    });
    c.on('error', reject);
    c.write(request);
  });
}

test('a big response to a slow reader: writes that wait, what follows them, the close after', async () => {
  const piece = Buffer.alloc(65536);
  for (let i = 0; i < piece.length; i++) piece[i] = (i * 7 + 3) & 0xff;
  const whole = createHash('sha1');
  for (let i = 0; i < 64; i++) whole.update(piece);
  const s = await listen({
    '= /big': {
      content: async (r: Request) => {
        r.header['Content-Length'] = String(64 * piece.length);
        for (let i = 0; i < 64; i++) if (!r.print(piece)) await r.flush();
      },
    },
  });
  try {
    const port = s.addresses()[0].port;
    const queued = directStats.queued;
    const res = await slowRead(port, 'GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.match(res.head, /^HTTP\/1\.1 200 OK/);
    assert.is(res.size, 64 * piece.length);
    assert.is(res.sha, whole.digest('hex'));
    // the direct path had writes the kernel could not take at once (none on the public path)
    if (WRITE_STREAM) assert.is(directStats.queued, queued);
    else assert.ok(directStats.queued > queued, 'no direct write waited');
  } finally {
    await s.close();
  }
});

test('small pieces copied into one write, to two slow readers: a write that waits keeps its bytes', async () => {
  // each print is a chunk (size line, data, CRLF) copied into one buffer for one write; while a
  // write waits in libuv for one connection, the other's copies must not go where it waits
  const N = 1000;
  const piece = (tag: string, i: number): Buffer => Buffer.alloc(4000, `${tag}${i % 10}${String.fromCharCode(65 + (i % 26))}`);
  const expect = (tag: string): string => {
    const h = createHash('sha1');
    for (let i = 0; i < N; i++) h.update(piece(tag, i));
    return h.digest('hex');
  };
  const unchunk = (body: Buffer): string => {
    const h = createHash('sha1');
    for (let at = 0; ;) {
      const eol = body.indexOf('\r\n', at);
      const len = parseInt(body.toString('latin1', at, eol), 16);
      if (!(len > 0)) break;
      h.update(body.subarray(eol + 2, eol + 2 + len));
      at = eol + 2 + len + 2;
    }
    return h.digest('hex');
  };
  const s = await listen({
    '= /pieces': {
      content: async (r: Request) => {
        const tag = r.args;
        for (let i = 0; i < N; i++) if (!r.print(piece(tag, i))) await r.flush();
      },
    },
  });
  try {
    const port = s.addresses()[0].port;
    const queued = directStats.queued;
    // (written as sent: each print's three pieces copied into one write; held for the turn, 64
    // KiB of them would leave corked, as one writev, without the copy this test is about)
    const was = setHoldOutput(false);
    let a, b;
    try {
      [a, b] = await Promise.all(['a', 'b'].map((tag) => slowRead(port, `GET /pieces?${tag} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`)));
    } finally {
      setHoldOutput(was);
    }
    assert.match(a.head, /Transfer-Encoding: chunked/);
    assert.is(unchunk(a.body), expect('a'));
    assert.is(unchunk(b.body), expect('b'));
    if (!WRITE_STREAM) assert.ok(directStats.queued > queued, 'no direct write waited');
  } finally {
    await s.close();
  }
});

// ------------------------------------------------------------------ one write per read

/** A socket that records each write it is given (nothing is sent). */
class WriteLog extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 40000;
  bytesWritten = 0;
  destroyed = false;
  writable = true;
  writableNeedDrain = false;
  writes: string[] = [];
  /** Writes between cork() and uncork() are one writev: one entry. */
  private corked = false;
  private joined = false;
  write(data: Buffer | string, enc?: unknown, cb?: unknown): boolean {
    const text = typeof data === 'string' ? data : data.toString('latin1');
    if (this.corked && this.joined) this.writes[this.writes.length - 1] += text;
    else this.writes.push(text);
    if (this.corked) this.joined = true;
    const done = typeof enc === 'function' ? enc : cb;
    if (typeof done === 'function') (done as () => void)();
    return true;
  }
  setNoDelay(): this { return this; }
  cork(): void { this.corked = true; this.joined = false; }
  uncork(): void { this.corked = false; }
  pause(): this { return this; }
  resume(): this { return this; }
  isPaused(): boolean { return false; }
  end(): this { this.destroyed = true; return this; }
  destroy(): this { this.destroyed = true; return this; }
}

function fakeConnection(locations: Record<string, unknown>): WriteLog {
  const server = new SluiceServer(resolveConfig({ servers: [{ listen: '127.0.0.1:0', locations }] } as never));
  const ctx = (server as unknown as { listeners: { ctx: ListenContext }[] }).listeners[0].ctx;
  const w = new WriteLog();
  new HttpConnection(w as unknown as Socket, ctx);
  return w;
}

test('the responses to the requests of one read leave in one write, in order, when the turn\'s I/O is done', async () => {
  const w = fakeConnection({ '/': { content: (r: Request) => { r.say(r.uri); } } });
  let bytes = '';
  for (let i = 0; i < 8; i++) bytes += `GET /r${i} HTTP/1.1\r\nHost: a\r\n\r\n`;
  w.emit('data', Buffer.from(bytes));
  assert.is(w.writes.length, 0, 'held until the check phase');
  await turn();
  assert.is(w.writes.length, 1);
  const bodies = [...w.writes[0].matchAll(/\r\n\r\n[0-9a-f]+\r\n(\/r\d)\n/g)].map((m) => m[1]);
  assert.equal(bodies, ['/r0', '/r1', '/r2', '/r3', '/r4', '/r5', '/r6', '/r7']);
  w.emit('close', false);
});

test('one read\'s batch is bounded: big responses leave as they pass 64 KiB', async () => {
  const big = 'b'.repeat(20000);
  const w = fakeConnection({ '/': { return: [200, big] } });
  let bytes = '';
  for (let i = 0; i < 8; i++) bytes += `GET /r${i} HTTP/1.1\r\nHost: a\r\n\r\n`;
  w.emit('data', Buffer.from(bytes));
  assert.ok(w.writes.length >= 2, `written at once past the bound: ${w.writes.length}`);
  await turn();
  assert.ok(w.writes.length <= 4, `writes: ${w.writes.length}`);
  const all = w.writes.join('');
  assert.is(all.split('HTTP/1.1 200 OK').length - 1, 8);
  assert.is(all.split(big).length - 1, 8);
  w.emit('close', false);
});

test('a response made outside a read (an asynchronous handler) is written with its turn\'s other writes', async () => {
  const g = gate();
  const w = fakeConnection({ '/': { content: async (r: Request) => { await g.wait; r.say('late'); } } });
  w.emit('data', Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
  assert.is(w.writes.length, 0);
  g.open();
  await Promise.resolve();
  await Promise.resolve();
  assert.is(w.writes.length, 0, 'held');
  await turn();
  assert.is(w.writes.length, 1);
  assert.match(w.writes[0], /late/);
  w.emit('close', false);
});

test.run();
