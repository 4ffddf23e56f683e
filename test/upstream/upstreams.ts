// Upstream servers for the proxy and client tests: real sockets on 127.0.0.1:0 that count their
// connections and can misbehave on purpose, a keep-alive raw client, and a port nobody listens on.

import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseResponses, type ParsedResponse } from '../helpers.js';

export interface Upstream {
  port: number;
  /** "127.0.0.1:port" for an upstream's `servers`. */
  addr: string;
  /** Connections accepted so far. */
  conns: number;
  /** Requests (http upstreams) or connections (raw ones) seen so far. */
  hits: number;
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

function track(server: NetServer, u: Upstream): void {
  server.on('connection', (s: Socket) => {
    u.conns++;
    u.sockets.add(s);
    s.on('close', () => u.sockets.delete(s));
    s.on('error', () => {});
  });
}

function listening(server: NetServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

function closer(server: NetServer, u: Upstream): () => Promise<void> {
  return () => new Promise<void>((resolve) => {
    for (const s of u.sockets) s.destroy();
    server.close(() => resolve());
  });
}

/** A raw TCP upstream: `onConn` gets each accepted socket (and may misbehave with it). */
export async function netUpstream(onConn: (s: Socket, u: Upstream) => void): Promise<Upstream> {
  const server = createNetServer({ allowHalfOpen: false });
  const u: Upstream = { port: 0, addr: '', conns: 0, hits: 0, sockets: new Set(), close: async () => {} };
  track(server, u);
  server.on('connection', (s: Socket) => { u.hits++; onConn(s, u); });
  u.port = await listening(server);
  u.addr = `127.0.0.1:${u.port}`;
  u.close = closer(server, u);
  return u;
}

export interface Seen {
  method: string;
  url: string;
  /** Header lines as received, names in their case. */
  raw: [string, string][];
  /** Lower-case names, first value. */
  headers: Record<string, string>;
  body: string;
}

/** A node:http upstream; `handler` answers (the request body has been read into `seen.body`). */
export async function httpUpstream(handler: (seen: Seen, res: ServerResponse, req: IncomingMessage, u: Upstream) => void):
  Promise<Upstream & { last: Seen | null }> {
  const server = createHttpServer({ keepAliveTimeout: 10000 });
  const u: Upstream & { last: Seen | null } = { port: 0, addr: '', conns: 0, hits: 0, sockets: new Set(), close: async () => {}, last: null };
  track(server, u);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    u.hits++;
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const raw: [string, string][] = [];
      const headers: Record<string, string> = {};
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        raw.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
        const k = req.rawHeaders[i].toLowerCase();
        if (headers[k] === undefined) headers[k] = req.rawHeaders[i + 1];
      }
      const seen: Seen = { method: req.method!, url: req.url!, raw, headers, body: Buffer.concat(parts).toString() };
      u.last = seen;
      handler(seen, res, req, u);
    });
  });
  u.port = await listening(server);
  u.addr = `127.0.0.1:${u.port}`;
  const closeSockets = closer(server, u);
  u.close = () => { server.closeAllConnections(); return closeSockets(); };
  return u;
}

/** An upstream that answers every request with what it saw, as JSON. */
export function echoUpstream(): ReturnType<typeof httpUpstream> {
  return httpUpstream((seen, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(seen));
  });
}

/** A port that refuses connections (bound once, then closed). */
export async function closedPort(): Promise<number> {
  const s = createNetServer();
  const port = await listening(s);
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A keep-alive client connection to sluice speaking raw bytes, one exchange at a time. */
export class RawClient {
  readonly socket: Socket;
  private data: Buffer;
  private wake: (() => void) | null;
  closed: boolean;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.data = Buffer.alloc(0);
    this.wake = null;
    this.closed = false;
    socket.on('data', (c: Buffer) => { this.data = this.data.length === 0 ? c : Buffer.concat([this.data, c]); this.poke(); });
    socket.on('close', () => { this.closed = true; this.poke(); });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Send `bytes`, wait for `n` complete final responses (or the close), and hand them over. */
  async exchange(bytes: string | Buffer, n = 1, headAt: number[] = []): Promise<ParsedResponse[]> {
    this.socket.write(bytes);
    for (;;) {
      const rs = parseResponses(this.data, headAt);
      const finals = rs.filter((r) => r.status >= 200 && r.complete);
      if (finals.length >= n || this.closed) {
        this.data = Buffer.alloc(0);
        return rs;
      }
      await new Promise<void>((r) => { this.wake = r; });
    }
  }

  /** Bytes received and not yet handed over by exchange(). */
  pending(): Buffer {
    return this.data;
  }

  /** Wait until the server closes the connection (or `ms` passes); true when it closed. */
  async waitClosed(ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (!this.closed && Date.now() < until) {
      await new Promise<void>((r) => { this.wake = r; setTimeout(r, Math.max(1, until - Date.now())); });
    }
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    if (w !== null) w();
  }
}

/** Wait for `cond` (polling), up to `ms`. */
export async function until(cond: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/**
 * A raw upstream that reads bodiless requests one after another on each connection and lets
 * `respond` answer each (or misbehave): it gets the request line's target, the head, the socket,
 * and the number of the request on this connection (0 first).
 */
export function scriptedUpstream(respond: (target: string, head: string, s: Socket, n: number, u: Upstream) => void): Promise<Upstream> {
  return netUpstream((s, u) => {
    let buf = '';
    let n = 0;
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const target = head.slice(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
        respond(target, head, s, n++, u);
      }
    });
  });
}

/** An upstream answering with `size` bytes made as it goes, 64 KiB at a time, honouring backpressure. */
export function bigUpstream(size: number): Promise<Upstream> {
  const chunk = Buffer.alloc(64 * 1024, 'z');
  return netUpstream((sock) => {
    sock.once('data', () => {
      sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
      let left = size;
      const pump = () => {
        while (left > 0) {
          const k = Math.min(left, chunk.length);
          left -= k;
          if (!sock.write(k === chunk.length ? chunk : chunk.subarray(0, k))) { sock.once('drain', pump); return; }
        }
      };
      pump();
    });
  });
}
