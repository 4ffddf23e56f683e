// The wire-level conformance probe (shared/conformance/probe.mjs) against a running sluice:
// every case of both corpora must pass, but for the deliberate differences listed below. Uses
// ../shared when it is there, else the copy in test/fixtures/conformance.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { listen, timed } from '../helpers.js';
import type { Request } from '../../src/http/request.js';
import type { LocationConfig } from '../../src/http/conf/config.js';

const shared = resolve(process.cwd(), '../shared/conformance');
const dir = existsSync(join(shared, 'probe.mjs')) ? shared : resolve(process.cwd(), 'test/fixtures/conformance');

/**
 * The cases the probe fails on purpose: sluice answers them as nginx 1.22.1 does, where the
 * corpus expects llhttp's verdict (docs/parser.md, "Where our verdict is not the case's expect").
 * A case here that starts to pass must leave the list.
 */
const KNOWN_DIFFERENCES: ReadonlySet<string> = new Set<string>([
  // none: `deflate` then `chunked` on two lines is 501 here (nginx: 400), the corpus's soft pass
]);

/**
 * The probe's idle wait per case (it ends a case on the close, the expected responses, or this
 * much silence): well above any answer's delay on a loaded machine. More cases at once make up
 * for the few that wait it out (the incomplete ones).
 */
const PROBE_ARGS = ['--timeout', '4000', '--concurrency', '16'];

/** Run the probe against a server with this location at '/': every case must pass but the known ones. */
async function probe(loc: LocationConfig): Promise<void> {
  const s = await listen({ '/': loc }, { clientHeaderTimeout: '5s', clientBodyTimeout: '5s', keepaliveTimeout: '10s' }); // as the reference nginx
  const out = mkdtempSync(join(tmpdir(), 'sluice-probe-'));
  try {
    const report = join(out, 'report.json');
    const { code, text } = await new Promise<{ code: number; text: string }>((res) => {
      const p = spawn(process.execPath, [join(dir, 'probe.mjs'), `127.0.0.1:${s.port}`,
        join(dir, 'llhttp-requests.json'), join(dir, 'robustness.json'), ...PROBE_ARGS, '--report', report], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      p.stdout.on('data', (d) => { text += d; });
      p.stderr.on('data', (d) => { text += d; });
      p.on('exit', (c) => res({ code: c ?? 1, text }));
    });
    const summary = /(\d+) passed, (\d+) failed/.exec(text);
    assert.ok(summary, `probe printed a summary:\n${text}`);
    assert.ok(existsSync(report), `probe wrote its report:\n${text}`);
    const rep = JSON.parse(readFileSync(report, 'utf8')) as { failures: { id: string; verdict: string; reasons: string[] }[] };
    const failed = rep.failures.filter((f) => f.verdict === 'fail');
    const unexpected = failed.filter((f) => !KNOWN_DIFFERENCES.has(f.id)).map((f) => `${f.id}: ${f.reasons.join('; ')}`);
    const ids = new Set(failed.map((f) => f.id));
    const passing = [...KNOWN_DIFFERENCES].filter((id) => !ids.has(id));
    assert.equal(unexpected, [], `probe failures:\n${unexpected.join('\n')}`);
    assert.equal(passing, [], 'known differences that now pass (take them off the list)');
    assert.is(Number(summary![2]), failed.length, text);
    assert.is(code, failed.length === 0 ? 0 : 1, text);
  } finally {
    rmSync(out, { recursive: true, force: true });
    await s.close();
  }
}

// like the reference peers: read the whole body, then answer 200 "ok"
test('probe: both corpora against a location that reads the body', timed(240000, () =>
  probe({ content: async (r: Request) => { await r.readBody(); r.say('ok'); } })));

// a location that never reads the body: the connection discards it (nginx's discard_request_body)
test('probe: both corpora against a bare return location', timed(240000, () =>
  probe({ return: [200, 'ok\n'] })));

test.run();
