// cf. ngx_http_static_module.c and ngx_http_index_module.c — files from `root` or `alias`:
// a directory without the slash is 301 to the slash form, a slash uri tries `index` files
// (an internal redirect), a file goes down the filter chain as one file buf.

import { closeSync } from 'node:fs';
import { Buf, B_LAST_BUF, B_LAST_IN_CHAIN, FileRef, link } from '../../core/buf.js';
import { logError } from '../../core/log.js';
import type { Request } from '../request.js';
import { registerVariable } from '../variables.js';
import { OpenFileInfo, openFile } from '../open-file.js';

// $request_filename: the file path for the current URI
registerVariable('request_filename', (r) => mapUriToPath(r));

/** The file path for r.uri under the location's root or alias. */
export function mapUriToPath(r: Request): string {
  const conf = r.conf;
  const loc = r.loc;
  if (conf.alias !== null && loc !== null && (loc.kind === 'prefix' || loc.kind === 'noregex' || loc.kind === 'exact')) {
    return conf.alias + r.uri.slice(loc.path.length);
  }
  return conf.root + r.uri;
}

export function staticHandler(r: Request): undefined {
  const m = r.method;
  if (m !== 'GET' && m !== 'HEAD' && m !== 'POST') r.exit(405);

  if (r.uri.endsWith('/')) return indexHandler(r);

  // open and fstat block, as in nginx: from the page cache they cost less than a trip
  // through libuv's thread pool (and the file is read the same way when it is small)
  const path = mapUriToPath(r);
  let fd: number;
  let size: number;
  let mtimeMs: number;
  const opened = r.openedFile;
  if (opened !== null && opened.path === path) {
    // try_files found it and kept it open (no open file cache): its descriptor and stat serve
    r.openedFile = null;
    fd = opened.fd;
    const st = opened.st;
    r.main.addCleanup(() => closeSync(fd));
    if (st.isDirectory()) return dirRedirect(r);
    if (!st.isFile()) r.exit(404);
    size = st.size;
    mtimeMs = st.mtimeMs;
  } else {
    // through the location's open file cache, when it has one; the request holds the descriptor
    const of = OF.reset(false, false);
    if (!openFile(r, path, of)) return fileError(r, of, path);
    if (of.isDir) return dirRedirect(r);
    if (!of.isFile) r.exit(404);
    fd = of.fd;
    size = of.size;
    mtimeMs = of.mtimeMs;
  }
  if (m === 'POST') r.exit(405);
  if (r === r.main && r.hc !== null) {
    // as ngx_http_static_handler: the body nobody reads is discarded first, and a bad one answered
    const rc = r.hc.discardBody(r);
    if (rc !== 0) r.exit(rc);
  }

  const file = new FileRef(fd, path, size, mtimeMs, r.conf.aio === 'threads');
  const h = r.headersOut;
  h.status = 200;
  h.contentLength = size;
  h.lastModified = mtimeMs;
  h.etag = etagOf(mtimeMs, size);
  h.contentType = typeFor(r, path);
  r.allowRanges = true;
  r.sendHeader();
  if (r.headerOnly || r.outputDone) return undefined;
  const flags = r === r.main ? B_LAST_BUF : B_LAST_IN_CHAIN;
  r.outputDone = true;
  r.chains.output(r, link(size > 0 ? Buf.inFile(file, 0, size, flags) : Buf.special(flags)));
  return undefined;
}

/** nginx's ETag of a file: "mtime-size" in hex. The last one is kept: a busy file asks again. */
let lastEtagMtime = -1, lastEtagSize = -1, lastEtag = '';
function etagOf(mtimeMs: number, size: number): string {
  if (mtimeMs !== lastEtagMtime || size !== lastEtagSize) {
    lastEtag = `"${Math.floor(mtimeMs / 1000).toString(16)}-${size.toString(16)}"`;
    lastEtagMtime = mtimeMs;
    lastEtagSize = size;
  }
  return lastEtag;
}

// one lookup at a time (all of it synchronous): the handlers share one OpenFileInfo
const OF = new OpenFileInfo();

/** nginx answers a directory without its slash with 301 to the slash form. */
function dirRedirect(r: Request): never {
  r.headersOut.location = dirLocation(r);
  r.exit(301);
}

/** ngx_http_index_module: the first index file that exists, by internal redirect. */
function indexHandler(r: Request): undefined {
  const dir = mapUriToPath(r);
  for (const c of r.conf.index) {
    // an empty name (a variable with no value) is the directory itself: nginx redirects to
    // it again, a cycle that ends in 500
    const name = c.run(r);
    const path = name.startsWith('/') ? r.conf.root + name : dir + name;
    const of = OF.reset(false, true);
    if (!openFile(r, path, of)) {
      if (of.err === 'ENOENT' || of.err === 'ENOTDIR') continue;
      return fileError(r, of, path);
    }
    if (of.isFile || of.isDir) r.exec(name.startsWith('/') ? name : r.uri + name, r.args || undefined);
  }
  const of = OF.reset(true, true);
  if (!openFile(r, dir, of)) return fileError(r, of, dir);
  if (of.isDir) {
    logError('error', r, `directory index of "${dir}" is forbidden`);
    r.exit(403);
  }
  r.exit(404);
}

function fileError(r: Request, of: OpenFileInfo, path: string): never {
  switch (of.err) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ENAMETOOLONG':
      if (r.conf.logNotFound) logError('error', r, `${of.failed || 'open()'} "${path}" failed (2: No such file or directory)`);
      r.exit(404);
    // falls through (exit never returns)
    case 'EACCES':
    case 'EPERM':
      logError('error', r, `${of.failed || 'open()'} "${path}" failed (13: Permission denied)`);
      r.exit(403);
    // falls through
    default:
      logError('crit', r, `${of.failed || 'open()'} "${path}" failed${of.err === null ? '' : ` (${of.err})`}`);
      r.exit(500);
  }
}

/** The type for a path's (or URI's) extension, else defaultType (ngx_http_set_content_type). */
export function typeFor(r: Request, path: string): string {
  // the extension as path.extname() finds it (after the last dot of the last segment, a leading
  // dot not counting), tried as it is first: most are lower case already
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot <= slash + 1 || dot === path.length - 1) return r.conf.defaultType;
  const ext = path.slice(dot + 1);
  const types = r.conf.types;
  return types.get(ext) ?? types.get(ext.toLowerCase()) ?? r.conf.defaultType;
}

/** The slash form of the URI, with its args; made absolute with the header (absoluteRedirect). */
function dirLocation(r: Request): string {
  return `${r.uri}/${r.args ? '?' + r.args : ''}`;
}
