// cf. ngx_http_write_filter_module.c — the last body filter: gathers the output, holds small
// pieces until a flush or the last buf (postpone_output), and hands the rest to the socket.

import { Chain, B_FLUSH, B_LAST_BUF, B_LAST_IN_CHAIN, B_MEMORY, chainLast, freeLink } from './buf.js';
import { BodyFilter, AGAIN, ERROR, OK, type FilterRequest } from './filter.js';

/** nginx's postpone_output default: hold less than this unless flushed. */
const POSTPONE_OUTPUT = 1460;

const scratch: Buffer[] = [];

export class WriteFilter extends BodyFilter {
  readonly name = 'write';

  body(r: FilterRequest, cl: Chain | null): number {
    const c = r.conn;
    if (c === null || c.closed) return ERROR;
    if (cl !== null) {
      if (r.out === null) r.out = cl;
      else chainLast(r.out).next = cl;
    }

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
    if (size === 0) {
      this.free(r);
      return OK;
    }

    let n = 0;
    for (let l = r.out; l !== null; l = l.next) {
      const b = l.buf;
      if ((b.flags & B_MEMORY) !== 0) {
        if (b.last > b.pos) scratch[n++] = b.view();
      } else if (b.size() > 0) {
        throw new Error('write filter: file bufs need the copy filter (not installed yet)');
      }
    }
    this.free(r);
    const ok = c.sendv(scratch, n, size);
    for (let i = 0; i < n; i++) scratch[i] = EMPTY;
    return ok ? OK : AGAIN;
  }

  private free(r: FilterRequest): void {
    let l = r.out;
    r.out = null;
    while (l !== null) {
      const next: Chain | null = l.next;
      freeLink(l);
      l = next;
    }
  }
}

const EMPTY = Buffer.alloc(0);
