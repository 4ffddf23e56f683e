// cf. src/core/ngx_log.c (the error log) and ngx_http_log_module.c (the access log line).
//
// No process-wide sink: each block's errorLog / accessLog resolves to a LogTarget (where, from
// which level), and the server that runs the config opens its files once each (LogFiles) and
// closes them when it stops. Two servers in one process keep their logs apart.

import { close, openSync, write } from 'node:fs';
import { SYSTEM_CLOCK, type Clock, type TimerHandle } from './clock.js';

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

/** Lines an access log holds back (buffer=): written out before a reopen, a flush and the close. */
export interface LogBuffer {
  flushBuffer(): void;
}

/**
 * The log files one server has open: each path once (as nginx opens each log once per cycle),
 * each a LogFile writing in the background; and the access logs' buffers, with the clock their
 * flush= timers read.
 */
export class LogFiles {
  private readonly files = new Map<string, LogFile>();
  private readonly buffers: LogBuffer[] = [];
  readonly clock: Clock;

  constructor(clock: Clock = SYSTEM_CLOCK) {
    this.clock = clock;
  }

  /** Give `t` its sink; throws with nginx's wording when the file cannot be opened. */
  open(t: LogTarget): void {
    if (t.path === null || t.path === 'stderr' || t.path === 'stdout' || t.path === '(sink)') return;
    t.sink = this.file(t.path);
  }

  /** The file for `path`, opened on first use. */
  file(path: string): LogFile {
    let f = this.files.get(path);
    if (f === undefined) this.files.set(path, f = new LogFile(path));
    return f;
  }

  /**
   * The buffer of `f` (access_log buffer=, flush=): one per file, as nginx keeps it on the open
   * file; a second access log of the file must ask for the same size and flush time.
   */
  lineBuffer(f: LogFile, size: number, flushMs: number): LineBuffer {
    for (const b of this.buffers) {
      if (b instanceof LineBuffer && b.file === f) {
        if (b.size !== size || b.flushMs !== flushMs) throw new Error(`sluice: access_log "${f.path}" already defined with conflicting parameters`);
        return b;
      }
    }
    const b = new LineBuffer(f, size, flushMs, this.clock);
    this.buffers.push(b);
    return b;
  }

  /** Write out what the buffers hold (into the files' queues). */
  private flushBuffers(): void {
    for (let i = 0; i < this.buffers.length; i++) this.buffers[i].flushBuffer();
  }

  /**
   * Reopen every file (USR1, logrotate): buffered lines first go to the old file, then each file
   * gets a new fd for its path and the old fd is closed once its queued lines are written.
   */
  reopen(): void {
    this.flushBuffers();
    for (const f of this.files.values()) f.reopen();
  }

  /** Resolves when every line logged so far is written. */
  flush(): Promise<void> {
    this.flushBuffers();
    return Promise.all([...this.files.values()].map((f) => f.flush())).then(() => undefined);
  }

  /** Write what is buffered and queued, then close every file. */
  close(): Promise<void> {
    this.flushBuffers();
    const all = [...this.files.values()].map((f) => f.close());
    this.files.clear();
    this.buffers.length = 0;
    return Promise.all(all).then(() => undefined);
  }
}

/**
 * An access log's buffer (ngx_http_log_buf_t): lines are held until the next does not fit, the
 * flush time passes since the first was held, or the logs are flushed, reopened or closed. A line
 * bigger than the buffer is written on its own.
 */
export class LineBuffer implements LogBuffer {
  readonly file: LogFile;
  readonly size: number;
  readonly flushMs: number;
  private readonly clock: Clock;
  private held: Buffer[];
  private bytes: number;
  private timer: TimerHandle | null;

  constructor(file: LogFile, size: number, flushMs: number, clock: Clock) {
    this.file = file;
    this.size = size;
    this.flushMs = flushMs;
    this.clock = clock;
    this.held = [];
    this.bytes = 0;
    this.timer = null;
  }

  add(b: Buffer): void {
    if (this.bytes + b.length > this.size) this.flushBuffer();
    if (b.length > this.size) {
      this.file.writeBytes(b);
      return;
    }
    if (this.bytes === 0 && this.flushMs > 0) this.timer = this.clock.setTimeout(onFlushTimer, this.flushMs, this, true);
    this.held.push(b);
    this.bytes += b.length;
  }

  flushBuffer(): void {
    if (this.timer !== null) { this.clock.clearTimeout(this.timer); this.timer = null; }
    if (this.bytes === 0) return;
    const held = this.held;
    this.held = [];
    this.bytes = 0;
    this.file.writeBytes(held.length === 1 ? held[0] : Buffer.concat(held));
  }
}

function onFlushTimer(b: LineBuffer): void {
  (b as unknown as { timer: TimerHandle | null }).timer = null;
  b.flushBuffer();
}

/**
 * One open log file: lines are queued and written in order by async fs.write (one write in
 * flight, what came meanwhile goes in the next), so a slow disk never blocks the event loop.
 * reopen() gives it a new fd for the same path (logrotate moved the old file): what was queued
 * before goes to the old fd, which is closed once written; nothing is lost or written twice.
 */
export class LogFile implements LogSink {
  readonly path: string;
  private w: FdWriter;
  /** Old fds (before a reopen) still writing their last lines. */
  private readonly retiring: Set<Promise<void>>;

  constructor(path: string) {
    this.path = path;
    this.w = new FdWriter(openLog(path), path);
    this.retiring = new Set();
  }

  /** Queue a line (a string: UTF-8). */
  write(line: string): boolean {
    this.w.push(Buffer.from(line));
    return true;
  }

  /** Queue bytes as they are (the access log's lines). */
  writeBytes(b: Buffer): void {
    this.w.push(b);
  }

  /** A new fd for the path; the old one is closed after its queued lines are written. */
  reopen(): void {
    let fd: number;
    try {
      fd = openLog(this.path);
    } catch (e) {
      // as nginx: the old file stays in use when the new one cannot be opened
      process.stderr.write(`sluice: [alert] ${(e as Error).message.replace(/^sluice: /, '')}\n`);
      return;
    }
    const old = this.w;
    this.w = new FdWriter(fd, this.path);
    old.end();
    const closed = old.closed;
    this.retiring.add(closed);
    void closed.then(() => this.retiring.delete(closed));
  }

  /** Resolves when everything queued so far is written (to the old fds of a reopen too). */
  flush(): Promise<void> {
    if (this.retiring.size === 0) return this.w.drained();
    return Promise.all([this.w.drained(), ...this.retiring]).then(() => undefined);
  }

  /** Write what is queued, then close. */
  close(): Promise<void> {
    const w = this.w;
    w.end();
    return Promise.all([w.closed, ...this.retiring]).then(() => undefined);
  }
}

function openLog(path: string): number {
  try {
    return openSync(path, 'a');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`sluice: open() "${path}" failed (${-(err.errno ?? 0)}: ${err.code ?? err.message})`);
  }
}

/** The queue of one fd: chunks written in order, one fs.write in flight. */
class FdWriter {
  private readonly fd: number;
  private readonly path: string;
  private queue: Buffer[];
  private writing: boolean;
  private ending: boolean;
  /** Chunks pushed, and chunks written (or failed), in all: flush() waits for the count of now. */
  private pushed: number;
  private done: number;
  private inFlight: number;
  private waiters: { at: number; resolve: () => void }[] | null;
  private failed: boolean;
  readonly closed: Promise<void>;
  private onClosed!: () => void;

  constructor(fd: number, path: string) {
    this.fd = fd;
    this.path = path;
    this.queue = [];
    this.writing = false;
    this.ending = false;
    this.pushed = 0;
    this.done = 0;
    this.inFlight = 0;
    this.waiters = null;
    this.failed = false;
    this.closed = new Promise<void>((res) => { this.onClosed = res; });
  }

  push(b: Buffer): void {
    if (this.ending || b.length === 0) return;
    this.queue.push(b);
    this.pushed++;
    if (!this.writing) this.next();
  }

  /** Resolves once the chunks pushed so far are written. */
  drained(): Promise<void> {
    if (this.done >= this.pushed) return Promise.resolve();
    const at = this.pushed;
    return new Promise<void>((resolve) => { (this.waiters ??= []).push({ at, resolve }); });
  }

  end(): void {
    if (this.ending) return;
    this.ending = true;
    if (!this.writing) this.finish();
  }

  private next(): void {
    const q = this.queue;
    const b = q.length === 1 ? q[0] : Buffer.concat(q);
    this.inFlight = q.length;
    this.queue = [];
    this.writing = true;
    this.writeFrom(b, 0);
  }

  private writeFrom(b: Buffer, at: number): void {
    write(this.fd, b, at, b.length - at, null, (e, n) => {
      if (e !== null) {
        // a log that cannot be written must not stop the server (nginx logs and goes on)
        if (!this.failed) process.stderr.write(`sluice: [alert] write() to "${this.path}" failed (${e.code ?? e.message})\n`);
        this.failed = true;
      } else if (at + n < b.length) {
        this.writeFrom(b, at + n);
        return;
      }
      this.done += this.inFlight;
      this.inFlight = 0;
      this.wake();
      if (this.queue.length > 0) {
        this.next();
        return;
      }
      this.writing = false;
      if (this.ending) this.finish();
    });
  }

  private wake(): void {
    const w = this.waiters;
    if (w === null) return;
    let keep: typeof w | null = null;
    for (let i = 0; i < w.length; i++) {
      if (w[i].at <= this.done) w[i].resolve();
      else (keep ??= []).push(w[i]);
    }
    this.waiters = keep;
  }

  private finish(): void {
    close(this.fd, () => this.onClosed());
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
 * `upstream`: the URL of the upstream request in progress, shown as nginx shows it (", upstream: ...").
 */
export function logError(level: LogLevel, r: LogRequest | null, msg: string, to: LogTarget | null = null, upstream: string | null = null): void {
  const t = r !== null ? r.conf.errorLog : to;
  if (t === null || t.sink === null || LEVELS.indexOf(level) < t.level) return;
  let line = `${stamp()} [${level}] ${process.pid}#0: `;
  if (r !== null) line += `*${r.traceId} `;
  line += msg;
  if (r !== null) {
    line += `, client: ${r.main.remoteAddr || '-'}, server: ${r.server.serverNames[0] ?? ''}, request: "${r.method} ${r.unparsedUri} HTTP/${(r.httpVersion / 1000) | 0}.${r.httpVersion % 1000}"`;
    // the upstream being talked to, where nginx's log handler puts it (before host)
    if (upstream !== null) line += `, upstream: "${upstream}"`;
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

/** A block's access logs as the request path sees them (http's AccessLogs). */
export interface AccessLogSet {
  readonly logs: readonly unknown[];
  log(r: AccessRequest): void;
}

/** What the access log needs of a request. */
export interface AccessRequest {
  readonly conf: { readonly accessLog: AccessLogSet };
  outputPending(): boolean;
  addCleanup(fn: () => void): void;
}

/**
 * The access log lines of a main request that ended (ngx_http_log_handler, run when nginx frees
 * the request): when output is still on its way, once it has gone (or the client went), so the
 * bytes sent are what was sent.
 */
export function logAccess(r: AccessRequest): void {
  const logs = r.conf.accessLog;
  if (logs.logs.length === 0) return;
  if (r.outputPending()) r.addCleanup(() => logs.log(r));
  else logs.log(r);
}
