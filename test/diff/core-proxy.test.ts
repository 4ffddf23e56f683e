// cf. nginx-tests proxy.t, proxy_set_header.t — differential cases for proxyPass to the echo
// upstreams: the request line and headers each proxy sends, URI replacement, statuses and
// redirects coming back, request bodies.
import { diffSuite, type DiffCase } from './harness.js';

const h = (path: string, headers: Record<string, string> = {}, more: object = {}) => ({ name: `${path} ${JSON.stringify(headers)}`, path, headers, ...more });

const cases: DiffCase[] = [
  {
    name: 'proxyPass: what goes upstream (HTTP/1.1 on both sides)',
    upstreams: true,
    nginx: `server { listen 127.0.0.1:\${PORT}; proxy_http_version 1.1;
      location /p/ { proxy_pass http://127.0.0.1:\${UP1}; }
      location /r/ { proxy_pass http://127.0.0.1:\${UP1}/new/; }
      location /root { proxy_pass http://127.0.0.1:\${UP2}/; }
      location /h/ { proxy_pass http://127.0.0.1:\${UP2};
        proxy_set_header Host $host; proxy_set_header X-Real $remote_addr; proxy_set_header User-Agent "";
        proxy_set_header X-Uri "$uri?$args"; }
      location = /exact { proxy_pass http://127.0.0.1:\${UP1}/e; }
    }`,
    sluice: (env) => ({
      proxyHttpVersion: '1.1',
      locations: {
        '/p/': { proxyPass: `http://127.0.0.1:${env.up1}` },
        '/r/': { proxyPass: `http://127.0.0.1:${env.up1}/new/` },
        '/root': { proxyPass: `http://127.0.0.1:${env.up2}/` },
        '/h/': {
          proxyPass: `http://127.0.0.1:${env.up2}`,
          proxySetHeader: { Host: '$host', 'X-Real': '$remote_addr', 'User-Agent': '', 'X-Uri': '$uri?$args' },
        },
        '= /exact': { proxyPass: `http://127.0.0.1:${env.up1}/e` },
      },
    }),
    headers: ['x-upstream'],
    requests: [
      '/p/a?b=c', '/p/%20x/', h('/p/h', { 'X-Custom': '1', 'User-Agent': 'ua', 'Accept-Encoding': 'gzip', Cookie: 'a=b' }),
      h('/p/hop', { 'Keep-Alive': 'timeout=5', TE: 'trailers', Upgrade: 'x', 'Proxy-Connection': 'x', Expect: '' }),
      '/r/a?q', '/r/', '/root', '/rootx/y', '/h/x?y=1', h('/h/z', { Host: 'Name.Test:99', 'User-Agent': 'gone' }), '/exact?x',
      { method: 'POST', path: '/p/body', body: 'hello body' },
      { method: 'POST', path: '/p/chunked', raw: 'POST /p/chunked HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n' },
      { method: 'HEAD', path: '/p/head' }, '/p/status/404', '/p/status/500', '/p/status/302', '/r/status/301',
      { path: '/p/a', version: '1.0' },
    ],
    differences: [
      { id: 'proxy-connection-header', request: 3, body: true, headers: ['content-length'] },
    ],
  },
  {
    name: 'proxyPass: nginx\'s default HTTP/1.0 upstream',
    upstreams: true,
    nginx: 'server { listen 127.0.0.1:${PORT}; location / { proxy_pass http://127.0.0.1:${UP1}; } }',
    sluice: (env) => ({ locations: { '/': { proxyPass: `http://127.0.0.1:${env.up1}` } } }),
    requests: ['/x'],
    differences: [{ id: 'proxy-http-version-1.1', request: 0, body: true }],
  },
  {
    name: 'proxyPass: upstream down',
    nginx: 'server { listen 127.0.0.1:${PORT}; location / { proxy_pass http://127.0.0.1:9; } }',
    sluice: () => ({ locations: { '/': { proxyPass: 'http://127.0.0.1:9' } } }),
    requests: [{ path: '/', status: 502, log: /connect\(\) failed|ECONNREFUSED|refused/ }],
  },
];

diffSuite('core proxy', cases);
