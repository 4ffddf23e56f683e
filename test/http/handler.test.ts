// The handler API (the counterpart of content_by_lua and ngx.*) and the phases, over real sockets.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listen, raw, timed, get } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { Request } from '../../src/http/request.js';

let s: SluiceServer;
const seen: string[] = [];

test.before(async () => {
  s = await listen({
    '= /say': { content: (r: Request) => { r.say('a', 1, true, ['b', ['c']]); r.print('d'); } },
    '= /vars': {
      content: (r: Request) => {
        r.var.myvar = 'set';
        r.say([r.var.uri, r.var.args, r.var.arg_x, r.var.request_method, r.var.http_x_test, r.var.host,
          r.var.remote_addr, r.var.request_uri, r.var.myvar, r.var.is_args, r.var.cookie_c].join('|'));
      },
    },
    '= /headers': {
      content: (r: Request) => {
        r.header['X-One'] = '1';
        r.header.x_two = '2';
        r.header['Set-Cookie'] = ['a=1', 'b=2'];
        r.status = 201;
        r.say(JSON.stringify(r.headers));
      },
    },
    '= /args': { content: (r: Request) => { r.say(JSON.stringify(r.uriArgs())); } },
    '= /post': {
      content: async (r: Request) => {
        await r.readBody();
        r.say(JSON.stringify(r.postArgs()));
      },
    },
    '= /exit': { content: (r: Request) => { r.exit(403); } },
    '= /exit-after-output': { content: (r: Request) => { r.say('partial'); r.exit(0); } },
    '= /throw': { content: () => { throw new Error('boom'); } },
    '= /throw-async': { content: async () => { await Promise.resolve(); throw new Error('boom'); } },
    '= /exec': { content: (r: Request) => r.exec('/inner', 'q=1') },
    '= /exec-named': { content: (r: Request) => r.exec('@named') },
    '@named': { content: (r: Request) => { r.say('named ', r.uri); } },
    '/inner': { internal: true, content: (r: Request) => { r.say('inner ', r.uri, ' ', r.args, ' ', String(r.isSubrequest)); } },
    '= /redirect': { content: (r: Request) => r.redirect('/elsewhere', 301) },
    '= /phases': {
      rewriteHandler: (r: Request) => { seen.push('rewrite'); r.ctx.n = 1; },
      access: async (r: Request) => { seen.push('access'); if (r.var.arg_deny) r.exit(403); (r.ctx.n as number)++; },
      content: (r: Request) => { seen.push('content'); r.say('ctx.n=', String(r.ctx.n)); },
    },
    '= /return-text': { return: [200, 'uri=$uri args=$args\n'] },
    '= /return-redirect': { return: [302, '/target'] },
    '= /return-code': { return: [404] },
    '= /flush': { content: async (r: Request) => { r.print('one'); await r.flush(); r.print('two'); } },
    '= /flush-progress': { content: async (r: Request) => { r.print('one'); await r.flush(); seen.push(`flushed ${r.conn!.progress()}`); r.print('two'); } },
    '= /close-444': { return: [444] },
    '= /empty': { content: () => {} },
    '= /status-only': { content: (r: Request) => { r.status = 204; } },
  });
});
test.after(async () => { await s.close(); });

test('say/print flatten arguments like ngx.say', timed(30000, async () => {
  const res = await raw(s.port, get('/say'), { responses: 1 });
  assert.is(res.responses[0].body.toString(), 'a1truebc\nd');
  assert.is(res.responses[0].headers['transfer-encoding'], 'chunked');
  assert.is(res.responses[0].headers['content-type'], 'text/plain');
}));

test('r.var: built-in and user variables', timed(30000, async () => {
  const res = await raw(s.port, 'GET /vars?x=%41b&y=2 HTTP/1.1\r\nHost: Example.COM:8080\r\nX-Test: t1\r\nCookie: c=cv; d=e\r\n\r\n', { responses: 1 });
  assert.is(res.responses[0].body.toString(), '/vars|x=%41b&y=2|%41b|GET|t1|example.com|127.0.0.1|/vars?x=%41b&y=2|set|?|cv\n');
}));

test('response headers through r.header, request headers through r.headers, r.status', timed(30000, async () => {
  const res = await raw(s.port, 'GET /headers HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\n\r\n', { responses: 1 });
  const rsp = res.responses[0];
  assert.is(rsp.status, 201);
  assert.is(rsp.headers['x-one'], '1');
  assert.is(rsp.headers['x-two'], '2');
  assert.equal(rsp.headerLines.filter(([n]) => n === 'Set-Cookie').map(([, v]) => v), ['a=1', 'b=2']);
  assert.equal(JSON.parse(rsp.body.toString()), { host: 'x', 'x-a': ['1', '2'] });
}));

test('uriArgs and postArgs decode like ngx.req.get_uri_args / get_post_args', timed(30000, async () => {
  const a = await raw(s.port, get('/args?a=1&a=2&b&c=%20x+y'), { responses: 1 });
  assert.equal(JSON.parse(a.responses[0].body.toString()), { a: ['1', '2'], b: true, c: ' x y' });
  const body = 'k=v&k2=%3D';
  const p = await raw(s.port, `POST /post HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`, { responses: 1 });
  assert.equal(JSON.parse(p.responses[0].body.toString()), { k: 'v', k2: '=' });
}));

test('exit(status) sends the status page; exit(0) after output ends normally', timed(30000, async () => {
  const a = await raw(s.port, get('/exit'), { responses: 1 });
  assert.is(a.responses[0].status, 403);
  assert.ok(a.responses[0].body.toString().includes('403 Forbidden'));
  const b = await raw(s.port, get('/exit-after-output'), { responses: 1 });
  assert.is(b.responses[0].body.toString(), 'partial\n');
}));

test('a handler that throws gives 500; the server goes on', timed(30000, async () => {
  const a = await raw(s.port, get('/throw'), { responses: 1 });
  assert.is(a.responses[0].status, 500);
  const b = await raw(s.port, get('/throw-async'), { responses: 1 });
  assert.is(b.responses[0].status, 500);
  const c = await raw(s.port, get('/say'), { responses: 1 });
  assert.is(c.responses[0].status, 200);
}));

test('exec: internal redirect into an internal location and a named one; clients get 404 there', timed(30000, async () => {
  const a = await raw(s.port, get('/exec'), { responses: 1 });
  assert.is(a.responses[0].body.toString(), 'inner /inner q=1 false\n');
  const b = await raw(s.port, get('/exec-named'), { responses: 1 });
  assert.is(b.responses[0].body.toString(), 'named /exec-named\n');
  const c = await raw(s.port, get('/inner'), { responses: 1 });
  assert.is(c.responses[0].status, 404);
}));

test('redirect sets Location and the status', timed(30000, async () => {
  const a = await raw(s.port, get('/redirect'), { responses: 1 });
  assert.is(a.responses[0].status, 301);
  assert.is(a.responses[0].headers.location, `http://localhost:${s.port}/elsewhere`, 'made absolute (absoluteRedirect)');
}));

test('phases run in order: rewrite, access, content; ctx is shared; access may deny', timed(30000, async () => {
  seen.length = 0;
  const a = await raw(s.port, get('/phases'), { responses: 1 });
  assert.is(a.responses[0].body.toString(), 'ctx.n=2\n');
  assert.equal(seen, ['rewrite', 'access', 'content']);
  seen.length = 0;
  const b = await raw(s.port, get('/phases?deny=1'), { responses: 1 });
  assert.is(b.responses[0].status, 403);
  assert.equal(seen, ['rewrite', 'access']);
}));

test('return: text with variables, redirect, bare code', timed(30000, async () => {
  const a = await raw(s.port, get('/return-text?z=9'), { responses: 1 });
  assert.is(a.responses[0].body.toString(), 'uri=/return-text args=z=9\n');
  assert.is(a.responses[0].headers['content-length'], '26');
  const b = await raw(s.port, get('/return-redirect'), { responses: 1 });
  assert.is(b.responses[0].status, 302);
  assert.is(b.responses[0].headers.location, `http://localhost:${s.port}/target`);
  const c = await raw(s.port, get('/return-code'), { responses: 1 });
  assert.is(c.responses[0].status, 404);
}));

test('flush sends what is buffered; an empty handler sends an empty 200; status-only 204', timed(30000, async () => {
  const a = await raw(s.port, get('/flush'), { responses: 1 });
  assert.is(a.responses[0].body.toString(), 'onetwo');
  const b = await raw(s.port, get('/empty'), { responses: 1 });
  assert.is(b.responses[0].status, 200);
  assert.is(b.responses[0].headers['content-length'], '0');
  const c = await raw(s.port, get('/status-only'), { responses: 1 });
  assert.is(c.responses[0].status, 204);
}));

test('await r.flush(): the bytes have left when it resolves (not held to the turn\'s end)', timed(30000, async () => {
  seen.length = 0;
  const a = await raw(s.port, get('/flush-progress'), { responses: 1 });
  assert.is(a.responses[0].body.toString(), 'onetwo');
  assert.is(seen.length, 1);
  assert.ok(Number(seen[0].split(' ')[1]) > 0, `written when flush resolved: ${seen[0]}`);
}));

test('return 444 after a pipelined request in the same read: the first is answered, then the connection closes (as nginx)', timed(30000, async () => {
  const a = await raw(s.port, get('/empty') + get('/close-444'));
  assert.is(a.responses.length, 1);
  assert.is(a.responses[0].status, 200);
  assert.ok(a.closed);
}));

test('no matching location is 404', timed(30000, async () => {
  const a = await raw(s.port, get('/nothing-here'), { responses: 1 });
  assert.is(a.responses[0].status, 404);
}));

test.run();
