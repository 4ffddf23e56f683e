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
  /** The constructor of this table's blocks (made on first use, see makeBlock). */
  private blockCtor: BlockCtor | null;
  private readonly defaults: readonly unknown[];
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
    this.blockCtor = null;
    this.defaults = list.map((e) => e.cmd.def);
  }

  /** Is `name` allowed in a block of kind `b`? */
  allowed(e: DirectiveEntry, b: Block): boolean {
    return (e.cmd.blocks as readonly Block[]).includes(b);
  }

  /**
   * A block's directives over `parent`: every field, in table order, inherited or the default.
   *
   * A request reads its block's directives all the time (`r.conf.gzip`, as nginx reads a module's
   * loc_conf). An object given its ~120 fields one at a time by name — a loop of `o[name] = v` —
   * is one V8 keeps in dictionary mode: every read a hash lookup. So the fields are assigned by
   * one constructor, made once per table from the directive names (checked to be identifiers),
   * whose body assigns each of them: V8 then keeps them in the object itself, in one hidden class
   * shared by every block of the config, and a read is a load at a fixed offset.
   */
  makeBlock(parent: Directives | null): Directives {
    const C = this.blockCtor ??= blockConstructor(this.list);
    return new C(parent, this.defaults);
  }
}

type BlockCtor = new (parent: Directives | null, defaults: readonly unknown[]) => Directives;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function blockConstructor(list: readonly DirectiveEntry[]): BlockCtor {
  const lines: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const { name, cmd } = list[i];
    if (!IDENTIFIER.test(name)) throw new Error(`directive name "${name}" is not an identifier`);
    lines.push(cmd.inherit ? `this.${name} = p === null ? d[${i}] : p.${name};` : `this.${name} = d[${i}];`);
  }
  // (code made from the module table's own names, each checked to be an identifier above)
  const C = new Function('p', 'd', lines.join('\n')) as unknown as BlockCtor;
  C.prototype = Directives.prototype;
  return C;
}

/** One block's resolved directives: set here, inherited from the enclosing block, or defaults. */
// (declaration merging: the interface gives the fields their types; the table's block
// constructor sets them, see DirectiveTable.makeBlock)
export interface Directives extends DirectiveValues {}
export class Directives {
  constructor(table: DirectiveTable, parent: Directives | null) {
    return table.makeBlock(parent);
  }
}
