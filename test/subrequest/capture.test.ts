// r.location.capture / captureMulti / captureStream / include, behaviour by behaviour
// (lua-nginx-module's ngx.location.capture semantics unless the docs say otherwise).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { listen, raw, timed, get, sleep } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { Request } from '../../src/http/request.js';
import { HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_HEAD, HTTP_GET } from '../../src/lua/ngx.js';
import { setTraceSink } from '../../src/filters/trace.js';

const root = mkdtempSync(join(tmpdir(), 'sluice-sub-'));
const fileText = 'static file content\n'.repeat(5000); // 100 KB: several file reads
writeFileSync(join(root, 'f.txt'), fileText);

let s: SluiceServer;
let streamProduced = 0;
/** /sub/wait handlers running now, and the most at once. */
let waiting = 0;
let maxWaiting = 0;
/** What a test's parent handler computed, sent back as JSON. */
type J = Record<string, unknown>;

const json = (r: Request, v: unknown) => { r.header['Content-Type'] = 'application/json'; r.print(JSON.stringify(v)); };

test.before(async () => {
  s = await listen({
    // --- targets
    '/sub/echo': {
      internal: true,
      content: async (r: Request) => {
        await r.readBody();
        r.header['X-Method'] = r.method;
        r.header['Set-Cookie'] = ['a=1', 'b=2'];
        json(r, {
          method: r.method, uri: r.uri, args: r.args, headers: r.headers, body: r.body()?.toString() ?? null,
          isSub: r.isSubrequest, cl: r.headers['content-length'] ?? null,
        });
      },
    },
    '/sub/vars': {
      internal: true,
      content: (r: Request) => {
        const before = { a: r.var.a ?? null, b: r.var.b ?? null };
        r.var.a = 'set-in-sub';
        r.setHeader('X-Parent', 'changed-in-sub');
        r.ctx.touched = true;
        json(r, before);
      },
    },
    '/sub/wait': {
      internal: true,
      content: async (r: Request) => {
        maxWaiting = Math.max(maxWaiting, ++waiting);
        await sleep(100);
        waiting--;
        r.say('waited ', r.var.arg_n ?? '');
      },
    },
    '/sub/throw': { internal: true, content: () => { throw new Error('sub fails'); } },
    '/sub/midway': {
      internal: true,
      content: async (r: Request) => { r.print('part one,'); await r.flush(); throw new Error('fails after output'); },
    },
    '/sub/gz': {
      internal: true,
      content: (r: Request) => {
        const ae = String(r.headers['accept-encoding'] ?? '');
        if (ae.includes('gzip')) {
          r.header['Content-Encoding'] = 'gzip';
          r.print(gzipSync('compressed hello'));
        } else {
          r.print('plain hello');
        }
      },
    },
    '/sub/recurse': {
      internal: true,
      content: async (r: Request) => {
        try {
          const res = await r.location.capture('/sub/recurse');
          r.status = res.status;
          r.print(res.body);
        } catch (e) {
          r.status = 508;
          r.print((e as Error).message);
        }
      },
    },
    '/sub/stream': {
      internal: true,
      content: async (r: Request) => {
        const chunk = Buffer.alloc(16 * 1024, 'k');
        for (let i = 0; i < 200; i++) { streamProduced++; if (!r.print(chunk)) await r.flush(); }
      },
    },
    '/sub/slow-b': { internal: true, content: async (r: Request) => { await sleep(50); r.print('B'); } },
    '/static/': { internal: true, alias: root + '/', filterTrace: true },
    '@named': { content: (r: Request) => { r.say('named'); } },

    // --- parents
    '= /headers': {
      content: async (r: Request) => {
        const a = await r.location.capture('/sub/echo');
        const b = await r.location.capture('/sub/echo', { headers: { 'X-A': 'override', 'X-New': 'n' } });
        json(r, { a: JSON.parse(a.body.toString()).headers, b: JSON.parse(b.body.toString()).headers, header: a.header, parentAfter: r.headers });
      },
    },
    '= /internal': { content: async (r: Request) => { const res = await r.location.capture('/sub/echo'); json(r, { status: res.status }); } },
    '= /named': {
      content: async (r: Request) => {
        try { await r.location.capture('@named'); json(r, { ok: true }); } catch (e) { json(r, { error: (e as Error).message }); }
      },
    },
    '= /unsafe': {
      content: async (r: Request) => {
        try { await r.location.capture('/sub/../etc/passwd'); json(r, { ok: true }); } catch (e) { json(r, { error: (e as Error).message }); }
      },
    },
    '= /depth': {
      subrequestDepth: 5,
      content: async (r: Request) => {
        const res = await r.location.capture('/sub/recurse');
        json(r, { status: res.status, message: res.body.toString() });
      },
    },
    '= /ctx': {
      content: async (r: Request) => {
        r.ctx.mine = 1;
        await r.location.capture('/sub/vars');
        const isolated = { ...r.ctx };
        const shared: Record<string, unknown> = { mine: 2 };
        await r.location.capture('/sub/vars', { ctx: shared });
        json(r, { isolated, shared, parentHeader: r.headers['x-parent'] ?? null });
      },
    },
    '= /vars': {
      content: async (r: Request) => {
        r.var.a = 'parent-a';
        const fresh = JSON.parse((await r.location.capture('/sub/vars')).body.toString());
        const afterFresh = r.var.a;
        const copied = JSON.parse((await r.location.capture('/sub/vars', { copyAllVars: true })).body.toString());
        const afterCopy = r.var.a;
        const shared = JSON.parse((await r.location.capture('/sub/vars', { shareAllVars: true, vars: { b: 'given' } })).body.toString());
        const afterShare = r.var.a;
        const given = JSON.parse((await r.location.capture('/sub/vars', { vars: { a: 'x', b: 2 } })).body.toString());
        json(r, { fresh, afterFresh, copied, afterCopy, shared, afterShare, given });
      },
    },
    '= /args': {
      content: async (r: Request) => {
        const a = JSON.parse((await r.location.capture('/sub/echo', { args: { 'fo=': '=>' } })).body.toString());
        const b = JSON.parse((await r.location.capture('/sub/echo?a=3', { args: { b: 4 } })).body.toString());
        const c = JSON.parse((await r.location.capture('/sub/echo', { args: { list: [1, 2], flag: true, off: false } })).body.toString());
        const d = JSON.parse((await r.location.capture('/sub/echo?x=1', { args: 'y=2' })).body.toString());
        json(r, { a: a.args, b: b.args, c: c.args, d: d.args });
      },
    },
    '= /body': {
      content: async (r: Request) => {
        let early: string | null = null;
        try { await r.location.capture('/sub/echo', { method: HTTP_POST }); } catch (e) { early = (e as Error).message; }
        await r.readBody();
        const cap = async (o: object) => JSON.parse((await r.location.capture('/sub/echo', o)).body.toString());
        json(r, {
          early,
          post: await cap({ method: HTTP_POST }),
          put: await cap({ method: HTTP_PUT }),
          get: await cap({ method: HTTP_GET }),
          del: await cap({ method: HTTP_DELETE }),
          delForward: await cap({ method: HTTP_DELETE, alwaysForwardBody: true }),
          explicit: await cap({ method: HTTP_POST, body: 'explicit!' }),
          getExplicit: await cap({ body: 'on a GET' }),
        });
      },
    },
    '= /head': {
      content: async (r: Request) => {
        const res = await r.location.capture('/sub/echo', { method: HTTP_HEAD });
        json(r, { status: res.status, bodyLength: res.body.length, xMethod: res.header['X-Method'], ct: res.header['Content-Type'] });
      },
    },
    '= /throw': {
      content: async (r: Request) => {
        const res = await r.location.capture('/sub/throw');
        json(r, { status: res.status, body: res.body.toString(), truncated: res.truncated });
      },
    },
    '= /midway': {
      content: async (r: Request) => {
        const res = await r.location.capture('/sub/midway');
        const ok = await r.location.capture('/sub/wait');
        json(r, { status: res.status, body: res.body.toString(), truncated: res.truncated, okTruncated: ok.truncated });
      },
    },
    '= /multi': {
      content: async (r: Request) => {
        maxWaiting = 0;
        const res = await r.location.captureMulti([['/sub/wait', { args: { n: 1 } }], ['/sub/wait', { args: 'n=2' }], '/sub/wait?n=3']);
        json(r, { maxWaiting, bodies: res.map((x) => x.body.toString()), statuses: res.map((x) => x.status) });
      },
    },
    '= /static': {
      content: async (r: Request) => {
        const res = await r.location.capture('/static/f.txt');
        json(r, { status: res.status, same: res.body.toString() === fileText, len: res.body.length, ct: res.header['Content-Type'] });
      },
    },
    '= /phases': {
      rewriteHandler: async (r: Request) => { r.ctx.rw = (await r.location.capture('/sub/wait?n=rw')).body.toString(); },
      access: async (r: Request) => { r.ctx.ac = (await r.location.capture('/sub/wait?n=ac')).body.toString(); },
      content: async (r: Request) => { json(r, { rw: r.ctx.rw, ac: r.ctx.ac, ct: (await r.location.capture('/sub/wait?n=ct')).body.toString(), isSub: r.isSubrequest }); },
    },
    '= /gz': {
      content: async (r: Request) => {
        const plain = await r.location.capture('/sub/gz');
        const asked = await r.location.capture('/sub/gz', { headers: { 'Accept-Encoding': 'gzip' } });
        const decoded = await r.location.capture('/sub/gz', { headers: { 'Accept-Encoding': 'gzip' }, decode: true });
        json(r, { plain: plain.body.toString(), askedEncoding: asked.header['Content-Encoding'], askedIsGzip: asked.body[0] === 0x1f, decoded: decoded.body.toString(), decodedEncoding: decoded.header['Content-Encoding'] ?? null });
      },
    },
    '= /stream': {
      content: async (r: Request) => {
        streamProduced = 0;
        const res = await r.location.captureStream('/sub/stream');
        await sleep(100); // the reader is slow: the subrequest must be held back meanwhile
        const producedWhileWaiting = streamProduced;
        let total = 0;
        let chunks = 0;
        for await (const c of res.body) { total += c.length; chunks++; }
        json(r, { status: res.status, total, chunks, producedWhileWaiting, truncated: res.truncated });
      },
    },
    '= /include': {
      content: async (r: Request) => {
        r.print('A');
        const p = r.location.include('/sub/slow-b');
        r.print('C');
        await p;
        r.print('D');
      },
    },
  });
});
test.after(async () => { await s.close(); rmSync(root, { recursive: true, force: true }); });

/** `late`: the body follows the head a little later (the handler starts before it is in). */
async function call(path: string, extra = '', body?: string, late = false): Promise<J> {
  const head = body === undefined ? get(path, extra) : `POST ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  const req = late || body === undefined ? head : head + body;
  const segments = late && body !== undefined ? [{ delayMs: 30, data: body }] : [];
  const res = await raw(s.port, req, { responses: 1, segments });
  assert.is(res.responses[0]?.status, 200, res.text);
  return JSON.parse(res.responses[0].body.toString()) as J;
}

test('headers: all of the parent\'s (repeated ones too), overridden by name, no leak back', timed(30000, async () => {
  const j = await call('/headers', 'X-A: 1\r\nX-A: 2\r\nAccept-Encoding: gzip\r\nX-Keep: k\r\n');
  const a = j.a as J, b = j.b as J;
  assert.equal(a['x-a'], ['1', '2']);
  assert.is(a['x-keep'], 'k');
  assert.is(a['accept-encoding'], undefined, 'Accept-Encoding is not inherited (the remedy)');
  assert.is(b['x-a'], 'override');
  assert.is(b['x-new'], 'n');
  assert.equal((j.parentAfter as J)['x-a'], ['1', '2']);
  assert.is((j.parentAfter as J)['x-new'], undefined);
  assert.equal((j.header as J)['Set-Cookie'], ['a=1', 'b=2'], 'repeated response headers as arrays');
}));

test('internal locations: reachable by a subrequest, 404 for a client', timed(30000, async () => {
  assert.is((await call('/internal')).status, 200);
  const res = await raw(s.port, get('/sub/echo'), { responses: 1 });
  assert.is(res.responses[0].status, 404);
}));

test('named locations and unsafe uris are refused with a clear error', timed(30000, async () => {
  assert.match(String((await call('/named')).error), /named locations are not supported/);
  assert.match(String((await call('/unsafe')).error), /unsafe uri/);
}));

test('depth limit: a capture cycle is stopped and reported', timed(30000, async () => {
  const j = await call('/depth');
  // the capture that would go one level too deep throws; its handler passes the message up
  assert.is(j.status, 508);
  assert.match(String(j.message), /subrequest depth limit 5 reached \(a cycle\?\)/);
  assert.match(String(j.message), /\/sub\/recurse -> \/sub\/recurse -> \/sub\/recurse/);
}));

test('ctx: fresh by default, shared when passed', timed(30000, async () => {
  const j = await call('/ctx', 'X-Parent: original\r\n');
  assert.equal(j.isolated, { mine: 1 }, 'the subrequest\'s ctx was its own');
  assert.equal(j.shared, { mine: 2, touched: true }, 'ctx passed in is the subrequest\'s r.ctx');
  assert.is(j.parentHeader, 'original', 'a header set in the subrequest does not leak');
}));

test('variables: fresh, copyAllVars, shareAllVars, vars', timed(30000, async () => {
  const j = await call('/vars');
  assert.equal(j.fresh, { a: null, b: null });
  assert.is(j.afterFresh, 'parent-a');
  assert.equal(j.copied, { a: 'parent-a', b: null });
  assert.is(j.afterCopy, 'parent-a', 'a copy: writes stay in the subrequest');
  assert.equal(j.shared, { a: 'parent-a', b: 'given' });
  assert.is(j.afterShare, 'set-in-sub', 'shared: the parent sees the write');
  assert.equal(j.given, { a: 'x', b: '2' });
}));

test('args: escaped as encodeArgs does, appended to the uri\'s query with &', timed(30000, async () => {
  const j = await call('/args');
  assert.is(j.a, 'fo%3D=%3D%3E');
  assert.is(j.b, 'a=3&b=4');
  assert.is(j.c, 'list=1&list=2&flag');
  assert.is(j.d, 'x=1&y=2');
}));

test('body: forwarded to POST and PUT, to others only when asked; explicit body wins; read first', timed(30000, async () => {
  const j = await call('/body', '', 'parent body', true);
  assert.match(String(j.early), /request body has not been read/);
  const b = (k: string) => j[k] as J;
  assert.is(b('post').body, 'parent body');
  assert.is(b('post').cl, '11');
  assert.is(b('put').body, 'parent body');
  assert.is(b('get').body, null);
  assert.is(b('get').cl, null, 'a GET subrequest never inherits Content-Length');
  assert.is(b('del').body, null);
  assert.is(b('delForward').body, 'parent body');
  assert.is(b('explicit').body, 'explicit!');
  assert.is(b('explicit').cl, '9');
  assert.is(b('getExplicit').body, 'on a GET');
  assert.is(b('post').method, 'POST');
  assert.is(b('post').isSub, true);
}));

test('HEAD: empty body, headers kept', timed(30000, async () => {
  const j = await call('/head');
  assert.equal(j, { status: 200, bodyLength: 0, xMethod: 'HEAD', ct: 'application/json' });
}));

test('a subrequest handler that throws: 500 with an empty body', timed(30000, async () => {
  assert.equal(await call('/throw'), { status: 500, body: '', truncated: false });
}));

test('a handler that fails mid-body: truncated', timed(30000, async () => {
  const j = await call('/midway');
  assert.equal(j, { status: 200, body: 'part one,', truncated: true, okTruncated: false });
}));

test('captureMulti runs concurrently; results in the order given', timed(30000, async () => {
  const j = await call('/multi');
  assert.equal(j.bodies, ['waited 1\n', 'waited 2\n', 'waited 3\n']);
  assert.equal(j.statuses, [200, 200, 200]);
  assert.is(j.maxWaiting, 3, 'the three 100 ms subrequests were all running at once');
}));

test('capture of a static file: the copy filter reads it into memory, the capture gets it whole', timed(30000, async () => {
  const lines: string[] = [];
  setTraceSink((l) => lines.push(l));
  try {
    assert.equal(await call('/static'), { status: 200, same: true, len: fileText.length, ct: 'text/plain' });
  } finally {
    setTraceSink((l) => process.stderr.write(l + '\n'));
  }
  const sub = lines.filter((l) => /\] r\d+\.\d+ body/.test(l));
  assert.ok(sub.some((l) => / body {3}> copy \d+:F/.test(l)), `the file buf goes into copy:\n${sub.join('\n')}`);
  assert.ok(sub.some((l) => / body {3}> capture \d+:mt/.test(l)), 'memory bufs reach the capture');
  assert.not.ok(sub.some((l) => / body {3}> capture \d+:F/.test(l)), 'no file buf reaches the capture');
}));

test('captures from the rewrite, access and content phases', timed(30000, async () => {
  assert.equal(await call('/phases'), { rw: 'waited rw\n', ac: 'waited ac\n', ct: 'waited ct\n', isSub: false });
}));

test('Accept-Encoding: not inherited by default; asked for, it comes compressed; decode undoes it', timed(30000, async () => {
  const j = await call('/gz', 'Accept-Encoding: gzip\r\n');
  assert.is(j.plain, 'plain hello');
  assert.is(j.askedEncoding, 'gzip');
  assert.is(j.askedIsGzip, true);
  assert.is(j.decoded, 'compressed hello');
  assert.is(j.decodedEncoding, null);
}));

test('captureStream: status first, body in chunks, the subrequest held back by a slow reader', timed(30000, async () => {
  const j = await call('/stream');
  assert.is(j.status, 200);
  assert.is(j.total, 200 * 16 * 1024);
  assert.ok((j.chunks as number) > 1);
  assert.ok((j.producedWhileWaiting as number) < 20, `at most about 64 KiB ahead of the reader (${j.producedWhileWaiting} chunks of 16 KiB made)`);
  assert.is(j.truncated, false);
}));

test('include: a subrequest writes to the client in document order (postpone filter)', timed(30000, async () => {
  const res = await raw(s.port, get('/include'), { responses: 1 });
  assert.is(res.responses[0].body.toString(), 'ABCD');
}));

test.run();
