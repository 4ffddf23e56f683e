// A reload swaps the certificates (docs/tls.md, "Reload"): sluice run as a command on a `listen ...
// ssl` address, in one process (SIGHUP) and as a master with workers; the certificate files are
// replaced (A: CN a.test, then B: CN b.test, same paths), or the config is made to name B's files,
// and the server reloaded. New connections are then presented B (polled for, bounded); a
// keep-alive connection opened before the reload keeps A, and its request in flight across the
// reload is answered on it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { DEADLINE_MS, RawClient, timed } from '../helpers.js';
import { testCerts, type TestCerts } from '../tls-certs.js';
import { Running, prefixDir, writeConfig } from './run.js';

function site(cert: string, key: string, workers: number | null): string {
  return `export default {
  ${workers === null ? '' : `workerProcesses: ${workers},`}
  errorLog: ['stderr', 'notice'],
  servers: [{ listen: '127.0.0.1:0 ssl', serverName: 'localhost', keepaliveTimeout: '60s',
    sslCertificate: ${JSON.stringify(cert)}, sslCertificateKey: ${JSON.stringify(key)},
    locations: {
      '/': { content: (r) => { r.say('ok ' + process.pid); } },
      '/slow': { content: async (r) => { process.stderr.write('slow request started\\n'); await new Promise((d) => setTimeout(d, 1500)); r.say('slow done ' + process.pid); } },
    } }],
};\n`;
}

/** Put test certificate `name` where the config reads its certificate. */
function install(certs: TestCerts, name: string, dir: string): void {
  copyFileSync(certs.f[name].cert, join(dir, 'site.crt'));
  copyFileSync(certs.f[name].key, join(dir, 'site.key'));
}

/** A new TLS connection: the CN presented, and a RawClient on it. */
function open(port: number): Promise<{ cn: string; c: RawClient; s: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    s.once('error', reject);
    s.once('secureConnect', () => {
      s.off('error', reject);
      const cn = String(s.getPeerCertificate().subject?.CN ?? '');
      // RawClient speaks over any connected stream (its constructor is private to keep tests on open())
      resolve({ cn, c: new (RawClient as unknown as new (x: TLSSocket) => RawClient)(s), s });
    });
  });
}

/** The CN new connections are presented, asked again (bounded) until it is `want`. */
async function presented(port: number, want: string): Promise<string> {
  const end = Date.now() + DEADLINE_MS * 3;
  let cn = '';
  for (;;) {
    const o = await open(port);
    cn = o.cn;
    o.c.close();
    if (cn === want || Date.now() > end) return cn;
    await new Promise((r) => setTimeout(r, 25));
  }
}

const GET = (path: string, close = false) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;

const CASES = [['one process', null], ['master + 2 workers', 2]] as const;
for (const [mode, workers] of CASES) for (const how of ['the files replaced', 'the config naming others'] as const) {
  test(`${mode}: a reload takes the new certificate (${how}); a connection from before keeps its own`, timed(60000, async () => {
    // made once per run (removed at exit), asked for here: another file's cleanup may have run
    const certs = testCerts();
    const dir = prefixDir();
    install(certs, 'a', dir);
    const conf = writeConfig(dir, 'site.mjs', site(join(dir, 'site.crt'), join(dir, 'site.key'), workers));
    const s = new Running(dir, conf);
    let old: Awaited<ReturnType<typeof open>> | null = null;
    try {
      const port = await s.started();
      assert.is(await presented(port, 'a.test'), 'a.test', 'certificate A at start');
      // a keep-alive connection from before the reload, with a request in flight across it
      old = await open(port);
      assert.is(old.cn, 'a.test');
      const [first] = await old.c.exchange(GET('/'));
      assert.is(first.status, 200);
      let mark = s.stderr.length;
      old.c.write(GET('/slow'));
      await s.line(/slow request started/, mark);
      if (how === 'the files replaced') install(certs, 'b', dir);
      else writeConfig(dir, 'site.mjs', site(certs.f.b.cert, certs.f.b.key, workers));
      mark = s.stderr.length;
      s.signal('reload', conf);
      await s.line(workers === null ? /reconfigured/ : /start worker process/, mark);
      assert.is(await presented(port, 'b.test'), 'b.test', 'new connections get certificate B');
      const again = await open(port);
      const [fresh] = await again.c.exchange(GET('/', true));
      again.c.close();
      assert.is(fresh.status, 200, 'and are served');
      // the old connection: its request answered, on the certificate it began with
      await old.c.wait(1);
      const [slow] = old.c.take();
      assert.is(slow?.status, 200, 'the request in flight across the reload is answered');
      assert.match(slow.body.toString(), /^slow done /);
      assert.is(String(old.s.getPeerCertificate().subject?.CN), 'a.test', 'on certificate A');
      // then the old connection is served on A by what is left of the old config (a worker on
      // its way out), or closed at once (one process: the old server closes what goes idle);
      // never a broken answer
      old.c.write(GET('/', true));
      await old.c.wait(1);
      const after = old.c.take();
      if (after.length > 0) assert.is(after[0].status, 200, 'a request on the old connection');
      else assert.is(old.c.pending().length, 0, 'or a clean close');
      console.log(`  ${mode}, ${how}: the old connection after its request ${after.length > 0 ? 'served another' : 'was closed'}`);
    } finally {
      old?.c.close();
      await s.kill();
    }
  }));
}

test.run();
