/* lower_eltwise.c - lowering of the elementwise operators (binary,
 * variadic, comparisons, Where, unary and activations, Clip), of the
 * BatchNormalization nothing could fold into, and of Softmax/LogSoftmax.
 *
 * None of these cares about the axis order of its data, so none of them
 * should ever force a TRANSPOSE: a unary operator works on its input's
 * tensor as it is and its output inherits that order; a broadcasting
 * operator works in the axis order of its first full-shape input
 * (lw_pick_perm) and gets every other input in that order, constants being
 * permuted for free at conversion time; Softmax normalizes over the last
 * stored axis, so it uses the tensor as it is whenever the softmax axis is
 * already stored last (NCHW softmax over C of a channels-last map), and the
 * opset < 13 form, which normalizes whole rows, reads rows whose features
 * may be stored in any order.  Decompositions (HardSigmoid, Elu, Softplus,
 * Mean...) name their helper tensors after the node's output plus a suffix.
 *
 * Floats are float32; int32/int64/bool are accepted where the TFLite kernel
 * of the emitted operator takes them, and anything else is an
 * O2L_ERR_UNSUPPORTED naming the node, the type and the operator.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lower/lower.h"
#include "ops/opattr.h"

/* ---- types --------------------------------------------------------------- */

typedef unsigned TypeSet; /* one bit per DType */
#define TS(t) (1u << (t))
#define TS_F32 TS(DT_F32)
#define TS_INT (TS(DT_I32) | TS(DT_I64))
#define TS_NUM (TS_F32 | TS_INT)
#define TS_BOOL TS(DT_BOOL)

/* The element types the LiteRT kernel of op computes without quantization
 * parameters. */
static TypeSet tfl_types(TflOp op) {
  switch (op) {
  case TFL_ADD: case TFL_SUB: case TFL_MUL:
  case TFL_MAXIMUM: case TFL_MINIMUM:
  case TFL_LESS: case TFL_LESS_EQUAL: case TFL_GREATER:
  case TFL_GREATER_EQUAL: case TFL_NEG:
    return TS_NUM;
  case TFL_EQUAL: case TFL_SELECT_V2:
    return TS_NUM | TS_BOOL;
  case TFL_FLOOR_MOD:
    return TS_NUM;
  case TFL_DIV: case TFL_POW: case TFL_ABS: case TFL_SIGN:
    return TS_F32 | TS(DT_I32);
  case TFL_LOGICAL_AND: case TFL_LOGICAL_OR: case TFL_LOGICAL_NOT:
    return TS_BOOL;
  default:
    return TS_F32;
  }
}

static Status need_type(Lower *lw, DType t, TflOp op) {
  TypeSet ok = tfl_types(op);
  if ((unsigned)t < 32 && (ok & TS(t)))
    return O2L_OK;
  char list[128] = "";
  size_t len = 0;
  int count = 0, total = 0;
  for (int d = 0; d < DT_COUNT; d++)
    total += (ok & TS(d)) != 0;
  for (int d = 0; d < DT_COUNT && len < sizeof list; d++) {
    if (!(ok & TS(d)))
      continue;
    count++;
    const char *sep = count == 1 ? "" : count == total ? " or " : ", ";
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", sep,
                            dtype_name((DType)d));
  }
  return lw_err(lw, O2L_ERR_UNSUPPORTED,
                "%s tensors are not supported: TFLite's %s takes %s here",
                dtype_name(t), tfl_op_name(op), list);
}

/* ---- small builders -------------------------------------------------------- */

/* Rank-0 constant of type t (a float32, an integer or a bool). */
static Value *scalar_const(Lower *lw, const char *suffix, DType t, double v) {
  unsigned char buf[8] = {0};
  if (t == DT_BOOL)
    buf[0] = v != 0;
  else
    store_from_f64(buf, t, 0, v);
  return lw_const(lw, suffix, t, 0, NULL, buf);
}

/* Operator op reading a (emit1) or a and b (emit2) into out.  NULL when
 * an operand could not be made (the error is recorded). */
static Node *emit1(Lower *lw, TflOp op, Value *a, Value *out) {
  return a && out ? lw_op(lw, op, 1, &a, 1, &out) : NULL;
}

static Node *emit2(Lower *lw, TflOp op, Value *a, Value *b, Value *out) {
  Value *in[2] = {a, b};
  return a && b && out ? lw_op(lw, op, 2, in, 1, &out) : NULL;
}

/* New tensor shaped like t (suffix NULL: the node's output itself). */
static Value *tensor_like(Lower *lw, const char *suffix, DType dt, Value *t) {
  return t ? lw_tensor(lw, suffix, dt, t->rank, t->dims) : NULL;
}

/* y holds the data of x in x's order, in tensor t. */
static void copy_order(Lower *lw, Value *y, Value *t, Value *x) {
  LVal *lx = &lw->map[x->id];
  if (lx->has_hint && value_same_shape(x, y) && !value_is_const(x)) {
    int hint[O2L_MAX_RANK];
    memcpy(hint, lx->hint, sizeof hint);
    lw_set_perm(lw, y, t, hint);
  } else {
    Layout L = lx->L;
    lw_set_layout(lw, y, t, &L);
  }
}

/* The one value of constant c if all its elements are equal. */
static bool const_uniform(const Value *c, double *v) {
  int64_t k = value_numel(c);
  if (!value_is_const(c) || k < 1)
    return false;
  *v = load_as_f64(c->data, c->dtype, 0);
  for (int64_t i = 1; i < k; i++)
    if (load_as_f64(c->data, c->dtype, (size_t)i) != *v)
      return false;
  return true;
}

/* A new constant with the shape of TFLite constant c, type t and elements
 * f(c[i]) (f NULL: converted only). */
static Value *const_map(Lower *lw, Value *c, const char *suffix, DType t,
                        double (*f)(double)) {
  if (!c)
    return NULL;
  int64_t k = value_numel(c);
  void *data = arena_alloc(lw->cx->arena, (size_t)k * dtype_size(t) + 1, 16);
  if (!data) {
    ctx_oom(lw->cx, "converting a constant");
    return NULL;
  }
  for (int64_t i = 0; i < k; i++) {
    double v = load_as_f64(c->data, c->dtype, (size_t)i);
    store_from_f64(data, t, (size_t)i, f ? f(v) : v);
  }
  return lw_const(lw, suffix, t, c->rank, c->dims, data);
}

static double reciprocal(double v) { return 1.0 / v; }

/* numpy broadcasting of two TFLite tensor shapes. */
static void bcast_shape(const Value *a, const Value *b, int *r, int64_t *d) {
  *r = a->rank > b->rank ? a->rank : b->rank;
  for (int i = 0; i < *r; i++) {
    int ia = i - (*r - a->rank), ib = i - (*r - b->rank);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    d[i] = da == 1 ? db : da;
  }
}

/* ---- the broadcasting frame ------------------------------------------------ */

/* How a broadcasting operator reads its inputs and stores its output.
 * Normally in one axis order (perm) at the output's rank.  When the only
 * full-shape input holds its data in an order that is no axis permutation
 * (a reshape of a transposed tensor) and every other input is a single
 * value, the operator works on that tensor as it is instead (asis): a
 * single value is the same in every order, so no TRANSPOSE is needed. */
typedef struct Frame {
  bool asis;
  Value *main;                 /* asis: the input whose order is kept */
  int r;                       /* rank of the output tensor */
  int64_t dims[O2L_MAX_RANK];  /* its (physical) shape */
  int perm[O2L_MAX_RANK];      /* !asis: output = transpose(y, perm) */
  const char *why;
} Frame;

static void frame_init(Lower *lw, Node *n, Frame *F) {
  Value *y = n->out[0];
  memset(F, 0, sizeof *F);
  F->why = arena_printf(lw->cx->arena, "%s reads its inputs in one axis order",
                        op_name(n));
  Value *main = NULL;
  bool others_single = true;
  for (int i = 0; i < n->nin; i++) {
    Value *v = n->in[i];
    if (!v)
      continue;
    if (!main && !value_is_const(v) && value_same_shape(v, y))
      main = v;
    else if (value_numel(v) != 1)
      others_single = false;
  }
  int p[O2L_MAX_RANK];
  if (main && others_single && lw->map[main->id].t &&
      !lw_perm_of(lw, main, p)) {
    Value *t = lw->map[main->id].t;
    F->asis = true;
    F->main = main;
    F->r = t->rank;
    memcpy(F->dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
    return;
  }
  F->r = y->rank;
  lw_pick_perm(lw, n, y->rank, y->dims, F->perm);
  perm_apply(y->rank, y->dims, F->perm, F->dims);
}

/* A single-valued input for an operator whose other operand has rank r:
 * its own shape unless that would raise the output's rank. */
static Value *single_in(Lower *lw, Value *v, int r, const char *why) {
  if (v->rank <= r)
    return lw_in_asis(lw, v);
  return lw_in_plain(lw, v, 0, v->dims, why);
}

/* A runtime input of lower rank than the output, in the frame's order.
 * TFLite broadcasts from the right like numpy, so when the tensor holding
 * v already has the trailing part of the frame's shape it is used as it
 * is rather than reshaped to full rank; NULL when that does not apply. */
static Value *frame_in_low_rank(Lower *lw, const Frame *F, Value *v) {
  Value *t0 = lw->map[v->id].t;
  int off = F->r - v->rank;
  if (value_is_const(v) || !t0 || off <= 0 || t0->rank >= F->r)
    return NULL;
  int64_t padded[O2L_MAX_RANK], phys[O2L_MAX_RANK];
  for (int i = 0; i < F->r; i++)
    padded[i] = i < off ? 1 : v->dims[i - off];
  perm_apply(F->r, padded, F->perm, phys);
  int lead = F->r - t0->rank;
  for (int i = 0; i < F->r; i++)
    if (phys[i] != (i < lead ? 1 : t0->dims[i - lead]))
      return NULL;
  int vp[O2L_MAX_RANK], k = 0;
  for (int j = 0; j < F->r; j++)
    if (F->perm[j] >= off)
      vp[k++] = F->perm[j] - off;
  return lw_in_perm(lw, v, vp, t0->rank, t0->dims, F->why);
}

static Value *frame_in(Lower *lw, const Frame *F, Value *v) {
  if (!F->asis) {
    Value *t = frame_in_low_rank(lw, F, v);
    return t ? t : lw_in_bcast(lw, v, F->r, F->perm, F->why);
  }
  if (v == F->main)
    return lw_in_asis(lw, v);
  return single_in(lw, v, F->r, F->why);
}

static Value *frame_out(Lower *lw, const Frame *F, const char *suffix,
                        DType dt) {
  return lw_tensor(lw, suffix, dt, F->r, F->dims);
}

static void frame_set(Lower *lw, const Frame *F, Value *y, Value *t) {
  if (F->asis)
    copy_order(lw, y, t, F->main);
  else
    lw_set_perm(lw, y, t, F->perm);
}

/* ---- binary and variadic operators ----------------------------------------- */

static TflOp binary_tfl(int op) {
  switch (op) {
  case OP_Add: case OP_Sum: case OP_Mean: return TFL_ADD;
  case OP_Sub: return TFL_SUB;
  case OP_Mul: return TFL_MUL;
  case OP_Div: return TFL_DIV;
  case OP_Pow: return TFL_POW;
  case OP_Max: return TFL_MAXIMUM;
  case OP_Min: return TFL_MINIMUM;
  case OP_Equal: return TFL_EQUAL;
  case OP_Less: return TFL_LESS;
  case OP_LessOrEqual: return TFL_LESS_EQUAL;
  case OP_Greater: return TFL_GREATER;
  case OP_GreaterOrEqual: return TFL_GREATER_EQUAL;
  case OP_And: return TFL_LOGICAL_AND;
  case OP_Or: return TFL_LOGICAL_OR;
  default: return TFL_OP_COUNT;
  }
}

/* Pow: x*x, SQRT or x itself for the exponents networks use as squares,
 * roots and no-ops; POW otherwise. */
static Status pow_lower(Lower *lw, Node *n, const Frame *F) {
  Value *x = n->in[0], *e = n->in[1], *y = n->out[0];
  DType dt = x->dtype;
  double ev;
  if (const_uniform(e, &ev) && value_numel(x) == value_numel(y)) {
    if (ev == 1) {
      lw_alias(lw, y, x);
      return O2L_OK;
    }
    if (ev == 2 || (ev == 0.5 && dt == DT_F32)) {
      TflOp op = ev == 2 ? TFL_MUL : TFL_SQRT;
      TRY(need_type(lw, dt, op));
      Value *a = frame_in(lw, F, x);
      Value *out = frame_out(lw, F, NULL, dt);
      if (!(op == TFL_MUL ? emit2(lw, op, a, a, out) : emit1(lw, op, a, out)))
        return lw_failed(lw);
      frame_set(lw, F, y, out);
      return O2L_OK;
    }
  }
  TRY(need_type(lw, dt, TFL_POW));
  /* Pow-12 lets the exponent have its own type; POW wants one type, so a
   * runtime integer exponent of a float base is CAST first. */
  bool cast = !value_is_const(e) && e->dtype != dt && dt == DT_F32 &&
              (e->dtype == DT_I32 || e->dtype == DT_I64);
  if (e->dtype != dt && !cast) {
    if (!value_is_const(e))
      return lw_err(lw, O2L_ERR_UNSUPPORTED,
                    "Pow of %s by a %s exponent computed at run time is not "
                    "supported: TFLite's POW needs both of one type",
                    dtype_name(dt), dtype_name(e->dtype));
    for (int64_t i = 0; dt != DT_F32 && i < value_numel(e); i++) {
      double v = load_as_f64(e->data, e->dtype, (size_t)i);
      if (v != floor(v))
        return lw_err(lw, O2L_ERR_UNSUPPORTED,
                      "Pow of %s by the non-integer exponent %g is not "
                      "supported", dtype_name(dt), v);
    }
  }
  Value *a = frame_in(lw, F, x), *b = frame_in(lw, F, e);
  if (b && cast) {
    Value *f = tensor_like(lw, "exponent", dt, b);
    b = emit1(lw, TFL_CAST, b, f) ? f : NULL;
  } else if (b && b->dtype != dt) {
    b = const_map(lw, b, "exponent", dt, NULL);
  }
  Value *out = frame_out(lw, F, NULL, dt);
  if (!emit2(lw, TFL_POW, a, b, out))
    return lw_failed(lw);
  frame_set(lw, F, y, out);
  return O2L_OK;
}

/* PRelu: one slope for everything is LEAKY_RELU (any order, no TRANSPOSE);
 * otherwise PRELU with the slope in the input's axis order: for a
 * channels-last map the [C,1,1] slope becomes [1,1,1,C], which LiteRT
 * broadcasts over the input. */
static Status prelu_lower(Lower *lw, Node *n) {
  Value *x = n->in[0], *s = n->in[1], *y = n->out[0];
  double alpha;
  if (const_uniform(s, &alpha)) {
    TRY(need_type(lw, x->dtype, TFL_LEAKY_RELU));
    Value *t = lw_in_asis(lw, x);
    Value *out = tensor_like(lw, NULL, x->dtype, t);
    Node *op = emit1(lw, TFL_LEAKY_RELU, t, out);
    if (!op)
      return lw_failed(lw);
    op->opt.alpha = (float)alpha;
    copy_order(lw, y, out, x);
    return O2L_OK;
  }
  TRY(need_type(lw, x->dtype, TFL_PRELU));
  if (s->dtype != x->dtype)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "slope of type %s on a %s input "
                  "is not supported", dtype_name(s->dtype),
                  dtype_name(x->dtype));
  Frame F;
  frame_init(lw, n, &F);
  Value *a = frame_in(lw, &F, x), *b = frame_in(lw, &F, s);
  Value *out = frame_out(lw, &F, NULL, x->dtype);
  if (!emit2(lw, TFL_PRELU, a, b, out))
    return lw_failed(lw);
  frame_set(lw, &F, y, out);
  return O2L_OK;
}

Status binary_lower(Lower *lw, Node *n) {
  Value *y = n->out[0];
  int k = op_nin(n);
  for (int i = 0; i < k; i++)
    if (!n->in[i])
      return lw_err(lw, O2L_ERR_INVALID, "input %d is missing", i);
  if (n->op == OP_PRelu)
    return prelu_lower(lw, n);
  if (k == 1) { /* Sum/Max/Min/Mean of one tensor */
    lw_alias(lw, y, n->in[0]);
    return O2L_OK;
  }
  DType dt = n->in[0]->dtype;
  Frame F;
  frame_init(lw, n, &F);
  if (n->op == OP_Pow)
    return pow_lower(lw, n, &F);
  TflOp op = binary_tfl(n->op);
  if (op == TFL_OP_COUNT)
    return lw_err(lw, O2L_ERR_INTERNAL, "not a binary operator");
  /* Dividing by a constant is multiplying by its reciprocal: MUL runs on
   * every NPU, DIV rarely does. */
  bool recip = op == TFL_DIV && dt == DT_F32 && value_is_const(n->in[1]);
  if (recip)
    op = TFL_MUL;
  TRY(need_type(lw, dt, op));
  for (int i = 1; i < k; i++)
    if (n->in[i]->dtype != dt)
      return lw_err(lw, O2L_ERR_INVALID, "input %d is %s but input 0 is %s",
                    i, dtype_name(n->in[i]->dtype), dtype_name(dt));
  DType odt = y->dtype;
  bool mean = n->op == OP_Mean;
  Value *acc = frame_in(lw, &F, n->in[0]);
  for (int i = 1; i < k && acc; i++) {
    Value *b = frame_in(lw, &F, n->in[i]);
    if (recip)
      b = const_map(lw, b, "reciprocal", DT_F32, reciprocal);
    if (!b)
      break;
    Value *out;
    if (i == k - 1 && !mean) {
      out = frame_out(lw, &F, NULL, odt);
    } else {
      int r;
      int64_t d[O2L_MAX_RANK];
      bcast_shape(acc, b, &r, d);
      const char *sfx = arena_printf(lw->cx->arena, "%s%d",
                                     mean ? "sum" : "partial", i);
      out = lw_tensor(lw, sfx, odt, r, d);
    }
    if (!emit2(lw, op, acc, b, out))
      return lw_failed(lw);
    acc = out;
  }
  if (acc && mean) {
    Value *scale = scalar_const(lw, "inv_count", dt, 1.0 / k);
    Value *out = frame_out(lw, &F, NULL, odt);
    if (!emit2(lw, TFL_MUL, acc, scale, out))
      return lw_failed(lw);
    acc = out;
  }
  if (!acc)
    return lw_failed(lw);
  frame_set(lw, &F, y, acc);
  return O2L_OK;
}

/* ---- Mod ---------------------------------------------------------------------- */

/* fmod = 0 (the sign of the divisor, Python's %) is FLOOR_MOD.  fmod = 1
 * (C's fmod: the sign of the dividend) is FLOOR_MOD of the magnitudes,
 * negated where a < 0; |b| of a constant b is computed here. */
Status mod_lower(Lower *lw, Node *n) {
  bool c_fmod;
  TRY(mod_params(lw->cx, lw->src, n, &c_fmod));
  Value *y = n->out[0];
  DType dt = n->in[0]->dtype;
  TRY(need_type(lw, dt, TFL_FLOOR_MOD));
  Frame F;
  frame_init(lw, n, &F);
  Value *a = frame_in(lw, &F, n->in[0]), *b = frame_in(lw, &F, n->in[1]);
  if (!a || !b)
    return lw_failed(lw);
  Value *out = frame_out(lw, &F, NULL, dt);
  if (!c_fmod) {
    if (!emit2(lw, TFL_FLOOR_MOD, a, b, out))
      return lw_failed(lw);
    frame_set(lw, &F, y, out);
    return O2L_OK;
  }
  Value *na = tensor_like(lw, "neg_a", dt, a);
  Value *aa = tensor_like(lw, "abs_a", dt, a);
  if (!emit1(lw, TFL_NEG, a, na) || !emit2(lw, TFL_MAXIMUM, a, na, aa))
    return lw_failed(lw);
  Value *ab;
  if (value_is_const(b)) {
    ab = const_map(lw, b, "abs_b", dt, fabs);
  } else {
    Value *nb = tensor_like(lw, "neg_b", dt, b);
    ab = tensor_like(lw, "abs_b", dt, b);
    if (!emit1(lw, TFL_NEG, b, nb) || !emit2(lw, TFL_MAXIMUM, b, nb, ab))
      return lw_failed(lw);
  }
  int r;
  int64_t d[O2L_MAX_RANK];
  bcast_shape(aa, ab, &r, d);
  Value *m = lw_tensor(lw, "abs_mod", dt, r, d);
  Value *nm = lw_tensor(lw, "neg_mod", dt, r, d);
  Value *neg = tensor_like(lw, "a_negative", DT_BOOL, a);
  if (!emit2(lw, TFL_FLOOR_MOD, aa, ab, m) || !emit1(lw, TFL_NEG, m, nm) ||
      !emit2(lw, TFL_LESS, a, scalar_const(lw, "zero", dt, 0), neg))
    return lw_failed(lw);
  Value *in[3] = {neg, nm, m};
  if (!out || !lw_op(lw, TFL_SELECT_V2, 3, in, 1, &out))
    return lw_failed(lw);
  frame_set(lw, &F, y, out);
  return O2L_OK;
}

/* ---- Where -------------------------------------------------------------------- */

Status where_lower(Lower *lw, Node *n) {
  Value *y = n->out[0];
  TRY(need_type(lw, n->in[1]->dtype, TFL_SELECT_V2));
  Frame F;
  frame_init(lw, n, &F);
  Value *in[3];
  for (int i = 0; i < 3; i++)
    in[i] = frame_in(lw, &F, n->in[i]);
  Value *out = frame_out(lw, &F, NULL, y->dtype);
  if (!in[0] || !in[1] || !in[2] || !out ||
      !lw_op(lw, TFL_SELECT_V2, 3, in, 1, &out))
    return lw_failed(lw);
  frame_set(lw, &F, y, out);
  return O2L_OK;
}

/* ---- unary operators and activations ----------------------------------------- */

/* A unary decomposition in progress: each step reads the latest result and
 * writes a helper tensor named by its suffix, or the node's output when the
 * suffix is NULL (the last step). */
typedef struct Chain {
  Lower *lw;
  Value *cur; /* latest result (starts as the input tensor) */
  DType dt;
} Chain;

static Node *step1(Chain *c, TflOp op, const char *suffix) {
  Value *out = tensor_like(c->lw, suffix, c->dt, c->cur);
  Node *nd = emit1(c->lw, op, c->cur, out);
  c->cur = nd ? out : NULL;
  return nd;
}

static Node *step2(Chain *c, TflOp op, Value *b, const char *suffix) {
  Value *out = tensor_like(c->lw, suffix, c->dt, c->cur);
  Node *nd = emit2(c->lw, op, c->cur, b, out);
  c->cur = nd ? out : NULL;
  return nd;
}

static Value *f32(Lower *lw, const char *suffix, double v) {
  return scalar_const(lw, suffix, DT_F32, v);
}

/* HardSigmoid: max(0, min(1, a*x + b)) = relu6(6a*x + 6b) / 6, so that the
 * clamp is a fused activation. */
static Status hard_sigmoid(Lower *lw, Node *n, Chain *c) {
  double a, b;
  TRY(op_attr_float(lw->cx, n, "alpha", 0.2, &a));
  TRY(op_attr_float(lw->cx, n, "beta", 0.5, &b));
  if ((float)(6 * a) != 1.0f &&
      !step2(c, TFL_MUL, f32(lw, "6alpha", 6 * a), "scaled"))
    return lw_failed(lw);
  Node *add = step2(c, TFL_ADD, f32(lw, "6beta", 6 * b), "relu6");
  if (!add)
    return lw_failed(lw);
  add->opt.act = TFL_ACT_RELU6;
  return step2(c, TFL_MUL, f32(lw, "sixth", 1.0 / 6), NULL) ? O2L_OK
                                                            : lw_failed(lw);
}

/* Elu with alpha != 1: relu(x) + alpha * (exp(min(x, 0)) - 1). */
static Status elu_general(Lower *lw, double alpha, Chain *c) {
  Value *pos = tensor_like(lw, "pos", c->dt, c->cur);
  if (!emit1(lw, TFL_RELU, c->cur, pos) ||
      !step2(c, TFL_MINIMUM, f32(lw, "zero", 0), "neg") ||
      !step1(c, TFL_EXP, "exp") ||
      !step2(c, TFL_SUB, f32(lw, "one", 1), "expm1") ||
      !step2(c, TFL_MUL, f32(lw, "alpha", alpha), "scaled") ||
      !step2(c, TFL_ADD, pos, NULL))
    return lw_failed(lw);
  return O2L_OK;
}

/* Operators that map one to one. */
static TflOp unary_tfl(int op) {
  switch (op) {
  case OP_Abs: return TFL_ABS;
  case OP_Ceil: return TFL_CEIL;
  case OP_Cos: return TFL_COS;
  case OP_Exp: return TFL_EXP;
  case OP_Floor: return TFL_FLOOR;
  case OP_Log: return TFL_LOG;
  case OP_Neg: return TFL_NEG;
  case OP_Not: return TFL_LOGICAL_NOT;
  case OP_Round: return TFL_ROUND; /* both round half to even */
  case OP_Sign: return TFL_SIGN;
  case OP_Sin: return TFL_SIN;
  case OP_Sqrt: return TFL_SQRT;
  case OP_HardSwish: return TFL_HARD_SWISH;
  case OP_Relu: return TFL_RELU;
  case OP_Sigmoid: return TFL_LOGISTIC;
  case OP_Tanh: return TFL_TANH;
  default: return TFL_OP_COUNT;
  }
}

static Status unary_float(Lower *lw, Node *n, Chain *c) {
  double alpha;
  switch (n->op) {
  case OP_LeakyRelu: {
    TRY(op_attr_float(lw->cx, n, "alpha", 0.01, &alpha));
    Node *op = step1(c, TFL_LEAKY_RELU, NULL);
    if (!op)
      return lw_failed(lw);
    op->opt.alpha = (float)alpha;
    return O2L_OK;
  }
  case OP_Elu:
    TRY(op_attr_float(lw->cx, n, "alpha", 1.0, &alpha));
    if (alpha == 1.0)
      return step1(c, TFL_ELU, NULL) ? O2L_OK : lw_failed(lw);
    return elu_general(lw, alpha, c);
  case OP_HardSigmoid:
    return hard_sigmoid(lw, n, c);
  case OP_Softplus: /* log(exp(x) + 1) */
    if (!step1(c, TFL_EXP, "exp") ||
        !step2(c, TFL_ADD, f32(lw, "one", 1), "plus1") ||
        !step1(c, TFL_LOG, NULL))
      return lw_failed(lw);
    return O2L_OK;
  case OP_Reciprocal: {
    Value *out = tensor_like(lw, NULL, c->dt, c->cur);
    if (!emit2(lw, TFL_DIV, f32(lw, "one", 1), c->cur, out))
      return lw_failed(lw);
    c->cur = out;
    return O2L_OK;
  }
  default: {
    TflOp op = unary_tfl(n->op);
    if (op == TFL_OP_COUNT)
      return lw_err(lw, O2L_ERR_INTERNAL, "not a unary operator");
    return step1(c, op, NULL) ? O2L_OK : lw_failed(lw);
  }
  }
}

/* Integer and bool inputs (ONNX allows them for Abs, Neg, Sign, Relu and
 * Not only).  RELU takes floats only, so Relu is MAXIMUM with 0; ABS has no
 * int64 kernel, so Abs of int64 is MAXIMUM(x, -x). */
static Status unary_int(Lower *lw, Node *n, Chain *c) {
  if (n->op == OP_Relu)
    return step2(c, TFL_MAXIMUM, scalar_const(lw, "zero", c->dt, 0), NULL)
               ? O2L_OK : lw_failed(lw);
  if (n->op == OP_Abs && c->dt == DT_I64) {
    Value *x = c->cur;
    if (!step1(c, TFL_NEG, "neg") || !step2(c, TFL_MAXIMUM, x, NULL))
      return lw_failed(lw);
    return O2L_OK;
  }
  TflOp op = unary_tfl(n->op);
  if (op == TFL_OP_COUNT)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "%s input: only float32 is "
                  "supported", dtype_name(c->dt));
  TRY(need_type(lw, c->dt, op));
  return step1(c, op, NULL) ? O2L_OK : lw_failed(lw);
}

/* Unary operators work on the input tensor as it is, whatever its order,
 * and the output keeps that order: never a TRANSPOSE. */
Status unary_lower(Lower *lw, Node *n) {
  Value *x = n->in[0], *y = n->out[0];
  if (dtype_is_float(x->dtype) && x->dtype != DT_F32)
    return lw_err(lw, O2L_ERR_UNSUPPORTED,
                  "%s input: only float32 is supported among float types",
                  dtype_name(x->dtype));
  Chain c = {lw, lw_in_asis(lw, x), x->dtype};
  if (!c.cur)
    return lw_failed(lw);
  if (x->dtype == DT_F32)
    TRY(unary_float(lw, n, &c));
  else
    TRY(unary_int(lw, n, &c));
  copy_order(lw, y, c.cur, x);
  return O2L_OK;
}

/* ---- Clip ------------------------------------------------------------------ */

/* Clip(0,6), Clip(0,inf) and Clip(-1,1) on floats are the activations a
 * producer can fuse (tfl_fuse.c); other bounds are MAXIMUM then MINIMUM
 * (ONNX gives max when min > max, and so does this order). */
Status clip_lower(Lower *lw, Node *n) {
  ClipParams p;
  TRY(clip_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  DType dt = x->dtype;
  bool flt = dt == DT_F32;
  TRY(need_type(lw, dt, TFL_MAXIMUM));
  /* Old exporters wrote -FLT_MAX / FLT_MAX for "no bound". */
  bool lo = p.min_runtime || (p.has_min && !(flt && p.min <= -FLT_MAX));
  bool hi = p.max_runtime || (p.has_max && !(flt && p.max >= FLT_MAX));
  Chain c = {lw, lw_in_asis(lw, x), dt};
  if (!c.cur)
    return lw_failed(lw);
  const char *why = "Clip bound";
  TflOp act = TFL_OP_COUNT;
  if (flt && !p.min_runtime && !p.max_runtime && lo && p.min == 0)
    act = !hi ? TFL_RELU : p.max == 6 ? TFL_RELU6 : TFL_OP_COUNT;
  if (flt && !p.min_runtime && !p.max_runtime && lo && hi && p.min == -1 &&
      p.max == 1)
    act = TFL_RELU_N1_TO_1;
  if (act != TFL_OP_COUNT) {
    if (!step1(&c, act, NULL))
      return lw_failed(lw);
  } else if (!lo && !hi) {
    lw_alias(lw, y, x);
    return O2L_OK;
  } else {
    if (lo) {
      const char *sfx = hi ? "lower" : NULL;
      Node *ok;
      if (flt && !p.min_runtime && p.min == 0)
        ok = step1(&c, TFL_RELU, sfx);
      else
        ok = step2(&c, TFL_MAXIMUM,
                  p.min_runtime ? single_in(lw, n->in[1], c.cur->rank, why)
                                : scalar_const(lw, "min", dt, p.min),
                  sfx);
      if (!ok)
        return lw_failed(lw);
    }
    if (hi &&
        !step2(&c, TFL_MINIMUM,
              p.max_runtime ? single_in(lw, n->in[2], c.cur->rank, why)
                            : scalar_const(lw, "max", dt, p.max),
              NULL))
      return lw_failed(lw);
  }
  copy_order(lw, y, c.cur, x);
  return O2L_OK;
}

/* ---- BatchNormalization --------------------------------------------------------- */

/* y = s*x + t per channel (axis 1), s = gamma/sqrt(var+eps), t = beta -
 * mean*s, as MUL and ADD with constants shaped [1,C,1,...] in the input's
 * axis order ([1,1,1,C] for a channels-last map).  A factor of all ones or
 * a shift of all zeros is left out. */
Status bn_lower(Lower *lw, Node *n) {
  BatchNormParams p;
  TRY(bn_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  for (int i = 1; i < n->nout; i++)
    if (n->out[i] && (n->out[i]->nuses || n->out[i]->is_output))
      return lw_err(lw, O2L_ERR_UNSUPPORTED,
                    "output %d (running statistics, training mode) is read; "
                    "only inference-mode BatchNormalization is supported", i);
  static const char *const names[] = {"X", "scale", "B", "input_mean",
                                      "input_var"};
  for (int i = 1; i < 5; i++)
    if (!value_is_const(n->in[i]))
      return lw_err(lw, O2L_ERR_UNSUPPORTED,
                    "%s is computed at run time; only constant statistics "
                    "are supported (they become a per-channel MUL + ADD)",
                    names[i]);
  TRY(need_type(lw, x->dtype, TFL_MUL));
  int64_t C = p.channels;
  float *s = arena_alloc(lw->cx->arena, sizeof(float) * (size_t)(C + 1), 16);
  float *t = arena_alloc(lw->cx->arena, sizeof(float) * (size_t)(C + 1), 16);
  if (!s || !t)
    return ctx_oom(lw->cx, "lowering a BatchNormalization");
  bool any_scale = false, any_shift = false;
  for (int64_t c = 0; c < C; c++) {
    size_t k = (size_t)c;
    double g = load_as_f64(n->in[1]->data, n->in[1]->dtype, k);
    double b = load_as_f64(n->in[2]->data, n->in[2]->dtype, k);
    double m = load_as_f64(n->in[3]->data, n->in[3]->dtype, k);
    double v = load_as_f64(n->in[4]->data, n->in[4]->dtype, k);
    double sc = g / sqrt(v + p.epsilon);
    s[c] = (float)sc;
    t[c] = (float)(b - m * sc);
    any_scale |= s[c] != 1.0f;
    any_shift |= t[c] != 0.0f;
  }
  int P[O2L_MAX_RANK];
  Value *xt = lw_in_any(lw, x, NULL, P,
                        "BatchNormalization reads its input in an axis order");
  if (!xt)
    return lw_failed(lw);
  int r = x->rank;
  int64_t cdims[O2L_MAX_RANK], pc[O2L_MAX_RANK], py[O2L_MAX_RANK];
  for (int i = 0; i < r; i++)
    cdims[i] = i == 1 ? C : 1;
  perm_apply(r, cdims, P, pc);
  perm_apply(r, x->dims, P, py);
  Value *cur = xt;
  if (any_scale) {
    Value *out = lw_tensor(lw, any_shift ? "scaled" : NULL, x->dtype, r, py);
    if (!emit2(lw, TFL_MUL, cur, lw_const(lw, "scale", DT_F32, r, pc, s), out))
      return lw_failed(lw);
    cur = out;
  }
  if (any_shift || !any_scale) {
    Value *out = lw_tensor(lw, NULL, x->dtype, r, py);
    if (!emit2(lw, TFL_ADD, cur, lw_const(lw, "shift", DT_F32, r, pc, t), out))
      return lw_failed(lw);
    cur = out;
  }
  lw_set_perm(lw, y, cur, P);
  ctx_report(lw->cx, "BatchNormalization '%s' lowered as %s: no Conv, "
             "ConvTranspose or Gemm output to fold it into", n->name,
             any_scale && any_shift ? "MUL + ADD" : any_scale ? "MUL" : "ADD");
  return O2L_OK;
}

/* ---- Softmax / LogSoftmax --------------------------------------------------------- */

static Node *emit_softmax(Lower *lw, TflOp op, Value *in, Value *out) {
  Node *nd = emit1(lw, op, in, out);
  if (nd && op == TFL_SOFTMAX)
    nd->opt.beta = 1.0f; /* the schema default is 0 */
  return nd;
}

/* Softmax over the stored axes ax[0..nax) of t, written out:
 * e = exp(t - max t), y = e / sum e (LogSoftmax: (t - max) - log(sum)).
 * Five operators instead of TRANSPOSE + SOFTMAX + TRANSPOSE back. */
static Status softmax_along(Lower *lw, TflOp op, Value *t, int nax,
                            const int32_t *ax, Value *out) {
  int64_t kd[O2L_MAX_RANK];
  memcpy(kd, t->dims, sizeof(int64_t) * (size_t)t->rank);
  for (int i = 0; i < nax; i++)
    kd[ax[i]] = 1;
  Value *axes = lw_const_i32(lw, "axes", nax, ax);
  Value *m = lw_tensor(lw, "max", t->dtype, t->rank, kd);
  Value *d = tensor_like(lw, "shifted", t->dtype, t);
  Value *e = tensor_like(lw, "exp", t->dtype, t);
  Value *s = lw_tensor(lw, "sum", t->dtype, t->rank, kd);
  Node *mx = emit2(lw, TFL_REDUCE_MAX, t, axes, m);
  Node *sm = mx && emit2(lw, TFL_SUB, t, m, d) && emit1(lw, TFL_EXP, d, e)
                 ? emit2(lw, TFL_SUM, e, axes, s) : NULL;
  if (!sm)
    return lw_failed(lw);
  mx->opt.keep_dims = true;
  sm->opt.keep_dims = true;
  if (op == TFL_SOFTMAX)
    return emit2(lw, TFL_DIV, e, s, out) ? O2L_OK : lw_failed(lw);
  Value *ls = lw_tensor(lw, "logsum", t->dtype, t->rank, kd);
  return emit1(lw, TFL_LOG, s, ls) && emit2(lw, TFL_SUB, d, ls, out)
             ? O2L_OK : lw_failed(lw);
}

/* x in its own axis order P when the softmax axes (those in `is_axis`)
 * are not stored last and together: then y is written out along them in
 * that order and *done is set. */
static Status softmax_in_place(Lower *lw, Node *n, TflOp op,
                               const bool *is_axis, bool *done) {
  Value *x = n->in[0], *y = n->out[0];
  int r = x->rank, P[O2L_MAX_RANK];
  *done = false;
  if (!lw_perm_of(lw, x, P))
    return O2L_OK;
  /* stored last and together: every non-unit axis after the first
   * softmax axis is a softmax axis */
  bool seen = false, together = true;
  int32_t ax[O2L_MAX_RANK];
  int nax = 0;
  for (int j = 0; j < r; j++) {
    if (is_axis[P[j]])
      ax[nax++] = j;
    if (x->dims[P[j]] == 1)
      continue;
    if (is_axis[P[j]])
      seen = true;
    else if (seen)
      together = false;
  }
  if (together)
    return O2L_OK;
  Value *t = lw_in_perm(lw, x, P, 0, NULL, NULL);
  Value *out = t ? tensor_like(lw, NULL, x->dtype, t) : NULL;
  if (!out)
    return lw_failed(lw);
  TRY(softmax_along(lw, op, t, nax, ax, out));
  lw_set_perm(lw, y, out, P);
  *done = true;
  return O2L_OK;
}

/* Opset < 13 over a non-last axis: normalized over whole rows of
 * prod(d >= axis) values.  Which order the values of a row are stored in
 * does not matter, so rows of a channels-last map are used as they are. */
static Status softmax_rows(Lower *lw, Node *n, TflOp op, int axis) {
  Value *x = n->in[0], *y = n->out[0];
  bool is_axis[O2L_MAX_RANK], done;
  for (int i = 0; i < x->rank; i++)
    is_axis[i] = i >= axis;
  TRY(softmax_in_place(lw, n, op, is_axis, &done));
  if (done)
    return O2L_OK;
  int64_t d2[2] = {1, 1};
  for (int i = 0; i < x->rank; i++)
    d2[i >= axis] *= x->dims[i];
  Layout L = *lw_layout(lw, x);
  const int64_t *kperm;
  Value *t = lw_in_rows(lw, x, d2[1], &kperm,
                        "the opset < 13 Softmax reads whole rows");
  t = lw_reshape(lw, t, 2, d2, "rows");
  Value *out = lw_tensor(lw, NULL, x->dtype, 2, d2);
  if (!emit_softmax(lw, op, t, out))
    return lw_failed(lw);
  if (kperm)
    lw_set_layout(lw, y, out, &L); /* features stored as x's */
  else
    lw_set_perm(lw, y, out, NULL);
  return O2L_OK;
}

/* SOFTMAX normalizes over the last stored axis.  If x already stores the
 * softmax axis last, x is used as it is.  If x is stored in some axis
 * order with the softmax axis elsewhere (ResNeSt's and SKNet's softmax
 * over the radix/branch axis), the softmax is written out along that
 * axis, in x's order.  Otherwise one TRANSPOSE moves the axis last: from
 * plain order when it is the last ONNX axis (the output is then plain, as
 * the graph or a later operator most likely wants it), else from x's
 * current order with only that axis moved. */
Status softmax_lower(Lower *lw, Node *n) {
  SoftmaxParams p;
  TRY(softmax_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  TflOp op = n->op == OP_Softmax ? TFL_SOFTMAX : TFL_LOG_SOFTMAX;
  TRY(need_type(lw, x->dtype, op));
  int r = x->rank;
  if (p.coerce_2d && p.axis != r - 1)
    return softmax_rows(lw, n, op, p.axis);
  bool is_axis[O2L_MAX_RANK] = {false}, done;
  is_axis[p.axis] = true;
  TRY(softmax_in_place(lw, n, op, is_axis, &done));
  if (done)
    return O2L_OK;
  int P[O2L_MAX_RANK];
  bool have = lw_perm_of(lw, x, P);
  if (!have || P[r - 1] != p.axis) {
    if (!have || p.axis == r - 1)
      perm_identity(r, P);
    int k = 0;
    for (int i = 0; i < r; i++)
      if (P[i] != p.axis)
        P[k++] = P[i];
    P[r - 1] = p.axis;
  }
  const char *why = arena_printf(lw->cx->arena,
                                 "%s over axis %d needs that axis last",
                                 op_name(n), p.axis);
  Value *t = lw_in_perm(lw, x, P, 0, NULL, why);
  int64_t pd[O2L_MAX_RANK];
  perm_apply(r, x->dims, P, pd);
  Value *out = lw_tensor(lw, NULL, x->dtype, r, pd);
  if (!emit_softmax(lw, op, t, out))
    return lw_failed(lw);
  lw_set_perm(lw, y, out, P);
  return O2L_OK;
}
