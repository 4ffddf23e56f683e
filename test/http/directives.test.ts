// Every directive in every block it is allowed in: accepted there, and what the request reads
// (its location's Directives) is that value — set in the location, or inherited from the server
// or the top level; refused (by resolveConfig, as -t) in the blocks that do not take it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveConfig, type ResolvedConfig } from '../../src/http/conf/config.js';
import { DirectiveTable } from '../../src/http/conf/directives.js';
import { MODULES } from '../../src/modules.js';
import type { Block } from '../../src/http/conf/module.js';
import { UppercaseFilter } from '../../examples/filters/uppercase.js';

/** A value for each directive that differs from its default. */
const SAMPLE: Record<string, unknown> = {
  clientMaxBodySize: '2m', clientBodyTimeout: '5s', clientHeaderTimeout: '6s', largeClientHeaderBuffers: '2 4k',
  keepaliveTimeout: '7s', keepaliveRequests: 9, keepaliveTime: '2h', keepaliveDisable: 'safari', sendTimeout: '8s', root: '/srv', alias: '/srv/a/',
  defaultType: 'text/x-sample', types: { 'text/x-sample': 'smp' }, internal: true, serverTokens: true,
  chunkedTransferEncoding: false, errorLog: 'off', tcpNodelay: false, ifModifiedSince: 'before', maxRanges: 3,
  filterTrace: true, workerConnections: 64, workerProcesses: 2, masterProcess: true, pid: "run/x.pid", workerShutdownTimeout: "5s", gzip: true, gzipTypes: 'text/css', gzipMinLength: 100,
  gzipCompLevel: 5, gzipVary: true, addHeader: [['X-Sample', '1']], expires: '1h', index: 'main.html',
  accessLog: 'stdout', rewriteHandler: () => {}, access: () => {}, content: () => {}, needRequestBody: true, proxyPass: 'http://127.0.0.1:9', stubStatus: true, logFormat: { main: '$remote_addr $status' },
  proxySetHeader: { 'X-Sample': '1' }, proxyRedirect: 'off', proxyPassRequestHeaders: false,
  proxyPassRequestBody: false, proxyHttpVersion: '1.0', proxyConnectTimeout: '3s', proxySendTimeout: '3s',
  proxyReadTimeout: '3s', proxyNextUpstream: 'off', proxyNextUpstreamTries: 2, proxyInterceptErrors: true, return: [204], filters: [UppercaseFilter],
  proxySslProtocols: 'TLSv1.2 TLSv1.3', proxySslCiphers: 'HIGH', proxySslVerify: true, proxySslTrustedCertificate: '/srv/ca.crt',
  proxySslVerifyDepth: 2, proxySslServerName: true, proxySslName: 'a.test', proxySslCertificate: '/srv/c.crt',
  proxySslCertificateKey: '/srv/c.key', proxySslPasswordFile: '/srv/pw', proxySslSessionReuse: false,
  subrequestDepth: 5, tryFiles: '$uri =404', errorPage: '404 /404.html', recursiveErrorPages: true,
  logNotFound: false, rewrite: '^/a /b last', set: { $x: '1' }, if: [['$arg_x', { return: [204] }]], break: true,
  rewriteLog: true, absoluteRedirect: false, portInRedirect: false, serverNameInRedirect: true, map: { '$uri $m': { default: '1' } },
  subFilter: [['a', 'b']], subFilterOnce: false, subFilterTypes: 'text/plain', subFilterLastModified: true,
  setRealIpFrom: '10.0.0.0/8', realIpHeader: 'X-Forwarded-For', realIpRecursive: true,
  accessRules: ['allow 10.0.0.1', 'deny all'], satisfy: 'any', authBasic: 'sample', authBasicUserFile: '/srv/htpasswd',
  geo: { '$sample_geo': { default: 'x', '10.0.0.0/8': 'y' } },
  sslCertificate: '/srv/a.crt', sslCertificateKey: '/srv/a.key', sslPasswordFile: '/srv/pw', sslProtocols: 'TLSv1.2 TLSv1.3',
  sslCiphers: 'HIGH:!aNULL', sslPreferServerCiphers: true, sslEcdhCurve: 'X25519:prime256v1', sslSessionCache: 'shared:SSL:1m',
  sslSessionTimeout: '10m', sslSessionTickets: false, sslStapling: false, sslClientCertificate: '/srv/ca.crt', sslVerifyClient: 'optional',
  limitReqZone: '$binary_remote_addr zone=one:1m rate=1r/s', limitReq: 'zone=one burst=5',
  limitReqStatus: 429, limitReqLogLevel: 'warn', limitReqDryRun: true,
  limitConnZone: '$binary_remote_addr zone=addr:1m', limitConn: 'addr 10', limitConnStatus: 429,
  limitConnLogLevel: 'info', limitConnDryRun: true,
  openFileCache: 'max=100 inactive=20s', openFileCacheValid: '30s', openFileCacheMinUses: 2, openFileCacheErrors: true,
  openFileCacheEvents: true, aio: 'threads',
};

/** Top-level directives a sample needs beside it (the zone a limit names). */
const NEEDS: Record<string, Record<string, unknown>> = {
  limitReq: { limitReqZone: SAMPLE.limitReqZone },
  limitConn: { limitConnZone: SAMPLE.limitConnZone },
  sslCertificate: { sslCertificateKey: SAMPLE.sslCertificateKey },
  sslCertificateKey: { sslCertificate: SAMPLE.sslCertificate },
  sslVerifyClient: { sslClientCertificate: SAMPLE.sslClientCertificate },
};

const table = new DirectiveTable(MODULES);

function config(block: Block, name: string, v: unknown): unknown {
  const d = { [name]: v };
  const loc = block === 'location' ? d : {};
  const srv = block === 'server' ? d : {};
  const top = block === 'http' ? d : {};
  return { ...NEEDS[name], ...top, servers: [{ listen: 80, ...srv, locations: { '/': loc } }] };
}

/** What the request in location '/' reads for `name`. */
function seen(c: ResolvedConfig, name: string): unknown {
  return (c.servers[0].locations.find('/')!.conf as unknown as Record<string, unknown>)[name];
}

test('every directive has a sample here (a new one must be added)', () => {
  for (const e of table.list) assert.ok(e.name in SAMPLE, `no sample for ${e.name}`);
});

for (const e of table.list) {
  test(`${e.name}: taken where allowed (${(e.cmd.blocks as readonly string[]).join(', ')}), refused elsewhere`, () => {
    const want = e.cmd.set(SAMPLE[e.name], e.name);
    for (const b of ['http', 'server', 'location'] as const) {
      const allowed = (e.cmd.blocks as readonly Block[]).includes(b);
      let c: ResolvedConfig | null = null;
      let err: Error | null = null;
      try { c = resolveConfig(config(b, e.name, SAMPLE[e.name])); } catch (x) { err = x as Error; }
      if (!allowed) {
        assert.ok(err !== null && err.message.includes(`"${e.name}" directive is not allowed here`), `${e.name} refused in ${b}: ${err?.message}`);
        continue;
      }
      assert.is(err, null, `${e.name} in ${b}: ${err?.message}`);
      const v = seen(c!, e.name);
      if (b === 'location' || e.cmd.inherit) {
        // the location the request runs in reads the value (set there or inherited)
        assert.equal(JSON.stringify(v, replacer), JSON.stringify(want, replacer), `${e.name} set in ${b} reaches the location`);
      } else {
        assert.equal(JSON.stringify(v, replacer), JSON.stringify(e.cmd.def, replacer), `${e.name} in ${b} is not inherited`);
      }
      if (b === 'http' || b === 'server') {
        const srv = (c!.servers[0].conf as unknown as Record<string, unknown>)[e.name];
        assert.equal(JSON.stringify(srv, replacer), JSON.stringify(want, replacer), `${e.name} in ${b}: the server's conf`);
      }
    }
  });
}

/** Maps and functions compared by content and identity-free shape. */
function replacer(_k: string, v: unknown): unknown {
  if (v instanceof Map) return [...v.entries()];
  if (v instanceof Set) return [...v.values()];
  if (typeof v === 'function') return 'fn:' + (v.name || 'anonymous') + ':' + String(v).length;
  if (_k === 'group') return undefined; // proxyPass's upstream group, bound after the walk
  return v;
}

test.run();
