// The access, auth_basic and realip modules through real requests: allow/deny for several client
// addresses (given by X-Real-IP from 127.0.0.1, the realip way), htpasswd files of each hash
// scheme, satisfy any, and what $remote_addr, the error log and the access log see.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/http/conf/config.js';
import type { Request } from '../../src/http/request.js';
import type { AccessRules } from '../../src/http/modules/access.js';
import { listen, raw, timed, captureLog, stopCapture, errorLines, RawClient } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-access-'));
const htpasswd = join(dir, 'htpasswd');
writeFileSync(htpasswd, [
  '# users of every scheme',
  'plain:{PLAIN}pw-plain',
  'apr:$apr1$abcdefgh$NriZ3KceyQFy368Ufp8U./:a comment',
  'md5:$1$xy12$LD4DDt/KkIIlmku21cdvw0',
  'sha:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=',
  'ssha:{SSHA}E2zIFVnow/nzE+ZgdYqGgyhKMIIBAnNhbHR4',
  'sha256:$5$abc$AJNWwGOtbf2x9W0bN06J1uqFItzCA9LIt80lsFir/09\r',
  'sha512:$6$s4lt$ncAec8wCrCZONE6rm7aBqp/yQCbV4mi/1NKCFWDzHiT0SxLaFku.9Csfl3O8Otmzlfg1GWryMJm6IGolxDqTb1',
  'des:abJnggxhB/yWI',
  'last:{PLAIN}no-newline',
].join('\n'));

const ok = (r: Request) => { r.say('ok ', r.var.remote_addr); };
// a sink with a level is taken at run time; the config's type only spells [path, level]
const info = [errorLines, 'info'] as unknown as readonly [string, 'info'];

function basic(user: string, pw: string): string {
  return `Authorization: Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}\r\n`;
}

/** One request per line of `extra`, on one connection; the statuses. */
async function statuses(port: number, path: string, extras: string[]): Promise<number[]> {
  const c = await RawClient.open(port);
  try {
    const out: number[] = [];
    for (const e of extras) {
      const [res] = await c.exchange(`GET ${path} HTTP/1.1\r\nHost: x\r\n${e}\r\n`);
      out.push(res.status);
    }
    return out;
  } finally {
    c.close();
  }
}

const ip = (a: string) => `X-Real-IP: ${a}\r\n`;

test('accessRules: the first matching rule decides, per family, in the order written', timed(10000, async () => {
  const s = await listen({ '/': { content: ok } }, {
    setRealIpFrom: '127.0.0.1',
    accessRules: ['allow 10.0.0.1', 'deny 10.0.0.0/8', ['allow', '2001:db8::/32'], 'allow 192.168.0.0/16', 'deny all'],
  });
  try {
    const got = await statuses(s.port, '/', ['10.0.0.1', '10.0.0.2', '10.255.0.1', '2001:db8::5', '2001:db9::1', '192.168.4.4', '8.8.8.8', '::ffff:10.0.0.1', '::1'].map(ip));
    assert.equal(got, [200, 403, 403, 200, 403, 200, 403, 200, 403]);
  } finally {
    await s.close();
  }
}));

test('accessRules: no rule for the family, or no match, lets the request in; a block\'s list replaces the inherited one', timed(10000, async () => {
  const s = await listen({
    '/': { content: ok },
    '/own/': { content: ok, accessRules: ['deny 10.0.0.0/8'] },
  }, { setRealIpFrom: '127.0.0.1', accessRules: ['deny 192.168.0.0/16'] });
  try {
    assert.equal(await statuses(s.port, '/', ['10.1.1.1', '192.168.1.1', '::1'].map(ip)), [200, 403, 200], 'inherited');
    assert.equal(await statuses(s.port, '/own/', ['10.1.1.1', '192.168.1.1', '::1'].map(ip)), [403, 200, 200], 'replaced');
  } finally {
    await s.close();
  }
}));

test('a refusal is 403 with nginx\'s error page and log line naming the real client', timed(10000, async () => {
  const s = await listen({ '/': { content: ok, accessRules: ['deny all'] } }, { setRealIpFrom: '127.0.0.1' });
  captureLog();
  try {
    const res = await raw(s.port, `GET / HTTP/1.1\r\nHost: x\r\n${ip('10.9.8.7')}\r\n`, { responses: 1 });
    assert.is(res.responses[0].status, 403);
    assert.match(res.responses[0].body.toString(), '<title>403 Forbidden</title>');
    const lines = stopCapture();
    assert.is(lines.length, 1, lines.join(''));
    assert.match(lines[0], /\[error\] \d+#0: \*r\d+ access forbidden by rule, client: 10\.9\.8\.7, server: , request: "GET \/ HTTP\/1\.1", host: "x"/);
  } finally {
    stopCapture();
    await s.close();
  }
}));

test('accessRules: config errors as nginx words them', () => {
  const conf = (rules: unknown) => () => resolveConfig({ servers: [{ listen: 80, accessRules: rules }] });
  assert.throws(conf(['allow 10.0.0.0/33']), /invalid parameter "10\.0\.0\.0\/33" in "accessRules"/);
  assert.throws(conf(['allow example.com']), /invalid parameter "example\.com"/);
  assert.throws(conf(['permit all']), /invalid access rule "permit all"/);
  assert.throws(conf('deny all'), /invalid value "deny all" for "accessRules"/);
  assert.throws(() => resolveConfig({ servers: [{ listen: 80, satisfy: 'some' }] }), /invalid value "some" for "satisfy"/);
  // bits below the mask are cleared, as nginx does (it warns)
  const c = resolveConfig({ servers: [{ listen: 80, accessRules: ['allow 10.1.2.3/8', 'deny unix:'] }] });
  assert.is((c.servers[0].conf.accessRules as AccessRules).v4[0].cidr.a3, 0x0a000000);
});

test('authBasic: every supported scheme, unknown users, wrong passwords, and the log lines', timed(20000, async () => {
  const s = await listen({ '/': { content: ok } }, { authBasic: 'Zone $host', authBasicUserFile: htpasswd, errorLog: info });
  captureLog();
  try {
    const good = [basic('plain', 'pw-plain'), basic('apr', 'pass word'), basic('md5', 'pass word'), basic('sha', 'secret'),
      basic('ssha', 'secret'), basic('sha256', 'pass word'), basic('sha512', 'pass word'), basic('last', 'no-newline')];
    assert.equal(await statuses(s.port, '/', good), good.map(() => 200), 'each scheme');
    stopCapture();
    captureLog();
    const res = await raw(s.port, 'GET / HTTP/1.1\r\nHost: h1\r\n\r\n', { responses: 1 });
    assert.is(res.responses[0].status, 401);
    assert.is(res.responses[0].headers['www-authenticate'], 'Basic realm="Zone h1"', 'realm with its variable');
    assert.match(res.responses[0].body.toString(), '<title>401 Authorization Required</title>');
    assert.equal(await statuses(s.port, '/', [basic('apr', 'wrong'), basic('nobody', 'x'), basic('#plain', 'x'), 'Authorization: Bearer x\r\n', 'Authorization: Basic !!!\r\n', basic('', 'x')]),
      [401, 401, 401, 401, 401, 401]);
    assert.equal(await statuses(s.port, '/', [basic('des', 'x')]), [500], 'a crypt() scheme we cannot make');
    const lines = stopCapture();
    const msgs = lines.map((l) => /\*r\d+ (.*?), client:/.exec(l)?.[1]);
    assert.equal(msgs, [
      'no user/password was provided for basic authentication',
      'user "apr": password mismatch',
      `user "nobody" was not found in "${htpasswd}"`,
      `user "#plain" was not found in "${htpasswd}"`,
      'no user/password was provided for basic authentication',
      'no user/password was provided for basic authentication',
      'no user/password was provided for basic authentication',
      `crypt() failed: the password hash of user "des" in "${htpasswd}" is of a scheme sluice does not support`,
    ]);
    assert.match(lines[0], '[info]');
    assert.match(lines[1], '[error]');
  } finally {
    stopCapture();
    await s.close();
  }
}));

test('authBasic: off in a location, a missing file is 403, the file is read again when it changes', timed(20000, async () => {
  const file = join(dir, 'changing');
  writeFileSync(file, 'u:{PLAIN}one\n');
  const s = await listen({
    '/': { content: ok },
    '/open/': { content: ok, authBasic: 'off' },
    '/missing/': { content: ok, authBasicUserFile: join(dir, 'nope') },
  }, { authBasic: 'r', authBasicUserFile: file });
  captureLog();
  try {
    assert.equal(await statuses(s.port, '/open/', ['']), [200], 'off');
    assert.equal(await statuses(s.port, '/', [basic('u', 'one'), basic('u', 'two')]), [200, 401]);
    writeFileSync(file, 'u:{PLAIN}two\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5000)); // a new mtime whatever the clock's grain
    assert.equal(await statuses(s.port, '/', [basic('u', 'one'), basic('u', 'two')]), [401, 200], 're-read');
    stopCapture();
    captureLog();
    assert.equal(await statuses(s.port, '/missing/', [basic('u', 'one')]), [403]);
    const lines = stopCapture();
    assert.match(lines[0], `[error]`);
    assert.match(lines[0], `open() "${join(dir, 'nope')}" failed (2: No such file or directory)`);
  } finally {
    stopCapture();
    await s.close();
  }
}));

test('satisfy any: an allow rule or good credentials let the request in; 401 wins over 403', timed(20000, async () => {
  const s = await listen({
    '/': { content: ok },
    '/rules-only/': { content: ok, authBasic: 'off' },
  }, {
    setRealIpFrom: '127.0.0.1', satisfy: 'any', accessRules: ['allow 10.0.0.0/8', 'deny all'],
    authBasic: 'R', authBasicUserFile: htpasswd,
  });
  captureLog();
  try {
    const c = await RawClient.open(s.port);
    try {
      const [allowed] = await c.exchange(`GET / HTTP/1.1\r\nHost: x\r\n${ip('10.1.1.1')}\r\n`);
      assert.is(allowed.status, 200, 'allowed by address, no credentials asked');
      assert.is(allowed.headers['www-authenticate'], undefined);
      const [cred] = await c.exchange(`GET / HTTP/1.1\r\nHost: x\r\n${ip('8.8.8.8')}${basic('plain', 'pw-plain')}\r\n`);
      assert.is(cred.status, 200, 'denied address, good credentials');
      const [none] = await c.exchange(`GET / HTTP/1.1\r\nHost: x\r\n${ip('8.8.8.8')}\r\n`);
      assert.is(none.status, 401, 'denied address, no credentials: 401');
      assert.is(none.headers['www-authenticate'], 'Basic realm="R"');
      const [rulesOnly] = await c.exchange(`GET /rules-only/ HTTP/1.1\r\nHost: x\r\n${ip('8.8.8.8')}\r\n`);
      assert.is(rulesOnly.status, 403, 'only the rules speak: 403');
    } finally {
      c.close();
    }
    const lines = stopCapture();
    // the refusal is logged once the access checks are over (post access), not by the rule
    assert.is(lines.filter((l) => l.includes('access forbidden by rule')).length, 1, lines.join(''));
  } finally {
    stopCapture();
    await s.close();
  }
}));

test('satisfy all: a denied address gets 403 before any credentials are asked', timed(10000, async () => {
  const s = await listen({ '/': { content: ok } }, {
    setRealIpFrom: '127.0.0.1', accessRules: ['deny 10.0.0.0/8'], authBasic: 'R', authBasicUserFile: htpasswd,
  });
  try {
    assert.equal(await statuses(s.port, '/', [ip('10.0.0.1'), ip('10.0.0.1') + basic('plain', 'pw-plain'), ip('11.0.0.1'), ip('11.0.0.1') + basic('plain', 'pw-plain')]),
      [403, 403, 401, 200]);
  } finally {
    await s.close();
  }
}));

test('realip: $remote_addr, $remote_port, $realip_remote_addr; untrusted sources are ignored', timed(20000, async () => {
  const show = (r: Request) => { r.say([r.var.remote_addr, r.var.remote_port, r.var.realip_remote_addr, r.var.realip_remote_port === r.var.remote_port].join(' ')); };
  const access: string[] = [];
  const s = await listen({
    '/': { content: show },
    '/xff/': { content: show, realIpHeader: 'X-Forwarded-For' },
    '/xffr/': { content: show, realIpHeader: 'X-Forwarded-For', realIpRecursive: true },
    '/custom/': { content: show, realIpHeader: 'CF-Connecting-IP' },
    '/untrusted/': { content: show, setRealIpFrom: ['10.0.0.0/8', '::1'], realIpHeader: 'X-Client' },
  }, { setRealIpFrom: ['127.0.0.0/8', '192.168.0.0/16'], accessLog: { write: (l: string) => access.push(l) } });
  const body = async (path: string, extra: string) => {
    const res = await raw(s.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`, { responses: 1 });
    return res.responses[0].body.toString().trim();
  };
  try {
    const plain = (await body('/', '')).split(' ');
    assert.is(plain[0], '127.0.0.1', 'no header');
    assert.is(plain[2], '127.0.0.1');
    assert.ok(Number(plain[1]) > 0);
    assert.is(await body('/', 'X-Real-IP: 1.2.3.4\r\n'), '1.2.3.4  127.0.0.1 false', 'X-Real-IP without a port: $remote_port is empty');
    assert.is((await body('/', 'X-Real-IP: 1.2.3.4:5678\r\n')).split(' ').slice(0, 2).join(' '), '1.2.3.4 5678', 'with a port');
    assert.is((await body('/', 'X-Real-IP: [2001:db8::1]:80\r\n')).split(' ')[0], '2001:db8::1');
    assert.is((await body('/', 'X-Real-IP: junk\r\n')).split(' ')[0], '127.0.0.1', 'not an address: unchanged');
    assert.is((await body('/xff/', 'X-Forwarded-For: 5.5.5.5, 192.168.1.1\r\n')).split(' ')[0], '192.168.1.1', 'the last hop only');
    assert.is((await body('/xffr/', 'X-Forwarded-For: 5.5.5.5, 192.168.1.1\r\n')).split(' ')[0], '5.5.5.5', 'recursive: past trusted hops');
    assert.is((await body('/xffr/', 'X-Forwarded-For: 6.6.6.6, 5.5.5.5\r\nX-Forwarded-For: 192.168.1.1,192.168.2.2\r\n')).split(' ')[0], '5.5.5.5', 'recursive over two headers');
    assert.is((await body('/xffr/', 'X-Forwarded-For: 192.168.1.1, 192.168.2.2\r\n')).split(' ')[0], '192.168.1.1', 'all trusted: the first');
    assert.is((await body('/custom/', 'CF-Connecting-IP: 9.9.9.9\r\n')).split(' ')[0], '9.9.9.9', 'any header');
    // the server's config (X-Real-IP) ran first, as nginx's post-read handler does: the location's is not asked
    assert.is((await body('/custom/', 'CF-Connecting-IP: 9.9.9.9\r\nX-Real-IP: 1.1.1.1\r\n')).split(' ')[0], '1.1.1.1', 'server config first');
    assert.is((await body('/untrusted/', 'X-Client: 1.2.3.4\r\n')).split(' ')[0], '127.0.0.1', 'the location\'s list does not trust 127.0.0.1');
    assert.ok(access.some((l) => l.startsWith('9.9.9.9 - - [')), 'the access log sees the real client');
  } finally {
    await s.close();
  }
}));

test('realip: the server\'s config runs before a server-level return; config errors', timed(10000, async () => {
  const s = await listen({}, { setRealIpFrom: '127.0.0.1', return: [200, '$remote_addr $realip_remote_addr'] });
  try {
    const res = await raw(s.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Real-IP: ::ffff:1.2.3.4\r\n\r\n', { responses: 1 });
    assert.is(res.responses[0].body.toString(), '::ffff:1.2.3.4 127.0.0.1');
  } finally {
    await s.close();
  }
  const conf = (d: Record<string, unknown>) => () => resolveConfig({ servers: [{ listen: 80, ...d }] });
  assert.throws(conf({ realIpHeader: 'proxy_protocol' }), /proxy_protocol is not supported/);
  assert.throws(conf({ setRealIpFrom: 'proxy.example.com' }), /invalid address or network "proxy\.example\.com" in "setRealIpFrom"/);
  assert.throws(conf({ realIpHeader: 'Bad Header' }), /invalid value "Bad Header" for "realIpHeader"/);
}));

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
