// cf. ngx_cycle.c (ngx_create_pidfile, ngx_delete_pidfile, ngx_signal_process) — the pid file,
// and `sluice -s reload|reopen|quit|stop`, which reads it and signals that process.

import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_PID } from '../http/modules/process.js';

/** `-s` names and the signals they send, as nginx's. */
export const SIGNALS = {
  reload: 'SIGHUP',
  reopen: 'SIGUSR1',
  quit: 'SIGQUIT',
  stop: 'SIGTERM',
} as const;
export type SignalName = keyof typeof SIGNALS;

/** The pid file's absolute path: `pid` under the current directory (the prefix, after -p). */
export function pidPath(pid: string): string {
  return resolve(pid);
}

/**
 * Write this process's pid (the master's, or the single process's). The default path is
 * skipped when its directory does not exist (`npm start` in a checkout has no logs/); a path
 * the config names must be writable, as nginx requires. Returns the path written, or null.
 */
export function writePidFile(pid: string): string | null {
  const p = pidPath(pid);
  if (pid === DEFAULT_PID && !existsSync(dirname(p))) return null;
  try {
    writeFileSync(p, `${process.pid}\n`);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`sluice: [emerg] open() "${p}" failed (${-(err.errno ?? 0)}: ${err.code ?? err.message})`);
  }
  return p;
}

/** Remove the pid file at exit, if it still holds this process's pid. */
export function removePidFile(p: string | null): void {
  if (p === null) return;
  try {
    if (readFileSync(p, 'latin1').trim() === String(process.pid)) unlinkSync(p);
  } catch {
    // gone already
  }
}

/** `sluice -s name`: read the pid file and signal that process; an nginx-worded error else. */
export function signalProcess(pid: string, name: SignalName): string | null {
  const p = pidPath(pid);
  let text: string;
  try {
    text = readFileSync(p, 'latin1');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return `sluice: [error] open() "${p}" failed (${-(err.errno ?? 0)}: ${err.code === 'ENOENT' ? 'No such file or directory' : err.code ?? err.message})`;
  }
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n) || n <= 0) return `sluice: [error] invalid PID number "${text.trim()}" in "${p}"`;
  try {
    process.kill(n, SIGNALS[name]);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return `sluice: [alert] kill(${n}, ${SIGNALS[name]}) failed (${err.code === 'ESRCH' ? '3: No such process' : err.code ?? err.message})`;
  }
  return null;
}
