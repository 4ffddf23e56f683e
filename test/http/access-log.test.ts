// The access log (src/http/modules/log.ts, src/http/log/*): nginx's combined line, logFormat and
// its escaping, several logs and per-location ones, if=, buffer= and flush= on a ManualClock, and
// the log's variables (bytes sent of an error page, request_length with a body, $pipe, $status
// of an error page). The line-for-line comparison with nginx is test/diff/log.test.ts.
process.env.TZ = 'UTC';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, resolveConfig, ManualClock, type Request, type SluiceConfig } from '../../src/index.js';
import { raw, timed, get } from '../helpers.js';
import { escapeDefault, escapeJson } from '../../src/http/log/format.js';

const AT = Date.UTC(2026, 11, 1, 21, 35, 32, 250);

function sink(): { lines: string[]; write(l: string): void } {
  const lines: string[] = [];
  return { lines, write(l: string) { lines.push(l); } };
}

const hi = { content: (r: Request) => { r.header['Content-Type'] = 'text/plain'; r.say('hi'); } };

async function serve(conf: Partial<SluiceConfig> & { locations?: Record<string, unknown> }, clock = new ManualClock(AT)) {
  const { locations, ...http } = conf;
  const s = await startServer({ errorLog: 'off', ...http, servers: [{ listen: '127.0.0.1:0', locations: (locations ?? { '/': hi }) as never }] } as SluiceConfig, { clock });
  return { s, clock };
}

test('combined by default: nginx\'s exact line, $time_local from the server\'s clock', timed(10000, async () => {
  const acc = sink();
  const { s } = await serve({ accessLog: acc });
  try {
    await raw(s.port, get('/a?b=1', 'Referer: http://x/\r\nUser-Agent: t/1 "q"\r\n'), { responses: 1 });
    assert.equal(acc.lines, ['127.0.0.1 - - [01/Dec/2026:21:35:32 +0000] "GET /a?b=1 HTTP/1.1" 200 13 "http://x/" "t/1 \\x22q\\x22"\n']);
  } finally {
    await s.close();
  }
}));

test('escape=default, json and none as nginx\'s (ngx_http_log_escape, ngx_escape_json)', () => {
  assert.is(escapeDefault('a"b\\c\x01\x7f\xe9~'), 'a\\x22b\\x5Cc\\x01\\x7F\\xE9~');
  assert.is(escapeJson('a"b\\c\n\r\t\b\f\x01\xe9'), 'a\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\xe9');
});

test('logFormat: variables, escape, a variable not found ("-", or nothing with json/none); several logs; if=', timed(10000, async () => {
  const a = sink(), b = sink(), c = sink(), d = sink();
  const { s } = await serve({
    logFormat: {
      plain: '$request_method $uri $arg_x $status $request_length $pipe $connection_requests $msec $time_iso8601',
      js: 'escape=json {"ua":"$http_user_agent","x":"$arg_x"}',
      raw: { escape: 'none', format: ['[$http_user_agent]', '[$arg_x]'] },
    },
    accessLog: [a, { path: b, format: 'plain' }, { path: c, format: 'js' }, { path: d, format: 'raw', if: '$arg_log' }],
  });
  try {
    const q1 = Buffer.from(get('/p?log=1', 'User-Agent: a"\\\xe9\r\n'), 'latin1');
    await raw(s.port, q1, { responses: 1 });
    await raw(s.port, get('/q?log=0&x=1'), { responses: 1 });
    assert.is(a.lines.length, 2, 'combined');
    assert.is(b.lines[0], `GET /p - 200 ${q1.length} . 1 1796160932.250 2026-12-01T21:35:32+00:00\n`, 'plain: $arg_x not found is "-"');
    assert.is(c.lines[0], '{"ua":"a\\"\\\\\xe9","x":""}\n', 'json: escaped, not found is empty');
    assert.is(d.lines.length, 1, 'if=$arg_log: "0" is not logged');
    assert.is(d.lines[0], '[a"\\\xe9][]\n', 'none: as it is');
  } finally {
    await s.close();
  }
}));

test('accessLog per location replaces the inherited ones; off', timed(10000, async () => {
  const top = sink(), loc = sink();
  const { s } = await serve({ accessLog: top, locations: { '/': hi, '/own/': { ...hi, accessLog: loc }, '/quiet/': { ...hi, accessLog: 'off' } } });
  try {
    await raw(s.port, get('/'), { responses: 1 });
    await raw(s.port, get('/own/x'), { responses: 1 });
    await raw(s.port, get('/quiet/x'), { responses: 1 });
    assert.is(top.lines.length, 1);
    assert.is(loc.lines.length, 1);
    assert.match(loc.lines[0], /"GET \/own\/x HTTP\/1.1" 200 /);
  } finally {
    await s.close();
  }
}));

test('an error page is logged with its status and the bytes it sent (a 502 is not 0); $bytes_sent counts the head too', timed(10000, async () => {
  const acc = sink();
  const { s } = await serve({ logFormat: { b: '$status $body_bytes_sent $bytes_sent' }, accessLog: { path: acc, format: 'b' }, locations: { '/': { proxyPass: 'http://127.0.0.1:1' } } });
  try {
    const got = await raw(s.port, get('/'), { responses: 1 });
    const res = got.responses[0];
    assert.is(res.status, 502);
    assert.ok(res.body.length > 100, 'a page');
    assert.is(acc.lines[0], `502 ${res.body.length} ${got.data.length}\n`);
  } finally {
    await s.close();
  }
}));

test('$request_length: head and body as framed (chunked); $pipe: p for a pipelined request', timed(10000, async () => {
  const acc = sink();
  const echo = { content: async (r: Request) => { await r.readBody(); r.say(String(r.body()?.length ?? 0)); } };
  const { s } = await serve({ logFormat: { l: '$request_length $pipe $connection_requests' }, accessLog: { path: acc, format: 'l' }, locations: { '/': echo } });
  try {
    const a = 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
    const b = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    await raw(s.port, a + b, { responses: 2 });
    assert.equal(acc.lines, [`${a.length} . 1\n`, `${b.length} p 2\n`]);
  } finally {
    await s.close();
  }
}));

test('buffer= holds lines until the next does not fit; flush= writes them after that long (ManualClock); close writes the rest', timed(10000, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-acclog-'));
  const path = join(dir, 'a.log');
  const read = () => (existsSync(path) ? readFileSync(path, 'latin1').split('\n').filter(Boolean) : []);
  const { s, clock } = await serve({ logFormat: { u: '$uri' }, accessLog: `${path} u buffer=16 flush=5s` });
  try {
    await raw(s.port, get('/aaaa'), { responses: 1 });
    await raw(s.port, get('/bbbb'), { responses: 1 });
    await s.flushLogs();
    assert.equal(read(), ['/aaaa', '/bbbb'], 'flushLogs writes the buffer');
    await raw(s.port, get('/cccc'), { responses: 1 });
    await raw(s.port, get('/dddd'), { responses: 1 }); // 12 bytes held
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(read(), ['/aaaa', '/bbbb'], 'held');
    await raw(s.port, get('/eeee'), { responses: 1 }); // does not fit: the held two go
    clock.advance(1); // (no timer due)
    await (s as unknown as { logs: { files: Map<string, { flush(): Promise<void> }> } }).logs.files.get(path)!.flush();
    assert.equal(read(), ['/aaaa', '/bbbb', '/cccc', '/dddd'], 'the full buffer was written');
    clock.advance(5000);
    await (s as unknown as { logs: { files: Map<string, { flush(): Promise<void> }> } }).logs.files.get(path)!.flush();
    assert.equal(read(), ['/aaaa', '/bbbb', '/cccc', '/dddd', '/eeee'], 'flush=5s wrote the last');
    await raw(s.port, get('/ffff'), { responses: 1 });
  } finally {
    await s.close();
  }
  assert.equal(read().at(-1), '/ffff', 'close wrote the buffer');
  rmSync(dir, { recursive: true, force: true });
}));

test('r.log() and log(r, ...): ngx.log\'s line in nginx\'s shape, to the location\'s error log, from its level', timed(10000, async () => {
  const err = sink(), locErr = sink();
  const { log } = await import('../../src/index.js');
  const h = { content: (r: Request) => { r.log('error', 'x=', 1, ' ', null); r.log('info', 'dropped'); log(r, 'warn', 'w'); r.say('ok'); } };
  const { s } = await serve({ errorLog: [err, 'warn'], locations: { '/': h, '/l/': { ...h, errorLog: [locErr, 'info'] } } });
  try {
    await raw(s.port, get('/a'), { responses: 1 });
    await raw(s.port, get('/l/b'), { responses: 1 });
    assert.is(err.lines.length, 2, 'error and warn, not info');
    assert.match(err.lines[0], /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[error\] \d+#0: \*r\d+ \[js\] x=1 nil, client: 127\.0\.0\.1, server: , request: "GET \/a HTTP\/1\.1", host: "localhost"\n$/);
    assert.match(err.lines[1], /\[warn\] .*\[js\] w, client/);
    assert.is(locErr.lines.length, 3, 'the location\'s own log, from info');
    assert.throws(() => log({ conf: { errorLog: err } } as never, 'loud' as never), /unknown level/);
  } finally {
    await s.close();
  }
}));

test('config errors as nginx\'s', () => {
  const srv = (o: object) => ({ errorLog: 'off', servers: [{ listen: '127.0.0.1:0', ...o }] }) as SluiceConfig;
  const bad: [SluiceConfig, RegExp][] = [
    [srv({ accessLog: '/tmp/x.log nosuch' }), /unknown log format "nosuch"/],
    [srv({ accessLog: '/tmp/x.log combined flush=1s' }), /no buffer is defined for access_log "\/tmp\/x.log"/],
    [srv({ accessLog: '/tmp/x.log combined buffer=0' }), /invalid buffer size "0"/],
    [srv({ accessLog: '/tmp/x.log combined bogus=1' }), /invalid parameter "bogus=1"/],
    [{ ...srv({}), logFormat: { j: 'escape=xml $uri' } } as SluiceConfig, /unknown log format escaping "xml"/],
    [{ ...srv({}), logFormat: { j: '$nosuchvar' } } as SluiceConfig, /unknown "nosuchvar" variable/],
    [{ ...srv({}), logFormat: { combined: '$uri' } } as SluiceConfig, /duplicate "log_format" name "combined"/],
  ];
  for (const [c, re] of bad) assert.throws(() => resolveConfig(c), re, String(re));
});

test.run();
