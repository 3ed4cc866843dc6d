/* test_fold.c - constant evaluation (ops.def fold functions) through
 * pass_infer_shapes and pass_fold_constants: the Shape -> Gather ->
 * Unsqueeze -> Concat -> Reshape chain, every folded operator on the
 * dtypes it supports, unaligned inputs, aligned results, and results that
 * share the input's bytes. */
#include <math.h>
#include <stdlib.h>

#include "irb.h"

static int64_t i64_at(const Value *v, size_t i) {
  return load_as_i64(v->data, v->dtype, i);
}
static double f_at(const Value *v, size_t i) {
  return load_as_f64(v->data, v->dtype, i);
}

static bool ints_are(const Value *v, int n, const int64_t *want) {
  if (!value_is_const(v) || value_numel(v) != n)
    return false;
  for (int i = 0; i < n; i++)
    if (i64_at(v, (size_t)i) != want[i])
      return false;
  return true;
}
#define INTS_ARE(v, ...) ints_are((v), NI(__VA_ARGS__), IV(__VA_ARGS__))

static bool floats_are(const Value *v, int n, const double *want, double tol) {
  if (!value_is_const(v) || value_numel(v) != n)
    return false;
  for (int i = 0; i < n; i++) {
    double d = f_at(v, (size_t)i);
    if (!(fabs(d - want[i]) <= tol) && !(isnan(d) && isnan(want[i]))) {
      fprintf(stderr, "  element %d: %g, expected %g\n", i, d, want[i]);
      return false;
    }
  }
  return true;
}
#define FV(...) ((const double[]){__VA_ARGS__})
#define FN(...) ((int)(sizeof((double[]){__VA_ARGS__}) / sizeof(double)))
#define FLOATS_ARE(v, tol, ...) floats_are((v), FN(__VA_ARGS__), FV(__VA_ARGS__), (tol))

static bool aligned(const Value *v) { return ((uintptr_t)v->data & 63) == 0; }

static int live_nodes(const Graph *g) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += !g->nodes[i]->dead;
  return k;
}

/* PyTorch's x.view(x.size(0), -1): the shape is computed at run time. */
static void test_shape_chain(void) {
  TB t;
  tb_init(&t, 13);
  Value *x = tb_input(&t, "x", DT_F32, 4, IV(1, 3, 4, 5));
  Value *sh = tb_op(&t, "Shape", "shape", INS(x), NOATTR);
  Value *g = tb_op(&t, "Gather", "gather", INS(sh, tb_scalar_i64(&t, "zero", 0)),
                   ATTRS(A_i("axis", 0)));
  Value *u = tb_op(&t, "Unsqueeze", "unsq", INS(g, tb_ints(&t, "ax", 1, IV(0))), NOATTR);
  Value *c = tb_op(&t, "Concat", "cat", INS(u, tb_ints(&t, "m1", 1, IV(-1))),
                   ATTRS(A_i("axis", 0)));
  Value *y = tb_op(&t, "Reshape", "reshape", INS(x, c), NOATTR);
  Value *z = tb_op(&t, "Relu", "relu", INS(y), NOATTR);
  tb_output(&t, z);
  CHECK(tb_infer(&t) == O2L_OK);
  CHECK(INTS_ARE(sh, 1, 3, 4, 5));
  CHECK(g->rank == 0 && INTS_ARE(g, 1));
  CHECK(SHAPE(u, 1) && INTS_ARE(u, 1));
  CHECK(INTS_ARE(c, 1, -1) && aligned(c));
  CHECK(SHAPE(y, 1, 60) && !value_is_const(y) && SHAPE(z, 1, 60));
  PassStats st = {0};
  CHECK(pass_fold_constants(&t.cx, t.g, &st) == O2L_OK);
  CHECK(st.folded == 4);
  CHECK(t.g->nnodes == 2 && t.g->nodes[0]->op == OP_Reshape &&
        t.g->nodes[1]->op == OP_Relu);
  CHECK(t.g->nodes[0]->in[1] == c && value_is_const(c));
  tb_free(&t);
}

static void test_binary_fold(void) {
  TB t;
  tb_init(&t, 13);
  float a[6] = {1, -2, 3, -4, 5, 6}, b[3] = {10, 20, 30};
  Value *va = tb_const_skew(&t, "a", DT_F32, 2, IV(2, 3), a, 1); /* unaligned */
  Value *vb = tb_const(&t, "b", DT_F32, 1, IV(3), b);
  Value *add = tb_op(&t, "Add", "add", INS(va, vb), NOATTR);
  Value *sub = tb_op(&t, "Sub", "sub", INS(vb, va), NOATTR);
  Value *mul = tb_op(&t, "Mul", "mul", INS(va, tb_scalar_f32(&t, "two", 2)), NOATTR);
  Value *dv = tb_op(&t, "Div", "div", INS(va, vb), NOATTR);
  Value *pw = tb_op(&t, "Pow", "pow", INS(va, tb_scalar_i64(&t, "e2", 2)), NOATTR);
  Value *mx = tb_op(&t, "Max", "max", INS(va, vb, tb_scalar_f32(&t, "four", 4)), NOATTR);
  Value *mn = tb_op(&t, "Min", "min", INS(va, vb), NOATTR);
  Value *sm = tb_op(&t, "Sum", "sum", INS(va, va, va), NOATTR);
  Value *me = tb_op(&t, "Mean", "mean", INS(va, vb), NOATTR);
  Value *pr = tb_op(&t, "PRelu", "prelu", INS(va, tb_const(&t, "sl", DT_F32, 1, IV(3),
                                                        (float[]){0.5f, 0.25f, 0.1f})),
                    NOATTR);
  Value *lt = tb_op(&t, "Less", "lt", INS(va, tb_scalar_f32(&t, "z", 0)), NOATTR);
  Value *eq = tb_op(&t, "Equal", "eq", INS(va, tb_scalar_f32(&t, "five", 5)), NOATTR);
  Value *ge = tb_op(&t, "GreaterOrEqual", "ge", INS(va, tb_scalar_f32(&t, "three", 3)), NOATTR);
  CHECK(tb_infer(&t) == O2L_OK);
  CHECK(FLOATS_ARE(add, 0, 11, 18, 33, 6, 25, 36) && aligned(add));
  CHECK(FLOATS_ARE(sub, 0, 9, 22, 27, 14, 15, 24));
  CHECK(FLOATS_ARE(mul, 0, 2, -4, 6, -8, 10, 12));
  CHECK(FLOATS_ARE(dv, 1e-7, 0.1, -0.1, 0.1, -0.4, 0.25, 0.2));
  CHECK(FLOATS_ARE(pw, 0, 1, 4, 9, 16, 25, 36));
  CHECK(FLOATS_ARE(mx, 0, 10, 20, 30, 10, 20, 30));
  CHECK(FLOATS_ARE(mn, 0, 1, -2, 3, -4, 5, 6));
  CHECK(FLOATS_ARE(sm, 0, 3, -6, 9, -12, 15, 18));
  CHECK(FLOATS_ARE(me, 0, 5.5, 9, 16.5, 3, 12.5, 18));
  CHECK(FLOATS_ARE(pr, 1e-7, 1, -0.5, 3, -2, 5, 6));
  CHECK(lt->dtype == DT_BOOL && INTS_ARE(lt, 0, 1, 0, 1, 0, 0));
  CHECK(INTS_ARE(eq, 0, 0, 0, 0, 1, 0) && INTS_ARE(ge, 0, 0, 1, 0, 1, 1));
  tb_free(&t);
}

static void test_binary_int_fold(void) {
  TB t;
  tb_init(&t, 13);
  Value *a = tb_ints(&t, "a", 4, IV(7, -7, 7, -7));
  Value *b = tb_ints(&t, "b", 4, IV(2, 2, -2, -2));
  Value *dv = tb_op(&t, "Div", "div", INS(a, b), NOATTR);
  Value *mu = tb_op(&t, "Mul", "mul", INS(a, b), NOATTR);
  Value *pw = tb_op(&t, "Pow", "pow", INS(a, tb_ints(&t, "e", 1, IV(3))), NOATTR);
  Value *me = tb_op(&t, "Mean", "mean", INS(a, b), NOATTR);
  int32_t i32[3] = {INT32_MAX, -5, 100};
  Value *c = tb_const_skew(&t, "c", DT_I32, 1, IV(3), i32, 3);
  Value *ci = tb_op(&t, "Add", "addi", INS(c, tb_const(&t, "one", DT_I32, 0, NULL, (int32_t[]){1})),
                    NOATTR);
  uint8_t u8[2] = {3, 250};
  Value *u = tb_const(&t, "u", DT_U8, 1, IV(2), u8);
  Value *us = tb_op(&t, "Sub", "subu", INS(u, tb_const(&t, "ten", DT_U8, 0, NULL, (uint8_t[]){10})),
                    NOATTR);
  int8_t i8[3] = {-128, 0, 127};
  Value *s8 = tb_const(&t, "s8", DT_I8, 1, IV(3), i8);
  Value *gt = tb_op(&t, "Greater", "gt", INS(s8, tb_const(&t, "z8", DT_I8, 0, NULL, (int8_t[]){0})),
                    NOATTR);
  Value *ng = tb_op(&t, "Neg", "neg", INS(s8), NOATTR);
  unsigned char bt[4] = {0, 1, 0, 1}, bf[4] = {0, 0, 1, 1};
  Value *vt = tb_const(&t, "bt", DT_BOOL, 1, IV(4), bt);
  Value *vf = tb_const(&t, "bf", DT_BOOL, 1, IV(4), bf);
  Value *an = tb_op(&t, "And", "and", INS(vt, vf), NOATTR);
  Value *orr = tb_op(&t, "Or", "or", INS(vt, vf), NOATTR);
  Value *nt = tb_op(&t, "Not", "not", INS(vt), NOATTR);
  Value *eqb = tb_op(&t, "Equal", "eqb", INS(vt, vf), NOATTR);
  CHECK(tb_infer(&t) == O2L_OK);
  CHECK(INTS_ARE(dv, 3, -3, -3, 3)); /* truncation toward zero */
  CHECK(INTS_ARE(mu, 14, -14, -14, 14));
  CHECK(INTS_ARE(pw, 343, -343, 343, -343));
  CHECK(INTS_ARE(me, 4, -2, 2, -4));
  CHECK(ci->dtype == DT_I32 && INTS_ARE(ci, INT32_MIN, -4, 101)); /* wraps */
  CHECK(us->dtype == DT_U8 && INTS_ARE(us, 249, 240));
  CHECK(INTS_ARE(gt, 0, 0, 1) && INTS_ARE(ng, -128, 0, -127));
  CHECK(INTS_ARE(an, 0, 0, 0, 1) && INTS_ARE(orr, 0, 1, 1, 1) && INTS_ARE(nt, 1, 0, 1, 0));
  CHECK(INTS_ARE(eqb, 1, 0, 0, 1));
  tb_free(&t);
  tb_init(&t, 13);
  tb_op(&t, "Div", "div0", INS(tb_ints(&t, "n", 1, IV(1)), tb_ints(&t, "d", 1, IV(0))), NOATTR);
  CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "Div 'div0': integer division by zero"));
  tb_free(&t);
}

static void test_float_types(void) {
  TB t;
  tb_init(&t, 13);
  uint16_t h[3] = {f32_to_f16(1.5f), f32_to_f16(-2.0f), f32_to_f16(0.25f)};
  Value *vh = tb_const_skew(&t, "h", DT_F16, 1, IV(3), h, 1);
  Value *mh = tb_op(&t, "Mul", "mh", INS(vh, vh), NOATTR);
  double d[2] = {2.0, 3.0};
  Value *vd = tb_const(&t, "d", DT_F64, 1, IV(2), d);
  Value *pd = tb_op(&t, "Pow", "pd", INS(vd, tb_const(&t, "half", DT_F64, 0, NULL, (double[]){0.5})),
                    NOATTR);
  Value *sq = tb_op(&t, "Sqrt", "sqh", INS(vh), NOATTR);
  CHECK(tb_infer(&t) == O2L_OK);
  CHECK(mh->dtype == DT_F16 && FLOATS_ARE(mh, 0, 2.25, 4, 0.0625));
  CHECK(pd->dtype == DT_F64 && FLOATS_ARE(pd, 1e-15, sqrt(2.0), sqrt(3.0)));
  CHECK(FLOATS_ARE(sq, 1e-3, sqrt(1.5), NAN, 0.5));
  tb_free(&t);
}

static void test_unary_fold(void) {
  TB t;
  tb_init(&t, 13);
  float a[6] = {-2.5f, -0.5f, 0.5f, 1.5f, 2.5f, 4};
  Value *va = tb_const(&t, "a", DT_F32, 1, IV(6), a);
  Value *relu = tb_op(&t, "Relu", "relu", INS(va), NOATTR);
  Value *ab = tb_op(&t, "Abs", "abs", INS(va), NOATTR);
  Value *fl = tb_op(&t, "Floor", "floor", INS(va), NOATTR);
  Value *ce = tb_op(&t, "Ceil", "ceil", INS(va), NOATTR);
  Value *ro = tb_op(&t, "Round", "round", INS(va), NOATTR);
  Value *ne = tb_op(&t, "Neg", "neg", INS(va), NOATTR);
  Value *rc = tb_op(&t, "Reciprocal", "rec", INS(va), NOATTR);
  Value *sg = tb_op(&t, "Sigmoid", "sig", INS(va), NOATTR);
  Value *ex = tb_op(&t, "Exp", "exp", INS(va), NOATTR);
  Value *si = tb_op(&t, "Sign", "sign", INS(va), NOATTR);
  Value *lr = tb_op(&t, "LeakyRelu", "lrelu", INS(va), ATTRS(A_f("alpha", 0.1f)));
  Value *hs = tb_op(&t, "HardSigmoid", "hsig", INS(va), NOATTR);
  Value *hw = tb_op(&t, "HardSwish", "hswish", INS(va), NOATTR);
  Value *el = tb_op(&t, "Elu", "elu", INS(va), NOATTR);
  Value *th = tb_op(&t, "Tanh", "tanh", INS(va), NOATTR);
  Value *ri = tb_op(&t, "Relu", "relui", INS(tb_ints(&t, "i", 3, IV(-3, 0, 3))), NOATTR);
  Value *ai = tb_op(&t, "Abs", "absi", INS(tb_ints(&t, "j", 2, IV(-3, 3))), NOATTR);
  CHECK(tb_infer(&t) == O2L_OK);
  CHECK(FLOATS_ARE(relu, 0, 0, 0, 0.5, 1.5, 2.5, 4));
  CHECK(FLOATS_ARE(ab, 0, 2.5, 0.5, 0.5, 1.5, 2.5, 4));
  CHECK(FLOATS_ARE(fl, 0, -3, -1, 0, 1, 2, 4));
  CHECK(FLOATS_ARE(ce, 0, -2, -0.0, 1, 2, 3, 4));
  CHECK(FLOATS_ARE(ro, 0, -2, -0.0, 0, 2, 2, 4)); /* half to even */
  CHECK(FLOATS_ARE(ne, 0, 2.5, 0.5, -0.5, -1.5, -2.5, -4));
  CHECK(FLOATS_ARE(rc, 1e-7, -0.4, -2, 2, 1 / 1.5, 0.4, 0.25));
  CHECK(FLOATS_ARE(sg, 1e-6, 1 / (1 + exp(2.5)), 1 / (1 + exp(0.5)), 1 / (1 + exp(-0.5)),
                   1 / (1 + exp(-1.5)), 1 / (1 + exp(-2.5)), 1 / (1 + exp(-4.0))));
  CHECK(FLOATS_ARE(ex, 1e-5, exp(-2.5), exp(-0.5), exp(0.5), exp(1.5), exp(2.5), exp(4.0)));
  CHECK(FLOATS_ARE(si, 0, -1, -1, 1, 1, 1, 1));
  CHECK(FLOATS_ARE(lr, 1e-7, -0.25, -0.05, 0.5, 1.5, 2.5, 4));
  CHECK(FLOATS_ARE(hs, 1e-7, 0, 0.4, 0.6, 0.8, 1, 1));
  CHECK(FLOATS_ARE(hw, 1e-6, -2.5 * (0.5 - 2.5 / 6), -0.5 * (0.5 - 0.5 / 6), 0.5 * (0.5 + 0.5 / 6),
                   1.5 * 0.75, 2.5 * (0.5 + 2.5 / 6), 4));
  CHECK(FLOATS_ARE(el, 1e-6, exp(-2.5) - 1, exp(-0.5) - 1, 0.5, 1.5, 2.5, 4));
  CHECK(FLOATS_ARE(th, 1e-6, tanh(-2.5), tanh(-0.5), tanh(0.5), tanh(1.5), tanh(2.5), tanh(4.0)));
  CHECK(INTS_ARE(ri, 0, 0, 3) && INTS_ARE(ai, 3, 3));
  tb_free(&t);
}

static void test_clip_where_cast(void) {
  TB t;
  tb_init(&t, 13);
  float a[5] = {-7, -1.7f, 0.4f, 5.9f, 9};
  Value *va = tb_const(&t, "a", DT_F32, 1, IV(5), a);
  Value *cl = tb_op(&t, "Clip", "clip", INS(va, tb_scalar_f32(&t, "lo", 0), tb_scalar_f32(&t, "hi", 6)),
                    NOATTR);
  Value *cl1 = tb_op(&t, "Clip", "clip1", INS(va, NULL, tb_scalar_f32(&t, "hi2", 1)), NOATTR);
  Value *cli = tb_op(&t, "Clip", "clipi", INS(tb_ints(&t, "i", 3, IV(-5, 2, 9)), tb_scalar_i64(&t, "l", 0),
                                             tb_scalar_i64(&t, "h", 6)), NOATTR);
  unsigned char cond[2] = {1, 0};
  Value *vc = tb_const(&t, "cond", DT_BOOL, 2, IV(2, 1), cond);
  Value *wh = tb_op(&t, "Where", "where", INS(vc, tb_ints(&t, "xs", 3, IV(1, 2, 3)),
                                             tb_scalar_i64(&t, "ys", -1)), NOATTR);
  Value *ci = tb_op(&t, "Cast", "toi32", INS(va), ATTRS(A_i("to", 6)));
  Value *cb = tb_op(&t, "Cast", "tobool", INS(va), ATTRS(A_i("to", 9)));
  Value *ch = tb_op(&t, "Cast", "tof16", INS(tb_ints(&t, "k", 2, IV(3, -2048))), ATTRS(A_i("to", 10)));
  Value *cu = tb_op(&t, "Cast", "tou8", INS(tb_ints(&t, "m", 2, IV(255, 256))), ATTRS(A_i("to", 2)));
  Value *cz = tb_op(&t, "Cast", "tobool2", INS(tb_const(&t, "small", DT_F32, 1, IV(2), (float[]){0.25f, 0})),
                    ATTRS(A_i("to", 9)));
  Value *c1 = tb_op(&t, "Cast", "legacy", INS(va), ATTRS(A_s("to", "INT64")));
  CHECK(tb_infer(&t) == O2L_OK);
  CHECK(FLOATS_ARE(cl, 1e-6, 0, 0, 0.4, 5.9, 6));
  CHECK(FLOATS_ARE(cl1, 1e-6, -7, -1.7, 0.4, 1, 1));
  CHECK(INTS_ARE(cli, 0, 2, 6));
  CHECK(SHAPE(wh, 2, 3) && INTS_ARE(wh, 1, 2, 3, -1, -1, -1));
  CHECK(ci->dtype == DT_I32 && INTS_ARE(ci, -7, -1, 0, 5, 9));
  CHECK(cb->dtype == DT_BOOL && INTS_ARE(cb, 1, 1, 1, 1, 1));
  CHECK(ch->dtype == DT_F16 && FLOATS_ARE(ch, 0, 3, -2048));
  CHECK(INTS_ARE(cu, 255, 0) && INTS_ARE(cz, 1, 0));
  CHECK(c1->dtype == DT_I64 && INTS_ARE(c1, -7, -1, 0, 5, 9));
  tb_free(&t);
}

static void test_movement_fold(void) {
  TB t;
  int64_t d6[6] = {0, 1, 2, 3, 4, 5};
  tb_init(&t, 13);
  Value *a = tb_const_skew(&t, "a", DT_I64, 2, IV(2, 3), d6, 5);
  Value *cat = tb_op(&t, "Concat", "cat", INS(a, a), ATTRS(A_i("axis", 1)));
  Value *tr = tb_op(&t, "Transpose", "tr", INS(a), NOATTR);
  Value *ex = tb_op(&t, "Expand", "ex", INS(tb_ints(&t, "e", 2, IV(7, 8)), tb_ints(&t, "es", 2, IV(2, 1))),
                    NOATTR);
  Value *ti = tb_op(&t, "Tile", "tile", INS(a, tb_ints(&t, "rep", 2, IV(2, 1))), NOATTR);
  Value *ga = tb_op(&t, "Gather", "ga", INS(a, tb_ints(&t, "idx", 2, IV(-1, 0))), ATTRS(A_i("axis", 1)));
  Value *ga0 = tb_op(&t, "Gather", "ga0", INS(a, tb_const(&t, "i32", DT_I32, 0, NULL, (int32_t[]){1})),
                     NOATTR);
  Value *sl = tb_op(&t, "Slice", "sl", INS(a, tb_ints(&t, "st", 1, IV(-1)), tb_ints(&t, "en", 1, IV(INT64_MIN)),
                                           tb_ints(&t, "ax", 1, IV(1)), tb_ints(&t, "sp", 1, IV(-2))), NOATTR);
  Value *re = tb_op(&t, "Reshape", "re", INS(a, tb_ints(&t, "shape", 1, IV(-1))), NOATTR);
  Value *fl = tb_op(&t, "Flatten", "fl", INS(a), ATTRS(A_i("axis", 0)));
  Value *us = tb_op(&t, "Unsqueeze", "us", INS(a, tb_ints(&t, "uax", 1, IV(1))), NOATTR);
  Value *sq = tb_op(&t, "Squeeze", "sq", INS(us), NOATTR);
  Value *id = tb_op(&t, "Identity", "id", INS(a), NOATTR);
  Node *dr = tb_node(&t, "Dropout", "dr", INS(a), 2, NOATTR);
  Node *sp = tb_node(&t, "Split", "sp", INS(a, tb_ints(&t, "sizes", 2, IV(2, 1))), 2, ATTRS(A_i("axis", 1)));
  Value *pd = tb_op(&t, "Pad", "pad", INS(a, tb_ints(&t, "pads", 4, IV(0, 1, 1, -1)),
                                          tb_scalar_i64(&t, "cv", 9)), NOATTR);
  Value *pr = tb_op(&t, "Pad", "padr", INS(a, tb_ints(&t, "pads2", 4, IV(0, 2, 0, 1))),
                    ATTRS(A_s("mode", "reflect")));
  Value *pe = tb_op(&t, "Pad", "pade", INS(a, tb_ints(&t, "pads3", 4, IV(1, 0, 0, 0))),
                    ATTRS(A_s("mode", "edge")));
  CHECK(tb_infer(&t) == O2L_OK);
  CHECK(SHAPE(cat, 2, 6) && INTS_ARE(cat, 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5));
  CHECK(SHAPE(tr, 3, 2) && INTS_ARE(tr, 0, 3, 1, 4, 2, 5));
  CHECK(SHAPE(ex, 2, 2) && INTS_ARE(ex, 7, 8, 7, 8));
  CHECK(SHAPE(ti, 4, 3) && INTS_ARE(ti, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5));
  CHECK(SHAPE(ga, 2, 2) && INTS_ARE(ga, 2, 0, 5, 3));
  CHECK(SHAPE(ga0, 3) && INTS_ARE(ga0, 3, 4, 5));
  CHECK(SHAPE(sl, 2, 2) && INTS_ARE(sl, 2, 0, 5, 3));
  CHECK(SHAPE(re, 6) && re->data == a->data);
  CHECK(SHAPE(fl, 1, 6) && fl->data == a->data);
  CHECK(SHAPE(us, 2, 1, 3) && SHAPE(sq, 2, 3) && sq->data == a->data);
  CHECK(id->data == a->data && dr->out[0]->data == a->data && INTS_ARE(dr->out[1], 1, 1, 1, 1, 1, 1));
  CHECK(INTS_ARE(sp->out[0], 0, 1, 3, 4) && INTS_ARE(sp->out[1], 2, 5));
  CHECK(SHAPE(pd, 3, 3) && INTS_ARE(pd, 9, 0, 1, 9, 3, 4, 9, 9, 9));
  CHECK(SHAPE(pr, 2, 6) && INTS_ARE(pr, 2, 1, 0, 1, 2, 1, 5, 4, 3, 4, 5, 4));
  CHECK(SHAPE(pe, 3, 3) && INTS_ARE(pe, 0, 1, 2, 0, 1, 2, 3, 4, 5));
  tb_free(&t);

  tb_init(&t, 13); /* Concat of inputs with different ranks */
  a = tb_ints(&t, "a", 2, IV(1, 2));
  tb_op(&t, "Concat", "c", INS(a, tb_scalar_i64(&t, "s", 3)), ATTRS(A_i("axis", 0)));
  CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "input 1 has shape scalar"));
  tb_free(&t);
}

static void test_generators(void) {
  TB t;
  tb_init(&t, 15);
  Value *k1 = tb_op(&t, "Constant", "k1", 0, NULL, ATTRS(A_fs("value_floats", 2, (float[]){1.5f, -2})));
  Value *k2 = tb_op(&t, "Constant", "k2", 0, NULL, ATTRS(A_i("value_int", 42)));
  Value *k3 = tb_op(&t, "Constant", "k3", 0, NULL, ATTRS(A_f("value_float", 0.5f)));
  Value *k4 = tb_op(&t, "Constant", "k4", 0, NULL, ATTRS(INTS("value_ints", 4, 5)));
  float tv[2] = {7, 8};
  Value *tens = tb_const_skew(&t, "tens", DT_F32, 2, IV(1, 2), tv, 2);
  Value *k5 = tb_op(&t, "Constant", "k5", 0, NULL, ATTRS(A_t("value", tens)));
  Value *val = tb_const(&t, "val", DT_I32, 1, IV(1), (int32_t[]){-3});
  Value *co = tb_op(&t, "ConstantOfShape", "cos", INS(tb_ints(&t, "s", 2, IV(2, 2))), ATTRS(A_t("value", val)));
  Value *co0 = tb_op(&t, "ConstantOfShape", "cos0", INS(tb_ints(&t, "s0", 1, IV(3))), NOATTR);
  Value *r = tb_op(&t, "Range", "r", INS(tb_scalar_i64(&t, "a", 10), tb_scalar_i64(&t, "b", 1),
                                         tb_scalar_i64(&t, "c", -3)), NOATTR);
  Value *rf = tb_op(&t, "Range", "rf", INS(tb_scalar_f32(&t, "fa", 0), tb_scalar_f32(&t, "fb", 1),
                                           tb_scalar_f32(&t, "fc", 0.25f)), NOATTR);
  Value *x = tb_input(&t, "x", DT_F32, 3, IV(2, 5, 7));
  Value *sh = tb_op(&t, "Shape", "sh", INS(x), ATTRS(A_i("start", -2)));
  Value *sz = tb_op(&t, "Size", "sz", INS(x), NOATTR);
  CHECK(tb_infer(&t) == O2L_OK);
  CHECK(FLOATS_ARE(k1, 0, 1.5, -2) && k1->dtype == DT_F32);
  CHECK(k2->rank == 0 && INTS_ARE(k2, 42) && k3->rank == 0 && FLOATS_ARE(k3, 0, 0.5));
  CHECK(INTS_ARE(k4, 4, 5) && SHAPE(k5, 1, 2) && FLOATS_ARE(k5, 0, 7, 8));
  CHECK(co->dtype == DT_I32 && SHAPE(co, 2, 2) && INTS_ARE(co, -3, -3, -3, -3));
  CHECK(co0->dtype == DT_F32 && FLOATS_ARE(co0, 0, 0, 0, 0));
  CHECK(INTS_ARE(r, 10, 7, 4) && FLOATS_ARE(rf, 0, 0, 0.25, 0.5, 0.75));
  CHECK(INTS_ARE(sh, 5, 7) && sz->rank == 0 && INTS_ARE(sz, 70));
  PassStats st = {0};
  CHECK(pass_fold_constants(&t.cx, t.g, &st) == O2L_OK);
  CHECK(st.folded == 11 && t.g->nnodes == 0);
  tb_free(&t);
}

static void test_reduce_matmul_fold(void) {
  TB t;
  tb_init(&t, 13);
  float a[6] = {1, 2, 3, 4, 5, 6};
  Value *va = tb_const_skew(&t, "a", DT_F32, 2, IV(2, 3), a, 1);
  Value *s0 = tb_op(&t, "ReduceSum", "s0", INS(va, tb_ints(&t, "ax0", 1, IV(0))), NOATTR);
  Value *s1 = tb_op(&t, "ReduceSum", "s1", INS(va), ATTRS(A_i("keepdims", 0)));
  Value *m1 = tb_op(&t, "ReduceMean", "m1", INS(va), ATTRS(INTS("axes", -1)));
  Value *mx = tb_op(&t, "ReduceMax", "mx", INS(va), ATTRS(INTS("axes", 1), A_i("keepdims", 0)));
  Value *mn = tb_op(&t, "ReduceMin", "mn", INS(va), ATTRS(INTS("axes", 0)));
  Value *pr = tb_op(&t, "ReduceProd", "pr", INS(va), ATTRS(A_i("keepdims", 0)));
  Value *ri = tb_op(&t, "ReduceMean", "ri", INS(tb_ints(&t, "iv", 3, IV(1, 2, 4))), NOATTR);
  float b[6] = {1, 0, 0, 1, 1, 1};
  Value *vb = tb_const(&t, "b", DT_F32, 2, IV(3, 2), b);
  Value *mm = tb_op(&t, "MatMul", "mm", INS(va, vb), NOATTR);
  Value *v3 = tb_const(&t, "v3", DT_F32, 1, IV(3), (float[]){1, 1, 1});
  Value *mv = tb_op(&t, "MatMul", "mv", INS(va, v3), NOATTR);
  Value *vm = tb_op(&t, "MatMul", "vm", INS(tb_const(&t, "v2", DT_F32, 1, IV(2), (float[]){1, -1}), va), NOATTR);
  float bb[12];
  for (int i = 0; i < 12; i++)
    bb[i] = (float)i;
  Value *b3 = tb_const(&t, "b3", DT_F32, 3, IV(2, 3, 2), bb);
  Value *bm = tb_op(&t, "MatMul", "bm", INS(va, b3), NOATTR);
  Value *im = tb_op(&t, "MatMul", "im", INS(tb_ints(&t, "ia", 2, IV(2, 3)), tb_ints(&t, "ib", 2, IV(4, 5))),
                    NOATTR);
  CHECK(tb_infer(&t) == O2L_OK);
  CHECK(SHAPE(s0, 1, 3) && FLOATS_ARE(s0, 0, 5, 7, 9));
  CHECK(s1->rank == 0 && FLOATS_ARE(s1, 0, 21));
  CHECK(SHAPE(m1, 2, 1) && FLOATS_ARE(m1, 1e-6, 2, 5));
  CHECK(SHAPE(mx, 2) && FLOATS_ARE(mx, 0, 3, 6));
  CHECK(SHAPE(mn, 1, 3) && FLOATS_ARE(mn, 0, 1, 2, 3));
  CHECK(FLOATS_ARE(pr, 0, 720));
  CHECK(SHAPE(ri, 1) && INTS_ARE(ri, 2));
  CHECK(SHAPE(mm, 2, 2) && FLOATS_ARE(mm, 0, 4, 5, 10, 11));
  CHECK(SHAPE(mv, 2) && FLOATS_ARE(mv, 0, 6, 15));
  CHECK(SHAPE(vm, 3) && FLOATS_ARE(vm, 0, -3, -3, -3));
  /* batch 0: [[1,2,3],[4,5,6]] x [[0,1],[2,3],[4,5]]; batch 1: + 6 */
  CHECK(SHAPE(bm, 2, 2, 2) && FLOATS_ARE(bm, 0, 16, 22, 34, 49, 52, 58, 124, 139));
  CHECK(im->rank == 0 && INTS_ARE(im, 23));
  tb_free(&t);
}

/* A Mul of a weight by a constant folds even when the weight is big; an
 * Expand of a scalar to a huge tensor does not. */
static void test_fold_limits(void) {
  TB t;
  tb_init(&t, 13);
  Value *w = tb_const(&t, "w", DT_F32, 2, IV(512, 512), NULL);
  Value *m = tb_op(&t, "Mul", "m", INS(w, tb_scalar_f32(&t, "s", 2)), NOATTR);
  Value *e = tb_op(&t, "Expand", "e", INS(tb_scalar_f32(&t, "z", 1), tb_ints(&t, "big", 2, IV(4096, 4096))),
                   NOATTR);
  Value *x = tb_input(&t, "x", DT_F32, 2, IV(4096, 4096));
  tb_output(&t, tb_op(&t, "Add", "add", INS(x, e), NOATTR));
  tb_output(&t, m);
  CHECK(tb_infer(&t) == O2L_OK);
  CHECK(value_is_const(m) && aligned(m));
  CHECK(SHAPE(e, 4096, 4096) && !value_is_const(e));
  PassStats st = {0};
  CHECK(pass_fold_constants(&t.cx, t.g, &st) == O2L_OK);
  /* the constant graph output keeps its value and name */
  CHECK(st.folded == 1 && m->is_output && value_is_const(m) && !m->producer);
  CHECK(t.g->noutputs == 2 && t.g->outputs[1] == m);
  CHECK(live_nodes(t.g) == 2);
  tb_free(&t);
}

/* float32 fast paths (whole rows, broadcasting by strides) give the
 * element-by-element results bit for bit: binary operators on every
 * broadcast pattern of a 4-D shape, reductions over every axis subset. */
static float lcg_f32(uint32_t *st) {
  *st = *st * 1664525u + 1013904223u;
  return (float)((int)(*st >> 9) % 2001 - 1000) / 37.0f;
}

static void bcast_dims(int64_t *d, unsigned mask, const int64_t *full) {
  for (int i = 0; i < 4; i++)
    d[i] = mask & (1u << i) ? full[i] : 1;
}

static size_t bcast_index(const int64_t *d, const int64_t *idx) {
  size_t k = 0;
  for (int i = 0; i < 4; i++)
    k = k * (size_t)d[i] + (size_t)(d[i] == 1 ? 0 : idx[i]);
  return k;
}

static void test_f32_fast_paths(void) {
  const int64_t full[4] = {2, 3, 4, 5};
  const char *ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "PRelu"};
  uint32_t st = 1;
  float xa[120], xb[120];
  for (int i = 0; i < 120; i++) {
    xa[i] = lcg_f32(&st);
    xb[i] = lcg_f32(&st);
  }
  for (unsigned ma = 0; ma < 16; ma += 5) /* 0, 5, 10, 15 */
    for (unsigned mb = 0; mb < 16; mb++)
      for (int o = 0; o < 7; o++) {
        if (o == 6 && ma != 15) /* PRelu: X has the output's shape */
          continue;
        TB t;
        tb_init(&t, 13);
        int64_t da[4], db[4];
        bcast_dims(da, ma, full);
        bcast_dims(db, mb, full);
        Value *a = tb_const_skew(&t, "a", DT_F32, 4, da, xa, 1);
        Value *b = tb_const_skew(&t, "b", DT_F32, 4, db, xb, 3);
        Value *y = tb_op(&t, ops[o], "y", INS(a, b), NOATTR);
        CHECK(tb_infer(&t) == O2L_OK);
        bool same = value_is_const(y);
        int64_t idx[4];
        for (idx[0] = 0; idx[0] < 2; idx[0]++)
          for (idx[1] = 0; idx[1] < 3; idx[1]++)
            for (idx[2] = 0; idx[2] < 4; idx[2]++)
              for (idx[3] = 0; idx[3] < 5; idx[3]++) {
                if (!same)
                  break;
                double p = xa[bcast_index(da, idx)], q = xb[bcast_index(db, idx)];
                double r = o == 0 ? p + q : o == 1 ? p - q : o == 2 ? p * q
                         : o == 3 ? p / q : o == 4 ? (p > q ? p : q)
                         : o == 5 ? (p < q ? p : q) : (p < 0 ? p * q : p);
                size_t k = bcast_index(y->dims, idx);
                same = load_f32(y->data, k) == (float)r;
              }
        if (!same)
          fprintf(stderr, "  %s: a mask %u, b mask %u\n", ops[o], ma, mb);
        CHECK(same);
        tb_free(&t);
      }
  const char *rops[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceSumSquare"};
  for (unsigned axes = 1; axes < 16; axes++)
    for (int o = 0; o < 4; o++) {
      TB t;
      tb_init(&t, 13);
      int64_t ax[4];
      int na = 0;
      for (int i = 0; i < 4; i++)
        if (axes & (1u << i))
          ax[na++] = i;
      Value *x = tb_const_skew(&t, "x", DT_F32, 4, full, xa, 2);
      Value *y = o == 0 /* ReduceSum: axes as an input from opset 13 */
                     ? tb_op(&t, rops[o], "y", INS(x, tb_ints(&t, "ax", na, ax)), NOATTR)
                     : tb_op(&t, rops[o], "y", INS(x), ATTRS(A_is("axes", na, ax)));
      CHECK(tb_infer(&t) == O2L_OK);
      double acc[120];
      int64_t kd[4], idx[4];
      bcast_dims(kd, ~axes & 15u, full);
      for (int i = 0; i < 120; i++)
        acc[i] = o == 2 ? -INFINITY : 0;
      for (idx[0] = 0; idx[0] < 2; idx[0]++)
        for (idx[1] = 0; idx[1] < 3; idx[1]++)
          for (idx[2] = 0; idx[2] < 4; idx[2]++)
            for (idx[3] = 0; idx[3] < 5; idx[3]++) {
              double v = xa[bcast_index(full, idx)];
              double *a = &acc[bcast_index(kd, idx)];
              *a = o == 2 ? (v > *a ? v : *a) : o == 3 ? *a + v * v : *a + v;
            }
      bool same = value_is_const(y) && value_numel(y) == kd[0] * kd[1] * kd[2] * kd[3];
      for (int64_t k = 0; same && k < value_numel(y); k++) {
        double v = o == 1 ? acc[k] / (double)(120 / value_numel(y)) : acc[k];
        same = load_f32(y->data, (size_t)k) == (float)v;
      }
      if (!same)
        fprintf(stderr, "  %s over axes mask %u\n", rops[o], axes);
      CHECK(same);
      tb_free(&t);
    }
}

/* A large allocation nothing reads any more serves a later one (already
 * resident pages); anything else is refused.  Through shape inference:
 * folded temporaries whose readers have all been evaluated are recycled,
 * graph outputs and shared bytes are not, and the results stay right. */
static void test_recycling(void) {
  Arena a;
  arena_init(&a);
  size_t mb = 1 << 20;
  unsigned char *p = arena_alloc(&a, 2 * mb, 64);
  unsigned char *q = arena_alloc(&a, 3 * mb, 64);
  unsigned char *s = arena_alloc(&a, 1024, 8);
  CHECK(p && q && s);
  CHECK(!arena_recycle(&a, s, 1024));        /* small */
  CHECK(!arena_recycle(&a, p + 64, 2 * mb - 64)); /* not the allocation */
  CHECK(!arena_recycle(&a, p, 2 * mb - 8));  /* another size */
  memset(p, 7, 2 * mb);
  CHECK(arena_recycle(&a, p, 2 * mb));
  CHECK(!arena_recycle(&a, p, 2 * mb));      /* once */
  CHECK(arena_alloc(&a, 5 * mb, 64) != p);   /* too big for it */
  unsigned char *r = arena_alloc(&a, 1536 * 1024, 64);
  CHECK(r == p && r[0] == 0 && r[1536 * 1024 - 1] == 0); /* zeroed again */
  CHECK(arena_alloc(&a, 2 * mb, 64) != p);   /* taken */
  unsigned char *h = arena_alloc(&a, 2 * mb, 64);
  CHECK(!arena_recycle(&a, h, 2 * mb));      /* the newest */
  arena_free(&a);

  for (int shared = 0; shared < 2; shared++) {
    TB t;
    tb_init(&t, 13);
    int64_t d[2] = {512, 1024};
    float *xv = malloc(sizeof(float) * 512 * 1024);
    for (int i = 0; i < 512 * 1024; i++)
      xv[i] = (float)(i % 1000) / 8;
    Value *x = tb_const(&t, "x", DT_F32, 2, d, xv);
    Value *t1 = tb_op(&t, "Mul", "t1", INS(x, tb_scalar_f32(&t, "two", 2)), NOATTR);
    Value *t2 = tb_op(&t, "Add", "t2", INS(t1, tb_scalar_f32(&t, "one", 1)), NOATTR);
    Value *t3 = tb_op(&t, "Mul", "t3", INS(t2, tb_scalar_f32(&t, "three", 3)), NOATTR);
    Value *r1 = NULL;
    if (shared) /* t1's bytes also viewed by a reshape a live node reads */
      r1 = tb_op(&t, "Reshape", "r1", INS(t1, tb_ints(&t, "shp", 2, IV(1024, 512))), NOATTR);
    Value *in = tb_input(&t, "in", DT_F32, 2, d);
    tb_output(&t, tb_op(&t, "Add", "y", INS(in, t3), NOATTR));
    if (r1)
      tb_output(&t, tb_op(&t, "Add", "z", INS(tb_input(&t, "in2", DT_F32, 2, IV(1024, 512)), r1),
                          NOATTR));
    const void *p1 = NULL;
    CHECK(tb_infer(&t) == O2L_OK);
    p1 = t1->data;
    CHECK(shared ? t3->data != p1 : t3->data == p1);
    bool ok = value_is_const(t3);
    for (int i = 0; ok && i < 512 * 1024; i++)
      ok = load_f32(t3->data, (size_t)i) == (xv[i] * 2 + 1) * 3;
    CHECK(ok);
    if (r1)
      CHECK(r1->data == p1 && load_f32(r1->data, 5) == xv[5] * 2);
    free(xv);
    tb_free(&t);
  }
}

int main(void) {
  test_shape_chain();
  test_binary_fold();
  test_binary_int_fold();
  test_float_types();
  test_unary_fold();
  test_clip_where_cast();
  test_movement_fold();
  test_generators();
  test_reduce_matmul_fold();
  test_fold_limits();
  test_f32_fast_paths();
  test_recycling();
  return check_done("test_fold");
}
