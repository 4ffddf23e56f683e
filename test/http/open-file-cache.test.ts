// openFileCache through a running server (ManualClock: time moves only when a test moves it):
// static, index and try_files share the cache; a file replaced on disk is seen after
// openFileCacheValid; openFileCacheErrors; and no descriptor outlives the server or a reload
// (counted in /proc/self/fd).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import { resolveConfig, type ResolvedConfig, type SluiceConfig } from '../../src/http/conf/config.js';
import { SluiceServer, startServer } from '../../src/http/server.js';
import type { OpenFileCache } from '../../src/core/open-file-cache.js';
import { RawClient, errorLines, get, timed, type ParsedResponse } from '../helpers.js';

const fds = () => readdirSync('/proc/self/fd').length;
const root = mkdtempSync(join(tmpdir(), 'sluice-ofc-http-'));
mkdirSync(join(root, 'dir'));
writeFileSync(join(root, 'dir', 'index.html'), '<p>index</p>\n');
writeFileSync(join(root, 'tf.txt'), 'try files\n');

function config(extra: Partial<SluiceConfig> = {}): SluiceConfig {
  return {
    errorLog: errorLines,
    openFileCache: 'max=100 inactive=20s',
    openFileCacheValid: '30s',
    ...extra,
    servers: [{
      listen: '127.0.0.1:0',
      root,
      locations: {
        '/': {},
        '/tf/': { tryFiles: '/$arg_f =404' },
      },
    }],
  } as SluiceConfig;
}

function cacheOf(c: ResolvedConfig): OpenFileCache {
  return c.servers[0].locations.find('/')!.conf.openFileCache!;
}

async function fetch(port: number, path: string): Promise<ParsedResponse> {
  const c = await RawClient.open(port);
  try {
    const [res] = await c.exchange(get(path, 'Connection: close\r\n'), 1);
    return res;
  } finally {
    c.close();
  }
}

test('a file is opened once; replaced on disk, it is served as it was until openFileCacheValid, then anew', timed(10000, async () => {
  writeFileSync(join(root, 'a.txt'), 'first\n');
  const clock = new ManualClock();
  const s = await startServer(config(), { clock });
  try {
    const cache = cacheOf(s.config);
    const r1 = await fetch(s.port, '/a.txt');
    assert.is(r1.body.toString(), 'first\n');
    const fd = cache.peek(join(root, 'a.txt'))!.fd;
    assert.ok(fd >= 0, 'cached open');
    writeFileSync(join(root, 'a.new'), 'second!\n');
    renameSync(join(root, 'a.new'), join(root, 'a.txt'));
    clock.advance(29_999);
    const r2 = await fetch(s.port, '/a.txt');
    assert.is(r2.body.toString(), 'first\n', 'within valid: the cached file');
    assert.is(r2.headers['content-length'], '6');
    assert.is(cache.peek(join(root, 'a.txt'))!.fd, fd, 'the same descriptor');
    clock.advance(1);
    const r3 = await fetch(s.port, '/a.txt');
    assert.is(r3.body.toString(), 'second!\n', 'after valid: the new file');
    assert.is(r3.headers['content-length'], '8');
  } finally {
    await s.close(0);
  }
}));

test('index and try_files look up through the same cache (and static\'s lookup after try_files is a hit)', timed(10000, async () => {
  const clock = new ManualClock();
  const s = await startServer(config(), { clock });
  try {
    const cache = cacheOf(s.config);
    const r1 = await fetch(s.port, '/dir/');
    assert.is(r1.status, 200);
    assert.is(r1.body.toString(), '<p>index</p>\n');
    assert.ok(cache.peek(join(root, 'dir', 'index.html')) !== undefined, 'the index file is cached');
    const r2 = await fetch(s.port, '/tf/?f=tf.txt');
    assert.is(r2.status, 200);
    assert.is(r2.body.toString(), 'try files\n');
    const e = cache.peek(join(root, 'tf.txt'))!;
    assert.is(e.uses, 2, 'try_files and static: two lookups of one entry');
    assert.is(e.count, 0, 'released at the end of the request');
    const r3 = await fetch(s.port, '/dir');
    assert.is(r3.status, 301, 'a cached directory still redirects');
    const r4 = await fetch(s.port, '/dir');
    assert.is(r4.status, 301);
  } finally {
    await s.close(0);
  }
}));

test('openFileCacheErrors: a 404 is cached until valid ends (off: not cached)', timed(10000, async () => {
  for (const errors of [true, false]) {
    const name = `late-${errors}.txt`;
    const clock = new ManualClock();
    const s = await startServer(config({ openFileCacheErrors: errors }), { clock });
    try {
      assert.is((await fetch(s.port, '/' + name)).status, 404);
      writeFileSync(join(root, name), 'late\n');
      assert.is((await fetch(s.port, '/' + name)).status, errors ? 404 : 200, `errors ${errors}: right after`);
      clock.advance(30_000);
      assert.is((await fetch(s.port, '/' + name)).status, 200, `errors ${errors}: after valid`);
    } finally {
      await s.close(0);
    }
  }
}));

test('no descriptor is left open: after many requests the server closes, and a reload closes the old config\'s', timed(20000, async () => {
  for (let i = 0; i < 20; i++) writeFileSync(join(root, `f${i}.txt`), `file ${i}\n`);
  const before = fds();
  const clock = new ManualClock();
  const s = await startServer(config({ openFileCache: 'max=8 inactive=20s' }), { clock });
  const c = await RawClient.open(s.port);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 20; i++) {
      const [res] = await c.exchange(get(`/f${i}.txt`), 1);
      assert.is(res.body.toString(), `file ${i}\n`);
    }
    clock.advance(10_000);
  }
  const cache = cacheOf(s.config);
  assert.ok(cache.size <= 8, `at most max entries (${cache.size})`);
  assert.ok(cache.openCount() <= 8, 'at most max descriptors');
  c.close();

  // a reload: the new server takes over; the old one's cache closes when it has drained
  const next = new SluiceServer(resolveConfig(config({ openFileCache: 'max=8 inactive=20s' })), { clock });
  try {
    await next.takeOver(s, 1000);
    await s.close(0);
    assert.is(cache.openCount(), 0, 'the old cache is empty');
    const r = await fetch(next.port, '/f1.txt');
    assert.is(r.body.toString(), 'file 1\n');
    assert.is(cacheOf(next.config).openCount(), 1, 'the new config has a cache of its own');
  } finally {
    await s.close(0);
    await next.close(0);
  }
  assert.is(fds(), before, 'every descriptor closed');
}));

test('off (the default) and a location that turns it off: nothing cached, descriptors closed per request', timed(10000, async () => {
  const before = fds();
  const s = await startServer({ errorLog: errorLines, servers: [{ listen: '127.0.0.1:0', root, locations: { '/': {} } }] });
  try {
    assert.is(s.config.servers[0].locations.find('/')!.conf.openFileCache, null);
    const c = await RawClient.open(s.port);
    for (let i = 0; i < 5; i++) await c.exchange(get('/tf.txt'), 1);
    c.close();
  } finally {
    await s.close(0);
  }
  assert.is(fds(), before);
  const c = resolveConfig({ openFileCache: 'max=10', servers: [{ listen: 80, locations: { '/': {}, '/a/': { openFileCache: 'off' }, '/b/': { root: '/x' } } }] });
  const top = c.servers[0].locations.find('/')!.conf.openFileCache;
  assert.ok(top !== null && top.max === 10 && top.inactiveMs === 60_000, 'max=10, inactive 60s by default');
  assert.is(c.servers[0].locations.find('/a/')!.conf.openFileCache, null, 'off in a location');
  assert.is(c.servers[0].locations.find('/b/')!.conf.openFileCache, top, 'inherited: the same cache');
}));

test('config errors as nginx words them', () => {
  const bad = (v: unknown) => { try { resolveConfig({ openFileCache: v, servers: [{ listen: 80, locations: {} }] } as SluiceConfig); return ''; } catch (e) { return (e as Error).message; } };
  assert.match(bad('inactive=10s'), '"openFileCache" must have the "max" parameter');
  assert.match(bad('max=0'), 'invalid "openFileCache" parameter "max=0"');
  assert.match(bad('max=10 foo=1'), 'invalid "openFileCache" parameter "foo=1"');
  assert.match(bad('max=10 inactive=500ms'), 'invalid "openFileCache" parameter "inactive=500ms"');
  assert.is(bad('max=10 off'), '', 'off wins');
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
