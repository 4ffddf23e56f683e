// Differential cases for static files with open_file_cache on: a file changed, replaced or
// removed on disk between requests, within open_file_cache_valid (both sides serve what they
// cached) and past it (valid 0: every request checks the disk again); cached errors; index and
// try_files through the cache.
import { renameSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffSuite, FILE_MTIME } from './harness.js';

const LATER = new Date(FILE_MTIME.getTime() + 3600_000);

/** Put new content in place of `name`: in place (the same inode) or by rename (another inode). */
function change(name: string, content: string, how: 'in place' | 'rename') {
  return (root: string) => {
    const path = join(root, name);
    if (how === 'rename') {
      writeFileSync(path + '.new', content);
      utimesSync(path + '.new', LATER, LATER);
      renameSync(path + '.new', path);
    } else {
      writeFileSync(path, content);
      utimesSync(path, LATER, LATER);
    }
  };
}

const remove = (name: string) => (root: string) => unlinkSync(join(root, name));
const create = (name: string, content: string) => (root: string) => {
  writeFileSync(join(root, name), content);
  utimesSync(join(root, name), LATER, LATER);
};

diffSuite('static', [
  {
    name: 'open_file_cache: within valid a replaced, a removed and a grown file are served as cached',
    files: { 'a.txt': 'one\n', 'b.txt': 'bee\n', 'c.txt': 'sea\n' },
    nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; open_file_cache max=10; open_file_cache_valid 60s; }',
    sluice: (env) => ({ root: env.root, openFileCache: 'max=10', openFileCacheValid: '60s' }),
    requests: [
      '/a.txt', '/b.txt', '/c.txt',
      // another inode under the name: the cached descriptor still reads the old file
      { path: '/a.txt', before: change('a.txt', 'replaced, and longer\n', 'rename'), status: 200 },
      // removed: the cached descriptor keeps it
      { path: '/b.txt', before: remove('b.txt'), status: 200 },
      // grown in place: the cached size (4 bytes) of the new content
      { path: '/c.txt', before: change('c.txt', 'SEA, and more\n', 'in place'), status: 200 },
      { method: 'HEAD', path: '/c.txt' },
    ],
  },
  {
    name: 'open_file_cache_valid 0: every request checks the disk (same inode: new size; new inode: reopened; gone: 404)',
    files: { 'a.txt': 'one\n' },
    nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; open_file_cache max=10 inactive=1m; open_file_cache_valid 0; }',
    sluice: (env) => ({ root: env.root, openFileCache: 'max=10 inactive=1m', openFileCacheValid: 0 }),
    requests: [
      '/a.txt',
      { path: '/a.txt', before: change('a.txt', 'one, grown in place\n', 'in place'), status: 200 },
      { path: '/a.txt', before: change('a.txt', 'two: another file\n', 'rename'), status: 200 },
      '/a.txt',
      { path: '/a.txt', before: remove('a.txt'), status: 404, log: /stat\(\) ".*a\.txt" failed \(2: No such file or directory\)/ },
      { path: '/a.txt', before: create('a.txt', 'back again\n'), status: 200 },
    ],
  },
  {
    name: 'open_file_cache_errors on: a 404 is remembered within valid; off: not',
    files: { 'off/x': 'x' },
    nginx: [
      'server { listen 127.0.0.1:${PORT}; root ${ROOT};',
      '  open_file_cache max=10; open_file_cache_errors on;',
      '  location /off/ { open_file_cache_errors off; }',
      '}',
    ].join('\n'),
    sluice: (env) => ({
      root: env.root, openFileCache: 'max=10', openFileCacheErrors: true,
      locations: { '/': {}, '/off/': { openFileCacheErrors: false } },
    }),
    requests: [
      { path: '/late.txt', status: 404, log: /open\(\) ".*late\.txt" failed \(2: No such file or directory\)/ },
      { path: '/late.txt', before: create('late.txt', 'late\n'), status: 404, log: /open\(\) ".*late\.txt" failed \(2: No such file or directory\)/ },
      { path: '/off/late.txt', status: 404 },
      { path: '/off/late.txt', before: create('off/late.txt', 'late\n'), status: 200 },
    ],
  },
  {
    name: 'index and try_files look files up through the cache: a removed index or try_files file is still served within valid',
    files: { 'd/index.html': '<p>index</p>\n', 't/file.txt': 'tried\n' },
    nginx: [
      'server { listen 127.0.0.1:${PORT}; root ${ROOT}; open_file_cache max=10; open_file_cache_valid 60s;',
      '  location /t/ { try_files $uri =404; }',
      '}',
    ].join('\n'),
    sluice: (env) => ({
      root: env.root, openFileCache: 'max=10', openFileCacheValid: '60s',
      locations: { '/': {}, '/t/': { tryFiles: '$uri =404' } },
    }),
    requests: [
      '/d/', '/t/file.txt', '/d', '/t/none',
      { path: '/d/', before: remove('d/index.html'), status: 200 },
      { path: '/t/file.txt', before: remove('t/file.txt'), status: 200 },
      { path: '/d', status: 301 },
    ],
  },
]);
