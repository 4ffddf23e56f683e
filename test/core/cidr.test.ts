import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isIP } from 'node:net';
import { AF_INET, AF_INET6, UNIX_CIDR, cidrMatch, formatIp, parseAddrPort, parseCidr, parseInet4, parseIp } from '../../src/core/cidr.js';

function cidr(s: string) {
  const c = parseCidr(s);
  if (c === null) throw new Error(`parseCidr(${s}) failed`);
  return c.cidr;
}

function ip(s: string) {
  const a = parseIp(s);
  if (a === null) throw new Error(`parseIp(${s}) failed`);
  return a;
}

test('parseInet4: as ngx_inet_addr', () => {
  assert.is(parseInet4('1.2.3.4'), 0x01020304, 'plain');
  assert.is(parseInet4('255.255.255.255'), 0xffffffff, 'all ones, unsigned');
  assert.is(parseInet4('01.2.3.4'), 0x01020304, 'leading zero is decimal');
  assert.is(parseInet4('1..3.4'), 0x01000304, 'an empty part reads as 0 (nginx does the same)');
  for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.a', '', '1.2.3.4 ', '-1.2.3.4']) {
    assert.is(parseInet4(bad), -1, `refused: ${JSON.stringify(bad)}`);
  }
});

test('parseIp: IPv6 forms', () => {
  const cases: [string, [number, number, number, number]][] = [
    ['::', [0, 0, 0, 0]],
    ['::1', [0, 0, 0, 1]],
    ['1::', [0x00010000, 0, 0, 0]],
    ['2001:db8::1', [0x20010db8, 0, 0, 1]],
    ['2001:DB8:0:0:0:0:0:1', [0x20010db8, 0, 0, 1]],
    ['::ffff:1.2.3.4', [0, 0, 0xffff, 0x01020304]],
    ['1:2:3:4:5:6:7:8', [0x00010002, 0x00030004, 0x00050006, 0x00070008]],
    ['fe80::1:2', [0xfe800000, 0, 0, 0x00010002]],
    ['1:2:3:4:5:6:1.2.3.4', [0x00010002, 0x00030004, 0x00050006, 0x01020304]],
  ];
  for (const [s, w] of cases) {
    const a = ip(s);
    assert.is(a.family, AF_INET6, s);
    assert.equal([a.w0, a.w1, a.w2, a.w3], w, s);
  }
  for (const bad of [':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::', '1:2:3:4:5:6:7', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', '1:', '[::1]']) {
    assert.is(parseIp(bad), null, `refused: ${bad}`);
  }
  assert.is(ip('10.1.2.3').family, AF_INET, 'IPv4');
});

test('parseIp agrees with node:net isIP on a sweep of forms', () => {
  const parts = ['', '0', '1', 'ffff', '12345', '1.2.3.4', 'g'];
  let n = 0;
  for (const a of parts) for (const b of parts) for (const c of parts) {
    for (const s of [`${a}:${b}:${c}`, `${a}::${b}:${c}`, `::${a}:${b}`, `${a}:${b}::`, `1:2:3:4:5:${a}:${b}:${c}`]) {
      const ours = parseIp(s) !== null;
      assert.is(ours, isIP(s) !== 0, `${s}: ours ${ours}, node ${isIP(s)}`);
      n++;
    }
  }
  assert.ok(n > 1000);
});

test('formatIp: as ngx_inet6_ntop writes addresses', () => {
  const cases: [string, string][] = [
    ['1.2.3.4', '1.2.3.4'],
    ['::1', '::1'],
    ['::', '::'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:0102:0304', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['1::', '1::'],
    ['fe80::', 'fe80::'],
  ];
  for (const [s, want] of cases) assert.is(formatIp(ip(s)), want, s);
});

test('parseCidr: masks, low bits, limits', () => {
  const c = parseCidr('10.1.2.3/8')!;
  assert.ok(c.lowBits, 'host bits set');
  assert.is(c.cidr.a3, 0x0a000000, 'masked');
  assert.is(parseCidr('10.0.0.0/8')!.lowBits, false, 'clean');
  assert.is(parseCidr('0.0.0.0/0')!.cidr.m3, 0, '/0');
  assert.is(parseCidr('1.2.3.4')!.cidr.m3, 0xffffffff, 'a host is /32');
  assert.is(parseCidr('1.2.3.4/33'), null, '/33');
  assert.is(parseCidr('::/129'), null, '/129');
  assert.is(parseCidr('1.2.3.4/'), null, 'no bits');
  assert.is(parseCidr('1.2.3.4/x'), null, 'bad bits');
  assert.is(parseCidr('all'), null, 'not an address');
  const v6 = parseCidr('2001:db8::/33')!.cidr;
  assert.equal([v6.m0, v6.m1, v6.m2, v6.m3], [0xffffffff, 0x80000000, 0, 0], '/33 masks');
  assert.is(parseCidr('2001:db8:8000::/33')!.lowBits, false);
  assert.is(parseCidr('2001:db8:4000::/33')!.lowBits, true);
});

test('match: IPv4, IPv6, mapped, unix', () => {
  assert.ok(cidr('10.0.0.0/8').match(ip('10.200.1.1')));
  assert.not.ok(cidr('10.0.0.0/8').match(ip('11.0.0.1')));
  assert.ok(cidr('0.0.0.0/0').match(ip('255.255.255.255')), '/0 takes everything IPv4');
  assert.not.ok(cidr('0.0.0.0/0').match(ip('::1')), '... but no IPv6');
  assert.ok(cidr('128.0.0.0/1').match(ip('200.0.0.1')), 'sign bit');
  assert.ok(cidr('2001:db8::/32').match(ip('2001:db8:ffff::1')));
  assert.not.ok(cidr('2001:db8::/32').match(ip('2001:db9::1')));
  assert.ok(cidr('::1').match(ip('::1')));
  // nginx matches a v4-mapped address against IPv4 blocks, never IPv6 ones
  assert.ok(cidr('127.0.0.0/8').match(ip('::ffff:127.0.0.1')), 'mapped against IPv4');
  assert.not.ok(cidr('::ffff:0:0/96').match(ip('::ffff:127.0.0.1')), 'mapped is not IPv6');
  assert.not.ok(UNIX_CIDR.match(ip('127.0.0.1')), 'unix: never a TCP client');
  assert.ok(cidrMatch(ip('192.168.1.1'), [cidr('10.0.0.0/8'), cidr('192.168.0.0/16')]), 'list');
  assert.not.ok(cidrMatch(ip('192.169.1.1'), [cidr('10.0.0.0/8'), cidr('192.168.0.0/16')]), 'list');
});

test('parseAddrPort: as ngx_parse_addr_port', () => {
  assert.is(parseAddrPort('1.2.3.4')!.port, 0);
  assert.is(parseAddrPort('1.2.3.4:8080')!.port, 8080);
  assert.is(formatIp(parseAddrPort('[2001:db8::1]:443')!), '2001:db8::1');
  assert.is(parseAddrPort('[2001:db8::1]:443')!.port, 443);
  assert.is(parseAddrPort('[::1]')!.port, 0);
  assert.is(parseAddrPort('::1')!.family, AF_INET6);
  for (const bad of ['1.2.3.4:0', '1.2.3.4:65536', '1.2.3.4:', '[::1]x', '[::1', 'unknown', '', '1.2.3.4:80:1']) {
    assert.is(parseAddrPort(bad), null, `refused: ${bad}`);
  }
});

test.run();
