/* lower_einsum.c - Einsum equations that are a (batched) matrix product or
 * a transpose (einsum_params says which are accepted).
 *
 * Two operands: the letters fall into batch (b), free-in-A (m), free-in-B
 * (n) and contracted (k) groups, and the product is one BATCH_MATMUL of
 * A as [b, m, k] by B as [b, k, n] -- or one FULLY_CONNECTED when B is a
 * constant and there is no batch.  Which order each operand is read in is
 * chosen from how it is stored: [b, k, m] / [b, n, k] are read with the
 * adj_x / adj_y flags instead of a TRANSPOSE, and constants are arranged
 * at conversion time.  The result is stored as [b, m, n]; the output's
 * letter order is only a Layout over that (no TRANSPOSE unless a consumer
 * needs another order).  One operand: a transpose, which moves no data
 * (as lower_shape.c's Transpose).
 */
#include <stdio.h>
#include <string.h>

#include "lower/lower.h"
#include "ops/opattr.h"

static int pos_in(const char *term, char c) {
  const char *p = strchr(term, c);
  return p ? (int)(p - term) : -1;
}

/* Axes of term t holding the letters of `letters`, in that order. */
static int axes_of(const char *t, const char *letters, int *perm) {
  int k = 0;
  for (const char *c = letters; *c; c++)
    perm[k++] = pos_in(t, *c);
  return k;
}

/* Is v stored in the order perm (as a view: size-1 axes anywhere)? */
static bool stored_as(Lower *lw, Value *v, const int *perm) {
  if (value_is_const(v))
    return false;
  Layout W;
  layout_from_perm(&W, v->rank, v->dims, perm);
  return layout_eq(lw_layout(lw, v), &W);
}

static Status einsum_transpose(Lower *lw, Node *n, const EinsumParams *p) {
  Value *x = n->in[0], *y = n->out[0];
  int t[O2L_MAX_RANK];
  axes_of(p->term[0], p->term[1], t);
  if (value_is_const(x)) {
    Value *c = lw_in_perm(lw, x, t, 0, NULL, NULL);
    if (!c)
      return lw_failed(lw);
    lw_set_perm(lw, y, c, NULL);
    return O2L_OK;
  }
  Layout Y;
  if (layout_transpose(lw_layout(lw, x), x->rank, x->dims, t, &Y)) {
    Value *a = lw_in_asis(lw, x);
    if (!a)
      return lw_failed(lw);
    lw_set_layout(lw, y, a, &Y);
    return O2L_OK;
  }
  Value *a = lw_in_plain(lw, x, 0, NULL, "Einsum transpose of data in no "
                         "axis order");
  if (!a)
    return lw_failed(lw);
  int inv[O2L_MAX_RANK];
  perm_invert(x->rank, t, inv);
  lw_set_perm(lw, y, a, inv);
  return O2L_OK;
}

Status einsum_lower(Lower *lw, Node *n) {
  EinsumParams p;
  TRY(einsum_params(lw->cx, lw->src, n, &p));
  if (n->in[0]->dtype != DT_F32)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "%s operands: only float32 is "
                  "supported", dtype_name(n->in[0]->dtype));
  if (p.nin == 1)
    return einsum_transpose(lw, n, &p);
  const char *ta = p.term[0], *tb = p.term[1], *to = p.term[2];
  char bl[O2L_MAX_RANK + 1] = "", ml[O2L_MAX_RANK + 1] = "",
       nl[O2L_MAX_RANK + 1] = "", kl[O2L_MAX_RANK + 1] = "";
  int nb = 0, nm = 0, nn = 0, nk = 0;
  int64_t B = 1, M = 1, N = 1, K = 1;
  for (const char *c = to; *c; c++) {
    int64_t s = p.size[(unsigned char)*c];
    if (pos_in(ta, *c) >= 0 && pos_in(tb, *c) >= 0)
      bl[nb++] = *c, B *= s;
    else if (pos_in(ta, *c) >= 0)
      ml[nm++] = *c, M *= s;
    else
      nl[nn++] = *c, N *= s;
  }
  for (const char *c = ta; *c; c++)
    if (pos_in(to, *c) < 0)
      kl[nk++] = *c, K *= p.size[(unsigned char)*c];
  /* each concatenation names one operand's letters: at most O2L_MAX_RANK */
  char a_mk[3 * O2L_MAX_RANK + 1], a_km[3 * O2L_MAX_RANK + 1];
  char b_kn[3 * O2L_MAX_RANK + 1], b_nk[3 * O2L_MAX_RANK + 1];
  snprintf(a_mk, sizeof a_mk, "%s%s%s", bl, ml, kl);
  snprintf(a_km, sizeof a_km, "%s%s%s", bl, kl, ml);
  snprintf(b_kn, sizeof b_kn, "%s%s%s", bl, kl, nl);
  snprintf(b_nk, sizeof b_nk, "%s%s%s", bl, nl, kl);
  Value *A = n->in[0], *Bv = n->in[1], *y = n->out[0];
  int pa[O2L_MAX_RANK], pat[O2L_MAX_RANK], pb[O2L_MAX_RANK],
      pbt[O2L_MAX_RANK];
  axes_of(ta, a_mk, pa);
  axes_of(ta, a_km, pat);
  axes_of(tb, b_kn, pb);
  axes_of(tb, b_nk, pbt);
  /* the output, stored as [b, m, n] */
  char bmn[3 * O2L_MAX_RANK + 1];
  int q[O2L_MAX_RANK];
  snprintf(bmn, sizeof bmn, "%s%s%s", bl, ml, nl);
  axes_of(to, bmn, q);
  const char *why = "Einsum reads its operands as matrices";
  Value *out;
  if (value_is_const(Bv) && B == 1) {
    int64_t ad[2] = {M, K}, wd[2] = {N, K}, od[2] = {M, N};
    bool adj = stored_as(lw, A, pat) && !stored_as(lw, A, pa);
    Value *a = adj ? NULL : lw_in_perm(lw, A, pa, 2, ad, why);
    if (!adj) {
      Value *w = lw_const_perm(lw, Bv, pbt, 2, wd, DT_F32);
      out = lw_tensor(lw, NULL, DT_F32, 2, od);
      Value *in[3] = {a, w, NULL};
      Node *fc = a && w && out ? lw_op(lw, TFL_FULLY_CONNECTED, 3, in, 1, &out)
                               : NULL;
      if (!fc)
        return lw_failed(lw);
      lw_set_perm(lw, y, out, q);
      return O2L_OK;
    }
  }
  bool adj_x = stored_as(lw, A, pat) && !stored_as(lw, A, pa);
  bool adj_y = stored_as(lw, Bv, pbt) && !stored_as(lw, Bv, pb);
  int64_t ad[3] = {B, adj_x ? K : M, adj_x ? M : K};
  int64_t bd[3] = {B, adj_y ? N : K, adj_y ? K : N};
  int64_t od[3] = {B, M, N};
  Value *a = lw_in_perm(lw, A, adj_x ? pat : pa, 3, ad, why);
  Value *b = lw_in_perm(lw, Bv, adj_y ? pbt : pb, 3, bd, why);
  out = lw_tensor(lw, NULL, DT_F32, 3, od);
  Value *in[2] = {a, b};
  Node *mm = a && b && out ? lw_op(lw, TFL_BATCH_MATMUL, 2, in, 1, &out) : NULL;
  if (!mm)
    return lw_failed(lw);
  mm->opt.adj_x = adj_x;
  mm->opt.adj_y = adj_y;
  lw_set_perm(lw, y, out, q);
  return O2L_OK;
}
