// The $upstream_* variables (one entry per try, ", " between tries), the proxy's own variables
// in addHeader, and proxyInterceptErrors, against real upstream sockets. Times come from the
// server's ManualClock, moved by the upstream itself: nothing sleeps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { get, timed, RawClient, until } from '../helpers.js';
import { startServer, type SluiceServer } from '../../src/index.js';
import type { SluiceConfig } from '../../src/http/conf/config.js';
import { ManualClock } from '../../src/core/clock.js';
import type { Request } from '../../src/http/request.js';
import { closedPort, httpUpstream, netUpstream, type Upstream } from './upstreams.js';

type Locations = NonNullable<SluiceConfig['servers'][number]['locations']>;

const open: { close(): unknown }[] = [];
function keep<T extends { close(): unknown }>(x: T): T { open.push(x); return x; }
test.after.each(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function sluice(locations: Locations, upstreams: SluiceConfig['upstreams'] = {}, clock?: ManualClock): Promise<SluiceServer> {
  const s = await startServer({ errorLog: process.env.DBG ? 'stderr' : 'off', upstreams, servers: [{ listen: '127.0.0.1:0', locations }] } as SluiceConfig, clock ? { clock } : {});
  keep({ close: async () => { await s.close(100); for (const g of s.config.upstreams.values()) g.pool?.clear(); } });
  return s;
}

async function fetch1(s: SluiceServer, path: string, extra = '') {
  const c = keep(await RawClient.open(s.port));
  const [res] = await c.exchange(get(path, extra));
  return res;
}

/** addHeader lines that show variables, always (error pages too). */
const show = (...names: string[]) => names.map((n) => [`X-${n.replace(/_/g, '-')}`, `[$${n}]`, 'always'] as const);

const RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Foo: bar\r\nX-Multi-Word: one\r\nX-Multi-Word: two\r\nServer: upstream/1\r\n\r\nhello';

/** A raw upstream answering RESPONSE to each request, keeping the request's bytes. */
async function rawUpstream(): Promise<Upstream & { got: string }> {
  const u = await netUpstream((sock) => {
    let buf = '';
    sock.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      (u as Upstream & { got: string }).got = buf.slice(0, end + 4);
      buf = buf.slice(end + 4);
      sock.write(RESPONSE);
    });
  });
  return Object.assign(u, { got: '' });
}

test('one try: addr, status, lengths and bytes, as numbers nginx gives', timed(30000, async () => {
  const up = keep(await rawUpstream());
  const s = await sluice({
    '/': {
      proxyPass: `http://${up.addr}`,
      addHeader: show('upstream_addr', 'upstream_status', 'upstream_response_length', 'upstream_bytes_received', 'upstream_bytes_sent'),
    },
  });
  const res = await fetch1(s, '/a');
  assert.is(res.status, 200);
  assert.is(res.body.toString(), 'hello');
  const h = res.headers;
  assert.is(h['x-upstream-addr'], `[${up.addr}]`);
  assert.is(h['x-upstream-status'], '[200]');
  // the variables are read when the header goes out: the body has not come yet
  assert.is(h['x-upstream-response-length'], '[0]', 'no body bytes yet when the header filter runs');
  assert.is(h['x-upstream-bytes-received'], '[0]', 'nor counted bytes: counted when the try ends');
  assert.is(h['x-upstream-bytes-sent'], '[0]');
}));

test('the numbers once the response is over: bytes sent = the request head, received = the whole response', timed(30000, async () => {
  const up = keep(await rawUpstream());
  let seen: Request | null = null;
  const s = await sluice({ '/': { proxyPass: `http://${up.addr}`, rewriteHandler: (r: Request) => { seen = r; } } });
  const res = await fetch1(s, '/b');
  assert.is(res.body.toString(), 'hello');
  const v = (seen as unknown as Request).var;
  assert.is(v.upstream_addr, up.addr);
  assert.is(v.upstream_status, '200');
  assert.is(v.upstream_response_length, '5', 'the body');
  assert.is(Number(v.upstream_bytes_received), RESPONSE.length, 'head and body as they came');
  assert.is(Number(v.upstream_bytes_sent), up.got.length, 'the request as it went');
  assert.match(v.upstream_response_time!, /^\d+\.\d{3}$/);
}));

test('failover: "502, 200" and both addresses, joined with ", "', timed(30000, async () => {
  const dead = await closedPort();
  const up = keep(await httpUpstream((_seen, res) => res.end('ok')));
  const s = await sluice(
    { '/': { proxyPass: 'http://g', addHeader: show('upstream_addr', 'upstream_status', 'upstream_connect_time') } },
    { g: { servers: [`127.0.0.1:${dead}`, up.addr] } },
  );
  const res = await fetch1(s, '/');
  assert.is(res.status, 200);
  assert.is(res.headers['x-upstream-addr'], `[127.0.0.1:${dead}, ${up.addr}]`);
  assert.is(res.headers['x-upstream-status'], '[502, 200]');
  assert.match(res.headers['x-upstream-connect-time'], /^\[-, \d+\.\d{3}\]$/, 'the refused try never connected');
}));

test('no live upstreams: the group\'s name and 502', timed(30000, async () => {
  const s = await sluice(
    { '/': { proxyPass: 'http://gone', addHeader: show('upstream_addr', 'upstream_status', 'upstream_response_time') } },
    { gone: { servers: [{ address: '127.0.0.1:9', down: true }] } },
  );
  const res = await fetch1(s, '/');
  assert.is(res.status, 502);
  assert.is(res.headers['x-upstream-addr'], '[gone]');
  assert.is(res.headers['x-upstream-status'], '[502]');
  assert.is(res.headers['x-upstream-response-time'], '[0.000]');
}));

test('times: connect, header and response time in seconds with ms, from the server\'s clock', timed(30000, async () => {
  const clock = new ManualClock();
  // the upstream moves the server's clock while it "works": 250 ms before the head; the test
  // moves it 100 ms more once the head has reached the client, then lets the upstream end
  let finish: () => void = () => {};
  const up = keep(await httpUpstream((_seen, res) => {
    clock.advance(250);
    res.writeHead(200, { 'Content-Length': '2' });
    res.write('o');
    finish = () => res.end('k');
  }));
  let seen: Request | null = null;
  const s = await sluice({
    '/': {
      proxyPass: `http://${up.addr}`,
      rewriteHandler: (r: Request) => { seen = r; },
      addHeader: show('upstream_connect_time', 'upstream_header_time', 'upstream_response_time'),
    },
  }, {}, clock);
  const c = keep(await RawClient.open(s.port));
  c.write(get('/'));
  // the head went down the filters (sluice holds it with the first byte for postpone_output)
  assert.ok(await until(() => (seen as Request | null)?.upstream?.states[0]?.headerTime !== undefined && (seen as unknown as Request).upstream!.states[0].headerTime >= 0));
  clock.advance(100);
  finish();
  const [res] = await c.exchange('');
  const h = res.headers;
  assert.is(h['x-upstream-connect-time'], '[0.000]');
  assert.is(h['x-upstream-header-time'], '[0.250]');
  assert.is(h['x-upstream-response-time'], '[-]', 'not over yet when the header went down the filters');
  assert.is(res.body.toString(), 'ok');
  const v = (seen as unknown as Request).var;
  assert.is(v.upstream_response_time, '0.350', 'the whole exchange');
  assert.is(v.upstream_header_time, '0.250');
}));

test('$upstream_http_NAME: the first field of that name, "-" and "_" alike, hidden ones too', timed(30000, async () => {
  const up = keep(await rawUpstream());
  const s = await sluice({
    '/': { proxyPass: `http://${up.addr}`, addHeader: show('upstream_http_x_foo', 'upstream_http_x_multi_word', 'upstream_http_server', 'upstream_http_none') },
  });
  const res = await fetch1(s, '/');
  assert.is(res.headers['x-upstream-http-x-foo'], '[bar]');
  assert.is(res.headers['x-upstream-http-x-multi-word'], '[one]', 'the first one (nginx 1.22)');
  assert.is(res.headers['x-upstream-http-server'], '[upstream/1]', 'the upstream\'s Server, which is not passed on');
  assert.is(res.headers['x-upstream-http-none'], '[]');
  assert.is(res.headers.server, 'sluice');
}));

test('$proxy_host, $proxy_port and $proxy_add_x_forwarded_for in addHeader', timed(30000, async () => {
  const up = keep(await rawUpstream());
  const s = await sluice({
    '/': { proxyPass: `http://${up.addr}/x/`, addHeader: show('proxy_host', 'proxy_port', 'proxy_add_x_forwarded_for') },
    '/g/': { proxyPass: 'http://named', addHeader: show('proxy_host', 'proxy_port') },
    '/none/': { return: [200, 'n'], addHeader: show('proxy_host', 'upstream_addr') },
  }, { named: { servers: [up.addr] } });
  let res = await fetch1(s, '/', 'X-Forwarded-For: 10.0.0.1\r\n');
  assert.is(res.headers['x-proxy-host'], `[${up.addr}]`);
  assert.is(res.headers['x-proxy-port'], `[${up.port}]`);
  assert.is(res.headers['x-proxy-add-x-forwarded-for'], '[10.0.0.1, 127.0.0.1]');
  res = await fetch1(s, '/g/');
  assert.is(res.headers['x-proxy-host'], '[named]');
  assert.is(res.headers['x-proxy-port'], '[80]');
  res = await fetch1(s, '/none/');
  assert.is(res.headers['x-proxy-host'], '[]', 'no proxyPass: empty');
  assert.is(res.headers['x-upstream-addr'], '[]');
}));

// ------------------------------------------------------------------ proxyInterceptErrors

test('proxyInterceptErrors: with an error page for the status, the upstream body is dropped and its connection closed', timed(30000, async () => {
  const up = keep(await httpUpstream((seen, res) => {
    res.statusCode = seen.url.endsWith('/404') ? 404 : seen.url.endsWith('/401') ? 401 : 500;
    if (res.statusCode === 401) res.setHeader('WWW-Authenticate', 'Basic realm="x"');
    res.end('upstream body for ' + seen.url);
  }));
  const s = await sluice({
    '/': { proxyPass: 'http://ka', proxyInterceptErrors: true, errorPage: '404 401 /err', addHeader: show('upstream_status') },
    '/off/': { proxyPass: 'http://ka', errorPage: '404 /err' },
    '= /err': { return: [200, 'our error page\n'] },
  }, { ka: { servers: [up.addr], keepalive: 4 } });

  let res = await fetch1(s, '/404');
  assert.is(res.status, 404);
  assert.is(res.body.toString(), 'our error page\n', 'the error page, not the upstream\'s body');
  await until(() => up.sockets.size === 0);
  assert.is(s.config.upstreams.get('ka')!.pool!.count(), 0, 'the upstream connection was closed, not pooled');

  res = await fetch1(s, '/500');
  assert.is(res.status, 500);
  assert.is(res.body.toString(), 'upstream body for /500', 'no error page for 500: passed as it is');
  assert.is(res.headers['x-upstream-status'], '[500]');

  res = await fetch1(s, '/off/404');
  assert.is(res.status, 404);
  assert.is(res.body.toString(), 'upstream body for /off/404', 'proxyInterceptErrors off: passed as it is');

  res = await fetch1(s, '/401');
  assert.is(res.status, 401);
  assert.is(res.body.toString(), 'our error page\n');
}));

test('proxyInterceptErrors without any error page intercepts nothing', timed(30000, async () => {
  const up = keep(await httpUpstream((_seen, res) => { res.statusCode = 404; res.end('mine'); }));
  const s = await sluice({ '/': { proxyPass: `http://${up.addr}`, proxyInterceptErrors: true } });
  const res = await fetch1(s, '/');
  assert.is(res.status, 404);
  assert.is(res.body.toString(), 'mine');
}));

test.run();
