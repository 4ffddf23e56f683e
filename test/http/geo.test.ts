// The geo module: longest prefix, IPv6, ranges (nginx's overlap rules), a source variable, proxy.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveConfig } from '../../src/http/conf/config.js';
import type { Request } from '../../src/http/request.js';
import type { Geo } from '../../src/http/modules/geo.js';
import { listen, raw, timed } from '../helpers.js';

function geos(geo: unknown): readonly Geo[] {
  return resolveConfig({ geo, servers: [{ listen: 80 }] } as never).http.geo as readonly Geo[];
}

/** The value for a client address (a fake request: only what value() reads). */
function lookup(g: Geo, addr: string, headers: Record<string, string[]> = {}): string {
  const r = { main: { remoteAddr: addr }, headersIn: { getAll: (n: string) => headers[n] ?? [] } };
  return g.value(r as unknown as Request);
}

test('geo: longest prefix wins, IPv6 apart, v4-mapped as IPv4, default', () => {
  const [g] = geos({ '$g': { default: 'def', '10.0.0.0/8': 'a', '10.1.0.0/16': 'b', '10.1.2.3': 'c', '2001:db8::/32': 'v6', '::/0': 'any6' } });
  assert.is(g.name, 'g');
  const cases: [string, string][] = [['10.9.9.9', 'a'], ['10.1.9.9', 'b'], ['10.1.2.3', 'c'], ['11.0.0.1', 'def'],
    ['2001:db8::1', 'v6'], ['2001:db9::1', 'any6'], ['::ffff:10.1.2.3', 'c'], ['junk', 'def']];
  for (const [a, want] of cases) assert.is(lookup(g, a), want, a);
  const [empty] = geos({ '$e': { '10.0.0.0/8': 'a' } });
  assert.is(lookup(empty, '1.1.1.1'), '', 'no default: empty');
});

test('geo ranges: inside an earlier range wins, partial overlaps are refused as nginx does', () => {
  const [g] = geos({ '$r': { ranges: true, default: 'd', '10.0.0.0-10.0.255.255': 'big', '10.0.1.0-10.0.1.255': 'small', '10.0.0.0-10.0.0.9': 'head', '10.1.0.0-10.2.255.255': 'two' } });
  const cases: [string, string][] = [['10.0.0.5', 'head'], ['10.0.0.10', 'big'], ['10.0.1.7', 'small'], ['10.0.2.0', 'big'],
    ['10.2.3.4', 'two'], ['10.3.0.0', 'd'], ['2001:db8::1', 'd']];
  for (const [a, want] of cases) assert.is(lookup(g, a), want, a);
  assert.throws(() => geos({ '$r': { ranges: true, '10.0.0.0-10.0.0.255': 'a', '10.0.0.128-10.0.1.5': 'b' } }), /range "10\.0\.0\.128-10\.0\.1\.5" overlaps "10\.0\.0\.0-10\.0\.0\.255"/);
  assert.throws(() => geos({ '$r': { ranges: true, '10.0.0.9-10.0.0.1': 'a' } }), /invalid range "10\.0\.0\.9-10\.0\.0\.1"/);
  assert.throws(() => geos({ '$r': { 'x.0.0.0/8': 'a' } }), /invalid network "x\.0\.0\.0\/8"/);
  assert.throws(() => geos({ 'g': {} }), /invalid geo "g"/);
  assert.throws(() => resolveConfig({ servers: [{ listen: 80, geo: {} }] } as never), /"geo" directive is not allowed here/);
});

test('geo proxy: X-Forwarded-For from trusted proxies, recursive or not', () => {
  const [g, h] = geos({
    '$g': { default: 'd', proxy: '10.0.0.0/8', '1.1.1.1': 'one', '10.0.0.2': 'proxy' },
    '$h': { default: 'd', proxy: ['10.0.0.0/8'], proxy_recursive: true, '1.1.1.1': 'one', '10.0.0.2': 'proxy' },
  });
  const xff = { 'x-forwarded-for': ['1.1.1.1, 10.0.0.2'] };
  assert.is(lookup(g, '10.0.0.1', xff), 'proxy', 'last hop');
  assert.is(lookup(h, '10.0.0.1', xff), 'one', 'recursive');
  assert.is(lookup(g, '8.8.8.8', xff), 'd', 'untrusted client: its own address');
});

test('geo variables in a request: the client (after realip) or another variable', timed(10000, async () => {
  const s = await listen({
    '/': { content: (r: Request) => { r.say(`${r.var.geo} ${r.var.argnet}`); } },
  }, { setRealIpFrom: '127.0.0.1' }, {
    geo: { '$geo': { default: 'far', '127.0.0.0/8': 'local', '10.0.0.0/8': 'lan' }, '$arg_ip $argnet': { default: '-', '192.168.0.0/16': 'home' } },
  });
  try {
    const body = async (q: string, extra = '') => (await raw(s.port, `GET /${q} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`, { responses: 1 })).responses[0].body.toString().trim();
    assert.is(await body(''), 'local -');
    assert.is(await body('?ip=192.168.3.3', 'X-Real-IP: 10.2.2.2\r\n'), 'lan home');
    assert.is(await body('?ip=bad', 'X-Real-IP: 8.8.8.8\r\n'), 'far -');
  } finally {
    await s.close();
  }
}));

test('geo: a name taken by a map is refused; volatile is taken', () => {
  assert.throws(() => resolveConfig({ geo: { '$x': { default: 'a' } }, map: { '$uri $x': { default: 'b' } }, servers: [{ listen: 80 }] } as never), /the duplicate "x" variable/);
  assert.is(geos({ '$v': { volatile: true, default: 'a' } })[0].volatile, true);
});

test.run();
