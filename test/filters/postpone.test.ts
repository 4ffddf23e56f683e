// The postpone filter (ngx_http_postpone_filter_module) through fake requests: subrequests that
// write to the client do so in document order, whatever order they produce output in. The two
// hand-overs the request code makes (a new subrequest becomes active when its parent was, a
// finished one hands the turn back and lets its parent's held output go) are done by hand here,
// as src/subrequest/subrequest.ts and src/http/core.ts do them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buf, B_LAST_IN_CHAIN, link } from '../../src/core/buf.js';
import { PostponeFilter, addPostponed } from '../../src/filters/postpone.js';
import type { FilterChains } from '../../src/filters/index.js';
import { FakeRequest, buf, chains } from './fake.js';

/** ngx_http_subrequest's part: sr goes in r's postponed list, and is active if r was. */
function startSub(r: FakeRequest, sr: FakeRequest): void {
  if (r.main.active === r && r.postponed === null) r.main.active = sr;
  addPostponed(r, sr, null);
}

/** A subrequest ends: its last buf, then the turn back to its parent, whose held output goes. */
function finishSub(ch: FilterChains, sr: FakeRequest): void {
  ch.output(sr, link(Buf.special(B_LAST_IN_CHAIN)));
  sr.finalized = true;
  const main = sr.main;
  if (main.active === sr && sr.postponed === null) {
    main.active = sr.parent!;
    ch.output(sr.parent!, null);
  }
}

/** The body bytes the client got so far (after the head). */
function got(r: FakeRequest): string {
  const t = r.fakeConn.text();
  return t.slice(t.indexOf('\r\n\r\n') + 4);
}

function setup(): { ch: FilterChains; main: FakeRequest } {
  const ch = chains({ body: new PostponeFilter() });
  const main = new FakeRequest();
  main.headersOut.contentLength = 0; // framing does not matter here: the bytes are read raw
  ch.sendHeader(main);
  return { ch, main };
}

test('no subrequest: output passes straight through', () => {
  const { ch, main } = setup();
  ch.output(main, buf('hello', false, true));
  assert.is(got(main), 'hello');
  assert.is(main.postponed, null);
});

test('include: parent A, subrequest B produced after the parent\'s C: the client gets A B C', () => {
  const { ch, main } = setup();
  ch.output(main, buf('A', false, true));
  const sub = new FakeRequest({ parent: main });
  startSub(main, sub);
  assert.is(main.active, sub, 'the subrequest writes now');
  ch.output(main, buf('C', false, true));
  assert.is(got(main), 'A', 'the parent\'s C waits behind the subrequest');
  ch.output(sub, buf('B', false, true));
  assert.is(got(main), 'AB', 'the active subrequest writes straight through');
  finishSub(ch, sub);
  assert.is(main.active, main);
  assert.is(got(main), 'ABC', 'the parent\'s held output follows');
  ch.output(main, buf('D', true));
  assert.is(got(main), 'ABCD');
});

test('two subrequests finishing in reverse order: the second one\'s output waits for the first', () => {
  const { ch, main } = setup();
  const s1 = new FakeRequest({ parent: main });
  const s2 = new FakeRequest({ parent: main });
  startSub(main, s1);
  startSub(main, s2);
  assert.is(main.active, s1, 'the first one is active');
  ch.output(s2, buf('2', false, true));
  finishSub(ch, s2);
  assert.is(got(main), '', 'the second is done, but not its turn');
  ch.output(s1, buf('1', false, true));
  assert.is(got(main), '1');
  finishSub(ch, s1);
  assert.is(got(main), '12', 'then the second one\'s output, in document order');
  assert.is(main.active, main, 'the turn is back with the main request');
  ch.output(main, buf('end', true));
  assert.is(got(main), '12end');
});

test('a subrequest of a subrequest: nested in document order', () => {
  const { ch, main } = setup();
  const outer = new FakeRequest({ parent: main });
  startSub(main, outer);
  ch.output(outer, buf('<o', false, true));
  const inner = new FakeRequest({ parent: outer });
  startSub(outer, inner);
  ch.output(outer, buf('o>', false, true));
  ch.output(main, buf('[main after]', false, true));
  ch.output(inner, buf('(inner)', false, true));
  assert.is(got(main), '<o(inner)');
  finishSub(ch, inner);
  assert.is(got(main), '<o(inner)o>');
  finishSub(ch, outer);
  assert.is(got(main), '<o(inner)o>[main after]');
});

test.run();
