// sluice answering "hello\n" on "= /" over TLS (listen ... ssl), from dist/ (run `npm run build` first).
// Usage: node bench/nginx/sluice-tls.mjs PORT CERT KEY PROTOCOLS TICKETS(on|off)   (prints "ready")
//   cf. nginx: listen ... ssl; ssl_certificate CERT; ssl_certificate_key KEY; ssl_protocols PROTOCOLS;
//   ssl_session_tickets on|off; location = / { content_by_lua_block { ngx.say("hello") } }
import { startServer } from '../../dist/src/index.js';

const [port, cert, key, protocols = 'TLSv1.3', tickets = 'on'] = process.argv.slice(2);
if (!port || !cert || !key) {
  console.error('usage: node bench/nginx/sluice-tls.mjs PORT CERT KEY [PROTOCOLS] [on|off]');
  process.exit(2);
}

const server = await startServer({
  accessLog: false,
  servers: [{
    listen: `127.0.0.1:${port} ssl`,
    sslCertificate: cert,
    sslCertificateKey: key,
    sslProtocols: protocols,
    sslSessionTickets: tickets !== 'off',
    locations: { '= /': { content: (r) => { r.say('hello'); } } },
  }],
});
console.log('ready', server.port);
// exit normally on SIGTERM so --cpu-prof / --prof output gets written
process.on('SIGTERM', () => process.exit(0));
