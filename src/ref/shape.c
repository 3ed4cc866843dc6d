/* shape.c - data movement: RESHAPE SQUEEZE EXPAND_DIMS, the strided views
 * (TRANSPOSE SLICE STRIDED_SLICE TILE BROADCAST_TO DEPTH_TO_SPACE
 * SPACE_TO_DEPTH), CONCATENATION PACK, SPLIT SPLIT_V UNPACK, GATHER,
 * PAD PADV2 MIRROR_PAD, CAST and DEQUANTIZE.
 *
 * These work on any element type by size.  Every view is described once at
 * prepare time as (dims, output strides, input strides, input offset) and
 * run by ref_strided_copy, which merges dims and memcpy's contiguous rows.
 * Index operands (perm, begin/end, paddings, multiples, axis) must be
 * constant; GATHER indices may be computed at run time and are checked
 * then.
 */
#include <limits.h>

#include "ref/ref_impl.h"

static Status need_same_type(RefPrep *p, const Node *n) {
  TRY(ref_need_in(p, n, 0, DT_UNDEF));
  DType t = n->in[0]->dtype;
  if (dtype_size(t) == 0)
    return ref_bad(p, n, "tensors of type %s", dtype_name(t));
  for (int i = 0; i < n->nout; i++)
    TRY(ref_need_out(p, n, i, t));
  return O2L_OK;
}

/* ---- RESHAPE / SQUEEZE / EXPAND_DIMS ------------------------------------- */

Status ref_reshape_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 1, 2, 1));
  TRY(need_same_type(p, n));
  if (ref_numel(n->in[0]) != ref_numel(n->out[0]))
    return ref_bad(p, n, "input '%s' and output '%s' hold different counts",
                   n->in[0]->name, n->out[0]->name);
  return O2L_OK;
}

Status ref_copy_any(RefEval *e, const RefOp *op) {
  (void)e;
  const Value *v = op->node->out[0];
  if (op->out[0] != op->in[0])
    memcpy(op->out[0], op->in[0], (size_t)ref_numel(v) * dtype_size(v->dtype));
  return O2L_OK;
}

/* ---- views ---------------------------------------------------------------- */

typedef struct View {
  int rank;
  int64_t dims[REF_ITER_MAX];
  int64_t ost[REF_ITER_MAX], ist[REF_ITER_MAX];
  int64_t base;   /* input element offset of the first output element */
  size_t es;
} View;

static View *view_new(RefPrep *p, const Node *n) {
  View *v = ref_alloc(p, sizeof *v);
  if (v)
    v->es = dtype_size(n->in[0]->dtype);
  return v;
}

/* Output strides row-major over view dims, and the output shape check. */
static Status view_finish(RefPrep *p, RefOp *op, View *v, int orank,
                          const int64_t *odims) {
  TRY(ref_need_shape(p, op->node, op->node->out[0], "output", orank, odims));
  int64_t s = 1;
  for (int i = v->rank - 1; i >= 0; i--) {
    v->ost[i] = s;
    s *= v->dims[i];
  }
  if (s != ref_numel(op->node->out[0]))
    return ref_bad(p, op->node, "view covers %lld elements, output has %lld",
                   (long long)s, (long long)ref_numel(op->node->out[0]));
  op->state = v;
  return O2L_OK;
}

Status ref_view_any(RefEval *e, const RefOp *op) {
  (void)e;
  const View *v = op->state;
  ref_strided_copy(op->out[0], v->ost,
                   (const unsigned char *)op->in[0] + v->base * (int64_t)v->es,
                   v->ist, v->rank, v->dims, v->es);
  return O2L_OK;
}

Status ref_transpose_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 2, 1));
  TRY(need_same_type(p, n));
  const Value *in = n->in[0];
  int64_t perm[O2L_MAX_RANK];
  int cnt = 0;
  TRY(ref_const_ints(p, n, 1, perm, O2L_MAX_RANK, &cnt));
  if (cnt != in->rank)
    return ref_bad(p, n, "perm has %d entries for rank %d", cnt, in->rank);
  View *v = view_new(p, n);
  if (!v)
    return p->cx->status;
  int64_t st[O2L_MAX_RANK], od[O2L_MAX_RANK];
  bool seen[O2L_MAX_RANK] = {false};
  ref_strides(in->rank, in->dims, st);
  for (int i = 0; i < cnt; i++) {
    if (perm[i] < 0 || perm[i] >= cnt || seen[perm[i]])
      return ref_bad(p, n, "perm is not a permutation");
    seen[perm[i]] = true;
    od[i] = v->dims[i] = in->dims[perm[i]];
    v->ist[i] = st[perm[i]];
  }
  v->rank = cnt;
  return view_finish(p, op, v, cnt, od);
}

/* SLICE: begin b[i] and size e[i] (-1: to the end) on every dim. */
static Status slice_view(RefPrep *p, const Node *n, const int64_t *b,
                         const int64_t *e, int nb, View *v, int64_t *od) {
  const Value *in = n->in[0];
  int r = in->rank;
  if (nb != r)
    return ref_bad(p, n, "begin has %d entries for rank %d", nb, r);
  int64_t st[O2L_MAX_RANK];
  ref_strides(r, in->dims, st);
  for (int i = 0; i < r; i++) {
    int64_t size = e[i] == -1 ? in->dims[i] - b[i] : e[i];
    if (b[i] < 0 || size < 0 || b[i] + size > in->dims[i])
      return ref_bad(p, n, "slice [%lld, +%lld) out of dim %d of size %lld",
                     (long long)b[i], (long long)e[i], i,
                     (long long)in->dims[i]);
    v->base += b[i] * st[i];
    v->dims[i] = od[i] = size;
    v->ist[i] = st[i];
  }
  v->rank = r;
  return O2L_OK;
}

/* One STRIDED_SLICE spec on a dim of `size`, TFLite's StartForAxis /
 * StopForAxis clamping: the first index, the step (1 when shrunk) and the
 * count; false when a shrunk index is outside the dim. */
static bool strided_range(int64_t size, int64_t begin, int64_t end,
                          int64_t stride, bool bm, bool em, bool shrink,
                          int64_t *first, int64_t *step, int64_t *cnt) {
  int64_t start = bm ? (stride > 0 ? 0 : size - 1) : begin;
  if (start < 0)
    start += size;
  int64_t stop;
  if (shrink) {
    if (start < 0 || start >= size)
      return false;
    stop = start + 1;
    stride = 1;
  } else {
    start = stride > 0 ? (start < 0 ? 0 : start > size ? size : start)
                       : (start < -1 ? -1 : start > size - 1 ? size - 1 : start);
    stop = em ? (stride > 0 ? size : -1) : end;
    if (!em && stop < 0)
      stop += size;
    stop = stride > 0 ? (stop < 0 ? 0 : stop > size ? size : stop)
                      : (stop < -1 ? -1 : stop > size - 1 ? size - 1 : stop);
  }
  int64_t span = stop - start;
  int64_t k = stride > 0 ? (span + stride - 1) / stride
                         : (span + stride + 1) / stride;
  *first = start;
  *step = stride;
  *cnt = k < 0 ? 0 : k;
  return true;
}

/* STRIDED_SLICE: the ellipsis and new axes expanded into one spec per
 * output dim, each clamped by strided_range. */
static Status strided_slice_view(RefPrep *p, const Node *n, const int64_t *b,
                                 const int64_t *e, const int64_t *s, int nb,
                                 View *v, int64_t *od, int *orank) {
  const Value *in = n->in[0];
  const TflOptions *o = &n->opt;
  int r = in->rank;
  int64_t st[O2L_MAX_RANK];
  ref_strides(r, in->dims, st);
  int specs_in = 0; /* specs that consume an input dim */
  for (int i = 0; i < nb; i++)
    if (!(o->new_axis_mask >> i & 1) && !(o->ellipsis_mask >> i & 1))
      specs_in++;
  int d = 0, vr = 0;
  *orank = 0;
  for (int i = 0; i < nb || d < r; i++) {
    bool past = i >= nb; /* implicit full slices after the last spec */
    if (vr + r >= REF_ITER_MAX || *orank + r >= 2 * O2L_MAX_RANK)
      return ref_bad(p, n, "too many output dims");
    if (!past && (o->new_axis_mask >> i & 1)) {
      v->dims[vr] = 1;
      v->ist[vr++] = 0;
      od[(*orank)++] = 1;
      continue;
    }
    if (!past && (o->ellipsis_mask >> i & 1)) {
      for (int k = specs_in; k < r && d < r; k++, d++) {
        v->dims[vr] = od[(*orank)++] = in->dims[d];
        v->ist[vr++] = st[d];
      }
      specs_in = r; /* only one ellipsis counts */
      continue;
    }
    if (d >= r)
      return ref_bad(p, n, "more slice specs than input dims");
    int64_t stride = past ? 1 : s[i];
    if (stride == 0)
      return ref_bad(p, n, "stride 0 on dim %d", d);
    bool bm = past || (o->begin_mask >> i & 1);
    bool em = past || (o->end_mask >> i & 1);
    bool shrink = !past && (o->shrink_axis_mask >> i & 1);
    int64_t end = past ? 0 : o->offset ? b[i] + e[i] : e[i];
    int64_t start, cnt;
    if (!strided_range(in->dims[d], past ? 0 : b[i], end, stride, bm, em,
                       shrink, &start, &stride, &cnt))
      return ref_bad(p, n, "shrunk index %lld out of dim %d of size %lld",
                     (long long)b[i], d, (long long)in->dims[d]);
    if (cnt > 0)
      v->base += start * st[d];
    v->dims[vr] = cnt;
    v->ist[vr++] = stride * st[d];
    if (!shrink)
      od[(*orank)++] = cnt;
    d++;
  }
  v->rank = vr;
  return O2L_OK;
}

Status ref_slice_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  bool strided = n->op == TFL_STRIDED_SLICE;
  TRY(ref_need_count(p, n, 3, strided ? 4 : 3, 1));
  TRY(need_same_type(p, n));
  int64_t b[O2L_MAX_RANK * 2], e[O2L_MAX_RANK * 2], s[O2L_MAX_RANK * 2];
  int nb = 0, ne = 0, ns = 0;
  TRY(ref_const_ints(p, n, 1, b, O2L_MAX_RANK * 2, &nb));
  TRY(ref_const_ints(p, n, 2, e, O2L_MAX_RANK * 2, &ne));
  if (strided && n->nin > 3 && n->in[3]) {
    TRY(ref_const_ints(p, n, 3, s, O2L_MAX_RANK * 2, &ns));
  } else {
    ns = nb;
    for (int i = 0; i < nb; i++)
      s[i] = 1;
  }
  if (nb != ne || nb != ns)
    return ref_bad(p, n, "begin/end/strides lengths differ");
  View *v = view_new(p, n);
  if (!v)
    return p->cx->status;
  int64_t od[O2L_MAX_RANK * 2];
  int orank = n->in[0]->rank;
  if (strided)
    TRY(strided_slice_view(p, n, b, e, s, nb, v, od, &orank));
  else
    TRY(slice_view(p, n, b, e, nb, v, od));
  return view_finish(p, op, v, orank, od);
}

Status ref_tile_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 2, 1));
  TRY(need_same_type(p, n));
  const Value *in = n->in[0];
  int64_t m[O2L_MAX_RANK];
  int cnt = 0;
  TRY(ref_const_ints(p, n, 1, m, O2L_MAX_RANK, &cnt));
  View *v = view_new(p, n);
  if (!v)
    return p->cx->status;
  int64_t od[O2L_MAX_RANK];
  int orank;
  if (n->op == TFL_TILE) {
    if (cnt != in->rank)
      return ref_bad(p, n, "multiples has %d entries for rank %d", cnt,
                     in->rank);
    int64_t st[O2L_MAX_RANK];
    ref_strides(in->rank, in->dims, st);
    for (int i = 0; i < cnt; i++) {
      if (m[i] < 0)
        return ref_bad(p, n, "negative multiple");
      /* out index t * d + j in dim i: a pair of view dims (t, j). */
      v->dims[2 * i] = m[i];
      v->ist[2 * i] = 0;
      v->dims[2 * i + 1] = in->dims[i];
      v->ist[2 * i + 1] = st[i];
      od[i] = m[i] * in->dims[i];
    }
    v->rank = 2 * cnt;
    orank = cnt;
  } else { /* BROADCAST_TO: input 1 is the target shape */
    if (!ref_bcast_shape(in->rank, in->dims, cnt, m, &orank, od) ||
        orank != cnt)
      return ref_bad(p, n, "input does not broadcast to the shape");
    for (int i = 0; i < cnt; i++)
      if (od[i] != m[i])
        return ref_bad(p, n, "input does not broadcast to the shape");
    ref_bcast_strides(orank, in->rank, in->dims, v->ist);
    memcpy(v->dims, od, sizeof(int64_t) * (size_t)orank);
    v->rank = orank;
  }
  return view_finish(p, op, v, orank, od);
}

/* TFLite DEPTH_TO_SPACE (DCR): out[b, h*bs + i, w*bs + j, c] =
 * in[b, h, w, (i*bs + j)*C + c]; SPACE_TO_DEPTH is its inverse. */
Status ref_d2s_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 1, 1, 1));
  TRY(need_same_type(p, n));
  const Value *in = n->in[0];
  int bs = n->opt.block_size;
  if (in->rank != 4 || bs < 1)
    return ref_bad(p, n, "needs a 4-D input and block_size >= 1");
  View *v = view_new(p, n);
  if (!v)
    return p->cx->status;
  int64_t N = in->dims[0], H = in->dims[1], W = in->dims[2], C = in->dims[3];
  int64_t od[4];
  if (n->op == TFL_DEPTH_TO_SPACE) {
    if (C % ((int64_t)bs * bs) != 0)
      return ref_bad(p, n, "channels %lld not divisible by %d", (long long)C,
                     bs * bs);
    int64_t oc = C / bs / bs;
    int64_t d[6] = {N, H, bs, W, bs, oc};
    int64_t s[6] = {H * W * C, W * C, bs * oc, C, oc, 1};
    memcpy(v->dims, d, sizeof d);
    memcpy(v->ist, s, sizeof s);
    od[0] = N; od[1] = H * bs; od[2] = W * bs; od[3] = oc;
  } else {
    if (H % bs != 0 || W % bs != 0)
      return ref_bad(p, n, "spatial dims not divisible by %d", bs);
    int64_t oh = H / bs, ow = W / bs;
    int64_t d[6] = {N, oh, ow, bs, bs, C};
    int64_t s[6] = {H * W * C, bs * W * C, bs * C, W * C, C, 1};
    memcpy(v->dims, d, sizeof d);
    memcpy(v->ist, s, sizeof s);
    od[0] = N; od[1] = oh; od[2] = ow; od[3] = C * bs * bs;
  }
  v->rank = 6;
  return view_finish(p, op, v, 4, od);
}

/* ---- CONCATENATION / PACK and SPLIT / SPLIT_V / UNPACK --------------------- */

/* The big tensor seen as [outer, axis, inner]; the parts are slices of the
 * axis.  part[k] = (offset along axis, extent). */
typedef struct Parts {
  int64_t outer, axis, inner;
  int n;
  int64_t *off, *len;
  size_t es;
  int data;   /* SPLIT: the data input index */
} Parts;

static Status parts_new(RefPrep *p, int k, Parts **out) {
  Parts *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  s->n = k;
  s->off = ref_alloc(p, sizeof(int64_t) * (size_t)(k + 1));
  s->len = ref_alloc(p, sizeof(int64_t) * (size_t)(k + 1));
  if (!s->off || !s->len)
    return p->cx->status;
  *out = s;
  return O2L_OK;
}

/* part shape = big shape with dim axis = len (PACK/UNPACK: removed). */
static Status part_check(RefPrep *p, const Node *n, const Value *big,
                         const Value *part, int axis, int64_t len, bool drop) {
  int64_t want[O2L_MAX_RANK];
  int r = 0;
  for (int i = 0; i < big->rank; i++) {
    if (i == axis && drop)
      continue;
    want[r++] = i == axis ? len : big->dims[i];
  }
  return ref_need_shape(p, n, part, "operand", r, want);
}

Status ref_concat_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 1, INT_MAX, 1));
  TRY(ref_need_out(p, n, 0, DT_UNDEF));
  const Value *big = n->out[0];
  if (dtype_size(big->dtype) == 0)
    return ref_bad(p, n, "tensors of type %s", dtype_name(big->dtype));
  bool pack = n->op == TFL_PACK;
  int axis = 0;
  TRY(ref_axis(p, n, n->opt.axis, big->rank, &axis));
  Parts *s = NULL;
  TRY(parts_new(p, n->nin, &s));
  s->axis = ref_frame_axis(big, axis, &s->outer, &s->inner);
  s->es = dtype_size(big->dtype);
  /* LiteRT's CONCATENATION refuses a fused activation (concatenation.cc;
   * only the XNNPACK delegate accepts it, and ignores it). */
  if (!pack && n->opt.act != TFL_ACT_NONE)
    return ref_bad(p, n, "fused activation %d: LiteRT refuses it", n->opt.act);
  int64_t off = 0;
  for (int k = 0; k < n->nin; k++) {
    TRY(ref_need_in(p, n, k, big->dtype));
    const Value *v = n->in[k];
    int64_t len = pack ? 1 : (v->rank == big->rank ? v->dims[axis] : -1);
    if (len < 0)
      return ref_bad(p, n, "input %d has rank %d, output %d", k, v->rank,
                     big->rank);
    TRY(part_check(p, n, big, v, axis, len, pack));
    s->off[k] = off;
    s->len[k] = len;
    off += len;
  }
  if (off != s->axis)
    return ref_bad(p, n, "inputs cover %lld of the output axis %lld",
                   (long long)off, (long long)s->axis);
  op->state = s;
  return O2L_OK;
}

Status ref_concat_any(RefEval *e, const RefOp *op) {
  (void)e;
  const Parts *s = op->state;
  unsigned char *out = op->out[0];
  size_t row = (size_t)(s->axis * s->inner) * s->es;
  for (int k = 0; k < s->n; k++) {
    size_t chunk = (size_t)(s->len[k] * s->inner) * s->es;
    const unsigned char *in = op->in[k];
    unsigned char *o = out + (size_t)(s->off[k] * s->inner) * s->es;
    for (int64_t r = 0; r < s->outer; r++)
      memcpy(o + (size_t)r * row, in + (size_t)r * chunk, chunk);
  }
  return O2L_OK;
}

Status ref_split_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  int data = n->op == TFL_SPLIT ? 1 : 0;
  TRY(ref_need_count(p, n, n->op == TFL_SPLIT_V ? 3 : data + 1,
                     n->op == TFL_SPLIT_V ? 3 : data + 1, -1));
  TRY(ref_need_in(p, n, data, DT_UNDEF));
  const Value *big = n->in[data];
  if (dtype_size(big->dtype) == 0)
    return ref_bad(p, n, "tensors of type %s", dtype_name(big->dtype));
  for (int i = 0; i < n->nout; i++)
    TRY(ref_need_out(p, n, i, big->dtype));
  int axis = 0;
  if (n->op == TFL_UNPACK)
    TRY(ref_axis(p, n, n->opt.axis, big->rank, &axis));
  else
    TRY(ref_const_axis(p, n, n->op == TFL_SPLIT ? 0 : 2, big->rank, &axis));
  Parts *s = NULL;
  TRY(parts_new(p, n->nout, &s));
  s->axis = ref_frame_axis(big, axis, &s->outer, &s->inner);
  s->es = dtype_size(big->dtype);
  s->data = data;
  int64_t sizes[1024];
  if (n->op == TFL_SPLIT_V) {
    int ns = 0;
    if (n->nout > 1024)
      return ref_bad(p, n, "too many outputs");
    TRY(ref_const_ints(p, n, 1, sizes, 1024, &ns));
    if (ns != n->nout)
      return ref_bad(p, n, "%d size_splits for %d outputs", ns, n->nout);
    int64_t known = 0;
    int neg = -1;
    for (int k = 0; k < ns; k++) {
      if (sizes[k] == -1 && neg < 0)
        neg = k;
      else if (sizes[k] < 0)
        return ref_bad(p, n, "bad size_splits");
      else
        known += sizes[k];
    }
    if (neg >= 0)
      sizes[neg] = s->axis - known;
  }
  int64_t off = 0;
  for (int k = 0; k < n->nout; k++) {
    int64_t len;
    if (n->op == TFL_UNPACK)
      len = 1;
    else if (n->op == TFL_SPLIT)
      len = n->nout > 0 && s->axis % n->nout == 0 ? s->axis / n->nout : -1;
    else
      len = sizes[k];
    if (len < 0)
      return ref_bad(p, n, "axis of %lld does not split into %d parts",
                     (long long)s->axis, n->nout);
    TRY(part_check(p, n, big, n->out[k], axis, len, n->op == TFL_UNPACK));
    s->off[k] = off;
    s->len[k] = len;
    off += len;
  }
  if (off != s->axis)
    return ref_bad(p, n, "outputs cover %lld of the axis %lld",
                   (long long)off, (long long)s->axis);
  op->state = s;
  return O2L_OK;
}

Status ref_split_any(RefEval *e, const RefOp *op) {
  (void)e;
  const Parts *s = op->state;
  const unsigned char *in = op->in[s->data];
  size_t row = (size_t)(s->axis * s->inner) * s->es;
  for (int k = 0; k < s->n; k++) {
    size_t chunk = (size_t)(s->len[k] * s->inner) * s->es;
    unsigned char *o = op->out[k];
    const unsigned char *src = in + (size_t)(s->off[k] * s->inner) * s->es;
    for (int64_t r = 0; r < s->outer; r++)
      memcpy(o + (size_t)r * chunk, src + (size_t)r * row, chunk);
  }
  return O2L_OK;
}

/* ---- GATHER ------------------------------------------------------------ */

typedef struct GatherState {
  int64_t batch, outer, axis, inner, coords;
  size_t es;
} GatherState;

Status ref_gather_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 2, 1));
  TRY(need_same_type(p, n));
  TRY(ref_need_in(p, n, 1, DT_UNDEF));
  const Value *x = n->in[0], *idx = n->in[1];
  if (idx->dtype != DT_I32 && idx->dtype != DT_I64)
    return ref_bad(p, n, "indices are %s, expected int32 or int64",
                   dtype_name(idx->dtype));
  int axis, bd = n->opt.batch_dims;
  TRY(ref_axis(p, n, n->opt.axis, x->rank, &axis));
  if (bd < 0)
    bd += idx->rank;
  if (bd < 0 || bd > axis || bd > idx->rank)
    return ref_bad(p, n, "batch_dims %d invalid for axis %d", n->opt.batch_dims,
                   axis);
  GatherState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  int64_t want[2 * O2L_MAX_RANK];
  int r = 0;
  s->batch = s->outer = s->inner = s->coords = 1;
  for (int i = 0; i < bd; i++) {
    if (x->dims[i] != idx->dims[i])
      return ref_bad(p, n, "batch dim %d differs between params and indices", i);
    s->batch *= x->dims[i];
  }
  for (int i = 0; i < axis; i++)
    want[r++] = x->dims[i];
  for (int i = bd; i < axis; i++)
    s->outer *= x->dims[i];
  for (int i = bd; i < idx->rank; i++) {
    want[r++] = idx->dims[i];
    s->coords *= idx->dims[i];
  }
  for (int i = axis + 1; i < x->rank; i++) {
    want[r++] = x->dims[i];
    s->inner *= x->dims[i];
  }
  s->axis = x->dims[axis];
  s->es = dtype_size(x->dtype);
  if (r > O2L_MAX_RANK)
    return ref_bad(p, n, "output rank %d too large", r);
  TRY(ref_need_shape(p, n, n->out[0], "output", r, want));
  op->state = s;
  return O2L_OK;
}

Status ref_gather_any(RefEval *e, const RefOp *op) {
  const GatherState *s = op->state;
  const Node *n = op->node;
  const unsigned char *x = op->in[0];
  unsigned char *out = op->out[0];
  DType it = n->in[1]->dtype;
  size_t chunk = (size_t)s->inner * s->es;
  for (int64_t b = 0; b < s->batch; b++)
    for (int64_t o = 0; o < s->outer; o++)
      for (int64_t i = 0; i < s->coords; i++) {
        int64_t k = it == DT_I32
                        ? ((const int32_t *)op->in[1])[b * s->coords + i]
                        : ((const int64_t *)op->in[1])[b * s->coords + i];
        if (k < 0 || k >= s->axis)
          return ctx_err(e->cx, O2L_ERR_INVALID,
                         "%s: index %lld out of range [0, %lld)",
                         ref_op_desc(n), (long long)k, (long long)s->axis);
        int64_t row = (b * s->outer + o);
        memcpy(out + (size_t)((row * s->coords + i) * s->inner) * s->es,
               x + (size_t)((row * s->axis + k) * s->inner) * s->es, chunk);
      }
  return O2L_OK;
}

/* ---- PAD / PADV2 / MIRROR_PAD ---------------------------------------------- */

typedef struct PadState {
  int rank;
  int64_t idims[O2L_MAX_RANK], odims[O2L_MAX_RANK];
  int64_t ist[O2L_MAX_RANK], ost[O2L_MAX_RANK];
  int64_t before[O2L_MAX_RANK];
  int64_t *map[O2L_MAX_RANK]; /* MIRROR_PAD: input index of each output index */
  size_t es;
  int64_t onumel;
  /* PAD/PADV2 rows: dims after the last padded one form one contiguous
   * unit of `unit` elements; rows run over dims [0, prank). */
  int prank;
  int64_t unit;
} PadState;

Status ref_pad_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  bool v2 = n->op == TFL_PADV2, mirror = n->op == TFL_MIRROR_PAD;
  TRY(ref_need_count(p, n, 2, v2 ? 3 : 2, 1));
  TRY(need_same_type(p, n));
  const Value *in = n->in[0];
  if (v2 && n->nin > 2 && n->in[2]) {
    TRY(ref_need_in(p, n, 2, in->dtype));
    if (ref_numel(n->in[2]) != 1)
      return ref_bad(p, n, "constant_values must be one value");
  }
  int64_t pads[2 * O2L_MAX_RANK];
  int cnt = 0;
  TRY(ref_const_ints(p, n, 1, pads, 2 * O2L_MAX_RANK, &cnt));
  int64_t pshape[2] = {in->rank, 2}; /* LiteRT wants exactly [rank, 2] */
  TRY(ref_need_shape(p, n, n->in[1], "paddings", 2, pshape));
  PadState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  s->rank = in->rank;
  s->es = dtype_size(in->dtype);
  for (int i = 0; i < in->rank; i++) {
    int64_t b = pads[2 * i], a = pads[2 * i + 1], d = in->dims[i];
    if (b < 0 || a < 0)
      return ref_bad(p, n, "negative padding on dim %d", i);
    if (mirror) {
      int64_t lim = n->opt.mirror_mode == TFL_MIRROR_REFLECT ? d - 1 : d;
      if (b > lim || a > lim || d == 0)
        return ref_bad(p, n, "padding of dim %d exceeds what %s mirrors", i,
                       n->opt.mirror_mode == TFL_MIRROR_REFLECT ? "REFLECT"
                                                                : "SYMMETRIC");
    }
    s->idims[i] = d;
    s->odims[i] = d + b + a;
    s->before[i] = b;
  }
  TRY(ref_need_shape(p, n, n->out[0], "output", s->rank, s->odims));
  ref_strides(s->rank, s->idims, s->ist);
  ref_strides(s->rank, s->odims, s->ost);
  s->onumel = ref_numel(n->out[0]);
  s->prank = 0;
  s->unit = 1;
  for (int i = 0; i < s->rank; i++)
    if (s->odims[i] != s->idims[i])
      s->prank = i + 1;
  for (int i = s->prank; i < s->rank; i++)
    s->unit *= s->idims[i];
  if (mirror) {
    bool reflect = n->opt.mirror_mode == TFL_MIRROR_REFLECT;
    if (n->opt.mirror_mode != TFL_MIRROR_REFLECT &&
        n->opt.mirror_mode != TFL_MIRROR_SYMMETRIC)
      return ref_bad(p, n, "mirror mode %d unknown", n->opt.mirror_mode);
    for (int i = 0; i < s->rank; i++) {
      int64_t d = s->idims[i];
      s->map[i] = ref_alloc(p, sizeof(int64_t) * (size_t)(s->odims[i] + 1));
      if (!s->map[i])
        return p->cx->status;
      for (int64_t o = 0; o < s->odims[i]; o++) {
        int64_t k = o - s->before[i];
        if (k < 0)
          k = reflect ? -k : -k - 1;
        else if (k >= d)
          k = reflect ? 2 * d - 2 - k : 2 * d - 1 - k;
        s->map[i][o] = k;
      }
    }
  }
  op->state = s;
  return O2L_OK;
}

static void mirror_copy(const PadState *s, unsigned char *out,
                        const unsigned char *in) {
  int r = s->rank;
  if (r == 0) {
    memcpy(out, in, s->es);
    return;
  }
  int64_t idx[O2L_MAX_RANK] = {0};
  int64_t last = s->odims[r - 1];
  int64_t rows = s->onumel / (last > 0 ? last : 1);
  if (last == 0)
    return;
  for (int64_t row = 0; row < rows; row++) {
    int64_t ioff = 0;
    for (int i = 0; i < r - 1; i++)
      ioff += s->map[i][idx[i]] * s->ist[i];
    unsigned char *o = out + (size_t)(row * last) * s->es;
    for (int64_t j = 0; j < last; j++)
      memcpy(o + (size_t)j * s->es,
             in + (size_t)(ioff + s->map[r - 1][j]) * s->es, s->es);
    for (int i = r - 2; i >= 0; i--) {
      if (++idx[i] < s->odims[i])
        break;
      idx[i] = 0;
    }
  }
}

static void fill(unsigned char *dst, const unsigned char *val, size_t es,
                 int64_t n, bool zero) {
  if (zero) {
    memset(dst, 0, (size_t)n * es);
    return;
  }
  for (int64_t i = 0; i < n; i++)
    memcpy(dst + (size_t)i * es, val, es);
}

/* Output row by row (see PadState): rows outside the input are all
 * padding, the others are padding, one input row, padding. */
Status ref_pad_any(RefEval *e, const RefOp *op) {
  (void)e;
  const PadState *s = op->state;
  const Node *n = op->node;
  unsigned char *out = op->out[0];
  const unsigned char *in = op->in[0];
  if (n->op == TFL_MIRROR_PAD) {
    mirror_copy(s, out, in);
    return O2L_OK;
  }
  unsigned char val[16] = {0};
  if (n->op == TFL_PADV2 && n->nin > 2 && n->in[2])
    memcpy(val, op->in[2], s->es);
  bool zero = true;
  for (size_t i = 0; i < s->es; i++)
    zero = zero && val[i] == 0;
  if (s->prank == 0) {
    memcpy(out, in, (size_t)s->onumel * s->es);
    return O2L_OK;
  }
  int last = s->prank - 1;
  size_t ub = (size_t)s->unit * s->es;
  int64_t orow = s->odims[last], irow = s->idims[last], bef = s->before[last];
  int64_t rows = 1;
  for (int i = 0; i < last; i++)
    rows *= s->odims[i];
  int64_t idx[O2L_MAX_RANK] = {0};
  for (int64_t r = 0; r < rows; r++) {
    unsigned char *o = out + (size_t)(r * orow) * ub;
    bool inside = true;
    int64_t ioff = 0; /* input row index, in rows of irow units */
    for (int i = 0; i < last; i++) {
      int64_t k = idx[i] - s->before[i];
      inside = inside && k >= 0 && k < s->idims[i];
      ioff = ioff * s->idims[i] + k;
    }
    if (!inside) {
      fill(o, val, s->es, orow * s->unit, zero);
    } else {
      fill(o, val, s->es, bef * s->unit, zero);
      memcpy(o + (size_t)bef * ub, in + (size_t)(ioff * irow) * ub,
             (size_t)irow * ub);
      fill(o + (size_t)(bef + irow) * ub, val, s->es,
           (orow - bef - irow) * s->unit, zero);
    }
    for (int i = last - 1; i >= 0; i--) {
      if (++idx[i] < s->odims[i])
        break;
      idx[i] = 0;
    }
  }
  return O2L_OK;
}

/* ---- CAST / DEQUANTIZE ------------------------------------------------------ */

Status ref_cast_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 1, 1, 1));
  TRY(ref_need_in(p, n, 0, DT_UNDEF));
  TRY(ref_need_out(p, n, 0, DT_UNDEF));
  DType a = n->in[0]->dtype, b = n->out[0]->dtype;
  if (dtype_size(a) == 0 || dtype_size(b) == 0)
    return ref_bad(p, n, "cast %s -> %s", dtype_name(a), dtype_name(b));
  return ref_need_same_shape(p, n, n->in[0], n->out[0]);
}

Status ref_cast_any(RefEval *e, const RefOp *op) {
  (void)e;
  const Node *n = op->node;
  DType a = n->in[0]->dtype, b = n->out[0]->dtype;
  size_t cnt = (size_t)ref_numel(n->in[0]);
  if (a == b) {
    memcpy(op->out[0], op->in[0], cnt * dtype_size(a));
  } else if (dtype_is_int(a) && dtype_is_int(b) && a != DT_U64 && b != DT_U64) {
    /* Integer to integer wraps like a C cast (static_cast in TFLite). */
    for (size_t i = 0; i < cnt; i++) {
      int64_t v = load_as_i64(op->in[0], a, i);
      switch (b) {
      case DT_I8: ((int8_t *)op->out[0])[i] = (int8_t)v; break;
      case DT_U8: ((uint8_t *)op->out[0])[i] = (uint8_t)v; break;
      case DT_I16: ((int16_t *)op->out[0])[i] = (int16_t)v; break;
      case DT_U16: ((uint16_t *)op->out[0])[i] = (uint16_t)v; break;
      case DT_I32: ((int32_t *)op->out[0])[i] = (int32_t)v; break;
      case DT_U32: ((uint32_t *)op->out[0])[i] = (uint32_t)v; break;
      default: ((int64_t *)op->out[0])[i] = v; break;
      }
    }
  } else {
    for (size_t i = 0; i < cnt; i++)
      store_from_f64(op->out[0], b, i, load_as_f64(op->in[0], a, i));
  }
  return O2L_OK;
}

typedef struct DequantState {
  int64_t outer, axis, inner; /* the quantized axis framed as in Parts */
} DequantState;

Status ref_dequantize_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 1, 1, 1));
  TRY(ref_need_in(p, n, 0, DT_UNDEF));
  TRY(ref_need_out(p, n, 0, DT_F32));
  TRY(ref_need_same_shape(p, n, n->in[0], n->out[0]));
  const Value *in = n->in[0];
  DequantState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  s->outer = s->inner = 1;
  s->axis = 1;
  if (in->dtype == DT_F16) {
    op->state = s;
    return O2L_OK;
  }
  if (in->dtype != DT_I8 && in->dtype != DT_U8 && in->dtype != DT_I16 &&
      in->dtype != DT_I32)
    return ref_bad(p, n, "cannot dequantize %s", dtype_name(in->dtype));
  const Quant *q = in->quant;
  if (!q || q->n < 1 || !q->scale || !q->zp)
    return ref_bad(p, n, "input '%s' has no quantization parameters",
                   in->name);
  if (q->n > 1) {
    if (q->axis < 0 || q->axis >= in->rank || in->dims[q->axis] != q->n)
      return ref_bad(p, n, "%d scales do not match axis %d", q->n, q->axis);
    s->axis = ref_frame_axis(in, q->axis, &s->outer, &s->inner);
  } else {
    s->inner = ref_numel(in);
  }
  op->state = s;
  return O2L_OK;
}

Status ref_dequantize_any(RefEval *e, const RefOp *op) {
  (void)e;
  const DequantState *s = op->state;
  const Value *in = op->node->in[0];
  float *out = op->out[0];
  if (in->dtype == DT_F16) {
    size_t cnt = (size_t)ref_numel(in);
    const uint16_t *h = op->in[0];
    for (size_t i = 0; i < cnt; i++)
      out[i] = f16_to_f32(h[i]);
    return O2L_OK;
  }
  const Quant *q = in->quant;
  size_t i = 0;
  for (int64_t o = 0; o < s->outer; o++)
    for (int64_t a = 0; a < s->axis; a++) {
      float scale = q->scale[a];
      int64_t zp = q->zp[a];
      for (int64_t k = 0; k < s->inner; k++, i++)
        out[i] = scale * (float)(load_as_i64(op->in[0], in->dtype, i) - zp);
    }
  return O2L_OK;
}
