/* test_ref.c - the float reference kernels (src/ref/) against naive loops
 * written independently here: convolutions over paddings, strides,
 * dilations, groups, multipliers, biases and fused activations (each ISA
 * variant and the generic loops), pools, broadcasting binary ops, unary
 * ops, reductions, softmax, and the data-movement ops; resize and
 * MIRROR_PAD against hand-checked values; then the runner itself (folding
 * DEQUANTIZE, buffer reuse, the observer, errors). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ir.h"
#include "ref/ref.h"
#include "ref/ref_impl.h"

/* ---- graph building ------------------------------------------------------ */

typedef struct T {
  Arena a;
  Ctx cx;
  Graph *g;
  int nin;
  Value *ins[8];
  float *data[8]; /* random input data, by input */
  RefRunner *r;
} T;

static unsigned rng = 1;
static float frand(void) {
  rng = rng * 1103515245u + 12345u;
  return (float)((rng >> 9) & 0xffff) / 32768.0f - 1.0f;
}
static int irand(int n) {
  rng = rng * 1103515245u + 12345u;
  return (int)((rng >> 10) % (unsigned)n);
}

static void t_init(T *t) {
  memset(t, 0, sizeof *t);
  arena_init(&t->a);
  ctx_init(&t->cx, &t->a, NULL, NULL);
  t->g = graph_new(&t->cx, GRAPH_TFL);
}

static void t_free(T *t) {
  ref_free(t->r);
  graph_release(t->g);
  arena_free(&t->a);
  for (int i = 0; i < t->nin; i++)
    free(t->data[i]);
}

static int64_t numel(int rank, const int64_t *d) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= d[i];
  return n;
}

/* A float graph input filled with random values. */
static Value *t_input(T *t, int rank, const int64_t *d) {
  char name[16];
  snprintf(name, sizeof name, "in%d", t->nin);
  Value *v = graph_add_value(&t->cx, t->g, arena_strdup(&t->a, name), DT_F32,
                             rank, d);
  int64_t n = numel(rank, d);
  t->data[t->nin] = malloc(sizeof(float) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++)
    t->data[t->nin][i] = frand();
  t->ins[t->nin++] = v;
  return v;
}

/* A constant, stored one byte off alignment (kernels must not assume). */
static Value *t_const(T *t, DType dt, int rank, const int64_t *d,
                      const void *data) {
  size_t nb = (size_t)numel(rank, d) * dtype_size(dt);
  unsigned char *p = arena_alloc(&t->a, nb + 2, 16);
  memcpy(p + 1, data, nb);
  return graph_add_const(&t->cx, t->g, "c", dt, rank, d, p + 1, nb);
}

static Value *t_i32(T *t, int n, const int32_t *v) {
  int64_t d[1] = {n};
  return t_const(t, DT_I32, 1, d, v);
}

static Value *t_rand_const(T *t, int rank, const int64_t *d) {
  int64_t n = numel(rank, d);
  float *w = malloc(sizeof(float) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++)
    w[i] = frand();
  Value *v = t_const(t, DT_F32, rank, d, w);
  free(w);
  return v;
}

static Value *t_val(T *t, DType dt, int rank, const int64_t *d) {
  return graph_add_value(&t->cx, t->g, "v", dt, rank, d);
}

static Node *t_node(T *t, int op, int nin, Value *const *in, int nout,
                    Value *const *out) {
  return graph_add_node(&t->cx, t->g, op, "n", nin, in, nout, out);
}

/* Prepares and runs with the random inputs; outputs are the listed values. */
static Status t_run(T *t, int nout, Value *const *outs) {
  graph_set_inputs(&t->cx, t->g, t->nin, t->ins);
  graph_set_outputs(&t->cx, t->g, nout, outs);
  Status st = ref_prepare(&t->cx, t->g, &t->r);
  if (st != O2L_OK)
    return st;
  return ref_run(t->r, (const float *const *)t->data);
}

static bool close_all(const float *got, const float *want, int64_t n,
                      float tol) {
  for (int64_t i = 0; i < n; i++) {
    if (got[i] == want[i] || (isnan(got[i]) && isnan(want[i])))
      continue;
    float d = fabsf(got[i] - want[i]);
    if (!(d <= tol * (1.0f + fabsf(want[i])))) {
      fprintf(stderr, "  mismatch at %lld: got %g want %g\n", (long long)i,
              got[i], want[i]);
      return false;
    }
  }
  return true;
}

static float act_f(int act, float v) {
  switch (act) {
  case TFL_ACT_RELU: return v < 0 ? 0 : v;
  case TFL_ACT_RELU6: return v < 0 ? 0 : v > 6 ? 6 : v;
  case TFL_ACT_RELU_N1_TO_1: return v < -1 ? -1 : v > 1 ? 1 : v;
  default: return v; /* NONE; TANH is ignored, as by LiteRT */
  }
}

/* TFLite padding, written out again: SAME out = ceil(in / s), pad before =
 * max(total, 0) / 2. */
static int out_dim(int pad, int in, int k, int s, int d) {
  int eff = (k - 1) * d + 1;
  return pad == TFL_PAD_SAME ? (in + s - 1) / s : (in - eff) / s + 1;
}
static int pad_dim(int in, int k, int s, int d, int out) {
  int total = (out - 1) * s + (k - 1) * d + 1 - in;
  return total > 0 ? total / 2 : 0;
}

/* ---- convolutions --------------------------------------------------------- */

typedef struct ConvCase {
  int n, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pad, act, groups, mult;
  bool bias, depthwise;
} ConvCase;

static void conv_naive(const ConvCase *c, const float *x, const float *w,
                       const float *b, float *y, int oh, int ow) {
  int pt = pad_dim(c->h, c->kh, c->sh, c->dh, oh);
  int pl = pad_dim(c->w, c->kw, c->sw, c->dw, ow);
  int cig = c->depthwise ? 1 : c->cin / c->groups;
  int cog = c->depthwise ? c->mult : c->cout / c->groups;
  for (int n = 0; n < c->n; n++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        for (int o = 0; o < c->cout; o++) {
          int g = o / cog;
          double acc = b ? b[o] : 0;
          for (int ky = 0; ky < c->kh; ky++)
            for (int kx = 0; kx < c->kw; kx++) {
              int iy = oy * c->sh - pt + ky * c->dh;
              int ix = ox * c->sw - pl + kx * c->dw;
              if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w)
                continue;
              for (int i = 0; i < cig; i++) {
                int ci = g * cig + i;
                float xv = x[((n * c->h + iy) * c->w + ix) * c->cin + ci];
                float wv = c->depthwise
                               ? w[(ky * c->kw + kx) * c->cout + o]
                               : w[((o * c->kh + ky) * c->kw + kx) * cig + i];
                acc += (double)xv * wv;
              }
            }
          y[((n * oh + oy) * ow + ox) * c->cout + o] = act_f(c->act, (float)acc);
        }
}

static void check_conv(const ConvCase *c) {
  T t;
  t_init(&t);
  int oh = out_dim(c->pad, c->h, c->kh, c->sh, c->dh);
  int ow = out_dim(c->pad, c->w, c->kw, c->sw, c->dw);
  int64_t xd[4] = {c->n, c->h, c->w, c->cin};
  int64_t wd[4] = {c->depthwise ? 1 : c->cout, c->kh, c->kw,
                   c->depthwise ? c->cout : c->cin / c->groups};
  int64_t bd[1] = {c->cout}, yd[4] = {c->n, oh, ow, c->cout};
  Value *x = t_input(&t, 4, xd);
  Value *w = t_rand_const(&t, 4, wd);
  Value *b = c->bias ? t_rand_const(&t, 1, bd) : NULL;
  Value *y = t_val(&t, DT_F32, 4, yd);
  Value *in[3] = {x, w, b};
  Node *n = t_node(&t, c->depthwise ? TFL_DEPTHWISE_CONV_2D : TFL_CONV_2D,
                   c->bias ? 3 : 2, in, 1, &y);
  n->opt.padding = c->pad;
  n->opt.stride_h = c->sh;
  n->opt.stride_w = c->sw;
  n->opt.dilation_h = c->dh;
  n->opt.dilation_w = c->dw;
  n->opt.act = c->act;
  n->opt.depth_multiplier = c->depthwise ? c->mult : 0;
  Status st = t_run(&t, 1, &y);
  if (!c->bias) { /* LiteRT refuses CONV_2D / DEPTHWISE_CONV_2D without bias */
    CHECK(st == O2L_ERR_INVALID && strstr(t.cx.msg, "bias") != NULL);
    t_free(&t);
    return;
  }
  CHECK(st == O2L_OK);
  if (st != O2L_OK) {
    fprintf(stderr, "  %s\n", t.cx.msg);
  } else {
    int64_t ny = numel(4, yd);
    float *want = malloc(sizeof(float) * (size_t)ny);
    conv_naive(c, t.data[0], ref_value_data(t.r, w),
               b ? (const float *)ref_value_data(t.r, b) : NULL, want, oh, ow);
    bool ok = close_all(ref_output(t.r, 0), want, ny, 2e-5f);
    CHECK(ok);
    if (!ok)
      fprintf(stderr,
              "  %s n%d %dx%dx%d->%d k%dx%d s%dx%d d%dx%d pad%d act%d g%d m%d "
              "bias%d isa %s\n",
              c->depthwise ? "dw" : "conv", c->n, c->h, c->w, c->cin, c->cout,
              c->kh, c->kw, c->sh, c->sw, c->dh, c->dw, c->pad, c->act,
              c->groups, c->mult, c->bias, ref_isa_name());
    free(want);
  }
  t_free(&t);
}

static void test_conv(void) {
  static const int ks[][2] = {{1, 1}, {3, 3}, {2, 3}, {5, 5}};
  for (int it = 0; it < 120; it++) {
    ConvCase c = {0};
    c.n = 1 + irand(2);
    c.h = 1 + irand(9);
    c.w = 1 + irand(9);
    c.groups = irand(3) == 0 ? 1 + irand(3) : 1;
    c.cin = c.groups * (1 + irand(6));
    c.cout = c.groups * (1 + irand(it % 3 == 0 ? 24 : 5));
    int k = irand(4);
    c.kh = ks[k][0];
    c.kw = ks[k][1];
    c.sh = 1 + irand(2);
    c.sw = 1 + irand(3);
    c.dh = 1 + irand(2);
    c.dw = 1 + irand(2);
    c.pad = irand(2);
    c.act = irand(5);
    c.bias = irand(8) != 0;
    if (c.pad == TFL_PAD_VALID &&
        (c.h < (c.kh - 1) * c.dh + 1 || c.w < (c.kw - 1) * c.dw + 1))
      c.pad = TFL_PAD_SAME;
    check_conv(&c);
  }
  /* GEMM edges: K past two K blocks (256), N past several panels, M past
   * several row blocks and not a multiple of any MR; the direct 1x1 path. */
  ConvCase big = {1, 13, 11, 600, 70, 1, 1, 1, 1, 1, 1, TFL_PAD_SAME,
                  TFL_ACT_RELU6, 1, 0, true, false};
  check_conv(&big);
  ConvCase rows = {1, 61, 47, 3, 33, 3, 3, 1, 1, 1, 1, TFL_PAD_SAME,
                   TFL_ACT_NONE, 1, 0, true, false};
  check_conv(&rows);
  ConvCase grouped = {2, 6, 5, 64, 96, 3, 3, 2, 1, 1, 1, TFL_PAD_SAME,
                      TFL_ACT_RELU, 32, 0, true, false};
  check_conv(&grouped);
  /* 1 to 4 output channels take the dot-product path. */
  for (int co = 1; co <= 5; co++) {
    ConvCase narrow = {1, 9, 8, 16, co, 3, 3, 1, 1, 1, 2, TFL_PAD_SAME,
                       co == 1 ? TFL_ACT_NONE : TFL_ACT_RELU, 1, 0, true,
                       false};
    check_conv(&narrow);
  }
  /* Leftover rows with K past one block and a partial last panel. */
  ConvCase edge = {1, 7, 7, 520, 40, 1, 1, 1, 1, 1, 1, TFL_PAD_VALID,
                   TFL_ACT_RELU6, 1, 0, true, false};
  check_conv(&edge);
}

static void test_dwconv(void) {
  static const int cs[] = {1, 3, 8, 16, 24, 40, 64, 72, 100, 130, 200};
  for (int it = 0; it < 100; it++) {
    ConvCase c = {0};
    c.depthwise = true;
    c.n = 1 + irand(2);
    c.h = 1 + irand(8);
    c.w = 1 + irand(8);
    c.cin = cs[irand((int)O2L_ARRAY_LEN(cs))];
    c.mult = irand(4) == 0 ? 2 + irand(2) : 1;
    if (c.mult > 1 && c.cin > 24)
      c.cin = 5;
    c.cout = c.cin * c.mult;
    c.kh = c.kw = irand(3) == 0 ? 5 : 3;
    if (irand(4) == 0)
      c.kw = 1;
    c.sh = 1 + irand(2);
    c.sw = 1 + irand(2);
    c.dh = 1 + irand(2);
    c.dw = 1 + irand(2);
    c.pad = irand(2);
    c.act = irand(5);
    c.bias = irand(8) != 0;
    c.groups = c.cin;
    if (c.pad == TFL_PAD_VALID &&
        (c.h < (c.kh - 1) * c.dh + 1 || c.w < (c.kw - 1) * c.dw + 1))
      c.pad = TFL_PAD_SAME;
    check_conv(&c);
  }
}

/* TRANSPOSE_CONV: out[y*s - pad + ky][x*s - pad + kx][o] +=
 * in[y][x][i] * w[o][ky][kx][i], padding as for a conv from the output. */
static void check_tconv(int n, int h, int w, int ci, int co, int k, int s,
                        int pad, int act, bool bias) {
  T t;
  t_init(&t);
  int oh = pad == TFL_PAD_SAME ? h * s : (h - 1) * s + k;
  int ow = pad == TFL_PAD_SAME ? w * s : (w - 1) * s + k;
  int64_t xd[4] = {n, h, w, ci}, wd[4] = {co, k, k, ci}, bd[1] = {co};
  int64_t yd[4] = {n, oh, ow, co};
  int32_t os[4] = {n, oh, ow, co};
  Value *shape = t_i32(&t, 4, os);
  Value *wv = t_rand_const(&t, 4, wd);
  Value *x = t_input(&t, 4, xd);
  Value *b = bias ? t_rand_const(&t, 1, bd) : NULL;
  Value *y = t_val(&t, DT_F32, 4, yd);
  Value *in[4] = {shape, wv, x, b};
  Node *nd = t_node(&t, TFL_TRANSPOSE_CONV, bias ? 4 : 3, in, 1, &y);
  nd->opt.padding = pad;
  nd->opt.stride_h = nd->opt.stride_w = s;
  nd->opt.act = act;
  Status st = t_run(&t, 1, &y);
  CHECK(st == O2L_OK);
  if (st == O2L_OK) {
    const float *W = ref_value_data(t.r, wv), *B = bias ? ref_value_data(t.r, b) : NULL;
    int64_t ny = numel(4, yd);
    double *acc = calloc((size_t)ny, sizeof(double));
    int pth = pad_dim(oh, k, s, 1, (oh + s - 1) / s);
    int ptw = pad_dim(ow, k, s, 1, (ow + s - 1) / s);
    if (pad == TFL_PAD_VALID)
      pth = ptw = 0;
    for (int b0 = 0; b0 < n; b0++)
      for (int iy = 0; iy < h; iy++)
        for (int ix = 0; ix < w; ix++)
          for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
              int oy = iy * s - pth + ky, ox = ix * s - ptw + kx;
              if (oy < 0 || oy >= oh || ox < 0 || ox >= ow)
                continue;
              for (int o = 0; o < co; o++)
                for (int i = 0; i < ci; i++)
                  acc[((b0 * oh + oy) * ow + ox) * co + o] +=
                      (double)t.data[0][((b0 * h + iy) * w + ix) * ci + i] *
                      W[((o * k + ky) * k + kx) * ci + i];
            }
    float *want = malloc(sizeof(float) * (size_t)ny);
    for (int64_t i = 0; i < ny; i++)
      want[i] = act_f(act, (float)(acc[i] + (B ? B[i % co] : 0)));
    CHECK(close_all(ref_output(t.r, 0), want, ny, 2e-5f));
    free(acc);
    free(want);
  } else {
    fprintf(stderr, "  %s\n", t.cx.msg);
  }
  t_free(&t);
}

static void test_tconv(void) {
  check_tconv(1, 3, 4, 2, 3, 3, 2, TFL_PAD_SAME, TFL_ACT_NONE, true);
  check_tconv(2, 4, 4, 5, 7, 2, 2, TFL_PAD_SAME, TFL_ACT_RELU, false);
  check_tconv(1, 3, 3, 3, 40, 3, 1, TFL_PAD_VALID, TFL_ACT_RELU6, true);
  check_tconv(1, 5, 2, 4, 4, 4, 2, TFL_PAD_VALID, TFL_ACT_NONE, true);
  check_tconv(1, 2, 3, 3, 2, 3, 3, TFL_PAD_SAME, TFL_ACT_TANH, true);
  /* An output_shape LiteRT refuses (SAME, ceil(8 / 2) != 5). */
  T t;
  t_init(&t);
  int64_t xd[4] = {1, 5, 5, 3}, wd[4] = {4, 3, 3, 3}, yd[4] = {1, 8, 8, 4};
  int32_t os[4] = {1, 8, 8, 4};
  Value *in[3] = {t_i32(&t, 4, os), t_rand_const(&t, 4, wd), t_input(&t, 4, xd)};
  Value *y = t_val(&t, DT_F32, 4, yd);
  Node *n = t_node(&t, TFL_TRANSPOSE_CONV, 3, in, 1, &y);
  n->opt.stride_h = n->opt.stride_w = 2;
  CHECK(t_run(&t, 1, &y) == O2L_ERR_INVALID);
  t_free(&t);
}

/* CONV_3D (filter DHWIO) and CONV_3D_TRANSPOSE (filter [kd,kh,kw,M,C]). */
static void check_conv3d(bool transpose, int n, const int *in, int c, int m,
                         const int *k, const int *st, const int *dl, int pad,
                         int act, bool bias) {
  T t;
  t_init(&t);
  int out[3], pb[3];
  for (int i = 0; i < 3; i++) {
    if (!transpose) {
      out[i] = out_dim(pad, in[i], k[i], st[i], dl[i]);
      pb[i] = pad_dim(in[i], k[i], st[i], dl[i], out[i]);
    } else {
      out[i] = pad == TFL_PAD_SAME ? in[i] * st[i] : (in[i] - 1) * st[i] + k[i];
      pb[i] = pad == TFL_PAD_SAME
                  ? pad_dim(out[i], k[i], st[i], 1, (out[i] + st[i] - 1) / st[i])
                  : 0;
    }
  }
  int64_t xd[5] = {n, in[0], in[1], in[2], c};
  int64_t wd[5] = {k[0], k[1], k[2], transpose ? m : c, transpose ? c : m};
  int64_t bd[1] = {m}, yd[5] = {n, out[0], out[1], out[2], m};
  int32_t os[5] = {n, out[0], out[1], out[2], m};
  Value *x = t_input(&t, 5, xd);
  Value *w = t_rand_const(&t, 5, wd);
  Value *b = bias ? t_rand_const(&t, 1, bd) : NULL;
  Value *y = t_val(&t, DT_F32, 5, yd);
  Node *nd;
  if (transpose) {
    Value *ins[4] = {t_const(&t, DT_I32, 1, (int64_t[1]){5}, os), w, x, b};
    nd = t_node(&t, TFL_CONV_3D_TRANSPOSE, bias ? 4 : 3, ins, 1, &y);
  } else {
    Value *ins[3] = {x, w, b};
    nd = t_node(&t, TFL_CONV_3D, bias ? 3 : 2, ins, 1, &y);
  }
  nd->opt.padding = pad;
  nd->opt.stride_d = st[0];
  nd->opt.stride_h = st[1];
  nd->opt.stride_w = st[2];
  nd->opt.dilation_d = dl[0];
  nd->opt.dilation_h = dl[1];
  nd->opt.dilation_w = dl[2];
  nd->opt.act = act;
  Status stt = t_run(&t, 1, &y);
  CHECK(stt == O2L_OK);
  if (stt != O2L_OK) {
    fprintf(stderr, "  %s\n", t.cx.msg);
    t_free(&t);
    return;
  }
  const float *W = ref_value_data(t.r, w), *B = bias ? ref_value_data(t.r, b) : NULL;
  int64_t ny = numel(5, yd);
  double *acc = calloc((size_t)ny, sizeof(double));
  /* One loop nest for both: (input voxel, tap) pairs meet output voxels. */
  int lim[3];
  for (int i = 0; i < 3; i++)
    lim[i] = transpose ? in[i] : out[i];
  for (int b0 = 0; b0 < n; b0++)
    for (int p0 = 0; p0 < lim[0]; p0++)
      for (int p1 = 0; p1 < lim[1]; p1++)
        for (int p2 = 0; p2 < lim[2]; p2++)
          for (int k0 = 0; k0 < k[0]; k0++)
            for (int k1 = 0; k1 < k[1]; k1++)
              for (int k2 = 0; k2 < k[2]; k2++) {
                int q[3] = {p0 * st[0] - pb[0] + k0 * dl[0],
                            p1 * st[1] - pb[1] + k1 * dl[1],
                            p2 * st[2] - pb[2] + k2 * dl[2]};
                int lq[3] = {transpose ? out[0] : in[0],
                             transpose ? out[1] : in[1],
                             transpose ? out[2] : in[2]};
                if (q[0] < 0 || q[0] >= lq[0] || q[1] < 0 || q[1] >= lq[1] ||
                    q[2] < 0 || q[2] >= lq[2])
                  continue;
                int64_t tap = (k0 * k[1] + k1) * k[2] + k2;
                int64_t pv = ((int64_t)(b0 * lim[0] + p0) * lim[1] + p1) * lim[2] + p2;
                int64_t qv = ((int64_t)(b0 * lq[0] + q[0]) * lq[1] + q[1]) * lq[2] + q[2];
                for (int o = 0; o < m; o++)
                  for (int i = 0; i < c; i++) {
                    if (transpose)
                      acc[qv * m + o] += (double)t.data[0][pv * c + i] *
                                         W[(tap * m + o) * c + i];
                    else
                      acc[pv * m + o] += (double)t.data[0][qv * c + i] *
                                         W[(tap * c + i) * m + o];
                  }
              }
  float *want = malloc(sizeof(float) * (size_t)ny);
  for (int64_t i = 0; i < ny; i++)
    want[i] = act_f(act, (float)(acc[i] + (B ? B[i % m] : 0)));
  bool ok = close_all(ref_output(t.r, 0), want, ny, 2e-5f);
  CHECK(ok);
  if (!ok)
    fprintf(stderr, "  conv3d transpose=%d\n", transpose);
  free(acc);
  free(want);
  t_free(&t);
}

static void test_conv3d(void) {
  for (int it = 0; it < 24; it++) {
    bool tr = it % 3 == 2;
    int in[3], k[3], st[3], dl[3];
    for (int i = 0; i < 3; i++) {
      k[i] = 1 + irand(3);
      st[i] = 1 + irand(2);
      dl[i] = tr ? 1 : 1 + irand(2);
      in[i] = (k[i] - 1) * dl[i] + 1 + irand(4);
    }
    check_conv3d(tr, 1 + irand(2), in, 1 + irand(5), 1 + irand(it % 4 ? 6 : 40),
                 k, st, dl, irand(2), irand(4), irand(3) != 0);
  }
}

static void check_fc(int rank, const int64_t *xd, int co, bool bias,
                     bool keep, bool dyn_w, int act) {
  T t;
  t_init(&t);
  int ci = (int)xd[rank - 1];
  int64_t m = numel(rank, xd) / ci;
  int64_t wd[2] = {co, ci}, bd[1] = {co};
  Value *x = t_input(&t, rank, xd);
  Value *w = dyn_w ? t_input(&t, 2, wd) : t_rand_const(&t, 2, wd);
  Value *b = bias ? t_rand_const(&t, 1, bd) : NULL;
  int64_t yd[O2L_MAX_RANK];
  int yr = keep ? rank : 2;
  if (keep) {
    memcpy(yd, xd, sizeof(int64_t) * (size_t)rank);
    yd[rank - 1] = co;
  } else {
    yd[0] = m;
    yd[1] = co;
  }
  Value *y = t_val(&t, DT_F32, yr, yd);
  Value *in[3] = {x, w, b};
  Node *n = t_node(&t, TFL_FULLY_CONNECTED, bias ? 3 : 2, in, 1, &y);
  n->opt.keep_num_dims = keep;
  n->opt.act = act;
  Status st = t_run(&t, 1, &y);
  CHECK(st == O2L_OK);
  if (st == O2L_OK) {
    const float *W = dyn_w ? t.data[1] : ref_value_data(t.r, w);
    const float *B = bias ? ref_value_data(t.r, b) : NULL;
    float *want = malloc(sizeof(float) * (size_t)(m * co));
    for (int64_t i = 0; i < m; i++)
      for (int o = 0; o < co; o++) {
        double acc = B ? B[o] : 0;
        for (int k = 0; k < ci; k++)
          acc += (double)t.data[0][i * ci + k] * W[o * ci + k];
        want[i * co + o] = act_f(act, (float)acc);
      }
    CHECK(close_all(ref_output(t.r, 0), want, m * co, 2e-5f));
    free(want);
  } else {
    fprintf(stderr, "  %s\n", t.cx.msg);
  }
  t_free(&t);
}

static void test_fc(void) {
  int64_t a[2] = {1, 37}, b[3] = {2, 5, 20}, c[2] = {9, 700};
  check_fc(2, a, 10, true, false, false, TFL_ACT_NONE);
  check_fc(2, a, 1000, false, false, false, TFL_ACT_RELU);
  check_fc(3, b, 33, true, true, false, TFL_ACT_RELU6);
  check_fc(3, b, 7, true, false, false, TFL_ACT_NONE);
  check_fc(2, c, 65, true, false, false, TFL_ACT_RELU_N1_TO_1);
  check_fc(3, b, 12, true, true, true, TFL_ACT_RELU); /* runtime weights */
  check_fc(3, b, 12, false, false, true, TFL_ACT_NONE);
  check_fc(2, c, 1, true, false, false, TFL_ACT_RELU);
  check_fc(3, b, 3, false, true, false, TFL_ACT_NONE);
}

static void check_bmm(int xr, const int64_t *xd, int yr, const int64_t *yd,
                      bool ax, bool ay, bool yconst) {
  T t;
  t_init(&t);
  Value *x = t_input(&t, xr, xd);
  Value *y = yconst ? t_rand_const(&t, yr, yd) : t_input(&t, yr, yd);
  int64_t M = ax ? xd[xr - 1] : xd[xr - 2], K = ax ? xd[xr - 2] : xd[xr - 1];
  int64_t N = ay ? yd[yr - 2] : yd[yr - 1];
  int br;
  int64_t od[O2L_MAX_RANK];
  ref_bcast_shape(xr - 2, xd, yr - 2, yd, &br, od);
  od[br] = M;
  od[br + 1] = N;
  Value *z = t_val(&t, DT_F32, br + 2, od);
  Value *in[2] = {x, y};
  Node *n = t_node(&t, TFL_BATCH_MATMUL, 2, in, 1, &z);
  n->opt.adj_x = ax;
  n->opt.adj_y = ay;
  Status st = t_run(&t, 1, &z);
  CHECK(st == O2L_OK);
  if (st != O2L_OK) {
    fprintf(stderr, "  %s\n", t.cx.msg);
    t_free(&t);
    return;
  }
  const float *X = t.data[0], *Y = yconst ? ref_value_data(t.r, y) : t.data[1];
  int64_t xs[O2L_MAX_RANK], ys[O2L_MAX_RANK];
  ref_bcast_strides(br, xr - 2, xd, xs);
  ref_bcast_strides(br, yr - 2, yd, ys);
  int64_t nb = numel(br, od), total = nb * M * N;
  float *want = malloc(sizeof(float) * (size_t)total);
  for (int64_t b = 0; b < nb; b++) {
    int64_t rem = b, bx = 0, by = 0;
    for (int i = br - 1; i >= 0; i--) {
      int64_t ix = rem % od[i];
      rem /= od[i];
      bx += ix * xs[i];
      by += ix * ys[i];
    }
    for (int64_t m = 0; m < M; m++)
      for (int64_t j = 0; j < N; j++) {
        double acc = 0;
        for (int64_t k = 0; k < K; k++) {
          float xv = X[bx * M * K + (ax ? k * M + m : m * K + k)];
          float yv = Y[by * K * N + (ay ? j * K + k : k * N + j)];
          acc += (double)xv * yv;
        }
        want[(b * M + m) * N + j] = (float)acc;
      }
  }
  CHECK(close_all(ref_output(t.r, 0), want, total, 2e-5f));
  free(want);
  t_free(&t);
}

static void test_bmm(void) {
  int64_t x1[3] = {2, 3, 5}, y1[3] = {2, 5, 4};
  check_bmm(3, x1, 3, y1, false, false, false);
  check_bmm(3, x1, 3, y1, false, false, true);
  int64_t x2[4] = {2, 1, 5, 3}, y2[3] = {3, 34, 5};
  check_bmm(4, x2, 3, y2, true, true, false);
  check_bmm(4, x2, 3, y2, true, true, true);
  int64_t x3[2] = {7, 9}, y3[2] = {9, 40};
  check_bmm(2, x3, 2, y3, false, false, true);
}

static void test_conv_isas(void) {
  /* Rerun a few conv/dw/FC cases on each lesser ISA this CPU has (the
   * tests above used the best one). */
  for (int isa = REF_ISA_GENERIC; isa < (int)ref_isa(); isa++) {
    ref_limit_isa(isa);
    ConvCase c1 = {1, 7, 6, 8, 40, 3, 3, 1, 2, 1, 1, TFL_PAD_SAME,
                   TFL_ACT_RELU6, 1, 0, true, false};
    check_conv(&c1);
    ConvCase c2 = {1, 6, 7, 100, 100, 3, 3, 2, 1, 1, 1, TFL_PAD_SAME,
                   TFL_ACT_RELU, 100, 1, true, true};
    check_conv(&c2);
    ConvCase c3 = {1, 9, 5, 7, 70, 1, 1, 1, 1, 1, 1, TFL_PAD_SAME,
                   TFL_ACT_NONE, 1, 0, true, false};
    check_conv(&c3);
    check_fc(2, (int64_t[2]){3, 50}, 45, true, false, false, TFL_ACT_NONE);
    ref_limit_isa(-1);
  }
}

/* ---- pools ------------------------------------------------------------------ */

static void check_pool(int op, int n, int h, int w, int c, int kh, int kw,
                       int sh, int sw, int pad, int act) {
  T t;
  t_init(&t);
  int oh = out_dim(pad, h, kh, sh, 1), ow = out_dim(pad, w, kw, sw, 1);
  int64_t xd[4] = {n, h, w, c}, yd[4] = {n, oh, ow, c};
  Value *x = t_input(&t, 4, xd);
  Value *y = t_val(&t, DT_F32, 4, yd);
  Node *nd = t_node(&t, op, 1, &x, 1, &y);
  nd->opt.filter_h = kh;
  nd->opt.filter_w = kw;
  nd->opt.stride_h = sh;
  nd->opt.stride_w = sw;
  nd->opt.padding = pad;
  nd->opt.act = act;
  Status st = t_run(&t, 1, &y);
  CHECK(st == O2L_OK);
  if (st == O2L_OK) {
    int pt = pad_dim(h, kh, sh, 1, oh), pl = pad_dim(w, kw, sw, 1, ow);
    int64_t ny = numel(4, yd);
    float *want = malloc(sizeof(float) * (size_t)ny);
    for (int b = 0; b < n; b++)
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
          for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            float mx = -INFINITY;
            int cnt = 0;
            for (int ky = 0; ky < kh; ky++)
              for (int kx = 0; kx < kw; kx++) {
                int iy = oy * sh - pt + ky, ix = ox * sw - pl + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                  continue; /* padded cells do not count */
                float v = t.data[0][((b * h + iy) * w + ix) * c + ch];
                sum += v;
                mx = v > mx ? v : mx;
                cnt++;
              }
            float r = op == TFL_AVERAGE_POOL_2D ? (float)(sum / cnt) : mx;
            want[((b * oh + oy) * ow + ox) * c + ch] = act_f(act, r);
          }
    CHECK(close_all(ref_output(t.r, 0), want, ny, 1e-5f));
    free(want);
  } else {
    fprintf(stderr, "  %s\n", t.cx.msg);
  }
  t_free(&t);
}

static void test_pool(void) {
  for (int it = 0; it < 40; it++) {
    int k = 1 + irand(4), kw = 1 + irand(3), s = 1 + irand(3), pad = irand(2);
    int h = k + irand(6), w = kw + irand(6);
    check_pool(irand(2) ? TFL_AVERAGE_POOL_2D : TFL_MAX_POOL_2D, 1 + irand(2), h,
               w, 1 + irand(20), k, kw, s, 1 + irand(2), pad, irand(5));
  }
  check_pool(TFL_AVERAGE_POOL_2D, 1, 7, 7, 1280, 7, 7, 1, 1, TFL_PAD_VALID,
             TFL_ACT_NONE);
}

/* ---- elementwise -------------------------------------------------------------- */

static float bin_naive(int op, float x, float y) {
  switch (op) {
  case TFL_ADD: return x + y;
  case TFL_SUB: return x - y;
  case TFL_MUL: return x * y;
  case TFL_DIV: return x / y;
  case TFL_MAXIMUM: return x > y ? x : y;
  case TFL_MINIMUM: return x < y ? x : y;
  case TFL_POW: return powf(fabsf(x), y);
  case TFL_SQUARED_DIFFERENCE: return (x - y) * (x - y);
  case TFL_FLOOR_DIV: return floorf(x / y);
  case TFL_FLOOR_MOD: {
    float m = x - floorf(x / y) * y;
    return m;
  }
  default: return 0;
  }
}

/* Element of a broadcast operand at output multi-index idx. */
static int64_t bcast_index(int R, const int64_t *idx, int r, const int64_t *d) {
  int64_t off = 0;
  for (int i = 0; i < r; i++) {
    int64_t k = d[i] == 1 ? 0 : idx[i + (R - r)];
    off = off * d[i] + k;
  }
  return off;
}

static void check_binary(int op, int ra, const int64_t *da, int rb,
                         const int64_t *db, int act, bool b_const) {
  T t;
  t_init(&t);
  Value *a = t_input(&t, ra, da);
  Value *b = b_const ? t_rand_const(&t, rb, db) : t_input(&t, rb, db);
  int R;
  int64_t od[O2L_MAX_RANK];
  ref_bcast_shape(ra, da, rb, db, &R, od);
  Value *y = t_val(&t, DT_F32, R, od);
  Value *in[2] = {a, b};
  Node *n = t_node(&t, op, 2, in, 1, &y);
  n->opt.act = act;
  if (op == TFL_POW) { /* keep the base positive */
    for (int64_t i = 0; i < numel(ra, da); i++)
      t.data[0][i] = fabsf(t.data[0][i]) + 0.1f;
  }
  Status st = t_run(&t, 1, &y);
  CHECK(st == O2L_OK);
  if (st != O2L_OK) {
    fprintf(stderr, "  %s\n", t.cx.msg);
    t_free(&t);
    return;
  }
  const float *A = t.data[0], *B = b_const ? ref_value_data(t.r, b) : t.data[1];
  int64_t n_out = numel(R, od);
  float *want = malloc(sizeof(float) * (size_t)(n_out + 1));
  int64_t idx[O2L_MAX_RANK] = {0};
  for (int64_t i = 0; i < n_out; i++) {
    float v = bin_naive(op, A[bcast_index(R, idx, ra, da)],
                        B[bcast_index(R, idx, rb, db)]);
    want[i] = act_f(act, v);
    for (int d = R - 1; d >= 0; d--) {
      if (++idx[d] < od[d])
        break;
      idx[d] = 0;
    }
  }
  bool ok = close_all(ref_output(t.r, 0), want, n_out, 1e-5f);
  CHECK(ok);
  if (!ok)
    fprintf(stderr, "  binary op %d\n", op);
  free(want);
  t_free(&t);
}

static void test_binary(void) {
  static const int ops[] = {TFL_ADD, TFL_SUB, TFL_MUL, TFL_DIV, TFL_MAXIMUM,
                            TFL_MINIMUM, TFL_POW, TFL_SQUARED_DIFFERENCE,
                            TFL_FLOOR_DIV, TFL_FLOOR_MOD};
  int64_t s4[4] = {2, 3, 4, 5}, c1[1] = {5}, n11c[4] = {2, 1, 1, 5};
  int64_t sc[1] = {1}, a3[3] = {2, 1, 3}, b3[3] = {1, 4, 1}, h1[4] = {1, 3, 1, 1};
  for (size_t i = 0; i < O2L_ARRAY_LEN(ops); i++) {
    int op = ops[i];
    int act = op == TFL_ADD || op == TFL_MUL ? TFL_ACT_RELU6 : TFL_ACT_NONE;
    check_binary(op, 4, s4, 4, s4, act, false);
    check_binary(op, 4, s4, 1, c1, TFL_ACT_NONE, true);
    check_binary(op, 4, n11c, 4, s4, act, false);
    check_binary(op, 4, s4, 0, sc, TFL_ACT_NONE, true);
    check_binary(op, 0, sc, 4, s4, TFL_ACT_NONE, false);
    check_binary(op, 3, a3, 3, b3, TFL_ACT_NONE, false);
    check_binary(op, 4, h1, 4, s4, act, false);
  }
  check_binary(TFL_SUB, 4, s4, 4, s4, TFL_ACT_RELU_N1_TO_1, false);
  check_binary(TFL_DIV, 4, s4, 4, s4, TFL_ACT_TANH, false);
}

static float un_naive(int op, float x, float alpha, bool approx) {
  switch (op) {
  case TFL_RELU: return x > 0 ? x : 0;
  case TFL_RELU6: return fminf(fmaxf(x, 0), 6);
  case TFL_RELU_N1_TO_1: return fminf(fmaxf(x, -1), 1);
  case TFL_RELU_0_TO_1: return fminf(fmaxf(x, 0), 1);
  case TFL_LEAKY_RELU: return x > 0 ? x : alpha * x;
  case TFL_LOGISTIC: return (float)(1 / (1 + exp(-(double)x)));
  case TFL_TANH: return (float)tanh(x);
  case TFL_ELU: return x < 0 ? (float)(exp(x) - 1) : x;
  case TFL_HARD_SWISH: return x * fminf(fmaxf(x + 3, 0), 6) / 6;
  case TFL_GELU:
    return approx ? (float)(0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))))
                  : (float)(0.5 * x * (1 + erf(x / sqrt(2.0))));
  case TFL_EXP: return (float)exp(x);
  case TFL_LOG: return (float)log(x);
  case TFL_SQRT: return (float)sqrt(x);
  case TFL_RSQRT: return (float)(1 / sqrt(x));
  case TFL_NEG: return -x;
  case TFL_ABS: return fabsf(x);
  case TFL_FLOOR: return floorf(x);
  case TFL_CEIL: return ceilf(x);
  case TFL_ROUND: return x; /* checked by hand below */
  case TFL_SIN: return (float)sin(x);
  case TFL_COS: return (float)cos(x);
  case TFL_SQUARE: return x * x;
  case TFL_SIGN: return x > 0 ? 1.0f : x < 0 ? -1.0f : 0.0f;
  default: return 0;
  }
}

static void test_unary(void) {
  static const int ops[] = {TFL_RELU, TFL_RELU6, TFL_RELU_N1_TO_1, TFL_RELU_0_TO_1,
                            TFL_LEAKY_RELU, TFL_LOGISTIC, TFL_TANH, TFL_ELU,
                            TFL_HARD_SWISH, TFL_GELU, TFL_EXP, TFL_LOG, TFL_SQRT,
                            TFL_RSQRT, TFL_NEG, TFL_ABS, TFL_FLOOR, TFL_CEIL,
                            TFL_SIN, TFL_COS, TFL_SQUARE, TFL_SIGN};
  for (size_t i = 0; i < O2L_ARRAY_LEN(ops); i++)
    for (int approx = 0; approx < 2; approx++) {
      int op = ops[i];
      T t;
      t_init(&t);
      int64_t d[3] = {2, 7, 9};
      Value *x = t_input(&t, 3, d);
      bool pos = op == TFL_LOG || op == TFL_SQRT || op == TFL_RSQRT;
      for (int k = 0; k < 126; k++) {
        t.data[0][k] *= 4.0f;
        if (pos)
          t.data[0][k] = fabsf(t.data[0][k]) + 0.5f;
      }
      if (!pos)
        t.data[0][0] = 0;
      Value *y = t_val(&t, DT_F32, 3, d);
      Node *n = t_node(&t, op, 1, &x, 1, &y);
      n->opt.alpha = 0.2f;
      n->opt.approximate = approx;
      CHECK(t_run(&t, 1, &y) == O2L_OK);
      float want[126];
      for (int k = 0; k < 126; k++)
        want[k] = un_naive(op, t.data[0][k], 0.2f, approx);
      bool ok = close_all(ref_output(t.r, 0), want, 126, 2e-6f);
      CHECK(ok);
      if (!ok)
        fprintf(stderr, "  unary %s\n", tfl_op_name(op));
      t_free(&t);
    }
  /* ROUND is half to even, as TFLite's RoundToNearest. */
  T t;
  t_init(&t);
  int64_t d[1] = {8};
  Value *x = t_input(&t, 1, d);
  static const float in[8] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f, 3.0f};
  static const float want[8] = {0, 2, 2, -0.0f, -2, 2, -3, 3};
  memcpy(t.data[0], in, sizeof in);
  Value *y = t_val(&t, DT_F32, 1, d);
  t_node(&t, TFL_ROUND, 1, &x, 1, &y);
  CHECK(t_run(&t, 1, &y) == O2L_OK);
  CHECK(close_all(ref_output(t.r, 0), want, 8, 0));
  t_free(&t);
}

static void test_prelu(void) {
  T t;
  t_init(&t);
  int64_t xd[4] = {2, 3, 4, 5}, ad[3] = {1, 1, 5};
  Value *x = t_input(&t, 4, xd);
  Value *a = t_rand_const(&t, 3, ad);
  Value *y = t_val(&t, DT_F32, 4, xd);
  Value *in[2] = {x, a};
  t_node(&t, TFL_PRELU, 2, in, 1, &y);
  CHECK(t_run(&t, 1, &y) == O2L_OK);
  const float *A = ref_value_data(t.r, a);
  float want[120];
  for (int i = 0; i < 120; i++) {
    float v = t.data[0][i];
    want[i] = v >= 0 ? v : v * A[i % 5];
  }
  CHECK(close_all(ref_output(t.r, 0), want, 120, 1e-6f));
  t_free(&t);
}

static void test_lrn(void) {
  T t;
  t_init(&t);
  int64_t d[4] = {1, 3, 2, 9};
  Value *x = t_input(&t, 4, d);
  Value *y = t_val(&t, DT_F32, 4, d);
  Node *n = t_node(&t, TFL_LOCAL_RESPONSE_NORMALIZATION, 1, &x, 1, &y);
  n->opt.radius = 2;
  n->opt.bias = 1.5f;
  n->opt.alpha = 0.3f;
  n->opt.beta = 0.75f;
  CHECK(t_run(&t, 1, &y) == O2L_OK);
  float want[54];
  for (int r = 0; r < 6; r++)
    for (int c = 0; c < 9; c++) {
      double sq = 0;
      for (int k = c - 2; k <= c + 2; k++)
        if (k >= 0 && k < 9)
          sq += (double)t.data[0][r * 9 + k] * t.data[0][r * 9 + k];
      want[r * 9 + c] = (float)(t.data[0][r * 9 + c] * pow(1.5 + 0.3 * sq, -0.75));
    }
  CHECK(close_all(ref_output(t.r, 0), want, 54, 2e-6f));
  t_free(&t);
}

static void test_softmax(void) {
  for (int op = 0; op < 3; op++) {
    int kind = op == 0 ? TFL_SOFTMAX : op == 1 ? TFL_LOG_SOFTMAX : TFL_L2_NORMALIZATION;
    T t;
    t_init(&t);
    int64_t d[3] = {2, 3, 10};
    Value *x = t_input(&t, 3, d);
    Value *y = t_val(&t, DT_F32, 3, d);
    Node *n = t_node(&t, kind, 1, &x, 1, &y);
    n->opt.beta = 1.5f;
    CHECK(t_run(&t, 1, &y) == O2L_OK);
    float want[60];
    for (int r = 0; r < 6; r++) {
      const float *v = t.data[0] + r * 10;
      double mx = -1e30, sum = 0, sq = 0;
      for (int c = 0; c < 10; c++)
        mx = v[c] > mx ? v[c] : mx;
      for (int c = 0; c < 10; c++) {
        sum += kind == TFL_SOFTMAX ? exp((v[c] - mx) * 1.5) : exp(v[c] - mx);
        sq += (double)v[c] * v[c];
      }
      for (int c = 0; c < 10; c++)
        want[r * 10 + c] = kind == TFL_SOFTMAX ? (float)(exp((v[c] - mx) * 1.5) / sum)
                           : kind == TFL_LOG_SOFTMAX ? (float)(v[c] - mx - log(sum))
                                                     : (float)(v[c] / sqrt(sq));
    }
    CHECK(close_all(ref_output(t.r, 0), want, 60, 2e-6f));
    t_free(&t);
  }
}

/* ---- reductions ------------------------------------------------------------ */

static void check_reduce(int op, int nax, const int32_t *axes, bool keep) {
  T t;
  t_init(&t);
  int64_t d[4] = {2, 3, 4, 5};
  Value *x = t_input(&t, 4, d);
  if (op == TFL_REDUCE_PROD)
    for (int i = 0; i < 120; i++)
      t.data[0][i] = 0.5f + 0.5f * fabsf(t.data[0][i]);
  Value *ax = t_i32(&t, nax, axes);
  bool red[4] = {false};
  for (int i = 0; i < nax; i++)
    red[axes[i] < 0 ? axes[i] + 4 : axes[i]] = true;
  int64_t od[4];
  int r = 0;
  for (int i = 0; i < 4; i++)
    if (!red[i] || keep)
      od[r++] = red[i] ? 1 : d[i];
  Value *y = t_val(&t, DT_F32, r, od);
  Value *in[2] = {x, ax};
  Node *n = t_node(&t, op, 2, in, 1, &y);
  n->opt.keep_dims = keep;
  Status st = t_run(&t, 1, &y);
  CHECK(st == O2L_OK);
  if (st != O2L_OK) {
    fprintf(stderr, "  %s\n", t.cx.msg);
    t_free(&t);
    return;
  }
  double acc[120];
  int cnt[120] = {0};
  int64_t ost[4], s = 1;
  for (int i = 3; i >= 0; i--) {
    ost[i] = red[i] ? 0 : s;
    s *= red[i] ? 1 : d[i];
  }
  for (int i = 0; i < 120; i++)
    acc[i] = op == TFL_REDUCE_MAX ? -1e30 : op == TFL_REDUCE_MIN ? 1e30
             : op == TFL_REDUCE_PROD ? 1 : 0;
  for (int i0 = 0; i0 < 2; i0++)
    for (int i1 = 0; i1 < 3; i1++)
      for (int i2 = 0; i2 < 4; i2++)
        for (int i3 = 0; i3 < 5; i3++) {
          float v = t.data[0][((i0 * 3 + i1) * 4 + i2) * 5 + i3];
          int64_t o = i0 * ost[0] + i1 * ost[1] + i2 * ost[2] + i3 * ost[3];
          cnt[o]++;
          if (op == TFL_REDUCE_MAX)
            acc[o] = v > acc[o] ? v : acc[o];
          else if (op == TFL_REDUCE_MIN)
            acc[o] = v < acc[o] ? v : acc[o];
          else if (op == TFL_REDUCE_PROD)
            acc[o] *= v;
          else
            acc[o] += v;
        }
  float want[120];
  for (int64_t i = 0; i < s; i++)
    want[i] = (float)(op == TFL_MEAN ? acc[i] / cnt[i] : acc[i]);
  CHECK(close_all(ref_output(t.r, 0), want, s, 1e-5f));
  t_free(&t);
}

static void test_reduce(void) {
  static const int ops[] = {TFL_MEAN, TFL_SUM, TFL_REDUCE_MAX, TFL_REDUCE_MIN,
                            TFL_REDUCE_PROD};
  static const int32_t a12[2] = {1, 2}, a3[1] = {3}, a0[1] = {0},
                       neg[2] = {-1, -3}, all[4] = {0, 1, 2, 3}, dup[2] = {2, 2};
  for (size_t i = 0; i < O2L_ARRAY_LEN(ops); i++)
    for (int keep = 0; keep < 2; keep++) {
      check_reduce(ops[i], 2, a12, keep);
      check_reduce(ops[i], 1, a3, keep);
      check_reduce(ops[i], 1, a0, keep);
      check_reduce(ops[i], 2, neg, keep);
      check_reduce(ops[i], 4, all, keep);
      check_reduce(ops[i], 2, dup, keep);
    }
}

static void test_arg(void) {
  for (int op = 0; op < 2; op++)
    for (int axis = -1; axis < 3; axis++) {
      T t;
      t_init(&t);
      int64_t d[3] = {3, 4, 5};
      Value *x = t_input(&t, 3, d);
      for (int i = 0; i < 60; i++) /* plenty of ties */
        t.data[0][i] = (float)irand(3);
      int32_t a = axis;
      int64_t one[1] = {1};
      Value *ax = t_const(&t, DT_I32, 1, one, &a);
      int ax0 = axis < 0 ? 2 : axis;
      int64_t od[2];
      int r = 0;
      for (int i = 0; i < 3; i++)
        if (i != ax0)
          od[r++] = d[i];
      Value *y = t_val(&t, op ? DT_I64 : DT_I32, 2, od);
      Value *in[2] = {x, ax};
      t_node(&t, op ? TFL_ARG_MIN : TFL_ARG_MAX, 2, in, 1, &y);
      CHECK(t_run(&t, 1, &y) == O2L_OK);
      int64_t st[3] = {20, 5, 1};
      bool ok = true;
      int k = 0;
      for (int64_t o0 = 0; o0 < od[0]; o0++)
        for (int64_t o1 = 0; o1 < od[1]; o1++, k++) {
          int64_t base = 0, oi[2] = {o0, o1};
          int q = 0;
          for (int i = 0; i < 3; i++)
            if (i != ax0)
              base += oi[q++] * st[i];
          int64_t best = 0;
          for (int64_t a2 = 1; a2 < d[ax0]; a2++) {
            float v = t.data[0][base + a2 * st[ax0]];
            float b = t.data[0][base + best * st[ax0]];
            if (op ? v < b : v > b)
              best = a2;
          }
          int64_t got = op ? ((const int64_t *)ref_output(t.r, 0))[k]
                           : ((const int32_t *)ref_output(t.r, 0))[k];
          ok = ok && got == best;
        }
      CHECK(ok);
      t_free(&t);
    }
}

/* ---- resize (hand-checked) ----------------------------------------------------- */

static void check_resize(int op, int h, int w, const float *in, int oh,
                         int ow, bool ac, bool hpc, const float *want) {
  T t;
  t_init(&t);
  int64_t xd[4] = {1, h, w, 1}, yd[4] = {1, oh, ow, 1};
  Value *x = t_input(&t, 4, xd);
  memcpy(t.data[0], in, sizeof(float) * (size_t)(h * w));
  int32_t sz[2] = {oh, ow};
  Value *in2[2] = {x, t_i32(&t, 2, sz)};
  Value *y = t_val(&t, DT_F32, 4, yd);
  Node *n = t_node(&t, op, 2, in2, 1, &y);
  n->opt.align_corners = ac;
  n->opt.half_pixel_centers = hpc;
  CHECK(t_run(&t, 1, &y) == O2L_OK);
  bool ok = close_all(ref_output(t.r, 0), want, oh * ow, 1e-6f);
  CHECK(ok);
  if (!ok)
    fprintf(stderr, "  resize op %d ac %d hpc %d\n", op, ac, hpc);
  t_free(&t);
}

static void test_resize(void) {
  static const float q[4] = {1, 2, 3, 4};
  static const float bl[16] = {1, 1.5f, 2, 2, 2, 2.5f, 3, 3,
                               3, 3.5f, 4, 4, 3, 3.5f, 4, 4};
  check_resize(TFL_RESIZE_BILINEAR, 2, 2, q, 4, 4, false, false, bl);
  static const float bl_ac[16] = {1, 4.f / 3, 5.f / 3, 2,
                                  5.f / 3, 2, 7.f / 3, 8.f / 3,
                                  7.f / 3, 8.f / 3, 3, 10.f / 3,
                                  3, 10.f / 3, 11.f / 3, 4};
  check_resize(TFL_RESIZE_BILINEAR, 2, 2, q, 4, 4, true, false, bl_ac);
  static const float bl_hp[16] = {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
                                  2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4};
  check_resize(TFL_RESIZE_BILINEAR, 2, 2, q, 4, 4, false, true, bl_hp);
  static const float nn[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
  check_resize(TFL_RESIZE_NEAREST_NEIGHBOR, 2, 2, q, 4, 4, false, false, nn);
  static const float r3[3] = {10, 20, 30};
  static const float n5[5] = {10, 10, 20, 20, 30};      /* floor(x * 0.6) */
  static const float n5ac[5] = {10, 20, 20, 30, 30};    /* round(x * 0.5) */
  static const float n5hp[5] = {10, 10, 20, 30, 30};    /* floor((x+.5)*.6) */
  check_resize(TFL_RESIZE_NEAREST_NEIGHBOR, 1, 3, r3, 1, 5, false, false, n5);
  check_resize(TFL_RESIZE_NEAREST_NEIGHBOR, 1, 3, r3, 1, 5, true, false, n5ac);
  check_resize(TFL_RESIZE_NEAREST_NEIGHBOR, 1, 3, r3, 1, 5, false, true, n5hp);
  static const float b5ac[5] = {10, 15, 20, 25, 30};
  check_resize(TFL_RESIZE_BILINEAR, 1, 3, r3, 1, 5, true, false, b5ac);
  /* Downscale 4 -> 2: half-pixel bilinear samples at 0.5 and 2.5. */
  static const float r4[4] = {0, 10, 20, 30}, d2[2] = {5, 25}, d2n[2] = {0, 20};
  check_resize(TFL_RESIZE_BILINEAR, 1, 4, r4, 1, 2, false, true, d2);
  check_resize(TFL_RESIZE_BILINEAR, 1, 4, r4, 1, 2, false, false, d2n);
}

/* ---- data movement ---------------------------------------------------------- */

/* Runs a one-op graph on input data `x` (float, shape xd) with extra
 * constant operands, and compares output 0 with `want`. */
static void check_move(int op, const TflOptions *opt, int xr,
                       const int64_t *xd, const float *x, int nextra,
                       Value *(*extra)(T *, int), int yr, const int64_t *yd,
                       const float *want, const char *what) {
  T t;
  t_init(&t);
  Value *xv = t_input(&t, xr, xd);
  if (x)
    memcpy(t.data[0], x, sizeof(float) * (size_t)numel(xr, xd));
  Value *in[6] = {xv};
  for (int i = 0; i < nextra; i++)
    in[1 + i] = extra(&t, i);
  Value *y = t_val(&t, DT_F32, yr, yd);
  Node *n = t_node(&t, op, 1 + nextra, in, 1, &y);
  if (opt)
    n->opt = *opt;
  Status st = t_run(&t, 1, &y);
  CHECK(st == O2L_OK);
  if (st != O2L_OK) {
    fprintf(stderr, "  %s: %s\n", what, t.cx.msg);
  } else {
    bool ok = close_all(ref_output(t.r, 0), want, numel(yr, yd), 0);
    CHECK(ok);
    if (!ok)
      fprintf(stderr, "  %s\n", what);
  }
  t_free(&t);
}

static float iota24[24];
static const int32_t *ex_ints;
static int ex_n[4];
static const int32_t *ex_list[4];
static Value *ex_consts(T *t, int i) { return t_i32(t, ex_n[i], ex_list[i]); }
static Value *ex_one(T *t, int i) {
  (void)i;
  return t_i32(t, ex_n[0], ex_ints);
}
/* paddings as LiteRT wants them: [rank, 2] */
static Value *ex_pads(T *t, int i) {
  (void)i;
  int64_t d[2] = {ex_n[0] / 2, 2};
  return t_const(t, DT_I32, 2, d, ex_ints);
}

static void test_slices(void) {
  int64_t d[3] = {2, 3, 4};
  TflOptions o = {0};
  /* x[0:2, 1:3, 0:4:2] */
  static const int32_t b1[3] = {0, 1, 0}, e1[3] = {2, 3, 4}, s1[3] = {1, 1, 2};
  ex_list[0] = b1; ex_list[1] = e1; ex_list[2] = s1;
  ex_n[0] = ex_n[1] = ex_n[2] = 3;
  int64_t y1[3] = {2, 2, 2};
  static const float w1[8] = {4, 6, 8, 10, 16, 18, 20, 22};
  check_move(TFL_STRIDED_SLICE, &o, 3, d, iota24, 3, ex_consts, 3, y1, w1, "ss basic");
  /* x[:, :, ::-1] */
  static const int32_t b2[3] = {0, 0, -1}, e2[3] = {0, 0, 0}, s2[3] = {1, 1, -1};
  ex_list[0] = b2; ex_list[1] = e2; ex_list[2] = s2;
  o.begin_mask = 3;
  o.end_mask = 7;
  float w2[24];
  for (int i = 0; i < 24; i++)
    w2[i] = (float)(i / 4 * 4 + 3 - i % 4);
  check_move(TFL_STRIDED_SLICE, &o, 3, d, iota24, 3, ex_consts, 3, d, w2, "ss reverse");
  /* x[1] (shrink), with a negative begin: x[-1] */
  static const int32_t b3[3] = {-1, 0, 0}, e3[3] = {0, 3, 4}, s3[3] = {1, 1, 1};
  ex_list[0] = b3; ex_list[1] = e3; ex_list[2] = s3;
  memset(&o, 0, sizeof o);
  o.shrink_axis_mask = 1;
  int64_t y3[2] = {3, 4};
  check_move(TFL_STRIDED_SLICE, &o, 3, d, iota24, 3, ex_consts, 2, y3, iota24 + 12, "ss shrink");
  /* x[..., None] */
  static const int32_t b4[2] = {0, 0}, e4[2] = {0, 0}, s4[2] = {1, 1};
  ex_list[0] = b4; ex_list[1] = e4; ex_list[2] = s4;
  ex_n[0] = ex_n[1] = ex_n[2] = 2;
  memset(&o, 0, sizeof o);
  o.ellipsis_mask = 1;
  o.new_axis_mask = 2;
  int64_t y4[4] = {2, 3, 4, 1};
  check_move(TFL_STRIDED_SLICE, &o, 3, d, iota24, 3, ex_consts, 4, y4, iota24, "ss ellipsis");
  /* offset: end holds sizes; x[0:2, 1:3, 1:3] */
  static const int32_t b5[3] = {0, 1, 1}, e5[3] = {2, 2, 2};
  ex_list[0] = b5; ex_list[1] = e5; ex_list[2] = s1;
  ex_n[0] = ex_n[1] = ex_n[2] = 3;
  static const int32_t ones[3] = {1, 1, 1};
  ex_list[2] = ones;
  memset(&o, 0, sizeof o);
  o.offset = true;
  static const float w5[8] = {5, 6, 9, 10, 17, 18, 21, 22};
  check_move(TFL_STRIDED_SLICE, &o, 3, d, iota24, 3, ex_consts, 3, y1, w5, "ss offset");
  /* clamped ends: x[:, 1:100, -100:2] */
  static const int32_t b6[3] = {0, 1, -100}, e6[3] = {2, 100, 2};
  ex_list[0] = b6; ex_list[1] = e6; ex_list[2] = ones;
  memset(&o, 0, sizeof o);
  check_move(TFL_STRIDED_SLICE, &o, 3, d, iota24, 3, ex_consts, 3, y1,
             (const float[8]){4, 5, 8, 9, 16, 17, 20, 21}, "ss clamp");
  /* SLICE with size -1 */
  static const int32_t sb[3] = {1, 1, 2}, ss[3] = {-1, 2, -1};
  ex_list[0] = sb; ex_list[1] = ss;
  int64_t y7[3] = {1, 2, 2};
  check_move(TFL_SLICE, NULL, 3, d, iota24, 2, ex_consts, 3, y7,
             (const float[4]){18, 19, 22, 23}, "slice");
}

static void test_moves(void) {
  for (int i = 0; i < 24; i++)
    iota24[i] = (float)i;
  int64_t d[3] = {2, 3, 4};
  /* TRANSPOSE [2,3,4] perm (2,0,1) -> [4,2,3] */
  static const int32_t perm[3] = {2, 0, 1};
  ex_ints = perm;
  ex_n[0] = 3;
  int64_t td[3] = {4, 2, 3};
  float tw[24];
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 2; b++)
      for (int c = 0; c < 3; c++)
        tw[(a * 2 + b) * 3 + c] = (float)((b * 3 + c) * 4 + a);
  check_move(TFL_TRANSPOSE, NULL, 3, d, iota24, 1, ex_one, 3, td, tw, "transpose");
  /* TILE [2,3,4] x (1,2,1) -> [2,6,4] */
  static const int32_t mult[3] = {1, 2, 1};
  ex_ints = mult;
  int64_t tid[3] = {2, 6, 4};
  float tiw[48];
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 6; b++)
      for (int c = 0; c < 4; c++)
        tiw[(a * 6 + b) * 4 + c] = (float)((a * 3 + b % 3) * 4 + c);
  check_move(TFL_TILE, NULL, 3, d, iota24, 1, ex_one, 3, tid, tiw, "tile");
  /* BROADCAST_TO [3,1] -> [2,3,4] */
  static const int32_t shp[3] = {2, 3, 4};
  ex_ints = shp;
  int64_t bd[2] = {3, 1};
  float bw[24];
  for (int i = 0; i < 24; i++)
    bw[i] = (float)(i / 4 % 3);
  check_move(TFL_BROADCAST_TO, NULL, 2, bd, iota24, 1, ex_one, 3, d, bw, "broadcast_to");
  /* PAD / PADV2 / MIRROR_PAD on [3] and [2,3] */
  int64_t d3[1] = {3}, d7[1] = {7};
  static const float v3[3] = {1, 2, 3};
  static const int32_t p22[2] = {2, 2};
  ex_ints = p22;
  ex_n[0] = 2;
  TflOptions o = {0};
  o.mirror_mode = TFL_MIRROR_REFLECT;
  check_move(TFL_MIRROR_PAD, &o, 1, d3, v3, 1, ex_pads, 1, d7,
             (const float[7]){3, 2, 1, 2, 3, 2, 1}, "reflect");
  o.mirror_mode = TFL_MIRROR_SYMMETRIC;
  check_move(TFL_MIRROR_PAD, &o, 1, d3, v3, 1, ex_pads, 1, d7,
             (const float[7]){2, 1, 1, 2, 3, 3, 2}, "symmetric");
  check_move(TFL_PAD, NULL, 1, d3, v3, 1, ex_pads, 1, d7,
             (const float[7]){0, 0, 1, 2, 3, 0, 0}, "pad");
  static const int32_t p2d[4] = {1, 0, 0, 2};
  ex_ints = p2d;
  ex_n[0] = 4;
  int64_t d23[2] = {2, 3}, d35[2] = {3, 5};
  static const float w35[15] = {0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0};
  static const float v6[6] = {1, 2, 3, 4, 5, 6};
  check_move(TFL_PAD, NULL, 2, d23, v6, 1, ex_pads, 2, d35, w35, "pad 2d");
  o.mirror_mode = TFL_MIRROR_REFLECT;
  static const float m35[15] = {4, 5, 6, 5, 4, 1, 2, 3, 2, 1, 4, 5, 6, 5, 4};
  check_move(TFL_MIRROR_PAD, &o, 2, d23, v6, 1, ex_pads, 2, d35, m35, "reflect 2d");
  /* DEPTH_TO_SPACE [1,1,1,8] bs 2 -> [1,2,2,2]: (i*2 + j)*2 + c */
  TflOptions bs = {0};
  bs.block_size = 2;
  int64_t d118[4] = {1, 1, 1, 8}, d2222[4] = {1, 2, 2, 2};
  check_move(TFL_DEPTH_TO_SPACE, &bs, 4, d118, iota24, 0, NULL, 4, d2222, iota24, "d2s");
  check_move(TFL_SPACE_TO_DEPTH, &bs, 4, d2222, iota24, 0, NULL, 4, d118, iota24, "s2d");
  int64_t d1228[4] = {1, 2, 2, 8}, d1442[4] = {1, 4, 4, 2};
  float d2s[32], x32[32];
  for (int i = 0; i < 32; i++)
    x32[i] = (float)i;
  for (int h = 0; h < 4; h++)
    for (int w = 0; w < 4; w++)
      for (int c = 0; c < 2; c++)
        d2s[(h * 4 + w) * 2 + c] =
            x32[((h / 2) * 2 + w / 2) * 8 + ((h % 2) * 2 + w % 2) * 2 + c];
  check_move(TFL_DEPTH_TO_SPACE, &bs, 4, d1228, x32, 0, NULL, 4, d1442, d2s, "d2s 2");
  check_move(TFL_SPACE_TO_DEPTH, &bs, 4, d1442, d2s, 0, NULL, 4, d1228, x32, "s2d 2");
  test_slices();
}

/* TRANSPOSE of random shapes and perms, float (a runtime input) and int64
 * / uint8 (constants, so the op is folded at prepare time). */
static void test_transpose_random(void) {
  for (int it = 0; it < 60; it++) {
    int rank = 1 + irand(5);
    int64_t xd[5], yd[5];
    int32_t perm[5];
    for (int i = 0; i < rank; i++) {
      xd[i] = 1 + irand(5);
      perm[i] = i;
    }
    for (int i = rank - 1; i > 0; i--) {
      int j = irand(i + 1);
      int32_t tmp = perm[i];
      perm[i] = perm[j];
      perm[j] = tmp;
    }
    for (int i = 0; i < rank; i++)
      yd[i] = xd[perm[i]];
    DType dt = it % 3 == 0 ? DT_F32 : it % 3 == 1 ? DT_I64 : DT_U8;
    int64_t nx = numel(rank, xd);
    size_t es = dtype_size(dt);
    unsigned char *raw = malloc((size_t)nx * es + 1);
    for (int64_t i = 0; i < nx; i++)
      store_from_f64(raw, dt, (size_t)i, (double)(i % 251));
    T t;
    t_init(&t);
    Value *x = dt == DT_F32 ? t_input(&t, rank, xd) : t_const(&t, dt, rank, xd, raw);
    if (dt == DT_F32)
      memcpy(t.data[0], raw, (size_t)nx * 4);
    Value *in[2] = {x, t_i32(&t, rank, perm)};
    Value *y = t_val(&t, dt, rank, yd);
    t_node(&t, TFL_TRANSPOSE, 2, in, 1, &y);
    CHECK(t_run(&t, 1, &y) == O2L_OK);
    const unsigned char *got = (const unsigned char *)ref_output(t.r, 0);
    int64_t xs[5], idx[5] = {0};
    ref_strides(rank, xd, xs);
    bool ok = got != NULL;
    for (int64_t o = 0; ok && o < nx; o++) {
      int64_t src = 0;
      for (int i = 0; i < rank; i++)
        src += idx[i] * xs[perm[i]];
      ok = memcmp(got + o * (int64_t)es, raw + src * (int64_t)es, es) == 0;
      for (int i = rank - 1; i >= 0; i--) {
        if (++idx[i] < yd[i])
          break;
        idx[i] = 0;
      }
    }
    CHECK(ok);
    free(raw);
    t_free(&t);
  }
}

/* PAD / PADV2 / MIRROR_PAD on random shapes against index arithmetic. */
static void test_pad_random(void) {
  for (int it = 0; it < 60; it++) {
    int op = it % 4 == 0 ? TFL_PADV2 : it % 4 == 1 ? TFL_MIRROR_PAD : TFL_PAD;
    int mode = irand(2), rank = 1 + irand(4);
    int64_t xd[4], yd[4], pads[8];
    for (int i = 0; i < rank; i++) {
      xd[i] = 1 + irand(4);
      int64_t lim = op != TFL_MIRROR_PAD ? 2
                    : mode == TFL_MIRROR_REFLECT ? xd[i] - 1 : xd[i];
      for (int k = 0; k < 2; k++)
        pads[2 * i + k] = irand(4) == 0 ? 0 : irand((int)lim + 1);
      yd[i] = xd[i] + pads[2 * i] + pads[2 * i + 1];
    }
    T t;
    t_init(&t);
    Value *x = t_input(&t, rank, xd);
    int32_t p32[8];
    for (int i = 0; i < 2 * rank; i++)
      p32[i] = (int32_t)pads[i];
    int64_t pd[2] = {rank, 2};
    float val = 0.5f;
    Value *in[3] = {x, t_const(&t, DT_I32, 2, pd, p32),
                    t_const(&t, DT_F32, 0, NULL, &val)};
    Value *y = t_val(&t, DT_F32, rank, yd);
    Node *n = t_node(&t, op, op == TFL_PADV2 ? 3 : 2, in, 1, &y);
    n->opt.mirror_mode = mode;
    CHECK(t_run(&t, 1, &y) == O2L_OK);
    int64_t ny = numel(rank, yd), idx[4] = {0};
    float *want = malloc(sizeof(float) * (size_t)ny);
    for (int64_t o = 0; o < ny; o++) {
      int64_t off = 0;
      bool pad = false;
      for (int i = 0; i < rank; i++) {
        int64_t k = idx[i] - pads[2 * i];
        if (op == TFL_MIRROR_PAD) {
          if (k < 0)
            k = mode == TFL_MIRROR_REFLECT ? -k : -k - 1;
          if (k >= xd[i])
            k = mode == TFL_MIRROR_REFLECT ? 2 * xd[i] - 2 - k : 2 * xd[i] - 1 - k;
        }
        pad = pad || k < 0 || k >= xd[i];
        off = off * xd[i] + k;
      }
      want[o] = pad ? (op == TFL_PADV2 ? val : 0) : t.data[0][off];
      for (int i = rank - 1; i >= 0; i--) {
        if (++idx[i] < yd[i])
          break;
        idx[i] = 0;
      }
    }
    if (t.r)
      CHECK(close_all(ref_output(t.r, 0), want, ny, 0));
    free(want);
    t_free(&t);
  }
}

/* CONCATENATION / PACK / SPLIT / SPLIT_V / UNPACK / GATHER / RESHAPE. */
static void test_concat_split(void) {
  T t;
  t_init(&t);
  int64_t a[3] = {2, 3, 4}, b[3] = {2, 1, 4}, c[3] = {2, 4, 4};
  Value *x = t_input(&t, 3, a), *y = t_input(&t, 3, b);
  Value *cat = t_val(&t, DT_F32, 3, c);
  Value *in[2] = {x, y};
  Node *n = t_node(&t, TFL_CONCATENATION, 2, in, 1, &cat);
  n->opt.axis = -2;
  /* SPLIT (axis is input 0) back into 2 halves of 2 rows */
  int32_t ax1 = 1;
  Value *axis = t_const(&t, DT_I32, 0, NULL, &ax1);
  int64_t h[3] = {2, 2, 4};
  Value *s0 = t_val(&t, DT_F32, 3, h), *s1 = t_val(&t, DT_F32, 3, h);
  Value *sin_[2] = {axis, cat}, *sout[2] = {s0, s1};
  n = t_node(&t, TFL_SPLIT, 2, sin_, 2, sout);
  n->opt.num_splits = 2;
  /* SPLIT_V sizes (3, -1) along axis 1 */
  static const int32_t sizes[2] = {3, -1};
  Value *vin[3] = {cat, t_i32(&t, 2, sizes), axis};
  Value *v0 = t_val(&t, DT_F32, 3, a), *v1 = t_val(&t, DT_F32, 3, b);
  Value *vout[2] = {v0, v1};
  n = t_node(&t, TFL_SPLIT_V, 3, vin, 2, vout);
  n->opt.num_splits = 2;
  /* PACK two [2,1,4] on axis 0 -> [2,2,1,4]; UNPACK it on axis 1 */
  int64_t pd[4] = {2, 2, 1, 4};
  Value *pk = t_val(&t, DT_F32, 4, pd);
  Value *pin[2] = {y, v1};
  n = t_node(&t, TFL_PACK, 2, pin, 1, &pk);
  n->opt.axis = 0;
  n->opt.values_count = 2;
  int64_t ud[3] = {2, 1, 4};
  Value *u0 = t_val(&t, DT_F32, 3, ud), *u1 = t_val(&t, DT_F32, 3, ud);
  Value *uout[2] = {u0, u1};
  n = t_node(&t, TFL_UNPACK, 1, &pk, 2, uout);
  n->opt.axis = 1;
  n->opt.num = 2;
  /* GATHER rows (2, 0, -) of x along axis 1, batch_dims 0; RESHAPE */
  static const int64_t gi[2] = {2, 0};
  int64_t gid[1] = {2}, gd[3] = {2, 2, 4}, rd[2] = {4, 4};
  Value *gin[2] = {x, t_const(&t, DT_I64, 1, gid, gi)};
  Value *ga = t_val(&t, DT_F32, 3, gd);
  n = t_node(&t, TFL_GATHER, 2, gin, 1, &ga);
  n->opt.axis = 1;
  static const int32_t rs[2] = {4, 4};
  Value *rin[2] = {ga, t_i32(&t, 2, rs)};
  Value *re = t_val(&t, DT_F32, 2, rd);
  t_node(&t, TFL_RESHAPE, 2, rin, 1, &re);
  Value *outs[8] = {cat, s0, s1, v0, v1, u0, u1, re};
  Status st = t_run(&t, 8, outs);
  CHECK(st == O2L_OK);
  if (st != O2L_OK) {
    fprintf(stderr, "  %s\n", t.cx.msg);
    t_free(&t);
    return;
  }
  const float *X = t.data[0], *Y = t.data[1];
  float want[32];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 4; j++)
      for (int k = 0; k < 4; k++)
        want[(i * 4 + j) * 4 + k] = j < 3 ? X[(i * 3 + j) * 4 + k] : Y[i * 4 + k];
  CHECK(close_all(ref_output(t.r, 0), want, 32, 0));
  float h0[16], h1[16];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 8; j++) {
      h0[i * 8 + j] = want[i * 16 + j];
      h1[i * 8 + j] = want[i * 16 + 8 + j];
    }
  CHECK(close_all(ref_output(t.r, 1), h0, 16, 0));
  CHECK(close_all(ref_output(t.r, 2), h1, 16, 0));
  CHECK(close_all(ref_output(t.r, 3), X, 24, 0));
  CHECK(close_all(ref_output(t.r, 4), Y, 8, 0));
  float u0w[8], u1w[8];
  for (int i = 0; i < 4; i++) { /* u0 = pk[:,0] = (y[0], y[1]); u1 = pk[:,1] */
    u0w[i] = Y[i];
    u0w[4 + i] = Y[i];
    u1w[i] = Y[4 + i];
    u1w[4 + i] = Y[4 + i];
  }
  CHECK(close_all(ref_output(t.r, 5), u0w, 8, 0));
  CHECK(close_all(ref_output(t.r, 6), u1w, 8, 0));
  float gw[16];
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < 4; k++) {
      gw[(i * 2 + 0) * 4 + k] = X[(i * 3 + 2) * 4 + k];
      gw[(i * 2 + 1) * 4 + k] = X[(i * 3 + 0) * 4 + k];
    }
  CHECK(close_all(ref_output(t.r, 7), gw, 16, 0));
  t_free(&t);
}

static void test_gather(void) {
  /* batch_dims 1: params [2,3,4], indices [2,2] int32, axis 1 -> [2,2,4] */
  T t;
  t_init(&t);
  int64_t pd[3] = {2, 3, 4}, id[2] = {2, 2}, od[3] = {2, 2, 4};
  Value *p = t_input(&t, 3, pd);
  static const int32_t idx[4] = {1, 2, 0, 0};
  Value *in[2] = {p, t_const(&t, DT_I32, 2, id, idx)};
  Value *y = t_val(&t, DT_F32, 3, od);
  Node *n = t_node(&t, TFL_GATHER, 2, in, 1, &y);
  n->opt.axis = 1;
  n->opt.batch_dims = 1;
  CHECK(t_run(&t, 1, &y) == O2L_OK);
  float want[16];
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 4; k++)
        want[(b * 2 + i) * 4 + k] = t.data[0][(b * 3 + idx[b * 2 + i]) * 4 + k];
  CHECK(close_all(ref_output(t.r, 0), want, 16, 0));
  t_free(&t);
  /* Indices computed at run time and out of range: an error from ref_run. */
  t_init(&t);
  int64_t xd[1] = {5}, one[1] = {1};
  Value *x = t_input(&t, 1, xd);
  Value *fi = t_input(&t, 1, one);
  Value *ii = t_val(&t, DT_I32, 1, one);
  Value *cin = fi;
  Node *c = t_node(&t, TFL_CAST, 1, &cin, 1, &ii);
  (void)c;
  Value *gin[2] = {x, ii};
  Value *g = t_val(&t, DT_F32, 1, one);
  t_node(&t, TFL_GATHER, 2, gin, 1, &g);
  t.data[1][0] = 3.7f; /* CAST truncates to 3 */
  CHECK(t_run(&t, 1, &g) == O2L_OK);
  CHECK(ref_output(t.r, 0)[0] == t.data[0][3]);
  t.data[1][0] = 9;
  CHECK(ref_run(t.r, (const float *const *)t.data) == O2L_ERR_INVALID);
  CHECK(strstr(t.cx.msg, "out of range") != NULL);
  t_free(&t);
}

static void test_topk(void) {
  T t;
  t_init(&t);
  int64_t d[2] = {3, 7}, od[2] = {3, 3};
  Value *x = t_input(&t, 2, d);
  static const float v[21] = {1, 5, 5, 2, 9, 0, 5,  3, 3, 3, 3, 3, 3, 3,
                              -1, -2, -3, 4, -5, -6, -7};
  memcpy(t.data[0], v, sizeof v);
  int32_t k = 3;
  Value *in[2] = {x, t_const(&t, DT_I32, 0, NULL, &k)};
  Value *outs[2] = {t_val(&t, DT_F32, 2, od), t_val(&t, DT_I32, 2, od)};
  t_node(&t, TFL_TOPK_V2, 2, in, 2, outs);
  CHECK(t_run(&t, 2, outs) == O2L_OK);
  static const float wv[9] = {9, 5, 5, 3, 3, 3, 4, -1, -2};
  static const int32_t wi[9] = {4, 1, 2, 0, 1, 2, 3, 0, 1};
  CHECK(close_all(ref_output(t.r, 0), wv, 9, 0));
  CHECK(memcmp(ref_output(t.r, 1), wi, sizeof wi) == 0);
  t_free(&t);
}

static void test_cumsum_select(void) {
  for (int mode = 0; mode < 4; mode++) {
    T t;
    t_init(&t);
    int64_t d[2] = {2, 5};
    Value *x = t_input(&t, 2, d);
    int32_t ax = 1;
    Value *in[2] = {x, t_const(&t, DT_I32, 0, NULL, &ax)};
    Value *y = t_val(&t, DT_F32, 2, d);
    Node *n = t_node(&t, TFL_CUMSUM, 2, in, 1, &y);
    n->opt.exclusive = mode & 1;
    n->opt.reverse = mode >> 1;
    CHECK(t_run(&t, 1, &y) == O2L_OK);
    float want[10];
    for (int r = 0; r < 2; r++) {
      float acc = 0;
      for (int k = 0; k < 5; k++) {
        int i = (mode >> 1) ? 4 - k : k;
        if (mode & 1) {
          want[r * 5 + i] = acc;
          acc += t.data[0][r * 5 + i];
        } else {
          acc += t.data[0][r * 5 + i];
          want[r * 5 + i] = acc;
        }
      }
    }
    CHECK(close_all(ref_output(t.r, 0), want, 10, 1e-6f));
    t_free(&t);
  }
  /* SELECT_V2(a > b, a, b) == MAXIMUM(a, b), with broadcasting. */
  T t;
  t_init(&t);
  int64_t ad[2] = {3, 4}, bd[1] = {4};
  Value *a = t_input(&t, 2, ad), *b = t_input(&t, 1, bd);
  Value *cmp = t_val(&t, DT_BOOL, 2, ad), *sel = t_val(&t, DT_F32, 2, ad);
  Value *mx = t_val(&t, DT_F32, 2, ad);
  Value *ab[2] = {a, b};
  t_node(&t, TFL_GREATER, 2, ab, 1, &cmp);
  Value *sin_[3] = {cmp, a, b};
  t_node(&t, TFL_SELECT_V2, 3, sin_, 1, &sel);
  t_node(&t, TFL_MAXIMUM, 2, ab, 1, &mx);
  Value *outs[2] = {sel, mx};
  CHECK(t_run(&t, 2, outs) == O2L_OK);
  CHECK(close_all(ref_output(t.r, 0), ref_output(t.r, 1), 12, 0));
  t_free(&t);
}

/* ---- the runner ------------------------------------------------------------ */

typedef struct Obs {
  int calls;
  double sum;
} Obs;

static void observe(void *user, const Value *v, const float *data, size_t n) {
  Obs *o = user;
  (void)v;
  o->calls++;
  for (size_t i = 0; i < n; i++)
    o->sum += data[i];
}

static void test_runner(void) {
  /* float16 weights through DEQUANTIZE are folded at prepare time and the
   * conv packs them; a residual chain checks buffer reuse. */
  T t;
  t_init(&t);
  int64_t xd[4] = {1, 5, 5, 8}, wd[4] = {8, 1, 1, 8};
  Value *x = t_input(&t, 4, xd);
  uint16_t wh[64];
  float wf[64];
  for (int i = 0; i < 64; i++) {
    wh[i] = f32_to_f16(frand());
    wf[i] = f16_to_f32(wh[i]);
  }
  Value *w16 = t_const(&t, DT_F16, 4, wd, wh);
  Value *w = t_val(&t, DT_F32, 4, wd);
  t_node(&t, TFL_DEQUANTIZE, 1, &w16, 1, &w);
  Value *h = x;
  float zeros[8] = {0};
  int64_t bd8[1] = {8};
  Value *zb = t_const(&t, DT_F32, 1, bd8, zeros);
  for (int i = 0; i < 6; i++) {
    Value *c = t_val(&t, DT_F32, 4, xd), *s = t_val(&t, DT_F32, 4, xd);
    Value *cin[3] = {h, w, zb};
    Node *n = t_node(&t, TFL_CONV_2D, 3, cin, 1, &c);
    n->opt.stride_h = n->opt.stride_w = 1;
    n->opt.act = TFL_ACT_RELU;
    Value *ain[2] = {c, h};
    t_node(&t, TFL_ADD, 2, ain, 1, &s);
    h = s;
  }
  CHECK(t_run(&t, 1, &h) == O2L_OK);
  float ref[200], tmp[200];
  memcpy(ref, t.data[0], sizeof ref);
  for (int i = 0; i < 6; i++) {
    for (int p = 0; p < 25; p++)
      for (int o = 0; o < 8; o++) {
        double acc = 0;
        for (int k = 0; k < 8; k++)
          acc += (double)ref[p * 8 + k] * wf[o * 8 + k];
        tmp[p * 8 + o] = (acc > 0 ? (float)acc : 0) + ref[p * 8 + o];
      }
    memcpy(ref, tmp, sizeof ref);
  }
  CHECK(close_all(ref_output(t.r, 0), ref, 200, 1e-5f));
  /* Observer: the input, then each float output (the folded DEQUANTIZE
   * is not an activation). */
  Obs ob = {0, 0};
  ref_set_observer(t.r, observe, &ob);
  CHECK(ref_run(t.r, (const float *const *)t.data) == O2L_OK);
  CHECK(ob.calls == 1 + 12);
  ref_set_profiling(t.r, 1);
  CHECK(ref_run(t.r, (const float *const *)t.data) == O2L_OK);
  CHECK(ref_profile(t.r) != NULL);
  t_free(&t);

  /* A RESHAPE output shares its input's bytes: the input's buffer must
   * outlive every use of the reshaped value, however far away. */
  t_init(&t);
  int64_t d3[3] = {2, 3, 4}, d2[2] = {6, 4};
  static const int32_t shp[2] = {6, 4};
  Value *x3 = t_input(&t, 3, d3);
  Value *ra = t_val(&t, DT_F32, 3, d3), *rb = t_val(&t, DT_F32, 2, d2);
  t_node(&t, TFL_RELU, 1, &x3, 1, &ra);
  Value *rin[2] = {ra, t_i32(&t, 2, shp)};
  t_node(&t, TFL_RESHAPE, 2, rin, 1, &rb);
  Value *prev = x3;
  for (int i = 0; i < 5; i++) { /* buffer pressure while rb waits */
    Value *nx = t_val(&t, DT_F32, 3, d3);
    t_node(&t, TFL_NEG, 1, &prev, 1, &nx);
    prev = nx;
  }
  Value *rf = t_val(&t, DT_F32, 2, d2), *rg = t_val(&t, DT_F32, 2, d2);
  Value *fin2[2] = {prev, rin[1]};
  t_node(&t, TFL_RESHAPE, 2, fin2, 1, &rf);
  Value *gin2[2] = {rb, rf};
  t_node(&t, TFL_ADD, 2, gin2, 1, &rg);
  Value *routs[2] = {rg, rb};
  CHECK(t_run(&t, 2, routs) == O2L_OK);
  float rw[24], rbw[24];
  for (int i = 0; i < 24; i++) {
    float v = t.data[0][i];
    rbw[i] = v > 0 ? v : 0;
    rw[i] = rbw[i] - v; /* five NEGs */
  }
  CHECK(close_all(ref_output(t.r, 0), rw, 24, 0));
  CHECK(close_all(ref_output(t.r, 1), rbw, 24, 0));
  t_free(&t);

  /* What LiteRT refuses is refused: FULLY_CONNECTED with a fused TANH,
   * CONCATENATION with any fused activation. */
  t_init(&t);
  int64_t fd[2] = {2, 3}, fw[2] = {4, 3}, fo[2] = {2, 4};
  Value *fin[2] = {t_input(&t, 2, fd), t_rand_const(&t, 2, fw)};
  Value *fy = t_val(&t, DT_F32, 2, fo);
  t_node(&t, TFL_FULLY_CONNECTED, 2, fin, 1, &fy)->opt.act = TFL_ACT_TANH;
  CHECK(t_run(&t, 1, &fy) == O2L_ERR_INVALID);
  t_free(&t);
  t_init(&t);
  Value *ci[2] = {t_input(&t, 2, fd), t_input(&t, 2, fd)};
  int64_t cd2[2] = {4, 3};
  Value *cy = t_val(&t, DT_F32, 2, cd2);
  t_node(&t, TFL_CONCATENATION, 2, ci, 1, &cy)->opt.act = TFL_ACT_RELU;
  CHECK(t_run(&t, 1, &cy) == O2L_ERR_INVALID);
  t_free(&t);

  /* Errors name the operator. */
  t_init(&t);
  int64_t d[2] = {2, 3};
  Value *a = t_input(&t, 2, d);
  Value *y = t_val(&t, DT_F32, 2, d);
  t_node(&t, TFL_QUANTIZE, 1, &a, 1, &y);
  CHECK(t_run(&t, 1, &y) == O2L_ERR_UNSUPPORTED);
  CHECK(strstr(t.cx.msg, "no float kernel") != NULL);
  CHECK(t.r == NULL);
  t_free(&t);
  t_init(&t);
  a = t_input(&t, 2, d);
  int64_t bad[2] = {3, 2};
  y = t_val(&t, DT_F32, 2, bad);
  Value *ab[2] = {a, a};
  t_node(&t, TFL_ADD, 2, ab, 1, &y);
  CHECK(t_run(&t, 1, &y) == O2L_ERR_INVALID);
  CHECK(strstr(t.cx.msg, "ADD") != NULL && strstr(t.cx.msg, "shape") != NULL);
  t_free(&t);
  t_init(&t);
  a = t_input(&t, 2, d);
  Value *mid = t_val(&t, DT_F32, 2, d);
  y = t_val(&t, DT_F32, 2, d);
  t_node(&t, TFL_RELU, 1, &mid, 1, &y); /* reads mid before it is written */
  t_node(&t, TFL_RELU, 1, &a, 1, &mid);
  CHECK(t_run(&t, 1, &y) == O2L_ERR_INVALID);
  t_free(&t);
}

/* Every allocation ref_prepare makes may fail: a clean NOMEM, no leak. */
static void test_faults(void) {
  int fails = 0;
  for (long nth = 1; nth < 200; nth++) {
    T t;
    t_init(&t);
    int64_t xd[4] = {1, 6, 6, 8}, wd[4] = {16, 3, 3, 8}, yd[4] = {1, 6, 6, 16};
    Value *x = t_input(&t, 4, xd);
    int64_t bd[1] = {16};
    Value *in[3] = {x, t_rand_const(&t, 4, wd), t_rand_const(&t, 1, bd)};
    Value *y = t_val(&t, DT_F32, 4, yd), *z = t_val(&t, DT_F32, 4, yd);
    Node *n = t_node(&t, TFL_CONV_2D, 3, in, 1, &y);
    n->opt.stride_h = n->opt.stride_w = 1;
    t_node(&t, TFL_RELU, 1, &y, 1, &z);
    graph_set_inputs(&t.cx, t.g, t.nin, t.ins);
    graph_set_outputs(&t.cx, t.g, 1, &z);
    fault_fail_nth(nth);
    Status st = ref_prepare(&t.cx, t.g, &t.r);
    fault_fail_nth(0);
    if (st == O2L_OK) {
      CHECK(ref_run(t.r, (const float *const *)t.data) == O2L_OK);
      t_free(&t);
      break;
    }
    CHECK(st == O2L_ERR_NOMEM && t.r == NULL);
    fails++;
    t_free(&t);
  }
  CHECK(fails > 3);
}

int main(void) {
  printf("reference kernels use %s\n", ref_isa_name());
  test_conv();
  test_dwconv();
  test_tconv();
  test_conv3d();
  test_fc();
  test_bmm();
  test_conv_isas();
  test_pool();
  test_binary();
  test_unary();
  test_prelu();
  test_softmax();
  test_lrn();
  test_reduce();
  test_arg();
  test_resize();
  test_moves();
  test_pad_random();
  test_transpose_random();
  test_concat_split();
  test_gather();
  test_cumsum_select();
  test_topk();
  test_runner();
  test_faults();
  return check_done("test_ref");
}
