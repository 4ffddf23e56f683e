// cf. wrk 4.1's report (src/wrk.c, src/units.c) — what bench:nginx reads from wrk's output.
// What wrk counts: every complete response is one request (with a pipelining script, 8 per
// send); the latency sample is taken when the last response of a send arrives, so with 8
// pipelined requests the latency is that of the batch. "Non-2xx or 3xx responses" counts
// statuses above 399 only. With `Connection: close` wrk reconnects after each response and
// counts each as a request.

/** One wrk run as read from its output; times in µs, sizes in bytes. */
export interface WrkResult {
  requests: number;
  seconds: number;
  bytes: number;
  rps: number;
  latency: { avg: number; stdev: number; max: number; p50: number; p75: number; p90: number; p99: number };
  errors: { connect: number; read: number; write: number; timeout: number; status: number };
}

const TIME_UNITS: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 };
const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** "717.82us", "1.84ms", "2.00s", "1.00m" → µs; NaN when it is not a wrk time. */
export function parseTime(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(s.trim());
  return m ? Number(m[1]) * TIME_UNITS[m[2]] : NaN;
}

/** "116.00MB", "512B" → bytes (wrk's units are powers of 1024); NaN otherwise. */
export function parseSize(s: string): number {
  const m = /^([\d.]+)([KMGT]?B)$/.exec(s.trim());
  return m ? Number(m[1]) * SIZE_UNITS[m[2]] : NaN;
}

/** Reads wrk's text report (with or without --latency); throws when the totals line is missing. */
export function parseWrk(text: string): WrkResult {
  const totals = /^\s*(\d+) requests in ([\d.]+(?:us|ms|s|m|h)), ([\d.]+[KMGT]?B) read/m.exec(text);
  if (!totals) throw new Error(`no "N requests in T, B read" line in wrk's output:\n${text}`);
  const requests = Number(totals[1]);
  const seconds = parseTime(totals[2]) / 1e6;
  const bytes = parseSize(totals[3]);
  const lat = /^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)/m.exec(text);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(text);
    return m ? parseTime(m[1]) : NaN;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const status = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  return {
    requests,
    seconds,
    bytes,
    rps: rps ? Number(rps[1]) : requests / seconds,
    latency: {
      avg: lat ? parseTime(lat[1]) : NaN,
      stdev: lat ? parseTime(lat[2]) : NaN,
      max: lat ? parseTime(lat[3]) : NaN,
      p50: pct('50'), p75: pct('75'), p90: pct('90'), p99: pct('99'),
    },
    errors: {
      connect: sock ? Number(sock[1]) : 0,
      read: sock ? Number(sock[2]) : 0,
      write: sock ? Number(sock[3]) : 0,
      timeout: sock ? Number(sock[4]) : 0,
      status: status ? Number(status[1]) : 0,
    },
  };
}

/** Socket errors and error statuses together. */
export function errorCount(r: WrkResult): number {
  const e = r.errors;
  return e.connect + e.read + e.write + e.timeout + e.status;
}

/** A wrk Lua script whose every send is `depth` GET requests of `path` in one buffer. */
export function pipelineScript(depth: number, path: string): string {
  return [
    '-- bench:nginx: ' + depth + ' requests per send (each response is counted; latency per batch)',
    'local batch',
    'init = function(args)',
    '  local r = {}',
    `  for i = 1, ${depth} do r[i] = wrk.format("GET", ${JSON.stringify(path)}) end`,
    '  batch = table.concat(r)',
    'end',
    'request = function() return batch end',
    '',
  ].join('\n');
}
