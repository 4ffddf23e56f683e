// cf. ngx_event_accept.c and the `reuseport` listen parameter (ngx_clone_listening) — how the
// workers share accepting: the kernel spreads new connections over them, never a hop through
// the master per connection.
//
// Two ways, chosen here only:
//   'shared'     one listening socket, made by the master and handed to every worker
//                (node:cluster with SCHED_NONE): each worker accepts from it. Works on every Node.
//   'reuseport'  each worker binds its own socket with SO_REUSEPORT (net listen's `reusePort`,
//                Node 22.12+ and 23.1+), and the kernel hashes connections over the sockets.

export type AcceptMode = 'shared' | 'reuseport';

/** Does this Node version take `reusePort` in net.Server#listen? (22.12+ on 22, 23.1+) */
export function hasReusePort(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (m === null) return false;
  const major = Number(m[1]), minor = Number(m[2]);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/**
 * The way workers accept on this Node. `reuseport` is only taken when asked for (SLUICE_ACCEPT=
 * reuseport) and the Node version has it: with one socket per worker, the connections queued in
 * an old worker's socket at a reload are reset (unless net.ipv4.tcp_migrate_req is 1), while the
 * shared socket never drops one (docs/operations.md).
 */
export function acceptMode(version: string = process.version, asked: string | undefined = process.env.SLUICE_ACCEPT): AcceptMode {
  return asked === 'reuseport' && hasReusePort(version) ? 'reuseport' : 'shared';
}

/** What a worker adds to its listen() options in this mode. */
export function listenOptions(mode: AcceptMode): { reusePort?: boolean; exclusive?: boolean } {
  // exclusive: the worker binds the socket itself instead of asking the master for its handle
  return mode === 'reuseport' ? { reusePort: true, exclusive: true } : {};
}
