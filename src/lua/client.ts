// The HTTP client for handlers — the counterpart of lua-resty-http (over OpenResty's cosockets):
// requestUri() for one whole response, or connect() + request() for a response whose body is
// read on demand, then setKeepalive() or close(). It shares the keepalive pool machinery, the
// upstream connection (with its timer), TLS (src/http/upstream/ssl.ts) and the response parser
// with proxyPass (src/http/upstream/keepalive.ts, connection.ts).
//
// https:// verifies the certificate by default, against Node's bundled CAs or `ca`, and sends
// SNI (the host, or sslServerName), as lua-resty-http does (ssl_verify defaults to true there)
// and as fetch() does; `sslVerify: false` turns both checks off.

import { KeepalivePool, type SocketCache } from '../http/upstream/keepalive.js';
import { encodeArgs, type ArgsInput } from './ngx.js';
import { HeadersIn } from '../http/headers-in.js';
import type { MessageHead } from '../http/parser/types.js';
import {
  Exchange, FAIL_SSL, FAIL_STALE, FAIL_TIMEOUT, idempotent, type ExchangeHandler, type ExchangeTimeouts, type UpstreamConnection,
} from '../http/upstream/connection.js';
import { CertificateError, TlsClient, TlsDial, sslName } from '../http/upstream/ssl.js';
import { SERVER_VERSION } from '../core/version.js';
import { chunkIterator } from '../core/buf.js';
import { FV_BAD, FV_UTF8, fieldValue, isToken, targetValue, utf8Latin1 } from '../core/field.js';
import { SYSTEM_CLOCK, type Clock } from '../core/clock.js';
import { ConfigError, parseTime } from '../http/conf/size-time.js';

/** Cosocket pools: one per "host:port" (or the name given as keepalivePool), per process. */
const pools = new Map<string, KeepalivePool<UpstreamConnection>>();
const DEFAULT_POOL_SIZE = 30; // lua_socket_pool_size's default
const DEFAULT_KEEPALIVE_TIMEOUT = 60000; // lua_socket_keepalive_timeout's default

function poolFor(name: string, size: number | undefined, timeout: number | undefined, clock: Clock): KeepalivePool<UpstreamConnection> {
  let p = pools.get(name);
  if (p === undefined) pools.set(name, p = new KeepalivePool<UpstreamConnection>(size ?? DEFAULT_POOL_SIZE, timeout ?? DEFAULT_KEEPALIVE_TIMEOUT, 1000, clock));
  if (size !== undefined) p.size = size;
  if (timeout !== undefined) p.timeout = timeout;
  return p;
}

/** Idle connections kept by the client's pools (for tests and stats). */
export function clientPoolIdle(name?: string): number {
  if (name !== undefined) return pools.get(name)?.count() ?? 0;
  let n = 0;
  for (const p of pools.values()) n += p.count();
  return n;
}

export interface ClientRequestOptions {
  method?: string;
  /** Path (request() only; requestUri takes it from the URL). */
  path?: string;
  query?: string | ArgsInput;
  headers?: Record<string, string | readonly string[]>;
  body?: string | Buffer;
  /** requestUri only: keep the connection for later (default true). */
  keepalive?: boolean;
  /** How long the connection may stay idle in the pool: ms, or nginx notation ('60s', '1h'). */
  keepaliveTimeout?: string | number;
  /** Pool size (requestUri) or pool name (as lua-resty-http's `pool`). */
  keepalivePool?: number | string;
  /** https (requestUri): check the certificate's chain and name (default true, as lua-resty-http's ssl_verify). */
  sslVerify?: boolean;
  /** https (requestUri): the name sent as SNI and checked (default: the URL's host). */
  sslServerName?: string;
  /** https (requestUri): the CAs to trust, PEM (default: Node's bundled roots). */
  ca?: string | Buffer | readonly (string | Buffer)[];
}

/** TLS for connect(): as requestUri's options. */
export interface ClientTlsOptions {
  sslVerify?: boolean;
  sslServerName?: string;
  ca?: string | Buffer | readonly (string | Buffer)[];
}

/** The client's TLS contexts, by trusted CAs and verification (each keeps its peers' sessions). */
const tlsClients = new Map<unknown, TlsClient[]>();
const TLS_CLIENTS_MAX = 64;

function tlsClientFor(verify: boolean, ca: ClientTlsOptions['ca']): TlsClient {
  const k = ca ?? null;
  let list = tlsClients.get(k);
  if (list === undefined) {
    if (tlsClients.size >= TLS_CLIENTS_MAX) tlsClients.delete(tlsClients.keys().next().value);
    tlsClients.set(k, list = []);
  }
  let c = list.find((x) => x.verify === verify);
  if (c === undefined) {
    c = new TlsClient({ verify, verifyDepth: Infinity, ca: ca === undefined ? null : ca, sessionReuse: true, ipNames: true });
    list.push(c);
  }
  return c;
}

/** How a connection to host:port goes TLS, as the options ask. */
function tlsDial(host: string, port: number, o: ClientTlsOptions): TlsDial {
  const verify = o.sslVerify !== false;
  const sn = sslName(o.sslServerName ?? (host.includes(':') ? `[${host}]` : host), true);
  const peer = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new TlsDial(tlsClientFor(verify, o.ca), sn.sni, o.sslServerName ?? host, peer);
}

/** An exchange's failure as the client reports it (lua-nginx-module's sslhandshake messages for TLS). */
function clientError(kind: number, err: Error | null): HttpClientError {
  if (kind === FAIL_SSL) {
    if (err instanceof CertificateError) {
      return new HttpClientError('ETLS', err.verifyCode === 0 ? 'certificate host mismatch' : `${err.verifyCode}: ${err.detail}`);
    }
    return new HttpClientError('ETLS', `handshake failed: ${err?.message ?? ''}`);
  }
  return new HttpClientError(kind === FAIL_TIMEOUT ? 'ETIMEDOUT' : 'EUPSTREAM', err?.message ?? 'request failed');
}

export interface ClientResponse {
  status: number;
  reason: string;
  /** Lower-case names; repeated headers as arrays. */
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export class HttpClientError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'HttpClientError';
    this.code = code;
  }
}

/** A response being read (request()): the body comes through bodyReader() on demand. */
export class StreamingResponse implements ExchangeHandler {
  status: number;
  reason: string;
  headers: Record<string, string | string[]>;
  hasBody: boolean;
  private readonly client: HttpClient;
  private chunks: Buffer[];
  private queued: number;
  private ended: boolean;
  private error: Error | null;
  private waiter: (() => void) | null;
  private headWaiter: { resolve: (r: StreamingResponse) => void; reject: (e: Error) => void } | null;
  x: Exchange | null;
  private retry: (() => void) | null;

  constructor(client: HttpClient) {
    this.status = 0;
    this.reason = '';
    this.headers = Object.create(null);
    this.hasBody = true;
    this.client = client;
    this.chunks = [];
    this.queued = 0;
    this.ended = false;
    this.error = null;
    this.waiter = null;
    this.headWaiter = null;
    this.x = null;
    this.retry = null;
  }

  /** Wait for status and headers. */
  begin(x: Exchange, retry: () => void): Promise<StreamingResponse> {
    this.x = x;
    this.retry = retry;
    return new Promise((resolve, reject) => { this.headWaiter = { resolve, reject }; });
  }

  onHead(_x: Exchange, h: MessageHead): void {
    this.status = h.statusCode;
    this.reason = h.buf.toString('latin1', h.reasonStart, h.reasonEnd);
    this.headers = HeadersIn.fromHead(h).toObject();
    this.hasBody = !(this.status === 204 || this.status === 304 || (this.status >= 100 && this.status < 200)
      || this.x!.headOnly || h.contentLength === 0);
    const w = this.headWaiter;
    this.headWaiter = null;
    w?.resolve(this);
  }

  onData(x: Exchange, chunk: Buffer, start: number, end: number): void {
    this.chunks.push(chunk.subarray(start, end));
    this.queued += end - start;
    // the reader is behind: stop reading the socket until it catches up (bounded memory)
    if (this.queued >= HIGH_WATER) x.pause();
    this.wake();
  }

  onEnd(): void {
    this.ended = true;
    this.client.released();
    this.wake();
  }

  /** close() or setKeepalive() came before the end of the body: the connection goes, readers get ECLOSED. */
  abort(): void {
    if (this.ended) return;
    this.x?.abort();
    this.end(new HttpClientError('ECLOSED', 'the connection was closed before the response was read'));
  }

  onFail(x: Exchange, kind: number, err: Error | null): void {
    if (kind === FAIL_STALE && this.headWaiter !== null && this.retry !== null && (idempotent(this.client.method) || !x.requestSent)) {
      const r = this.retry;
      this.retry = null;
      r(); // a kept connection had died: once more on a fresh one
      return;
    }
    this.end(clientError(kind, err));
  }

  /** The response ends in error: whoever waits for the head or a chunk gets it. */
  private end(e: HttpClientError): void {
    this.error = e;
    this.ended = true;
    this.client.released();
    const w = this.headWaiter;
    this.headWaiter = null;
    if (w !== null) w.reject(e);
    this.wake();
  }

  /** The body, chunk by chunk, read from the socket as the iterator is pulled. */
  bodyReader(): AsyncIterableIterator<Buffer> {
    return chunkIterator(() => this.nextChunk());
  }

  /** The whole body (for responses you know are small). */
  async readBody(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this.bodyReader()) parts.push(c);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  private async nextChunk(): Promise<Buffer | null> {
    for (;;) {
      if (this.chunks.length > 0) {
        const c = this.chunks.shift()!;
        this.queued -= c.length;
        if (this.queued < HIGH_WATER && this.x !== null && this.x.paused) this.x.resume();
        return c;
      }
      if (this.error !== null) throw this.error;
      if (this.ended) return null;
      await new Promise<void>((resolve) => { this.waiter = resolve; });
    }
  }

  private wake(): void {
    const w = this.waiter;
    if (w !== null) { this.waiter = null; w(); }
  }
}

const HIGH_WATER = 64 * 1024;

/**
 * The connection a request() left behind, until setKeepalive() or close() decides; the next
 * request() on the same client goes over it (as lua-resty-http's connection object does).
 * While held, the connection is idle: data or a close from the peer destroys it, and
 * setKeepalive() then finds it gone.
 */
class Holder implements SocketCache<UpstreamConnection> {
  conn: UpstreamConnection | null;
  key: string;
  from: KeepalivePool<UpstreamConnection> | null;
  constructor(from: KeepalivePool<UpstreamConnection> | null) {
    this.conn = null;
    this.key = '';
    this.from = from;
  }
  take(key: string): UpstreamConnection | null {
    const c = this.release();
    if (c !== null) {
      if (!c.socket.destroyed && c.socket.writable && key === this.key) return c;
      c.destroy();
    }
    return this.from !== null ? this.from.take(key) : null;
  }
  put(key: string, conn: UpstreamConnection): boolean {
    this.conn = conn;
    this.key = key;
    return true;
  }
  /** The held connection, handed over. */
  release(): UpstreamConnection | null {
    const c = this.conn;
    this.conn = null;
    return c;
  }
}

export interface HttpClientOptions {
  connectTimeout?: number;
  sendTimeout?: number;
  readTimeout?: number;
  /** Where the timeouts' time comes from (a ManualClock in tests); the system clock by default. */
  clock?: Clock;
}

export class HttpClient {
  private connectTimeout: number;
  private sendTimeout: number;
  private readTimeout: number;
  private host: string | null;
  private port: number;
  private poolName: string | null;
  private tls: TlsDial | null;
  private holder: Holder | null;
  /** The response request() began, until it has been read or abandoned. */
  private current: StreamingResponse | null;
  private busy: boolean;
  private readonly clock: Clock;
  method: string;

  constructor(o: HttpClientOptions = {}) {
    this.connectTimeout = o.connectTimeout ?? 60000;
    this.sendTimeout = o.sendTimeout ?? 60000;
    this.readTimeout = o.readTimeout ?? 60000;
    this.host = null;
    this.port = 80;
    this.poolName = null;
    this.tls = null;
    this.holder = null;
    this.current = null;
    this.busy = false;
    this.clock = o.clock ?? SYSTEM_CLOCK;
    this.method = 'GET';
  }

  /** Timeouts in ms, as lua-resty-http's set_timeouts(connect, send, read). */
  setTimeouts(connect: number, send: number, read: number): void {
    this.connectTimeout = connect;
    this.sendTimeout = send;
    this.readTimeout = read;
  }

  /**
   * Where request() goes (a kept connection is reused when there is one); `ssl: true` for TLS
   * (verified by default: see ClientTlsOptions), as lua-resty-http's connect{ scheme = "https" }.
   */
  connect(host: string, port?: number, options: { pool?: string; ssl?: boolean } & ClientTlsOptions = {}): void {
    this.close();
    const ssl = options.ssl === true;
    const p = port ?? (ssl ? 443 : 80);
    this.host = host;
    this.port = p;
    this.tls = ssl ? tlsDial(host, p, options) : null;
    this.poolName = options.pool ?? (this.tls !== null ? `https:${this.tls.poolKey()}` : `${host}:${p}`);
  }

  /** Send a request on the connected host; resolves at the response head. */
  request(o: ClientRequestOptions = {}): Promise<StreamingResponse> {
    if (this.host === null) return Promise.reject(new HttpClientError('ENOTCONN', 'request(): connect() first'));
    if (this.busy) return Promise.reject(new HttpClientError('EBUSY', 'request(): the previous response is still being read'));
    const method = upperMethod(o.method);
    this.method = method;
    let head: Buffer;
    try {
      head = buildRequest('request()', method, this.host, this.port, o.path ?? '/', o.query, o.headers, o.body, true, this.tls !== null);
    } catch (e) {
      return Promise.reject(e);
    }
    const body = o.body === undefined ? [] : [typeof o.body === 'string' ? Buffer.from(o.body) : o.body];
    const pool = pools.get(this.poolName!) ?? null;
    let holder = this.holder;
    if (holder === null) holder = this.holder = new Holder(pool);
    else holder.from = pool;
    const res = this.current = new StreamingResponse(this);
    this.busy = true;
    const start = (fresh: boolean) => {
      const x = new Exchange(this.host!, this.port, this.poolName!, holder, res,
        { connect: this.connectTimeout, send: this.sendTimeout, read: this.readTimeout }, method === 'HEAD', this.clock, this.tls);
      const p = res.begin(x, () => start(true));
      x.start(head, body, false, fresh);
      return p;
    };
    return start(false);
  }

  /** Keep the connection for later requests (after the body was read to the end). */
  setKeepalive(timeout?: number, poolSize?: number): boolean {
    const h = this.holder;
    this.holder = null;
    const res = this.current;
    this.current = null;
    // a response not read to the end leaves the connection unusable: it is closed
    if (res !== null) res.abort();
    const c = h === null ? null : h.release();
    if (h === null || c === null) return false;
    return poolFor(this.poolName!, poolSize, timeout, this.clock).put(h.key, c);
  }

  /** Close the connection instead of keeping it (a response still being read is cut off). */
  close(): void {
    const h = this.holder;
    this.holder = null;
    const res = this.current;
    this.current = null;
    this.busy = false;
    if (res !== null) res.abort();
    const c = h === null ? null : h.release();
    if (c !== null) c.destroy();
  }

  /** @internal the exchange has finished with the socket */
  released(): void {
    this.busy = false;
  }

  /**
   * One request, the whole response (lua-resty-http's request_uri). Keeps the connection
   * (keepalive: true) in the pool for the host unless told otherwise.
   */
  requestUri(url: string, o: ClientRequestOptions = {}): Promise<ClientResponse> {
    // (not an async function: one promise per call, the one below; a bad argument rejects it)
    try {
      return this.startRequestUri(url, o);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private startRequestUri(url: string, o: ClientRequestOptions): Promise<ClientResponse> {
    const u = parseUrl(url);
    const { host, port } = u;
    const tls = u.ssl ? tlsDial(host, port, o) : null;
    const poolName = typeof o.keepalivePool === 'string' ? o.keepalivePool : tls !== null ? `https:${tls.poolKey()}` : u.key;
    const keepalive = o.keepalive !== false;
    const poolSize = typeof o.keepalivePool === 'number' ? o.keepalivePool : undefined;
    const kt = o.keepaliveTimeout === undefined ? undefined : keepaliveMs(o.keepaliveTimeout);
    const method = upperMethod(o.method);
    let query = u.query;
    if (o.query !== undefined) {
      const extra = typeof o.query === 'string' ? o.query : encodeArgs(o.query);
      query = query && extra ? `${query}&${extra}` : query || extra;
    }
    const head = buildRequest('requestUri()', method, host, port, u.path, query, o.headers, o.body, keepalive, u.ssl);
    const body = o.body === undefined ? [] : [typeof o.body === 'string' ? Buffer.from(o.body) : o.body];
    const pool = keepalive ? poolFor(poolName, poolSize, kt, this.clock) : null;
    const timeouts = { connect: this.connectTimeout, send: this.sendTimeout, read: this.readTimeout };
    return new Promise<ClientResponse>((resolve, reject) => {
      new WholeResponse(host, port, poolName, pool, timeouts, method, head, body, this.clock, tls, resolve, reject).run(false);
    });
  }
}

/** requestUri's reader: the whole body gathered as views, handed over at the end. */
class WholeResponse implements ExchangeHandler {
  private status = 0;
  private reason = '';
  private headers: Record<string, string | string[]> | null = null;
  private parts: Buffer[] = [];
  private size = 0;
  constructor(
    private readonly host: string, private readonly port: number, private readonly poolName: string,
    private readonly pool: KeepalivePool<UpstreamConnection> | null, private readonly timeouts: ExchangeTimeouts,
    private readonly method: string, private readonly head: Buffer, private readonly body: Buffer[],
    private readonly clock: Clock, private readonly tls: TlsDial | null,
    private readonly resolve: (r: ClientResponse) => void, private readonly reject: (e: Error) => void,
  ) {}

  run(fresh: boolean): void {
    this.parts.length = 0;
    this.size = 0;
    new Exchange(this.host, this.port, this.poolName, this.pool, this, this.timeouts, this.method === 'HEAD', this.clock, this.tls)
      .start(this.head, this.body, false, fresh);
  }

  onHead(_x: Exchange, h: MessageHead): void {
    this.status = h.statusCode;
    this.reason = h.buf.toString('latin1', h.reasonStart, h.reasonEnd);
    this.headers = HeadersIn.fromHead(h).toObject();
  }

  onData(_x: Exchange, chunk: Buffer, s: number, e: number): void {
    this.parts.push(chunk.subarray(s, e));
    this.size += e - s;
  }

  onEnd(): void {
    const p = this.parts;
    this.resolve({
      status: this.status, reason: this.reason, headers: this.headers ?? Object.create(null),
      body: p.length === 1 ? p[0] : Buffer.concat(p, this.size),
    });
  }

  onFail(x: Exchange, kind: number, err: Error | null): void {
    if (kind === FAIL_STALE && (idempotent(this.method) || !x.requestSent)) { this.run(true); return; }
    this.reject(clientError(kind, err));
  }
}

interface ParsedUrl { host: string; port: number; path: string; query: string; key: string; ssl: boolean }

/** Parsed http:// URLs, by their text: handlers call the same few URLs over and over. */
const urls = new Map<string, ParsedUrl>();
const URLS_MAX = 256;

function parseUrl(url: string): ParsedUrl {
  let p = urls.get(url);
  if (p !== undefined) return p;
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new HttpClientError('EPROTO', `requestUri(): only http:// and https:// are supported (${u.protocol})`);
  const ssl = u.protocol === 'https:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port === '' ? (ssl ? 443 : 80) : Number(u.port);
  p = { host, port, path: u.pathname || '/', query: u.search.length > 1 ? u.search.slice(1) : '', key: `${host}:${port}`, ssl };
  if (urls.size >= URLS_MAX) urls.delete(urls.keys().next().value!);
  urls.set(url, p);
  return p;
}

/** keepaliveTimeout: a number is ms (as lua-resty-http's keepalive_timeout); a string is nginx notation. */
function keepaliveMs(v: string | number): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v;
  } else {
    try {
      return parseTime(v, 'keepaliveTimeout');
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
    }
  }
  throw new HttpClientError('EINVAL', `requestUri(): invalid keepaliveTimeout ${JSON.stringify(v)} (ms, or a time such as "60s", "1h")`);
}

/** The method, upper-cased (checked as a token by buildRequest). */
function upperMethod(m: unknown): string {
  return m === undefined ? 'GET' : typeof m === 'string' ? m.toUpperCase() : String(m);
}

/**
 * The request head as bytes. Every string from the caller is checked before it reaches the wire
 * (field.ts): the method is a token, the target has no space or control character, header names
 * are tokens and values hold no control character; text above U+007F goes as its UTF-8 bytes.
 * Throws HttpClientError EINVAL, naming the call (`where`) and what was wrong.
 */
function buildRequest(where: string, method: string, host: string, port: number, path: string, query: string | ArgsInput | undefined,
  headers: Record<string, string | readonly string[]> | undefined, body: string | Buffer | undefined, keepalive: boolean, ssl = false): Buffer {
  if (!isToken(method)) throw new HttpClientError('EINVAL', `${where}: invalid method ${JSON.stringify(method)} (a method is an RFC 9110 token)`);
  let target = path.startsWith('/') ? path : '/' + path;
  const q = query === undefined ? '' : typeof query === 'string' ? query : encodeArgs(query);
  if (q !== '') target += (target.includes('?') ? '&' : '?') + q;
  const tk = targetValue(target);
  if (tk === FV_BAD) throw new HttpClientError('EINVAL', `${where}: invalid path ${JSON.stringify(target)} (spaces and control characters are not allowed)`);
  const have = new Set<string>();
  let s = `${method} ${tk === FV_UTF8 ? utf8Latin1(target) : target} HTTP/1.1\r\n`;
  if (headers !== undefined) {
    for (const name of Object.keys(headers)) {
      if (!isToken(name)) throw new HttpClientError('EINVAL', `${where}: invalid header name ${JSON.stringify(name)} (a field name is an RFC 9110 token)`);
      const v = headers[name];
      const values = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(values)) throw new HttpClientError('EINVAL', `${where}: the value of header "${name}" must be a string or an array of strings`);
      for (const value of values) {
        if (typeof value !== 'string') throw new HttpClientError('EINVAL', `${where}: the value of header "${name}" must be a string or an array of strings`);
        const k = fieldValue(value);
        if (k === FV_BAD) throw new HttpClientError('EINVAL', `${where}: invalid value for header "${name}" (control characters such as CR, LF and NUL are not allowed)`);
        s += `${name}: ${k === FV_UTF8 ? utf8Latin1(value) : value}\r\n`;
      }
      have.add(name.toLowerCase());
    }
  }
  if (!have.has('host')) s += `Host: ${host.includes(':') ? `[${host}]` : host}${port === (ssl ? 443 : 80) ? '' : ':' + port}\r\n`;
  if (!have.has('user-agent')) s += `User-Agent: sluice-http/${SERVER_VERSION}\r\n`;
  if (!keepalive && !have.has('connection')) s += 'Connection: close\r\n';
  if (body !== undefined && !have.has('content-length') && !have.has('transfer-encoding')) {
    s += `Content-Length: ${typeof body === 'string' ? Buffer.byteLength(body) : body.length}\r\n`;
  } else if (body === undefined && (method === 'POST' || method === 'PUT' || method === 'PATCH') && !have.has('content-length')) {
    s += 'Content-Length: 0\r\n';
  }
  s += '\r\n';
  return Buffer.from(s, 'latin1');
}
