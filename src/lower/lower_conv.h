/* lower_conv.h - what the 2-D convolution and pooling lowerings
 * (lower_conv.c) and the 3-D ones (lower_conv3d.c) share: the geometry of
 * one spatial axis of a window, the choice between SAME, VALID and an
 * explicit PAD, and the builders of the operators both emit.  The 3-D
 * entry points are called by lower_conv.c when the input has three spatial
 * dimensions; parameters are already parsed and validated by the caller.
 */
#ifndef O2L_LOWER_CONV_H
#define O2L_LOWER_CONV_H

#include "lower/lower.h"
#include "ops/opattr.h"

/* ---- window geometry (lower_conv.c) -------------------------------------- */

/* One spatial axis of an operator's window, in ONNX terms. */
typedef struct WinAxis {
  int64_t in, k, s, d, pb, pe, out; /* input, kernel, stride, dilation,
                                       pads, output */
  bool cip; /* average pools: padding counted in the divisor */
} WinAxis;

/* Axis j of the window of a ConvParams or PoolParams *p (same fields). */
#define WIN_AXIS(p, j, cip)                                                  \
  ((WinAxis){(p)->in[j], (p)->kernel[j], (p)->stride[j], (p)->dilation[j],  \
             (p)->pad_begin[j], (p)->pad_end[j], (p)->out[j], (cip)})
/* An axis of size 1 the window does not move along (the H of a 1-D map). */
static const WinAxis WIN_NONE = {1, 1, 1, 1, 0, 0, 1, false};

/* Two paddings give the same result when they produce the same number of
 * windows and the first window starts at the same place (cells a window
 * reads past the end are zeros under both, or ignored by max pooling), so
 * only the output size and the begin pad are compared. */
bool win_fits_same(const WinAxis *a);
bool win_fits_valid(const WinAxis *a);
/* Padding after the input that the last window reaches into. */
int64_t win_pad_after(const WinAxis *a);
/* TFL_PAD_VALID or TFL_PAD_SAME (SAME only when same_ok) when it fits all
 * n axes; -1 when an explicit PAD (begin pb, end win_pad_after) must go in
 * front of a VALID operator. */
int win_choose_padding(const WinAxis *ax, int n, bool same_ok);
/* Cells of axis a that ONNX's average counts for window o. */
int64_t win_avg_count(const WinAxis *a, int64_t o);
/* A transposed convolution (no dilation) whose output along a is ONNX's
 * window of the full one, starting at a->pb: whether SAME gives exactly
 * that window, and VALID (the full output).  LiteRT accepts SAME only when
 * ceil(out / s) == in, VALID only at the full size
 * (docs/tflite-facts.md). */
bool tconv_fits_same(const WinAxis *a);
bool tconv_fits_valid(const WinAxis *a);
/* The full (VALID) output size of a transposed convolution along a. */
int64_t tconv_full(const WinAxis *a);

/* ---- builders (lower_conv.c); NULL on error (recorded) ------------------- */

/* PAD (zeros), or PADV2 with the lowest float when `lowest`, of t by
 * before[i] / after[i] cells on each axis; the result is named by sfx. */
Value *conv_emit_pad(Lower *lw, Value *t, const int64_t *before,
                     const int64_t *after, bool lowest, const char *sfx);
/* The tensor holding y channels-last, with TFLite shape dims (any shape
 * with y's element count in channels-last order). */
Value *conv_out_tensor(Lower *lw, Value *y, int rank, const int64_t *dims);
/* Input 2 of a Conv / ConvTranspose as float32 [out_ch]: zeros when
 * absent (LiteRT's 2-D convolutions refuse a missing bias); an error when
 * it is computed at run time. */
Value *conv_bias_f32(Lower *lw, Node *n, int64_t out_ch);
/* CONV_2D, or DEPTHWISE_CONV_2D when p->depthwise, of in4 (NHWC) with the
 * window ax[0] (H), ax[1] (W) into out; NULL also when an operand is. */
Node *conv_emit_2d(Lower *lw, const ConvParams *p, Value *in4, Value *filter,
                   Value *bias, const WinAxis ax[2], int padding, Value *out);
/* MAX_POOL_2D or AVERAGE_POOL_2D of in4 with the window ax[0], ax[1]. */
Node *pool_emit_2d(Lower *lw, bool is_max, Value *in4, const WinAxis ax[2],
                   int padding, Value *out);
/* After PAD(0) + VALID average (dividing by the whole window), the factor
 * per output position ([1, out0, out1, 1]) that gives ONNX's divisor;
 * NULL with *needed false when every factor is 1. */
Value *pool_avg_correction(Lower *lw, const WinAxis ax[2], bool *needed);
/* GlobalMaxPool (one MAX_POOL_2D over the whole map: NPUs run it, unlike
 * REDUCE_MAX) or GlobalAveragePool (MEAN over H, W) of in4 into out. */
Status pool_emit_global(Lower *lw, int onnx_op, Value *in4, Value *out);

/* ---- 3-D feature maps (lower_conv3d.c) ----------------------------------- */

/* conv_lower has checked that the weights are constant and X float32. */
Status conv3d_lower(Lower *lw, Node *n, const ConvParams *p);
Status convt3d_lower(Lower *lw, Node *n, const ConvParams *p);
Status pool3d_lower(Lower *lw, Node *n, const PoolParams *p);
Status gpool3d_lower(Lower *lw, Node *n);

#endif
