/* opattr.c - helpers shared by the operator families (opattr.h): messages
 * naming the node, typed attribute access, constant inputs read as
 * parameters, broadcasting, and the memory and iteration helpers of
 * constant evaluation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ops/opattr.h"

int op_opset(const Graph *g) {
  return g->opset > 0 ? g->opset : OP_NEWEST_OPSET;
}

const char *op_name(const Node *n) {
  if (n->op_type && n->op_type[0])
    return n->op_type;
  if (n->op >= 0 && n->op < OP_COUNT)
    return op_defs[n->op].name;
  return "?";
}

Status op_err(Ctx *cx, const Node *n, Status code, const char *fmt, ...) {
  char buf[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return ctx_err(cx, code, "%s '%s': %s", op_name(n), n->name, buf);
}

int op_nin(const Node *n) {
  int k = n->nin;
  while (k > 0 && !n->in[k - 1])
    k--;
  return k;
}

Status op_check_io(Ctx *cx, const Node *n, int min_in, int max_in,
                   int max_out) {
  int k = op_nin(n);
  if (k < min_in || k > max_in) {
    if (min_in == max_in)
      return op_invalid(cx, n, "expected %d input(s), got %d", min_in, k);
    return op_invalid(cx, n, "expected %d to %d inputs, got %d", min_in,
                      max_in, k);
  }
  for (int i = 0; i < min_in; i++)
    if (!n->in[i])
      return op_invalid(cx, n, "required input %d is missing", i);
  if (n->nout < 1 || n->nout > max_out)
    return op_invalid(cx, n, "expected at most %d output(s), got %d", max_out,
                      n->nout);
  if (!n->out[0])
    return op_invalid(cx, n, "output 0 is missing");
  return O2L_OK;
}

Status op_need_float(Ctx *cx, const Node *n, int i, const char *what) {
  const Value *v = op_in(n, i);
  if (v && !dtype_is_float(v->dtype))
    return op_invalid(cx, n, "%s must be float (float32/float16/float64), "
                      "got %s", what, dtype_name(v->dtype));
  return O2L_OK;
}

Status op_need_feature_map(Ctx *cx, const Node *n, int min_rank) {
  const Value *x = n->in[0];
  char buf[96];
  if (x->rank < min_rank)
    return op_invalid(cx, n, "input X has shape %s; expected %s",
                      value_shape_str(x, buf, sizeof buf),
                      min_rank < 3 ? "(N, C, ...)" : "(N, C, D1...Dk)");
  return op_need_float(cx, n, 0, "input X");
}

static Status wrong_type(Ctx *cx, const Node *n, const Attr *a,
                         const char *want) {
  return op_invalid(cx, n, "attribute '%s' must be %s (got type %d)",
                    a->name, want, (int)a->type);
}

Status op_attr_int(Ctx *cx, const Node *n, const char *name, int64_t dflt,
                   int64_t *out) {
  const Attr *a = node_attr(n, name);
  *out = dflt;
  if (!a)
    return O2L_OK;
  if (a->type != AT_INT)
    return wrong_type(cx, n, a, "an int");
  *out = a->i;
  return O2L_OK;
}

Status op_attr_float(Ctx *cx, const Node *n, const char *name, double dflt,
                     double *out) {
  const Attr *a = node_attr(n, name);
  *out = dflt;
  if (!a)
    return O2L_OK;
  if (a->type == AT_FLOAT)
    *out = a->f;
  else if (a->type == AT_INT)
    *out = (double)a->i;
  else
    return wrong_type(cx, n, a, "a float");
  return O2L_OK;
}

Status op_attr_str(Ctx *cx, const Node *n, const char *name, const char *dflt,
                   const char **out) {
  const Attr *a = node_attr(n, name);
  *out = dflt;
  if (!a)
    return O2L_OK;
  if (a->type != AT_STRING || !a->s)
    return wrong_type(cx, n, a, "a string");
  *out = a->s;
  return O2L_OK;
}

Status op_attr_ints(Ctx *cx, const Node *n, const char *name,
                    const int64_t **v, int *count) {
  const Attr *a = node_attr(n, name);
  *v = NULL;
  *count = -1;
  if (!a)
    return O2L_OK;
  if (a->type == AT_INT) { /* a lone int is a 1-element list */
    *v = &a->i;
    *count = 1;
    return O2L_OK;
  }
  if (a->type != AT_INTS)
    return wrong_type(cx, n, a, "a list of ints");
  if (a->n < 0 || (a->n > 0 && !a->ints))
    return op_invalid(cx, n, "attribute '%s' is malformed", name);
  *v = a->ints;
  *count = a->n;
  return O2L_OK;
}

Status op_attr_floats(Ctx *cx, const Node *n, const char *name,
                      const float **v, int *count) {
  const Attr *a = node_attr(n, name);
  *v = NULL;
  *count = -1;
  if (!a)
    return O2L_OK;
  if (a->type == AT_FLOAT) {
    *v = &a->f;
    *count = 1;
    return O2L_OK;
  }
  if (a->type != AT_FLOATS)
    return wrong_type(cx, n, a, "a list of floats");
  if (a->n < 0 || (a->n > 0 && !a->floats))
    return op_invalid(cx, n, "attribute '%s' is malformed", name);
  *v = a->floats;
  *count = a->n;
  return O2L_OK;
}

Status op_axis(Ctx *cx, const Node *n, const char *what, int64_t axis,
               int rank, int *out) {
  if (axis < -(int64_t)rank || axis >= rank) {
    if (rank == 0)
      return op_invalid(cx, n, "%s %lld is out of range for a scalar input",
                        what, (long long)axis);
    return op_invalid(cx, n, "%s %lld is out of range for rank %d (expected "
                      "%d..%d)", what, (long long)axis, rank, -rank, rank - 1);
  }
  *out = (int)(axis < 0 ? axis + rank : axis);
  return O2L_OK;
}

Status op_axes(Ctx *cx, const Node *n, const int64_t *v, int k, int rank,
               int *out, bool seen[O2L_MAX_RANK]) {
  for (int a = 0; a < O2L_MAX_RANK; a++)
    seen[a] = false;
  for (int i = 0; i < k; i++) {
    int a = 0;
    TRY(op_axis(cx, n, "axes entry", v[i], rank, &a));
    if (seen[a])
      return op_invalid(cx, n, "axis %d is listed twice in axes", a);
    seen[a] = true;
    if (out)
      out[i] = a;
  }
  return O2L_OK;
}

static Status runtime_err(Ctx *cx, const Node *n, const char *what) {
  return op_unsup(cx, n, "input '%s' is computed at run time and could not "
                  "be folded to a constant; give static input shapes with "
                  "--input-shape", what);
}

/* Checks constant input x read as a parameter list: constant, 1-D, of an
 * integer (ints) or any numeric type, and holding its *k elements. */
static Status check_const_list(Ctx *cx, const Node *n, const Value *x,
                               const char *what, bool ints, int64_t *k) {
  if (!value_is_const(x))
    return runtime_err(cx, n, what);
  if (ints && !dtype_is_int(x->dtype))
    return op_invalid(cx, n, "input '%s' must be an integer tensor, got %s",
                      what, dtype_name(x->dtype));
  if (!ints && (x->dtype == DT_STRING || x->dtype == DT_UNDEF))
    return op_invalid(cx, n, "input '%s' must be numeric, got %s", what,
                      dtype_name(x->dtype));
  if (x->rank > 1)
    return op_invalid(cx, n, "input '%s' must be 1-D, got rank %d", what,
                      x->rank);
  *k = op_numel(x);
  if (*k < 0 || (size_t)*k * dtype_size(x->dtype) > x->nbytes)
    return op_invalid(cx, n, "input '%s' holds fewer bytes than its shape "
                      "needs", what);
  if (*k > (1 << 24))
    return op_unsup(cx, n, "input '%s' has %lld entries", what, (long long)*k);
  return O2L_OK;
}

Status op_const_ints(Ctx *cx, const Node *n, int i, const char *what,
                     const int64_t **v, int *count) {
  const Value *x = op_in(n, i);
  *v = NULL;
  *count = -1;
  if (!x)
    return O2L_OK;
  int64_t k;
  TRY(check_const_list(cx, n, x, what, true, &k));
  int64_t *d = arena_alloc(cx->arena, sizeof(int64_t) * (size_t)(k + 1), 8);
  if (!d)
    return ctx_oom(cx, "reading a constant input");
  for (int64_t j = 0; j < k; j++)
    d[j] = load_as_i64(x->data, x->dtype, (size_t)j);
  *v = d;
  *count = (int)k;
  return O2L_OK;
}

Status op_const_floats(Ctx *cx, const Node *n, int i, const char *what,
                       const double **v, int *count) {
  const Value *x = op_in(n, i);
  *v = NULL;
  *count = -1;
  if (!x)
    return O2L_OK;
  int64_t k;
  TRY(check_const_list(cx, n, x, what, false, &k));
  double *d = arena_alloc(cx->arena, sizeof(double) * (size_t)(k + 1), 8);
  if (!d)
    return ctx_oom(cx, "reading a constant input");
  for (int64_t j = 0; j < k; j++)
    d[j] = load_as_f64(x->data, x->dtype, (size_t)j);
  *v = d;
  *count = (int)k;
  return O2L_OK;
}

Status op_const_scalar(Ctx *cx, const Node *n, int i, const char *what,
                       double *out) {
  const Value *x = op_in(n, i);
  if (!x)
    return op_invalid(cx, n, "input '%s' is missing", what);
  if (!value_is_const(x))
    return runtime_err(cx, n, what);
  if (op_numel(x) != 1)
    return op_invalid(cx, n, "input '%s' must hold one element, got shape "
                      "%s", what, value_shape_str(x, (char[64]){0}, 64));
  if (x->dtype == DT_STRING || x->dtype == DT_UNDEF ||
      dtype_size(x->dtype) > x->nbytes)
    return op_invalid(cx, n, "input '%s' is not a numeric constant", what);
  *out = load_as_f64(x->data, x->dtype, 0);
  return O2L_OK;
}

Status op_broadcast(Ctx *cx, const Node *n, int ra, const int64_t *da,
                    int rb, const int64_t *db, int *rout, int64_t *dout) {
  int r = ra > rb ? ra : rb;
  int64_t tmp[O2L_MAX_RANK];
  for (int i = 0; i < r; i++) {
    int ia = i - (r - ra), ib = i - (r - rb);
    int64_t a = ia >= 0 ? da[ia] : 1, b = ib >= 0 ? db[ib] : 1;
    if (a == b || b == 1)
      tmp[i] = a;
    else if (a == 1)
      tmp[i] = b;
    else {
      char sa[128], sb[128];
      return op_invalid(cx, n, "shapes %s and %s cannot be broadcast "
                        "together (axis %d of the result: %lld vs %lld)",
                        dims_str(ra, da, sa, sizeof sa),
                        dims_str(rb, db, sb, sizeof sb), i, (long long)a,
                        (long long)b);
    }
  }
  *rout = r;
  memcpy(dout, tmp, sizeof(int64_t) * (size_t)r);
  return O2L_OK;
}

bool op_unidir_ok(int ra, const int64_t *da, int rb, const int64_t *db) {
  if (rb > ra)
    return false;
  for (int i = 0; i < rb; i++) {
    int64_t b = db[i], a = da[i + ra - rb];
    if (b != a && b != 1)
      return false;
  }
  return true;
}

void op_set_out(Value *v, DType t, int rank, const int64_t *dims) {
  v->dtype = t;
  v->rank = rank;
  for (int i = 0; i < rank; i++)
    v->dims[i] = dims[i];
}

void op_set_out_like(Value *v, const Value *x) {
  op_set_out(v, x->dtype, x->rank, x->dims);
}

DType op_onnx_dtype(int64_t t) {
  switch (t) {
  case 1: return DT_F32;
  case 2: return DT_U8;
  case 3: return DT_I8;
  case 4: return DT_U16;
  case 5: return DT_I16;
  case 6: return DT_I32;
  case 7: return DT_I64;
  case 9: return DT_BOOL;
  case 10: return DT_F16;
  case 11: return DT_F64;
  case 12: return DT_U32;
  case 13: return DT_U64;
  default: return DT_UNDEF;
  }
}

int64_t op_numel(const Value *v) { return value_numel(v); }

/* ---- constant evaluation ------------------------------------------------ */

static void *fold_alloc(Ctx *cx, Value *v, bool zero) {
  int64_t k = op_numel(v);
  size_t es = dtype_size(v->dtype);
  if (k < 0 || k > OP_FOLD_MAX_ELEMS || es == 0)
    return NULL;
  size_t nb = (size_t)k * es;
  void *p = zero ? arena_alloc(cx->arena, nb ? nb : 1, 64)
                 : arena_alloc_raw(cx->arena, nb ? nb : 1, 64);
  if (!p) {
    ctx_oom(cx, "evaluating a constant");
    return NULL;
  }
  v->data = p;
  v->nbytes = nb;
  return p;
}

void *op_fold_alloc(Ctx *cx, Value *v) { return fold_alloc(cx, v, true); }

void *op_fold_alloc_raw(Ctx *cx, Value *v) { return fold_alloc(cx, v, false); }

void op_fold_share(Value *v, const Value *src) {
  v->data = src->data;
  v->nbytes = src->nbytes;
}

void op_store_i64(void *p, DType t, size_t i, int64_t x) {
  unsigned char *b = p;
  switch (t) {
  case DT_I8: case DT_U8: b[i] = (unsigned char)x; break;
  case DT_BOOL: b[i] = x != 0; break;
  case DT_I16: case DT_U16: { uint16_t y = (uint16_t)x; memcpy(b + i * 2, &y, 2); break; }
  case DT_I32: case DT_U32: { uint32_t y = (uint32_t)x; memcpy(b + i * 4, &y, 4); break; }
  case DT_I64: case DT_U64: memcpy(b + i * 8, &x, 8); break;
  default: store_from_f64(p, t, i, (double)x); break;
  }
}

void op_bcast_init(BcastIter *it, int rank, const int64_t *dims, int nin,
                   const Value *const *in) {
  memset(it, 0, sizeof *it);
  it->rank = rank;
  it->nin = nin;
  for (int i = 0; i < rank; i++)
    it->dims[i] = dims[i];
  for (int k = 0; k < nin; k++) {
    const Value *v = in[k];
    int64_t stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
      int iv = i - (rank - v->rank);
      if (iv < 0 || v->dims[iv] == 1) {
        it->st[k][i] = 0;
      } else {
        it->st[k][i] = stride;
      }
      if (iv >= 0)
        stride *= v->dims[iv];
    }
  }
}

void op_bcast_next(BcastIter *it) {
  for (int i = it->rank - 1; i >= 0; i--) {
    it->idx[i]++;
    for (int k = 0; k < it->nin; k++)
      it->off[k] += it->st[k][i];
    if (it->idx[i] < it->dims[i])
      return;
    for (int k = 0; k < it->nin; k++)
      it->off[k] -= it->st[k][i] * it->idx[i];
    it->idx[i] = 0;
  }
}

/* ---- attributes shared by convolutions and pools ------------------------ */

static Status spatial_list(Ctx *cx, const Node *n, const char *name, int want,
                           int64_t min, int64_t dflt, int64_t *out) {
  const int64_t *v;
  int k;
  TRY(op_attr_ints(cx, n, name, &v, &k));
  for (int i = 0; i < want; i++)
    out[i] = dflt;
  if (k < 0)
    return O2L_OK;
  if (k != want)
    return op_invalid(cx, n, "%s has %d entries; expected %d for %d spatial "
                      "dimension(s)", name, k, want,
                      strcmp(name, "pads") == 0 ? want / 2 : want);
  for (int i = 0; i < k; i++) {
    if (v[i] < min || v[i] > ((int64_t)1 << 31))
      return op_invalid(cx, n, "%s[%d] = %lld is out of range (expected >= "
                        "%lld)", name, i, (long long)v[i], (long long)min);
    out[i] = v[i];
  }
  return O2L_OK;
}

Status op_spatial_attrs(Ctx *cx, const Node *n, int nsp, SpatialAttrs *s) {
  memset(s, 0, sizeof *s);
  const char *ap;
  TRY(op_attr_str(cx, n, "auto_pad", "NOTSET", &ap));
  if (strcmp(ap, "NOTSET") == 0 || ap[0] == 0)
    s->auto_pad = AUTO_PAD_NOTSET;
  else if (strcmp(ap, "SAME_UPPER") == 0)
    s->auto_pad = AUTO_PAD_SAME_UPPER;
  else if (strcmp(ap, "SAME_LOWER") == 0)
    s->auto_pad = AUTO_PAD_SAME_LOWER;
  else if (strcmp(ap, "VALID") == 0)
    s->auto_pad = AUTO_PAD_VALID;
  else
    return op_invalid(cx, n, "auto_pad '%s' is not one of NOTSET, SAME_UPPER, "
                      "SAME_LOWER, VALID", ap);
  const int64_t *kv;
  int kn;
  TRY(op_attr_ints(cx, n, "kernel_shape", &kv, &kn));
  s->has_kernel = kn >= 0;
  TRY(spatial_list(cx, n, "kernel_shape", nsp, 1, 1, s->kernel));
  TRY(spatial_list(cx, n, "strides", nsp, 1, 1, s->stride));
  TRY(spatial_list(cx, n, "dilations", nsp, 1, 1, s->dilation));
  int64_t pads[2 * OP_MAX_SPATIAL];
  TRY(spatial_list(cx, n, "pads", 2 * nsp, 0, 0, pads));
  for (int i = 0; i < nsp; i++) {
    s->pad_begin[i] = pads[i];
    s->pad_end[i] = pads[nsp + i];
  }
  return O2L_OK;
}

int64_t op_same_pads(AutoPad auto_pad, int64_t in, int64_t st, int64_t keff,
                     int64_t *pb, int64_t *pe) {
  int64_t out = (in + st - 1) / st;
  int64_t total = (out - 1) * st + keff - in;
  if (total < 0)
    total = 0;
  *pb = auto_pad == AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
  *pe = total - *pb;
  return out;
}
