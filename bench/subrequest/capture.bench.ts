// One capture of an in-memory location, measured in-process (no sockets): the cost of building
// a subrequest, running its phases and the filter chain, and collecting the body.
//
//   npm run build && node dist/bench/subrequest/capture.bench.js

import { Bench } from 'tinybench';
import * as assert from 'node:assert/strict';
import { resolveConfig, SluiceServer, Request, type SluiceConfig } from '../../src/index.js';
import { RequestBody } from '../../src/http/request.js';


const config: SluiceConfig = {
  servers: [{
    listen: '127.0.0.1:0',
    locations: {
      '= /return': { internal: true, return: [200, 'hello\n'] },
      '= /say': { internal: true, content: (r: Request) => { r.say('hello'); } },
    },
  }],
};
const server = new SluiceServer(resolveConfig(config)); // not listening: subrequests need no socket

/** A main request as the connection would make it, without a connection. */
function mainRequest(): Request {
  const r = new Request(null, server.config.servers[0], server.chainsOf(), null);
  r.uri = '/bench';
  r.requestBody = new RequestBody();
  r.requestBody.complete = true;
  return r;
}

const parent = mainRequest();

// sanity before measuring
const a = await parent.location.capture('/return');
assert.equal(a.status, 200);
assert.equal(a.body.toString(), 'hello\n');
const b = await parent.location.capture('/say');
assert.equal(b.body.toString(), 'hello\n');
const m = await parent.location.captureMulti(['/say', '/say', '/return']);
assert.equal(m.map((x) => x.body.toString()).join(''), 'hello\nhello\nhello\n');

const bench = new Bench({ name: 'capture (in-process)', time: 1000 });
bench
  .add('capture of `return 200 "hello"`', async () => { await parent.location.capture('/return'); })
  .add('capture of a content handler r.say()', async () => { await parent.location.capture('/say'); })
  .add('captureMulti of three', async () => { await parent.location.captureMulti(['/say', '/say', '/return']); });

await bench.run();
console.log(`node ${process.version}`);
console.table(bench.table());
