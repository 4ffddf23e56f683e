// cf. ngx_core_module (nginx.c: worker_processes, master_process, pid, worker_shutdown_timeout) —
// how sluice is run: one process, or a master with worker processes (src/process/).

import { availableParallelism, cpus } from 'node:os';
import { H, cmd, defineModule, parser } from '../conf/module.js';
import { invalidValue } from '../conf/size-time.js';
import { path, timer } from '../conf/parse.js';

/** worker_processes: a count, or 'auto' (one per CPU, as nginx counts them). */
const workerCount = parser<number | 'auto'>()((v, key): number => {
  if (v === 'auto') return cpuCount();
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 1024) return v;
  if (typeof v === 'string' && /^[0-9]{1,4}$/.test(v) && Number(v) >= 1) return Number(v);
  throw invalidValue(v, key);
});

/** master_process: on or off; unset, a master runs when there is more than one worker. */
const masterFlag = parser<boolean>()((v, key): boolean => {
  if (typeof v === 'boolean') return v;
  throw invalidValue(v, key);
});

/** The CPUs this process may use (nginx's ngx_ncpu). */
export function cpuCount(): number {
  const n = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
  return Math.max(1, n);
}

/** The pid file's path when `pid` is not set, under the prefix (nginx: logs/nginx.pid). */
export const DEFAULT_PID = 'logs/sluice.pid';

export const processModule = defineModule({
  name: 'process',
  nginx: 'ngx_core_module',
  about: 'worker_processes, master_process, pid, worker_shutdown_timeout: how sluice is run (docs/operations.md)',
  directives: {
    workerProcesses: cmd(H, workerCount, 1, {
      differs: "default 1 and then no master process (nginx: 1 worker under a master); 'auto' counts the CPUs this process may use",
    }),
    masterProcess: cmd(H, masterFlag, null, {
      differs: 'unset (the default): a master runs when workerProcesses is more than 1 (nginx: on); masterProcess: true runs one worker under a master',
    }),
    pid: cmd(H, path, DEFAULT_PID, {
      differs: 'relative to the prefix (-p, else the current directory); the default logs/sluice.pid is skipped without a word when its directory does not exist',
    }),
    workerShutdownTimeout: cmd(H, timer, null, {
      differs: 'also bounds a single process\'s graceful shutdown; unset, a graceful shutdown waits for the last request',
    }),
  },
});
