/* merge_slices.c - pass_merge_slices: a Slice of a Slice becomes one Slice
 * of the first one's input.
 *
 * PyTorch exports x[..., ::2, 1::2] as two Slices, one per axis, and
 * shares the first between expressions (YOLOv5's Focus stem takes four
 * such views of the image: six Slices).  Each Slice is a STRIDED_SLICE in
 * TFLite; composed, every view is one, as in a TensorFlow-made graph.
 * Per axis, taking n2 elements from start s2 with step t2 out of the
 * elements s1, s1+t1, ... of the input is taking n2 elements from
 * s1 + s2*t1 with step t1*t2.  The inner Slice goes away with its last
 * reader (DCE).  Opset >= 10 (starts/ends/axes/steps as inputs).
 */
#include <stdint.h>

#include "ops/opattr.h"
#include "pass/pass.h"

static Value *i64_const(Ctx *cx, Graph *g, Node *n, const char *what, int r,
                        const int64_t *v) {
  int64_t *d = arena_alloc(cx->arena, sizeof(int64_t) * (size_t)r, 8);
  const char *name = arena_printf(cx->arena, "%s/merged_%s", n->name, what);
  if (!d || !name)
    return NULL;
  for (int i = 0; i < r; i++)
    d[i] = v[i];
  int64_t dims[1] = {r};
  return graph_add_const(cx, g, name, DT_I64, 1, dims, d,
                         sizeof(int64_t) * (size_t)r);
}

static Status merge(Ctx *cx, Graph *g, Node *outer, Node *inner,
                    bool *done) {
  SliceParams a, b;
  *done = false;
  if (slice_params(cx, g, inner, &a) != O2L_OK ||
      slice_params(cx, g, outer, &b) != O2L_OK) /* valid: inferred before */
    return O2L_OK;
  int r = a.rank;
  int64_t st[O2L_MAX_RANK], en[O2L_MAX_RANK], ax[O2L_MAX_RANK],
      sp[O2L_MAX_RANK];
  for (int i = 0; i < r; i++) {
    if (a.step[i] == 0 || b.step[i] == 0 || b.out[i] <= 0)
      return O2L_OK;
    st[i] = a.start[i] + b.start[i] * a.step[i];
    sp[i] = a.step[i] * b.step[i];
    en[i] = st[i] + b.out[i] * sp[i];
    if (en[i] < 0) /* a negative step running past index 0 */
      en[i] = INT64_MIN;
    ax[i] = i;
  }
  Value *vs = i64_const(cx, g, outer, "starts", r, st);
  Value *ve = i64_const(cx, g, outer, "ends", r, en);
  Value *va = i64_const(cx, g, outer, "axes", r, ax);
  Value *vp = i64_const(cx, g, outer, "steps", r, sp);
  Value *in[5] = {inner->in[0], vs, ve, va, vp};
  if (!vs || !ve || !va || !vp || !node_set_inputs(g, outer, 5, in))
    return ctx_oom(cx, "merging Slices");
  *done = true;
  return O2L_OK;
}

Status pass_merge_slices(Ctx *cx, Graph *g, PassStats *st) {
  if (g->opset < 10)
    return O2L_OK;
  graph_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead || n->op != OP_Slice || !n->in[0] || value_is_const(n->in[0]))
      continue;
    Node *p = n->in[0]->producer;
    if (!p || p->dead || p->op != OP_Slice || !p->in[0] ||
        n->in[0]->is_output)
      continue;
    bool done;
    TRY(merge(cx, g, n, p, &done));
    if (done) {
      st->slices_merged++;
      graph_uses(g);
      i--; /* the merged Slice may read another Slice */
    }
  }
  return O2L_OK;
}
