// The public API of sluice: `import { defineConfig, startServer, ... } from 'sluice'`.

export * from './subrequest/index.js';
export { MODULES } from './modules.js';
export type { DirectiveValues, HttpDirectives, ServerDirectives, LocationDirectives } from './modules.js';
export { defineModule, cmd, parser, H, S, L, HS, SL, HSL, type HttpModule, type Cmd, type Parser, type Block } from './http/conf/module.js';
export type { ServerConfig, LocationConfig } from './http/conf/config.js';
export { LogTarget, type LogSink, type LogLevel } from './core/log.js';
export { log } from './http/log/handler-log.js';
export { FieldError, isToken } from './core/field.js';
export { RequestError, type RequestBody } from './http/request.js';
export type { UserFilter, FilterClass, FilterFactory } from './http/modules/user-filters.js';
export type { FilterPair } from './filters/index.js';

export { defineConfig, resolveConfig, ConfigError } from './http/conf/config.js';
export type { SluiceConfig, ResolvedConfig, ResolvedServer, ResolvedLocation, Directives } from './http/conf/config.js';
export { startServer, SluiceServer, type BoundAddress, type ServerOptions } from './http/server.js';
export { ManualClock, SYSTEM_CLOCK, type Clock } from './core/clock.js';
export { Request, ExitSignal, isExit, type Handler } from './http/request.js';
export * from './lua/ngx.js';
export { parseSize, parseTime } from './http/conf/size-time.js';
export {
  Buf, Chain, FileRef, link, chainSize, chainSplit, chainToBuffer, chainAppend, chainHasLast,
  B_MEMORY, B_TEMPORARY, B_IN_FILE, B_FLUSH, B_SYNC, B_LAST_BUF, B_LAST_IN_CHAIN,
} from './core/buf.js';
export { HeaderFilter, BodyFilter, OK, ERROR, AGAIN, allocCtxSlot, type FilterRequest } from './filters/filter.js';
export { FilterChains } from './filters/index.js';
export { HeadersOut } from './filters/headers-out.js';
export { HttpParser } from './http/parser/index.js';
export { HttpClient, HttpClientError, StreamingResponse, type ClientResponse, type ClientRequestOptions } from './lua/client.js';
export { KeepalivePool, type Keepable, type SocketCache } from './http/upstream/keepalive.js';
export type { UpstreamConfig } from './http/conf/config.js';
