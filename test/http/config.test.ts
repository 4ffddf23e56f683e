import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ConfigError, Directives, ResolvedConfig, defineConfig, resolveConfig, type SluiceConfig,
} from '../../src/http/conf/config.js';
import { DirectiveTable } from '../../src/http/conf/directives.js';
import { MODULES } from '../../src/modules.js';

/** The ConfigError message resolveConfig throws for a config. */
function errorOf(raw: unknown): string {
  try {
    resolveConfig(raw);
  } catch (e) {
    assert.instance(e, ConfigError, 'a ConfigError');
    assert.is((e as ConfigError).code, 'ERR_SLUICE_CONFIG', 'code');
    return (e as Error).message;
  }
  assert.unreachable(`should throw: ${JSON.stringify(raw)}`);
  return '';
}

const srv = (extra: Record<string, unknown> = {}) => ({ listen: 8080, ...extra });
const one = (server: Record<string, unknown>, top: Record<string, unknown> = {}) => ({ ...top, servers: [server] });

test('defaults, as nginx has them', () => {
  const c = resolveConfig({ servers: [{ listen: 80 }] });
  assert.instance(c, ResolvedConfig, 'ResolvedConfig');
  const d = c.http;
  const want: [keyof Directives, unknown][] = [
    ['clientMaxBodySize', 1024 * 1024], ['clientBodyTimeout', 60000], ['clientHeaderTimeout', 60000],
    ['keepaliveTimeout', 75000], ['keepaliveRequests', 1000], ['sendTimeout', 60000], ['root', 'html'],
    ['alias', null], ['defaultType', 'text/plain'], ['internal', false], ['return', null],
    ['rewrite', null], ['access', null], ['content', null], ['serverTokens', false],
    ['chunkedTransferEncoding', true], ['subrequestDepth', 50], 
    ['filterTrace', false], ['tcpNodelay', true],
  ];
  for (const [k, v] of want) assert.is(d[k], v, `default ${k}`);
  assert.is(d.errorLog.path, 'stderr', 'default errorLog');
  assert.is(d.accessLog.path, null, 'default accessLog: off');
  assert.equal(d.largeClientHeaderBuffers, { number: 4, size: 8192 }, 'default largeClientHeaderBuffers');
  assert.equal(d.index.map((c) => c.source), ['index.html'], 'default index');
  assert.is(d.types.get('html'), 'text/html', 'default types: html');
  assert.is(d.types.get('js'), 'application/javascript', 'default types: js');
  assert.is(d.types.get('wasm'), 'application/wasm', 'default types: wasm');
  assert.is(d.types.get('woff2'), 'font/woff2', 'default types: woff2');
  assert.is(c.upstreams.size, 0, 'upstreams default');
});

test('every Directives has one field per table row, in table order', () => {
  const table = new DirectiveTable(MODULES);
  const names = table.list.map((d) => d.name);
  assert.equal(Object.keys(new Directives(table, null)), names, 'fields of a fresh Directives');
  const c = resolveConfig({ clientMaxBodySize: 5, servers: [{ listen: 80, locations: { '/': { root: '/x' } } }] });
  assert.equal(Object.keys(c.http), names, 'http');
  assert.equal(Object.keys(c.servers[0].conf), names, 'server');
  assert.equal(Object.keys(c.servers[0].locations.find('/')!.conf), names, 'location');
});

test('merge: an inner value wins, otherwise inherited, otherwise the default', () => {
  const c = resolveConfig({
    clientMaxBodySize: '10m', keepaliveTimeout: '30s', sendTimeout: 5,
    servers: [
      srv({ clientMaxBodySize: '2m', locations: { '/': {}, '/upload': { clientMaxBodySize: 0 }, '/k': { keepaliveTimeout: '1s' } } }),
      srv({ listen: 8081, locations: { '/': {} } }),
    ],
  });
  const [s0, s1] = c.servers;
  assert.is(c.http.clientMaxBodySize, 10 * 1024 * 1024, 'http sets');
  assert.is(s0.conf.clientMaxBodySize, 2 * 1024 * 1024, 'server overrides');
  assert.is(s0.locations.find('/')!.conf.clientMaxBodySize, 2 * 1024 * 1024, 'location inherits server');
  assert.is(s0.locations.find('/upload/x')!.conf.clientMaxBodySize, 0, 'location overrides (0 = no limit)');
  assert.is(s1.conf.clientMaxBodySize, 10 * 1024 * 1024, 'other server inherits http');
  assert.is(s0.locations.find('/k')!.conf.keepaliveTimeout, 1000, 'location keepaliveTimeout');
  assert.is(s0.locations.find('/')!.conf.keepaliveTimeout, 30000, 'inherited keepaliveTimeout');
  assert.is(s1.locations.find('/')!.conf.sendTimeout, 5000, 'plain number = seconds');
  assert.is(s1.locations.find('/')!.conf.clientBodyTimeout, 60000, 'default at the end');
});

test('undefined means not set', () => {
  const c = resolveConfig({ root: undefined, servers: [srv({ root: '/srv', locations: { '/': { root: undefined } } })] });
  assert.is(c.http.root, 'html', 'http default');
  assert.is(c.servers[0].locations.find('/')!.conf.root, '/srv', 'inherited, not reset');
});

test('types replace the inherited map (nginx types {}), extensions lower-cased', () => {
  const c = resolveConfig(one(srv({
    types: { 'text/x-custom': ['CUS', 'tom'] },
    locations: { '/': {}, '/b': { types: { 'a/b': 'x y' } } },
  })));
  const s = c.servers[0];
  assert.is(s.conf.types.get('cus'), 'text/x-custom', 'lower-cased');
  assert.is(s.conf.types.get('html'), undefined, 'defaults are gone once a block sets types');
  assert.is(s.locations.find('/')!.conf.types, s.conf.types, 'inherited as is');
  assert.equal([...s.locations.find('/b')!.conf.types], [['x', 'a/b'], ['y', 'a/b']], 'string of extensions');
  const d = resolveConfig(one(srv({ types: { 'a/a': ['x'], 'b/b': ['x'] } })));
  assert.is(d.servers[0].conf.types.get('x'), 'b/b', 'a duplicate extension keeps the later type');
});

test('index, largeClientHeaderBuffers, logs', () => {
  const c = resolveConfig({
    index: 'index.htm index.html', largeClientHeaderBuffers: [8, '16k'], errorLog: 'off', accessLog: true,
    servers: [srv({ largeClientHeaderBuffers: '2 1024', errorLog: '/var/log/e.log', accessLog: 'off',
      locations: { '/': { index: ['a.html', '/fallback.html'], accessLog: '/tmp/a.log', errorLog: true } } })],
  });
  assert.equal(c.http.index.map((x) => x.source), ['index.htm', 'index.html'], 'index from a string');
  assert.equal(c.http.largeClientHeaderBuffers, { number: 8, size: 16384 }, 'buffers from an array');
  assert.equal(c.servers[0].conf.largeClientHeaderBuffers, { number: 2, size: 1024 }, 'buffers from a string');
  assert.is(c.http.errorLog.path, null, "errorLog 'off'");
  assert.is(c.http.accessLog.path, 'stdout', 'accessLog true');
  assert.is(c.servers[0].conf.errorLog.path, '/var/log/e.log', 'errorLog path');
  assert.is(c.servers[0].conf.accessLog.path, null, "accessLog 'off'");
  const l = c.servers[0].locations.find('/')!.conf;
  assert.equal(l.index.map((x) => x.source), ['a.html', '/fallback.html'], 'absolute last index');
  assert.is(l.accessLog.path, '/tmp/a.log', 'accessLog path');
  assert.is(l.errorLog.path, 'stderr', 'errorLog true');
});

test('return: forms, and it is not inherited', () => {
  const c = resolveConfig(one(srv({
    return: [301, 'https://example.com$request_uri'],
    locations: {
      '/a': { return: [404] }, '/b': { return: [200, 'hello'] }, '/c': { return: 'http://x.test/' },
      '/d': { return: 444 }, '/e': {}, '/f': { return: [302, '/relative'] },
    },
  })));
  const s = c.servers[0];
  const find = (u: string) => s.locations.find(u)!.conf.return;
  assert.equal(s.conf.return, { code: 301, text: 'https://example.com$request_uri' }, 'server level');
  assert.equal(find('/a'), { code: 404, text: null }, '[code]');
  assert.equal(find('/b'), { code: 200, text: 'hello' }, '[code, text]');
  assert.equal(find('/c'), { code: 302, text: 'http://x.test/' }, "'url' is a 302");
  assert.equal(find('/d'), { code: 444, text: null }, 'a bare number');
  assert.is(find('/e'), null, 'the server return is not inherited (it runs in the server rewrite phase)');
  assert.equal(find('/f'), { code: 302, text: '/relative' }, 'relative URL');
});

test('return: bad values', () => {
  const cases: [unknown, RegExp][] = [
    [[1000], /invalid return code 1000 in servers\[0\]$/],
    [[-1], /invalid return code -1/],
    [[301], /"return" with code 301 needs a URL/],
    [[308, ''], /"return" with code 308 needs a URL/],
    [[302, 'http://a\r\nX: y'], /"return" with code 302 needs a URL/],
    ['/no-scheme', /invalid return code "\/no-scheme"/],
    [[200, 5], /invalid value \[200,5\] for "return"/],
    [[200, 'a', 'b'], /invalid value/],
    [['200'], /invalid return code "200"/],
    [true, /invalid value true for "return"/],
    [[2.5], /invalid return code 2.5/],
  ];
  for (const [v, re] of cases) assert.match(errorOf(one(srv({ return: v }))), re, `return ${JSON.stringify(v)}`);
});

test('messages name the directive and the block, as nginx -t does', () => {
  assert.is(errorOf(one(srv({ locations: { '/upload': { clientMaxBodySize: '1x' } } }))),
    'sluice: invalid value "1x" for "clientMaxBodySize" in servers[0].locations["/upload"]', 'invalid value');
  assert.is(errorOf(one(srv({ internal: true }))),
    'sluice: "internal" directive is not allowed here in servers[0]', 'not allowed here');
  assert.is(errorOf(one(srv({ locations: { '/': { clientMaxBodySise: '1m' } } }))),
    'sluice: unknown directive "clientMaxBodySise" (did you mean "clientMaxBodySize"?) in servers[0].locations["/"]', 'unknown directive');
  assert.is(errorOf({ clientMaxBodySise: 1, servers: [srv()] }),
    'sluice: unknown directive "clientMaxBodySise" (did you mean "clientMaxBodySize"?) in config', 'unknown at the top level');
  assert.is(errorOf({ servers: [srv(), srv({ listen: 81, keepaliveTimeout: 'x' })] }),
    'sluice: invalid value "x" for "keepaliveTimeout" in servers[1]', 'second server');
});

test('contexts: each directive only where nginx allows it', () => {
  const cases: [string, unknown, 'http' | 'server' | 'location'][] = [
    ['alias', '/x', 'http'], ['alias', '/x', 'server'], ['internal', true, 'http'],
    ['content', () => {}, 'http'], ['content', () => {}, 'server'], ['return', [404], 'http'],
    ['clientHeaderTimeout', '1s', 'location'], ['largeClientHeaderBuffers', '4 8k', 'location'],
    ['listen', 80, 'location'], ['listen', 80, 'http'], ['serverName', 'a', 'location'],
    ['locations', {}, 'location'], ['servers', [], 'server'], ['upstreams', {}, 'server'],
  ];
  for (const [key, v, where] of cases) {
    const raw = where === 'http' ? { [key]: v, servers: [srv()] }
      : where === 'server' ? one(srv({ [key]: v }))
        : one(srv({ locations: { '/': { [key]: v } } }));
    assert.match(errorOf(raw), `"${key}" directive is not allowed here`, `${key} in ${where}`);
  }
  // and allowed where nginx allows them
  const fn = () => {};
  resolveConfig({
    clientHeaderTimeout: '1s', largeClientHeaderBuffers: '4 8k', rewriteHandler: fn, access: fn,
    servers: [srv({ clientHeaderTimeout: 2, return: [404], rewriteHandler: fn, access: fn,
      locations: { '/': { alias: '/x/', internal: true, content: fn, rewriteHandler: fn, access: fn, return: [200] } } })],
  });
});

test('handlers: rewrite and access inherit, content is per location', () => {
  const rw = () => {}, ac = async () => {}, ct = () => {};
  const c = resolveConfig({ rewriteHandler: rw, servers: [srv({ access: ac, locations: { '/': { content: ct }, '/x': {} } })] });
  const l = c.servers[0].locations.find('/')!.conf;
  assert.is(l.rewriteHandler, rw, 'rewrite from http');
  assert.is(l.access, ac, 'access from server');
  assert.is(l.content, ct, 'content');
  assert.is(c.servers[0].locations.find('/x')!.conf.content, null, 'content not shared');
});

test('wrong types', () => {
  const cases: [string, unknown][] = [
    ['clientMaxBodySize', true], ['clientMaxBodySize', -1], ['clientBodyTimeout', '1.5s'],
    ['keepaliveRequests', -1], ['keepaliveRequests', '1e3'], ['keepaliveRequests', 1.5], ['root', ''],
    ['root', 5], ['index', []], ['index', ['']], ['index', ['/a', 'b']], ['index', [5]], ['defaultType', ''],
    ['defaultType', 'a\nb'], ['types', []], ['types', { 'a/b': [] }], ['types', { 'a/b': ['.x/'] }],
    ['types', { '': ['x'] }], ['serverTokens', 'on'], ['serverTokens', 1], ['rewrite', 'fn'], ['access', {}],
    ['subrequestDepth', -1], ['errorLog', ''], ['errorLog', 5], ['accessLog', null],
    ['largeClientHeaderBuffers', '4'], ['largeClientHeaderBuffers', '0 8k'], ['largeClientHeaderBuffers', '4 0'],
    ['largeClientHeaderBuffers', [4, '8x']], ['largeClientHeaderBuffers', '4 8k 1'], ['tcpNodelay', null],
    ['keepaliveTimeout', '25d'], ['sendTimeout', '1y'],
  ];
  for (const [key, v] of cases) {
    const msg = errorOf({ [key]: v, servers: [srv()] });
    assert.ok(msg.includes(`"${key}"`) && msg.endsWith(' in config'), `${key} = ${JSON.stringify(v)}: ${msg}`);
  }
  assert.match(errorOf({ index: ['/a', 'b'], servers: [srv()] }), 'only the last index in "index" directive should be absolute', 'absolute index');
  assert.match(errorOf({ keepaliveTimeout: '25d', servers: [srv()] }), '(at most 24 days)', 'timer cap');
  assert.is(resolveConfig({ keepaliveTimeout: '24d', servers: [srv()] }).http.keepaliveTimeout, 24 * 86400000, '24d fits');
});

test('root and alias cannot share a location', () => {
  assert.match(errorOf(one(srv({ locations: { '/a/': { root: '/x', alias: '/y/' } } }))),
    '"alias" directive is duplicate, "root" directive was specified earlier in servers[0].locations["/a/"]', 'root+alias');
  const c = resolveConfig(one(srv({ root: '/srv', locations: { '/a/': { alias: '/y/' } } })));
  const l = c.servers[0].locations.find('/a/b')!.conf;
  assert.is(l.alias, '/y/', 'alias');
  assert.is(l.root, '/srv', 'root stays inherited beside alias');
});

test('structure errors', () => {
  const cases: [unknown, string][] = [
    [null, 'sluice: the config must be an object'],
    [[], 'sluice: the config must be an object'],
    [{}, 'sluice: "servers" must be a non-empty array in config'],
    [{ servers: [] }, 'sluice: "servers" must be a non-empty array in config'],
    [{ servers: {} }, 'sluice: "servers" must be a non-empty array in config'],
    [{ servers: [5] }, 'sluice: a server must be an object in servers[0]'],
    [{ servers: [{}] }, 'sluice: "listen" is required in servers[0]'],
    [{ servers: [srv({ locations: [] })] }, 'sluice: invalid value [] for "locations" in servers[0]'],
    [{ servers: [srv({ locations: { '/': 5 } })] }, 'sluice: a location must be an object in servers[0].locations["/"]'],
    [{ upstreams: [], servers: [srv()] }, 'sluice: invalid value [] for "upstreams" in config'],
    [{ servers: [srv({ serverName: 5 })] }, 'sluice: invalid value 5 for "serverName" in servers[0]'],
    [{ servers: [srv({ serverName: [] })] }, 'sluice: invalid value [] for "serverName" in servers[0]'],
    [{ servers: [srv({ serverName: 'www.*.x' })] }, 'sluice: invalid server name or wildcard "www.*.x" in servers[0]'],
    [{ servers: [srv({ locations: { '=~ /a': {} } })] },
      'sluice: invalid location modifier "=~" in location "=~ /a" in servers[0].locations["=~ /a"]'],
    [{ servers: [srv({ locations: { '/a': {}, '^~ /a': {} } })] }, 'sluice: duplicate location "^~ /a" in servers[0]'],
  ];
  for (const [raw, msg] of cases) assert.is(errorOf(raw), msg, JSON.stringify(raw));
  assert.match(errorOf({ servers: [srv({ locations: { '~ (': {} } })] }),
    /^sluice: invalid regex in location "~ \(": .* in servers\[0\]\.locations\["~ \("\]$/, 'bad regex');
});

test('listen forms', () => {
  const cases: [unknown, [string, number, boolean][]][] = [
    [8080, [['0.0.0.0', 8080, false]]],
    ['8080', [['0.0.0.0', 8080, false]]],
    ['127.0.0.1:8080', [['127.0.0.1', 8080, false]]],
    ['127.0.0.1', [['127.0.0.1', 80, false]]],
    ['*:81', [['0.0.0.0', 81, false]]],
    ['[::1]:80', [['::1', 80, false]]],
    ['[::]', [['::', 80, false]]],
    ['8080 default_server', [['0.0.0.0', 8080, true]]],
    ['localhost:3000 default_server', [['localhost', 3000, true]]],
    [0, [['0.0.0.0', 0, false]]],
    [[80, '[::]:80'], [['0.0.0.0', 80, false], ['::', 80, false]]],
  ];
  for (const [listen, want] of cases) {
    const got = resolveConfig({ servers: [{ listen }] }).servers[0].listen.map((l) => [l.host, l.port, l.defaultServer]);
    assert.equal(got, want, `listen ${JSON.stringify(listen)}`);
  }
});

test('listen errors', () => {
  const cases: [unknown, RegExp][] = [
    [65536, /invalid port in "65536"/], [-1, /invalid port/], [1.5, /invalid port/],
    ['8080 sll', /invalid parameter "sll" in "listen"/], ['8080 ssl http2', /"http2" parameter of "listen" is not supported/], ['::1:80', /host not found/],
    ['[::1', /invalid value/], ['[zz]:80', /invalid IPv6 address/], ['a_b:80', /host not found/],
    ['127.0.0.1:x', /invalid value/], [[], /invalid value/], [true, /invalid value/],
    [[80, '0.0.0.0:80'], /a duplicate listen 0.0.0.0:80/],
  ];
  for (const [listen, re] of cases) assert.match(errorOf({ servers: [{ listen }] }), re, `listen ${JSON.stringify(listen)}`);
  assert.is(errorOf({ servers: [{ listen: '80 default_server' }, { listen: '0.0.0.0:80 default_server' }] }),
    'sluice: a duplicate default server for 0.0.0.0:80 in servers[1]', 'two default servers');
  resolveConfig({ servers: [{ listen: '80 default_server' }, { listen: '81 default_server' }] });
});

test('servers: names, locations tree, named locations, upstreams', () => {
  const up = { backend: { servers: ['127.0.0.1:9000'] } };
  const c = resolveConfig({
    upstreams: up,
    servers: [{
      listen: 80, serverName: 'Example.com *.example.com ~^(?<sub>.+)\\.Example\\.net$',
      locations: { '/': {}, '= /exact': {}, '@fallback': { internal: true }, '~* \\.png$': {} },
    }],
  });
  const s = c.servers[0];
  assert.equal(s.serverNames, ['example.com', '*.example.com', '~^(?<sub>.+)\\.Example\\.net$'], 'names');
  assert.is(s.locations.find('/exact')!.key, '= /exact', 'exact');
  assert.is(s.locations.find('/a.PNG')!.kind, 'iregex', 'iregex');
  assert.is(s.named.get('@fallback')!.conf.internal, true, 'named');
  assert.is(s.locations.find('@fallback'), null, 'named not found by find');
  assert.is(s.locations.locations.length, 4, 'all locations kept');
  const g = c.upstreams.get('backend')!;
  assert.is(g.primary.length, 1, 'upstream group resolved');
  assert.is(g.primary[0].name, '127.0.0.1:9000');
  assert.is(g.pool, null, 'no keepalive unless asked');
});

test('defineConfig returns its argument', () => {
  const cfg: SluiceConfig = { servers: [{ listen: 80, locations: { '/': { content: () => {} } } }] };
  assert.is(defineConfig(cfg), cfg, 'identity');
});


test('upstream blocks: every error names its key and its block (was: the path as the key)', () => {
  const err = (upstreams: unknown): ConfigError => {
    try { resolveConfig({ upstreams, servers: [{ listen: 80 }] }); } catch (e) { return e as ConfigError; }
    throw new Error('no error');
  };
  const cases: [unknown, string, string, RegExp][] = [
    [{ api: { servers: ['127.0.0.1:1'], keepalve: 2 } }, 'keepalve', 'upstreams["api"]', /unknown directive "keepalve" in upstreams\["api"\]$/],
    [{ api: { servers: [] } }, 'servers', 'upstreams["api"]', /no servers are inside upstream in upstreams\["api"\]$/],
    [{ api: { servers: [{ address: '127.0.0.1:1', wieght: 2 }] } }, 'wieght', 'upstreams["api"].servers[0]', /invalid parameter "wieght" in upstreams\["api"\]\.servers\[0\]$/],
    [{ api: { servers: [{ address: '127.0.0.1:1', weight: 0 }] } }, 'weight', 'upstreams["api"].servers[0]', /"weight"/],
    [{ api: { servers: ['no port here:x'] } }, 'address', 'upstreams["api"].servers[0]', /invalid address/],
    [{ api: { servers: [{ address: '127.0.0.1:1', failTimeout: 'soon' }] } }, 'failTimeout', 'upstreams["api"].servers[0]', /failTimeout/],
    [{ api: { servers: ['127.0.0.1:1'], keepalive: 0 } }, 'keepalive', 'upstreams["api"]', /"keepalive"/],
    [{ api: { servers: ['127.0.0.1:1'], balance: 'random' } }, 'balance', 'upstreams["api"]', /"balance"/],
  ];
  for (const [u, key, path, re] of cases) {
    const e = err(u);
    assert.is(e.key, key, `key for ${JSON.stringify(u)}`);
    assert.is(e.path, path, `block for ${JSON.stringify(u)}`);
    assert.match(e.message, re);
  }
});

test('the phase engine holds only the handlers of modules the config uses', () => {
  const plain = resolveConfig({ servers: [srv({ locations: { '/': {} } })] });
  const used = resolveConfig({ servers: [srv({ locations: { '/': { accessRules: ['deny all'], limitReq: [] as never, rewrite: '^ /x' } } })], limitReqZone: '$uri zone=z:1m rate=1r/s' } as never);
  assert.ok(used.servers[0].phases.access.length > plain.servers[0].phases.access.length, 'access handlers only when access is used');
  assert.ok(used.servers[0].phases.rewrite.length > plain.servers[0].phases.rewrite.length, 'the rewrite program only when rewrite is used');
  assert.ok(used.servers[0].phases.preaccess.length > plain.servers[0].phases.preaccess.length, 'limit_req only when used');
  assert.is(plain.servers[0].phases.content.length > 0, true, 'static (no directives) always');
});

test.run();
