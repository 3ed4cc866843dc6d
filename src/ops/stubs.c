/* stubs.c - operator functions not written yet.  Each returns an error
 * naming the node; delete a stub when its real function lands. */
#include "ops/ops.h"
#include "lower/lower.h"

Status conv_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status convt_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status pool_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status gpool_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status gemm_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}

Status matmul_lower(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED, "lowering of %s is not implemented", n->op_type);
}
