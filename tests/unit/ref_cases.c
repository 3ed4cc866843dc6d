/* ref_cases.c - one-operator graphs for checking the reference kernels
 * against LiteRT directly (without the ONNX converter): each case is built
 * here, run by the reference runner and written with tfl_write.
 *
 *   ref_cases OUTDIR
 *
 * writes OUTDIR/NAME.tflite, NAME.in<i>.bin (inputs, raw), NAME.out<i>.bin
 * (our outputs, raw) and OUTDIR/cases.txt with one "NAME NIN NOUT" line per
 * case; tests/check_ref_vs_litert.py --cases runs LiteRT on them.  The
 * cases cover the semantics that are easy to get subtly wrong: padding,
 * strides and dilations, fused activations, broadcasting, masks, resize
 * flags, mirror modes, batch_dims.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "ref/ref.h"
#include "tfl/tfl.h"

typedef struct C {
  Arena a;
  Ctx cx;
  Graph *g;
  int nin;
  Value *ins[8];
  float *data[8];
} C;

static unsigned rng = 7;
static float frand(void) {
  rng = rng * 1103515245u + 12345u;
  return (float)((rng >> 9) & 0xffff) / 32768.0f - 1.0f;
}

static const char *outdir;
static FILE *list;
static int failures;

static int64_t numel(int r, const int64_t *d) {
  int64_t n = 1;
  for (int i = 0; i < r; i++)
    n *= d[i];
  return n;
}

static void c_init(C *c) {
  memset(c, 0, sizeof *c);
  arena_init(&c->a);
  ctx_init(&c->cx, &c->a, NULL, NULL);
  c->g = graph_new(&c->cx, GRAPH_TFL);
}

/* A float input; positive values when pos (LOG, SQRT, POW bases). */
static Value *in_f(C *c, int r, const int64_t *d, bool pos) {
  char name[16];
  snprintf(name, sizeof name, "x%d", c->nin);
  Value *v = graph_add_value(&c->cx, c->g, arena_strdup(&c->a, name), DT_F32,
                             r, d);
  int64_t n = numel(r, d);
  c->data[c->nin] = malloc(sizeof(float) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) {
    float x = 3.0f * frand();
    c->data[c->nin][i] = pos ? fabsf(x) + 0.25f : x;
  }
  c->ins[c->nin++] = v;
  return v;
}

static Value *cst(C *c, DType t, int r, const int64_t *d, const void *p) {
  size_t nb = (size_t)numel(r, d) * dtype_size(t);
  void *q = arena_alloc(&c->a, nb + 1, 16);
  memcpy(q, p, nb);
  char name[16];
  snprintf(name, sizeof name, "c%d", c->g->nvalues);
  return graph_add_const(&c->cx, c->g, arena_strdup(&c->a, name), t, r, d, q,
                         nb);
}

static Value *cst_rand(C *c, int r, const int64_t *d, float scale) {
  int64_t n = numel(r, d);
  float *w = malloc(sizeof(float) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++)
    w[i] = scale * frand();
  Value *v = cst(c, DT_F32, r, d, w);
  free(w);
  return v;
}

static Value *ints(C *c, int n, const int32_t *v) {
  int64_t d[1] = {n};
  return cst(c, DT_I32, 1, d, v);
}

static Value *pads2d(C *c, int rank, const int32_t *v) {
  int64_t d[2] = {rank, 2};
  return cst(c, DT_I32, 2, d, v);
}

static Value *scalar_i(C *c, int32_t v) { return cst(c, DT_I32, 0, NULL, &v); }

static Value *out(C *c, DType t, int r, const int64_t *d) {
  char name[16];
  snprintf(name, sizeof name, "y%d", c->g->nvalues);
  return graph_add_value(&c->cx, c->g, arena_strdup(&c->a, name), t, r, d);
}

static Node *op(C *c, int kind, int nin, Value *const *in, int nout,
                Value *const *o) {
  return graph_add_node(&c->cx, c->g, kind, "op", nin, in, nout, o);
}

static bool write_raw(const char *name, const char *what, int i,
                      const void *p, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.%s%d.bin", outdir, name, what, i);
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(p, 1, n, f) == n;
  if (f)
    fclose(f);
  return ok;
}

/* Runs the case, writes its files, frees it. */
static void finish(C *c, const char *name, int nout, Value *const *outs) {
  graph_set_inputs(&c->cx, c->g, c->nin, c->ins);
  graph_set_outputs(&c->cx, c->g, nout, outs);
  RefRunner *r = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.tflite", outdir, name);
  bool ok = ref_prepare(&c->cx, c->g, &r) == O2L_OK &&
            ref_run(r, (const float *const *)c->data) == O2L_OK &&
            tfl_write(&c->cx, c->g, path, NULL) == O2L_OK;
  for (int i = 0; ok && i < c->nin; i++)
    ok = write_raw(name, "in", i, c->data[i],
                   (size_t)value_numel(c->ins[i]) * 4);
  for (int i = 0; ok && i < nout; i++)
    ok = write_raw(name, "out", i, ref_output(r, i),
                   (size_t)value_numel(outs[i]) * dtype_size(outs[i]->dtype));
  if (ok) {
    fprintf(list, "%s %d %d\n", name, c->nin, nout);
  } else {
    fprintf(stderr, "ref_cases: %s: %s\n", name, c->cx.msg);
    failures++;
  }
  ref_free(r);
  graph_release(c->g);
  arena_free(&c->a);
  for (int i = 0; i < c->nin; i++)
    free(c->data[i]);
}

/* ---- cases ------------------------------------------------------------------- */

static void conv_case(const char *name, int kind, int h, int w, int ci, int co,
                      int k, int s, int d, int pad, int act, bool bias) {
  C c;
  c_init(&c);
  int64_t xd[4] = {1, h, w, ci};
  bool dw = kind == TFL_DEPTHWISE_CONV_2D;
  int64_t wd[4] = {dw ? 1 : co, k, k, dw ? co : ci}, bd[1] = {co};
  int eff = (k - 1) * d + 1;
  int oh = pad == TFL_PAD_SAME ? (h + s - 1) / s : (h - eff) / s + 1;
  int ow = pad == TFL_PAD_SAME ? (w + s - 1) / s : (w - eff) / s + 1;
  int64_t yd[4] = {1, oh, ow, co};
  Value *in[3] = {in_f(&c, 4, xd, false), cst_rand(&c, 4, wd, 0.5f),
                  bias ? cst_rand(&c, 1, bd, 1.0f) : NULL};
  Value *y = out(&c, DT_F32, 4, yd);
  Node *n = op(&c, kind, 3, in, 1, &y);
  n->opt.padding = pad;
  n->opt.stride_h = n->opt.stride_w = s;
  n->opt.dilation_h = n->opt.dilation_w = d;
  n->opt.act = act;
  n->opt.depth_multiplier = dw ? co / ci : 0;
  finish(&c, name, 1, &y);
}

static void tconv_case(const char *name, int h, int k, int s, int pad,
                       int oh, int act, bool bias) {
  C c;
  c_init(&c);
  int64_t xd[4] = {1, h, h, 3}, wd[4] = {4, k, k, 3}, bd[1] = {4};
  int64_t yd[4] = {1, oh, oh, 4};
  int32_t os[4] = {1, oh, oh, 4};
  Value *in[4] = {ints(&c, 4, os), cst_rand(&c, 4, wd, 0.5f),
                  in_f(&c, 4, xd, false), bias ? cst_rand(&c, 1, bd, 1) : NULL};
  Value *y = out(&c, DT_F32, 4, yd);
  Node *n = op(&c, TFL_TRANSPOSE_CONV, bias ? 4 : 3, in, 1, &y);
  n->opt.padding = pad;
  n->opt.stride_h = n->opt.stride_w = s;
  n->opt.act = act;
  finish(&c, name, 1, &y);
}

static void pool_case(const char *name, int kind, int k, int s, int pad,
                      int act) {
  C c;
  c_init(&c);
  int64_t xd[4] = {1, 9, 8, 5};
  int oh = pad == TFL_PAD_SAME ? (9 + s - 1) / s : (9 - k) / s + 1;
  int ow = pad == TFL_PAD_SAME ? (8 + s - 1) / s : (8 - k) / s + 1;
  int64_t yd[4] = {1, oh, ow, 5};
  Value *x = in_f(&c, 4, xd, false), *y = out(&c, DT_F32, 4, yd);
  Node *n = op(&c, kind, 1, &x, 1, &y);
  n->opt.filter_h = n->opt.filter_w = k;
  n->opt.stride_h = n->opt.stride_w = s;
  n->opt.padding = pad;
  n->opt.act = act;
  finish(&c, name, 1, &y);
}

static void binary_case(const char *name, int kind, int ra, const int64_t *da,
                        int rb, const int64_t *db, int act) {
  C c;
  c_init(&c);
  bool pos = kind == TFL_POW;
  Value *in[2] = {in_f(&c, ra, da, pos), in_f(&c, rb, db, false)};
  if (kind == TFL_DIV || kind == TFL_FLOOR_DIV || kind == TFL_FLOOR_MOD)
    for (int64_t i = 0; i < numel(rb, db); i++) /* keep divisors away from 0 */
      c.data[1][i] += c.data[1][i] < 0 ? -0.5f : 0.5f;
  int64_t od[8];
  int r = ra > rb ? ra : rb;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - ra), ib = i - (r - rb);
    int64_t x = ia >= 0 ? da[ia] : 1, y = ib >= 0 ? db[ib] : 1;
    od[i] = x > y ? x : y;
  }
  bool cmp = kind == TFL_LESS || kind == TFL_GREATER_EQUAL || kind == TFL_EQUAL;
  Value *y = out(&c, cmp ? DT_BOOL : DT_F32, r, od);
  Node *n = op(&c, kind, 2, in, 1, &y);
  n->opt.act = act;
  finish(&c, name, 1, &y);
}

static void unary_case(const char *name, int kind, float alpha, bool approx) {
  C c;
  c_init(&c);
  int64_t d[3] = {2, 5, 7};
  bool pos = kind == TFL_LOG || kind == TFL_SQRT || kind == TFL_RSQRT;
  Value *x = in_f(&c, 3, d, pos), *y = out(&c, DT_F32, 3, d);
  if (kind == TFL_ROUND) /* exact halves: ties go to even */
    for (int i = 0; i < 70; i++)
      c.data[0][i] = (float)(i - 35) * 0.5f;
  Node *n = op(&c, kind, 1, &x, 1, &y);
  n->opt.alpha = alpha;
  n->opt.approximate = approx;
  n->opt.beta = 0.7f;
  finish(&c, name, 1, &y);
}

static void reduce_case(const char *name, int kind, int nax,
                        const int32_t *axes, bool keep) {
  C c;
  c_init(&c);
  int64_t d[4] = {2, 3, 4, 5};
  Value *in[2] = {in_f(&c, 4, d, kind == TFL_REDUCE_PROD), ints(&c, nax, axes)};
  bool red[4] = {false};
  for (int i = 0; i < nax; i++)
    red[(axes[i] + 4) % 4] = true;
  int64_t od[4];
  int r = 0;
  for (int i = 0; i < 4; i++)
    if (!red[i] || keep)
      od[r++] = red[i] ? 1 : d[i];
  Value *y = out(&c, DT_F32, r, od);
  Node *n = op(&c, kind, 2, in, 1, &y);
  n->opt.keep_dims = keep;
  finish(&c, name, 1, &y);
}

static void resize_case(const char *name, int kind, int h, int w, int oh,
                        int ow, bool ac, bool hpc) {
  C c;
  c_init(&c);
  int64_t xd[4] = {1, h, w, 3}, yd[4] = {1, oh, ow, 3};
  int32_t sz[2] = {oh, ow};
  Value *in[2] = {in_f(&c, 4, xd, false), ints(&c, 2, sz)};
  Value *y = out(&c, DT_F32, 4, yd);
  Node *n = op(&c, kind, 2, in, 1, &y);
  n->opt.align_corners = ac;
  n->opt.half_pixel_centers = hpc;
  finish(&c, name, 1, &y);
}

/* A one-input op with constant int operands (views, pads, ...). */
static void move_case(const char *name, int kind, const TflOptions *o,
                      int xr, const int64_t *xd, int nc, const int32_t *const *cv,
                      const int *cn, int yr, const int64_t *yd) {
  C c;
  c_init(&c);
  Value *in[5] = {in_f(&c, xr, xd, false)};
  bool pad = kind == TFL_PAD || kind == TFL_MIRROR_PAD;
  for (int i = 0; i < nc; i++)
    in[1 + i] = pad ? pads2d(&c, cn[i] / 2, cv[i]) : ints(&c, cn[i], cv[i]);
  Value *y = out(&c, DT_F32, yr, yd);
  Node *n = op(&c, kind, 1 + nc, in, 1, &y);
  if (o)
    n->opt = *o;
  finish(&c, name, 1, &y);
}

static void cases_conv(void) {
  static const int acts[] = {TFL_ACT_NONE, TFL_ACT_RELU, TFL_ACT_RELU6,
                             TFL_ACT_RELU_N1_TO_1, TFL_ACT_TANH};
  char name[64];
  for (int a = 0; a < 5; a++) {
    snprintf(name, sizeof name, "conv_act%d", acts[a]);
    conv_case(name, TFL_CONV_2D, 7, 6, 4, 5, 3, 1, 1, TFL_PAD_SAME, acts[a], true);
  }
  conv_case("conv_same_s2", TFL_CONV_2D, 8, 7, 3, 40, 3, 2, 1, TFL_PAD_SAME, 0, true);
  conv_case("conv_valid_s2", TFL_CONV_2D, 9, 8, 3, 6, 3, 2, 1, TFL_PAD_VALID, 1, true);
  conv_case("conv_dil2", TFL_CONV_2D, 9, 9, 5, 7, 3, 1, 2, TFL_PAD_SAME, 0, true);
  conv_case("conv_k4_s3", TFL_CONV_2D, 10, 11, 2, 3, 4, 3, 1, TFL_PAD_SAME, 0, true);
  conv_case("conv_1x1", TFL_CONV_2D, 5, 5, 70, 33, 1, 1, 1, TFL_PAD_VALID, 3, true);
  conv_case("conv_cout1", TFL_CONV_2D, 6, 6, 20, 1, 3, 1, 1, TFL_PAD_SAME, 0, true);
  /* grouped: input channels 8, filter [6, 3, 3, 4] -> 2 groups */
  C c;
  c_init(&c);
  int64_t xd[4] = {1, 6, 6, 8}, wd[4] = {6, 3, 3, 4}, bd[1] = {6}, yd[4] = {1, 6, 6, 6};
  Value *in[3] = {in_f(&c, 4, xd, false), cst_rand(&c, 4, wd, 0.5f),
                  cst_rand(&c, 1, bd, 1)};
  Value *y = out(&c, DT_F32, 4, yd);
  Node *n = op(&c, TFL_CONV_2D, 3, in, 1, &y);
  n->opt.stride_h = n->opt.stride_w = 1;
  finish(&c, "conv_grouped", 1, &y);
  conv_case("dw_same_s2", TFL_DEPTHWISE_CONV_2D, 9, 8, 24, 24, 3, 2, 1, TFL_PAD_SAME, 3, true);
  conv_case("dw_mult2", TFL_DEPTHWISE_CONV_2D, 7, 7, 3, 6, 3, 1, 1, TFL_PAD_SAME, 0, true);
  conv_case("dw_dil2_valid", TFL_DEPTHWISE_CONV_2D, 9, 9, 40, 40, 3, 1, 2, TFL_PAD_VALID, 1, true);
  /* A fused TANH: LiteRT's float kernels ignore it (clamp range only). */
  conv_case("dw_act_tanh", TFL_DEPTHWISE_CONV_2D, 6, 6, 8, 8, 3, 1, 1, TFL_PAD_SAME, TFL_ACT_TANH, true);
  tconv_case("tconv_act_tanh", 4, 3, 2, TFL_PAD_SAME, 8, TFL_ACT_TANH, true);
  pool_case("avgpool_act_tanh", TFL_AVERAGE_POOL_2D, 2, 1, TFL_PAD_SAME, TFL_ACT_TANH);
  conv_case("dw_k5", TFL_DEPTHWISE_CONV_2D, 8, 8, 17, 17, 5, 1, 1, TFL_PAD_SAME, 0, true);
  tconv_case("tconv_same_k3_o9", 5, 3, 2, TFL_PAD_SAME, 9, 0, true);
  tconv_case("tconv_same_k3_o10", 5, 3, 2, TFL_PAD_SAME, 10, 0, false);
  tconv_case("tconv_same_k4_o10", 5, 4, 2, TFL_PAD_SAME, 10, 1, true);
  tconv_case("tconv_valid_k3_o11", 5, 3, 2, TFL_PAD_VALID, 11, 0, true);
  tconv_case("tconv_valid_k3_o12", 5, 3, 2, TFL_PAD_VALID, 12, 0, true);
  pool_case("avgpool_same_k3_s2", TFL_AVERAGE_POOL_2D, 3, 2, TFL_PAD_SAME, 0);
  pool_case("avgpool_valid_k2", TFL_AVERAGE_POOL_2D, 2, 2, TFL_PAD_VALID, 1);
  pool_case("maxpool_same_k3_s2", TFL_MAX_POOL_2D, 3, 2, TFL_PAD_SAME, 3);
  pool_case("maxpool_same_k4_s1", TFL_MAX_POOL_2D, 4, 1, TFL_PAD_SAME, 0);
}

static void conv3d_case(const char *name, bool tr, int pad, const int *in,
                        const int *k, const int *st, int dl, bool bias) {
  C c;
  c_init(&c);
  int o[3];
  for (int i = 0; i < 3; i++) {
    int eff = (k[i] - 1) * dl + 1;
    o[i] = tr ? (pad == TFL_PAD_SAME ? in[i] * st[i] : (in[i] - 1) * st[i] + k[i])
              : pad == TFL_PAD_SAME ? (in[i] + st[i] - 1) / st[i]
                                    : (in[i] - eff) / st[i] + 1;
  }
  int64_t xd[5] = {1, in[0], in[1], in[2], 3}, bd[1] = {4};
  int64_t wd[5] = {k[0], k[1], k[2], tr ? 4 : 3, tr ? 3 : 4};
  int64_t yd[5] = {1, o[0], o[1], o[2], 4};
  int32_t os[5] = {1, o[0], o[1], o[2], 4};
  Value *y = NULL;
  Node *n;
  if (tr) {
    Value *in4[4] = {ints(&c, 5, os), cst_rand(&c, 5, wd, 0.5f),
                     in_f(&c, 5, xd, false), bias ? cst_rand(&c, 1, bd, 1) : NULL};
    y = out(&c, DT_F32, 5, yd);
    n = op(&c, TFL_CONV_3D_TRANSPOSE, bias ? 4 : 3, in4, 1, &y);
  } else {
    Value *in3[3] = {in_f(&c, 5, xd, false), cst_rand(&c, 5, wd, 0.5f),
                     bias ? cst_rand(&c, 1, bd, 1) : NULL};
    y = out(&c, DT_F32, 5, yd);
    n = op(&c, TFL_CONV_3D, bias ? 3 : 2, in3, 1, &y);
  }
  n->opt.padding = pad;
  n->opt.stride_d = st[0];
  n->opt.stride_h = st[1];
  n->opt.stride_w = st[2];
  n->opt.dilation_d = n->opt.dilation_h = n->opt.dilation_w = dl;
  n->opt.act = TFL_ACT_RELU;
  finish(&c, name, 1, &y);
}

static void cases_conv3d(void) {
  static const int in[3] = {5, 6, 4}, k3[3] = {3, 3, 2}, s1[3] = {1, 1, 1},
                   s2[3] = {2, 1, 2};
  conv3d_case("conv3d_same", false, TFL_PAD_SAME, in, k3, s1, 1, true);
  conv3d_case("conv3d_valid_s2", false, TFL_PAD_VALID, in, k3, s2, 1, false);
  conv3d_case("conv3d_same_s2_dil2", false, TFL_PAD_SAME, in, k3, s2, 2, true);
  conv3d_case("conv3d_t_same_s2", true, TFL_PAD_SAME, in, k3, s2, 1, true);
  conv3d_case("conv3d_t_valid_s2", true, TFL_PAD_VALID, in, k3, s2, 1, false);
  C c;
  c_init(&c);
  int64_t d[4] = {1, 3, 4, 11};
  Value *x = in_f(&c, 4, d, false), *y = out(&c, DT_F32, 4, d);
  Node *n = op(&c, TFL_LOCAL_RESPONSE_NORMALIZATION, 1, &x, 1, &y);
  n->opt.radius = 2;
  n->opt.bias = 1.0f;
  n->opt.alpha = 0.02f;
  n->opt.beta = 0.75f;
  finish(&c, "lrn", 1, &y);
}

static void cases_matmul(void) {
  C c;
  c_init(&c);
  int64_t xd[3] = {2, 5, 20}, wd[2] = {7, 20}, bd[1] = {7}, yd[3] = {2, 5, 7};
  Value *in[3] = {in_f(&c, 3, xd, false), cst_rand(&c, 2, wd, 0.3f),
                  cst_rand(&c, 1, bd, 1)};
  Value *y = out(&c, DT_F32, 3, yd);
  Node *n = op(&c, TFL_FULLY_CONNECTED, 3, in, 1, &y);
  n->opt.keep_num_dims = true;
  n->opt.act = TFL_ACT_RELU;
  finish(&c, "fc_keep_dims", 1, &y);
  /* (LiteRT refuses a FULLY_CONNECTED with a fused TANH; so does ours.) */
  c_init(&c);
  int64_t y2[2] = {10, 7};
  Value *in2[3] = {in_f(&c, 3, xd, false), cst_rand(&c, 2, wd, 0.3f), NULL};
  y = out(&c, DT_F32, 2, y2);
  op(&c, TFL_FULLY_CONNECTED, 3, in2, 1, &y);
  finish(&c, "fc_no_bias", 1, &y);
  for (int adj = 0; adj < 4; adj++) {
    c_init(&c);
    bool ax = adj & 1, ay = adj >> 1;
    int64_t a[4] = {2, 1, ax ? 6 : 3, ax ? 3 : 6}, b[3] = {4, ay ? 5 : 6, ay ? 6 : 5};
    int64_t o[4] = {2, 4, 3, 5};
    Value *ab[2] = {in_f(&c, 4, a, false), in_f(&c, 3, b, false)};
    y = out(&c, DT_F32, 4, o);
    n = op(&c, TFL_BATCH_MATMUL, 2, ab, 1, &y);
    n->opt.adj_x = ax;
    n->opt.adj_y = ay;
    char name[32];
    snprintf(name, sizeof name, "bmm_adj%d%d", ax, ay);
    finish(&c, name, 1, &y);
  }
}

static void cases_elementwise(void) {
  static const int bins[] = {TFL_ADD, TFL_SUB, TFL_MUL, TFL_DIV, TFL_MAXIMUM,
                             TFL_MINIMUM, TFL_POW, TFL_SQUARED_DIFFERENCE,
                             TFL_FLOOR_DIV, TFL_FLOOR_MOD, TFL_LESS,
                             TFL_GREATER_EQUAL, TFL_EQUAL};
  int64_t a[4] = {2, 3, 4, 5}, b[4] = {2, 1, 1, 5}, v[1] = {5}, p[3] = {3, 1, 5};
  char name[64];
  for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++) {
    int k = bins[i];
    int act = k == TFL_ADD || k == TFL_MUL || k == TFL_SUB ? TFL_ACT_RELU6 : 0;
    snprintf(name, sizeof name, "bin_%s_bcast", tfl_op_name(k));
    binary_case(name, k, 4, a, 4, b, act);
    snprintf(name, sizeof name, "bin_%s_vec", tfl_op_name(k));
    binary_case(name, k, 4, a, 1, v, 0);
    snprintf(name, sizeof name, "bin_%s_both", tfl_op_name(k));
    binary_case(name, k, 3, p, 4, b, 0);
    if (k == TFL_ADD || k == TFL_SUB || k == TFL_MUL || k == TFL_DIV) {
      snprintf(name, sizeof name, "bin_%s_tanh", tfl_op_name(k));
      binary_case(name, k, 4, a, 4, b, TFL_ACT_TANH);
    }
  }
  static const int uns[] = {TFL_RELU, TFL_RELU6, TFL_RELU_N1_TO_1,
                            TFL_RELU_0_TO_1, TFL_LEAKY_RELU, TFL_LOGISTIC,
                            TFL_TANH, TFL_ELU, TFL_HARD_SWISH, TFL_EXP, TFL_LOG,
                            TFL_SQRT, TFL_RSQRT, TFL_NEG, TFL_ABS, TFL_FLOOR,
                            TFL_CEIL, TFL_ROUND, TFL_SIN, TFL_COS, TFL_SQUARE,
                            TFL_SIGN, TFL_SOFTMAX, TFL_LOG_SOFTMAX,
                            TFL_L2_NORMALIZATION};
  for (size_t i = 0; i < sizeof uns / sizeof uns[0]; i++) {
    snprintf(name, sizeof name, "un_%s", tfl_op_name(uns[i]));
    unary_case(name, uns[i], 0.15f, false);
  }
  unary_case("un_GELU_exact", TFL_GELU, 0, false);
  unary_case("un_GELU_approx", TFL_GELU, 0, true);
  C c;
  c_init(&c);
  int64_t xd[4] = {1, 4, 4, 6}, ad[3] = {1, 1, 6};
  Value *in[2] = {in_f(&c, 4, xd, false), cst_rand(&c, 3, ad, 1)};
  Value *y = out(&c, DT_F32, 4, xd);
  op(&c, TFL_PRELU, 2, in, 1, &y);
  finish(&c, "prelu", 1, &y);
}

static void cases_reduce(void) {
  static const int32_t a12[2] = {1, 2}, am1[1] = {-1}, a03[2] = {0, 3};
  static const int kinds[] = {TFL_MEAN, TFL_SUM, TFL_REDUCE_MAX, TFL_REDUCE_MIN,
                              TFL_REDUCE_PROD};
  char name[64];
  for (int i = 0; i < 5; i++) {
    snprintf(name, sizeof name, "red_%s_hw_keep", tfl_op_name(kinds[i]));
    reduce_case(name, kinds[i], 2, a12, true);
    snprintf(name, sizeof name, "red_%s_last", tfl_op_name(kinds[i]));
    reduce_case(name, kinds[i], 1, am1, false);
    snprintf(name, sizeof name, "red_%s_03", tfl_op_name(kinds[i]));
    reduce_case(name, kinds[i], 2, a03, false);
  }
  for (int k = 0; k < 2; k++) {
    C c;
    c_init(&c);
    int64_t d[3] = {3, 4, 5}, od[2] = {3, 5};
    Value *in[2] = {in_f(&c, 3, d, false), scalar_i(&c, 1)};
    for (int i = 0; i < 60; i++) /* ties */
      c.data[0][i] = roundf(c.data[0][i]);
    Value *y = out(&c, DT_I32, 2, od);
    Node *n = op(&c, k ? TFL_ARG_MIN : TFL_ARG_MAX, 2, in, 1, &y);
    n->opt.out_type = TFL_TYPE_INT32;
    finish(&c, k ? "arg_min" : "arg_max", 1, &y);
  }
  {
    C c;
    c_init(&c);
    int64_t d[2] = {4, 9}, od[2] = {4, 4};
    Value *in[2] = {in_f(&c, 2, d, false), scalar_i(&c, 4)};
    for (int i = 0; i < 36; i++) /* ties */
      c.data[0][i] = roundf(c.data[0][i]);
    Value *outs[2] = {out(&c, DT_F32, 2, od), out(&c, DT_I32, 2, od)};
    op(&c, TFL_TOPK_V2, 2, in, 2, outs);
    finish(&c, "topk", 2, outs);
  }
  for (int m = 0; m < 4; m++) {
    C c;
    c_init(&c);
    int64_t d[2] = {3, 6};
    Value *in[2] = {in_f(&c, 2, d, false), scalar_i(&c, 1)};
    Value *y = out(&c, DT_F32, 2, d);
    Node *n = op(&c, TFL_CUMSUM, 2, in, 1, &y);
    n->opt.exclusive = m & 1;
    n->opt.reverse = m >> 1;
    snprintf(name, sizeof name, "cumsum_%d", m);
    finish(&c, name, 1, &y);
  }
}

static void cases_resize(void) {
  for (int k = 0; k < 2; k++) {
    int kind = k ? TFL_RESIZE_NEAREST_NEIGHBOR : TFL_RESIZE_BILINEAR;
    const char *nm = k ? "nearest" : "bilinear";
    static const int sz[][4] = {{4, 4, 8, 8}, {3, 5, 5, 9}, {4, 6, 2, 3},
                                {5, 5, 7, 3}};
    for (int s = 0; s < 4; s++)
      for (int f = 0; f < 3; f++) {
        char name[64];
        snprintf(name, sizeof name, "resize_%s_%dx%d_%dx%d_f%d", nm, sz[s][0],
                 sz[s][1], sz[s][2], sz[s][3], f);
        resize_case(name, kind, sz[s][0], sz[s][1], sz[s][2], sz[s][3], f == 1,
                    f == 2);
      }
  }
}

static void cases_moves(void) {
  int64_t d3[3] = {3, 4, 5}, d4[4] = {2, 3, 4, 5};
  TflOptions o;
  /* TRANSPOSE */
  static const int32_t perm[4] = {0, 3, 1, 2};
  const int32_t *cv[3] = {perm};
  int cn[3] = {4};
  int64_t td[4] = {2, 5, 3, 4};
  move_case("transpose", TFL_TRANSPOSE, NULL, 4, d4, 1, cv, cn, 4, td);
  /* STRIDED_SLICE: plain, reversed with masks, shrink */
  static const int32_t b1[3] = {1, 0, 1}, e1[3] = {3, 4, 5}, s1[3] = {1, 2, 2};
  const int32_t *ss1[3] = {b1, e1, s1};
  int sn[3] = {3, 3, 3};
  int64_t y1[3] = {2, 2, 2};
  move_case("ss_plain", TFL_STRIDED_SLICE, NULL, 3, d3, 3, ss1, sn, 3, y1);
  static const int32_t b2[3] = {0, -1, 0}, e2[3] = {0, 0, 0}, s2[3] = {1, -1, 1};
  const int32_t *ss2[3] = {b2, e2, s2};
  memset(&o, 0, sizeof o);
  o.begin_mask = 1;
  o.end_mask = 7;
  move_case("ss_reverse", TFL_STRIDED_SLICE, &o, 3, d3, 3, ss2, sn, 3, d3);
  static const int32_t b3[3] = {0, 2, 0}, e3[3] = {3, 3, 5}, s3[3] = {1, 1, 1};
  const int32_t *ss3[3] = {b3, e3, s3};
  memset(&o, 0, sizeof o);
  o.shrink_axis_mask = 2;
  int64_t y3[2] = {3, 5};
  move_case("ss_shrink", TFL_STRIDED_SLICE, &o, 3, d3, 3, ss3, sn, 2, y3);
  static const int32_t b4[3] = {-2, 1, -100}, e4[3] = {100, -1, 3};
  const int32_t *ss4[3] = {b4, e4, s3};
  int64_t y4[3] = {2, 2, 3};
  move_case("ss_clamp_neg", TFL_STRIDED_SLICE, NULL, 3, d3, 3, ss4, sn, 3, y4);
  /* SLICE */
  static const int32_t sb[3] = {1, 1, 0}, sz[3] = {2, -1, 3};
  const int32_t *sl[2] = {sb, sz};
  int sln[2] = {3, 3};
  int64_t ys[3] = {2, 3, 3};
  move_case("slice", TFL_SLICE, NULL, 3, d3, 2, sl, sln, 3, ys);
  /* PAD / PADV2 / MIRROR_PAD */
  static const int32_t pads[6] = {1, 0, 2, 1, 0, 3};
  int64_t pd[3] = {4, 7, 8};
  const int32_t *pv[1] = {pads};
  int pn[1] = {6};
  memset(&o, 0, sizeof o);
  move_case("pad", TFL_PAD, NULL, 3, d3, 1, pv, pn, 3, pd);
  o.mirror_mode = TFL_MIRROR_REFLECT;
  move_case("mirror_reflect", TFL_MIRROR_PAD, &o, 3, d3, 1, pv, pn, 3, pd);
  o.mirror_mode = TFL_MIRROR_SYMMETRIC;
  move_case("mirror_symmetric", TFL_MIRROR_PAD, &o, 3, d3, 1, pv, pn, 3, pd);
  /* TILE / BROADCAST_TO */
  static const int32_t mult[3] = {2, 1, 3}, shp[4] = {2, 3, 4, 5};
  const int32_t *tv[1] = {mult};
  int tn[1] = {3};
  int64_t tl[3] = {6, 4, 15};
  move_case("tile", TFL_TILE, NULL, 3, d3, 1, tv, tn, 3, tl);
  int64_t bsrc[3] = {3, 1, 5};
  const int32_t *bv[1] = {shp};
  int bn[1] = {4};
  move_case("broadcast_to", TFL_BROADCAST_TO, NULL, 3, bsrc, 1, bv, bn, 4, d4);
  /* DEPTH_TO_SPACE / SPACE_TO_DEPTH */
  memset(&o, 0, sizeof o);
  o.block_size = 2;
  int64_t s8[4] = {1, 2, 3, 8}, d2[4] = {1, 4, 6, 2};
  move_case("depth_to_space", TFL_DEPTH_TO_SPACE, &o, 4, s8, 0, NULL, NULL, 4, d2);
  move_case("space_to_depth", TFL_SPACE_TO_DEPTH, &o, 4, d2, 0, NULL, NULL, 4, s8);
  /* PADV2 with a value, GATHER with batch_dims, SPLIT (axis is input 0),
   * SPLIT_V, CONCATENATION, PACK, UNPACK, SELECT_V2. */
  C c;
  c_init(&c);
  float v = -2.5f;
  Value *in[3] = {in_f(&c, 3, d3, false), pads2d(&c, 3, pads),
                  cst(&c, DT_F32, 0, NULL, &v)};
  Value *y = out(&c, DT_F32, 3, pd);
  op(&c, TFL_PADV2, 3, in, 1, &y);
  finish(&c, "padv2", 1, &y);
  c_init(&c);
  static const int32_t gi[6] = {3, 0, 1, 1, 2, 0};
  int64_t gid[2] = {2, 3}, god[4] = {2, 3, 3, 5};
  Value *gin[2] = {in_f(&c, 4, d4, false), cst(&c, DT_I32, 2, gid, gi)};
  y = out(&c, DT_F32, 4, god);
  Node *n = op(&c, TFL_GATHER, 2, gin, 1, &y);
  n->opt.axis = 2;
  n->opt.batch_dims = 1;
  finish(&c, "gather_batch_dims", 1, &y);
  c_init(&c);
  static const int32_t gi2[4] = {2, 0, 2, 1};
  int64_t gid2[2] = {2, 2}, god2[4] = {3, 2, 2, 5};
  Value *gin2[2] = {in_f(&c, 3, d3, false), cst(&c, DT_I32, 2, gid2, gi2)};
  y = out(&c, DT_F32, 4, god2);
  n = op(&c, TFL_GATHER, 2, gin2, 1, &y);
  n->opt.axis = 1;
  finish(&c, "gather_axis1", 1, &y);
  c_init(&c);
  Value *x = in_f(&c, 3, d3, false);
  int64_t h2[3] = {3, 2, 5}, h1[3] = {3, 1, 5}, h3[3] = {3, 3, 5};
  Value *sp[2] = {out(&c, DT_F32, 3, h2), out(&c, DT_F32, 3, h2)};
  Value *sin_[2] = {scalar_i(&c, 1), x};
  n = op(&c, TFL_SPLIT, 2, sin_, 2, sp);
  n->opt.num_splits = 2;
  static const int32_t sizes[2] = {1, -1};
  Value *svin[3] = {x, ints(&c, 2, sizes), scalar_i(&c, -2)};
  Value *sv[2] = {out(&c, DT_F32, 3, h1), out(&c, DT_F32, 3, h3)};
  n = op(&c, TFL_SPLIT_V, 3, svin, 2, sv);
  n->opt.num_splits = 2;
  Value *cat_in[2] = {sv[1], sp[0]};
  int64_t cd[3] = {3, 5, 5};
  Value *cat = out(&c, DT_F32, 3, cd);
  n = op(&c, TFL_CONCATENATION, 2, cat_in, 1, &cat);
  n->opt.axis = 1;
  int64_t pkd[4] = {3, 2, 2, 5};
  Value *pk = out(&c, DT_F32, 4, pkd);
  n = op(&c, TFL_PACK, 2, sp, 1, &pk);
  n->opt.axis = 1;
  n->opt.values_count = 2;
  Value *up[2] = {out(&c, DT_F32, 3, h2), out(&c, DT_F32, 3, h2)};
  n = op(&c, TFL_UNPACK, 1, &pk, 2, up);
  n->opt.axis = 1;
  n->opt.num = 2;
  Value *outs[6] = {sp[1], sv[0], cat, pk, up[0], up[1]};
  finish(&c, "split_concat_pack", 6, outs);
  c_init(&c);
  Value *a = in_f(&c, 3, d3, false), *b = in_f(&c, 1, (int64_t[1]){5}, false);
  Value *ab[2] = {a, b};
  Value *cmpv = out(&c, DT_BOOL, 3, d3);
  op(&c, TFL_GREATER, 2, ab, 1, &cmpv);
  Value *sel_in[3] = {cmpv, a, b};
  Value *sel = out(&c, DT_F32, 3, d3);
  op(&c, TFL_SELECT_V2, 3, sel_in, 1, &sel);
  finish(&c, "select_v2", 1, &sel);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: ref_cases OUTDIR\n");
    return 64;
  }
  outdir = argv[1];
  char path[4096];
  snprintf(path, sizeof path, "%s/cases.txt", outdir);
  list = fopen(path, "w");
  if (!list) {
    fprintf(stderr, "ref_cases: cannot write %s\n", path);
    return 1;
  }
  cases_conv();
  cases_conv3d();
  cases_matmul();
  cases_elementwise();
  cases_reduce();
  cases_resize();
  cases_moves();
  fclose(list);
  return failures ? 1 : 0;
}
