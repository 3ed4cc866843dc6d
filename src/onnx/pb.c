/* pb.c - protobuf wire-format reading (pb.h).
 *
 * Every byte is hostile: each read first checks that it stays inside the
 * current message, varints are at most 10 bytes and must fit 64 bits, and
 * lengths are compared with what is left rather than added to pointers.
 * The error message is built here, so callers only pick the words.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "onnx/pb.h"

Pb pb_open(const PbSrc *src, const PbMsg *msg, const void *data, size_t n) {
  Pb b = {0};
  b.src = src;
  b.msg = msg;
  b.p = data;
  b.end = b.p + n;
  b.field_at = b.p;
  return b;
}

const char *pb_field_name(const Pb *b) {
  if (b->msg && b->field < (uint32_t)b->msg->nfields &&
      b->msg->fields[b->field])
    return b->msg->fields[b->field];
  return "?";
}

Status pb_err(const Pb *b, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  const char *msg = b->msg ? b->msg->name : "message";
  if (b->field)
    return ctx_err(b->src->cx, O2L_ERR_PARSE,
                   "%s: malformed protobuf at byte %zu: field %u (%s) of %s %s",
                   b->src->path, pb_offset(b, b->field_at), b->field,
                   pb_field_name(b), msg, what);
  return ctx_err(b->src->cx, O2L_ERR_PARSE,
                 "%s: malformed protobuf at byte %zu: %s %s", b->src->path,
                 pb_offset(b, b->field_at), msg, what);
}

Status pb_varint(Pb *b, uint64_t *v) {
  uint64_t x = 0;
  const unsigned char *p = b->p;
  for (int i = 0; i < 10; i++) {
    if (p >= b->end)
      return pb_err(b, "ends inside a varint");
    unsigned c = *p++;
    /* The tenth byte holds bit 63 only. */
    if (i == 9 && c > 1)
      return pb_err(b, "has a varint that overflows 64 bits");
    x |= (uint64_t)(c & 0x7f) << (7 * i);
    if (!(c & 0x80)) {
      b->p = p;
      *v = x;
      return O2L_OK;
    }
  }
  return pb_err(b, "has a varint longer than 10 bytes");
}

Status pb_fixed32(Pb *b, uint32_t *v) {
  if (b->end - b->p < 4)
    return pb_err(b, "needs 4 bytes but only %zu remain in the message",
                  (size_t)(b->end - b->p));
  const unsigned char *p = b->p;
  *v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
       (uint32_t)p[3] << 24;
  b->p += 4;
  return O2L_OK;
}

Status pb_fixed64(Pb *b, uint64_t *v) {
  if (b->end - b->p < 8)
    return pb_err(b, "needs 8 bytes but only %zu remain in the message",
                  (size_t)(b->end - b->p));
  uint64_t x = 0;
  for (int i = 7; i >= 0; i--)
    x = x << 8 | b->p[i];
  *v = x;
  b->p += 8;
  return O2L_OK;
}

Status pb_next(Pb *b) {
  b->field_at = b->p;
  b->field = 0;
  uint64_t key;
  TRY(pb_varint(b, &key));
  uint64_t field = key >> 3;
  int wire = (int)(key & 7);
  if (field == 0 || field > 0x1fffffff)
    return pb_err(b, "has a key with field number %llu (valid: 1 to 2^29-1)",
                  (unsigned long long)field);
  b->field = (uint32_t)field;
  b->wire = wire;
  if (wire == PB_SGROUP || wire == PB_EGROUP)
    return pb_err(b, "uses the group encoding (wire type %d), which ONNX "
                     "never writes", wire);
  if (wire > PB_FIXED32)
    return pb_err(b, "has the undefined wire type %d", wire);
  return O2L_OK;
}

/* Length prefix of a length-delimited field, checked against the message. */
static Status len_span(Pb *b, const unsigned char **p, size_t *n) {
  uint64_t len;
  TRY(pb_varint(b, &len));
  size_t left = (size_t)(b->end - b->p);
  if (len > left)
    return pb_err(b, "claims %llu bytes but only %zu remain in the message",
                  (unsigned long long)len, left);
  *p = b->p;
  *n = (size_t)len;
  b->p += len;
  return O2L_OK;
}

Status pb_skip(Pb *b) {
  uint64_t u;
  uint32_t w;
  const unsigned char *p;
  size_t n;
  switch (b->wire) {
  case PB_VARINT: return pb_varint(b, &u);
  case PB_FIXED64: return pb_fixed64(b, &u);
  case PB_FIXED32: return pb_fixed32(b, &w);
  case PB_LEN: return len_span(b, &p, &n);
  default: return pb_err(b, "has the unsupported wire type %d", b->wire);
  }
}

static const char *wire_name(int wire) {
  switch (wire) {
  case PB_VARINT: return "varint";
  case PB_FIXED64: return "fixed64";
  case PB_LEN: return "length-delimited";
  case PB_FIXED32: return "fixed32";
  default: return "group";
  }
}

static Status want_wire(Pb *b, int wire) {
  if (b->wire == wire)
    return O2L_OK;
  return pb_err(b, "has wire type %d (%s); expected %d (%s)", b->wire,
                wire_name(b->wire), wire, wire_name(wire));
}

Status pb_u64(Pb *b, uint64_t *v) {
  TRY(want_wire(b, PB_VARINT));
  return pb_varint(b, v);
}

Status pb_i64(Pb *b, int64_t *v) {
  uint64_t u;
  TRY(pb_u64(b, &u));
  /* Two's complement, as protobuf encodes negative int32/int64/enum. */
  *v = (int64_t)u;
  return O2L_OK;
}

Status pb_f32(Pb *b, float *v) {
  uint32_t w;
  TRY(want_wire(b, PB_FIXED32));
  TRY(pb_fixed32(b, &w));
  memcpy(v, &w, 4);
  return O2L_OK;
}

Status pb_bytes(Pb *b, const unsigned char **p, size_t *n) {
  TRY(want_wire(b, PB_LEN));
  return len_span(b, p, n);
}

Status pb_sub(Pb *b, const PbMsg *msg, Pb *sub) {
  const unsigned char *p;
  size_t n;
  TRY(pb_bytes(b, &p, &n));
  *sub = pb_open(b->src, msg, p, n);
  return O2L_OK;
}

Status pb_packed(Pb *b, int scalar_wire, Pb *vals) {
  *vals = *b;
  if (b->wire == PB_LEN) {
    const unsigned char *p;
    size_t n;
    TRY(len_span(b, &p, &n));
    size_t size = scalar_wire == PB_FIXED32 ? 4 : scalar_wire == PB_FIXED64 ? 8 : 1;
    if (n % size)
      return pb_err(b, "is a packed run of %zu bytes, not a multiple of the "
                       "%zu-byte element", n, size);
    vals->p = p;
    vals->end = p + n;
    return O2L_OK;
  }
  TRY(want_wire(b, scalar_wire));
  /* One element: find its extent by reading it. */
  const unsigned char *start = b->p;
  TRY(pb_skip(b));
  vals->p = start;
  vals->end = b->p;
  return O2L_OK;
}

size_t pb_packed_count(const Pb *vals, int scalar_wire) {
  size_t n = (size_t)(vals->end - vals->p);
  if (scalar_wire == PB_FIXED32)
    return n / 4;
  if (scalar_wire == PB_FIXED64)
    return n / 8;
  size_t k = 0;
  for (const unsigned char *p = vals->p; p < vals->end; p++)
    k += !(*p & 0x80);
  return k;
}
