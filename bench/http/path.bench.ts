// The whole request path in-process: bytes into a connection, through the parser, the phases, a
// handler and the filter chains, out to a socket that only counts what it is given. No syscall,
// no event loop turn for a synchronous handler: what sluice's own JavaScript costs per request,
// the part of the wrk figures that is ours (bench/RESULTS.md). Deterministic enough to compare
// two builds of the hot path side by side, which the noisy wrk runs are not. Each request comes
// as a read into the shared read buffer (src/core/read-buffer.ts), as on a real connection, and
// each response leaves as the server's writes do when the kernel takes them at once: straight to
// the socket's handle (src/core/direct-write.ts), here a handle that only counts. (Before
// 2026-12-03 the bench's socket had no handle, so every write took the socket.write() fallback;
// the two measure the same within noise for r.say, 3 alternated rounds.) SLUICE_WRITE=stream
// measures the fallback path.
//
// Output is written as it is sent (setHoldOutput(false)), not held for the end of the turn as a
// server holds it (src/core/conn.ts, "one write per turn"): a synchronous case is one call, with
// no event loop turn in it. The case marked "held" measures the server's way for one request a
// turn, its worst case: the response waits for the check phase (a setImmediate per request,
// where a server's turn shares one among all the reads it handles).
//
//   npm run build && node dist/bench/http/path.bench.js
//   BENCH_ONLY='4 KiB' node dist/bench/http/path.bench.js    (only the cases whose name has it)

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Bench } from 'tinybench';
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, SluiceServer, type Request, type SluiceConfig } from '../../src/index.js';
import { HttpConnection, ListenContext } from '../../src/http/connection.js';
import { readBuffer } from '../../src/core/read-buffer.js';
import { directStats, selfTest as directWriteSelfTest } from '../../src/core/direct-write.js';
import { setHoldOutput } from '../../src/core/conn.js';


const HELLO = { internal: true, return: [200, 'hello\n'] as [number, string] };
// a small file under two locations: plain, and one with rewrite + try_files + a map variable
const ROOT = mkdtempSync(join(tmpdir(), 'sluice-path-'));
mkdirSync(join(ROOT, 'plain'));
mkdirSync(join(ROOT, 'rich'));
writeFileSync(join(ROOT, 'plain', 'hello.txt'), 'hello\n');
writeFileSync(join(ROOT, 'rich', 'hello.txt'), 'hello\n');
// 4 KiB, served without and with openFileCache (issue 14's static 4 KiB scenario)
writeFileSync(join(ROOT, 'plain', '4k.txt'), 'hello\n' + 'x'.repeat(4096 - 7) + '\n');
const config: SluiceConfig = {
  map: { '$http_user_agent $agent_kind': { default: 'other', '~^wrk': 'bench', curl: 'curl' } },
  servers: [{
    listen: '127.0.0.1:0',
    locations: {
      '= /return': { return: [200, 'hello\n'] },
      '= /say': { content: (r: Request) => { r.say('hello'); } },
      '= /capture': { content: async (r: Request) => { const res = await r.location.capture('/sub'); r.print(res.body); } },
      '= /multi': {
        content: async (r: Request) => {
          const [a, b, c] = await r.location.captureMulti(['/sub', '/sub2', '/sub3']);
          r.print(a.body, b.body, c.body);
        },
      },
      '= /sub': HELLO, '= /sub2': HELLO, '= /sub3': HELLO,
      '/plain/': { root: ROOT },
      '/rw/': { root: ROOT, alias: undefined, rewrite: '^/rw/(\\w+)$ /plain/$1.txt break' },
      '/tf/': { alias: ROOT + '/plain/', tryFiles: '$uri $uri/ =404' },
      '/cached/': { alias: ROOT + '/plain/', openFileCache: 'max=1000 inactive=20s' },
      '/cached-tf/': { alias: ROOT + '/plain/', openFileCache: 'max=1000 inactive=20s', tryFiles: '$uri $uri/ =404' },
      '/mp/': { alias: ROOT + '/plain/', addHeader: [['X-Agent', '$agent_kind']] },
      '/rich/': {
        root: ROOT,
        rewrite: '^/rich/(\\w+)$ /rich/$1.txt break',
        tryFiles: '$uri $uri/ =404',
        addHeader: [['X-Agent', '$agent_kind']],
      },
    },
  }],
};
const server = new SluiceServer(resolveConfig(config)); // not listening: the socket below is ours
const l = (server as unknown as { listeners: { ctx: ListenContext }[] }).listeners[0];

// the direct write path, as a server turns it on before it accepts (a loopback self-test)
const direct = await directWriteSelfTest();
// the stream state slot a handle write sets: 0, "the kernel took it all at once"
const streamState = direct
  ? (process as unknown as { binding(n: string): { streamBaseState: Int32Array; kLastWriteWasAsync: number } }).binding('stream_wrap')
  : null;

/** Where a string write's bytes are encoded, as Node does on its stack before the write(2). */
const STRING_SINK = Buffer.allocUnsafe(64 * 1024);

/** Just enough of a net.Socket for HttpConnection: writes are counted, never sent. */
class CountingSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 40000;
  bytesWritten = 0;
  destroyed = false;
  connecting = false;
  writable = true;
  writableNeedDrain = false;
  writableLength = 0;
  writableCorked = 0;
  responses = 0;
  last = '';
  hc: HttpConnection | null = null;
  /** What direct-write.ts writes to: takes every byte at once, as the kernel does a small write. */
  _handle = direct
    ? {
        writeBuffer: (_req: object, b: Buffer): number => { this.took(b, b.length); streamState!.streamBaseState[streamState!.kLastWriteWasAsync] = 0; return 0; },
        // (Node encodes a string into a buffer before the write(2): a copy the bench makes too,
        // so a string write is not counted as cheaper than it is; a Buffer goes as it is)
        writeLatin1String: (_req: object, t: string): number => { STRING_SINK.write(t, 0, 'latin1'); this.took(t, t.length); streamState!.streamBaseState[streamState!.kLastWriteWasAsync] = 0; return 0; },
      }
    : null;
  /** A read, as the server gets it: the bytes in the shared read buffer, then the callback. */
  feed(bytes: Buffer): void {
    bytes.copy(readBuffer(), 0);
    this.hc!.onRead(bytes.length);
  }
  private waiter: (() => void) | null = null;
  private took(data: Buffer | string, n: number): void {
    this.bytesWritten += n;
    this.responses++;
    if (this.responses === 1) this.last = typeof data === 'string' ? data : data.toString('latin1');
    const w = this.waiter;
    if (w !== null) { this.waiter = null; w(); }
  }
  write(data: Buffer | string, enc?: unknown, cb?: unknown): boolean {
    this.took(data, typeof data === 'string' ? Buffer.byteLength(data, 'latin1') : data.length);
    const done = typeof enc === 'function' ? enc : cb;
    if (typeof done === 'function') (done as () => void)();
    return true;
  }
  /** Resolves at the next write (an asynchronous handler's response). */
  nextWrite(): Promise<void> { return new Promise((r) => { this.waiter = r; }); }
  setNoDelay(): this { return this; }
  cork(): void {}
  uncork(): void {}
  pause(): this { return this; }
  resume(): this { return this; }
  isPaused(): boolean { return false; }
  setTimeout(): this { return this; }
  end(): this { this.destroyed = true; return this; }
  destroy(): this { this.destroyed = true; return this; }
}

function connection(): CountingSocket {
  const s = new CountingSocket();
  s.hc = new HttpConnection(s as unknown as Socket, l.ctx);
  return s;
}

const req = (path: string) => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n`);
// a browser's head: eleven fields, as real traffic brings them (wrk sends Host alone)
const browser = (path: string) => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: keep-alive\r\n` +
  'sec-ch-ua: "Chromium";v="131", "Not_A Brand";v="24"\r\nsec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: "Linux"\r\n' +
  'Upgrade-Insecure-Requests: 1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n' +
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n' +
  'Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\nCookie: session=0123456789abcdef; theme=dark\r\n\r\n');
const HELD = 'content r.say(), held to the turn\'s end';
const cases: [string, Buffer, boolean][] = [
  ['return 200 "hello"', req('/return'), false],
  ['content r.say()', req('/say'), false],
  [HELD, req('/say'), true],
  ['content r.say(), a browser\'s head (11 fields)', browser('/say'), false],
  ['capture of a return', req('/capture'), true],
  ['captureMulti of three', req('/multi'), true],
  ['static file, plain location', req('/plain/hello.txt'), true],
  ['static file, rewrite + try_files + map', req('/rich/hello'), true],
  ['static file, rewrite only', req('/rw/hello'), true],
  ['static file, try_files only', req('/tf/hello.txt'), true],
  ['static file, map in addHeader only', req('/mp/hello.txt'), true],
  ['static 4 KiB, openFileCache off', req('/plain/4k.txt'), true],
  ['static 4 KiB, openFileCache on', req('/cached/4k.txt'), true],
  ['static 4 KiB, try_files, openFileCache off', req('/tf/4k.txt'), true],
  ['static 4 KiB, try_files, openFileCache on', req('/cached-tf/4k.txt'), true],
].filter(([name]) => process.env.BENCH_ONLY === undefined || (name as string).includes(process.env.BENCH_ONLY)) as [string, Buffer, boolean][];

setHoldOutput(false);
/** The case runs as a server does: its output held for the turn's end. */
const held = (name: string): void => { setHoldOutput(name === HELD); };

// sanity: each answers, and the connection goes on to the next request
for (const [name, bytes, async] of cases) {
  const s = connection();
  held(name);
  for (let i = 0; i < 2; i++) {
    s.responses = 0;
    const w = async ? s.nextWrite() : null;
    s.feed(bytes);
    if (w !== null) await w;
    assert.match(s.last, /^HTTP\/1\.1 200 OK\r\n/, name);
    assert.ok(s.last.includes('hello'), name);
  }
}

// the responses above went the way a server's do (a test of this bench, not of the server)
if (direct) assert.ok(directStats.wrote > 0 && directStats.queued === 0, `direct writes: ${JSON.stringify(directStats)}`);
console.log(`writes: ${direct ? 'straight to the handle (direct-write.ts)' : 'socket.write() (the fallback path)'}`);

/** A connection for the next request: a new one before keepaliveRequests (1000) closes the old. */
function rotating(): () => CountingSocket {
  let s = connection();
  let n = 0;
  return () => {
    if (++n === 900) { s.emit('close', false); s = connection(); n = 0; }
    return s;
  };
}

const bench = new Bench({ name: 'request path (in-process)', time: 1500 });
for (const [name, bytes, async] of cases) {
  const next = rotating();
  const opts = { beforeAll: () => held(name) };
  if (async) {
    bench.add(name, async () => { const s = next(); const w = s.nextWrite(); s.feed(bytes); await w; }, opts);
  } else {
    bench.add(name, () => { next().feed(bytes); }, opts);
  }
}
await bench.run();
console.log(`node ${process.version}`);
console.table(bench.table());
process.exit(0); // the connections' keep-alive timers
