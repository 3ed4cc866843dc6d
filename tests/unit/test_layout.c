/* test_layout.c - the layout algebra against brute force: every claim a
 * Layout makes about memory order is checked by materialising index arrays
 * (element k of the logical tensor holds the value k). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lower/layout.h"

/* out = transpose(in viewed as dims, perm); returns element count. */
static int64_t transpose_idx(const int64_t *in, int rank, const int64_t *dims,
                             const int *perm, int64_t *out) {
  int64_t stride[16], acc = 1, pd[16];
  for (int i = rank - 1; i >= 0; i--) {
    stride[i] = acc;
    acc *= dims[i];
  }
  for (int i = 0; i < rank; i++)
    pd[i] = dims[perm[i]];
  int64_t idx[16] = {0};
  for (int64_t k = 0; k < acc; k++) {
    int64_t off = 0;
    for (int i = 0; i < rank; i++)
      off += idx[i] * stride[perm[i]];
    out[k] = in[off];
    for (int i = rank - 1; i >= 0; i--) {
      if (++idx[i] < pd[i])
        break;
      idx[i] = 0;
    }
  }
  return acc;
}

/* Physical order of the logical elements under L (total elements n). */
static void materialize(const Layout *L, int64_t n, int64_t *out) {
  int64_t *ar = malloc(sizeof(int64_t) * (size_t)n);
  for (int64_t k = 0; k < n; k++)
    ar[k] = k;
  if (L->n == 0)
    memcpy(out, ar, sizeof(int64_t) * (size_t)n);
  else
    transpose_idx(ar, L->n, L->f, L->p, out);
  free(ar);
}

/* Checks that the plan moves data stored as `from` into `to` order. */
static int plan_works(const Layout *from, const Layout *to, int64_t n) {
  int rank, perm[O2L_MAX_RANK];
  int64_t shape[O2L_MAX_RANK];
  if (!layout_convert_plan(from, to, &rank, shape, perm))
    return -1;
  int64_t *a = malloc(sizeof(int64_t) * (size_t)n);
  int64_t *b = malloc(sizeof(int64_t) * (size_t)n);
  int64_t *c = malloc(sizeof(int64_t) * (size_t)n);
  materialize(from, n, a);
  materialize(to, n, b);
  if (rank > 1)
    transpose_idx(a, rank, shape, perm, c);
  else
    memcpy(c, a, sizeof(int64_t) * (size_t)n);
  int ok = memcmp(b, c, sizeof(int64_t) * (size_t)n) == 0;
  free(a);
  free(b);
  free(c);
  return ok;
}

static void test_channels_last(void) {
  int64_t d[4] = {1, 16, 5, 5};
  int cl[4], perm[4];
  perm_channels_last(4, cl);
  CHECK(cl[0] == 0 && cl[1] == 2 && cl[2] == 3 && cl[3] == 1);
  Layout L;
  layout_from_perm(&L, 4, d, cl);
  CHECK(L.n == 2 && L.f[0] == 16 && L.f[1] == 25 && L.p[0] == 1 && L.p[1] == 0);
  CHECK(!layout_is_plain(&L));
  CHECK(layout_axis_perm(&L, 4, d, cl, perm));
  CHECK(!memcmp(perm, cl, sizeof cl));
  /* The flatten that lenet does: [1,400] has no axis order matching. */
  int64_t flat[2] = {1, 400};
  CHECK(!layout_axis_perm(&L, 2, flat, NULL, perm));
  /* NCHW with C = 1: channels-last is the same memory order as plain. */
  int64_t d1[4] = {1, 1, 8, 8};
  Layout P, C1;
  layout_from_perm(&P, 4, d1, NULL);
  layout_from_perm(&C1, 4, d1, cl);
  CHECK(layout_eq(&P, &C1) && layout_is_plain(&C1));
  CHECK(layout_axis_perm(&C1, 4, d1, cl, perm) && !memcmp(perm, cl, sizeof cl));
  CHECK(layout_axis_perm(&C1, 4, d1, NULL, perm) && perm_is_identity(4, perm));
}

static void test_convert_plan(void) {
  int64_t d[4] = {1, 3, 4, 5};
  int cl[4];
  perm_channels_last(4, cl);
  Layout L, P;
  layout_from_perm(&L, 4, d, cl);
  layout_plain(&P);
  int rank, perm[8];
  int64_t shape[8];
  CHECK(layout_convert_plan(&L, &P, &rank, shape, perm));
  CHECK(rank == 2 && shape[0] == 20 && shape[1] == 3 && perm[0] == 1 &&
        perm[1] == 0);
  CHECK(plan_works(&L, &P, 60) == 1);
  CHECK(plan_works(&P, &L, 60) == 1);
  CHECK(layout_convert_plan(&L, &L, &rank, shape, perm));
  CHECK(rank <= 1 || perm_is_identity(rank, perm));
}

/* shufflenet's channel shuffle, starting channels-last. */
static void test_shuffle(void) {
  int64_t x[4] = {1, 8, 4, 4}, x5[5] = {1, 2, 4, 4, 4};
  int cl[4], t[5] = {0, 2, 1, 3, 4}, perm[5];
  perm_channels_last(4, cl);
  Layout L, Y, CL;
  layout_from_perm(&L, 4, x, cl);
  /* Reshape to 5-D keeps the layout; the Transpose only renames axes. */
  CHECK(layout_transpose(&L, 5, x5, t, &Y));
  int64_t y4[4] = {1, 8, 4, 4};
  CHECK(!layout_axis_perm(&Y, 4, y4, cl, perm)); /* shuffled: no axis order */
  layout_from_perm(&CL, 4, y4, cl);
  int rank, p[8];
  int64_t shape[8];
  CHECK(layout_convert_plan(&Y, &CL, &rank, shape, p));
  CHECK(rank == 3 && shape[0] == 16 && shape[1] == 2 && shape[2] == 4);
  CHECK(p[0] == 0 && p[1] == 2 && p[2] == 1);
  CHECK(plan_works(&Y, &CL, 128) == 1);
  /* Brute force: the layout of the transposed tensor really is the data. */
  int64_t ar[128], phys_x[128], y_logical[128], phys_y[128];
  for (int k = 0; k < 128; k++)
    ar[k] = k;
  materialize(&L, 128, phys_x);
  transpose_idx(ar, 5, x5, t, y_logical); /* y_logical[k] = x index */
  materialize(&Y, 128, phys_y);           /* phys_y[k] = y index */
  int ok = 1;
  for (int k = 0; k < 128; k++)
    ok &= y_logical[phys_y[k]] == phys_x[k];
  CHECK(ok);
}

static unsigned rng_state = 12345;
static int rnd(int n) {
  rng_state = rng_state * 1103515245u + 12345u;
  return (int)((rng_state >> 16) % (unsigned)n);
}

static void random_perm(int r, int *p) {
  perm_identity(r, p);
  for (int i = r - 1; i > 0; i--) {
    int j = rnd(i + 1), tmp = p[i];
    p[i] = p[j];
    p[j] = tmp;
  }
}

/* Random transposes of random layouts: layout_transpose and
 * layout_axis_perm must agree with brute force, and every plan between two
 * layouts must move the data right. */
static void test_random(void) {
  int failures = 0, planned = 0;
  for (int iter = 0; iter < 400; iter++) {
    int r = 1 + rnd(4);
    int64_t d[4], n = 1;
    for (int i = 0; i < r; i++) {
      d[i] = 1 + rnd(4);
      n *= d[i];
    }
    int p1[4], p2[4], t[4], perm[4];
    random_perm(r, p1);
    random_perm(r, p2);
    random_perm(r, t);
    Layout A, B, Y;
    layout_from_perm(&A, r, d, p1);
    layout_from_perm(&B, r, d, p2);
    int ok = plan_works(&A, &B, n);
    if (ok == 1)
      planned++;
    else
      failures++;
    /* A's axis order must come back (up to size-1 axes). */
    if (!layout_axis_perm(&A, r, d, p1, perm) || memcmp(perm, p1, sizeof(int) * (size_t)r))
      failures++;
    /* transpose: y = transpose(x, t) stored as x's data. */
    if (!layout_transpose(&A, r, d, t, &Y)) {
      failures++;
      continue;
    }
    int64_t yd[4], ar[256], xl[256], py[256], px[256];
    perm_apply(r, d, t, yd);
    for (int k = 0; k < n; k++)
      ar[k] = k;
    transpose_idx(ar, r, d, t, xl);
    materialize(&A, n, px);
    materialize(&Y, n, py);
    for (int k = 0; k < n; k++)
      if (xl[py[k]] != px[k]) {
        failures++;
        break;
      }
  }
  CHECK(failures == 0);
  CHECK(planned == 400);
}

int main(void) {
  test_channels_last();
  test_convert_plan();
  test_shuffle();
  test_random();
  return check_done("test_layout");
}
