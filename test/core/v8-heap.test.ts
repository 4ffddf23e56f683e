// V8's allocation-site pretenuring, turned off by the server (src/core/v8-heap.ts). Each case
// runs a child Node with V8's own trace of its pretenuring decisions and a young generation fixed
// at 1 MB (so every young GC runs at full size, when V8 decides): one array literal whose arrays
// all stay alive is exactly what V8 pretenures. The trace says whether it did.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tuneHeap } from '../../src/core/v8-heap.js';

const MODULE = fileURLToPath(new URL('../../src/core/v8-heap.js', import.meta.url));

// the child: optionally tuneHeap(), then 300k arrays from one literal, all kept
const CHILD = `
const tune = process.argv[1] === 'tune';
if (tune) { const { tuneHeap } = await import(${JSON.stringify(MODULE)}); console.log('tuned ' + tuneHeap()); }
const keep = [];
function make(i) { return [i, i + 1]; }
for (let i = 0; i < 300000; i++) keep.push(make(i));
console.log('kept ' + keep.length);
`;

function run(tune: boolean, env: Record<string, string> = {}): { out: string; decisions: number } {
  const out = execFileSync(process.execPath, [
    '--trace-pretenuring-statistics', '--min-semi-space-size=1', '--max-semi-space-size=1',
    '--input-type=module', '-e', CHILD, tune ? 'tune' : 'plain',
  ], { encoding: 'utf8', env: { ...process.env, SLUICE_V8_PRETENURING: '', ...env }, timeout: 30_000 });
  return { out, decisions: out.split('\n').filter((l) => l.includes('pretenuring:')).length };
}

test('without tuneHeap, V8 pretenures a site whose arrays all survive (the heuristic the server turns off)', () => {
  const { out, decisions } = run(false);
  assert.ok(out.includes('kept 300000'), out);
  assert.ok(decisions > 0, 'V8 made no pretenuring decision: the case no longer shows the heuristic');
  assert.match(out, /=> tenure/);
});

test('after tuneHeap, V8 makes no pretenuring decision at all', () => {
  const { out, decisions } = run(true);
  assert.ok(out.includes('tuned true'), out);
  assert.ok(out.includes('kept 300000'), out);
  assert.is(decisions, 0, out);
});

test('SLUICE_V8_PRETENURING=on keeps V8 default', () => {
  const { out, decisions } = run(true, { SLUICE_V8_PRETENURING: 'on' });
  assert.ok(out.includes('tuned false'), out);
  assert.ok(decisions > 0, out);
});

test('tuneHeap decides once per process: a later call neither re-reads the switch nor changes the answer', () => {
  // this process: a server in an earlier suite may have tuned it already; either way the first
  // answer stands, even with SLUICE_V8_PRETENURING turned the other way afterwards
  const saved = process.env.SLUICE_V8_PRETENURING;
  try {
    const first = tuneHeap();
    process.env.SLUICE_V8_PRETENURING = first ? 'on' : '';
    assert.is(tuneHeap(), first);
  } finally {
    if (saved === undefined) delete process.env.SLUICE_V8_PRETENURING;
    else process.env.SLUICE_V8_PRETENURING = saved;
  }
});

test.run();
