/* bench_ref.c - speed of the float reference kernels (src/ref/) on
 * mobilenet-v2-like layers and on a whole synthetic MobileNetV2 (224x224,
 * random weights, same layer shapes as torchvision's), single thread.
 *
 *   make build/bench_ref && build/bench_ref [iterations]
 *
 * Prints GFLOP/s of the 1x1 conv GEMM and the depthwise conv for each ISA
 * variant, and ms per MobileNetV2 inference (2 FLOPs per multiply-add).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "ref/ref.h"
#include "ref/ref_impl.h"

static unsigned rng = 12345;
static float frand(void) {
  rng = rng * 1664525u + 1013904223u;
  return (float)((rng >> 8) & 0xffff) / 65536.0f - 0.5f;
}

typedef struct B {
  Ctx cx;
  Arena a;
  Graph *g;
  double flops;
  int nv;
} B;

static Value *act(B *b, int64_t n, int64_t h, int64_t w, int64_t c) {
  int64_t d[4] = {n, h, w, c};
  char name[32];
  snprintf(name, sizeof name, "t%d", b->nv++);
  return graph_add_value(&b->cx, b->g, arena_strdup(&b->a, name), DT_F32, 4, d);
}

static Value *weights(B *b, int rank, const int64_t *d, float scale) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= d[i];
  float *w = arena_alloc(&b->a, (size_t)n * 4, 64);
  for (int64_t i = 0; i < n; i++)
    w[i] = frand() * scale;
  return graph_add_const(&b->cx, b->g, "w", DT_F32, rank, d, w, (size_t)n * 4);
}

static Value *conv(B *b, Value *x, int oc, int k, int s, int act_fn, bool dw) {
  int64_t ic = x->dims[3];
  int64_t oh = (x->dims[1] + s - 1) / s, ow = (x->dims[2] + s - 1) / s;
  int64_t wd[4] = {dw ? 1 : oc, k, k, dw ? oc : ic}, bd[1] = {oc};
  Value *in[3] = {x, weights(b, 4, wd, dw ? 0.5f : 2.0f / (float)(k * k * ic)),
                  weights(b, 1, bd, 0.1f)};
  Value *y = act(b, 1, oh, ow, oc);
  Node *n = graph_add_node(&b->cx, b->g, dw ? TFL_DEPTHWISE_CONV_2D : TFL_CONV_2D,
                           y->name, 3, in, 1, &y);
  n->opt.padding = TFL_PAD_SAME;
  n->opt.stride_h = n->opt.stride_w = s;
  n->opt.act = act_fn;
  n->opt.depth_multiplier = dw ? 1 : 0;
  b->flops += 2.0 * (double)(oh * ow * oc) * k * k * (dw ? 1 : (double)ic);
  return y;
}

static Value *add(B *b, Value *x, Value *y) {
  Value *in[2] = {x, y};
  Value *z = act(b, x->dims[0], x->dims[1], x->dims[2], x->dims[3]);
  graph_add_node(&b->cx, b->g, TFL_ADD, z->name, 2, in, 1, &z);
  return z;
}

static void build_mobilenet(B *b) {
  Value *x = act(b, 1, 224, 224, 3);
  graph_set_inputs(&b->cx, b->g, 1, &x);
  Value *y = conv(b, x, 32, 3, 2, TFL_ACT_RELU6, false);
  static const int cfg[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2},
                                {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2},
                                {6, 320, 1, 1}};
  for (int i = 0; i < 7; i++)
    for (int r = 0; r < cfg[i][2]; r++) {
      int s = r == 0 ? cfg[i][3] : 1;
      int64_t ic = y->dims[3];
      Value *h = y;
      if (cfg[i][0] != 1)
        h = conv(b, h, (int)ic * cfg[i][0], 1, 1, TFL_ACT_RELU6, false);
      h = conv(b, h, (int)h->dims[3], 3, s, TFL_ACT_RELU6, true);
      h = conv(b, h, cfg[i][1], 1, 1, TFL_ACT_NONE, false);
      y = s == 1 && ic == cfg[i][1] ? add(b, y, h) : h;
    }
  y = conv(b, y, 1280, 1, 1, TFL_ACT_RELU6, false);
  static const int32_t axes[2] = {1, 2};
  int64_t ad[1] = {2}, md[2] = {1, 1280}, wd[2] = {1000, 1280}, bd[1] = {1000};
  Value *in[3] = {y, graph_add_const(&b->cx, b->g, "axes", DT_I32, 1, ad, axes, 8)};
  Value *m = graph_add_value(&b->cx, b->g, "pooled", DT_F32, 2, md);
  graph_add_node(&b->cx, b->g, TFL_MEAN, "mean", 2, in, 1, &m);
  in[0] = m;
  in[1] = weights(b, 2, wd, 0.05f);
  in[2] = weights(b, 1, bd, 0.1f);
  int64_t od[2] = {1, 1000};
  Value *logits = graph_add_value(&b->cx, b->g, "logits", DT_F32, 2, od);
  graph_add_node(&b->cx, b->g, TFL_FULLY_CONNECTED, "fc", 3, in, 1, &logits);
  b->flops += 2.0 * 1280 * 1000;
  graph_set_outputs(&b->cx, b->g, 1, &logits);
}

static void b_init(B *b) {
  arena_init(&b->a);
  ctx_init(&b->cx, &b->a, NULL, NULL);
  b->g = graph_new(&b->cx, GRAPH_TFL);
  b->flops = 0;
  b->nv = 0;
}

/* Best time of `iters` runs. */
static double time_graph(B *b, int iters, RefRunner **keep) {
  RefRunner *r;
  if (ref_prepare(&b->cx, b->g, &r) != O2L_OK) {
    fprintf(stderr, "prepare: %s\n", b->cx.msg);
    exit(1);
  }
  const Value *in = b->g->inputs[0];
  size_t n = (size_t)value_numel(in);
  float *x = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++)
    x[i] = frand();
  const float *ins[1] = {x};
  double best = 1e9;
  for (int i = 0; i < iters; i++) {
    double t = now_seconds();
    ref_run(r, ins);
    t = now_seconds() - t;
    best = t < best ? t : best;
  }
  free(x);
  if (keep)
    *keep = r;
  else
    ref_free(r);
  return best;
}

static void layer(const char *what, int h, int cin, int cout, int k, int s,
                  bool dw, int iters) {
  B b;
  b_init(&b);
  Value *x = act(&b, 1, h, h, cin);
  graph_set_inputs(&b.cx, b.g, 1, &x);
  Value *y = conv(&b, x, cout, k, s, TFL_ACT_RELU6, dw);
  graph_set_outputs(&b.cx, b.g, 1, &y);
  double t = time_graph(&b, iters, NULL);
  printf("  %-34s %8.3f ms %7.1f GFLOP/s\n", what, t * 1e3, b.flops / t * 1e-9);
  graph_release(b.g);
  arena_free(&b.a);
}

int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 20;
  for (int pass = 0; pass < 3; pass++) {
    if (pass > 0 && (int)ref_isa() == REF_ISA_GENERIC)
      break;
    ref_limit_isa(pass == 0 ? -1 : (int)ref_isa() - 1);
    printf("ISA %s\n", ref_isa_name());
    layer("conv 1x1 112x112x32->96", 112, 32, 96, 1, 1, false, iters);
    layer("conv 1x1 56x56x144->24", 56, 144, 24, 1, 1, false, iters);
    layer("conv 1x1 14x14x64->384", 14, 64, 384, 1, 1, false, iters);
    layer("conv 1x1 7x7x320->1280", 7, 320, 1280, 1, 1, false, iters);
    layer("conv 3x3 s2 224x224x3->32", 224, 3, 32, 3, 2, false, iters);
    layer("conv 3x3 56x56x64->64", 56, 64, 64, 3, 1, false, iters);
    layer("dwconv 3x3 112x112x96", 112, 96, 96, 3, 1, true, iters);
    layer("dwconv 3x3 s2 112x112x96", 112, 96, 96, 3, 2, true, iters);
    layer("dwconv 3x3 14x14x384", 14, 384, 384, 3, 1, true, iters);
    B b;
    b_init(&b);
    build_mobilenet(&b);
    RefRunner *r;
    double t = time_graph(&b, iters, &r);
    printf("  mobilenet_v2 224x224 (%.0f MFLOP)  %8.3f ms %7.1f GFLOP/s\n",
           b.flops * 1e-6, t * 1e3, b.flops / t * 1e-9);
    if (pass == 0) { /* where the time goes, by operator kind */
      ref_set_profiling(r, 1);
      const float *dummy = NULL;
      (void)dummy;
      size_t n = (size_t)value_numel(b.g->inputs[0]);
      float *x = calloc(n, sizeof(float));
      const float *ins[1] = {x};
      for (int i = 0; i < iters; i++)
        ref_run(r, ins);
      free(x);
      const double *prof = ref_profile(r);
      double by_op[TFL_OP_COUNT] = {0};
      for (int i = 0; i < b.g->nnodes; i++)
        by_op[b.g->nodes[i]->op] += prof[i] / iters;
      for (int op = 0; op < TFL_OP_COUNT; op++)
        if (by_op[op] > 0)
          printf("    %-22s %8.3f ms\n", tfl_op_name(op), by_op[op] * 1e3);
    }
    ref_free(r);
    graph_release(b.g);
    arena_free(&b.a);
  }
  return 0;
}
