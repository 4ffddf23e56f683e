// The wire-level conformance probe (shared/conformance/probe.mjs) over TLS: the probe speaks
// plain TCP, so a relay of the test's own takes each of its connections to sluice's `listen ...
// ssl` address over TLS (bytes both ways as they come, a half-close passed on as close_notify +
// FIN, a reset from the server passed back as a reset). Each case must get the same verdict,
// statuses and close as the same probe against the same location on a plain address, run at the
// same time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startServer, type SluiceServer } from '../../src/http/server.js';
import type { LocationConfig } from '../../src/http/conf/config.js';
import type { Request } from '../../src/http/request.js';
import { errorLines, timed } from '../helpers.js';
import { testCerts } from '../tls-certs.js';

const shared = resolve(process.cwd(), '../shared/conformance');
const dir = existsSync(join(shared, 'probe.mjs')) ? shared : resolve(process.cwd(), 'test/fixtures/conformance');
/** As test/conformance/probe.test.ts runs it. */
const PROBE_ARGS = ['--timeout', '4000', '--concurrency', '16'];
// made once per run (removed at exit): other files of the run share them, so no cleanup here
const certs = testCerts();

interface CaseResult { id: string; verdict: string; statuses: (number | string)[]; closedBy: string; reasons: string[] }

/** Run the probe against 127.0.0.1:port with every case in the report. */
async function runProbe(port: number, out: string, name: string): Promise<{ text: string; results: CaseResult[] }> {
  const report = join(out, `${name}.json`);
  const text = await new Promise<string>((res) => {
    const p = spawn(process.execPath, [join(dir, 'probe.mjs'), `127.0.0.1:${port}`,
      join(dir, 'llhttp-requests.json'), join(dir, 'robustness.json'), ...PROBE_ARGS, '--report-all', '--report', report], { stdio: ['ignore', 'pipe', 'pipe'] });
    let t = '';
    p.stdout.on('data', (d) => { t += d; });
    p.stderr.on('data', (d) => { t += d; });
    p.on('exit', () => res(t));
  });
  assert.ok(existsSync(report), `probe (${name}) wrote its report:\n${text}`);
  return { text, results: (JSON.parse(readFileSync(report, 'utf8')) as { results: CaseResult[] }).results };
}

/** A plain → TLS relay to `port`: one TLS connection per accepted one. */
async function tlsRelay(port: number): Promise<{ port: number; handshakes: () => number; close(): Promise<void> }> {
  const open = new Set<Socket>();
  let handshakes = 0;
  const srv = createServer({ allowHalfOpen: true }, (plain: Socket) => {
    open.add(plain);
    plain.pause();
    // allowHalfOpen: node:tls takes it (not in its types): the probe's half-closes reach sluice as such
    const opts = { host: '127.0.0.1', port, servername: 'localhost', ca: certs.caPem, allowHalfOpen: true };
    const t: TLSSocket = tlsConnect(opts);
    open.add(t);
    t.setNoDelay(true);
    plain.setNoDelay(true);
    t.once('secureConnect', () => {
      handshakes++;
      plain.on('data', (d: Buffer) => { if (!t.write(d)) plain.pause(); });
      t.on('drain', () => plain.resume());
      plain.on('end', () => t.end());
      t.on('data', (d: Buffer) => { if (!plain.write(d)) t.pause(); });
      plain.on('drain', () => t.resume());
      t.on('end', () => plain.end());
      plain.resume();
    });
    // a reset (or a failed handshake) on one side is a reset on the other
    t.on('error', () => { if (!plain.destroyed) plain.resetAndDestroy(); });
    plain.on('error', () => { if (!t.destroyed) t.destroy(); });
    t.on('close', () => { open.delete(t); if (!plain.destroyed && plain.writableEnded === false) plain.end(); });
    plain.on('close', () => { open.delete(plain); if (!t.destroyed) t.destroy(); });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as { port: number }).port,
    handshakes: () => handshakes,
    close: () => new Promise<void>((r) => { for (const s of open) s.destroy(); srv.close(() => r()); }),
  };
}

/** The same location on a plain and on a TLS address (client timeouts as the reference nginx). */
async function both(loc: LocationConfig): Promise<[SluiceServer, SluiceServer]> {
  const server = { clientHeaderTimeout: '5s', clientBodyTimeout: '5s', keepaliveTimeout: '10s', locations: { '/': loc } };
  const plain = await startServer({ errorLog: errorLines, servers: [{ listen: '127.0.0.1:0', ...server }] } as never);
  const tls = await startServer({ errorLog: errorLines, servers: [{ listen: '127.0.0.1:0 ssl', serverName: 'localhost',
    sslCertificate: certs.f.localhost.cert, sslCertificateKey: certs.f.localhost.key, ...server }] } as never);
  return [plain, tls];
}

async function sameOverTls(loc: LocationConfig): Promise<void> {
  const [plain, tls] = await both(loc);
  const relay = await tlsRelay(tls.port);
  const out = mkdtempSync(join(tmpdir(), 'sluice-probe-tls-'));
  try {
    const [p, t] = await Promise.all([runProbe(plain.port, out, 'plain'), runProbe(relay.port, out, 'tls')]);
    assert.is(t.results.length, p.results.length, `as many cases:\n${t.text}`);
    const byId = new Map(p.results.map((r) => [r.id, r]));
    const differ: string[] = [];
    for (const r of t.results) {
      const q = byId.get(r.id);
      const show = (x: CaseResult | undefined) => x === undefined ? '(absent)' : `${x.verdict} [${x.statuses.join(',')}] ${x.closedBy}${x.reasons.length > 0 ? ` (${x.reasons.join('; ')})` : ''}`;
      if (q === undefined || q.verdict !== r.verdict || q.statuses.join(',') !== r.statuses.join(',') || q.closedBy !== r.closedBy) {
        differ.push(`${r.id}\n    plain ${show(q)}\n    tls   ${show(r)}`);
      }
    }
    assert.equal(differ, [], `cases answered otherwise over TLS:\n${differ.join('\n')}`);
    assert.ok(t.results.every((r) => r.verdict !== 'fail'), 'no failures (as plain, see probe.test.ts)');
    assert.ok(relay.handshakes() >= t.results.length, `every case went over TLS (${relay.handshakes()} handshakes, ${t.results.length} cases)`);
  } finally {
    rmSync(out, { recursive: true, force: true });
    await relay.close();
    await plain.close(100);
    await tls.close(100);
  }
}

test('probe over TLS: the same results as plain, against a location that reads the body', timed(240000, () =>
  sameOverTls({ content: async (r: Request) => { await r.readBody(); r.say('ok'); } })));

test('probe over TLS: the same results as plain, against a bare return location', timed(240000, () =>
  sameOverTls({ return: [200, 'ok\n'] })));

test.run();
