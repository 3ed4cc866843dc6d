/* tfl_sample_writer.c - writes small .tflite files with tfl_write for
 * tests/tfl_runtime_check.py, which runs them in LiteRT and compares with
 * numpy.  Not a unit test (no test_ prefix): the Python script builds it
 * against build/libonnx2lite.a.
 *
 *   tfl_sample_writer OUTDIR
 *
 * Constant tensors are filled with pattern(i, salt) below; the script
 * computes the same numbers.  Besides the checked models it writes the
 * probes behind docs/tflite-facts.md: grouped CONV_2D, TRANSPOSE_CONV
 * variants, resize flag combinations, and one file per (operator,
 * version) under OUTDIR/versions/ to find the versions LiteRT accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ir.h"
#include "tfl/tfl.h"

typedef struct Model {
  Arena arena;
  Ctx cx;
  Graph *g;
  Value *in[4], *out[4];
  int nin, nout;
} Model;

static const char *outdir;
static int failures;

/* The same numbers as pattern() in tfl_runtime_check.py. */
static float pattern(size_t i, int salt) {
  int k = (int)((i * 37 + (size_t)salt * 11) % 101) - 50;
  return (float)k / 50.0f;
}

static void begin(Model *m) {
  memset(m, 0, sizeof *m);
  arena_init(&m->arena);
  ctx_init(&m->cx, &m->arena, NULL, NULL);
  m->g = graph_new(&m->cx, GRAPH_TFL);
}

static Value *tensor(Model *m, const char *name, DType t, int rank, const int64_t *dims) {
  return graph_add_value(&m->cx, m->g, name, t, rank, dims);
}

static Value *input(Model *m, const char *name, int rank, const int64_t *dims) {
  Value *v = tensor(m, name, DT_F32, rank, dims);
  m->in[m->nin++] = v;
  return v;
}

static Value *output(Model *m, const char *name, int rank, const int64_t *dims) {
  Value *v = tensor(m, name, DT_F32, rank, dims);
  m->out[m->nout++] = v;
  return v;
}

static Value *weights(Model *m, const char *name, int rank, const int64_t *dims,
                      int salt) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= dims[i];
  float *d = arena_alloc(&m->arena, sizeof(float) * (size_t)n, 16);
  for (int64_t i = 0; i < n; i++)
    d[i] = pattern((size_t)i, salt);
  return graph_add_const(&m->cx, m->g, name, DT_F32, rank, dims, d,
                         sizeof(float) * (size_t)n);
}

static Value *ints(Model *m, const char *name, int n, const int32_t *vals) {
  int64_t dims[1] = {n};
  int32_t *d = arena_alloc(&m->arena, sizeof(int32_t) * (size_t)n, 16);
  memcpy(d, vals, sizeof(int32_t) * (size_t)n);
  return graph_add_const(&m->cx, m->g, name, DT_I32, 1, dims, d,
                         sizeof(int32_t) * (size_t)n);
}

static Node *op(Model *m, int code, int nin, Value *a, Value *b, Value *c, Value *d,
                Value *out) {
  Value *in[4] = {a, b, c, d};
  return graph_add_node(&m->cx, m->g, code, out->name, nin, in, 1, &out);
}

static void finish(Model *m, const char *file) {
  graph_set_inputs(&m->cx, m->g, m->nin, m->in);
  graph_set_outputs(&m->cx, m->g, m->nout, m->out);
  char path[512];
  snprintf(path, sizeof path, "%s/%s", outdir, file);
  if (m->cx.status == O2L_OK)
    tfl_write(&m->cx, m->g, path, NULL);
  if (m->cx.status != O2L_OK) {
    fprintf(stderr, "%s: %s\n", file, m->cx.msg);
    failures++;
  }
  graph_release(m->g);
  arena_free(&m->arena);
}

/* ---- the checked models ----------------------------------------------- */

static void conv_relu(void) {
  Model m;
  begin(&m);
  int64_t xd[4] = {1, 7, 6, 3}, wd[4] = {5, 3, 3, 3}, bd[1] = {5}, yd[4] = {1, 4, 6, 5};
  Value *x = input(&m, "image", 4, xd);
  Value *y = output(&m, "features", 4, yd);
  Node *n = op(&m, TFL_CONV_2D, 3, x, weights(&m, "w", 4, wd, 1),
               weights(&m, "b", 1, bd, 2), NULL, y);
  n->opt = (TflOptions){.padding = TFL_PAD_SAME, .stride_w = 1, .stride_h = 2,
                        .act = TFL_ACT_RELU};
  finish(&m, "conv_relu.tflite");
}

static void depthwise(void) {
  Model m;
  begin(&m);
  int64_t xd[4] = {1, 5, 5, 4}, wd[4] = {1, 3, 3, 8}, bd[1] = {8}, yd[4] = {1, 3, 3, 8};
  Value *x = input(&m, "x", 4, xd);
  Value *y = output(&m, "y", 4, yd);
  Node *n = op(&m, TFL_DEPTHWISE_CONV_2D, 3, x, weights(&m, "w", 4, wd, 3),
               weights(&m, "b", 1, bd, 4), NULL, y);
  n->opt = (TflOptions){.padding = TFL_PAD_VALID, .stride_w = 1, .stride_h = 1,
                        .depth_multiplier = 2};
  finish(&m, "depthwise.tflite");
}

static void fully_connected(void) {
  Model m;
  begin(&m);
  int64_t xd[2] = {2, 12}, wd[2] = {7, 12}, bd[1] = {7}, yd[2] = {2, 7};
  Value *x = input(&m, "x", 2, xd);
  Value *y = output(&m, "y", 2, yd);
  op(&m, TFL_FULLY_CONNECTED, 3, x, weights(&m, "w", 2, wd, 5), weights(&m, "b", 1, bd, 6),
     NULL, y);
  finish(&m, "fully_connected.tflite");
}

static void softmax(void) {
  Model m;
  begin(&m);
  int64_t d[2] = {2, 9};
  Value *x = input(&m, "x", 2, d);
  Value *y = output(&m, "y", 2, d);
  op(&m, TFL_SOFTMAX, 1, x, NULL, NULL, NULL, y)->opt.beta = 0.5f;
  finish(&m, "softmax.tflite");
}

static void mean(void) {
  Model m;
  begin(&m);
  int64_t xd[4] = {1, 4, 5, 6}, yd[4] = {1, 1, 1, 6};
  Value *x = input(&m, "x", 4, xd);
  Value *y = output(&m, "y", 4, yd);
  static const int32_t axes[2] = {1, 2};
  op(&m, TFL_MEAN, 2, x, ints(&m, "axes", 2, axes), NULL, NULL, y)->opt.keep_dims = true;
  finish(&m, "mean.tflite");
}

static void concatenation(void) {
  Model m;
  begin(&m);
  int64_t ad[4] = {1, 2, 3, 4}, bd[4] = {1, 2, 3, 5}, yd[4] = {1, 2, 3, 9};
  Value *a = input(&m, "a", 4, ad);
  Value *b = input(&m, "b", 4, bd);
  Value *y = output(&m, "y", 4, yd);
  op(&m, TFL_CONCATENATION, 2, a, b, NULL, NULL, y)->opt.axis = 3;
  finish(&m, "concatenation.tflite");
}

static void transpose(void) {
  Model m;
  begin(&m);
  int64_t xd[4] = {2, 3, 4, 5}, yd[4] = {2, 5, 3, 4};
  Value *x = input(&m, "x", 4, xd);
  Value *y = output(&m, "y", 4, yd);
  static const int32_t perm[4] = {0, 3, 1, 2};
  op(&m, TFL_TRANSPOSE, 2, x, ints(&m, "perm", 4, perm), NULL, NULL, y);
  finish(&m, "transpose.tflite");
}

/* RESIZE_BILINEAR or _NEAREST_NEIGHBOR from [1,h,w,2] to [1,oh,ow,2]. */
static void resize(const char *file, int code, int h, int w, int oh, int ow,
                   bool align_corners, bool half_pixel) {
  Model m;
  begin(&m);
  int64_t xd[4] = {1, h, w, 2}, yd[4] = {1, oh, ow, 2};
  Value *x = input(&m, "x", 4, xd);
  Value *y = output(&m, "y", 4, yd);
  int32_t size[2] = {oh, ow};
  Node *n = op(&m, code, 2, x, ints(&m, "size", 2, size), NULL, NULL, y);
  n->opt.align_corners = align_corners;
  n->opt.half_pixel_centers = half_pixel;
  finish(&m, file);
}

/* int8 CONV_2D, per-channel weights, int32 bias, fused RELU: the
 * quantization parameters must reach the interpreter unchanged. */
static Quant *quant(Model *m, int n, float scale, float step, int64_t zp, int axis) {
  Quant *q = arena_alloc(&m->arena, sizeof *q, 8);
  q->n = n;
  q->scale = arena_alloc(&m->arena, sizeof(float) * (size_t)n, 8);
  q->zp = arena_alloc(&m->arena, sizeof(int64_t) * (size_t)n, 8);
  for (int i = 0; i < n; i++) {
    q->scale[i] = scale + step * (float)i;
    q->zp[i] = zp;
  }
  q->axis = axis;
  return q;
}

static void int8_conv(void) {
  Model m;
  begin(&m);
  int64_t xd[4] = {1, 6, 6, 4}, wd[4] = {8, 3, 3, 4}, bd[1] = {8}, yd[4] = {1, 6, 6, 8};
  Value *x = tensor(&m, "x", DT_I8, 4, xd);
  Value *y = tensor(&m, "y", DT_I8, 4, yd);
  m.in[m.nin++] = x;
  m.out[m.nout++] = y;
  x->quant = quant(&m, 1, 0.05f, 0, -3, 0);
  y->quant = quant(&m, 1, 0.1f, 0, 2, 0);
  int8_t *w = arena_alloc(&m.arena, 8 * 9 * 4, 16);
  for (int i = 0; i < 8 * 9 * 4; i++)
    w[i] = (int8_t)((i * 37 + 11 * 11) % 101 - 50);
  int32_t *b = arena_alloc(&m.arena, 8 * 4, 16);
  for (int i = 0; i < 8; i++)
    b[i] = i * 10 - 20;
  Value *wv = graph_add_const(&m.cx, m.g, "w", DT_I8, 4, wd, w, 8 * 9 * 4);
  Value *bv = graph_add_const(&m.cx, m.g, "b", DT_I32, 1, bd, b, 8 * 4);
  wv->quant = quant(&m, 8, 0.01f, 0.01f, 0, 0);
  bv->quant = quant(&m, 8, 0.05f * 0.01f, 0.05f * 0.01f, 0, 0);
  Node *n = op(&m, TFL_CONV_2D, 3, x, wv, bv, NULL, y);
  n->opt = (TflOptions){.padding = TFL_PAD_SAME, .stride_w = 1, .stride_h = 1,
                        .act = TFL_ACT_RELU};
  finish(&m, "int8_conv.tflite");
}

/* ---- probes ----------------------------------------------------------- */

/* CONV_2D whose filter has fewer input channels than the input:
 * groups = 8 / cg, stride s, SAME. */
static void grouped_conv(int cout, int cg, int stride) {
  Model m;
  begin(&m);
  int out = (6 + stride - 1) / stride;
  int64_t xd[4] = {1, 6, 6, 8}, wd[4] = {cout, 3, 3, cg}, bd[1] = {cout},
          yd[4] = {1, out, out, cout};
  Value *x = input(&m, "x", 4, xd);
  Value *y = output(&m, "y", 4, yd);
  Node *n = op(&m, TFL_CONV_2D, 3, x, weights(&m, "w", 4, wd, 7),
               weights(&m, "b", 1, bd, 8), NULL, y);
  n->opt = (TflOptions){.padding = TFL_PAD_SAME, .stride_w = stride, .stride_h = stride};
  char file[96];
  snprintf(file, sizeof file, "grouped_conv_o%d_g%d_s%d.tflite", cout, 8 / cg, stride);
  finish(&m, file);
}

/* TRANSPOSE_CONV of a [1,5,5,3] input, k x k kernel, 4 output channels,
 * stride 2, requested output size `out`. */
static void transpose_conv(int k, int padding, int out, bool bias) {
  Model m;
  begin(&m);
  int64_t xd[4] = {1, 5, 5, 3}, wd[4] = {4, k, k, 3}, bd[1] = {4}, yd[4] = {1, out, out, 4};
  Value *x = input(&m, "x", 4, xd);
  Value *y = output(&m, "y", 4, yd);
  int32_t shape[4] = {1, out, out, 4};
  Value *s = ints(&m, "output_shape", 4, shape);
  Value *w = weights(&m, "w", 4, wd, 9);
  Node *n = bias ? op(&m, TFL_TRANSPOSE_CONV, 4, s, w, x, weights(&m, "b", 1, bd, 10), y)
                 : op(&m, TFL_TRANSPOSE_CONV, 3, s, w, x, NULL, y);
  n->opt = (TflOptions){.padding = padding, .stride_w = 2, .stride_h = 2};
  char file[96];
  snprintf(file, sizeof file, "tconv_%s_k%d_out%d%s.tflite",
           padding == TFL_PAD_SAME ? "same" : "valid", k, out, bias ? "_bias" : "");
  finish(&m, file);
}

/* One node of `code` at version v: enough for the interpreter to resolve
 * (and so accept or refuse) the operator code, nothing more. */
static void version_probe(int code, int version) {
  Model m;
  begin(&m);
  int64_t d[2] = {1, 4};
  Value *x = input(&m, "x", 2, d);
  Value *y = output(&m, "y", 2, d);
  Node *n = op(&m, code, 1, x, NULL, NULL, NULL, y);
  n->version = version;
  char file[96];
  snprintf(file, sizeof file, "versions/%s_v%d.tflite", tfl_op_name(code), version);
  finish(&m, file);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: tfl_sample_writer OUTDIR\n");
    return 64;
  }
  outdir = argv[1];
  char sub[512];
  snprintf(sub, sizeof sub, "%s/versions", outdir);
  mkdir(outdir, 0777);
  mkdir(sub, 0777);
  conv_relu();
  depthwise();
  fully_connected();
  softmax();
  mean();
  concatenation();
  transpose();
  resize("resize_bilinear_hpc.tflite", TFL_RESIZE_BILINEAR, 3, 4, 6, 8, false, true);
  int8_conv();
  grouped_conv(6, 4, 1);
  grouped_conv(8, 2, 2);
  grouped_conv(8, 1, 1);
  for (int k = 3; k <= 4; k++)
    for (int bias = 0; bias <= 1; bias++) {
      /* Full size is (5 - 1) * 2 + k; try both sides of it. */
      for (int out = 8; out <= 12; out++)
        transpose_conv(k, TFL_PAD_SAME, out, bias);
      for (int out = 8 + k - 1; out <= 8 + k + 1; out++)
        transpose_conv(k, TFL_PAD_VALID, out, bias);
    }
  static const int codes[2] = {TFL_RESIZE_NEAREST_NEIGHBOR, TFL_RESIZE_BILINEAR};
  static const char *names[2] = {"nearest", "bilinear"};
  for (int c = 0; c < 2; c++)
    for (int flags = 0; flags < 3; flags++) {
      char file[96];
      /* flags: 0 = none, 1 = align_corners, 2 = half_pixel_centers */
      snprintf(file, sizeof file, "resize_%s_f%d_4to8.tflite", names[c], flags);
      resize(file, codes[c], 4, 4, 8, 8, flags == 1, flags == 2);
      snprintf(file, sizeof file, "resize_%s_f%d_3to5.tflite", names[c], flags);
      resize(file, codes[c], 3, 3, 5, 5, flags == 1, flags == 2);
      snprintf(file, sizeof file, "resize_%s_f%d_4to2.tflite", names[c], flags);
      resize(file, codes[c], 4, 4, 2, 2, flags == 1, flags == 2);
    }
  for (int code = 0; code < TFL_OP_COUNT; code++)
    for (int v = 1; v <= 16; v++)
      version_probe(code, v);
  return failures ? 1 : 0;
}
