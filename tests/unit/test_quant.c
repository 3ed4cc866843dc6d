/* test_quant.c - quantization: the parameter math against the spec's
 * formulas with known numbers (asymmetric nudging, symmetric int16,
 * per-channel weights, zero slices, biases and TF's overflow adjustment,
 * float16 flushing, histogram clipping), and the graph rewrites on small
 * hand-made TFLite graphs: same-scale groups, fixed outputs and the
 * requantize they may need, float fallback, PADV2 -> PAD, int16x8
 * details, I/O types and names, bias correction, float16 and dynamic
 * modes, calibration through the reference runner (io_perm mapping), and
 * the --report JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "quant/quant_impl.h"
#include "ref/ref.h"

#define NEAR(a, b, tol) (fabs((double)(a) - (double)(b)) <= (tol))

/* ---- parameter math ------------------------------------------------------ */

static void test_asymmetric(void) {
  /* [-1, 2]: scale 3/255, both zero points -128 + 85 = 127 - 170 = -43 */
  QParams p = qp_asymmetric(-1, 2, -128, 127);
  CHECK(NEAR(p.scale, 3.0 / 255, 1e-9));
  CHECK(p.zp == -43);
  CHECK(qp_quantize(0.0, p, -128, 127) == p.zp);
  /* [-0.3, 5.7]: zp = -128 + 12.75 = -115.25, nudged to -115 */
  p = qp_asymmetric(-0.3, 5.7, -128, 127);
  CHECK(NEAR(p.scale, 6.0 / 255, 1e-9));
  CHECK(p.zp == -115);
  /* ranges are widened to include 0 */
  p = qp_asymmetric(0.5, 3, -128, 127);
  CHECK(NEAR(p.scale, 3.0 / 255, 1e-9) && p.zp == -128);
  p = qp_asymmetric(-3, -1, -128, 127);
  CHECK(NEAR(p.scale, 3.0 / 255, 1e-9) && p.zp == 127);
  /* uint8 */
  p = qp_asymmetric(-1, 2, 0, 255);
  CHECK(p.zp == 85);
  /* an empty range still gives a usable (finite, positive) scale */
  p = qp_asymmetric(0, 0, -128, 127);
  CHECK(p.scale > 0 && isfinite(p.scale) && p.zp >= -128 && p.zp <= 127);
  p = qp_asymmetric(NAN, NAN, -128, 127);
  CHECK(p.scale > 0 && isfinite(p.scale));
  /* rounding half away from zero, clamping */
  QParams q = {0.5f, 0};
  CHECK(qp_quantize(0.25, q, -128, 127) == 1);
  CHECK(qp_quantize(-0.25, q, -128, 127) == -1);
  CHECK(qp_quantize(1000, q, -128, 127) == 127);
  CHECK(qp_quantize(-1000, q, -128, 127) == -128);
  float lo, hi;
  qp_real_range((QParams){1.0f / 256, -128}, -128, 127, &lo, &hi);
  CHECK(lo == 0.0f && NEAR(hi, 255.0 / 256, 1e-7));
}

static void test_symmetric(void) {
  QParams p = qp_symmetric(-2, 1, 32767);
  CHECK(NEAR(p.scale, 2.0 / 32767, 1e-12) && p.zp == 0);
  p = qp_symmetric(0, 0, 32767);
  CHECK(p.scale > 0 && p.zp == 0);
}

static void test_weights(void) {
  /* [2,1,1,3] per-channel along 0: channel 1 is all zero */
  const float w[6] = {1, -2, 0.5f, 0, 0, 0};
  int64_t d[4] = {2, 1, 1, 3};
  float s[2];
  int8_t q[6];
  qw_scales(w, 4, d, 0, s);
  CHECK(NEAR(s[0], 2.0 / 127, 1e-9));
  CHECK(s[1] > 0 && s[1] < 1e-6f);
  qw_quantize(w, 4, d, 0, s, q);
  CHECK(q[0] == 64 && q[1] == -127 && q[2] == 32); /* 63.5 rounds to 64 */
  CHECK(q[3] == 0 && q[4] == 0 && q[5] == 0);
  /* depthwise [1,1,2,2] along 3 */
  const float dw[4] = {1, -4, -0.5f, 2};
  int64_t dd[4] = {1, 1, 2, 2};
  qw_scales(dw, 4, dd, 3, s);
  CHECK(NEAR(s[0], 1.0 / 127, 1e-9) && NEAR(s[1], 4.0 / 127, 1e-9));
  /* per-tensor */
  qw_scales(dw, 4, dd, -1, s);
  CHECK(NEAR(s[0], 4.0 / 127, 1e-9));
  qw_quantize(dw, 4, dd, -1, s, q);
  CHECK(q[1] == -127 && q[3] == 64);
  /* unaligned source (constants may sit anywhere in the model file) */
  unsigned char raw[4 * 6 + 1];
  memcpy(raw + 1, w, sizeof w);
  qw_scales(raw + 1, 4, d, 0, s);
  CHECK(NEAR(s[0], 2.0 / 127, 1e-9));
}

static void test_bias(void) {
  const float b[2] = {1, -1};
  float sw[2] = {0.01f, 0.02f}, out_s[2];
  int32_t q[2];
  qb_quantize(b, 2, 0.5, sw, 2, 32, q, out_s);
  CHECK(q[0] == 200 && q[1] == -100);
  CHECK(NEAR(out_s[0], 0.005, 1e-9) && NEAR(out_s[1], 0.01, 1e-9));
  int64_t q64[2];
  qb_quantize(b, 2, 0.5, sw, 2, 64, q64, out_s);
  CHECK(q64[0] == 200 && q64[1] == -100);
  /* TF's adjustment: |b| >= 0.5 * s_in * s_w * (2^31 - 1) enlarges s_w */
  const float big[2] = {1e7f, 1.0f};
  float sw2[2] = {1e-3f, 1e-3f};
  CHECK(qb_adjust_weight_scales(big, 2, 1e-3, sw2, 2, 32) == 1);
  CHECK(NEAR(sw2[0], 2e7 / 2147483647.0 / 1e-3, 1e-6));
  CHECK(sw2[1] == 1e-3f);
  qb_quantize(big, 2, 1e-3, sw2, 2, 32, q, out_s);
  CHECK(q[0] > 1000000000 && q[0] < 2147483647);
  /* a bias that does not fit is clamped, never wraps */
  float tiny[1] = {1e-12f};
  const float huge[1] = {1e9f};
  qb_quantize(huge, 1, 1e-3, tiny, 1, 32, q, out_s);
  CHECK(q[0] == 2147483647);
}

static void test_float16(void) {
  uint16_t h[3];
  const float ok[3] = {1.0f, 65504.0f, 1e-9f};
  CHECK(qh_convert(ok, 3, h));
  CHECK(f16_to_f32(h[0]) == 1.0f && f16_to_f32(h[1]) == 65504.0f);
  const float over[1] = {70000.0f};
  CHECK(!qh_convert(over, 1, h));
  const float eps[1] = {1e-12f}; /* an epsilon would become 0 */
  CHECK(!qh_convert(eps, 1, h));
}

static void test_histogram(void) {
  /* 10000 values spread over bins 0..99 of [0, 2048) (w = 1) and one
   * outlier in the last bin */
  static double bins[2048];
  memset(bins, 0, sizeof bins);
  for (int k = 0; k < 100; k++)
    bins[k] = 100;
  bins[2047] = 1;
  float lo, hi;
  calib_hist_range(bins, 2048, 0, 1, O2L_CALIB_MINMAX, 255, false, 0, 2048,
                   &lo, &hi);
  CHECK(lo == 0 && hi == 2048);
  calib_hist_range(bins, 2048, 0, 1, O2L_CALIB_PERCENTILE, 255, false, 0,
                   2048, &lo, &hi);
  CHECK(lo == 0 && hi >= 99 && hi <= 100);
  /* mse keeps one far outlier: clipping it costs more than the coarser
   * step does */
  calib_hist_range(bins, 2048, 0, 1, O2L_CALIB_MSE, 255, false, 0, 2048,
                   &lo, &hi);
  CHECK(lo == 0 && hi > 2000);
  /* a half-Gaussian (sigma = 100 bins): mse clips near 4 sigma, the
   * 1e-4 percentile near 3.9 sigma */
  for (int k = 0; k < 2048; k++)
    bins[k] = 1e6 * exp(-(k / 100.0) * (k / 100.0) / 2);
  calib_hist_range(bins, 2048, 0, 1, O2L_CALIB_MSE, 255, false, 0, 2048,
                   &lo, &hi);
  CHECK(lo == 0 && hi > 350 && hi < 500);
  calib_hist_range(bins, 2048, 0, 1, O2L_CALIB_PERCENTILE, 255, false, 0,
                   2048, &lo, &hi);
  CHECK(lo == 0 && hi > 370 && hi < 410);
  /* symmetric: the range is +-t */
  calib_hist_range(bins, 2048, -1024, 1, O2L_CALIB_PERCENTILE, 65535, true,
                   -1024, 1024, &lo, &hi);
  CHECK(lo == -hi);
}

/* ---- small TFLite graphs --------------------------------------------------- */

typedef struct T {
  Arena a;
  Ctx cx;
  o2l_options o;
  Graph *g;
  CalibRange *r;
} T;

static void t_init(T *t, o2l_quant_mode m) {
  memset(t, 0, sizeof *t);
  arena_init(&t->a);
  t->o.quantize = m;
  t->o.quiet = 1;
  ctx_init(&t->cx, &t->a, &t->o, NULL);
  t->g = graph_new(&t->cx, GRAPH_TFL);
}

static void t_free(T *t) {
  graph_release(t->g);
  arena_free(&t->a);
}

static Value *act(T *t, const char *name, int rank, const int64_t *d) {
  return graph_add_value(&t->cx, t->g, name, DT_F32, rank, d);
}

static Value *cst(T *t, const char *name, DType dt, int rank,
                  const int64_t *d, const void *data) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= d[i];
  size_t nb = (size_t)n * dtype_size(dt);
  void *p = arena_alloc(&t->a, nb + 1, 16);
  memcpy(p, data, nb);
  return graph_add_const(&t->cx, t->g, name, dt, rank, d, p, nb);
}

static Node *op(T *t, int o, int nin, Value **in, Value *out) {
  return graph_add_node(&t->cx, t->g, o, out->name, nin, in, 1, &out);
}

static void io(T *t, Value *in, Value *out) {
  graph_set_inputs(&t->cx, t->g, 1, &in);
  graph_set_outputs(&t->cx, t->g, 1, &out);
}

/* ranges indexed by value id; call after the graph is built */
static void ranges(T *t) {
  t->r = arena_alloc(&t->a, sizeof(CalibRange) * (size_t)(t->g->nvalues + 1), 8);
}

static void rng(T *t, const Value *v, float lo, float hi) {
  CalibRange *r = &t->r[v->id];
  r->set = true;
  r->min = r->raw_min = lo;
  r->max = r->raw_max = hi;
}

static int count_ops(const Graph *g, int o) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += !g->nodes[i]->dead && g->nodes[i]->op == o;
  return k;
}

static const Node *find_op(const Graph *g, int o) {
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i]->dead && g->nodes[i]->op == o)
      return g->nodes[i];
  return NULL;
}

static bool qis(const Value *v, float scale, int64_t zp) {
  return v && v->quant && v->quant->n == 1 &&
         NEAR(v->quant->scale[0], scale, 1e-7 * fabs(scale) + 1e-12) &&
         v->quant->zp[0] == zp;
}

static bool same_q(const Value *a, const Value *b) {
  return a->quant && b->quant && a->quant->scale[0] == b->quant->scale[0] &&
         a->quant->zp[0] == b->quant->zp[0];
}

static Status finish(T *t, DType act_t, DType io_t) {
  Status st = quant_integer(&t->cx, t->g, t->r, act_t, io_t);
  if (st == O2L_OK)
    st = graph_toposort(&t->cx, t->g);
  return st;
}

static const float w6[6] = {0.5f, -1, 0.25f, 1, 0.75f, -0.5f};

/* x -> CONV_2D(1x1, RELU) -> MAX_POOL -> RESHAPE -> FC -> SOFTMAX -> y */
static void test_int8_chain(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t dx[4] = {1, 4, 4, 2}, dw[4] = {3, 1, 1, 2}, db[1] = {3};
  int64_t dc[4] = {1, 4, 4, 3}, dp[4] = {1, 2, 2, 3}, dr[2] = {1, 12};
  int64_t dsh[1] = {2}, dfw[2] = {4, 12}, dfb[1] = {4}, dy[2] = {1, 4};
  float fw[48], fb[4] = {0.1f, -0.2f, 0.3f, 0};
  for (int i = 0; i < 48; i++)
    fw[i] = (float)((i * 7) % 11 - 5) / 10;
  const float cb[3] = {0.1f, 0.2f, -0.1f};
  const int32_t shape[2] = {1, 12};
  Value *x = act(&t, "x", 4, dx), *c = act(&t, "c", 4, dc);
  Value *p = act(&t, "p", 4, dp), *r = act(&t, "r", 2, dr);
  Value *f = act(&t, "f", 2, dy), *y = act(&t, "y", 2, dy);
  Value *w = cst(&t, "w", DT_F32, 4, dw, w6), *b = cst(&t, "b", DT_F32, 1, db, cb);
  Value *sh = cst(&t, "shape", DT_I32, 1, dsh, shape);
  Value *w2 = cst(&t, "w2", DT_F32, 2, dfw, fw), *b2 = cst(&t, "b2", DT_F32, 1, dfb, fb);
  Node *conv = op(&t, TFL_CONV_2D, 3, (Value *[]){x, w, b}, c);
  conv->opt.act = TFL_ACT_RELU;
  Node *pool = op(&t, TFL_MAX_POOL_2D, 1, (Value *[]){c}, p);
  pool->opt.filter_w = pool->opt.filter_h = 2;
  op(&t, TFL_RESHAPE, 2, (Value *[]){p, sh}, r);
  Node *fc = op(&t, TFL_FULLY_CONNECTED, 3, (Value *[]){r, w2, b2}, f);
  op(&t, TFL_SOFTMAX, 1, (Value *[]){f}, y);
  io(&t, x, y);
  ranges(&t);
  rng(&t, x, -1, 3);
  rng(&t, c, 0, 6);
  rng(&t, p, 0, 5);
  rng(&t, r, 0, 5);
  rng(&t, f, -8, 8);
  rng(&t, y, 0, 1);
  CHECK(finish(&t, DT_I8, DT_I8) == O2L_OK);
  Graph *g = t.g;
  /* zero point of [-1, 3]: -128 + 63.75 = -64.25 -> -64 */
  CHECK(x->dtype == DT_I8 && qis(x, 4.0f / 255, -64));
  CHECK(g->inputs[0] == x && !strcmp(x->name, "x"));
  CHECK(g->outputs[0] == y && !strcmp(y->name, "y"));
  /* pool and reshape share the conv output's parameters: union [0, 6] */
  CHECK(qis(c, 6.0f / 255, -128) && same_q(c, p) && same_q(c, r));
  CHECK(qis(y, 1.0f / 256, -128));
  CHECK(qis(f, 16.0f / 255, -1) && f->quant->has_range); /* -0.5 -> -1 */
  /* per-channel weights, int32 bias at s_in * s_w */
  const Value *qw = conv->in[1], *qb = conv->in[2];
  CHECK(qw->dtype == DT_I8 && qw->quant->n == 3 && qw->quant->axis == 0);
  CHECK(qb->dtype == DT_I32 && qb->quant->n == 3);
  for (int k = 0; k < 3; k++) {
    CHECK(qw->quant->zp[k] == 0);
    CHECK(NEAR(qb->quant->scale[k], (double)x->quant->scale[0] * qw->quant->scale[k], 1e-12));
    int32_t want = (int32_t)lround(cb[k] / ((double)x->quant->scale[0] * qw->quant->scale[k]));
    CHECK(abs(((const int32_t *)qb->data)[k] - want) <= 1);
  }
  CHECK(NEAR(qw->quant->scale[0], 1.0 / 127, 1e-9)); /* max |0.5, -1| */
  CHECK(fc->in[1]->quant->n == 4 && fc->in[2]->dtype == DT_I32);
  CHECK(count_ops(g, TFL_QUANTIZE) == 0 && count_ops(g, TFL_DEQUANTIZE) == 0);
  CHECK(sh->dtype == DT_I32 && !sh->quant);
  /* the report names every tensor with its parameters */
  char path[64];
  snprintf(path, sizeof path, "/tmp/o2l_test_quant_%d.json", (int)getpid());
  graph_compact(g);
  CHECK(quant_write_report(&t.cx, g, path) == O2L_OK);
  FILE *fp = fopen(path, "r");
  char buf[16384];
  size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
  buf[n] = 0;
  if (fp)
    fclose(fp);
  remove(path);
  CHECK(strstr(buf, "\"name\": \"x\", \"type\": \"int8\"") != NULL);
  CHECK(strstr(buf, "\"calibrated_range\": [-1, 3]") != NULL);
  CHECK(strstr(buf, "\"zero_point\": [-64]") != NULL);
  CHECK(strstr(buf, "\"quantized_dimension\": 0") != NULL);
  CHECK(strstr(buf, "\"op\": \"SOFTMAX\"") != NULL);
  CHECK(strstr(buf, "\"integer\": true") != NULL);
  t_free(&t);
}

/* CONCAT(LOGISTIC(x), x): a wide x forces a requantize of the fixed
 * output; a narrow one lets the group take the fixed parameters. */
static void test_fixed_groups(void) {
  for (int wide = 0; wide < 2; wide++) {
    T t;
    t_init(&t, O2L_QUANT_INT8);
    int64_t d[2] = {1, 4}, dc[2] = {1, 8};
    Value *x = act(&t, "x", 2, d), *s = act(&t, "s", 2, d), *y = act(&t, "y", 2, dc);
    op(&t, TFL_LOGISTIC, 1, (Value *[]){x}, s);
    Node *cat = op(&t, TFL_CONCATENATION, 2, (Value *[]){s, x}, y);
    cat->opt.axis = 1;
    io(&t, x, y);
    ranges(&t);
    rng(&t, x, wide ? -4 : 0.1f, wide ? 4 : 0.9f);
    rng(&t, s, 0.01f, 0.99f);
    rng(&t, y, wide ? -4 : 0.01f, wide ? 4 : 0.99f);
    CHECK(finish(&t, DT_I8, DT_I8) == O2L_OK);
    CHECK(same_q(cat->in[0], y) && same_q(cat->in[1], y));
    const Node *rq = find_op(t.g, TFL_QUANTIZE);
    if (wide) {
      CHECK(rq != NULL);
      CHECK(rq && qis(rq->in[0], 1.0f / 256, -128) && rq->out[0] == s);
      CHECK(qis(y, 8.0f / 255, 0) || qis(y, 8.0f / 255, -1));
    } else {
      CHECK(rq == NULL);
      CHECK(qis(y, 1.0f / 256, -128) && qis(s, 1.0f / 256, -128));
    }
    t_free(&t);
  }
}

/* ADD -> DIV (no int8 kernel) -> MUL, the MUL also reading the ADD: DIV
 * stays float between a DEQUANTIZE and a QUANTIZE; io float32 keeps the
 * names on the edges. */
static void test_fallback_and_io(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t d[2] = {1, 4}, d1[1] = {1};
  const float two[1] = {2}, three[1] = {3};
  Value *x = act(&t, "x", 2, d), *a = act(&t, "a", 2, d), *q = act(&t, "q", 2, d);
  Value *y = act(&t, "y", 2, d);
  Value *c2 = cst(&t, "two", DT_F32, 1, d1, two), *c3 = cst(&t, "three", DT_F32, 1, d1, three);
  Node *add = op(&t, TFL_ADD, 2, (Value *[]){x, c2}, a);
  Node *div = op(&t, TFL_DIV, 2, (Value *[]){a, c3}, q);
  Node *mul = op(&t, TFL_MUL, 2, (Value *[]){q, a}, y);
  io(&t, x, y);
  ranges(&t);
  rng(&t, x, -1, 1);
  rng(&t, a, 1, 3);
  rng(&t, q, 0.3f, 1);
  rng(&t, y, 0.3f, 3);
  CHECK(finish(&t, DT_I8, DT_F32) == O2L_OK);
  Graph *g = t.g;
  CHECK(div->in[0]->dtype == DT_F32 && div->in[0]->producer &&
        div->in[0]->producer->op == TFL_DEQUANTIZE && div->in[0]->producer->in[0] == a);
  CHECK(q->dtype == DT_F32 && div->in[1]->dtype == DT_F32);
  CHECK(mul->in[0]->dtype == DT_I8 && mul->in[0]->producer->op == TFL_QUANTIZE);
  CHECK(add->in[1]->dtype == DT_I8 && qis(add->in[1], 2.0f / 255, -128));
  CHECK(mul->in[1] == a && a->dtype == DT_I8);
  /* float32 I/O: QUANTIZE in, DEQUANTIZE out, names on the edges */
  Value *in = g->inputs[0], *out = g->outputs[0];
  CHECK(in->dtype == DT_F32 && !strcmp(in->name, "x") && !strcmp(x->name, "x_int8"));
  CHECK(out->dtype == DT_F32 && !strcmp(out->name, "y") && !strcmp(y->name, "y_int8"));
  CHECK(out->producer && out->producer->op == TFL_DEQUANTIZE);
  CHECK(count_ops(g, TFL_QUANTIZE) == 2 && count_ops(g, TFL_DEQUANTIZE) == 2);
  CHECK(in->is_input && !x->is_input && out->is_output && !y->is_output);
  t_free(&t);
}

/* ADD -> DIV -> MUL with only the DIV reading the ADD: the ADD joins the
 * float DIV (its constant stays float, so a small one is not rounded
 * away) and the DEQUANTIZE moves to its input. */
static void test_float_with_readers(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t d[2] = {1, 4}, d1[1] = {1};
  const float eps[1] = {1e-5f}, three[1] = {3};
  Value *x = act(&t, "x", 2, d), *a = act(&t, "a", 2, d), *q = act(&t, "q", 2, d);
  Value *y = act(&t, "y", 2, d);
  Value *ce = cst(&t, "eps", DT_F32, 1, d1, eps), *c3 = cst(&t, "three", DT_F32, 1, d1, three);
  Node *add = op(&t, TFL_ADD, 2, (Value *[]){x, ce}, a);
  Node *div = op(&t, TFL_DIV, 2, (Value *[]){c3, a}, q);
  Node *mul = op(&t, TFL_MUL, 2, (Value *[]){q, c3}, y);
  io(&t, x, y);
  ranges(&t);
  rng(&t, x, 0, 1);
  rng(&t, a, 0, 1);
  rng(&t, q, 3, 300000);
  rng(&t, y, 9, 900000);
  CHECK(finish(&t, DT_I8, DT_I8) == O2L_OK);
  CHECK(a->dtype == DT_F32 && add->in[1] == ce && ce->dtype == DT_F32);
  const Node *dq = add->in[0]->producer;
  CHECK(add->in[0]->dtype == DT_F32 && dq && dq->op == TFL_DEQUANTIZE &&
        dq->in[0] == t.g->inputs[0] && dq->in[0]->dtype == DT_I8);
  CHECK(div->in[1] == a && q->dtype == DT_F32);
  CHECK(mul->in[0]->dtype == DT_I8 && mul->in[0]->producer->op == TFL_QUANTIZE);
  CHECK(count_ops(t.g, TFL_QUANTIZE) == 1 && count_ops(t.g, TFL_DEQUANTIZE) == 1);
  t_free(&t);
}

static void test_uint8_io(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t d[2] = {1, 4};
  Value *x = act(&t, "x", 2, d), *y = act(&t, "y", 2, d);
  op(&t, TFL_RELU, 1, (Value *[]){x}, y);
  io(&t, x, y);
  ranges(&t);
  rng(&t, x, -1, 2);
  rng(&t, y, 0, 2);
  CHECK(finish(&t, DT_I8, DT_U8) == O2L_OK);
  Value *in = t.g->inputs[0], *out = t.g->outputs[0];
  CHECK(in->dtype == DT_U8 && qis(in, 3.0f / 255, -43 + 128));
  CHECK(x->dtype == DT_I8 && qis(x, 3.0f / 255, -43));
  CHECK(out->dtype == DT_U8 && out->quant->zp[0] == y->quant->zp[0] + 128);
  CHECK(in->producer == NULL && x->producer->op == TFL_QUANTIZE);
  CHECK(out->producer->op == TFL_QUANTIZE);
  t_free(&t);
}

/* PADV2 with -inf (a max-pool pad) after a ReLU range is a PAD. */
static void test_padv2(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t d[4] = {1, 2, 2, 1}, dp[4] = {1, 4, 4, 1}, dpad[2] = {4, 2}, d1[1] = {1};
  const int32_t pads[8] = {0, 0, 1, 1, 1, 1, 0, 0};
  const float ninf[1] = {-3.4e38f};
  Value *x = act(&t, "x", 4, d), *r = act(&t, "r", 4, d), *p = act(&t, "p", 4, dp);
  Value *pv = cst(&t, "pads", DT_I32, 2, dpad, pads), *v = cst(&t, "v", DT_F32, 1, d1, ninf);
  op(&t, TFL_RELU, 1, (Value *[]){x}, r);
  Node *pad = op(&t, TFL_PADV2, 3, (Value *[]){r, pv, v}, p);
  io(&t, x, p);
  ranges(&t);
  rng(&t, x, -1, 3);
  rng(&t, r, 0, 3);
  rng(&t, p, 0, 3);
  CHECK(finish(&t, DT_I8, DT_I8) == O2L_OK);
  CHECK(pad->op == TFL_PAD && pad->nin == 2 && same_q(r, p));
  CHECK(qis(p, 3.0f / 255, -128));
  t_free(&t);
}

/* A PADV2 of -FLT_MAX (a max-pool border) after an output with negative
 * values stays PADV2; its calibrated range (which saw the border) must
 * not reach the group: the group is its input's range. */
static void test_padv2_sentinel(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t d[4] = {1, 2, 2, 1}, dp[4] = {1, 3, 3, 1}, dpad[2] = {4, 2}, d1[1] = {1};
  const int32_t pads[8] = {0, 0, 0, 1, 0, 1, 0, 0};
  const float lowest[1] = {-3.4028235e38f};
  Value *x = act(&t, "x", 4, d), *c = act(&t, "c", 4, d), *p = act(&t, "p", 4, dp);
  Value *pv = cst(&t, "pads", DT_I32, 2, dpad, pads), *v = cst(&t, "v", DT_F32, 1, d1, lowest);
  op(&t, TFL_ABS, 1, (Value *[]){x}, c);
  Node *pad = op(&t, TFL_PADV2, 3, (Value *[]){c, pv, v}, p);
  io(&t, x, p);
  ranges(&t);
  rng(&t, x, -1, 3);
  rng(&t, c, -1, 3); /* pretend: an output with negative values */
  rng(&t, p, -3.4028235e38f, 3);
  CHECK(finish(&t, DT_I8, DT_I8) == O2L_OK);
  CHECK(pad->op == TFL_PADV2 && same_q(c, p) && qis(p, 4.0f / 255, -64));
  CHECK(((const int8_t *)pad->in[2]->data)[0] == -128);
  t_free(&t);
}

/* quant_rewrite: SUM -> MEAN * count; ELU -> MINIMUM, EXP, ADD, MAXIMUM;
 * DIV by a SQRT used once -> MUL by an RSQRT (not when the SQRT has
 * another use); a RELU of a constant is folded. */
static void test_rewrites(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t d[4] = {1, 2, 3, 4}, ds[3] = {1, 3, 4}, d1[1] = {1};
  const int32_t ax[1] = {1};
  const float cvals[24] = {-1, 2, -3, 4};
  Value *x = act(&t, "x", 4, d), *s = act(&t, "s", 3, ds), *e = act(&t, "e", 4, d);
  Value *q = act(&t, "q", 4, d), *dv = act(&t, "dv", 4, d);
  Value *q2 = act(&t, "q2", 4, d), *dv2 = act(&t, "dv2", 4, d), *dv3 = act(&t, "dv3", 4, d);
  Value *r = act(&t, "r", 4, d), *y = act(&t, "y", 4, d);
  Value *axes = cst(&t, "axes", DT_I32, 1, d1, ax), *c = cst(&t, "c", DT_F32, 4, d, cvals);
  op(&t, TFL_SUM, 2, (Value *[]){x, axes}, s);
  op(&t, TFL_ELU, 1, (Value *[]){x}, e);
  Node *sq = op(&t, TFL_SQRT, 1, (Value *[]){e}, q);
  Node *div = op(&t, TFL_DIV, 2, (Value *[]){x, q}, dv);
  Node *sq2 = op(&t, TFL_SQRT, 1, (Value *[]){dv}, q2);
  Node *div2 = op(&t, TFL_DIV, 2, (Value *[]){dv, q2}, dv2);
  op(&t, TFL_ADD, 2, (Value *[]){dv2, q2}, dv3); /* q2 has two uses */
  Node *relu = op(&t, TFL_RELU, 1, (Value *[]){c}, r);
  op(&t, TFL_ADD, 2, (Value *[]){dv3, r}, y);
  Value *outs[2] = {s, y};
  graph_set_inputs(&t.cx, t.g, 1, &x);
  graph_set_outputs(&t.cx, t.g, 2, outs);
  CHECK(quant_rewrite(&t.cx, t.g) == O2L_OK);
  CHECK(count_ops(t.g, TFL_SUM) == 0 && count_ops(t.g, TFL_MEAN) == 1);
  const Node *mul = s->producer;
  CHECK(mul && mul->op == TFL_MUL && mul->in[0]->producer->op == TFL_MEAN);
  CHECK(value_is_const(mul->in[1]) && load_f32(mul->in[1]->data, 0) == 2.0f);
  CHECK(count_ops(t.g, TFL_ELU) == 0 && e->producer->op == TFL_MAXIMUM);
  CHECK(e->producer->in[0] == x && count_ops(t.g, TFL_EXP) == 1 &&
        count_ops(t.g, TFL_MINIMUM) == 1);
  CHECK(sq->op == TFL_RSQRT && div->op == TFL_MUL);
  CHECK(sq2->op == TFL_SQRT && div2->op == TFL_DIV);
  CHECK(relu->dead || count_ops(t.g, TFL_RELU) == 0);
  CHECK(value_is_const(r) && load_f32(r->data, 0) == 0 && load_f32(r->data, 3) == 4);
  /* producers come before their consumers */
  for (int i = 0; i < t.g->nnodes; i++)
    for (int j = 0; j < t.g->nodes[i]->nin; j++) {
      const Node *p = t.g->nodes[i]->in[j] ? t.g->nodes[i]->in[j]->producer : NULL;
      CHECK(!p || p->id < i);
    }
  t_free(&t);
}

/* DEPTH_TO_SPACE and SPACE_TO_DEPTH rewritten as SPLIT / RESHAPE /
 * CONCATENATION compute the same tensors (reference runner before and
 * after), and S2D(D2S(x)) is x. */
static void run_ref(T *t, const float *x, float *y, size_t ny, float *z, size_t nz) {
  RefRunner *r = NULL;
  CHECK(ref_prepare(&t->cx, t->g, &r) == O2L_OK);
  if (!r)
    return;
  const float *in[1] = {x};
  CHECK(ref_run(r, in) == O2L_OK);
  memcpy(y, ref_output(r, 0), ny * sizeof(float));
  memcpy(z, ref_output(r, 1), nz * sizeof(float));
  ref_free(r);
}

static void test_rewrite_space(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t dx[4] = {1, 2, 3, 8}, dy[4] = {1, 4, 6, 2};
  Value *x = act(&t, "x", 4, dx), *y = act(&t, "y", 4, dy), *z = act(&t, "z", 4, dx);
  Node *d2s = op(&t, TFL_DEPTH_TO_SPACE, 1, (Value *[]){x}, y);
  Node *s2d = op(&t, TFL_SPACE_TO_DEPTH, 1, (Value *[]){y}, z);
  d2s->opt.block_size = s2d->opt.block_size = 2;
  Value *outs[2] = {y, z};
  graph_set_inputs(&t.cx, t.g, 1, &x);
  graph_set_outputs(&t.cx, t.g, 2, outs);
  float in[48], y0[48], z0[48], y1[48], z1[48];
  for (int i = 0; i < 48; i++)
    in[i] = (float)i;
  run_ref(&t, in, y0, 48, z0, 48);
  CHECK(quant_rewrite(&t.cx, t.g) == O2L_OK);
  CHECK(count_ops(t.g, TFL_DEPTH_TO_SPACE) == 0 && count_ops(t.g, TFL_SPACE_TO_DEPTH) == 0);
  CHECK(count_ops(t.g, TFL_SPLIT) == 2 && count_ops(t.g, TFL_CONCATENATION) == 2);
  run_ref(&t, in, y1, 48, z1, 48);
  CHECK(memcmp(y0, y1, sizeof y0) == 0 && memcmp(z0, z1, sizeof z0) == 0);
  CHECK(memcmp(z1, in, sizeof in) == 0);
  /* TFLite's order: y[0, 0, 1, 0] (i = 0, j = 1) = x[0, 0, 0, (0*2 + 1)*2] */
  CHECK(y1[(0 * 6 + 1) * 2 + 0] == in[(0 * 2 + 1) * 2]);
  t_free(&t);
}

/* Weight-only int8 for an operator left in float: a CONV_3D filter
 * [kd, kh, kw, C, M] becomes int8 per output channel (axis 4) behind one
 * DEQUANTIZE; a small constant and a non-weight input stay float. */
static void test_weight_only(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t dx[5] = {1, 2, 4, 4, 8}, dw[5] = {3, 3, 3, 8, 16}, dy[5] = {1, 2, 4, 4, 16};
  int64_t dws[5] = {1, 1, 1, 8, 2}, dys[5] = {1, 2, 4, 4, 2};
  float *w = calloc(3 * 3 * 3 * 8 * 16, sizeof(float));
  for (int i = 0; i < 3 * 3 * 3 * 8 * 16; i++)
    w[i] = (float)((i % 16) + 1) * (i % 3 == 0 ? -0.01f : 0.01f);
  Value *x = act(&t, "x", 5, dx), *y = act(&t, "y", 5, dy), *ys = act(&t, "ys", 5, dys);
  Value *wv = cst(&t, "w", DT_F32, 5, dw, w), *small = cst(&t, "small", DT_F32, 5, dws, w);
  Node *c1 = op(&t, TFL_CONV_3D, 2, (Value *[]){x, wv}, y);
  Node *c2 = op(&t, TFL_CONV_3D, 2, (Value *[]){x, small}, ys);
  unsigned char fl[2] = {1, 1};
  int done = 0;
  CHECK(q_weight_only(&t.cx, t.g, 2, fl, &done) == O2L_OK && done == 1);
  graph_uses(t.g);
  const Node *dq = c1->in[1]->producer;
  CHECK(c1->in[1]->dtype == DT_F32 && dq && dq->op == TFL_DEQUANTIZE);
  const Value *q = dq ? dq->in[0] : NULL;
  CHECK(q && q->dtype == DT_I8 && q->quant && q->quant->n == 16 && q->quant->axis == 4);
  /* channel 15 holds +-0.16: scale 0.16 / 127, and w[15] = -0.16 -> -127 */
  CHECK(q && NEAR(q->quant->scale[15], 0.16 / 127, 1e-8) &&
        ((const int8_t *)q->data)[15] == -127);
  CHECK(c1->in[0] == x && c2->in[1] == small);
  free(w);
  t_free(&t);
}

/* F.normalize: DIV(x, MAXIMUM(SQRT(v), 1e-3)) -> MUL(x, RSQRT(MAXIMUM(v,
 * 1e-6))), the same tensor through the reference runner. */
static void test_rewrite_normalize(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t d[2] = {1, 4}, d1[1] = {1};
  const float eps[1] = {1e-3f};
  Value *x = act(&t, "x", 2, d), *v = act(&t, "v", 2, d), *q = act(&t, "q", 2, d);
  Value *m = act(&t, "m", 2, d), *y = act(&t, "y", 2, d), *y2 = act(&t, "y2", 2, d);
  Value *e = cst(&t, "e", DT_F32, 1, d1, eps);
  op(&t, TFL_ABS, 1, (Value *[]){x}, v);
  Node *s = op(&t, TFL_SQRT, 1, (Value *[]){v}, q);
  Node *mx = op(&t, TFL_MAXIMUM, 2, (Value *[]){q, e}, m);
  Node *dv = op(&t, TFL_DIV, 2, (Value *[]){x, m}, y);
  op(&t, TFL_ABS, 1, (Value *[]){y}, y2);
  Value *outs[2] = {y, y2};
  graph_set_inputs(&t.cx, t.g, 1, &x);
  graph_set_outputs(&t.cx, t.g, 2, outs);
  const float in[4] = {4, -0.25f, 0, 1e-8f};
  float a[4], a2[4], b[4], b2[4];
  run_ref(&t, in, a, 4, a2, 4);
  CHECK(quant_rewrite(&t.cx, t.g) == O2L_OK);
  CHECK(s->op == TFL_MAXIMUM && mx->op == TFL_RSQRT && dv->op == TFL_MUL);
  CHECK(s->in[0] == v && NEAR(load_f32(s->in[1]->data, 0), 1e-6, 1e-12));
  CHECK(count_ops(t.g, TFL_DIV) == 0 && count_ops(t.g, TFL_SQRT) == 0);
  run_ref(&t, in, b, 4, b2, 4);
  for (int i = 0; i < 4; i++)
    CHECK(NEAR(a[i], b[i], 1e-5 * fabs(a[i]) + 1e-6));
  t_free(&t);
}

/* MEAN over the channels of a map: over [B,1,H*W,C] (channels only) or
 * the spatial axes first (channels and H), same values through the
 * reference runner, output shapes kept. */
static void test_rewrite_mean(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t d[4] = {1, 3, 4, 5}, d1[1] = {1}, d2[1] = {2}, dy[3] = {1, 3, 4}, dz[2] = {1, 4};
  const int32_t c_only[1] = {3}, c_h[2] = {-1, 1};
  Value *x = act(&t, "x", 4, d), *y = act(&t, "y", 3, dy), *z = act(&t, "z", 2, dz);
  Value *a1 = cst(&t, "a1", DT_I32, 1, d1, c_only), *a2 = cst(&t, "a2", DT_I32, 1, d2, c_h);
  Node *m1 = op(&t, TFL_MEAN, 2, (Value *[]){x, a1}, y);
  Node *m2 = op(&t, TFL_MEAN, 2, (Value *[]){x, a2}, z);
  m2->opt.keep_dims = false; /* [1, 4]: reshaped from [1,1,4,1] */
  m1->opt.keep_dims = false;
  Value *outs[2] = {y, z};
  graph_set_inputs(&t.cx, t.g, 1, &x);
  graph_set_outputs(&t.cx, t.g, 2, outs);
  float in[60], y0[12], z0[4], y1[12], z1[4];
  for (int i = 0; i < 60; i++)
    in[i] = (float)((i * 7) % 11) - 5;
  run_ref(&t, in, y0, 12, z0, 4);
  CHECK(quant_rewrite(&t.cx, t.g) == O2L_OK);
  CHECK(count_ops(t.g, TFL_MEAN) == 3);
  CHECK(m1->in[0]->rank == 4 && m1->in[0]->dims[1] == 1 && m1->in[0]->dims[2] == 12);
  CHECK(m2->out[0]->dims[1] == 1 && m2->out[0]->dims[3] == 5);
  CHECK(y->rank == 3 && z->rank == 2 && y->producer->op == TFL_RESHAPE &&
        z->producer->op == TFL_RESHAPE);
  run_ref(&t, in, y1, 12, z1, 4);
  for (int i = 0; i < 12; i++)
    CHECK(NEAR(y0[i], y1[i], 1e-5));
  for (int i = 0; i < 4; i++)
    CHECK(NEAR(z0[i], z1[i], 1e-5));
  t_free(&t);
}

/* A BROADCAST_TO read only by broadcasting binaries is dropped when they
 * still produce their shapes; not when the other operand needs it. */
static void test_rewrite_broadcast(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t d[4] = {1, 2, 3, 4}, ds[4] = {1, 1, 1, 4}, d4[1] = {4};
  const int32_t shape[4] = {1, 2, 3, 4};
  Value *x = act(&t, "x", 4, d), *s = act(&t, "s", 4, ds), *e = act(&t, "e", 4, d);
  Value *y = act(&t, "y", 4, d), *s2 = act(&t, "s2", 4, ds), *e2 = act(&t, "e2", 4, d);
  Value *z = act(&t, "z", 4, d), *sh = cst(&t, "shape", DT_I32, 1, d4, shape);
  op(&t, TFL_MEAN, 2, (Value *[]){x, cst(&t, "ax", DT_I32, 1, (int64_t[]){1}, (int32_t[]){1})}, s);
  Node *b1 = op(&t, TFL_BROADCAST_TO, 2, (Value *[]){s, sh}, e);
  Node *mul = op(&t, TFL_MUL, 2, (Value *[]){x, e}, y);
  op(&t, TFL_ABS, 1, (Value *[]){s}, s2);
  Node *b2 = op(&t, TFL_BROADCAST_TO, 2, (Value *[]){s2, sh}, e2);
  Node *add = op(&t, TFL_ADD, 2, (Value *[]){e2, s}, z); /* needs e2's shape */
  s->dims[1] = 1; /* MEAN keeping dims over axis 1 of [1,2,3,4]: [1,1,3,4] */
  s->dims[2] = 3;
  s2->dims[1] = 1;
  s2->dims[2] = 3;
  Value *outs[2] = {y, z};
  graph_set_inputs(&t.cx, t.g, 1, &x);
  graph_set_outputs(&t.cx, t.g, 2, outs);
  CHECK(quant_rewrite(&t.cx, t.g) == O2L_OK);
  CHECK(mul->in[1] == s && count_ops(t.g, TFL_BROADCAST_TO) == 1);
  CHECK(add->in[0] == e2 && b2->op == TFL_BROADCAST_TO);
  (void)b1;
  t_free(&t);
}

/* TILE as CONCATENATIONs: the same tensor through the reference runner. */
static void test_rewrite_tile(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t d[3] = {1, 2, 3}, dy[3] = {1, 4, 6}, d3[1] = {3};
  const int32_t reps[3] = {1, 2, 2};
  Value *x = act(&t, "x", 3, d), *y = act(&t, "y", 3, dy), *a = act(&t, "a", 3, d);
  Node *tile = op(&t, TFL_TILE, 2, (Value *[]){x, cst(&t, "reps", DT_I32, 1, d3, reps)}, y);
  op(&t, TFL_ABS, 1, (Value *[]){x}, a);
  Value *outs[2] = {y, a};
  graph_set_inputs(&t.cx, t.g, 1, &x);
  graph_set_outputs(&t.cx, t.g, 2, outs);
  const float in[6] = {1, -2, 3, -4, 5, -6};
  float y0[24], y1[24], a0[6];
  run_ref(&t, in, y0, 24, a0, 6);
  CHECK(quant_rewrite(&t.cx, t.g) == O2L_OK);
  CHECK(tile->op == TFL_CONCATENATION && count_ops(t.g, TFL_TILE) == 0 &&
        count_ops(t.g, TFL_CONCATENATION) == 2);
  run_ref(&t, in, y1, 24, a0, 6);
  CHECK(memcmp(y0, y1, sizeof y0) == 0);
  t_free(&t);
}

/* DIV by a tensor positive by construction (a mean of exponentials)
 * becomes MUL by RSQRT(y)^2, same values; DIV by ABS(x) (>= 0 only)
 * stays. */
static void test_rewrite_div_positive(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t d[2] = {2, 3}, dm[2] = {2, 1}, d1[1] = {1};
  const int32_t ax[1] = {1};
  Value *x = act(&t, "x", 2, d), *e = act(&t, "e", 2, d), *m = act(&t, "m", 2, dm);
  Value *y = act(&t, "y", 2, d), *a = act(&t, "a", 2, d), *z = act(&t, "z", 2, d);
  op(&t, TFL_EXP, 1, (Value *[]){x}, e);
  Node *mean = op(&t, TFL_MEAN, 2, (Value *[]){e, cst(&t, "ax", DT_I32, 1, d1, ax)}, m);
  mean->opt.keep_dims = true;
  Node *div = op(&t, TFL_DIV, 2, (Value *[]){e, m}, y);
  op(&t, TFL_ABS, 1, (Value *[]){x}, a);
  Node *div2 = op(&t, TFL_DIV, 2, (Value *[]){x, a}, z);
  Value *outs[2] = {y, z};
  graph_set_inputs(&t.cx, t.g, 1, &x);
  graph_set_outputs(&t.cx, t.g, 2, outs);
  const float in[6] = {0.5f, -1, 2, -3, 0.25f, 1};
  float y0[6], z0[6], y1[6], z1[6];
  run_ref(&t, in, y0, 6, z0, 6);
  CHECK(quant_rewrite(&t.cx, t.g) == O2L_OK);
  CHECK(div->op == TFL_MUL && div2->op == TFL_DIV && count_ops(t.g, TFL_RSQRT) == 1);
  run_ref(&t, in, y1, 6, z1, 6);
  for (int i = 0; i < 6; i++)
    CHECK(NEAR(y0[i], y1[i], 1e-5 * fabs(y0[i])) && z0[i] == z1[i]);
  t_free(&t);
}

/* A MEAN over the second axis of a 5-D map is read as 4-D ([1,1,2,60]:
 * size-1 axes dropped, the kept ones merged), same values. */
static void test_rewrite_mean_rank(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t d[5] = {1, 2, 3, 4, 5}, dy[4] = {1, 3, 4, 5}, d1[1] = {1};
  const int32_t ax[1] = {1};
  Value *x = act(&t, "x", 5, d), *y = act(&t, "y", 4, dy), *a = act(&t, "a", 5, d);
  Node *m = op(&t, TFL_MEAN, 2, (Value *[]){x, cst(&t, "ax", DT_I32, 1, d1, ax)}, y);
  op(&t, TFL_ABS, 1, (Value *[]){x}, a);
  Value *outs[2] = {y, a};
  graph_set_inputs(&t.cx, t.g, 1, &x);
  graph_set_outputs(&t.cx, t.g, 2, outs);
  float in[120], y0[60], y1[60], a0[120];
  for (int i = 0; i < 120; i++)
    in[i] = (float)((i * 13) % 17) - 8;
  run_ref(&t, in, y0, 60, a0, 120);
  CHECK(quant_rewrite(&t.cx, t.g) == O2L_OK);
  const Value *v = m->in[0];
  CHECK(v->rank == 4 && v->dims[0] == 1 && v->dims[1] == 1 && v->dims[2] == 2 &&
        v->dims[3] == 60 && y->producer->op == TFL_RESHAPE);
  run_ref(&t, in, y1, 60, a0, 120);
  for (int i = 0; i < 60; i++)
    CHECK(NEAR(y0[i], y1[i], 1e-5));
  t_free(&t);
}

/* int16x8: symmetric int16 activations, int64 biases, ADD with
 * pot_scale_int16 = false, fixed LOGISTIC parameters. */
static void test_int16x8(void) {
  T t;
  t_init(&t, O2L_QUANT_INT16X8);
  int64_t dx[2] = {1, 2}, dw[2] = {3, 2}, db[1] = {3}, dy[2] = {1, 3};
  const float b[3] = {0.5f, -0.5f, 0};
  Value *x = act(&t, "x", 2, dx), *f = act(&t, "f", 2, dy), *a = act(&t, "a", 2, dy);
  Value *y = act(&t, "y", 2, dy);
  Value *w = cst(&t, "w", DT_F32, 2, dw, w6), *bb = cst(&t, "b", DT_F32, 1, db, b);
  Node *fc = op(&t, TFL_FULLY_CONNECTED, 3, (Value *[]){x, w, bb}, f);
  Node *add = op(&t, TFL_ADD, 2, (Value *[]){f, f}, a);
  op(&t, TFL_LOGISTIC, 1, (Value *[]){a}, y);
  io(&t, x, y);
  ranges(&t);
  rng(&t, x, -2, 1);
  rng(&t, f, -1, 3);
  rng(&t, a, -2, 6);
  rng(&t, y, 0.1f, 0.9f);
  CHECK(finish(&t, DT_I16, DT_I16) == O2L_OK);
  CHECK(x->dtype == DT_I16 && qis(x, 2.0f / 32767, 0));
  CHECK(qis(f, 3.0f / 32767, 0) && qis(a, 6.0f / 32767, 0));
  CHECK(qis(y, 1.0f / 32768, 0));
  CHECK(fc->in[1]->dtype == DT_I8 && fc->in[2]->dtype == DT_I64);
  CHECK(add->opt.pot_scale_int16_false);
  t_free(&t);
}

/* Bias correction: FC w = [0.3, 1.0] quantizes 0.3 to 38/127; with
 * E[x] = [10, 0] the output shifts by (38/127 - 0.3) * 10, which the
 * bias takes back. */
static void test_bias_correction(void) {
  T t;
  t_init(&t, O2L_QUANT_INT8);
  int64_t dx[2] = {1, 2}, dw[2] = {1, 2}, db[1] = {1}, dy[2] = {1, 1};
  const float w[2] = {0.3f, 1.0f}, b[1] = {0.5f};
  static const float mean[2] = {10, 0};
  Value *x = act(&t, "x", 2, dx), *y = act(&t, "y", 2, dy);
  Value *wv = cst(&t, "w", DT_F32, 2, dw, w), *bv = cst(&t, "b", DT_F32, 1, db, b);
  Node *fc = op(&t, TFL_FULLY_CONNECTED, 3, (Value *[]){x, wv, bv}, y);
  io(&t, x, y);
  ranges(&t);
  rng(&t, x, 0, 10);
  rng(&t, y, -5, 15);
  t.r[x->id].mean = mean;
  t.r[x->id].nch = 2;
  CHECK(finish(&t, DT_I8, DT_I8) == O2L_OK);
  double sw = fc->in[1]->quant->scale[0], sb = fc->in[2]->quant->scale[0];
  CHECK(NEAR(sw, 1.0 / 127, 1e-9));
  double want = (0.5 - (38.0 * sw - 0.3f) * 10) / sb;
  int32_t got = ((const int32_t *)fc->in[2]->data)[0];
  CHECK(fabs(got - want) <= 1);
  CHECK(fabs(got - 0.5 / sb) > 20); /* the correction is there */
  t_free(&t);
}

/* float16: weights become FLOAT16 + DEQUANTIZE, tiny constants stay. */
static void test_fp16_mode(void) {
  T t;
  t_init(&t, O2L_QUANT_FLOAT16);
  int64_t dx[2] = {1, 8}, dw[2] = {4, 8}, db[1] = {4}, dy[2] = {1, 4};
  float w[32], b[4] = {1, 2, 3, 4};
  for (int i = 0; i < 32; i++)
    w[i] = (float)i / 7;
  Value *x = act(&t, "x", 2, dx), *y = act(&t, "y", 2, dy);
  Value *wv = cst(&t, "w", DT_F32, 2, dw, w), *bv = cst(&t, "b", DT_F32, 1, db, b);
  Node *fc = op(&t, TFL_FULLY_CONNECTED, 3, (Value *[]){x, wv, bv}, y);
  io(&t, x, y);
  CHECK(quantize_graph(&t.cx, t.g) == O2L_OK);
  const Value *dq = fc->in[1];
  CHECK(dq->dtype == DT_F32 && !value_is_const(dq) && dq->producer &&
        dq->producer->op == TFL_DEQUANTIZE);
  const Value *h = dq->producer->in[0];
  CHECK(h->dtype == DT_F16 && h->nbytes == 64);
  CHECK(f16_to_f32(((const uint16_t *)h->data)[7]) == 1.0f);
  CHECK(fc->in[2] == bv); /* 4 values: kept */
  CHECK(t.g->nodes[0]->op == TFL_DEQUANTIZE); /* sorted before its user */
  t_free(&t);
}

/* dynamic: FC weights >= 1024 values become int8 per channel, another
 * reader of them gets a DEQUANTIZE, small weights stay float. */
static void test_dynamic_mode(void) {
  T t;
  t_init(&t, O2L_QUANT_DYNAMIC);
  int64_t dx[2] = {1, 64}, dw[2] = {32, 64}, dy[2] = {1, 32};
  int64_t ds[2] = {2, 64}, dz[2] = {1, 2};
  static float w[32 * 64], sw[2 * 64];
  for (int i = 0; i < 32 * 64; i++)
    w[i] = (float)((i * 13) % 17 - 8) / 8;
  for (int i = 0; i < 2 * 64; i++)
    sw[i] = 0.5f;
  Value *x = act(&t, "x", 2, dx), *y = act(&t, "y", 2, dy), *z = act(&t, "z", 2, dz);
  Value *m = act(&t, "m", 2, dw);
  Value *wv = cst(&t, "w", DT_F32, 2, dw, w), *sv = cst(&t, "small", DT_F32, 2, ds, sw);
  Node *fc = op(&t, TFL_FULLY_CONNECTED, 2, (Value *[]){x, wv}, y);
  Node *fc2 = op(&t, TFL_FULLY_CONNECTED, 2, (Value *[]){x, sv}, z);
  Node *mul = op(&t, TFL_MUL, 2, (Value *[]){wv, wv}, m);
  Value *outs[3] = {y, z, m};
  graph_set_inputs(&t.cx, t.g, 1, &x);
  graph_set_outputs(&t.cx, t.g, 3, outs);
  CHECK(quantize_graph(&t.cx, t.g) == O2L_OK);
  CHECK(fc->in[1]->dtype == DT_I8 && fc->in[1]->quant->n == 32 &&
        fc->in[1]->quant->axis == 0);
  CHECK(fc->opt.asymmetric_quantize_inputs);
  CHECK(fc2->in[1] == sv && sv->dtype == DT_F32);
  CHECK(mul->in[0]->producer && mul->in[0]->producer->op == TFL_DEQUANTIZE &&
        mul->in[0]->producer->in[0] == fc->in[1] && mul->in[1] == mul->in[0]);
  t_free(&t);
}

/* Calibration through the reference runner: a sample given in the ONNX
 * layout [C=2, H=1, W=3] lands in the NHWC input [1,1,3,2] by io_perm, so
 * slicing channel 0 sees 0, 1, 2 (a wrong mapping would see 0, 2, 4). */
static void test_calibrate(void) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/o2l_test_quant_%d.npy", (int)getpid());
  FILE *f = fopen(path, "wb");
  char hdr[128];
  int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, "
                   "'shape': (1, 2, 1, 3), }");
  while ((10 + n + 1) % 64)
    hdr[n++] = ' ';
  hdr[n++] = '\n';
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                           (unsigned char)n, 0};
  const float data[6] = {0, 1, 2, 3, 4, 5}; /* x[c][0][w] = 3c + w */
  fwrite(pre, 1, 10, f);
  fwrite(hdr, 1, (size_t)n, f);
  fwrite(data, 4, 6, f);
  fclose(f);
  T t;
  t_init(&t, O2L_QUANT_INT8);
  t.o.calib_path = path;
  int64_t dx[4] = {1, 1, 3, 2}, ds[4] = {1, 1, 3, 1}, d4[1] = {4};
  const int32_t begin[4] = {0, 0, 0, 0}, size[4] = {1, 1, 3, 1};
  Value *x = act(&t, "x", 4, dx), *s = act(&t, "s", 4, ds);
  x->has_io_perm = 1;
  x->io_perm[0] = 0;
  x->io_perm[1] = 2;
  x->io_perm[2] = 3;
  x->io_perm[3] = 1;
  Value *bv = cst(&t, "begin", DT_I32, 1, d4, begin), *sv = cst(&t, "size", DT_I32, 1, d4, size);
  op(&t, TFL_SLICE, 3, (Value *[]){x, bv, sv}, s);
  io(&t, x, s);
  ranges(&t);
  CHECK(calibrate_graph(&t.cx, t.g, 8, t.r) == O2L_OK);
  CHECK(t.r[x->id].set && t.r[x->id].min == 0 && t.r[x->id].max == 5);
  CHECK(t.r[s->id].set && t.r[s->id].min == 0 && t.r[s->id].max == 2);
  t_free(&t);
  /* wrong shape: an error naming the file, nothing else happens */
  t_init(&t, O2L_QUANT_INT8);
  t.o.calib_path = path;
  int64_t bad[4] = {1, 1, 4, 2};
  x = act(&t, "x", 4, bad);
  Value *y = act(&t, "y", 4, bad);
  op(&t, TFL_RELU, 1, (Value *[]){x}, y);
  io(&t, x, y);
  ranges(&t);
  CHECK(calibrate_graph(&t.cx, t.g, 8, t.r) == O2L_ERR_CALIB);
  CHECK(strstr(t.cx.msg, path) != NULL);
  t_free(&t);
  remove(path);
  /* int8 without --calib says what to pass */
  t_init(&t, O2L_QUANT_INT8);
  x = act(&t, "x", 4, bad);
  y = act(&t, "y", 4, bad);
  op(&t, TFL_RELU, 1, (Value *[]){x}, y);
  io(&t, x, y);
  CHECK(quantize_graph(&t.cx, t.g) == O2L_ERR_USAGE);
  CHECK(strstr(t.cx.msg, "--calib") != NULL && strstr(t.cx.msg, "random") != NULL);
  t_free(&t);
}

int main(void) {
  test_asymmetric();
  test_symmetric();
  test_weights();
  test_bias();
  test_float16();
  test_histogram();
  test_int8_chain();
  test_fixed_groups();
  test_fallback_and_io();
  test_float_with_readers();
  test_uint8_io();
  test_padv2();
  test_padv2_sentinel();
  test_rewrites();
  test_rewrite_space();
  test_rewrite_normalize();
  test_rewrite_mean();
  test_rewrite_mean_rank();
  test_rewrite_broadcast();
  test_rewrite_tile();
  test_rewrite_div_positive();
  test_weight_only();
  test_int16x8();
  test_bias_correction();
  test_fp16_mode();
  test_dynamic_mode();
  test_calibrate();
  return check_done("test_quant");
}
