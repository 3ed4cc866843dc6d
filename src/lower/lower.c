/* lower.c - ONNX graph -> TFLite graph, choosing where every tensor's data
 * is channels-last (lower.h, layout.h).
 *
 * Nodes are lowered in topological order by their ops.def lowering.  The
 * driver keeps, for every ONNX value, the TFLite tensor holding its data and
 * the order of that data (a Layout).  A lowering asks for an input in the
 * axis order it needs; the driver answers with the tensor itself when the
 * order already matches (reshapes are free: a RESHAPE op is added only when
 * the consumer needs another shape), with one TRANSPOSE otherwise, cached
 * so each value is transposed at most once per order, and reported with the
 * node that forced it.  Constants are permuted here at conversion time.
 *
 * Graph inputs of rank >= 3 that feed a spatial operator (through
 * elementwise ones) are exposed channels-last unless --keep-io-layout;
 * outputs are exposed in the order they were computed in when that is
 * channels-last or plain, else converted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower/lower.h"
#include "onnx/onnx.h"

struct LConv {
  int src;        /* ONNX value id, or -1 for a reshape of `from` */
  Value *from;    /* tensor reshaped (src == -1) */
  Layout L;
  DType dtype;    /* constants: element type produced */
  int rank;
  int64_t dims[O2L_MAX_RANK];
  Value *t;
};

/* ---- errors ------------------------------------------------------------- */

Status lw_err(Lower *lw, Status code, const char *fmt, ...) {
  char msg[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (lw->cur)
    return ctx_err(lw->cx, code, "%s '%s': %s", lw->cur->op_type,
                   lw->cur->name, msg);
  return ctx_err(lw->cx, code, "%s", msg);
}

Status lw_failed(Lower *lw) {
  return lw->cx->status ? lw->cx->status
                        : lw_err(lw, O2L_ERR_INTERNAL, "lowering failed");
}

/* ---- naming ------------------------------------------------------------- */

static const char *cur_base_name(Lower *lw) {
  Node *n = lw->cur;
  if (n && n->nout > 0 && n->out[0] && n->out[0]->name[0])
    return n->out[0]->name;
  return n ? n->name : "t";
}

static const char *derived_name(Lower *lw, const char *base,
                                const char *suffix) {
  const char *s = suffix ? arena_printf(lw->cx->arena, "%s/%s", base, suffix)
                         : arena_strdup(lw->cx->arena, base);
  if (!s)
    ctx_oom(lw->cx, "naming a tensor");
  return s;
}

/* ---- cache of converted copies ----------------------------------------- */

static LConv *cache_find(Lower *lw, int src, const Value *from,
                         const Layout *L, DType dt, int rank,
                         const int64_t *dims) {
  for (int i = 0; i < lw->nconv; i++) {
    LConv *c = &lw->conv[i];
    if (c->src != src || c->from != from || c->dtype != dt)
      continue;
    if (L && !layout_eq(&c->L, L))
      continue;
    if (c->rank != rank ||
        (rank && memcmp(c->dims, dims, sizeof(int64_t) * (size_t)rank)))
      continue;
    return c;
  }
  return NULL;
}

static void cache_add(Lower *lw, int src, Value *from, const Layout *L,
                      DType dt, int rank, const int64_t *dims, Value *t) {
  if (lw->nconv == lw->cconv) {
    int ncap = lw->cconv ? lw->cconv * 2 : 64;
    LConv *p = xrealloc(lw->conv, sizeof(LConv) * (size_t)ncap);
    if (!p)
      return; /* the cache is an optimisation only */
    lw->conv = p;
    lw->cconv = ncap;
  }
  LConv *c = &lw->conv[lw->nconv++];
  memset(c, 0, sizeof *c);
  c->src = src;
  c->from = from;
  if (L)
    c->L = *L;
  c->dtype = dt;
  c->rank = rank;
  if (rank)
    memcpy(c->dims, dims, sizeof(int64_t) * (size_t)rank);
  c->t = t;
}

/* ---- making tensors and operators --------------------------------------- */

Value *lw_tensor(Lower *lw, const char *suffix, DType t, int rank,
                 const int64_t *dims) {
  const char *name = derived_name(lw, cur_base_name(lw), suffix);
  return name ? graph_add_value(lw->cx, lw->dst, name, t, rank, dims) : NULL;
}

Value *lw_const(Lower *lw, const char *suffix, DType t, int rank,
                const int64_t *dims, const void *data) {
  int64_t n;
  if (!dims_numel(rank, dims, &n))
    return NULL;
  size_t bytes = (size_t)n * dtype_size(t);
  void *copy = arena_alloc(lw->cx->arena, bytes ? bytes : 1, 16);
  const char *name = derived_name(lw, lw->cur ? lw->cur->name : "const",
                                  suffix);
  if (!copy || !name) {
    ctx_oom(lw->cx, "creating a constant");
    return NULL;
  }
  if (bytes)
    memcpy(copy, data, bytes);
  return graph_add_const(lw->cx, lw->dst, name, t, rank, dims, copy, bytes);
}

Value *lw_const_take(Lower *lw, const char *suffix, DType t, int rank,
                     const int64_t *dims, void *data) {
  int64_t n;
  if (!data || !dims_numel(rank, dims, &n))
    return NULL;
  const char *name = derived_name(lw, lw->cur ? lw->cur->name : "const",
                                  suffix);
  if (!name)
    return NULL;
  return graph_add_const(lw->cx, lw->dst, name, t, rank, dims, data,
                         (size_t)n * dtype_size(t));
}

Value *lw_const_i32(Lower *lw, const char *suffix, int n, const int32_t *v) {
  int64_t dims[1] = {n};
  return lw_const(lw, suffix, DT_I32, 1, dims, v);
}

Value *lw_const_f32_scalar(Lower *lw, const char *suffix, float v) {
  return lw_const(lw, suffix, DT_F32, 0, NULL, &v);
}

Node *lw_op(Lower *lw, TflOp op, int nin, Value *const *in, int nout,
            Value *const *out) {
  for (int i = 0; i < nout; i++)
    if (!out[i])
      return NULL; /* the allocation failure is already recorded */
  Node *n = graph_add_node(lw->cx, lw->dst, op,
                           lw->cur ? lw->cur->name : "", nin, in, nout, out);
  if (n)
    n->op_type = tfl_op_name(op);
  return n;
}

Node *lw_producer(Lower *lw, const Value *t) {
  Graph *g = lw->dst;
  for (int i = g->nnodes - 1; i >= 0; i--)
    for (int j = 0; j < g->nodes[i]->nout; j++)
      if (g->nodes[i]->out[j] == t)
        return g->nodes[i];
  return NULL;
}

bool lw_nonnegative(Lower *lw, const Value *t) {
  const Node *p = lw_producer(lw, t);
  while (p && p->op == TFL_RESHAPE && p->in[0])
    p = lw_producer(lw, p->in[0]);
  if (!p)
    return false;
  return p->op == TFL_RELU || p->op == TFL_RELU6 || p->op == TFL_LOGISTIC ||
         p->opt.act == TFL_ACT_RELU || p->opt.act == TFL_ACT_RELU6;
}

Value *lw_reshape(Lower *lw, Value *t, int rank, const int64_t *dims,
                  const char *suffix) {
  if (!t)
    return NULL;
  if (t->rank == rank &&
      (rank == 0 || !memcmp(t->dims, dims, sizeof(int64_t) * (size_t)rank)))
    return t;
  if (value_is_const(t)) {
    /* A constant is reshaped by giving its data a second shape. */
    LConv *c = cache_find(lw, -1, t, NULL, t->dtype, rank, dims);
    if (c)
      return c->t;
    Value *r = graph_add_const(lw->cx, lw->dst, t->name, t->dtype, rank, dims,
                               t->data, t->nbytes);
    if (r)
      cache_add(lw, -1, t, NULL, t->dtype, rank, dims, r);
    return r;
  }
  LConv *c = cache_find(lw, -1, t, NULL, t->dtype, rank, dims);
  if (c)
    return c->t;
  int32_t shape[O2L_MAX_RANK];
  for (int i = 0; i < rank; i++)
    shape[i] = (int32_t)dims[i];
  const char *name = derived_name(lw, t->name, suffix ? suffix : "reshape");
  if (!name)
    return NULL;
  Value *out = graph_add_value(lw->cx, lw->dst, name, t->dtype, rank, dims);
  Value *sh = lw_const_i32(lw, "shape", rank, shape);
  if (!out || !sh)
    return NULL;
  out->quant = t->quant;
  Value *in[2] = {t, sh};
  if (!lw_op(lw, TFL_RESHAPE, 2, in, 1, &out))
    return NULL;
  cache_add(lw, -1, t, NULL, t->dtype, rank, dims, out);
  return out;
}

/* ---- constants ------------------------------------------------------------ */

/* Copies v's data transposed by perm, converting to dtype dt. */
static void *permute_data(Lower *lw, Value *v, const int *perm, DType dt) {
  int rank = v->rank;
  int64_t n = value_numel(v);
  size_t esz = dtype_size(dt);
  void *dst = arena_alloc(lw->cx->arena, (size_t)n * esz + 1, 16);
  if (!dst) {
    ctx_oom(lw->cx, "permuting a constant");
    return NULL;
  }
  if (dt == v->dtype) {
    permute_copy(dst, v->data, esz, rank, v->dims, perm);
    return dst;
  }
  /* Converting: strides of the source for each destination axis. */
  int64_t sstride[O2L_MAX_RANK], pd[O2L_MAX_RANK], acc = 1;
  for (int i = rank - 1; i >= 0; i--) {
    sstride[i] = acc;
    acc *= v->dims[i];
  }
  int64_t ps[O2L_MAX_RANK];
  for (int i = 0; i < rank; i++) {
    pd[i] = v->dims[perm[i]];
    ps[i] = sstride[perm[i]];
  }
  int64_t idx[O2L_MAX_RANK] = {0};
  const unsigned char *src = v->data;
  for (int64_t k = 0; k < n; k++) {
    int64_t off = 0;
    for (int i = 0; i < rank; i++)
      off += idx[i] * ps[i];
    if (dtype_is_float(dt))
      store_from_f64(dst, dt, (size_t)k, load_as_f64(src, v->dtype, (size_t)off));
    else
      store_from_f64(dst, dt, (size_t)k,
                     (double)load_as_i64(src, v->dtype, (size_t)off));
    for (int i = rank - 1; i >= 0; i--) {
      if (++idx[i] < pd[i])
        break;
      idx[i] = 0;
    }
  }
  return dst;
}

Value *lw_const_perm(Lower *lw, Value *v, const int *perm, int prank,
                     const int64_t *pdims, DType t) {
  DType dt = t == DT_UNDEF ? v->dtype : t;
  /* int64 has no place in most TFLite kernels: indices and shapes are
   * int32 unless the caller insists. */
  int ident[O2L_MAX_RANK];
  if (!perm) {
    perm_identity(v->rank, ident);
    perm = ident;
  }
  int64_t permuted[O2L_MAX_RANK];
  perm_apply(v->rank, v->dims, perm, permuted);
  if (!pdims) {
    prank = v->rank;
    pdims = permuted;
  }
  Layout L;
  layout_from_perm(&L, v->rank, v->dims, perm);
  LConv *c = cache_find(lw, v->id, NULL, &L, dt, prank, pdims);
  if (c)
    return c->t;
  const void *data = v->data;
  size_t nbytes = v->nbytes;
  if (!layout_is_plain(&L) || dt != v->dtype) {
    data = permute_data(lw, v, perm, dt);
    if (!data)
      return NULL;
    ctx_release(lw->cx, v->data, v->nbytes);
    nbytes = (size_t)value_numel(v) * dtype_size(dt);
  }
  /* The first copy keeps the ONNX name; later variants get a suffix. */
  bool first = true;
  for (int i = 0; i < lw->nconv && first; i++)
    if (lw->conv[i].src == v->id)
      first = false;
  const char *name = first ? v->name : derived_name(lw, v->name, "v");
  Value *out = graph_add_const(lw->cx, lw->dst, name, dt, prank, pdims, data,
                               nbytes);
  if (out)
    cache_add(lw, v->id, NULL, &L, dt, prank, pdims, out);
  return out;
}

/* ---- layouts of values ---------------------------------------------------- */

const Layout *lw_layout(Lower *lw, Value *v) { return &lw->map[v->id].L; }

bool lw_perm_of(Lower *lw, Value *v, int *perm) {
  if (value_is_const(v) || !lw->map[v->id].t) {
    perm_identity(v->rank, perm);
    return true;
  }
  LVal *lv = &lw->map[v->id];
  int cl[O2L_MAX_RANK];
  const int *hint = NULL;
  if (lv->has_hint) {
    hint = lv->hint;
  } else if (v->rank >= 3) {
    perm_channels_last(v->rank, cl);
    hint = cl;
  }
  return layout_axis_perm(&lv->L, v->rank, v->dims, hint, perm);
}

/* One TRANSPOSE (plus reshapes around it) taking lv's data to layout W.
 * Falls back to two steps through the plain order when the two orders
 * share no factorization. */
static Value *convert(Lower *lw, Value *v, const Layout *W, const char *why) {
  LVal *lv = &lw->map[v->id];
  if (layout_eq(&lv->L, W))
    return lv->t;
  LConv *c = cache_find(lw, v->id, NULL, W, v->dtype, 0, NULL);
  if (c)
    return c->t;
  int rank, perm[O2L_MAX_RANK];
  int64_t shape[O2L_MAX_RANK];
  if (!layout_convert_plan(&lv->L, W, &rank, shape, perm)) {
    Layout plain;
    layout_plain(&plain);
    Value *p = convert(lw, v, &plain, why);
    if (!p)
      return NULL;
    LVal saved = *lv;
    lv->t = p;
    lv->L = plain;
    Value *r = convert(lw, v, W, why);
    *lv = saved;
    return r;
  }
  Value *t = lv->t;
  if (rank > 1 && !perm_is_identity(rank, perm)) {
    Value *src = lw_reshape(lw, t, rank, shape, "view");
    int64_t out_dims[O2L_MAX_RANK];
    perm_apply(rank, shape, perm, out_dims);
    int32_t p32[O2L_MAX_RANK];
    for (int i = 0; i < rank; i++)
      p32[i] = perm[i];
    const char *name = derived_name(lw, v->name, "transposed");
    if (!src || !name)
      return NULL;
    Value *out = graph_add_value(lw->cx, lw->dst, name, v->dtype, rank,
                                 out_dims);
    Value *pc = lw_const_i32(lw, "perm", rank, p32);
    if (!out || !pc)
      return NULL;
    out->quant = t->quant;
    Value *in[2] = {src, pc};
    if (!lw_op(lw, TFL_TRANSPOSE, 2, in, 1, &out))
      return NULL;
    lw->transposes_added++;
    char pbuf[64];
    int k = 0;
    pbuf[0] = 0;
    for (int i = 0; i < rank && k < (int)sizeof pbuf - 8; i++)
      k += snprintf(pbuf + k, sizeof pbuf - (size_t)k, i ? ",%d" : "%d",
                    perm[i]);
    int ap[O2L_MAX_RANK];
    const Node *mv =
        layout_axis_perm(&lv->L, v->rank, v->dims, NULL, ap) ? NULL
                                                              : lv->moved_by;
    ctx_report(lw->cx, "TRANSPOSE [%s] of '%s' for %s '%s': %s%s%s%s%s", pbuf,
               v->name, lw->cur ? lw->cur->op_type : "output",
               lw->cur ? lw->cur->name : v->name,
               why ? why : "layout change",
               mv ? "; its data was moved across axes by " : "",
               mv ? mv->op_type : "", mv ? " " : "",
               mv ? arena_printf(lw->cx->arena, "'%s' (as in a channel shuffle), "
                                 "which no axis order can express",
                                 mv->name)
                  : "");
    t = out;
  }
  cache_add(lw, v->id, NULL, W, v->dtype, 0, NULL, t);
  return t;
}

Value *lw_in_perm(Lower *lw, Value *v, const int *perm, int prank,
                  const int64_t *pdims, const char *why) {
  if (!v) {
    lw_err(lw, O2L_ERR_INTERNAL, "missing input");
    return NULL;
  }
  if (value_is_const(v))
    return lw_const_perm(lw, v, perm, prank, pdims, DT_UNDEF);
  LVal *lv = &lw->map[v->id];
  if (!lv->t) {
    lw_err(lw, O2L_ERR_INTERNAL, "input '%s' was not lowered", v->name);
    return NULL;
  }
  int ident[O2L_MAX_RANK];
  if (!perm) {
    perm_identity(v->rank, ident);
    perm = ident;
  }
  Layout W;
  layout_from_perm(&W, v->rank, v->dims, perm);
  Value *t = convert(lw, v, &W, why);
  if (!t)
    return NULL;
  int64_t permuted[O2L_MAX_RANK];
  if (!pdims) {
    perm_apply(v->rank, v->dims, perm, permuted);
    prank = v->rank;
    pdims = permuted;
  }
  return lw_reshape(lw, t, prank, pdims, NULL);
}

Value *lw_in_asis(Lower *lw, Value *v) {
  if (value_is_const(v))
    return lw_const_perm(lw, v, NULL, 0, NULL, DT_UNDEF);
  if (!lw->map[v->id].t)
    lw_err(lw, O2L_ERR_INTERNAL, "input '%s' was not lowered", v->name);
  return lw->map[v->id].t;
}

/* Row-major position of every stored element of a tensor whose stored
 * order is `phys` (sizes of the stored axes, outermost first, each with its
 * logical stride): out[j] = logical index of stored element j. */
static void stored_positions(int n, const int64_t *size, const int64_t *stride,
                             int64_t total, int64_t *out) {
  int64_t idx[2 * LAYOUT_MAX] = {0};
  for (int64_t j = 0; j < total; j++) {
    int64_t off = 0;
    for (int i = 0; i < n; i++)
      off += idx[i] * stride[i];
    out[j] = off;
    for (int i = n - 1; i >= 0; i--) {
      if (++idx[i] < size[i])
        break;
      idx[i] = 0;
    }
  }
}

Value *lw_in_rows(Lower *lw, Value *v, int64_t K, const int64_t **kperm,
                  const char *why) {
  *kperm = NULL;
  if (value_is_const(v) || K <= 0)
    return lw_in_asis(lw, v);
  int64_t total = value_numel(v);
  const Layout *L = lw_layout(lw, v);
  int64_t rows_dims[2] = {total / K, K};
  int perm[2];
  /* Already rows of K in order (plain, or any order of size-1 axes). */
  if (layout_axis_perm(L, 2, rows_dims, NULL, perm) &&
      (perm[0] == 0 || rows_dims[0] == 1 || K == 1))
    return lw->map[v->id].t;
  /* Stored as: row factors first, in order, then K's factors permuted?
   * Split K off the layout's factors: each factor must lie entirely in the
   * row part or the K part. */
  int64_t stride[LAYOUT_MAX], acc = 1;
  for (int i = L->n - 1; i >= 0; i--) {
    stride[i] = acc;
    acc *= L->f[i];
  }
  bool ok = L->n > 0 && (L->n <= 2 * LAYOUT_MAX);
  int nk = 0, seen_k = 0;
  int64_t ksize[LAYOUT_MAX], kstride[LAYOUT_MAX];
  int last_row = -1;
  for (int j = 0; j < L->n && ok; j++) {
    int f = L->p[j];
    bool in_k = stride[f] < K;
    if (in_k && stride[f] * L->f[f] > K)
      ok = false; /* a factor straddles the row/feature boundary */
    if (!in_k) {
      if (seen_k || f < last_row)
        ok = false; /* rows stored after features, or out of order */
      last_row = f;
    } else {
      seen_k = 1;
      ksize[nk] = L->f[f];
      kstride[nk++] = stride[f];
    }
  }
  if (!ok)
    return lw_in_plain(lw, v, 0, NULL, why);
  int64_t *kp = arena_alloc(lw->cx->arena, sizeof(int64_t) * (size_t)K, 16);
  if (!kp) {
    ctx_oom(lw->cx, "permuting dense-layer weights");
    return NULL;
  }
  stored_positions(nk, ksize, kstride, K, kp);
  *kperm = kp;
  return lw->map[v->id].t;
}

void lw_pick_perm(Lower *lw, Node *n, int r, const int64_t *out_dims,
                  int *perm) {
  perm_identity(r, perm);
  for (int i = 0; i < n->nin; i++) {
    Value *v = n->in[i];
    if (!v || value_is_const(v) || v->rank != r ||
        memcmp(v->dims, out_dims, sizeof(int64_t) * (size_t)r))
      continue;
    int p[O2L_MAX_RANK];
    if (lw_perm_of(lw, v, p) && !perm_is_identity(r, p)) {
      memcpy(perm, p, sizeof(int) * (size_t)r);
      return;
    }
  }
}

Value *lw_in_bcast(Lower *lw, Value *v, int r, const int *perm,
                   const char *why) {
  int off = r - v->rank;
  if (off < 0) {
    lw_err(lw, O2L_ERR_INTERNAL, "'%s' has a higher rank than the output",
           v->name);
    return NULL;
  }
  int64_t padded[O2L_MAX_RANK] = {0}, phys[O2L_MAX_RANK] = {0};
  for (int i = 0; i < r; i++)
    padded[i] = i < off ? 1 : v->dims[i - off];
  perm_apply(r, padded, perm, phys);
  /* v's own axes in the order perm stores them. */
  int vp[O2L_MAX_RANK], k = 0;
  for (int j = 0; j < r; j++)
    if (perm[j] >= off)
      vp[k++] = perm[j] - off;
  return lw_in_perm(lw, v, vp, r, phys, why);
}

Value *lw_in_plain(Lower *lw, Value *v, int prank, const int64_t *pdims,
                   const char *why) {
  return lw_in_perm(lw, v, NULL, prank, pdims, why);
}

Value *lw_in_any(Lower *lw, Value *v, const int *fallback, int *perm,
                 const char *why) {
  if (!lw_perm_of(lw, v, perm)) {
    if (fallback)
      memcpy(perm, fallback, sizeof(int) * (size_t)v->rank);
    else
      perm_identity(v->rank, perm);
  }
  return lw_in_perm(lw, v, perm, 0, NULL, why);
}

Value *lw_in_own_order(Lower *lw, Value *v, int *perm, const char *why) {
  int fallback[O2L_MAX_RANK];
  perm_channels_last(v->rank, fallback);
  return lw_in_any(lw, v, fallback, perm, why);
}

/* ---- recording outputs ---------------------------------------------------- */

void lw_set_layout(Lower *lw, Value *v, Value *t, const Layout *L) {
  LVal *lv = &lw->map[v->id];
  lv->t = t;
  lv->L = *L;
  lv->has_hint = false;
  /* Same data and order as an input: inherit who arranged it; else this
   * node did. */
  lv->moved_by = lw->cur;
  for (int i = 0; lw->cur && i < lw->cur->nin; i++) {
    Value *in = lw->cur->in[i];
    if (in && !value_is_const(in) && lw->map[in->id].t == t &&
        layout_eq(&lw->map[in->id].L, L))
      lv->moved_by = lw->map[in->id].moved_by;
  }
}

void lw_set_perm(Lower *lw, Value *v, Value *t, const int *perm) {
  LVal *lv = &lw->map[v->id];
  int ident[O2L_MAX_RANK];
  if (!perm) {
    perm_identity(v->rank, ident);
    perm = ident;
  }
  layout_from_perm(&lv->L, v->rank, v->dims, perm);
  lv->t = t;
  lv->has_hint = true;
  memcpy(lv->hint, perm, sizeof(int) * (size_t)v->rank);
}

void lw_alias(Lower *lw, Value *v, Value *src) {
  if (value_is_const(src)) {
    /* A reshaped constant is the same bytes under v's shape. */
    lw->map[v->id].t = lw_const_perm(lw, src, NULL, v->rank, v->dims, DT_UNDEF);
    layout_plain(&lw->map[v->id].L);
    lw->map[v->id].has_hint = false;
    return;
  }
  LVal *s = &lw->map[src->id];
  LVal *d = &lw->map[v->id];
  d->t = s->t;
  d->L = s->L;
  d->moved_by = s->moved_by;
  d->has_hint = false;
  if (s->has_hint && src->rank == v->rank &&
      value_same_shape(src, v)) { /* same shape: keep the axis order too */
    d->has_hint = true;
    memcpy(d->hint, s->hint, sizeof s->hint);
  }
}

/* ---- inputs and outputs ---------------------------------------------------- */

static bool keep_io_layout(const Lower *lw) {
  return lw->cx->opt && lw->cx->opt->keep_io_layout;
}

/* Does input v reach an operator that wants channels-last (F_SPATIAL, as
 * its data input) through operators that work in any axis order only
 * (elementwise, Pad, Concat, Slice, Split: a YOLOv5 Focus stem slices the
 * image before its first Conv)? */
static bool feeds_spatial(Graph *g, Value *v, int depth) {
  if (depth > 16)
    return false;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead || n->op < 0)
      continue;
    for (int j = 0; j < n->nin; j++) {
      if (n->in[j] != v)
        continue;
      unsigned fl = op_def(n->op)->flags;
      if ((fl & F_SPATIAL) && j == 0)
        return true;
      if (!(fl & F_ELEMENTWISE) && n->op != OP_Pad && n->op != OP_Concat &&
          n->op != OP_Slice && n->op != OP_Split)
        continue;
      for (int k = 0; k < n->nout; k++)
        if (n->out[k] && n->out[k]->rank == v->rank &&
            feeds_spatial(g, n->out[k], depth + 1))
          return true;
    }
  }
  return false;
}

static Status lower_inputs(Lower *lw) {
  Graph *src = lw->src;
  Value **ins = xrealloc(NULL, sizeof(Value *) * (size_t)(src->ninputs + 1));
  if (!ins)
    return ctx_oom(lw->cx, "lowering inputs");
  for (int i = 0; i < src->ninputs; i++) {
    Value *v = src->inputs[i];
    int perm[O2L_MAX_RANK];
    perm_identity(v->rank, perm);
    if (!keep_io_layout(lw) && v->rank >= 3 && v->rank <= 5 &&
        feeds_spatial(src, v, 0))
      perm_channels_last(v->rank, perm);
    int64_t pd[O2L_MAX_RANK];
    perm_apply(v->rank, v->dims, perm, pd);
    Value *t = graph_add_value(lw->cx, lw->dst, v->name, v->dtype, v->rank, pd);
    if (!t) {
      xfree(ins);
      return lw->cx->status;
    }
    lw_set_perm(lw, v, t, perm);
    t->has_io_perm = 1;
    for (int k = 0; k < v->rank; k++)
      t->io_perm[k] = (unsigned char)perm[k];
    ins[i] = t;
  }
  Status st = graph_set_inputs(lw->cx, lw->dst, src->ninputs, ins);
  xfree(ins);
  return st;
}

static bool is_graph_io(const Graph *g, const Value *t) {
  for (int i = 0; i < g->ninputs; i++)
    if (g->inputs[i] == t)
      return true;
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs && g->outputs[i] == t)
      return true;
  return false;
}

/* Perm an output is exposed in: channels-last or ONNX order. */
static void output_perm(Lower *lw, Value *v, int *perm) {
  int cl[O2L_MAX_RANK];
  perm_channels_last(v->rank, cl);
  if (keep_io_layout(lw) || v->rank < 3) {
    perm_identity(v->rank, perm);
    return;
  }
  int have[O2L_MAX_RANK];
  if (lw_perm_of(lw, v, have) &&
      (perm_is_identity(v->rank, have) ||
       !memcmp(have, cl, sizeof(int) * (size_t)v->rank))) {
    memcpy(perm, have, sizeof(int) * (size_t)v->rank);
    return;
  }
  memcpy(perm, cl, sizeof(int) * (size_t)v->rank);
}

static Status lower_outputs(Lower *lw) {
  Graph *src = lw->src, *dst = lw->dst;
  Value **outs = xrealloc(NULL, sizeof(Value *) * (size_t)(src->noutputs + 1));
  if (!outs)
    return ctx_oom(lw->cx, "lowering outputs");
  dst->outputs = outs; /* seen by is_graph_io while filling */
  dst->noutputs = 0;
  lw->cur = NULL;
  for (int i = 0; i < src->noutputs; i++) {
    Value *v = src->outputs[i];
    if (value_numel(v) == 0) {
      dst->outputs = NULL;
      xfree(outs);
      return ctx_err(lw->cx, O2L_ERR_UNSUPPORTED,
                     "graph output '%s' is empty (shape %s); TFLite has no "
                     "empty tensors", v->name,
                     value_shape_str(v, (char[64]){0}, 64));
    }
    int perm[O2L_MAX_RANK];
    output_perm(lw, v, perm);
    Value *t = lw_in_perm(lw, v, perm, 0, NULL,
                          "graph output in the requested layout");
    if (!t) {
      dst->outputs = NULL;
      xfree(outs);
      return lw->cx->status ? lw->cx->status : O2L_ERR_INTERNAL;
    }
    /* Every output needs a tensor of its own, made by an operator. */
    if (value_is_const(t) || is_graph_io(dst, t)) {
      Node fake = {0};
      fake.name = v->name;
      fake.op_type = "output";
      lw->cur = &fake;
      Value *copy = graph_add_value(lw->cx, dst, v->name, t->dtype, t->rank,
                                    t->dims);
      int32_t shape[O2L_MAX_RANK];
      for (int k = 0; k < t->rank; k++)
        shape[k] = (int32_t)t->dims[k];
      Value *sh = lw_const_i32(lw, "shape", t->rank, shape);
      Value *in[2] = {t, sh};
      if (!copy || !sh || !lw_op(lw, TFL_RESHAPE, 2, in, 1, &copy)) {
        dst->outputs = NULL;
        xfree(outs);
        return lw->cx->status;
      }
      copy->quant = t->quant;
      lw->cur = NULL;
      t = copy;
    }
    if (strcmp(t->name, v->name) != 0) {
      /* The tensor that carried the name inside the graph gives it up. */
      for (int k = 0; k < dst->nvalues; k++)
        if (dst->values[k] != t && !strcmp(dst->values[k]->name, v->name))
          dst->values[k]->name = derived_name(lw, v->name, "inner");
      t->name = v->name;
    }
    t->has_io_perm = 1;
    for (int k = 0; k < v->rank; k++)
      t->io_perm[k] = (unsigned char)perm[k];
    outs[dst->noutputs++] = t;
  }
  dst->outputs = NULL;
  int n = dst->noutputs;
  dst->noutputs = 0;
  Status st = graph_set_outputs(lw->cx, dst, n, outs);
  xfree(outs);
  return st;
}

/* ---- the driver ------------------------------------------------------------ */

static Status lower_nodes(Lower *lw) {
  Graph *src = lw->src;
  for (int i = 0; i < src->nnodes; i++) {
    Node *n = src->nodes[i];
    if (n->dead)
      continue;
    lw->cur = n;
    if (n->op < 0)
      return lw_err(lw, O2L_ERR_UNSUPPORTED, "unsupported operator");
    TRY(op_def(n->op)->lower(lw, n));
    if (lw->cx->status)
      return lw->cx->status;
    for (int j = 0; j < n->nout; j++) {
      Value *o = n->out[j];
      if (o && !value_is_const(o) && !lw->map[o->id].t &&
          (o->nuses || o->is_output))
        return lw_err(lw, O2L_ERR_INTERNAL, "output %d ('%s') was not produced",
                      j, o->name);
    }
    ctx_progress(lw->cx, "lowering", 0.3 + 0.5 * (i + 1) / src->nnodes);
  }
  lw->cur = NULL;
  return O2L_OK;
}

Status lower_graph(Ctx *cx, Graph *src, Graph **out) {
  Lower lw;
  memset(&lw, 0, sizeof lw);
  lw.cx = cx;
  lw.src = src;
  lw.dst = graph_new(cx, GRAPH_TFL);
  lw.map = arena_alloc(cx->arena, sizeof(LVal) * (size_t)(src->nvalues + 1), 8);
  if (!lw.dst || !lw.map)
    return ctx_oom(cx, "starting the lowering");
  *out = lw.dst;
  graph_uses(src);
  for (int i = 0; i < src->nvalues; i++)
    layout_plain(&lw.map[i].L);
  Status st = lower_inputs(&lw);
  if (st == O2L_OK)
    st = lower_nodes(&lw);
  if (st == O2L_OK)
    st = lower_outputs(&lw);
  xfree(lw.conv);
  if (st == O2L_OK) {
    graph_dce(lw.dst);
    graph_compact(lw.dst);
  }
  return st;
}
