// bench:nginx's results: the JSON record (bench/results/latest.json), the markdown table, and the
// top section of bench/RESULTS.md rewritten from the record (`npm run bench:nginx -- --write-results`).
import { errorCount, type WrkResult } from './wrk.js';
import type { Target } from './stats.js';
import type { ChartRow } from './svg.js';

/** One measured run of one side of a scenario. */
export interface RunRecord {
  round: number;
  side: string;
  wrk: WrkResult;
  /** server CPU time per response (µs) and as % of one core; the process (and its children) only */
  serverUs: number;
  serverPct: number;
  /** % of all cores used by processes other than the server, wrk and this script during the run */
  otherPct: number;
}

/** A ratio between two sides of a scenario: requests/s or p99 latency, one per round. */
export interface Comparison {
  id: string;
  scenario: string;
  label: string;
  metric: 'rps' | 'p99';
  a: string;
  b: string;
  target: Target | null;
  /** per-round a/b, in round order */
  rounds: number[];
  /** the median of `rounds` */
  ratio: number;
  met: boolean | null;
  /** the medians of a's and b's own figures (requests/s, or p99 in µs) */
  aValue: number;
  bValue: number;
}

export interface ScenarioRecord {
  id: string;
  title: string;
  /** how each side is configured and loaded, one line each */
  setup: string[];
  wrk: string;
  sides: { key: string; label: string }[];
  runs: RunRecord[];
  /** what a probe found (the negotiated TLS protocol and cipher, ...) */
  notes: string[];
  failed?: string;
}

export interface Results {
  format: 1;
  date: string;
  commit: string;
  dirtyFiles: number;
  versions: { sluiceNode: string; nginx: string; lua: string; wrk: string; openssl: string; kernel: string };
  machine: { cpu: string; cores: number };
  settings: { duration: string; warmup: string; rounds: number; threads: number; connections: number; bigConnections: number; serverCpu: number; clientCpu: number };
  scenarios: ScenarioRecord[];
  comparisons: Comparison[];
}

const x2 = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '–');

function value(metric: 'rps' | 'p99', v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (metric === 'rps') return String(Math.round(v));
  return v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${Math.round(v)} µs`;
}

function targetText(t: Target | null): string {
  return t === null ? '–' : `${t.op === '>=' ? '≥' : '≤'} ${t.value}x`;
}

function metText(m: boolean | null): string {
  return m === null ? '' : m ? 'met' : '**missed**';
}

/** The table: one row per comparison, in run order. */
export function markdownTable(r: Results): string {
  const lines = [
    '| scenario | sluice | reference | ratio (median) | rounds | target | |',
    '|---|---:|---:|---:|---|---:|---|',
  ];
  for (const c of r.comparisons) {
    const sc = r.scenarios.find((s) => s.id === c.scenario);
    const bLabel = sc?.sides.find((s) => s.key === c.b)?.label ?? c.b;
    const unit = c.metric === 'rps' ? ' req/s' : '';
    lines.push(`| ${c.label} | ${value(c.metric, c.aValue)}${unit} | ${bLabel}: ${value(c.metric, c.bValue)}${unit} | ${x2(c.ratio)} | ` +
      `${c.rounds.map((v) => v.toFixed(2)).join(', ')} | ${targetText(c.target)} | ${metText(c.met)} |`);
  }
  for (const s of r.scenarios) if (s.failed) lines.push(`| ${s.title} | failed: ${s.failed.replace(/\|/g, '\\|').split('\n')[0]} | | | | | |`);
  return lines.join('\n');
}

/** The chart's rows, one per comparison. */
export function chartRows(r: Results): ChartRow[] {
  return r.comparisons.map((c) => ({ label: c.label, ratio: c.ratio, rounds: c.rounds, target: c.target, metric: c.metric }));
}

/** "2026-12-02 05:40 UTC, commit abc1234, Node v20.20.2, ..." */
export function runLine(r: Results): string {
  const s = r.settings;
  return `${r.date.slice(0, 16).replace('T', ' ')} UTC, commit ${r.commit}${r.dirtyFiles ? ` + ${r.dirtyFiles} changed files` : ''}; ` +
    `sluice on Node ${r.versions.sluiceNode}; ${r.versions.nginx} + lua-nginx-module ${r.versions.lua}; ${r.versions.wrk}; ` +
    `${r.versions.openssl}; ${r.machine.cpu}, ${r.machine.cores} cores, Linux ${r.versions.kernel}; ` +
    `${s.rounds} rounds of ${s.duration} after a ${s.warmup} warm-up, wrk -t${s.threads} -c${s.connections} (-c${s.bigConnections} for 1 MiB)` +
    `, server on core ${s.serverCpu}, wrk on core ${s.clientCpu}`;
}

/** One run's part of RESULTS.md: the line above, the table, the chart, the scenarios' setup and notes. */
export function resultsSection(r: Results, chartPath: string, heading: string): string {
  const out = [`### ${heading}`, '', runLine(r), '', markdownTable(r), '', `![sluice / nginx ratios](${chartPath})`, ''];
  const lines: string[] = [];
  for (const s of r.scenarios) {
    const notes = [...s.notes];
    const errs = s.runs.filter((x) => errorCount(x.wrk) > 0);
    if (errs.length > 0) notes.push(`wrk errors in ${errs.map((x) => `${x.side} round ${x.round} (${errorCount(x.wrk)})`).join(', ')}`);
    const busy = s.runs.filter((x) => x.otherPct > 10);
    if (busy.length > 0) notes.push(`disturbed (other processes > 10% CPU): ${busy.map((x) => `${x.side} round ${x.round} (${x.otherPct.toFixed(0)}%)`).join(', ')}`);
    if (notes.length > 0) lines.push(`- ${s.title}: ${notes.join('; ')}`);
  }
  if (lines.length > 0) out.push(...lines, '');
  out.push('<details><summary>How each scenario was set up</summary>', '');
  for (const s of r.scenarios) out.push(`- **${s.title}**: ${s.setup.join('; ')}`);
  out.push('', '</details>', '');
  return out.join('\n');
}

/** The ratios of several runs side by side (Node 20 and Node 24, each its own run against nginx). */
export function versionsTable(runs: readonly Results[]): string {
  const head = `| scenario | ${runs.map((r) => `Node ${r.versions.sluiceNode}`).join(' | ')} | target |`;
  const lines = [head, `|---|${runs.map(() => '---:|').join('')}---:|`];
  const seen = new Set<string>();
  for (const r of runs) {
    for (const c of r.comparisons) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      const cells = runs.map((x) => {
        const m = x.comparisons.find((y) => y.id === c.id);
        return m ? `${x2(m.ratio)}${m.met === false ? ' (missed)' : ''}` : '–';
      });
      lines.push(`| ${c.label} | ${cells.join(' | ')} | ${targetText(c.target)} |`);
    }
  }
  return lines.join('\n');
}

export const BEGIN = '<!-- bench:nginx results: begin (written by `npm run bench:nginx -- --write-results`) -->';
export const END = '<!-- bench:nginx results: end -->';

/** md with the text between the BEGIN and END markers replaced; throws when the markers are missing. */
export function replaceSection(md: string, section: string): string {
  const i = md.indexOf(BEGIN);
  const j = md.indexOf(END);
  if (i < 0 || j < i) throw new Error(`bench/RESULTS.md has no "${BEGIN}" ... "${END}" markers`);
  return `${md.slice(0, i + BEGIN.length)}\n${section.trimEnd()}\n${md.slice(j)}`;
}
