// bench:nginx's pure parts: reading wrk's report, medians of per-round ratios, the SVG chart,
// the markdown table and the RESULTS.md section it rewrites.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseWrk, parseTime, parseSize, errorCount, pipelineScript } from '../../bench/nginx/wrk.js';
import { median, medianOfRatios, roundRatios, meets } from '../../bench/nginx/stats.js';
import { chartSvg, escapeXml, axisMax, type ChartRow } from '../../bench/nginx/svg.js';
import { markdownTable, replaceSection, chartRows, resultsSection, versionsTable, BEGIN, END, type Results } from '../../bench/nginx/report.js';
import { SCENARIOS, selectScenarios } from '../../bench/nginx/scenarios.js';

// wrk 4.1.0's report with --latency, socket errors and error statuses
const WRK = `Running 10s test @ http://127.0.0.1:18080/test?data=hello
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   717.82us  201.10us   5.01ms   90.12%
    Req/Sec    70.12k     2.01k   75.30k    80.00%
  Latency Distribution
     50%  690.00us
     75%  800.00us
     90%    1.00ms
     99%    1.84ms
  737220 requests in 10.00s, 116.00MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 12
Requests/sec:  73722.00
Transfer/sec:     11.60MB
`;

test('wrk: times and sizes in its units', () => {
  assert.is(parseTime('717.82us'), 717.82, 'us');
  assert.is(parseTime('1.84ms'), 1840, 'ms');
  assert.is(parseTime('2.00s'), 2e6, 's');
  assert.is(parseTime('1.50m'), 90e6, 'm');
  assert.ok(Number.isNaN(parseTime('fast')), 'not a time');
  assert.is(parseSize('512B'), 512, 'B');
  assert.is(parseSize('1.50KB'), 1536, 'KB is 1024');
  assert.is(parseSize('116.00MB'), 116 * 1024 * 1024, 'MB');
});

test('wrk: the report with --latency and errors', () => {
  const r = parseWrk(WRK);
  assert.is(r.requests, 737220, 'requests');
  assert.is(r.seconds, 10, 'seconds');
  assert.is(r.bytes, 116 * 1024 * 1024, 'bytes');
  assert.is(r.rps, 73722, 'Requests/sec line');
  assert.is(r.latency.avg, 717.82, 'avg');
  assert.is(r.latency.stdev, 201.1, 'stdev');
  assert.is(r.latency.max, 5010, 'max');
  assert.is(r.latency.p50, 690, 'p50');
  assert.is(r.latency.p90, 1000, 'p90');
  assert.is(r.latency.p99, 1840, 'p99');
  assert.equal(r.errors, { connect: 1, read: 2, write: 3, timeout: 4, status: 12 }, 'errors');
  assert.is(errorCount(r), 22, 'error count');
});

test('wrk: no --latency, no error lines, a run in ms', () => {
  const r = parseWrk(`Running 1s test @ http://127.0.0.1:1/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   620.09us  261.97us   4.54ms   91.91%
    Req/Sec     3.54k   130.24     3.67k    90.00%
  3522 requests in 1.00s, 574.39KB read
Requests/sec:   3519.83
Transfer/sec:    574.03KB
`);
  assert.is(r.requests, 3522, 'requests');
  assert.ok(Number.isNaN(r.latency.p99), 'no percentiles without --latency');
  assert.is(errorCount(r), 0, 'no errors');
  assert.throws(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused'), /requests in/, 'no totals line');
});

test('wrk: the pipelining script sends depth requests per send', () => {
  const s = pipelineScript(8, '/');
  assert.match(s, /for i = 1, 8 do r\[i\] = wrk\.format\("GET", "\/"\) end/, 'eight formatted requests');
  assert.match(s, /request = function\(\) return batch end/, 'one buffer per send');
});

test('stats: median, per-round ratios, their median', () => {
  assert.is(median([3, 1, 2]), 2, 'odd');
  assert.is(median([4, 1, 3, 2]), 2.5, 'even: mean of the middle two');
  assert.ok(Number.isNaN(median([])), 'none');
  assert.is(median([NaN, 5]), 5, 'NaN left out');
  assert.equal(roundRatios([10, 20, 30], [10, 0, 60]), [1, 0.5], 'a zero b gives no ratio');
  // the per-round ratios' median, not the ratio of the medians
  const a = [10, 20, 30];
  const b = [30, 10, 20];
  assert.is(medianOfRatios(a, b), 1.5, 'median of 0.33, 2, 1.5');
  assert.is.not(medianOfRatios(a, b), median(a) / median(b), 'differs from the ratio of medians');
  assert.is(meets(0.8, { op: '>=', value: 0.8 }), true, '>= met at equality');
  assert.is(meets(2.1, { op: '<=', value: 2 }), false, '<= missed');
  assert.is(meets(1, null), null, 'no target');
  assert.is(meets(NaN, { op: '>=', value: 1 }), null, 'no ratio');
});

const ROWS: ChartRow[] = [
  { label: 'keep-alive hello (r.say)', ratio: 0.62, rounds: [0.6, 0.62, 0.65], target: { op: '>=', value: 0.8 }, metric: 'rps' },
  { label: 'static 4 KiB', ratio: 0.75, rounds: [0.75], target: { op: '>=', value: 0.7 }, metric: 'rps' },
  { label: 'net <floor> & "nginx"', ratio: 1.02, rounds: [1.02], target: null, metric: 'rps' },
  { label: 'md5 capture: p99 latency', ratio: 4.5, rounds: [4.5, 4.2], target: { op: '<=', value: 2 }, metric: 'p99' },
];

/** A small XML well-formedness check: balanced tags, quoted attributes, no raw & or <. */
function wellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = tag.exec(body)) !== null) {
    assert.is(m.index, pos, `nothing unparsed at ${pos}: ${body.slice(pos, pos + 40)}`);
    pos = tag.lastIndex;
    if (m[6]) assert.unreachable(`a stray "<" at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    if (m[5] !== undefined) {
      assert.not.match(m[5].replace(/&(amp|lt|gt|quot|apos|#\d+);/g, ''), /&/, 'no raw & in text');
      continue;
    }
    if (m[1]) assert.is(stack.pop(), m[2], `</${m[2]}> closes what is open`);
    else if (!m[4]) stack.push(m[2]);
  }
  assert.is(pos, body.length, 'parsed to the end');
  assert.equal(stack, [], 'every element closed');
}

test('svg: well-formed, one bar per row, targets and rounds drawn, text escaped', () => {
  const svg = chartSvg(ROWS, { title: 'sluice / nginx <test>', subtitle: 'a & b' });
  wellFormed(svg);
  assert.match(svg, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, 'an SVG document');
  assert.is((svg.match(/<rect class="bar"/g) ?? []).length, ROWS.length, 'one bar per row');
  assert.is((svg.match(/<line class="target"/g) ?? []).length, 3, 'a target tick per row with a target');
  assert.is((svg.match(/<circle class="round"/g) ?? []).length, 7, 'a dot per round');
  assert.match(svg, /net &lt;floor&gt; &amp; &quot;nginx&quot;/, 'labels escaped');
  assert.match(svg, /sluice \/ nginx &lt;test&gt;/, 'title escaped');
  assert.match(svg, /requests\/s, sluice \/ nginx/, 'throughput panel');
  assert.match(svg, /p99 latency, sluice \/ nginx \(lower is better\)/, 'latency panel');
  assert.match(svg, /fill="#e65100"><title>keep-alive hello \(r\.say\): 0\.62x \(target ≥ 0\.8x\)/, 'a missed target is orange');
  assert.match(svg, /fill="#2e7d32"><title>static 4 KiB: 0\.75x/, 'a met one green');
  assert.match(svg, /fill="#e65100"><title>md5 capture: p99 latency: 4\.50x \(target ≤ 2x\)/, 'a latency above its target is missed');
});

test('svg: bars scale with the panel, an empty ratio draws an empty bar', () => {
  assert.is(axisMax(0.9), 1, 'below 1');
  assert.is(axisMax(1.3), 1.5, 'nice step');
  assert.is(axisMax(4.6), 5, 'latency scale');
  assert.is(axisMax(11), 12.5, 'a decade up');
  const svg = chartSvg([{ label: 'failed', ratio: NaN, rounds: [], target: null, metric: 'rps' }], { title: 't' });
  wellFormed(svg);
  assert.match(svg, /<rect class="bar" x="\d+" y="[\d.]+" width="0\.0"/, 'a zero-width bar');
  const w = (label: string, s: string): number => Number(new RegExp(`width="([\\d.]+)" height="16" fill="[^"]+"><title>${label}`).exec(s)![1]);
  const two = chartSvg(ROWS.slice(0, 2), { title: 't' });
  assert.ok(Math.abs(w('keep-alive', two) / w('static', two) - 0.62 / 0.75) < 0.01, 'bar widths proportional to the ratios');
});

function results(): Results {
  return {
    format: 1, date: '2026-12-02T06:00:00.000Z', commit: 'abc1234', dirtyFiles: 0,
    versions: { sluiceNode: 'v20.20.2', nginx: 'nginx/1.22.1', lua: '0.10.23', wrk: 'wrk debian/4.1.0', openssl: 'OpenSSL 3.0', kernel: '6.1' },
    machine: { cpu: 'AMD EPYC', cores: 2 },
    settings: { duration: '10s', warmup: '2s', rounds: 3, threads: 1, connections: 50, bigConnections: 10, serverCpu: 0, clientCpu: 1 },
    scenarios: [
      { id: 'hello', title: 'keep-alive hello', setup: [], wrk: '', sides: [{ key: 'sluice', label: 'sluice' }, { key: 'nginx', label: 'nginx + lua' }], runs: [], notes: [] },
      { id: 'tls-hello', title: 'TLS keep-alive hello', setup: [], wrk: '', sides: [], runs: [], notes: [], failed: 'not ready | on 127.0.0.1:18080\nmore' },
    ],
    comparisons: [
      { id: 'hello', scenario: 'hello', label: 'keep-alive hello (r.say)', metric: 'rps', a: 'sluice', b: 'nginx', target: { op: '>=', value: 0.8 },
        rounds: [0.61, 0.62, 0.64], ratio: 0.62, met: false, aValue: 40000.4, bValue: 64000 },
      { id: 'md5-capture-p99', scenario: 'hello', label: 'md5 capture: p99 latency', metric: 'p99', a: 'sluice', b: 'nginx', target: { op: '<=', value: 2 },
        rounds: [1.5], ratio: 1.5, met: true, aValue: 3000, bValue: 2000 },
    ],
  };
}

test('report: the markdown table', () => {
  const t = markdownTable(results()).split('\n');
  assert.is(t.length, 2 + 2 + 1, 'head, rule, a row per comparison, a row per failed scenario');
  assert.is(t[2], '| keep-alive hello (r.say) | 40000 req/s | nginx + lua: 64000 req/s | 0.62x | 0.61, 0.62, 0.64 | ≥ 0.8x | **missed** |', 'rps row');
  assert.is(t[3], '| md5 capture: p99 latency | 3.00 ms | nginx + lua: 2.00 ms | 1.50x | 1.50 | ≤ 2x | met |', 'p99 row');
  assert.is(t[4], '| TLS keep-alive hello | failed: not ready \\| on 127.0.0.1:18080 | | | | | |', 'a failure in one line, pipes escaped');
  assert.is(chartRows(results()).length, 2, 'a chart row per comparison');
});

test('report: the RESULTS.md part of one run: the line, the table, the chart, notes, errors, setup', () => {
  const r = results();
  r.scenarios[0].setup = ['sluice: hello.mjs', "wrk -t1 -c50 'http://127.0.0.1:PORT/'"];
  r.scenarios[0].notes = ['sluice negotiated TLSv1.3 TLS_AES_256_GCM_SHA384'];
  r.scenarios[0].runs = [
    { round: 1, side: 'sluice', wrk: parseWrk(WRK), serverUs: 20, serverPct: 99, otherPct: 30 },
  ];
  const md = resultsSection(r, 'results/chart.svg', 'Node v20.20.2');
  assert.match(md, /^### Node v20\.20\.2\n\n2026-12-02 06:00 UTC, commit abc1234; sluice on Node v20\.20\.2; nginx\/1\.22\.1/, 'heading and run line');
  assert.match(md, /\| keep-alive hello \(r\.say\) \| 40000 req\/s/, 'the table');
  assert.match(md, /!\[sluice \/ nginx ratios\]\(results\/chart\.svg\)/, 'the chart, by relative path');
  assert.match(md, /- keep-alive hello: sluice negotiated TLSv1\.3 TLS_AES_256_GCM_SHA384; wrk errors in sluice round 1 \(22\); disturbed \(other processes > 10% CPU\): sluice round 1 \(30%\)/, 'notes, errors, disturbance');
  assert.match(md, /<details><summary>How each scenario was set up<\/summary>\n\n- \*\*keep-alive hello\*\*: sluice: hello\.mjs; wrk -t1/, 'setup');
});

test('report: Node 20 and Node 24 runs side by side', () => {
  const a = results();
  const b = results();
  b.versions.sluiceNode = 'v24.22.3';
  b.comparisons[0] = { ...b.comparisons[0], ratio: 0.7, met: false };
  b.comparisons.pop();
  const t = versionsTable([a, b]).split('\n');
  assert.is(t[0], '| scenario | Node v20.20.2 | Node v24.22.3 | target |', 'a column per run');
  assert.is(t[2], '| keep-alive hello (r.say) | 0.62x (missed) | 0.70x (missed) | ≥ 0.8x |', 'both ratios');
  assert.is(t[3], '| md5 capture: p99 latency | 1.50x | – | ≤ 2x |', 'a ratio one run lacks');
});

test('report: the RESULTS.md section between the markers is replaced, the rest kept', () => {
  const md = `# Benchmark results\n\nmethod\n\n${BEGIN}\nold\n${END}\n\n## Lab notes\n`;
  const out = replaceSection(md, '### run\n\ntable\n');
  assert.is(out, `# Benchmark results\n\nmethod\n\n${BEGIN}\n### run\n\ntable\n${END}\n\n## Lab notes\n`, 'replaced');
  assert.is(replaceSection(out, '### run\n\ntable\n'), out, 'idempotent');
  assert.throws(() => replaceSection('# no markers', 'x'), /markers/, 'markers required');
});

test('scenarios: issue 14\'s table and the TLS group, selectable by id and group', () => {
  const ids = SCENARIOS.map((s) => s.id);
  assert.equal(ids, ['hello', 'pipeline', 'hello-close', 'capture', 'multi', 'md5-capture', 'md5-client', 'static4k', 'static4k-cache', 'static1m', 'tls-hello', 'tls-resume', 'tls-full'], 'ids');
  assert.equal(selectScenarios('hello,static4k').map((s) => s.id), ['hello', 'static4k'], 'by id, in table order');
  assert.equal(selectScenarios('tls').map((s) => s.id), ['tls-hello', 'tls-resume', 'tls-full'], 'the tls group');
  assert.is(selectScenarios(undefined).length, SCENARIOS.length, 'all by default');
  assert.throws(() => selectScenarios('helo'), /unknown "helo"/, 'a typo refused');
  const comps = SCENARIOS.flatMap((s) => s.comparisons);
  const target = (id: string): string => { const t = comps.find((c) => c.id === id)!.target; return t ? `${t.op}${t.value}` : '-'; };
  assert.is(target('hello'), '>=0.8', 'hello');
  assert.is(target('hello-vs-net'), '>=0.85', 'hello vs node:net');
  assert.is(target('pipeline'), '>=1', 'pipelined');
  assert.is(target('capture'), '>=0.7', 'capture');
  assert.is(target('multi'), '>=0.7', 'captureMulti');
  assert.is(target('md5-capture'), '>=0.6', 'md5 capture');
  assert.is(target('md5-client'), '>=0.6', 'md5 client');
  assert.is(target('static4k'), '>=0.7', 'static 4k');
  assert.is(target('static1m'), '>=0.7', 'static 1m');
  assert.is(target('md5-capture-p99'), '<=2', 'p99 capture');
  assert.is(target('md5-client-p99'), '<=2', 'p99 client');
  assert.is(target('tls-hello'), '>=0.7', 'TLS keep-alive (issue 13)');
});

test.run();
