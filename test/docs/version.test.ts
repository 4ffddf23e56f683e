// The version is written once in the code (src/core/version.ts) and once in package.json.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { SERVER_VERSION } from '../../src/core/version.js';

test('src/core/version.ts and package.json agree', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.is(SERVER_VERSION, pkg.version);
});

test.run();
