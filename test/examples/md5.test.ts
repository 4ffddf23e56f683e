// The examples/md5 scenario in both forms (capture → internal proxyPass → keepalive upstream,
// and the HTTP client's requestUri): a right key is "valid request", a wrong one is not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import { createHash } from 'node:crypto';
import { startServer, type SluiceServer } from '../../src/index.js';
import { md5CaptureConfig, SALT } from '../../examples/md5/capture.js';
import { md5ClientConfig } from '../../examples/md5/client.js';
import { raw, timed, get } from '../helpers.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const key = (data: string) => createHash('md5').update(data + SALT).digest('hex');

for (const [name, make] of [['capture', md5CaptureConfig], ['client', md5ClientConfig]] as const) {
  test(`md5 scenario (${name}): valid and invalid keys`, timed(30000, async () => {
    const port = await freePort();
    const md5Port = await freePort();
    const s: SluiceServer = await startServer(make(port, md5Port));
    try {
      const ok = await raw(port, get(`/test?data=hello&key=${key('hello')}`), { responses: 1 });
      assert.is(ok.responses[0].body.toString(), 'valid request\n');
      const bad = await raw(port, get('/test?data=hello&key=0123456789abcdef0123456789abcdef'), { responses: 1 });
      assert.is(bad.responses[0].body.toString(), 'invalid request\n');
      const spaced = await raw(port, get(`/test?data=a%20b&key=${key('a b')}`), { responses: 1 });
      assert.is(spaced.responses[0].body.toString(), 'valid request\n');
      if (name === 'capture') {
        const direct = await raw(port, get('/spe_md5'), { responses: 1 });
        assert.is(direct.responses[0].status, 404, 'the internal location is not for clients');
      }
    } finally {
      await s.close();
    }
  }));
}

test.run();
