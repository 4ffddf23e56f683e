// The connection layer over real sockets: keep-alive, pipelining, bodies, 100-continue, limits,
// timeouts, HEAD. cf. ngx_http_request.c
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { listen, raw, timed, get, sleep, until, serverSide } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { Request } from '../../src/http/request.js';

let s: SluiceServer;
/** The same locations with short timeouts, for the tests of those timeouts. */
let t: SluiceServer;
let bigChunks = 0;
let bigSocket: import('node:net').Socket | null = null;
let maxQueued = 0;

const locations: Parameters<typeof listen>[0] = {
    '/hello': { return: [200, 'hello\n'] },
    '/echo': {
      content: async (r: Request) => {
        await r.readBody();
        const b = r.body();
        r.header['X-Body-Length'] = String(b?.length ?? 0);
        r.print(b ?? '');
      },
    },
    '/slow': {
      content: async (r: Request) => {
        await sleep(Number(r.var.arg_ms ?? 50));
        r.say('slow ', r.var.arg_n ?? '');
      },
    },
    '/noread': { content: (r: Request) => { r.say('did not read'); } },
    '/big': {
      content: async (r: Request) => {
        const chunk = Buffer.alloc(64 * 1024, 120);
        bigSocket = r.main.conn!.socket;
        for (let i = 0; i < 1024; i++) {
          bigChunks++;
          maxQueued = Math.max(maxQueued, bigSocket.writableLength);
          if (!r.print(chunk)) await r.flush();
        }
      },
    },
};
const limits = { keepaliveRequests: 5, clientMaxBodySize: '1k', largeClientHeaderBuffers: '2 256' };

test.before(async () => {
  s = await listen(locations, limits);
  t = await listen(locations, {
    ...limits,
    clientHeaderTimeout: '300ms',
    clientBodyTimeout: '300ms',
    keepaliveTimeout: '300ms',
    sendTimeout: '400ms',
  });
});
test.after(async () => { await s.close(); await t.close(); });

test('keep-alive: HTTP/1.1 keeps the connection, answers in order', timed(30000, async () => {
  const res = await raw(s.port, get('/hello') + get('/hello'), { responses: 2 });
  assert.is(res.responses.length, 2, 'two responses');
  assert.is(res.responses[0].headers.connection, 'keep-alive');
  assert.is(res.responses[0].body.toString(), 'hello\n');
  assert.ok(res.responses[0].headers.server.startsWith('sluice'), 'Server header');
  assert.ok(/GMT$/.test(res.responses[0].headers.date), 'Date header');
}));

test('keep-alive: HTTP/1.0 closes unless it asks for keep-alive', timed(30000, async () => {
  const a = await raw(s.port, 'GET /hello HTTP/1.0\r\n\r\n');
  assert.ok(a.closed, '1.0 closed');
  assert.is(a.responses[0].headers.connection, 'close');
  // the proof that it stays open: the next request on it is answered
  const ka = 'GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n';
  const b = await raw(s.port, ka + ka, { responses: 2 });
  assert.is(b.responses.length, 2, '1.0 keep-alive stays open for the next request');
  assert.is(b.responses[0].headers.connection, 'keep-alive');
}));

test('Connection: close is honoured and nothing after it is answered', timed(30000, async () => {
  const res = await raw(s.port, get('/hello', 'Connection: close\r\n') + get('/hello'));
  assert.is(res.responses.length, 1);
  assert.ok(res.closed);
}));

test('pipelining: several requests in one chunk, answered in order without more reads', timed(30000, async () => {
  const reqs = get('/slow?ms=60&n=1') + get('/slow?ms=1&n=2') + get('/hello') + get('/slow?ms=20&n=3');
  const res = await raw(s.port, reqs, { responses: 4 });
  assert.equal(res.responses.map((r) => r.body.toString()), ['slow 1\n', 'slow 2\n', 'hello\n', 'slow 3\n']);
}));

test('pipelining: a bad request after good ones: the good ones are answered, then 400 and close', timed(30000, async () => {
  const res = await raw(s.port, get('/hello') + get('/slow?ms=10&n=x') + 'GET /x HTTP/1.1\r\nHost: a\r\nBad Header: y\r\n\r\n' + get('/hello'));
  assert.equal(res.responses.map((r) => r.status), [200, 200, 400]);
  assert.is(res.responses[1].body.toString(), 'slow x\n');
  assert.ok(res.closed, 'closed after 400');
}));

test('keepalive_requests: the last allowed request says close', timed(30000, async () => {
  const res = await raw(s.port, get('/hello').repeat(6));
  assert.is(res.responses.length, 5);
  assert.is(res.responses[4].headers.connection, 'close');
  assert.ok(res.closed);
}));

test('bodies: Content-Length, chunked with extensions and trailers', timed(30000, async () => {
  const a = await raw(s.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', { responses: 1 });
  assert.is(a.responses[0].body.toString(), 'hello');
  const b = await raw(s.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n', { responses: 1 });
  assert.is(b.responses[0].body.toString(), 'abcdefg');
  assert.is(b.responses[0].headers['x-body-length'], '7');
}));

test('bodies: a body split across many writes', timed(30000, async () => {
  const res = await raw(s.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', {
    responses: 1,
    segments: [{ delayMs: 20, data: '5\r\nhel' }, { delayMs: 20, data: 'lo\r\n' }, { delayMs: 20, data: '0\r\n\r\n' }],
  });
  assert.is(res.responses[0].body.toString(), 'hello');
}));

test('bodies: an unread body is discarded and the next request is answered', timed(30000, async () => {
  const res = await raw(s.port, 'POST /noread HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789' + get('/hello'), { responses: 2 });
  assert.equal(res.responses.map((r) => r.status), [200, 200]);
  assert.is(res.responses[1].body.toString(), 'hello\n');
}));

test('bodies: bad chunked framing is 400 and close', timed(30000, async () => {
  const res = await raw(s.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n');
  assert.is(res.responses[0].status, 400);
  assert.ok(res.closed);
}));

test('Expect: 100-continue is answered when the handler reads the body', timed(30000, async () => {
  const res = await new Promise<string>((resolve) => {
    const c = connect(s.port, '127.0.0.1');
    let got = '';
    c.on('data', (d) => {
      got += d.toString('latin1');
      if (got.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !got.includes('200 OK')) c.write('hello');
      if (got.includes('hello\r\n0\r\n\r\n')) { c.destroy(); resolve(got); }
    });
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
  });
  assert.ok(res.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK'), res);
}));

test('Expect: 100-continue is not sent when the body is too large (413 instead)', timed(30000, async () => {
  const res = await raw(s.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n');
  assert.is(res.responses.length, 1);
  assert.is(res.responses[0].status, 413);
  assert.ok(res.closed);
}));

test('HEAD: headers with Content-Length, no body', timed(30000, async () => {
  const res = await raw(s.port, 'HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n' + get('/hello'), { responses: 2, headAt: [0] });
  assert.is(res.responses[0].status, 200);
  assert.is(res.responses[0].headers['content-length'], '6');
  assert.is(res.responses[0].body.length, 0);
  assert.is(res.responses[1].body.toString(), 'hello\n', 'the next response follows right after the head');
}));

test('limits: request line too long is 414', timed(30000, async () => {
  const res = await raw(s.port, `GET /${'a'.repeat(400)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.is(res.responses[0].status, 414);
  assert.ok(res.closed);
}));

test('limits: a header line too long is 431', timed(30000, async () => {
  const res = await raw(s.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Long: ${'b'.repeat(400)}\r\n\r\n`);
  assert.is(res.responses[0].status, 431);
  assert.ok(res.closed);
}));

test('limits: the whole head over number*size is 431', timed(30000, async () => {
  const lines = Array.from({ length: 10 }, (_, i) => `X-H${i}: ${'c'.repeat(60)}\r\n`).join('');
  const res = await raw(s.port, `GET / HTTP/1.1\r\nHost: x\r\n${lines}\r\n`);
  assert.is(res.responses[0].status, 431);
}));

test('limits: client_max_body_size by Content-Length and by chunked size is 413', timed(30000, async () => {
  const a = await raw(s.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n');
  assert.is(a.responses[0].status, 413);
  const big = 'a'.repeat(800);
  const b = await raw(s.port, `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n${big}\r\n320\r\n${big}\r\n0\r\n\r\n`);
  assert.is(b.responses[0].status, 413);
  assert.ok(b.closed);
}));

test('timeouts: client_header_timeout answers 408 to a half-sent head and closes', timed(30000, async () => {
  const t0 = Date.now();
  const res = await raw(t.port, 'GET /hello HTTP/1.1\r\nHost');
  assert.ok(res.closed, 'closed');
  assert.is(res.responses[0]?.status, 408);
  assert.ok(Date.now() - t0 >= 250, 'not before the timeout');
}));

test('timeouts: client_body_timeout fails a stalled body with 408', timed(30000, async () => {
  const res = await raw(t.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234');
  assert.is(res.responses[0]?.status, 408);
  assert.ok(res.closed);
}));

test('timeouts: keepalive_timeout closes an idle connection silently', timed(30000, async () => {
  const t0 = Date.now();
  const res = await raw(t.port, get('/hello'));
  assert.is(res.responses.length, 1);
  assert.ok(res.closed, 'closed after keepalive_timeout');
  assert.ok(Date.now() - t0 >= 250, 'not before the timeout');
}));

test('backpressure and send_timeout: a client that stops reading', timed(30000, async () => {
  const c = connect({ port: t.port, host: '127.0.0.1' });
  await new Promise((r) => c.on('connect', r));
  c.pause(); // never read: the socket fills up and the handler must wait in flush()
  bigChunks = 0;
  c.write(get('/big'));
  maxQueued = 0;
  // 1024 x 64 KiB = 64 MiB wanted; wait until send_timeout has closed the stuck connection
  assert.ok(await until(() => bigChunks > 0), 'the handler started');
  assert.ok(await until(() => serverSide(t, c) === undefined), 'send_timeout closed the connection');
  assert.ok(bigChunks > 0, 'the handler started');
  // only what fits in the kernel's socket buffers may have been made: the handler waited
  assert.ok(bigChunks < 256, `the handler was held back (${bigChunks} chunks of 64 KiB made)`);
  // and the server itself never queued more than about one write past the mark
  assert.ok(maxQueued <= 128 * 1024, `bytes queued in the server at most ${maxQueued}`);
  c.destroy();
}));

test('other connections are untouched by a bad one', timed(30000, async () => {
  const bad = raw(s.port, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
  const good = raw(s.port, get('/hello'), { responses: 1 });
  const [b, g] = await Promise.all([bad, good]);
  assert.is(b.responses[0].status, 400);
  assert.is(g.responses[0].status, 200);
}));

test.run();
