// cf. nginx-tests ssl.t, ssl_sni.t, ssl_verify_client.t, ssl_sni_reneg.t — differential cases for
// TLS: SNI choosing the server and its certificate (the presented certificate compared too), the
// default server for no or an unknown name, Host against SNI, 497 for plain HTTP on a TLS port
// and errorPage 497, the $ssl_* variables, and client certificates (on, optional,
// optional_no_ca: valid, missing, untrusted, expired). Certificates: test/tls-certs.ts.
import { diffSuite, type DiffCase, type DiffRequest, type DiffTls } from './harness.js';
import { errorLines } from '../helpers.js';

const VARS = '$server_name|$scheme|$https|$ssl_server_name|$ssl_protocol|$ssl_cipher|$ssl_session_reused';
const CLIENT_VARS = '$ssl_client_verify|$ssl_client_s_dn|$ssl_client_i_dn|$ssl_client_serial';

/** sluice's default protocols (nginx 1.22's lack TLSv1.3: DOCUMENTED_DIFFERENCES 'ssl-protocols-default'). */
const PROTOCOLS = 'ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;';

/** nginx: one TLS server block on the case's port (with sluice's default protocols unless `extra` names some). */
const ngx = (name: string, cert: string, inside: string, extra = '') => `server { listen 127.0.0.1:\${PORT} ssl; server_name ${name};
    ssl_certificate \${CERTS}/${cert}.crt; ssl_certificate_key \${CERTS}/${cert}.key; ${extra.includes('ssl_protocols') ? '' : PROTOCOLS} ${extra}
    ${inside}
  }`;

/** sluice: the same server. */
const slu = (certs: string, name: string, cert: string, extra: Record<string, unknown> = {}) => ({
  listen: '', serverName: name, sslCertificate: `${certs}/${cert}.crt`, sslCertificateKey: `${certs}/${cert}.key`, ...extra,
});

/** A GET over TLS. */
const get = (path: string, tls: DiffTls, host = 'localhost', more: Partial<DiffRequest> = {}): DiffRequest => ({
  name: `GET ${path} (SNI ${tls.servername ?? 'none'}, Host ${host}${tls.cert !== undefined ? `, client ${tls.cert}` : ''}${tls.maxVersion !== undefined ? `, up to ${tls.maxVersion}` : ''}${tls.resume === true ? ', resumed' : ''})`,
  path, headers: { Host: host }, tls, ...more,
});

const cases: DiffCase[] = [
  {
    name: 'the default protocols: nginx 1.22 has no TLSv1.3 unless ssl_protocols names it',
    nginx: `server { listen 127.0.0.1:\${PORT} ssl; ssl_certificate \${CERTS}/a.crt; ssl_certificate_key \${CERTS}/a.key;
      location / { return 200 "$ssl_protocol\\n"; } }`,
    sluice: (env) => ({ ...slu(env.certs, '', 'a'), listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, '$ssl_protocol\n'] } } }),
    requests: [
      get('/', { servername: 'a.test' }, 'a.test', { status: 200 }),
      get('/', { servername: 'a.test', maxVersion: 'TLSv1.2' }, 'a.test', { status: 200 }),
    ],
    differences: [{ id: 'ssl-protocols-default', request: 0, body: true }],
  },
  {
    name: 'SNI picks the server and its certificate; no or an unknown name: the default server; then Host picks the server; the $ssl_ variables',
    nginx: [
      ngx('a.test', 'a', `location / { return 200 "${VARS}\\n"; }`),
      ngx('b.test', 'b', `location / { return 200 "${VARS}\\n"; }`),
    ].join('\n'),
    sluice: (env) => [
      { ...slu(env.certs, 'a.test', 'a'), listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, `${VARS}\n`] } } },
      { ...slu(env.certs, 'b.test', 'b'), listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, `${VARS}\n`] } } },
    ],
    requests: [
      get('/', { servername: 'a.test' }, 'a.test', { status: 200 }),
      get('/', { servername: 'b.test' }, 'b.test', { status: 200 }),
      // no SNI, an unknown name: the default server's certificate, and Host decides the server
      get('/', {}, 'localhost'),
      get('/', {}, 'b.test'),
      get('/', { servername: 'zzz.test' }, 'zzz.test'),
      // SNI and Host disagree (no client verification): Host picks the server, the certificate stays SNI's
      get('/', { servername: 'b.test' }, 'a.test'),
      get('/', { servername: 'a.test' }, 'b.test'),
      // names are case-blind and a trailing dot is dropped
      get('/', { servername: 'B.TEST' }, 'b.test.'),
      // TLSv1.2: the cipher suite's OpenSSL name; and resumption (tickets) in both versions
      get('/', { servername: 'a.test', maxVersion: 'TLSv1.2' }, 'a.test'),
      get('/', { servername: 'a.test', maxVersion: 'TLSv1.2', resume: true }, 'a.test'),
      get('/', { servername: 'b.test' }, 'b.test'),
      get('/', { servername: 'b.test', resume: true }, 'b.test'),
      // a HEAD and an error page over TLS
      { ...get('/', { servername: 'a.test' }, 'a.test'), method: 'HEAD' },
      { ...get('/%', { servername: 'a.test' }, 'a.test'), status: 400 },
    ],
  },
  {
    name: 'server_name rules for SNI (wildcard, regex), and RSA and ECDSA pairs on one server: the client\'s algorithms choose',
    nginx: [
      ngx('a.test', 'a', `location / { return 200 "${VARS}\n"; }`, 'ssl_certificate ${CERTS}/a-ec.crt; ssl_certificate_key ${CERTS}/a-ec.key;'),
      ngx('*.b.test', 'b', `location / { return 200 "${VARS}\n"; }`),
      ngx('~^(?<sub>[a-z]+)\\.c\\.test$', 'localhost', `location / { return 200 "$sub|${VARS}\n"; }`),
    ].join('\n'),
    sluice: (env) => [
      { ...slu(env.certs, 'a.test', 'a'), sslCertificate: [`${env.certs}/a.crt`, `${env.certs}/a-ec.crt`], sslCertificateKey: [`${env.certs}/a.key`, `${env.certs}/a-ec.key`],
        listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, `${VARS}\n`] } } },
      { ...slu(env.certs, '*.b.test', 'b'), listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, `${VARS}\n`] } } },
      { ...slu(env.certs, '~^(?<sub>[a-z]+)\\.c\\.test$', 'localhost'), listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, `$sub|${VARS}\n`] } } },
    ],
    requests: [
      get('/', { servername: 'x.b.test' }, 'x.b.test', { status: 200 }),
      get('/', { servername: 'x.b.test' }, 'y.b.test'),
      get('/', { servername: 'www.c.test' }, 'www.c.test', { status: 200 }),
      get('/', { servername: 'www.c.test' }, 'a.test'),
      get('/', { servername: 'a.test', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }, 'a.test'),
      get('/', { servername: 'a.test', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }, 'a.test'),
      get('/', { servername: 'a.test', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384' }, 'a.test'),
      get('/', { servername: 'a.test' }, 'a.test'),
    ],
  },
  {
    name: 'sslCiphers and sslPreferServerCiphers (TLSv1.2): the one allowed, the server\'s order, and a client without any refused',
    nginx: [
      ngx('a.test', 'a', `location / { return 200 "${VARS}\n"; }`, 'ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256; ssl_prefer_server_ciphers on;'),
    ].join('\n'),
    sluice: (env) => ({ ...slu(env.certs, 'a.test', 'a', { sslProtocols: 'TLSv1.2', sslCiphers: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256', sslPreferServerCiphers: true }),
      listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, `${VARS}\n`] } } }),
    requests: [
      get('/', { servername: 'a.test' }, 'a.test', { status: 200 }),
      get('/', { servername: 'a.test', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384' }, 'a.test'),
      get('/', { servername: 'a.test', ciphers: 'ECDHE-RSA-CHACHA20-POLY1305' }, 'a.test'),
    ],
  },
  {
    name: 'sessions: the id cache with tickets off (TLSv1.2 and 1.3)',
    nginx: [
      ngx('a.test', 'a', `location / { return 200 "${VARS}\n"; }`, 'ssl_session_tickets off; ssl_session_cache shared:SSL:1m; ssl_session_timeout 10m;'),
    ].join('\n'),
    sluice: (env) => ({ ...slu(env.certs, 'a.test', 'a', { sslSessionTickets: false, sslSessionCache: 'shared:SSL:1m', sslSessionTimeout: '10m' }),
      listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, `${VARS}\n`] } } }),
    requests: [
      get('/', { servername: 'a.test', maxVersion: 'TLSv1.2' }, 'a.test', { status: 200 }),
      get('/', { servername: 'a.test', maxVersion: 'TLSv1.2', resume: true }, 'a.test'),
      get('/', { servername: 'a.test' }, 'a.test'),
      get('/', { servername: 'a.test', resume: true }, 'a.test'),
    ],
    differences: [{ id: 'ssl-tls13-session-cache', request: 3, body: true, headers: ['tls-certificate'] }],
  },
  {
    name: 'sessions: tickets off and no cache: a full handshake each time',
    nginx: ngx('a.test', 'a', `location / { return 200 "${VARS}\n"; }`, 'ssl_session_tickets off;'),
    sluice: (env) => ({ ...slu(env.certs, 'a.test', 'a', { sslSessionTickets: false }), listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, `${VARS}\n`] } } }),
    requests: [
      get('/', { servername: 'a.test', maxVersion: 'TLSv1.2' }, 'a.test', { status: 200 }),
      get('/', { servername: 'a.test', maxVersion: 'TLSv1.2', resume: true }, 'a.test'),
      get('/', { servername: 'a.test' }, 'a.test'),
      get('/', { servername: 'a.test', resume: true }, 'a.test'),
    ],
  },
  {
    name: 'a plain server beside: $scheme http, $https and the $ssl_ variables empty',
    nginx: `server { listen 127.0.0.1:\${PORT}; location / { return 200 "$scheme|$https|$ssl_protocol|$ssl_cipher|$ssl_server_name|$ssl_session_reused|$ssl_client_verify|\\n"; } }`,
    sluice: () => ({ locations: { '/': { return: [200, '$scheme|$https|$ssl_protocol|$ssl_cipher|$ssl_server_name|$ssl_session_reused|$ssl_client_verify|\n'] } } }),
    requests: [{ path: '/', status: 200 }],
  },
  {
    name: 'sslProtocols on the default server: a client outside them fails the handshake; inside, $ssl_protocol says which',
    nginx: ngx('a.test', 'a', `location / { return 200 "${VARS}\\n"; }`, 'ssl_protocols TLSv1.2;'),
    sluice: (env) => ({ ...slu(env.certs, 'a.test', 'a', { sslProtocols: 'TLSv1.2' }), listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, `${VARS}\n`] } } }),
    requests: [
      get('/', { servername: 'a.test' }, 'a.test', { status: 200 }),
      get('/', { servername: 'a.test', minVersion: 'TLSv1.3' }, 'a.test'),
    ],
  },
  {
    name: 'a Host other than the SNI name, to a server that verifies client certificates: 421 Misdirected Request',
    nginx: [
      ngx('a.test', 'a', `location / { return 200 "${VARS}\\n"; }`),
      ngx('b.test', 'b', `location / { return 200 "${VARS}\\n"; }`, 'ssl_verify_client optional; ssl_client_certificate ${CERTS}/ca.crt;'),
    ].join('\n'),
    sluice: (env) => [
      { ...slu(env.certs, 'a.test', 'a'), listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, `${VARS}\n`] } } },
      { ...slu(env.certs, 'b.test', 'b', { sslVerifyClient: 'optional', sslClientCertificate: `${env.certs}/ca.crt`, errorLog: [errorLines, 'info'] }), listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, `${VARS}\n`] } } },
    ],
    requests: [
      get('/', { servername: 'b.test' }, 'b.test', { status: 200 }),
      // the Host's server decides, not SNI's: a verifies nothing, so SNI b.test may ask it
      { ...get('/', { servername: 'b.test' }, 'a.test', { status: 200 }), closes: true },
      // ... but b verifies: reaching it past the handshake's name is refused, certificate or not
      { ...get('/', { servername: 'a.test' }, 'b.test', { status: 421 }), closes: true, log: /client attempted to request the server name different from the one that was negotiated/ },
      { ...get('/', { servername: 'a.test', cert: 'client' }, 'b.test', { status: 421 }), closes: true },
      // an SNI name no server has is not kept (the default server answers the handshake), nor is none: Host picks b
      get('/', { servername: 'zzz.test' }, 'b.test', { status: 200 }),
      get('/', {}, 'b.test', { status: 200 }),
    ],
  },
  {
    name: 'plain HTTP to a TLS port: 497 (a 400 page saying so), and the connection',
    nginx: ngx('a.test', 'a', 'location / { return 200 "tls\\n"; }'),
    sluice: (env) => ({ ...slu(env.certs, 'a.test', 'a'), listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, 'tls\n'] } } }),
    requests: [
      { path: '/', status: 400 },
      { path: '/x', closes: true },
      { method: 'HEAD', path: '/' },
      { method: 'POST', path: '/', body: 'a=b', closes: true },
      { name: 'HTTP/1.0', path: '/', version: '1.0' },
      { name: 'a bad request line', raw: 'GET\r\n\r\n' },
      // and TLS still works on it
      get('/', { servername: 'a.test' }, 'a.test', { status: 200 }),
    ],
  },
  {
    name: 'errorPage 497: a redirect to https, or a page of its own',
    nginx: [
      ngx('a.test', 'a', 'location / { return 200 "tls\\n"; }', 'error_page 497 https://$host:$server_port$request_uri;'),
    ].join('\n'),
    sluice: (env) => ({ ...slu(env.certs, 'a.test', 'a', { errorPage: '497 https://$host:$server_port$request_uri' }), listen: `127.0.0.1:${env.port} ssl`, locations: { '/': { return: [200, 'tls\n'] } } }),
    requests: [
      { path: '/x?y=1', headers: { Host: 'a.test' }, status: 302 },
      { path: '/x', headers: { Host: 'a.test' }, closes: true },
      { method: 'HEAD', path: '/', headers: { Host: 'a.test' } },
    ],
  },
  {
    name: 'errorPage 497 to a location: its answer, with the status given',
    nginx: ngx('a.test', 'a', 'location / { return 200 "tls\\n"; } location = /plain { return 200 "use https ($scheme $https)\\n"; }', 'error_page 497 =200 /plain;'),
    sluice: (env) => ({ ...slu(env.certs, 'a.test', 'a', { errorPage: [497, '=200', '/plain'] }), listen: `127.0.0.1:${env.port} ssl`,
      locations: { '/': { return: [200, 'tls\n'] }, '= /plain': { return: [200, 'use https ($scheme $https)\n'] } } }),
    requests: [
      { path: '/x', status: 200 },
      { path: '/x', closes: true },
    ],
  },
  ...(['on', 'optional', 'optional_no_ca'] as const).map((mode): DiffCase => ({
    name: `sslVerifyClient ${mode}: valid, missing, untrusted, expired client certificates`,
    nginx: ngx('a.test', 'a', `location / { return 200 "${CLIENT_VARS}\\n"; } location = /why { return 200 "why: ${CLIENT_VARS}\\n"; }`,
      `ssl_verify_client ${mode}; ssl_client_certificate \${CERTS}/ca.crt;`),
    sluice: (env) => ({
      ...slu(env.certs, 'a.test', 'a', { sslVerifyClient: mode, sslClientCertificate: `${env.certs}/ca.crt`, errorLog: [errorLines, 'info'] }),
      listen: `127.0.0.1:${env.port} ssl`,
      locations: { '/': { return: [200, `${CLIENT_VARS}\n`] }, '= /why': { return: [200, `why: ${CLIENT_VARS}\n`] } },
    }),
    requests: [
      get('/', { servername: 'a.test', cert: 'client' }, 'a.test', { status: 200 }),
      { ...get('/', { servername: 'a.test' }, 'a.test', { status: mode === 'on' ? 400 : 200 }), closes: true,
        ...(mode === 'on' ? { log: /client sent no required SSL certificate/ } : {}) },
      { ...get('/', { servername: 'a.test', cert: 'rogue-client' }, 'a.test', { status: mode === 'optional_no_ca' ? 200 : 400 }), closes: true,
        ...(mode === 'optional_no_ca' ? {} : { log: /client SSL certificate verify error: \(21:unable to verify the first certificate\)/ }) },
      { ...get('/', { servername: 'a.test', cert: 'expired-client' }, 'a.test', { status: 400 }), closes: true,
        log: /client SSL certificate verify error: \(10:certificate has expired\)/ },
      // TLSv1.2 (the certificate in the handshake itself, not after it)
      get('/', { servername: 'a.test', cert: 'client', maxVersion: 'TLSv1.2' }, 'a.test', { status: 200 }),
      get('/', { servername: 'a.test', cert: 'expired-client', maxVersion: 'TLSv1.2' }, 'a.test', { status: 400 }),
    ],
  })),
  {
    name: 'errorPage 495 496 to a location: $ssl_client_verify says why',
    nginx: ngx('a.test', 'a', `location / { return 200 "${CLIENT_VARS}\\n"; } location = /why { return 200 "why: ${CLIENT_VARS}\\n"; }`,
      'ssl_verify_client on; ssl_client_certificate ${CERTS}/ca.crt; error_page 495 496 =200 /why;'),
    sluice: (env) => ({
      ...slu(env.certs, 'a.test', 'a', { sslVerifyClient: 'on', sslClientCertificate: `${env.certs}/ca.crt`, errorPage: [495, 496, '=200', '/why'] }),
      listen: `127.0.0.1:${env.port} ssl`,
      locations: { '/': { return: [200, `${CLIENT_VARS}\n`] }, '= /why': { return: [200, `why: ${CLIENT_VARS}\n`] } },
    }),
    requests: [
      get('/', { servername: 'a.test', cert: 'client' }, 'a.test', { status: 200 }),
      { ...get('/', { servername: 'a.test' }, 'a.test', { status: 200 }), closes: true },
      { ...get('/', { servername: 'a.test', cert: 'rogue-client' }, 'a.test', { status: 200 }), closes: true },
      { ...get('/', { servername: 'a.test', cert: 'expired-client' }, 'a.test', { status: 200 }), closes: true },
    ],
  },
];

diffSuite('ssl', cases);
