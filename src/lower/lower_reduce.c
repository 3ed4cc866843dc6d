/* lower_reduce.c - ReduceMean/Max/Min/Sum/Prod and ArgMax.
 *
 * Reductions take their input in the axis order it already has and name
 * the reduced axes by their physical positions, so a reduction over the
 * spatial axes of a channels-last map is a MEAN over axes 1 and 2 with no
 * TRANSPOSE.  The result keeps the input's order: the same perm with
 * keepdims, or the perm with the reduced axes removed.  ArgMax with
 * keepdims is ARG_MAX alone: its result differs from the kept-dims one only
 * by a size-1 axis, which changes no data order, so no RESHAPE is needed
 * until a consumer asks for that shape.
 */
#include <string.h>

#include "lower/lower.h"
#include "ops/opattr.h"

static Value *in_own_order(Lower *lw, Value *v, int *perm, const char *why) {
  int fallback[O2L_MAX_RANK];
  perm_channels_last(v->rank, fallback);
  return lw_in_any(lw, v, fallback, perm, why);
}

/* perm without the axes in `drop`, renumbered over the kept axes. */
static int perm_drop(int rank, const int *perm, const bool *drop, int *out) {
  int newid[O2L_MAX_RANK], k = 0;
  for (int a = 0; a < rank; a++)
    newid[a] = drop[a] ? -1 : k++;
  int m = 0;
  for (int j = 0; j < rank; j++)
    if (!drop[perm[j]])
      out[m++] = newid[perm[j]];
  return m;
}

static TflOp reduce_op(int onnx_op) {
  switch (onnx_op) {
  case OP_ReduceMax: return TFL_REDUCE_MAX;
  case OP_ReduceMin: return TFL_REDUCE_MIN;
  case OP_ReduceSum: return TFL_SUM;
  case OP_ReduceProd: return TFL_REDUCE_PROD;
  default: return TFL_MEAN;
  }
}

Status reduce_lower(Lower *lw, Node *n) {
  ReduceParams p;
  TRY(reduce_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  /* Reducing only size-1 axes (or none) leaves every value as it is. */
  bool trivial = true;
  for (int a = 0; a < p.rank; a++)
    trivial = trivial && (!p.reduced[a] || x->dims[a] == 1);
  if (p.noop || trivial) {
    lw_alias(lw, y, x);
    return O2L_OK;
  }
  int perm[O2L_MAX_RANK];
  Value *t = in_own_order(lw, x, perm, "the reduction needs its input in an "
                          "axis order");
  if (!t)
    return lw->cx->status;
  int r = p.rank, nax = 0;
  int32_t axes[O2L_MAX_RANK];
  int64_t pd[O2L_MAX_RANK], od[O2L_MAX_RANK];
  int operm[O2L_MAX_RANK], orank = 0;
  perm_apply(r, x->dims, perm, pd);
  for (int j = 0; j < r; j++) {
    if (p.reduced[perm[j]])
      axes[nax++] = j;
    if (p.keepdims)
      od[orank++] = p.reduced[perm[j]] ? 1 : pd[j];
    else if (!p.reduced[perm[j]])
      od[orank++] = pd[j];
  }
  if (p.keepdims)
    memcpy(operm, perm, sizeof(int) * (size_t)r);
  else
    perm_drop(r, perm, p.reduced, operm);
  Value *ac = lw_const_i32(lw, "axes", nax, axes);
  Value *o = lw_tensor(lw, NULL, t->dtype, orank, od);
  Value *in[2] = {t, ac};
  Node *op = ac && o ? lw_op(lw, reduce_op(n->op), 2, in, 1, &o) : NULL;
  if (!op)
    return lw->cx->status;
  op->opt.keep_dims = p.keepdims;
  lw_set_perm(lw, y, o, operm);
  return O2L_OK;
}

Status argmax_lower(Lower *lw, Node *n) {
  ArgMaxParams p;
  TRY(argmax_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  if (p.select_last)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "select_last_index=1: TFLite's "
                  "ARG_MAX returns the first maximum");
  int perm[O2L_MAX_RANK];
  Value *t = in_own_order(lw, x, perm, "ArgMax needs its input in an axis "
                          "order");
  if (!t)
    return lw->cx->status;
  int r = x->rank, ax = 0, k = 0;
  int64_t od[O2L_MAX_RANK];
  for (int j = 0; j < r; j++) {
    if (perm[j] == p.axis)
      ax = j;
    else
      od[k++] = x->dims[perm[j]];
  }
  /* With keepdims the output has a size-1 axis where the reduced one was:
   * the same perm describes it; without, the perm minus that axis. */
  bool drop[O2L_MAX_RANK] = {false};
  drop[p.axis] = true;
  int operm[O2L_MAX_RANK];
  if (p.keepdims)
    memcpy(operm, perm, sizeof(int) * (size_t)r);
  else
    perm_drop(r, perm, drop, operm);
  int32_t a32 = ax;
  Value *ac = lw_const(lw, "axis", DT_I32, 0, NULL, &a32);
  Value *o = lw_tensor(lw, NULL, DT_I64, k, od);
  Value *in[2] = {t, ac};
  Node *op = ac && o ? lw_op(lw, TFL_ARG_MAX, 2, in, 1, &o) : NULL;
  if (!op)
    return lw->cx->status;
  op->opt.out_type = TFL_TYPE_INT64;
  lw_set_perm(lw, y, o, operm);
  return O2L_OK;
}
