// cf. nginx.c (ngx_get_options, ngx_show_version_info) — the `sluice` command: nginx's -h, -v,
// -V, -t, -T, -q, -s, -p, -e and -c.

import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SERVER_VERSION } from '../core/version.js';
import { configName, readConfig, type RunOptions } from '../process/cycle.js';
import { guardEarlySignals } from '../process/signals.js';
import { SIGNALS, signalProcess, type SignalName } from '../process/pid-file.js';
import { acceptMode, hasReusePort } from '../process/accept.js';
import { dumpConfig } from './dump.js';
import { printWarnings } from './load-config.js';

const USAGE = `Usage: sluice [-?hvVtTq] [-s signal] [-p prefix] [-e filename] [-c filename]

Options:
  -?,-h         : this help
  -v            : show version and exit
  -V            : show version and build information and exit
  -t            : test configuration and exit
  -T            : test configuration, dump it and exit
  -q            : suppress non-error messages during configuration testing
  -s signal     : send signal to a master process: stop, quit, reopen, reload
  -p prefix     : set prefix path (the working directory: relative paths in the config,
                  the pid file and -c are under it; default: the current directory)
  -e filename   : set error log file (sluice's own lines: signals, workers; default: the
                  config's top-level errorLog)
  -c filename   : set configuration file (.ts, .mjs or .js; default: the embedded demo config)
`;

export async function main(argv: string[]): Promise<number> {
  // first of all: SIGUSR1 must never open Node's inspector, HUP must not kill us mid-start
  guardEarlySignals();
  if (cluster.isWorker && process.env.SLUICE_WORKER !== undefined) {
    const { runWorker } = await import('../process/worker.js');
    await runWorker(JSON.parse(process.env.SLUICE_WORKER));
    return -1;
  }

  let file: string | null = null;
  let test = false, dump = false, quiet = false;
  let signal: string | null = null;
  let prefix: string | null = null;
  let errorLog: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help' || a === '-?') { process.stderr.write(USAGE); return 0; }
    if (a === '-v' || a === '--version') { process.stderr.write(`sluice version: sluice/${SERVER_VERSION}\n`); return 0; }
    if (a === '-V') { process.stderr.write(versionInfo()); return 0; }
    if (a === '-t') { test = true; continue; }
    if (a === '-T') { test = true; dump = true; continue; }
    if (a === '-q') { quiet = true; continue; }
    const opt = /^-([cspe])(.*)$/.exec(a);
    if (opt !== null) {
      const v = opt[2] !== '' ? opt[2] : argv[++i];
      if (v === undefined) {
        const what = { c: 'file name', s: 'parameter', p: 'prefix path', e: 'file name' }[opt[1] as 'c' | 's' | 'p' | 'e'];
        process.stderr.write(`sluice: option "-${opt[1]}" requires ${what}\n`);
        return 1;
      }
      if (opt[1] === 'c') file = v;
      else if (opt[1] === 's') signal = v;
      else if (opt[1] === 'p') prefix = v;
      else errorLog = v;
      continue;
    }
    process.stderr.write(`sluice: invalid option: "${a}"\n${USAGE}`);
    return 1;
  }
  if (signal !== null && !(signal in SIGNALS)) {
    process.stderr.write(`sluice: invalid option: "-s ${signal}"\n`);
    return 1;
  }
  if (prefix !== null) {
    try {
      process.chdir(prefix);
    } catch (e) {
      process.stderr.write(`sluice: [emerg] chdir("${prefix}") failed (${(e as NodeJS.ErrnoException).code})\n`);
      return 1;
    }
  }
  if (errorLog !== null && errorLog !== 'stderr') errorLog = resolve(errorLog);
  const opts: RunOptions = { file: file === null ? null : resolve(file), errorLog };
  const name = configName(opts.file);

  let config;
  try {
    config = await readConfig(opts.file);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    if (test) process.stderr.write(`sluice: configuration file ${name} test failed\n`);
    return 1;
  }
  if (signal === null) printWarnings(config);
  if (signal !== null) {
    // as nginx: the config names the pid file, whose process gets the signal
    const err = signalProcess(config.http.pid, signal as SignalName);
    if (err !== null) { process.stderr.write(err + '\n'); return 1; }
    return 0;
  }
  if (test) {
    if (!quiet) process.stderr.write(`sluice: the configuration file ${name} syntax is ok\nsluice: configuration file ${name} test is successful\n`);
    if (dump) {
      if (opts.file !== null) process.stdout.write(`# configuration file ${opts.file}:\n${readFileSync(opts.file, 'utf8')}\n`);
      process.stdout.write(`# resolved configuration (values not inherited or default; nginx's names):\n${dumpConfig(config)}`);
    }
    return 0;
  }

  try {
    const master = config.http.masterProcess ?? config.http.workerProcesses > 1;
    if (master) {
      const { runMaster } = await import('../process/master.js');
      await runMaster(config, opts);
    } else {
      const { runSingle } = await import('../process/single.js');
      await runSingle(config, opts);
    }
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  return -1; // keep running
}

/** -V: the version, what it runs on and how it accepts. */
function versionInfo(): string {
  const v = process.versions;
  return `sluice version: sluice/${SERVER_VERSION}\n`
    + `built with TypeScript, running on Node ${process.version} (V8 ${v.v8}, libuv ${v.uv}, OpenSSL ${v.openssl ?? '-'}, llhttp-compatible parser: sluice's own)\n`
    + `workers accept on: ${acceptMode() === 'shared' ? 'one shared listening socket (node:cluster SCHED_NONE)' : 'their own sockets (reusePort)'}`
    + `${hasReusePort(process.version) ? '; reusePort available (SLUICE_ACCEPT=reuseport)' : '; reusePort not available in this Node (22.12+)'}\n`
    + `platform: ${process.platform} ${process.arch}\n`;
}
