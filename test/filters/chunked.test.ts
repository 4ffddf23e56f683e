// The chunked filter (ngx_http_chunked_filter_module) through a fake request: HTTP/1.1 without a
// length gets Transfer-Encoding: chunked, one chunk per call whatever the number of bufs, and the
// last chunk with the last buf; HTTP/1.0 gets a close-delimited body; a known length, 204, 304,
// HEAD and subrequests are left alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buf, B_LAST_BUF, link } from '../../src/core/buf.js';
import { ChunkedBodyFilter, ChunkedHeaderFilter } from '../../src/filters/chunked.js';
import { FakeRequest, buf, bufs, chains, respond } from './fake.js';

const chunked = () => chains({ header: new ChunkedHeaderFilter(), body: new ChunkedBodyFilter() });

/** The bytes after the head. */
function body(r: FakeRequest): string {
  const t = r.fakeConn.text();
  return t.slice(t.indexOf('\r\n\r\n') + 4);
}

test('HTTP/1.1, length unknown: chunked, one chunk per call, then the last chunk', () => {
  const r = new FakeRequest();
  respond(chunked(), r, [bufs(['hello', ', ', 'world'], false), buf('!'.repeat(20), false, true), buf('end', true)]);
  assert.ok(r.chunked);
  const [res] = r.fakeConn.responses();
  assert.is(res.headers['transfer-encoding'], 'chunked');
  assert.is(res.headers['content-length'], undefined);
  assert.is(res.headers.connection, 'keep-alive', 'the framing ends the body: the connection can stay');
  assert.is(body(r), 'c\r\nhello, world\r\n' + '14\r\n' + '!'.repeat(20) + '\r\n' + '3\r\nend\r\n0\r\n\r\n');
  assert.ok(res.complete);
  assert.is(res.body.toString(), 'hello, world' + '!'.repeat(20) + 'end');
});

test('an empty last buf is the last chunk alone; an empty call adds nothing', () => {
  const r = new FakeRequest();
  respond(chunked(), r, [buf('abc', false, true), link(Buf.special(0)), link(Buf.special(B_LAST_BUF))]);
  assert.is(body(r), '3\r\nabc\r\n0\r\n\r\n');
});

test('HTTP/1.0 (or chunkedTransferEncoding off): no chunked framing, the close ends the body', () => {
  for (const r of [new FakeRequest({ httpVersion: 1000 }), new FakeRequest({ conf: { chunkedTransferEncoding: false } })]) {
    respond(chunked(), r, [buf('plain', true)]);
    assert.not.ok(r.chunked);
    assert.not.ok(r.keepalive, 'not kept alive');
    const t = r.fakeConn.text();
    assert.not.ok(/transfer-encoding/i.test(t));
    assert.match(t, /\r\nConnection: close\r\n/);
    assert.is(body(r), 'plain');
  }
});

test('a known length, 204, 304, HEAD, a subrequest: left alone', () => {
  const known = new FakeRequest();
  known.headersOut.contentLength = 4;
  respond(chunked(), known, [buf('four', true)]);
  assert.not.ok(known.chunked);
  assert.is(body(known), 'four');
  for (const status of [204, 304]) {
    const r = new FakeRequest();
    r.headersOut.status = status;
    chunked().sendHeader(r);
    assert.not.ok(r.chunked, String(status));
  }
  const head = new FakeRequest({ method: 'HEAD' });
  chunked().sendHeader(head);
  assert.not.ok(head.chunked, 'HEAD');
  const sub = new FakeRequest({ parent: new FakeRequest() });
  chunked().sendHeader(sub);
  assert.not.ok(sub.chunked, 'a subrequest');
});

test('the chunk framing shares nothing with the data: the data bufs are passed through, not copied', () => {
  const r = new FakeRequest();
  const data = Buffer.alloc(5000, 'x');
  respond(chunked(), r, [link(Buf.memory(data, 0, data.length, B_LAST_BUF))]);
  assert.ok(r.fakeConn.given.some((p) => p === data), 'the data Buffer itself reached the socket');
  assert.is(body(r), '1388\r\n' + 'x'.repeat(5000) + '\r\n0\r\n\r\n');
});

test.run();
