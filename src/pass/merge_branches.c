/* merge_branches.c - pass_merge_branches: parallel linear branches summed
 * by an Add become one Conv (the structural re-parameterization of RepVGG,
 * MobileOne, RepGhost, done at conversion time).
 *
 * Training-time blocks of those networks compute conv_kxk(x) + conv_1x1(x)
 * + BN(x); exported as they are, they cost two CONV_2Ds, two ADDs and a
 * MUL + ADD for the BN that has no conv to fold into.  All of it is linear
 * in x, so it is one convolution:
 *
 *   Add(Conv_a(x), Conv_b(x))  ->  Conv(x) with W = Wa + Wb, b = ba + bb,
 *     when both read x with the same stride and group, and every tap of one
 *     kernel lands on a tap of the other (same output grid: a 1x1 or 3x3
 *     kernel centred in a 3x3 / 5x5 one);
 *   Add(Conv(x), BN(x)) or Add(Conv(x), x)  ->  Conv(x) with s (1 for x)
 *     added to the tap that reads the output position itself, for output
 *     channel c on input channel c, and t added to the bias (stride 1,
 *     as many output as input channels).
 *
 * Runs after pass_fold_bn, so the convs already carry their BNs; repeats
 * until nothing changes, so three or more branches collapse too.  The
 * surviving Conv writes the Add's output value (names survive).
 */
#include <math.h>
#include <string.h>

#include "ops/opattr.h"
#include "pass/pass.h"

/* Conv with constant float32 weights and bias whose output only the Add
 * reads. */
static Node *branch_conv(Value *v, ConvParams *p, Ctx *cx, Graph *g) {
  Node *c = v ? v->producer : NULL;
  if (!c || c->dead || c->op != OP_Conv || c->nout != 1 || c->out[0] != v ||
      v->nuses != 1 || v->is_output)
    return NULL;
  Value *w = c->in[1], *b = c->nin > 2 ? c->in[2] : NULL;
  if (!w || !value_is_const(w) || w->dtype != DT_F32 ||
      (b && (!value_is_const(b) || b->dtype != DT_F32)))
    return NULL;
  if (conv_params(cx, g, c, p) != O2L_OK) /* valid: inferred before */
    return NULL;
  return p->nsp >= 1 && p->nsp <= 3 ? c : NULL;
}

/* Standalone inference BatchNormalization of x with constant parameters,
 * read only by the Add: per-channel s and t. */
static Node *branch_bn(Ctx *cx, Value *v, int64_t c, double *s, double *t) {
  Node *bn = v ? v->producer : NULL;
  if (!bn || bn->dead || bn->op != OP_BatchNormalization || bn->nin < 5 ||
      bn->out[0] != v || v->nuses != 1 || v->is_output)
    return NULL;
  for (int i = 1; i < bn->nout; i++)
    if (bn->out[i] && (bn->out[i]->nuses || bn->out[i]->is_output))
      return NULL;
  for (int i = 1; i < 5; i++)
    if (!value_is_const(bn->in[i]) || value_numel(bn->in[i]) != c)
      return NULL;
  if (node_attr_int(bn, "training_mode", 0) != 0)
    return NULL;
  double eps = node_attr_float(bn, "epsilon", 1e-5f);
  for (int64_t k = 0; k < c; k++) {
    double gm = load_as_f64(bn->in[1]->data, bn->in[1]->dtype, (size_t)k);
    double be = load_as_f64(bn->in[2]->data, bn->in[2]->dtype, (size_t)k);
    double mu = load_as_f64(bn->in[3]->data, bn->in[3]->dtype, (size_t)k);
    double va = load_as_f64(bn->in[4]->data, bn->in[4]->dtype, (size_t)k);
    s[k] = gm / sqrt(va + eps);
    t[k] = be - mu * s[k];
  }
  (void)cx;
  return bn;
}

/* Tap of the big kernel (per spatial axis) that reads the same input
 * position as tap j of the small one: small reads j*ds - ps, big J*dB - pB. */
static bool tap_of(int64_t j, int64_t ds, int64_t ps, int64_t dB, int64_t pB,
                   int64_t KB, int64_t *J) {
  int64_t pos = j * ds - ps + pB;
  if (pos < 0 || pos % dB)
    return false;
  *J = pos / dB;
  return *J < KB;
}

/* Can the small conv's kernel be added into the big one's? */
static bool embeds(const ConvParams *s, const ConvParams *B) {
  if (s->group != B->group || s->in_ch != B->in_ch || s->out_ch != B->out_ch ||
      s->nsp != B->nsp)
    return false;
  for (int i = 0; i < s->nsp; i++) {
    int64_t J;
    if (s->stride[i] != B->stride[i] || s->out[i] != B->out[i])
      return false;
    for (int64_t j = 0; j < s->kernel[i]; j++)
      if (!tap_of(j, s->dilation[i], s->pad_begin[i], B->dilation[i],
                  B->pad_begin[i], B->kernel[i], &J))
        return false;
  }
  return true;
}

static int64_t kvol(const ConvParams *p) {
  int64_t v = 1;
  for (int i = 0; i < p->nsp; i++)
    v *= p->kernel[i];
  return v;
}

/* Spatial offset in B's kernel of the tap at spatial index k of s. */
static int64_t big_tap(const ConvParams *s, const ConvParams *B, int64_t k) {
  int64_t idx[3] = {0, 0, 0}, off = 0;
  for (int i = s->nsp - 1; i >= 0; i--) {
    idx[i] = k % s->kernel[i];
    k /= s->kernel[i];
  }
  for (int i = 0; i < s->nsp; i++) {
    int64_t J = 0;
    tap_of(idx[i], s->dilation[i], s->pad_begin[i], B->dilation[i],
           B->pad_begin[i], B->kernel[i], &J);
    off = off * B->kernel[i] + J;
  }
  return off;
}

/* A copy of the big conv's weights and bias, as float arrays. */
static Status copy_params(Ctx *cx, Node *c, const ConvParams *p, float **w,
                          float **b) {
  Value *wv = c->in[1], *bv = c->nin > 2 ? c->in[2] : NULL;
  int64_t n = value_numel(wv);
  *w = arena_alloc(cx->arena, sizeof(float) * (size_t)n, 16);
  *b = arena_alloc(cx->arena, sizeof(float) * (size_t)p->out_ch, 16);
  if (!*w || !*b)
    return ctx_oom(cx, "merging parallel convolutions");
  memcpy(*w, wv->data, sizeof(float) * (size_t)n);
  for (int64_t k = 0; k < p->out_ch; k++)
    (*b)[k] = bv ? load_f32(bv->data, (size_t)k) : 0.0f;
  return O2L_OK;
}

/* The big conv takes the new weights and writes the Add's output. */
static Status install(Ctx *cx, Graph *g, Node *c, Node *add, float *w,
                      float *b, const ConvParams *p) {
  Value *wv = c->in[1];
  const char *wn = arena_printf(cx->arena, "%s/merged", wv->name);
  const char *bn = arena_printf(cx->arena, "%s/bias_merged", c->name);
  int64_t bd[1] = {p->out_ch};
  Value *nw = wn ? graph_add_const(cx, g, wn, DT_F32, wv->rank, wv->dims, w,
                                   sizeof(float) * (size_t)value_numel(wv))
                 : NULL;
  Value *nb = bn ? graph_add_const(cx, g, bn, DT_F32, 1, bd, b,
                                   sizeof(float) * (size_t)p->out_ch)
                 : NULL;
  Value *in[3] = {c->in[0], nw, nb};
  if (!nw || !nb || !node_set_inputs(g, c, 3, in))
    return ctx_oom(cx, "merging parallel convolutions");
  c->out[0] = add->out[0];
  add->dead = true;
  return O2L_OK;
}

/* Add(Conv_a(x), Conv_b(x)) with b's kernel inside a's. */
static Status merge_convs(Ctx *cx, Graph *g, Node *add, Node *ca,
                          const ConvParams *pa, Node *cb,
                          const ConvParams *pb, bool *done) {
  float *w, *b;
  TRY(copy_params(cx, ca, pa, &w, &b));
  int64_t ka = kvol(pa), kb = kvol(pb), ipg = pa->in_ch / pa->group;
  Value *wb = cb->in[1], *bb = cb->nin > 2 ? cb->in[2] : NULL;
  for (int64_t k = 0; k < kb; k++) {
    int64_t J = big_tap(pb, pa, k);
    for (int64_t oi = 0; oi < pa->out_ch * ipg; oi++)
      w[oi * ka + J] += load_f32(wb->data, (size_t)(oi * kb + k));
  }
  for (int64_t o = 0; bb && o < pa->out_ch; o++)
    b[o] += load_f32(bb->data, (size_t)o);
  TRY(install(cx, g, ca, add, w, b, pa));
  cb->dead = true;
  *done = true;
  return O2L_OK;
}

/* Add(Conv(x), s*x + t): s on the tap of channel c that reads position
 * o itself. */
static Status merge_identity(Ctx *cx, Graph *g, Node *add, Node *c,
                             const ConvParams *p, const double *s,
                             const double *t, bool *done) {
  if (p->in_ch != p->out_ch)
    return O2L_OK;
  int64_t J = 0;
  for (int i = 0; i < p->nsp; i++) {
    int64_t Ji;
    if (p->stride[i] != 1 || p->out[i] != p->in[i] ||
        !tap_of(0, 1, 0, p->dilation[i], p->pad_begin[i], p->kernel[i], &Ji))
      return O2L_OK;
    J = J * p->kernel[i] + Ji;
  }
  float *w, *b;
  TRY(copy_params(cx, c, p, &w, &b));
  int64_t kv = kvol(p), ipg = p->in_ch / p->group;
  for (int64_t o = 0; o < p->out_ch; o++) {
    w[(o * ipg + o % ipg) * kv + J] += (float)s[o];
    b[o] += (float)t[o];
  }
  TRY(install(cx, g, c, add, w, b, p));
  *done = true;
  return O2L_OK;
}

static Status try_add(Ctx *cx, Graph *g, Node *add, bool *done) {
  *done = false;
  if (add->nin != 2 || !add->in[0] || !add->in[1] || add->nout != 1 ||
      add->in[0]->dtype != DT_F32 || add->in[0] == add->in[1] ||
      !value_same_shape(add->in[0], add->out[0]) ||
      !value_same_shape(add->in[1], add->out[0]))
    return O2L_OK;
  ConvParams p[2];
  Node *c[2];
  for (int i = 0; i < 2; i++)
    c[i] = branch_conv(add->in[i], &p[i], cx, g);
  if (c[0] && c[1] && c[0]->in[0] == c[1]->in[0]) {
    for (int i = 0; i < 2; i++)
      if (embeds(&p[1 - i], &p[i]))
        return merge_convs(cx, g, add, c[i], &p[i], c[1 - i], &p[1 - i],
                           done);
    return O2L_OK;
  }
  for (int i = 0; i < 2; i++) {
    if (!c[i])
      continue;
    Value *x = c[i]->in[0], *other = add->in[1 - i];
    int64_t ch = p[i].out_ch;
    double *s = arena_alloc(cx->arena, sizeof(double) * 2 * (size_t)ch, 8);
    if (!s)
      return ctx_oom(cx, "merging parallel convolutions");
    double *t = s + ch;
    Node *bn = NULL;
    if (other == x) {
      for (int64_t k = 0; k < ch; k++)
        s[k] = 1, t[k] = 0;
    } else if (!(bn = branch_bn(cx, other, ch, s, t)) || bn->in[0] != x) {
      continue;
    }
    TRY(merge_identity(cx, g, add, c[i], &p[i], s, t, done));
    if (*done) {
      if (bn)
        bn->dead = true;
      return O2L_OK;
    }
  }
  return O2L_OK;
}

Status pass_merge_branches(Ctx *cx, Graph *g, PassStats *st) {
  bool changed = true;
  while (changed) {
    changed = false;
    graph_uses(g);
    for (int i = 0; i < g->nnodes; i++) {
      Node *n = g->nodes[i];
      if (n->dead || n->op != OP_Add)
        continue;
      bool done;
      TRY(try_add(cx, g, n, &done));
      if (done) {
        st->branches_merged++;
        changed = true;
        graph_uses(g);
      }
    }
  }
  return O2L_OK;
}
