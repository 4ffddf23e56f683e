// cf. nginx-tests range.t, not_modified.t, headers.t, gzip.t — differential cases for the filters
// over static files: Range (single, multi, 416, If-Range), conditionals (304, 412), add_header
// and expires, gzip.
import { diffSuite, type DiffCase } from './harness.js';

const DIGITS = '0123456789'.repeat(10); // 100 bytes
const HTML = '<html><body>' + 'compress me, please. '.repeat(60) + '</body></html>\n';
const ETAG = '"6553f100-64"'; // FILE_MTIME and 100 bytes, as nginx writes it

const range = (r: string, extra: Record<string, string> = {}) => ({ name: `Range: ${r}`, path: '/d.txt', headers: { Range: r, ...extra } });

const rangeCases: DiffCase[] = [
  {
    name: 'range: single ranges and 416',
    files: { 'd.txt': DIGITS },
    nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; }',
    sluice: (env) => ({ root: env.root, locations: { '/': {} } }),
    requests: [
      { ...range('bytes=0-9'), status: 206 }, range('bytes=-10'), range('bytes=90-'), range('bytes=95-200'),
      range('bytes=0-0'), range('bytes=99-99'), { ...range('bytes=100-'), status: 416 }, range('bytes=5-2'),
      range('bytes=abc'), range('bytes=-0'), range('items=0-1'), range('bytes=0-9 '), range('bytes= 0-9'),
      range('bytes=-200'), { ...range('bytes=0-9'), method: 'HEAD' },
    ],
  },
  {
    name: 'range: multiple ranges',
    files: { 'd.txt': DIGITS },
    nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; location /one/ { max_ranges 1; alias ${ROOT}/; } location /none/ { max_ranges 0; alias ${ROOT}/; } }',
    sluice: (env) => ({ root: env.root, locations: { '/': {}, '/one/': { maxRanges: 1, alias: env.root + '/' }, '/none/': { maxRanges: 0, alias: env.root + '/' } } }),
    requests: [
      range('bytes=0-1,5-6'), range('bytes=0-1,50-'), range('bytes=0-5,3-8'), range('bytes=0-1,200-300'),
      { ...range('bytes=0-1,5-6'), path: '/one/d.txt' }, { ...range('bytes=0-1'), path: '/one/d.txt' },
      { ...range('bytes=0-1'), path: '/none/d.txt' },
    ],
  },
  {
    name: 'range: If-Range',
    files: { 'd.txt': DIGITS },
    nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; }',
    sluice: (env) => ({ root: env.root, locations: { '/': {} } }),
    requests: [
      { path: '/d.txt', status: 200, name: 'the ETag is nginx\'s' },
      range('bytes=0-1', { 'If-Range': ETAG }), range('bytes=0-1', { 'If-Range': '"other"' }),
      range('bytes=0-1', { 'If-Range': 'Tue, 14 Nov 2023 22:13:20 GMT' }), range('bytes=0-1', { 'If-Range': 'Tue, 14 Nov 2023 22:13:21 GMT' }),
      range('bytes=0-1', { 'If-Range': 'W/' + ETAG }),
    ],
  },
];

const cond = (h: Record<string, string>, method = 'GET') => ({ name: `${method} ${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join(', ')}`, method, path: '/d.txt', headers: h });

const conditionalCases: DiffCase[] = [
  {
    name: 'conditionals: If-Modified-Since, If-None-Match, If-Match, If-Unmodified-Since',
    files: { 'd.txt': DIGITS },
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT};
      location /before/ { if_modified_since before; alias \${ROOT}/; }
      location /off/ { if_modified_since off; alias \${ROOT}/; }
    }`,
    sluice: (env) => ({
      root: env.root,
      locations: { '/': {}, '/before/': { ifModifiedSince: 'before', alias: env.root + '/' }, '/off/': { ifModifiedSince: 'off', alias: env.root + '/' } },
    }),
    requests: [
      { ...cond({ 'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:20 GMT' }), status: 304 },
      cond({ 'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:21 GMT' }), cond({ 'If-Modified-Since': 'garbage' }),
      { ...cond({ 'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:21 GMT' }), path: '/before/d.txt' },
      { ...cond({ 'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:20 GMT' }), path: '/off/d.txt' },
      cond({ 'If-None-Match': ETAG }), cond({ 'If-None-Match': '*' }), cond({ 'If-None-Match': 'W/' + ETAG }),
      cond({ 'If-None-Match': '"a", ' + ETAG }), cond({ 'If-None-Match': '"other"' }),
      cond({ 'If-None-Match': '"other"', 'If-Modified-Since': 'Tue, 14 Nov 2023 22:13:20 GMT' }),
      cond({ 'If-None-Match': ETAG }, 'HEAD'),
      cond({ 'If-Match': '"other"' }), cond({ 'If-Match': ETAG }), cond({ 'If-Match': '*' }),
      cond({ 'If-Unmodified-Since': 'Tue, 14 Nov 2023 22:13:19 GMT' }), cond({ 'If-Unmodified-Since': 'Tue, 14 Nov 2023 22:13:20 GMT' }),
      cond({ 'If-None-Match': ETAG, Range: 'bytes=0-1' }),
    ],
  },
];

const headerCases: DiffCase[] = [
  {
    name: 'addHeader and expires',
    files: { 'd.txt': DIGITS, 'sub/e.txt': 'e\n' },
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT};
      add_header X-Server s;
      location / { add_header X-A a; add_header X-Always b always; expires 1h; }
      location /sub/ { expires -1; }
      location = /epoch { expires epoch; return 200 "e"; }
      location = /max { expires max; return 200 "m"; }
      location = /modified { expires modified 1d; alias \${ROOT}/d.txt; }
      location = /r204 { add_header X-A a; expires 1h; return 204; }
      location = /r302 { add_header X-A a; expires 1h; return 302 http://example.com/; }
      location = /r500 { add_header X-A a; add_header X-Always b always; expires 1h; return 500; }
      location = /var { add_header X-V "$uri-$arg_q"; add_header X-Empty $arg_nothing; return 200 "v"; }
    }`,
    sluice: (env) => ({
      root: env.root,
      addHeader: [['X-Server', 's']],
      locations: {
        '/': { addHeader: [['X-A', 'a'], ['X-Always', 'b', 'always']], expires: '1h' },
        '/sub/': { expires: '-1' },
        '= /epoch': { expires: 'epoch', return: [200, 'e'] },
        '= /max': { expires: 'max', return: [200, 'm'] },
        '= /modified': { expires: 'modified 1d', alias: env.root + '/d.txt' },
        '= /r204': { addHeader: [['X-A', 'a']], expires: '1h', return: [204] },
        '= /r302': { addHeader: [['X-A', 'a']], expires: '1h', return: [302, 'http://example.com/'] },
        '= /r500': { addHeader: [['X-A', 'a'], ['X-Always', 'b', 'always']], expires: '1h', return: [500] },
        '= /var': { addHeader: [['X-V', '$uri-$arg_q'], ['X-Empty', '$arg_nothing']], return: [200, 'v'] },
      },
    }),
    headers: ['x-a', 'x-always', 'x-server', 'x-v', 'x-empty'],
    requests: [
      '/d.txt', '/nope', '/sub/e.txt', '/epoch', '/max', '/modified', '/r204', '/r302', '/r500', '/var?q=1',
      { path: '/d.txt', headers: { 'If-None-Match': ETAG } }, { path: '/d.txt', headers: { Range: 'bytes=0-1' } },
    ],
  },
];

const ae = (path: string, extra: Record<string, string> = {}) => ({ name: `${path} gzip ${JSON.stringify(extra)}`, path, headers: { 'Accept-Encoding': 'gzip, deflate', ...extra } });

const gzipCases: DiffCase[] = [
  {
    name: 'gzip: on, types, min length, vary, HEAD, HTTP/1.0',
    files: { 'p.html': HTML, 'p.txt': HTML, 'p.css': HTML, 'small.html': '<p>s</p>\n', 'd.txt': DIGITS },
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT}; gzip on;
      location /t/ { gzip_types text/plain; alias \${ROOT}/; }
      location /v/ { gzip_vary on; alias \${ROOT}/; }
      location /m/ { gzip_min_length 2000; alias \${ROOT}/; }
      location /star/ { gzip_types *; alias \${ROOT}/; }
      location = /ret { return 200 "${HTML}"; }
    }`,
    sluice: (env) => ({
      root: env.root,
      gzip: true,
      locations: {
        '/': {},
        '/t/': { gzipTypes: ['text/plain'], alias: env.root + '/' },
        '/v/': { gzipVary: true, alias: env.root + '/' },
        '/m/': { gzipMinLength: 2000, alias: env.root + '/' },
        '/star/': { gzipTypes: '*', alias: env.root + '/' },
        '= /ret': { return: [200, HTML] },
      },
    }),
    requests: [
      ae('/p.html'), '/p.html', ae('/p.txt'), ae('/t/p.txt'), ae('/t/p.html'), ae('/p.css'), ae('/star/p.css'),
      ae('/small.html'), ae('/m/p.html'), ae('/v/p.html'), ae('/v/p.txt'), ae('/v/small.html'), '/v/p.html',
      { ...ae('/p.html'), method: 'HEAD' }, { ...ae('/p.html'), version: '1.0' as const },
      ae('/p.html', { 'Accept-Encoding': 'gzip;q=0' }), ae('/p.html', { 'Accept-Encoding': 'GZIP' }),
      ae('/p.html', { 'Accept-Encoding': 'deflate' }), ae('/p.html', { Range: 'bytes=0-9' }), ae('/nope'),
      ae('/star/ret'), ae('/ret'), ae('/p.html', { 'If-None-Match': '"x"' }),
    ],
  },
];

diffSuite('core filters', [...rangeCases, ...conditionalCases, ...headerCases, ...gzipCases]);
