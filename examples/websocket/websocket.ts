// cf. lua-resty-websocket (lib/resty/websocket/server.lua, protocol.lua) — a minimal RFC 6455
// server on r.upgrade(): the handshake (Sec-WebSocket-Accept), frames read and unmasked, text,
// binary, ping/pong and close, fragmented messages put together. No extensions, no subprotocols.

import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Request } from 'sluice';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP_CONTINUATION = 0x0, OP_TEXT = 0x1, OP_BINARY = 0x2, OP_CLOSE = 0x8, OP_PING = 0x9, OP_PONG = 0xa;

/** RFC 6455 §4.2.2: the accept value for a client's Sec-WebSocket-Key. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

export interface WebSocketOptions {
  /** A message (all its fragments) larger than this closes the connection with 1009. */
  maxMessage?: number;
  /** Called for each whole message; `binary` false: `data` is UTF-8 text. */
  onMessage?: (ws: WebSocket, data: Buffer, binary: boolean) => void;
  /** Called once the connection has closed (with the peer's close code, 1006 when there was none). */
  onClose?: (ws: WebSocket, code: number) => void;
}

/**
 * The server side of the handshake over r.upgrade(). A request that is no WebSocket handshake
 * (no key) is answered 400; another version gets 426 with the version we speak, and null.
 */
export function acceptWebSocket(r: Request, o: WebSocketOptions = {}): WebSocket | null {
  const key = r.inHeader('sec-websocket-key');
  if (key === null || Buffer.from(key, 'base64').length !== 16) r.exit(400);
  if (r.inHeader('sec-websocket-version') !== '13') {
    // RFC 6455 §4.4: the versions we speak, in the answer
    r.status = 426;
    r.header['Sec-WebSocket-Version'] = '13';
    r.say('WebSocket version 13 only');
    return null;
  }
  const stream = r.upgrade({ Upgrade: 'websocket', 'Sec-WebSocket-Accept': acceptKey(key) });
  return new WebSocket(stream, o);
}

/** One server connection: reads the client's (masked) frames, writes unmasked ones. */
export class WebSocket {
  readonly stream: Duplex;
  /** Close code received, 0 while open. */
  closeCode: number;
  private readonly maxMessage: number;
  private readonly onMessage: (ws: WebSocket, data: Buffer, binary: boolean) => void;
  private readonly onClose: (ws: WebSocket, code: number) => void;
  /** Bytes received and not parsed yet: a list of chunks, `have` bytes in all. */
  private chunks: Buffer[];
  private have: number;
  /** The message being put together from fragments (opcode and pieces), or -1. */
  private fragOp: number;
  private frags: Buffer[];
  private fragSize: number;
  private closeSent: boolean;

  constructor(stream: Duplex, o: WebSocketOptions = {}) {
    this.stream = stream;
    this.closeCode = 0;
    this.maxMessage = o.maxMessage ?? 16 * 1024 * 1024;
    this.onMessage = o.onMessage ?? (() => {});
    this.onClose = o.onClose ?? (() => {});
    this.chunks = [];
    this.have = 0;
    this.fragOp = -1;
    this.frags = [];
    this.fragSize = 0;
    this.closeSent = false;
    stream.on('data', (c: Buffer) => this.received(c));
    stream.on('error', () => stream.destroy());
    stream.on('close', () => this.onClose(this, this.closeCode || 1006));
  }

  /** Send a message; false when the stream's buffer is full (wait for 'drain' on `stream`). */
  send(data: string | Buffer, binary = typeof data !== 'string'): boolean {
    return this.frame(binary ? OP_BINARY : OP_TEXT, typeof data === 'string' ? Buffer.from(data) : data);
  }

  ping(data: Buffer = Buffer.alloc(0)): boolean {
    return this.frame(OP_PING, data);
  }

  /** Start the closing handshake (the stream ends once the peer answers, or at its FIN). */
  close(code = 1000, reason = ''): void {
    if (this.closeSent) return;
    const r = Buffer.from(reason);
    const b = Buffer.allocUnsafe(2 + r.length);
    b.writeUInt16BE(code, 0);
    r.copy(b, 2);
    this.frame(OP_CLOSE, b);
    this.closeSent = true;
  }

  private frame(op: number, payload: Buffer): boolean {
    if (this.closeSent || this.stream.destroyed) return false;
    const n = payload.length;
    const head = Buffer.allocUnsafe(n < 126 ? 2 : n < 65536 ? 4 : 10);
    head[0] = 0x80 | op;
    if (n < 126) {
      head[1] = n;
    } else if (n < 65536) {
      head[1] = 126;
      head.writeUInt16BE(n, 2);
    } else {
      head[1] = 127;
      head.writeBigUInt64BE(BigInt(n), 2);
    }
    this.stream.cork();
    this.stream.write(head);
    const ok = this.stream.write(payload);
    this.stream.uncork();
    return ok;
  }

  private received(c: Buffer): void {
    this.chunks.push(c);
    this.have += c.length;
    for (;;) {
      if (this.have < 2) return;
      const h = this.peek(Math.min(this.have, 14));
      const fin = (h[0] & 0x80) !== 0;
      const op = h[0] & 0x0f;
      const masked = (h[1] & 0x80) !== 0;
      let len = h[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (h.length < 4) return;
        len = h.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (h.length < 10) return;
        const big = h.readBigUInt64BE(2);
        if (big > BigInt(this.maxMessage)) { this.fail(1009); return; }
        len = Number(big);
        at = 10;
      }
      if ((h[0] & 0x70) !== 0 || !masked) { this.fail(1002); return; } // no extensions; clients mask (§5.1)
      if (this.have < at + 4 + len) return;
      const mask = this.take(at + 4).subarray(at, at + 4);
      const payload = this.take(len);
      for (let i = 0; i < len; i++) payload[i] ^= mask[i & 3];
      if (this.stream.destroyed) return;
      if (!this.handle(fin, op, payload)) return;
    }
  }

  /** One frame; false when the connection is being closed. */
  private handle(fin: boolean, op: number, payload: Buffer): boolean {
    if (op >= 0x8) {
      // control frames: never fragmented, at most 125 bytes (§5.5)
      if (!fin || payload.length > 125) { this.fail(1002); return false; }
      if (op === OP_PING) this.frame(OP_PONG, payload);
      else if (op === OP_CLOSE) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        if (!this.closeSent) this.close(payload.length >= 2 ? this.closeCode : 1000);
        this.stream.end();
        return false;
      } else if (op !== OP_PONG) { this.fail(1002); return false; }
      return true;
    }
    if (op === OP_CONTINUATION) {
      if (this.fragOp < 0) { this.fail(1002); return false; }
    } else if (op === OP_TEXT || op === OP_BINARY) {
      if (this.fragOp >= 0) { this.fail(1002); return false; }
      if (fin) { this.onMessage(this, payload, op === OP_BINARY); return true; }
      this.fragOp = op;
    } else {
      this.fail(1002);
      return false;
    }
    this.fragSize += payload.length;
    if (this.fragSize > this.maxMessage) { this.fail(1009); return false; }
    this.frags.push(payload);
    if (fin) {
      const data = Buffer.concat(this.frags, this.fragSize);
      const binary = this.fragOp === OP_BINARY;
      this.frags = [];
      this.fragSize = 0;
      this.fragOp = -1;
      this.onMessage(this, data, binary);
    }
    return true;
  }

  private fail(code: number): void {
    this.close(code);
    this.stream.end();
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

  /** Remove and return the first n bytes (a view when they lie in one chunk). */
  private take(n: number): Buffer {
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
