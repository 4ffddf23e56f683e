// docs/directives.md is generated from the modules: the committed file must be what the code makes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { directivesMarkdown } from '../../tools/docs/directives.js';
import { MODULES } from '../../src/modules.js';

test('docs/directives.md matches the modules (run npm run docs:directives after changing a directive)', () => {
  const committed = readFileSync(new URL('../../../docs/directives.md', import.meta.url), 'utf8');
  assert.fixture(committed, directivesMarkdown());
});

test('every directive of every module is in the table, once', () => {
  const md = directivesMarkdown();
  for (const m of MODULES) {
    for (const name of Object.keys(m.directives)) {
      assert.is(md.split(`\n| \`${name}\` | ${m.name} |`).length - 1, 1, name);
    }
  }
});

test.run();
