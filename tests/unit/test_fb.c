/* test_fb.c - the FlatBuffers builder and reader (src/tfl/fb.h): every
 * scalar kind, vectors, strings, nested tables, shared vtables, deferred
 * vectors and their alignment, streaming output, and a reader that turns
 * truncated or scrambled bytes into errors rather than crashes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "check.h"
#include "tfl/fb.h"

/* ---- every field kind ------------------------------------------------- */

static unsigned char *build_all_kinds(size_t *len) {
  FbBuilder B;
  fb_init(&B);
  FbRef name = fb_string(&B, "hello");
  int32_t iv[3] = {1, -2, 2147483647};
  int64_t lv[2] = {-5, INT64_MAX};
  float fv[2] = {1.5f, -0.25f};
  FbRef vi = fb_vec_i32(&B, iv, 3);
  FbRef vl = fb_vec_i64(&B, lv, 2);
  FbRef vf = fb_vec_f32(&B, fv, 2);
  FbRef vb = fb_vec_u8(&B, "abcde", 5, 16);
  FbRef empty = fb_vec_i32(&B, NULL, 0);
  FbRef strs[2] = {fb_string(&B, "x"), fb_string(&B, "")};
  FbRef vs = fb_vec_refs(&B, strs, 2);
  /* Two small child tables with the same shape share one vtable. */
  FbRef kids[2];
  for (int i = 0; i < 2; i++) {
    fb_table_start(&B);
    fb_add_i32(&B, 0, 100 + i);
    kids[i] = fb_table_end(&B);
  }
  FbRef vk = fb_vec_refs(&B, kids, 2);
  fb_table_start(&B);
  fb_add_u8(&B, 0, 200);
  fb_add_i8(&B, 1, -100);
  fb_add_bool(&B, 2, true);
  fb_add_u16(&B, 3, 65000);
  fb_add_i16(&B, 4, -30000);
  fb_add_u32(&B, 5, 4000000000u);
  fb_add_i32(&B, 6, -2000000000);
  fb_add_u64(&B, 7, UINT64_MAX - 1);
  fb_add_i64(&B, 8, INT64_MIN + 3);
  fb_add_f32(&B, 9, 3.25f);
  fb_add_f64(&B, 10, -1e300);
  fb_add_ref(&B, 11, name);
  fb_add_ref(&B, 12, vi);
  fb_add_ref(&B, 13, vl);
  fb_add_ref(&B, 14, vf);
  fb_add_ref(&B, 15, vb);
  fb_add_ref(&B, 16, vs);
  fb_add_ref(&B, 17, vk);
  fb_add_ref(&B, 18, kids[0]); /* nested table */
  fb_add_ref(&B, 20, empty);   /* id 19 left out */
  FbRef root = fb_table_end(&B);
  fb_finish(&B, root, "TEST");
  CHECK(fb_error(&B) == NULL);
  unsigned char *buf = fb_to_mem(&B, len);
  CHECK(buf != NULL);
  CHECK(*len == fb_size(&B));
  fb_release(&B);
  return buf;
}

static void test_all_kinds(void) {
  size_t len = 0;
  unsigned char *buf = build_all_kinds(&len);
  if (!buf)
    return;
  CHECK(len % 16 == 0); /* padded to the largest alignment used */
  CHECK(fb_has_identifier(buf, len, "TEST"));
  FbReader r;
  fb_reader_init(&r, buf, len);
  FbTable t = fb_root(&r);
  CHECK(fb_table_ok(t));
  CHECK(fb_get_u8(&r, t, 0, 0) == 200);
  CHECK(fb_get_i8(&r, t, 1, 0) == -100);
  CHECK(fb_get_bool(&r, t, 2, false) == true);
  CHECK(fb_get_u16(&r, t, 3, 0) == 65000);
  CHECK(fb_get_i16(&r, t, 4, 0) == -30000);
  CHECK(fb_get_u32(&r, t, 5, 0) == 4000000000u);
  CHECK(fb_get_i32(&r, t, 6, 0) == -2000000000);
  CHECK(fb_get_u64(&r, t, 7, 0) == UINT64_MAX - 1);
  CHECK(fb_get_i64(&r, t, 8, 0) == INT64_MIN + 3);
  CHECK(fb_get_f32(&r, t, 9, 0) == 3.25f);
  CHECK(fb_get_f64(&r, t, 10, 0) == -1e300);
  CHECK(fb_get_i32(&r, t, 19, 77) == 77); /* absent: the default */
  CHECK(fb_get_i32(&r, t, 400, 5) == 5);  /* past the vtable */
  CHECK(!fb_has_field(&r, t, 19));
  /* Each scalar sits at an address that is a multiple of its size. */
  static const size_t sizes[11] = {1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8};
  for (int id = 0; id < 11; id++) {
    size_t p = fb_field(&r, t, id, sizes[id]);
    CHECK(p != 0 && p % sizes[id] == 0);
  }
  size_t n = 0;
  const char *s = fb_get_str(&r, t, 11, &n);
  CHECK(s && n == 5 && memcmp(s, "hello", 6) == 0);
  FbVec vi = fb_get_vec(&r, t, 12, 4);
  CHECK(vi.n == 3 && vi.pos % 4 == 0);
  CHECK(fb_vec_i32_at(&r, vi, 0) == 1 && fb_vec_i32_at(&r, vi, 1) == -2 &&
        fb_vec_i32_at(&r, vi, 2) == 2147483647);
  FbVec vl = fb_get_vec(&r, t, 13, 8);
  CHECK(vl.n == 2 && vl.pos % 8 == 0);
  CHECK(fb_vec_i64_at(&r, vl, 0) == -5 && fb_vec_i64_at(&r, vl, 1) == INT64_MAX);
  FbVec vf = fb_get_vec(&r, t, 14, 4);
  CHECK(vf.n == 2 && fb_vec_f32_at(&r, vf, 0) == 1.5f &&
        fb_vec_f32_at(&r, vf, 1) == -0.25f);
  FbVec vb = fb_get_vec(&r, t, 15, 1);
  CHECK(vb.n == 5 && vb.pos % 16 == 0 && memcmp(fb_vec_bytes(&r, vb), "abcde", 5) == 0);
  FbVec vs = fb_get_vec(&r, t, 16, 4);
  CHECK(vs.n == 2);
  s = fb_vec_str_at(&r, vs, 0, &n);
  CHECK(s && n == 1 && s[0] == 'x');
  s = fb_vec_str_at(&r, vs, 1, &n);
  CHECK(s && n == 0 && s[0] == 0);
  FbVec vk = fb_get_vec(&r, t, 17, 4);
  CHECK(vk.n == 2);
  FbTable k0 = fb_vec_table_at(&r, vk, 0), k1 = fb_vec_table_at(&r, vk, 1);
  CHECK(fb_get_i32(&r, k0, 0, 0) == 100 && fb_get_i32(&r, k1, 0, 0) == 101);
  CHECK(k0.vt == k1.vt); /* shared vtable */
  FbTable nested = fb_get_table(&r, t, 18);
  CHECK(nested.pos == k0.pos);
  FbVec empty = fb_get_vec(&r, t, 20, 4);
  CHECK(empty.pos != 0 && empty.n == 0);
  FbVec absent = fb_get_vec(&r, t, 19, 4);
  CHECK(absent.pos == 0 && absent.n == 0);
  CHECK(!r.failed);
  /* An element past the end is an error, not a read. */
  CHECK(fb_vec_i32_at(&r, vi, 3) == 0 && r.failed);
  xfree(buf);
}

/* ---- deferred vectors ------------------------------------------------- */

typedef struct Sink {
  unsigned char buf[4096];
  size_t n;
  int calls;
} Sink;

static int sink_write(void *user, const void *p, size_t n) {
  Sink *s = user;
  if (s->n + n > sizeof s->buf)
    return 1;
  memcpy(s->buf + s->n, p, n);
  s->n += n;
  s->calls++;
  return 0;
}

static void test_deferred(void) {
  /* Payloads at odd addresses, as constants inside an mmapped file are. */
  static unsigned char store[1200];
  for (size_t i = 0; i < sizeof store; i++)
    store[i] = (unsigned char)(i * 7 + 3);
  const unsigned char *a = store + 1, *b = store + 203, *c = store + 3;
  size_t na = 5, nb = 997, nc = 0;
  FbBuilder B;
  fb_init(&B);
  /* Pushed last-first so they appear a, b, c in the file. */
  FbRef rc = fb_vec_deferred(&B, c, nc, 16);
  FbRef rb = fb_vec_deferred(&B, b, nb, 16);
  FbRef ra = fb_vec_deferred(&B, a, na, 16);
  CHECK(fb_mem_size(&B) == 0);
  CHECK(fb_size(&B) >= na + nb + nc + 12);
  FbRef refs[3];
  const FbRef data[3] = {ra, rb, rc};
  for (int i = 0; i < 3; i++) {
    fb_table_start(&B);
    fb_add_ref(&B, 0, data[i]);
    refs[i] = fb_table_end(&B);
  }
  FbRef vec = fb_vec_refs(&B, refs, 3);
  fb_table_start(&B);
  fb_add_ref(&B, 4, vec);
  FbRef root = fb_table_end(&B);
  fb_finish(&B, root, "TFL3");
  CHECK(fb_error(&B) == NULL);
  /* The builder holds the metadata, not the payloads. */
  CHECK(fb_mem_size(&B) < 200);
  size_t len = 0;
  unsigned char *buf = fb_to_mem(&B, &len);
  Sink sink = {{0}, 0, 0};
  CHECK(fb_output(&B, sink_write, &sink) == 0);
  CHECK(buf && sink.n == len && memcmp(sink.buf, buf, len) == 0);
  CHECK(len % 16 == 0);
  /* A writer error stops the output and is returned. */
  Sink small = {{0}, sizeof small.buf - 10, 0};
  CHECK(fb_output(&B, sink_write, &small) == 1);
  fb_release(&B);
  if (!buf)
    return;
  FbReader r;
  fb_reader_init(&r, buf, len);
  FbTable root_t = fb_root(&r);
  FbVec bufs = fb_get_vec(&r, root_t, 4, 4);
  CHECK(bufs.n == 3);
  const unsigned char *want[3] = {a, b, c};
  size_t wn[3] = {na, nb, nc};
  size_t last = 0;
  for (uint32_t i = 0; i < 3 && i < bufs.n; i++) {
    FbTable bt = fb_vec_table_at(&r, bufs, i);
    FbVec d = fb_get_vec(&r, bt, 0, 1);
    CHECK(d.n == wn[i]);
    CHECK(d.pos % 16 == 0);
    CHECK(d.pos > last); /* file order a, b, c */
    last = d.pos;
    if (d.n == wn[i] && d.n)
      CHECK(memcmp(fb_vec_bytes(&r, d), want[i], d.n) == 0);
  }
  /* The payloads are the tail of the file. */
  FbTable bt = fb_vec_table_at(&r, bufs, 0);
  FbVec d = fb_get_vec(&r, bt, 0, 1);
  CHECK(d.pos - 4 >= len - (na + nb + nc + 3 * 4 + 3 * 15));
  CHECK(!r.failed);
  xfree(buf);
}

static void test_deferred_rules(void) {
  FbBuilder B;
  fb_init(&B);
  fb_string(&B, "x");
  CHECK(fb_vec_deferred(&B, "abc", 3, 16) == 0); /* after other objects */
  CHECK(fb_error(&B) != NULL);
  fb_release(&B);
  /* Too big for a flatbuffer: refused without touching the bytes. */
  fb_init(&B);
  static const unsigned char one = 1;
  CHECK(fb_vec_deferred(&B, &one, (size_t)3 << 30, 16) == 0);
  CHECK(fb_error(&B) && strstr(fb_error(&B), "2 GB"));
  fb_table_start(&B);
  fb_add_i32(&B, 0, 1);
  CHECK(fb_table_end(&B) == 0); /* sticky */
  fb_release(&B);
}

/* ---- malformed input -------------------------------------------------- */

/* Reads everything test_all_kinds reads; must never touch bytes outside
 * the buffer (ASan checks this). */
static void walk(const unsigned char *buf, size_t len) {
  FbReader r;
  fb_reader_init(&r, buf, len);
  FbTable t = fb_root(&r);
  for (int id = 0; id < 11; id++)
    fb_get_u64(&r, t, id, 0);
  size_t n;
  const char *s = fb_get_str(&r, t, 11, &n);
  (void)s;
  FbVec v = fb_get_vec(&r, t, 12, 4);
  for (uint32_t i = 0; i < v.n && i < 16; i++)
    fb_vec_i32_at(&r, v, i);
  v = fb_get_vec(&r, t, 13, 8);
  for (uint32_t i = 0; i < v.n && i < 16; i++)
    fb_vec_i64_at(&r, v, i);
  v = fb_get_vec(&r, t, 16, 4);
  for (uint32_t i = 0; i < v.n && i < 16; i++)
    fb_vec_str_at(&r, v, i, &n);
  v = fb_get_vec(&r, t, 17, 4);
  for (uint32_t i = 0; i < v.n && i < 16; i++)
    fb_get_i32(&r, fb_vec_table_at(&r, v, i), 0, 0);
  fb_get_i32(&r, fb_get_table(&r, t, 18), 0, 0);
}

static void test_malformed(void) {
  size_t len = 0;
  unsigned char *good = build_all_kinds(&len);
  if (!good)
    return;
  /* Every truncation: an exact-size copy so ASan sees any overread. */
  for (size_t cut = 0; cut < len; cut++) {
    unsigned char *p = xrealloc(NULL, cut ? cut : 1);
    memcpy(p, good, cut);
    FbReader r;
    fb_reader_init(&r, p, cut);
    fb_root(&r);
    if (cut < 8)
      CHECK(r.failed);
    walk(p, cut);
    xfree(p);
  }
  FbReader r;
  fb_reader_init(&r, good, 3);
  fb_root(&r);
  CHECK(r.failed && r.err_off == 0);
  /* Random byte damage. */
  unsigned char *p = xrealloc(NULL, len);
  uint32_t seed = 12345;
  for (int iter = 0; iter < 3000; iter++) {
    memcpy(p, good, len);
    for (int k = 0; k < 1 + iter % 4; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = (seed >> 8) % len;
      seed = seed * 1103515245u + 12345u;
      p[at] = (unsigned char)(seed >> 16);
    }
    walk(p, len);
  }
  xfree(p);
  /* A root pointing past the end is reported with its offset. */
  memcpy(good, "\xff\xff\x00\x00", 4);
  fb_reader_init(&r, good, len);
  fb_root(&r);
  CHECK(r.failed && r.err_off == 0xffff);
  xfree(good);
}

static void test_out_of_memory(void) {
  /* Each allocation the builder makes may fail; the failure must stick
   * and be reported, without crashes or leaks. */
  for (long nth = 1; nth < 40; nth++) {
    FbBuilder B;
    fb_init(&B);
    fault_fail_nth(nth);
    char name[40];
    FbRef refs[64];
    for (int i = 0; i < 64; i++) {
      snprintf(name, sizeof name, "tensor number %d", i);
      FbRef s = fb_string(&B, name);
      fb_table_start(&B);
      fb_add_ref(&B, 0, s);
      fb_add_i32(&B, 1 + i % 5, i);
      refs[i] = fb_table_end(&B);
    }
    FbRef v = fb_vec_refs(&B, refs, 64);
    fb_table_start(&B);
    fb_add_ref(&B, 0, v);
    fb_finish(&B, fb_table_end(&B), NULL);
    fault_fail_nth(0);
    size_t len;
    unsigned char *buf = fb_to_mem(&B, &len);
    if (fb_error(&B)) {
      CHECK(strstr(fb_error(&B), "out of memory") != NULL);
      CHECK(buf == NULL);
    } else {
      CHECK(buf != NULL);
    }
    xfree(buf);
    fb_release(&B);
  }
}

int main(void) {
  test_all_kinds();
  test_deferred();
  test_deferred_rules();
  test_malformed();
  test_out_of_memory();
  return check_done("test_fb");
}
