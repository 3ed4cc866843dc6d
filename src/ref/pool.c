/* pool.c - AVERAGE_POOL_2D and MAX_POOL_2D in float32 (TFLite semantics).
 *
 * The window is clipped to the input, so SAME padding never reads padded
 * cells: the average divides by the number of valid cells and the maximum
 * ignores them (TFLite reference_ops AveragePool / MaxPool).  Channels are
 * innermost so each window cell is one vector pass over a pixel.
 */
#include <float.h>

#include "ref/ref_impl.h"

typedef struct PoolState {
  int N, H, W, C, OH, OW, kh, kw, sh, sw, pt, pl;
  int act;
  float lo, hi;
} PoolState;

Status ref_pool_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 1, 1, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  const Value *in = n->in[0];
  const TflOptions *o = &n->opt;
  if (in->rank != 4)
    return ref_bad(p, n, "input must be 4-D NHWC, got rank %d", in->rank);
  for (int i = 0; i < 4; i++)
    if (in->dims[i] > (1 << 30))
      return ref_bad(p, n, "input dimension out of range");
  PoolState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  s->N = (int)in->dims[0];
  s->H = (int)in->dims[1];
  s->W = (int)in->dims[2];
  s->C = (int)in->dims[3];
  s->kh = o->filter_h;
  s->kw = o->filter_w;
  s->sh = o->stride_h;
  s->sw = o->stride_w;
  if (s->kh < 1 || s->kw < 1 || s->sh < 1 || s->sw < 1)
    return ref_bad(p, n, "filter %dx%d and strides %dx%d must be >= 1", s->kh,
                   s->kw, s->sh, s->sw);
  int64_t oh = ref_out_size(o->padding, s->H, s->kh, s->sh, 1);
  int64_t ow = ref_out_size(o->padding, s->W, s->kw, s->sw, 1);
  if (oh < 0 || ow < 0)
    return ref_bad(p, n, "padding %d is neither SAME nor VALID", o->padding);
  s->OH = (int)oh;
  s->OW = (int)ow;
  s->pt = ref_pad_before(s->H, s->kh, s->sh, 1, oh);
  s->pl = ref_pad_before(s->W, s->kw, s->sw, 1, ow);
  if (!ref_act_valid(o->act))
    return ref_bad(p, n, "fused activation %d unknown", o->act);
  s->act = o->act;
  ref_act_range(s->act, &s->lo, &s->hi);
  int64_t want[4] = {s->N, oh, ow, s->C};
  TRY(ref_need_shape(p, n, n->out[0], "output", 4, want));
  op->state = s;
  return O2L_OK;
}

Status ref_pool_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const PoolState *s = op->state;
  const float *in = op->in[0];
  float *out = op->out[0];
  bool avg = op->node->op == TFL_AVERAGE_POOL_2D;
  const int C = s->C;
  for (int b = 0; b < s->N; b++) {
    const float *ib = in + (size_t)b * s->H * s->W * C;
    for (int oy = 0; oy < s->OH; oy++) {
      int y0 = oy * s->sh - s->pt, y1 = y0 + s->kh;
      y0 = y0 < 0 ? 0 : y0;
      y1 = y1 > s->H ? s->H : y1;
      for (int ox = 0; ox < s->OW; ox++) {
        int x0 = ox * s->sw - s->pl, x1 = x0 + s->kw;
        x0 = x0 < 0 ? 0 : x0;
        x1 = x1 > s->W ? s->W : x1;
        float *o = out + (((size_t)b * s->OH + oy) * s->OW + ox) * C;
        for (int c = 0; c < C; c++)
          o[c] = avg ? 0.0f : -FLT_MAX; /* TFLite starts at lowest() */
        for (int y = y0; y < y1; y++)
          for (int x = x0; x < x1; x++) {
            const float *ip = ib + ((size_t)y * s->W + x) * C;
            if (avg) {
              for (int c = 0; c < C; c++)
                o[c] += ip[c];
            } else {
              for (int c = 0; c < C; c++)
                o[c] = ip[c] > o[c] ? ip[c] : o[c];
            }
          }
        if (avg) {
          int cnt = (y1 - y0) * (x1 - x0);
          for (int c = 0; c < C; c++)
            o[c] = cnt > 0 ? o[c] / (float)cnt : 0.0f;
        }
        for (int c = 0; c < C; c++) {
          float v = o[c] < s->lo ? s->lo : o[c];
          o[c] = v > s->hi ? s->hi : v;
        }
      }
    }
  }
  return O2L_OK;
}
