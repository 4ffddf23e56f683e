// cf. ngx_http_limit_req_module.c and ngx_http_limit_conn_module.c — the zones (what nginx keeps
// in shared memory: one state per key), as interfaces, so that the in-process zone
// (local-zone.ts) can later be joined by one shared between workers or split among them
// (docs/limits.md). The calls are synchronous, as nginx's are (a mutex around a few loads and
// stores): a zone over a SharedArrayBuffer with an Atomics lock keeps this interface; one held by
// a master process over messages would not.

/** lookup(): the request is within this limit and has been taken into account. */
export const LR_OK = 0;
/** lookup(): within this limit; held for account() or rollback() (not the last limit). */
export const LR_AGAIN = 1;
/** lookup(): over the burst: rejected. */
export const LR_BUSY = 2;
/** lookup(): no room for a new state, even after evicting the oldest (nginx's NGX_ERROR). */
export const LR_ERROR = 3;

/** A limit_req zone: a leaky bucket per key. Excess and rate are in thousandths of a request. */
export interface ReqZone {
  readonly name: string;
  /** The key as written ('$binary_remote_addr'), expanded per request. */
  readonly key: string;
  /** Requests per second, times 1000, rounded down as nginx does (1r/m is 16). */
  readonly rate: number;
  /** The zone's size in bytes, as written. */
  readonly size: number;
  /** The excess the last lookup() found (nginx's *ep), in thousandths of a request. */
  readonly excess: number;
  /**
   * ngx_http_limit_req_lookup: find or make `key`'s state (making it may evict the least
   * recently used ones), and compare its excess with `burst`. With `account`, the request is
   * taken (LR_OK); without, the state is held (LR_AGAIN) until account() or rollback().
   */
  lookup(key: string, now: number, burst: number, account: boolean): number;
  /** Take the held request into account; returns the state's excess, or -1 when none is held. */
  account(now: number): number;
  /** Let the held state go without taking the request (a later limit rejected it). */
  rollback(): void;
}

/** acquire(): counted; release(key) once when the request ends. */
export const LC_OK = 0;
/** acquire(): the key already has its maximum. */
export const LC_BUSY = 1;
/** acquire(): no room for a new key's state. */
export const LC_ERROR = 2;

/** A limit_conn zone: requests being processed, per key. */
export interface ConnZone {
  readonly name: string;
  readonly key: string;
  readonly size: number;
  /** Count one more request for `key` if it has fewer than `max`. */
  acquire(key: string, max: number): number;
  /** The request counted by acquire() is over. */
  release(key: string): void;
  /** Requests counted for `key` now. */
  count(key: string): number;
}
