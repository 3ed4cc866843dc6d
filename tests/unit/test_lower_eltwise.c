/* test_lower_eltwise.c - the lowering of elementwise operators, Clip,
 * BatchNormalization and Softmax (src/lower/lower_eltwise.c) on small ONNX
 * graphs built by hand: which TFLite operators come out, with which
 * options and constants, and above all that a channels-last feature map
 * goes through them without a TRANSPOSE.  A graph input of rank 4 that
 * reaches a BatchNormalization (a spatial operator) is made channels-last
 * by the driver, which is how these tests get an NHWC map without a Conv.
 */
#include <math.h>
#include <string.h>

#include "check.h"
#include "lower/lower.h"

typedef struct T {
  Arena a;
  Ctx cx;
  o2l_options opt;
  Graph *g, *out;
  Value *ins[8];
  int nins;
} T;

static void t_init(T *t, int opset) {
  memset(t, 0, sizeof *t);
  arena_init(&t->a);
  ctx_init(&t->cx, &t->a, &t->opt, NULL);
  t->g = graph_new(&t->cx, GRAPH_ONNX);
  t->g->opset = opset;
}

static void t_free(T *t) {
  graph_release(t->g);
  if (t->out)
    graph_release(t->out);
  arena_free(&t->a);
}

/* The graph keeps name pointers: names are copied into the arena. */
static Value *t_val(T *t, const char *name, DType dt, int rank,
                    const int64_t *dims) {
  return graph_add_value(&t->cx, t->g, arena_strdup(&t->a, name), dt, rank,
                         dims);
}

static Value *t_input(T *t, const char *name, DType dt, int rank,
                      const int64_t *dims) {
  Value *v = t_val(t, name, dt, rank, dims);
  t->ins[t->nins++] = v;
  return v;
}

static Value *t_const(T *t, const char *name, DType dt, int rank,
                      const int64_t *dims, const void *data) {
  int64_t k = 1;
  for (int i = 0; i < rank; i++)
    k *= dims[i];
  size_t nb = (size_t)k * dtype_size(dt);
  void *p = arena_alloc(&t->a, nb + 1, 16);
  memcpy(p, data, nb);
  return graph_add_const(&t->cx, t->g, arena_strdup(&t->a, name), dt, rank,
                         dims, p, nb);
}

static Value *t_scalar(T *t, const char *name, float v) {
  return t_const(t, name, DT_F32, 0, NULL, &v);
}

static Node *t_node(T *t, int op, const char *name, int nin, Value **in,
                    Value *out) {
  Node *n = graph_add_node(&t->cx, t->g, op, arena_strdup(&t->a, name), nin,
                           in, 1, &out);
  n->op_type = op_def(op)->name;
  return n;
}

static Node *t_unary(T *t, int op, const char *name, Value *x, Value *y) {
  return t_node(t, op, name, 1, &x, y);
}

static Node *t_binary(T *t, int op, const char *name, Value *a, Value *b,
                      Value *y) {
  Value *in[2] = {a, b};
  return t_node(t, op, name, 2, in, y);
}

/* A channels-last 4-D map: x -> BatchNormalization (scale 2, shift 0.5).
 * dims is the NCHW shape. */
static Value *t_nhwc_map(T *t, const char *name, const int64_t *dims) {
  Value *x = t_input(t, name, DT_F32, 4, dims);
  float ones[16], zeros[16], twos[16];
  for (int i = 0; i < 16; i++) {
    ones[i] = 1;
    zeros[i] = 0;
    twos[i] = 2;
  }
  int64_t c = dims[1];
  char nm[64];
  Value *in[5] = {x};
  const float *data[4] = {twos, ones, zeros, ones};
  for (int i = 0; i < 4; i++) {
    snprintf(nm, sizeof nm, "%s_bn%d", name, i);
    in[i + 1] = t_const(t, nm, DT_F32, 1, &c, data[i]);
  }
  snprintf(nm, sizeof nm, "%s_map", name);
  Value *y = t_val(t, nm, DT_F32, 4, dims);
  Node *bn = t_node(t, OP_BatchNormalization, nm, 5, in, y);
  node_set_attr_float(&t->cx, bn, "epsilon", 0.0f);
  return y;
}

static Status t_lower(T *t, int nout, Value **outs) {
  graph_set_inputs(&t->cx, t->g, t->nins, t->ins);
  graph_set_outputs(&t->cx, t->g, nout, outs);
  return lower_graph(&t->cx, t->g, &t->out);
}

static int t_count(const T *t, int op) {
  int k = 0;
  for (int i = 0; t->out && i < t->out->nnodes; i++)
    k += t->out->nodes[i]->op == op;
  return k;
}

/* The k-th TFLite operator of kind op (0-based), or NULL. */
static Node *t_find(const T *t, int op, int k) {
  for (int i = 0; t->out && i < t->out->nnodes; i++)
    if (t->out->nodes[i]->op == op && k-- == 0)
      return t->out->nodes[i];
  return NULL;
}

static bool dims_are(const Value *v, int rank, const int64_t *d) {
  return v && v->rank == rank &&
         (rank == 0 || !memcmp(v->dims, d, sizeof(int64_t) * (size_t)rank));
}

static float cf(const Value *v, int i) { return load_f32(v->data, (size_t)i); }

#define D(...) ((const int64_t[]){__VA_ARGS__})

static const int64_t NCHW[4] = {1, 3, 4, 5};
static const int64_t NHWC[4] = {1, 4, 5, 3};

/* ---- broadcasting --------------------------------------------------------- */

static void test_add_channel_const(void) {
  T t;
  t_init(&t, 13);
  Value *m = t_nhwc_map(&t, "x", NCHW);
  float c[3] = {10, 20, 30};
  Value *k = t_const(&t, "k", DT_F32, 3, D(3, 1, 1), c);
  Value *y = t_val(&t, "y", DT_F32, 4, NCHW);
  t_binary(&t, OP_Add, "add", m, k, y);
  CHECK(t_lower(&t, 1, &y) == O2L_OK);
  CHECK(t_count(&t, TFL_TRANSPOSE) == 0);
  CHECK(t_count(&t, TFL_ADD) == 2); /* BN shift, then the Add */
  CHECK(t_count(&t, TFL_MUL) == 1);
  Node *add = t_find(&t, TFL_ADD, 1);
  CHECK(add != NULL);
  if (add) {
    Value *kc = add->in[1];
    CHECK(value_is_const(kc));
    CHECK(dims_are(kc, 4, D(1, 1, 1, 3)));
    CHECK(value_is_const(kc) && cf(kc, 0) == 10 && cf(kc, 2) == 30);
    CHECK(dims_are(add->out[0], 4, NHWC));
    CHECK(!strcmp(add->out[0]->name, "y"));
  }
  /* the BN became MUL + ADD with [1,1,1,C] constants */
  Node *mul = t_find(&t, TFL_MUL, 0);
  CHECK(mul && dims_are(mul->in[1], 4, D(1, 1, 1, 3)) && cf(mul->in[1], 1) == 2);
  CHECK(t.out->ninputs == 1 && dims_are(t.out->inputs[0], 4, NHWC));
  CHECK(t.out->noutputs == 1 && dims_are(t.out->outputs[0], 4, NHWC));
  t_free(&t);
}

/* Two channels-last maps, a [1,C,1,1] one, a [W] one and a scalar: all in
 * NHWC order, still no TRANSPOSE. */
static void test_broadcast_shapes(void) {
  T t;
  t_init(&t, 13);
  Value *a = t_nhwc_map(&t, "a", NCHW);
  Value *b = t_nhwc_map(&t, "b", NCHW);
  float w[5] = {1, 2, 3, 4, 5};
  Value *kw = t_const(&t, "kw", DT_F32, 1, D(5), w);
  Value *s1 = t_val(&t, "s1", DT_F32, 4, NCHW);
  Value *s2 = t_val(&t, "s2", DT_F32, 4, NCHW);
  Value *s3 = t_val(&t, "s3", DT_F32, 4, NCHW);
  t_binary(&t, OP_Sub, "sub", a, b, s1);
  t_binary(&t, OP_Mul, "mul", s1, kw, s2);
  t_binary(&t, OP_Max, "max", s2, t_scalar(&t, "half", 0.5f), s3);
  CHECK(t_lower(&t, 1, &s3) == O2L_OK);
  CHECK(t_count(&t, TFL_TRANSPOSE) == 0);
  Node *sub = t_find(&t, TFL_SUB, 0);
  CHECK(sub && dims_are(sub->out[0], 4, NHWC));
  Node *mul = t_find(&t, TFL_MUL, 2); /* after the two BN scales */
  CHECK(mul && dims_are(mul->in[1], 4, D(1, 1, 5, 1)));
  Node *mx = t_find(&t, TFL_MAXIMUM, 0);
  CHECK(mx && value_is_const(mx->in[1]) && value_numel(mx->in[1]) == 1);
  t_free(&t);
}

static void test_div_pow(void) {
  T t;
  t_init(&t, 13);
  Value *m = t_nhwc_map(&t, "x", NCHW);
  float d[3] = {2, 4, 8};
  Value *k = t_const(&t, "d", DT_F32, 3, D(3, 1, 1), d);
  Value *q = t_val(&t, "q", DT_F32, 4, NCHW);
  t_binary(&t, OP_Div, "div", m, k, q);
  Value *sq = t_val(&t, "sq", DT_F32, 4, NCHW);
  Value *rt = t_val(&t, "rt", DT_F32, 4, NCHW);
  Value *cu = t_val(&t, "cu", DT_F32, 4, NCHW);
  Value *id = t_val(&t, "id", DT_F32, 4, NCHW);
  t_binary(&t, OP_Pow, "p2", q, t_scalar(&t, "two", 2), sq);
  t_binary(&t, OP_Pow, "p05", q, t_scalar(&t, "half", 0.5f), rt);
  t_binary(&t, OP_Pow, "p3", q, t_scalar(&t, "three", 3), cu);
  t_binary(&t, OP_Pow, "p1", q, t_scalar(&t, "one", 1), id);
  Value *outs[4] = {sq, rt, cu, id};
  CHECK(t_lower(&t, 4, outs) == O2L_OK);
  CHECK(t_count(&t, TFL_DIV) == 0);
  CHECK(t_count(&t, TFL_TRANSPOSE) == 0);
  /* MULs: BN scale, the reciprocal, x*x */
  CHECK(t_count(&t, TFL_MUL) == 3);
  Node *rec = t_find(&t, TFL_MUL, 1);
  CHECK(rec && dims_are(rec->in[1], 4, D(1, 1, 1, 3)) &&
        cf(rec->in[1], 0) == 0.5f && cf(rec->in[1], 2) == 0.125f);
  Node *x2 = t_find(&t, TFL_MUL, 2);
  CHECK(x2 && x2->in[0] == x2->in[1]);
  CHECK(t_count(&t, TFL_SQRT) == 1 && t_count(&t, TFL_POW) == 1);
  /* Pow(x, 1) is x itself: the output is q's tensor, renamed */
  CHECK(t.out->noutputs == 4 && rec && t.out->outputs[3] == rec->out[0] &&
        !strcmp(rec->out[0]->name, "id"));
  t_free(&t);
}

static void test_variadic(void) {
  T t;
  t_init(&t, 13);
  Value *a = t_nhwc_map(&t, "a", NCHW);
  float c[3] = {1, 2, 3};
  Value *k = t_const(&t, "k", DT_F32, 3, D(3, 1, 1), c);
  Value *s = t_val(&t, "sum", DT_F32, 4, NCHW);
  Value *mean = t_val(&t, "mean", DT_F32, 4, NCHW);
  Value *in[3] = {a, k, a};
  t_node(&t, OP_Sum, "sum", 3, in, s);
  t_node(&t, OP_Mean, "mean", 3, in, mean);
  Value *outs[2] = {s, mean};
  CHECK(t_lower(&t, 2, outs) == O2L_OK);
  CHECK(t_count(&t, TFL_TRANSPOSE) == 0);
  CHECK(t_count(&t, TFL_ADD) == 1 + 2 + 2);
  CHECK(t_count(&t, TFL_MUL) == 1 + 1);
  Node *last = t_find(&t, TFL_MUL, 1);
  CHECK(last && value_is_const(last->in[1]) &&
        fabsf(cf(last->in[1], 0) - 1.0f / 3) < 1e-7f);
  CHECK(last && !strcmp(last->out[0]->name, "mean"));
  t_free(&t);
}

static void test_prelu(void) {
  T t;
  t_init(&t, 13);
  Value *m = t_nhwc_map(&t, "x", NCHW);
  float sl[3] = {0.1f, 0.2f, 0.3f};
  Value *slope = t_const(&t, "slope", DT_F32, 3, D(3, 1, 1), sl);
  Value *y1 = t_val(&t, "y1", DT_F32, 4, NCHW);
  Value *y2 = t_val(&t, "y2", DT_F32, 4, NCHW);
  t_binary(&t, OP_PRelu, "prelu", m, slope, y1);
  t_binary(&t, OP_PRelu, "prelu1", m, t_scalar(&t, "a", 0.25f), y2);
  Value *outs[2] = {y1, y2};
  CHECK(t_lower(&t, 2, outs) == O2L_OK);
  CHECK(t_count(&t, TFL_TRANSPOSE) == 0);
  Node *p = t_find(&t, TFL_PRELU, 0);
  CHECK(p && dims_are(p->in[1], 4, D(1, 1, 1, 3)) &&
        cf(p->in[1], 2) == 0.3f);
  Node *l = t_find(&t, TFL_LEAKY_RELU, 0);
  CHECK(l && l->opt.alpha == 0.25f);
  t_free(&t);
}

static void test_compare_where(void) {
  T t;
  t_init(&t, 13);
  Value *m = t_nhwc_map(&t, "x", NCHW);
  Value *gt = t_val(&t, "gt", DT_BOOL, 4, NCHW);
  Value *y = t_val(&t, "y", DT_F32, 4, NCHW);
  t_binary(&t, OP_Greater, "gt", m, t_scalar(&t, "zero", 0), gt);
  Value *in[3] = {gt, m, t_scalar(&t, "neg", -1)};
  t_node(&t, OP_Where, "where", 3, in, y);
  CHECK(t_lower(&t, 1, &y) == O2L_OK);
  CHECK(t_count(&t, TFL_TRANSPOSE) == 0);
  Node *g = t_find(&t, TFL_GREATER, 0);
  CHECK(g && g->out[0]->dtype == DT_BOOL && dims_are(g->out[0], 4, NHWC));
  Node *s = t_find(&t, TFL_SELECT_V2, 0);
  CHECK(s && s->nin == 3 && s->in[0] == g->out[0]);
  t_free(&t);
}

static void test_int_ops(void) {
  T t;
  t_init(&t, 13);
  Value *a = t_input(&t, "a", DT_I32, 2, D(2, 3));
  Value *b = t_input(&t, "b", DT_I64, 2, D(2, 3));
  Value *r = t_val(&t, "r", DT_I32, 2, D(2, 3));
  Value *ab = t_val(&t, "ab", DT_I64, 2, D(2, 3));
  t_unary(&t, OP_Relu, "relu", a, r);
  t_unary(&t, OP_Abs, "abs", b, ab);
  Value *outs[2] = {r, ab};
  CHECK(t_lower(&t, 2, outs) == O2L_OK);
  CHECK(t_count(&t, TFL_RELU) == 0 && t_count(&t, TFL_ABS) == 0);
  CHECK(t_count(&t, TFL_MAXIMUM) == 2 && t_count(&t, TFL_NEG) == 1);
  Node *mx = t_find(&t, TFL_MAXIMUM, 0);
  CHECK(mx && mx->in[1]->dtype == DT_I32);
  t_free(&t);
}

/* ---- unary and Clip ------------------------------------------------------------ */

static void test_unary_keeps_order(void) {
  T t;
  t_init(&t, 13);
  Value *m = t_nhwc_map(&t, "x", NCHW);
  static const int ops[] = {OP_Relu, OP_Sigmoid, OP_Tanh, OP_Exp,
                            OP_Abs, OP_Neg, OP_HardSwish, OP_Reciprocal};
  static const int tfl[] = {TFL_RELU, TFL_LOGISTIC, TFL_TANH, TFL_EXP,
                            TFL_ABS, TFL_NEG, TFL_HARD_SWISH, TFL_DIV};
  int k = (int)O2L_ARRAY_LEN(ops);
  Value *cur = m;
  for (int i = 0; i < k; i++) {
    char nm[16];
    snprintf(nm, sizeof nm, "u%d", i);
    Value *y = t_val(&t, nm, DT_F32, 4, NCHW);
    t_unary(&t, ops[i], nm, cur, y);
    cur = y;
  }
  CHECK(t_lower(&t, 1, &cur) == O2L_OK);
  CHECK(t_count(&t, TFL_TRANSPOSE) == 0);
  for (int i = 0; i < k; i++) {
    Node *n = t_find(&t, tfl[i], 0);
    CHECK(n && dims_are(n->out[0], 4, NHWC));
  }
  Node *div = t_find(&t, TFL_DIV, 0);
  CHECK(div && value_is_const(div->in[0]) && cf(div->in[0], 0) == 1.0f);
  CHECK(dims_are(t.out->outputs[0], 4, NHWC));
  t_free(&t);
}

static void test_activation_decompositions(void) {
  T t;
  t_init(&t, 13);
  Value *x = t_input(&t, "x", DT_F32, 2, D(2, 3));
  Value *hs = t_val(&t, "hs", DT_F32, 2, D(2, 3));
  Value *el = t_val(&t, "el", DT_F32, 2, D(2, 3));
  Value *e1 = t_val(&t, "e1", DT_F32, 2, D(2, 3));
  Value *sp = t_val(&t, "sp", DT_F32, 2, D(2, 3));
  Value *lr = t_val(&t, "lr", DT_F32, 2, D(2, 3));
  Node *n = t_unary(&t, OP_HardSigmoid, "hs", x, hs);
  node_set_attr_float(&t.cx, n, "alpha", 0.25f);
  node_set_attr_float(&t.cx, n, "beta", 0.5f);
  n = t_unary(&t, OP_Elu, "el", x, el);
  node_set_attr_float(&t.cx, n, "alpha", 0.5f);
  t_unary(&t, OP_Elu, "e1", x, e1);
  t_unary(&t, OP_Softplus, "sp", x, sp);
  t_unary(&t, OP_LeakyRelu, "lr", x, lr);
  Value *outs[5] = {hs, el, e1, sp, lr};
  CHECK(t_lower(&t, 5, outs) == O2L_OK);
  /* HardSigmoid: MUL 1.5, ADD 3 with RELU6, MUL 1/6 */
  Node *m0 = t_find(&t, TFL_MUL, 0), *a0 = t_find(&t, TFL_ADD, 0);
  CHECK(m0 && cf(m0->in[1], 0) == 1.5f);
  CHECK(a0 && cf(a0->in[1], 0) == 3.0f && a0->opt.act == TFL_ACT_RELU6);
  Node *m1 = t_find(&t, TFL_MUL, 1);
  CHECK(m1 && fabsf(cf(m1->in[1], 0) - 1.0f / 6) < 1e-7f &&
        !strcmp(m1->out[0]->name, "hs"));
  /* Elu(0.5): RELU, MINIMUM, EXP, SUB, MUL, ADD; Elu(1): ELU */
  CHECK(t_count(&t, TFL_RELU) == 1 && t_count(&t, TFL_MINIMUM) == 1);
  CHECK(t_count(&t, TFL_SUB) == 1 && t_count(&t, TFL_ELU) == 1);
  /* Softplus: EXP, ADD 1, LOG */
  CHECK(t_count(&t, TFL_EXP) == 2 && t_count(&t, TFL_LOG) == 1);
  Node *l = t_find(&t, TFL_LEAKY_RELU, 0);
  CHECK(l && l->opt.alpha == 0.01f);
  t_free(&t);
}

static Value *clip_node(T *t, const char *name, Value *x, DType dt,
                        const void *lo, const void *hi) {
  char nm[32];
  Value *in[3] = {x, NULL, NULL};
  snprintf(nm, sizeof nm, "%s_min", name);
  if (lo)
    in[1] = t_const(t, nm, dt, 0, NULL, lo);
  snprintf(nm, sizeof nm, "%s_max", name);
  if (hi)
    in[2] = t_const(t, nm, dt, 0, NULL, hi);
  Value *y = t_val(t, name, dt, x->rank, x->dims);
  t_node(t, OP_Clip, name, 3, in, y);
  return y;
}

static void test_clip(void) {
  T t;
  t_init(&t, 13);
  Value *m = t_nhwc_map(&t, "x", NCHW);
  float z = 0, six = 6, m1 = -1, p1 = 1, lo = -0.5f, hi = 1.5f;
  Value *outs[6];
  outs[0] = clip_node(&t, "relu6", m, DT_F32, &z, &six);
  outs[1] = clip_node(&t, "relu", m, DT_F32, &z, NULL);
  outs[2] = clip_node(&t, "n1to1", m, DT_F32, &m1, &p1);
  outs[3] = clip_node(&t, "general", m, DT_F32, &lo, &hi);
  Value *xi = t_input(&t, "xi", DT_I32, 2, D(2, 3));
  int32_t iz = 0, i6 = 6;
  outs[4] = clip_node(&t, "int", xi, DT_I32, &iz, &i6);
  Value *b = t_input(&t, "bound", DT_F32, 0, NULL);
  Value *in[3] = {m, NULL, b};
  outs[5] = t_val(&t, "runtime", DT_F32, 4, NCHW);
  t_node(&t, OP_Clip, "runtime", 3, in, outs[5]);
  CHECK(t_lower(&t, 6, outs) == O2L_OK);
  CHECK(t_count(&t, TFL_TRANSPOSE) == 0);
  CHECK(t_count(&t, TFL_RELU6) == 1 && t_count(&t, TFL_RELU) == 1 &&
        t_count(&t, TFL_RELU_N1_TO_1) == 1);
  CHECK(t_count(&t, TFL_MAXIMUM) == 2 && t_count(&t, TFL_MINIMUM) == 3);
  Node *mx = t_find(&t, TFL_MAXIMUM, 0), *mn = t_find(&t, TFL_MINIMUM, 0);
  CHECK(mx && cf(mx->in[1], 0) == -0.5f && mn && mn->in[0] == mx->out[0]);
  Node *imx = t_find(&t, TFL_MAXIMUM, 1);
  CHECK(imx && imx->in[1]->dtype == DT_I32);
  Node *rmn = t_find(&t, TFL_MINIMUM, 2);
  CHECK(rmn && rmn->in[1] == t.out->inputs[2]);
  t_free(&t);
}

/* ---- BatchNormalization --------------------------------------------------------- */

static void test_bn_rank3_and_errors(void) {
  T t;
  t_init(&t, 13);
  Value *x = t_input(&t, "x", DT_F32, 3, D(1, 2, 6));
  float g[2] = {1, 3}, b[2] = {0.5f, 0}, mu[2] = {1, 2}, var[2] = {3, 8};
  Value *in[5] = {x, t_const(&t, "g", DT_F32, 1, D(2), g),
                  t_const(&t, "b", DT_F32, 1, D(2), b),
                  t_const(&t, "mu", DT_F32, 1, D(2), mu),
                  t_const(&t, "var", DT_F32, 1, D(2), var)};
  Value *y = t_val(&t, "y", DT_F32, 3, D(1, 2, 6));
  Node *bn = t_node(&t, OP_BatchNormalization, "bn", 5, in, y);
  node_set_attr_float(&t.cx, bn, "epsilon", 1.0f);
  CHECK(t_lower(&t, 1, &y) == O2L_OK);
  Node *mul = t_find(&t, TFL_MUL, 0), *add = t_find(&t, TFL_ADD, 0);
  CHECK(mul && dims_are(mul->in[1], 3, D(1, 1, 2)));
  /* s = g / sqrt(var + 1) = (0.5, 1), t = b - mu * s = (0, -2) */
  CHECK(mul && cf(mul->in[1], 0) == 0.5f && cf(mul->in[1], 1) == 1.0f);
  CHECK(add && cf(add->in[1], 0) == 0.0f && cf(add->in[1], 1) == -2.0f);
  CHECK(add && dims_are(add->out[0], 3, D(1, 6, 2)));
  CHECK(t_count(&t, TFL_TRANSPOSE) == 0);
  t_free(&t);

  /* statistics computed at run time */
  t_init(&t, 13);
  x = t_input(&t, "x", DT_F32, 4, NCHW);
  Value *mean = t_input(&t, "mean", DT_F32, 1, D(3));
  float c3[3] = {1, 1, 1};
  Value *in2[5] = {x, t_const(&t, "g", DT_F32, 1, D(3), c3),
                   t_const(&t, "b", DT_F32, 1, D(3), c3), mean,
                   t_const(&t, "v", DT_F32, 1, D(3), c3)};
  y = t_val(&t, "y", DT_F32, 4, NCHW);
  t_node(&t, OP_BatchNormalization, "bn_rt", 5, in2, y);
  CHECK(t_lower(&t, 1, &y) == O2L_ERR_UNSUPPORTED);
  CHECK(strstr(t.cx.msg, "bn_rt") && strstr(t.cx.msg, "input_mean"));
  t_free(&t);
}

static void test_pow_mixed_types(void) {
  T t;
  t_init(&t, 15);
  Value *a = t_input(&t, "a", DT_F32, 2, D(2, 3));
  Value *e = t_input(&t, "e", DT_I64, 1, D(3));
  Value *y = t_val(&t, "y", DT_F32, 2, D(2, 3));
  t_binary(&t, OP_Pow, "pow", a, e, y);
  CHECK(t_lower(&t, 1, &y) == O2L_OK);
  Node *c = t_find(&t, TFL_CAST, 0), *p = t_find(&t, TFL_POW, 0);
  CHECK(c && p && c->out[0]->dtype == DT_F32 && p->in[1] == c->out[0]);
  t_free(&t);
}

static void test_unsupported_types(void) {
  T t;
  t_init(&t, 13);
  Value *a = t_input(&t, "a", DT_I64, 1, D(4));
  Value *e = t_input(&t, "e", DT_I64, 1, D(4));
  Value *y = t_val(&t, "y", DT_I64, 1, D(4));
  t_binary(&t, OP_Pow, "pow_i64", a, e, y);
  CHECK(t_lower(&t, 1, &y) == O2L_ERR_UNSUPPORTED);
  CHECK(strstr(t.cx.msg, "pow_i64") && strstr(t.cx.msg, "int64") &&
        strstr(t.cx.msg, "POW"));
  t_free(&t);
}

/* ---- Softmax ----------------------------------------------------------------- */

static Value *softmax_of(T *t, int op, const char *name, Value *x, int axis) {
  Value *y = t_val(t, name, DT_F32, x->rank, x->dims);
  Node *n = t_unary(t, op, name, x, y);
  node_set_attr_int(&t->cx, n, "axis", axis);
  return y;
}

static void test_softmax_channels(void) {
  T t;
  t_init(&t, 13);
  Value *m = t_nhwc_map(&t, "x", NCHW);
  Value *outs[2] = {softmax_of(&t, OP_Softmax, "sm", m, 1),
                    softmax_of(&t, OP_LogSoftmax, "lsm", m, -3)};
  CHECK(t_lower(&t, 2, outs) == O2L_OK);
  CHECK(t_count(&t, TFL_TRANSPOSE) == 0);
  Node *s = t_find(&t, TFL_SOFTMAX, 0);
  CHECK(s && s->opt.beta == 1.0f && dims_are(s->out[0], 4, NHWC));
  Node *l = t_find(&t, TFL_LOG_SOFTMAX, 0);
  CHECK(l && dims_are(l->out[0], 4, NHWC));
  CHECK(dims_are(t.out->outputs[0], 4, NHWC));
  t_free(&t);
}

/* Over H or W of a channels-last map the softmax is written out along
 * that stored axis (REDUCE_MAX, SUB, EXP, SUM, DIV): no TRANSPOSE, and the
 * output stays NHWC. */
static void check_written_out(T *t, int axis_nhwc) {
  CHECK(t_count(t, TFL_TRANSPOSE) == 0);
  CHECK(t_count(t, TFL_SOFTMAX) == 0);
  Node *mx = t_find(t, TFL_REDUCE_MAX, 0);
  CHECK(mx && mx->opt.keep_dims && dims_are(mx->in[0], 4, NHWC));
  CHECK(mx && value_is_const(mx->in[1]) && load_i32(mx->in[1]->data, 0) == axis_nhwc);
  CHECK(t_count(t, TFL_SUM) == 1 && t_count(t, TFL_EXP) == 1 &&
        t_count(t, TFL_DIV) == 1);
  CHECK(dims_are(t->out->outputs[0], 4, NHWC));
}

static void test_softmax_spatial_axis(void) {
  T t;
  t_init(&t, 13);
  Value *m = t_nhwc_map(&t, "x", NCHW);
  Value *y = softmax_of(&t, OP_Softmax, "sm", m, 3);
  CHECK(t_lower(&t, 1, &y) == O2L_OK);
  check_written_out(&t, 2); /* W */
  t_free(&t);

  t_init(&t, 13);
  m = t_nhwc_map(&t, "x", NCHW);
  y = softmax_of(&t, OP_Softmax, "sm", m, 2);
  CHECK(t_lower(&t, 1, &y) == O2L_OK);
  check_written_out(&t, 1); /* H */
  t_free(&t);
}

static void test_softmax_opset11_rows(void) {
  T t;
  t_init(&t, 11);
  Value *m = t_nhwc_map(&t, "x", NCHW);
  Value *y = softmax_of(&t, OP_Softmax, "sm", m, 1);
  CHECK(t_lower(&t, 1, &y) == O2L_OK);
  CHECK(t_count(&t, TFL_TRANSPOSE) == 0);
  Node *s = t_find(&t, TFL_SOFTMAX, 0);
  CHECK(s && dims_are(s->in[0], 2, D(1, 60)) && s->opt.beta == 1.0f);
  CHECK(dims_are(t.out->outputs[0], 4, NHWC));
  t_free(&t);

  /* axis 2: rows are (n, c) pairs of H*W values, which NHWC does not
   * store together: written out over the stored H and W axes */
  t_init(&t, 11);
  m = t_nhwc_map(&t, "x", D(2, 3, 4, 5));
  y = softmax_of(&t, OP_Softmax, "sm", m, 2);
  CHECK(t_lower(&t, 1, &y) == O2L_OK);
  CHECK(t_count(&t, TFL_TRANSPOSE) == 0 && t_count(&t, TFL_SOFTMAX) == 0);
  Node *mx = t_find(&t, TFL_REDUCE_MAX, 0);
  CHECK(mx && value_numel(mx->in[1]) == 2 &&
        load_i32(mx->in[1]->data, 0) == 1 && load_i32(mx->in[1]->data, 1) == 2);
  CHECK(dims_are(t.out->outputs[0], 4, D(2, 4, 5, 3)));
  t_free(&t);
}

int main(void) {
  test_add_channel_const();
  test_broadcast_shapes();
  test_div_pow();
  test_variadic();
  test_prelu();
  test_compare_where();
  test_int_ops();
  test_unary_keeps_order();
  test_activation_decompositions();
  test_clip();
  test_bn_rank3_and_errors();
  test_pow_mixed_types();
  test_unsupported_types();
  test_softmax_channels();
  test_softmax_spatial_axis();
  test_softmax_opset11_rows();
  return check_done("test_lower_eltwise");
}
