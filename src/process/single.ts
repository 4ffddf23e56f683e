// cf. ngx_single_process_cycle (os/unix/ngx_process_cycle.c) — sluice as one process (the
// default, workerProcesses: 1): it serves, and answers the signals itself. HUP reloads in
// place: the config is read and checked anew and, if good, a new server takes over the
// listening sockets at once (new connections get the new config) while the old one drains.

import { SluiceServer, startServer } from '../index.js';
import type { ResolvedConfig } from '../http/conf/config.js';
import { ProcessLog, Shutdown, configName, errorText, readConfig, type RunOptions } from './cycle.js';
import { onSignals, received } from './signals.js';
import { removePidFile, writePidFile } from './pid-file.js';

/** Serve `config` in this process until a signal ends it. Resolves once started. */
export async function runSingle(config: ResolvedConfig, opts: RunOptions): Promise<void> {
  let server: SluiceServer = await startServer(config);
  const log = new ProcessLog(config, opts.errorLog, true);
  const pidFile = writePidFile(config.http.pid);
  for (const a of server.addresses()) printListening(a);
  let reloading = false;
  const shutdown = new Shutdown(() => server, async () => {
    removePidFile(pidFile);
    await log.close();
    process.exit(0);
  });
  const exit = (graceful: boolean) => shutdown.run(graceful);

  onSignals({
    SIGHUP: () => {
      log.log('notice', received('SIGHUP', 'reconfiguring'));
      if (reloading || shutdown.started) return;
      reloading = true;
      void reload().finally(() => { reloading = false; });
    },
    SIGUSR1: () => {
      log.log('notice', received('SIGUSR1', 'reopening logs'));
      server.reopen();
      log.reopen(opts.errorLog);
    },
    SIGUSR2: () => log.log('notice', received('SIGUSR2', 'ignored (no binary upgrade in sluice)')),
    SIGWINCH: () => log.log('notice', received('SIGWINCH', 'ignored')),
    SIGQUIT: () => { log.log('notice', received('SIGQUIT', 'shutting down')); exit(true); },
    SIGTERM: () => { log.log('notice', received('SIGTERM', 'exiting')); exit(false); },
    SIGINT: () => { log.log('notice', received('SIGINT', 'exiting')); exit(false); },
  });

  async function reload(): Promise<void> {
    let next: SluiceServer | null = null;
    try {
      const fresh = await readConfig(opts.file, true);
      next = new SluiceServer(fresh);
      await next.takeOver(server, server.config.http.workerShutdownTimeout);
    } catch (e) {
      // the old config goes on serving
      if (next !== null) void next.logs.close();
      log.log('emerg', errorText(e));
      log.log('alert', `reload of ${configName(opts.file)} failed, the old configuration goes on`);
      return;
    }
    server = next!;
    log.replace(next.config, opts.errorLog);
    log.log('notice', 'reconfigured');
  }
}

export function printListening(a: { host: string; port: number }): void {
  process.stderr.write(`sluice: listening on http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/\n`);
}
