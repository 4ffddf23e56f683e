// cf. ngx_worker_process_cycle (os/unix/ngx_process_cycle.c) — a worker: it reads the config
// itself (a config holds functions, which cannot travel over IPC), serves on the listening
// sockets the master shares (or its own, reuseport), and answers the master's commands over
// the IPC channel: quit (graceful), stop (fast), reopen. It exits when the master goes away.

import { localStatus, setStatusSource, type StatusCounters } from '../core/status.js';
import { startServer, type SluiceServer } from '../index.js';
import { ProcessLog, errorText, readConfig, Shutdown, type RunOptions } from './cycle.js';
import { onSignals, received } from './signals.js';
import { acceptMode, listenOptions } from './accept.js';
import type { FromWorker, ToWorker } from './master.js';

/** What the master tells a worker in its environment. */
export interface WorkerEnv extends RunOptions {
  generation: number;
}

export const WORKER_ENV = 'SLUICE_WORKER';

// the stub_status contract (src/core/status.ts, another module's): asked by name at run time

export async function runWorker(env: WorkerEnv): Promise<void> {
  process.title = 'sluice: worker process';
  const send = (m: FromWorker) => { if (process.connected) process.send!(m); };
  let server: SluiceServer;
  let log: ProcessLog;
  try {
    const config = await readConfig(env.file, true);
    server = await startServer(config, { listen: listenOptions(acceptMode()), warnings: false });
    log = new ProcessLog(config, env.errorLog, true);
  } catch (e) {
    // nginx's fatal exit code: the master does not restart it
    if (process.connected) process.send!({ sluice: 'failed', error: errorText(e) } satisfies FromWorker, () => process.exit(2));
    else process.exit(2);
    return;
  }
  const shutdown = new Shutdown(() => server, async () => {
    await log.close();
    process.exit(0);
  }, () => log.log('notice', 'gracefully shutting down'));
  const exit = (graceful: boolean) => shutdown.run(graceful);
  const reopen = () => { server.reopen(); log.reopen(env.errorLog); };

  // status: the sum over all workers comes from the master
  const asks = new Map<number, (c: Record<string, number>) => void>();
  let askSerial = 0;
  setStatusSource(() => new Promise((resolve) => {
    const id = ++askSerial;
    asks.set(id, (c) => resolve(c as unknown as StatusCounters));
    send({ sluice: 'statusAsk', id });
  }));

  process.on('message', (m: ToWorker) => {
    if (m === null || typeof m !== 'object') return;
    switch (m.sluice) {
      case 'quit': exit(true); break;
      case 'stop': exit(false); break;
      case 'reopen': reopen(); break;
      case 'statusGet': send({ sluice: 'statusLocal', id: m.id, counters: { ...localStatus() } }); break;
      case 'statusSum': asks.get(m.id)?.(m.counters); asks.delete(m.id); break;
    }
  });
  // the master is gone (killed): finish what runs, then go
  process.on('disconnect', () => exit(true));
  onSignals({
    SIGHUP: () => { /* the master reloads; a worker has nothing to do */ },
    SIGUSR1: () => { log.log('notice', received('SIGUSR1', 'reopening logs')); reopen(); },
    SIGQUIT: () => exit(true),
    SIGTERM: () => exit(false),
    SIGINT: () => exit(false),
  });
  send({ sluice: 'ready', addresses: server.addresses() });
}
