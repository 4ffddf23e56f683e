// cf. nginx-tests access.t, auth_basic.t, realip.t, geo.t — differential cases for allow/deny,
// satisfy, auth_basic (each hash scheme), realip (X-Real-IP, X-Forwarded-For, recursive, ports)
// and geo. Client addresses other than 127.0.0.1 come from X-Real-IP, trusted from 127.0.0.1.
import { diffSuite, type DiffCase, type DiffRequest } from './harness.js';

const HTPASSWD = [
  '# users of every scheme',
  'plain:{PLAIN}pw-plain',
  'apr:$apr1$abcdefgh$NriZ3KceyQFy368Ufp8U./:a comment',
  'md5:$1$xy12$LD4DDt/KkIIlmku21cdvw0',
  'sha:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=',
  'ssha:{SSHA}E2zIFVnow/nzE+ZgdYqGgyhKMIIBAnNhbHR4',
  'sha256:$5$abc$AJNWwGOtbf2x9W0bN06J1uqFItzCA9LIt80lsFir/09\r',
  'sha512:$6$s4lt$ncAec8wCrCZONE6rm7aBqp/yQCbV4mi/1NKCFWDzHiT0SxLaFku.9Csfl3O8Otmzlfg1GWryMJm6IGolxDqTb1',
  'des:abJnggxhB/yWI',
  'last:{PLAIN}no-newline',
].join('\n');

const FILES = { 'a.txt': 'hello\n', 'htpasswd': HTPASSWD };

const from = (addr: string, path = '/a.txt', extra: Record<string, string> = {}): DiffRequest => ({ name: `${addr} ${path}`, path, headers: { 'X-Real-IP': addr, ...extra } });
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
const auth = (user: string, pw: string, path = '/a.txt', extra: Record<string, string> = {}): DiffRequest => ({ name: `${user}:${pw} ${path}`, path, headers: { Authorization: basic(user, pw), ...extra } });

const cases: DiffCase[] = [
  {
    name: 'allow/deny: first match, per family, v4-mapped, inherited or replaced',
    files: FILES,
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT}; set_real_ip_from 127.0.0.1;
      allow 10.0.0.1; deny 10.0.0.0/8; allow 2001:db8::/32; allow 192.168.0.0/16; deny all;
      location / { }
      location /own/ { deny 192.168.0.0/16; alias \${ROOT}/; }
      location /v4only/ { allow 10.0.0.0/8; alias \${ROOT}/; } }`,
    sluice: (env) => ({
      root: env.root, setRealIpFrom: '127.0.0.1',
      accessRules: ['allow 10.0.0.1', 'deny 10.0.0.0/8', 'allow 2001:db8::/32', 'allow 192.168.0.0/16', 'deny all'],
      locations: { '/': {}, '/own/': { accessRules: ['deny 192.168.0.0/16'], alias: env.root + '/' }, '/v4only/': { accessRules: ['allow 10.0.0.0/8'], alias: env.root + '/' } },
    }),
    requests: [
      from('10.0.0.1'), { ...from('10.0.0.2'), status: 403, log: /access forbidden by rule, client: 10\.0\.0\.2/ }, from('2001:db8::5'),
      from('2001:db9::1'), from('192.168.4.4'), from('8.8.8.8'), from('::ffff:10.0.0.1'), from('::ffff:8.8.8.8'), from('::1'),
      from('192.168.1.1', '/own/a.txt'), from('8.8.8.8', '/own/a.txt'), from('8.8.8.8', '/v4only/a.txt'), from('2001:db9::1', '/v4only/a.txt'),
      { method: 'HEAD', ...from('8.8.8.8') }, '/a.txt',
    ],
  },
  {
    name: 'auth_basic: each hash scheme, wrong passwords, unknown users, no credentials, off, a missing file',
    files: FILES,
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT}; auth_basic "Zone $host"; auth_basic_user_file \${ROOT}/htpasswd;
      location / { }
      location /open/ { auth_basic off; alias \${ROOT}/; }
      location /missing/ { auth_basic_user_file \${ROOT}/nope; alias \${ROOT}/; } }`,
    sluice: (env) => ({
      root: env.root, authBasic: 'Zone $host', authBasicUserFile: env.root + '/htpasswd',
      locations: { '/': {}, '/open/': { authBasic: 'off', alias: env.root + '/' }, '/missing/': { authBasicUserFile: env.root + '/nope', alias: env.root + '/' } },
    }),
    headers: ['www-authenticate'],
    requests: [
      auth('plain', 'pw-plain'), auth('apr', 'pass word'), auth('md5', 'pass word'), auth('sha', 'secret'), auth('ssha', 'secret'),
      auth('sha256', 'pass word'), auth('sha512', 'pass word'), auth('last', 'no-newline'),
      { ...auth('apr', 'wrong'), status: 401, log: /user "apr": password mismatch/ },
      { ...auth('nobody', 'x'), status: 401, log: /user "nobody" was not found in/ },
      { path: '/a.txt', status: 401 }, { path: '/a.txt', headers: { Authorization: 'Bearer x' } },
      { path: '/a.txt', headers: { Authorization: 'Basic !!!' } }, { path: '/a.txt', headers: { Authorization: basic('', 'x') } },
      { path: '/a.txt', headers: { Authorization: 'basic   ' + Buffer.from('plain:pw-plain').toString('base64') } },
      { method: 'HEAD', path: '/a.txt' }, { path: '/open/a.txt', status: 200 },
      { ...auth('plain', 'pw-plain', '/missing/a.txt'), status: 403 },
      auth('des', 'x'),
    ],
    differences: [
      { id: 'htpasswd-crypt-schemes', request: 18, status: true, body: true, headers: ['www-authenticate', 'content-length'] },
      // a HEAD's error page is known by its length from the status line's title, which 401's page does not have on either side
      { id: 'error-page-markup', request: 15, headers: ['content-length'] },
    ],
  },
  {
    name: 'satisfy any and all: an allow rule or credentials; 401 wins over 403; 403 before credentials',
    files: FILES,
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT}; set_real_ip_from 127.0.0.1;
      auth_basic "R"; auth_basic_user_file \${ROOT}/htpasswd;
      location /any/ { satisfy any; allow 10.0.0.0/8; deny all; alias \${ROOT}/; }
      location /rules/ { satisfy any; allow 10.0.0.0/8; deny all; auth_basic off; alias \${ROOT}/; }
      location /all/ { deny 10.0.0.0/8; alias \${ROOT}/; } }`,
    sluice: (env) => ({
      root: env.root, setRealIpFrom: '127.0.0.1', authBasic: 'R', authBasicUserFile: env.root + '/htpasswd',
      locations: {
        '/any/': { satisfy: 'any', accessRules: ['allow 10.0.0.0/8', 'deny all'], alias: env.root + '/' },
        '/rules/': { satisfy: 'any', accessRules: ['allow 10.0.0.0/8', 'deny all'], authBasic: 'off', alias: env.root + '/' },
        '/all/': { accessRules: ['deny 10.0.0.0/8'], alias: env.root + '/' },
      },
    }),
    headers: ['www-authenticate'],
    requests: [
      from('10.1.1.1', '/any/a.txt'), from('8.8.8.8', '/any/a.txt', { Authorization: basic('plain', 'pw-plain') }),
      from('8.8.8.8', '/any/a.txt'), from('8.8.8.8', '/any/a.txt', { Authorization: basic('plain', 'bad') }),
      { ...from('8.8.8.8', '/rules/a.txt'), status: 403, log: /access forbidden by rule/ }, from('10.1.1.1', '/rules/a.txt'),
      from('10.0.0.1', '/all/a.txt'), from('10.0.0.1', '/all/a.txt', { Authorization: basic('plain', 'pw-plain') }),
      from('11.0.0.1', '/all/a.txt'), from('11.0.0.1', '/all/a.txt', { Authorization: basic('plain', 'pw-plain') }),
    ],
  },
];

// realip: the server level runs first (post-read), so each setting is a case of its own
const RET = '$remote_addr|$remote_port|$realip_remote_addr\n';
cases.push(
  {
    name: 'realip: X-Real-IP with and without a port, IPv6, v4-mapped, junk, a list',
    nginx: `server { listen 127.0.0.1:\${PORT}; set_real_ip_from 127.0.0.0/8; location / { return 200 "${RET.replace('\n', '\\n')}"; } }`,
    sluice: () => ({ setRealIpFrom: '127.0.0.0/8', locations: { '/': { return: [200, RET] } } }),
    requests: ['1.2.3.4', '1.2.3.4:5678', '[2001:db8::1]:99', '2001:0db8::0001', '::ffff:1.2.3.4', 'junk', '1.2.3.4, 5.6.7.8', '', '1.2.3.4:0']
      .map((a) => ({ name: `X-Real-IP: ${a}`, path: '/', headers: { 'X-Real-IP': a } })),
    // the connection's own port is each side's
    normalize: (body) => body.replace(/^127\.0\.0\.1\|\d+\|/, '127.0.0.1|CLIENT_PORT|'),
  },
  {
    name: 'realip: X-Forwarded-For, not recursive',
    nginx: `server { listen 127.0.0.1:\${PORT}; real_ip_header X-Forwarded-For; set_real_ip_from 127.0.0.1; set_real_ip_from 192.168.0.0/16; location / { return 200 "$remote_addr\\n"; } }`,
    sluice: () => ({ realIpHeader: 'X-Forwarded-For', setRealIpFrom: ['127.0.0.1', '192.168.0.0/16'], locations: { '/': { return: [200, '$remote_addr\n'] } } }),
    requests: xff(),
  },
  {
    name: 'realip: X-Forwarded-For, recursive',
    nginx: `server { listen 127.0.0.1:\${PORT}; real_ip_header X-Forwarded-For; real_ip_recursive on; set_real_ip_from 127.0.0.1; set_real_ip_from 192.168.0.0/16; location / { return 200 "$remote_addr\\n"; } }`,
    sluice: () => ({ realIpHeader: 'X-Forwarded-For', realIpRecursive: true, setRealIpFrom: ['127.0.0.1', '192.168.0.0/16'], locations: { '/': { return: [200, '$remote_addr\n'] } } }),
    requests: xff(),
  },
  {
    name: 'realip: another header; an untrusted source; the location\'s config before the access rules',
    files: FILES,
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT}; real_ip_header X-Client; set_real_ip_from 10.0.0.0/8;
      location / { return 200 "$remote_addr\\n"; }
      location /loc/ { set_real_ip_from 127.0.0.1; deny 9.9.9.9; alias \${ROOT}/; } }`,
    sluice: (env) => ({
      root: env.root, realIpHeader: 'X-Client', setRealIpFrom: '10.0.0.0/8',
      locations: { '/': { return: [200, '$remote_addr\n'] }, '/loc/': { setRealIpFrom: '127.0.0.1', accessRules: ['deny 9.9.9.9'], alias: env.root + '/' } },
    }),
    requests: [
      { path: '/', headers: { 'X-Client': '9.9.9.9' } },
      { path: '/loc/a.txt', headers: { 'X-Client': '9.9.9.9' }, status: 403 },
      { path: '/loc/a.txt', headers: { 'X-Client': '9.9.9.8' }, status: 200 },
    ],
  },
  {
    name: 'geo: longest prefix, IPv6, ranges, a source variable, proxy',
    nginx: `geo $arg_ip $g { default def; 10.0.0.0/8 a; 10.1.0.0/16 b; 10.1.2.3 c; 2001:db8::/32 v6; }
      geo $arg_ip $r { ranges; default d; 10.0.0.0-10.0.255.255 big; 10.0.1.0-10.0.1.255 small; 10.0.0.0-10.0.0.9 head; 10.1.0.0-10.2.255.255 two; }
      geo $p { default d; proxy 127.0.0.1; proxy_recursive; 1.1.1.1 one; 10.0.0.2 proxy; 127.0.0.1 local; }
      server { listen 127.0.0.1:\${PORT}; location / { return 200 "$g $r $p\\n"; } }`,
    sluice: () => ({
      geo: {
        '$arg_ip $g': { default: 'def', '10.0.0.0/8': 'a', '10.1.0.0/16': 'b', '10.1.2.3': 'c', '2001:db8::/32': 'v6' },
        '$arg_ip $r': { ranges: true, default: 'd', '10.0.0.0-10.0.255.255': 'big', '10.0.1.0-10.0.1.255': 'small', '10.0.0.0-10.0.0.9': 'head', '10.1.0.0-10.2.255.255': 'two' },
        '$p': { default: 'd', proxy: '127.0.0.1', proxy_recursive: true, '1.1.1.1': 'one', '10.0.0.2': 'proxy', '127.0.0.1': 'local' },
      },
      servers: [{ locations: { '/': { return: [200, '$g $r $p\n'] } } } as never],
    }),
    requests: [
      ...['10.0.0.5', '10.0.0.10', '10.0.1.7', '10.2.3.4', '10.3.0.0', '10.1.9.9', '10.1.2.3', '2001:db8::1', '::ffff:10.1.2.3', 'junk', '']
        .map((a) => `/?ip=${a}`),
      { path: '/', headers: { 'X-Forwarded-For': '1.1.1.1, 10.0.0.2' } }, { path: '/', headers: { 'X-Forwarded-For': '1.1.1.1, 127.0.0.1' } },
    ],
  },
);

function xff(): DiffRequest[] {
  const lists: (string | string[])[] = ['5.5.5.5, 192.168.1.1', '5.5.5.5,192.168.1.1, 192.168.2.2', '192.168.1.1, 192.168.2.2', ' , 7.7.7.7 ,, ',
    'junk, 192.168.1.1', '1.2.3.4:80', ['6.6.6.6, 5.5.5.5', '192.168.1.1,192.168.2.2'], ['6.6.6.6', 'junk']];
  return lists.map((l) => ({ name: `X-Forwarded-For: ${JSON.stringify(l)}`, path: '/', headers: (Array.isArray(l) ? l : [l]).map((v) => ['X-Forwarded-For', v] as [string, string]) }));
}

diffSuite('access', cases);
