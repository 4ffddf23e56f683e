// An upstream response with both Content-Length and chunked is framed by chunked (RFC 9112 §6.3):
// the client must not be handed the Content-Length the body does not have.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Socket } from 'node:net';
import { listen, raw, timed, get } from '../helpers.js';

test('Content-Length beside chunked from the upstream: the client gets the chunked body, not the bogus length', timed(30000, async () => {
  const sockets: Socket[] = [];
  const up = createServer((c) => {
    sockets.push(c);
    c.on('data', () => {
      c.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    });
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
  const port = (up.address() as { port: number }).port;
  const s = await listen({ '/': { proxyPass: `http://127.0.0.1:${port}` } });
  try {
    const res = await raw(s.port, get('/') + get('/'), { responses: 2 });
    for (const r of res.responses) {
      assert.is(r.status, 200);
      assert.is(r.body.toString(), 'abc', 'the body the chunks carried');
      assert.is(r.complete, true);
      assert.ok(r.headers['content-length'] !== '100', `no bogus length (${r.headers['content-length']})`);
    }
  } finally {
    await s.close();
    for (const c of sockets) c.destroy();
    await new Promise<void>((r) => up.close(() => r()));
  }
}));

test.run();
