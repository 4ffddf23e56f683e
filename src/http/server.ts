// cf. ngx_http.c (ngx_http_add_listening, ngx_http_optimize_servers) — listening sockets, and
// which virtual servers answer on each of them.

import { selfTest as readBufferSelfTest } from '../core/read-buffer.js';
import { selfTest as directWriteSelfTest } from '../core/direct-write.js';
import { tuneHeap } from '../core/v8-heap.js';
import { readFileSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { FilterChains, type FilterStep } from '../filters/index.js';
import type { HttpModule } from './conf/module.js';
import type { Directives } from './conf/directives.js';
import { TRACE_ALL } from '../filters/trace.js';
import { resolveConfig, type ResolvedConfig, type ResolvedServer, type SluiceConfig } from './conf/config.js';
import { HttpConnection, ListenContext } from './connection.js';
import { LogFiles, logError } from '../core/log.js';
import { SYSTEM_CLOCK, type Clock } from '../core/clock.js';
import { STAT } from '../core/status.js';
import { strayError } from './core.js';
import { TlsListen } from './ssl.js';

export interface BoundAddress {
  host: string;
  port: number;
}

/** A running sluice: its listening sockets and their connections. */
export class SluiceServer {
  readonly config: ResolvedConfig;
  /** Each virtual server's own filter chains (fresh instances: nothing is shared between servers). */
  readonly chains: Map<ResolvedServer, FilterChains>;
  private readonly listeners: Listener[];
  /** Open client connections, against workerConnections (each connection's close counts down). */
  active: number;
  private guarded = false;
  private readonly maxConnections: number;
  private acceptLogged: number;

  /** The log files this server has open (each path once); closed with the server. */
  readonly logs: LogFiles;

  /** Where the connections' timeouts read time (the system clock; a test may give a ManualClock). */
  readonly clock: Clock;

  private readonly listenOptions: { reusePort?: boolean; exclusive?: boolean };
  private shutting: Promise<void> | null = null;

  constructor(config: ResolvedConfig, options: ServerOptions = {}) {
    this.config = config;
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.listenOptions = options.listen ?? {};
    this.logs = new LogFiles(this.clock);
    // every block's logs, opened once per path (a file that cannot be opened fails the start)
    for (const conf of allBlocks(config)) {
      this.logs.open(conf.errorLog);
      conf.accessLog.open(this.logs);
    }
    // what nginx warns about while reading its config (conflicting server names), at warn
    if (options.warnings !== false) for (const w of config.warnings) logError('warn', null, w, config.http.errorLog);
    const traced = TRACE_ALL || wantsTrace(config);
    this.chains = new Map();
    for (const s of config.servers) this.chains.set(s, buildChains(config.modules, s.conf, traced));
    this.listeners = [];
    const groups = new Map<string, { host: string; port: number; ssl: boolean; servers: ResolvedServer[] }>();
    for (const s of config.servers) {
      for (const l of s.listen) {
        const key = `${l.host}|${l.port}`;
        let g = groups.get(key);
        if (g === undefined) groups.set(key, g = { host: l.host, port: l.port, ssl: false, servers: [] });
        // one listen with ssl makes the address a TLS one (as nginx merges the listen options)
        if (l.ssl) g.ssl = true;
        // the default server goes first: it answers when no name matches
        if (l.defaultServer) g.servers.unshift(s); else g.servers.push(s);
      }
    }
    this.active = 0;
    this.maxConnections = config.http.workerConnections;
    this.acceptLogged = 0;
    for (const g of groups.values()) {
      const ctx = new ListenContext(config, g.servers, this.chains, { host: g.host, port: g.port }, this, this.clock);
      // certificates are read here: a reload (a new SluiceServer) takes the new files
      if (g.ssl) ctx.tls = new TlsListen(g.servers, { host: g.host, port: g.port }, this.clock);
      const l: Listener = { net: createNetServer({ allowHalfOpen: true, pauseOnConnect: false }), ctx, host: g.host, port: g.port, taken: false, bound: false };
      l.net.on('connection', (socket: Socket) => this.onConnection(socket, l.ctx));
      this.listeners.push(l);
    }
  }

  private onConnection(socket: Socket, ctx: ListenContext): void {
    STAT.accepts++; // stub_status: every accepted connection, dropped or not
    // worker_connections: past it nginx cannot get a connection and closes the new one
    if (this.maxConnections > 0 && this.active >= this.maxConnections) {
      logError('alert', null, `${this.maxConnections} worker_connections are not enough`, this.config.http.errorLog);
      socket.destroy();
      return;
    }
    this.active++;
    if (ctx.tls === null) { new HttpConnection(socket, ctx); return; }
    // counted from accept; a handshake that fails closes the raw socket
    socket.once('close', onRawClose);
    (socket as unknown as { _srv: SluiceServer })._srv = this;
    ctx.tls.accept(socket, (s, server0, info) => {
      socket.off('close', onRawClose);
      new HttpConnection(s, ctx, server0, info === null);
    });
  }

  /**
   * accept() failed (EMFILE, ENFILE, ...): the listener stays; log as nginx does, at most every
   * 500 ms. libuv first tries its reserved-descriptor trick (it accepts and closes the pending
   * connections, so the loop does not spin, as nginx's 500 ms accept pause prevents) and reports
   * the error only when that fails too; without this listener the 'error' would stop the process.
   */
  private onAcceptError(e: NodeJS.ErrnoException): void {
    const now = Date.now();
    if (now - this.acceptLogged < 500) return;
    this.acceptLogged = now;
    const errno = e.errno === undefined ? '' : `${-e.errno}: `;
    const text = e.code === 'EMFILE' ? 'Too many open files' : e.code === 'ENFILE' ? 'Too many open files in system' : e.message;
    logError(e.code === 'EMFILE' || e.code === 'ENFILE' ? 'crit' : 'alert', null, `accept() failed (${errno}${text})`, this.config.http.errorLog);
  }

  /**
   * Reopen every log file this server has open (nginx's USR1, what logrotate sends after moving
   * the files): a new fd for each path, lines logged from now on go there; the old fd is closed
   * once the lines queued for it are written. No line is lost or written twice.
   */
  reopenLogs(): void {
    this.logs.reopen();
  }

  /** Resolves when every line logged so far (buffered ones included) is written. */
  flushLogs(): Promise<void> {
    return this.logs.flush();
  }

  /** The filter chains of a virtual server (by its index in the config; the first by default). */
  chainsOf(server = 0): FilterChains {
    return this.chains.get(this.config.servers[server])!;
  }

  /** Start listening on every address; resolves when all are bound. */
  async listen(): Promise<this> {
    tuneHeap(); // V8's pretenuring off before any request runs (src/core/v8-heap.ts)
    // the shared read buffer's private path is checked once per process before anything is accepted
    await readBufferSelfTest();
    await directWriteSelfTest();
    await Promise.all(this.listeners.map((l) => l.bound ? undefined : new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(new Error(`sluice: bind() to ${l.host}:${l.port} failed (${(e as NodeJS.ErrnoException).code ?? e.message})`));
      l.net.once('error', onError);
      // port 0 cannot be shared by separate binds: such a listener goes through the shared socket
      const opts = l.port === 0 ? {} : this.listenOptions;
      l.net.listen({ host: l.host, port: l.port, backlog: 511, ...opts }, () => {
        l.net.off('error', onError);
        l.net.on('error', (e: NodeJS.ErrnoException) => this.onAcceptError(e));
        l.bound = true;
        resolve();
      });
    })));
    if (!this.guarded) { this.guarded = true; guardProcess(1); }
    const limit = openFileLimit();
    if (limit > 0 && this.maxConnections > limit) {
      // at start-up nginx says this on the console whatever the log level: so do we
      process.stderr.write(`sluice: [warn] ${this.maxConnections} worker_connections exceed open file resource limit: ${limit}\n`);
    }
    return this;
  }

  /** The bound addresses, in config order (port 0 becomes the real port). */
  addresses(): BoundAddress[] {
    return this.listeners.map((l) => {
      const a = l.net.address();
      return typeof a === 'object' && a !== null ? { host: a.address, port: a.port } : { host: l.host, port: l.port };
    });
  }

  /** The first bound port (handy for tests that listen on port 0). */
  get port(): number {
    return this.addresses()[0]?.port ?? 0;
  }

  /** The open client connections (for stats and tests). */
  connections(): HttpConnection[] {
    const out: HttpConnection[] = [];
    for (const l of this.listeners) for (const hc of l.ctx.connections) out.push(hc);
    return out;
  }

  /** Number of open client connections. */
  connectionCount(): number {
    let n = 0;
    for (const l of this.listeners) n += l.ctx.connections.size;
    return n;
  }

  /**
   * A reload in one process (nginx's new cycle, without a new process): this server, not yet
   * listening, takes over `old`'s listening sockets for the addresses both configs name (a
   * connection accepted from now on gets the new config; none is refused), binds the others,
   * and `old` drains: its requests finish under the old config, its idle connections close.
   */
  async takeOver(old: SluiceServer, timeoutMs: number | null): Promise<void> {
    for (const l of this.listeners) {
      const o = old.listeners.find((x) => !x.taken && x.host === l.host && x.port === l.port);
      if (o === undefined) continue;
      o.taken = true;
      o.net.removeAllListeners('connection');
      o.net.removeAllListeners('error');
      o.net.on('connection', (socket: Socket) => this.onConnection(socket, l.ctx));
      o.net.on('error', (e: NodeJS.ErrnoException) => this.onAcceptError(e));
      l.net = o.net;
      l.bound = true;
    }
    await this.listen();
    void old.shutdown(true, timeoutMs);
  }

  /**
   * Stop accepting, close idle connections, let running requests finish for `graceMs`,
   * then close whatever is left (nginx's graceful shutdown). null: no limit; 0: fast.
   */
  close(graceMs: number | null = 1000): Promise<void> {
    return this.shutdown(graceMs !== 0, graceMs, 0);
  }

  /**
   * Shut down. Graceful (nginx's QUIT, worker_shutdown_timeout): stop accepting, close idle
   * keep-alive connections, answer running requests with Connection: close, and after
   * `timeoutMs` (null: never) close what is left; an idle connection gets `idleGraceMs` for one
   * more request. Fast (TERM, INT): close every connection now.
   * Resolves once every connection is closed and the logs are written.
   */
  shutdown(graceful: boolean, timeoutMs: number | null, idleGraceMs = IDLE_GRACE_MS): Promise<void> {
    if (this.shutting !== null) {
      if (!graceful) for (const hc of this.connections()) hc.destroy();
      return this.shutting;
    }
    return this.shutting = this.drain(graceful, timeoutMs, idleGraceMs);
  }

  private async drain(graceful: boolean, timeoutMs: number | null, idleGraceMs: number): Promise<void> {
    const closed = this.listeners.filter((l) => !l.taken && l.bound).map((l) => new Promise<void>((resolve) => l.net.close(() => resolve())));
    const empty = this.listeners.map((l) => new Promise<void>((resolve) => {
      const ctx = l.ctx;
      ctx.draining = true;
      if (ctx.connections.size === 0) { resolve(); return; }
      ctx.onDrained = resolve;
      for (const hc of [...ctx.connections]) {
        if (graceful) hc.drain(idleGraceMs); else hc.destroy();
      }
    }));
    let timer: NodeJS.Timeout | null = null;
    if (graceful && timeoutMs !== null) {
      // worker_shutdown_timeout: what is still open then is closed
      timer = setTimeout(() => { for (const hc of this.connections()) hc.destroy(); }, timeoutMs);
    }
    await Promise.all(empty);
    if (timer !== null) clearTimeout(timer);
    // kept upstream connections go too (they are unref'd, but a closed server keeps nothing)
    for (const g of this.config.upstreams.values()) g.pool?.clear();
    // and the open file caches' descriptors (a reload's new config has caches of its own)
    for (const conf of allBlocks(this.config)) conf.openFileCache?.close();
    await Promise.all(closed);
    if (this.guarded) { this.guarded = false; guardProcess(-1); }
    await (this as { flushLogs?: () => Promise<void> }).flushLogs?.();
    await this.logs.close();
  }

  /** Reopen every log file (USR1, `sluice -s reopen`): the logs helper's reopenLogs when built. */
  reopen(): void {
    (this as { reopenLogs?: () => void }).reopenLogs?.();
  }
}

function onRawClose(this: Socket): void {
  (this as unknown as { _srv: SluiceServer })._srv.active--;
}

/** How long an idle connection may still send a request in a graceful shutdown (answered with Connection: close). */
const IDLE_GRACE_MS = 1000;

interface Listener {
  net: NetServer;
  readonly ctx: ListenContext;
  readonly host: string;
  readonly port: number;
  /** Handed to the server of a reload: closing this server leaves it open. */
  taken: boolean;
  bound: boolean;
}

/** The soft RLIMIT_NOFILE (Linux: /proc/self/limits), or 0 when it cannot be read. */
function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/**
 * While a server runs, no stray error stops the process: an exception thrown in a handler's timer
 * or a rejection nobody handled is logged at alert and ends only the request it belongs to
 * (core.ts strayError), as nginx + lua logs a failed timer and goes on.
 */
let running = 0;
function onUncaught(e: unknown): void { strayError(e, 'uncaughtException'); }
function onUnhandled(e: unknown): void { strayError(e, 'unhandledRejection'); }
function guardProcess(delta: number): void {
  const before = running;
  running += delta;
  if (before === 0 && running > 0) {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUnhandled);
  } else if (before > 0 && running === 0) {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUnhandled);
  }
}

/** What a server takes besides its config. */
export interface ServerOptions {
  /** The clock of the connections' timeouts (header, body, keep-alive, send). */
  clock?: Clock;
  /** Extra listen() options: `{ reusePort: true, exclusive: true }` for a worker that binds its own socket (src/process/accept.ts). */
  listen?: { reusePort?: boolean; exclusive?: boolean };
  /** Log the config's warnings (conflicting server names) to the error log; a worker does not,
   *  its master has (nginx warns once, while the master reads the config). Default true. */
  warnings?: boolean;
}

/** Resolve a config (throws ConfigError naming the bad key), bind, and serve. */
export async function startServer(config: SluiceConfig | ResolvedConfig, options: ServerOptions = {}): Promise<SluiceServer> {
  const resolved = isResolved(config) ? config : resolveConfig(config);
  return new SluiceServer(resolved, options).listen();
}

/** A server's chains from the module list: each module's filters, bottom first, made anew. */
export function buildChains(modules: readonly HttpModule[], conf: Directives, traced: boolean): FilterChains {
  const steps: FilterStep[] = modules.map((m) => () => {
    if (m.filtersFor !== undefined) return m.filtersFor(conf as unknown as { readonly [name: string]: unknown });
    if (m.headerFilter === undefined && m.bodyFilter === undefined) return [];
    return [{ header: m.headerFilter?.() ?? null, body: m.bodyFilter?.() ?? null }];
  });
  return new FilterChains(steps, traced);
}

/** Every block of a config: http, each server, each of its locations (named ones too). */
function* allBlocks(c: ResolvedConfig): Generator<Directives> {
  yield c.http;
  for (const s of c.servers) {
    yield s.conf;
    for (const l of s.locations.locations) yield l.conf;
    for (const l of s.named.values()) yield l.conf;
  }
}

/** Tracers are installed when some block of the config turns filterTrace on. */
function wantsTrace(c: ResolvedConfig): boolean {
  for (const conf of allBlocks(c)) if (conf.filterTrace) return true;
  return false;
}

function isResolved(c: unknown): c is ResolvedConfig {
  return typeof c === 'object' && c !== null && 'http' in c && Array.isArray((c as ResolvedConfig).servers)
    && (c as ResolvedConfig).servers.every((s) => typeof (s as ResolvedServer).locations?.find === 'function');
}
