// proxyPass and what reaches the wire: header names and values (config, $variables, handlers,
// the client's bytes), UTF-8 above U+007F, the request line, hop-by-hop headers named by
// Connection (both ways), and a client body that fails while it is streamed upstream.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'node:net';
import { listen, raw, timed, get, captureLog, stopCapture, errorLines, until, RawClient, type ParsedResponse } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { SluiceConfig } from '../../src/http/conf/config.js';
import type { Request } from '../../src/http/request.js';
import { ConfigError } from '../../src/http/conf/size-time.js';
import { echoUpstream, netUpstream, scriptedUpstream, type Seen, type Upstream } from './upstreams.js';

type Locations = Parameters<typeof listen>[0];

const open: { close(): unknown }[] = [];
function keep<T extends { close(): unknown }>(x: T): T { open.push(x); return x; }
test.after.each(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function sluice(locations: Locations, upstreams: SluiceConfig['upstreams'] = {}, server: Record<string, unknown> = {}): Promise<SluiceServer> {
  const s = await listen(locations, server, { upstreams } as Partial<SluiceConfig>);
  keep({ close: async () => { await s.close(100); for (const g of s.config.upstreams.values()) g.pool?.clear(); } });
  return s;
}

/** An upstream that keeps every request head it gets (as latin1: one char per byte) and answers 200. */
async function headUpstream(): Promise<Upstream & { heads: string[] }> {
  const heads: string[] = [];
  const u = keep(await scriptedUpstream((_t, head, sock) => {
    heads.push(head);
    sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  }));
  return Object.assign(u, { heads });
}

/** The lines of a head (latin1), split on CRLF only. */
const lines = (head: string) => head.split('\r\n');
/** `s` as the latin1 string of its UTF-8 bytes (how a byte-exact head shows it). */
const u8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

/** Error log lines written while `fn` runs. */
async function logged(fn: () => Promise<void>): Promise<string> {
  captureLog();
  try {
    await fn();
  } finally {
    stopCapture();
  }
  return errorLines.lines.join('');
}

// ------------------------------------------------------------------ proxySetHeader at load

test('proxySetHeader: a name that is not a token or a value with a control character is a ConfigError', async () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ 'X Bad': 'v' }, /invalid header name "X Bad"/],
    [{ 'X-A:': 'v' }, /invalid header name "X-A:"/],
    [{ '': 'v' }, /invalid header name ""/],
    [{ 'É': 'v' }, /invalid header name/],
    [{ 'X-A': 'a\r\nX-Injected: 1' }, /invalid value [\s\S]* for header "X-A"/],
    [{ 'X-A': 'nul\0' }, /for header "X-A"/],
    [{ 'X-A': 'del\x7f' }, /for header "X-A"/],
    [{ 'X-A': 'bell\x07' }, /for header "X-A"/],
    [{ 'X-A': 'half \uD800 a pair' }, /for header "X-A"/], // no UTF-8 form
    [{ 'X-A': 5 }, /for header "X-A"/],
  ];
  for (const [h, re] of bad) {
    try {
      await sluice({ '/': { proxyPass: 'http://127.0.0.1:1', proxySetHeader: h as Record<string, string> } });
      assert.unreachable(`accepted ${JSON.stringify(h)}`);
    } catch (e) {
      assert.instance(e, ConfigError, JSON.stringify(h));
      assert.is((e as ConfigError).key, 'proxySetHeader');
      assert.match((e as Error).message, re, JSON.stringify(h));
    }
  }
  // text above U+007F, HTAB and $variables are fine
  await sluice({ '/': { proxyPass: 'http://127.0.0.1:1', proxySetHeader: { 'X-Name': 'Čapek\tč', 'X-V': '$host', 'X-E': '' } } });
});

// ------------------------------------------------------------------ values made per request

test('proxySetHeader: an expanded value with CR/LF is refused: 500, logged, nothing sent upstream', timed(30000, async () => {
  const up = await headUpstream();
  const s = await sluice({
    '/': {
      proxyPass: 'http://u',
      proxySetHeader: { 'X-From-Var': 'v=$evil' },
      rewriteHandler: (r: Request) => { r.var.evil = r.uri === '/bad' ? 'x\r\nX-Injected: yes' : r.uri === '/nul' ? 'x\0y' : 'fine'; },
    },
  }, { u: { servers: [up.addr], keepalive: 2 } });
  let res: ParsedResponse[] = [];
  const log = await logged(async () => { res = (await raw(s.port, get('/bad'), { responses: 1 })).responses; });
  assert.is(res[0]?.status, 500, 'refused with 500');
  assert.match(log, /invalid header value for "X-From-Var"/, `logged, naming the header: ${log}`);
  assert.not.match(log, /X-Injected/, 'the value itself is not written to the log');
  assert.is((await raw(s.port, get('/nul'), { responses: 1 })).responses[0]?.status, 500, 'NUL too');
  assert.is(up.conns, 0, 'no connection to the upstream was made');
  const [ok] = (await raw(s.port, get('/fine'), { responses: 1 })).responses;
  assert.is(ok?.status, 200, 'a good value goes through');
  assert.ok(lines(up.heads[0]).includes('X-From-Var: v=fine'), up.heads[0]);
}));

test('UTF-8 on the wire: proxySetHeader text, $variables and handler-set headers above U+007F go as UTF-8; the client\'s bytes as they came', timed(30000, async () => {
  const up = await headUpstream();
  const s = await sluice({
    '/': {
      proxyPass: 'http://u',
      proxySetHeader: { 'X-Static': 'Čapek é', 'X-Dyn': 'v=$uni' },
      rewriteHandler: (r: Request) => {
        r.var.uni = 'č ŝ 😀';
        if (r.uri === '/set') r.headersIn.set('X-Set', 'Ċ and é');
      },
    },
    '/static/': { proxyPass: 'http://u', proxySetHeader: { 'X-Only-Static': 'Ĳ ĳ č' } },
  }, { u: { servers: [up.addr], keepalive: 2 } });
  const c = keep(await RawClient.open(s.port));
  // bytes a client may send in a value: UTF-8, latin1, anything above 0x7F (obs-text)
  const clientBytes = Buffer.from([0x63, 0xc4, 0x8d, 0x20, 0xe9, 0xff, 0x80, 0x09, 0x7e]);
  const req = Buffer.concat([Buffer.from('GET /raw HTTP/1.1\r\nHost: x\r\nX-Raw: '), clientBytes, Buffer.from('\r\n\r\n')]);
  assert.is((await c.exchange(req))[0]?.status, 200);
  assert.is((await c.exchange(get('/set')))[0]?.status, 200);
  assert.is((await c.exchange(get('/static/')))[0]?.status, 200);
  const [h1, h2, h3] = up.heads.map(lines);
  assert.ok(h1.includes('X-Static: ' + u8('Čapek é')), `static text as UTF-8: ${JSON.stringify(h1)}`);
  assert.ok(h1.includes('X-Dyn: v=' + u8('č ŝ 😀')), `an expanded value as UTF-8: ${JSON.stringify(h1)}`);
  assert.ok(h1.includes('X-Raw: ' + clientBytes.toString('latin1')), `the client's bytes exactly: ${JSON.stringify(h1)}`);
  assert.ok(h2.includes('X-Set: ' + u8('Ċ and é')), `a header a handler set, as UTF-8: ${JSON.stringify(h2)}`);
  assert.ok(h3.includes('X-Only-Static: ' + u8('Ĳ ĳ č')), `a location without $variables: ${JSON.stringify(h3)}`);
  for (const h of [h1, h2, h3]) {
    for (const l of h) assert.ok(!/[\0-\x08\x0a-\x1f\x7f]/.test(l), `no control byte in ${JSON.stringify(l)}`);
  }
}));

test('a header a handler set with a control character or a bad name is refused: 500, nothing sent', timed(30000, async () => {
  const up = await headUpstream();
  const s = await sluice({
    '/': {
      proxyPass: 'http://u',
      rewriteHandler: (r: Request) => {
        if (r.uri === '/ctl') r.headersIn.set('X-Ctl', 'a\x01b');
        if (r.uri === '/name') r.headersIn.set('X Bad', 'v');
      },
    },
  }, { u: { servers: [up.addr] } });
  assert.is((await raw(s.port, get('/ctl'), { responses: 1 })).responses[0]?.status, 500, 'a control character');
  assert.is((await raw(s.port, get('/name'), { responses: 1 })).responses[0]?.status, 500, 'a name that is not a token');
  assert.is(up.conns, 0, 'nothing reached the upstream');
}));

// ------------------------------------------------------------------ the request line

test('request line: a method or URI with CR/LF, space or a control character is refused with 500 and logged', timed(30000, async () => {
  const up = await headUpstream();
  const s = await sluice({
    '/p/': {
      proxyPass: 'http://u/x/',
      rewriteHandler: (r: Request) => {
        if (r.uri === '/p/crlf') r.var.args = 'a=1 HTTP/1.1\r\nX-Injected: 1\r\nX-Pad: ';
        if (r.uri === '/p/space') r.var.args = 'a=1 b';
        if (r.uri === '/p/method') r.method = 'GET /smuggled HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET';
        if (r.uri === '/p/utf8') r.var.args = 'q=č';
      },
    },
  }, { u: { servers: [up.addr], keepalive: 2 } });
  let log = '';
  for (const p of ['/p/crlf', '/p/space', '/p/method']) {
    log += await logged(async () => {
      const [res] = (await raw(s.port, get(p), { responses: 1 })).responses; // a 500 closes the connection
      assert.is(res?.status, 500, p);
    });
  }
  assert.match(log, /invalid URI/, log);
  assert.match(log, /invalid method/, log);
  assert.is(up.conns, 0, 'nothing reached the upstream');
  assert.is((await raw(s.port, get('/p/utf8'), { responses: 1 })).responses[0]?.status, 200);
  assert.is(lines(up.heads[0])[0], `GET /x/utf8?q=${u8('č')} HTTP/1.1`, 'args above U+007F as UTF-8');
}));

// ------------------------------------------------------------------ Connection-named hop-by-hop

test('hop-by-hop: request headers named in the client\'s Connection header are not passed upstream', timed(30000, async () => {
  const up = keep(await echoUpstream());
  const s = await sluice({ '/': { proxyPass: 'http://e', proxySetHeader: { 'X-Ours': 'set' } } }, { e: { servers: [up.addr], keepalive: 2 } });
  const c = keep(await RawClient.open(s.port));
  const seen = async (extra: string): Promise<Seen> => JSON.parse((await c.exchange(get('/', extra)))[0].body.toString());
  const a = await seen('Connection: keep-alive, X-Secret , x-other-HOP\r\nConnection: X-Second\r\nX-Secret: s\r\nX-Other-Hop: o\r\n'
    + 'X-Second: 2\r\nX-Kept: k\r\nX-Ours: client\r\nUser-Agent: ua\r\n');
  assert.is(a.headers['x-secret'], undefined, 'named in Connection: not passed');
  assert.is(a.headers['x-other-hop'], undefined, 'names are case-insensitive, OWS trimmed');
  assert.is(a.headers['x-second'], undefined, 'a second Connection header counts too');
  assert.is(a.headers['x-kept'], 'k', 'the others are passed');
  assert.is(a.headers['user-agent'], 'ua');
  assert.is(a.headers['x-ours'], 'set', 'proxySetHeader still wins');
  const k = await seen('Connection: User-Agent\r\nUser-Agent: ua\r\nX-Kept: k\r\n');
  assert.is(k.headers['user-agent'], undefined, 'a known header named in Connection');
  assert.is(k.headers['x-kept'], 'k');
  const plain = await seen('Connection: keep-alive\r\nX-Kept: k\r\n');
  assert.is(plain.headers['x-kept'], 'k', 'keep-alive alone changes nothing');
}));

test('hop-by-hop: response headers named in the upstream\'s Connection header are not passed to the client', timed(30000, async () => {
  const up = keep(await scriptedUpstream((target, _h, sock) => {
    const conn = target === '/close' ? 'close, X-Hop' : 'keep-alive, X-Hop, Set-Cookie';
    sock.write(`HTTP/1.1 200 OK\r\nConnection: ${conn}\r\nX-Hop: h\r\nSet-Cookie: a=1\r\nX-Kept: k\r\nContent-Length: 2\r\n\r\nok`);
    if (target === '/close') sock.end();
  }));
  const s = await sluice({ '/': { proxyPass: 'http://r' } }, { r: { servers: [up.addr], keepalive: 2 } });
  const c = keep(await RawClient.open(s.port));
  for (const p of ['/ka', '/ka', '/close']) {
    const [res] = await c.exchange(get(p));
    assert.is(res?.status, 200, p);
    assert.is(res.headers['x-hop'], undefined, `${p}: named in Connection, not passed`);
    assert.is(res.headers['x-kept'], 'k', `${p}: the others are`);
    assert.is(res.body.toString(), 'ok');
  }
  assert.is(up.conns, 1, 'keep-alive still worked');
  const [one] = await c.exchange(get('/ka'));
  assert.is(one.headers['set-cookie'], undefined, 'a known header named in Connection');
  assert.is(up.conns, 2, '"close" was still honoured');
}));

// ------------------------------------------------------------------ response header bytes

test('response headers: UTF-8 bytes from the upstream reach the client as they came, never as a control byte', timed(30000, async () => {
  const utf8 = Buffer.from('caf\xc3\xa9 \xc4\x8d \xc4\x8a', 'latin1'); // "café č Ċ": Ċ's low byte would be LF
  const latin = Buffer.from('caf\xe9', 'latin1'); // obs-text that is not UTF-8
  const up = keep(await netUpstream((sock) => {
    sock.once('data', () => sock.end(Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nX-Utf8: '), utf8, Buffer.from('\r\nX-Latin: '), latin, Buffer.from('\r\nContent-Length: 2\r\n\r\nok'),
    ])));
  }));
  const s = await sluice({ '/': { proxyPass: 'http://r' } }, { r: { servers: [up.addr] } });
  const c = keep(await RawClient.open(s.port));
  c.socket.write(get('/'));
  assert.ok(await until(() => c.pending().includes('\r\n\r\nok')), 'answered');
  const head = c.pending().toString('latin1').split('\r\n\r\n')[0];
  const hl = lines(head);
  assert.ok(hl.includes('X-Utf8: ' + utf8.toString('latin1')), `UTF-8 bytes exactly: ${JSON.stringify(hl)}`);
  assert.ok(hl.includes('X-Latin: ' + u8('café')) || hl.includes('X-Latin: ' + latin.toString('latin1')), `obs-text kept readable: ${JSON.stringify(hl)}`);
  for (const l of hl) assert.ok(!/[\0-\x08\x0a-\x1f\x7f]/.test(l), `no control byte in ${JSON.stringify(l)}`);
}));

// ------------------------------------------------------------------ a client body that fails mid-stream

/** A mute upstream (reads, never answers) that says how many body bytes it got. */
async function muteUpstream(): Promise<Upstream & { got: () => string }> {
  let got = '';
  const u = keep(await netUpstream((sock: Socket) => { sock.on('data', (d: Buffer) => { got += d.toString('latin1'); }); }));
  return Object.assign(u, { got: () => got });
}

const CHUNKED_HEAD = 'POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';

test('streamed body: a malformed chunk answers 400 at once and closes the upstream connection (not pooled)', timed(30000, async () => {
  const up = await muteUpstream();
  const s = await sluice({ '/': { proxyPass: 'http://m', proxyReadTimeout: '20s' } }, { m: { servers: [up.addr], keepalive: 4 } });
  const c = keep(await RawClient.open(s.port));
  c.socket.write(CHUNKED_HEAD + '5\r\nhello\r\n');
  assert.ok(await until(() => up.got().includes('hello')), 'the first chunk was streamed upstream');
  const [res] = await c.exchange('zz\r\nnot a chunk\r\n');
  assert.is(res?.status, 400, 'answered 400, not 504 after proxyReadTimeout');
  assert.ok(await until(() => up.sockets.size === 0), 'the upstream connection was closed');
  assert.is(s.config.upstreams.get('m')!.pool!.count(), 0, 'and not kept');
  assert.ok(await c.waitClosed(), 'the client connection is closed after a bad body');
}));

test('streamed body: the client body timeout answers 408 at once and closes the upstream connection', timed(30000, async () => {
  const up = await muteUpstream();
  // long enough for the first chunk to reach the upstream on a loaded machine before it fires
  const s = await sluice({ '/': { proxyPass: 'http://m', proxyReadTimeout: '20s', clientBodyTimeout: '500ms' } },
    { m: { servers: [up.addr], keepalive: 4 } });
  const c = keep(await RawClient.open(s.port));
  const [res] = await c.exchange(CHUNKED_HEAD + '5\r\nhello\r\n'); // and then nothing
  assert.is(res?.status, 408);
  assert.ok(up.got().includes('hello'), 'the body had been streamed');
  assert.ok(await until(() => up.sockets.size === 0), 'the upstream connection was closed');
  assert.is(s.config.upstreams.get('m')!.pool!.count(), 0);
}));

test('streamed body: more than clientMaxBodySize answers 413 at once and closes the upstream connection', timed(30000, async () => {
  const up = await muteUpstream();
  const s = await sluice({ '/': { proxyPass: 'http://m', proxyReadTimeout: '20s', clientMaxBodySize: 8 } },
    { m: { servers: [up.addr], keepalive: 4 } });
  const c = keep(await RawClient.open(s.port));
  c.socket.write(CHUNKED_HEAD + '5\r\nhello\r\n');
  assert.ok(await until(() => up.got().includes('hello')), 'streaming');
  const [res] = await c.exchange('5\r\nworld\r\n');
  assert.is(res?.status, 413);
  assert.ok(await until(() => up.sockets.size === 0), 'the upstream connection was closed');
}));

test('a chunked body that came whole with the head is held to the location\'s clientMaxBodySize: 413, nothing sent upstream', timed(30000, async () => {
  const up = await muteUpstream();
  // the server's limit (1m) is what applied while the bytes were read; the location's is 8
  const s = await sluice({ '/': { proxyPass: 'http://m', proxyReadTimeout: '20s', clientMaxBodySize: 8 } },
    { m: { servers: [up.addr], keepalive: 4 } });
  const c = keep(await RawClient.open(s.port));
  const [res] = await c.exchange(CHUNKED_HEAD + '5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n');
  assert.is(res?.status, 413);
  assert.ok(await c.waitClosed(), 'closed');
  assert.is(up.conns, 0, 'nothing went upstream');
}));

test('streamed body: a bad chunk after the upstream answered cuts the response to the client', timed(30000, async () => {
  // the upstream answers at once and keeps its body open: the header is already out
  const up = keep(await netUpstream((sock) => {
    sock.once('data', () => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial' + '.'.repeat(8000)));
  }));
  const s = await sluice({ '/': { proxyPass: 'http://a', proxyReadTimeout: '20s' } }, { a: { servers: [up.addr], keepalive: 4 } });
  const c = keep(await RawClient.open(s.port));
  c.socket.write(CHUNKED_HEAD + '5\r\nhello\r\n');
  assert.ok(await until(() => c.pending().includes('partial')), 'the response is under way');
  c.socket.write('zz\r\n');
  assert.ok(await c.waitClosed(), 'the client connection is cut (the header had gone)');
  assert.ok(await until(() => up.sockets.size === 0), 'the upstream connection was closed');
  assert.is(s.config.upstreams.get('a')!.pool!.count(), 0);
}));

test('body read first (proxyHttpVersion 1.0, chunked): a bad chunk is 400, a timeout 408, nothing sent upstream', timed(30000, async () => {
  const up = await muteUpstream();
  const s = await sluice({ '/': { proxyPass: 'http://m', proxyHttpVersion: '1.0', proxyReadTimeout: '20s', clientBodyTimeout: '150ms' } },
    { m: { servers: [up.addr] } });
  const c = keep(await RawClient.open(s.port));
  const [bad] = await c.exchange(CHUNKED_HEAD + '5\r\nhello\r\nzz\r\n');
  assert.is(bad?.status, 400);
  const c2 = keep(await RawClient.open(s.port));
  const [slow] = await c2.exchange(CHUNKED_HEAD + '5\r\nhello\r\n');
  assert.is(slow?.status, 408);
  assert.is(up.conns, 0, 'the body is read whole before the upstream is contacted');
}));

test.run();
