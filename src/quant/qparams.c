/* qparams.c - the arithmetic of quantization, with no graph in sight:
 * scale and zero point from a calibrated range, symmetric per-channel
 * weights, biases at s_in * s_w with TF's overflow adjustment, and the
 * float16 conversion of constants.
 *
 * Formulas follow docs/../reference/tflite-quantization.md §1 and §4 (TF's
 * MLIR quantizer and tools/optimize/quantization_utils.cc); rounding is
 * half away from zero, as TfLiteRound.
 */
#include <math.h>
#include <string.h>

#include "quant/quant_impl.h"

/* Ranges narrower than this are widened (MLIR: +-0.5e-6 around 0). */
#define MIN_RANGE 1e-6
/* The scale of an all-zero weight slice: small but finite and non-zero,
 * so runtimes (and Vela) get a usable multiplier. */
#define ZERO_SLICE_MAX 1e-6

QParams qp_asymmetric(double rmin, double rmax, int qmin, int qmax) {
  if (!(rmin <= 0)) /* also catches NaN */
    rmin = 0;
  if (!(rmax >= 0))
    rmax = 0;
  if (rmax - rmin < MIN_RANGE) {
    rmin -= MIN_RANGE / 2;
    rmax += MIN_RANGE / 2;
  }
  double scale = (rmax - rmin) / (double)(qmax - qmin);
  /* Two candidate zero points; keep the one whose terms lose less
   * precision (FakeQuantSupport.cc). */
  double zp_min = qmin - rmin / scale;
  double zp_max = qmax - rmax / scale;
  double err_min = fabs((double)qmin) + fabs(rmin / scale);
  double err_max = fabs((double)qmax) + fabs(rmax / scale);
  double zp = err_min < err_max ? zp_min : zp_max;
  int64_t nudged;
  if (zp <= qmin)
    nudged = qmin;
  else if (zp >= qmax)
    nudged = qmax;
  else
    nudged = (int64_t)round(zp);
  return (QParams){(float)scale, nudged};
}

QParams qp_symmetric(double rmin, double rmax, int qmax) {
  double m = fmax(fabs(rmin), fabs(rmax));
  if (!(m >= MIN_RANGE / 2)) /* also NaN */
    m = MIN_RANGE / 2;
  return (QParams){(float)(m / qmax), 0};
}

int64_t qp_quantize(double x, QParams p, int64_t qmin, int64_t qmax) {
  double q = round(x / p.scale) + (double)p.zp;
  if (!(q >= (double)qmin)) /* NaN goes to qmin as well */
    return qmin;
  if (q > (double)qmax)
    return qmax;
  return (int64_t)q;
}

void qp_real_range(QParams p, int qmin, int qmax, float *lo, float *hi) {
  *lo = (float)((double)p.scale * (double)(qmin - p.zp));
  *hi = (float)((double)p.scale * (double)(qmax - p.zp));
}

/* ---- weights ------------------------------------------------------------ */

/* Element index -> slice along axis: idx / inner % dims[axis]. */
static void slice_geometry(int rank, const int64_t *dims, int axis,
                           int64_t *n, int64_t *nch, int64_t *inner) {
  *n = 1;
  for (int i = 0; i < rank; i++)
    *n *= dims[i];
  *nch = 1;
  *inner = 1;
  if (axis >= 0 && axis < rank) {
    *nch = dims[axis];
    for (int i = axis + 1; i < rank; i++)
      *inner *= dims[i];
  }
}

void qw_scales(const void *w, int rank, const int64_t *dims, int axis,
               float *scales) {
  int64_t n, nch, inner;
  slice_geometry(rank, dims, axis, &n, &nch, &inner);
  for (int64_t c = 0; c < nch; c++)
    scales[c] = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t c = nch > 1 ? (i / inner) % nch : 0;
    float a = fabsf(load_f32(w, (size_t)i));
    if (a > scales[c]) /* NaN never wins */
      scales[c] = a;
  }
  for (int64_t c = 0; c < nch; c++) {
    double m = scales[c];
    if (!(m > 0) || !isfinite(m))
      m = isfinite(m) ? ZERO_SLICE_MAX : 3.4e38;
    scales[c] = (float)(m / 127.0);
  }
}

void qw_quantize(const void *w, int rank, const int64_t *dims, int axis,
                 const float *scales, int8_t *q) {
  int64_t n, nch, inner;
  slice_geometry(rank, dims, axis, &n, &nch, &inner);
  for (int64_t i = 0; i < n; i++) {
    int64_t c = nch > 1 ? (i / inner) % nch : 0;
    QParams p = {scales[c], 0};
    q[i] = (int8_t)qp_quantize(load_f32(w, (size_t)i), p, -127, 127);
  }
}

/* ---- biases ------------------------------------------------------------- */

static double bias_limit(int bias_bits) {
  /* int64 biases are kept within 40 bits: Vela's limit, and far beyond
   * what a 16x8 accumulator needs. */
  return bias_bits == 64 ? 549755813887.0 /* 2^39 - 1 */ : 2147483647.0;
}

int qb_adjust_weight_scales(const void *bias, int64_t n, double s_in,
                            float *w_scales, int nscales, int bias_bits) {
  double lim = bias_limit(bias_bits);
  int changed = 0;
  for (int64_t c = 0; c < n; c++) {
    double b = fabs((double)load_f32(bias, (size_t)c));
    float *sw = &w_scales[nscales > 1 ? c : 0];
    if (!isfinite(b) || s_in <= 0)
      continue;
    /* TF's condition: the bias uses half the range or more. */
    if (b >= 0.5 * s_in * (double)*sw * lim) {
      *sw = (float)(2.0 * b / lim / s_in);
      changed++;
    }
  }
  return changed;
}

void qb_quantize(const void *bias, int64_t n, double s_in,
                 const float *w_scales, int nscales, int bias_bits,
                 void *out, float *out_scales) {
  double lim = bias_limit(bias_bits);
  for (int64_t c = 0; c < n; c++) {
    double s = s_in * (double)w_scales[nscales > 1 ? c : 0];
    double q = s > 0 ? round((double)load_f32(bias, (size_t)c) / s) : 0;
    if (!(q >= -lim))
      q = -lim;
    if (q > lim)
      q = lim;
    if (bias_bits == 64)
      ((int64_t *)out)[c] = (int64_t)q;
    else
      ((int32_t *)out)[c] = (int32_t)q;
    out_scales[c] = (float)s;
  }
}

/* ---- float16 ------------------------------------------------------------- */

bool qh_convert(const void *src, int64_t n, uint16_t *dst) {
  /* A value flushing to zero only matters when it is not negligible next
   * to the rest of the tensor (an epsilon constant is its own maximum). */
  float maxabs = 0;
  for (int64_t i = 0; i < n; i++) {
    float a = fabsf(load_f32(src, (size_t)i));
    if (a > maxabs)
      maxabs = a;
  }
  bool ok = true;
  for (int64_t i = 0; i < n; i++) {
    float f = load_f32(src, (size_t)i);
    uint16_t h = f32_to_f16(f);
    float back = f16_to_f32(h);
    if (isfinite(f) && !isfinite(back))
      ok = false;
    if (f != 0 && back == 0 && fabsf(f) >= 1e-3f * maxabs)
      ok = false;
    dst[i] = h;
  }
  return ok;
}
