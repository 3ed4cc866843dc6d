/* test_ops_extra.c - the operators added for CNN coverage: shape inference
 * and its error messages (ops/<family>.c), and the structure of their
 * lowering (src/lower): which TFLite operators come out, with which options
 * and constants, and that a channels-last map goes through them without a
 * TRANSPOSE.  Graphs are built with irb.h; a graph input of rank >= 3 that
 * feeds a spatial operator is made channels-last by the lowering driver.
 * The numbers themselves are checked in LiteRT by tests/check_ops_extra.py.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "irb.h"
#include "lower/lower.h"
#include "tfl/tfl.h"

/* Fresh graph with one float input x of the given shape. */
#define SETUP(opset, ...)                                                  \
  TB t;                                                                    \
  tb_init(&t, opset);                                                      \
  Value *x = tb_input(&t, "x", DT_F32, NI(__VA_ARGS__), IV(__VA_ARGS__)); \
  Graph *out = NULL;                                                       \
  (void)x;                                                                 \
  (void)out

/* Constant of ramp values 0.01 * (i % 97) - 0.4 (some negative). */
static Value *w_ramp(TB *t, const char *name, int rank, const int64_t *dims) {
  int64_t k = 1;
  for (int i = 0; i < rank; i++)
    k *= dims[i];
  float *v = arena_alloc(&t->a, sizeof(float) * (size_t)(k + 1), 16);
  for (int64_t i = 0; i < k; i++)
    v[i] = 0.01f * (float)(i % 97) - 0.4f;
  return tb_const(t, name, DT_F32, rank, dims, v);
}

/* Infers, sets the outputs and lowers. */
static Status lower(TB *t, Graph **out, int nout, Value **outs) {
  for (int i = 0; i < nout; i++)
    tb_output(t, outs[i]);
  Status s = tb_infer(t);
  if (s != O2L_OK)
    return s;
  return lower_graph(&t->cx, t->g, out);
}

static int count(const Graph *g, int op) {
  int k = 0;
  for (int i = 0; g && i < g->nnodes; i++)
    k += g->nodes[i]->op == op;
  return k;
}

static Node *find(const Graph *g, int op, int k) {
  for (int i = 0; g && i < g->nnodes; i++)
    if (g->nodes[i]->op == op && k-- == 0)
      return g->nodes[i];
  return NULL;
}

static bool dims_are(const Value *v, int rank, const int64_t *d) {
  return v && v->rank == rank &&
         (rank == 0 || !memcmp(v->dims, d, sizeof(int64_t) * (size_t)rank));
}
#define DIMS(v, ...) dims_are((v), NI(__VA_ARGS__), IV(__VA_ARGS__))

static void done(TB *t, Graph *out) {
  if (out)
    graph_release(out);
  tb_free(t);
}

/* ---- 3-D feature maps ------------------------------------------------------ */

static void test_conv3d(void) {
  { /* group 1, 3x3x3: one CONV_3D, filter DHWIO, options per axis */
    SETUP(13, 2, 3, 6, 7, 8);
    Value *w = w_ramp(&t, "w", 5, IV(5, 3, 3, 3, 3));
    Value *b = w_ramp(&t, "b", 1, IV(5));
    Value *y = tb_op(&t, "Conv", "c3", INS(x, w, b),
                     ATTRS(INTS("strides", 1, 2, 1), INTS("dilations", 2, 1, 1),
                           INTS("pads", 2, 1, 1, 2, 1, 1)));
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    CHECK(SHAPE(y, 2, 5, 6, 4, 8));
    CHECK(count(out, TFL_TRANSPOSE) == 0 && count(out, TFL_CONV_3D) == 1);
    Node *c = find(out, TFL_CONV_3D, 0);
    CHECK(c && c->nin == 3 && DIMS(c->in[0], 2, 6, 7, 8, 3));
    CHECK(c && DIMS(c->in[1], 3, 3, 3, 3, 5) && DIMS(c->out[0], 2, 6, 4, 8, 5));
    CHECK(c && c->opt.padding == TFL_PAD_SAME && c->opt.stride_d == 1 &&
          c->opt.stride_h == 2 && c->opt.stride_w == 1 &&
          c->opt.dilation_d == 2 && c->opt.dilation_h == 1);
    /* filter[kd=1][kh=2][kw=0][ci=1][m=4] = W[4][1][1][2][0] */
    if (c) {
      size_t dst = (size_t)((((1 * 3 + 2) * 3 + 0) * 3 + 1) * 5 + 4);
      size_t src = (size_t)((((4 * 3 + 1) * 3 + 1) * 3 + 2) * 3 + 0);
      CHECK(load_f32(c->in[1]->data, dst) == load_f32(w->data, src));
    }
    CHECK(out->ninputs == 1 && DIMS(out->inputs[0], 2, 6, 7, 8, 3));
    done(&t, out);
  }
  { /* 1x3x3 is a CONV_2D on [N*D, H, W, C]; 3x1x1 one on [N, D, H*W, C] */
    SETUP(13, 2, 3, 6, 7, 8);
    Value *w1 = w_ramp(&t, "w1", 5, IV(4, 3, 1, 3, 3));
    Value *w2 = w_ramp(&t, "w2", 5, IV(4, 4, 3, 1, 1));
    Value *y1 = tb_op(&t, "Conv", "hw", INS(x, w1), ATTRS(INTS("pads", 0, 1, 1, 0, 1, 1)));
    Value *y2 = tb_op(&t, "Conv", "d", INS(y1, w2), ATTRS(INTS("strides", 2, 1, 1)));
    CHECK(lower(&t, &out, 1, &y2) == O2L_OK);
    CHECK(SHAPE(y2, 2, 4, 2, 7, 8));
    CHECK(count(out, TFL_CONV_3D) == 0 && count(out, TFL_CONV_2D) == 2 &&
          count(out, TFL_TRANSPOSE) == 0);
    Node *a = find(out, TFL_CONV_2D, 0), *b = find(out, TFL_CONV_2D, 1);
    CHECK(a && DIMS(a->in[0], 12, 7, 8, 3) && DIMS(a->in[1], 4, 3, 3, 3) &&
          a->opt.padding == TFL_PAD_SAME);
    CHECK(b && DIMS(b->in[0], 2, 6, 56, 4) && DIMS(b->in[1], 4, 3, 1, 4) &&
          DIMS(b->out[0], 2, 2, 56, 4) && b->opt.stride_h == 2 &&
          b->opt.padding == TFL_PAD_VALID);
    done(&t, out);
  }
  { /* depthwise 3x3x3: three depth taps through DEPTHWISE_CONV_2D */
    SETUP(13, 1, 4, 5, 6, 6);
    Value *w = w_ramp(&t, "w", 5, IV(8, 1, 3, 3, 3));
    Value *y = tb_op(&t, "Conv", "dw", INS(x, w),
                     ATTRS(A_i("group", 4), INTS("pads", 1, 1, 1, 1, 1, 1)));
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    CHECK(count(out, TFL_DEPTHWISE_CONV_2D) == 3 && count(out, TFL_ADD) == 2 &&
          count(out, TFL_SLICE) == 3 && count(out, TFL_PAD) == 1 &&
          count(out, TFL_TRANSPOSE) == 0);
    Node *d = find(out, TFL_DEPTHWISE_CONV_2D, 1);
    CHECK(d && DIMS(d->in[0], 5, 6, 6, 4) && DIMS(d->in[1], 1, 3, 3, 8) &&
          d->opt.depth_multiplier == 2 && d->opt.padding == TFL_PAD_SAME);
    /* tap 1 holds W[m][0][1][i][j] at [0][i][j][m] */
    if (d)
      CHECK(load_f32(d->in[1]->data, (size_t)((2 * 3 + 1) * 8 + 5)) ==
            load_f32(w->data, (size_t)(5 * 27 + 9 + 2 * 3 + 1)));
    done(&t, out);
  }
  { /* grouped ConvTranspose has no TFLite form */
    SETUP(13, 1, 4, 3, 3, 3);
    Value *w = w_ramp(&t, "w", 5, IV(4, 2, 2, 2, 2));
    Value *y = tb_op(&t, "ConvTranspose", "ct", INS(x, w), ATTRS(A_i("group", 2)));
    CHECK(lower(&t, &out, 1, &y) == O2L_ERR_UNSUPPORTED);
    CHECK(msg_has(&t, "ConvTranspose 'ct': grouped 3-D ConvTranspose (group 2)"));
    done(&t, out);
  }
  { /* weights computed at run time */
    SETUP(13, 1, 2, 3, 3, 3);
    Value *w = tb_input(&t, "w", DT_F32, 5, IV(2, 2, 1, 1, 1));
    Value *y = tb_op(&t, "Conv", "cw", INS(x, w), NOATTR);
    CHECK(lower(&t, &out, 1, &y) == O2L_ERR_UNSUPPORTED);
    CHECK(msg_has(&t, "Conv 'cw': the weight 'w' is computed at run time"));
    done(&t, out);
  }
}

static void test_convt3d(void) {
  { /* k3 s2 p1 output_padding 1: VALID full output, then a SLICE */
    SETUP(13, 1, 4, 3, 4, 5);
    Value *w = w_ramp(&t, "w", 5, IV(4, 2, 3, 3, 3));
    Value *y = tb_op(&t, "ConvTranspose", "ct", INS(x, w),
                     ATTRS(INTS("strides", 2, 2, 2), INTS("pads", 1, 1, 1, 1, 1, 1),
                           INTS("output_padding", 1, 1, 1)));
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    CHECK(SHAPE(y, 1, 2, 6, 8, 10));
    Node *c = find(out, TFL_CONV_3D_TRANSPOSE, 0);
    CHECK(c && c->nin == 3 && DIMS(c->in[1], 3, 3, 3, 2, 4) &&
          DIMS(c->out[0], 1, 7, 9, 11, 2) && c->opt.padding == TFL_PAD_VALID &&
          c->opt.stride_d == 2);
    CHECK(c && value_is_const(c->in[0]) && load_i32(c->in[0]->data, 3) == 11);
    CHECK(count(out, TFL_SLICE) == 1 && count(out, TFL_TRANSPOSE) == 0);
    done(&t, out);
  }
}

static void test_pool3d(void) {
  { /* max 3x3x3 s2 p1: two MAX_POOL_2D stages, padded with the lowest float */
    SETUP(13, 1, 4, 6, 7, 8);
    Value *y = tb_op(&t, "MaxPool", "mp", INS(x),
                     ATTRS(INTS("kernel_shape", 3, 3, 3), INTS("strides", 2, 2, 2),
                           INTS("pads", 1, 1, 1, 1, 1, 1)));
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    CHECK(SHAPE(y, 1, 4, 3, 4, 4));
    CHECK(count(out, TFL_MAX_POOL_2D) == 2 && count(out, TFL_PADV2) == 2 &&
          count(out, TFL_TRANSPOSE) == 0);
    Node *a = find(out, TFL_MAX_POOL_2D, 0), *b = find(out, TFL_MAX_POOL_2D, 1);
    CHECK(a && DIMS(a->in[0], 6, 9, 9, 4) && DIMS(a->out[0], 6, 4, 4, 4) &&
          a->opt.filter_h == 3 && a->opt.filter_w == 3 && a->opt.stride_h == 2);
    CHECK(b && DIMS(b->in[0], 1, 7, 16, 4) && DIMS(b->out[0], 1, 3, 16, 4) &&
          b->opt.filter_h == 3 && b->opt.filter_w == 1 && b->opt.stride_w == 1);
    done(&t, out);
  }
  { /* average with counted padding on H/W only: the D stage is plain */
    SETUP(13, 1, 4, 4, 5, 6);
    Value *y = tb_op(&t, "AveragePool", "ap", INS(x),
                     ATTRS(INTS("kernel_shape", 2, 3, 3), INTS("strides", 2, 1, 1),
                           INTS("pads", 0, 1, 1, 0, 1, 1), A_i("count_include_pad", 1)));
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    CHECK(count(out, TFL_AVERAGE_POOL_2D) == 2 && count(out, TFL_PAD) == 1 &&
          count(out, TFL_MUL) == 0);
    done(&t, out);
  }
  { /* global pools of 5-D maps */
    SETUP(13, 2, 4, 3, 5, 6);
    Value *g1 = tb_op(&t, "GlobalAveragePool", "gap", INS(x), NOATTR);
    Value *g2 = tb_op(&t, "GlobalMaxPool", "gmp", INS(x), NOATTR);
    Value *outs[2] = {g1, g2};
    CHECK(lower(&t, &out, 2, outs) == O2L_OK);
    CHECK(SHAPE(g1, 2, 4, 1, 1, 1));
    Node *m = find(out, TFL_MEAN, 0), *p = find(out, TFL_MAX_POOL_2D, 0);
    CHECK(m && DIMS(m->in[0], 2, 3, 30, 4) && m->opt.keep_dims);
    CHECK(p && p->opt.filter_h == 3 && p->opt.filter_w == 30);
    CHECK(count(out, TFL_TRANSPOSE) == 0);
    done(&t, out);
  }
  { /* dilated pools are refused, naming the node */
    SETUP(13, 1, 4, 6, 7, 8);
    Value *y = tb_op(&t, "MaxPool", "dil", INS(x),
                     ATTRS(INTS("kernel_shape", 2, 2, 2), INTS("dilations", 1, 2, 1)));
    CHECK(lower(&t, &out, 1, &y) == O2L_ERR_UNSUPPORTED);
    CHECK(msg_has(&t, "MaxPool 'dil': dilated pooling"));
    done(&t, out);
  }
}

/* The writer puts the Conv3DOptions fields at their schema ids: read back
 * what it wrote. */
static void test_conv3d_options_written(void) {
  SETUP(13, 1, 2, 4, 4, 4);
  Value *w = w_ramp(&t, "w", 5, IV(3, 2, 2, 2, 2));
  Value *y = tb_op(&t, "Conv", "c", INS(x, w),
                   ATTRS(INTS("strides", 1, 2, 1), INTS("dilations", 1, 1, 2)));
  CHECK(lower(&t, &out, 1, &y) == O2L_OK);
  char path[] = "/tmp/o2l_conv3d_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd >= 0)
    close(fd);
  CHECK(tfl_write(&t.cx, out, path, NULL) == O2L_OK);
  FILE *f = fopen(path, "rb");
  unsigned char *buf = malloc(1 << 16);
  size_t len = f ? fread(buf, 1, 1 << 16, f) : 0;
  if (f)
    fclose(f);
  remove(path);
  Graph *back = NULL;
  CHECK(tfl_read(&t.cx, buf, len, &back) == O2L_OK);
  Node *c = find(back, TFL_CONV_3D, 0);
  CHECK(c && c->opt.stride_d == 1 && c->opt.stride_h == 2 && c->opt.stride_w == 1 &&
        c->opt.dilation_d == 1 && c->opt.dilation_h == 1 && c->opt.dilation_w == 2 &&
        c->opt.padding == TFL_PAD_VALID);
  if (back)
    graph_release(back);
  free(buf);
  done(&t, out);
}

/* ---- normalizations ------------------------------------------------------- */

static void test_layernorm_infer(void) {
  {
    SETUP(17, 2, 5, 6);
    Value *sc = w_ramp(&t, "sc", 2, IV(5, 6));
    Value *b = w_ramp(&t, "b", 1, IV(6));
    Node *n = tb_node(&t, "LayerNormalization", "ln", INS(x, sc, b), 3,
                      ATTRS(A_i("axis", 1)));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(n->out[0], 2, 5, 6) && SHAPE(n->out[1], 2, 1, 1) &&
          SHAPE(n->out[2], 2, 1, 1) && n->out[1]->dtype == DT_F32);
    done(&t, out);
  }
  { /* Scale must broadcast to the normalized shape */
    SETUP(17, 2, 5, 6);
    Value *sc = w_ramp(&t, "sc", 1, IV(5));
    tb_op(&t, "LayerNormalization", "ln", INS(x, sc), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "LayerNormalization 'ln': Scale has shape 5, which does "
                      "not broadcast to the normalized shape 6"));
    done(&t, out);
  }
  { /* axis out of range, epsilon */
    SETUP(17, 2, 6);
    Value *sc = w_ramp(&t, "sc", 1, IV(6));
    tb_op(&t, "LayerNormalization", "ln", INS(x, sc), ATTRS(A_i("axis", 2)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "LayerNormalization 'ln': axis"));
    done(&t, out);
  }
  {
    SETUP(17, 2, 6);
    Value *sc = w_ramp(&t, "sc", 1, IV(6));
    tb_op(&t, "LayerNormalization", "ln", INS(x, sc), ATTRS(A_f("epsilon", 0)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "epsilon must be > 0"));
    done(&t, out);
  }
}

static void test_instnorm_lrn_infer(void) {
  {
    SETUP(13, 2, 4, 5, 6);
    Value *s = w_ramp(&t, "s", 1, IV(4)), *b = w_ramp(&t, "b", 1, IV(4));
    Value *y = tb_op(&t, "InstanceNormalization", "in", INS(x, s, b), NOATTR);
    Value *z = tb_op(&t, "LRN", "lrn", INS(x), ATTRS(A_i("size", 3)));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(y, 2, 4, 5, 6) && SHAPE(z, 2, 4, 5, 6));
    done(&t, out);
  }
  {
    SETUP(13, 2, 4, 5, 6);
    Value *s = w_ramp(&t, "s", 1, IV(3)), *b = w_ramp(&t, "b", 1, IV(4));
    tb_op(&t, "InstanceNormalization", "in", INS(x, s, b), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "InstanceNormalization 'in': scale has shape 3; expected "
                      "(4), one value per channel"));
    done(&t, out);
  }
  {
    SETUP(13, 2, 4);
    Value *s = w_ramp(&t, "s", 1, IV(4)), *b = w_ramp(&t, "b", 1, IV(4));
    tb_op(&t, "InstanceNormalization", "in", INS(x, s, b), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "expected (N, C, D1...Dk)"));
    done(&t, out);
  }
  {
    SETUP(13, 1, 4, 5, 6);
    tb_op(&t, "LRN", "lrn", INS(x), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "LRN 'lrn': the size attribute is required"));
    done(&t, out);
  }
}

static void test_groupnorm(void) {
  { /* opset 21: per channel; GroupNormalization of an NHWC map */
    SETUP(21, 2, 6, 5, 7);
    float sv[6] = {1, 2, 3, 4, 5, 6}, bv[6] = {0};
    Value *s = tb_const(&t, "s", DT_F32, 1, IV(6), sv);
    Value *b = tb_const(&t, "b", DT_F32, 1, IV(6), bv);
    Value *y = tb_op(&t, "GroupNormalization", "gn", INS(x, s, b),
                     ATTRS(A_i("num_groups", 3)));
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    CHECK(count(out, TFL_TRANSPOSE) == 0 && count(out, TFL_ADD) == 1);
    Node *m = find(out, TFL_MEAN, 0);
    CHECK(m && DIMS(m->in[0], 2, 35, 3, 2) && value_numel(m->in[1]) == 2);
    Node *sc = find(out, TFL_MUL, 2);
    /* [1, 1, G, C/G]: channel g*2 + k at [g][k] */
    CHECK(sc && DIMS(sc->in[1], 1, 1, 3, 2) && load_f32(sc->in[1]->data, 3) == 4);
    done(&t, out);
  }
  {
    SETUP(18, 2, 6, 5, 7);
    Value *s = w_ramp(&t, "s", 1, IV(6)), *b = w_ramp(&t, "b", 1, IV(6));
    tb_op(&t, "GroupNormalization", "gn", INS(x, s, b), ATTRS(A_i("num_groups", 3)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "GroupNormalization 'gn': scale has shape 6; expected (3), "
                      "one value per group (before opset 21)"));
    done(&t, out);
  }
  {
    SETUP(21, 2, 6, 5, 7);
    Value *s = w_ramp(&t, "s", 1, IV(6)), *b = w_ramp(&t, "b", 1, IV(6));
    tb_op(&t, "GroupNormalization", "gn", INS(x, s, b), ATTRS(A_i("num_groups", 4)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "num_groups 4 must divide the 6 channels"));
    done(&t, out);
  }
}

static void test_norm_lowering(void) {
  { /* InstanceNorm of a channels-last map: MEAN over [N, HW, C]'s axis 1 */
    SETUP(13, 2, 4, 5, 6);
    float sv[4] = {1, 2, 3, 4}, bv[4] = {0, 0, 0, 0};
    Value *s = tb_const(&t, "s", DT_F32, 1, IV(4), sv);
    Value *b = tb_const(&t, "b", DT_F32, 1, IV(4), bv);
    Value *y = tb_op(&t, "InstanceNormalization", "in", INS(x, s, b), NOATTR);
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    CHECK(count(out, TFL_TRANSPOSE) == 0 && count(out, TFL_MEAN) == 2 &&
          count(out, TFL_RSQRT) == 1 && count(out, TFL_ADD) == 1);
    Node *m = find(out, TFL_MEAN, 0);
    CHECK(m && DIMS(m->in[0], 2, 30, 4) && m->opt.keep_dims &&
          load_i32(m->in[1]->data, 0) == 1 && value_numel(m->in[1]) == 1);
    Node *sc = find(out, TFL_MUL, 2); /* squared, normalized, scaled */
    CHECK(sc && DIMS(sc->in[1], 1, 1, 4) && load_f32(sc->in[1]->data, 3) == 4);
    done(&t, out);
  }
  { /* GroupNorm's Reshape -> InstanceNorm -> Reshape on NHWC data: the
     * view is [N, HW, G, C/G], reduced over axes 1 and 3 */
    SETUP(13, 2, 6, 5, 7);
    Value *s = w_ramp(&t, "s", 1, IV(3)), *b = w_ramp(&t, "b", 1, IV(3));
    Value *w = w_ramp(&t, "w", 4, IV(6, 6, 1, 1));
    Value *c = tb_op(&t, "Conv", "c", INS(x, w), NOATTR);
    Value *r1 = tb_op(&t, "Reshape", "r1", INS(c, tb_ints(&t, "s1", 3, IV(2, 3, -1))),
                      NOATTR);
    Value *in = tb_op(&t, "InstanceNormalization", "gn", INS(r1, s, b), NOATTR);
    Value *r2 = tb_op(&t, "Reshape", "r2",
                      INS(in, tb_ints(&t, "s2", 4, IV(2, 6, 5, 7))), NOATTR);
    Value *y = tb_op(&t, "Conv", "c2", INS(r2, w), NOATTR);
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    CHECK(count(out, TFL_TRANSPOSE) == 0);
    Node *m = find(out, TFL_MEAN, 0);
    CHECK(m && DIMS(m->in[0], 2, 35, 3, 2) && value_numel(m->in[1]) == 2 &&
          load_i32(m->in[1]->data, 0) == 1 && load_i32(m->in[1]->data, 1) == 3);
    Node *sc = find(out, TFL_MUL, 2);
    CHECK(sc && DIMS(sc->in[1], 1, 1, 3, 1));
    done(&t, out);
  }
  { /* LayerNorm after a Transpose to NHWC: MEAN over the last axis */
    SETUP(17, 1, 4, 5, 6);
    Value *w = w_ramp(&t, "w", 4, IV(4, 4, 1, 1));
    Value *sc = w_ramp(&t, "sc", 1, IV(4));
    Value *c = tb_op(&t, "Conv", "c", INS(x, w), NOATTR);
    Value *tr = tb_op(&t, "Transpose", "tr", INS(c), ATTRS(INTS("perm", 0, 2, 3, 1)));
    Node *ln = tb_node(&t, "LayerNormalization", "ln", INS(tr, sc), 2, NOATTR);
    Value *outs[2] = {ln->out[0], ln->out[1]};
    CHECK(lower(&t, &out, 2, outs) == O2L_OK);
    CHECK(count(out, TFL_TRANSPOSE) == 0 && count(out, TFL_ADD) == 1);
    Node *m = find(out, TFL_MEAN, 0);
    CHECK(m && DIMS(m->in[0], 30, 4) && load_i32(m->in[1]->data, 0) == 1);
    done(&t, out);
  }
  { /* Scale and B computed at run time: MUL / ADD in the data's order */
    SETUP(17, 2, 5, 6);
    Value *sc = tb_input(&t, "sc", DT_F32, 1, IV(6));
    Value *b = tb_input(&t, "b", DT_F32, 2, IV(5, 6));
    Value *y = tb_op(&t, "LayerNormalization", "ln", INS(x, sc, b), ATTRS(A_i("axis", 1)));
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    Node *mul = find(out, TFL_MUL, 2), *add = find(out, TFL_ADD, 1);
    CHECK(mul && DIMS(mul->in[0], 2, 5, 6) && DIMS(mul->in[1], 1, 1, 6));
    CHECK(add && DIMS(add->in[1], 1, 5, 6) && !strcmp(add->out[0]->name, y->name));
    CHECK(count(out, TFL_TRANSPOSE) == 0);
    done(&t, out);
  }
  { /* LRN: odd sizes only */
    SETUP(13, 1, 4, 5, 6);
    Value *y = tb_op(&t, "LRN", "lrn", INS(x),
                     ATTRS(A_i("size", 5), A_f("alpha", 0.5f), A_f("beta", 0.5f),
                           A_f("bias", 2.0f)));
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    Node *l = find(out, TFL_LOCAL_RESPONSE_NORMALIZATION, 0);
    CHECK(l && l->opt.radius == 2 && fabsf(l->opt.alpha - 0.1f) < 1e-7f &&
          l->opt.beta == 0.5f && l->opt.bias == 2.0f && DIMS(l->in[0], 1, 1, 30, 4));
    CHECK(count(out, TFL_TRANSPOSE) == 0);
    done(&t, out);
  }
  {
    SETUP(13, 1, 4, 5, 6);
    Value *y = tb_op(&t, "LRN", "lrn2", INS(x), ATTRS(A_i("size", 4)));
    CHECK(lower(&t, &out, 1, &y) == O2L_ERR_UNSUPPORTED);
    CHECK(msg_has(&t, "LRN 'lrn2': even size 4"));
    done(&t, out);
  }
}

/* ---- activations and the GELU fusion ---------------------------------------- */

static void test_act_infer(void) {
  {
    SETUP(20, 2, 3);
    const char *ops[] = {"Gelu", "Erf", "Mish", "Selu", "Celu", "ThresholdedRelu",
                         "Softsign"};
    Value *ys[7];
    for (int i = 0; i < 7; i++)
      ys[i] = tb_op(&t, ops[i], ops[i], INS(x), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK);
    for (int i = 0; i < 7; i++)
      CHECK(SHAPE(ys[i], 2, 3) && ys[i]->dtype == DT_F32);
    done(&t, out);
  }
  {
    SETUP(20, 2, 3);
    tb_op(&t, "Gelu", "g", INS(x), ATTRS(A_s("approximate", "erf")));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "Gelu 'g': approximate must be \"none\" or \"tanh\", got \"erf\""));
    done(&t, out);
  }
  {
    SETUP(12, 2, 3);
    tb_op(&t, "Celu", "c", INS(x), ATTRS(A_f("alpha", 0)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "Celu 'c': alpha must not be 0"));
    done(&t, out);
  }
  { /* integer input */
    TB t;
    tb_init(&t, 13);
    Value *xi = tb_input(&t, "xi", DT_I32, 1, IV(4));
    tb_op(&t, "Erf", "e", INS(xi), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "Erf 'e': input must be float"));
    tb_free(&t);
  }
  { /* folding */
    TB t;
    tb_init(&t, 20);
    float v[3] = {-1, 0, 2};
    Value *c = tb_const(&t, "c", DT_F32, 1, IV(3), v);
    Value *e = tb_op(&t, "Erf", "e", INS(c), NOATTR);
    Value *g = tb_op(&t, "Gelu", "g", INS(c), NOATTR);
    Value *s = tb_op(&t, "Softsign", "s", INS(c), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(value_is_const(e) && fabsf(load_f32(e->data, 0) + 0.8427008f) < 1e-6f);
    CHECK(value_is_const(g) && fabsf(load_f32(g->data, 2) - 1.9544997f) < 1e-6f);
    CHECK(value_is_const(s) && load_f32(s->data, 2) == 2.0f / 3.0f);
    tb_free(&t);
  }
}

/* x -> Div(sqrt2) -> Erf -> Add(1) -> ... in the given form; returns y. */
static Value *gelu_chain(TB *t, Value *x, int form, bool mul_scale) {
  Value *k = tb_scalar_f32(t, "k", mul_scale ? 0.70710678f : 1.41421356f);
  Value *one = tb_scalar_f32(t, "one", 1.0f), *half = tb_scalar_f32(t, "half", 0.5f);
  Value *d = tb_op(t, mul_scale ? "Mul" : "Div", "d", INS(x, k), NOATTR);
  Value *e = tb_op(t, "Erf", "erf", INS(d), NOATTR);
  Value *a = tb_op(t, "Add", "a", INS(one, e), NOATTR);
  if (form == 0)
    return tb_op(t, "Mul", "m2", INS(tb_op(t, "Mul", "m1", INS(a, x), NOATTR), half),
                 NOATTR);
  if (form == 1)
    return tb_op(t, "Mul", "m2", INS(x, tb_op(t, "Mul", "m1", INS(half, a), NOATTR)),
                 NOATTR);
  return tb_op(t, "Mul", "m2", INS(tb_op(t, "Mul", "h", INS(x, half), NOATTR), a),
               NOATTR);
}

static int live_ops(const Graph *g, int op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    k += !g->nodes[i]->dead && g->nodes[i]->op == op;
  return k;
}

static void test_fuse_gelu(void) {
  for (int form = 0; form < 3; form++)
    for (int ms = 0; ms < 2; ms++) {
      SETUP(13, 2, 8);
      Value *y = gelu_chain(&t, x, form, ms);
      tb_output(&t, y);
      CHECK(tb_infer(&t) == O2L_OK);
      PassStats st = {0};
      CHECK(pass_fuse_gelu(&t.cx, t.g, &st) == O2L_OK);
      CHECK(st.gelu_fused == 1);
      CHECK(live_ops(t.g, OP_Gelu) == 1 && live_ops(t.g, OP_Erf) == 0 &&
            live_ops(t.g, OP_Mul) == 0 && live_ops(t.g, OP_Add) == 0);
      CHECK(y->producer && y->producer->op == OP_Gelu && y->producer->in[0] == x);
      graph_compact(t.g);
      CHECK(graph_toposort(&t.cx, t.g) == O2L_OK);
      CHECK(lower_graph(&t.cx, t.g, &out) == O2L_OK);
      CHECK(count(out, TFL_GELU) == 1 && out->nnodes == 1);
      Node *g = find(out, TFL_GELU, 0);
      CHECK(g && !g->opt.approximate);
      done(&t, out);
    }
  { /* the Add's result also read elsewhere: left alone */
    SETUP(13, 2, 8);
    Value *y = gelu_chain(&t, x, 0, false);
    Value *z = tb_op(&t, "Neg", "z", INS(t.g->nodes[2]->out[0]), NOATTR);
    tb_output(&t, y);
    tb_output(&t, z);
    CHECK(tb_infer(&t) == O2L_OK);
    PassStats st = {0};
    CHECK(pass_fuse_gelu(&t.cx, t.g, &st) == O2L_OK);
    CHECK(st.gelu_fused == 0 && live_ops(t.g, OP_Erf) == 1);
    done(&t, out);
  }
  { /* 0.5 replaced by 0.25: left alone, and Erf is decomposed */
    SETUP(13, 2, 8);
    Value *k = tb_scalar_f32(&t, "k", 1.41421356f), *one = tb_scalar_f32(&t, "one", 1);
    Value *q = tb_scalar_f32(&t, "q", 0.25f);
    Value *e = tb_op(&t, "Erf", "erf", INS(tb_op(&t, "Div", "d", INS(x, k), NOATTR)),
                     NOATTR);
    Value *a = tb_op(&t, "Add", "a", INS(e, one), NOATTR);
    Value *y = tb_op(&t, "Mul", "m2", INS(tb_op(&t, "Mul", "m1", INS(x, a), NOATTR), q),
                     NOATTR);
    tb_output(&t, y);
    CHECK(tb_infer(&t) == O2L_OK);
    PassStats st = {0};
    CHECK(pass_fuse_gelu(&t.cx, t.g, &st) == O2L_OK);
    CHECK(st.gelu_fused == 0);
    CHECK(lower_graph(&t.cx, t.g, &out) == O2L_OK);
    CHECK(count(out, TFL_GELU) == 0 && count(out, TFL_EXP) == 1 &&
          count(out, TFL_SIGN) == 1);
    done(&t, out);
  }
}

static void test_act_lowering(void) {
  SETUP(20, 1, 4, 5, 6);
  Value *w = w_ramp(&t, "w", 4, IV(4, 4, 1, 1));
  Value *c = tb_op(&t, "Conv", "c", INS(x, w), NOATTR);
  Value *g = tb_op(&t, "Gelu", "g", INS(c), ATTRS(A_s("approximate", "tanh")));
  Value *r = tb_op(&t, "ThresholdedRelu", "tr", INS(g), ATTRS(A_f("alpha", 0.25f)));
  Value *y = tb_op(&t, "Conv", "c2", INS(r, w), NOATTR);
  CHECK(lower(&t, &out, 1, &y) == O2L_OK);
  CHECK(count(out, TFL_TRANSPOSE) == 0);
  Node *gl = find(out, TFL_GELU, 0);
  CHECK(gl && gl->opt.approximate && DIMS(gl->out[0], 1, 5, 6, 4));
  Node *sel = find(out, TFL_SELECT_V2, 0), *gt = find(out, TFL_GREATER, 0);
  CHECK(sel && gt && gt->out[0]->dtype == DT_BOOL &&
        load_f32(gt->in[1]->data, 0) == 0.25f);
  done(&t, out);
}

/* ---- DepthToSpace / SpaceToDepth ------------------------------------------ */

static void test_spacedepth_infer(void) {
  {
    SETUP(13, 2, 12, 3, 4);
    Value *d = tb_op(&t, "DepthToSpace", "d", INS(x), ATTRS(A_i("blocksize", 2),
                                                          A_s("mode", "CRD")));
    Value *s = tb_op(&t, "SpaceToDepth", "s", INS(d), ATTRS(A_i("blocksize", 2)));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(d, 2, 3, 6, 8) && SHAPE(s, 2, 12, 3, 4));
    done(&t, out);
  }
  {
    SETUP(13, 1, 8, 3, 3);
    tb_op(&t, "DepthToSpace", "d", INS(x), ATTRS(A_i("blocksize", 2), A_s("mode", "RDC")));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "DepthToSpace 'd': mode must be \"DCR\" or \"CRD\""));
    done(&t, out);
  }
  { /* SpaceToDepth has a mode from opset 28 only */
    SETUP(28, 1, 2, 4, 4);
    Value *s = tb_op(&t, "SpaceToDepth", "s", INS(x), ATTRS(A_i("blocksize", 2),
                                                          A_s("mode", "CRD")));
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(s, 1, 8, 2, 2));
    SpaceDepthParams p;
    CHECK(spacedepth_params(&t.cx, t.g, s->producer ? s->producer : t.g->nodes[0],
                            &p) == O2L_OK && p.crd);
    t.g->opset = 13;
    CHECK(spacedepth_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK && !p.crd);
    done(&t, out);
  }
  {
    SETUP(13, 1, 8, 3, 3);
    tb_op(&t, "SpaceToDepth", "s", INS(x), ATTRS(A_i("blocksize", 2)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "SpaceToDepth 's': spatial size 3x3 is not divisible by "
                      "blocksize 2"));
    done(&t, out);
  }
  {
    SETUP(13, 1, 8, 4, 4);
    tb_op(&t, "SpaceToDepth", "s", INS(x), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "the blocksize attribute is required"));
    done(&t, out);
  }
}

static void test_spacedepth_lowering(void) {
  { /* Conv -> PixelShuffle: the filter rows renumbered, DEPTH_TO_SPACE */
    SETUP(13, 1, 3, 4, 5);
    Value *w = w_ramp(&t, "w", 4, IV(8, 3, 1, 1));
    Value *b = w_ramp(&t, "b", 1, IV(8));
    Value *c = tb_op(&t, "Conv", "c", INS(x, w, b), NOATTR);
    Value *y = tb_op(&t, "DepthToSpace", "ps", INS(c),
                     ATTRS(A_i("blocksize", 2), A_s("mode", "CRD")));
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    CHECK(count(out, TFL_TRANSPOSE) == 0 && count(out, TFL_DEPTH_TO_SPACE) == 1);
    Node *cv = find(out, TFL_CONV_2D, 0), *d = find(out, TFL_DEPTH_TO_SPACE, 0);
    CHECK(d && d->opt.block_size == 2 && DIMS(d->out[0], 1, 8, 10, 2));
    /* DCR channel j = (i*2 + k)*2 + c holds CRD channel c*4 + i*2 + k:
     * j = 1 (q 0, c 1) <- 4; j = 2 (q 1, c 0) <- 1 */
    if (cv) {
      CHECK(load_f32(cv->in[1]->data, 1 * 3 + 2) == load_f32(w->data, 4 * 3 + 2));
      CHECK(load_f32(cv->in[1]->data, 2 * 3 + 0) == load_f32(w->data, 1 * 3 + 0));
      CHECK(load_f32(cv->in[2]->data, 1) == load_f32(b->data, 4));
      CHECK(load_f32(cv->in[2]->data, 7) == load_f32(b->data, 7));
    }
    done(&t, out);
  }
  { /* CRD on a graph input: no operator, one TRANSPOSE where NHWC is needed */
    SETUP(13, 1, 8, 4, 5);
    Value *d = tb_op(&t, "DepthToSpace", "ps", INS(x),
                     ATTRS(A_i("blocksize", 2), A_s("mode", "CRD")));
    Value *w = w_ramp(&t, "w", 4, IV(3, 2, 1, 1));
    Value *y = tb_op(&t, "Conv", "c", INS(d, w), NOATTR);
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    CHECK(count(out, TFL_TRANSPOSE) == 1 && count(out, TFL_DEPTH_TO_SPACE) == 0);
    done(&t, out);
  }
  { /* SpaceToDepth of a channels-last map */
    SETUP(13, 1, 3, 4, 6);
    Value *y = tb_op(&t, "SpaceToDepth", "s", INS(x), ATTRS(A_i("blocksize", 2)));
    Value *w = w_ramp(&t, "w", 4, IV(3, 12, 1, 1));
    Value *z = tb_op(&t, "Conv", "c", INS(y, w), NOATTR);
    CHECK(lower(&t, &out, 1, &z) == O2L_OK);
    Node *sd = find(out, TFL_SPACE_TO_DEPTH, 0);
    CHECK(sd && sd->opt.block_size == 2 && DIMS(sd->out[0], 1, 2, 3, 12));
    CHECK(count(out, TFL_TRANSPOSE) == 0);
    done(&t, out);
  }
}

/* ---- reductions, ArgMin, TopK, Mod ------------------------------------------- */

static void test_reduce_extra(void) {
  { /* opset 18: axes input; folding of constants */
    TB t;
    tb_init(&t, 18);
    float v[6] = {3, -4, 1, 2, -2, 0};
    Value *c = tb_const(&t, "c", DT_F32, 2, IV(2, 3), v);
    Value *ax = tb_ints(&t, "ax", 1, IV(1));
    Value *l1 = tb_op(&t, "ReduceL1", "l1", INS(c, ax), ATTRS(A_i("keepdims", 0)));
    Value *l2 = tb_op(&t, "ReduceL2", "l2", INS(c), NOATTR);
    Value *ss = tb_op(&t, "ReduceSumSquare", "ss", INS(c, ax), NOATTR);
    Value *ls = tb_op(&t, "ReduceLogSumExp", "ls", INS(c, ax), ATTRS(A_i("keepdims", 0)));
    Value *n1 = tb_op(&t, "ReduceL1", "n1", INS(c), ATTRS(A_i("noop_with_empty_axes", 1)));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(l1, 2) && SHAPE(l2, 1, 1) && SHAPE(ss, 2, 1) && SHAPE(ls, 2) &&
          SHAPE(n1, 2, 3));
    CHECK(value_is_const(l1) && load_f32(l1->data, 0) == 8 && load_f32(l1->data, 1) == 4);
    CHECK(value_is_const(l2) && fabsf(load_f32(l2->data, 0) - sqrtf(34)) < 1e-6f);
    CHECK(value_is_const(ss) && load_f32(ss->data, 1) == 8);
    CHECK(value_is_const(ls) &&
          fabsf(load_f32(ls->data, 0) - logf(expf(3) + expf(-4) + expf(1))) < 1e-5f);
    CHECK(value_is_const(n1) && load_f32(n1->data, 1) == 4); /* |x| */
    tb_free(&t);
  }
  { /* a channels-last map: SUM over the physical spatial axes */
    SETUP(13, 2, 4, 5, 6);
    Value *y = tb_op(&t, "ReduceLogSumExp", "lse", INS(x),
                     ATTRS(INTS("axes", 2, 3), A_i("keepdims", 0)));
    Value *w = w_ramp(&t, "w", 4, IV(4, 4, 1, 1));
    Value *c = tb_op(&t, "Conv", "c", INS(x, w), NOATTR);
    Value *z = tb_op(&t, "ReduceL2", "l2", INS(c), ATTRS(INTS("axes", 1)));
    Value *outs[2] = {y, z};
    CHECK(lower(&t, &out, 2, outs) == O2L_OK);
    CHECK(SHAPE(y, 2, 4) && SHAPE(z, 2, 1, 5, 6));
    CHECK(count(out, TFL_TRANSPOSE) == 0 && count(out, TFL_REDUCE_MAX) == 1 &&
          count(out, TFL_EXP) == 1 && count(out, TFL_LOG) == 1 &&
          count(out, TFL_SQRT) == 1 && count(out, TFL_SUM) == 2);
    Node *m = find(out, TFL_REDUCE_MAX, 0), *s2 = find(out, TFL_SUM, 1);
    CHECK(m && m->opt.keep_dims && value_numel(m->in[1]) == 2 &&
          load_i32(m->in[1]->data, 0) == 1 && load_i32(m->in[1]->data, 1) == 2);
    CHECK(s2 && value_numel(s2->in[1]) == 1 && load_i32(s2->in[1]->data, 0) == 3);
    done(&t, out);
  }
}

static void test_argmin_topk(void) {
  {
    SETUP(13, 2, 4, 5, 6);
    Value *w = w_ramp(&t, "w", 4, IV(4, 4, 1, 1));
    Value *c = tb_op(&t, "Conv", "c", INS(x, w), NOATTR);
    Value *a = tb_op(&t, "ArgMin", "am", INS(c), ATTRS(A_i("axis", 1), A_i("keepdims", 0)));
    CHECK(lower(&t, &out, 1, &a) == O2L_OK);
    CHECK(SHAPE(a, 2, 5, 6) && a->dtype == DT_I64);
    Node *op = find(out, TFL_ARG_MIN, 0);
    CHECK(op && load_i32(op->in[1]->data, 0) == 3 && op->out[0]->dtype == DT_I64);
    CHECK(count(out, TFL_TRANSPOSE) == 0);
    done(&t, out);
  }
  { /* TopK over the channels of an NHWC map: no TRANSPOSE, indices CAST */
    SETUP(11, 2, 8, 5, 6);
    Value *w = w_ramp(&t, "w", 4, IV(8, 8, 1, 1));
    Value *c = tb_op(&t, "Conv", "c", INS(x, w), NOATTR);
    Node *tk = tb_node(&t, "TopK", "tk", INS(c, tb_ints(&t, "k", 1, IV(3))), 2,
                       ATTRS(A_i("axis", 1)));
    Value *outs[2] = {tk->out[0], tk->out[1]};
    CHECK(lower(&t, &out, 2, outs) == O2L_OK);
    CHECK(SHAPE(tk->out[0], 2, 3, 5, 6) && tk->out[1]->dtype == DT_I64);
    Node *op = find(out, TFL_TOPK_V2, 0);
    CHECK(op && DIMS(op->in[0], 2, 5, 6, 8) && DIMS(op->out[0], 2, 5, 6, 3) &&
          op->out[1]->dtype == DT_I32 && op->in[1]->rank == 0 &&
          load_i32(op->in[1]->data, 0) == 3);
    CHECK(count(out, TFL_CAST) == 1 && count(out, TFL_TRANSPOSE) == 0);
    done(&t, out);
  }
  {
    SETUP(11, 3, 4);
    tb_node(&t, "TopK", "tk", INS(x, tb_ints(&t, "k", 2, IV(1, 2))), 2, NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "TopK 'tk': K must hold one value, got 2"));
    done(&t, out);
  }
  {
    SETUP(9, 3, 4);
    tb_node(&t, "TopK", "tk", INS(x), 2, NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "TopK 'tk': the k attribute is required"));
    done(&t, out);
  }
  {
    SETUP(11, 3, 4);
    tb_node(&t, "TopK", "tk", INS(x, tb_ints(&t, "k", 1, IV(5))), 2, NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "k = 5 is outside [0, 4], the size of axis 1"));
    done(&t, out);
  }
}

static void test_mod(void) {
  { /* folding: Python's % and C's fmod */
    TB t;
    tb_init(&t, 13);
    int32_t a[4] = {-7, 7, -7, 7}, b[4] = {3, 3, -3, -3};
    Value *ca = tb_const(&t, "a", DT_I32, 1, IV(4), a);
    Value *cb = tb_const(&t, "b", DT_I32, 1, IV(4), b);
    Value *m0 = tb_op(&t, "Mod", "m0", INS(ca, cb), NOATTR);
    Value *m1 = tb_op(&t, "Mod", "m1", INS(ca, cb), ATTRS(A_i("fmod", 1)));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(value_is_const(m0) && load_i32(m0->data, 0) == 2 && load_i32(m0->data, 1) == 1 &&
          load_i32(m0->data, 2) == -1 && load_i32(m0->data, 3) == -2);
    CHECK(value_is_const(m1) && load_i32(m1->data, 0) == -1 && load_i32(m1->data, 1) == 1 &&
          load_i32(m1->data, 2) == -1 && load_i32(m1->data, 3) == 1);
    tb_free(&t);
  }
  {
    TB t;
    tb_init(&t, 13);
    int32_t a[2] = {1, 2}, b[2] = {1, 0};
    Value *ca = tb_const(&t, "a", DT_I32, 1, IV(2), a);
    Value *cb = tb_const(&t, "b", DT_I32, 1, IV(2), b);
    tb_op(&t, "Mod", "mz", INS(ca, cb), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "Mod 'mz': integer modulo by zero"));
    tb_free(&t);
  }
  { /* floats: fmod=0 floors (valid from opset 28), fmod=1 truncates */
    TB t;
    tb_init(&t, 13);
    float a[2] = {-7.5f, 7.5f}, b[2] = {2.0f, -2.0f};
    Value *ca = tb_const(&t, "a", DT_F32, 1, IV(2), a);
    Value *cb = tb_const(&t, "b", DT_F32, 1, IV(2), b);
    Value *m0 = tb_op(&t, "Mod", "m0", INS(ca, cb), NOATTR);
    Value *m1 = tb_op(&t, "Mod", "m1", INS(ca, cb), ATTRS(A_i("fmod", 1)));
    tb_op(&t, "Mod", "m2", INS(ca, cb), ATTRS(A_i("fmod", 2)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "Mod 'm2': fmod must be 0 or 1, got 2"));
    CHECK(value_is_const(m0) && load_f32(m0->data, 0) == 0.5f &&
          load_f32(m0->data, 1) == -0.5f);
    CHECK(value_is_const(m1) && load_f32(m1->data, 0) == -1.5f &&
          load_f32(m1->data, 1) == 1.5f);
    tb_free(&t);
  }
  { /* integer fmod=0 is one FLOOR_MOD */
    TB t;
    tb_init(&t, 13);
    Graph *out = NULL;
    Value *a = tb_input(&t, "a", DT_I64, 2, IV(3, 4));
    Value *b = tb_input(&t, "b", DT_I64, 1, IV(4));
    Value *y = tb_op(&t, "Mod", "m", INS(a, b), NOATTR);
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    CHECK(out && out->nnodes == 1 && count(out, TFL_FLOOR_MOD) == 1);
    done(&t, out);
  }
}

/* ---- Einsum ---------------------------------------------------------------- */

static void test_einsum(void) {
  { /* implicit output: the letters seen once, sorted */
    SETUP(12, 3, 5);
    Value *b = tb_input(&t, "b", DT_F32, 2, IV(5, 4));
    Value *y = tb_op(&t, "Einsum", "e", INS(x, b), ATTRS(A_s("equation", "ij, jk")));
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(y, 3, 4));
    done(&t, out);
  }
  { /* attention scores: K read as [b, n, k] with adj_y, no TRANSPOSE */
    SETUP(12, 2, 3, 4, 8);
    Value *k = tb_input(&t, "k", DT_F32, 4, IV(2, 3, 6, 8));
    Value *y = tb_op(&t, "Einsum", "e", INS(x, k),
                     ATTRS(A_s("equation", "bhqd,bhkd->bhqk")));
    CHECK(lower(&t, &out, 1, &y) == O2L_OK);
    CHECK(SHAPE(y, 2, 3, 4, 6));
    Node *mm = find(out, TFL_BATCH_MATMUL, 0);
    CHECK(mm && !mm->opt.adj_x && mm->opt.adj_y && DIMS(mm->in[1], 6, 6, 8) &&
          DIMS(mm->out[0], 6, 4, 6));
    CHECK(count(out, TFL_TRANSPOSE) == 0);
    done(&t, out);
  }
  {
    SETUP(12, 3, 3);
    tb_op(&t, "Einsum", "e", INS(x), ATTRS(A_s("equation", "ii->i")));
    CHECK(tb_infer(&t) == O2L_ERR_UNSUPPORTED);
    CHECK(msg_has(&t, "Einsum 'e': letter 'i' twice in the term 'ii' (a diagonal)"));
    done(&t, out);
  }
  {
    SETUP(12, 3, 4);
    Value *b = tb_input(&t, "b", DT_F32, 2, IV(5, 6));
    tb_op(&t, "Einsum", "e", INS(x, b), ATTRS(A_s("equation", "ij,jk->ik")));
    CHECK(tb_infer(&t) == O2L_ERR_UNSUPPORTED);
    CHECK(msg_has(&t, "letter 'j' has size 4 and 5"));
    done(&t, out);
  }
  {
    SETUP(12, 3, 4);
    tb_op(&t, "Einsum", "e", INS(x), ATTRS(A_s("equation", "ij->i")));
    CHECK(tb_infer(&t) == O2L_ERR_UNSUPPORTED);
    CHECK(msg_has(&t, "letter 'j' is summed within operand 0"));
    done(&t, out);
  }
  {
    SETUP(12, 3, 4);
    tb_op(&t, "Einsum", "e", INS(x), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "the equation attribute is required"));
    done(&t, out);
  }
}

int main(void) {
  test_conv3d();
  test_convt3d();
  test_pool3d();
  test_conv3d_options_written();
  test_layernorm_infer();
  test_instnorm_lrn_infer();
  test_norm_lowering();
  test_groupnorm();
  test_act_infer();
  test_fuse_gelu();
  test_act_lowering();
  test_spacedepth_infer();
  test_spacedepth_lowering();
  test_reduce_extra();
  test_argmin_topk();
  test_mod();
  test_einsum();
  return check_done("test_ops_extra");
}
