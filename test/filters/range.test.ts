// The range filter (ngx_http_range_filter_module) through a fake request: one range is a 206
// with Content-Range; several are multipart/byteranges in the order asked (as nginx), with a
// Content-Length that matches; bad syntax or none satisfiable is 416, ranges adding up to more
// than the body the whole body (nginx-tests range.t's cases); If-Range; maxRanges; the body
// passes as windows onto the bufs given, never copied, however the ranges fall across them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RangeBodyFilter, RangeHeaderFilter, parseRanges } from '../../src/filters/range.js';
import { FakeRequest, bufs, chains, respond, type FakeOptions } from './fake.js';

const BODY = 'abcdefghijklmnopqrstuvwxyz';
/** The body in three bufs, so ranges cross buf boundaries. */
const PIECES = [Buffer.from(BODY.slice(0, 7)), Buffer.from(BODY.slice(7, 19)), Buffer.from(BODY.slice(19))];

const ranged = () => chains({ header: new RangeHeaderFilter(), body: new RangeBodyFilter() });

function run(range: string | null, o: FakeOptions = {}, setup?: (r: FakeRequest) => void): FakeRequest {
  const headers = { ...(o.headers ?? {}) };
  if (range !== null) headers.range = range;
  const r = new FakeRequest({ ...o, headers });
  r.allowRanges = true;
  r.headersOut.contentLength = BODY.length;
  r.headersOut.contentType = 'text/plain';
  r.headersOut.etag = '"v1"';
  r.headersOut.lastModified = Date.UTC(2026, 0, 1);
  setup?.(r);
  respond(ranged(), r, [bufs(PIECES)]);
  return r;
}

test('one range: 206, Content-Range, Content-Length, the bytes; across buf boundaries', () => {
  for (const [spec, want, from] of [['bytes=4-8', 'efghi', 4], ['bytes=5-9', 'fghij', 5], ['bytes=-3', 'xyz', 23], ['bytes=20-', 'uvwxyz', 20], ['bytes=0-0', 'a', 0], ['bytes=25-99', 'z', 25]] as const) {
    const r = run(spec);
    const [res] = r.fakeConn.responses();
    assert.is(res.status, 206, spec);
    assert.is(res.headers['content-range'], `bytes ${from}-${from + want.length - 1}/26`, spec);
    assert.is(res.headers['content-length'], String(want.length), spec);
    assert.is(res.body.toString(), want, spec);
    assert.ok(res.complete, spec);
  }
});

test('the ranges are windows onto the bufs given (no copy)', () => {
  const r = run('bytes=8-10');
  const piece = r.fakeConn.given.find((p): p is Buffer => typeof p !== 'string' && p.toString() === 'ijk');
  assert.ok(piece !== undefined, 'one piece holds the range');
  assert.is(piece!.buffer, PIECES[1].buffer, 'a view of the second buf\'s memory');
});

function multipart(spec: string, parts: [number, number, string][]): void {
  const r = run(spec);
  const [res] = r.fakeConn.responses();
  assert.is(res.status, 206, spec);
  const m = /^multipart\/byteranges; boundary=(\S+)$/.exec(res.headers['content-type']);
  assert.ok(m, res.headers['content-type']);
  assert.is(Number(res.headers['content-length']), res.body.length, 'Content-Length is the multipart body\'s');
  const b = m![1];
  assert.is(res.body.toString(), parts.map(([s, e, t]) => `\r\n--${b}\r\nContent-Type: text/plain\r\nContent-Range: bytes ${s}-${e}/26\r\n\r\n${t}`).join('') + `\r\n--${b}--\r\n`, spec);
}

test('several ranges: multipart/byteranges, in the order asked, overlaps kept, with a true Content-Length', () => {
  multipart('bytes=0-1,10-12,20-21', [[0, 1, 'ab'], [10, 12, 'klm'], [20, 21, 'uv']]);
  multipart('bytes=20-21,0-1,1-2,10-12', [[20, 21, 'uv'], [0, 1, 'ab'], [1, 2, 'bc'], [10, 12, 'klm']]);
  multipart('bytes=0-4, -5, 5-9', [[0, 4, 'abcde'], [21, 25, 'vwxyz'], [5, 9, 'fghij']]);
  multipart('bytes=0-1, -2, 100000-, 3-3', [[0, 1, 'ab'], [24, 25, 'yz'], [3, 3, 'd']]);
});

test('ranges adding up to more than the body (overlaps asked to multiply it): the whole body, as nginx', () => {
  for (const spec of ['bytes=0-10001, 0-0', 'bytes=0-20,0-20', 'bytes=-26,0-']) {
    const [res] = run(spec).fakeConn.responses();
    assert.is(res.status, 200, spec);
    assert.is(res.body.toString(), BODY, spec);
    assert.is(res.headers['accept-ranges'], 'bytes', spec);
  }
});

test('bad syntax is 416 (a letter, no hyphen, no comma, an empty element), as nginx', () => {
  for (const spec of ['bytes=alpha', 'bytes=10-alpha', 'bytes=10', 'bytes=10-11 12-', 'bytes=x-y', 'bytes=0-1,,3-4', 'bytes=0-1,', 'bytes=-', 'bytes=1-2-3', 'bytes=\t1-2', 'bytes=99999999999999999999-']) {
    const r = run(spec);
    assert.is(r.finalizedWith, 416, spec);
    assert.is(r.headersOut.get('content-range'), 'bytes */26', spec);
  }
  assert.is(run('bytes=5-2').finalizedWith, 416, 'last before first: not satisfiable');
  assert.is(run('bytes=0-99999999999999999').fakeConn.responses()[0].status, 206, 'a long last byte pos is clipped');
});

test('nothing satisfiable: 416 with Content-Range: bytes */len', () => {
  const r = run('bytes=26-');
  assert.is(r.finalizedWith, 416);
  assert.is(r.headersOut.get('content-range'), 'bytes */26');
});

test('no Range, a bad one, or not bytes: the whole body with Accept-Ranges; no ranges unless allowed', () => {
  for (const spec of [null, 'lines=1-2', 'bytes=', 'Bytes']) {
    const r = run(spec);
    const [res] = r.fakeConn.responses();
    assert.is(res.status, 200, String(spec));
    assert.is(res.body.toString(), BODY, String(spec));
  }
  assert.is(run(null).fakeConn.responses()[0].headers['accept-ranges'], 'bytes');
  const off = run('bytes=0-1', {}, (r) => { r.allowRanges = false; });
  assert.is(off.fakeConn.responses()[0].status, 200);
  assert.is(off.fakeConn.responses()[0].headers['accept-ranges'], undefined, 'not a response that allows ranges');
  const unknown = new FakeRequest({ headers: { range: 'bytes=0-1' } });
  unknown.allowRanges = true;
  respond(ranged(), unknown, [bufs(['no length'])]);
  assert.is(unknown.fakeConn.responses()[0].status, 200, 'an unknown length: the whole body');
});

test('If-Range: a matching ETag or date gives the range, anything else the whole body', () => {
  assert.is(run('bytes=0-1', { headers: { 'if-range': '"v1"' } }).fakeConn.responses()[0].status, 206, 'the ETag');
  assert.is(run('bytes=0-1', { headers: { 'if-range': new Date(Date.UTC(2026, 0, 1)).toUTCString() } }).fakeConn.responses()[0].status, 206, 'the date');
  assert.is(run('bytes=0-1', { headers: { 'if-range': 'W/"v1"' } }, (r) => { r.headersOut.etag = 'W/"v1"'; }).fakeConn.responses()[0].status, 206,
    'nginx compares the tags as strings, a weak one too');
  for (const v of ['"v2"', 'W/"v1"', 'Mon, 01 Jan 2001 00:00:00 GMT', 'junk']) {
    const [res] = run('bytes=0-1', { headers: { 'if-range': v } }).fakeConn.responses();
    assert.is(res.status, 200, v);
    assert.is(res.body.toString(), BODY, v);
  }
});

test('maxRanges: more ranges than allowed get the whole body; 0 turns ranges off', () => {
  assert.is(run('bytes=0-1,5-6', { conf: { maxRanges: 1 } }).fakeConn.responses()[0].status, 200);
  assert.is(run('bytes=0-1,5-6', { conf: { maxRanges: 2 } }).fakeConn.responses()[0].status, 206);
  assert.is(run('bytes=0-1,5-6,7-8', { conf: { maxRanges: 2 } }).fakeConn.responses()[0].status, 200);
  assert.is(run('bytes=0-1,5-6,100-', { conf: { maxRanges: 2 } }).fakeConn.responses()[0].status, 206, 'an unsatisfiable one is not counted');
  const off = run('bytes=0-1', { conf: { maxRanges: 0 } }).fakeConn.responses()[0];
  assert.is(off.status, 200);
  assert.is(off.headers['accept-ranges'], undefined, 'maxRanges 0: no Accept-Ranges either (as nginx)');
});

test('parseRanges: clipping, suffixes, the order asked, 416 and 200 answers', () => {
  assert.equal(parseRanges('0-4', 10), [0, 5]);
  assert.equal(parseRanges('5-', 10), [5, 10]);
  assert.equal(parseRanges('-20', 10), [0, 10], 'a suffix longer than the body: all of it');
  assert.equal(parseRanges('8-100', 10), [8, 10]);
  assert.equal(parseRanges(' 4 - 4 , 1 - 2 ', 10), [4, 5, 1, 3]);
  assert.is(parseRanges('10-', 10), 416, 'past the end: not satisfiable');
  assert.is(parseRanges('-0', 10), 416);
  assert.is(parseRanges('0-', 0), 200, 'from 0 of an empty body: the whole (empty) body');
  assert.is(parseRanges('0-1,2-3,4-5', 10, 2), 200, 'more than max');
  assert.is(parseRanges('0-9,0-0', 10), 200, 'more bytes than the body');
  for (const bad of ['-', 'a-b', '3-x', '1', '1-2 3-4', '1-2,', ',1-2']) assert.is(parseRanges(bad, 10), 416, bad);
});

test('a subrequest and a non-200 response are left alone', () => {
  const main = new FakeRequest();
  const sub = new FakeRequest({ parent: main, headers: { range: 'bytes=0-1' } });
  sub.allowRanges = true;
  sub.headersOut.contentLength = 26;
  ranged().sendHeader(sub);
  assert.is(sub.headersOut.status, 200);
  const r = run('bytes=0-1', {}, (x) => { x.headersOut.status = 404; });
  assert.is(r.fakeConn.responses()[0].status, 404);
});

test.run();
