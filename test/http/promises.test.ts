// How many promises sluice itself makes per request on the paths that wait: a capture through
// proxyPass to an upstream, the HTTP client, a plain asynchronous handler. A promise costs an
// allocation, a microtask and (on Node 20, with AsyncLocalStorage on) a hook call; the count is
// exact, so it is a test, not a benchmark. Only promises made by sluice's code count (the first
// frame of their creation outside Node is in src/); the handlers' own are theirs — except for the
// md5 examples, whose whole count (handlers, sluice and Node together) is held to issue 14's 4.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHook } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { RawClient } from '../helpers.js';
import { startServer, type SluiceConfig, type SluiceServer } from '../../src/index.js';
import { md5CaptureConfig } from '../../examples/md5/capture.js';
import { md5ClientConfig } from '../../examples/md5/client.js';
import { SALT } from '../../examples/md5/backend.js';

const SRC = /[/\\]dist[/\\]src[/\\]/;
const TEST = /[/\\]dist[/\\]test[/\\]/;

/**
 * Promises made while `n` requests go one after another on one connection: by src/ only, or
 * (`all`) by anyone in this process but the test's own client (src/, the examples' handlers, Node).
 */
async function ownPromises(port: number, request: string, n: number, all = false): Promise<{ count: number; where: Map<string, number> }> {
  const c = await RawClient.open(port);
  try {
    for (let i = 0; i < 20; i++) await c.exchange(request, 1); // pools filled, caches warm
    let count = 0;
    const where = new Map<string, number>();
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 12;
    const hook = createHook({
      init(_id, type) {
        if (type !== 'PROMISE') return;
        const frames = (new Error().stack ?? '').split('\n').slice(2).filter((l) => !l.includes('node:internal') && !l.includes('(<anonymous>)') && !l.includes('async_hooks'));
        const first = frames[0] ?? '';
        if (all ? TEST.test(first) : !SRC.test(first)) return;
        count++;
        const k = first.trim() || '(Node, no frame of ours)';
        where.set(k, (where.get(k) ?? 0) + 1);
      },
    });
    hook.enable();
    try {
      for (let i = 0; i < n; i++) {
        const [res] = await c.exchange(request, 1);
        assert.is(res.status, 200);
      }
    } finally {
      hook.disable();
      Error.stackTraceLimit = limit;
    }
    return { count, where };
  } finally {
    c.close();
  }
}

function describe(w: Map<string, number>, n: number): string {
  return [...w].map(([k, v]) => `${(v / n).toFixed(2)} ${k}`).join('\n');
}

const N = 50;
const data = 'hello';
const key = createHash('md5').update(data + SALT).digest('hex');
const md5Request = `GET /test?data=${data}&key=${key} HTTP/1.1\r\nHost: a\r\n\r\n`;

async function withServer(config: SluiceConfig, fn: (s: SluiceServer) => Promise<void>): Promise<void> {
  const s = await startServer({ ...config, accessLog: false, errorLog: { write() {} } } as SluiceConfig);
  try { await fn(s); } finally { await s.close(); }
}

test('md5 through capture → proxyPass → upstream keepalive: at most 2 of sluice\'s promises per request', async () => {
  const cfg = md5CaptureConfig(0, 0);
  // the md5 backend on a port of its own, then the front pointed at it
  await withServer({ servers: [cfg.servers[1]] } as SluiceConfig, async (back) => {
    const front = md5CaptureConfig(0, back.addresses()[0].port);
    await withServer({ ...front, servers: [front.servers[0]] } as SluiceConfig, async (s) => {
      const { count, where } = await ownPromises(s.addresses()[0].port, md5Request, N);
      assert.ok(count / N <= 2, `${count / N} per request:\n${describe(where, N)}`);
    });
  });
});

for (const [form, config] of [['capture', md5CaptureConfig], ['HTTP client', md5ClientConfig]] as const) {
  test(`md5 through the ${form}: at most 4 promises per request in all (the handlers', sluice's, Node's)`, async () => {
    const cfg = config(0, 0);
    await withServer({ servers: [cfg.servers[1]] } as SluiceConfig, async (back) => {
      const front = config(0, back.addresses()[0].port);
      await withServer({ ...front, servers: [front.servers[0]] } as SluiceConfig, async (s) => {
        const { count, where } = await ownPromises(s.addresses()[0].port, md5Request, N, true);
        assert.ok(count / N <= 4, `${count / N} per request:\n${describe(where, N)}`);
      });
    });
  });
}

test('md5 through the HTTP client (pool 20): at most 2 of sluice\'s promises per request', async () => {
  const cfg = md5ClientConfig(0, 0);
  await withServer({ servers: [cfg.servers[1]] } as SluiceConfig, async (back) => {
    const front = md5ClientConfig(0, back.addresses()[0].port);
    await withServer({ ...front, servers: [front.servers[0]] } as SluiceConfig, async (s) => {
      const { count, where } = await ownPromises(s.addresses()[0].port, md5Request, N);
      assert.ok(count / N <= 2, `${count / N} per request:\n${describe(where, N)}`);
    });
  });
});

test('captureMulti of three: 2 promises per request besides the handler\'s (one for all three captures, the phase runner\'s; was 8)', async () => {
  const sub = { internal: true, return: [200, 'x\n'] as [number, string] };
  await withServer({
    servers: [{
      listen: '127.0.0.1:0',
      locations: {
        '= /multi': {
          content: async (r) => {
            const [a, b, c] = await r.location.captureMulti(['/a', '/b', '/c']);
            r.print(a.body, b.body, c.body);
          },
        },
        '= /a': sub, '= /b': sub, '= /c': sub,
      },
    }],
  } as SluiceConfig, async (s) => {
    const { count, where } = await ownPromises(s.addresses()[0].port, 'GET /multi HTTP/1.1\r\nHost: a\r\n\r\n', N, true);
    assert.ok(count / N <= 2, `${count / N} per request:\n${describe(where, N)}`);
  });
});

test('a synchronous handler makes no promise; an asynchronous one costs sluice one', async () => {
  await withServer({
    servers: [{
      listen: '127.0.0.1:0',
      locations: {
        '= /sync': { content: (r) => { r.say('x'); } },
        '= /async': { content: async (r) => { await r.readBody(); r.say('x'); } },
      },
    }],
  } as SluiceConfig, async (s) => {
    const port = s.addresses()[0].port;
    const sync = await ownPromises(port, 'GET /sync HTTP/1.1\r\nHost: a\r\n\r\n', N);
    assert.is(sync.count, 0, describe(sync.where, N));
    const as = await ownPromises(port, 'GET /async HTTP/1.1\r\nHost: a\r\n\r\n', N);
    assert.is(as.count / N, 1, describe(as.where, N));
  });
});

test.run();
