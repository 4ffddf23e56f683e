// cf. ngx_http_access_module.c — allow and deny by client address, in the access phase; and
// `satisfy` with the access phase's checker (ngx_http_core_access_phase and
// ngx_http_core_post_access_phase in ngx_http_core_module.c), which the access modules share.
//
// nginx's allow/deny lines form one ordered list; a JS object cannot repeat a key, so the list is
// one directive: `accessRules: ['allow 10.0.0.0/8', 'allow 2001:db8::/32', 'deny all']`, each line as
// in nginx.conf without the semicolon (['allow', '10.0.0.0/8'] is taken too).

import { AF_INET, Cidr, parseCidr, parseIp, type IpAddr } from '../../core/cidr.js';
import { logError } from '../../core/log.js';
import { ConfigError, invalidValue, showValue } from '../conf/size-time.js';
import { DECLINED, DONE, HSL, cmd, defineModule, parser, type PhaseHandler } from '../conf/module.js';
import { oneOf } from '../conf/parse.js';
import type { Request } from '../request.js';

/** What an access module says of a request (the rc of its handler in nginx). */
export const ACCESS_DECLINED = 0;
/** NGX_OK: this module lets the request in (with `satisfy any`, that is enough). */
export const ACCESS_OK = 1;
export const ACCESS_UNAUTHORIZED = 401;
export const ACCESS_FORBIDDEN = 403;

export interface AccessRule {
  readonly cidr: Cidr;
  readonly deny: boolean;
}

/** The rules by family, each list in the order written (`all` is in every list). */
export interface AccessRules {
  readonly v4: readonly AccessRule[];
  readonly v6: readonly AccessRule[];
  readonly unix: readonly AccessRule[];
}

type RuleInput = string | readonly ['allow' | 'deny', string];

const ALL4 = new Cidr(AF_INET, [0, 0, 0, 0], [0, 0, 0, 0]);
const ALL6 = new Cidr(6, [0, 0, 0, 0], [0, 0, 0, 0]);
const UNIX = new Cidr(1, [0, 0, 0, 0], [0, 0, 0, 0]);

/** ngx_http_access_rule, for every line; a block's list replaces the inherited one. */
const rules = parser<readonly RuleInput[]>()((v, key): AccessRules => {
  if (!Array.isArray(v) || v.length === 0) throw invalidValue(v, key);
  const v4: AccessRule[] = [], v6: AccessRule[] = [], unix: AccessRule[] = [];
  for (const line of v) {
    let w: unknown[];
    if (typeof line === 'string') w = line.trim().split(/\s+/);
    else if (Array.isArray(line)) w = line;
    else throw invalidValue(line, key);
    if (w.length !== 2 || (w[0] !== 'allow' && w[0] !== 'deny') || typeof w[1] !== 'string') {
      throw new ConfigError(`invalid access rule ${showValue(line)} in "${key}" (want "allow ADDRESS" or "deny ADDRESS")`, key);
    }
    const deny = w[0] === 'deny';
    const value = w[1];
    if (value === 'all') {
      v4.push({ cidr: ALL4, deny });
      v6.push({ cidr: ALL6, deny });
      unix.push({ cidr: UNIX, deny });
      continue;
    }
    if (value === 'unix:') {
      unix.push({ cidr: UNIX, deny });
      continue;
    }
    // nginx warns about bits below the mask ("low address bits ... are meaningless") and clears them
    const c = parseCidr(value);
    if (c === null) throw new ConfigError(`invalid parameter "${value}" in "${key}"`, key);
    (c.cidr.family === AF_INET ? v4 : v6).push({ cidr: c.cidr, deny });
  }
  return { v4, v6, unix };
});

/** ngx_http_access_handler: the first rule that matches the client decides. */
function accessVerdict(r: Request, rules: AccessRules): number {
  const ip = parseIp(r.main.remoteAddr);
  // no address: a client on a unix-domain socket, which sluice does not listen on
  if (ip === null) return rules.unix.length > 0 ? found(r, rules.unix[0].deny) : ACCESS_DECLINED;
  if (ip.family === AF_INET || (ip.v4mapped && rules.v4.length > 0)) {
    // a v4-mapped client is matched against the IPv4 rules when there are any
    const a = ip.w3;
    for (const rule of rules.v4) if (((a & rule.cidr.m3) >>> 0) === rule.cidr.a3) return found(r, rule.deny);
    return ACCESS_DECLINED;
  }
  for (const rule of rules.v6) if (match6(ip, rule.cidr)) return found(r, rule.deny);
  return ACCESS_DECLINED;
}

function match6(ip: IpAddr, c: Cidr): boolean {
  return ((ip.w0 & c.m0) >>> 0) === c.a0 && ((ip.w1 & c.m1) >>> 0) === c.a1
    && ((ip.w2 & c.m2) >>> 0) === c.a2 && ((ip.w3 & c.m3) >>> 0) === c.a3;
}

/** ngx_http_access_found */
function found(r: Request, deny: boolean): number {
  if (!deny) return ACCESS_OK;
  if (r.conf.satisfy === 'all') logError('error', r, 'access forbidden by rule');
  return ACCESS_FORBIDDEN;
}

/**
 * The access phase's checker for the access modules (ngx_http_core_access_phase): with
 * `satisfy all` the first refusal answers the request; with `satisfy any` the first module that
 * lets the request in ends the checks, and refusals wait for postAccess (401 wins over 403).
 */
export function accessChecked(r: Request, rc: number): number {
  if (rc === ACCESS_DECLINED) return DECLINED;
  if (r.conf.satisfy === 'all') {
    if (rc === ACCESS_OK) return DECLINED;
    return refuse(r, rc);
  }
  if (rc === ACCESS_OK) {
    r.accessCode = -1;
    // a realm an earlier module asked for is not sent (nginx hides www_authenticate)
    r.headersOut.set('WWW-Authenticate', null);
    return DECLINED;
  }
  if (rc === ACCESS_FORBIDDEN || rc === ACCESS_UNAUTHORIZED) {
    if (r.accessCode !== ACCESS_UNAUTHORIZED) r.accessCode = rc;
    return DECLINED;
  }
  return refuse(r, rc);
}

/** Should an access module look at this request? (main requests only, as nginx's checker; not
 *  once another module let it in under `satisfy any`) */
export function accessSkipped(r: Request): boolean {
  return r !== r.main || r.accessCode === -1;
}

/** Answer with a refusal: 403 or 500 as error pages; 401 with the realm the module set. */
function refuse(r: Request, rc: number): number {
  if (rc !== ACCESS_UNAUTHORIZED) r.exit(rc);
  sendUnauthorized(r);
  return DONE;
}

/**
 * 401 with its WWW-Authenticate. The error page is made here because the special response drops
 * every header but Location (nginx keeps www_authenticate); the page has the same shape.
 */
function sendUnauthorized(r: Request): void {
  const realm = r.headersOut.get('www-authenticate');
  if (r.hc !== null) {
    const rc = r.hc.discardBody(r, false);
    if (rc !== 0) r.exit(rc);
  }
  r.headersOut.reset();
  r.headersOut.status = 401;
  if (realm !== undefined) r.headersOut.set('WWW-Authenticate', realm);
  r.headersOut.contentType = 'text/html';
  r.headersOut.contentLength = PAGE_401.length;
  r.sendHeader();
  if (!r.headerOnly) r.print(PAGE_401);
}

// nginx's page says "Authorization Required" (its status line says "Unauthorized")
const TITLE_401 = '401 Authorization Required';
const PAGE_401 = Buffer.from(`<!DOCTYPE html>\n<html>\n<head><title>${TITLE_401}</title></head>\n<body>\n<h1>${TITLE_401}</h1>\n<hr><p>sluice</p>\n</body>\n</html>\n`);

const accessPhase: PhaseHandler = (r) => {
  const rules = r.conf.accessRules as AccessRules | null;
  if (rules === null || accessSkipped(r)) return DECLINED;
  return accessChecked(r, accessVerdict(r, rules));
};

/** ngx_http_core_post_access_phase: `satisfy any` and nobody let the request in. */
const postAccessPhase: PhaseHandler = (r) => {
  const code = r.accessCode;
  r.accessCode = 0;
  if (code <= 0) return DECLINED;
  if (code === ACCESS_FORBIDDEN) logError('error', r, 'access forbidden by rule');
  return refuse(r, code);
};

export const accessModule = defineModule({
  name: 'access',
  nginx: 'ngx_http_access_module',
  about: 'allow and deny by client address (access phase); satisfy',
  directives: {
    accessRules: cmd(HSL, rules, null, {
      nginx: 'allow, deny',
      differs: 'one ordered list for nginx\'s allow and deny lines (\'allow 10.0.0.0/8\', \'deny all\'); `unix:` is taken but never matches (sluice listens on TCP only); no warning for bits below the mask (they are cleared, as in nginx)',
    }),
    satisfy: cmd(HSL, oneOf('all', 'any'), 'all', {
      differs: 'counts the access, authBasic modules; the `access` handler (access_by_lua) runs after their decision, also when `satisfy any` let the request in (nginx skips it then)',
    }),
  },
  phases: { access: accessPhase },
});

/**
 * The end of the access modules' checks (ngx_http_core_post_access_phase): listed after the last
 * access module, before the `access` handlers of the lua module.
 */
export const postAccessModule = defineModule({
  name: 'post_access',
  nginx: 'ngx_http_core_module',
  about: 'satisfy any: the refusal when no access module let the request in',
  directives: {},
  phases: { access: postAccessPhase },
});
