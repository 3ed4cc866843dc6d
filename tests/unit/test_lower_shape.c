/* test_lower_shape.c - the data-movement, resize and reduction lowerings
 * checked on the TFLite graph they produce: which operators, which
 * physical axes, and above all how many TRANSPOSEs.  The ONNX graphs are
 * built by hand with their shapes set as shape inference would.  A rank-4
 * input becomes channels-last when it feeds a spatial operator, here a
 * Resize. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lower/lower.h"
#include "ops/opattr.h"

typedef struct T {
  Arena a;
  Ctx cx;
  o2l_options opt;
  Graph *g;
  Graph *out;
} T;

static void t_init(T *t) {
  memset(t, 0, sizeof *t);
  arena_init(&t->a);
  ctx_init(&t->cx, &t->a, &t->opt, NULL);
  t->g = graph_new(&t->cx, GRAPH_ONNX);
  t->g->opset = 13;
}

static void t_free(T *t) {
  if (t->out)
    graph_release(t->out);
  graph_release(t->g);
  arena_free(&t->a);
}

static Value *val(T *t, const char *name, int rank, const int64_t *dims) {
  return graph_add_value(&t->cx, t->g, name, DT_F32, rank, dims);
}

static Value *cst_i64(T *t, const char *name, int n, const int64_t *v) {
  int64_t d[1] = {n};
  void *p = arena_alloc(&t->a, sizeof(int64_t) * (size_t)(n + 1), 16);
  memcpy(p, v, sizeof(int64_t) * (size_t)n);
  return graph_add_const(&t->cx, t->g, name, DT_I64, 1, d, p,
                         sizeof(int64_t) * (size_t)n);
}

static Value *cst_i64_scalar(T *t, const char *name, int64_t v) {
  int64_t *p = arena_alloc(&t->a, sizeof(int64_t), 16);
  *p = v;
  return graph_add_const(&t->cx, t->g, name, DT_I64, 0, NULL, p,
                         sizeof(int64_t));
}

static Value *cst_f32(T *t, const char *name, int n, const float *v) {
  int64_t d[1] = {n};
  void *p = arena_alloc(&t->a, sizeof(float) * (size_t)(n + 1), 16);
  memcpy(p, v, sizeof(float) * (size_t)n);
  return graph_add_const(&t->cx, t->g, name, DT_F32, 1, d, p,
                         sizeof(float) * (size_t)n);
}

static Node *node(T *t, int op, const char *name, int nin, Value **in,
                  int nout, Value **out) {
  Node *n = graph_add_node(&t->cx, t->g, op, name, nin, in, nout, out);
  n->op_type = op_defs[op].name;
  return n;
}

static void attr_str(T *t, Node *n, const char *name, const char *s) {
  Attr *a = arena_alloc(&t->a, sizeof(Attr) * (size_t)(n->nattrs + 1), 8);
  if (n->nattrs)
    memcpy(a, n->attrs, sizeof(Attr) * (size_t)n->nattrs);
  a[n->nattrs].name = name;
  a[n->nattrs].type = AT_STRING;
  a[n->nattrs].s = s;
  n->attrs = a;
  n->nattrs++;
}

/* Resize by (1,1,f,f), nearest/asymmetric/floor: PyTorch's upsample. */
static Node *upsample(T *t, const char *name, Value *x, float f, Value *y) {
  float sc[4] = {1, 1, f, f};
  Value *in[3] = {x, NULL, cst_f32(t, "scales", 4, sc)};
  Node *n = node(t, OP_Resize, name, 3, in, 1, &y);
  attr_str(t, n, "coordinate_transformation_mode", "asymmetric");
  attr_str(t, n, "nearest_mode", "floor");
  return n;
}

static Status run(T *t, int nin, Value **ins, int nout, Value **outs) {
  graph_set_inputs(&t->cx, t->g, nin, ins);
  graph_set_outputs(&t->cx, t->g, nout, outs);
  return lower_graph(&t->cx, t->g, &t->out);
}

static int count(const Graph *g, TflOp op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += !g->nodes[i]->dead && g->nodes[i]->op == (int)op;
  return k;
}

static Node *find(const Graph *g, TflOp op) {
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i]->dead && g->nodes[i]->op == (int)op)
      return g->nodes[i];
  return NULL;
}

/* Does constant v hold exactly the int32 values given? */
static bool holds(const Value *v, int n, ...) {
  if (!v || !v->data || v->dtype != DT_I32 || value_numel(v) != n)
    return false;
  va_list ap;
  va_start(ap, n);
  bool ok = true;
  for (int i = 0; i < n; i++)
    ok = ok && load_i32(v->data, (size_t)i) == va_arg(ap, int);
  va_end(ap);
  return ok;
}

static bool shape_is(const Value *v, int rank, ...) {
  if (!v || v->rank != rank)
    return false;
  va_list ap;
  va_start(ap, rank);
  bool ok = true;
  for (int i = 0; i < rank; i++)
    ok = ok && v->dims[i] == va_arg(ap, int);
  va_end(ap);
  return ok;
}

static void report_failure(T *t, Status st) {
  if (st != O2L_OK)
    fprintf(stderr, "  lowering failed: %s\n", t->cx.msg);
}

/* x, y (both channels-last: they reach a Resize through the Concat) joined
 * on channels: CONCATENATION on physical axis 3, no TRANSPOSE. */
static void test_concat_channels_last(void) {
  T t;
  t_init(&t);
  Value *x = val(&t, "x", 4, (int64_t[]){1, 3, 4, 4});
  Value *y = val(&t, "y", 4, (int64_t[]){1, 5, 4, 4});
  Value *z = val(&t, "z", 4, (int64_t[]){1, 8, 4, 4});
  Value *r = val(&t, "r", 4, (int64_t[]){1, 8, 8, 8});
  Value *cin[2] = {x, y};
  Node *c = node(&t, OP_Concat, "cat", 2, cin, 1, &z);
  node_set_attr_int(&t.cx, c, "axis", 1);
  upsample(&t, "up", z, 2, r);
  Status st = run(&t, 2, cin, 1, &r);
  report_failure(&t, st);
  CHECK(st == O2L_OK);
  if (st == O2L_OK) {
    Node *cat = find(t.out, TFL_CONCATENATION);
    CHECK(cat && cat->opt.axis == 3);
    CHECK(cat && shape_is(cat->out[0], 4, 1, 4, 4, 8));
    CHECK(count(t.out, TFL_TRANSPOSE) == 0);
    Node *rs = find(t.out, TFL_RESIZE_NEAREST_NEIGHBOR);
    CHECK(rs && !rs->opt.align_corners && !rs->opt.half_pixel_centers);
    CHECK(rs && holds(rs->in[1], 2, 8, 8));
    CHECK(shape_is(t.out->outputs[0], 4, 1, 8, 8, 8));
  }
  t_free(&t);
}

/* ShuffleNet's channel shuffle followed by a channel Slice: the reshapes
 * and the transpose move nothing; the slice needs channels-last again,
 * which costs exactly one TRANSPOSE. */
static void test_channel_shuffle(void) {
  T t;
  t_init(&t);
  Value *x = val(&t, "x", 4, (int64_t[]){1, 6, 3, 5});
  Value *up = val(&t, "up", 4, (int64_t[]){1, 6, 6, 10});
  Value *a = val(&t, "a", 5, (int64_t[]){1, 2, 3, 3, 5});
  Value *b = val(&t, "b", 5, (int64_t[]){1, 3, 2, 3, 5});
  Value *c = val(&t, "c", 4, (int64_t[]){1, 6, 3, 5});
  Value *s = val(&t, "s", 4, (int64_t[]){1, 3, 3, 5});
  upsample(&t, "upx", x, 2, up);
  Value *r1[2] = {x, cst_i64(&t, "shape5", 5, (int64_t[]){1, 2, 3, 3, 5})};
  node(&t, OP_Reshape, "r1", 2, r1, 1, &a);
  Node *tr = node(&t, OP_Transpose, "tr", 1, &a, 1, &b);
  node_set_attr_ints(&t.cx, tr, "perm", (int64_t[]){0, 2, 1, 3, 4}, 5);
  Value *r2[2] = {b, cst_i64(&t, "shape4", 4, (int64_t[]){1, 6, 3, 5})};
  node(&t, OP_Reshape, "r2", 2, r2, 1, &c);
  Value *sl[4] = {c, cst_i64(&t, "st", 1, (int64_t[]){1}),
                  cst_i64(&t, "en", 1, (int64_t[]){4}),
                  cst_i64(&t, "ax", 1, (int64_t[]){1})};
  node(&t, OP_Slice, "sl", 4, sl, 1, &s);
  Value *outs[2] = {up, s};
  Status st = run(&t, 1, &x, 2, outs);
  report_failure(&t, st);
  CHECK(st == O2L_OK);
  if (st == O2L_OK) {
    CHECK(count(t.out, TFL_TRANSPOSE) == 1);
    Node *sn = find(t.out, TFL_SLICE);
    CHECK(sn && holds(sn->in[1], 4, 0, 0, 0, 1));
    CHECK(sn && holds(sn->in[2], 4, 1, 3, 5, 3));
    CHECK(shape_is(t.out->outputs[1], 4, 1, 3, 5, 3));
  }
  t_free(&t);
}

/* Flatten, Unsqueeze and Squeeze of a channels-last map add no operator of
 * their own; the graph output (2-D, ONNX order) is where the data order
 * must change. */
static void test_flatten_free(void) {
  T t;
  t_init(&t);
  Value *x = val(&t, "x", 4, (int64_t[]){1, 3, 2, 2});
  Value *up = val(&t, "up", 4, (int64_t[]){1, 3, 4, 4});
  Value *f = val(&t, "f", 2, (int64_t[]){1, 48});
  Value *u = val(&t, "u", 3, (int64_t[]){1, 1, 48});
  Value *q = val(&t, "q", 2, (int64_t[]){1, 48});
  upsample(&t, "upx", x, 2, up);
  node(&t, OP_Flatten, "flat", 1, &up, 1, &f);
  Value *uin[2] = {f, cst_i64(&t, "axes", 1, (int64_t[]){1})};
  node(&t, OP_Unsqueeze, "unsq", 2, uin, 1, &u);
  Value *qin[2] = {u, cst_i64(&t, "axes2", 1, (int64_t[]){1})};
  node(&t, OP_Squeeze, "sq", 2, qin, 1, &q);
  Status st = run(&t, 1, &x, 1, &q);
  report_failure(&t, st);
  CHECK(st == O2L_OK);
  if (st == O2L_OK) {
    for (int i = 0; i < t.out->nnodes; i++) {
      CHECK(strcmp(t.out->nodes[i]->name, "flat") != 0);
      CHECK(strcmp(t.out->nodes[i]->name, "unsq") != 0);
      CHECK(strcmp(t.out->nodes[i]->name, "sq") != 0);
    }
    CHECK(count(t.out, TFL_TRANSPOSE) == 1);
    CHECK(shape_is(t.out->outputs[0], 2, 1, 48));
  }
  t_free(&t);
}

/* A Transpose that turns NCHW into NHWC is free on a channels-last map:
 * the result is already stored in ONNX order. */
static void test_transpose_free(void) {
  T t;
  t_init(&t);
  Value *x = val(&t, "x", 4, (int64_t[]){1, 4, 3, 5});
  Value *up = val(&t, "up", 4, (int64_t[]){1, 4, 6, 10});
  Value *y = val(&t, "y", 4, (int64_t[]){1, 6, 10, 4});
  upsample(&t, "upx", x, 2, up);
  Node *tr = node(&t, OP_Transpose, "tr", 1, &up, 1, &y);
  node_set_attr_ints(&t.cx, tr, "perm", (int64_t[]){0, 2, 3, 1}, 4);
  Status st = run(&t, 1, &x, 1, &y);
  report_failure(&t, st);
  CHECK(st == O2L_OK);
  if (st == O2L_OK) {
    CHECK(count(t.out, TFL_TRANSPOSE) == 0);
    CHECK(shape_is(t.out->outputs[0], 4, 1, 6, 10, 4));
  }
  t_free(&t);
}

/* Slice with a step, Gather with a scalar, a run and a scattered vector of
 * indices, all on axis 1 of a channels-last map: the last physical axis. */
static void test_slice_gather_axis1(void) {
  T t;
  t_init(&t);
  Value *x = val(&t, "x", 4, (int64_t[]){1, 6, 3, 5});
  Value *s = val(&t, "s", 4, (int64_t[]){1, 3, 3, 5});
  Value *g0 = val(&t, "g0", 3, (int64_t[]){1, 3, 5});
  Value *g1 = val(&t, "g1", 4, (int64_t[]){1, 2, 3, 5});
  Value *g2 = val(&t, "g2", 4, (int64_t[]){1, 3, 3, 5});
  Value *cl = val(&t, "cl", 4, (int64_t[]){1, 6, 6, 10});
  upsample(&t, "upx", x, 2, cl);
  Value *sl[5] = {x, cst_i64(&t, "st", 1, (int64_t[]){5}),
                  cst_i64(&t, "en", 1, (int64_t[]){-100}),
                  cst_i64(&t, "ax", 1, (int64_t[]){1}),
                  cst_i64(&t, "sp", 1, (int64_t[]){-2})};
  node(&t, OP_Slice, "sl", 5, sl, 1, &s);
  Value *ga[2] = {x, cst_i64_scalar(&t, "i0", -1)};
  node_set_attr_int(&t.cx, node(&t, OP_Gather, "ga", 2, ga, 1, &g0), "axis",
                    1);
  Value *gb[2] = {x, cst_i64(&t, "i1", 2, (int64_t[]){2, 3})};
  node_set_attr_int(&t.cx, node(&t, OP_Gather, "gb", 2, gb, 1, &g1), "axis",
                    1);
  Value *gc[2] = {x, cst_i64(&t, "i2", 3, (int64_t[]){4, 0, -4})};
  node_set_attr_int(&t.cx, node(&t, OP_Gather, "gc", 2, gc, 1, &g2), "axis",
                    1);
  Value *outs[5] = {cl, s, g0, g1, g2};
  Status st = run(&t, 1, &x, 5, outs);
  report_failure(&t, st);
  CHECK(st == O2L_OK);
  if (st == O2L_OK) {
    CHECK(count(t.out, TFL_TRANSPOSE) == 0);
    Node *ss = find(t.out, TFL_STRIDED_SLICE);
    CHECK(ss && holds(ss->in[1], 4, 0, 0, 0, 5));
    CHECK(ss && holds(ss->in[3], 4, 1, 1, 1, -2));
    CHECK(ss && ss->opt.end_mask == 8);
    CHECK(count(t.out, TFL_SLICE) == 2);
    Node *sn = find(t.out, TFL_SLICE);
    CHECK(sn && holds(sn->in[1], 4, 0, 0, 0, 5)); /* index -1 */
    CHECK(sn && holds(sn->in[2], 4, 1, 3, 5, 1));
    Node *gn = find(t.out, TFL_GATHER);
    CHECK(gn && gn->opt.axis == 3 && holds(gn->in[1], 3, 4, 0, 2));
    /* the scalar gather drops the channel axis: [1,3,5] is plain order */
    CHECK(shape_is(t.out->outputs[2], 3, 1, 3, 5));
    CHECK(shape_is(t.out->outputs[3], 4, 1, 3, 5, 2));
  }
  t_free(&t);
}

/* Reductions, ArgMax, Pad and Split on a channels-last map name physical
 * axes. */
static void test_axis_ops(void) {
  T t;
  t_init(&t);
  Value *x = val(&t, "x", 4, (int64_t[]){1, 4, 3, 5});
  Value *cl = val(&t, "cl", 4, (int64_t[]){1, 4, 6, 10});
  Value *m = val(&t, "m", 4, (int64_t[]){1, 4, 1, 1});
  Value *am = val(&t, "am", 4, (int64_t[]){1, 1, 3, 5});
  Value *p = val(&t, "p", 4, (int64_t[]){1, 4, 5, 8});
  Value *s0 = val(&t, "s0", 4, (int64_t[]){1, 2, 3, 5});
  Value *s1 = val(&t, "s1", 4, (int64_t[]){1, 2, 3, 5});
  upsample(&t, "upx", x, 2, cl);
  Node *rm = node(&t, OP_ReduceMean, "rm", 1, &x, 1, &m);
  node_set_attr_ints(&t.cx, rm, "axes", (int64_t[]){2, 3}, 2);
  Node *ag = node(&t, OP_ArgMax, "ag", 1, &x, 1, &am);
  node_set_attr_int(&t.cx, ag, "axis", 1);
  am->dtype = DT_I64;
  Value *pin[2] = {x, cst_i64(&t, "pads", 8,
                              (int64_t[]){0, 0, 1, 2, 0, 0, 1, 1})};
  Node *pd = node(&t, OP_Pad, "pad", 2, pin, 1, &p);
  attr_str(&t, pd, "mode", "reflect");
  Value *so[2] = {s0, s1};
  node_set_attr_int(&t.cx, node(&t, OP_Split, "split", 1, &x, 2, so), "axis",
                    1);
  Value *outs[6] = {cl, m, am, p, s0, s1};
  Status st = run(&t, 1, &x, 6, outs);
  report_failure(&t, st);
  CHECK(st == O2L_OK);
  if (st == O2L_OK) {
    CHECK(count(t.out, TFL_TRANSPOSE) == 0);
    Node *mn = find(t.out, TFL_MEAN);
    CHECK(mn && mn->opt.keep_dims && holds(mn->in[1], 2, 1, 2));
    Node *an = find(t.out, TFL_ARG_MAX);
    CHECK(an && holds(an->in[1], 1, 3) && an->out[0]->dtype == DT_I64);
    Node *mp = find(t.out, TFL_MIRROR_PAD);
    CHECK(mp && mp->opt.mirror_mode == TFL_MIRROR_REFLECT);
    CHECK(mp && holds(mp->in[1], 8, 0, 0, 1, 1, 2, 1, 0, 0));
    Node *sp = find(t.out, TFL_SPLIT);
    CHECK(sp && holds(sp->in[0], 1, 3) && sp->nout == 2);
  }
  t_free(&t);
}

/* A split with an empty part and a Concat that gets it back: the empty
 * part is a constant, the rest an alias, so no operator at all.  Computed
 * Gather indices go through FLOOR_MOD (ONNX allows negative ones). */
static void test_empty_and_runtime_indices(void) {
  T t;
  t_init(&t);
  Value *x = val(&t, "x", 4, (int64_t[]){1, 6, 3, 5});
  Value *cl = val(&t, "cl", 4, (int64_t[]){1, 6, 6, 10});
  Value *s0 = val(&t, "s0", 4, (int64_t[]){1, 6, 3, 5});
  Value *s1 = val(&t, "s1", 4, (int64_t[]){1, 0, 3, 5});
  Value *c = val(&t, "c", 4, (int64_t[]){1, 6, 3, 5});
  Value *idx = graph_add_value(&t.cx, t.g, "idx", DT_I64, 1, (int64_t[]){2});
  Value *g = val(&t, "g", 4, (int64_t[]){1, 2, 3, 5});
  upsample(&t, "upx", x, 2, cl);
  Value *sin[2] = {x, cst_i64(&t, "split", 2, (int64_t[]){6, 0})};
  Value *so[2] = {s0, s1};
  node_set_attr_int(&t.cx, node(&t, OP_Split, "split", 2, sin, 2, so), "axis",
                    1);
  Value *cin[2] = {s1, s0};
  node_set_attr_int(&t.cx, node(&t, OP_Concat, "cat", 2, cin, 1, &c), "axis",
                    1);
  Value *gin[2] = {x, idx};
  node_set_attr_int(&t.cx, node(&t, OP_Gather, "ga", 2, gin, 1, &g), "axis",
                    1);
  Value *ins[2] = {x, idx}, *outs[3] = {cl, c, g};
  Status st = run(&t, 2, ins, 3, outs);
  report_failure(&t, st);
  CHECK(st == O2L_OK);
  if (st == O2L_OK) {
    CHECK(count(t.out, TFL_SPLIT) + count(t.out, TFL_SPLIT_V) == 0);
    CHECK(count(t.out, TFL_CONCATENATION) == 0);
    CHECK(count(t.out, TFL_TRANSPOSE) == 0);
    Node *fm = find(t.out, TFL_FLOOR_MOD);
    CHECK(fm && fm->in[0] == t.out->inputs[1]);
    Node *gn = find(t.out, TFL_GATHER);
    CHECK(gn && fm && gn->opt.axis == 3 && gn->in[1] == fm->out[0]);
  }
  t_free(&t);
}

/* A 1-D map [N,C,L] resizes as [N,1,L,C]; the mapping table decides the
 * switches; modes TFLite cannot reproduce are refused by name.  sw gets
 * align_corners * 2 + half_pixel_centers. */
static Status resize_case(const char *mode, const char *coord,
                          const char *nearest, int rank, int64_t in_sp,
                          int64_t out_sp, int *sw, char *msg) {
  T t;
  t_init(&t);
  int64_t xd[4] = {1, 2, in_sp, in_sp}, yd[4] = {1, 2, out_sp, out_sp};
  Value *x = val(&t, "x", rank, xd);
  Value *y = val(&t, "y", rank, yd);
  Value *in[4] = {x, NULL, NULL, cst_i64(&t, "sizes", rank, yd)};
  Node *n = node(&t, OP_Resize, "rs", 4, in, 1, &y);
  attr_str(&t, n, "mode", mode);
  attr_str(&t, n, "coordinate_transformation_mode", coord);
  if (nearest)
    attr_str(&t, n, "nearest_mode", nearest);
  Status st = run(&t, 1, &x, 1, &y);
  strcpy(msg, t.cx.msg);
  *sw = -1;
  if (st == O2L_OK) {
    Node *r = find(t.out, strcmp(mode, "linear") == 0
                              ? TFL_RESIZE_BILINEAR
                              : TFL_RESIZE_NEAREST_NEIGHBOR);
    CHECK(r != NULL);
    CHECK(count(t.out, TFL_TRANSPOSE) == 0);
    if (r) {
      *sw = r->opt.align_corners * 2 + r->opt.half_pixel_centers;
      CHECK(holds(r->in[1], 2, rank == 3 ? 1 : (int)out_sp, (int)out_sp));
      CHECK(shape_is(r->in[0], 4, 1, rank == 3 ? 1 : (int)in_sp, (int)in_sp,
                     2));
    }
  }
  t_free(&t);
  return st;
}

static void test_resize_modes(void) {
  int sw;
  char msg[2048];
  CHECK(resize_case("nearest", "asymmetric", "floor", 4, 4, 8, &sw, msg) ==
        O2L_OK && sw == 0);
  CHECK(resize_case("nearest", "asymmetric", "floor", 3, 4, 12, &sw, msg) ==
        O2L_OK && sw == 0);
  CHECK(resize_case("nearest", "align_corners", "round_prefer_ceil", 4, 4, 7,
                    &sw, msg) == O2L_OK && sw == 2);
  CHECK(resize_case("linear", "half_pixel", NULL, 4, 5, 7, &sw, msg) ==
        O2L_OK && sw == 1);
  CHECK(resize_case("linear", "align_corners", NULL, 3, 5, 9, &sw, msg) ==
        O2L_OK && sw == 2);
  CHECK(resize_case("linear", "asymmetric", NULL, 4, 5, 9, &sw, msg) ==
        O2L_OK && sw == 0);
  /* integer upscale: no ties, round_prefer_floor is fine */
  CHECK(resize_case("nearest", "half_pixel", "round_prefer_floor", 4, 3, 9,
                    &sw, msg) == O2L_OK && sw == 1);
  /* even downscale: ties that ONNX rounds down and TFLite up */
  CHECK(resize_case("nearest", "half_pixel", "round_prefer_floor", 4, 8, 4,
                    &sw, msg) == O2L_ERR_UNSUPPORTED);
  CHECK(strstr(msg, "round_prefer_floor") != NULL);
  CHECK(resize_case("cubic", "half_pixel", NULL, 4, 4, 8, &sw, msg) ==
        O2L_ERR_UNSUPPORTED);
  CHECK(strstr(msg, "'rs'") && strstr(msg, "cubic"));
  CHECK(resize_case("linear", "tf_crop_and_resize", NULL, 4, 4, 8, &sw,
                    msg) == O2L_ERR_UNSUPPORTED);
  CHECK(strstr(msg, "tf_crop_and_resize") != NULL);
  CHECK(resize_case("linear", "pytorch_half_pixel", NULL, 4, 4, 1, &sw,
                    msg) == O2L_ERR_UNSUPPORTED);
}

int main(void) {
  test_concat_channels_last();
  test_channel_shuffle();
  test_flatten_free();
  test_transpose_free();
  test_slice_gather_axis1();
  test_axis_ops();
  test_empty_and_runtime_indices();
  test_resize_modes();
  return check_done("test_lower_shape");
}
