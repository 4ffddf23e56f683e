// The blocks' Directives are fast objects: every field in the object itself, one hidden class for
// every block of a config (src/http/conf/directives.ts, makeBlock). An object given its ~120
// fields one by one stays in V8's dictionary mode, and then every r.conf.x a request reads is a
// hash lookup. V8's own view is asked in a child process started with --allow-natives-syntax.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Directives, resolveConfig } from '../../src/http/conf/config.js';

const CONFIG_URL = new URL('../../src/http/conf/config.js', import.meta.url).href;

test('every block of a config is a fast object of one hidden class', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-shape-'));
  try {
    const probe = join(dir, 'probe.mjs');
    writeFileSync(probe, `
import { resolveConfig } from ${JSON.stringify(CONFIG_URL)};
const c = resolveConfig({
  gzip: true,
  servers: [
    { listen: '127.0.0.1:0', locations: { '/': { return: [200, 'x'] }, '/a/': { gzip: false, rewrite: '^ /x break', addHeader: [['X-A', 'a']] }, '@n': { return: 204 } } },
    { listen: '127.0.0.1:0', serverName: 'b', root: '/tmp', locations: { '~ \\\\.txt$': { expires: '1h' } } },
  ],
});
const blocks = [c.http];
for (const s of c.servers) { blocks.push(s.conf); for (const l of s.locations.locations) blocks.push(l.conf); for (const l of s.named.values()) blocks.push(l.conf); }
console.log(JSON.stringify({ n: blocks.length, fast: blocks.map((b) => %HasFastProperties(b)), same: blocks.map((b) => %HaveSameMap(b, blocks[0])) }));
`);
    const out = JSON.parse(execFileSync(process.execPath, ['--allow-natives-syntax', probe], { encoding: 'utf8', timeout: 20000 })) as { n: number; fast: boolean[]; same: boolean[] };
    assert.ok(out.n >= 6, `${out.n} blocks`);
    assert.equal(out.fast, out.fast.map(() => true), 'fast properties in every block');
    assert.equal(out.same, out.same.map(() => true), 'one hidden class for all');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a block still is a Directives, with every field of the table, inherited or the default', () => {
  const c = resolveConfig({ gzip: true, servers: [{ listen: '127.0.0.1:0', locations: { '/': { gzipCompLevel: 5 } } }] });
  const loc = c.servers[0].locations.find('/')!;
  assert.instance(loc.conf, Directives);
  assert.instance(c.http, Directives);
  assert.is(loc.conf.gzip, true, 'inherited from http');
  assert.is(loc.conf.gzipCompLevel, 5, 'set here');
  assert.is(c.servers[0].conf.gzipCompLevel, 1, 'the default above');
  assert.is(Object.keys(loc.conf).length, Object.keys(c.http).length);
});

test.run();
