// cf. ngx_http_proxy_module.c (ngx_http_proxy_commands) — proxyPass and its directives. The
// handler that talks to the upstream is src/http/proxy.ts (over src/http/upstream.ts, as
// ngx_http_proxy_module sits over ngx_http_upstream.c).

import { isToken } from '../../core/field.js';
import { ConfigError, invalidValue, showValue } from '../conf/size-time.js';
import { implicitGroup, type UpstreamGroup } from '../upstream/upstream.js';
import { isIP } from 'node:net';
import { logError } from '../../core/log.js';
import { DECLINED, HSL, L, cmd, defineModule, parser, type PhaseHandler } from '../conf/module.js';
import { proxyHandler } from './proxy-handler.js';
import { flag, isHeaderSafe, isPlainObject, num, oneOf, path, timer, words } from '../conf/parse.js';
import { protocols } from './ssl.js';
import { TlsClient, readConfigFile } from '../upstream/ssl.js';
import { compileComplex, type Complex } from '../script.js';
import type { Directives } from '../conf/directives.js';
import type { ResolvedConfig } from '../conf/config.js';
import { expandVariables, registerVariable } from '../variables.js';
import type { Request } from '../request.js';

/** proxy_next_upstream conditions. */
export const NU_ERROR = 1, NU_TIMEOUT = 2, NU_INVALID_HEADER = 4, NU_HTTP_500 = 8, NU_HTTP_502 = 16,
  NU_HTTP_503 = 32, NU_HTTP_504 = 64, NU_HTTP_403 = 128, NU_HTTP_404 = 256, NU_HTTP_429 = 512,
  NU_NON_IDEMPOTENT = 1024, NU_OFF = 0;
const NU_NAMES: Record<string, number> = {
  error: NU_ERROR, timeout: NU_TIMEOUT, invalid_header: NU_INVALID_HEADER, http_500: NU_HTTP_500,
  http_502: NU_HTTP_502, http_503: NU_HTTP_503, http_504: NU_HTTP_504, http_403: NU_HTTP_403,
  http_404: NU_HTTP_404, http_429: NU_HTTP_429, non_idempotent: NU_NON_IDEMPOTENT, off: NU_OFF,
};

/**
 * One proxy_redirect rule: `default` (worked out from proxyPass and the location), a prefix
 * (`from` may use $variables) or a regex (~ / ~*, matched against the whole value, which the
 * replacement then replaces; $1.. are its captures). `to` may use $variables.
 */
export type RedirectRule =
  | { readonly kind: 'default' }
  | { readonly kind: 'prefix'; readonly from: string; readonly to: string }
  | { readonly kind: 'regex'; readonly re: RegExp; readonly to: string };

/** proxy_redirect: off, or its rules in order (the first that matches rewrites). */
export type ProxyRedirect = 'off' | readonly RedirectRule[];

const DEFAULT_RULE: RedirectRule = { kind: 'default' };

/**
 * A parsed proxyPass URL; `group` is bound when the whole config is resolved. A URL with
 * $variables is `dynamic`: worked out per request (resolveTarget) into a target of its own.
 */
export class ProxyTarget {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly explicitPort: boolean;
  /** The URI part ('/x/'), or null when there is none. */
  readonly uri: string | null;
  /** $proxy_host: the upstream name, or host[:port]. */
  readonly proxyHost: string;
  /** The URL has $variables (the template itself, or a target worked out from one). */
  readonly dynamic: boolean;
  /** https:// — TLS to the upstream (a template's is known only per request). */
  readonly ssl: boolean;
  /** The upstream group it goes to (bound by resolveConfig; per request for a dynamic URL). */
  group: UpstreamGroup | null;
  /** A template's groups to look hosts up in (bound by resolveConfig): named ones, and the implicit ones by host:port. */
  lookup: { named: ReadonlyMap<string, UpstreamGroup>; implicit: Map<string, UpstreamGroup> } | null;
  constructor(url: string, host: string, port: number, explicitPort: boolean, uri: string | null, dynamic = false, ssl = false) {
    this.url = url;
    this.host = host;
    this.port = port;
    this.explicitPort = explicitPort;
    this.uri = uri;
    this.proxyHost = explicitPort && port !== (ssl ? 443 : 80) ? `${host}:${port}` : host;
    this.dynamic = dynamic;
    this.ssl = ssl;
    this.group = null;
    this.lookup = null;
  }
}

const URL_RE = /^(https?):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?([/?][\x21-\x7e]*)?$/i;

/** 'http[s]://host[:port][/uri]' split, or null. `dynamic`: worked out from a URL with variables. */
export function parseProxyUrl(v: string, dynamic: boolean): ProxyTarget | null {
  const m = URL_RE.exec(v);
  if (m === null) return null;
  const ssl = m[1].length === 5;
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  const port = m[3] === undefined ? (ssl ? 443 : 80) : Number(m[3]);
  if (port < 1 || port > 65535) return null;
  let uri = m[4] ?? null;
  if (uri !== null && uri.startsWith('?')) uri = '/' + uri; // as nginx does with "http://h?a=b"
  return new ProxyTarget(v, host, port, m[3] !== undefined, uri, dynamic, ssl);
}

/** 'http[s]://upstream_name[/uri]' or 'http[s]://host:port[/uri]'; $variables make it per request. */
const proxyPass = parser<string>()((v, key): ProxyTarget => {
  if (typeof v !== 'string') throw invalidValue(v, key);
  if (v.includes('$')) {
    if (!isHeaderSafe(v) || /\s/.test(v)) throw invalidValue(v, key);
    return new ProxyTarget(v, '', 80, false, null, true);
  }
  const t = URL_RE.test(v) ? parseProxyUrl(v, false) : null;
  if (t === null) {
    if (URL_RE.test(v)) throw invalidValue(v, key);
    throw new ConfigError(`invalid URL prefix in ${showValue(v)} for "${key}" (http[s]://host[:port][/uri] expected)`, key);
  }
  return t;
});

/** Implicit groups made for hosts a proxyPass with variables gave, per template: this many at most. */
const DYNAMIC_GROUPS_MAX = 64;

/**
 * The target of a proxyPass with variables for this request (ngx_http_proxy_eval and the
 * upstream lookup of ngx_http_upstream_init_request): the URL expanded, its host looked up among
 * the upstream groups (a named one when no port is given, else an implicit one of another
 * proxyPass), else an IP address gets an implicit group of its own (kept for later requests).
 * A host name that is no group's is not resolved: there is no `resolver` (502, as nginx without
 * one). Returns the status to answer with when the URL is unusable.
 */
export function resolveTarget(r: Request, t: ProxyTarget): ProxyTarget | number {
  const url = expandVariables(r, t.url);
  const rt = parseProxyUrl(url, true);
  if (rt === null) {
    logError('error', r, `invalid URL prefix in "${url}"`);
    return 500;
  }
  const lk = t.lookup!;
  const key = `${rt.host.toLowerCase()}:${rt.port}`;
  let g = rt.explicitPort ? undefined : lk.named.get(rt.host);
  if (g === undefined) g = lk.implicit.get(key);
  if (g === undefined) {
    if (isIP(rt.host) === 0) {
      logError('error', r, `no resolver defined to resolve ${rt.host}`);
      return 502;
    }
    if (lk.implicit.size >= DYNAMIC_GROUPS_MAX) lk.implicit.clear();
    lk.implicit.set(key, g = implicitGroup(rt.host, rt.port));
  }
  rt.group = g;
  return rt;
}

/** Request headers for the upstream; '' removes one. Values may use $variables. */
const proxySetHeader = parser<Readonly<Record<string, string>>>()((v, key): readonly (readonly [string, string])[] => {
  if (!isPlainObject(v)) throw invalidValue(v, key);
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(v)) {
    // a $variable's value is checked again once expanded, where the upstream head is made
    if (!isToken(name)) throw new ConfigError(`invalid header name ${showValue(name)} in "${key}" (a field name is an RFC 9110 token)`, key);
    if (typeof value !== 'string' || !isHeaderSafe(value)) {
      throw new ConfigError(`invalid value ${showValue(value)} for header "${name}" in "${key}" (a string without control characters expected)`, key);
    }
    out.push([name, value]);
  }
  return out;
});

type RedirectInput = 'default' | readonly [string, string];

/**
 * How the upstream's Location and Refresh headers are rewritten: 'default' (the proxyPass URL
 * becomes the location's prefix), 'off', [from, to], or a list of [from, to] and 'default'.
 * `from` is a prefix, or a regex as '~re' (case-sensitive) or '~*re'; both may use $variables
 * (a regex's replacement its captures $1..$9 too).
 */
const proxyRedirect = parser<'default' | 'off' | false | readonly [string, string] | readonly RedirectInput[]>()((v, key): ProxyRedirect => {
  if (v === 'off' || v === false) return 'off';
  if (v === 'default') return [DEFAULT_RULE];
  const bad = () => new ConfigError(`invalid value ${showValue(v)} for "${key}" ('default', 'off', [from, to] or a list of [from, to] and 'default' expected)`, key);
  const pair = (x: unknown): x is readonly [string, string] => Array.isArray(x) && x.length === 2
    && typeof x[0] === 'string' && x[0] !== '' && typeof x[1] === 'string' && isHeaderSafe(x[0]) && isHeaderSafe(x[1]);
  const rule = (x: readonly [string, string]): RedirectRule => {
    const [from, to] = x;
    if (!from.startsWith('~')) return { kind: 'prefix', from, to };
    const ci = from.startsWith('~*');
    const src = from.slice(ci ? 2 : 1);
    try {
      return { kind: 'regex', re: new RegExp(src, ci ? 'i' : ''), to };
    } catch (e) {
      throw new ConfigError(`invalid regex ${showValue(src)} in "${key}": ${(e as Error).message}`, key);
    }
  };
  if (pair(v)) return [rule(v)];
  if (!Array.isArray(v) || v.length === 0) throw bad();
  return v.map((x: unknown) => {
    if (x === 'default') return DEFAULT_RULE;
    if (!pair(x)) throw bad();
    return rule(x);
  });
});

/** 'error timeout' (default), 'off', or any of error timeout invalid_header http_500 http_502
 *  http_503 http_504 http_403 http_404 http_429 non_idempotent. */
const nextUpstream = parser<string | readonly string[]>()((v, key): number => {
  const list = words(v);
  if (list === null || list.length === 0) throw invalidValue(v, key);
  let bits = 0;
  for (const w of list) {
    const b = typeof w === 'string' ? NU_NAMES[w] : undefined;
    if (b === undefined) throw new ConfigError(`invalid value ${showValue(w)} in "${key}"`, key);
    if (b === NU_OFF && list.length > 1) throw new ConfigError(`"off" cannot be combined with other values in "${key}"`, key);
    bits |= b;
  }
  return bits;
});

/** The target the request is proxied to: the one worked out for it, else its location's. */
function targetOf(r: Request): ProxyTarget | null {
  return r.upstream?.target ?? r.conf.proxyPass;
}

// the proxy's variables (ngx_http_proxy_vars): usable in proxySetHeader, addHeader, logs...
registerVariable('proxy_host', (r) => targetOf(r)?.proxyHost);
registerVariable('proxy_port', (r) => {
  const t = targetOf(r);
  return t === null ? undefined : String(t.port);
});
registerVariable('proxy_add_x_forwarded_for', (r) => {
  const prev = r.headersIn.getAll('x-forwarded-for').join(', ');
  const addr = r.main.remoteAddr;
  return prev ? `${prev}, ${addr}` : addr;
});

const nonEmpty = parser<string>()((v, key) => { if (typeof v !== 'string' || v === '') throw invalidValue(v, key); return v; });

/** proxy_ssl_name: a name, $variables allowed (compiled once). */
const sslNameValue = parser<string>()((v, key): Complex => {
  if (typeof v !== 'string' || !isHeaderSafe(v)) throw invalidValue(v, key);
  return compileComplex(v, key);
});

/** A client certificate or its key: a file read at load (nginx's certificate with variables is not taken). */
const staticPath = parser<string>()((v, key) => {
  const p = path(v, key);
  if (p.includes('$')) throw new ConfigError(`"${key}" with variables is not supported ${showValue(v)}`, key);
  return p;
});

/** The TLS client context of each location that proxies to https (made at load, so a bad file is a config error). */
const tlsClients = new WeakMap<object, TlsClient>();

/** The location's TLS client context (nginx's ngx_http_proxy_set_ssl), made once per location. */
export function proxyTlsClient(conf: Directives, where = 'location'): TlsClient {
  let c = tlsClients.get(conf);
  if (c !== undefined) return c;
  if (conf.proxySslVerify && conf.proxySslTrustedCertificate === null) {
    throw new ConfigError('no "proxySslTrustedCertificate" for "proxySslVerify"', 'proxySslVerify', where);
  }
  if (conf.proxySslCertificate !== null && conf.proxySslCertificateKey === null) {
    throw new ConfigError(`no "proxySslCertificateKey" is defined for certificate "${conf.proxySslCertificate}"`, 'proxySslCertificateKey', where);
  }
  const cert = conf.proxySslCertificate === null ? null : readConfigFile(conf.proxySslCertificate, 'proxySslCertificate', 'certificate', where);
  const key = conf.proxySslCertificate === null ? null : readConfigFile(conf.proxySslCertificateKey!, 'proxySslCertificateKey', 'certificate key', where);
  const passwords = conf.proxySslPasswordFile === null ? [undefined]
    : readConfigFile(conf.proxySslPasswordFile, 'proxySslPasswordFile', 'file', where).toString('utf8').split(/\r?\n/).filter((l) => l !== '');
  const ca = conf.proxySslVerify ? readConfigFile(conf.proxySslTrustedCertificate!, 'proxySslTrustedCertificate', 'trusted certificate', where) : null;
  let last: Error | null = null;
  for (const passphrase of passwords) {
    try {
      c = new TlsClient({
        protocols: conf.proxySslProtocols, ciphers: conf.proxySslCiphers, verify: conf.proxySslVerify,
        verifyDepth: conf.proxySslVerifyDepth, ca, cert, key, passphrase, sessionReuse: conf.proxySslSessionReuse,
      });
      break;
    } catch (e) {
      last = e as Error;
    }
  }
  if (c === undefined) {
    const what = cert !== null ? `certificate "${conf.proxySslCertificate}" or its key` : 'the TLS settings';
    throw new ConfigError(`cannot load ${what}: ${last?.message ?? ''}`, cert !== null ? 'proxySslCertificate' : 'proxySslCiphers', where);
  }
  tlsClients.set(conf, c);
  return c;
}

const proxyPhase: PhaseHandler = (r) => (r.conf.proxyPass === null ? DECLINED : proxyHandler(r));

export const proxyModule = defineModule({
  name: 'proxy',
  nginx: 'ngx_http_proxy_module',
  about: 'proxyPass: the location\'s content handler sends the request to an upstream group',
  notYet: ['proxy_buffering', 'proxy_buffers', 'proxy_buffer_size', 'proxy_hide_header', 'proxy_pass_header', 'proxy_ignore_headers', 'proxy_ssl_crl', 'proxy_ssl_conf_command'],
  directives: {
    proxyPass: cmd(L, proxyPass, null, { inherit: false, differs: 'with $variables, a host name that is no upstream group is answered 502, as nginx does without a resolver (there is no resolver directive); an upstream\'s 101 goes out without its Content-Length, and a 101 to a request without Upgrade is refused (502; nginx passes it on, then the bytes as a body) — see docs/upgrade.md' }),
    proxySetHeader: cmd(HSL, proxySetHeader, {}),
    proxyRedirect: cmd(HSL, proxyRedirect, 'default', { differs: 'regexes are JavaScript\'s (nginx: PCRE)' }),
    proxyPassRequestHeaders: cmd(HSL, flag, true),
    proxyPassRequestBody: cmd(HSL, flag, true),
    proxyHttpVersion: cmd(HSL, oneOf('1.0', '1.1'), '1.1', { differs: '1.1 by default, so an upstream\'s keepalive works without more lines (nginx: 1.0)' }),
    proxyConnectTimeout: cmd(HSL, timer, '60s'),
    proxySendTimeout: cmd(HSL, timer, '60s'),
    proxyReadTimeout: cmd(HSL, timer, '60s'),
    proxyNextUpstream: cmd(HSL, nextUpstream, 'error timeout'),
    proxyNextUpstreamTries: cmd(HSL, num, 0),
    proxyInterceptErrors: cmd(HSL, flag, false),
    proxySslProtocols: cmd(HSL, protocols, 'TLSv1 TLSv1.1 TLSv1.2', {
      differs: 'TLSv1 and TLSv1.1 are refused by OpenSSL 3\'s default security level unless proxySslCiphers lowers it (@SECLEVEL=0), so the default is TLSv1.2 in practice, as nginx 1.22\'s on the same OpenSSL; add TLSv1.3 to use it (nginx 1.23.4 and later have it by default)',
    }),
    proxySslCiphers: cmd(HSL, nonEmpty, 'DEFAULT', { differs: 'as OpenSSL reads it, for TLSv1.2 and lower (TLSv1.3 suites are Node\'s defaults)' }),
    proxySslVerify: cmd(HSL, flag, false),
    proxySslTrustedCertificate: cmd(HSL, path, null, { differs: 'read when the config is loaded (and at each reload)' }),
    proxySslVerifyDepth: cmd(HSL, num, 1),
    proxySslServerName: cmd(HSL, flag, false),
    proxySslName: cmd(HSL, sslNameValue, null),
    proxySslCertificate: cmd(HSL, staticPath, null, { differs: 'a file name without variables (nginx also takes one with variables, loaded per request)' }),
    proxySslCertificateKey: cmd(HSL, staticPath, null, { differs: 'a file name without variables' }),
    proxySslPasswordFile: cmd(HSL, path, null),
    proxySslSessionReuse: cmd(HSL, flag, true, {
      differs: 'a peer\'s last session is kept per location context (nginx keeps one per upstream peer, shared by the locations that use the upstream)',
    }),
  },
  phases: { content: proxyPhase },
  checkConfig(config: ResolvedConfig): void {
    // ngx_http_proxy_merge_loc_conf: the TLS context of every location that may go https
    config.servers.forEach((s, i) => {
      for (const loc of [...s.locations.locations, ...s.named.values()]) {
        const t = loc.conf.proxyPass;
        if (t !== null && (t.ssl || t.dynamic)) proxyTlsClient(loc.conf, `servers[${i}].locations["${loc.key}"]`);
      }
    });
  },
  checkBlock(raw) {
    const rd = raw.proxyRedirect;
    const explicitDefault = rd === 'default' || (Array.isArray(rd) && rd.includes('default'));
    if (explicitDefault && typeof raw.proxyPass === 'string' && raw.proxyPass.includes('$')) {
      throw new ConfigError('"proxyRedirect" default cannot be used with "proxyPass" directive with variables', 'proxyRedirect');
    }
  },
});
