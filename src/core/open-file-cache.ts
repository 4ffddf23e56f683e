// cf. src/core/ngx_open_file_cache.c — open_file_cache: per path, the descriptor of an open file
// with its stat, a directory's stat, or (with errors on) why the path failed; at most `max`
// entries, least recently used dropped first, an entry unused for `inactive` dropped, an entry
// older than `valid` checked against the disk again (a new inode is a new file: reopened).
//
// Time is what the caller passes (the server's clock, in ms). Descriptors are closed when their
// entry goes and no request holds it, or by the last request that does.

import { closeSync, constants, fstatSync, openSync, statSync, type Stats } from 'node:fs';

// non-blocking so a FIFO cannot hang the open (no effect on a regular file), as nginx opens
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * A lookup's question and answer (ngx_open_file_info_t). Inputs: testDir (a stat is enough when
 * the path is a directory), testOnly (without a cache: stat, do not open). Outputs: the rest.
 */
export class OpenFileInfo {
  /** The descriptor (-1: none: a directory, a failure, or a test without a cache). */
  fd: number;
  ino: number;
  size: number;
  mtimeMs: number;
  isDir: boolean;
  isFile: boolean;
  /** The errno code of a failed open or stat ('ENOENT', 'EACCES'), or null. */
  err: string | null;
  /** What failed: 'open()', 'stat()' (nginx's of->failed, for the log line); '' when nothing did. */
  failed: string;
  testDir: boolean;
  testOnly: boolean;
  /** The cache entry the caller now holds (release it when the request ends), or null. */
  entry: CachedFile | null;

  constructor() {
    this.fd = -1;
    this.ino = 0;
    this.size = 0;
    this.mtimeMs = 0;
    this.isDir = false;
    this.isFile = false;
    this.err = null;
    this.failed = '';
    this.testDir = false;
    this.testOnly = false;
    this.entry = null;
  }

  /** Ready for a new lookup (the inputs as given). */
  reset(testDir: boolean, testOnly: boolean): this {
    this.fd = -1;
    this.ino = 0;
    this.err = null;
    this.failed = '';
    this.testDir = testDir;
    this.testOnly = testOnly;
    this.entry = null;
    return this;
  }
}

function fill(of: OpenFileInfo, st: Stats): true {
  of.ino = st.ino;
  of.size = st.size;
  of.mtimeMs = st.mtimeMs;
  of.isDir = st.isDirectory();
  of.isFile = st.isFile();
  return true;
}

function statPath(name: string, of: OpenFileInfo): Stats | undefined {
  try {
    const st = statSync(name, { throwIfNoEntry: false });
    if (st === undefined) { of.err = 'ENOENT'; of.failed = 'stat()'; }
    return st;
  } catch (e) {
    of.err = (e as NodeJS.ErrnoException).code ?? 'EIO';
    of.failed = 'stat()';
    return undefined;
  }
}

/**
 * ngx_open_and_stat_file: open `name` and fstat it (a directory's descriptor is closed at once).
 * With of.fd set (a cached descriptor) a stat of the path comes first, and the descriptor stays
 * when the path is still the same inode; with testDir a directory needs only the stat.
 * False on failure: of.err says why (null: fstat failed on an open descriptor, not cacheable).
 */
export function openAndStat(name: string, of: OpenFileInfo): boolean {
  let st: Stats | undefined;
  if (of.fd >= 0) {
    st = statPath(name, of);
    if (st === undefined) { of.fd = -1; return false; }
    if (st.ino === of.ino) return fill(of, st);
  } else if (of.testDir) {
    st = statPath(name, of);
    if (st === undefined) { of.fd = -1; return false; }
    if (st.isDirectory()) return fill(of, st);
  }
  let fd: number;
  try {
    fd = openSync(name, OPEN_FLAGS);
  } catch (e) {
    of.err = (e as NodeJS.ErrnoException).code ?? 'EIO';
    of.failed = 'open()';
    of.fd = -1;
    return false;
  }
  try {
    st = fstatSync(fd);
  } catch (e) {
    closeSync(fd);
    of.err = null;
    of.failed = `fstat() (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`;
    of.fd = -1;
    return false;
  }
  if (st.isDirectory()) {
    closeSync(fd);
    of.fd = -1;
  } else {
    of.fd = fd;
  }
  return fill(of, st);
}

/** A stat of `name` and nothing more (of.testOnly without a cache: no descriptor). */
export function statOnly(name: string, of: OpenFileInfo): boolean {
  of.fd = -1;
  const st = statPath(name, of);
  return st !== undefined && fill(of, st);
}

/** One path in the cache (ngx_cached_open_file_t). */
export class CachedFile {
  readonly name: string;
  fd: number;
  err: string | null;
  ino: number;
  size: number;
  mtimeMs: number;
  isDir: boolean;
  isFile: boolean;
  /** Lookups since it was made (against minUses: kept open from that many on). */
  uses: number;
  /** Requests holding its descriptor now. */
  count: number;
  /** When it was last checked against the disk (against `valid`). */
  created: number;
  /** When it was last used (against `inactive`; the order of the expire queue). */
  accessed: number;
  /** Out of the cache: the last request holding it closes the descriptor. */
  close: boolean;
  prev: CachedFile | null;
  next: CachedFile | null;

  constructor(name: string) {
    this.name = name;
    this.fd = -1;
    this.err = null;
    this.ino = 0;
    this.size = 0;
    this.mtimeMs = 0;
    this.isDir = false;
    this.isFile = false;
    this.uses = 1;
    this.count = 0;
    this.created = 0;
    this.accessed = 0;
    this.close = false;
    this.prev = null;
    this.next = null;
  }
}

function closeFd(f: CachedFile): void {
  if (f.fd < 0) return;
  try { closeSync(f.fd); } catch { /* already gone: nothing to leak */ }
  f.fd = -1;
}

/** An open file cache (ngx_open_file_cache_t): made by the directive, shared by the blocks that inherit it. */
export class OpenFileCache {
  readonly max: number;
  readonly inactiveMs: number;
  private readonly files: Map<string, CachedFile>;
  // the expire queue: most recently used at the head
  private head: CachedFile | null;
  private tail: CachedFile | null;

  constructor(max: number, inactiveMs: number) {
    this.max = max;
    this.inactiveMs = inactiveMs;
    this.files = new Map();
    this.head = null;
    this.tail = null;
  }

  /** Entries now. */
  get size(): number {
    return this.files.size;
  }

  /** The entry for a path (tests, status). */
  peek(name: string): CachedFile | undefined {
    return this.files.get(name);
  }

  /** Descriptors the cache has open now (held or idle). */
  openCount(): number {
    let n = 0;
    for (const f of this.files.values()) if (f.fd >= 0) n++;
    return n;
  }

  /**
   * ngx_open_cached_file: `name`'s descriptor and stat into `of`, from the cache while the entry
   * is younger than `validMs`, else from the disk (and cached). False when the path cannot be
   * opened (of.err says why); with `errors` the failure is cached too. When of.entry is set the
   * caller holds it and must release() it.
   */
  open(name: string, of: OpenFileInfo, now: number, validMs: number, errors: boolean): boolean {
    of.entry = null;
    let file = this.files.get(name);
    if (file !== undefined) {
      file.uses++;
      this.unlink(file);

      if (file.fd < 0 && file.err === null && !file.isDir) {
        // seen before, but not used often enough to be kept open
        of.fd = -1;
        if (!openAndStat(name, of) && (of.err === null || !errors)) return this.failed(file, of);
        return this.update(file, of, now);
      }

      if (now - file.created < validMs) {
        if (file.err === null) {
          of.fd = file.fd;
          of.ino = file.ino;
          of.size = file.size;
          of.mtimeMs = file.mtimeMs;
          of.isDir = file.isDir;
          of.isFile = file.isFile;
          if (!file.isDir) {
            file.count++;
            of.entry = file;
          }
        } else {
          of.err = file.err;
          of.failed = 'open()'; // as nginx names a cached failure
        }
        file.accessed = now;
        this.pushHead(file);
        return file.err === null;
      }

      // too old: is the path still what the entry says?
      if (file.isDir) of.testDir = true; // a directory rarely becomes a file: one stat will do
      of.fd = file.fd;
      of.ino = file.ino;
      if (!openAndStat(name, of) && (of.err === null || !errors)) return this.failed(file, of);

      if (of.err === null && of.isDir) {
        if (file.isDir || file.err !== null) return this.update(file, of, now);
        // a file became a directory
      } else if (of.err === null) {
        if (file.isDir || file.err !== null) return this.update(file, of, now);
        if (of.ino === file.ino) return this.update(file, of, now);
        // another file under the same name (replaced on disk)
      } else {
        if (file.err !== null || file.isDir) return this.update(file, of, now);
        // the file went (removed, its permissions changed)
      }

      if (file.count === 0) {
        closeFd(file);
        return this.update(file, of, now);
      }
      // requests still read the old descriptor: they close it; a new entry takes the name
      this.files.delete(name);
      file.close = true;
    } else {
      of.fd = -1;
      if (!openAndStat(name, of) && (of.err === null || !errors)) return false;
    }

    if (this.files.size >= this.max) this.expire(0, now);
    file = new CachedFile(name);
    this.files.set(name, file);
    return this.update(file, of, now);
  }

  /** ngx_open_file_cleanup: a request is done with `file`; then one or two inactive entries go. */
  release(file: CachedFile, minUses: number, now: number): void {
    file.count--;
    if (!file.close) {
      file.accessed = now;
      this.unlink(file);
      this.pushHead(file);
      if (file.uses >= minUses || file.count > 0) { this.expire(1, now); return; }
    }
    if (file.count <= 0) closeFd(file);
    this.expire(1, now);
  }

  /** Drop every entry and close the descriptors no request holds (the others close at their release). */
  close(): void {
    for (const f of this.files.values()) {
      f.prev = f.next = null;
      if (f.err === null && !f.isDir) {
        f.close = true;
        if (f.count <= 0) closeFd(f);
      }
    }
    this.files.clear();
    this.head = this.tail = null;
  }

  // the lookup's result goes into the entry (which is put at the head of the queue)
  private update(file: CachedFile, of: OpenFileInfo, now: number): boolean {
    file.fd = of.fd;
    file.err = of.err;
    if (of.err === null) {
      file.ino = of.ino;
      file.size = of.size;
      file.mtimeMs = of.mtimeMs;
      file.isDir = of.isDir;
      file.isFile = of.isFile;
      file.close = false;
      if (!of.isDir) {
        file.count++;
        of.entry = file;
      }
    }
    file.created = now;
    file.accessed = now;
    this.pushHead(file);
    return of.err === null;
  }

  // a lookup failed and the failure is not cached: the entry goes (it is out of the queue already)
  private failed(file: CachedFile, of: OpenFileInfo): false {
    if (this.files.get(file.name) === file) this.files.delete(file.name);
    if (file.count === 0) closeFd(file);
    else file.close = true;
    if (of.fd >= 0 && of.fd !== file.fd) {
      try { closeSync(of.fd); } catch { /* gone */ }
    }
    of.fd = -1;
    return false;
  }

  /**
   * ngx_expire_old_cached_files: n = 1 drops up to two entries unused for `inactive`; n = 0 drops
   * the least recently used one whatever its age (the cache is full), then up to two inactive.
   */
  private expire(n: number, now: number): void {
    while (n < 3) {
      const f = this.tail;
      if (f === null) return;
      if (n++ !== 0 && now - f.accessed <= this.inactiveMs) return;
      this.unlink(f);
      this.files.delete(f.name);
      if (f.err === null && !f.isDir) {
        f.close = true;
        if (f.count <= 0) closeFd(f);
      }
    }
  }

  private unlink(f: CachedFile): void {
    if (f.prev !== null) f.prev.next = f.next; else if (this.head === f) this.head = f.next;
    if (f.next !== null) f.next.prev = f.prev; else if (this.tail === f) this.tail = f.prev;
    f.prev = f.next = null;
  }

  private pushHead(f: CachedFile): void {
    f.next = this.head;
    f.prev = null;
    if (this.head !== null) this.head.prev = f;
    this.head = f;
    if (this.tail === null) this.tail = f;
  }
}
