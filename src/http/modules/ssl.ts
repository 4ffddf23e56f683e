// cf. ngx_http_ssl_module.c — the server side of TLS: certificates, protocols, ciphers, sessions,
// client certificates, and the $ssl_* variables. The connections themselves are src/http/ssl.ts.

import type { TLSSocket } from 'node:tls';
import { constants } from 'node:crypto';
import { ConfigError, invalidValue } from '../conf/size-time.js';
import { HS, cmd, defineModule, parser } from '../conf/module.js';
import { flag, oneOf, path, timer, words } from '../conf/parse.js';
import { registerVariable } from '../variables.js';
import type { Request } from '../request.js';
import type { ResolvedConfig } from '../conf/config.js';

/** The protocols nginx knows, in order (ssl_protocols). */
export const PROTOCOLS = ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

const files = parser<string | readonly string[]>()((v, key): readonly string[] => {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || list.some((f) => typeof f !== 'string' || f === '' || f.includes('\0'))) throw invalidValue(v, key);
  return list as string[];
});

/** ssl_protocols / proxy_ssl_protocols: a list of PROTOCOLS (SSLv2 and SSLv3 refused). */
export const protocols = parser<string | readonly string[]>()((v, key): readonly Protocol[] => {
  const w = words(v);
  if (w === null || w.length === 0) throw invalidValue(v, key);
  const out: Protocol[] = [];
  for (const p of w) {
    if (typeof p !== 'string' || !(PROTOCOLS as readonly string[]).includes(p)) throw new ConfigError(`invalid value "${String(p)}" in "${key}"`, key);
    if (p === 'SSLv2' || p === 'SSLv3') throw new ConfigError(`"${p}" in "${key}" is not supported: Node's OpenSSL has no SSLv2/SSLv3`, key);
    out.push(p as Protocol);
  }
  return out;
});

type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/**
 * A protocol list as node:tls takes it: the lowest and highest version, and SSL_OP_NO_* bits for
 * the versions left out between them (TLSv1 and TLSv1.2 without TLSv1.1).
 */
export function protocolRange(list: readonly Protocol[]): { minVersion: TlsVersion; maxVersion: TlsVersion; secureOptions: number } {
  const order = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
  const on = order.map((p) => list.includes(p));
  const lo = on.indexOf(true), hi = on.lastIndexOf(true);
  const bits = [constants.SSL_OP_NO_TLSv1, constants.SSL_OP_NO_TLSv1_1, constants.SSL_OP_NO_TLSv1_2, constants.SSL_OP_NO_TLSv1_3];
  let secureOptions = 0;
  for (let i = lo; i <= hi; i++) if (!on[i]) secureOptions |= bits[i];
  return { minVersion: order[lo], maxVersion: order[hi], secureOptions };
}

/** ssl_session_cache: off | none | builtin[:size] | shared:name:size, several at once as nginx allows. */
export interface SessionCache {
  /** 'off': no session ids at all; 'none': ids are given but nothing is kept (nginx's default). */
  mode: 'off' | 'none' | 'cache';
  /** Entries kept (builtin:N, or shared's size / 256 bytes per session as nginx counts it). */
  size: number;
}
const sessionCache = parser<string>()((v, key): SessionCache => {
  const w = words(v);
  if (w === null || w.length === 0) throw invalidValue(v, key);
  if (w.length === 1 && (w[0] === 'off' || w[0] === 'none')) return { mode: w[0] as 'off' | 'none', size: 0 };
  let size = 0;
  for (const x of w) {
    const s = String(x);
    let m: RegExpExecArray | null;
    if (s === 'builtin') size += 20480;
    else if ((m = /^builtin:([0-9]+)$/.exec(s)) !== null) size += Number(m[1]);
    else if ((m = /^shared:[^:]+:([0-9]+)([kKmM]?)$/.exec(s)) !== null) {
      const bytes = Number(m[1]) * (m[2] === '' ? 1 : /[kK]/.test(m[2]) ? 1024 : 1024 * 1024);
      if (bytes < 8192) throw new ConfigError(`session cache "${s}" is too small`, key);
      size += Math.floor(bytes / 256); // about 4000 sessions per megabyte, as nginx says
    } else throw new ConfigError(`invalid session cache "${s}" in "${key}"`, key);
  }
  return { mode: 'cache', size };
});

export type VerifyClient = 'off' | 'on' | 'optional' | 'optional_no_ca';

const stapling = parser<boolean>()((v, key) => {
  const on = flag(v, key);
  if (on) {
    throw new ConfigError(`"${key}" is not supported: Node staples only an OCSP response the application fetches itself `
      + '(the OCSPRequest event), and sluice does not fetch or cache OCSP responses; leave it off', key);
  }
  return false;
});

export const sslModule = defineModule({
  name: 'ssl',
  nginx: 'ngx_http_ssl_module',
  about: 'TLS on `listen ... ssl` addresses: certificates chosen by SNI, protocols, ciphers, sessions, client certificates',
  directives: {
    sslCertificate: cmd(HS, files, null, {
      differs: 'several certificates are given as an array (nginx: one ssl_certificate line each); the files are read when the server starts or reloads, not per handshake, and a name with variables is not taken',
    }),
    sslCertificateKey: cmd(HS, files, null, { differs: 'an array, paired with sslCertificate by position' }),
    sslPasswordFile: cmd(HS, path, null),
    sslProtocols: cmd(HS, protocols, 'TLSv1 TLSv1.1 TLSv1.2 TLSv1.3', {
      differs: 'the default has TLSv1.3, as nginx 1.23.4 and later (nginx 1.22: TLSv1 TLSv1.1 TLSv1.2); TLSv1 and TLSv1.1 are also refused by OpenSSL 3\'s default security level unless sslCiphers lowers it (@SECLEVEL=0); as in nginx, the default server of an address decides for the whole address',
    }),
    sslCiphers: cmd(HS, parser<string>()((v, key) => { if (typeof v !== 'string' || v === '') throw invalidValue(v, key); return v; }), 'HIGH:!aNULL:!MD5', {
      differs: 'as OpenSSL reads it, for TLSv1.2 and lower; TLSv1.3 suite names (TLS_AES_128_GCM_SHA256 ...) in the list set the TLSv1.3 suites too, as Node takes them',
    }),
    sslPreferServerCiphers: cmd(HS, flag, false),
    sslEcdhCurve: cmd(HS, parser<string>()((v, key) => { if (typeof v !== 'string' || v === '') throw invalidValue(v, key); return v; }), 'auto'),
    sslSessionCache: cmd(HS, sessionCache, 'none', {
      differs: 'builtin and shared are one in-process cache of session ids per listening address (Node\'s newSession/resumeSession); with a master and workers each worker has its own, so shared: is not shared across workers',
    }),
    sslSessionTimeout: cmd(HS, timer, '5m'),
    sslSessionTickets: cmd(HS, flag, true, {
      differs: 'ticket keys are made at start (and at each reload), one set per listening address and process: a ticket from another worker or from before a reload is not accepted (a full handshake follows); off: TLSv1.3 sessions are not resumed even with a session cache (Node\'s session events do not see the TLSv1.3 PSK identity), TLSv1.2 ones are',
    }),
    sslStapling: cmd(HS, stapling, false, { differs: 'refused when on: see its message' }),
    sslClientCertificate: cmd(HS, path, null),
    sslVerifyClient: cmd(HS, oneOf<VerifyClient>('off', 'on', 'optional', 'optional_no_ca'), 'off'),
  },
  notYet: [
    'ssl_buffer_size', 'ssl_conf_command', 'ssl_crl', 'ssl_dhparam', 'ssl_early_data', 'ssl_ocsp', 'ssl_ocsp_cache',
    'ssl_ocsp_responder', 'ssl_reject_handshake', 'ssl_session_ticket_key', 'ssl_stapling_file', 'ssl_stapling_responder',
    'ssl_stapling_verify', 'ssl_trusted_certificate', 'ssl_verify_depth',
  ],
  checkConfig(config: ResolvedConfig): void {
    // ngx_http_ssl_init: the default server of an ssl address needs a certificate
    for (const s of config.servers) {
      const c = s.conf;
      if ((c.sslCertificate === null) !== (c.sslCertificateKey === null)
        || (c.sslCertificate !== null && c.sslCertificate.length !== c.sslCertificateKey!.length)) {
        throw new ConfigError('"sslCertificate" and "sslCertificateKey" must be given in pairs', 'sslCertificateKey', `servers[${s.index}]`);
      }
      if (c.sslVerifyClient !== 'off' && c.sslVerifyClient !== 'optional_no_ca' && c.sslClientCertificate === null) {
        throw new ConfigError('no "sslClientCertificate" for "sslVerifyClient"', 'sslVerifyClient', `servers[${s.index}]`);
      }
    }
  },
});

/** The TLS socket a request came on, or null for plain HTTP. */
export function tlsOf(r: Request): TLSSocket | null {
  const s = r.main.conn?.socket as TLSSocket | undefined;
  return s !== undefined && s.encrypted === true ? s : null;
}

/** What the handshake left on the connection for the variables ($ssl_client_verify ...). */
export interface TlsInfo {
  /** SNI as the client sent it ('' when none): $ssl_server_name. */
  servername: string;
  /** The same lower-cased, without a trailing dot, when it named a server ('' otherwise): compared with Host (421). */
  name: string;
  /** NONE, SUCCESS, FAILED:reason ($ssl_client_verify). */
  verify: string;
}

export function tlsInfo(s: TLSSocket): TlsInfo | null {
  return (s as unknown as { _sluiceTls?: TlsInfo })._sluiceTls ?? null;
}

registerVariable('ssl_protocol', (r) => tlsOf(r)?.getProtocol() ?? '');
// OpenSSL's name, as nginx prints it (ECDHE-RSA-AES128-GCM-SHA256, TLS_AES_256_GCM_SHA384)
registerVariable('ssl_cipher', (r) => tlsOf(r)?.getCipher().name ?? '');
registerVariable('ssl_server_name', (r) => {
  const s = tlsOf(r);
  return s === null ? '' : tlsInfo(s)?.servername ?? '';
});
registerVariable('ssl_session_reused', (r) => {
  const s = tlsOf(r);
  return s === null ? '' : s.isSessionReused() ? 'r' : '.';
});
registerVariable('ssl_client_verify', (r) => {
  const s = tlsOf(r);
  return s === null ? '' : tlsInfo(s)?.verify ?? 'NONE';
});
registerVariable('ssl_client_s_dn', (r) => {
  const s = tlsOf(r);
  if (s === null) return '';
  const c = s.getPeerCertificate();
  return c === null || c.subject === undefined ? '' : rfc2253(c.subject as unknown as Record<string, string | string[]>);
});
registerVariable('ssl_client_i_dn', (r) => {
  const s = tlsOf(r);
  if (s === null) return '';
  const c = s.getPeerCertificate();
  return c === null || c.issuer === undefined ? '' : rfc2253(c.issuer as unknown as Record<string, string | string[]>);
});
registerVariable('ssl_client_serial', (r) => {
  const s = tlsOf(r);
  const c = s?.getPeerCertificate();
  return c?.serialNumber ?? '';
});

/** A DN as nginx prints it since 1.11.6 (RFC 2253: the last RDN first, comma-separated). */
function rfc2253(dn: Record<string, string | string[]>): string {
  const parts: string[] = [];
  for (const k of Object.keys(dn)) {
    const v = dn[k];
    for (const x of Array.isArray(v) ? v : [v]) parts.push(`${k}=${x.replace(/([,+"\\<>;])/g, '\\$1')}`);
  }
  return parts.reverse().join(',');
}
