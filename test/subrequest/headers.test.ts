// Capture options that end up in a request head: `headers` (names tokens, values without control
// characters, text above U+007F as UTF-8 bytes), `method` (a token) and `args` (no control
// character). A bad one is a clear error in the handler that asked, and nothing runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listen, raw, timed, get } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { SluiceConfig } from '../../src/http/conf/config.js';
import type { Request } from '../../src/http/request.js';
import type { CaptureOptions } from '../../src/subrequest/index.js';
import { scriptedUpstream, type Upstream } from '../upstream/upstreams.js';

let s: SluiceServer;
let up: Upstream;
const heads: string[] = [];
let subRuns = 0;
/** What the test's capture is given, per request (set before the request is sent). */
let next: { uri: string; o: CaptureOptions; stream?: boolean } = { uri: '/sub/echo', o: {} };

const u8 = (x: string) => Buffer.from(x, 'utf8').toString('latin1');
/** JSON in ASCII only (\u escapes), so no body encoding can change it on the way. */
const ascii = (v: unknown) => JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));

test.before(async () => {
  up = await scriptedUpstream((_t, head, sock) => { heads.push(head); sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'); });
  s = await listen({
    '/sub/echo': {
      internal: true,
      content: (r: Request) => {
        subRuns++;
        r.print(ascii({ method: r.method, args: r.args, u: r.headersIn.get('x-u') ?? null, v: r.var.http_x_u ?? null }));
      },
    },
    '/up/': { internal: true, proxyPass: `http://127.0.0.1:${up.port}` },
    '= /t': {
      content: async (r: Request) => {
        try {
          const res = next.stream ? await r.location.captureStream(next.uri, next.o) : await r.location.capture(next.uri, next.o);
          let body = '';
          if ('body' in res && Buffer.isBuffer(res.body)) body = res.body.toString('latin1');
          else for await (const c of (res as { body: AsyncIterable<Buffer> }).body) body += c.toString('latin1');
          r.print(ascii({ status: res.status, body }));
        } catch (e) {
          r.print(ascii({ error: (e as Error).message, name: (e as Error).name, code: (e as { code?: string }).code ?? null, type: e instanceof TypeError }));
        }
      },
    },
  }, {}, { upstreams: {} } as Partial<SluiceConfig>);
});

test.after(async () => {
  await s.close(100);
  await up.close();
});

async function run(uri: string, o: CaptureOptions, stream = false): Promise<Record<string, unknown>> {
  next = { uri, o, stream };
  const res = await raw(s.port, get('/t'), { responses: 1 });
  assert.is(res.responses[0]?.status, 200, res.text);
  return JSON.parse(res.responses[0].body.toString('latin1'));
}

test('headers: a name that is not a token is a FieldError (ERR_INVALID_HEADER_NAME)', timed(30000, async () => {
  for (const name of ['X Bad', 'X-A:', 'X\r\nInjected', '']) {
    const j = await run('/sub/echo', { headers: { [name]: 'v' } });
    assert.is(j.name, 'FieldError', JSON.stringify(name));
    assert.is(j.type, true, 'a TypeError');
    assert.is(j.code, 'ERR_INVALID_HEADER_NAME', JSON.stringify(name));
    assert.match(String(j.error), /^capture\(\): invalid header name/);
  }
  assert.is(subRuns, 0, 'no subrequest ran');
}));

test('headers: a value with a control character is a FieldError (ERR_INVALID_HEADER_VALUE), in captureStream too', timed(30000, async () => {
  const bad: CaptureOptions['headers'][] = [
    { 'X-A': 'a\r\nX-Injected: 1' }, { 'X-A': 'nul\0' }, { 'X-A': 'soh\x01' }, { 'X-A': 'del\x7f' },
    { 'X-A': ['fine', 'b\nc'] }, { 'X-A': 'half \uD800' }, { 'X-A': {} as unknown as string },
  ];
  for (const h of bad) {
    const j = await run('/sub/echo', { headers: h });
    assert.is(j.name, 'FieldError', JSON.stringify(h));
    assert.is(j.code, 'ERR_INVALID_HEADER_VALUE', JSON.stringify(h));
    assert.match(String(j.error), /^capture\(\): .*header "X-A"/, JSON.stringify(h));
  }
  const st = await run('/sub/echo', { headers: { 'X-A': 'a\rb' } }, true);
  assert.is(st.code, 'ERR_INVALID_HEADER_VALUE', 'captureStream');
  assert.is(subRuns, 0, 'no subrequest ran');
  assert.is(up.conns, 0);
}));

test('method and args: a method that is not a token, args with a control character: TypeError', timed(30000, async () => {
  for (const method of ['GE T', 'GET\r\n', '', 'G(ET)']) {
    const j = await run('/sub/echo', { method });
    assert.is(j.type, true, JSON.stringify(method));
    assert.match(String(j.error), /^capture\(\): invalid method/, JSON.stringify(method));
  }
  const a = await run('/up/x', { args: 'a=1 HTTP/1.1\r\nX-Injected: 1\r\n' });
  assert.is(a.type, true);
  assert.match(String(a.error), /^capture\(\): invalid args/);
  assert.is(subRuns, 0, 'no subrequest ran');
  assert.is(up.conns, 0, 'nothing reached the upstream');
  const ok = await run('/sub/echo', { method: 'patch', args: 'a=1&b' });
  assert.equal(JSON.parse(String(ok.body)).method, 'PATCH', 'a good method, upper-cased');
  assert.equal(JSON.parse(String(ok.body)).args, 'a=1&b');
}));

test('headers: text above U+007F goes upstream as its UTF-8 bytes; a subrequest sees the bytes a client would have sent', timed(30000, async () => {
  const value = 'Čapek Ċ é'; // Č and Ċ: as latin1 low bytes, 0x0C and LF
  const j = await run('/up/x', { headers: { 'X-U': value, 'X-Num': 5 } });
  assert.is(j.status, 200, JSON.stringify(j));
  const hl = heads[heads.length - 1].split('\r\n');
  assert.ok(hl.includes('X-U: ' + u8(value)), JSON.stringify(hl));
  assert.ok(hl.includes('X-Num: 5'), 'a number is made a string');
  for (const l of hl) assert.ok(!/[\0-\x08\x0a-\x1f\x7f]/.test(l), `no control byte in ${JSON.stringify(l)}`);
  const e = await run('/sub/echo', { headers: { 'X-U': value } });
  const seen = JSON.parse(String(e.body));
  assert.is(seen.u, u8(value), 'headersIn holds bytes (one latin1 char each), as for a client\'s header');
  assert.is(seen.v, u8(value), '$http_x_u too');
}));

test.run();
