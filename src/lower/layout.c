/* layout.c - the algebra of data orders (layout.h).
 *
 * Everything here works on "factorizations" of a tensor's row-major index
 * space.  A factor list f (outermost first) splits the linear index into
 * mixed-radix digits; factor i has stride prod(f[i+1..]).  Two factor lists
 * of the same tensor can be compared digit by digit exactly when their
 * strides nest: the union of both stride sets, sorted, must be a chain in
 * which each stride divides the next.  Their common refinement then has
 * one factor per step of that chain.  Reshape, transpose and "which
 * TRANSPOSE turns this order into that one" are all computed on such
 * refinements.
 */
#include <string.h>

#include "lower/layout.h"

/* ---- perms ---------------------------------------------------------------- */

void perm_identity(int rank, int *perm) {
  for (int i = 0; i < rank; i++)
    perm[i] = i;
}

void perm_channels_last(int rank, int *perm) {
  if (rank < 3) {
    perm_identity(rank, perm);
    return;
  }
  perm[0] = 0;
  for (int i = 1; i < rank - 1; i++)
    perm[i] = i + 1;
  perm[rank - 1] = 1;
}

bool perm_is_identity(int rank, const int *perm) {
  for (int i = 0; i < rank; i++)
    if (perm[i] != i)
      return false;
  return true;
}

void perm_invert(int rank, const int *perm, int *inv) {
  for (int i = 0; i < rank; i++)
    inv[perm[i]] = i;
}

void perm_apply(int rank, const int64_t *dims, const int *perm, int64_t *out) {
  for (int i = 0; i < rank; i++)
    out[i] = dims[perm[i]];
}

/* ---- canonical form ------------------------------------------------------- */

/* Drops size-1 factors, then merges factors that are neighbours both
 * logically (i, i+1) and physically (i stored right before i+1). */
static void canonicalize(Layout *L) {
  int map[LAYOUT_MAX], k = 0;
  for (int i = 0; i < L->n; i++)
    map[i] = L->f[i] == 1 ? -1 : k++;
  Layout c;
  c.n = k;
  for (int i = 0; i < L->n; i++)
    if (map[i] >= 0)
      c.f[map[i]] = L->f[i];
  int j = 0;
  for (int i = 0; i < L->n; i++)
    if (map[L->p[i]] >= 0)
      c.p[j++] = map[L->p[i]];
  bool merged = true;
  while (merged) {
    merged = false;
    for (int pos = 0; pos + 1 < c.n; pos++) {
      int a = c.p[pos], b = c.p[pos + 1];
      if (b != a + 1)
        continue;
      c.f[a] *= c.f[b];
      for (int i = b; i + 1 < c.n; i++)
        c.f[i] = c.f[i + 1];
      for (int i = pos + 1; i + 1 < c.n; i++)
        c.p[i] = c.p[i + 1];
      c.n--;
      for (int i = 0; i < c.n; i++)
        if (c.p[i] > b)
          c.p[i]--;
      merged = true;
      break;
    }
  }
  *L = c;
}

void layout_plain(Layout *L) { L->n = 0; }

void layout_from_perm(Layout *L, int rank, const int64_t *dims,
                      const int *perm) {
  L->n = rank;
  for (int i = 0; i < rank; i++) {
    L->f[i] = dims[i];
    L->p[i] = perm ? perm[i] : i;
  }
  canonicalize(L);
}

bool layout_is_plain(const Layout *L) { return L->n <= 1; }

bool layout_eq(const Layout *a, const Layout *b) {
  if (layout_is_plain(a) && layout_is_plain(b))
    return true;
  if (a->n != b->n)
    return false;
  for (int i = 0; i < a->n; i++)
    if (a->f[i] != b->f[i] || a->p[i] != b->p[i])
      return false;
  return true;
}

/* ---- refinement ------------------------------------------------------------ */

/* Strides of a factor list: s[i] = prod(f[i+1..]). */
static void strides_of(int n, const int64_t *f, int64_t *s) {
  int64_t acc = 1;
  for (int i = n - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= f[i];
  }
}

typedef struct Refinement {
  int n;                  /* factors of the common refinement */
  int64_t r[2 * LAYOUT_MAX + O2L_MAX_RANK];
  int own_a[2 * LAYOUT_MAX + O2L_MAX_RANK]; /* owning factor in list a */
  int own_b[2 * LAYOUT_MAX + O2L_MAX_RANK]; /* owning factor in list b */
} Refinement;

#define REF_MAX (2 * LAYOUT_MAX + O2L_MAX_RANK)

/* Index of the factor of (n, f, s) whose stride range holds `stride`. */
static int owner_of(int n, const int64_t *f, const int64_t *s, int64_t stride) {
  for (int i = 0; i < n; i++)
    if (f[i] > 1 && stride >= s[i] && stride < s[i] * f[i])
      return i;
  return -1;
}

/* Common refinement of two factor lists of the same element count.  Size-1
 * factors own nothing.  False when the strides do not nest. */
static bool refine(int na, const int64_t *fa, int nb, const int64_t *fb,
                   Refinement *out) {
  int64_t sa[REF_MAX], sb[REF_MAX], chain[2 * REF_MAX + 2];
  strides_of(na, fa, sa);
  strides_of(nb, fb, sb);
  int64_t total_a = 1, total_b = 1;
  for (int i = 0; i < na; i++)
    total_a *= fa[i];
  for (int i = 0; i < nb; i++)
    total_b *= fb[i];
  if (total_a != total_b || total_a == 0)
    return false;
  /* Union of the strides (plus the total), sorted descending. */
  int m = 0;
  chain[m++] = total_a;
  for (int i = 0; i < na; i++)
    if (fa[i] > 1)
      chain[m++] = sa[i];
  for (int i = 0; i < nb; i++)
    if (fb[i] > 1)
      chain[m++] = sb[i];
  for (int i = 1; i < m; i++) /* insertion sort, descending */
    for (int j = i; j > 0 && chain[j] > chain[j - 1]; j--) {
      int64_t t = chain[j];
      chain[j] = chain[j - 1];
      chain[j - 1] = t;
    }
  int u = 0;
  for (int i = 0; i < m; i++)
    if (u == 0 || chain[i] != chain[u - 1])
      chain[u++] = chain[i];
  if (u - 1 > REF_MAX)
    return false;
  out->n = 0;
  for (int i = 0; i + 1 < u; i++) {
    if (chain[i] % chain[i + 1] != 0)
      return false;
    int k = out->n++;
    out->r[k] = chain[i] / chain[i + 1];
    out->own_a[k] = owner_of(na, fa, sa, chain[i + 1]);
    out->own_b[k] = owner_of(nb, fb, sb, chain[i + 1]);
    if (out->own_a[k] < 0 || out->own_b[k] < 0)
      return false;
  }
  return true;
}

/* Refinement factors in the physical order of layout L (whose factors are
 * list "a" of ref): for each physical position, the refinement factors
 * owned by that layout factor, outermost first. */
static int physical_sequence(const Layout *L, const Refinement *ref, int *seq) {
  int k = 0;
  for (int j = 0; j < L->n; j++)
    for (int i = 0; i < ref->n; i++)
      if (ref->own_a[i] == L->p[j])
        seq[k++] = i;
  return k;
}

/* The layout's factor list; a plain layout is the single factor `total`. */
static void layout_factors(const Layout *L, int64_t total, Layout *out) {
  if (L->n == 0) {
    out->n = total > 1 ? 1 : 0;
    out->f[0] = total;
    out->p[0] = 0;
  } else {
    *out = *L;
  }
}

static int64_t dims_total(int rank, const int64_t *dims) {
  int64_t t = 1;
  for (int i = 0; i < rank; i++)
    t *= dims[i];
  return t;
}

/* Order of the axes of dims (those > 1) in L's storage, if every axis's
 * refinement factors are stored together and outermost first. */
static bool axis_order(const Layout *L, int rank, const int64_t *dims,
                       int *order, int *norder) {
  Layout F;
  layout_factors(L, dims_total(rank, dims), &F);
  Refinement ref;
  if (!refine(F.n, F.f, rank, dims, &ref))
    return false;
  int seq[REF_MAX];
  int k = physical_sequence(&F, &ref, seq);
  *norder = 0;
  for (int i = 0; i < k; i++) {
    int d = ref.own_b[seq[i]];
    if (i > 0 && ref.own_b[seq[i - 1]] == d) {
      if (seq[i] != seq[i - 1] + 1) /* same axis, but out of order */
        return false;
      continue;
    }
    for (int j = 0; j < *norder; j++)
      if (order[j] == d) /* the axis comes back after another one */
        return false;
    order[(*norder)++] = d;
  }
  return true;
}

bool layout_axis_perm(const Layout *L, int rank, const int64_t *dims,
                      const int *hint, int *perm) {
  if (dims_total(rank, dims) == 0) { /* empty: any order is the same */
    if (hint)
      memcpy(perm, hint, sizeof(int) * (size_t)rank);
    else
      perm_identity(rank, perm);
    return true;
  }
  int order[O2L_MAX_RANK], n;
  if (!axis_order(L, rank, dims, order, &n))
    return false;
  /* The hint or the identity, if consistent with the order of the big axes. */
  int ident[O2L_MAX_RANK];
  perm_identity(rank, ident);
  const int *cands[2] = {hint, ident};
  for (int c = 0; c < 2; c++) {
    if (!cands[c])
      continue;
    int k = 0;
    bool ok = true;
    for (int i = 0; i < rank && ok; i++)
      if (dims[cands[c][i]] > 1)
        ok = order[k++] == cands[c][i];
    if (ok) {
      memcpy(perm, cands[c], sizeof(int) * (size_t)rank);
      return true;
    }
  }
  /* Otherwise the big axes in storage order, each size-1 axis placed right
   * after its logical predecessor. */
  int k = 0;
  for (int i = 0; i < n; i++)
    perm[k++] = order[i];
  for (int s = 0; s < rank; s++) {
    if (dims[s] > 1)
      continue;
    int at = 0;
    for (int i = 0; i < k; i++)
      if (perm[i] < s)
        at = i + 1;
    for (int i = k; i > at; i--)
      perm[i] = perm[i - 1];
    perm[at] = s;
    k++;
  }
  return true;
}

bool layout_transpose(const Layout *L, int rank, const int64_t *dims,
                      const int *t, Layout *out) {
  Layout F;
  layout_factors(L, dims_total(rank, dims), &F);
  if (F.n == 0) { /* a single element */
    layout_plain(out);
    return true;
  }
  Refinement ref;
  if (!refine(F.n, F.f, rank, dims, &ref))
    return false;
  /* y's factors: for each y axis (x axis t[i]) the refinement factors of
   * that x axis, outermost first.  yidx maps refinement -> y factor. */
  if (ref.n > LAYOUT_MAX)
    return false;
  int yidx[REF_MAX], ny = 0;
  Layout y;
  for (int i = 0; i < rank; i++)
    for (int k = 0; k < ref.n; k++)
      if (ref.own_b[k] == t[i]) {
        yidx[k] = ny;
        y.f[ny++] = ref.r[k];
      }
  int seq[REF_MAX];
  int ns = physical_sequence(&F, &ref, seq);
  for (int j = 0; j < ns; j++)
    y.p[j] = yidx[seq[j]];
  y.n = ny;
  canonicalize(&y);
  *out = y;
  return true;
}

bool layout_convert_plan(const Layout *from, const Layout *to, int *rank,
                         int64_t *shape, int *perm) {
  int64_t total = 1;
  const Layout *some = from->n ? from : to;
  for (int i = 0; i < some->n; i++)
    total *= some->f[i];
  Layout A, B;
  layout_factors(from, total, &A);
  layout_factors(to, total, &B);
  *rank = 0;
  if (A.n == 0 && B.n == 0)
    return true;
  Refinement ref;
  if (!refine(A.n, A.f, B.n, B.f, &ref))
    return false;
  /* Stored order of refinement factors under each layout. */
  int sa[REF_MAX], sb[REF_MAX], posa[REF_MAX];
  int n = physical_sequence(&A, &ref, sa);
  Refinement swapped = ref;
  memcpy(swapped.own_a, ref.own_b, sizeof ref.own_b);
  physical_sequence(&B, &swapped, sb);
  for (int i = 0; i < n; i++)
    posa[sa[i]] = i;
  /* q[k]: stored position (under A) of the factor B stores k-th. */
  int q[REF_MAX];
  for (int k = 0; k < n; k++)
    q[k] = posa[sb[k]];
  /* Merge runs that stay adjacent: group starts in A order. */
  int group_of[REF_MAX], ngroups = 0;
  bool starts[REF_MAX] = {false};
  starts[0] = true;
  starts[q[0]] = true;
  for (int k = 1; k < n; k++)
    if (q[k] != q[k - 1] + 1)
      starts[q[k]] = true;
  for (int i = 0; i < n; i++) {
    if (i == 0 || starts[i])
      shape[ngroups++] = 1;
    group_of[i] = ngroups - 1;
    shape[ngroups - 1] *= ref.r[sa[i]];
  }
  if (ngroups > O2L_MAX_RANK)
    return false;
  int m = 0;
  for (int k = 0; k < n; k++)
    if (k == 0 || q[k] != q[k - 1] + 1)
      perm[m++] = group_of[q[k]];
  *rank = ngroups;
  return true;
}
