// cf. nginx-tests rewrite.t, rewrite_if.t, rewrite_set.t, rewrite_unescape.t, http_try_files.t,
// http_error_page.t, map.t, map_complex.t, map_volatile.t, http_variables.t (captures),
// http_server_name.t (regex captures) — facts taken from them, cases written here: the rewrite
// module, try_files, error_page, map and captures against a real nginx.
import { diffSuite, type DiffCase } from './harness.js';
import { errorLines } from '../helpers.js';

const FILES = {
  'file.txt': 'file\n',
  'dir/index.html': 'dir index\n',
  'app/index.html': 'spa\n',
  '404.html': 'custom 404\n',
  '50x.html': 'custom 50x\n',
  'v2.html': 'v2\n',
  'new/x.txt': 'new x\n',
};

const cases: DiffCase[] = [
  {
    name: 'captures: location regex (numbered, named), server_name regex',
    nginx: `server { listen 127.0.0.1:\${PORT}; server_name localhost ~^(?<sub>\\w+)\\.cap\\.test$;
      location ~ ^/user/(\\d+)/(?<action>\\w+)$ { return 200 "user [$1] does [$action]"; }
      location ~ ^/p/(?P<page>\\w+)$ { return 200 "page $page"; }
      location /sub { return 200 "sub=$sub"; }
    }`,
    sluice: () => ({
      serverName: 'localhost ~^(?<sub>\\w+)\\.cap\\.test$',
      locations: {
        '~ ^/user/(\\d+)/(?<action>\\w+)$': { return: [200, 'user [$1] does [$action]'] },
        '~ ^/p/(?P<page>\\w+)$': { return: [200, 'page $page'] },
        '/sub': { return: [200, 'sub=$sub'] },
      },
    }),
    requests: ['/user/42/edit', '/p/about', { path: '/sub', headers: { Host: 'alice.cap.test' } }, '/sub'],
    ignoreHeaders: ['content-type'],
  },
  {
    name: 'rewrite: last, break, redirect, permanent, args, chains, loop',
    files: FILES,
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT};
      location /old/ { rewrite ^/old/(.*)$ /new/$1 last; }
      location /new/ { return 200 "new uri=$uri args=$args"; }
      location /perm/ { rewrite ^/perm/(.*)$ http://example.com/$1 permanent; }
      location /redir/ { rewrite ^/redir/(.*)$ /elsewhere/$1?a=b redirect; }
      location /keep/ { rewrite ^ /new/keep?n=1 last; }
      location /drop/ { rewrite ^ /new/drop? last; }
      location /only/ { rewrite ^ /new/only?n=2? last; }
      location /brk/ { rewrite ^/brk/(.*)$ /new/$1 break; }
      location /seq/ { rewrite ^/seq/a$ /seq/b; rewrite ^/seq/b$ /new/from-seq; }
      location /loop/ { rewrite ^/loop/(.*)$ /loop/x$1 last; }
      location /nomatch/ { rewrite ^/other /new/x last; return 200 "no match"; }
      location /scheme/ { rewrite ^ $scheme://example.org/x; }
    }`,
    sluice: (env) => ({
      root: env.root,
      locations: {
        '/old/': { rewrite: '^/old/(.*)$ /new/$1 last' },
        '/new/': { return: [200, 'new uri=$uri args=$args'] },
        '/perm/': { rewrite: '^/perm/(.*)$ http://example.com/$1 permanent' },
        '/redir/': { rewrite: '^/redir/(.*)$ /elsewhere/$1?a=b redirect' },
        '/keep/': { rewrite: '^ /new/keep?n=1 last' },
        '/drop/': { rewrite: '^ /new/drop? last' },
        '/only/': { rewrite: '^ /new/only?n=2? last' },
        '/brk/': { rewrite: '^/brk/(.*)$ /new/$1 break' },
        '/seq/': { rewrite: [['^/seq/a$', '/seq/b'], ['^/seq/b$', '/new/from-seq']] },
        '/loop/': { rewrite: '^/loop/(.*)$ /loop/x$1 last' },
        '/nomatch/': { rewrite: '^/other /new/x last', return: [200, 'no match'] },
        '/scheme/': { rewrite: '^ $scheme://example.org/x' },
      },
    }),
    requests: [
      '/old/a/b?z=1', { path: '/perm/x?q=1', status: 301 }, { path: '/redir/y?q=1', status: 302 },
      '/keep/?o=2', '/drop/?o=2', '/only/?o=2', { path: '/brk/x.txt', status: 200 }, '/seq/a',
      { path: '/loop/', status: 500, log: /rewrite or internal redirection cycle while processing "\/loop\/x+"/ },
      '/nomatch/', '/scheme/?k=v',
    ],
    ignoreHeaders: ['content-type'],
  },
  {
    name: 'set and if: conditions, captures, return inside, file tests, the if block as config',
    files: FILES,
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT};
      location /if/ {
        set $x none;
        if ($arg_a = 1) { set $x a; }
        if ($http_x_h ~* ^(Yes)$) { set $x h-$1; }
        if ($arg_b) { return 200 "b is true"; }
        if ($arg_c != "on") { set $x "\${x}-c-off"; }
        if ($arg_d !~ ^\\d+$) { set $x "$x-d-nan"; }
        return 200 "x=$x";
      }
      location /iffile/ { if (!-f $request_filename) { return 404; } return 200 "found"; }
      location /ifdir { if (-d $document_root/dir) { return 200 "is dir"; } return 200 "no dir"; }
      location /ifexists { if (-e $document_root/file.txt) { return 200 "exists"; } return 200 "nothing"; }
      location /ifconf/ {
        add_header X-Outer 1;
        if ($arg_inner) { add_header X-Inner 1; return 200 "inner"; }
        return 200 "outer";
      }
      location /set/ { set $a "v-$arg_q"; set $b "[$a]"; return 200 "$a $b"; }
      location /break/ { set $x 1; break; return 200 "not reached"; }
    }`,
    sluice: (env) => ({
      root: env.root,
      locations: {
        '/if/': {
          set: { $x: 'none' },
          if: [
            ['$arg_a = 1', { set: { $x: 'a' } }],
            ['($http_x_h ~* ^(Yes)$)', { set: { $x: 'h-$1' } }],
            ['$arg_b', { return: [200, 'b is true'] }],
            ['$arg_c != "on"', { set: { $x: '${x}-c-off' } }],
            ['$arg_d !~ ^\\d+$', { set: { $x: '$x-d-nan' } }],
          ],
          return: [200, 'x=$x'],
        },
        '/iffile/': { if: { '!-f $request_filename': { return: [404] } }, return: [200, 'found'] },
        '/ifdir': { if: [['-d $document_root/dir', { return: [200, 'is dir'] }]], return: [200, 'no dir'] },
        '/ifexists': { if: [['-e $document_root/file.txt', { return: [200, 'exists'] }]], return: [200, 'nothing'] },
        '/ifconf/': {
          addHeader: [['X-Outer', '1']],
          if: [['$arg_inner', { addHeader: [['X-Inner', '1']], return: [200, 'inner'] }]],
          return: [200, 'outer'],
        },
        '/set/': { set: { $a: 'v-$arg_q', $b: '[$a]' }, return: [200, '$a $b'] },
        '/break/': { set: { $x: '1' }, break: true, return: [200, 'not reached'] },
      },
    }),
    requests: [
      '/if/', '/if/?a=1&c=on&d=5', { path: '/if/', headers: { 'X-H': 'yes' } }, '/if/?b=1', '/if/?b=0',
      { path: '/iffile/nothing', status: 404 }, '/ifdir', '/ifexists', '/ifconf/', '/ifconf/?inner=1',
      '/set/?q=7',
    ],
    headers: ['x-outer', 'x-inner'],
    ignoreHeaders: ['content-type'],
  },
  {
    name: 'try_files: file, $uri/, fallback URI, =code, named location',
    files: FILES,
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT};
      location / { try_files $uri $uri/ /app/index.html; }
      location /tf-code/ { try_files $uri =418; }
      location /tf-named/ { try_files $uri @fallback; }
      location /tf-args/ { try_files $uri /new/x.txt?from=tf; }
      location @fallback { return 200 "fallback for $uri"; }
    }`,
    sluice: (env) => ({
      root: env.root,
      locations: {
        '/': { tryFiles: '$uri $uri/ /app/index.html' },
        '/tf-code/': { tryFiles: '$uri =418' },
        '/tf-named/': { tryFiles: '$uri @fallback' },
        '/tf-args/': { tryFiles: '$uri /new/x.txt?from=tf' },
        '@fallback': { return: [200, 'fallback for $uri'] },
      },
    }),
    requests: [
      '/file.txt', '/dir', '/dir/', '/deep/link/in/spa', '/app/', { path: '/tf-code/none', status: 418 },
      '/tf-named/none', '/tf-args/none',
    ],
    ignoreHeaders: ['content-type'],
  },
  {
    name: 'error_page: URI, =code, =, named, URL redirects, once, POST becomes GET',
    files: FILES,
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT};
      location /ep/ { error_page 404 /404.html; }
      location /ep-code/ { error_page 404 =200 /v2.html; }
      location /ep-named/ { error_page 403 @fallback; return 403; }
      location /ep-url/ { error_page 404 http://example.com/missing; return 404; }
      location /ep-url301/ { error_page 404 =301 http://example.com/moved; return 404; }
      location /ep-target/ { error_page 500 = /target; return 500; }
      location = /target { return 201 "target said 201"; }
      location /ep-loop/ { error_page 404 /ep-loop/again; return 404; }
      location /ep-multi/ { error_page 500 502 503 504 /50x.html; return 503; }
      location /ep-post/ { error_page 405 /echo-method; return 405; }
      location = /echo-method { return 200 "$request_method"; }
      location @fallback { return 200 "fallback for $uri"; }
    }`,
    sluice: (env) => ({
      root: env.root,
      locations: {
        '/ep/': { errorPage: '404 /404.html' },
        '/ep-code/': { errorPage: [404, '=200', '/v2.html'] },
        '/ep-named/': { errorPage: '403 @fallback', return: [403] },
        '/ep-url/': { errorPage: '404 http://example.com/missing', return: [404] },
        '/ep-url301/': { errorPage: [404, '=301', 'http://example.com/moved'], return: [404] },
        '/ep-target/': { errorPage: '500 = /target', return: [500] },
        '= /target': { return: [201, 'target said 201'] },
        '/ep-loop/': { errorPage: '404 /ep-loop/again', return: [404] },
        '/ep-multi/': { errorPage: '500 502 503 504 /50x.html', return: [503] },
        '/ep-post/': { errorPage: '405 /echo-method', return: [405] },
        '= /echo-method': { return: [200, '$request_method'] },
        '@fallback': { return: [200, 'fallback for $uri'] },
      },
    }),
    requests: [
      { path: '/ep/missing', status: 404 }, { path: '/ep-code/missing', status: 200 }, '/ep-named/',
      { path: '/ep-url/', status: 302 }, { path: '/ep-url301/', status: 301 }, { path: '/ep-target/', status: 201 },
      { path: '/ep-loop/', status: 404 }, { path: '/ep-multi/', status: 503 },
      { method: 'POST', path: '/ep-post/', body: 'abc', status: 405 }, { method: 'HEAD', path: '/ep/missing' },
    ],
    ignoreHeaders: ['content-type'],
  },
  {
    name: 'map: exact (case-insensitive), regex with captures, default, hostnames, values with variables',
    nginx: `
      map $http_user_agent $mobile { default 0; "~*iphone|android" 1; "exactly this" exact; }
      map $http_host $host_kind { hostnames; default other; *.example.com wild; example.com bare; www.example.* tail; }
      map $http_user_agent $mver { default -; "~^v(?<major>\\d+)\\.(\\d+)" "$major-$2"; }
      map $arg_k $fromvar { default "d-$uri"; one "one-$arg_z"; }
      map $uri $nodefault { /x hit; }
      server { listen 127.0.0.1:\${PORT};
        location / { return 200 "mobile=$mobile host=$host_kind v=$mver f=$fromvar n=[$nodefault]"; }
      }`,
    sluice: (env) => ({
      map: {
        '$http_user_agent $mobile': { default: '0', '~*iphone|android': '1', 'exactly this': 'exact' },
        '$http_host $host_kind': { hostnames: true, default: 'other', '*.example.com': 'wild', 'example.com': 'bare', 'www.example.*': 'tail' },
        '$http_user_agent $mver': { default: '-', '~^v(?<major>\\d+)\\.(\\d+)': '$major-$2' },
        '$arg_k $fromvar': { default: 'd-$uri', one: 'one-$arg_z' },
        '$uri $nodefault': { '/x': 'hit' },
      },
      servers: [{ listen: '127.0.0.1:' + env.port, locations: { '/': { return: [200, 'mobile=$mobile host=$host_kind v=$mver f=$fromvar n=[$nodefault]'] } } }],
    }),
    requests: [
      { path: '/', headers: { 'User-Agent': 'Mozilla iPhone' } }, { path: '/', headers: { 'User-Agent': 'EXACTLY this' } },
      '/', { path: '/', headers: { Host: 'a.example.com' } }, { path: '/', headers: { Host: 'example.com' } },
      { path: '/', headers: { Host: 'www.example.org' } }, { path: '/', headers: { 'User-Agent': 'v12.3 agent' } },
      '/x?k=one&z=zz', '/y?k=ONE',
    ],
    ignoreHeaders: ['content-type'],
  },
  {
    name: 'index with variables; log_not_found off',
    files: FILES,
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT};
      location /dir/ { index $arg_i index.html; }
      location /quiet/ { log_not_found off; }
    }`,
    sluice: (env) => ({ root: env.root, locations: { '/dir/': { index: '$arg_i index.html' }, '/quiet/': { logNotFound: false } } }),
    requests: ['/dir/', '/dir/?i=nothing.html', { path: '/quiet/none', status: 404 }],
  },
];

cases.push(
  {
    name: 'a rewrite list with steps: if, set, if, rule, in the order written',
    nginx: `server { listen 127.0.0.1:\${PORT};
      location /steps/ {
        if ($arg_a) { set $x a; }
        set $x "\${x}-set";
        if ($x = a-set) { return 200 "both: $x"; }
        rewrite ^/steps/(.*)$ /new/$1 last;
      }
      location /new/ { return 200 "new $uri x=$x"; }
    }`,
    sluice: () => ({
      locations: {
        '/steps/': {
          rewrite: [
            { if: [['$arg_a', { set: { $x: 'a' } }]] },
            { set: { $x: '${x}-set' } },
            { if: [['$x = a-set', { return: [200, 'both: $x'] }]] },
            '^/steps/(.*)$ /new/$1 last',
          ],
        },
        '/new/': { return: [200, 'new $uri x=$x'] },
      },
    }),
    requests: ['/steps/?a=1', '/steps/z'],
    ignoreHeaders: ['content-type'],
  },
  {
    name: 'server level: rewrite, if, set and return run before the location is found',
    nginx: `server { listen 127.0.0.1:\${PORT};
      set $who server;
      if ($arg_deny) { return 403; }
      rewrite ^/legacy/(.*)$ /modern/$1;
      location /modern/ { return 200 "modern $uri from $who"; }
      location / { return 200 "plain $uri"; }
    }`,
    sluice: () => ({
      set: { $who: 'server' },
      if: [['$arg_deny', { return: [403] }]],
      rewrite: '^/legacy/(.*)$ /modern/$1',
      locations: {
        '/modern/': { return: [200, 'modern $uri from $who'] },
        '/': { return: [200, 'plain $uri'] },
      },
    }),
    requests: ['/legacy/a', '/other', { path: '/x?deny=1', status: 403 }],
    ignoreHeaders: ['content-type'],
  },
  {
    name: 'recursive_error_pages, and rewrite_log lines',
    files: FILES,
    nginx: `server { listen 127.0.0.1:\${PORT}; root \${ROOT};
      location /rec/ { recursive_error_pages on; error_page 404 /rec/403; error_page 403 /404.html; if ($uri = /rec/403) { return 403; } return 404; }
      location /norec/ { error_page 404 /norec/403; error_page 403 /404.html; if ($uri = /norec/403) { return 403; } return 404; }
      location /logged/ { rewrite_log on; rewrite ^/logged/(.*)$ /new/$1 last; }
      location /new/ { return 200 "new"; }
    }`,
    sluice: (env) => ({
      root: env.root,
      locations: {
        '/rec/': { recursiveErrorPages: true, errorPage: ['404 /rec/403', '403 /404.html'], if: [['$uri = /rec/403', { return: [403] }]], return: [404] },
        '/norec/': { errorPage: ['404 /norec/403', '403 /404.html'], if: [['$uri = /norec/403', { return: [403] }]], return: [404] },
        // the harness's nginx logs from info up; rewrite_log writes at notice
        '/logged/': { rewriteLog: true, errorLog: [errorLines, 'info'], rewrite: '^/logged/(.*)$ /new/$1 last' },
        '/new/': { return: [200, 'new'] },
      },
    }),
    requests: [
      { path: '/rec/x', status: 403 }, { path: '/norec/x', status: 403 },
      { path: '/logged/a', status: 200, log: /\[notice\].*"\^\/logged\/\(\.\*\)\$" matches "\/logged\/a"/ },
    ],
    ignoreHeaders: ['content-type'],
  },
);

diffSuite('rewrite', cases);
