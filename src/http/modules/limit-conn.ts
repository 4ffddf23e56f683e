// cf. ngx_http_limit_conn_module.c — limit_conn_zone, limit_conn, limit_conn_status,
// limit_conn_log_level, limit_conn_dry_run and $limit_conn_status: requests being processed per
// key, counted in the preaccess phase (after limit_req) and let go when the main request is over.
// An idle keep-alive connection holds nothing: what is counted is requests, as in nginx.

import { logError } from '../../core/log.js';
import { ExitSignal } from '../request.js';
import { expandVariables, registerVariable } from '../variables.js';
import { DECLINED, H, HSL, cmd, defineModule, parser, type PhaseHandler } from '../conf/module.js';
import { flag, isPlainObject } from '../conf/parse.js';
import { ConfigError, invalidValue } from '../conf/size-time.js';
import { LocalConnZone } from '../limit/local-zone.js';
import { LC_BUSY, LC_OK, type ConnZone } from '../limit/zone.js';
import { checkZones, collectZones, limitLogLevel, rejectStatus, zoneKey, zoneNameSize, zoneSize } from './limit-req.js';

// $limit_conn_status (r.main.limitConnStatus; 0: no key was counted)
export const LIMIT_CONN_PASSED = 1;
export const LIMIT_CONN_REJECTED = 2;
export const LIMIT_CONN_REJECTED_DRY_RUN = 3;
const STATUS_NAMES = ['PASSED', 'REJECTED', 'REJECTED_DRY_RUN'];

registerVariable('limit_conn_status', (r) => (r.main.limitConnStatus === 0 ? undefined : STATUS_NAMES[r.main.limitConnStatus - 1]));

/** One limitConn: its zone and how many requests of a key may be processed at once. */
export interface LimitConn {
  readonly zone: string;
  readonly conn: number;
}

export interface LimitConnZoneInput {
  key: string;
  size: string | number;
}

export type LimitConnZoneValue = string | readonly string[] | Readonly<Record<string, LimitConnZoneInput>>;
/** 'addr 10', ['addr 10', 'perserver 100'], or { addr: 10, perserver: 100 }. */
export type LimitConnValue = string | readonly string[] | Readonly<Record<string, number>>;

function zoneFromString(s: string, key: string): LocalConnZone {
  const w = s.trim().split(/\s+/);
  if (w.length !== 2) throw new ConfigError(`invalid number of arguments in "${key}" directive`, key);
  if (!w[1].startsWith('zone=')) throw new ConfigError(`invalid parameter "${w[1]}"`, key);
  const [name, size] = zoneNameSize(w[1].slice(5), w[1], key);
  if (name === '') throw new ConfigError(`"${key}" must have "zone" parameter`, key);
  return new LocalConnZone(name, zoneKey(w[0], key), size);
}

const limitConnZone = parser<LimitConnZoneValue>()((v, key): ReadonlyMap<string, ConnZone> =>
  collectZones(v, key, zoneFromString, ['key', 'size'],
    (name, z) => new LocalConnZone(name, zoneKey(z.key, key), zoneSize(z.size, `${name}:${String(z.size)}`, key))));

function connCount(v: unknown, key: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,15}$/.test(v) ? Number(v) : -1;
  if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(`invalid number of connections "${String(v)}"`, key);
  if (n > 65535) throw new ConfigError('connection limit must be less 65536', key);
  return n;
}

const limitConn = parser<LimitConnValue>()((v, key): readonly LimitConn[] => {
  const out: LimitConn[] = [];
  const add = (zone: string, conn: number) => {
    if (out.some((l) => l.zone === zone)) throw new ConfigError(`"${key}" directive is duplicate`, key);
    out.push({ zone, conn });
  };
  if (isPlainObject(v)) {
    for (const zone of Object.keys(v)) add(zone, connCount(v[zone], key));
    return out;
  }
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v as unknown[] : null;
  if (list === null) throw invalidValue(v, key);
  for (const s of list) {
    if (typeof s !== 'string') throw invalidValue(s, key);
    const w = s.trim().split(/\s+/);
    if (w.length !== 2 || w[0] === '') throw new ConfigError(`invalid number of arguments in "${key}" directive`, key);
    add(w[0], connCount(w[1], key));
  }
  return out;
});

/** ngx_http_limit_conn_handler. */
const limitConnHandler: PhaseHandler = (r) => {
  const main = r.main;
  if (main.limitConnStatus !== 0) return DECLINED;
  const conf = r.conf;
  const limits = conf.limitConn;
  if (limits.length === 0) return DECLINED;
  const zones = conf.limitConnZone;
  let taken: { zone: ConnZone; key: string }[] | null = null;
  for (let i = 0; i < limits.length; i++) {
    const zone = zones.get(limits[i].zone)!;
    const key = expandVariables(r, zone.key);
    if (key.length === 0) continue;
    if (key.length > 255) {
      logError('error', r, `the value of the "${zone.key}" key is more than 255 bytes: "${key}"`);
      continue;
    }
    main.limitConnStatus = LIMIT_CONN_PASSED;
    const rc = zone.acquire(key, limits[i].conn);
    if (rc !== LC_OK) {
      const dry = conf.limitConnDryRun;
      if (rc === LC_BUSY) logError(conf.limitConnLogLevel, r, `limiting connections${dry ? ', dry run,' : ''} by zone "${zone.name}"`);
      else logError('crit', null, `no memory in limit_conn_zone "${zone.name}"`, conf.errorLog);
      // what this request counted in the limits before this one is given back at once
      if (taken !== null) for (const t of taken) t.zone.release(t.key);
      if (dry) {
        main.limitConnStatus = LIMIT_CONN_REJECTED_DRY_RUN;
        return DECLINED;
      }
      main.limitConnStatus = LIMIT_CONN_REJECTED;
      throw new ExitSignal('exit', conf.limitConnStatus);
    }
    (taken ??= []).push({ zone, key });
  }
  if (taken !== null) {
    // nginx's pool cleanup: when the main request is over (its response sent, or the client gone)
    const held = taken;
    main.addCleanup(() => { for (const t of held) t.zone.release(t.key); });
  }
  return DECLINED;
};

export const limitConnModule = defineModule({
  name: 'limit_conn',
  nginx: 'ngx_http_limit_conn_module',
  about: 'limitConnZone, limitConn: requests in progress per key (preaccess phase, after limit_req)',
  directives: {
    limitConnZone: cmd(H, limitConnZone, {}, {
      differs: 'also written as an object ({ addr: { key, size } }); the zone lives in this process (docs/limits.md)',
    }),
    limitConn: cmd(HSL, limitConn, [], {
      differs: 'several as an array or an object ({ addr: 10 }); an empty array in an inner block clears the inherited limits',
    }),
    limitConnStatus: cmd(HSL, rejectStatus, 503),
    limitConnLogLevel: cmd(HSL, limitLogLevel, 'error'),
    limitConnDryRun: cmd(HSL, flag, false),
  },
  phases: { preaccess: limitConnHandler },
  checkConfig(config) {
    checkZones(config, 'limitConn', 'limitConnZone');
    for (const name of config.http.limitConnZone.keys()) {
      if (config.http.limitReqZone.has(name)) {
        throw new ConfigError(`the shared memory zone "${name}" is already declared for a different use`, 'limitConnZone', 'config');
      }
    }
  },
});
