/* tfl_fuse.c - clean-ups on the lowered TFLite graph.
 *
 * Activation fusion: a RELU, RELU6 or RELU_N1_TO_1 whose input comes from
 * an operator with a fused_activation_function field (and is read by
 * nothing else) becomes that field, the way TensorFlow's converter emits
 * Conv+ReLU.  The producer then writes the activation's output tensor, so
 * tensor names and graph outputs are kept.
 *
 * Bias fusion: a FULLY_CONNECTED or convolution without bias followed by
 * an ADD of a constant vector over its output channels (PyTorch's Linear
 * on 3-D input exports MatMul + Add) takes the constant as its bias.
 *
 * A MEAN with keep_dims whose only reader is a RESHAPE dropping the
 * reduced axes (global average pooling then flatten) becomes a MEAN
 * without keep_dims, as TensorFlow writes GlobalAveragePooling2D.
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
  case TFL_CONV_3D: case TFL_CONV_3D_TRANSPOSE:
    return true; /* not CONCATENATION: LiteRT refuses it a fused activation */
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

static bool takes_bias(int op) {
  return op == TFL_FULLY_CONNECTED || op == TFL_CONV_2D ||
         op == TFL_DEPTHWISE_CONV_2D;
}

/* A constant float whose only non-1 dim is the last one, of size c. */
static bool is_channel_vector(const Value *b, int64_t c) {
  if (!value_is_const(b) || b->dtype != DT_F32 || value_numel(b) != c)
    return false;
  return b->rank >= 1 && b->dims[b->rank - 1] == c;
}

static void fuse_biases(Ctx *cx, Graph *g) {
  graph_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *a = g->nodes[i];
    if (a->dead || a->op != TFL_ADD || a->nin != 2 || a->opt.act)
      continue;
    for (int side = 0; side < 2; side++) {
      Value *x = a->in[side], *b = a->in[1 - side];
      Node *p = x ? x->producer : NULL;
      if (!p || p->dead || !takes_bias(p->op) || p->opt.act ||
          x->nuses != 1 || x->is_output || x->quant || x->rank < 1)
        continue;
      int64_t c = x->dims[x->rank - 1];
      if (!is_channel_vector(b, c) || !value_same_shape(x, a->out[0]))
        continue;
      Value *old = p->nin >= 3 ? p->in[2] : NULL;
      if (old && (!value_is_const(old) || old->dtype != DT_F32 ||
                  value_numel(old) != c))
        continue;
      float *sum = arena_alloc(cx->arena, sizeof(float) * (size_t)c, 16);
      int64_t d[1] = {c};
      if (!sum)
        return; /* out of memory: leave the ADD, the graph stays right */
      for (int64_t k = 0; k < c; k++)
        sum[k] = load_f32(b->data, (size_t)k) +
                 (old ? load_f32(old->data, (size_t)k) : 0.0f);
      Value *bias = graph_add_const(cx, g, b->name, DT_F32, 1, d, sum,
                                    sizeof(float) * (size_t)c);
      Value *in[3] = {p->in[0], p->in[1], bias};
      if (!bias || !node_set_inputs(g, p, 3, in))
        return;
      p->out[0] = a->out[0];
      a->dead = true;
      graph_uses(g);
      break;
    }
  }
}

/* relu(concat(a, b, ...)) = concat(relu(a), relu(b), ...): when every
 * concatenated tensor can take the activation into its producer, the
 * activation moves there (LiteRT's CONCATENATION takes none itself). */
static bool fuse_through_concat(Graph *g, Node *a, int act) {
  Value *x = a->in[0];
  Node *c = x->producer;
  if (!c || c->dead || c->op != TFL_CONCATENATION || x->nuses != 1 ||
      x->is_output || x->quant)
    return false;
  for (int i = 0; i < c->nin; i++) {
    Value *in = c->in[i];
    Node *p = in ? in->producer : NULL;
    if (!p || p->dead || !has_fused_activation(p->op) ||
        p->opt.act != TFL_ACT_NONE || p->nout != 1 || in->nuses != 1 ||
        in->is_output || in->quant)
      return false;
    for (int j = 0; j < i; j++) /* the same tensor twice: fuse once */
      if (c->in[j] == in)
        return false;
  }
  for (int i = 0; i < c->nin; i++)
    c->in[i]->producer->opt.act = act;
  c->out[0] = a->out[0];
  a->dead = true;
  graph_uses(g);
  return true;
}

Status pass_tfl_fuse_activations(Ctx *cx, Graph *g, PassStats *st) {
  fuse_biases(cx, g);
  graph_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *a = g->nodes[i];
    int act = a->dead ? -1 : activation_of(a->op);
    if (act < 0 || a->nin < 1 || !a->in[0])
      continue;
    Value *x = a->in[0];
    Node *p = x->producer;
    if (fuse_through_concat(g, a, act)) {
      st->acts_fused++;
      continue;
    }
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

/* Does RESHAPE r only drop the axes its MEAN producer m reduced? */
static bool drops_reduced_axes(const Node *m, const Node *r) {
  const Value *x = m->out[0], *y = r->out[0], *axes = m->in[1];
  if (!axes || !value_is_const(axes) || axes->dtype != DT_I32)
    return false;
  bool reduced[O2L_MAX_RANK] = {false};
  for (int64_t i = 0; i < value_numel(axes); i++) {
    int32_t a = load_i32(axes->data, (size_t)i);
    if (a < 0)
      a += x->rank;
    if (a < 0 || a >= x->rank)
      return false;
    reduced[a] = true;
  }
  int k = 0;
  for (int i = 0; i < x->rank; i++) {
    if (reduced[i])
      continue;
    if (k >= y->rank || y->dims[k] != x->dims[i])
      return false;
    k++;
  }
  return k == y->rank;
}

static void mean_without_keep_dims(Graph *g) {
  graph_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *r = g->nodes[i];
    if (r->dead || r->op != TFL_RESHAPE || !r->in[0])
      continue;
    Value *x = r->in[0];
    Node *m = x->producer;
    if (!m || m->dead || m->op != TFL_MEAN || !m->opt.keep_dims ||
        x->nuses != 1 || x->is_output || x->quant != r->out[0]->quant ||
        !drops_reduced_axes(m, r))
      continue;
    m->opt.keep_dims = false;
    m->out[0] = r->out[0];
    r->dead = true;
    graph_uses(g);
  }
}

Status pass_tfl_cleanup(Ctx *cx, Graph *g, PassStats *st) {
  mean_without_keep_dims(g);
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
