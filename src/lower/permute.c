/* permute.c - transposing constant data at conversion time, fast.
 *
 * Weights are permuted while lowering (OIHW -> OHWI, OIDHW -> DHWIO,
 * [K,N] -> [N,K]); an element-by-element odometer that reads the source
 * with a large stride misses the cache on nearly every element, which made
 * the lowering of big 3-D convolutions and dense layers take seconds.
 * Here axes that stay together are merged first (a 1x1 OIHW -> OHWI is
 * then no transpose at all), a shared innermost axis is copied as whole
 * runs, and otherwise the two axes that are innermost in the source and in
 * the destination are transposed in square tiles, so both sides are read
 * and written a cache line at a time.
 */
#include <string.h>

#include "lower/lower.h"

enum { TILE = 32 };

typedef struct Perm {
  int r;
  int64_t d[O2L_MAX_RANK]; /* source dims */
  int p[O2L_MAX_RANK];     /* destination axis j holds source axis p[j] */
} Perm;

/* Drops size-1 axes and merges source axes that are also neighbours, in
 * the same order, in the destination. */
static void simplify(int rank, const int64_t *dims, const int *perm, Perm *o) {
  int map[O2L_MAX_RANK], n = 0, p[O2L_MAX_RANK], m = 0;
  int64_t d[O2L_MAX_RANK];
  for (int i = 0; i < rank; i++) {
    map[i] = dims[i] == 1 ? -1 : n;
    if (dims[i] != 1)
      d[n++] = dims[i];
  }
  for (int j = 0; j < rank; j++)
    if (map[perm[j]] >= 0)
      p[m++] = map[perm[j]];
  /* groups of consecutive source axes, in destination order */
  int gstart[O2L_MAX_RANK], glen[O2L_MAX_RANK], ng = 0;
  for (int j = 0; j < m; j++) {
    if (j > 0 && p[j] == p[j - 1] + 1) {
      glen[ng - 1]++;
    } else {
      gstart[ng] = p[j];
      glen[ng++] = 1;
    }
  }
  o->r = ng;
  for (int g = 0; g < ng; g++) {
    int pos = 0; /* the group's place in source order */
    for (int h = 0; h < ng; h++)
      pos += gstart[h] < gstart[g];
    int64_t sz = 1;
    for (int k = 0; k < glen[g]; k++)
      sz *= d[gstart[g] + k];
    o->d[pos] = sz;
    o->p[g] = pos;
  }
}

static inline void copy_elem(unsigned char *dst, const unsigned char *src,
                             size_t esz) {
  if (esz == 4) {
    uint32_t u;
    memcpy(&u, src, 4);
    memcpy(dst, &u, 4);
  } else {
    memcpy(dst, src, esz);
  }
}

void permute_copy(void *dst, const void *src, size_t esz, int rank,
                  const int64_t *dims, const int *perm) {
  Perm q;
  simplify(rank, dims, perm, &q);
  int r = q.r;
  int64_t n = 1;
  for (int i = 0; i < r; i++)
    n *= q.d[i];
  if (r <= 1) {
    memcpy(dst, src, (size_t)n * esz);
    return;
  }
  if (q.p[r - 1] == r - 1) { /* whole innermost runs move together */
    permute_copy(dst, src, esz * (size_t)q.d[r - 1], r - 1, q.d, q.p);
    return;
  }
  int64_t ss[O2L_MAX_RANK], dd[O2L_MAX_RANK], ds[O2L_MAX_RANK], acc = 1;
  for (int i = r - 1; i >= 0; i--) {
    ss[i] = acc;
    acc *= q.d[i];
  }
  for (int j = 0; j < r; j++)
    dd[j] = q.d[q.p[j]];
  acc = 1;
  for (int j = r - 1; j >= 0; j--) {
    ds[j] = acc;
    acc *= dd[j];
  }
  int jb = r - 1, ja = 0; /* destination positions of the two inner axes */
  while (q.p[ja] != r - 1)
    ja++;
  int64_t A = dd[ja], B = dd[jb], da = ds[ja], sb = ss[q.p[jb]];
  int64_t idx[O2L_MAX_RANK] = {0};
  const unsigned char *s = src;
  unsigned char *o = dst;
  for (;;) {
    int64_t soff = 0, doff = 0;
    for (int j = 0; j < r; j++)
      if (j != ja && j != jb) {
        soff += idx[j] * ss[q.p[j]];
        doff += idx[j] * ds[j];
      }
    for (int64_t i0 = 0; i0 < A; i0 += TILE)
      for (int64_t j0 = 0; j0 < B; j0 += TILE) {
        int64_t i1 = i0 + TILE < A ? i0 + TILE : A;
        int64_t j1 = j0 + TILE < B ? j0 + TILE : B;
        for (int64_t i = i0; i < i1; i++)
          for (int64_t j = j0; j < j1; j++)
            copy_elem(o + (size_t)(doff + i * da + j) * esz,
                      s + (size_t)(soff + i + j * sb) * esz, esz);
      }
    int j = r - 1;
    for (; j >= 0; j--) {
      if (j == ja || j == jb)
        continue;
      if (++idx[j] < dd[j])
        break;
      idx[j] = 0;
    }
    if (j < 0)
      return;
  }
}
