/* base.c - arena, context and error recording, element-type helpers.
 *
 * The arena hands out zeroed memory from chunks that are all released by
 * arena_free(); large requests get a chunk of their own so a 100 MB weight
 * copy does not waste a chunk's tail, and such a chunk given back with
 * arena_recycle (a folded temporary nothing reads any more) serves a later
 * large request without faulting in new pages.  All system allocation
 * goes through xrealloc() so the fault tests can fail the nth one.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"

/* ---- allocation ----------------------------------------------------------- */

static long fault_countdown; /* 0 = off; otherwise fail when it reaches 1 */

void fault_fail_nth(long n) { fault_countdown = n; }

static bool fault_hit(void) {
  if (fault_countdown <= 0)
    return false;
  if (--fault_countdown == 0)
    return true;
  return false;
}

void *xrealloc(void *p, size_t n) {
  if (fault_hit())
    return NULL;
  return realloc(p, n ? n : 1);
}

void xfree(void *p) { free(p); }

struct ArenaChunk {
  ArenaChunk *next;
  size_t cap, used;
  bool own; /* holds one large allocation and nothing else */
  unsigned char mem[];
};

enum { CHUNK_SIZE = 1 << 20 };

void arena_init(Arena *a) { memset(a, 0, sizeof *a); }

static void free_chunks(ArenaChunk *c) {
  while (c) {
    ArenaChunk *next = c->next;
    xfree(c);
    c = next;
  }
}

void arena_free(Arena *a) {
  free_chunks(a->head);
  free_chunks(a->spare);
  a->head = a->spare = NULL;
  a->total = 0;
}

static ArenaChunk *chunk_new(Arena *a, size_t cap) {
  if (cap > SIZE_MAX - sizeof(ArenaChunk))
    return NULL;
  ArenaChunk *c = xrealloc(NULL, sizeof(ArenaChunk) + cap);
  if (!c)
    return NULL;
  c->cap = cap;
  c->used = 0;
  c->own = false;
  a->total += cap;
  return c;
}

/* The smallest spare chunk of at least need bytes and at most twice that,
 * unlinked. */
static ArenaChunk *spare_take(Arena *a, size_t need) {
  ArenaChunk **best = NULL;
  for (ArenaChunk **pc = &a->spare; *pc; pc = &(*pc)->next)
    if ((*pc)->cap >= need && (*pc)->cap / 2 <= need &&
        (!best || (*pc)->cap < (*best)->cap))
      best = pc;
  if (!best)
    return NULL;
  ArenaChunk *c = *best;
  *best = c->next;
  c->used = 0;
  return c;
}

bool arena_recycle(Arena *a, const void *p, size_t n) {
  const unsigned char *q = p;
  if (!q || n <= CHUNK_SIZE / 4 || !a->head)
    return false;
  for (ArenaChunk **pc = &a->head->next; *pc; pc = &(*pc)->next) {
    ArenaChunk *c = *pc;
    if (q < c->mem || q >= c->mem + c->cap)
      continue;
    /* That very allocation: behind alignment padding only. */
    size_t off = (size_t)(q - c->mem);
    if (!c->own || off >= 64 || c->used != off + n)
      return false;
    *pc = c->next;
    c->next = a->spare;
    a->spare = c;
    return true;
  }
  return false;
}

void *arena_alloc(Arena *a, size_t n, size_t align) {
  void *p = arena_alloc_raw(a, n, align);
  if (p)
    memset(p, 0, n);
  return p;
}

void *arena_alloc_raw(Arena *a, size_t n, size_t align) {
  if (align < 8)
    align = 8;
  ArenaChunk *c = a->head;
  if (c && !c->own) {
    uintptr_t base = (uintptr_t)c->mem;
    size_t off = (size_t)(((base + c->used + align - 1) & ~(uintptr_t)(align - 1)) - base);
    if (off <= c->cap && n <= c->cap - off) {
      c->used = off + n;
      return c->mem + off;
    }
  }
  /* Large requests get a chunk of their own (a recycled one if one fits,
   * at most twice the size).  The partly used chunk it displaces is
   * abandoned, but its untouched pages never become resident. */
  size_t cap = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
  c = cap == n ? spare_take(a, n + align) : NULL;
  if (!c)
    c = chunk_new(a, cap + align);
  if (!c)
    return NULL;
  c->own = cap == n;
  c->next = a->head;
  a->head = c;
  uintptr_t base = (uintptr_t)c->mem;
  size_t off = (size_t)(((base + align - 1) & ~(uintptr_t)(align - 1)) - base);
  c->used = off + n;
  return c->mem + off;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *d = arena_alloc(a, n + 1, 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

char *arena_strdup(Arena *a, const char *s) {
  return arena_strndup(a, s, strlen(s));
}

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return NULL;
  char *d = arena_alloc(a, (size_t)n + 1, 1);
  if (!d)
    return NULL;
  va_start(ap, fmt);
  vsnprintf(d, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return d;
}

ArenaMark arena_mark(Arena *a) {
  ArenaMark m = {a->head, a->head ? a->head->used : 0};
  return m;
}

void arena_reset(Arena *a, ArenaMark m) {
  while (a->head && a->head != m.chunk) {
    ArenaChunk *next = a->head->next;
    a->total -= a->head->cap;
    xfree(a->head);
    a->head = next;
  }
  if (a->head)
    a->head->used = m.used;
}

/* ---- context ---------------------------------------------------------- */

void ctx_init(Ctx *cx, Arena *a, const o2l_options *opt, o2l_report *rep) {
  memset(cx, 0, sizeof *cx);
  cx->arena = a;
  cx->opt = opt;
  cx->rep = rep;
}

Status ctx_err(Ctx *cx, Status code, const char *fmt, ...) {
  if (cx->status == O2L_OK) {
    cx->status = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cx->msg, sizeof cx->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

Status ctx_oom(Ctx *cx, const char *what) {
  return ctx_err(cx, O2L_ERR_NOMEM, "out of memory while %s", what);
}

static void report_add_line(o2l_report *rep, const char *line) {
  char **lines = xrealloc(rep->lines, sizeof(char *) * (size_t)(rep->n_lines + 1));
  if (!lines)
    return; /* notices are best effort */
  rep->lines = lines;
  size_t n = strlen(line);
  char *copy = xrealloc(NULL, n + 1);
  if (!copy)
    return;
  memcpy(copy, line, n + 1);
  rep->lines[rep->n_lines++] = copy;
}

void ctx_notice(Ctx *cx, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (cx->rep)
    report_add_line(cx->rep, buf);
  if (cx->opt && !cx->opt->quiet && cx->opt->notice)
    cx->opt->notice(cx->opt->user, buf);
}

void ctx_warn(Ctx *cx, const char *fmt, ...) {
  char buf[1024];
  int k = snprintf(buf, sizeof buf, "warning: ");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + k, sizeof buf - (size_t)k, fmt, ap);
  va_end(ap);
  if (cx->rep)
    report_add_line(cx->rep, buf);
  if (cx->opt && cx->opt->notice)
    cx->opt->notice(cx->opt->user, buf);
}

void ctx_report(Ctx *cx, const char *fmt, ...) {
  if (!cx->rep)
    return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  report_add_line(cx->rep, buf);
}

void ctx_release(Ctx *cx, const void *p, size_t n) {
  if (cx->release && p && n)
    cx->release(cx->release_user, p, n);
}

void ctx_progress(Ctx *cx, const char *stage, double fraction) {
  if (cx->opt && !cx->opt->quiet && cx->opt->progress)
    cx->opt->progress(cx->opt->user, stage, fraction);
}

const char *o2l_status_str(o2l_status s) {
  switch (s) {
#define O2L_X_(e, str) \
  case e:              \
    return str;
    O2L_STATUS_LIST(O2L_X_)
#undef O2L_X_
  }
  return "unknown status";
}

/* ---- dtypes ------------------------------------------------------------- */

static const struct {
  const char *name;
  size_t size;
} dtype_info[DT_COUNT] = {
#define X(e, s, n) {s, n},
    DTYPE_LIST(X)
#undef X
};

const char *dtype_name(DType t) {
  return (unsigned)t < DT_COUNT ? dtype_info[t].name : "invalid";
}

size_t dtype_size(DType t) {
  return (unsigned)t < DT_COUNT ? dtype_info[t].size : 0;
}

bool dtype_is_float(DType t) {
  return t == DT_F32 || t == DT_F16 || t == DT_F64;
}

bool dtype_is_int(DType t) {
  switch (t) {
  case DT_I8: case DT_U8: case DT_I16: case DT_U16: case DT_I32:
  case DT_U32: case DT_I64: case DT_U64:
    return true;
  default:
    return false;
  }
}

uint16_t f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t exp = (x >> 23) & 0xffu;
  uint32_t man = x & 0x7fffffu;
  if (exp == 0xff) /* inf or nan */
    return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
  int e = (int)exp - 127 + 15;
  if (e >= 31)
    return (uint16_t)(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10)
      return (uint16_t)sign;
    man |= 0x800000u;
    int shift = 14 - e;
    uint32_t half = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1)))
      half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13);
  uint32_t rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1)))
    half++; /* may carry into the exponent, which is still correct */
  return (uint16_t)half;
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t x;
  if (exp == 0) {
    if (man == 0) {
      x = sign;
    } else { /* subnormal: normalise */
      int e = -1;
      do {
        e++;
        man <<= 1;
      } while (!(man & 0x400u));
      x = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000u | (man << 13);
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (man << 13);
  }
  float f;
  memcpy(&f, &x, 4);
  return f;
}

float load_f32(const void *p, size_t i) {
  float v;
  memcpy(&v, (const unsigned char *)p + i * 4, 4);
  return v;
}

int64_t load_i64(const void *p, size_t i) {
  int64_t v;
  memcpy(&v, (const unsigned char *)p + i * 8, 8);
  return v;
}

int32_t load_i32(const void *p, size_t i) {
  int32_t v;
  memcpy(&v, (const unsigned char *)p + i * 4, 4);
  return v;
}

double load_as_f64(const void *p, DType t, size_t i) {
  const unsigned char *b = p;
  switch (t) {
  case DT_F32: return load_f32(p, i);
  case DT_F64: { double v; memcpy(&v, b + i * 8, 8); return v; }
  case DT_F16: { uint16_t h; memcpy(&h, b + i * 2, 2); return f16_to_f32(h); }
  case DT_I8: return (int8_t)b[i];
  case DT_U8: return b[i];
  case DT_BOOL: return b[i] != 0;
  case DT_I16: { int16_t v; memcpy(&v, b + i * 2, 2); return v; }
  case DT_U16: { uint16_t v; memcpy(&v, b + i * 2, 2); return v; }
  case DT_I32: return load_i32(p, i);
  case DT_U32: { uint32_t v; memcpy(&v, b + i * 4, 4); return v; }
  case DT_I64: return (double)load_i64(p, i);
  case DT_U64: { uint64_t v; memcpy(&v, b + i * 8, 8); return (double)v; }
  default: return 0;
  }
}

int64_t load_as_i64(const void *p, DType t, size_t i) {
  const unsigned char *b = p;
  switch (t) {
  case DT_I64: return load_i64(p, i);
  case DT_U64: { uint64_t v; memcpy(&v, b + i * 8, 8); return (int64_t)v; }
  case DT_I32: return load_i32(p, i);
  case DT_U32: { uint32_t v; memcpy(&v, b + i * 4, 4); return v; }
  case DT_I16: { int16_t v; memcpy(&v, b + i * 2, 2); return v; }
  case DT_U16: { uint16_t v; memcpy(&v, b + i * 2, 2); return v; }
  case DT_I8: return (int8_t)b[i];
  case DT_U8: return b[i];
  case DT_BOOL: return b[i] != 0;
  default: {
    double d = load_as_f64(p, t, i);
    if (d != d)
      return 0;
    if (d >= 9.2e18)
      return INT64_MAX;
    if (d <= -9.2e18)
      return INT64_MIN;
    return (int64_t)d;
  }
  }
}

void store_from_f64(void *p, DType t, size_t i, double v) {
  unsigned char *b = p;
  switch (t) {
  case DT_F32: { float f = (float)v; memcpy(b + i * 4, &f, 4); break; }
  case DT_F64: memcpy(b + i * 8, &v, 8); break;
  case DT_F16: { uint16_t h = f32_to_f16((float)v); memcpy(b + i * 2, &h, 2); break; }
  case DT_BOOL: b[i] = v != 0; break;
  default: {
    /* integers: truncate toward zero like a C cast, saturating */
    int64_t x;
    if (v != v) x = 0;
    else if (v >= 9.2e18) x = INT64_MAX;
    else if (v <= -9.2e18) x = INT64_MIN;
    else x = (int64_t)v;
    switch (t) {
    case DT_I8: b[i] = (unsigned char)(int8_t)x; break;
    case DT_U8: b[i] = (unsigned char)x; break;
    case DT_I16: { int16_t y = (int16_t)x; memcpy(b + i * 2, &y, 2); break; }
    case DT_U16: { uint16_t y = (uint16_t)x; memcpy(b + i * 2, &y, 2); break; }
    case DT_I32: { int32_t y = (int32_t)x; memcpy(b + i * 4, &y, 4); break; }
    case DT_U32: { uint32_t y = (uint32_t)x; memcpy(b + i * 4, &y, 4); break; }
    case DT_I64: memcpy(b + i * 8, &x, 8); break;
    case DT_U64: { uint64_t y = (uint64_t)x; memcpy(b + i * 8, &y, 8); break; }
    default: break;
    }
  }
  }
}

/* ---- misc ------------------------------------------------------------- */

bool dims_numel(int rank, const int64_t *dims, int64_t *out) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0)
      return false;
    if (dims[i] != 0 && n > ((int64_t)1 << 62) / dims[i])
      return false;
    n *= dims[i];
  }
  *out = n;
  return true;
}

const char *dims_str(int rank, const int64_t *dims, char *buf, size_t n) {
  size_t used = 0;
  buf[0] = 0;
  if (rank == 0) {
    snprintf(buf, n, "scalar");
    return buf;
  }
  for (int i = 0; i < rank && used < n; i++) {
    int w = snprintf(buf + used, n - used, i ? "x%lld" : "%lld",
                     (long long)dims[i]);
    if (w < 0)
      break;
    used += (size_t)w;
  }
  return buf;
}

double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
