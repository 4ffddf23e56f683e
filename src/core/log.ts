// cf. src/core/ngx_log.c (the error log) and ngx_http_log_module.c (the access log line).
//
// No process-wide sink: each block's errorLog / accessLog resolves to a LogTarget (where, from
// which level), and the server that runs the config opens its files once each (LogFiles) and
// closes them when it stops. Two servers in one process keep their logs apart.

import { createWriteStream, openSync } from 'node:fs';

/** Where log lines go: a stream, or an object of the user's with write(). */
export interface LogSink {
  write(line: string): unknown;
}

export const LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'] as const;
export type LogLevel = (typeof LEVELS)[number];

/** A log destination as a directive resolved it; its sink is set when a server opens it. */
export class LogTarget {
  /** 'stderr', 'stdout', a file path, '(sink)' for a user's object; null when off. */
  readonly path: string | null;
  /** Lines below this level (index in LEVELS) are dropped. */
  readonly level: number;
  sink: LogSink | null;
  constructor(path: string | null, level: number, sink: LogSink | null) {
    this.path = path;
    this.level = level;
    this.sink = sink;
  }
}

/** Off: nothing is written. */
export const LOG_OFF = new LogTarget(null, LEVELS.length, null);

/** A target for `path` ('stderr', 'stdout', a file, 'off') from `level`. */
export function logTarget(path: string | null, level: LogLevel = 'error'): LogTarget {
  if (path === null || path === 'off') return LOG_OFF;
  const sink = path === 'stderr' ? process.stderr : path === 'stdout' ? process.stdout : null;
  return new LogTarget(path, LEVELS.indexOf(level), sink);
}

/** A target writing to a user's object (tests, or an application's own logger). */
export function sinkTarget(sink: LogSink, level: LogLevel = 'error'): LogTarget {
  return new LogTarget('(sink)', LEVELS.indexOf(level), sink);
}

/** The log files one server has open: each path once (as nginx opens each log once per cycle). */
export class LogFiles {
  private readonly streams = new Map<string, LogSink & { end(cb: () => void): void }>();

  /** Give `t` its sink; throws with nginx's wording when the file cannot be opened. */
  open(t: LogTarget): void {
    if (t.path === null || t.path === 'stderr' || t.path === 'stdout' || t.path === '(sink)') return;
    let s = this.streams.get(t.path);
    if (s === undefined) {
      let fd: number;
      try {
        fd = openSync(t.path, 'a');
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new Error(`sluice: open() "${t.path}" failed (${-(err.errno ?? 0)}: ${err.code ?? err.message})`);
      }
      const path = t.path;
      const w = createWriteStream('', { fd, flags: 'a' });
      // a log that cannot be written must not stop the server
      w.on('error', (e) => process.stderr.write(`sluice: cannot write log "${path}": ${e.message}\n`));
      s = w;
      this.streams.set(t.path, s);
    }
    t.sink = s;
  }

  /** Flush and close every file; resolves once what was queued is written. */
  close(): Promise<void> {
    const all = [...this.streams.values()].map((s) => new Promise<void>((res) => s.end(() => res())));
    this.streams.clear();
    return Promise.all(all).then(() => undefined);
  }
}

/** What an error log line says about a request (http's Request has all of it). */
export interface LogRequest {
  readonly traceId: string;
  readonly method: string;
  readonly unparsedUri: string;
  readonly httpVersion: number;
  readonly hostName: string;
  readonly conf: { readonly errorLog: LogTarget };
  readonly server: { readonly serverNames: readonly string[] };
  /** remoteAddr: the client as the realip module may have set it (the connection's address else). */
  readonly main: { readonly remoteAddr: string };
}

function stamp(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Would a line at `level` be written to `t`? (to skip work done only for a log line) */
export function logs(t: LogTarget, level: LogLevel): boolean {
  return t.sink !== null && LEVELS.indexOf(level) >= t.level;
}

/**
 * An error log line in nginx's shape: "... [error] pid#0: *r1 message, client: ..., request: ...",
 * to the request's location's errorLog, or to `to` when there is no request (a connection's errors).
 */
export function logError(level: LogLevel, r: LogRequest | null, msg: string, to: LogTarget | null = null): void {
  const t = r !== null ? r.conf.errorLog : to;
  if (t === null || t.sink === null || LEVELS.indexOf(level) < t.level) return;
  let line = `${stamp()} [${level}] ${process.pid}#0: `;
  if (r !== null) line += `*${r.traceId} `;
  line += msg;
  if (r !== null) {
    line += `, client: ${r.main.remoteAddr || '-'}, server: ${r.server.serverNames[0] ?? ''}, request: "${r.method} ${r.unparsedUri} HTTP/${(r.httpVersion / 1000) | 0}.${r.httpVersion % 1000}"`;
    if (r.hostName) line += `, host: "${r.hostName}"`;
  }
  // one event, one line: a CR or LF in what a message quotes (a method or URI a handler set)
  // could otherwise forge a line of its own
  t.sink.write(escapeControls(line) + '\n');
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

/** What the access log line needs of a request. */
export interface AccessRequest extends LogRequest {
  readonly conf: { readonly errorLog: LogTarget; readonly accessLog: LogTarget };
  readonly headersIn: { get(name: string): string | undefined };
  readonly headersOut: { readonly status: number };
  readonly bodyBytesSent: number;
}

/** The access log line (after the main request), to its location's accessLog. */
export function logAccess(r: AccessRequest): void {
  const t = r.conf.accessLog;
  if (t.sink === null) return;
  const ref = r.headersIn.get('referer') ?? '-';
  const ua = r.headersIn.get('user-agent') ?? '-';
  t.sink.write(escapeControls(`${r.main.remoteAddr || '-'} - - [${new Date().toISOString()}] "${r.method} ${r.unparsedUri} HTTP/${(r.httpVersion / 1000) | 0}.${r.httpVersion % 1000}" ${r.headersOut.status} ${r.bodyBytesSent} "${ref}" "${ua}"`) + '\n');
}
