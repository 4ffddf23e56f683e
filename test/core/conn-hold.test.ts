// One write per turn (src/core/conn.ts): what Conns send while the event loop runs its I/O
// callbacks is held and written in the check phase, each Conn's in one write, in the order the
// Conns first sent; end() writes what is held before the FIN; destroy() writes what was held
// from before the read being handled and drops only that read's output; the bound on what is
// held (64 KiB) writes at once.
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

test('destroy(): what was sent before the read being handled is written; that read\'s output is dropped', async () => {
  const { all, c, s } = conns('a');
  let freed = 0;
  c[0].sendv(['before'], 1, 6, () => { freed++; });
  c[0].batch();
  c[0].sendv(['during'], 1, 6, () => { freed++; });
  c[0].destroy();
  assert.equal(all, ['a before']);
  assert.equal(s[0].log.slice(-1), ['destroy']);
  assert.is(freed, 2, 'both pieces are free');
  await turn();
  assert.equal(all, ['a before'], 'nothing written for it in the check phase');
  const d = conns('b');
  d.c[0].batch();
  d.c[0].sendv(['during'], 1, 6);
  d.c[0].destroy();
  assert.equal(d.all, [], 'a destroy in the first read writes nothing');
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
