// The write filter (ngx_http_write_filter_module) over a FakeConn: a header-only response (HEAD,
// 204, 304) drops every body byte whoever made it and keeps the flush/last signals; small output
// waits for a flush, the last buf or postpone_output's worth; a full socket holds the output;
// a handler Buffer reaches the socket as the same memory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buf, B_FLUSH, B_LAST_BUF, link } from '../../src/core/buf.js';
import { AGAIN, ERROR, OK } from '../../src/filters/filter.js';
import { ChunkedBodyFilter, ChunkedHeaderFilter } from '../../src/filters/chunked.js';
import { FakeRequest, buf, bufs, chains, respond } from './fake.js';

test('HEAD: the head goes out with Content-Length, the body is dropped and counted', () => {
  const r = new FakeRequest({ method: 'HEAD' });
  r.headersOut.contentLength = 11;
  const rcs = respond(chains(), r, [bufs(['hello', ' world'])]);
  assert.equal(rcs, [OK, OK]);
  const [res] = r.fakeConn.responses([0]);
  assert.is(res.status, 200);
  assert.is(res.headers['content-length'], '11');
  assert.ok(r.fakeConn.text().endsWith('\r\n\r\n'), 'nothing after the head');
  assert.is(r.dropped, 11, 'the dropped bytes are counted (logged at info)');
});

test('204 and 304 set by a handler: a printed body never reaches the wire, even chunked', () => {
  for (const status of [204, 304]) {
    const r = new FakeRequest();
    r.headersOut.status = status;
    respond(chains({ header: new ChunkedHeaderFilter(), body: new ChunkedBodyFilter() }), r, [buf('s\n'), buf('more', true)]);
    const t = r.fakeConn.text();
    assert.ok(t.startsWith(`HTTP/1.1 ${status} `), t);
    assert.ok(t.endsWith('\r\n\r\n'), `${status}: the head, then nothing: ${JSON.stringify(t)}`);
    assert.not.ok(/transfer-encoding/i.test(t), `${status}: no chunked framing`);
    assert.is(r.dropped, 6);
  }
});

test('header-only: the flush and last signals survive the drop (the head is sent at once)', () => {
  const r = new FakeRequest({ method: 'HEAD' });
  r.headersOut.contentLength = 3;
  const ch = chains();
  ch.sendHeader(r);
  assert.is(r.fakeConn.writes.length, 1, 'a header-only head is flushed by itself');
  assert.is(ch.output(r, buf('abc', true)), OK);
  assert.is(r.fakeConn.writes.length, 1, 'nothing more written');
  assert.is(r.out, null, 'nothing held');
});

test('postpone_output: small pieces wait for a flush or the last buf; 1460 bytes go at once', () => {
  const r = new FakeRequest();
  r.headersOut.contentLength = 2000;
  const ch = chains();
  ch.sendHeader(r);
  ch.output(r, buf('a'.repeat(100)));
  ch.output(r, buf('b'.repeat(100)));
  assert.is(r.fakeConn.sent, 0, 'head and 200 bytes held');
  ch.output(r, buf('c'.repeat(100), false, true));
  assert.is(r.fakeConn.writes.length, 1, 'a flush sends what is held, in one write');
  const afterFlush = r.fakeConn.sent;
  ch.output(r, buf('d'.repeat(1460)));
  assert.is(r.fakeConn.sent, afterFlush + 1460, 'postpone_output\'s worth goes without a flush');
  ch.output(r, buf('e'.repeat(240), true));
  const [res] = r.fakeConn.responses();
  assert.ok(res.complete);
  assert.is(res.body.toString(), 'a'.repeat(100) + 'b'.repeat(100) + 'c'.repeat(100) + 'd'.repeat(1460) + 'e'.repeat(240));
});

test('a full socket: output is held (AGAIN) until the connection can take more', () => {
  const r = new FakeRequest();
  r.headersOut.contentLength = 10;
  const ch = chains();
  ch.sendHeader(r);
  r.fakeConn.full = true;
  assert.is(ch.output(r, buf('0123456789', true)), AGAIN);
  assert.is(r.fakeConn.sent, 0);
  assert.ok(r.out !== null, 'held in r.out');
  r.fakeConn.full = false;
  assert.is(ch.output(r, null), OK, 'a null chain flushes what is held');
  assert.is(r.fakeConn.responses()[0].body.toString(), '0123456789');
  assert.is(r.out, null);
});

test('a closed connection: ERROR, nothing sent', () => {
  const r = new FakeRequest();
  r.fakeConn.closed = true;
  r.headersOut.contentLength = 1;
  const ch = chains();
  ch.sendHeader(r);
  assert.is(ch.output(r, buf('x', true)), ERROR);
  assert.is(r.fakeConn.sent, 0);
});

test('zero-copy: a handler Buffer is handed to the socket as the same memory', () => {
  const r = new FakeRequest();
  const big = Buffer.alloc(64 * 1024, 'q');
  r.headersOut.contentLength = big.length;
  respond(chains(), r, [link(Buf.memory(big, 0, big.length, B_LAST_BUF))]);
  assert.ok(r.fakeConn.given.some((p) => p === big), 'the very Buffer reached sendv');
  const win = Buffer.from('0123456789');
  const r2 = new FakeRequest();
  r2.headersOut.contentLength = 4;
  respond(chains(), r2, [link(Buf.memory(win, 3, 7, B_LAST_BUF | B_FLUSH))]);
  assert.is(r2.fakeConn.responses()[0].body.toString(), '3456', 'a window is sent as its bytes');
});

test.run();
