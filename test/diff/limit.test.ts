// cf. nginx-tests limit_req.t, limit_req2.t, limit_req_dry_run.t, limit_conn.t — differential
// cases for limitReq and limitConn. Real time on both sides, so only what does not depend on it:
// 1r/m, whose bucket leaks 16 thousandths a second (a slot frees after 62.5 s), so within a case
// nothing leaks a whole request; no delays (they would take a minute); limit_conn with requests
// one after another (the concurrent cases are in test/http/limit/limit.test.ts, on a ManualClock).
// One nginx runs every case of the suite: each case has zones of its own names.
import { diffSuite, type DiffCase } from './harness.js';

const FILES = { 'a.txt': 'hello\n' };

/** The X-LR / X-LC headers: both statuses in brackets (an empty value would add no header in nginx). */
const STATUS_HEADERS = 'add_header X-LR "[$limit_req_status]"; add_header X-LC "[$limit_conn_status]";';
const statusHeaders: [string, string][] = [['X-LR', '[$limit_req_status]'], ['X-LC', '[$limit_conn_status]']];

/** n requests for /?k=<prefix>1 .. <prefix>n, then /?k=<prefix>1 again. */
function probe(prefix: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) out.push(`/a.txt?k=${prefix}${i}`);
  out.push(`/a.txt?k=${prefix}1`);
  return out;
}

const cases: DiffCase[] = [
  {
    name: 'limit_req: burst=2 nodelay at 1r/m: three pass, the fourth is rejected (503), and logged',
    files: FILES,
    nginx: `limit_req_zone $binary_remote_addr zone=lr1:1m rate=1r/m;
      server { listen 127.0.0.1:\${PORT}; root \${ROOT}; location / { limit_req zone=lr1 burst=2 nodelay; ${STATUS_HEADERS} } }`,
    sluice: (env) => ({
      limitReqZone: '$binary_remote_addr zone=lr1:1m rate=1r/m',
      servers: [{ listen: `127.0.0.1:${env.port}`, root: env.root, locations: { '/': { limitReq: 'zone=lr1 burst=2 nodelay', addHeader: statusHeaders } } }],
    }),
    headers: ['x-lr', 'x-lc'],
    requests: [
      { path: '/a.txt', status: 200 }, { path: '/a.txt', status: 200 }, { path: '/a.txt', status: 200 },
      { path: '/a.txt', status: 503, log: /\[error\].*limiting requests, excess: \d\.\d{3} by zone "lr1"/ },
    ],
  },
  {
    name: 'limit_req: limit_req_status 429; return answers before the preaccess phase',
    files: FILES,
    nginx: `limit_req_zone $binary_remote_addr zone=lr2:1m rate=1r/m;
      server { listen 127.0.0.1:\${PORT}; root \${ROOT}; limit_req zone=lr2; limit_req_status 429;
        location / { ${STATUS_HEADERS} } location = /ret { return 200 "r\\n"; } }`,
    sluice: (env) => ({
      limitReqZone: { lr2: { key: '$binary_remote_addr', size: '1m', rate: '1r/m' } },
      servers: [{ listen: `127.0.0.1:${env.port}`, root: env.root, limitReq: { zone: 'lr2' }, limitReqStatus: 429,
        locations: { '/': { addHeader: statusHeaders }, '= /ret': { return: [200, 'r\n'] } } }],
    }),
    headers: ['x-lr', 'x-lc'],
    requests: [{ path: '/a.txt', status: 200 }, { path: '/a.txt', status: 429 }, { path: '/ret', status: 200 }, { path: '/ret', status: 200 }],
  },
  {
    name: 'limit_req: dry run passes everything and says what it would have done',
    files: FILES,
    nginx: `limit_req_zone $binary_remote_addr zone=lr3:1m rate=1r/m;
      server { listen 127.0.0.1:\${PORT}; root \${ROOT}; location / { limit_req zone=lr3 burst=1; limit_req_dry_run on; ${STATUS_HEADERS} } }`,
    sluice: (env) => ({
      limitReqZone: '$binary_remote_addr zone=lr3:1m rate=1r/m',
      servers: [{ listen: `127.0.0.1:${env.port}`, root: env.root, locations: { '/': { limitReq: 'zone=lr3 burst=1', limitReqDryRun: true, addHeader: statusHeaders } } }],
    }),
    headers: ['x-lr'],
    requests: [
      { path: '/a.txt', status: 200 },
      { path: '/a.txt', status: 200 }, // DELAYED_DRY_RUN: no wait
      { path: '/a.txt', status: 200, log: /limiting requests, dry run, excess: \d\.\d{3} by zone "lr3"/ },
    ],
  },
  {
    name: 'limit_req: a key with variables; an empty key is not limited and sets no status',
    files: FILES,
    nginx: `limit_req_zone $arg_k zone=lr4:1m rate=1r/m;
      server { listen 127.0.0.1:\${PORT}; root \${ROOT}; location / { limit_req zone=lr4; ${STATUS_HEADERS} } }`,
    sluice: (env) => ({
      limitReqZone: ['$arg_k zone=lr4:1m rate=1r/m'],
      servers: [{ listen: `127.0.0.1:${env.port}`, root: env.root, locations: { '/': { limitReq: ['zone=lr4'], addHeader: statusHeaders } } }],
    }),
    headers: ['x-lr', 'x-lc'],
    requests: [
      { path: '/a.txt?k=a', status: 200 }, { path: '/a.txt?k=a', status: 503 }, { path: '/a.txt?k=b', status: 200 },
      { path: '/a.txt', status: 200 }, { path: '/a.txt', status: 200 }, { path: '/a.txt?k=', status: 200 },
    ],
  },
  {
    name: 'limit_req: several limits; a rejection by the second leaves the first untouched',
    files: FILES,
    nginx: `limit_req_zone $arg_a zone=lr5a:1m rate=1r/m; limit_req_zone $arg_b zone=lr5b:1m rate=1r/m;
      server { listen 127.0.0.1:\${PORT}; root \${ROOT}; location / { limit_req zone=lr5a burst=1 nodelay; limit_req zone=lr5b; ${STATUS_HEADERS} } }`,
    sluice: (env) => ({
      limitReqZone: ['$arg_a zone=lr5a:1m rate=1r/m', '$arg_b zone=lr5b:1m rate=1r/m'],
      servers: [{ listen: `127.0.0.1:${env.port}`, root: env.root, locations: { '/': { limitReq: ['zone=lr5a burst=1 nodelay', 'zone=lr5b'], addHeader: statusHeaders } } }],
    }),
    headers: ['x-lr'],
    requests: [
      { path: '/a.txt?a=1&b=1', status: 200 }, { path: '/a.txt?a=2&b=1', status: 503 }, { path: '/a.txt?a=2&b=2', status: 200 },
      { path: '/a.txt?a=2&b=3', status: 200 }, { path: '/a.txt?a=2&b=4', status: 503 }, { path: '/a.txt?b=5', status: 200 },
    ],
  },
  {
    name: 'limit_req: a 32k zone holds 191 short keys: the first key is still limited after 190 others',
    files: FILES,
    nginx: `limit_req_zone $arg_k zone=lr6:32k rate=1r/m;
      server { listen 127.0.0.1:\${PORT}; root \${ROOT}; location / { limit_req zone=lr6; } }`,
    sluice: (env) => ({
      limitReqZone: '$arg_k zone=lr6:32k rate=1r/m',
      servers: [{ listen: `127.0.0.1:${env.port}`, root: env.root, locations: { '/': { limitReq: 'zone=lr6' } } }],
    }),
    oneConnection: true,
    requests: [...probe('a', 191).slice(0, -1), { path: '/a.txt?k=a1', status: 503 }],
  },
  {
    name: 'limit_req: a 32k zone holds 191 short keys: the 192nd evicts the oldest',
    files: FILES,
    nginx: `limit_req_zone $arg_k zone=lr7:32k rate=1r/m;
      server { listen 127.0.0.1:\${PORT}; root \${ROOT}; location / { limit_req zone=lr7; } }`,
    sluice: (env) => ({
      limitReqZone: '$arg_k zone=lr7:32k rate=1r/m',
      servers: [{ listen: `127.0.0.1:${env.port}`, root: env.root, locations: { '/': { limitReq: 'zone=lr7' } } }],
    }),
    oneConnection: true,
    requests: [...probe('b', 192).slice(0, -1), { path: '/a.txt?k=b1', status: 200 }],
  },
  {
    name: 'limit_conn: requests one after another (and on one keep-alive connection) are each counted and let go',
    files: FILES,
    nginx: `limit_conn_zone $binary_remote_addr zone=lc1:1m; limit_conn_zone $arg_k zone=lc1k:1m;
      server { listen 127.0.0.1:\${PORT}; root \${ROOT}; location / { limit_conn lc1 1; limit_conn lc1k 1; limit_conn_status 429; ${STATUS_HEADERS} } }`,
    sluice: (env) => ({
      limitConnZone: ['$binary_remote_addr zone=lc1:1m', '$arg_k zone=lc1k:1m'],
      servers: [{ listen: `127.0.0.1:${env.port}`, root: env.root, locations: { '/': { limitConn: { lc1: 1, lc1k: 1 }, limitConnStatus: 429, addHeader: statusHeaders } } }],
    }),
    headers: ['x-lr', 'x-lc'],
    oneConnection: true,
    requests: [{ path: '/a.txt', status: 200 }, { path: '/a.txt?k=x', status: 200 }, { path: '/a.txt?k=x', status: 200 }, { path: '/a.txt', status: 200 }],
  },
  {
    name: 'limit_conn: an empty key is not counted and sets no status; limit_req and limit_conn together',
    files: FILES,
    nginx: `limit_conn_zone $arg_k zone=lc2:1m; limit_req_zone $arg_k zone=lr8:1m rate=1r/m;
      server { listen 127.0.0.1:\${PORT}; root \${ROOT}; location / { limit_conn lc2 1; limit_req zone=lr8 burst=1 nodelay; ${STATUS_HEADERS} } }`,
    sluice: (env) => ({
      limitConnZone: { lc2: { key: '$arg_k', size: '1m' } },
      limitReqZone: '$arg_k zone=lr8:1m rate=1r/m',
      servers: [{ listen: `127.0.0.1:${env.port}`, root: env.root, locations: { '/': { limitConn: 'lc2 1', limitReq: 'zone=lr8 burst=1 nodelay', addHeader: statusHeaders } } }],
    }),
    headers: ['x-lr', 'x-lc'],
    requests: [
      { path: '/a.txt', status: 200 }, { path: '/a.txt?k=y', status: 200 }, { path: '/a.txt?k=y', status: 200 },
      { path: '/a.txt?k=y', status: 503 },
    ],
  },
];

diffSuite('limit', cases);
