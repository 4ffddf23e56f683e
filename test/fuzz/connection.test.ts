// A fuzz of the whole connection (cf. ngx_http_request.c): random pipelines of valid and invalid
// requests over one socket, cut at random bytes, held against a model of what each must get
// (gen.ts) by a strict reader of what came back (wire.ts). Deterministic: the seed is fixed and
// printed. Widen a run by hand:
//   FUZZ_SEED=123 FUZZ_ITER=5000 node test/run.mjs 'fuzz/.+\.test\.js$'
//   FUZZ_SEED=123 FUZZ_ONLY=17 ...    replay one connection of a run, printing its bytes
//   ... FUZZ_ONLY=17 FUZZ_REPEAT=2000 the same connection again and again, for a race
//   FUZZ_KNOWN=1 ...                  include the known-failing cases below
//   FUZZ_COVERAGE=1 ...               print how often each generated feature came up
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, raw, timed, captureLog, stopCapture, errorLines } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { Request } from '../../src/http/request.js';
import { Generator, MAX_BODY, connectionSeed, echoJson, type Coverage, type Pipeline, type Site } from './gen.js';
import { answered, check, preview } from './wire.js';

/**
 * Known defects in src/, being fixed by others now. While a name is listed, the generator does not
 * make that case and its pinned reproduction at the end of this file is left out of the run (uvu
 * has no skip). FUZZ_KNOWN=1 runs them anyway. Remove a name when its fix lands.
 *   head-error-body   an invalid HEAD request gets its 400/501/505 page with a body when the
 *                     method came split over reads ("H", then "EAD /x ..."); whole, it is fixed (05e3069)
 *   error-page-discard-413  a 404/405 page from the static module to a chunked body over
 *                     clientMaxBodySize, whose first read holds more than the limit but not the end:
 *                     answered "keep-alive", then the connection closes (the 413 that onBody noted
 *                     is only cleared by discardBody(), which error pages do not call)
 *   static-abort-read  a client that closes while a static file read is in flight: the read's
 *                     callback (write.ts onPiece) dereferences r.out, now null; a TypeError that the
 *                     process-wide handler logs at alert (before 8591db7 it killed the process)
 * Found by this fuzz and fixed (their pinned cases run): absolute-form-bad-host,
 * expect-error-page-close, discard-chunked-413 (05e3069); te-coded-chunked (b4189e4).
 */
const KNOWN_FAILING: ReadonlySet<string> = new Set(process.env.FUZZ_KNOWN ? [] : []);

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed51ce) >>> 0;
const ITER = Number(process.env.FUZZ_ITER ?? 400);
const ONLY = process.env.FUZZ_ONLY === undefined ? -1 : Number(process.env.FUZZ_ONLY);
/** With FUZZ_ONLY: run that connection this many times (PARALLEL at once), for races. */
const REPEAT = Number(process.env.FUZZ_REPEAT ?? 1);
/** Connections at once. */
const PARALLEL = 12;
/** A connection that has neither all its answers nor a close by then has stalled: a failure. */
const STALL_MS = 4000;

let s: SluiceServer;
let dir: string;
let site: Site;
/** Error log lines of a crash, a stray exception or a failed handler. */
function alerts(): string[] {
  return errorLines.lines.filter((l) => /\[(alert|emerg|crit)\]|handler failed|request crashed/.test(l)).map((l) => l.trimEnd());
}

function echo(newline: boolean) {
  return async (r: Request) => {
    await r.readBody();
    const b = r.body() ?? Buffer.alloc(0);
    const x = r.headers['x-echo'];
    const json = echoJson({
      id: (r.headers['x-fuzz'] as string | undefined) ?? null, m: r.method, u: r.uri, a: r.args, h: r.hostName,
      v: r.httpVersion, x: typeof x === 'string' ? x : null, l: b.length, md5: createHash('md5').update(b).digest('hex'),
    });
    if (newline) {
      r.say(json); // no length: chunked in HTTP/1.1, to the close in 1.0
    } else {
      r.header['Content-Length'] = String(Buffer.byteLength(json));
      r.print(json);
    }
  };
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-fuzz-'));
  mkdirSync(join(dir, 'static'));
  const file = Buffer.alloc(3000);
  for (let i = 0; i < file.length; i++) file[i] = 97 + ((i * 7) % 26);
  writeFileSync(join(dir, 'static', 'a.txt'), file);
  writeFileSync(join(dir, 'static', 'big.bin'), Buffer.alloc(256 * 1024, 'B')); // more than one file read
  s = await listen({
    '/echo': { content: echo(false) },
    '/echoc': { content: echo(true) },
    '/ok': { return: [200, 'ok\n'] },
    '= /nc': { return: [204] },
    '/static/': { root: dir },
  }, { clientMaxBodySize: MAX_BODY });
  // the server's error log is collected: a crash or a failed handler shows there (413s and bad
  // requests at level error are expected, and not looked at)
  captureLog();
  // ETag and Last-Modified as the static module makes them
  const st = statSync(join(dir, 'static', 'a.txt'));
  site = {
    file,
    etag: `"${Math.floor(st.mtimeMs / 1000).toString(16)}-${st.size.toString(16)}"`,
    lastModified: new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString(),
  };
});

test.after(async () => {
  stopCapture();
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Wire {
  data: Buffer;
  closed: boolean;
  reset: boolean;
  stalled: boolean;
}

const open = new Set<Socket>();

/** Send a pipeline's pieces; end on all answers (no FIN) or on the server's close. */
function drive(port: number, pl: Pipeline): Promise<Wire> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closed = false;
    let reset = false;
    let done = false;
    const c = connect(port, '127.0.0.1');
    open.add(c);
    c.setNoDelay(true);
    const finish = (stalled: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      c.destroy();
      open.delete(c);
      resolve({ data: Buffer.concat(chunks), closed, reset, stalled });
    };
    const guard = setTimeout(finish, STALL_MS, true);
    c.on('connect', async () => {
      for (const piece of pl.pieces) {
        if (piece.delay === 0) await new Promise((r) => setImmediate(r));
        else if (piece.delay > 0) await new Promise((r) => setTimeout(r, piece.delay));
        if (done || closed || c.destroyed || c.writableEnded) return;
        c.write(piece.data);
      }
      if (pl.abort === 'after-write') setTimeout(finish, 2, false);
      else if (pl.fin && !done && !c.writableEnded) c.end();
    });
    c.on('data', (d: Buffer) => {
      chunks.push(d);
      if (pl.abort === 'first-byte') finish(false);
      else if (!pl.fin && pl.abort === null && answered(pl.reqs, Buffer.concat(chunks)) === pl.reqs.length) finish(false);
    });
    c.on('end', () => { closed = true; finish(false); });
    c.on('error', () => { closed = true; reset = true; finish(false); });
    c.on('close', () => { closed = true; finish(false); });
  });
}

interface Failure {
  conn: number;
  why: string;
  pl: Pipeline;
  got: Wire;
}

function report(f: Failure, full = false): string {
  const n = full ? 1 << 20 : 700;
  let at = 0;
  const cuts = f.pl.pieces.slice(0, -1).map((p) => (at += p.data.length));
  return [
    `connection ${f.conn} (FUZZ_SEED=${SEED} FUZZ_ONLY=${f.conn}): ${f.why}`,
    `  requests: ${f.pl.reqs.map((q, i) => `[${i}] ${q.note}`).join('; ')}`,
    `  sent ${f.pl.bytes.length} bytes, ${f.pl.fin ? 'then FIN' : 'no FIN'}, split ${f.pl.split} at ${cuts.length > 20 ? cuts.length + ' points' : JSON.stringify(cuts)}:`,
    `    ${preview(f.pl.bytes, n)}`,
    `  got ${f.got.data.length} bytes${f.got.closed ? ', then the close' : ''}${f.got.reset ? ' (reset)' : ''}${f.got.stalled ? ' (stalled)' : ''}:`,
    `    ${preview(f.got.data, n)}`,
  ].join('\n');
}

test(`fuzz: random pipelines over one connection (seed ${SEED}, ${ONLY >= 0 ? `connection ${ONLY}` : `${ITER} connections`})`, timed(60000, async () => {
  const t0 = Date.now();
  const cov: Coverage = {};
  const failures: Failure[] = [];
  const ids = ONLY >= 0 ? Array.from({ length: REPEAT }, () => ONLY) : Array.from({ length: ITER }, (_, i) => i);
  let next = 0;
  let requests = 0;
  const worker = async () => {
    while (next < ids.length) {
      const i = ids[next++];
      const pl = new Generator(connectionSeed(SEED, i), site, KNOWN_FAILING, cov, i).pipeline();
      requests += pl.reqs.length;
      const got = await drive(s.port, pl);
      const why = got.stalled ? `stalled: neither all answers nor a close in ${STALL_MS} ms`
        : pl.abort !== null ? null : check(pl.reqs, got.data, got.closed, pl.fin);
      if (why !== null) failures.push({ conn: i, why, pl, got });
      if (ONLY >= 0 && (REPEAT === 1 || why !== null)) console.log(report({ conn: i, why: why ?? 'ok', pl, got }, true));
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));

  // the server is still up and other connections never noticed
  const control = await raw(s.port, 'GET /ok HTTP/1.1\r\nHost: control\r\n\r\n', { responses: 1 });
  assert.is(control.responses[0]?.status, 200, 'the control connection is answered');
  assert.is(control.responses[0]?.body.toString(), 'ok\n', 'the control connection gets its body');
  for (const c of open) c.destroy();
  const t1 = Date.now();
  while (s.connectionCount() > 0 && Date.now() - t1 < 2000) await new Promise((r) => setTimeout(r, 10));

  failures.sort((a, b) => a.conn - b.conn);
  const keys = Object.keys(cov).sort();
  console.log(`  fuzz: seed ${SEED}, ${ids.length} connections, ${requests} requests, ${failures.length} failed, ${Date.now() - t0} ms`);
  // what the run exercised, when asked for (FUZZ_COVERAGE=1) or when something failed
  if (process.env.FUZZ_COVERAGE || failures.length > 0) console.log(`  covered: ${keys.map((k) => `${k}=${cov[k]}`).join(' ')}`);
  assert.equal(alerts(), [], 'no crash or failed handler in the error log');
  assert.is(s.connectionCount(), 0, 'every connection closed on the server too');
  if (failures.length > 0) {
    assert.unreachable(`${failures.length} of ${ids.length} connections failed; the first ones:\n${failures.slice(0, 5).map((f) => report(f)).join('\n\n')}`);
  }
}));

// ---------------------------------------------------------------- defects found, pinned

function pinned(name: string, title: string, fn: () => Promise<void>): void {
  if (KNOWN_FAILING.has(name)) return; // listed above: left out of the run until its fix lands
  test(`pinned ${name}: ${title}`, timed(5000, fn));
}

pinned('head-error-body', 'an invalid HEAD request gets its error page without a body', async () => {
  for (const bytes of [
    'HEAD /echo HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n',
    'HEAD /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n\r\n',
    'HEAD /echo HTTP/1.2\r\nHost: a\r\n\r\n',
  ]) {
    // whole, and with the method split over two reads
    for (const at of [0, 1, 4]) {
      const res = at === 0 ? await raw(s.port, bytes) : await raw(s.port, bytes.slice(0, at), { segments: [{ delayMs: 20, data: bytes.slice(at) }] });
      const head = res.text.indexOf('\r\n\r\n');
      const what = `${JSON.stringify(bytes)}${at > 0 ? ` split at ${at}` : ''}`;
      assert.ok(head > 0 && /^HTTP\/1\.1 (400|501|505) /.test(res.text), `an error status for ${what}`);
      assert.is(res.data.length, head + 4, `nothing after the head for ${what}`);
      assert.ok(res.closed, 'closed');
    }
  }
});

pinned('absolute-form-bad-host', 'an invalid Host header is refused with an absolute-form target too', async () => {
  const res = await raw(s.port, 'GET http://other.example/ok HTTP/1.1\r\nHost: a..b\r\n\r\n');
  assert.is(res.responses[0]?.status, 400, 'refused as nginx refuses it');
  assert.ok(res.closed, 'closed');
});

pinned('te-coded-chunked', 'a transfer coding other than a single chunked is refused', async () => {
  for (const te of ['gzip, chunked', 'chunked, chunked']) {
    const res = await raw(s.port, `POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${te}\r\n\r\n3\r\nabc\r\n0\r\n\r\n`);
    assert.ok([400, 501].includes(res.responses[0]?.status), `${te}: 501 (or 400), got ${res.responses[0]?.status}`);
    assert.ok(res.closed, 'closed');
  }
});

pinned('expect-error-page-close', 'an error page to a bodiless request with Expect keeps the connection', async () => {
  const res = await raw(s.port, 'GET /static/nope.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n', { responses: 2 });
  assert.equal(res.responses.filter((r) => r.status >= 200).map((r) => r.status), [404, 200], 'both answered');
});

pinned('static-abort-read', 'a static response cut short by the client leaves no error behind', async () => {
  const before = alerts().length;
  for (let i = 0; i < 1500 && alerts().length === before; i++) {
    await new Promise<void>((resolve) => {
      const c = connect(s.port, '127.0.0.1');
      c.on('error', () => {});
      c.on('connect', () => c.write('GET /static/big.bin HTTP/1.1\r\nHost: a\r\n\r\n'));
      c.once('data', () => { c.destroy(); resolve(); });
      c.on('close', () => resolve());
    });
  }
  await new Promise((r) => setTimeout(r, 100)); // reads in flight complete
  assert.equal(alerts().slice(before), [], 'nothing at alert in the error log');
  const res = await raw(s.port, 'GET /ok HTTP/1.1\r\nHost: a\r\n\r\n', { responses: 1 });
  assert.is(res.responses[0]?.status, 200, 'still serving');
});

pinned('error-page-discard-413', 'a 404 to a body over the limit that comes in two reads keeps the connection', async () => {
  const first = `GET /static/nope.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n9c4\r\n${'x'.repeat(2100)}`;
  const rest = `${'x'.repeat(400)}\r\n0\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n`;
  const res = await raw(s.port, first, { responses: 2, segments: [{ delayMs: 30, data: rest }] });
  assert.equal(res.responses.map((r) => r.status), [404, 200], 'the page, then the next request');
});

pinned('discard-chunked-413', 'a body that is discarded has no size limit', async () => {
  const part = `5dc\r\n${'a'.repeat(0x5dc)}\r\n`;
  const res = await raw(s.port, `POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${part}${part}0\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n`, { responses: 2 });
  assert.equal(res.responses.map((r) => r.status), [200, 200], 'both answered, the body dropped');
});

test.run();
