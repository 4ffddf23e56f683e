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

export interface RawResult {
  data: Buffer;
  text: string;
  /** The server closed the connection (FIN or reset) before we gave up waiting. */
  closed: boolean;
  responses: ParsedResponse[];
}

export interface RawOptions {
  /** Give up this long after the last byte arrived (ms). */
  idleMs?: number;
  /** Send FIN after the bytes. */
  halfClose?: boolean;
  /** Stop once this many final responses are in. */
  responses?: number;
  /** Pieces sent one after another with delays. */
  segments?: { delayMs: number; data: string | Buffer }[];
  /** A HEAD request somewhere: tell the response reader which responses have no body. */
  headAt?: number[];
}

/** Send raw bytes on a fresh connection and collect what comes back. */
export function raw(port: number, bytes: string | Buffer, o: RawOptions = {}): Promise<RawResult> {
  const idle = o.idleMs ?? 500;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closed = false;
    let timer: NodeJS.Timeout | null = null;
    const s: Socket = connect(port, '127.0.0.1');
    const done = () => {
      if (timer) clearTimeout(timer);
      s.destroy();
      const data = Buffer.concat(chunks);
      resolve({ data, text: data.toString('latin1'), closed, responses: parseResponses(data, o.headAt ?? []) });
    };
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(done, idle);
    };
    s.on('connect', async () => {
      if (bytes.length > 0) s.write(bytes);
      for (const seg of o.segments ?? []) {
        await new Promise((r) => setTimeout(r, seg.delayMs));
        if (!s.destroyed) s.write(seg.data);
      }
      if (o.halfClose) s.end();
      arm();
    });
    s.on('data', (c) => {
      chunks.push(c);
      if (o.responses !== undefined) {
        const rs = parseResponses(Buffer.concat(chunks), o.headAt ?? []);
        if (rs.filter((r) => r.status >= 200 && r.complete).length >= o.responses) {
          if (timer) clearTimeout(timer);
          timer = setTimeout(done, 50);
          return;
        }
      }
      arm();
    });
    s.on('end', () => { closed = true; done(); });
    s.on('error', () => { closed = true; done(); });
  });
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

/** Run an async test body with a time limit (uvu has none). */
export function timed<T>(ms: number, fn: () => Promise<T>): () => Promise<T> {
  return () => new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`test timed out after ${ms} ms`)), ms);
    fn().then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A plain GET with Host. */
export function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;
}
