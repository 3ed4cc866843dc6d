/* cumsum.c - CumSum: parameters, shape inference, constant evaluation and
 * lowering to TFLite CUMSUM.
 *
 * Real CNNs meet CumSum in positional encodings computed from a mask of
 * ones (EdgeNeXt's PositionalEncodingFourier: ones(B,H,W).cumsum(1)); with
 * static shapes that is a constant, so folding is what matters.  A
 * run-time CumSum becomes CUMSUM on its input in whatever axis order it is
 * stored, with the axis renumbered: no TRANSPOSE.
 */
#include <string.h>

#include "lower/lower.h"
#include "ops/opattr.h"

typedef struct CumSumParams {
  int axis;
  bool exclusive, reverse;
} CumSumParams;

static Status cumsum_params(Ctx *cx, const Node *n, CumSumParams *p) {
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 2, 2, 1));
  const Value *x = n->in[0];
  if (!dtype_is_float(x->dtype) && x->dtype != DT_I32 && x->dtype != DT_I64)
    return op_unsup(cx, n, "input type %s: float, int32 and int64 are "
                    "supported", dtype_name(x->dtype));
  if (x->rank < 1)
    return op_invalid(cx, n, "input must have rank >= 1, got a scalar");
  double a;
  TRY(op_const_scalar(cx, n, 1, "axis", &a));
  TRY(op_axis(cx, n, "axis", (int64_t)a, x->rank, &p->axis));
  int64_t e, r;
  TRY(op_attr_int(cx, n, "exclusive", 0, &e));
  TRY(op_attr_int(cx, n, "reverse", 0, &r));
  p->exclusive = e != 0;
  p->reverse = r != 0;
  return O2L_OK;
}

Status cumsum_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  CumSumParams p;
  TRY(cumsum_params(cx, n, &p));
  op_set_out_like(n->out[0], n->in[0]);
  return O2L_OK;
}

Status cumsum_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  CumSumParams p;
  TRY(cumsum_params(cx, n, &p));
  const Value *x = n->in[0];
  Value *y = n->out[0];
  void *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  int64_t len = x->dims[p.axis], inner = 1, outer = 1;
  for (int i = p.axis + 1; i < x->rank; i++)
    inner *= x->dims[i];
  for (int i = 0; i < p.axis; i++)
    outer *= x->dims[i];
  bool flt = dtype_is_float(x->dtype);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      double fs = 0;
      int64_t is = 0;
      for (int64_t k = 0; k < len; k++) {
        int64_t j = p.reverse ? len - 1 - k : k;
        size_t idx = (size_t)((o * len + j) * inner + in);
        double fv = flt ? load_as_f64(x->data, x->dtype, idx) : 0;
        int64_t iv = flt ? 0 : load_as_i64(x->data, x->dtype, idx);
        if (!p.exclusive)
          fs += fv, is += iv;
        if (flt)
          store_from_f64(out, y->dtype, idx, fs);
        else
          op_store_i64(out, y->dtype, idx, is);
        if (p.exclusive)
          fs += fv, is += iv;
      }
    }
  return O2L_OK;
}

Status cumsum_lower(Lower *lw, Node *n) {
  CumSumParams p;
  TRY(cumsum_params(lw->cx, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  if (x->dtype != DT_F32 && x->dtype != DT_I32 && x->dtype != DT_I64)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "CUMSUM of %s: float32, int32 "
                  "and int64 only", dtype_name(x->dtype));
  int perm[O2L_MAX_RANK], fallback[O2L_MAX_RANK];
  perm_identity(x->rank, fallback);
  Value *t = lw_in_any(lw, x, fallback, perm, "CumSum reads its input in "
                       "an axis order");
  if (!t)
    return lw->cx->status;
  int32_t ax = 0;
  while (perm[ax] != p.axis)
    ax++;
  int64_t pd[O2L_MAX_RANK];
  perm_apply(x->rank, x->dims, perm, pd);
  t = lw_reshape(lw, t, x->rank, pd, NULL);
  Value *axis = lw_const(lw, "axis", DT_I32, 0, NULL, &ax); /* scalar */
  Value *out = lw_tensor(lw, NULL, x->dtype, x->rank, pd);
  Value *ins[2] = {t, axis};
  Node *op = t && axis && out ? lw_op(lw, TFL_CUMSUM, 2, ins, 1, &out) : NULL;
  if (!op)
    return lw->cx->status;
  op->opt.exclusive = p.exclusive;
  op->opt.reverse = p.reverse;
  lw_set_perm(lw, y, out, perm);
  return O2L_OK;
}
