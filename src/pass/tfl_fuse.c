/* tfl_fuse.c - clean-ups on the lowered TFLite graph.
 *
 * Activation fusion: a RELU, RELU6 or RELU_N1_TO_1 whose input comes from
 * an operator with a fused_activation_function field (and is read by
 * nothing else) becomes that field, the way TensorFlow's converter emits
 * Conv+ReLU.  The producer then writes the activation's output tensor, so
 * tensor names and graph outputs are kept.
 *
 * Reshape clean-up: RESHAPE of a RESHAPE reads the first one's input, and a
 * RESHAPE whose output shape equals its input shape disappears.  Lowering
 * adds reshapes freely (they cost nothing in the layout algebra); this is
 * where the useless ones go.
 */
#include <string.h>

#include "pass/pass.h"
#include "tfl/tfl_options.h"

static bool has_fused_activation(int op) {
  switch (op) {
  case TFL_ADD: case TFL_SUB: case TFL_MUL: case TFL_DIV:
  case TFL_CONV_2D: case TFL_DEPTHWISE_CONV_2D: case TFL_FULLY_CONNECTED:
  case TFL_AVERAGE_POOL_2D: case TFL_MAX_POOL_2D: case TFL_TRANSPOSE_CONV:
  case TFL_CONCATENATION:
    return true;
  default:
    return false;
  }
}

static int activation_of(int op) {
  switch (op) {
  case TFL_RELU: return TFL_ACT_RELU;
  case TFL_RELU6: return TFL_ACT_RELU6;
  case TFL_RELU_N1_TO_1: return TFL_ACT_RELU_N1_TO_1;
  default: return -1;
  }
}

Status pass_tfl_fuse_activations(Ctx *cx, Graph *g, PassStats *st) {
  (void)cx;
  graph_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *a = g->nodes[i];
    int act = a->dead ? -1 : activation_of(a->op);
    if (act < 0 || a->nin < 1 || !a->in[0])
      continue;
    Value *x = a->in[0];
    Node *p = x->producer;
    if (!p || p->dead || !has_fused_activation(p->op) ||
        p->opt.act != TFL_ACT_NONE || p->nout != 1 || x->nuses != 1 ||
        x->is_output || x->quant || a->out[0]->quant)
      continue;
    p->opt.act = act;
    p->out[0] = a->out[0];
    a->dead = true;
    st->acts_fused++;
    graph_uses(g);
  }
  graph_compact(g);
  return O2L_OK;
}

static bool same_dims(const Value *a, const Value *b) {
  return a->rank == b->rank &&
         (a->rank == 0 ||
          !memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank));
}

Status pass_tfl_cleanup(Ctx *cx, Graph *g, PassStats *st) {
  (void)cx;
  (void)st;
  graph_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *r = g->nodes[i];
    if (r->dead || r->op != TFL_RESHAPE || !r->in[0])
      continue;
    Node *p = r->in[0]->producer;
    /* RESHAPE(RESHAPE(x)) = RESHAPE(x). */
    if (p && !p->dead && p->op == TFL_RESHAPE && p->in[0])
      r->in[0] = p->in[0];
    Value *x = r->in[0], *y = r->out[0];
    /* An identity RESHAPE goes, unless it is what gives a graph output its
     * own tensor. */
    if (same_dims(x, y) && !y->is_output && x->quant == y->quant) {
      graph_replace_uses(g, y, x);
      r->dead = true;
    }
  }
  graph_dce(g);
  graph_compact(g);
  return O2L_OK;
}
