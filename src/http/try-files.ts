// cf. ngx_http_core_module.c (ngx_http_core_try_files, ngx_http_core_try_files_phase) —
// `try_files file ... last`: the first file (or directory, for a name ending in "/") that exists
// becomes the request's URI and the location serves it; when none does, the last argument
// decides: `=code` ends the request with that code, `@name` goes to a named location, anything
// else is an internal redirect to that URI (with its args).

import { closeSync, fstatSync, openSync, statSync, type Stats } from 'node:fs';
import { ConfigError, invalidValue, showValue } from './conf/size-time.js';
import { parser } from './conf/module.js';
import { words } from './conf/parse.js';
import type { Request } from './request.js';
import { compileComplex, type Complex } from './script.js';
import { OpenFileInfo, openFile } from './open-file.js';

// one lookup at a time (synchronous): a scratch OpenFileInfo
const OF = new OpenFileInfo();

export interface TryFile {
  /** The name, without the '/' that asks for a directory. */
  readonly name: Complex;
  /** Written with a trailing '/': only a directory will do (and the URI is the name without it). */
  readonly dir: boolean;
}

export interface TryFiles {
  readonly files: readonly TryFile[];
  /** The fallback: a code (=404), a named location ('@name'), or a URI to redirect to. */
  readonly code: number;
  readonly named: string | null;
  readonly uri: Complex | null;
}

/** 'a b =404', or ['$uri', '$uri/', '/index.html']: files, then the fallback. */
export const tryFiles = parser<string | readonly string[]>()((v, key): TryFiles => {
  const w = words(v);
  if (w === null || w.length < 2 || w.some((x) => typeof x !== 'string' || x === '')) {
    throw new ConfigError(`invalid number of arguments in "${key}" directive: ${showValue(v)}`, key);
  }
  const list = w as string[];
  // which names ask for a directory is read from the config, as nginx does (not from the value)
  const files = list.slice(0, -1).map((f) => f.endsWith('/')
    ? { name: compileComplex(f.slice(0, -1), key), dir: true }
    : { name: compileComplex(f, key), dir: false });
  const last = list[list.length - 1];
  if (last.startsWith('=')) {
    const code = Number(last.slice(1));
    if (!/^=[0-9]{3}$/.test(last) || code < 200 || code > 599) throw new ConfigError(`invalid code "${last}"`, key);
    return { files, code, named: null, uri: null };
  }
  if (last.startsWith('@')) {
    if (last.length < 2) throw invalidValue(v, key);
    return { files, code: 0, named: last, uri: null };
  }
  return { files, code: 0, named: null, uri: compileComplex(last, key) };
});

/** The path of `uri` under the location's root, or its alias (ngx_http_map_uri_to_path). */
export function pathOf(r: Request, uri: string): string {
  const conf = r.conf;
  const loc = r.loc;
  if (conf.alias !== null && loc !== null && (loc.kind === 'prefix' || loc.kind === 'noregex' || loc.kind === 'exact')) {
    return conf.alias + (uri.startsWith(loc.path) ? uri.slice(loc.path.length) : uri);
  }
  return conf.root + uri;
}

/**
 * The try_files phase. Returns null when a file was found (r.uri is now its name: the
 * content phase serves it), else what to do: a code, or an internal redirect target.
 */
export function tryFilesPhase(r: Request, tf: TryFiles): { code: number } | { uri: string } | null {
  const files = tf.files;
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    const name = f.name.run(r);
    // a name written with a trailing '/' asks for a directory; the URI is then the name without
    // that slash, so the static module redirects '/dir' to '/dir/'
    const dir = f.dir;
    if (name === '' && !dir) continue;
    let ok = false;
    const path = pathOf(r, name === '' ? '/' : name);
    if (r.conf.openFileCache !== null) {
      // through the open file cache (as nginx: the file is opened and held for the request,
      // so the static module's lookup that follows is a hit)
      ok = openFile(r, path, OF.reset(false, true)) && OF.isDir === dir;
    } else if (dir) {
      try { ok = statSync(path).isDirectory(); } catch { ok = false; }
    } else {
      ok = openFound(r, path);
    }
    if (ok) {
      r.uri = name.charCodeAt(0) === 0x2f ? name : '/' + name;
      return null;
    }
  }
  if (tf.code !== 0) return { code: tf.code };
  if (tf.named !== null) return { uri: tf.named };
  return { uri: tf.uri!.run(r) };
}

/** A file try_files opened, handed to the static module (one open and fstat, not two of each). */
export interface OpenedFile {
  readonly path: string;
  readonly fd: number;
  readonly st: Stats;
}

/** Open `path`: a file (not a directory) is kept open for the request; false if none is there. */
function openFound(r: Request, path: string): boolean {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return false; }
  let st: Stats;
  try { st = fstatSync(fd); } catch { closeSync(fd); return false; }
  if (st.isDirectory()) { closeSync(fd); return false; }
  const prev = r.openedFile;
  if (prev !== null) closeSync(prev.fd);
  r.openedFile = { path, fd, st };
  r.main.addCleanup(() => {
    // (the static module may have taken it: then it is closed by its own cleanup)
    if (r.openedFile !== null && r.openedFile.fd === fd) { r.openedFile = null; closeSync(fd); }
  });
  return true;
}
