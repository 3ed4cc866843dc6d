/* lower_norm.c - LayerNormalization, InstanceNormalization,
 * GroupNormalization and LRN.
 *
 * TFLite has no layer, instance or group normalization; they become
 *   mean = MEAN(x), d = x - mean, var = MEAN(d*d), inv = RSQRT(var + eps),
 *   y = d * inv * scale + bias
 * over the normalized axes.  They work on the data in whatever order it
 * is stored, never asking for a particular one.  The stored order (the
 * value's Layout) is cut at the boundaries of the logical axes, so every
 * piece belongs to one axis; pieces stored next to each other that are
 * both normalized (or both not) are merged, and the tensor is viewed
 * (reshaped, for free) with one dimension per run.  The reductions name
 * the normalized runs; scale and bias become constants shaped like that
 * view, their values placed where the view stores each element.  So:
 *   - LayerNormalization over C of a ConvNeXt map, permuted to NHWC by a
 *     Transpose the layout algebra made free, is MEAN over the last axis;
 *   - InstanceNormalization of a channels-last map is MEAN over [N,HW,C]'s
 *     middle axis;
 *   - GroupNorm as PyTorch exports it (Reshape to (N, G, C/G*H*W),
 *     InstanceNormalization, Reshape back), and GroupNormalization, which
 *     is defined through that reshape, see the NHWC data as
 *     [N, HW, G, C/G] and reduce axes 1 and 3: still no TRANSPOSE.
 * Only data whose pieces straddle an axis boundary unevenly, or a view of
 * more than 5 dimensions, is first converted to an axis order.  Scale and
 * bias computed at run time (ONNX's own tests feed them as inputs) are
 * applied with the data seen in its axis order, the parameters read in
 * that order.
 *
 * LRN is LOCAL_RESPONSE_NORMALIZATION over the channels, which must be
 * the last stored axis (they are in a channels-last map): ONNX's window
 * [c - floor((size-1)/2), c + ceil((size-1)/2)] with alpha/size is
 * TFLite's [c - r, c + r] with r = (size-1)/2 and alpha only for odd sizes;
 * even sizes are refused.
 */
#include <math.h>
#include <string.h>

#include "lower/lower.h"
#include "ops/opattr.h"

#define NV_SUB (2 * LAYOUT_MAX + O2L_MAX_RANK)
/* Broadcasting SUB/MUL/ADD kernels are only sure to handle 5-D. */
#define NV_RANK 5

/* x's data viewed as runs of normalized / other axes. */
typedef struct NView {
  Value *t;                /* the data, reshaped to dims */
  Layout L;                /* order of that data relative to x */
  int lrank;               /* the logical shape the axes refer to: x's, */
  int64_t ldims[O2L_MAX_RANK]; /* or a reshape of it (GroupNorm) */
  int rank;
  int64_t dims[NV_SUB];
  bool red[NV_SUB];        /* a run of normalized axes */
  /* x's index space cut at its axes' boundaries, in stored order */
  int nsub;
  int64_t size[NV_SUB], lstride[NV_SUB];
  int axis[NV_SUB], pos[NV_SUB]; /* logical axis, view dimension */
} NView;

/* The pieces of the factor whose strides run over [lo, hi), cut at the
 * points of cut[] inside it, outermost first; false if a cut does not
 * divide the factor evenly. */
static bool split_factor(int64_t lo, int64_t hi, const int64_t *cut, int ncut,
                         int64_t *stride, int64_t *size, int *n) {
  int64_t pts[2 * O2L_MAX_RANK + 2];
  int np = 0;
  pts[np++] = lo;
  pts[np++] = hi;
  for (int i = 0; i < ncut; i++)
    if (cut[i] > lo && cut[i] < hi)
      pts[np++] = cut[i];
  for (int i = 1; i < np; i++) /* sort */
    for (int k = i; k > 0 && pts[k - 1] > pts[k]; k--) {
      int64_t t = pts[k];
      pts[k] = pts[k - 1];
      pts[k - 1] = t;
    }
  *n = 0;
  for (int k = np - 2; k >= 0; k--) {
    if (pts[k + 1] == pts[k])
      continue;
    if (pts[k + 1] % pts[k])
      return false;
    stride[*n] = pts[k];
    size[(*n)++] = pts[k + 1] / pts[k];
  }
  return true;
}

/* The view of data stored with layout L of a tensor of logical shape
 * (r, dims) where the axes with red[] set are normalized; false when L
 * does not split along those axes or the view would exceed NV_RANK
 * dimensions. */
static bool nview_build(const Layout *L, int r, const int64_t *dims,
                        const bool *red, NView *v) {
  int nf = L->n;
  int64_t f[LAYOUT_MAX], fs[LAYOUT_MAX], astride[O2L_MAX_RANK];
  int p[LAYOUT_MAX];
  int64_t total = 1;
  for (int a = 0; a < r; a++)
    total *= dims[a];
  v->lrank = r;
  memcpy(v->ldims, dims, sizeof(int64_t) * (size_t)r);
  if (nf == 0) {
    nf = 1;
    f[0] = total;
    p[0] = 0;
  } else {
    memcpy(f, L->f, sizeof(int64_t) * (size_t)nf);
    memcpy(p, L->p, sizeof(int) * (size_t)nf);
  }
  int64_t acc = 1;
  for (int i = nf - 1; i >= 0; i--) {
    fs[i] = acc;
    acc *= f[i];
  }
  int64_t cut[2 * O2L_MAX_RANK];
  int ncut = 0;
  acc = 1;
  for (int a = r - 1; a >= 0; a--) {
    astride[a] = acc;
    cut[ncut++] = acc;
    acc *= dims[a];
    cut[ncut++] = acc;
  }
  v->nsub = 0;
  v->rank = 0;
  for (int j = 0; j < nf; j++) {
    int i = p[j], k;
    int64_t st[2 * O2L_MAX_RANK + 2], sz[2 * O2L_MAX_RANK + 2];
    if (!split_factor(fs[i], fs[i] * f[i], cut, ncut, st, sz, &k))
      return false;
    for (int q = 0; q < k; q++) {
      if (sz[q] == 1)
        continue;
      int own = -1;
      for (int a = 0; a < r && own < 0; a++)
        if (dims[a] > 1 && st[q] >= astride[a] &&
            st[q] < astride[a] * dims[a])
          own = a;
      if (own < 0 || v->nsub == NV_SUB)
        return false;
      int s = v->nsub++;
      v->size[s] = sz[q];
      v->lstride[s] = st[q];
      v->axis[s] = own;
      if (v->rank == 0 || v->red[v->rank - 1] != red[own]) {
        if (v->rank == NV_RANK)
          return false;
        v->red[v->rank] = red[own];
        v->dims[v->rank++] = 1;
      }
      v->dims[v->rank - 1] *= sz[q];
      v->pos[s] = v->rank - 1;
    }
  }
  bool any_red = false;
  for (int q = 0; q < v->rank; q++)
    any_red = any_red || v->red[q];
  if (!any_red) { /* only size-1 axes are normalized: reduce a dummy one */
    if (v->rank == NV_RANK)
      return false;
    v->red[v->rank] = true;
    v->dims[v->rank++] = 1;
  }
  return true;
}

/* x's data as a view normalized over red[]: in its stored order if that
 * splits along x's axes, else converted to an axis order first.  With
 * perm non-NULL the data is always taken in an axis order, written there
 * (runtime parameters are read in that order). */
static Status nview_of(Lower *lw, Value *x, int r, const int64_t *dims,
                       const bool *red, NView *v, const char *why, int *perm) {
  memset(v, 0, sizeof *v);
  Value *t = lw_in_asis(lw, x);
  if (!t)
    return lw_failed(lw);
  if (value_is_const(x))
    layout_plain(&v->L);
  else
    v->L = *lw_layout(lw, x);
  if (perm || !nview_build(&v->L, r, dims, red, v)) {
    int own[O2L_MAX_RANK];
    if (!perm)
      perm = own;
    if (!(t = lw_in_own_order(lw, x, perm, why)))
      return lw_failed(lw);
    layout_from_perm(&v->L, x->rank, x->dims, perm);
    if (!nview_build(&v->L, r, dims, red, v))
      return lw_err(lw, O2L_ERR_UNSUPPORTED, "normalizing a rank-%d tensor "
                    "whose axes cannot be grouped into at most %d runs",
                    x->rank, NV_RANK);
  }
  v->t = lw_reshape(lw, t, v->rank, v->dims, "view");
  return v->t ? O2L_OK : lw_failed(lw);
}

/* A value per element of x, as a function of its logical coordinates. */
typedef double (*NvFn)(const void *ctx, int rank, const int64_t *coords);

/* Which pieces a constant varies along: those of axis a with a logical
 * stride >= dep_from[a]; dep_from[a] < 0: none of axis a. */
typedef struct NvDep {
  int64_t from[O2L_MAX_RANK];
} NvDep;

/* Varies along every piece of the axes with mask[a] set. */
static NvDep nv_dep(int rank, const bool *mask) {
  NvDep d;
  for (int a = 0; a < rank; a++)
    d.from[a] = mask[a] ? 0 : -1;
  return d;
}

static bool nv_varies(const NvDep *d, const NView *v, int s) {
  int64_t f = d->from[v->axis[s]];
  return f >= 0 && v->lstride[s] >= f;
}

/* A constant shaped like the view with size 1 on every dimension holding
 * no piece it varies along, filled with fn.  *all_one / *all_zero say
 * whether the multiplication / addition by it can be left out. */
static Value *nview_const(Lower *lw, const NView *v, const NvDep *dep,
                          NvFn fn, const void *ctx,
                          const char *sfx, bool *all_one, bool *all_zero) {
  bool vdep[NV_SUB] = {false};
  for (int s = 0; s < v->nsub; s++)
    vdep[v->pos[s]] = vdep[v->pos[s]] || nv_varies(dep, v, s);
  int64_t cd[NV_SUB], n = 1, size[NV_SUB], lst[NV_SUB];
  int m = 0;
  for (int q = 0; q < v->rank; q++)
    cd[q] = vdep[q] ? v->dims[q] : 1;
  for (int s = 0; s < v->nsub; s++)
    if (vdep[v->pos[s]]) {
      size[m] = v->size[s];
      lst[m++] = v->lstride[s];
      n *= v->size[s];
    }
  float *d = arena_alloc(lw->cx->arena, sizeof(float) * (size_t)(n + 1), 16);
  if (!d) {
    ctx_oom(lw->cx, "building normalization constants");
    return NULL;
  }
  int64_t idx[NV_SUB] = {0};
  *all_one = *all_zero = true;
  for (int64_t e = 0; e < n; e++) {
    int64_t flat = 0, coords[O2L_MAX_RANK];
    for (int k = 0; k < m; k++)
      flat += idx[k] * lst[k];
    for (int a = v->lrank - 1; a >= 0; a--) {
      coords[a] = flat % v->ldims[a];
      flat /= v->ldims[a];
    }
    d[e] = (float)fn(ctx, v->lrank, coords);
    *all_one = *all_one && d[e] == 1.0f;
    *all_zero = *all_zero && d[e] == 0.0f;
    for (int k = m - 1; k >= 0; k--) {
      if (++idx[k] < size[k])
        break;
      idx[k] = 0;
    }
  }
  return lw_const(lw, sfx, DT_F32, v->rank, cd, d);
}

/* Layout of a reduction of the view with kept dimensions: the pieces of
 * the other axes, in their stored order. */
static void nview_kept_layout(const NView *v, Layout *out) {
  int64_t fd[NV_SUB], st[NV_SUB];
  int perm[NV_SUB], nk = 0, phys[NV_SUB];
  for (int s = 0; s < v->nsub; s++)
    if (!v->red[v->pos[s]]) {
      phys[nk] = s;
      st[nk++] = v->lstride[s];
    }
  /* logical order: decreasing stride */
  int order[NV_SUB];
  for (int i = 0; i < nk; i++)
    order[i] = i;
  for (int i = 1; i < nk; i++)
    for (int k = i; k > 0 && st[order[k - 1]] < st[order[k]]; k--) {
      int tmp = order[k];
      order[k] = order[k - 1];
      order[k - 1] = tmp;
    }
  for (int li = 0; li < nk; li++) {
    fd[li] = v->size[phys[order[li]]];
    perm[order[li]] = li;
  }
  if (nk > LAYOUT_MAX || nk == 0) {
    layout_plain(out);
    return;
  }
  layout_from_perm(out, nk, fd, perm);
}

/* ---- the normalization --------------------------------------------------- */

typedef struct NormOut {
  Value *mean, *inv; /* [view with 1 on normalized runs] */
} NormOut;

static Value *emit2(Lower *lw, TflOp op, Value *a, Value *b, const char *sfx,
                    const int64_t *dims, int rank) {
  Value *out = lw_tensor(lw, sfx, DT_F32, rank, dims);
  Value *in[2] = {a, b};
  return a && b && out && lw_op(lw, op, 2, in, 1, &out) ? out : NULL;
}

/* Vela (Ethos-U) reduces at most 4096 elements along W or C and wants a
 * 2-D to 4-D input, so a statistic over a whole large map - GroupNorm(1),
 * as PoolFormer writes it, sees one run of C*H*W - ran on the CPU.  The
 * same mean over [1, L/w, w, 1] (w <= 4096 dividing L) reduces H and W
 * together, which it maps; the RESHAPEs around it are free. */
#define VELA_MAX_REDUCE 4096

/* MEAN of a over axes[0..k), kept as 1s in the output shape od. */
static Value *mean_op(Lower *lw, Value *a, int k, const int32_t *axes,
                      int rank, const int64_t *od, const char *sfx) {
  Value *ac = lw_const_i32(lw, "axes", k, axes);
  Value *out = lw_tensor(lw, sfx, DT_F32, rank, od);
  Value *in[2] = {a, ac};
  Node *op = a && ac && out ? lw_op(lw, TFL_MEAN, 2, in, 1, &out) : NULL;
  if (op)
    op->opt.keep_dims = true;
  return op ? out : NULL;
}

static Value *emit_mean_all(Lower *lw, const NView *v, Value *a,
                            const char *sfx, int64_t total) {
  int64_t w = VELA_MAX_REDUCE;
  while (w > 1 && total % w)
    w--;
  if (total / w > 65535)
    return NULL;
  int64_t d4[4] = {1, total / w, w, 1}, od[NV_SUB];
  for (int q = 0; q < v->rank; q++)
    od[q] = 1;
  const int32_t axes[2] = {1, 2};
  const int64_t o4[4] = {1, 1, 1, 1};
  Value *r = lw_reshape(lw, a, 4, d4, "hw");
  Value *m = mean_op(lw, r, 2, axes, 4, o4, sfx);
  return m ? lw_reshape(lw, m, v->rank, od, sfx) : NULL;
}

static Value *emit_mean(Lower *lw, const NView *v, Value *a, const char *sfx) {
  int64_t total = 1;
  bool all = true;
  for (int q = 0; q < v->rank; q++) {
    total *= v->dims[q];
    all = all && (v->red[q] || v->dims[q] == 1);
  }
  if (all && total > VELA_MAX_REDUCE) {
    Value *m = emit_mean_all(lw, v, a, sfx, total);
    if (m)
      return m;
  }
  int32_t axes[NV_SUB];
  int64_t od[NV_SUB];
  int k = 0;
  for (int q = 0; q < v->rank; q++) {
    if (v->red[q])
      axes[k++] = q;
    od[q] = v->red[q] ? 1 : v->dims[q];
  }
  return mean_op(lw, a, k, axes, v->rank, od, sfx);
}

/* y = (x - mean) * rsqrt(var + eps) * scale + shift, with scale / shift
 * omitted when NULL; the last operator writes the node's output unless
 * more operators follow. */
static Value *normalize(Lower *lw, const NView *v, double eps, Value *scale,
                        Value *shift, bool more, NormOut *no) {
  const int64_t *d = v->dims;
  int r = v->rank;
  Value *mean = emit_mean(lw, v, v->t, "mean");
  Value *dev = emit2(lw, TFL_SUB, v->t, mean, "centered", d, r);
  Value *sq = emit2(lw, TFL_MUL, dev, dev, "squared", d, r);
  Value *var = emit_mean(lw, v, sq, "variance");
  Value *ve = var ? emit2(lw, TFL_ADD, var, lw_const_f32_scalar(lw, "epsilon",
                                                              (float)eps),
                          "variance_eps", var->dims, r)
                  : NULL;
  Value *inv = NULL;
  if (ve) {
    inv = lw_tensor(lw, "inv_std", DT_F32, r, ve->dims);
    if (!inv || !lw_op(lw, TFL_RSQRT, 1, &ve, 1, &inv))
      inv = NULL;
  }
  Value *y = emit2(lw, TFL_MUL, dev, inv,
                   scale || shift || more ? "normalized" : NULL, d, r);
  if (scale)
    y = emit2(lw, TFL_MUL, y, scale, shift || more ? "scaled" : NULL, d, r);
  if (shift)
    y = emit2(lw, TFL_ADD, y, shift, more ? "shifted" : NULL, d, r);
  no->mean = mean;
  no->inv = inv;
  return y;
}

/* Scale / B computed at run time: the normalized data, seen with x's axes
 * in order P, times and plus the parameters read in that order.  in_axis
 * >= 0: the parameter is 1-D along that axis of x (InstanceNormalization's
 * per-channel ones); else it broadcasts numpy style (LayerNormalization). */
static Value *affine_runtime(Lower *lw, Node *n, Value *y, const int *P,
                             int in_axis) {
  Value *x = n->in[0];
  int r = x->rank;
  int64_t pd[O2L_MAX_RANK];
  perm_apply(r, x->dims, P, pd);
  y = lw_reshape(lw, y, r, pd, "axes");
  for (int i = 1; i <= 2 && y; i++) {
    Value *pv = op_in(n, i);
    if (!pv)
      continue;
    const char *why = "normalization parameters in the data's axis order";
    Value *c;
    if (in_axis >= 0) {
      int64_t cd[O2L_MAX_RANK];
      int zero = 0;
      for (int j = 0; j < r; j++)
        cd[j] = P[j] == in_axis ? x->dims[in_axis] : 1;
      c = lw_in_perm(lw, pv, &zero, r, cd, why);
    } else {
      c = lw_in_bcast(lw, pv, r, P, why);
    }
    bool last = i == 2 || !op_in(n, 2);
    y = emit2(lw, i == 1 ? TFL_MUL : TFL_ADD, y, c,
              last ? NULL : "scaled", pd, r);
  }
  return y;
}

static bool has_runtime_param(const Node *n) {
  for (int i = 1; i <= 2; i++)
    if (op_in(n, i) && !value_is_const(n->in[i]))
      return true;
  return false;
}

/* ---- LayerNormalization ---------------------------------------------------- */

/* Element of Scale / B (broadcast to X.shape[axis:]) for X's coordinates. */
typedef struct BcastParam {
  const Value *p;
  int axis;
} BcastParam;

static double bcast_param(const void *ctx, int rank, const int64_t *coords) {
  const BcastParam *b = ctx;
  const Value *p = b->p;
  int64_t off = 0, acc = 1;
  for (int i = p->rank - 1; i >= 0; i--) {
    int a = rank - p->rank + i;
    if (p->dims[i] > 1)
      off += coords[a] * acc;
    acc *= p->dims[i];
  }
  return load_as_f64(p->data, p->dtype, (size_t)off);
}

/* Scale or shift constant of parameter input i, NULL (and no error) when it
 * is absent or neutral. */
static Value *param_const(Lower *lw, Node *n, const NView *v, const NvDep *dep,
                          NvFn fn, const void *ctx, int i, bool mul,
                          bool *err) {
  *err = false;
  if (!op_in(n, i))
    return NULL;
  bool one, zero;
  Value *c = nview_const(lw, v, dep, fn, ctx,
                         mul ? "scale" : "shift", &one, &zero);
  if (!c) {
    *err = true;
    return NULL;
  }
  return (mul ? one : zero) ? NULL : c;
}

/* How a normalization reads its Scale (input 1) and shift (input 2):
 * constant ones become constants laid out like the view, element
 * fn(ctx, coords) with ctx `scale` or `shift`, varying along the axes dep
 * says; ones computed at run time are applied by affine_runtime along
 * in_axis. */
typedef struct NormAffine {
  NvFn fn;
  const void *scale, *shift;
  NvDep dep;
  int in_axis;
} NormAffine;

/* v normalized, then scaled and shifted as a says (P: x's axis order, for
 * parameters computed at run time).  NULL on error. */
static Value *normalize_affine(Lower *lw, Node *n, const NView *v, double eps,
                               const NormAffine *a, const int *P,
                               NormOut *no) {
  bool runtime = has_runtime_param(n), e1 = false, e2 = false;
  Value *scale = NULL, *shift = NULL;
  if (!runtime) {
    scale = param_const(lw, n, v, &a->dep, a->fn, a->scale, 1, true, &e1);
    shift = param_const(lw, n, v, &a->dep, a->fn, a->shift, 2, false, &e2);
  }
  if (e1 || e2)
    return NULL;
  Value *y = normalize(lw, v, eps, scale, shift, runtime, no);
  if (y && runtime)
    y = affine_runtime(lw, n, y, P, a->in_axis);
  return y;
}

static Status need_f32(Lower *lw, const Value *x) {
  if (x->dtype != DT_F32)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "%s input: only float32 is "
                  "supported", dtype_name(x->dtype));
  return O2L_OK;
}

Status layernorm_lower(Lower *lw, Node *n) {
  LayerNormParams p;
  TRY(layernorm_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0];
  TRY(need_f32(lw, x));
  bool red[O2L_MAX_RANK], runtime = has_runtime_param(n);
  for (int a = 0; a < x->rank; a++)
    red[a] = a >= p.axis;
  NView v;
  int P[O2L_MAX_RANK];
  TRY(nview_of(lw, x, x->rank, x->dims, red, &v, "LayerNormalization needs "
               "its input in an axis order", runtime ? P : NULL));
  BcastParam sc = {n->in[1], p.axis}, sh = {op_in(n, 2), p.axis};
  NormAffine a = {bcast_param, &sc, &sh, nv_dep(x->rank, red), -1};
  NormOut no;
  Value *y = normalize_affine(lw, n, &v, p.epsilon, &a, P, &no);
  if (!y || !no.mean || !no.inv)
    return lw_failed(lw);
  lw_set_layout(lw, n->out[0], y, &v.L);
  Layout K;
  nview_kept_layout(&v, &K);
  if (n->nout > 1 && n->out[1])
    lw_set_layout(lw, n->out[1], no.mean, &K);
  if (n->nout > 2 && n->out[2])
    lw_set_layout(lw, n->out[2], no.inv, &K);
  return O2L_OK;
}

/* ---- InstanceNormalization ---------------------------------------------------- */

static double channel_param(const void *ctx, int rank, const int64_t *coords) {
  (void)rank;
  const Value *p = ctx;
  return load_as_f64(p->data, p->dtype, (size_t)coords[1]);
}

Status instnorm_lower(Lower *lw, Node *n) {
  InstanceNormParams p;
  TRY(instnorm_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0];
  TRY(need_f32(lw, x));
  bool red[O2L_MAX_RANK], mask[O2L_MAX_RANK] = {false};
  bool runtime = has_runtime_param(n);
  for (int a = 0; a < x->rank; a++)
    red[a] = a >= 2;
  mask[1] = true;
  NView v;
  int P[O2L_MAX_RANK];
  TRY(nview_of(lw, x, x->rank, x->dims, red, &v, "InstanceNormalization "
               "needs its input in an axis order", runtime ? P : NULL));
  NormAffine a = {channel_param, n->in[1], n->in[2], nv_dep(x->rank, mask), 1};
  NormOut no;
  Value *y = normalize_affine(lw, n, &v, p.epsilon, &a, P, &no);
  if (!y)
    return lw_failed(lw);
  lw_set_layout(lw, n->out[0], y, &v.L);
  return O2L_OK;
}

/* ---- GroupNormalization ----------------------------------------------------------- */

/* scale / bias of GroupNormalization at coordinates of (N, G, C/G * S):
 * per channel g * C/G + k / S (opset 21), or per group g (before). */
typedef struct GroupParam {
  const Value *p;
  int64_t cg, s;
  bool per_group;
} GroupParam;

static double group_param(const void *ctx, int rank, const int64_t *coords) {
  (void)rank;
  const GroupParam *gp = ctx;
  int64_t i = gp->per_group ? coords[1] : coords[1] * gp->cg + coords[2] / gp->s;
  return load_as_f64(gp->p->data, gp->p->dtype, (size_t)i);
}

/* x seen as (N, G, C/G * S), the reshape GroupNorm is defined by (and
 * PyTorch's Reshape -> InstanceNormalization export spells out). */
Status groupnorm_lower(Lower *lw, Node *n) {
  GroupNormParams p;
  TRY(groupnorm_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0];
  TRY(need_f32(lw, x));
  bool runtime = has_runtime_param(n);
  if (runtime && p.per_group)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "per-group scale and bias (opset "
                  "< 21) computed at run time are not supported");
  int64_t N = x->dims[0], G = p.groups, total = value_numel(x);
  int64_t gd[3] = {N, G, total / (N * G)};
  bool red[3] = {false, false, true};
  /* per channel: along G and the C/G part of the last axis (strides >= S) */
  NvDep dep = {{-1, 0, p.per_group ? -1 : total / (N * p.channels)}};
  NView v;
  int P[O2L_MAX_RANK];
  TRY(nview_of(lw, x, 3, gd, red, &v, "GroupNormalization needs its input "
               "in an axis order", runtime ? P : NULL));
  GroupParam sc = {n->in[1], p.channels / G, total / (N * p.channels),
                   p.per_group};
  GroupParam sh = sc;
  sh.p = n->in[2];
  NormAffine a = {group_param, &sc, &sh, dep, 1};
  NormOut no;
  Value *y = normalize_affine(lw, n, &v, p.epsilon, &a, P, &no);
  if (!y)
    return lw_failed(lw);
  lw_set_layout(lw, n->out[0], y, &v.L);
  return O2L_OK;
}

/* ---- LRN -------------------------------------------------------------------------- */

Status lrn_lower(Lower *lw, Node *n) {
  LrnParams p;
  TRY(lrn_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  TRY(need_f32(lw, x));
  if (p.size % 2 == 0)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "even size %lld: ONNX's window "
                  "reaches one channel further up than down, TFLite's "
                  "LOCAL_RESPONSE_NORMALIZATION is symmetric (odd sizes only)",
                  (long long)p.size);
  int r = x->rank, perm[O2L_MAX_RANK];
  /* Channels stored last, the other axes in any order. */
  if (!lw_perm_of(lw, x, perm) || perm[r - 1] != 1)
    perm_channels_last(r, perm);
  int64_t C = x->dims[1];
  int64_t v[4] = {1, 1, value_numel(x) / C, C};
  Value *t = lw_in_perm(lw, x, perm, 4, v, "LRN normalizes over channels "
                        "stored last");
  Value *out = lw_tensor(lw, NULL, DT_F32, 4, v);
  Node *op = t && out ? lw_op(lw, TFL_LOCAL_RESPONSE_NORMALIZATION, 1, &t, 1,
                              &out)
                      : NULL;
  if (!op)
    return lw_failed(lw);
  op->opt.radius = (int)((p.size - 1) / 2);
  op->opt.bias = (float)p.bias;
  op->opt.alpha = (float)(p.alpha / (double)p.size);
  op->opt.beta = (float)p.beta;
  lw_set_perm(lw, y, out, perm);
  return O2L_OK;
}
