/* Span callbacks: each span (or piece of one, at the end of a buffer) becomes a record. */

#include "sluice.h"

__attribute__((import_module("env"), import_name("sluice_on_span")))
extern int32_t sluice_on_span(sluice_t* g, int32_t kind, int32_t a, int32_t b, int32_t c);

int sluice_record(sluice_t* g, int32_t kind, int32_t a, int32_t b, int32_t c) {
  int32_t n;
  int32_t* r;

  if (g->callbacks) {
    return sluice_on_span(g, kind, a, b, c);
  }
  n = g->out[OUT_COUNT];
  r = g->table + n * RECORD_INTS;
  r[0] = kind;
  r[1] = a;
  r[2] = b;
  r[3] = c;
  g->out[OUT_COUNT] = ++n;
  return n >= TABLE_RECORDS - TABLE_MARGIN ? P_FULL : 0;
}

int sluice_fail(sluice_t* g, int32_t code, const char* reason) {
  g->err_code = code;
  g->err_reason = reason;
  return ERR_C;
}

/* A span that reaches the end of the buffer goes on in the next one: mark it, never pause there. */
static int span(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp, int32_t kind,
                int32_t c) {
  sluice_t* g = GLUE(s);

  if (endp == g->end) {
    sluice_record(g, kind | EV_PARTIAL, POS(g, p), POS(g, endp), c);
    return 0;
  }
  return sluice_record(g, kind, POS(g, p), POS(g, endp), c);
}

static const unsigned char* trim(const unsigned char* p, const unsigned char* e) {
  while (e > p && (e[-1] == ' ' || e[-1] == '\t')) {
    e--;
  }
  return e;
}

/* A value ends at its CR: check the line and the head, and start the next line after CRLF. */
static int value(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp, int32_t kind) {
  sluice_t* g = GLUE(s);
  int64_t at = ABS(g, endp);

  if (endp == g->end) {
    return span(s, p, endp, kind, 0);  /* a piece: JS trims values that came in pieces */
  }
  if (at - g->line_start > g->max_field_line) {
    return sluice_fail(g, E_HEADER_TOO_LARGE, "field line too long");
  }
  if (at - g->head_start > g->max_head) {
    return sluice_fail(g, E_HEADER_TOO_LARGE, "header section too large");
  }
  g->line_start = at + 2;
  return sluice_record(g, kind, POS(g, p), POS(g, trim(p, endp)), 0);
}

int sluice_on_url(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  sluice_t* g = GLUE(s);

  /* method SP target, then SP "HTTP/1.x": the rest of the line has a fixed length */
  if (endp != g->end && ABS(g, endp) - g->head_start + 9 > g->max_start_line) {
    return sluice_fail(g, E_URI_TOO_LONG, "request line too long");
  }
  return span(s, p, endp, EV_URL, 0);
}

int sluice_on_reason(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  sluice_t* g = GLUE(s);

  if (endp != g->end) {
    if (ABS(g, endp) - g->head_start > g->max_start_line) {
      return sluice_fail(g, E_HEADER_TOO_LARGE, "status line too long");
    }
    g->line_start = ABS(g, endp) + 2;
    g->line_kind = LK_FIELD;
  }
  return span(s, p, endp, EV_REASON, 0);
}

int sluice_on_name(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  return span(s, p, endp, EV_NAME, s->header_id);
}

int sluice_on_value(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  return value(s, p, endp, EV_VALUE);
}

int sluice_on_tname(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  return span(s, p, endp, EV_TNAME, s->header_id);
}

int sluice_on_tvalue(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  return value(s, p, endp, EV_TVALUE);
}

int sluice_on_body(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  if (p == endp) {
    return 0;
  }
  return span(s, p, endp, EV_BODY, 0);
}
