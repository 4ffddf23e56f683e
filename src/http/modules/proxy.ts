// cf. ngx_http_proxy_module.c (ngx_http_proxy_commands) — proxyPass and its directives. The
// handler that talks to the upstream is src/http/proxy.ts (over src/http/upstream.ts, as
// ngx_http_proxy_module sits over ngx_http_upstream.c).

import { isToken } from '../../core/field.js';
import { ConfigError, invalidValue, showValue } from '../conf/size-time.js';
import type { UpstreamGroup } from '../upstream/upstream.js';
import { DECLINED, DONE, HSL, L, cmd, defineModule, parser, type PhaseHandler } from '../conf/module.js';
import { proxyHandler } from './proxy-handler.js';
import { flag, isHeaderSafe, isPlainObject, num, oneOf, timer, words } from '../conf/parse.js';
import { registerVariable } from '../variables.js';
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

/** proxy_redirect: `default` (from proxyPass and the location), off, or prefix replacements. */
export type ProxyRedirect = 'default' | 'off' | readonly (readonly [string, string])[];

/** A parsed proxyPass URL; `group` is bound when the whole config is resolved. */
export class ProxyTarget {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly explicitPort: boolean;
  /** The URI part ('/x/'), or null when there is none. */
  readonly uri: string | null;
  /** $proxy_host: the upstream name, or host[:port]. */
  readonly proxyHost: string;
  /** The upstream group it goes to (bound by resolveConfig). */
  group: UpstreamGroup | null;
  constructor(url: string, host: string, port: number, explicitPort: boolean, uri: string | null) {
    this.url = url;
    this.host = host;
    this.port = port;
    this.explicitPort = explicitPort;
    this.uri = uri;
    this.proxyHost = explicitPort && port !== 80 ? `${host}:${port}` : host;
    this.group = null;
  }
}

/** 'http://upstream_name[/uri]' or 'http://host:port[/uri]'. */
const proxyPass = parser<string>()((v, key): ProxyTarget => {
  if (typeof v !== 'string') throw invalidValue(v, key);
  const m = /^http:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?(\/[\x21-\x7e]*)?$/.exec(v);
  if (m === null) {
    if (/^https:/i.test(v)) throw new ConfigError(`https upstreams are not supported in "${key}" ${showValue(v)}`, key);
    throw new ConfigError(`invalid URL prefix in ${showValue(v)} for "${key}" (http://host[:port][/uri] expected)`, key);
  }
  const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
  const port = m[2] === undefined ? 80 : Number(m[2]);
  if (port < 1 || port > 65535) throw invalidValue(v, key);
  return new ProxyTarget(v, host, port, m[2] !== undefined, m[3] ?? null);
});

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

/**
 * How the upstream's Location and Refresh headers are rewritten: 'default' (the proxyPass URL
 * becomes the location's prefix), 'off', or [from, to] pairs; `to` may use $variables.
 */
const proxyRedirect = parser<'default' | 'off' | false | readonly [string, string] | readonly (readonly [string, string])[]>()((v, key): ProxyRedirect => {
  if (v === 'default' || v === 'off') return v;
  if (v === false) return 'off';
  const pair = (x: unknown): x is readonly [string, string] => Array.isArray(x) && x.length === 2
    && typeof x[0] === 'string' && x[0] !== '' && typeof x[1] === 'string' && isHeaderSafe(x[0]) && isHeaderSafe(x[1]);
  if (pair(v)) return [[v[0], v[1]]];
  if (Array.isArray(v) && v.length > 0 && v.every(pair)) return v.map((x) => [x[0], x[1]] as const);
  throw new ConfigError(`invalid value ${showValue(v)} for "${key}" ('default', 'off', [from, to] or a list of [from, to] expected)`, key);
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

const proxyPhase: PhaseHandler = (r) => (r.conf.proxyPass === null ? DECLINED : proxyHandler(r) ?? DONE);

export const proxyModule = defineModule({
  name: 'proxy',
  nginx: 'ngx_http_proxy_module',
  about: 'proxyPass: the location\'s content handler sends the request to an upstream group',
  notYet: ['proxy_buffering', 'proxy_buffers', 'proxy_buffer_size', 'proxy_hide_header', 'proxy_pass_header', 'proxy_ignore_headers', 'proxy_ssl_verify', 'proxy_ssl_trusted_certificate', 'proxy_ssl_server_name', 'proxy_ssl_name'],
  directives: {
    proxyPass: cmd(L, proxyPass, null, { inherit: false }),
    proxySetHeader: cmd(HSL, proxySetHeader, {}),
    proxyRedirect: cmd(HSL, proxyRedirect, 'default', { differs: 'prefixes only, no regexes yet' }),
    proxyPassRequestHeaders: cmd(HSL, flag, true),
    proxyPassRequestBody: cmd(HSL, flag, true),
    proxyHttpVersion: cmd(HSL, oneOf('1.0', '1.1'), '1.1', { differs: '1.1 by default, so an upstream\'s keepalive works without more lines (nginx: 1.0)' }),
    proxyConnectTimeout: cmd(HSL, timer, '60s'),
    proxySendTimeout: cmd(HSL, timer, '60s'),
    proxyReadTimeout: cmd(HSL, timer, '60s'),
    proxyNextUpstream: cmd(HSL, nextUpstream, 'error timeout'),
    proxyNextUpstreamTries: cmd(HSL, num, 0),
    proxyInterceptErrors: cmd(HSL, flag, false),
  },
  phases: { content: proxyPhase },
});
