/* norm.c - BatchNormalization (inference form), Softmax and LogSoftmax,
 * LayerNormalization, InstanceNormalization, GroupNormalization and LRN:
 * parameters and shape inference.
 */
#include <math.h>
#include <string.h>

#include "ops/opattr.h"

/* Inputs 1..last of n (named names[i]): float vectors of `want` values,
 * one per `unit` ("channel"). */
static Status per_channel_ins(Ctx *cx, const Node *n, const char *const *names,
                              int last, int64_t want, const char *unit) {
  char buf[96];
  for (int i = 1; i <= last; i++) {
    const Value *v = n->in[i];
    if (v->rank != 1 || v->dims[0] != want)
      return op_invalid(cx, n, "%s has shape %s; expected (%lld), one value "
                        "per %s", names[i], value_shape_str(v, buf, sizeof buf),
                        (long long)want, unit);
    if (!dtype_is_float(v->dtype))
      return op_invalid(cx, n, "%s must be float, got %s", names[i],
                        dtype_name(v->dtype));
  }
  return O2L_OK;
}

Status bn_params(Ctx *cx, const Graph *g, const Node *n, BatchNormParams *p) {
  memset(p, 0, sizeof *p);
  int opset = op_opset(g);
  TRY(op_check_io(cx, n, 5, 5, 5));
  p->form = opset < 7 ? BN_FORM_V1
            : opset < 9 ? BN_FORM_V7
            : opset < 14 ? BN_FORM_V9 : BN_FORM_V14;
  const Value *x = n->in[0];
  TRY(op_need_feature_map(cx, n, 2));
  TRY(op_attr_float(cx, n, "epsilon", 1e-5, &p->epsilon));
  TRY(op_attr_float(cx, n, "momentum", 0.9, &p->momentum));
  if (!(p->epsilon >= 0))
    return op_invalid(cx, n, "epsilon must be >= 0, got %g", p->epsilon);
  int64_t spatial, training;
  TRY(op_attr_int(cx, n, "spatial", 1, &spatial));
  TRY(op_attr_int(cx, n, "training_mode", 0, &training));
  if (p->form < BN_FORM_V9 && spatial == 0)
    return op_unsup(cx, n, "spatial=0 (per-activation statistics) is not "
                    "supported");
  if (p->form == BN_FORM_V14 && training)
    return op_unsup(cx, n, "training_mode=1 is not supported; export the "
                    "model in eval mode");
  p->channels = x->dims[1];
  static const char *const names[] = {"X", "scale", "B", "input_mean",
                                      "input_var"};
  return per_channel_ins(cx, n, names, 4, p->channels, "channel");
}

Status bn_infer(Ctx *cx, Graph *g, Node *n) {
  BatchNormParams p;
  TRY(bn_params(cx, g, n, &p));
  const Value *x = n->in[0];
  op_set_out_like(n->out[0], x);
  /* Training-only outputs (running / saved statistics): shaped so the graph
   * is consistent; lowering rejects them if anything reads them. */
  for (int i = 1; i < n->nout; i++)
    if (n->out[i])
      op_set_out(n->out[i], n->in[3]->dtype, 1, &p.channels);
  return O2L_OK;
}

/* Constant BatchNormalization: weight standardization (timm's NFNet and
 * BiT ScaledStdConv2d / StdConv2d) normalizes conv weights with
 * F.batch_norm, which PyTorch exports as BatchNormalization over
 * constants; folded, the Conv gets constant weights.  Declines when a
 * training-only output is read. */
Status bn_fold(Ctx *cx, Graph *g, Node *n) {
  BatchNormParams p;
  TRY(bn_params(cx, g, n, &p));
  for (int i = 1; i < n->nout; i++)
    if (n->out[i] && (n->out[i]->nuses || n->out[i]->is_output))
      return O2L_OK;
  const Value *x = n->in[0];
  Value *y = n->out[0];
  double *k = arena_alloc(cx->arena, sizeof(double) * 2 * (size_t)p.channels, 8);
  void *out = k ? op_fold_alloc_raw(cx, y) : NULL; /* every element set */
  if (!out)
    return k ? cx->status : ctx_oom(cx, "folding BatchNormalization");
  for (int64_t c = 0; c < p.channels; c++) { /* y = x * k0 + k1 */
    double g_ = load_as_f64(n->in[1]->data, n->in[1]->dtype, (size_t)c);
    double b = load_as_f64(n->in[2]->data, n->in[2]->dtype, (size_t)c);
    double m = load_as_f64(n->in[3]->data, n->in[3]->dtype, (size_t)c);
    double v = load_as_f64(n->in[4]->data, n->in[4]->dtype, (size_t)c);
    k[2 * c] = g_ / sqrt(v + p.epsilon);
    k[2 * c + 1] = b - m * k[2 * c];
  }
  int64_t inner = 1, total = op_numel(y);
  for (int i = 2; i < x->rank; i++)
    inner *= x->dims[i];
  bool f32 = x->dtype == DT_F32 && y->dtype == DT_F32;
  for (int64_t i0 = 0; i0 < total; i0 += inner) { /* one channel row */
    int64_t c = (i0 / inner) % p.channels;
    double k0 = k[2 * c], k1 = k[2 * c + 1];
    if (f32) { /* weights: millions of elements, no per-element switch */
      const unsigned char *src = (const unsigned char *)x->data + 4 * i0;
      float *dst = (float *)out + i0;
      for (int64_t i = 0; i < inner; i++) {
        float v;
        memcpy(&v, src + 4 * i, 4);
        dst[i] = (float)(v * k0 + k1);
      }
      continue;
    }
    for (int64_t i = i0; i < i0 + inner; i++)
      store_from_f64(out, y->dtype, (size_t)i,
                     load_as_f64(x->data, x->dtype, (size_t)i) * k0 + k1);
  }
  return O2L_OK;
}

Status softmax_params(Ctx *cx, const Graph *g, const Node *n,
                      SoftmaxParams *p) {
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 1, 1, 1));
  const Value *x = n->in[0];
  TRY(op_need_float(cx, n, 0, "input"));
  if (x->rank < 1)
    return op_invalid(cx, n, "input must have rank >= 1, got a scalar");
  p->coerce_2d = op_opset(g) < 13;
  int64_t axis;
  TRY(op_attr_int(cx, n, "axis", p->coerce_2d ? 1 : -1, &axis));
  return op_axis(cx, n, "axis", axis, x->rank, &p->axis);
}

Status softmax_infer(Ctx *cx, Graph *g, Node *n) {
  SoftmaxParams p;
  TRY(softmax_params(cx, g, n, &p));
  op_set_out_like(n->out[0], n->in[0]);
  return O2L_OK;
}

/* ---- LayerNormalization, InstanceNormalization, LRN --------------------- */

/* Optional float input i of n that must broadcast unidirectionally to
 * (rank, dims). */
static Status norm_param_in(Ctx *cx, const Node *n, int i, const char *what,
                            int rank, const int64_t *dims) {
  const Value *v = op_in(n, i);
  if (!v)
    return O2L_OK;
  char b1[96], b2[96];
  if (!dtype_is_float(v->dtype))
    return op_invalid(cx, n, "%s must be float, got %s", what,
                      dtype_name(v->dtype));
  if (!op_unidir_ok(rank, dims, v->rank, v->dims))
    return op_invalid(cx, n, "%s has shape %s, which does not broadcast to "
                      "the normalized shape %s", what,
                      value_shape_str(v, b1, sizeof b1),
                      dims_str(rank, dims, b2, sizeof b2));
  return O2L_OK;
}

static Status positive_epsilon(Ctx *cx, const Node *n, double *eps) {
  TRY(op_attr_float(cx, n, "epsilon", 1e-5, eps));
  if (!(*eps > 0))
    return op_invalid(cx, n, "epsilon must be > 0, got %g", *eps);
  return O2L_OK;
}

Status layernorm_params(Ctx *cx, const Graph *g, const Node *n,
                        LayerNormParams *p) {
  (void)g;
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 2, 3, 3));
  const Value *x = n->in[0];
  TRY(op_need_float(cx, n, 0, "input X"));
  if (x->rank < 1)
    return op_invalid(cx, n, "input X must have rank >= 1, got a scalar");
  int64_t axis;
  TRY(op_attr_int(cx, n, "axis", -1, &axis));
  TRY(op_axis(cx, n, "axis", axis, x->rank, &p->axis));
  TRY(positive_epsilon(cx, n, &p->epsilon));
  int nr = x->rank - p->axis;
  TRY(norm_param_in(cx, n, 1, "Scale", nr, x->dims + p->axis));
  TRY(norm_param_in(cx, n, 2, "B", nr, x->dims + p->axis));
  p->has_bias = op_in(n, 2) != NULL;
  return O2L_OK;
}

Status layernorm_infer(Ctx *cx, Graph *g, Node *n) {
  LayerNormParams p;
  TRY(layernorm_params(cx, g, n, &p));
  const Value *x = n->in[0];
  op_set_out_like(n->out[0], x);
  int64_t d[O2L_MAX_RANK];
  for (int i = 0; i < x->rank; i++)
    d[i] = i < p.axis ? x->dims[i] : 1;
  for (int i = 1; i < n->nout; i++) /* Mean, InvStdDev: computed in float */
    if (n->out[i])
      op_set_out(n->out[i], DT_F32, x->rank, d);
  return O2L_OK;
}

Status instnorm_params(Ctx *cx, const Graph *g, const Node *n,
                       InstanceNormParams *p) {
  (void)g;
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 3, 3, 1));
  TRY(op_need_feature_map(cx, n, 3));
  TRY(positive_epsilon(cx, n, &p->epsilon));
  p->channels = n->in[0]->dims[1];
  static const char *const names[] = {"X", "scale", "B"};
  return per_channel_ins(cx, n, names, 2, p->channels, "channel");
}

Status instnorm_infer(Ctx *cx, Graph *g, Node *n) {
  InstanceNormParams p;
  TRY(instnorm_params(cx, g, n, &p));
  op_set_out_like(n->out[0], n->in[0]);
  return O2L_OK;
}

Status groupnorm_params(Ctx *cx, const Graph *g, const Node *n,
                        GroupNormParams *p) {
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 3, 3, 1));
  const Value *x = n->in[0];
  TRY(op_need_feature_map(cx, n, 2));
  TRY(positive_epsilon(cx, n, &p->epsilon));
  TRY(op_attr_int(cx, n, "num_groups", 0, &p->groups));
  if (!node_attr(n, "num_groups"))
    return op_invalid(cx, n, "the num_groups attribute is required");
  p->channels = x->dims[1];
  if (p->groups < 1 || p->channels % p->groups)
    return op_invalid(cx, n, "num_groups %lld must divide the %lld channels",
                      (long long)p->groups, (long long)p->channels);
  p->per_group = op_opset(g) < 21;
  int64_t want = p->per_group ? p->groups : p->channels;
  static const char *const names[] = {"X", "scale", "bias"};
  return per_channel_ins(cx, n, names, 2, want,
                         p->per_group ? "group (before opset 21)" : "channel");
}

Status groupnorm_infer(Ctx *cx, Graph *g, Node *n) {
  GroupNormParams p;
  TRY(groupnorm_params(cx, g, n, &p));
  op_set_out_like(n->out[0], n->in[0]);
  return O2L_OK;
}

Status lrn_params(Ctx *cx, const Graph *g, const Node *n, LrnParams *p) {
  (void)g;
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 1, 1, 1));
  TRY(op_need_feature_map(cx, n, 3));
  TRY(op_attr_int(cx, n, "size", 0, &p->size));
  if (!node_attr(n, "size"))
    return op_invalid(cx, n, "the size attribute is required");
  if (p->size < 1)
    return op_invalid(cx, n, "size must be >= 1, got %lld",
                      (long long)p->size);
  TRY(op_attr_float(cx, n, "alpha", 1e-4, &p->alpha));
  TRY(op_attr_float(cx, n, "beta", 0.75, &p->beta));
  TRY(op_attr_float(cx, n, "bias", 1.0, &p->bias));
  return O2L_OK;
}

Status lrn_infer(Ctx *cx, Graph *g, Node *n) {
  LrnParams p;
  TRY(lrn_params(cx, g, n, &p));
  op_set_out_like(n->out[0], n->in[0]);
  return O2L_OK;
}
