import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizePath, parseRequestTarget, validateHost } from '../../src/http/uri.js';

type Want = [uri: string, args: string, unparsed?: string, host?: string];

function parse(target: string | Buffer, asteriskOk = false) {
  // embedded in a request line, to check that offsets are honoured
  const t = typeof target === 'string' ? Buffer.from(target, 'latin1') : target;
  const line = Buffer.concat([Buffer.from('GET '), t, Buffer.from(' HTTP/1.1\r\n')]);
  return parseRequestTarget(line, 4, 4 + t.length, asteriskOk);
}

function check(cases: [string | Buffer, Want | null][], label: string): void {
  for (const [target, want] of cases) {
    const name = `${label}: ${JSON.stringify(target.toString())}`;
    const got = parse(target);
    if (want === null) {
      assert.is(got, null, `${name} → 400`);
      continue;
    }
    assert.ok(got !== null, `${name} parses`);
    assert.is(got!.uri, want[0], `${name} uri`);
    assert.is(got!.args, want[1], `${name} args`);
    assert.is(got!.unparsedUri, want[2] ?? target.toString(), `${name} unparsedUri`);
    assert.is(got!.host, want[3], `${name} host`);
  }
}

test('origin-form, fast path', () => {
  check([
    ['/', ['/', '']],
    ['/index.html', ['/index.html', '']],
    ['/a/b/c.txt?x=1&y=2', ['/a/b/c.txt', 'x=1&y=2']],
    ['/a?', ['/a', '']],
    ['/a?b?c', ['/a', 'b?c']],
    ['/a?x=%41+%zz', ['/a', 'x=%41+%zz']],       // args stay raw
    ['/a+b', ['/a+b', '']],                     // '+' is not a space in a path
    ['/a.b/c.', ['/a.b/c.', '']],
    ['/a\\b', ['/a\\b', '']],
    [Buffer.from('/café?q=é'), ['/café', 'q=é', '/café?q=é']],
  ], 'fast');
});

test('percent-decoding', () => {
  check([
    ['/caf%C3%A9', ['/café', '']],
    ['/caf%c3%a9', ['/café', '']],
    ['/a%20b', ['/a b', '']],
    ['/a%2Fb', ['/a/b', '']],                    // a decoded '/' is a '/'
    ['/a%2F%2Fb', ['/a/b', '']],                 // ... and is merged
    ['/a%3Fb?c', ['/a?b', 'c']],                 // a decoded '?' is not the query
    ['/a%23b', ['/a#b', '']],                    // nor is a decoded '#' a fragment
    ['/a%25', ['/a%', '']],
    ['/a%2541', ['/a%41', '']],                  // decoded once only
    ['/a%2B', ['/a+', '']],
    ['/%FF', ['/\uFFFD', '']],                   // not UTF-8
    ['/%', null], ['/%4', null], ['/a%zz', null], ['/a%4g', null], ['/%00', null], ['/a%00b', null],
    ['/a%2?x', null],
  ], 'decode');
});

test('dot segments and slashes', () => {
  check([
    ['//', ['/', '']],
    ['//a///b', ['/a/b', '']],
    ['/a/./b', ['/a/b', '']],
    ['/./', ['/', '']],
    ['/.', ['/', '']],
    ['/a/.', ['/a/', '']],
    ['/a/./', ['/a/', '']],
    ['/a/../b', ['/b', '']],
    ['/a/b/..', ['/a/', '']],
    ['/a/b/../', ['/a/', '']],
    ['/a/b/../c/./d', ['/a/c/d', '']],
    ['/a/b/../../c', ['/c', '']],
    ['/a/..', ['/', '']],
    ['/a/..?x', ['/', 'x']],
    ['/a/.?x', ['/a/', 'x']],
    ['/a/%2e%2e/b', ['/b', '']],
    ['/a/.%2E', ['/', '']],
    ['/a/...', ['/a/...', '']],
    ['/a/..b', ['/a/..b', '']],
    ['/a/.b', ['/a/.b', '']],
    ['/.well-known/x', ['/.well-known/x', '']],
    ['/a//b?x//y', ['/a/b', 'x//y']],
    ['/..', null], ['/../a', null], ['/a/../..', null], ['/a/../../b', null], ['/%2e%2e/', null],
    ['/a/..%2F..', null], ['//..', null], ['/./..', null],
  ], 'dots');
});

test('fragments', () => {
  check([
    ['/a#frag', ['/a', '']],
    ['/a?x=1#frag', ['/a', 'x=1']],
    ['/a#f?x=1', ['/a', '']],
    ['/a/..#f', ['/', '']],
    ['/a?#', ['/a', '']],
  ], 'fragment');
});

test('bytes nginx answers 400 to', () => {
  check([
    ['', null], ['a', null], ['?x', null], ['.', null], ['%2F', null],
    ['/a b', null], ['/a\tb', null], ['/a\x01', null], ['/a\x7f', null], ['/a?x\x00', null], ['/a?x y', null],
    ['/a#\x1f', null], ['*', null], ['*x', null],
  ], '400');
});

test('asterisk-form, only when allowed (OPTIONS)', () => {
  const t = parse('*', true);
  assert.ok(t !== null, 'parses');
  assert.is(t!.uri, '*', 'uri');
  assert.is(t!.unparsedUri, '*', 'unparsed');
  assert.is(t!.args, '', 'args');
  assert.is(parse('*', false), null, 'not for other methods');
  assert.is(parse('*/a', true), null, 'only a lone *');
});

test('absolute-form', () => {
  check([
    ['http://example.com/a?b', ['/a', 'b', '/a?b', 'example.com']],
    ['http://Example.COM:8080/x', ['/x', '', '/x', 'example.com']],
    ['HTTP://x.test/', ['/', '', '/', 'x.test']],
    ['https://example.com', ['/', '', '/', 'example.com']],
    ['http://example.com?x=1', ['/', 'x=1', '?x=1', 'example.com']],
    ['http://[::1]:80/p', ['/p', '', '/p', '[::1]']],
    ['http://[::FFFF:1.2.3.4]/', ['/', '', '/', '[::ffff:1.2.3.4]']],
    ['http://example.com./', ['/', '', '/', 'example.com']],
    ['http://h:/x', ['/x', '', '/x', 'h']],
    ['h2c+x-y.z://h/', ['/', '', '/', 'h']],
    ['http://1.2.3.4:65535/a//../b', ['/b', '', '/a//../b', '1.2.3.4']],
    ['http:/x', null], ['http//x', null], ['http:x', null], ['1http://h/', null], ['http://a_b/', null],
    ['http://a..b/', null], ['http:///x', null], ['http://h:65536/', null], ['http://h:8x/', null],
    ['http://[::1/', null], ['http://[::1]x/', null], ['http://h#f', null], ['http://h/../', null],
    ['http://.', null], ['http://h%41/', null],
  ], 'absolute');
});

test('normalizePath directly', () => {
  const b = Buffer.from('/x/./y/../z');
  assert.is(normalizePath(b, 0, b.length), '/x/z', 'whole');
  assert.is(normalizePath(b, 2, b.length), '/z', 'from an offset ("/./y/../z")');
});

test('validateHost (ngx_http_validate_host)', () => {
  const ok: [string, string][] = [
    ['example.com', 'example.com'], ['Example.COM', 'example.com'], ['example.com:8080', 'example.com'],
    ['example.com.', 'example.com'], ['example.com.:80', 'example.com'], ['a_b-c~d', 'a_b-c~d'],
    ['a%41', 'a%41'], ['[::1]', '[::1]'], ['[::1]:443', '[::1]'], ['1.2.3.4', '1.2.3.4'], ['h:', 'h'],
    ['.example.com', '.example.com'], ['h:65535', 'h'], ['[::1]:', '[::1]'],
  ];
  for (const [h, want] of ok) assert.is(validateHost(h), want, `valid ${h}`);
  for (const h of ['', '.', 'a..b', 'a b', 'a/b', 'a@b', 'h:65536', 'h:1x', '[::1', '[::1]x', ':80',
    'caf\u00e9', '[a..b]', '[a%b]']) {
    assert.is(validateHost(h), null, `invalid ${JSON.stringify(h)}`);
  }
});

test.run();
