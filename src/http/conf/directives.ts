// cf. ngx_http_core_module.c (merge_loc_conf) and ngx_conf_file.c — one block's directives,
// from the modules' tables: every module's directives are fields of one object per block
// (set there, inherited from the enclosing block, or the default), so a request reads
// `r.conf.gzip` as nginx reads its module's loc_conf.

import type { DirectiveValues } from '../../modules.js';
import type { Block, Cmd, HttpModule } from './module.js';

export type { DirectiveValues, HttpDirectives, ServerDirectives, LocationDirectives } from '../../modules.js';
export type { Handler } from '../modules/lua.js';
export type { ReturnValue } from '../modules/rewrite.js';
export type { HeaderBuffers } from '../modules/core.js';
export type { AddHeader, Expires } from '../modules/headers.js';
export { ProxyTarget, type ProxyRedirect } from '../modules/proxy.js';
export type { SizeInput, TimeInput } from './parse.js';
export { isPlainObject } from './parse.js';

/** A directive of the table: its name, its module, its row. */
export interface DirectiveEntry {
  readonly name: string;
  readonly module: HttpModule;
  readonly cmd: Cmd;
}

/** Every directive of a module list, in module order (ngx_command_t arrays, joined). */
export class DirectiveTable {
  readonly modules: readonly HttpModule[];
  readonly list: readonly DirectiveEntry[];
  readonly byName: ReadonlyMap<string, DirectiveEntry>;
  constructor(modules: readonly HttpModule[]) {
    const list: DirectiveEntry[] = [];
    const byName = new Map<string, DirectiveEntry>();
    for (const m of modules) {
      for (const name of Object.keys(m.directives)) {
        const prev = byName.get(name);
        if (prev !== undefined) throw new Error(`directive "${name}" is declared by both "${prev.module.name}" and "${m.name}"`);
        const e: DirectiveEntry = { name, module: m, cmd: m.directives[name] };
        list.push(e);
        byName.set(name, e);
      }
    }
    this.modules = modules;
    this.list = list;
    this.byName = byName;
  }

  /** Is `name` allowed in a block of kind `b`? */
  allowed(e: DirectiveEntry, b: Block): boolean {
    return (e.cmd.blocks as readonly Block[]).includes(b);
  }
}

/** One block's resolved directives: set here, inherited from the enclosing block, or defaults. */
// (declaration merging: the interface gives the fields their types, the constructor sets them)
export interface Directives extends DirectiveValues {}
export class Directives {
  constructor(table: DirectiveTable, parent: Directives | null) {
    // every field, in table order, so all Directives share one hidden class
    const self = this as unknown as Record<string, unknown>;
    const p = parent as unknown as Record<string, unknown> | null;
    const list = table.list;
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      self[e.name] = p !== null && e.cmd.inherit ? p[e.name] : e.cmd.def;
    }
  }
}
