// https upstreams for the proxy and client tests (each request answered "ok <url>", what its TLS
// connection was recorded), and their certificates, in a directory of their own (test/tls-certs.ts's
// set is removed by the TLS server tests when they end): copies of its CA and server/client
// certificates, and more made here with Debian's openssl — a self-signed leaf (18), one served
// with its untrusted root (19), an expired one (10), and a leaf under an intermediate (depth).
// Removed when the process exits. None of these keys is of any use outside the tests.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { testCerts } from '../tls-certs.js';

export interface Pem { cert: Buffer; key: Buffer }

export interface UpstreamCerts {
  dir: string;
  /** The test CA's file and PEM. */
  ca: string;
  caPem: Buffer;
  /** Server certificates (PEM): localhost (DNS:localhost, IP:127.0.0.1), a (a.test), rogue (localhost, unknown CA), self, chained, expired, deep (leaf + intermediate). */
  pem: Record<'localhost' | 'a' | 'rogue' | 'self' | 'chained' | 'expired' | 'deep', Pem>;
  /** The client certificate the CA signed (files). */
  client: { cert: string; key: string };
}

let made: UpstreamCerts | null = null;

export function upstreamCerts(): UpstreamCerts {
  if (made !== null) return made;
  const base = testCerts();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-upssl-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['ca.crt', 'ca.key', 'rogue.crt']) copyFileSync(join(base.dir, f), join(dir, f));
  for (const n of ['localhost', 'a', 'rogue-server', 'client']) {
    copyFileSync(base.f[n].cert, join(dir, `${n}.crt`));
    copyFileSync(base.f[n].key, join(dir, `${n}.key`));
  }
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const sign = (name: string, ca: string, ext: string, days = '30') => {
    run(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-subj', `/CN=${name === 'int' ? 'sluice test intermediate' : 'localhost'}`, '-out', `${name}.csr`]);
    writeFileSync(join(dir, `${name}.ext`), ext);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', days, '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'self.key', '-out', 'self.crt', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost']);
  sign('expired', 'ca', 'subjectAltName=DNS:localhost\n', '-1');
  sign('int', 'ca', 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n');
  sign('deep', 'int', 'subjectAltName=DNS:localhost\n');
  const f = (n: string) => readFileSync(join(dir, n));
  const pem = (n: string): Pem => ({ cert: f(`${n}.crt`), key: f(`${n}.key`) });
  made = {
    dir,
    ca: join(dir, 'ca.crt'),
    caPem: f('ca.crt'),
    pem: {
      localhost: pem('localhost'), a: pem('a'), rogue: pem('rogue-server'), self: pem('self'), expired: pem('expired'),
      chained: { cert: Buffer.concat([f('rogue-server.crt'), f('rogue.crt')]), key: f('rogue-server.key') },
      deep: { cert: Buffer.concat([f('deep.crt'), f('int.crt')]), key: f('deep.key') },
    },
    client: { cert: join(dir, 'client.crt'), key: join(dir, 'client.key') },
  };
  return made;
}

/** What an https upstream saw of one request's connection. */
export interface Seen { url: string; servername: string | false; reused: boolean; protocol: string | null; clientCn: string | null }

export interface TlsUpstream {
  port: number;
  addr: string;
  /** TLS handshakes completed, and how many of them resumed a session. */
  handshakes: number;
  resumed: number;
  seen: Seen[];
  close(): Promise<void>;
}

/**
 * An https upstream on 127.0.0.1:0 answering "ok <url>" (with `describe`, also what the
 * connection was: "sni=... reused=..."), recording each request's connection. `unref`: it does
 * not keep the process alive (for suites without an after hook of their own).
 */
export async function tlsUpstream(pem: Pem, o: { ca?: Buffer; requestCert?: boolean; describe?: boolean; unref?: boolean } = {}): Promise<TlsUpstream> {
  const sockets = new Set<Socket>();
  const u: TlsUpstream = { port: 0, addr: '', handshakes: 0, resumed: 0, seen: [], close: async () => {} };
  const server: HttpsServer = createHttpsServer({ ...pem, ca: o.ca, requestCert: o.requestCert ?? false, rejectUnauthorized: false }, (req, res) => {
    const s = req.socket as TLSSocket;
    const peer = s.getPeerCertificate();
    const seen: Seen = {
      url: req.url ?? '', servername: (s as unknown as { servername: string | false }).servername, reused: s.isSessionReused(),
      protocol: s.getProtocol(), clientCn: peer !== null && peer.subject !== undefined ? String(peer.subject.CN) : null,
    };
    u.seen.push(seen);
    req.resume();
    req.on('end', () => res.end(`ok ${req.url}${o.describe ? ` sni=${seen.servername} reused=${seen.reused}` : ''}`));
  });
  server.on('secureConnection', (s: TLSSocket) => { u.handshakes++; if (s.isSessionReused()) u.resumed++; });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); if (o.unref) s.unref(); });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  if (o.unref) server.unref();
  u.port = (server.address() as { port: number }).port;
  u.addr = `127.0.0.1:${u.port}`;
  u.close = () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); });
  return u;
}
