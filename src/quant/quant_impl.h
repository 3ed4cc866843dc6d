/* quant_impl.h - what the quantization stages share.
 *
 * quantize.c picks the stage for the mode; each stage is one file:
 *   qparams.c    the parameter math (scale/zero point from a range, weight
 *                and bias quantization, float16), no graph;
 *   qops.c       per TFLite operator: does an integer kernel exist, which
 *                inputs are weights/biases, same-scale and fixed-output
 *                rules;
 *   calibrate.c  runs the float graph on the samples (src/ref) and records
 *                every float tensor's range (min/max or a histogram);
 *   qrewrite.c   integer-friendly forms of a few operators, constant
 *                folding (integer modes, before calibration);
 *   quant_int.c  the full-integer rewrite (int8 and int16x8);
 *   quant_fp16.c float16 weights; quant_dynamic.c int8 weights, hybrid ops;
 *   quant_report.c the --report JSON.
 */
#ifndef O2L_QUANT_IMPL_H
#define O2L_QUANT_IMPL_H

#include "ir.h"
#include "quant/calib_data.h"
#include "quant/quant.h"

/* ---- parameter math (qparams.c) --------------------------------------- */

typedef struct QParams {
  float scale;
  int64_t zp;
} QParams;

/* Asymmetric parameters for the real range [rmin, rmax] on [qmin, qmax],
 * as TF's MLIR quantizer: the range is widened to include 0 (and to at
 * least ~1e-6), scale = (rmax - rmin) / (qmax - qmin), and the zero point
 * is nudged to an integer so that real 0 is exact. */
QParams qp_asymmetric(double rmin, double rmax, int qmin, int qmax);
/* Symmetric (zero point 0): scale = max(|rmin|, |rmax|) / qmax. */
QParams qp_symmetric(double rmin, double rmax, int qmax);
/* round-half-away-from-zero(x / scale) + zp, clamped to [qmin, qmax]. */
int64_t qp_quantize(double x, QParams p, int64_t qmin, int64_t qmax);
/* The real range a parameter set covers on [qmin, qmax]. */
void qp_real_range(QParams p, int qmin, int qmax, float *lo, float *hi);

/* Symmetric narrow-range int8 scales of a float weight tensor (w read with
 * load_f32, may be unaligned), one per slice of `axis`, or one for the
 * whole tensor when axis < 0.  Slices that are all zero get a tiny positive
 * scale.  scales holds dims[axis] (or 1) entries. */
void qw_scales(const void *w, int rank, const int64_t *dims, int axis,
               float *scales);
/* q = clamp(round(w / scale[c]), -127, 127) with the slice's scale. */
void qw_quantize(const void *w, int rank, const int64_t *dims, int axis,
                 const float *scales, int8_t *q);
/* TF's AdjustWeightsForBiasScale: where a bias value would not fit its
 * integer range (bias_bits 32 or 64; 64 is capped at Vela's 40 bits) at
 * scale s_in * s_w[c], the weight scale is enlarged so that it does.
 * nscales is 1 (per-tensor) or n.  Returns how many scales changed. */
int qb_adjust_weight_scales(const void *bias, int64_t n, double s_in,
                            float *w_scales, int nscales, int bias_bits);
/* Bias quantized at s_in * s_w[c], zero point 0, into int32 or int64
 * (bias_bits); the real scales are written to out_scales[n]. */
void qb_quantize(const void *bias, int64_t n, double s_in,
                 const float *w_scales, int nscales, int bias_bits,
                 void *out, float *out_scales);
/* float32 -> float16 of n elements; returns false if a value overflows
 * float16 or a non-zero value that is not negligible next to the tensor's
 * largest (>= 1e-3 of it) becomes zero: the constant should stay
 * float32. */
bool qh_convert(const void *src, int64_t n, uint16_t *dst);

/* ---- operators (qops.c) ----------------------------------------------- */

typedef enum {
  QK_FLOAT = 0,   /* no integer kernel: stays float (DEQUANTIZE/QUANTIZE around) */
  QK_INT          /* integer kernel in LiteRT (default and reference resolvers) */
} QKind;

/* Role of input i of a quantized operator. */
typedef enum {
  QR_ACT,         /* activation (or a constant quantized on its own range) */
  QR_WEIGHT,      /* symmetric int8 weights */
  QR_BIAS,        /* int32 / int64 bias at s_in * s_w */
  QR_SAME,        /* shares the output's parameters */
  QR_SAME_CLAMP,  /* PADV2's value: the output's parameters, clamped */
  QR_OTHER        /* not a float tensor role (indices, shapes, axes) */
} QRole;

/* Whether node n (of a float graph) has an integer kernel for activations
 * of type act (DT_I8 or DT_I16).  *why is set for QK_FLOAT. */
QKind qop_kind(const Node *n, DType act, const char **why);
QRole qop_role(const Node *n, int i);
/* The quantized dimension of the weight input i of n (-1 = per-tensor
 * only), for per-channel quantization. */
int qop_weight_axis(const Node *n, int i);
/* For an operator left in float whose input i is a constant weight: the
 * output-channel axis to quantize it along for weight-only int8 (-1: per
 * tensor); -2 when input i is not such a weight. */
int qop_weight_only_axis(const Node *n, int i);
/* Index of the activation input whose scale multiplies the weights (bias
 * scale = s_in * s_w). */
int qop_bias_input(const Node *n);
/* True when the outputs must share the parameters of the QR_SAME inputs. */
bool qop_same_scale(const Node *n);
/* Fixed output parameters (LOGISTIC, SOFTMAX, TANH, ...) for the type. */
bool qop_fixed_output(const Node *n, DType act, QParams *out);

/* ---- calibration (calibrate.c) ---------------------------------------- */

/* A float tensor's calibrated range (valid if set). */
typedef struct CalibRange {
  float min, max;   /* range to quantize (after clipping for percentile/mse) */
  float raw_min, raw_max; /* global min/max seen */
  bool set;
  /* Mean of each "channel" (element index modulo nch) over all samples,
   * for the inputs of weighted operators (bias correction); NULL if not
   * collected. */
  const float *mean;
  int nch;
} CalibRange;

/* Runs g on the samples of cx->opt->calib_path and fills ranges[value id]
 * for every float tensor the run computes (graph inputs and operator
 * outputs).  act_bits (8 or 16) and the method choose the clipping. */
Status calibrate_graph(Ctx *cx, Graph *g, int act_bits, CalibRange *ranges);

/* Range chosen from a histogram (bins[nbins] covering [lo, lo + nbins*w)):
 * percentile keeps the central mass, mse minimizes the expected
 * quantization error with levels quantization levels.  Exposed for tests. */
void calib_hist_range(const double *bins, int nbins, double lo, double w,
                      o2l_calib_method m, int levels, bool symmetric,
                      float raw_min, float raw_max, float *out_min,
                      float *out_max);

/* ---- stages ----------------------------------------------------------- */

/* Integer modes, before calibration: operators whose integer kernels are
 * missing or wrong in a runtime become equivalent integer-friendly ones,
 * and operators computed from constants only become constants
 * (qrewrite.c).  Leaves g sorted, with uses up to date. */
Status quant_rewrite(Ctx *cx, Graph *g);

Status quant_float16(Ctx *cx, Graph *g);
Status quant_dynamic(Ctx *cx, Graph *g);
/* Full-integer rewrite with activations of type act (DT_I8 / DT_I16) and
 * graph I/O of type io (DT_I8, DT_U8, DT_I16 or DT_F32). */
Status quant_integer(Ctx *cx, Graph *g, const CalibRange *ranges, DType act,
                     DType io);

/* ---- shared graph helpers (quantize.c) -------------------------------- */

/* A Quant in the arena with n scales/zero points (zeroed). */
Quant *q_new(Ctx *cx, int n);
Quant *q_per_tensor(Ctx *cx, QParams p);
/* A name derived from base ("conv1/w" + "_int8"), in the arena. */
const char *q_name(Ctx *cx, const char *base, const char *suffix);
/* Inserts an operator with one input and one output; the node goes at the
 * end (quantize_graph sorts the graph once at the end). */
Node *q_add_unary(Ctx *cx, Graph *g, int op, const char *name, Value *in,
                  Value *out);
/* A new activation tensor shaped like v. */
Value *q_like(Ctx *cx, Graph *g, const Value *v, const char *name, DType t);
/* Weight-only int8 for the operators that stay float (float_op[i] set for
 * node i < n0): their constant weights of at least Q_WEIGHT_MIN values
 * (qop_weight_only_axis) are stored as symmetric int8, per output channel,
 * and reach the operator through one DEQUANTIZE each, which LiteRT runs
 * once, at preparation.  Without it a model with CONV_3D kept its float
 * weights in the int8 and dynamic files (r3d_18: 0.995x of float32).
 * *done counts the weights. */
#define Q_WEIGHT_MIN 1024
Status q_weight_only(Ctx *cx, Graph *g, int n0, const unsigned char *float_op,
                     int *done);

#endif
