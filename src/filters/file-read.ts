// Reading file bufs in bounded pieces (the part of ngx_output_chain / sendfile that Node has to do
// in user space): one piece in flight per request, so memory stays bounded whatever the file size.

import { read } from 'node:fs';
import { Buf, B_FLUSH, B_LAST_BUF, B_LAST_IN_CHAIN, B_TEMPORARY } from './buf.js';
import type { FilterRequest } from './filter.js';

/** Bytes read from a file per step. */
export const FILE_READ_SIZE = 128 * 1024;

export type FileReadDone = (r: FilterRequest, data: Buf | null, err: Error | null) => void;

/**
 * Read the next piece of file buf `b` (at most `max` bytes). Sets r.buffered until the read is
 * done; then `b` has moved past the bytes read and `done` gets them as a memory buf, which
 * carries b's last/flush flags when it was the final piece.
 */
export function readFilePiece(r: FilterRequest, b: Buf, max: number, done: FileReadDone): void {
  const want = Math.min(b.fileLast - b.filePos, max);
  const mem = Buffer.allocUnsafe(want);
  r.buffered = true;
  read(b.file!.fd, mem, 0, want, b.filePos, (err, n) => {
    r.buffered = false;
    if (err !== null || n === 0) {
      done(r, null, err ?? new Error(`file "${b.file!.path}" was truncated while being sent`));
      return;
    }
    b.filePos += n;
    const m = Buf.memory(mem, 0, n, B_TEMPORARY);
    if (b.filePos >= b.fileLast) {
      m.flags |= b.flags & (B_LAST_BUF | B_LAST_IN_CHAIN | B_FLUSH);
      b.flags &= ~(B_LAST_BUF | B_LAST_IN_CHAIN | B_FLUSH); // spent: its size() is now 0
    }
    done(r, m, null);
  });
}
