// cf. lua-nginx-module (rewrite_by_lua, access_by_lua, content_by_lua, lua_need_request_body) —
// the handlers a user writes for the rewrite, access and content phases, in JavaScript.

import type { Request } from '../request.js';
import { DECLINED, DONE, HSL, L, cmd, defineModule, type PhaseHandler } from '../conf/module.js';
import { flag, fn } from '../conf/parse.js';
import { whenUpgradeDone } from '../upgrade.js';

/** A phase handler: gets the request (OpenResty's `ngx`), may return a promise. */
export type Handler = (r: Request) => unknown;

const rewritePhase: PhaseHandler = (r) => call(r.conf.rewriteHandler as Handler | null, r, DECLINED);
const accessPhase: PhaseHandler = (r) => call(r.conf.access as Handler | null, r, DECLINED);
// the location's content handler, when it has one (nginx's clcf->handler)
const contentPhase: PhaseHandler = (r) => {
  const rc = call(r.conf.content as Handler | null, r, DONE);
  // after r.upgrade() the request lasts as long as its stream (nginx's upgraded request too);
  // after a promise the phase runner looks (src/http/core.ts settled()), without a promise more
  if (typeof rc === 'number') return r.upgraded === null ? rc : whenUpgradeDone(r) ?? rc;
  return rc;
};

export const luaModule = defineModule({
  name: 'lua',
  nginx: 'ngx_http_lua_module',
  about: 'rewrite, access and content handlers written in JavaScript (the phases call them)',
  directives: {
    rewriteHandler: cmd(HSL, fn<Handler>(), null, { nginx: 'rewrite_by_lua_block' }),
    access: cmd(HSL, fn<Handler>(), null, { nginx: 'access_by_lua_block' }),
    content: cmd(L, fn<Handler>(), null, { nginx: 'content_by_lua_block' }),
    needRequestBody: cmd(HSL, flag, false, { nginx: 'lua_need_request_body' }),
  },
  phases: { rewrite: rewritePhase, access: accessPhase, content: contentPhase },
});

/**
 * Run a handler: a promise it returns is waited for; else `done` says what follows. With
 * needRequestBody (lua_need_request_body) the whole body is read first, as if the handler began
 * with `await r.readBody()`: a body already in (the usual case: it came with the head) costs no
 * promise and the handler may be synchronous; one still arriving is waited for; one that cannot be
 * read (too large, bad framing, timeout) ends the request with its status, and the handler never runs.
 */
function call(h: Handler | null, r: Request, done: number): number | Promise<unknown> {
  if (h === null) return DECLINED;
  if (r.conf.needRequestBody as boolean) {
    const rb = r.requestBody;
    // (readBody() of a complete body marks it read and answers Expect; its promise is a shared one)
    if (rb !== null && !rb.complete) return r.readBody().then(() => h(r));
    r.readBody();
  }
  const p = h(r);
  return p !== null && typeof p === 'object' && typeof (p as Promise<unknown>).then === 'function' ? p as Promise<unknown> : done;
}
