// cf. ngx_inet.c (ngx_inet_addr, ngx_inet6_addr, ngx_inet6_ntop, ngx_ptocidr, ngx_cidr_match) —
// IPv4 and IPv6 addresses and CIDR blocks as 32-bit words, so that a match is a few integer
// compares (no strings, no bigint). An IPv4-mapped IPv6 address (::ffff:1.2.3.4) matches IPv4
// blocks only, as nginx's ngx_cidr_match treats it.

export const AF_UNIX = 1;
export const AF_INET = 4;
export const AF_INET6 = 6;

/** A parsed address: IPv4 in w3 (w0..w2 zero), IPv6 as four big-endian 32-bit words. */
export class IpAddr {
  family: number;
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  /** Port, 0 when none. */
  port: number;
  constructor(family: number, w0: number, w1: number, w2: number, w3: number, port = 0) {
    this.family = family;
    this.w0 = w0;
    this.w1 = w1;
    this.w2 = w2;
    this.w3 = w3;
    this.port = port;
  }

  /** ::ffff:a.b.c.d */
  get v4mapped(): boolean {
    return this.family === AF_INET6 && this.w0 === 0 && this.w1 === 0 && this.w2 === 0xffff;
  }

  /** The family and IPv4 word a CIDR match uses: a v4-mapped address counts as IPv4. */
  get matchFamily(): number {
    return this.v4mapped ? AF_INET : this.family;
  }
}

/** A CIDR block (ngx_cidr_t): address words already masked. */
export class Cidr {
  family: number;
  a0: number; a1: number; a2: number; a3: number;
  m0: number; m1: number; m2: number; m3: number;
  constructor(family: number, a: readonly number[], m: readonly number[]) {
    this.family = family;
    this.a0 = a[0]; this.a1 = a[1]; this.a2 = a[2]; this.a3 = a[3];
    this.m0 = m[0]; this.m1 = m[1]; this.m2 = m[2]; this.m3 = m[3];
  }

  /** Does `ip` fall in this block? (families compared as ngx_cidr_match does) */
  match(ip: IpAddr): boolean {
    const f = ip.matchFamily;
    if (f !== this.family) return false;
    if (f === AF_INET) return ((ip.w3 & this.m3) >>> 0) === this.a3;
    if (f === AF_INET6) {
      return ((ip.w0 & this.m0) >>> 0) === this.a0 && ((ip.w1 & this.m1) >>> 0) === this.a1
        && ((ip.w2 & this.m2) >>> 0) === this.a2 && ((ip.w3 & this.m3) >>> 0) === this.a3;
    }
    return f === AF_UNIX;
  }
}

/** The `unix:` block: matches clients on a unix-domain socket (sluice listens on TCP only). */
export const UNIX_CIDR = new Cidr(AF_UNIX, [0, 0, 0, 0], [0, 0, 0, 0]);

/** ngx_cidr_match: is `ip` in any of `list`? */
export function cidrMatch(ip: IpAddr, list: readonly Cidr[]): boolean {
  for (let i = 0; i < list.length; i++) if (list[i].match(ip)) return true;
  return false;
}

/**
 * ngx_inet_addr: a dotted quad in s[start, end) as an unsigned 32-bit number, or -1. As nginx:
 * exactly four parts, each at most 255; an empty part reads as 0.
 */
export function parseInet4(s: string, start = 0, end = s.length): number {
  let addr = 0, octet = 0, n = 0;
  if (start >= end) return -1;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      octet = octet * 10 + (c - 0x30);
      if (octet > 255) return -1;
      continue;
    }
    if (c === 0x2e) {
      addr = addr * 256 + octet;
      octet = 0;
      n++;
      continue;
    }
    return -1;
  }
  return n === 3 ? addr * 256 + octet : -1;
}

const words = [0, 0, 0, 0, 0, 0, 0, 0];

/**
 * An IPv6 address in s[start, end) into 8 16-bit groups of `out`; false when malformed. Takes
 * what nginx's ngx_inet6_addr takes: up to 4 hex digits a group, one "::", a dotted quad last.
 */
function parseInet6(s: string, start: number, end: number, out: number[]): boolean {
  if (start >= end) return false;
  let n = 0;        // groups written
  let zero = -1;    // where "::" was
  let i = start;
  if (s.charCodeAt(i) === 0x3a) {
    if (end - i < 2 || s.charCodeAt(i + 1) !== 0x3a) return false;
    zero = 0;
    i += 2;
    if (i === end) { for (let k = 0; k < 8; k++) out[k] = 0; return true; }
  }
  for (;;) {
    // one group, or a dotted quad at the end
    let j = i, word = 0;
    while (j < end && j - i < 5) {
      const c = s.charCodeAt(j);
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) d = (c | 0x20) - 0x61 + 10;
      else break;
      word = word * 16 + d;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 0x2e) {
      if (n > 6 || j === i) return false;
      const v4 = parseInet4(s, i, end);
      if (v4 < 0) return false;
      out[n++] = v4 >>> 16;
      out[n++] = v4 & 0xffff;
      break;
    }
    if (j === i || j - i > 4 || n === 8) return false;
    out[n++] = word;
    if (j === end) break;
    if (s.charCodeAt(j) !== 0x3a) return false;
    j++;
    if (j < end && s.charCodeAt(j) === 0x3a) {
      if (zero >= 0) return false;
      zero = n;
      j++;
      if (j === end) break;
    } else if (j === end) {
      return false;
    }
    i = j;
  }
  if (zero < 0) return n === 8;
  if (n >= 8) return false;
  // move the groups after "::" to the end, zeros between
  const tail = n - zero;
  for (let k = 0; k < tail; k++) out[7 - k] = out[n - 1 - k];
  for (let k = zero; k < 8 - tail; k++) out[k] = 0;
  return true;
}

/** An address (no port, no brackets) as IpAddr, or null. */
export function parseIp(s: string, start = 0, end = s.length): IpAddr | null {
  const v4 = parseInet4(s, start, end);
  if (v4 >= 0) return new IpAddr(AF_INET, 0, 0, 0, v4);
  if (!parseInet6(s, start, end, words)) return null;
  return new IpAddr(AF_INET6, (words[0] * 65536 + words[1]), (words[2] * 65536 + words[3]),
    (words[4] * 65536 + words[5]), (words[6] * 65536 + words[7]));
}

/**
 * ngx_parse_addr_port: "1.2.3.4", "1.2.3.4:80", "::1", "[::1]", "[::1]:80" (a port 1..65535 is
 * kept in `port`); null when it is not an address.
 */
export function parseAddrPort(s: string, start = 0, end = s.length): IpAddr | null {
  const plain = parseIp(s, start, end);
  if (plain !== null) return plain;
  let p: number;
  if (end > start && s.charCodeAt(start) === 0x5b) {
    p = s.indexOf(']', start);
    if (p < 0 || p >= end) return null;
    if (p === end - 1) return parseIp(s, start + 1, p);
    if (s.charCodeAt(p + 1) !== 0x3a) return null;
    const port = parsePort(s, p + 2, end);
    if (port < 0) return null;
    const ip = parseIp(s, start + 1, p);
    if (ip !== null) ip.port = port;
    return ip;
  }
  p = s.indexOf(':', start);
  if (p < 0 || p >= end) return null;
  const port = parsePort(s, p + 1, end);
  if (port < 0) return null;
  const ip = parseIp(s, start, p);
  if (ip !== null) ip.port = port;
  return ip;
}

function parsePort(s: string, start: number, end: number): number {
  if (start >= end || end - start > 5) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + c - 0x30;
  }
  return n >= 1 && n <= 65535 ? n : -1;
}

/** What parseCidr found: the block, and whether bits below the mask had to be cleared. */
export interface ParsedCidr {
  cidr: Cidr;
  /** nginx warns "low address bits of ... are meaningless" and masks them. */
  lowBits: boolean;
}

/** ngx_ptocidr: "10.0.0.0/8", "10.1.2.3" (a /32), "2001:db8::/32", "::1" (a /128); null if bad. */
export function parseCidr(text: string): ParsedCidr | null {
  const slash = text.indexOf('/');
  const end = slash < 0 ? text.length : slash;
  const ip = parseIp(text, 0, end);
  if (ip === null) return null;
  const bits = ip.family === AF_INET ? 32 : 128;
  let shift = bits;
  if (slash >= 0) {
    const m = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(m)) return null;
    shift = Number(m);
    if (shift > bits) return null;
  }
  const a = [ip.w0, ip.w1, ip.w2, ip.w3];
  const mask = [0, 0, 0, 0];
  if (ip.family === AF_INET) {
    mask[3] = maskWord(shift);
  } else {
    for (let k = 0; k < 4; k++) mask[k] = maskWord(Math.max(0, Math.min(32, shift - 32 * k)));
  }
  let lowBits = false;
  for (let k = 0; k < 4; k++) {
    const masked = (a[k] & mask[k]) >>> 0;
    if (masked !== a[k]) lowBits = true;
    a[k] = masked;
  }
  return { cidr: new Cidr(ip.family, a, mask), lowBits };
}

function maskWord(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** ngx_sock_ntop's text of an address (IPv6 as ngx_inet6_ntop writes it), without the port. */
export function formatIp(ip: IpAddr): string {
  if (ip.family === AF_INET) {
    const w = ip.w3;
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  }
  const g = [ip.w0 >>> 16, ip.w0 & 0xffff, ip.w1 >>> 16, ip.w1 & 0xffff, ip.w2 >>> 16, ip.w2 & 0xffff, ip.w3 >>> 16, ip.w3 & 0xffff];
  // the first longest run of two or more zero groups is written "::"
  let zero = -1, max = 1, n = 0, last = -1;
  for (let i = 0; i < 8; i++) {
    if (g[i] !== 0) {
      if (max < n) { zero = last; max = n; }
      n = 0;
      continue;
    }
    if (n++ === 0) last = i;
  }
  if (max < n) { zero = last; max = n; }
  let out = '';
  let upto = 8;
  if (zero === 0) {
    // ::ffff:1.2.3.4 and ::1.2.3.4 keep their dotted quad
    if ((max === 5 && g[5] === 0xffff) || max === 6 || (max === 7 && (g[7] >>> 8) !== 0 && (g[7] & 255) !== 1)) upto = 6;
    out = ':';
  }
  for (let i = 0; i < upto; i++) {
    if (i === zero) {
      out += ':';
      i += max - 1;
      continue;
    }
    out += g[i].toString(16);
    if (i < 7) out += ':';
  }
  if (upto === 6) out += `${g[6] >>> 8}.${g[6] & 255}.${g[7] >>> 8}.${g[7] & 255}`;
  return out;
}
