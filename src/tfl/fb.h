/* fb.h - FlatBuffers, written here: a back-to-front builder and a
 * bounds-checked reader.
 *
 * Builder.  Like the reference implementation, objects are laid down from
 * the end of the buffer towards its start, so every reference points
 * forward and a child exists before its parent.  A reference (FbRef) is the
 * object's distance from the end of the buffer; 0 means "none".  Alignment
 * is kept relative to the end and the finished buffer is padded so that its
 * length is a multiple of the largest alignment used, which makes relative
 * and absolute alignment agree.
 *
 * Deferred vectors keep big constant data out of memory: they are pushed
 * first (so they land at the very end of the file) and only counted; the
 * builder stores the caller's pointer.  fb_output() writes the in-memory
 * prefix and then copies each deferred vector from wherever it lives (it
 * may be an unaligned pointer into an mmapped file).  The pointers must
 * stay valid until fb_output() returns.
 *
 * Errors are sticky, as in flatcc: a failed call returns ref 0, later calls
 * pass it on, and fb_error() says what happened once, at the end.
 *
 * Reader.  FbReader checks every offset, length and vtable entry against
 * the buffer before use.  The first problem is recorded with its byte
 * offset (fb_reader_error); accessors then return defaults (0, absent
 * tables, empty vectors), so callers check once per object rather than
 * after every field.  References only point forward, so a malformed file
 * cannot make a reader loop.
 */
#ifndef O2L_FB_H
#define O2L_FB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest buffer a 32-bit signed offset can span. */
#define FB_MAX_SIZE 0x7fffffffu

typedef uint32_t FbRef;

typedef struct FbDeferred {
  const void *data; /* caller's bytes, read at fb_output() */
  size_t n;
  size_t pad;       /* zero bytes after the data */
} FbDeferred;

typedef struct FbBuilder {
  unsigned char *buf; /* in-memory bytes live at buf + cap - used */
  size_t cap, used;
  uint64_t virt;      /* bytes of deferred vectors, at the end of the file */
  FbDeferred *defs;   /* in push order (file order is the reverse) */
  size_t ndefs, cdefs;
  size_t minalign;
  /* The open table: offset of each field from the end, 0 = absent. */
  uint32_t *fields;
  int cfields, maxfield;
  bool in_table;
  uint64_t table_start; /* where its inline bytes begin (UINT64_MAX: not yet) */
  uint32_t *vtables;  /* refs of vtables written so far, for sharing */
  size_t nvtables, cvtables;
  const char *err;    /* first failure, NULL while none */
  bool finished;
} FbBuilder;

/* An empty builder; fb_release frees what it holds and empties it again. */
void fb_init(FbBuilder *B);
void fb_release(FbBuilder *B);
/* NULL while every call succeeded, else what went wrong first. */
const char *fb_error(const FbBuilder *B);
/* Bytes the finished file will have (in-memory prefix + deferred data). */
uint64_t fb_size(const FbBuilder *B);
/* Bytes the builder holds in memory. */
size_t fb_mem_size(const FbBuilder *B);

/* A [ubyte] vector whose payload is not copied: only allowed before any
 * other object is built.  The first payload byte is `align`-aligned
 * (a power of two, at most 64). */
FbRef fb_vec_deferred(FbBuilder *B, const void *data, size_t n, size_t align);

/* Vectors and strings (copied into the builder, stored little-endian). */
FbRef fb_vec_u8(FbBuilder *B, const void *data, size_t n, size_t align);
FbRef fb_vec_i32(FbBuilder *B, const int32_t *v, size_t n);
FbRef fb_vec_i64(FbBuilder *B, const int64_t *v, size_t n);
FbRef fb_vec_f32(FbBuilder *B, const float *v, size_t n);
/* A vector of references to tables or strings built earlier. */
FbRef fb_vec_refs(FbBuilder *B, const FbRef *refs, size_t n);
FbRef fb_string(FbBuilder *B, const char *s);
FbRef fb_stringn(FbBuilder *B, const char *s, size_t n);

/* Tables: start, add fields (any order, each id once), end.  Nothing else
 * may be built while a table is open.  fb_add_* always write the value;
 * leaving a field out means the schema default. */
void fb_table_start(FbBuilder *B);
void fb_add_u8(FbBuilder *B, int id, uint8_t v);
void fb_add_i8(FbBuilder *B, int id, int8_t v);
void fb_add_bool(FbBuilder *B, int id, bool v);
void fb_add_u16(FbBuilder *B, int id, uint16_t v);
void fb_add_i16(FbBuilder *B, int id, int16_t v);
void fb_add_u32(FbBuilder *B, int id, uint32_t v);
void fb_add_i32(FbBuilder *B, int id, int32_t v);
void fb_add_u64(FbBuilder *B, int id, uint64_t v);
void fb_add_i64(FbBuilder *B, int id, int64_t v);
void fb_add_f32(FbBuilder *B, int id, float v);
void fb_add_f64(FbBuilder *B, int id, double v);
/* A reference field; ref 0 leaves the field out. */
void fb_add_ref(FbBuilder *B, int id, FbRef ref);
FbRef fb_table_end(FbBuilder *B);

/* Writes the root reference and the 4-byte file identifier (may be NULL). */
void fb_finish(FbBuilder *B, FbRef root, const char *ident);

/* Streams the finished buffer through write(user, p, n), which returns 0
 * on success.  Returns 0, or the first nonzero value write returned. */
int fb_output(const FbBuilder *B, int (*write)(void *user, const void *p, size_t n),
              void *user);
/* The finished buffer in one xrealloc'd block (tests; small models). */
unsigned char *fb_to_mem(const FbBuilder *B, size_t *len);

/* ---- reader ----------------------------------------------------------- */

typedef struct FbReader {
  const unsigned char *buf;
  size_t len;
  bool failed;
  size_t err_off;  /* byte offset of the first problem */
  char err[160];   /* what was wrong there */
} FbReader;

/* pos == 0 means "absent" (no table can start at byte 0: the root offset
 * is there). */
typedef struct FbTable {
  size_t pos;      /* table start */
  size_t vt;       /* vtable start */
  uint16_t vtsize; /* vtable bytes */
  uint16_t tsize;  /* table inline bytes */
} FbTable;

typedef struct FbVec {
  size_t pos;      /* first element; 0 when absent */
  uint32_t n;
} FbVec;

/* A reader of buf's len bytes (borrowed), no problem recorded. */
void fb_reader_init(FbReader *r, const void *buf, size_t len);
/* Records a problem at `off` (first one sticks); returns false. */
bool fb_reader_fail(FbReader *r, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True when the buffer is long enough and bytes 4..7 equal ident. */
bool fb_has_identifier(const void *buf, size_t len, const char *ident);

/* The root table (absent, with a problem recorded, when the file is too
 * short or the table is bad). */
FbTable fb_root(FbReader *r);
/* The table starting at byte pos, with its vtable checked. */
FbTable fb_table_at(FbReader *r, size_t pos);
static inline bool fb_table_ok(FbTable t) { return t.pos != 0; }

/* Byte offset of field `id` of `size` bytes inside t, or 0 when absent. */
size_t fb_field(FbReader *r, FbTable t, int id, size_t size);
bool fb_has_field(FbReader *r, FbTable t, int id);

/* Scalar field `id` of t, or dflt when the field or t is absent or the
 * reader has failed (a field running past its table is recorded as a
 * problem). */
uint8_t fb_get_u8(FbReader *r, FbTable t, int id, uint8_t dflt);
int8_t fb_get_i8(FbReader *r, FbTable t, int id, int8_t dflt);
bool fb_get_bool(FbReader *r, FbTable t, int id, bool dflt);
uint16_t fb_get_u16(FbReader *r, FbTable t, int id, uint16_t dflt);
int16_t fb_get_i16(FbReader *r, FbTable t, int id, int16_t dflt);
uint32_t fb_get_u32(FbReader *r, FbTable t, int id, uint32_t dflt);
int32_t fb_get_i32(FbReader *r, FbTable t, int id, int32_t dflt);
uint64_t fb_get_u64(FbReader *r, FbTable t, int id, uint64_t dflt);
int64_t fb_get_i64(FbReader *r, FbTable t, int id, int64_t dflt);
float fb_get_f32(FbReader *r, FbTable t, int id, float dflt);
double fb_get_f64(FbReader *r, FbTable t, int id, double dflt);

/* Table, vector or string fields; absent gives an absent table, an empty
 * vector (pos 0) or NULL. */
FbTable fb_get_table(FbReader *r, FbTable t, int id);
FbVec fb_get_vec(FbReader *r, FbTable t, int id, size_t elem_size);
/* The string's bytes inside the buffer (NUL-terminated there, checked). */
const char *fb_get_str(FbReader *r, FbTable t, int id, size_t *len);

/* Elements of a vector read with the matching elem_size; i < v.n is the
 * caller's to check (out-of-range i is reported and gives 0). */
int32_t fb_vec_i32_at(FbReader *r, FbVec v, uint32_t i);
int64_t fb_vec_i64_at(FbReader *r, FbVec v, uint32_t i);
float fb_vec_f32_at(FbReader *r, FbVec v, uint32_t i);
/* A vector of tables / strings (elem_size 4). */
FbTable fb_vec_table_at(FbReader *r, FbVec v, uint32_t i);
const char *fb_vec_str_at(FbReader *r, FbVec v, uint32_t i, size_t *len);
/* Pointer to the payload of a byte vector. */
static inline const unsigned char *fb_vec_bytes(const FbReader *r, FbVec v) {
  return v.pos ? r->buf + v.pos : NULL;
}

#endif
