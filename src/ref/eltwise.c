/* eltwise.c - binary arithmetic (ADD SUB MUL DIV MAXIMUM MINIMUM POW
 * SQUARED_DIFFERENCE FLOOR_DIV FLOOR_MOD) with numpy broadcasting and fused
 * activations, comparisons into bool, LOGICAL_*, SELECT / SELECT_V2.
 *
 * Broadcasting goes through RefIter: operand strides are 0 along broadcast
 * dims and adjacent dims are merged, so the common cases (same shapes, a
 * scalar, a per-channel vector) become long rows with unit or zero strides,
 * each with its own vectorizable loop.
 */
#include "ref/ref_impl.h"

/* ---- arithmetic ---------------------------------------------------------- */

Status ref_binary_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 2, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_in(p, n, 1, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  static const int ins[2] = {0, 1};
  RefBcast *s = NULL;
  TRY(ref_bcast_prepare(p, n, 2, ins, &s));
  bool has_act = n->op == TFL_ADD || n->op == TFL_SUB || n->op == TFL_MUL ||
                 n->op == TFL_DIV;
  s->act = has_act ? n->opt.act : TFL_ACT_NONE;
  if (!ref_act_valid(s->act))
    return ref_bad(p, n, "fused activation %d unknown", s->act);
  op->state = s;
  return O2L_OK;
}

/* One row: o[j] = EXPR(x = a[j*sa], y = b[j*sb]) with the unit/zero
 * stride cases spelled out so each vectorizes. */
#define BIN_ROW(EXPR)                                         \
  do {                                                        \
    if (sa == 1 && sb == 1) {                                 \
      for (int64_t j = 0; j < n; j++) {                       \
        float x = a[j], y = b[j];                             \
        o[j] = (EXPR);                                        \
      }                                                       \
    } else if (sa == 1 && sb == 0) {                          \
      float y = b[0];                                         \
      for (int64_t j = 0; j < n; j++) {                       \
        float x = a[j];                                       \
        o[j] = (EXPR);                                        \
      }                                                       \
    } else if (sa == 0 && sb == 1) {                          \
      float x = a[0];                                         \
      for (int64_t j = 0; j < n; j++) {                       \
        float y = b[j];                                       \
        o[j] = (EXPR);                                        \
      }                                                       \
    } else {                                                  \
      for (int64_t j = 0; j < n; j++) {                       \
        float x = a[j * sa], y = b[j * sb];                   \
        o[j] = (EXPR);                                        \
      }                                                       \
    }                                                         \
  } while (0)

/* TFLite FloorMod: the remainder takes the divisor's sign. */
static inline float floor_mod(float x, float y) {
  float m = fmodf(x, y);
  return (m != 0 && ((y < 0) != (m < 0))) ? m + y : m;
}

static void binary_row(int op, float *restrict o, const float *restrict a,
                       int64_t sa, const float *restrict b, int64_t sb,
                       int64_t n) {
  switch (op) {
  case TFL_ADD: BIN_ROW(x + y); break;
  case TFL_SUB: BIN_ROW(x - y); break;
  case TFL_MUL: BIN_ROW(x * y); break;
  case TFL_DIV: BIN_ROW(x / y); break;
  case TFL_MAXIMUM: BIN_ROW(x < y ? y : x); break; /* std::max */
  case TFL_MINIMUM: BIN_ROW(y < x ? y : x); break; /* std::min */
  case TFL_POW: BIN_ROW(powf(x, y)); break;
  case TFL_SQUARED_DIFFERENCE: BIN_ROW((x - y) * (x - y)); break;
  case TFL_FLOOR_DIV: BIN_ROW(floorf(x / y)); break;
  case TFL_FLOOR_MOD: BIN_ROW(floor_mod(x, y)); break;
  default: break;
  }
}

Status ref_binary_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const RefBcast *s = op->state;
  RefIter it;
  ref_bcast_iter(&it, s, 3);
  int last = it.rank - 1;
  int64_t sa = it.st[1][last], sb = it.st[2][last];
  float *out = op->out[0];
  const float *A = op->in[0], *B = op->in[1];
  int kind = op->node->op;
  for (int64_t r = 0; r < it.outer; r++, ref_iter_next(&it)) {
    float *o = out + it.off[0];
    binary_row(kind, o, A + it.off[1], sa, B + it.off[2], sb, it.n);
    ref_act_apply(s->act, o, (size_t)it.n);
  }
  return O2L_OK;
}

/* ---- comparisons --------------------------------------------------------- */

Status ref_compare_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 2, 1));
  TRY(ref_need_in(p, n, 0, DT_UNDEF));
  DType t = n->in[0]->dtype;
  if (t != DT_F32 && t != DT_I32 && t != DT_I64)
    return ref_bad(p, n, "inputs are %s; float32, int32 or int64 expected",
                   dtype_name(t));
  TRY(ref_need_in(p, n, 1, t));
  TRY(ref_need_out(p, n, 0, DT_BOOL));
  static const int ins[2] = {0, 1};
  RefBcast *s = NULL;
  TRY(ref_bcast_prepare(p, n, 2, ins, &s));
  op->state = s;
  return O2L_OK;
}

static bool compare(int op, double x, double y) {
  switch (op) {
  case TFL_LESS: return x < y;
  case TFL_LESS_EQUAL: return x <= y;
  case TFL_GREATER: return x > y;
  case TFL_GREATER_EQUAL: return x >= y;
  case TFL_EQUAL: return x == y;
  default: return x != y;
  }
}

Status ref_compare_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const RefBcast *s = op->state;
  DType t = op->node->in[0]->dtype;
  RefIter it;
  ref_bcast_iter(&it, s, 3);
  int last = it.rank - 1;
  int64_t sa = it.st[1][last], sb = it.st[2][last];
  unsigned char *out = op->out[0];
  int kind = op->node->op;
  for (int64_t r = 0; r < it.outer; r++, ref_iter_next(&it))
    for (int64_t j = 0; j < it.n; j++) {
      double x, y;
      if (t == DT_F32) {
        x = ((const float *)op->in[0])[it.off[1] + j * sa];
        y = ((const float *)op->in[1])[it.off[2] + j * sb];
      } else if (t == DT_I32) {
        x = ((const int32_t *)op->in[0])[it.off[1] + j * sa];
        y = ((const int32_t *)op->in[1])[it.off[2] + j * sb];
      } else {
        x = (double)((const int64_t *)op->in[0])[it.off[1] + j * sa];
        y = (double)((const int64_t *)op->in[1])[it.off[2] + j * sb];
      }
      out[it.off[0] + j] = compare(kind, x, y);
    }
  return O2L_OK;
}

/* ---- logical ------------------------------------------------------------- */

Status ref_logical_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  int nin = n->op == TFL_LOGICAL_NOT ? 1 : 2;
  TRY(ref_need_count(p, n, nin, nin, 1));
  for (int i = 0; i < nin; i++)
    TRY(ref_need_in(p, n, i, DT_BOOL));
  TRY(ref_need_out(p, n, 0, DT_BOOL));
  static const int ins[2] = {0, 1};
  RefBcast *s = NULL;
  TRY(ref_bcast_prepare(p, n, nin, ins, &s));
  if (nin == 1)
    memset(s->st[2], 0, sizeof s->st[2]);
  op->state = s;
  return O2L_OK;
}

Status ref_logical_bool(RefEval *e, const RefOp *op) {
  (void)e;
  const RefBcast *s = op->state;
  RefIter it;
  ref_bcast_iter(&it, s, 3);
  int last = it.rank - 1;
  int64_t sa = it.st[1][last], sb = it.st[2][last];
  /* Bytes, not bool: a bool tensor from outside may hold any byte. */
  const unsigned char *A = op->in[0];
  const unsigned char *B = op->node->op == TFL_LOGICAL_NOT ? A : op->in[1];
  unsigned char *out = op->out[0];
  int kind = op->node->op;
  for (int64_t r = 0; r < it.outer; r++, ref_iter_next(&it))
    for (int64_t j = 0; j < it.n; j++) {
      bool x = A[it.off[1] + j * sa] != 0, y = B[it.off[2] + j * sb] != 0;
      out[it.off[0] + j] = kind == TFL_LOGICAL_AND ? (x && y)
                           : kind == TFL_LOGICAL_OR ? (x || y)
                                                    : !x;
    }
  return O2L_OK;
}

/* ---- SELECT / SELECT_V2 ----------------------------------------------------- */

Status ref_select_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 3, 3, 1));
  TRY(ref_need_in(p, n, 0, DT_BOOL));
  TRY(ref_need_in(p, n, 1, DT_UNDEF));
  DType t = n->in[1]->dtype;
  if (dtype_size(t) == 0)
    return ref_bad(p, n, "values of type %s", dtype_name(t));
  TRY(ref_need_in(p, n, 2, t));
  TRY(ref_need_out(p, n, 0, t));
  const Value *c = n->in[0], *x = n->in[1];
  static const int ins[3] = {0, 1, 2};
  RefBcast *s = NULL;
  if (n->op == TFL_SELECT && c->rank == 1 && x->rank > 1 &&
      c->dims[0] == x->dims[0]) {
    /* SELECT v1 with a vector condition picks whole rows of x / y. */
    TRY(ref_need_same_shape(p, n, x, n->in[2]));
    static const int xy[2] = {1, 2};
    TRY(ref_bcast_prepare(p, n, 2, xy, &s));
    memmove(s->st[2], s->st[1], sizeof s->st[1] * 2);
    memset(s->st[1], 0, sizeof s->st[1]);
    s->st[1][0] = 1;
  } else {
    TRY(ref_bcast_prepare(p, n, 3, ins, &s));
  }
  op->state = s;
  return O2L_OK;
}

Status ref_select_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const RefBcast *s = op->state;
  size_t es = dtype_size(op->node->in[1]->dtype);
  RefIter it;
  ref_bcast_iter(&it, s, 4);
  int last = it.rank - 1;
  int64_t sc = it.st[1][last], sx = it.st[2][last], sy = it.st[3][last];
  const unsigned char *C = op->in[0];
  const unsigned char *X = op->in[1], *Y = op->in[2];
  unsigned char *out = op->out[0];
  for (int64_t r = 0; r < it.outer; r++, ref_iter_next(&it))
    for (int64_t j = 0; j < it.n; j++) {
      const unsigned char *src = C[it.off[1] + j * sc]
                                     ? X + (it.off[2] + j * sx) * (int64_t)es
                                     : Y + (it.off[3] + j * sy) * (int64_t)es;
      memcpy(out + (it.off[0] + j) * (int64_t)es, src, es);
    }
  return O2L_OK;
}
