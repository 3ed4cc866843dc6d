/* shape.c - pass_infer_shapes: the static shape and element type of every
 * value, from the graph inputs and constants forward, by each operator's
 * infer function (ops.def).
 *
 * Needs: nodes in topological order (convert.c sorts first), graph inputs
 * with fully static shapes.  Keeps: after the pass every value a live node
 * reads or writes has rank >= 0 and a dtype.
 *
 * Shapes computed at run time in the model (Shape -> Gather -> Concat ->
 * Reshape, Shape -> Slice -> Resize sizes) become static here: a node whose
 * inputs are all constant (or, for Shape/Size, whose input shape is known)
 * is evaluated as soon as its shape is inferred, so the infer functions
 * downstream see constants.  pass_fold_constants removes the evaluated
 * nodes afterwards.
 */
#include <stdio.h>
#include <string.h>

#include "ops/opattr.h"
#include "pass/pass.h"

static Status check_input(Ctx *cx, const Node *n, int i) {
  const Value *v = n->in[i];
  char buf[128];
  if (v->rank < 0 || v->dtype == DT_UNDEF) {
    if (v->is_input)
      return ctx_err(cx, O2L_ERR_INVALID, "graph input '%s' has no static "
                     "shape; give it with --input-shape", v->name);
    return ctx_err(cx, O2L_ERR_INVALID, "%s '%s': input %d ('%s') has no "
                   "known shape: it is not a graph input, an initializer or "
                   "the output of an earlier node", op_name(n), n->name, i,
                   v->name);
  }
  if (value_is_const(v)) {
    int64_t k = value_numel(v);
    if (k < 0 || dtype_size(v->dtype) == 0 ||
        (size_t)k * dtype_size(v->dtype) > v->nbytes)
      return ctx_err(cx, O2L_ERR_INVALID, "constant '%s' (%s, shape %s) holds "
                     "%zu bytes, fewer than its shape needs", v->name,
                     dtype_name(v->dtype), value_shape_str(v, buf, sizeof buf),
                     v->nbytes);
  }
  return O2L_OK;
}

/* Every input is there to be read now: constant, or only its shape is
 * needed. */
static bool foldable(const Node *n) {
  const OpDef *d = op_def(n->op);
  if (d->fold == fold_none)
    return false;
  if (d->flags & F_SHAPE_ONLY)
    return true;
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] && !value_is_const(n->in[i]))
      return false;
  return true;
}

Status pass_fold_node(Ctx *cx, Graph *g, Node *n) {
  if (!foldable(n))
    return O2L_OK;
  bool all = true;
  for (int j = 0; j < n->nout; j++)
    if (n->out[j] && !value_is_const(n->out[j]))
      all = false;
  if (all)
    return O2L_OK;
  return op_def(n->op)->fold(cx, g, n);
}

bool pass_node_folded(const Node *n) {
  bool any = false;
  for (int j = 0; j < n->nout; j++) {
    if (!n->out[j])
      continue;
    if (!value_is_const(n->out[j]))
      return false;
    any = true;
  }
  return any;
}

static Status infer_node(Ctx *cx, Graph *g, Node *n) {
  for (int i = 0; i < n->nin; i++)
    if (n->in[i])
      TRY(check_input(cx, n, i));
  TRY(op_def(n->op)->infer(cx, g, n));
  for (int j = 0; j < n->nout; j++) {
    const Value *v = n->out[j];
    if (v && (v->rank < 0 || v->dtype == DT_UNDEF))
      return ctx_err(cx, O2L_ERR_INTERNAL, "%s '%s': shape inference left "
                     "output %d ('%s') without a shape", op_name(n), n->name,
                     j, v->name);
  }
  return pass_fold_node(cx, g, n);
}

/* ---- recycling folded temporaries ---------------------------------------- */

/* Weight standardization (timm's StdConv2d / ScaledStdConv2d) folds
 * several weight-sized temporaries per convolution (w - mean, its square).
 * Once every reader of a folded value has been evaluated, and no other
 * value shares its bytes, its memory goes back to the arena, so the next
 * temporary reuses pages already resident instead of faulting in new ones
 * (resnetv2_50x1_bit: ~200 MB fewer).  done[id] counts the reads of value
 * id by evaluated nodes. */
enum { RECYCLE_MIN_BYTES = 1 << 18 };

/* Nothing will read v's bytes again: a folded result (not an
 * initializer or a Constant node's tensor, which belong to the model),
 * not a graph output, every reader evaluated. */
static bool finished(const Value *v, const int *done, int nv) {
  return v->id < nv && v->producer && v->producer->op != OP_Constant &&
         !v->is_output && done[v->id] == v->nuses;
}

static void recycle_inputs(Ctx *cx, Graph *g, const Node *n, int *done,
                           int nv) {
  if (!pass_node_folded(n))
    return;
  for (int j = 0; j < n->nin; j++)
    if (n->in[j] && n->in[j]->id < nv)
      done[n->in[j]->id]++;
  for (int j = 0; j < n->nin; j++) {
    Value *u = n->in[j];
    if (!u || !u->data || u->nbytes < RECYCLE_MIN_BYTES ||
        !finished(u, done, nv))
      continue;
    /* Every value viewing these bytes (a folded Reshape shares them; a
     * recycled value's bytes may hold u now) must be finished too. */
    const unsigned char *b = u->data, *e = b + u->nbytes;
    bool free = true;
    for (int i = 0; i < g->nvalues && free; i++) {
      const Value *w = g->values[i];
      const unsigned char *d = w->data;
      if (d && d >= b && d < e && !finished(w, done, nv))
        free = false;
    }
    if (free)
      arena_recycle(cx->arena, u->data, u->nbytes);
  }
}

/* The model may declare its outputs' types; a difference means we
 * misread the model (or it is inconsistent): better said now. */
static Status check_outputs(Ctx *cx, Graph *g, const DType *declared) {
  for (int i = 0; i < g->noutputs; i++) {
    const Value *v = g->outputs[i];
    if (v->rank < 0 || v->dtype == DT_UNDEF)
      return ctx_err(cx, O2L_ERR_INVALID, "graph output '%s' is not computed "
                     "by any node", v->name);
    if (declared[i] != DT_UNDEF && declared[i] != v->dtype)
      return ctx_err(cx, O2L_ERR_INVALID, "graph output '%s' is declared %s "
                     "but computes %s", v->name, dtype_name(declared[i]),
                     dtype_name(v->dtype));
  }
  return O2L_OK;
}

Status pass_infer_shapes(Ctx *cx, Graph *g) {
  for (int i = 0; i < g->ninputs; i++) {
    const Value *v = g->inputs[i];
    if (v->rank < 0 || v->dtype == DT_UNDEF)
      return ctx_err(cx, O2L_ERR_INVALID, "graph input '%s' has no static "
                     "shape; give it with --input-shape", v->name);
    for (int d = 0; d < v->rank; d++)
      if (v->dims[d] < 0)
        return ctx_err(cx, O2L_ERR_INVALID, "graph input '%s' has an unknown "
                       "dimension %d; give its shape with --input-shape",
                       v->name, d);
  }
  DType *declared = xrealloc(NULL, sizeof(DType) * (size_t)(g->noutputs + 1));
  if (!declared)
    return ctx_oom(cx, "inferring shapes");
  for (int i = 0; i < g->noutputs; i++)
    declared[i] = value_is_const(g->outputs[i]) ? DT_UNDEF
                                                : g->outputs[i]->dtype;
  /* Without the counters (out of memory) nothing is recycled. */
  int nv = g->nvalues, *done = xrealloc(NULL, sizeof(int) * (size_t)(nv + 1));
  if (done)
    memset(done, 0, sizeof(int) * (size_t)(nv + 1));
  graph_uses(g);
  Status st = O2L_OK;
  for (int i = 0; i < g->nnodes && st == O2L_OK; i++) {
    Node *n = g->nodes[i];
    if (n->dead)
      continue;
    if (n->op < 0 || n->op >= OP_COUNT)
      st = ctx_err(cx, O2L_ERR_UNSUPPORTED, "%s '%s' is not supported",
                   n->op_type, n->name);
    else
      st = infer_node(cx, g, n);
    if (st == O2L_OK && done)
      recycle_inputs(cx, g, n, done, nv);
    if ((i & 63) == 0)
      ctx_progress(cx, "inferring shapes", 0.1 + 0.1 * i / g->nnodes);
  }
  if (st == O2L_OK)
    st = check_outputs(cx, g, declared);
  xfree(declared);
  xfree(done);
  return st;
}
