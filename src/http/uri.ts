// cf. ngx_http_parse.c (ngx_http_parse_request_line's target states, ngx_http_parse_complex_uri)
// and ngx_http_request.c (ngx_http_process_request_uri, ngx_http_validate_host).
// Strings are decoded from UTF-8; a byte sequence that is not UTF-8 (say %FF) becomes U+FFFD in
// `uri`, where nginx would keep the raw byte.

import { hexValue } from '../core/hex.js';

export class RequestTarget {
  /** The normalized path: percent-decoded, `.` and `..` resolved, slashes merged. */
  uri: string;
  /** The raw query after '?', up to a '#'; '' when none. */
  args: string;
  /** The target as received, from the path on ($request_uri). */
  unparsedUri: string;
  /** absolute-form only: the host, lower case, without port or trailing dot. */
  host: string | undefined;

  constructor(uri: string, args: string, unparsedUri: string, host: string | undefined) {
    this.uri = uri;
    this.args = args;
    this.unparsedUri = unparsedUri;
    this.host = host;
  }
}

const SLASH = 0x2f, DOT = 0x2e, PERCENT = 0x25, QUESTION = 0x3f, HASH = 0x23, STAR = 0x2a,
  COLON = 0x3a, LBRACKET = 0x5b, RBRACKET = 0x5d;

// the path normalizer's states (sw_usual, sw_slash, sw_dot, sw_dot_dot)
const USUAL = 0, AFTER_SLASH = 1, AFTER_DOT = 2, AFTER_DOT_DOT = 3;

/**
 * Parses a request target (the bytes between the method and the version) as nginx does, or
 * returns null for anything nginx answers 400 to: control characters, a malformed or %00
 * escape, `..` above the root, a bad absolute-form authority.
 * Forms: origin (`/path?query`), absolute (`http://host:port/path?query`; an empty path is '/'),
 * and asterisk (`*`, only when `asteriskOk`, i.e. for OPTIONS; nginx itself refuses it).
 * Fast path: a path without '%', '#', '//' or a segment starting with '.' is used as is.
 */
export function parseRequestTarget(
  buf: Buffer, start: number, end: number, asteriskOk = false,
): RequestTarget | null {
  if (start >= end) return null;
  let p = start;
  let host: string | undefined;
  const c0 = buf[p];
  if (c0 === STAR) {
    return asteriskOk && end - start === 1 ? new RequestTarget('*', '', '*', undefined) : null;
  }
  if (c0 !== SLASH) {
    // absolute-form: scheme "://" host [":" port], then '/', '?' or the end
    if (!isAlpha(c0)) return null;
    p++;
    while (p < end && isSchemeChar(buf[p])) p++;
    if (end - p < 3 || buf[p] !== COLON || buf[p + 1] !== SLASH || buf[p + 2] !== SLASH) return null;
    p += 3;
    // userinfo ("user:pass@"): deprecated (RFC 9110 4.2.4); skipped, the host is what counts
    for (let i = p; i < end; i++) {
      const c = buf[i];
      if (c === SLASH || c === QUESTION || c === HASH) break;
      if (c <= 0x20 || c === 0x7f) return null;
      if (c === 0x40 /* @ */) { p = i + 1; break; }
    }
    const hs = p;
    if (p < end && buf[p] === LBRACKET) {
      p++;
      while (p < end && isIpLiteralChar(buf[p])) p++;
      if (p >= end || buf[p] !== RBRACKET) return null;
      p++;
    } else {
      while (p < end && isHostChar(buf[p])) p++;
    }
    if (p < end && buf[p] === COLON) {
      p++;
      while (p < end && isDigit(buf[p])) p++;
    }
    if (p < end && buf[p] !== SLASH && buf[p] !== QUESTION) return null;
    const h = validateHost(buf.toString('latin1', hs, p));
    if (h === null) return null;
    host = h;
  }

  // one pass: reject control bytes, find the end of the path and of the query, and see
  // whether the path needs the slow normalizer
  const ps = p;
  let pathEnd = -1;
  let argsStart = -1;
  let argsEnd = end;
  let complex = false;
  let prev = 0;
  for (let i = ps; i < end; i++) {
    const c = buf[i];
    if (c <= 0x20 || c === 0x7f) return null;
    if (pathEnd < 0) {
      if (c === QUESTION) {
        pathEnd = i;
        argsStart = i + 1;
      } else if (c === HASH) {
        pathEnd = i;
        argsEnd = i;
      } else if (c === PERCENT || (prev === SLASH && (c === SLASH || c === DOT))) {
        complex = true;
      }
      prev = c;
    } else if (c === HASH && argsEnd === end && argsStart >= 0) {
      argsEnd = i;
    }
  }
  if (pathEnd < 0) pathEnd = end;

  let uri: string;
  if (ps === pathEnd) {
    uri = '/'; // absolute-form without a path
  } else if (!complex) {
    uri = buf.toString('utf8', ps, pathEnd);
  } else {
    const u = normalizePath(buf, ps, pathEnd);
    if (u === null) return null;
    uri = u;
  }
  const args = argsStart >= 0 && argsEnd > argsStart ? buf.toString('utf8', argsStart, argsEnd) : '';
  let unparsed: string;
  if (ps === end) {
    unparsed = '/'; // nginx points $request_uri at a '/' when there is neither path nor query
  } else if (!complex && ps !== pathEnd && argsEnd === end) {
    // the raw target is what we already decoded; joining beats a third slice of the buffer
    unparsed = argsStart < 0 ? uri : uri + '?' + args;
  } else {
    unparsed = buf.toString('utf8', ps, end);
  }
  return new RequestTarget(uri, args, unparsed, host);
}

/**
 * Percent-decodes a path and resolves `.`/`..` segments and repeated slashes (merge_slashes on).
 * A decoded '/' or '.' counts as one, as in nginx; decoded '%', '#' and '?' are plain bytes.
 * Returns null for a malformed escape, %00, or `..` above the root. buf[start] must be '/'.
 */
export function normalizePath(buf: Buffer, start: number, end: number): string | null {
  const out = Buffer.allocUnsafe(end - start);
  let u = 0;
  let state = USUAL;
  let i = start;
  while (i < end) {
    let c = buf[i++];
    if (c === PERCENT) {
      if (end - i < 2) return null;
      const hi = hexValue(buf[i]), lo = hexValue(buf[i + 1]);
      if (hi < 0 || lo < 0) return null;
      i += 2;
      c = (hi << 4) | lo;
      if (c === 0) return null;
      if (c === PERCENT || c === HASH || c === QUESTION) {
        out[u++] = c;
        state = USUAL;
        continue;
      }
    }
    if (c === SLASH) {
      switch (state) {
        case USUAL: out[u++] = c; break;
        case AFTER_SLASH: break;                  // merge "//"
        case AFTER_DOT: u--; break;               // "/./" → "/"
        case AFTER_DOT_DOT: u = popSegment(out, u); if (u < 0) return null; break;
      }
      state = AFTER_SLASH;
    } else if (c === DOT) {
      out[u++] = c;
      state = state === AFTER_SLASH ? AFTER_DOT : state === AFTER_DOT ? AFTER_DOT_DOT : USUAL;
    } else {
      out[u++] = c;
      state = USUAL;
    }
  }
  if (state === AFTER_DOT) {
    u--;
  } else if (state === AFTER_DOT_DOT) {
    u = popSegment(out, u);
    if (u < 0) return null;
  }
  return out.toString('utf8', 0, u);
}

/** out[0, u) ends in "/.."; drop it and the segment before it, keeping that segment's '/'. */
function popSegment(out: Buffer, u: number): number {
  let j = u - 4;
  while (j >= 0) {
    if (out[j] === SLASH) return j + 1;
    j--;
  }
  return -1; // above the root
}

/**
 * ngx_http_validate_host: the host of a Host header or of an absolute-form target, lower case,
 * without the port and one trailing dot; null when nginx would answer 400 (empty, '..', a bad
 * character, an unclosed '[', a port that is not digits or above 65535).
 */
export function validateHost(host: string): string | null {
  const len = host.length;
  let hostLen = len;
  let dotPos = -2;
  let port = 0;
  let i = 0;
  let upper = false;
  if (len > 0 && host.charCodeAt(0) === LBRACKET) {
    i = 1;
    for (; i < len; i++) {
      const c = host.charCodeAt(i);
      if (c === RBRACKET) break;
      if (c >= 0x41 && c <= 0x5a) { upper = true; continue; }
      if (c === DOT) {
        if (dotPos === i - 1) return null;
        dotPos = i;
        continue;
      }
      if (!isIpLiteralChar(c)) return null;
    }
    if (i === len) return null; // no ']'
    hostLen = i + 1;
    i++;
    if (i < len) {
      if (host.charCodeAt(i) !== COLON) return null;
      i++;
      for (; i < len; i++) {
        const d = host.charCodeAt(i) - 0x30;
        if (d < 0 || d > 9) return null;
        port = port * 10 + d;
        if (port > 65535) return null;
      }
    }
  } else {
    for (; i < len; i++) {
      const c = host.charCodeAt(i);
      if (c >= 0x41 && c <= 0x5a) { upper = true; continue; }
      if (c === COLON) {
        hostLen = i;
        for (i++; i < len; i++) {
          const d = host.charCodeAt(i) - 0x30;
          if (d < 0 || d > 9) return null;
          port = port * 10 + d;
          if (port > 65535) return null;
        }
        break;
      }
      if (c === DOT) {
        if (dotPos === i - 1) return null;
        dotPos = i;
        continue;
      }
      if (!isRegNameChar(c)) return null;
    }
  }
  if (dotPos === hostLen - 1) hostLen--;
  if (hostLen <= 0) return null;
  const h = hostLen === len ? host : host.slice(0, hostLen);
  return upper ? h.toLowerCase() : h;
}

function isAlpha(c: number): boolean {
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x7a;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isSchemeChar(c: number): boolean {
  return isAlpha(c) || isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e; // + - .
}

/** The request line allows only these in a host name (sw_host). */
function isHostChar(c: number): boolean {
  return isAlpha(c) || isDigit(c) || c === 0x2e || c === 0x2d; // . -
}

// unreserved and sub-delims, as sw_host_ip_literal and ngx_http_validate_host allow
function isSubDelimOrUnreserved(c: number): boolean {
  switch (c) {
    case 0x2d: case 0x2e: case 0x5f: case 0x7e:                       // - . _ ~
    case 0x21: case 0x24: case 0x26: case 0x27: case 0x28: case 0x29: // ! $ & ' ( )
    case 0x2a: case 0x2b: case 0x2c: case 0x3b: case 0x3d:            // * + , ; =
      return true;
  }
  return false;
}

function isIpLiteralChar(c: number): boolean {
  return isAlpha(c) || isDigit(c) || c === COLON || isSubDelimOrUnreserved(c);
}

function isRegNameChar(c: number): boolean {
  return isAlpha(c) || isDigit(c) || c === PERCENT || isSubDelimOrUnreserved(c);
}
