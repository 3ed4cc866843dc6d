/* lower_conv3d.c - 3-D feature maps: Conv, ConvTranspose, MaxPool,
 * AveragePool and the global pools on (N, C, D, H, W) inputs.
 *
 * The maps are stored channels-last, [N, D, H, W, C], like the 2-D ones are
 * NHWC, so a 3-D network has no TRANSPOSE either.  Because the data of
 * [N, D, H, W, C] is also the data of [N*D, H, W, C] and of
 * [N, D, H*W, C], reshapes that cost nothing turn most of the work into
 * 2-D operators, which every runtime accelerates (CONV_3D has no XNNPACK
 * kernel and no NPU support):
 *
 *   - Conv with a 1 x kh x kw kernel (no depth stride or padding) is a
 *     CONV_2D on [N*D, H, W, C]; with a kd x 1 x 1 kernel (no stride or
 *     padding on H, W) it is a CONV_2D with a (kd, 1) kernel on
 *     [N, D, H*W, C].  Groups and depthwise work there as in 2-D.
 *   - Any other Conv with group 1 is one CONV_3D (filter DHWIO).
 *   - Any other grouped or depthwise Conv is a sum over the kd depth taps:
 *     tap j reads the depth positions j*dil + o*stride (one SLICE /
 *     STRIDED_SLICE), seen as [N*Do, H, W, C], through a grouped CONV_2D or
 *     DEPTHWISE_CONV_2D with that tap's kernel; ADDs sum the taps.
 *   - Pools are separable: the max (or average) over a kd x kh x kw box is
 *     the max (average) over depth of the max (average) over the kh x kw
 *     window.  A MAX_POOL_2D / AVERAGE_POOL_2D on [N*D, H, W, C] does H and
 *     W, a second one with a (kd, 1) window on [N, D, Ho*Wo, C] does the
 *     depth.  ONNX's average divisor is a product of per-axis counts (the
 *     window meets the counted region in a box), so each stage divides by
 *     its own count: SAME does so when padding is not counted, and PAD +
 *     VALID + one constant MUL per stage does it otherwise, as in 2-D.
 *   - ConvTranspose is CONV_3D_TRANSPOSE, cropped by a SLICE when neither
 *     SAME nor VALID gives ONNX's output window.
 *
 * Padding follows lower_conv.c: SAME or VALID when they give the same
 * windows, otherwise one PAD (PADV2 with the lowest float before a max
 * pool of possibly negative data) in front of a VALID operator.
 */
#include <string.h>

#include "lower/lower_conv.h"

/* ---- small builders ----------------------------------------------------------- */

/* x as [N, D, H, W, C]. */
static Value *map5(Lower *lw, Value *x, const char *why) {
  int perm[O2L_MAX_RANK];
  perm_channels_last(5, perm);
  return lw_in_perm(lw, x, perm, 0, NULL, why);
}

static Value *zeros_f32(Lower *lw, const char *sfx, int64_t n) {
  float *z = arena_alloc(lw->cx->arena, sizeof(float) * (size_t)(n + 1), 16);
  if (!z) {
    ctx_oom(lw->cx, "creating a zero bias");
    return NULL;
  }
  return lw_const(lw, sfx, DT_F32, 1, &n, z);
}

/* ---- Conv ------------------------------------------------------------------ */

static void conv_axes(const ConvParams *p, WinAxis ax[3]) {
  for (int i = 0; i < 3; i++)
    ax[i] = WIN_AXIS(p, i, false);
}

/* W[m, c, a, b, e] of the ONNX weight (M, C/g, kd, kh, kw) as a double. */
static double wat(const Value *w, const ConvParams *p, int64_t m, int64_t c,
                  int64_t a, int64_t b, int64_t e) {
  int64_t cg = p->in_ch / p->group;
  size_t off = (size_t)((((m * cg + c) * p->kernel[0] + a) * p->kernel[1] + b) *
                            p->kernel[2] + e);
  return load_as_f64(w->data, w->dtype, off);
}

/* Which ONNX axes the 2-D operator's H and W stand for. */
typedef enum {
  VIEW_HW, /* [N*D, H, W, C]: H, W; the depth tap is fixed */
  VIEW_D   /* [N, D, H*W, C]: D and a dummy axis; kh = kw = 1 */
} View2;

/* Filter of a CONV_2D (OHWI, [M, kh', kw', C/g]) or DEPTHWISE_CONV_2D
 * ([1, kh', kw', M]) holding one 2-D slice of the 3-D kernel. */
static Value *filter_2d(Lower *lw, Value *w, const ConvParams *p, View2 v,
                        int64_t tap) {
  int64_t M = p->out_ch, cg = p->in_ch / p->group;
  int64_t kh = v == VIEW_HW ? p->kernel[1] : p->kernel[0];
  int64_t kw = v == VIEW_HW ? p->kernel[2] : 1;
  int64_t total = M * kh * kw * cg;
  float *f = arena_alloc(lw->cx->arena, sizeof(float) * (size_t)total + 1, 16);
  if (!f) {
    ctx_oom(lw->cx, "building a convolution filter");
    return NULL;
  }
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < kh; i++)
      for (int64_t j = 0; j < kw; j++)
        for (int64_t c = 0; c < cg; c++) {
          double x = v == VIEW_HW ? wat(w, p, m, c, tap, i, j)
                                  : wat(w, p, m, c, i, 0, 0);
          size_t at = p->depthwise ? (size_t)((i * kw + j) * M + m)
                                   : (size_t)(((m * kh + i) * kw + j) * cg + c);
          f[at] = (float)x;
        }
  int64_t d[4] = {p->depthwise ? 1 : M, kh, kw, p->depthwise ? M : cg};
  return lw_const(lw, arena_printf(lw->cx->arena, "filter%lld",
                                   (long long)tap), DT_F32, 4, d, f);
}

/* The map t as the 4-D view v = [B, X, Y, C] with the 2-D window ax2,
 * padded explicitly when SAME/VALID do not fit (*padded then set, and ax2
 * updated to the padded input); *padding gets SAME or VALID. */
static Value *padded_view(Lower *lw, Value *t, const int64_t v[4],
                          WinAxis ax2[2], bool lowest, bool same_ok,
                          int *padding, bool *padded) {
  Value *in4 = lw_reshape(lw, t, 4, v, "view");
  *padding = win_choose_padding(ax2, 2, same_ok);
  *padded = *padding < 0;
  if (!in4 || !*padded)
    return in4;
  int64_t before[4] = {0, ax2[0].pb, ax2[1].pb, 0};
  int64_t after[4] = {0, win_pad_after(&ax2[0]), win_pad_after(&ax2[1]), 0};
  *padding = TFL_PAD_VALID;
  for (int i = 0; i < 2; i++) {
    ax2[i].in += before[i + 1] + after[i + 1];
    ax2[i].pb = ax2[i].pe = 0;
  }
  return conv_emit_pad(lw, in4, before, after, lowest, "padded");
}

/* kd = 1 (no depth stride or padding): CONV_2D on [N*D, H, W, C];
 * kh = kw = 1 (no H/W stride or padding): (kd, 1) on [N, D, H*W, C]. */
static Status conv3d_as_2d(Lower *lw, Node *n, const ConvParams *p, Value *x5,
                           View2 v) {
  WinAxis ax[3];
  conv_axes(p, ax);
  int64_t N = p->batch, C = p->in_ch;
  int64_t view[4], od[4];
  WinAxis ax2[2];
  if (v == VIEW_HW) {
    int64_t vv[4] = {N * p->in[0], p->in[1], p->in[2], C};
    memcpy(view, vv, sizeof vv);
    ax2[0] = ax[1];
    ax2[1] = ax[2];
  } else {
    int64_t vv[4] = {N, p->in[0], p->in[1] * p->in[2], C};
    memcpy(view, vv, sizeof vv);
    ax2[0] = ax[0];
    ax2[1] = WIN_NONE;
    ax2[1].in = ax2[1].out = p->in[1] * p->in[2];
  }
  int padding;
  bool padded;
  Value *in4 = padded_view(lw, x5, view, ax2, false, true, &padding, &padded);
  od[0] = view[0];
  od[1] = ax2[0].out;
  od[2] = ax2[1].out;
  od[3] = p->out_ch;
  Value *out = conv_out_tensor(lw, n->out[0], 4, od);
  if (!conv_emit_2d(lw, p, in4, filter_2d(lw, n->in[1], p, v, 0),
                   conv_bias_f32(lw, n, p->out_ch), ax2, padding, out))
    return lw_failed(lw);
  return O2L_OK;
}

/* Group 1: one CONV_3D, filter [kd, kh, kw, C, M]. */
static Status conv3d_full(Lower *lw, Node *n, const ConvParams *p, Value *x5) {
  WinAxis ax[3];
  conv_axes(p, ax);
  int padding = win_choose_padding(ax, 3, true);
  if (padding < 0) {
    int64_t before[5] = {0, ax[0].pb, ax[1].pb, ax[2].pb, 0};
    int64_t after[5] = {0, win_pad_after(&ax[0]), win_pad_after(&ax[1]),
                        win_pad_after(&ax[2]), 0};
    x5 = conv_emit_pad(lw, x5, before, after, false, "padded");
    padding = TFL_PAD_VALID;
  }
  Value *w = n->in[1];
  int perm[5] = {2, 3, 4, 1, 0}; /* (M, C, kd, kh, kw) -> (kd, kh, kw, C, M) */
  Value *filter = lw_const_perm(lw, w, perm, 0, NULL, DT_F32);
  Value *bias = p->has_bias ? conv_bias_f32(lw, n, p->out_ch) : NULL;
  int64_t od[5] = {p->batch, p->out[0], p->out[1], p->out[2], p->out_ch};
  Value *out = conv_out_tensor(lw, n->out[0], 5, od);
  if (!x5 || !filter || (p->has_bias && !bias) || !out)
    return lw_failed(lw);
  Value *ins[3] = {x5, filter, bias};
  Node *op = lw_op(lw, TFL_CONV_3D, bias ? 3 : 2, ins, 1, &out);
  if (!op)
    return lw_failed(lw);
  op->opt.padding = padding;
  op->opt.stride_d = (int)ax[0].s;
  op->opt.stride_h = (int)ax[1].s;
  op->opt.stride_w = (int)ax[2].s;
  op->opt.dilation_d = (int)ax[0].d;
  op->opt.dilation_h = (int)ax[1].d;
  op->opt.dilation_w = (int)ax[2].d;
  return O2L_OK;
}

/* Depth positions j*dil + o*stride (o < Do) of the padded map p5. */
static Value *depth_tap(Lower *lw, Value *p5, const WinAxis *ad, int64_t j) {
  int64_t first = j * ad->d, Do = ad->out;
  if (first == 0 && Do == p5->dims[1] && (ad->s == 1 || Do == 1))
    return p5;
  int32_t b[5] = {0, (int32_t)first, 0, 0, 0};
  int64_t od[5] = {p5->dims[0], Do, p5->dims[2], p5->dims[3], p5->dims[4]};
  const char *sfx = arena_printf(lw->cx->arena, "tap%lld", (long long)j);
  Value *out = lw_tensor(lw, sfx, p5->dtype, 5, od);
  Value *bc = lw_const_i32(lw, "begin", 5, b);
  if (!out || !bc)
    return NULL;
  if (ad->s == 1) {
    int32_t s[5] = {-1, (int32_t)Do, -1, -1, -1};
    Value *in[3] = {p5, bc, lw_const_i32(lw, "size", 5, s)};
    return in[2] && lw_op(lw, TFL_SLICE, 3, in, 1, &out) ? out : NULL;
  }
  int32_t e[5] = {(int32_t)od[0], (int32_t)(first + (Do - 1) * ad->s + 1),
                  (int32_t)od[2], (int32_t)od[3], (int32_t)od[4]};
  int32_t s[5] = {1, (int32_t)ad->s, 1, 1, 1};
  Value *in[4] = {p5, bc, lw_const_i32(lw, "end", 5, e),
                  lw_const_i32(lw, "strides", 5, s)};
  return in[2] && in[3] && lw_op(lw, TFL_STRIDED_SLICE, 4, in, 1, &out)
             ? out : NULL;
}

/* Grouped or depthwise: a sum over the depth taps of 2-D convolutions. */
static Status conv3d_taps(Lower *lw, Node *n, const ConvParams *p, Value *x5) {
  WinAxis ax[3];
  conv_axes(p, ax);
  WinAxis hw[2] = {ax[1], ax[2]};
  int padding = win_choose_padding(hw, 2, true);
  bool pad_d = ax[0].pb || win_pad_after(&ax[0]);
  if (pad_d || padding < 0) {
    bool hwpad = padding < 0;
    int64_t before[5] = {0, ax[0].pb, hwpad ? hw[0].pb : 0,
                         hwpad ? hw[1].pb : 0, 0};
    int64_t after[5] = {0, win_pad_after(&ax[0]),
                        hwpad ? win_pad_after(&hw[0]) : 0,
                        hwpad ? win_pad_after(&hw[1]) : 0, 0};
    x5 = conv_emit_pad(lw, x5, before, after, false, "padded");
    if (!x5)
      return lw_failed(lw);
    if (hwpad) {
      padding = TFL_PAD_VALID;
      for (int i = 0; i < 2; i++) {
        hw[i].in += before[i + 2] + after[i + 2];
        hw[i].pb = 0;
      }
    }
  }
  int64_t kd = p->kernel[0], Do = p->out[0], N = p->batch;
  int64_t od[4] = {N * Do, p->out[1], p->out[2], p->out_ch};
  Value *acc = NULL, *zero = kd > 1 ? zeros_f32(lw, "zero_bias", p->out_ch)
                                    : NULL;
  if (kd > 1 && !zero)
    return lw_failed(lw);
  for (int64_t j = 0; j < kd; j++) {
    Value *tap = depth_tap(lw, x5, &ax[0], j);
    int64_t v[4] = {N * Do, hw[0].in, hw[1].in, p->in_ch};
    Value *in4 = tap ? lw_reshape(lw, tap, 4, v, "view") : NULL;
    Value *bias = j == 0 ? conv_bias_f32(lw, n, p->out_ch) : zero;
    Value *out = kd == 1 ? conv_out_tensor(lw, n->out[0], 4, od)
                         : lw_tensor(lw, arena_printf(lw->cx->arena, "conv%lld",
                                                      (long long)j),
                                     DT_F32, 4, od);
    if (!conv_emit_2d(lw, p, in4, filter_2d(lw, n->in[1], p, VIEW_HW, j), bias,
                     hw, padding, out))
      return lw_failed(lw);
    if (acc) {
      Value *sum = j == kd - 1
                       ? conv_out_tensor(lw, n->out[0], 4, od)
                       : lw_tensor(lw, arena_printf(lw->cx->arena, "sum%lld",
                                                    (long long)j),
                                   DT_F32, 4, od);
      Value *ins[2] = {acc, out};
      if (!sum || !lw_op(lw, TFL_ADD, 2, ins, 1, &sum))
        return lw_failed(lw);
      out = sum;
    }
    acc = out;
  }
  return O2L_OK;
}

Status conv3d_lower(Lower *lw, Node *n, const ConvParams *p) {
  Value *x = n->in[0];
  if (p->has_bias && !value_is_const(n->in[2]))
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "the bias is computed at run time; "
                  "only constant biases are supported");
  Value *x5 = map5(lw, x, "convolution reads channels-last");
  if (!x5)
    return lw_failed(lw);
  bool d_trivial = p->kernel[0] == 1 && p->stride[0] == 1 &&
                   p->pad_begin[0] == 0 && p->out[0] == p->in[0];
  bool hw_trivial = true;
  for (int i = 1; i < 3; i++)
    hw_trivial = hw_trivial && p->kernel[i] == 1 && p->stride[i] == 1 &&
                 p->pad_begin[i] == 0 && p->out[i] == p->in[i];
  if (d_trivial)
    return conv3d_as_2d(lw, n, p, x5, VIEW_HW);
  if (hw_trivial)
    return conv3d_as_2d(lw, n, p, x5, VIEW_D);
  if (p->group == 1)
    return conv3d_full(lw, n, p, x5);
  return conv3d_taps(lw, n, p, x5);
}

/* ---- ConvTranspose ------------------------------------------------------------ */

Status convt3d_lower(Lower *lw, Node *n, const ConvParams *p) {
  Value *x = n->in[0], *w = n->in[1], *y = n->out[0];
  if (p->group != 1)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "grouped 3-D ConvTranspose (group "
                  "%lld) has no TFLite equivalent", (long long)p->group);
  if (!value_is_const(w))
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "the weight '%s' is computed at "
                  "run time", w->name);
  if (x->dtype != DT_F32)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "input type %s (float32 expected)",
                  dtype_name(x->dtype));
  if (p->has_bias && !value_is_const(n->in[2]))
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "the bias is computed at run time");
  int64_t full[3], top[3];
  bool same = true, valid = true;
  for (int i = 0; i < 3; i++) {
    WinAxis a = WIN_AXIS(p, i, false);
    if (a.d != 1)
      return lw_err(lw, O2L_ERR_UNSUPPORTED, "dilated 3-D ConvTranspose is not "
                    "supported");
    full[i] = tconv_full(&a);
    top[i] = a.pb;
    if (top[i] + a.out > full[i])
      return lw_err(lw, O2L_ERR_UNSUPPORTED, "output_padding reaches past the "
                    "full transposed convolution; not expressible in TFLite");
    same = same && tconv_fits_same(&a);
    valid = valid && tconv_fits_valid(&a);
  }
  bool crop = !same && !valid;
  Value *x5 = map5(lw, x, "convolution reads channels-last");
  /* W (C, M, kd, kh, kw) -> (kd, kh, kw, M, C) */
  int perm[5] = {2, 3, 4, 1, 0};
  Value *filter = lw_const_perm(lw, w, perm, 0, NULL, DT_F32);
  Value *bias = p->has_bias ? conv_bias_f32(lw, n, p->out_ch) : NULL;
  int64_t od[5] = {p->batch, 0, 0, 0, p->out_ch};
  int32_t os[5] = {(int32_t)p->batch, 0, 0, 0, (int32_t)p->out_ch};
  for (int i = 0; i < 3; i++) {
    od[1 + i] = crop ? full[i] : p->out[i];
    os[1 + i] = (int32_t)od[1 + i];
  }
  Value *osc = lw_const_i32(lw, "output_shape", 5, os);
  Value *out = crop ? lw_tensor(lw, "full", y->dtype, 5, od)
                    : conv_out_tensor(lw, y, 5, od);
  if (!x5 || !filter || (p->has_bias && !bias) || !osc || !out)
    return lw_failed(lw);
  Value *ins[4] = {osc, filter, x5, bias};
  Node *op = lw_op(lw, TFL_CONV_3D_TRANSPOSE, bias ? 4 : 3, ins, 1, &out);
  if (!op)
    return lw_failed(lw);
  op->opt.padding = valid ? TFL_PAD_VALID : same ? TFL_PAD_SAME : TFL_PAD_VALID;
  op->opt.stride_d = (int)p->stride[0];
  op->opt.stride_h = (int)p->stride[1];
  op->opt.stride_w = (int)p->stride[2];
  if (!crop)
    return O2L_OK;
  int32_t begin[5] = {0, (int32_t)top[0], (int32_t)top[1], (int32_t)top[2], 0};
  int32_t size[5] = {-1, (int32_t)p->out[0], (int32_t)p->out[1],
                     (int32_t)p->out[2], -1};
  int64_t rd[5] = {p->batch, p->out[0], p->out[1], p->out[2], p->out_ch};
  Value *sin[3] = {out, lw_const_i32(lw, "begin", 5, begin),
                   lw_const_i32(lw, "size", 5, size)};
  Value *res = conv_out_tensor(lw, y, 5, rd);
  if (!sin[1] || !sin[2] || !res || !lw_op(lw, TFL_SLICE, 3, sin, 1, &res))
    return lw_failed(lw);
  return O2L_OK;
}

/* ---- pools -------------------------------------------------------------------- */

/* One 2-D pooling stage of view v ([B, X, Y, C] of t) with window ax[0..1]
 * into out (a helper tensor when NULL).  nonneg: t holds no negative
 * value, so zeros may pad a max pool. */
static Value *pool_stage(Lower *lw, Value *t, const int64_t v[4],
                         WinAxis ax[2], bool is_max, bool nonneg, Value *out,
                         const char *sfx) {
  bool any_pad = ax[0].pb || ax[0].pe || ax[1].pb || ax[1].pe;
  bool cip = ax[0].cip || ax[1].cip;
  bool same_ok = is_max || !cip || !any_pad;
  WinAxis orig[2] = {ax[0], ax[1]};
  int padding;
  bool padded, lowest = is_max && !nonneg;
  Value *in4 = padded_view(lw, t, v, ax, lowest, same_ok, &padding, &padded);
  if (!in4)
    return NULL;
  Value *scale = NULL;
  bool scaled = false;
  if (!is_max && padded &&
      !(scale = pool_avg_correction(lw, orig, &scaled)) && scaled)
    return NULL;
  int64_t od[4] = {v[0], ax[0].out, ax[1].out, v[3]};
  Value *po = scaled || !out ? lw_tensor(lw, scaled ? "pool_sum" : sfx,
                                         t->dtype, 4, od)
                             : out;
  if (!po || !pool_emit_2d(lw, is_max, in4, ax, padding, po))
    return NULL;
  if (!scaled)
    return po;
  Value *res = out ? out : lw_tensor(lw, sfx, t->dtype, 4, od);
  Value *min[2] = {po, scale};
  return res && lw_op(lw, TFL_MUL, 2, min, 1, &res) ? res : NULL;
}

static bool win_trivial(const WinAxis *a) {
  return a->k == 1 && a->s == 1 && a->pb == 0 && a->out == a->in;
}

Status pool3d_lower(Lower *lw, Node *n, const PoolParams *p) {
  Value *x = n->in[0], *y = n->out[0];
  if (x->dtype != DT_F32)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "input type %s (float32 expected)",
                  dtype_name(x->dtype));
  WinAxis ax[3];
  for (int i = 0; i < 3; i++) {
    if (p->dilation[i] != 1)
      return lw_err(lw, O2L_ERR_UNSUPPORTED,
                    "dilated pooling has no TFLite equivalent");
    WinAxis a = {p->in[i], p->kernel[i], p->stride[i], 1, p->pad_begin[i],
            p->pad_end[i], p->out[i], !p->is_max && p->count_include_pad};
    ax[i] = a;
  }
  Value *t = map5(lw, x, "pooling reads channels-last");
  if (!t)
    return lw_failed(lw);
  int64_t N = p->batch, C = p->channels;
  bool do_hw = !win_trivial(&ax[1]) || !win_trivial(&ax[2]);
  bool do_d = !win_trivial(&ax[0]);
  if (!do_hw && !do_d) {
    lw_alias(lw, y, x);
    return O2L_OK;
  }
  int64_t hw_out = ax[1].out * ax[2].out;
  bool nonneg = lw_nonnegative(lw, t); /* and so is a max pool of it */
  if (do_hw) {
    int64_t v[4] = {N * p->in[0], p->in[1], p->in[2], C};
    WinAxis a2[2] = {ax[1], ax[2]};
    int64_t od[4] = {N * p->in[0], ax[1].out, ax[2].out, C};
    Value *out = NULL;
    if (!do_d && !(out = conv_out_tensor(lw, y, 4, od)))
      return lw_failed(lw);
    t = pool_stage(lw, t, v, a2, p->is_max, nonneg, out, "pool_hw");
    if (!t)
      return lw_failed(lw);
  }
  if (do_d) {
    int64_t v[4] = {N, p->in[0], hw_out, C};
    WinAxis a2[2] = {ax[0], WIN_NONE};
    a2[1].in = a2[1].out = hw_out;
    int64_t od[4] = {N, ax[0].out, hw_out, C};
    Value *out = conv_out_tensor(lw, y, 4, od);
    if (!out || !pool_stage(lw, t, v, a2, p->is_max, nonneg, out, "pool_d"))
      return lw_failed(lw);
  }
  return O2L_OK;
}

/* Global pools of [N, D, H, W, C] seen as [N, D, H*W, C]: MEAN over the
 * middle axes, or one MAX_POOL_2D over the whole map, as in 2-D. */
Status gpool3d_lower(Lower *lw, Node *n) {
  Value *x = n->in[0], *y = n->out[0];
  Value *t = map5(lw, x, "pooling reads channels-last");
  if (!t)
    return lw_failed(lw);
  int64_t N = x->dims[0], C = x->dims[1];
  int64_t v[4] = {N, x->dims[2], x->dims[3] * x->dims[4], C};
  int64_t od[4] = {N, 1, 1, C};
  Value *in4 = lw_reshape(lw, t, 4, v, "view");
  Value *out = conv_out_tensor(lw, y, 4, od);
  if (!in4 || !out || pool_emit_global(lw, n->op, in4, out) != O2L_OK)
    return lw_failed(lw);
  return O2L_OK;
}
