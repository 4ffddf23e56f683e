import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, parseSize, parseTime } from '../../src/http/conf/size-time.js';

const K = 1024, M = 1024 * 1024, G = 1024 * 1024 * 1024;

test('parseSize: nginx notation', () => {
  const cases: [string | number, number][] = [
    [0, 0], [1024, 1024], ['1024', 1024], ['0', 0],
    ['8k', 8 * K], ['8K', 8 * K], ['1m', M], ['1M', M], ['1g', G], ['2G', 2 * G],
    ['0k', 0], ['16384', 16384],
  ];
  for (const [v, want] of cases) assert.is(parseSize(v, 'x'), want, `parseSize(${JSON.stringify(v)})`);
});

test('parseSize: bad values throw ConfigError naming the key', () => {
  const bad: unknown[] = ['', '1x', 'k', '1.5m', '-1', ' 1k', '1k ', '1kb', '1t', -1, 1.5, NaN,
    Infinity, '99999999999999999999g', null, true, {}];
  for (const v of bad) {
    try {
      parseSize(v as string, 'clientMaxBodySize');
      assert.unreachable(`parseSize(${JSON.stringify(v)}) should throw`);
    } catch (e) {
      assert.instance(e, ConfigError, `parseSize(${String(v)}) throws ConfigError`);
      const ce = e as ConfigError;
      assert.is(ce.code, 'ERR_SLUICE_CONFIG', 'code');
      assert.is(ce.key, 'clientMaxBodySize', 'key');
      assert.match(ce.message, /^sluice: invalid value .* for "clientMaxBodySize"$/, `message for ${String(v)}`);
    }
  }
});

test('parseSize: message quotes strings as nginx does', () => {
  assert.throws(() => parseSize('1x', 'clientMaxBodySize'),
    (e: Error) => e.message === 'sluice: invalid value "1x" for "clientMaxBodySize"', 'message');
});

test('parseTime: nginx notation, in ms', () => {
  const s = 1000, m = 60 * s, h = 60 * m, d = 24 * h;
  const cases: [string | number, number][] = [
    [75, 75 * s], [0, 0], ['75', 75 * s], ['75s', 75 * s], ['500ms', 500], ['1m', m], ['1h', h],
    ['1d', d], ['1w', 7 * d], ['1M', 30 * d], ['1y', 365 * d],
    ['1m30s', 90 * s], ['1h30m', 90 * m], ['1h 30m', 90 * m], ['1s500ms', 1500],
    ['1y1M1w1d1h1m1s1ms', 365 * d + 30 * d + 7 * d + d + h + m + s + 1],
    ['1m30', 90 * s],      // a trailing bare number is seconds
    ['0s', 0], ['0ms', 0], ['10 ', 10 * s],
  ];
  for (const [v, want] of cases) assert.is(parseTime(v, 'x'), want, `parseTime(${JSON.stringify(v)})`);
});

test('parseTime: bad values throw ConfigError', () => {
  const bad: unknown[] = ['', 's', 'ms', '1x', '1.5s', '30s1m', '1s1s', '1ms1s', '1m1h', '-1s',
    '1S', '1 2s', -1, 0.5, NaN, '99999999999999999999y', null, false, [], '1sec'];
  for (const v of bad) {
    assert.throws(() => parseTime(v as string, 'keepaliveTimeout'),
      (e: Error) => e instanceof ConfigError && e.key === 'keepaliveTimeout'
        && e.message.startsWith('sluice: invalid value '),
      `parseTime(${JSON.stringify(v)}) throws`);
  }
});

test('ConfigError.at adds the block once', () => {
  const e = new ConfigError('invalid value "1x" for "root"', 'root');
  const placed = e.at('servers[0]');
  assert.is(placed.message, 'sluice: invalid value "1x" for "root" in servers[0]', 'placed');
  assert.is(placed.path, 'servers[0]', 'path');
  assert.is(placed.at('other'), placed, 'a placed error keeps its block');
});

test.run();
