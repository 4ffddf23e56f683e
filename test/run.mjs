#!/usr/bin/env node
// Runs the uvu suites built into dist/test and ends with one plain line: "N passed, N failed".
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// uvu's package exports hide bin.js; its path inside node_modules is stable
const uvuBin = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const args = [uvuBin, 'dist/test', process.argv[2] ?? '\\.test\\.js$'];
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } });
let out = '';
child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
child.on('exit', (code, signal) => {
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const failed = code === 0 ? total - passed : Math.max(total - passed, 1);
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  process.exit(code ?? (signal ? 1 : 0));
});
