// The embedded default config: a small demo site on 127.0.0.1:8080 (SLUICE_PORT changes it)
// that shows what sluice does. `sluice -c FILE` replaces it; examples/ has more configs.

import { fileURLToPath } from 'node:url';
import { defineConfig } from '../http/conf/config.js';
import type { Request } from '../http/request.js';

const PORT = Number(process.env.SLUICE_PORT ?? 8080);

/** examples/site, from dist/src/ or src/ alike. */
const SITE = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../examples/site/' : '../../examples/site/', import.meta.url));

/** The demo page, naming the port it was asked on (`SLUICE_PORT`, 8080 by default). */
const page = (port: string) => `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>sluice</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em}code{background:#f3f3f3;padding:0 .2em}</style>
</head>
<body>
<h1>sluice is running</h1>
<p>An nginx-style HTTP/1.1 server for Node.js: an llparse-built parser, nginx's locations and
phases, filter chains and OpenResty-style handlers. This page comes from a <code>content</code>
handler in the embedded default config (<code>src/cli/default-config.ts</code>), on port ${port}:
<code>SLUICE_PORT=${port} npm start</code> (the <code>SLUICE_PORT</code> environment variable sets the port; 8080 by default).</p>
<ul>
<li><a href="/hello">/hello</a> — nginx's <code>return 200 "hello"</code></li>
<li><a href="/hi?name=you">/hi?name=you</a> — a content handler (<code>r.say</code>, <code>r.var.arg_name</code>)</li>
<li><a href="/vars?a=1&amp;b=2">/vars?a=1&amp;b=2</a> — nginx variables through <code>r.var</code></li>
<li><a href="/args?x=1&amp;x=2&amp;flag">/args?x=1&amp;x=2&amp;flag</a> — <code>r.uriArgs()</code> (ngx.req.get_uri_args)</li>
<li><code>curl -d 'some body' http://127.0.0.1:${port}/echo</code> — <code>r.readBody()</code> and <code>r.body()</code></li>
<li><a href="/go">/go</a> — <code>r.exec()</code> into an <code>internal</code> location (<a href="/internal/">/internal/</a> itself is 404 for clients)</li>
<li><a href="/away">/away</a> — <code>r.redirect('/')</code></li>
<li><a href="/img/logo.PNG">/img/logo.PNG</a> — a <code>~*</code> regex location</li>
<li><a href="/oops">/oops</a> — a handler that throws: 500, and the server goes on</li>
<li><a href="/static/">/static/</a> — static files (<code>alias</code>, <code>index</code>, gzip, ranges, 304);
  try <code>curl -H 'Range: bytes=0-99' http://127.0.0.1:${port}/static/index.html</code></li>
<li><a href="/capture">/capture</a> — <code>r.location.captureMulti()</code>: two locations called inside the server, no HTTP</li>
<li><a href="/proxied/hello">/proxied/hello</a> — <code>proxyPass</code> to an upstream group with a keepalive pool (this server itself)</li>
<li><a href="/status">/status</a> — nginx's <code>stub_status</code> (<code>stubStatus: true</code>): connections and requests</li>
<li><a href="/traced/index.html">/traced/index.html</a> — the filter trace: every filter the request passes, on stderr</li>
</ul>
</body>
</html>
`;

export default defineConfig({
  upstreams: { self: { servers: [`127.0.0.1:${PORT}`], keepalive: 8 } },
  servers: [{
    listen: `127.0.0.1:${PORT}`,
    serverName: 'localhost',
    locations: {
      '= /': {
        content: (r: Request) => {
          r.header['Content-Type'] = 'text/html; charset=utf-8';
          r.print(page(r.var.server_port ?? String(PORT)));
        },
      },
      '/hello': { return: [200, 'hello\n'] },
      '= /hi': {
        content: (r: Request) => {
          r.say('hello, ', r.var.arg_name ?? 'world', ' (from a content handler)');
        },
      },
      '= /vars': {
        content: (r: Request) => {
          for (const v of ['request_method', 'uri', 'args', 'arg_a', 'request_uri', 'host', 'remote_addr', 'server_protocol', 'http_user_agent']) {
            r.say(`$${v} = ${r.var[v] ?? '(not set)'}`);
          }
        },
      },
      '= /args': {
        content: (r: Request) => {
          r.header.content_type = 'application/json';
          r.say(JSON.stringify(r.uriArgs()));
        },
      },
      '= /echo': {
        content: async (r: Request) => {
          await r.readBody();
          const body = r.body();
          r.say(`${r.method} ${r.uri}: ${body === null ? 0 : body.length} bytes`);
          if (body !== null) r.print(body);
        },
      },
      '= /go': { content: (r: Request) => r.exec('/internal/page', 'from=go') },
      '/internal/': {
        internal: true,
        content: (r: Request) => { r.say(`internal location reached with uri=${r.uri} args=${r.args}`); },
      },
      '= /away': { content: (r: Request) => r.redirect('/') },
      '~* \\.(png|jpe?g|gif)$': {
        content: (r: Request) => { r.say(`an image location (regex, case-insensitive) for ${r.uri}`); },
      },
      '= /oops': {
        content: () => { throw new Error('this handler fails on purpose'); },
      },
      '/static/': { alias: SITE, gzip: true, gzipTypes: ['text/css', 'text/plain'], expires: '1h' },
      '/traced/': { alias: SITE, filterTrace: true },
      '= /capture': {
        content: async (r: Request) => {
          const [hello, vars] = await r.location.captureMulti([['/hello'], ['/vars', { args: { a: 'from-capture' } }]]);
          r.say(`/hello answered ${hello.status}: ${hello.body.toString().trim()}`);
          r.say(`/vars answered ${vars.status} with ${vars.body.length} bytes:`);
          r.print(vars.body);
        },
      },
      '/proxied/': { proxyPass: 'http://self/' },
      '= /status': { stubStatus: true },
    },
  }],
});
