// sluice's own: filter modules a user writes (docs/filters.md), installed where nginx's sub and
// addition filters sit — below copy (so they can ask for bytes) and above gzip (so they see the
// plain body). They are given as classes or factories and made anew for every server's chains.

import { BodyFilter, HeaderFilter } from '../../filters/filter.js';
import type { FilterPair } from '../../filters/index.js';
import { ConfigError, invalidValue } from '../conf/size-time.js';
import { HS, cmd, defineModule, parser } from '../conf/module.js';

/** A class whose instances are a filter, or hold `header` and/or `body` filters. */
export type FilterClass = new () => HeaderFilter | BodyFilter | FilterPair;
/** A function making a filter pair. */
export type FilterFactory = () => FilterPair;
/** One user filter module, as `filters` takes it. */
export type UserFilter = FilterClass | FilterFactory;

function isClass(f: unknown): f is FilterClass {
  return typeof f === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(f));
}

/** What one entry makes, checked (the first instance is made at load, so a bad one fails there). */
function make(f: UserFilter): FilterPair {
  const made: unknown = isClass(f) ? new f() : (f as FilterFactory)();
  if (made instanceof HeaderFilter) return { header: made, body: null };
  if (made instanceof BodyFilter) return { header: null, body: made };
  const p = made as FilterPair | null;
  if (typeof p !== 'object' || p === null || (p.header == null && p.body == null)
    || (p.header != null && !(p.header instanceof HeaderFilter)) || (p.body != null && !(p.body instanceof BodyFilter))) {
    throw new Error('a filter module makes a HeaderFilter, a BodyFilter, or { header, body } of them');
  }
  return { header: p.header ?? null, body: p.body ?? null };
}

const filters = parser<readonly UserFilter[]>()((v, key): readonly (() => FilterPair)[] => {
  if (!Array.isArray(v)) throw invalidValue(v, key);
  return v.map((f: unknown) => {
    if (typeof f !== 'function') {
      throw new ConfigError(`invalid filter module in "${key}": give its class or a factory function (filters are made anew for each server), not an instance`, key);
    }
    const uf = f as UserFilter;
    try {
      make(uf);
    } catch (e) {
      throw new ConfigError(`invalid filter module in "${key}": ${(e as Error).message}`, key);
    }
    return () => make(uf);
  });
});

export const userFiltersModule = defineModule({
  name: '[yours]',
  nginx: null,
  about: 'your filter modules (classes or factories), first listed on top, made anew per server',
  directives: {
    filters: cmd(HS, filters, [], { nginx: null }),
  },
  // the first one listed ends up on top of the others: install the last first
  filtersFor: (conf) => (conf.filters as readonly (() => FilterPair)[]).map((f) => f()).reverse(),
});
