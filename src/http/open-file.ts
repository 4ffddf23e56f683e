// cf. ngx_open_cached_file's callers (ngx_http_static_module.c, ngx_http_index_module.c,
// try_files in ngx_http_core_module.c) — a request's way to a file: through its location's
// open file cache when it has one (the entry is held until the request ends), else opened (or,
// for a test, stat'ed) afresh and the descriptor closed when the request ends.

import { closeSync } from 'node:fs';
import { openAndStat, statOnly, type CachedFile, type OpenFileCache, type OpenFileInfo } from '../core/open-file-cache.js';
import { SYSTEM_CLOCK, type Clock } from '../core/clock.js';
import type { Request } from './request.js';

export { OpenFileInfo } from '../core/open-file-cache.js';

/**
 * Look `path` up for `r` into `of` (reset by the caller: of.testDir, of.testOnly). True when it
 * exists; of.fd is then open for as long as the request lasts (-1 for a directory, or for a test
 * without a cache). False: of.err says why (null: an error nginx does not cache).
 */
export function openFile(r: Request, path: string, of: OpenFileInfo): boolean {
  const conf = r.conf;
  const cache = conf.openFileCache;
  if (cache === null) {
    if (of.testOnly) return statOnly(path, of);
    const ok = openAndStat(path, of);
    if (ok && of.fd >= 0) {
      const fd = of.fd;
      r.main.addCleanup(() => closeSync(fd));
    }
    return ok;
  }
  const ok = cache.open(path, of, clockOf(r).now(), conf.openFileCacheValid, conf.openFileCacheErrors);
  if (of.entry !== null) holdEntry(r, cache, of.entry, conf.openFileCacheMinUses);
  return ok;
}

// the request holds the entry's descriptor until it ends
function holdEntry(r: Request, cache: OpenFileCache, file: CachedFile, minUses: number): void {
  const clock = clockOf(r);
  r.main.addCleanup(() => cache.release(file, minUses, clock.now()));
}

// the server's clock (a test's ManualClock), through the connection; a request without one
// (a timer's fake request) reads the system's
function clockOf(r: Request): Clock {
  return r.main.hc?.clock ?? SYSTEM_CLOCK;
}
