// The not_modified filter (ngx_http_not_modified_filter_module) through a fake request:
// If-Modified-Since / If-None-Match make a 304 that carries no body and none of a body's framing;
// If-Unmodified-Since / If-Match that fail are 412; if_modified_since exact, before and off.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NotModifiedFilter } from '../../src/filters/not-modified.js';
import { ChunkedBodyFilter, ChunkedHeaderFilter } from '../../src/filters/chunked.js';
import { FakeRequest, bufs, chains, respond, type FakeOptions } from './fake.js';

const MTIME = Date.UTC(2026, 0, 2, 3, 4, 5, 678); // ms are not part of an HTTP date
const DATE = new Date(MTIME).toUTCString();
const EARLIER = 'Mon, 01 Jan 2001 00:00:00 GMT';
const LATER = 'Fri, 01 Jan 2038 00:00:00 GMT';

function run(headers: Record<string, string>, o: FakeOptions = {}, etag: string | null = '"abc"'): FakeRequest {
  const r = new FakeRequest({ ...o, headers });
  const h = r.headersOut;
  h.contentType = 'text/plain';
  h.contentLength = 5;
  h.lastModified = MTIME;
  h.etag = etag;
  h.set('Accept-Ranges', 'bytes');
  respond(chains({ header: new NotModifiedFilter() }, { header: new ChunkedHeaderFilter(), body: new ChunkedBodyFilter() }), r, [bufs(['hello'])]);
  return r;
}

const status = (r: FakeRequest) => r.finalizedWith ?? r.fakeConn.responses()[0].status;

test('If-Modified-Since with the very date: 304, no body, no Content-Type/Length/Accept-Ranges', () => {
  const r = run({ 'if-modified-since': DATE });
  const t = r.fakeConn.text();
  const [res] = r.fakeConn.responses();
  assert.is(res.status, 304);
  assert.ok(t.endsWith('\r\n\r\n'), 'nothing after the head');
  for (const k of ['content-type', 'content-length', 'accept-ranges', 'transfer-encoding']) assert.is(res.headers[k], undefined, k);
  assert.is(res.headers.etag, '"abc"', 'the validators stay');
  assert.is(res.headers['last-modified'], DATE);
  assert.ok(r.headerOnly);
  assert.is(r.dropped, 5, 'the body the handler made was dropped');
});

test('if_modified_since exact / before / off', () => {
  assert.is(status(run({ 'if-modified-since': EARLIER })), 200, 'exact: an older date is a change');
  assert.is(status(run({ 'if-modified-since': LATER })), 200, 'exact: a later date is not the date');
  assert.is(status(run({ 'if-modified-since': LATER }, { conf: { ifModifiedSince: 'before' } })), 304, 'before: not modified since a later date');
  assert.is(status(run({ 'if-modified-since': EARLIER }, { conf: { ifModifiedSince: 'before' } })), 200, 'before: modified since an older one');
  assert.is(status(run({ 'if-modified-since': DATE }, { conf: { ifModifiedSince: 'off' } })), 200, 'off');
  assert.is(status(run({ 'if-modified-since': 'not a date' })), 200, 'an invalid date is a change');
});

test('If-None-Match: a list, weak comparison, *; it wins over If-Modified-Since', () => {
  assert.is(status(run({ 'if-none-match': '"x", "abc"' })), 304);
  assert.is(status(run({ 'if-none-match': 'W/"abc"' })), 304, 'weak comparison');
  assert.is(status(run({ 'if-none-match': '"abc"' }, {}, 'W/"abc"')), 304, 'a weak ETag of ours matches too');
  assert.is(status(run({ 'if-none-match': '*' })), 304);
  assert.is(status(run({ 'if-none-match': '"other"' })), 200);
  assert.is(status(run({ 'if-none-match': '"other"', 'if-modified-since': DATE })), 200, 'a failed If-None-Match: the date is not looked at');
});

test('If-Unmodified-Since and If-Match that fail are 412; ones that hold change nothing', () => {
  assert.is(status(run({ 'if-unmodified-since': EARLIER })), 412);
  assert.is(status(run({ 'if-unmodified-since': LATER })), 200);
  assert.is(status(run({ 'if-unmodified-since': 'junk' })), 200, 'an invalid date is ignored');
  assert.is(status(run({ 'if-match': '"other"' })), 412);
  assert.is(status(run({ 'if-match': 'W/"abc"' })), 412, 'If-Match compares strongly');
  assert.is(status(run({ 'if-match': '"x", "abc"' })), 200);
  assert.is(status(run({ 'if-match': '*' })), 200);
  assert.is(status(run({ 'if-match': '*' }, {}, null)), 412, 'If-Match: * without an ETag fails, as nginx has it');
});

test('left alone: no validators, a status other than 200, a subrequest', () => {
  const none = new FakeRequest({ headers: { 'if-none-match': '*', 'if-unmodified-since': EARLIER } });
  none.headersOut.contentLength = 5;
  respond(chains({ header: new NotModifiedFilter() }), none, [bufs(['hello'])]);
  assert.is(status(none), 200, 'no Last-Modified, no ETag');
  const notFound = new FakeRequest({ headers: { 'if-modified-since': DATE } });
  notFound.headersOut.status = 404;
  notFound.headersOut.lastModified = MTIME;
  notFound.headersOut.contentLength = 0;
  respond(chains({ header: new NotModifiedFilter() }), notFound, [bufs([''])]);
  assert.is(status(notFound), 404);
  const sub = new FakeRequest({ parent: new FakeRequest(), headers: { 'if-modified-since': DATE } });
  sub.headersOut.lastModified = MTIME;
  chains({ header: new NotModifiedFilter() }).sendHeader(sub);
  assert.is(sub.headersOut.status, 200);
});

test.run();
