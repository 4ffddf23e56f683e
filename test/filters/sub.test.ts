// The sub filter (ngx_http_sub_filter_module) through a fake request: the head it leaves
// (Content-Length gone, Last-Modified and ETag gone or the ETag weakened, only for the listed
// types, not for an empty body), and bodies cut into bufs at every offset giving what one
// whole buf gives: a match split across bufs is found, a possible match is held only until it
// is decided, an incomplete one at the end goes out as it is.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SubBodyFilter, SubHeaderFilter, subTable, type SubPair } from '../../src/filters/sub.js';
import { ChunkedBodyFilter, ChunkedHeaderFilter } from '../../src/filters/chunked.js';
import type { FilterConf } from '../../src/filters/filter.js';
import { Buf, B_IN_FILE, link, type Chain } from '../../src/core/buf.js';
import { FakeRequest, buf, chains, respond, type FakeOptions } from './fake.js';

const sub = () => chains(
  { header: new SubHeaderFilter(), body: new SubBodyFilter() },
  { header: new ChunkedHeaderFilter(), body: new ChunkedBodyFilter() },
);

function conf(pairs: [string, string][], o: Partial<FilterConf> = {}): Partial<FilterConf> {
  const p: SubPair[] = pairs.map(([match, value]) => ({ match, value }));
  return { subFilter: { pairs: p, table: subTable(p) }, ...o };
}

function request(c: Partial<FilterConf>, o: FakeOptions = {}, setup?: (r: FakeRequest) => void): FakeRequest {
  const r = new FakeRequest({ ...o, conf: c });
  r.headersOut.contentType = 'text/html';
  r.headersOut.contentLength = 100;
  r.headersOut.lastModified = Date.UTC(2024, 0, 1);
  r.headersOut.etag = '"abc"';
  setup?.(r);
  return r;
}

/** The body the filter gives for these pieces (one buf each, the last one flagged last). */
function run(c: Partial<FilterConf>, pieces: string[], o: FakeOptions = {}): string {
  const r = request(c, o, (x) => { x.headersOut.contentLength = pieces.join('').length; });
  const calls: Chain[] = pieces.map((p, i) => buf(p, i === pieces.length - 1));
  if (pieces.length === 0) calls.push(buf('', true));
  respond(sub(), r, calls);
  const [res] = r.fakeConn.responses();
  assert.ok(res.complete, 'complete');
  return res.body.toString('latin1');
}

/** Whole, then split in two at every offset, then byte by byte: all the same as `want`. */
function allSplits(c: Partial<FilterConf>, text: string, want: string): void {
  assert.is(run(c, [text]), want, `whole: ${JSON.stringify(text)}`);
  for (let i = 0; i <= text.length; i++) {
    assert.is(run(c, [text.slice(0, i), text.slice(i)]), want, `split at ${i}: ${JSON.stringify(text)}`);
  }
  assert.is(run(c, [...text]), want, `byte by byte: ${JSON.stringify(text)}`);
}

test('the head: Content-Length, Last-Modified and ETag gone; the body asked in memory', () => {
  const r = request(conf([['a', 'b']]));
  respond(sub(), r, [buf('aaa', true)]);
  const [res] = r.fakeConn.responses();
  assert.is(res.headers['content-length'], undefined);
  assert.is(res.headers['last-modified'], undefined);
  assert.is(res.headers.etag, undefined);
  assert.is(res.headers['transfer-encoding'], 'chunked');
  assert.ok(r.filterNeedInMemory);
  assert.is(res.body.toString(), 'baa', 'once by default');
});

test('subFilterLastModified: Last-Modified kept, ETag weakened (an unquoted one dropped)', () => {
  const r = request(conf([['a', 'b']], { subFilterLastModified: true }));
  respond(sub(), r, [buf('a', true)]);
  const [res] = r.fakeConn.responses();
  assert.is(res.headers['last-modified'], new Date(Date.UTC(2024, 0, 1)).toUTCString());
  assert.is(res.headers.etag, 'W/"abc"');
  const weak = request(conf([['a', 'b']], { subFilterLastModified: true }), {}, (x) => { x.headersOut.etag = 'W/"w"'; });
  respond(sub(), weak, [buf('a', true)]);
  assert.is(weak.fakeConn.responses()[0].headers.etag, 'W/"w"');
  const bare = request(conf([['a', 'b']], { subFilterLastModified: true }), {}, (x) => { x.headersOut.etag = 'abc'; });
  respond(sub(), bare, [buf('a', true)]);
  assert.is(bare.fakeConn.responses()[0].headers.etag, undefined);
});

test('types: text/html by default (parameters aside), the listed ones, * for any; Content-Length 0 passes', () => {
  const plain = request(conf([['a', 'b']]), {}, (x) => { x.headersOut.contentType = 'text/plain'; x.headersOut.contentLength = 1; });
  respond(sub(), plain, [buf('a', true)]);
  assert.is(plain.fakeConn.responses()[0].body.toString(), 'a', 'text/plain is not listed');
  assert.is(plain.fakeConn.responses()[0].headers['content-length'], '1');
  const listed = request(conf([['a', 'b']], { subFilterTypes: new Set(['text/html', 'text/plain']) }), {}, (x) => { x.headersOut.contentType = 'Text/Plain; charset=utf-8'; });
  respond(sub(), listed, [buf('a', true)]);
  assert.is(listed.fakeConn.responses()[0].body.toString(), 'b');
  const any = request(conf([['a', 'b']], { subFilterTypes: new Set(['text/html', '*']) }), {}, (x) => { x.headersOut.contentType = null; });
  respond(sub(), any, [buf('a', true)]);
  assert.is(any.fakeConn.responses()[0].body.toString(), 'b', '* takes a response without a type');
  const empty = request(conf([['a', 'b']]), {}, (x) => { x.headersOut.contentLength = 0; });
  respond(sub(), empty, [buf('', true)]);
  assert.is(empty.fakeConn.responses()[0].headers['content-length'], '0', 'an empty body is left alone');
});

test('case-insensitive (ASCII) search; the replacement as written', () => {
  allSplits(conf([['Hello', 'Bye']], { subFilterOnce: false }), 'hello HELLO hElLo helo', 'Bye Bye Bye helo');
});

test('a match split across bufs, at every offset; an incomplete match at the end is left', () => {
  allSplits(conf([['abcd', 'X']], { subFilterOnce: false }), 'xxabcdyyabcabcdzzabc', 'xxXyyabcXzzabc');
  allSplits(conf([['aab', 'X']], { subFilterOnce: false }), 'aaab aaaab aab', 'aX aaX X');
});

test('several patterns: leftmost first; at one place the first in nginx\'s order wins', () => {
  const c = conf([['foo', '1'], ['bar', '2'], ['o', '3']], { subFilterOnce: false });
  allSplits(c, 'foo bar boo', '1 2 b33');
  // same byte at min-1 ('a'): the order written decides
  allSplits(conf([['a', 'S'], ['ab', 'L']], { subFilterOnce: false }), 'ab a', 'Sb S');
  allSplits(conf([['ab', 'L'], ['a', 'S']], { subFilterOnce: false }), 'ab ac', 'L Sc');
  // ... and 'ab' still incomplete at the very end holds the last 'a', which goes out as it is
  allSplits(conf([['ab', 'L'], ['a', 'S']], { subFilterOnce: false }), 'ab a', 'L a');
  // a longer pattern still incomplete at the end holds the place: the shorter one inside it is not tried
  assert.is(run(conf([['abcd', 'L'], ['bc', 'S']], { subFilterOnce: false }), ['xabc']), 'xabc');
  assert.is(run(conf([['abcd', 'L'], ['bc', 'S']], { subFilterOnce: false }), ['xabc', 'e']), 'xaSe');
});

test('subFilterOnce: each pattern once, then the rest passes untouched', () => {
  allSplits(conf([['a', '1'], ['b', '2']]), 'ababab', '12abab');
  allSplits(conf([['a', '1'], ['b', '2']]), 'aaab', '1aa2');
  allSplits(conf([['ab', '-']]), 'ab ab', '- ab');
});

test('an empty replacement removes; $variables in the replacement and in the search string', () => {
  allSplits(conf([['<!-- x -->', '']], { subFilterOnce: false }), 'a<!-- x -->b<!-- x -->', 'ab');
  const vars = { vars: { host: 'example.com', who: 'World' } };
  assert.is(run(conf([['@HOST@', '$host']], { subFilterOnce: false }), ['at @host@ and @HO', 'ST@'], vars), 'at example.com and example.com');
  assert.is(run(conf([['hello $who', 'hi']]), ['say hello world!'], vars), 'say hi!', 'search with a variable, lower-cased');
  assert.is(run(conf([['$nothing', 'x']]), ['abc'], vars), 'abc', 'a search string empty for this request is left out');
});

test('flush bufs pass; what is held waits for the bytes that decide it', () => {
  const r = request(conf([['world', 'there']], { subFilterOnce: false }));
  const ch = sub();
  ch.sendHeader(r);
  ch.output(r, buf('hello wor', false, true));
  assert.is(r.fakeConn.responses()[0].body.toString(), 'hello ', 'the possible match is held over the flush');
  ch.output(r, buf('ld, wx', false, true));
  assert.is(r.fakeConn.responses()[0].body.toString(), 'hello there, wx');
  ch.output(r, buf('', true));
  assert.ok(r.fakeConn.responses()[0].complete);
});

test('a file buf reaching it is a programming error (the copy filter reads files for it)', () => {
  const r = request(conf([['a', 'b']]));
  const ch = sub();
  ch.sendHeader(r);
  const f = link(Buf.inFile({ fd: -1, path: 'x', size: 10, mtimeMs: 0, threads: false }, 0, 10, 0));
  assert.throws(() => ch.output(r, f), /file buf/);
  assert.ok(B_IN_FILE > 0);
});

test('a subrequest is filtered too; its parent\'s head is not touched', () => {
  const parent = new FakeRequest();
  const r = request(conf([['a', 'b']]), { parent });
  chains({ header: new SubHeaderFilter(), body: new SubBodyFilter() }).sendHeader(r);
  assert.is(r.headersOut.contentLength, 100, 'Content-Length of a subrequest stays');
  assert.ok(r.filterNeedInMemory);
});

test('random patterns and texts: every split gives what the whole buf gives', () => {
  let seed = 7;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const alpha = 'abAB';
  const word = (min: number, span: number) => Array.from({ length: min + rnd(span) }, () => alpha[rnd(alpha.length)]).join('');
  for (let round = 0; round < 60; round++) {
    const pairs: [string, string][] = Array.from({ length: 1 + rnd(3) }, (_x, i) => [word(1, 3), `<${i}>`]);
    const c = conf(pairs, { subFilterOnce: rnd(2) === 0 });
    const text = word(0, 14);
    const want = run(c, [text]);
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j += 3) {
        assert.is(run(c, [text.slice(0, i), text.slice(i, j), text.slice(j)]), want, `${JSON.stringify(pairs)} ${JSON.stringify(text)} at ${i},${j}`);
      }
    }
  }
});

test.run();
