// cf. ngx_http_realip_module.c (and ngx_http_get_forwarded_addr in ngx_http_core_module.c) —
// the client's address from a header set by a trusted proxy. nginx runs it in the post-read
// phase (server config) and again in the preaccess phase (location config); here it runs first in
// the server rewrite phase and first in the access phase. Once it has replaced the address, it
// does not run again for the request (internal redirects included).

import { Cidr, UNIX_CIDR, cidrMatch, formatIp, parseAddrPort, parseCidr, parseIp, type IpAddr } from '../../core/cidr.js';
import { ConfigError, invalidValue } from '../conf/size-time.js';
import { DECLINED, HSL, cmd, defineModule, parser, type PhaseHandler } from '../conf/module.js';
import { flag, words } from '../conf/parse.js';
import { isToken } from '../../core/field.js';
import { registerVariable } from '../variables.js';
import type { Request } from '../request.js';

const XREALIP = 0, XFWD = 1, HEADER = 2;

export interface RealIpHeader {
  readonly kind: number;
  /** Lower-cased header name. */
  readonly name: string;
}

/** Addresses and CIDR blocks (one string with spaces, or an array), or 'unix:'. */
const from = parser<string | readonly string[]>()((v, key): readonly Cidr[] => {
  const list = words(v);
  if (list === null || list.length === 0) throw invalidValue(v, key);
  const out: Cidr[] = [];
  for (const item of list) {
    if (typeof item !== 'string') throw invalidValue(item, key);
    if (item === 'unix:') { out.push(UNIX_CIDR); continue; }
    const c = parseCidr(item);
    // nginx would resolve a host name here, once, at startup
    if (c === null) throw new ConfigError(`invalid address or network "${item}" in "${key}" (host names are not resolved)`, key);
    out.push(c.cidr);
  }
  return out;
});

const header = parser<string>()((v, key): RealIpHeader => {
  if (typeof v !== 'string' || !isToken(v)) throw invalidValue(v, key);
  if (v === 'proxy_protocol') throw new ConfigError(`"${key}" proxy_protocol is not supported (sluice does not take the PROXY protocol)`, key);
  // the two names nginx knows are matched as written, any other as a header name
  if (v === 'X-Real-IP') return { kind: XREALIP, name: 'x-real-ip' };
  if (v === 'X-Forwarded-For') return { kind: XFWD, name: 'x-forwarded-for' };
  return { kind: HEADER, name: v.toLowerCase() };
});

/** NGX_DECLINED, NGX_OK, NGX_DONE of ngx_http_get_forwarded_addr_internal */
const FW_DECLINED = 0, FW_OK = 1, FW_DONE = 2;

/** The address being followed back through the hops. */
export interface Hop {
  addr: IpAddr;
}

/**
 * One header value, from its last element back while each hop is trusted (recursive), or the
 * last element only. Updates fw.addr.
 */
function forwardedOne(fw: Hop, v: string, trusted: readonly Cidr[], recursive: boolean): number {
  let found = false;
  let end = v.length;
  let p: number;
  do {
    if (!cidrMatch(fw.addr, trusted)) return found ? FW_DONE : FW_DECLINED;
    p = end - 1;
    while (p > 0 && (v.charCodeAt(p) === 0x20 || v.charCodeAt(p) === 0x2c)) { p--; end--; }
    for (; p > 0; p--) {
      const c = v.charCodeAt(p);
      if (c === 0x20 || c === 0x2c) { p++; break; }
    }
    const ip = p < 0 ? null : parseAddrPort(v, p, end);
    if (ip === null) return found ? FW_DONE : FW_DECLINED;
    fw.addr = ip;
    found = true;
    end = p - 1;
  } while (recursive && p > 0);
  return FW_OK;
}

/**
 * ngx_http_get_forwarded_addr: X-Forwarded-For headers are taken from the last one back; fw.addr
 * becomes the client found. FW_DECLINED (0) when the header gave nothing. The geo module's
 * `proxy` uses it too.
 */
export function forwarded(fw: Hop, values: readonly string[], trusted: readonly Cidr[], recursive: boolean): number {
  let rc = FW_DECLINED;
  let found = false;
  for (let i = values.length - 1; i >= 0; i--) {
    rc = forwardedOne(fw, values[i], trusted, recursive);
    if (!recursive) break;
    if (rc === FW_DECLINED && found) { rc = FW_DONE; break; }
    if (rc !== FW_OK) break;
    found = true;
  }
  return rc;
}

/** ngx_http_realip_handler, with the config of where the request is (server, then location). */
const realipPhase: PhaseHandler = (r) => {
  if (r !== r.main || r.realipAddr !== null) return DECLINED;
  const trusted = r.conf.setRealIpFrom as readonly Cidr[] | null;
  if (trusted === null) return DECLINED;
  const h = r.conf.realIpHeader as RealIpHeader;
  let values: string[];
  if (h.kind === XFWD) {
    values = r.headersIn.getAll('x-forwarded-for');
    if (values.length === 0) return DECLINED;
  } else {
    const v = r.headersIn.get(h.name);
    if (v === undefined) return DECLINED;
    values = [v];
  }
  const addr = parseIp(r.remoteAddr);
  if (addr === null) return DECLINED;
  const fw: Hop = { addr };
  if (forwarded(fw, values, trusted, r.conf.realIpRecursive as boolean) !== FW_DECLINED) setAddr(r, fw.addr);
  return DECLINED;
};

function setAddr(r: Request, ip: IpAddr): void {
  r.realipAddr = r.remoteAddr;
  r.realipPort = r.remotePort;
  r.remoteAddr = formatIp(ip);
  r.remotePort = ip.port;
}

registerVariable('realip_remote_addr', (r) => r.main.realipAddr ?? r.main.remoteAddr);
registerVariable('realip_remote_port', (r) => {
  const p = r.main.realipAddr !== null ? r.main.realipPort : r.main.remotePort;
  return p > 0 ? String(p) : '';
});

export const realipModule = defineModule({
  name: 'realip',
  nginx: 'ngx_http_realip_module',
  about: 'the client address from X-Real-IP, X-Forwarded-For or another header of trusted proxies',
  directives: {
    setRealIpFrom: cmd(HSL, from, null, {
      differs: 'addresses and CIDR blocks, several in one value; host names are refused (nginx resolves them at startup); `unix:` never matches (no unix-domain listeners)',
    }),
    realIpHeader: cmd(HSL, header, 'X-Real-IP', { differs: '`proxy_protocol` is refused (no PROXY protocol)' }),
    realIpRecursive: cmd(HSL, flag, false),
  },
  // the server's config before `return` at server level; the location's before the access checks
  phases: { serverRewrite: realipPhase, access: realipPhase },
});
