// cf. ngx_crypt.c — the password hashes of htpasswd files: {PLAIN}, {SHA}, {SSHA}, Apache's
// $apr1$, and of libc crypt() the ones node:crypto can make: $1$ (MD5-crypt), $5$ and $6$
// (SHA-crypt). Each is written from its public description. Strings are latin1: one char, one byte.

import { createHash, timingSafeEqual } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function to64(v: number, n: number): string {
  let s = '';
  while (n-- > 0) {
    s += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return s;
}

function bytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** MD5-crypt (Poul-Henning Kamp's), with `magic` '$1$' or Apache's '$apr1$'. */
function md5Crypt(key: string, setting: string, magic: string): string {
  const pw = bytes(key);
  // the salt: up to 8 chars after the magic, up to a '$'
  let salt = setting.slice(magic.length);
  const dollar = salt.indexOf('$');
  if (dollar >= 0) salt = salt.slice(0, dollar);
  salt = salt.slice(0, 8);
  const sb = bytes(salt);

  const alt = createHash('md5').update(pw).update(sb).update(pw).digest();
  const ctx = createHash('md5').update(pw).update(magic, 'latin1').update(sb);
  for (let n = pw.length; n > 0; n -= 16) ctx.update(alt.subarray(0, Math.min(n, 16)));
  for (let i = pw.length; i !== 0; i >>>= 1) ctx.update((i & 1) !== 0 ? ZERO : pw.subarray(0, 1));
  let fin = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const c = createHash('md5');
    c.update((i & 1) !== 0 ? pw : fin);
    if (i % 3 !== 0) c.update(sb);
    if (i % 7 !== 0) c.update(pw);
    c.update((i & 1) !== 0 ? fin : pw);
    fin = c.digest();
  }
  const f = fin;
  return magic + salt + '$'
    + to64((f[0] << 16) | (f[6] << 8) | f[12], 4)
    + to64((f[1] << 16) | (f[7] << 8) | f[13], 4)
    + to64((f[2] << 16) | (f[8] << 8) | f[14], 4)
    + to64((f[3] << 16) | (f[9] << 8) | f[15], 4)
    + to64((f[4] << 16) | (f[10] << 8) | f[5], 4)
    + to64(f[11], 2);
}

const ZERO = Buffer.alloc(1);

// the byte order of SHA-crypt's output, three bytes a group (Drepper's specification)
const ORDER256 = [0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14, 15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28, 8, 9, 19, 29];
const ORDER512 = [0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8, 29, 9, 30, 51,
  31, 52, 10, 53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35, 15, 36, 57, 37, 58, 16, 59, 17, 38, 18, 39, 60, 40, 61, 19, 62, 20, 41];

/** Repeat `src` to `len` bytes. */
function stretch(src: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let at = 0; at < len; at += src.length) src.copy(out, at, 0, Math.min(src.length, len - at));
  return out;
}

/** SHA-crypt ($5$ SHA-256, $6$ SHA-512), with an optional "rounds=N$". */
function shaCrypt(key: string, setting: string, algo: 'sha256' | 'sha512'): string {
  const magic = algo === 'sha256' ? '$5$' : '$6$';
  let rest = setting.slice(3);
  let rounds = 5000;
  let custom = false;
  const m = /^rounds=([0-9]+)\$/.exec(rest);
  if (m !== null) {
    rest = rest.slice(m[0].length);
    rounds = Math.min(999999999, Math.max(1000, Number(m[1])));
    custom = true;
  }
  let salt = rest;
  const dollar = salt.indexOf('$');
  if (dollar >= 0) salt = salt.slice(0, dollar);
  salt = salt.slice(0, 16);
  const P = bytes(key);
  const S = bytes(salt);
  const H = () => createHash(algo);
  const hl = algo === 'sha256' ? 32 : 64;

  const B = H().update(P).update(S).update(P).digest();
  const a = H().update(P).update(S);
  for (let n = P.length; n > 0; n -= hl) a.update(B.subarray(0, Math.min(n, hl)));
  for (let n = P.length; n > 0; n >>>= 1) a.update((n & 1) !== 0 ? B : P);
  const A = a.digest();
  const dp = H();
  for (let i = 0; i < P.length; i++) dp.update(P);
  const Pp = stretch(dp.digest(), P.length);
  const ds = H();
  for (let i = 0; i < 16 + A[0]; i++) ds.update(S);
  const Sp = stretch(ds.digest(), S.length);
  let C = A;
  for (let i = 0; i < rounds; i++) {
    const c = H();
    c.update((i & 1) !== 0 ? Pp : C);
    if (i % 3 !== 0) c.update(Sp);
    if (i % 7 !== 0) c.update(Pp);
    c.update((i & 1) !== 0 ? C : Pp);
    C = c.digest();
  }
  let out = magic + (custom ? `rounds=${rounds}$` : '') + salt + '$';
  const order = algo === 'sha256' ? ORDER256 : ORDER512;
  for (let i = 0; i < order.length; i += 3) out += to64((C[order[i]] << 16) | (C[order[i + 1]] << 8) | C[order[i + 2]], 4);
  out += algo === 'sha256' ? to64((C[31] << 8) | C[30], 3) : to64(C[63], 2);
  return out;
}

/**
 * ngx_crypt: `key` hashed the way `stored` says (its scheme and salt), to compare with `stored`;
 * null when the scheme is not one we can make (DES crypt, bcrypt, yescrypt, ...).
 */
export function crypt(key: string, stored: string): string | null {
  if (stored.startsWith('$apr1$')) return md5Crypt(key, stored, '$apr1$');
  if (stored.startsWith('{PLAIN}')) return '{PLAIN}' + key;
  if (stored.startsWith('{SSHA}')) {
    const salt = Buffer.from(stored.slice(6), 'base64').subarray(20);
    const h = createHash('sha1').update(bytes(key)).update(salt).digest();
    return '{SSHA}' + Buffer.concat([h, salt]).toString('base64');
  }
  if (stored.startsWith('{SHA}')) return '{SHA}' + createHash('sha1').update(bytes(key)).digest('base64');
  if (stored.startsWith('$1$')) return md5Crypt(key, stored, '$1$');
  if (stored.startsWith('$5$')) return shaCrypt(key, stored, 'sha256');
  if (stored.startsWith('$6$')) return shaCrypt(key, stored, 'sha512');
  return null;
}

/** Does `key` match the stored hash? null: the scheme is not supported. */
export function verifyPassword(key: string, stored: string): boolean | null {
  const made = crypt(key, stored);
  if (made === null) return null;
  const a = bytes(made), b = bytes(stored);
  return a.length === b.length && timingSafeEqual(a, b);
}
