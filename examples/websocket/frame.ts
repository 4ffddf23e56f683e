// cf. lua-resty-websocket (lib/resty/websocket/protocol.lua) — RFC 6455 frames for either end:
// heads written (a server's unmasked, a client's masked), frames read from the bytes as they come
// and unmasked. The example server (websocket.ts) and the tests' client (test/ws-client.ts) both
// frame through this file.

import { createHash, randomBytes } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const EMPTY = Buffer.alloc(0);

export const OP_CONTINUATION = 0x0, OP_TEXT = 0x1, OP_BINARY = 0x2, OP_CLOSE = 0x8, OP_PING = 0x9, OP_PONG = 0xa;

/** RFC 6455 §4.2.2: the accept value for a client's Sec-WebSocket-Key. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** The head of an unmasked frame (a server's, §5.1) of n payload bytes; the payload goes after it. */
export function frameHead(op: number, n: number, fin = true): Buffer {
  const head = Buffer.allocUnsafe(headLength(n));
  writeHead(head, op, n, fin, false);
  return head;
}

/** A whole masked frame (a client's, §5.3), with a fresh masking key. */
export function maskedFrame(op: number, payload: Buffer, fin = true): Buffer {
  const n = payload.length;
  const hl = headLength(n);
  const out = Buffer.allocUnsafe(hl + 4 + n);
  writeHead(out, op, n, fin, true);
  randomBytes(4).copy(out, hl);
  for (let i = 0; i < n; i++) out[hl + 4 + i] = payload[i] ^ out[hl + (i & 3)];
  return out;
}

function headLength(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

/** §5.2: FIN and opcode, then the mask bit and a 7-bit, 16-bit or 64-bit payload length. */
function writeHead(out: Buffer, op: number, n: number, fin: boolean, masked: boolean): void {
  const m = masked ? 0x80 : 0;
  out[0] = (fin ? 0x80 : 0) | op;
  if (n < 126) {
    out[1] = m | n;
  } else if (n < 65536) {
    out[1] = m | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = m | 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
}

/**
 * Frames read from a byte stream: push() each chunk, then call head() and, when it says the head
 * is in (and the caller accepts it), payload(), until one of them says more bytes are needed.
 */
export class FrameReader {
  /** The head read by the last head() that returned true. */
  fin: boolean;
  op: number;
  /** The RSV1-3 bits (0x70): not 0 only with an extension, and we speak none. */
  rsv: number;
  masked: boolean;
  /** Payload bytes (over 2^53 only approximately: compare it with a limit). */
  length: number;
  /** Bytes of head, masking key included. */
  private at: number;
  /** Bytes received and not taken yet: a list of chunks, `have` bytes in all. */
  private chunks: Buffer[];
  private have: number;

  constructor() {
    this.fin = false;
    this.op = 0;
    this.rsv = 0;
    this.masked = false;
    this.length = 0;
    this.at = 0;
    this.chunks = [];
    this.have = 0;
  }

  push(c: Buffer): void {
    this.chunks.push(c);
    this.have += c.length;
  }

  /** Read the next frame's head into fin, op, rsv, masked and length; false until all of it is in. */
  head(): boolean {
    if (this.have < 2) return false;
    const h = this.peek(Math.min(this.have, 14));
    let len = h[1] & 0x7f;
    let at = 2;
    if (len === 126) {
      if (h.length < 4) return false;
      len = h.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      if (h.length < 10) return false;
      len = Number(h.readBigUInt64BE(2));
      at = 10;
    }
    this.fin = (h[0] & 0x80) !== 0;
    this.op = h[0] & 0x0f;
    this.rsv = h[0] & 0x70;
    this.masked = (h[1] & 0x80) !== 0;
    this.length = len;
    this.at = this.masked ? at + 4 : at;
    return true;
  }

  /** The payload of the frame head() read, unmasked and taken off the input; null until it is all in. */
  payload(): Buffer | null {
    const at = this.at, n = this.length;
    if (this.have < at + n) return null;
    const h = this.take(at);
    const p = this.take(n);
    if (this.masked) for (let i = 0; i < n; i++) p[i] ^= h[at - 4 + (i & 3)];
    return p;
  }

  /** The first n bytes (n <= have), copied only when they span chunks (and then only those). */
  private peek(n: number): Buffer {
    const c0 = this.chunks[0];
    if (c0.length >= n) return c0.subarray(0, n);
    const parts: Buffer[] = [];
    let got = 0;
    for (let i = 0; got < n; i++) { parts.push(this.chunks[i]); got += this.chunks[i].length; }
    return Buffer.concat(parts, got).subarray(0, n);
  }

  /** Remove and return the first n bytes (n <= have; a view when they lie in one chunk). */
  private take(n: number): Buffer {
    if (n === 0) return EMPTY; // the head may have emptied the list
    this.have -= n;
    const c0 = this.chunks[0];
    if (c0.length >= n) {
      if (c0.length === n) this.chunks.shift();
      else this.chunks[0] = c0.subarray(n);
      return c0.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
