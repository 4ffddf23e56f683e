// cf. ngx_http_request.c (ngx_http_ssl_handshake, ngx_http_ssl_servername) and ngx_event_openssl.c —
// a connection on a `listen ... ssl` address: its first bytes tell TLS from plain HTTP (plain HTTP
// is read as a request and answered 497, as nginx does), the ClientHello's SNI picks the virtual
// server and so its certificates, then the same HTTP connection runs over the TLS socket.
//
// Node has no peek: the bytes read to decide are pushed back (unshift) and node:tls reads what a
// socket holds before its first read. Each server gets its own SecureContext (all its certificate
// pairs, its client CA), made when the server starts, so a reload takes new certificates.

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { TLSSocket, createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { constants } from 'node:crypto';
import type { ResolvedServer } from './conf/config.js';
import { ConfigError } from './conf/size-time.js';
import { findNamedServer } from './server-name.js';
import { logError } from '../core/log.js';
import type { Clock } from '../core/clock.js';
import { protocolRange, type TlsInfo } from './modules/ssl.js';

/** The largest ClientHello record we wait for before choosing a server (a TLS record's limit). */
const HELLO_MAX = 5 + 16384;

/** What one TLS address shares: a context per server, the session cache, the ticket keys. */
export class TlsListen {
  readonly servers: readonly ResolvedServer[];
  readonly addr: { host: string; port: number };
  readonly contexts: Map<ResolvedServer, SecureContext | null>;
  /** Where node:tls emits newSession/resumeSession (the session id cache). */
  readonly events: EventEmitter;
  readonly cache: Map<string, { data: Buffer; expires: number }>;
  readonly cacheSize: number;
  readonly clock: Clock;

  constructor(servers: readonly ResolvedServer[], addr: { host: string; port: number }, clock: Clock) {
    this.servers = servers;
    this.addr = addr;
    this.clock = clock;
    const def = servers[0];
    const d = def.conf;
    if (d.sslCertificate === null) {
      throw new ConfigError(`no "sslCertificate" is defined for the "listen ... ssl" directive of ${addr.host}:${addr.port}`, 'sslCertificate', `servers[${def.index}]`);
    }
    // one set of ticket keys and one session id context for the address, so that a session made
    // with one server's certificate resumes with another's context (as nginx shares them per port)
    const ticketKeys = randomBytes(48);
    const sidContext = createHash('sha1').update(`${addr.host}:${addr.port}`).digest('hex').slice(0, 32);
    this.contexts = new Map();
    for (const s of servers) {
      if (this.contexts.has(s)) continue;
      this.contexts.set(s, s.conf.sslCertificate === null ? null : makeContext(s, def, ticketKeys, sidContext));
    }
    this.events = new EventEmitter();
    this.cache = new Map();
    this.cacheSize = d.sslSessionCache.mode === 'cache' ? d.sslSessionCache.size : 0;
    if (this.cacheSize > 0) {
      const ttl = d.sslSessionTimeout;
      this.events.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
        if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(id.toString('hex'), { data, expires: this.clock.now() + ttl });
        done();
      });
      this.events.on('resumeSession', (id: Buffer, done: (e: Error | null, data: Buffer | null) => void) => {
        const k = id.toString('hex');
        const e = this.cache.get(k);
        if (e === undefined || e.expires <= this.clock.now()) { if (e !== undefined) this.cache.delete(k); done(null, null); return; }
        done(null, e.data);
      });
    }
  }

  /**
   * A new connection: decide TLS or plain from its first bytes, then `onReady(socket, server0, info)`
   * with the TLS socket (server0: the server SNI chose, for the head's defaults and errors) or with
   * the raw socket and info null (plain HTTP, to be answered 497).
   */
  accept(socket: Socket, onReady: (s: Socket, server0: ResolvedServer, info: TlsInfo | null) => void): void {
    const t = this;
    let got: Buffer | null = null;
    const timeoutMs = this.servers[0].conf.clientHeaderTimeout;
    const timer = timeoutMs > 0 ? this.clock.setTimeout(() => socket.destroy(), timeoutMs, null, false) : null;
    const stopTimer = () => { if (timer !== null) this.clock.clearTimeout(timer); };
    const onError = () => { stopTimer(); socket.destroy(); };
    const onEnd = () => { stopTimer(); socket.destroy(); };
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.on('data', function onFirst(chunk: Buffer) {
      got = got === null ? chunk : Buffer.concat([got, chunk]);
      // a TLS record starts with 0x16 (handshake) and 3.x; an SSLv2 hello with the high bit
      const tls = got[0] === 0x16 || (got[0] & 0x80) !== 0;
      let raw = '';
      if (tls && got[0] === 0x16) {
        if (got.length < 5) return;
        const need = 5 + got.readUInt16BE(3);
        if (got.length < need && got.length < HELLO_MAX) return;
        raw = sniOf(got);
      }
      socket.off('data', onFirst);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.pause();
      socket.unshift(got);
      if (!tls) { stopTimer(); onReady(socket, t.servers[0], null); socket.resume(); return; }
      t.handshake(socket, raw, stopTimer, onReady);
    });
  }

  private handshake(socket: Socket, raw: string, stopTimer: () => void, onReady: (s: Socket, server0: ResolvedServer, info: TlsInfo | null) => void): void {
    // ngx_http_ssl_servername: the name, lower-cased and without a trailing dot, picks the server
    // (the default for none or an unknown one, and then no name is kept to check Host against);
    // $ssl_server_name is the name as sent
    const lower = raw.toLowerCase().replace(/\.$/, '');
    const named = lower === '' ? null : findNamedServer(this.servers, lower, this.addr);
    const server = named ?? this.servers[0];
    const name = named === null ? '' : lower;
    const ctx = this.contexts.get(server) ?? null;
    const log = server.conf.errorLog;
    if (ctx === null) {
      logError('error', null, `no "ssl_certificate" is defined in server listening on SSL port while SSL handshaking, client: ${socket.remoteAddress}`, log);
      stopTimer();
      socket.destroy();
      return;
    }
    const verify = server.conf.sslVerifyClient;
    const tls = new TLSSocket(socket, {
      isServer: true,
      secureContext: ctx,
      server: this.events as never,
      requestCert: verify !== 'off',
      rejectUnauthorized: false,
    });
    const info: TlsInfo = { servername: raw, name, verify: 'NONE' };
    (tls as unknown as { _sluiceTls: TlsInfo })._sluiceTls = info;
    const onFail = (e: Error & { code?: string; reason?: string }) => {
      stopTimer();
      // nginx logs failed handshakes at info (a client's problem)
      logError('info', null, `SSL_do_handshake() failed (SSL: ${e.code ?? ''}:${e.reason ?? e.message}) while SSL handshaking, client: ${socket.remoteAddress}, server: ${this.addr.host}:${this.addr.port}`, log);
      tls.destroy();
    };
    tls.once('error', onFail);
    tls.once('secure', () => {
      stopTimer();
      tls.off('error', onFail);
      if (verify !== 'off') info.verify = clientVerify(tls);
      onReady(tls, server, info);
    });
  }
}

/** $ssl_client_verify after the handshake: NONE, SUCCESS or FAILED:reason. */
function clientVerify(tls: TLSSocket): string {
  const peer = tls.getPeerCertificate();
  if (peer === null || Object.keys(peer).length === 0) return 'NONE';
  // what tls.Server does on 'secure' (we make the TLSSocket ourselves): the handle's verify result
  const e = (tls as unknown as { _handle: { verifyError(): (Error & { code: string }) | null } })._handle.verifyError();
  const t = tls as unknown as { authorized: boolean; authorizationError: unknown };
  if (e === null) { t.authorized = true; return 'SUCCESS'; }
  t.authorized = false;
  t.authorizationError = e;
  return `FAILED:${e.message}`;
}

/**
 * A server's context: its certificates and client CA; protocols, ciphers and session settings
 * from the address's default server (as nginx, where the SNI-chosen SSL_CTX brings only its
 * certificates and verification).
 */
function makeContext(s: ResolvedServer, def: ResolvedServer, ticketKeys: Buffer, sessionIdContext: string): SecureContext {
  const c = s.conf, d = def.conf;
  const where = `servers[${s.index}]`;
  const read = (f: string, key: string): Buffer => {
    try { return readFileSync(f); } catch (e) {
      throw new ConfigError(`cannot load ${key === 'sslCertificate' ? 'certificate' : key === 'sslCertificateKey' ? 'certificate key' : 'file'} "${f}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, key, where);
    }
  };
  const passwords = c.sslPasswordFile === null ? [undefined] : read(c.sslPasswordFile, 'sslPasswordFile').toString('utf8').split(/\r?\n/).filter((l) => l !== '');
  const keys: { pem: Buffer; passphrase?: string }[] = [];
  const certs: Buffer[] = [];
  for (let i = 0; i < c.sslCertificate!.length; i++) {
    certs.push(read(c.sslCertificate![i], 'sslCertificate'));
    keys.push({ pem: read(c.sslCertificateKey![i], 'sslCertificateKey') });
  }
  const p = protocolRange(d.sslProtocols);
  let sessionOptions = 0;
  if (!d.sslSessionTickets) sessionOptions |= constants.SSL_OP_NO_TICKET;
  if (d.sslPreferServerCiphers) sessionOptions |= constants.SSL_OP_CIPHER_SERVER_PREFERENCE;
  const base: SecureContextOptions = {
    cert: certs,
    minVersion: p.minVersion,
    maxVersion: p.maxVersion,
    secureOptions: p.secureOptions | sessionOptions,
    ciphers: d.sslCiphers,
    honorCipherOrder: d.sslPreferServerCiphers,
    ecdhCurve: d.sslEcdhCurve,
    sessionIdContext,
    sessionTimeout: Math.max(1, Math.floor(d.sslSessionTimeout / 1000)),
    ticketKeys,
    ca: c.sslClientCertificate === null ? undefined : read(c.sslClientCertificate, 'sslClientCertificate'),
  };
  // ssl_password_file: each pass phrase in turn, as nginx tries them
  let last: Error | null = null;
  for (const pw of passwords) {
    try {
      return createSecureContext({ ...base, key: keys.map((k) => ({ pem: k.pem, passphrase: pw })) });
    } catch (e) {
      last = e as Error;
    }
  }
  throw new ConfigError(`cannot load certificate key "${c.sslCertificateKey!.join('", "')}" or certificate: ${last?.message ?? ''}`, 'sslCertificateKey', where);
}

/** The server_name extension of a ClientHello record, as sent ('' when it has none or is cut short). */
export function sniOf(b: Buffer): string {
  try {
    let i = 5;
    if (b[i] !== 0x01) return ''; // client_hello
    i += 4 + 2 + 32; // type+length, version, random
    i += 1 + b[i]; // session id
    i += 2 + b.readUInt16BE(i); // cipher suites
    i += 1 + b[i]; // compression methods
    const end = Math.min(b.length, i + 2 + b.readUInt16BE(i));
    i += 2;
    while (i + 4 <= end) {
      const type = b.readUInt16BE(i), len = b.readUInt16BE(i + 2);
      i += 4;
      if (type === 0) {
        // server_name_list: length, then (type 0 host_name, length, name)
        let j = i + 2;
        while (j + 3 <= i + len) {
          const nt = b[j], nl = b.readUInt16BE(j + 1);
          if (nt === 0) return b.toString('latin1', j + 3, j + 3 + nl);
          j += 3 + nl;
        }
        return '';
      }
      i += len;
    }
  } catch {
    // a short or odd hello: no name (node:tls then fails the handshake if it is broken)
  }
  return '';
}
