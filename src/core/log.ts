// cf. src/core/ngx_log.c and ngx_http_log_module.c — the error log and the access log.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { Request } from '../http/request.js';

type Sink = { write(s: string): unknown };

let errorSink: Sink | null = process.stderr;
let accessSink: Sink | null = null;
const LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'];
let minLevel = LEVELS.indexOf('error');

function open(path: string | null | boolean | undefined, fallback: Sink | null): Sink | null {
  if (path === undefined || path === null || path === true) return fallback;
  if (path === false || path === 'off') return null;
  if (path === 'stderr') return process.stderr;
  if (path === 'stdout') return process.stdout;
  const s: WriteStream = createWriteStream(path, { flags: 'a' });
  s.on('error', (e) => process.stderr.write(`sluice: cannot write log "${path}": ${e.message}\n`));
  return s;
}

/** Point the logs somewhere (config's errorLog / accessLog; 'off' silences). */
export function configureLogs(errorLog: string | boolean | null | undefined, accessLog: string | boolean | null | undefined, level = 'error'): void {
  errorSink = open(errorLog, process.stderr);
  accessSink = open(accessLog, null);
  const l = LEVELS.indexOf(level);
  minLevel = l < 0 ? LEVELS.indexOf('error') : l;
}

/** Send error log lines to `sink` from `level` up (tests read what was logged; null silences). */
export function setErrorSink(sink: Sink | null, level = 'error'): void {
  errorSink = sink;
  const l = LEVELS.indexOf(level);
  minLevel = l < 0 ? LEVELS.indexOf('error') : l;
}

function stamp(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** An error log line in nginx's shape: "... [error] pid#0: *conn message, client: ..., request: ...". */
export function logError(level: string, r: Request | null, msg: string): void {
  if (errorSink === null || LEVELS.indexOf(level) < minLevel) return;
  let line = `${stamp()} [${level}] ${process.pid}#0: `;
  if (r !== null) line += `*${r.traceId} `;
  line += msg;
  if (r !== null) {
    const c = r.main.conn;
    line += `, client: ${c?.remoteAddress ?? '-'}, server: ${r.server.serverNames[0] ?? ''}, request: "${r.method} ${r.unparsedUri} HTTP/${(r.httpVersion / 1000) | 0}.${r.httpVersion % 1000}"`;
    if (r.hostName) line += `, host: "${r.hostName}"`;
  }
  // one event, one line: a CR or LF in what a message quotes (a method or URI a handler set)
  // could otherwise forge a line of its own
  errorSink.write(escapeControls(line) + '\n');
}

/** Control characters as \xHH (nginx escapes them in its logs the same way). */
function escapeControls(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      // stack traces keep their lines (they are ours, not the client's)
      return s.replace(/[\x00-\x09\x0b-\x1f\x7f]|\n(?!\s+at )/g, (ch) => '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0'));
    }
  }
  return s;
}

/** The "combined" access log line, when an access log is configured. */
export function logAccess(r: Request): void {
  if (accessSink === null) return;
  const c = r.main.conn;
  const ref = r.headersIn.get('referer') ?? '-';
  const ua = r.headersIn.get('user-agent') ?? '-';
  accessSink.write(`${c?.remoteAddress ?? '-'} - - [${new Date().toISOString()}] "${r.method} ${r.unparsedUri} HTTP/${(r.httpVersion / 1000) | 0}.${r.httpVersion % 1000}" ${r.headersOut.status} ${r.bodyBytesSent} "${ref}" "${ua}"\n`);
}
