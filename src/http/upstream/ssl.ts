// cf. ngx_event_openssl.c (ngx_ssl_create, ngx_ssl_trusted_certificate, ngx_ssl_check_host) and
// ngx_http_upstream.c (ngx_http_upstream_ssl_init_connection, _ssl_handshake, _ssl_name,
// _ssl_save_session) — TLS to an upstream: one client context per location (its proxySsl*
// directives), the certificate checked once the handshake is done (the chain, then the name), as
// nginx does with its verify callback that lets every handshake finish, and the session of the
// last connection to a peer offered again on the next one.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import { ConfigError } from '../conf/size-time.js';
import { protocolRange, type Protocol } from '../modules/ssl.js';

/**
 * OpenSSL's X509_V_ERR_* by the code node:tls gives (authorizationError), with OpenSSL 3's text
 * (X509_verify_cert_error_string), as nginx prints them: "(18:self-signed certificate)".
 */
const VERIFY_ERRORS: Readonly<Record<string, readonly [number, string]>> = {
  UNABLE_TO_GET_ISSUER_CERT: [2, 'unable to get issuer certificate'],
  UNABLE_TO_GET_CRL: [3, 'unable to get certificate CRL'],
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: [4, 'unable to decrypt certificate\'s signature'],
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: [5, 'unable to decrypt CRL\'s signature'],
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: [6, 'unable to decode issuer public key'],
  CERT_SIGNATURE_FAILURE: [7, 'certificate signature failure'],
  CRL_SIGNATURE_FAILURE: [8, 'CRL signature failure'],
  CERT_NOT_YET_VALID: [9, 'certificate is not yet valid'],
  CERT_HAS_EXPIRED: [10, 'certificate has expired'],
  CRL_NOT_YET_VALID: [11, 'CRL is not yet valid'],
  CRL_HAS_EXPIRED: [12, 'CRL has expired'],
  ERROR_IN_CERT_NOT_BEFORE_FIELD: [13, 'format error in certificate\'s notBefore field'],
  ERROR_IN_CERT_NOT_AFTER_FIELD: [14, 'format error in certificate\'s notAfter field'],
  ERROR_IN_CRL_LAST_UPDATE_FIELD: [15, 'format error in CRL\'s lastUpdate field'],
  ERROR_IN_CRL_NEXT_UPDATE_FIELD: [16, 'format error in CRL\'s nextUpdate field'],
  OUT_OF_MEM: [17, 'out of memory'],
  DEPTH_ZERO_SELF_SIGNED_CERT: [18, 'self-signed certificate'],
  SELF_SIGNED_CERT_IN_CHAIN: [19, 'self-signed certificate in certificate chain'],
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: [20, 'unable to get local issuer certificate'],
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: [21, 'unable to verify the first certificate'],
  CERT_CHAIN_TOO_LONG: [22, 'certificate chain too long'],
  CERT_REVOKED: [23, 'certificate revoked'],
  INVALID_CA: [24, 'invalid CA certificate'],
  PATH_LENGTH_EXCEEDED: [25, 'path length constraint exceeded'],
  INVALID_PURPOSE: [26, 'unsupported certificate purpose'],
  CERT_UNTRUSTED: [27, 'certificate not trusted'],
  CERT_REJECTED: [28, 'certificate rejected'],
};

/** Why a handshake's certificate was not taken. */
export class CertificateError extends Error {
  /** OpenSSL's verify error number; 0 for a name that does not match. */
  readonly verifyCode: number;
  /** OpenSSL's text for it, or the name that did not match. */
  readonly detail: string;
  constructor(verifyCode: number, detail: string, message: string) {
    super(message);
    this.name = 'CertificateError';
    this.verifyCode = verifyCode;
    this.detail = detail;
  }
}

/** What a TLS client context is made of (proxySsl* of a location, or the HTTP client's options). */
export interface TlsClientOptions {
  protocols?: readonly Protocol[];
  ciphers?: string;
  /** Check the chain and the name after the handshake. */
  verify: boolean;
  /** Intermediate certificates allowed (ssl_verify_depth); Infinity: OpenSSL's own limit. */
  verifyDepth: number;
  /** The CAs trusted (PEM); null: Node's bundled roots. */
  ca: Buffer | string | readonly (Buffer | string)[] | null;
  /** A client certificate for the upstream (PEM), with its key. */
  cert?: Buffer | null;
  key?: Buffer | null;
  passphrase?: string;
  /** Keep each peer's last session and offer it on the next connection. */
  sessionReuse: boolean;
  /**
   * An IP address is checked against the certificate's IP entries (as fetch does); otherwise it
   * is matched as a DNS name, as nginx's X509_check_host does (so an IP never matches).
   */
  ipNames?: boolean;
}

let contexts = 0;

/**
 * One TLS client context (nginx's ngx_ssl_t of a location's proxy_ssl_*): the SecureContext,
 * how certificates are checked, and the sessions kept per peer.
 */
export class TlsClient {
  /** Tells this context's connections apart from others' in a keepalive pool. */
  readonly id: number;
  readonly context: SecureContext;
  readonly verify: boolean;
  readonly verifyDepth: number;
  readonly sessionReuse: boolean;
  readonly ipNames: boolean;
  /** The last session per peer ("host:port"), as nginx keeps one per upstream peer. */
  private readonly sessions: Map<string, Buffer>;

  constructor(o: TlsClientOptions) {
    this.id = ++contexts;
    const p = o.protocols === undefined ? null : protocolRange(o.protocols);
    this.context = createSecureContext({
      minVersion: p?.minVersion,
      maxVersion: p?.maxVersion,
      secureOptions: p?.secureOptions,
      ciphers: o.ciphers,
      ca: o.ca === null ? undefined : o.ca as string | Buffer | (string | Buffer)[],
      cert: o.cert ?? undefined,
      key: o.key ?? undefined,
      passphrase: o.passphrase,
    });
    this.verify = o.verify;
    this.verifyDepth = o.verifyDepth;
    this.sessionReuse = o.sessionReuse;
    this.ipNames = o.ipNames ?? false;
    this.sessions = new Map();
  }

  session(peer: string): Buffer | undefined {
    return this.sessionReuse ? this.sessions.get(peer) : undefined;
  }

  saveSession(peer: string, s: Buffer): void {
    if (!this.sessionReuse) return;
    if (this.sessions.size >= SESSIONS_MAX && !this.sessions.has(peer)) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(peer, s);
  }

  /**
   * The certificate of a finished handshake checked as nginx does with verify on: the chain's
   * result first (with the depth), then the name (X509_check_host, as ngx_ssl_check_host calls
   * it). null: taken. Nothing is checked with verify off.
   */
  check(s: TLSSocket, name: string): CertificateError | null {
    if (!this.verify) return null;
    const code = s.authorized ? null : String(s.authorizationError ?? 'UNSPECIFIED');
    if (code !== null) {
      const e = VERIFY_ERRORS[code] ?? [1, `unspecified certificate verification error (${code})`];
      return new CertificateError(e[0], e[1], `upstream SSL certificate verify error: (${e[0]}:${e[1]})`);
    }
    // verify depth: the intermediates allowed between the leaf and the trust anchor; OpenSSL stops
    // looking for an issuer past it, so a longer chain ends as "unable to get local issuer"
    if (this.verifyDepth !== Infinity && !s.isSessionReused() && chainLength(s) > this.verifyDepth + 2) {
      const e = VERIFY_ERRORS.UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
      return new CertificateError(e[0], e[1], `upstream SSL certificate verify error: (${e[0]}:${e[1]})`);
    }
    // a resumed session was checked for this name when it was made (its sessions are kept per
    // peer and name), and Node has no peer certificate for it (no chain is sent on resumption)
    if (s.isSessionReused()) return null;
    const cert = s.getPeerX509Certificate();
    const ok = cert !== undefined && name !== ''
      && (this.ipNames && isIP(name) !== 0 ? cert.checkIP(name) !== undefined : cert.checkHost(name) !== undefined);
    if (!ok) {
      return new CertificateError(0, name, `upstream SSL certificate does not match "${name}"`);
    }
    return null;
  }
}

/** Sessions kept per context at most (one per peer; a dynamic proxyPass may name many). */
const SESSIONS_MAX = 1024;

/** The certificates of the verified chain, the trust anchor included (OpenSSL's depth counts neither it nor the leaf). */
function chainLength(s: TLSSocket): number {
  let c = s.getPeerCertificate(true);
  let n = 0;
  const seen = new Set<unknown>();
  while (c !== undefined && c !== null && Object.keys(c).length > 0 && !seen.has(c)) {
    seen.add(c);
    n++;
    const next = c.issuerCertificate;
    if (next === undefined || next === c) break;
    c = next;
  }
  return n;
}

/**
 * How one connection to one peer goes TLS: the context, the SNI to send (null: none), the name its
 * certificate must match, and the peer whose session is offered and kept (with verify on, per
 * peer and name: a session resumed is one whose certificate was checked for that name).
 */
export class TlsDial {
  readonly client: TlsClient;
  readonly servername: string | null;
  readonly name: string;
  readonly peer: string;
  constructor(client: TlsClient, servername: string | null, name: string, peer: string) {
    this.client = client;
    this.servername = servername;
    this.name = name;
    this.peer = client.verify ? `${peer} ${name}` : peer;
  }

  /** The keepalive pool key: a connection is reused only by a dial it could have been made by. */
  poolKey(): string {
    return `${this.peer} tls${this.client.id} ${this.servername ?? ''}`;
  }

  /** node:tls's options for this connection (the check is ours, after the handshake). */
  options(host: string, port: number): ConnectionOptions {
    return {
      host,
      port,
      secureContext: this.client.context,
      servername: this.servername ?? undefined,
      session: this.client.session(this.peer),
      rejectUnauthorized: false,
      checkServerIdentity: noIdentityCheck,
    };
  }
}

function noIdentityCheck(): undefined { return undefined; }

/**
 * The name a certificate is checked against and SNI is made of (ngx_http_upstream_ssl_name): a
 * port is cut off ("host:443", "[::1]:443"); an IP address or a bracketed one is never sent as SNI
 * (RFC 6066).
 */
export function sslName(raw: string, serverName: boolean): { name: string; sni: string | null } {
  let name = raw;
  let from = 0;
  if (name.startsWith('[')) {
    const close = name.indexOf(']');
    if (close >= 0) from = close;
  }
  const colon = name.indexOf(':', from);
  if (colon >= 0 && !(from === 0 && isIP(name) === 6)) name = name.slice(0, colon);
  const sni = serverName && name !== '' && !name.startsWith('[') && isIP(name) === 0 ? name : null;
  return { name, sni };
}

/** A file of the config read at load, or a ConfigError naming the directive. */
export function readConfigFile(file: string, key: string, what: string, where: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConfigError(`cannot load ${what} "${file}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, key, where);
  }
}
