/* calib_data.c - reads the calibration samples behind --calib (.npy, .npz,
 * a folder of PNG/JPEG/BMP images, or "random") into float arrays in the
 * ONNX layout of the model inputs.
 *
 * Every length, offset and count read from a file is hostile: each is
 * checked against the bytes actually present before use, and messages give
 * the byte offset at fault.  Samples go straight into their arena arrays,
 * read in chunks and converted; samples past the ones used are never read.
 * Decoded images live in scratch arena memory released after each image
 * (arena_mark/arena_reset), so nothing persistent may be allocated while
 * scratch is live.  Byte order: the host is assumed little-endian, like the
 * rest of onnx2lite (float32 .npy data is read as is).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <zlib.h>

#include "quant/calib_data.h"

enum {
  CHUNK = 1 << 16,        /* bytes per read when converting or inflating */
  MAX_HEADER = 1 << 20,   /* longer .npy headers are refused as bogus */
};
/* Images over this are refused before decoding: a 20-byte header can ask
 * for gigabytes.  32 Mpx is a 7000x4600 photo. */
#define MAX_PIXELS ((uint64_t)1 << 25)
#define MAX_IMAGE_BYTES ((uint64_t)1 << 29)

typedef unsigned long long ull;

static uint16_t rd16(const unsigned char *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t rd32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) {
  return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* ---- common ------------------------------------------------------------ */

typedef struct Loader {
  Ctx *cx;
  const o2l_options *opt;
  const char *path;        /* --calib as given, for messages */
  const CalibInput *in;
  int nin;
  int64_t *numel;          /* per input: floats in one sample */
  float **data;            /* per input, allocated by alloc_samples() */
  int count;               /* samples to read */
} Loader;

static Status calib_err(Loader *L, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static Status calib_err(Loader *L, const char *fmt, ...) {
  char buf[sizeof L->cx->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return ctx_err(L->cx, O2L_ERR_CALIB, "%s", buf);
}

/* Python-style "(200, 1, 16, 16)". */
static const char *shape_py(int rank, const int64_t *d, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "(");
  for (int i = 0; i < rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "",
                          (long long)d[i]);
  if (k < n)
    snprintf(buf + k, n - k, rank == 1 ? ",)" : ")");
  return buf;
}

/* K = asked, or min(default, available); noun is "samples" or "images". */
static Status pick_count(Loader *L, const char *what, int64_t avail,
                         const char *noun) {
  int asked = L->opt->calib_samples;
  if (avail <= 0)
    return calib_err(L, "%s holds no %s", what, noun);
  if (asked > 0) {
    if (asked > avail)
      return calib_err(L, "%s holds %lld %s but --calib-samples asked for %d",
                       what, (long long)avail, noun, asked);
    L->count = asked;
    return O2L_OK;
  }
  if (avail < CALIB_DEFAULT_SAMPLES) {
    ctx_notice(L->cx, "%s holds %lld %s, fewer than the default %d: "
               "calibrating on all of them", what, (long long)avail, noun,
               CALIB_DEFAULT_SAMPLES);
    L->count = (int)avail;
  } else {
    L->count = CALIB_DEFAULT_SAMPLES;
  }
  return O2L_OK;
}

static Status alloc_samples(Loader *L) {
  for (int i = 0; i < L->nin; i++) {
    if ((uint64_t)L->numel[i] > SIZE_MAX / sizeof(float) / (size_t)L->count)
      return ctx_oom(L->cx, "allocating calibration samples");
    size_t n = (size_t)L->numel[i] * (size_t)L->count * sizeof(float);
    L->data[i] = arena_alloc(L->cx->arena, n, 64);
    if (!L->data[i])
      return ctx_oom(L->cx, "allocating calibration samples");
  }
  return O2L_OK;
}

static Status check_finite(Loader *L, const char *what, const float *p,
                           int64_t n, int sample) {
  for (int64_t j = 0; j < n; j++)
    if (!isfinite(p[j]))
      return calib_err(L, "%s: sample %d holds %s at element %lld; "
                       "calibration data must be finite", what, sample,
                       isnan(p[j]) ? "NaN" : "Inf", (long long)j);
  return O2L_OK;
}

static void progress(Loader *L, int k) {
  ctx_progress(L->cx, "calibration data", (double)(k + 1) / L->count);
}

/* ---- byte streams: a plain file or a zip entry ------------------------- */

typedef struct Src {
  Ctx *cx;
  FILE *f;
  const char *what;      /* "calib.npy" or "calib.npz: input.npy" */
  const char *unit;      /* "file" or "entry", for messages */
  uint64_t size;         /* bytes the stream holds (uncompressed) */
  uint64_t pos;          /* bytes delivered so far */
  bool deflated;
  uint64_t cleft;        /* deflated: compressed bytes not yet read */
  z_stream z;
  bool zinit;
  unsigned char *zbuf;
  bool has_crc;          /* zip entries: checked when fully read */
  uint32_t crc, want_crc;
} Src;

static Status src_inflate(Src *s, unsigned char *dst, size_t n) {
  while (n > 0) {
    if (s->z.avail_in == 0 && s->cleft > 0) {
      size_t k = s->cleft < CHUNK ? (size_t)s->cleft : CHUNK;
      if (fread(s->zbuf, 1, k, s->f) != k)
        return ctx_err(s->cx, O2L_ERR_CALIB, "%s: read of compressed data "
                       "failed", s->what);
      s->cleft -= k;
      s->z.next_in = s->zbuf;
      s->z.avail_in = (uInt)k;
    }
    uInt step = n > (1u << 30) ? 1u << 30 : (uInt)n;
    s->z.next_out = dst;
    s->z.avail_out = step;
    int r = inflate(&s->z, Z_NO_FLUSH);
    size_t got = step - s->z.avail_out;
    dst += got;
    n -= got;
    ull at = (ull)s->z.total_out;
    if (r == Z_STREAM_END && n > 0)
      return ctx_err(s->cx, O2L_ERR_CALIB, "%s: deflate data ends after %llu "
                     "of %llu bytes", s->what, at, (ull)s->size);
    if (r == Z_BUF_ERROR && s->z.avail_in == 0 && s->cleft == 0)
      return ctx_err(s->cx, O2L_ERR_CALIB, "%s: compressed data is cut short "
                     "(inflated %llu of %llu bytes)", s->what, at,
                     (ull)s->size);
    if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
      return ctx_err(s->cx, O2L_ERR_CALIB, "%s: corrupt deflate data after "
                     "%llu bytes (%s)", s->what, at,
                     s->z.msg ? s->z.msg : zError(r));
  }
  return O2L_OK;
}

/* Exactly n bytes, or an error. */
static Status src_read(Src *s, void *dst, size_t n) {
  if (n > s->size - s->pos)
    return ctx_err(s->cx, O2L_ERR_CALIB, "%s: %zu bytes needed at byte %llu "
                   "but the %s ends at byte %llu", s->what, n, (ull)s->pos,
                   s->unit, (ull)s->size);
  if (s->deflated) {
    TRY(src_inflate(s, dst, n));
  } else if (fread(dst, 1, n, s->f) != n) {
    return ctx_err(s->cx, O2L_ERR_CALIB, "%s: read failed at byte %llu: %s",
                   s->what, (ull)s->pos,
                   ferror(s->f) ? strerror(errno) : "the file is shorter now");
  }
  if (s->has_crc) {
    const unsigned char *p = dst;
    for (size_t left = n; left > 0;) {
      uInt k = left > (1u << 30) ? 1u << 30 : (uInt)left;
      s->crc = (uint32_t)crc32(s->crc, p, k);
      p += k;
      left -= k;
    }
  }
  s->pos += n;
  if (s->has_crc && s->pos == s->size && s->crc != s->want_crc)
    return ctx_err(s->cx, O2L_ERR_CALIB, "%s: CRC-32 mismatch (the directory "
                   "says %08x, the data gives %08x): the archive is corrupt",
                   s->what, s->want_crc, s->crc);
  return O2L_OK;
}

static void src_close(Src *s) {
  if (s->zinit)
    inflateEnd(&s->z);
  s->zinit = false;
}

/* ---- .npy -------------------------------------------------------------- */

/* https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html */
typedef struct Npy {
  char descr[32];
  DType dt;
  int rank;
  int64_t shape[O2L_MAX_RANK];
  uint64_t data_off;      /* where the data starts in the stream */
} Npy;

/* The header is a Python dict literal; this reads the subset np.save
 * writes: string keys, string/True/False/tuple-of-ints values. */
typedef struct Hp {
  Ctx *cx;
  const char *what;
  const char *s;
  size_t n, i;
  uint64_t base;          /* stream offset of s[0] */
} Hp;

static Status hp_err(Hp *h, const char *expected) {
  char found[32];
  if (h->i >= h->n)
    snprintf(found, sizeof found, "the end of the header");
  else if (h->s[h->i] > ' ' && h->s[h->i] < 127)
    snprintf(found, sizeof found, "'%c'", h->s[h->i]);
  else
    snprintf(found, sizeof found, "byte 0x%02x",
             (unsigned)(unsigned char)h->s[h->i]);
  return ctx_err(h->cx, O2L_ERR_CALIB, "%s: .npy header at byte %llu: "
                 "expected %s, found %s", h->what, (ull)(h->base + h->i),
                 expected, found);
}

static void hp_ws(Hp *h) {
  while (h->i < h->n && strchr(" \t\r\n", h->s[h->i]) && h->s[h->i])
    h->i++;
}

static bool hp_eat(Hp *h, char c) {
  hp_ws(h);
  if (h->i < h->n && h->s[h->i] == c) {
    h->i++;
    return true;
  }
  return false;
}

static Status hp_str(Hp *h, char *out, size_t cap) {
  hp_ws(h);
  if (h->i >= h->n || (h->s[h->i] != '\'' && h->s[h->i] != '"'))
    return hp_err(h, "a quoted string");
  char q = h->s[h->i++];
  size_t k = 0;
  while (h->i < h->n && h->s[h->i] != q) {
    if (h->s[h->i] == '\\' || h->s[h->i] == 0)
      return hp_err(h, "a plain string");
    if (k + 1 >= cap)
      return ctx_err(h->cx, O2L_ERR_CALIB, "%s: .npy header at byte %llu: "
                     "string longer than %zu characters", h->what,
                     (ull)(h->base + h->i), cap - 1);
    out[k++] = h->s[h->i++];
  }
  if (h->i >= h->n)
    return hp_err(h, "a closing quote");
  h->i++;
  out[k] = 0;
  return O2L_OK;
}

static Status hp_bool(Hp *h, bool *v) {
  hp_ws(h);
  const char *p = h->s + h->i;
  size_t left = h->n - h->i;
  size_t len = 0;
  if (left >= 4 && !memcmp(p, "True", 4))
    len = 4, *v = true;
  else if (left >= 5 && !memcmp(p, "False", 5))
    len = 5, *v = false;
  if (!len || (len < left && (p[len] == '_' || (p[len] >= 'a' && p[len] <= 'z')
                              || (p[len] >= 'A' && p[len] <= 'Z'))))
    return hp_err(h, "True or False");
  h->i += len;
  return O2L_OK;
}

static Status hp_shape(Hp *h, Npy *np) {
  if (!hp_eat(h, '('))
    return hp_err(h, "'(' opening the shape tuple");
  np->rank = 0;
  for (;;) {
    if (hp_eat(h, ')'))
      break;
    hp_ws(h);
    if (h->i >= h->n || h->s[h->i] < '0' || h->s[h->i] > '9')
      return hp_err(h, "a dimension or ')'");
    uint64_t at = h->base + h->i, v = 0;
    while (h->i < h->n && h->s[h->i] >= '0' && h->s[h->i] <= '9') {
      v = v * 10 + (uint64_t)(h->s[h->i++] - '0');
      if (v > ((uint64_t)1 << 62))
        return ctx_err(h->cx, O2L_ERR_CALIB, "%s: .npy header at byte %llu: "
                       "dimension is too large", h->what, (ull)at);
    }
    if (h->i < h->n && h->s[h->i] == 'L') /* Python 2 long */
      h->i++;
    if (np->rank == O2L_MAX_RANK)
      return ctx_err(h->cx, O2L_ERR_CALIB, "%s: .npy header at byte %llu: "
                     "shape has more than %d dimensions", h->what, (ull)at,
                     O2L_MAX_RANK);
    np->shape[np->rank++] = (int64_t)v;
    if (hp_eat(h, ','))
      continue;
    if (hp_eat(h, ')'))
      break;
    return hp_err(h, "',' or ')' in the shape tuple");
  }
  return O2L_OK;
}

static Status npy_dtype(Hp *h, Npy *np) {
  static const struct {
    const char *code;
    DType dt;
  } types[] = {
      {"f4", DT_F32}, {"f8", DT_F64}, {"f2", DT_F16}, {"u1", DT_U8},
      {"i1", DT_I8},  {"i2", DT_I16}, {"u2", DT_U16}, {"i4", DT_I32},
      {"u4", DT_U32}, {"i8", DT_I64}, {"u8", DT_U64},
  };
  const char *d = np->descr;
  if (strchr("<>|=", d[0]) && d[0]) {
    for (size_t i = 0; i < O2L_ARRAY_LEN(types); i++) {
      if (strcmp(d + 1, types[i].code))
        continue;
      size_t sz = dtype_size(types[i].dt);
      if (sz > 1 && d[0] == '>')
        return ctx_err(h->cx, O2L_ERR_CALIB, "%s: dtype '%s' is big-endian; "
                       "save a little-endian array (arr.astype('<%s'))",
                       h->what, d, types[i].code);
      if (sz > 1 && d[0] == '|')
        break;
      np->dt = types[i].dt;
      return O2L_OK;
    }
  }
  if (!strcmp(d, "|O") || !strcmp(d, "O"))
    return ctx_err(h->cx, O2L_ERR_CALIB, "%s: dtype '%s' is an object array "
                   "(it needs pickle); save a numeric array", h->what, d);
  return ctx_err(h->cx, O2L_ERR_CALIB, "%s: dtype '%s' is not supported "
                 "(float32, float64, float16 or an integer type, "
                 "little-endian)", h->what, d);
}

static Status npy_parse_dict(Hp *h, Npy *np) {
  bool seen[3] = {false, false, false}, fortran = false;
  static const char *const keys[3] = {"descr", "fortran_order", "shape"};
  if (!hp_eat(h, '{'))
    return hp_err(h, "'{' opening the header dict");
  for (;;) {
    if (hp_eat(h, '}'))
      break;
    char key[32];
    hp_ws(h);
    uint64_t at = h->base + h->i;
    TRY(hp_str(h, key, sizeof key));
    int k = 0;
    while (k < 3 && strcmp(key, keys[k]))
      k++;
    if (k == 3)
      return ctx_err(h->cx, O2L_ERR_CALIB, "%s: .npy header at byte %llu: "
                     "unknown key '%s' (descr, fortran_order, shape)",
                     h->what, (ull)at, key);
    if (seen[k])
      return ctx_err(h->cx, O2L_ERR_CALIB, "%s: .npy header at byte %llu: "
                     "key '%s' appears twice", h->what, (ull)at, key);
    seen[k] = true;
    if (!hp_eat(h, ':'))
      return hp_err(h, "':'");
    hp_ws(h);
    if (k == 0 && h->i < h->n && h->s[h->i] == '[')
      return ctx_err(h->cx, O2L_ERR_CALIB, "%s: .npy header at byte %llu: a "
                     "structured dtype (a list of fields) is not supported; "
                     "save a plain numeric array", h->what,
                     (ull)(h->base + h->i));
    if (k == 0)
      TRY(hp_str(h, np->descr, sizeof np->descr));
    else if (k == 1)
      TRY(hp_bool(h, &fortran));
    else
      TRY(hp_shape(h, np));
    if (hp_eat(h, ','))
      continue;
    if (hp_eat(h, '}'))
      break;
    return hp_err(h, "',' or '}'");
  }
  hp_ws(h);
  if (h->i < h->n)
    return hp_err(h, "only padding after the header dict");
  for (int k = 0; k < 3; k++)
    if (!seen[k])
      return ctx_err(h->cx, O2L_ERR_CALIB, "%s: the .npy header has no '%s' "
                     "key", h->what, keys[k]);
  TRY(npy_dtype(h, np));
  if (fortran)
    return ctx_err(h->cx, O2L_ERR_CALIB, "%s: fortran_order is True (a "
                   "column-major array); save np.ascontiguousarray(arr)",
                   h->what);
  return O2L_OK;
}

/* Reads and checks the header; leaves the stream at the data. */
static Status npy_read_header(Src *s, Npy *np) {
  Ctx *cx = s->cx;
  unsigned char pre[12];
  memset(np, 0, sizeof *np);
  if (s->size < 10)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: %llu bytes is too short for a .npy "
                   "file (magic, version and header length take 10)", s->what,
                   (ull)s->size);
  TRY(src_read(s, pre, 10));
  if (memcmp(pre, "\x93NUMPY", 6))
    return ctx_err(cx, O2L_ERR_CALIB, "%s: not a .npy file (no \\x93NUMPY "
                   "magic at byte 0)", s->what);
  int major = pre[6], minor = pre[7];
  if (minor != 0 || major < 1 || major > 3)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: .npy format version %d.%d at byte "
                   "6 is not supported (1.0, 2.0, 3.0)", s->what, major,
                   minor);
  uint64_t hlen, hoff = major == 1 ? 10 : 12;
  if (major == 1) {
    hlen = rd16(pre + 8);
  } else {
    if (s->size < 12)
      return ctx_err(cx, O2L_ERR_CALIB, "%s: %llu bytes is too short for a "
                     "version %d.0 .npy file (its header length ends at byte "
                     "12)", s->what, (ull)s->size, major);
    TRY(src_read(s, pre + 10, 2));
    hlen = rd32(pre + 8);
  }
  if (hlen > s->size - hoff)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: header length %llu at byte 8 runs "
                   "past the end of the %s (%llu bytes)", s->what, (ull)hlen,
                   s->unit, (ull)s->size);
  if (hlen > MAX_HEADER)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: header length %llu at byte 8 is "
                   "implausible (over %d bytes)", s->what, (ull)hlen,
                   MAX_HEADER);
  ArenaMark m = arena_mark(cx->arena);
  char *text = arena_alloc(cx->arena, (size_t)hlen + 1, 1);
  Status st = text ? src_read(s, text, (size_t)hlen)
                   : ctx_oom(cx, "reading a .npy header");
  if (st == O2L_OK) {
    Hp h = {cx, s->what, text, (size_t)hlen, 0, hoff};
    st = npy_parse_dict(&h, np);
  }
  arena_reset(cx->arena, m);
  TRY(st);
  np->data_off = hoff + hlen;

  char sh[256];
  int64_t numel;
  if (!dims_numel(np->rank, np->shape, &numel) ||
      (uint64_t)numel > UINT64_MAX / 8)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: shape %s is too large", s->what,
                   shape_py(np->rank, np->shape, sh, sizeof sh));
  uint64_t need = (uint64_t)numel * dtype_size(np->dt);
  if (need > s->size - np->data_off)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: a %s array of shape %s needs %llu "
                   "bytes of data from byte %llu, but the %s ends at byte %llu",
                   s->what, dtype_name(np->dt),
                   shape_py(np->rank, np->shape, sh, sizeof sh), (ull)need,
                   (ull)np->data_off, s->unit, (ull)s->size);
  return O2L_OK;
}

/* The array must be [N] + dims[1:] of input idx; *n = N. */
static Status npy_fit(Loader *L, const char *what, const Npy *np, int idx,
                      int64_t *n) {
  const CalibInput *in = &L->in[idx];
  int r = in->rank < 1 ? 1 : in->rank;
  bool ok = np->rank == r;
  for (int d = 1; ok && d < r; d++)
    ok = np->shape[d] == in->dims[d];
  if (!ok) {
    char got[256], want[256], ds[128];
    size_t k = (size_t)snprintf(want, sizeof want, "(N");
    for (int d = 1; d < r && k < sizeof want; d++)
      k += (size_t)snprintf(want + k, sizeof want - k, ", %lld",
                            (long long)in->dims[d]);
    if (k < sizeof want)
      snprintf(want + k, sizeof want - k, r == 1 ? ",)" : ")");
    return calib_err(L, "%s: shape %s does not fit input '%s' [%s]: expected "
                     "%s with the samples along the first axis", what,
                     shape_py(np->rank, np->shape, got, sizeof got), in->name,
                     dims_str(in->rank, in->dims, ds, sizeof ds), want);
  }
  *n = np->shape[0];
  return O2L_OK;
}

static Status npy_convert(Loader *L, Src *s, const Npy *np, float *p,
                          int64_t n, unsigned char *buf) {
  size_t isz = dtype_size(np->dt);
  for (int64_t j = 0; j < n;) {
    size_t take = (size_t)(n - j) < CHUNK / isz ? (size_t)(n - j) : CHUNK / isz;
    TRY(src_read(s, buf, take * isz));
    for (size_t t = 0; t < take; t++)
      p[j + (int64_t)t] = (float)load_as_f64(buf, np->dt, t);
    j += (int64_t)take;
  }
  return O2L_OK;
}

/* The first L->count samples, from the stream positioned at the data. */
static Status npy_read_samples(Loader *L, Src *s, const Npy *np, int idx) {
  int64_t per = L->numel[idx];
  ArenaMark m = arena_mark(L->cx->arena);
  unsigned char *buf = arena_alloc(L->cx->arena, CHUNK, 64);
  Status st = buf ? O2L_OK : ctx_oom(L->cx, "reading calibration samples");
  for (int k = 0; k < L->count && st == O2L_OK; k++) {
    float *p = L->data[idx] + (size_t)k * (size_t)per;
    if (np->dt == DT_F32)
      st = src_read(s, p, (size_t)per * sizeof(float));
    else
      st = npy_convert(L, s, np, p, per, buf);
    if (st == O2L_OK)
      st = check_finite(L, s->what, p, per, k);
    if (st == O2L_OK)
      progress(L, k);
  }
  arena_reset(L->cx->arena, m);
  return st;
}

static Status open_file(Loader *L, FILE **f, uint64_t *size) {
  struct stat sb;
  *f = fopen(L->path, "rb");
  if (!*f)
    return calib_err(L, "%s: cannot open: %s", L->path, strerror(errno));
  if (fstat(fileno(*f), &sb) || !S_ISREG(sb.st_mode)) {
    fclose(*f);
    *f = NULL;
    return calib_err(L, "%s: not a regular file", L->path);
  }
  *size = (uint64_t)sb.st_size;
  return O2L_OK;
}

static const char *input_names(Loader *L) {
  const char *s = "";
  for (int i = 0; i < L->nin && s; i++)
    s = arena_printf(L->cx->arena, "%s%s'%s'", s, i ? ", " : "",
                     L->in[i].name);
  return s ? s : "?";
}

static Status load_npy(Loader *L) {
  if (L->nin > 1)
    return calib_err(L, "%s: the model has %d inputs (%s) but a .npy holds "
                     "one array: give a .npz with one array per input name "
                     "(np.savez)", L->path, L->nin, input_names(L));
  FILE *f;
  uint64_t size;
  TRY(open_file(L, &f, &size));
  Src s = {.cx = L->cx, .f = f, .what = L->path, .unit = "file",
           .size = size};
  Npy np;
  int64_t n = 0;
  Status st = npy_read_header(&s, &np);
  if (st == O2L_OK)
    st = npy_fit(L, L->path, &np, 0, &n);
  if (st == O2L_OK)
    st = pick_count(L, L->path, n, "samples");
  if (st == O2L_OK)
    st = alloc_samples(L);
  if (st == O2L_OK)
    st = npy_read_samples(L, &s, &np, 0);
  fclose(f);
  return st;
}

/* ---- .npz (zip) ---------------------------------------------------------- */

/* PKWARE APPNOTE.TXT 6.3: local header 4.3.7, central directory 4.3.12,
 * end record 4.3.16, zip64 records 4.3.14-15 and extra field 4.5.3. */
typedef struct ZipEntry {
  const char *name;        /* arena, NUL-terminated */
  uint16_t flags, method;
  uint32_t crc;
  uint64_t csize, usize;
  uint64_t off;            /* its local header */
} ZipEntry;

typedef struct Zip {
  FILE *f;
  uint64_t size;
  uint64_t cd_off;         /* entry data must end before this */
  ZipEntry *e;
  int n;
} Zip;

static Status zip_read_at(Loader *L, Zip *z, uint64_t off, void *buf,
                          size_t n) {
  if (off > z->size || n > z->size - off ||
      fseeko(z->f, (off_t)off, SEEK_SET) || fread(buf, 1, n, z->f) != n)
    return calib_err(L, "%s: read of %zu bytes at byte %llu failed", L->path,
                     n, (ull)off);
  return O2L_OK;
}

/* Finds the end record; fills the directory position and entry count. */
static Status zip_find_end(Loader *L, Zip *z, uint64_t *cd_off,
                           uint64_t *cd_size, uint64_t *count) {
  if (z->size < 22)
    return calib_err(L, "%s: %llu bytes is too short for an .npz (a zip "
                     "archive's end record alone takes 22)", L->path,
                     (ull)z->size);
  uint64_t tail = z->size < 22 + 65535 ? z->size : 22 + 65535;
  unsigned char *b = arena_alloc(L->cx->arena, (size_t)tail, 8);
  if (!b)
    return ctx_oom(L->cx, "reading a zip directory");
  TRY(zip_read_at(L, z, z->size - tail, b, (size_t)tail));
  size_t i = (size_t)tail - 22;
  for (;; i--) {
    if (rd32(b + i) == 0x06054b50 && i + 22 + rd16(b + i + 20) <= tail)
      break;
    if (i == 0)
      return calib_err(L, "%s: not a zip archive (no end-of-central-directory "
                       "record in its last %llu bytes); an .npz is written by "
                       "np.savez", L->path, (ull)tail);
  }
  const unsigned char *e = b + i;
  uint64_t end_at = z->size - tail + i;
  uint64_t disk = rd16(e + 4), cd_disk = rd16(e + 6), n_disk = rd16(e + 8);
  *count = rd16(e + 10);
  *cd_size = rd32(e + 12);
  *cd_off = rd32(e + 16);
  if ((*count == 0xffff || *cd_size == 0xffffffffu || *cd_off == 0xffffffffu)
      && i >= 20 && rd32(e - 20) == 0x07064b50) {
    uint64_t loc_at = end_at - 20, z64 = rd64(e - 20 + 8);
    unsigned char r[56];
    if (z64 > loc_at || loc_at - z64 < 56)
      return calib_err(L, "%s: zip64 end record offset %llu (from the locator "
                       "at byte %llu) is out of bounds", L->path, (ull)z64,
                       (ull)loc_at);
    TRY(zip_read_at(L, z, z64, r, 56));
    if (rd32(r) != 0x06064b50)
      return calib_err(L, "%s: no zip64 end record signature at byte %llu",
                       L->path, (ull)z64);
    disk = rd32(r + 16);
    cd_disk = rd32(r + 20);
    n_disk = rd64(r + 24);
    *count = rd64(r + 32);
    *cd_size = rd64(r + 40);
    *cd_off = rd64(r + 48);
    end_at = z64;
  }
  if (disk != 0 || cd_disk != 0 || n_disk != *count)
    return calib_err(L, "%s: split (multi-disk) zip archives are not "
                     "supported", L->path);
  if (*cd_off > end_at || *cd_size > end_at - *cd_off)
    return calib_err(L, "%s: central directory (%llu bytes at byte %llu) runs "
                     "past the end record at byte %llu", L->path,
                     (ull)*cd_size, (ull)*cd_off, (ull)end_at);
  if (*count > *cd_size / 46)
    return calib_err(L, "%s: %llu entries cannot fit in a %llu-byte central "
                     "directory", L->path, (ull)*count, (ull)*cd_size);
  return O2L_OK;
}

/* Zip64 extended information (header 0x0001): 8-byte values for the fields
 * saturated at 0xffffffff, in this order. */
static Status zip_extra(Loader *L, ZipEntry *e, const unsigned char *x,
                        size_t n, uint64_t at) {
  while (n >= 4) {
    size_t id = rd16(x), sz = rd16(x + 2);
    if (sz > n - 4)
      return calib_err(L, "%s: extra field at byte %llu (size %zu) overruns "
                       "its entry", L->path, (ull)at, sz);
    if (id == 1) {
      uint64_t *f[3] = {&e->usize, &e->csize, &e->off};
      size_t k = 4;
      for (int i = 0; i < 3; i++) {
        if (*f[i] != 0xffffffffu)
          continue;
        if (k + 8 > sz + 4)
          return calib_err(L, "%s: zip64 extra field at byte %llu is too "
                           "short", L->path, (ull)at);
        *f[i] = rd64(x + k);
        k += 8;
      }
    }
    x += 4 + sz;
    at += 4 + sz;
    n -= 4 + sz;
  }
  return O2L_OK;
}

static Status zip_read_dir(Loader *L, Zip *z) {
  uint64_t cd_off = 0, cd_size = 0, count = 0;
  ArenaMark m = arena_mark(L->cx->arena);
  Status st = zip_find_end(L, z, &cd_off, &cd_size, &count);
  arena_reset(L->cx->arena, m);
  TRY(st);
  z->cd_off = cd_off;
  unsigned char *cd = arena_alloc(L->cx->arena, (size_t)cd_size + 1, 8);
  z->e = arena_alloc(L->cx->arena, sizeof(ZipEntry) * (size_t)(count + 1), 8);
  if (!cd || !z->e)
    return ctx_oom(L->cx, "reading a zip directory");
  TRY(zip_read_at(L, z, cd_off, cd, (size_t)cd_size));
  uint64_t p = 0;
  for (z->n = 0; (uint64_t)z->n < count; z->n++) {
    uint64_t at = cd_off + p;
    if (cd_size - p < 46)
      return calib_err(L, "%s: central directory entry %d at byte %llu is cut "
                       "short (the directory ends at byte %llu)", L->path,
                       z->n, (ull)at, (ull)(cd_off + cd_size));
    const unsigned char *c = cd + p;
    if (rd32(c) != 0x02014b50)
      return calib_err(L, "%s: no central directory signature at byte %llu",
                       L->path, (ull)at);
    size_t nlen = rd16(c + 28), xlen = rd16(c + 30), clen = rd16(c + 32);
    if (46 + nlen + xlen + clen > cd_size - p)
      return calib_err(L, "%s: central directory entry at byte %llu: name, "
                       "extra and comment lengths (%zu, %zu, %zu) run past "
                       "the directory's end at byte %llu", L->path, (ull)at,
                       nlen, xlen, clen, (ull)(cd_off + cd_size));
    ZipEntry *e = &z->e[z->n];
    e->flags = rd16(c + 8);
    e->method = rd16(c + 10);
    e->crc = rd32(c + 16);
    e->csize = rd32(c + 20);
    e->usize = rd32(c + 24);
    e->off = rd32(c + 42);
    e->name = arena_strndup(L->cx->arena, (const char *)c + 46, nlen);
    if (!e->name)
      return ctx_oom(L->cx, "reading a zip directory");
    TRY(zip_extra(L, e, c + 46 + nlen, xlen, at + 46 + nlen));
    p += 46 + nlen + xlen + clen;
  }
  return O2L_OK;
}

/* Positions a stream on entry e's data (stored or deflated). */
static Status zip_open(Loader *L, Zip *z, const ZipEntry *e, Src *s) {
  const char *what = arena_printf(L->cx->arena, "%s: %s", L->path, e->name);
  if (!what)
    return ctx_oom(L->cx, "opening a zip entry");
  if (e->flags & 1)
    return calib_err(L, "%s: the entry is encrypted", what);
  if (e->method != 0 && e->method != 8)
    return calib_err(L, "%s: compression method %u is not supported (stored "
                     "or deflated, as np.savez and np.savez_compressed "
                     "write)", what, e->method);
  if (e->off > z->cd_off || z->cd_off - e->off < 30)
    return calib_err(L, "%s: local header offset %llu is outside the archive "
                     "data (the central directory starts at byte %llu)", what,
                     (ull)e->off, (ull)z->cd_off);
  unsigned char h[30];
  TRY(zip_read_at(L, z, e->off, h, 30));
  if (rd32(h) != 0x04034b50)
    return calib_err(L, "%s: no local header signature at byte %llu", what,
                     (ull)e->off);
  size_t nlen = rd16(h + 26), xlen = rd16(h + 28);
  uint64_t data = e->off + 30 + nlen + xlen;
  if (data > z->cd_off || e->csize > z->cd_off - data)
    return calib_err(L, "%s: %llu bytes of data from byte %llu run past the "
                     "central directory at byte %llu", what, (ull)e->csize,
                     (ull)data, (ull)z->cd_off);
  char name[256];
  bool same = nlen == strlen(e->name);
  if (same && nlen < sizeof name) {
    TRY(zip_read_at(L, z, e->off + 30, name, nlen));
    same = !memcmp(name, e->name, nlen);
  }
  if (!same)
    return calib_err(L, "%s: the local header at byte %llu names a different "
                     "file than the central directory", what, (ull)e->off);
  if (e->method == 0 && e->csize != e->usize)
    return calib_err(L, "%s: stored entry whose compressed size %llu differs "
                     "from its size %llu", what, (ull)e->csize,
                     (ull)e->usize);
  if (fseeko(z->f, (off_t)data, SEEK_SET))
    return calib_err(L, "%s: seek to byte %llu failed", what, (ull)data);
  memset(s, 0, sizeof *s);
  s->cx = L->cx;
  s->f = z->f;
  s->what = what;
  s->unit = "entry";
  s->size = e->usize;
  s->has_crc = true;
  s->want_crc = e->crc;
  s->crc = (uint32_t)crc32(0, NULL, 0);
  if (e->method == 8) {
    s->deflated = true;
    s->cleft = e->csize;
    s->zbuf = arena_alloc(L->cx->arena, CHUNK, 8);
    if (!s->zbuf || inflateInit2(&s->z, -MAX_WBITS) != Z_OK)
      return ctx_oom(L->cx, "starting to inflate a zip entry");
    s->zinit = true;
  }
  return O2L_OK;
}

/* Entry for input i: "NAME.npy" (np.savez) or "NAME"; -1 if none. */
static int zip_find(const Zip *z, const char *name) {
  size_t n = strlen(name);
  for (int k = 0; k < z->n; k++) {
    const char *e = z->e[k].name;
    if (!strncmp(e, name, n) && (!e[n] || !strcmp(e + n, ".npy")))
      return k;
  }
  return -1;
}

static const char *zip_names(Loader *L, const Zip *z) {
  const char *s = "";
  for (int k = 0; k < z->n && s; k++) {
    const char *e = z->e[k].name;
    size_t n = strlen(e);
    if (n > 4 && !strcmp(e + n - 4, ".npy"))
      n -= 4;
    s = arena_printf(L->cx->arena, "%s%s'%.*s'", s, k ? ", " : "", (int)n, e);
  }
  return s ? s : "?";
}

/* Which entry feeds each input; errors name what the archive holds. */
static Status zip_match(Loader *L, const Zip *z, int *which) {
  if (L->nin == 1 && z->n == 1 && zip_find(z, L->in[0].name) < 0) {
    ctx_notice(L->cx, "%s: using its only array '%s' for input '%s'", L->path,
               z->e[0].name, L->in[0].name);
    which[0] = 0;
    return O2L_OK;
  }
  for (int i = 0; i < L->nin; i++) {
    which[i] = zip_find(z, L->in[i].name);
    if (which[i] < 0)
      return calib_err(L, "%s: no array named '%s' (the model inputs are %s); "
                       "the archive holds %s", L->path, L->in[i].name,
                       input_names(L), z->n ? zip_names(L, z) : "nothing");
  }
  for (int k = 0; k < z->n; k++) {
    bool used = false;
    for (int i = 0; i < L->nin; i++)
      used |= which[i] == k;
    if (!used)
      ctx_notice(L->cx, "%s: array '%s' matches no model input; ignored",
                 L->path, z->e[k].name);
  }
  return O2L_OK;
}

/* Two passes: all headers first (to agree on N), then the data. */
static Status npz_read(Loader *L, Zip *z) {
  TRY(zip_read_dir(L, z));
  int *which = arena_alloc(L->cx->arena, sizeof(int) * (size_t)L->nin, 8);
  Npy *np = arena_alloc(L->cx->arena, sizeof(Npy) * (size_t)L->nin, 8);
  if (!which || !np)
    return ctx_oom(L->cx, "reading an .npz");
  TRY(zip_match(L, z, which));
  int64_t n0 = 0;
  for (int i = 0; i < L->nin; i++) {
    Src s = {.cx = L->cx};
    int64_t n = 0;
    Status st = zip_open(L, z, &z->e[which[i]], &s);
    if (st == O2L_OK)
      st = npy_read_header(&s, &np[i]);
    if (st == O2L_OK)
      st = npy_fit(L, s.what, &np[i], i, &n);
    src_close(&s);
    TRY(st);
    if (i > 0 && n != n0)
      return calib_err(L, "%s: the arrays hold different sample counts: '%s' "
                       "has %lld, '%s' has %lld", L->path, z->e[which[0]].name,
                       (long long)n0, z->e[which[i]].name, (long long)n);
    n0 = n;
  }
  TRY(pick_count(L, L->path, n0, "samples"));
  TRY(alloc_samples(L));
  for (int i = 0; i < L->nin; i++) {
    Src s = {.cx = L->cx};
    Npy again;
    Status st = zip_open(L, z, &z->e[which[i]], &s);
    if (st == O2L_OK)
      st = npy_read_header(&s, &again);
    if (st == O2L_OK)
      st = npy_read_samples(L, &s, &again, i);
    src_close(&s);
    TRY(st);
  }
  return O2L_OK;
}

static Status load_npz(Loader *L) {
  Zip z;
  memset(&z, 0, sizeof z);
  TRY(open_file(L, &z.f, &z.size));
  Status st = npz_read(L, &z);
  fclose(z.f);
  return st;
}

/* ---- images ------------------------------------------------------------ */

typedef struct Img {
  int w, h;
  unsigned char *rgb;      /* 8-bit RGB, row-major, top row first; scratch */
} Img;

static Status img_check_size(Ctx *cx, const char *file, uint64_t w,
                             uint64_t h) {
  if (w == 0 || h == 0 || w > MAX_PIXELS || h > MAX_PIXELS ||
      w * h > MAX_PIXELS)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: a %llux%llu image is refused "
                   "(empty, or over %llu pixels: resize it first)", file,
                   (ull)w, (ull)h, (ull)MAX_PIXELS);
  return O2L_OK;
}

static Status img_alloc(Ctx *cx, Img *img, size_t w, size_t h, size_t ch,
                        unsigned char **buf) {
  img->w = (int)w;
  img->h = (int)h;
  *buf = arena_alloc(cx->arena, w * h * ch, 16);
  img->rgb = *buf;
  return *buf ? O2L_OK : ctx_oom(cx, "decoding a calibration image");
}

/* libpng's classic API with only the transforms PIL's convert("RGB") makes:
 * palette and low-bit gray expanded, 16-bit samples scaled to 8 (v * 255 /
 * 65535, rounded), gray replicated, alpha and tRNS dropped (not
 * composited), gAMA/iCCP ignored.  (The simplified png_image API would take
 * 16-bit data as linear light and re-encode it.) */
typedef struct PngIo {
  const unsigned char *b;
  size_t n, pos;
  char msg[256];
} PngIo;

static void png_on_error(png_structp png, png_const_charp msg) {
  PngIo *io = png_get_error_ptr(png);
  snprintf(io->msg, sizeof io->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {}

static void png_on_read(png_structp png, png_bytep out, size_t n) {
  PngIo *io = png_get_io_ptr(png);
  if (n > io->n - io->pos) {
    snprintf(io->msg, sizeof io->msg, "the file ends at byte %zu, before its "
             "IEND chunk", io->n);
    png_longjmp(png, 1);
  }
  memcpy(out, io->b + io->pos, n);
  io->pos += n;
}

/* Everything between setjmp and the last libpng call, so that the frame
 * longjmp returns to changes no local after setjmp. */
static Status png_body(png_structp png, png_infop info, PngIo *io, Ctx *cx,
                       const char *file, Img *img) {
  if (setjmp(png_jmpbuf(png)))
    return ctx_err(cx, O2L_ERR_CALIB, "%s: cannot decode the PNG: %s", file, io->msg);
  png_set_read_fn(png, io, png_on_read);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info);
  png_uint_32 h = png_get_image_height(png, info);
  TRY(img_check_size(cx, file, w, h));
  png_set_palette_to_rgb(png);
  png_set_expand_gray_1_2_4_to_8(png);
  png_set_scale_16(png);
  png_set_strip_alpha(png);
  if (!(png_get_color_type(png, info) & PNG_COLOR_MASK_COLOR))
    png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != (size_t)w * 3)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: PNG rows decode to %zu bytes, not "
                   "%zu (RGB)", file, (size_t)png_get_rowbytes(png, info),
                   (size_t)w * 3);
  unsigned char *rgb;
  TRY(img_alloc(cx, img, w, h, 3, &rgb));
  png_bytep *rows = arena_alloc(cx->arena, sizeof(png_bytep) * h, 8);
  if (!rows)
    return ctx_oom(cx, "decoding a calibration image");
  for (png_uint_32 y = 0; y < h; y++)
    rows[y] = rgb + (size_t)y * w * 3;
  png_read_image(png, rows);
  png_read_end(png, NULL); /* to IEND: a cut file is an error */
  return O2L_OK;
}

static Status png_decode(Ctx *cx, const char *file, const unsigned char *b,
                         size_t n, Img *img) {
  PngIo io = {b, n, 0, "unknown error"};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io,
                                           png_on_error, png_on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  Status st = info ? png_body(png, info, &io, cx, file, img)
                   : ctx_oom(cx, "starting the PNG decoder");
  png_destroy_read_struct(&png, &info, NULL);
  return st;
}

typedef struct JpegErr {
  struct jpeg_error_mgr pub;
  jmp_buf jb;
  char msg[JMSG_LENGTH_MAX];
  bool truncated;          /* libjpeg filled missing data with gray */
} JpegErr;

static void jpeg_on_error(j_common_ptr c) {
  JpegErr *e = (JpegErr *)c->err;
  c->err->format_message(c, e->msg);
  longjmp(e->jb, 1);
}

/* Warnings are silent except those meaning the image is incomplete. */
static void jpeg_on_message(j_common_ptr c, int level) {
  JpegErr *e = (JpegErr *)c->err;
  int code = c->err->msg_code;
  if (level < 0 && !e->truncated &&
      (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER ||
       code == JWRN_MUST_RESYNC)) {
    c->err->format_message(c, e->msg);
    e->truncated = true;
  }
  if (level < 0)
    c->err->num_warnings++;
}

/* Everything between setjmp and the last libjpeg call lives here, so the
 * frame that longjmp returns to changes no local after setjmp. */
static Status jpeg_body(struct jpeg_decompress_struct *d, JpegErr *e, Ctx *cx,
                        const char *file, const unsigned char *b, size_t n,
                        Img *img) {
  if (setjmp(e->jb))
    return ctx_err(cx, O2L_ERR_CALIB, "%s: cannot decode the JPEG: %s", file, e->msg);
  jpeg_create_decompress(d);
  jpeg_mem_src(d, b, (unsigned long)n);
  jpeg_read_header(d, TRUE);
  TRY(img_check_size(cx, file, d->image_width, d->image_height));
  d->out_color_space = JCS_RGB;
  jpeg_start_decompress(d);
  if (d->output_components != 3)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: JPEG decoded to %d channels, not "
                   "RGB", file, d->output_components);
  unsigned char *rgb;
  TRY(img_alloc(cx, img, d->output_width, d->output_height, 3, &rgb));
  while (d->output_scanline < d->output_height) {
    JSAMPROW row = rgb + (size_t)d->output_scanline * d->output_width * 3;
    jpeg_read_scanlines(d, &row, 1);
  }
  jpeg_finish_decompress(d);
  if (e->truncated)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: truncated or corrupt JPEG: %s", file, e->msg);
  return O2L_OK;
}

static Status jpeg_decode(Ctx *cx, const char *file, const unsigned char *b,
                          size_t n, Img *img) {
  struct jpeg_decompress_struct d;
  JpegErr e;
  memset(&d, 0, sizeof d); /* jpeg_destroy of a zeroed struct is a no-op */
  memset(&e, 0, sizeof e);
  d.err = jpeg_std_error(&e.pub);
  e.pub.error_exit = jpeg_on_error;
  e.pub.emit_message = jpeg_on_message;
  Status st = jpeg_body(&d, &e, cx, file, b, n, img);
  jpeg_destroy_decompress(&d);
  return st;
}

/* Windows BMP: BITMAPINFOHEADER and its V2-V5 extensions; 8-bit palette
 * (grayscale is a gray palette), 24-bit, 32-bit BI_RGB or BI_BITFIELDS.
 * Each header field is checked; offsets in messages are file offsets. */
typedef struct BmpMask {
  uint32_t mask;
  int shift;
  uint64_t max;
} BmpMask;

static Status bmp_mask(Ctx *cx, const char *file, uint32_t m, int at,
                       BmpMask *bm) {
  if (!m)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: BMP colour mask at byte %d is "
                   "zero", file, at);
  int sh = 0;
  while (!((m >> sh) & 1))
    sh++;
  uint64_t v = (uint64_t)m >> sh;
  if (v & (v + 1))
    return ctx_err(cx, O2L_ERR_CALIB, "%s: BMP colour mask 0x%08x at byte %d "
                   "is not one run of bits", file, m, at);
  bm->mask = m;
  bm->shift = sh;
  bm->max = v;
  return O2L_OK;
}

static unsigned char bmp_chan(uint32_t px, const BmpMask *m) {
  uint64_t v = (px & m->mask) >> m->shift;
  return (unsigned char)((v * 255 + m->max / 2) / m->max);
}

static Status bmp_decode(Ctx *cx, const char *file, const unsigned char *b,
                         size_t n, Img *img) {
#define BMP_ERR(...) ctx_err(cx, O2L_ERR_CALIB, __VA_ARGS__)
  if (n < 54)
    return BMP_ERR("%s: %zu bytes is too short for a BMP (its file and info "
                   "headers take 54)", file, n);
  uint32_t fsize = rd32(b + 2), off = rd32(b + 10), hsz = rd32(b + 14);
  if (fsize != 0 && fsize > n)
    return BMP_ERR("%s: BMP file size %u at byte 2 is larger than the file "
                   "(%zu bytes): truncated?", file, fsize, n);
  if (hsz != 40 && hsz != 52 && hsz != 56 && hsz != 108 && hsz != 124)
    return BMP_ERR("%s: BMP info header size %u at byte 14 is not supported "
                   "(40, 52, 56, 108 or 124; OS/2 bitmaps are not)", file,
                   hsz);
  if (14 + (size_t)hsz > n)
    return BMP_ERR("%s: BMP info header of %u bytes at byte 14 runs past the "
                   "end of the file (%zu bytes)", file, hsz, n);
  int32_t w = (int32_t)rd32(b + 18), h = (int32_t)rd32(b + 22);
  unsigned planes = rd16(b + 26), bpp = rd16(b + 28);
  uint32_t comp = rd32(b + 30), nused = rd32(b + 46);
  if (w <= 0)
    return BMP_ERR("%s: BMP width %d at byte 18 must be positive", file, w);
  if (h == 0 || h == INT32_MIN)
    return BMP_ERR("%s: BMP height %d at byte 22 is invalid", file, h);
  bool top_down = h < 0;
  uint32_t ah = top_down ? (uint32_t)-h : (uint32_t)h;
  if (planes != 1)
    return BMP_ERR("%s: BMP plane count %u at byte 26 must be 1", file,
                   planes);
  if (bpp != 8 && bpp != 24 && bpp != 32)
    return BMP_ERR("%s: %u bits per pixel (byte 28) is not supported (8, 24 "
                   "or 32)", file, bpp);
  if (!(comp == 0 || (comp == 3 && bpp == 32)))
    return BMP_ERR("%s: BMP compression %u at byte 30 is not supported "
                   "(uncompressed BI_RGB, or BI_BITFIELDS at 32 bits)", file,
                   comp);
  TRY(img_check_size(cx, file, (uint64_t)w, ah));
  uint64_t hdr_end = 14 + (uint64_t)hsz;
  BmpMask mk[3];
  if (comp == 3) { /* masks follow a 40-byte header, or sit inside V2+ */
    if (hdr_end < 66)
      hdr_end = 66;
    if (n < 66)
      return BMP_ERR("%s: BMP colour masks at byte 54 run past the end of "
                     "the file (%zu bytes)", file, n);
    for (int c = 0; c < 3; c++)
      TRY(bmp_mask(cx, file, rd32(b + 54 + 4 * c), 54 + 4 * c, &mk[c]));
    if ((mk[0].mask & mk[1].mask) || (mk[0].mask & mk[2].mask) ||
        (mk[1].mask & mk[2].mask))
      return BMP_ERR("%s: BMP colour masks at byte 54 overlap", file);
  }
  uint32_t ncol = 0;
  if (bpp == 8) {
    ncol = nused ? nused : 256;
    if (ncol > 256)
      return BMP_ERR("%s: BMP colour count %u at byte 46 exceeds 256 for an "
                     "8-bit image", file, nused);
    if (hdr_end + 4 * (uint64_t)ncol > off)
      return BMP_ERR("%s: BMP palette of %u colours at byte %llu runs into "
                     "the pixel data at byte %u (offset at byte 10)", file,
                     ncol, (ull)hdr_end, off);
  }
  if (off < hdr_end)
    return BMP_ERR("%s: BMP pixel data offset %u at byte 10 lies inside the "
                   "headers, which end at byte %llu", file, off, (ull)hdr_end);
  uint64_t row = ((uint64_t)bpp * (uint64_t)w + 31) / 32 * 4;
  uint64_t need = row * ah;
  if (off > n || need > n - off)
    return BMP_ERR("%s: %dx%u pixels at %u bits need %llu bytes from byte %u "
                   "(offset at byte 10), but the file has %zu bytes", file, w,
                   ah, bpp, (ull)need, off, n);
  unsigned char *rgb;
  TRY(img_alloc(cx, img, (size_t)w, ah, 3, &rgb));
  const unsigned char *pal = b + hdr_end;
  for (uint32_t y = 0; y < ah; y++) {
    uint64_t rat = off + row * (top_down ? y : ah - 1 - y);
    const unsigned char *p = b + rat;
    unsigned char *o = rgb + (size_t)y * (size_t)w * 3;
    for (int32_t x = 0; x < w; x++, o += 3) {
      if (bpp == 8) {
        unsigned k = p[x];
        if (k >= ncol)
          return BMP_ERR("%s: BMP pixel at byte %llu uses colour %u but the "
                         "palette has %u", file, (ull)(rat + (uint64_t)x), k,
                         ncol);
        o[0] = pal[4 * k + 2], o[1] = pal[4 * k + 1], o[2] = pal[4 * k];
      } else if (bpp == 24) {
        o[0] = p[3 * x + 2], o[1] = p[3 * x + 1], o[2] = p[3 * x];
      } else if (comp == 0) { /* BGRX; the fourth byte is not alpha-defined */
        o[0] = p[4 * x + 2], o[1] = p[4 * x + 1], o[2] = p[4 * x];
      } else {
        uint32_t v = rd32(p + 4 * x);
        o[0] = bmp_chan(v, &mk[0]);
        o[1] = bmp_chan(v, &mk[1]);
        o[2] = bmp_chan(v, &mk[2]);
      }
    }
  }
  return O2L_OK;
#undef BMP_ERR
}

static Status file_slurp(Ctx *cx, const char *file, unsigned char **buf,
                         size_t *n) {
  struct stat sb;
  FILE *f = fopen(file, "rb");
  if (!f)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: cannot open: %s", file,
                   strerror(errno));
  Status st = O2L_OK;
  if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode))
    st = ctx_err(cx, O2L_ERR_CALIB, "%s: not a regular file", file);
  else if ((uint64_t)sb.st_size > MAX_IMAGE_BYTES)
    st = ctx_err(cx, O2L_ERR_CALIB, "%s: %llu bytes is too large for a "
                 "calibration image", file, (ull)sb.st_size);
  else if (!(*buf = arena_alloc(cx->arena, (size_t)sb.st_size + 1, 16)))
    st = ctx_oom(cx, "reading a calibration image");
  else if (fread(*buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size)
    st = ctx_err(cx, O2L_ERR_CALIB, "%s: read failed", file);
  else
    *n = (size_t)sb.st_size;
  fclose(f);
  return st;
}

/* The decoder is chosen by the file's magic bytes, not its extension: image
 * sets hold PNGs named .jpg. */
static Status img_load(Ctx *cx, const char *file, Img *img) {
  unsigned char *b = NULL;
  size_t n = 0;
  TRY(file_slurp(cx, file, &b, &n));
  if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
    return png_decode(cx, file, b, n, img);
  if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
    return jpeg_decode(cx, file, b, n, img);
  if (n >= 2 && b[0] == 'B' && b[1] == 'M')
    return bmp_decode(cx, file, b, n, img);
  unsigned char h[4] = {0, 0, 0, 0};
  if (n == 0)
    return ctx_err(cx, O2L_ERR_CALIB, "%s: the file is empty", file);
  memcpy(h, b, n < 4 ? n : 4);
  return ctx_err(cx, O2L_ERR_CALIB, "%s: not a PNG, JPEG or BMP image (%zu "
                 "bytes starting %02x %02x %02x %02x)", file, n, h[0], h[1],
                 h[2], h[3]);
}

/* Source coordinate of output index d with half-pixel centers, clamped at
 * the low edge: torch.nn.functional.interpolate(mode="bilinear",
 * align_corners=False, antialias=False), i.e. OpenCV INTER_LINEAR.  No
 * antialiasing when shrinking. */
static void resize_coord(int d, int dn, int sn, int *i0, int *i1, float *t) {
  double s = ((double)d + 0.5) * sn / dn - 0.5;
  if (s < 0)
    s = 0;
  int i = (int)s;
  if (i > sn - 1)
    i = sn - 1;
  *i0 = i;
  *i1 = i < sn - 1 ? i + 1 : i;
  *t = (float)(s - i);
}

/* Channel c of pixel (x, y); c < 0 is ITU-R BT.601 luma. */
static float img_px(const Img *im, int x, int y, int c) {
  const unsigned char *p = im->rgb + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
  if (c < 0)
    return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
  return p[c];
}

typedef struct Prep {
  int C, H, W;
  float scale, mean[3], std[3];
} Prep;

/* Resize to HxW, then v * scale, then (v - mean[c]) / std[c], into NCHW. */
static void img_to_sample(const Img *im, const Prep *pp, float *out) {
  for (int y = 0; y < pp->H; y++) {
    int y0, y1;
    float ty;
    resize_coord(y, pp->H, im->h, &y0, &y1, &ty);
    for (int x = 0; x < pp->W; x++) {
      int x0, x1;
      float tx;
      resize_coord(x, pp->W, im->w, &x0, &x1, &tx);
      for (int c = 0; c < pp->C; c++) {
        int ch = pp->C == 1 ? -1 : c;
        float top = (1 - tx) * img_px(im, x0, y0, ch) + tx * img_px(im, x1, y0, ch);
        float bot = (1 - tx) * img_px(im, x0, y1, ch) + tx * img_px(im, x1, y1, ch);
        float v = ((1 - ty) * top + ty * bot) * pp->scale;
        out[((size_t)c * (size_t)pp->H + (size_t)y) * (size_t)pp->W + (size_t)x] =
            (v - pp->mean[c]) / pp->std[c];
      }
    }
  }
}

static bool is_image_name(const char *n) {
  const char *dot = strrchr(n, '.');
  if (n[0] == '.' || !dot) /* hidden files, e.g. macOS "._x.jpg" */
    return false;
  return !strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") ||
         !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".bmp");
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Image files directly in the folder (not in subfolders), sorted by name. */
static Status list_images(Loader *L, const char ***files, int *nfiles) {
  DIR *d = opendir(L->path);
  if (!d)
    return calib_err(L, "%s: cannot open the folder: %s", L->path,
                     strerror(errno));
  size_t len = strlen(L->path);
  while (len > 1 && L->path[len - 1] == '/')
    len--;
  const char **v = NULL;
  int n = 0, cap = 0;
  Status st = O2L_OK;
  struct dirent *de;
  while (st == O2L_OK && (de = readdir(d))) {
    struct stat sb;
    if (!is_image_name(de->d_name))
      continue;
    char *full = arena_printf(L->cx->arena, "%.*s/%s", (int)len, L->path,
                              de->d_name);
    if (!full) {
      st = ctx_oom(L->cx, "listing calibration images");
      break;
    }
    if (stat(full, &sb) || !S_ISREG(sb.st_mode))
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      const char **nv = arena_alloc(L->cx->arena, sizeof(char *) * (size_t)cap, 8);
      if (!nv) {
        st = ctx_oom(L->cx, "listing calibration images");
        break;
      }
      if (n)
        memcpy(nv, v, sizeof(char *) * (size_t)n);
      v = nv;
    }
    v[n++] = full;
  }
  closedir(d);
  TRY(st);
  if (n)
    qsort(v, (size_t)n, sizeof *v, cmp_names);
  *files = v;
  *nfiles = n;
  return O2L_OK;
}

/* --mean/--std/--scale against the model's channel count. */
static Status image_prep(Loader *L, Prep *pp) {
  const o2l_options *o = L->opt;
  const CalibInput *in = &L->in[0];
  char ds[128];
  if (L->nin != 1)
    return calib_err(L, "%s: an image folder feeds a single image input, but "
                     "the model has %d inputs (%s): give a .npz", L->path,
                     L->nin, input_names(L));
  if (in->rank != 4 || (in->dims[1] != 1 && in->dims[1] != 3))
    return calib_err(L, "%s: an image folder needs an input of shape "
                     "[1,C,H,W] with C = 1 or 3; input '%s' is [%s]: give a "
                     ".npy", L->path, in->name,
                     dims_str(in->rank, in->dims, ds, sizeof ds));
  dims_str(in->rank, in->dims, ds, sizeof ds);
  pp->C = (int)in->dims[1];
  pp->H = (int)in->dims[2];
  pp->W = (int)in->dims[3];
  if ((uint64_t)pp->H > MAX_PIXELS || (uint64_t)pp->W > MAX_PIXELS)
    return calib_err(L, "input '%s' [%s] is too large for image calibration",
                     in->name, ds);
  pp->scale = o->scale != 0 ? o->scale : 1.0f / 255.0f;
  if (!isfinite(pp->scale))
    return ctx_err(L->cx, O2L_ERR_USAGE, "--scale must be a finite number");
  const struct {
    const char *opt;
    int n;
    const float *v;
    float dflt;
    float *out;
  } lists[2] = {{"--mean", o->n_mean, o->mean, 0.0f, pp->mean},
                {"--std", o->n_std, o->std, 1.0f, pp->std}};
  for (int k = 0; k < 2; k++) {
    int n = lists[k].n;
    if (n != 0 && n != 1 && n != pp->C)
      return ctx_err(L->cx, O2L_ERR_USAGE, "%s has %d values but input '%s' "
                     "has %d channel%s: give %s", lists[k].opt, n, in->name,
                     pp->C, pp->C == 1 ? "" : "s",
                     pp->C == 1 ? "one value" : "one value or 3");
    for (int c = 0; c < pp->C; c++) {
      float v = n == 0 ? lists[k].dflt : lists[k].v[n == 1 ? 0 : c];
      if (!isfinite(v) || (k == 1 && v == 0))
        return ctx_err(L->cx, O2L_ERR_USAGE, "%s value %g is not usable%s",
                       lists[k].opt, (double)v,
                       k == 1 ? " (it must be finite and nonzero)" : "");
      lists[k].out[c] = v;
    }
  }
  return O2L_OK;
}

static Status load_images(Loader *L) {
  Prep pp;
  const char **files = NULL;
  int nfiles = 0;
  TRY(image_prep(L, &pp));
  TRY(list_images(L, &files, &nfiles));
  if (nfiles == 0)
    return calib_err(L, "%s: the folder holds no images (.png, .jpg, .jpeg or "
                     ".bmp)", L->path);
  TRY(pick_count(L, L->path, nfiles, "images"));
  TRY(alloc_samples(L));
  for (int k = 0; k < L->count; k++) {
    Img img;
    ArenaMark m = arena_mark(L->cx->arena);
    Status st = img_load(L->cx, files[k], &img);
    if (st == O2L_OK)
      img_to_sample(&img, &pp, L->data[0] + (size_t)k * (size_t)L->numel[0]);
    arena_reset(L->cx->arena, m);
    TRY(st);
    progress(L, k);
  }
  return O2L_OK;
}

/* ---- random ------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* Box-Muller on a fixed seed: the same samples on every run. */
static Status load_random(Loader *L) {
  ctx_warn(L->cx, "calibrating on random data: the int8 model's accuracy "
                  "on real inputs is unknown (its ranges come from N(0,1) "
                  "noise, not from your data; pass --calib with real "
                  "samples for a model to deploy)");
  L->count = L->opt->calib_samples > 0 ? L->opt->calib_samples
                                       : CALIB_DEFAULT_SAMPLES;
  TRY(alloc_samples(L));
  uint64_t seed = 0x6f326c63616c6962u; /* "o2lcalib" */
  const double two_pi = 6.283185307179586;
  for (int i = 0; i < L->nin; i++) {
    int64_t n = L->numel[i] * L->count;
    float *p = L->data[i];
    for (int64_t j = 0; j < n; j += 2) {
      double u1 = (double)((splitmix64(&seed) >> 11) + 1) * 0x1p-53;
      double u2 = (double)(splitmix64(&seed) >> 11) * 0x1p-53;
      double r = sqrt(-2.0 * log(u1));
      p[j] = (float)(r * cos(two_pi * u2));
      if (j + 1 < n)
        p[j + 1] = (float)(r * sin(two_pi * u2));
    }
  }
  return O2L_OK;
}

/* ---- entry point --------------------------------------------------------- */

static bool has_ext(const char *path, const char *ext) {
  size_t n = strlen(path), e = strlen(ext);
  return n > e && !strcasecmp(path + n - e, ext);
}

/* Chooses the reader: the word "random", a folder, then the extension, then
 * the magic bytes. */
static Status load_any(Loader *L) {
  const o2l_options *o = L->opt;
  struct stat sb;
  if (!strcmp(L->path, "random"))
    return load_random(L);
  if (stat(L->path, &sb))
    return calib_err(L, "%s: cannot open the calibration data: %s", L->path,
                     strerror(errno));
  if (S_ISDIR(sb.st_mode))
    return load_images(L);
  if (o->n_mean || o->n_std || o->scale != 0)
    ctx_notice(L->cx, "--mean, --std and --scale apply to image folders "
               "only; ignored for %s", L->path);
  if (has_ext(L->path, ".npy"))
    return load_npy(L);
  if (has_ext(L->path, ".npz"))
    return load_npz(L);
  unsigned char m[6] = {0};
  FILE *f = fopen(L->path, "rb");
  size_t got = f ? fread(m, 1, sizeof m, f) : 0;
  if (f)
    fclose(f);
  if (got == 6 && !memcmp(m, "\x93NUMPY", 6))
    return load_npy(L);
  if (got >= 4 && !memcmp(m, "PK", 2) && ((m[2] == 3 && m[3] == 4) ||
                                          (m[2] == 5 && m[3] == 6)))
    return load_npz(L);
  if (has_ext(L->path, ".png") || has_ext(L->path, ".jpg") ||
      has_ext(L->path, ".jpeg") || has_ext(L->path, ".bmp"))
    return calib_err(L, "%s: --calib takes a folder of images, not a single "
                     "image", L->path);
  return calib_err(L, "%s: not a .npy or .npz file, an image folder or the "
                   "word 'random'", L->path);
}

Status calib_load(Ctx *cx, const o2l_options *opt, const CalibInput *inputs,
                  int ninputs, CalibSet *out) {
  memset(out, 0, sizeof *out);
  if (!opt->calib_path || !opt->calib_path[0])
    return ctx_err(cx, O2L_ERR_USAGE, "quantizing needs calibration data: "
                   "--calib FILE.npy, FILE.npz, an image folder or 'random'");
  if (opt->calib_samples < 0)
    return ctx_err(cx, O2L_ERR_USAGE, "--calib-samples %d must be positive",
                   opt->calib_samples);
  if (ninputs < 1)
    return ctx_err(cx, O2L_ERR_INVALID, "the model has no inputs to "
                   "calibrate");
  Loader L = {.cx = cx, .opt = opt, .path = opt->calib_path, .in = inputs,
              .nin = ninputs};
  L.numel = arena_alloc(cx->arena, sizeof(int64_t) * (size_t)ninputs, 8);
  L.data = arena_alloc(cx->arena, sizeof(float *) * (size_t)ninputs, 8);
  if (!L.numel || !L.data)
    return ctx_oom(cx, "loading calibration data");
  for (int i = 0; i < ninputs; i++) {
    const CalibInput *in = &inputs[i];
    char ds[128] = "?";
    bool ok = in->rank >= 0 && in->rank <= O2L_MAX_RANK;
    if (ok)
      dims_str(in->rank, in->dims, ds, sizeof ds);
    for (int d = 1; ok && d < in->rank; d++)
      ok = in->dims[d] > 0;
    if (!ok || !dims_numel(in->rank > 1 ? in->rank - 1 : 0, in->dims + 1,
                           &L.numel[i]))
      return ctx_err(cx, O2L_ERR_INVALID, "input '%s' has shape [%s]; "
                     "calibration needs every dimension but the batch known "
                     "and positive (see --input-shape)", in->name, ds);
  }
  TRY(load_any(&L));
  out->nsamples = L.count;
  out->ninputs = ninputs;
  out->data = L.data;
  out->sample_numel = L.numel;
  return O2L_OK;
}
