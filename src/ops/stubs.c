/* stubs.c - operator functions not written yet.  Each returns an error
 * naming the node; delete a stub when its real function lands. */
#include "ops/ops.h"
#include "lower/lower.h"

Status conv_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status conv_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status convt_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status convt_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status pool_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status pool_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status gpool_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status gpool_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status gemm_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status gemm_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status matmul_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status matmul_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status matmul_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status binary_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status binary_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status binary_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status where_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status where_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status where_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status unary_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status unary_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status unary_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status clip_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status clip_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status clip_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status bn_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status bn_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status softmax_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status softmax_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status cast_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status cast_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status concat_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status concat_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status constant_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status constant_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status cos_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status cos_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status identity_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status identity_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status expand_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status expand_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status flatten_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status reshape_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status gather_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status gather_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status pad_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status pad_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status range_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status range_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status reshape_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status shape_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status shape_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status size_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status size_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status slice_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status slice_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status split_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status split_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status squeeze_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status tile_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status tile_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status transpose_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status transpose_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

Status unsqueeze_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status resize_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status argmax_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status reduce_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "infer of %s '%s' is not implemented", n->op_type, n->name);
}

Status reduce_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "fold of %s '%s' is not implemented", n->op_type, n->name);
}

