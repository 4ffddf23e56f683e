// Places where sluice answered otherwise than nginx 1.22.1, over real sockets, each with the
// answer a local nginx gave for the same config and request (nginx-tests range.t's cases among
// them): HEAD with gzip, malformed and "malicious" Range headers, add_header with an empty
// value, expires with $variables and @time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get, listen, raw } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';

let s: SluiceServer;
let dir: string;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-parity-'));
  writeFileSync(join(dir, 'index.html'), 'hello world\n');
  writeFileSync(join(dir, 't1.html'), Array.from({ length: 100 }, (_x, i) => `X${String(i).padStart(3, '0')}XXXXXX`).join(''));
  s = await listen({
    '/gz/': { alias: dir + '/', gzip: true, gzipMinLength: 1 },
    '/r/': { alias: dir + '/' },
    '/ah/': { alias: dir + '/', addHeader: [['ETag', ''], ['Last-Modified', ''], ['X-E', ''], ['Cache-Control', '']] },
    '/e2': { expires: '$arg_e', return: [200, 'ok'] },
    '/e1': { expires: '@15h30m', return: [200, 'ok'] },
    '/e0': { expires: 0, return: [200, 'ok'] },
  }, { defaultType: 'text/html' });
});
test.after(async () => { await s.close(); rmSync(dir, { recursive: true, force: true }); });

test('HEAD with Accept-Encoding: gzip: Content-Encoding gzip, weak ETag, no length, not chunked', async () => {
  const res = await raw(s.port, 'HEAD /gz/index.html HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n', { responses: 1, headAt: [0] });
  const h = res.responses[0].headers;
  assert.is(h['content-encoding'], 'gzip');
  assert.is(h['content-length'], undefined);
  assert.is(h['transfer-encoding'], undefined);
  assert.match(h.etag, /^W\/"/);
  assert.ok(res.text.endsWith('\r\n\r\n'), 'the head alone');
});

test('Range as nginx reads it (range.t): bad syntax 416, more bytes than the body 200, parts in the order asked', async () => {
  const cases: [string, number][] = [
    ['bytes=0-10001, 0-0', 200], ['bytes=alpha', 416], ['bytes=10-alpha', 416], ['bytes=10', 416],
    ['bytes=10-11 12-', 416], ['bytes=0-10001', 206], ['bytes=100000-', 416], ['bytes=', 200],
  ];
  for (const [range, status] of cases) {
    const res = await raw(s.port, get('/r/t1.html', `Range: ${range}\r\n`), { responses: 1 });
    assert.is(res.responses[0].status, status, range);
    if (status === 416) assert.is(res.responses[0].headers['content-range'], 'bytes */1000', range);
  }
  const multi = await raw(s.port, get('/r/t1.html', 'Range: bytes=20-21,0-1,1-2\r\n'), { responses: 1 });
  const ranges = [...multi.responses[0].body.toString().matchAll(/Content-Range: bytes (\S+)/g)].map((m) => m[1]);
  assert.equal(ranges, ['20-21/1000', '0-1/1000', '1-2/1000']);
});

test('addHeader with an empty value: nothing added; ETag and Last-Modified removed', async () => {
  const res = await raw(s.port, get('/ah/index.html'), { responses: 1 });
  const h = res.responses[0].headers;
  assert.is(h.etag, undefined);
  assert.is(h['last-modified'], undefined);
  assert.is(h['x-e'], undefined);
  assert.is(h['cache-control'], undefined);
});

test('expires: 0 is max-age=0; @15h30m; $variables read per request, an invalid value sets nothing', async () => {
  const zero = await raw(s.port, get('/e0'), { responses: 1 });
  assert.is(zero.responses[0].headers['cache-control'], 'max-age=0');
  assert.is(zero.responses[0].headers.expires, zero.responses[0].headers.date);
  const daily = await raw(s.port, get('/e1'), { responses: 1 });
  const exp = new Date(daily.responses[0].headers.expires);
  assert.is(`${exp.getHours()}:${exp.getMinutes()}`, '15:30', 'local 15:30');
  for (const [e, cc] of [['1h', 'max-age=3600'], ['epoch', 'no-cache'], ['bogus', undefined], ['off', undefined]] as const) {
    const res = await raw(s.port, get(`/e2?e=${e}`), { responses: 1 });
    assert.is(res.responses[0].headers['cache-control'], cc, e);
  }
});

test.run();
