// Request framing over real sockets: each Transfer-Encoding case answered as nginx 1.22.1 answers
// it (checked against a local nginx, see docs/parser.md), then the connection is closed; the request
// pipelined behind it is never answered. cf. ngx_http_process_request_header()
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listen, raw, timed } from '../helpers.js';
import type { SluiceServer } from '../../src/http/server.js';
import type { Request } from '../../src/http/request.js';

let s: SluiceServer;

test.before(async () => {
  s = await listen({
    '/': { content: async (r: Request) => { await r.readBody(); r.say('ok'); } },
  });
});
test.after(async () => { await s.close(); });

/** A request pipelined after each case: answering it would mean the framing was accepted. */
const NEXT = 'GET /next HTTP/1.1\r\nHost: a\r\n\r\n';

/** [name, version, field lines, the status nginx 1.22.1 gives] */
const CASES: [string, string, string, number][] = [
  ['gzip, chunked', 'HTTP/1.1', 'Host: a\r\nTransfer-Encoding: gzip, chunked', 501],
  ['identity, chunked', 'HTTP/1.1', 'Host: a\r\nTransfer-Encoding: identity, chunked', 501],
  ['chunked, chunked', 'HTTP/1.1', 'Host: a\r\nTransfer-Encoding: chunked, chunked', 501],
  ['chunked, then a second line chunked', 'HTTP/1.1', 'Host: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked', 400],
  // nginx: 400 (a duplicate line); here 501, the first line's coding is one we cannot decode
  ['gzip, then a second line chunked', 'HTTP/1.1', 'Host: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked', 501],
  ['a tab before chunked', 'HTTP/1.1', 'Host: a\r\nTransfer-Encoding:\tchunked', 501],
  ['a tab after chunked', 'HTTP/1.1', 'Host: a\r\nTransfer-Encoding: chunked\t', 501],
  ['HTTP/1.0 with chunked', 'HTTP/1.0', 'Transfer-Encoding: chunked', 400],
  ['HTTP/1.0 keep-alive with chunked', 'HTTP/1.0', 'Connection: keep-alive\r\nTransfer-Encoding: chunked', 400],
  ['HTTP/1.0 with gzip', 'HTTP/1.0', 'Transfer-Encoding: gzip', 400],
  ['Content-Length and gzip', 'HTTP/1.1', 'Host: a\r\nContent-Length: 5\r\nTransfer-Encoding: gzip', 501],
];

/** Cases sluice already answered as nginx does: controls for the rule, not new behaviour. */
const CONTROLS: [string, string, string, number][] = [
  ['chunked with a parameter', 'HTTP/1.1', 'Host: a\r\nTransfer-Encoding: chunked;q=1', 501],
  ['an empty value', 'HTTP/1.1', 'Host: a\r\nTransfer-Encoding: ', 501],
  ['Content-Length and chunked', 'HTTP/1.1', 'Host: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked', 400],
];

async function refused(version: string, head: string, status: number): Promise<void> {
  // ends on the close: a second answer would come before it
  const res = await raw(s.port, `POST / ${version}\r\n${head}\r\n\r\n0\r\n\r\n${NEXT}`);
  assert.is(res.responses.length, 1, `one response: ${JSON.stringify(res.text)}`);
  assert.is(res.responses[0].status, status, 'status');
  assert.ok(res.closed, 'the server closed the connection');
}

for (const [name, version, head, status] of CASES) {
  test(`Transfer-Encoding: ${name} -> ${status}, then close`, timed(30000, () => refused(version, head, status)));
}

test('controls: a parameter, an empty value, Content-Length with chunked', timed(30000, async () => {
  for (const [, version, head, status] of CONTROLS) await refused(version, head, status);
}));

test('Transfer-Encoding: chunked (any case, SP around) is read and the connection kept', timed(30000, async () => {
  for (const te of ['chunked', '  ChUnKeD  ']) {
    // kept alive: the request pipelined behind it is answered
    const res = await raw(s.port, `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:${te}\r\n\r\n0\r\n\r\n${NEXT}`, { responses: 2 });
    assert.equal(res.responses.map((r) => r.status), [200, 200], `both answered (${JSON.stringify(te)})`);
  }
}));

test.run();
