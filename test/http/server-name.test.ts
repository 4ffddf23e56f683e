import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveConfig, type ResolvedServer, type ServerConfig } from '../../src/http/conf/config.js';
import { ConfigError } from '../../src/http/conf/size-time.js';
import { VirtualNames, findServer, normalizeHost, parseServerName } from '../../src/http/server-name.js';
import { startServer } from '../../src/index.js';

function servers(list: ServerConfig[]): ResolvedServer[] {
  return resolveConfig({ servers: list }).servers;
}

/** Index of the server chosen for each host. */
function check(list: ServerConfig[], cases: [string | null, number][], label: string): void {
  const s = servers(list);
  for (const [host, want] of cases) {
    assert.is(s.indexOf(findServer(s, host)), want, `${label}: ${JSON.stringify(host)}`);
  }
}

test('the Host header: checked once per connection when it names the server; beside an absolute-form target, still checked', async () => {
  const { listen, raw } = await import('../helpers.js');
  const srv = await listen({ '/': { return: [200, 'host=$host'] } });
  try {
    // keep-alive requests with a ported Host, then another Host on the same connection
    const a = await raw(srv.port, 'GET / HTTP/1.1\r\nHost: A.Test:8080\r\n\r\n'.repeat(3) + 'GET / HTTP/1.1\r\nHost: b.test\r\n\r\n', { responses: 4 });
    assert.equal(a.responses.map((x) => x.body.toString()), ['host=a.test', 'host=a.test', 'host=a.test', 'host=b.test']);
    const bad = await raw(srv.port, 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\nGET / HTTP/1.1\r\nHost: bad..host\r\n\r\n', { responses: 2 });
    assert.equal(bad.responses.map((x) => x.status), [200, 400], 'a bad Host after a good one on the same connection');
    // an absolute-form target's host wins, but the Host header beside it must be valid (nginx: 400)
    const abs = await raw(srv.port, 'GET http://c.test/ HTTP/1.1\r\nHost: a.test:8080\r\n\r\n', { responses: 1 });
    assert.is(abs.responses[0].body.toString(), 'host=c.test');
    const absBad = await raw(srv.port, 'GET http://c.test/ HTTP/1.1\r\nHost: bad..host\r\n\r\n', { responses: 1 });
    assert.is(absBad.responses[0].status, 400);
  } finally {
    await srv.close();
  }
});

test('parseServerName: kinds', () => {
  const cases: [string, string, string, boolean][] = [
    ['example.com', 'exact', 'example.com', false],
    ['Example.COM', 'exact', 'example.com', false],
    ['', 'exact', '', false],
    ['*.example.com', 'head', '.example.com', false],
    ['.example.com', 'head', '.example.com', true],
    ['www.example.*', 'tail', 'www.example.', false],
    ['~^www\\d+\\.example\\.net$', 'regex', '^www\\d+\\.example\\.net$', false],
  ];
  for (const [raw, kind, match, bare] of cases) {
    const n = parseServerName(raw);
    assert.is(n.kind, kind, `kind of ${raw}`);
    assert.is(n.match, match, `match of ${raw}`);
    assert.is(n.bare, bare, `bare of ${raw}`);
  }
  assert.is(parseServerName('~^www\\.example').regex!.flags, '', 'lower-case regex is case-sensitive');
  assert.is(parseServerName('~^WWW\\.example').regex!.flags, 'i', 'an upper-case letter makes it caseless');
});

test('parseServerName: invalid names', () => {
  for (const raw of ['*', '*.', '*x.com', '.', 'www.*.example.com', '*.example.*', 'a..b', 'ex*ample.com',
    '~', '~(', 'a b']) {
    assert.throws(() => parseServerName(raw), (e: Error) => e instanceof ConfigError && e.key === 'serverName',
      `${JSON.stringify(raw)} is rejected`);
  }
});

test('normalizeHost', () => {
  const cases: [string, string][] = [
    ['Example.COM', 'example.com'], ['example.com:8080', 'example.com'], ['example.com.', 'example.com'],
    ['example.com.:80', 'example.com'], ['[::1]:8080', '[::1]'], ['[::1]', '[::1]'], ['', ''],
    ['127.0.0.1:80', '127.0.0.1'],
  ];
  for (const [h, want] of cases) assert.is(normalizeHost(h), want, h);
});

test('order: exact, longest leading wildcard, longest trailing wildcard, regex, default', () => {
  const list: ServerConfig[] = [
    { listen: 80, serverName: 'default.test' },                      // 0
    { listen: 80, serverName: '~^(www\\.)?regex\\.test$' },          // 1
    { listen: 80, serverName: 'www.example.*' },                     // 2
    { listen: 80, serverName: '*.example.com' },                     // 3
    { listen: 80, serverName: 'www.example.com' },                   // 4
    { listen: 80, serverName: '*.b.example.com' },                   // 5
    { listen: 80, serverName: 'www.*' },                             // 6
    { listen: 80, serverName: '~example' },                          // 7
  ];
  check(list, [
    ['www.example.com', 4],          // exact beats both wildcards
    ['a.example.com', 3],            // leading beats trailing
    ['x.b.example.com', 5],          // longest leading
    ['a.x.b.example.com', 5],
    ['b.example.com', 3],
    ['example.com', 7],              // *.example.com does not match the bare domain; regex does
    ['www.example.org', 2],          // longest trailing
    ['www.example', 6],              // www.example.* needs something after the dot
    ['www.other.org', 6],
    ['regex.test', 1], ['www.regex.test', 6],   // trailing wildcard www.* comes before regexes
    ['WWW.EXAMPLE.COM:8080', 4],     // case, port
    ['www.example.com.', 4],         // trailing dot
    ['nothing.test', 0],             // the first server is the default
    [null, 0], ['', 0],
  ], 'order');
});

test('.example.com matches the domain and its subdomains', () => {
  const list: ServerConfig[] = [
    { listen: 80, serverName: 'other' },
    { listen: 80, serverName: '.example.com' },
    { listen: 80, serverName: 'exact.example.com' },
  ];
  check(list, [['example.com', 1], ['a.example.com', 1], ['a.b.example.com', 1], ['exact.example.com', 2],
    ['xexample.com', 0]], 'dot');
});

test('$server_name of a first name \'.example.com\' is example.com (as nginx stores it); matching is unchanged', async () => {
  const s = servers([{ listen: 80, serverName: '.Example.com www.other' }, { listen: 80, serverName: '*.wild.org' }, { listen: 80, serverName: '~^a\\.b$' }]);
  assert.equal(s[0].serverNames, ['example.com', 'www.other']);
  assert.equal(s[0].matchNames, ['.example.com', 'www.other']);
  assert.is(s[1].serverNames[0], '*.wild.org', 'a star name is kept as it is');
  assert.is(s[2].serverNames[0], '~^a\\.b$', 'a regex keeps its ~, as nginx\'s $server_name does');
  check([{ listen: 80, serverName: '.example.com' }, { listen: 80, serverName: 'x' }], [['a.example.com', 0], ['example.com', 0], ['x', 1]], 'still a wildcard');
  const { listen, raw, get } = await import('../helpers.js');
  const srv = await listen({ '/': { return: [200, 'sn=$server_name'] } }, { serverName: '.example.com' });
  try {
    const res = await raw(srv.port, get('/'), { responses: 1 });
    assert.is(res.responses[0].body.toString(), 'sn=example.com');
  } finally {
    await srv.close();
  }
});

test('default_server, the empty name and first-wins conflicts', () => {
  const list: ServerConfig[] = [
    { listen: 80, serverName: 'a.test' },
    { listen: '80 default_server', serverName: 'b.test' },
    { listen: 80, serverName: 'a.test' },                 // conflicting: the first keeps it
    { listen: 80 },                                       // server_name "" by default
  ];
  check(list, [['a.test', 0], ['b.test', 1], ['unknown', 1], [null, 3], ['', 3]], 'default');
  const s = servers(list);
  assert.equal(s[3].serverNames, [''], 'no serverName means [""] as in nginx');
});

test('conflicting server names: nginx\'s warnings, per address, in config order', () => {
  // what nginx 1.22.1 printed for the same servers (nginx -t)
  const c = resolveConfig({ servers: [
    { listen: '127.0.0.1:18990', return: [200, 'noname1'] },
    { listen: '127.0.0.1:18990', return: [200, 'noname2'] },
    { listen: '127.0.0.1:18991', serverName: 'X.com' },
    { listen: '127.0.0.1:18991 default_server', serverName: 'x.com' },
    { listen: '127.0.0.1:18992', serverName: '.y.com' },
    { listen: '127.0.0.1:18992', serverName: '*.y.com y.com' },
    { listen: '127.0.0.1:18993', serverName: 'z.com z.com ~^r$' },
    { listen: '127.0.0.1:18993', serverName: '~^r$ w.*' },
    { listen: '127.0.0.1:18993', serverName: 'w.* localhost' },
    { listen: [18994, '[::1]:18994'], serverName: 'q' },
    { listen: [18994, '[::1]:18994'], serverName: 'q' },
    { listen: 18995, serverName: 'q' }, // another port: no conflict
  ] });
  assert.equal(c.warnings, [
    'conflicting server name "" on 127.0.0.1:18990, ignored',
    'conflicting server name "x.com" on 127.0.0.1:18991, ignored',
    'conflicting server name "*.y.com" on 127.0.0.1:18992, ignored',
    'conflicting server name "y.com" on 127.0.0.1:18992, ignored',
    'conflicting server name "z.com" on 127.0.0.1:18993, ignored',
    'conflicting server name "w.*" on 127.0.0.1:18993, ignored',
    'conflicting server name "q" on 0.0.0.0:18994, ignored',
    'conflicting server name "q" on [::1]:18994, ignored',
  ]);
  const at = (port: number) => c.servers.filter((x) => x.listen.some((l) => l.port === port));
  // the first keeps it, even when the second is the default server (nginx answered "a")
  const p1 = at(18991).sort((a, b) => Number(b.listen[0].defaultServer) - Number(a.listen[0].defaultServer));
  assert.is(findServer(p1, 'x.com', { host: '127.0.0.1', port: 18991 }), c.servers[2]);
  // '.y.com' holds y.com and its subdomains; '*.y.com' and 'y.com' after it are ignored
  assert.is(findServer(at(18992), 'y.com'), c.servers[4]);
  assert.is(findServer(at(18992), 'a.y.com'), c.servers[4]);
  assert.is(findServer(at(18993), 'w.x'), c.servers[7]);
  assert.is(findServer(at(18993), 'localhost'), c.servers[8]);
  // "*.y.com" first: '.y.com' after it is ignored whole (its exact key taken but never found)
  // (nginx 1.22.1 answered these from "zero" and "a")
  const d = resolveConfig({ servers: [{ listen: 80 }, { listen: 80, serverName: '*.y.com' }, { listen: 80, serverName: '.y.com' }, { listen: 80, serverName: 'y.com' }] });
  assert.equal(d.warnings, ['conflicting server name ".y.com" on 0.0.0.0:80, ignored', 'conflicting server name "y.com" on 0.0.0.0:80, ignored']);
  assert.is(findServer(d.servers, 'y.com'), d.servers[0], 'no server has y.com: the default');
  assert.is(findServer(d.servers, 'a.y.com'), d.servers[1]);
});

test('a server logs its config\'s warnings at warn when it starts', async () => {
  const lines: string[] = [];
  const srv = await startServer({
    errorLog: [{ write: (l: string) => { lines.push(l); } }, 'warn'],
    servers: [{ listen: '127.0.0.1:0', serverName: 'dup' }, { listen: '127.0.0.1:0', serverName: 'dup' }],
  } as never);
  try {
    assert.is(lines.length, 1, lines.join(''));
    assert.match(lines[0], /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[warn\] \d+#0: conflicting server name "dup" on 127\.0\.0\.1:0, ignored\n$/);
  } finally {
    await srv.close();
  }
});

test('the default server of the accepting address', () => {
  const list: ServerConfig[] = [
    { listen: [80, 8080], serverName: 'a.test' },
    { listen: [80, '8080 default_server'], serverName: 'b.test' },
  ];
  const s = servers(list);
  assert.is(findServer(s, 'x', { port: 80 }), s[0], 'no default_server on :80 → the first');
  assert.is(findServer(s, 'x', { port: 8080 }), s[1], 'default_server on :8080');
  assert.is(findServer(s, 'x'), s[1], 'without an address any default_server counts');
  assert.is(new VirtualNames(s, { host: '0.0.0.0', port: 8080 }).defaultServer, s[1], 'host and port');
  assert.is(new VirtualNames(s, { host: '127.0.0.1', port: 8080 }).defaultServer, s[0], 'other host');
});

test('regex names: first match in order, not tried without a Host', () => {
  const list: ServerConfig[] = [
    { listen: 80, serverName: 'd.test' },
    { listen: 80, serverName: ['~^api\\.', '~^a'] },
    { listen: 80, serverName: '~^.*$' },
  ];
  check(list, [['api.test', 1], ['abc', 1], ['zzz', 2], [null, 0]], 'regex');
});

test('findServer caches one index per array', () => {
  const s = servers([{ listen: 80, serverName: 'a' }, { listen: 80, serverName: 'b' }]);
  assert.is(findServer(s, 'b'), s[1], 'first call');
  assert.is(findServer(s, 'b'), s[1], 'cached');
  assert.throws(() => findServer([], 'a'), /no servers/, 'empty list is a programmer error');
});

test.run();
