/* What the grammar calls at message boundaries: framing and keep-alive (RFC 9112 6, 9.3). */

#include "sluice.h"

int sluice_on_begin(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  sluice_t* g = GLUE(s);

  s->method = 0;
  s->version = 0;
  s->header_id = 0;
  s->status = 0;
  s->flags = 0;
  s->content_length = 0;
  s->chunk_size = 0;
  g->head_start = g->line_start = ABS(g, p);
  g->line_kind = LK_START;
  g->phase = PH_HEAD;
  g->section = 0;
  g->fields = 0;
  g->keep_alive = 0;
  g->body = BODY_NONE;
  g->out[OUT_SKIP_BODY] = 0;
  return sluice_record(g, EV_BEGIN, POS(g, p), 0, 0);
}

int sluice_on_field_start(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  sluice_t* g = GLUE(s);

  if (++g->fields > g->max_headers) {
    return sluice_fail(g, E_HEADER_TOO_LARGE, "too many header fields");
  }
  g->line_start = ABS(g, p);
  g->line_kind = LK_FIELD;
  s->header_id = 0;
  return 0;
}

int sluice_on_head(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  sluice_t* g = GLUE(s);
  uint32_t flags = s->flags;
  int32_t minor = s->version - 10;
  int32_t request = g->kind == PARSER_REQUEST;
  int32_t status = s->status;
  int64_t cl = (flags & F_CONTENT_LENGTH) ? (int64_t) s->content_length : -1;
  int32_t ka, body, rc, sink;

  if (ABS(g, p) - g->head_start > g->max_head) {
    return sluice_fail(g, E_HEADER_TOO_LARGE, "header section too large");
  }
  g->line_kind = LK_NONE;

  if (flags & T_PRESENT) {
    if (flags & T_LAST_CHUNKED) {
      flags |= F_CHUNKED | ((flags & T_CODED) ? F_TE_CODED : 0);
    } else {
      flags |= F_TE_OTHER;
    }
  }
  if (minor == 1) {
    ka = !(flags & F_CONN_CLOSE);
  } else {
    ka = (flags & F_CONN_KEEP_ALIVE) && !(flags & F_CONN_CLOSE);
  }

  if (request) {
    if (minor == 1 && !(flags & F_HAS_HOST)) {
      return sluice_fail(g, E_MISSING_HOST, "missing Host");
    }
    /*
     * nginx 1.22's order: HTTP/1.0 (400), a value other than "chunked" (501), Content-Length (400);
     * a second Transfer-Encoding line was refused by the grammar (400). RFC 9112 6.1 lets a server
     * refuse faulty framing rather than read it and close.
     */
    if (flags & T_PRESENT) {
      if (minor == 0) {
        return sluice_fail(g, E_INVALID_TRANSFER_ENCODING, "HTTP/1.0 request with Transfer-Encoding");
      }
      if (!(flags & F_CHUNKED)) {
        return sluice_fail(g, E_UNSUPPORTED_TE, "Transfer-Encoding other than chunked");
      }
      if (flags & F_CONTENT_LENGTH) {
        return sluice_fail(g, E_UNEXPECTED_CONTENT_LENGTH, "Content-Length with Transfer-Encoding");
      }
    }
    if (s->method == M_CONNECT) {
      ka = 0;
      body = BODY_UPGRADE;
    } else if (flags & F_CHUNKED) {
      body = BODY_CHUNKED;
    } else {
      body = cl > 0 ? BODY_LENGTH : BODY_NONE;
    }
  } else {
    if (status < 100) {
      return sluice_fail(g, E_INVALID_STATUS, "status code below 100");
    }
    /* RFC 9112 6.3 (3): Transfer-Encoding overrides Content-Length; do not reuse the connection */
    if ((flags & T_PRESENT) && (flags & F_CONTENT_LENGTH)) {
      flags &= ~F_CONTENT_LENGTH;
      cl = -1;
      ka = 0;
    }
    /* RFC 9112 6.1: HTTP/1.0 with Transfer-Encoding is faulty framing: close after the message */
    if ((flags & T_PRESENT) && minor == 0) {
      ka = 0;
    }
    if (status == 101) {
      ka = 0;
      body = BODY_UPGRADE;
    } else if (status < 200) {
      ka = 1;  /* interim: the final response follows on this connection */
      body = BODY_NONE;
    } else if (status == 204 || status == 304) {
      body = BODY_NONE;
    } else if (flags & F_CHUNKED) {
      body = BODY_CHUNKED;
    } else if (!(flags & T_PRESENT) && cl >= 0) {
      body = cl > 0 ? BODY_LENGTH : BODY_NONE;
    } else {
      ka = 0;  /* RFC 9112 6.3 (4, 8): the body ends when the server closes */
      body = BODY_EOF;
    }
  }
  s->flags = flags;
  g->keep_alive = ka;
  g->body = body;

  rc = sluice_record(g, EV_HEAD_CL, (int32_t) cl, (int32_t) (cl >> 32), 0);
  sink = sluice_record(g, EV_HEAD, POS(g, p), s->method | minor << 8 | status << 12,
                       (int32_t) (flags & PUBLIC_FLAGS) | (ka ? HEAD_KEEP_ALIVE : 0));
  if (g->callbacks) {
    g->out[OUT_SKIP_BODY] = sink == SINK_SKIP_BODY;
    return 0;
  }
  /* the sink decides about a response body (HEAD): stop so that JS can ask it */
  if (!request && (body == BODY_LENGTH || body == BODY_CHUNKED || body == BODY_EOF)) {
    return P_HEAD;
  }
  return rc | sink ? P_FULL : 0;
}

int sluice_body(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  sluice_t* g = GLUE(s);
  int32_t body = g->body;

  if (g->kind == PARSER_RESPONSE && g->out[OUT_SKIP_BODY] && body != BODY_UPGRADE) {
    body = BODY_NONE;
  }
  g->phase = body == BODY_EOF ? PH_EOF : PH_BODY;
  return body;
}

/* around the consume() of body bytes: while inside, bytes are only counted (see sluice_skip) */
int sluice_on_body_start(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  GLUE(s)->in_body = 1;
  return 0;
}

int sluice_on_body_end(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  GLUE(s)->in_body = 0;
  return 0;
}

int sluice_on_done(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  sluice_t* g = GLUE(s);
  int32_t rc;

  g->phase = PH_NONE;
  g->line_kind = LK_NONE;
  if (!g->keep_alive) {
    s->mode = MODE_CLOSED;
  }
  /* never P_FULL here: TABLE_MARGIN leaves room up to the next record that may pause */
  rc = sluice_record(g, EV_DONE, POS(g, p), 0, 0);
  return g->callbacks && rc == SINK_PAUSE ? E_PAUSED : 0;
}

int sluice_on_trailers_begin(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  sluice_t* g = GLUE(s);

  g->section = 1;
  g->fields = 0;
  g->head_start = g->line_start = ABS(g, p);
  g->line_kind = LK_FIELD;
  return 0;
}

int sluice_on_trailers_done(sluice_ll_t* s, const unsigned char* p, const unsigned char* endp) {
  sluice_t* g = GLUE(s);

  if (ABS(g, p) - g->head_start > g->max_head) {
    return sluice_fail(g, E_HEADER_TOO_LARGE, "trailer section too large");
  }
  g->line_kind = LK_NONE;
  return g->fields > 0 ? sluice_record(g, EV_TRAILERS, POS(g, p), 0, 0) : 0;
}
