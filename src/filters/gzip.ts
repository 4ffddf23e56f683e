// cf. ngx_http_gzip_filter_module.c (and ngx_http_gzip_ok in ngx_http_core_module.c) —
// streaming gzip of responses the client accepts it for.
//
// Compression is synchronous, in this thread, chunk by chunk (as nginx does in its worker):
// each buf goes through one zlib stream; a flush buf becomes Z_SYNC_FLUSH, the last Z_FINISH.

import { createGzip, constants, type Gzip } from 'node:zlib';
import { Buf, Chain, ChainOut, B_FLUSH, B_LAST_BUF, B_LAST_IN_CHAIN, B_MEMORY, B_TEMPORARY } from '../core/buf.js';
import { BodyFilter, HeaderFilter, allocCtxSlot, type FilterRequest } from './filter.js';
import { weakEtag } from './headers-out.js';

const SLOT = allocCtxSlot();

/**
 * A zlib stream driven synchronously, chunk by chunk. Node has no public API for that (its
 * *Sync functions close the stream after one call), so this drives the stream's handle the
 * way those functions do inside: writeSync, then read the avail-out/avail-in pair.
 */
type ZlibHandle = { writeSync(flush: number, inp: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void };
type SyncZlib = Gzip & { _handle: ZlibHandle | null; _writeState: Uint32Array };

const OUT_CHUNK = 16 * 1024;
const EMPTY = Buffer.alloc(0);

function deflateSync(z: SyncZlib, input: Buffer, flush: number, out: ChainOut): void {
  const handle = z._handle;
  if (handle === null) throw new Error('gzip filter: zlib stream already closed');
  const state = z._writeState;
  let inOff = 0;
  let inLen = input.length;
  for (;;) {
    const buf = Buffer.allocUnsafe(OUT_CHUNK);
    handle.writeSync(flush, input, inOff, inLen, buf, 0, OUT_CHUNK);
    const availOut = state[0];
    const availIn = state[1];
    const have = OUT_CHUNK - availOut;
    if (have > 0) out.push(Buf.memory(buf, 0, have, B_TEMPORARY));
    inOff += inLen - availIn;
    inLen = availIn;
    if (availOut !== 0) break; // zlib had room to spare: everything asked for is out
  }
}

export class GzipHeaderFilter extends HeaderFilter {
  readonly name = 'gzip';

  header(r: FilterRequest): number {
    const conf = r.conf;
    const h = r.headersOut;
    const s = h.status;
    if (!conf.gzip || (s !== 200 && s !== 403 && s !== 404) || h.contentEncoding !== null
      || (h.contentLength >= 0 && h.contentLength < conf.gzipMinLength)
      // a HEAD is header-only here from the start; in nginx only below gzip, so it is encoded too
      || (r.headerOnly && r.method !== 'HEAD')
      || !typeMatches(conf.gzipTypes, h.contentType)) {
      return this.next!.header(r);
    }
    // nginx: Vary for a response gzip could encode, whether or not this client takes gzip
    if (conf.gzipVary && r === r.main) h.add('Vary', 'Accept-Encoding');
    if (!gzipOk(r)) return this.next!.header(r);
    // no stream for a head alone (nginx's body filter passes header-only responses by)
    if (!r.headerOnly) r.filterCtx[SLOT] = createGzip({ level: conf.gzipCompLevel }) as SyncZlib;
    h.contentEncoding = 'gzip';
    h.contentLength = -1;
    h.remove('accept-ranges');
    weakEtag(h);
    r.mainFilterNeedInMemory = true;
    r.filterNeedInMemory = true;
    return this.next!.header(r);
  }
}

export class GzipBodyFilter extends BodyFilter {
  readonly name = 'gzip';

  body(r: FilterRequest, cl: Chain | null): number {
    const z = r.filterCtx[SLOT] as SyncZlib | undefined;
    if (z === undefined || cl === null) return this.next!.body(r, cl);

    const out = new ChainOut();
    let end = 0;
    for (let c: Chain | null = cl; c !== null; c = c.next) {
      const b = c.buf;
      const flags = b.flags;
      const size = b.size();
      if ((flags & B_MEMORY) === 0 && size > 0) throw new Error('gzip filter: a file buf reached it (copy filter missing?)');
      const last = (flags & (B_LAST_BUF | B_LAST_IN_CHAIN)) !== 0;
      const mode = last ? constants.Z_FINISH : (flags & B_FLUSH) !== 0 ? constants.Z_SYNC_FLUSH : constants.Z_NO_FLUSH;
      if (size === 0 && mode === constants.Z_NO_FLUSH) continue;
      deflateSync(z, size > 0 ? b.view() : EMPTY, mode, out);
      end |= flags & (B_LAST_BUF | B_LAST_IN_CHAIN | B_FLUSH);
      if (last) {
        z.close();
        r.filterCtx[SLOT] = undefined;
        break;
      }
    }
    if (end !== 0) out.push(Buf.special(end));
    if (out.head === null) return 0;
    return this.next!.body(r, out.head);
  }
}

function typeMatches(types: ReadonlySet<string>, ct: string | null): boolean {
  if (types.has('*')) return true;
  if (ct === null) return false;
  const semi = ct.indexOf(';');
  const mime = (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  return mime === 'text/html' || types.has(mime);
}

/** ngx_http_gzip_ok: main request, HTTP/1.1, not proxied (gzip_proxied off), Accept-Encoding. */
function gzipOk(r: FilterRequest): boolean {
  if (r !== r.main || r.httpVersion < 1001) return false;
  if (r.inHeader('via') !== null) return false;
  const ae = r.inHeader('accept-encoding');
  if (ae === null) return false;
  for (const part of ae.split(',')) {
    const semi = part.indexOf(';');
    const t = (semi < 0 ? part : part.slice(0, semi)).trim().toLowerCase();
    if (t !== 'gzip' && t !== '*' && t !== 'x-gzip') continue;
    const q = /;\s*q=([0-9.]+)/.exec(part);
    return q === null || Number(q[1]) > 0;
  }
  return false;
}
