// listen ... ssl: SNI picking the server and its certificate, protocol and cipher limits, session
// resumption (tickets and the session id cache), client certificates, 497 for plain HTTP, https
// redirects, config refusals. Certificates come from test/tls-certs.ts (made at start).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, resolveConfig, type SluiceServer } from '../../src/index.js';
import { raw, timed, captureLog, stopCapture, errorLines } from '../helpers.js';
import { testCerts } from '../tls-certs.js';

const c = testCerts();
const SHOW = '$server_name|$scheme|$https|$ssl_protocol|$ssl_server_name|$ssl_session_reused|$ssl_client_verify|$ssl_client_s_dn';

interface Got { status: number; head: string; body: string; cn: string; protocol: string | null; cipher: string; session: Buffer | undefined }

/** One request over a new TLS connection (Connection: close); resolves on the close. */
function get(port: number, o: ConnectionOptions & { hostHeader?: string; uri?: string } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const t = tlsConnect({ port, host: '127.0.0.1', ca: c.caPem, ...o });
    let data = '';
    let session: Buffer | undefined;
    let cn = '';
    let protocol: string | null = null;
    let cipher = '';
    t.on('session', (s) => { session = s; });
    t.on('secureConnect', () => {
      cn = String(t.getPeerCertificate().subject?.CN ?? '');
      protocol = t.getProtocol();
      cipher = t.getCipher()?.name ?? '';
      t.write(`GET ${o.uri ?? '/'} HTTP/1.1\r\nHost: ${o.hostHeader ?? o.servername ?? 'x'}\r\nConnection: close\r\n\r\n`);
    });
    t.on('data', (d) => { data += d; });
    t.on('error', reject);
    t.on('close', () => {
      const [head, body] = [data.slice(0, data.indexOf('\r\n\r\n')), data.slice(data.indexOf('\r\n\r\n') + 4)];
      resolve({ status: Number(head.split(' ')[1]), head, body, cn, protocol, cipher, session });
    });
  });
}

function fails(port: number, o: ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const t = tlsConnect({ port, host: '127.0.0.1', ca: c.caPem, ...o });
    t.on('secureConnect', () => { t.destroy(); resolve('connected'); });
    t.on('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message));
  });
}

async function two(extra: Record<string, unknown> = {}, a: Record<string, unknown> = {}): Promise<SluiceServer> {
  return startServer({
    servers: [
      { listen: '127.0.0.1:0 ssl', serverName: 'a.test', sslCertificate: [c.f.a.cert, c.f['a-ec'].cert], sslCertificateKey: [c.f.a.key, c.f['a-ec'].key],
        ...extra, ...a, locations: { '/': { return: [200, SHOW] }, '/dir': { return: [301, '/there'] } } },
      { listen: '127.0.0.1:0 ssl', serverName: 'b.test', sslCertificate: c.f.b.cert, sslCertificateKey: c.f.b.key, ...extra, locations: { '/': { return: [200, SHOW] } } },
    ],
  } as never);
}

test('two servers on one port chosen by SNI, each with its certificate; no or unknown SNI: the default; then Host picks the server', timed(20000, async () => {
  const s = await two();
  try {
    const a = await get(s.port, { servername: 'a.test' });
    assert.is(a.cn, 'a.test', 'a.test presents its certificate');
    assert.is(a.body, 'a.test|https|on|TLSv1.3|a.test|.|NONE|', 'variables');
    const b = await get(s.port, { servername: 'b.test' });
    assert.is(b.cn, 'b.test', 'b.test presents its certificate');
    assert.ok(b.body.startsWith('b.test|https|on|'), b.body);
    const none = await get(s.port, { checkServerIdentity: () => undefined, hostHeader: 'b.test' });
    assert.is(none.cn, 'a.test', 'no SNI: the default server\'s certificate');
    assert.ok(none.body.startsWith('b.test|'), 'and Host still picks b.test: ' + none.body);
    const other = await get(s.port, { servername: 'zzz.test', checkServerIdentity: () => undefined, hostHeader: 'zzz.test' });
    assert.is(other.cn, 'a.test', 'an unknown name: the default server');
    const cross = await get(s.port, { servername: 'b.test', hostHeader: 'a.test' });
    assert.is(cross.cn, 'b.test');
    assert.ok(cross.body.startsWith('a.test|https|on|TLSv1.3|b.test|'), 'SNI b, Host a: a answers, $ssl_server_name is b: ' + cross.body);
    const r = await get(s.port, { servername: 'a.test', uri: '/dir' });
    const upper = await get(s.port, { servername: 'B.Test', hostHeader: 'b.test' });
    assert.is(upper.cn, 'b.test', 'SNI is case-blind');
    assert.ok(upper.body.startsWith('b.test|https|on|TLSv1.3|B.Test|'), '$ssl_server_name is the name as sent: ' + upper.body);
    assert.match(r.head, new RegExp(`\\r\\nLocation: https://a\\.test:${s.port}/there`), 'an absolute redirect says https://');
  } finally { await s.close(0); }
}));

test('421: a Host other than the SNI name whose server verifies clients (the Host\'s server decides, as ngx_http_set_virtual_server)', timed(20000, async () => {
  const s = await startServer({
    servers: [
      { listen: '127.0.0.1:0 ssl', serverName: 'a.test', sslCertificate: c.f.a.cert, sslCertificateKey: c.f.a.key, locations: { '/': { return: [200, SHOW] } } },
      { listen: '127.0.0.1:0 ssl', serverName: 'b.test', sslCertificate: c.f.b.cert, sslCertificateKey: c.f.b.key, sslVerifyClient: 'optional', sslClientCertificate: c.ca, locations: { '/': { return: [200, SHOW] } } },
    ],
  } as never);
  try {
    assert.is((await get(s.port, { servername: 'b.test', hostHeader: 'a.test' })).status, 200, 'SNI b (verifies), Host a (does not): a answers');
    assert.is((await get(s.port, { servername: 'a.test', hostHeader: 'b.test' })).status, 421, 'SNI a, Host b (verifies): 421');
    assert.is((await get(s.port, { servername: 'a.test', hostHeader: 'b.test', ...c.pem('client') })).status, 421, 'even with a good certificate');
    assert.is((await get(s.port, { servername: 'zzz.test', hostHeader: 'b.test', checkServerIdentity: () => undefined })).status, 200, 'an unknown SNI name is not kept: Host picks b');
    assert.is((await get(s.port, { checkServerIdentity: () => undefined, hostHeader: 'b.test' })).status, 200, 'no SNI: Host picks b');
  } finally { await s.close(0); }
}));

test('RSA and ECDSA certificates on one server: the client\'s signature algorithms choose', timed(20000, async () => {
  const s = await two();
  try {
    const rsa = await get(s.port, { servername: 'a.test', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
    assert.is(rsa.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
    const ec = await get(s.port, { servername: 'a.test', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    assert.is(ec.cipher, 'ECDHE-ECDSA-AES128-GCM-SHA256', 'the ECDSA pair answers an ECDSA-only client');
  } finally { await s.close(0); }
}));

test('sslProtocols and sslCiphers are enforced', timed(20000, async () => {
  const s12 = await two({ sslProtocols: 'TLSv1.2' });
  const s13 = await two({ sslProtocols: ['TLSv1.3'] });
  const sc = await two({ sslProtocols: 'TLSv1.2', sslCiphers: 'ECDHE-RSA-AES256-GCM-SHA384', sslPreferServerCiphers: true });
  try {
    assert.is(await fails(s12.port, { servername: 'a.test', minVersion: 'TLSv1.3' }), 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'a TLSv1.2-only server refuses a TLSv1.3-only client');
    assert.is((await get(s12.port, { servername: 'a.test' })).protocol, 'TLSv1.2');
    assert.ok(/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/.test(await fails(s13.port, { servername: 'a.test', maxVersion: 'TLSv1.2' })), 'a TLSv1.3-only server refuses a TLSv1.2-only client');
    assert.is((await get(s13.port, { servername: 'a.test' })).protocol, 'TLSv1.3');
    assert.is((await get(sc.port, { servername: 'a.test' })).cipher, 'ECDHE-RSA-AES256-GCM-SHA384', 'the one cipher allowed');
    assert.ok(/HANDSHAKE_FAILURE/.test(await fails(sc.port, { servername: 'a.test', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })), 'a client without it is refused');
  } finally { await s12.close(0); await s13.close(0); await sc.close(0); }
}));

test('session resumption: tickets (TLSv1.2 and 1.3), the session id cache with tickets off, none with both off', timed(20000, async () => {
  const s = await two();
  const cache = await two({ sslSessionTickets: false, sslSessionCache: 'shared:SSL:1m', sslSessionTimeout: '10m' });
  const off = await two({ sslSessionTickets: false });
  try {
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      const first = await get(s.port, { servername: 'a.test', maxVersion: v });
      assert.ok(first.body.includes('|.|'), `${v}: the first is new`);
      const again = await get(s.port, { servername: 'a.test', maxVersion: v, session: first.session });
      assert.ok(again.body.includes(`|${v}|a.test|r|`), `${v}: the second reuses the session: ${again.body}`);
    }
    const f = await get(cache.port, { servername: 'a.test', maxVersion: 'TLSv1.2' });
    assert.ok((await get(cache.port, { servername: 'a.test', maxVersion: 'TLSv1.2', session: f.session })).body.includes('|r|'), 'session id cache');
    const o = await get(off.port, { servername: 'a.test', maxVersion: 'TLSv1.2' });
    assert.ok((await get(off.port, { servername: 'a.test', maxVersion: 'TLSv1.2', session: o.session })).body.includes('|.|'), 'no cache, no tickets: a full handshake');
  } finally { await s.close(0); await cache.close(0); await off.close(0); }
}));

test('client certificates: valid, missing, invalid; optional and optional_no_ca', timed(20000, async () => {
  const ca = c.ca;
  const on = await two({ sslVerifyClient: 'on', sslClientCertificate: ca, errorLog: [errorLines, 'info'] });
  const opt = await two({ sslVerifyClient: 'optional', sslClientCertificate: ca });
  const noCa = await two({ sslVerifyClient: 'optional_no_ca', sslClientCertificate: ca });
  captureLog();
  try {
    const ok = await get(on.port, { servername: 'a.test', ...c.pem('client') });
    assert.is(ok.status, 200);
    assert.ok(ok.body.endsWith('|SUCCESS|O=sluice test,CN=client one'), ok.body);
    const missing = await get(on.port, { servername: 'a.test' });
    assert.is(missing.status, 400, 'no certificate: 400');
    assert.match(missing.body, /<title>400 No required SSL certificate was sent<\/title>/);
    const bad = await get(on.port, { servername: 'a.test', ...c.pem('rogue-client') });
    assert.is(bad.status, 400);
    assert.match(bad.body, /<title>400 The SSL certificate error<\/title>/);
    assert.ok((await get(opt.port, { servername: 'a.test' })).body.endsWith('|NONE|'), 'optional: none is fine');
    assert.is((await get(opt.port, { servername: 'a.test', ...c.pem('rogue-client') })).status, 400, 'optional: a bad one is not');
    const nc = await get(noCa.port, { servername: 'a.test', ...c.pem('rogue-client') });
    assert.is(nc.status, 200, 'optional_no_ca: an unknown issuer passes');
    assert.match(nc.body, /\|FAILED:/);
  } finally {
    const log = stopCapture().join('\n');
    await on.close(0); await opt.close(0); await noCa.close(0);
    assert.match(log, /client sent no required SSL certificate/, log);
    assert.match(log, /client SSL certificate verify error: \(2[01]:unable to /, log);
  }
}));

test('plain HTTP to a TLS port: 497 (a 400 page saying so, the connection closed); errorPage 497 redirects', timed(20000, async () => {
  const s = await two({}, { errorPage: '497 https://$host:$server_port$request_uri' });
  const p = await two();
  try {
    const r = await raw(p.port, 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n');
    assert.match(r.text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(r.text, /<title>400 The plain HTTP request was sent to HTTPS port<\/title>/);
    assert.match(r.text, /Connection: close/);
    const e = await raw(s.port, 'GET /x?y HTTP/1.1\r\nHost: a.test\r\n\r\n');
    assert.match(e.text, /^HTTP\/1\.1 302 /);
    assert.match(e.text, new RegExp(`Location: https://a\\.test:${s.port}/x\\?y\\r\\n`));
  } finally { await s.close(0); await p.close(0); }
}));

test('an answer written just before the close gets there over TLS (a head over the limit: 431, then the close)', timed(20000, async () => {
  const s = await two();
  try {
    const big = `GET / HTTP/1.1\r\nHost: a.test\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`;
    const got = await new Promise<string>((resolve, reject) => {
      const t = tlsConnect({ port: s.port, host: '127.0.0.1', ca: c.caPem, servername: 'a.test' });
      let data = '';
      t.on('secureConnect', () => t.write(big));
      t.on('data', (d) => { data += d; });
      t.on('error', reject);
      t.on('close', () => resolve(data));
    });
    assert.match(got, /^HTTP\/1\.1 431 /, JSON.stringify(got.slice(0, 80)));
    assert.match(got, /\r\nConnection: close\r\n/);
  } finally { await s.close(0); }
}));

test('config: http2 refused, a TLS address without a certificate refused, stapling refused, pass phrases, unpaired keys', timed(20000, async () => {
  assert.throws(() => resolveConfig({ servers: [{ listen: '443 ssl http2' }] }), /"http2" parameter of "listen" is not supported/);
  await startServer({ servers: [{ listen: '127.0.0.1:0 ssl' }] }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /no "sslCertificate" is defined for the "listen \.\.\. ssl" directive/));
  assert.throws(() => resolveConfig({ servers: [{ listen: 80, sslStapling: true }] } as never), /"sslStapling" is not supported/);
  assert.throws(() => resolveConfig({ servers: [{ listen: 80, sslCertificate: c.f.a.cert }] } as never), /in pairs/);
  assert.throws(() => resolveConfig({ servers: [{ listen: 80, sslVerifyClient: 'on' }] } as never), /no "sslClientCertificate"/);
  const pw = join(c.dir, 'pw.txt');
  writeFileSync(pw, 'wrong\nsecret\n');
  const s = await startServer({ servers: [{ listen: '127.0.0.1:0 ssl', sslCertificate: c.f.enc.cert, sslCertificateKey: c.f.enc.key, sslPasswordFile: pw, locations: { '/': { return: [200, 'pw'] } } }] } as never);
  try { assert.is((await get(s.port, { servername: 'a.test' })).body, 'pw', 'the second pass phrase opens the key'); } finally { await s.close(0); }
}));

// no cleanup here: other files of the run share the certificates (test/tls-certs.ts removes them at exit)
test.run();
