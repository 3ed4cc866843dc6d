/* lower_reduce.c - ReduceMean/Max/Min/Sum/Prod, ReduceL1/L2/SumSquare/
 * LogSumExp (decomposed around a SUM), ArgMax/ArgMin and TopK.
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
  case OP_ReduceSum: case OP_ReduceL1: case OP_ReduceL2:
  case OP_ReduceSumSquare: case OP_ReduceLogSumExp: return TFL_SUM;
  case OP_ReduceProd: return TFL_REDUCE_PROD;
  default: return TFL_MEAN;
  }
}

/* A reduction in the input's own order: the reduced physical axes and the
 * physical output shapes with and without the kept size-1 axes. */
typedef struct RedPlan {
  Value *t; /* the input, in its own axis order */
  int r, nax, orank;
  int32_t axes[O2L_MAX_RANK];
  int64_t kd[O2L_MAX_RANK]; /* output with keep_dims */
  int64_t od[O2L_MAX_RANK]; /* output as ONNX asks (keepdims or not) */
  int operm[O2L_MAX_RANK];  /* the output's perm */
} RedPlan;

static Status plan_reduce(Lower *lw, Value *x, const ReduceParams *p,
                          RedPlan *rp) {
  int perm[O2L_MAX_RANK];
  rp->t = lw_in_own_order(lw, x, perm, "the reduction needs its input in an "
                       "axis order");
  if (!rp->t)
    return lw->cx->status;
  int64_t pd[O2L_MAX_RANK];
  rp->r = p->rank;
  rp->nax = rp->orank = 0;
  perm_apply(rp->r, x->dims, perm, pd);
  for (int j = 0; j < rp->r; j++) {
    bool red = p->reduced[perm[j]];
    if (red)
      rp->axes[rp->nax++] = j;
    rp->kd[j] = red ? 1 : pd[j];
    if (p->keepdims || !red)
      rp->od[rp->orank++] = red ? 1 : pd[j];
  }
  if (p->keepdims)
    memcpy(rp->operm, perm, sizeof(int) * (size_t)rp->r);
  else
    perm_drop(rp->r, perm, p->reduced, rp->operm);
  return O2L_OK;
}

/* op over the plan's axes of t, keeping the reduced axes or not; the
 * output is the node's own tensor when sfx is NULL. */
static Value *emit_reduce(Lower *lw, TflOp op, Value *t, const RedPlan *rp,
                          bool keep, const char *sfx) {
  Value *ac = lw_const_i32(lw, "axes", rp->nax, rp->axes);
  Value *o = lw_tensor(lw, sfx, t->dtype, keep ? rp->r : rp->orank,
                       keep ? rp->kd : rp->od);
  Value *in[2] = {t, ac};
  Node *nd = t && ac && o ? lw_op(lw, op, 2, in, 1, &o) : NULL;
  if (!nd)
    return NULL;
  nd->opt.keep_dims = keep;
  return o;
}

/* Elementwise op of a (and b, broadcast to a's shape; NULL for unary
 * operators). */
static Value *emit_ew(Lower *lw, TflOp op, Value *a, Value *b,
                      const char *sfx) {
  bool unary = op == TFL_ABS || op == TFL_EXP || op == TFL_SQRT ||
               op == TFL_LOG || op == TFL_NEG;
  if (!a || (!unary && !b))
    return NULL;
  Value *o = lw_tensor(lw, sfx, a->dtype, a->rank, a->dims);
  Value *in[2] = {a, b};
  return o && lw_op(lw, op, unary ? 1 : 2, in, 1, &o) ? o : NULL;
}

/* ReduceL1 = SUM(ABS), ReduceSumSquare = SUM(x*x), ReduceL2 =
 * SQRT(SUM(x*x)), ReduceLogSumExp = LOG(SUM(EXP(x - max))) + max, the
 * maximum taken first so that EXP cannot overflow. */
static Value *reduce_composite(Lower *lw, Node *n, const ReduceParams *p,
                               const RedPlan *rp) {
  Value *t = rp->t;
  switch (n->op) {
  case OP_ReduceL1:
    return emit_reduce(lw, TFL_SUM, emit_ew(lw, TFL_ABS, t, NULL, "abs"), rp,
                       p->keepdims, NULL);
  case OP_ReduceSumSquare:
    return emit_reduce(lw, TFL_SUM, emit_ew(lw, TFL_MUL, t, t, "squared"), rp,
                       p->keepdims, NULL);
  case OP_ReduceL2: {
    Value *s = emit_reduce(lw, TFL_SUM, emit_ew(lw, TFL_MUL, t, t, "squared"),
                           rp, p->keepdims, "sum_squares");
    return emit_ew(lw, TFL_SQRT, s, NULL, NULL);
  }
  default: { /* ReduceLogSumExp */
    Value *m = emit_reduce(lw, TFL_REDUCE_MAX, t, rp, true, "max");
    Value *e = emit_ew(lw, TFL_EXP, emit_ew(lw, TFL_SUB, t, m, "shifted"), NULL,
                       "exp");
    Value *l = emit_ew(lw, TFL_LOG, emit_reduce(lw, TFL_SUM, e, rp, true, "sum"),
                       NULL, "log");
    /* With the reduced axes kept; without them the data is the same. */
    return emit_ew(lw, TFL_ADD, l, m, NULL);
  }
  }
}

static bool composite(int op) {
  return op == OP_ReduceL1 || op == OP_ReduceL2 || op == OP_ReduceSumSquare ||
         op == OP_ReduceLogSumExp;
}

Status reduce_lower(Lower *lw, Node *n) {
  ReduceParams p;
  TRY(reduce_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  /* Reducing only size-1 axes (or none) leaves every value as it is
   * (ReduceL1 & co. still transform each one). */
  bool trivial = true;
  for (int a = 0; a < p.rank; a++)
    trivial = trivial && (!p.reduced[a] || x->dims[a] == 1);
  if ((p.noop && n->op != OP_ReduceL1 && n->op != OP_ReduceL2 &&
       n->op != OP_ReduceSumSquare) ||
      (trivial && !composite(n->op))) {
    lw_alias(lw, y, x);
    return O2L_OK;
  }
  if (composite(n->op) && x->dtype != DT_F32)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "%s input: only float32 is "
                  "supported", dtype_name(x->dtype));
  if (p.noop) { /* no axis reduced, each value still transformed */
    Value *t = lw_in_asis(lw, x);
    Value *o = emit_ew(lw, n->op == OP_ReduceSumSquare ? TFL_MUL : TFL_ABS, t,
                       n->op == OP_ReduceSumSquare ? t : NULL, NULL);
    if (!o)
      return lw->cx->status;
    Layout L;
    if (value_is_const(x))
      layout_plain(&L);
    else
      L = *lw_layout(lw, x);
    lw_set_layout(lw, y, o, &L);
    return O2L_OK;
  }
  RedPlan rp;
  TRY(plan_reduce(lw, x, &p, &rp));
  Value *o = composite(n->op)
                 ? reduce_composite(lw, n, &p, &rp)
                 : emit_reduce(lw, reduce_op(n->op), rp.t, &rp, p.keepdims,
                               NULL);
  if (!o)
    return lw_failed(lw);
  lw_set_perm(lw, y, o, rp.operm);
  return O2L_OK;
}

Status argmax_lower(Lower *lw, Node *n) {
  ArgMaxParams p;
  TRY(argmax_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  bool amin = n->op == OP_ArgMin;
  if (p.select_last)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "select_last_index=1: TFLite's "
                  "%s returns the first %s", amin ? "ARG_MIN" : "ARG_MAX",
                  amin ? "minimum" : "maximum");
  int perm[O2L_MAX_RANK];
  Value *t = lw_in_own_order(lw, x, perm, amin ? "ArgMin needs its input in an "
                          "axis order" : "ArgMax needs its input in an axis "
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
  Node *op = ac && o ? lw_op(lw, amin ? TFL_ARG_MIN : TFL_ARG_MAX, 2, in, 1,
                             &o)
                     : NULL;
  if (!op)
    return lw->cx->status;
  op->opt.out_type = TFL_TYPE_INT64;
  lw_set_perm(lw, y, o, operm);
  return O2L_OK;
}

/* TOPK_V2 works along the last axis: x is used as stored when the TopK
 * axis is stored last (axis 1 of a channels-last map), otherwise one
 * TRANSPOSE moves only that axis last.  The smallest k are the largest
 * of -x; the int32 indices are CAST to ONNX's int64 when read. */
Status topk_lower(Lower *lw, Node *n) {
  TopKParams p;
  TRY(topk_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *vals = n->out[0];
  Value *idx = n->nout > 1 ? n->out[1] : NULL;
  if (x->dtype != DT_F32 && x->dtype != DT_I32 && x->dtype != DT_I64)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "%s input: TOPK_V2 takes float32, "
                  "int32 or int64 here", dtype_name(x->dtype));
  if (p.k < 1)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "k = 0 (empty outputs) is not "
                  "supported");
  int r = x->rank, P[O2L_MAX_RANK];
  bool have = lw_perm_of(lw, x, P);
  if (!have || P[r - 1] != p.axis) {
    /* the last ONNX axis: plain order, as a graph output wants it */
    if (!have || p.axis == r - 1)
      perm_identity(r, P);
    int k = 0;
    for (int i = 0; i < r; i++)
      if (P[i] != p.axis)
        P[k++] = P[i];
    P[r - 1] = p.axis;
  }
  Value *t = lw_in_perm(lw, x, P, 0, NULL, arena_printf(lw->cx->arena,
                        "TopK over axis %d needs that axis last", p.axis));
  if (t && !p.largest)
    t = emit_ew(lw, TFL_NEG, t, NULL, "negated");
  int64_t od[O2L_MAX_RANK];
  perm_apply(r, p.out, P, od);
  int32_t k32 = (int32_t)p.k;
  Value *kc = lw_const(lw, "k", DT_I32, 0, NULL, &k32);
  Value *vo = lw_tensor(lw, p.largest ? NULL : "top_negated", x->dtype, r, od);
  Value *io = lw_tensor(lw, "indices_i32", DT_I32, r, od);
  Value *in[2] = {t, kc}, *outs[2] = {vo, io};
  if (!t || !kc || !vo || !io || !lw_op(lw, TFL_TOPK_V2, 2, in, 2, outs))
    return lw_failed(lw);
  if (!p.largest && !(vo = emit_ew(lw, TFL_NEG, vo, NULL, NULL)))
    return lw->cx->status;
  lw_set_perm(lw, vals, vo, P);
  if (idx && (idx->nuses || idx->is_output)) {
    Value *c = graph_add_value(lw->cx, lw->dst, idx->name, DT_I64, r, od);
    if (!c || !lw_op(lw, TFL_CAST, 1, &io, 1, &c))
      return lw->cx->status;
    lw_set_perm(lw, idx, c, P);
  }
  return O2L_OK;
}
