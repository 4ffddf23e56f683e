// cf. nginx-tests static.t, index.t, http_location.t, http_server_name.t, rewrite.t (return),
// http_variables.t — differential cases for the core: static files, index, directories,
// locations, server names, return, variables, client_max_body_size, keep-alive.
import { diffSuite, type DiffCase } from './harness.js';

const FILES = {
  'a.txt': 'hello\n',
  'index.html': '<p>index</p>\n',
  'page.html': '<p>page</p>\n',
  'style.css': 'p { }\n',
  'data.json': '{"a":1}\n',
  'pic.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
  'noext': 'no extension\n',
  'file.unknownext': 'what\n',
  'dir/index.html': '<p>dir</p>\n',
  'empty/.keep': '',
  'sp ace.txt': 'space\n',
  'two/b.html': 'b\n',
};

const staticCases: DiffCase[] = [
  {
    name: 'static: files, types, HEAD, 404',
    files: FILES,
    nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; }',
    sluice: (env) => ({ root: env.root, locations: { '/': {} } }),
    requests: [
      { path: '/a.txt', status: 200 }, { method: 'HEAD', path: '/a.txt', status: 200 }, '/page.html', '/style.css',
      '/data.json', '/pic.png', '/noext', '/file.unknownext', { path: '/nope', status: 404 },
      { method: 'HEAD', path: '/nope', status: 404 }, '/sp%20ace.txt', '/a%2etxt', '/dir/../a.txt',
      '/a.txt?x=1', '/A.TXT',
    ],
  },
  {
    name: 'static: directories, index, redirects',
    files: FILES,
    nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; }',
    sluice: (env) => ({ root: env.root, locations: { '/': {} } }),
    requests: [
      { path: '/', status: 200 }, { path: '/dir', status: 301 }, '/dir?a=b', { path: '/dir/', status: 200 },
      { path: '/empty/', status: 403 }, '/empty', '/a.txt/', '/two/', { method: 'HEAD', path: '/dir' },
      { path: '/dir', headers: { Host: 'Example.COM:8080' } },
    ],
  },
  {
    name: 'static: methods other than GET and HEAD',
    files: FILES,
    nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; }',
    sluice: (env) => ({ root: env.root, locations: { '/': {} } }),
    requests: [
      { method: 'POST', path: '/a.txt', body: 'x', status: 405 }, { method: 'DELETE', path: '/a.txt' },
      { method: 'OPTIONS', path: '/a.txt' }, { method: 'POST', path: '/nope', body: 'x' },
    ],
  },
  {
    name: 'index: list, first existing wins; defaultType and types',
    files: { ...FILES, 'x/second.html': 'second\n', 'y/a.txt': 'ya\n' },
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT};
      location /x/ { index first.html second.html; }
      location /y/ { types { text/x-mine txt; } default_type application/x-other; index nothing.html; }
      location = /y/a.unknownext { default_type text/x-dflt; }
    }`,
    sluice: (env) => ({
      root: env.root,
      locations: {
        '/': {},
        '/x/': { index: ['first.html', 'second.html'] },
        '/y/': { types: { 'text/x-mine': 'txt' }, defaultType: 'application/x-other', index: 'nothing.html' },
        '= /y/a.unknownext': { defaultType: 'text/x-dflt' },
      },
    }),
    requests: ['/x/', '/y/a.txt', '/y/', '/y/a.unknownext'],
  },
  {
    name: 'static: alias',
    files: FILES,
    nginx: 'server { listen 127.0.0.1:${PORT}; location /al/ { alias ${ROOT}/dir/; } location /f { alias ${ROOT}/a.txt; } }',
    sluice: (env) => ({ locations: { '/al/': { alias: env.root + '/dir/' }, '/f': { alias: env.root + '/a.txt' } } }),
    requests: ['/al/', '/al/index.html', '/al/nope', '/f', '/al'],
  },
];

const BIG = Buffer.alloc(300 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789\n');

staticCases.push({
  name: 'static: a 300 KiB file, ranges in it, keep-alive',
  files: { 'big.bin': BIG, 'a.txt': 'hello\n' },
  nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; }',
  sluice: (env) => ({ root: env.root, locations: { '/': {} } }),
  oneConnection: true,
  requests: [
    '/big.bin', { path: '/big.bin', headers: { Range: 'bytes=100000-200000' } }, { method: 'HEAD', path: '/big.bin' },
    { path: '/big.bin', headers: { Range: 'bytes=0-0,-1' } }, '/a.txt', { path: '/a.txt', version: '1.0' },
  ],
});

const locationCases: DiffCase[] = [
  {
    name: 'locations: exact, prefix, ^~, regexes in order',
    nginx: `server { listen 127.0.0.1:\${PORT};
      location = / { return 200 "exact /"; }
      location / { return 200 "prefix /"; }
      location /documents/ { return 200 "prefix /documents/"; }
      location ^~ /images/ { return 200 "^~ /images/"; }
      location ~* \\.(gif|jpg|jpeg)$ { return 200 "~* gif|jpg"; }
      location ~ \\.JPG$ { return 200 "~ JPG"; }
      location ~ ^/documents/re { return 200 "~ ^/documents/re"; }
      location ~ ^/documents/r { return 200 "~ ^/documents/r"; }
      location = /documents/ { return 200 "exact /documents/"; }
      location /images/deeper/ { return 200 "prefix /images/deeper/"; }
    }`,
    sluice: () => ({
      locations: {
        '= /': { return: [200, 'exact /'] },
        '/': { return: [200, 'prefix /'] },
        '/documents/': { return: [200, 'prefix /documents/'] },
        '^~ /images/': { return: [200, '^~ /images/'] },
        '~* \\.(gif|jpg|jpeg)$': { return: [200, '~* gif|jpg'] },
        '~ \\.JPG$': { return: [200, '~ JPG'] },
        '~ ^/documents/re': { return: [200, '~ ^/documents/re'] },
        '~ ^/documents/r': { return: [200, '~ ^/documents/r'] },
        '= /documents/': { return: [200, 'exact /documents/'] },
        '/images/deeper/': { return: [200, 'prefix /images/deeper/'] },
      },
    }),
    requests: [
      '/', '/index.html', '/documents/', '/documents/document.html', '/images/1.gif', '/documents/1.jpg',
      '/documents/1.JPG', '/x.JPG', '/documents/regular', '/documents/rx', '/images/deeper/a.gif',
      '/images/deeper/', '/Documents/', '/documents', '/%64ocuments/a', '/documents/./re', '/documents/x/../re',
      '/documents//re',
    ],
  },
  {
    name: 'locations: no prefix location matches',
    nginx: 'server { listen 127.0.0.1:${PORT}; location /a/ { return 200 a; } location ~ ^/b { return 200 b; } }',
    sluice: () => ({ locations: { '/a/': { return: [200, 'a'] }, '~ ^/b': { return: [200, 'b'] } } }),
    requests: ['/b', '/a/', { path: '/c', status: 404 }],
  },
];

const serverNameServers = `
  server { listen 127.0.0.1:\${PORT}; server_name example.com; return 200 "exact $server_name $host"; }
  server { listen 127.0.0.1:\${PORT}; server_name *.example.com; return 200 "head $host"; }
  server { listen 127.0.0.1:\${PORT}; server_name www.example.*; return 200 "tail $host"; }
  server { listen 127.0.0.1:\${PORT}; server_name .bare.test; return 200 "bare $host"; }
  server { listen 127.0.0.1:\${PORT}; server_name ~^(www\\d+)\\.regex\\.test$; return 200 "regex $host"; }
  server { listen 127.0.0.1:\${PORT} default_server; server_name default.test; return 200 "default $host"; }
  server { listen 127.0.0.1:\${PORT}; server_name ""; return 200 "empty name"; }
`;

const host = (h: string) => ({ name: `Host: ${h}`, path: '/', headers: { Host: h } });

const serverNameCases: DiffCase[] = [
  {
    name: 'server names: exact, wildcards, regex, default_server',
    nginx: serverNameServers,
    sluice: (env) => [
      { serverName: 'example.com', return: [200, 'exact $server_name $host'] },
      { serverName: '*.example.com', return: [200, 'head $host'] },
      { serverName: 'www.example.*', return: [200, 'tail $host'] },
      { serverName: '.bare.test', return: [200, 'bare $host'] },
      { serverName: '~^(www\\d+)\\.regex\\.test$', return: [200, 'regex $host'] },
      { listen: `127.0.0.1:${env.port} default_server`, serverName: 'default.test', return: [200, 'default $host'] },
      { serverName: '', return: [200, 'empty name'] },
    ],
    requests: [
      host('example.com'), host('EXAMPLE.com'), host('example.com.'), host('example.com:81'), host('a.example.com'),
      host('a.b.example.com'), host('www.example.com'), host('www.example.org'), host('bare.test'), host('x.bare.test'),
      host('www12.regex.test'), host('www.regex.test'), host('default.test'), host('unknown.test'), host('127.0.0.1'),
      { name: 'HTTP/1.0 without Host', raw: 'GET / HTTP/1.0\r\n\r\n' },
      { name: 'HTTP/1.1 without Host', raw: 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n', status: 400 },
      { name: 'empty Host', raw: 'GET / HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n' },
      { name: 'absolute URI wins over Host', raw: 'GET http://a.example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n' },
      host('bad..host'), host('exa mple.com'),
    ],
  },
];

const returnCases: DiffCase[] = [
  {
    name: 'return: codes, text, redirects',
    nginx: `server { listen 127.0.0.1:\${PORT};
      location = /204 { return 204; }
      location = /404 { return 404; }
      location = /403t { return 403 "forbidden text"; }
      location = /200 { return 200; }
      location = /200t { return 200 "ok\\n"; }
      location = /500t { return 500 "oops"; }
      location = /301 { return 301 /target; }
      location = /302abs { return 302 http://example.com/x; }
      location = /303 { return 303 /t?a=b; }
      location = /307 { return 307 http://example.com$request_uri; }
      location = /308 { return 308 /p; }
      location = /bare { return http://example.com/bare; }
      location = /302v { return 302 /to$uri?$args; }
      location = /201t { return 201 "created $uri"; }
      location = /444 { return 444; }
    }`,
    sluice: () => ({
      locations: {
        '= /204': { return: [204] },
        '= /404': { return: [404] },
        '= /403t': { return: [403, 'forbidden text'] },
        '= /200': { return: [200] },
        '= /200t': { return: [200, 'ok\n'] },
        '= /500t': { return: [500, 'oops'] },
        '= /301': { return: [301, '/target'] },
        '= /302abs': { return: [302, 'http://example.com/x'] },
        '= /303': { return: [303, '/t?a=b'] },
        '= /307': { return: [307, 'http://example.com$request_uri'] },
        '= /308': { return: [308, '/p'] },
        '= /bare': { return: 'http://example.com/bare' },
        '= /302v': { return: [302, '/to$uri?$args'] },
        '= /201t': { return: [201, 'created $uri'] },
        '= /444': { return: [444] },
      },
    }),
    requests: [
      '/204', '/404', { method: 'HEAD', path: '/404' }, '/403t', '/200', '/200t', '/500t', '/301', '/302abs', '/303',
      '/307?q=1', '/308', '/bare', '/302v?x=y', '/201t', { method: 'HEAD', path: '/200t' }, '/444',
      { path: '/301', headers: { Host: 'other.test:99' } },
      // a 444 pipelined behind a request in the same packet: the first is still answered
      { name: '/200t then /444, pipelined', raw: 'GET /200t HTTP/1.1\r\nHost: localhost\r\n\r\nGET /444 HTTP/1.1\r\nHost: localhost\r\n\r\n' },
    ],
  },
  {
    name: 'return: server level, before locations',
    nginx: 'server { listen 127.0.0.1:${PORT}; return 200 "server $uri"; location / { return 404; } }',
    sluice: () => ({ return: [200, 'server $uri'], locations: { '/': { return: [404] } } }),
    requests: ['/', '/x'],
  },
];

const varCases: DiffCase[] = [
  {
    name: 'variables in return',
    nginx: `server { listen 127.0.0.1:\${PORT}; server_name vars.test alias.test;
      location / { return 200 "uri=$uri args=$args is_args=$is_args ru=$request_uri du=$document_uri qs=$query_string
arg_x=$arg_x arg_Y=$arg_y ha=$http_x_a ua=$http_user_agent host=$host method=$request_method proto=$server_protocol
scheme=$scheme request=$request cookie_c=$cookie_c ra=$remote_addr sp=$server_port sa=$server_addr
ct=$content_type cl=$content_length https=$https\n"; }
    }`,
    sluice: () => ({
      serverName: ['vars.test', 'alias.test'],
      locations: {
        '/': {
          return: [200, 'uri=$uri args=$args is_args=$is_args ru=$request_uri du=$document_uri qs=$query_string\n'
            + 'arg_x=$arg_x arg_Y=$arg_y ha=$http_x_a ua=$http_user_agent host=$host method=$request_method proto=$server_protocol\n'
            + 'scheme=$scheme request=$request cookie_c=$cookie_c ra=$remote_addr sp=$server_port sa=$server_addr\n'
            + 'ct=$content_type cl=$content_length https=$https\n'],
        },
      },
    }),
    requests: [
      '/', '/a/b?x=1&Y=2', '/p%20q/%41?x=%20&x=2', { path: '/h', headers: { 'X-A': 'one', 'User-Agent': 'ua/1', Host: 'ALIAS.test:80' } },
      { path: '/c', headers: { Cookie: 'a=1; c=3; d=4' } }, { method: 'POST', path: '/post', body: 'abc', headers: { 'Content-Type': 'text/x' } },
      { path: '/', version: '1.0' }, { raw: 'GET /raw?y HTTP/1.1\r\nHost: vars.test\r\nX-A: a\r\nX-A: b\r\nConnection: close\r\n\r\n' },
      '/a?', '/a/../b//c',
    ],
    differences: [{ id: 'http-var-joined', request: 7, body: true, headers: ['content-length'] }],
  },
];

const limitCases: DiffCase[] = [
  {
    name: 'clientMaxBodySize: 413 on Content-Length over the limit',
    nginx: `server { listen 127.0.0.1:\${PORT};
      location / { client_max_body_size 10; return 200 "ok"; }
      location /zero { client_max_body_size 0; return 200 "ok"; }
    }`,
    sluice: () => ({
      locations: {
        '/': { clientMaxBodySize: 10, return: [200, 'ok'] },
        '/zero': { clientMaxBodySize: 0, return: [200, 'ok'] },
      },
    }),
    requests: [
      { method: 'POST', path: '/', body: '0123456789', status: 200 },
      { method: 'POST', path: '/', body: '0123456789a', status: 413 },
      { method: 'POST', path: '/zero', body: 'x'.repeat(2000) },
      { method: 'POST', path: '/', headers: { 'Content-Length': '1000000' } },
    ],
  },
  {
    name: 'keep-alive: on one connection',
    nginx: `server { listen 127.0.0.1:\${PORT}; keepalive_requests 3;
      location / { return 200 "ok $uri"; }
      location /close { keepalive_timeout 0; return 200 "closing"; }
    }`,
    sluice: () => ({
      keepaliveRequests: 3,
      locations: { '/': { return: [200, 'ok $uri'] }, '/close': { keepaliveTimeout: 0, return: [200, 'closing'] } },
    }),
    oneConnection: true,
    requests: ['/1', '/2', '/3', '/4', '/close', '/after-close'],
  },
  {
    name: 'keep-alive: HTTP/1.0 and Connection headers',
    nginx: 'server { listen 127.0.0.1:${PORT}; location / { return 200 "ok"; } }',
    sluice: () => ({ locations: { '/': { return: [200, 'ok'] } } }),
    oneConnection: true,
    requests: [
      { path: '/a', version: '1.0', headers: { Connection: 'keep-alive' } },
      { path: '/b', headers: { Connection: 'Keep-Alive, foo' } },
      { path: '/c', version: '1.0' },
    ],
  },
];

diffSuite('core', [...staticCases, ...locationCases, ...serverNameCases, ...returnCases, ...varCases, ...limitCases]);
