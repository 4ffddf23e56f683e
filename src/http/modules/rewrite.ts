// cf. ngx_http_rewrite_module.c and the script codes of ngx_http_script.c — `rewrite`, `set`,
// `if`, `break`, `return` and `rewrite_log`. As in nginx, a block's rewrite directives become one
// program, run in the order written: the server block's in the server rewrite phase, the chosen
// location's in the rewrite phase. An `if` whose condition holds runs its own directives in
// place and makes its block the request's config (proxyPass or addHeader inside it take effect);
// the directives after the `if` still run, as nginx compiles them into the same code array.
//
//   rewrite ... last       stop, and find the location again for the new URI (at most 10 times)
//   rewrite ... break      stop, and stay in this location with the new URI
//   rewrite ... redirect   302 (permanent: 301); also when the replacement starts with
//                          http://, https:// or $scheme
//
// The order of directives of different names is the order of their keys in the block (a JS
// object keeps it); `rewrite`, `set` and `if` each take a list, run in its order; and a `rewrite`
// list may hold steps ({ set }, { if }, { return }, { break }) between its rules, for any order
// nginx can write (an if, a set, then another if).

import { statSync } from 'node:fs';
import { ConfigError, invalidValue, showValue } from '../conf/size-time.js';
import { DECLINED, DONE, HSL, RESTART, SL, cmd, defineModule, parser, type BlockContext, type PhaseHandler } from '../conf/module.js';
import type { Directives } from '../conf/directives.js';
import type { Request } from '../request.js';
import { expandVariables, isChangeable, setVar } from '../variables.js';
import { flag, isHeaderSafe, isPlainObject } from '../conf/parse.js';
import { compileComplex, declareVariable, type Complex } from '../script.js';
import { compileRegex, regexExec, type ConfigRegex } from '../regex.js';
import { logError } from '../../core/log.js';
import { typeFor } from './static-handler.js';
import { asciiText } from '../../core/buf.js';

export interface ReturnValue {
  code: number;
  /** Body text, or the Location for 301/302/303/307/308; null when only a code was given. */
  text: string | null;
}

export function isRedirect(code: number): boolean {
  return code === 301 || code === 302 || code === 303 || code === 307 || code === 308;
}

/** [code], [code, text], [code, url] for 301/302/303/307/308, or 'http(s)://url' for a 302. */
const ret = parser<number | string | readonly [number] | readonly [number, string]>()((v, key): ReturnValue => {
  let code: unknown;
  let text: unknown = null;
  if (typeof v === 'string') {
    // a lone URL means 302, as in nginx; anything else is a bad code
    if (v.startsWith('http://') || v.startsWith('https://') || v.startsWith('$scheme')) {
      if (!isHeaderSafe(v)) throw invalidValue(v, key);
      compileComplex(v, key);
      return { code: 302, text: v };
    }
    throw new ConfigError(`invalid return code ${showValue(v)}`, key);
  }
  if (typeof v === 'number') {
    code = v;
  } else if (Array.isArray(v) && (v.length === 1 || v.length === 2)) {
    code = v[0];
    if (v.length === 2) {
      text = v[1];
      if (typeof text !== 'string') throw invalidValue(v, key);
      compileComplex(text, key);
    }
  } else {
    throw invalidValue(v, key);
  }
  // nginx takes 0..999 and sends what it is given; a status line is 200..599 (RFC 9110 §15),
  // and 444 / 499 close without an answer (they are for the log)
  if (typeof code !== 'number' || !Number.isInteger(code) || ((code < 200 || code > 599) && code !== 0)) {
    throw new ConfigError(`invalid return code ${showValue(code)}`, key);
  }
  if (isRedirect(code)) {
    // nginx would send an empty Location; we ask for the URL at startup instead
    if (typeof text !== 'string' || text === '' || !isHeaderSafe(text)) throw new ConfigError(`"${key}" with code ${code} needs a URL`, key);
  }
  return { code, text: text as string | null };
});

/**
 * `return` bodies without $variables, worked out once per directive: an ASCII text as its string
 * (for any request: a capture makes its own Buffer of it), other text as a Buffer for main
 * requests only (a capture hands its body to the handler as a Buffer it may change, so a
 * subrequest gets its own).
 */
const returnBodies = new WeakMap<ReturnValue, Buffer | string>();

/** The type for the URI's extension (r->exten), else defaultType; most URIs have none. */
function uriType(r: Request): string {
  const u = r.uri;
  const dot = u.lastIndexOf('.');
  if (dot < 0 || u.indexOf('/', dot) >= 0) return r.conf.defaultType;
  return typeFor(r, u);
}

/** ngx_http_rewrite_return: answer with the code, its text or its redirect. */
export function sendReturn(r: Request, ret: ReturnValue): void {
  const { code, text } = ret;
  if (r === r.main && r.hc !== null) {
    // ngx_http_send_response discards the body first: a malformed one is answered as such
    const rc = r.hc.discardBody(r);
    if (rc !== 0) r.exit(rc);
  }
  if (code === 444 || code === 499) r.exit(code);
  if (isRedirect(code)) {
    if (text !== null) r.headersOut.location = expandVariables(r, text);
    r.exit(code);
  }
  // a code alone from 400 up is an error page (and error_page may take it)
  if (text === null) r.exit(code === 0 ? 0 : code);
  // A text without variables is worked out once. ASCII text stays a string (its bytes are its
  // chars; it leaves as it is, and a capture makes its own Buffer of it); other text is a Buffer,
  // kept for main requests only (a capture hands its body to a handler, who may change it)
  let body = returnBodies.get(ret);
  if (body === undefined || (r !== r.main && typeof body !== 'string')) {
    const t = expandVariables(r, text);
    body = asciiText(t) ? t : Buffer.from(t);
    if ((r === r.main || typeof body === 'string') && !text.includes('$')) returnBodies.set(ret, body);
  }
  r.headersOut.status = code;
  // the type of the URI's extension, as for a file (ngx_http_send_response sets it so)
  r.headersOut.contentType = uriType(r);
  r.headersOut.contentLength = body.length;
  r.sendHeader();
  if (!r.headerOnly && body.length > 0) r.print(body);
}

// ------------------------------------------------------------------------- rewrite rules

type RewriteFlag = 'last' | 'break' | 'redirect' | 'permanent' | null;

export interface RewriteRule {
  readonly regex: ConfigRegex;
  readonly source: string;
  readonly replacement: Complex;
  readonly flag: RewriteFlag;
  /** A redirect: by flag, or a replacement starting with http://, https:// or $scheme. */
  readonly redirect: boolean;
  /** The replacement ended in '?' (taken off): the request's args are not kept. */
  readonly dropArgs: boolean;
}

type RuleInput = string | readonly [string, string] | readonly [string, string, 'last' | 'break' | 'redirect' | 'permanent'];

function rule(v: unknown, key: string): RewriteRule {
  let w: unknown[];
  if (typeof v === 'string') w = v.trim().split(/\s+/);
  else if (Array.isArray(v)) w = v;
  else throw invalidValue(v, key);
  if (w.length !== 2 && w.length !== 3) throw new ConfigError(`invalid number of arguments in "${key}" directive: ${showValue(v)}`, key);
  const [src, repl, f] = w;
  if (typeof src !== 'string' || src === '' || typeof repl !== 'string') throw invalidValue(v, key);
  let fl: RewriteFlag = null;
  if (f !== undefined) {
    if (f !== 'last' && f !== 'break' && f !== 'redirect' && f !== 'permanent') {
      throw new ConfigError(`invalid parameter ${showValue(f)} in "${key}"`, key);
    }
    fl = f;
  }
  if (!isHeaderSafe(repl)) throw invalidValue(v, key);
  const redirect = fl === 'redirect' || fl === 'permanent'
    || repl.startsWith('http://') || repl.startsWith('https://') || repl.startsWith('$scheme');
  const dropArgs = repl.endsWith('?');
  return {
    regex: compileRegex(src, false, `"${key}"`, key), source: src,
    replacement: compileComplex(dropArgs ? repl.slice(0, -1) : repl, key), flag: fl, redirect, dropArgs,
  };
}

/** One rule ('regex replacement [flag]' or [regex, replacement, flag?]) or a list of rules. */
/** A step of a `rewrite` list that is another rewrite directive, to order it among the rules. */
export type StepInput = { readonly set: Readonly<Record<string, string>> } | { readonly if: IfInput<Readonly<Record<string, unknown>>> }
  | { readonly return: number | string | readonly [number] | readonly [number, string] } | { readonly break: boolean };

export interface StepObject {
  readonly step: Readonly<Record<string, unknown>>;
}

function step(v: unknown, key: string): RewriteRule | StepObject {
  if (!isPlainObject(v)) return rule(v, key);
  const keys = Object.keys(v);
  if (keys.length !== 1 || !['set', 'if', 'return', 'break'].includes(keys[0])) {
    throw new ConfigError(`a step in "${key}" is one of { set }, { if }, { return }, { break }: ${showValue(v)}`, key);
  }
  STEP_PARSERS[keys[0]](v[keys[0]], keys[0]); // checked now, compiled with the block
  return { step: v };
}

/**
 * One rule ('regex replacement [flag]' or [regex, replacement, flag?]) or a list of rules, where
 * a step { set }, { if }, { return } or { break } may stand between rules: the list is then the
 * block's program in the order written (for an order that keys alone cannot give, such as an
 * if, a set, then another if).
 */
const rewrite = parser<RuleInput | readonly (RuleInput | StepInput)[]>()((v, key): readonly (RewriteRule | StepObject)[] => {
  if (typeof v === 'string') return [rule(v, key)];
  if (!Array.isArray(v) || v.length === 0) throw invalidValue(v, key);
  // a single rule is an array of strings whose second item is not an array
  if (typeof v[0] === 'string' && (v.length === 2 || v.length === 3) && typeof v[1] === 'string' && !/\s/.test(v[0]) && (v.length === 2 || ['last', 'break', 'redirect', 'permanent'].includes(v[2] as string))) {
    return [rule(v, key)];
  }
  return v.map((e: unknown) => step(e, key));
});

export interface SetValue {
  readonly name: string;
  readonly value: Complex;
}

const NOT_SETTABLE = /^(arg|http|cookie|sent_http|upstream_http)_|^[0-9]/;

/** { name: value } (with or without the $), run in key order. */
const set = parser<Readonly<Record<string, string>>>()((v, key): readonly SetValue[] => {
  if (!isPlainObject(v) || Object.keys(v).length === 0) throw invalidValue(v, key);
  const out: SetValue[] = [];
  for (const k of Object.keys(v)) {
    const name = k.startsWith('$') ? k.slice(1) : k;
    if (!/^[A-Za-z0-9_]+$/.test(name)) throw new ConfigError(`invalid variable name "${k}"`, key);
    if (NOT_SETTABLE.test(name) || !isChangeable(name)) throw new ConfigError(`the "${name}" variable is not changeable`, key);
    const val = v[k];
    if (typeof val !== 'string' && typeof val !== 'number') throw invalidValue(val, key);
    declareVariable(name);
    out.push({ name, value: compileComplex(String(val), key) });
  }
  return out;
});

/** `if`: [[condition, block], ...], one [condition, block], or { condition: block } in order. */
export type IfInput<B> = readonly (readonly [string, B])[] | readonly [string, B] | Readonly<Record<string, B>>;

const ifs = parser<IfInput<Readonly<Record<string, unknown>>>>()((v, key): readonly (readonly [string, Record<string, unknown>])[] => {
  let list: unknown[];
  if (Array.isArray(v)) list = v.length === 2 && typeof v[0] === 'string' ? [v] : v;
  else if (isPlainObject(v)) list = Object.keys(v).map((k) => [k, v[k]]);
  else throw invalidValue(v, key);
  if (list.length === 0) throw invalidValue(v, key);
  return list.map((e) => {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || !isPlainObject(e[1])) throw invalidValue(e, key);
    parseCondition(e[0], key); // checked here, compiled with the block
    return [e[0], e[1]] as const;
  });
});

// ------------------------------------------------------------------------------ conditions

type Cond =
  | { readonly kind: 'value'; readonly value: Complex }
  | { readonly kind: 'eq' | 'ne'; readonly value: Complex; readonly other: Complex }
  | { readonly kind: 'regex'; readonly value: Complex; readonly regex: ConfigRegex; readonly negate: boolean }
  | { readonly kind: 'file'; readonly test: 'f' | 'd' | 'e' | 'x'; readonly path: Complex; readonly negate: boolean };

/** Words as nginx reads a condition: blanks split, "..." or '...' hold one word (maybe empty). */
function words(s: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '"' || c === "'") {
      const end = s.indexOf(c, i + 1);
      if (end < 0) return null;
      out.push(s.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < s.length && !/\s/.test(s[j])) j++;
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
}

/** ngx_http_rewrite_if_condition: `$v`, `$v = x`, `$v != x`, `$v ~ re` (~*, !~, !~*), `-f path` (-d, -e, -x, and !). */
function parseCondition(src: string, key: string): Cond {
  let s = src.trim();
  if (s.startsWith('(') && s.endsWith(')')) s = s.slice(1, -1).trim();
  const w = words(s);
  const bad = () => new ConfigError(`invalid condition "${src}"`, key);
  if (w === null || w.length === 0) throw bad();
  if (w.length === 1) {
    if (!w[0].startsWith('$')) throw bad();
    return { kind: 'value', value: compileComplex(w[0], key) };
  }
  if (w.length === 2) {
    const m = /^(!?)-([fdex])$/.exec(w[0]);
    if (m === null) throw bad();
    return { kind: 'file', test: m[2] as 'f' | 'd' | 'e' | 'x', negate: m[1] === '!', path: compileComplex(w[1], key) };
  }
  if (w.length !== 3 || !w[0].startsWith('$')) throw bad();
  const value = compileComplex(w[0], key);
  switch (w[1]) {
    case '=': return { kind: 'eq', value, other: compileComplex(w[2], key) };
    case '!=': return { kind: 'ne', value, other: compileComplex(w[2], key) };
    case '~': case '~*': case '!~': case '!~*':
      return { kind: 'regex', value, negate: w[1][0] === '!', regex: compileRegex(w[2], w[1].endsWith('*'), `condition "${src}"`, key) };
  }
  throw new ConfigError(`unexpected "${w[1]}" in condition "${src}"`, key);
}

function fileTest(test: 'f' | 'd' | 'e' | 'x', path: string): boolean {
  try {
    const st = statSync(path);
    switch (test) {
      case 'f': return st.isFile();
      case 'd': return st.isDirectory();
      case 'e': return true;
      case 'x': return !st.isDirectory() && (st.mode & 0o111) !== 0;
    }
  } catch {
    return false;
  }
}

function holds(r: Request, c: Cond): boolean {
  switch (c.kind) {
    case 'value': {
      const v = c.value.run(r);
      return v !== '' && v !== '0';
    }
    case 'eq': return c.value.run(r) === c.other.run(r);
    case 'ne': return c.value.run(r) !== c.other.run(r);
    case 'regex': return regexExec(r, c.regex, c.value.run(r)) !== c.negate;
    case 'file': return fileTest(c.test, c.path.run(r)) !== c.negate;
  }
}

// ------------------------------------------------------------------------------- programs

type Step =
  | { readonly op: 'rewrite'; readonly rule: RewriteRule }
  | { readonly op: 'set'; readonly set: SetValue }
  | { readonly op: 'if'; readonly cond: Cond; readonly conf: Directives; readonly steps: readonly Step[] }
  | { readonly op: 'return'; readonly ret: ReturnValue }
  | { readonly op: 'break' };

const SCRIPT_KEYS = new Set(['rewrite', 'set', 'if', 'return', 'break']);

/** Each block's program (the rewrite module's loc_conf codes), by its resolved Directives. */
const programs = new WeakMap<Directives, readonly Step[]>();

function compileBlock(raw: Readonly<Record<string, unknown>>, conf: Directives, ctx: BlockContext): readonly Step[] {
  const c = conf as unknown as Record<string, unknown>;
  return compileKeys(raw, (key) => c[key], ctx);
}

/** A step of a `rewrite` list ({ set }, { if }, ...): its keys parsed as the directives are. */
const STEP_PARSERS: Readonly<Record<string, (v: unknown, key: string) => unknown>> = {
  rewrite: (v, key) => rewrite(v, key), set: (v, key) => set(v, key), if: (v, key) => ifs(v, key),
  return: (v, key) => ret(v, key), break: (v, key) => flag(v, key),
};

/** The program of a block's rewrite-module keys, in the order written; `value` gives each parsed. */
function compileKeys(raw: Readonly<Record<string, unknown>>, value: (key: string) => unknown, ctx: BlockContext): Step[] {
  const steps: Step[] = [];
  for (const key of Object.keys(raw)) {
    if (!SCRIPT_KEYS.has(key) || raw[key] === undefined) continue;
    switch (key) {
      case 'rewrite':
        for (const rl of value(key) as readonly (RewriteRule | StepObject)[]) {
          if ('step' in rl) {
            const obj = rl.step;
            steps.push(...compileKeys(obj, (k) => STEP_PARSERS[k](obj[k], k), ctx));
          } else {
            steps.push({ op: 'rewrite', rule: rl });
          }
        }
        break;
      case 'set':
        for (const sv of value(key) as readonly SetValue[]) steps.push({ op: 'set', set: sv });
        break;
      case 'return':
        steps.push({ op: 'return', ret: value(key) as ReturnValue });
        break;
      case 'break':
        if (value(key) === true) steps.push({ op: 'break' });
        break;
      case 'if':
        (value(key) as readonly (readonly [string, Record<string, unknown>])[]).forEach(([cond, body], i) => {
          if (ctx.inIf) throw new ConfigError('"if" directive is not allowed here', 'if');
          const c = parseCondition(cond, 'if');
          // the if block is a location-like block over this one; at server level only the
          // rewrite module's directives may be in it (nginx's NGX_HTTP_SIF_CONF)
          if (ctx.kind === 'server') {
            for (const k of Object.keys(body)) {
              if (!SCRIPT_KEYS.has(k) && k !== 'rewriteLog') throw new ConfigError(`"${k}" directive is not allowed here`, k);
            }
          }
          const inner = ctx.nested(body, `if[${i}]`);
          steps.push({ op: 'if', cond: c, conf: inner, steps: programs.get(inner) ?? [] });
        });
        break;
    }
  }
  return steps;
}

/** Outcomes of a program run. */
const GO_ON = 0, STOP = 1, ANSWERED = 2;

/** The URI changed without `break`: the location is found again (post-rewrite). */
let uriChanged = false;

function runSteps(r: Request, steps: readonly Step[], inLocation: boolean): number {
  for (let i = 0; i < steps.length; i++) {
    const st = steps[i];
    switch (st.op) {
      case 'set':
        setVar(r, st.set.name, st.set.value.run(r));
        break;
      case 'rewrite': {
        const rc = applyRule(r, st.rule, inLocation);
        if (rc !== GO_ON) return rc;
        break;
      }
      case 'if':
        if (!holds(r, st.cond)) break;
        if (inLocation) r.conf = st.conf;
        {
          const rc = runSteps(r, st.steps, inLocation);
          if (rc !== GO_ON) return rc;
        }
        break;
      case 'return':
        sendReturn(r, st.ret);
        return ANSWERED;
      case 'break':
        uriChanged = false;
        return STOP;
    }
  }
  return GO_ON;
}

/** ngx_http_script_regex_start_code / regex_end_code: one rule against r.uri. */
function applyRule(r: Request, rl: RewriteRule, inLocation: boolean): number {
  const log = r.conf.rewriteLog;
  if (!regexExec(r, rl.regex, r.uri)) {
    if (log) logError('notice', r, `"${rl.source}" does not match "${r.uri}"`);
    return GO_ON;
  }
  if (log) logError('notice', r, `"${rl.source}" matches "${r.uri}"`);
  let value = rl.replacement.run(r);
  // a '?' in the replacement starts new args, and the old ones follow them unless the
  // replacement ended in '?' (dropArgs)
  let args: string;
  const q = value.indexOf('?');
  if (q >= 0) {
    const own = value.slice(q + 1);
    value = value.slice(0, q);
    args = rl.dropArgs || r.args === '' ? own : own === '' ? r.args : own + '&' + r.args;
  } else {
    args = rl.dropArgs ? '' : r.args;
  }
  if (rl.redirect) {
    const location = args !== '' ? `${value}?${args}` : value;
    if (log) logError('notice', r, `rewritten redirect: "${location}"`);
    r.headersOut.location = location;
    r.exit(rl.flag === 'permanent' ? 301 : 302);
  }
  if (log) logError('notice', r, `rewritten data: "${value}", args: "${args}"`);
  if (value === '') {
    logError('error', r, `the rewritten URI has a zero length`);
    r.exit(500);
  }
  r.uri = value;
  r.args = args;
  r.internal = true;
  if (rl.flag === 'break') { uriChanged = false; return STOP; }
  uriChanged = true;
  if (rl.flag === 'last') return STOP;
  return GO_ON;
}

const serverRewrite: PhaseHandler = (r) => {
  const steps = programs.get(r.server.conf);
  if (steps === undefined) return DECLINED;
  uriChanged = false;
  // at server level a changed URI needs nothing more: the location is found next anyway
  return runSteps(r, steps, false) === ANSWERED ? DONE : DECLINED;
};

const locationRewrite: PhaseHandler = (r) => {
  const steps = r.loc === null ? undefined : programs.get(r.loc.conf);
  if (steps === undefined) return DECLINED;
  uriChanged = false;
  const rc = runSteps(r, steps, true);
  if (rc === ANSWERED) return DONE;
  return uriChanged ? RESTART : DECLINED;
};

export const rewriteModule = defineModule({
  name: 'rewrite',
  nginx: 'ngx_http_rewrite_module',
  about: 'rewrite, set, if, break and return: a block\'s program, run in the server rewrite and rewrite phases',
  notYet: ['uninitialized_variable_warn'],
  directives: {
    // a block's own program runs in its own phase: none of these is inherited
    return: cmd(SL, ret, null, { inherit: false, differs: 'codes 200..599, 444 and 499 only (nginx sends 0..999 as given); a redirect needs its URL' }),
    rewrite: cmd(SL, rewrite, null, { inherit: false, differs: 'the regex is JavaScript\'s (PCRE\'s (?P<name>) and a leading (?i) are taken)' }),
    set: cmd(SL, set, null, { inherit: false }),
    if: cmd(SL, ifs, null, { inherit: false, differs: 'a list of [condition, block] (or an object of them); in a location the block takes every location directive' }),
    break: cmd(SL, flag, false, { inherit: false }),
    rewriteLog: cmd(HSL, flag, false),
  },
  block(raw, conf, ctx) {
    const steps = compileBlock(raw, conf, ctx);
    if (steps.length > 0) programs.set(conf, steps);
  },
  // the server block's program (server rewrite phase), then the location's (rewrite phase)
  phases: { serverRewrite, rewrite: locationRewrite },
});
