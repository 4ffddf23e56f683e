// cf. ngx_cycle.c (ngx_init_cycle) — reading and checking a config, and the log a process
// writes its own lines to (signals, workers, reloads).

import { resolveConfig, ConfigError, type ResolvedConfig } from '../http/conf/config.js';
import type { SluiceServer } from '../http/server.js';
import { loadConfigFile } from '../cli/load-config.js';
import defaultConfig from '../cli/default-config.js';
import { LogFiles, logError, logTarget, type LogLevel, type LogTarget } from '../core/log.js';

/** What the sluice command was asked to run. */
export interface RunOptions {
  /** The config file (absolute), or null for the embedded demo config. */
  file: string | null;
  /** -e: where the process's own lines go (null: the config's top-level errorLog). */
  errorLog: string | null;
}

/** The name a config is reported under. */
export function configName(file: string | null): string {
  return file ?? '(embedded default config)';
}

/** Load and resolve the config (`fresh`: anew, for a reload); throws with nginx-like text. */
export async function readConfig(file: string | null, fresh = false): Promise<ResolvedConfig> {
  try {
    const raw = file === null ? defaultConfig : await loadConfigFile(file, fresh);
    return resolveConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new Error(`sluice: cannot load ${configName(file)}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The text of a failed load, as it is logged. */
export function errorText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/^sluice: (\[\w+\] )?/, '');
}

/**
 * The process's own log: -e, else the config's top-level errorLog. `shared`: a server in this
 * process has that errorLog open already (the single process), so only -e is opened here.
 */
export class ProcessLog {
  target: LogTarget;
  private files: LogFiles;
  private readonly shared: boolean;
  constructor(config: ResolvedConfig | null, override: string | null, shared: boolean) {
    this.files = new LogFiles();
    this.shared = shared;
    this.target = override !== null ? logTarget(override) : config !== null ? config.http.errorLog : logTarget('stderr');
    if (override !== null || !shared) this.files.open(this.target);
  }

  /** A line in nginx's shape: "2026/01/01 00:00:00 [notice] 123#0: message". */
  log(level: LogLevel, msg: string): void {
    logError(level, null, msg, this.target);
  }

  /** Switch to a new config's log (a reload); the old file is closed once written. */
  replace(config: ResolvedConfig, override: string | null): void {
    if (override !== null) return;
    this.target = config.http.errorLog;
    if (this.shared) return;
    const old = this.files;
    this.files = new LogFiles();
    this.files.open(this.target);
    void old.close();
  }

  /** USR1: reopen the file (a new fd for the same path), the old one closed once written. */
  reopen(override: string | null): void {
    if (override === null && this.shared) return; // the server reopens it
    const old = this.files;
    this.files = new LogFiles();
    if (override !== null) this.target = logTarget(override);
    this.files.open(this.target);
    void old.close();
  }

  close(): Promise<void> {
    return this.files.close();
  }
}

/**
 * A process's shutdown, once (the single process's and a worker's): graceful within
 * workerShutdownTimeout, or fast; a fast one may still cut a graceful one short. `server` is read
 * when it runs (a reload replaces it); `done` runs after the server has stopped.
 */
export class Shutdown {
  /** A shutdown has begun (a reload must not start then). */
  started = false;
  constructor(
    private readonly server: () => SluiceServer,
    private readonly done: () => Promise<void>,
    private readonly onGraceful?: () => void,
  ) {}

  run(graceful: boolean): void {
    const s = this.server();
    if (this.started) {
      if (!graceful) void s.shutdown(false, 0);
      return;
    }
    this.started = true;
    if (graceful) this.onGraceful?.();
    void s.shutdown(graceful, graceful ? s.config.http.workerShutdownTimeout : 0).then(this.done);
  }
}
