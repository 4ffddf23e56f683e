// Two servers in one process, and one config started twice: each has its own filter chains,
// made from fresh instances (before, the capture filter objects were shared by every chain and
// re-linked by each new one: server A's output ran into server B's chain below them).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, resolveConfig, type Request } from '../../src/index.js';
import { configureLogs } from '../../src/core/log.js';
import { UppercaseFilter } from '../../examples/filters/uppercase.js';
import { raw, timed, get } from '../helpers.js';

const shout = { content: (r: Request) => { r.header['Content-Type'] = 'text/plain'; r.say('quiet words'); } };
const cap = { content: async (r: Request) => { const res = await r.location.capture('/inner'); r.header['Content-Type'] = 'text/plain'; r.print(res.body); } };
const inner = { content: (r: Request) => { r.say('from inside'); } };

test('a server with a user filter keeps it when a second server without it starts (was: lost)', timed(8000, async () => {
  const a = await startServer({ errorLog: 'off', filters: [UppercaseFilter], servers: [{ listen: '127.0.0.1:0', locations: { '/': shout, '/cap': cap, '/inner': inner } }] });
  const b = await startServer({ errorLog: 'off', servers: [{ listen: '127.0.0.1:0', locations: { '/': shout, '/cap': cap, '/inner': inner } }] });
  configureLogs('off', 'off');
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

test('one config started twice: both copies filter, no instance is shared', timed(8000, async () => {
  const config = resolveConfig({ errorLog: 'off', filters: [UppercaseFilter], servers: [{ listen: '127.0.0.1:0', locations: { '/': shout, '/cap': cap, '/inner': inner } }] });
  const a = await startServer(config);
  const b = await startServer(config);
  configureLogs('off', 'off');
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

test('per-server filters: two virtual servers on one port, only one with the filter', timed(8000, async () => {
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
  configureLogs('off', 'off');
  try {
    const req = (host: string) => `GET / HTTP/1.1\r\nHost: ${host}\r\nX-Uppercase: 1\r\n\r\n`;
    assert.is((await raw(port, req('plain.test'), { responses: 1 })).responses[0].body.toString(), 'quiet words\n');
    assert.is((await raw(port, req('loud.test'), { responses: 1 })).responses[0].body.toString(), 'QUIET WORDS\n');
  } finally {
    await two.close();
  }
}));

test('filters: an instance is refused (filters are made per server), a class or a factory is taken', () => {
  assert.throws(() => resolveConfig({ filters: [new UppercaseFilter() as never], servers: [{ listen: 1 }] }), /give its class or a factory/);
  const c = resolveConfig({ filters: [() => new UppercaseFilter()], servers: [{ listen: 1 }] });
  assert.is(c.http.filters.length, 1);
});

test.run();
