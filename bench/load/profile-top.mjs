// Top self-time functions of a V8 .cpuprofile (from `node --cpu-prof`), as a markdown table.
// Usage: node bench/load/profile-top.mjs FILE.cpuprofile [N=30] [--total]
//   --total: rank by total time (self + callees) instead of self time
// Profile sluice under load: SLUICE_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" ONLY=sluice-say bash bench/load/hello.sh
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const byTotal = argv.includes('--total');
const [file, nArg] = argv.filter((a) => a !== '--total');
if (!file) {
  console.error('usage: node bench/load/profile-top.mjs FILE.cpuprofile [N]');
  process.exit(2);
}
const top = Number(nArg ?? 30);
const prof = JSON.parse(readFileSync(file, 'utf8'));

const byId = new Map();
const parent = new Map();
for (const n of prof.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) parent.set(c, n.id);
}

// self time per node: each sample is charged the delta to the next one
const self = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i + 1] ?? 0;
  self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
}

function where(cf) {
  if (!cf.url) return '';
  let u = cf.url;
  if (u.startsWith('file://')) u = relative(process.cwd(), fileURLToPath(u));
  return `${u}:${cf.lineNumber + 1}`;
}

const keyOf = (cf) => `${cf.functionName || '(anonymous)'}\t${where(cf)}`;

// fold nodes of the same function (it appears once per distinct call path)
const fn = new Map();
let total = 0;
let idle = 0;
for (const [id, t] of self) {
  const cf = byId.get(id).callFrame;
  total += t;
  if (cf.functionName === '(idle)') { idle += t; continue; }
  if (!byTotal) {
    fn.set(keyOf(cf), (fn.get(keyOf(cf)) ?? 0) + t);
    continue;
  }
  // total time: charge every function on the stack once
  const seen = new Set();
  for (let n = id; n !== undefined; n = parent.get(n)) {
    const k = keyOf(byId.get(n).callFrame);
    if (seen.has(k) || k.startsWith('(root)')) continue;
    seen.add(k);
    fn.set(k, (fn.get(k) ?? 0) + t);
  }
}
const busy = total - idle;

console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (${(100 * busy / total).toFixed(1)}%)\n`);
console.log(`| ${byTotal ? 'total' : 'self'} % of busy | ${byTotal ? 'total' : 'self'} ms | function | where |`);
console.log('|---:|---:|---|---|');
for (const [key, t] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  const [name, loc] = key.split('\t');
  console.log(`| ${(100 * t / busy).toFixed(1)} | ${(t / 1e3).toFixed(0)} | \`${name}\` | ${loc} |`);
}
