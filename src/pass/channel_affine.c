/* channel_affine.c - pass_merge_channel_affine: a Concat of per-channel
 * affine maps of channel slices of one tensor becomes one Mul and one Add
 * with per-channel constants.
 *
 * torchvision's GoogLeNet and Inception v3 with transform_input=True (what
 * the pretrained weights switch on) renormalize the image channel by
 * channel:
 *
 *   cat([x[:, 0:1] * a0 + b0, x[:, 1:2] * a1 + b1, x[:, 2:3] * a2 + b2], 1)
 *
 * exported as Gather, Unsqueeze, Mul and Add per channel and a Concat:
 * thirteen TFLite operators.  Recognised: a Concat on axis a whose inputs,
 * in order, are chains of Mul / Add / Sub / Div by scalar float constants
 * (possibly none) over slices of the same tensor X along a (Gather of one
 * index re-expanded by Unsqueeze or Reshape, or a Slice with step 1) that
 * tile X's axis a.  The chains compose into y = X * S + T with S and T
 * per-channel; a Mul and an Add (only those needed) replace the Concat,
 * which keeps its output value and name.  A chain that is exactly a Mul
 * then an Add computes the same floats as before; other chains agree to
 * rounding.  The old nodes go with DCE unless something else reads them.
 */
#include <string.h>

#include "ops/opattr.h"
#include "pass/pass.h"

enum { MAX_PIECES = 64 };

/* v = s * u + t for the u this returns: Mul, Add, Sub, Div by scalar
 * constants followed back from v. */
static Value *affine_chain(Value *v, double *s, double *t) {
  *s = 1, *t = 0;
  for (int depth = 0; depth < 16; depth++) {
    Node *p = v->producer;
    double c;
    if (!p || p->dead || p->nin != 2 || p->nout != 1 || !p->in[0] ||
        !p->in[1] || (p->op != OP_Mul && p->op != OP_Add &&
                      p->op != OP_Sub && p->op != OP_Div))
      return v;
    int k = value_float_scalar(p->in[1], &c)   ? 0
            : value_float_scalar(p->in[0], &c) ? 1
                                               : -1;
    if (k < 0 || value_is_const(p->in[k]) ||
        !value_same_shape(p->in[k], v) || (p->op == OP_Div && k == 1))
      return v;
    switch (p->op) { /* v = s * w + t with w = p(u, c) */
    case OP_Mul: *s *= c; break;
    case OP_Add: *t += *s * c; break;
    case OP_Div: *s /= c; break;
    default: /* Sub: u - c, or c - u */
      if (k == 0) {
        *t -= *s * c;
      } else {
        *t += *s * c;
        *s = -*s;
      }
    }
    v = p->in[k];
  }
  return v;
}

/* v is X's elements [lo, hi) along axis a (a Gather of one index put back
 * in place, or a Slice with step 1 along a only); returns X. */
static Value *axis_slice(Ctx *cx, Graph *g, Value *v, int a, int64_t *lo,
                         int64_t *hi) {
  Node *p = v->producer;
  if (p && !p->dead && (p->op == OP_Unsqueeze || p->op == OP_Reshape) &&
      p->in[0] && p->in[0]->producer)
    p = p->in[0]->producer; /* the Gather whose axis it restores */
  if (!p || p->dead || !p->in[0] || value_is_const(p->in[0]))
    return NULL;
  Value *x = p->in[0];
  if (x->rank != v->rank || a >= x->rank)
    return NULL;
  for (int i = 0; i < x->rank; i++)
    if (i != a && x->dims[i] != v->dims[i])
      return NULL;
  if (p->op == OP_Gather) {
    int64_t ax = node_attr_int(p, "axis", 0), k;
    const Value *idx = p->in[1];
    if (ax < 0)
      ax += x->rank;
    if (ax != a || !idx || !value_is_const(idx) || !dtype_is_int(idx->dtype) ||
        value_numel(idx) != 1 || v->dims[a] != 1)
      return NULL;
    k = load_as_i64(idx->data, idx->dtype, 0);
    if (k < 0)
      k += x->dims[a];
    *lo = k, *hi = k + 1;
    return x;
  }
  SliceParams sp;
  if (p->op != OP_Slice || p->out[0] != v ||
      slice_params(cx, g, p, &sp) != O2L_OK || sp.step[a] != 1)
    return NULL;
  for (int i = 0; i < x->rank; i++)
    if (i != a && (sp.start[i] != 0 || sp.step[i] != 1))
      return NULL;
  *lo = sp.start[a], *hi = sp.start[a] + sp.out[a];
  return x;
}

static Value *channel_const(Ctx *cx, Graph *g, const Node *n, const char *what,
                            const Value *x, int a, const float *v) {
  int64_t dims[O2L_MAX_RANK], C = x->dims[a];
  for (int i = 0; i < x->rank; i++)
    dims[i] = i == a ? C : 1;
  float *d = arena_alloc(cx->arena, sizeof(float) * (size_t)C, 16);
  const char *name = arena_printf(cx->arena, "%s/%s", n->name, what);
  if (!d || !name)
    return NULL;
  memcpy(d, v, sizeof(float) * (size_t)C);
  return graph_add_const(cx, g, name, DT_F32, x->rank, dims, d,
                         sizeof(float) * (size_t)C);
}

/* n (the Concat) becomes op(a, b). */
static Status set_binary(Ctx *cx, Graph *g, Node *n, int op, const char *type,
                         Value *a, Value *b) {
  Value *in[2] = {a, b};
  if (!node_set_inputs(g, n, 2, in))
    return ctx_oom(cx, "merging per-channel affine maps");
  n->op = op;
  n->op_type = type;
  n->nattrs = 0;
  n->attrs = NULL;
  return O2L_OK;
}

static Status rewrite(Ctx *cx, Graph *g, Node *n, Value *x, int a,
                      const float *S, const float *T) {
  int64_t C = x->dims[a];
  bool mul = false, add = false;
  for (int64_t c = 0; c < C; c++) {
    mul |= S[c] != 1;
    add |= T[c] != 0;
  }
  Value *sc = mul ? channel_const(cx, g, n, "scale", x, a, S) : NULL;
  Value *sh = add ? channel_const(cx, g, n, "shift", x, a, T) : NULL;
  if ((mul && !sc) || (add && !sh))
    return ctx_oom(cx, "merging per-channel affine maps");
  if (!mul && !add) {
    TRY(set_binary(cx, g, n, OP_Identity, "Identity", x, NULL));
    n->nin = 1;
    return O2L_OK;
  }
  if (!add)
    return set_binary(cx, g, n, OP_Mul, "Mul", x, sc);
  Value *in = x;
  if (mul) {
    const char *name = arena_printf(cx->arena, "%s/scaled", n->name);
    in = name ? graph_add_value(cx, g, name, DT_F32, x->rank, x->dims) : NULL;
    Value *ins[2] = {x, sc};
    Node *m = in ? graph_add_node(cx, g, OP_Mul, name, 2, ins, 1, &in) : NULL;
    if (!m)
      return cx->status ? cx->status : ctx_oom(cx, "merging affine maps");
    m->op_type = "Mul";
  }
  return set_binary(cx, g, n, OP_Add, "Add", in, sh);
}

/* Concat n as X * S + T, or false. */
static Status try_concat(Ctx *cx, Graph *g, Node *n, bool *done) {
  ConcatParams cp;
  Value *y = n->out[0];
  *done = false;
  if (n->nin < 2 || n->nin > MAX_PIECES || y->dtype != DT_F32 ||
      concat_params(cx, g, n, &cp) != O2L_OK)
    return O2L_OK;
  int a = cp.axis;
  float S[MAX_PIECES * 4], T[MAX_PIECES * 4];
  Value *x = NULL;
  int64_t next = 0;
  for (int i = 0; i < n->nin; i++) {
    double s, t;
    int64_t lo, hi;
    if (!n->in[i])
      return O2L_OK;
    Value *u = affine_chain(n->in[i], &s, &t);
    Value *xi = axis_slice(cx, g, u, a, &lo, &hi);
    if (!xi || (x && xi != x) || lo != next || hi <= lo ||
        hi > MAX_PIECES * 4)
      return O2L_OK;
    x = xi;
    for (int64_t c = lo; c < hi; c++)
      S[c] = (float)s, T[c] = (float)t;
    next = hi;
  }
  if (!x || x->dtype != DT_F32 || next != x->dims[a] ||
      !value_same_shape(x, y))
    return O2L_OK;
  TRY(rewrite(cx, g, n, x, a, S, T));
  *done = true;
  return O2L_OK;
}

Status pass_merge_channel_affine(Ctx *cx, Graph *g, PassStats *st) {
  graph_uses(g);
  int n0 = g->nnodes;
  for (int i = 0; i < n0; i++) {
    Node *n = g->nodes[i];
    if (n->dead || n->op != OP_Concat || n->nout != 1 || !n->out[0])
      continue;
    bool done;
    TRY(try_concat(cx, g, n, &done));
    if (done) {
      st->affine_merged++;
      graph_uses(g);
    }
  }
  return O2L_OK;
}
