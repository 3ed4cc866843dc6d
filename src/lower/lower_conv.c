/* lower_conv.c - convolutions, pooling and dense layers to TFLite.
 *
 * Feature maps are channels-last here: Conv reads NHWC and writes NHWC, and
 * 1-D maps (N,C,L) are stored as [N,1,L,C] so CONV_2D / pools serve them
 * too.  Weights are permuted at conversion time (OIHW -> OHWI, depthwise
 * -> [1,kh,kw,C*mult], ConvTranspose IOHW -> OHWI).
 *
 * Padding: ONNX gives explicit begin/end pads; TFLite has SAME and VALID.
 * Two paddings give the same result when they produce the same number of
 * windows and the first window starts at the same place (cells a window
 * reads past the end are zeros under both, or ignored by max pooling), so
 * only the output size and the begin pad are compared.  When neither fits,
 * one PAD (PADV2 with the lowest float for max pooling) goes in front of a
 * VALID operator — never PAD plus SAME.  Average pools whose divisor ONNX
 * computes differently from TFLite get a constant per-position correction
 * (one MUL) instead of being refused.
 *
 * Dense layers: Gemm / MatMul with constant weights become
 * FULLY_CONNECTED.  When the input is a flattened channels-last map, the
 * stored feature order differs from ONNX's; the weight columns are permuted
 * instead of the data (lw_in_rows), so no TRANSPOSE is needed.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "lower/lower.h"
#include "lower/lower_3d.h"
#include "ops/opattr.h"

/* ---- padding ------------------------------------------------------------- */

typedef struct PadChoice {
  int padding;                 /* TFL_PAD_SAME / TFL_PAD_VALID */
  bool explicit_pad;           /* a PAD goes first (then VALID) */
  int64_t before[2], after[2]; /* explicit pad of H, W */
} PadChoice;

/* Window geometry of one spatial axis in H, W order (1-D maps: H is a
 * dummy axis of size 1). */
typedef struct Axis2 {
  int64_t in, k, s, d, pb, out;
} Axis2;

static bool fits_same(const Axis2 *a) {
  int64_t effk = (a->k - 1) * a->d + 1;
  int64_t out = (a->in + a->s - 1) / a->s;
  int64_t total = (out - 1) * a->s + effk - a->in;
  if (total < 0)
    total = 0;
  return a->out == out && a->pb == total / 2;
}

static bool fits_valid(const Axis2 *a) {
  int64_t effk = (a->k - 1) * a->d + 1;
  int64_t out = a->in >= effk ? (a->in - effk) / a->s + 1 : 0;
  return a->out == out && a->pb == 0;
}

/* same_ok: SAME may be used (not for average pools that count padding). */
static PadChoice choose_padding(const Axis2 ax[2], bool same_ok) {
  PadChoice c;
  memset(&c, 0, sizeof c);
  if (fits_valid(&ax[0]) && fits_valid(&ax[1])) {
    c.padding = TFL_PAD_VALID;
    return c;
  }
  if (same_ok && fits_same(&ax[0]) && fits_same(&ax[1])) {
    c.padding = TFL_PAD_SAME;
    return c;
  }
  c.padding = TFL_PAD_VALID;
  c.explicit_pad = true;
  for (int i = 0; i < 2; i++) {
    int64_t effk = (ax[i].k - 1) * ax[i].d + 1;
    int64_t need = (ax[i].out - 1) * ax[i].s + effk - ax[i].in - ax[i].pb;
    c.before[i] = ax[i].pb;
    c.after[i] = need > 0 ? need : 0;
  }
  return c;
}

/* PAD (or PADV2 with `value`) of an NHWC tensor on H and W. */
static Value *emit_pad(Lower *lw, Value *x, const PadChoice *c, bool lowest) {
  int32_t pads[8] = {0, 0, (int32_t)c->before[0], (int32_t)c->after[0],
                     (int32_t)c->before[1], (int32_t)c->after[1], 0, 0};
  int64_t pdims[2] = {4, 2};
  int64_t od[4] = {x->dims[0], x->dims[1] + c->before[0] + c->after[0],
                   x->dims[2] + c->before[1] + c->after[1], x->dims[3]};
  Value *pc = lw_const(lw, "paddings", DT_I32, 2, pdims, pads);
  Value *out = lw_tensor(lw, "padded", x->dtype, 4, od);
  if (!pc || !out)
    return NULL;
  if (!lowest) {
    Value *in[2] = {x, pc};
    return lw_op(lw, TFL_PAD, 2, in, 1, &out) ? out : NULL;
  }
  Value *val = lw_const_f32_scalar(lw, "pad_value", -FLT_MAX);
  Value *in[3] = {x, pc, val};
  return val && lw_op(lw, TFL_PADV2, 3, in, 1, &out) ? out : NULL;
}

/* True if every value of t is >= 0 (it comes from a ReLU-like operator,
 * possibly through reshapes), so zero padding cannot win a max. */
static bool nonnegative(Lower *lw, const Value *t) {
  const Node *p = lw_producer(lw, t);
  while (p && p->op == TFL_RESHAPE && p->in[0])
    p = lw_producer(lw, p->in[0]);
  if (!p)
    return false;
  return p->op == TFL_RELU || p->op == TFL_RELU6 || p->op == TFL_LOGISTIC ||
         p->opt.act == TFL_ACT_RELU || p->opt.act == TFL_ACT_RELU6;
}

/* ---- shared: the feature-map input ---------------------------------------- */

/* Input 0 as NHWC [N, H, W, C] (1-D maps: [N, 1, L, C]). */
static Value *feature_map(Lower *lw, Value *x, int nsp, const char *why) {
  int perm[O2L_MAX_RANK];
  perm_channels_last(x->rank, perm);
  int64_t pd[4] = {x->dims[0], nsp == 1 ? 1 : x->dims[2],
                   nsp == 1 ? x->dims[2] : x->dims[3], x->dims[1]};
  return lw_in_perm(lw, x, perm, 4, pd, why);
}

/* Output tensor of a channels-last operator and its record. */
static Value *feature_out(Lower *lw, Value *y, int nsp, int64_t oh,
                          int64_t ow) {
  (void)nsp; /* 1-D maps pass oh = 1 */
  int64_t od[4] = {y->dims[0], oh, ow, y->dims[1]};
  Value *t = lw_tensor(lw, NULL, y->dtype, 4, od);
  if (t) {
    int perm[O2L_MAX_RANK];
    perm_channels_last(y->rank, perm);
    lw_set_perm(lw, y, t, perm);
  }
  return t;
}

static void conv_axes(const ConvParams *p, Axis2 ax[2]) {
  for (int i = 0; i < 2; i++) {
    int k = p->nsp == 1 ? 0 : i;
    bool dummy = p->nsp == 1 && i == 0;
    ax[i].in = dummy ? 1 : p->in[k];
    ax[i].k = dummy ? 1 : p->kernel[k];
    ax[i].s = dummy ? 1 : p->stride[k];
    ax[i].d = dummy ? 1 : p->dilation[k];
    ax[i].pb = dummy ? 0 : p->pad_begin[k];
    ax[i].out = dummy ? 1 : p->out[k];
  }
}

/* ---- Conv ---------------------------------------------------------------- */

/* Conv weight [M, C/g, k...] as a TFLite filter: OHWI, or [1,kh,kw,M] for
 * depthwise; 1-D kernels get a leading kh of 1. */
static Value *conv_filter(Lower *lw, Value *w, const ConvParams *p) {
  int nsp = p->nsp;
  int64_t kh = nsp == 1 ? 1 : p->kernel[0], kw = p->kernel[nsp - 1];
  int perm[4];
  int64_t fd[4];
  if (p->depthwise) {
    /* [M, 1, kh, kw] -> [1, kh, kw, M] */
    if (nsp == 1) {
      perm[0] = 1, perm[1] = 2, perm[2] = 0;
    } else {
      perm[0] = 1, perm[1] = 2, perm[2] = 3, perm[3] = 0;
    }
    fd[0] = 1, fd[1] = kh, fd[2] = kw, fd[3] = p->out_ch;
  } else {
    /* [M, Cg, kh, kw] -> [M, kh, kw, Cg] */
    if (nsp == 1) {
      perm[0] = 0, perm[1] = 2, perm[2] = 1;
    } else {
      perm[0] = 0, perm[1] = 2, perm[2] = 3, perm[3] = 1;
    }
    fd[0] = p->out_ch, fd[1] = kh, fd[2] = kw, fd[3] = p->in_ch / p->group;
  }
  return lw_const_perm(lw, w, perm, 4, fd, DT_F32);
}

/* The bias as float32 [M]; zeros when the ONNX node has none, because
 * LiteRT's CONV_2D and DEPTHWISE_CONV_2D refuse a missing one. */
static Value *conv_bias(Lower *lw, Node *n, const ConvParams *p) {
  Value *b = op_in(n, 2);
  if (!b) {
    float *zeros = arena_alloc(lw->cx->arena,
                               sizeof(float) * (size_t)p->out_ch, 16);
    int64_t d[1] = {p->out_ch};
    if (!zeros) {
      ctx_oom(lw->cx, "creating a zero bias");
      return NULL;
    }
    return lw_const_take(lw, "bias", DT_F32, 1, d, zeros);
  }
  if (!value_is_const(b)) {
    lw_err(lw, O2L_ERR_UNSUPPORTED, "the bias is computed at run time; "
           "only constant biases are supported");
    return NULL;
  }
  int64_t bd[1] = {p->out_ch};
  return lw_const_perm(lw, b, NULL, 1, bd, DT_F32);
}

Status conv_lower(Lower *lw, Node *n) {
  ConvParams p;
  TRY(conv_params(lw->cx, lw->src, n, &p));
  if (p.nsp > 2)
    return conv3d_lower(lw, n, &p);
  Value *x = n->in[0], *w = n->in[1], *y = n->out[0];
  if (!value_is_const(w))
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "the weight '%s' is computed at "
                  "run time; only constant weights are supported", w->name);
  if (x->dtype != DT_F32)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "input type %s (float32 expected)",
                  dtype_name(x->dtype));
  Axis2 ax[2];
  conv_axes(&p, ax);
  PadChoice pc = choose_padding(ax, true);
  Value *in = feature_map(lw, x, p.nsp, "convolution reads channels-last");
  Value *filter = conv_filter(lw, w, &p);
  Value *bias = conv_bias(lw, n, &p);
  if (!in || !filter || !bias)
    return lw->cx->status ? lw->cx->status : O2L_ERR_INTERNAL;
  if (pc.explicit_pad && !(in = emit_pad(lw, in, &pc, false)))
    return lw->cx->status;
  Value *out = feature_out(lw, y, p.nsp, ax[0].out, ax[1].out);
  Value *ins[3] = {in, filter, bias};
  Node *op = lw_op(lw, p.depthwise ? TFL_DEPTHWISE_CONV_2D : TFL_CONV_2D, 3,
                   ins, 1, &out);
  if (!op)
    return lw->cx->status;
  op->opt.padding = pc.padding;
  op->opt.stride_h = (int)ax[0].s;
  op->opt.stride_w = (int)ax[1].s;
  op->opt.dilation_h = (int)ax[0].d;
  op->opt.dilation_w = (int)ax[1].d;
  if (p.depthwise)
    op->opt.depth_multiplier = (int)(p.out_ch / p.in_ch);
  return O2L_OK;
}

/* ---- ConvTranspose -------------------------------------------------------- */

/* TFLite computes a transpose conv as the gradient of a conv whose SAME
 * padding puts floor(total/2) before, total = (in-1)*s + k - out. */
static int64_t tconv_same_top(int64_t in, int64_t k, int64_t s, int64_t out) {
  int64_t total = (in - 1) * s + k - out;
  return total > 0 ? total / 2 : 0;
}

Status convt_lower(Lower *lw, Node *n) {
  ConvParams p;
  TRY(conv_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *w = n->in[1], *y = n->out[0];
  if (p.nsp > 2)
    return convt3d_lower(lw, n, &p);
  if (p.group != 1)
    return lw_err(lw, O2L_ERR_UNSUPPORTED,
                  "grouped ConvTranspose (group %lld) has no TFLite "
                  "equivalent", (long long)p.group);
  if (!value_is_const(w))
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "the weight '%s' is computed at "
                  "run time", w->name);
  Axis2 ax[2];
  conv_axes(&p, ax);
  if (ax[0].d != 1 || ax[1].d != 1)
    return lw_err(lw, O2L_ERR_UNSUPPORTED,
                  "dilated ConvTranspose: TRANSPOSE_CONV has no dilation");
  /* Full (VALID) output size and where ONNX's output starts in it. */
  int64_t full[2], top[2];
  bool same = true, valid = true;
  for (int i = 0; i < 2; i++) {
    full[i] = (ax[i].in - 1) * ax[i].s + ax[i].k;
    top[i] = ax[i].pb;
    /* LiteRT accepts SAME only when ceil(out/s) == in, and VALID only at
     * the full size (docs/tflite-facts.md); anything else is cropped. */
    same &= tconv_same_top(ax[i].in, ax[i].k, ax[i].s, ax[i].out) == top[i] &&
            (ax[i].out + ax[i].s - 1) / ax[i].s == ax[i].in;
    valid &= top[i] == 0 && ax[i].out == full[i];
  }
  Value *in = feature_map(lw, x, p.nsp, "convolution reads channels-last");
  /* W [C, M, kh, kw] -> [M, kh, kw, C] */
  int perm[4];
  int64_t fd[4] = {p.out_ch, ax[0].k, ax[1].k, p.in_ch};
  if (p.nsp == 1) {
    perm[0] = 1, perm[1] = 2, perm[2] = 0;
  } else {
    perm[0] = 1, perm[1] = 2, perm[2] = 3, perm[3] = 0;
  }
  Value *filter = lw_const_perm(lw, w, perm, 4, fd, DT_F32);
  Value *bias = p.has_bias ? conv_bias(lw, n, &p) : NULL;
  if (!in || !filter || (p.has_bias && !bias))
    return lw->cx->status ? lw->cx->status : O2L_ERR_INTERNAL;
  /* Otherwise the full (VALID) output is cropped to ONNX's window; an
   * output_padding reaching past it is zero padding that still gets the
   * bias, so then the bias is added after the PAD. */
  bool crop = !same && !valid;
  int64_t keep[2], extra[2];
  for (int i = 0; i < 2; i++) {
    keep[i] = ax[i].out < full[i] - top[i] ? ax[i].out : full[i] - top[i];
    extra[i] = ax[i].out - keep[i];
  }
  bool late_bias = crop && (extra[0] > 0 || extra[1] > 0);
  int64_t oh = crop ? full[0] : ax[0].out, ow = crop ? full[1] : ax[1].out;
  int32_t oshape[4] = {(int32_t)y->dims[0], (int32_t)oh, (int32_t)ow,
                       (int32_t)p.out_ch};
  Value *os = lw_const_i32(lw, "output_shape", 4, oshape);
  Value *out;
  if (crop) {
    int64_t fdims[4] = {y->dims[0], oh, ow, p.out_ch};
    out = lw_tensor(lw, "full", y->dtype, 4, fdims);
  } else {
    out = feature_out(lw, y, p.nsp, oh, ow);
  }
  Value *ins[4] = {os, filter, in, bias};
  Node *op = lw_op(lw, TFL_TRANSPOSE_CONV, late_bias ? 3 : 4, ins, 1, &out);
  if (!os || !op)
    return lw->cx->status;
  op->opt.padding = valid ? TFL_PAD_VALID : same ? TFL_PAD_SAME : TFL_PAD_VALID;
  op->opt.stride_h = (int)ax[0].s;
  op->opt.stride_w = (int)ax[1].s;
  if (!crop)
    return O2L_OK;
  int32_t begin[4] = {0, (int32_t)top[0], (int32_t)top[1], 0};
  int32_t size[4] = {-1, (int32_t)keep[0], (int32_t)keep[1], -1};
  Value *bc = lw_const_i32(lw, "begin", 4, begin);
  Value *sc = lw_const_i32(lw, "size", 4, size);
  Value *res = late_bias ? lw_tensor(lw, "window", y->dtype, 4,
                                     (int64_t[4]){y->dims[0], keep[0],
                                                  keep[1], p.out_ch})
                         : feature_out(lw, y, p.nsp, ax[0].out, ax[1].out);
  Value *sin[3] = {out, bc, sc};
  if (!bc || !sc || !lw_op(lw, TFL_SLICE, 3, sin, 1, &res))
    return lw->cx->status;
  if (!late_bias)
    return O2L_OK;
  PadChoice pc = {TFL_PAD_VALID, true, {0, 0}, {extra[0], extra[1]}};
  Value *padded = emit_pad(lw, res, &pc, false);
  Value *fin = feature_out(lw, y, p.nsp, ax[0].out, ax[1].out);
  Value *ain[2] = {padded, bias};
  if (!padded || !fin || !lw_op(lw, TFL_ADD, 2, ain, 1, &fin))
    return lw->cx->status;
  return O2L_OK;
}

/* ---- pools ---------------------------------------------------------------- */

/* Cells of one axis that ONNX's average counts for window `o`. */
static int64_t avg_count(const PoolParams *p, int k, int64_t o) {
  int64_t start = o * p->stride[k] - p->pad_begin[k];
  int64_t end = start + p->kernel[k];
  int64_t lo = p->count_include_pad ? -p->pad_begin[k] : 0;
  int64_t hi = p->count_include_pad ? p->in[k] + p->pad_end[k] : p->in[k];
  if (start < lo)
    start = lo;
  if (end > hi)
    end = hi;
  return end > start ? end - start : 0;
}

/* After PAD(0) + VALID average (which divides by the full window), scale
 * every output to ONNX's divisor; NULL when the divisors already agree. */
static Value *avg_correction(Lower *lw, const PoolParams *p, const Axis2 ax[2],
                             bool *needed) {
  int64_t oh = ax[0].out, ow = ax[1].out;
  float *f = arena_alloc(lw->cx->arena, sizeof(float) * (size_t)(oh * ow), 16);
  if (!f) {
    ctx_oom(lw->cx, "building an average-pool correction");
    return NULL;
  }
  double area = (double)(ax[0].k * ax[1].k);
  *needed = false;
  for (int64_t i = 0; i < oh; i++)
    for (int64_t j = 0; j < ow; j++) {
      int64_t ch = p->nsp == 1 ? 1 : avg_count(p, 0, i);
      int64_t cw = avg_count(p, p->nsp - 1, j);
      double c = (double)(ch * cw);
      f[i * ow + j] = c > 0 ? (float)(area / c) : 0.0f;
      if (f[i * ow + j] != 1.0f)
        *needed = true;
    }
  if (!*needed)
    return NULL;
  int64_t d[4] = {1, oh, ow, 1};
  return lw_const_take(lw, "avg_divisor", DT_F32, 4, d, f);
}

Status pool_lower(Lower *lw, Node *n) {
  PoolParams p;
  TRY(pool_params(lw->cx, lw->src, n, &p));
  if (n->nout > 1 && n->out[1] && (n->out[1]->nuses || n->out[1]->is_output))
    return lw_err(lw, O2L_ERR_UNSUPPORTED,
                  "the Indices output of MaxPool has no TFLite equivalent");
  if (p.nsp > 2)
    return pool3d_lower(lw, n, &p);
  Axis2 ax[2];
  for (int i = 0; i < 2; i++) {
    int k = p.nsp == 1 ? 0 : i;
    bool dummy = p.nsp == 1 && i == 0;
    ax[i].in = dummy ? 1 : p.in[k];
    ax[i].k = dummy ? 1 : p.kernel[k];
    ax[i].s = dummy ? 1 : p.stride[k];
    ax[i].d = dummy ? 1 : p.dilation[k];
    ax[i].pb = dummy ? 0 : p.pad_begin[k];
    ax[i].out = dummy ? 1 : p.out[k];
    if (ax[i].d != 1)
      return lw_err(lw, O2L_ERR_UNSUPPORTED,
                    "dilated pooling has no TFLite equivalent");
  }
  Value *x = n->in[0], *y = n->out[0];
  bool any_pad = false;
  for (int k = 0; k < p.nsp; k++)
    any_pad |= p.pad_begin[k] || p.pad_end[k];
  /* SAME pools ignore padded cells: right for max, and for average when
   * ONNX does not count the padding either. */
  bool same_ok = p.is_max || !p.count_include_pad || !any_pad;
  PadChoice pc = choose_padding(ax, same_ok);
  Value *in = feature_map(lw, x, p.nsp, "pooling reads channels-last");
  if (!in)
    return lw->cx->status;
  Value *scale = NULL;
  bool scaled = false;
  if (pc.explicit_pad) {
    if (!p.is_max && !(scale = avg_correction(lw, &p, ax, &scaled)) && scaled)
      return lw->cx->status;
    if (!(in = emit_pad(lw, in, &pc, p.is_max && !nonnegative(lw, in))))
      return lw->cx->status;
  }
  Value *out = scaled ? lw_tensor(lw, "sum_like", y->dtype, 4,
                                  (int64_t[4]){y->dims[0], ax[0].out,
                                               ax[1].out, y->dims[1]})
                      : feature_out(lw, y, p.nsp, ax[0].out, ax[1].out);
  Node *op = lw_op(lw, p.is_max ? TFL_MAX_POOL_2D : TFL_AVERAGE_POOL_2D, 1,
                   &in, 1, &out);
  if (!op)
    return lw->cx->status;
  op->opt.padding = pc.padding;
  op->opt.stride_h = (int)ax[0].s;
  op->opt.stride_w = (int)ax[1].s;
  op->opt.filter_h = (int)ax[0].k;
  op->opt.filter_w = (int)ax[1].k;
  if (!scaled)
    return O2L_OK;
  Value *res = feature_out(lw, y, p.nsp, ax[0].out, ax[1].out);
  Value *min[2] = {out, scale};
  return lw_op(lw, TFL_MUL, 2, min, 1, &res) ? O2L_OK : lw->cx->status;
}

Status gpool_lower(Lower *lw, Node *n) {
  Value *x = n->in[0], *y = n->out[0];
  if (x->rank == 5)
    return gpool3d_lower(lw, n);
  if (x->rank < 3 || x->rank > 4)
    return lw_err(lw, O2L_ERR_UNSUPPORTED,
                  "global pooling of a rank-%d tensor (3-D to 5-D expected)",
                  x->rank);
  int nsp = x->rank - 2;
  Value *in = feature_map(lw, x, nsp, "pooling reads channels-last");
  if (!in)
    return lw->cx->status;
  Value *out = feature_out(lw, y, nsp, 1, 1);
  if (!out)
    return lw->cx->status;
  if (n->op == OP_GlobalMaxPool) {
    /* A pool over the whole map: runs on NPUs, unlike REDUCE_MAX. */
    Node *op = lw_op(lw, TFL_MAX_POOL_2D, 1, &in, 1, &out);
    if (!op)
      return lw->cx->status;
    op->opt.padding = TFL_PAD_VALID;
    op->opt.stride_h = op->opt.stride_w = 1;
    op->opt.filter_h = (int)in->dims[1];
    op->opt.filter_w = (int)in->dims[2];
    return O2L_OK;
  }
  int32_t axes[2] = {1, 2};
  Value *ac = lw_const_i32(lw, "axes", 2, axes);
  Value *ins[2] = {in, ac};
  Node *op = ac ? lw_op(lw, TFL_MEAN, 2, ins, 1, &out) : NULL;
  if (!op)
    return lw->cx->status;
  op->opt.keep_dims = true;
  return O2L_OK;
}

/* ---- dense layers ---------------------------------------------------------- */

static inline float ld_f32(const void *p, size_t i) {
  float v;
  memcpy(&v, (const unsigned char *)p + i * 4, 4);
  return v;
}

/* FULLY_CONNECTED weights [N, K] from a constant B: W[n][k] =
 * alpha * B'(k, n), columns permuted to the stored feature order.  The
 * common cases avoid the element-wise loop (VGG's first dense layer has
 * 100M weights): a PyTorch Linear (B = W, transB) is used as it is, a
 * plain [K,N] B is transposed by permute_copy. */
static Value *fc_weights(Lower *lw, Value *b, bool trans_b, double alpha,
                         int64_t K, int64_t N, const int64_t *kperm) {
  int64_t d[2] = {N, K};
  if (b->dtype == DT_F32 && alpha == 1.0 && !kperm)
    return lw_const_perm(lw, b, trans_b ? NULL : (int[2]){1, 0}, 2, d,
                         DT_UNDEF);
  float *w = arena_alloc(lw->cx->arena, sizeof(float) * (size_t)(N * K) + 1, 16);
  if (!w) {
    ctx_oom(lw->cx, "building dense-layer weights");
    return NULL;
  }
  bool f32 = b->dtype == DT_F32;
  if (trans_b) { /* rows of B are rows of W: gather within a row */
    for (int64_t i = 0; i < N; i++)
      for (int64_t j = 0; j < K; j++) {
        size_t src = (size_t)(i * K + (kperm ? kperm[j] : j));
        double v = f32 ? ld_f32(b->data, src)
                       : load_as_f64(b->data, b->dtype, src);
        w[i * K + j] = (float)(alpha * v);
      }
  } else { /* B is [K,N]: read 64 contiguous outputs of each input row */
    for (int64_t i0 = 0; i0 < N; i0 += 64) {
      int64_t i1 = i0 + 64 < N ? i0 + 64 : N;
      for (int64_t j = 0; j < K; j++) {
        int64_t kk = kperm ? kperm[j] : j;
        for (int64_t i = i0; i < i1; i++) {
          size_t src = (size_t)(kk * N + i);
          double v = f32 ? ld_f32(b->data, src)
                         : load_as_f64(b->data, b->dtype, src);
          w[i * K + j] = (float)(alpha * v);
        }
      }
    }
  }
  ctx_release(lw->cx, b->data, b->nbytes);
  return lw_const_take(lw, "weights", DT_F32, 2, d, w);
}

/* Bias [N] = beta * C when C broadcasts along rows; NULL if absent. */
static Value *fc_bias(Lower *lw, Value *c, double beta, int64_t N) {
  float *bias = arena_alloc(lw->cx->arena, sizeof(float) * (size_t)N, 16);
  if (!bias) {
    ctx_oom(lw->cx, "building a dense-layer bias");
    return NULL;
  }
  int64_t cn = value_numel(c);
  for (int64_t i = 0; i < N; i++)
    bias[i] = (float)(beta * load_as_f64(c->data, c->dtype,
                                         (size_t)(cn == 1 ? 0 : i)));
  int64_t d[1] = {N};
  return lw_const_take(lw, "bias", DT_F32, 1, d, bias);
}

/* Emits FULLY_CONNECTED for rows of `a` (logical [..., K]) times constant
 * B, writing y; keep_num_dims keeps a's leading axes. */
static Status emit_fc(Lower *lw, Value *a, Value *b, bool trans_b,
                      double alpha, Value *c, double beta, Value *y,
                      int64_t K, int64_t N) {
  /* keep_num_dims: TFLite keeps the input's leading dims, so they must be
   * ONNX's; otherwise rows may arrive with their features permuted. */
  bool keep = y->rank > 2;
  const int64_t *kperm = NULL;
  /* With keep_num_dims the leading axes may be stored in any order as
   * long as the features are last: the output keeps that order. */
  int perm[O2L_MAX_RANK];
  bool feat_last = keep && a->rank == y->rank && lw_perm_of(lw, a, perm) &&
                   perm[a->rank - 1] == a->rank - 1;
  if (keep && !feat_last)
    perm_identity(y->rank, perm);
  Value *in = keep ? lw_in_perm(lw, a, perm, 0, NULL, "dense layer reads "
                                "the features last")
                   : lw_in_rows(lw, a, K, &kperm, "dense layer reads rows "
                                "in order");
  if (!in)
    return lw->cx->status;
  int64_t ydims[O2L_MAX_RANK];
  if (keep)
    perm_apply(y->rank, y->dims, perm, ydims);
  Value *w = fc_weights(lw, b, trans_b, alpha, K, N, kperm);
  Value *bias = c ? fc_bias(lw, c, beta, N) : NULL;
  if (!w || (c && !bias))
    return lw->cx->status;
  Value *out = lw_tensor(lw, NULL, y->dtype, keep ? y->rank : 2,
                         keep ? ydims : (int64_t[2]){value_numel(y) / N, N});
  Value *ins[3] = {in, w, bias};
  Node *op = out ? lw_op(lw, TFL_FULLY_CONNECTED, 3, ins, 1, &out) : NULL;
  if (!op)
    return lw->cx->status;
  op->opt.keep_num_dims = keep;
  lw_set_perm(lw, y, out, keep ? perm : NULL);
  return O2L_OK;
}

Status gemm_lower(Lower *lw, Node *n) {
  GemmParams p;
  TRY(gemm_params(lw->cx, lw->src, n, &p));
  Value *a = n->in[0], *b = n->in[1], *c = op_in(n, 2), *y = n->out[0];
  if (!value_is_const(b))
    return lw_err(lw, O2L_ERR_UNSUPPORTED,
                  "Gemm with B computed at run time is not supported");
  if (p.trans_a)
    return lw_err(lw, O2L_ERR_UNSUPPORTED,
                  "Gemm with transA=1 on a run-time A is not supported");
  bool bias_ok = !c || (value_is_const(c) &&
                        (value_numel(c) == 1 || value_numel(c) == p.N) &&
                        (c->rank < 2 || c->dims[0] == 1));
  if (bias_ok)
    return emit_fc(lw, a, b, p.trans_b, p.alpha, c, p.beta, y, p.K, p.N);
  return lw_err(lw, O2L_ERR_UNSUPPORTED,
                "Gemm with a full [M,N] C term is not supported yet");
}

/* How a BATCH_MATMUL operand of rank r is stored: batch axes in some
 * order q, then its two matrix axes, possibly swapped (*adj).  False if
 * the matrix axes are not the last two stored. */
static bool matmul_order(Lower *lw, Value *v, int *q, bool *adj) {
  int r = v->rank, perm[O2L_MAX_RANK];
  if (value_is_const(v) || !lw_perm_of(lw, v, perm))
    return false;
  int a = perm[r - 2], b = perm[r - 1];
  if (!((a == r - 2 && b == r - 1) || (a == r - 1 && b == r - 2)))
    return false;
  memcpy(q, perm, sizeof(int) * (size_t)(r - 2));
  *adj = a == r - 1;
  return true;
}

/* Operand v read with batch order q: as stored when it already is (its
 * swapped matrix axes then read through adj_x / adj_y), else converted. */
static Value *matmul_operand(Lower *lw, Value *v, const int *q, bool *adj) {
  int r = v->rank, have[O2L_MAX_RANK], perm[O2L_MAX_RANK];
  bool swapped = false;
  *adj = false;
  memcpy(perm, q, sizeof(int) * (size_t)(r - 2));
  perm[r - 2] = r - 2;
  perm[r - 1] = r - 1;
  if (matmul_order(lw, v, have, &swapped) &&
      !memcmp(have, q, sizeof(int) * (size_t)(r - 2)) && swapped) {
    *adj = true;
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
  }
  return lw_in_perm(lw, v, perm, 0, NULL, "batched matmul reads the matrix "
                    "axes last");
}

/* The batch order to compute in: one of the operands' own orders (or
 * ONNX's), the one that leaves the fewest operands to convert. */
static void matmul_batch_order(Lower *lw, Value *a, Value *b, int *q) {
  int r = a->rank, cand[3][O2L_MAX_RANK], best = 2, best_cost = 3;
  bool adj;
  perm_identity(r - 2, cand[2]);
  bool has[3] = {matmul_order(lw, a, cand[0], &adj),
                 matmul_order(lw, b, cand[1], &adj), true};
  for (int c = 2; c >= 0; c--) {
    if (!has[c])
      continue;
    int cost = 0, have[O2L_MAX_RANK];
    Value *ops[2] = {a, b};
    for (int k = 0; k < 2; k++)
      if (!value_is_const(ops[k]) &&
          (!matmul_order(lw, ops[k], have, &adj) ||
           memcmp(have, cand[c], sizeof(int) * (size_t)(r - 2))))
        cost++;
    if (cost < best_cost) {
      best = c;
      best_cost = cost;
    }
  }
  memcpy(q, cand[best], sizeof(int) * (size_t)(r - 2));
}

Status matmul_lower(Lower *lw, Node *n) {
  Value *a = n->in[0], *b = n->in[1], *y = n->out[0];
  if (value_is_const(b) && b->rank == 2 && a->rank >= 2 &&
      dtype_is_float(b->dtype))
    return emit_fc(lw, a, b, false, 1.0, NULL, 0, y, b->dims[0], b->dims[1]);
  if (a->rank < 2 || b->rank < 2)
    return lw_err(lw, O2L_ERR_UNSUPPORTED,
                  "MatMul with a 1-D operand and a run-time B");
  /* Run-time operands: BATCH_MATMUL.  An operand stored with its last two
   * axes swapped (a permute(0,2,1) PyTorch wrote, or a channels-last
   * [N,C,L] map) is read through adj_x / adj_y instead of transposed. */
  /* With equal ranks the batch axes may be stored in any order both
   * operands share (attention's heads split off a channels-last map). */
  int r = y->rank, q[O2L_MAX_RANK], perm[O2L_MAX_RANK];
  perm_identity(r, perm);
  if (a->rank == r && b->rank == r)
    matmul_batch_order(lw, a, b, perm);
  memcpy(q, perm, sizeof q);
  /* A lower-rank operand broadcasts; the batch order is then ONNX's. */
  bool adj[2];
  int ident[O2L_MAX_RANK];
  perm_identity(r, ident);
  Value *ta = matmul_operand(lw, a, a->rank == r ? q : ident, &adj[0]);
  Value *tb = matmul_operand(lw, b, b->rank == r ? q : ident, &adj[1]);
  int64_t ydims[O2L_MAX_RANK];
  perm_apply(r, y->dims, perm, ydims);
  Value *out = lw_tensor(lw, NULL, y->dtype, r, ydims);
  Value *ins[2] = {ta, tb};
  Node *op = ta && tb && out ? lw_op(lw, TFL_BATCH_MATMUL, 2, ins, 1, &out)
                             : NULL;
  if (!op)
    return lw->cx->status;
  op->opt.adj_x = adj[0];
  op->opt.adj_y = adj[1];
  lw_set_perm(lw, y, out, perm);
  return O2L_OK;
}
