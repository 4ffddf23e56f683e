// examples/site-nginx: the example's own nginx.conf (its http block, ports and paths substituted)
// and its own sluice.config.ts, driven with the same requests by the differential harness: the
// app's deep links, assets' cache headers, the API on two upstreams (round robin), the health
// check, the www redirect, the login's rate limit (429, and the default 503 with the 50x page),
// the admin area's address rule and password, and the 50x page when the API is down.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diffSuite, type DiffCase, type DiffRequest } from '../diff/harness.js';
import { siteConfig } from '../../examples/site-nginx/sluice.config.js';
import type { SluiceConfig } from '../../src/http/conf/config.js';

// the example's folder in the source tree (this file runs from dist/test/examples)
const DIR = fileURLToPath(new URL('../../../examples/site-nginx/', import.meta.url));

/**
 * The inside of nginx.conf's http { } for the harness, as README.md describes: the site's port
 * and the API's two ports become the harness's, relative paths (from the prefix, -p) absolute.
 * The harness writes its own top level (pid, error_log, events, temp paths).
 */
export function nginxHttpBlock(api: [string, string]): string {
  const conf = readFileSync(DIR + 'nginx.conf', 'utf8');
  const open = /^http \{\n/m.exec(conf);
  const close = conf.lastIndexOf('\n}');
  if (open === null || close < open.index) throw new Error('examples/site-nginx/nginx.conf: no http { } block');
  const http = conf.slice(open.index + open[0].length, close);
  const swaps: [string, string][] = [
    ['127.0.0.1:8080', '127.0.0.1:${PORT}'],
    ['127.0.0.1:9001', api[0]],
    ['127.0.0.1:9002', api[1]],
    ['root public;', `root ${DIR}public;`],
    ['auth_basic_user_file htpasswd;', `auth_basic_user_file ${DIR}htpasswd;`],
  ];
  let out = http;
  for (const [from, to] of swaps) {
    if (!out.includes(from)) throw new Error(`examples/site-nginx/nginx.conf: "${from}" is gone; update this test and README.md`);
    out = out.split(from).join(to);
  }
  return out;
}

/** The example's sluice config with the same ports and folder; the harness captures the error
 *  log (so the config's errorLog is left out) and the access log is kept off the test's output. */
function sluice(port: number, api: [number, number]): SluiceConfig {
  const { errorLog: _errorLog, ...conf } = siteConfig({ port, api, dir: DIR });
  return { ...conf, accessLog: ACCESS_LOG };
}

const accessLines: string[] = [];
const ACCESS_LOG = { write: (line: string) => { accessLines.push(line); } };

const from = (addr: string, path: string, more: Partial<DiffRequest> = {}): DiffRequest =>
  ({ name: `${more.method ?? 'GET'} ${path} from ${addr}`, path, ...more, headers: { 'X-Real-IP': addr, ...(more.headers as Record<string, string> ?? {}) } });
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

// which echo upstream answered each API request, on each side
const answered: Record<'nginx' | 'sluice', string[]> = { nginx: [], sluice: [] };

/** The echo's JSON as it came: which headers go upstream, their values and their order. */
function echo(body: string, side: 'nginx' | 'sluice'): string {
  if (!body.startsWith('{"name":')) return body;
  const j = JSON.parse(body) as { name: string; headers: [string, string][] };
  answered[side].push(j.name);
  return JSON.stringify(j) + '\n';
}

const site = (c: Omit<DiffCase, 'nginx' | 'sluice'>): DiffCase => ({
  nginx: nginxHttpBlock(['127.0.0.1:${UP1}', '127.0.0.1:${UP2}']),
  sluice: (env) => sluice(env.port, [env.up1, env.up2]),
  upstreams: true,
  headers: ['x-upstream', 'www-authenticate'],
  normalize: echo,
  ...c,
});

// each case is the whole site (one upstream api, one zone login), so each runs in a suite of its
// own: a fresh nginx beside its fresh sluice, the same round-robin and limit state on both sides
const cases: DiffCase[] = [
  site({
    name: 'the app: the shell for / and deep links, assets with cache headers, a missing asset',
    requests: [
      { path: '/', status: 200 }, { path: '/app/settings', status: 200 }, '/app/settings?tab=profile', '/index.html',
      { method: 'HEAD', path: '/app/x' },
      { path: '/assets/app.3b9f1c.js', status: 200 }, '/assets/app.3b9f1c.css',
      { path: '/assets/nope.js', status: 404, log: /open\(\) ".*nope\.js" failed/ },
    ],
  }),
  site({
    name: 'the API: two upstream servers in turn, the client\'s address passed on',
    requests: [
      { path: '/api/me', status: 200 }, from('198.51.100.7', '/api/orders?page=2', { status: 200 }),
      from('198.51.100.7', '/api/orders', { method: 'POST', body: '{"item":1}', headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '192.0.2.99' } }),
      { path: '/api/me', headers: { Host: 'Example.com:8080' } },
    ],
  }),
  site({
    name: 'the health check',
    requests: [{ path: '/health', status: 200 }, { method: 'HEAD', path: '/health' }],
  }),
  site({
    name: 'www.example.com redirects to example.com, keeping the request URI',
    requests: [
      { path: '/app/settings?tab=1', headers: { Host: 'www.example.com' }, status: 301 },
      { path: '/', headers: { Host: 'WWW.Example.com:8080' }, status: 301 },
      { path: '/health', headers: { Host: 'example.com' }, status: 200 },
    ],
  }),
  site({
    name: 'login: a burst of two, then 429; another client is let in; password-reset\'s 503 is the 50x page',
    requests: [
      ...[1, 2, 3].map(() => from('192.0.2.1', '/api/login', { method: 'POST', body: 'user=a&password=b', status: 200 })),
      from('192.0.2.1', '/api/login', { method: 'POST', body: 'user=a&password=c', status: 429, log: /limiting requests, excess: 3\.000 by zone "login", client: 192\.0\.2\.1/ }),
      from('192.0.2.2', '/api/password-reset', { method: 'POST', body: 'user=a', status: 200 }),
      from('192.0.2.2', '/api/password-reset', { method: 'POST', body: 'user=a', status: 503 }),
    ],
  }),
  site({
    name: 'admin: 403 outside 10.0.0.0/8; inside it 401 without or with a wrong password, 200 with the right one',
    requests: [
      { path: '/admin/', status: 403, log: /access forbidden by rule, client: 127\.0\.0\.1/ },
      from('203.0.113.9', '/admin/', { status: 403 }),
      from('203.0.113.9', '/admin/', { status: 403, headers: { Authorization: basic('admin', 'open sesame') } }),
      from('10.1.2.3', '/admin/', { status: 401 }),
      from('10.1.2.3', '/admin/', { status: 401, headers: { Authorization: basic('admin', 'wrong') }, log: /user "admin": password mismatch/ }),
      from('10.1.2.3', '/admin/', { status: 200, headers: { Authorization: basic('admin', 'open sesame') } }),
      from('10.1.2.3', '/admin/index.html', { status: 200, headers: { Authorization: basic('admin', 'open sesame') } }),
      from('10.1.2.3', '/admin/', { status: 401, headers: { Authorization: basic('root', 'open sesame') } }),
      '/admin', '/admin/../admin/', '/Admin/', '/%61dmin/', '//admin/',
    ],
  }),
];

for (const c of cases) diffSuite(`examples/site-nginx: ${c.name.replace(/:.*/, '')}`, [c]);

// with the API's two servers down: connect() refused on both, then no live upstreams; the 50x page
diffSuite('examples/site-nginx, the API down', [{
  name: 'the API down: 502 with the 50x page; the app and the health check still answer',
  nginx: nginxHttpBlock(['127.0.0.1:1', '127.0.0.1:9']),
  sluice: (env) => sluice(env.port, [1, 9]),
  requests: [
    { path: '/api/me', status: 502, log: /connect\(\) failed \(111: Connection refused\)|connect ECONNREFUSED/ },
    { path: '/api/me', status: 502, log: /no live upstreams while connecting to upstream/ },
    from('192.0.2.5', '/api/login', { method: 'POST', body: 'user=a&password=b', status: 502 }),
    { path: '/app/settings', status: 200 }, { path: '/health', status: 200 },
  ],
}]);

test('examples/site-nginx: both upstreams answered, in turn, on both sides', () => {
  if (answered.nginx.length === 0 && process.env.SLUICE_NO_NGINX === '1') return;
  assert.equal(answered.nginx, ['UP1', 'UP2', 'UP1', 'UP2', 'UP1', 'UP2', 'UP1', 'UP2'], 'nginx');
  assert.equal(answered.sluice, answered.nginx, 'sluice');
  assert.ok(!accessLines.some((l) => l.includes('/health')), 'access_log off: /health is not logged');
  assert.ok(accessLines.some((l) => l.includes('"GET /app/settings HTTP/1.1" 200')), 'the other requests are');
});

test('examples/site-nginx: `sluice -t` takes both configs as a user runs them', () => {
  for (const f of ['sluice.config.ts', 'api.config.ts']) {
    const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../../bin/sluice.mjs', import.meta.url)), '-t', '-c', DIR + f], { encoding: 'utf8', timeout: 60000 });
    assert.is(r.status, 0, `${f}: ${r.stderr}`);
    assert.match(r.stderr, /test is successful/);
  }
});

test('examples/site-nginx: `nginx -t` takes nginx.conf as it is', () => {
  const nginx = process.env.SLUICE_NGINX ?? '/usr/sbin/nginx';
  if (!existsSync(nginx) && process.env.SLUICE_NO_NGINX === '1') return;
  // a prefix of its own, so the pid file nginx -t writes stays out of the example's folder
  const prefix = mkdtempSync(join(tmpdir(), 'sluice-site-nginx-'));
  try {
    // stdout as a terminal or a file would be (access_log /dev/stdout cannot open a pipe's socket)
    const r = spawnSync(nginx, ['-t', '-p', prefix, '-c', DIR + 'nginx.conf', '-e', 'stderr'], { encoding: 'utf8', timeout: 30000, stdio: ['ignore', 'ignore', 'pipe'] });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, /test is successful/);
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
});

test.run();
