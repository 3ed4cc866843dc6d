/* resize.c - RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR (NHWC float32),
 * exactly as TFLite's reference kernels compute source coordinates:
 *
 *   scale = in / out, or (in - 1) / (out - 1) with align_corners (out > 1)
 *   bilinear: v = (x + 0.5) * scale - 0.5 with half_pixel_centers, else
 *     x * scale; lower = max(floor(v), 0), upper = min(ceil(v), in - 1),
 *     weights (1 - (v - lower)) and (v - lower) (so at the clamped border
 *     both taps are the same pixel and the weights still sum to 1);
 *   nearest: round((x + off) * scale) with align_corners (half away from
 *     zero), else floor((x + off) * scale), off = 0.5 with
 *     half_pixel_centers; clamped to [0, in - 1].
 *
 * The per-row and per-column taps depend only on shapes, so they are
 * tabulated at prepare time.
 */
#include "ref/ref_impl.h"

typedef struct Axis {
  int *lo, *hi;  /* source taps per output index */
  float *frac;   /* bilinear: v - lo */
} Axis;

typedef struct ResizeState {
  int N, H, W, C, OH, OW;
  bool bilinear;
  Axis y, x;
} ResizeState;

static float axis_scale(int in, int out, bool align) {
  return align && out > 1 ? (float)(in - 1) / (float)(out - 1)
                          : (float)in / (float)out;
}

static Status axis_table(RefPrep *p, Axis *a, int in, int out, bool bilinear,
                         bool align, bool hpc) {
  a->lo = ref_alloc(p, sizeof(int) * (size_t)(out + 1));
  a->hi = ref_alloc(p, sizeof(int) * (size_t)(out + 1));
  a->frac = ref_alloc(p, sizeof(float) * (size_t)(out + 1));
  if (!a->lo || !a->hi || !a->frac)
    return p->cx->status;
  float scale = axis_scale(in, out, align);
  for (int i = 0; i < out; i++) {
    if (bilinear) {
      float v = hpc ? ((float)i + 0.5f) * scale - 0.5f : (float)i * scale;
      int lo = (int)floorf(v), hi = (int)ceilf(v);
      lo = lo < 0 ? 0 : lo;
      hi = hi > in - 1 ? in - 1 : hi;
      /* A far-out-of-range v (not reachable from valid shapes) stays in
       * bounds: lo is also clamped from above. */
      lo = lo > in - 1 ? in - 1 : lo;
      a->lo[i] = lo;
      a->hi[i] = hi < 0 ? 0 : hi;
      a->frac[i] = v - (float)lo;
    } else {
      float v = ((float)i + (hpc ? 0.5f : 0.0f)) * scale;
      int k = align ? (int)roundf(v) : (int)floorf(v);
      k = k > in - 1 ? in - 1 : k;
      a->lo[i] = a->hi[i] = k < 0 ? 0 : k;
      a->frac[i] = 0;
    }
  }
  return O2L_OK;
}

Status ref_resize_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 2, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  const Value *in = n->in[0];
  if (in->rank != 4)
    return ref_bad(p, n, "input must be 4-D NHWC, got rank %d", in->rank);
  int64_t size[2];
  int cnt = 0;
  TRY(ref_const_ints(p, n, 1, size, 2, &cnt));
  if (cnt != 2 || size[0] < 1 || size[1] < 1 || size[0] > (1 << 24) ||
      size[1] > (1 << 24))
    return ref_bad(p, n, "size must be two positive values");
  for (int i = 0; i < 4; i++)
    if (in->dims[i] < 1 || in->dims[i] > (1 << 28))
      return ref_bad(p, n, "input dimension %d out of range", i);
  int64_t want[4] = {in->dims[0], size[0], size[1], in->dims[3]};
  TRY(ref_need_shape(p, n, n->out[0], "output", 4, want));
  if (n->opt.align_corners && n->opt.half_pixel_centers)
    return ref_bad(p, n, "align_corners and half_pixel_centers both set");
  ResizeState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  s->N = (int)in->dims[0];
  s->H = (int)in->dims[1];
  s->W = (int)in->dims[2];
  s->C = (int)in->dims[3];
  s->OH = (int)size[0];
  s->OW = (int)size[1];
  s->bilinear = n->op == TFL_RESIZE_BILINEAR;
  bool ac = n->opt.align_corners, hpc = n->opt.half_pixel_centers;
  TRY(axis_table(p, &s->y, s->H, s->OH, s->bilinear, ac, hpc));
  TRY(axis_table(p, &s->x, s->W, s->OW, s->bilinear, ac, hpc));
  op->state = s;
  return O2L_OK;
}

Status ref_resize_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const ResizeState *s = op->state;
  const float *in = op->in[0];
  float *out = op->out[0];
  const int C = s->C;
  for (int b = 0; b < s->N; b++) {
    const float *ib = in + (size_t)b * s->H * s->W * C;
    for (int oy = 0; oy < s->OH; oy++) {
      const float *r0 = ib + (size_t)s->y.lo[oy] * s->W * C;
      const float *r1 = ib + (size_t)s->y.hi[oy] * s->W * C;
      float dy = s->y.frac[oy];
      float *o = out + (((size_t)b * s->OH + oy) * s->OW) * C;
      for (int ox = 0; ox < s->OW; ox++, o += C) {
        const float *p00 = r0 + (size_t)s->x.lo[ox] * C;
        if (!s->bilinear) {
          memcpy(o, p00, sizeof(float) * (size_t)C);
          continue;
        }
        const float *p01 = r0 + (size_t)s->x.hi[ox] * C;
        const float *p10 = r1 + (size_t)s->x.lo[ox] * C;
        const float *p11 = r1 + (size_t)s->x.hi[ox] * C;
        float dx = s->x.frac[ox];
        float w00 = (1 - dy) * (1 - dx), w10 = dy * (1 - dx);
        float w01 = (1 - dy) * dx, w11 = dy * dx;
        for (int c = 0; c < C; c++)
          o[c] = p00[c] * w00 + p10[c] * w10 + p01[c] * w01 + p11[c] * w11;
      }
    }
  }
  return O2L_OK;
}
