// cf. nginx -T (ngx_conf_dump) — the config as sluice resolved it: in each block, the
// directives whose value is not what the enclosing block (or the default) gives, with nginx's
// names, written as nginx would; values nginx has no words for are shown as sluice sees them.

import type { ResolvedConfig } from '../http/conf/config.js';
import type { Directives } from '../http/conf/directives.js';
import { nginxName } from '../http/conf/module.js';

/** The resolved config, as text (what `sluice -T` prints after the file). */
export function dumpConfig(c: ResolvedConfig): string {
  const out: string[] = [];
  const table = c.table.list;
  const defaults: Record<string, unknown> = {};
  for (const e of table) defaults[e.name] = e.cmd.def;
  const block = (conf: Directives, outer: Record<string, unknown>, indent: string) => {
    for (const e of table) {
      const v = (conf as unknown as Record<string, unknown>)[e.name];
      if (show(v) === show(outer[e.name])) continue;
      out.push(`${indent}${nginxName(e.name, e.cmd) ?? e.name} ${show(v)};${nginxName(e.name, e.cmd) === null ? `  # sluice's ${e.name}` : ''}`);
    }
  };
  const http = c.http as unknown as Record<string, unknown>;
  block(c.http, defaults, '');
  out.push('http {');
  for (const [name, g] of c.upstreams) out.push(`    upstream ${name} { ${show(g)} }`);
  for (const s of c.servers) {
    out.push('    server {');
    for (const l of s.listen) out.push(`        listen ${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}${l.defaultServer ? ' default_server' : ''};`);
    if (s.matchNames.length > 0 && !(s.matchNames.length === 1 && s.matchNames[0] === '')) out.push(`        server_name ${s.matchNames.join(' ')};`);
    block(s.conf, http, '        ');
    const sconf = s.conf as unknown as Record<string, unknown>;
    for (const l of [...s.locations.locations, ...s.named.values()]) {
      out.push(`        location ${l.key} {`);
      block(l.conf, sconf, '            ');
      out.push('        }');
    }
    out.push('    }');
  }
  out.push('}');
  return out.join('\n') + '\n';
}

/** A resolved value in a line: plain values as nginx writes them, the rest summarised. */
function show(v: unknown, depth = 0): string {
  if (v === null || v === undefined) return 'off';
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return /^[\w./:*@$~^-]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'function') return `(function ${v.name || 'anonymous'})`;
  if (v instanceof RegExp) return `~${v.source}`;
  if (depth > 3) return '...';
  if (Array.isArray(v)) return `[${v.map((x) => show(x, depth + 1)).join(', ')}]`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${show(k, depth + 1)}: ${show(x, depth + 1)}`).join(', ')}}`;
  if (v instanceof Set) return `[${[...v].map((x) => show(x, depth + 1)).join(', ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('path' in o && 'level' in o && 'sink' in o) return o.path === null ? 'off' : `${show(o.path)}`; // a LogTarget
    return `{${Object.entries(o).filter(([, x]) => typeof x !== 'function').map(([k, x]) => `${k}: ${show(x, depth + 1)}`).join(', ')}}`;
  }
  return String(v);
}
