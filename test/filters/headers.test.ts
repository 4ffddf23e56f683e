// The headers filter (ngx_http_headers_filter_module: add_header, expires) through a fake
// request: which statuses get add_header without `always`, $variables in values, and every kind
// of expires, at a fixed time (the filter reads Date.now(), pinned here for the call).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HeadersFilter } from '../../src/filters/headers.js';
import type { FilterConf } from '../../src/filters/filter.js';
import { FakeRequest, chains, type FakeOptions } from './fake.js';

const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);

/** Run the headers filter at NOW; the headers it left. */
function run(conf: Partial<FilterConf>, status = 200, o: FakeOptions = {}, setup?: (r: FakeRequest) => void): FakeRequest {
  const r = new FakeRequest({ ...o, conf });
  r.headersOut.status = status;
  r.headersOut.contentLength = 0;
  setup?.(r);
  const realNow = Date.now;
  Date.now = () => NOW; // the filter is synchronous: nothing else runs while time is pinned
  try {
    chains({ header: new HeadersFilter() }).sendHeader(r);
  } finally {
    Date.now = realNow;
  }
  return r;
}

const add = (name: string, value: string, always = false) => ({ name, value, always });

test('addHeader: on the statuses nginx lists, `always` on every status', () => {
  const conf = { addHeader: [add('X-Added', 'yes'), add('X-Always', 'a', true)] };
  for (const s of [200, 201, 204, 206, 301, 302, 303, 304, 307, 308]) {
    const r = run(conf, s);
    assert.is(r.headersOut.get('x-added'), 'yes', String(s));
    assert.is(r.headersOut.get('x-always'), 'a', String(s));
  }
  for (const s of [400, 403, 404, 500, 502]) {
    const r = run(conf, s);
    assert.is(r.headersOut.get('x-added'), undefined, `${s}: not without always`);
    assert.is(r.headersOut.get('x-always'), 'a', `${s}: always`);
  }
});

test('addHeader: values expand $variables; the same name twice adds twice; existing headers stay', () => {
  const r = run({ addHeader: [add('X-Uri', 'uri=$uri ${arg_q}!'), add('X-Two', '1'), add('X-Two', '2')] }, 200,
    { vars: { uri: '/a', arg_q: 'z' } }, (x) => x.headersOut.add('X-Handler', 'h'));
  assert.is(r.headersOut.get('x-uri'), 'uri=/a z!');
  assert.equal(r.headersOut.get('x-two'), ['1', '2']);
  assert.is(r.headersOut.get('x-handler'), 'h');
});

test('expires offset: Expires at now + offset, Cache-Control max-age; negative is no-cache', () => {
  const r = run({ expires: { kind: 'offset', ms: 3600000 } });
  assert.is(r.headersOut.get('expires'), new Date(NOW + 3600000).toUTCString());
  assert.is(r.headersOut.get('cache-control'), 'max-age=3600');
  const past = run({ expires: { kind: 'offset', ms: -60000 } });
  assert.is(past.headersOut.get('expires'), new Date(NOW - 60000).toUTCString());
  assert.is(past.headersOut.get('cache-control'), 'no-cache');
});

test('expires epoch, max, modified; it replaces the handler\'s own Expires and Cache-Control', () => {
  const epoch = run({ expires: { kind: 'epoch', ms: 0 } }, 200, {}, (r) => { r.headersOut.set('Expires', 'x'); r.headersOut.set('Cache-Control', 'private'); });
  assert.is(epoch.headersOut.get('expires'), 'Thu, 01 Jan 1970 00:00:01 GMT');
  assert.is(epoch.headersOut.get('cache-control'), 'no-cache', 'replaced, not added');
  const max = run({ expires: { kind: 'max', ms: 0 } });
  assert.is(max.headersOut.get('expires'), 'Thu, 31 Dec 2037 23:55:55 GMT');
  assert.is(max.headersOut.get('cache-control'), 'max-age=315360000');
  const lm = NOW - 1800000;
  const mod = run({ expires: { kind: 'modified', ms: 3600000 } }, 200, {}, (r) => { r.headersOut.lastModified = lm; });
  assert.is(mod.headersOut.get('expires'), new Date(lm + 3600000).toUTCString(), 'from Last-Modified');
  assert.is(mod.headersOut.get('cache-control'), 'max-age=1800', 'what is left of it from now');
  const noLm = run({ expires: { kind: 'modified', ms: 60000 } });
  assert.is(noLm.headersOut.get('expires'), new Date(NOW + 60000).toUTCString(), 'no Last-Modified: from now');
});

test('expires only on the statuses add_header uses; not on a subrequest', () => {
  assert.is(run({ expires: { kind: 'max', ms: 0 } }, 404).headersOut.get('expires'), undefined);
  const sub = run({ expires: { kind: 'max', ms: 0 }, addHeader: [add('X-A', '1', true)] }, 200, { parent: new FakeRequest() });
  assert.is(sub.headersOut.get('expires'), undefined);
  assert.is(sub.headersOut.get('x-a'), undefined, 'a subrequest\'s headers are its parent\'s business');
});

test('addHeader with an empty value: nothing added; for ETag and Last-Modified the response\'s own is removed', () => {
  const r = run({ addHeader: [add('ETag', ''), add('Last-Modified', '$none'), add('X-E', ''), add('Cache-Control', '')] }, 200, {},
    (x) => { x.headersOut.etag = '"e"'; x.headersOut.lastModified = NOW - 1000; });
  assert.is(r.headersOut.etag, null);
  assert.is(r.headersOut.lastModified, -1);
  assert.is(r.headersOut.get('x-e'), undefined);
  assert.is(r.headersOut.get('cache-control'), undefined);
  const set = run({ addHeader: [add('ETag', '"new"'), add('Last-Modified', 'Mon, 01 Jan 2024 00:00:00 GMT')] }, 200, {},
    (x) => { x.headersOut.etag = '"e"'; x.headersOut.lastModified = NOW - 1000; });
  assert.is(set.headersOut.etag, '"new"', 'replaced, not a second one');
  assert.is(set.headersOut.lastModified, Date.UTC(2024, 0, 1));
});

test('expires 0: Expires now, max-age=0 (not no-cache); whole seconds', () => {
  const r = run({ expires: { kind: 'offset', ms: 0 } });
  assert.is(r.headersOut.get('expires'), new Date(NOW).toUTCString());
  assert.is(r.headersOut.get('cache-control'), 'max-age=0');
  const m = run({ expires: { kind: 'modified', ms: 3600000 } }, 200, {}, (x) => { x.headersOut.lastModified = NOW - 3600000 + 400; });
  assert.is(m.headersOut.get('cache-control'), 'max-age=0', 'Last-Modified in whole seconds: expires exactly now');
  const neg = run({ expires: { kind: 'modified', ms: -1000 } }, 200, {}, (x) => { x.headersOut.lastModified = NOW + 3600000; });
  assert.is(neg.headersOut.get('cache-control'), 'no-cache', 'a negative configured time is no-cache whatever max-age comes to');
});

test('expires @time: the next such time of day (local time), max-age to it', () => {
  const at = (h: number, m: number) => { const d = new Date(NOW); d.setHours(h, m, 0, 0); return d.getTime(); };
  const today = at(new Date(NOW).getHours() + 1, 30);
  const when = (new Date(today).getHours() * 3600 + 30 * 60) * 1000;
  const r = run({ expires: { kind: 'daily', ms: when } });
  assert.is(r.headersOut.get('expires'), new Date(today).toUTCString());
  assert.is(r.headersOut.get('cache-control'), `max-age=${(today - NOW) / 1000}`);
  const past = (new Date(NOW).getHours() * 3600) * 1000; // this hour's start: gone, so tomorrow
  const t = run({ expires: { kind: 'daily', ms: past } });
  const tomorrow = new Date(NOW); tomorrow.setMinutes(0, 0, 0); tomorrow.setDate(tomorrow.getDate() + 1);
  assert.is(t.headersOut.get('expires'), tomorrow.toUTCString());
});

test('expires with $variables: read per request; an invalid value sets nothing; off, epoch', async () => {
  const { headersModule } = await import('../../src/http/modules/headers.js');
  const parse = headersModule.directives.expires.set;
  const dyn = parse('$e', 'expires')!;
  assert.is(run({ expires: dyn }, 200, { vars: { e: '1h' } }).headersOut.get('cache-control'), 'max-age=3600');
  assert.is(run({ expires: dyn }, 200, { vars: { e: 'epoch' } }).headersOut.get('cache-control'), 'no-cache');
  assert.is(run({ expires: dyn }, 200, { vars: { e: '-1h' } }).headersOut.get('cache-control'), 'no-cache');
  assert.is(run({ expires: dyn }, 200, { vars: { e: '@10h' } }).headersOut.get('expires') !== undefined, true);
  for (const bad of ['bogus', 'off', '', '10ms']) {
    const r = run({ expires: dyn }, 200, { vars: { e: bad } }, (x) => x.headersOut.set('Cache-Control', 'private'));
    assert.is(r.headersOut.get('expires'), undefined, bad);
    assert.is(r.headersOut.get('cache-control'), 'private', `${bad}: the response's own left`);
  }
  const mod = parse('modified $e', 'expires')!;
  const lm = NOW - 60000;
  assert.is(run({ expires: mod }, 200, { vars: { e: '1h' } }, (x) => { x.headersOut.lastModified = lm; }).headersOut.get('expires'), new Date(lm + 3600000).toUTCString());
  assert.is(run({ expires: mod }, 200, { vars: { e: 'epoch' } }).headersOut.get('expires'), undefined, 'no epoch after modified');
});

test('expires: what the parser takes and refuses (nginx\'s messages)', async () => {
  const { headersModule } = await import('../../src/http/modules/headers.js');
  const parse = headersModule.directives.expires.set;
  assert.equal(parse('@15h30m', 'expires'), { kind: 'daily', ms: (15 * 3600 + 30 * 60) * 1000 });
  assert.equal(parse('modified +1d', 'expires'), { kind: 'modified', ms: 86400000 });
  assert.equal(parse(-60, 'expires'), { kind: 'offset', ms: -60000 });
  assert.is(parse('off', 'expires'), null);
  assert.throws(() => parse('modified @1h', 'expires'), /daily time cannot be used with "modified" parameter/);
  assert.throws(() => parse('@25h', 'expires'), /daily time value must be less than 24 hours/);
  assert.throws(() => parse('10ms', 'expires'), /invalid value/);
  assert.throws(() => parse('modified epoch', 'expires'), /invalid value/);
  assert.throws(() => parse('soon later', 'expires'), /invalid value/);
});

test.run();
