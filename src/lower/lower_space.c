/* lower_space.c - DepthToSpace and SpaceToDepth.
 *
 * TFLite's DEPTH_TO_SPACE and SPACE_TO_DEPTH work on NHWC data and order
 * the block inside the channels as ONNX's DCR mode does (block row, block
 * column, then channel), so on a channels-last map DepthToSpace and
 * SpaceToDepth in DCR mode (SpaceToDepth's only mode before opset 28) are
 * one operator each.
 *
 * PyTorch's PixelShuffle exports DepthToSpace in CRD mode (channel, then
 * block row, then block column).  When the map comes from a convolution
 * (possibly through elementwise activations) nothing else reads, the
 * convolution's output channels are renumbered into DCR order at
 * conversion time (its filter rows and bias permuted), and DEPTH_TO_SPACE
 * follows: no extra operator at all.
 * Otherwise the operator is what ONNX defines it as, a reshape to 6-D, a
 * transpose and a reshape back, which the layout algebra does without
 * moving data (as for Transpose, lower_shape.c): the output's Layout says
 * where its elements are, and the next operator that needs channels-last
 * pays one TRANSPOSE.  The same holds for any of the three on data that is
 * not channels-last.
 */
#include <string.h>

#include "lower/lower.h"
#include "ops/opattr.h"

/* Rows of the constant c ([M, ...] or [M]) reordered: row j of the result
 * is row src(j) of c, src(j) = (j % C') * b*b + j / C' (CRD -> DCR). */
static Value *crd_rows(Lower *lw, Value *c, int64_t b, const char *sfx) {
  int64_t M = c->dims[0], row = value_numel(c) / M, cp = M / (b * b);
  float *d = arena_alloc(lw->cx->arena, sizeof(float) * (size_t)(M * row), 16);
  if (!d) {
    ctx_oom(lw->cx, "renumbering convolution channels");
    return NULL;
  }
  for (int64_t j = 0; j < M; j++) {
    int64_t src = (j % cp) * b * b + j / cp;
    for (int64_t k = 0; k < row; k++)
      d[j * row + k] = load_f32(c->data, (size_t)(src * row + k));
  }
  return lw_const(lw, sfx, DT_F32, c->rank, c->dims, d);
}

/* Operators that treat every element alike, so renumbering channels before
 * them renumbers their output the same way. */
static bool channel_blind(int op) {
  switch (op) {
  case TFL_RELU: case TFL_RELU6: case TFL_RELU_N1_TO_1: case TFL_RELU_0_TO_1:
  case TFL_LEAKY_RELU: case TFL_LOGISTIC: case TFL_TANH: case TFL_HARD_SWISH:
  case TFL_ELU: case TFL_GELU:
    return true;
  default:
    return false;
  }
}

/* Tensor t is read by exactly one operator so far, and no ONNX value it
 * holds is read by anything else (now or later) or is a graph output. */
static bool private_tensor(Lower *lw, const Value *t) {
  int readers = 0;
  for (int i = 0; i < lw->dst->nnodes; i++)
    for (int j = 0; j < lw->dst->nodes[i]->nin; j++)
      readers += lw->dst->nodes[i]->in[j] == t;
  if (readers != 1)
    return false;
  for (int i = 0; i < lw->src->nvalues; i++) {
    const Value *v = lw->src->values[i];
    if (lw->map[v->id].t == t && (v->nuses > 1 || v->is_output))
      return false;
  }
  return true;
}

/* If tensor t (x's NHWC data) is written by a CONV_2D or TRANSPOSE_CONV
 * with constant float weights, possibly through elementwise activations,
 * and nothing else reads x or the tensors in between, renumber that
 * operator's output channels from CRD to DCR order. */
static bool absorb_crd(Lower *lw, Value *x, Value *t, int64_t b) {
  if (x->nuses != 1 || x->is_output || t->rank != 4)
    return false;
  Node *p = lw_producer(lw, t);
  while (p && channel_blind(p->op) && p->nin == 1 && p->nout == 1 &&
         p->in[0] && p->in[0]->rank == 4 && p->in[0]->quant == NULL &&
         value_same_shape(p->in[0], t) && !value_is_const(p->in[0]) &&
         private_tensor(lw, p->in[0]))
    p = lw_producer(lw, p->in[0]);
  if (!p || p->nout != 1 || p->out[0]->rank != 4 ||
      p->out[0]->dims[3] != t->dims[3])
    return false;
  int wi = 1, bi;
  if (p->op == TFL_CONV_2D)
    bi = 2;
  else if (p->op == TFL_TRANSPOSE_CONV)
    bi = 3;
  else
    return false;
  Value *w = p->in[wi], *bias = bi < p->nin ? p->in[bi] : NULL;
  int64_t C = t->dims[3];
  if (!value_is_const(w) || w->dtype != DT_F32 || w->rank != 4 ||
      w->dims[0] != C || w->quant)
    return false;
  if (bias && (!value_is_const(bias) || bias->dtype != DT_F32 ||
               value_numel(bias) != C || bias->quant))
    return false;
  /* Grouped convolutions tie output channels to input groups. */
  if (p->op == TFL_CONV_2D && w->dims[3] != p->in[0]->dims[3])
    return false;
  Value *nw = crd_rows(lw, w, b, "filter_dcr");
  Value *nb = bias ? crd_rows(lw, bias, b, "bias_dcr") : NULL;
  if (!nw || (bias && !nb))
    return false;
  p->in[wi] = nw;
  if (bias)
    p->in[bi] = nb;
  ctx_report(lw->cx, "%s '%s' (CRD): output channels of its convolution "
             "renumbered to DCR order, lowered as DEPTH_TO_SPACE",
             lw->cur->op_type, lw->cur->name);
  return true;
}

/* The ONNX definition as a view: x seen as 6-D (v6), transposed by t6. */
static Status as_layout(Lower *lw, Node *n, const int64_t *v6, const int *t6) {
  Value *x = n->in[0], *y = n->out[0];
  Layout X, Y;
  if (value_is_const(x))
    layout_plain(&X);
  else
    X = *lw_layout(lw, x);
  Value *t;
  if (layout_transpose(&X, 6, v6, t6, &Y)) {
    t = lw_in_asis(lw, x);
  } else {
    t = lw_in_plain(lw, x, 0, NULL, "its data is in no order a 6-D view of "
                    "the block rearrangement can express");
    layout_plain(&X);
    if (t && !layout_transpose(&X, 6, v6, t6, &Y))
      return lw_err(lw, O2L_ERR_INTERNAL, "no layout for the rearrangement");
  }
  if (!t)
    return lw_failed(lw);
  lw_set_layout(lw, y, t, &Y);
  return O2L_OK;
}

Status spacedepth_lower(Lower *lw, Node *n) {
  SpaceDepthParams p;
  TRY(spacedepth_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  int64_t b = p.block, N = x->dims[0], C = x->dims[1], H = x->dims[2],
          W = x->dims[3];
  bool d2s = n->op == OP_DepthToSpace;
  if (b == 1) {
    lw_alias(lw, y, x);
    return O2L_OK;
  }
  int cl[4], P[4];
  perm_channels_last(4, cl);
  bool is_cl = !value_is_const(x) && lw_perm_of(lw, x, P) &&
               !memcmp(P, cl, sizeof cl);
  bool ok_type = x->dtype == DT_F32 || x->dtype == DT_I32 ||
                 x->dtype == DT_I64 || x->dtype == DT_U8 || x->dtype == DT_I8;
  Value *t = is_cl && ok_type ? lw_in_perm(lw, x, cl, 0, NULL, NULL) : NULL;
  if (is_cl && ok_type && !t)
    return lw_failed(lw);
  if (t && (!p.crd || (d2s && absorb_crd(lw, x, t, b)))) {
    int64_t od[4] = {p.out[0], p.out[2], p.out[3], p.out[1]};
    Value *out = lw_tensor(lw, NULL, x->dtype, 4, od);
    Node *op = out ? lw_op(lw, d2s ? TFL_DEPTH_TO_SPACE : TFL_SPACE_TO_DEPTH,
                           1, &t, 1, &out)
                   : NULL;
    if (!op)
      return lw_failed(lw);
    op->opt.block_size = (int)b;
    lw_set_perm(lw, y, out, cl);
    return O2L_OK;
  }
  if (!d2s) { /* (N, C, H/b, b, W/b, b) -> DCR (N, b, b, C, H/b, W/b)
               * or CRD (N, C, b, b, H/b, W/b) */
    int64_t v6[6] = {N, C, H / b, b, W / b, b};
    int dcr[6] = {0, 3, 5, 1, 2, 4}, crd[6] = {0, 1, 3, 5, 2, 4};
    return as_layout(lw, n, v6, p.crd ? crd : dcr);
  }
  int64_t cp = C / (b * b);
  if (p.crd) { /* (N, C', b, b, H, W) -> (N, C', H, b, W, b) */
    int64_t v6[6] = {N, cp, b, b, H, W};
    int t6[6] = {0, 1, 4, 2, 5, 3};
    return as_layout(lw, n, v6, t6);
  }
  int64_t v6[6] = {N, b, b, cp, H, W}; /* -> (N, C', H, b, W, b) */
  int t6[6] = {0, 3, 4, 1, 5, 2};
  return as_layout(lw, n, v6, t6);
}
