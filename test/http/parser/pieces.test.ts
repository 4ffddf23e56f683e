// Seeded random feeding: corpus messages, some with one byte changed, cut into many pieces and
// run through both bindings must give the trace of the whole input through the span table.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PARSER_REQUEST, PARSER_RESPONSE } from '../../../src/http/parser/index.js';
import { BINDINGS, decode, feed } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** xorshift32: the same pieces on every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function cut(b: Buffer, r: () => number): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < b.length) {
    const n = 1 + Math.floor(r() * (r() < 0.5 ? 4 : 40));
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

const BYTES = Buffer.from(' \t\r\n:;,="\\0aZ\x7f\xff', 'latin1');

interface Input { kind: number; bytes: Buffer }

function inputs(): Input[] {
  const cases = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/conformance/llhttp-requests.json'), 'utf8')) as
    { skip?: boolean; raw: string; rawWithHost?: string; encoding: string }[];
  const r: Input[] = cases.filter((c) => !c.skip)
    .map((c) => ({ kind: PARSER_REQUEST, bytes: decode(c.rawWithHost ?? c.raw, c.encoding) }));
  const responses = [
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 204 No Content\r\n\r\n',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX: y\r\n\r\n',
    'HTTP/1.0 200 OK\r\nServer: s\r\n\r\nuntil the end',
  ];
  for (const s of responses) r.push({ kind: PARSER_RESPONSE, bytes: Buffer.from(s, 'latin1') });
  return r;
}

test('random pieces and one-byte changes give the same trace in both bindings', () => {
  const r = rng(0x5eed);
  const all = inputs();
  for (let round = 0; round < 3000; round++) {
    const input = all[Math.floor(r() * all.length)];
    let bytes = input.bytes;
    if (r() < 0.5) {
      bytes = Buffer.from(bytes);
      bytes[Math.floor(r() * bytes.length)] = BYTES[Math.floor(r() * BYTES.length)];
    }
    const opts = { kind: input.kind, finish: r() < 0.3, pause: r() < 0.5 };
    const whole = feed(BINDINGS[0][1], [bytes], { ...opts, pause: false });
    const want = JSON.stringify([whole.rc, whole.messages, whole.inProgress, whole.trace]);
    for (const [name, P] of BINDINGS) {
      const o = feed(P, cut(bytes, r), opts);
      const got = JSON.stringify([o.rc, o.messages, o.inProgress, o.trace.filter((t) => t !== '(paused)')]);
      if (got !== want) {
        assert.is(got, want, `${name}, round ${round}: ${JSON.stringify(bytes.toString('latin1'))}`);
      }
    }
  }
});

test.run();
