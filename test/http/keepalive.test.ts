// Keep-alive settings come from the request's location (or its server), as nginx reads them
// (ngx_http_update_location_config, ngx_http_set_keepalive) — not from the first server on the port.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, type SluiceServer } from '../../src/index.js';
import { raw, timed, serverSide, RawClient } from '../helpers.js';

let s: SluiceServer;
const req = (path: string, host = 'a.test') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

/** A free port on 127.0.0.1 (the two servers below must share one). */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const t = createServer();
  await new Promise<void>((r) => t.listen(0, '127.0.0.1', () => r()));
  const port = (t.address() as { port: number }).port;
  await new Promise<void>((r) => t.close(() => r()));
  return port;
}

test.before(async () => {
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  s = await startServer({
    errorLog: 'off',
    servers: [
      {
        listen, serverName: 'a.test', keepaliveRequests: 100,
        locations: {
          '/': { return: [200, 'a\n'] },
          '/one/': { keepaliveRequests: 1, return: [200, 'one\n'] },
          '/two/': { keepaliveRequests: 2, return: [200, 'two\n'] },
          '/off/': { keepaliveTimeout: 0, return: [200, 'off\n'] },
          '/nodelay-off/': { tcpNodelay: false, return: [200, 'nd\n'] },
          '/safari/': { keepaliveDisable: 'safari', return: [200, 'sf\n'] },
          '/none/': { keepaliveDisable: 'none', return: [200, 'none\n'] },
        },
      },
      { listen, serverName: 'b.test', keepaliveRequests: 1, locations: { '/': { return: [200, 'b\n'] } } },
    ],
  });
});
test.after(async () => { await s.close(); });

test('a location with keepaliveRequests: 1 answers Connection: close and closes (was: the first server\'s 100)', timed(30000, async () => {
  const res = await raw(s.port, req('/one/x') + req('/'));
  assert.is(res.responses.length, 1);
  assert.is(res.responses[0].headers.connection, 'close');
  assert.ok(res.closed);
}));

test('keepaliveRequests: 2 in a location: the second request on the connection closes it', timed(30000, async () => {
  const res = await raw(s.port, req('/') + req('/two/') + req('/'));
  assert.equal(res.responses.map((r) => r.headers.connection), ['keep-alive', 'close']);
  assert.ok(res.closed);
}));

test('keepaliveTimeout: 0 in a location disables keep-alive there', timed(30000, async () => {
  const res = await raw(s.port, req('/off/') + req('/'));
  assert.is(res.responses.length, 1);
  assert.is(res.responses[0].headers.connection, 'close');
  assert.ok(res.closed);
}));

test('a server chosen by name uses its own keepaliveRequests, not the default server\'s', timed(30000, async () => {
  const rb = await raw(s.port, req('/', 'b.test') + req('/', 'b.test'));
  assert.is(rb.responses.length, 1, 'b.test: one request per connection');
  assert.is(rb.responses[0].body.toString(), 'b\n');
  assert.is(rb.responses[0].headers.connection, 'close');
  const ra = await raw(s.port, req('/') + req('/'), { responses: 2 });
  assert.equal(ra.responses.map((r) => r.headers.connection), ['keep-alive', 'keep-alive'], 'a.test keeps it');
}));

test('tcpNodelay: false in a location turns TCP_NODELAY off for that connection, a later request turns it back', timed(30000, async () => {
  const c = await RawClient.open(s.port);
  // this connection, not one an earlier test left closing
  const hc = () => serverSide(s, c.socket)!;
  assert.is((await c.exchange(req('/nodelay-off/')))[0]?.status, 200);
  assert.is(hc().nodelay, false);
  assert.is((await c.exchange(req('/')))[0]?.status, 200);
  assert.is(hc().nodelay, true);
  c.close();
}));

test('the connection timeouts run on the server\'s clock: keepaliveTimeout and clientHeaderTimeout with a ManualClock, no sleeping', timed(30000, async () => {
  const { ManualClock } = await import('../../src/core/clock.js');
  const { connect } = await import('node:net');
  const clock = new ManualClock();
  const m = await startServer({ errorLog: 'off', keepaliveTimeout: '30s', clientHeaderTimeout: '10s', servers: [{ listen: '127.0.0.1:0', locations: { '/': { return: [200, 'ok\n'] } } }] }, { clock });
  try {
    const open = async () => {
      const c = connect(m.port, '127.0.0.1');
      const closed = new Promise<void>((r) => c.on('close', () => r()));
      c.on('error', () => {});
      await new Promise<void>((r) => c.on('connect', () => r()));
      return { c, closed };
    };
    // keep-alive: one answer, then idle; 29 s of clock leave it open, the 30th closes it
    const a = await open();
    const answered = new Promise<void>((r) => a.c.once('data', () => r()));
    a.c.write(req('/'));
    await answered;
    clock.advance(29000);
    assert.is(m.connectionCount(), 1, 'still open after 29 s');
    clock.advance(1000);
    await a.closed;
    // a head that never ends: 408 after clientHeaderTimeout, on the same clock
    const b = await open();
    let got = '';
    b.c.on('data', (d) => { got += d; });
    b.c.write('GET / HTTP/1.1\r\nHost: a\r\n');
    // wait until the server has read the head's first bytes (a message in progress)
    const t0 = Date.now();
    const reading = () => m.connections().some((hc) => hc.parser.messageInProgress());
    while (!reading() && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 5));
    assert.ok(reading(), 'the server is reading the head');
    clock.advance(10000);
    await b.closed;
    assert.match(got, /^HTTP\/1\.1 408 /);
  } finally {
    await m.close();
  }
}));

const IE6 = 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)';
const IE6SV1 = 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)';
const IE7 = 'Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)';
const SAFARI = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';
const CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const withUa = (method: string, path: string, ua: string) => `${method} ${path} HTTP/1.1\r\nHost: a.test\r\nUser-Agent: ${ua}\r\n${method === 'POST' ? 'Content-Length: 0\r\n' : ''}\r\n`;

test('keepaliveDisable msie6 (default): a POST from MSIE 4-6 without SV1 closes; GET, SV1, MSIE 7 and Opera keep', timed(30000, async () => {
  const cases: [string, string, string][] = [
    ['POST', IE6, 'close'], ['GET', IE6, 'keep-alive'], ['POST', IE6SV1, 'keep-alive'], ['POST', IE7, 'keep-alive'],
    ['POST', 'Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)', 'close'], ['POST', IE6 + ' Opera 9', 'keep-alive'],
    ['POST', 'MSIE 6.', 'keep-alive'], // too short: nginx wants two bytes after "MSIE 6"
    ['POST', SAFARI, 'keep-alive'],
  ];
  for (const [method, ua, want] of cases) {
    const res = await raw(s.port, withUa(method, '/', ua), { responses: 1 });
    assert.is(res.responses[0]?.headers.connection, want, `${method} ${ua}`);
  }
}));

test('keepaliveDisable safari: Safari on Mac OS X closes (any method); Chrome, Gecko and MSIE do not; none keeps all', timed(30000, async () => {
  const cases: [string, string, string, string][] = [
    ['GET', '/safari/', SAFARI, 'close'], ['GET', '/safari/', CHROME, 'keep-alive'],
    ['GET', '/safari/', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:120.0) Gecko/20100101 Firefox/120.0', 'keep-alive'],
    ['GET', '/safari/', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1', 'keep-alive'],
    ['POST', '/safari/', IE6, 'keep-alive'], // only safari listed there
    ['POST', '/none/', IE6, 'keep-alive'], ['GET', '/none/', SAFARI, 'keep-alive'],
  ];
  for (const [method, path, ua, want] of cases) {
    const res = await raw(s.port, withUa(method, path, ua), { responses: 1 });
    assert.is(res.responses[0]?.headers.connection, want, `${method} ${path} ${ua}`);
  }
}));

test('keepaliveTime: a request that starts after the connection is that old gets Connection: close (server clock)', timed(30000, async () => {
  const { ManualClock } = await import('../../src/core/clock.js');
  const clock = new ManualClock();
  const m = await startServer({ errorLog: 'off', keepaliveTime: '10s', keepaliveTimeout: '1h', servers: [{ listen: '127.0.0.1:0', locations: { '/': { return: [200, 'ok\n'] } } }] }, { clock });
  try {
    const c = await RawClient.open(m.port);
    try {
      let [res] = await c.exchange(req('/'));
      assert.is(res.headers.connection, 'keep-alive', 'young connection');
      clock.advance(10000);
      [res] = await c.exchange(req('/'));
      assert.is(res.headers.connection, 'keep-alive', 'exactly 10 s old: kept (nginx closes past the limit)');
      clock.advance(1);
      [res] = await c.exchange(req('/'));
      assert.is(res.headers.connection, 'close', 'older than keepaliveTime');
    } finally { c.close(); }
  } finally {
    await m.close();
  }
}));

test.run();
