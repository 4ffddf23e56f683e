// cf. ngx_http_log_module.c (ngx_http_log_compile_format, ngx_http_log_escape, ngx_escape_json) —
// a log_format compiled once at load: literal text and variables, each variable written through
// the format's escaping; the module's own log values ($status, $time_local, $body_bytes_sent ...)
// are never escaped.

import { ConfigError } from '../conf/size-time.js';
import { compileComplex } from '../script.js';
import type { Getter } from '../variables.js';
import type { Request } from '../request.js';

export const ESC_DEFAULT = 0;
export const ESC_JSON = 1;
export const ESC_NONE = 2;

/** nginx's predefined format. */
export const COMBINED_SOURCE = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

/** The variables ngx_http_log_module writes itself: always there, never escaped. */
const LOG_VARS = new Set(['pipe', 'time_local', 'time_iso8601', 'msec', 'request_time', 'status', 'bytes_sent', 'body_bytes_sent', 'request_length']);

const HEX = '0123456789ABCDEF';

/** escape=default: ", \, control characters, DEL and bytes above 0x7f as \xHH (upper case). */
export function escapeDefault(s: string): string {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) break;
  }
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x7f || (c >= 0x80 && c <= 0xff)) {
      out += '\\x' + HEX[c >> 4] + HEX[c & 15];
    } else if (c > 0xff) {
      // a character a handler set (not a byte off the wire): its UTF-8 bytes, each escaped
      for (const b of Buffer.from(s.slice(i, c >= 0xd800 && c <= 0xdbff ? i + 2 : i + 1))) out += '\\x' + HEX[b >> 4] + HEX[b & 15];
      if (c >= 0xd800 && c <= 0xdbff) i++;
    } else {
      out += s[i];
    }
  }
  return out;
}

/** escape=json: " and \ escaped, \n \r \t \b \f, other control characters as \u00XX. */
export function escapeJson(s: string): string {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) break;
  }
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += '\\' + s[i];
    else if (c >= 0x20) out += s[i];
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else out += '\\u00' + HEX[c >> 4] + HEX[c & 15];
  }
  return out;
}

/** One compiled log format (ngx_http_log_fmt_t). */
export class LogFormat {
  readonly name: string;
  readonly source: string;
  readonly escape: number;
  /** Literal text, or a variable: its getter and whether it is one of the module's own. */
  private readonly parts: readonly (string | Getter)[];
  private readonly raw: readonly boolean[];

  constructor(name: string, source: string, escape: number, key: string) {
    this.name = name;
    this.source = source;
    this.escape = escape;
    const parts: (string | Getter)[] = [];
    const raw: boolean[] = [];
    let i = 0;
    let text = '';
    while (i < source.length) {
      const d = source.indexOf('$', i);
      if (d < 0) { text += source.slice(i); break; }
      text += source.slice(i, d);
      let j = d + 1;
      let bracket = false;
      if (source[j] === '{') { bracket = true; j++; }
      const from = j;
      while (j < source.length && /[A-Za-z0-9_]/.test(source[j])) j++;
      const name = source.slice(from, j);
      if (bracket) {
        if (source[j] !== '}') throw new ConfigError(`the closing bracket in "${name}" variable is missing`, key);
        j++;
      }
      if (name === '') throw new ConfigError(`invalid parameter "${source.slice(d)}"`, key);
      if (text !== '') { parts.push(text); raw.push(false); text = ''; }
      // (compiled as a complex value so that an unknown name is the config's error, as nginx's)
      const c = compileComplex('${' + name + '}', key);
      parts.push(c.parts[0] as Getter);
      raw.push(LOG_VARS.has(name));
      i = j;
    }
    if (text !== '') { parts.push(text); raw.push(false); }
    this.parts = parts;
    this.raw = raw;
  }

  /** The line for `r`, without its newline. */
  run(r: Request): string {
    const parts = this.parts;
    let s = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (typeof p === 'string') { s += p; continue; }
      const v = p(r);
      if (this.raw[i]) { s += v ?? ''; continue; }
      // a variable not found: "-" (escape=json and none: nothing)
      if (v === undefined) { if (this.escape === ESC_DEFAULT) s += '-'; continue; }
      s += this.escape === ESC_DEFAULT ? escapeDefault(v) : this.escape === ESC_JSON ? escapeJson(v) : v;
    }
    return s;
  }
}

/** A logFormat value as written: 'escape=json ...' or ['...', '...'] (joined, as nginx joins its arguments) or { escape, format }. */
export type LogFormatInput = string | readonly string[] | { readonly escape?: 'default' | 'json' | 'none'; readonly format: string | readonly string[] };

/** Compile one named format. */
export function compileFormat(name: string, v: unknown, key: string): LogFormat {
  let escape = 'default';
  let parts: string[];
  if (typeof v === 'string') parts = [v];
  else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) parts = [...v as string[]];
  else if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'format' in v) {
    const o = v as { escape?: unknown; format: unknown };
    const extra = Object.keys(o).filter((k) => k !== 'escape' && k !== 'format');
    if (extra.length > 0) throw new ConfigError(`unknown key "${extra[0]}" in log format "${name}" (escape, format)`, key);
    if (o.escape !== undefined) {
      if (typeof o.escape !== 'string') throw new ConfigError(`invalid escape in log format "${name}"`, key);
      escape = o.escape;
    }
    if (typeof o.format === 'string') parts = [o.format];
    else if (Array.isArray(o.format) && o.format.every((x) => typeof x === 'string')) parts = [...o.format as string[]];
    else throw new ConfigError(`invalid format in log format "${name}"`, key);
  } else {
    throw new ConfigError(`invalid log format "${name}": a string, a list of strings or { escape, format }`, key);
  }
  // as nginx: a first argument escape=... is the parameter (with a space after it in a string)
  if (parts.length > 0 && parts[0].startsWith('escape=')) {
    const sp = parts[0].search(/\s/);
    escape = sp < 0 ? parts[0].slice(7) : parts[0].slice(7, sp);
    parts[0] = sp < 0 ? '' : parts[0].slice(sp).replace(/^\s+/, '');
  }
  const esc = escape === 'default' ? ESC_DEFAULT : escape === 'json' ? ESC_JSON : escape === 'none' ? ESC_NONE : -1;
  if (esc < 0) throw new ConfigError(`unknown log format escaping "${escape}"`, key);
  return new LogFormat(name, parts.join(''), esc, key);
}
