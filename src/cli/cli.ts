// The `sluice` command: nginx's -c, -t, -v and -h.

import { resolveConfig, ConfigError } from '../http/conf/config.js';
import { startServer } from '../index.js'; // the entry point: it plugs subrequests in
import { loadConfigFile, printWarnings } from './load-config.js';
import { SERVER_VERSION } from '../core/version.js';
import defaultConfig from './default-config.js';

const USAGE = `Usage: sluice [-h] [-v] [-t] [-c file]

Options:
  -h          this help
  -v          show version and exit
  -t          test the configuration and exit
  -c file     set the configuration file (.ts, .mjs or .js; default: the embedded demo config)
`;

export async function main(argv: string[]): Promise<number> {
  let file: string | null = null;
  let test = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help' || a === '-?') { process.stdout.write(USAGE); return 0; }
    if (a === '-v' || a === '-V' || a === '--version') { process.stdout.write(`sluice version: sluice/${SERVER_VERSION} (node ${process.version})\n`); return 0; }
    if (a === '-t') { test = true; continue; }
    if (a === '-c') {
      file = argv[++i] ?? null;
      if (file === null) { process.stderr.write('sluice: option "-c" requires file name\n'); return 1; }
      continue;
    }
    if (a.startsWith('-c') && a.length > 2) { file = a.slice(2); continue; }
    process.stderr.write(`sluice: invalid option: "${a}"\n${USAGE}`);
    return 1;
  }

  const name = file ?? '(embedded default config)';
  let config;
  try {
    const raw = file === null ? defaultConfig : await loadConfigFile(file);
    config = resolveConfig(raw);
  } catch (e) {
    const msg = e instanceof ConfigError ? e.message : `sluice: cannot load ${name}: ${e instanceof Error ? e.message : String(e)}`;
    process.stderr.write(msg + '\n');
    if (test) process.stderr.write(`sluice: configuration file ${name} test failed\n`);
    return 1;
  }
  printWarnings(config);
  if (test) {
    process.stderr.write(`sluice: the configuration file ${name} syntax is ok\nsluice: configuration file ${name} test is successful\n`);
    return 0;
  }

  let server;
  try {
    server = await startServer(config);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  for (const a of server.addresses()) {
    process.stderr.write(`sluice: listening on http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/\n`);
  }
  const stop = (sig: string) => {
    process.stderr.write(`sluice: ${sig} received, shutting down\n`);
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return -1; // keep running
}
