/* conv.c - CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, CONV_3D,
 * CONV_3D_TRANSPOSE, FULLY_CONNECTED and BATCH_MATMUL in float32 (TFLite
 * semantics, NHWC / NDHWC).
 *
 * Everything but the depthwise conv runs through the packed SGEMM
 * (gemm.c): a 1x1 stride-1 conv is a GEMM on the NHWC input as it is,
 * other convs build im2col rows for a block of output pixels in scratch
 * (bounded size), a transposed conv computes input-pixel x (tap, out
 * channel) products and scatter-adds them (col2im).  Weights are constant
 * (DEQUANTIZE of float16 weights is folded by the runner) and packed at
 * prepare time.  The depthwise conv keeps channels innermost so each tap is
 * a vector multiply-add over a register block of channels.
 */
#include <limits.h>

#include "ref/ref_impl.h"

/* Rows of im2col / col2im per block: about this many bytes of scratch. */
enum { COL_BLOCK = 256 << 10 };

static bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX / 2; }

/* Row counts and pixel indices here are int: keep every tensor below 2^30
 * elements so no product of its dims overflows. */
static Status need_dims_int(RefPrep *p, const Node *n, const Value *v) {
  int64_t k = ref_numel(v);
  if (k < 0 || k > INT_MAX / 2)
    return ref_bad(p, n, "tensor '%s' is too large", v->name);
  for (int i = 0; i < v->rank; i++)
    if (!fits_int(v->dims[i]))
      return ref_bad(p, n, "tensor '%s' has a dimension out of range",
                     v->name);
  return O2L_OK;
}

/* Input i as constant float data of shape rank r (checked by the caller). */
static Status need_const_f32(RefPrep *p, const Node *n, int i,
                             const float **out) {
  TRY(ref_need_in(p, n, i, DT_F32));
  if (!p->cdata[i])
    return ref_bad(p, n, "input %d ('%s') must be constant", i,
                   n->in[i]->name);
  *out = p->cdata[i];
  return O2L_OK;
}

/* Bias [cout], constant; NULL when omitted and optional.  LiteRT refuses
 * CONV_2D and DEPTHWISE_CONV_2D without one ("has_bias", "Tensor at index
 * 2 was optional but was expected"), so those pass required. */
static Status need_bias(RefPrep *p, const Node *n, int i, int cout,
                        bool required, const float **out) {
  *out = NULL;
  if ((i >= n->nin || !n->in[i]) && required)
    return ref_bad(p, n, "has no bias; LiteRT requires one (zeros will do)");
  if (i >= n->nin || !n->in[i])
    return O2L_OK;
  TRY(need_const_f32(p, n, i, out));
  int64_t d[1] = {cout};
  return ref_need_shape(p, n, n->in[i], "bias", 1, d);
}

/* Input 0 of a transposed convolution: the output shape, constant, rank
 * entries, and the output's shape. */
static Status need_output_shape(RefPrep *p, const Node *n, int rank,
                                int64_t *oshape) {
  int cnt = 0;
  TRY(ref_const_ints(p, n, 0, oshape, 8, &cnt));
  if (cnt != rank)
    return ref_bad(p, n, "output_shape must have %d elements", rank);
  return ref_need_shape(p, n, n->out[0], "output", rank, oshape);
}

/* Rows of row_len floats per im2col / col2im block: about COL_BLOCK bytes,
 * at least one and at most total (when total > 0); the scratch is raised
 * to hold them.  full_tiles rounds to a multiple of 48 (every MR), at least
 * 48, so the GEMM runs full tiles even when rows are long. */
static int col_block_rows(RefPrep *p, int64_t row_len, int64_t total,
                          bool full_tiles) {
  int64_t rows = COL_BLOCK / (row_len * 4);
  if (full_tiles)
    rows = rows < 48 ? 48 : rows - rows % 48;
  else if (rows < 1)
    rows = 1;
  if (rows > total)
    rows = total > 0 ? total : 1;
  size_t need = (size_t)rows * (size_t)row_len * sizeof(float);
  if (need > p->scratch)
    p->scratch = need;
  return (int)rows;
}

/* A copy of the optional constant bias[n] in the arena, zeros if none. */
static float *bias_or_zeros(RefPrep *p, const float *bias, int n) {
  float *b = ref_alloc(p, sizeof(float) * (size_t)n);
  if (b && bias)
    memcpy(b, bias, sizeof(float) * (size_t)n);
  return b;
}

typedef struct Geo {
  int N, H, W, C;        /* input */
  int OH, OW, OC;        /* output */
  int kh, kw, sh, sw, dh, dw, pt, pl;
} Geo;

/* Strides, dilations, padding and the output shape of a conv or pool. */
static Status conv_geometry(RefPrep *p, const Node *n, const Value *in,
                            int kh, int kw, int oc, Geo *g) {
  const TflOptions *o = &n->opt;
  TRY(need_dims_int(p, n, in));
  if (in->rank != 4)
    return ref_bad(p, n, "input must be 4-D NHWC, got rank %d", in->rank);
  g->N = (int)in->dims[0];
  g->H = (int)in->dims[1];
  g->W = (int)in->dims[2];
  g->C = (int)in->dims[3];
  g->kh = kh;
  g->kw = kw;
  g->sh = o->stride_h;
  g->sw = o->stride_w;
  g->dh = o->dilation_h ? o->dilation_h : 1;
  g->dw = o->dilation_w ? o->dilation_w : 1;
  if (g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1)
    return ref_bad(p, n, "strides %dx%d / dilations %dx%d must be >= 1", g->sh,
                   g->sw, g->dh, g->dw);
  if (kh < 1 || kw < 1 || kh > 4096 || kw > 4096)
    return ref_bad(p, n, "kernel %dx%d out of range", kh, kw);
  int64_t oh = ref_out_size(o->padding, g->H, kh, g->sh, g->dh);
  int64_t ow = ref_out_size(o->padding, g->W, kw, g->sw, g->dw);
  if (oh < 0 || ow < 0)
    return ref_bad(p, n, "padding %d is neither SAME nor VALID", o->padding);
  g->OH = (int)oh;
  g->OW = (int)ow;
  g->OC = oc;
  g->pt = ref_pad_before(g->H, kh, g->sh, g->dh, oh);
  g->pl = ref_pad_before(g->W, kw, g->sw, g->dw, ow);
  if (!ref_act_valid(o->act))
    return ref_bad(p, n, "fused activation %d unknown", o->act);
  int64_t want[4] = {g->N, oh, ow, oc};
  TRY(ref_need_shape(p, n, n->out[0], "output", 4, want));
  return need_dims_int(p, n, n->out[0]);
}

/* ---- CONV_2D -------------------------------------------------------------- */

typedef struct ConvState {
  Geo g;
  int groups, cig, cog, K; /* K = kh * kw * cig */
  bool direct;             /* 1x1, stride 1, no pad, one group */
  int rows;                /* output pixels per im2col block */
  RefGemmB *gb;            /* one per group */
  int act;
  float lo, hi;
} ConvState;

Status ref_conv2d_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 3, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  const float *w = NULL, *bias = NULL;
  TRY(need_const_f32(p, n, 1, &w));
  const Value *fv = n->in[1];
  if (fv->rank != 4)
    return ref_bad(p, n, "filter must be [O, kh, kw, I], got rank %d",
                   fv->rank);
  TRY(need_dims_int(p, n, fv));
  int oc = (int)fv->dims[0], cig = (int)fv->dims[3];
  TRY(need_bias(p, n, 2, oc, true, &bias));
  ConvState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  TRY(conv_geometry(p, n, n->in[0], (int)fv->dims[1], (int)fv->dims[2], oc,
                    &s->g));
  const Geo *g = &s->g;
  if (cig < 1 || g->C % cig != 0 || oc % (g->C / cig) != 0)
    return ref_bad(p, n,
                   "input channels %d and filter [%d, ., ., %d] do not form "
                   "whole groups",
                   g->C, oc, cig);
  s->groups = g->C / cig;
  s->cig = cig;
  s->cog = oc / s->groups;
  s->K = g->kh * g->kw * cig;
  s->act = n->opt.act;
  ref_act_range(s->act, &s->lo, &s->hi);
  s->direct = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 &&
              s->groups == 1 && g->OH == g->H && g->OW == g->W;
  s->gb = ref_alloc(p, sizeof(RefGemmB) * (size_t)s->groups);
  if (!s->gb)
    return p->cx->status;
  for (int gi = 0; gi < s->groups; gi++) {
    /* Filter rows of group gi: [cog, kh, kw, cig] = [N, K] row-major. */
    const float *wg = w + (size_t)gi * s->cog * s->K;
    TRY(ref_gemm_pack(p, &s->gb[gi], wg, s->K, s->cog, s->K, 1,
                      bias ? bias + (size_t)gi * s->cog : NULL));
  }
  if (!s->direct)
    s->rows = col_block_rows(p, s->K, (int64_t)g->OH * g->OW, true);
  op->state = s;
  return O2L_OK;
}

/* im2col rows for output pixels [p0, p0 + rows) of batch b, group gi.
 * With one group and no horizontal dilation the taps of a kernel row are
 * adjacent input pixels, so each kernel row is one copy. */
static void im2col(const ConvState *s, const float *in, int p0, int rows,
                   int gi, float *col) {
  const Geo *g = &s->g;
  size_t cb = (size_t)s->cig * sizeof(float);
  bool runs = s->groups == 1 && g->dw == 1;
  for (int r = 0; r < rows; r++) {
    int oy = (p0 + r) / g->OW, ox = (p0 + r) % g->OW;
    float *dst = col + (size_t)r * s->K;
    int ix0 = ox * g->sw - g->pl;
    int kx0 = ix0 < 0 ? -ix0 : 0;
    int kx1 = g->W - ix0 < g->kw ? g->W - ix0 : g->kw;
    kx1 = kx1 < kx0 ? kx0 : kx1;
    for (int ky = 0; ky < g->kh; ky++, dst += (size_t)g->kw * s->cig) {
      int iy = oy * g->sh - g->pt + ky * g->dh;
      if (iy < 0 || iy >= g->H) {
        memset(dst, 0, cb * (size_t)g->kw);
        continue;
      }
      const float *row = in + (size_t)iy * g->W * g->C + (size_t)gi * s->cig;
      if (runs) {
        /* Few channels (an RGB stem) make these copies a few dozen bytes:
         * a plain loop beats calling memcpy for each. */
        int lead = kx0 * s->cig, len = (kx1 - kx0) * s->cig;
        int tail = (g->kw - kx1) * s->cig;
        const float *src = row + (int64_t)(ix0 + kx0) * g->C;
        if (len + lead + tail <= 64) {
          for (int j = 0; j < lead; j++)
            dst[j] = 0;
          for (int j = 0; j < len; j++)
            dst[lead + j] = src[j];
          for (int j = 0; j < tail; j++)
            dst[lead + len + j] = 0;
        } else {
          memset(dst, 0, sizeof(float) * (size_t)lead);
          memcpy(dst + lead, src, sizeof(float) * (size_t)len);
          memset(dst + lead + len, 0, sizeof(float) * (size_t)tail);
        }
        continue;
      }
      for (int kx = 0; kx < g->kw; kx++) {
        int ix = ix0 + kx * g->dw;
        if (ix < 0 || ix >= g->W)
          memset(dst + (size_t)kx * s->cig, 0, cb);
        else
          memcpy(dst + (size_t)kx * s->cig, row + (size_t)ix * g->C, cb);
      }
    }
  }
}

Status ref_conv2d_f32(RefEval *e, const RefOp *op) {
  const ConvState *s = op->state;
  const Geo *g = &s->g;
  const float *in = op->in[0];
  float *out = op->out[0];
  if (s->direct) {
    ref_gemm(&s->gb[0], g->N * g->H * g->W, in, g->C, out, g->OC, s->lo,
             s->hi);
  } else {
    int npix = g->OH * g->OW;
    float *col = e->scratch;
    for (int b = 0; b < g->N; b++) {
      const float *ib = in + (size_t)b * g->H * g->W * g->C;
      float *ob = out + (size_t)b * npix * g->OC;
      for (int p0 = 0; p0 < npix; p0 += s->rows) {
        int rows = npix - p0 < s->rows ? npix - p0 : s->rows;
        for (int gi = 0; gi < s->groups; gi++) {
          im2col(s, ib, p0, rows, gi, col);
          ref_gemm(&s->gb[gi], rows, col, s->K,
                   ob + (size_t)p0 * g->OC + (size_t)gi * s->cog, g->OC,
                   s->lo, s->hi);
        }
      }
    }
  }
  return O2L_OK;
}

/* ---- DEPTHWISE_CONV_2D ------------------------------------------------------ */

typedef struct DwState {
  Geo g;
  int mult;
  float *w;     /* [kh, kw, OC], aligned copy */
  float *bias;  /* [OC], zeros if none */
  int act;
  float lo, hi;
} DwState;

Status ref_dwconv_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 3, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  const float *w = NULL, *bias = NULL;
  TRY(need_const_f32(p, n, 1, &w));
  const Value *fv = n->in[1];
  if (fv->rank != 4 || fv->dims[0] != 1)
    return ref_bad(p, n, "filter must be [1, kh, kw, C*mult]");
  TRY(need_dims_int(p, n, fv));
  int oc = (int)fv->dims[3];
  TRY(need_bias(p, n, 2, oc, true, &bias));
  DwState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  TRY(conv_geometry(p, n, n->in[0], (int)fv->dims[1], (int)fv->dims[2], oc,
                    &s->g));
  int c = s->g.C;
  if (c < 1 || oc % c != 0)
    return ref_bad(p, n, "output channels %d are not a multiple of input "
                   "channels %d", oc, c);
  s->mult = oc / c;
  if (n->opt.depth_multiplier != 0 && n->opt.depth_multiplier != s->mult)
    return ref_bad(p, n, "depth_multiplier %d but the filter implies %d",
                   n->opt.depth_multiplier, s->mult);
  size_t nw = (size_t)s->g.kh * s->g.kw * oc;
  s->w = ref_alloc(p, nw * sizeof(float));
  s->bias = bias_or_zeros(p, bias, oc);
  if (!s->w || !s->bias)
    return p->cx->status;
  memcpy(s->w, w, nw * sizeof(float));
  s->act = n->opt.act;
  ref_act_range(s->act, &s->lo, &s->hi);
  op->state = s;
  return O2L_OK;
}

/* Output row oy of one image, depth multiplier 1.  Channels go in register
 * blocks of 64, then 32, 16 and 8 (each a function with constant bounds,
 * so the compiler keeps the block in vector registers across the taps);
 * the last few channels accumulate in place. */
typedef struct DwTaps {
  const float *in, *w; /* input at (iy0, ix0), weights at (ky0, kx0) */
  int ky, kx;          /* valid taps */
  int64_t sy, sx;      /* input step per tap row / column (floats) */
  int64_t wy;          /* weight step per tap row */
  int C;               /* weight step per tap column */
} DwTaps;

#define DW_BLOCK(CB)                                                         \
  static inline __attribute__((always_inline)) void dw_block_##CB(           \
      const DwTaps *t, const float *restrict bias, float *restrict o,        \
      float lo, float hi) {                                                  \
    float acc[CB];                                                           \
    for (int j = 0; j < CB; j++)                                             \
      acc[j] = bias[j];                                                      \
    for (int ky = 0; ky < t->ky; ky++)                                       \
      for (int kx = 0; kx < t->kx; kx++) {                                   \
        const float *ip = t->in + ky * t->sy + kx * t->sx;                   \
        const float *wp = t->w + ky * t->wy + (int64_t)kx * t->C;            \
        for (int j = 0; j < CB; j++)                                         \
          acc[j] += ip[j] * wp[j];                                           \
      }                                                                      \
    for (int j = 0; j < CB; j++) {                                           \
      float v = acc[j] < lo ? lo : acc[j];                                   \
      o[j] = v > hi ? hi : v;                                                \
    }                                                                        \
  }
DW_BLOCK(64)
DW_BLOCK(32)
DW_BLOCK(16)
DW_BLOCK(8)

/* One output pixel, channels [c, C): any kernel, clipped to the input. */
static inline __attribute__((always_inline)) void
dw_pixel(const DwState *s, const float *restrict in, float *restrict out,
         int oy, int ox, int c) {
  const Geo *g = &s->g;
  const int C = g->C, W = g->W;
  const float lo = s->lo, hi = s->hi;
  int iy0 = oy * g->sh - g->pt;
  int ky0 = 0, ky1 = g->kh;
  while (ky0 < ky1 && iy0 + ky0 * g->dh < 0)
    ky0++;
  while (ky1 > ky0 && iy0 + (ky1 - 1) * g->dh >= g->H)
    ky1--;
  int ix0 = ox * g->sw - g->pl;
  int kx0 = 0, kx1 = g->kw;
  while (kx0 < kx1 && ix0 + kx0 * g->dw < 0)
    kx0++;
  while (kx1 > kx0 && ix0 + (kx1 - 1) * g->dw >= W)
    kx1--;
  DwTaps t;
  t.in = in + ((int64_t)(iy0 + ky0 * g->dh) * W + ix0 + kx0 * g->dw) * C + c;
  t.w = s->w + ((int64_t)ky0 * g->kw + kx0) * C + c;
  t.ky = ky1 - ky0;
  t.kx = kx1 - kx0;
  t.sy = (int64_t)g->dh * W * C;
  t.sx = (int64_t)g->dw * C;
  t.wy = (int64_t)g->kw * C;
  t.C = C;
  float *restrict o = out + (size_t)ox * C;
  for (; c + 64 <= C; c += 64, t.in += 64, t.w += 64)
    dw_block_64(&t, s->bias + c, o + c, lo, hi);
  if (c + 32 <= C) {
    dw_block_32(&t, s->bias + c, o + c, lo, hi);
    c += 32, t.in += 32, t.w += 32;
  }
  if (c + 16 <= C) {
    dw_block_16(&t, s->bias + c, o + c, lo, hi);
    c += 16, t.in += 16, t.w += 16;
  }
  if (c + 8 <= C) {
    dw_block_8(&t, s->bias + c, o + c, lo, hi);
    c += 8, t.in += 8, t.w += 8;
  }
  if (c < C) {
    int nc = C - c;
    for (int j = 0; j < nc; j++)
      o[c + j] = s->bias[c + j];
    for (int ky = 0; ky < t.ky; ky++)
      for (int kx = 0; kx < t.kx; kx++) {
        const float *ip = t.in + ky * t.sy + kx * t.sx;
        const float *wp = t.w + ky * t.wy + (int64_t)kx * C;
        for (int j = 0; j < nc; j++)
          o[c + j] += ip[j] * wp[j];
      }
    for (int j = 0; j < nc; j++) {
      float v = o[c + j] < lo ? lo : o[c + j];
      o[c + j] = v > hi ? hi : v;
    }
  }
}

/* 3x3 taps fully inside the input, output pixels [oxa, oxb) of row oy,
 * channels [c0, c0 + 16): the 9 weight vectors stay in registers while the
 * row is swept, so each multiply-add loads only its input. */
static inline __attribute__((always_inline)) void
dw3x3_run16(const DwState *s, const float *restrict in, float *restrict out,
            int oy, int oxa, int oxb, int c0) {
  const Geo *g = &s->g;
  const int C = g->C;
  float w[9][16], b[16];
  for (int t = 0; t < 9; t++)
    for (int j = 0; j < 16; j++)
      w[t][j] = s->w[(size_t)t * C + c0 + j];
  for (int j = 0; j < 16; j++)
    b[j] = s->bias[c0 + j];
  const float lo = s->lo, hi = s->hi;
  const int64_t sy = (int64_t)g->dh * g->W * C, sx = (int64_t)g->dw * C;
  const float *row = in + (int64_t)(oy * g->sh - g->pt) * g->W * C + c0;
  /* Lanes outermost, taps inside: the form GCC vectorizes whole (with the
   * taps outermost it scalarized the clamp). */
  for (int ox = oxa; ox < oxb; ox++) {
    const float *restrict p = row + (int64_t)(ox * g->sw - g->pl) * C;
    float *restrict o = out + (size_t)ox * C + c0;
    for (int j = 0; j < 16; j++) {
      float a = b[j];
      for (int t = 0; t < 9; t++)
        a += p[(t / 3) * sy + (t % 3) * sx + j] * w[t][j];
      a = a < lo ? lo : a;
      o[j] = a > hi ? hi : a;
    }
  }
}

static inline __attribute__((always_inline)) void
dw_row_body(const DwState *s, const float *restrict in, float *restrict out,
            int oy) {
  const Geo *g = &s->g;
  int oxa = 0, oxb = 0; /* pixels whose whole window is inside */
  int iy0 = oy * g->sh - g->pt;
  if (g->kh == 3 && g->kw == 3 && iy0 >= 0 && iy0 + 2 * g->dh < g->H) {
    oxa = (g->pl + g->sw - 1) / g->sw;
    oxb = oxa;
    while (oxb < g->OW && oxb * g->sw - g->pl + 2 * g->dw < g->W)
      oxb++;
  }
  int c16 = oxb > oxa ? g->C - g->C % 16 : 0;
  for (int c0 = 0; c0 < c16; c0 += 16)
    dw3x3_run16(s, in, out, oy, oxa, oxb, c0);
  for (int ox = 0; ox < g->OW; ox++)
    if (ox < oxa || ox >= oxb)
      dw_pixel(s, in, out, oy, ox, 0);
    else if (c16 < g->C)
      dw_pixel(s, in, out, oy, ox, c16);
}

static void dw_row_generic(const DwState *s, const float *in, float *out,
                           int oy) {
  dw_row_body(s, in, out, oy);
}
#ifdef REF_X86_ISA
REF_TARGET_AVX2 static void dw_row_avx2(const DwState *s, const float *in,
                                        float *out, int oy) {
  dw_row_body(s, in, out, oy);
}
REF_TARGET_AVX512 static void dw_row_avx512(const DwState *s,
                                            const float *in, float *out,
                                            int oy) {
  dw_row_body(s, in, out, oy);
}
#endif

/* Any depth multiplier: output channel oc reads input channel oc / mult. */
static void dw_row_mult(const DwState *s, const float *in, float *out,
                        int oy) {
  const Geo *g = &s->g;
  for (int ox = 0; ox < g->OW; ox++) {
    float *o = out + (size_t)ox * g->OC;
    for (int oc = 0; oc < g->OC; oc++)
      o[oc] = s->bias[oc];
    for (int ky = 0; ky < g->kh; ky++) {
      int iy = oy * g->sh - g->pt + ky * g->dh;
      if (iy < 0 || iy >= g->H)
        continue;
      for (int kx = 0; kx < g->kw; kx++) {
        int ix = ox * g->sw - g->pl + kx * g->dw;
        if (ix < 0 || ix >= g->W)
          continue;
        const float *ip = in + ((size_t)iy * g->W + ix) * g->C;
        const float *wp = s->w + ((size_t)ky * g->kw + kx) * g->OC;
        for (int oc = 0; oc < g->OC; oc++)
          o[oc] += ip[oc / s->mult] * wp[oc];
      }
    }
    for (int oc = 0; oc < g->OC; oc++) {
      float v = o[oc] < s->lo ? s->lo : o[oc];
      o[oc] = v > s->hi ? s->hi : v;
    }
  }
}

Status ref_dwconv_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const DwState *s = op->state;
  const Geo *g = &s->g;
  void (*row)(const DwState *, const float *, float *, int) = dw_row_generic;
  if (s->mult != 1)
    row = dw_row_mult;
#ifdef REF_X86_ISA
  else if (ref_isa() == REF_ISA_AVX512)
    row = dw_row_avx512;
  else if (ref_isa() == REF_ISA_AVX2)
    row = dw_row_avx2;
#endif
  size_t img = (size_t)g->H * g->W * g->C, orow = (size_t)g->OW * g->OC;
  for (int b = 0; b < g->N; b++)
    for (int oy = 0; oy < g->OH; oy++)
      row(s, (const float *)op->in[0] + b * img, (float *)op->out[0] +
          ((size_t)b * g->OH + oy) * orow, oy);
  return O2L_OK;
}

/* ---- TRANSPOSE_CONV ------------------------------------------------------- */

typedef struct TconvState {
  int N, H, W, I, OH, OW, O, kh, kw, sh, sw, pt, pl;
  int rows;       /* input pixels per col block */
  RefGemmB gb;    /* B[ic][(ky * kw + kx) * O + oc] */
  float *bias;    /* [O], zeros if none */
  int act;
} TconvState;

Status ref_tconv_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 3, 4, 1));
  TRY(ref_need_in(p, n, 2, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  int64_t oshape[8];
  TRY(need_output_shape(p, n, 4, oshape));
  const float *w = NULL, *bias = NULL;
  TRY(need_const_f32(p, n, 1, &w));
  const Value *fv = n->in[1], *in = n->in[2];
  if (fv->rank != 4 || in->rank != 4)
    return ref_bad(p, n, "weights [O, kh, kw, I] and input NHWC must be 4-D");
  TRY(need_dims_int(p, n, fv));
  TRY(need_dims_int(p, n, in));
  TRY(need_dims_int(p, n, n->out[0]));
  TconvState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  s->N = (int)in->dims[0];
  s->H = (int)in->dims[1];
  s->W = (int)in->dims[2];
  s->I = (int)in->dims[3];
  s->O = (int)fv->dims[0];
  s->kh = (int)fv->dims[1];
  s->kw = (int)fv->dims[2];
  s->OH = (int)oshape[1];
  s->OW = (int)oshape[2];
  s->sh = n->opt.stride_h;
  s->sw = n->opt.stride_w;
  if (fv->dims[3] != s->I || oshape[3] != s->O || oshape[0] != s->N)
    return ref_bad(p, n, "weights, input and output_shape disagree");
  if (s->sh < 1 || s->sw < 1 || s->kh < 1 || s->kw < 1)
    return ref_bad(p, n, "bad strides or kernel size");
  TRY(need_bias(p, n, 3, s->O, false, &bias));
  if (!ref_act_valid(n->opt.act))
    return ref_bad(p, n, "fused activation %d unknown", n->opt.act);
  s->act = n->opt.act;
  /* TFLite pads as for a conv from the output size (transpose_conv.cc),
   * and refuses an output_shape from which that conv would not give back
   * the input size (docs/tflite-facts.md (b)). */
  int64_t oh = ref_out_size(n->opt.padding, s->OH, s->kh, s->sh, 1);
  int64_t ow = ref_out_size(n->opt.padding, s->OW, s->kw, s->sw, 1);
  if (oh < 0 || ow < 0)
    return ref_bad(p, n, "padding %d is neither SAME nor VALID",
                   n->opt.padding);
  if (oh != s->H || ow != s->W)
    return ref_bad(p, n,
                   "output %dx%d does not map back to the input %dx%d "
                   "(LiteRT refuses it)",
                   s->OH, s->OW, s->H, s->W);
  s->pt = ref_pad_before(s->OH, s->kh, s->sh, 1, oh);
  s->pl = ref_pad_before(s->OW, s->kw, s->sw, 1, ow);
  /* Rows n = (tap, oc) of the [N, K = I] operand, from [O, kh, kw, I]. */
  int taps = s->kh * s->kw, ncol = taps * s->O;
  float *wt = ref_alloc(p, (size_t)ncol * s->I * sizeof(float));
  s->bias = bias_or_zeros(p, bias, s->O);
  if (!wt || !s->bias)
    return p->cx->status;
  for (int t = 0; t < taps; t++)
    for (int o = 0; o < s->O; o++)
      memcpy(wt + ((size_t)t * s->O + o) * s->I,
             w + ((size_t)o * taps + t) * s->I, (size_t)s->I * sizeof(float));
  TRY(ref_gemm_pack(p, &s->gb, wt, s->I, ncol, s->I, 1, NULL));
  s->rows = col_block_rows(p, ncol, (int64_t)s->H * s->W, false);
  op->state = s;
  return O2L_OK;
}

Status ref_tconv_f32(RefEval *e, const RefOp *op) {
  const TconvState *s = op->state;
  const float *in = op->in[2];
  float *out = op->out[0];
  float *col = e->scratch;
  int ncol = s->kh * s->kw * s->O, npix = s->H * s->W;
  size_t opix = (size_t)s->OH * s->OW;
  for (int b = 0; b < s->N; b++) {
    float *ob = out + (size_t)b * opix * s->O;
    for (size_t q = 0; q < opix; q++)
      memcpy(ob + q * s->O, s->bias, (size_t)s->O * sizeof(float));
    const float *ib = in + (size_t)b * npix * s->I;
    for (int p0 = 0; p0 < npix; p0 += s->rows) {
      int rows = npix - p0 < s->rows ? npix - p0 : s->rows;
      ref_gemm(&s->gb, rows, ib + (size_t)p0 * s->I, s->I, col, ncol,
               -INFINITY, INFINITY);
      for (int r = 0; r < rows; r++) {
        int y = (p0 + r) / s->W, x = (p0 + r) % s->W;
        const float *cr = col + (size_t)r * ncol;
        for (int ky = 0; ky < s->kh; ky++) {
          int oy = y * s->sh - s->pt + ky;
          if (oy < 0 || oy >= s->OH)
            continue;
          for (int kx = 0; kx < s->kw; kx++) {
            int ox = x * s->sw - s->pl + kx;
            if (ox < 0 || ox >= s->OW)
              continue;
            float *o = ob + ((size_t)oy * s->OW + ox) * s->O;
            const float *c = cr + (size_t)(ky * s->kw + kx) * s->O;
            for (int j = 0; j < s->O; j++)
              o[j] += c[j];
          }
        }
      }
    }
  }
  ref_act_apply(s->act, out, (size_t)s->N * opix * s->O);
  return O2L_OK;
}

/* ---- CONV_3D and CONV_3D_TRANSPOSE ----------------------------------------- */

/* NDHWC maps.  CONV_3D: filter [kd, kh, kw, C, M] (DHWIO), optional bias,
 * TFLite padding per axis, dilations.  CONV_3D_TRANSPOSE: inputs
 * (output_shape [5], filter [kd, kh, kw, M, C], input, bias?), padded as
 * for a conv from the output size, like TRANSPOSE_CONV. */
typedef struct Conv3State {
  int N, in[3], C, out[3], M, k[3], s[3], d[3], pad[3];
  int K, rows;   /* CONV_3D: im2col row length and rows per block */
  RefGemmB gb;
  float *bias;   /* CONV_3D_TRANSPOSE: [M], zeros if none */
  int act;
  float lo, hi;
} Conv3State;

static Status conv3_common(RefPrep *p, const Node *n, const Value *x,
                           const Value *w, Conv3State *s) {
  if (x->rank != 5 || w->rank != 5)
    return ref_bad(p, n, "input and filter must be 5-D (NDHWC, DHWIO)");
  TRY(need_dims_int(p, n, x));
  TRY(need_dims_int(p, n, w));
  TRY(need_dims_int(p, n, n->out[0]));
  s->N = (int)x->dims[0];
  for (int i = 0; i < 3; i++) {
    s->in[i] = (int)x->dims[1 + i];
    s->k[i] = (int)w->dims[i];
  }
  s->C = (int)x->dims[4];
  const TflOptions *o = &n->opt;
  int st[3] = {o->stride_d, o->stride_h, o->stride_w};
  int dl[3] = {o->dilation_d, o->dilation_h, o->dilation_w};
  for (int i = 0; i < 3; i++) {
    s->s[i] = st[i];
    s->d[i] = dl[i] ? dl[i] : 1;
    if (s->s[i] < 1 || s->d[i] < 1 || s->k[i] < 1)
      return ref_bad(p, n, "strides, dilations and kernel sizes must be >= 1");
  }
  if (o->padding != TFL_PAD_SAME && o->padding != TFL_PAD_VALID)
    return ref_bad(p, n, "padding %d is neither SAME nor VALID", o->padding);
  if (!ref_act_valid(o->act))
    return ref_bad(p, n, "fused activation %d unknown", o->act);
  s->act = o->act;
  ref_act_range(s->act, &s->lo, &s->hi);
  return O2L_OK;
}

Status ref_conv3d_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 3, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  const float *w = NULL, *bias = NULL;
  TRY(need_const_f32(p, n, 1, &w));
  Conv3State *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  TRY(conv3_common(p, n, n->in[0], n->in[1], s));
  const Value *fv = n->in[1];
  if (fv->dims[3] != s->C)
    return ref_bad(p, n, "filter has %lld input channels, the input %d",
                   (long long)fv->dims[3], s->C);
  s->M = (int)fv->dims[4];
  TRY(need_bias(p, n, 2, s->M, false, &bias));
  int64_t want[5] = {s->N, 0, 0, 0, s->M};
  for (int i = 0; i < 3; i++) {
    int64_t o = ref_out_size(n->opt.padding, s->in[i], s->k[i], s->s[i], s->d[i]);
    s->out[i] = (int)o;
    s->pad[i] = ref_pad_before(s->in[i], s->k[i], s->s[i], s->d[i], o);
    want[1 + i] = o;
  }
  TRY(ref_need_shape(p, n, n->out[0], "output", 5, want));
  s->K = s->k[0] * s->k[1] * s->k[2] * s->C;
  /* B[k][m] = w[k * M + m]: the DHWIO filter is already [K, M]. */
  TRY(ref_gemm_pack(p, &s->gb, w, s->K, s->M, 1, s->M, bias));
  s->rows = col_block_rows(p, s->K,
                           (int64_t)s->out[0] * s->out[1] * s->out[2], true);
  op->state = s;
  return O2L_OK;
}

Status ref_conv3d_f32(RefEval *e, const RefOp *op) {
  const Conv3State *s = op->state;
  const float *in = op->in[0];
  float *out = op->out[0], *col = e->scratch;
  int nvox = s->out[0] * s->out[1] * s->out[2];
  size_t ivol = (size_t)s->in[0] * s->in[1] * s->in[2] * s->C;
  size_t cb = (size_t)s->C * sizeof(float);
  for (int b = 0; b < s->N; b++) {
    const float *ib = in + (size_t)b * ivol;
    float *ob = out + (size_t)b * nvox * s->M;
    for (int v0 = 0; v0 < nvox; v0 += s->rows) {
      int rows = nvox - v0 < s->rows ? nvox - v0 : s->rows;
      for (int r = 0; r < rows; r++) {
        int v = v0 + r, ox = v % s->out[2], oy = v / s->out[2] % s->out[1];
        int oz = v / s->out[2] / s->out[1];
        float *dst = col + (size_t)r * s->K;
        for (int kz = 0; kz < s->k[0]; kz++) {
          int iz = oz * s->s[0] - s->pad[0] + kz * s->d[0];
          for (int ky = 0; ky < s->k[1]; ky++) {
            int iy = oy * s->s[1] - s->pad[1] + ky * s->d[1];
            for (int kx = 0; kx < s->k[2]; kx++, dst += s->C) {
              int ix = ox * s->s[2] - s->pad[2] + kx * s->d[2];
              if (iz < 0 || iz >= s->in[0] || iy < 0 || iy >= s->in[1] ||
                  ix < 0 || ix >= s->in[2])
                memset(dst, 0, cb);
              else
                memcpy(dst, ib + (((size_t)iz * s->in[1] + iy) * s->in[2] + ix) * s->C,
                       cb);
            }
          }
        }
      }
      ref_gemm(&s->gb, rows, col, s->K, ob + (size_t)v0 * s->M, s->M, s->lo,
               s->hi);
    }
  }
  return O2L_OK;
}

Status ref_tconv3d_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 3, 4, 1));
  TRY(ref_need_in(p, n, 2, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  int64_t oshape[8];
  TRY(need_output_shape(p, n, 5, oshape));
  const float *w = NULL, *bias = NULL;
  TRY(need_const_f32(p, n, 1, &w));
  Conv3State *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  TRY(conv3_common(p, n, n->in[2], n->in[1], s));
  const Value *fv = n->in[1];
  s->M = (int)fv->dims[3];
  if (fv->dims[4] != s->C || oshape[4] != s->M || oshape[0] != s->N)
    return ref_bad(p, n, "filter, input and output_shape disagree");
  for (int i = 0; i < 3; i++) {
    if (s->d[i] != 1)
      return ref_bad(p, n, "dilated transposed convolution");
    s->out[i] = (int)oshape[1 + i];
    int64_t o = ref_out_size(n->opt.padding, s->out[i], s->k[i], s->s[i], 1);
    s->pad[i] = ref_pad_before(s->out[i], s->k[i], s->s[i], 1, o);
  }
  TRY(need_bias(p, n, 3, s->M, false, &bias));
  s->bias = bias_or_zeros(p, bias, s->M);
  if (!s->bias)
    return p->cx->status;
  /* Rows (tap, m) of [N, K = C]: the [kd, kh, kw, M, C] filter as it is. */
  int ncol = s->k[0] * s->k[1] * s->k[2] * s->M;
  TRY(ref_gemm_pack(p, &s->gb, w, s->C, ncol, s->C, 1, NULL));
  s->rows = col_block_rows(p, ncol,
                           (int64_t)s->in[0] * s->in[1] * s->in[2], false);
  op->state = s;
  return O2L_OK;
}

Status ref_tconv3d_f32(RefEval *e, const RefOp *op) {
  const Conv3State *s = op->state;
  const float *in = op->in[2];
  float *out = op->out[0], *col = e->scratch;
  int taps = s->k[0] * s->k[1] * s->k[2], ncol = taps * s->M;
  int nvox = s->in[0] * s->in[1] * s->in[2];
  size_t ovox = (size_t)s->out[0] * s->out[1] * s->out[2];
  for (int b = 0; b < s->N; b++) {
    float *ob = out + (size_t)b * ovox * s->M;
    for (size_t q = 0; q < ovox; q++)
      memcpy(ob + q * s->M, s->bias, sizeof(float) * (size_t)s->M);
    const float *ib = in + (size_t)b * nvox * s->C;
    for (int v0 = 0; v0 < nvox; v0 += s->rows) {
      int rows = nvox - v0 < s->rows ? nvox - v0 : s->rows;
      ref_gemm(&s->gb, rows, ib + (size_t)v0 * s->C, s->C, col, ncol,
               -INFINITY, INFINITY);
      for (int r = 0; r < rows; r++) {
        int v = v0 + r, x = v % s->in[2], y = v / s->in[2] % s->in[1];
        int z = v / s->in[2] / s->in[1];
        const float *cr = col + (size_t)r * ncol;
        for (int kz = 0; kz < s->k[0]; kz++) {
          int oz = z * s->s[0] - s->pad[0] + kz;
          if (oz < 0 || oz >= s->out[0])
            continue;
          for (int ky = 0; ky < s->k[1]; ky++) {
            int oy = y * s->s[1] - s->pad[1] + ky;
            if (oy < 0 || oy >= s->out[1])
              continue;
            for (int kx = 0; kx < s->k[2]; kx++) {
              int ox = x * s->s[2] - s->pad[2] + kx;
              if (ox < 0 || ox >= s->out[2])
                continue;
              float *o = ob + (((size_t)oz * s->out[1] + oy) * s->out[2] + ox) * s->M;
              const float *c = cr + (size_t)((kz * s->k[1] + ky) * s->k[2] + kx) * s->M;
              for (int j = 0; j < s->M; j++)
                o[j] += c[j];
            }
          }
        }
      }
    }
  }
  ref_act_apply(s->act, out, (size_t)s->N * ovox * s->M);
  return O2L_OK;
}

/* ---- FULLY_CONNECTED ------------------------------------------------------ */

typedef struct FcState {
  int M, K, N;
  RefGemmB gb;       /* when the weights are constant */
  bool dyn_w;        /* weights computed at run time: packed into scratch */
  bool dyn_bias;     /* bias computed at run time: added after the GEMM */
  int act;
  float lo, hi;
} FcState;

Status ref_fc_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 3, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_in(p, n, 1, DT_F32));
  TRY(ref_need_in_opt(p, n, 2, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  const Value *in = n->in[0], *wv = n->in[1];
  if (wv->rank != 2)
    return ref_bad(p, n, "weights must be [O, I], got rank %d", wv->rank);
  TRY(need_dims_int(p, n, wv));
  TRY(need_dims_int(p, n, in));
  TRY(need_dims_int(p, n, n->out[0]));
  FcState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  s->N = (int)wv->dims[0];
  s->K = (int)wv->dims[1];
  int64_t numel = ref_numel(in);
  if (s->K < 1 || numel % s->K != 0)
    return ref_bad(p, n, "input of %lld elements does not flatten to [., %d]",
                   (long long)numel, s->K);
  s->M = (int)(numel / s->K);
  const Value *ov = n->out[0];
  if (ov->rank < 1 || ov->dims[ov->rank - 1] != s->N ||
      ref_numel(ov) != (int64_t)s->M * s->N)
    return ref_bad(p, n, "output '%s' must hold [%d, %d]", ov->name, s->M,
                   s->N);
  if (n->opt.keep_num_dims) {
    int64_t want[O2L_MAX_RANK];
    memcpy(want, in->dims, sizeof want);
    if (in->rank < 1)
      return ref_bad(p, n, "keep_num_dims needs a ranked input");
    want[in->rank - 1] = s->N;
    TRY(ref_need_shape(p, n, ov, "output", in->rank, want));
  }
  if (n->nin > 2 && n->in[2]) {
    int64_t d[1] = {s->N};
    TRY(ref_need_shape(p, n, n->in[2], "bias", 1, d));
  }
  if (!ref_act_valid(n->opt.act) || n->opt.act == TFL_ACT_TANH)
    return ref_bad(p, n, "fused activation %d: LiteRT refuses it",
                   n->opt.act); /* fully_connected.cc: not TANH */
  s->act = n->opt.act;
  ref_act_range(s->act, &s->lo, &s->hi);
  s->dyn_w = !p->cdata[1];
  s->dyn_bias = n->nin > 2 && n->in[2] && !p->cdata[2];
  const float *bias = n->nin > 2 && n->in[2] && !s->dyn_bias ? p->cdata[2]
                                                              : NULL;
  if (!s->dyn_w) {
    TRY(ref_gemm_pack(p, &s->gb, p->cdata[1], s->K, s->N, s->K, 1, bias));
  } else {
    size_t need = (ref_gemm_packed_floats(s->K, s->N) +
                   ref_gemm_bias_floats(s->N)) * sizeof(float);
    if (need > p->scratch)
      p->scratch = need;
    if (bias) /* a constant bias with runtime weights: add it after */
      s->dyn_bias = true;
  }
  op->state = s;
  return O2L_OK;
}

Status ref_fc_f32(RefEval *e, const RefOp *op) {
  const FcState *s = op->state;
  const RefOp *o = op;
  float *out = o->out[0];
  RefGemmB dyn;
  const RefGemmB *gb = &s->gb;
  if (s->dyn_w) {
    float *panels = e->scratch;
    float *pb = panels + ref_gemm_packed_floats(s->K, s->N);
    ref_gemm_pack_into(&dyn, panels, pb, o->in[1], s->K, s->N, s->K, 1);
    gb = &dyn;
  }
  if (!s->dyn_bias) {
    ref_gemm(gb, s->M, o->in[0], s->K, out, s->N, s->lo, s->hi);
    return O2L_OK;
  }
  ref_gemm(gb, s->M, o->in[0], s->K, out, s->N, -INFINITY, INFINITY);
  const float *bias = o->in[2];
  for (int m = 0; m < s->M; m++) {
    float *r = out + (size_t)m * s->N;
    for (int j = 0; j < s->N; j++)
      r[j] += bias[j];
  }
  ref_act_apply(s->act, out, (size_t)s->M * s->N);
  return O2L_OK;
}

/* ---- BATCH_MATMUL ------------------------------------------------------- */

typedef struct BmmState {
  int M, K, N;
  int rank;                     /* of the output, >= 2 */
  int64_t bdims[O2L_MAX_RANK];  /* output batch dims (rank - 2) */
  int64_t xst[O2L_MAX_RANK], yst[O2L_MAX_RANK]; /* batch strides in matrices */
  int64_t nbatch, ny;
  bool adj_x, adj_y;
  RefGemmB *gb;                 /* per y matrix when y is constant */
} BmmState;

Status ref_bmm_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 2, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_in(p, n, 1, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  const Value *x = n->in[0], *y = n->in[1];
  if (x->rank < 2 || y->rank < 2)
    return ref_bad(p, n, "operands must have rank >= 2");
  TRY(need_dims_int(p, n, x));
  TRY(need_dims_int(p, n, y));
  TRY(need_dims_int(p, n, n->out[0]));
  BmmState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  s->adj_x = n->opt.adj_x;
  s->adj_y = n->opt.adj_y;
  int64_t xr = x->dims[x->rank - 2], xc = x->dims[x->rank - 1];
  int64_t yr = y->dims[y->rank - 2], yc = y->dims[y->rank - 1];
  s->M = (int)(s->adj_x ? xc : xr);
  s->K = (int)(s->adj_x ? xr : xc);
  int ky = (int)(s->adj_y ? yc : yr);
  s->N = (int)(s->adj_y ? yr : yc);
  if (ky != s->K)
    return ref_bad(p, n, "inner dimensions %d and %d differ", s->K, ky);
  int br;
  int64_t bd[O2L_MAX_RANK];
  if (!ref_bcast_shape(x->rank - 2, x->dims, y->rank - 2, y->dims, &br, bd))
    return ref_bad(p, n, "batch dimensions do not broadcast");
  int64_t want[O2L_MAX_RANK];
  memcpy(want, bd, sizeof(int64_t) * (size_t)br);
  want[br] = s->M;
  want[br + 1] = s->N;
  TRY(ref_need_shape(p, n, n->out[0], "output", br + 2, want));
  s->rank = br + 2;
  memcpy(s->bdims, bd, sizeof(int64_t) * (size_t)br);
  ref_bcast_strides(br, x->rank - 2, x->dims, s->xst);
  ref_bcast_strides(br, y->rank - 2, y->dims, s->yst);
  s->nbatch = 1;
  for (int i = 0; i < br; i++)
    s->nbatch *= bd[i];
  s->ny = ref_numel(y) / ((int64_t)s->K * s->N > 0 ? (int64_t)s->K * s->N : 1);
  int64_t sn = s->adj_y ? s->K : 1, sk = s->adj_y ? 1 : s->N;
  if (p->cdata[1]) {
    s->gb = ref_alloc(p, sizeof(RefGemmB) * (size_t)(s->ny > 0 ? s->ny : 1));
    if (!s->gb)
      return p->cx->status;
    const float *yd = p->cdata[1];
    for (int64_t i = 0; i < s->ny; i++)
      TRY(ref_gemm_pack(p, &s->gb[i], yd + i * (int64_t)s->K * s->N, s->K,
                        s->N, sn, sk, NULL));
  }
  size_t need = 0;
  if (!s->gb)
    need += ref_gemm_packed_floats(s->K, s->N) + ref_gemm_bias_floats(s->N);
  if (s->adj_x)
    need += (size_t)s->M * s->K;
  if (need * sizeof(float) > p->scratch)
    p->scratch = need * sizeof(float);
  op->state = s;
  return O2L_OK;
}

Status ref_bmm_f32(RefEval *e, const RefOp *op) {
  const BmmState *s = op->state;
  const float *x = op->in[0], *y = op->in[1];
  float *out = op->out[0];
  float *scratch = e->scratch;
  float *xt = scratch; /* [M, K] when adj_x */
  float *panels = scratch + (s->adj_x ? (size_t)s->M * s->K : 0);
  int br = s->rank - 2;
  int64_t idx[O2L_MAX_RANK] = {0};
  int64_t mx = (int64_t)s->M * s->K, my = (int64_t)s->K * s->N;
  for (int64_t b = 0; b < s->nbatch; b++) {
    int64_t bx = 0, byi = 0;
    for (int i = 0; i < br; i++) {
      bx += idx[i] * s->xst[i];
      byi += idx[i] * s->yst[i];
    }
    const float *a = x + bx * mx;
    if (s->adj_x) {
      for (int m = 0; m < s->M; m++)
        for (int k = 0; k < s->K; k++)
          xt[(size_t)m * s->K + k] = a[(size_t)k * s->M + m];
      a = xt;
    }
    RefGemmB dyn;
    const RefGemmB *gb;
    if (s->gb) {
      gb = &s->gb[byi];
    } else {
      ref_gemm_pack_into(&dyn, panels,
                         panels + ref_gemm_packed_floats(s->K, s->N),
                         y + byi * my, s->K, s->N, s->adj_y ? s->K : 1,
                         s->adj_y ? 1 : s->N);
      gb = &dyn;
    }
    ref_gemm(gb, s->M, a, s->K, out + b * (int64_t)s->M * s->N, s->N,
             -INFINITY, INFINITY);
    for (int i = br - 1; i >= 0; i--) {
      if (++idx[i] < s->bdims[i])
        break;
      idx[i] = 0;
    }
  }
  return O2L_OK;
}
