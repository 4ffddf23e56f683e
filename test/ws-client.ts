// A minimal RFC 6455 client for the tests (no npm dependency): the opening handshake over a raw
// socket, masked frames out, the server's frames in (fragments put together), ping answered,
// close. Messages wait in a queue for next(); every wait ends on a message or the close. The
// frames are the example server's (examples/websocket/frame.ts), so the two are framed by one code.

import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { acceptKey, FrameReader, maskedFrame } from '../examples/websocket/frame.js';
import { DEADLINE_MS } from './helpers.js';

export interface WsMessage {
  /** 1 text, 2 binary, 8 close, 10 pong. */
  op: number;
  data: Buffer;
}

export class WsClient {
  readonly socket: Socket;
  /** The 101's head as text (status line and headers). */
  head: string;
  status: number;
  closed: boolean;
  /** Bytes of payload received, all messages. */
  received: number;
  private readonly reader: FrameReader;
  private readonly queue: WsMessage[];
  private wake: (() => void) | null;
  private frags: Buffer[];
  private fragOp: number;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.head = '';
    this.status = 0;
    this.closed = false;
    this.received = 0;
    this.reader = new FrameReader();
    this.queue = [];
    this.wake = null;
    this.frags = [];
    this.fragOp = 0;
  }

  /**
   * Connect and handshake on `path`; resolves once the response head is in (any status: see
   * `status`). `extra` header lines go after ours.
   */
  static async open(port: number, path = '/', extra = '', early?: Buffer): Promise<WsClient> {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    const c = new WsClient(s);
    const key = randomBytes(16).toString('base64');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`ws client: no handshake answer within ${DEADLINE_MS} ms`)), DEADLINE_MS);
      let buf = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const e = buf.indexOf('\r\n\r\n');
        if (e < 0) return;
        clearTimeout(t);
        s.off('data', onData);
        c.head = buf.toString('latin1', 0, e);
        c.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(c.head)?.[1] ?? 0);
        s.on('data', (x: Buffer) => c.data(x));
        if (buf.length > e + 4) c.data(buf.subarray(e + 4));
        resolve();
      };
      s.on('data', onData);
      s.once('error', (err) => { clearTimeout(t); reject(err); });
      s.on('close', () => { c.closed = true; c.poke(); });
      s.once('connect', () => {
        s.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
          + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
        if (early !== undefined) s.write(early);
      });
    });
    if (c.status === 101) {
      const accept = /\r\nsec-websocket-accept: *([^\r]*)/i.exec(c.head)?.[1];
      const want = acceptKey(key);
      if (accept !== want) throw new Error(`ws client: Sec-WebSocket-Accept ${accept} is not ${want}`);
    }
    return c;
  }

  /** Send a message (text when a string); returns socket.write's answer. */
  send(data: string | Buffer, op = typeof data === 'string' ? 1 : 2, fin = true): boolean {
    return this.socket.write(maskedFrame(op, typeof data === 'string' ? Buffer.from(data) : data, fin));
  }

  /** A close frame (code), then wait for nothing: see next() / waitClosed(). */
  close(code = 1000): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    this.socket.write(maskedFrame(8, b));
  }

  /** The next message (or close frame); rejects at the close or past the deadline. */
  async next(ms = DEADLINE_MS): Promise<WsMessage> {
    const end = Date.now() + ms;
    while (this.queue.length === 0) {
      if (this.closed) throw new Error('ws client: closed while waiting for a message');
      const left = end - Date.now();
      if (left <= 0) throw new Error(`ws client: no message within ${ms} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => { clearTimeout(t); r(); };
      });
    }
    return this.queue.shift()!;
  }

  /** Wait until the server closes the connection; true when it did within `ms`. */
  async waitClosed(ms = DEADLINE_MS): Promise<boolean> {
    const end = Date.now() + ms;
    while (!this.closed) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => { clearTimeout(t); r(); };
      });
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    if (w !== null) w();
  }

  private data(d: Buffer): void {
    const rd = this.reader;
    rd.push(d);
    while (rd.head()) {
      if (rd.masked) throw new Error('ws client: the server masked a frame');
      const payload = rd.payload();
      if (payload === null) break;
      const fin = rd.fin, op = rd.op;
      this.received += payload.length;
      if (op === 9) { this.socket.write(maskedFrame(10, payload)); continue; }
      if (op === 0 || !fin) {
        if (op !== 0) this.fragOp = op;
        this.frags.push(payload);
        if (!fin) continue;
        this.queue.push({ op: this.fragOp, data: Buffer.concat(this.frags) });
        this.frags = [];
        continue;
      }
      this.queue.push({ op, data: payload });
    }
    this.poke();
  }
}
