// The filter trace: between every two filters a tracer logs what passes, in the spirit of
// nginx's debug log ("http output filter", "http write filter: l:1 f:0 s:6"). It is only
// installed when asked for (filterTrace: true or SLUICE_FILTER_TRACE=1), so the normal chains
// carry no cost for it.

import { B_FLUSH, B_IN_FILE, B_LAST_BUF, B_LAST_IN_CHAIN, B_MEMORY, B_SYNC, B_TEMPORARY, type Chain } from '../core/buf.js';
import { BodyFilter, HeaderFilter, type FilterRequest } from './filter.js';

export type TraceSink = (line: string) => void;

let sink: TraceSink = (line) => process.stderr.write(line + '\n');

/** Where trace lines go (stderr by default; tests collect them). */
export function setTraceSink(fn: TraceSink): void {
  sink = fn;
}

function flagNames(f: number): string {
  let s = '';
  if (f & B_MEMORY) s += 'm';
  if (f & B_TEMPORARY) s += 't';
  if (f & B_IN_FILE) s += 'F';
  if (f & B_FLUSH) s += 'f';
  if (f & B_SYNC) s += 's';
  if (f & B_LAST_BUF) s += 'L';
  if (f & B_LAST_IN_CHAIN) s += 'l';
  return s || '-';
}

export function describeChain(cl: Chain | null): string {
  if (cl === null) return 'null';
  const parts: string[] = [];
  for (; cl !== null; cl = cl.next) parts.push(`${cl.buf.size()}:${flagNames(cl.buf.flags)}`);
  return parts.join(' ');
}

export class TraceHeaderFilter extends HeaderFilter {
  readonly name: string;
  constructor(readonly target: string) {
    super();
    this.name = 'trace:' + target;
  }
  header(r: FilterRequest): number {
    if (r.conf.filterTrace || TRACE_ALL) sink(`[filter] ${r.traceId} header > ${this.target} status=${r.headersOut.status} len=${r.headersOut.contentLength}`);
    return this.next!.header(r);
  }
}

export class TraceBodyFilter extends BodyFilter {
  readonly name: string;
  constructor(readonly target: string) {
    super();
    this.name = 'trace:' + target;
  }
  body(r: FilterRequest, cl: Chain | null): number {
    if (r.conf.filterTrace || TRACE_ALL) sink(`[filter] ${r.traceId} body   > ${this.target} ${describeChain(cl)}`);
    return this.next!.body(r, cl);
  }
}

/** SLUICE_FILTER_TRACE=1 traces every request, whatever the config says. */
export const TRACE_ALL = process.env.SLUICE_FILTER_TRACE === '1';
