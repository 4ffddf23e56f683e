// cf. nginx-tests proxy_ssl.t, proxy_ssl_verify.t, proxy_ssl_name.t, proxy_ssl_keepalive.t —
// differential cases for https upstreams: a successful proxy with verification off and on, the
// certificate errors (18, 19, 21, 10, a chain past proxy_ssl_verify_depth, a name mismatch) answered 502 with nginx's log line
// on both sides, SNI only with proxy_ssl_server_name, and sessions resumed on the next connection.
// The https upstreams are started here (the harness's echo upstreams are plain), before the suite,
// and their ports written into both configs; they answer "ok <url> sni=... reused=...".
import { diffSuite, type DiffCase } from './harness.js';
import { tlsUpstream, upstreamCerts } from '../upstream/tls-upstreams.js';

const certs = upstreamCerts();
const up = async (pem: keyof typeof certs.pem) => (await tlsUpstream(certs.pem[pem], { describe: true, unref: true })).port;
const GOOD = await up('localhost');
const SELF = await up('self');
const CHAINED = await up('chained');
const ROGUE = await up('rogue');
const EXPIRED = await up('expired');
const DEEP = await up('deep');
const SESSIONS = await up('localhost');
const SHARED = await up('localhost');
const KA = await up('localhost');
const CA = certs.ca;

/** The error line both sides must log for a refused certificate at `path`. */
const refused = (reason: string, path: string, port: number) => new RegExp(
  `\\[error\\] \\d+#\\d+: \\*\\w+ upstream SSL certificate ${reason.replace(/[()]/g, '\\$&')} while SSL handshaking to upstream, `
  + `client: 127\\.0\\.0\\.1, server: , request: "GET ${path.replace(/\?/g, '\\?')} HTTP/1\\.1", upstream: "https://127\\.0\\.0\\.1:${port}${path.replace(/\?/g, '\\?')}", host: "localhost"`,
);

const cases: DiffCase[] = [
  {
    name: 'https upstream: verification off (any certificate) and on (the trusted CA, the name given)',
    nginx: `server { listen 127.0.0.1:\${PORT}; proxy_http_version 1.1; proxy_ssl_session_reuse off;
      location /off/ { proxy_pass https://127.0.0.1:${SELF}; }
      location /on/ { proxy_pass https://127.0.0.1:${GOOD}; proxy_ssl_verify on; proxy_ssl_trusted_certificate ${CA}; proxy_ssl_name localhost; }
      location /uri/ { proxy_pass https://127.0.0.1:${GOOD}/other/; }
    }`,
    sluice: () => ({
      proxyHttpVersion: '1.1',
      proxySslSessionReuse: false,
      locations: {
        '/off/': { proxyPass: `https://127.0.0.1:${SELF}` },
        '/on/': { proxyPass: `https://127.0.0.1:${GOOD}`, proxySslVerify: true, proxySslTrustedCertificate: CA, proxySslName: 'localhost' },
        '/uri/': { proxyPass: `https://127.0.0.1:${GOOD}/other/` },
      },
    }),
    requests: [{ path: '/off/a?b=c', status: 200 }, { path: '/on/x', status: 200 }, { path: '/uri/y', status: 200 }],
  },
  {
    name: 'https upstream, verify on: bad certificates are 502 with nginx\'s log line',
    nginx: `server { listen 127.0.0.1:\${PORT}; proxy_http_version 1.1; proxy_ssl_verify on; proxy_ssl_trusted_certificate ${CA}; proxy_ssl_name localhost;
      proxy_ssl_session_reuse off;
      location /self/ { proxy_pass https://127.0.0.1:${SELF}; }
      location /chained/ { proxy_pass https://127.0.0.1:${CHAINED}; }
      location /rogue/ { proxy_pass https://127.0.0.1:${ROGUE}; }
      location /expired/ { proxy_pass https://127.0.0.1:${EXPIRED}; }
      location /deep/ { proxy_pass https://127.0.0.1:${DEEP}; proxy_ssl_verify_depth 0; }
      location /deep1/ { proxy_pass https://127.0.0.1:${DEEP}; }
      location /deep2/ { proxy_pass https://127.0.0.1:${DEEP}; proxy_ssl_verify_depth 2; }
      location /d0/ { proxy_pass https://127.0.0.1:${GOOD}; proxy_ssl_verify_depth 0; }
      location /name/ { proxy_pass https://127.0.0.1:${GOOD}; proxy_ssl_name other.test; }
      location /ip/ { proxy_pass https://127.0.0.1:${GOOD}; proxy_ssl_name $proxy_host; }
    }`,
    sluice: () => ({
      proxyHttpVersion: '1.1',
      proxySslVerify: true,
      proxySslTrustedCertificate: CA,
      proxySslName: 'localhost',
      proxySslSessionReuse: false,
      locations: {
        '/self/': { proxyPass: `https://127.0.0.1:${SELF}` },
        '/chained/': { proxyPass: `https://127.0.0.1:${CHAINED}` },
        '/rogue/': { proxyPass: `https://127.0.0.1:${ROGUE}` },
        '/expired/': { proxyPass: `https://127.0.0.1:${EXPIRED}` },
        '/deep/': { proxyPass: `https://127.0.0.1:${DEEP}`, proxySslVerifyDepth: 0 },
        '/deep1/': { proxyPass: `https://127.0.0.1:${DEEP}` },
        '/deep2/': { proxyPass: `https://127.0.0.1:${DEEP}`, proxySslVerifyDepth: 2 },
        '/d0/': { proxyPass: `https://127.0.0.1:${GOOD}`, proxySslVerifyDepth: 0 },
        '/name/': { proxyPass: `https://127.0.0.1:${GOOD}`, proxySslName: 'other.test' },
        '/ip/': { proxyPass: `https://127.0.0.1:${GOOD}`, proxySslName: '$proxy_host' },
      },
    }),
    requests: [
      { path: '/self/a', status: 502, log: refused('verify error: (18:self-signed certificate)', '/self/a', SELF) },
      { path: '/chained/b?x=1', status: 502, log: refused('verify error: (19:self-signed certificate in certificate chain)', '/chained/b?x=1', CHAINED) },
      { path: '/rogue/c', status: 502, log: refused('verify error: (21:unable to verify the first certificate)', '/rogue/c', ROGUE) },
      { path: '/expired/d', status: 502, log: refused('verify error: (10:certificate has expired)', '/expired/d', EXPIRED) },
      { path: '/deep/e', status: 502, log: refused('verify error: (20:unable to get local issuer certificate)', '/deep/e', DEEP) },
      { path: '/deep1/e' },
      { path: '/deep2/e' },
      { path: '/d0/e' },
      { path: '/name/f', status: 502, log: refused('does not match "other.test"', '/name/f', GOOD) },
      // $proxy_host is "127.0.0.1:port": the port is cut off, and an IP never matches (X509_check_host)
      { path: '/ip/g', status: 502, log: refused('does not match "127.0.0.1"', '/ip/g', GOOD) },
    ],
  },
  {
    name: 'https upstream: SNI only with proxy_ssl_server_name on (the upstream name, the given name, never an IP)',
    nginx: `upstream backend { server 127.0.0.1:${GOOD}; }
      server { listen 127.0.0.1:\${PORT}; proxy_http_version 1.1;
      location /named/ { proxy_pass https://backend; proxy_ssl_server_name on; proxy_ssl_session_reuse off; }
      location /named-off/ { proxy_pass https://backend; proxy_ssl_session_reuse off; }
      location /ip/ { proxy_pass https://127.0.0.1:${GOOD}; proxy_ssl_server_name on; proxy_ssl_session_reuse off; }
      location /given/ { proxy_pass https://127.0.0.1:${GOOD}; proxy_ssl_server_name on; proxy_ssl_name $arg_n; proxy_ssl_session_reuse off; }
    }`,
    sluice: (env) => ({
      upstreams: { backend: { servers: [`127.0.0.1:${GOOD}`] } },
      servers: [{
        listen: `127.0.0.1:${env.port}`,
        proxyHttpVersion: '1.1',
        proxySslSessionReuse: false,
        locations: {
          '/named/': { proxyPass: 'https://backend', proxySslServerName: true },
          '/named-off/': { proxyPass: 'https://backend' },
          '/ip/': { proxyPass: `https://127.0.0.1:${GOOD}`, proxySslServerName: true },
          '/given/': { proxyPass: `https://127.0.0.1:${GOOD}`, proxySslServerName: true, proxySslName: '$arg_n' },
        },
      }],
    }),
    requests: ['/named/', '/named-off/', '/ip/', '/given/?n=a.test:8443'],
  },
  {
    name: 'https upstream: the second connection to a peer resumes the first one\'s session (proxy_ssl_session_reuse)',
    nginx: `server { listen 127.0.0.1:\${PORT}; proxy_http_version 1.1;
      location /on/ { proxy_pass https://127.0.0.1:${SESSIONS}; }
      location /off/ { proxy_pass https://127.0.0.1:${SESSIONS}; proxy_ssl_session_reuse off; }
    }`,
    sluice: () => ({
      proxyHttpVersion: '1.1',
      locations: {
        '/on/': { proxyPass: `https://127.0.0.1:${SESSIONS}` },
        '/off/': { proxyPass: `https://127.0.0.1:${SESSIONS}`, proxySslSessionReuse: false },
      },
    }),
    requests: ['/on/1', '/on/2', '/on/3', '/off/1', '/off/2'],
  },
  {
    name: 'https upstream with keepalive: later requests go over the kept TLS connection (no new handshake, so nothing resumed)',
    nginx: `upstream ka { server 127.0.0.1:${KA}; keepalive 4; }
      server { listen 127.0.0.1:\${PORT}; proxy_http_version 1.1; proxy_set_header Connection "";
      location / { proxy_pass https://ka; proxy_ssl_verify on; proxy_ssl_trusted_certificate ${CA}; proxy_ssl_name localhost; }
    }`,
    sluice: (env) => ({
      upstreams: { ka: { servers: [`127.0.0.1:${KA}`], keepalive: 4 } },
      servers: [{
        listen: `127.0.0.1:${env.port}`,
        proxyHttpVersion: '1.1',
        locations: { '/': { proxyPass: 'https://ka', proxySslVerify: true, proxySslTrustedCertificate: CA, proxySslName: 'localhost' } },
      }],
    }),
    requests: ['/k1', '/k2', '/k3'],
  },
  {
    name: 'https upstream: a session is kept per location context and peer (nginx: per peer, shared by the locations)',
    nginx: `server { listen 127.0.0.1:\${PORT}; proxy_http_version 1.1;
      location /a/ { proxy_pass https://127.0.0.1:${SHARED}; }
      location /b/ { proxy_pass https://127.0.0.1:${SHARED}; }
    }`,
    sluice: () => ({
      proxyHttpVersion: '1.1',
      locations: {
        '/a/': { proxyPass: `https://127.0.0.1:${SHARED}` },
        '/b/': { proxyPass: `https://127.0.0.1:${SHARED}` },
      },
    }),
    requests: ['/a/1', '/b/1', '/a/2'],
    // nginx resumes /b/'s first connection with /a/'s session; sluice makes a new one
    differences: [{ id: 'proxy-ssl-session-per-location', request: 1, body: true, headers: ['content-length'] }],
  },
];

diffSuite('proxy-ssl', cases);
