// cf. ngx_http_postpone_filter_module.c — subrequests that write to the client do so in
// document order. Only the active request (nginx's c->data) writes; the others keep their output
// in their `postponed` list until their turn. A request's list mixes its own data and the
// subrequests it started, in the order they came.

import type { Chain } from '../core/buf.js';
import { chainLast } from '../core/buf.js';
import { BodyFilter, OK, type FilterRequest } from './filter.js';

/** One entry of a request's postponed list (ngx_http_postponed_request_t). */
export class Postponed {
  request: FilterRequest | null;
  out: Chain | null;
  next: Postponed | null;
  constructor(request: FilterRequest | null, out: Chain | null) {
    this.request = request;
    this.out = out;
    this.next = null;
  }
}

/** Append a subrequest or some output to r's postponed list. */
export function addPostponed(r: FilterRequest, request: FilterRequest | null, out: Chain | null): void {
  const p = new Postponed(request, out);
  let last = r.postponed;
  if (last === null) { r.postponed = p; return; }
  while (last.next !== null) last = last.next;
  // consecutive output joins the previous data entry
  if (request === null && last.request === null && last.out !== null && out !== null) {
    chainLast(last.out).next = out;
    return;
  }
  last.next = p;
}

export class PostponeFilter extends BodyFilter {
  readonly name = 'postpone';

  body(r: FilterRequest, cl: Chain | null): number {
    const main = r.main;
    if (r !== main.active) {
      if (cl !== null) addPostponed(r, null, cl); // not our turn yet
      return OK;
    }
    if (r.postponed === null) return this.next!.body(main, cl);
    if (cl !== null) addPostponed(r, null, cl);
    return this.flush(r);
  }

  /** r is active: send its postponed output, handing the turn to its subrequests in order. */
  private flush(r: FilterRequest): number {
    const main = r.main;
    let rc = OK;
    while (r.postponed !== null) {
      const pr = r.postponed;
      r.postponed = pr.next;
      if (pr.request !== null) {
        const sr = pr.request;
        main.active = sr;
        rc = this.flush(sr);
        // still running: it writes straight through from now on, and hands back when it ends
        if (!sr.finalized || main.active !== sr) return rc;
        main.active = r;
        continue;
      }
      if (pr.out !== null) rc = this.next!.body(main, pr.out);
    }
    return rc;
  }
}
