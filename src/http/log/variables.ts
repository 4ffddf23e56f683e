// cf. ngx_http_variables.c and ngx_http_log_module.c (ngx_http_log_vars) — the variables of the
// log: times (from the server's clock, formatted once per second as ngx_times.c caches them),
// the bytes sent and received, the status as logged, the connection's serial and count.

import { registerVariable } from '../variables.js';
import { SYSTEM_CLOCK } from '../../core/clock.js';
import type { Request } from '../request.js';
import { randomBytes } from 'node:crypto';

/** Now, by the clock of the request's connection (a test's ManualClock, else the system's). */
function now(r: Request): number {
  return (r.main.hc?.clock ?? SYSTEM_CLOCK).now();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => (n < 10 ? '0' + n : String(n));

let localSec = NaN;
let localText = '';
/** $time_local: "01/Dec/2026:21:35:32 +0000" (local time, as nginx's ngx_cached_http_log_time). */
export function timeLocal(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== localSec) {
    const d = new Date(sec * 1000);
    const off = -d.getTimezoneOffset();
    const a = Math.abs(off);
    localText = `${p2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${off < 0 ? '-' : '+'}${p2((a / 60) | 0)}${p2(a % 60)}`;
    localSec = sec;
  }
  return localText;
}

let isoSec = NaN;
let isoText = '';
/** $time_iso8601: "2026-12-01T21:35:32+00:00" (local time with its offset). */
export function timeIso8601(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== isoSec) {
    const d = new Date(sec * 1000);
    const off = -d.getTimezoneOffset();
    const a = Math.abs(off);
    isoText = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}${off < 0 ? '-' : '+'}${p2((a / 60) | 0)}:${p2(a % 60)}`;
    isoSec = sec;
  }
  return isoText;
}

/** Seconds with milliseconds, "%T.%03M". */
function seconds(ms: number): string {
  const m = Math.max(0, Math.floor(ms));
  const f = m % 1000;
  return `${Math.floor(m / 1000)}.${f < 10 ? '00' + f : f < 100 ? '0' + f : f}`;
}

/** Bytes this request has handed to the connection (nginx's c->sent, which restarts per request). */
function sent(r: Request): number {
  const m = r.main;
  return m.conn === null ? m.headerSize + m.bodyBytesSent : m.conn.sent - m.sentBase;
}

/**
 * $request_length: the head, and the body's bytes as framed when the body was read (by a handler
 * or a proxy); a body nginx discards (return, static files) is not counted, as nginx's.
 */
function requestLength(r: Request): number {
  const rb = r.requestBody;
  if (rb === null || rb.discarding || (!rb.read && rb.stream === null)) return r.requestLength;
  return r.requestLength + r.bodyLength;
}

/** The status as logged: the error page's, else the response's, "%03d" (0 before any). */
function status(r: Request): string {
  const s = r.errStatus !== 0 ? r.errStatus : r.headersOut.status;
  return s < 10 ? '00' + s : s < 100 ? '0' + s : String(s);
}

/** $remote_user: the user name of Basic credentials (ngx_http_auth_basic_user), not found without. */
function remoteUser(r: Request): string | undefined {
  const h = r.headersIn.get('authorization');
  if (h === undefined || h.length < 6 || h.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  let i = 6;
  while (h.charCodeAt(i) === 0x20) i++;
  const raw = Buffer.from(h.slice(i), 'base64').toString('latin1');
  if (raw === '') return undefined;
  const c = raw.indexOf(':');
  return c < 0 ? undefined : raw.slice(0, c);
}

registerVariable('status', status);
registerVariable('bytes_sent', (r) => String(sent(r)));
registerVariable('body_bytes_sent', (r) => String(Math.max(0, sent(r) - r.main.headerSize)));
registerVariable('request_length', (r) => String(requestLength(r.main)));
registerVariable('request_time', (r) => seconds(now(r) - r.main.startTime));
registerVariable('msec', (r) => seconds(now(r)));
registerVariable('time_local', (r) => timeLocal(now(r)));
registerVariable('time_iso8601', (r) => timeIso8601(now(r)));
registerVariable('pipe', (r) => (r.main.pipelined ? 'p' : '.'));
registerVariable('connection', (r) => (r.main.hc === null ? '' : String(r.main.hc.id)));
registerVariable('connection_requests', (r) => (r.main.hc === null ? '' : String(r.main.hc.requests)));
registerVariable('connection_time', (r) => (r.main.hc === null ? '' : seconds(now(r) - r.main.hc.startTime)));
registerVariable('remote_user', remoteUser);
registerVariable('request_completion', (r) => (r.main.finalized && !r.main.outputPending() && r.main.headersOut.status !== 499 && r.main.headersOut.status !== 444 && !(r.main.conn?.closed === true && !r.main.outputDone) ? 'OK' : ''));
registerVariable('request_id', (r) => (r.main.requestId ??= randomBytes(16).toString('hex')));
