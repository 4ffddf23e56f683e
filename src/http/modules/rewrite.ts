// cf. ngx_http_rewrite_module.c — `return` (in the server rewrite and rewrite phases).

import { ConfigError, invalidValue, showValue } from '../conf/size-time.js';
import { DECLINED, DONE, SL, cmd, defineModule, parser, type PhaseHandler } from '../conf/module.js';
import type { Request } from '../request.js';
import { expandVariables } from '../variables.js';
import { isHeaderSafe } from '../conf/parse.js';

export interface ReturnValue {
  code: number;
  /** Body text, or the Location for 301/302/303/307/308; null when only a code was given. */
  text: string | null;
}

export function isRedirect(code: number): boolean {
  return code === 301 || code === 302 || code === 303 || code === 307 || code === 308;
}

/** [code], [code, text], [code, url] for 301/302/303/307/308, or 'http(s)://url' for a 302. */
const ret = parser<number | string | readonly [number] | readonly [number, string]>()((v, key): ReturnValue => {
  let code: unknown;
  let text: unknown = null;
  if (typeof v === 'string') {
    // a lone URL means 302, as in nginx; anything else is a bad code
    if (v.startsWith('http://') || v.startsWith('https://')) {
      if (!isHeaderSafe(v)) throw invalidValue(v, key);
      return { code: 302, text: v };
    }
    throw new ConfigError(`invalid return code ${showValue(v)}`, key);
  }
  if (typeof v === 'number') {
    code = v;
  } else if (Array.isArray(v) && (v.length === 1 || v.length === 2)) {
    code = v[0];
    if (v.length === 2) {
      text = v[1];
      if (typeof text !== 'string') throw invalidValue(v, key);
    }
  } else {
    throw invalidValue(v, key);
  }
  // nginx takes 0..999 and sends what it is given; a status line is 200..599 (RFC 9110 §15),
  // and 444 / 499 close without an answer (they are for the log)
  if (typeof code !== 'number' || !Number.isInteger(code) || ((code < 200 || code > 599) && code !== 0)) {
    throw new ConfigError(`invalid return code ${showValue(code)}`, key);
  }
  if (isRedirect(code)) {
    // nginx would send an empty Location; we ask for the URL at startup instead
    if (typeof text !== 'string' || text === '' || !isHeaderSafe(text)) throw new ConfigError(`"${key}" with code ${code} needs a URL`, key);
  }
  return { code, text: text as string | null };
});

/**
 * `return` bodies without $variables, made into bytes once per directive. Main requests only:
 * a capture hands its body to the handler as a Buffer it may change, so a subrequest gets its own.
 */
const returnBodies = new WeakMap<ReturnValue, Buffer>();

/** ngx_http_rewrite_return: answer with the code, its text or its redirect. */
export function sendReturn(r: Request, ret: ReturnValue): void {
  const { code, text } = ret;
  if (r === r.main && r.hc !== null) {
    // ngx_http_send_response discards the body first: a malformed one is answered as such
    const rc = r.hc.discardBody(r);
    if (rc !== 0) r.exit(rc);
  }
  if (code === 444 || code === 499) r.exit(code);
  if (isRedirect(code)) {
    if (text !== null) r.headersOut.location = expandVariables(r, text);
    r.exit(code);
  }
  if (text === null) r.exit(code === 0 ? 0 : code);
  let body = r === r.main ? returnBodies.get(ret) : undefined;
  if (body === undefined) {
    body = Buffer.from(expandVariables(r, text));
    if (r === r.main && !text.includes('$')) returnBodies.set(ret, body);
  }
  r.headersOut.status = code;
  r.headersOut.contentLength = body.length;
  r.sendHeader();
  if (!r.headerOnly && body.length > 0) r.print(body);
}

const serverReturn: PhaseHandler = (r) => {
  const ret = r.server.conf.return as ReturnValue | null;
  if (ret === null) return DECLINED;
  sendReturn(r, ret);
  return DONE;
};

const locationReturn: PhaseHandler = (r) => {
  const ret = r.conf.return as ReturnValue | null;
  if (ret === null) return DECLINED;
  sendReturn(r, ret);
  return DONE;
};

export const rewriteModule = defineModule({
  name: 'rewrite',
  nginx: 'ngx_http_rewrite_module',
  about: '`return` at server level (server rewrite phase) and in a location (rewrite phase)',
  notYet: ['rewrite', 'set', 'if', 'break', 'rewrite_log'],
  directives: {
    // runs in its own block's phase and is never inherited
    return: cmd(SL, ret, null, { inherit: false, differs: 'codes 200..599, 444 and 499 only (nginx sends 0..999 as given); a redirect needs its URL' }),
  },
  // the server block's `return` (server rewrite phase), then the location's (rewrite phase)
  phases: { serverRewrite: serverReturn, rewrite: locationReturn },
});
