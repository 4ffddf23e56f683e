// The scenarios of bench:nginx (issue 14's target table and issue 13's TLS bench): for each, how
// sluice, nginx + lua and (for hello) the bare node:net floor are started, what wrk asks, what a
// ready server answers, and which ratios are compared with which target. Servers take their port
// from the runner; the md5 backend is a second server block of the same process on UPSTREAM_PORT.
// nginx's configs are confs.ts's, which bench/load/*.sh use too.
import { OPEN_FILE_CACHE, helloConf, md5CaptureConf, md5CosocketConf, staticConf, subrequestConf, tlsHelloConf } from './confs.js';
import type { Target } from './stats.js';

/** What a scenario needs from the runner to build its commands and configs. */
export interface Env {
  root: string;          // the repository
  tmp: string;           // this run's temp dir
  www: string;           // the static files (4k.txt, 1m.txt)
  node: string;          // the node binary that runs sluice and the node:net floor
  port: number;
  upstreamPort: number;
  connections: number;
  bigConnections: number;
  tls: { cert: string; key: string; protocols: string; kind: string };
}

export interface Side {
  key: 'sluice' | 'nginx' | 'net';
  label: string;
  /** argv of a node process (run with env.node) ... */
  node?: (e: Env) => string[];
  /** ... or the body of nginx's http block */
  nginx?: (e: Env) => string;
}

export interface ComparisonDef { id: string; label: string; metric: 'rps' | 'p99'; a: Side['key']; b: Side['key']; target: Target | null }

export interface Scenario {
  id: string;
  group: 'http' | 'tls';
  title: string;
  scheme: 'http' | 'https';
  path: string;
  conns: (e: Env) => number;
  /** wrk arguments besides -t -c -d --latency and the URL; the pipelining script is written by the runner */
  wrkArgs: (e: Env) => string[];
  /** what a ready server answers: the body, or its length */
  expect: { body: string } | { length: number };
  /** requests per send: the runner checks that a server answers all of them */
  pipeline?: number;
  sides: Side[];
  comparisons: ComparisonDef[];
  setup: (e: Env) => string[];
}

const KEY = '00cfec5ac162e3df13cb9f3111193760'; // md5("hello" .. "sluice-salt")
export const MD5_PATH = `/test?data=hello&key=${KEY}`;
export const PIPELINE = 8;

const helloSluice: Side = {
  key: 'sluice', label: 'sluice', node: (e) => ['bench/load/sluice-hello.mjs', String(e.port), 'say'],
};
const helloNginx: Side = {
  key: 'nginx', label: 'nginx + lua',
  nginx: (e) => helloConf(e.port),
};
const closeNet: Side = { key: 'net', label: 'bare node:net', node: (e) => ['bench/load/net-hello.mjs', String(e.port), 'close'] };
const helloNet: Side = { key: 'net', label: 'bare node:net', node: (e) => ['bench/load/net-hello.mjs', String(e.port)] };

const subrequestSluice: Side = { key: 'sluice', label: 'sluice', node: (e) => ['bench/load/sluice-subrequest.mjs', String(e.port)] };
const subrequestNginx: Side = {
  key: 'nginx', label: 'nginx + lua',
  nginx: (e) => subrequestConf(e.port),
};

const staticNginx: Side = {
  key: 'nginx', label: 'nginx',
  nginx: (e) => staticConf(e.port, e.www),
};
const staticSluice: Side = { key: 'sluice', label: 'sluice', node: (e) => ['bench/load/sluice-static.mjs', String(e.port), e.www] };
// both with the same open file cache (descriptors and stat results kept): the setting a site serving
// many small files would use
const staticCacheNginx: Side = { key: 'nginx', label: 'nginx', nginx: (e) => staticConf(e.port, e.www, OPEN_FILE_CACHE) };
const staticCacheSluice: Side = {
  key: 'sluice', label: 'sluice', node: (e) => ['bench/load/sluice-static.mjs', String(e.port), e.www, OPEN_FILE_CACHE],
};

const tlsSluice = (tickets: 'on' | 'off'): Side => ({
  key: 'sluice', label: 'sluice',
  node: (e) => ['bench/nginx/sluice-tls.mjs', String(e.port), e.tls.cert, e.tls.key, e.tls.protocols, tickets],
});
const tlsNginx = (tickets: 'on' | 'off'): Side => ({
  key: 'nginx', label: 'nginx + lua',
  nginx: (e) => tlsHelloConf(e.port, e.tls.cert, e.tls.key, e.tls.protocols, tickets),
});

const ge = (value: number): Target => ({ op: '>=', value });
const le = (value: number): Target => ({ op: '<=', value });
const c50 = (e: Env): number => e.connections;
const none = (): string[] => [];
const wrkLine = (path: string, more = ''): ((e: Env) => string) => (e) =>
  `wrk -t1 -c${e.connections} --latency${more} 'http://127.0.0.1:PORT${path}'`;

export const SCENARIOS: Scenario[] = [
  {
    id: 'hello', group: 'http', title: 'keep-alive hello', scheme: 'http', path: '/', conns: c50, wrkArgs: none,
    expect: { body: 'hello\n' },
    sides: [helloSluice, helloNginx, helloNet],
    comparisons: [
      { id: 'hello', label: 'keep-alive hello (r.say)', metric: 'rps', a: 'sluice', b: 'nginx', target: ge(0.8) },
      { id: 'hello-vs-net', label: 'keep-alive hello, vs bare node:net', metric: 'rps', a: 'sluice', b: 'net', target: ge(0.85) },
      { id: 'net-vs-nginx', label: 'bare node:net floor, vs nginx', metric: 'rps', a: 'net', b: 'nginx', target: null },
    ],
    setup: (e) => [
      'sluice: bench/load/sluice-hello.mjs (`content: (r) => r.say(\'hello\')`, accessLog off); nginx: `content_by_lua_block { ngx.say("hello") }`; ' +
      'bare node:net: bench/load/net-hello.mjs (one fixed response per read, no parsing, on the same node as sluice)',
      wrkLine('/')(e),
    ],
  },
  {
    id: 'pipeline', group: 'http', title: `hello, ${PIPELINE} pipelined per send`, scheme: 'http', path: '/', conns: c50,
    wrkArgs: (e) => ['-s', `${e.tmp}/pipeline.lua`], expect: { body: 'hello\n' }, pipeline: PIPELINE,
    sides: [helloSluice, helloNginx],
    comparisons: [{ id: 'pipeline', label: `hello, ${PIPELINE} pipelined per send`, metric: 'rps', a: 'sluice', b: 'nginx', target: ge(1.0) }],
    setup: (e) => [
      `the keep-alive hello servers; wrk's Lua script sends ${PIPELINE} GET / in one write and counts each response ` +
      '(its latency figure is per batch of 8); the runner checks first that all 8 answers come back',
      wrkLine('/', ' -s pipeline.lua')(e),
    ],
  },
  {
    id: 'hello-close', group: 'http', title: 'hello, a new connection per request', scheme: 'http', path: '/', conns: c50,
    wrkArgs: () => ['-H', 'Connection: close'], expect: { body: 'hello\n' }, sides: [helloSluice, helloNginx, closeNet],
    comparisons: [
      { id: 'hello-close', label: 'hello, new connection per request', metric: 'rps', a: 'sluice', b: 'nginx', target: null },
      { id: 'hello-close-vs-net', label: 'hello, new connection per request, vs bare node:net', metric: 'rps', a: 'sluice', b: 'net', target: null },
      { id: 'close-net-vs-nginx', label: 'bare node:net, new connection per request, vs nginx', metric: 'rps', a: 'net', b: 'nginx', target: null },
    ],
    setup: (e) => [
      'the keep-alive hello servers; `Connection: close`: the server closes after each response, wrk reconnects and counts each response; ' +
      'bare node:net: bench/load/net-hello.mjs close (one fixed response to the first read, then socket.end())',
      `wrk -t1 -c${e.connections} --latency -H 'Connection: close' 'http://127.0.0.1:PORT/'`,
    ],
  },
  {
    id: 'capture', group: 'http', title: 'one capture', scheme: 'http', path: '/capture', conns: c50, wrkArgs: none,
    expect: { body: 'hello\n' }, sides: [subrequestSluice, subrequestNginx],
    comparisons: [{ id: 'capture', label: 'one capture of an internal location', metric: 'rps', a: 'sluice', b: 'nginx', target: ge(0.7) }],
    setup: (e) => [
      'sluice: bench/load/sluice-subrequest.mjs (`await r.location.capture(\'/sub\')`, `/sub` `{ internal, return: [200, \'hello\\n\'] }`); ' +
      'nginx: `ngx.location.capture("/sub")`, `location = /sub { internal; return 200 "hello\\n"; }`',
      wrkLine('/capture')(e),
    ],
  },
  {
    id: 'multi', group: 'http', title: 'captureMulti of three', scheme: 'http', path: '/multi', conns: c50, wrkArgs: none,
    expect: { body: 'hello\nhello\nhello\n' }, sides: [subrequestSluice, subrequestNginx],
    comparisons: [{ id: 'multi', label: 'captureMulti of three', metric: 'rps', a: 'sluice', b: 'nginx', target: ge(0.7) }],
    setup: (e) => [
      'the capture servers: `r.location.captureMulti([\'/sub\', \'/sub2\', \'/sub3\'])` / `ngx.location.capture_multi`',
      wrkLine('/multi')(e),
    ],
  },
  {
    id: 'md5-capture', group: 'http', title: 'md5: capture → proxyPass', scheme: 'http', path: MD5_PATH, conns: c50, wrkArgs: none,
    expect: { body: 'valid request\n' },
    sides: [
      { key: 'sluice', label: 'sluice', node: (e) => ['bench/load/sluice-upstream.mjs', String(e.port), 'capture', String(e.upstreamPort)] },
      {
        key: 'nginx', label: 'nginx + lua',
        nginx: (e) => md5CaptureConf(e.port, e.upstreamPort),
      },
    ],
    comparisons: [
      { id: 'md5-capture', label: 'md5: capture → proxyPass → upstream keepalive 20', metric: 'rps', a: 'sluice', b: 'nginx', target: ge(0.6) },
      { id: 'md5-capture-p99', label: 'md5 capture: p99 latency', metric: 'p99', a: 'sluice', b: 'nginx', target: le(2) },
    ],
    setup: (e) => [
      'sluice: bench/load/sluice-upstream.mjs capture (examples/md5 `md5CaptureConfig`); nginx: `ngx.location.capture` of ' +
      '`location = /spe_md5 { internal; proxy_pass http://md5_server; proxy_http_version 1.1; proxy_set_header Connection ""; }`, ' +
      `\`upstream md5_server { keepalive 20; }\`; the md5 backend is a second server block of the same process (port ${e.upstreamPort})`,
      wrkLine(MD5_PATH)(e),
    ],
  },
  {
    id: 'md5-client', group: 'http', title: 'md5: HttpClient', scheme: 'http', path: MD5_PATH, conns: c50, wrkArgs: none,
    expect: { body: 'valid request\n' },
    sides: [
      { key: 'sluice', label: 'sluice', node: (e) => ['bench/load/sluice-upstream.mjs', String(e.port), 'client', String(e.upstreamPort)] },
      {
        key: 'nginx', label: 'nginx + lua',
        nginx: (e) => md5CosocketConf(e.port, e.upstreamPort, e.root),
      },
    ],
    comparisons: [
      { id: 'md5-client', label: 'md5: HttpClient, pool 20', metric: 'rps', a: 'sluice', b: 'nginx', target: ge(0.6) },
      { id: 'md5-client-p99', label: 'md5 HttpClient: p99 latency', metric: 'p99', a: 'sluice', b: 'nginx', target: le(2) },
    ],
    setup: (e) => [
      'sluice: bench/load/sluice-upstream.mjs client (examples/md5 `md5ClientConfig`, HttpClient keepalive pool 20); ' +
      'nginx: bench/load/md5_cosocket.lua (`ngx.socket.tcp`, `setkeepalive(60000, 20)`); backend as above',
      wrkLine(MD5_PATH)(e),
    ],
  },
  {
    id: 'static4k', group: 'http', title: 'static 4 KiB', scheme: 'http', path: '/4k.txt', conns: c50, wrkArgs: none,
    expect: { length: 4096 }, sides: [staticSluice, staticNginx],
    comparisons: [{ id: 'static4k', label: 'static 4 KiB', metric: 'rps', a: 'sluice', b: 'nginx', target: ge(0.7) }],
    setup: (e) => [
      'sluice: bench/load/sluice-static.mjs (`root`); nginx: `sendfile on; tcp_nopush on;` `location / { root ...; }`, no open_file_cache; ' +
      'files of printable random text in a fresh temp dir',
      wrkLine('/4k.txt')(e),
    ],
  },
  {
    id: 'static4k-cache', group: 'http', title: 'static 4 KiB, open file cache on both', scheme: 'http', path: '/4k.txt', conns: c50,
    wrkArgs: none, expect: { length: 4096 }, sides: [staticCacheSluice, staticCacheNginx],
    comparisons: [{ id: 'static4k-cache', label: 'static 4 KiB, open file cache on both', metric: 'rps', a: 'sluice', b: 'nginx', target: null }],
    setup: (e) => [
      `as static 4 KiB, with \`openFileCache: '${OPEN_FILE_CACHE}'\` / \`open_file_cache ${OPEN_FILE_CACHE};\` on both (no target: issue 14's is without the cache)`,
      wrkLine('/4k.txt')(e),
    ],
  },
  {
    id: 'static1m', group: 'http', title: 'static 1 MiB', scheme: 'http', path: '/1m.txt', conns: (e) => e.bigConnections, wrkArgs: none,
    expect: { length: 1048576 }, sides: [staticSluice, staticNginx],
    comparisons: [{ id: 'static1m', label: 'static 1 MiB', metric: 'rps', a: 'sluice', b: 'nginx', target: ge(0.7) }],
    setup: (e) => [
      `the static servers; -c${e.bigConnections} (50 connections of 1 MiB only queue in the socket buffers)`,
      `wrk -t1 -c${e.bigConnections} --latency 'http://127.0.0.1:PORT/1m.txt'`,
    ],
  },
  {
    id: 'tls-hello', group: 'tls', title: 'TLS keep-alive hello', scheme: 'https', path: '/', conns: c50, wrkArgs: none,
    expect: { body: 'hello\n' }, sides: [tlsSluice('on'), tlsNginx('on')],
    comparisons: [{ id: 'tls-hello', label: 'TLS keep-alive hello', metric: 'rps', a: 'sluice', b: 'nginx', target: ge(0.7) }],
    setup: (e) => [
      `sluice: bench/nginx/sluice-tls.mjs (\`listen '... ssl'\`, sslProtocols '${e.tls.protocols}'); nginx: \`listen ... ssl\`, ` +
      `\`ssl_protocols ${e.tls.protocols}\`, lua \`ngx.say("hello")\`; one ${e.tls.kind} certificate made with openssl for both; ciphers: both defaults ` +
      '(HIGH:!aNULL:!MD5, TLSv1.3 suites as OpenSSL ships them)',
      `wrk -t1 -c${e.connections} --latency 'https://127.0.0.1:PORT/'`,
    ],
  },
  {
    id: 'tls-resume', group: 'tls', title: 'TLS, a resumed handshake per request', scheme: 'https', path: '/', conns: c50,
    wrkArgs: () => ['-H', 'Connection: close'], expect: { body: 'hello\n' }, sides: [tlsSluice('on'), tlsNginx('on')],
    comparisons: [{ id: 'tls-resume', label: 'TLS, new connection per request (resumed)', metric: 'rps', a: 'sluice', b: 'nginx', target: null }],
    setup: (e) => [
      'the TLS hello servers (session tickets on, the default); `Connection: close`: the server closes after each response, ' +
      'wrk reconnects and counts each response; wrk keeps its SSL object across reconnects (SSL_clear), so it offers the ' +
      'last ticket and the handshake is a TLSv1.3 resumption (PSK with ECDHE), as nginx\'s $ssl_session_reused showed (r for all but the first per connection)',
      `wrk -t1 -c${e.connections} --latency -H 'Connection: close' 'https://127.0.0.1:PORT/'`,
    ],
  },
  {
    id: 'tls-full', group: 'tls', title: 'TLS, a full handshake per request', scheme: 'https', path: '/', conns: c50,
    wrkArgs: () => ['-H', 'Connection: close'], expect: { body: 'hello\n' }, sides: [tlsSluice('off'), tlsNginx('off')],
    comparisons: [{ id: 'tls-full', label: 'TLS, new connection per request (full handshake)', metric: 'rps', a: 'sluice', b: 'nginx', target: null }],
    setup: (e) => [
      'as above with session tickets off on both (`sslSessionTickets: false` / `ssl_session_tickets off`, no session cache): ' +
      `every request a full handshake with the ${e.tls.kind} certificate`,
      `wrk -t1 -c${e.connections} --latency -H 'Connection: close' 'https://127.0.0.1:PORT/'`,
    ],
  },
];

/** The scenarios a SCENARIOS list names: ids, and the groups `http`, `tls`, `all` (the default). */
export function selectScenarios(list: string | undefined): Scenario[] {
  const words = (list ?? 'all').split(/[\s,]+/).filter(Boolean);
  const picked = new Set<string>();
  for (const w of words) {
    const hits = SCENARIOS.filter((s) => w === 'all' || s.group === w || s.id === w);
    if (hits.length === 0) throw new Error(`SCENARIOS: unknown "${w}" (${['all', 'http', 'tls', ...SCENARIOS.map((s) => s.id)].join(', ')})`);
    for (const s of hits) picked.add(s.id);
  }
  return SCENARIOS.filter((s) => picked.has(s.id));
}
