// cf. ngx_http_copy_filter_module.c + ngx_output_chain (src/core/ngx_output_chain.c) — when a
// filter below needs bytes (r.filterNeedInMemory), file bufs become memory bufs here, one bounded
// piece at a time; otherwise everything passes straight through, file bufs included.

import { Buf, Chain, B_IN_FILE, B_MEMORY, chainLast, freeLink, link } from '../core/buf.js';
import { AGAIN, BodyFilter, BUFFERED_COPY, ERROR, OK, allocCtxSlot, type FilterRequest } from './filter.js';
import { FILE_READ_SIZE, readFilePiece, readFileRestSync } from '../core/file-read.js';

const SLOT = allocCtxSlot();

/** Bufs held back while a file piece is read. */
class CopyCtx {
  pending: Chain | null = null;
  error: Error | null = null;
}

export class CopyFilter extends BodyFilter {
  readonly name = 'copy';

  body(r: FilterRequest, cl: Chain | null): number {
    let ctx = r.filterCtx[SLOT] as CopyCtx | undefined;
    if (ctx === undefined) {
      if (!needInMemory(r) || !hasFileData(cl)) return this.next!.body(r, cl);
      ctx = r.filterCtx[SLOT] = new CopyCtx();
    }
    if (ctx.error !== null) return ERROR;
    if (cl !== null) {
      if (ctx.pending === null) ctx.pending = cl;
      else chainLast(ctx.pending).next = cl;
    }
    if (r.reading) return AGAIN;

    // memory bufs before the first file buf go down as they are
    let head: Chain | null = null;
    let tail: Chain | null = null;
    let l = ctx.pending;
    while (l !== null && !isFileData(l.buf)) {
      const next: Chain | null = l.next;
      l.next = null;
      if (tail === null) head = l; else tail.next = l;
      tail = l;
      l = next;
    }
    ctx.pending = l;
    // nginx's r->buffered: the request is not done while we hold file data
    if (l === null) r.buffered &= ~BUFFERED_COPY; else r.buffered |= BUFFERED_COPY;
    let rc = OK;
    if (head !== null) rc = this.next!.body(r, head);
    if (rc === ERROR) return ERROR;
    if (l === null) return rc;
    if (rc === AGAIN || (r.conn !== null && r.conn.full)) return AGAIN; // resumed by onWritable

    const small = readFileRestSync(l.buf, false);
    if (small !== null) {
      // read at once: it takes the file buf's place and goes down with what follows
      const f = l;
      ctx.pending = link(small, f.next);
      freeLink(f);
      return this.body(r, null);
    }
    readFilePiece(r, l.buf, FILE_READ_SIZE, onPiece);
    return AGAIN;
  }
}

/** A piece of file arrived: it goes down in place of the bytes it came from; then go on. */
function onPiece(r: FilterRequest, m: Buf | null, err: Error | null): void {
  const ctx = r.filterCtx[SLOT] as CopyCtx;
  if (m === null) {
    ctx.error = err;
    r.onWritable();
    return;
  }
  const f = ctx.pending!;
  if (f.buf.size() === 0) {
    ctx.pending = link(m, f.next);
    freeLink(f);
  } else {
    ctx.pending = link(m, f);
  }
  r.onWritable();
}

/** This request's filters need bytes, or the main request's do (its output goes through them). */
function needInMemory(r: FilterRequest): boolean {
  return r.filterNeedInMemory || r.main.mainFilterNeedInMemory;
}

function isFileData(b: Buf): boolean {
  return (b.flags & B_MEMORY) === 0 && (b.flags & B_IN_FILE) !== 0 && b.fileLast > b.filePos;
}

function hasFileData(cl: Chain | null): boolean {
  for (; cl !== null; cl = cl.next) if (isFileData(cl.buf)) return true;
  return false;
}
