// Certificates for the TLS tests, made with Debian's openssl in a temp dir when first asked for:
// a test CA, RSA and ECDSA server certificates for a.test / b.test / localhost, a client
// certificate the CA signed (and an expired one), and a client and a server certificate from an
// unknown CA. None of these keys is of any use outside the tests. The directory is removed at
// cleanup() or when the process exits.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  ca: string; caPem: Buffer;
  /** name → { cert, key } file paths; names: a, a-ec, b, localhost, client, expired-client (ended a day ago), rogue-client, rogue-server (signed by an unknown CA), enc (key with pass phrase "secret") */
  f: Record<string, { cert: string; key: string }>;
  pem(name: string): { cert: Buffer; key: Buffer };
  cleanup(): void;
}

let made: TestCerts | null = null;

function ossl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function signed(dir: string, name: string, cn: string, sans: string, ca: string, opts: { ec?: boolean; days?: string; client?: boolean; pass?: string } = {}): void {
  const key = `${name}.key`;
  if (opts.ec) ossl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  else ossl(dir, ['genrsa', '-out', key, '2048']);
  ossl(dir, ['req', '-new', '-key', key, '-subj', `/CN=${cn}/O=sluice test`, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), opts.client ? 'extendedKeyUsage=clientAuth\n' : `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\n`);
  const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-extfile', `${name}.ext`];
  args.push('-days', opts.days ?? '30'); // '-1': notAfter a day before notBefore (now), so expired
  ossl(dir, args);
  if (opts.pass !== undefined) {
    ossl(dir, ['pkey', '-in', key, '-aes256', '-passout', `pass:${opts.pass}`, '-out', `${key}.enc`]);
    renameSync(join(dir, `${key}.enc`), join(dir, key));
  }
}

export function testCerts(): TestCerts {
  if (made !== null) return made;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
  for (const ca of ['ca', 'rogue']) {
    ossl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '30', '-subj', `/CN=sluice test ${ca}`]);
  }
  signed(dir, 'a', 'a.test', 'DNS:a.test', 'ca');
  signed(dir, 'a-ec', 'a.test', 'DNS:a.test', 'ca', { ec: true });
  signed(dir, 'b', 'b.test', 'DNS:b.test', 'ca');
  signed(dir, 'localhost', 'localhost', 'DNS:localhost,IP:127.0.0.1', 'ca');
  signed(dir, 'client', 'client one', '', 'ca', { client: true });
  signed(dir, 'expired-client', 'client old', '', 'ca', { client: true, days: '-1' });
  signed(dir, 'rogue-client', 'rogue', '', 'rogue', { client: true });
  signed(dir, 'rogue-server', 'localhost', 'DNS:localhost,IP:127.0.0.1', 'rogue');
  signed(dir, 'enc', 'a.test', 'DNS:a.test', 'ca', { pass: 'secret' });
  const names = ['a', 'a-ec', 'b', 'localhost', 'client', 'expired-client', 'rogue-client', 'rogue-server', 'enc'];
  const f: TestCerts['f'] = {};
  for (const n of names) f[n] = { cert: join(dir, `${n}.crt`), key: join(dir, `${n}.key`) };
  made = {
    dir, ca: join(dir, 'ca.crt'), caPem: readFileSync(join(dir, 'ca.crt')), f,
    pem: (n) => ({ cert: readFileSync(f[n].cert), key: readFileSync(f[n].key) }),
    cleanup: () => { rmSync(dir, { recursive: true, force: true }); if (made?.dir === dir) made = null; },
  };
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return made;
}
