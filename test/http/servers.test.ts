// Two servers in one process, and one config started twice: each has its own filter chains,
// made from fresh instances (before, the capture filter objects were shared by every chain and
// re-linked by each new one: server A's output ran into server B's chain below them).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, resolveConfig, type Request } from '../../src/index.js';
import { UppercaseFilter } from '../../examples/filters/uppercase.js';
import { raw, timed, get } from '../helpers.js';

const shout = { content: (r: Request) => { r.header['Content-Type'] = 'text/plain'; r.say('quiet words'); } };
const cap = { content: async (r: Request) => { const res = await r.location.capture('/inner'); r.header['Content-Type'] = 'text/plain'; r.print(res.body); } };
const inner = { content: (r: Request) => { r.say('from inside'); } };

test('a server with a user filter keeps it when a second server without it starts (was: lost)', timed(30000, async () => {
  const a = await startServer({ errorLog: 'off', filters: [UppercaseFilter], servers: [{ listen: '127.0.0.1:0', locations: { '/': shout, '/cap': cap, '/inner': inner } }] });
  const b = await startServer({ errorLog: 'off', servers: [{ listen: '127.0.0.1:0', locations: { '/': shout, '/cap': cap, '/inner': inner } }] });
  try {
    const up = (await raw(a.port, get('/', 'X-Uppercase: 1\r\n'), { responses: 1 })).responses[0];
    assert.is(up.body.toString(), 'QUIET WORDS\n', 'A still upper-cases');
    const capA = (await raw(a.port, get('/cap', 'X-Uppercase: 1\r\n'), { responses: 1 })).responses[0];
    assert.is(capA.body.toString(), 'FROM INSIDE\n', 'A\'s captures go through A\'s chain');
    const plain = (await raw(b.port, get('/', 'X-Uppercase: 1\r\n'), { responses: 1 })).responses[0];
    assert.is(plain.body.toString(), 'quiet words\n', 'B has no such filter');
    const capB = (await raw(b.port, get('/cap', 'X-Uppercase: 1\r\n'), { responses: 1 })).responses[0];
    assert.is(capB.body.toString(), 'from inside\n');
    assert.ok(a.chainsOf().order().body.includes('uppercase'), 'A\'s chain lists the filter');
    assert.ok(!b.chainsOf().order().body.includes('uppercase'), 'B\'s does not');
    assert.is(a.chainsOf().topBody === b.chainsOf().topBody, false);
  } finally {
    await a.close();
    await b.close();
  }
}));

test('one config started twice: both copies filter, no instance is shared', timed(30000, async () => {
  const config = resolveConfig({ errorLog: 'off', filters: [UppercaseFilter], servers: [{ listen: '127.0.0.1:0', locations: { '/': shout, '/cap': cap, '/inner': inner } }] });
  const a = await startServer(config);
  const b = await startServer(config);
  try {
    for (const s of [a, b]) {
      const r1 = (await raw(s.port, get('/', 'X-Uppercase: 1\r\n'), { responses: 1 })).responses[0];
      assert.is(r1.body.toString(), 'QUIET WORDS\n');
      const r2 = (await raw(s.port, get('/cap', 'X-Uppercase: 1\r\n'), { responses: 1 })).responses[0];
      assert.is(r2.body.toString(), 'FROM INSIDE\n');
    }
    const seen = new Set<unknown>();
    for (const s of [a, b]) for (let f: { next: unknown } | null = s.chainsOf().topBody; f !== null; f = f.next as { next: unknown } | null) {
      assert.ok(!seen.has(f), 'a filter instance in two chains');
      seen.add(f);
    }
  } finally {
    await a.close();
    await b.close();
  }
}));

test('per-server filters: two virtual servers on one port, only one with the filter', timed(30000, async () => {
  const s = await startServer({
    errorLog: 'off',
    servers: [
      { listen: '127.0.0.1:0', serverName: 'plain.test', locations: { '/': shout } },
    ],
  });
  const port = s.port;
  await s.close();
  const two = await startServer({
    errorLog: 'off',
    servers: [
      { listen: `127.0.0.1:${port}`, serverName: 'plain.test', locations: { '/': shout } },
      { listen: `127.0.0.1:${port}`, serverName: 'loud.test', filters: [UppercaseFilter], locations: { '/': shout } },
    ],
  });
  try {
    const req = (host: string) => `GET / HTTP/1.1\r\nHost: ${host}\r\nX-Uppercase: 1\r\n\r\n`;
    assert.is((await raw(port, req('plain.test'), { responses: 1 })).responses[0].body.toString(), 'quiet words\n');
    assert.is((await raw(port, req('loud.test'), { responses: 1 })).responses[0].body.toString(), 'QUIET WORDS\n');
  } finally {
    await two.close();
  }
}));

test('logs: each block\'s errorLog and accessLog are used, and two servers keep theirs apart (was: top level only, one process-wide sink)', timed(30000, async () => {
  const sink = () => { const lines: string[] = []; return { lines, write(l: string) { lines.push(l); } }; };
  const topErr = sink(), aErr = sink(), locErr = sink(), bErr = sink(), aAcc = sink(), locAcc = sink(), bAcc = sink();
  const boom = { content: () => { throw new Error('boom'); } };
  const a = await startServer({
    errorLog: topErr,
    servers: [{ listen: '127.0.0.1:0', errorLog: aErr, accessLog: aAcc, locations: { '/': boom, '/loc/': { ...boom, errorLog: locErr, accessLog: locAcc } } }],
  });
  const b = await startServer({ errorLog: topErr, servers: [{ listen: '127.0.0.1:0', errorLog: bErr, accessLog: bAcc, locations: { '/': boom } }] });
  try {
    await raw(a.port, get('/x'), { responses: 1 });
    await raw(a.port, get('/loc/y'), { responses: 1 });
    await raw(b.port, get('/z'), { responses: 1 });
    assert.is(aErr.lines.length, 1, 'server A\'s error log');
    assert.match(aErr.lines[0], /\[error\].*handler failed: Error: boom[\s\S]*request: "GET \/x HTTP\/1.1"/);
    assert.is(locErr.lines.length, 1, 'the location\'s own error log');
    assert.match(locErr.lines[0], /GET \/loc\/y/);
    assert.is(bErr.lines.length, 1, 'server B\'s');
    assert.match(bErr.lines[0], /GET \/z/);
    assert.is(topErr.lines.length, 0, 'nothing fell through to the top level');
    assert.is(aAcc.lines.length, 1);
    assert.match(aAcc.lines[0], /"GET \/x HTTP\/1.1" 500 /);
    assert.is(locAcc.lines.length, 1);
    assert.match(locAcc.lines[0], /"GET \/loc\/y HTTP\/1.1" 500 /);
    assert.is(bAcc.lines.length, 1);
    assert.match(bAcc.lines[0], /"GET \/z HTTP\/1.1" 500 /);
  } finally {
    await a.close();
    await b.close();
  }
}));

test('logs: a file errorLog is opened at start (a path that cannot be opened fails it), with its level', timed(30000, async () => {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-logs-'));
  try {
    await startServer({ errorLog: join(dir, 'no/such/dir/e.log'), servers: [{ listen: '127.0.0.1:0' }] }).then(
      () => assert.unreachable('started'), (e: Error) => assert.match(e.message, /open\(\) ".*e\.log" failed/));
    const file = join(dir, 'e.log');
    const s = await startServer({ errorLog: [file, 'info'], servers: [{ listen: '127.0.0.1:0', locations: { '/': { content: (r: Request) => { r.status = 204; r.say('dropped'); } } } }] });
    await raw(s.port, get('/'), { responses: 1 });
    await s.close();
    assert.match(readFileSync(file, 'utf8'), /\[info\].*bytes of body dropped: a 204 response has no body/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}));

test('filters: an instance is refused (filters are made per server), a class or a factory is taken', () => {
  assert.throws(() => resolveConfig({ filters: [new UppercaseFilter() as never], servers: [{ listen: 1 }] }), /give its class or a factory/);
  const c = resolveConfig({ filters: [() => new UppercaseFilter()], servers: [{ listen: 1 }] });
  assert.is(c.http.filters.length, 1);
});

test.run();
