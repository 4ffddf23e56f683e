// cf. ngx_module_t, ngx_command_t and ngx_http_module_t (create_loc_conf / merge_loc_conf) —
// what a module is: the directives it owns, where they are allowed, how each value is parsed,
// its default and how it merges downward, and what the module adds to a request's path: phase
// handlers, a location content handler, header and body filters (as factories: every server
// builds its chains from fresh instances).
//
// The types of the config (which keys each block takes, what each value may be) are worked out
// from the modules' directive tables, so adding a directive touches its module and nothing else.

import type { BodyFilter, HeaderFilter } from '../../filters/filter.js';
import type { Request } from '../request.js';
import type { LocationApi } from '../../subrequest/subrequest.js';
import type { Directives } from './directives.js';
import type { Getter } from '../variables.js';
import type { ResolvedConfig } from './config.js';

/** The blocks a directive may appear in (NGX_HTTP_MAIN_CONF, NGX_HTTP_SRV_CONF, NGX_HTTP_LOC_CONF). */
export type Block = 'http' | 'server' | 'location';
export const H = ['http'] as const;
export const L = ['location'] as const;
export const S = ['server'] as const;
export const HS = ['http', 'server'] as const;
export const SL = ['server', 'location'] as const;
export const HSL = ['http', 'server', 'location'] as const;

/**
 * Checks and converts a value as a user writes it (`I`) into its resolved form (`O`); throws a
 * ConfigError naming `key` (the block is added by the caller). `I` is a phantom: it types the
 * config users write.
 */
export type Parser<I, O> = ((v: unknown, key: string) => O) & { readonly __input?: I };

/** A parser with its input type spelled out: `parser<boolean>()((v, key) => ...)`. */
export function parser<I>(): <O>(fn: (v: unknown, key: string) => O) => Parser<I, O> {
  return (fn) => fn;
}

/** One directive (ngx_command_t). */
export interface Cmd<B extends readonly Block[] = readonly Block[], I = unknown, O = unknown> {
  readonly blocks: B;
  readonly set: Parser<I, O>;
  /** The resolved default; null when unset by default. */
  readonly def: O;
  /** The default as a user would write it (for docs/directives.md). */
  readonly written: string;
  /** Taken from the enclosing block when not set (ngx_conf_merge_*); `return` is not. */
  readonly inherit: boolean;
  /** nginx's name for it; undefined: the snake_case of its key; null: nginx has no such directive. */
  readonly nginx: string | null | undefined;
  /** Why it differs from nginx's, or null when it behaves as nginx's does. */
  readonly differs: string | null;
}

export interface CmdOptions {
  inherit?: boolean;
  /** nginx's directive name; omitted: the snake_case of the key. null: nginx has none. */
  nginx?: string | null;
  differs?: string;
}

/** A directive: allowed in `blocks`, parsed by `set`, `def` written as a user would (null: unset). */
export function cmd<B extends readonly Block[], I, O>(blocks: B, set: Parser<I, O>, def: NoInfer<I>, o?: CmdOptions): Cmd<B, I, O>;
export function cmd<B extends readonly Block[], I, O>(blocks: B, set: Parser<I, O>, def: null, o?: CmdOptions): Cmd<B, I, O | null>;
export function cmd<B extends readonly Block[], I, O>(blocks: B, set: Parser<I, O>, def: I | null, o: CmdOptions = {}): Cmd<B, I, O | null> {
  return {
    blocks,
    set,
    // the default goes through the parser too, at load, so it is checked like a user's value
    def: def === null ? null : set(def, '(default)'),
    written: def === null ? '' : writeDefault(def),
    inherit: o.inherit ?? true,
    nginx: o.nginx,
    differs: o.differs ?? null,
  };
}

/** nginx's name of a directive: as given, or the snake_case of its key. */
export function nginxName(key: string, c: Cmd): string | null {
  if (c.nginx !== undefined) return c.nginx;
  return key.replace(/[A-Z]/g, (ch) => '_' + ch.toLowerCase());
}

function writeDefault(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? '[]' : JSON.stringify(v);
  if (v instanceof Map) return '(built in)';
  if (typeof v === 'object' && v !== null) return Object.keys(v).length === 0 ? '{}' : '(built in)';
  return String(v);
}

/** A phase handler's answer: let the next handler (or phase) run. */
export const DECLINED = 0;
/** A phase handler's answer: the request has been answered; the phases stop. */
export const DONE = 1;
/**
 * A rewrite phase handler's answer: the URI changed, find the location again (nginx's
 * post-rewrite phase; at most 10 times, then 500).
 */
export const RESTART = 2;
/**
 * A content handler's answer (nginx's NGX_DONE with r->main->count raised): the handler goes on
 * by itself — from socket events, say — and ends the request with `resumeRequest(r, outcome)`
 * (src/http/core.ts). No promise in between: proxyPass answers this way.
 */
export const SUSPENDED = 3;
/**
 * A phase handler (what a module's postconfiguration registers in nginx): DECLINED, DONE,
 * SUSPENDED (content phase), or a promise — in the rewrite and access phases the run goes on
 * with the next handler when it settles; in the content phase the request is answered when it
 * settles.
 */
export type PhaseHandler = (r: Request) => number | Promise<unknown>;

/** The phases a module can add a handler to (nginx's NGX_HTTP_*_PHASE that modules use). */
export interface ModulePhases {
  readonly serverRewrite?: PhaseHandler;
  readonly rewrite?: PhaseHandler;
  /** NGX_HTTP_PREACCESS_PHASE: limit_req, limit_conn. */
  readonly preaccess?: PhaseHandler;
  readonly access?: PhaseHandler;
  readonly content?: PhaseHandler;
}

/** Every module's phase handlers, in module order (ngx_http_phase_engine_t). */
export class PhaseEngine {
  readonly serverRewrite: readonly PhaseHandler[];
  readonly rewrite: readonly PhaseHandler[];
  readonly preaccess: readonly PhaseHandler[];
  readonly access: readonly PhaseHandler[];
  readonly content: readonly PhaseHandler[];
  /**
   * With `used` (the directives the config sets anywhere), a module that has directives but
   * none of them set adds no handler: its handlers would only find their defaults and decline,
   * so a config pays only for the modules it uses. A module without directives always runs.
   */
  constructor(modules: readonly HttpModule[], used?: ReadonlySet<string>) {
    const active = used === undefined ? modules : modules.filter((m) => {
      const names = Object.keys(m.directives);
      return names.length === 0 || names.some((n) => used.has(n));
    });
    const pick = (k: keyof ModulePhases) => active.map((m) => m.phases?.[k]).filter((h): h is PhaseHandler => h !== undefined);
    this.serverRewrite = pick('serverRewrite');
    this.rewrite = pick('rewrite');
    this.preaccess = pick('preaccess');
    this.access = pick('access');
    this.content = pick('content');
  }
}

/** A module (ngx_module_t with its ngx_http_module_t). */
export interface HttpModule<D extends { readonly [name: string]: Cmd } = { readonly [name: string]: Cmd }> {
  /** Short name, as in the filter order and the docs ('gzip', 'proxy'). */
  readonly name: string;
  /** The nginx or OpenResty unit it mirrors ('ngx_http_gzip_module'), or null for sluice's own. */
  readonly nginx: string | null;
  /** What it is for, one line (docs/modules.md). */
  readonly about: string;
  readonly directives: D;
  /** Its header filter, made anew for each server's chain. */
  readonly headerFilter?: () => HeaderFilter;
  /** Its body filter, made anew for each server's chain. */
  readonly bodyFilter?: () => BodyFilter;
  /** Filters that depend on the server's config (the user's), bottom first, made anew per chain. */
  readonly filtersFor?: (conf: { readonly [name: string]: unknown }) => readonly { header?: HeaderFilter | null; body?: BodyFilter | null }[];
  /** Its handlers in the request's phases, run in module order. */
  readonly phases?: ModulePhases;
  /** r.location (subrequests), for a module that provides them: made once per request when asked for. */
  readonly locationApi?: (r: Request) => LocationApi;
  /** nginx directives of the module it mirrors that are not here yet (docs/directives.md lists them). */
  readonly notYet?: readonly string[];
  /** Checks across this module's directives in one block (root and alias, say); throws ConfigError. */
  readonly checkBlock?: (raw: Readonly<Record<string, unknown>>) => void;
  /**
   * Work on a block once its directives are resolved: what needs the order of its keys or a
   * nested block (rewrite's program and its `if` blocks). Throws ConfigError.
   */
  readonly block?: (raw: Readonly<Record<string, unknown>>, conf: Directives, ctx: BlockContext) => void;
  /** Variables the config defines (map, geo), from the top-level directives; name → getter. */
  readonly variables?: (http: Directives) => Iterable<readonly [string, Getter]>;
  /**
   * Checks across blocks once the whole config is resolved (ngx_http_module_t's postconfiguration
   * and init_zone: a limitReq naming a zone no limitReqZone declares); throws ConfigError.
   */
  readonly checkConfig?: (config: ResolvedConfig) => void;
}

/** What a module's `block` hook may do with the block being resolved. */
export interface BlockContext {
  readonly kind: Block;
  /** This block is an `if` block. */
  readonly inIf: boolean;
  /** Resolve a nested block (an `if` body) over this one, as a location-like block. */
  nested(raw: Readonly<Record<string, unknown>>, name: string): Directives;
}

/** Keeps the literal types of a module's table (so the config's types can be worked out). */
export function defineModule<D extends { readonly [name: string]: Cmd }>(m: HttpModule<D>): HttpModule<D> {
  return m;
}

// -------------------------------------------------------------------- types from the tables

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer X) => void ? X : never;

/** Every directive of these modules, by name. */
export type TableOf<M extends readonly HttpModule[]> = UnionToIntersection<M[number]['directives']>;

/** The resolved value of each directive. */
export type ValuesOf<T> = { -readonly [K in keyof T]: T[K] extends Cmd<readonly Block[], unknown, infer O> ? O : never };

/** What a user may write in a block of kind `B`. */
export type InputsOf<T, B extends Block> = {
  [K in keyof T as T[K] extends Cmd<infer Bs, unknown, unknown> ? (B extends Bs[number] ? K : never) : never]?:
    T[K] extends Cmd<readonly Block[], infer I, unknown> ? I : never;
};
