// cf. lua-nginx-module's ngx_http_lua_log.c (ngx.log) — a handler's own error log line, in
// nginx's shape, to the error log of the location the request is in:
//   2026/12/01 21:35:32 [error] 4242#0: *r1 [js] the message, client: 127.0.0.1, server: , request: "GET / HTTP/1.1", host: "localhost"
// ("[js]" where lua writes "[lua] file:line:"); the arguments are joined as ngx.log joins them.

import { LEVELS, logError, type LogLevel, type LogRequest } from '../../core/log.js';

/**
 * ngx.log(level, ...): write a line at `level` ('debug' .. 'emerg', nginx's names) to `r`'s
 * location's errorLog, if that log takes the level. Strings as they are, other values through
 * String() (null and undefined as "nil", as ngx.log prints Lua's nil), joined with nothing.
 */
export function log(r: LogRequest, level: LogLevel, ...args: unknown[]): void {
  if (!(LEVELS as readonly string[]).includes(level)) throw new RangeError(`log(): unknown level ${JSON.stringify(level)} (${LEVELS.join(', ')})`);
  const t = r.conf.errorLog;
  if (t.sink === null || LEVELS.indexOf(level) < t.level) return;
  let msg = '[js] ';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    msg += typeof a === 'string' ? a : a === null || a === undefined ? 'nil' : String(a);
  }
  logError(level, r, msg);
}
