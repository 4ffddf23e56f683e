// cf. ngx_http_header_filter_module.c (the Location part) — absolute_redirect,
// port_in_redirect and server_name_in_redirect: a redirect to "/path" goes out as
// "http://host[:port]/path", the host being the request's Host (or the server's first name),
// the port the one the connection was accepted on, left out when it is 80.

import type { Request } from './request.js';

export function absoluteUrl(r: Request, path: string): string {
  const c = r.main.conn;
  const conf = r.conf;
  let host = conf.serverNameInRedirect ? '' : r.hostName;
  if (host === '') host = r.server.serverNames[0] || c?.socket.localAddress || 'localhost';
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  const port = c?.socket.localPort ?? 80;
  // a TLS connection redirects to https://, its default port 443 left out (as nginx's header filter)
  const tls = (c?.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  const def = tls ? 443 : 80;
  return `${tls ? 'https' : 'http'}://${host}${conf.portInRedirect && port !== def ? ':' + port : ''}${path}`;
}
