// The gzip filter (ngx_http_gzip_filter_module, ngx_http_gzip_ok) through a fake request: what it
// takes on (status, type, length, Accept-Encoding with q, HTTP/1.1, no Via, not a subrequest,
// not HEAD), what it changes in the head, and a body compressed chunk by chunk: a flush buf
// pushes out what is compressed so far (Z_SYNC_FLUSH), the last buf ends the stream.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { GzipBodyFilter, GzipHeaderFilter } from '../../src/filters/gzip.js';
import { ChunkedBodyFilter, ChunkedHeaderFilter } from '../../src/filters/chunked.js';
import { FakeRequest, buf, chains, respond, type FakeOptions } from './fake.js';

const TEXT = 'The quick brown fox jumps over the lazy dog.\n'.repeat(50);

const gz = () => chains(
  { header: new GzipHeaderFilter(), body: new GzipBodyFilter() },
  { header: new ChunkedHeaderFilter(), body: new ChunkedBodyFilter() },
);

function request(o: FakeOptions = {}, setup?: (r: FakeRequest) => void): FakeRequest {
  const r = new FakeRequest({ headers: { 'accept-encoding': 'gzip, deflate' }, ...o, conf: { gzip: true, gzipTypes: new Set(['text/plain']), ...o.conf } });
  r.headersOut.contentType = 'text/plain; charset=utf-8';
  r.headersOut.contentLength = TEXT.length;
  r.headersOut.etag = '"strong"';
  r.headersOut.set('Accept-Ranges', 'bytes');
  setup?.(r);
  return r;
}

test('a compressible response: Content-Encoding, no length, chunked, weak ETag, Vary; decodes back', () => {
  const r = request({ conf: { gzipVary: true } });
  const half = TEXT.length / 2;
  respond(gz(), r, [buf(TEXT.slice(0, half)), buf(TEXT.slice(half), true)]);
  const [res] = r.fakeConn.responses();
  assert.is(res.headers['content-encoding'], 'gzip');
  assert.is(res.headers['content-length'], undefined);
  assert.is(res.headers['transfer-encoding'], 'chunked');
  assert.is(res.headers['accept-ranges'], undefined, 'a gzipped body has no byte ranges');
  assert.is(res.headers.etag, 'W/"strong"', 'the ETag is weakened');
  assert.is(res.headers.vary, 'Accept-Encoding');
  assert.ok(r.filterNeedInMemory && r.mainFilterNeedInMemory, 'it asks for bodies in memory');
  assert.ok(res.complete);
  assert.is(gunzipSync(res.body).toString(), TEXT);
  assert.ok(res.body.length < TEXT.length / 4, `it compressed (${res.body.length} bytes)`);
});

test('a flush buf pushes out what is compressed so far, decodable before the end', () => {
  const r = request();
  const ch = gz();
  ch.sendHeader(r);
  ch.output(r, buf('first part. '.repeat(20), false, true));
  const [early] = r.fakeConn.responses();
  assert.not.ok(early.complete, 'the stream goes on');
  // the gzip header is 10 bytes; after a sync flush the deflate data so far inflates on its own
  const sofar = inflateRawSync(early.body.subarray(10), { finishFlush: 2 /* Z_SYNC_FLUSH */ });
  assert.is(sofar.toString(), 'first part. '.repeat(20));
  ch.output(r, buf('second part.', true));
  const [res] = r.fakeConn.responses();
  assert.ok(res.complete);
  assert.is(gunzipSync(res.body).toString(), 'first part. '.repeat(20) + 'second part.');
});

test('Accept-Encoding: q=0, identity, x-gzip, *, case and spaces', () => {
  const takes = (ae: string | undefined) => {
    const r = request({ headers: ae === undefined ? {} : { 'accept-encoding': ae } });
    gz().sendHeader(r);
    return r.headersOut.contentEncoding === 'gzip';
  };
  assert.ok(takes('gzip'));
  assert.ok(takes('deflate, GZIP'));
  assert.ok(takes('x-gzip'));
  assert.ok(takes('*'));
  assert.ok(takes('gzip;q=0.5'));
  assert.not.ok(takes(undefined), 'no Accept-Encoding');
  assert.not.ok(takes('gzip;q=0'), 'q=0 refuses it');
  assert.not.ok(takes('identity'));
  assert.not.ok(takes('br, deflate'));
});

test('HEAD: Content-Encoding gzip, no length, weak ETag, as nginx\'s GET would have; no body, no zlib stream', () => {
  const r = request({ method: 'HEAD' });
  respond(gz(), r, [buf('', true)]);
  const [res] = r.fakeConn.responses([0]);
  assert.is(res.headers['content-encoding'], 'gzip');
  assert.is(res.headers['content-length'], undefined);
  assert.is(res.headers['transfer-encoding'], undefined, 'a HEAD is not chunked');
  assert.is(res.headers.etag, 'W/"strong"');
  assert.is(r.fakeConn.text().endsWith('\r\n\r\n'), true, 'the head alone');
  assert.is(r.dropped, 0, 'no gzip bytes made to be dropped');
  const noct = request({ method: 'HEAD' }, (x) => { x.headersOut.etag = 'unquoted'; });
  gz().sendHeader(noct);
  assert.is(noct.headersOut.etag, null, 'an unquoted ETag cannot be weakened: it goes (ngx_http_weak_etag)');
});

test('left alone: HTTP/1.0, Via, a subrequest, a 204, 500, encoded already, too short, a type not listed, gzip off', () => {
  const cases: [string, FakeRequest][] = [
    ['HTTP/1.0', request({ httpVersion: 1000 })],
    ['Via', request({ headers: { 'accept-encoding': 'gzip', via: '1.1 proxy' } })],
    ['subrequest', request({ parent: new FakeRequest() })],
    ['header-only', request({}, (r) => { r.headerOnly = true; })],
    ['500', request({}, (r) => { r.headersOut.status = 500; })],
    ['encoded', request({}, (r) => { r.headersOut.contentEncoding = 'br'; })],
    ['short', request({}, (r) => { r.headersOut.contentLength = 10; })],
    ['image/png', request({}, (r) => { r.headersOut.contentType = 'image/png'; })],
    ['no type', request({}, (r) => { r.headersOut.contentType = null; })],
    ['off', request({ conf: { gzip: false } })],
  ];
  for (const [name, r] of cases) {
    gz().sendHeader(r);
    assert.is(r.headersOut.contentEncoding === 'gzip', false, name);
  }
  const html = request({}, (r) => { r.headersOut.contentType = 'text/html'; });
  gz().sendHeader(html);
  assert.is(html.headersOut.contentEncoding, 'gzip', 'text/html is always compressible');
  const all = request({ conf: { gzipTypes: new Set(['*']) } }, (r) => { r.headersOut.contentType = 'application/x-anything'; });
  gz().sendHeader(all);
  assert.is(all.headersOut.contentEncoding, 'gzip', 'gzipTypes *');
  for (const s of [403, 404]) {
    const r = request({}, (x) => { x.headersOut.status = s; });
    gz().sendHeader(r);
    assert.is(r.headersOut.contentEncoding, 'gzip', `${s} is compressed (as nginx)`);
  }
});

test.run();
