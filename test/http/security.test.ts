// Regression tests for the defects of the security issue that live in the request, the header
// serialiser, the write filter, the chain links and the process: each one was reproduced on the
// code before the fix (the comment says what went wrong then).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { listen, raw, timed, get, captureLog, stopCapture, errorLines, until, serverSide, RawClient } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { Request } from '../../src/http/request.js';
import { resolveConfig } from '../../src/http/conf/config.js';

let s: SluiceServer;
const logged = errorLines.lines;
const MiB = 1024 * 1024;

test.before(async () => {
  s = await listen({
    '= /name': { content: (r: Request) => { r.header['X-Name'] = String(r.uriArgs().n); r.say('ok'); } },
    '= /redirect': { content: (r: Request) => r.redirect('/to/' + String(r.uriArgs().n)) },
    '= /ctl': { content: (r: Request) => { r.header['X-Ctl'] = 'a\u0001b'; r.say('never'); } },
    '= /badname': { content: (r: Request) => { r.header['X-B\r\nSet-Cookie: evil'] = '1'; r.say('never'); } },
    '= /badname2': { content: (r: Request) => { r.header['X B'] = '1'; r.say('never'); } },
    '/ret/': { return: [302, 'http://example.com$uri'] },
    '= /s204': { content: (r: Request) => { r.status = 204; r.say('s'); } },
    '= /s304': { content: (r: Request) => { r.status = 304; r.say('s'); } },
    '= /exit204': { content: (r: Request) => { r.header['X-A'] = '1'; r.exit(204); } },
    '= /st100': { content: (r: Request) => { r.status = 100; r.say('x'); } },
    '= /st101': { content: (r: Request) => { r.status = 101; r.say('x'); } },
    '= /hello': { content: (r: Request) => { r.say('hello'); } },
    '= /exit1000': { content: (r: Request) => r.exit(1000) },
    '= /exit600': { content: (r: Request) => r.exit(600) },
    '= /exit499': { content: (r: Request) => r.exit(499) },
    '= /say-exit': { content: (r: Request) => { r.say('x'); r.exit(503); } },
    '= /timer-throw': {
      content: (r: Request) => new Promise<void>(() => {
        r.header['X-Before'] = '1';
        setTimeout(() => { throw new Error('thrown in a timer'); }, 5);
      }),
    },
    '= /timer-throw-after-head': {
      content: (r: Request) => new Promise<void>(() => {
        r.say('started');
        void r.flush();
        setTimeout(() => { throw new Error('thrown after the head'); }, 5);
      }),
    },
    '= /rejection': {
      content: (r: Request) => {
        void Promise.reject(new Error('nobody handles this'));
        r.say('fine');
      },
    },
    '= /say-after-eof': {
      content: (r: Request) => {
        r.say('done');
        r.eof();
        setTimeout(() => { r.say('late'); }, 5);
      },
    },
    '= /big': {
      // a careless handler: it ignores print()'s false and never waits for the client
      content: (r: Request) => { for (let i = 0; i < 200; i++) r.print(Buffer.alloc(MiB, 0x61)); },
    },
    '= /ret200': { return: [200, 'ok\n'] },
    '= /setheader': { content: (r: Request) => { r.setHeader('X-In\r\nY', '1'); r.say('never'); } },
    '= /logline': { content: (r: Request) => { r.method = 'GET\r\n2026/12/01 [alert] forged'; throw new Error('x'); } },
    '= /ret499': { return: [499, 'never'] },
    '= /st499': { content: (r: Request) => { r.status = 499; r.say('x'); } },
    '= /raw600': { content: (r: Request) => { r.headersOut.status = 600; r.say('x'); } },
  }, { clientMaxBodySize: '1m' });
});
test.after(async () => { stopCapture(); await s.close(); });

/** The head of the first response, as bytes and as latin1 lines. */
function head(data: Buffer): { bytes: Buffer; lines: string[] } {
  const end = data.indexOf('\r\n\r\n');
  const bytes = data.subarray(0, end < 0 ? data.length : end);
  return { bytes, lines: bytes.toString('latin1').split('\r\n') };
}

// ------------------------------------------------------------------ 1. non-latin1 characters

test('a value with U+010D U+010A goes out as its UTF-8 bytes: no Set-Cookie line (was: response splitting)', timed(30000, async () => {
  const res = await raw(s.port, get('/name?n=a%C4%8D%C4%8ASet-Cookie:%20evil=1'), { responses: 1 });
  const h = head(res.data);
  assert.is(res.responses[0]?.status, 200);
  assert.ok(!h.lines.some((l) => /^set-cookie:/i.test(l)), `no Set-Cookie line:\n${h.lines.join('\n')}`);
  const want = Buffer.concat([Buffer.from('X-Name: a'), Buffer.from([0xc4, 0x8d, 0xc4, 0x8a]), Buffer.from('Set-Cookie: evil=1\r\n')]);
  assert.ok(res.data.includes(want), 'the value is exactly its UTF-8 bytes, on one line');
  // nothing below 0x20 but the line ends
  for (let i = 0; i < h.bytes.length; i++) {
    const c = h.bytes[i];
    if (c < 0x20) { assert.ok(c === 0x0d && h.bytes[i + 1] === 0x0a, `control byte 0x${c.toString(16)} at ${i}`); i++; }
  }
}));

test('redirect(): a non-latin1 url is sent as UTF-8 in Location, never split', timed(30000, async () => {
  const res = await raw(s.port, get('/redirect?n=%C4%8D%C4%8AX-Evil:%201'), { responses: 1 });
  assert.is(res.responses[0]?.status, 302);
  const h = head(res.data);
  assert.ok(!h.lines.some((l) => /^x-evil:/i.test(l)), 'no injected line');
  assert.ok(res.data.includes(Buffer.concat([Buffer.from(`Location: http://localhost:${s.port}/to/`), Buffer.from([0xc4, 0x8d, 0xc4, 0x8a]), Buffer.from('X-Evil: 1\r\n')])));
}));

test('a control character in a value is refused: 500, nothing of it sent', timed(30000, async () => {
  const res = await raw(s.port, get('/ctl'), { responses: 1 });
  assert.is(res.responses[0]?.status, 500);
  assert.ok(!res.text.includes('X-Ctl'), 'the header never went out');
  assert.ok(!res.text.includes('never'), 'nor the body');
}));

test('a $variable holding CR LF in a return Location is refused where the head is serialised: 500', timed(30000, async () => {
  captureLog();
  const res = await raw(s.port, get('/ret/a%0D%0ASet-Cookie:%20evil=1')); // until the close
  stopCapture();
  assert.is(res.responses[0]?.status, 500);
  assert.ok(!/set-cookie/i.test(res.text), 'nothing injected');
  assert.ok(res.closed, 'and the connection closes (it was left waiting before)');
  assert.is(res.responses.length, 1);
  assert.is(res.text.indexOf('302'), -1, 'the refused response\'s page is not sent after the 500');
  assert.ok(logged.some((l) => l.includes('[alert]') && l.includes('Location')), `logged at alert:\n${logged.join('')}`);
}));

// ------------------------------------------------------------------ 2. header names

test('a header name that is not a token is refused: 500, no injected line (was: written as is)', timed(30000, async () => {
  for (const p of ['/badname', '/badname2']) {
    const res = await raw(s.port, get(p), { responses: 1 });
    assert.is(res.responses[0]?.status, 500, p);
    assert.ok(!/set-cookie|X B/i.test(res.text), `${p}: nothing of it on the wire`);
  }
}));

test('setHeader() checks names and values; a log line never holds a raw CR or LF from a request', timed(30000, async () => {
  const a = await raw(s.port, get('/setheader'), { responses: 1 });
  assert.is(a.responses[0]?.status, 500);
  captureLog();
  await raw(s.port, get('/logline'), { responses: 1 });
  stopCapture();
  const line = logged.find((l) => l.includes('handler failed'));
  assert.ok(line !== undefined, logged.join(''));
  assert.ok(!/\r|\n(?!\s+at |$)/.test(line!), `one line: ${JSON.stringify(line)}`);
  assert.ok(line!.includes('GET\\x0d\\x0a2026/12/01'), 'escaped as \\xHH');
}));

test('addHeader names must be tokens (config error)', () => {
  assert.throws(() => resolveConfig({ servers: [{ listen: 1, addHeader: [['X Y', '1']] }] }), /addHeader/);
  assert.throws(() => resolveConfig({ servers: [{ listen: 1, addHeader: [['X-Y', 'a\nb']] }] }), /addHeader/);
});

// ------------------------------------------------------------------ 4. bodies where HTTP forbids one

test('204 and 304: the printed body is dropped, no framing headers, the next response is intact (was: desync)', timed(30000, async () => {
  for (const p of ['/s204', '/s304', '/exit204']) {
    const res = await raw(s.port, get(p) + get('/hello'), { responses: 2 });
    const rs = res.responses;
    assert.is(rs.length, 2, `${p}: two responses`);
    assert.is(rs[0].status, p === '/s304' ? 304 : 204, p);
    assert.is(rs[0].headers['content-length'], undefined, `${p}: no Content-Length`);
    assert.is(rs[0].headers['transfer-encoding'], undefined, `${p}: no Transfer-Encoding`);
    assert.is(rs[1].status, 200, `${p}: the next response starts right after the head`);
    assert.is(rs[1].body.toString(), 'hello\n');
    const second = res.text.indexOf('HTTP/1.1 200');
    assert.is(res.text.slice(res.text.indexOf('\r\n\r\n') + 4, second), '', `${p}: not a byte between the two`);
  }
}));

test('HEAD: the body is dropped, Content-Length kept', timed(30000, async () => {
  const res = await raw(s.port, 'HEAD /ret200 HTTP/1.1\r\nHost: x\r\n\r\n' + get('/hello'), { responses: 2, headAt: [0] });
  assert.is(res.responses[0].headers['content-length'], '3');
  assert.is(res.responses[1]?.body.toString(), 'hello\n');
}));

test('r.status = 100 / 101 is refused as a final status', timed(30000, async () => {
  for (const p of ['/st100', '/st101']) {
    const res = await raw(s.port, get(p), { responses: 1 });
    assert.is(res.responses[0]?.status, 500, p);
    assert.ok(!res.text.includes('HTTP/1.1 10'), `${p}: no 1xx on the wire`);
  }
}));

// ------------------------------------------------------------------ 6. status codes

test('exit(1000) and exit(600) are refused (500); exit(499) closes without an answer', timed(30000, async () => {
  for (const p of ['/exit1000', '/exit600']) {
    const res = await raw(s.port, get(p), { responses: 1 });
    assert.is(res.responses[0]?.status, 500, p);
  }
  const c = await raw(s.port, get('/exit499'));
  assert.ok(c.closed, 'closed');
  assert.is(c.data.length, 0, '499 never reaches the wire');
}));

test('499 is a log value: r.status = 499 refused, return 499 closes unanswered, a raw 600 never reaches the wire', timed(30000, async () => {
  const a = await raw(s.port, get('/st499'), { responses: 1 });
  assert.is(a.responses[0]?.status, 500);
  const b = await raw(s.port, get('/ret499'));
  assert.ok(b.closed && b.data.length === 0, 'closed without a byte');
  const c = await raw(s.port, get('/raw600'), { responses: 1 });
  assert.is(c.responses[0]?.status, 500, 'the serialiser refuses a status outside 200..599');
  assert.throws(() => resolveConfig({ servers: [{ listen: 1, locations: { '/': { return: [600, 'x'] } } }] }), /invalid return code 600/);
  assert.throws(() => resolveConfig({ servers: [{ listen: 1, locations: { '/': { return: [100] } } }] }), /invalid return code 100/);
}));

test('say() then exit(503): the response that started is finished, and the attempt logged', timed(30000, async () => {
  captureLog();
  const res = await raw(s.port, get('/say-exit') + get('/hello'), { responses: 2 });
  stopCapture();
  assert.is(res.responses[0]?.status, 200);
  assert.is(res.responses[0].body.toString(), 'x\n', 'the body that started, complete');
  assert.is(res.responses[1]?.body.toString(), 'hello\n', 'and the connection goes on');
  assert.ok(logged.some((l) => l.includes('attempt to set status 503')), logged.join(''));
}));

// ------------------------------------------------------------------ 3. stray async errors

test('a throw in a handler\'s timer: that request gets 500, logged at alert, the server goes on (was: process exit)', timed(30000, async () => {
  captureLog();
  const res = await raw(s.port, get('/timer-throw'), { responses: 1 });
  const after = await raw(s.port, get('/hello'), { responses: 1 });
  stopCapture();
  assert.is(res.responses[0]?.status, 500);
  assert.is(after.responses[0]?.body.toString(), 'hello\n');
  const line = logged.find((l) => l.includes('thrown in a timer'));
  assert.ok(line !== undefined && line.includes('[alert]') && line.includes('GET /timer-throw'), `logged with its request:\n${logged.join('')}`);
}));

test('a throw after the head has gone: that connection closes, others are untouched', timed(30000, async () => {
  const res = await raw(s.port, get('/timer-throw-after-head'));
  assert.ok(res.closed, 'closed');
  assert.ok(res.text.startsWith('HTTP/1.1 200'), 'the head had gone');
  assert.ok(!res.responses[0].complete, 'the response is not passed off as complete');
  const after = await raw(s.port, get('/hello'), { responses: 1 });
  assert.is(after.responses[0]?.body.toString(), 'hello\n');
}));

test('an unhandled rejection and say() after eof() in a timer are logged; nothing stops', timed(30000, async () => {
  captureLog();
  const a = await raw(s.port, get('/rejection'), { responses: 1 });
  const b = await raw(s.port, get('/say-after-eof') + get('/hello'), { responses: 2 });
  // the late say() runs in a timer after the response: wait for its log line, not for a while
  await until(() => logged.some((l) => l.includes('output after the end of the response')));
  const c = await raw(s.port, get('/hello'), { responses: 1 });
  stopCapture();
  assert.is(a.responses[0]?.body.toString(), 'fine\n');
  assert.is(b.responses[0]?.body.toString(), 'done\n');
  assert.is(b.responses[1]?.body.toString(), 'hello\n', 'the late say() did not reach the next response');
  assert.is(c.responses[0]?.body.toString(), 'hello\n');
  assert.ok(logged.some((l) => l.includes('[alert]') && l.includes('nobody handles this')), logged.join(''));
  assert.ok(logged.some((l) => l.includes('[alert]') && l.includes('output after the end of the response') && l.includes('/say-after-eof')), logged.join(''));
}));

// ------------------------------------------------------------------ 5. memory after aborted responses

test('a client that never reads 200 MiB: after it goes, memory returns near its start (was: +208 MB)', timed(60000, async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc(); gc();
  const start = process.memoryUsage().arrayBuffers;
  for (let round = 0; round < 2; round++) {
    const c: Socket = connect(s.port, '127.0.0.1');
    c.pause(); // never reads
    await new Promise<void>((res) => c.on('connect', () => res()));
    c.write(get('/big'));
    // the handler fills the socket, then waits on flush(): the server holds at most a batch
    assert.ok(await until(() => serverSide(s, c)?.conn.full === true), 'the socket filled up');
    c.destroy();
    assert.ok(await until(() => serverSide(s, c) === undefined), 'the connection is gone');
  }
  await new Promise((r) => setTimeout(r, 50));
  gc(); gc();
  const grown = (process.memoryUsage().arrayBuffers - start) / MiB;
  assert.ok(grown < 16, `arrayBuffers grew by ${grown.toFixed(1)} MiB`);
}));

// ------------------------------------------------------------------ 9. bodies nobody reads

test('return: a malformed chunked body already read is answered 400, as nginx does (was: 200)', timed(30000, async () => {
  const bad = 'POST /ret200 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
  for (const body of ['zz\r\n', '5\r\nhelloEXTRA\r\n0\r\n\r\n']) {
    const res = await raw(s.port, bad + body);
    assert.is(res.responses[0]?.status, 400, JSON.stringify(body));
    assert.is(res.responses.length, 1);
    assert.ok(res.closed, 'closed');
  }
}));

test('Expect: 100-continue with Content-Length: 0 gets 100 Continue, as nginx sends it', timed(30000, async () => {
  const res = await raw(s.port, 'POST /ret200 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n', { responses: 1 });
  assert.ok(res.text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK'), res.text);
  // with a body: 100, then the answer, and the connection stays for the body to be discarded
  const res2 = await raw(s.port, 'POST /ret200 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
    { segments: [{ delayMs: 20, data: 'hello' + get('/hello') }], responses: 2 });
  assert.ok(res2.text.startsWith('HTTP/1.1 100 Continue\r\n\r\n'), res2.text);
  assert.is(res2.responses.filter((r) => r.status >= 200).map((r) => r.status).join(), '200,200');
}));

test('TRACE is answered 405 and the connection closed, as nginx does (was: 200)', timed(30000, async () => {
  const res = await raw(s.port, 'TRACE /hello HTTP/1.1\r\nHost: x\r\n\r\n' + get('/hello'));
  assert.is(res.responses[0]?.status, 405);
  assert.is(res.responses.length, 1);
  assert.ok(res.closed);
}));

// ------------------------------------------------------------------ 10. worker_connections

test('workerConnections: past the limit a new connection is closed and logged; others are served', timed(30000, async () => {
  const small = await listen({ '/': { return: [200, 'ok\n'] } }, {}, { workerConnections: 2 });
  captureLog();
  const open: RawClient[] = [];
  try {
    for (let i = 0; i < 2; i++) open.push(await RawClient.open(small.port));
    assert.ok(await until(() => small.connectionCount() === 2), 'two connections held');
    const third = await raw(small.port, get('/'));
    assert.ok(third.closed && third.data.length === 0, 'the third is closed unanswered');
    assert.ok(logged.some((l) => l.includes('2 worker_connections are not enough')), logged.join(''));
    // the two held connections still work
    assert.is((await open[0].exchange(get('/')))[0]?.status, 200);
    open[1].close();
    assert.ok(await until(() => small.connectionCount() === 1), 'a slot freed');
    const fourth = await raw(small.port, get('/'), { responses: 1 });
    assert.is(fourth.responses[0]?.status, 200, 'a slot freed is used again');
  } finally {
    stopCapture();
    for (const c of open) c.close();
    await small.close();
  }
}));

test.run();
