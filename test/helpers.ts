// Test helpers: a server on port 0, raw bytes over a real socket, a timeout wrapper (uvu has none),
// and a small response reader for the bytes that come back.

import { connect, type Socket } from 'node:net';
import { startServer, type SluiceServer } from '../src/index.js';
import type { SluiceConfig } from '../src/http/conf/config.js';

/**
 * The error log of every server listen() starts: dropped, unless a test captures it (the lines
 * then collect in `lines`, and go on to stderr too when asked).
 */
export const errorLines = {
  capturing: false,
  toStderr: false,
  lines: [] as string[],
  write(line: string): void {
    if (!this.capturing) return;
    this.lines.push(line);
    if (this.toStderr) process.stderr.write(line);
  },
};

/** Start collecting error log lines (from level `error` up). */
export function captureLog(toStderr = false): void {
  errorLines.lines.length = 0;
  errorLines.capturing = true;
  errorLines.toStderr = toStderr;
}

/** Stop collecting; returns what was logged. */
export function stopCapture(): string[] {
  errorLines.capturing = false;
  return errorLines.lines.slice();
}

type Locations = SluiceConfig['servers'][number]['locations'];
type ServerExtra = Omit<SluiceConfig['servers'][number], 'locations' | 'listen'>;

/** Start sluice on 127.0.0.1:0 with these locations (and server-level directives). */
export async function listen(locations: Locations, server: Partial<ServerExtra> = {}, http: Partial<SluiceConfig> = {}): Promise<SluiceServer> {
  return startServer({ errorLog: errorLines, ...http, servers: [{ listen: '127.0.0.1:0', ...server, locations }] } as SluiceConfig);
}

/**
 * How long raw(), RawClient.exchange() and until() wait for what a test expects before they
 * fail it: far above any wait a test means (a safety net for a loaded machine, not a measure).
 */
export const DEADLINE_MS = 10000;

export interface RawResult {
  data: Buffer;
  text: string;
  /** The server closed the connection (FIN or reset). */
  closed: boolean;
  /** The close was a reset (ECONNRESET), not a FIN. */
  reset: boolean;
  responses: ParsedResponse[];
}

export interface RawOptions {
  /**
   * Resolve once this many complete final responses are in (or at the close, if it comes
   * first). Without it, raw() waits for the server to close the connection.
   */
  responses?: number;
  /** Send FIN after the bytes. */
  halfClose?: boolean;
  /** Pieces sent one after another with delays. */
  segments?: { delayMs: number; data: string | Buffer }[];
  /** A HEAD request somewhere: tell the response reader which responses have no body. */
  headAt?: number[];
  /** Reject when neither the responses nor the close came by then (ms; DEADLINE_MS by default). */
  deadlineMs?: number;
}

/**
 * Send raw bytes on a fresh connection and collect what comes back: until `responses` complete
 * final responses are in, or until the server closes. Never decides on silence: past the
 * deadline it rejects, with what did arrive in the message.
 */
export async function raw(port: number, bytes: string | Buffer, o: RawOptions = {}): Promise<RawResult> {
  const deadline = Date.now() + (o.deadlineMs ?? DEADLINE_MS);
  const headAt = o.headAt ?? [];
  const c = await RawClient.open(port);
  try {
    if (bytes.length > 0) c.write(bytes);
    for (const seg of o.segments ?? []) {
      await sleep(seg.delayMs);
      if (c.closed) break;
      c.write(seg.data);
    }
    if (o.halfClose && !c.closed) c.socket.end();
    await c.wait(o.responses ?? Infinity, headAt, deadline - Date.now());
    const data = Buffer.from(c.pending());
    return { data, text: data.toString('latin1'), closed: c.closed, reset: c.reset, responses: parseResponses(data, headAt) };
  } finally {
    c.close();
  }
}

/**
 * A client connection speaking raw bytes, for tests that go on after a response: send, wait for
 * a number of complete final responses (or the close), take them, send again. Every wait ends
 * on a count or a close, and rejects past its deadline.
 */
export class RawClient {
  readonly socket: Socket;
  /** The server closed the connection (FIN or reset). */
  closed: boolean;
  /** The close was a reset. */
  reset: boolean;
  /** Bytes received and not yet taken, in buf[0, len). */
  private buf: Buffer;
  private len: number;
  private readonly scan: ResponseScanner;
  private wake: (() => void) | null;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = false;
    this.reset = false;
    this.buf = Buffer.alloc(0);
    this.len = 0;
    this.scan = new ResponseScanner();
    this.wake = null;
    socket.on('data', (c: Buffer) => { this.append(c); this.poke(); });
    socket.on('end', () => { this.closed = true; this.poke(); });
    socket.on('close', () => { this.closed = true; this.poke(); });
    socket.on('error', () => { this.closed = true; this.reset = true; this.poke(); });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host);
      s.once('connect', () => { s.off('error', reject); resolve(new RawClient(s)); });
      s.once('error', reject);
    });
  }

  write(bytes: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Complete final responses received and not yet taken. */
  finals(headAt: number[] = []): number {
    this.scan.setHeadAt(headAt);
    this.scan.run(this.buf, this.len);
    return this.scan.finals;
  }

  /**
   * Wait until `n` complete final responses are in (Infinity: until the close), or the close.
   * Rejects after `ms` with what arrived.
   */
  async wait(n: number, headAt: number[] = [], ms = DEADLINE_MS): Promise<void> {
    const end = Date.now() + ms;
    while (!this.closed && this.finals(headAt) < n) {
      const left = end - Date.now();
      if (left <= 0) {
        const what = n === Infinity ? 'the server to close the connection' : `${n} complete response(s) or the close`;
        throw new Error(`raw client: no ${what} within ${ms} ms; got ${this.finals(headAt)} complete, ${this.len} bytes: ${JSON.stringify(this.pending().toString('latin1').slice(0, 400))}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => { clearTimeout(t); r(); };
      });
    }
  }

  /** Send `bytes`, wait for `n` complete final responses (or the close), and take them. */
  async exchange(bytes: string | Buffer, n = 1, headAt: number[] = [], ms = DEADLINE_MS): Promise<ParsedResponse[]> {
    this.write(bytes);
    await this.wait(n, headAt, ms);
    return this.take(headAt);
  }

  /** Every response received and not yet taken (complete or not); the bytes are dropped. */
  take(headAt: number[] = []): ParsedResponse[] {
    const rs = parseResponses(Buffer.from(this.pending()), headAt);
    this.buf = Buffer.alloc(0);
    this.len = 0;
    this.scan.reset();
    return rs;
  }

  /** Bytes received and not yet taken (a view). */
  pending(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** Wait until `cond` holds (checked as bytes arrive) or the close; rejects after `ms`. */
  async until(cond: () => boolean, ms = DEADLINE_MS): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (this.closed) throw new Error(`raw client: closed before the condition held; got ${this.len} bytes: ${JSON.stringify(this.pending().toString('latin1').slice(0, 400))}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`raw client: the condition did not hold within ${ms} ms; got ${this.len} bytes`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => { clearTimeout(t); r(); };
      });
    }
  }

  /** Wait until the server closes the connection; true when it did within `ms`. */
  async waitClosed(ms = DEADLINE_MS): Promise<boolean> {
    try {
      await this.wait(Infinity, [], ms);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private append(c: Buffer): void {
    const need = this.len + c.length;
    if (need > this.buf.length) {
      // grow by doubling: big bodies cost a copy per doubling, not per chunk
      const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2, 16 * 1024));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    c.copy(this.buf, this.len);
    this.len = need;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    if (w !== null) w();
  }
}

const K_NONE = 0, K_LENGTH = 1, K_CHUNKED = 2, K_UNTIL_CLOSE = 3, K_GARBAGE = 4;

/**
 * Counts complete final responses as bytes arrive, resuming where it stopped (a body is walked
 * once, not again per chunk). The same framing rules as parseResponses.
 */
class ResponseScanner {
  /** Complete final responses before `pos`. */
  finals = 0;
  /** Where the response being read starts (or its body, once the head is in). */
  private pos = 0;
  private kind = K_NONE;
  private interim = false;
  /** K_LENGTH: where the body ends; K_CHUNKED: where the next chunk-size line starts. */
  private at = 0;
  private headAt: number[] = [];

  reset(): void {
    this.finals = 0;
    this.pos = 0;
    this.kind = K_NONE;
    this.interim = false;
    this.at = 0;
  }

  setHeadAt(headAt: number[]): void {
    if (headAt.join() === this.headAt.join()) return;
    this.headAt = headAt;
    this.reset();
  }

  run(buf: Buffer, len: number): void {
    const d = buf.subarray(0, len);
    for (;;) {
      if (this.kind === K_NONE) {
        const e = d.indexOf('\r\n\r\n', this.pos, 'latin1');
        if (e < 0) return;
        const head = d.toString('latin1', this.pos, e).split('\r\n');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
        if (m === null) { this.kind = K_GARBAGE; return; }
        const status = Number(m[1]);
        let te = '';
        let cl = -1;
        for (let i = 1; i < head.length; i++) {
          const line = head[i];
          const c = line.indexOf(':');
          const k = line.slice(0, c).toLowerCase();
          if (k === 'transfer-encoding') te += line.slice(c + 1).toLowerCase();
          else if (k === 'content-length') cl = Number(line.slice(c + 1).trim());
        }
        this.interim = status < 200;
        this.pos = e + 4;
        if (this.interim || status === 204 || status === 304 || this.headAt.includes(this.finals)) {
          this.done(this.pos);
          continue;
        }
        if (te.includes('chunked')) { this.kind = K_CHUNKED; this.at = this.pos; }
        else if (cl >= 0) { this.kind = K_LENGTH; this.at = this.pos + cl; }
        else { this.kind = K_UNTIL_CLOSE; return; }
      }
      if (this.kind === K_LENGTH) {
        if (len < this.at) return;
        this.done(this.at);
        continue;
      }
      if (this.kind !== K_CHUNKED) return;
      for (;;) {
        const le = d.indexOf('\r\n', this.at, 'latin1');
        if (le < 0) return;
        const size = parseInt(d.toString('latin1', this.at, le), 16);
        if (Number.isNaN(size)) { this.kind = K_GARBAGE; return; }
        if (size === 0) {
          const te = d.indexOf('\r\n\r\n', le, 'latin1');
          if (te < 0) return;
          this.done(te + 4);
          break;
        }
        if (le + 2 + size + 2 > len) return;
        this.at = le + 2 + size + 2;
      }
    }
  }

  private done(end: number): void {
    if (!this.interim) this.finals++;
    this.pos = end;
    this.kind = K_NONE;
    this.interim = false;
  }
}

export interface ParsedResponse {
  status: number;
  reason: string;
  headers: Record<string, string>;
  /** Repeated headers joined with ", " in `headers`; every line here. */
  headerLines: [string, string][];
  body: Buffer;
  complete: boolean;
}

/** Read HTTP/1.1 responses out of raw bytes (Content-Length, chunked, or until the end). */
export function parseResponses(data: Buffer, headAt: number[] = []): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let p = 0;
  let finals = 0;
  while (p < data.length) {
    const end = data.indexOf('\r\n\r\n', p, 'latin1');
    if (end < 0) break;
    const head = data.toString('latin1', p, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(head[0]);
    if (!m) break;
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    const headerLines: [string, string][] = [];
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      const k = line.slice(0, i).toLowerCase();
      const v = line.slice(i + 1).trim();
      headerLines.push([line.slice(0, i), v]);
      headers[k] = headers[k] === undefined ? v : headers[k] + ', ' + v;
    }
    p = end + 4;
    let body: Buffer = Buffer.alloc(0);
    let complete = true;
    const noBody = status < 200 || status === 204 || status === 304 || headAt.includes(finals);
    if (status >= 200) finals++;
    if (noBody) {
      // nothing
    } else if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const parts: Buffer[] = [];
      complete = false;
      for (;;) {
        const le = data.indexOf('\r\n', p, 'latin1');
        if (le < 0) break;
        const size = parseInt(data.toString('latin1', p, le), 16);
        if (Number.isNaN(size)) break;
        if (size === 0) {
          const te = data.indexOf('\r\n\r\n', le, 'latin1');
          if (te < 0) break;
          p = te + 4;
          complete = true;
          break;
        }
        if (le + 2 + size + 2 > data.length) { p = data.length; break; }
        parts.push(data.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      body = data.subarray(p, Math.min(p + n, data.length));
      complete = p + n <= data.length;
      p = Math.min(p + n, data.length);
    } else {
      body = data.subarray(p);
      p = data.length;
    }
    out.push({ status, reason: m[2], headers, headerLines, body, complete });
  }
  return out;
}

/**
 * Run an async test body with a time limit (uvu has none): a safety net against a hang, so make
 * it generous (a loaded 2-core machine must never trip it); the waits inside end on events.
 */
export function timed<T>(ms: number, fn: () => Promise<T>): () => Promise<T> {
  return () => new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`test timed out after ${ms} ms`)), ms);
    fn().then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Wait for `cond` (polling every few ms), up to `ms`; true once it holds, false at the deadline. */
export async function until(cond: () => boolean, ms = DEADLINE_MS): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

/** The server's side of a client socket (its HttpConnection), while the server has it. */
export function serverSide(s: SluiceServer, client: Socket): ReturnType<SluiceServer['connections']>[number] | undefined {
  const port = client.localPort;
  return s.connections().find((x) => x.socket.remotePort === port);
}

/** A plain GET with Host. */
export function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;
}
