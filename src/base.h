/* base.h - the few things every stage shares: status codes, the conversion
 * context that carries the first error, an arena allocator, element types.
 *
 * Errors are values.  A function that can fail because of its input returns
 * a Status; the human message is recorded once, where the problem is seen,
 * with ctx_err().  The first error sticks (later ones are dropped), so a
 * caller only ever propagates the code with TRY().  Our own bugs are
 * assert()s, never Status values.
 */
#ifndef O2L_BASE_H
#define O2L_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onnx2lite.h"

#define O2L_MAX_RANK 8 /* tensors of higher rank are rejected on load */

typedef o2l_status Status;

#define TRY(expr)                  \
  do {                             \
    Status try_s_ = (expr);        \
    if (try_s_ != O2L_OK)          \
      return try_s_;               \
  } while (0)

#define O2L_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- arena ------------------------------------------------------------ */

/* One arena per conversion: the graphs, names, attributes and every
 * constant the passes compute live in it and are freed together. */
typedef struct ArenaChunk ArenaChunk;
typedef struct Arena {
  ArenaChunk *head;  /* newest chunk first */
  size_t total;      /* bytes obtained from the system, for the report */
  ArenaChunk *spare; /* chunks given back by arena_recycle */
} Arena;

typedef struct ArenaMark {
  ArenaChunk *chunk;
  size_t used;
} ArenaMark;

/* An empty arena.  arena_free gives every chunk back at once; nothing
 * allocated from the arena may be used after it. */
void arena_init(Arena *a);
void arena_free(Arena *a);
/* Zeroed, aligned memory or NULL when the system is out of memory.
 * align must be a power of two <= 64. */
void *arena_alloc(Arena *a, size_t n, size_t align);
/* As arena_alloc, without the zeroing: for buffers the caller fills
 * completely (folded weights: one write pass fewer). */
void *arena_alloc_raw(Arena *a, size_t n, size_t align);
/* Copies / a formatted string in the arena; NULL when out of memory. */
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Scratch space: arena_reset(a, arena_mark(a)) gives back everything
 * allocated after the mark (pointers into it die). */
ArenaMark arena_mark(Arena *a);
void arena_reset(Arena *a, ArenaMark m);
/* The n bytes at p, a large allocation (one that got a chunk of its own),
 * will not be read again: a later large request reuses its memory, whose
 * pages are already resident.  False, and nothing done, when p is not
 * exactly such an allocation or is the newest one.  No ArenaMark may be
 * outstanding. */
bool arena_recycle(Arena *a, const void *p, size_t n);

/* Every growable array goes through this hook so tests can make the nth
 * allocation fail (the out-of-memory cases of tests/unit/test_onnx_load.c,
 * test_fb.c, test_passes.c...). */
void *xrealloc(void *p, size_t n);
void xfree(void *p);
/* Test hook: the nth call from now to xrealloc/arena chunk allocation
 * fails (n = 0 disables). */
void fault_fail_nth(long n);

/* ---- context ---------------------------------------------------------- */

typedef struct Ctx {
  Arena *arena;
  Status status;        /* first error, O2L_OK while none */
  char msg[2048];       /* its message */
  const o2l_options *opt;
  o2l_report *rep;      /* may be NULL (tests) */
  /* Says the bytes [p, p+n) of constant data will not be needed again in
   * their original form (a transformed copy exists), so a mapped model's
   * pages can leave memory; reading them later still works.  May be NULL. */
  void (*release)(void *user, const void *p, size_t n);
  void *release_user;
} Ctx;

/* A context with no error recorded, allocating from a; opt and rep (both
 * may be NULL) are borrowed for the conversion. */
void ctx_init(Ctx *cx, Arena *a, const o2l_options *opt, o2l_report *rep);
/* Records the message if no error was recorded yet; returns code. */
Status ctx_err(Ctx *cx, Status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Out-of-memory, with what was being allocated. */
Status ctx_oom(Ctx *cx, const char *what);
/* A notice for the user (e.g. "batch dimension set to 1"); goes to the
 * report and, unless quiet, to the notice callback. */
void ctx_notice(Ctx *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A warning the user must see: like a notice, but shown even with
 * --quiet, and marked as a warning ("warning: " prefix to the callback). */
void ctx_warn(Ctx *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A line for the closing report only (what was folded, each TRANSPOSE
 * left and why). */
void ctx_report(Ctx *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Calls cx->release if set (see Ctx). */
void ctx_release(Ctx *cx, const void *p, size_t n);
/* Progress of a long stage, fraction in [0,1]. */
void ctx_progress(Ctx *cx, const char *stage, double fraction);

/* ---- element types ---------------------------------------------------- */

/* Our own enum; the ONNX and TFLite numbers are mapped at the edges. */
#define DTYPE_LIST(X)          \
  X(DT_UNDEF, "undefined", 0)  \
  X(DT_F32, "float32", 4)      \
  X(DT_F16, "float16", 2)      \
  X(DT_F64, "float64", 8)      \
  X(DT_I8, "int8", 1)          \
  X(DT_U8, "uint8", 1)         \
  X(DT_I16, "int16", 2)        \
  X(DT_U16, "uint16", 2)       \
  X(DT_I32, "int32", 4)        \
  X(DT_U32, "uint32", 4)       \
  X(DT_I64, "int64", 8)        \
  X(DT_U64, "uint64", 8)       \
  X(DT_BOOL, "bool", 1)        \
  X(DT_STRING, "string", 0)

typedef enum {
#define X(e, s, n) e,
  DTYPE_LIST(X)
#undef X
      DT_COUNT
} DType;

const char *dtype_name(DType t); /* "float32"; "invalid" out of range */
size_t dtype_size(DType t); /* 0 for undefined/string */
bool dtype_is_float(DType t);
bool dtype_is_int(DType t); /* signed or unsigned integer, not bool */

/* IEEE half <-> float, round to nearest even. */
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);

/* Unaligned little-endian loads: constant data may sit unaligned inside
 * the mmapped model file. */
float load_f32(const void *p, size_t i);
int64_t load_i64(const void *p, size_t i);
int32_t load_i32(const void *p, size_t i);
/* Element i of a numeric buffer of type t, converted. */
double load_as_f64(const void *p, DType t, size_t i);
int64_t load_as_i64(const void *p, DType t, size_t i);
/* Store v converted to type t at element i. */
void store_from_f64(void *p, DType t, size_t i, double v);

/* ---- small helpers ---------------------------------------------------- */

/* Product of dims; false on overflow past 2^62 or a negative dim. */
bool dims_numel(int rank, const int64_t *dims, int64_t *out);
/* "1x3x224x224" into buf. */
const char *dims_str(int rank, const int64_t *dims, char *buf, size_t n);
double now_seconds(void);

#endif
