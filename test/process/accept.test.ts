// The choices behind the master: how workers accept (one function), and the respawn back-off.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { acceptMode, hasReusePort, listenOptions } from '../../src/process/accept.js';
import { backoffMs, MAX_BACKOFF_MS } from '../../src/process/master.js';
import { resolveConfig } from '../../src/index.js';

test('reusePort exists from Node 22.12 and 23.1', () => {
  for (const v of ['v20.20.2', 'v22.11.0', 'v23.0.0', '18.0.0']) assert.is(hasReusePort(v), false, v);
  for (const v of ['v22.12.0', 'v23.1.0', 'v24.0.0', '25.2.1']) assert.is(hasReusePort(v), true, v);
});

test('shared socket by default; reusePort only when asked and the Node version has it', () => {
  assert.is(acceptMode('v20.20.2', undefined), 'shared');
  assert.is(acceptMode('v20.20.2', 'reuseport'), 'shared');
  assert.is(acceptMode('v22.12.0', undefined), 'shared');
  assert.is(acceptMode('v22.12.0', 'reuseport'), 'reuseport');
  assert.equal(listenOptions('shared'), {});
  assert.equal(listenOptions('reuseport'), { reusePort: true, exclusive: true });
  // this Node, as the workers of the other tests run: the shared path
  if (!hasReusePort(process.version)) assert.is(acceptMode(), 'shared');
});

test('a worker that keeps dying is restarted later and later, up to a ceiling', () => {
  assert.is(backoffMs(0), 0);
  assert.is(backoffMs(1), 0);
  assert.is(backoffMs(2), 100);
  assert.is(backoffMs(3), 200);
  assert.is(backoffMs(30), MAX_BACKOFF_MS);
});

test('workerProcesses, masterProcess, pid, workerShutdownTimeout: top level, checked', () => {
  const c = resolveConfig({ workerProcesses: 'auto', workerShutdownTimeout: '10s', servers: [{ listen: 0, locations: {} }] });
  assert.ok(c.http.workerProcesses >= 1);
  assert.is(c.http.workerShutdownTimeout, 10000);
  assert.is(c.http.pid, 'logs/sluice.pid');
  assert.is(c.http.masterProcess, null);
  assert.throws(() => resolveConfig({ workerProcesses: 0, servers: [{ listen: 0, locations: {} }] } as never), /workerProcesses/);
  assert.throws(() => resolveConfig({ servers: [{ listen: 0, workerProcesses: 2, locations: {} }] } as never), /workerProcesses/);
});

test.run();
