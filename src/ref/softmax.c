/* softmax.c - SOFTMAX (beta), LOG_SOFTMAX, L2_NORMALIZATION and
 * LOCAL_RESPONSE_NORMALIZATION over the last axis, float32, as TFLite's
 * reference kernels compute them:
 *   softmax     exp((x - max) * beta) / sum
 *   log_softmax (x - max) - log(sum exp(x - max))
 *   l2_norm     x / max(sqrt(sum x^2), 1e-6)
 *   lrn         x * (bias + alpha * sum_{|c'-c| <= radius} x_c'^2)^-beta
 *               (alpha not divided by the window size, unlike ONNX)
 */
#include "ref/ref_impl.h"

typedef struct SoftmaxState {
  int64_t rows, depth;
} SoftmaxState;

Status ref_softmax_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 1, 1, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  TRY(ref_need_same_shape(p, n, n->in[0], n->out[0]));
  const Value *in = n->in[0];
  SoftmaxState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  s->depth = in->rank > 0 ? in->dims[in->rank - 1] : 1;
  s->rows = s->depth > 0 ? ref_numel(in) / s->depth : 0;
  if (n->op == TFL_L2_NORMALIZATION && n->opt.act != TFL_ACT_NONE)
    return ref_bad(p, n, "fused activation %d not supported", n->opt.act);
  if (n->op == TFL_LOCAL_RESPONSE_NORMALIZATION && n->opt.radius < 0)
    return ref_bad(p, n, "negative radius %d", n->opt.radius);
  op->state = s;
  return O2L_OK;
}

Status ref_softmax_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const SoftmaxState *s = op->state;
  int kind = op->node->op;
  float beta = op->node->opt.beta;
  const float *in = op->in[0];
  float *out = op->out[0];
  int64_t d = s->depth;
  for (int64_t r = 0; r < s->rows; r++) {
    const float *x = in + r * d;
    float *y = out + r * d;
    if (kind == TFL_LOCAL_RESPONSE_NORMALIZATION) {
      const TflOptions *o = &op->node->opt;
      for (int64_t c = 0; c < d; c++) {
        int64_t lo = c - o->radius < 0 ? 0 : c - o->radius;
        int64_t hi = c + o->radius + 1 > d ? d : c + o->radius + 1;
        float acc = 0;
        for (int64_t k = lo; k < hi; k++)
          acc += x[k] * x[k];
        y[c] = x[c] * powf(o->bias + o->alpha * acc, -o->beta);
      }
      continue;
    }
    if (kind == TFL_L2_NORMALIZATION) {
      float sq = 0;
      for (int64_t c = 0; c < d; c++)
        sq += x[c] * x[c];
      float norm = sqrtf(sq);
      norm = norm > 1e-6f ? norm : 1e-6f;
      for (int64_t c = 0; c < d; c++)
        y[c] = x[c] / norm;
      continue;
    }
    float mx = x[0];
    for (int64_t c = 1; c < d; c++)
      mx = x[c] > mx ? x[c] : mx;
    float sum = 0;
    if (kind == TFL_SOFTMAX) {
      for (int64_t c = 0; c < d; c++) {
        y[c] = expf((x[c] - mx) * beta);
        sum += y[c];
      }
      for (int64_t c = 0; c < d; c++)
        y[c] /= sum;
    } else {
      for (int64_t c = 0; c < d; c++)
        sum += expf(x[c] - mx);
      float ls = logf(sum);
      for (int64_t c = 0; c < d; c++)
        y[c] = (x[c] - mx) - ls;
    }
  }
  return O2L_OK;
}
