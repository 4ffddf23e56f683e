// cf. ngx_http_proxy_module.c and ngx_http_upstream.c — proxyPass: build the upstream request,
// pick a peer (with failover), and pass the response through the filter chains, the body as
// views of the upstream's socket chunks, with backpressure from the client back to the upstream.
// The same code serves main requests and subrequests (a capture gets `truncated` where a client
// connection would be cut).

import { isUtf8 } from 'node:buffer';
import { Buf, link } from '../../core/buf.js';
import { AGAIN, ERROR } from '../../filters/filter.js';
import {
  NU_ERROR, NU_HTTP_403, NU_HTTP_404, NU_HTTP_429, NU_HTTP_500, NU_HTTP_502, NU_HTTP_503,
  NU_HTTP_504, NU_INVALID_HEADER, NU_NON_IDEMPOTENT, NU_TIMEOUT, type ProxyTarget, type RedirectRule, proxyTlsClient, resolveTarget,
} from './proxy.js';
import { TlsDial, sslName } from '../upstream/ssl.js';
import { FV_ASCII, FV_BAD, FV_UTF8, fieldValue, isToken, targetValue, utf8Latin1 } from '../../core/field.js';
import { logError } from '../../core/log.js';
import { expandVariables } from '../variables.js';
import { escapeUri } from '../../lua/ngx.js';
import {
  H_CONNECTION, H_CONTENT_LENGTH, H_DATE, H_HOST, H_KEEP_ALIVE, H_LOCATION, H_OTHER, H_PROXY_CONNECTION,
  H_SERVER, H_TE, H_TRAILER, H_TRANSFER_ENCODING, H_UPGRADE, H_EXPECT, KNOWN_HEADER_NAMES, type MessageHead,
} from '../parser/types.js';
import { ExitSignal, type Request } from '../request.js';
import { resumeRequest } from '../core.js';
import { SUSPENDED } from '../conf/module.js';
import {
  Exchange, FAIL_CONNECT, FAIL_INVALID, FAIL_SSL, FAIL_STALE, FAIL_TIMEOUT, idempotent, type ExchangeHandler,
} from '../upstream/connection.js';
import type { Peer, UpstreamGroup } from '../upstream/upstream.js';
import { UpstreamInfo, UpstreamState } from '../upstream/state.js';
import { SYSTEM_CLOCK, type Clock } from '../../core/clock.js';
import type { Socket } from 'node:net';
import { Tunnel, TUNNEL_CLIENT_TIMEOUT, TUNNEL_UPSTREAM_TIMEOUT } from '../upstream/tunnel.js';

/** Request headers never passed upstream as they are (hop-by-hop, or set by us). */
function skipRequestHeader(id: number): boolean {
  return id === H_HOST || id === H_CONNECTION || id === H_KEEP_ALIVE || id === H_TE || id === H_TRAILER
    || id === H_TRANSFER_ENCODING || id === H_UPGRADE || id === H_PROXY_CONNECTION
    || id === H_CONTENT_LENGTH || id === H_EXPECT;
}

/** Response headers not passed to the client (hop-by-hop, and proxy_hide_header's defaults). */
function skipResponseHeader(id: number, lower: string): boolean {
  return id === H_CONNECTION || id === H_KEEP_ALIVE || id === H_TRANSFER_ENCODING || id === H_UPGRADE
    || id === H_PROXY_CONNECTION || id === H_TE || id === H_TRAILER || id === H_DATE || id === H_SERVER
    || lower === 'x-pad' || lower.startsWith('x-accel-');
}

/** The content handler of a location with proxyPass. */
export function proxyHandler(r: Request): Promise<void> | number {
  let t = r.conf.proxyPass!;
  if (t.dynamic) {
    // a proxyPass with variables: the URL and its group for this request
    const rt = resolveTarget(r, t);
    if (typeof rt === 'number') {
      (r.upstream ??= new UpstreamInfo()).target = null;
      return Promise.reject(new ExitSignal('exit', rt));
    }
    t = rt;
  }
  // no promise: the run ends the request itself (nginx's NGX_DONE, then finalize)
  new ProxyRun(r, t).start();
  return SUSPENDED;
}

class ProxyRun implements ExchangeHandler {
  readonly r: Request;
  readonly target: ProxyTarget;
  readonly group: UpstreamGroup;
  readonly tried: Set<Peer>;
  peer: Peer | null;
  x: Exchange | null;
  head: Buffer | null;
  body: Buffer[];
  streaming: boolean;
  chunkedUp: boolean;
  /** The response header went down the filters: no other peer may be tried now. */
  sent: boolean;
  tries: number;
  /** This try's record ($upstream_* variables), or null between tries. */
  state: UpstreamState | null;
  /** The last response head's fields, name and value (for pass() and $upstream_http_*). */
  fields: string[] | null;
  readonly clock: Clock;
  /** After a 101: the two sockets joined, and the exchange that got the 101 (for its counts). */
  tunnel: Tunnel | null;
  private upgraded: Exchange | null;
  private upgradedRest: number;
  /** The request-target sent upstream (nginx's u->uri, for the error log's "upstream:"). */
  private upstreamUri: string;
  /** https: the name checked and the SNI sent (ngx_http_upstream_ssl_name), worked out once per request. */
  private ssl: { name: string; sni: string | null } | null;
  private done: boolean;
  private readonly resumeX: () => void;
  private readonly clientGone: () => void;

  constructor(r: Request, target: ProxyTarget) {
    this.r = r;
    this.target = target;
    this.group = target.group as UpstreamGroup;
    this.tried = new Set();
    this.peer = null;
    this.x = null;
    this.head = null;
    this.body = [];
    this.streaming = false;
    this.chunkedUp = false;
    this.sent = false;
    this.tries = 0;
    this.state = null;
    this.fields = null;
    this.clock = r.main.hc?.clock ?? SYSTEM_CLOCK;
    this.tunnel = null;
    this.upgraded = null;
    this.upgradedRest = 0;
    this.upstreamUri = '';
    this.ssl = null;
    // a later proxying of the same request (after an internal redirect) is set apart by a separator
    let up = r.upstream;
    if (up === null) r.upstream = up = new UpstreamInfo();
    else up.states.push(new UpstreamState(null, 0));
    up.target = target;
    this.done = false;
    this.resumeX = () => { if (this.x !== null) this.x.resume(); };
    this.clientGone = () => this.abandon();
  }

  start(): void {
    const r = this.r;
    // the client connection closing ends the exchange (proxy_ignore_client_abort off)
    if (r === r.main && r.conn !== null) {
      r.addCleanup(this.clientGone);
      r.onClientAbort = this.clientGone; // a FIN while we wait for the upstream
    }
    const rb = r.requestBody;
    const streaming = r.conf.proxyPassRequestBody && rb !== null && r.hasBody() && !rb.complete;
    if (streaming) {
      if (rb.error !== 0) { this.finish(rb.error); return; }
      if (r.contentLengthIn < 0 && r.conf.proxyHttpVersion !== '1.1') {
        // HTTP/1.0 cannot frame a body of unknown length: read it all first
        r.readBody().then(() => this.start(), (e) => { this.done = true; resumeRequest(this.r, e); });
        return;
      }
    }
    const head = this.buildHead();
    if (head === null) { this.finish(500); return; } // refused and logged: nothing goes upstream
    this.head = head;
    if (streaming) {
      // the body is still arriving: stream it as it comes (100-continue is sent for it)
      this.streaming = true;
      rb.stream = this;
      r.main.hc?.wantBody(r);
    }
    this.next();
  }

  /** Try the next peer, or answer 502 when none is left. */
  private next(): void {
    const r = this.r;
    const max = r.conf.proxyNextUpstreamTries;
    const hashKey = typeof this.group.balance === 'object' ? expand(r, this.group.balance.hash, this.target) : null;
    const peer = max > 0 && this.tries >= max ? null : this.group.select(this.tried, hashKey);
    if (peer === null) {
      if (this.tries === 0) logError('error', r, `no live upstreams while connecting to upstream "${this.group.name}"`);
      // nginx records the try, under the group's name
      const st = new UpstreamState(this.group.name, 0);
      st.responseTime = 0;
      st.status = 502;
      r.upstream!.states.push(st);
      this.finish(this.lastStatus);
      return;
    }
    this.tries++;
    this.tried.add(peer);
    this.peer = peer;
    peer.conns++;
    this.newState();
    this.connect(peer, false);
  }

  private lastStatus = 502;

  /** A new try: its record goes on the request's list. */
  private newState(): void {
    this.state = new UpstreamState(this.peer!.name, this.clock.now());
    this.r.upstream!.states.push(this.state);
  }

  /** The try is over: its response time and byte counts. */
  private endState(x: Exchange | null): void {
    const st = this.state;
    if (st === null) return;
    this.state = null;
    if (st.responseTime === -1) st.responseTime = this.clock.now() - st.start;
    if (x !== null) {
      st.bytesSent = x.bytesSent;
      st.bytesReceived = x.bytesReceived;
    }
  }

  onConnected(x: Exchange): void {
    const st = this.state;
    if (x === this.x && st !== null && st.connectTime === -1) st.connectTime = this.clock.now() - st.start;
  }

  private connect(peer: Peer, fresh: boolean): void {
    const r = this.r;
    const conf = r.conf;
    let key = peer.name;
    let tls: TlsDial | null = null;
    if (this.target.ssl) {
      // TLS over the connection (nginx's ngx_http_upstream_ssl_init_connection); the pool keeps
      // it apart from plain ones and from other contexts' and names'
      let sn = this.ssl;
      if (sn === null) {
        const t = this.target;
        const raw = conf.proxySslName !== null ? conf.proxySslName.run(r) : t.host.includes(':') ? `[${t.host}]` : t.host;
        sn = this.ssl = sslName(raw, conf.proxySslServerName);
      }
      tls = new TlsDial(proxyTlsClient(conf), sn.sni, sn.name, peer.name);
      key = tls.poolKey();
    }
    const x = this.x = new Exchange(peer.host, peer.port, key, this.group.pool, this,
      { connect: conf.proxyConnectTimeout, send: conf.proxySendTimeout, read: conf.proxyReadTimeout },
      r.method === 'HEAD', this.clock, tls);
    const rb = r.requestBody;
    const body: Buffer[] = [];
    if (conf.proxyPassRequestBody && rb !== null) {
      for (let c = rb.head; c !== null; c = c.next) {
        const v = c.buf.view();
        if (this.chunkedUp) body.push(Buffer.from(v.length.toString(16) + '\r\n'), v, CRLF);
        else body.push(v);
      }
      if (this.streaming && rb.complete && this.chunkedUp) body.push(LAST_CHUNK);
    }
    x.start(this.head!, body, this.streaming && !rb!.complete, fresh);
  }

  /** BodyStream: the client's body goes on arriving while we stream it. */
  data(chunk: Buffer, start: number, end: number): void {
    const x = this.x;
    if (x === null) return;
    const v = chunk.subarray(start, end);
    if (this.chunkedUp) x.write(Buffer.from(v.length.toString(16) + '\r\n'));
    x.write(v);
    if (this.chunkedUp) x.write(CRLF);
  }

  end(): void {
    const x = this.x;
    if (x === null) return;
    if (this.chunkedUp) x.write(LAST_CHUNK);
    x.end();
  }

  /**
   * BodyStream: the client's body failed (400 bad chunk, 408 timeout, 413 too large). The
   * exchange cannot be completed: close the upstream connection (never pooled) and answer
   * `status` at once, as nginx does with request buffering off.
   */
  error(status: number): void {
    if (this.done) return;
    this.drop();
    // a response already under way is cut (main request) or truncated (capture)
    if (this.sent) this.r.truncated = true;
    this.finish(status);
  }

  // ---------------------------------------------------------------- the exchange's events

  onHead(x: Exchange, h: MessageHead): void {
    if (x !== this.x) return;
    const r = this.r;
    const status = h.statusCode;
    const st = this.state;
    if (st !== null) {
      st.headerTime = this.clock.now() - st.start;
      st.status = status;
    }
    this.fields = headFields(h);
    r.upstream!.headers = this.fields;
    if (status === 101) { this.switching(x, h); return; }
    const nu = r.conf.proxyNextUpstream;
    const bit = status === 500 ? NU_HTTP_500 : status === 502 ? NU_HTTP_502 : status === 503 ? NU_HTTP_503
      : status === 504 ? NU_HTTP_504 : status === 403 ? NU_HTTP_403 : status === 404 ? NU_HTTP_404
      : status === 429 ? NU_HTTP_429 : 0;
    if (bit !== 0 && (nu & bit) !== 0 && this.mayRetry() && this.hasNext()) {
      // a listed status fails this peer (403 and 404 do not count against it); try the next one.
      // With no other peer left the answer goes to the client as it is, body and all.
      if (status !== 403 && status !== 404) this.group.fail(this.peer!);
      this.endState(x);
      this.release();
      x.abort();
      this.lastStatus = status;
      this.next();
      return;
    }
    this.group.succeed(this.peer!);
    if (status >= 300 && r.conf.proxyInterceptErrors && interceptable(r, status)) {
      // proxy_intercept_errors: the error page for this status answers instead; the upstream's
      // body is not read, and its connection is closed
      if (status === 401) {
        const f = this.fields!;
        for (let i = 0; i < f.length; i += 2) {
          if (f[i].toLowerCase() === 'www-authenticate') { r.headersOut.add('WWW-Authenticate', f[i + 1]); break; }
        }
      }
      this.endState(x);
      this.release();
      this.x = null;
      x.abort();
      this.finish(status);
      return;
    }
    this.pass(x, h);
  }

  /**
   * A 101 (ngx_http_proxy_process_header, ngx_http_upstream_upgrade): for a request that asked
   * for a protocol (its Upgrade header), the 101 goes to the client with the upstream's headers
   * and both connections become a tunnel once the head is out; the upstream connection is never
   * pooled. A 101 nobody asked for is an invalid answer (nginx would pass it on and then the
   * upstream's bytes as its body).
   */
  private switching(x: Exchange, h: MessageHead): void {
    const r = this.r;
    if (!r.headersIn.hasKnown(H_UPGRADE)) {
      x.abort();
      this.onFail(x, FAIL_INVALID, new Error('upstream sent "101 Switching Protocols" to a request without "Upgrade"'));
      return;
    }
    if (r !== r.main || r.main.hc?.upgrade === undefined || r.conn === null) {
      logError('error', r, 'connection upgrade in subrequest');
      this.endState(x);
      this.release();
      this.x = null;
      x.abort();
      this.finish(502);
      return;
    }
    this.group.succeed(this.peer!);
    this.pass(x, h, true);
    if (this.x === x && this.sent) x.upgrade();
  }

  /** Exchange: the 101's socket is ours, with what the upstream sent past the head. */
  onUpgraded(x: Exchange, up: Socket, rest: Buffer | null): void {
    const r = this.r;
    if (x !== this.x || this.done) { up.destroy(); return; }
    this.x = null;
    this.upgraded = x;
    this.upgradedRest = rest === null ? 0 : rest.length;
    const fromClient = r.main.hc!.upgrade!(r);
    const c = r.conn;
    if (fromClient === null || c === null || c.closed) {
      up.destroy();
      this.endState(x);
      this.release();
      this.finish(502); // the 101 went but the connection cannot be joined: it is cut
      return;
    }
    // the request is over for HTTP: nothing more goes out through the filters, no keep-alive
    r.outputDone = true;
    r.keepalive = false;
    const conf = r.conf;
    if (conf.tcpNodelay) c.socket.setNoDelay(true);
    this.tunnel = new Tunnel(c.socket, up, fromClient, rest,
      { read: conf.proxyReadTimeout, send: conf.proxySendTimeout, clientSend: conf.sendTimeout }, this.clock,
      (t) => this.tunnelDone(t));
  }

  /** Both sockets of the tunnel are closed: the request ends (its access log line now, as nginx's). */
  private tunnelDone(t: Tunnel): void {
    const r = this.r;
    if (t.reason === TUNNEL_UPSTREAM_TIMEOUT) logError('info', r, 'upstream timed out (110: Connection timed out) while proxying upgraded connection');
    else if (t.reason === TUNNEL_CLIENT_TIMEOUT) logError('info', r, 'client timed out (110: Connection timed out) while proxying upgraded connection');
    r.bodyBytesSent += t.down;
    const x = this.upgraded;
    const st = this.state;
    this.endState(x);
    if (st !== null && x !== null) {
      st.bytesSent = x.bytesSent + t.up;
      st.bytesReceived = x.bytesReceived + t.down - this.upgradedRest;
    }
    this.release();
    this.complete();
  }

  /** Status and headers down the header filters (`upgrade`: a 101's, Upgrade passed on). */
  private pass(x: Exchange, h: MessageHead, upgrade = false): void {
    const r = this.r;
    const out = r.headersOut;
    out.status = h.statusCode;
    // the upstream's reason phrase goes on to the client, as nginx passes its status line
    out.statusLine = h.reasonEnd > h.reasonStart ? h.buf.toString('latin1', h.reasonStart, h.reasonEnd) : null;
    const buf = h.buf;
    const hs = h.headers;
    const n = h.headerCount;
    // names its Connection header lists are hop-by-hop too (RFC 9110 §7.6.1); only looked for
    // when there is a Connection header
    let hop: string[] | null = null;
    for (let o = 4; o < n * 5; o += 5) {
      if (hs[o] === H_CONNECTION) hop = connectionTokens(buf.toString('latin1', hs[o - 2], hs[o - 1]), hop);
    }
    const f = this.fields!;
    try {
      for (let i = 0, o = 0; i < n; i++, o += 5) {
        const id = hs[o + 4];
        const name = f[2 * i];
        const lower = id === H_OTHER ? name.toLowerCase() : '';
        if (upgrade && id === H_UPGRADE) { out.add(name, f[2 * i + 1]); continue; }
        if (skipResponseHeader(id, lower)) continue;
        if (hop !== null && hop.includes(id === H_OTHER ? lower : KNOWN_HEADER_NAMES[id])) continue;
        let value = f[2 * i + 1];
        // the length the parser framed the body by: -1 when chunked won over a Content-Length
        // beside it (RFC 9112 §6.3), so the client never gets a length the body does not have
        if (id === H_CONTENT_LENGTH) { if (!upgrade && !r.headerOnly && h.contentLength >= 0) out.contentLength = h.contentLength; continue; }
        if (id === H_LOCATION) value = this.redirect(value, 0, true);
        else if (id === H_OTHER && lower === 'refresh') value = refreshRedirect(value, this);
        out.add(name, value);
      }
    } catch (e) {
      // HeadersOut refused a field (the parser should never let one through): a bad response
      out.reset();
      x.abort();
      this.onFail(x, FAIL_INVALID, new Error(`response header refused: ${(e as Error).message}`));
      return;
    }
    if (h.contentLength >= 0 && r.method === 'HEAD' && !upgrade) out.contentLength = h.contentLength;
    out.typeAsIs = true;
    this.sent = true;
    r.sendHeader();
  }

  /**
   * proxy_redirect (ngx_http_proxy_rewrite_redirect): value[at..] rewritten by the first rule
   * that matches. A rewritten Location that is relative is made absolute by sendHeader
   * (absoluteRedirect), as nginx's header filter does; one no rule matched is left as the upstream
   * sent it, as there (locationAsIs).
   */
  redirect(value: string, at: number, location: boolean): string {
    const rd = this.r.conf.proxyRedirect;
    if (rd === 'off') {
      if (location) this.r.headersOut.locationAsIs = true;
      return value;
    }
    for (let i = 0; i < rd.length; i++) {
      const out = this.rewrite(rd[i], value, at);
      if (out !== null) return out;
    }
    // no rule matched: the value stays as sent, and a relative Location is not made absolute
    if (location) this.r.headersOut.locationAsIs = true;
    return value;
  }

  /** One rule on value[at..], or null when it does not match. */
  private rewrite(rule: RedirectRule, value: string, at: number): string | null {
    const r = this.r;
    if (rule.kind === 'regex') {
      // matched anywhere in the rest, which the replacement then replaces whole
      const m = rule.re.exec(at === 0 ? value : value.slice(at));
      return m === null ? null : value.slice(0, at) + expandCaptures(r, rule.to, m);
    }
    let from: string, to: string;
    if (rule.kind === 'prefix') {
      from = rule.from.indexOf('$') < 0 ? rule.from : expandVariables(r, rule.from);
      if (from === '' || !value.startsWith(from, at)) return null;
      to = expandCaptures(r, rule.to, null);
    } else {
      // default: the proxyPass URL becomes the location's prefix, or, without a URI part,
      // the URL + '/' becomes '/'; nothing for a proxyPass with variables (nginx has no URL then)
      const t = this.target;
      if (t.dynamic) return null;
      const loc = r.loc;
      if (t.uri !== null) {
        if (loc === null || loc.kind === 'regex' || loc.kind === 'iregex' || loc.kind === 'named') return null;
        from = t.url;
        to = loc.path;
      } else {
        from = t.url + '/';
        to = '/';
      }
      if (!value.startsWith(from, at)) return null;
    }
    return value.slice(0, at) + to + value.slice(at + from.length);
  }

  onData(x: Exchange, chunk: Buffer, start: number, end: number): void {
    if (x !== this.x || end <= start) return;
    const r = this.r;
    if (this.state !== null) this.state.responseLength += end - start;
    if (r.outputDone) return;
    r.bodyBytesSent += end - start;
    const rc = r.chains.output(r, link(Buf.memory(chunk, start, end)));
    if (rc === ERROR) { this.abandon(); return; } // the client is gone: stop reading the upstream
    if (rc === AGAIN || r.blocked()) {
      // the client (or a capture stream's reader) is slow: stop reading the upstream meanwhile
      x.pause();
      r.waitWritable().then(this.resumeX, this.resumeX);
    }
  }

  onEnd(x: Exchange): void {
    if (x !== this.x) return;
    this.endState(x);
    this.release();
    this.x = null;
    if (!this.sent) { this.finish(502); return; }
    this.complete();
  }

  onFail(x: Exchange, kind: number, err: Error | null): void {
    if (x !== this.x) return;
    const r = this.r;
    const timeout = kind === FAIL_TIMEOUT;
    if (this.state !== null && !this.sent) this.state.status = timeout ? 504 : 502;
    this.endState(x);
    if (kind === FAIL_STALE && (idempotent(r.method) || !x.requestSent)) {
      // a kept connection had died: the same peer again on a fresh one, not a failure (nginx
      // records it as a try of its own)
      this.newState();
      this.connect(this.peer!, true);
      return;
    }
    this.release();
    this.x = null;
    if (kind === FAIL_SSL) {
      // nginx's line, with the upstream URL it adds (the verify error, or SSL_do_handshake's)
      logError('error', r, `${err?.message ?? 'SSL handshake failed'} while SSL handshaking to upstream`, null,
        `https://${this.peer!.name}${this.upstreamUri}`);
    } else {
      logError('error', r, `${err?.message ?? 'upstream failed'} while proxying to "${this.peer!.name}"`);
    }
    if (this.sent) {
      // too late for another peer: a client connection is cut, a capture is truncated
      r.truncated = true;
      this.finish(502); // the header is out: finalize cuts the connection or truncates
      return;
    }
    this.group.fail(this.peer!);
    this.lastStatus = timeout ? 504 : 502;
    const nu = r.conf.proxyNextUpstream;
    const cond = timeout ? NU_TIMEOUT : kind === FAIL_INVALID ? NU_INVALID_HEADER : NU_ERROR;
    if ((nu & cond) !== 0 && this.mayRetry(kind === FAIL_CONNECT || kind === FAIL_SSL) && this.hasNext()) {
      this.next();
      return;
    }
    this.finish(this.lastStatus);
  }

  // ---------------------------------------------------------------- helpers

  /** Another peer may get this request: nothing went to the client, and it is safe to resend. */
  private mayRetry(connectFailed = false): boolean {
    if (this.sent) return false;
    const r = this.r;
    if (connectFailed || idempotent(r.method)) return true;
    return (r.conf.proxyNextUpstream & NU_NON_IDEMPOTENT) !== 0;
  }

  private hasNext(): boolean {
    const max = this.r.conf.proxyNextUpstreamTries;
    if (max > 0 && this.tries >= max) return false;
    return this.group.hasPeer(this.tried); // not select(): that would move the round-robin on
  }

  private release(): void {
    if (this.peer !== null && this.peer.conns > 0) this.peer.conns--;
  }

  private complete(): void {
    if (this.done) return;
    this.done = true;
    if (this.r.requestBody?.stream === this) this.r.requestBody.stream = null;
    resumeRequest(this.r, null);
  }

  private finish(status: number): void {
    if (this.done) return;
    this.done = true;
    if (this.r.requestBody?.stream === this) this.r.requestBody.stream = null;
    resumeRequest(this.r, new ExitSignal('exit', status));
  }

  /** The client went away (nginx's 499): close the upstream connection, end the request. */
  private abandon(): void {
    if (this.done) return;
    // a tunnel ends as it does when either side closes (its own close event completes the run)
    if (this.tunnel !== null) { this.tunnel.close(); return; }
    this.drop();
    this.finish(499);
  }

  /** Give up on the exchange in progress: its connection is closed, never pooled. */
  private drop(): void {
    const x = this.x;
    this.x = null;
    this.endState(x);
    if (x !== null) {
      x.abort();
      this.release();
    }
  }

  /**
   * The request line and headers for the upstream (ngx_http_proxy_create_request), or null when
   * a part of it cannot go on the wire (logged): a method that is not a token, a URI with a
   * space or a control character, a header value with a control character. The head is built
   * as a latin1 string: the client's headers are the parser's bytes as they came, and anything
   * above U+007F from elsewhere (config, handlers, variables) goes as its UTF-8 bytes.
   */
  private buildHead(): Buffer | null {
    const r = this.r;
    const conf = r.conf;
    const t = this.target;
    const v11 = conf.proxyHttpVersion === '1.1';
    const keep = v11 && this.group.pool !== null;

    let uri: string;
    if (t.dynamic && t.uri !== null) {
      // a proxyPass with variables and a URI part: that URI is the whole of it (nginx: no args added)
      uri = t.uri;
    } else if (t.uri === null) {
      uri = r === r.main && !r.internal ? r.unparsedUri : escapeUri(r.uri, 0) + (r.args ? '?' + r.args : '');
    } else {
      const loc = r.loc;
      const rest = loc !== null && (loc.kind === 'prefix' || loc.kind === 'noregex') && r.uri.startsWith(loc.path)
        ? r.uri.slice(loc.path.length) : '';
      uri = t.uri + escapeUri(rest, 0) + (r.args ? '?' + r.args : '');
    }
    // the args (set by a handler, a capture, $args) and the method may be anything by now
    if (!isToken(r.method)) return refuse(r, `invalid method ${JSON.stringify(r.method)}`);
    const uk = targetValue(uri);
    if (uk === FV_BAD) return refuse(r, `invalid URI ${JSON.stringify(uri)} (spaces and control characters are not allowed)`);
    if (uk === FV_UTF8) uri = utf8Latin1(uri);
    this.upstreamUri = uri;

    // proxy_set_header: ours first, as nginx puts them before the client's
    const plan = headPlan(conf, t, keep);
    let s = `${r.method} ${uri} HTTP/${conf.proxyHttpVersion}\r\n`;
    if (plan.lines !== null) {
      s += plan.lines;
    } else {
      const pairs = plan.pairs;
      for (let i = 0; i < pairs.length; i++) {
        const p = pairs[i];
        let v = p.value;
        if (p.dynamic) {
          v = expand(r, v, t);
          const k = fieldValue(v);
          if (k === FV_BAD) return refuse(r, `invalid header value for "${p.name}" from proxySetHeader (control characters are not allowed)`);
          if (k === FV_UTF8) v = utf8Latin1(v);
        }
        if (v !== '') s += `${p.name}: ${v}\r\n`;
      }
    }
    // the body's framing next, before the client's own headers, where nginx puts it
    const rb = r.requestBody;
    if (conf.proxyPassRequestBody && rb !== null && r.hasBody()) {
      if (rb.complete) s += `Content-Length: ${rb.size}\r\n`;
      else if (r.contentLengthIn >= 0) s += `Content-Length: ${r.contentLengthIn}\r\n`;
      else { s += 'Transfer-Encoding: chunked\r\n'; this.chunkedUp = true; }
    } else if (r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH') {
      s += 'Content-Length: 0\r\n';
    }
    if (conf.proxyPassRequestHeaders) {
      const hi = r.headersIn;
      // the names the client's Connection header lists are hop-by-hop (RFC 9110 §7.6.1)
      const hop = hi.hasKnown(H_CONNECTION) ? requestHopByHop(hi.getAll('connection')) : null;
      for (let i = 0; i < hi.count; i++) {
        const id = hi.id(i);
        if (skipRequestHeader(id)) continue;
        const name = hi.name(i);
        const lower = id === H_OTHER ? name.toLowerCase() : KNOWN_HEADER_NAMES[id];
        if (plan.names.has(lower)) continue;
        if (hop !== null && hop.includes(lower)) continue;
        let value = hi.value(i);
        // from the parser both are safe bytes; a handler's headersIn.set() may have put anything here
        const k = fieldValue(value);
        if (k !== FV_ASCII || !isToken(name)) {
          if (!isToken(name)) return refuse(r, `invalid header name ${JSON.stringify(name)}`);
          if (k === FV_BAD) return refuse(r, `invalid header value for "${name}" (control characters are not allowed)`);
          // chars up to U+00FF are the bytes as received; a wider one means a string given as text
          if (wide(value)) value = utf8Latin1(value);
        }
        s += `${name}: ${value}\r\n`;
      }
    }
    s += '\r\n';
    return Buffer.from(s, 'latin1');
  }
}

/** The response head's fields as strings, name and value in turn (made once per head). */
function headFields(h: MessageHead): string[] {
  const buf = h.buf;
  const hs = h.headers;
  const n = h.headerCount;
  const f = new Array<string>(2 * n);
  for (let i = 0, o = 0; i < n; i++, o += 5) {
    f[2 * i] = buf.toString('latin1', hs[o], hs[o + 1]);
    f[2 * i + 1] = wireValue(buf, hs[o + 2], hs[o + 3]);
  }
  return f;
}

/** An error page is set for `status` where the request is (error_page; the core's, when there). */
function interceptable(r: Request, status: number): boolean {
  const pages = (r.conf as { errorPage?: { has?(code: number): boolean } | null }).errorPage;
  return pages?.has?.(status) === true;
}

/**
 * A replacement with its regex captures ($1..$9, one digit as in nginx's scripts) and
 * $variables filled in.
 */
function expandCaptures(r: Request, s: string, m: RegExpExecArray | null): string {
  if (s.indexOf('$') < 0) return s;
  return s.replace(/\$(?:\{(\w+)\}|(\w+))/g, (all: string, a: string | undefined, b: string | undefined) => {
    const name = a ?? b!;
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) {
      const g = m?.[c - 48] ?? '';
      // $1abc is capture 1 then "abc"; ${1} is capture 1
      return a !== undefined ? (name.length === 1 ? g : '') : g + name.slice(1);
    }
    return expandVariables(r, all);
  });
}

/** Log why the upstream request cannot be made; the caller answers 500. */
function refuse(r: Request, why: string): null {
  logError('error', r, `${why} in the request to upstream`);
  return null;
}

/** A char above U+00FF: the string is text, not bytes as they came off the wire. */
function wide(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return true;
  return false;
}

/**
 * The field names a Connection header lists besides keep-alive and close, lower-cased, added to
 * `into` (made when the first one is found: null stays null in the common case).
 */
function connectionTokens(value: string, into: string[] | null): string[] | null {
  // the usual value, a single keep-alive or close, without a split
  const l = value.trim().toLowerCase();
  if (l === 'keep-alive' || l === 'close') return into;
  const parts = l.split(',');
  for (let i = 0; i < parts.length; i++) {
    const tok = parts[i].trim();
    if (tok === '' || tok === 'keep-alive' || tok === 'close') continue;
    (into ??= []).push(tok);
  }
  return into;
}

function requestHopByHop(values: string[]): string[] | null {
  let hop: string[] | null = null;
  for (let i = 0; i < values.length; i++) hop = connectionTokens(values[i], hop);
  return hop;
}

/**
 * A response header value for HeadersOut, whose serialiser sends text above U+007F as UTF-8:
 * bytes that are UTF-8 become that text, so they leave as they came; other bytes above 0x7F
 * (obs-text) are read one char per byte and so leave UTF-8-encoded, still never a control byte.
 */
function wireValue(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if (buf[i] >= 0x80) return buf.toString(isUtf8(buf.subarray(start, end)) ? 'utf8' : 'latin1', start, end);
  }
  return buf.toString('latin1', start, end);
}

/**
 * The headers a location sets upstream (Host, Connection, proxySetHeader), worked out once per
 * location: the lines themselves when no value has a $variable, else the pairs to expand per
 * request; and the lower-case names, whose client headers are not passed. Values were checked
 * when the config was loaded; the static ones are kept as their wire bytes (UTF-8 above U+007F).
 */
interface HeadPlan {
  lines: string | null;
  pairs: PlanPair[];
  names: Set<string>;
}
interface PlanPair {
  name: string;
  /** The wire form when static, else the template to expand. */
  value: string;
  dynamic: boolean;
}
const plans = new WeakMap<object, HeadPlan>();

/** The plan of a location: everything it depends on (the target, the version, the group's pool) is in `conf`. */
function headPlan(conf: Request['conf'], t: ProxyTarget, keep: boolean): HeadPlan {
  // a target worked out per request (proxyPass with variables) has its own Host and pool
  let plan = t.dynamic ? undefined : plans.get(conf);
  if (plan !== undefined) return plan;
  // as nginx sends them (ngx_http_proxy_init_headers): the proxySetHeader lines in the order
  // written, then the defaults they did not set, Host and then Connection
  const byName = new Map<string, [string, string]>();
  for (const [name, value] of conf.proxySetHeader) byName.set(name.toLowerCase(), [name, value]);
  if (!byName.has('host')) byName.set('host', ['Host', t.proxyHost]);
  if (!byName.has('connection')) byName.set('connection', ['Connection', keep ? '' : 'close']);
  const pairs: PlanPair[] = [];
  for (const [name, value] of byName.values()) {
    const dynamic = value.includes('$');
    pairs.push({ name, value: dynamic || fieldValue(value) !== FV_UTF8 ? value : utf8Latin1(value), dynamic });
  }
  let lines: string | null = '';
  for (const p of pairs) {
    if (p.dynamic) { lines = null; break; }
    if (p.value !== '') lines += `${p.name}: ${p.value}\r\n`;
  }
  plan = { lines, pairs, names: new Set(byName.keys()) };
  if (!t.dynamic) plans.set(conf, plan);
  return plan;
}

/** Refresh: "5; url=http://..." — the URL after "url=" goes through proxy_redirect. */
function refreshRedirect(value: string, run: ProxyRun): string {
  const i = value.search(/url=/i);
  return i < 0 ? value : run.redirect(value, i + 4, false);
}

const CRLF = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** $variables in proxySetHeader values and hash keys ($proxy_host and the like are variables of proxy.ts). */
function expand(r: Request, s: string, _t: ProxyTarget): string {
  return expandVariables(r, s);
}
