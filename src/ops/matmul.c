/* matmul.c - Gemm, MatMul and Einsum (its matrix-product and transpose
 * forms): parameters, shape inference, and constant evaluation of small
 * MatMuls (constant sub-expressions of weights).
 *
 * MatMul follows numpy.matmul: a 1-D first operand gets a 1 prepended and
 * a 1-D second operand a 1 appended (both dropped from the result), and
 * the leading (batch) dimensions broadcast.
 */
#include <string.h>

#include "ops/opattr.h"

/* Largest MatMul folded, in multiply-adds. */
#define MATMUL_FOLD_MAX_MACS ((int64_t)1 << 26)

Status gemm_params(Ctx *cx, const Graph *g, const Node *n, GemmParams *p) {
  (void)g;
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 2, 3, 1));
  const Value *a = n->in[0], *b = n->in[1], *c = op_in(n, 2);
  char b1[96], b2[96];
  if (a->rank != 2 || b->rank != 2)
    return op_invalid(cx, n, "A and B must be 2-D, got %s and %s",
                      value_shape_str(a, b1, sizeof b1),
                      value_shape_str(b, b2, sizeof b2));
  TRY(op_need_float(cx, n, 0, "input A"));
  if (b->dtype != a->dtype || (c && c->dtype != a->dtype))
    return op_invalid(cx, n, "inputs must have one type; A is %s, B is %s%s%s",
                      dtype_name(a->dtype), dtype_name(b->dtype),
                      c ? ", C is " : "", c ? dtype_name(c->dtype) : "");
  int64_t ta, tb;
  TRY(op_attr_int(cx, n, "transA", 0, &ta));
  TRY(op_attr_int(cx, n, "transB", 0, &tb));
  TRY(op_attr_float(cx, n, "alpha", 1.0, &p->alpha));
  TRY(op_attr_float(cx, n, "beta", 1.0, &p->beta));
  p->trans_a = ta != 0;
  p->trans_b = tb != 0;
  p->M = a->dims[p->trans_a ? 1 : 0];
  p->K = a->dims[p->trans_a ? 0 : 1];
  int64_t kb = b->dims[p->trans_b ? 1 : 0];
  p->N = b->dims[p->trans_b ? 0 : 1];
  if (kb != p->K)
    return op_invalid(cx, n, "A %s (transA=%d) and B %s (transB=%d) have "
                      "different inner dimensions (%lld vs %lld)",
                      value_shape_str(a, b1, sizeof b1), (int)p->trans_a,
                      value_shape_str(b, b2, sizeof b2), (int)p->trans_b,
                      (long long)p->K, (long long)kb);
  p->has_c = c != NULL;
  int64_t mn[2] = {p->M, p->N};
  if (c && !op_unidir_ok(2, mn, c->rank, c->dims))
    return op_invalid(cx, n, "C has shape %s, which does not broadcast to the "
                      "result %lldx%lld", value_shape_str(c, b1, sizeof b1),
                      (long long)p->M, (long long)p->N);
  return O2L_OK;
}

Status gemm_infer(Ctx *cx, Graph *g, Node *n) {
  GemmParams p;
  TRY(gemm_params(cx, g, n, &p));
  int64_t d[2] = {p.M, p.N};
  op_set_out(n->out[0], n->in[0]->dtype, 2, d);
  return O2L_OK;
}

/* Shapes of a numpy matmul: the batch shape and M, K, N. */
typedef struct MatMulShape {
  int brank;
  int64_t batch[O2L_MAX_RANK];
  int64_t M, K, N;
  int out_rank;
  int64_t out[O2L_MAX_RANK];
} MatMulShape;

static Status matmul_shape(Ctx *cx, const Node *n, MatMulShape *s) {
  TRY(op_check_io(cx, n, 2, 2, 1));
  const Value *a = n->in[0], *b = n->in[1];
  char b1[96], b2[96];
  if (a->rank < 1 || b->rank < 1)
    return op_invalid(cx, n, "operands must have rank >= 1, got %s and %s",
                      value_shape_str(a, b1, sizeof b1),
                      value_shape_str(b, b2, sizeof b2));
  if (a->dtype != b->dtype)
    return op_invalid(cx, n, "A is %s but B is %s", dtype_name(a->dtype),
                      dtype_name(b->dtype));
  if (a->dtype == DT_BOOL || a->dtype == DT_STRING)
    return op_invalid(cx, n, "operands must be numeric, got %s",
                      dtype_name(a->dtype));
  s->M = a->rank == 1 ? 1 : a->dims[a->rank - 2];
  s->K = a->dims[a->rank - 1];
  int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  s->N = b->rank == 1 ? 1 : b->dims[b->rank - 1];
  if (kb != s->K)
    return op_invalid(cx, n, "A %s and B %s have different inner dimensions "
                      "(%lld vs %lld)", value_shape_str(a, b1, sizeof b1),
                      value_shape_str(b, b2, sizeof b2), (long long)s->K,
                      (long long)kb);
  int ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0;
  TRY(op_broadcast(cx, n, ra, a->dims, rb, b->dims, &s->brank, s->batch));
  s->out_rank = 0;
  for (int i = 0; i < s->brank; i++)
    s->out[s->out_rank++] = s->batch[i];
  if (a->rank > 1)
    s->out[s->out_rank++] = s->M;
  if (b->rank > 1)
    s->out[s->out_rank++] = s->N;
  return O2L_OK;
}

Status matmul_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  MatMulShape s;
  TRY(matmul_shape(cx, n, &s));
  op_set_out(n->out[0], n->in[0]->dtype, s.out_rank, s.out);
  return O2L_OK;
}

/* Offset of the first element of batch `bi` (a linear index over the
 * result's batch shape) in an operand with `r` batch dims of `d`. */
static int64_t batch_offset(const MatMulShape *s, int64_t bi, int r,
                            const int64_t *d, int64_t mat) {
  int64_t off = 0, stride = mat;
  for (int i = s->brank - 1; i >= 0; i--) {
    int64_t c = bi % s->batch[i];
    bi /= s->batch[i];
    int id = i - (s->brank - r);
    if (id >= 0) {
      if (d[id] != 1)
        off += c * stride;
      stride *= d[id];
    }
  }
  return off;
}

Status matmul_fold(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  MatMulShape s;
  TRY(matmul_shape(cx, n, &s));
  const Value *a = n->in[0], *b = n->in[1];
  Value *y = n->out[0];
  int64_t ny = op_numel(y);
  if (ny < 0 || ny > OP_FOLD_MAX_ELEMS ||
      (s.K && ny > MATMUL_FOLD_MAX_MACS / s.K))
    return O2L_OK; /* too big to be worth it: left to the runtime */
  void *out = op_fold_alloc(cx, y);
  if (!out)
    return cx->status;
  if (ny == 0)
    return O2L_OK;
  int64_t nb = ny / (s.M * s.N);
  int ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0;
  bool flt = dtype_is_float(y->dtype);
  for (int64_t bi = 0; bi < nb; bi++) {
    int64_t oa = batch_offset(&s, bi, ra, a->dims, s.M * s.K);
    int64_t ob = batch_offset(&s, bi, rb, b->dims, s.K * s.N);
    int64_t oy = bi * s.M * s.N;
    for (int64_t i = 0; i < s.M; i++)
      for (int64_t j = 0; j < s.N; j++) {
        size_t yi = (size_t)(oy + i * s.N + j);
        if (flt) {
          double acc = 0;
          for (int64_t k = 0; k < s.K; k++)
            acc += load_as_f64(a->data, a->dtype, (size_t)(oa + i * s.K + k)) *
                   load_as_f64(b->data, b->dtype, (size_t)(ob + k * s.N + j));
          store_from_f64(out, y->dtype, yi, acc);
        } else {
          uint64_t acc = 0;
          for (int64_t k = 0; k < s.K; k++)
            acc += (uint64_t)load_as_i64(a->data, a->dtype,
                                         (size_t)(oa + i * s.K + k)) *
                   (uint64_t)load_as_i64(b->data, b->dtype,
                                         (size_t)(ob + k * s.N + j));
          op_store_i64(out, y->dtype, yi, (int64_t)acc);
        }
      }
  }
  return O2L_OK;
}

/* ---- Einsum ------------------------------------------------------------- */

/* One term's letters into out (at most O2L_MAX_RANK, none twice). */
static Status einsum_term(Ctx *cx, const Node *n, const char *s, size_t len,
                          char *out) {
  if (len > O2L_MAX_RANK)
    return op_unsup(cx, n, "term '%.*s' has more than %d letters", (int)len, s,
                    O2L_MAX_RANK);
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '.')
      return op_unsup(cx, n, "ellipsis ('...') in the equation is not "
                      "supported");
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
      return op_invalid(cx, n, "character '%c' in the equation", c);
    if (memchr(s, c, i))
      return op_unsup(cx, n, "letter '%c' twice in the term '%.*s' (a "
                      "diagonal) is not supported", c, (int)len, s);
    out[i] = c;
  }
  out[len] = 0;
  return O2L_OK;
}

static int letter_in(const char *term, char c) {
  return strchr(term, c) != NULL;
}

Status einsum_params(Ctx *cx, const Graph *g, const Node *n, EinsumParams *p) {
  (void)g;
  memset(p, 0, sizeof *p);
  const char *eq;
  TRY(op_attr_str(cx, n, "equation", NULL, &eq));
  if (!eq)
    return op_invalid(cx, n, "the equation attribute is required");
  char buf[128];
  size_t k = 0;
  for (const char *q = eq; *q && k + 1 < sizeof buf; q++)
    if (*q != ' ')
      buf[k++] = *q;
  buf[k] = 0;
  const char *arrow = strstr(buf, "->");
  size_t lhs_len = arrow ? (size_t)(arrow - buf) : k;
  const char *comma = memchr(buf, ',', lhs_len);
  p->nin = comma ? 2 : 1;
  if (comma && memchr(comma + 1, ',', lhs_len - (size_t)(comma + 1 - buf)))
    return op_unsup(cx, n, "Einsum of more than two operands is not "
                    "supported");
  if (op_nin(n) != p->nin || n->nout != 1)
    return op_invalid(cx, n, "the equation '%s' has %d operand(s) but the "
                      "node %d input(s)", eq, p->nin, op_nin(n));
  size_t l0 = comma ? (size_t)(comma - buf) : lhs_len;
  TRY(einsum_term(cx, n, buf, l0, p->term[0]));
  if (comma)
    TRY(einsum_term(cx, n, comma + 1, lhs_len - l0 - 1, p->term[1]));
  char *out = p->term[p->nin];
  if (arrow) {
    TRY(einsum_term(cx, n, arrow + 2, strlen(arrow + 2), out));
  } else { /* implicit: the letters seen once, in alphabetical order */
    int m = 0;
    for (int c = 0; c < 128; c++) {
      int seen = 0;
      for (int i = 0; i < p->nin; i++)
        seen += letter_in(p->term[i], (char)c) && c;
      if (seen == 1 && m < O2L_MAX_RANK)
        out[m++] = (char)c;
    }
    out[m] = 0;
  }
  for (int i = 0; i < p->nin; i++) {
    const Value *v = n->in[i];
    if ((int)strlen(p->term[i]) != v->rank)
      return op_invalid(cx, n, "term '%s' has %d letters but operand %d has "
                        "rank %d", p->term[i], (int)strlen(p->term[i]), i,
                        v->rank);
    TRY(op_need_float(cx, n, i, "an operand"));
    for (int a = 0; a < v->rank; a++) {
      int c = (unsigned char)p->term[i][a];
      if (p->size[c] && p->size[c] != v->dims[a])
        return op_unsup(cx, n, "letter '%c' has size %lld and %lld "
                        "(broadcasting is not supported)", c,
                        (long long)p->size[c], (long long)v->dims[a]);
      p->size[c] = v->dims[a];
    }
  }
  if (p->nin == 2 && n->in[0]->dtype != n->in[1]->dtype)
    return op_invalid(cx, n, "operands of types %s and %s",
                      dtype_name(n->in[0]->dtype), dtype_name(n->in[1]->dtype));
  p->out_rank = (int)strlen(out);
  for (int a = 0; a < p->out_rank; a++) {
    int c = (unsigned char)out[a];
    if (!p->size[c])
      return op_invalid(cx, n, "output letter '%c' is in no input", c);
    p->out[a] = p->size[c];
  }
  /* Only products and transposes: no letter summed within one operand. */
  for (int i = 0; i < p->nin; i++)
    for (const char *c = p->term[i]; *c; c++)
      if (!letter_in(out, *c) &&
          (p->nin == 1 || !letter_in(p->term[1 - i], *c)))
        return op_unsup(cx, n, "letter '%c' is summed within operand %d; "
                        "only matrix-product and transpose equations are "
                        "supported", *c, i);
  return O2L_OK;
}

Status einsum_infer(Ctx *cx, Graph *g, Node *n) {
  EinsumParams p;
  TRY(einsum_params(cx, g, n, &p));
  op_set_out(n->out[0], n->in[0]->dtype, p.out_rank, p.out);
  return O2L_OK;
}
