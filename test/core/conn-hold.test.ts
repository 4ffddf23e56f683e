// One write per turn (src/core/conn.ts): what Conns send while the event loop runs its I/O
// callbacks is held and written in the check phase, each Conn's in one write, in the order the
// Conns first sent; end() and destroy() write what is held before the socket goes; push()
// (ngx.flush) writes at once; the bound on what is held (64 KiB) writes at once; a throw in the
// pass does not stop the others.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket } from 'node:net';
import { Conn } from '../../src/core/conn.js';
import { FakeSocket, turn } from './fake-socket.js';

class Logged extends FakeSocket {
  constructor(private readonly name: string, private readonly all: string[]) { super(); }
  override write(d: string | Buffer, enc?: unknown, cb?: unknown): boolean {
    this.all.push(`${this.name} ${String(d)}`);
    return super.write(d, enc, cb);
  }
  end(): this { this.log.push('end'); this.all.push(`${this.name} end`); return this; }
  destroy(): this { this.destroyed = true; this.log.push('destroy'); return this; }
}

function conns(...names: string[]): { all: string[]; c: Conn[]; s: Logged[] } {
  const all: string[] = [];
  const s = names.map((n) => new Logged(n, all));
  return { all, s, c: s.map((x) => new Conn(x as unknown as Socket)) };
}

test('two connections answered in one turn: nothing written until the check phase, then one write each, in the order they sent', async () => {
  const { all, c } = conns('b', 'a');
  let immediate = false;
  setImmediate(() => { immediate = true; });
  c[0].batch();
  c[0].sendv(['b1 '], 1, 3);
  c[0].flush();
  c[1].sendv(['a1 '], 1, 3);
  c[0].sendv(['b2'], 1, 2);
  c[1].sendv(['a2'], 1, 2);
  await Promise.resolve();
  assert.equal(all, [], 'not in the microtasks after the sends either');
  await turn();
  assert.ok(immediate, 'written in the check phase');
  assert.equal(all, ['b b1 b2', 'a a1 a2']);
});

test('a write\'s callback that sends again is written in the same pass', async () => {
  const { all, c } = conns('a', 'b');
  c[0].sendv(['a1'], 1, 2, () => { c[1].sendv(['b1'], 1, 2); c[0].sendv(['a2'], 1, 2); });
  await turn();
  assert.equal(all, ['a a1', 'b b1', 'a a2']);
});

test('end(): what is held goes before the FIN', () => {
  const { all, c } = conns('a');
  c[0].sendv(['last'], 1, 4);
  c[0].end();
  assert.equal(all, ['a last', 'a end']);
  c[0].sendv(['more'], 1, 4);
  assert.equal(all, ['a last', 'a end'], 'nothing after the end');
});

test('destroy(): everything sent before it is written first (the answers to earlier pipelined requests of the same read too), then the socket goes', async () => {
  const { all, c, s } = conns('a');
  let freed = 0;
  c[0].sendv(['before '], 1, 7, () => { freed++; });
  c[0].batch();
  c[0].sendv(['during'], 1, 6, () => { freed++; });
  c[0].destroy();
  assert.equal(all, ['a before during'], 'one write, in order');
  assert.equal(s[0].log.slice(-1), ['destroy']);
  assert.is(freed, 2, 'both pieces are free');
  await turn();
  assert.equal(all, ['a before during'], 'nothing written for it in the check phase');
  c[0].sendv(['after'], 1, 5);
  await turn();
  assert.equal(all, ['a before during'], 'nothing after the destroy');
});

test('destroy() on a socket already destroyed (a socket error): nothing is written, the held pieces\' callbacks run', async () => {
  const { all, c, s } = conns('a');
  let freed = 0;
  c[0].sendv(['lost'], 1, 4, () => { freed++; });
  s[0].destroyed = true;
  c[0].destroy();
  assert.equal(all, []);
  assert.is(freed, 1);
  await turn();
  assert.equal(all, []);
  assert.is(freed, 1, 'once');
});

test('push() (ngx.flush) writes what is held at once; inside a batch, the batch is written when it ends instead of being held', async () => {
  const { all, c } = conns('a', 'b');
  c[0].sendv(['one'], 1, 3);
  assert.equal(all, []);
  c[0].push();
  assert.equal(all, ['a one'], 'written before the turn ends');
  c[1].batch();
  c[1].sendv(['two'], 1, 3);
  c[1].push();
  assert.equal(all, ['a one'], 'not inside the batch');
  c[1].sendv(['three'], 1, 5);
  c[1].flush();
  assert.equal(all, ['a one', 'b twothree'], 'the batch in one write, at its end');
  c[1].sendv(['four'], 1, 4);
  assert.equal(all.length, 2, 'the next output is held again');
  await turn();
  assert.equal(all, ['a one', 'b twothree', 'b four']);
});

test('a throw in the check phase (a callback\'s bug) does not stop the other connections\' output, then or later', async () => {
  const { all, c } = conns('a', 'b', 'c');
  const thrown: unknown[] = [];
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', (e) => { thrown.push(e); });
  try {
    c[0].sendv(['a1'], 1, 2, () => { throw new Error('bug'); });
    c[1].sendv(['b1'], 1, 2);
    await turn();
    await turn();
    c[2].sendv(['c1'], 1, 2);
    await turn();
  } finally {
    process.removeAllListeners('uncaughtException');
    for (const l of listeners) process.on('uncaughtException', l);
  }
  assert.is(thrown.length, 1);
  assert.equal(all, ['a a1', 'b b1', 'c c1']);
});

test('the bound: past 64 KiB held, all of it is written at once', async () => {
  const { all, c } = conns('a');
  const piece = 'x'.repeat(20000);
  for (let i = 0; i < 3; i++) assert.ok(c[0].sendv([piece], 1, piece.length));
  assert.is(all.length, 0);
  assert.ok(c[0].sendv([piece], 1, piece.length));
  assert.is(all.length, 4, 'the fourth piece passed the bound: all four written (corked, as one writev)');
  c[0].sendv(['tail'], 1, 4);
  await turn();
  assert.equal(all.slice(4), ['a tail']);
  assert.is(c[0].sent, 4 * piece.length + 4);
});

test('closed while held (the peer went): nothing is written, the pieces\' callbacks run', async () => {
  const { all, c, s } = conns('a');
  let freed = 0;
  c[0].sendv(['lost'], 1, 4, () => { freed++; });
  s[0].destroyed = true;
  c[0].closed = true;
  await turn();
  assert.equal(all, []);
  assert.is(freed, 1);
});

test.run();
