// cf. ngx_conf_file.c (ngx_conf_set_flag_slot, ngx_conf_set_num_slot, ngx_conf_set_size_slot,
// ngx_conf_set_msec_slot, ...) — the parsers most directives share. A module's own parsers live
// in its file.

import { FV_BAD, fieldValue } from '../../core/field.js';
import { LEVELS, LOG_OFF, logTarget, sinkTarget, type LogLevel, type LogSink, type LogTarget } from '../../core/log.js';
import { parser, type Parser } from './module.js';
import { ConfigError, invalidValue, parseSize, parseTime, showValue } from './size-time.js';

/** Sizes: bytes, or nginx notation ('8k', '1m', '1g'). */
export type SizeInput = number | string;
/** Times: seconds, or nginx notation ('75s', '500ms', '1m30s'). */
export type TimeInput = number | string;

// setTimeout() holds at most 2^31-1 ms; a longer timer would fire at once
const MAX_TIMER = 2147483647;

export const flag: Parser<boolean, boolean> = (v, key) => {
  if (typeof v === 'boolean') return v;
  throw invalidValue(v, key);
};

export const num: Parser<number, number> = (v, key) => {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^[0-9]{1,15}$/.test(v)) return Number(v);
  throw invalidValue(v, key);
};

export const size = parser<SizeInput>()((v, key) => parseSize(v as string | number, key));

export const timer = parser<TimeInput>()((v, key) => {
  const ms = parseTime(v as string | number, key);
  if (ms > MAX_TIMER) throw new ConfigError(`invalid value ${showValue(v)} for "${key}" (at most 24 days)`, key);
  return ms;
});

export const path = parser<string>()((v, key) => {
  if (typeof v === 'string' && v !== '' && !v.includes('\0')) return v;
  throw invalidValue(v, key);
});

/** A function value (a phase handler); its type is given by the caller. */
export function fn<F extends (...args: never[]) => unknown>(): Parser<F, F> {
  return (v, key) => {
    if (typeof v === 'function') return v as F;
    throw invalidValue(v, key);
  };
}

/** Text that may go into a header line: no control characters (HTAB aside). */
export function isHeaderSafe(s: string): boolean {
  return fieldValue(s) !== FV_BAD;
}

/** A list written as an array or as one whitespace-separated string, as in nginx. */
export function words(v: unknown): unknown[] | null {
  if (typeof v === 'string') return v.split(/\s+/).filter((w) => w !== '');
  if (Array.isArray(v)) return v;
  return null;
}

/**
 * ngx_http_types_slot: MIME types a filter applies to ('text/css application/json', or a list),
 * text/html always among them, '*' for any.
 */
export const mimeTypes = parser<string | readonly string[]>()((v, key): ReadonlySet<string> => {
  const list = words(v);
  if (list === null || list.length === 0) throw invalidValue(v, key);
  const set = new Set<string>(['text/html']);
  for (const t of list) {
    if (typeof t !== 'string' || !/^(\*|[\w.+-]+\/[\w.+*-]+)$/.test(t)) throw invalidValue(t, key);
    set.add(t.toLowerCase());
  }
  return set;
});

/** An object literal (or Object.create(null)), not an array, class instance or null. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(...values: readonly T[]): Parser<T, T> {
  return (v, key) => {
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    throw invalidValue(v, key);
  };
}

/**
 * A log destination: a path, 'stderr'/'stdout', 'off' or false (true means `on`), optionally with
 * a level as [path, level] ('error' by default), or an object with write() (an application's
 * own logger, or a test's).
 */
export function logPath(on: string): Parser<string | boolean | readonly [string | LogSink, LogLevel] | LogSink, LogTarget> {
  return (v, key) => {
    if (v === false || v === 'off') return LOG_OFF;
    if (v === true) return logTarget(on);
    if (typeof v === 'string' && v !== '' && !v.includes('\0')) {
      // nginx's arguments, 'path level' (error_log /var/log/e.log warn)
      const m = /^(\S+)\s+(\w+)$/.exec(v.trim());
      if (m !== null && (LEVELS as readonly string[]).includes(m[2])) return logTarget(m[1], m[2] as LogLevel);
      return logTarget(v);
    }
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && v[0] !== '' && !v[0].includes('\0')
      && (LEVELS as readonly string[]).includes(v[1])) {
      return logTarget(v[0], v[1] as LogLevel);
    }
    if (typeof v === 'object' && v !== null && typeof (v as LogSink).write === 'function') return sinkTarget(v as LogSink);
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'object' && v[0] !== null && typeof (v[0] as LogSink).write === 'function'
      && (LEVELS as readonly string[]).includes(v[1])) {
      return sinkTarget(v[0] as LogSink, v[1] as LogLevel);
    }
    throw invalidValue(v, key);
  };
}
