// cf. nginx-tests proxy_websocket.t — differential cases for Upgrade through proxyPass: nginx's
// idiom (proxy_http_version 1.1, Upgrade and Connection from proxy_set_header with the usual
// map) gives the same 101 (Upgrade, Connection: upgrade), the upstream gets the same head, and a
// message echoed through the tunnel comes back the same; without the idiom, or without an
// Upgrade from the client, it is a plain proxied response on both.
import { diffSuite, type DiffCase } from './harness.js';

const MAP = 'map $http_upgrade $connection_upgrade { default upgrade; \'\' close; }';
const SLUICE_MAP = { '$http_upgrade $connection_upgrade': { default: 'upgrade', '': 'close' } };

const upgrade = (path: string, extra: Record<string, string> = {}) => ({
  name: `GET ${path} (Upgrade: websocket)`,
  path,
  headers: { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13', ...extra },
  tunnel: { send: 'one message through the tunnel\n', until: 'one message through the tunnel\n' },
});

const cases: DiffCase[] = [
  {
    name: 'nginx\'s WebSocket idiom: the 101, the upstream\'s head, and a message echoed through the tunnel',
    upstreams: true,
    headers: ['upgrade', 'x-upstream'],
    nginx: `${MAP}
      server { listen 127.0.0.1:\${PORT};
        location / { proxy_pass http://127.0.0.1:\${UP1}; proxy_http_version 1.1;
          proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade; }
      }`,
    sluice: (env) => ({
      map: SLUICE_MAP,
      servers: [{
        listen: `127.0.0.1:${env.port}`,
        locations: {
          '/': {
            proxyPass: `http://127.0.0.1:${env.up1}`, proxyHttpVersion: '1.1',
            proxySetHeader: { Upgrade: '$http_upgrade', Connection: '$connection_upgrade' },
          },
        },
      }],
    }),
    requests: [
      { ...upgrade('/upgrade/ws'), status: 101 },
      // the same location without an Upgrade: the map's "close", a plain answer
      { path: '/upgrade/plain', status: 200 },
      // an upstream that does not switch (no /upgrade in the path): 200, the client stays on HTTP
      { ...upgrade('/other'), status: 200 },
    ],
    differences: [{ id: 'upgrade-101-content-length', request: 0, headers: ['content-length'] }],
  },
  {
    name: 'without proxy_set_header Upgrade the client\'s Upgrade is not passed: no switch',
    upstreams: true,
    headers: ['upgrade', 'x-upstream'],
    nginx: `server { listen 127.0.0.1:\${PORT};
        location / { proxy_pass http://127.0.0.1:\${UP1}; proxy_http_version 1.1; }
      }`,
    sluice: (env) => ({ locations: { '/': { proxyPass: `http://127.0.0.1:${env.up1}`, proxyHttpVersion: '1.1' } } }),
    requests: [{ ...upgrade('/upgrade/ws'), status: 200 }],
  },
];

diffSuite('upgrade', cases);
