// cf. nginx-tests' lib/Test/Nginx.pm — the differential harness: the same raw requests to a real
// nginx and to sluice, responses compared (status, named headers, body).
//
// How to write a case file (test/diff/NAME.test.ts):
//
//   import { diffSuite } from './harness.js';
//   diffSuite('static', [{
//     name: 'a file',
//     files: { 'a.txt': 'hello\n' },
//     nginx: 'server { listen 127.0.0.1:${PORT}; root ${ROOT}; }',
//     sluice: (env) => ({ root: env.root }),           // one server; listen defaults to env.port
//     requests: ['/a.txt', { method: 'HEAD', path: '/a.txt' }, { path: '/nope', status: 404 }],
//   }]);
//
// One nginx runs per diffSuite (all cases' server blocks, each case on its own port) and one
// sluice per case. `nginx` is the inside of `http { }`, with ${PORT} (the case's nginx port),
// ${ROOT} (the case's docroot holding `files`), ${UP1}/${UP2} (echo upstreams, see upstream()),
// ${PREFIX}. `sluice(env)` returns a SluiceConfig, one ServerConfig or a list of them (a server
// without `listen` gets 127.0.0.1:env.port). Both sides read the same files, so Last-Modified and
// ETag must agree.
//
// A request is a path ('/a?b=c': GET, Host: localhost, Connection: close) or a DiffRequest:
// method, path, headers, body, or raw bytes. Each is sent on a fresh connection unless the case
// says `oneConnection: true` (then all go on one keep-alive connection, in order).
//
// Compared: the status, the body, and the headers in DEFAULT_HEADERS plus the case's `headers`
// (absent on both sides is equal). Never compared: Date, Server. Normalised on both sides:
//   - each side's own port reads as "PORT" in headers and bodies (a redirect names its port),
//     where it stands alone (a body of digits may hold the port's digits);
//   - error pages: nginx's (`<center>nginx</center>`) and sluice's (`<p>sluice</p>`) become
//     "[error page: TITLE]": titles compared, not markup (DOCUMENTED_DIFFERENCES
//     'error-page-markup'); a HEAD's error page is known by its Content-Length;
//   - a gzip body is compared unzipped (zlib's bytes depend on its settings);
//   - a multipart/byteranges boundary reads as "BOUNDARY" (in Content-Type and body);
//   - an Expires within a year of Date reads as "Date+3600s" (the sides answer in different
//     seconds); files get FILE_MTIME (or the case's `mtime`), so Last-Modified and ETag are fixed;
//   - Content-Length is shifted by what the body's normalisation added or removed.
// Then the case's own `normalize(body, side)`.
//
// A deliberate difference is named in DOCUMENTED_DIFFERENCES and claimed by a case:
//   differences: [{ id: 'large-header-431', request: 0, status: true, body: true }]
// The claimed parts of that request are not compared — but they must differ: a claimed
// difference that no longer shows fails the case (so the list stays true).
// A DiffRequest's `before(root)` runs once before it goes to either side (a file changed on disk
// between requests: both sides then see the same disk).
// A request that switches protocols: `tunnel: { send, until }` in a DiffRequest. After a 101
// head, `send` goes on the same connection and what comes back past the head, up to and with the
// first `until`, is that response's body (compared as any body); a response other than 101 is
// read as usual. The echo upstreams answer a request with an Upgrade header to a path containing
// /upgrade with a 101 (Upgrade as asked, "Connection: Upgrade", X-Upstream) and then, as the
// tunnel's first bytes, one JSON line of the request line and headers they got; then they echo
// every byte. A path with /upgrade but no Upgrade header gets the usual 200 (a refusal).
// `status` in a DiffRequest is checked on both sides (guards against both being wrong the same
// way, say both 404 because a case's config is off). `log` checks both error logs.
//
// Access logs: a case with `accessLog: true` gets a log file for each side, ${ACCESS_LOG} in its
// nginx text (write `access_log ${ACCESS_LOG};` where it wants one) and env.accessLog for sluice
// (`accessLog: env.accessLog`); after each request (or the oneConnection group) the lines each
// side added are compared byte for byte, once both have as many as the requests sent (bounded
// wait; sluice's flushed with flushLogs()). Normalised, and nothing else: each side's own port
// ("PORT") and the times ($time_local, $time_iso8601 and $msec read TIME_LOCAL, TIME_ISO, MSEC).
// A claim with `accessLog: true` skips that comparison (and must differ). A DiffRequest with
// `abort: true` is sent, then the client half-closes and waits for the server's close, with no
// response (a proxied /hang never gets an answer from the echo upstreams: nginx's 499).
//
// TLS: a DiffRequest with `tls: { servername?, cert?, key?, ca?, minVersion?, maxVersion?,
// ciphers?, resume? }` goes over TLS to both sides (no servername: no SNI; cert/key: a client certificate,
// a test certificate's name as in test/tls-certs.ts (key then defaults to its key) or a file; ca:
// what the client checks the server's certificate against, default the test CA, never enforced;
// resume: offer the session of this side's previous TLS request). The certificates are made once
// per run (test/tls-certs.ts) when a suite has a TLS request or ${CERTS} in its nginx text:
// ${CERTS}/NAME.crt and NAME.key in nginx's text, env.certs for sluice (the same files). For a
// TLS request the pseudo-header "tls-certificate" is compared: the CN of the certificate the
// server presented, its key (RSA-2048, EC-prime256v1), then "verified" or the client's verify
// error code (against `ca`); "(resumed)" for a resumed session (no certificate is sent). A handshake
// that fails is a note ("TLS handshake failed: CODE"), compared as any note.
// `closes: true` on a DiffRequest: it goes keep-alive (no Connection: close added) and, after
// its response, a plain GET / goes on the same connection; the pseudo-header "connection-after"
// is then "closed" (the server closed instead of answering) or "open", compared on both sides.
//
// No nginx: the suite fails, unless SLUICE_NO_NGINX=1 (then it is skipped with a note).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { suite } from 'uvu';
import { startServer, type SluiceServer } from '../../src/http/server.js';
import type { ServerConfig, SluiceConfig } from '../../src/http/conf/config.js';
import { DEADLINE_MS, RawClient, errorLines, parseResponses, timed, type ParsedResponse } from '../helpers.js';
import { testCerts, type TestCerts } from '../tls-certs.js';

/* the documented differences */

/**
 * Every deliberate difference between sluice and nginx that a differential case may claim, with
 * its reason: 'deliberate' (a choice) or 'not yet' (a gap found by a case, for the code's owner to
 * decide). docs/differences.md lists the same (a test checks they agree).
 */
export const DOCUMENTED_DIFFERENCES = {
  // deliberate: sluice chose otherwise (each is in its directive's `differs` too, where it has one)
  'error-page-markup': deliberate('Error pages: sluice\'s small HTML page is its own markup ("<!DOCTYPE html>", <h1>, "<p>sluice</p>"), not nginx\'s <center> page; the harness compares their titles only.'),
  'server-tokens-off': deliberate('serverTokens is off by default: the Server header is just "Server: sluice" (nginx: "nginx/1.22.1"). The harness never compares Server.'),
  'proxy-http-version-1.1': deliberate('proxyHttpVersion is 1.1 by default, so an upstream\'s keepalive works without more lines (nginx: 1.0, with "Connection: close").'),
  'large-header-431': deliberate('A header line or head over largeClientHeaderBuffers gets 431 Request Header Fields Too Large (nginx: 400 Bad Request).'),
  'return-code-range': deliberate('return takes codes 200..599, 444 and 499 only (nginx sends 0..999 as given).'),
  'logs-default': deliberate('errorLog is stderr and accessLog is off by default (nginx: logs/error.log and logs/access.log, under its prefix); the format, when on, is nginx\'s combined, byte for byte.'),
  'worker-connections-count': deliberate('workerConnections counts client connections only (nginx also counts listening and upstream ones).'),
  'htpasswd-crypt-schemes': deliberate('authBasicUserFile: hashes of libc crypt() schemes node:crypto cannot make (DES, bcrypt, yescrypt) answer 500 with a crit line; nginx verifies them through crypt(). {PLAIN}, {SHA}, {SSHA}, $apr1$, $1$, $5$, $6$ are verified as nginx does.'),
  'keepalive-surplus-turn': deliberate('keepalive N (upstream groups, and the HttpClient\'s pool): a connection put back into a full cache is kept until the event loop\'s next turn has passed, and only the least recently used surplus still over N then is closed; nginx closes one at once. sluice writes each turn\'s responses at its end, so a turn\'s upstream responses all come back before the next turn\'s requests go out, and closing the surplus at once opened as many fresh connections a turn later (md5 scenario, keepalive 20 under 50 clients: 8.6% of requests on a fresh connection against nginx\'s 2.2%; with the wait, 2%). The requests and responses are the same.'),
  // not yet: found by the differential cases, for the owner of the code to decide
  'http-var-joined': deliberate('$http_NAME of a repeated header: sluice joins the values with ", " (as nginx 1.23 and later do); nginx 1.22 gives the first.'),
  'proxy-connection-header': deliberate('proxyPass: a client\'s Proxy-Connection header is passed upstream by nginx; sluice drops it with the other connection-specific fields (RFC 9110 §7.6.1 names Proxy-Connection among them): it is about the client\'s hop, not the upstream\'s.'),
  'lua-empty-content': deliberate('A content handler that writes nothing: nginx + lua sends an empty chunked body; sluice has the whole (empty) body when the handler returns, so it frames it with Content-Length: 0 (the same body, a shorter frame).'),
  'proxy-ssl-session-per-location': deliberate('proxyPass https://: a TLS session is kept per location (its proxySsl* context) and peer, and offered only to connections of that context and name; nginx keeps one per upstream peer, shared by every location that proxies to it. Node gives no peer certificate for a resumed session, so a session made under other settings could not be checked again.'),
  'upgrade-101-content-length': deliberate('proxyPass: an upstream\'s 101 goes to the client without its Content-Length (RFC 9110 §8.6: none in a 1xx; sluice\'s header filter never writes one on a 101); nginx passes it on.'),
  'lua-http10-buffering': deliberate('A content handler answering HTTP/1.0: nginx + lua buffers the output and sends Content-Length (lua_http10_buffering on); sluice streams it and ends it by closing (HTTP/1.0 framing), rather than holding a whole response in memory to count it.'),
  'ssl-tls13-session-cache': deliberate('sslSessionTickets off with an sslSessionCache: TLSv1.3 sessions are not resumed (a full handshake), TLSv1.2 ones are; nginx resumes both (OpenSSL\'s stateful TLSv1.3 tickets). Node\'s session cache events see the ClientHello\'s legacy session id only, not the TLSv1.3 PSK identity, and sluice does not turn stateless tickets back on for TLSv1.3 when they were asked off.'),
  'ssl-protocols-default': deliberate('sslProtocols is "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3" by default, as in nginx 1.23.4 and later; nginx 1.22 leaves TLSv1.3 out unless ssl_protocols names it.'),
} as const;

function deliberate(reason: string): { kind: 'deliberate'; reason: string } {
  return { kind: 'deliberate', reason };
}

function notYet(reason: string): { kind: 'not yet'; reason: string } {
  return { kind: 'not yet', reason };
}

export type DifferenceId = keyof typeof DOCUMENTED_DIFFERENCES;

/* the case API */

export interface DiffEnv {
  /** The port this side listens on (sluice: its own; nginx's is ${PORT}). */
  port: number;
  /** The case's docroot, holding `files` (the same directory for both sides). */
  root: string;
  /** The echo upstreams' ports (0 unless the case sets `upstreams`). */
  up1: number;
  up2: number;
  /** The suite's temp directory. */
  prefix: string;
  /** This side's access log file (cases with accessLog: true; '' otherwise). */
  accessLog: string;
  /** The test certificates' directory (NAME.crt, NAME.key; ca.crt), when the suite uses TLS; else ''. */
  certs: string;
}

/** A request over TLS (see the top of this file). */
export interface DiffTls {
  /** SNI (none when absent). */
  servername?: string;
  /** A client certificate: a test certificate's name (client, expired-client, rogue-client ...) or a file. */
  cert?: string;
  /** Its key (default: the named test certificate's key). */
  key?: string;
  /** What the presented certificate is checked against (default: the test CA); reported, not enforced. */
  ca?: string;
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** The client's cipher list (OpenSSL's names), for TLSv1.2 and below. */
  ciphers?: string;
  /** Offer the session of this side's previous TLS request (resumption). */
  resume?: boolean;
}

export interface DiffRequest {
  /** A label for messages (default: the request line). */
  name?: string;
  method?: string;
  /** The request-target (default '/'). */
  path?: string;
  /** Added after Host (unless given here) and before Connection: close (unless given here). */
  headers?: Record<string, string> | [string, string][];
  body?: string | Buffer;
  /** Exact bytes to send instead (then nothing is added; the response ends at the close or after one response). */
  raw?: string | Buffer;
  /** HTTP version of a built request: '1.1' (default) or '1.0'. */
  version?: '1.0' | '1.1';
  /** Expected status, on both sides. */
  status?: number;
  /** A line both error logs must get while this request runs. */
  log?: RegExp;
  /** Send, half-close, wait for the server's close; no response (the client gave up: 499). */
  abort?: boolean;
  /** After a 101: send these bytes and take what comes back, up to and with `until`, as the body. */
  tunnel?: { send: string | Buffer; until: string };
  /** Over TLS to both sides (see the top of this file). */
  tls?: DiffTls;
  /** Keep-alive, then see whether the server keeps the connection ("connection-after": closed or open). */
  closes?: boolean;
  /**
   * Run once before this request goes to either side, with the case's docroot (change a file on
   * disk between requests). In a oneConnection case every request's `before` runs before the group.
   */
  before?: (root: string) => void;
}

export interface ClaimedDifference {
  id: DifferenceId;
  /** Which requests (index in `requests`); default: all. */
  request?: number | number[];
  status?: boolean;
  body?: boolean;
  /** Header names (lower case) not compared. */
  headers?: string[];
  /** The access log lines not compared. */
  accessLog?: boolean;
}

export interface DiffCase {
  name: string;
  /** The inside of nginx's `http { }`. */
  nginx: string;
  /** sluice's config for the same. */
  sluice: (env: DiffEnv) => SluiceConfig | SluiceServerInput | SluiceServerInput[];
  /** Created under ROOT (paths relative to it; folders made as needed). */
  files?: Record<string, string | Buffer>;
  /** The files' modification time (default FILE_MTIME), so Last-Modified and ETag are fixed. */
  mtime?: Date;
  requests: (string | DiffRequest)[];
  /** Response headers compared besides DEFAULT_HEADERS. */
  headers?: string[];
  /** Headers of DEFAULT_HEADERS not compared in this case. */
  ignoreHeaders?: string[];
  /** All requests on one keep-alive connection, in order. */
  oneConnection?: boolean;
  /** Start the echo upstreams ${UP1} and ${UP2}. */
  upstreams?: boolean;
  /** A rewrite of both bodies before they are compared (after the port and error-page ones). */
  normalize?: (body: string, side: 'nginx' | 'sluice') => string;
  differences?: ClaimedDifference[];
  /** Compare the access log lines of both sides (see the top of this file). */
  accessLog?: boolean;
  /** Run only this case (while writing it). */
  only?: boolean;
}

/** A server block for sluice, with `listen` optional (default 127.0.0.1:env.port). */
export type SluiceServerInput = Omit<ServerConfig, 'listen'> & { listen?: ServerConfig['listen'] };

/** The files' modification time unless a case says otherwise: Tue, 14 Nov 2023 22:13:20 GMT. */
export const FILE_MTIME = new Date(1700000000 * 1000);

/** Compared unless a case ignores them. */
export const DEFAULT_HEADERS = [
  'content-type', 'content-length', 'location', 'transfer-encoding', 'content-encoding', 'content-range',
  'accept-ranges', 'last-modified', 'etag', 'vary', 'expires', 'cache-control', 'connection',
  // the harness's own (see the top of this file): absent unless a request is over TLS or `closes`
  'tls-certificate', 'connection-after',
];

/* nginx */

const NGINX_BIN = process.env.SLUICE_NGINX ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx');
const LUA_MODULES = ['/usr/share/nginx/modules/ndk_http_module.so', '/usr/share/nginx/modules/ngx_http_lua_module.so'];

/** Why the diff suites cannot run here, or null. */
function missing(): string | null {
  if (process.env.SLUICE_NGINX !== undefined && !existsSync(NGINX_BIN)) return `SLUICE_NGINX=${NGINX_BIN}: no such file`;
  if (NGINX_BIN === 'nginx' && !onPath('nginx')) return 'nginx is not installed (apt-get install nginx libnginx-mod-http-lua)';
  for (const m of LUA_MODULES) if (!existsSync(m)) return `${m} is missing (apt-get install libnginx-mod-http-lua)`;
  return null;
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, bin)));
}

/** Every nginx this process started and has not seen exit: killed when the process exits. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) if (p.pid !== undefined) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
});

/** A real nginx in its own prefix, in the foreground, one process (master_process off). */
export class Nginx {
  readonly prefix: string;
  readonly errorLog: string;
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stderr = '';

  constructor(prefix: string) {
    this.prefix = prefix;
    this.errorLog = join(prefix, 'logs', 'error.log');
    mkdirSync(join(prefix, 'logs'), { recursive: true });
    mkdirSync(join(prefix, 'tmp'), { recursive: true });
  }

  /** The whole nginx.conf around `http` (the inside of http { }). */
  conf(http: string): string {
    const p = this.prefix;
    return [
      ...LUA_MODULES.map((m) => `load_module ${m};`),
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${p}/nginx.pid;`,
      `error_log ${this.errorLog} info;`,
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      '  server_tokens off;',
      // Debian compiles absolute temp paths under /var/lib/nginx: keep everything in the prefix
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${p}/tmp/${t};`),
      `  include /etc/nginx/mime.types;`,
      http,
      '}',
      '',
    ].join('\n');
  }

  /** Write the config, start nginx, wait until every port accepts (bounded). */
  async start(http: string, ports: number[]): Promise<void> {
    const confPath = join(this.prefix, 'nginx.conf');
    writeFileSync(confPath, this.conf(http));
    const p = spawn(NGINX_BIN, ['-p', this.prefix, '-c', confPath, '-e', this.errorLog], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = p;
    running.add(p);
    let gone = false;
    this.exited = new Promise<void>((resolve) => p.once('exit', () => { gone = true; running.delete(p); resolve(); }));
    p.once('error', (e) => { this.stderr += String(e); gone = true; running.delete(p); });
    p.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    const deadline = Date.now() + DEADLINE_MS;
    for (const port of ports) {
      for (;;) {
        if (gone) throw new Error(`nginx exited at start:\n${this.startError()}`);
        if (await accepts(port)) break;
        if (Date.now() > deadline) throw new Error(`nginx did not accept on port ${port} within ${DEADLINE_MS} ms:\n${this.startError()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** What nginx said, with the config line it names. */
  startError(): string {
    const log = this.stderr + (existsSync(this.errorLog) ? readFileSync(this.errorLog, 'utf8') : '');
    const m = /nginx\.conf:(\d+)/.exec(log);
    let at = '';
    if (m !== null) {
      const lines = readFileSync(join(this.prefix, 'nginx.conf'), 'utf8').split('\n');
      const n = Number(m[1]);
      at = `\nnginx.conf around line ${n}:\n` + lines.slice(Math.max(0, n - 4), n + 2).map((l, i) => `${Math.max(0, n - 4) + i + 1}: ${l}`).join('\n');
    }
    return log.split('\n').filter((l) => /emerg|alert|crit|error|nginx:/.test(l)).join('\n') + at;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `ms`. */
  async stop(ms = 3000): Promise<void> {
    const p = this.proc;
    if (p === null || p.pid === undefined) return;
    this.proc = null;
    if (!running.has(p)) return;
    p.kill('SIGTERM');
    const t = setTimeout(() => { if (running.has(p)) p.kill('SIGKILL'); }, ms);
    await this.exited;
    clearTimeout(t);
  }

  /** Bytes of the error log so far (to read what a request adds). */
  logSize(): number {
    try { return statSync(this.errorLog).size; } catch { return 0; }
  }

  logSince(offset: number): string {
    const size = this.logSize();
    if (size <= offset) return '';
    const fd = openSync(this.errorLog, 'r');
    try {
      const b = Buffer.alloc(size - offset);
      readSync(fd, b, 0, b.length, offset);
      return b.toString('utf8');
    } finally {
      closeSync(fd);
    }
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

/** `n` distinct free ports from the OS (all held open together, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(0, '127.0.0.1', () => resolve()); });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/* the echo upstreams */

export interface EchoUpstream {
  port: number;
  close(): Promise<void>;
}

/**
 * A tiny upstream over node:net: reads one request (head, then a Content-Length or chunked
 * body) and answers 200 with JSON { name, request, headers: [[name, value], ...] as sent, body },
 * then closes. A path containing /status/NNN is answered with that status (and, for 3xx,
 * "Location: http://127.0.0.1:PORT/<path up to status/NNN>redirected"). Raw header lines, in order
 * and case as sent, so
 * proxy cases compare exactly what each proxy puts on the wire.
 */
export async function upstream(name: string, port = 0): Promise<EchoUpstream> {
  const sockets = new Set<Socket>();
  const srv = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      // /hang: never answered (the client or the proxy gives up first)
      if (/^\S+ \S*\/hang/.test(buf.toString('latin1', 0, 200))) return;
      const body = requestBody(buf);
      if (body === null) return;
      const he = buf.indexOf('\r\n\r\n');
      const lines = buf.toString('latin1', 0, he).split('\r\n');
      const headers = lines.slice(1).map((l) => { const i = l.indexOf(':'); return [l.slice(0, i), l.slice(i + 1).trim()]; });
      const upgrade = headers.find(([k]) => k.toLowerCase() === 'upgrade');
      if (upgrade !== undefined && /\/upgrade/.test(lines[0])) {
        // switch: the head we got as the first bytes, then an echo of everything
        const rest = buf.subarray(he + 4);
        s.removeAllListeners('data');
        s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${upgrade[1]}\r\nConnection: Upgrade\r\nContent-Length: 0\r\nX-Upstream: ${name}\r\n\r\n`
          + JSON.stringify({ name, request: lines[0], headers }) + '\n');
        if (rest.length > 0) s.write(rest);
        s.on('data', (x: Buffer) => s.write(x));
        return;
      }
      const out = JSON.stringify({ name, request: lines[0], headers, body: body.toString('latin1') }) + '\n';
      const m = /\/status\/(\d{3})/.exec(lines[0]);
      const status = m === null ? 200 : Number(m[1]);
      const path = lines[0].split(' ')[1] ?? '/';
      const to = path.replace(/status\/\d{3}.*/, 'redirected');
      const loc = status >= 300 && status < 400 ? `Location: http://127.0.0.1:${(srv.address() as { port: number }).port}${to}\r\n` : '';
      s.end(`HTTP/1.1 ${status} Echo\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(out)}\r\n${loc}X-Upstream: ${name}\r\nConnection: close\r\n\r\n${out}`);
      buf = Buffer.alloc(0);
    });
  });
  await new Promise<void>((resolve, reject) => { srv.once('error', reject); srv.listen(port, '127.0.0.1', () => resolve()); });
  return {
    port: (srv.address() as { port: number }).port,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()); }),
  };
}

/** The request's body once it is all in buf, else null. */
function requestBody(buf: Buffer): Buffer | null {
  const he = buf.indexOf('\r\n\r\n');
  if (he < 0) return null;
  const head = buf.toString('latin1', 0, he).toLowerCase();
  const start = he + 4;
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) {
    const parts: Buffer[] = [];
    let p = start;
    for (;;) {
      const le = buf.indexOf('\r\n', p);
      if (le < 0) return null;
      const size = parseInt(buf.toString('latin1', p, le), 16);
      if (size === 0) return buf.indexOf('\r\n\r\n', le) < 0 ? null : Buffer.concat(parts);
      if (le + 2 + size + 2 > buf.length) return null;
      parts.push(buf.subarray(le + 2, le + 2 + size));
      p = le + 2 + size + 2;
    }
  }
  const n = cl === null ? 0 : Number(cl[1]);
  return buf.length >= start + n ? buf.subarray(start, start + n) : null;
}

/* requests and responses */

/** The bytes of a request, and whether its response has no body (HEAD). */
export function requestBytes(q: string | DiffRequest, keepAlive = false): { bytes: Buffer; head: boolean; label: string } {
  const r: DiffRequest = typeof q === 'string' ? { path: q } : q;
  if (r.raw !== undefined) {
    const bytes = typeof r.raw === 'string' ? Buffer.from(r.raw, 'latin1') : r.raw;
    const line = bytes.toString('latin1', 0, Math.max(0, bytes.indexOf('\r\n')));
    return { bytes, head: /^HEAD /.test(line), label: r.name ?? JSON.stringify(line) };
  }
  const method = r.method ?? 'GET';
  const list: [string, string][] = r.headers === undefined ? [] : Array.isArray(r.headers) ? r.headers : Object.entries(r.headers);
  const has = (n: string) => list.some(([k]) => k.toLowerCase() === n);
  const body = r.body === undefined ? undefined : typeof r.body === 'string' ? Buffer.from(r.body, 'latin1') : r.body;
  const head: string[] = [`${method} ${r.path ?? '/'} HTTP/${r.version ?? '1.1'}`];
  if (!has('host')) head.push('Host: localhost');
  for (const [k, v] of list) head.push(`${k}: ${v}`);
  if (body !== undefined && !has('content-length') && !has('transfer-encoding')) head.push(`Content-Length: ${body.length}`);
  if (!keepAlive && !r.closes && !has('connection')) head.push('Connection: close');
  const bytes = Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), body ?? Buffer.alloc(0)]);
  return { bytes, head: method === 'HEAD', label: r.name ?? `${method} ${r.path ?? '/'}` };
}

interface Seen {
  res: ParsedResponse | null;
  /** The connection closed without a (complete) response, or what went wrong. */
  note: string;
  log: string;
}

/** One side's TLS state across a case's requests (the session a `resume` offers). */
interface TlsState {
  session: Buffer | undefined;
}

/** Send each request (fresh connections, or one), collect one response for each. */
async function exchange(port: number, reqs: (string | DiffRequest)[], one: boolean, certs: TestCerts | null, tlsState: TlsState): Promise<Seen[]> {
  const out: Seen[] = [];
  let c: RawClient | null = null;
  let presented = '';
  try {
    for (const q of reqs) {
      if (typeof q === 'object' && q.abort === true) {
        out.push({ res: null, note: await abort(port, requestBytes(q, one).bytes), log: '' });
        continue;
      }
      const { bytes, head } = requestBytes(q, one);
      const tls = typeof q === 'object' ? q.tls : undefined;
      if (c === null || c.closed) {
        if (tls === undefined) {
          c = await RawClient.open(port);
          presented = '';
        } else {
          try {
            ({ c, presented } = await openTls(port, tls, certs!, tlsState));
          } catch (e) {
            out.push({ res: null, note: (e as Error).message, log: '' });
            c = null;
            continue;
          }
        }
      }
      let seen: Seen;
      if (typeof q === 'object' && q.tunnel !== undefined) {
        seen = await tunnelExchange(c, bytes, q.tunnel);
      } else {
        try {
          const [res] = await c.exchange(bytes, 1, head ? [0] : []);
          seen = { res: res?.complete ? res : res ?? null, note: res === undefined ? 'closed without a response' : res.complete ? '' : 'incomplete response', log: '' };
        } catch (e) {
          seen = { res: null, note: (e as Error).message, log: '' };
        }
      }
      if (seen.res !== null && presented !== '') seen.res.headers['tls-certificate'] = presented;
      if (seen.res !== null && typeof q === 'object' && q.closes === true) seen.res.headers['connection-after'] = await stillOpen(c) ? 'open' : 'closed';
      out.push(seen);
      if (!one || (typeof q === 'object' && (q.tunnel !== undefined || q.closes === true))) { c.close(); c = null; }
    }
  } finally {
    c?.close();
  }
  return out;
}

/** After a response: a plain GET / on the same connection is answered (true) or the server closes (false). */
async function stillOpen(c: RawClient): Promise<boolean> {
  if (!c.closed) c.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  try { await c.wait(1); } catch { return true; /* neither an answer nor a close: not closed */ }
  return c.take().length > 0;
}

/** A TLS connection as a DiffTls asks, and what the server presented ("CN verified|ERROR_CODE"). */
function openTls(port: number, t: DiffTls, certs: TestCerts, state: TlsState): Promise<{ c: RawClient; presented: string }> {
  const named = t.cert !== undefined ? certs.f[t.cert] : undefined;
  const certFile = named?.cert ?? t.cert;
  const keyFile = t.key !== undefined ? (certs.f[t.key]?.key ?? t.key) : named?.key;
  return new Promise((resolve, reject) => {
    const s: TLSSocket = tlsConnect({
      host: '127.0.0.1', port, servername: t.servername, minVersion: t.minVersion, maxVersion: t.maxVersion, ciphers: t.ciphers,
      ca: readFileSync(t.ca ?? certs.ca), rejectUnauthorized: false, checkServerIdentity: () => undefined,
      cert: certFile === undefined ? undefined : readFileSync(certFile), key: keyFile === undefined ? undefined : readFileSync(keyFile),
      session: t.resume === true ? state.session : undefined,
    });
    s.on('session', (x: Buffer) => { state.session = x; });
    const fail = (e: Error & { code?: string }) => { s.destroy(); reject(new Error(`TLS handshake failed: ${e.code ?? e.message}`)); };
    s.once('error', fail);
    s.once('secureConnect', () => {
      s.off('error', fail);
      const peer = s.getPeerCertificate() as ReturnType<TLSSocket['getPeerCertificate']> & { asn1Curve?: string };
      const cn = String(peer.subject?.CN ?? '(none)');
      const kind = peer.asn1Curve !== undefined ? `EC-${peer.asn1Curve}` : peer.bits !== undefined ? `RSA-${peer.bits}` : '?';
      const verdict = s.authorized ? 'verified' : String(s.authorizationError);
      // RawClient speaks over any connected stream; its constructor is private to keep tests on open()
      resolve({ c: new (RawClient as unknown as new (x: Socket) => RawClient)(s), presented: s.isSessionReused() ? '(resumed)' : `${cn} ${kind} ${verdict}` });
    });
  });
}

/** Send, half-close, wait for the server to close (bounded); '' when it closed without answering. */
function abort(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = 0;
    const t = setTimeout(() => { s.destroy(); resolve('the server did not close'); }, DEADLINE_MS);
    s.on('data', (d: Buffer) => { got += d.length; });
    s.on('error', () => { /* a reset is a close */ });
    s.on('close', () => { clearTimeout(t); resolve(got === 0 ? '' : `${got} bytes of response`); });
    s.on('connect', () => { s.write(bytes); s.end(); });
  });
}

/* access logs */

/** The lines a log file got after `offset`, and its new size. */
function linesSince(path: string, offset: number): { lines: string[]; size: number } {
  let size = 0;
  try { size = statSync(path).size; } catch { return { lines: [], size: offset }; }
  if (size <= offset) return { lines: [], size: offset };
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(size - offset);
    readSync(fd, b, 0, b.length, offset);
    const text = b.toString('latin1');
    const end = text.lastIndexOf('\n') + 1; // whole lines only
    return { lines: text.slice(0, end).split('\n').slice(0, -1), size: offset + end };
  } finally {
    closeSync(fd);
  }
}

/** `port` as "PORT" where it stands alone (not inside a longer number: a body of digits may hold it). */
function portless(s: string, port: number): string {
  return s.replace(new RegExp(`(?<![0-9])${port}(?![0-9])`, 'g'), 'PORT');
}

/** An access log line with its side's port and the times normalised (nothing else). */
function normaliseLogLine(line: string, port: number): string {
  return portless(line, port)
    .replace(/\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}/g, 'TIME_LOCAL')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d/g, 'TIME_ISO')
    .replace(/\b\d{10}\.\d{3}\b/g, 'MSEC');
}

/** A request that may switch protocols: the 101's head, then the tunnel's bytes up to `until` as its body. */
async function tunnelExchange(c: RawClient, bytes: Buffer, t: { send: string | Buffer; until: string }): Promise<Seen> {
  c.write(bytes);
  const headEnd = () => c.pending().indexOf('\r\n\r\n');
  try {
    await c.until(() => headEnd() >= 0);
    if (!/^HTTP\/1\.1 101 /.test(c.pending().toString('latin1', 0, 13))) {
      await c.wait(1);
      const [res] = c.take();
      return { res: res ?? null, note: res === undefined ? 'closed without a response' : res.complete ? '' : 'incomplete response', log: '' };
    }
    c.write(t.send);
    const found = () => c.pending().indexOf(t.until, headEnd() + 4, 'latin1');
    await c.until(() => found() >= 0);
    const p = Buffer.from(c.pending());
    const e = headEnd();
    const [res] = parseResponses(p.subarray(0, e + 4));
    res.body = p.subarray(e + 4, found() + Buffer.byteLength(t.until, 'latin1'));
    return { res, note: '', log: '' };
  } catch (e) {
    return { res: null, note: (e as Error).message, log: '' };
  }
}

/* comparison */

const NGINX_PAGE = /^<html>\r\n<head><title>([^<]*)<\/title><\/head>\r\n<body>\r\n<center><h1>[^<]*<\/h1><\/center>\r\n(?:<center>[^<]*<\/center>\r\n)?<hr><center>nginx(?:\/[\d.]+)?<\/center>\r\n<\/body>\r\n<\/html>\r\n(?:<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n)*$/;
const SLUICE_PAGE = /^<!DOCTYPE html>\n<html>\n<head><title>([^<]*)<\/title><\/head>\n<body>\n<h1>[^<]*<\/h1>\n<hr><p>sluice<\/p>\n<\/body>\n<\/html>\n$/;

interface Side {
  status: number | null;
  headers: Record<string, string | undefined>;
  body: string;
  /** Content-Length after the body's normalisation (the same bytes removed or added). */
  note: string;
}

/** Error page titles other than the status line's: nginx's 302 page, and its 400 pages for 494..497 (h1 "400 Bad Request", then the reason). */
const PAGE_TITLES: Readonly<Record<number, string[]>> = {
  302: ['302 Found'],
  400: ['400 Request Header Or Cookie Too Large', '400 The SSL certificate error', '400 No required SSL certificate was sent', '400 The plain HTTP request was sent to HTTPS port'],
};
const nginxPage = (t: string) => {
  const why = PAGE_TITLES[400].includes(t) ? t.slice(4) : null;
  return `<html>\r\n<head><title>${t}</title></head>\r\n<body>\r\n<center><h1>${why === null ? t : '400 Bad Request'}</h1></center>\r\n`
    + `${why === null ? '' : `<center>${why}</center>\r\n`}<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
};
const sluicePage = (t: string) => `<!DOCTYPE html>\n<html>\n<head><title>${t}</title></head>\n<body>\n<h1>${t}</h1>\n<hr><p>sluice</p>\n</body>\n</html>\n`;

function normalise(seen: Seen, port: number, side: 'nginx' | 'sluice', names: string[], c: DiffCase, head: boolean): Side {
  const res = seen.res;
  if (res === null) return { status: null, headers: {}, body: '', note: seen.note };
  // a gzipped body is compared as what it holds (the bytes depend on zlib's settings)
  let decoded = res.body;
  if (/gzip/i.test(res.headers['content-encoding'] ?? '') && decoded.length > 0) {
    try { decoded = gunzipSync(decoded); } catch (e) { return { status: res.status, headers: {}, body: '', note: `bad gzip body: ${(e as Error).message}` }; }
  }
  // a multipart/byteranges boundary is each side's own
  const boundary = /multipart\/byteranges;\s*boundary=(\S+)/.exec(res.headers['content-type'] ?? '')?.[1];
  const raw = decoded.toString('latin1');
  let body = portless(raw, port);
  if (boundary !== undefined) body = body.split(boundary).join('BOUNDARY');
  const m = (side === 'nginx' ? NGINX_PAGE : SLUICE_PAGE).exec(body);
  if (m !== null) body = `[error page: ${m[1]}]`;
  if (c.normalize !== undefined) body = c.normalize(body, side);
  // what the normalisation took from the body, taken from Content-Length too
  let delta = Buffer.byteLength(body, 'latin1') - decoded.length;
  const cl = res.headers['content-length'];
  if (head && res.status >= 300 && cl !== undefined) {
    // a HEAD error page: recognised by its length (its title is the status line, or one of PAGE_TITLES)
    for (const title of [`${res.status} ${res.reason}`, ...(PAGE_TITLES[res.status] ?? [])]) {
      const page = side === 'nginx' ? nginxPage(title) : sluicePage(title);
      if (Number(cl) === page.length) { delta = `[error page: ${title}]`.length - page.length; break; }
    }
  }
  const headers: Record<string, string | undefined> = {};
  for (const n of names) {
    let v = res.headers[n];
    if (v !== undefined) v = portless(v, port);
    if (n === 'content-length' && v !== undefined && /^\d+$/.test(v)) v = String(Number(v) + delta);
    if (n === 'content-type' && v !== undefined && boundary !== undefined) v = v.split(boundary).join('BOUNDARY');
    if (n === 'expires' && v !== undefined) v = sinceDate(v, res.headers.date);
    headers[n] = v;
  }
  return { status: res.status, headers, body, note: seen.note };
}

/** An Expires within a year of Date, as its offset from Date ("Date+3600s"): the two sides answer
 *  in different seconds; a fixed date (epoch, max, from the file's time) stays as it is. */
function sinceDate(v: string, date: string | undefined): string {
  const e = Date.parse(v), d = date === undefined ? NaN : Date.parse(date);
  if (Number.isNaN(e) || Number.isNaN(d) || Math.abs(e - d) > 365 * 86400e3) return v;
  const s = Math.round((e - d) / 1000);
  return `Date${s < 0 ? '-' : '+'}${Math.abs(s)}s`;
}

function claimsFor(c: DiffCase, i: number): ClaimedDifference[] {
  return (c.differences ?? []).filter((d) => d.request === undefined || d.request === i || (Array.isArray(d.request) && d.request.includes(i)));
}

function show(v: string | number | null | undefined): string {
  return v === undefined ? '(absent)' : v === null ? '(none)' : JSON.stringify(v);
}

/** The mismatches of one request, as lines; empty when it matches (claimed parts aside). */
function compare(c: DiffCase, i: number, label: string, n: Side, s: Side, nLog: string, sLog: string): string[] {
  const names = [...new Set([...DEFAULT_HEADERS, ...(c.headers ?? []).map((h) => h.toLowerCase())])]
    .filter((h) => !(c.ignoreHeaders ?? []).map((x) => x.toLowerCase()).includes(h));
  const claims = claimsFor(c, i);
  const claimed = (what: string) => claims.find((d) => what === 'status' ? d.status : what === 'body' ? d.body : d.headers?.map((h) => h.toLowerCase()).includes(what));
  const out: string[] = [];
  const q = c.requests[i];
  const want = typeof q === 'object' ? q.status : undefined;
  const row = (what: string, a: string, b: string) => out.push(`  ${what.padEnd(18)} nginx ${a}\n  ${''.padEnd(18)} sluice ${b}`);
  const check = (what: string, a: string, b: string) => {
    const d = claimed(what);
    if (d !== undefined) {
      if (a === b) out.push(`  ${what}: claimed difference '${d.id}' does not show (both ${a}): remove the claim`);
    } else if (a !== b) {
      row(what, a, b);
    }
  };
  if (n.note !== '' || s.note !== '') {
    if (n.note !== s.note) row('response', show(n.note || 'ok'), show(s.note || 'ok'));
  }
  check('status', show(n.status), show(s.status));
  if (want !== undefined && n.status !== want && !claimed('status')) out.push(`  status: nginx answered ${n.status}, the case expects ${want}`);
  if (want !== undefined && s.status !== want && !claimed('status')) out.push(`  status: sluice answered ${s.status}, the case expects ${want}`);
  for (const h of names) check(h, show(n.headers[h]), show(s.headers[h]));
  const bd = claimed('body');
  if (bd !== undefined) {
    if (n.body === s.body) out.push(`  body: claimed difference '${bd.id}' does not show: remove the claim`);
  } else if (n.body !== s.body) {
    row('body', ...bodyDiff(n.body, s.body));
  }
  const log = typeof q === 'object' ? q.log : undefined;
  if (log !== undefined) {
    if (!log.test(nLog)) out.push(`  error log: nginx logged no line matching ${log}:\n${indent(nLog)}`);
    if (!log.test(sLog)) out.push(`  error log: sluice logged no line matching ${log}:\n${indent(sLog)}`);
  }
  return out.length === 0 ? [] : [`request ${i} (${label}):`, ...out];
}

/** Two bodies for a message: whole when short, else around where they first differ. */
function bodyDiff(a: string, b: string): [string, string] {
  if (a.length <= 600 && b.length <= 600) return [show(a), show(b)];
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 100);
  const cut = (x: string) => `${x.length} bytes, from byte ${from}: ${show(x.slice(from, from + 300))}`;
  return [cut(a), cut(b)];
}

/** Both heads (Date and Server left out), nginx's left, sluice's right. */
function sideBySide(a: ParsedResponse | null, b: ParsedResponse | null): string {
  const lines = (r: ParsedResponse | null) => r === null ? ['(no response)']
    : [`${r.status} ${r.reason}`, ...r.headerLines.filter(([k]) => !/^(date|server)$/i.test(k)).map(([k, v]) => `${k}: ${v}`)];
  const l = lines(a), r = lines(b);
  const w = Math.min(60, Math.max(...l.map((x) => x.length)));
  const out = [`  ${'nginx'.padEnd(w)} | sluice`];
  for (let i = 0; i < Math.max(l.length, r.length); i++) out.push(`  ${(l[i] ?? '').slice(0, 60).padEnd(w)} | ${r[i] ?? ''}`);
  return out.join('\n');
}

function indent(s: string): string {
  return s.split('\n').filter(Boolean).map((l) => '      | ' + l).join('\n') || '      | (nothing)';
}

/* sluice */

function sluiceConfig(c: DiffCase, env: DiffEnv): SluiceConfig {
  const v = c.sluice(env);
  const withListen = (s: SluiceServerInput): ServerConfig => ({ ...s, listen: s.listen ?? `127.0.0.1:${env.port}` }) as ServerConfig;
  let conf: SluiceConfig;
  if (Array.isArray(v)) conf = { servers: v.map(withListen) };
  else if ('servers' in v && Array.isArray((v as SluiceConfig).servers)) conf = { ...(v as SluiceConfig), servers: (v as SluiceConfig).servers.map(withListen) };
  else conf = { servers: [withListen(v as SluiceServerInput)] };
  return { errorLog: errorLines, ...conf } as SluiceConfig;
}

async function startSluice(c: DiffCase, env: Omit<DiffEnv, 'port'>): Promise<{ s: SluiceServer; port: number }> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [port] = await freePorts(1);
    try {
      return { s: await startServer(sluiceConfig(c, { ...env, port })), port };
    } catch (e) {
      last = e;
      if (!/EADDRINUSE/.test(String((e as Error).message))) throw e;
    }
  }
  throw last;
}

/* the suite */

function fill(s: string, vars: Record<string, string | number>): string {
  return s.replace(/\$\{(PORT|ROOT|UP1|UP2|PREFIX|ACCESS_LOG|CERTS)\}/g, (_m, k: string) => String(vars[k]));
}

/**
 * Register one uvu test per case, in a suite of its own: one nginx for the suite (every case's
 * server blocks, each case on its own port), one sluice per case.
 */
export function diffSuite(name: string, cases: DiffCase[]): void {
  const t = suite(`diff: ${name}`);
  const why = missing();
  if (why !== null) {
    if (process.env.SLUICE_NO_NGINX === '1') {
      process.stdout.write(`\n[diff: ${name}] skipped: ${why} (SLUICE_NO_NGINX=1)\n`);
      return;
    }
    t(`nginx is needed for the differential suite (or set SLUICE_NO_NGINX=1 to skip it)`, () => { throw new Error(why); });
    t.run();
    return;
  }
  const dupes = cases.map((c) => c.name).filter((n, i, a) => a.indexOf(n) !== i);
  if (dupes.length > 0) throw new Error(`diffSuite ${name}: duplicate case names ${dupes.join(', ')}`);

  const prefix = mkdtempSync(join(tmpdir(), `sluice-diff-${name.replace(/\W+/g, '-')}-`));
  const nginx = new Nginx(prefix);
  const ports = new Map<DiffCase, number>();
  const roots = new Map<DiffCase, string>();
  const ups: EchoUpstream[] = [];
  let up1 = 0, up2 = 0;
  let startError: Error | null = null;
  // the test certificates, when a case speaks TLS or names ${CERTS}
  const usesTls = cases.some((c) => c.nginx.includes('${CERTS}') || c.requests.some((q) => typeof q === 'object' && q.tls !== undefined));
  let certs: TestCerts | null = null;

  t.before(async () => {
    try {
      if (usesTls) certs = testCerts();
      if (cases.some((c) => c.upstreams)) {
        ups.push(await upstream('UP1'), await upstream('UP2'));
        up1 = ups[0].port;
        up2 = ups[1].port;
      }
      cases.forEach((c, i) => {
        const root = join(prefix, 'cases', String(i));
        mkdirSync(root, { recursive: true });
        for (const [f, content] of Object.entries(c.files ?? {})) {
          mkdirSync(dirname(join(root, f)), { recursive: true });
          writeFileSync(join(root, f), content);
          utimesSync(join(root, f), c.mtime ?? FILE_MTIME, c.mtime ?? FILE_MTIME);
        }
        roots.set(c, root);
      });
      for (let attempt = 0; ; attempt++) {
        const list = await freePorts(cases.length);
        cases.forEach((c, i) => ports.set(c, list[i]));
        const http = cases.map((c) => `# case: ${c.name}\n` + fill(c.nginx, {
          PORT: ports.get(c)!, ROOT: roots.get(c)!, UP1: up1, UP2: up2, PREFIX: prefix, ACCESS_LOG: accessLogOf(c, 'nginx'), CERTS: certs?.dir ?? '',
        })).join('\n');
        try {
          await nginx.start(http, list);
          break;
        } catch (e) {
          await nginx.stop();
          if (attempt < 2 && /Address already in use/.test((e as Error).message)) continue;
          throw e;
        }
      }
    } catch (e) {
      startError = e as Error;
    }
  });

  t.after(async () => {
    await nginx.stop();
    await Promise.all(ups.map((u) => u.close()));
    if (startError === null) rmSync(prefix, { recursive: true, force: true });
  });

  // each case's access log files (cases with accessLog: true)
  const accessLogOf = (c: DiffCase, side: 'nginx' | 'sluice') => c.accessLog ? join(prefix, 'logs', `${side}-access-${cases.indexOf(c)}.log`) : '';

  const chosen = cases.some((c) => c.only) ? cases.filter((c) => c.only) : cases;
  for (const c of chosen) {
    t(c.name, timed(60000, async () => {
      if (startError !== null) throw new Error(`nginx did not start (prefix ${prefix}):\n${startError.message}`);
      const env = { root: roots.get(c)!, up1, up2, prefix, accessLog: accessLogOf(c, 'sluice'), certs: certs?.dir ?? '' };
      const nTls: TlsState = { session: undefined }, sTls: TlsState = { session: undefined };
      const { s, port } = await startSluice(c, env);
      const nPort = ports.get(c)!;
      try {
        const problems: string[] = [];
        const perRequest = c.oneConnection ? [c.requests] : c.requests.map((q) => [q]);
        let i = 0;
        for (const group of perRequest) {
          const nOff = nginx.logSize();
          const nAcc = accessLogOf(c, 'nginx'), sAcc = accessLogOf(c, 'sluice');
          const nAccOff = c.accessLog ? linesSince(nAcc, 0).size : 0;
          const sAccOff = c.accessLog ? linesSince(sAcc, 0).size : 0;
          for (const q of group) if (typeof q === 'object' && q.before !== undefined) q.before(roots.get(c)!);
          errorLines.lines.length = 0;
          errorLines.capturing = true;
          const nSeen = await exchange(nPort, group, c.oneConnection === true, certs, nTls);
          const sSeen = await exchange(port, group, c.oneConnection === true, certs, sTls);
          let nLines: string[] = [], sLines: string[] = [];
          if (c.accessLog) {
            // each side logs after its response has gone: wait for a line per request (bounded)
            await s.flushLogs();
            await waitFor(() => linesSince(nAcc, nAccOff).lines.length >= group.length, 2000);
            nLines = linesSince(nAcc, nAccOff).lines.map((l) => normaliseLogLine(l, nPort));
            sLines = linesSince(sAcc, sAccOff).lines.map((l) => normaliseLogLine(l, port));
          }
          const wantsLog = group.some((q) => typeof q === 'object' && q.log !== undefined);
          // nginx may write its line just after the response: wait for it (bounded), not on silence
          if (wantsLog) await waitFor(() => group.every((q) => typeof q !== 'object' || q.log === undefined || q.log.test(nginx.logSince(nOff))), 2000);
          const nLog = nginx.logSince(nOff);
          const sLog = errorLines.lines.join('');
          errorLines.capturing = false;
          for (let k = 0; k < group.length; k++, i++) {
            const label = requestBytes(group[k]).label;
            const names = [...DEFAULT_HEADERS, ...(c.headers ?? []).map((h) => h.toLowerCase())];
            const head = requestBytes(group[k]).head;
            const n = normalise(nSeen[k], nPort, 'nginx', names, c, head);
            const sl = normalise(sSeen[k], port, 'sluice', names, c, head);
            const found = compare(c, i, label, n, sl, nLog, sLog);
            if (found.length > 0) found.push(sideBySide(nSeen[k].res, sSeen[k].res));
            problems.push(...found);
          }
          if (c.accessLog) {
            const first = i - group.length;
            const claim = claimsFor(c, first).find((d) => d.accessLog);
            const same = nLines.length === sLines.length && nLines.every((l, k) => l === sLines[k]);
            if (claim !== undefined) {
              if (same) problems.push(`request ${first}: claimed difference '${claim.id}' does not show in the access log: remove the claim`);
            } else if (!same) {
              problems.push(`request ${first}${group.length > 1 ? `..${i - 1}` : ''}: access log lines differ\n  nginx\n${indent(nLines.join('\n'))}\n  sluice\n${indent(sLines.join('\n'))}`);
            }
          }
        }
        if (problems.length > 0) throw new DiffError(`${c.name}: sluice and nginx differ\n${problems.join('\n')}`);
      } finally {
        errorLines.capturing = false;
        await s.close(100);
      }
    }));
  }
  t.run();
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

/** A mismatch (its message is the side-by-side report). */
export class DiffError extends Error {
  override name = 'DiffError';
  constructor(message: string) {
    super(message);
    // uvu prints the message, then the stack from its first newline: keep it to the message
    this.stack = 'DiffError\n';
  }
}

/** For docs/differences.md's test: id, kind and reason of each. */
export function differenceList(): [DifferenceId, 'deliberate' | 'not yet', string][] {
  return Object.entries(DOCUMENTED_DIFFERENCES).map(([id, d]) => [id as DifferenceId, d.kind, d.reason]);
}
