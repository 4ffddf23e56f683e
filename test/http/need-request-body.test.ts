// needRequestBody (lua-nginx-module's lua_need_request_body): the whole request body is read before
// the rewrite, access and content handlers run, so they need not await r.readBody() and may be
// synchronous. Over real sockets; where a test depends on the body coming after the head, the
// client sends it only on "100 Continue", which the server sends when it starts reading the body.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listen, raw, timed, RawClient, parseResponses } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { Request } from '../../src/http/request.js';

let s: SluiceServer;
let ran = 0;

const echo = (r: Request) => { ran++; r.say('[', r.body()?.toString() ?? 'nil', ']'); };

test.before(async () => {
  s = await listen({
    '= /echo': { needRequestBody: true, content: echo },
    '= /plain': { content: echo },
    '= /small': { needRequestBody: true, clientMaxBodySize: '4', content: echo },
    '= /off': { needRequestBody: false, content: echo },
    '= /phases': {
      needRequestBody: true,
      rewriteHandler: (r: Request) => { r.ctx.rewrite = r.body()?.toString() ?? 'nil'; },
      access: (r: Request) => { r.ctx.access = r.body()?.toString() ?? 'nil'; },
      content: (r: Request) => { r.say(String(r.ctx.rewrite), ' ', String(r.ctx.access), ' ', r.body()?.toString() ?? 'nil'); },
    },
    '= /async': {
      needRequestBody: true,
      content: async (r: Request) => { await Promise.resolve(); r.say(r.body()?.toString() ?? 'nil'); },
    },
    '= /small-read': { clientMaxBodySize: '4', content: async (r: Request) => { await r.readBody(); echo(r); } },
    '= /small-return': { clientMaxBodySize: '4', return: [200, 'returned\n'] },
    '= /post-args': { needRequestBody: true, content: (r: Request) => { r.say(JSON.stringify(r.postArgs())); } },
  }, { clientBodyTimeout: '60s' });
});
test.after(async () => { await s.close(); });

/** POST with Expect: 100-continue; the body goes only after the 100, in two pieces. */
async function afterContinue(path: string, body: string): Promise<{ text: string; body: string; continued: boolean }> {
  const c = await RawClient.open(s.port);
  try {
    c.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    await c.until(() => c.pending().includes('\r\n\r\n'));
    const head = c.pending().toString('latin1');
    const continued = head.startsWith('HTTP/1.1 100 Continue\r\n\r\n');
    if (continued) {
      c.write(body.slice(0, 2));
      await new Promise((r) => setImmediate(r));
      c.write(body.slice(2));
    }
    await c.wait(1);
    const all = parseResponses(Buffer.from(c.pending()));
    const final = all[all.length - 1];
    return { text: c.pending().toString('latin1'), body: final.body.toString(), continued };
  } finally {
    c.close();
  }
}

test('a synchronous content handler sees the body that came with the head', timed(30000, async () => {
  const res = await raw(s.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\ndata', { responses: 1 });
  assert.is(res.responses[0].status, 200);
  assert.is(res.responses[0].body.toString(), '[data]\n');
}));

test('a body still to come is waited for: 100 Continue goes out, the handler runs once it is all in', timed(30000, async () => {
  const { text, body, continued } = await afterContinue('/echo', 'hello world');
  assert.ok(continued, text);
  assert.is(body, '[hello world]\n', text);
}));

test('without the directive (or with it off) the handler runs at once and the body is not read', timed(30000, async () => {
  for (const path of ['/plain', '/off']) {
    const { text, body, continued } = await afterContinue(path, 'hello');
    assert.not.ok(continued, text);
    assert.is(body, '[nil]\n', text);
  }
}));

test('a chunked body in pieces is read whole first', timed(30000, async () => {
  const res = await raw(s.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', {
    responses: 1,
    segments: [{ delayMs: 5, data: '2\r\nde\r\n' }, { delayMs: 5, data: '0\r\n\r\n' }],
  });
  assert.is(res.responses[0].body.toString(), '[abcde]\n');
}));

test('the rewrite and access handlers see the body too (read once)', timed(30000, async () => {
  const { text, body } = await afterContinue('/phases', 'xyz');
  assert.is(body, 'xyz xyz xyz\n', text);
}));

test('an asynchronous handler gets the body the same way; postArgs() works without readBody()', timed(30000, async () => {
  const a = await afterContinue('/async', 'later');
  assert.is(a.body, 'later\n', a.text);
  const res = await raw(s.port, 'POST /post-args HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\na=1&b=2', { responses: 1 });
  assert.is(res.responses[0].body.toString(), '{"a":"1","b":"2"}\n');
}));

test('a body that cannot be read ends the request with its status; the handler never runs', timed(30000, async () => {
  const before = ran;
  // too large, known only as the chunks come
  const big = await raw(s.port, 'POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', {
    segments: [{ delayMs: 5, data: '5\r\nabcde\r\n0\r\n\r\n' }],
  });
  assert.is(big.responses[0].status, 413);
  assert.ok(big.closed);
  // bad chunk framing after the head
  const bad = await raw(s.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', {
    segments: [{ delayMs: 5, data: 'zz\r\nabc\r\n' }],
  });
  assert.is(bad.responses[0].status, 400);
  assert.ok(bad.closed);
  assert.is(ran, before);
}));

test('chunked bytes that came with the head are held to the location\'s limit (not the server\'s, which applied as they were read)', timed(30000, async () => {
  const before = ran;
  const chunked = (path: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n`;
  for (const path of ['/small', '/small-read']) {
    const res = await raw(s.port, chunked(path));
    assert.is(res.responses[0].status, 413, path);
    assert.ok(res.closed, path);
  }
  assert.is(ran, before, 'no handler got the body');
  // a body nobody reads has no limit (nginx discards any size): return answers, keep-alive kept
  const ret = await raw(s.port, chunked('/small-return') + 'GET /small-return HTTP/1.1\r\nHost: x\r\n\r\n', { responses: 2 });
  assert.equal(ret.responses.map((x) => x.status), [200, 200]);
}));

test('the connection goes on after a waited-for body (keep-alive kept)', timed(30000, async () => {
  const c = await RawClient.open(s.port);
  try {
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab');
    await new Promise((r) => setImmediate(r));
    const [a] = await c.exchange('cdef', 1);
    assert.is(a.body.toString(), '[abcdef]\n');
    const [b] = await c.exchange('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz', 1);
    assert.is(b.body.toString(), '[z]\n');
  } finally {
    c.close();
  }
}));

test.run();
