// sub_filter over real sockets (answers checked against a local nginx 1.22.1): a handler's
// output flushed in pieces with a match split between them, several patterns, once on and off,
// the types, a static file (read into memory by the copy filter for it), HEAD, and inheritance.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get, listen, raw } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { Request } from '../../src/http/request.js';

let s: SluiceServer;
let dir: string;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-sub-'));
  writeFileSync(join(dir, 'index.html'), 'hello world\n');
  writeFileSync(join(dir, 't.txt'), 'plain text world\n');
  s = await listen({
    '/pieces': {
      subFilter: [['world', 'there']],
      subFilterOnce: false,
      content: async (r: Request) => {
        r.print('hello wor');
        await r.flush();
        r.print('ld, WOR');
        await r.flush();
        r.print('LD!');
      },
    },
    '/several': {
      subFilter: [['ab', 'L'], ['a', 'S'], ['$arg_x', '[$arg_x]']],
      subFilterOnce: false,
      content: (r: Request) => { r.print('ab ac q ab a'); },
    },
    '/once': {
      subFilter: [['a', '1'], ['b', '2']],
      content: (r: Request) => { r.print('ababab'); },
    },
    '/plain': {
      subFilter: [['world', 'there']],
      content: (r: Request) => { r.header['Content-Type'] = 'text/plain'; r.print('hello world'); },
    },
    '/plain-listed': {
      subFilter: [['world', 'there']],
      subFilterTypes: 'text/plain',
      content: (r: Request) => { r.header['Content-Type'] = 'text/plain'; r.print('hello world'); },
    },
    '/st/': { alias: dir + '/', subFilter: [['world', 'there']] },
    '/stlm/': { alias: dir + '/', subFilter: [['world', 'there']], subFilterLastModified: true },
  }, { subFilter: [['hello', 'HI']], defaultType: 'text/html' });
});
test.after(async () => { await s.close(); rmSync(dir, { recursive: true, force: true }); });

test('a match split across flushed pieces is replaced; what cannot begin one goes out at once', async () => {
  const res = await raw(s.port, get('/pieces'), { responses: 1 });
  const [r] = res.responses;
  assert.is(r.status, 200);
  assert.is(r.body.toString(), 'hello there, there!');
  assert.is(r.headers['transfer-encoding'], 'chunked');
  // the first piece went out without its possible match: 'hello ' alone in a chunk
  assert.ok(res.text.includes('\r\n\r\n6\r\nhello \r\n'), JSON.stringify(res.text));
});

test('several patterns: nginx\'s order at one place, a search string from a variable', async () => {
  const res = await raw(s.port, get('/several?x=q'), { responses: 1 });
  assert.is(res.responses[0].body.toString(), 'L Sc [q] L a');
});

test('subFilterOnce (default): each pattern once', async () => {
  const res = await raw(s.port, get('/once'), { responses: 1 });
  assert.is(res.responses[0].body.toString(), '12abab');
});

test('types: text/plain untouched unless listed; the server-level pair applies where no block sets its own', async () => {
  const plain = await raw(s.port, get('/plain'), { responses: 1 });
  assert.is(plain.responses[0].body.toString(), 'hello world');
  const listed = await raw(s.port, get('/plain-listed'), { responses: 1 });
  assert.is(listed.responses[0].body.toString(), 'hello there');
  const inherited = await raw(s.port, get('/elsewhere/'), { responses: 1 });
  assert.is(inherited.responses[0].status, 404);
  assert.ok(inherited.responses[0].body.toString().includes('404'), 'the error page (no "hello" in it)');
});

test('a static file: bytes read for the filter; no Content-Length, Last-Modified, ETag, Accept-Ranges', async () => {
  const res = await raw(s.port, get('/st/index.html'), { responses: 1 });
  const [r] = res.responses;
  assert.is(r.body.toString(), 'hello there\n');
  assert.is(r.headers['content-length'], undefined);
  assert.is(r.headers['last-modified'], undefined);
  assert.is(r.headers.etag, undefined);
  assert.is(r.headers['accept-ranges'], undefined);
  const txt = await raw(s.port, get('/st/t.txt'), { responses: 1 });
  assert.is(txt.responses[0].body.toString(), 'plain text world\n');
  assert.is(txt.responses[0].headers['content-length'], '17');
});

test('subFilterLastModified: Last-Modified kept, ETag weak; HEAD has no Content-Length', async () => {
  const res = await raw(s.port, get('/stlm/index.html'), { responses: 1 });
  const [r] = res.responses;
  assert.ok(r.headers['last-modified'] !== undefined);
  assert.match(r.headers.etag, /^W\/"/);
  const head = await raw(s.port, 'HEAD /st/index.html HTTP/1.1\r\nHost: a\r\n\r\n', { responses: 1, headAt: [0] });
  assert.is(head.responses[0].headers['content-length'], undefined);
  assert.is(head.responses[0].headers['transfer-encoding'], undefined);
});

test.run();
