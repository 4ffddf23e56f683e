// Text bufs (src/core/buf.ts): a memory buf whose bytes are a latin1 string (the header block,
// the chunk framing, a handler's ASCII text). Windows onto one keep the string; a Buffer is made
// only when someone asks for bytes; and a write of text pieces only leaves as one string.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'node:net';
import { Buf, B_MEMORY, B_TEMPORARY, asciiText, bufText, chainSplit, chainToBuffer, link } from '../../src/core/buf.js';
import { Conn } from '../../src/core/conn.js';
import { FakeSocket, writesAtOnce } from './fake-socket.js';

test('asciiText: true only when every char is below 0x80', () => {
  assert.ok(asciiText('hello\n'));
  assert.ok(asciiText(''));
  assert.not.ok(asciiText('h\u00e9llo'), 'é is two bytes in UTF-8');
  assert.not.ok(asciiText('\u00ff'));
  assert.not.ok(asciiText('\u2713'));
  assert.not.ok(asciiText('\ud83d'), 'a lone surrogate is three bytes (U+FFFD)');
});

test('a text buf is a memory buf without mem until its bytes are asked for', () => {
  const b = Buf.latin1('hello world');
  assert.is(b.flags & B_MEMORY, B_MEMORY);
  assert.is(b.flags & B_TEMPORARY, 0, 'a string is never changed in place');
  assert.is(b.mem, null);
  assert.is(b.size(), 11);
  assert.is(bufText(b), 'hello world');
  b.pos = 6;
  assert.is(bufText(b), 'world', 'pos..last index the string');
  assert.is(b.view().toString('latin1'), 'world');
  assert.is(b.text, null, 'view() made the bytes');
  assert.ok(b.mem !== null);
});

test('chainSplit: a text buf straddling the offset becomes two windows onto the same string', () => {
  const cl = link(Buf.latin1('hello world'));
  const rest = chainSplit(cl, 5)!;
  assert.is(cl.buf.text, 'hello world');
  assert.is(rest.buf.text, 'hello world', 'the same string, not a copy of a part');
  assert.is(bufText(cl.buf), 'hello');
  assert.is(bufText(rest.buf), ' world');
  assert.is(chainToBuffer(rest).toString('latin1'), ' world');
});

test('chainToBuffer: text and Buffer bufs joined in order', () => {
  const a = Buf.latin1('ab');
  const b = Buf.memory(Buffer.from('xcdx'), 1, 3);
  const c = Buf.latin1('..ef');
  c.pos = 2;
  const cl = link(a, link(b, link(c)));
  assert.is(chainToBuffer(cl).toString('latin1'), 'abcdef');
});

test('Conn.sendv: text pieces leave as one string; with a Buffer among them, as one Buffer', () => {
  // (written as they are sent, not held for the turn's end: each sendv is its own write)
  writesAtOnce(sendvJoins);
});

function sendvJoins(): void {
  const s = new FakeSocket();
  const c = new Conn(s as unknown as Socket);
  let freed = 0;
  assert.ok(c.sendv(['HTTP/1.1 200 OK\r\n\r\n', '5\r\n', 'hello', '\r\n0\r\n\r\n'], 4, 33, () => { freed++; }));
  assert.is(s.writes.length, 1);
  assert.is(typeof s.writes[0], 'string', 'no Buffer made for text');
  assert.is(s.writes[0], 'HTTP/1.1 200 OK\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  assert.is(freed, 1, 'the pieces are free once joined');
  assert.ok(c.sendv(['HEAD\r\n', Buffer.from('body'), '!'], 3, 11));
  assert.is(s.writes.length, 2);
  assert.ok(Buffer.isBuffer(s.writes[1]));
  assert.is((s.writes[1] as Buffer).toString('latin1'), 'HEAD\r\nbody!');
  assert.is(c.sent, 44);
}

test.run();
