/* common.c - helpers every reference kernel uses: the prepare-time checks
 * that let eval trust shapes and dtypes, fused activations, and strided
 * iteration (broadcasting, views, reductions) with adjacent dims merged so
 * the innermost loop is as long and as contiguous as the layout allows.
 */
#include <stdarg.h>
#include <stdio.h>

#include "ref/ref_impl.h"

/* ---- checks ------------------------------------------------------------ */

const char *ref_op_desc(const Node *n) {
  /* Only used while formatting one message; per thread because conversions
   * may run in parallel. */
  static _Thread_local char buf[160];
  snprintf(buf, sizeof buf, "%s '%s'", tfl_op_name(n->op),
           n->name ? n->name : "");
  return buf;
}

Status ref_bad(RefPrep *p, const Node *n, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ctx_err(p->cx, O2L_ERR_INVALID, "reference kernel for %s: %s",
                 ref_op_desc(n), msg);
}

void *ref_alloc(RefPrep *p, size_t n) {
  void *q = arena_alloc(p->arena, n ? n : 1, 64);
  if (!q)
    ctx_oom(p->cx, "reference kernel state");
  return q;
}

Status ref_need_count(RefPrep *p, const Node *n, int min_in, int max_in,
                      int nout) {
  if (n->nin < min_in || n->nin > max_in)
    return ref_bad(p, n, "has %d inputs, expected %d to %d", n->nin, min_in,
                   max_in);
  if (nout >= 0 && n->nout != nout)
    return ref_bad(p, n, "has %d outputs, expected %d", n->nout, nout);
  for (int i = 0; i < n->nout; i++)
    if (!n->out[i])
      return ref_bad(p, n, "output %d is missing", i);
  return O2L_OK;
}

static Status need_type(RefPrep *p, const Node *n, const Value *v,
                        const char *what, int i, DType t) {
  if (v->rank < 0)
    return ref_bad(p, n, "%s %d ('%s') has an unknown shape", what, i,
                   v->name);
  if (ref_numel(v) < 0)
    return ref_bad(p, n, "%s %d ('%s') has a bad shape", what, i, v->name);
  if (t != DT_UNDEF && v->dtype != t)
    return ref_bad(p, n, "%s %d ('%s') is %s, expected %s", what, i, v->name,
                   dtype_name(v->dtype), dtype_name(t));
  return O2L_OK;
}

Status ref_need_in(RefPrep *p, const Node *n, int i, DType t) {
  if (i >= n->nin || !n->in[i])
    return ref_bad(p, n, "input %d is missing", i);
  return need_type(p, n, n->in[i], "input", i, t);
}

Status ref_need_in_opt(RefPrep *p, const Node *n, int i, DType t) {
  if (i >= n->nin || !n->in[i])
    return O2L_OK;
  return need_type(p, n, n->in[i], "input", i, t);
}

Status ref_need_out(RefPrep *p, const Node *n, int i, DType t) {
  if (i >= n->nout || !n->out[i])
    return ref_bad(p, n, "output %d is missing", i);
  return need_type(p, n, n->out[i], "output", i, t);
}

Status ref_need_shape(RefPrep *p, const Node *n, const Value *v,
                      const char *what, int r, const int64_t *d) {
  bool ok = v->rank == r;
  for (int i = 0; ok && i < r; i++)
    ok = v->dims[i] == d[i];
  if (ok)
    return O2L_OK;
  char got[128], want[128];
  return ref_bad(p, n, "%s '%s' has shape [%s], expected [%s]", what, v->name,
                 dims_str(v->rank, v->dims, got, sizeof got),
                 dims_str(r, d, want, sizeof want));
}

Status ref_need_same_shape(RefPrep *p, const Node *n, const Value *a,
                           const Value *b) {
  return ref_need_shape(p, n, b, "output", a->rank, a->dims);
}

Status ref_const_ints(RefPrep *p, const Node *n, int i, int64_t *out, int max,
                      int *cnt) {
  if (i >= n->nin || !n->in[i])
    return ref_bad(p, n, "input %d is missing", i);
  const Value *v = n->in[i];
  if (!p->cdata[i])
    return ref_bad(p, n, "input %d ('%s') must be constant", i, v->name);
  if (v->dtype != DT_I32 && v->dtype != DT_I64)
    return ref_bad(p, n, "input %d ('%s') is %s, expected int32 or int64", i,
                   v->name, dtype_name(v->dtype));
  int64_t k = ref_numel(v);
  if (k < 0 || k > max)
    return ref_bad(p, n, "input %d ('%s') has %lld elements, at most %d", i,
                   v->name, (long long)k, max);
  for (int64_t j = 0; j < k; j++)
    out[j] = load_as_i64(p->cdata[i], v->dtype, (size_t)j);
  *cnt = (int)k;
  return O2L_OK;
}

Status ref_axis(RefPrep *p, const Node *n, int64_t axis, int rank, int *out) {
  if (axis < -rank || axis >= rank || rank == 0)
    return ref_bad(p, n, "axis %lld out of range for rank %d", (long long)axis,
                   rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return O2L_OK;
}

Status ref_const_axis(RefPrep *p, const Node *n, int i, int rank, int *out) {
  int64_t a[1];
  int cnt = 0;
  TRY(ref_const_ints(p, n, i, a, 1, &cnt));
  if (cnt != 1)
    return ref_bad(p, n, "axis must be one value");
  return ref_axis(p, n, a[0], rank, out);
}

int64_t ref_frame_axis(const Value *v, int axis, int64_t *outer,
                       int64_t *inner) {
  *outer = *inner = 1;
  for (int i = 0; i < axis; i++)
    *outer *= v->dims[i];
  for (int i = axis + 1; i < v->rank; i++)
    *inner *= v->dims[i];
  return v->dims[axis];
}

/* ---- padding ------------------------------------------------------------- */

int64_t ref_out_size(int padding, int64_t in, int k, int stride, int dil) {
  int64_t eff = (int64_t)(k - 1) * dil + 1;
  if (padding == TFL_PAD_SAME)
    return (in + stride - 1) / stride;
  if (padding == TFL_PAD_VALID)
    return in >= eff ? (in - eff) / stride + 1 : 0;
  return -1;
}

int ref_pad_before(int64_t in, int k, int stride, int dil, int64_t out) {
  int64_t eff = (int64_t)(k - 1) * dil + 1;
  int64_t total = (out - 1) * stride + eff - in;
  return total > 0 ? (int)(total / 2) : 0;
}

/* ---- fused activations ------------------------------------------------ */

bool ref_act_valid(int act) { return act >= TFL_ACT_NONE && act <= TFL_ACT_TANH; }

void ref_act_range(int act, float *lo, float *hi) {
  *lo = -INFINITY;
  *hi = INFINITY;
  switch (act) {
  case TFL_ACT_RELU: *lo = 0; break;
  case TFL_ACT_RELU6: *lo = 0; *hi = 6; break;
  case TFL_ACT_RELU_N1_TO_1: *lo = -1; *hi = 1; break;
  default: break;
  }
}

void ref_act_apply(int act, float *x, size_t n) {
  if (act == TFL_ACT_NONE || act == TFL_ACT_TANH)
    return;
  float lo, hi;
  ref_act_range(act, &lo, &hi);
  for (size_t i = 0; i < n; i++) {
    float v = x[i] < lo ? lo : x[i];
    x[i] = v > hi ? hi : v;
  }
}

/* ---- strided iteration -------------------------------------------------- */

void ref_strides(int rank, const int64_t *dims, int64_t *st) {
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    st[i] = s;
    s *= dims[i];
  }
}

void ref_bcast_strides(int R, int r, const int64_t *d, int64_t *st) {
  int64_t s = 1;
  for (int i = R - 1; i >= 0; i--) {
    int j = i - (R - r);
    if (j < 0 || d[j] == 1) {
      st[i] = 0;
    } else {
      st[i] = s;
      s *= d[j];
    }
  }
}

bool ref_bcast_shape(int ra, const int64_t *a, int rb, const int64_t *b,
                     int *r, int64_t *out) {
  int R = ra > rb ? ra : rb;
  for (int i = 0; i < R; i++) {
    int ia = i - (R - ra), ib = i - (R - rb);
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return false;
    out[i] = da == 1 ? db : da;
  }
  *r = R;
  return true;
}

Status ref_bcast_prepare(RefPrep *p, const Node *n, int nin, const int *ins,
                         RefBcast **out) {
  RefBcast *s = ref_alloc(p, sizeof *s);
  if (!s)
    return p->cx->status;
  int r = 0;
  int64_t d[O2L_MAX_RANK] = {0};
  for (int k = 0; k < nin; k++) {
    const Value *v = n->in[ins[k]];
    int64_t cur[O2L_MAX_RANK];
    memcpy(cur, d, sizeof cur);
    if (!ref_bcast_shape(r, cur, v->rank, v->dims, &r, d))
      return ref_bad(p, n, "input shapes do not broadcast");
  }
  TRY(ref_need_shape(p, n, n->out[0], "output", r, d));
  s->rank = r;
  memcpy(s->dims, d, sizeof d);
  ref_strides(r, d, s->st[0]);
  for (int k = 0; k < nin; k++) {
    const Value *v = n->in[ins[k]];
    ref_bcast_strides(r, v->rank, v->dims, s->st[k + 1]);
  }
  *out = s;
  return O2L_OK;
}

void ref_bcast_iter(RefIter *it, const RefBcast *s, int nops) {
  ref_iter_init(it, s->rank, s->dims, nops,
                (const int64_t(*)[REF_ITER_MAX])s->st);
}

void ref_iter_init(RefIter *it, int rank, const int64_t *dims, int nops,
                   const int64_t (*st)[REF_ITER_MAX]) {
  int r = 0;
  it->nops = nops;
  /* Drop size-1 dims, then merge a dim into the previous one when every
   * operand steps over the pair as over one dim. */
  for (int i = 0; i < rank; i++) {
    if (dims[i] == 1)
      continue;
    bool merge = r > 0;
    for (int k = 0; merge && k < nops; k++)
      merge = it->st[k][r - 1] == st[k][i] * dims[i];
    if (merge) {
      it->dims[r - 1] *= dims[i];
      for (int k = 0; k < nops; k++)
        it->st[k][r - 1] = st[k][i];
      continue;
    }
    it->dims[r] = dims[i];
    for (int k = 0; k < nops; k++)
      it->st[k][r] = st[k][i];
    r++;
  }
  if (r == 0) {
    it->dims[0] = 1;
    for (int k = 0; k < nops; k++)
      it->st[k][0] = 0;
    r = 1;
  }
  for (int i = 0; i < rank && i < REF_ITER_MAX; i++)
    if (dims[i] == 0) { /* an empty tensor: no rows at all */
      it->dims[0] = 0;
      r = 1;
      break;
    }
  it->rank = r;
  it->outer = 1;
  for (int i = 0; i < r - 1; i++)
    it->outer *= it->dims[i];
  it->n = it->dims[r - 1];
  if (it->n == 0)
    it->outer = 0;
  memset(it->idx, 0, sizeof it->idx);
  memset(it->off, 0, sizeof it->off);
}

void ref_iter_next(RefIter *it) {
  for (int d = it->rank - 2; d >= 0; d--) {
    for (int k = 0; k < it->nops; k++)
      it->off[k] += it->st[k][d];
    if (++it->idx[d] < it->dims[d])
      return;
    for (int k = 0; k < it->nops; k++)
      it->off[k] -= it->st[k][d] * it->dims[d];
    it->idx[d] = 0;
  }
}

/* Rows of n elements at strides sd / ss, m of them at steps md / ms. */
static void copy_block(unsigned char *d, int64_t sd, int64_t md,
                       const unsigned char *s, int64_t ss, int64_t ms,
                       int64_t m, int64_t n, size_t size) {
  if (size == 4) {
    for (int64_t i = 0; i < m; i++) {
      uint32_t *dp = (uint32_t *)(void *)(d + i * md * 4);
      const uint32_t *sp = (const uint32_t *)(const void *)(s + i * ms * 4);
      for (int64_t j = 0; j < n; j++)
        dp[j * sd] = sp[j * ss];
    }
    return;
  }
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++)
      memcpy(d + (i * md + j * sd) * (int64_t)size,
             s + (i * ms + j * ss) * (int64_t)size, size);
}

void ref_strided_copy(void *dst, const int64_t *dst_st, const void *src,
                      const int64_t *src_st, int rank, const int64_t *dims,
                      size_t size) {
  int64_t st[3][REF_ITER_MAX];
  for (int i = 0; i < rank; i++) {
    st[0][i] = dst_st[i];
    st[1][i] = src_st[i];
  }
  RefIter it;
  ref_iter_init(&it, rank, dims, 2, (const int64_t(*)[REF_ITER_MAX])st);
  int last = it.rank - 1;
  int64_t sd = it.st[0][last], ss = it.st[1][last], n = it.n;
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (sd == 1 && ss == 1) {
    for (int64_t r = 0; r < it.outer; r++, ref_iter_next(&it))
      memcpy(d + it.off[0] * (int64_t)size, s + it.off[1] * (int64_t)size,
             (size_t)n * size);
    return;
  }
  /* Strided rows (a transpose): the last two dims go in one block so short
   * rows (a channel shuffle's 2) do not pay the odometer per row.  The
   * inner loop takes whichever of the two is contiguous in the input. */
  int64_t m = 1, md = 0, ms = 0;
  if (it.rank >= 2) {
    m = it.dims[last - 1];
    md = it.st[0][last - 1];
    ms = it.st[1][last - 1];
    /* The same dims without the last: its rows are the blocks (the dims
     * are already merged, so this init keeps them as they are). */
    int64_t sub[REF_ITER_MAX], sst[3][REF_ITER_MAX];
    for (int i = 0; i < last; i++) {
      sub[i] = it.dims[i];
      sst[0][i] = it.st[0][i];
      sst[1][i] = it.st[1][i];
    }
    ref_iter_init(&it, last, sub, 2, (const int64_t(*)[REF_ITER_MAX])sst);
  }
  bool swap = ms == 1 && ss != 1;
  for (int64_t r = 0; r < it.outer; r++, ref_iter_next(&it)) {
    unsigned char *dp = d + it.off[0] * (int64_t)size;
    const unsigned char *sp = s + it.off[1] * (int64_t)size;
    if (swap)
      copy_block(dp, md, sd, sp, ms, ss, n, m, size);
    else
      copy_block(dp, sd, md, sp, ss, ms, m, n, size);
  }
}
