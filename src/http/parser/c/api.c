/* What JS calls: parser alloc/free, the execute wrapper, finish, and the shared scratch buffer. */

#include <stdlib.h>
#include <string.h>

#include "sluice.h"

/* one input buffer for every parser: JS copies a chunk here, then calls sluice_exec */
static unsigned char scratch[SCRATCH_SIZE] __attribute__((aligned(16)));

SLUICE_EXPORT(sluice_scratch) unsigned char* sluice_scratch(void) {
  return scratch;
}

SLUICE_EXPORT(sluice_reinit) void sluice_reinit(sluice_t* g, int32_t closed) {
  sluice_ll_init(&g->ll);
  g->ll.mode = closed ? MODE_CLOSED : g->kind == PARSER_RESPONSE ? MODE_RESPONSE : MODE_REQUEST;
  memset(g->out, 0, sizeof(g->out));
  g->base = 0;
  g->head_start = 0;
  g->line_start = 0;
  g->line_kind = LK_NONE;
  g->phase = PH_NONE;
  g->section = 0;
  g->fields = 0;
  g->keep_alive = 0;
  g->body = BODY_NONE;
  g->in_body = 0;
  g->err_code = 0;
  g->err_reason = NULL;
}

SLUICE_EXPORT(sluice_alloc) sluice_t* sluice_alloc(int32_t kind, int32_t callbacks,
    int32_t max_start_line, int32_t max_field_line, int32_t max_head, int32_t max_headers) {
  sluice_t* g = calloc(1, sizeof(*g));

  if (g == NULL) {
    return NULL;
  }
  if (!callbacks) {
    g->table = malloc(TABLE_RECORDS * RECORD_INTS * sizeof(int32_t));
    if (g->table == NULL) {
      free(g);
      return NULL;
    }
  }
  g->kind = kind;
  g->callbacks = callbacks;
  g->max_start_line = max_start_line;
  g->max_field_line = max_field_line;
  g->max_head = max_head;
  g->max_headers = max_headers;
  sluice_reinit(g, 0);
  return g;
}

SLUICE_EXPORT(sluice_free) void sluice_free(sluice_t* g) {
  free(g->table);
  free(g);
}

SLUICE_EXPORT(sluice_table) int32_t* sluice_table(sluice_t* g) {
  return g->table;
}

static int is_pause(int32_t code) {
  return code == P_FULL || code == P_HEAD || code == E_PAUSED;
}

/* raise a stored error: sticky, since llparse returns a lingering error at once */
static int32_t set_error(sluice_t* g, int32_t code, const char* reason, const unsigned char* at) {
  g->ll.error = code;
  g->ll.reason = reason;
  g->ll.error_pos = (const char*) at;
  return code;
}

/* Body bytes the parser would count without reading them: the rest of a Content-Length body or chunk. */
static int32_t body_left(sluice_t* g) {
  uint64_t left;

  if (!g->in_body) {
    return 0;
  }
  left = g->body == BODY_CHUNKED ? g->ll.chunk_size : g->ll.content_length;
  return left > 0x7fffffff ? 0x7fffffff : (int32_t) left;
}

/* A line or head still open at the end of the buffer must already fit in its limit. */
static int32_t check_open_line(sluice_t* g) {
  int64_t end = ABS(g, g->end);

  switch (g->line_kind) {
    case LK_START:
      /*
       * The start line and its CRLF; and the CRLF of an empty line after it: a head without
       * fields ends while the line is still the start line (only a field's first byte moves
       * it on), so a line at the limit must not fail here when a buffer ends inside that CRLF.
       * (The line itself is measured exactly where its length is known: sluice_on_url,
       * sluice_on_reason.)
       */
      if (end - g->head_start > (int64_t) g->max_start_line + 4) {
        return g->kind == PARSER_REQUEST
            ? set_error(g, E_URI_TOO_LONG, "request line too long", g->end)
            : set_error(g, E_HEADER_TOO_LARGE, "status line too long", g->end);
      }
      break;
    case LK_FIELD:
      if (end - g->line_start > g->max_field_line) {
        return set_error(g, E_HEADER_TOO_LARGE, "field line too long", g->end);
      }
      break;
    default:
      return 0;
  }
  if (end - g->head_start > g->max_head) {
    return set_error(g, E_HEADER_TOO_LARGE, "header section too large", g->end);
  }
  return 0;
}

/*
 * Parses p[0, len). Returns 0 (all consumed), a pause (P_FULL, P_HEAD, E_PAUSED: call again from
 * out[OUT_ERROR_POS]) or an error (sticky). Records are in the table, out[OUT_COUNT] of them.
 */
SLUICE_EXPORT(sluice_exec) int32_t sluice_exec(sluice_t* g, const unsigned char* p, int32_t len) {
  sluice_ll_t* s = &g->ll;
  const unsigned char* stop;
  int32_t rc;

  g->out[OUT_COUNT] = 0;
  if (is_pause(s->error)) {
    s->error = 0;
  }
  g->buf = p;
  g->end = p + len;
  rc = sluice_ll_execute(s, (const char*) p, (const char*) p + len);
  if (rc == 0) {
    rc = check_open_line(g);
  } else if (rc == ERR_C) {
    rc = set_error(g, g->err_code, g->err_reason, (const unsigned char*) s->error_pos);
  }
  stop = rc == 0 ? g->end : (const unsigned char*) s->error_pos;
  g->out[OUT_ERROR_POS] = (int32_t) (stop - p);
  g->out[OUT_REASON] = (int32_t) (intptr_t) s->reason;
  g->out[OUT_BODY_LEFT] = rc == 0 ? body_left(g) : 0;
  g->base += stop - p;
  return rc;
}

/* JS handed n of the body bytes counted in out[OUT_BODY_LEFT] to the sink itself */
SLUICE_EXPORT(sluice_skip) void sluice_skip(sluice_t* g, int32_t n) {
  if (g->body == BODY_CHUNKED) {
    g->ll.chunk_size -= n;
  } else {
    g->ll.content_length -= n;
  }
  g->out[OUT_BODY_LEFT] -= n;
  g->base += n;
}

/* End of input: completes a close-delimited body; a message cut short is E_INVALID_EOF. */
SLUICE_EXPORT(sluice_finish) int32_t sluice_finish(sluice_t* g) {
  sluice_ll_t* s = &g->ll;

  g->out[OUT_COUNT] = 0;
  g->out[OUT_BODY_LEFT] = 0;
  if (is_pause(s->error)) {
    s->error = 0;
  }
  if (s->error == E_UPGRADE || s->error == E_CLOSED) {
    return E_OK;
  }
  if (s->error != 0) {
    return s->error;
  }
  g->buf = g->end = NULL;
  switch (g->phase) {
    case PH_NONE:
      return E_OK;
    case PH_EOF:
      g->phase = PH_NONE;
      set_error(g, E_CLOSED, "input finished", NULL);
      sluice_record(g, EV_DONE, 0, 0, 0);
      return E_OK;
    default:
      g->out[OUT_REASON] = (int32_t) (intptr_t) "end of input inside a message";
      return set_error(g, E_INVALID_EOF, "end of input inside a message", NULL);
  }
}
