// The loopback connection the start-up self-tests of Node's private paths run on
// (src/core/read-buffer.ts, src/core/direct-write.ts): a server on 127.0.0.1:0 and one client,
// both closed once the check has its verdict, bounded at 2 s.

import { createServer, connect, type Socket } from 'node:net';

/**
 * Run a check over one loopback connection: `server` gets the accepted socket, `client` the
 * connecting one; either calls `finish(verdict)` (once counts). Resolves with the verdict; an
 * error on any side, or 2 s without one, is false.
 */
export function loopbackCheck(
  server: (s: Socket, finish: (ok: boolean) => void, client: () => Socket | null) => void,
  client: (c: Socket, finish: (ok: boolean) => void) => void,
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let done = false;
    const srv = createServer({ allowHalfOpen: true });
    let c: Socket | null = null;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c?.destroy();
      srv.close();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 2000);
    timer.unref();
    srv.on('error', () => finish(false));
    srv.on('connection', (s: Socket) => {
      s.on('error', () => finish(false));
      server(s, finish, () => c);
    });
    // exclusive: a cluster worker binds it itself, not through the master
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const a = srv.address();
      if (a === null || typeof a === 'string') { finish(false); return; }
      c = connect(a.port, '127.0.0.1');
      c.on('error', () => finish(false));
      client(c, finish);
    });
  });
}
