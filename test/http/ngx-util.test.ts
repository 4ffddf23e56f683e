import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as U from '../../src/lua/ngx.js';
import { decodeArgs, encodeArgs, escapeUri, luaNumber, md5, unescapeUri, STATUS_TEXT } from '../../src/lua/ngx.js';

test('md5 (ngx.md5)', () => {
  assert.is(md5(''), 'd41d8cd98f00b204e9800998ecf8427e', 'empty');
  assert.is(md5('hello'), '5d41402abc4b2a76b9719d911017c592', 'hello');
  assert.is(md5('你'), md5(Buffer.from('你', 'utf8')), 'strings are UTF-8');
});

test('escapeUri: type 2 (default), cases from lua-nginx-module t/006-escape.t', () => {
  const cases: [string, string][] = [
    ['a 你', 'a%20%E4%BD%A0'],
    ['a+b', 'a%2Bb'],
    ['"a/b={}:<>;&[]\\^', '%22a%2Fb%3D%7B%7D%3A%3C%3E%3B%26%5B%5D%5C%5E'],
    [' ', '%20'],
    ['abc', 'abc'],
    ['', ''],
    ["-_.!~*'()", "-_.!~*'()"],
    [',$@|`', '%2C%24%40%7C%60'],
    ['AZaz09', 'AZaz09'],
    ['\x00\x1f\x7f', '%00%1F%7F'],
  ];
  for (const [s, want] of cases) assert.is(escapeUri(s), want, `escapeUri(${JSON.stringify(s)})`);
  assert.is(escapeUri(Buffer.from([0xff, 0x41])), '%FFA', 'Buffer input, upper-case hex');
});

test('escapeUri: type 0 and the other types', () => {
  const zero: [string, string][] = [
    ['https://www.google.com', 'https://www.google.com'],
    ['https://www.google.com/query?q=test', 'https://www.google.com/query%3Fq=test'],
    ['https://www.google.com/query?\r\nq=test', 'https://www.google.com/query%3F%0D%0Aq=test'],
    ["-_.~!*'();:@&=+$,/?#", "-_.~!*'();:@&=+$,/%3F%23"],
    ['<>[]{}\\" ', '<>[]{}\\"%20'],
  ];
  for (const [s, want] of zero) assert.is(escapeUri(s, 0), want, `type 0: ${JSON.stringify(s)}`);
  const s = 'https://www.google.com/?t=abc@ :';
  const byType = [
    'https://www.google.com/%3Ft=abc@%20:',
    'https://www.google.com/%3Ft=abc@%20:',
    'https%3A%2F%2Fwww.google.com%2F%3Ft%3Dabc%40%20%3A',
    'https://www.google.com/?t=abc@%20:',
    'https://www.google.com/?t=abc@%20:',
    'https://www.google.com/?t=abc@%20:',
    'https://www.google.com/?t=abc@%20:',
  ];
  for (let t = 0; t <= 6; t++) assert.is(escapeUri(s, t), byType[t], `type ${t}`);
  assert.is(escapeUri('a+b', 1), 'a%2Bb', 'type 1 escapes +');
  assert.is(escapeUri(`"'%#`, 3), '%22%27%25%23', 'type 3 (html)');
  assert.is(escapeUri(`"'%#`, 4), '%22%27%#', 'type 4 (refresh) leaves % and #');
  assert.is(escapeUri('a é%\x7f', 5), 'a%20é%25\x7f', 'type 5 (memcached) leaves DEL and bytes >= 0x80');
});

test('escapeUri: bad types', () => {
  assert.throws(() => escapeUri('x', -1), (e: Error) => e instanceof RangeError && e.message === '"type" -1 out of range', '-1');
  assert.throws(() => escapeUri('x', 10), (e: Error) => e instanceof RangeError && e.message === '"type" 10 out of range', '10');
  assert.throws(() => escapeUri('x', true as unknown as number), (e: Error) => e instanceof TypeError && e.message === '"type" is not a number', 'true');
});

test('unescapeUri (ngx.unescape_uri)', () => {
  const cases: [string, string][] = [
    ['a%20%e4%bd%a0', 'a 你'],
    ['b%20r56+7', 'b r56 7'],
    ['try %search%%20%again%', 'try %search% %again%'],
    ['%ua%%20%au', '%ua% %au'],
    ['%a', '%a'], ['%u', '%u'], ['%', '%'], ['good%20job%', 'good job%'],
    ['32', '32'], ['', ''], ['%2B+%2b', '+ +'], ['%41%4a%4A', 'AJJ'], ['%00', '\0'],
  ];
  for (const [s, want] of cases) assert.is(unescapeUri(s), want, `unescapeUri(${JSON.stringify(s)})`);
  assert.is(unescapeUri(Buffer.from('a%2fb')), 'a/b', 'Buffer input');
});

test('encodeArgs (ngx.encode_args)', () => {
  const cases: [U.ArgsInput, string][] = [
    [{ foo: 3, 'b r': 'hello world' }, 'foo=3&b%20r=hello%20world'],
    [{ baz: [32, 'hello'] }, 'baz=32&baz=hello'],
    [{ a: [9, 2], b: 3 }, 'a=9&a=2&b=3'],
    [{ a: true, b: 1 }, 'a&b=1'],
    [{ a: false, foo: 3 }, 'foo=3'],
    [{ bar: [32, true], foo: 3 }, 'bar=32&bar&foo=3'],
    [{ a: [false, 'x', false] }, 'a=x'],
    [{ a: [] }, ''],
    [{}, ''],
    [{ a: undefined, b: null }, ''],
    [{ 'fo=': '=>' }, 'fo%3D=%3D%3E'],
    [{ a: '' }, 'a='],
    [{ '': 'x' }, '=x'],
    [{ 'k&': 'v w+', ключ: 'я' }, 'k%26=v%20w%2B&%D0%BA%D0%BB%D1%8E%D1%87=%D1%8F'],
    [{ a: 0.1 + 0.2, b: 1e15, c: -1.5 }, 'a=0.3&b=1e%2B15&c=-1.5'],
  ];
  for (const [args, want] of cases) assert.is(encodeArgs(args), want, `encodeArgs(${JSON.stringify(args)})`);
});

test('encodeArgs: values Lua cannot use', () => {
  const cases: [unknown, string][] = [
    [{ a: {} }, 'table'], [{ a: () => 1 }, 'function'], [{ a: [null] }, 'nil'], [{ a: [[1]] }, 'table'],
    [{ a: [undefined] }, 'nil'], [{ a: 1n }, 'bigint'],
  ];
  for (const [args, type] of cases) {
    assert.throws(() => encodeArgs(args as U.ArgsInput),
      (e: Error) => e instanceof TypeError && e.message === `attempt to use ${type} as query arg value`, type);
  }
});

test('luaNumber: tostring() of a Lua number (%.14g)', () => {
  const cases: [number, string][] = [
    [3, '3'], [-3, '-3'], [100, '100'], [0.1, '0.1'], [0.1 + 0.2, '0.3'], [123.456, '123.456'],
    [1 / 3, '0.33333333333333'], [1e14, '1e+14'], [99999999999999, '99999999999999'], [2 ** 53, '9.007199254741e+15'],
    [1e-5, '1e-05'], [0.0001, '0.0001'], [1e100, '1e+100'], [0, '0'], [-0, '-0'],
    [NaN, 'nan'], [Infinity, 'inf'], [-Infinity, '-inf'],
  ];
  for (const [n, want] of cases) assert.is(luaNumber(n), want, `luaNumber(${n})`);
});

function plain(t: object): unknown {
  return JSON.parse(JSON.stringify(t));
}

test('decodeArgs (ngx.decode_args), cases from t/030-uri-args.t and ngx_http_lua_parse_args', () => {
  const cases: [string, unknown][] = [
    ['a=bar&b=foo', { a: 'bar', b: 'foo' }],
    ['a=bar&b=foo&a=baz', { a: ['bar', 'baz'], b: 'foo' }],
    ['', {}],
    ['a&b', { a: true, b: true }],
    ['a=&b=', { a: '', b: '' }],
    ['f+f=bar&B=foo', { 'f f': 'bar', B: 'foo' }],
    ['=a&b', { b: true }],                 // an empty key is skipped
    ['&&a=1&', { a: '1' }],
    ['a=1=2', { a: '1=2' }],               // a second '=' is part of the value
    ['a%3D=1', { 'a=': '1' }],
    ['a=%zz%41+', { a: '%zzA ' }],
    ['a&a=1&a', { a: [true, '1', true] }],
    ['k=%E4%BD%A0', { k: '你' }],
    ['a', { a: true }],
    ['a=', { a: '' }],
  ];
  for (const [s, want] of cases) assert.equal(plain(decodeArgs(s)), want, `decodeArgs(${JSON.stringify(s)})`);
});

test('decodeArgs: maxArgs and truncation', () => {
  const info = { truncated: false };
  assert.equal(plain(decodeArgs('a=bar&b=foo', 1, info)), { a: 'bar' }, 'max 1');
  assert.is(info.truncated, true, 'truncated');
  assert.equal(plain(decodeArgs('a=bar&b=foo', -1, info)), { a: 'bar', b: 'foo' }, 'max -1: no limit');
  assert.is(info.truncated, false, 'not truncated');
  assert.equal(plain(decodeArgs('a=1&b=2', 2, info)), { a: '1', b: '2' }, 'the last pair is not counted');
  assert.is(info.truncated, false, 'not truncated at the end');
  assert.equal(plain(decodeArgs('&&a=1', 2, info)), {}, 'skipped pairs count');
  assert.is(info.truncated, true, 'truncated by empty pairs');
  assert.equal(plain(decodeArgs('a=1&b=2&c=3', 0)), { a: '1', b: '2', c: '3' }, 'max 0: no limit');
  const many = Array.from({ length: 150 }, (_, i) => `k${i}=${i}`).join('&');
  assert.is(Object.keys(decodeArgs(many)).length, 100, 'default limit 100');
});

test('decodeArgs: no prototype, Buffer input, round trip', () => {
  const t = decodeArgs('__proto__=x&constructor');
  assert.is(Object.getPrototypeOf(t), null, 'null prototype');
  assert.is(t['__proto__'], 'x', '__proto__ is a plain key');
  assert.is(t['constructor'], true, 'constructor is a plain key');
  assert.equal(plain(decodeArgs(Buffer.from('é=ü'))), { é: 'ü' }, 'Buffer input');
  const args = { 'a b': 'c&d', e: ['1', '2'], f: true, 'ключ': 'значение' };
  assert.equal(plain(decodeArgs(encodeArgs(args))), args, 'decode(encode(x)) = x');
});

test('method constants are the method names', () => {
  const names = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH',
    'LOCK', 'UNLOCK', 'PATCH', 'TRACE'];
  const all = U as unknown as Record<string, unknown>;
  for (const n of names) assert.is(all[`HTTP_${n}`], n, `HTTP_${n}`);
});

test('status constants (ngx_http_lua_consts.c)', () => {
  const want: [string, number][] = [
    ['HTTP_CONTINUE', 100], ['HTTP_SWITCHING_PROTOCOLS', 101], ['HTTP_OK', 200], ['HTTP_CREATED', 201],
    ['HTTP_ACCEPTED', 202], ['HTTP_NO_CONTENT', 204], ['HTTP_PARTIAL_CONTENT', 206], ['HTTP_SPECIAL_RESPONSE', 300],
    ['HTTP_MOVED_PERMANENTLY', 301], ['HTTP_MOVED_TEMPORARILY', 302], ['HTTP_SEE_OTHER', 303],
    ['HTTP_NOT_MODIFIED', 304], ['HTTP_TEMPORARY_REDIRECT', 307], ['HTTP_PERMANENT_REDIRECT', 308],
    ['HTTP_BAD_REQUEST', 400], ['HTTP_UNAUTHORIZED', 401], ['HTTP_PAYMENT_REQUIRED', 402], ['HTTP_FORBIDDEN', 403],
    ['HTTP_NOT_FOUND', 404], ['HTTP_NOT_ALLOWED', 405], ['HTTP_NOT_ACCEPTABLE', 406], ['HTTP_REQUEST_TIMEOUT', 408],
    ['HTTP_CONFLICT', 409], ['HTTP_GONE', 410], ['HTTP_UPGRADE_REQUIRED', 426], ['HTTP_TOO_MANY_REQUESTS', 429],
    ['HTTP_CLOSE', 444], ['HTTP_ILLEGAL', 451], ['HTTP_INTERNAL_SERVER_ERROR', 500], ['HTTP_NOT_IMPLEMENTED', 501],
    ['HTTP_METHOD_NOT_IMPLEMENTED', 501], ['HTTP_BAD_GATEWAY', 502], ['HTTP_SERVICE_UNAVAILABLE', 503],
    ['HTTP_GATEWAY_TIMEOUT', 504], ['HTTP_VERSION_NOT_SUPPORTED', 505], ['HTTP_INSUFFICIENT_STORAGE', 507],
  ];
  const all = U as unknown as Record<string, unknown>;
  for (const [name, code] of want) assert.is(all[name], code, name);
});

test('STATUS_TEXT: nginx\'s reason phrases', () => {
  const want: [number, string][] = [
    [200, 'OK'], [204, 'No Content'], [301, 'Moved Permanently'], [302, 'Moved Temporarily'],
    [304, 'Not Modified'], [400, 'Bad Request'], [405, 'Not Allowed'], [408, 'Request Time-out'],
    [413, 'Request Entity Too Large'], [414, 'Request-URI Too Large'], [416, 'Requested Range Not Satisfiable'],
    [431, 'Request Header Fields Too Large'], [500, 'Internal Server Error'],
    [503, 'Service Temporarily Unavailable'], [504, 'Gateway Time-out'], [100, 'Continue'], [418, ''], [444, ''],
    [599, ''],
  ];
  for (const [code, text] of want) assert.is(STATUS_TEXT[code], text, `STATUS_TEXT[${code}]`);
  assert.is(STATUS_TEXT.length, 600, 'length');
  assert.is(Object.keys(STATUS_TEXT).length, 600, 'no holes');
});

test.run();
