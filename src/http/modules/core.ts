// cf. ngx_http_core_module.c (ngx_http_core_commands) — the core directives of the http, server
// and location blocks: limits, timeouts, files, types, keep-alive, logs. Listen, server_name and
// location are the config's structure (src/http/config.ts), not directives here.

import { DEFAULT_TYPES } from '../mime-types.js';
import { ConfigError, invalidValue, parseSize, parseTime, showValue } from '../conf/size-time.js';
import { OpenFileCache } from '../../core/open-file-cache.js';
import { H, HS, HSL, L, SL, cmd, defineModule, parser } from '../conf/module.js';
import { tryFiles } from '../try-files.js';
import { errorPage } from '../error-page.js';
import { flag, isHeaderSafe, isPlainObject, logPath, num, oneOf, path, size, timer, words } from '../conf/parse.js';

export interface HeaderBuffers {
  number: number;
  size: number;
}

const contentType = parser<string>()((v, key) => {
  if (typeof v === 'string' && v.trim() !== '' && isHeaderSafe(v)) return v;
  throw invalidValue(v, key);
});

/** Content type -> extensions; replaces the inherited map (as nginx's `types {}` does). */
const types = parser<Readonly<Record<string, string | readonly string[]>>>()((v, key): ReadonlyMap<string, string> => {
  if (!isPlainObject(v)) throw invalidValue(v, key);
  const map = new Map<string, string>();
  for (const type of Object.keys(v)) {
    if (type.trim() === '' || !isHeaderSafe(type)) throw new ConfigError(`invalid content type ${showValue(type)} in "${key}"`, key);
    const exts = words(v[type]);
    if (exts === null || exts.length === 0) throw new ConfigError(`invalid extensions ${showValue(v[type])} for "${type}" in "${key}"`, key);
    for (const e of exts) {
      if (typeof e !== 'string' || e === '' || /[\s/\0]/.test(e)) throw new ConfigError(`invalid extension ${showValue(e)} for "${type}" in "${key}"`, key);
      // nginx warns about a duplicate extension and keeps the later type; so do we (silently)
      map.set(e.toLowerCase(), type);
    }
  }
  return map;
});

/** '4 8k' or [4, '8k']: number and size of the buffers for a request head. */
const bufs = parser<string | readonly [number, string | number]>()((v, key): HeaderBuffers => {
  const w = words(v);
  if (w === null || w.length !== 2) throw invalidValue(v, key);
  const n0 = w[0];
  let n: number;
  if (typeof n0 === 'number') n = n0;
  else if (typeof n0 === 'string' && /^[0-9]{1,9}$/.test(n0)) n = Number(n0);
  else throw invalidValue(v, key);
  if (!Number.isSafeInteger(n) || n < 1) throw invalidValue(v, key);
  if (typeof w[1] !== 'number' && typeof w[1] !== 'string') throw invalidValue(v, key);
  let sz: number;
  try {
    sz = parseSize(w[1], key);
  } catch {
    throw invalidValue(v, key);
  }
  if (sz < 1) throw invalidValue(v, key);
  return { number: n, size: sz };
});

/** keepalive_disable's bits (NGX_HTTP_KEEPALIVE_DISABLE_*). */
export const KD_MSIE6 = 1, KD_SAFARI = 2;

/** 'msie6' (default), 'safari', 'none', or a list of them ('msie6 safari'). */
const keepaliveDisable = parser<'none' | 'msie6' | 'safari' | 'msie6 safari' | readonly ('none' | 'msie6' | 'safari')[]>()((v, key): number => {
  const list = words(v);
  if (list === null || list.length === 0 || list.length > 2) throw invalidValue(v, key);
  let bits = 0;
  for (const w of list) {
    if (w === 'msie6') bits |= KD_MSIE6;
    else if (w === 'safari') bits |= KD_SAFARI;
    else if (w !== 'none') throw new ConfigError(`invalid value ${showValue(w)} in "${key}"`, key);
  }
  return bits;
});

/** A time in seconds' units (nginx's ngx_conf_set_sec_slot: no "ms"), in ms. */
const seconds = parser<string | number>()((v, key): number => {
  if (typeof v === 'string' && v.includes('ms')) throw invalidValue(v, key);
  return parseTime(v as string | number, key);
});

/**
 * 'max=N inactive=time' (inactive 60s unless given) or 'off': a cache made here, at load, and
 * shared by every block that inherits it (as nginx's directive makes one per block it is in).
 */
const openFileCache = parser<'off' | `max=${string}` | readonly string[]>()((v, key): OpenFileCache | null => {
  const w = words(v);
  if (w === null || w.length < 1 || w.length > 2) throw invalidValue(v, key);
  let max = 0;
  let inactive = 60_000;
  let off = false;
  for (const p of w) {
    const bad = () => new ConfigError(`invalid "${key}" parameter ${showValue(p)}`, key);
    if (typeof p !== 'string') throw bad();
    if (p.startsWith('max=')) {
      if (!/^max=[0-9]{1,9}$/.test(p) || Number(p.slice(4)) <= 0) throw bad();
      max = Number(p.slice(4));
    } else if (p.startsWith('inactive=')) {
      const t = p.slice(9);
      if (t === '' || t.includes('ms')) throw bad();
      try { inactive = parseTime(t, key); } catch { throw bad(); }
    } else if (p === 'off') {
      off = true;
    } else {
      throw bad();
    }
  }
  if (off) return null;
  if (max === 0) throw new ConfigError(`"${key}" must have the "max" parameter`, key);
  return new OpenFileCache(max, inactive);
});

export const coreModule = defineModule({
  name: 'core',
  nginx: 'ngx_http_core_module',
  about: 'limits, timeouts, root/alias, types, keep-alive, the error log',
  notYet: ['limit_except', 'sendfile', 'tcp_nopush', 'client_body_buffer_size', 'merge_slashes', 'listen ssl', 'listen http2'],
  directives: {
    clientMaxBodySize: cmd(HSL, size, '1m'),
    clientBodyTimeout: cmd(HSL, timer, '60s'),
    clientHeaderTimeout: cmd(HS, timer, '60s'),
    largeClientHeaderBuffers: cmd(HS, bufs, '4 8k', {
      differs: 'a head or header line over the limit gets 431 (nginx: 400)',
    }),
    keepaliveTimeout: cmd(HSL, timer, '75s'),
    keepaliveRequests: cmd(HSL, num, 1000),
    keepaliveTime: cmd(HSL, timer, '1h'),
    keepaliveDisable: cmd(HSL, keepaliveDisable, 'msie6'),
    sendTimeout: cmd(HSL, timer, '60s'),
    root: cmd(HSL, path, 'html'),
    alias: cmd(L, path, null),
    defaultType: cmd(HSL, contentType, 'text/plain'),
    // a block's types replace the inherited map, never merge with it, as nginx's types {} do
    types: cmd(HSL, types, DEFAULT_TYPES),
    internal: cmd(L, flag, false),
    serverTokens: cmd(HSL, flag, false, { differs: 'off by default: the header is just "Server: sluice"' }),
    chunkedTransferEncoding: cmd(HSL, flag, true),
    errorLog: cmd(HSL, logPath('stderr'), 'stderr', { differs: 'stderr by default (nginx: logs/error.log); nginx\'s arguments \'path level\' or [path, level] (nginx\'s levels, error by default); an object with write() is taken too; one log per block (nginx: several); written in the background for files' }),
    tcpNodelay: cmd(HSL, flag, true),
    ifModifiedSince: cmd(HSL, oneOf('exact', 'before', 'off'), 'exact'),
    maxRanges: cmd(HSL, num, null),
    filterTrace: cmd(HSL, flag, false, { nginx: null }),
    tryFiles: cmd(SL, tryFiles, null),
    errorPage: cmd(HSL, errorPage, null, { differs: 'main requests only (a subrequest gets the plain status)' }),
    recursiveErrorPages: cmd(HSL, flag, false),
    logNotFound: cmd(HSL, flag, true),
    absoluteRedirect: cmd(HSL, flag, true),
    portInRedirect: cmd(HSL, flag, true),
    serverNameInRedirect: cmd(HSL, flag, false),
    // the open file cache (static, index and try_files look files up through it)
    openFileCache: cmd(HSL, openFileCache, 'off', {
      differs: 'times in ms of the server\'s clock (nginx: whole seconds, so its entries may live up to a second less)',
    }),
    openFileCacheValid: cmd(HSL, seconds, '60s'),
    openFileCacheMinUses: cmd(HSL, num, 1),
    openFileCacheErrors: cmd(HSL, flag, false),
    // how large files are read: blocking (as nginx without aio), or in libuv's thread pool
    aio: cmd(HSL, oneOf('off', 'threads'), 'off', {
      differs: '\'threads\' reads in libuv\'s thread pool (UV_THREADPOOL_SIZE), not a named thread_pool; \'on\' (Linux native AIO, with directio) is not offered',
    }),
    openFileCacheEvents: cmd(HSL, flag, false, {
      differs: 'accepted and without effect, as in nginx on Linux (nginx watches files with kqueue only, on the BSDs and macOS); changes are seen at revalidation (openFileCacheValid)',
    }),
  },
  checkBlock(raw) {
    // ngx_http_core_root: root and alias share one slot
    if (raw.root !== undefined && raw.alias !== undefined) {
      throw new ConfigError('"alias" directive is duplicate, "root" directive was specified earlier', 'alias');
    }
  },
});

/** cf. ngx_event.c (ngx_event_core_commands): what one process may hold. */
export const eventsModule = defineModule({
  name: 'events',
  nginx: 'ngx_event_core_module',
  about: 'worker_connections: the client connections one process keeps open at most',
  directives: {
    // nginx's events { worker_connections 512; }: a process-wide limit, so top level only
    workerConnections: cmd(H, num, 512, { differs: 'counts client connections only (nginx also counts listening and upstream ones)' }),
  },
});
