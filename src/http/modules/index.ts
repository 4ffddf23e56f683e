// cf. ngx_http_index_module.c — `index`: a uri ending in "/" tries these files (an internal
// redirect to the first that exists); names may hold variables. The handler is in static.ts beside the static module's.

import { ConfigError, invalidValue, showValue } from '../conf/size-time.js';
import { HSL, cmd, defineModule, parser } from '../conf/module.js';
import { words } from '../conf/parse.js';
import { compileComplex, type Complex } from '../script.js';

const index = parser<string | readonly string[]>()((v, key): readonly Complex[] => {
  const list = words(v);
  if (list === null || list.length === 0) throw invalidValue(v, key);
  for (let i = 0; i < list.length; i++) {
    const f = list[i];
    if (typeof f !== 'string' || f === '' || /\s|\0/.test(f)) throw new ConfigError(`index ${showValue(f)} in "${key}" directive is invalid`, key);
    // an absolute index is an internal redirect, so nothing can follow it
    if (f.charCodeAt(0) === 0x2f && i !== list.length - 1) throw new ConfigError(`only the last index in "${key}" directive should be absolute`, key);
  }
  return (list as string[]).map((f) => compileComplex(f, key));
});

export const indexModule = defineModule({
  name: 'index',
  nginx: 'ngx_http_index_module',
  about: 'a uri ending in "/" is served by its first index file (content phase)',
  directives: {
    index: cmd(HSL, index, 'index.html'),
  },
});
