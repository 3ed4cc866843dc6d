/* reduce.c - ReduceMax/Min/Mean/Prod/Sum/L1/L2/SumSquare/LogSumExp,
 * ArgMax/ArgMin and TopK: parameters, shape inference and constant
 * evaluation of the reductions.
 *
 * The axes moved from an attribute to an optional input at opset 18, except
 * ReduceSum, which moved at 13.  With no axes every axis is reduced, unless
 * noop_with_empty_axes is set: then the operator is the identity.
 */
#include <math.h>
#include <string.h>

#include "ops/opattr.h"

Status reduce_params(Ctx *cx, const Graph *g, const Node *n, ReduceParams *p) {
  memset(p, 0, sizeof *p);
  int opset = op_opset(g);
  bool axes_input = opset >= (n->op == OP_ReduceSum ? 13 : 18);
  const int64_t *v;
  int k;
  if (axes_input) {
    TRY(op_check_io(cx, n, 1, 2, 1));
    TRY(op_const_ints(cx, n, 1, "axes", &v, &k));
  } else {
    TRY(op_check_io(cx, n, 1, 1, 1));
    TRY(op_attr_ints(cx, n, "axes", &v, &k));
  }
  const Value *x = n->in[0];
  if (!dtype_is_float(x->dtype) && !dtype_is_int(x->dtype))
    return op_invalid(cx, n, "input must be numeric, got %s",
                      dtype_name(x->dtype));
  int64_t keep, noop;
  TRY(op_attr_int(cx, n, "keepdims", 1, &keep));
  TRY(op_attr_int(cx, n, "noop_with_empty_axes", 0, &noop));
  p->keepdims = keep != 0;
  p->rank = x->rank;
  if (k <= 0 && noop && axes_input) {
    p->noop = true;
    p->out_rank = x->rank;
    memcpy(p->out, x->dims, sizeof(int64_t) * (size_t)x->rank);
    return O2L_OK;
  }
  if (k > O2L_MAX_RANK)
    return op_invalid(cx, n, "axes has %d entries", k);
  TRY(op_axes(cx, n, v, k, x->rank, NULL, p->reduced));
  if (k <= 0)
    for (int a = 0; a < x->rank; a++)
      p->reduced[a] = true;
  for (int a = 0; a < x->rank; a++) {
    if (p->reduced[a])
      p->axes[p->naxes++] = a;
    if (!p->reduced[a])
      p->out[p->out_rank++] = x->dims[a];
    else if (p->keepdims)
      p->out[p->out_rank++] = 1;
  }
  return O2L_OK;
}

Status reduce_infer(Ctx *cx, Graph *g, Node *n) {
  ReduceParams p;
  TRY(reduce_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, p.out_rank, p.out);
  return O2L_OK;
}

static double f_init(int op) {
  switch (op) {
  case OP_ReduceMax: return -INFINITY;
  case OP_ReduceMin: return INFINITY;
  case OP_ReduceProd: return 1;
  default: return 0;
  }
}

static double f_acc(int op, double acc, double v) {
  switch (op) {
  case OP_ReduceMax: return v > acc || v != v ? v : acc;
  case OP_ReduceMin: return v < acc || v != v ? v : acc;
  case OP_ReduceProd: return acc * v;
  case OP_ReduceL1: return acc + fabs(v);
  case OP_ReduceL2: case OP_ReduceSumSquare: return acc + v * v;
  case OP_ReduceLogSumExp: return acc + exp(v);
  default: return acc + v;
  }
}

/* What the accumulated value becomes (ReduceL2, ReduceLogSumExp). */
static double f_final(int op, double acc) {
  switch (op) {
  case OP_ReduceL2: return sqrt(acc);
  case OP_ReduceLogSumExp: return log(acc);
  default: return acc;
  }
}

static int64_t i_acc(int op, int64_t acc, int64_t v) {
  uint64_t ua = (uint64_t)acc, uv = (uint64_t)v;
  switch (op) {
  case OP_ReduceMax: return v > acc ? v : acc;
  case OP_ReduceMin: return v < acc ? v : acc;
  case OP_ReduceProd: return (int64_t)(ua * uv);
  case OP_ReduceL1: return (int64_t)(ua + (v < 0 ? 0 - uv : uv));
  case OP_ReduceSumSquare: return (int64_t)(ua + uv * uv);
  default: return (int64_t)(ua + uv);
  }
}

/* Any element type, element by element (doubles in fa for floats, int64
 * in ia otherwise). */
static void accumulate(int op, const Value *x, const bool *reduced,
                       double *fa, int64_t *ia) {
  /* output strides over the input's axes, 0 on reduced ones */
  int64_t ost[O2L_MAX_RANK], s = 1, idx[O2L_MAX_RANK] = {0}, off = 0;
  for (int a = x->rank - 1; a >= 0; a--) {
    ost[a] = reduced[a] ? 0 : s;
    if (!reduced[a])
      s *= x->dims[a];
  }
  int64_t nx = op_numel(x);
  for (int64_t i = 0; i < nx; i++) {
    if (fa)
      fa[off] = f_acc(op, fa[off], load_as_f64(x->data, x->dtype, (size_t)i));
    else
      ia[off] = i_acc(op, ia[off], load_as_i64(x->data, x->dtype, (size_t)i));
    for (int a = x->rank - 1; a >= 0; a--) {
      off += ost[a];
      if (++idx[a] < x->dims[a])
        break;
      off -= ost[a] * x->dims[a];
      idx[a] = 0;
    }
  }
}

/* float32 input: the same double accumulators, filled row by row.  Axes
 * of size 1 are dropped and neighbours that are both reduced or both kept
 * merged; the innermost run is then either kept (each input row adds into
 * a row of accumulators) or reduced (one accumulator takes a whole row).
 * Every accumulator still sees its inputs in row-major order, so the
 * results are those of the element-by-element loop. */
static void f32_accumulate(int op, const Value *x, const bool *reduced,
                           double *fa) {
  int r = 0;
  int64_t d[O2L_MAX_RANK], ost[O2L_MAX_RANK];
  bool red[O2L_MAX_RANK];
  for (int a = 0; a < x->rank; a++) {
    if (x->dims[a] == 1)
      continue;
    if (r > 0 && red[r - 1] == reduced[a]) {
      d[r - 1] *= x->dims[a];
      continue;
    }
    d[r] = x->dims[a], red[r] = reduced[a];
    r++;
  }
  if (r == 0) {
    d[0] = 1, red[0] = true;
    r = 1;
  }
  int64_t s = 1;
  for (int a = r - 1; a >= 0; a--) { /* accumulator strides */
    ost[a] = red[a] ? 0 : s;
    if (!red[a])
      s *= d[a];
  }
  const unsigned char *p = x->data;
  int64_t inner = d[r - 1], total = op_numel(x), idx[O2L_MAX_RANK] = {0};
  int64_t off = 0;
  for (int64_t base = 0; base < total; base += inner) {
    const unsigned char *row = p + 4 * base;
    if (!red[r - 1]) { /* a row of accumulators */
      double *acc = fa + off;
      if (op == OP_ReduceSum || op == OP_ReduceMean)
        for (int64_t j = 0; j < inner; j++) {
          float v;
          memcpy(&v, row + 4 * j, 4);
          acc[j] += v;
        }
      else
        for (int64_t j = 0; j < inner; j++) {
          float v;
          memcpy(&v, row + 4 * j, 4);
          acc[j] = f_acc(op, acc[j], v);
        }
    } else { /* one accumulator */
      double acc = fa[off];
      if (op == OP_ReduceSum || op == OP_ReduceMean)
        for (int64_t j = 0; j < inner; j++) {
          float v;
          memcpy(&v, row + 4 * j, 4);
          acc += v;
        }
      else
        for (int64_t j = 0; j < inner; j++) {
          float v;
          memcpy(&v, row + 4 * j, 4);
          acc = f_acc(op, acc, v);
        }
      fa[off] = acc;
    }
    for (int a = r - 2; a >= 0; a--) {
      off += ost[a];
      if (++idx[a] < d[a])
        break;
      off -= ost[a] * d[a];
      idx[a] = 0;
    }
  }
}

Status reduce_fold(Ctx *cx, Graph *g, Node *n) {
  ReduceParams p;
  TRY(reduce_params(cx, g, n, &p));
  const Value *x = n->in[0];
  Value *y = n->out[0];
  bool flt_only = n->op == OP_ReduceL2 || n->op == OP_ReduceLogSumExp;
  if (flt_only && !dtype_is_float(x->dtype))
    return O2L_OK; /* integer square roots and logs: left to the runtime */
  /* With noop_with_empty_axes, ReduceL1 & co. still transform each value
   * (|x|, x*x...): they run as a reduction over no axis. */
  if (p.noop && !flt_only && n->op != OP_ReduceL1 &&
      n->op != OP_ReduceSumSquare) {
    op_fold_share(y, x);
    return O2L_OK;
  }
  void *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  int64_t ny = op_numel(y), nx = op_numel(x);
  bool flt = dtype_is_float(x->dtype);
  ArenaMark mark = arena_mark(cx->arena);
  double *fa = flt ? arena_alloc(cx->arena, sizeof(double) * (size_t)(ny + 1), 8) : NULL;
  int64_t *ia = flt ? NULL : arena_alloc(cx->arena, sizeof(int64_t) * (size_t)(ny + 1), 8);
  if (!fa && !ia)
    return ctx_oom(cx, "evaluating a reduction");
  int64_t imax = INT64_MAX, imin = INT64_MIN;
  for (int64_t i = 0; i < ny; i++) {
    if (flt)
      fa[i] = f_init(n->op);
    else
      ia[i] = n->op == OP_ReduceMax ? imin
              : n->op == OP_ReduceMin ? imax
              : n->op == OP_ReduceProd ? 1 : 0;
  }
  if (x->dtype == DT_F32)
    f32_accumulate(n->op, x, p.reduced, fa);
  else
    accumulate(n->op, x, p.reduced, fa, ia);
  int64_t count = ny ? nx / ny : 0;
  for (int64_t i = 0; i < ny; i++) {
    if (flt) {
      double v = f_final(n->op, fa[i]);
      if (n->op == OP_ReduceMean)
        v = count ? v / (double)count : NAN;
      store_from_f64(out, y->dtype, (size_t)i, v);
    } else {
      int64_t v = ia[i];
      if (n->op == OP_ReduceMean)
        v = count ? v / count : 0;
      op_store_i64(out, y->dtype, (size_t)i, v);
    }
  }
  arena_reset(cx->arena, mark);
  return O2L_OK;
}

Status argmax_params(Ctx *cx, const Graph *g, const Node *n, ArgMaxParams *p) {
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 1, 1, 1));
  const Value *x = n->in[0];
  if (x->rank < 1)
    return op_invalid(cx, n, "input must have rank >= 1, got a scalar");
  if (!dtype_is_float(x->dtype) && !dtype_is_int(x->dtype))
    return op_invalid(cx, n, "input must be numeric, got %s",
                      dtype_name(x->dtype));
  int64_t axis, keep, last = 0;
  TRY(op_attr_int(cx, n, "axis", 0, &axis));
  TRY(op_attr_int(cx, n, "keepdims", 1, &keep));
  if (op_opset(g) >= 12)
    TRY(op_attr_int(cx, n, "select_last_index", 0, &last));
  TRY(op_axis(cx, n, "axis", axis, x->rank, &p->axis));
  p->keepdims = keep != 0;
  p->select_last = last != 0;
  for (int a = 0; a < x->rank; a++) {
    if (a != p->axis)
      p->out[p->out_rank++] = x->dims[a];
    else if (p->keepdims)
      p->out[p->out_rank++] = 1;
  }
  return O2L_OK;
}

Status argmax_infer(Ctx *cx, Graph *g, Node *n) {
  ArgMaxParams p;
  TRY(argmax_params(cx, g, n, &p));
  op_set_out(n->out[0], DT_I64, p.out_rank, p.out);
  return O2L_OK;
}

Status topk_params(Ctx *cx, const Graph *g, const Node *n, TopKParams *p) {
  memset(p, 0, sizeof *p);
  int opset = op_opset(g);
  const Value *x = n->in[0];
  TRY(op_check_io(cx, n, opset >= 10 ? 2 : 1, opset >= 10 ? 2 : 1, 2));
  if (x->rank < 1)
    return op_invalid(cx, n, "input must have rank >= 1, got a scalar");
  if (!dtype_is_float(x->dtype) && !dtype_is_int(x->dtype))
    return op_invalid(cx, n, "input must be numeric, got %s",
                      dtype_name(x->dtype));
  if (opset >= 10) {
    const int64_t *kv;
    int kn;
    TRY(op_const_ints(cx, n, 1, "K", &kv, &kn));
    if (kn != 1)
      return op_invalid(cx, n, "K must hold one value, got %d", kn);
    p->k = kv[0];
  } else {
    TRY(op_attr_int(cx, n, "k", -1, &p->k));
    if (!node_attr(n, "k"))
      return op_invalid(cx, n, "the k attribute is required");
  }
  int64_t axis, largest = 1, sorted = 1;
  TRY(op_attr_int(cx, n, "axis", -1, &axis));
  if (opset >= 11) {
    TRY(op_attr_int(cx, n, "largest", 1, &largest));
    TRY(op_attr_int(cx, n, "sorted", 1, &sorted));
  }
  TRY(op_axis(cx, n, "axis", axis, x->rank, &p->axis));
  p->largest = largest != 0;
  p->sorted = sorted != 0;
  if (p->k < 0 || p->k > x->dims[p->axis])
    return op_invalid(cx, n, "k = %lld is outside [0, %lld], the size of "
                      "axis %d", (long long)p->k,
                      (long long)x->dims[p->axis], p->axis);
  p->out_rank = x->rank;
  memcpy(p->out, x->dims, sizeof(int64_t) * (size_t)x->rank);
  p->out[p->axis] = p->k;
  return O2L_OK;
}

Status topk_infer(Ctx *cx, Graph *g, Node *n) {
  TopKParams p;
  TRY(topk_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, p.out_rank, p.out);
  if (n->nout > 1 && n->out[1])
    op_set_out(n->out[1], DT_I64, p.out_rank, p.out);
  return O2L_OK;
}
