#!/usr/bin/env node
// Runs the uvu suites built into dist/test and ends with one plain line: "N passed, N failed".
//
// Without a pattern it runs everything, then the suites that drive real connections once more
// with SLUICE_READ=stream SLUICE_WRITE=stream: reads through 'data' events and writes through
// socket.write(), the public paths that stand in when the private ones (src/core/read-buffer.ts,
// src/core/direct-write.ts) are not there.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// uvu's package exports hide bin.js; its path inside node_modules is stable
const uvuBin = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const STREAM_PASS = '^(http|conformance|subrequest|upstream|examples)/.*\\.test\\.js$';

function pass(pattern, env) {
  return new Promise((resolve) => {
    const args = [uvuBin, 'dist/test', pattern];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0', ...env } });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.on('exit', (code, signal) => {
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const failed = code === 0 ? total - passed : Math.max(total - passed, 1);
      resolve({ passed, failed, code: code ?? (signal ? 1 : 0) });
    });
  });
}

const pattern = process.argv[2];
const results = [await pass(pattern ?? '\\.test\\.js$', {})];
if (pattern === undefined && process.env.SLUICE_READ === undefined) {
  process.stdout.write('\n-- again on the public read and write paths (SLUICE_READ=stream SLUICE_WRITE=stream) --\n');
  results.push(await pass(STREAM_PASS, { SLUICE_READ: 'stream', SLUICE_WRITE: 'stream' }));
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
