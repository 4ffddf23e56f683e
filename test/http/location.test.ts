import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DirectiveTable, Directives } from '../../src/http/conf/directives.js';
import { MODULES } from '../../src/modules.js';
import { LocationTree, ResolvedLocation, parseLocationKey } from '../../src/http/location.js';
import { ConfigError } from '../../src/http/conf/size-time.js';

const conf = new Directives(new DirectiveTable(MODULES), null);

function tree(keys: string[]): LocationTree {
  return new LocationTree(keys.map((k) => {
    const p = parseLocationKey(k);
    return new ResolvedLocation(k, p.kind, p.path, p.regex, conf);
  }));
}

function check(keys: string[], cases: [string, string | null][], label: string): void {
  const t = tree(keys);
  for (const [uri, want] of cases) {
    const got = t.find(uri);
    assert.is(got === null ? null : got.key, want, `${label}: ${uri}`);
  }
}

test('parseLocationKey: modifiers, spaced and glued', () => {
  const cases: [string, string, string][] = [
    ['= /x', 'exact', '/x'], ['=/x', 'exact', '/x'], ['=  /x', 'exact', '/x'],
    ['^~ /images/', 'noregex', '/images/'], ['^~/images/', 'noregex', '/images/'],
    ['~ \\.php$', 'regex', '\\.php$'], ['~\\.php$', 'regex', '\\.php$'],
    ['~* \\.(gif|jpg)$', 'iregex', '\\.(gif|jpg)$'], ['~*\\.png$', 'iregex', '\\.png$'],
    ['/', 'prefix', '/'], ['/documents/', 'prefix', '/documents/'], ['@fallback', 'named', '@fallback'],
    ['~ ^/a b$', 'regex', '^/a b$'],
  ];
  for (const [key, kind, path] of cases) {
    const p = parseLocationKey(key);
    assert.is(p.kind, kind, `kind of ${key}`);
    assert.is(p.path, path, `path of ${key}`);
    assert.is(p.regex !== null, kind === 'regex' || kind === 'iregex', `regex of ${key}`);
  }
  assert.is(parseLocationKey('~* \\.PNG$').regex!.flags, 'i', '~* is case-insensitive');
  assert.is(parseLocationKey('~ \\.PNG$').regex!.flags, '', '~ is case-sensitive');
});

test('parseLocationKey: errors', () => {
  for (const key of ['', '=', '~', '~*', '^~', '=~ /a', '~~ /a', '/a b', '@', '~ (', '~* [']) {
    assert.throws(() => parseLocationKey(key), (e: Error) => e instanceof ConfigError && e.key === 'location',
      `"${key}" is rejected`);
  }
  assert.throws(() => parseLocationKey('=~ /a'), /invalid location modifier "=~"/, 'modifier named');
  assert.throws(() => parseLocationKey('~ ('), /invalid regex in location "~ \("/, 'regex named');
});

test('the example from nginx\'s location documentation', () => {
  check(['= /', '/', '/documents/', '^~ /images/', '~* \\.(gif|jpg|jpeg)$'], [
    ['/', '= /'],                                   // A
    ['/index.html', '/'],                           // B
    ['/documents/document.html', '/documents/'],    // C
    ['/images/1.gif', '^~ /images/'],               // D
    ['/documents/1.jpg', '~* \\.(gif|jpg|jpeg)$'],  // E
    ['/documents/1.JPG', '~* \\.(gif|jpg|jpeg)$'],
  ], 'nginx example');
});

test('regexes are tried in the order written; the first match wins', () => {
  check(['/', '~ /a', '~ /a/b', '~* \\.txt$'], [
    ['/a/b', '~ /a'], ['/x/a/b', '~ /a'], ['/b.txt', '~* \\.txt$'], ['/a.txt', '~ /a'], ['/zzz', '/'],
  ], 'order');
  check(['/', '~ /a/b', '~ /a'], [['/a/b', '~ /a/b'], ['/a/c', '~ /a']], 'order reversed');
});

test('~ is case-sensitive, ~* is not', () => {
  check(['/', '~ \\.PHP$', '~* \\.png$'], [
    ['/x.PHP', '~ \\.PHP$'], ['/x.php', '/'], ['/x.PNG', '~* \\.png$'], ['/x.Png', '~* \\.png$'],
  ], 'case');
});

test('^~ on the longest prefix stops the regex search; a shorter ^~ does not', () => {
  const keys = ['^~ /static/', '/static/js/', '~ \\.js$', '/'];
  check(keys, [
    ['/static/a.js', '^~ /static/'],     // longest is ^~: regexes skipped
    ['/static/js/a.js', '~ \\.js$'],      // longest is plain /static/js/: regexes win
    ['/static/js/a.css', '/static/js/'],
    ['/a.js', '~ \\.js$'],
  ], '^~');
});

test('plain prefix: the longest match, regex first if one matches', () => {
  check(['/', '/a', '/a/b', '/a/b/c'], [
    ['/a/b/c/d', '/a/b/c'], ['/a/b/x', '/a/b'], ['/ab', '/a'], ['/a', '/a'], ['/b', '/'],
  ], 'longest');
});

test('exact vs prefix on the same path', () => {
  check(['= /x', '/x', '~ x'], [
    ['/x', '= /x'],      // exact ends the search, regexes too
    ['/xy', '~ x'],      // prefix /x, then the regex
    ['/x/', '~ x'],
  ], 'exact vs prefix');
  check(['= /x', '^~ /x'], [['/x', '= /x'], ['/x/y', '^~ /x']], 'exact vs ^~');
  check(['= /x'], [['/x/', null], ['/', null]], 'exact is not a prefix');
});

test('no match when there is no / location', () => {
  check(['/a/', '= /b', '~ \\.c$'], [
    ['/', null], ['/b/', null], ['/x', null], ['/a', null], ['/a/', '/a/'], ['/x.c', '~ \\.c$'],
  ], 'no /');
  check([], [['/', null]], 'empty');
});

test('named locations are not matched by find', () => {
  check(['@x', '/'], [['@x', null], ['/@x', '/']], 'named');
  check(['@x'], [['@x', null]], 'named only');
});

test('duplicates are ConfigErrors', () => {
  const dups: string[][] = [
    ['/a', '/a '], ['/a', '^~ /a'], ['= /a', '=/a'], ['~ x', '~  x'], ['@n', ' @n'],
  ];
  for (const keys of dups) {
    assert.throws(() => tree(keys), (e: Error) => e instanceof ConfigError && /duplicate location/.test(e.message),
      `duplicate ${JSON.stringify(keys)}`);
  }
  // allowed together
  tree(['= /a', '/a']);
  tree(['~ x', '~* x']);
});

test('prefix tree: shared and nested prefixes, edges split in any insertion order', () => {
  const keys = ['/ab', '/abc', '/a', '/abd/', '/b', 'x', '/abcdef', '/abd/e'];
  const want: [string, string | null][] = [
    ['/a', '/a'], ['/ab', '/ab'], ['/abc', '/abc'], ['/abcd', '/abc'], ['/abcdef/g', '/abcdef'], ['/abd', '/ab'],
    ['/abd/', '/abd/'], ['/abd/e', '/abd/e'], ['/abd/x', '/abd/'], ['/b', '/b'], ['/ba', '/b'], ['/c', null],
    ['x', 'x'], ['xy', 'x'], ['', null], ['/', null],
  ];
  check(keys, want, 'in order');
  check([...keys].reverse(), want, 'reversed');
});

/** nginx's algorithm written the slow, obvious way. */
function reference(keys: string[], uri: string): string | null {
  const locs = keys.map((k) => ({ k, ...parseLocationKey(k) }));
  const exact = locs.find((l) => l.kind === 'exact' && l.path === uri);
  if (exact) return exact.k;
  let best: (typeof locs)[number] | null = null;
  for (const l of locs) {
    if ((l.kind === 'prefix' || l.kind === 'noregex') && uri.startsWith(l.path)
      && (best === null || l.path.length > best.path.length)) best = l;
  }
  if (best !== null && best.kind === 'noregex') return best.k;
  for (const l of locs) if (l.regex !== null && l.regex.test(uri)) return l.k;
  return best === null ? null : best.k;
}

test('random configs agree with a naive reading of the algorithm', () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const parts = ['a', 'b', 'ab', '/', 'x.png', 'api', 'v1'];
  const path = () => {
    let p = '/';
    for (let i = rnd(4); i > 0; i--) p += parts[rnd(parts.length)];
    return p;
  };
  for (let round = 0; round < 300; round++) {
    const keys = new Set<string>();
    const paths = new Set<string>();
    for (let i = rnd(8) + 1; i > 0; i--) {
      const p = path();
      switch (rnd(5)) {
        case 0: keys.add('= ' + p); break;
        case 1: if (!paths.has(p)) { paths.add(p); keys.add('^~ ' + p); } break;
        case 2: keys.add(rnd(2) ? '~ ' + p.slice(1) + '$' : '~* ' + p.toUpperCase()); break;
        default: if (!paths.has(p)) { paths.add(p); keys.add(p); }
      }
    }
    const list = [...keys];
    const t = tree(list);
    for (let j = 0; j < 20; j++) {
      const uri = path();
      const got = t.find(uri);
      assert.is(got === null ? null : got.key, reference(list, uri), `${JSON.stringify(list)} ${uri}`);
    }
  }
});

test('the location list keeps the order written', () => {
  const t = tree(['/b', '@n', '/a']);
  assert.equal(t.locations.map((l) => l.key), ['/b', '@n', '/a'], 'order');
});

test.run();
