// cf. src/core/ngx_buf.h, ngx_buf.c — buffers and chains.
//
// A Buf is a window onto memory (pos..last of a Buffer it does not own: a socket chunk, an
// upstream chunk, a handler's output) or a range of a file (filePos..fileLast). Moving the window
// is plain arithmetic; a Buffer view is made only where bytes leave for the socket.

/** Flags, as ngx_buf_t has them. */
export const B_MEMORY = 1 << 0;       // bytes are in `mem` (read-only unless B_TEMPORARY)
export const B_TEMPORARY = 1 << 1;    // `mem` is ours to change (a filter may write in place)
export const B_IN_FILE = 1 << 2;      // bytes are in `file` between filePos and fileLast
export const B_FLUSH = 1 << 3;        // send what is buffered now
export const B_SYNC = 1 << 4;         // carries no data, only a signal
export const B_LAST_BUF = 1 << 5;     // the last buffer of the response (main request)
export const B_LAST_IN_CHAIN = 1 << 6; // the last buffer of this request's output (subrequests too)

/** A file a Buf may point into; opened once per response, closed by the request's cleanup. */
export class FileRef {
  fd: number;
  path: string;
  size: number;
  mtimeMs: number;
  /** Read its large pieces through libuv's thread pool (`aio threads`); false: blocking reads. */
  threads: boolean;
  constructor(fd: number, path: string, size: number, mtimeMs: number, threads = false) {
    this.fd = fd;
    this.path = path;
    this.size = size;
    this.mtimeMs = mtimeMs;
    this.threads = threads;
  }
}

export class Buf {
  mem: Buffer | null;
  pos: number;
  last: number;
  file: FileRef | null;
  filePos: number;
  fileLast: number;
  flags: number;
  /** Which module made it, so a module can recognise and recycle its own bufs (ngx_buf_tag_t). */
  tag: unknown;
  /**
   * A memory buf whose bytes are still a latin1 string, one char per byte (the header block, the
   * chunk framing, a handler's ASCII text): pos..last index the string, `mem` is null, and the
   * buf is never B_TEMPORARY. The write filter hands the string to the socket as it is, so it is
   * encoded once, into the outgoing bytes; view() encodes it for anyone else who wants a Buffer.
   */
  text: string | null;

  constructor() {
    this.mem = null;
    this.pos = 0;
    this.last = 0;
    this.file = null;
    this.filePos = 0;
    this.fileLast = 0;
    this.flags = 0;
    this.tag = null;
    this.text = null;
  }

  /** A Buf over mem[pos, last) — a window, never a copy. */
  static memory(mem: Buffer, pos = 0, last = mem.length, flags = 0): Buf {
    const b = new Buf();
    b.mem = mem;
    b.pos = pos;
    b.last = last;
    b.flags = B_MEMORY | flags;
    return b;
  }

  /**
   * A memory Buf over a string of latin1 bytes (one char = one byte), encoded when it leaves. An
   * ASCII string is the same bytes in UTF-8: `asciiText()` tells whether a handler's text is one.
   */
  static latin1(text: string, flags = 0): Buf {
    const b = new Buf();
    b.text = text;
    b.last = text.length;
    b.flags = B_MEMORY | flags;
    return b;
  }

  /** A Buf over a range of a file. */
  static inFile(file: FileRef, pos: number, last: number, flags = 0): Buf {
    const b = new Buf();
    b.file = file;
    b.filePos = pos;
    b.fileLast = last;
    b.flags = B_IN_FILE | flags;
    return b;
  }

  /** A data-less buf carrying only flags (sync, flush, last). */
  static special(flags: number): Buf {
    const b = new Buf();
    b.flags = flags | B_SYNC;
    return b;
  }

  /** Bytes this buf carries (ngx_buf_size). */
  size(): number {
    return (this.flags & B_MEMORY) !== 0 ? this.last - this.pos
      : (this.flags & B_IN_FILE) !== 0 ? this.fileLast - this.filePos : 0;
  }

  inMemory(): boolean { return (this.flags & B_MEMORY) !== 0; }
  isLast(): boolean { return (this.flags & (B_LAST_BUF | B_LAST_IN_CHAIN)) !== 0; }

  /** The bytes as a Buffer view (made only where they leave for the socket or a user). */
  view(): Buffer {
    if (this.text !== null) {
      this.mem = Buffer.from(this.text, 'latin1');
      this.text = null;
    }
    const m = this.mem!;
    return this.pos === 0 && this.last === m.length ? m : m.subarray(this.pos, this.last);
  }
}

/** The bytes of a text buf's window, as a latin1 string (the string itself when it is all of it). */
export function bufText(b: Buf): string {
  const t = b.text!;
  return b.pos === 0 && b.last === t.length ? t : t.slice(b.pos, b.last);
}

/**
 * True when `s` is ASCII: its UTF-8 bytes are its chars, one each, so it may travel as a latin1
 * text buf (a char over 0x7f takes two bytes or more in UTF-8).
 */
export function asciiText(s: string): boolean {
  return Buffer.byteLength(s, 'utf8') === s.length;
}

/** A link of a chain (ngx_chain_t). Links are recycled through a free list. */
export class Chain {
  buf: Buf;
  next: Chain | null;
  constructor(buf: Buf, next: Chain | null) {
    this.buf = buf;
    this.next = next;
  }
}

let freeLinks: Chain | null = null;
let freeCount = 0;
const FREE_MAX = 4096;

/** A link from the free list, or a new one (ngx_alloc_chain_link). */
export function link(buf: Buf, next: Chain | null = null): Chain {
  const cl = freeLinks;
  if (cl !== null) {
    freeLinks = cl.next;
    freeCount--;
    cl.buf = buf;
    cl.next = next;
    return cl;
  }
  return new Chain(buf, next);
}

/** What a free link points at: nothing (a freed link must not keep its last buffer alive). */
const NO_BUF = new Buf();

/** Give a single link back (ngx_free_chain). */
export function freeLink(cl: Chain): void {
  cl.buf = NO_BUF;
  if (freeCount >= FREE_MAX) { cl.next = null; return; }
  cl.next = freeLinks;
  freeLinks = cl;
  freeCount++;
}

/** Builds a chain link by link (head and tail), for filters that make new output. */
export class ChainOut {
  head: Chain | null = null;
  tail: Chain | null = null;
  push(b: Buf): void {
    const l = link(b);
    if (this.tail === null) this.head = l; else this.tail.next = l;
    this.tail = l;
  }
}

/** Bytes in a chain. */
export function chainSize(cl: Chain | null): number {
  let n = 0;
  for (; cl !== null; cl = cl.next) n += cl.buf.size();
  return n;
}

/** The last link of a chain. */
export function chainLast(cl: Chain): Chain {
  while (cl.next !== null) cl = cl.next;
  return cl;
}

/** Append `b` to `head` (either may be null); returns the head (ngx_chain_add_copy without copy). */
export function chainAppend(head: Chain | null, b: Chain | null): Chain | null {
  if (head === null) return b;
  if (b === null) return head;
  chainLast(head).next = b;
  return head;
}

/** True when some buf of the chain ends the response or the request's output. */
export function chainHasLast(cl: Chain | null): boolean {
  for (; cl !== null; cl = cl.next) if (cl.buf.isLast()) return true;
  return false;
}

/**
 * Split a chain at byte `offset`: returns the links after it; `cl` keeps the first `offset`
 * bytes. A buf straddling the offset is split into two windows onto the same memory or file.
 */
export function chainSplit(cl: Chain, offset: number): Chain | null {
  if (offset <= 0) throw new RangeError('chainSplit: offset must be > 0');
  let prev: Chain | null = null;
  let c: Chain | null = cl;
  while (c !== null && offset > 0) {
    const b = c.buf;
    const n = b.size();
    if (offset < n) {
      // b straddles the offset: b keeps its first `offset` bytes, a new window takes the rest
      const nb = new Buf();
      nb.mem = b.mem;
      nb.text = b.text;
      nb.file = b.file;
      nb.flags = b.flags;
      nb.tag = b.tag;
      if ((b.flags & B_MEMORY) !== 0) { nb.pos = b.pos + offset; nb.last = b.last; b.last = nb.pos; }
      if ((b.flags & B_IN_FILE) !== 0) { nb.filePos = b.filePos + offset; nb.fileLast = b.fileLast; b.fileLast = nb.filePos; }
      b.flags &= ~(B_LAST_BUF | B_LAST_IN_CHAIN | B_FLUSH);
      // two windows onto one memory: neither may hand it back for reuse
      b.tag = nb.tag = null;
      c.next = link(nb, c.next);
      offset = 0;
    } else {
      offset -= n;
    }
    prev = c;
    c = c.next;
  }
  prev!.next = null;
  return c;
}

/**
 * A body read chunk by chunk as an async iterator: `next` resolves with the next chunk, or null
 * at the end (the HTTP client's bodyReader, captureStream's body).
 */
export function chunkIterator(next: () => Promise<Buffer | null>): AsyncIterableIterator<Buffer> {
  return {
    [Symbol.asyncIterator]() { return this; },
    async next(): Promise<IteratorResult<Buffer>> {
      const c = await next();
      return c === null ? { done: true, value: undefined } : { done: false, value: c };
    },
  };
}

/** Bytes of a memory-only chain as one Buffer: the buf itself when there is one, else one copy. */
export function chainToBuffer(cl: Chain | null): Buffer {
  let n = 0;
  let only: Buf | null = null;
  let count = 0;
  for (let c = cl; c !== null; c = c.next) {
    const s = c.buf.size();
    if (s === 0) continue;
    if ((c.buf.flags & B_MEMORY) === 0) throw new Error('chainToBuffer: a buf is not in memory');
    n += s;
    only = c.buf;
    count++;
  }
  if (count === 0) return Buffer.alloc(0);
  if (count === 1) return only!.view();
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  for (let c = cl; c !== null; c = c.next) {
    const b = c.buf;
    if (b.size() === 0) continue;
    at += b.text !== null ? out.write(bufText(b), at, 'latin1') : b.mem!.copy(out, at, b.pos, b.last);
  }
  return out;
}
