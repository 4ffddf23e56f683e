// cf. ngx_http_write_filter_module.c — the last body filter: gathers the output, holds small
// pieces until a flush or the last buf (postpone_output), and hands the rest to the socket.
// File bufs are read in bounded pieces and written as they come (Node has no sendfile), so a
// file never sits whole in memory; while the socket is full nothing more is read.

import { Buf, Chain, B_FLUSH, B_LAST_BUF, B_LAST_IN_CHAIN, B_MEMORY, bufText, chainLast, freeLink } from '../core/buf.js';
import { BodyFilter, AGAIN, ERROR, OK, type FilterRequest } from './filter.js';
import { HEADER_BUF } from './header.js';
import { FILE_PIECE, FILE_READ_SIZE, readFilePiece, readFileRestSync, recyclePiece } from '../core/file-read.js';

/** nginx's postpone_output default: hold less than this unless flushed. */
const POSTPONE_OUTPUT = 1460;

const scratch: (Buffer | string)[] = [];

export class WriteFilter extends BodyFilter {
  readonly name = 'write';

  body(r: FilterRequest, cl: Chain | null): number {
    const c = r.conn;
    if (c === null || c.closed) return ERROR;
    // a header-only response (HEAD, 1xx, 204, 304): no body byte may reach the wire, whoever made it
    if (cl !== null && r.headerOnly) cl = dropBody(r, cl);
    // a response a filter replaced (412, 416, a head that could not be sent) has ended: what its
    // producer still sends (an upstream's body, say) is dropped
    else if (cl !== null && r.filterFinalized && r.outputDone) cl = dropBody(r, cl, false);
    if (cl !== null) {
      if (r.out === null) r.out = cl;
      else chainLast(r.out).next = cl;
    }
    if (r.reading) return AGAIN; // a file piece is on its way

    let size = 0;
    let flush = false;
    let last = false;
    for (let l = r.out; l !== null; l = l.next) {
      const b = l.buf;
      size += b.size();
      if ((b.flags & B_FLUSH) !== 0) flush = true;
      if ((b.flags & (B_LAST_BUF | B_LAST_IN_CHAIN)) !== 0) last = true;
    }
    if (!last && !flush && size < POSTPONE_OUTPUT) return OK;
    if (c.full) return AGAIN;

    // memory bufs up to the first file buf leave in one go
    let n = 0;
    let bytes = 0;
    let recycle: Buffer[] | null = null;
    let l = r.out;
    while (l !== null) {
      let b = l.buf;
      if ((b.flags & B_MEMORY) === 0 && b.size() > 0) {
        // a small rest of a file is read here and now; a big one piece by piece, below
        const m = readFileRestSync(b);
        if (m === null) break;
        b = l.buf = m;
      }
      if ((b.flags & B_MEMORY) !== 0 && b.last > b.pos) {
        // a text buf goes as its string: encoded once, straight into the outgoing bytes
        scratch[n++] = b.text !== null ? bufText(b) : b.view();
        bytes += b.last - b.pos;
        if (b.tag === FILE_PIECE) (recycle ??= []).push(b.mem!);
      }
      const next: Chain | null = l.next;
      freeLink(l);
      l = next;
    }
    r.out = l;
    let ok = true;
    if (n > 0) {
      ok = c.sendv(scratch, n, bytes, recycle === null ? undefined : () => { for (const m of recycle!) recyclePiece(m); });
      for (let i = 0; i < n; i++) scratch[i] = '';
    }
    if (l === null) return ok ? OK : AGAIN;
    if (!ok) return AGAIN;
    readFilePiece(r, l.buf, FILE_READ_SIZE, onPiece);
    return AGAIN;
  }
}

/** Keep the header block and the flush/last signals of `cl`; drop (and count) body bytes. */
function dropBody(r: FilterRequest, cl: Chain, count = true): Chain | null {
  let head: Chain | null = null;
  let tail: Chain | null = null;
  let dropped = 0;
  let l: Chain | null = cl;
  while (l !== null) {
    const next: Chain | null = l.next;
    const b = l.buf;
    const n = b.size();
    if (n > 0 && b.tag !== HEADER_BUF) {
      dropped += n;
      if ((b.flags & (B_FLUSH | B_LAST_BUF | B_LAST_IN_CHAIN)) !== 0) {
        l.buf = Buf.special(b.flags & (B_FLUSH | B_LAST_BUF | B_LAST_IN_CHAIN));
      } else {
        freeLink(l);
        l = next;
        continue;
      }
    }
    l.next = null;
    if (tail === null) head = l; else tail.next = l;
    tail = l;
    l = next;
  }
  if (dropped > 0 && count) r.bodyDropped(dropped);
  return head;
}

/** A piece of a file buf is in memory: it takes the file buf's place at the head of r.out. */
function onPiece(r: FilterRequest, m: Buf | null, err: Error | null): void {
  if (m === null) {
    // the file changed under us: the response cannot be completed, the connection goes
    r.conn?.destroy();
    void err;
    r.onWritable();
    return;
  }
  const f = r.out;
  if (f === null) return; // the connection went while the piece was read: nothing waits for it
  if (f.buf.size() === 0) {
    f.buf = m;
  } else {
    r.out = new Chain(m, f);
  }
  // force the piece out now, whatever its size
  m.flags |= B_FLUSH;
  r.onWritable();
}
