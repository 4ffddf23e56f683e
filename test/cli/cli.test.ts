// The sluice command: -t checks a config (0, or 1 naming the bad key), -c runs one (.ts, .mjs, .js).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { raw, timed, get } from '../helpers.js';

const ROOT = resolve(process.cwd());
const BIN = join(ROOT, 'bin/sluice.mjs');
const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));

function sluice(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60000 });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('-t on the example .ts config: ok, exit 0', () => {
  const r = sluice('-t', '-c', join(ROOT, 'examples/hello.ts'));
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /test is successful/);
});

test('-t names the bad key and exits 1', () => {
  const f = join(dir, 'bad.mjs');
  writeFileSync(f, `export default { servers: [{ listen: 0, locations: { '/': { clientMaxBodySise: '1m' } } }] };\n`);
  const r = sluice('-t', '-c', f);
  assert.is(r.status, 1);
  assert.match(r.stderr, /clientMaxBodySise/);
  assert.match(r.stderr, /test failed/);
  const g = join(dir, 'bad-value.mjs');
  writeFileSync(g, `export default { servers: [{ listen: 0, locations: { '/': { clientMaxBodySize: 'lots' } } }] };\n`);
  const r2 = sluice('-t', '-c', g);
  assert.is(r2.status, 1);
  assert.match(r2.stderr, /clientMaxBodySize/);
});

test('-t: a misspelt key is named with "did you mean"', () => {
  const f = join(dir, 'typo.mjs');
  writeFileSync(f, `export default { servers: [{ listen: 0, locations: { '/': { clientMaxBodySise: '1m' } } }] };\n`);
  const r = sluice('-t', '-c', f);
  assert.is(r.status, 1);
  assert.match(r.stderr, 'sluice: unknown directive "clientMaxBodySise" (did you mean "clientMaxBodySize"?) in servers[0].locations["/"]\n');
});

test('a .ts config with a syntax error fails -t (and the start) with TypeScript\'s message, file, line and column', () => {
  // TypeScript would repair the missing comma and emit code that runs
  const f = join(dir, 'syntax.ts');
  writeFileSync(f, `import { defineConfig } from 'sluice';\nexport default defineConfig({\n  servers: [{ listen: '127.0.0.1:0' }]\n  gzip: true,\n});\n`);
  const r = sluice('-t', '-c', f);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, `sluice: ',' expected (TS1005) in ${f}:4:3\n`);
  assert.match(r.stderr, 'test failed');
  const run = sluice('-c', f);
  assert.is(run.status, 1, 'it does not start');
  assert.match(run.stderr, `${f}:4:3`);
});

test('a .mjs or .js config with a syntax error: Node\'s message, file, line and column', () => {
  const f = join(dir, 'syntax.mjs');
  writeFileSync(f, `export default {\n  servers: [{ listen: 0 }\n};\n`);
  const r = sluice('-t', '-c', f);
  assert.is(r.status, 1);
  assert.match(r.stderr, `sluice: Unexpected token '}' in ${f}:3:1\n`);
  const g = join(dir, 'syntax-end.js');
  writeFileSync(g, `export default {\n  servers: [{ listen: 0 }],\n`);
  const r2 = sluice('-t', '-c', g);
  assert.is(r2.status, 1);
  assert.match(r2.stderr, `sluice: Unexpected end of input in ${g}:3:1\n`);
  // in a module the config imports: which one Node does not say, so the config is named
  const h = join(dir, 'imports-bad.mjs');
  writeFileSync(h, `import c from './syntax.mjs';\nexport default c;\n`);
  const r3 = sluice('-t', '-c', h);
  assert.is(r3.status, 1);
  assert.match(r3.stderr, `sluice: Unexpected token '}' in a module imported by ${h}\n`);
});

test('-t warns of a server name two servers on one port declare, as nginx does', () => {
  const f = join(dir, 'dup-name.mjs');
  writeFileSync(f, `export default { servers: [{ listen: 8081, serverName: 'x' }, { listen: '8081 default_server', serverName: 'x' }] };\n`);
  const r = sluice('-t', '-c', f);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /^sluice: \[warn\] conflicting server name "x" on 0\.0\.0\.0:8081, ignored\nsluice: the configuration file .* syntax is ok\n/);
});

test('-t on a plain .js config that imports from sluice, in a folder without package.json', () => {
  const f = join(dir, 'plain.js');
  writeFileSync(f, `import { defineConfig } from 'sluice';\nexport default defineConfig({ servers: [{ listen: 0, locations: { '/': { return: [204] } } }] });\n`);
  const r = sluice('-t', '-c', f);
  assert.is(r.status, 0, r.stderr);
});

test('-c runs a .ts config; the server answers; SIGTERM stops it', timed(60000, async () => {
  const f = join(dir, 'run.ts');
  writeFileSync(f, `import { defineConfig, type Request } from 'sluice';\nconst greet: string = 'hi';\nexport default defineConfig({ servers: [{ listen: '127.0.0.1:0', locations: { '/': { content: (r: Request) => { r.say(greet); } } } }] });\n`);
  const child = spawn(process.execPath, [BIN, '-c', f], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const port = await new Promise<number>((res, rej) => {
      let err = '';
      child.stderr!.on('data', (d) => {
        err += d;
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
        if (m) res(Number(m[1]));
      });
      child.on('exit', () => rej(new Error('sluice exited: ' + err)));
    });
    const r = await raw(port, get('/'), { responses: 1 });
    assert.is(r.responses[0].body.toString(), 'hi\n');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
}));

test('no -c: the embedded demo site, every demo page answers', timed(60000, async () => {
  const probe = await new Promise<number>((res) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => { const p = (srv.address() as { port: number }).port; srv.close(() => res(p)); });
  });
  const child = spawn(process.execPath, [BIN], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SLUICE_PORT: String(probe) } });
  try {
    await new Promise<void>((res, rej) => {
      let err = '';
      child.stderr!.on('data', (d) => { err += d; if (err.includes('listening on')) res(); });
      child.on('exit', () => rej(new Error('sluice exited: ' + err)));
    });
    const page = async (path: string, extra = '') => (await raw(probe, get(path, extra), { responses: 1 })).responses[0];
    const home = await page('/');
    assert.is(home.status, 200);
    assert.match(home.body.toString(), /sluice is running/);
    // the page names the port it runs on, and the variable that sets it
    assert.match(home.body.toString(), `on port ${probe}:\n<code>SLUICE_PORT=${probe} npm start</code>`);
    assert.match(home.body.toString(), `http://127.0.0.1:${probe}/echo`);
    assert.match((await page('/status')).body.toString(), /^Active connections: \d+ \nserver accepts handled requests\n/);
    assert.is((await page('/hello')).body.toString(), 'hello\n');
    assert.match((await page('/hi?name=you')).body.toString(), /hello, you/);
    assert.match((await page('/capture')).body.toString(), /\/hello answered 200: hello/);
    assert.is((await page('/proxied/hello')).body.toString(), 'hello\n');
    assert.is((await page('/static/index.html', 'Range: bytes=0-14\r\n')).status, 206);
    assert.is((await page('/go')).body.toString(), 'internal location reached with uri=/internal/page args=from=go\n');
    assert.is((await page('/internal/page')).status, 404);
    assert.is((await page('/oops')).status, 500);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
}));

test('-v and -V print the version on stderr, as nginx does', () => {
  const r = sluice('-v');
  assert.is(r.status, 0);
  assert.match(r.stderr, /^sluice version: sluice\/\d+\.\d+\.\d+\n$/);
  const v = sluice('-V');
  assert.is(v.status, 0);
  assert.match(v.stderr, /^sluice version: sluice\/\d+\.\d+\.\d+\n/);
  assert.ok(v.stderr.includes(`Node ${process.version}`), v.stderr);
});

test('-T tests the config and dumps the file and the resolved values', () => {
  const f = join(dir, 'dump.mjs');
  writeFileSync(f, `export default { workerProcesses: 3, gzip: true, servers: [{ listen: '127.0.0.1:0', serverName: 'a.test', locations: { '/x': { gzip: false, return: [204] } } }] };\n`);
  const r = sluice('-T', '-c', f);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /test is successful/);
  assert.ok(r.stdout.startsWith(`# configuration file ${f}:\n`), r.stdout);
  assert.match(r.stdout, /^worker_processes 3;$/m);
  assert.match(r.stdout, /^gzip on;$/m);
  assert.match(r.stdout, /listen 127\.0\.0\.1:0;/);
  assert.match(r.stdout, /server_name a\.test;/);
  assert.match(r.stdout, /location \/x \{\n(?:.*\n)*?\s+gzip off;/);
});

test('-s with no running process: nginx\'s open() error; a bad signal name is refused', () => {
  const f = join(dir, 'pid.mjs');
  writeFileSync(f, `export default { pid: '${join(dir, 'none.pid')}', servers: [{ listen: '127.0.0.1:0', locations: {} }] };\n`);
  const r = sluice('-s', 'reload', '-c', f);
  assert.is(r.status, 1);
  assert.match(r.stderr, /open\(\) ".*none\.pid" failed \(2: No such file or directory\)/);
  const b = sluice('-s', 'restart', '-c', f);
  assert.is(b.status, 1);
  assert.match(b.stderr, /invalid option: "-s restart"/);
});

test.run();
