/* lower_shape.c - lowering of the operators that move or reinterpret data
 * (Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice,
 * Gather, Pad, Expand, Tile, Cast, Identity, Dropout).
 *
 * None of these cares which order its data is stored in, as long as its
 * axis parameters are expressed in that order.  So each one takes its input
 * in the axis order it already has (physical axis j holds logical axis
 * perm[j]), rewrites the ONNX axes, pads, sizes... into physical positions,
 * and records its output in the matching order.  Reshapes and transposes
 * move no data at all: they only change the Layout the driver keeps for the
 * value, and a TRANSPOSE or RESHAPE appears later, only when some consumer
 * needs particular axes.  Data stored in no axis order (a reshape of a
 * transposed tensor, e.g. ShuffleNet's channel shuffle) is converted once,
 * to channels-last for feature maps (what the convolutions around it use)
 * or to plain order.
 */
#include <string.h>

#include "lower/lower.h"
#include "ops/opattr.h"

/* ---- helpers shared by the operators of this file ------------------------ */

/* Physical position of logical axis `axis` under perm. */
static int phys_axis(int rank, const int *perm, int axis) {
  for (int j = 0; j < rank; j++)
    if (perm[j] == axis)
      return j;
  return -1;
}

/* TFLite tensor for ONNX output v of the current node (named after v). */
static Value *out_tensor(Lower *lw, Node *n, Value *v, DType t, int rank,
                         const int64_t *dims) {
  if (v == n->out[0])
    return lw_tensor(lw, NULL, t, rank, dims);
  return graph_add_value(lw->cx, lw->dst, v->name, t, rank, dims);
}

static void to_i32(int n, const int64_t *in, int32_t *out) {
  for (int i = 0; i < n; i++)
    out[i] = (int32_t)in[i];
}

static Value *i32_scalar(Lower *lw, const char *suffix, int32_t v) {
  return lw_const(lw, suffix, DT_I32, 0, NULL, &v);
}

/* Scalar constant holding v in type t. */
static Value *scalar_of(Lower *lw, const char *suffix, DType t, double v) {
  unsigned char buf[16] = {0};
  store_from_f64(buf, t, 0, v);
  return lw_const(lw, suffix, t, 0, NULL, buf);
}

/* SLICE of t (physical rank r) into tensor `out` (NULL: a helper named
 * after the node plus suffix). */
static Value *emit_slice(Lower *lw, Value *t, Value *out, const char *suffix,
                         int r, const int64_t *begin, const int64_t *size) {
  int32_t b[O2L_MAX_RANK], s[O2L_MAX_RANK];
  to_i32(r, begin, b);
  to_i32(r, size, s);
  if (!out)
    out = lw_tensor(lw, suffix, t->dtype, r, size);
  Value *bc = lw_const_i32(lw, "begin", r, b);
  Value *sc = lw_const_i32(lw, "size", r, s);
  if (!bc || !sc)
    return NULL;
  Value *in[3] = {t, bc, sc};
  return lw_op(lw, TFL_SLICE, 3, in, 1, &out) ? out : NULL;
}

static int64_t numel(int rank, const int64_t *dims) {
  int64_t k = 1;
  for (int i = 0; i < rank; i++)
    k *= dims[i];
  return k;
}

/* An empty result is a constant with no elements: no operator makes it,
 * and Concat skips it (RotaryEmbedding's split with nothing left over). */
static Status set_empty(Lower *lw, Value *v) {
  Value *t = lw_const(lw, arena_printf(lw->cx->arena, "%s/empty", v->name),
                      v->dtype, v->rank, v->dims, NULL);
  if (!t)
    return lw->cx->status ? lw->cx->status : ctx_oom(lw->cx, "an empty result");
  lw_set_perm(lw, v, t, NULL);
  return O2L_OK;
}

/* ---- reshapes: no operator ------------------------------------------------ */

Status reshape_lower(Lower *lw, Node *n) {
  lw_alias(lw, n->out[0], n->in[0]);
  return O2L_OK;
}

/* Dropout's mask at inference: every element kept. */
static Status dropout_mask(Lower *lw, Value *m) {
  int64_t k = value_numel(m);
  size_t es = dtype_size(m->dtype);
  if (k < 0 || es == 0 || k > OP_FOLD_MAX_ELEMS)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "the mask output '%s' (%s) is "
                  "used", m->name, dtype_name(m->dtype));
  void *d = arena_alloc(lw->cx->arena, (size_t)k * es + 1, 16);
  if (!d)
    return ctx_oom(lw->cx, "the dropout mask");
  for (int64_t i = 0; i < k; i++)
    store_from_f64(d, m->dtype, (size_t)i, 1.0);
  Value *t = lw_const(lw, "mask", m->dtype, m->rank, m->dims, d);
  if (!t)
    return lw->cx->status;
  lw_set_perm(lw, m, t, NULL);
  return O2L_OK;
}

Status identity_lower(Lower *lw, Node *n) {
  for (int j = 1; j < n->nout; j++)
    if (n->out[j] && (n->out[j]->nuses || n->out[j]->is_output))
      TRY(dropout_mask(lw, n->out[j]));
  lw_alias(lw, n->out[0], n->in[0]);
  return O2L_OK;
}

/* ---- Transpose: a new Layout for the same data ----------------------------- */

Status transpose_lower(Lower *lw, Node *n) {
  TransposeParams p;
  TRY(transpose_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  if (value_is_const(x)) {
    Value *t = lw_in_perm(lw, x, p.perm, 0, NULL, NULL);
    if (!t)
      return lw->cx->status;
    lw_set_perm(lw, y, t, NULL);
    return O2L_OK;
  }
  Layout Y;
  if (layout_transpose(lw_layout(lw, x), p.rank, x->dims, p.perm, &Y)) {
    Value *t = lw_in_asis(lw, x);
    if (!t)
      return lw->cx->status;
    lw_set_layout(lw, y, t, &Y);
    return O2L_OK;
  }
  /* The layout does not split along x's axes: the plain data of x is y
   * stored with the inverse perm. */
  Value *t = lw_in_plain(lw, x, 0, NULL, "Transpose of data in no axis order");
  if (!t)
    return lw->cx->status;
  int inv[O2L_MAX_RANK];
  perm_invert(p.rank, p.perm, inv);
  lw_set_perm(lw, y, t, inv);
  return O2L_OK;
}

/* ---- Concat ---------------------------------------------------------------- */

/* The order of the first computed input stored in a non-plain axis order;
 * channels-last when some input is in no axis order at all; else plain. */
static void concat_perm(Lower *lw, Node *n, int rank, int *perm) {
  bool unordered = false;
  for (int i = 0; i < n->nin; i++) {
    Value *v = n->in[i];
    int p[O2L_MAX_RANK];
    if (!v || value_is_const(v) || numel(v->rank, v->dims) == 0)
      continue;
    if (!lw_perm_of(lw, v, p)) {
      unordered = true;
      continue;
    }
    if (!perm_is_identity(rank, p)) {
      memcpy(perm, p, sizeof(int) * (size_t)rank);
      return;
    }
  }
  if (unordered)
    perm_channels_last(rank, perm);
  else
    perm_identity(rank, perm);
}

Status concat_lower(Lower *lw, Node *n) {
  ConcatParams p;
  TRY(concat_params(lw->cx, lw->src, n, &p));
  Value *y = n->out[0];
  /* Empty inputs add nothing (and TFLite kernels dislike them). */
  Value *ins[64];
  int k = 0;
  for (int i = 0; i < n->nin; i++) {
    Value *v = n->in[i];
    if (!v || numel(v->rank, v->dims) == 0)
      continue;
    if (k == (int)O2L_ARRAY_LEN(ins))
      return lw_err(lw, O2L_ERR_UNSUPPORTED, "more than %d inputs",
                    (int)O2L_ARRAY_LEN(ins));
    ins[k++] = v;
  }
  if (k == 0)
    return set_empty(lw, y);
  if (k == 1) {
    lw_alias(lw, y, ins[0]);
    return O2L_OK;
  }
  int perm[O2L_MAX_RANK];
  concat_perm(lw, n, p.rank, perm);
  Value *tin[64];
  for (int i = 0; i < k; i++) {
    tin[i] = lw_in_perm(lw, ins[i], perm, 0, NULL,
                        "Concat inputs in one axis order");
    if (!tin[i])
      return lw->cx->status;
  }
  int64_t pd[O2L_MAX_RANK];
  perm_apply(p.rank, p.out, perm, pd);
  Value *t = lw_tensor(lw, NULL, tin[0]->dtype, p.rank, pd);
  Node *op = lw_op(lw, TFL_CONCATENATION, k, tin, 1, &t);
  if (!op)
    return lw->cx->status;
  op->opt.axis = phys_axis(p.rank, perm, p.axis);
  lw_set_perm(lw, y, t, perm);
  return O2L_OK;
}

/* ---- Split ----------------------------------------------------------------- */

Status split_lower(Lower *lw, Node *n) {
  SplitParams p;
  TRY(split_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0];
  /* Empty parts are constants; the others are what SPLIT makes. */
  int live = 0, last = 0;
  for (int j = 0; j < p.n; j++) {
    if (p.sizes[j] == 0 && n->out[j])
      TRY(set_empty(lw, n->out[j]));
    else if (p.sizes[j] > 0)
      live++, last = j;
  }
  if (live == 1) {
    lw_alias(lw, n->out[last], x);
    return O2L_OK;
  }
  int perm[O2L_MAX_RANK];
  Value *t = lw_in_own_order(lw, x, perm, "Split needs its input in an axis "
                          "order");
  if (!t)
    return lw->cx->status;
  int r = x->rank, ax = phys_axis(r, perm, p.axis);
  Value **outs = arena_alloc(lw->cx->arena, sizeof(Value *) * (size_t)p.n, 8);
  Value **onnx = arena_alloc(lw->cx->arena, sizeof(Value *) * (size_t)p.n, 8);
  int32_t *sz = arena_alloc(lw->cx->arena, sizeof(int32_t) * (size_t)p.n, 8);
  if (!outs || !onnx || !sz)
    return ctx_oom(lw->cx, "lowering Split");
  bool equal = true;
  int k = 0;
  for (int j = 0; j < p.n; j++) {
    if (p.sizes[j] == 0)
      continue;
    int64_t pd[O2L_MAX_RANK];
    perm_apply(r, x->dims, perm, pd);
    pd[ax] = p.sizes[j];
    sz[k] = (int32_t)p.sizes[j];
    equal = equal && sz[k] == sz[0];
    onnx[k] = n->out[j];
    outs[k] = onnx[k] ? out_tensor(lw, n, onnx[k], t->dtype, r, pd)
                      : lw_tensor(lw, arena_printf(lw->cx->arena, "split%d", j),
                                  t->dtype, r, pd);
    if (!outs[k++])
      return lw->cx->status;
  }
  Value *axis = i32_scalar(lw, "axis", ax);
  Node *op;
  if (equal) { /* SPLIT: the axis comes first */
    Value *in[2] = {axis, t};
    op = lw_op(lw, TFL_SPLIT, 2, in, k, outs);
  } else {
    Value *in[3] = {t, lw_const_i32(lw, "sizes", k, sz), axis};
    op = in[1] ? lw_op(lw, TFL_SPLIT_V, 3, in, k, outs) : NULL;
  }
  if (!op)
    return lw->cx->status;
  op->opt.num_splits = k;
  for (int j = 0; j < k; j++)
    if (onnx[j])
      lw_set_perm(lw, onnx[j], outs[j], perm);
  return O2L_OK;
}

/* ---- Slice ----------------------------------------------------------------- */

Status slice_lower(Lower *lw, Node *n) {
  SliceParams p;
  TRY(slice_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  int r = p.rank;
  bool unit = true, whole = true;
  for (int i = 0; i < r; i++) {
    if (p.out[i] == 0)
      return set_empty(lw, y);
    unit = unit && p.step[i] == 1;
    whole = whole && p.step[i] == 1 && p.out[i] == x->dims[i];
  }
  if (whole) {
    lw_alias(lw, y, x);
    return O2L_OK;
  }
  int perm[O2L_MAX_RANK];
  Value *t = lw_in_own_order(lw, x, perm, "Slice needs its input in an axis "
                          "order");
  if (!t)
    return lw->cx->status;
  int64_t begin[O2L_MAX_RANK], size[O2L_MAX_RANK];
  for (int j = 0; j < r; j++) {
    begin[j] = p.start[perm[j]];
    size[j] = p.out[perm[j]];
  }
  Value *o = lw_tensor(lw, NULL, t->dtype, r, size);
  if (!o)
    return lw->cx->status;
  if (unit) {
    if (!emit_slice(lw, t, o, NULL, r, begin, size))
      return lw->cx->status;
  } else {
    int32_t b[O2L_MAX_RANK], e[O2L_MAX_RANK], s[O2L_MAX_RANK];
    int end_mask = 0;
    for (int j = 0; j < r; j++) {
      int a = perm[j];
      b[j] = (int32_t)p.start[a];
      e[j] = (int32_t)p.end[a];
      s[j] = (int32_t)p.step[a];
      /* A clamped end of -1 (reverse slice down to element 0) would read
       * as "the last element" in TFLite: the mask says "to the end". */
      if (p.step[a] < 0 && p.end[a] < 0) {
        end_mask |= 1 << j;
        e[j] = 0;
      }
    }
    Value *in[4] = {t, lw_const_i32(lw, "begin", r, b),
                    lw_const_i32(lw, "end", r, e),
                    lw_const_i32(lw, "strides", r, s)};
    if (!in[1] || !in[2] || !in[3])
      return lw->cx->status;
    Node *op = lw_op(lw, TFL_STRIDED_SLICE, 4, in, 1, &o);
    if (!op)
      return lw->cx->status;
    op->opt.end_mask = end_mask;
  }
  lw_set_perm(lw, y, o, perm);
  return O2L_OK;
}

/* ---- Gather ---------------------------------------------------------------- */

/* Constant indices that are consecutive and increasing (after negative ones
 * are made positive): *first gets the first one. */
static bool consecutive_indices(Value *idx, int64_t dim, int64_t *first) {
  int64_t k = value_numel(idx);
  if (!value_is_const(idx) || k <= 0 ||
      (size_t)k * dtype_size(idx->dtype) > idx->nbytes)
    return false;
  for (int64_t i = 0; i < k; i++) {
    int64_t v = load_as_i64(idx->data, idx->dtype, (size_t)i);
    if (v < 0)
      v += dim;
    if (i == 0)
      *first = v;
    else if (v != *first + i)
      return false;
  }
  return *first >= 0 && *first + k <= dim;
}

/* Indices as TFLite reads them, with negative entries made positive
 * (TFLite rejects them): constants converted to int32, computed ones
 * through FLOOR_MOD by the axis size (i in [-dim, dim) -> [0, dim)). */
static Value *gather_indices(Lower *lw, Value *idx, int64_t dim) {
  if (!value_is_const(idx)) {
    Value *t = lw_in_plain(lw, idx, 0, NULL, "Gather indices in ONNX order");
    Value *d = t ? scalar_of(lw, "dim", t->dtype, (double)dim) : NULL;
    Value *o = d ? lw_tensor(lw, "indices", t->dtype, t->rank, t->dims) : NULL;
    Value *in[2] = {t, d};
    return o && lw_op(lw, TFL_FLOOR_MOD, 2, in, 1, &o) ? o : NULL;
  }
  int64_t k = value_numel(idx);
  int32_t *d = arena_alloc(lw->cx->arena, sizeof(int32_t) * (size_t)(k + 1), 8);
  if (!d) {
    ctx_oom(lw->cx, "converting Gather indices");
    return NULL;
  }
  for (int64_t i = 0; i < k; i++) {
    int64_t v = load_as_i64(idx->data, idx->dtype, (size_t)i);
    d[i] = (int32_t)(v < 0 ? v + dim : v);
  }
  return lw_const(lw, "indices", DT_I32, idx->rank, idx->dims, d);
}

Status gather_lower(Lower *lw, Node *n) {
  GatherParams p;
  TRY(gather_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *idx = n->in[1], *y = n->out[0];
  int r = x->rank, q = idx->rank;
  if (numel(p.out_rank, p.out) == 0)
    return set_empty(lw, y);
  int perm[O2L_MAX_RANK];
  Value *t = lw_in_own_order(lw, x, perm, "Gather needs its input in an axis "
                          "order");
  if (!t)
    return lw->cx->status;
  int ax = phys_axis(r, perm, p.axis);
  /* y stores x's axes in x's order, the gathered one replaced in place by
   * the indices' axes. */
  int operm[O2L_MAX_RANK], k = 0;
  for (int j = 0; j < r; j++) {
    if (perm[j] < p.axis)
      operm[k++] = perm[j];
    else if (perm[j] == p.axis)
      for (int i = 0; i < q; i++)
        operm[k++] = p.axis + i;
    else
      operm[k++] = perm[j] + q - 1;
  }
  int64_t pd[O2L_MAX_RANK];
  perm_apply(r, x->dims, perm, pd);
  int64_t first;
  Value *o;
  if (consecutive_indices(idx, x->dims[p.axis], &first)) {
    /* A run of indices is a SLICE; the result's size-1 or merged axes
     * need no reshape (the data order is the same). */
    int64_t begin[O2L_MAX_RANK] = {0};
    begin[ax] = first;
    pd[ax] = value_numel(idx);
    o = lw_tensor(lw, NULL, t->dtype, r, pd);
    if (!o || !emit_slice(lw, t, o, NULL, r, begin, pd))
      return lw->cx->status;
  } else {
    Value *it = gather_indices(lw, idx, x->dims[p.axis]);
    if (!it)
      return lw->cx->status;
    int64_t od[O2L_MAX_RANK];
    perm_apply(p.out_rank, p.out, operm, od);
    o = lw_tensor(lw, NULL, t->dtype, p.out_rank, od);
    Value *in[2] = {t, it};
    Node *op = o ? lw_op(lw, TFL_GATHER, 2, in, 1, &o) : NULL;
    if (!op)
      return lw->cx->status;
    op->opt.axis = ax;
  }
  lw_set_perm(lw, y, o, operm);
  return O2L_OK;
}

/* ---- Pad ------------------------------------------------------------------- */

/* PAD, PADV2 (a value other than 0) or MIRROR_PAD of t, stored with perm,
 * by the positive pads of p; the padded tensor, or NULL. */
static Value *emit_pad_op(Lower *lw, Node *n, const PadParams *p, Value *t,
                          const int *perm) {
  int r = p->rank;
  int32_t pads[2 * O2L_MAX_RANK];
  for (int j = 0; j < r; j++) {
    int a = perm[j];
    pads[2 * j] = (int32_t)(p->begin[a] > 0 ? p->begin[a] : 0);
    pads[2 * j + 1] = (int32_t)(p->end[a] > 0 ? p->end[a] : 0);
  }
  int64_t pdims[2] = {r, 2}, od[O2L_MAX_RANK];
  perm_apply(r, p->out, perm, od);
  Value *pc = lw_const(lw, "paddings", DT_I32, 2, pdims, pads);
  Value *o = lw_tensor(lw, NULL, t->dtype, r, od);
  if (!pc || !o)
    return NULL;
  Value *in[3] = {t, pc, NULL};
  Node *op;
  if (p->mode == PAD_CONSTANT && !p->value_runtime && p->value == 0) {
    op = lw_op(lw, TFL_PAD, 2, in, 1, &o);
  } else if (p->mode == PAD_CONSTANT) {
    if (p->value_runtime) {
      Value *cv = lw_in_asis(lw, n->in[2]);
      in[2] = cv ? lw_reshape(lw, cv, 0, NULL, "value") : NULL;
    } else {
      in[2] = scalar_of(lw, "value", t->dtype, p->value);
    }
    if (!in[2])
      return NULL;
    op = lw_op(lw, TFL_PADV2, 3, in, 1, &o);
  } else {
    op = lw_op(lw, TFL_MIRROR_PAD, 2, in, 1, &o);
    if (op)
      op->opt.mirror_mode = p->mode == PAD_REFLECT ? TFL_MIRROR_REFLECT
                                                   : TFL_MIRROR_SYMMETRIC;
  }
  return op ? o : NULL;
}

Status pad_lower(Lower *lw, Node *n) {
  PadParams p;
  TRY(pad_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  int r = p.rank;
  if (p.mode == PAD_WRAP)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "mode 'wrap' has no TFLite "
                  "equivalent");
  bool crop = false, pad = false;
  int64_t maxpad = 0;
  for (int i = 0; i < r; i++) {
    crop = crop || p.begin[i] < 0 || p.end[i] < 0;
    pad = pad || p.begin[i] > 0 || p.end[i] > 0;
    if (p.begin[i] > maxpad)
      maxpad = p.begin[i];
    if (p.end[i] > maxpad)
      maxpad = p.end[i];
  }
  if (numel(r, p.out) == 0)
    return set_empty(lw, y);
  if (p.mode == PAD_EDGE && maxpad > 1)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "mode 'edge' with a padding of "
                  "%lld: TFLite's MIRROR_PAD SYMMETRIC repeats the edge only "
                  "for a padding of 1", (long long)maxpad);
  if (!crop && !pad) {
    lw_alias(lw, y, x);
    return O2L_OK;
  }
  int perm[O2L_MAX_RANK];
  Value *t = lw_in_own_order(lw, x, perm,
                             "Pad needs its input in an axis order");
  if (!t)
    return lw->cx->status;
  int64_t pd[O2L_MAX_RANK];
  perm_apply(r, x->dims, perm, pd);
  if (crop) { /* negative pads remove elements first */
    int64_t begin[O2L_MAX_RANK];
    for (int j = 0; j < r; j++) {
      int a = perm[j];
      begin[j] = p.begin[a] < 0 ? -p.begin[a] : 0;
      pd[j] -= begin[j] + (p.end[a] < 0 ? -p.end[a] : 0);
      if (p.mode == PAD_REFLECT && (p.begin[a] >= pd[j] || p.end[a] >= pd[j]))
        return lw_err(lw, O2L_ERR_UNSUPPORTED, "mode 'reflect' pads axis %d "
                      "by more than what is left after its negative pad", a);
    }
    int64_t od[O2L_MAX_RANK];
    perm_apply(r, p.out, perm, od);
    Value *o = pad ? NULL : lw_tensor(lw, NULL, t->dtype, r, od);
    t = emit_slice(lw, t, o, pad ? "crop" : NULL, r, begin, pd);
    if (!t)
      return lw->cx->status;
    if (!pad) {
      lw_set_perm(lw, y, t, perm);
      return O2L_OK;
    }
  }
  Value *o = emit_pad_op(lw, n, &p, t, perm);
  if (!o)
    return lw->cx->status;
  lw_set_perm(lw, y, o, perm);
  return O2L_OK;
}

/* ---- Expand, Tile ------------------------------------------------------------ */

Status expand_lower(Lower *lw, Node *n) {
  Value *x = n->in[0], *y = n->out[0];
  int R = y->rank, off = R - x->rank;
  if (off < 0)
    return lw_err(lw, O2L_ERR_INTERNAL, "output rank %d is below the input "
                  "rank %d", R, x->rank);
  if (value_same_shape(x, y)) {
    lw_alias(lw, y, x);
    return O2L_OK;
  }
  /* x's own order, its new leading axes outermost. */
  int px[O2L_MAX_RANK], perm[O2L_MAX_RANK];
  if (!lw_perm_of(lw, x, px))
    perm_channels_last(x->rank, px);
  for (int j = 0; j < R; j++)
    perm[j] = j < off ? j : px[j - off] + off;
  Value *t = lw_in_bcast(lw, x, R, perm, "Expand needs its input in an axis "
                         "order");
  if (!t)
    return lw->cx->status;
  int64_t od[O2L_MAX_RANK];
  int32_t shape[O2L_MAX_RANK];
  perm_apply(R, y->dims, perm, od);
  to_i32(R, od, shape);
  Value *sc = lw_const_i32(lw, "shape", R, shape);
  Value *o = lw_tensor(lw, NULL, t->dtype, R, od);
  Value *in[2] = {t, sc};
  if (!sc || !o || !lw_op(lw, TFL_BROADCAST_TO, 2, in, 1, &o))
    return lw->cx->status;
  lw_set_perm(lw, y, o, perm);
  return O2L_OK;
}

Status tile_lower(Lower *lw, Node *n) {
  Value *x = n->in[0], *y = n->out[0];
  const int64_t *rep;
  int cnt;
  TRY(op_const_ints(lw->cx, n, 1, "repeats", &rep, &cnt));
  if (cnt != x->rank)
    return lw_err(lw, O2L_ERR_INVALID, "repeats has %d entries for an input "
                  "of rank %d", cnt, x->rank);
  bool all_one = true;
  for (int i = 0; i < cnt; i++)
    all_one = all_one && rep[i] == 1;
  if (all_one) {
    lw_alias(lw, y, x);
    return O2L_OK;
  }
  int perm[O2L_MAX_RANK];
  Value *t = lw_in_own_order(lw, x, perm,
                             "Tile needs its input in an axis order");
  if (!t)
    return lw->cx->status;
  int r = x->rank;
  int32_t mult[O2L_MAX_RANK];
  int64_t od[O2L_MAX_RANK];
  for (int j = 0; j < r; j++)
    mult[j] = (int32_t)rep[perm[j]];
  perm_apply(r, y->dims, perm, od);
  Value *mc = lw_const_i32(lw, "multiples", r, mult);
  Value *o = lw_tensor(lw, NULL, t->dtype, r, od);
  Value *in[2] = {t, mc};
  if (!mc || !o || !lw_op(lw, TFL_TILE, 2, in, 1, &o))
    return lw->cx->status;
  lw_set_perm(lw, y, o, perm);
  return O2L_OK;
}

/* ---- Cast ------------------------------------------------------------------ */

Status cast_lower(Lower *lw, Node *n) {
  CastParams p;
  TRY(cast_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  Value *t = lw_in_asis(lw, x);
  if (!t)
    return lw->cx->status;
  /* Float to float: the graph computes in float32 whatever ONNX asks. */
  if (p.to == t->dtype || (dtype_is_float(p.to) && dtype_is_float(t->dtype))) {
    lw_alias(lw, y, x);
    return O2L_OK;
  }
  Layout plain;
  layout_plain(&plain);
  const Layout *L = value_is_const(x) ? &plain : lw_layout(lw, x);
  Value *o = lw_tensor(lw, NULL, p.to, t->rank, t->dims);
  if (!o || !lw_op(lw, TFL_CAST, 1, &t, 1, &o))
    return lw->cx->status;
  lw_set_layout(lw, y, o, L);
  return O2L_OK;
}
