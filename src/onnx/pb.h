/* pb.h - a protobuf wire-format reader for untrusted bytes.
 *
 * A Pb is a cursor over one message, [p, end), that knows where that message
 * sits in the file, which message type it is and which field it is reading,
 * so every error can say "file: malformed protobuf at byte N: field F (name)
 * of Msg ...".  Nothing is copied: strings and bytes come back as spans of
 * the input.  Every read is bounds-checked against the enclosing message,
 * never against the file, so a nested length can not reach past its parent.
 * Errors are recorded in the Ctx as O2L_ERR_PARSE; after one, the cursor
 * must not be used again.
 *
 * Use:
 *   Pb m = pb_open(&src, &TENSOR_MSG, data, n);
 *   while (pb_more(&m)) {
 *     TRY(pb_next(&m));               // m.field, m.wire
 *     switch (m.field) {
 *     case 2: TRY(pb_i64(&m, &x)); break;
 *     default: TRY(pb_skip(&m));      // unknown fields of any wire type
 *     }
 *   }
 */
#ifndef O2L_PB_H
#define O2L_PB_H

#include "base.h"

enum {
  PB_VARINT = 0,
  PB_FIXED64 = 1,
  PB_LEN = 2,
  PB_SGROUP = 3, /* groups: proto2 only, never written by ONNX; rejected */
  PB_EGROUP = 4,
  PB_FIXED32 = 5
};

/* A message type, for messages: fields[k] names field k (NULL or beyond
 * nfields = unknown to us). */
typedef struct PbMsg {
  const char *name;
  const char *const *fields;
  int nfields;
} PbMsg;

/* The file being read: errors name `path` and give offsets from `base`. */
typedef struct PbSrc {
  Ctx *cx;
  const char *path;
  const unsigned char *base;
} PbSrc;

typedef struct Pb {
  const PbSrc *src;
  const PbMsg *msg;
  const unsigned char *p, *end;  /* unread part of the message */
  const unsigned char *field_at; /* key of the current field */
  uint32_t field;                /* current field number, 0 before pb_next */
  int wire;                      /* its wire type */
} Pb;

/* A cursor over the n bytes at data, a message of type msg. */
Pb pb_open(const PbSrc *src, const PbMsg *msg, const void *data, size_t n);

static inline bool pb_more(const Pb *b) { return b->p < b->end; }

/* Offset of p from the start of the file. */
static inline size_t pb_offset(const Pb *b, const void *p) {
  return (size_t)((const unsigned char *)p - b->src->base);
}

/* Reads the next key into b->field / b->wire.  Rejects field 0, groups and
 * the undefined wire types 6 and 7. */
Status pb_next(Pb *b);

/* Skips the value of the current field, whatever its wire type. */
Status pb_skip(Pb *b);

/* Values of the current field; each checks the wire type first. */
Status pb_u64(Pb *b, uint64_t *v);                     /* varint */
Status pb_i64(Pb *b, int64_t *v);                      /* int64/int32/enum */
Status pb_f32(Pb *b, float *v);                        /* fixed32 float */
Status pb_bytes(Pb *b, const unsigned char **p, size_t *n); /* length-delimited */
/* A length-delimited field as a nested message. */
Status pb_sub(Pb *b, const PbMsg *msg, Pb *sub);

/* Repeated scalars may come packed (one length-delimited field) or one per
 * field.  pb_packed gives a cursor over the element bytes either way, with
 * field info for messages; read it with the raw readers below until
 * !pb_more.  scalar_wire is PB_VARINT, PB_FIXED32 or PB_FIXED64; a packed
 * run of fixed-size elements whose length is not a multiple is an error. */
Status pb_packed(Pb *b, int scalar_wire, Pb *vals);
/* Upper bound on the elements of a pb_packed cursor (exact for fixed-size
 * elements; for varints, the count of final bytes: a malformed varint is
 * caught when read). */
size_t pb_packed_count(const Pb *vals, int scalar_wire);

/* Raw readers at the cursor, no key. */
Status pb_varint(Pb *b, uint64_t *v);
Status pb_fixed32(Pb *b, uint32_t *v);
Status pb_fixed64(Pb *b, uint64_t *v);

/* Records "path: malformed protobuf at byte N: field F (name) of Msg "
 * followed by the formatted text (without the field part before the first
 * pb_next), where N is the offset of the current field's key.  Returns
 * O2L_ERR_PARSE. */
Status pb_err(const Pb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "name" of the current field, or "?" if we do not know it. */
const char *pb_field_name(const Pb *b);

#endif
