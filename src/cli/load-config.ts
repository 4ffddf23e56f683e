// Loading a config file: .ts, .mjs or .js, default-exporting the config object. A syntax error
// fails the load naming the file, line and column (TypeScript's diagnostic for .ts, Node's own
// parser's position for .mjs and .js), as nginx names the line of its config that is wrong.

import * as nodeModule from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { ConfigError, type ResolvedConfig } from '../http/conf/config.js';
import { logs } from '../core/log.js';
import { SYNTAX_MARK } from './config-hooks.js';

let hooked = false;

let generation = 0;

/**
 * Import a config file and return its default export (not yet validated). `fresh`: import it
 * anew, not from the module cache (a reload; what the file imports stays cached).
 */
export async function loadConfigFile(file: string, fresh = false): Promise<unknown> {
  const path = resolvePath(file);
  if (!existsSync(path)) throw new ConfigError(`open() "${path}" failed (No such file or directory)`, 'config');
  if (!/\.(ts|mts|mjs|js)$/.test(path)) throw new ConfigError(`config "${path}" must be a .ts, .mjs or .js file`, 'config');
  if (!hooked) {
    // module.register came with Node 20.6; before it, only plain .mjs configs that do not
    // import 'sluice' by name can load
    const register = (nodeModule as { register?: (url: URL) => void }).register;
    if (typeof register === 'function') register(new URL('./config-hooks.js', import.meta.url));
    else if (!path.endsWith('.mjs')) throw new ConfigError(`loading "${path}" needs Node >= 20.6 (module.register); write it as .mjs or update Node`, 'config');
    hooked = true;
  }
  // the query marks a .js config as ESM even in a folder without "type": "module"
  let url = pathToFileURL(path).href + (path.endsWith('.js') ? '?sluice-config=1' : '');
  if (fresh) url += (url.includes('?') ? '&' : '?') + `sluice-reload=${++generation}`;
  let mod: { default?: unknown };
  try {
    mod = await import(url) as { default?: unknown };
  } catch (e) {
    throw loadError(e, path);
  }
  if (mod.default === undefined) throw new ConfigError(`config "${path}" has no default export`, 'config');
  return mod.default;
}

/** A failed import as a ConfigError when it is a syntax error (with where it is), else as it was. */
function loadError(e: unknown, path: string): unknown {
  if (!(e instanceof Error)) return e;
  const marked = e.message.indexOf(SYNTAX_MARK);
  if (marked >= 0) return new ConfigError(e.message.slice(marked + SYNTAX_MARK.length), 'config');
  if (e.name !== 'SyntaxError' || /\.m?ts$/.test(path)) return e;
  // Node's SyntaxError from import() carries no position: its parser, run on the file alone
  // (as an ES module, as it is loaded), prints the line and a caret under the column
  const at = syntaxPosition(path);
  if (at === null) return new ConfigError(`${e.message} in a module imported by ${path}`, 'config');
  return new ConfigError(`${at.message} in ${path}:${at.line}:${at.column}`, 'config');
}

/** Where Node's parser stops in `path` (1-based line and column), or null when it parses. */
export function syntaxPosition(path: string): { line: number; column: number; message: string } | null {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const r = spawnSync(process.execPath, ['--input-type=module', '--check'], { input: source, encoding: 'utf8', timeout: 10000 });
  if (r.status === 0 || typeof r.stderr !== 'string') return null;
  const lines = r.stderr.split('\n');
  const head = /^\[stdin\]:(\d+)$/.exec(lines[0] ?? '');
  const msg = lines.find((l) => l.startsWith('SyntaxError: '));
  if (head === null || msg === undefined) return null;
  const line = Number(head[1]);
  const caret = (lines[2] ?? '').indexOf('^');
  // no caret (the input ended early): the column after the line's last character
  const column = caret >= 0 ? caret + 1 : (source.split('\n')[line - 1] ?? '').length + 1;
  return { line, column, message: msg.slice('SyntaxError: '.length) };
}

/**
 * The config's warnings on the console, "sluice: [warn] ...", as nginx prints them at start-up and
 * for -t whatever the error log's level (unless that log is stderr from warn: it says them already).
 */
export function printWarnings(config: ResolvedConfig, out: NodeJS.WritableStream = process.stderr): void {
  const t = config.http.errorLog;
  if (t.sink === out && logs(t, 'warn')) return;
  for (const w of config.warnings) out.write(`sluice: [warn] ${w}\n`);
}
