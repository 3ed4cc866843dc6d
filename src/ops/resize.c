/* resize.c - Resize and Upsample: parameters (ResizeParams) and shape
 * inference.
 *
 * The opset forms differ in where the target size comes from:
 *   Upsample-7/8  attribute scales            (asymmetric, floor)
 *   Upsample-9    input scales                (asymmetric, floor)
 *   Resize-10     input scales                (asymmetric, floor)
 *   Resize-11     X, roi, scales, sizes?      (+ coordinate modes)
 *   Resize-13     roi and scales optional
 *   Resize-18     axes, antialias, keep_aspect_ratio_policy
 * An empty scales tensor means "not given" (PyTorch exports that with
 * sizes).  From scales the output is floor(in * scale), computed in float
 * as onnxruntime does.
 */
#include <math.h>
#include <string.h>

#include "ops/opattr.h"

typedef struct Name2Int {
  const char *name;
  int value;
} Name2Int;

static Status pick(Ctx *cx, const Node *n, const char *attr, const char *dflt,
                   const Name2Int *map, size_t nmap, int *out) {
  const char *s;
  TRY(op_attr_str(cx, n, attr, dflt, &s));
  for (size_t i = 0; i < nmap; i++)
    if (strcmp(s, map[i].name) == 0) {
      *out = map[i].value;
      return O2L_OK;
    }
  return op_unsup(cx, n, "%s '%s' is not supported", attr, s);
}

static const Name2Int modes[] = {{"nearest", RESIZE_NEAREST},
                                 {"linear", RESIZE_LINEAR},
                                 {"bilinear", RESIZE_LINEAR}, /* Upsample-1 */
                                 {"cubic", RESIZE_CUBIC}};
static const Name2Int coords[] = {
    {"half_pixel", COORD_HALF_PIXEL},
    {"pytorch_half_pixel", COORD_PYTORCH_HALF_PIXEL},
    {"align_corners", COORD_ALIGN_CORNERS},
    {"asymmetric", COORD_ASYMMETRIC},
    {"tf_crop_and_resize", COORD_TF_CROP_AND_RESIZE},
    {"half_pixel_symmetric", COORD_HALF_PIXEL_SYMMETRIC},
    {"tf_half_pixel_for_nn", COORD_TF_HALF_PIXEL_FOR_NN}};
static const Name2Int nearests[] = {
    {"round_prefer_floor", NEAREST_ROUND_PREFER_FLOOR},
    {"round_prefer_ceil", NEAREST_ROUND_PREFER_CEIL},
    {"floor", NEAREST_FLOOR},
    {"ceil", NEAREST_CEIL}};

static Status resize_attrs(Ctx *cx, const Graph *g, const Node *n,
                           ResizeParams *p, bool modern) {
  int m = 0, c = COORD_ASYMMETRIC, nm = NEAREST_FLOOR;
  TRY(pick(cx, n, "mode", "nearest", modes, O2L_ARRAY_LEN(modes), &m));
  p->mode = (ResizeMode)m;
  if (p->mode == RESIZE_CUBIC && !modern)
    return op_invalid(cx, n, "mode 'cubic' needs Resize from opset 11");
  if (modern) {
    TRY(pick(cx, n, "coordinate_transformation_mode", "half_pixel", coords,
             O2L_ARRAY_LEN(coords), &c));
    TRY(pick(cx, n, "nearest_mode", "round_prefer_floor", nearests,
             O2L_ARRAY_LEN(nearests), &nm));
    if (c == COORD_HALF_PIXEL_SYMMETRIC && op_opset(g) < 19)
      return op_invalid(cx, n, "half_pixel_symmetric needs opset 19");
  }
  p->coord = (CoordMode)c;
  p->nearest = (NearestMode)nm;
  int64_t excl, anti;
  TRY(op_attr_float(cx, n, "cubic_coeff_a", -0.75, &p->cubic_a));
  TRY(op_attr_int(cx, n, "exclude_outside", 0, &excl));
  TRY(op_attr_int(cx, n, "antialias", 0, &anti));
  TRY(op_attr_float(cx, n, "extrapolation_value", 0.0, &p->extrapolation));
  p->exclude_outside = excl != 0;
  p->antialias = anti != 0 && op_opset(g) >= 18;
  return O2L_OK;
}

/* Axes the scales/sizes refer to: the 'axes' attribute (18+) or all. */
static Status resize_axes(Ctx *cx, const Graph *g, const Node *n, int rank,
                          int *axes, int *na) {
  const int64_t *v = NULL;
  int k = -1;
  if (op_opset(g) >= 18 && n->op == OP_Resize)
    TRY(op_attr_ints(cx, n, "axes", &v, &k));
  if (k < 0) {
    for (int i = 0; i < rank; i++)
      axes[i] = i;
    *na = rank;
    return O2L_OK;
  }
  if (k > rank)
    return op_invalid(cx, n, "axes has %d entries for rank %d", k, rank);
  bool seen[O2L_MAX_RANK];
  TRY(op_axes(cx, n, v, k, rank, axes, seen));
  *na = k;
  return O2L_OK;
}

static Status from_scales(Ctx *cx, const Node *n, ResizeParams *p,
                          const double *sc, int ns, const int *axes, int na) {
  if (ns != na)
    return op_invalid(cx, n, "scales has %d entries; expected %d", ns, na);
  for (int i = 0; i < na; i++) {
    int a = axes[i];
    if (!(sc[i] > 0) || !isfinite(sc[i]))
      return op_invalid(cx, n, "scales[%d] = %g must be positive", i, sc[i]);
    double span = 1;
    if (p->has_roi)
      span = p->roi[p->rank + a] - p->roi[a];
    float o = floorf((float)p->in[a] * (float)span * (float)sc[i]);
    if (!(o >= 1) || o > 1e12f)
      return op_invalid(cx, n, "scale %g gives an output size of %.0f on axis "
                        "%d (input %lld)", sc[i], (double)o, a,
                        (long long)p->in[a]);
    p->out[a] = (int64_t)o;
    p->scale[a] = sc[i];
  }
  return O2L_OK;
}

static Status from_sizes(Ctx *cx, const Graph *g, const Node *n,
                         ResizeParams *p, const int64_t *sz, int ns,
                         const int *axes, int na) {
  if (ns != na)
    return op_invalid(cx, n, "sizes has %d entries; expected %d", ns, na);
  const char *policy = "stretch";
  if (op_opset(g) >= 18)
    TRY(op_attr_str(cx, n, "keep_aspect_ratio_policy", "stretch", &policy));
  bool larger = strcmp(policy, "not_larger") == 0;
  bool smaller = strcmp(policy, "not_smaller") == 0;
  if (!larger && !smaller && strcmp(policy, "stretch") != 0)
    return op_invalid(cx, n, "keep_aspect_ratio_policy '%s' is not one of "
                      "stretch, not_larger, not_smaller", policy);
  p->from_sizes = true;
  double common = larger ? INFINITY : 0;
  for (int i = 0; i < na; i++) {
    if (sz[i] < 1 || sz[i] > ((int64_t)1 << 40))
      return op_invalid(cx, n, "sizes[%d] = %lld must be positive", i,
                        (long long)sz[i]);
    double s = (double)sz[i] / (double)p->in[axes[i]];
    common = larger ? fmin(common, s) : fmax(common, s);
  }
  for (int i = 0; i < na; i++) {
    int a = axes[i];
    if (larger || smaller) {
      p->out[a] = (int64_t)floor(common * (double)p->in[a] + 0.5);
      p->scale[a] = common;
    } else {
      p->out[a] = sz[i];
      p->scale[a] = (double)sz[i] / (double)p->in[a];
    }
  }
  return O2L_OK;
}

static Status resize_roi(Ctx *cx, const Node *n, ResizeParams *p,
                         const int *axes, int na) {
  const Value *roi = op_in(n, 1);
  if (p->coord != COORD_TF_CROP_AND_RESIZE || !roi || op_numel(roi) == 0)
    return O2L_OK;
  const double *v;
  int k;
  TRY(op_const_floats(cx, n, 1, "roi", &v, &k));
  if (k != 2 * na)
    return op_invalid(cx, n, "roi has %d entries; expected %d", k, 2 * na);
  for (int a = 0; a < p->rank; a++) {
    p->roi[a] = 0;
    p->roi[p->rank + a] = 1;
  }
  for (int i = 0; i < na; i++) {
    p->roi[axes[i]] = v[i];
    p->roi[p->rank + axes[i]] = v[na + i];
  }
  p->has_roi = true;
  return O2L_OK;
}

Status resize_params(Ctx *cx, const Graph *g, const Node *n, ResizeParams *p) {
  memset(p, 0, sizeof *p);
  int opset = op_opset(g);
  bool upsample = n->op == OP_Upsample;
  bool modern = !upsample && opset >= 11;
  int scales_in = -1, sizes_in = -1;
  if (upsample && opset < 9) {
    TRY(op_check_io(cx, n, 1, 1, 1));
  } else if (upsample || opset < 11) {
    TRY(op_check_io(cx, n, 2, 2, 1));
    scales_in = 1;
  } else {
    TRY(op_check_io(cx, n, 1, 4, 1));
    scales_in = 2;
    sizes_in = 3;
  }
  const Value *x = n->in[0];
  p->rank = x->rank;
  if (x->rank < 1)
    return op_invalid(cx, n, "input X must have rank >= 1, got a scalar");
  if (!dtype_is_float(x->dtype) && !dtype_is_int(x->dtype))
    return op_invalid(cx, n, "input X must be numeric, got %s",
                      dtype_name(x->dtype));
  for (int a = 0; a < p->rank; a++) {
    p->in[a] = p->out[a] = x->dims[a];
    p->scale[a] = 1;
  }
  TRY(resize_attrs(cx, g, n, p, modern));
  int axes[O2L_MAX_RANK], na = 0;
  TRY(resize_axes(cx, g, n, p->rank, axes, &na));
  if (modern)
    TRY(resize_roi(cx, n, p, axes, na));
  if (scales_in < 0) { /* Upsample-7: scales attribute */
    const float *f;
    int k;
    TRY(op_attr_floats(cx, n, "scales", &f, &k));
    if (k < 0)
      return op_invalid(cx, n, "the 'scales' attribute is required");
    double sc[O2L_MAX_RANK];
    if (k > O2L_MAX_RANK)
      return op_invalid(cx, n, "scales has %d entries; expected %d", k, na);
    for (int i = 0; i < k; i++)
      sc[i] = f[i];
    return from_scales(cx, n, p, sc, k, axes, na);
  }
  const Value *sv = op_in(n, scales_in), *zv = op_in(n, sizes_in);
  bool has_scales = sv && !(value_is_const(sv) && op_numel(sv) == 0);
  bool has_sizes = zv && !(value_is_const(zv) && op_numel(zv) == 0);
  if (has_scales && has_sizes)
    return op_invalid(cx, n, "give scales or sizes, not both");
  if (has_sizes) {
    const int64_t *sz;
    int k;
    TRY(op_const_ints(cx, n, sizes_in, "sizes", &sz, &k));
    return from_sizes(cx, g, n, p, sz, k, axes, na);
  }
  if (!has_scales)
    return op_invalid(cx, n, "needs scales or sizes");
  const double *sc;
  int k;
  TRY(op_const_floats(cx, n, scales_in, "scales", &sc, &k));
  return from_scales(cx, n, p, sc, k, axes, na);
}

Status resize_infer(Ctx *cx, Graph *g, Node *n) {
  ResizeParams p;
  TRY(resize_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, p.rank, p.out);
  return O2L_OK;
}
