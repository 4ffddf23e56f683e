// docs/differences.md lists exactly DOCUMENTED_DIFFERENCES (the harness's list), each with its reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { differenceList } from './harness.js';

test('docs/differences.md has one row per documented difference, with its reason', () => {
  const md = readFileSync(new URL('../../../docs/differences.md', import.meta.url), 'utf8');
  const rows = [...md.matchAll(/^\| `([a-z0-9.-]+)` \| (deliberate|not yet) \| (.*) \|$/gm)].map((m) => [m[1], m[2], m[3]]);
  assert.equal(rows.map((r) => r[0]).sort(), differenceList().map((d) => d[0]).sort(), 'the same ids');
  for (const [id, kind, reason] of differenceList()) {
    const row = rows.find((r) => r[0] === id);
    assert.is(row?.[1], kind, `${id}: the kind as in test/diff/harness.ts`);
    assert.is(row?.[2], reason, `${id}: the reason as in test/diff/harness.ts`);
  }
});

test.run();
