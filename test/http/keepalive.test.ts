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

test.run();
