// cf. ngx_http_auth_basic_module.c (and ngx_http_auth_basic_user in ngx_http_core_module.c) —
// HTTP Basic authentication against an htpasswd file, in the access phase.
//
// The file is read when a request needs it, as nginx does; what was read is kept while the
// file's mtime, size and inode stay the same.

import { statSync, readFileSync } from 'node:fs';
import { verifyPassword } from '../../core/crypt.js';
import { logError } from '../../core/log.js';
import { invalidValue } from '../conf/size-time.js';
import { DECLINED, HSL, cmd, defineModule, parser, type PhaseHandler } from '../conf/module.js';
import { isHeaderSafe } from '../conf/parse.js';
import { expandVariables } from '../variables.js';
import type { Request } from '../request.js';
import { ACCESS_DECLINED, ACCESS_FORBIDDEN, ACCESS_OK, ACCESS_UNAUTHORIZED, accessChecked, accessSkipped } from './access.js';

/** The realm, with $variables; 'off' (or false) turns authentication off. */
const realm = parser<string | false>()((v, key): string => {
  if (v === false) return 'off';
  if (typeof v === 'string' && isHeaderSafe(v) && !v.includes('"')) return v;
  throw invalidValue(v, key);
});

interface CachedFile {
  mtimeMs: number;
  size: number;
  ino: number;
  text: string;
}

/** The password file (with $variables) and what was read of it, by path. */
export class UserFile {
  readonly path: string;
  readonly cache: Map<string, CachedFile>;
  constructor(path: string) {
    this.path = path;
    this.cache = new Map();
  }
}

const userFile = parser<string>()((v, key): UserFile => {
  if (typeof v === 'string' && v !== '' && !v.includes('\0')) return new UserFile(v);
  throw invalidValue(v, key);
});

/** ngx_http_auth_basic_user: [user, password] from "Authorization: Basic ...", or null. */
function basicCredentials(r: Request): [string, string] | null {
  const h = r.headersIn.get('authorization');
  if (h === undefined || h.length < 6 || h.slice(0, 6).toLowerCase() !== 'basic ') return null;
  let i = 6;
  while (i < h.length && h.charCodeAt(i) === 0x20) i++;
  const enc = h.slice(i);
  if (enc === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(enc) || enc.length % 4 === 1) return null;
  const auth = Buffer.from(enc, 'base64').toString('latin1');
  const colon = auth.indexOf(':');
  if (colon <= 0) return null;
  return [auth.slice(0, colon), auth.slice(colon + 1)];
}

const ERRNO: Record<string, string> = {
  ENOENT: '2: No such file or directory',
  EACCES: '13: Permission denied',
  EISDIR: '21: Is a directory',
  ENOTDIR: '20: Not a directory',
};

/** The file's text (latin1), from the cache while it is unchanged; an Error when it cannot be read. */
function readUserFile(f: UserFile, path: string): string | NodeJS.ErrnoException {
  try {
    const st = statSync(path);
    const c = f.cache.get(path);
    if (c !== undefined && c.mtimeMs === st.mtimeMs && c.size === st.size && c.ino === st.ino) return c.text;
    const text = readFileSync(path).toString('latin1');
    if (f.cache.size > 64) f.cache.clear(); // a path made of variables: keep the cache bounded
    f.cache.set(path, { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino, text });
    return text;
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
}

/**
 * The stored hash of `user` in an htpasswd text, or null: lines "user:hash[:comment]", '#'
 * comments, CR LF or LF endings; the first line of the user counts (as nginx's scanner).
 */
export function findUser(text: string, user: string): string | null {
  let at = 0;
  const n = text.length;
  while (at < n) {
    let eol = text.indexOf('\n', at);
    if (eol < 0) eol = n;
    if (text.startsWith(user, at) && text.charCodeAt(at + user.length) === 0x3a
      && text.charCodeAt(at) !== 0x23 && text.charCodeAt(at) !== 0x0d) {
      const start = at + user.length + 1;
      let end = start;
      while (end < eol) {
        const c = text.charCodeAt(end);
        if (c === 0x0d || c === 0x3a) break;
        end++;
      }
      return text.slice(start, end);
    }
    at = eol + 1;
  }
  return null;
}

/** ngx_http_auth_basic_handler */
function authVerdict(r: Request): number {
  const realmText = expandVariables(r, r.conf.authBasic as string);
  if (realmText === 'off') return ACCESS_DECLINED;
  const cred = basicCredentials(r);
  if (cred === null) {
    logError('info', r, 'no user/password was provided for basic authentication');
    return setRealm(r, realmText);
  }
  const f = r.conf.authBasicUserFile as UserFile;
  const path = expandVariables(r, f.path);
  const text = readUserFile(f, path);
  if (typeof text !== 'string') {
    const code = text.code ?? '';
    const enoent = code === 'ENOENT';
    logError(enoent ? 'error' : 'crit', r, `open() "${path}" failed (${ERRNO[code] ?? code ?? text.message})`);
    return enoent ? ACCESS_FORBIDDEN : 500;
  }
  const [user, password] = cred;
  const stored = findUser(text, user);
  if (stored === null) {
    logError('error', r, `user "${user}" was not found in "${path}"`);
    return setRealm(r, realmText);
  }
  const ok = verifyPassword(password, stored);
  if (ok === null) {
    // libc crypt() in nginx: DES crypt, bcrypt, yescrypt ... are not made here
    logError('crit', r, `crypt() failed: the password hash of user "${user}" in "${path}" is of a scheme sluice does not support`);
    return 500;
  }
  if (ok) return ACCESS_OK;
  logError('error', r, `user "${user}": password mismatch`);
  return setRealm(r, realmText);
}

function setRealm(r: Request, realmText: string): number {
  r.headersOut.set('WWW-Authenticate', `Basic realm="${realmText}"`);
  return ACCESS_UNAUTHORIZED;
}

const authPhase: PhaseHandler = (r) => {
  if (r.conf.authBasic === null || r.conf.authBasicUserFile === null || accessSkipped(r)) return DECLINED;
  return accessChecked(r, authVerdict(r));
};

export const authBasicModule = defineModule({
  name: 'auth_basic',
  nginx: 'ngx_http_auth_basic_module',
  about: 'HTTP Basic authentication against an htpasswd file (access phase)',
  directives: {
    authBasic: cmd(HSL, realm, null, {
      differs: 'a realm with a double quote or a control character is refused at startup (nginx sends it as written)',
    }),
    authBasicUserFile: cmd(HSL, userFile, null, {
      differs: 'hashes: {PLAIN}, {SHA}, {SSHA}, $apr1$, $1$, $5$, $6$; other crypt() schemes (DES, bcrypt, yescrypt) answer 500 with a crit line; a relative path is from the working directory (nginx: the config prefix)',
    }),
  },
  phases: { access: authPhase },
});
