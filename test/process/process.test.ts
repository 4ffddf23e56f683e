// Run as nginx is run (issue 12's "Must show"): sluice started as a command, in one process and
// as a master with workers, driven by signals and `sluice -s`, under a load generator of the
// test's own that counts what it sent and what came back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { timed } from '../helpers.js';
import { Load, Running, listeningPorts, prefixDir, writeConfig } from './run.js';

/** A site that answers "<tag> <pid>" and, on /slow, after `slowMs` (announced on stderr). */
function site(tag: string, workers: number | null, extra = ''): string {
  return `export default {
  ${workers === null ? '' : `workerProcesses: ${workers},`}
  errorLog: ['stderr', 'notice'],
  ${extra}
  servers: [{ listen: '127.0.0.1:0', locations: {
    '/': { content: (r) => { r.say('${tag} ' + process.pid); } },
    '/slow': { content: async (r) => { process.stderr.write('slow request started\\n'); await new Promise((d) => setTimeout(d, 1500)); r.say('slow done ${tag}'); } },
  } }],
};\n`;
}

const MODES: [string, number | null][] = [['one process', null], ['master + 2 workers', 2]];

for (const [mode, workers] of MODES) {
  test(`${mode}: reload under load, 0 failed requests, the new config in force afterwards`, timed(60000, async () => {
    const dir = prefixDir();
    const conf = writeConfig(dir, 'site.mjs', site('v1', workers));
    const s = new Running(dir, conf);
    let load: Load | null = null;
    try {
      const port = await s.started();
      const before = listeningPorts(s.pid);
      load = new Load(port, 8);
      await load.until(() => load!.ok >= 300);
      writeConfig(dir, 'site.mjs', site('v2', workers));
      const mark = s.stderr.length;
      s.signal('reload', conf);
      await s.line(workers === null ? /reconfigured/ : /start worker process/, mark);
      // every client has had answers from the new config, and 300 more after the first of them
      let firstNew = -1;
      await load.until(() => { if (firstNew < 0 && load!.bodies.size > 0 && [...load!.bodies.keys()].some((b) => b.startsWith('v2'))) firstNew = load!.ok; return firstNew >= 0 && load!.ok >= firstNew + 300 && load!.last.every((b) => b.startsWith('v2')); });
      await load.stop();
      assert.is(load.failed, 0, load.summary());
      assert.is(load.sent, load.ok, load.summary());
      // new connections: the new config only, on the same port
      const fresh = new Load(port, 4);
      await fresh.until(() => fresh.ok >= 40);
      await fresh.stop();
      assert.is(fresh.failed, 0);
      assert.ok([...fresh.bodies.keys()].every((b) => b.startsWith('v2')), [...fresh.bodies.keys()].join(','));
      if (workers === null) assert.equal(listeningPorts(s.pid), before, 'one process keeps its listening socket');
      console.log(`  ${mode} reload: ${load.summary()}`);
    } finally {
      await load?.stop();
      await s.kill();
    }
  }));

  test(`${mode}: a reload with a bad config logs the error and the old config goes on serving`, timed(60000, async () => {
    const dir = prefixDir();
    const conf = writeConfig(dir, 'site.mjs', site('v1', workers));
    const s = new Running(dir, conf);
    try {
      const port = await s.started();
      const pids = s.workers();
      writeConfig(dir, 'site.mjs', `export default { servers: [{ listen: '127.0.0.1:0', locations: { '/': { clientMaxBodySise: '1m' } } }] };\n`);
      const mark = s.stderr.length;
      // (`sluice -s reload` would read the bad config to find the pid file and stop there, as nginx does)
      process.kill(s.pid, 'SIGHUP');
      await s.line(/\[emerg\] .*clientMaxBodySise/, mark);
      await s.line(/reload of .* failed, the old configuration goes on/, mark);
      const load = new Load(port, 4);
      await load.until(() => load.ok >= 40);
      await load.stop();
      assert.is(load.failed, 0, load.summary());
      assert.ok([...load.bodies.keys()].every((b) => b.startsWith('v1')), [...load.bodies.keys()].join(','));
      assert.equal(s.workers(), pids, 'no worker was started or stopped');
      assert.is(s.child.exitCode, null, 'still running');
    } finally {
      await s.kill();
    }
  }));

  test(`${mode}: graceful quit under load, 0 failed requests, a long request allowed to finish`, timed(60000, async () => {
    const dir = prefixDir();
    const conf = writeConfig(dir, 'site.mjs', site('v1', workers));
    const s = new Running(dir, conf);
    let load: Load | null = null;
    try {
      const port = await s.started();
      load = new Load(port, 8);
      const slow = new Load(port, 1, '/slow');
      await s.line(/slow request started/);
      await load.until(() => load!.ok >= 200);
      // what is in flight when the signal goes must all be answered; nothing new is sent after
      const stopping = load.stop();
      const stoppingSlow = slow.stop();
      s.signal('quit', conf);
      await stopping;
      await stoppingSlow;
      const exit = await s.exited;
      assert.is(load.failed, 0, load.summary());
      assert.is(load.sent, load.ok, load.summary());
      assert.is(slow.ok, 1, slow.summary());
      assert.equal([...slow.bodies.keys()], ['slow done v1\n']);
      assert.equal(exit, { code: 0, signal: null }, s.stderr);
      assert.match(s.stderr, /signal 3 \(SIGQUIT\) received, shutting down/);
      assert.not.ok(existsSync(join(dir, 'logs/sluice.pid')), 'the pid file is removed at exit');
    } finally {
      await load?.stop();
      await s.kill();
    }
  }));

  test(`${mode}: SIGUSR1 opens no port (no inspector), and HUP, USR2 do not kill`, timed(60000, async () => {
    const dir = prefixDir();
    const conf = writeConfig(dir, 'site.mjs', site('v1', workers));
    const s = new Running(dir, conf);
    try {
      const port = await s.started();
      const targets = workers === null ? [s.pid] : [s.pid, ...s.workers()];
      for (const pid of targets) {
        const mark = s.stderr.length;
        process.kill(pid, 'SIGUSR1');
        await s.line(/signal 10 \(SIGUSR1\) received, reopening logs/, mark);
      }
      const mark = s.stderr.length;
      process.kill(s.pid, 'SIGUSR2');
      await s.line(/signal 12 \(SIGUSR2\) received, ignored/, mark);
      for (const pid of targets) {
        const ports = listeningPorts(pid);
        assert.ok(!ports.includes(9229), `pid ${pid} listens on ${ports}`);
        // a worker shares the master's socket (its fd is the same listening socket)
        assert.ok(ports.every((p) => p === port), `pid ${pid} listens only on ${port}: ${ports}`);
      }
      assert.not.match(s.stderr, /Debugger listening/);
      const refused = await new Promise<boolean>((res) => {
        const c = connect(9229, '127.0.0.1');
        c.on('connect', () => { c.destroy(); res(false); });
        c.on('error', () => res(true));
      });
      assert.ok(refused || !targets.some((p) => listeningPorts(p).includes(9229)), 'nothing of ours on 9229');
      const load = new Load(port, 2);
      await load.until(() => load.ok >= 10);
      await load.stop();
      assert.is(load.failed, 0);
      assert.is(s.child.exitCode, null);
    } finally {
      await s.kill();
    }
  }));
}

test('master: a killed worker is replaced (nginx\'s log line) while the others keep serving', timed(60000, async () => {
  const dir = prefixDir();
  const conf = writeConfig(dir, 'site.mjs', site('v1', 3));
  const s = new Running(dir, conf);
  let load: Load | null = null;
  try {
    const port = await s.started();
    const pids = s.workers();
    assert.is(pids.length, 3);
    load = new Load(port, 12);
    await load.until(() => load!.ok >= 300);
    const mark = s.stderr.length;
    const victim = pids[0];
    process.kill(victim, 'SIGKILL');
    await s.line(new RegExp(`\\[alert\\] \\d+#0: worker process ${victim} exited on signal 9`), mark);
    const m = await s.line(/start worker process (\d+)/, mark);
    const fresh = Number(m[1]);
    const at = load.ok;
    // the others kept serving, and the new one serves too
    await load.until(() => load!.ok >= at + 300 && (load!.bodies.get(`v1 ${fresh}\n`) ?? 0) > 0);
    await load.stop();
    // only the requests the killed worker held can be lost: one per connection it had at most
    assert.ok(load.failed + load.retried <= 12, load.summary());
    for (const p of pids.slice(1)) assert.ok((load.bodies.get(`v1 ${p}\n`) ?? 0) > 0, `worker ${p} served`);
    console.log(`  kill -9 a worker: ${load.summary()}`);
  } finally {
    await load?.stop();
    await s.kill();
  }
}));


for (const [mode, workers] of MODES) {
  test(`${mode}: reopen after the access log was moved, no line lost (-s reopen)`, timed(60000, async () => {
    const dir = prefixDir();
    const conf = writeConfig(dir, 'site.mjs', site('v1', workers, `accessLog: 'logs/access.log',`));
    const s = new Running(dir, conf);
    let load: Load | null = null;
    try {
      const port = await s.started();
      load = new Load(port, 6);
      await load.until(() => load!.ok >= 200);
      renameSync(join(dir, 'logs/access.log'), join(dir, 'logs/access.log.1'));
      const mark = s.stderr.length;
      s.signal('reopen', conf);
      await s.line(/reopening logs/, mark);
      const at = load.ok;
      await load.until(() => load!.ok >= at + 200 && existsSync(join(dir, 'logs/access.log')));
      const stopping = load.stop();
      s.signal('quit', conf);
      await stopping;
      await s.exited; // every line is written at exit
      const count = (f: string) => readFileSync(join(dir, f), 'latin1').split('\n').filter((l) => l.includes('"GET / HTTP/1.1" 200')).length;
      const old = count('logs/access.log.1');
      const now = count('logs/access.log');
      assert.is(load.failed, 0, load.summary());
      assert.ok(now > 0, 'lines go to the new file after the reopen');
      assert.is(old + now, load.ok, `old ${old} + new ${now} lines for ${load.ok} answers`);
    } finally {
      await load?.stop();
      await s.kill();
    }
  }));
}


/** One GET on a connection of its own (Connection: close): the status and the body. */
function once(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    let data = '';
    c.setEncoding('latin1');
    c.on('data', (d: string) => { data += d; });
    c.on('error', reject);
    c.on('end', () => {
      const at = data.indexOf('\r\n\r\n');
      resolve({ status: Number(data.slice(9, 12)), body: at < 0 ? '' : data.slice(at + 4) });
    });
    c.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  });
}

test('master + 2 workers: stub_status sums every worker\'s counters', timed(60000, async () => {
  const dir = prefixDir();
  const conf = writeConfig(dir, 'site.mjs', `export default {
  workerProcesses: 2,
  servers: [{ listen: '127.0.0.1:0', locations: {
    '/': { content: (r) => { r.say(String(process.pid)); } },
    '= /status': { stubStatus: true },
  } }],
};\n`);
  const s = new Running(dir, conf);
  try {
    const port = await s.started();
    // until both workers have answered (the kernel spreads connections), at most 400 requests
    const seen = new Set<string>();
    let sent = 0;
    while (sent < 400 && (seen.size < 2 || sent < 20)) {
      const r = await once(port, '/');
      assert.is(r.status, 200);
      seen.add(r.body.trim());
      sent++;
    }
    assert.is(seen.size, 2, 'both workers served');
    // a worker counts a connection as closed when its socket's close event comes, which may be
    // after the client saw the end: ask again (bounded) until only the asking connection is open
    let asked = 0;
    let m: RegExpExecArray | null = null;
    let body = '';
    do {
      const st = await once(port, '/status');
      assert.is(st.status, 200);
      asked++;
      body = st.body;
      m = /^Active connections: (\d+) \nserver accepts handled requests\n (\d+) (\d+) (\d+) \n/.exec(body);
      assert.ok(m !== null, body);
    } while (Number(m![1]) !== 1 && asked < 50);
    assert.is(Number(m![1]), 1, `active: the status request's own connection: ${body}`);
    // every connection was one request; the status requests themselves are counted too
    assert.is(Number(m![2]), sent + asked, `accepts over both workers: ${body}`);
    assert.is(Number(m![3]), sent + asked, 'handled');
    assert.is(Number(m![4]), sent + asked, 'requests');
  } finally {
    await s.kill();
  }
}));

for (const [mode, workers] of MODES) {
  test(`${mode}: QUIT with a request that never ends: workerShutdownTimeout closes it and the process exits`, timed(60000, async () => {
    const dir = prefixDir();
    const conf = writeConfig(dir, 'site.mjs', `export default {
  ${workers === null ? '' : `workerProcesses: ${workers},`}
  workerShutdownTimeout: '1s',
  servers: [{ listen: '127.0.0.1:0', locations: {
    '/hang': { content: (r) => { process.stderr.write('hang started\\n'); return new Promise(() => {}); } },
  } }],
};\n`);
    const s = new Running(dir, conf);
    try {
      const port = await s.started();
      const c = connect(port, '127.0.0.1');
      const closed = new Promise<string>((res) => { let d = ''; c.on('data', (x) => { d += x; }); c.on('close', () => res(d)); c.on('error', () => {}); });
      c.write('GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await s.line(/hang started/);
      process.kill(s.pid, 'SIGQUIT');
      const ended = await s.exited;
      assert.is(ended.code, 0, s.stderr);
      assert.is(await closed, '', 'the hanging request was cut, with nothing sent');
    } finally {
      await s.kill();
    }
  }));
}

test('master + 2 workers: a conflicting server name is warned about once, not once per worker', timed(60000, async () => {
  const dir = prefixDir();
  const conf = writeConfig(dir, 'site.mjs', `export default {
  workerProcesses: 2,
  errorLog: ['stderr', 'warn'],
  servers: [
    { listen: '127.0.0.1:0', serverName: 'dup.test', locations: { '/': { content: (r) => { r.say(String(process.pid)); } } } },
    { listen: '127.0.0.1:0', serverName: 'dup.test', locations: { '/': { return: [200, 'b'] } } },
  ],
};\n`);
  const s = new Running(dir, conf);
  try {
    const port = await s.started();
    // both workers are up once both have answered (each would have warned while starting)
    const seen = new Set<string>();
    for (let i = 0; i < 400 && seen.size < 2; i++) seen.add((await once(port, '/')).body.trim());
    assert.is(seen.size, 2, 'both workers served');
    const n = s.stderr.split('conflicting server name "dup.test"').length - 1;
    assert.is(n, 1, s.stderr);
  } finally {
    await s.kill();
  }
}));

test.run();
