// The range filter (ngx_http_range_filter_module) through a fake request: one range is a 206
// with Content-Range; several are multipart/byteranges, sorted and merged, with a Content-Length
// that matches; none satisfiable is 416; If-Range; maxRanges; the body passes as windows onto the
// bufs given, never copied, however the ranges fall across them.
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

test('several ranges: multipart/byteranges, in order, merged where they overlap, with a true Content-Length', () => {
  const r = run('bytes=20-21,0-1,1-2,10-12');
  const [res] = r.fakeConn.responses();
  assert.is(res.status, 206);
  const m = /^multipart\/byteranges; boundary=(\S+)$/.exec(res.headers['content-type']);
  assert.ok(m, res.headers['content-type']);
  assert.is(Number(res.headers['content-length']), res.body.length, 'Content-Length is the multipart body\'s');
  const b = m![1];
  assert.is(res.body.toString(),
    `\r\n--${b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-2/26\r\n\r\nabc` +
    `\r\n--${b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 10-12/26\r\n\r\nklm` +
    `\r\n--${b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 20-21/26\r\n\r\nuv` +
    `\r\n--${b}--\r\n`);
});

test('nothing satisfiable: 416 with Content-Range: bytes */len', () => {
  const r = run('bytes=26-');
  assert.is(r.finalizedWith, 416);
  assert.is(r.headersOut.get('content-range'), 'bytes */26');
});

test('no Range, a bad one, or not bytes: the whole body with Accept-Ranges; no ranges unless allowed', () => {
  for (const spec of [null, 'bytes=x-y', 'bytes=5-2', 'lines=1-2']) {
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
  for (const v of ['"v2"', 'W/"v1"', 'Mon, 01 Jan 2001 00:00:00 GMT', 'junk']) {
    const [res] = run('bytes=0-1', { headers: { 'if-range': v } }).fakeConn.responses();
    assert.is(res.status, 200, v);
    assert.is(res.body.toString(), BODY, v);
  }
});

test('maxRanges: more ranges than allowed get the whole body; 0 turns ranges off', () => {
  assert.is(run('bytes=0-1,5-6', { conf: { maxRanges: 1 } }).fakeConn.responses()[0].status, 200);
  assert.is(run('bytes=0-1,1-2', { conf: { maxRanges: 1 } }).fakeConn.responses()[0].status, 200, 'counted as asked, before they are merged (as nginx)');
  assert.is(run('bytes=0-1,5-6', { conf: { maxRanges: 2 } }).fakeConn.responses()[0].status, 206);
  assert.is(run('bytes=0-1', { conf: { maxRanges: 0 } }).fakeConn.responses()[0].status, 200);
});

test('parseRanges: clipping, suffixes, syntax errors', () => {
  assert.equal(parseRanges('0-4', 10), [0, 5]);
  assert.equal(parseRanges('5-', 10), [5, 10]);
  assert.equal(parseRanges('-20', 10), [0, 10], 'a suffix longer than the body: all of it');
  assert.equal(parseRanges('8-100', 10), [8, 10]);
  assert.equal(parseRanges('10-', 10), [], 'past the end: not satisfiable');
  assert.equal(parseRanges('-0', 10), []);
  assert.equal(parseRanges(' 1 - 2 , , 4-4', 10), [1, 3, 4, 5]);
  assert.is(parseRanges('-', 10), null);
  assert.is(parseRanges('a-b', 10), null);
  assert.is(parseRanges('3-1', 10), null);
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
