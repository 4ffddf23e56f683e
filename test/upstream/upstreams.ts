// Upstream servers for the proxy and client tests: real sockets on 127.0.0.1:0 that count their
// connections and can misbehave on purpose, and a port nobody listens on. (The raw client to
// sluice, RawClient, and until() are in ../helpers.ts.)

import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';

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
