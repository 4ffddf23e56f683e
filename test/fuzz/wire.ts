// The connection fuzz's response reader and checker. A strict reader of its own rather than
// test/helpers.ts parseResponses: the checker needs where each response ends (to find bytes no
// response accounts for, such as a body after a HEAD, 204 or 304), and which request a response
// answers to know whether it may have a body at all.

import type { Planned } from './gen.js';

export interface Response {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Offset just past this response. */
  end: number;
  /** The body runs to the close (no length, not chunked). */
  closeDelimited: boolean;
}

export type ReadResult =
  | { kind: 'ok'; res: Response }
  | { kind: 'none' }
  | { kind: 'incomplete' }
  | { kind: 'bad'; why: string };

const MAX_HEAD = 16 * 1024;

/** Read one response at `p`. `noBody`: it answers HEAD. `closed`: no more bytes will come. */
export function readResponse(data: Buffer, p: number, headRequest: boolean, closed: boolean): ReadResult {
  if (p >= data.length) return { kind: 'none' };
  const end = data.indexOf('\r\n\r\n', p, 'latin1');
  if (end < 0) {
    const have = data.toString('latin1', p, Math.min(data.length, p + 9));
    if (!'HTTP/1.1 '.startsWith(have) && !have.startsWith('HTTP/1.1 ')) return { kind: 'bad', why: 'not a status line' };
    return data.length - p > MAX_HEAD ? { kind: 'bad', why: 'head too long' } : { kind: 'incomplete' };
  }
  const lines = data.toString('latin1', p, end).split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*$/.exec(lines[0]);
  if (m === null) return { kind: 'bad', why: `not a status line: ${JSON.stringify(lines[0].slice(0, 60))}` };
  const status = Number(m[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) return { kind: 'bad', why: `bad header line ${JSON.stringify(line.slice(0, 60))}` };
    const k = line.slice(0, i).toLowerCase();
    if (headers[k] !== undefined && (k === 'content-length' || k === 'transfer-encoding')) return { kind: 'bad', why: `two ${k} headers` };
    headers[k] = line.slice(i + 1).trim();
  }
  let q = end + 4;
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  if (status < 200 || status === 204) {
    // RFC 9110 8.6 and 9112 6.1: neither header in 1xx or 204
    if (te !== undefined || cl !== undefined) return { kind: 'bad', why: `${status} with Content-Length or Transfer-Encoding` };
  }
  if (te !== undefined && cl !== undefined) return { kind: 'bad', why: 'Content-Length and Transfer-Encoding' };
  const res: Response = { status, headers, body: Buffer.alloc(0), end: q, closeDelimited: false };
  if (headRequest || status < 200 || status === 204 || status === 304) return { kind: 'ok', res };
  if (te !== undefined) {
    if (te.toLowerCase() !== 'chunked') return { kind: 'bad', why: `Transfer-Encoding ${te}` };
    const parts: Buffer[] = [];
    for (;;) {
      const le = data.indexOf('\r\n', q, 'latin1');
      if (le < 0) return { kind: 'incomplete' };
      const line = data.toString('latin1', q, le);
      if (!/^[0-9a-fA-F]{1,8}$/.test(line)) return { kind: 'bad', why: `chunk size ${JSON.stringify(line.slice(0, 20))}` };
      const size = parseInt(line, 16);
      if (size === 0) {
        // no trailers from this server
        if (data.length < le + 4) return { kind: 'incomplete' };
        if (data.toString('latin1', le + 2, le + 4) !== '\r\n') return { kind: 'bad', why: 'trailer after the last chunk' };
        q = le + 4;
        break;
      }
      if (data.length < le + 2 + size + 2) return { kind: 'incomplete' };
      if (data.toString('latin1', le + 2 + size, le + 4 + size) !== '\r\n') return { kind: 'bad', why: 'no CRLF after chunk data' };
      parts.push(data.subarray(le + 2, le + 2 + size));
      q = le + 4 + size;
    }
    res.body = Buffer.concat(parts);
    res.end = q;
    return { kind: 'ok', res };
  }
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) return { kind: 'bad', why: `Content-Length ${cl}` };
    const n = Number(cl);
    if (data.length < q + n) return { kind: 'incomplete' };
    res.body = data.subarray(q, q + n);
    res.end = q + n;
    return { kind: 'ok', res };
  }
  if (!closed) return { kind: 'incomplete' };
  res.body = data.subarray(q);
  res.end = data.length;
  res.closeDelimited = true;
  return { kind: 'ok', res };
}

/** How many requests have their final response complete in `data` (for runs without FIN). */
export function answered(reqs: Planned[], data: Buffer): number {
  let p = 0;
  let n = 0;
  for (const q of reqs) {
    for (;;) {
      const r = readResponse(data, p, q.head, false);
      if (r.kind !== 'ok') return n;
      p = r.res.end;
      if (r.res.status >= 200) break;
    }
    n++;
  }
  return n;
}

/**
 * Hold what came back against the model. Returns null, or what is wrong.
 * Invariants: answers in order; each request before the first one that ends the connection gets
 * exactly what the model says; after that nothing more, and the connection is closed; a `100
 * Continue` only where the model allows one; no body where HTTP forbids one.
 */
export function check(reqs: Planned[], data: Buffer, closed: boolean, fin: boolean): string | null {
  let p = 0;
  let stopped = false;
  for (let i = 0; i < reqs.length && !stopped; i++) {
    const q = reqs[i];
    const label = `request ${i} (${q.note})`;
    let interim = 0;
    let r = readResponse(data, p, q.head, closed);
    while (r.kind === 'ok' && r.res.status < 200) {
      if (r.res.status !== 100) return `${label}: unexpected interim ${r.res.status}`;
      if (q.interim === 'no') return `${label}: a 100 Continue nobody asked for (or that came too late)`;
      if (++interim > 1) return `${label}: two 100 Continue`;
      p = r.res.end;
      r = readResponse(data, p, q.head, closed);
    }
    if (r.kind === 'bad') return `${label}: unreadable response at byte ${p}: ${r.why}`;
    if (r.kind === 'incomplete') return `${label}: response incomplete${closed ? ' when the connection closed' : ''}`;
    if (r.kind === 'none') {
      if (!closed) return `${label}: no response, and the connection is still open`;
      if (!q.outcomes.some((o) => o.status === null)) return `${label}: the connection closed without a response; wanted ${wanted(q)}`;
      if (q.interim === 'must' && interim === 0) return `${label}: no 100 Continue`;
      stopped = true;
      break;
    }
    const res = r.res;
    if (q.interim === 'must' && interim === 0) return `${label}: no 100 Continue before the ${res.status}`;
    const o = q.outcomes.find((x) => x.status === res.status && (x.body === undefined || x.body.equals(res.body)));
    if (o === undefined) {
      const sameStatus = q.outcomes.some((x) => x.status === res.status);
      return `${label}: got ${res.status}${sameStatus ? ' with another body' : ''} ${preview(res.body)}; wanted ${wanted(q)}`;
    }
    const conn = (res.headers.connection ?? '').toLowerCase();
    if (o.sayClose && conn !== 'close') return `${label}: ${res.status} should say Connection: close (says ${JSON.stringify(conn)})`;
    if (o.after === 'keep' && conn === 'close') return `${label}: ${res.status} says Connection: close; the request keeps the connection`;
    if (res.closeDelimited && o.after === 'keep') return `${label}: ${res.status} has neither length nor chunked on a kept connection`;
    p = res.end;
    if (o.after === 'close' || res.closeDelimited || conn === 'close') stopped = true;
    else if (o.after === 'either' && p === data.length && closed) stopped = true;
  }
  if (p < data.length) return `bytes no response accounts for, at ${p}: ${preview(data.subarray(p))}`;
  if (stopped && !closed) return 'the connection should have been closed';
  if (!stopped && fin && !closed) return 'the server did not close after our FIN';
  return null;
}

function wanted(q: Planned): string {
  return q.outcomes.map((o) => (o.status === null ? 'the close' : String(o.status)) + (o.body ? ` ${preview(o.body)}` : '')).join(' or ');
}

export function preview(b: Buffer, n = 120): string {
  const s = JSON.stringify(b.subarray(0, n).toString('latin1'));
  return b.length > n ? `${s}... (${b.length} bytes)` : s;
}
