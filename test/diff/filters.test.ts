// cf. nginx-tests sub_filter.t, sub_filter_multi.t, range.t, headers.t, http_server_name.t —
// differential cases: sub_filter (several patterns, nginx's order at one place, once on/off,
// types, a match split across flushed pieces, a static file's head), range.t's malformed and
// "malicious" ranges, expires with $variables / @time / 0, add_header of ETag/Last-Modified with
// an empty value, and $server_name of a '.example.com' server.
import { diffSuite, type DiffCase } from './harness.js';
import type { Request } from '../../src/http/request.js';

const T1 = Array.from({ length: 100 }, (_x, i) => `X${String(i).padStart(3, '0')}XXXXXX`).join('');
const range = (r: string) => ({ name: `Range: ${r}`, path: '/t1.html', headers: { Range: r } });

const cases: DiffCase[] = [
  {
    name: 'sub_filter: patterns, order, once, types, pieces, a file',
    files: { 'index.html': 'hello world, Hello World\n', 't.txt': 'plain world\n' },
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT}; default_type text/html;
      location = /order1 { sub_filter 'ab' 'L'; sub_filter 'a' 'S'; sub_filter_once off; return 200 'ab ac ab a'; }
      location = /order2 { sub_filter 'a' 'S'; sub_filter 'ab' 'L'; sub_filter_once off; return 200 'ab ac ab a'; }
      location = /tail { sub_filter 'abcd' 'L'; sub_filter 'bc' 'S'; sub_filter_once off; return 200 'xabc'; }
      location = /once { sub_filter 'a' '1'; sub_filter 'b' '2'; return 200 'ababab'; }
      location = /empty { sub_filter '<!-- x -->' ''; sub_filter_once off; return 200 'a<!-- X -->b<!-- x -->c'; }
      location = /var { sub_filter '@$arg_k@' '[$arg_v]'; sub_filter_once off; return 200 'x @key@ y @KEY@'; }
      location = /pieces { sub_filter 'world' 'there'; sub_filter_once off;
        content_by_lua_block { ngx.print('hello wor') ngx.flush(true) ngx.print('ld, WOR') ngx.flush(true) ngx.print('LD! wor') } }
      location /st/ { alias \${ROOT}/; sub_filter 'world' 'there'; }
      location /lm/ { alias \${ROOT}/; sub_filter 'world' 'there'; sub_filter_last_modified on; }
      location /types/ { alias \${ROOT}/; sub_filter 'world' 'there'; sub_filter_types text/plain; }
    }`,
    sluice: (env) => ({
      root: env.root,
      defaultType: 'text/html',
      locations: {
        '= /order1': { subFilter: [['ab', 'L'], ['a', 'S']], subFilterOnce: false, return: [200, 'ab ac ab a'] },
        '= /order2': { subFilter: [['a', 'S'], ['ab', 'L']], subFilterOnce: false, return: [200, 'ab ac ab a'] },
        '= /tail': { subFilter: [['abcd', 'L'], ['bc', 'S']], subFilterOnce: false, return: [200, 'xabc'] },
        '= /once': { subFilter: [['a', '1'], ['b', '2']], return: [200, 'ababab'] },
        '= /empty': { subFilter: [['<!-- x -->', '']], subFilterOnce: false, return: [200, 'a<!-- X -->b<!-- x -->c'] },
        '= /var': { subFilter: [['@$arg_k@', '[$arg_v]']], subFilterOnce: false, return: [200, 'x @key@ y @KEY@'] },
        '= /pieces': {
          subFilter: [['world', 'there']], subFilterOnce: false,
          content: async (r: Request) => {
            r.print('hello wor'); await r.flush();
            r.print('ld, WOR'); await r.flush();
            r.print('LD! wor');
          },
        },
        '/st/': { alias: env.root + '/', subFilter: [['world', 'there']] },
        '/lm/': { alias: env.root + '/', subFilter: [['world', 'there']], subFilterLastModified: true },
        '/types/': { alias: env.root + '/', subFilter: [['world', 'there']], subFilterTypes: 'text/plain' },
      },
    }),
    requests: [
      '/order1', '/order2', '/tail', '/once', '/empty', '/var?k=key&v=val', '/pieces',
      '/st/index.html', '/st/t.txt', { method: 'HEAD', path: '/st/index.html' }, '/lm/index.html', '/types/t.txt',
    ],
  },
  {
    name: 'range.t: malformed and malicious ranges, max_ranges',
    files: { 't1.html': T1 },
    nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; location /t3/ { alias ${ROOT}/; max_ranges 2; } }',
    sluice: (env) => ({ root: env.root, locations: { '/': {}, '/t3/': { alias: env.root + '/', maxRanges: 2 } } }),
    requests: [
      range('bytes=0-8'), range('bytes=-10'), range('bytes=990-1990'), range('bytes=0-9, -10, 10-19'),
      range('bytes=0-9, -10, 100000-, 10-19'), range('bytes=100000-'), range('bytes=alpha'), range('bytes=10-alpha'),
      range('bytes=10'), range('bytes=10-11 12-'), range('bytes=0-10001'), range('bytes=0-10001, 0-0'),
      range('bytes=0-1,,3-4'), range('bytes=0-1,'), range('bytes=20-21,0-1,1-2'), range('bytes='),
      { ...range('bytes=0-9, -10'), path: '/t3/t1.html' }, { ...range('bytes=0-9, -10, 10000-'), path: '/t3/t1.html' },
      { ...range('bytes=0-9, -10, 10-19'), path: '/t3/t1.html' },
    ],
  },
  {
    name: 'expires: $variables, @time, 0; add_header ETag/Last-Modified empty or set',
    files: { 'a.html': 'a\n' },
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT};
      location = /e0 { expires 0; return 200 ok; }
      location = /ev { expires $arg_e; return 200 ok; }
      location /em/ { expires modified $arg_e; alias \${ROOT}/; }
      location /ah/ { alias \${ROOT}/; add_header ETag ""; add_header Last-Modified ""; add_header Cache-Control ""; }
      location /ah2/ { alias \${ROOT}/; add_header ETag '"new"'; add_header Last-Modified 'Mon, 01 Jan 2024 00:00:00 GMT'; }
    }`,
    sluice: (env) => ({
      root: env.root,
      locations: {
        '= /e0': { expires: 0, return: [200, 'ok'] },
        '= /ev': { expires: '$arg_e', return: [200, 'ok'] },
        '/em/': { expires: 'modified $arg_e', alias: env.root + '/' },
        '/ah/': { alias: env.root + '/', addHeader: [['ETag', ''], ['Last-Modified', ''], ['Cache-Control', '']] },
        '/ah2/': { alias: env.root + '/', addHeader: [['ETag', '"new"'], ['Last-Modified', 'Mon, 01 Jan 2024 00:00:00 GMT']] },
      },
    }),
    headers: ['expires', 'cache-control'],
    requests: [
      '/e0', '/ev?e=1h', '/ev?e=epoch', '/ev?e=max', '/ev?e=off', '/ev?e=bogus', '/ev?e=-1h', '/em/a.html?e=1h', '/em/a.html?e=epoch',
      '/ah/a.html', '/ah2/a.html',
    ],
  },
  {
    name: '$server_name of a .example.com server',
    nginx: 'server { listen 127.0.0.1:${PORT}; server_name .example.com www.other; location / { return 200 "sn=$server_name"; } }',
    sluice: () => ({ serverName: '.example.com www.other', locations: { '/': { return: [200, 'sn=$server_name'] } } }),
    requests: [
      { path: '/', headers: { Host: 'example.com' } }, { path: '/', headers: { Host: 'a.example.com' } },
      { path: '/', headers: { Host: 'www.other' } },
    ],
  },
];

diffSuite('filters', cases);
