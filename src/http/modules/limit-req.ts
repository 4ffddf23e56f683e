// cf. ngx_http_limit_req_module.c — limit_req_zone, limit_req, limit_req_status,
// limit_req_log_level, limit_req_dry_run and $limit_req_status: a leaky bucket per key, checked
// in the preaccess phase, once per main request.

import { SYSTEM_CLOCK, type Clock, type TimerHandle } from '../../core/clock.js';
import { LEVELS, logError, type LogLevel } from '../../core/log.js';
import { ExitSignal, type Request } from '../request.js';
import { expandVariables, registerVariable } from '../variables.js';
import { DECLINED, H, HSL, cmd, defineModule, parser, type PhaseHandler } from '../conf/module.js';
import type { ResolvedConfig } from '../conf/config.js';
import { flag, isPlainObject, oneOf } from '../conf/parse.js';
import { ConfigError, invalidValue } from '../conf/size-time.js';
import { LocalReqZone } from '../limit/local-zone.js';
import { MIN_ZONE_SIZE } from '../limit/slab.js';
import { compileComplex } from '../script.js';
import { LR_AGAIN, LR_BUSY, LR_OK, type ReqZone } from '../limit/zone.js';

// $limit_req_status (r.main.limitReqStatus; 0: the module has not decided)
export const LIMIT_REQ_PASSED = 1;
export const LIMIT_REQ_DELAYED = 2;
export const LIMIT_REQ_REJECTED = 3;
export const LIMIT_REQ_DELAYED_DRY_RUN = 4;
export const LIMIT_REQ_REJECTED_DRY_RUN = 5;
const STATUS_NAMES = ['PASSED', 'DELAYED', 'REJECTED', 'DELAYED_DRY_RUN', 'REJECTED_DRY_RUN'];

registerVariable('limit_req_status', (r) => (r.main.limitReqStatus === 0 ? undefined : STATUS_NAMES[r.main.limitReqStatus - 1]));

/** One limitReq: its zone's name, burst and delay in thousandths of a request. */
export interface LimitReq {
  readonly zone: string;
  readonly burst: number;
  /** Requests over the rate let through at once (nodelay: all of them). */
  readonly delay: number;
}

/** How a zone is written in the object form. */
export interface LimitReqZoneInput {
  /** The key: variables, expanded per request ('$binary_remote_addr'); empty keys are not limited. */
  key: string;
  /** '10m', '64k' or bytes: how many states the zone holds (about 8000 per megabyte). */
  size: string | number;
  /** '10r/s', '30r/m', or a number of requests per second. */
  rate: string | number;
}

export type LimitReqZoneValue = string | readonly string[] | Readonly<Record<string, LimitReqZoneInput>>;

/** How one limit is written in the object form. */
export interface LimitReqInput {
  zone: string;
  burst?: number;
  nodelay?: boolean;
  delay?: number;
}

export type LimitReqValue = string | LimitReqInput | readonly (string | LimitReqInput)[];

// nodelay: nginx's NGX_MAX_INT_T_VALUE / 1000, i.e. no excess is ever delayed
const NODELAY = Number.MAX_SAFE_INTEGER;

/** 'one:10m' (nginx's zone=one:10m): the name and the size, checked as nginx does. */
export function zoneNameSize(w: string, shown: string, key: string): [string, number] {
  const colon = w.indexOf(':');
  if (colon < 0) throw new ConfigError(`invalid zone size "${shown}"`, key);
  const name = w.slice(0, colon);
  const size = zoneSize(w.slice(colon + 1), shown, key);
  return [name, size];
}

/** A zone's size: ngx_parse_size (k and m, no g), at least 8 pages. */
export function zoneSize(v: unknown, shown: string, key: string): number {
  let size = -1;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) size = v;
  else if (typeof v === 'string') {
    const m = /^([0-9]{1,15})([kKmM]?)$/.exec(v);
    if (m !== null) size = Number(m[1]) * (m[2] === '' ? 1 : m[2] === 'k' || m[2] === 'K' ? 1024 : 1024 * 1024);
  }
  if (size < 0 || !Number.isSafeInteger(size)) throw new ConfigError(`invalid zone size "${shown}"`, key);
  if (size < MIN_ZONE_SIZE) throw new ConfigError(`zone "${shown}" is too small`, key);
  return size;
}

/** '10r/s', '30r/m', '5' (r/s): requests per second times 1000, as nginx rounds it. */
function parseRate(v: unknown, shown: string, key: string): number {
  let n = -1, scale = 1;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = v;
  else if (typeof v === 'string') {
    const m = /^([0-9]{1,15})(r\/s|r\/m)?$/.exec(v);
    if (m !== null) {
      n = Number(m[1]);
      if (m[2] === 'r/m') scale = 60;
    }
  }
  if (n <= 0) throw new ConfigError(`invalid rate "${shown}"`, key);
  return Math.floor(n * 1000 / scale);
}

/** The string form, as nginx's arguments: '$binary_remote_addr zone=one:10m rate=1r/s'. */
function zoneFromString(s: string, key: string): LocalReqZone {
  const w = s.trim().split(/\s+/);
  if (w.length !== 3) throw new ConfigError(`invalid number of arguments in "${key}" directive`, key);
  let name = '', size = 0, rate = 1000;
  for (let i = 1; i < w.length; i++) {
    if (w[i].startsWith('zone=')) [name, size] = zoneNameSize(w[i].slice(5), w[i], key);
    else if (w[i].startsWith('rate=')) rate = parseRate(w[i].slice(5), w[i], key);
    else throw new ConfigError(`invalid parameter "${w[i]}"`, key);
  }
  if (name === '') throw new ConfigError(`"${key}" must have "zone" parameter`, key);
  return new LocalReqZone(name, zoneKey(w[0], key), rate, size);
}

/** The key: one word, whose $variables are checked now (ngx_http_compile_complex_value). */
export function zoneKey(v: unknown, key: string): string {
  if (typeof v !== 'string' || v === '' || /\s/.test(v)) throw invalidValue(v, key);
  compileComplex(v, key);
  return v;
}

/** The zones of the http block, by name (each made once per resolved config). */
const limitReqZone = parser<LimitReqZoneValue>()((v, key): ReadonlyMap<string, ReqZone> =>
  collectZones(v, key, zoneFromString, ['key', 'size', 'rate'], (name, z) => {
    const size = zoneSize(z.size, `${name}:${String(z.size)}`, key);
    const rate = z.rate === undefined ? 1000 : parseRate(z.rate, `rate=${String(z.rate)}`, key);
    return new LocalReqZone(name, zoneKey(z.key, key), rate, size);
  }));

/**
 * The zones of a limitReqZone / limitConnZone value: nginx's string, a list of them, or
 * { name: { key, size, ... } }; a name bound twice is refused as nginx refuses it.
 */
export function collectZones<Z extends { readonly name: string; readonly key: string }>(
  v: unknown, key: string, fromString: (s: string, key: string) => Z, params: readonly string[],
  fromObject: (name: string, z: Record<string, unknown>) => Z,
): ReadonlyMap<string, Z> {
  const zones = new Map<string, Z>();
  const add = (z: Z) => {
    const prev = zones.get(z.name);
    if (prev !== undefined) throw new ConfigError(`${key} "${z.name}" is already bound to key "${prev.key}"`, key);
    zones.set(z.name, z);
  };
  if (typeof v === 'string') add(fromString(v, key));
  else if (Array.isArray(v)) {
    for (const s of v) {
      if (typeof s !== 'string') throw invalidValue(s, key);
      add(fromString(s, key));
    }
  } else if (isPlainObject(v)) {
    for (const name of Object.keys(v)) {
      const z = v[name];
      if (!isPlainObject(z) || name === '' || /[\s:]/.test(name)) throw invalidValue({ [name]: z }, key);
      for (const k of Object.keys(z)) if (!params.includes(k)) throw new ConfigError(`invalid parameter "${k}" of zone "${name}"`, key);
      if (z.size === undefined) throw new ConfigError(`invalid zone size "${name}"`, key);
      add(fromObject(name, z));
    }
  } else {
    throw invalidValue(v, key);
  }
  return zones;
}

function limitFromString(s: string, key: string): LimitReq {
  const w = s.trim().split(/\s+/);
  if (w.length < 1 || w.length > 3 || w[0] === '') throw new ConfigError(`invalid number of arguments in "${key}" directive`, key);
  let zone = '', burst = 0, delay = 0;
  for (const p of w) {
    if (p.startsWith('zone=')) zone = p.slice(5);
    else if (p.startsWith('burst=')) burst = positive(p.slice(6), p, 'burst', key);
    else if (p.startsWith('delay=')) delay = positive(p.slice(6), p, 'delay', key);
    else if (p === 'nodelay') delay = NODELAY;
    else throw new ConfigError(`invalid parameter "${p}"`, key);
  }
  if (zone === '') throw new ConfigError(`"${key}" must have "zone" parameter`, key);
  return { zone, burst: burst * 1000, delay: delay === NODELAY ? NODELAY : delay * 1000 };
}

function positive(v: unknown, shown: string, what: string, key: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,15}$/.test(v) ? Number(v) : -1;
  if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(`invalid ${what} value "${shown}"`, key);
  return n;
}

function limitFromObject(o: Record<string, unknown>, key: string): LimitReq {
  for (const k of Object.keys(o)) {
    if (k !== 'zone' && k !== 'burst' && k !== 'nodelay' && k !== 'delay') throw new ConfigError(`invalid parameter "${k}"`, key);
  }
  if (typeof o.zone !== 'string' || o.zone === '') throw new ConfigError(`"${key}" must have "zone" parameter`, key);
  if (o.nodelay !== undefined && typeof o.nodelay !== 'boolean') throw invalidValue(o, key);
  if (o.nodelay === true && o.delay !== undefined) throw new ConfigError('"nodelay" and "delay" cannot both be set', key);
  const burst = o.burst === undefined ? 0 : positive(o.burst, `burst=${String(o.burst)}`, 'burst', key);
  const delay = o.nodelay === true ? NODELAY : o.delay === undefined ? 0 : positive(o.delay, `delay=${String(o.delay)}`, 'delay', key) * 1000;
  return { zone: o.zone, burst: burst * 1000, delay };
}

/** The limits of a block, checked in the order written; a block's list replaces the inherited one. */
const limitReq = parser<LimitReqValue>()((v, key): readonly LimitReq[] => {
  const list = Array.isArray(v) ? v as unknown[] : [v];
  const out: LimitReq[] = [];
  for (const e of list) {
    const l = typeof e === 'string' ? limitFromString(e, key) : isPlainObject(e) ? limitFromObject(e, key) : null;
    if (l === null) throw invalidValue(e, key);
    if (out.some((x) => x.zone === l.zone)) throw new ConfigError(`"${key}" directive is duplicate`, key);
    out.push(l);
  }
  return out;
});

/** limit_req_status and limit_conn_status: 400 to 599. */
export const rejectStatus = parser<number>()((v, key) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalidValue(v, key);
  if (v < 400 || v > 599) throw new ConfigError("value must be between 400 and 599", key);
  return v;
});

export const limitLogLevel = oneOf('info', 'notice', 'warn', 'error');

/** One level less severe, as nginx logs a delay (info stays info). */
function delayLevel(l: LogLevel): LogLevel {
  return l === 'info' ? 'info' : LEVELS[LEVELS.indexOf(l) - 1];
}

/** The clock of the request's server (a test's ManualClock, or the system's). */
export function clockOf(r: Request): Clock {
  return r.main.hc?.clock ?? SYSTEM_CLOCK;
}

/** ngx_http_limit_req_handler. */
const limitReqHandler: PhaseHandler = (r) => {
  const main = r.main;
  if (main.limitReqStatus !== 0) return DECLINED;
  const conf = r.conf;
  const limits = conf.limitReq;
  if (limits.length === 0) return DECLINED;
  const zones = conf.limitReqZone;
  const clock = clockOf(r);
  const now = clock.now();

  let rc = DECLINED_RC, excess = 0, n = 0;
  let limit = limits[0];
  let zone: ReqZone = zones.get(limit.zone)!;
  for (; n < limits.length; n++) {
    limit = limits[n];
    zone = zones.get(limit.zone)!;
    const key = expandVariables(r, zone.key);
    if (key.length === 0) continue;
    if (key.length > 65535) {
      logError('error', r, `the value of the "${zone.key}" key is more than 65535 bytes: "${key}"`);
      continue;
    }
    rc = zone.lookup(key, now, limit.burst, n === limits.length - 1);
    excess = zone.excess;
    if (rc !== LR_AGAIN) break;
  }
  if (rc === DECLINED_RC) return DECLINED;

  const dry = conf.limitReqDryRun;
  if (rc !== LR_OK && rc !== LR_AGAIN) {
    if (rc === LR_BUSY) {
      logError(conf.limitReqLogLevel, r, `limiting requests${dry ? ', dry run' : ''}, excess: ${milli(excess)} by zone "${zone.name}"`);
    } else {
      logError('alert', null, `could not allocate node in limit_req zone "${zone.name}"`, conf.errorLog);
    }
    // the limits before this one held their states: let them go untouched
    for (let i = n - 1; i >= 0; i--) zones.get(limits[i].zone)!.rollback();
    if (dry) {
      main.limitReqStatus = LIMIT_REQ_REJECTED_DRY_RUN;
      return DECLINED;
    }
    main.limitReqStatus = LIMIT_REQ_REJECTED;
    throw new ExitSignal('exit', conf.limitReqStatus);
  }

  // ngx_http_limit_req_account: take the request in every held zone; the longest delay wins
  if (rc === LR_AGAIN) excess = 0;
  let maxDelay = excess <= limit.delay ? 0 : Math.floor((excess - limit.delay) * 1000 / zone.rate);
  for (let i = n - 1; i >= 0; i--) {
    const l = limits[i];
    const z = zones.get(l.zone)!;
    const e = z.account(now);
    if (e < 0 || e <= l.delay) continue;
    const d = Math.floor((e - l.delay) * 1000 / z.rate);
    if (d > maxDelay) {
      maxDelay = d;
      excess = e;
      zone = z;
    }
  }
  if (maxDelay === 0) {
    main.limitReqStatus = LIMIT_REQ_PASSED;
    return DECLINED;
  }
  logError(delayLevel(conf.limitReqLogLevel), r, `delaying request${dry ? ', dry run' : ''}, excess: ${milli(excess)}, by zone "${zone.name}"`);
  if (dry) {
    main.limitReqStatus = LIMIT_REQ_DELAYED_DRY_RUN;
    return DECLINED;
  }
  main.limitReqStatus = LIMIT_REQ_DELAYED;
  return new Promise<void>((resolve, reject) => { new Delay(r, clock, maxDelay, resolve, reject); });
};

const DECLINED_RC = -1;

/** Thousandths as nginx prints them: 1.500. */
function milli(n: number): string {
  return `${Math.floor(n / 1000)}.${String(n % 1000).padStart(3, '0')}`;
}

/**
 * A request waiting out its delay (nginx: the write event delayed, ngx_http_test_reading on
 * read). Its body is not read meanwhile, as nginx does not: the content phase reads it. A client
 * that closes meanwhile ends the request with 499.
 */
class Delay {
  readonly r: Request;
  readonly clock: Clock;
  private readonly resolve: () => void;
  private readonly reject: (e: unknown) => void;
  private timer: TimerHandle | null;
  readonly abort: () => void;

  constructor(r: Request, clock: Clock, ms: number, resolve: () => void, reject: (e: unknown) => void) {
    this.r = r;
    this.clock = clock;
    this.resolve = resolve;
    this.reject = reject;
    this.abort = () => this.gone(true);
    this.timer = clock.setTimeout(delayOver, ms, this, false);
    const main = r.main;
    if (main.onClientAbort === null) main.onClientAbort = this.abort;
    // the connection closed (or the request ended otherwise): stop waiting
    main.addCleanup(() => this.gone(false));
  }

  over(): void {
    if (this.timer === null) return;
    this.timer = null;
    if (this.r.main.onClientAbort === this.abort) this.r.main.onClientAbort = null;
    this.resolve();
  }

  private gone(logIt: boolean): void {
    if (this.timer === null) return;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.r.main.onClientAbort === this.abort) this.r.main.onClientAbort = null;
    if (logIt) logError('info', this.r, 'client prematurely closed connection');
    this.reject(new ExitSignal('exit', 499));
  }
}

function delayOver(d: Delay): void { d.over(); }

/** Every block's limitReq names a declared zone (nginx: "zero size shared memory zone"). */
export function checkZones(config: ResolvedConfig, key: 'limitReq' | 'limitConn', zonesKey: 'limitReqZone' | 'limitConnZone'): void {
  const check = (list: readonly { zone: string }[], zones: ReadonlyMap<string, unknown>, where: string) => {
    for (const l of list) {
      if (!zones.has(l.zone)) throw new ConfigError(`zero size shared memory zone "${l.zone}"`, key, where);
    }
  };
  const zones = config.http[zonesKey] as ReadonlyMap<string, unknown>;
  check(config.http[key], zones, 'config');
  config.servers.forEach((s, i) => {
    check(s.conf[key], zones, `servers[${i}]`);
    for (const loc of [...s.locations.locations, ...s.named.values()]) check(loc.conf[key], zones, `servers[${i}].locations["${loc.key}"]`);
  });
}

export const limitReqModule = defineModule({
  name: 'limit_req',
  nginx: 'ngx_http_limit_req_module',
  about: 'limitReqZone, limitReq: a leaky bucket per key (preaccess phase), delays on the server\'s clock',
  directives: {
    limitReqZone: cmd(H, limitReqZone, {}, {
      differs: 'also written as an object ({ one: { key, size, rate } }); "sync" (nginx Plus) is refused; '
        + 'the zone lives in this process (docs/limits.md); its size bounds the keys by a model of nginx\'s slab allocator',
    }),
    limitReq: cmd(HSL, limitReq, [], {
      differs: 'several as an array (nginx: several directives); an empty array in an inner block clears the inherited limits',
    }),
    limitReqStatus: cmd(HSL, rejectStatus, 503),
    limitReqLogLevel: cmd(HSL, limitLogLevel, 'error'),
    limitReqDryRun: cmd(HSL, flag, false),
  },
  phases: { preaccess: limitReqHandler },
  checkConfig(config) {
    checkZones(config, 'limitReq', 'limitReqZone');
  },
});
