// The two system calls per connection that nginx does not make and sluice makes only when needed
// (src/core/conn.ts): getpeername(2) for the client's address — nginx has it from accept(2) —
// and setsockopt(2) for TCP_NODELAY, which nginx sets when a connection goes keep-alive and
// sluice before a connection's second write. Each costs a few microseconds on these machines,
// on every connection of a connection-per-request load.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Socket } from 'node:net';
import { Conn } from '../../src/core/conn.js';
import { startServer, type SluiceConfig, type SluiceServer } from '../../src/index.js';
import { RawClient } from '../helpers.js';
import { FakeSocket, turn, writesAtOnce } from '../core/fake-socket.js';

/** The fake socket, with its address read as getpeername would be: logged. */
class LoggingSocket extends FakeSocket {
  override get remoteAddress(): string { this.log.push('getpeername'); return '10.0.0.7'; }
  override get remotePort(): number { this.log.push('getpeername'); return 4321; }
}

function conn(): [Conn, LoggingSocket] {
  const s = new LoggingSocket();
  return [new Conn(s as unknown as Socket), s];
}

test('TCP_NODELAY: not for the first write, set before the second', () => writesAtOnce(() => {
  const [c, s] = conn();
  c.noDelay(true);
  assert.equal(s.log, [], 'nothing at once');
  c.sendv(['one'], 1, 3);
  assert.equal(s.log, ['write one']);
  c.sendv(['two'], 1, 3);
  c.sendv(['three'], 1, 5);
  assert.equal(s.log, ['write one', 'nodelay true', 'write two', 'write three'], 'once, before the second write');
}));

test('TCP_NODELAY: before the next write when one has gone already; at once when asked (TLS); never when off', () => writesAtOnce(() => {
  let [c, s] = conn();
  c.sendv(['one'], 1, 3);
  c.noDelay(true);
  assert.equal(s.log, ['write one']);
  c.noDelay(false);
  c.noDelay(true);
  c.sendv(['two'], 1, 3);
  assert.equal(s.log, ['write one', 'nodelay true', 'write two'], 'changes between writes cost nothing');
  [c, s] = conn();
  c.noDelay(true, true);
  assert.equal(s.log, ['nodelay true']);
  [c, s] = conn();
  c.noDelay(false);
  c.sendv(['one'], 1, 3);
  c.sendv(['two'], 1, 3);
  assert.equal(s.log, ['write one', 'write two']);
}));

test('TCP_NODELAY: turned off again once set (a location with tcpNodelay off); gathered writes count once', () => writesAtOnce(() => {
  const [c, s] = conn();
  c.noDelay(true);
  c.batch();
  c.sendv(['a'], 1, 1);
  c.sendv(['b'], 1, 1);
  c.flush();
  assert.equal(s.log, ['write ab'], 'one write for what one read produced');
  c.sendv(['c'], 1, 1);
  c.noDelay(false);
  c.sendv(['d'], 1, 1);
  c.noDelay(true);
  c.noDelay(false);
  c.sendv(['e'], 1, 1);
  assert.equal(s.log, ['write ab', 'nodelay true', 'write c', 'nodelay false', 'write d', 'write e']);
}));

test('held output: the sends of one turn leave in one write when the turn\'s I/O is done, TCP_NODELAY before the second', async () => {
  const [c, s] = conn();
  c.noDelay(true);
  c.sendv(['one'], 1, 3);
  c.sendv(['two'], 1, 3);
  assert.equal(s.log, [], 'held until the check phase');
  await turn();
  assert.equal(s.log, ['write onetwo'], 'one write, and the first: no setsockopt');
  c.batch();
  c.sendv(['three'], 1, 5);
  c.flush();
  assert.equal(s.log, ['write onetwo']);
  await turn();
  assert.equal(s.log, ['write onetwo', 'nodelay true', 'write three']);
});

test('the peer address: read when first asked for, once; keepPeer() reads it if not yet', () => {
  let [c, s] = conn();
  c.sendv(['x'], 1, 1);
  assert.not.ok(s.log.includes('getpeername'), 'not read for nothing');
  assert.is(c.remoteAddress, '10.0.0.7');
  assert.is(c.remotePort, 4321);
  assert.is(c.remoteAddress, '10.0.0.7');
  assert.is(s.log.filter((l) => l === 'getpeername').length, 2, 'address and port read once');
  [c, s] = conn();
  c.keepPeer();
  c.keepPeer();
  assert.is(s.log.length, 2);
  assert.is(c.remotePort, 4321);
  assert.is(s.log.length, 2);
});

// ---- on real connections: count the calls Node's sockets get

// (remoteAddress is a getter that cannot be replaced; the method behind it, where Node calls
// getpeername(2) and keeps the answer, can: test code only)
const proto = Socket.prototype as unknown as { _getpeername: (this: Socket) => unknown };

/**
 * Run `fn` counting setNoDelay calls on the TCP handles of the server's sockets (the accepted
 * ones and the upstream ones it connects; not the test's clients) — at the handle, where Node's
 * `noDelay` connect option goes too — and the server's peer-address reads.
 */
async function counting(port: number, fn: (n: { nodelay: boolean[]; peer: number }) => Promise<void>): Promise<void> {
  const n = { nodelay: [] as boolean[], peer: 0 };
  // the handles' prototype, from a client's socket (Node's TCP wrap)
  const probe = await client(port);
  const tcp = Object.getPrototypeOf((probe.socket as unknown as { _handle: object })._handle) as { setNoDelay: (this: object, on: boolean) => number };
  probe.close();
  const setNoDelay = tcp.setNoDelay;
  assert.type(setNoDelay, 'function', 'this Node\'s TCP handles have setNoDelay');
  tcp.setNoDelay = function (this: object, on: boolean) {
    if (!clientHandles.has(this)) n.nodelay.push(on !== false);
    return setNoDelay.call(this, on);
  };
  const getpeername = proto._getpeername;
  assert.type(getpeername, 'function', 'this Node has Socket.prototype._getpeername');
  proto._getpeername = function (this: Socket) {
    // (Node asks again for the port; a socket that has its answer does not call getpeername)
    if (!clients.has(this) && (this as unknown as { _peername?: unknown })._peername === undefined) n.peer++;
    return getpeername.call(this);
  };
  try {
    await fn(n);
  } finally {
    tcp.setNoDelay = setNoDelay;
    proto._getpeername = getpeername;
  }
}

const clients = new WeakSet<Socket>();
const clientHandles = new WeakSet<object>();
async function client(port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  clients.add(c.socket);
  clientHandles.add((c.socket as unknown as { _handle: object })._handle);
  return c;
}

let seen: string | undefined;
let started: () => void = () => {};
let release: () => void = () => {};
async function withServer(fn: (s: SluiceServer) => Promise<void>, extra: Partial<SluiceConfig> = {}): Promise<void> {
  const s = await startServer({
    accessLog: false,
    errorLog: { write() {} },
    servers: [{
      listen: '127.0.0.1:0',
      locations: {
        '= /': { content: (r) => { r.say('hello'); } },
        '= /addr': { content: (r) => { r.say(r.var.remote_addr ?? '?'); } },
        '= /later': {
          content: async (r) => {
            // goes on after the client has reset the connection and the socket has closed
            const sock = r.conn!.socket;
            started();
            await new Promise<void>((res) => { if (sock.destroyed) res(); else sock.once('close', () => res()); });
            seen = r.var.remote_addr;
            release();
          },
        },
        '= /off': { tcpNodelay: false, content: (r) => { r.say('off'); } },
      },
    }],
    ...extra,
  } as SluiceConfig);
  try { await fn(s); } finally { await s.close(); }
}

test('a connection answered once (Connection: close): no setsockopt, no getpeername', async () => {
  await withServer(async (s) => {
    await counting(s.addresses()[0].port, async (n) => {
      const c = await client(s.addresses()[0].port);
      const [res] = await c.exchange('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      assert.is(res.status, 200);
      assert.ok(await c.waitClosed());
      assert.equal(n.nodelay, []);
      assert.is(n.peer, 0);
    });
  });
});

test('a keep-alive connection: TCP_NODELAY once, before its second response; tcpNodelay off: never', async () => {
  await withServer(async (s) => {
    await counting(s.addresses()[0].port, async (n) => {
      const c = await client(s.addresses()[0].port);
      await c.exchange('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal(n.nodelay, [], 'the first response goes without it');
      await c.exchange('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      await c.exchange('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal(n.nodelay, [true]);
      c.close();
      const d = await client(s.addresses()[0].port);
      await d.exchange('GET /off HTTP/1.1\r\nHost: a\r\n\r\n');
      await d.exchange('GET /off HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal(n.nodelay, [true], 'a location with tcpNodelay off never sets it (the server\'s on, the location\'s off: no call)');
      d.close();
    });
  });
});

test('$remote_addr is read when asked for, and a request that outlives the client still has it', async () => {
  await withServer(async (s) => {
    await counting(s.addresses()[0].port, async (n) => {
      const c = await client(s.addresses()[0].port);
      const [res] = await c.exchange('GET /addr HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.is(res.body.toString(), '127.0.0.1\n');
      assert.is(n.peer, 1);
      c.close();
      seen = undefined;
      const running = new Promise<void>((r) => { started = r; });
      const done = new Promise<void>((r) => { release = r; });
      const d = await client(s.addresses()[0].port);
      d.write('GET /later HTTP/1.1\r\nHost: a\r\n\r\n');
      await running; // the handler runs (its head was read): now the client resets
      d.socket.resetAndDestroy();
      await done;
      assert.is(seen, '127.0.0.1', 'read while the socket was open (the request outlived its read)');
    });
  });
});

test('an upstream connection: TCP_NODELAY before its second request, not with its first', async () => {
  await withServer(async (back) => {
    const s = await startServer({
      accessLog: false,
      errorLog: { write() {} },
      upstreams: { b: { servers: [`127.0.0.1:${back.addresses()[0].port}`], keepalive: 4 } },
      servers: [{ listen: '127.0.0.1:0', locations: { '/': { proxyPass: 'http://b' } } }],
    } as SluiceConfig);
    try {
      await counting(s.addresses()[0].port, async (n) => {
        const c = await client(s.addresses()[0].port);
        const [a] = await c.exchange('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
        assert.is(a.body.toString(), 'hello\n');
        assert.equal(n.nodelay, [], 'one request: no socket of the three (client side, upstream, backend side) set it');
        const [b] = await c.exchange('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
        assert.is(b.body.toString(), 'hello\n');
        assert.equal(n.nodelay, [true, true, true], 'before each one\'s second write: the upstream connection was kept and used again');
        c.close();
      });
    } finally {
      await s.close();
    }
  });
});

test.run();
