// cf. ngx_http_log_module.c (ngx_http_log_set_log, ngx_http_log_handler, ngx_http_log_write) —
// the access_log directives of a block: each a destination, a format, an optional buffer
// (buffer=, flush=) and an optional condition (if=), written after the main request ends.

import { LineBuffer, type LogFiles, type LogSink, LogFile } from '../../core/log.js';
import { ConfigError, invalidValue, parseSize, parseTime } from '../conf/size-time.js';
import { compileComplex, type Complex } from '../script.js';
import type { Request } from '../request.js';
import { COMBINED_SOURCE, LogFormat, ESC_DEFAULT } from './format.js';

/** One access_log as written: nginx's arguments in a string, or an object. */
export type AccessLogEntry = string | LogSink | {
  readonly path: string | LogSink;
  /** A logFormat name (default: combined). */
  readonly format?: string;
  /** buffer=size: lines held and written together. */
  readonly buffer?: string | number;
  /** flush=time: the longest a buffered line waits. */
  readonly flush?: string | number;
  /** if=condition: not logged when it is empty or "0". */
  readonly if?: string;
};

/** accessLog's value: off (false, 'off'), on (true: stdout), one entry or several. */
export type AccessLogInput = boolean | AccessLogEntry | readonly AccessLogEntry[];

/** nginx's predefined format, compiled once. */
let combined: LogFormat | null = null;
export function combinedFormat(): LogFormat {
  return combined ??= new LogFormat('combined', COMBINED_SOURCE, ESC_DEFAULT, 'logFormat');
}

/** One access_log. */
export class AccessLog {
  /** 'stdout', 'stderr', a file path, or '(sink)'. */
  readonly path: string;
  readonly formatName: string;
  /** Set at load (checkConfig) from the http block's logFormat. */
  format: LogFormat;
  readonly bufferSize: number;
  readonly flushMs: number;
  readonly cond: Complex | null;
  /** Where lines go: a user's object, a stream, or the server's LogFile (set when it opens). */
  sink: LogSink | null;
  buffer: LineBuffer | null;

  constructor(path: string, sink: LogSink | null, formatName: string, bufferSize: number, flushMs: number, cond: Complex | null) {
    this.path = path;
    this.sink = sink;
    this.formatName = formatName;
    this.format = combinedFormat();
    this.bufferSize = bufferSize;
    this.flushMs = flushMs;
    this.cond = cond;
    this.buffer = null;
  }

  /** Get its file (and buffer) from the server's open logs. */
  open(files: LogFiles): void {
    if (this.path === '(sink)') return;
    if (this.path === 'stdout') { this.sink = process.stdout; return; }
    if (this.path === 'stderr') { this.sink = process.stderr; return; }
    const f = files.file(this.path);
    this.sink = f;
    this.buffer = this.bufferSize > 0 ? files.lineBuffer(f, this.bufferSize, this.flushMs) : null;
  }

  write(r: Request): void {
    const sink = this.sink;
    if (sink === null) return;
    if (this.cond !== null) {
      const v = this.cond.run(r);
      if (v === '' || v === '0') return;
    }
    const line = this.format.run(r) + '\n';
    if (sink instanceof LogFile) {
      // the line's chars are bytes (what came off the wire), unless a handler put others in
      const b = Buffer.from(line, NOT_LATIN1.test(line) ? 'utf8' : 'latin1');
      if (this.buffer !== null) this.buffer.add(b);
      else sink.writeBytes(b);
    } else {
      sink.write(line);
    }
  }
}

const NOT_LATIN1 = /[^\x00-\xff]/;

/** A block's access logs (ngx_http_log_loc_conf_t): none when off. */
export class AccessLogs {
  readonly logs: readonly AccessLog[];
  constructor(logs: readonly AccessLog[]) {
    this.logs = logs;
  }

  /** Off: no access_log in force. */
  get path(): string | null {
    return this.logs.length === 0 ? null : this.logs[0].path;
  }

  open(files: LogFiles): void {
    for (let i = 0; i < this.logs.length; i++) this.logs[i].open(files);
  }

  /** The line of the main request `r`, to each log. */
  log(r: Request): void {
    const logs = this.logs;
    for (let i = 0; i < logs.length; i++) logs[i].write(r);
  }
}

export const ACCESS_LOG_OFF = new AccessLogs([]);

function isSink(v: unknown): v is LogSink {
  return typeof v === 'object' && v !== null && typeof (v as LogSink).write === 'function';
}

/** accessLog's parser: off, on, 'path [format] [buffer=size] [flush=time] [if=cond]', objects, a list. */
export function parseAccessLog(v: unknown, key: string): AccessLogs {
  if (v === false || v === 'off') return ACCESS_LOG_OFF;
  if (v === true) return new AccessLogs([new AccessLog('stdout', null, 'combined', 0, 0, null)]);
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw new ConfigError('an empty list: write false for off', key);
  const logs: AccessLog[] = [];
  for (const e of list) {
    if (e === 'off' || e === false) {
      if (list.length > 1) throw new ConfigError('"off" cannot be one of several access logs', key);
      return ACCESS_LOG_OFF;
    }
    logs.push(entry(e, key));
  }
  return new AccessLogs(logs);
}

function entry(e: unknown, key: string): AccessLog {
  if (isSink(e)) return new AccessLog('(sink)', e, 'combined', 0, 0, null);
  let path: string | LogSink;
  let format = 'combined';
  let buffer: unknown;
  let flush: unknown;
  let cond: unknown;
  let gzip = false;
  if (typeof e === 'string') {
    const words = e.trim().split(/\s+/);
    if (words[0] === '' || e.includes('\0')) throw invalidValue(e, key);
    path = words[0];
    let i = 1;
    // as nginx: the second argument is always the format's name
    if (i < words.length) format = words[i++];
    for (; i < words.length; i++) {
      const w = words[i];
      if (w.startsWith('buffer=')) buffer = w.slice(7);
      else if (w.startsWith('flush=')) flush = w.slice(6);
      else if (w.startsWith('if=')) cond = w.slice(3);
      else if (w === 'gzip' || w.startsWith('gzip=')) gzip = true;
      else throw new ConfigError(`invalid parameter "${w}"`, key);
    }
  } else if (typeof e === 'object' && e !== null && !Array.isArray(e)) {
    const o = e as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!['path', 'format', 'buffer', 'flush', 'if'].includes(k)) throw new ConfigError(`unknown key "${k}" (path, format, buffer, flush, if)`, key);
    }
    if (!(typeof o.path === 'string' && o.path !== '' && !o.path.includes('\0')) && !isSink(o.path)) throw new ConfigError('"path" is a file, stdout, stderr or an object with write()', key);
    path = o.path as string | LogSink;
    if (o.format !== undefined) {
      if (typeof o.format !== 'string' || o.format === '') throw new ConfigError('"format" is the name of a logFormat', key);
      format = o.format;
    }
    buffer = o.buffer;
    flush = o.flush;
    cond = o.if;
  } else {
    throw invalidValue(e, key);
  }
  if (gzip) throw new ConfigError('"gzip" is not supported (write plain lines and let logrotate compress them)', key);
  let size = 0;
  let ms = 0;
  if (buffer !== undefined) {
    size = parseSize(buffer as string | number, key);
    if (size === 0) throw new ConfigError(`invalid buffer size "${String(buffer)}"`, key);
  }
  if (flush !== undefined) {
    ms = parseTime(flush as string | number, key);
    if (ms === 0) throw new ConfigError(`invalid flush time "${String(flush)}"`, key);
    if (size === 0) throw new ConfigError(`no buffer is defined for access_log "${typeof path === 'string' ? path : '(sink)'}"`, key);
  }
  let c: Complex | null = null;
  if (cond !== undefined) {
    if (typeof cond !== 'string' || cond === '') throw new ConfigError('"if" is a value with variables', key);
    c = compileComplex(cond, key);
  }
  if (isSink(path)) {
    if (size > 0) throw new ConfigError('buffer= and flush= need a file', key);
    return new AccessLog('(sink)', path, format, 0, 0, c);
  }
  if (path.includes('$')) throw new ConfigError(`variables in an access log's path are not supported yet ("${path}")`, key);
  if (size > 0 && (path === 'stdout' || path === 'stderr')) throw new ConfigError('buffer= and flush= need a file', key);
  return new AccessLog(path, null, format, size, ms, c);
}
