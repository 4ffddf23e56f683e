// Helpers of the process tests: sluice run as a real command (bin/sluice.mjs) under a prefix
// of its own, what it writes to stderr watched line by line, every process it starts (master
// and workers) found by pid and killed at the end; and a load generator of the test's own
// (node:http keep-alive clients) that counts what it sent and what came back.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEADLINE_MS } from '../helpers.js';

export const BIN = join(resolve(process.cwd()), 'bin/sluice.mjs');

/** A prefix directory with logs/ (where the default pid file goes). */
export function prefixDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-proc-'));
  mkdirSync(join(d, 'logs'));
  return d;
}

/** `sluice args...` run to its end (for -s, -t). */
export function sluiceSync(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stderr: r.stderr };
}

/** A running sluice: its stderr, its port, and the pids it has started. */
export class Running {
  readonly child: ChildProcess;
  readonly prefix: string;
  stderr = '';
  port = 0;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private waiters: { re: RegExp; from: number; resolve: (m: RegExpExecArray) => void }[] = [];
  private seen = new Set<number>();

  constructor(prefix: string, configFile: string, env: NodeJS.ProcessEnv = {}) {
    this.prefix = prefix;
    this.child = spawn(process.execPath, [BIN, '-p', prefix, '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    this.seen.add(this.child.pid!);
    this.exited = new Promise((res) => this.child.on('exit', (code, signal) => res({ code, signal })));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (d: string) => {
      this.stderr += d;
      for (const m of this.stderr.matchAll(/start worker process (\d+)/g)) this.seen.add(Number(m[1]));
      this.waiters = this.waiters.filter((w) => {
        w.re.lastIndex = w.from;
        const m = w.re.exec(this.stderr);
        if (m === null) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  /** The master's (or single process's) pid. */
  get pid(): number { return this.child.pid!; }

  /** Resolves at the first line matching `re` written after offset `from` (a RegExp with /g). */
  line(re: RegExp, from = 0): Promise<RegExpExecArray> {
    const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
    g.lastIndex = from;
    const m = g.exec(this.stderr);
    if (m !== null) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no line ${re} in stderr:\n${this.stderr}`)), DEADLINE_MS * 3);
      this.waiters.push({ re: g, from, resolve: (x) => { clearTimeout(t); resolve(x); } });
      this.exited.then(() => setTimeout(() => reject(new Error(`sluice exited before ${re}:\n${this.stderr}`)), 50));
    });
  }

  /** Wait for the listening line; the port it names. */
  async started(): Promise<number> {
    const m = await this.line(/listening on http:\/\/127\.0\.0\.1:(\d+)\//);
    return this.port = Number(m[1]);
  }

  /** The pids of the workers started so far (from "start worker process N"). */
  workers(from = 0): number[] {
    return [...this.stderr.slice(from).matchAll(/start worker process (\d+)/g)].map((m) => Number(m[1]));
  }

  /** `sluice -s name` against this prefix and config. */
  signal(name: string, configFile: string): void {
    const r = sluiceSync('-p', this.prefix, '-c', configFile, '-s', name);
    if (r.status !== 0) throw new Error(`sluice -s ${name} failed: ${r.stderr}`);
  }

  /** Kill every process this run started (by pid), and remove the prefix. */
  async kill(): Promise<void> {
    for (const pid of this.seen) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    if (this.child.exitCode === null && this.child.signalCode === null) await this.exited;
    rmSync(this.prefix, { recursive: true, force: true });
  }
}

/** The TCP ports process `pid` listens on (its socket fds matched with /proc/net/tcp). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m !== null) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  const ports: number[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(f, 'latin1'); } catch { continue; }
    for (const row of text.split('\n').slice(1)) {
      const c = row.trim().split(/\s+/);
      if (c.length < 10 || c[3] !== '0A') continue; // 0A: LISTEN
      if (inodes.has(c[9])) ports.push(parseInt(c[1].split(':')[1], 16));
    }
  }
  return ports;
}

/** Write a config file (an .mjs module) and return its path. */
export function writeConfig(dir: string, name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

/**
 * A load generator: `clients` keep-alive clients, each sending GET `path` again as soon as its
 * last answer is in. A request on a reused connection that the server closed before any byte
 * of an answer is sent again on a new one (what HTTP clients do, RFC 9112 9.3.1) and counted
 * in `retried`; anything else that is not a 200 is `failed`.
 */
export class Load {
  sent = 0;
  ok = 0;
  failed = 0;
  retried = 0;
  readonly errors: string[] = [];
  /** Bodies seen, and how often. */
  readonly bodies = new Map<string, number>();
  /** The body of the last answer each client got. */
  last: string[] = [];
  private issuing = true;
  private inflight = 0;
  private readonly agent: Agent;
  private idle: (() => void) | null = null;
  private watchers: { cond: () => boolean; resolve: () => void }[] = [];

  constructor(readonly port: number, readonly clients: number, readonly path = '/') {
    this.agent = new Agent({ keepAlive: true, maxSockets: clients });
    for (let i = 0; i < clients; i++) { this.last.push(''); this.next(i); }
  }

  private next(i: number): void {
    if (!this.issuing) return;
    this.sent++;
    this.inflight++;
    this.one(i);
  }

  private one(i: number): void {
    // whether this request went on a connection that has answered before (the agent's own
    // reusedSocket is not set for a request that waited in its queue)
    let reused = false;
    let sock: { served?: number } | null = null;
    const req = request({ host: '127.0.0.1', port: this.port, path: this.path, agent: this.agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => {
        if (sock !== null) sock.served = (sock.served ?? 0) + 1;
        if (res.statusCode === 200) { this.ok++; this.bodies.set(body, (this.bodies.get(body) ?? 0) + 1); this.last[i] = body; } else { this.failed++; this.errors.push(`status ${res.statusCode}`); }
        this.done(i);
      });
      res.on('error', (e) => { this.failed++; this.errors.push(e.message); this.done(i); });
    });
    req.on('socket', (so) => { sock = so as unknown as { served?: number }; reused = (sock.served ?? 0) > 0; });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (reused && (e.code === 'ECONNRESET' || e.message === 'socket hang up')) { this.retried++; this.one(i); return; }
      this.failed++;
      this.errors.push(`${e.code ?? ''} ${e.message}${reused ? ' (reused connection)' : ''}`);
      this.done(i);
    });
    req.end();
  }

  private done(i: number): void {
    this.inflight--;
    this.watchers = this.watchers.filter((w) => { if (w.cond()) { w.resolve(); return false; } return true; });
    if (this.issuing) this.next(i);
    else if (this.inflight === 0 && this.idle !== null) this.idle();
  }

  /** Resolves when `cond` holds (checked after each answer). */
  until(cond: () => boolean): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`load: condition not met (sent ${this.sent}, ok ${this.ok}, failed ${this.failed}: ${this.errors.slice(0, 3).join('; ')})`)), DEADLINE_MS * 3);
      this.watchers.push({ cond, resolve: () => { clearTimeout(t); resolve(); } });
    });
  }

  /** Stop sending new requests; resolves when every request in flight has its answer. */
  stop(): Promise<void> {
    this.issuing = false;
    const p = this.inflight === 0 ? Promise.resolve() : new Promise<void>((r) => { this.idle = r; });
    return p.then(() => this.agent.destroy());
  }

  summary(): string {
    return `sent ${this.sent}, ok ${this.ok}, failed ${this.failed}, retried ${this.retried}${this.errors.length > 0 ? ` (${this.errors.slice(0, 5).join('; ')})` : ''}`;
  }
}
