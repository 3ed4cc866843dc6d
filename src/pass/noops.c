/* noops.c - pass_remove_noops: operators that leave their data input
 * unchanged at inference are removed by letting their consumers read the
 * input directly.
 *
 * Removed: Identity and Dropout (F_NOOP; Dropout must not be in training
 * mode, and its mask, if read, becomes a constant all-true tensor), and
 * operators that are the identity with these parameters: Reshape /
 * Flatten / Squeeze / Unsqueeze / Expand / Tile to the same shape, Cast to
 * the same type, Transpose with the identity permutation, a Slice taking
 * everything, a Pad of zeros, a one-input Concat, a 1x1 stride-1 pool
 * (PyTorch's adaptive pool to the size it already has: VGG, AlexNet),
 * x + 0, x - 0, x * 1 and x / 1 that do not broadcast x.
 *
 * Graph output names survive: when the removed node writes a graph output,
 * its input's producer is made to write the output value directly, if the
 * input is an activation nothing else reads; otherwise the node stays (it
 * is lowered as a copy).  Constant outputs are left to pass_fold_constants.
 */
#include <string.h>

#include "ops/opattr.h"
#include "pass/pass.h"

static bool same_type_shape(const Node *n) {
  return n->in[0]->dtype == n->out[0]->dtype &&
         value_same_shape(n->in[0], n->out[0]);
}

/* A constant whose every element is v (the neutral operand of an
 * arithmetic operator). */
static bool all_equal(const Value *c, double v) {
  if (!c || !value_is_const(c) || !(dtype_is_float(c->dtype) || dtype_is_int(c->dtype)))
    return false;
  int64_t k = value_numel(c);
  for (int64_t i = 0; i < k; i++)
    if (load_as_f64(c->data, c->dtype, (size_t)i) != v)
      return false;
  return k > 0;
}

/* x + 0, x - 0, x * 1, x / 1 (MobileOne's `out = 0; out += branch(x)`).
 * A commutative operator with the neutral constant first gets its inputs
 * swapped, so input 0 is the data. */
static bool arith_identity(Node *n) {
  if (n->nin != 2 || !n->in[0] || !n->in[1])
    return false;
  double neutral = n->op == OP_Add || n->op == OP_Sub ? 0.0 : 1.0;
  bool commutes = n->op == OP_Add || n->op == OP_Mul;
  if (commutes && all_equal(n->in[0], neutral) && !value_is_const(n->in[1])) {
    Value *t = n->in[0];
    n->in[0] = n->in[1];
    n->in[1] = t;
  }
  return all_equal(n->in[1], neutral);
}

/* True if n (shapes inferred, parameters valid) copies input 0 unchanged. */
static Status is_noop(Ctx *cx, Graph *g, Node *n, bool *noop) {
  *noop = false;
  if (n->nin < 1 || !n->in[0] || n->nout < 1 || !n->out[0])
    return O2L_OK;
  if ((n->op == OP_Add || n->op == OP_Sub || n->op == OP_Mul ||
       n->op == OP_Div) && !arith_identity(n))
    return O2L_OK;
  const OpDef *d = op_def(n->op);
  if (d->flags & F_NOOP) {
    TRY(dropout_check(cx, g, n));
    *noop = true;
    return O2L_OK;
  }
  if (n->nout != 1 || !same_type_shape(n))
    return O2L_OK;
  switch (n->op) {
  case OP_Reshape: case OP_Flatten: case OP_Squeeze: case OP_Unsqueeze:
  case OP_Expand: case OP_Tile: case OP_Cast:
  case OP_Add: case OP_Sub: case OP_Mul: case OP_Div:
    *noop = true;
    break;
  case OP_Concat:
    *noop = op_nin(n) == 1;
    break;
  case OP_Transpose: {
    TransposeParams p;
    TRY(transpose_params(cx, g, n, &p));
    *noop = p.identity;
    break;
  }
  case OP_Slice: {
    SliceParams p;
    TRY(slice_params(cx, g, n, &p));
    *noop = true;
    for (int a = 0; a < p.rank; a++)
      if (p.out[a] > 1 && (p.step[a] != 1 || p.start[a] != 0))
        *noop = false;
    break;
  }
  case OP_AveragePool: case OP_MaxPool: {
    PoolParams p;
    TRY(pool_params(cx, g, n, &p));
    *noop = true; /* same shape with stride 1 also means no padding */
    for (int a = 0; a < p.nsp; a++)
      if (p.kernel[a] != 1 || p.stride[a] != 1)
        *noop = false;
    break;
  }
  case OP_Pad: {
    PadParams p;
    TRY(pad_params(cx, g, n, &p));
    *noop = true;
    for (int a = 0; a < p.rank; a++)
      if (p.begin[a] || p.end[a])
        *noop = false;
    break;
  }
  default:
    break;
  }
  return O2L_OK;
}

/* Dropout's mask at inference is all true: make it a constant so the node
 * can go.  False if it could not be (too large). */
static Status constant_mask(Ctx *cx, Node *n, bool *ok) {
  *ok = true;
  if (n->nout < 2 || !n->out[1])
    return O2L_OK;
  Value *m = n->out[1];
  if (value_is_const(m) || (m->nuses == 0 && !m->is_output))
    return O2L_OK;
  void *p = op_fold_alloc(cx, m);
  if (!p) {
    *ok = false;
    return cx->status;
  }
  int64_t cnt = op_numel(m);
  for (int64_t i = 0; i < cnt; i++)
    store_from_f64(p, m->dtype, (size_t)i, 1.0);
  return O2L_OK;
}

/* Removes n (a no-op from x to y); false if it has to stay. */
static bool bypass(Graph *g, Node *n) {
  Value *x = n->in[0], *y = n->out[0];
  if (!y->is_output) {
    int uses = y->nuses;
    graph_replace_uses(g, y, x);
    x->nuses += uses - 1;
    y->nuses = 0;
    n->dead = true;
    return true;
  }
  Node *p = x->producer;
  if (!p || p->dead || x->is_input || x->is_output || value_is_const(x) ||
      x->nuses != 1)
    return false;
  for (int k = 0; k < p->nout; k++)
    if (p->out[k] == x)
      p->out[k] = y;
  y->producer = p;
  x->producer = NULL;
  x->nuses = 0;
  n->dead = true;
  return true;
}

Status pass_remove_noops(Ctx *cx, Graph *g, PassStats *st) {
  graph_uses(g);
  int removed = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead || n->op < 0)
      continue;
    bool noop;
    TRY(is_noop(cx, g, n, &noop));
    if (!noop || value_is_const(n->out[0]))
      continue;
    bool mask_ok;
    TRY(constant_mask(cx, n, &mask_ok));
    if (mask_ok && bypass(g, n))
      removed++;
  }
  if (st)
    st->noops_removed += removed;
  if (removed)
    graph_compact(g);
  return O2L_OK;
}
