// The filter chain end to end: static files, not_modified, range, headers, gzip, copy
// (filterNeedInMemory), chunked (read back by node:http), the trace, a user filter, zero-copy.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, statSync, chmodSync, openSync, ftruncateSync, closeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { get as httpGet } from 'node:http';
import { listen, raw, timed, get, sleep, serverSide, DEADLINE_MS } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { Request } from '../../src/http/request.js';
import { setTraceSink } from '../../src/filters/trace.js';
import { UppercaseFilter } from '../../examples/filters/uppercase.js';

const root = mkdtempSync(join(tmpdir(), 'sluice-static-'));
const text = 'The quick brown fox jumps over the lazy dog.\n'.repeat(100); // 4500 bytes
writeFileSync(join(root, 'a.txt'), text);
writeFileSync(join(root, 'index.html'), '<h1>index</h1>\n');
writeFileSync(join(root, 'style.css'), 'body{}\n');
writeFileSync(join(root, 'noext'), 'no extension\n');
mkdirSync(join(root, 'dir'));
writeFileSync(join(root, 'dir', 'file.txt'), 'in dir\n');
mkdirSync(join(root, 'empty'));
mkdirSync(join(root, 'aliased'));
writeFileSync(join(root, 'aliased', 'x.txt'), 'from alias\n');
writeFileSync(join(root, 'secret.txt'), 'secret\n');
chmodSync(join(root, 'secret.txt'), 0o000);
const mtime = statSync(join(root, 'a.txt')).mtime;
// a sparse 64 MiB file: nothing to write first, reads give zeros
const bigFd = openSync(join(root, 'big.bin'), 'w');
ftruncateSync(bigFd, 64 * 1024 * 1024);
closeSync(bigFd);

const traceLines: string[] = [];
let s: SluiceServer;
let zeroCopyBuf: Buffer | null = null;
let written: Buffer[] = [];

test.before(async () => {
  setTraceSink((l) => traceLines.push(l));
  s = await listen({
    '/': { root },
    '/gz/': { alias: root + '/', gzip: true, gzipTypes: ['text/plain'], gzipMinLength: 10, gzipVary: true },
    '/al/': { alias: root + '/aliased/' },
    '/h/': { alias: root + '/', addHeader: [['X-Added', 'yes'], ['X-Always', 'a', 'always'], ['X-Uri', 'uri=$uri ${arg_q}']], expires: '1h' },
    '= /mem': {
      content: (r: Request) => {
        r.allowRanges = true;
        r.header['Content-Length'] = '26';
        r.print('abcdefghijklmnopqrstuvwxyz');
      },
    },
    '= /gz-handler': {
      gzip: true,
      content: async (r: Request) => {
        r.header['Content-Type'] = 'text/html';
        for (let i = 0; i < 50; i++) { r.say('line ', i, ' ', 'x'.repeat(100)); if (i % 10 === 0) await r.flush(); }
      },
    },
    '= /chunked': {
      content: async (r: Request) => {
        r.print('first,');
        await r.flush();
        r.print(Buffer.alloc(20000, 'z'));
        r.print(',last');
      },
    },
    '= /zero-copy': {
      content: (r: Request) => {
        const sock = r.main.conn!.socket;
        const orig = sock.write.bind(sock);
        written = [];
        (sock as unknown as { write: (b: Buffer) => boolean }).write = (b: Buffer) => { written.push(b); return orig(b); };
        zeroCopyBuf = Buffer.alloc(64 * 1024, 'q');
        r.header['Content-Length'] = String(zeroCopyBuf.length);
        r.print(zeroCopyBuf);
      },
    },
    '/up/': { alias: root + '/' },
    '= /up-handler': { content: (r: Request) => { r.say('shout ', Buffer.from('quietly')); } },
    '= /up-text': { content: (r: Request) => { r.say('shout it'); } },
    '= /utf8-text': { content: (r: Request) => { r.say('h\u00e9llo \u2713'); r.print('ascii after'); } },
    '/traced/': { alias: root + '/', filterTrace: true },
  }, {}, { filters: [UppercaseFilter] });
});
test.after(async () => {
  setTraceSink((l) => process.stderr.write(l + '\n'));
  await s.close();
  rmSync(root, { recursive: true, force: true });
});

test('static: a file with Content-Length, type, Last-Modified, ETag, Accept-Ranges', timed(30000, async () => {
  const r = (await raw(s.port, get('/a.txt'), { responses: 1 })).responses[0];
  assert.is(r.status, 200);
  assert.is(r.body.toString(), text);
  assert.is(r.headers['content-length'], String(text.length));
  assert.is(r.headers['content-type'], 'text/plain');
  assert.is(r.headers['last-modified'], mtime.toUTCString());
  assert.match(r.headers.etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.is(r.headers['accept-ranges'], 'bytes');
}));

test('static: MIME types, default type, index, directory redirect, 403, 404, alias', timed(30000, async () => {
  const css = (await raw(s.port, get('/style.css'), { responses: 1 })).responses[0];
  assert.is(css.headers['content-type'], 'text/css');
  const noext = (await raw(s.port, get('/noext'), { responses: 1 })).responses[0];
  assert.is(noext.headers['content-type'], 'text/plain');
  const idx = (await raw(s.port, get('/'), { responses: 1 })).responses[0];
  assert.is(idx.body.toString(), '<h1>index</h1>\n');
  assert.is(idx.headers['content-type'], 'text/html');
  const dir = (await raw(s.port, get('/dir?x=1'), { responses: 1 })).responses[0];
  assert.is(dir.status, 301);
  assert.is(dir.headers.location, `http://localhost:${s.port}/dir/?x=1`);
  const empty = (await raw(s.port, get('/empty/'), { responses: 1 })).responses[0];
  assert.is(empty.status, 403, 'a directory without index is forbidden');
  const missing = (await raw(s.port, get('/nope.txt'), { responses: 1 })).responses[0];
  assert.is(missing.status, 404);
  if (process.getuid?.() !== 0) {
    const secret = (await raw(s.port, get('/secret.txt'), { responses: 1 })).responses[0];
    assert.is(secret.status, 403);
  }
  const al = (await raw(s.port, get('/al/x.txt'), { responses: 1 })).responses[0];
  assert.is(al.body.toString(), 'from alias\n');
}));

test('not_modified: 304 on If-Modified-Since / If-None-Match, 412 on If-Unmodified-Since / If-Match', timed(30000, async () => {
  const first = (await raw(s.port, get('/a.txt'), { responses: 1 })).responses[0];
  const etag = first.headers.etag;
  const a = (await raw(s.port, get('/a.txt', `If-Modified-Since: ${mtime.toUTCString()}\r\n`), { responses: 1 })).responses[0];
  assert.is(a.status, 304);
  assert.is(a.body.length, 0);
  assert.is(a.headers['content-length'], undefined);
  const b = (await raw(s.port, get('/a.txt', `If-None-Match: "zzz", ${etag}\r\n`), { responses: 1 })).responses[0];
  assert.is(b.status, 304);
  const c = (await raw(s.port, get('/a.txt', 'If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n'), { responses: 1 })).responses[0];
  assert.is(c.status, 200, 'an older date is not an exact match (if_modified_since exact)');
  const d = (await raw(s.port, get('/a.txt', 'If-Unmodified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n'), { responses: 1 })).responses[0];
  assert.is(d.status, 412);
  const e = (await raw(s.port, get('/a.txt', 'If-Match: "other"\r\n'), { responses: 1 })).responses[0];
  assert.is(e.status, 412);
  const f = (await raw(s.port, get('/a.txt', `If-Match: ${etag}\r\n`), { responses: 1 })).responses[0];
  assert.is(f.status, 200);
}));

test('range on a file: single, suffix, multipart, 416, If-Range', timed(30000, async () => {
  const a = (await raw(s.port, get('/a.txt', 'Range: bytes=4-8\r\n'), { responses: 1 })).responses[0];
  assert.is(a.status, 206);
  assert.is(a.body.toString(), 'quick');
  assert.is(a.headers['content-range'], `bytes 4-8/${text.length}`);
  const b = (await raw(s.port, get('/a.txt', 'Range: bytes=-5\r\n'), { responses: 1 })).responses[0];
  assert.is(b.body.toString(), text.slice(-5));
  const c = (await raw(s.port, get('/a.txt', 'Range: bytes=0-2,10-14\r\n'), { responses: 1 })).responses[0];
  assert.is(c.status, 206);
  const m = /boundary=(\S+)/.exec(c.headers['content-type']);
  assert.ok(m, 'multipart/byteranges with a boundary');
  const body = c.body.toString();
  assert.is(Number(c.headers['content-length']), c.body.length);
  assert.ok(body.includes(`Content-Range: bytes 0-2/${text.length}\r\n\r\nThe\r\n`), body);
  assert.ok(body.includes(`Content-Range: bytes 10-14/${text.length}\r\n\r\nbrown\r\n`), body);
  assert.ok(body.endsWith(`--${m![1]}--\r\n`));
  const d = (await raw(s.port, get('/a.txt', 'Range: bytes=99999-\r\n'), { responses: 1 })).responses[0];
  assert.is(d.status, 416);
  assert.is(d.headers['content-range'], `bytes */${text.length}`);
  const e = (await raw(s.port, get('/a.txt', 'Range: bytes=0-2\r\nIf-Range: "stale"\r\n'), { responses: 1 })).responses[0];
  assert.is(e.status, 200, 'If-Range mismatch gives the whole body');
  assert.is(e.body.length, text.length);
}));

test('range on memory output', timed(30000, async () => {
  const a = (await raw(s.port, get('/mem', 'Range: bytes=23-\r\n'), { responses: 1 })).responses[0];
  assert.is(a.status, 206);
  assert.is(a.body.toString(), 'xyz');
  const b = (await raw(s.port, get('/mem', 'Range: bytes=20-21,0-1\r\n'), { responses: 1 })).responses[0];
  assert.ok(b.body.toString().includes('\r\n\r\nab\r\n') && b.body.toString().includes('\r\n\r\nuv\r\n'));
}));

test('gzip: a static file through the copy filter, decoded back; Vary; no Content-Length', timed(30000, async () => {
  const a = (await raw(s.port, get('/gz/a.txt', 'Accept-Encoding: gzip, deflate\r\n'), { responses: 1 })).responses[0];
  assert.is(a.headers['content-encoding'], 'gzip');
  assert.is(a.headers.vary, 'Accept-Encoding');
  assert.is(a.headers['content-length'], undefined);
  assert.is(a.headers['transfer-encoding'], 'chunked');
  assert.is(gunzipSync(a.body).toString(), text);
  assert.ok(a.body.length < text.length / 4, 'it compressed');
  const b = (await raw(s.port, get('/gz/a.txt'), { responses: 1 })).responses[0];
  assert.is(b.headers['content-encoding'], undefined, 'no Accept-Encoding, no gzip');
  const c = (await raw(s.port, get('/gz/a.txt', 'Accept-Encoding: gzip;q=0\r\n'), { responses: 1 })).responses[0];
  assert.is(c.headers['content-encoding'], undefined, 'q=0 refuses gzip');
}));

test('gzip: streamed handler output with flushes, decoded back', timed(30000, async () => {
  const a = (await raw(s.port, get('/gz-handler', 'Accept-Encoding: gzip\r\n'), { responses: 1 })).responses[0];
  const expected = Array.from({ length: 50 }, (_, i) => `line ${i} ${'x'.repeat(100)}\n`).join('');
  assert.is(gunzipSync(a.body).toString(), expected);
}));

test('chunked: framing read back by node:http', timed(30000, async () => {
  const body = await new Promise<{ te: string | undefined; body: string }>((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port: s.port, path: '/chunked', agent: false }, (res) => {
      let b = '';
      res.setEncoding('latin1');
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ te: res.headers['transfer-encoding'], body: b }));
    }).on('error', reject);
  });
  assert.is(body.te, 'chunked');
  assert.is(body.body, 'first,' + 'z'.repeat(20000) + ',last');
}));

test('chunked: text with and without non-ASCII chars keeps its exact UTF-8 bytes', timed(30000, async () => {
  const a = (await raw(s.port, get('/utf8-text'), { responses: 1 })).responses[0];
  assert.is(a.headers['transfer-encoding'], 'chunked');
  assert.equal([...a.body], [...Buffer.from('h\u00e9llo \u2713\nascii after', 'utf8')]);
}));

test('headers: addHeader (always or not) and expires', timed(30000, async () => {
  const a = (await raw(s.port, get('/h/a.txt?q=1'), { responses: 1 })).responses[0];
  assert.is(a.headers['x-added'], 'yes');
  assert.is(a.headers['x-uri'], 'uri=/h/a.txt 1', 'values expand $variables');
  assert.is(a.headers['x-always'], 'a');
  // the filter reads the clock twice (Expires, then max-age): a millisecond between them makes
  // 3599; the exact value is checked at a pinned time in test/filters/headers.test.ts
  assert.ok(['max-age=3600', 'max-age=3599'].includes(a.headers['cache-control']), a.headers['cache-control']);
  assert.ok(a.headers.expires.endsWith('GMT'));
  const b = (await raw(s.port, get('/h/nothing'), { responses: 1 })).responses[0];
  assert.is(b.status, 404);
  assert.is(b.headers['x-added'], undefined, 'not on a 404 without always');
  assert.is(b.headers['x-always'], 'a');
}));

test('zero-copy: a handler Buffer reaches the socket write as the same memory', timed(30000, async () => {
  const a = (await raw(s.port, get('/zero-copy'), { responses: 1 })).responses[0];
  assert.is(a.body.length, 64 * 1024);
  const same = written.find((w) => w.buffer === zeroCopyBuf!.buffer && w.byteOffset === zeroCopyBuf!.byteOffset && w.length === zeroCopyBuf!.length);
  assert.ok(same, 'the same ArrayBuffer at the same offset was written');
}));

test('a user filter installed through the public API rewrites the body (files and handlers)', timed(30000, async () => {
  const a = (await raw(s.port, get('/up/dir/file.txt', 'X-Uppercase: 1\r\n'), { responses: 1 })).responses[0];
  assert.is(a.body.toString(), 'IN DIR\n');
  const b = (await raw(s.port, get('/up/dir/file.txt'), { responses: 1 })).responses[0];
  assert.is(b.body.toString(), 'in dir\n', 'skipped when not asked for');
  const c = (await raw(s.port, get('/up-handler', 'X-Uppercase: 1\r\n'), { responses: 1 })).responses[0];
  assert.is(c.body.toString(), 'SHOUT QUIETLY\n');
  // a single ASCII string travels as a text buf: the filter's copy-then-change still works on it
  const d = (await raw(s.port, get('/up-text', 'X-Uppercase: 1\r\n'), { responses: 1 })).responses[0];
  assert.is(d.body.toString(), 'SHOUT IT\n');
  assert.ok(s.chainsOf().order().body.indexOf('uppercase') > s.chainsOf().order().body.indexOf('capture'));
  assert.ok(s.chainsOf().order().body.indexOf('uppercase') < s.chainsOf().order().body.indexOf('gzip'));
}));

test('backpressure on a static file: a client that stops reading holds the server back', timed(30000, async () => {
  const c = connect({ port: s.port, host: '127.0.0.1' });
  await new Promise((r) => c.on('connect', r));
  c.pause(); // never read
  c.write(get('/big.bin'));
  // wait until the server has stopped: its socket full, nothing more handed to it over 200 ms
  // (a server that ignored backpressure would hand over the whole 64 MiB first: caught below)
  const end = Date.now() + DEADLINE_MS;
  let sock: Socket | null = null;
  for (;;) {
    const sc = serverSide(s, c);
    if (sc !== undefined && sc.conn.full) {
      const before = sc.socket.bytesWritten;
      await sleep(200);
      if (sc.conn.full && sc.socket.bytesWritten === before) { sock = sc.socket; break; }
    } else {
      await sleep(20);
    }
    if (Date.now() > end) assert.unreachable('the server did not come to a stop for a client that does not read');
  }
  const queued = sock.writableLength;
  const sent = sock.bytesWritten;
  // nothing more was read from the file while the socket stayed full, and little is queued
  assert.ok(queued <= 256 * 1024, `queued in the server: ${queued} bytes`);
  assert.ok(sent < 32 * 1024 * 1024, `only what the kernel buffers took was sent (${sent} bytes of 64 MiB)`);
  c.resume();
  let got = 0;
  await new Promise<void>((resolve) => {
    c.on('data', (d) => { got += d.length; if (got >= 64 * 1024 * 1024) resolve(); });
  });
  assert.ok(got >= 64 * 1024 * 1024, 'the whole file arrives once the client reads');
  c.destroy();
}));

test('the filter order is the documented one', () => {
  const o = s.chainsOf().order();
  assert.equal(o.header, ['not_modified', 'capture', 'headers', 'uppercase', 'sub', 'gzip', 'range', 'chunked', 'header']);
  assert.equal(o.body, ['range', 'copy', 'capture', 'uppercase', 'sub', 'postpone', 'gzip', 'chunked', 'write']);
});

test('filter trace: every filter a request passes, with sizes and flags', timed(30000, async () => {
  traceLines.length = 0;
  await raw(s.port, get('/traced/dir/file.txt'), { responses: 1 });
  const body = traceLines.filter((l) => l.includes(' body '));
  const header = traceLines.filter((l) => l.includes(' header '));
  assert.ok(header.some((l) => l.includes('> not_modified status=200 len=7')), header.join('\n'));
  assert.ok(body.some((l) => /> copy 7:F[Ll]/.test(l)), body.join('\n'));
  assert.ok(body.some((l) => /> write 7:F[Ll]/.test(l)), 'a file buf reaches the write filter untouched');
}));

test.run();
