// Internal numbers shared by the grammar, the C glue (as generated/constants.h) and the bindings.
// The public contract is types.ts; nothing here is exported from index.ts.

/** Span-table record kinds (first int of a record). */
export const EV_BEGIN = 1;      // a: offset of the first byte of the message
export const EV_URL = 2;        // a, b: span
export const EV_REASON = 3;     // a, b: span
export const EV_NAME = 4;       // a, b: span; c: known header id
export const EV_VALUE = 5;      // a, b: span (trailing OWS trimmed)
export const EV_HEAD_CL = 6;    // a, b: Content-Length low/high 32 bits (-1, -1 when absent)
export const EV_HEAD = 7;       // a: offset after the empty line; b: packed numbers; c: flags
export const EV_BODY = 8;       // a, b: span
export const EV_TNAME = 9;      // trailer name, like EV_NAME
export const EV_TVALUE = 10;    // trailer value, like EV_VALUE
export const EV_TRAILERS = 11;  // the trailer section (with at least one field) ended
export const EV_DONE = 12;      // a: offset right after the message
/** Or-ed into the kind: the span goes on in the next buffer. */
export const EV_PARTIAL = 0x100;

/** EV_HEAD b: method | minor << 8 | status << 12; c: F_* flags | HEAD_KEEP_ALIVE. */
export const HEAD_KEEP_ALIVE = 1 << 30;

/** Codes that stop the llparse run without being errors (the binding resumes). */
export const P_FULL = 100;      // span table nearly full: JS empties it and resumes
export const P_HEAD = 101;      // a response head: JS asks the sink about the body, then resumes
/** Returned by C callbacks that set their own error code and reason (the glue rewrites it). */
export const ERR_C = 99;

/** Parser modes (property `mode`): what the root node dispatches to. */
export const MODE_REQUEST = 0;
export const MODE_RESPONSE = 1;
export const MODE_CLOSED = 2;

/** Body kinds (result of sluice_body). */
export const BODY_NONE = 0;
export const BODY_LENGTH = 1;
export const BODY_CHUNKED = 2;
export const BODY_EOF = 3;
export const BODY_UPGRADE = 4;

/** Internal bits of the `flags` property, above the public F_* bits. */
export const T_PRESENT = 1 << 16;      // a Transfer-Encoding field was seen
export const T_LAST_CHUNKED = 1 << 17; // its last coding so far is chunked
export const T_CODED = 1 << 18;        // some other coding was seen
export const PUBLIC_FLAGS = 0xffff;

/** Ints per span-table record, records per parser, and how many stay free for non-pausing calls. */
export const RECORD_INTS = 4;
export const TABLE_RECORDS = 256;
export const TABLE_MARGIN = 8;

/** Bytes copied into wasm memory per call; larger chunks are parsed in slices. */
export const SCRATCH_SIZE = 64 * 1024;
/** The first slice of a chunk is small: a body that follows the head is then mostly not copied. */
export const FIRST_SLICE = 4096;

/** Int32 slots at the start of the C parser struct, shared with JS. */
export const OUT_COUNT = 0;      // records in the table after a call
export const OUT_ERROR_POS = 1;  // where the run stopped, from the start of the call's buffer
export const OUT_SKIP_BODY = 2;  // JS -> C: the sink answered SINK_SKIP_BODY to a response head
export const OUT_REASON = 3;     // char* reason of the last error
export const OUT_BODY_LEFT = 4;  // after a call: body bytes C would only count (JS hands them out itself)
export const OUT_SLOTS = 8;

/** Largest Content-Length we accept: exact in a JS number. */
export const MAX_CONTENT_LENGTH = Number.MAX_SAFE_INTEGER;

/** Default limits. */
export const DEFAULT_MAX_REQUEST_LINE = 8192;
export const DEFAULT_MAX_FIELD_LINE = 8192;
export const DEFAULT_MAX_HEAD = 32768;
export const DEFAULT_MAX_HEADERS = 100;
