// cf. os/unix/ngx_process.c (signals[], ngx_signal_handler) — the signals sluice answers, as
// nginx does: HUP reload, USR1 reopen the logs, QUIT graceful shutdown, TERM and INT fast
// shutdown. USR2 (nginx's binary upgrade) and WINCH are logged and ignored.
//
// A listener for SIGUSR1 is installed before anything else runs: with none, Node would open
// its inspector on 127.0.0.1:9229 when the signal comes (what logrotate sends nginx).

import { constants } from 'node:os';

export type Sig = 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2' | 'SIGWINCH' | 'SIGQUIT' | 'SIGTERM' | 'SIGINT';
export const HANDLED: readonly Sig[] = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGQUIT', 'SIGTERM', 'SIGINT'];

/** "signal 1 (SIGHUP) received", as nginx logs it (Node does not tell the sender). */
export function received(sig: Sig, what: string): string {
  return `signal ${constants.signals[sig]} (${sig}) received, ${what}`;
}

type Handlers = Partial<Record<Sig, () => void>>;
let current: Handlers = {};
const installed = new Set<Sig>();

function dispatch(sig: Sig): void {
  const h = current[sig];
  if (h !== undefined) h();
}

/**
 * Route the signals to `handlers` (replacing the last set). A signal without a handler here is
 * ignored, except TERM, INT and QUIT before any handler is set, which keep Node's default (exit).
 */
export function onSignals(handlers: Handlers): void {
  current = handlers;
  for (const sig of HANDLED) {
    const want = handlers[sig] !== undefined || sig === 'SIGUSR1' || sig === 'SIGHUP' || sig === 'SIGUSR2' || sig === 'SIGWINCH';
    if (want && !installed.has(sig)) {
      installed.add(sig);
      process.on(sig, dispatch);
    }
  }
}

/** At start-up, before the config is read: USR1 must not open the inspector, HUP must not kill. */
export function guardEarlySignals(): void {
  onSignals({});
}
