// The published package: `npm pack` ships no file that imports a dev dependency; a packed install
// serves the embedded demo config and a .mjs config; its types hold no `any`, and a strict
// consumer project type-checks a config whose handlers are typed without annotations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { get, raw, timed } from '../helpers.js';

const ROOT = resolve(process.cwd());
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string>; peerDependencies?: Record<string, string> };
// a dev dependency that is also an optional peer (typescript, for .ts configs) may be imported
const DEV = Object.keys(PKG.devDependencies).filter((d) => PKG.peerDependencies?.[d] === undefined);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir = '';
let tarball = '';

async function freePort(): Promise<number> {
  const t = createServer();
  await new Promise<void>((r) => t.listen(0, '127.0.0.1', () => r()));
  const port = (t.address() as { port: number }).port;
  await new Promise<void>((r) => t.close(() => r()));
  return port;
}

/** Start the installed CLI; resolves once it answers on `port`. */
async function startCli(args: string[], port: number): Promise<ChildProcess> {
  const p = spawn(process.execPath, [join(dir, 'app/node_modules/sluice/bin/sluice.mjs'), ...args], {
    cwd: join(dir, 'app'), env: { ...process.env, SLUICE_PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  p.stderr!.on('data', (d) => { err += d; });
  for (let i = 0; i < 100; i++) {
    if (p.exitCode !== null) throw new Error(`sluice exited ${p.exitCode}: ${err}`);
    const r = await raw(port, get('/'), { responses: 1 }).catch(() => null);
    if (r !== null && r.responses.length === 1) return p;
    await new Promise((res) => setTimeout(res, 100));
  }
  p.kill('SIGKILL');
  throw new Error(`sluice did not answer on ${port}: ${err}`);
}

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-pack-'));
  // dist/ was just built by the test command: pack it as it is (no prepare run)
  const out = execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  const info = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  tarball = join(dir, info[0].filename);
  writeFileSync(join(dir, 'files.json'), JSON.stringify(info[0].files.map((f) => f.path)));
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app/package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
  execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: join(dir, 'app'), stdio: 'ignore' });
});
test.after(() => { rmSync(dir, { recursive: true, force: true }); });

test('npm pack: no packed file imports a dev dependency, and the build tools are not packed', () => {
  const files = JSON.parse(readFileSync(join(dir, 'files.json'), 'utf8')) as string[];
  assert.ok(files.includes('dist/src/index.js'), 'the build is packed');
  const bad: string[] = [];
  for (const f of files) {
    assert.ok(!f.startsWith('tools/') && !f.startsWith('test/') && !f.startsWith('bench/'), `${f} is not published`);
    if (!/\.(m?js|ts)$/.test(f)) continue;
    const text = readFileSync(join(dir, 'app/node_modules/sluice', f), 'utf8');
    for (const d of DEV) {
      if (new RegExp(`(from|import\\()\\s*['"]${d.replace(/[/.]/g, '\\$&')}(/[^'"]*)?['"]`).test(text)) bad.push(`${f} imports ${d}`);
    }
  }
  assert.equal(bad, [], bad.join('\n'));
});

test('a packed install serves the demo config and a .mjs config', timed(60000, async () => {
  const p1 = await freePort();
  const demo = await startCli([], p1);
  try {
    const r = await raw(p1, get('/'), { responses: 1 });
    assert.is(r.responses[0].status, 200, 'demo page');
    assert.match(r.responses[0].body.toString(), /sluice/i);
  } finally {
    demo.kill('SIGTERM');
  }
  const p2 = await freePort();
  writeFileSync(join(dir, 'app/site.mjs'), `import { defineConfig } from 'sluice';
export default defineConfig({ servers: [{ listen: '127.0.0.1:${p2}', locations: {
  '= /': { content: (r) => { r.say('from mjs ', r.uri); } },
} }] });
`);
  const mjs = await startCli(['-c', 'site.mjs'], p2);
  try {
    const r = await raw(p2, get('/'), { responses: 1 });
    assert.is(r.responses[0].body.toString(), 'from mjs /\n');
  } finally {
    mjs.kill('SIGTERM');
  }
}));

test('the packed types hold no `any`; a strict consumer project type-checks (and catches mistakes)', timed(60000, async () => {
  const types = join(dir, 'app/node_modules/sluice/dist/src');
  const offenders = execFileSync('grep', ['-rnwE', '--include=*.d.ts', 'any', types], { encoding: 'utf8' }).split('\n')
    .filter((l) => l !== '' && !/^\S+:\d+:\s*(\*|\/\/|\/\*)/.test(l.replace(types, '')))
    // the string literal "any" (satisfy's value) is not the type
    .filter((l) => /\bany\b/.test(l.replace(types, '').replace(/"[^"]*"/g, '')));
  assert.equal(offenders, [], offenders.join('\n'));
  writeFileSync(join(dir, 'app/tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')], skipLibCheck: false },
    include: ['site.ts'],
  }));
  writeFileSync(join(dir, 'app/site.ts'), `import { defineConfig } from 'sluice';
export default defineConfig({
  gzip: true,
  servers: [{
    listen: 8080,
    serverName: 'example.com',
    locations: {
      '/': { content: async (r) => { await r.readBody(); r.header['X-A'] = '1'; r.say(r.uri, String(r.body()?.length ?? 0)); } },
      '/cap': { content: async (r) => { const res = await r.location.capture('/x', { method: 'GET', args: 'a=1' }); r.print(res.body); } },
      // @ts-expect-error: a typo in a key
      '/typo': { clientMaxBodySise: '1m' },
      // @ts-expect-error: a value of the wrong type
      '/wrong': { gzip: 'yes' },
    },
  }],
});
// @ts-expect-error: workerConnections belongs to the top level only
defineConfig({ servers: [{ listen: 1, workerConnections: 10 }] });
`);
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  let out = '';
  try {
    out = execFileSync(process.execPath, [tsc, '-p', join(dir, 'app/tsconfig.json')], { encoding: 'utf8' });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? e);
    assert.unreachable(`tsc failed:\n${out}`);
  }
  assert.ok(existsSync(join(dir, 'app/site.ts')));
}));

test.run();
