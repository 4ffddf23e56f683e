// cf. nginx-tests proxy_redirect.t, proxy_intercept_errors.t, upstream.t, proxy_variables.t,
// http_keepalive.t — differential cases for the proxy helper's directives: proxyRedirect (default,
// off, prefixes with variables, ~ and ~* regexes with captures), proxyInterceptErrors with an
// errorPage, $upstream_status / $upstream_addr in addHeader (one try and a failover),
// proxyPass with variables (a group by name, a URI part, a name needing a resolver, a bad URL),
// and keepaliveDisable.
import { diffSuite, type DiffCase } from './harness.js';

const ka = (path: string, ua: string, method = 'GET') => ({
  name: `${method} ${path} ${ua}`, method, path, headers: { Connection: 'keep-alive', 'User-Agent': ua }, ...(method === 'POST' ? { body: '' } : {}),
});

const IE6 = 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)';
const IE6SV1 = 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)';
const SAFARI = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';
const CHROME = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

const cases: DiffCase[] = [
  {
    name: 'proxyRedirect: default, off, prefixes with variables, regexes with captures; relative results made absolute',
    upstreams: true,
    nginx: `server { listen 127.0.0.1:\${PORT}; proxy_http_version 1.1;
      location /d/ { proxy_pass http://127.0.0.1:\${UP1}/x/; }
      location /plain/ { proxy_pass http://127.0.0.1:\${UP1}; }
      location /off/ { proxy_pass http://127.0.0.1:\${UP1}; proxy_redirect off; }
      location /var/ { proxy_pass http://127.0.0.1:\${UP1}; proxy_redirect http://127.0.0.1:\${UP1}/$arg_from/ /$arg_to/; }
      location /re/ { proxy_pass http://127.0.0.1:\${UP1}; proxy_redirect ~^http://([^:/]+):[0-9]+/re/(.*)$ http://$1.example/new/$2; }
      location /ci/ { proxy_pass http://127.0.0.1:\${UP1}; proxy_redirect ~*^HTTP://127[.]0 /ci-replaced; }
      location /list/ { proxy_pass http://127.0.0.1:\${UP1}/y/; proxy_redirect http://nowhere/ /; proxy_redirect default; }
    }`,
    sluice: (env) => {
      const up = `http://127.0.0.1:${env.up1}`;
      return {
        proxyHttpVersion: '1.1',
        locations: {
          '/d/': { proxyPass: `${up}/x/` },
          '/plain/': { proxyPass: up },
          '/off/': { proxyPass: up, proxyRedirect: 'off' },
          '/var/': { proxyPass: up, proxyRedirect: [[`${up}/$arg_from/`, '/$arg_to/']] },
          '/re/': { proxyPass: up, proxyRedirect: [['~^http://([^:/]+):[0-9]+/re/(.*)$', 'http://$1.example/new/$2']] },
          '/ci/': { proxyPass: up, proxyRedirect: [['~*^HTTP://127[.]0', '/ci-replaced']] },
          '/list/': { proxyPass: `${up}/y/`, proxyRedirect: [['http://nowhere/', '/'], 'default'] },
        },
      };
    },
    requests: [
      '/d/a/status/302', '/plain/b/status/301', '/off/c/status/302', '/var/status/302?from=var&to=elsewhere',
      '/var/status/302?from=nomatch&to=x', '/re/deep/er/status/307', '/ci/status/302', '/list/z/status/303',
      '/d/a/status/200',
    ],
  },
  {
    name: 'proxyInterceptErrors: an errorPage for the status answers; others pass as they are',
    upstreams: true,
    files: { 'err.html': 'the error page\n' },
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT}; proxy_http_version 1.1;
      location /i/ { proxy_pass http://127.0.0.1:\${UP1}; proxy_intercept_errors on; error_page 404 502 /err.html; }
      location /n/ { proxy_pass http://127.0.0.1:\${UP1}; error_page 404 /err.html; }
      location = /err.html { }
    }`,
    sluice: (env) => ({
      root: env.root,
      proxyHttpVersion: '1.1',
      locations: {
        '/i/': { proxyPass: `http://127.0.0.1:${env.up1}`, proxyInterceptErrors: true, errorPage: '404 502 /err.html' },
        '/n/': { proxyPass: `http://127.0.0.1:${env.up1}`, errorPage: '404 /err.html' },
        '= /err.html': {},
      },
    }),
    requests: [
      { path: '/i/status/404', status: 404 }, { path: '/i/status/502', status: 502 }, { path: '/i/status/500', status: 500 },
      { path: '/i/status/302', status: 302 }, { path: '/n/status/404', status: 404 }, { path: '/i/ok', status: 200 },
    ],
  },
  {
    name: '$upstream_status and $upstream_addr in addHeader: one try, a failover, no live upstream',
    upstreams: true,
    headers: ['x-us', 'x-ua'],
    nginx: `upstream fo { server 127.0.0.1:9; server 127.0.0.1:\${UP1}; }
      upstream single { server 127.0.0.1:\${UP2}; }
      server { listen 127.0.0.1:\${PORT}; proxy_http_version 1.1;
      add_header X-US $upstream_status always; add_header X-UA $upstream_addr always;
      location /one/ { proxy_pass http://single; }
      location /fo/ { proxy_pass http://fo; }
      location /none/ { return 200 "none\\n"; }
    }`,
    sluice: (env) => ({
      upstreams: { fo: { servers: ['127.0.0.1:9', `127.0.0.1:${env.up1}`] }, single: { servers: [`127.0.0.1:${env.up2}`] } },
      servers: [{
        listen: `127.0.0.1:${env.port}`,
        proxyHttpVersion: '1.1',
        addHeader: [['X-US', '$upstream_status', 'always'], ['X-UA', '$upstream_addr', 'always']],
        locations: {
          '/one/': { proxyPass: 'http://single' },
          '/fo/': { proxyPass: 'http://fo' },
          '/none/': { return: [200, 'none\n'] },
        },
      }],
    }),
    requests: ['/one/a', '/one/status/404', '/fo/b', '/none/'],
  },
  {
    name: 'proxyPass with variables: a group by name, a URI part, a name needing a resolver, a bad URL',
    upstreams: true,
    nginx: `upstream echo1 { server 127.0.0.1:\${UP1}; }
      server { listen 127.0.0.1:\${PORT}; proxy_http_version 1.1;
      location /v/ { proxy_pass http://$arg_g; }
      location /vu/ { proxy_pass http://$arg_g/fixed/$arg_x; }
      location /raw/ { proxy_pass $arg_u; }
    }`,
    sluice: (env) => ({
      upstreams: { echo1: { servers: [`127.0.0.1:${env.up1}`] } },
      servers: [{
        listen: `127.0.0.1:${env.port}`,
        proxyHttpVersion: '1.1',
        locations: {
          '/v/': { proxyPass: 'http://$arg_g' },
          '/vu/': { proxyPass: 'http://$arg_g/fixed/$arg_x' },
          '/raw/': { proxyPass: '$arg_u' },
        },
      }],
    }),
    requests: [
      '/v/a/b?g=echo1', '/vu/a/b?g=echo1&x=yz', '/v/status/302?g=echo1',
      { path: '/v/?g=nosuch.invalid', status: 502, log: /no resolver defined to resolve nosuch\.invalid/ },
      { path: '/raw/?u=ftp://x', status: 500, log: /invalid URL prefix/ },
    ],
  },
  {
    name: 'keepaliveDisable: msie6 (default) for POST, safari, none',
    nginx: `server { listen 127.0.0.1:\${PORT};
      location / { return 200 "ok\\n"; }
      location /s/ { keepalive_disable safari; return 200 "s\\n"; }
      location /n/ { keepalive_disable none; return 200 "n\\n"; }
    }`,
    sluice: () => ({
      locations: {
        '/': { return: [200, 'ok\n'] },
        '/s/': { keepaliveDisable: 'safari', return: [200, 's\n'] },
        '/n/': { keepaliveDisable: 'none', return: [200, 'n\n'] },
      },
    }),
    requests: [
      ka('/', IE6, 'POST'), ka('/', IE6), ka('/', IE6SV1, 'POST'), ka('/', SAFARI), ka('/s/', SAFARI), ka('/s/', CHROME),
      ka('/s/', IE6, 'POST'), ka('/n/', IE6, 'POST'), ka('/n/', SAFARI),
    ],
  },
];

diffSuite('proxy', cases);
