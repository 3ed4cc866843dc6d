/* eltwise.c - elementwise operators: the binary and variadic ones with
 * numpy broadcasting, Mod, comparisons, Where, the unary operators and
 * activations, and Clip.  Shape inference and constant evaluation.
 *
 * Folding computes floats in double and rounds once to the output type;
 * integers in int64 with wrap-around (Div truncates toward zero, as
 * onnxruntime does); bools as 0/1.  float32 binary operators take a fast
 * path (whole rows, broadcasting by strides) with the same results: one
 * +, -, * or / of two floats computed in double and rounded is the float
 * operation itself (double has more than 2*24+2 bits).
 */
#include <math.h>
#include <string.h>

#include "ops/opattr.h"

static bool is_compare(int op) {
  return op == OP_Equal || op == OP_Less || op == OP_LessOrEqual ||
         op == OP_Greater || op == OP_GreaterOrEqual;
}

static bool is_variadic(int op) {
  return op == OP_Max || op == OP_Min || op == OP_Sum || op == OP_Mean;
}

static bool is_numeric(DType t) { return dtype_is_float(t) || dtype_is_int(t); }

/* ---- binary and variadic ------------------------------------------------ */

static Status binary_types(Ctx *cx, const Graph *g, const Node *n) {
  DType t = n->in[0]->dtype;
  int k = op_nin(n);
  for (int i = 1; i < k; i++) {
    DType u = n->in[i]->dtype;
    if (u == t)
      continue;
    /* Pow-12: the exponent may have its own numeric type */
    if (n->op == OP_Pow && op_opset(g) >= 12 && is_numeric(u))
      continue;
    return op_invalid(cx, n, "inputs must have the same type; input 0 is %s "
                      "but input %d is %s", dtype_name(t), i, dtype_name(u));
  }
  bool ok;
  if (n->op == OP_And || n->op == OP_Or)
    ok = t == DT_BOOL;
  else if (n->op == OP_Equal)
    ok = is_numeric(t) || t == DT_BOOL;
  else if (n->op == OP_PRelu)
    ok = dtype_is_float(t) || dtype_is_int(t);
  else
    ok = is_numeric(t);
  if (!ok)
    return op_invalid(cx, n, "does not accept %s inputs", dtype_name(t));
  return O2L_OK;
}

/* Output shape; checks the legacy (opset < 7) broadcast attribute that
 * numpy rules would not reproduce. */
static Status binary_shape(Ctx *cx, const Graph *g, const Node *n, int *rank,
                           int64_t *dims) {
  const Value *a = n->in[0];
  if (n->op == OP_PRelu) {
    const Value *s = n->in[1];
    char b1[96], b2[96];
    if (!op_unidir_ok(a->rank, a->dims, s->rank, s->dims))
      return op_invalid(cx, n, "slope of shape %s does not broadcast to X of "
                        "shape %s", value_shape_str(s, b1, sizeof b1),
                        value_shape_str(a, b2, sizeof b2));
    *rank = a->rank;
    memcpy(dims, a->dims, sizeof(int64_t) * (size_t)a->rank);
    return O2L_OK;
  }
  if (op_opset(g) < 7 && node_attr_int(n, "broadcast", 0) && op_nin(n) == 2) {
    const Attr *ax = node_attr(n, "axis");
    if (ax && ax->type == AT_INT && ax->i != a->rank - n->in[1]->rank &&
        ax->i != -(int64_t)n->in[1]->rank)
      return op_unsup(cx, n, "legacy broadcasting with axis=%lld is not "
                      "supported; re-export with opset >= 7",
                      (long long)ax->i);
  }
  *rank = a->rank;
  memcpy(dims, a->dims, sizeof(int64_t) * (size_t)a->rank);
  int k = op_nin(n);
  for (int i = 1; i < k; i++)
    TRY(op_broadcast(cx, n, *rank, dims, n->in[i]->rank, n->in[i]->dims, rank,
                     dims));
  return O2L_OK;
}

Status binary_infer(Ctx *cx, Graph *g, Node *n) {
  if (is_variadic(n->op))
    TRY(op_check_io(cx, n, 1, n->nin > 1 ? n->nin : 1, 1));
  else
    TRY(op_check_io(cx, n, 2, 2, 1));
  for (int i = 0; i < op_nin(n); i++)
    if (!n->in[i])
      return op_invalid(cx, n, "input %d is missing", i);
  TRY(binary_types(cx, g, n));
  int rank;
  int64_t dims[O2L_MAX_RANK];
  TRY(binary_shape(cx, g, n, &rank, dims));
  op_set_out(n->out[0], is_compare(n->op) ? DT_BOOL : n->in[0]->dtype, rank,
             dims);
  return O2L_OK;
}

static double f_binary(int op, double a, double b) {
  switch (op) {
  case OP_Add: case OP_Sum: case OP_Mean: return a + b;
  case OP_Sub: return a - b;
  case OP_Mul: return a * b;
  case OP_Div: return a / b;
  case OP_Pow: return pow(a, b);
  case OP_Max: return a != a ? a : (b != b ? b : (a > b ? a : b));
  case OP_Min: return a != a ? a : (b != b ? b : (a < b ? a : b));
  case OP_PRelu: return a < 0 ? a * b : a;
  default: return 0;
  }
}

static bool i_binary(int op, int64_t a, int64_t b, int64_t *r) {
  uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
  switch (op) {
  case OP_Add: case OP_Sum: case OP_Mean: *r = (int64_t)(ua + ub); return true;
  case OP_Sub: *r = (int64_t)(ua - ub); return true;
  case OP_Mul: *r = (int64_t)(ua * ub); return true;
  case OP_Div:
    if (b == 0)
      return false;
    *r = (a == INT64_MIN && b == -1) ? INT64_MIN : a / b;
    return true;
  case OP_Pow: {
    if (b < 0) {
      *r = a == 1 ? 1 : (a == -1 ? (b % 2 ? -1 : 1) : 0);
      return true;
    }
    uint64_t acc = 1, base = ua;
    for (int64_t e = b; e > 0; e >>= 1) {
      if (e & 1)
        acc *= base;
      base *= base;
    }
    *r = (int64_t)acc;
    return true;
  }
  case OP_Max: *r = a > b ? a : b; return true;
  case OP_Min: *r = a < b ? a : b; return true;
  case OP_PRelu: *r = a < 0 ? (int64_t)(ua * ub) : a; return true;
  case OP_And: *r = a && b; return true;
  case OP_Or: *r = a || b; return true;
  default: return false;
  }
}

static bool compare(int op, double a, double b) {
  switch (op) {
  case OP_Equal: return a == b;
  case OP_Less: return a < b;
  case OP_LessOrEqual: return a <= b;
  case OP_Greater: return a > b;
  case OP_GreaterOrEqual: return a >= b;
  default: return false;
  }
}

static bool icompare(int op, int64_t a, int64_t b) {
  switch (op) {
  case OP_Equal: return a == b;
  case OP_Less: return a < b;
  case OP_LessOrEqual: return a <= b;
  case OP_Greater: return a > b;
  case OP_GreaterOrEqual: return a >= b;
  default: return false;
  }
}

static Status fold_compare(Node *n, void *out, int64_t cnt) {
  const Value *in[2] = {n->in[0], n->in[1]};
  BcastIter it;
  op_bcast_init(&it, n->out[0]->rank, n->out[0]->dims, 2, in);
  bool flt = dtype_is_float(in[0]->dtype);
  unsigned char *o = out;
  for (int64_t i = 0; i < cnt; i++, op_bcast_next(&it)) {
    size_t ia = (size_t)it.off[0], ib = (size_t)it.off[1];
    if (flt)
      o[i] = compare(n->op, load_as_f64(in[0]->data, in[0]->dtype, ia),
                     load_as_f64(in[1]->data, in[1]->dtype, ib));
    else
      o[i] = icompare(n->op, load_as_i64(in[0]->data, in[0]->dtype, ia),
                      load_as_i64(in[1]->data, in[1]->dtype, ib));
  }
  return O2L_OK;
}

/* out = out (op) in, with `in` broadcast to the output shape; the first
 * input is copied in (first = true). */
static Status fold_step(Ctx *cx, Node *n, void *out, int64_t cnt,
                        const Value *x, bool first) {
  const Value *in[1] = {x};
  Value *y = n->out[0];
  BcastIter it;
  op_bcast_init(&it, y->rank, y->dims, 1, in);
  bool flt = dtype_is_float(y->dtype);
  for (int64_t i = 0; i < cnt; i++, op_bcast_next(&it)) {
    size_t ix = (size_t)it.off[0];
    if (flt) {
      double b = load_as_f64(x->data, x->dtype, ix);
      double r = first ? b : f_binary(n->op, load_as_f64(out, y->dtype, (size_t)i), b);
      store_from_f64(out, y->dtype, (size_t)i, r);
    } else {
      int64_t b = load_as_i64(x->data, x->dtype, ix), r = b;
      if (dtype_is_float(x->dtype)) /* Pow with a float exponent */
        r = (int64_t)pow((double)load_as_i64(out, y->dtype, (size_t)i),
                         load_as_f64(x->data, x->dtype, ix));
      else if (!first &&
               !i_binary(n->op, load_as_i64(out, y->dtype, (size_t)i), b, &r))
        return op_invalid(cx, n, "integer division by zero in constant data");
      op_store_i64(out, y->dtype, (size_t)i, r);
    }
  }
  return O2L_OK;
}

/* ---- float32 fast path ---------------------------------------------------- */

static bool f32_fast(const Node *n, int k) {
  switch (n->op) {
  case OP_Add: case OP_Sub: case OP_Mul: case OP_Div: case OP_Pow:
  case OP_Max: case OP_Min: case OP_Sum: case OP_Mean: case OP_PRelu:
    break;
  default:
    return false;
  }
  if (n->out[0]->dtype != DT_F32 || n->out[0]->rank > O2L_MAX_RANK)
    return false;
  for (int i = 0; i < k; i++)
    if (n->in[i]->dtype != DT_F32)
      return false;
  return true;
}

/* Constant data may sit unaligned in the model file. */
static inline float ldf(const unsigned char *p, int64_t i) {
  float v;
  memcpy(&v, p + 4 * i, 4);
  return v;
}

static inline float fmax_nan(float a, float b) {
  return a != a ? a : (b != b ? b : (a > b ? a : b));
}

static inline float fmin_nan(float a, float b) {
  return a != a ? a : (b != b ? b : (a < b ? a : b));
}

/* o[i] = a[i*sa] (op) b[i*sb], i < cnt; op < 0 copies a. */
#define F32_ROW(EXPR)                                                     \
  do {                                                                    \
    if (sa == 1 && sb == 1)                                               \
      for (int64_t i = 0; i < cnt; i++) {                                 \
        float x = ldf(a, i), y = ldf(b, i);                               \
        o[i] = (EXPR);                                                    \
      }                                                                   \
    else if (sa == 1 && sb == 0) {                                        \
      float y = ldf(b, 0);                                                \
      for (int64_t i = 0; i < cnt; i++) {                                 \
        float x = ldf(a, i);                                              \
        o[i] = (EXPR);                                                    \
      }                                                                   \
    } else if (sa == 0 && sb == 1) {                                      \
      float x = ldf(a, 0);                                                \
      for (int64_t i = 0; i < cnt; i++) {                                 \
        float y = ldf(b, i);                                              \
        o[i] = (EXPR);                                                    \
      }                                                                   \
    } else                                                                \
      for (int64_t i = 0; i < cnt; i++) {                                 \
        float x = ldf(a, i * sa), y = ldf(b, i * sb);                     \
        o[i] = (EXPR);                                                    \
      }                                                                   \
  } while (0)

static void f32_row(int op, float *o, const unsigned char *a, int64_t sa,
                    const unsigned char *b, int64_t sb, int64_t cnt) {
  switch (op) {
  case OP_Add: case OP_Sum: case OP_Mean: F32_ROW(x + y); break;
  case OP_Sub: F32_ROW(x - y); break;
  case OP_Mul: F32_ROW(x * y); break;
  case OP_Div: F32_ROW(x / y); break;
  case OP_Pow: F32_ROW((float)pow(x, y)); break;
  case OP_Max: F32_ROW(fmax_nan(x, y)); break;
  case OP_Min: F32_ROW(fmin_nan(x, y)); break;
  case OP_PRelu: F32_ROW(x < 0 ? x * y : x); break;
  default: F32_ROW(((void)y, x)); break; /* op < 0: a copy of a */
  }
}

/* Broadcast strides of v (rank <= r) over the axes of an output of shape
 * dims: 0 where v has size 1 or no axis. */
static void bcast_strides(const Value *v, int r, int64_t *st) {
  int64_t acc = 1;
  for (int i = r - 1; i >= 0; i--) {
    int iv = i - (r - v->rank);
    st[i] = iv < 0 || v->dims[iv] == 1 ? 0 : acc;
    if (iv >= 0)
      acc *= v->dims[iv];
  }
}

/* out = a (op) b over y's shape, a and b broadcast (sa/sb: their strides
 * over y's axes).  Axes of size 1 are dropped and neighbours along which
 * both operands move contiguously merged, so the inner rows are long. */
static void f32_apply(int op, const Value *y, float *out,
                      const unsigned char *a, const int64_t *sa,
                      const unsigned char *b, const int64_t *sb) {
  int r = 0;
  int64_t d[O2L_MAX_RANK], ta[O2L_MAX_RANK], tb[O2L_MAX_RANK];
  for (int i = 0; i < y->rank; i++) {
    if (y->dims[i] == 1)
      continue;
    if (r > 0 && ta[r - 1] == sa[i] * y->dims[i] &&
        tb[r - 1] == sb[i] * y->dims[i]) {
      d[r - 1] *= y->dims[i];
      ta[r - 1] = sa[i];
      tb[r - 1] = sb[i];
      continue;
    }
    d[r] = y->dims[i], ta[r] = sa[i], tb[r] = sb[i];
    r++;
  }
  if (r == 0) { /* one element */
    d[0] = 1, ta[0] = tb[0] = 0;
    r = 1;
  }
  int64_t inner = d[r - 1], total = op_numel(y), idx[O2L_MAX_RANK] = {0};
  int64_t oa = 0, ob = 0;
  for (int64_t base = 0; base < total; base += inner) {
    f32_row(op, out + base, a + 4 * oa, ta[r - 1], b + 4 * ob, tb[r - 1],
            inner);
    for (int i = r - 2; i >= 0; i--) {
      oa += ta[i], ob += tb[i];
      if (++idx[i] < d[i])
        break;
      oa -= ta[i] * d[i], ob -= tb[i] * d[i];
      idx[i] = 0;
    }
  }
}

static void f32_fold(Node *n, int k, float *out) {
  const Value *y = n->out[0];
  int r = y->rank;
  int64_t sa[O2L_MAX_RANK] = {0}, sb[O2L_MAX_RANK] = {0};
  bcast_strides(n->in[0], r, sa);
  if (k == 1) { /* Sum / Mean / Max / Min of one input: a copy */
    f32_apply(-1, y, out, n->in[0]->data, sa, n->in[0]->data, sa);
    return;
  }
  bcast_strides(n->in[1], r, sb);
  f32_apply(n->op, y, out, n->in[0]->data, sa, n->in[1]->data, sb);
  int64_t so[O2L_MAX_RANK] = {0};
  bcast_strides(y, r, so);
  for (int i = 2; i < k; i++) {
    bcast_strides(n->in[i], r, sb);
    f32_apply(n->op, y, out, (const unsigned char *)out, so, n->in[i]->data,
              sb);
  }
  if (n->op == OP_Mean && k > 1) {
    int64_t cnt = op_numel(y);
    for (int64_t i = 0; i < cnt; i++)
      out[i] = out[i] / (float)k;
  }
}

Status binary_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  Value *y = n->out[0];
  if (f32_fast(n, op_nin(n))) { /* writes every element */
    float *o = op_fold_alloc_raw(cx, y);
    if (!o)
      return cx->status;
    f32_fold(n, op_nin(n), o);
    return O2L_OK;
  }
  void *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  int64_t cnt = op_numel(y);
  if (is_compare(n->op))
    return fold_compare(n, out, cnt);
  int k = op_nin(n);
  for (int i = 0; i < k; i++)
    TRY(fold_step(cx, n, out, cnt, n->in[i], i == 0));
  if (n->op == OP_Mean && k > 1)
    for (int64_t i = 0; i < cnt; i++) {
      if (dtype_is_float(y->dtype))
        store_from_f64(out, y->dtype, (size_t)i,
                       load_as_f64(out, y->dtype, (size_t)i) / k);
      else
        op_store_i64(out, y->dtype, (size_t)i,
                     load_as_i64(out, y->dtype, (size_t)i) / k);
    }
  return O2L_OK;
}

/* ---- Mod --------------------------------------------------------------- */

Status mod_params(Ctx *cx, const Graph *g, const Node *n, bool *fmod) {
  (void)g;
  int64_t f;
  *fmod = false;
  TRY(op_attr_int(cx, n, "fmod", 0, &f));
  if (f != 0 && f != 1)
    return op_invalid(cx, n, "fmod must be 0 or 1, got %lld", (long long)f);
  *fmod = f != 0;
  return O2L_OK;
}

Status mod_infer(Ctx *cx, Graph *g, Node *n) {
  TRY(binary_infer(cx, g, n));
  bool c_fmod;
  return mod_params(cx, g, n, &c_fmod);
}

/* fmod = 1: C's fmod (the sign of a); 0: Python's % (the sign of b). */
static double f_mod(double a, double b, bool c_fmod) {
  double r = fmod(a, b);
  if (!c_fmod && r != 0 && (r < 0) != (b < 0))
    r += b;
  return r;
}

Status mod_fold(Ctx *cx, Graph *g, Node *n) {
  bool fm;
  TRY(mod_params(cx, g, n, &fm));
  Value *y = n->out[0];
  const Value *in[2] = {n->in[0], n->in[1]};
  bool flt = dtype_is_float(y->dtype);
  int64_t cnt = op_numel(y);
  for (int64_t i = 0; !flt && i < op_numel(in[1]); i++)
    if (load_as_i64(in[1]->data, in[1]->dtype, (size_t)i) == 0)
      return op_invalid(cx, n, "integer modulo by zero in constant data");
  void *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  BcastIter it;
  op_bcast_init(&it, y->rank, y->dims, 2, in);
  for (int64_t i = 0; i < cnt; i++, op_bcast_next(&it)) {
    size_t ia = (size_t)it.off[0], ib = (size_t)it.off[1];
    if (flt) {
      store_from_f64(out, y->dtype, (size_t)i,
                     f_mod(load_as_f64(in[0]->data, in[0]->dtype, ia),
                           load_as_f64(in[1]->data, in[1]->dtype, ib), fm));
    } else {
      int64_t a = load_as_i64(in[0]->data, in[0]->dtype, ia);
      int64_t b = load_as_i64(in[1]->data, in[1]->dtype, ib);
      int64_t r = (b == -1) ? 0 : a % b;
      if (!fm && r != 0 && (r < 0) != (b < 0))
        r += b;
      op_store_i64(out, y->dtype, (size_t)i, r);
    }
  }
  return O2L_OK;
}

/* ---- Where ------------------------------------------------------------- */

Status where_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  TRY(op_check_io(cx, n, 3, 3, 1));
  const Value *c = n->in[0], *x = n->in[1], *y = n->in[2];
  if (c->dtype != DT_BOOL)
    return op_invalid(cx, n, "condition must be bool, got %s",
                      dtype_name(c->dtype));
  if (x->dtype != y->dtype)
    return op_invalid(cx, n, "X is %s but Y is %s", dtype_name(x->dtype),
                      dtype_name(y->dtype));
  int r;
  int64_t d[O2L_MAX_RANK];
  TRY(op_broadcast(cx, n, c->rank, c->dims, x->rank, x->dims, &r, d));
  TRY(op_broadcast(cx, n, r, d, y->rank, y->dims, &r, d));
  op_set_out(n->out[0], x->dtype, r, d);
  return O2L_OK;
}

Status where_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  Value *o = n->out[0];
  unsigned char *out = op_fold_alloc(cx, o);
  if (!out)
    return cx->status;
  const Value *in[3] = {n->in[0], n->in[1], n->in[2]};
  size_t es = dtype_size(o->dtype);
  int64_t cnt = op_numel(o);
  BcastIter it;
  op_bcast_init(&it, o->rank, o->dims, 3, in);
  const unsigned char *c = in[0]->data, *x = in[1]->data, *y = in[2]->data;
  for (int64_t i = 0; i < cnt; i++, op_bcast_next(&it)) {
    const unsigned char *src = c[it.off[0]] ? x + (size_t)it.off[1] * es
                                            : y + (size_t)it.off[2] * es;
    memcpy(out + (size_t)i * es, src, es);
  }
  return O2L_OK;
}

/* ---- unary operators ---------------------------------------------------- */

typedef enum { U_FLOAT, U_NUMERIC, U_BOOL } UnaryKind;

static UnaryKind unary_kind(int op) {
  switch (op) {
  case OP_Abs: case OP_Neg: case OP_Sign: case OP_Relu:
    return U_NUMERIC;
  case OP_Not:
    return U_BOOL;
  default:
    return U_FLOAT;
  }
}

Status act_params(Ctx *cx, const Graph *g, const Node *n, ActParams *p) {
  (void)g;
  memset(p, 0, sizeof *p);
  switch (n->op) {
  case OP_Gelu: {
    const char *ap;
    TRY(op_attr_str(cx, n, "approximate", "none", &ap));
    if (strcmp(ap, "none") && strcmp(ap, "tanh"))
      return op_invalid(cx, n, "approximate must be \"none\" or \"tanh\", "
                        "got \"%s\"", ap);
    p->gelu_tanh = strcmp(ap, "tanh") == 0;
    return O2L_OK;
  }
  case OP_Selu:
    TRY(op_attr_float(cx, n, "alpha", 1.67326319217681884765625, &p->alpha));
    return op_attr_float(cx, n, "gamma", 1.05070102214813232421875, &p->gamma);
  case OP_Celu:
    TRY(op_attr_float(cx, n, "alpha", 1.0, &p->alpha));
    if (p->alpha == 0)
      return op_invalid(cx, n, "alpha must not be 0 (it divides x)");
    return O2L_OK;
  case OP_ThresholdedRelu:
    return op_attr_float(cx, n, "alpha", 1.0, &p->alpha);
  default:
    return O2L_OK;
  }
}

typedef struct UnaryAttrs {
  double alpha, beta;
  ActParams act;
} UnaryAttrs;

static Status unary_attrs(Ctx *cx, const Node *n, UnaryAttrs *u) {
  u->alpha = u->beta = 0;
  TRY(act_params(cx, NULL, n, &u->act));
  switch (n->op) {
  case OP_Elu:
    return op_attr_float(cx, n, "alpha", 1.0, &u->alpha);
  case OP_LeakyRelu:
    return op_attr_float(cx, n, "alpha", 0.01, &u->alpha);
  case OP_HardSigmoid:
    TRY(op_attr_float(cx, n, "alpha", 0.2, &u->alpha));
    return op_attr_float(cx, n, "beta", 0.5, &u->beta);
  default:
    return O2L_OK;
  }
}

Status unary_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  TRY(op_check_io(cx, n, 1, 1, 1));
  const Value *x = n->in[0];
  UnaryKind k = unary_kind(n->op);
  if (k == U_FLOAT && !dtype_is_float(x->dtype))
    return op_invalid(cx, n, "input must be float (float32/float16/float64), "
                      "got %s", dtype_name(x->dtype));
  if (k == U_NUMERIC && !is_numeric(x->dtype))
    return op_invalid(cx, n, "input must be numeric, got %s",
                      dtype_name(x->dtype));
  if (k == U_BOOL && x->dtype != DT_BOOL)
    return op_invalid(cx, n, "input must be bool, got %s", dtype_name(x->dtype));
  UnaryAttrs u;
  TRY(unary_attrs(cx, n, &u));
  op_set_out_like(n->out[0], x);
  return O2L_OK;
}

static double f_unary(int op, const UnaryAttrs *u, double x) {
  switch (op) {
  case OP_Abs: return fabs(x);
  case OP_Ceil: return ceil(x);
  case OP_Cos: return cos(x);
  case OP_Exp: return exp(x);
  case OP_Floor: return floor(x);
  case OP_Log: return log(x);
  case OP_Neg: return -x;
  case OP_Reciprocal: return 1.0 / x;
  case OP_Round: return nearbyint(x); /* half to even in the default mode */
  case OP_Sign: return x > 0 ? 1 : (x < 0 ? -1 : x);
  case OP_Sin: return sin(x);
  case OP_Sqrt: return sqrt(x);
  case OP_Elu: return x < 0 ? u->alpha * (exp(x) - 1) : x;
  case OP_HardSigmoid: return fmax(0, fmin(1, u->alpha * x + u->beta));
  case OP_HardSwish: return x * fmax(0, fmin(1, x / 6 + 0.5));
  case OP_LeakyRelu: return x < 0 ? u->alpha * x : x;
  case OP_Relu: return x < 0 ? 0 : x;
  case OP_Sigmoid: return 1 / (1 + exp(-x));
  case OP_Softplus: return x > 30 ? x : log1p(exp(x));
  case OP_Tanh: return tanh(x);
  case OP_Erf: return erf(x);
  case OP_Gelu:
    if (u->act.gelu_tanh)
      return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1 + erf(x / sqrt(2.0)));
  case OP_Mish: return x * tanh(x > 30 ? x : log1p(exp(x)));
  case OP_Selu:
    return u->act.gamma * (x > 0 ? x : u->act.alpha * (exp(x) - 1));
  case OP_Celu:
    return fmax(0, x) + fmin(0, u->act.alpha * (exp(x / u->act.alpha) - 1));
  case OP_ThresholdedRelu: return x > u->act.alpha ? x : 0;
  case OP_Softsign: return x / (1 + fabs(x));
  default: return x;
  }
}

static int64_t i_unary(int op, int64_t x) {
  switch (op) {
  case OP_Abs: return x < 0 ? (int64_t)(0 - (uint64_t)x) : x;
  case OP_Neg: return (int64_t)(0 - (uint64_t)x);
  case OP_Sign: return x > 0 ? 1 : (x < 0 ? -1 : 0);
  case OP_Relu: return x < 0 ? 0 : x;
  case OP_Not: return !x;
  default: return x;
  }
}

Status unary_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  const Value *x = n->in[0];
  Value *y = n->out[0];
  UnaryAttrs u;
  TRY(unary_attrs(cx, n, &u));
  void *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  int64_t cnt = op_numel(y);
  bool flt = dtype_is_float(x->dtype);
  for (int64_t i = 0; i < cnt; i++) {
    if (flt)
      store_from_f64(out, y->dtype, (size_t)i,
                     f_unary(n->op, &u, load_as_f64(x->data, x->dtype, (size_t)i)));
    else
      op_store_i64(out, y->dtype, (size_t)i,
                   i_unary(n->op, load_as_i64(x->data, x->dtype, (size_t)i)));
  }
  return O2L_OK;
}

/* ---- Clip --------------------------------------------------------------- */

static Status clip_bound(Ctx *cx, const Node *n, int i, const char *what,
                         double *v, bool *has, bool *runtime) {
  const Value *b = op_in(n, i);
  *has = b != NULL;
  *runtime = false;
  if (!b)
    return O2L_OK;
  char buf[64];
  if (b->dtype != n->in[0]->dtype)
    return op_invalid(cx, n, "%s is %s but the input is %s", what,
                      dtype_name(b->dtype), dtype_name(n->in[0]->dtype));
  if (op_numel(b) != 1)
    return op_invalid(cx, n, "%s must be a scalar, got shape %s", what,
                      value_shape_str(b, buf, sizeof buf));
  if (!value_is_const(b)) {
    *runtime = true;
    return O2L_OK;
  }
  return op_const_scalar(cx, n, i, what, v);
}

Status clip_params(Ctx *cx, const Graph *g, const Node *n, ClipParams *p) {
  memset(p, 0, sizeof *p);
  p->min = -INFINITY;
  p->max = INFINITY;
  if (op_opset(g) < 11) {
    TRY(op_check_io(cx, n, 1, 1, 1));
    p->has_min = node_attr(n, "min") != NULL;
    p->has_max = node_attr(n, "max") != NULL;
    TRY(op_attr_float(cx, n, "min", -INFINITY, &p->min));
    TRY(op_attr_float(cx, n, "max", INFINITY, &p->max));
  } else {
    TRY(op_check_io(cx, n, 1, 3, 1));
    TRY(clip_bound(cx, n, 1, "min", &p->min, &p->has_min, &p->min_runtime));
    TRY(clip_bound(cx, n, 2, "max", &p->max, &p->has_max, &p->max_runtime));
  }
  if (!is_numeric(n->in[0]->dtype))
    return op_invalid(cx, n, "input must be numeric, got %s",
                      dtype_name(n->in[0]->dtype));
  return O2L_OK;
}

Status clip_infer(Ctx *cx, Graph *g, Node *n) {
  ClipParams p;
  TRY(clip_params(cx, g, n, &p));
  op_set_out_like(n->out[0], n->in[0]);
  return O2L_OK;
}

Status clip_fold(Ctx *cx, Graph *g, Node *n) {
  ClipParams p;
  TRY(clip_params(cx, g, n, &p));
  if (p.min_runtime || p.max_runtime)
    return O2L_OK;
  const Value *x = n->in[0];
  Value *y = n->out[0];
  void *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  int64_t cnt = op_numel(y);
  for (int64_t i = 0; i < cnt; i++) {
    if (dtype_is_float(x->dtype)) {
      double v = load_as_f64(x->data, x->dtype, (size_t)i);
      /* ONNX applies max(min) then min(max): min > max gives max */
      v = v < p.min ? p.min : v;
      v = v > p.max ? p.max : v;
      store_from_f64(out, y->dtype, (size_t)i, v);
    } else {
      int64_t v = load_as_i64(x->data, x->dtype, (size_t)i);
      if ((double)v < p.min)
        v = (int64_t)p.min;
      if ((double)v > p.max)
        v = (int64_t)p.max;
      op_store_i64(out, y->dtype, (size_t)i, v);
    }
  }
  return O2L_OK;
}
