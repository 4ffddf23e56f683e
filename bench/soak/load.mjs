// The soak's load generator: node:net keep-alive clients, one request at a time per connection,
// a seeded mix of requests, plus clients that never read, and requests and responses cut short.
// Started by soak.mjs (pinned to its core) with an IPC channel: progress every 250 ms, the
// totals at the end. Usage: node bench/soak/load.mjs PORT REQUESTS CONNECTIONS
import { connect } from 'node:net';
import { gunzipSync } from 'node:zlib';

const port = Number(process.argv[2]);
const total = Number(process.argv[3] ?? 20000);
const conns = Number(process.argv[4] ?? 50);
/** How long a never-reading client holds its connection before it closes it. */
const HOLD_MS = 300;
/** A request with no answer by then counts as an error (and its connection is dropped). */
const REQUEST_TIMEOUT_MS = 15000;

const GZ_TEXT = Buffer.from('sluice soak: a line of text that compresses well, again and again.\n'.repeat(240));

/** [name, weight, path, check] — the check gets (status, headers, body or length). */
const MIX = [
  ['hello', 30, '/hello', { body: 'hello\n' }],
  ['static4k', 14, '/static/4k.bin', { len: 4096 }],
  ['static256k', 3, '/static/256k.bin', { len: 256 * 1024 }],
  ['gzip', 8, '/gzip', { gzip: true }],
  ['capture', 10, '/capture', { body: 'sub /internal/a\n' }],
  ['multi', 8, '/multi', { body: 'sub /internal/a\nsub /internal/b\nsub /internal/c\n' }],
  ['proxy', 12, '/proxy/small', { len: 1024 }],
  ['client', 8, '/client', { body: 'client-ok\n' }],
  ['noread', 0.1, '/big', null],
  ['abortRequest', 0.5, null, null],
  ['abortResponse', 0.5, null, null],
];
const WEIGHT = MIX.reduce((a, m) => a + m[1], 0);
const REQ = new Map(MIX.filter((m) => m[2] !== null).map((m) => [m[0], Buffer.from(`GET ${m[2]} HTTP/1.1\r\nHost: soak\r\nAccept-Encoding: gzip\r\n\r\n`)]));

// mulberry32: the same mix, in the same order, on every run
let seed = 0x50a4 >>> 0;
function rand() {
  let t = (seed = (seed + 0x6d2b79f5) >>> 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function pick() {
  let x = rand() * WEIGHT;
  for (const m of MIX) { x -= m[1]; if (x < 0) return m; }
  return MIX[0];
}

const counts = Object.fromEntries(MIX.map((m) => [m[0], 0]));
const errors = { status: 0, body: 0, closed: 0, reset: 0, timeout: 0, protocol: 0, connect: 0 };
const firstErrors = [];
function error(kind, what) {
  errors[kind]++;
  if (firstErrors.length < 10) firstErrors.push(`${kind}: ${what}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// response reader states
const HEAD = 0, BODY = 1, SIZE = 2, DATA = 3, CRLF = 4, TRAILER = 5;

/** A kept connection and a reader for one response at a time (Content-Length or chunked). */
class Conn {
  constructor() {
    this.s = connect(port, '127.0.0.1');
    this.s.setNoDelay(true);
    this.dead = false;
    this.closing = false;
    this.keepBody = false;
    this.failed = null;
    this.pending = null;
    this.started = 0;
    this.reset();
    this.s.on('data', (d) => this.onData(d));
    this.s.on('error', (e) => { this.failed = e.code ?? 'error'; });
    this.s.on('close', () => {
      this.dead = true;
      if (this.pending !== null) this.finish(this.failed === null ? 'closed' : 'reset');
    });
  }

  ready() {
    return new Promise((resolve) => {
      this.s.once('connect', () => resolve(true));
      this.s.once('error', () => resolve(false));
    });
  }

  reset() {
    this.st = HEAD;
    this.head = null;
    this.left = 0;
    this.line = '';
    this.parts = [];
    this.len = 0;
    this.status = 0;
    this.headers = null;
  }

  request(bytes, keepBody) {
    this.keepBody = keepBody;
    this.started = Date.now();
    return new Promise((resolve) => {
      this.pending = resolve;
      this.s.write(bytes);
    });
  }

  finish(fail) {
    const resolve = this.pending;
    this.pending = null;
    const res = fail !== null ? { fail } : {
      status: this.status, headers: this.headers, len: this.len,
      body: this.keepBody ? Buffer.concat(this.parts) : null,
    };
    this.reset();
    if (fail !== null) this.s.destroy();
    resolve(res);
  }

  onData(d) {
    if (this.pending === null) { error('protocol', 'bytes with no request outstanding'); this.s.destroy(); return; }
    let i = 0;
    if (this.st === HEAD) {
      this.head = this.head === null ? d : Buffer.concat([this.head, d]);
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) { if (this.head.length > 65536) this.finish('protocol'); return; }
      const lines = this.head.toString('latin1', 0, end).split('\r\n');
      this.status = Number(lines[0].slice(9, 12));
      const h = {};
      for (let k = 1; k < lines.length; k++) {
        const c = lines[k].indexOf(':');
        h[lines[k].slice(0, c).toLowerCase()] = lines[k].slice(c + 1).trim();
      }
      this.headers = h;
      d = this.head.subarray(end + 4);
      this.head = null;
      if (h['transfer-encoding'] === 'chunked') this.st = SIZE;
      else if (h['content-length'] !== undefined) { this.st = BODY; this.left = Number(h['content-length']); }
      else { this.finish('protocol'); return; }
      if (this.st === BODY && this.left === 0) { this.done(d, 0); return; }
    }
    while (i < d.length) {
      switch (this.st) {
        case BODY: {
          const n = Math.min(this.left, d.length - i);
          this.take(d, i, n);
          i += n;
          this.left -= n;
          if (this.left === 0) { this.done(d, i); return; }
          break;
        }
        case SIZE: case TRAILER: {
          const j = d.indexOf(10, i);
          if (j < 0) { this.line += d.toString('latin1', i); i = d.length; break; }
          this.line += d.toString('latin1', i, j + 1);
          i = j + 1;
          const line = this.line;
          this.line = '';
          if (this.st === TRAILER) {
            if (line === '\r\n') { this.done(d, i); return; }
          } else {
            const n = parseInt(line, 16);
            if (Number.isNaN(n)) { this.finish('protocol'); return; }
            if (n === 0) this.st = TRAILER; else { this.left = n; this.st = DATA; }
          }
          break;
        }
        case DATA: {
          const n = Math.min(this.left, d.length - i);
          this.take(d, i, n);
          i += n;
          this.left -= n;
          if (this.left === 0) { this.st = CRLF; this.left = 2; }
          break;
        }
        case CRLF: {
          const n = Math.min(this.left, d.length - i);
          i += n;
          this.left -= n;
          if (this.left === 0) this.st = SIZE;
          break;
        }
      }
    }
  }

  take(d, i, n) {
    this.len += n;
    if (this.keepBody && n > 0) this.parts.push(d.subarray(i, i + n));
  }

  done(d, i) {
    if (i < d.length) error('protocol', `${d.length - i} bytes after a complete response`);
    this.finish(null);
  }
}

/** Is the answer to a plain request right? */
function check(name, res, expect) {
  if (res.fail) {
    if (res.fail === 'protocol') error('protocol', `${name}: unreadable response`);
    else error(res.fail, `${name}: connection ${res.fail} before the response was complete`);
    return;
  }
  if (res.status !== 200) { error('status', `${name}: ${res.status}`); return; }
  if (expect.body !== undefined && res.body.toString('latin1') !== expect.body) error('body', `${name}: ${JSON.stringify(res.body.toString('latin1').slice(0, 80))}`);
  else if (expect.len !== undefined && res.len !== expect.len) error('body', `${name}: ${res.len} bytes`);
  else if (expect.gzip) {
    if (res.headers['content-encoding'] !== 'gzip') error('body', `${name}: not gzip'd`);
    else if (!gunzipSync(res.body).equals(GZ_TEXT)) error('body', `${name}: gunzip differs`);
  }
}

/** A fresh connection for a one-off, destroyed at the end whatever happens. */
async function oneOff(fn) {
  const s = connect(port, '127.0.0.1');
  s.setNoDelay(true);
  s.on('error', () => {});
  const ok = await new Promise((resolve) => { s.once('connect', () => resolve(true)); s.once('error', () => resolve(false)); });
  if (!ok) { error('connect', 'one-off connection refused'); s.destroy(); return; }
  try { await fn(s); } finally { s.destroy(); }
}

/** Resolves on the first response byte, or after `ms`. */
function firstByte(s, ms) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    s.once('data', () => { clearTimeout(t); resolve(); });
    s.once('close', () => { clearTimeout(t); resolve(); });
  });
}

const ABORT_REQUEST = [
  // half a head
  (s) => { s.write('GET /hello HTTP/1.1\r\nHost: so'); return sleep(2); },
  // a body cut short while proxyPass streams it upstream
  (s) => { s.write(`POST /proxy/small HTTP/1.1\r\nHost: soak\r\nContent-Length: 65536\r\n\r\n${'p'.repeat(1000)}`); return sleep(5); },
  // a chunked body cut short for a handler that calls the HTTP client
  (s) => { s.write('POST /client HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n' + 'c'.repeat(300)); return sleep(5); },
  // a body a capture never reads, cut short
  (s) => { s.write(`POST /capture HTTP/1.1\r\nHost: soak\r\nContent-Length: 10000\r\n\r\n${'k'.repeat(2000)}`); return sleep(3); },
];
// SOAK_ABORT_STATIC=0 leaves the static file out: before 8591db7 a static response cut short while
// a file read is in flight killed the server (write.ts onPiece on a null r.out)
const ABORT_RESPONSE = [
  ...(process.env.SOAK_ABORT_STATIC === '0' ? [] : ['/static/256k.bin']), '/big', '/proxy/big', '/multi',
].map((p) => Buffer.from(`GET ${p} HTTP/1.1\r\nHost: soak\r\n\r\n`));

let issued = 0;
let done = 0;
let abortTurn = 0;
const live = new Set();

async function slot() {
  let c = null;
  while (issued < total) {
    issued++;
    const m = pick();
    const name = m[0];
    counts[name]++;
    if (name === 'noread') {
      // asks for 4 MiB and never reads a byte: the server must wait, not buffer it all
      await oneOff(async (s) => { s.pause(); s.write(REQ.get('noread')); await sleep(HOLD_MS); });
    } else if (name === 'abortRequest') {
      await oneOff(ABORT_REQUEST[abortTurn++ % ABORT_REQUEST.length]);
    } else if (name === 'abortResponse') {
      await oneOff(async (s) => { s.write(ABORT_RESPONSE[abortTurn++ % ABORT_RESPONSE.length]); await firstByte(s, 2000); });
    } else {
      if (c === null || c.dead || c.closing) {
        c = new Conn();
        if (!(await c.ready())) { error('connect', 'refused'); c = null; await sleep(10); done++; continue; }
        live.add(c);
      }
      const expect = m[3];
      const res = await c.request(REQ.get(name), expect.body !== undefined || expect.gzip === true);
      check(name, res, expect);
      // keepalive_requests: the last answer on a connection says close
      if (!res.fail && res.headers.connection === 'close') c.closing = true;
      if (c.dead || c.closing) { c.s.destroy(); live.delete(c); }
    }
    done++;
  }
  if (c !== null) { c.s.destroy(); live.delete(c); }
}

const watchdog = setInterval(() => {
  const now = Date.now();
  for (const c of live) {
    if (c.pending !== null && now - c.started > REQUEST_TIMEOUT_MS) c.finish('timeout');
  }
}, 1000);
const progress = setInterval(() => process.send?.({ type: 'progress', done, errors: Object.values(errors).reduce((a, b) => a + b, 0) }), 250);

const t0 = Date.now();
await Promise.all(Array.from({ length: conns }, slot));
const elapsedMs = Date.now() - t0;
// last, a burst of never-reading clients at once, then quiet: what the server still holds after
// it (links freed with their last buffer, say) shows in the sample taken after this
const burst = Number(process.env.SOAK_BURST ?? 50);
process.send?.({ type: 'burst', clients: burst });
await Promise.all(Array.from({ length: burst }, () => oneOff(async (s) => { s.pause(); s.write(REQ.get('noread')); await sleep(2 * HOLD_MS); })));
clearInterval(watchdog);
clearInterval(progress);
const result = { type: 'done', done, elapsedMs, burst, counts, errors, firstErrors };
if (process.send) process.send(result, () => process.exit(0));
else { console.log(JSON.stringify(result)); process.exit(0); }
