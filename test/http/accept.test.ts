// accept() failing for lack of descriptors (EMFILE): a server in a child process with a small
// descriptor limit logs nginx's line, keeps its listener and serves again once descriptors free up.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:net';
import { get, listen, raw, timed, captureLog, stopCapture, errorLines, until } from '../helpers.js';

const index = fileURLToPath(new URL('../../src/index.js', import.meta.url));
// The limit is set once the modules are loaded: loading takes descriptors of its own, as many
// at once as the import graph is wide, which has nothing to do with accept().
const CHILD = `
import { execFileSync } from 'node:child_process';
import { startServer } from ${JSON.stringify(index)};
execFileSync('prlimit', ['--pid', String(process.pid), '--nofile=48:48']);
const s = await startServer({ errorLog: 'stderr', workerConnections: 10000, servers: [{ listen: '127.0.0.1:0', locations: { '/': { return: [200, 'ok\\n'] } } }] });
process.stdout.write(s.port + '\\n');
`;

test('out of descriptors: the start warns as nginx does; connections past the limit are closed, the server lives and serves again', timed(60000, async () => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const held: Socket[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => { out += d; const m = /^(\d+)\n/.exec(out); if (m) resolve(Number(m[1])); });
      child.on('exit', (c) => reject(new Error(`child exited ${c}: ${stderr}`)));
    });
    assert.match(stderr, /sluice: \[warn\] 10000 worker_connections exceed open file resource limit: 48/);
    // more connections than the child has descriptors for: libuv accepts and closes the excess
    let closedByServer = 0;
    for (let i = 0; i < 80; i++) {
      const c = connect(port, '127.0.0.1');
      c.on('error', () => {});
      c.on('close', () => { closedByServer++; });
      held.push(c);
    }
    await until(() => closedByServer >= 20);
    assert.ok(closedByServer >= 20, `the connections it had no descriptor for were closed (${closedByServer})`);
    for (const c of held) c.destroy();
    held.length = 0;
    // descriptors are free again: the listener still works
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) {
      // a try ends on its answer or the close; one the listener has not taken in yet is given up
      const res = await raw(port, get('/'), { responses: 1, deadlineMs: 2000 }).catch(() => null);
      ok = res?.responses[0]?.status === 200;
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(ok, 'served after the storm');
    assert.is(child.exitCode, null, 'the child is still running');
  } finally {
    for (const c of held) c.destroy();
    child.kill('SIGKILL');
  }
}));

test('an accept() error reported on the listener is logged as nginx does (once per 500 ms), and does not stop the process', timed(30000, async () => {
  const s = await listen({ '/': { return: [200, 'ok\n'] } });
  const logged = errorLines.lines;
  captureLog();
  try {
    const net = (s as unknown as { listeners: { net: Server }[] }).listeners[0].net;
    const e = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', errno: -24, syscall: 'accept' });
    for (let i = 0; i < 5; i++) net.emit('error', e);
    assert.is(logged.length, 1, logged.join(''));
    assert.match(logged[0], /\[crit\] \d+#0: accept\(\) failed \(24: Too many open files\)/);
    const res = await raw(s.port, get('/'), { responses: 1 });
    assert.is(res.responses[0]?.status, 200, 'still serving');
  } finally {
    stopCapture();
    await s.close();
  }
}));

test.run();
