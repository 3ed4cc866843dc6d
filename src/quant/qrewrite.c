/* qrewrite.c - rewrites of the float TFLite graph before calibration, for
 * the integer modes only: operators whose integer kernels are missing or
 * wrong somewhere are replaced by equivalent ones that every runtime runs
 * in integer, and operators computed from constants alone become
 * constants.  The float output of the converter is not touched.
 *
 *   SUM(x, axes)        -> MEAN(x, axes) * N   (N = elements reduced).
 *       LiteRT's reference int8 SUM kernel (BUILTIN_REF, the one closest
 *       to TFLite Micro) returns wrong sums for every axis layout measured
 *       (cosine 0.27-0.99 against the default kernel's 0.9999); its MEAN
 *       is right, the MEAN output has the same resolution (the sum's range
 *       / N), and Ethos-U runs MEAN and MUL on the NPU but not SUM.
 *   MEAN over the channels of a [B,]H,W,C map (H, W, C > 1) -> over
 *       [B,]1,H*W,C, or the spatial axes first: Vela reduces depth only
 *       when one of H, W, C is 1 (mean_depth); a MEAN of a 5-D map reads
 *       it as 4-D where merging axes allows (mean_rank).
 *   BROADCAST_TO feeding only broadcasting binaries (MUL, ADD, ...) is
 *       dropped: Vela does not know BROADCAST_TO (ECA / SE gates written
 *       with expand_as ran on the CPU).
 *   TILE(x, m)          -> CONCATENATION of m copies per tiled axis: int8
 *       TILE is version 3, missing from the reference resolver, and a
 *       CPU operator on the Ethos-U55.
 *   ELU(x)              -> MAXIMUM(x, EXP(MINIMUM(x, 0)) - 1).
 *       The reference resolver has no ELU at all; for x > 0 the second
 *       operand is 0, for x <= 0 it is e^x - 1 >= x.  All four operators
 *       are integer in both resolvers (int16 too, where ELU is refused)
 *       and on the NPU.
 *   DEPTH_TO_SPACE(x, r) -> SPLIT into r channel slices, each RESHAPEd to
 *       one row, CONCATENATION of the rows, RESHAPE (d2s_decompose).  The
 *       reference resolver registers only version 1 of DEPTH_TO_SPACE and
 *       int8 is version 2 (pixel-shuffle models did not load); these
 *       operators run in both resolvers (int16 too, where DEPTH_TO_SPACE
 *       has no kernel) and on the Ethos-U55 NPU (DEPTH_TO_SPACE does not).
 *       SPACE_TO_DEPTH likewise (RESHAPE, SPLIT, RESHAPEs, CONCATENATION):
 *       it is a CPU operator on the U55.
 *   DIV(x, SQRT(v))     -> MUL(x, RSQRT(v))    (the SQRT used only there),
 *       and F.normalize's DIV(x, MAXIMUM(SQRT(v), e)) -> MUL(x,
 *       RSQRT(MAXIMUM(v, e*e))), possibly through a BROADCAST_TO; any
 *       other DIV(x, y) whose y > 0 by construction (a softmax written out
 *       divides by SUM(EXP(...))) -> MUL(x, RSQRT(y)^2).
 *       LayerNorm / GroupNorm written out: DIV has no usable integer
 *       kernel (LiteRT's int8 DIV is off by ~8 %), RSQRT and MUL have, so
 *       the normalization no longer leaves the integer graph.
 *   operators whose inputs are all constant -> constants (evaluated with
 *       the reference runner, which folds them anyway and so never
 *       calibrates them): e.g. a positional encoding computed from a
 *       folded cumsum and projected by a convolution.
 */
#include <stdio.h>
#include <string.h>

#include "quant/quant_impl.h"
#include "ref/ref.h"

static bool is_act(const Value *v) {
  return v && v->dtype == DT_F32 && !value_is_const(v);
}

static Value *scalar(Ctx *cx, Graph *g, const char *base, const char *suffix,
                     float x) {
  float *d = arena_alloc(cx->arena, sizeof(float), 16);
  const char *name = q_name(cx, base, suffix);
  if (!d || !name)
    return NULL;
  *d = x;
  return graph_add_const(cx, g, name, DT_F32, 0, NULL, d, sizeof(float));
}

/* An int32 vector constant (n = 0: a scalar holding v[0]). */
static Value *i32s(Ctx *cx, Graph *g, const char *base, const char *suffix,
                   int n, const int64_t *v) {
  int32_t *d = arena_alloc(cx->arena, sizeof(int32_t) * (size_t)(n ? n : 1), 16);
  const char *name = q_name(cx, base, suffix);
  if (!d || !name)
    return NULL;
  for (int i = 0; i < (n ? n : 1); i++)
    d[i] = (int32_t)v[i];
  int64_t dims[1] = {n};
  return graph_add_const(cx, g, name, DT_I32, n ? 1 : 0, dims, d,
                         sizeof(int32_t) * (size_t)(n ? n : 1));
}

static Value *like(Ctx *cx, Graph *g, const Value *v, const char *suffix) {
  return q_like(cx, g, v, q_name(cx, v->name, suffix), DT_F32);
}

static Node *add_node(Ctx *cx, Graph *g, int op, const char *name, Value *a,
                      Value *b, Value *out) {
  if (!a || !out || (b == NULL) != (op == TFL_EXP || op == TFL_RSQRT))
    return NULL;
  Value *in[2] = {a, b};
  Node *n = graph_add_node(cx, g, op, name, b ? 2 : 1, in, 1, &out);
  if (n)
    n->op_type = tfl_op_name(op);
  return n;
}

static Status failed(Ctx *cx) {
  return cx->status ? cx->status : ctx_oom(cx, "quantization rewrites");
}

/* ---- SUM -> MEAN * N ------------------------------------------------------ */

/* Elements a SUM reduces, or 0 when the axes or shape are not known. */
static int64_t reduced_count(const Node *n) {
  const Value *x = n->in[0], *ax = n->nin > 1 ? n->in[1] : NULL;
  if (!ax || !value_is_const(ax) || (ax->dtype != DT_I32 && ax->dtype != DT_I64) ||
      x->rank <= 0)
    return 0;
  int64_t k = value_numel(ax);
  bool seen[O2L_MAX_RANK] = {false};
  int64_t count = 1;
  for (int64_t i = 0; i < k; i++) {
    int64_t a = load_as_i64(ax->data, ax->dtype, (size_t)i);
    if (a < 0)
      a += x->rank;
    if (a < 0 || a >= x->rank || x->dims[a] <= 0)
      return 0;
    if (!seen[a])
      count *= x->dims[a];
    seen[a] = true;
  }
  return count;
}

static Status sum_to_mean(Ctx *cx, Graph *g, Node *n, int *done) {
  int64_t count = reduced_count(n);
  Value *y = n->out[0];
  if (count <= 1 || count > (1 << 24) || !is_act(n->in[0]) || y->dtype != DT_F32)
    return O2L_OK;
  Value *mean = like(cx, g, y, "/mean");
  Value *c = scalar(cx, g, y->name, "/count", (float)count);
  if (!mean || !c)
    return failed(cx);
  n->op = TFL_MEAN;
  n->op_type = tfl_op_name(TFL_MEAN);
  n->out[0] = mean;
  if (!add_node(cx, g, TFL_MUL, n->name, mean, c, y))
    return failed(cx);
  (*done)++;
  return O2L_OK;
}

/* ---- MEAN over the channels, in a form Ethos-U takes -------------------- */

/* Reduction axes of a MEAN as flags over x's axes; false if not constant. */
static bool reduced_axes(const Node *n, bool *red) {
  const Value *x = n->in[0], *ax = n->nin > 1 ? n->in[1] : NULL;
  for (int i = 0; i < x->rank; i++)
    red[i] = false;
  if (!ax || !value_is_const(ax) || (ax->dtype != DT_I32 && ax->dtype != DT_I64))
    return false;
  for (int64_t i = 0; i < value_numel(ax); i++) {
    int64_t a = load_as_i64(ax->data, ax->dtype, (size_t)i);
    a += a < 0 ? x->rank : 0;
    if (a < 0 || a >= x->rank)
      return false;
    red[a] = true;
  }
  return true;
}

/* Vela takes tensors of at most 4 dimensions (the split attention of
 * ResNeSt / SKNet sums over the radix axis of [1, r, H, W, C] maps).  A
 * MEAN of a 5-D (or 6-D) map reads it with its size-1 axes dropped and
 * neighbouring axes that are both reduced or both kept merged (kept
 * ones while they stay <= 65535, Vela's largest dimension), when that
 * leaves at most 4; RESHAPEs on both sides. */
static Status mean_rank(Ctx *cx, Graph *g, Node *n, int *done) {
  Value *x = n->in[0], *y = n->out[0];
  bool red[O2L_MAX_RANK];
  if (!is_act(x) || y->dtype != DT_F32 || x->rank <= 4 || !reduced_axes(n, red))
    return O2L_OK;
  int64_t dims[O2L_MAX_RANK];
  bool rflag[O2L_MAX_RANK];
  int k = 0;
  for (int i = 0; i < x->rank; i++) {
    if (x->dims[i] <= 0)
      return O2L_OK;
    if (x->dims[i] == 1)
      continue;
    if (k > 0 && rflag[k - 1] == red[i] &&
        (red[i] || dims[k - 1] * x->dims[i] <= 65535)) {
      dims[k - 1] *= x->dims[i];
      continue;
    }
    dims[k] = x->dims[i];
    rflag[k++] = red[i];
  }
  if (k > 4 || k == 0)
    return O2L_OK;
  int64_t vd[4] = {1, 1, 1, 1}, td[4], axes[4];
  int na = 0;
  for (int i = 0; i < k; i++) {
    vd[4 - k + i] = dims[i];
    if (rflag[i])
      axes[na++] = 4 - k + i;
  }
  memcpy(td, vd, sizeof td);
  for (int i = 0; i < na; i++)
    td[axes[i]] = 1;
  Value *shape = i32s(cx, g, y->name, "/view_shape", 4, vd);
  Value *view = graph_add_value(cx, g, q_name(cx, y->name, "/view4"), DT_F32, 4, vd);
  Value *nax = i32s(cx, g, y->name, "/view_axes", na, axes);
  Value *t = graph_add_value(cx, g, q_name(cx, y->name, "/mean4"), DT_F32, 4, td);
  Value *oshape = i32s(cx, g, y->name, "/mean_shape", y->rank, y->dims);
  if (!shape || !view || !nax || !t || !oshape ||
      !add_node(cx, g, TFL_RESHAPE, n->name, x, shape, view) ||
      !add_node(cx, g, TFL_RESHAPE, n->name, t, oshape, y))
    return failed(cx);
  n->in[0] = view;
  n->in[1] = nax;
  n->out[0] = t;
  n->opt.keep_dims = true;
  (*done)++;
  return O2L_OK;
}

/* Vela reduces the depth of a [B,]H,W,C map only when H, W or C is 1
 * (LayerNorm written out, GroupNorm's statistics: ConvNeXt had 44 MEANs
 * on the CPU).  A MEAN over the channels alone reads the map as
 * [B,]1,H*W,C; one over the channels and H and/or W first averages those
 * spatial axes (a mean of equal-sized means is the mean), which leaves H
 * or W at 1.  A RESHAPE restores the original output shape. */
static Status mean_depth(Ctx *cx, Graph *g, Node *n, int *done) {
  Value *x = n->in[0], *y = n->out[0];
  int r = x->rank, o = r - 3; /* H, W, C are axes o, o+1, o+2 */
  bool red[O2L_MAX_RANK];
  if (!is_act(x) || y->dtype != DT_F32 || (r != 3 && r != 4) || !reduced_axes(n, red))
    return O2L_OK;
  const int64_t *d = x->dims;
  if (!red[o + 2] || (o && red[0]) || d[o] == 1 || d[o + 1] == 1 ||
      d[o + 2] == 1 || d[o] * d[o + 1] > INT32_MAX)
    return O2L_OK;
  int64_t depth = o + 2, sp[2], nsp = 0;
  for (int a = o; a <= o + 1; a++)
    if (red[a])
      sp[nsp++] = a;
  int64_t md[4], td[4];
  memcpy(md, d, sizeof(int64_t) * (size_t)r);
  for (int a = o; a <= o + 1; a++)
    md[a] = red[a] ? 1 : d[a];
  if (!nsp) { /* the map read as rows: [B,]1,H*W,C */
    md[o] = 1;
    md[o + 1] = d[o] * d[o + 1];
  }
  memcpy(td, md, sizeof td);
  td[o + 2] = 1;
  Value *src = graph_add_value(cx, g, q_name(cx, y->name, nsp ? "/spatial_mean" : "/rows"),
                               DT_F32, r, md);
  Value *src_arg = nsp ? i32s(cx, g, y->name, "/spatial_axes", (int)nsp, sp)
                       : i32s(cx, g, y->name, "/rows_shape", r, md);
  Value *depth_axis = i32s(cx, g, y->name, "/depth_axis", 1, &depth);
  bool same = y->rank == r && memcmp(y->dims, td, sizeof(int64_t) * (size_t)r) == 0;
  Value *t = same ? y : graph_add_value(cx, g, q_name(cx, y->name, "/depth_mean"),
                                        DT_F32, r, td);
  Value *oshape = same ? NULL : i32s(cx, g, y->name, "/mean_shape", y->rank, y->dims);
  if (!src || !src_arg || !depth_axis || !t || (!same && !oshape))
    return failed(cx);
  Node *dm;
  if (nsp) { /* n: the spatial mean; a new MEAN over the depth */
    n->in[1] = src_arg;
    n->out[0] = src;
    dm = add_node(cx, g, TFL_MEAN, n->name, src, depth_axis, t);
  } else { /* a RESHAPE into rows; n: the mean of the rows' depth */
    if (!add_node(cx, g, TFL_RESHAPE, n->name, x, src_arg, src))
      return failed(cx);
    n->in[0] = src;
    n->in[1] = depth_axis;
    n->out[0] = t;
    dm = n;
  }
  if (!dm || (!same && !add_node(cx, g, TFL_RESHAPE, n->name, t, oshape, y)))
    return failed(cx);
  n->opt.keep_dims = true;
  dm->opt.keep_dims = true;
  (*done)++;
  return O2L_OK;
}

/* ---- BROADCAST_TO into a broadcasting operator ----------------------------- */

static bool broadcasts(int op) {
  switch (op) {
  case TFL_ADD: case TFL_SUB: case TFL_MUL: case TFL_MAXIMUM: case TFL_MINIMUM:
  case TFL_SQUARED_DIFFERENCE: case TFL_DIV:
    return true;
  default:
    return false;
  }
}

/* Whether binary n still computes its output's shape with input k read
 * as v (numpy broadcasting, right-aligned). */
static bool same_broadcast(const Node *n, int k, const Value *v) {
  const Value *a = k == 0 ? v : n->in[0], *b = k == 1 ? v : n->in[1];
  const Value *y = n->out[0];
  if (!a || !b || a->rank > y->rank || b->rank > y->rank)
    return false;
  for (int i = 0; i < y->rank; i++) {
    int ia = i - (y->rank - a->rank), ib = i - (y->rank - b->rank);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    int64_t want = da == 1 ? db : da;
    if ((da != 1 && db != 1 && da != db) || want != y->dims[i])
      return false;
  }
  return true;
}

/* An Expand feeding only elementwise binaries (ECA / SE gates written as
 * x * gate.expand_as(x)) is a BROADCAST_TO those operators do themselves;
 * Vela does not know BROADCAST_TO at all ("operator: None", on the CPU).
 * The consumers read its input directly; the BROADCAST_TO is left for
 * dead-node removal. */
static Status broadcast_elide(Ctx *cx, Graph *g, Node *n, int *done) {
  Value *s = n->in[0], *y = n->out[0];
  if (!is_act(s) || y->is_output || y->nuses == 0)
    return O2L_OK;
  Node *users[16];
  int k = graph_consumers(g, y, users, 16);
  if (k <= 0 || k > 16)
    return O2L_OK;
  for (int i = 0; i < k; i++) {
    Node *c = users[i];
    if (!broadcasts(c->op) || c->nin != 2 || c->nout != 1)
      return O2L_OK;
    for (int j = 0; j < 2; j++)
      if (c->in[j] == y && !same_broadcast(c, j, s))
        return O2L_OK;
  }
  for (int i = 0; i < k; i++)
    for (int j = 0; j < 2; j++)
      if (users[i]->in[j] == y)
        users[i]->in[j] = s;
  n->dead = true;
  (*done)++;
  (void)cx;
  return O2L_OK;
}

/* ---- TILE -> CONCATENATION ------------------------------------------------ */

/* int8 TILE is version 3, which the reference resolver does not register,
 * and Ethos-U runs no TILE: each tiled axis becomes a CONCATENATION of
 * that many copies (same bytes: tiling repeats the whole tensor along the
 * axis).  Up to 64 copies in all. */
static Status tile_concat(Ctx *cx, Graph *g, Node *n, int *done) {
  Value *x = n->in[0], *y = n->out[0], *mv = n->nin > 1 ? n->in[1] : NULL;
  if (!is_act(x) || y->dtype != DT_F32 || !mv || !value_is_const(mv) ||
      (mv->dtype != DT_I32 && mv->dtype != DT_I64) || value_numel(mv) != x->rank)
    return O2L_OK;
  int64_t mult[O2L_MAX_RANK], total = 1;
  int last = -1;
  for (int a = 0; a < x->rank; a++) {
    mult[a] = load_as_i64(mv->data, mv->dtype, (size_t)a);
    if (mult[a] < 1 || mult[a] > 64)
      return O2L_OK;
    total *= mult[a];
    if (mult[a] > 1)
      last = a;
  }
  if (last < 0 || total > 64)
    return O2L_OK;
  Value *cur = x;
  int64_t dims[O2L_MAX_RANK];
  memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
  Node *first = NULL;
  for (int a = 0; a <= last; a++) {
    if (mult[a] == 1)
      continue;
    dims[a] *= mult[a];
    Value *out = a == last ? y
                           : graph_add_value(cx, g, q_name(cx, y->name, "/tiled"),
                                             DT_F32, x->rank, dims);
    Value **in = arena_alloc(cx->arena, sizeof(Value *) * (size_t)mult[a], 8);
    if (!out || !in)
      return failed(cx);
    for (int64_t k = 0; k < mult[a]; k++)
      in[k] = cur;
    Node *c;
    if (!first) { /* the TILE node itself becomes the first concatenation */
      c = n;
      c->in = in;
      c->nin = (int)mult[a];
      c->out[0] = out;
      first = c;
    } else if (!(c = graph_add_node(cx, g, TFL_CONCATENATION, n->name,
                                    (int)mult[a], in, 1, &out))) {
      return failed(cx);
    }
    c->op = TFL_CONCATENATION;
    c->op_type = tfl_op_name(TFL_CONCATENATION);
    memset(&c->opt, 0, sizeof c->opt);
    c->opt.axis = a;
    cur = out;
  }
  (*done)++;
  return O2L_OK;
}

/* ---- ELU -> MAXIMUM(x, EXP(MINIMUM(x, 0)) - 1) ---------------------------- */

static Status elu_decompose(Ctx *cx, Graph *g, Node *n, int *done) {
  Value *x = n->in[0], *y = n->out[0];
  if (!is_act(x) || y->dtype != DT_F32)
    return O2L_OK;
  Value *neg = like(cx, g, x, "/elu_neg");
  Value *e = like(cx, g, x, "/elu_exp");
  Value *em1 = like(cx, g, x, "/elu_expm1");
  Value *zero = scalar(cx, g, y->name, "/zero", 0.0f);
  Value *m1 = scalar(cx, g, y->name, "/minus_one", -1.0f);
  if (!neg || !e || !em1 || !zero || !m1)
    return failed(cx);
  n->op = TFL_MINIMUM;
  n->op_type = tfl_op_name(TFL_MINIMUM);
  Value **in = arena_alloc(cx->arena, 2 * sizeof(Value *), 8);
  if (!in)
    return failed(cx);
  in[0] = x;
  in[1] = zero;
  n->in = in;
  n->nin = 2;
  n->out[0] = neg;
  if (!add_node(cx, g, TFL_EXP, n->name, neg, NULL, e) ||
      !add_node(cx, g, TFL_ADD, n->name, e, m1, em1) ||
      !add_node(cx, g, TFL_MAXIMUM, n->name, x, em1, y))
    return failed(cx);
  (*done)++;
  return O2L_OK;
}

/* ---- DEPTH_TO_SPACE -> SPLIT, RESHAPEs, CONCATENATION, RESHAPE ----------- */


/* x [B,H,W,r*r*C] holds output pixel (h*r+i, w*r+j) channel c at channel
 * (i*r + j)*C + c: the i-th of r equal channel slices is [B,H,W,r*C] =
 * row i of every output row pair, already in (w, j, c) order; viewed as
 * [B,H,1,W*r*C] and concatenated along axis 2 the slices give
 * [B,H,r,W*r*C], which is y [B,H*r,W*r,C] byte for byte. */
static Status d2s_decompose(Ctx *cx, Graph *g, Node *n, int *done) {
  Value *x = n->in[0], *y = n->out[0];
  int64_t r = n->opt.block_size;
  if (!is_act(x) || y->dtype != DT_F32 || x->rank != 4 || y->rank != 4 ||
      r < 2 || r > 16)
    return O2L_OK;
  int64_t b = x->dims[0], h = x->dims[1], w = x->dims[2], c = y->dims[3];
  if (b <= 0 || h <= 0 || w <= 0 || c <= 0 || x->dims[3] != r * r * c ||
      y->dims[1] != h * r || y->dims[2] != w * r || w * r * c > INT32_MAX)
    return O2L_OK;
  int k = (int)r;
  int64_t sp[4] = {b, h, w, r * c}, sr[4] = {b, h, 1, w * r * c},
          sc[4] = {b, h, r, w * r * c}, zero = 3;
  Value **parts = arena_alloc(cx->arena, sizeof(Value *) * (size_t)k, 8);
  Value **rows = arena_alloc(cx->arena, sizeof(Value *) * (size_t)k, 8);
  Value **in = arena_alloc(cx->arena, 2 * sizeof(Value *), 8);
  Value *axis = i32s(cx, g, y->name, "/d2s_axis", 0, &zero);
  Value *rshape = i32s(cx, g, y->name, "/d2s_row_shape", 4, sr);
  Value *oshape = i32s(cx, g, y->name, "/d2s_shape", 4, y->dims);
  Value *cat = graph_add_value(cx, g, q_name(cx, y->name, "/d2s_rows"), DT_F32, 4, sc);
  if (!parts || !rows || !in || !axis || !rshape || !oshape || !cat)
    return failed(cx);
  for (int i = 0; i < k; i++) {
    char sfx[32];
    snprintf(sfx, sizeof sfx, "/d2s_part%d", i);
    parts[i] = graph_add_value(cx, g, q_name(cx, y->name, sfx), DT_F32, 4, sp);
    snprintf(sfx, sizeof sfx, "/d2s_row%d", i);
    rows[i] = graph_add_value(cx, g, q_name(cx, y->name, sfx), DT_F32, 4, sr);
    if (!parts[i] || !rows[i])
      return failed(cx);
  }
  n->op = TFL_SPLIT;
  n->op_type = tfl_op_name(TFL_SPLIT);
  memset(&n->opt, 0, sizeof n->opt);
  n->opt.num_splits = k;
  in[0] = axis;
  in[1] = x;
  n->in = in;
  n->nin = 2;
  n->out = parts;
  n->nout = k;
  for (int i = 0; i < k; i++)
    if (!add_node(cx, g, TFL_RESHAPE, n->name, parts[i], rshape, rows[i]))
      return failed(cx);
  Node *cn = graph_add_node(cx, g, TFL_CONCATENATION, n->name, k, rows, 1, &cat);
  if (!cn)
    return failed(cx);
  cn->op_type = tfl_op_name(TFL_CONCATENATION);
  cn->opt.axis = 2;
  if (!add_node(cx, g, TFL_RESHAPE, n->name, cat, oshape, y))
    return failed(cx);
  (*done)++;
  return O2L_OK;
}

/* The inverse: x [B,H*r,W*r,C] viewed as [B,H,r,W*r*C] splits along
 * axis 2 into the r sub-rows; each, viewed as [B,H,W,r*C], is channel
 * slice i of y, so concatenating them along the channels gives y. */
static Status s2d_decompose(Ctx *cx, Graph *g, Node *n, int *done) {
  Value *x = n->in[0], *y = n->out[0];
  int64_t r = n->opt.block_size;
  if (!is_act(x) || y->dtype != DT_F32 || x->rank != 4 || y->rank != 4 ||
      r < 2 || r > 16)
    return O2L_OK;
  int64_t b = y->dims[0], h = y->dims[1], w = y->dims[2], c = x->dims[3];
  if (b <= 0 || h <= 0 || w <= 0 || c <= 0 || y->dims[3] != r * r * c ||
      x->dims[1] != h * r || x->dims[2] != w * r || w * r * c > INT32_MAX)
    return O2L_OK;
  int k = (int)r;
  int64_t sv[4] = {b, h, r, w * r * c}, sp[4] = {b, h, 1, w * r * c},
          sr[4] = {b, h, w, r * c}, two = 2;
  Value **parts = arena_alloc(cx->arena, sizeof(Value *) * (size_t)k, 8);
  Value **rows = arena_alloc(cx->arena, sizeof(Value *) * (size_t)k, 8);
  Value **in = arena_alloc(cx->arena, 2 * sizeof(Value *), 8);
  Value *vshape = i32s(cx, g, y->name, "/s2d_shape", 4, sv);
  Value *axis = i32s(cx, g, y->name, "/s2d_axis", 0, &two);
  Value *rshape = i32s(cx, g, y->name, "/s2d_slice_shape", 4, sr);
  Value *view = graph_add_value(cx, g, q_name(cx, y->name, "/s2d_rows"), DT_F32, 4, sv);
  if (!parts || !rows || !in || !vshape || !axis || !rshape || !view)
    return failed(cx);
  for (int i = 0; i < k; i++) {
    char sfx[32];
    snprintf(sfx, sizeof sfx, "/s2d_row%d", i);
    parts[i] = graph_add_value(cx, g, q_name(cx, y->name, sfx), DT_F32, 4, sp);
    snprintf(sfx, sizeof sfx, "/s2d_part%d", i);
    rows[i] = graph_add_value(cx, g, q_name(cx, y->name, sfx), DT_F32, 4, sr);
    if (!parts[i] || !rows[i])
      return failed(cx);
  }
  n->op = TFL_RESHAPE;
  n->op_type = tfl_op_name(TFL_RESHAPE);
  memset(&n->opt, 0, sizeof n->opt);
  in[0] = x;
  in[1] = vshape;
  n->in = in;
  n->nin = 2;
  n->out[0] = view;
  Value *sin[2] = {axis, view};
  Node *sn = graph_add_node(cx, g, TFL_SPLIT, n->name, 2, sin, k, parts);
  if (!sn)
    return failed(cx);
  sn->op_type = tfl_op_name(TFL_SPLIT);
  sn->opt.num_splits = k;
  for (int i = 0; i < k; i++)
    if (!add_node(cx, g, TFL_RESHAPE, n->name, parts[i], rshape, rows[i]))
      return failed(cx);
  Node *cn = graph_add_node(cx, g, TFL_CONCATENATION, n->name, k, rows, 1, &y);
  if (!cn)
    return failed(cx);
  cn->op_type = tfl_op_name(TFL_CONCATENATION);
  cn->opt.axis = 3;
  (*done)++;
  return O2L_OK;
}

/* ---- DIV(x, SQRT(v)) -> MUL(x, RSQRT(v)) ---------------------------------- */

/* The single-use producer of v when it is one of ops (or NULL). */
static Node *only_use_of(const Value *v, int op) {
  Node *p = v ? v->producer : NULL;
  if (!p || p->dead || p->op != op || v->nuses != 1 || v->is_output || !is_act(v))
    return NULL;
  return p;
}

/* A scalar float constant's value, if c is one. */
static bool scalar_value(const Value *c, float *out) {
  if (!c || !value_is_const(c) || c->dtype != DT_F32 || value_numel(c) != 1)
    return false;
  *out = load_f32(c->data, 0);
  return true;
}

/* DIV(x, SQRT(v)) -> MUL(x, RSQRT(v)), and F.normalize's
 * DIV(x, [BROADCAST_TO] MAXIMUM(SQRT(v), e)) -> MUL(x, [BROADCAST_TO]
 * RSQRT(MAXIMUM(v, e*e))): 1 / max(sqrt(v), e) = rsqrt(max(v, e^2)) for
 * e >= 0, and the clamp stays on the small side of v's range (clamping
 * rsqrt at 1/e instead would put 1/e, e.g. 1e12, into its range). */
static Status div_sqrt(Ctx *cx, Graph *g, Node *n, int *done) {
  Value *d = n->nin == 2 ? n->in[1] : NULL;
  if (!is_act(n->in[0]) || !is_act(d))
    return O2L_OK;
  Node *b = only_use_of(d, TFL_BROADCAST_TO);
  Value *t = b ? b->in[0] : d;
  Node *s = only_use_of(t, TFL_SQRT);
  if (s) {
    s->op = TFL_RSQRT;
    s->op_type = tfl_op_name(TFL_RSQRT);
  } else {
    Node *m = only_use_of(t, TFL_MAXIMUM);
    float e;
    int k = m && scalar_value(m->in[1], &e) ? 0 : 1;
    if (!m || m->nin != 2 || !scalar_value(m->in[1 - k], &e) || !(e >= 0) ||
        !(s = only_use_of(m->in[k], TFL_SQRT)))
      return O2L_OK;
    Value *e2 = scalar(cx, g, m->in[1 - k]->name, "_squared", e * e);
    Value **in = arena_alloc(cx->arena, 2 * sizeof(Value *), 8);
    if (!e2 || !in)
      return failed(cx);
    /* s: SQRT(v) -> MAXIMUM(v, e^2); m: MAXIMUM(., e) -> RSQRT(.) */
    in[0] = s->in[0];
    in[1] = e2;
    s->in = in;
    s->nin = 2;
    s->op = TFL_MAXIMUM;
    s->op_type = tfl_op_name(TFL_MAXIMUM);
    m->in[0] = s->out[0];
    m->nin = 1;
    m->op = TFL_RSQRT;
    m->op_type = tfl_op_name(TFL_RSQRT);
  }
  n->op = TFL_MUL;
  n->op_type = tfl_op_name(TFL_MUL);
  (*done)++;
  return O2L_OK;
}

/* Whether v > 0 everywhere by construction: an exponential or a logistic,
 * or sums, means, products, copies of such tensors and positive constants
 * (a softmax written out divides by SUM(EXP(x - max)), when its axis is
 * not the one stored last).  depth bounds the walk. */
static bool positive(const Value *v, int depth) {
  if (!v || depth > 8)
    return false;
  if (value_is_const(v)) {
    if (v->dtype != DT_F32)
      return false;
    for (int64_t i = 0; i < value_numel(v); i++)
      if (!(load_f32(v->data, (size_t)i) > 0))
        return false;
    return value_numel(v) > 0;
  }
  const Node *p = v->producer;
  if (!p || p->dead)
    return false;
  switch (p->op) {
  case TFL_EXP: case TFL_LOGISTIC: case TFL_SOFTMAX:
    return true;
  case TFL_MEAN: case TFL_SUM: case TFL_RESHAPE: case TFL_SQUEEZE:
  case TFL_EXPAND_DIMS: case TFL_TRANSPOSE: case TFL_BROADCAST_TO:
  case TFL_MAX_POOL_2D: case TFL_AVERAGE_POOL_2D: case TFL_SQRT: case TFL_RSQRT:
    return positive(p->in[0], depth + 1);
  case TFL_MUL: case TFL_ADD: case TFL_CONCATENATION: case TFL_MAXIMUM:
    if (p->opt.act != TFL_ACT_NONE && p->opt.act != TFL_ACT_RELU)
      return false; /* RELU6 / RELU_N1_TO_1 clamp; RELU keeps positives */
    for (int i = 0; i < p->nin; i++)
      if (!positive(p->in[i], depth + 1))
        return false;
    return p->nin > 0;
  default:
    return false;
  }
}

/* DIV(x, y) with y > 0 by construction -> MUL(x, r * r), r = RSQRT(y):
 * LiteRT's int8 DIV is off by ~8 % and the float one leaves the integer
 * graph; RSQRT and MUL are integer everywhere (and on the NPU). */
static Status div_positive(Ctx *cx, Graph *g, Node *n, int *done) {
  Value *y = n->nin == 2 ? n->in[1] : NULL;
  if (n->op != TFL_DIV || !is_act(n->in[0]) || !is_act(y) || !positive(y, 0))
    return O2L_OK;
  Value *r = like(cx, g, y, "/rsqrt"), *r2 = like(cx, g, y, "/reciprocal");
  if (!r || !r2 || !add_node(cx, g, TFL_RSQRT, n->name, y, NULL, r) ||
      !add_node(cx, g, TFL_MUL, n->name, r, r, r2))
    return failed(cx);
  n->in[1] = r2;
  n->op = TFL_MUL;
  n->op_type = tfl_op_name(TFL_MUL);
  (*done)++;
  return O2L_OK;
}

/* ---- constants ------------------------------------------------------------ */

/* Marks in `foldable` (per node) every operator whose inputs are all
 * constants or outputs of such operators and whose outputs are not graph
 * outputs; returns how many there are. */
static int find_foldable(const Graph *g, bool *known, bool *foldable) {
  int count = 0;
  for (int i = 0; i < g->nvalues; i++)
    known[i] = value_is_const(g->values[i]);
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    bool all = !n->dead && n->nin > 0;
    for (int j = 0; j < n->nin && all; j++)
      all = !n->in[j] || known[n->in[j]->id];
    foldable[i] = all;
    if (!all)
      continue;
    for (int k = 0; k < n->nout; k++) {
      known[n->out[k]->id] = true;
      foldable[i] = foldable[i] && !n->out[k]->is_output;
    }
    count += foldable[i];
  }
  return count;
}

static Status fold_constants(Ctx *cx, Graph *g, int *done) {
  bool *known = xrealloc(NULL, sizeof(bool) * (size_t)(g->nvalues + 1));
  bool *foldable = xrealloc(NULL, sizeof(bool) * (size_t)(g->nnodes + 1));
  RefRunner *r = NULL;
  Status st = O2L_OK;
  if (!known || !foldable)
    st = ctx_oom(cx, "quantization rewrites");
  else if (find_foldable(g, known, foldable) > 0)
    st = ref_prepare(cx, g, &r);
  for (int i = 0; r && i < g->nnodes && st == O2L_OK; i++) {
    Node *n = g->nodes[i];
    if (!foldable[i])
      continue;
    for (int k = 0; k < n->nout && st == O2L_OK; k++) {
      Value *v = n->out[k];
      const void *src = ref_value_data(r, v);
      int64_t numel = value_numel(v);
      size_t bytes = (size_t)(numel > 0 ? numel : 0) * dtype_size(v->dtype);
      void *copy = src ? arena_alloc(cx->arena, bytes + 1, 16) : NULL;
      if (!src)
        st = ctx_err(cx, O2L_ERR_INTERNAL, "%s '%s': computed from constants "
                     "but not evaluated", tfl_op_name(n->op), n->name);
      else if (!copy)
        st = ctx_oom(cx, "folded constants");
      else {
        memcpy(copy, src, bytes);
        v->data = copy;
        v->nbytes = bytes;
        v->producer = NULL;
      }
    }
    n->dead = true;
    (*done)++;
  }
  ref_free(r);
  xfree(known);
  xfree(foldable);
  return st;
}

/* ---- driver --------------------------------------------------------------- */

Status quant_rewrite(Ctx *cx, Graph *g) {
  int sums = 0, means = 0, bcasts = 0, tiles = 0, elus = 0, d2s = 0, divs = 0,
      folded = 0;
  graph_uses(g);
  int n0 = g->nnodes;
  for (int i = 0; i < n0; i++) {
    Node *n = g->nodes[i];
    if (n->dead)
      continue;
    switch (n->op) {
    case TFL_SUM: TRY(sum_to_mean(cx, g, n, &sums)); break;
    case TFL_ELU: TRY(elu_decompose(cx, g, n, &elus)); break;
    case TFL_TILE: TRY(tile_concat(cx, g, n, &tiles)); break;
    case TFL_DEPTH_TO_SPACE: TRY(d2s_decompose(cx, g, n, &d2s)); break;
    case TFL_SPACE_TO_DEPTH: TRY(s2d_decompose(cx, g, n, &d2s)); break;
    case TFL_DIV:
      TRY(div_sqrt(cx, g, n, &divs));
      TRY(div_positive(cx, g, n, &divs));
      break;
    default: break;
    }
  }
  /* after div_sqrt, which looks through a BROADCAST_TO */
  for (int i = 0; i < n0; i++)
    if (!g->nodes[i]->dead && g->nodes[i]->op == TFL_BROADCAST_TO)
      TRY(broadcast_elide(cx, g, g->nodes[i], &bcasts));
  /* after SUM -> MEAN, so those MEANs get the NPU form too */
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i]->dead && g->nodes[i]->op == TFL_MEAN) {
      TRY(mean_rank(cx, g, g->nodes[i], &means));
      TRY(mean_depth(cx, g, g->nodes[i], &means));
    }
  if (sums + means + bcasts + tiles + elus + d2s + divs) {
    if (bcasts)
      graph_compact(g);
    TRY(graph_toposort(cx, g));
    graph_uses(g);
  }
  TRY(fold_constants(cx, g, &folded));
  if (folded) {
    graph_compact(g);
    TRY(graph_toposort(cx, g));
  }
  if (sums)
    ctx_report(cx, "integer rewrites: %d SUM as MEAN * count", sums);
  if (means)
    ctx_report(cx, "integer rewrites: %d MEAN(s) in the forms Ethos-U runs "
               "(at most 4-D, depth reduced only with H or W 1)", means);
  if (bcasts)
    ctx_report(cx, "integer rewrites: %d BROADCAST_TO read directly by the "
               "broadcasting operators after them", bcasts);
  if (tiles)
    ctx_report(cx, "integer rewrites: %d TILE as CONCATENATION", tiles);
  if (elus)
    ctx_report(cx, "integer rewrites: %d ELU as MAXIMUM(x, EXP(MINIMUM(x, "
               "0)) - 1)", elus);
  if (d2s)
    ctx_report(cx, "integer rewrites: %d DEPTH_TO_SPACE / SPACE_TO_DEPTH as "
               "SPLIT, RESHAPE and CONCATENATION", d2s);
  if (divs)
    ctx_report(cx, "integer rewrites: %d DIV as MUL by an RSQRT (of a square "
               "root, or squared for a positive divisor)", divs);
  if (folded)
    ctx_report(cx, "integer rewrites: %d operator(s) computed from constants "
               "only were folded", folded);
  return O2L_OK;
}
