/* test_calib_data.c - calib_load() on .npy/.npz/image folders/"random":
 * values, dtype conversion, preprocessing math, sample-count rules, every
 * error path with its message, and hostile files (every truncation, byte
 * flips, failed allocations) that must end in a clean Status.
 *
 * Run from the repository root (make unit).  Fixed inputs are in
 * tests/unit/data/calib/ (made by make_calib_data.py); broken variants are
 * written to a temporary folder here.  O2L_VERBOSE=1 prints every message.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "base.h"
#include "quant/calib_data.h"

#define DATA "tests/unit/data/calib/"
#define DIGITS "/work/shared/models/digits_calib.npy"

static Arena A;
static Ctx CX;
static bool a_live, verbose;
static char notices[16384];
static char tmpdir[64];

static void on_notice(void *user, const char *msg) {
  size_t n = strlen(notices);
  snprintf(notices + n, sizeof notices - n, "%s\n", msg);
}

static o2l_options opts(const char *path) {
  o2l_options o;
  memset(&o, 0, sizeof o);
  o.calib_path = path;
  o.notice = on_notice;
  return o;
}

static Status run(const o2l_options *o, const CalibInput *in, int n,
                  CalibSet *set) {
  if (a_live)
    arena_free(&A);
  arena_init(&A);
  a_live = true;
  notices[0] = 0;
  ctx_init(&CX, &A, o, NULL);
  Status st = calib_load(&CX, o, in, n, set);
  if (verbose)
    printf("  [%s] %s%s%s", o->calib_path ? o->calib_path : "(null)",
           st ? CX.msg : "ok", st ? "" : "", "\n");
  return st;
}

/* Loads and expects an error of `code` whose message holds each of the
 * given fragments. */
static bool expect_err(const o2l_options *o, const CalibInput *in, int n,
                       Status code, const char *frag1, const char *frag2) {
  CalibSet set;
  Status st = run(o, in, n, &set);
  bool ok = st == code && (!frag1 || strstr(CX.msg, frag1)) &&
            (!frag2 || strstr(CX.msg, frag2)) && set.nsamples == 0;
  if (!ok)
    fprintf(stderr, "  expected %s with '%s' '%s', got %s: %s\n",
            o2l_status_str(code), frag1 ? frag1 : "", frag2 ? frag2 : "",
            o2l_status_str(st), st ? CX.msg : "");
  return ok;
}

static bool near(float a, float b, float tol) { return fabsf(a - b) <= tol; }

/* ---- temporary files ------------------------------------------------- */

/* tmpdir/name; the strings live until the end of the run. */
static char *tmp_names[1024];
static int n_tmp_names;

static const char *tmp(const char *name) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
  for (int i = 0; i < n_tmp_names; i++)
    if (!strcmp(tmp_names[i], buf))
      return tmp_names[i];
  if (n_tmp_names == (int)O2L_ARRAY_LEN(tmp_names))
    exit(1);
  return tmp_names[n_tmp_names++] = strdup(buf);
}

static void write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(1);
  }
  if (n)
    fwrite(p, 1, n, f);
  fclose(f);
}

static unsigned char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *p = malloc((size_t)len + 1);
  if (!p || fread(p, 1, (size_t)len, f) != (size_t)len)
    exit(1);
  fclose(f);
  *n = (size_t)len;
  return p;
}

static void rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    char p[512];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    if (!lstat(p, &sb) && S_ISDIR(sb.st_mode))
      rm_tree(p);
    else
      unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

/* A version-1 .npy with the given dict text (padded like numpy) and data. */
static void write_npy(const char *path, const char *dict, const void *data,
                      size_t n) {
  char head[512];
  size_t dl = strlen(dict);
  size_t total = (10 + dl + 1 + 63) / 64 * 64;
  memcpy(head, "\x93NUMPY\x01\x00", 8);
  head[8] = (char)((total - 10) & 0xff);
  head[9] = (char)((total - 10) >> 8);
  memcpy(head + 10, dict, dl);
  memset(head + 10 + dl, ' ', total - 10 - dl);
  head[total - 1] = '\n';
  unsigned char *buf = malloc(total + n + 1);
  memcpy(buf, head, total);
  if (n)
    memcpy(buf + total, data, n);
  write_file(path, buf, total + n);
  free(buf);
}

static const CalibInput IN_1122 = {"input", 4, {1, 1, 2, 2}};

/* ---- .npy ------------------------------------------------------------ */

static void test_npy_dtypes(void) {
  static const char *codes[] = {"f4_v1", "f8_v1", "f2_v1", "u1_v1", "i1_v1",
                                "i2_v1", "u2_v1", "i4_v1", "i8_v1", "f4_v2",
                                "f4_v3"};
  for (size_t c = 0; c < O2L_ARRAY_LEN(codes); c++) {
    char path[128];
    snprintf(path, sizeof path, DATA "npy_%s.npy", codes[c]);
    o2l_options o = opts(path);
    CalibSet set;
    CHECK(run(&o, &IN_1122, 1, &set) == O2L_OK);
    CHECK(set.nsamples == 3 && set.ninputs == 1 && set.sample_numel[0] == 4);
    CHECK(strstr(notices, "holds 3 samples, fewer than the default 100"));
    bool unsig = codes[c][0] == 'u';
    bool all = set.nsamples == 3;
    for (int k = 0; all && k < 12; k++)
      all = set.data[0][k] == (float)(unsig ? 20 * k : 3 * k - 5);
    CHECK(all);
    if (!all)
      fprintf(stderr, "  dtype %s\n", codes[c]);
  }
}

static void test_npy_counts(void) {
  o2l_options o = opts(DATA "npy_f4_v1.npy");
  CalibSet set;
  o.calib_samples = 2;
  CHECK(run(&o, &IN_1122, 1, &set) == O2L_OK && set.nsamples == 2);
  CHECK(notices[0] == 0);
  CHECK(set.data[0][7] == 16.0f);
  o.calib_samples = 3;
  CHECK(run(&o, &IN_1122, 1, &set) == O2L_OK && set.nsamples == 3);
  o.calib_samples = 4;
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB,
                   "npy_f4_v1.npy holds 3 samples",
                   "--calib-samples asked for 4"));
  o.calib_samples = -1;
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_USAGE, "--calib-samples", NULL));

  /* 150 samples: the default takes 100, quietly. */
  float *v = calloc(150 * 4, sizeof(float));
  for (int i = 0; i < 150 * 4; i++)
    v[i] = (float)i;
  write_npy(tmp("n150.npy"),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (150, 1, 2, 2), }",
            v, 150 * 4 * sizeof(float));
  free(v);
  o = opts(tmp("n150.npy"));
  CHECK(run(&o, &IN_1122, 1, &set) == O2L_OK && set.nsamples == 100);
  CHECK(notices[0] == 0);
  CHECK(set.data[0][399] == 399.0f);
  o.calib_samples = 150;
  CHECK(run(&o, &IN_1122, 1, &set) == O2L_OK && set.nsamples == 150);
  CHECK(set.data[0][599] == 599.0f);
}

static void test_npy_shapes(void) {
  o2l_options o = opts(DATA "npy_f4_v1.npy");
  CalibSet set;
  CalibInput in = {"x", 4, {1, 1, 4, 1}};
  CHECK(expect_err(&o, &in, 1, O2L_ERR_CALIB,
                   "shape (3, 1, 2, 2) does not fit input 'x' [1x1x4x1]",
                   "expected (N, 1, 4, 1)"));
  CalibInput in3 = {"x", 3, {1, 2, 2}};
  CHECK(expect_err(&o, &in3, 1, O2L_ERR_CALIB, "expected (N, 2, 2)", NULL));
  /* The batch dimension of the input does not matter. */
  CalibInput in8 = {"x", 4, {8, 1, 2, 2}};
  CHECK(run(&o, &in8, 1, &set) == O2L_OK && set.nsamples == 3);
  /* Several inputs: a .npy cannot feed them. */
  CalibInput two[2] = {{"a", 4, {1, 1, 2, 2}}, {"b", 2, {1, 3}}};
  CHECK(expect_err(&o, two, 2, O2L_ERR_CALIB, "the model has 2 inputs ('a', 'b')",
                   "give a .npz"));
  /* Unknown dimension. */
  CalibInput unk = {"x", 4, {1, -1, 2, 2}};
  CHECK(expect_err(&o, &unk, 1, O2L_ERR_INVALID, "input 'x' has shape [1x-1x2x2]",
                   NULL));
  /* Rank-1 input: scalar samples. */
  float v[5] = {1, 2, 3, 4, 5};
  write_npy(tmp("vec.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }",
            v, sizeof v);
  o = opts(tmp("vec.npy"));
  CalibInput in1 = {"s", 1, {1}};
  CHECK(run(&o, &in1, 1, &set) == O2L_OK && set.nsamples == 5 &&
        set.sample_numel[0] == 1 && set.data[0][4] == 5.0f);
  /* Zero samples. */
  write_npy(tmp("zero.npy"),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1, 2, 2), }",
            NULL, 0);
  o = opts(tmp("zero.npy"));
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB, "holds no samples", NULL));
}

static void test_npy_header_errors(void) {
  static const struct {
    const char *dict;
    const char *frag;
  } cases[] = {
      {"{'descr': '>f4', 'fortran_order': False, 'shape': (3, 1, 2, 2), }",
       "dtype '>f4' is big-endian"},
      {"{'descr': '<f4', 'fortran_order': True, 'shape': (3, 1, 2, 2), }",
       "fortran_order is True"},
      {"{'descr': '|O', 'fortran_order': False, 'shape': (3, 1, 2, 2), }",
       "object array"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3, 1, 2, 2), }",
       "structured dtype"},
      {"{'descr': '<c8', 'fortran_order': False, 'shape': (3, 1, 2, 2), }",
       "dtype '<c8' is not supported"},
      {"{'descr': '|b1', 'fortran_order': False, 'shape': (3, 1, 2, 2), }",
       "dtype '|b1' is not supported"},
      {"{'descr': '<U4', 'fortran_order': False, 'shape': (3, 1, 2, 2), }",
       "dtype '<U4' is not supported"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1, 2, 2), 'x': 1}",
       "unknown key 'x'"},
      {"{'descr': '<f4', 'fortran_order': False}", "no 'shape' key"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",
       "key 'descr' appears twice"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (3, 1, 2, 2), }",
       "expected ',' or '}', found '''"},
      {"{'descr': '<f4', 'fortran_order': Nope, 'shape': (3, 1, 2, 2), }",
       "expected True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, -1, 2, 2), }",
       "expected a dimension or ')'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1, 2, 2), } x",
       "expected only padding after the header dict"},
      {"['descr']", "expected '{' opening the header dict"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }",
       "more than 8 dimensions"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
       "is too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
       "dimension is too large"},
      {"{'descr': '<f4\\n', 'fortran_order': False, 'shape': (3,)}",
       "expected a plain string"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (5, 1, 2, 2), }",
       "needs 80 bytes of data from byte 128, but the file ends at byte 176"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 1L, 2L, 2L), }",
       NULL}, /* Python 2 longs are fine */
  };
  float v[12];
  for (int i = 0; i < 12; i++)
    v[i] = (float)i;
  for (size_t c = 0; c < O2L_ARRAY_LEN(cases); c++) {
    write_npy(tmp("h.npy"), cases[c].dict, v, sizeof v);
    o2l_options o = opts(tmp("h.npy"));
    if (cases[c].frag) {
      CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB, "h.npy: ", cases[c].frag));
    } else {
      CalibSet set;
      CHECK(run(&o, &IN_1122, 1, &set) == O2L_OK && set.data[0][11] == 11.0f);
    }
  }

  /* Raw prefix damage. */
  unsigned char b[64];
  memcpy(b, "\x93NUMPY\x04\x00\x10\x00", 10);
  memset(b + 10, ' ', 54);
  write_file(tmp("v4.npy"), b, 64);
  o2l_options o = opts(tmp("v4.npy"));
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB,
                   ".npy format version 4.0 at byte 6", NULL));
  memcpy(b, "\x93NUMPX\x01\x00", 8);
  write_file(tmp("magic.npy"), b, 64);
  o = opts(tmp("magic.npy"));
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB, "no \\x93NUMPY magic", NULL));
  memcpy(b, "\x93NUMPY\x01\x00\xff\xff", 10);
  write_file(tmp("hlen.npy"), b, 64);
  o = opts(tmp("hlen.npy"));
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB,
                   "hlen.npy: header length 65535 at byte 8 runs past the end "
                   "of the file (64 bytes)", NULL));
  memcpy(b, "\x93NUMPY\x02\x00\x70\x11\x01\x00", 12); /* 70000 */
  write_file(tmp("hlen2.npy"), b, 64);
  o = opts(tmp("hlen2.npy"));
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB,
                   "header length 70000 at byte 8 runs past the end of the "
                   "file (64 bytes)", NULL));
  write_file(tmp("tiny.npy"), b, 5);
  o = opts(tmp("tiny.npy"));
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB, "5 bytes is too short", NULL));
}

static void test_npy_nonfinite(void) {
  float v[12];
  for (int i = 0; i < 12; i++)
    v[i] = (float)i;
  v[9] = NAN; /* sample 2, element 1 */
  const char *d = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1, 2, 2), }";
  write_npy(tmp("nan.npy"), d, v, sizeof v);
  o2l_options o = opts(tmp("nan.npy"));
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB,
                   "nan.npy: sample 2 holds NaN at element 1", NULL));
  o.calib_samples = 2; /* the NaN is past the samples used */
  CalibSet set;
  CHECK(run(&o, &IN_1122, 1, &set) == O2L_OK && set.nsamples == 2);
  v[9] = 9;
  v[2] = -INFINITY;
  write_npy(tmp("inf.npy"), d, v, sizeof v);
  o = opts(tmp("inf.npy"));
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB, "sample 0 holds Inf at element 2",
                   NULL));
  /* float16 infinity and float64 NaN go through the converting path. */
  uint16_t h[12] = {0};
  h[5] = 0x7c00;
  write_npy(tmp("inf16.npy"),
            "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 1, 2, 2), }",
            h, sizeof h);
  o = opts(tmp("inf16.npy"));
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB, "sample 1 holds Inf at element 1",
                   NULL));
  double dv[12] = {0};
  dv[11] = NAN;
  write_npy(tmp("nan64.npy"),
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 1, 2, 2), }",
            dv, sizeof dv);
  o = opts(tmp("nan64.npy"));
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB, "sample 2 holds NaN at element 3",
                   NULL));
}

/* Every prefix of a valid file is an error, never a crash. */
static void truncate_all(const char *src, const char *name,
                         const CalibInput *in, int nin) {
  size_t n;
  unsigned char *b = read_all(src, &n);
  int bad = 0;
  for (size_t len = 0; len < n; len++) {
    write_file(tmp(name), b, len);
    o2l_options o = opts(tmp(name));
    CalibSet set;
    Status st = run(&o, in, nin, &set);
    if (st != O2L_ERR_CALIB || !strstr(CX.msg, name)) {
      if (bad++ < 3)
        fprintf(stderr, "  %s cut to %zu bytes: %s: %s\n", name, len,
                o2l_status_str(st), CX.msg);
    }
  }
  CHECK(bad == 0);
  free(b);
}

/* Each byte inverted in turn: any status, but no crash and no sanitizer
 * report. */
static void flip_all(const char *src, const char *name, const CalibInput *in,
                     int nin, bool in_folder) {
  size_t n;
  unsigned char *b = read_all(src, &n);
  char sub[300];
  snprintf(sub, sizeof sub, "flip/%s", name);
  if (in_folder)
    mkdir(tmp("flip"), 0700);
  const char *path = tmp(in_folder ? sub : name);
  int ok = 0;
  for (size_t i = 0; i < n; i++) {
    b[i] ^= 0xff;
    write_file(path, b, n);
    b[i] ^= 0xff;
    o2l_options o = opts(in_folder ? tmp("flip") : path);
    CalibSet set;
    Status st = run(&o, in, nin, &set);
    CHECK(st == O2L_OK || st == O2L_ERR_CALIB);
    ok += st == O2L_OK;
  }
  if (verbose)
    printf("  %s: %d of %zu byte flips still load\n", name, ok, n);
  if (in_folder)
    unlink(path);
  free(b);
}

static void test_npy_truncation(void) {
  truncate_all(DATA "npy_f4_v1.npy", "cut.npy", &IN_1122, 1);
  truncate_all(DATA "npy_i8_v1.npy", "cut8.npy", &IN_1122, 1);
  truncate_all(DATA "npy_f4_v2.npy", "cut2.npy", &IN_1122, 1);
  flip_all(DATA "npy_f2_v1.npy", "flip.npy", &IN_1122, 1, false);
}

static void test_digits(void) {
  if (access(DIGITS, R_OK)) {
    printf("  (skipped: %s not present)\n", DIGITS);
    return;
  }
  CalibInput in = {"input", 4, {1, 1, 16, 16}};
  o2l_options o = opts(DIGITS);
  CalibSet set;
  CHECK(run(&o, &in, 1, &set) == O2L_OK && set.nsamples == 100);
  CHECK(notices[0] == 0);
  o.calib_samples = 200;
  CHECK(run(&o, &in, 1, &set) == O2L_OK && set.nsamples == 200);
  CHECK(set.sample_numel[0] == 256);
  CHECK(set.data[0][0] == -1.0f && set.data[0][2] == -0.875f &&
        set.data[0][4] == 0.5f);
  CHECK(set.data[0][199 * 256 + 136] == 1.0f);
  CHECK(set.data[0][150 * 256 + 100] == -0.25f);
  o.calib_samples = 201;
  CHECK(expect_err(&o, &in, 1, O2L_ERR_CALIB, "digits_calib.npy holds 200 samples",
                   "asked for 201"));
}

/* ---- .npz ------------------------------------------------------------ */

static const CalibInput IN_AB[2] = {{"a", 4, {1, 1, 2, 2}}, {"b", 2, {1, 3}}};

static void check_ab(const CalibSet *set) {
  CHECK(set->nsamples == 4 && set->ninputs == 2);
  CHECK(set->sample_numel[0] == 4 && set->sample_numel[1] == 3);
  bool ok = set->nsamples == 4;
  for (int k = 0; ok && k < 16; k++)
    ok = set->data[0][k] == (float)k / 4;
  for (int k = 0; ok && k < 12; k++)
    ok = set->data[1][k] == (float)(k - 6);
  CHECK(ok);
}

static void test_npz(void) {
  CalibSet set;
  o2l_options o = opts(DATA "npz_stored.npz");
  CHECK(run(&o, IN_AB, 2, &set) == O2L_OK);
  check_ab(&set);
  o = opts(DATA "npz_deflated.npz");
  CHECK(run(&o, IN_AB, 2, &set) == O2L_OK);
  check_ab(&set);
  o.calib_samples = 2;
  CHECK(run(&o, IN_AB, 2, &set) == O2L_OK && set.nsamples == 2 &&
        set.data[1][5] == -1.0f);

  /* Input order decides, not archive order. */
  CalibInput ba[2] = {IN_AB[1], IN_AB[0]};
  o = opts(DATA "npz_stored.npz");
  CHECK(run(&o, ba, 2, &set) == O2L_OK && set.data[0][0] == -6.0f &&
        set.data[1][1] == 0.25f);

  CalibInput ac[2] = {IN_AB[0], {"c", 2, {1, 3}}};
  CHECK(expect_err(&o, ac, 2, O2L_ERR_CALIB, "no array named 'c'",
                   "the archive holds 'a', 'b'"));
  /* A single input takes its named array; the other is reported. */
  CHECK(run(&o, IN_AB, 1, &set) == O2L_OK && set.ninputs == 1);
  CHECK(strstr(notices, "array 'b.npy' matches no model input; ignored"));
  /* Wrong shape for one array. */
  CalibInput bad[2] = {IN_AB[0], {"b", 2, {1, 4}}};
  CHECK(expect_err(&o, bad, 2, O2L_ERR_CALIB, "npz_stored.npz: b.npy: shape (4, 3)",
                   "expected (N, 4)"));

  o = opts(DATA "npz_uneven.npz");
  CHECK(expect_err(&o, IN_AB, 2, O2L_ERR_CALIB, "different sample counts",
                   "'a.npy' has 4, 'b.npy' has 5"));

  o = opts(DATA "npz_unnamed.npz");
  CHECK(run(&o, &IN_1122, 1, &set) == O2L_OK && set.nsamples == 4);
  CHECK(strstr(notices, "using its only array 'arr_0.npy' for input 'input'"));
  CHECK(expect_err(&o, IN_AB, 2, O2L_ERR_CALIB, "no array named 'a'",
                   "the archive holds 'arr_0'"));
}

/* Rewrites the end record of a valid archive as zip64 records. */
static void make_zip64(const char *src, const char *dst) {
  size_t n;
  unsigned char *b = read_all(src, &n);
  size_t e = n - 22;
  while (e > 0 && memcmp(b + e, "PK\x05\x06", 4))
    e--;
  uint16_t count = (uint16_t)(b[e + 10] | b[e + 11] << 8);
  uint32_t cd_size, cd_off;
  memcpy(&cd_size, b + e + 12, 4);
  memcpy(&cd_off, b + e + 16, 4);
  unsigned char *o = calloc(1, e + 56 + 20 + 22);
  memcpy(o, b, e);
  unsigned char *z = o + e;
  uint64_t v;
  memcpy(z, "PK\x06\x06", 4);
  v = 44; memcpy(z + 4, &v, 8);
  z[12] = 45; z[14] = 45;
  v = count; memcpy(z + 24, &v, 8); memcpy(z + 32, &v, 8);
  v = cd_size; memcpy(z + 40, &v, 8);
  v = cd_off; memcpy(z + 48, &v, 8);
  unsigned char *l = z + 56;
  memcpy(l, "PK\x06\x07", 4);
  v = e; memcpy(l + 8, &v, 8);
  l[16] = 1;
  unsigned char *r = l + 20;
  memcpy(r, "PK\x05\x06", 4);
  memset(r + 8, 0xff, 12);
  write_file(dst, o, e + 56 + 20 + 22);
  free(o);
  free(b);
}

static void test_npz_damage(void) {
  CalibSet set;
  make_zip64(DATA "npz_deflated.npz", tmp("z64.npz"));
  o2l_options o = opts(tmp("z64.npz"));
  CHECK(run(&o, IN_AB, 2, &set) == O2L_OK);
  check_ab(&set);

  /* A flipped data byte in a stored entry: the CRC catches it. */
  size_t n;
  unsigned char *b = read_all(DATA "npz_stored.npz", &n);
  size_t second = 4; /* b.npy's local header follows a.npy's last data byte */
  while (second + 4 < n && memcmp(b + second, "PK\x03\x04", 4))
    second++;
  b[second - 1] ^= 0x01;
  write_file(tmp("crc.npz"), b, n);
  free(b);
  o = opts(tmp("crc.npz"));
  CHECK(expect_err(&o, IN_AB, 2, O2L_ERR_CALIB, "crc.npz: a.npy: CRC-32 mismatch",
                   NULL));

  write_file(tmp("empty.npz"), "PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
  o = opts(tmp("empty.npz"));
  CHECK(expect_err(&o, IN_AB, 2, O2L_ERR_CALIB, "no array named 'a'",
                   "the archive holds nothing"));
  write_file(tmp("junk.npz"), "this is not a zip archive at all", 32);
  o = opts(tmp("junk.npz"));
  CHECK(expect_err(&o, IN_AB, 2, O2L_ERR_CALIB, "not a zip archive", NULL));

  truncate_all(DATA "npz_stored.npz", "cut.npz", IN_AB, 2);
  truncate_all(DATA "npz_deflated.npz", "cutd.npz", IN_AB, 2);
  flip_all(DATA "npz_deflated.npz", "flip.npz", IN_AB, 2, false);
  flip_all(DATA "npz_stored.npz", "flips.npz", IN_AB, 2, false);
}

/* ---- images ---------------------------------------------------------- */

static const unsigned char RGB3x2[2][3][3] = {
    {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}},
    {{10, 20, 30}, {200, 150, 100}, {255, 255, 255}}};

/* Sample k (NCHW, scale 1) equals the 3x2 test image; gray: its values are
 * the gray image 0,128,255 / 1,2,3 instead. */
static bool is_rgb3x2(const float *s, bool gray) {
  static const unsigned char g[2][3] = {{0, 128, 255}, {1, 2, 3}};
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 2; y++)
      for (int x = 0; x < 3; x++) {
        float want = gray ? g[y][x] : RGB3x2[y][x][c];
        if (s[c * 6 + y * 3 + x] != want) {
          fprintf(stderr, "  c%d y%d x%d: %g, want %g\n", c, y, x,
                  (double)s[c * 6 + y * 3 + x], (double)want);
          return false;
        }
      }
  return true;
}

static void test_image_formats(void) {
  CalibInput in = {"img", 4, {1, 3, 2, 3}};
  CalibSet set;
  o2l_options o = opts(DATA "bmp");
  o.scale = 1;
  CHECK(run(&o, &in, 1, &set) == O2L_OK && set.nsamples == 6);
  CHECK(strstr(notices, "holds 6 images, fewer than the default 100"));
  for (int k = 0; k < set.nsamples; k++) {
    bool ok = is_rgb3x2(set.data[0] + k * 18, k == 5);
    CHECK(ok);
    if (!ok)
      fprintf(stderr, "  bmp sample %d\n", k);
  }
  o = opts(DATA "png");
  o.scale = 1;
  CHECK(run(&o, &in, 1, &set) == O2L_OK && set.nsamples == 5);
  for (int k = 0; k < set.nsamples; k++) {
    bool ok = is_rgb3x2(set.data[0] + k * 18, k == 3);
    CHECK(ok);
    if (!ok)
      fprintf(stderr, "  png sample %d\n", k);
  }
  CalibInput g = {"img", 4, {1, 1, 1, 3}};
  o = opts(DATA "png16");
  o.scale = 1;
  CHECK(run(&o, &g, 1, &set) == O2L_OK && set.nsamples == 1);
  CHECK(set.data[0][0] == 128 && set.data[0][1] == 32 && set.data[0][2] == 255);
}

static void test_image_mixed(void) {
  CalibInput rgb = {"img", 4, {1, 3, 2, 2}}, gray = {"img", 4, {1, 1, 2, 2}};
  CalibSet set;
  o2l_options o = opts(DATA "mixed");
  CHECK(run(&o, &rgb, 1, &set) == O2L_OK && set.nsamples == 3);
  CHECK(strstr(notices, "holds 3 images"));
  const float *s = set.data[0];
  /* a.png: red green / blue white, default scale 1/255 */
  static const float a[12] = {1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1};
  bool ok = true;
  for (int i = 0; i < 12; i++)
    ok &= near(s[i], a[i], 1e-6f);
  CHECK(ok);
  /* b.JPG: uniform (40, 120, 200), lossy */
  ok = true;
  for (int i = 0; i < 12; i++)
    ok &= near(s[12 + i] * 255, i < 4 ? 40 : i < 8 ? 120 : 200, 3);
  CHECK(ok);
  /* c.bmp: (10,20,30) (40,50,60) / (70,80,90) (100,110,120) */
  ok = true;
  for (int c = 0; c < 3; c++)
    for (int p = 0; p < 4; p++)
      ok &= near(s[24 + c * 4 + p] * 255, (float)(10 + 10 * c + 30 * p), 1e-3f);
  CHECK(ok);

  CHECK(run(&o, &gray, 1, &set) == O2L_OK && set.nsamples == 3);
  s = set.data[0];
  CHECK(near(s[0], 0.299f, 1e-5f) && near(s[1], 0.587f, 1e-5f) &&
        near(s[2], 0.114f, 1e-5f) && near(s[3], 1.0f, 1e-5f));
  CHECK(near(s[8] * 255, 0.299f * 10 + 0.587f * 20 + 0.114f * 30, 1e-3f));

  /* --scale 1, per-channel mean/std: (p - mean) / std */
  o.scale = 1;
  o.n_mean = 3, o.mean[0] = 10, o.mean[1] = 20, o.mean[2] = 30;
  o.n_std = 3, o.std[0] = 2, o.std[1] = 4, o.std[2] = 5;
  CHECK(run(&o, &rgb, 1, &set) == O2L_OK);
  s = set.data[0] + 24;
  CHECK(s[0] == 0 && s[1] == 15 && s[2] == 30 && s[3] == 45);
  CHECK(s[4] == 0 && s[5] == 7.5f && s[7] == 22.5f);
  CHECK(s[8] == 0 && s[9] == 6 && s[11] == 18);
  /* One value for all channels, default scale: (p/255 - 0.5) / 0.25 */
  o.scale = 0;
  o.n_mean = 1, o.mean[0] = 0.5f;
  o.n_std = 1, o.std[0] = 0.25f;
  CHECK(run(&o, &rgb, 1, &set) == O2L_OK);
  s = set.data[0] + 24;
  CHECK(near(s[0], (10 / 255.0f - 0.5f) / 0.25f, 1e-5f));
  CHECK(near(s[11], (120 / 255.0f - 0.5f) / 0.25f, 1e-5f));
  CHECK(near(set.data[0][0], 2.0f, 1e-5f)); /* a.png red = 255 */
  /* Counts that fit neither 1 nor C; a zero std. */
  o.n_mean = 2;
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_USAGE, "--mean has 2 values",
                   "input 'img' has 3 channels"));
  o.n_mean = 3;
  CHECK(expect_err(&o, &gray, 1, O2L_ERR_USAGE, "--mean has 3 values",
                   "has 1 channel: give one value"));
  o.n_mean = 1;
  o.std[0] = 0;
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_USAGE, "--std value 0", NULL));

  /* Sample counts. */
  o = opts(DATA "mixed");
  o.calib_samples = 2;
  CHECK(run(&o, &rgb, 1, &set) == O2L_OK && set.nsamples == 2 && notices[0] == 0);
  o.calib_samples = 4;
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_CALIB, "holds 3 images",
                   "--calib-samples asked for 4"));
}

static void test_image_resize(void) {
  CalibSet set;
  o2l_options o = opts(DATA "ramp");
  o.scale = 1;
  /* 0, 255 -> 4 wide, half-pixel centers: x = -0.25 (clamped), 0.25, 0.75,
   * 1.25 (clamped). */
  CalibInput w4 = {"img", 4, {1, 1, 1, 4}};
  CHECK(run(&o, &w4, 1, &set) == O2L_OK);
  const float *s = set.data[0];
  CHECK(s[0] == 0 && s[1] == 63.75f && s[2] == 191.25f && s[3] == 255);
  CalibInput w3 = {"img", 4, {1, 3, 3, 4}};
  CHECK(run(&o, &w3, 1, &set) == O2L_OK);
  s = set.data[0];
  CHECK(s[0] == 0 && s[5] == 63.75f && s[2 * 12 + 2 * 4 + 2] == 191.25f);
  /* Shrink 2 -> 1: the center, (0 + 255) / 2. */
  CalibInput w1 = {"img", 4, {1, 1, 1, 1}};
  CHECK(run(&o, &w1, 1, &set) == O2L_OK && set.data[0][0] == 127.5f);
  /* 16x16 JPEG -> 5x7 still uniform. */
  o = opts(DATA "mixed");
  o.calib_samples = 2;
  CalibInput odd = {"img", 4, {1, 3, 5, 7}};
  CHECK(run(&o, &odd, 1, &set) == O2L_OK);
  bool ok = true;
  for (int i = 0; i < 35; i++)
    ok &= near(set.data[0][105 + 35 + i] * 255, 120, 3);
  CHECK(ok);
}

static void copy_prefix(const char *src, const char *dst, size_t len) {
  size_t n;
  unsigned char *b = read_all(src, &n);
  write_file(dst, b, len < n ? len : n);
  free(b);
}

static void test_image_errors(void) {
  CalibInput rgb = {"img", 4, {1, 3, 2, 2}};
  CalibSet set;
  mkdir(tmp("empty"), 0700);
  o2l_options o = opts(tmp("empty"));
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_CALIB, "the folder holds no images", NULL));

  mkdir(tmp("bad"), 0700);
  copy_prefix(DATA "mixed/a.png", tmp("bad/a.png"), 1000);
  copy_prefix(DATA "mixed/a.png", tmp("bad/b.png"), 50);
  o = opts(tmp("bad"));
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_CALIB, "bad/b.png: ", "PNG"));
  unlink(tmp("bad/b.png"));
  write_file(tmp("bad/c.jpg"), "GIF89a.....", 11);
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_CALIB, "bad/c.jpg: not a PNG, JPEG or BMP",
                   "47 49 46 38"));
  unlink(tmp("bad/c.jpg"));
  size_t n;
  unsigned char *b = read_all(DATA "mixed/b.JPG", &n);
  write_file(tmp("bad/d.jpg"), b, n - 40);
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_CALIB, "bad/d.jpg: cannot decode the JPEG", NULL));
  free(b);
  unlink(tmp("bad/d.jpg"));
  b = read_all(DATA "bmp/a_rgb24.bmp", &n);
  b[28] = 16;
  write_file(tmp("bad/e.bmp"), b, n);
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_CALIB,
                   "bad/e.bmp: 16 bits per pixel (byte 28) is not supported", NULL));
  b[28] = 24;
  b[10] = 200; /* pixel offset past the end */
  write_file(tmp("bad/e.bmp"), b, n);
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_CALIB, "need 24 bytes from byte 200", NULL));
  b[10] = 20; /* inside the headers */
  write_file(tmp("bad/e.bmp"), b, n);
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_CALIB, "pixel data offset 20 at byte 10",
                   "lies inside the headers"));
  free(b);
  unlink(tmp("bad/e.bmp"));
  b = read_all(DATA "bmp/d_pal8.bmp", &n);
  b[n - 2] = 200; /* a colour index past the palette (n - 1 is padding) */
  write_file(tmp("bad/f.bmp"), b, n);
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_CALIB, "uses colour 200 but the palette has",
                   NULL));
  free(b);
  unlink(tmp("bad/f.bmp"));
  CHECK(run(&o, &rgb, 1, &set) == O2L_OK && set.nsamples == 1);

  /* Model shapes an image folder cannot feed. */
  CalibInput two[2] = {rgb, rgb};
  CHECK(expect_err(&o, two, 2, O2L_ERR_CALIB, "feeds a single image input", NULL));
  CalibInput c2 = {"img", 4, {1, 2, 2, 2}};
  CHECK(expect_err(&o, &c2, 1, O2L_ERR_CALIB, "C = 1 or 3", "[1x2x2x2]"));
  CalibInput r3 = {"img", 3, {1, 2, 2}};
  CHECK(expect_err(&o, &r3, 1, O2L_ERR_CALIB, "[1,C,H,W]", NULL));

  /* A single image is not a folder. */
  o = opts(DATA "mixed/a.png");
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_CALIB, "takes a folder of images", NULL));
}

static void one_image_dir(const char *src, const char *name) {
  mkdir(tmp("one"), 0700);
  char sub[64];
  snprintf(sub, sizeof sub, "one/%s", name);
  CalibInput rgb = {"img", 4, {1, 3, 2, 2}};
  size_t n;
  unsigned char *b = read_all(src, &n);
  int bad = 0;
  for (size_t len = 0; len < n; len++) {
    write_file(tmp(sub), b, len);
    o2l_options o = opts(tmp("one"));
    CalibSet set;
    Status st = run(&o, &rgb, 1, &set);
    if ((st != O2L_ERR_CALIB || !strstr(CX.msg, name)) && bad++ < 3)
      fprintf(stderr, "  %s cut to %zu bytes: %s: %s\n", name, len,
              o2l_status_str(st), st ? CX.msg : "");
  }
  CHECK(bad == 0);
  unlink(tmp(sub));
  free(b);
}

static void test_image_hostile(void) {
  one_image_dir(DATA "bmp/a_rgb24.bmp", "t.bmp");
  one_image_dir(DATA "bmp/c_rgb32_bitfields.bmp", "t5.bmp");
  one_image_dir(DATA "bmp/d_pal8.bmp", "t8.bmp");
  one_image_dir(DATA "png/a_rgb.png", "t.png");
  one_image_dir(DATA "mixed/b.JPG", "t.jpg");
  CalibInput rgb = {"img", 4, {1, 3, 2, 2}};
  flip_all(DATA "bmp/c_rgb32_bitfields.bmp", "f.bmp", &rgb, 1, true);
  flip_all(DATA "bmp/d_pal8.bmp", "f8.bmp", &rgb, 1, true);
  flip_all(DATA "png/c_pal.png", "f.png", &rgb, 1, true);
  flip_all(DATA "mixed/b.JPG", "f.jpg", &rgb, 1, true);

  /* A header asking for a huge image is refused before decoding. */
  size_t n;
  unsigned char *b = read_all(DATA "bmp/a_rgb24.bmp", &n);
  b[18] = 0xff, b[19] = 0xff, b[20] = 0xff, b[21] = 0x00, b[23] = 1;
  mkdir(tmp("huge"), 0700);
  write_file(tmp("huge/h.bmp"), b, n);
  o2l_options o = opts(tmp("huge"));
  CHECK(expect_err(&o, &rgb, 1, O2L_ERR_CALIB, "a 16777215x258 image is refused",
                   NULL));
  free(b);
}

/* ---- random, dispatch, faults ----------------------------------------- */

static void test_random(void) {
  CalibInput in[2] = {{"x", 4, {1, 3, 8, 8}}, {"y", 2, {1, 5}}};
  CalibSet s1, s2;
  o2l_options o = opts("random");
  CHECK(run(&o, in, 2, &s1) == O2L_OK && s1.nsamples == 100);
  CHECK(strstr(notices, "calibrating on random data: the int8 model's "
                        "accuracy on real inputs is unknown"));
  size_t n0 = 100 * 192, n1 = 100 * 5;
  float *copy0 = malloc(n0 * sizeof(float)), *copy1 = malloc(n1 * sizeof(float));
  memcpy(copy0, s1.data[0], n0 * sizeof(float));
  memcpy(copy1, s1.data[1], n1 * sizeof(float));
  double sum = 0, sq = 0;
  for (size_t i = 0; i < n0; i++)
    sum += copy0[i], sq += (double)copy0[i] * copy0[i];
  double mean = sum / (double)n0, var = sq / (double)n0 - mean * mean;
  CHECK(fabs(mean) < 0.03 && fabs(var - 1) < 0.03);
  CHECK(run(&o, in, 2, &s2) == O2L_OK);
  CHECK(!memcmp(copy0, s2.data[0], n0 * sizeof(float)));
  CHECK(!memcmp(copy1, s2.data[1], n1 * sizeof(float)));
  o.calib_samples = 7;
  CHECK(run(&o, in, 2, &s2) == O2L_OK && s2.nsamples == 7);
  CHECK(!memcmp(copy0, s2.data[0], 7 * 192 * sizeof(float)));
  free(copy0);
  free(copy1);
}

static void test_dispatch(void) {
  CalibSet set;
  o2l_options o = opts(NULL);
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_USAGE, "needs calibration data", NULL));
  o = opts(tmp("missing.npy"));
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB, "missing.npy: cannot open",
                   "No such file"));
  /* No extension: recognised by its magic. */
  copy_prefix(DATA "npy_f4_v1.npy", tmp("calibdata"), 1 << 20);
  o = opts(tmp("calibdata"));
  CHECK(run(&o, &IN_1122, 1, &set) == O2L_OK && set.nsamples == 3);
  copy_prefix(DATA "npz_stored.npz", tmp("calibzip"), 1 << 20);
  o = opts(tmp("calibzip"));
  CHECK(run(&o, IN_AB, 2, &set) == O2L_OK && set.nsamples == 4);
  write_file(tmp("calib.txt"), "hello", 5);
  o = opts(tmp("calib.txt"));
  CHECK(expect_err(&o, &IN_1122, 1, O2L_ERR_CALIB, "not a .npy or .npz file", NULL));
  /* Image options with array data are reported as ignored. */
  o = opts(DATA "npy_f4_v1.npy");
  o.n_mean = 1;
  CHECK(run(&o, &IN_1122, 1, &set) == O2L_OK);
  CHECK(strstr(notices, "apply to image folders only; ignored"));
  CHECK(expect_err(&o, &IN_1122, 0, O2L_ERR_INVALID, "no inputs", NULL));
}

/* The nth allocation fails: a clean NOMEM (or success), never a crash. */
static void test_faults(void) {
  static const struct {
    const char *path;
    const CalibInput *in;
    int nin;
  } cases[] = {{DATA "npz_deflated.npz", IN_AB, 2},
               {DATA "mixed", &IN_1122, 1},
               {DATA "npy_i2_v1.npy", &IN_1122, 1}};
  for (size_t c = 0; c < O2L_ARRAY_LEN(cases); c++) {
    int ok_after = 0, nomem = 0;
    for (long nth = 1; nth < 64; nth++) {
      o2l_options o = opts(cases[c].path);
      CalibSet set;
      if (a_live)
        arena_free(&A);
      arena_init(&A);
      a_live = true;
      ctx_init(&CX, &A, &o, NULL);
      fault_fail_nth(nth);
      Status st = calib_load(&CX, &o, cases[c].in, cases[c].nin, &set);
      fault_fail_nth(0);
      CHECK(st == O2L_OK || st == O2L_ERR_NOMEM);
      nomem += st == O2L_ERR_NOMEM;
      if (st == O2L_OK && ++ok_after > 3)
        break;
    }
    CHECK(nomem > 0);
    if (verbose)
      printf("  %s: %d allocation failures reported as out of memory\n",
             cases[c].path, nomem);
  }
}

int main(void) {
  verbose = getenv("O2L_VERBOSE") != NULL;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/o2l_calib_XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  test_npy_dtypes();
  test_npy_counts();
  test_npy_shapes();
  test_npy_header_errors();
  test_npy_nonfinite();
  test_npy_truncation();
  test_digits();
  test_npz();
  test_npz_damage();
  test_image_formats();
  test_image_mixed();
  test_image_resize();
  test_image_errors();
  test_image_hostile();
  test_random();
  test_dispatch();
  test_faults();
  if (a_live)
    arena_free(&A);
  rm_tree(tmpdir);
  for (int i = 0; i < n_tmp_names; i++)
    free(tmp_names[i]);
  return check_done("test_calib_data");
}
