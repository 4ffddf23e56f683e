// cf. ngx_parse.c (ngx_parse_size, ngx_parse_offset, ngx_parse_time)
// Sizes and times in nginx notation, plus the error every config check throws. ConfigError lives
// here because this is the leaf of the config modules (size-time <- directives <- config);
// config.ts re-exports it.

/** A configuration error; the message names the directive and the block, like `nginx -t`. */
export class ConfigError extends Error {
  readonly code = 'ERR_SLUICE_CONFIG';
  /** The directive (or config key) at fault, e.g. "clientMaxBodySize". */
  readonly key: string;
  /** The block it was found in, e.g. `servers[0].locations["/upload"]`; '' when not known yet. */
  readonly path: string;
  /** What is wrong, without the "sluice: " prefix and the block. */
  readonly detail: string;

  constructor(detail: string, key: string, path = '') {
    super(`sluice: ${detail}${path === '' ? '' : ` in ${path}`}`);
    this.name = 'ConfigError';
    this.key = key;
    this.path = path;
    this.detail = detail;
  }

  /** The same error, placed in a block (the parsers below do not know where they are called). */
  at(path: string): ConfigError {
    return this.path === '' ? new ConfigError(this.detail, this.key, path) : this;
  }
}

/** How a bad value is shown in a message: strings quoted, as nginx does. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return `"${v}"`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object' && v !== null) {
    try {
      const s = JSON.stringify(v);
      return s.length > 60 ? s.slice(0, 57) + '...' : s;
    } catch {
      return Object.prototype.toString.call(v);
    }
  }
  return String(v);
}

export function invalidValue(v: unknown, key: string): ConfigError {
  return new ConfigError(`invalid value ${showValue(v)} for "${key}"`, key);
}

const KB = 1024, MB = 1024 * 1024, GB = 1024 * 1024 * 1024;

/**
 * A size in nginx notation: `1024`, `8k`/`8K`, `1m`/`1M`, `1g`/`1G` (as ngx_parse_offset, which
 * client_max_body_size uses). Plain numbers, and strings without a unit, are bytes.
 * Throws ConfigError naming `key`.
 */
export function parseSize(v: string | number, key: string): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    throw invalidValue(v, key);
  }
  if (typeof v !== 'string') throw invalidValue(v, key);
  let len = v.length;
  let scale = 1;
  switch (v.charCodeAt(len - 1)) {
    case 0x6b: case 0x4b: scale = KB; len--; break; // k K
    case 0x6d: case 0x4d: scale = MB; len--; break; // m M
    case 0x67: case 0x47: scale = GB; len--; break; // g G
  }
  const n = digits(v, 0, len);
  if (n < 0) throw invalidValue(v, key);
  const size = n * scale;
  if (!Number.isSafeInteger(size)) throw invalidValue(v, key);
  return size;
}

/** The value of v[start, end) as a decimal number; -1 when empty or not all digits. */
function digits(v: string, start: number, end: number): number {
  if (start >= end) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = v.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

const SEC = 1000, MIN = 60 * SEC, HOUR = 60 * MIN, DAY = 24 * HOUR;

// Units from the largest down; each may appear once, in this order (as ngx_parse_time's steps).
const ST_YEAR = 1, ST_MONTH = 2, ST_WEEK = 3, ST_DAY = 4, ST_HOUR = 5, ST_MIN = 6, ST_SEC = 7,
  ST_MSEC = 8, ST_LAST = 9;

/**
 * A time in nginx notation, in milliseconds: `75s`, `500ms`, `1m`, `1h`, `1d`, `1w`, `1M` (30
 * days), `1y` (365 days), and combinations from the largest unit down (`1m30s`, `1h 30m`).
 * Plain numbers, and a trailing number without a unit, are seconds, as in nginx.
 * (nginx itself refuses `M` and `y` for millisecond directives; we accept them and let the
 * directive decide its range.) Throws ConfigError naming `key`.
 */
export function parseTime(v: string | number, key: string): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0 && Number.isSafeInteger(v * SEC)) return v * SEC;
    throw invalidValue(v, key);
  }
  if (typeof v !== 'string') throw invalidValue(v, key);
  const len = v.length;
  let step = 0;
  let value = 0;
  let total = 0;
  let valid = false;
  let i = 0;
  while (i < len) {
    const c = v.charCodeAt(i++);
    if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + (c - 0x30);
      valid = true;
      continue;
    }
    let next: number;
    let scale: number;
    switch (c) {
      case 0x79: next = ST_YEAR; scale = 365 * DAY; break;   // y
      case 0x4d: next = ST_MONTH; scale = 30 * DAY; break;   // M
      case 0x77: next = ST_WEEK; scale = 7 * DAY; break;     // w
      case 0x64: next = ST_DAY; scale = DAY; break;          // d
      case 0x68: next = ST_HOUR; scale = HOUR; break;        // h
      case 0x6d:                                             // m or ms
        if (i < len && v.charCodeAt(i) === 0x73) {
          i++;
          next = ST_MSEC; scale = 1;
        } else {
          next = ST_MIN; scale = MIN;
        }
        break;
      case 0x73: next = ST_SEC; scale = SEC; break;          // s
      case 0x20:                                             // a bare number then a space
        if (step >= ST_SEC) throw invalidValue(v, key);
        next = ST_LAST; scale = SEC; break;
      default:
        throw invalidValue(v, key);
    }
    if (next <= step) throw invalidValue(v, key);
    step = next;
    total += value * scale;
    value = 0;
    while (i < len && v.charCodeAt(i) === 0x20) i++;
  }
  if (!valid) throw invalidValue(v, key);
  total += value * SEC;
  if (!Number.isSafeInteger(total)) throw invalidValue(v, key);
  return total;
}
