// The header serialiser (ngx_http_header_filter_module) through a fake request: the status line,
// Server/Date/Connection, the typed fields, names and values checked where they become bytes
// (FieldError, nothing sent), text above U+007F as UTF-8, and no Content-Length on 204/304.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FieldError } from '../../src/core/field.js';
import { SERVER_NAME, SERVER_VERSION } from '../../src/core/version.js';
import { Buf, B_LAST_BUF, link } from '../../src/core/buf.js';
import { FakeRequest, chains } from './fake.js';
import { HeadersOut } from '../../src/filters/headers-out.js';

/** Serialise r's head and end the response (the write filter holds a head until its body flushes it). */
function send(r: FakeRequest): void {
  const ch = chains();
  ch.sendHeader(r);
  ch.output(r, link(Buf.special(B_LAST_BUF)));
}

/** Serialise r's head; the lines sent (without the blank line). */
function head(r: FakeRequest): string[] {
  send(r);
  const t = r.fakeConn.text();
  assert.ok(t.endsWith('\r\n\r\n'), 'the head ends with a blank line');
  return t.slice(0, -4).split('\r\n');
}

/** Push a header past HeadersOut's own checks, as a buggy caller could (the serialiser must catch it). */
function pushRaw(r: FakeRequest, name: string, value: string): void {
  const h = r.headersOut;
  // (its own arrays: until a header is added they are one frozen array shared by every response)
  h.names = [...h.names];
  h.keys = [...h.keys];
  h.values = [...h.values];
  h.names.push(name);
  h.keys.push(name.toLowerCase());
  h.values.push(value);
}

function refused(r: FakeRequest, code: string, re: RegExp): void {
  try {
    chains().sendHeader(r);
    assert.unreachable('the head was serialised');
  } catch (e) {
    assert.instance(e, FieldError);
    assert.instance(e, TypeError, 'a FieldError is a TypeError');
    assert.is((e as FieldError).code, code);
    assert.match((e as Error).message, re);
  }
  assert.is(r.fakeConn.sent, 0, 'not a byte sent');
  assert.is(r.headerSent, false);
}

test('status line, Server, Date, the typed fields, then the others in order', () => {
  const r = new FakeRequest();
  const h = r.headersOut;
  h.status = 0;
  h.contentType = 'text/plain';
  h.contentLength = 5;
  h.lastModified = Date.UTC(2026, 0, 2, 3, 4, 5);
  h.etag = '"e1"';
  h.add('X-One', '1');
  h.add('Set-Cookie', 'a=1');
  h.add('Set-Cookie', 'b=2');
  const lines = head(r);
  assert.is(lines[0], 'HTTP/1.1 200 OK', 'status 0 is sent as 200');
  assert.is(h.status, 200);
  assert.is(lines[1], `Server: ${SERVER_NAME}/${SERVER_VERSION}`);
  assert.match(lines[2], /^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
  assert.equal(lines.slice(3), [
    'Content-Type: text/plain', 'Content-Length: 5', 'Last-Modified: Fri, 02 Jan 2026 03:04:05 GMT',
    'Connection: keep-alive', 'ETag: "e1"', 'X-One: 1', 'Set-Cookie: a=1', 'Set-Cookie: b=2',
  ]);
  assert.ok(r.headerSent);
  assert.is(r.fakeConn.writes.length, 1, 'one write');
});

test('Connection: close when not kept alive; serverTokens off hides the version; a reason phrase of one\'s own', () => {
  const r = new FakeRequest({ conf: { serverTokens: false } });
  r.keepalive = false;
  r.headersOut.status = 404;
  r.headersOut.statusLine = 'Gone Fishing';
  r.headersOut.contentLength = 0;
  const lines = head(r);
  assert.is(lines[0], 'HTTP/1.1 404 Gone Fishing');
  assert.is(lines[1], `Server: ${SERVER_NAME}`);
  assert.ok(lines.includes('Connection: close'));
  assert.not.ok(lines.includes('Connection: keep-alive'));
});

test('204 and 304: no Content-Length even when one is set, and the response becomes header-only', () => {
  for (const status of [204, 304]) {
    const r = new FakeRequest();
    r.headersOut.status = status;
    r.headersOut.contentLength = 42;
    const lines = head(r);
    assert.ok(lines[0].startsWith(`HTTP/1.1 ${status} `), lines[0]);
    assert.not.ok(lines.some((l) => /^content-length:/i.test(l)), `${status}: no Content-Length`);
    assert.not.ok(lines.some((l) => /^transfer-encoding:/i.test(l)), `${status}: no Transfer-Encoding`);
    assert.ok(r.headerOnly, `${status}: header-only`);
  }
});

test('a control character in a value is refused with FieldError: nothing is sent', () => {
  for (const v of ['a\u0001b', 'a\rb', 'a\nX-Injected: 1', 'nul\0', 'del\u007f']) {
    const r = new FakeRequest();
    pushRaw(r, 'X-Bad', v);
    refused(r, 'ERR_INVALID_HEADER_VALUE', /"X-Bad"/);
  }
  const loc = new FakeRequest();
  loc.headersOut.location = '/a\r\nSet-Cookie: evil=1';
  refused(loc, 'ERR_INVALID_HEADER_VALUE', /Location/);
  const st = new FakeRequest();
  st.headersOut.statusLine = 'OK\r\nX: 1';
  refused(st, 'ERR_INVALID_HEADER_VALUE', /status line/);
});

test('a header name that is not a token is refused with FieldError: nothing is sent', () => {
  for (const n of ['X B', 'X-A:', '', 'X\r\nY', 'Č']) {
    const r = new FakeRequest();
    pushRaw(r, n, 'v');
    refused(r, 'ERR_INVALID_HEADER_NAME', /invalid response header name/);
  }
});

test('HeadersOut refuses the same at set(), where the caller can see it', () => {
  const r = new FakeRequest();
  assert.throws(() => r.headersOut.set('X B', '1'), (e: unknown) => e instanceof FieldError && e.code === 'ERR_INVALID_HEADER_NAME');
  assert.throws(() => r.headersOut.add('X-A', 'a\nb'), (e: unknown) => e instanceof FieldError && e.code === 'ERR_INVALID_HEADER_VALUE');
  assert.throws(() => r.headersOut.set('Location', '/\r\n'), (e: unknown) => e instanceof FieldError);
});

test('a status outside 200..599 (but 101), or 444/499, is refused on the main request', () => {
  for (const status of [100, 199, 600, 1000, 444, 499]) {
    const r = new FakeRequest();
    r.headersOut.status = status;
    refused(r, 'ERR_INVALID_STATUS', new RegExp(String(status)));
  }
});

test('a value above U+007F goes out as its UTF-8 bytes, never as a latin1 low byte', () => {
  const r = new FakeRequest();
  // Č is U+010C: as a latin1 byte it would be 0x0C; Ċ (U+010A) would be LF
  r.headersOut.add('X-Name', 'Čapek Ċ é');
  r.headersOut.contentLength = 0;
  send(r);
  const bytes = r.fakeConn.bytes();
  assert.ok(bytes.includes(Buffer.concat([Buffer.from('X-Name: '), Buffer.from('Čapek Ċ é', 'utf8'), Buffer.from('\r\n')])), 'the value as UTF-8');
  const block = bytes.subarray(0, bytes.length - 4);
  for (let i = 0; i < block.length; i++) {
    const c = block[i];
    if (c < 0x20) { assert.ok(c === 0x0d && block[i + 1] === 0x0a, `control byte 0x${c.toString(16)} at ${i}`); i++; }
  }
  assert.ok(r.fakeConn.given.every((p) => typeof p !== 'string'), 'a UTF-8 head leaves as bytes, not as a latin1 string');
});

test('an ASCII head leaves as its string (encoded once, into the outgoing bytes)', () => {
  const r = new FakeRequest();
  r.headersOut.contentLength = 0;
  send(r);
  assert.is(r.fakeConn.given.length, 1);
  assert.type(r.fakeConn.given[0], 'string');
});

test('a subrequest\'s head and an HTTP/0.9 one never reach the connection', () => {
  const main = new FakeRequest();
  const sub = new FakeRequest({ parent: main });
  sub.headersOut.status = 600; // not checked either: a subrequest's status is the parent's business
  chains().sendHeader(sub);
  assert.ok(sub.headerSent);
  assert.is(main.fakeConn.sent, 0);
  const old = new FakeRequest({ httpVersion: 900 });
  chains().sendHeader(old);
  assert.ok(old.headerSent);
  assert.is(old.fakeConn.sent, 0);
});

test('the head waits for the body (postpone_output), and is sent once', () => {
  const r = new FakeRequest();
  r.headersOut.contentLength = 0;
  const ch = chains();
  ch.sendHeader(r);
  assert.is(r.fakeConn.sent, 0, 'held until the body flushes it');
  ch.sendHeader(r);
  ch.output(r, link(Buf.special(B_LAST_BUF)));
  assert.is(r.fakeConn.responses().length, 1, 'one head');
  assert.is(r.fakeConn.writes.length, 1);
});

test('HeadersOut: responses without other headers share nothing — one\'s headers never show in another', () => {
  const a = new HeadersOut(), b = new HeadersOut(), c = new HeadersOut();
  assert.equal(a.entries(), []);
  a.set('X-One', '1');
  a.setConstant('Accept-Ranges', 'accept-ranges', 'bytes');
  b.remove('X-One');
  b.reset();
  assert.equal(b.entries(), [], 'the other is still empty');
  assert.equal(c.entries(), []);
  c.add('Set-Cookie', 'k=v');
  assert.equal(a.entries(), [['X-One', '1'], ['Accept-Ranges', 'bytes']]);
  assert.equal(c.entries(), [['Set-Cookie', 'k=v']]);
  a.reset();
  assert.equal(a.entries(), []);
  assert.equal(new HeadersOut().entries(), [], 'a new one starts empty');
  assert.throws(() => new HeadersOut().names.push('X-Leak'), TypeError, 'the shared empty arrays cannot be written');
  assert.equal(new HeadersOut().entries(), []);
});

test.run();
