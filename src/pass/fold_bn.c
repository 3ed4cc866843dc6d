/* fold_bn.c - BatchNormalization folded into the Conv, ConvTranspose or
 * Gemm that produces its input.
 *
 * Inference-mode BN is y = (x - mean) / sqrt(var + eps) * gamma + beta, a
 * per-channel affine map s*x + t.  When x comes from a linear operator with
 * constant weights and nothing else reads x, scaling the weights of each
 * output channel by s and mapping the bias b to s*b + t gives the same
 * result with one operator less.  The producer then writes the BN's output
 * value, so names the rest of the graph (and the graph outputs) refer to
 * survive.  A BN that cannot be folded is left for the lowering (MUL+ADD).
 */
#include <math.h>
#include <string.h>

#include "ops/ops.h"
#include "pass/pass.h"

/* Per-channel scale s and shift t of a BN node, or false if its
 * parameters are not all constant float vectors of length c. */
static bool bn_affine(Ctx *cx, Node *bn, int64_t c, float **s, float **t) {
  if (bn->nin < 5 || bn->nout < 1)
    return false;
  for (int i = 1; i < 5; i++) {
    Value *p = bn->in[i];
    if (!p || !value_is_const(p) || !dtype_is_float(p->dtype) ||
        value_numel(p) != c)
      return false;
  }
  if (node_attr_int(bn, "training_mode", 0) != 0 ||
      node_attr_int(bn, "spatial", 1) != 1)
    return false;
  float eps = node_attr_float(bn, "epsilon", 1e-5f);
  *s = arena_alloc(cx->arena, sizeof(float) * (size_t)c, 16);
  *t = arena_alloc(cx->arena, sizeof(float) * (size_t)c, 16);
  if (!*s || !*t)
    return false;
  for (int64_t k = 0; k < c; k++) {
    double gamma = load_as_f64(bn->in[1]->data, bn->in[1]->dtype, (size_t)k);
    double beta = load_as_f64(bn->in[2]->data, bn->in[2]->dtype, (size_t)k);
    double mean = load_as_f64(bn->in[3]->data, bn->in[3]->dtype, (size_t)k);
    double var = load_as_f64(bn->in[4]->data, bn->in[4]->dtype, (size_t)k);
    double sc = gamma / sqrt(var + eps);
    (*s)[k] = (float)sc;
    (*t)[k] = (float)(beta - mean * sc);
  }
  return true;
}

/* The output channel of weight element k for each producer kind. */
typedef int64_t (*ChannelOf)(const Value *w, int64_t k, int64_t group);

static int64_t conv_channel(const Value *w, int64_t k, int64_t group) {
  (void)group;
  int64_t per = value_numel(w) / w->dims[0];
  return k / per;
}

/* ConvTranspose W is [Cin, Cout/group, k...]: output channel is
 * (input channel's group) * Cout/group + j. */
static int64_t convt_channel(const Value *w, int64_t k, int64_t group) {
  int64_t spatial = value_numel(w) / (w->dims[0] * w->dims[1]);
  int64_t ci = k / (w->dims[1] * spatial);
  int64_t j = (k / spatial) % w->dims[1];
  int64_t cin_per_group = w->dims[0] / group;
  return (ci / cin_per_group) * w->dims[1] + j;
}

static int64_t gemm_channel_transb(const Value *w, int64_t k, int64_t group) {
  (void)group;
  return k / w->dims[1]; /* B is [N, K] */
}

static int64_t gemm_channel(const Value *w, int64_t k, int64_t group) {
  (void)group;
  return k % w->dims[1]; /* B is [K, N] */
}

static Value *scaled_weights(Ctx *cx, Graph *g, Value *w, const float *s,
                             ChannelOf ch, int64_t group) {
  int64_t n = value_numel(w);
  float *d = arena_alloc(cx->arena, sizeof(float) * (size_t)(n + 1), 16);
  if (!d)
    return NULL;
  for (int64_t k = 0; k < n; k++)
    d[k] = load_f32(w->data, (size_t)k) * s[ch(w, k, group)];
  ctx_release(cx, w->data, w->nbytes);
  const char *name = arena_printf(cx->arena, "%s/bn_folded", w->name);
  return name ? graph_add_const(cx, g, name, DT_F32, w->rank, w->dims, d,
                                sizeof(float) * (size_t)n)
              : NULL;
}

/* New bias s*b*bscale + t (b may be NULL). */
static Value *folded_bias(Ctx *cx, Graph *g, Node *prod, Value *b,
                          float bscale, const float *s, const float *t,
                          int64_t c) {
  float *d = arena_alloc(cx->arena, sizeof(float) * (size_t)c, 16);
  if (!d)
    return NULL;
  for (int64_t k = 0; k < c; k++) {
    float bias = b ? (float)load_as_f64(b->data, b->dtype, (size_t)(
                         value_numel(b) == 1 ? 0 : k)) * bscale
                   : 0.0f;
    d[k] = bias * s[k] + t[k];
  }
  const char *name = arena_printf(cx->arena, "%s/bias_bn_folded", prod->name);
  int64_t dims[1] = {c};
  return name ? graph_add_const(cx, g, name, DT_F32, 1, dims, d,
                                sizeof(float) * (size_t)c)
              : NULL;
}

static bool foldable_producer(Node *p, Value *x) {
  if (!p || p->dead || p->nout < 1 || p->out[0] != x)
    return false;
  if (x->nuses != 1 || x->is_output)
    return false;
  if (p->op != OP_Conv && p->op != OP_ConvTranspose && p->op != OP_Gemm)
    return false;
  Value *w = p->nin > 1 ? p->in[1] : NULL;
  Value *b = p->nin > 2 ? p->in[2] : NULL;
  if (!w || !value_is_const(w) || w->dtype != DT_F32 || w->rank < 2)
    return false;
  if (b && (!value_is_const(b) || !dtype_is_float(b->dtype)))
    return false;
  if (p->op == OP_Gemm) {
    /* The bias must be per output feature, not a full [M, N] matrix. */
    if (node_attr_int(p, "transA", 0) != 0 || w->rank != 2)
      return false;
    if (b && value_numel(b) != 1 && b->rank > 1 && b->dims[0] != 1)
      return false;
  }
  return true;
}

static Status fold_one(Ctx *cx, Graph *g, Node *bn, Node *p) {
  Value *x = bn->in[0], *w = p->in[1];
  Value *b = p->nin > 2 ? p->in[2] : NULL;
  int64_t c = x->rank >= 2 ? x->dims[1] : 0;
  float *s, *t;
  if (c <= 0 || !bn_affine(cx, bn, c, &s, &t))
    return O2L_OK;
  ChannelOf ch = conv_channel;
  int64_t group = node_attr_int(p, "group", 1);
  float bscale = 1.0f;
  if (p->op == OP_ConvTranspose) {
    ch = convt_channel;
    if (group < 1 || w->dims[0] % group)
      return O2L_OK;
  } else if (p->op == OP_Gemm) {
    bool transb = node_attr_int(p, "transB", 0) != 0;
    ch = transb ? gemm_channel_transb : gemm_channel;
    if ((transb ? w->dims[0] : w->dims[1]) != c)
      return O2L_OK;
    bscale = node_attr_float(p, "beta", 1.0f);
  } else if (w->dims[0] != c) {
    return O2L_OK;
  }
  Value *nw = scaled_weights(cx, g, w, s, ch, group);
  Value *nb = folded_bias(cx, g, p, b, bscale, s, t, c);
  Value *in[3] = {p->in[0], nw, nb};
  if (!nw || !nb || !node_set_inputs(g, p, 3, in))
    return ctx_oom(cx, "folding BatchNormalization");
  if (p->op == OP_Gemm)
    TRY(node_set_attr_float(cx, p, "beta", 1.0f));
  /* The producer now writes the BN's output value. */
  p->out[0] = bn->out[0];
  bn->dead = true;
  return O2L_OK;
}

Status pass_fold_bn(Ctx *cx, Graph *g, PassStats *st) {
  graph_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *bn = g->nodes[i];
    if (bn->dead || bn->op != OP_BatchNormalization || !bn->in[0])
      continue;
    Node *p = bn->in[0]->producer;
    if (!foldable_producer(p, bn->in[0]))
      continue;
    TRY(fold_one(cx, g, bn, p));
    if (bn->dead) {
      st->bn_folded++;
      graph_uses(g);
    }
  }
  return O2L_OK;
}
