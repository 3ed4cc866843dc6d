/* layout.h - how a tensor's data is ordered in memory relative to its ONNX
 * (logical) shape.
 *
 * A Layout views the logical tensor x, read in row-major order, as a list of
 * factors f[0..n) (x reshaped to f) and says in which order those factors
 * are stored: physical = transpose(reshape(x, f), p), so physical axis j
 * holds factor p[j].  NCHW stored as NHWC is f = [N,C,H,W], p = [0,2,3,1].
 *
 * Layouts are kept canonical: no factor of size 1, and no two factors that
 * are neighbours both logically and physically (they merge).  So two layouts
 * order the data the same way exactly when they are equal, a layout is
 * "plain" (memory order = ONNX order) exactly when n <= 1, and a Reshape,
 * which never changes the row-major order of the logical data, keeps its
 * input's layout unchanged: reshapes of a transposed tensor cost nothing
 * until some operator needs the data with particular axes.
 */
#ifndef O2L_LAYOUT_H
#define O2L_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"

#define LAYOUT_MAX 16

typedef struct Layout {
  int n;                  /* number of factors */
  int64_t f[LAYOUT_MAX];  /* factor sizes, logical order */
  int p[LAYOUT_MAX];      /* physical position j holds factor p[j] */
} Layout;

/* The identity layout. */
void layout_plain(Layout *L);
/* Physical = transpose(x, perm) for x of shape dims (perm[j] = logical axis
 * stored at physical axis j, as in ONNX Transpose). */
void layout_from_perm(Layout *L, int rank, const int64_t *dims,
                      const int *perm);
bool layout_is_plain(const Layout *L);
bool layout_eq(const Layout *a, const Layout *b);

/* If L stores a tensor of shape dims as transpose(x, perm) for some perm,
 * writes that perm and returns true.  Axes of size 1 can sit anywhere; they
 * are placed as in `hint` when the hint is consistent with L, otherwise in
 * logical order.  hint may be NULL. */
bool layout_axis_perm(const Layout *L, int rank, const int64_t *dims,
                      const int *hint, int *perm);

/* Layout of y = transpose(x, t) (y axis i = x axis t[i]) when x, of shape
 * dims, has layout L.  No data moves.  False when L cannot be expressed on
 * the axes of dims (the caller then moves the data first). */
bool layout_transpose(const Layout *L, int rank, const int64_t *dims,
                      const int *t, Layout *out);

/* The data movement from layout `from` to layout `to` (same tensor): view
 * the stored data as shape[0..*rank), then transpose by perm.  Dimensions
 * that move together are merged, so the transpose has the smallest rank.
 * *rank == 0 or an identity perm means only a reshape is needed.  False if
 * the two layouts share no factorization (convert through plain). */
bool layout_convert_plan(const Layout *from, const Layout *to, int *rank,
                         int64_t *shape, int *perm);

/* Physical shape of a tensor of shape dims stored with perm. */
void perm_apply(int rank, const int64_t *dims, const int *perm, int64_t *out);
void perm_identity(int rank, int *perm);
/* Channels-last perm for rank >= 3: [0, 2, 3, ..., rank-1, 1]. */
void perm_channels_last(int rank, int *perm);
bool perm_is_identity(int rank, const int *perm);
void perm_invert(int rank, const int *perm, int *inv);

#endif
