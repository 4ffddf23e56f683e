// cf. ngx_master_process_cycle (os/unix/ngx_process_cycle.c) and ngx_reap_children — the
// master: it reads and checks the config, starts the workers, replaces one that dies, reloads
// on HUP (new workers first, then the old ones drain), and never serves a request itself.
//
//                  sluice -s reload|reopen|quit|stop  ──► pid file ──► signal
//                                                                        │
//   ┌──────────── master (reads the config, holds the listening sockets) ▼ ───┐
//   │  IPC: quit / stop / reopen / status          fork, watch, respawn       │
//   └──────┬─────────────────────┬─────────────────────┬──────────────────────┘
//          ▼                     ▼                     ▼
//      worker 1              worker 2     ...      worker N   (each reads the config itself)
//          ▲                     ▲                     ▲
//          └────── accept() on the one shared listening socket: the kernel spreads ──┘

import cluster, { type Worker } from 'node:cluster';
import { constants } from 'node:os';
import type { ResolvedConfig } from '../http/conf/config.js';
import { ProcessLog, configName, errorText, readConfig, type RunOptions } from './cycle.js';
import { onSignals, received } from './signals.js';
import { removePidFile, writePidFile } from './pid-file.js';
import { WORKER_ENV, type WorkerEnv } from './worker.js';
import { printListening } from './single.js';
import type { BoundAddress } from '../http/server.js';

/** The master's commands to a worker. */
export type ToWorker =
  | { sluice: 'quit' } | { sluice: 'stop' } | { sluice: 'reopen' }
  | { sluice: 'statusGet'; id: number }
  | { sluice: 'statusSum'; id: number; counters: Record<string, number> };

/** A worker's messages to the master. */
export type FromWorker =
  | { sluice: 'ready'; addresses: BoundAddress[] }
  | { sluice: 'failed'; error: string }
  | { sluice: 'statusAsk'; id: number }
  | { sluice: 'statusLocal'; id: number; counters: Record<string, number> };

/** A worker that lives this long (ms) was not "dying at start": the back-off starts over. */
export const STABLE_MS = 2000;
/** The longest wait before restarting a worker that keeps dying. */
export const MAX_BACKOFF_MS = 10000;

/** How long to wait before restarting a worker after `quick` deaths in a row soon after start. */
export function backoffMs(quick: number): number {
  return quick <= 1 ? 0 : Math.min(MAX_BACKOFF_MS, 100 * 2 ** (quick - 2));
}

interface Proc {
  readonly worker: Worker;
  readonly generation: number;
  readonly started: number;
  ready: boolean;
  retiring: boolean;
  readonly up: Promise<BoundAddress[]>;
}

export async function runMaster(first: ResolvedConfig, opts: RunOptions): Promise<void> {
  process.title = `sluice: master process ${process.argv.slice(1).join(' ')}`;
  cluster.schedulingPolicy = cluster.SCHED_NONE; // one shared socket: the kernel spreads accept()
  cluster.setupPrimary({ exec: process.argv[1], args: [], silent: false });
  let config = first;
  const log = new ProcessLog(config, opts.errorLog, false);
  // what nginx warns about while reading the config, once, in the master's error log (the
  // workers are told not to)
  for (const w of config.warnings) log.log('warn', w);
  const pidFile = writePidFile(config.http.pid);
  const procs = new Set<Proc>();
  let generation = 1;
  let quick = 0;
  let exiting = false;
  let reloading = false;
  let killTimer: NodeJS.Timeout | null = null;

  const spawn = (gen: number): Proc => {
    const env: WorkerEnv = { generation: gen, file: opts.file, errorLog: opts.errorLog };
    const worker = cluster.fork({ [WORKER_ENV]: JSON.stringify(env) });
    let up!: (a: BoundAddress[]) => void;
    let down!: (e: Error) => void;
    const p: Proc = { worker, generation: gen, started: Date.now(), ready: false, retiring: false, up: new Promise((res, rej) => { up = res; down = rej; }) };
    p.up.catch(() => { /* a failed start is reported by whoever waits for it */ });
    procs.add(p);
    log.log('notice', `start worker process ${worker.process.pid}`);
    worker.on('message', (m: FromWorker) => {
      if (m === null || typeof m !== 'object') return;
      if (m.sluice === 'ready') { p.ready = true; up(m.addresses); } else if (m.sluice === 'failed') { log.log('emerg', m.error); down(new Error(m.error)); } else if (m.sluice === 'statusAsk') void sumStatus(worker, m.id);
    });
    worker.on('exit', (code: number | null, signal: string | null) => {
      procs.delete(p);
      down(new Error(`worker process ${worker.process.pid} exited before it was ready`));
      reaped(p, code, signal);
    });
    return p;
  };

  const reaped = (p: Proc, code: number | null, signal: string | null) => {
    const pid = p.worker.process.pid;
    const how = signal !== null ? `exited on signal ${signalNumber(signal)}` : `exited with code ${code ?? 0}`;
    const expected = p.retiring || exiting;
    log.log(expected && signal === null && code === 0 ? 'notice' : 'alert', `worker process ${pid} ${how}`);
    if (exiting) {
      if (procs.size === 0) void finish();
      return;
    }
    if (expected || !p.ready) return; // retired, or a start that failed (its waiter handles it)
    if (code === 2) { log.log('alert', `worker process ${pid} exited with fatal code 2 and cannot be respawned`); return; }
    quick = Date.now() - p.started < STABLE_MS ? quick + 1 : 0;
    const wait = backoffMs(quick);
    if (wait > 0) log.log('alert', `worker processes keep exiting soon after they start: the next one starts in ${wait} ms`);
    const again = () => {
      if (exiting) return;
      const n = spawn(generation);
      n.up.catch((e: Error) => log.log('alert', e.message));
    };
    if (wait === 0) again(); else setTimeout(again, wait).unref();
  };

  const finish = async () => {
    if (killTimer !== null) clearTimeout(killTimer);
    log.log('notice', 'exit');
    removePidFile(pidFile);
    await log.close();
    process.exit(0);
  };

  const tell = (p: Proc, m: ToWorker) => { if (p.worker.isConnected()) p.worker.send(m); };

  const shutdown = (graceful: boolean) => {
    if (exiting && graceful) return;
    exiting = true;
    for (const p of procs) tell(p, { sluice: graceful ? 'quit' : 'stop' });
    if (!graceful && killTimer === null) {
      // nginx's master sends SIGKILL to workers that outlive a fast shutdown
      killTimer = setTimeout(() => { for (const p of procs) p.worker.process.kill('SIGKILL'); }, 5000);
    }
    if (procs.size === 0) void finish();
  };

  const startGeneration = async (gen: number, n: number): Promise<{ procs: Proc[]; addresses: BoundAddress[] }> => {
    const started: Proc[] = [];
    for (let i = 0; i < n; i++) started.push(spawn(gen));
    try {
      const all = await Promise.all(started.map((p) => p.up));
      return { procs: started, addresses: all[0] };
    } catch (e) {
      for (const p of started) { p.retiring = true; tell(p, { sluice: 'stop' }); }
      throw e;
    }
  };

  const reload = async () => {
    let fresh: ResolvedConfig;
    try {
      fresh = await readConfig(opts.file, true);
    } catch (e) {
      log.log('emerg', errorText(e));
      log.log('alert', `reload of ${configName(opts.file)} failed, the old configuration goes on`);
      return;
    }
    const old = [...procs];
    const gen = ++generation;
    try {
      await startGeneration(gen, fresh.http.workerProcesses);
    } catch (e) {
      generation = gen - 1;
      log.log('alert', `reload failed (${errorText(e)}), the old workers go on`);
      return;
    }
    config = fresh;
    log.replace(config, opts.errorLog);
    for (const w of config.warnings) log.log('warn', w);
    for (const p of old) { p.retiring = true; tell(p, { sluice: 'quit' }); }
  };

  // stub_status: the sum of every live worker's counters
  let statusSerial = 0;
  const sumStatus = async (asker: Worker, id: number) => {
    const ask = ++statusSerial;
    const answers = [...procs].filter((p) => p.worker.isConnected()).map((p) => new Promise<Record<string, number>>((resolve) => {
      const t = setTimeout(() => { p.worker.off('message', on); resolve({}); }, 1000);
      const on = (m: FromWorker) => {
        if (m?.sluice === 'statusLocal' && m.id === ask) { clearTimeout(t); p.worker.off('message', on); resolve(m.counters); }
      };
      p.worker.on('message', on);
      p.worker.send({ sluice: 'statusGet', id: ask } satisfies ToWorker);
    }));
    const sum: Record<string, number> = {};
    for (const c of await Promise.all(answers)) for (const [k, v] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + v;
    if (asker.isConnected()) asker.send({ sluice: 'statusSum', id, counters: sum } satisfies ToWorker);
  };

  onSignals({
    SIGHUP: () => {
      log.log('notice', received('SIGHUP', 'reconfiguring'));
      if (reloading || exiting) return;
      reloading = true;
      void reload().finally(() => { reloading = false; });
    },
    SIGUSR1: () => {
      log.log('notice', received('SIGUSR1', 'reopening logs'));
      log.reopen(opts.errorLog);
      for (const p of procs) tell(p, { sluice: 'reopen' });
    },
    SIGUSR2: () => log.log('notice', received('SIGUSR2', 'ignored (no binary upgrade in sluice)')),
    SIGWINCH: () => log.log('notice', received('SIGWINCH', 'ignored')),
    SIGQUIT: () => { log.log('notice', received('SIGQUIT', 'shutting down')); shutdown(true); },
    SIGTERM: () => { log.log('notice', received('SIGTERM', 'exiting')); shutdown(false); },
    SIGINT: () => { log.log('notice', received('SIGINT', 'exiting')); shutdown(false); },
  });

  let addresses: BoundAddress[];
  try {
    addresses = (await startGeneration(generation, config.http.workerProcesses)).addresses;
  } catch (e) {
    exiting = true;
    removePidFile(pidFile);
    throw e;
  }
  for (const a of addresses) printListening(a);
}

function signalNumber(name: string): number | string {
  return (constants.signals as Record<string, number>)[name] ?? name;
}
