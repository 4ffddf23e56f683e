/* The glue around the llparse state: span table, limits, and what the grammar calls into. */

#ifndef SLUICE_H
#define SLUICE_H

#include <stddef.h>
#include <stdint.h>

#include "../generated/parser.h"
#include "../generated/constants.h"

#define SLUICE_EXPORT(name) __attribute__((export_name(#name), visibility("default")))

/* what kind of line the parser is inside, for the limits checked at the end of a buffer */
#define LK_NONE 0
#define LK_START 1
#define LK_FIELD 2

/* where in a message the parser is, for finish() */
#define PH_NONE 0
#define PH_HEAD 1
#define PH_BODY 2
#define PH_EOF 3

typedef struct sluice_s sluice_t;

struct sluice_s {
  int32_t out[OUT_SLOTS];       /* shared with JS: OUT_COUNT, OUT_ERROR_POS, OUT_SKIP_BODY, ... */
  sluice_ll_t ll;               /* the llparse state; callbacks get a pointer to it */
  int32_t* table;               /* TABLE_RECORDS records of RECORD_INTS; NULL in callback mode */
  const unsigned char* buf;     /* the current call's input */
  const unsigned char* end;
  int64_t base;                 /* stream offset of buf */
  int64_t head_start;           /* stream offset where the head (or trailer section) began */
  int64_t line_start;           /* stream offset where the current line began */
  int32_t line_kind;
  int32_t phase;
  int32_t section;              /* 0: head, 1: trailers */
  int32_t fields;               /* field lines in this section */
  int32_t kind;                 /* PARSER_REQUEST / PARSER_RESPONSE */
  int32_t callbacks;            /* deliver records through the sluice_on_span import */
  int32_t keep_alive;
  int32_t body;                 /* BODY_* picked by sluice_on_head */
  int32_t in_body;              /* inside a consume node: body bytes are counted, never read */
  int32_t max_start_line;
  int32_t max_field_line;
  int32_t max_head;
  int32_t max_headers;
  int32_t err_code;             /* set with err_reason by sluice_fail() */
  const char* err_reason;
};

#define GLUE(s) ((sluice_t*) ((char*) (s) - offsetof(sluice_t, ll)))
/* offset in the current call's buffer, and in the stream */
#define POS(g, p) ((int32_t) ((const unsigned char*) (p) - (g)->buf))
#define ABS(g, p) ((g)->base + ((const unsigned char*) (p) - (g)->buf))

/* Appends a record (or calls JS in callback mode). Table mode: 0, or P_FULL when nearly full. */
int sluice_record(sluice_t* g, int32_t kind, int32_t a, int32_t b, int32_t c);

/* Stores an error for the glue to raise; returns ERR_C. */
int sluice_fail(sluice_t* g, int32_t code, const char* reason);

#endif  /* SLUICE_H */
