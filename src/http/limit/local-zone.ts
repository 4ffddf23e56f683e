// cf. ngx_http_limit_req_module.c (lookup, account, unlock, expire) and
// ngx_http_limit_conn_module.c (the handler's count, the cleanup) — the zones of one process.
// nginx keeps states in an rbtree with an LRU queue in shared memory; here a Map, whose insertion
// order is the queue (a state used again is moved to the end, the oldest is first). The room a
// state takes is counted on a model of nginx's slab allocator (slab.ts), so a zone of a given
// size holds about as many keys as nginx's.

import { SlabModel } from './slab.js';
import { LC_BUSY, LC_ERROR, LC_OK, LR_AGAIN, LR_BUSY, LR_ERROR, LR_OK, type ConnZone, type ReqZone } from './zone.js';

/** Bytes of a limit_req state before its key: ngx_rbtree_node_t up to `color`, then the node. */
export const REQ_STATE_BYTES = 32 + 48;
/** Bytes of a limit_conn state before its key. */
export const CONN_STATE_BYTES = 32 + 4;

class ReqState {
  /** Thousandths of a request over the rate. */
  excess: number;
  /** When the excess was last computed (ms). */
  last: number;
  /** Requests holding it between lookup() and account()/rollback(): not to be evicted. */
  count: number;
  readonly bytes: number;
  constructor(excess: number, last: number, count: number, bytes: number) {
    this.excess = excess;
    this.last = last;
    this.count = count;
    this.bytes = bytes;
  }
}

/** ms since `last`, as nginx bounds it: a clock that went back a little counts as 0, far back as 1. */
function elapsed(now: number, last: number): number {
  const ms = now - last;
  if (ms < -60000) return 1;
  return ms < 0 ? 0 : ms;
}

export class LocalReqZone implements ReqZone {
  readonly name: string;
  readonly key: string;
  readonly rate: number;
  readonly size: number;
  excess: number;
  private readonly states: Map<string, ReqState>;
  private readonly slab: SlabModel;
  private held: ReqState | null;

  constructor(name: string, key: string, rate: number, size: number) {
    this.name = name;
    this.key = key;
    this.rate = rate;
    this.size = size;
    this.excess = 0;
    this.states = new Map();
    this.slab = new SlabModel(size);
    this.held = null;
    // what ngx_http_limit_req_init_zone takes first: the tree and queue heads, the log context
    this.slab.alloc(80);
    this.slab.alloc(22 + name.length);
  }

  lookup(key: string, now: number, burst: number, account: boolean): number {
    const states = this.states;
    let lr = states.get(key);
    if (lr !== undefined) {
      // to the head of the queue
      states.delete(key);
      states.set(key, lr);
      const ms = elapsed(now, lr.last);
      let excess = lr.excess - Math.floor(this.rate * ms / 1000) + 1000;
      if (excess < 0) excess = 0;
      this.excess = excess;
      if (excess > burst) return LR_BUSY;
      if (account) {
        lr.excess = excess;
        if (ms !== 0) lr.last = now;
        return LR_OK;
      }
      lr.count++;
      this.held = lr;
      return LR_AGAIN;
    }
    this.excess = 0;
    const bytes = REQ_STATE_BYTES + key.length;
    this.expire(now, 1);
    if (!this.slab.alloc(bytes)) {
      this.expire(now, 0);
      if (!this.slab.alloc(bytes)) return LR_ERROR;
    }
    if (account) {
      states.set(key, new ReqState(0, now, 0, bytes));
      return LR_OK;
    }
    lr = new ReqState(0, 0, 1, bytes);
    states.set(key, lr);
    this.held = lr;
    return LR_AGAIN;
  }

  account(now: number): number {
    const lr = this.held;
    if (lr === null) return -1;
    this.held = null;
    const ms = elapsed(now, lr.last);
    let excess = lr.excess - Math.floor(this.rate * ms / 1000) + 1000;
    if (excess < 0) excess = 0;
    if (ms !== 0) lr.last = now;
    lr.excess = excess;
    lr.count--;
    return excess;
  }

  rollback(): void {
    const lr = this.held;
    if (lr === null) return;
    this.held = null;
    lr.count--;
  }

  /**
   * ngx_http_limit_req_expire: from the oldest end, drop up to two states idle for a minute whose
   * excess has leaked away; with n = 0, first drop the oldest whatever its excess.
   */
  private expire(now: number, n: number): void {
    const states = this.states;
    while (n < 3) {
      const first = states.entries().next();
      if (first.done === true) return;
      const [key, lr] = first.value;
      // a held state is in use; the ones behind it were used more recently still
      if (lr.count !== 0) return;
      if (n++ !== 0) {
        const ms = Math.abs(now - lr.last);
        if (ms < 60000) return;
        if (lr.excess - Math.floor(this.rate * ms / 1000) > 0) return;
      }
      states.delete(key);
      this.slab.free(lr.bytes);
    }
  }

  /** States held now (tests, and the docs' figures). */
  get keys(): number {
    return this.states.size;
  }

  /** The state of `key`, for tests: [excess, last], or null. */
  peek(key: string): readonly [number, number] | null {
    const lr = this.states.get(key);
    return lr === undefined ? null : [lr.excess, lr.last];
  }
}

export class LocalConnZone implements ConnZone {
  readonly name: string;
  readonly key: string;
  readonly size: number;
  private readonly states: Map<string, number>;
  private readonly slab: SlabModel;

  constructor(name: string, key: string, size: number) {
    this.name = name;
    this.key = key;
    this.size = size;
    this.states = new Map();
    this.slab = new SlabModel(size);
    // ngx_http_limit_conn_init_zone: the tree head, the log context
    this.slab.alloc(64);
    this.slab.alloc(23 + name.length);
  }

  acquire(key: string, max: number): number {
    const n = this.states.get(key);
    if (n === undefined) {
      if (!this.slab.alloc(CONN_STATE_BYTES + key.length)) return LC_ERROR;
      this.states.set(key, 1);
      return LC_OK;
    }
    if (n >= max) return LC_BUSY;
    this.states.set(key, n + 1);
    return LC_OK;
  }

  release(key: string): void {
    const n = this.states.get(key);
    if (n === undefined) return;
    if (n > 1) {
      this.states.set(key, n - 1);
      return;
    }
    // the last request of this key: its state goes
    this.states.delete(key);
    this.slab.free(CONN_STATE_BYTES + key.length);
  }

  count(key: string): number {
    return this.states.get(key) ?? 0;
  }

  get keys(): number {
    return this.states.size;
  }
}
