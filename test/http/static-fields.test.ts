// The per-file fields of a static response that are worked out on a shortcut (src/http/modules/
// static-handler.ts, src/filters/range.ts): the Content-Type from the extension as path.extname()
// finds it, nginx's "mtime-size" ETag (the last one kept for the next request), and Accept-Ranges
// set once (HeadersOut.setConstant, which replaces any earlier value as set() does).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { typeFor } from '../../src/http/modules/static-handler.js';
import { HeadersOut } from '../../src/filters/headers-out.js';
import { startServer } from '../../src/http/server.js';
import type { Request } from '../../src/http/request.js';
import { RawClient, errorLines, get, timed } from '../helpers.js';

const types = new Map([['txt', 'text/plain'], ['html', 'text/html'], ['gz', 'application/gzip'], ['b', 'x/b']]);
const fakeR = { conf: { types, defaultType: 'application/octet-stream' } } as unknown as Request;
/** What the type was before the shortcut: path.extname(), lower-cased. */
function reference(path: string): string {
  const ext = extname(path).slice(1).toLowerCase();
  return (ext !== '' ? types.get(ext) : undefined) ?? 'application/octet-stream';
}

test('typeFor takes the extension as path.extname() does, in any case', () => {
  const paths = [
    '/a.txt', '/a.TXT', '/a.Txt', '/dir/a.html', '/dir.txt/a', '/dir.txt/a.', '/.txt', '/dir/.txt',
    '/a..txt', '/..txt', '/a...', '/a.tar.gz', '/a', '/', '/.', '/..', '/dir/..b', '/dir/.a.b', 'a.txt',
    'noslash', '.txt', '/a.txt.', '/x/y.z/w.HTML',
  ];
  for (const p of paths) assert.is(typeFor(fakeR, p), reference(p), p);
});

test('setConstant replaces every earlier value of the header, whatever its case, and adds one', () => {
  const h = new HeadersOut();
  h.add('X-A', '1');
  h.add('accept-ranges', 'none');
  h.add('Accept-Ranges', 'other');
  h.setConstant('Accept-Ranges', 'accept-ranges', 'bytes');
  assert.equal(h.entries(), [['X-A', '1'], ['Accept-Ranges', 'bytes']]);
  h.setConstant('Accept-Ranges', 'accept-ranges', 'bytes');
  assert.equal(h.get('accept-ranges'), 'bytes');
});

test('two files asked in turn each get their own ETag and type (the kept ETag is never another file\'s)', timed(10000, async () => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-static-fields-'));
  writeFileSync(join(root, 'a.txt'), 'aaaa\n');
  writeFileSync(join(root, 'b.html'), 'bbbbbbbb\n');
  writeFileSync(join(root, 'c.txt'), 'cccc\n'); // a's size, another mtime
  utimesSync(join(root, 'a.txt'), 1_000_000, 1_000_000);
  utimesSync(join(root, 'c.txt'), 2_000_000, 2_000_000);
  const etag = (name: string) => {
    const st = statSync(join(root, name));
    return `"${Math.floor(st.mtimeMs / 1000).toString(16)}-${st.size.toString(16)}"`;
  };
  const s = await startServer({ errorLog: errorLines, servers: [{ listen: '127.0.0.1:0', root, locations: { '/': {} } }] });
  const c = await RawClient.open(s.port);
  try {
    for (const name of ['a.txt', 'b.html', 'a.txt', 'c.txt', 'a.txt']) {
      const [res] = await c.exchange(get('/' + name), 1);
      assert.is(res.status, 200, name);
      assert.is(res.headers['etag'], etag(name), name);
      assert.is(res.headers['content-type'], name.endsWith('.html') ? 'text/html' : 'text/plain', name);
      assert.is(res.headers['accept-ranges'], 'bytes', name);
    }
  } finally {
    c.close();
    await s.close();
  }
}));

test.run();
