/* activation.c - elementwise unary operators and PRELU in float32.
 *
 * Formulas follow the TFLite float kernels: ROUND is round-half-to-even,
 * ELU uses expm1, HARD_SWISH is x * relu6(x + 3) / 6, GELU is the erf form
 * or (approximate) the tanh form, LEAKY_RELU is x > 0 ? x : alpha * x and
 * PRELU x >= 0 ? x : alpha * x with alpha broadcast.
 */
#include "ref/ref_impl.h"

Status ref_unary_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 1, 1, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  return ref_need_same_shape(p, n, n->in[0], n->out[0]);
}

#define UN_LOOP(EXPR)                      \
  do {                                     \
    for (size_t i = 0; i < n; i++) {       \
      float x = in[i];                     \
      out[i] = (EXPR);                     \
    }                                      \
  } while (0)

static inline float clampf(float x, float lo, float hi) {
  x = x < lo ? lo : x;
  return x > hi ? hi : x;
}

static inline float signf(float x) { return x > 0 ? 1.0f : x < 0 ? -1.0f : 0.0f; }

static inline float gelu_tanh(float x) {
  const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
  return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

Status ref_unary_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const float *restrict in = op->in[0];
  float *restrict out = op->out[0];
  size_t n = (size_t)ref_numel(op->node->in[0]);
  float alpha = op->node->opt.alpha;
  switch (op->node->op) {
  case TFL_RELU: UN_LOOP(x < 0 ? 0.0f : x); break;
  case TFL_RELU6: UN_LOOP(clampf(x, 0.0f, 6.0f)); break;
  case TFL_RELU_N1_TO_1: UN_LOOP(clampf(x, -1.0f, 1.0f)); break;
  case TFL_RELU_0_TO_1: UN_LOOP(clampf(x, 0.0f, 1.0f)); break;
  case TFL_LEAKY_RELU: UN_LOOP(x > 0 ? x : x * alpha); break;
  case TFL_LOGISTIC: UN_LOOP(1.0f / (1.0f + expf(-x))); break;
  case TFL_TANH: UN_LOOP(tanhf(x)); break;
  case TFL_ELU: UN_LOOP(x < 0 ? expm1f(x) : x); break;
  case TFL_HARD_SWISH: UN_LOOP(x * clampf(x + 3.0f, 0.0f, 6.0f) / 6.0f); break;
  case TFL_GELU:
    if (op->node->opt.approximate)
      UN_LOOP(gelu_tanh(x));
    else
      UN_LOOP(0.5f * x * (1.0f + erff(x * 0.70710678118654752f)));
    break;
  case TFL_EXP: UN_LOOP(expf(x)); break;
  case TFL_LOG: UN_LOOP(logf(x)); break;
  case TFL_SQRT: UN_LOOP(sqrtf(x)); break;
  case TFL_RSQRT: UN_LOOP(1.0f / sqrtf(x)); break;
  case TFL_NEG: UN_LOOP(-x); break;
  case TFL_ABS: UN_LOOP(fabsf(x)); break;
  case TFL_FLOOR: UN_LOOP(floorf(x)); break;
  case TFL_CEIL: UN_LOOP(ceilf(x)); break;
  case TFL_ROUND: UN_LOOP(rintf(x)); break; /* default mode: half to even */
  case TFL_SIN: UN_LOOP(sinf(x)); break;
  case TFL_COS: UN_LOOP(cosf(x)); break;
  case TFL_SQUARE: UN_LOOP(x * x); break;
  case TFL_SIGN: UN_LOOP(signf(x)); break;
  default: break;
  }
  return O2L_OK;
}

Status ref_prelu_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const RefBcast *s = op->state;
  RefIter it;
  ref_bcast_iter(&it, s, 3);
  int last = it.rank - 1;
  int64_t sx = it.st[1][last], sa = it.st[2][last];
  const float *X = op->in[0], *A = op->in[1];
  float *out = op->out[0];
  for (int64_t r = 0; r < it.outer; r++, ref_iter_next(&it)) {
    float *restrict o = out + it.off[0];
    const float *restrict x = X + it.off[1], *restrict a = A + it.off[2];
    if (sx == 1 && sa == 1) {
      for (int64_t j = 0; j < it.n; j++)
        o[j] = x[j] >= 0 ? x[j] : x[j] * a[j];
    } else if (sx == 1 && sa == 0) {
      for (int64_t j = 0; j < it.n; j++)
        o[j] = x[j] >= 0 ? x[j] : x[j] * a[0];
    } else {
      for (int64_t j = 0; j < it.n; j++) {
        float v = x[j * sx];
        o[j] = v >= 0 ? v : v * a[j * sa];
      }
    }
  }
  return O2L_OK;
}
