/* test_pb.c - the protobuf wire reader (src/onnx/pb.c): values, bounds,
 * unknown fields, and hostile bytes (run under ASan/UBSan). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "onnx/pb.h"

static const char *const tfields[] = {[1] = "dims", [2] = "data_type",
                                      [9] = "raw_data"};
static const PbMsg TMSG = {"TensorProto", tfields, 10};

static Arena arena;
static Ctx cx;
static PbSrc src;

static Pb open_buf(const unsigned char *base, size_t off, size_t n) {
  arena_free(&arena);
  arena_init(&arena);
  ctx_init(&cx, &arena, NULL, NULL);
  src.cx = &cx;
  src.path = "model.onnx";
  src.base = base;
  return pb_open(&src, &TMSG, base + off, n);
}

static void test_varints(void) {
  static const unsigned char b150[] = {0x96, 0x01};
  Pb b = open_buf(b150, 0, sizeof b150);
  uint64_t v = 0;
  CHECK(pb_varint(&b, &v) == O2L_OK && v == 150 && !pb_more(&b));

  static const unsigned char max[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0x01};
  b = open_buf(max, 0, sizeof max);
  CHECK(pb_varint(&b, &v) == O2L_OK && v == UINT64_MAX);

  /* -1 as protobuf writes an int64: ten bytes, two's complement. */
  b = open_buf(max, 0, sizeof max);
  b.wire = PB_VARINT;
  int64_t i = 0;
  CHECK(pb_i64(&b, &i) == O2L_OK && i == -1);

  static const unsigned char over[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0x02};
  b = open_buf(over, 0, sizeof over);
  CHECK(pb_varint(&b, &v) == O2L_ERR_PARSE && strstr(cx.msg, "overflow"));

  static const unsigned char eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                         0x80, 0x80, 0x80, 0x80, 0x00};
  b = open_buf(eleven, 0, sizeof eleven);
  CHECK(pb_varint(&b, &v) == O2L_ERR_PARSE);

  static const unsigned char cut[] = {0x80, 0x80};
  b = open_buf(cut, 0, sizeof cut);
  CHECK(pb_varint(&b, &v) == O2L_ERR_PARSE && strstr(cx.msg, "inside a varint"));
  /* The message bound, not the buffer, limits the read. */
  b = open_buf(b150, 0, 1);
  CHECK(pb_varint(&b, &v) == O2L_ERR_PARSE);
}

static void test_fixed(void) {
  static const unsigned char f[] = {0x00, 0x00, 0x80, 0x3f, /* 1.0f */
                                    1, 2, 3, 4, 5, 6, 7, 8};
  Pb b = open_buf(f, 0, sizeof f);
  uint32_t w;
  uint64_t u;
  CHECK(pb_fixed32(&b, &w) == O2L_OK && w == 0x3f800000u);
  CHECK(pb_fixed64(&b, &u) == O2L_OK && u == 0x0807060504030201ull);
  CHECK(!pb_more(&b));
  b = open_buf(f, 0, 3);
  CHECK(pb_fixed32(&b, &w) == O2L_ERR_PARSE);
  b = open_buf(f, 0, 7);
  CHECK(pb_fixed64(&b, &u) == O2L_ERR_PARSE);
  /* pb_f32 through a key */
  static const unsigned char kf[] = {0x15, 0x00, 0x00, 0x80, 0x3f};
  b = open_buf(kf, 0, sizeof kf);
  float x = 0;
  CHECK(pb_next(&b) == O2L_OK && b.field == 2 && b.wire == PB_FIXED32);
  CHECK(pb_f32(&b, &x) == O2L_OK && x == 1.0f);
}

static void test_keys(void) {
  static const unsigned char zero[] = {0x00, 0x01};
  Pb b = open_buf(zero, 0, sizeof zero);
  CHECK(pb_next(&b) == O2L_ERR_PARSE && strstr(cx.msg, "field number 0"));

  /* Group (wire type 3) at byte 2 of the file. */
  static const unsigned char grp[] = {0xaa, 0xbb, 0x0b, 0x00};
  b = open_buf(grp, 2, 2);
  CHECK(pb_next(&b) == O2L_ERR_PARSE);
  CHECK(strstr(cx.msg, "at byte 2") && strstr(cx.msg, "group"));
  static const unsigned char egrp[] = {0x0c};
  b = open_buf(egrp, 0, 1);
  CHECK(pb_next(&b) == O2L_ERR_PARSE);
  static const unsigned char w6[] = {0x0e, 0x00};
  b = open_buf(w6, 0, 2);
  CHECK(pb_next(&b) == O2L_ERR_PARSE && strstr(cx.msg, "wire type 6"));
  static const unsigned char w7[] = {0x0f};
  b = open_buf(w7, 0, 1);
  CHECK(pb_next(&b) == O2L_ERR_PARSE);
  /* Field number past 2^29-1: key 2^32 << 3 needs 6 bytes. */
  static const unsigned char big[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
  b = open_buf(big, 0, sizeof big);
  CHECK(pb_next(&b) == O2L_ERR_PARSE);
  /* Largest legal field number. */
  static const unsigned char maxf[] = {0xf8, 0xff, 0xff, 0xff, 0x0f, 0x05};
  b = open_buf(maxf, 0, sizeof maxf);
  CHECK(pb_next(&b) == O2L_OK && b.field == 0x1fffffff && b.wire == 0);
}

static void test_lengths(void) {
  /* 1234 filler bytes, then field 9 claiming 5000 bytes with 900 left. */
  size_t n = 1234 + 3 + 900;
  unsigned char *buf = calloc(1, n);
  buf[1234] = 0x4a;            /* field 9, wire 2 */
  buf[1235] = 0x88;            /* 5000 = 0x1388 */
  buf[1236] = 0x27;
  Pb b = open_buf(buf, 1234, n - 1234);
  const unsigned char *p;
  size_t len;
  CHECK(pb_next(&b) == O2L_OK && b.field == 9 && b.wire == PB_LEN);
  CHECK(pb_bytes(&b, &p, &len) == O2L_ERR_PARSE);
  CHECK(strcmp(cx.msg, "model.onnx: malformed protobuf at byte 1234: field 9 "
                       "(raw_data) of TensorProto claims 5000 bytes but only "
                       "900 remain in the message") == 0);
  free(buf);

  /* A nested message can not read past its own end, even if the parent
   * has bytes left. */
  static const unsigned char nest[] = {0x0a, 0x02, 0x0a, 0x03, 0x41, 0x42, 0x43};
  b = open_buf(nest, 0, sizeof nest);
  Pb sub;
  CHECK(pb_next(&b) == O2L_OK && pb_sub(&b, &TMSG, &sub) == O2L_OK);
  CHECK(pb_more(&b)); /* parent still has its 3 bytes */
  CHECK(pb_next(&sub) == O2L_OK && pb_bytes(&sub, &p, &len) == O2L_ERR_PARSE);
  CHECK(strstr(cx.msg, "claims 3 bytes but only 0 remain"));

  /* A length of 2^64-1 must not wrap. */
  static const unsigned char huge[] = {0x4a, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0x01, 0x00};
  b = open_buf(huge, 0, sizeof huge);
  CHECK(pb_next(&b) == O2L_OK && pb_bytes(&b, &p, &len) == O2L_ERR_PARSE);
  b = open_buf(huge, 0, sizeof huge);
  CHECK(pb_next(&b) == O2L_OK && pb_skip(&b) == O2L_ERR_PARSE);
}

static void test_skip_and_wire(void) {
  /* Unknown fields of every wire type, then data_type = 7. */
  static const unsigned char m[] = {
      0x58, 0x96, 0x01,                               /* 11: varint */
      0x61, 1, 2, 3, 4, 5, 6, 7, 8,                   /* 12: fixed64 */
      0x6a, 0x03, 'a', 'b', 'c',                      /* 13: bytes */
      0x75, 1, 2, 3, 4,                               /* 14: fixed32 */
      0x10, 0x07};                                    /* 2: data_type */
  Pb b = open_buf(m, 0, sizeof m);
  int64_t dt = 0;
  int skipped = 0;
  while (pb_more(&b)) {
    CHECK(pb_next(&b) == O2L_OK);
    if (b.field == 2)
      CHECK(pb_i64(&b, &dt) == O2L_OK);
    else
      CHECK(pb_skip(&b) == O2L_OK && ++skipped);
  }
  CHECK(dt == 7 && skipped == 4);

  /* data_type sent as bytes: the wire type is checked. */
  static const unsigned char bad[] = {0x12, 0x01, 0x07};
  b = open_buf(bad, 0, sizeof bad);
  CHECK(pb_next(&b) == O2L_OK && pb_i64(&b, &dt) == O2L_ERR_PARSE);
  CHECK(strstr(cx.msg, "field 2 (data_type) of TensorProto has wire type 2"));
  /* Truncated skips. */
  b = open_buf(m, 3, 5);
  CHECK(pb_next(&b) == O2L_OK && pb_skip(&b) == O2L_ERR_PARSE);
  b = open_buf(m + 17, 0, 3);
  CHECK(pb_next(&b) == O2L_OK && pb_skip(&b) == O2L_ERR_PARSE);
}

static void test_packed(void) {
  /* dims = [1, 300, 2] packed, then one unpacked dim 5. */
  static const unsigned char m[] = {0x0a, 0x04, 0x01, 0xac, 0x02, 0x02,
                                    0x08, 0x05};
  Pb b = open_buf(m, 0, sizeof m);
  int64_t dims[8];
  int n = 0;
  while (pb_more(&b)) {
    CHECK(pb_next(&b) == O2L_OK);
    Pb vals;
    CHECK(pb_packed(&b, PB_VARINT, &vals) == O2L_OK);
    size_t cnt = pb_packed_count(&vals, PB_VARINT);
    CHECK(cnt == (b.wire == PB_LEN ? 3u : 1u));
    while (pb_more(&vals) && n < 8) {
      uint64_t u;
      CHECK(pb_varint(&vals, &u) == O2L_OK);
      dims[n++] = (int64_t)u;
    }
  }
  CHECK(n == 4 && dims[0] == 1 && dims[1] == 300 && dims[2] == 2 && dims[3] == 5);

  /* A packed varint run that ends mid-value. */
  static const unsigned char cut[] = {0x0a, 0x02, 0x01, 0xac};
  b = open_buf(cut, 0, sizeof cut);
  Pb vals;
  uint64_t u;
  CHECK(pb_next(&b) == O2L_OK && pb_packed(&b, PB_VARINT, &vals) == O2L_OK);
  CHECK(pb_varint(&vals, &u) == O2L_OK && u == 1);
  CHECK(pb_varint(&vals, &u) == O2L_ERR_PARSE);

  /* Packed floats must be a multiple of 4 bytes. */
  static const unsigned char f5[] = {0x22, 0x05, 0, 0, 0x80, 0x3f, 0};
  b = open_buf(f5, 0, sizeof f5);
  CHECK(pb_next(&b) == O2L_OK && pb_packed(&b, PB_FIXED32, &vals) == O2L_ERR_PARSE);
  static const unsigned char f8[] = {0x22, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40};
  b = open_buf(f8, 0, sizeof f8);
  CHECK(pb_next(&b) == O2L_OK && pb_packed(&b, PB_FIXED32, &vals) == O2L_OK);
  CHECK(pb_packed_count(&vals, PB_FIXED32) == 2);
  uint32_t w;
  CHECK(pb_fixed32(&vals, &w) == O2L_OK && w == 0x3f800000u);
  CHECK(pb_fixed32(&vals, &w) == O2L_OK && w == 0x40000000u && !pb_more(&vals));
  /* Unpacked element of the wrong wire type. */
  static const unsigned char wrong[] = {0x21, 0, 0, 0, 0, 0, 0, 0, 0};
  b = open_buf(wrong, 0, sizeof wrong);
  CHECK(pb_next(&b) == O2L_OK && pb_packed(&b, PB_FIXED32, &vals) == O2L_ERR_PARSE);
  /* Unpacked element cut short. */
  static const unsigned char ucut[] = {0x25, 0, 0};
  b = open_buf(ucut, 0, sizeof ucut);
  CHECK(pb_next(&b) == O2L_OK && pb_packed(&b, PB_FIXED32, &vals) == O2L_ERR_PARSE);
}

/* Walks any bytes as nested messages, reading every field every way. */
static void walk(Pb *b, int depth) {
  while (pb_more(b)) {
    if (pb_next(b) != O2L_OK)
      return;
    Pb save = *b, sub, vals;
    if (b->wire == PB_LEN && depth < 4 && pb_sub(b, &TMSG, &sub) == O2L_OK) {
      walk(&sub, depth + 1);
      Pb again = save;
      if (pb_packed(&again, PB_VARINT, &vals) == O2L_OK) {
        size_t cnt = pb_packed_count(&vals, PB_VARINT), k = 0;
        uint64_t u;
        while (pb_more(&vals) && pb_varint(&vals, &u) == O2L_OK)
          k++;
        CHECK(k <= cnt);
      }
      continue;
    }
    if (pb_skip(b) != O2L_OK)
      return;
  }
}

static void test_random(void) {
  unsigned seed = 12345;
  unsigned char buf[64];
  for (int iter = 0; iter < 20000; iter++) {
    size_t n = (size_t)(iter % 64);
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      buf[i] = (unsigned char)(seed >> 16);
    }
    /* Heap copy of exactly n bytes so ASan sees any overread. */
    unsigned char *h = malloc(n ? n : 1);
    memcpy(h, buf, n);
    Pb b = open_buf(h, 0, n);
    walk(&b, 0);
    free(h);
  }
  CHECK(1);
}

int main(void) {
  arena_init(&arena);
  test_varints();
  test_fixed();
  test_keys();
  test_lengths();
  test_skip_and_wire();
  test_packed();
  test_random();
  arena_free(&arena);
  return check_done("test_pb");
}
