// The open file cache (src/core/open-file-cache.ts) on its own: hits within `valid`, a new inode
// found at revalidation, errors cached only when asked, minUses, the LRU and `inactive`, and
// every descriptor closed (counted in /proc/self/fd). Time is passed in: no clock, no sleep.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fstatSync, mkdirSync, mkdtempSync, readdirSync, readSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenFileCache, OpenFileInfo, type CachedFile } from '../../src/core/open-file-cache.js';

const fds = () => readdirSync('/proc/self/fd').length;
const dir = mkdtempSync(join(tmpdir(), 'sluice-ofc-'));
const p = (n: string) => join(dir, n);
const VALID = 60_000;

/** One request's lookup: the info, and the entry it holds (release it as the request's end). */
function look(c: OpenFileCache, name: string, now: number, o: { valid?: number; errors?: boolean; testDir?: boolean } = {}): { ok: boolean; of: OpenFileInfo; held: CachedFile | null } {
  const of = new OpenFileInfo().reset(o.testDir ?? false, false);
  const ok = c.open(name, of, now, o.valid ?? VALID, o.errors ?? false);
  return { ok, of, held: of.entry };
}

function readAll(fd: number, n: number): string {
  const b = Buffer.alloc(n);
  const got = readSync(fd, b, 0, n, 0);
  return b.toString('latin1', 0, got);
}

test('a file: opened once, the same descriptor and stat while valid; released it stays open', () => {
  writeFileSync(p('a.txt'), 'hello\n');
  const before = fds();
  const c = new OpenFileCache(10, 60_000);
  const a = look(c, p('a.txt'), 1000);
  assert.ok(a.ok, 'found');
  assert.ok(a.of.fd >= 0 && a.of.isFile && !a.of.isDir, 'an open file');
  assert.is(a.of.size, 6);
  assert.is(fds(), before + 1, 'one descriptor');
  c.release(a.held!, 1, 1000);
  assert.is(fds(), before + 1, 'kept after the request');
  const b = look(c, p('a.txt'), 5000);
  assert.is(b.of.fd, a.of.fd, 'the same descriptor');
  assert.is(b.of.size, 6);
  assert.is(fds(), before + 1, 'no new open');
  c.release(b.held!, 1, 5000);
  c.close();
  assert.is(fds(), before, 'closed with the cache');
});

test('after valid: the same inode keeps its descriptor and takes the new stat; a replaced file is reopened', () => {
  writeFileSync(p('b.txt'), 'one\n');
  const before = fds();
  const c = new OpenFileCache(10, 600_000);
  const a = look(c, p('b.txt'), 0);
  c.release(a.held!, 1, 0);
  // changed in place (same inode) within valid: the cached stat still says 4 bytes
  writeFileSync(p('b.txt'), 'one two\n');
  const inValid = look(c, p('b.txt'), VALID - 1);
  assert.is(inValid.of.size, 4, 'cached size within valid');
  c.release(inValid.held!, 1, VALID - 1);
  const again = look(c, p('b.txt'), VALID);
  assert.is(again.of.fd, a.of.fd, 'same inode: same descriptor');
  assert.is(again.of.size, 8, 'the new size after valid');
  c.release(again.held!, 1, VALID);
  // replaced (rename over it: another inode)
  writeFileSync(p('b.new'), 'replaced!\n');
  renameSync(p('b.new'), p('b.txt'));
  const stale = look(c, p('b.txt'), VALID + 10);
  assert.is(readAll(stale.of.fd, 100), 'one two\n', 'within valid: the old file still');
  c.release(stale.held!, 1, VALID + 10);
  const fresh = look(c, p('b.txt'), 2 * VALID + 1);
  assert.is(readAll(fresh.of.fd, 100), 'replaced!\n', 'after valid: the new file');
  assert.is(fresh.of.size, 10);
  assert.is(fds(), before + 1, 'the old descriptor closed');
  c.release(fresh.held!, 1, 2 * VALID + 1);
  c.close();
  assert.is(fds(), before);
});

test('a file replaced while a request reads it: the request keeps the old descriptor, closed at its release', () => {
  writeFileSync(p('c.txt'), 'old\n');
  const before = fds();
  const c = new OpenFileCache(10, 600_000);
  const a = look(c, p('c.txt'), 0); // held by a slow request
  writeFileSync(p('c.new'), 'new!\n');
  renameSync(p('c.new'), p('c.txt'));
  const b = look(c, p('c.txt'), VALID);
  assert.is.not(b.of.fd, a.of.fd, 'a new descriptor for the new file');
  assert.is(readAll(a.of.fd, 10), 'old\n', 'the old one still reads the old file');
  assert.is(fds(), before + 2);
  c.release(a.held!, 1, VALID);
  assert.is(fds(), before + 1, 'the old descriptor closed by its last holder');
  assert.throws(() => fstatSync(a.of.fd), 'closed');
  c.release(b.held!, 1, VALID);
  c.close();
  assert.is(fds(), before);
});

test('errors: not cached unless asked; cached ENOENT stays until valid ends', () => {
  const c = new OpenFileCache(10, 600_000);
  const miss = look(c, p('none.txt'), 0);
  assert.not.ok(miss.ok);
  assert.is(miss.of.err, 'ENOENT');
  assert.is(c.size, 0, 'not cached without errors');

  const e1 = look(c, p('later.txt'), 0, { errors: true });
  assert.is(e1.of.err, 'ENOENT');
  assert.is(c.size, 1, 'cached with errors on');
  writeFileSync(p('later.txt'), 'here\n');
  const e2 = look(c, p('later.txt'), VALID - 1, { errors: true });
  assert.not.ok(e2.ok, 'still ENOENT within valid');
  assert.is(e2.of.err, 'ENOENT');
  const e3 = look(c, p('later.txt'), VALID, { errors: true });
  assert.ok(e3.ok, 'found after valid');
  c.release(e3.held!, 1, VALID);

  // a cached file that goes: errors off drops the entry, errors on caches the error
  const g = look(c, p('later.txt'), VALID + 1);
  c.release(g.held!, 1, VALID + 1);
  unlinkSync(p('later.txt'));
  const gone = look(c, p('later.txt'), 3 * VALID);
  assert.not.ok(gone.ok);
  assert.is(c.peek(p('later.txt')), undefined, 'dropped');
  c.close();
});

test('minUses: a descriptor is kept only once the path has been looked up that often', () => {
  writeFileSync(p('m.txt'), 'm\n');
  const before = fds();
  const c = new OpenFileCache(10, 600_000);
  const a = look(c, p('m.txt'), 0);
  c.release(a.held!, 3, 0);
  assert.is(fds(), before, 'closed after one use');
  assert.ok(c.peek(p('m.txt')) !== undefined, 'but the entry stays');
  const b = look(c, p('m.txt'), 1);
  c.release(b.held!, 3, 1);
  assert.is(fds(), before, 'closed after two');
  const d = look(c, p('m.txt'), 2);
  c.release(d.held!, 3, 2);
  assert.is(fds(), before + 1, 'kept after three');
  const e = look(c, p('m.txt'), 3);
  assert.is(e.of.fd, d.of.fd, 'and used');
  c.release(e.held!, 3, 3);
  c.close();
  assert.is(fds(), before);
});

test('max: the least recently used entry goes; inactive entries go at a release', () => {
  for (const n of ['x', 'y', 'z']) writeFileSync(p(n), n);
  const before = fds();
  const c = new OpenFileCache(2, 10_000);
  for (const [n, t] of [['x', 0], ['y', 1], ['x', 2]] as const) { const r = look(c, p(n), t); c.release(r.held!, 1, t); }
  assert.is(c.size, 2);
  const z = look(c, p('z'), 3); // full: y (least recently used) goes
  c.release(z.held!, 1, 3);
  assert.is(c.size, 2);
  assert.is(c.peek(p('y')), undefined, 'y went');
  assert.ok(c.peek(p('x')) !== undefined && c.peek(p('z')) !== undefined);
  assert.is(fds(), before + 2, "y's descriptor closed");
  // x unused for more than inactive: a release elsewhere drops it
  const z2 = look(c, p('z'), 10_003);
  c.release(z2.held!, 1, 10_003);
  assert.is(c.peek(p('x')), undefined, 'x inactive: dropped');
  assert.is(fds(), before + 1);
  c.close();
  assert.is(fds(), before);
});

test('a directory: its stat is cached without a descriptor; testDir needs one stat', () => {
  mkdirSync(p('d'));
  const before = fds();
  const c = new OpenFileCache(10, 600_000);
  const a = look(c, p('d'), 0, { testDir: true });
  assert.ok(a.ok && a.of.isDir);
  assert.is(a.held, null, 'nothing held');
  assert.is(a.of.fd, -1);
  const b = look(c, p('d'), 1);
  assert.ok(b.ok && b.of.isDir, 'a hit');
  assert.is(fds(), before);
  c.close();
});

test('close() with a request still holding an entry: its descriptor closes at the release', () => {
  writeFileSync(p('h.txt'), 'h');
  const before = fds();
  const c = new OpenFileCache(10, 600_000);
  const a = look(c, p('h.txt'), 0);
  c.close();
  assert.is(fds(), before + 1, 'still held');
  assert.is(readAll(a.of.fd, 1), 'h');
  c.release(a.held!, 1, 1);
  assert.is(fds(), before, 'closed');
  c.close(); // a second close() is harmless
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
