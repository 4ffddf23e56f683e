// The log writer (src/core/log.ts LogFile, LogFiles) and SluiceServer's reopenLogs/flushLogs: lines
// written in order in the background, a reopen after the file was moved (logrotate) loses and
// doubles no line, and close writes what was queued.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, renameSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogFile } from '../../src/core/log.js';
import { startServer, type Request } from '../../src/index.js';
import { raw, timed, get } from '../helpers.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'sluice-logfile-'));
}

function lines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
}

test('LogFile: lines come out whole and in order; flush() resolves once what was queued is written', timed(10000, async () => {
  const dir = tmp();
  try {
    const f = new LogFile(join(dir, 'a.log'));
    for (let i = 0; i < 5000; i++) f.write(`line ${i}\n`);
    await f.flush();
    const got = lines(join(dir, 'a.log'));
    assert.is(got.length, 5000, 'all 5000 lines');
    assert.ok(got.every((l, i) => l === `line ${i}`), 'in order');
    f.write('more\n');
    await f.close();
    assert.is(lines(join(dir, 'a.log')).length, 5001, 'close wrote the last line');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}));

test('LogFile: reopen after the file was moved, while writes are in flight: every line once, the old ones in the old file', timed(10000, async () => {
  const dir = tmp();
  const path = join(dir, 'access.log');
  try {
    const f = new LogFile(path);
    for (let i = 0; i < 3000; i++) f.write(`a${i}\n`);
    renameSync(path, path + '.1'); // what logrotate does first
    for (let i = 0; i < 3000; i++) f.write(`b${i}\n`); // still the old fd: these belong to .1
    f.reopen();
    for (let i = 0; i < 3000; i++) f.write(`c${i}\n`);
    await f.flush();
    const old = lines(path + '.1');
    const now = lines(path);
    assert.is(old.length, 6000, 'the moved file has the lines from before the reopen');
    assert.is(now.length, 3000, 'the new file has those after it');
    assert.ok(old.every((l, i) => l === (i < 3000 ? `a${i}` : `b${i - 3000}`)), 'old file in order');
    assert.ok(now.every((l, i) => l === `c${i}`), 'new file in order');
    await f.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}));

test('server.reopenLogs(): requests before and after a move each logged once, in the right file; flushLogs() and close() write all', timed(30000, async () => {
  const dir = tmp();
  const acc = join(dir, 'access.log');
  const err = join(dir, 'error.log');
  const s = await startServer({
    errorLog: [err, 'error'], accessLog: acc,
    servers: [{ listen: '127.0.0.1:0', locations: { '/': { content: (r: Request) => { r.say('hi'); } }, '/boom': { content: () => { throw new Error('boom'); } } } }],
  });
  try {
    for (let i = 0; i < 20; i++) await raw(s.port, get(`/before/${i}`), { responses: 1 });
    await raw(s.port, get('/boom'), { responses: 1 });
    renameSync(acc, acc + '.1');
    renameSync(err, err + '.1');
    // a request between the move and the reopen is logged in the moved file (as nginx's)
    await raw(s.port, get('/between'), { responses: 1 });
    s.reopenLogs();
    assert.ok(existsSync(acc) && existsSync(err), 'the reopen created the files anew');
    for (let i = 0; i < 20; i++) await raw(s.port, get(`/after/${i}`), { responses: 1 });
    await raw(s.port, get('/boom'), { responses: 1 });
    await s.flushLogs();
    const old = lines(acc + '.1');
    const now = lines(acc);
    assert.is(old.length, 22, 'the moved access log: 20 + /boom + /between');
    assert.ok(old.slice(0, 20).every((l, i) => l.includes(`"GET /before/${i} HTTP/1.1" 200 `)), 'in order');
    assert.match(old[21], /"GET \/between HTTP\/1.1" 200 /);
    assert.is(now.length, 21, 'the new access log');
    assert.ok(now.slice(0, 20).every((l, i) => l.includes(`"GET /after/${i} HTTP/1.1" 200 `)), 'in order');
    assert.is(lines(err + '.1').filter((l) => l.includes('[error]')).length, 1, 'the old error log: one error');
    assert.is(lines(err).filter((l) => l.includes('[error]')).length, 1, 'the new error log: one error');
    await raw(s.port, get('/last'), { responses: 1 });
  } finally {
    await s.close();
  }
  try {
    assert.match(lines(acc).at(-1) ?? '', /"GET \/last HTTP\/1.1" 200 /, 'close wrote the last line');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}));

test.run();
