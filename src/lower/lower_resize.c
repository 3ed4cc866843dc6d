/* lower_resize.c - Resize and Upsample to RESIZE_NEAREST_NEIGHBOR or
 * RESIZE_BILINEAR (onnx-ops.md §5).
 *
 * TFLite resizes the H and W axes of an NHWC tensor to a given size, with
 * two switches (align_corners, half_pixel_centers) choosing the coordinate
 * transform, and derives its scale from the sizes (in/out).  ONNX has more
 * coordinate modes, four rounding modes for nearest, and may compute
 * coordinates from a given scale that is not out/in.  A node is lowered
 * only when the TFLite operator provably reads the same input elements:
 * for linear, when the two coordinate formulas are equal; for nearest, by
 * computing every output index both ways (ONNX exactly and in float as
 * onnxruntime does; TFLite's float and fixed-point kernels) and comparing.  Everything else is rejected with the
 * attribute that prevents it.  1-D maps [N,C,L] run as [N,1,L,C].
 */
#include <math.h>
#include <string.h>

#include "lower/lower.h"
#include "ops/opattr.h"

static const char *coord_name(CoordMode c) {
  switch (c) {
  case COORD_HALF_PIXEL: return "half_pixel";
  case COORD_PYTORCH_HALF_PIXEL: return "pytorch_half_pixel";
  case COORD_ALIGN_CORNERS: return "align_corners";
  case COORD_ASYMMETRIC: return "asymmetric";
  case COORD_TF_CROP_AND_RESIZE: return "tf_crop_and_resize";
  case COORD_HALF_PIXEL_SYMMETRIC: return "half_pixel_symmetric";
  case COORD_TF_HALF_PIXEL_FOR_NN: return "tf_half_pixel_for_nn";
  }
  return "?";
}

static const char *nearest_name(NearestMode m) {
  switch (m) {
  case NEAREST_ROUND_PREFER_FLOOR: return "round_prefer_floor";
  case NEAREST_ROUND_PREFER_CEIL: return "round_prefer_ceil";
  case NEAREST_FLOOR: return "floor";
  case NEAREST_CEIL: return "ceil";
  }
  return "?";
}

static int64_t floor_div(int64_t a, int64_t b) { /* b > 0 */
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* The input index ONNX nearest reads for output index x, computed exactly:
 * the source coordinate is the fraction num/den (scale = out/in, which the
 * caller has checked). */
static int64_t onnx_nearest(const ResizeParams *p, int64_t in, int64_t out,
                            int64_t x) {
  int64_t num, den;
  switch (p->coord) {
  case COORD_ASYMMETRIC:
    num = x * in, den = out;
    break;
  case COORD_ALIGN_CORNERS:
    num = out > 1 ? x * (in - 1) : 0, den = out > 1 ? out - 1 : 1;
    break;
  case COORD_TF_HALF_PIXEL_FOR_NN:
    num = (2 * x + 1) * in, den = 2 * out;
    break;
  case COORD_PYTORCH_HALF_PIXEL:
    if (out == 1) {
      num = 0, den = 1;
      break;
    }
    /* fall through */
  default: /* half_pixel, half_pixel_symmetric (equal when in*scale = out) */
    num = (2 * x + 1) * in - out, den = 2 * out;
    break;
  }
  int64_t i;
  switch (p->nearest) {
  case NEAREST_FLOOR: i = floor_div(num, den); break;
  case NEAREST_CEIL: i = -floor_div(-num, den); break;
  case NEAREST_ROUND_PREFER_CEIL: i = floor_div(2 * num + den, 2 * den); break;
  default: /* round_prefer_floor: a tie (num/den = k + 1/2) goes down */
    i = (2 * num) % (2 * den) == den || (2 * num) % (2 * den) == -den
            ? floor_div(num, den)
            : floor_div(2 * num + den, 2 * den);
    break;
  }
  return i < 0 ? 0 : i >= in ? in - 1 : i;
}

/* The same computed in float32 the way onnxruntime does it (scale out/in
 * as a float, coordinates by division).  It differs from the exact index
 * only where a coordinate sits exactly on a rounding boundary and float
 * rounding pushes it across; there the model itself is ambiguous. */
static int64_t onnx_nearest_f32(const ResizeParams *p, int64_t in,
                                int64_t out, int64_t x) {
  float s = (float)out / (float)in, fx = (float)x, c;
  switch (p->coord) {
  case COORD_ASYMMETRIC: c = fx / s; break;
  case COORD_ALIGN_CORNERS:
    c = out == 1 ? 0.0f : fx * (float)(in - 1) / (float)(out - 1);
    break;
  case COORD_TF_HALF_PIXEL_FOR_NN: c = (fx + 0.5f) / s; break;
  case COORD_PYTORCH_HALF_PIXEL:
    c = out > 1 ? (fx + 0.5f) / s - 0.5f : 0.0f;
    break;
  default: c = (fx + 0.5f) / s - 0.5f; break;
  }
  int64_t i;
  switch (p->nearest) {
  case NEAREST_FLOOR: i = (int64_t)floorf(c); break;
  case NEAREST_CEIL: i = (int64_t)ceilf(c); break;
  case NEAREST_ROUND_PREFER_CEIL: i = (int64_t)roundf(c); break;
  default:
    i = c == (float)(int64_t)c + 0.5f ? (int64_t)floorf(c) : (int64_t)roundf(c);
    break;
  }
  return i < 0 ? 0 : i >= in ? in - 1 : i;
}

/* The input index TFLite's RESIZE_NEAREST_NEIGHBOR reads (float reference
 * kernel, resize_nearest_neighbor.h). */
static int64_t tfl_nearest_ref(bool align, bool hpc, int64_t in, int64_t out,
                               int64_t x) {
  float scale = (align && out > 1) ? (float)(in - 1) / (float)(out - 1)
                                   : (float)in / (float)out;
  float offset = hpc ? 0.5f : 0.0f;
  float c = ((float)x + offset) * scale;
  int64_t i = align ? (int64_t)roundf(c) : (int64_t)floorf(c);
  if (i > in - 1)
    i = in - 1;
  return hpc && i < 0 ? 0 : i;
}

/* The optimized kernel (no align_corners, no half-pixel centers) uses a
 * 16.16 fixed-point scale instead (optimized_ops.h). */
static int64_t tfl_nearest_fixed(int64_t in, int64_t out, int64_t x) {
  int64_t scale = (in << 16) / out + 1;
  int64_t i = (x * scale) >> 16;
  return i < in - 1 ? i : in - 1;
}

/* First output index where TFLite and ONNX (exact, or as float runtimes
 * compute it) read different inputs, or -1. */
static int64_t nearest_mismatch(const ResizeParams *p, bool align, bool hpc,
                                int64_t in, int64_t out) {
  for (int64_t x = 0; x < out; x++) {
    int64_t want = onnx_nearest(p, in, out, x);
    if (tfl_nearest_ref(align, hpc, in, out, x) != want ||
        onnx_nearest_f32(p, in, out, x) != want)
      return x;
    if (!align && !hpc && tfl_nearest_fixed(in, out, x) != want)
      return x;
  }
  return -1;
}

/* Does ONNX compute coordinates with scale exactly out/in on axis i? */
static bool scale_is_ratio(const ResizeParams *p, int i) {
  double prod = (double)p->in[i] * p->scale[i];
  if (p->from_sizes)
    return fabs(prod - (double)p->out[i]) <= 1e-9 * (double)p->out[i];
  return prod == (double)p->out[i];
}

/* TFLite switches for the node, or an error naming what prevents it. */
static Status resize_switches(Lower *lw, const ResizeParams *p, int first_sp,
                              bool *align, bool *hpc) {
  *align = *hpc = false;
  if (p->mode == RESIZE_CUBIC)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "mode 'cubic' has no TFLite "
                  "equivalent (only nearest and linear)");
  if (p->mode == RESIZE_LINEAR) {
    switch (p->coord) {
    case COORD_ALIGN_CORNERS:
      *align = true;
      break;
    case COORD_ASYMMETRIC:
      break;
    case COORD_PYTORCH_HALF_PIXEL:
      for (int i = first_sp; i < p->rank; i++)
        if (p->out[i] == 1 && p->in[i] > 1)
          return lw_err(lw, O2L_ERR_UNSUPPORTED, "coordinate_transformation_"
                        "mode 'pytorch_half_pixel' with an output size of 1 "
                        "on axis %d (TFLite would read the middle, ONNX the "
                        "first element)", i);
      *hpc = true;
      break;
    case COORD_TF_HALF_PIXEL_FOR_NN:
      return lw_err(lw, O2L_ERR_UNSUPPORTED, "mode 'linear' with "
                    "coordinate_transformation_mode 'tf_half_pixel_for_nn' "
                    "has no TFLite equivalent");
    default: /* half_pixel, half_pixel_symmetric */
      *hpc = true;
      break;
    }
    return O2L_OK;
  }
  if (p->coord == COORD_ALIGN_CORNERS)
    *align = true;
  else if (p->coord != COORD_ASYMMETRIC)
    *hpc = true;
  for (int i = first_sp; i < p->rank; i++) {
    int64_t x = nearest_mismatch(p, *align, *hpc, p->in[i], p->out[i]);
    if (x >= 0)
      return lw_err(lw, O2L_ERR_UNSUPPORTED, "mode 'nearest' with "
                    "coordinate_transformation_mode '%s' and nearest_mode "
                    "'%s' resizing axis %d from %lld to %lld: output index "
                    "%lld reads input %lld in ONNX (%lld computed in float) "
                    "but %lld in TFLite (align_corners=%d, "
                    "half_pixel_centers=%d)",
                    coord_name(p->coord), nearest_name(p->nearest), i,
                    (long long)p->in[i], (long long)p->out[i], (long long)x,
                    (long long)onnx_nearest(p, p->in[i], p->out[i], x),
                    (long long)onnx_nearest_f32(p, p->in[i], p->out[i], x),
                    (long long)tfl_nearest_ref(*align, *hpc, p->in[i],
                                               p->out[i], x),
                    *align, *hpc);
  }
  return O2L_OK;
}

/* Attributes and shapes the two TFLite operators cannot express. */
static Status resize_check(Lower *lw, const ResizeParams *p) {
  if (p->coord == COORD_TF_CROP_AND_RESIZE)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "coordinate_transformation_mode "
                  "'tf_crop_and_resize' has no TFLite equivalent");
  if (p->rank != 3 && p->rank != 4)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "a rank-%d input: TFLite resizes "
                  "only 1-D or 2-D feature maps ([N,C,L] or [N,C,H,W])",
                  p->rank);
  for (int i = 0; i < 2; i++)
    if (p->out[i] != p->in[i] || p->scale[i] != 1.0)
      return lw_err(lw, O2L_ERR_UNSUPPORTED, "axis %d (%s) is resized from "
                    "%lld to %lld (scale %g); TFLite resizes only the "
                    "spatial axes", i, i ? "channels" : "batch",
                    (long long)p->in[i], (long long)p->out[i], p->scale[i]);
  bool down = false;
  for (int i = 2; i < p->rank; i++) {
    down = down || p->out[i] < p->in[i];
    if (!scale_is_ratio(p, i))
      return lw_err(lw, O2L_ERR_UNSUPPORTED, "scales[%d] = %.9g: %lld * "
                    "scale = %.9g is not the output size %lld, and TFLite "
                    "computes coordinates from the sizes (%lld/%lld), so "
                    "they would differ", i, p->scale[i], (long long)p->in[i],
                    (double)p->in[i] * p->scale[i], (long long)p->out[i],
                    (long long)p->in[i], (long long)p->out[i]);
  }
  /* Antialiasing filters only linear/cubic downscaling. */
  if (p->antialias && p->mode != RESIZE_NEAREST && down)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "antialias=1 when downscaling has "
                  "no TFLite equivalent");
  if (p->exclude_outside && p->mode != RESIZE_NEAREST)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "exclude_outside=1 has no TFLite "
                  "equivalent");
  return O2L_OK;
}

Status resize_lower(Lower *lw, Node *n) {
  ResizeParams p;
  TRY(resize_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  TRY(resize_check(lw, &p));
  /* At scale 1 every coordinate mode but tf_half_pixel_for_nn reads input
   * x for output x. */
  bool same = p.coord != COORD_TF_HALF_PIXEL_FOR_NN;
  for (int i = 2; i < p.rank; i++)
    same = same && p.out[i] == p.in[i];
  if (same) {
    lw_alias(lw, y, x);
    return O2L_OK;
  }
  bool align, hpc;
  TRY(resize_switches(lw, &p, 2, &align, &hpc));
  int perm[4];
  perm_channels_last(p.rank, perm);
  int64_t pin[4], pout[4];
  if (p.rank == 4) {
    perm_apply(4, p.in, perm, pin);
    perm_apply(4, p.out, perm, pout);
  } else { /* [N,C,L] as [N,1,L,C] */
    pin[0] = p.in[0], pin[1] = 1, pin[2] = p.in[2], pin[3] = p.in[1];
    pout[0] = p.out[0], pout[1] = 1, pout[2] = p.out[2], pout[3] = p.out[1];
  }
  Value *t = lw_in_perm(lw, x, perm, 4, pin, "Resize works on channels-last "
                        "maps");
  if (!t)
    return lw->cx->status;
  int32_t size[2] = {(int32_t)pout[1], (int32_t)pout[2]};
  Value *sc = lw_const_i32(lw, "size", 2, size);
  Value *o = lw_tensor(lw, NULL, t->dtype, 4, pout);
  Value *in[2] = {t, sc};
  Node *op = sc && o ? lw_op(lw, p.mode == RESIZE_NEAREST
                                     ? TFL_RESIZE_NEAREST_NEIGHBOR
                                     : TFL_RESIZE_BILINEAR,
                             2, in, 1, &o)
                     : NULL;
  if (!op)
    return lw->cx->status;
  op->opt.align_corners = align;
  op->opt.half_pixel_centers = hpc;
  lw_set_perm(lw, y, o, perm);
  return O2L_OK;
}
