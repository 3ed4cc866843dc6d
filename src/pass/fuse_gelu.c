/* fuse_gelu.c - pass_fuse_gelu: PyTorch's exact GELU, as exported before
 * opset 20, back into one Gelu node.
 *
 * F.gelu / nn.GELU export as
 *     d = x / sqrt(2)        (or x * (1/sqrt(2)))
 *     e = Erf(d)
 *     a = e + 1
 *     y = (x * a) * 0.5      (or x * (a * 0.5), or (x * 0.5) * a)
 * which would lower to some twenty elementwise operators (Erf has no
 * TFLite builtin); a Gelu node lowers to one GELU.  Every operand order of
 * the commutative Add and Muls is accepted.  The chain is fused only when
 * each intermediate result is read by the next step alone (and is no graph
 * output), the constants are single float values equal to sqrt(2),
 * 1/sqrt(2), 1 and 0.5 up to float rounding, and y has x's shape.
 * Runs after constant folding, so constants built by Constant nodes or
 * small subgraphs are already values; a later toposort places the new
 * node.
 */
#include <math.h>
#include <string.h>

#include "ops/opattr.h"
#include "pass/pass.h"

static bool near(double a, double b) { return fabs(a - b) <= 1e-6 * fabs(b); }

/* An intermediate result read only by the next step of the chain. */
static bool private_value(const Value *v) {
  return v && v->nuses == 1 && !v->is_output && !value_is_const(v);
}

/* n is the binary `op` with one operand the constant `c` (up to rounding):
 * *other gets the other operand. */
static bool binary_with_const(const Node *n, int op, double c, Value **other) {
  if (!n || n->dead || n->op != op || n->nin != 2 || !n->in[0] || !n->in[1])
    return false;
  for (int side = 0; side < 2; side++) {
    double v;
    if (value_float_scalar(n->in[side], &v) && near(v, c)) {
      *other = n->in[1 - side];
      return true;
    }
  }
  return false;
}

/* The only node reading v (v private). */
static Node *sole_consumer(Graph *g, const Value *v) {
  Node *c = NULL;
  return graph_consumers(g, v, &c, 1) == 1 ? c : NULL;
}

/* n = Mul(a, b) with {a, b} = {p, q} in either order. */
static bool mul_of(const Node *n, const Value *p, const Value *q) {
  return n && !n->dead && n->op == OP_Mul && n->nin == 2 &&
         ((n->in[0] == p && n->in[1] == q) || (n->in[0] == q && n->in[1] == p));
}

/* The GELU chain through Erf node e: fills the nodes to remove (up to 6)
 * and returns y, or NULL. */
static Value *match(Graph *g, Node *e, Value **xo, Node **dead, int *ndead) {
  Value *d = e->in[0], *x = NULL;
  if (e->nin != 1 || !private_value(d) || !private_value(e->out[0]))
    return NULL;
  Node *div = d->producer;
  if (!binary_with_const(div, OP_Div, sqrt(2.0), &x) &&
      !binary_with_const(div, OP_Mul, sqrt(0.5), &x))
    return NULL;
  if (div->op == OP_Div && div->in[0] != x)
    return NULL; /* sqrt(2) / x is not it */
  Node *add = sole_consumer(g, e->out[0]);
  Value *erf_out = NULL;
  if (!binary_with_const(add, OP_Add, 1.0, &erf_out) || erf_out != e->out[0] ||
      !private_value(add->out[0]))
    return NULL;
  Value *a = add->out[0];
  Node *m1 = sole_consumer(g, a);
  int k = 0;
  dead[k++] = div;
  dead[k++] = e;
  dead[k++] = add;
  Value *other, *y = NULL;
  if (mul_of(m1, x, a) && private_value(m1->out[0])) {
    /* (x * a) * 0.5 */
    Node *m2 = sole_consumer(g, m1->out[0]);
    if (binary_with_const(m2, OP_Mul, 0.5, &other) && other == m1->out[0]) {
      dead[k++] = m1;
      dead[k++] = m2;
      y = m2->out[0];
    }
  } else if (binary_with_const(m1, OP_Mul, 0.5, &other) && other == a &&
             private_value(m1->out[0])) {
    /* x * (a * 0.5) */
    Node *m2 = sole_consumer(g, m1->out[0]);
    if (mul_of(m2, x, m1->out[0])) {
      dead[k++] = m1;
      dead[k++] = m2;
      y = m2->out[0];
    }
  } else if (m1 && m1->op == OP_Mul && m1->nin == 2 &&
             (m1->in[0] == a || m1->in[1] == a)) {
    /* (x * 0.5) * a */
    Value *h = m1->in[0] == a ? m1->in[1] : m1->in[0];
    Node *half = h ? h->producer : NULL;
    if (private_value(h) &&
        binary_with_const(half, OP_Mul, 0.5, &other) && other == x) {
      dead[k++] = half;
      dead[k++] = m1;
      y = m1->out[0];
    }
  }
  if (!y || !value_same_shape(x, y) || !dtype_is_float(x->dtype) ||
      x->dtype != y->dtype)
    return NULL;
  *xo = x;
  *ndead = k;
  return y;
}

Status pass_fuse_gelu(Ctx *cx, Graph *g, PassStats *st) {
  graph_uses(g);
  int n0 = g->nnodes;
  for (int i = 0; i < n0; i++) {
    Node *e = g->nodes[i];
    if (e->dead || e->op != OP_Erf)
      continue;
    Node *dead[6];
    int ndead = 0;
    Value *x = NULL, *y = match(g, e, &x, dead, &ndead);
    if (!y)
      continue;
    Node *last = y->producer;
    const char *name = arena_printf(cx->arena, "%s/gelu", last->name);
    if (!name)
      return ctx_oom(cx, "fusing a GELU");
    for (int k = 0; k < ndead; k++)
      dead[k]->dead = true;
    Node *gl = graph_add_node(cx, g, OP_Gelu, name, 1, &x, 1, &y);
    if (!gl)
      return cx->status;
    gl->op_type = "Gelu";
    graph_uses(g);
    if (st)
      st->gelu_fused++;
  }
  return O2L_OK;
}
