/* ops.h - the ONNX operator registry.
 *
 * One row per ONNX operator in ops.def says which functions implement it:
 * shape inference, constant evaluation (used by constant folding) and
 * lowering to TFLite, plus flags the passes ask about.  Passes never keep
 * their own list of op names; adding an operator is one row here and its
 * functions in the family file (ops/<family>.c).
 */
#ifndef O2L_OPS_H
#define O2L_OPS_H

#include "ir.h"

typedef struct Lower Lower; /* lower/lower.h */

/* Flags. */
enum {
  F_ELEMENTWISE = 1 << 0, /* output[i] depends on input[i] only (any layout) */
  F_ACTIVATION = 1 << 1,  /* unary activation a producer may fuse */
  F_SPATIAL = 1 << 2,     /* input 0 is a feature map it wants channels-last */
  F_NOOP = 1 << 3,        /* output 0 = input 0 at inference (Identity, Dropout) */
  F_SHAPE_ONLY = 1 << 4,  /* reads only the shape of input 0 (Shape, Size) */
  F_BROADCAST = 1 << 5    /* multidirectional broadcasting of its inputs */
};

/* Shape/type inference: fills rank, dims and dtype of n->out[] from the
 * inputs, validating attributes and input shapes.  Errors name the node. */
typedef Status (*InferFn)(Ctx *cx, Graph *g, Node *n);
/* Constant evaluation: every input that is not omitted is constant (or, for
 * F_SHAPE_ONLY ops, has a known shape); sets n->out[i]->data/nbytes to
 * arena memory.  Returns O2L_OK without setting data to decline. */
typedef Status (*FoldFn)(Ctx *cx, Graph *g, Node *n);
/* Emits the TFLite operators for n (lower/lower.h). */
typedef Status (*LowerFn)(Lower *lw, Node *n);

typedef struct OpDef {
  const char *name;
  InferFn infer;
  FoldFn fold;   /* fold_none: never folded */
  LowerFn lower; /* lower_none: must have been folded or removed */
  unsigned flags;
} OpDef;

#define OP(name, infer, fold, lower, flags) OP_##name,
typedef enum {
#include "ops.def"
  OP_COUNT
} OnnxOp;
#undef OP

extern const OpDef op_defs[OP_COUNT];

/* OnnxOp for an op_type in the default domain, or -1. */
int op_lookup(const char *op_type);
static inline const OpDef *op_def(int op) { return &op_defs[op]; }

/* Every function named in ops.def.  Rows without a constant evaluation
 * name fold_none; ops that only exist to be folded away (Shape, Constant...)
 * name lower_none, which reports that the node could not be folded. */
#define OP(name, infer, fold, lower, flags) \
  Status infer(Ctx *, Graph *, Node *);     \
  Status fold(Ctx *, Graph *, Node *);      \
  Status lower(Lower *, Node *);
#include "ops.def"
#undef OP

#endif
