// proxyPass to https upstreams (src/http/upstream/ssl.ts): verification on (a trusted CA) and off,
// bad certificates refused with 502 and nginx's log line (18, 19, 20/21, 10, a name mismatch),
// SNI only with proxySslServerName, sessions resumed on the next connection, the keepalive pool
// reusing a TLS connection, failover past a bad peer, a client certificate, config errors.
// Certificates and upstreams: ./tls-upstreams.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RawClient, captureLog, errorLines, get, listen, stopCapture, timed, until } from '../helpers.js';
import { netUpstream } from './upstreams.js';
import { ManualClock } from '../../src/core/clock.js';
import { startServer } from '../../src/http/server.js';
import { upstreamCerts, tlsUpstream as startTlsUpstream, type Pem, type TlsUpstream } from './tls-upstreams.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { SluiceConfig } from '../../src/http/conf/config.js';
import { resolveConfig } from '../../src/http/conf/config.js';
import { HttpClient, HttpClientError } from '../../src/index.js';

type Locations = Parameters<typeof listen>[0];

const open: { close(): unknown }[] = [];
function keep<T extends { close(): unknown }>(x: T): T { open.push(x); return x; }
test.after.each(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

const certs = upstreamCerts();
const extra = certs.pem;

/** An https upstream, closed after the test. */
async function tlsUpstream(pem: Pem, o: { ca?: Buffer; requestCert?: boolean } = {}): Promise<TlsUpstream> {
  return keep(await startTlsUpstream(pem, o));
}

async function sluice(locations: Locations, upstreams: SluiceConfig['upstreams'] = {}): Promise<SluiceServer> {
  const s = await listen(locations, {}, { upstreams } as Partial<SluiceConfig>);
  keep({ close: async () => { await s.close(100); for (const g of s.config.upstreams.values()) g.pool?.clear(); } });
  return s;
}

async function fetch1(s: SluiceServer, path: string) {
  const c = keep(await RawClient.open(s.port));
  const [res] = await c.exchange(get(path));
  return res!;
}

const VERIFY = { proxySslVerify: true, proxySslTrustedCertificate: certs.ca };

// ------------------------------------------------------------------ verification

test('verify off (the default): any certificate is taken; no SNI is sent', timed(20000, async () => {
  const up = await tlsUpstream(extra.self);
  const s = await sluice({ '/': { proxyPass: `https://127.0.0.1:${up.port}`, addHeader: [['X-Addr', '$upstream_addr'], ['X-Host', '$proxy_host']] } });
  const res = await fetch1(s, '/a?b=1');
  assert.is(res.status, 200);
  assert.is(res.body.toString(), 'ok /a?b=1');
  assert.is(res.headers['x-addr'], up.addr, '$upstream_addr');
  assert.is(res.headers['x-host'], `127.0.0.1:${up.port}`, '$proxy_host keeps a port other than 443');
  assert.is(up.seen[0].servername, false, 'proxySslServerName is off by default: no SNI');
  assert.is(up.seen[0].protocol, 'TLSv1.2', 'proxySslProtocols defaults to nginx 1.22\'s (TLSv1.2 at most)');
}));

test('verify on with the trusted CA: the certificate and its name are taken', timed(20000, async () => {
  const up = await tlsUpstream(certs.pem.localhost);
  const s = await sluice({ '/': { proxyPass: `https://127.0.0.1:${up.port}`, ...VERIFY, proxySslName: 'localhost' } });
  const res = await fetch1(s, '/v');
  assert.is(res.status, 200);
  assert.is(res.body.toString(), 'ok /v');
  assert.is(up.seen[0].servername, false, 'a checked name is not sent as SNI unless proxySslServerName is on');
}));

/** The one error line a request to `path` logged. */
async function refused(s: SluiceServer, path: string): Promise<{ status: number; lines: string[] }> {
  captureLog();
  let lines: string[] = [];
  let res;
  try {
    res = await fetch1(s, path);
  } finally {
    lines = stopCapture();
  }
  return { status: res.status, lines: lines.filter((l) => l.includes('[error]')).map((l) => l.trimEnd()) };
}

const CASES: [string, Pem, string][] = [
  ['a self-signed certificate', extra.self, '(18:self-signed certificate)'],
  ['a self-signed root in the chain', extra.chained, '(19:self-signed certificate in certificate chain)'],
  ['an unknown issuer', certs.pem.rogue, '(21:unable to verify the first certificate)'],
  ['an expired certificate', extra.expired, '(10:certificate has expired)'],
];
for (const [what, pem, reason] of CASES) {
  test(`verify on, ${what}: 502 and nginx's line; verify off takes it`, timed(20000, async () => {
    const up = await tlsUpstream(pem);
    const s = await sluice({
      '/on': { proxyPass: `https://127.0.0.1:${up.port}`, ...VERIFY, proxySslName: 'localhost' },
      '/off': { proxyPass: `https://127.0.0.1:${up.port}` },
    });
    const { status, lines } = await refused(s, '/on?x=1');
    assert.is(status, 502);
    assert.is(lines.length, 1, lines.join('\n'));
    const want = ` upstream SSL certificate verify error: ${reason} while SSL handshaking to upstream, `
      + `client: 127.0.0.1, server: , request: "GET /on?x=1 HTTP/1.1", upstream: "https://127.0.0.1:${up.port}/on?x=1", host: "localhost"`;
    assert.ok(lines[0].includes(`[error] ${process.pid}#0: *`) && lines[0].endsWith(want), `${lines[0]}\nwanted ...${want}`);
    assert.is(up.seen.length, 0, 'no request went to the refused upstream');
    const res = await fetch1(s, '/off');
    assert.is(res.status, 200, 'verify off: the same upstream works');
  }));
}

test('verify on, a name the certificate does not have: 502, "does not match"; an IP SAN is not a name (X509_check_host)', timed(20000, async () => {
  const up = await tlsUpstream(certs.pem.localhost);
  const s = await sluice({
    '/other': { proxyPass: `https://127.0.0.1:${up.port}`, ...VERIFY, proxySslName: 'other.test' },
    '/ip': { proxyPass: `https://127.0.0.1:${up.port}`, ...VERIFY },
  });
  let r = await refused(s, '/other');
  assert.is(r.status, 502);
  assert.ok(r.lines[0]?.includes('upstream SSL certificate does not match "other.test" while SSL handshaking to upstream, client: 127.0.0.1'), r.lines.join('\n'));
  r = await refused(s, '/ip');
  assert.is(r.status, 502);
  assert.ok(r.lines[0]?.includes('upstream SSL certificate does not match "127.0.0.1" while SSL handshaking'), r.lines.join('\n'));
}));

test('proxySslName with variables, its port cut off', timed(20000, async () => {
  const up = await tlsUpstream(certs.pem.a);
  const s = await sluice({ '/': { proxyPass: `https://127.0.0.1:${up.port}`, ...VERIFY, proxySslServerName: true, proxySslName: '$http_x_name:8443' } });
  const c = keep(await RawClient.open(s.port));
  const [res] = await c.exchange(get('/n', 'X-Name: a.test\r\n'));
  assert.is(res!.status, 200);
  assert.is(up.seen[0].servername, 'a.test', 'SNI from the expanded name, without the port');
}));

test('proxySslVerifyDepth: a chain longer than allowed is refused (20, as OpenSSL stops looking for the issuer)', timed(20000, async () => {
  // leaf <- intermediate <- ca: the intermediate sent with the leaf
  const up = await tlsUpstream(certs.pem.deep);
  const s = await sluice({
    '/d0': { proxyPass: `https://127.0.0.1:${up.port}`, ...VERIFY, proxySslName: 'localhost', proxySslVerifyDepth: 0 },
    '/d1': { proxyPass: `https://127.0.0.1:${up.port}`, ...VERIFY, proxySslName: 'localhost', proxySslSessionReuse: false },
  });
  const r = await refused(s, '/d0');
  assert.is(r.status, 502);
  assert.ok(r.lines[0]?.includes('upstream SSL certificate verify error: (20:unable to get local issuer certificate)'), r.lines.join('\n'));
  assert.is((await fetch1(s, '/d1')).status, 200, 'depth 1 (the default) takes one intermediate');
}));

// ------------------------------------------------------------------ SNI, sessions, keepalive

test('SNI: sent only with proxySslServerName on; the upstream name by default; never an IP', timed(20000, async () => {
  const up = await tlsUpstream(certs.pem.localhost);
  const s = await sluice({
    '/named': { proxyPass: 'https://backend', proxySslServerName: true },
    '/named-off': { proxyPass: 'https://backend' },
    '/ip': { proxyPass: `https://127.0.0.1:${up.port}`, proxySslServerName: true },
    '/given': { proxyPass: `https://127.0.0.1:${up.port}`, proxySslServerName: true, proxySslName: 'b.test' },
  }, { backend: { servers: [up.addr] } });
  for (const p of ['/named', '/named-off', '/ip', '/given']) assert.is((await fetch1(s, p)).status, 200, p);
  assert.equal(up.seen.map((x) => [x.url, x.servername]), [['/named', 'backend'], ['/named-off', false], ['/ip', false], ['/given', 'b.test']]);
}));

test('proxySslSessionReuse: the second connection to a peer resumes the first one\'s session; off: never', timed(20000, async () => {
  const up = await tlsUpstream(certs.pem.localhost);
  const s = await sluice({
    '/on/': { proxyPass: `https://127.0.0.1:${up.port}` },
    '/off/': { proxyPass: `https://127.0.0.1:${up.port}`, proxySslSessionReuse: false },
  });
  for (const p of ['/on/1', '/on/2', '/on/3']) assert.is((await fetch1(s, p)).status, 200);
  assert.equal(up.seen.map((x) => x.reused), [false, true, true], 'resumed after the first (no keepalive: a connection each)');
  for (const p of ['/off/1', '/off/2']) assert.is((await fetch1(s, p)).status, 200);
  assert.equal(up.seen.slice(3).map((x) => x.reused), [false, false]);
  assert.is(up.handshakes, 5);
}));

test('proxySslSessionReuse with verify on: a resumed session is taken (it was checked for the same name)', timed(20000, async () => {
  const up = await tlsUpstream(certs.pem.localhost);
  const s = await sluice({
    '/v/': { proxyPass: `https://127.0.0.1:${up.port}`, ...VERIFY, proxySslName: 'localhost' },
    '/w/': { proxyPass: `https://127.0.0.1:${up.port}`, ...VERIFY, proxySslName: '$arg_n' },
  });
  for (const p of ['/v/1', '/v/2']) assert.is((await fetch1(s, p)).status, 200, p);
  assert.equal(up.seen.map((x) => x.reused), [false, true]);
  assert.is((await fetch1(s, '/w/1?n=localhost')).status, 200);
  const r = await refused(s, '/w/2?n=other.test');
  assert.is(r.status, 502, 'another name: a full handshake, and its check');
  assert.ok(r.lines[0]?.includes('does not match "other.test"'), r.lines.join('\n'));
}));

test('keepalive: N requests over one TLS connection (one handshake); TLS and plain kept apart in the pool', timed(20000, async () => {
  const up = await tlsUpstream(certs.pem.localhost);
  const s = await sluice({ '/': { proxyPass: 'https://ka', ...VERIFY, proxySslName: 'localhost' } }, { ka: { servers: [up.addr], keepalive: 4 } });
  const c = keep(await RawClient.open(s.port));
  for (let i = 0; i < 20; i++) {
    const [res] = await c.exchange(get('/k' + i));
    if (res?.status !== 200 || res.body.toString() !== 'ok /k' + i) assert.unreachable(`request ${i}: ${res?.status} ${res?.body}`);
  }
  assert.is(up.handshakes, 1, 'one handshake for 20 requests');
  const pool = s.config.upstreams.get('ka')!.pool!;
  assert.is(pool.count(), 1);
  assert.is(pool.count(up.addr), 0, 'not under the plain key');
}));

test('failover: a peer whose certificate is refused is a failed try; the next peer answers', timed(20000, async () => {
  const bad = await tlsUpstream(certs.pem.rogue);
  const good = await tlsUpstream(certs.pem.localhost);
  const s = await sluice({
    '/': { proxyPass: 'https://g', ...VERIFY, proxySslName: 'localhost', addHeader: [['X-Addr', '$upstream_addr'], ['X-Status', '$upstream_status']] },
  }, { g: { servers: [bad.addr, good.addr] } });
  captureLog();
  const res = await fetch1(s, '/f');
  stopCapture();
  assert.is(res.status, 200);
  assert.is(res.headers['x-addr'], `${bad.addr}, ${good.addr}`);
  assert.is(res.headers['x-status'], '502, 200');
}));

test('a plain HTTP upstream behind https://: 502 with the handshake\'s error', timed(20000, async () => {
  const { createServer } = await import('node:http');
  const plain = createServer((_q, r) => r.end('plain'));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  keep({ close: () => new Promise<void>((resolve) => { plain.closeAllConnections(); plain.close(() => resolve()); }) });
  const port = (plain.address() as { port: number }).port;
  const s = await sluice({ '/': { proxyPass: `https://127.0.0.1:${port}` } });
  const r = await refused(s, '/');
  assert.is(r.status, 502);
  assert.match(r.lines.join('\n'), /SSL_do_handshake\(\) failed \(SSL: error:0A00010B:SSL routines::wrong version number\) while SSL handshaking to upstream, client: 127\.0\.0\.1/);
}));

test('a peer that never finishes the handshake: proxyConnectTimeout covers it (504, "while SSL handshaking to upstream")', timed(20000, async () => {
  let hello = 0;
  const mute = keep(await netUpstream((sock) => sock.on('data', () => { hello++; }))); // takes the ClientHello, never answers
  const clock = new ManualClock();
  const s = await startServer({ errorLog: errorLines, servers: [{ listen: '127.0.0.1:0', locations: {
    '/': { proxyPass: `https://127.0.0.1:${mute.port}`, proxyConnectTimeout: '2s' },
  } }] } as SluiceConfig, { clock });
  keep({ close: () => s.close(100) });
  captureLog();
  const c = keep(await RawClient.open(s.port));
  c.write(get('/t'));
  assert.ok(await until(() => hello > 0), 'the ClientHello reached the peer');
  clock.advance(2000);
  await c.wait(1);
  const [res] = c.take();
  const lines = stopCapture().join('');
  assert.is(res!.status, 504);
  assert.match(lines, /upstream timed out while SSL handshaking to upstream/);
}));

test('proxySslCertificate: the upstream gets our client certificate', timed(20000, async () => {
  const up = await tlsUpstream(certs.pem.localhost, { ca: certs.caPem, requestCert: true });
  const s = await sluice({ '/': { proxyPass: `https://127.0.0.1:${up.port}`, proxySslCertificate: certs.client.cert, proxySslCertificateKey: certs.client.key } });
  assert.is((await fetch1(s, '/c')).status, 200);
  assert.is(up.seen[0].clientCn, 'client one');
}));

test('Upgrade over an https upstream: the 101 joins the client to the TLS connection, bytes echo both ways', timed(20000, async () => {
  const { createServer: createTls } = await import('node:tls');
  const sockets = new Set<import('node:net').Socket>();
  const srv = createTls(certs.pem.localhost, (sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let up = false;
    sock.on('data', (d: Buffer) => {
      if (up) { sock.write(d); return; }
      buf = Buffer.concat([buf, d]);
      const e = buf.indexOf('\r\n\r\n');
      if (e < 0) return;
      up = true;
      sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nready;');
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  keep({ close: () => new Promise<void>((resolve) => { for (const x of sockets) x.destroy(); srv.close(() => resolve()); }) });
  const port = (srv.address() as { port: number }).port;
  const s = await listen({ '/': {
    proxyPass: `https://127.0.0.1:${port}`, ...VERIFY, proxySslName: 'localhost',
    proxySetHeader: { Upgrade: '$http_upgrade', Connection: 'upgrade' },
  } });
  keep({ close: () => s.close(100) });
  const c = keep(await RawClient.open(s.port));
  c.write('GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
  const want = 'ready;hello over tls';
  await until(() => c.closed || c.pending().toString('latin1').includes('ready;'));
  c.write('hello over tls');
  await until(() => c.closed || c.pending().toString('latin1').endsWith(want));
  const text = c.pending().toString('latin1');
  assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.ok(text.endsWith('\r\n\r\n' + want), text);
}));

// ------------------------------------------------------------------ the HTTP client (requestUri)

test('requestUri https: verified by default (a CA given), SNI the host; sessions resumed across pooled and new connections', timed(20000, async () => {
  const up = await tlsUpstream(certs.pem.localhost);
  const c = new HttpClient();
  const a = await c.requestUri(`https://localhost:${up.port}/a`, { ca: certs.caPem, keepalive: false });
  assert.is(a.status, 200);
  assert.is(a.body.toString(), 'ok /a');
  const b = await c.requestUri(`https://localhost:${up.port}/b`, { ca: certs.caPem });
  assert.is(b.body.toString(), 'ok /b');
  const b2 = await c.requestUri(`https://localhost:${up.port}/b2`, { ca: certs.caPem });
  assert.is(b2.body.toString(), 'ok /b2');
  assert.equal(up.seen.map((x) => [x.servername, x.reused]), [['localhost', false], ['localhost', true], ['localhost', true]]);
  assert.is(up.handshakes, 2, 'the third request went over the kept connection');
  // an IP address is checked against the certificate's IP entries, as fetch does
  const ip = await c.requestUri(`https://127.0.0.1:${up.port}/ip`, { ca: certs.caPem, keepalive: false });
  assert.is(ip.status, 200);
  assert.is(up.seen[3].servername, false, 'no SNI for an IP address');
}));

test('requestUri https: a bad certificate is ETLS ("18: ...", "certificate host mismatch"); sslVerify: false takes it', timed(20000, async () => {
  const up = await tlsUpstream(extra.self);
  const c = new HttpClient();
  const e = await c.requestUri(`https://localhost:${up.port}/`, { keepalive: false }).then(() => null, (x: unknown) => x);
  assert.instance(e, HttpClientError);
  assert.is((e as HttpClientError).code, 'ETLS');
  assert.is((e as HttpClientError).message, '18: self-signed certificate');
  const good = await tlsUpstream(certs.pem.localhost);
  const m = await c.requestUri(`https://localhost:${good.port}/`, { ca: certs.caPem, sslServerName: 'a.test', keepalive: false }).then(() => null, (x: unknown) => x);
  assert.is((m as HttpClientError).message, 'certificate host mismatch');
  const ok = await c.requestUri(`https://localhost:${up.port}/off`, { sslVerify: false, keepalive: false });
  assert.is(ok.body.toString(), 'ok /off');
}));

test('connect({ ssl: true }) + request(): https with the body read on demand', timed(20000, async () => {
  const up = await tlsUpstream(certs.pem.localhost);
  const c = new HttpClient();
  c.connect('localhost', up.port, { ssl: true, ca: certs.caPem });
  const res = await c.request({ path: '/s' });
  assert.is(res.status, 200);
  assert.is((await res.readBody()).toString(), 'ok /s');
  c.close();
}));

// ------------------------------------------------------------------ config

test('config: verify without a trusted certificate, a missing file, a certificate without its key', () => {
  const conf = (loc: Record<string, unknown>) => ({ servers: [{ listen: '127.0.0.1:0', locations: { '/': { proxyPass: 'https://127.0.0.1:1', ...loc } } }] }) as unknown as SluiceConfig;
  assert.throws(() => resolveConfig(conf({ proxySslVerify: true })), /no "proxySslTrustedCertificate" for "proxySslVerify"/);
  assert.throws(() => resolveConfig(conf({ proxySslVerify: true, proxySslTrustedCertificate: '/nonexistent/ca.crt' })), /cannot load trusted certificate "\/nonexistent\/ca.crt": ENOENT/);
  assert.throws(() => resolveConfig(conf({ proxySslCertificate: certs.client.cert })), /no "proxySslCertificateKey" is defined for certificate/);
  assert.throws(() => resolveConfig(conf({ proxySslProtocols: 'SSLv3' })), /SSLv3/);
  // http:// does not need the TLS settings to be complete (nginx checks them only where ssl is used)
  resolveConfig({ servers: [{ listen: '127.0.0.1:0', locations: { '/': { proxyPass: 'http://127.0.0.1:1', proxySslVerify: true } } }] } as unknown as SluiceConfig);
  const t = resolveConfig(conf({})).servers[0].locations.locations[0].conf.proxyPass!;
  assert.is(t.ssl, true);
  assert.is(t.port, 1);
  const d = resolveConfig({ servers: [{ listen: '127.0.0.1:0', locations: { '/': { proxyPass: 'https://h.test/x' } } }] } as unknown as SluiceConfig);
  const dt = d.servers[0].locations.locations[0].conf.proxyPass!;
  assert.is(dt.port, 443, 'https: port 443 by default');
  assert.is(dt.proxyHost, 'h.test');
});

test.run();
