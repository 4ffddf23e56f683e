// Soak: memory under a long mixed load. Starts a fake upstream, sluice (from dist/, with
// --expose-gc) and a load generator as child processes, samples the server's memory every second
// through /_mem (a full GC first, so the figures are what stays alive), then prints a table and
// writes the samples as JSON. Every process it starts is stopped by its pid, however it ends.
// Talks to 127.0.0.1 only.
//
//   npm run bench:soak                          # 1,000,000 requests (npx tsc -p . first: the script does)
//   SOAK_REQUESTS=20000 npm run bench:soak      # a short try
//
// Env: SOAK_REQUESTS=1000000  SOAK_CONNECTIONS=50  SOAK_LABEL=last (the JSON is soak-LABEL.json here)
//      SERVER_CPU=0  CLIENT_CPU=1 (taskset cores; the upstream runs with the client)
//      SLUICE_DIST=dist (another build's dist/, to soak another commit)  SOAK_MAX_SECONDS=1800
//      SOAK_ABORT_STATIC=0 (no static file among the responses cut short)
import { spawn, execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const REQUESTS = Number(process.env.SOAK_REQUESTS ?? 1_000_000);
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 50);
const LABEL = process.env.SOAK_LABEL ?? 'last';
const SERVER_CPU = process.env.SERVER_CPU ?? '0';
const CLIENT_CPU = process.env.CLIENT_CPU ?? '1';
const MAX_SECONDS = Number(process.env.SOAK_MAX_SECONDS ?? 1800);
const DIST = resolve(process.env.SLUICE_DIST ?? join(here, '../../dist'));
const MB = 1024 * 1024;

const children = []; // { name, child }
let tmp = null;
let errLog = null;
let stopping = false;

/** The server's stderr, kept beside the JSON when the run fails (the temp dir goes). */
function keepServerLog(why) {
  if (errLog === null) return;
  try {
    const text = readFileSync(errLog, 'utf8');
    const kept = join(here, `soak-${LABEL}-server.log`);
    writeFileSync(kept, text);
    const lines = text.trimEnd().split('\n');
    console.error(`soak: ${why}; the server's last log lines (all in ${kept}):\n${lines.slice(-30).join('\n')}`);
  } catch { /* no log */ }
}

/** Stop every child by its pid: SIGTERM, then SIGKILL for any still there after 2 s. */
async function stopAll() {
  if (stopping) return;
  stopping = true;
  for (const { child } of children) {
    if (child.exitCode === null && child.signalCode === null) try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone */ }
  }
  const t0 = Date.now();
  while (children.some(({ child }) => child.exitCode === null && child.signalCode === null) && Date.now() - t0 < 2000) await sleep(50);
  for (const { child } of children) {
    if (child.exitCode === null && child.signalCode === null) try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}
function stopAllSync() {
  for (const { child } of children) {
    if (child.exitCode === null && child.signalCode === null) try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}
process.on('exit', () => { stopAllSync(); if (tmp !== null) rmSync(tmp, { recursive: true, force: true }); });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { stopAll().then(() => process.exit(130)); });
process.on('uncaughtException', (e) => { console.error(e); stopAll().then(() => process.exit(1)); });
process.on('unhandledRejection', (e) => { console.error(e); stopAll().then(() => process.exit(1)); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function hasTaskset() {
  try { execFileSync('taskset', ['-c', '0', 'true']); return true; } catch { return false; }
}
const PIN = hasTaskset();

/** Start a node child, pinned to `cpu`; resolves with its "ready PORT" port. */
function start(name, cpu, args, opts = {}) {
  const cmd = PIN ? 'taskset' : process.execPath;
  const argv = PIN ? ['-c', cpu, process.execPath, ...args] : args;
  const child = spawn(cmd, argv, { stdio: opts.stdio ?? ['ignore', 'pipe', 'inherit'], env: { ...process.env, SLUICE_DIST: DIST } });
  children.push({ name, child });
  child.on('exit', (code, sig) => {
    if (!stopping && name !== 'load') {
      console.error(`soak: ${name} (pid ${child.pid}) exited early (${sig ?? code})`);
      if (name === 'server') keepServerLog('the server died');
      stopAll().then(() => process.exit(1));
    }
  });
  if (opts.noReady) return Promise.resolve({ child, port: 0 });
  return new Promise((resolvePort, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`${name} not ready in 15 s`)), 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) { clearTimeout(t); child.stdout.removeAllListeners('data'); child.stdout.resume(); resolvePort({ child, port: Number(m[1]) }); }
    });
  });
}

/** GET /_mem on one kept connection. */
class Sampler {
  constructor(port) {
    this.port = port;
    this.s = null;
    this.buf = '';
    this.wait = null;
  }
  async sample() {
    if (this.s === null || this.s.destroyed) {
      this.s = connect(this.port, '127.0.0.1');
      this.s.setNoDelay(true);
      this.s.on('error', () => {});
      this.s.on('data', (d) => {
        this.buf += d.toString('latin1');
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0 || this.wait === null) return;
        const cl = Number(/content-length: *(\d+)/i.exec(this.buf.slice(0, end))?.[1] ?? -1);
        if (cl < 0 || this.buf.length < end + 4 + cl) return;
        const body = this.buf.slice(end + 4, end + 4 + cl);
        this.buf = this.buf.slice(end + 4 + cl);
        const w = this.wait;
        this.wait = null;
        w(JSON.parse(body));
      });
      this.s.on('close', () => { if (this.wait) { const w = this.wait; this.wait = null; w(null); } });
    }
    return new Promise((r) => {
      const t = setTimeout(() => { this.wait = null; this.s.destroy(); r(null); }, 5000);
      this.wait = (v) => { clearTimeout(t); r(v); };
      this.s.write('GET /_mem HTTP/1.1\r\nHost: soak\r\n\r\n');
    });
  }
}

/** Least squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) { sxy += (xs[i] - mx) * (ys[i] - my); sxx += (xs[i] - mx) ** 2; }
  return sxx === 0 ? NaN : sxy / sxx;
}

/** Processes other than ours using CPU now (another benchmark would skew the run: say so). */
function otherLoad() {
  try {
    const ours = new Set([process.pid, ...children.map(({ child }) => child.pid)]);
    return execFileSync('ps', ['-eo', 'pid,ni,pcpu,comm', '--sort=-pcpu'], { encoding: 'utf8' })
      .split('\n').slice(1).map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 4 && Number(f[2]) >= 10 && !ours.has(Number(f[0])) && f[3] !== 'ps')
      .map((f) => `${f[3]} (pid ${f[0]}, nice ${f[1]}, ${f[2]}% cpu)`);
  } catch { return []; }
}

function commitOf(dir) {
  try { return execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return 'unknown'; }
}

async function main() {
  tmp = mkdtempSync(join(tmpdir(), 'sluice-soak-'));
  mkdirSync(join(tmp, 'static'));
  writeFileSync(join(tmp, 'static', '4k.bin'), Buffer.alloc(4096, 'f'));
  writeFileSync(join(tmp, 'static', '256k.bin'), Buffer.alloc(256 * 1024, 'F'));
  const commit = process.env.SOAK_COMMIT ?? commitOf(resolve(DIST, '..'));
  const before = otherLoad();
  console.log(`soak: ${REQUESTS} requests, ${CONNECTIONS} connections, Node ${process.version}, sluice ${commit} (${DIST})`);
  console.log(`soak: server on core ${PIN ? SERVER_CPU : '(unpinned)'}, load and upstream on core ${PIN ? CLIENT_CPU : '(unpinned)'}; /_mem samples after a forced GC every second`);
  if (before.length > 0) console.log(`soak: other load right now: ${before.join('; ')}`);

  const up = await start('upstream', CLIENT_CPU, [join(here, 'upstream.mjs'), '0']);
  errLog = join(tmp, 'server-stderr.log');
  const errFd = openSync(errLog, 'w');
  const srv = await start('server', SERVER_CPU, ['--expose-gc', join(here, 'server.mjs'), '0', String(up.port), tmp], { stdio: ['ignore', 'pipe', errFd] });
  closeSync(errFd);
  const sampler = new Sampler(srv.port);
  const samples = [];
  let doneNow = 0;
  let burstAt = -1; // samples taken from then on are in the burst of never-reading clients
  const t0 = Date.now();
  const first = await sampler.sample();
  if (first === null) throw new Error('no /_mem answer from the server');
  samples.push({ t: 0, requests: 0, ...first });

  const load = spawn(PIN ? 'taskset' : process.execPath, [...(PIN ? ['-c', CLIENT_CPU, process.execPath] : []), join(here, 'load.mjs'), String(srv.port), String(REQUESTS), String(CONNECTIONS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push({ name: 'load', child: load });
  let result = null;
  const finished = new Promise((r) => {
    load.on('message', (m) => {
      if (m.type === 'progress') doneNow = m.done;
      if (m.type === 'burst') burstAt = samples.length;
      if (m.type === 'done') { result = m; doneNow = m.done; }
    });
    load.on('exit', () => r());
  });

  let lastPrint = 0;
  let lastDone = -1;
  let stallSince = Date.now();
  let ended = false;
  finished.then(() => { ended = true; });
  while (!ended) {
    await Promise.race([sleep(1000), finished]);
    if (ended) break;
    const m = await sampler.sample();
    const t = (Date.now() - t0) / 1000;
    if (m !== null) samples.push({ t, requests: doneNow, ...m });
    if (doneNow !== lastDone) { lastDone = doneNow; stallSince = Date.now(); }
    if (Date.now() - stallSince > 20000) throw new Error(`no progress for 20 s at ${doneNow} requests`);
    if (t > MAX_SECONDS) throw new Error(`over SOAK_MAX_SECONDS (${MAX_SECONDS}) at ${doneNow} requests`);
    if (t - lastPrint >= 10 && m !== null) {
      lastPrint = t;
      console.log(`  ${t.toFixed(0).padStart(4)} s  ${String(doneNow).padStart(8)} req  rss ${(m.rss / MB).toFixed(1)} MB  heapUsed ${(m.heapUsed / MB).toFixed(1)} MB  arrayBuffers ${(m.arrayBuffers / MB).toFixed(1)} MB  conns ${m.connections}`);
    }
  }
  if (result === null) throw new Error(`the load generator exited (code ${load.exitCode}) without its totals`);
  // once the load (and the burst of never-reading clients) is gone: 3 s of quiet, then the least
  // of three samples (external memory is given back by GC callbacks that may run a little later)
  await sleep(3000);
  let idle = null;
  for (let i = 0; i < 3; i++) {
    const m = await sampler.sample();
    if (m !== null && (idle === null || m.arrayBuffers < idle.arrayBuffers)) idle = { t: (Date.now() - t0) / 1000, requests: result.done, ...m };
    await sleep(500);
  }
  if (idle === null) throw new Error('no /_mem answer after the run');
  sampler.s?.destroy();
  const after = otherLoad();
  await stopAll();
  const serverErrors = readFileSync(errLog, 'utf8').split('\n').filter((l) => l.trim() !== '');

  // the figures: start, end, min, max over the mixed load (the burst apart); the slope over its
  // second half, by requests; and what stays after the burst of never-reading clients
  const run = burstAt < 0 ? samples : samples.slice(0, burstAt);
  const half = run.filter((s) => s.requests >= result.done / 2);
  const stats = {};
  for (const k of ['rss', 'heapUsed', 'arrayBuffers', 'external']) {
    const ys = run.map((s) => s[k] / MB);
    stats[k] = {
      start: ys[0], end: ys[ys.length - 1], min: Math.min(...ys), max: Math.max(...ys),
      slopePer100k: slope(half.map((s) => s.requests / 100000), half.map((s) => s[k] / MB)),
      afterBurst: idle[k] / MB,
    };
  }
  const errTotal = Object.values(result.errors).reduce((a, b) => a + b, 0);
  const secs = result.elapsedMs / 1000;
  const report = {
    label: LABEL, date: new Date().toISOString(), node: process.version, commit, dist: DIST,
    requests: result.done, connections: CONNECTIONS, seconds: secs, requestsPerSecond: result.done / secs,
    gc: first.gc, pinned: PIN ? { server: SERVER_CPU, client: CLIENT_CPU } : null,
    errors: result.errors, errorsTotal: errTotal, firstErrors: result.firstErrors, serverLogLines: serverErrors.length, serverLogFirst: serverErrors.slice(0, 10),
    abortStatic: process.env.SOAK_ABORT_STATIC !== '0', burst: result.burst, mix: result.counts, otherLoad: { before, after },
    stats, samples, afterBurst: idle,
  };
  const out = join(here, `soak-${LABEL}.json`);
  writeFileSync(out, JSON.stringify(report, null, 1) + '\n');

  console.log(`\nsoak: ${result.done} requests in ${secs.toFixed(1)} s (${Math.round(result.done / secs)} req/s), ${errTotal} errors ${JSON.stringify(result.errors)}, ${serverErrors.length} server log lines`);
  if (result.firstErrors.length > 0) console.log(`  first errors: ${result.firstErrors.join('; ')}`);
  if (serverErrors.length > 0) console.log(`  server log: ${serverErrors.slice(0, 3).join(' | ')}`);
  console.log(`  mix: ${Object.entries(result.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  other load: before ${before.length ? before.join('; ') : 'none'}; after ${after.length ? after.join('; ') : 'none'}`);
  console.log(`  ${samples.length} samples (${first.gc ? 'after a forced GC' : 'without GC'}) -> ${out}\n`);
  const f = (v) => v.toFixed(1);
  const g = (v) => (v >= 0 ? '+' : '') + v.toFixed(2);
  console.log(`| MB | start | end | min | max | slope, 2nd half (MB per 100k requests) | 3 s after ${result.burst} never-reading clients |`);
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [k, v] of Object.entries(stats)) console.log(`| ${k} | ${f(v.start)} | ${f(v.end)} | ${f(v.min)} | ${f(v.max)} | ${g(v.slopePer100k)} | ${f(v.afterBurst)} |`);
  return errTotal === 0 ? 0 : 1;
}

main().then(async (code) => { await stopAll(); process.exit(code); }, async (e) => {
  console.error(`soak: ${e instanceof Error ? e.message : e}`);
  keepServerLog('the run failed');
  await stopAll();
  process.exit(1);
});
