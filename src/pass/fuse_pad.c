/* fuse_pad.c - constant zero Pad nodes merged into the padding of the
 * Conv or AveragePool (count_include_pad=1) that reads them, and all-zero
 * Pads (PyTorch exports them before some pools) dropped.
 *
 * Merging matters beyond saving an operator: Pad(1) + Conv(k3, pads 0)
 * becomes Conv(k3, pads 1), which the lowering can then express as TFLite
 * SAME padding with no PAD operator at all.  Only zero padding of the
 * spatial axes is merged; a Pad that also pads N or C, pads with another
 * value, reflects, or crops (negative pads) stays.
 */
#include <string.h>

#include "ops/ops.h"
#include "pass/pass.h"

/* The pads of a constant-mode, zero-valued Pad as [begin..., end...] over
 * all axes of its input; false when the Pad is anything else. */
static bool zero_pad_amounts(Node *pad, int64_t *pads) {
  Value *x = pad->in[0];
  int r = x ? x->rank : -1;
  if (r < 1)
    return false;
  const char *mode = node_attr_str(pad, "mode", "constant");
  if (strcmp(mode, "constant") != 0)
    return false;
  int count = 0;
  const int64_t *attr = node_attr_ints(pad, "pads", &count);
  if (attr) { /* opset < 11 */
    if (count != 2 * r || node_attr_float(pad, "value", 0.0f) != 0.0f)
      return false;
    memcpy(pads, attr, sizeof(int64_t) * (size_t)(2 * r));
    return true;
  }
  Value *pv = pad->nin > 1 ? pad->in[1] : NULL;
  if (!pv || !value_is_const(pv) || value_numel(pv) != 2 * r ||
      !dtype_is_int(pv->dtype))
    return false;
  if (pad->nin > 3 && pad->in[3]) /* axes (opset 18): keep it simple */
    return false;
  Value *cv = pad->nin > 2 ? pad->in[2] : NULL;
  if (cv && (!value_is_const(cv) || value_numel(cv) != 1 ||
             load_as_f64(cv->data, cv->dtype, 0) != 0.0))
    return false;
  for (int i = 0; i < 2 * r; i++)
    pads[i] = load_as_i64(pv->data, pv->dtype, (size_t)i);
  return true;
}

/* Can consumer c take the pad into its own "pads" attribute? */
static bool absorbs(Node *c, Value *padded) {
  if (c->dead || c->nin < 1 || c->in[0] != padded)
    return false;
  for (int j = 1; j < c->nin; j++)
    if (c->in[j] == padded)
      return false;
  if (strcmp(node_attr_str(c, "auto_pad", "NOTSET"), "NOTSET") != 0)
    return false;
  if (c->op == OP_Conv)
    return true;
  return c->op == OP_AveragePool &&
         node_attr_int(c, "count_include_pad", 0) == 1 &&
         node_attr_int(c, "ceil_mode", 0) == 0;
}

static Status merge_into(Ctx *cx, Node *c, const int64_t *pads, int rank) {
  int nsp = rank - 2, count = 0;
  const int64_t *old = node_attr_ints(c, "pads", &count);
  int64_t np[2 * O2L_MAX_RANK];
  for (int i = 0; i < nsp; i++) {
    np[i] = (count == 2 * nsp ? old[i] : 0) + pads[2 + i];
    np[nsp + i] = (count == 2 * nsp ? old[nsp + i] : 0) + pads[rank + 2 + i];
  }
  return node_set_attr_ints(cx, c, "pads", np, 2 * nsp);
}

Status pass_fuse_pad(Ctx *cx, Graph *g, PassStats *st) {
  graph_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *pad = g->nodes[i];
    if (pad->dead || pad->op != OP_Pad || pad->nout < 1)
      continue;
    Value *x = pad->in[0], *y = pad->out[0];
    int64_t pads[2 * O2L_MAX_RANK];
    if (!x || !y || y->is_output || !zero_pad_amounts(pad, pads))
      continue;
    int r = x->rank;
    bool all_zero = true, spatial_only = r >= 3, negative = false;
    for (int k = 0; k < 2 * r; k++) {
      all_zero &= pads[k] == 0;
      negative |= pads[k] < 0;
      if ((k % r) < 2 && pads[k] != 0)
        spatial_only = false;
    }
    Node *users[8];
    int nusers = graph_consumers(g, y, users, 8);
    if (all_zero) {
      graph_replace_uses(g, y, x);
      pad->dead = true;
      st->pads_absorbed++;
      graph_uses(g);
      continue;
    }
    if (negative || !spatial_only || nusers < 1 || nusers > 8)
      continue;
    bool ok = true;
    for (int k = 0; k < nusers; k++)
      ok &= absorbs(users[k], y);
    if (!ok)
      continue;
    for (int k = 0; k < nusers; k++) {
      TRY(merge_into(cx, users[k], pads, r));
      users[k]->in[0] = x;
    }
    pad->dead = true;
    st->pads_absorbed++;
    graph_uses(g);
  }
  return O2L_OK;
}
