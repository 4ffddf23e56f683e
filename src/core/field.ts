// cf. RFC 9110 §5.1 (a field name is a token), §5.5 (what a field value may hold), §9.1 (a method
// is a token) — the checks for every string that reaches the wire as part of a message head.
//
// One table, one loop per string: no regex, no allocation. Used where heads are serialised (the
// header filter, the proxy's and the client's request heads) and where values are first given
// (ngx.header, addHeader, proxySetHeader, capture headers), so a bad one is refused with a clear
// message at the call that made it.

/** tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) { TCHAR[c] = 1; TCHAR[c + 0x20] = 1; }

/** A non-empty RFC 9110 token (field names, methods, transfer codings). */
export function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** fieldValue(): the value is printable ASCII (and HTAB): it may go on the wire as latin1. */
export const FV_ASCII = 0;
/** fieldValue(): the value holds characters above U+007F: it goes on the wire as UTF-8. */
export const FV_UTF8 = 1;
/** fieldValue(): the value holds a control character (CR, LF, NUL, DEL, ...): never sent. */
export const FV_BAD = -1;

/**
 * What a field value holds. HTAB and SP are allowed anywhere (leading and trailing whitespace is
 * the sender's business, as in nginx); every other C0 control and DEL is refused. Characters
 * above U+007F are kept, and the serialiser writes them as their UTF-8 bytes, all of which are
 * >= 0x80: none can ever form CR or LF on the wire. A lone surrogate cannot be written as
 * UTF-8 and is refused too.
 */
export function fieldValue(s: string): number {
  return scan(s, false);
}

/** One pass over `s`: its kind, FV_BAD at the first byte a value (or, `target`, a request-target) cannot hold. */
function scan(s: string, target: boolean): number {
  let kind = FV_ASCII;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) { if (c !== 0x09 || target) return FV_BAD; continue; }
    if (c === 0x20) { if (target) return FV_BAD; continue; }
    if (c < 0x7f) continue;
    if (c === 0x7f) return FV_BAD;
    if (c >= 0xd800 && c <= 0xdfff) {
      // a surrogate pair is one character; a lone half has no UTF-8 form
      if (c > 0xdbff || i + 1 >= s.length) return FV_BAD;
      const d = s.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return FV_BAD;
      i++;
    }
    kind = FV_UTF8;
  }
  return kind;
}

/** The error for a refused field, naming where it came from. */
export class FieldError extends TypeError {
  readonly code: string;
  constructor(message: string, code: 'ERR_INVALID_HEADER_NAME' | 'ERR_INVALID_HEADER_VALUE' | 'ERR_INVALID_STATUS') {
    super(message);
    this.name = 'FieldError';
    this.code = code;
  }
}

/** Throw unless `name` is a token. `where` names the API or directive, for the message. */
export function checkFieldName(name: string, where: string): void {
  if (!isToken(name)) throw new FieldError(`${where}: invalid header name ${JSON.stringify(name)} (a field name is an RFC 9110 token)`, 'ERR_INVALID_HEADER_NAME');
}

/** Throw if `value` holds a control character; returns FV_ASCII or FV_UTF8. */
export function checkFieldValue(name: string, value: string, where: string): number {
  const k = fieldValue(value);
  if (k === FV_BAD) throw new FieldError(`${where}: invalid value for header "${name}" (control characters such as CR, LF and NUL are not allowed)`, 'ERR_INVALID_HEADER_VALUE');
  return k;
}

/**
 * What a request-target (or another part of a request line) holds: as fieldValue(), but SP, HTAB
 * and every other control are refused too, since any of them would end the target early.
 */
export function targetValue(s: string): number {
  return scan(s, true);
}

/**
 * The UTF-8 bytes of `s` as a latin1 string (one char per byte): a head assembled as a latin1
 * string carries them as they are. For values fieldValue() or targetValue() found FV_UTF8.
 */
export function utf8Latin1(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}
