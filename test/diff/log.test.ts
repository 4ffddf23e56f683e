// cf. nginx-tests access_log.t, access_log_escape.t, access_log_variables.t — the access log line
// of each kind of request (static, proxied, an error page, aborted by the client), nginx's and
// sluice's compared byte for byte (the harness's accessLog option: only ports and times are
// normalised), in the combined format and in formats of our own (escape=json and none, if=).
import { diffSuite, type DiffCase } from './harness.js';

const UA = [['User-Agent', 'curl/8 "quoted" \\ back'], ['Referer', 'http://example.com/from?x=1']] as [string, string][];
const HIGH = [['User-Agent', 'caf\xe9\ttab']] as [string, string][];

const cases: DiffCase[] = [
  {
    name: 'a head that fails to parse is logged with the line as it was read',
    accessLog: true,
    nginx: `log_format req '"$request" $status';
      server { listen 127.0.0.1:\${PORT}; access_log \${ACCESS_LOG} req; return 200 ok; }`,
    sluice: (env) => ({
      logFormat: { req: '"$request" $status' },
      servers: [{ listen: `127.0.0.1:${env.port}`, accessLog: `${env.accessLog} req`, return: [200, 'ok'] }],
    }),
    requests: [
      { raw: 'GET /x HTTP/1.1\r\nBad Header\r\n\r\n', status: 400 },
      { raw: 'BL@H /y HTTP/1.1\r\n\r\n', status: 400 },
      { raw: 'GET /sp ace HTTP/1.1\r\n\r\n', status: 400 },
    ],
    differences: [{ id: 'error-page-markup', request: [0, 1, 2], accessLog: false }],
  },
  {
    name: 'static: 200, HEAD, 206, 304, 404 with log_not_found, a query, escaped User-Agent and Referer (combined)',
    accessLog: true,
    files: { 'a.txt': 'hello, world\n', 'dir/index.html': '<p>index</p>\n' },
    nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; access_log ${ACCESS_LOG}; }',
    sluice: (env) => ({ root: env.root, accessLog: env.accessLog }),
    requests: [
      { path: '/a.txt?x=%41&y', headers: UA },
      { method: 'HEAD', path: '/a.txt' },
      { path: '/a.txt', headers: { Range: 'bytes=2-5' }, status: 206 },
      { path: '/a.txt', headers: { 'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:20 GMT' }, status: 304 },
      { path: '/dir/', headers: HIGH },
      { path: '/dir', status: 301 },
      { path: '/nope', status: 404 },
      { path: '/a.txt', version: '1.0' },
    ],
    differences: [{ id: 'error-page-markup', request: [5, 6], accessLog: true }],
  },
  {
    name: 'error pages: a page of our own (same bytes on both sides) for 404 and 502; the status as logged',
    accessLog: true,
    upstreams: true,
    files: { 'err.html': 'the error page\n' },
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT}; access_log \${ACCESS_LOG};
      error_page 404 502 /err.html;
      location /bad/ { proxy_pass http://127.0.0.1:1; }
      location = /err.html { }
    }`,
    sluice: (env) => ({
      root: env.root, accessLog: env.accessLog, errorPage: '404 502 /err.html',
      locations: { '/bad/': { proxyPass: 'http://127.0.0.1:1' }, '= /err.html': {} },
    }),
    requests: [{ path: '/missing', status: 404 }, { path: '/bad/x', status: 502 }, { path: '/err.html' }],
  },
  {
    name: 'proxied: 200 and a 404 passed through, a 502 of a dead upstream (its built-in page), an aborted request (499)',
    accessLog: true,
    upstreams: true,
    nginx: `server { listen 127.0.0.1:\${PORT}; access_log \${ACCESS_LOG};
      location / { proxy_pass http://127.0.0.1:\${UP1}; }
      location /dead/ { proxy_pass http://127.0.0.1:1; }
    }`,
    sluice: (env) => ({
      proxyHttpVersion: '1.0', accessLog: env.accessLog,
      locations: { '/': { proxyPass: `http://127.0.0.1:${env.up1}` }, '/dead/': { proxyPass: 'http://127.0.0.1:1' } },
    }),
    requests: [
      { path: '/p?q=1', headers: UA },
      { path: '/x/status/404', status: 404 },
      { path: '/dead/', status: 502 },
      { path: '/hang', abort: true },
    ],
    // the 502 page is each side's own markup, so its size too
    differences: [{ id: 'error-page-markup', request: 2, accessLog: true }],
  },
  {
    name: 'logFormat: escape=json and escape=none, variables found and not, request_length of a body, $pipe, $connection_requests, $remote_user',
    accessLog: true,
    nginx: `log_format js escape=json '{"m":"$request_method","u":"$uri","a":"$args","x":"$arg_x","ua":"$http_user_agent","s":$status,'
        '"b":$body_bytes_sent,"l":$request_length,"p":"$pipe","n":$connection_requests,"ru":"$remote_user"}';
      log_format raw escape=none '[$http_user_agent] [$arg_x] $status';
      server { listen 127.0.0.1:\${PORT}; access_log \${ACCESS_LOG} js; access_log \${ACCESS_LOG} raw;
        location / { return 200 "ok\\n"; }
      }`,
    sluice: (env) => ({
      logFormat: {
        js: ['escape=json {"m":"$request_method","u":"$uri","a":"$args","x":"$arg_x","ua":"$http_user_agent","s":$status,',
          '"b":$body_bytes_sent,"l":$request_length,"p":"$pipe","n":$connection_requests,"ru":"$remote_user"}'],
        raw: 'escape=none [$http_user_agent] [$arg_x] $status',
      },
      servers: [{ listen: `127.0.0.1:${env.port}`, accessLog: [`${env.accessLog} js`, `${env.accessLog} raw`], locations: { '/': { return: [200, 'ok\n'] } } }],
    }),
    requests: [
      { path: '/a?x=1&y=%22', headers: [...UA, ['Authorization', 'Basic ' + Buffer.from('bob:secret').toString('base64')]] },
      { path: '/b', headers: HIGH },
      { method: 'POST', path: '/c', body: 'x'.repeat(100) },
      { method: 'POST', path: '/d', headers: { 'Transfer-Encoding': 'chunked' }, body: '5\r\nhello\r\n0\r\n\r\n' },
    ],
  },
  {
    name: 'one keep-alive connection: $connection_requests counts, if= with a map skips 2xx',
    accessLog: true,
    oneConnection: true,
    files: { 'a.txt': 'a\n' },
    nginx: `map $status $loggable { ~^2 0; default 1; }
      log_format n '$request_uri $status $connection_requests';
      server { listen 127.0.0.1:\${PORT}; root \${ROOT}; access_log \${ACCESS_LOG} n if=$loggable; }`,
    sluice: (env) => ({
      map: { '$status $loggable': { '~^2': '0', default: '1' } },
      logFormat: { n: '$request_uri $status $connection_requests' },
      servers: [{ listen: `127.0.0.1:${env.port}`, root: env.root, accessLog: `${env.accessLog} n if=$loggable` }],
    }),
    requests: ['/a.txt', '/nope', '/a.txt', { path: '/nope2', headers: { Connection: 'close' } }],
  },
];

diffSuite('log', cases);
