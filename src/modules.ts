// cf. objs/ngx_modules.c — the modules, in order.
//
// THE ORDER IS IMPORTANT. Filters are installed from the first module to the last, each new one
// on top of its chain (as nginx's filter modules do at init), so a module listed later sees a
// response first:
//
//   header:  not_modified -> capture -> headers -> [yours] -> sub -> gzip -> range -> chunked -> header
//   body:    range -> copy -> capture -> [yours] -> sub -> postpone -> gzip -> chunked -> write
//
// Why this order (as in nginx):
//   - not_modified on top: a 304/412 decision needs the handler's Last-Modified/ETag untouched.
//   - headers (add_header, expires) above gzip and range, which may change the status.
//   - gzip above range: a gzipped body has no known length, so range lets it pass whole.
//   - range's body filter above copy: it cuts file bufs as windows, before any byte is read.
//   - copy above gzip and your filters: they need bytes, so copy reads file bufs into memory for
//     them (filterNeedInMemory); without such a need, file bufs reach the write filter untouched.
//   - capture (lua-nginx-module's capture filter) just below copy in the body chain: copy reads a
//     captured file into memory for it; nothing below it sees a captured body.
//   - sub (sub_filter) and your filters where nginx's sub and addition filters are: below copy,
//     above postpone and gzip (they see the plain body, in document order); sub below yours, as
//     nginx's sub is below its addition filter.
//   - postpone above gzip: subrequests that write to the client are put in document order before
//     the main request's encoders see the bytes.
//   - chunked just above the bottom: it frames whatever the filters above produced.
//   - header (serialise) and write at the bottom: they put bytes on the socket.
//
// The other modules own directives and phase steps (see docs/modules.md); their place in the
// list is the order of docs/directives.md.

import { coreModule, eventsModule } from './http/modules/core.js';
import { processModule } from './http/modules/process.js';
import { indexModule } from './http/modules/index.js';
import { rewriteModule } from './http/modules/rewrite.js';
import { mapModule } from './http/modules/map.js';
import { realipModule } from './http/modules/realip.js';
import { accessModule, postAccessModule } from './http/modules/access.js';
import { authBasicModule } from './http/modules/auth-basic.js';
import { geoModule } from './http/modules/geo.js';
import { luaModule } from './http/modules/lua.js';
import { limitReqModule } from './http/modules/limit-req.js';
import { limitConnModule } from './http/modules/limit-conn.js';
import { logModule } from './http/modules/log.js';
import { staticModule } from './http/modules/static.js';
import { proxyModule } from './http/modules/proxy.js';
import { sslModule } from './http/modules/ssl.js';
import { stubStatusModule } from './http/modules/stub-status.js';
import { headersModule } from './http/modules/headers.js';
import { gzipModule } from './http/modules/gzip.js';
import { subModule } from './http/modules/sub.js';
import { userFiltersModule } from './http/modules/user-filters.js';
import {
  chunkedModule, copyModule, headerModule, notModifiedModule, postponeModule, rangeBodyModule,
  rangeHeaderModule, writeModule,
} from './http/modules/filters.js';
import { captureModule } from './subrequest/module.js';
import type { InputsOf, TableOf, ValuesOf } from './http/conf/module.js';

export const MODULES = [
  processModule,
  eventsModule,
  coreModule,
  logModule,
  sslModule,
  // realip first in the server rewrite and access phases; then
  // access and auth_basic, whose
  // `satisfy any` verdict post_access gives before the lua module's `access` handler runs
  realipModule,
  geoModule,
  accessModule,
  authBasicModule,
  postAccessModule,
  rewriteModule,
  // preaccess: limit_req before limit_conn (nginx runs a phase's handlers in reverse module
  // order, and lists limit_conn first)
  mapModule,
  limitReqModule,
  limitConnModule,
  luaModule,
  proxyModule,
  stubStatusModule,
  indexModule,
  staticModule,
  // filters, from the bottom of the chains up
  writeModule,
  headerModule,
  chunkedModule,
  rangeHeaderModule,
  gzipModule,
  postponeModule,
  subModule,
  userFiltersModule,
  headersModule,
  captureModule,
  copyModule,
  rangeBodyModule,
  notModifiedModule,
] as const;

type Table = TableOf<typeof MODULES>;
/** The resolved value of every directive (one block's Directives). */
export type DirectiveValues = ValuesOf<Table>;
/** Directives allowed at the top level (nginx's http block), as users write them. */
export type HttpDirectives = InputsOf<Table, 'http'>;
/** Directives allowed in a server. */
export type ServerDirectives = InputsOf<Table, 'server'>;
/** Directives allowed in a location. */
export type LocationDirectives = InputsOf<Table, 'location'>;
