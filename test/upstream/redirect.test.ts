// proxyRedirect as nginx-tests' proxy_redirect.t exercises it (variables in both arguments,
// regexes with ~ and ~*, captures, explicit and implicit default, off and inheritance), and
// proxyPass with variables (per request: a named group, an implicit host:port, a URI that
// replaces the request's whole URI, hosts that would need a resolver).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { get, timed, RawClient } from '../helpers.js';
import { startServer, type SluiceServer } from '../../src/index.js';
import type { SluiceConfig } from '../../src/http/conf/config.js';
import type { Request } from '../../src/http/request.js';
import { httpUpstream } from './upstreams.js';

type Locations = NonNullable<SluiceConfig['servers'][number]['locations']>;

const open: { close(): unknown }[] = [];
function keep<T extends { close(): unknown }>(x: T): T { open.push(x); return x; }
test.after.each(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function sluice(locations: Locations, upstreams: SluiceConfig['upstreams'] = {}): Promise<SluiceServer> {
  const s = await startServer({ errorLog: 'off', upstreams, servers: [{ listen: '127.0.0.1:0', locations }] } as SluiceConfig);
  keep({ close: () => s.close(100) });
  return s;
}

async function fetch1(s: SluiceServer, path: string) {
  const c = keep(await RawClient.open(s.port));
  const [res] = await c.exchange(get(path));
  return res;
}

test('proxy_redirect.t: variables, regexes, captures, default, off and inheritance', timed(30000, async () => {
  // the upstream redirects every request to itself, with a Refresh to the same URL (as the .t's second server)
  const up = keep(await httpUpstream((seen, res) => {
    res.writeHead(302, { Location: `http://127.0.0.1:${up.port}${seen.url}`, Refresh: `7; url=http://127.0.0.1:${up.port}${seen.url}` });
    res.end();
  }));
  const p1 = `http://127.0.0.1:${up.port}`;
  const setVar = (r: Request) => { r.var.some_var = 'var_here'; };
  const s = await sluice({
    '/': {
      rewriteHandler: setVar,
      proxyPass: p1,
      proxyRedirect: [
        [`${p1}/var_in_second/`, '/$some_var/'],
        [`${p1}/$some_var/`, '/replaced/'],
        ['~^(.+)/regex_w_([^/]+)', '$1/$2/test.html'],
        ['~*re+gexp?', '/replaced/test.html'],
      ],
    },
    '/expl_default/': { proxyPass: `${p1}/replace_this/`, proxyRedirect: [['wrong', 'wrong'], 'default'] },
    '/impl_default/': { proxyPass: `${p1}/replace_this/` },
    '/off/': { proxyPass: `${p1}/`, proxyRedirect: 'off' },
    '/off/on/': { proxyPass: p1, proxyRedirect: [[`${p1}/off/`, '/']] },
  });
  const p0 = `http://localhost:${s.port}`;
  const both = async (path: string) => {
    const res = await fetch1(s, path);
    return [res.headers.location, res.headers.refresh];
  };
  assert.equal(await both('/impl_default/test.html'), [`${p0}/impl_default/test.html`, '7; url=/impl_default/test.html'], 'implicit default');
  assert.equal(await both('/expl_default/test.html'), [`${p0}/expl_default/test.html`, '7; url=/expl_default/test.html'], 'explicit default');
  assert.equal(await both('/var_in_second/test.html'), [`${p0}/var_here/test.html`, '7; url=/var_here/test.html'], 'variable in second arg');
  assert.equal((await both('/off/test.html'))[0], `${p1}/test.html`, 'rewrite off');
  assert.equal((await both('/off/on/test.html'))[0], `${p0}/on/test.html`, 'rewrite off overwrite');
  assert.equal(await both('/var_here/test.html'), [`${p0}/replaced/test.html`, '7; url=/replaced/test.html'], 'variable in first arg');
  assert.equal(await both('/ReeegEX/test.html'), [`${p0}/replaced/test.html`, '7; url=/replaced/test.html'], 'caseless regexp');
  assert.equal(await both('/regex_w_captures/test.html'), [`${p1}/captures/test.html`, `7; url=${p1}/captures/test.html`], 'regexp w/captures');
}));

test('proxyRedirect inherited by an inner block (the server\'s list in a location)', timed(30000, async () => {
  const up = keep(await httpUpstream((seen, res) => { res.writeHead(301, { Location: `http://in.example${seen.url}` }); res.end(); }));
  const s = await startServer({
    errorLog: 'off',
    servers: [{ listen: '127.0.0.1:0', proxyRedirect: [['~^http://in\\.example/(.*)$', 'http://out.example/$1']], locations: { '/': { proxyPass: `http://${up.addr}` } } }],
  } as SluiceConfig);
  keep({ close: () => s.close(100) });
  assert.is((await fetch1(s, '/a/b?c')).headers.location, 'http://out.example/a/b?c');
}));

test('a relative Location no rule rewrote stays relative (nginx sets headers_out.location only for a rewritten one)', timed(30000, async () => {
  const up = keep(await httpUpstream((seen, res) => { res.writeHead(302, { Location: seen.url.startsWith('/r') ? '/rel/x' : `http://127.0.0.1:${up.port}/abs/x` }); res.end(); }));
  const s = await sluice({ '/': { proxyPass: `http://${up.addr}` }, '/off/': { proxyPass: `http://${up.addr}`, proxyRedirect: 'off' } });
  assert.is((await fetch1(s, '/r')).headers.location, '/rel/x', 'no rule matched: as sent');
  assert.is((await fetch1(s, '/off/r')).headers.location, `http://127.0.0.1:${up.port}/abs/x`, 'off: as sent');
  assert.is((await fetch1(s, '/a')).headers.location, `http://localhost:${s.port}/abs/x`, 'rewritten by default, then made absolute');
}));

test('proxyRedirect: config errors (bad regex, default with a proxyPass with variables)', async () => {
  for (const [loc, re] of [
    [{ proxyPass: 'http://127.0.0.1:1', proxyRedirect: [['~(', '/']] }, /invalid regex/],
    [{ proxyPass: 'http://$arg_h', proxyRedirect: 'default' }, /cannot be used with "proxyPass" directive with variables/],
    [{ proxyPass: 'http://$arg_h', proxyRedirect: [['/a', '/b'], 'default'] }, /cannot be used/],
  ] as const) {
    try {
      await sluice({ '/': loc as never });
      assert.unreachable(JSON.stringify(loc));
    } catch (e) {
      assert.match(String((e as Error).message), re);
    }
  }
});

// ------------------------------------------------------------------ proxyPass with variables

test('proxyPass with variables: a named group, an IP host:port, a URI that replaces the whole request URI', timed(30000, async () => {
  const up = keep(await httpUpstream((seen, res) => res.end(`${seen.url} host=${seen.headers.host}`)));
  const s = await sluice({
    '/named/': { proxyPass: 'http://$arg_g' },
    '/ip/': { proxyPass: `http://127.0.0.1:$arg_p` },
    '/uri/': { proxyPass: `http://127.0.0.1:${up.port}/fixed$arg_x` },
    '~ ^/re/': { proxyPass: `http://127.0.0.1:${up.port}/got$uri` },
    '/hostvar/': { proxyPass: 'http://$arg_h', addHeader: [['X-Proxy-Host', '$proxy_host']] },
  }, { grp: { servers: [up.addr] } });
  let res = await fetch1(s, '/named/a?g=grp');
  assert.is(res.status, 200);
  assert.is(res.body.toString(), '/named/a?g=grp host=grp', 'no URI part: the request URI as it came; Host is the group name');
  res = await fetch1(s, `/ip/b?p=${up.port}`);
  assert.is(res.body.toString(), `/ip/b?p=${up.port} host=127.0.0.1:${up.port}`);
  res = await fetch1(s, '/uri/c/d?x=Y');
  assert.is(res.body.toString(), `/fixedY host=127.0.0.1:${up.port}`, 'the URI given is the whole URI: no location part, no args');
  res = await fetch1(s, '/re/deep/path?q=1');
  assert.is(res.body.toString(), `/got/re/deep/path host=127.0.0.1:${up.port}`, 'a URI part in a regex location (allowed with variables)');
  res = await fetch1(s, `/hostvar/?h=127.0.0.1:${up.port}`);
  assert.is(res.headers['x-proxy-host'], `127.0.0.1:${up.port}`, '$proxy_host is this request\'s');
}));

test('proxyPass with variables: a host name no group has is 502 (no resolver), a bad URL 500', timed(30000, async () => {
  const s = await sluice({
    '/h/': { proxyPass: 'http://$arg_h' },
    '/bad/': { proxyPass: '$arg_u' },
  }, { grp: { servers: ['127.0.0.1:1'] } });
  assert.is((await fetch1(s, '/h/?h=example.invalid')).status, 502, 'a name that would need a resolver');
  assert.is((await fetch1(s, '/h/?h=grp:8080')).status, 502, 'a group name with a port is not the group (nginx: port 0 only matches no port)');
  assert.is((await fetch1(s, '/bad/?u=ftp://x')).status, 500, 'invalid URL prefix');
}));

test.run();
