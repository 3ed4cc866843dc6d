/* ops.c - the operator table built from ops.def, and lookup by name. */
#include <string.h>

#include "ops/ops.h"
#include "lower/lower.h"

const OpDef op_defs[OP_COUNT] = {
#define OP(name, infer, fold, lower, flags) {#name, infer, fold, lower, flags},
#include "ops.def"
#undef OP
};

int op_lookup(const char *op_type) {
  for (int i = 0; i < OP_COUNT; i++)
    if (strcmp(op_defs[i].name, op_type) == 0)
      return i;
  return -1;
}

Status fold_none(Ctx *cx, Graph *g, Node *n) {
  (void)cx;
  (void)g;
  (void)n;
  return O2L_OK;
}

Status lower_none(Lower *lw, Node *n) {
  return lw_err(lw, O2L_ERR_UNSUPPORTED,
                "its result depends on data only known at run time; only "
                "constant %s nodes (static shapes) can be converted",
                n->op_type);
}
