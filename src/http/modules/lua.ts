// cf. lua-nginx-module (rewrite_by_lua, access_by_lua, content_by_lua) — the handlers a user
// writes for the rewrite, access and content phases, in JavaScript.

import type { Request } from '../request.js';
import { HSL, L, cmd, defineModule } from '../conf/module.js';
import { fn } from '../conf/parse.js';

/** A phase handler: gets the request (OpenResty's `ngx`), may return a promise. */
export type Handler = (r: Request) => unknown;

export const luaModule = defineModule({
  name: 'lua',
  nginx: 'ngx_http_lua_module',
  about: 'rewrite, access and content handlers written in JavaScript (the phases call them)',
  directives: {
    rewrite: cmd(HSL, fn<Handler>(), null, { nginx: 'rewrite_by_lua_block' }),
    access: cmd(HSL, fn<Handler>(), null, { nginx: 'access_by_lua_block' }),
    content: cmd(L, fn<Handler>(), null, { nginx: 'content_by_lua_block' }),
  },
});
