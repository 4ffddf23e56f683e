// Loading a config file: .ts, .mjs or .js, default-exporting the config object.

import * as nodeModule from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../http/conf/config.js';

let hooked = false;

/** Import a config file and return its default export (not yet validated). */
export async function loadConfigFile(file: string): Promise<unknown> {
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
  const url = pathToFileURL(path).href + (path.endsWith('.js') ? '?sluice-config=1' : '');
  const mod = await import(url) as { default?: unknown };
  if (mod.default === undefined) throw new ConfigError(`config "${path}" has no default export`, 'config');
  return mod.default;
}
