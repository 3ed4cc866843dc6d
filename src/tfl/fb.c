/* fb.c - the FlatBuffers builder and reader declared in fb.h.
 *
 * Builder positions are distances from the end of the file ("offsets"):
 * an object finished when the file had S bytes is at offset S for good,
 * whatever is added in front of it later.  Deferred vectors occupy offsets
 * [0, virt); the in-memory bytes occupy (virt, virt + used].  All values
 * are stored little-endian byte by byte, so the host's byte order and
 * alignment never matter.
 */
#include "tfl/fb.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base.h"

/* ---- builder: raw space ----------------------------------------------- */

static void fail(FbBuilder *B, const char *what) {
  if (!B->err)
    B->err = what;
}

void fb_init(FbBuilder *B) {
  memset(B, 0, sizeof *B);
  B->minalign = 1;
}

void fb_release(FbBuilder *B) {
  xfree(B->buf);
  xfree(B->defs);
  xfree(B->fields);
  xfree(B->vtables);
  memset(B, 0, sizeof *B);
}

const char *fb_error(const FbBuilder *B) { return B->err; }
uint64_t fb_size(const FbBuilder *B) { return B->virt + B->used; }
size_t fb_mem_size(const FbBuilder *B) { return B->used; }

static uint64_t cur(const FbBuilder *B) { return B->virt + B->used; }

/* Memory of the in-memory object at offset off (virt < off <= cur). */
static unsigned char *at(FbBuilder *B, uint64_t off) {
  return B->buf + B->cap - (size_t)(off - B->virt);
}

static bool reserve(FbBuilder *B, size_t n) {
  if (B->err)
    return false;
  if (n > FB_MAX_SIZE || cur(B) + n > FB_MAX_SIZE) {
    fail(B, "the model is larger than the 2 GB a flatbuffer can hold");
    return false;
  }
  if (B->cap - B->used >= n)
    return true;
  size_t ncap = B->cap ? B->cap * 2 : 1024;
  while (ncap - B->used < n)
    ncap *= 2;
  unsigned char *nb = xrealloc(NULL, ncap);
  if (!nb) {
    fail(B, "out of memory");
    return false;
  }
  if (B->used)
    memcpy(nb + ncap - B->used, B->buf + B->cap - B->used, B->used);
  xfree(B->buf);
  B->buf = nb;
  B->cap = ncap;
  return true;
}

static void push(FbBuilder *B, const void *p, size_t n) {
  if (n == 0 || !reserve(B, n))
    return;
  B->used += n;
  memcpy(B->buf + B->cap - B->used, p, n);
}

static void push_zeros(FbBuilder *B, size_t n) {
  if (n == 0 || !reserve(B, n))
    return;
  B->used += n;
  memset(B->buf + B->cap - B->used, 0, n);
}

static void put_le(unsigned char *p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static void push_le(FbBuilder *B, uint64_t v, size_t n) {
  unsigned char tmp[8];
  put_le(tmp, v, n);
  push(B, tmp, n);
}

/* Bytes of padding so that `len` more bytes end `align`-aligned. */
static size_t pad_for(uint64_t size, size_t len, size_t align) {
  return (size_t)((~(size + len) + 1) & (align - 1));
}

static void prealign(FbBuilder *B, size_t len, size_t align) {
  if (align > B->minalign)
    B->minalign = align;
  push_zeros(B, pad_for(cur(B), len, align));
}

static FbRef ref_here(const FbBuilder *B) {
  return B->err ? 0 : (FbRef)cur(B);
}

/* ---- builder: vectors and strings ------------------------------------- */

FbRef fb_vec_deferred(FbBuilder *B, const void *data, size_t n, size_t align) {
  if (B->used != 0 || B->in_table) {
    fail(B, "internal: deferred vector after other objects");
    return 0;
  }
  if (B->err)
    return 0;
  if (align < 4)
    align = 4;
  if (align > B->minalign)
    B->minalign = align;
  size_t pad = pad_for(B->virt, n, align);
  if (n > FB_MAX_SIZE || B->virt + pad + n + 4 > FB_MAX_SIZE) {
    fail(B, "the model is larger than the 2 GB a flatbuffer can hold");
    return 0;
  }
  if (B->ndefs == B->cdefs) {
    size_t nc = B->cdefs ? B->cdefs * 2 : 16;
    FbDeferred *d = xrealloc(B->defs, nc * sizeof *d);
    if (!d) {
      fail(B, "out of memory");
      return 0;
    }
    B->defs = d;
    B->cdefs = nc;
  }
  B->defs[B->ndefs++] = (FbDeferred){data, n, pad};
  B->virt += pad + n + 4;
  return (FbRef)B->virt;
}

/* Opens a vector of n elements of `size` bytes: refused inside a table or
 * past the flatbuffer's 2 GB; padded so the elements end align-aligned.
 * The elements are pushed last first, then vec_end writes the length. */
static bool vec_start(FbBuilder *B, size_t n, size_t size, size_t align) {
  if (B->in_table) {
    fail(B, "internal: vector built inside a table");
    return false;
  }
  if (n > FB_MAX_SIZE / size) {
    fail(B, "the model is larger than the 2 GB a flatbuffer can hold");
    return false;
  }
  prealign(B, n * size, align);
  return true;
}

static FbRef vec_end(FbBuilder *B, size_t n) {
  push_le(B, (uint64_t)n, 4);
  return ref_here(B);
}

FbRef fb_vec_u8(FbBuilder *B, const void *data, size_t n, size_t align) {
  if (!vec_start(B, n, 1, align < 4 ? 4 : align))
    return 0;
  if (n)
    push(B, data, n);
  return vec_end(B, n);
}

FbRef fb_vec_i32(FbBuilder *B, const int32_t *v, size_t n) {
  if (!vec_start(B, n, 4, 4))
    return 0;
  for (size_t i = n; i-- > 0;)
    push_le(B, (uint32_t)v[i], 4);
  return vec_end(B, n);
}

FbRef fb_vec_i64(FbBuilder *B, const int64_t *v, size_t n) {
  if (!vec_start(B, n, 8, 8))
    return 0;
  for (size_t i = n; i-- > 0;)
    push_le(B, (uint64_t)v[i], 8);
  return vec_end(B, n);
}

FbRef fb_vec_f32(FbBuilder *B, const float *v, size_t n) {
  if (!vec_start(B, n, 4, 4))
    return 0;
  for (size_t i = n; i-- > 0;) {
    uint32_t bits;
    memcpy(&bits, &v[i], 4);
    push_le(B, bits, 4);
  }
  return vec_end(B, n);
}

FbRef fb_vec_refs(FbBuilder *B, const FbRef *refs, size_t n) {
  if (!vec_start(B, n, 4, 4))
    return 0;
  for (size_t i = n; i-- > 0;) {
    if (refs[i] == 0 && !B->err)
      fail(B, "internal: null reference in a vector");
    /* A uoffset counts from its own position to the target. */
    push_le(B, (uint32_t)(cur(B) + 4 - refs[i]), 4);
  }
  return vec_end(B, n);
}

FbRef fb_stringn(FbBuilder *B, const char *s, size_t n) {
  if (B->in_table) {
    fail(B, "internal: string built inside a table");
    return 0;
  }
  prealign(B, n + 1, 4);
  push_zeros(B, 1);
  if (n)
    push(B, s, n);
  return vec_end(B, n);
}

FbRef fb_string(FbBuilder *B, const char *s) {
  return fb_stringn(B, s, strlen(s));
}

/* ---- builder: tables -------------------------------------------------- */

void fb_table_start(FbBuilder *B) {
  if (B->in_table)
    fail(B, "internal: nested table");
  B->in_table = true;
  B->maxfield = -1;
  B->table_start = UINT64_MAX; /* set when the first field lands */
}

/* The table's inline bytes begin at its first field, after any padding
 * that field needed; leaving that padding out keeps equal tables' vtables
 * equal, so they can be shared. */
static void mark_table_start(FbBuilder *B) {
  if (B->table_start == UINT64_MAX)
    B->table_start = cur(B);
}

static void field_at(FbBuilder *B, int id) {
  if (id < 0 || id > 1000) {
    fail(B, "internal: field id out of range");
    return;
  }
  if (id >= B->cfields) {
    int nc = B->cfields ? B->cfields : 16;
    while (nc <= id)
      nc *= 2;
    uint32_t *f = xrealloc(B->fields, sizeof(uint32_t) * (size_t)nc);
    if (!f) {
      fail(B, "out of memory");
      return;
    }
    for (int i = B->cfields; i < nc; i++)
      f[i] = 0;
    B->fields = f;
    B->cfields = nc;
  }
  /* Fields of an earlier table may still be recorded above maxfield. */
  for (int i = B->maxfield + 1; i <= id; i++)
    B->fields[i] = 0;
  if (id > B->maxfield)
    B->maxfield = id;
  B->fields[id] = B->err ? 0 : (uint32_t)cur(B);
}

static void add_scalar(FbBuilder *B, int id, uint64_t bits, size_t n) {
  if (!B->in_table) {
    fail(B, "internal: field outside a table");
    return;
  }
  prealign(B, n, n);
  mark_table_start(B);
  push_le(B, bits, n);
  field_at(B, id);
}

void fb_add_u8(FbBuilder *B, int id, uint8_t v) { add_scalar(B, id, v, 1); }
void fb_add_i8(FbBuilder *B, int id, int8_t v) { add_scalar(B, id, (uint8_t)v, 1); }
void fb_add_bool(FbBuilder *B, int id, bool v) { add_scalar(B, id, v ? 1 : 0, 1); }
void fb_add_u16(FbBuilder *B, int id, uint16_t v) { add_scalar(B, id, v, 2); }
void fb_add_i16(FbBuilder *B, int id, int16_t v) { add_scalar(B, id, (uint16_t)v, 2); }
void fb_add_u32(FbBuilder *B, int id, uint32_t v) { add_scalar(B, id, v, 4); }
void fb_add_i32(FbBuilder *B, int id, int32_t v) { add_scalar(B, id, (uint32_t)v, 4); }
void fb_add_u64(FbBuilder *B, int id, uint64_t v) { add_scalar(B, id, v, 8); }
void fb_add_i64(FbBuilder *B, int id, int64_t v) { add_scalar(B, id, (uint64_t)v, 8); }

void fb_add_f32(FbBuilder *B, int id, float v) {
  uint32_t bits;
  memcpy(&bits, &v, 4);
  add_scalar(B, id, bits, 4);
}

void fb_add_f64(FbBuilder *B, int id, double v) {
  uint64_t bits;
  memcpy(&bits, &v, 8);
  add_scalar(B, id, bits, 8);
}

void fb_add_ref(FbBuilder *B, int id, FbRef ref) {
  if (ref == 0)
    return;
  if (!B->in_table) {
    fail(B, "internal: field outside a table");
    return;
  }
  prealign(B, 4, 4);
  mark_table_start(B);
  push_le(B, (uint32_t)(cur(B) + 4 - ref), 4);
  field_at(B, id);
}

FbRef fb_table_end(FbBuilder *B) {
  if (!B->in_table) {
    fail(B, "internal: table end without start");
    return 0;
  }
  B->in_table = false;
  prealign(B, 4, 4);
  mark_table_start(B);
  push_zeros(B, 4); /* soffset to the vtable, patched below */
  if (B->err)
    return 0;
  uint64_t tpos = cur(B);
  int nf = B->maxfield + 1;
  size_t vtsize = 4 + 2 * (size_t)nf;
  uint64_t tsize = tpos - B->table_start;
  if (tsize > 0xffff || vtsize > 0xffff) {
    fail(B, "internal: table too large");
    return 0;
  }
  unsigned char vt[4 + 2 * 1001];
  put_le(vt, vtsize, 2);
  put_le(vt + 2, tsize, 2);
  for (int i = 0; i < nf; i++)
    put_le(vt + 4 + 2 * i, B->fields[i] ? tpos - B->fields[i] : 0, 2);
  /* Identical vtables are shared, as the reference builder does. */
  uint64_t vpos = 0;
  for (size_t i = 0; i < B->nvtables && !vpos; i++) {
    unsigned char *old = at(B, B->vtables[i]);
    if (old[0] == vt[0] && old[1] == vt[1] && !memcmp(old, vt, vtsize))
      vpos = B->vtables[i];
  }
  if (!vpos) {
    push(B, vt, vtsize);
    if (B->err)
      return 0;
    vpos = cur(B);
    if (B->nvtables == B->cvtables) {
      size_t nc = B->cvtables ? B->cvtables * 2 : 32;
      uint32_t *v = xrealloc(B->vtables, nc * sizeof *v);
      if (!v) {
        fail(B, "out of memory");
        return 0;
      }
      B->vtables = v;
      B->cvtables = nc;
    }
    B->vtables[B->nvtables++] = (uint32_t)vpos;
  }
  /* vtable = table - soffset, in file addresses. */
  put_le(at(B, tpos), (uint32_t)(int32_t)((int64_t)vpos - (int64_t)tpos), 4);
  return (FbRef)tpos;
}

void fb_finish(FbBuilder *B, FbRef root, const char *ident) {
  if (B->in_table)
    fail(B, "internal: finish inside a table");
  if (root == 0 && !B->err)
    fail(B, "internal: null root");
  if (B->minalign < 4)
    B->minalign = 4;
  prealign(B, 4 + (ident ? 4 : 0), B->minalign);
  if (ident)
    push(B, ident, 4);
  push_le(B, (uint32_t)(cur(B) + 4 - root), 4);
  B->finished = !B->err;
}

int fb_output(const FbBuilder *B, int (*write)(void *user, const void *p, size_t n),
              void *user) {
  static const unsigned char zeros[64];
  int rc = write(user, B->buf + B->cap - B->used, B->used);
  for (size_t i = B->ndefs; i-- > 0 && rc == 0;) {
    const FbDeferred *d = &B->defs[i];
    unsigned char len[4];
    put_le(len, d->n, 4);
    rc = write(user, len, 4);
    if (rc == 0 && d->n)
      rc = write(user, d->data, d->n);
    if (rc == 0 && d->pad)
      rc = write(user, zeros, d->pad);
  }
  return rc;
}

typedef struct MemOut {
  unsigned char *p;
  size_t n;
} MemOut;

static int mem_write(void *user, const void *p, size_t n) {
  MemOut *m = user;
  if (n)
    memcpy(m->p + m->n, p, n);
  m->n += n;
  return 0;
}

unsigned char *fb_to_mem(const FbBuilder *B, size_t *len) {
  if (!B->finished)
    return NULL;
  size_t n = (size_t)fb_size(B);
  MemOut m = {xrealloc(NULL, n ? n : 1), 0};
  if (!m.p)
    return NULL;
  fb_output(B, mem_write, &m);
  *len = m.n;
  return m.p;
}

/* ---- reader ----------------------------------------------------------- */

void fb_reader_init(FbReader *r, const void *buf, size_t len) {
  memset(r, 0, sizeof *r);
  r->buf = buf;
  r->len = len;
}

bool fb_reader_fail(FbReader *r, size_t off, const char *fmt, ...) {
  if (!r->failed) {
    r->failed = true;
    r->err_off = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
  }
  return false;
}

static uint64_t rd(const FbReader *r, size_t pos, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v |= (uint64_t)r->buf[pos + i] << (8 * i);
  return v;
}

/* [pos, pos+n) lies inside the buffer. */
static bool in_bounds(const FbReader *r, size_t pos, size_t n) {
  return pos <= r->len && n <= r->len - pos;
}

bool fb_has_identifier(const void *buf, size_t len, const char *ident) {
  return len >= 8 && memcmp((const unsigned char *)buf + 4, ident, 4) == 0;
}

FbTable fb_table_at(FbReader *r, size_t pos) {
  FbTable t = {0};
  if (r->failed)
    return t;
  if (pos == 0 || !in_bounds(r, pos, 4)) {
    fb_reader_fail(r, pos, "table offset outside the file");
    return t;
  }
  int32_t so = (int32_t)(uint32_t)rd(r, pos, 4);
  int64_t vt = (int64_t)pos - so;
  if (vt < 0 || !in_bounds(r, (size_t)vt, 4)) {
    fb_reader_fail(r, pos, "vtable of the table outside the file");
    return t;
  }
  uint16_t vtsize = (uint16_t)rd(r, (size_t)vt, 2);
  uint16_t tsize = (uint16_t)rd(r, (size_t)vt + 2, 2);
  if (vtsize < 4 || (vtsize & 1) || !in_bounds(r, (size_t)vt, vtsize)) {
    fb_reader_fail(r, (size_t)vt, "bad vtable size %u", vtsize);
    return t;
  }
  if (tsize < 4 || !in_bounds(r, pos, tsize)) {
    fb_reader_fail(r, pos, "table of %u bytes runs past the end of the file", tsize);
    return t;
  }
  t.pos = pos;
  t.vt = (size_t)vt;
  t.vtsize = vtsize;
  t.tsize = tsize;
  return t;
}

FbTable fb_root(FbReader *r) {
  if (!in_bounds(r, 0, 8)) {
    fb_reader_fail(r, 0, "file of %zu bytes is too short for a flatbuffer", r->len);
    return (FbTable){0};
  }
  return fb_table_at(r, (size_t)rd(r, 0, 4));
}

size_t fb_field(FbReader *r, FbTable t, int id, size_t size) {
  if (!t.pos || r->failed || id < 0)
    return 0;
  size_t e = 4 + 2 * (size_t)id;
  if (e + 2 > t.vtsize)
    return 0;
  uint16_t o = (uint16_t)rd(r, t.vt + e, 2);
  if (o == 0)
    return 0;
  if (o < 4 || (size_t)o + size > t.tsize) {
    fb_reader_fail(r, t.vt + e, "field %d at %u runs past its table of %u bytes",
                   id, o, t.tsize);
    return 0;
  }
  return t.pos + o;
}

bool fb_has_field(FbReader *r, FbTable t, int id) {
  return fb_field(r, t, id, 0) != 0;
}

#define FB_GET(name, type, n)                                      \
  type fb_get_##name(FbReader *r, FbTable t, int id, type dflt) {  \
    size_t p = fb_field(r, t, id, n);                              \
    return p ? (type)rd(r, p, n) : dflt;                           \
  }
FB_GET(u8, uint8_t, 1)
FB_GET(i8, int8_t, 1)
FB_GET(u16, uint16_t, 2)
FB_GET(i16, int16_t, 2)
FB_GET(u32, uint32_t, 4)
FB_GET(i32, int32_t, 4)
FB_GET(u64, uint64_t, 8)
FB_GET(i64, int64_t, 8)
#undef FB_GET

bool fb_get_bool(FbReader *r, FbTable t, int id, bool dflt) {
  size_t p = fb_field(r, t, id, 1);
  return p ? r->buf[p] != 0 : dflt;
}

float fb_get_f32(FbReader *r, FbTable t, int id, float dflt) {
  size_t p = fb_field(r, t, id, 4);
  if (!p)
    return dflt;
  uint32_t bits = (uint32_t)rd(r, p, 4);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

double fb_get_f64(FbReader *r, FbTable t, int id, double dflt) {
  size_t p = fb_field(r, t, id, 8);
  if (!p)
    return dflt;
  uint64_t bits = rd(r, p, 8);
  double d;
  memcpy(&d, &bits, 8);
  return d;
}

/* Follows the uoffset stored at p; 0 on error. */
static size_t deref(FbReader *r, size_t p) {
  if (!in_bounds(r, p, 4)) {
    fb_reader_fail(r, p, "reference outside the file");
    return 0;
  }
  uint64_t target = p + rd(r, p, 4);
  if (target == p || target >= r->len) {
    fb_reader_fail(r, p, "reference to %llu, outside the file of %zu bytes",
                   (unsigned long long)target, r->len);
    return 0;
  }
  return (size_t)target;
}

FbTable fb_get_table(FbReader *r, FbTable t, int id) {
  size_t p = fb_field(r, t, id, 4);
  if (!p)
    return (FbTable){0};
  size_t target = deref(r, p);
  return target ? fb_table_at(r, target) : (FbTable){0};
}

static FbVec vec_at(FbReader *r, size_t pos, size_t elem_size) {
  FbVec v = {0, 0};
  if (!in_bounds(r, pos, 4)) {
    fb_reader_fail(r, pos, "vector length outside the file");
    return v;
  }
  uint32_t n = (uint32_t)rd(r, pos, 4);
  if (elem_size && (uint64_t)n * elem_size > r->len - pos - 4) {
    fb_reader_fail(r, pos, "vector of %u x %zu bytes runs past the end of the file",
                   n, elem_size);
    return v;
  }
  v.pos = pos + 4;
  v.n = n;
  return v;
}

FbVec fb_get_vec(FbReader *r, FbTable t, int id, size_t elem_size) {
  size_t p = fb_field(r, t, id, 4);
  if (!p)
    return (FbVec){0, 0};
  size_t target = deref(r, p);
  return target ? vec_at(r, target, elem_size) : (FbVec){0, 0};
}

static const char *str_at(FbReader *r, size_t pos, size_t *len) {
  FbVec v = vec_at(r, pos, 1);
  if (!v.pos)
    return NULL;
  if (!in_bounds(r, v.pos, (size_t)v.n + 1) || r->buf[v.pos + v.n] != 0) {
    fb_reader_fail(r, pos, "string of %u bytes is not NUL-terminated", v.n);
    return NULL;
  }
  if (len)
    *len = v.n;
  return (const char *)r->buf + v.pos;
}

const char *fb_get_str(FbReader *r, FbTable t, int id, size_t *len) {
  if (len)
    *len = 0;
  size_t p = fb_field(r, t, id, 4);
  if (!p)
    return NULL;
  size_t target = deref(r, p);
  return target ? str_at(r, target, len) : NULL;
}

/* Position of element i of a vector of es-byte elements, or 0. */
static size_t elem(FbReader *r, FbVec v, uint32_t i, size_t es) {
  if (!v.pos || i >= v.n || !in_bounds(r, v.pos + (size_t)i * es, es)) {
    fb_reader_fail(r, v.pos, "element %u of a vector of %u read out of range", i, v.n);
    return 0;
  }
  return v.pos + (size_t)i * es;
}

int32_t fb_vec_i32_at(FbReader *r, FbVec v, uint32_t i) {
  size_t p = elem(r, v, i, 4);
  return p ? (int32_t)(uint32_t)rd(r, p, 4) : 0;
}

int64_t fb_vec_i64_at(FbReader *r, FbVec v, uint32_t i) {
  size_t p = elem(r, v, i, 8);
  return p ? (int64_t)rd(r, p, 8) : 0;
}

float fb_vec_f32_at(FbReader *r, FbVec v, uint32_t i) {
  size_t p = elem(r, v, i, 4);
  if (!p)
    return 0;
  uint32_t bits = (uint32_t)rd(r, p, 4);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

FbTable fb_vec_table_at(FbReader *r, FbVec v, uint32_t i) {
  size_t p = elem(r, v, i, 4);
  if (!p)
    return (FbTable){0};
  size_t target = deref(r, p);
  return target ? fb_table_at(r, target) : (FbTable){0};
}

const char *fb_vec_str_at(FbReader *r, FbVec v, uint32_t i, size_t *len) {
  if (len)
    *len = 0;
  size_t p = elem(r, v, i, 4);
  if (!p)
    return NULL;
  size_t target = deref(r, p);
  return target ? str_at(r, target, len) : NULL;
}
