// The nginx (+ lua) servers of the load benches, written once: the body of nginx's http block for
// each. bench:nginx's scenarios (scenarios.ts) take them from here, and bench/load/*.sh print them
// with `node dist/bench/nginx/confs.js NAME ARGS...` (lib.sh's nginx_site) into lib.sh's nginx_conf.
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The open file cache of the cached static scenario, on both sides (nginx's syntax is sluice's). */
export const OPEN_FILE_CACHE = 'max=1000 inactive=20s';

const listen = (port: number, ssl = ''): string => `listen 127.0.0.1:${port}${ssl};`;

/** Keep-alive hello: `ngx.say("hello")` on `/`. */
export function helloConf(port: number): string {
  return `server {
    ${listen(port)}
    location = / { content_by_lua_block { ngx.say("hello") } }
  }`;
}

/** Subrequests: `/direct` prints "hello\n" itself (the baseline), `/capture` one capture, `/multi` three. */
export function subrequestConf(port: number): string {
  return `server {
    ${listen(port)}
    location = /direct { content_by_lua_block { ngx.print("hello\\n") } }
    location = /capture {
      content_by_lua_block {
        local res = ngx.location.capture("/sub")
        ngx.print(res.body)
      }
    }
    location = /multi {
      content_by_lua_block {
        local a, b, c = ngx.location.capture_multi({ { "/sub" }, { "/sub2" }, { "/sub3" } })
        ngx.print(a.body, b.body, c.body)
      }
    }
    location = /sub { internal; return 200 "hello\\n"; }
    location = /sub2 { internal; return 200 "hello\\n"; }
    location = /sub3 { internal; return 200 "hello\\n"; }
  }`;
}

// the md5 backend of examples/md5/backend.ts: md5(body .. salt), a chunked response
function md5Backend(upstreamPort: number): string {
  return `server {
    ${listen(upstreamPort)}
    location / {
      lua_need_request_body on;
      content_by_lua_block {
        ngx.print(ngx.md5((ngx.req.get_body_data() or "") .. "sluice-salt"))
      }
    }
  }`;
}

/** md5, capture form: a capture of an internal proxy_pass location (keepalive 20), and the backend. */
export function md5CaptureConf(port: number, upstreamPort: number): string {
  return `upstream md5_server {
    server 127.0.0.1:${upstreamPort};
    keepalive 20;
  }

  server {
    ${listen(port)}
    location = /test {
      lua_need_request_body on;
      content_by_lua_block {
        local args = ngx.req.get_uri_args()
        local res = ngx.location.capture("/spe_md5", { method = ngx.HTTP_POST, body = args.data })
        if args.key == res.body then ngx.say("valid request") else ngx.say("invalid request") end
      }
    }
    location = /spe_md5 {
      internal;
      proxy_pass http://md5_server;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }

  ${md5Backend(upstreamPort)}`;
}

/** md5, client form: bench/load/md5_cosocket.lua (ngx.socket.tcp, pool 20) of the repository `root`, and the backend. */
export function md5CosocketConf(port: number, upstreamPort: number, root: string): string {
  return `lua_package_path "${root}/bench/load/?.lua;;";

  server {
    ${listen(port)}
    location = /test { lua_need_request_body on; content_by_lua_block { require("md5_cosocket").handle(${upstreamPort}) } }
  }

  ${md5Backend(upstreamPort)}`;
}

/** Static files from `www`; `openFileCache`: open_file_cache's arguments (none: no cache). */
export function staticConf(port: number, www: string, openFileCache?: string): string {
  return `sendfile on;
  tcp_nopush on;${openFileCache === undefined ? '' : `
  open_file_cache ${openFileCache};`}

  server {
    ${listen(port)}
    location / { root ${www}; }
  }`;
}

/**
 * A pass-through proxy to the upstream `backend` (keepalive 20); `bigBuffers`: buffers the size of
 * Node's 64 KiB socket reads, as one would set for large responses.
 */
export function proxyConf(port: number, backendPort: number, bigBuffers: boolean): string {
  const big = bigBuffers ? `
      proxy_buffer_size 64k;
      proxy_buffers 8 64k;
      proxy_busy_buffers_size 128k;` : '';
  return `upstream backend {
    server 127.0.0.1:${backendPort};
    keepalive 20;
  }

  server {
    ${listen(port)}
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";${big}
    }
  }`;
}

/** TLS keep-alive hello: `ngx.say("hello")` over `listen ... ssl`, session tickets on or off. */
export function tlsHelloConf(port: number, cert: string, key: string, protocols: string, tickets: 'on' | 'off'): string {
  return `server {
    ${listen(port, ' ssl')}
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols ${protocols};
    ssl_session_tickets ${tickets};
    location = / { content_by_lua_block { ngx.say("hello") } }
  }`;
}

function port(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`confs.js: "${s}" is no port`);
  return n;
}

// the shell scripts' names for the confs, with their arguments as given on the command line
const BY_NAME: Record<string, { args: string; conf: (a: string[]) => string }> = {
  hello: { args: 'PORT', conf: (a) => helloConf(port(a[0])) },
  subrequest: { args: 'PORT', conf: (a) => subrequestConf(port(a[0])) },
  'md5-capture': { args: 'PORT UPSTREAM_PORT', conf: (a) => md5CaptureConf(port(a[0]), port(a[1])) },
  'md5-cosocket': { args: 'PORT UPSTREAM_PORT', conf: (a) => md5CosocketConf(port(a[0]), port(a[1]), ROOT) },
  static: { args: 'PORT WWW', conf: (a) => staticConf(port(a[0]), a[1]) },
  'static-cache': { args: 'PORT WWW', conf: (a) => staticConf(port(a[0]), a[1], OPEN_FILE_CACHE) },
  proxy: { args: 'PORT BACKEND_PORT', conf: (a) => proxyConf(port(a[0]), port(a[1]), false) },
  'proxy-64k': { args: 'PORT BACKEND_PORT', conf: (a) => proxyConf(port(a[0]), port(a[1]), true) },
};

function main(argv: string[]): void {
  const [name, ...args] = argv;
  const c = BY_NAME[name ?? ''];
  const want = c === undefined ? 0 : c.args.split(' ').length;
  if (c === undefined || args.length !== want || args.some((x) => x === '')) {
    const usage = Object.entries(BY_NAME).map(([n, x]) => `  ${n} ${x.args}`).join('\n');
    process.stderr.write(`usage: node dist/bench/nginx/confs.js NAME ARGS...\n${usage}\n`);
    process.exit(2);
  }
  process.stdout.write(`  ${c.conf(args)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
