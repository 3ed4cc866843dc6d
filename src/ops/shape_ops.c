/* shape_ops.c - operators that create, move or reinterpret data: Cast,
 * Concat, Constant, ConstantOfShape, DepthToSpace, Identity/Dropout, Expand,
 * Flatten, Gather, Pad, Range, Reshape, Shape, Size, Slice, SpaceToDepth,
 * Split, Squeeze, Tile, Transpose, Unsqueeze.  Parameters (opattr.h), shape inference and
 * constant evaluation.
 *
 * Most of these only matter to lowering when their data input is an
 * activation; on constants they fold, which is how the Shape -> Gather ->
 * Unsqueeze -> Concat -> Reshape chains of PyTorch exports disappear.
 * Folds that only reinterpret (Reshape, Flatten, Squeeze, Unsqueeze,
 * Identity) share the input's bytes instead of copying.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/opattr.h"

/* A fold that would make a constant this much larger than its inputs (and
 * over a million elements) is left to the runtime: Expand/Tile of a small
 * constant are cheaper as operators than as stored data. */
#define FOLD_GROWTH_LIMIT 16
#define FOLD_GROWTH_MIN_ELEMS ((int64_t)1 << 20)

static bool fold_grows_too_much(const Value *out, const Value *in) {
  int64_t no = op_numel(out), ni = op_numel(in);
  return no > FOLD_GROWTH_MIN_ELEMS && no > FOLD_GROWTH_LIMIT * (ni + 1);
}

static int64_t row_major_strides(int rank, const int64_t *dims, int64_t *st) {
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    st[i] = s;
    s *= dims[i];
  }
  return s;
}

/* out[i] = in[base + sum(idx[a] * st[a])] over the output shape. */
static void strided_copy(unsigned char *out, const unsigned char *in,
                         size_t es, int rank, const int64_t *dims,
                         const int64_t *st, int64_t base) {
  int64_t cnt = 1;
  for (int a = 0; a < rank; a++)
    cnt *= dims[a];
  int64_t idx[O2L_MAX_RANK] = {0}, off = base;
  for (int64_t i = 0; i < cnt; i++) {
    memcpy(out + (size_t)i * es, in + (size_t)off * es, es);
    for (int a = rank - 1; a >= 0; a--) {
      off += st[a];
      if (++idx[a] < dims[a])
        break;
      off -= st[a] * dims[a];
      idx[a] = 0;
    }
  }
}

/* Folds output 0 as a strided view of input 0: element idx of the output
 * is the input's element base + sum(idx[a] * st[a]). */
static Status fold_view(Ctx *cx, Node *n, const int64_t *st, int64_t base) {
  Value *y = n->out[0];
  unsigned char *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  strided_copy(out, n->in[0]->data, dtype_size(y->dtype), y->rank, y->dims,
               st, base);
  return O2L_OK;
}

static Status need_rank_ok(Ctx *cx, const Node *n, int rank) {
  if (rank > O2L_MAX_RANK)
    return op_unsup(cx, n, "the result would have rank %d; at most %d is "
                    "supported", rank, O2L_MAX_RANK);
  return O2L_OK;
}

static Status check_numel(Ctx *cx, const Node *n, int rank,
                          const int64_t *dims) {
  int64_t k;
  if (!dims_numel(rank, dims, &k)) {
    char buf[128];
    return op_invalid(cx, n, "the result shape %s is invalid or too large",
                      dims_str(rank, dims, buf, sizeof buf));
  }
  return O2L_OK;
}

/* ---- Cast --------------------------------------------------------------- */

static DType dtype_from_legacy_name(const char *s) {
  static const struct { const char *name; DType t; } map[] = {
      {"FLOAT", DT_F32},  {"FLOAT16", DT_F16}, {"DOUBLE", DT_F64},
      {"INT8", DT_I8},    {"UINT8", DT_U8},    {"INT16", DT_I16},
      {"UINT16", DT_U16}, {"INT32", DT_I32},   {"UINT32", DT_U32},
      {"INT64", DT_I64},  {"UINT64", DT_U64},  {"BOOL", DT_BOOL}};
  for (size_t i = 0; i < O2L_ARRAY_LEN(map); i++)
    if (strcmp(s, map[i].name) == 0)
      return map[i].t;
  return DT_UNDEF;
}

Status cast_params(Ctx *cx, const Graph *g, const Node *n, CastParams *p) {
  (void)g;
  TRY(op_check_io(cx, n, 1, 1, 1));
  const Attr *a = node_attr(n, "to");
  if (!a)
    return op_invalid(cx, n, "the 'to' attribute is required");
  if (a->type == AT_STRING && a->s) /* Cast-1 */
    p->to = dtype_from_legacy_name(a->s);
  else if (a->type == AT_INT)
    p->to = op_onnx_dtype(a->i);
  else
    return op_invalid(cx, n, "attribute 'to' must be an int");
  if (p->to == DT_UNDEF && a->type == AT_STRING)
    return op_unsup(cx, n, "cast to type '%s' is not supported", a->s);
  if (p->to == DT_UNDEF)
    return op_unsup(cx, n, "cast to ONNX type %lld is not supported",
                    (long long)a->i);
  DType from = n->in[0]->dtype;
  if (from == DT_STRING || from == DT_UNDEF)
    return op_unsup(cx, n, "cast from %s is not supported", dtype_name(from));
  return O2L_OK;
}

Status cast_infer(Ctx *cx, Graph *g, Node *n) {
  CastParams p;
  TRY(cast_params(cx, g, n, &p));
  const Value *x = n->in[0];
  op_set_out(n->out[0], p.to, x->rank, x->dims);
  return O2L_OK;
}

Status cast_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  const Value *x = n->in[0];
  Value *y = n->out[0];
  void *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  int64_t cnt = op_numel(y);
  for (int64_t i = 0; i < cnt; i++) {
    size_t k = (size_t)i;
    if (dtype_is_float(y->dtype) || y->dtype == DT_BOOL)
      store_from_f64(out, y->dtype, k, load_as_f64(x->data, x->dtype, k));
    else /* truncation toward zero from floats, wrap-around between ints */
      op_store_i64(out, y->dtype, k, load_as_i64(x->data, x->dtype, k));
  }
  return O2L_OK;
}

/* ---- Concat ------------------------------------------------------------- */

Status concat_params(Ctx *cx, const Graph *g, const Node *n, ConcatParams *p) {
  (void)g;
  TRY(op_check_io(cx, n, 1, n->nin > 1 ? n->nin : 1, 1));
  int k = op_nin(n);
  const Value *x0 = n->in[0];
  const Attr *a = node_attr(n, "axis");
  if (!a)
    return op_invalid(cx, n, "the 'axis' attribute is required");
  int64_t axis;
  TRY(op_attr_int(cx, n, "axis", 0, &axis));
  if (x0->rank < 1)
    return op_invalid(cx, n, "inputs must have rank >= 1, input 0 is a "
                      "scalar");
  TRY(op_axis(cx, n, "axis", axis, x0->rank, &p->axis));
  p->rank = x0->rank;
  memcpy(p->out, x0->dims, sizeof(int64_t) * (size_t)p->rank);
  p->out[p->axis] = 0;
  char b1[96], b2[96];
  for (int i = 0; i < k; i++) {
    const Value *x = n->in[i];
    if (!x)
      return op_invalid(cx, n, "input %d is missing", i);
    if (x->dtype != x0->dtype)
      return op_invalid(cx, n, "input %d is %s but input 0 is %s", i,
                        dtype_name(x->dtype), dtype_name(x0->dtype));
    bool ok = x->rank == x0->rank;
    for (int d = 0; ok && d < x->rank; d++)
      if (d != p->axis && x->dims[d] != x0->dims[d])
        ok = false;
    if (!ok)
      return op_invalid(cx, n, "input %d has shape %s but input 0 has shape "
                        "%s; all dims except axis %d must match", i,
                        value_shape_str(x, b1, sizeof b1),
                        value_shape_str(x0, b2, sizeof b2), p->axis);
    p->out[p->axis] += x->dims[p->axis];
  }
  return O2L_OK;
}

Status concat_infer(Ctx *cx, Graph *g, Node *n) {
  ConcatParams p;
  TRY(concat_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, p.rank, p.out);
  return O2L_OK;
}

Status concat_fold(Ctx *cx, Graph *g, Node *n) {
  ConcatParams p;
  TRY(concat_params(cx, g, n, &p));
  Value *y = n->out[0];
  unsigned char *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  size_t es = dtype_size(y->dtype);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < p.axis; d++)
    outer *= p.out[d];
  for (int d = p.axis + 1; d < p.rank; d++)
    inner *= p.out[d];
  size_t pos = 0;
  for (int64_t o = 0; o < outer; o++)
    for (int i = 0; i < op_nin(n); i++) {
      const Value *x = n->in[i];
      size_t chunk = (size_t)(x->dims[p.axis] * inner) * es;
      memcpy(out + pos, (const unsigned char *)x->data + (size_t)o * chunk,
             chunk);
      pos += chunk;
    }
  return O2L_OK;
}

/* ---- Constant ----------------------------------------------------------- */

static const char *const constant_attrs[] = {
    "value", "value_float", "value_floats", "value_int", "value_ints",
    "value_string", "value_strings", "sparse_value"};

static Status constant_attr(Ctx *cx, const Node *n, const Attr **out) {
  const Attr *found = NULL;
  for (size_t i = 0; i < O2L_ARRAY_LEN(constant_attrs); i++) {
    const Attr *a = node_attr(n, constant_attrs[i]);
    if (!a)
      continue;
    if (found)
      return op_invalid(cx, n, "has both '%s' and '%s'; exactly one value "
                        "attribute is allowed", found->name, a->name);
    found = a;
  }
  if (!found)
    return op_invalid(cx, n, "has no value attribute (value, value_float, "
                      "value_floats, value_int, value_ints)");
  *out = found;
  return O2L_OK;
}

Status constant_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  TRY(op_check_io(cx, n, 0, 0, 1));
  const Attr *a;
  TRY(constant_attr(cx, n, &a));
  Value *y = n->out[0];
  const char *nm = a->name;
  if (strcmp(nm, "value") == 0) {
    const Value *t = a->t;
    if (a->type != AT_TENSOR || !t)
      return op_invalid(cx, n, "attribute 'value' must be a tensor");
    if (t->dtype == DT_STRING || dtype_size(t->dtype) == 0)
      return op_unsup(cx, n, "constants of type %s are not supported",
                      dtype_name(t->dtype));
    int64_t k = op_numel(t);
    if (k < 0 || !t->data || (size_t)k * dtype_size(t->dtype) > t->nbytes)
      return op_invalid(cx, n, "the value tensor holds fewer bytes than its "
                        "shape needs");
    op_set_out(y, t->dtype, t->rank, t->dims);
  } else if (strcmp(nm, "value_float") == 0 && a->type == AT_FLOAT) {
    op_set_out(y, DT_F32, 0, NULL);
  } else if (strcmp(nm, "value_int") == 0 && a->type == AT_INT) {
    op_set_out(y, DT_I64, 0, NULL);
  } else if (strcmp(nm, "value_floats") == 0 && a->type == AT_FLOATS) {
    int64_t d = a->n;
    op_set_out(y, DT_F32, 1, &d);
  } else if (strcmp(nm, "value_ints") == 0 && a->type == AT_INTS) {
    int64_t d = a->n;
    op_set_out(y, DT_I64, 1, &d);
  } else if (strncmp(nm, "value_string", 12) == 0 ||
             strcmp(nm, "sparse_value") == 0) {
    return op_unsup(cx, n, "'%s' constants are not supported", nm);
  } else {
    return op_invalid(cx, n, "attribute '%s' has the wrong type (%d)", nm,
                      (int)a->type);
  }
  return O2L_OK;
}

Status constant_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  const Attr *a;
  TRY(constant_attr(cx, n, &a));
  Value *y = n->out[0];
  if (a->type == AT_TENSOR) {
    op_fold_share(y, a->t);
    return O2L_OK;
  }
  void *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  switch (a->type) {
  case AT_FLOAT: store_from_f64(out, DT_F32, 0, a->f); break;
  case AT_INT: op_store_i64(out, DT_I64, 0, a->i); break;
  case AT_FLOATS:
    for (int i = 0; i < a->n; i++)
      store_from_f64(out, DT_F32, (size_t)i, a->floats[i]);
    break;
  case AT_INTS:
    for (int i = 0; i < a->n; i++)
      op_store_i64(out, DT_I64, (size_t)i, a->ints[i]);
    break;
  default: break;
  }
  return O2L_OK;
}

/* ---- ConstantOfShape ---------------------------------------------------- */

static Status cos_value(Ctx *cx, const Node *n, const Value **v) {
  const Attr *a = node_attr(n, "value");
  *v = NULL;
  if (!a)
    return O2L_OK;
  if (a->type != AT_TENSOR || !a->t)
    return op_invalid(cx, n, "attribute 'value' must be a tensor");
  const Value *t = a->t;
  if (op_numel(t) != 1)
    return op_invalid(cx, n, "attribute 'value' must hold one element");
  if (dtype_size(t->dtype) == 0 || !t->data || t->nbytes < dtype_size(t->dtype))
    return op_unsup(cx, n, "a value of type %s is not supported",
                    dtype_name(t->dtype));
  *v = t;
  return O2L_OK;
}

Status cos_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  TRY(op_check_io(cx, n, 1, 1, 1));
  const int64_t *shape;
  int k;
  const Value *v;
  TRY(cos_value(cx, n, &v));
  TRY(op_const_ints(cx, n, 0, "input", &shape, &k));
  TRY(need_rank_ok(cx, n, k));
  for (int i = 0; i < k; i++)
    if (shape[i] < 0)
      return op_invalid(cx, n, "shape[%d] = %lld is negative", i,
                        (long long)shape[i]);
  TRY(check_numel(cx, n, k, shape));
  op_set_out(n->out[0], v ? v->dtype : DT_F32, k, shape);
  return O2L_OK;
}

Status cos_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  const Value *v;
  TRY(cos_value(cx, n, &v));
  Value *y = n->out[0];
  unsigned char *out = op_fold_alloc(cx, y);
  if (!out) {
    if (cx->status == O2L_OK)
      return op_unsup(cx, n, "the result has %lld elements, too many to "
                      "store as a constant", (long long)op_numel(y));
    return cx->status;
  }
  if (!v)
    return O2L_OK; /* zero-filled float32 */
  size_t es = dtype_size(y->dtype);
  int64_t cnt = op_numel(y);
  for (int64_t i = 0; i < cnt; i++)
    memcpy(out + (size_t)i * es, v->data, es);
  return O2L_OK;
}

/* ---- Identity / Dropout ------------------------------------------------- */

Status dropout_check(Ctx *cx, const Graph *g, const Node *n) {
  if (n->op != OP_Dropout)
    return O2L_OK;
  if (op_opset(g) >= 12) {
    const Value *t = op_in(n, 2);
    if (t) {
      if (!value_is_const(t))
        return op_unsup(cx, n, "input 'training_mode' is computed at run "
                        "time; only inference (training_mode false) can be "
                        "converted");
      if (op_numel(t) != 1 || t->nbytes < dtype_size(t->dtype))
        return op_invalid(cx, n, "input 'training_mode' must be a scalar");
      if (load_as_f64(t->data, t->dtype, 0) != 0)
        return op_unsup(cx, n, "training_mode is true; only inference "
                        "(training_mode false) can be converted");
    }
  }
  return O2L_OK;
}

Status identity_infer(Ctx *cx, Graph *g, Node *n) {
  bool dropout = n->op == OP_Dropout;
  TRY(op_check_io(cx, n, 1, dropout ? 3 : 1, dropout ? 2 : 1));
  TRY(dropout_check(cx, g, n));
  const Value *x = n->in[0];
  op_set_out_like(n->out[0], x);
  if (n->nout > 1 && n->out[1]) /* mask: bool since opset 10 */
    op_set_out(n->out[1], op_opset(g) >= 10 ? DT_BOOL : x->dtype, x->rank,
               x->dims);
  return O2L_OK;
}

Status identity_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  op_fold_share(n->out[0], n->in[0]);
  if (n->nout > 1 && n->out[1]) { /* at inference the mask is all ones */
    Value *m = n->out[1];
    void *out = op_fold_alloc(cx, m);
    if (!out) {
      n->out[0]->data = NULL; /* all or nothing */
      n->out[0]->nbytes = 0;
      return cx->status;
    }
    int64_t cnt = op_numel(m);
    for (int64_t i = 0; i < cnt; i++)
      store_from_f64(out, m->dtype, (size_t)i, 1.0);
  }
  return O2L_OK;
}

/* ---- Expand ------------------------------------------------------------- */

Status expand_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  TRY(op_check_io(cx, n, 2, 2, 1));
  const Value *x = n->in[0];
  const int64_t *shape;
  int k;
  TRY(op_const_ints(cx, n, 1, "shape", &shape, &k));
  TRY(need_rank_ok(cx, n, k));
  for (int i = 0; i < k; i++)
    if (shape[i] < 0)
      return op_invalid(cx, n, "shape[%d] = %lld is negative", i,
                        (long long)shape[i]);
  int r;
  int64_t d[O2L_MAX_RANK];
  TRY(op_broadcast(cx, n, x->rank, x->dims, k, shape, &r, d));
  TRY(check_numel(cx, n, r, d));
  op_set_out(n->out[0], x->dtype, r, d);
  return O2L_OK;
}

Status expand_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  const Value *x = n->in[0];
  Value *y = n->out[0];
  if (fold_grows_too_much(y, x))
    return O2L_OK;
  BcastIter it;
  const Value *in[1] = {x};
  op_bcast_init(&it, y->rank, y->dims, 1, in);
  return fold_view(cx, n, it.st[0], 0);
}

/* ---- Reshape / Flatten / Squeeze / Unsqueeze ---------------------------- */

Status reshape_params(Ctx *cx, const Graph *g, const Node *n,
                      ReshapeParams *p) {
  memset(p, 0, sizeof *p);
  int opset = op_opset(g);
  const Value *x = op_in(n, 0);
  const int64_t *shape;
  int k;
  if (opset < 5) {
    TRY(op_check_io(cx, n, 1, 1, 1));
    TRY(op_attr_ints(cx, n, "shape", &shape, &k));
    if (k < 0)
      return op_invalid(cx, n, "the 'shape' attribute is required");
  } else {
    TRY(op_check_io(cx, n, 2, 2, 1));
    TRY(op_const_ints(cx, n, 1, "shape", &shape, &k));
  }
  x = n->in[0];
  int64_t allowzero;
  TRY(op_attr_int(cx, n, "allowzero", 0, &allowzero));
  if (opset < 14)
    allowzero = 0;
  TRY(need_rank_ok(cx, n, k));
  int infer_at = -1;
  int64_t known = 1;
  bool has_zero = false;
  char b1[128], b2[128];
  for (int i = 0; i < k; i++) {
    int64_t d = shape[i];
    if (d == -1) {
      if (infer_at >= 0)
        return op_invalid(cx, n, "shape %s has more than one -1",
                          dims_str(k, shape, b1, sizeof b1));
      infer_at = i;
      continue;
    }
    if (d < -1)
      return op_invalid(cx, n, "shape[%d] = %lld is invalid", i, (long long)d);
    if (d == 0 && !allowzero) {
      if (i >= x->rank)
        return op_invalid(cx, n, "shape[%d] = 0 copies input dim %d, but the "
                          "input has rank %d", i, i, x->rank);
      d = x->dims[i];
    }
    has_zero |= d == 0;
    p->out[i] = d;
    if (d && known > ((int64_t)1 << 62) / d)
      return op_invalid(cx, n, "shape %s is too large",
                        dims_str(k, shape, b1, sizeof b1));
    known *= d;
  }
  int64_t total = op_numel(x);
  if (infer_at >= 0) {
    if (allowzero && has_zero)
      return op_invalid(cx, n, "shape %s has both 0 and -1 with allowzero=1",
                        dims_str(k, shape, b1, sizeof b1));
    if (known == 0 || total % known)
      return op_invalid(cx, n, "cannot reshape %s (%lld elements) to %s",
                        value_shape_str(x, b1, sizeof b1), (long long)total,
                        dims_str(k, shape, b2, sizeof b2));
    p->out[infer_at] = total / known;
    known = total;
  }
  if (known != total)
    return op_invalid(cx, n, "cannot reshape %s (%lld elements) to %s (%lld "
                      "elements)", value_shape_str(x, b1, sizeof b1),
                      (long long)total, dims_str(k, p->out, b2, sizeof b2),
                      (long long)known);
  p->out_rank = k;
  return O2L_OK;
}

Status reshape_infer(Ctx *cx, Graph *g, Node *n) {
  ReshapeParams p;
  TRY(reshape_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, p.out_rank, p.out);
  return O2L_OK;
}

Status reshape_fold(Ctx *cx, Graph *g, Node *n) {
  (void)cx;
  (void)g;
  op_fold_share(n->out[0], n->in[0]);
  return O2L_OK;
}

Status flatten_params(Ctx *cx, const Graph *g, const Node *n,
                      FlattenParams *p) {
  (void)g;
  TRY(op_check_io(cx, n, 1, 1, 1));
  const Value *x = n->in[0];
  int64_t axis;
  TRY(op_attr_int(cx, n, "axis", 1, &axis));
  if (axis < -(int64_t)x->rank || axis > x->rank)
    return op_invalid(cx, n, "axis %lld is out of range for rank %d (expected "
                      "%d..%d)", (long long)axis, x->rank, -x->rank, x->rank);
  p->axis = (int)(axis < 0 ? axis + x->rank : axis);
  p->outer = p->inner = 1;
  for (int i = 0; i < x->rank; i++)
    *(i < p->axis ? &p->outer : &p->inner) *= x->dims[i];
  return O2L_OK;
}

Status flatten_infer(Ctx *cx, Graph *g, Node *n) {
  FlattenParams p;
  TRY(flatten_params(cx, g, n, &p));
  int64_t d[2] = {p.outer, p.inner};
  op_set_out(n->out[0], n->in[0]->dtype, 2, d);
  return O2L_OK;
}

/* Axes from the attribute (opset < 13) or the optional input (>= 13). */
static Status axes_arg(Ctx *cx, const Graph *g, const Node *n,
                       const int64_t **v, int *k) {
  if (op_opset(g) < 13) {
    TRY(op_check_io(cx, n, 1, 1, 1));
    return op_attr_ints(cx, n, "axes", v, k);
  }
  TRY(op_check_io(cx, n, 1, 2, 1));
  return op_const_ints(cx, n, 1, "axes", v, k);
}

/* Normalizes axes against `rank`, sorted, rejecting repeats. */
static Status axes_norm(Ctx *cx, const Node *n, const int64_t *v, int k,
                        int rank, int *out) {
  if (k > O2L_MAX_RANK)
    return op_invalid(cx, n, "axes has %d entries", k);
  bool seen[O2L_MAX_RANK];
  TRY(op_axes(cx, n, v, k, rank, NULL, seen));
  int j = 0;
  for (int a = 0; a < rank; a++)
    if (seen[a])
      out[j++] = a;
  return O2L_OK;
}

Status squeeze_params(Ctx *cx, const Graph *g, const Node *n,
                      SqueezeParams *p) {
  memset(p, 0, sizeof *p);
  const int64_t *v;
  int k;
  TRY(axes_arg(cx, g, n, &v, &k));
  const Value *x = n->in[0];
  char buf[96];
  if (k < 0) {
    for (int a = 0; a < x->rank; a++)
      if (x->dims[a] == 1)
        p->axes[p->naxes++] = a;
  } else {
    TRY(axes_norm(cx, n, v, k, x->rank, p->axes));
    p->naxes = k;
    for (int i = 0; i < k; i++)
      if (x->dims[p->axes[i]] != 1)
        return op_invalid(cx, n, "cannot squeeze axis %d of shape %s: its "
                          "size is not 1", p->axes[i],
                          value_shape_str(x, buf, sizeof buf));
  }
  int j = 0;
  for (int a = 0, i = 0; a < x->rank; a++) {
    if (i < p->naxes && p->axes[i] == a) {
      i++;
      continue;
    }
    p->out[j++] = x->dims[a];
  }
  p->out_rank = j;
  return O2L_OK;
}

Status squeeze_infer(Ctx *cx, Graph *g, Node *n) {
  SqueezeParams p;
  TRY(squeeze_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, p.out_rank, p.out);
  return O2L_OK;
}

Status unsqueeze_params(Ctx *cx, const Graph *g, const Node *n,
                        UnsqueezeParams *p) {
  memset(p, 0, sizeof *p);
  const int64_t *v;
  int k;
  TRY(axes_arg(cx, g, n, &v, &k));
  if (k < 0)
    return op_invalid(cx, n, op_opset(g) < 13 ? "the 'axes' attribute is "
                      "required" : "the 'axes' input is required");
  const Value *x = n->in[0];
  int r = x->rank + k;
  TRY(need_rank_ok(cx, n, r));
  TRY(axes_norm(cx, n, v, k, r, p->axes));
  p->naxes = k;
  p->out_rank = r;
  for (int a = 0, i = 0, j = 0; a < r; a++) {
    if (i < k && p->axes[i] == a) {
      p->out[a] = 1;
      i++;
    } else {
      p->out[a] = x->dims[j++];
    }
  }
  return O2L_OK;
}

Status unsqueeze_infer(Ctx *cx, Graph *g, Node *n) {
  UnsqueezeParams p;
  TRY(unsqueeze_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, p.out_rank, p.out);
  return O2L_OK;
}

/* ---- Gather ------------------------------------------------------------- */

Status gather_params(Ctx *cx, const Graph *g, const Node *n, GatherParams *p) {
  (void)g;
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 2, 2, 1));
  const Value *x = n->in[0], *idx = n->in[1];
  if (x->rank < 1)
    return op_invalid(cx, n, "data must have rank >= 1, got a scalar");
  if (idx->dtype != DT_I64 && idx->dtype != DT_I32)
    return op_invalid(cx, n, "indices must be int32 or int64, got %s",
                      dtype_name(idx->dtype));
  int64_t axis;
  TRY(op_attr_int(cx, n, "axis", 0, &axis));
  TRY(op_axis(cx, n, "axis", axis, x->rank, &p->axis));
  p->out_rank = x->rank - 1 + idx->rank;
  TRY(need_rank_ok(cx, n, p->out_rank));
  int j = 0;
  for (int a = 0; a < p->axis; a++)
    p->out[j++] = x->dims[a];
  for (int a = 0; a < idx->rank; a++)
    p->out[j++] = idx->dims[a];
  for (int a = p->axis + 1; a < x->rank; a++)
    p->out[j++] = x->dims[a];
  if (value_is_const(idx)) {
    int64_t dim = x->dims[p->axis], cnt = op_numel(idx);
    if ((size_t)cnt * dtype_size(idx->dtype) > idx->nbytes)
      return op_invalid(cx, n, "indices hold fewer bytes than their shape "
                        "needs");
    for (int64_t i = 0; i < cnt; i++) {
      int64_t v = load_as_i64(idx->data, idx->dtype, (size_t)i);
      if (v < -dim || v >= dim)
        return op_invalid(cx, n, "index %lld is out of range for axis %d of "
                          "size %lld", (long long)v, p->axis, (long long)dim);
    }
  }
  return O2L_OK;
}

Status gather_infer(Ctx *cx, Graph *g, Node *n) {
  GatherParams p;
  TRY(gather_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, p.out_rank, p.out);
  return O2L_OK;
}

Status gather_fold(Ctx *cx, Graph *g, Node *n) {
  GatherParams p;
  TRY(gather_params(cx, g, n, &p));
  const Value *x = n->in[0], *idx = n->in[1];
  Value *y = n->out[0];
  unsigned char *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  size_t es = dtype_size(y->dtype);
  int64_t outer = 1, inner = 1, dim = x->dims[p.axis], ni = op_numel(idx);
  for (int a = 0; a < p.axis; a++)
    outer *= x->dims[a];
  for (int a = p.axis + 1; a < x->rank; a++)
    inner *= x->dims[a];
  size_t chunk = (size_t)inner * es;
  const unsigned char *src = x->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < ni; i++) {
      int64_t v = load_as_i64(idx->data, idx->dtype, (size_t)i);
      if (v < 0)
        v += dim;
      memcpy(out + (size_t)(o * ni + i) * chunk,
             src + (size_t)(o * dim + v) * chunk, chunk);
    }
  return O2L_OK;
}

/* ---- Pad ---------------------------------------------------------------- */

static Status pad_mode(Ctx *cx, const Graph *g, const Node *n, PadMode *m) {
  const char *s;
  TRY(op_attr_str(cx, n, "mode", "constant", &s));
  if (strcmp(s, "constant") == 0)
    *m = PAD_CONSTANT;
  else if (strcmp(s, "reflect") == 0)
    *m = PAD_REFLECT;
  else if (strcmp(s, "edge") == 0)
    *m = PAD_EDGE;
  else if (strcmp(s, "wrap") == 0 && op_opset(g) >= 19)
    *m = PAD_WRAP;
  else
    return op_invalid(cx, n, "mode '%s' is not one of constant, reflect, "
                      "edge%s", s, op_opset(g) >= 19 ? ", wrap" : "");
  return O2L_OK;
}

static Status pad_values(Ctx *cx, const Graph *g, const Node *n,
                         PadParams *p) {
  const Value *x = n->in[0];
  int r = x->rank;
  const int64_t *pads;
  int k;
  if (op_opset(g) < 11) {
    TRY(op_check_io(cx, n, 1, 1, 1));
    const char *name = op_opset(g) < 2 ? "paddings" : "pads";
    TRY(op_attr_ints(cx, n, name, &pads, &k));
    if (k < 0)
      return op_invalid(cx, n, "the '%s' attribute is required", name);
    TRY(op_attr_float(cx, n, "value", 0.0, &p->value));
  } else {
    TRY(op_check_io(cx, n, 2, op_opset(g) >= 18 ? 4 : 3, 1));
    TRY(op_const_ints(cx, n, 1, "pads", &pads, &k));
    const Value *cv = op_in(n, 2);
    if (cv) {
      if (cv->dtype != x->dtype)
        return op_invalid(cx, n, "constant_value is %s but data is %s",
                          dtype_name(cv->dtype), dtype_name(x->dtype));
      if (value_is_const(cv) && op_numel(cv) == 0)
        ; /* an empty tensor: the default 0 */
      else if (!value_is_const(cv))
        p->value_runtime = true;
      else
        TRY(op_const_scalar(cx, n, 2, "constant_value", &p->value));
    }
  }
  const int64_t *axv = NULL;
  int na = -1;
  if (op_opset(g) >= 18)
    TRY(op_const_ints(cx, n, 3, "axes", &axv, &na));
  int axes[O2L_MAX_RANK];
  if (na < 0) {
    na = r;
    for (int i = 0; i < r; i++)
      axes[i] = i;
  } else {
    if (na > r)
      return op_invalid(cx, n, "axes has %d entries for rank %d", na, r);
    bool seen[O2L_MAX_RANK];
    TRY(op_axes(cx, n, axv, na, r, axes, seen));
  }
  if (k != 2 * na)
    return op_invalid(cx, n, "pads has %d entries; expected %d (begin and end "
                      "for each of %d axes)", k, 2 * na, na);
  for (int i = 0; i < na; i++) {
    p->begin[axes[i]] = pads[i];
    p->end[axes[i]] = pads[na + i];
  }
  return O2L_OK;
}

Status pad_params(Ctx *cx, const Graph *g, const Node *n, PadParams *p) {
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 1, 4, 1));
  const Value *x = n->in[0];
  p->rank = x->rank;
  TRY(pad_mode(cx, g, n, &p->mode));
  TRY(pad_values(cx, g, n, p));
  char buf[96];
  for (int a = 0; a < p->rank; a++) {
    int64_t d = x->dims[a], b = p->begin[a], e = p->end[a];
    if (b < -d || e < -d || b > ((int64_t)1 << 40) || e > ((int64_t)1 << 40))
      return op_invalid(cx, n, "pads %lld/%lld on axis %d are out of range "
                        "for size %lld", (long long)b, (long long)e, a,
                        (long long)d);
    p->out[a] = d + b + e;
    if (p->out[a] < 0)
      return op_invalid(cx, n, "pads %lld/%lld on axis %d crop more than the "
                        "%lld elements there", (long long)b, (long long)e, a,
                        (long long)d);
    if (p->mode == PAD_CONSTANT || (b <= 0 && e <= 0))
      continue;
    if (d == 0)
      return op_invalid(cx, n, "cannot pad the empty axis %d of %s in this "
                        "mode", a, value_shape_str(x, buf, sizeof buf));
    if (p->mode == PAD_REFLECT && (b >= d || e >= d))
      return op_unsup(cx, n, "reflect padding %lld/%lld on axis %d must be "
                      "smaller than its size %lld", (long long)b, (long long)e,
                      a, (long long)d);
    if (p->mode == PAD_WRAP && (b > d || e > d))
      return op_unsup(cx, n, "wrap padding %lld/%lld on axis %d is larger "
                      "than its size %lld", (long long)b, (long long)e, a,
                      (long long)d);
  }
  return check_numel(cx, n, p->rank, p->out);
}

Status pad_infer(Ctx *cx, Graph *g, Node *n) {
  PadParams p;
  TRY(pad_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, p.rank, p.out);
  return O2L_OK;
}

/* Source index for output position i on an axis of size d, or -1 for the
 * constant fill. */
static int64_t pad_src(PadMode m, int64_t i, int64_t d) {
  if (i >= 0 && i < d)
    return i;
  switch (m) {
  case PAD_REFLECT:
    while (i < 0 || i >= d)
      i = i < 0 ? -i : 2 * (d - 1) - i;
    return i;
  case PAD_EDGE: return i < 0 ? 0 : d - 1;
  case PAD_WRAP: return ((i % d) + d) % d;
  default: return -1;
  }
}

Status pad_fold(Ctx *cx, Graph *g, Node *n) {
  PadParams p;
  TRY(pad_params(cx, g, n, &p));
  if (p.value_runtime)
    return O2L_OK;
  const Value *x = n->in[0];
  Value *y = n->out[0];
  if (fold_grows_too_much(y, x))
    return O2L_OK;
  unsigned char *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  size_t es = dtype_size(y->dtype);
  unsigned char fill[8] = {0};
  store_from_f64(fill, y->dtype, 0, p.value);
  int64_t st[O2L_MAX_RANK], idx[O2L_MAX_RANK] = {0}, cnt = op_numel(y);
  row_major_strides(x->rank, x->dims, st);
  const unsigned char *src = x->data;
  for (int64_t i = 0; i < cnt; i++) {
    int64_t off = 0;
    bool inside = true;
    for (int a = 0; a < p.rank && inside; a++) {
      int64_t s = pad_src(p.mode, idx[a] - p.begin[a], x->dims[a]);
      if (s < 0)
        inside = false;
      off += s * st[a];
    }
    memcpy(out + (size_t)i * es, inside ? src + (size_t)off * es : fill, es);
    for (int a = p.rank - 1; a >= 0; a--) {
      if (++idx[a] < p.out[a])
        break;
      idx[a] = 0;
    }
  }
  return O2L_OK;
}

/* ---- Range -------------------------------------------------------------- */

Status range_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  TRY(op_check_io(cx, n, 3, 3, 1));
  DType t = n->in[0]->dtype;
  for (int i = 1; i < 3; i++)
    if (n->in[i]->dtype != t)
      return op_invalid(cx, n, "start, limit and delta must have one type; "
                        "start is %s, input %d is %s", dtype_name(t), i,
                        dtype_name(n->in[i]->dtype));
  if (!dtype_is_float(t) && !dtype_is_int(t))
    return op_invalid(cx, n, "inputs must be numeric, got %s", dtype_name(t));
  double start, limit, delta;
  TRY(op_const_scalar(cx, n, 0, "start", &start));
  TRY(op_const_scalar(cx, n, 1, "limit", &limit));
  TRY(op_const_scalar(cx, n, 2, "delta", &delta));
  if (delta == 0)
    return op_invalid(cx, n, "delta is 0");
  double cnt = ceil((limit - start) / delta);
  if (dtype_is_int(t)) {
    int64_t s = load_as_i64(n->in[0]->data, t, 0),
            l = load_as_i64(n->in[1]->data, t, 0),
            d = load_as_i64(n->in[2]->data, t, 0);
    int64_t span = l - s; /* the exact count for integers */
    cnt = (double)(span / d + ((span % d) != 0 && ((span < 0) == (d < 0))));
  }
  if (!(cnt >= 0))
    cnt = 0;
  if (cnt > (double)OP_FOLD_MAX_ELEMS)
    return op_unsup(cx, n, "the range has %.0f elements, too many", cnt);
  int64_t d = (int64_t)cnt;
  op_set_out(n->out[0], t, 1, &d);
  return O2L_OK;
}

Status range_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  Value *y = n->out[0];
  void *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  DType t = y->dtype;
  int64_t cnt = y->dims[0];
  for (int64_t i = 0; i < cnt; i++) {
    if (dtype_is_float(t))
      store_from_f64(out, t, (size_t)i,
                     load_as_f64(n->in[0]->data, t, 0) +
                         (double)i * load_as_f64(n->in[2]->data, t, 0));
    else
      op_store_i64(out, t, (size_t)i,
                   load_as_i64(n->in[0]->data, t, 0) +
                       i * load_as_i64(n->in[2]->data, t, 0));
  }
  return O2L_OK;
}

/* ---- Shape / Size ------------------------------------------------------- */

static void shape_range(const Graph *g, const Node *n, int rank, int *s,
                        int *e) {
  int64_t start = 0, end = rank;
  if (op_opset(g) >= 15) {
    start = node_attr_int(n, "start", 0);
    end = node_attr_int(n, "end", rank);
  }
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = start < 0 ? 0 : (start > rank ? rank : start);
  end = end < 0 ? 0 : (end > rank ? rank : end);
  *s = (int)start;
  *e = (int)(end > start ? end : start);
}

Status shape_infer(Ctx *cx, Graph *g, Node *n) {
  TRY(op_check_io(cx, n, 1, 1, 1));
  int64_t v;
  TRY(op_attr_int(cx, n, "start", 0, &v));
  TRY(op_attr_int(cx, n, "end", 0, &v));
  int s, e;
  shape_range(g, n, n->in[0]->rank, &s, &e);
  int64_t d = e - s;
  op_set_out(n->out[0], DT_I64, 1, &d);
  return O2L_OK;
}

Status shape_fold(Ctx *cx, Graph *g, Node *n) {
  const Value *x = n->in[0];
  int s, e;
  shape_range(g, n, x->rank, &s, &e);
  void *out = op_fold_alloc(cx, n->out[0]);
  if (!out)
    return cx->status;
  for (int i = s; i < e; i++)
    op_store_i64(out, DT_I64, (size_t)(i - s), x->dims[i]);
  return O2L_OK;
}

Status size_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  TRY(op_check_io(cx, n, 1, 1, 1));
  op_set_out(n->out[0], DT_I64, 0, NULL);
  return O2L_OK;
}

Status size_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  void *out = op_fold_alloc(cx, n->out[0]);
  if (!out)
    return cx->status;
  op_store_i64(out, DT_I64, 0, op_numel(n->in[0]));
  return O2L_OK;
}

/* ---- Slice -------------------------------------------------------------- */

/* ONNX Slice-13 clamping: negative values get dim added; then starts clamp
 * to [0, dim] (step > 0) or [0, dim-1] (step < 0), ends to [0, dim] or
 * [-1, dim-1]. */
static void slice_axis(SliceParams *p, int a, int64_t dim, int64_t s,
                       int64_t e, int64_t step) {
  /* compare before adding: INT64_MIN + dim must not be computed blindly */
  if (s < 0)
    s = s < -dim ? -1 : s + dim;
  if (e < 0)
    e = e < -dim ? -1 : e + dim;
  s = s < 0 ? 0 : s;
  if (step > 0) {
    s = s > dim ? dim : s;
    e = e < 0 ? 0 : (e > dim ? dim : e);
  } else {
    s = s > dim - 1 ? dim - 1 : s;
    e = e > dim - 1 ? dim - 1 : e;
  }
  int64_t cnt;
  if (step > 0)
    cnt = e > s ? (e - s + step - 1) / step : 0;
  else
    cnt = s > e ? (s - e + (-step) - 1) / (-step) : 0;
  p->start[a] = s;
  p->end[a] = e;
  p->step[a] = step;
  p->out[a] = cnt;
}

Status slice_params(Ctx *cx, const Graph *g, const Node *n, SliceParams *p) {
  memset(p, 0, sizeof *p);
  const int64_t *st, *en, *ax = NULL, *sp = NULL;
  int ns, ne, na = -1, nsp = -1;
  if (op_opset(g) < 10) {
    TRY(op_check_io(cx, n, 1, 1, 1));
    TRY(op_attr_ints(cx, n, "starts", &st, &ns));
    TRY(op_attr_ints(cx, n, "ends", &en, &ne));
    TRY(op_attr_ints(cx, n, "axes", &ax, &na));
    if (ns < 0 || ne < 0)
      return op_invalid(cx, n, "the 'starts' and 'ends' attributes are "
                        "required");
  } else {
    TRY(op_check_io(cx, n, 3, 5, 1));
    TRY(op_const_ints(cx, n, 1, "starts", &st, &ns));
    TRY(op_const_ints(cx, n, 2, "ends", &en, &ne));
    TRY(op_const_ints(cx, n, 3, "axes", &ax, &na));
    TRY(op_const_ints(cx, n, 4, "steps", &sp, &nsp));
  }
  const Value *x = n->in[0];
  int r = x->rank;
  p->rank = r;
  if (ne != ns || (na >= 0 && na != ns) || (nsp >= 0 && nsp != ns))
    return op_invalid(cx, n, "starts, ends, axes and steps must have the same "
                      "length (got %d, %d, %d, %d)", ns, ne, na, nsp);
  if (ns > r)
    return op_invalid(cx, n, "slices %d axes of a rank-%d input", ns, r);
  for (int a = 0; a < r; a++)
    slice_axis(p, a, x->dims[a], 0, x->dims[a], 1);
  for (int i = 0; i < ns; i++) {
    int a = i;
    if (na >= 0)
      TRY(op_axis(cx, n, "axes entry", ax[i], r, &a));
    else if (i >= r)
      return op_invalid(cx, n, "more starts than input axes");
    if (p->sliced[a])
      return op_invalid(cx, n, "axis %d is sliced twice", a);
    int64_t step = nsp >= 0 ? sp[i] : 1;
    if (step == 0)
      return op_invalid(cx, n, "steps[%d] is 0", i);
    p->sliced[a] = true;
    slice_axis(p, a, x->dims[a], st[i], en[i], step);
  }
  return O2L_OK;
}

Status slice_infer(Ctx *cx, Graph *g, Node *n) {
  SliceParams p;
  TRY(slice_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, p.rank, p.out);
  return O2L_OK;
}

Status slice_fold(Ctx *cx, Graph *g, Node *n) {
  SliceParams p;
  TRY(slice_params(cx, g, n, &p));
  const Value *x = n->in[0];
  int64_t st[O2L_MAX_RANK], base = 0;
  row_major_strides(x->rank, x->dims, st);
  for (int a = 0; a < p.rank; a++) {
    base += p.start[a] * st[a];
    st[a] *= p.step[a];
  }
  return fold_view(cx, n, st, base);
}

/* ---- Split -------------------------------------------------------------- */

Status split_params(Ctx *cx, const Graph *g, const Node *n, SplitParams *p) {
  memset(p, 0, sizeof *p);
  int opset = op_opset(g);
  const int64_t *sv = NULL;
  int ns = -1;
  if (opset < 13) {
    TRY(op_check_io(cx, n, 1, opset < 2 ? 2 : 1, n->nout));
    TRY(op_attr_ints(cx, n, "split", &sv, &ns));
  } else {
    TRY(op_check_io(cx, n, 1, 2, n->nout));
    TRY(op_const_ints(cx, n, 1, "split", &sv, &ns));
  }
  const Value *x = n->in[0];
  int64_t axis, num = -1;
  TRY(op_attr_int(cx, n, "axis", 0, &axis));
  if (x->rank < 1)
    return op_invalid(cx, n, "input must have rank >= 1, got a scalar");
  TRY(op_axis(cx, n, "axis", axis, x->rank, &p->axis));
  if (opset >= 18)
    TRY(op_attr_int(cx, n, "num_outputs", -1, &num));
  p->n = n->nout;
  p->sizes = arena_alloc(cx->arena, sizeof(int64_t) * (size_t)(p->n + 1), 8);
  if (!p->sizes)
    return ctx_oom(cx, "parsing Split");
  int64_t dim = x->dims[p->axis];
  if (ns >= 0 && num >= 0)
    return op_invalid(cx, n, "give either the split sizes or num_outputs, not "
                      "both");
  if (ns >= 0) {
    if (ns != p->n)
      return op_invalid(cx, n, "split has %d sizes but the node has %d "
                        "outputs", ns, p->n);
    int64_t sum = 0;
    for (int i = 0; i < ns; i++) {
      if (sv[i] < 0 || sv[i] > dim)
        return op_invalid(cx, n, "split[%d] = %lld is out of range", i,
                          (long long)sv[i]);
      p->sizes[i] = sv[i];
      sum += sv[i];
    }
    if (sum != dim)
      return op_invalid(cx, n, "split sizes add up to %lld but axis %d has "
                        "%lld elements", (long long)sum, p->axis,
                        (long long)dim);
    return O2L_OK;
  }
  if (num >= 0) {
    if (num != p->n)
      return op_invalid(cx, n, "num_outputs is %lld but the node has %d "
                        "outputs", (long long)num, p->n);
    int64_t chunk = (dim + num - 1) / num, last = dim - chunk * (num - 1);
    if (last < 0 || (last == 0 && dim > 0))
      return op_invalid(cx, n, "axis %d of size %lld cannot be split into %lld "
                        "chunks of %lld", p->axis, (long long)dim,
                        (long long)num, (long long)chunk);
    for (int i = 0; i < p->n; i++)
      p->sizes[i] = i < p->n - 1 ? chunk : last;
    return O2L_OK;
  }
  if (dim % p->n)
    return op_invalid(cx, n, "axis %d of size %lld does not split evenly into "
                      "%d outputs", p->axis, (long long)dim, p->n);
  for (int i = 0; i < p->n; i++)
    p->sizes[i] = dim / p->n;
  return O2L_OK;
}

Status split_infer(Ctx *cx, Graph *g, Node *n) {
  SplitParams p;
  TRY(split_params(cx, g, n, &p));
  const Value *x = n->in[0];
  for (int i = 0; i < p.n; i++) {
    if (!n->out[i])
      continue;
    int64_t d[O2L_MAX_RANK];
    memcpy(d, x->dims, sizeof(int64_t) * (size_t)x->rank);
    d[p.axis] = p.sizes[i];
    op_set_out(n->out[i], x->dtype, x->rank, d);
  }
  return O2L_OK;
}

Status split_fold(Ctx *cx, Graph *g, Node *n) {
  SplitParams p;
  TRY(split_params(cx, g, n, &p));
  const Value *x = n->in[0];
  size_t es = dtype_size(x->dtype);
  int64_t outer = 1, inner = 1;
  for (int a = 0; a < p.axis; a++)
    outer *= x->dims[a];
  for (int a = p.axis + 1; a < x->rank; a++)
    inner *= x->dims[a];
  int64_t pos = 0;
  for (int i = 0; i < p.n; i++) {
    Value *y = n->out[i];
    if (y) {
      unsigned char *out = op_fold_alloc(cx, y);
      if (!out)
        return cx->status;
      size_t chunk = (size_t)(p.sizes[i] * inner) * es;
      for (int64_t o = 0; o < outer; o++)
        memcpy(out + (size_t)o * chunk,
               (const unsigned char *)x->data +
                   ((size_t)(o * x->dims[p.axis] + pos) * (size_t)inner) * es,
               chunk);
    }
    pos += p.sizes[i];
  }
  return O2L_OK;
}

/* ---- Tile --------------------------------------------------------------- */

Status tile_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  TRY(op_check_io(cx, n, 2, 2, 1));
  const Value *x = n->in[0];
  const int64_t *rep;
  int k;
  TRY(op_const_ints(cx, n, 1, "repeats", &rep, &k));
  if (k != x->rank)
    return op_invalid(cx, n, "repeats has %d entries but the input has rank "
                      "%d", k, x->rank);
  int64_t d[O2L_MAX_RANK];
  for (int i = 0; i < k; i++) {
    if (rep[i] < 0)
      return op_invalid(cx, n, "repeats[%d] = %lld is negative", i,
                        (long long)rep[i]);
    if (x->dims[i] && rep[i] > ((int64_t)1 << 62) / x->dims[i])
      return op_invalid(cx, n, "repeats[%d] is too large", i);
    d[i] = x->dims[i] * rep[i];
  }
  TRY(check_numel(cx, n, k, d));
  op_set_out(n->out[0], x->dtype, k, d);
  return O2L_OK;
}

Status tile_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  const Value *x = n->in[0];
  Value *y = n->out[0];
  if (fold_grows_too_much(y, x))
    return O2L_OK;
  unsigned char *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  size_t es = dtype_size(y->dtype);
  int64_t st[O2L_MAX_RANK], idx[O2L_MAX_RANK] = {0}, cnt = op_numel(y);
  row_major_strides(x->rank, x->dims, st);
  for (int64_t i = 0; i < cnt; i++) {
    int64_t off = 0;
    for (int a = 0; a < y->rank; a++)
      off += (idx[a] % x->dims[a]) * st[a];
    memcpy(out + (size_t)i * es, (const unsigned char *)x->data + (size_t)off * es,
           es);
    for (int a = y->rank - 1; a >= 0; a--) {
      if (++idx[a] < y->dims[a])
        break;
      idx[a] = 0;
    }
  }
  return O2L_OK;
}

/* ---- Transpose ---------------------------------------------------------- */

Status transpose_params(Ctx *cx, const Graph *g, const Node *n,
                        TransposeParams *p) {
  (void)g;
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 1, 1, 1));
  const Value *x = n->in[0];
  p->rank = x->rank;
  const int64_t *perm;
  int k;
  TRY(op_attr_ints(cx, n, "perm", &perm, &k));
  if (k >= 0 && k != x->rank)
    return op_invalid(cx, n, "perm has %d entries but the input has rank %d",
                      k, x->rank);
  bool seen[O2L_MAX_RANK] = {false};
  p->identity = true;
  for (int i = 0; i < p->rank; i++) {
    int64_t v = k >= 0 ? perm[i] : p->rank - 1 - i;
    if (v < 0 || v >= p->rank || seen[v])
      return op_invalid(cx, n, "perm is not a permutation of 0..%d",
                        p->rank - 1);
    seen[v] = true;
    p->perm[i] = (int)v;
    p->out[i] = x->dims[v];
    p->identity &= v == i;
  }
  return O2L_OK;
}

Status transpose_infer(Ctx *cx, Graph *g, Node *n) {
  TransposeParams p;
  TRY(transpose_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, p.rank, p.out);
  return O2L_OK;
}

Status transpose_fold(Ctx *cx, Graph *g, Node *n) {
  TransposeParams p;
  TRY(transpose_params(cx, g, n, &p));
  const Value *x = n->in[0];
  int64_t st[O2L_MAX_RANK], pst[O2L_MAX_RANK];
  row_major_strides(x->rank, x->dims, st);
  for (int i = 0; i < p.rank; i++)
    pst[i] = st[p.perm[i]];
  return fold_view(cx, n, pst, 0);
}

/* ---- DepthToSpace, SpaceToDepth ---------------------------------------- */

Status spacedepth_params(Ctx *cx, const Graph *g, const Node *n,
                         SpaceDepthParams *p) {
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 1, 1, 1));
  const Value *x = n->in[0];
  char buf[96];
  if (x->rank != 4)
    return op_invalid(cx, n, "input has shape %s; expected (N, C, H, W)",
                      value_shape_str(x, buf, sizeof buf));
  TRY(op_attr_int(cx, n, "blocksize", 0, &p->block));
  if (!node_attr(n, "blocksize"))
    return op_invalid(cx, n, "the blocksize attribute is required");
  if (p->block < 1)
    return op_invalid(cx, n, "blocksize must be >= 1, got %lld",
                      (long long)p->block);
  int64_t b = p->block, N = x->dims[0], C = x->dims[1], H = x->dims[2],
          W = x->dims[3];
  /* mode: DepthToSpace from opset 11, SpaceToDepth from 28 */
  const char *mode = "DCR";
  if (op_opset(g) >= (n->op == OP_DepthToSpace ? 11 : 28))
    TRY(op_attr_str(cx, n, "mode", "DCR", &mode));
  if (strcmp(mode, "DCR") && strcmp(mode, "CRD"))
    return op_invalid(cx, n, "mode must be \"DCR\" or \"CRD\", got \"%s\"",
                      mode);
  p->crd = strcmp(mode, "CRD") == 0;
  if (n->op == OP_DepthToSpace) {
    if (C % (b * b))
      return op_invalid(cx, n, "%lld channels are not divisible by "
                        "blocksize^2 = %lld", (long long)C, (long long)(b * b));
    int64_t o[4] = {N, C / (b * b), H * b, W * b};
    memcpy(p->out, o, sizeof o);
  } else {
    if (H % b || W % b)
      return op_invalid(cx, n, "spatial size %lldx%lld is not divisible by "
                        "blocksize %lld", (long long)H, (long long)W,
                        (long long)b);
    int64_t o[4] = {N, C * b * b, H / b, W / b};
    memcpy(p->out, o, sizeof o);
  }
  return O2L_OK;
}

Status spacedepth_infer(Ctx *cx, Graph *g, Node *n) {
  SpaceDepthParams p;
  TRY(spacedepth_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, 4, p.out);
  return O2L_OK;
}
