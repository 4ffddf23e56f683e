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

test.run();
