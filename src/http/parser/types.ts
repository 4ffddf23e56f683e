// The contract between the wasm parser binding and its users (the connection, later the upstream).
// cf. llhttp's llhttp_settings_t, reshaped for one wasm call per chunk: spans arrive as offsets.

/** Parser kinds. */
export const PARSER_REQUEST = 0;
export const PARSER_RESPONSE = 1;

/** Method codes, as the grammar stores them (index into METHODS). */
export const METHODS = [
  'DELETE', 'GET', 'HEAD', 'POST', 'PUT', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'SEARCH',
  'REPORT', 'MKACTIVITY', 'CHECKOUT', 'MERGE', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE',
  'UNSUBSCRIBE', 'PURGE', 'MKCALENDAR', 'LINK', 'UNLINK', 'SOURCE', 'QUERY', 'ACL',
  'BIND', 'REBIND', 'UNBIND', 'VERSION-CONTROL', 'MKWORKSPACE', 'UPDATE', 'LABEL',
  'BASELINE-CONTROL', 'ORDERPATCH', 'PRI',
] as const;
export const M_DELETE = 0, M_GET = 1, M_HEAD = 2, M_POST = 3, M_PUT = 4, M_CONNECT = 5,
  M_OPTIONS = 6, M_TRACE = 7, M_PATCH = 8;

/**
 * Header names the grammar recognises (case-insensitively), so that no later code compares
 * header names again. 0 = any other name.
 */
export const H_OTHER = 0, H_HOST = 1, H_CONTENT_LENGTH = 2, H_TRANSFER_ENCODING = 3,
  H_CONNECTION = 4, H_EXPECT = 5, H_UPGRADE = 6, H_CONTENT_TYPE = 7, H_ACCEPT_ENCODING = 8,
  H_IF_MODIFIED_SINCE = 9, H_IF_NONE_MATCH = 10, H_IF_UNMODIFIED_SINCE = 11, H_IF_MATCH = 12,
  H_RANGE = 13, H_IF_RANGE = 14, H_COOKIE = 15, H_USER_AGENT = 16, H_REFERER = 17,
  H_AUTHORIZATION = 18, H_KEEP_ALIVE = 19, H_TE = 20, H_TRAILER = 21, H_PROXY_CONNECTION = 22,
  H_CONTENT_ENCODING = 23, H_LOCATION = 24, H_DATE = 25, H_SERVER = 26, H_X_FORWARDED_FOR = 27;
export const KNOWN_HEADER_COUNT = 28;
/** Lower-case canonical names, indexed by H_* id ('' for H_OTHER). */
export const KNOWN_HEADER_NAMES: readonly string[] = [
  '', 'host', 'content-length', 'transfer-encoding', 'connection', 'expect', 'upgrade',
  'content-type', 'accept-encoding', 'if-modified-since', 'if-none-match',
  'if-unmodified-since', 'if-match', 'range', 'if-range', 'cookie', 'user-agent', 'referer',
  'authorization', 'keep-alive', 'te', 'trailer', 'proxy-connection', 'content-encoding',
  'location', 'date', 'server', 'x-forwarded-for',
];

/** Flags on a MessageHead (bit set). */
export const F_CHUNKED = 1 << 0;          // Transfer-Encoding ends in chunked
export const F_CONTENT_LENGTH = 1 << 1;   // a valid Content-Length was given
export const F_CONN_CLOSE = 1 << 2;       // Connection: close
export const F_CONN_KEEP_ALIVE = 1 << 3;  // Connection: keep-alive
export const F_CONN_UPGRADE = 1 << 4;     // Connection: upgrade
export const F_UPGRADE = 1 << 5;          // an Upgrade header is present
export const F_EXPECT_CONTINUE = 1 << 6;  // Expect: 100-continue
export const F_HAS_HOST = 1 << 7;         // a Host header is present
export const F_EXPECT_OTHER = 1 << 8;     // Expect with something other than 100-continue (417)
export const F_TE_OTHER = 1 << 9;         // Transfer-Encoding present but not ending in chunked
export const F_TE_CODED = 1 << 10;        // responses: chunked is final but other codings precede it (body stays coded)

/** Codes returned by the sink's callbacks. */
export const SINK_OK = 0;
/** From onMessageComplete: stop after this message; execute() returns E_PAUSED, resume with execute(chunk, parser.pos). */
export const SINK_PAUSE = 1;
/** From onHead (responses only): the message has no body (answer to HEAD, or a 1xx to skip). */
export const SINK_SKIP_BODY = 2;

/** Error codes (execute's result). 0 = OK. */
export const E_OK = 0;
export const E_PAUSED = 1;         // paused by the sink; not an error
export const E_INTERNAL = 2;
export const E_INVALID_METHOD = 3;
export const E_INVALID_URL = 4;
export const E_INVALID_VERSION = 5;
export const E_INVALID_HEADER_TOKEN = 6;
export const E_INVALID_HEADER_VALUE = 7;
export const E_INVALID_CONTENT_LENGTH = 8;
export const E_UNEXPECTED_CONTENT_LENGTH = 9; // Content-Length with Transfer-Encoding
export const E_INVALID_TRANSFER_ENCODING = 10; // requests: a second line, HTTP/1.0 (400); responses: quoted parameters
export const E_INVALID_CHUNK_SIZE = 11;
export const E_INVALID_CONSTANT = 12;      // a literal (CRLF, "HTTP/") was expected
export const E_INVALID_STATUS = 13;
export const E_INVALID_EOF = 14;            // finish() in the middle of a message
export const E_MISSING_HOST = 15;
export const E_DUPLICATE_HOST = 16;
export const E_OBS_FOLD = 17;
export const E_LF_EXPECTED = 18;            // bare CR / bare LF where CRLF was required
export const E_URI_TOO_LONG = 19;           // request line over the limit (414)
export const E_HEADER_TOO_LARGE = 20;       // a field line or the whole head over the limit (431)
export const E_INVALID_CHUNK_EXT = 21;
export const E_STRICT = 22;                 // other strictness violation
export const E_UNSUPPORTED_TE = 23;         // a request's Transfer-Encoding other than exactly chunked (501)
export const E_UPGRADE = 24;                // CONNECT / Upgrade: bytes after the head are not HTTP
/**
 * Not an error: bytes arrived after a message that ends the connection (Connection: close,
 * HTTP/1.0 without keep-alive, a close-delimited response). pos = where those bytes start.
 * Answer what was parsed, then close; never answer the extra bytes.
 */
export const E_CLOSED = 25;
export const E_UNKNOWN_METHOD = 26;         // a well-formed method token that is not in METHODS (501)

/** Limits per message head (and per trailer section); see docs/parser.md. */
export interface ParserLimits {
  /** Method + SP + target + SP + version, without CRLF. Default 8192; over it: E_URI_TOO_LONG. */
  maxRequestLine?: number;
  /** One field line, name to end of value. Default 8192; over it: E_HEADER_TOO_LARGE. */
  maxFieldLine?: number;
  /** The whole head, start line to the empty line. Default 32768; over it: E_HEADER_TOO_LARGE. */
  maxHead?: number;
  /** Field lines per head. Default 100; over it: E_HEADER_TOO_LARGE. */
  maxHeaders?: number;
}

/**
 * A parsed request or status line plus header section. The binding owns and reuses one instance
 * per parser; copy what you keep beyond the next execute() (the Request object does that by
 * taking `buf` and the offsets, which stay valid: `buf` is a view of the chunk or, when the head
 * spanned several chunks, a fresh Buffer holding just the head).
 */
export interface MessageHead {
  /** The bytes every offset below points into. */
  buf: Buffer;
  /** METHODS index (requests). */
  method: number;
  versionMajor: number;
  versionMinor: number;
  urlStart: number;
  urlEnd: number;
  /** Responses. */
  statusCode: number;
  reasonStart: number;
  reasonEnd: number;
  headerCount: number;
  /**
   * 5 ints per field line: nameStart, nameEnd, valueStart, valueEnd, known id (H_*).
   * Value offsets exclude leading and trailing OWS. Length >= headerCount * 5.
   */
  headers: Int32Array;
  /** Content-Length, or -1 when absent. */
  contentLength: number;
  /** F_* bits. */
  flags: number;
  /** True when the connection may stay open after this message (version and Connection). */
  keepAlive: boolean;
}

/** What the parser calls; one class implements it, so the calls stay monomorphic. */
export interface ParserSink {
  /** The head is complete. Requests: return SINK_OK. Responses: SINK_OK or SINK_SKIP_BODY. */
  onHead(head: MessageHead): number;
  /** Body bytes (de-chunked): chunk[start, end). A view of the caller's chunk, never a copy. */
  onBody(chunk: Buffer, start: number, end: number): void;
  /** Trailer fields after a chunked body (only called when there are any). */
  onTrailers(trailers: MessageHead): void;
  /** The message ended. Return SINK_PAUSE to stop parsing right after it. */
  onMessageComplete(): number;
}
