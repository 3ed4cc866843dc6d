/* lower.h - what an operator's lowering (ops/<family>.c) may use to turn one
 * ONNX node into TFLite operators.
 *
 * Lowering walks the ONNX graph in topological order.  For every ONNX value
 * it records the TFLite tensor that holds its data and that tensor's Layout
 * (layout.h): the order of the data relative to the ONNX shape.  A lowering
 * asks for its inputs in the order it needs (lw_in_perm: "this input with
 * its axes permuted so"), and the driver gives back the tensor as it is
 * when the data is already in that order, a RESHAPE when only the shape
 * differs, or inserts one TRANSPOSE (remembered, so a value is converted at
 * most once per layout) and reports which node forced it.  Constants are
 * permuted at conversion time, never with an operator.
 *
 * Names: the TFLite tensor that finally holds an ONNX value carries the ONNX
 * name; helper tensors get the ONNX name plus a suffix.
 */
#ifndef O2L_LOWER_H
#define O2L_LOWER_H

#include "ir.h"
#include "lower/layout.h"
#include "ops/ops.h"

typedef struct LVal {
  Value *t;      /* TFLite tensor holding the data, NULL until lowered */
  Layout L;      /* order of t's data relative to the ONNX shape */
  bool has_hint; /* hint: the axis perm the value was made with */
  int hint[O2L_MAX_RANK];
  /* The ONNX node that left the data in no axis order of this value (a
   * Transpose of a reshaped tensor: a channel shuffle), for the report. */
  const Node *moved_by;
} LVal;

typedef struct LConv LConv; /* cache of converted copies */

struct Lower {
  Ctx *cx;
  Graph *src;   /* ONNX graph, shapes inferred, folded */
  Graph *dst;   /* TFLite graph being built */
  LVal *map;    /* by src value id */
  LConv *conv;  /* converted copies */
  int nconv, cconv;
  Node *cur;    /* ONNX node being lowered */
  int transposes_added;
};

/* ---- reading inputs ----------------------------------------------------- */

/* Input v with physical = transpose(v, perm) and TFLite shape `pdims` (the
 * permuted dims when pdims is NULL; otherwise any shape with the same
 * element count, e.g. [N,1,W,C] for a 1-D feature map).  `why` explains a
 * TRANSPOSE in the report, e.g. "Softmax needs axis 1 last".  Constants are
 * permuted at conversion time.  NULL on error (recorded in cx). */
Value *lw_in_perm(Lower *lw, Value *v, const int *perm, int prank,
                  const int64_t *pdims, const char *why);
/* Input v in ONNX order (plain), with TFLite shape pdims (v's own shape
 * when NULL). */
Value *lw_in_plain(Lower *lw, Value *v, int prank, const int64_t *pdims,
                   const char *why);
/* The axis perm v is stored with, if it is one (hint: its own, else
 * channels-last for rank >= 3); false if its data is in no axis order. */
bool lw_perm_of(Lower *lw, Value *v, int *perm);
/* Input v in whatever axis order it has, converting to `fallback` (NULL =
 * plain) when its order is no axis permutation.  The perm used is written
 * to perm. */
Value *lw_in_any(Lower *lw, Value *v, const int *fallback, int *perm,
                 const char *why);
/* lw_in_any falling back to channels-last (rank >= 3) or plain order. */
Value *lw_in_own_order(Lower *lw, Value *v, int *perm, const char *why);
const Layout *lw_layout(Lower *lw, Value *v);
/* The tensor holding v as it is, whatever its order (operators that do
 * not care about axes: unary elementwise).  Pair with lw_set_layout(out,
 * t, lw_layout(lw, v)).  Constants come back plain. */
Value *lw_in_asis(Lower *lw, Value *v);
/* Input v (logical [..., K]) for an operator that reads it as rows of K
 * features (FULLY_CONNECTED): the tensor holds whole rows in row order,
 * but the K features of a row may be stored permuted.  *kperm (arena, K
 * entries) then says which logical feature each stored position holds
 * (stored j = logical kperm[j]); NULL when in order.  This is how a
 * flatten of a channels-last map feeds a dense layer without a TRANSPOSE:
 * the weights' columns are permuted instead. */
Value *lw_in_rows(Lower *lw, Value *v, int64_t K, const int64_t **kperm,
                  const char *why);
/* Perm for an operator whose output has rank r and whose inputs broadcast
 * to it: the axis order of the first non-constant input of full shape
 * that is stored in a non-plain axis order; identity when there is none. */
void lw_pick_perm(Lower *lw, Node *n, int r, const int64_t *out_dims,
                  int *perm);
/* Input v for an operator of output rank r stored with perm (v is padded
 * with leading 1s to rank r, numpy style, then permuted). */
Value *lw_in_bcast(Lower *lw, Value *v, int r, const int *perm,
                   const char *why);

/* ---- making tensors and operators --------------------------------------- */

/* New activation tensor named after the current node's output 0 plus
 * suffix (suffix NULL: exactly the name of n->out[0]). */
Value *lw_tensor(Lower *lw, const char *suffix, DType t, int rank,
                 const int64_t *dims);
/* New constant; data is copied into the arena.  name_suffix is appended to
 * the current node's name. */
Value *lw_const(Lower *lw, const char *suffix, DType t, int rank,
                const int64_t *dims, const void *data);
/* As lw_const, but data is already arena memory the constant takes over
 * (no copy: weights computed by a lowering). */
Value *lw_const_take(Lower *lw, const char *suffix, DType t, int rank,
                     const int64_t *dims, void *data);
Value *lw_const_i32(Lower *lw, const char *suffix, int n, const int32_t *v);
/* Scalar float constant (rank 0, or rank given by shape for broadcasting). */
Value *lw_const_f32_scalar(Lower *lw, const char *suffix, float v);
/* A constant ONNX value permuted and reshaped: physical = transpose(v, perm)
 * with shape pdims (NULL = permuted dims), data converted to dtype t
 * (DT_UNDEF = keep). */
Value *lw_const_perm(Lower *lw, Value *v, const int *perm, int prank,
                     const int64_t *pdims, DType t);
/* dst = transpose(src, perm) for src of shape dims, elements of esz bytes
 * (permute.c: cache-friendly, for large weights).  src may be unaligned. */
void permute_copy(void *dst, const void *src, size_t esz, int rank,
                  const int64_t *dims, const int *perm);
/* Appends a TFLite operator; options start zeroed. */
Node *lw_op(Lower *lw, TflOp op, int nin, Value *const *in, int nout,
            Value *const *out);
/* The operator of the TFLite graph being built that writes t (NULL for
 * inputs and constants).  Value.producer is not maintained while
 * lowering. */
Node *lw_producer(Lower *lw, const Value *t);
/* True if every value of t is >= 0 by construction: made by a ReLU-like
 * operator, possibly through reshapes (so zero padding cannot win a max). */
bool lw_nonnegative(Lower *lw, const Value *t);
/* RESHAPE of t to dims (returns t itself when the shape already matches). */
Value *lw_reshape(Lower *lw, Value *t, int rank, const int64_t *dims,
                  const char *suffix);

/* ---- recording outputs -------------------------------------------------- */

/* ONNX value v is held by t, stored as transpose(v, perm) (perm NULL =
 * plain).  t's shape need not be the permuted shape, only its element
 * count must match. */
void lw_set_perm(Lower *lw, Value *v, Value *t, const int *perm);
void lw_set_layout(Lower *lw, Value *v, Value *t, const Layout *L);
/* v is a reshape of src: same tensor, same layout, no operator. */
void lw_alias(Lower *lw, Value *v, Value *src);

/* Errors naming the current node: "Conv 'conv1': ...". */
Status lw_err(Lower *lw, Status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The status a builder that returned NULL recorded, or an internal error
 * when it recorded none. */
Status lw_failed(Lower *lw);

/* Drives the whole lowering: src (an ONNX graph after the passes) to a new
 * TFLite graph in *out. */
Status lower_graph(Ctx *cx, Graph *src, Graph **out);

#endif
