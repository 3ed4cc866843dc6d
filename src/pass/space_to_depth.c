/* space_to_depth.c - pass_space_to_depth: space-to-depth rearrangements
 * written out with other operators become one SpaceToDepth node (TFLite
 * SPACE_TO_DEPTH, no TRANSPOSE).
 *
 * Every one of them takes x (N, C, H, W) to y (N, C*b*b, H/b, W/b), with
 * y[n, k, h, w] = x[n, c, h*b + i, w*b + j] for some numbering k of the
 * triples (c, i, j).  TFLite numbers them as ONNX's DCR mode does,
 * k = (i*b + j)*C + c.  Recognised:
 *
 *   Reshape(x, [N, C, H/b, b, W/b, b]) -> Transpose -> Reshape(y)
 *       with perm [0, a, b, c, 2, 4] for {a, b, c} = {1, 3, 5}: timm's
 *       SpaceToDepth (TResNet, DCR) and torch's PixelUnshuffle (CRD);
 *   SpaceToDepth in CRD mode (opset 28);
 *   Concat on channels of the b*b strided views x[:, :, i::b, j::b]
 *       (YOLOv5's Focus stem, after pass_merge_slices made each view one
 *       Slice), in any order of (i, j).
 *
 * When the numbering is DCR the pattern is replaced outright.  Otherwise y
 * is computed in DCR order and the numbering is absorbed by y's readers:
 * every path from y must end in a Conv or ConvTranspose (group 1, constant
 * weights) that reads it as data, through elementwise operators whose
 * other inputs are scalar constants (they treat every channel alike); the
 * weights' input channels are renumbered at conversion time, the mirror
 * image of what lower_space.c does for PixelShuffle's DepthToSpace.  A
 * pattern whose readers cannot absorb it is left alone (then it costs one
 * TRANSPOSE, or stays strided slices).  The last node of the pattern is
 * rewritten in place, so y keeps its name; the rest goes with DCE.
 */
#include <string.h>

#include "ops/opattr.h"
#include "pass/pass.h"

enum { MAX_READERS = 64, MAX_DEPTH = 8 };

/* ---- readers that absorb a channel renumbering --------------------------- */

/* n reads v as its data input and treats every channel alike. */
static bool channel_blind(const Node *n, const Value *v) {
  if (n->op < 0 || !(op_def(n->op)->flags & F_ELEMENTWISE) ||
      n->nout != 1 || !n->out[0] || n->nin < 1 || n->in[0] != v ||
      !value_same_shape(n->out[0], v))
    return false;
  for (int j = 1; j < n->nin; j++)
    if (n->in[j] && (n->in[j] == v || !value_is_const(n->in[j]) ||
                     value_numel(n->in[j]) != 1))
      return false;
  return true;
}

/* n is a convolution whose weights' input channels can be renumbered. */
static bool renumberable_conv(const Node *n, const Value *v) {
  if ((n->op != OP_Conv && n->op != OP_ConvTranspose) || n->nin < 2 ||
      n->in[0] != v || !n->in[1] || !value_is_const(n->in[1]) ||
      node_attr_int(n, "group", 1) != 1)
    return false;
  for (int j = 1; j < n->nin; j++)
    if (n->in[j] == v)
      return false;
  const Value *w = n->in[1];
  int ci = n->op == OP_Conv ? 1 : 0; /* ConvTranspose W: (C, M/group, k...) */
  return w->rank >= 3 && w->dims[ci] == v->dims[1] &&
         dtype_size(w->dtype) > 0;
}

/* Collects in convs[] the convolutions every path from v ends in; false
 * when some reader cannot absorb the renumbering. */
static bool collect_convs(Graph *g, Value *v, Node **convs, int *nconv,
                          int depth) {
  Node *rd[MAX_READERS];
  int k = graph_consumers(g, v, rd, MAX_READERS);
  if (v->is_output || k == 0 || k > MAX_READERS || depth > MAX_DEPTH)
    return false;
  for (int i = 0; i < k; i++) {
    if (renumberable_conv(rd[i], v)) {
      if (*nconv == MAX_READERS)
        return false;
      convs[(*nconv)++] = rd[i];
    } else if (!channel_blind(rd[i], v) ||
               !collect_convs(g, rd[i]->out[0], convs, nconv, depth + 1)) {
      return false;
    }
  }
  return true;
}

/* Conv W (M, C, k...): input channel k moves to map[k] (ConvTranspose W
 * (C, M, k...): row k moves to map[k]). */
static Status renumber_weights(Ctx *cx, Graph *g, Node *conv,
                               const int64_t *map, int64_t C) {
  Value *w = conv->in[1];
  size_t es = dtype_size(w->dtype);
  int64_t outer = conv->op == OP_Conv ? w->dims[0] : 1;
  int64_t inner = value_numel(w) / (outer * C); /* elements per channel */
  size_t row = (size_t)inner * es, bytes = (size_t)value_numel(w) * es;
  unsigned char *d = arena_alloc(cx->arena, bytes ? bytes : 1, 16);
  const char *name = arena_printf(cx->arena, "%s/s2d_order", w->name);
  if (!d || !name)
    return ctx_oom(cx, "renumbering convolution input channels");
  const unsigned char *s = w->data;
  for (int64_t m = 0; m < outer; m++)
    for (int64_t k = 0; k < C; k++)
      memcpy(d + ((size_t)(m * C + map[k])) * row,
             s + ((size_t)(m * C + k)) * row, row);
  Value *nw = graph_add_const(cx, g, name, w->dtype, w->rank, w->dims, d,
                              bytes);
  if (!nw)
    return cx->status;
  conv->in[1] = nw;
  return O2L_OK;
}

/* ---- the patterns -------------------------------------------------------- */

typedef struct S2D {
  Value *x;
  int64_t b;
  int64_t *map; /* y channel k is DCR channel map[k] */
  const char *what;
} S2D;

static bool alloc_map(Ctx *cx, S2D *s, int64_t C) {
  s->map = arena_alloc(cx->arena, sizeof(int64_t) * (size_t)(C * s->b * s->b),
                       8);
  return s->map != NULL;
}

/* y's channel numbering from the order of the digits c, i, j in it
 * (ord: outermost first; 0 = c, 1 = i, 2 = j). */
static void digit_map(S2D *s, int64_t C, const int *ord) {
  int64_t b = s->b, size[3] = {C, b, b}, d[3];
  for (int64_t k = 0; k < C * b * b; k++) {
    int64_t r = k;
    for (int t = 2; t >= 0; t--) {
      d[ord[t]] = r % size[ord[t]];
      r /= size[ord[t]];
    }
    s->map[k] = (d[1] * b + d[2]) * C + d[0];
  }
}

static bool is_s2d_shape(const Value *x, const Value *y, int64_t b) {
  return x->rank == 4 && y->rank == 4 && b >= 2 && x->dims[2] % b == 0 &&
         x->dims[3] % b == 0 && y->dims[0] == x->dims[0] &&
         y->dims[1] == x->dims[1] * b * b && y->dims[2] == x->dims[2] / b &&
         y->dims[3] == x->dims[3] / b;
}

/* Reshape(x, [N, C, H/b, b, W/b, b]) -> Transpose -> Reshape (n). */
static bool match_reshapes(Ctx *cx, Graph *g, Node *n, S2D *s) {
  Value *t = n->in[0];
  Node *tr = t ? t->producer : NULL;
  TransposeParams tp;
  if (!tr || tr->dead || tr->op != OP_Transpose || !tr->in[0] ||
      transpose_params(cx, g, tr, &tp) != O2L_OK || tp.rank != 6)
    return false;
  Value *r = tr->in[0];
  Node *r1 = r->producer;
  if (!r1 || r1->dead || (r1->op != OP_Reshape && r1->op != OP_Flatten &&
                          r1->op != OP_Unsqueeze && r1->op != OP_Squeeze) ||
      !r1->in[0])
    return false;
  Value *x = r1->in[0];
  int64_t b = r->dims[3];
  if (!is_s2d_shape(x, n->out[0], b) || r->dims[5] != b ||
      r->dims[0] != x->dims[0] || r->dims[1] != x->dims[1] ||
      r->dims[2] * b != x->dims[2] || r->dims[4] * b != x->dims[3])
    return false;
  const int *p = tp.perm;
  if (p[0] != 0 || p[4] != 2 || p[5] != 4)
    return false;
  int ord[3];
  for (int k = 0; k < 3; k++) {
    if (p[k + 1] != 1 && p[k + 1] != 3 && p[k + 1] != 5)
      return false;
    ord[k] = p[k + 1] / 2; /* axis 1 -> c, 3 -> i, 5 -> j */
  }
  s->x = x;
  s->b = b;
  s->what = "Reshape/Transpose/Reshape";
  if (!alloc_map(cx, s, x->dims[1]))
    return false;
  digit_map(s, x->dims[1], ord);
  return true;
}

static bool match_crd(Ctx *cx, Graph *g, Node *n, S2D *s) {
  SpaceDepthParams sp;
  if (spacedepth_params(cx, g, n, &sp) != O2L_OK || !sp.crd ||
      !is_s2d_shape(n->in[0], n->out[0], sp.block))
    return false;
  s->x = n->in[0];
  s->b = sp.block;
  s->what = "SpaceToDepth (CRD)";
  if (!alloc_map(cx, s, s->x->dims[1]))
    return false;
  int ord[3] = {0, 1, 2};
  digit_map(s, s->x->dims[1], ord);
  return true;
}

/* Concat on channels of x[:, :, i::b, j::b] for every (i, j) once. */
static bool match_focus(Ctx *cx, Graph *g, Node *n, S2D *s) {
  ConcatParams cp;
  if (n->nin < 4 || n->nin > 64 || concat_params(cx, g, n, &cp) != O2L_OK || cp.axis != 1 ||
      cp.rank != 4)
    return false;
  Value *x = NULL;
  int64_t b = 0;
  bool seen[64] = {false};
  int64_t off[64];
  for (int t = 0; t < n->nin; t++) {
    Node *sl = n->in[t] ? n->in[t]->producer : NULL;
    SliceParams p;
    if (!sl || sl->dead || sl->op != OP_Slice || !sl->in[0] ||
        (x && sl->in[0] != x) ||
        slice_params(cx, g, sl, &p) != O2L_OK || p.rank != 4)
      return false;
    x = sl->in[0];
    if (!b)
      b = p.step[2];
    if (b < 2 || b * b != n->nin || p.step[2] != b || p.step[3] != b)
      return false;
    for (int a = 0; a < 2; a++)
      if (p.start[a] != 0 || p.step[a] != 1 || p.out[a] != x->dims[a])
        return false;
    int64_t i = p.start[2], j = p.start[3];
    if (i < 0 || i >= b || j < 0 || j >= b || seen[i * b + j] ||
        p.out[2] * b != x->dims[2] || p.out[3] * b != x->dims[3])
      return false;
    seen[i * b + j] = true;
    off[t] = i * b + j;
  }
  if (!x || !is_s2d_shape(x, n->out[0], b))
    return false;
  int64_t C = x->dims[1];
  s->x = x;
  s->b = b;
  s->what = "Concat of strided Slices";
  if (!alloc_map(cx, s, C))
    return false;
  for (int64_t k = 0; k < C * b * b; k++)
    s->map[k] = off[k / C] * C + k % C;
  return true;
}

/* ---- the rewrite ----------------------------------------------------------- */

static bool is_identity(const int64_t *map, int64_t n) {
  for (int64_t k = 0; k < n; k++)
    if (map[k] != k)
      return false;
  return true;
}

static Status rewrite(Ctx *cx, Graph *g, Node *n, const S2D *s, bool *done) {
  Value *y = n->out[0];
  int64_t K = y->dims[1];
  Node *convs[MAX_READERS];
  int nconv = 0;
  *done = false;
  bool dcr = is_identity(s->map, K);
  if (!dcr && !collect_convs(g, y, convs, &nconv, 0))
    return O2L_OK;
  for (int i = 0; i < nconv; i++)
    TRY(renumber_weights(cx, g, convs[i], s->map, K));
  Value **in = arena_alloc(cx->arena, sizeof(Value *), 8);
  if (!in)
    return ctx_oom(cx, "making a SpaceToDepth");
  in[0] = s->x;
  n->in = in;
  n->nin = 1;
  n->op = OP_SpaceToDepth;
  n->op_type = "SpaceToDepth";
  n->nattrs = 0;
  n->attrs = NULL;
  TRY(node_set_attr_int(cx, n, "blocksize", s->b));
  if (!dcr)
    ctx_report(cx, "%s '%s' is a SpaceToDepth in another channel order: "
               "input channels of %d convolution(s) renumbered to DCR order",
               s->what, n->name, nconv);
  *done = true;
  return O2L_OK;
}

Status pass_space_to_depth(Ctx *cx, Graph *g, PassStats *st) {
  graph_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead || n->nout != 1 || !n->out[0] || n->nin < 1 || !n->in[0])
      continue;
    S2D s = {0};
    bool m = false;
    if (n->op == OP_Reshape)
      m = match_reshapes(cx, g, n, &s);
    else if (n->op == OP_SpaceToDepth)
      m = match_crd(cx, g, n, &s);
    else if (n->op == OP_Concat)
      m = match_focus(cx, g, n, &s);
    bool done = false;
    if (m)
      TRY(rewrite(cx, g, n, &s, &done));
    if (!done)
      continue;
    st->s2d_made++;
    graph_uses(g);
  }
  return O2L_OK;
}
