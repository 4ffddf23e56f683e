// cf. lua-resty-websocket (lib/resty/websocket/server.lua) — a minimal RFC 6455 server on
// r.upgrade(): the handshake (Sec-WebSocket-Accept), text, binary, ping/pong and close, fragmented
// messages put together. No extensions, no subprotocols. The framing itself is in frame.ts.

import type { Duplex } from 'node:stream';
import type { Request } from 'sluice';
import { acceptKey, frameHead, FrameReader, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT } from './frame.js';

export { acceptKey, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT } from './frame.js';

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
  /** The client's frames, read from the bytes as they come. */
  private readonly reader: FrameReader;
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
    this.reader = new FrameReader();
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
    this.stream.cork();
    this.stream.write(frameHead(op, payload.length));
    const ok = this.stream.write(payload);
    this.stream.uncork();
    return ok;
  }

  private received(c: Buffer): void {
    const rd = this.reader;
    rd.push(c);
    while (rd.head()) {
      if (rd.rsv !== 0 || !rd.masked) { this.fail(1002); return; } // no extensions; clients mask (§5.1)
      if (rd.length > this.maxMessage) { this.fail(1009); return; }
      const payload = rd.payload();
      if (payload === null) return;
      if (this.stream.destroyed) return;
      if (!this.handle(rd.fin, rd.op, payload)) return;
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
}
