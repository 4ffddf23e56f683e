/*
 * libFuzzer harness over the generated parser C and our glue (src/http/parser/generated/parser.c,
 * the c/ glue), compiled natively. Each input is a 4-byte control header and the bytes to parse:
 *
 *   byte 0  bit 0: response mode        bit 1: answer SINK_SKIP_BODY to response heads (HEAD)
 *           bit 2: hand body bytes out in the driver (sluice_skip), as the JS bindings do
 *           bit 3: small limits (from byte 3)
 *           bit 4: the sink pauses after every message (SINK_PAUSE); table mode then starts the C
 *                  state again where the message ended (sluice_reinit), as HttpParser does
 *   byte 1  seed of the split points    byte 2  number of split points (1..16)
 *   byte 3  small limits: start line, field line, head, fields
 *
 * The bytes are parsed four ways: whole and split, each in table mode (the JS HttpParser's
 * protocol: P_FULL and P_HEAD pauses, records walked after each call) and in callback mode
 * (sluice_on_span, as CallbackHttpParser). Inputs up to 512 bytes are also fed a byte at a time.
 * Whole in table mode is also run with bits 2 and 4 flipped: neither may change the verdict.
 * Every piece is a malloc'd copy of exactly its length, so ASan sees any read past it.
 *
 * Invariants (abort() on failure):
 *   - every record lies inside the buffer of the call that produced it, and before the place
 *     the call stopped; a piece of a span (EV_PARTIAL) ends at the end of that buffer;
 *   - once a call returned an error or a stop, further calls return it again with no record,
 *     and no callback comes in callback mode;
 *   - records only come in a valid order (BEGIN, head fields, HEAD, body, trailers, DONE);
 *   - the verdict is the same whichever way the bytes are fed (and whoever hands out the body, and
 *     whether the sink pauses): the final code, where it stopped
 *     (except for the limits checked at the end of a buffer) and the trace of events, with spans
 *     joined across pieces and offsets taken from the start of the input.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/http/parser/c/sluice.h"

SLUICE_EXPORT(sluice_alloc) sluice_t* sluice_alloc(int32_t kind, int32_t callbacks,
    int32_t max_start_line, int32_t max_field_line, int32_t max_head, int32_t max_headers);
SLUICE_EXPORT(sluice_free) void sluice_free(sluice_t* g);
SLUICE_EXPORT(sluice_table) int32_t* sluice_table(sluice_t* g);
SLUICE_EXPORT(sluice_exec) int32_t sluice_exec(sluice_t* g, const unsigned char* p, int32_t len);
SLUICE_EXPORT(sluice_skip) void sluice_skip(sluice_t* g, int32_t n);
SLUICE_EXPORT(sluice_finish) int32_t sluice_finish(sluice_t* g);
SLUICE_EXPORT(sluice_reinit) void sluice_reinit(sluice_t* g, int32_t closed);

#define CTL_RESPONSE 1
#define CTL_SKIP_BODY 2
#define CTL_DRIVER_BODY 4
#define CTL_SMALL_LIMITS 8
#define CTL_PAUSE 16
#define CTL_BYTES 4

#define MAX_EVENTS 65536
#define MAX_DATA 65536

/* one event of the canonical trace: spans joined, offsets from the start of the input */
typedef struct {
  int32_t kind;
  int64_t a, b, c;
  uint32_t hash;       /* of a span's bytes */
  int32_t len;
} event_t;

typedef struct {
  const uint8_t* data;  /* the whole input (without the control header) */
  size_t size;
  int ctl;
  event_t* ev;
  int n;
  /* the span being joined: kind, bytes so far */
  int32_t open_kind;
  uint8_t* open;
  int32_t open_len;
  int32_t open_c;
  /* the call in progress */
  const unsigned char* buf;
  int32_t buf_len;
  int64_t base;         /* offset of buf in the input */
  int64_t adj;          /* where the C state was last started again (its base counts from there) */
  int32_t closing;      /* the last head said the connection ends after its message */
  int64_t pause_pos;    /* table mode: where the message the sink paused after ended */
  int32_t stopped;      /* a call returned an error or a stop */
  int32_t stop_code;
  int64_t stop_pos;
  int32_t in_message;   /* order: 0 none, 1 head, 2 body, 3 trailers */
  int32_t finishing;
} trace_t;

static trace_t* current;  /* for sluice_on_span */

#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "invariant: " __VA_ARGS__); \
  fprintf(stderr, "\n"); abort(); } } while (0)

static uint32_t fnv(uint32_t h, const uint8_t* p, int32_t n) {
  for (int32_t i = 0; i < n; i++) {
    h = (h ^ p[i]) * 16777619u;
  }
  return h;
}

static void push(trace_t* t, int32_t kind, int64_t a, int64_t b, int64_t c, const uint8_t* s, int32_t len) {
  event_t* e;

  CHECK(t->n < MAX_EVENTS, "too many events");
  e = &t->ev[t->n++];
  e->kind = kind;
  e->a = a;
  e->b = b;
  e->c = c;
  e->len = len;
  e->hash = s != NULL ? fnv(2166136261u, s, len) : 0;
}

static int is_span(int32_t kind) {
  return kind == EV_URL || kind == EV_REASON || kind == EV_NAME || kind == EV_VALUE ||
         kind == EV_TNAME || kind == EV_TVALUE || kind == EV_BODY;
}

static void close_span(trace_t* t) {
  int32_t len = t->open_len;

  if (t->open_kind == 0) {
    return;
  }
  if (t->open_kind == EV_VALUE || t->open_kind == EV_TVALUE) {
    while (len > 0 && (t->open[len - 1] == ' ' || t->open[len - 1] == '\t')) {
      len--;  /* as JS trims a value that came in pieces */
    }
  }
  push(t, t->open_kind, 0, 0, t->open_c, t->open, len);
  t->open_kind = 0;
  t->open_len = 0;
}

static void append(trace_t* t, int32_t kind, const uint8_t* p, int32_t n, int32_t c) {
  if (t->open_kind != kind) {
    close_span(t);
    t->open_kind = kind;
    t->open_c = c;
  }
  CHECK(t->open_len + n <= MAX_DATA, "span too long");
  memcpy(t->open + t->open_len, p, n);
  t->open_len += n;
  if (kind == EV_NAME || kind == EV_TNAME) {
    t->open_c = c;  /* the known id is the one of the last piece */
  }
}

/* body bytes the driver hands out itself (sluice_skip) */
static void driver_body(trace_t* t, int64_t at, int32_t n) {
  CHECK(t->in_message == 2, "driver body outside a body");
  append(t, EV_BODY, t->data + at, n, 0);
}

/* One record from the parser, in table or callback mode. Returns 1 when the sink pauses. */
static int record(trace_t* t, int32_t kind, int32_t a, int32_t b, int32_t c, int32_t stop) {
  int32_t partial = kind & EV_PARTIAL;
  int32_t k = kind & ~EV_PARTIAL;

  CHECK(!t->stopped, "record %d after the parser stopped with %d", kind, t->stop_code);
  if (t->finishing) {
    CHECK(k == EV_DONE && !partial, "record %d from finish()", kind);
    CHECK(t->in_message == 2, "DONE from finish() outside a body");
    close_span(t);
    push(t, EV_DONE, -1, 0, 0, NULL, 0);
    t->in_message = 0;
    return 0;
  }
  if (is_span(k)) {
    CHECK(a >= 0 && a <= b && b <= t->buf_len, "span %d [%d, %d) outside the buffer of %d", kind, a, b,
          t->buf_len);
    CHECK(b <= stop, "span %d ends at %d after the stop at %d", kind, b, stop);
    CHECK(!partial || b == t->buf_len, "piece of span %d ends at %d, not at the end %d", kind, b,
          t->buf_len);
    switch (k) {
      case EV_URL: case EV_REASON: case EV_NAME: case EV_VALUE:
        CHECK(t->in_message == 1, "head span %d outside a head", k);
        break;
      case EV_BODY:
        CHECK(t->in_message == 2, "body outside a body");
        break;
      default:
        CHECK(t->in_message == 3, "trailer span %d outside trailers", k);
    }
    append(t, k, t->buf + a, b - a, c);
    if (!partial && k != EV_BODY) {
      close_span(t);
    }
    return 0;
  }
  CHECK(!partial, "partial record %d", kind);
  close_span(t);
  switch (k) {
    case EV_BEGIN:
      CHECK(t->in_message == 0, "BEGIN inside a message");
      CHECK(a >= 0 && a <= t->buf_len && a <= stop, "BEGIN at %d outside the buffer of %d", a, t->buf_len);
      push(t, k, t->base + a, 0, 0, NULL, 0);
      t->in_message = 1;
      break;
    case EV_HEAD_CL:
      CHECK(t->in_message == 1, "HEAD_CL outside a head");
      push(t, k, a, b, 0, NULL, 0);
      break;
    case EV_HEAD:
      CHECK(t->in_message == 1, "HEAD outside a head");
      CHECK(a >= 0 && a <= t->buf_len && a <= stop, "HEAD at %d outside the buffer of %d", a, t->buf_len);
      push(t, k, t->base + a, b, c, NULL, 0);
      t->in_message = 2;
      t->closing = !(c & HEAD_KEEP_ALIVE);
      break;
    case EV_TRAILERS:
      CHECK(t->in_message == 3, "TRAILERS outside trailers");
      CHECK(a >= 0 && a <= t->buf_len && a <= stop, "TRAILERS at %d outside the buffer", a);
      push(t, k, t->base + a, 0, 0, NULL, 0);
      break;
    case EV_DONE:
      CHECK(t->in_message >= 2, "DONE outside a message");
      CHECK(a >= 0 && a <= t->buf_len && a <= stop, "DONE at %d outside the buffer of %d", a, t->buf_len);
      push(t, k, t->base + a, 0, 0, NULL, 0);
      t->in_message = 0;
      t->pause_pos = t->base + a;
      return (t->ctl & CTL_PAUSE) != 0;
    default:
      CHECK(0, "unknown record %d", kind);
  }
  return 0;
}

/* Trailer names come only after a last chunk; mark the section when the first one arrives. */
static void note_trailer(trace_t* t, int32_t kind) {
  int32_t k = kind & ~EV_PARTIAL;

  if ((k == EV_TNAME || k == EV_TVALUE || k == EV_TRAILERS) && t->in_message == 2) {
    close_span(t);
    t->in_message = 3;
  }
}

/* callback mode: the import the C glue calls for every record */
int32_t sluice_on_span(sluice_t* g, int32_t kind, int32_t a, int32_t b, int32_t c) {
  trace_t* t = current;

  CHECK(t != NULL, "callback outside a call");
  note_trailer(t, kind);
  if (record(t, kind, a, b, c, t->finishing ? 0 : t->buf_len)) {
    return SINK_PAUSE;
  }
  if ((kind & ~EV_PARTIAL) == EV_HEAD && (t->ctl & CTL_RESPONSE) && (t->ctl & CTL_SKIP_BODY)) {
    return SINK_SKIP_BODY;
  }
  return SINK_OK;
}

static int is_stop(int32_t rc) {
  return rc != E_OK && rc != P_FULL && rc != P_HEAD && rc != E_PAUSED;
}

/* Table mode: the records of the last call. Returns the index of the one the sink paused at, or -1. */
static int32_t walk(trace_t* t, sluice_t* g, int32_t stop) {
  int32_t* r = sluice_table(g);
  int32_t n = g->out[OUT_COUNT];

  CHECK(n >= 0 && n <= TABLE_RECORDS, "record count %d", n);
  for (int32_t i = 0; i < n; i++, r += RECORD_INTS) {
    note_trailer(t, r[0]);
    if (record(t, r[0], r[1], r[2], r[3], stop) && !t->finishing) {
      return i;
    }
  }
  return -1;
}

/* One sluice_exec over piece[off, len), as a binding does: resumes after pauses. */
static int32_t exec_piece(trace_t* t, sluice_t* g, int callbacks, const unsigned char* piece, int32_t len,
                          int32_t off, int64_t base) {
  for (;;) {
    int32_t rc, stop;

    t->buf = piece + off;
    t->buf_len = len - off;
    t->base = base + off;
    CHECK(g->base + t->adj == t->base, "glue base %lld, driver %lld", (long long) (g->base + t->adj),
          (long long) t->base);
    current = t;
    rc = sluice_exec(g, piece + off, len - off);
    current = NULL;
    stop = g->out[OUT_ERROR_POS];
    CHECK(stop >= 0 && stop <= len - off, "stop %d outside the buffer of %d", stop, len - off);
    CHECK(g->out[OUT_BODY_LEFT] >= 0, "body left %d", g->out[OUT_BODY_LEFT]);
    CHECK(rc != E_OK || stop == len - off, "E_OK but stopped at %d of %d", stop, len - off);
    if (!callbacks) {
      int32_t paused = walk(t, g, stop);

      /* a pause after CONNECT's head gives way to E_UPGRADE, as in HttpParser */
      if (paused >= 0 && !(rc == E_UPGRADE && paused == g->out[OUT_COUNT] - 1)) {
        /* the C state ran on past the message: start it again where the message ended */
        CHECK(t->pause_pos >= base + off && t->pause_pos <= base + len, "pause outside the buffer");
        sluice_reinit(g, t->closing);
        t->adj = t->pause_pos;
        off = (int32_t) (t->pause_pos - base);
        continue;
      }
    } else {
      CHECK(g->out[OUT_COUNT] == 0, "records in callback mode");
    }
    if (rc == E_OK) {
      return E_OK;
    }
    if (is_stop(rc)) {
      /* a span cut by the stop is dropped, as a binding never completes it; body bytes stay */
      if (t->open_kind == EV_BODY) {
        close_span(t);
      }
      t->open_kind = 0;
      t->open_len = 0;
      t->stopped = 1;
      t->stop_code = rc;
      t->stop_pos = t->base + stop;
      return rc;
    }
    CHECK(!callbacks || rc == E_PAUSED, "pause %d in callback mode", rc);
    CHECK(callbacks || rc != E_PAUSED, "E_PAUSED in table mode");
    CHECK(rc != E_PAUSED || (t->ctl & CTL_PAUSE), "E_PAUSED without a sink pause");
    if (rc == P_HEAD) {
      g->out[OUT_SKIP_BODY] = (t->ctl & CTL_SKIP_BODY) ? 1 : 0;
    }
    off += stop;
  }
}

/* A piece of input, with the body bytes the driver hands out first (as takeBody does). */
static int32_t feed(trace_t* t, sluice_t* g, int callbacks, int64_t at, int32_t len) {
  unsigned char* piece = malloc(len > 0 ? len : 1);
  int32_t start = 0, rc = E_OK, n, slice = 32;

  memcpy(piece, t->data + at, len);
  if (t->stopped) {
    /* sticky: the same code again, nothing recorded */
    t->buf = piece;
    t->buf_len = len;
    t->base = at;
    current = t;
    rc = sluice_exec(g, piece, len);
    current = NULL;
    CHECK(rc == t->stop_code, "sticky %d became %d", t->stop_code, rc);
    CHECK(g->out[OUT_COUNT] == 0, "records after a stop");
    free(piece);
    return rc;
  }
  for (;;) {
    int32_t taken = 0;

    if ((t->ctl & CTL_DRIVER_BODY) && g->out[OUT_BODY_LEFT] > 0) {
      taken = g->out[OUT_BODY_LEFT] < len - start ? g->out[OUT_BODY_LEFT] : len - start;
      if (taken > 0) {
        driver_body(t, at + start, taken);
        sluice_skip(g, taken);
        start += taken;
      }
    }
    if (taken == 0 ? start >= len : g->out[OUT_BODY_LEFT] > 0) {
      break;
    }
    if (!(t->ctl & CTL_DRIVER_BODY)) {
      rc = exec_piece(t, g, callbacks, piece, len, start, at);
      break;
    }
    /* slices, as the bindings copy a chunk (small here, so that bodies start inside slices) */
    n = len - start < slice ? len - start : slice;
    slice = 128;
    rc = exec_piece(t, g, callbacks, piece, start + n, start, at);
    if (rc != E_OK) {
      break;
    }
    start += n;
  }
  free(piece);
  return rc;
}

static int32_t finish(trace_t* t, sluice_t* g, int callbacks) {
  int32_t rc;

  if (t->stopped) {
    rc = sluice_finish(g);
    CHECK(g->out[OUT_COUNT] == 0, "records from finish() after a stop");
    return rc;
  }
  t->finishing = 1;
  current = t;
  rc = sluice_finish(g);
  current = NULL;
  if (!callbacks) {
    walk(t, g, 0);
  }
  t->finishing = 0;
  close_span(t);
  return rc;
}

typedef struct {
  int32_t code;       /* the stop of execute, else finish()'s result */
  int64_t pos;
  int32_t finish_rc;
  int32_t limits_stop;
} verdict_t;

static uint32_t rng;

static uint32_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

static int cmp_int(const void* a, const void* b) {
  return *(const int32_t*) a - *(const int32_t*) b;
}

/* Parses the input cut at cuts[0..ncuts) (sorted); fills the trace and the verdict. */
static void run(trace_t* t, const int32_t lim[4], int callbacks, const int32_t* cuts, int ncuts,
                verdict_t* v) {
  sluice_t* g = sluice_alloc((t->ctl & CTL_RESPONSE) ? PARSER_RESPONSE : PARSER_REQUEST, callbacks,
                             lim[0], lim[1], lim[2], lim[3]);
  int64_t at = 0;

  CHECK(g != NULL, "alloc");
  t->n = 0;
  t->open_kind = 0;
  t->open_len = 0;
  t->stopped = 0;
  t->stop_code = 0;
  t->stop_pos = -1;
  t->in_message = 0;
  t->finishing = 0;
  t->adj = 0;
  t->closing = 0;
  t->pause_pos = -1;
  for (int i = 0; i <= ncuts; i++) {
    int64_t end = i < ncuts ? cuts[i] : (int64_t) t->size;
    feed(t, g, callbacks, at, (int32_t) (end - at));
    at = end;
  }
  /* one more empty call: a stop must stay, and an open body may go on */
  feed(t, g, callbacks, at, 0);
  v->finish_rc = finish(t, g, callbacks);
  v->code = t->stopped ? t->stop_code : v->finish_rc;
  v->pos = t->stopped ? t->stop_pos : -1;
  v->limits_stop = t->stopped && (t->stop_code == E_HEADER_TOO_LARGE || t->stop_code == E_URI_TOO_LONG);
  /* E_UPGRADE and E_CLOSED: finish() answers E_OK; after an error it repeats the error */
  if (t->stopped) {
    int32_t want = (t->stop_code == E_UPGRADE || t->stop_code == E_CLOSED) ? E_OK : t->stop_code;
    CHECK(v->finish_rc == want, "finish() after stop %d returned %d", t->stop_code, v->finish_rc);
  }
  CHECK(t->open_kind == 0, "span left open");
  sluice_free(g);
}

static const char* name(int32_t kind) {
  static const char* names[] = { "?", "BEGIN", "URL", "REASON", "NAME", "VALUE", "HEAD_CL", "HEAD",
                                 "BODY", "TNAME", "TVALUE", "TRAILERS", "DONE" };
  return kind >= 0 && kind <= EV_DONE ? names[kind] : "?";
}

static void dump(const char* label, const trace_t* t, const verdict_t* v) {
  fprintf(stderr, "%s: code %d at %lld, finish %d, %d events\n", label, v->code, (long long) v->pos,
          v->finish_rc, t->n);
  for (int i = 0; i < t->n && i < 200; i++) {
    const event_t* e = &t->ev[i];
    fprintf(stderr, "  %s a=%lld b=%lld c=%lld len=%d hash=%08x\n", name(e->kind), (long long) e->a,
            (long long) e->b, (long long) e->c, e->len, e->hash);
  }
}

static int same_events(const event_t* x, const event_t* y, int n) {
  for (int i = 0; i < n; i++) {
    if (x[i].kind != y[i].kind || x[i].a != y[i].a || x[i].b != y[i].b || x[i].c != y[i].c ||
        x[i].hash != y[i].hash || x[i].len != y[i].len) {
      return 0;
    }
  }
  return 1;
}

static int is_error(int32_t code) {
  return code != E_OK && code != E_UPGRADE && code != E_CLOSED;
}

static void same(const char* what, const trace_t* t0, const verdict_t* v0, const trace_t* t1,
                 const verdict_t* v1) {
  int n = t0->n < t1->n ? t0->n : t1->n;

  if (v0->code == v1->code && v0->pos == v1->pos && t0->n == t1->n && same_events(t0->ev, t1->ev, n)) {
    return;
  }
  /*
   * A limit is checked at the end of every buffer as well as at the end of a line, so a split
   * input may stop on it earlier, or instead of a later error: the events before agree.
   */
  if ((v0->limits_stop || v1->limits_stop) && is_error(v0->code) && is_error(v1->code) &&
      same_events(t0->ev, t1->ev, n)) {
    return;
  }
  fprintf(stderr, "invariant: %s differs from whole\n", what);
  dump("whole", t0, v0);
  dump(what, t1, v1);
  abort();
}

static trace_t traces[2];
static int dump_traces;  /* SLUICE_FUZZ_DUMP=1: print the reference trace of every input */

int LLVMFuzzerInitialize(int* argc, char*** argv) {
  dump_traces = getenv("SLUICE_FUZZ_DUMP") != NULL;
  return 0;
}
static int32_t cuts[MAX_DATA];

static void init_trace(trace_t* t) {
  if (t->ev == NULL) {
    t->ev = malloc(MAX_EVENTS * sizeof(event_t));
    t->open = malloc(MAX_DATA);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int32_t lim[4] = { DEFAULT_MAX_REQUEST_LINE, DEFAULT_MAX_FIELD_LINE, DEFAULT_MAX_HEAD, DEFAULT_MAX_HEADERS };
  verdict_t v0, v1;
  int ctl, ncuts;

  if (size < CTL_BYTES || size - CTL_BYTES > MAX_DATA / 2) {
    return 0;
  }
  ctl = data[0];
  if (ctl & CTL_SMALL_LIMITS) {
    uint8_t l = data[3];
    lim[0] = 16 + (l & 3) * 16;          /* 16..64 */
    lim[1] = 8 + ((l >> 2) & 3) * 16;    /* 8..56 */
    lim[2] = 64 + ((l >> 4) & 3) * 64;   /* 64..256 */
    lim[3] = 1 + ((l >> 6) & 3) * 2;     /* 1..7 */
  }
  init_trace(&traces[0]);
  init_trace(&traces[1]);
  for (int i = 0; i < 2; i++) {
    traces[i].data = data + CTL_BYTES;
    traces[i].size = size - CTL_BYTES;
    traces[i].ctl = ctl;
  }
  size -= CTL_BYTES;

  for (int callbacks = 0; callbacks < 2; callbacks++) {
    /* whole, in table mode, is the reference */
    if (callbacks == 0) {
      run(&traces[0], lim, 0, NULL, 0, &v0);
      if (dump_traces) {
        dump("whole", &traces[0], &v0);
      }
    } else {
      run(&traces[1], lim, 1, NULL, 0, &v1);
      same("callback mode", &traces[0], &v0, &traces[1], &v1);
    }
    /* how the body is handed out, and pausing, change nothing */
    if (callbacks == 0) {
      traces[1].ctl = ctl ^ CTL_DRIVER_BODY;
      run(&traces[1], lim, 0, NULL, 0, &v1);
      same("driver body toggled", &traces[0], &v0, &traces[1], &v1);
      traces[1].ctl = ctl ^ CTL_PAUSE;
      run(&traces[1], lim, 0, NULL, 0, &v1);
      same("pause toggled", &traces[0], &v0, &traces[1], &v1);
      traces[1].ctl = ctl;
    }
    /* split at points derived from the input */
    rng = 0x9e3779b9u ^ ((uint32_t) data[1] << 8) ^ (uint32_t) size;
    ncuts = 1 + data[2] % 16;
    if (size > 1) {
      for (int i = 0; i < ncuts; i++) {
        cuts[i] = 1 + (int32_t) (next_rand() % (size - 1));
      }
      qsort(cuts, ncuts, sizeof(int32_t), cmp_int);
      run(&traces[1], lim, callbacks, cuts, ncuts, &v1);
      same(callbacks ? "split (callbacks)" : "split", &traces[0], &v0, &traces[1], &v1);
    }
    /* a byte at a time */
    if (size > 1 && size <= 512) {
      for (size_t i = 1; i < size; i++) {
        cuts[i - 1] = (int32_t) i;
      }
      run(&traces[1], lim, callbacks, cuts, (int) size - 1, &v1);
      same(callbacks ? "bytewise (callbacks)" : "bytewise", &traces[0], &v0, &traces[1], &v1);
    }
  }
  return 0;
}
