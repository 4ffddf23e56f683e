// cf. ngx_http_upstream.c (ngx_http_upstream_state_t, ngx_http_upstream_add_variables) — what a
// request's trips to upstreams leave behind, and the $upstream_* variables that read it.
//
// A request keeps one UpstreamState per peer tried, in order; each later proxying of the same
// request (after an internal redirect) first adds a separator, an UpstreamState without a peer.
// The variables join the states with ", " and the separators with " : ", as nginx does. The proxy
// records plain numbers as it goes; the strings are made only when a variable is read.

import { registerPrefixVariable, registerVariable } from '../variables.js';
import type { Request } from '../request.js';
import type { ProxyTarget } from '../modules/proxy.js';

/** One try of one peer (or a separator between two proxyings of the request, peer null). */
export class UpstreamState {
  /** "host:port" (the group's name when no peer was live), or null for a separator. */
  readonly peer: string | null;
  /** The upstream's status, or 502/504 when the try failed; 0: none. */
  status: number;
  /** When the try began (ms, the connection's clock). */
  readonly start: number;
  /** Since `start` (ms); -1: not reached. */
  connectTime: number;
  headerTime: number;
  responseTime: number;
  bytesSent: number;
  bytesReceived: number;
  /** Body bytes received from the upstream. */
  responseLength: number;

  constructor(peer: string | null, start: number) {
    this.peer = peer;
    this.status = 0;
    this.start = start;
    this.connectTime = -1;
    this.headerTime = -1;
    this.responseTime = peer === null ? 0 : -1;
    this.bytesSent = 0;
    this.bytesReceived = 0;
    this.responseLength = 0;
  }
}

/** What the proxy module keeps on a request (r.upstream): its tries, the last response's head, its target. */
export class UpstreamInfo {
  readonly states: UpstreamState[];
  /** The last upstream response's header fields as received: name, value, name, value... */
  headers: string[] | null;
  /** The target of the last proxying (a proxyPass with variables is worked out per request). */
  target: ProxyTarget | null;
  constructor() {
    this.states = [];
    this.headers = null;
    this.target = null;
  }
}

/** The states' values joined as nginx joins them: ", " between tries, " : " at a separator. */
function joined(r: Request, one: (s: UpstreamState) => string): string | undefined {
  const st = r.upstream?.states;
  if (st === undefined || st.length === 0) return undefined;
  const n = st.length;
  let out = '';
  let i = 0;
  for (;;) {
    out += one(st[i]);
    if (++i === n) break;
    if (st[i].peer !== null) {
      out += ', ';
    } else {
      out += ' : ';
      if (++i === n) break;
    }
  }
  return out;
}

/** Milliseconds as nginx prints them: seconds with three decimals, '-' when not reached. */
function seconds(ms: number): string {
  if (ms === -1) return '-';
  if (ms < 0) ms = 0;
  const frac = ms % 1000;
  return `${(ms - frac) / 1000}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

registerVariable('upstream_addr', (r) => joined(r, (s) => s.peer ?? ''));
registerVariable('upstream_status', (r) => joined(r, (s) => (s.status !== 0 ? String(s.status) : '-')));
registerVariable('upstream_response_time', (r) => joined(r, (s) => seconds(s.responseTime)));
registerVariable('upstream_connect_time', (r) => joined(r, (s) => seconds(s.connectTime)));
registerVariable('upstream_header_time', (r) => joined(r, (s) => seconds(s.headerTime)));
registerVariable('upstream_response_length', (r) => joined(r, (s) => String(s.responseLength)));
registerVariable('upstream_bytes_received', (r) => joined(r, (s) => String(s.bytesReceived)));
registerVariable('upstream_bytes_sent', (r) => joined(r, (s) => String(s.bytesSent)));

/** $upstream_http_NAME: the last upstream response's first field of that name ('_' for '-'). */
registerPrefixVariable('upstream_http_', (r, name) => {
  const h = r.upstream?.headers;
  if (h === null || h === undefined) return undefined;
  const want = name.toLowerCase();
  for (let i = 0; i < h.length; i += 2) {
    const k = h[i];
    if (k.length === want.length && k.toLowerCase().replace(/-/g, '_') === want) return h[i + 1];
  }
  return undefined;
});
