/* reduce.c - MEAN SUM REDUCE_MAX REDUCE_MIN REDUCE_PROD over constant axes
 * (keep_dims), ARG_MAX / ARG_MIN, TOPK_V2 and CUMSUM.
 *
 * A reduction walks the input once in memory order with the output as a
 * second operand whose strides are 0 along reduced axes, so reducing the
 * spatial axes of NHWC (global pooling) accumulates whole channel rows and
 * reducing the last axis folds each row into one value.  MAX starts from
 * lowest() and MIN from max(), as TFLite does.
 */
#include <float.h>

#include "ref/ref_impl.h"

typedef struct ReduceState {
  int rank;
  int64_t dims[O2L_MAX_RANK];
  int64_t st[2][REF_ITER_MAX]; /* input, output */
  int64_t onumel, count;       /* count: input elements per output */
} ReduceState;

Status ref_reduce_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 2, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  const Value *in = n->in[0];
  int64_t axes[O2L_MAX_RANK * 2];
  int cnt = 0;
  TRY(ref_const_ints(p, n, 1, axes, O2L_MAX_RANK * 2, &cnt));
  bool red[O2L_MAX_RANK] = {false};
  for (int i = 0; i < cnt; i++) {
    int a;
    TRY(ref_axis(p, n, axes[i], in->rank, &a));
    red[a] = true;
  }
  ReduceState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  int64_t want[O2L_MAX_RANK], ost[O2L_MAX_RANK], ofull[O2L_MAX_RANK];
  int r = 0;
  s->count = 1;
  for (int i = 0; i < in->rank; i++) {
    ofull[i] = red[i] ? 1 : in->dims[i];
    if (red[i])
      s->count *= in->dims[i];
    if (!red[i] || n->opt.keep_dims)
      want[r++] = ofull[i];
  }
  TRY(ref_need_shape(p, n, n->out[0], "output", r, want));
  s->rank = in->rank;
  memcpy(s->dims, in->dims, sizeof s->dims);
  ref_strides(in->rank, in->dims, s->st[0]);
  ref_strides(in->rank, ofull, ost);
  for (int i = 0; i < in->rank; i++)
    s->st[1][i] = red[i] ? 0 : ost[i];
  s->onumel = ref_numel(n->out[0]);
  op->state = s;
  return O2L_OK;
}

Status ref_reduce_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const ReduceState *s = op->state;
  int kind = op->node->op;
  const float *in = op->in[0];
  float *out = op->out[0];
  float init = kind == TFL_REDUCE_MAX    ? -FLT_MAX
               : kind == TFL_REDUCE_MIN  ? FLT_MAX
               : kind == TFL_REDUCE_PROD ? 1.0f
                                         : 0.0f;
  for (int64_t i = 0; i < s->onumel; i++)
    out[i] = init;
  RefIter it;
  ref_iter_init(&it, s->rank, s->dims, 2,
                (const int64_t(*)[REF_ITER_MAX])s->st);
  int last = it.rank - 1;
  bool kept = it.st[1][last] != 0; /* innermost dim kept: rows of outputs */
  for (int64_t r = 0; r < it.outer; r++, ref_iter_next(&it)) {
    const float *restrict x = in + it.off[0];
    float *restrict o = out + it.off[1];
    int64_t n = it.n;
    if (kept) {
      switch (kind) {
      case TFL_REDUCE_MAX:
        for (int64_t j = 0; j < n; j++) o[j] = x[j] > o[j] ? x[j] : o[j];
        break;
      case TFL_REDUCE_MIN:
        for (int64_t j = 0; j < n; j++) o[j] = x[j] < o[j] ? x[j] : o[j];
        break;
      case TFL_REDUCE_PROD:
        for (int64_t j = 0; j < n; j++) o[j] *= x[j];
        break;
      default:
        for (int64_t j = 0; j < n; j++) o[j] += x[j];
        break;
      }
    } else {
      float a = o[0];
      switch (kind) {
      case TFL_REDUCE_MAX:
        for (int64_t j = 0; j < n; j++) a = x[j] > a ? x[j] : a;
        break;
      case TFL_REDUCE_MIN:
        for (int64_t j = 0; j < n; j++) a = x[j] < a ? x[j] : a;
        break;
      case TFL_REDUCE_PROD:
        for (int64_t j = 0; j < n; j++) a *= x[j];
        break;
      default:
        for (int64_t j = 0; j < n; j++) a += x[j];
        break;
      }
      o[0] = a;
    }
  }
  if (kind == TFL_MEAN && s->count > 0)
    for (int64_t i = 0; i < s->onumel; i++)
      out[i] /= (float)s->count;
  return O2L_OK;
}

/* ---- ARG_MAX / ARG_MIN ---------------------------------------------------- */

typedef struct ArgState {
  int64_t outer, axis, inner;
} ArgState;

Status ref_arg_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 2, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_UNDEF));
  DType ot = n->out[0]->dtype;
  if (ot != DT_I32 && ot != DT_I64)
    return ref_bad(p, n, "output is %s, expected int32 or int64",
                   dtype_name(ot));
  const Value *in = n->in[0];
  int axis = 0;
  TRY(ref_const_axis(p, n, 1, in->rank, &axis));
  ArgState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  int64_t want[O2L_MAX_RANK];
  int r = 0;
  for (int i = 0; i < in->rank; i++)
    if (i != axis)
      want[r++] = in->dims[i];
  s->axis = ref_frame_axis(in, axis, &s->outer, &s->inner);
  if (s->axis < 1)
    return ref_bad(p, n, "empty axis");
  TRY(ref_need_shape(p, n, n->out[0], "output", r, want));
  op->state = s;
  return O2L_OK;
}

Status ref_arg_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const ArgState *s = op->state;
  bool is_max = op->node->op == TFL_ARG_MAX;
  bool i64 = op->node->out[0]->dtype == DT_I64;
  const float *in = op->in[0];
  for (int64_t o = 0; o < s->outer; o++)
    for (int64_t k = 0; k < s->inner; k++) {
      const float *x = in + o * s->axis * s->inner + k;
      float best = x[0];
      int64_t bi = 0;
      for (int64_t a = 1; a < s->axis; a++) {
        float v = x[a * s->inner];
        if (is_max ? v > best : v < best) { /* ties keep the first */
          best = v;
          bi = a;
        }
      }
      int64_t oi = o * s->inner + k;
      if (i64)
        ((int64_t *)op->out[0])[oi] = bi;
      else
        ((int32_t *)op->out[0])[oi] = (int32_t)bi;
    }
  return O2L_OK;
}

/* ---- CUMSUM (exclusive: each sum leaves out its own element; reverse:
 * sums run from the end) ------------------------------------------------- */

Status ref_cumsum_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 2, 1));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  TRY(ref_need_same_shape(p, n, n->in[0], n->out[0]));
  const Value *in = n->in[0];
  int axis = 0;
  TRY(ref_const_axis(p, n, 1, in->rank, &axis));
  ArgState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  s->axis = ref_frame_axis(in, axis, &s->outer, &s->inner);
  op->state = s;
  return O2L_OK;
}

Status ref_cumsum_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const ArgState *s = op->state;
  bool excl = op->node->opt.exclusive, rev = op->node->opt.reverse;
  const float *in = op->in[0];
  float *out = op->out[0];
  for (int64_t o = 0; o < s->outer; o++)
    for (int64_t k = 0; k < s->inner; k++) {
      const float *x = in + o * s->axis * s->inner + k;
      float *y = out + o * s->axis * s->inner + k;
      float acc = 0;
      for (int64_t a = 0; a < s->axis; a++) {
        int64_t i = (rev ? s->axis - 1 - a : a) * s->inner;
        if (excl) {
          y[i] = acc;
          acc += x[i];
        } else {
          acc += x[i];
          y[i] = acc;
        }
      }
    }
  return O2L_OK;
}

/* ---- TOPK_V2: the k largest of each last-axis row, largest first; equal
 * values keep their order (lower index first) ---------------------------- */

typedef struct TopkState {
  int64_t rows, depth, k;
} TopkState;

Status ref_topk_prepare(RefPrep *p, RefOp *op) {
  const Node *n = op->node;
  TRY(ref_need_count(p, n, 2, 2, 2));
  TRY(ref_need_in(p, n, 0, DT_F32));
  TRY(ref_need_out(p, n, 0, DT_F32));
  TRY(ref_need_out(p, n, 1, DT_I32));
  const Value *in = n->in[0];
  int64_t k[1];
  int cnt = 0;
  TRY(ref_const_ints(p, n, 1, k, 1, &cnt));
  if (cnt != 1 || in->rank < 1 || k[0] < 0 || k[0] > in->dims[in->rank - 1])
    return ref_bad(p, n, "k must be one value in [0, last dim]");
  TopkState *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  s->depth = in->dims[in->rank - 1];
  s->rows = s->depth > 0 ? ref_numel(in) / s->depth : 0;
  s->k = k[0];
  int64_t want[O2L_MAX_RANK];
  memcpy(want, in->dims, sizeof want);
  want[in->rank - 1] = s->k;
  TRY(ref_need_shape(p, n, n->out[0], "values", in->rank, want));
  TRY(ref_need_shape(p, n, n->out[1], "indices", in->rank, want));
  op->state = s;
  return O2L_OK;
}

Status ref_topk_f32(RefEval *e, const RefOp *op) {
  (void)e;
  const TopkState *s = op->state;
  const float *in = op->in[0];
  float *val = op->out[0];
  int32_t *idx = op->out[1];
  for (int64_t r = 0; r < s->rows; r++) {
    const float *x = in + r * s->depth;
    float *v = val + r * s->k;
    int32_t *ix = idx + r * s->k;
    int64_t have = 0;
    for (int64_t i = 0; i < s->depth; i++) {
      /* Insertion into the sorted prefix; strict > keeps earlier ties first. */
      int64_t j = have < s->k ? have : s->k;
      if (j == s->k && !(x[i] > v[s->k - 1]))
        continue;
      if (j == s->k)
        j--;
      while (j > 0 && x[i] > v[j - 1]) {
        v[j] = v[j - 1];
        ix[j] = ix[j - 1];
        j--;
      }
      v[j] = x[i];
      ix[j] = (int32_t)i;
      if (have < s->k)
        have++;
    }
  }
  return O2L_OK;
}
