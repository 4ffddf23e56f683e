// The rewrite module (rewrite, set, if, break, return, rewrite_log), regex captures from
// locations, server names, rewrite, if and map, try_files, error_page, index with variables
// and map: over real sockets. (test/diff/rewrite.test.ts compares the same against nginx.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, raw, get, captureLog, stopCapture } from '../helpers.js';
import { resolveConfig } from '../../src/http/conf/config.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { Request } from '../../src/http/request.js';

let s: SluiceServer;
let port: number;
const root = mkdtempSync(join(tmpdir(), 'sluice-rw-'));
mkdirSync(join(root, 'dir'));
mkdirSync(join(root, 'app'));
writeFileSync(join(root, 'file.txt'), 'file\n');
writeFileSync(join(root, 'dir', 'index.html'), 'dir index\n');
writeFileSync(join(root, 'app', 'index.html'), 'spa\n');
writeFileSync(join(root, '404.html'), 'custom 404\n');
writeFileSync(join(root, 'v2.html'), 'v2\n');

const echo = (r: Request) => { r.say(`${r.uri}|${r.args}|${r.var.x ?? ''}`); };

test.before(async () => { try {
  s = await listen({
    // captures from a location regex, numbered and named
    '~ ^/user/(\\d+)/(?<action>\\w+)$': { return: [200, 'user [$1] does [$action]'] },
    '~ ^/p/(?P<page>\\w+)$': { return: [200, 'page $page'] },
    '/old/': { rewrite: '^/old/(.*)$ /new/$1 last' },
    '/new/': { content: echo },
    '/perm/': { rewrite: ['^/perm/(.*)$', 'http://example.com/$1', 'permanent'] },
    '/redir/': { rewrite: ['^/redir/(.*)$', '/elsewhere/$1?a=b', 'redirect'] },
    '/args/': { rewrite: [['^/args/keep$', '/new/keep?n=1'], ['^/args/drop$', '/new/drop?'], ['^/args/only$', '/new/only?n=2?']] },
    '/brk/': { rewrite: '^/brk/(.*)$ /file.txt break', root },
    '/loop/': { rewrite: '^/loop/(.*)$ /loop/x$1 last' },
    '/seq/': {
      // no flag: the next rule sees the rewritten URI, then the location is found again
      rewrite: [['^/seq/a$', '/seq/b'], ['^/seq/b$', '/new/from-seq']],
    },
    '/set/': { set: { $x: 'v-$arg_q', y: '[$x]' }, return: [200, '$x $y'] },
    '/if/': {
      set: { $x: 'none' },
      if: [
        ['$arg_a = 1', { set: { x: 'a' } }],
        ['($http_x_h ~* ^(Yes)$)', { set: { x: 'h-$1' } }],
        ['$arg_b', { return: [200, 'b is true'] }],
        ['$arg_c != "on"', { set: { x: '${x}-c-off' } }],
      ],
      return: [200, 'x=$x'],
    },
    '/iffile/': {
      root,
      if: { '!-f $request_filename': { return: [404] } },
      content: (r: Request) => { r.say('found ', r.uri); },
    },
    '/ifdir/': { root, if: [['-d $document_root/dir', { return: [200, 'is dir'] }]], return: [200, 'no dir'] },
    '/ifconf/': {
      addHeader: [['X-Outer', '1']],
      if: [['$arg_inner', { addHeader: [['X-Inner', '1']], content: (r: Request) => { r.say('inner'); } }]],
      content: (r: Request) => { r.say('outer'); },
    },
    '/steps/': {
      // an order keys alone cannot give: if, set, if, then a rule
      rewrite: [
        { if: [['$arg_a', { set: { $x: 'a' } }]] },
        { set: { $x: '${x}-set' } },
        { if: [['$x = a-set', { return: [200, 'both: $x'] }]] },
        '^/steps/(.*)$ /new/$1 last',
      ],
    },
    '/break/': { set: { $x: '1' }, break: true, return: [200, 'not reached'], content: (r: Request) => { r.say('after break ', r.var.x ?? ''); } },
    // try_files
    '/': { root, tryFiles: '$uri $uri/ /app/index.html' },
    '/tf-code/': { root, tryFiles: ['$uri', '=418'] },
    '/tf-named/': { root, tryFiles: '$uri @fallback' },
    '@fallback': { return: [200, 'fallback for $uri'] },
    // error_page
    '/ep/': { root, errorPage: '404 /404.html' },
    '/ep-code/': { root, errorPage: [404, '=200', '/v2.html'] },
    '/ep-named/': { return: [403], errorPage: '403 @fallback' },
    '/ep-url/': { return: [404], errorPage: '404 http://example.com/missing' },
    '/ep-url301/': { return: [404], errorPage: [404, '=301', 'http://example.com/moved'] },
    '/ep-target/': { return: [500], errorPage: [500, '=', '/target'] },
    '= /target': { return: [201, 'target said 201'] },
    '/ep-loop/': { return: [404], errorPage: '404 /ep-loop/again' },
    '/ep-post/': { return: [405], errorPage: '405 /echo-method' },
    '= /echo-method': { content: (r: Request) => { r.say(r.method); } },
    // map
    '/map/': { return: [200, 'mobile=$mobile host=$host_kind v=$mver'] },
    // index with variables
    '/idx/': { alias: join(root, 'dir') + '/', index: '$arg_i index.html' },
  }, { serverName: 'localhost ~^(?<sub>\\w+)\\.cap\\.test$' }, {
    map: {
      '$http_user_agent $mobile': { default: '0', '~*iphone|android': '1', 'exactly this': 'exact' },
      '$http_host $host_kind': { hostnames: true, default: 'other', '*.example.com': 'wild', 'example.com': 'bare', 'www.example.*': 'tail' },
      '$http_user_agent $mver': { default: '-', '~^v(?<major>\\d+)\\.(\\d+)': '$major-$2' },
    },
  });
  port = s.port; } catch (e) { console.error(e); throw e; }
});

test.after(() => s.close());

async function one(req: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const res = await raw(port, req, { responses: 1 });
  const r = res.responses[0];
  return { status: r.status, headers: r.headers as Record<string, string>, body: r.body.toString() };
}

test('location regex captures: $1 and named', async () => {
  assert.is((await one(get('/user/42/edit'))).body, 'user [42] does [edit]');
  assert.is((await one(get('/p/about'))).body, 'page about', '(?P<name>) as PCRE writes it');
});

test('server_name regex captures', async () => {
  const r = await one('GET /map/ HTTP/1.1\r\nHost: alice.cap.test\r\n\r\n');
  assert.is(r.status, 200);
  const c = await one('GET /p/x HTTP/1.1\r\nHost: bob.cap.test\r\n\r\n');
  assert.is(c.body, 'page x');
});

test('rewrite last, permanent, redirect, args', async () => {
  assert.is((await one(get('/old/a/b?z=1'))).body, '/new/a/b|z=1|\n', 'last: found again, args kept');
  const p = await one(get('/perm/x?q=1'));
  assert.is(p.status, 301);
  assert.is(p.headers.location, 'http://example.com/x?q=1');
  const r = await one(get('/redir/y?q=1'));
  assert.is(r.status, 302);
  assert.is(r.headers.location, `http://localhost:${port}/elsewhere/y?a=b&q=1`);
  assert.is((await one(get('/args/keep?o=2'))).body, '/new/keep|n=1&o=2|\n', 'new args, then the old');
  assert.is((await one(get('/args/drop?o=2'))).body, '/new/drop||\n', 'a last ? drops the args');
  assert.is((await one(get('/args/only?o=2'))).body, '/new/only|n=2|\n', 'new args only');
});

test('rewrite break stays in the location; without a flag the rules chain', async () => {
  const b = await one(get('/brk/anything'));
  assert.is(b.status, 200);
  assert.is(b.body, 'file\n');
  assert.is((await one(get('/seq/a'))).body, '/new/from-seq||\n');
});

test('a rewrite loop ends in 500 after 10 changes, logged', async () => {
  captureLog();
  const r = await one(get('/loop/'));
  const lines = stopCapture();
  assert.is(r.status, 500);
  assert.ok(lines.some((l) => l.includes('rewrite or internal redirection cycle while processing "/loop/xxxxxxxxxx')), lines.join(''));
});

test('set: in order, with variables', async () => {
  assert.is((await one(get('/set/?q=7'))).body, 'v-7 [v-7]');
});

test('if: =, ~* with captures, a plain variable, !=, return inside', async () => {
  assert.is((await one(get('/if/'))).body, 'x=none-c-off');
  assert.is((await one(get('/if/?a=1&c=on'))).body, 'x=a');
  assert.is((await one(get('/if/', 'X-H: yes\r\n'))).body, 'x=h-yes-c-off');
  assert.is((await one(get('/if/?b=1'))).body, 'b is true');
  assert.is((await one(get('/if/?b=0'))).body, 'x=none-c-off', '"0" is false');
});

test('if: -f, -d and negation', async () => {
  assert.is((await one(get('/iffile/nothing'))).status, 404);
  assert.is((await one(get('/ifdir/'))).body, 'is dir');
});

test('if: its block becomes the config (content, addHeader)', async () => {
  const o = await one(get('/ifconf/'));
  assert.is(o.body, 'outer\n');
  assert.is(o.headers['x-outer'], '1');
  const i = await one(get('/ifconf/?inner=1'));
  assert.is(i.body, 'inner\n');
  assert.is(i.headers['x-inner'], '1');
  assert.is(i.headers['x-outer'], undefined, 'the if block\'s own addHeader list replaces the outer one');
});

test('rewrite list with steps: the program in the order written', async () => {
  assert.is((await one(get('/steps/?a=1'))).body, 'both: a-set');
  assert.is((await one(get('/steps/z'))).body, '/new/z||-set\n');
});

test('break stops the program; the phases go on', async () => {
  assert.is((await one(get('/break/'))).body, 'after break 1\n');
});

test('try_files: file, directory, fallback URI, =code, named', async () => {
  assert.is((await one(get('/file.txt'))).body, 'file\n');
  assert.is((await one(get('/dir'))).status, 301, '$uri/ found: the URI is /dir, which the static module redirects (as nginx)');
  assert.is((await one(get('/dir/'))).body, 'dir index\n');
  assert.is((await one(get('/deep/link/in/spa'))).body, 'spa\n', 'SPA deep link');
  assert.is((await one(get('/tf-code/none'))).status, 418);
  assert.is((await one(get('/tf-named/none'))).body, 'fallback for /tf-named/none');
});

test('error_page: URI with the original status, =code, named, URL redirect, =, once', async () => {
  const a = await one(get('/ep/missing'));
  assert.is(a.status, 404);
  assert.is(a.body, 'custom 404\n');
  const b = await one(get('/ep-code/missing'));
  assert.is(b.status, 200);
  assert.is(b.body, 'v2\n');
  const c = await one(get('/ep-named/'));
  assert.is(c.status, 403);
  assert.is(c.body, 'fallback for /ep-named/');
  const d = await one(get('/ep-url/'));
  assert.is(d.status, 302);
  assert.is(d.headers.location, 'http://example.com/missing');
  const e = await one(get('/ep-url301/'));
  assert.is(e.status, 301);
  const f = await one(get('/ep-target/'));
  assert.is(f.status, 201, 'a bare = takes the target\'s status');
  assert.is(f.body, 'target said 201');
  const g = await one(get('/ep-loop/'));
  assert.is(g.status, 404, 'the second error page is not taken without recursiveErrorPages');
  assert.match(g.body, '<h1>404 Not Found</h1>');
  const h = await one('POST /ep-post/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc');
  assert.is(h.status, 405);
  assert.is(h.body, 'GET\n', 'the error page is asked for with GET');
});

test('map: regex, exact (case-insensitive), default, hostnames, captures in values', async () => {
  assert.is((await one(get('/map/', 'User-Agent: Mozilla iPhone\r\n'))).body.split(' ')[0], 'mobile=1');
  assert.is((await one(get('/map/', 'User-Agent: EXACTLY this\r\n'))).body.split(' ')[0], 'mobile=exact');
  assert.is((await one(get('/map/'))).body.split(' ')[0], 'mobile=0');
  const host = async (h: string) => (await one(`GET /map/ HTTP/1.1\r\nHost: ${h}\r\n\r\n`)).body.split(' ')[1];
  assert.is(await host('a.example.com'), 'host=wild');
  assert.is(await host('example.com'), 'host=bare');
  assert.is(await host('www.example.org'), 'host=tail');
  assert.is(await host('nothing.test'), 'host=other');
  assert.is((await one(get('/map/', 'User-Agent: v12.3 agent\r\n'))).body.split(' ')[2], 'v=12-3');
});

test('index with variables', async () => {
  assert.is((await one(get('/idx/?i=nothing.html'))).body, 'dir index\n');
  assert.is((await one(get('/idx/'))).status, 500, 'an empty name is the directory itself: a redirect cycle, as in nginx');
});

test('config errors are clear', () => {
  const bad = (loc: Record<string, unknown>, re: RegExp) => {
    assert.throws(() => resolveConfig({ servers: [{ listen: 80, locations: { '/': loc } }] }), re);
  };
  bad({ rewrite: '^/(x /y' }, /invalid regex "\^\/\(x" in "rewrite"/);
  bad({ rewrite: '^/x /y bogus' }, /invalid parameter "bogus" in "rewrite"/);
  bad({ if: [['$a ==', {}]] }, /invalid condition|unexpected "=="/);
  bad({ if: [['nothing', {}]] }, /invalid condition "nothing"/);
  bad({ if: [['$a', { if: [['$b', {}]] }]] }, /"if" directive is not allowed here/);
  bad({ set: { $uri: 'x' } }, /not changeable|is not changeable/);
  bad({ rewrite: [{ root: '/x' }] }, /a step in "rewrite" is one of/);
  bad({ rewrite: [{ set: { $uri: 'x' } }] }, /not changeable/);
  bad({ tryFiles: '$uri' }, /invalid number of arguments in "tryFiles"/);
  bad({ errorPage: '200 /x' }, /must be between 300 and 599/);
  bad({ return: [200, 'a $ b'] }, /invalid variable name/);
  assert.throws(() => resolveConfig({ servers: [{ listen: 80, if: [['$a', { root: '/x' }]] }] }), /"root" directive is not allowed here/);
  assert.throws(() => resolveConfig({ map: { '$a': { default: '1' } }, servers: [{ listen: 80 }] }), /invalid map "\$a"/);
  // nginx's "unknown variable": a typo is a config error; what set, a map or a named capture makes is known
  bad({ return: [200, '$reqest_uri'] }, /unknown "reqest_uri" variable in "return"/);
  const ok = (c: Record<string, unknown>) => resolveConfig({ servers: [{ listen: 80 }], ...c });
  ok({ servers: [{ listen: 80, locations: { '/': { set: { $mine: '1' }, return: [200, '$mine'] } } }] });
  ok({ map: { '$uri $mapped': { default: '1' } }, servers: [{ listen: 80, locations: { '/': { return: [200, '$mapped'] } } }] });
  ok({ servers: [{ listen: 80, locations: { '~ ^/(?<part>.+)$': { return: [200, '$part'] } } }] });
});

test.run();
