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
#include "lower/lower_conv.h"
#include "ops/opattr.h"

/* ---- window geometry ----------------------------------------------------- */

static int64_t win_effk(const WinAxis *a) { return (a->k - 1) * a->d + 1; }

bool win_fits_same(const WinAxis *a) {
  int64_t out = (a->in + a->s - 1) / a->s;
  int64_t total = (out - 1) * a->s + win_effk(a) - a->in;
  if (total < 0)
    total = 0;
  return a->out == out && a->pb == total / 2;
}

bool win_fits_valid(const WinAxis *a) {
  int64_t e = win_effk(a);
  int64_t out = a->in >= e ? (a->in - e) / a->s + 1 : 0;
  return a->out == out && a->pb == 0;
}

int64_t win_pad_after(const WinAxis *a) {
  int64_t need = (a->out - 1) * a->s + win_effk(a) - a->in - a->pb;
  return need > 0 ? need : 0;
}

int win_choose_padding(const WinAxis *ax, int n, bool same_ok) {
  bool valid = true, same = same_ok;
  for (int i = 0; i < n; i++) {
    valid = valid && win_fits_valid(&ax[i]);
    same = same && win_fits_same(&ax[i]);
  }
  return valid ? TFL_PAD_VALID : same ? TFL_PAD_SAME : -1;
}

int64_t win_avg_count(const WinAxis *a, int64_t o) {
  int64_t start = o * a->s - a->pb, end = start + a->k;
  int64_t lo = a->cip ? -a->pb : 0, hi = a->cip ? a->in + a->pe : a->in;
  if (start < lo)
    start = lo;
  if (end > hi)
    end = hi;
  return end > start ? end - start : 0;
}

int64_t tconv_full(const WinAxis *a) { return (a->in - 1) * a->s + a->k; }

/* TFLite computes a transposed conv as the gradient of a conv whose SAME
 * padding puts floor(total / 2) before, total = full - out. */
bool tconv_fits_same(const WinAxis *a) {
  int64_t total = tconv_full(a) - a->out;
  return (total > 0 ? total / 2 : 0) == a->pb &&
         (a->out + a->s - 1) / a->s == a->in;
}

bool tconv_fits_valid(const WinAxis *a) {
  return a->pb == 0 && a->out == tconv_full(a);
}

/* ---- builders ------------------------------------------------------------ */

Value *conv_emit_pad(Lower *lw, Value *t, const int64_t *before,
                     const int64_t *after, bool lowest, const char *sfx) {
  int r = t->rank;
  int32_t pads[2 * O2L_MAX_RANK];
  int64_t od[O2L_MAX_RANK], pd[2] = {r, 2};
  for (int i = 0; i < r; i++) {
    pads[2 * i] = (int32_t)before[i];
    pads[2 * i + 1] = (int32_t)after[i];
    od[i] = t->dims[i] + before[i] + after[i];
  }
  Value *pc = lw_const(lw, "paddings", DT_I32, 2, pd, pads);
  Value *out = lw_tensor(lw, sfx, t->dtype, r, od);
  if (!pc || !out)
    return NULL;
  Value *in[3] = {t, pc, NULL};
  if (lowest && !(in[2] = lw_const_f32_scalar(lw, "pad_value", -FLT_MAX)))
    return NULL;
  return lw_op(lw, lowest ? TFL_PADV2 : TFL_PAD, lowest ? 3 : 2, in, 1, &out)
             ? out : NULL;
}

/* The explicit PAD of an NHWC map that win_choose_padding asked for. */
static Value *pad_hw(Lower *lw, Value *x, const WinAxis ax[2], bool lowest) {
  int64_t before[4] = {0, ax[0].pb, ax[1].pb, 0};
  int64_t after[4] = {0, win_pad_after(&ax[0]), win_pad_after(&ax[1]), 0};
  return conv_emit_pad(lw, x, before, after, lowest, "padded");
}

Value *conv_out_tensor(Lower *lw, Value *y, int rank, const int64_t *dims) {
  Value *t = lw_tensor(lw, NULL, y->dtype, rank, dims);
  if (t) {
    int perm[O2L_MAX_RANK];
    perm_channels_last(y->rank, perm);
    lw_set_perm(lw, y, t, perm);
  }
  return t;
}

Value *conv_bias_f32(Lower *lw, Node *n, int64_t out_ch) {
  Value *b = op_in(n, 2);
  int64_t d[1] = {out_ch};
  if (!b) {
    float *zeros = arena_alloc(lw->cx->arena, sizeof(float) * (size_t)out_ch,
                               16);
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
  return lw_const_perm(lw, b, NULL, 1, d, DT_F32);
}

Node *conv_emit_2d(Lower *lw, const ConvParams *p, Value *in4, Value *filter,
                   Value *bias, const WinAxis ax[2], int padding, Value *out) {
  Value *ins[3] = {in4, filter, bias};
  if (!in4 || !filter || !bias || !out)
    return NULL;
  Node *op = lw_op(lw, p->depthwise ? TFL_DEPTHWISE_CONV_2D : TFL_CONV_2D, 3,
                   ins, 1, &out);
  if (!op)
    return NULL;
  op->opt.padding = padding;
  op->opt.stride_h = (int)ax[0].s;
  op->opt.stride_w = (int)ax[1].s;
  op->opt.dilation_h = (int)ax[0].d;
  op->opt.dilation_w = (int)ax[1].d;
  if (p->depthwise)
    op->opt.depth_multiplier = (int)(p->out_ch / p->in_ch);
  return op;
}

Node *pool_emit_2d(Lower *lw, bool is_max, Value *in4, const WinAxis ax[2],
                   int padding, Value *out) {
  Node *op = lw_op(lw, is_max ? TFL_MAX_POOL_2D : TFL_AVERAGE_POOL_2D, 1,
                   &in4, 1, &out);
  if (!op)
    return NULL;
  op->opt.padding = padding;
  op->opt.stride_h = (int)ax[0].s;
  op->opt.stride_w = (int)ax[1].s;
  op->opt.filter_h = (int)ax[0].k;
  op->opt.filter_w = (int)ax[1].k;
  return op;
}

Value *pool_avg_correction(Lower *lw, const WinAxis ax[2], bool *needed) {
  int64_t o0 = ax[0].out, o1 = ax[1].out;
  float *f = arena_alloc(lw->cx->arena, sizeof(float) * (size_t)(o0 * o1), 16);
  *needed = false;
  if (!f) {
    ctx_oom(lw->cx, "building an average-pool correction");
    return NULL;
  }
  double area = (double)(ax[0].k * ax[1].k);
  for (int64_t i = 0; i < o0; i++)
    for (int64_t j = 0; j < o1; j++) {
      double c = (double)(win_avg_count(&ax[0], i) * win_avg_count(&ax[1], j));
      f[i * o1 + j] = c > 0 ? (float)(area / c) : 0.0f;
      *needed = *needed || f[i * o1 + j] != 1.0f;
    }
  if (!*needed)
    return NULL;
  int64_t d[4] = {1, o0, o1, 1};
  return lw_const_take(lw, "avg_divisor", DT_F32, 4, d, f);
}

Status pool_emit_global(Lower *lw, int onnx_op, Value *in4, Value *out) {
  if (onnx_op == OP_GlobalMaxPool) {
    Node *op = lw_op(lw, TFL_MAX_POOL_2D, 1, &in4, 1, &out);
    if (!op)
      return lw->cx->status;
    op->opt.padding = TFL_PAD_VALID;
    op->opt.stride_h = op->opt.stride_w = 1;
    op->opt.filter_h = (int)in4->dims[1];
    op->opt.filter_w = (int)in4->dims[2];
    return O2L_OK;
  }
  int32_t axes[2] = {1, 2};
  Value *ac = lw_const_i32(lw, "axes", 2, axes);
  Value *ins[2] = {in4, ac};
  Node *op = ac ? lw_op(lw, TFL_MEAN, 2, ins, 1, &out) : NULL;
  if (!op)
    return lw->cx->status;
  op->opt.keep_dims = true;
  return O2L_OK;
}

/* ---- shared: the feature-map input --------------------------------------- */

/* Input 0 as NHWC [N, H, W, C] (1-D maps: [N, 1, L, C]). */
static Value *feature_map(Lower *lw, Value *x, int nsp, const char *why) {
  int perm[O2L_MAX_RANK];
  perm_channels_last(x->rank, perm);
  int64_t pd[4] = {x->dims[0], nsp == 1 ? 1 : x->dims[2],
                   nsp == 1 ? x->dims[2] : x->dims[3], x->dims[1]};
  return lw_in_perm(lw, x, perm, 4, pd, why);
}

/* Output tensor of a channels-last operator, [N, oh, ow, C] (1-D maps:
 * oh = 1), and its record. */
static Value *feature_out(Lower *lw, Value *y, int64_t oh, int64_t ow) {
  int64_t od[4] = {y->dims[0], oh, ow, y->dims[1]};
  return conv_out_tensor(lw, y, 4, od);
}

/* The H, W axes of a 1-D or 2-D window (1-D maps: a dummy H). */
static void conv_axes(const ConvParams *p, WinAxis ax[2]) {
  ax[0] = p->nsp == 1 ? WIN_NONE : WIN_AXIS(p, 0, false);
  ax[1] = WIN_AXIS(p, p->nsp - 1, false);
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

Status conv_lower(Lower *lw, Node *n) {
  ConvParams p;
  TRY(conv_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *w = n->in[1], *y = n->out[0];
  if (!value_is_const(w))
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "the weight '%s' is computed at "
                  "run time; only constant weights are supported", w->name);
  if (x->dtype != DT_F32)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "input type %s (float32 expected)",
                  dtype_name(x->dtype));
  if (p.nsp > 2)
    return conv3d_lower(lw, n, &p);
  WinAxis ax[2];
  conv_axes(&p, ax);
  int padding = win_choose_padding(ax, 2, true);
  Value *in = feature_map(lw, x, p.nsp, "convolution reads channels-last");
  Value *filter = conv_filter(lw, w, &p);
  Value *bias = conv_bias_f32(lw, n, p.out_ch);
  if (!in || !filter || !bias)
    return lw->cx->status ? lw->cx->status : O2L_ERR_INTERNAL;
  if (padding < 0) {
    if (!(in = pad_hw(lw, in, ax, false)))
      return lw->cx->status;
    padding = TFL_PAD_VALID;
  }
  Value *out = feature_out(lw, y, ax[0].out, ax[1].out);
  if (!conv_emit_2d(lw, &p, in, filter, bias, ax, padding, out))
    return lw->cx->status;
  return O2L_OK;
}

/* ---- ConvTranspose ------------------------------------------------------- */

/* Where ONNX's output lies in the full (VALID) output of a TRANSPOSE_CONV:
 * from top[i], keep[i] cells, then extra[i] cells an output_padding adds
 * past the full output (zero padding that still gets the bias). */
typedef struct TconvWindow {
  int64_t full[2], top[2], keep[2], extra[2];
} TconvWindow;

static void tconv_window(const WinAxis ax[2], TconvWindow *tw) {
  for (int i = 0; i < 2; i++) {
    tw->full[i] = tconv_full(&ax[i]);
    tw->top[i] = ax[i].pb;
    int64_t room = tw->full[i] - tw->top[i];
    tw->keep[i] = ax[i].out < room ? ax[i].out : room;
    tw->extra[i] = ax[i].out - tw->keep[i];
  }
}

/* ConvTranspose weight [C, M, kh, kw] as TRANSPOSE_CONV's [M, kh, kw, C]
 * (1-D kernels get a leading kh of 1). */
static Value *tconv_filter(Lower *lw, Value *w, const ConvParams *p,
                           const WinAxis ax[2]) {
  int perm[4];
  int64_t fd[4] = {p->out_ch, ax[0].k, ax[1].k, p->in_ch};
  if (p->nsp == 1) {
    perm[0] = 1, perm[1] = 2, perm[2] = 0;
  } else {
    perm[0] = 1, perm[1] = 2, perm[2] = 3, perm[3] = 0;
  }
  return lw_const_perm(lw, w, perm, 4, fd, DT_F32);
}

/* y from the full output of a TRANSPOSE_CONV: a SLICE of ONNX's window,
 * then, when an output_padding reaches past the full output, PAD and the
 * ADD of the bias the TRANSPOSE_CONV was given without. */
static Status tconv_crop(Lower *lw, Value *y, Value *full, int64_t out_ch,
                         const WinAxis ax[2], const TconvWindow *tw,
                         Value *bias) {
  bool late_bias = tw->extra[0] > 0 || tw->extra[1] > 0;
  int32_t begin[4] = {0, (int32_t)tw->top[0], (int32_t)tw->top[1], 0};
  int32_t size[4] = {-1, (int32_t)tw->keep[0], (int32_t)tw->keep[1], -1};
  Value *bc = lw_const_i32(lw, "begin", 4, begin);
  Value *sc = lw_const_i32(lw, "size", 4, size);
  Value *res = late_bias ? lw_tensor(lw, "window", y->dtype, 4,
                                     (int64_t[4]){y->dims[0], tw->keep[0],
                                                  tw->keep[1], out_ch})
                         : feature_out(lw, y, ax[0].out, ax[1].out);
  Value *sin[3] = {full, bc, sc};
  if (!bc || !sc || !lw_op(lw, TFL_SLICE, 3, sin, 1, &res))
    return lw->cx->status;
  if (!late_bias)
    return O2L_OK;
  int64_t none[4] = {0}, after[4] = {0, tw->extra[0], tw->extra[1], 0};
  Value *padded = conv_emit_pad(lw, res, none, after, false, "padded");
  Value *fin = feature_out(lw, y, ax[0].out, ax[1].out);
  Value *ain[2] = {padded, bias};
  if (!padded || !fin || !lw_op(lw, TFL_ADD, 2, ain, 1, &fin))
    return lw->cx->status;
  return O2L_OK;
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
  WinAxis ax[2];
  conv_axes(&p, ax);
  if (ax[0].d != 1 || ax[1].d != 1)
    return lw_err(lw, O2L_ERR_UNSUPPORTED,
                  "dilated ConvTranspose: TRANSPOSE_CONV has no dilation");
  TconvWindow tw;
  tconv_window(ax, &tw);
  bool same = tconv_fits_same(&ax[0]) && tconv_fits_same(&ax[1]);
  bool valid = tconv_fits_valid(&ax[0]) && tconv_fits_valid(&ax[1]);
  Value *in = feature_map(lw, x, p.nsp, "convolution reads channels-last");
  Value *filter = tconv_filter(lw, w, &p, ax);
  Value *bias = p.has_bias ? conv_bias_f32(lw, n, p.out_ch) : NULL;
  if (!in || !filter || (p.has_bias && !bias))
    return lw->cx->status ? lw->cx->status : O2L_ERR_INTERNAL;
  /* Otherwise the full (VALID) output is cropped to ONNX's window. */
  bool crop = !same && !valid;
  bool late_bias = crop && (tw.extra[0] > 0 || tw.extra[1] > 0);
  int64_t oh = crop ? tw.full[0] : ax[0].out;
  int64_t ow = crop ? tw.full[1] : ax[1].out;
  int32_t oshape[4] = {(int32_t)y->dims[0], (int32_t)oh, (int32_t)ow,
                       (int32_t)p.out_ch};
  Value *os = lw_const_i32(lw, "output_shape", 4, oshape);
  Value *out;
  if (crop) {
    int64_t fdims[4] = {y->dims[0], oh, ow, p.out_ch};
    out = lw_tensor(lw, "full", y->dtype, 4, fdims);
  } else {
    out = feature_out(lw, y, oh, ow);
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
  return tconv_crop(lw, y, out, p.out_ch, ax, &tw, bias);
}

/* ---- pools --------------------------------------------------------------- */

Status pool_lower(Lower *lw, Node *n) {
  PoolParams p;
  TRY(pool_params(lw->cx, lw->src, n, &p));
  if (n->nout > 1 && n->out[1] && (n->out[1]->nuses || n->out[1]->is_output))
    return lw_err(lw, O2L_ERR_UNSUPPORTED,
                  "the Indices output of MaxPool has no TFLite equivalent");
  if (p.nsp > 2)
    return pool3d_lower(lw, n, &p);
  bool cip = !p.is_max && p.count_include_pad;
  WinAxis ax[2] = {p.nsp == 1 ? WIN_NONE : WIN_AXIS(&p, 0, cip),
                   WIN_AXIS(&p, p.nsp - 1, cip)};
  if (ax[0].d != 1 || ax[1].d != 1)
    return lw_err(lw, O2L_ERR_UNSUPPORTED,
                  "dilated pooling has no TFLite equivalent");
  Value *x = n->in[0], *y = n->out[0];
  bool any_pad = false;
  for (int k = 0; k < p.nsp; k++)
    any_pad |= p.pad_begin[k] || p.pad_end[k];
  /* SAME pools ignore padded cells: right for max, and for average when
   * ONNX does not count the padding either. */
  bool same_ok = p.is_max || !p.count_include_pad || !any_pad;
  int padding = win_choose_padding(ax, 2, same_ok);
  Value *in = feature_map(lw, x, p.nsp, "pooling reads channels-last");
  if (!in)
    return lw->cx->status;
  Value *scale = NULL;
  bool scaled = false;
  if (padding < 0) {
    if (!p.is_max && !(scale = pool_avg_correction(lw, ax, &scaled)) && scaled)
      return lw->cx->status;
    if (!(in = pad_hw(lw, in, ax, p.is_max && !lw_nonnegative(lw, in))))
      return lw->cx->status;
    padding = TFL_PAD_VALID;
  }
  Value *out = scaled ? lw_tensor(lw, "sum_like", y->dtype, 4,
                                  (int64_t[4]){y->dims[0], ax[0].out,
                                               ax[1].out, y->dims[1]})
                      : feature_out(lw, y, ax[0].out, ax[1].out);
  if (!pool_emit_2d(lw, p.is_max, in, ax, padding, out))
    return lw->cx->status;
  if (!scaled)
    return O2L_OK;
  Value *res = feature_out(lw, y, ax[0].out, ax[1].out);
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
  Value *out = feature_out(lw, y, 1, 1);
  if (!out)
    return lw->cx->status;
  return pool_emit_global(lw, n->op, in, out);
}

/* ---- dense layers -------------------------------------------------------- */

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
