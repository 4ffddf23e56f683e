// cf. lua-nginx-module's t/ (ngx.say, ngx.exit, ngx.redirect, ngx.req.*) — differential cases:
// content_by_lua_block in nginx against the same handler written for sluice.
import { diffSuite, type DiffCase } from './harness.js';
import type { Request } from '../../src/http/request.js';

const cases: DiffCase[] = [
  {
    name: 'lua content: say, print, status, headers, exit, redirect, body',
    nginx: `server { listen 127.0.0.1:\${PORT};
      location /say { content_by_lua_block { ngx.say("hello ", ngx.var.arg_a) ngx.print("x", 1) } }
      location /status { content_by_lua_block { ngx.status = 201 ngx.header["X-A"] = "b" ngx.say("created") } }
      location /ct { content_by_lua_block { ngx.header.content_type = "application/json" ngx.print('{"a":1}') } }
      location /exit403 { content_by_lua_block { ngx.exit(403) } }
      location /exit204 { content_by_lua_block { ngx.exit(204) } }
      location /exit200 { content_by_lua_block { ngx.say("partial") ngx.exit(200) } }
      location /redirect { content_by_lua_block { ngx.redirect("http://example.com/x") } }
      location /redirect301 { content_by_lua_block { ngx.redirect("http://example.com/y", 301) } }
      location /req { content_by_lua_block { ngx.say(ngx.req.get_method(), " ", ngx.var.uri, " ", ngx.var.args, " ", ngx.req.get_headers()["x-a"]) } }
      location /body { content_by_lua_block { ngx.req.read_body() ngx.say("[", ngx.req.get_body_data(), "]") } }
      location /empty { content_by_lua_block { } }
      location /error { content_by_lua_block { error("boom") } }
    }`,
    sluice: () => ({
      locations: {
        '/say': { content: (r: Request) => { r.say('hello ', r.var.arg_a ?? 'nil'); r.print('x', 1); } },
        '/status': { content: (r: Request) => { r.status = 201; r.header['X-A'] = 'b'; r.say('created'); } },
        '/ct': { content: (r: Request) => { r.header['Content-Type'] = 'application/json'; r.print('{"a":1}'); } },
        '/exit403': { content: (r: Request) => r.exit(403) },
        '/exit204': { content: (r: Request) => r.exit(204) },
        '/exit200': { content: (r: Request) => { r.say('partial'); r.exit(200); } },
        '/redirect': { content: (r: Request) => r.redirect('http://example.com/x') },
        '/redirect301': { content: (r: Request) => r.redirect('http://example.com/y', 301) },
        '/req': { content: (r: Request) => { r.say(r.method, ' ', r.var.uri, ' ', r.var.args || 'nil', ' ', r.headers['x-a'] ?? 'nil'); } },
        '/body': { content: async (r: Request) => { await r.readBody(); r.say('[', r.body()?.toString() ?? 'nil', ']'); } },
        '/empty': { content: () => {} },
        '/error': { content: () => { throw new Error('boom'); } },
      },
    }),
    headers: ['x-a'],
    requests: [
      '/say?a=1', '/say', '/status', '/ct', '/exit403', '/exit204', '/exit200', '/redirect', '/redirect301',
      { path: '/req?q=2', headers: { 'X-A': 'v' } }, { method: 'POST', path: '/req' }, { method: 'POST', path: '/body', body: 'data' },
      '/body', '/empty', { path: '/error', status: 500 }, { method: 'HEAD', path: '/say' }, { path: '/say', version: '1.0' },
    ],
    differences: [
      { id: 'lua-empty-content', request: 13, headers: ['content-length', 'transfer-encoding'] },
      { id: 'lua-http10-buffering', request: 16, headers: ['content-length'] },
    ],
  },
  {
    // lua_need_request_body: the body is in before the handlers run (no read_body() in them)
    name: 'lua_need_request_body: rewrite, access and content handlers see the body; a bad one ends the request',
    nginx: `server { listen 127.0.0.1:\${PORT};
      location /need { lua_need_request_body on; content_by_lua_block { ngx.say("[", ngx.req.get_body_data(), "]") } }
      location /need-phases {
        lua_need_request_body on;
        rewrite_by_lua_block { ngx.ctx.r = ngx.req.get_body_data() }
        access_by_lua_block { ngx.ctx.a = ngx.req.get_body_data() }
        content_by_lua_block { ngx.say(ngx.ctx.r, " ", ngx.ctx.a, " ", ngx.req.get_body_data()) }
      }
      location /need-args { lua_need_request_body on; content_by_lua_block { ngx.say(ngx.req.get_post_args().a) } }
      location /need-small { lua_need_request_body on; client_max_body_size 4; content_by_lua_block { ngx.say("ran") } }
    }`,
    sluice: () => ({
      locations: {
        '/need': { needRequestBody: true, content: (r: Request) => { r.say('[', r.body()?.toString() ?? 'nil', ']'); } },
        '/need-phases': {
          needRequestBody: true,
          rewriteHandler: (r: Request) => { r.ctx.r = r.body()?.toString() ?? 'nil'; },
          access: (r: Request) => { r.ctx.a = r.body()?.toString() ?? 'nil'; },
          content: (r: Request) => { r.say(String(r.ctx.r), ' ', String(r.ctx.a), ' ', r.body()?.toString() ?? 'nil'); },
        },
        '/need-args': { needRequestBody: true, content: (r: Request) => { r.say(String(r.postArgs().a)); } },
        '/need-small': { needRequestBody: true, clientMaxBodySize: '4', content: (r: Request) => { r.say('ran'); } },
      },
    }),
    requests: [
      { method: 'POST', path: '/need', body: 'data' }, '/need',
      { method: 'POST', path: '/need-phases', body: 'xyz' },
      { method: 'POST', path: '/need-args', body: 'a=1&b=2', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
      { raw: 'POST /need HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n' },
      { raw: 'POST /need-small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nabcde\r\n0\r\n\r\n', status: 413 },
      { raw: 'POST /need HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n', status: 400 },
    ],
  },
];

diffSuite('core lua', cases);
