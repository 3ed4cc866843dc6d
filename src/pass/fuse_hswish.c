/* fuse_hswish.c - pass_fuse_hardswish: hard-swish written out as smaller
 * operators becomes one HardSwish node (TFLite HARD_SWISH).
 *
 * ONNX has HardSwish only from opset 14, so PyTorch's exporter writes
 * nn.Hardswish at opset <= 13 as x * HardSigmoid(x) (alpha 1/6, beta 0.5),
 * and hand-written models (YOLOv5, older MobileNetV3 code) spell it
 * x * relu6(x + 3) / 6.  Lowered literally, each costs three TFLite
 * operators where a TensorFlow-made MobileNetV3 has one.  Recognised:
 *
 *   Mul(x, HardSigmoid(x))                          alpha = 1/6, beta = 1/2
 *   Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)           also * (1/6)
 *   Mul(x, Div(Clip(Add(x, 3), 0, 6), 6))           also * (1/6)
 *
 * in any operand order.  The intermediate results must have no other
 * reader; x may.  The last node of the pattern is rewritten in place, so
 * its output (possibly a graph output) keeps its name.
 */
#include <math.h>
#include <string.h>

#include "ops/opattr.h"
#include "pass/pass.h"

static bool near(double a, double b) { return fabs(a - b) <= 1e-6 * fabs(b); }

/* v's producer when it is an op-node whose result only the pattern reads. */
static Node *private_producer(Value *v, int op) {
  Node *p = v ? v->producer : NULL;
  if (!p || p->dead || p->op != op || p->nout < 1 || p->out[0] != v ||
      v->nuses != 1 || v->is_output)
    return NULL;
  return p;
}

/* For a binary node: the operand that is not the scalar constant c. */
static Value *other_than_scalar(Node *n, double c) {
  double v;
  if (n->nin != 2 || !n->in[0] || !n->in[1])
    return NULL;
  if (value_float_scalar(n->in[1], &v) && near(v, c))
    return n->in[0];
  if (n->op != OP_Div && value_float_scalar(n->in[0], &v) && near(v, c))
    return n->in[1];
  return NULL;
}

/* relu6(x + 3): Clip(Add(x, 3), 0, 6) whose Add only the Clip reads.
 * Returns x, or NULL. */
static Value *relu6_plus3(Ctx *cx, Graph *g, Value *v, Node **dead,
                          int *nd) {
  Node *clip = private_producer(v, OP_Clip);
  if (!clip)
    return NULL;
  ClipParams cp; /* valid: shape inference has checked it */
  if (clip_params(cx, g, clip, &cp) != O2L_OK || !cp.has_min || !cp.has_max || cp.min != 0 || cp.max != 6)
    return NULL;
  Node *add = private_producer(clip->in[0], OP_Add);
  Value *x = add ? other_than_scalar(add, 3.0) : NULL;
  if (!x)
    return NULL;
  dead[(*nd)++] = clip;
  dead[(*nd)++] = add;
  return x;
}

/* x * g where g is hard-sigmoid(x) in one of its spellings; the nodes
 * computing g go to dead[]. */
static bool gate_is_hsig_of(Ctx *cx, Graph *g, Value *gate, Value *x,
                            Node **dead, int *nd) {
  int mark = *nd;
  Node *hs = private_producer(gate, OP_HardSigmoid);
  if (hs) {
    double a = node_attr_float(hs, "alpha", 0.2f);
    double b = node_attr_float(hs, "beta", 0.5f);
    if (hs->in[0] == x && near(a, 1.0 / 6) && b == 0.5) {
      dead[(*nd)++] = hs;
      return true;
    }
    return false;
  }
  /* relu6(x + 3) / 6 or relu6(x + 3) * (1/6) */
  Node *scale = private_producer(gate, OP_Div);
  Value *r = scale ? other_than_scalar(scale, 6.0) : NULL;
  if (!r && (scale = private_producer(gate, OP_Mul)))
    r = other_than_scalar(scale, 1.0 / 6);
  if (!r)
    return false;
  dead[(*nd)++] = scale;
  if (relu6_plus3(cx, g, r, dead, nd) == x)
    return true;
  *nd = mark;
  return false;
}

/* Is n the last node of a hard-swish of some x?  Writes x and the other
 * nodes of the pattern. */
static Value *match(Ctx *cx, Graph *g, Node *n, Node **dead, int *nd) {
  *nd = 0;
  if (n->nin != 2 || !n->in[0] || !n->in[1] || n->nout != 1)
    return NULL;
  if (n->op == OP_Mul)
    for (int i = 0; i < 2; i++)
      if (gate_is_hsig_of(cx, g, n->in[1 - i], n->in[i], dead, nd))
        return n->in[i];
  /* (x * relu6(x + 3)) / 6 or * (1/6) */
  Value *prod = n->op == OP_Div   ? other_than_scalar(n, 6.0)
                : n->op == OP_Mul ? other_than_scalar(n, 1.0 / 6)
                                  : NULL;
  Node *mul = private_producer(prod, OP_Mul);
  if (!mul || mul->nin != 2)
    return NULL;
  for (int i = 0; i < 2; i++) {
    *nd = 0;
    dead[(*nd)++] = mul;
    if (relu6_plus3(cx, g, mul->in[1 - i], dead, nd) == mul->in[i])
      return mul->in[i];
  }
  *nd = 0;
  return NULL;
}

Status pass_fuse_hardswish(Ctx *cx, Graph *g, PassStats *st) {
  graph_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i], *dead[4];
    int nd = 0;
    if (n->dead || (n->op != OP_Mul && n->op != OP_Div))
      continue;
    Value *x = match(cx, g, n, dead, &nd);
    if (!x || !dtype_is_float(x->dtype) || !value_same_shape(x, n->out[0]))
      continue;
    for (int k = 0; k < nd; k++)
      dead[k]->dead = true;
    n->op = OP_HardSwish;
    n->op_type = "HardSwish";
    n->in[0] = x;
    n->nin = 1;
    n->nattrs = 0;
    st->hswish_fused++;
    graph_uses(g);
  }
  return O2L_OK;
}
