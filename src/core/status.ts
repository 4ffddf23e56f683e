// cf. src/event/ngx_event.c (ngx_stat_accepted, ngx_stat_handled, ngx_stat_requests,
// ngx_stat_active, ngx_stat_reading, ngx_stat_writing, ngx_stat_waiting) — the connection
// counters stub_status reports, for this process.
//
// nginx keeps them in shared memory, one set for all workers; here each process counts its own
// (the connection layer moves them, src/http/connection.ts) and stub_status asks a source for
// the figures: this process's by default, the sum over the workers when a master installs one.

/** nginx's stub_status figures. */
export interface StatusCounters {
  /** Open client connections (Waiting included). */
  active: number;
  /** Connections accepted. */
  accepts: number;
  /** Connections handled: accepted and not dropped at the workerConnections limit. */
  handled: number;
  /** Client requests (a request counts from the first byte of its head). */
  requests: number;
  /** Connections whose request head is being read. */
  reading: number;
  /** Connections whose request is being processed (its body read, its response written). */
  writing: number;
  /** Idle connections: kept alive between requests, or accepted with nothing sent yet. */
  waiting: number;
}

/** The counters of this process, moved by the connection layer (one object, fields in place). */
export const STAT: StatusCounters = {
  active: 0, accepts: 0, handled: 0, requests: 0, reading: 0, writing: 0, waiting: 0,
};

/** What a connection is doing, for reading / writing / waiting (the connection keeps its own). */
export const STAT_NONE = 0, STAT_WAITING = 1, STAT_READING = 2, STAT_WRITING = 3;

/** Move one connection from state `from` to state `to` (STAT_*); returns `to`. */
export function statMove(from: number, to: number): number {
  if (from === to) return to;
  if (from === STAT_WAITING) STAT.waiting--;
  else if (from === STAT_READING) STAT.reading--;
  else if (from === STAT_WRITING) STAT.writing--;
  if (to === STAT_WAITING) STAT.waiting++;
  else if (to === STAT_READING) STAT.reading++;
  else if (to === STAT_WRITING) STAT.writing++;
  return to;
}

/** A copy of this process's counters. */
export function localStatus(): StatusCounters {
  return { ...STAT };
}

const local = (): Promise<StatusCounters> => Promise.resolve(localStatus());
let source: (() => Promise<StatusCounters>) | null = null;

/**
 * Where stub_status gets its figures: `fn` (a master summing its workers, say), or this
 * process's counters again when `fn` is null.
 */
export function setStatusSource(fn: (() => Promise<StatusCounters>) | null): void {
  source = fn;
}

/** The source stub_status asks; null: this process's counters (read at once, no promise). */
export function statusSource(): (() => Promise<StatusCounters>) | null {
  return source;
}

/** The figures as stub_status answers them (a source's, or this process's). */
export function currentStatus(): Promise<StatusCounters> {
  return (source ?? local)();
}

/** stub_status's text (ngx_http_stub_status_handler), trailing spaces and all. */
export function statusText(s: StatusCounters): string {
  return `Active connections: ${s.active} \nserver accepts handled requests\n ${s.accepts} ${s.handled} ${s.requests} \n`
    + `Reading: ${s.reading} Writing: ${s.writing} Waiting: ${s.waiting} \n`;
}
