/* test_shape.c - shape and type inference per operator (ops/<family>.c
 * infer functions and the opattr.h parameter parsers): the output shapes
 * and dtypes, the opset variants, and the error messages for bad
 * attributes, wrong ranks and incompatible shapes. */
#include <math.h>

#include "irb.h"

/* Fresh graph with one float input x of the given shape. */
#define SETUP(opset, ...)                                        \
  TB t;                                                          \
  tb_init(&t, opset);                                            \
  Value *x = tb_input(&t, "x", DT_F32, NI(__VA_ARGS__), IV(__VA_ARGS__)); \
  (void)x

static Value *w_f32(TB *t, const char *name, int rank, const int64_t *dims) {
  return tb_const(t, name, DT_F32, rank, dims, NULL);
}

static void test_conv(void) {
  {
    SETUP(13, 1, 3, 224, 224);
    Value *w = w_f32(&t, "w", 4, IV(16, 3, 3, 3));
    Value *b = w_f32(&t, "b", 1, IV(16));
    Value *y = tb_op(&t, "Conv", "c1", INS(x, w, b),
                     ATTRS(INTS("pads", 1, 1, 1, 1), INTS("strides", 2, 2)));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(y, 1, 16, 112, 112) && y->dtype == DT_F32);
    ConvParams p;
    CHECK(conv_params(&t.cx, t.g, y->producer ? y->producer : t.g->nodes[0], &p) == O2L_OK);
    CHECK(p.nsp == 2 && p.group == 1 && p.has_bias && !p.depthwise);
    CHECK(p.kernel[0] == 3 && p.stride[1] == 2 && p.pad_end[1] == 1);
    tb_free(&t);
  }
  { /* SAME_UPPER / SAME_LOWER put the odd padding at opposite ends */
    SETUP(13, 1, 2, 6, 6);
    Value *w = w_f32(&t, "w", 4, IV(4, 2, 4, 4));
    Value *y1 = tb_op(&t, "Conv", "up", INS(x, w), ATTRS(A_s("auto_pad", "SAME_UPPER")));
    Value *y2 = tb_op(&t, "Conv", "lo", INS(x, w), ATTRS(A_s("auto_pad", "SAME_LOWER")));
    Value *y3 = tb_op(&t, "Conv", "va", INS(x, w), ATTRS(A_s("auto_pad", "VALID"),
                                                       INTS("strides", 2, 2)));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(y1, 1, 4, 6, 6) && SHAPE(y2, 1, 4, 6, 6) && SHAPE(y3, 1, 4, 2, 2));
    ConvParams p;
    CHECK(conv_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK);
    CHECK(p.pad_begin[0] == 1 && p.pad_end[0] == 2);
    CHECK(conv_params(&t.cx, t.g, t.g->nodes[1], &p) == O2L_OK);
    CHECK(p.pad_begin[0] == 2 && p.pad_end[0] == 1);
    tb_free(&t);
  }
  { /* depthwise, dilation, 1-D */
    SETUP(13, 1, 8, 20, 20);
    Value *w = w_f32(&t, "w", 4, IV(16, 1, 3, 3));
    Value *y = tb_op(&t, "Conv", "dw", INS(x, w),
                     ATTRS(A_i("group", 8), INTS("dilations", 2, 2),
                           INTS("pads", 2, 2, 2, 2)));
    Value *x1 = tb_input(&t, "x1", DT_F32, 3, IV(1, 1, 16000));
    Value *w1 = w_f32(&t, "w1", 3, IV(4, 1, 80));
    Value *y1 = tb_op(&t, "Conv", "c1d", INS(x1, w1),
                      ATTRS(INTS("strides", 16), INTS("kernel_shape", 80)));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(y, 1, 16, 20, 20) && SHAPE(y1, 1, 4, 996));
    ConvParams p;
    CHECK(conv_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK);
    CHECK(p.depthwise && p.group == 8 && p.out_ch == 16);
    tb_free(&t);
  }
  { /* errors */
    SETUP(13, 1, 3, 8, 8);
    Value *w = w_f32(&t, "w", 4, IV(4, 3, 3, 3));
    tb_op(&t, "Conv", "conv1", INS(x, w), ATTRS(INTS("kernel_shape", 3, 3, 3)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "Conv 'conv1': kernel_shape has 3 entries but the weight is 4-D"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 8, 8);
    Value *w = w_f32(&t, "w", 4, IV(4, 2, 3, 3));
    tb_op(&t, "Conv", "c", INS(x, w), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "Conv 'c': weight W has shape 4x2x3x3"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 8, 8);
    Value *w = w_f32(&t, "w", 4, IV(4, 3, 3, 3));
    Value *b = w_f32(&t, "b", 1, IV(5));
    tb_op(&t, "Conv", "c", INS(x, w, b), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "bias B has shape 5; expected (4)"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 8, 8);
    Value *w = w_f32(&t, "w", 4, IV(4, 3, 3, 3));
    tb_op(&t, "Conv", "c", INS(x, w), ATTRS(A_s("auto_pad", "SAME")));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "auto_pad 'SAME'"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 8, 8);
    Value *w = w_f32(&t, "w", 4, IV(4, 3, 3, 3));
    tb_op(&t, "Conv", "c", INS(x, w), ATTRS(INTS("strides", 0, 1)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "strides[0] = 0"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 8, 8);
    Value *w = w_f32(&t, "w", 4, IV(4, 3, 3, 3));
    tb_op(&t, "Conv", "c", INS(x, w), ATTRS(INTS("pads", 1, 1)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID &&
          msg_has(&t, "pads has 2 entries; expected 4"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 8);
    Value *w = w_f32(&t, "w", 4, IV(4, 3, 3, 3));
    tb_op(&t, "Conv", "c", INS(x, w), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "must have rank 3"));
    tb_free(&t);
  }
}

static void test_conv_transpose(void) {
  {
    SETUP(13, 1, 8, 5, 5);
    Value *w = w_f32(&t, "w", 4, IV(8, 4, 3, 3));
    Value *y = tb_op(&t, "ConvTranspose", "ct", INS(x, w),
                     ATTRS(INTS("strides", 2, 2), INTS("pads", 1, 1, 1, 1),
                           INTS("output_padding", 1, 1)));
    Value *y2 = tb_op(&t, "ConvTranspose", "ct2", INS(x, w),
                      ATTRS(INTS("strides", 2, 2), A_i("group", 2)));
    Value *y3 = tb_op(&t, "ConvTranspose", "ct3", INS(x, w),
                      ATTRS(INTS("strides", 2, 2), INTS("output_shape", 10, 10),
                            A_s("auto_pad", "SAME_UPPER")));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(y, 1, 4, 10, 10));
    CHECK(SHAPE(y2, 1, 8, 11, 11));
    CHECK(SHAPE(y3, 1, 4, 10, 10));
    ConvParams p;
    CHECK(conv_params(&t.cx, t.g, t.g->nodes[2], &p) == O2L_OK);
    /* full output 11, total padding 1: SAME_UPPER puts it at the end */
    CHECK(p.transposed && p.pad_begin[0] == 0 && p.pad_end[0] == 1);
    tb_free(&t);
  }
  {
    SETUP(13, 1, 8, 5, 5);
    Value *w = w_f32(&t, "w", 4, IV(8, 4, 3, 3));
    tb_op(&t, "ConvTranspose", "ct", INS(x, w),
          ATTRS(INTS("strides", 2, 2), INTS("output_padding", 2, 0)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "output_padding[0] = 2"));
    tb_free(&t);
  }
}

static void test_pool(void) {
  {
    SETUP(13, 1, 64, 112, 112);
    Value *y = tb_op(&t, "MaxPool", "mp", INS(x),
                     ATTRS(INTS("kernel_shape", 3, 3), INTS("strides", 2, 2),
                           A_i("ceil_mode", 1)));
    Value *x2 = tb_input(&t, "x2", DT_F32, 4, IV(1, 1, 5, 5));
    /* ceil_mode drops a last window that would start in the right padding */
    Value *y2 = tb_op(&t, "MaxPool", "mp2", INS(x2),
                      ATTRS(INTS("kernel_shape", 2, 2), INTS("strides", 2, 2),
                            INTS("pads", 1, 1, 1, 1), A_i("ceil_mode", 1)));
    Value *y3 = tb_op(&t, "AveragePool", "ap", INS(x2),
                      ATTRS(INTS("kernel_shape", 3, 3), INTS("strides", 3, 3),
                            A_i("count_include_pad", 1)));
    Value *y4 = tb_op(&t, "AveragePool", "same", INS(x2),
                      ATTRS(INTS("kernel_shape", 2, 2), INTS("strides", 2, 2),
                            A_s("auto_pad", "SAME_UPPER")));
    Value *g = tb_op(&t, "GlobalAveragePool", "gap", INS(x), NOATTR);
    Value *g1 = tb_op(&t, "GlobalMaxPool", "gmp", INS(x2), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(y, 1, 64, 56, 56));
    CHECK(SHAPE(y2, 1, 1, 3, 3));
    CHECK(SHAPE(y3, 1, 1, 1, 1));
    CHECK(SHAPE(y4, 1, 1, 3, 3));
    CHECK(SHAPE(g, 1, 64, 1, 1) && SHAPE(g1, 1, 1, 1, 1));
    PoolParams p;
    CHECK(pool_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK);
    CHECK(p.is_max && p.ceil_mode && p.out[0] == 56 && p.extra_end[0] == 1);
    CHECK(pool_params(&t.cx, t.g, t.g->nodes[2], &p) == O2L_OK);
    CHECK(!p.is_max && p.count_include_pad && p.extra_end[0] == 0);
    CHECK(pool_params(&t.cx, t.g, t.g->nodes[3], &p) == O2L_OK);
    CHECK(p.pad_begin[0] == 0 && p.pad_end[0] == 1);
    tb_free(&t);
  }
  { /* 1-D pool (m5_audio) */
    SETUP(13, 1, 32, 996);
    Value *y = tb_op(&t, "MaxPool", "p", INS(x),
                     ATTRS(INTS("kernel_shape", 4), INTS("strides", 4)));
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(y, 1, 32, 249));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 8, 8);
    tb_op(&t, "MaxPool", "mp", INS(x), ATTRS(INTS("strides", 2, 2)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID &&
          msg_has(&t, "MaxPool 'mp': the kernel_shape attribute is required"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 8, 8);
    tb_op(&t, "MaxPool", "mp", INS(x),
          ATTRS(INTS("kernel_shape", 2, 2), INTS("pads", 2, 0, 0, 0)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "smaller than the kernel"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 8, 8);
    tb_op(&t, "MaxPool", "mp", INS(x), ATTRS(INTS("kernel_shape", 2, 2),
                                            A_i("ceil_mode", 3)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "ceil_mode must be 0 or 1"));
    tb_free(&t);
  }
}

static void test_matmul_gemm(void) {
  {
    SETUP(13, 1, 400);
    Value *w = w_f32(&t, "w", 2, IV(120, 400));
    Value *c = w_f32(&t, "c", 1, IV(120));
    Value *y = tb_op(&t, "Gemm", "fc", INS(x, w, c), ATTRS(A_i("transB", 1)));
    Value *a3 = tb_input(&t, "a3", DT_F32, 3, IV(2, 3, 4));
    Value *b2 = w_f32(&t, "b2", 2, IV(4, 5));
    Value *m1 = tb_op(&t, "MatMul", "m1", INS(a3, b2), NOATTR);
    Value *v4 = tb_input(&t, "v4", DT_F32, 1, IV(4));
    Value *m2 = tb_op(&t, "MatMul", "m2", INS(v4, v4), NOATTR);
    Value *b3 = w_f32(&t, "b3", 3, IV(2, 4, 5));
    Value *m3 = tb_op(&t, "MatMul", "m3", INS(v4, b3), NOATTR);
    Value *a4 = tb_input(&t, "a4", DT_F32, 4, IV(3, 1, 2, 4));
    Value *b4 = w_f32(&t, "b4", 3, IV(5, 4, 6));
    Value *m4 = tb_op(&t, "MatMul", "m4", INS(a4, b4), NOATTR);
    Value *m5 = tb_op(&t, "MatMul", "m5", INS(a3, v4), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(y, 1, 120));
    CHECK(SHAPE(m1, 2, 3, 5));
    CHECK(m2->rank == 0);
    CHECK(SHAPE(m3, 2, 5));
    CHECK(SHAPE(m4, 3, 5, 2, 6));
    CHECK(SHAPE(m5, 2, 3));
    GemmParams p;
    CHECK(gemm_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK);
    CHECK(p.trans_b && !p.trans_a && p.M == 1 && p.K == 400 && p.N == 120 &&
          p.alpha == 1 && p.has_c);
    tb_free(&t);
  }
  {
    SETUP(13, 1, 400);
    Value *w = w_f32(&t, "w", 2, IV(120, 400));
    tb_op(&t, "Gemm", "fc", INS(x, w), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "different inner dimensions"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3, 4);
    Value *b = w_f32(&t, "b", 3, IV(3, 4, 5));
    tb_op(&t, "MatMul", "mm", INS(x, b), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "cannot be broadcast"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    Value *w = w_f32(&t, "w", 2, IV(3, 4));
    Value *c = w_f32(&t, "c", 1, IV(3));
    tb_op(&t, "Gemm", "g", INS(x, w, c), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "does not broadcast"));
    tb_free(&t);
  }
}

static void test_binary(void) {
  {
    SETUP(13, 2, 1, 4);
    Value *b = tb_input(&t, "b", DT_F32, 2, IV(3, 1));
    Value *s = tb_op(&t, "Add", "add", INS(x, b), NOATTR);
    Value *c = tb_op(&t, "Less", "lt", INS(x, b), NOATTR);
    Value *v = tb_op(&t, "Sum", "sum", INS(x, b, s), NOATTR);
    Value *m = tb_op(&t, "Max", "max1", INS(x), NOATTR);
    Value *sl = w_f32(&t, "slope", 3, IV(1, 1, 4));
    Value *p = tb_op(&t, "PRelu", "pr", INS(x, sl), NOATTR);
    Value *i = tb_input(&t, "i", DT_I64, 0, NULL);
    Value *f = w_f32(&t, "f", 0, NULL);
    Value *pw = tb_op(&t, "Pow", "pw", INS(x, i), NOATTR);
    Value *pw2 = tb_op(&t, "Pow", "pw2", INS(i, f), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(s, 2, 3, 4) && s->dtype == DT_F32);
    CHECK(SHAPE(c, 2, 3, 4) && c->dtype == DT_BOOL);
    CHECK(SHAPE(v, 2, 3, 4) && SHAPE(m, 2, 1, 4) && SHAPE(p, 2, 1, 4));
    CHECK(pw->dtype == DT_F32 && pw2->dtype == DT_I64 && pw2->rank == 0);
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    Value *b = tb_input(&t, "b", DT_F32, 2, IV(4, 3));
    tb_op(&t, "Mul", "mul", INS(x, b), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID);
    CHECK(msg_has(&t, "Mul 'mul': shapes 2x3 and 4x3 cannot be broadcast together"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    Value *b = tb_input(&t, "b", DT_I64, 2, IV(2, 3));
    tb_op(&t, "Sub", "sub", INS(x, b), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID &&
          msg_has(&t, "input 0 is float32 but input 1 is int64"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    tb_op(&t, "And", "and", INS(x, x), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "does not accept float32"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    tb_op(&t, "Add", "a", INS(x), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "expected 2 input(s), got 1"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 4, 4);
    Value *sl = w_f32(&t, "slope", 1, IV(3));
    tb_op(&t, "PRelu", "pr", INS(x, sl), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "slope of shape 3 does not broadcast"));
    tb_free(&t);
  }
  {
    SETUP(6, 2, 3);
    Value *b = tb_input(&t, "b", DT_F32, 1, IV(2));
    tb_op(&t, "Add", "old", INS(x, b), ATTRS(A_i("broadcast", 1), A_i("axis", 0)));
    CHECK(tb_infer(&t) == O2L_ERR_UNSUPPORTED && msg_has(&t, "legacy broadcasting"));
    tb_free(&t);
  }
  { /* Where */
    SETUP(13, 3, 1);
    Value *c = tb_input(&t, "c", DT_BOOL, 2, IV(1, 4));
    Value *y = w_f32(&t, "y", 0, NULL);
    Value *w = tb_op(&t, "Where", "w", INS(c, x, y), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(w, 3, 4) && w->dtype == DT_F32);
    tb_op(&t, "Where", "w2", INS(x, x, y), NOATTR);
    tb_clear(&t);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "condition must be bool"));
    tb_free(&t);
  }
}

static void test_unary_clip(void) {
  {
    SETUP(13, 2, 3);
    Value *i = tb_input(&t, "i", DT_I32, 1, IV(5));
    Value *bo = tb_input(&t, "bo", DT_BOOL, 1, IV(5));
    Value *r = tb_op(&t, "Relu", "r", INS(i), NOATTR);
    Value *s = tb_op(&t, "Sigmoid", "s", INS(x), NOATTR);
    Value *n = tb_op(&t, "Not", "n", INS(bo), NOATTR);
    Value *l = tb_op(&t, "LeakyRelu", "l", INS(x), ATTRS(A_f("alpha", 0.1f)));
    Value *c6 = tb_op(&t, "Clip", "c6", INS(x), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(r, 5) && r->dtype == DT_I32 && SHAPE(s, 2, 3) &&
          n->dtype == DT_BOOL && SHAPE(l, 2, 3) && SHAPE(c6, 2, 3));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    Value *i = tb_input(&t, "i", DT_I64, 1, IV(5));
    tb_op(&t, "Sigmoid", "sg", INS(i), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "Sigmoid 'sg': input must be float"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    tb_op(&t, "Elu", "e", INS(x), ATTRS(A_s("alpha", "one")));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "attribute 'alpha' must be a float"));
    tb_free(&t);
  }
  { /* Clip: attributes before opset 11, inputs after */
    SETUP(6, 2, 3);
    tb_op(&t, "Clip", "c", INS(x), ATTRS(A_f("min", 0), A_f("max", 6)));
    CHECK(tb_infer(&t) == O2L_OK);
    ClipParams p;
    CHECK(clip_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK);
    CHECK(p.has_min && p.has_max && p.min == 0 && p.max == 6);
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    Value *mn = tb_scalar_f32(&t, "mn", 0);
    Value *mx = tb_input(&t, "mx", DT_F32, 0, NULL);
    tb_op(&t, "Clip", "c", INS(x, mn, NULL), NOATTR);
    tb_op(&t, "Clip", "c2", INS(x, NULL, mx), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK);
    ClipParams p;
    CHECK(clip_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK);
    CHECK(p.has_min && !p.has_max && p.min == 0 && isinf(p.max) && p.max > 0);
    CHECK(clip_params(&t.cx, t.g, t.g->nodes[1], &p) == O2L_OK);
    CHECK(!p.has_min && p.has_max && p.max_runtime && isinf(p.min));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    Value *mn = tb_scalar_i64(&t, "mn", 0);
    tb_op(&t, "Clip", "c", INS(x, mn), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "min is int64 but the input is float32"));
    tb_free(&t);
  }
}

static void test_norm(void) {
  {
    SETUP(13, 1, 4, 10);
    Value *c = w_f32(&t, "c", 1, IV(4));
    Value *y = tb_op(&t, "BatchNormalization", "bn", INS(x, c, c, c, c),
                     ATTRS(A_f("epsilon", 1e-3f)));
    Value *s11 = tb_op(&t, "Softmax", "sm", INS(x), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(y, 1, 4, 10) && SHAPE(s11, 1, 4, 10));
    BatchNormParams p;
    CHECK(bn_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK);
    CHECK(p.channels == 4 && fabs(p.epsilon - 1e-3) < 1e-9 && p.form == BN_FORM_V9);
    SoftmaxParams sp;
    CHECK(softmax_params(&t.cx, t.g, t.g->nodes[1], &sp) == O2L_OK);
    CHECK(sp.axis == 2 && !sp.coerce_2d);
    t.g->opset = 11;
    CHECK(softmax_params(&t.cx, t.g, t.g->nodes[1], &sp) == O2L_OK);
    CHECK(sp.axis == 1 && sp.coerce_2d);
    tb_free(&t);
  }
  {
    SETUP(13, 1, 4, 10);
    Value *c = w_f32(&t, "c", 1, IV(4));
    Value *c5 = w_f32(&t, "c5", 1, IV(5));
    tb_op(&t, "BatchNormalization", "bn", INS(x, c, c, c5, c), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "input_mean has shape 5; expected (4)"));
    tb_free(&t);
  }
  {
    SETUP(15, 1, 4, 10);
    Value *c = w_f32(&t, "c", 1, IV(4));
    tb_op(&t, "BatchNormalization", "bn", INS(x, c, c, c, c), ATTRS(A_i("training_mode", 1)));
    CHECK(tb_infer(&t) == O2L_ERR_UNSUPPORTED && msg_has(&t, "training_mode=1"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 4, 10);
    tb_op(&t, "LogSoftmax", "ls", INS(x), ATTRS(A_i("axis", 3)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID &&
          msg_has(&t, "LogSoftmax 'ls': axis 3 is out of range for rank 3"));
    tb_free(&t);
  }
}

static void test_data_movement(void) {
  {
    SETUP(13, 2, 3, 4);
    Value *c = tb_op(&t, "Cast", "cast", INS(x), ATTRS(A_i("to", 7)));
    Value *cc = tb_op(&t, "Concat", "cat", INS(x, x), ATTRS(A_i("axis", -1)));
    Value *fl0 = tb_op(&t, "Flatten", "f0", INS(x), ATTRS(A_i("axis", 0)));
    Value *fl = tb_op(&t, "Flatten", "f", INS(x), NOATTR);
    Value *fl2 = tb_op(&t, "Flatten", "f2", INS(x), ATTRS(A_i("axis", -1)));
    Value *tr = tb_op(&t, "Transpose", "t", INS(x), NOATTR);
    Value *tr2 = tb_op(&t, "Transpose", "t2", INS(x), ATTRS(INTS("perm", 0, 2, 1)));
    Value *ti = tb_op(&t, "Tile", "tile", INS(x, tb_ints(&t, "rep", 3, IV(1, 2, 3))), NOATTR);
    Value *ex = tb_op(&t, "Expand", "ex", INS(x, tb_ints(&t, "es", 4, IV(5, 1, 1, 4))), NOATTR);
    Value *id = tb_op(&t, "Identity", "id", INS(x), NOATTR);
    Node *dr = tb_node(&t, "Dropout", "dr", INS(x, tb_scalar_f32(&t, "ratio", 0.5f)), 2, NOATTR);
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(c, 2, 3, 4) && c->dtype == DT_I64);
    CHECK(SHAPE(cc, 2, 3, 8));
    CHECK(SHAPE(fl0, 1, 24) && SHAPE(fl, 2, 12) && SHAPE(fl2, 6, 4));
    CHECK(SHAPE(tr, 4, 3, 2) && SHAPE(tr2, 2, 4, 3));
    CHECK(SHAPE(ti, 2, 6, 12) && SHAPE(ex, 5, 2, 3, 4) && SHAPE(id, 2, 3, 4));
    CHECK(SHAPE(dr->out[0], 2, 3, 4) && dr->out[1]->dtype == DT_BOOL);
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    tb_op(&t, "Cast", "c", INS(x), ATTRS(A_i("to", 8)));
    CHECK(tb_infer(&t) == O2L_ERR_UNSUPPORTED && msg_has(&t, "cast to ONNX type 8"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    Value *b = tb_input(&t, "b", DT_F32, 2, IV(3, 3));
    tb_op(&t, "Concat", "cat", INS(x, b), ATTRS(A_i("axis", 1)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "input 1 has shape 3x3 but input 0 has shape 2x3"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    tb_op(&t, "Concat", "cat", INS(x, x), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "'axis' attribute is required"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    tb_op(&t, "Transpose", "t", INS(x), ATTRS(INTS("perm", 0, 0)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "perm is not a permutation"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    tb_op(&t, "Expand", "e", INS(x, tb_ints(&t, "s", 2, IV(4, 3))), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "cannot be broadcast"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    Value *tm = tb_const(&t, "tm", DT_BOOL, 0, NULL, (const unsigned char[]){1});
    tb_op(&t, "Dropout", "d", INS(x, NULL, tm), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_UNSUPPORTED && msg_has(&t, "training_mode is true"));
    tb_free(&t);
  }
}

static void test_reshape_family(void) {
  {
    SETUP(14, 2, 3, 4);
    Value *r1 = tb_op(&t, "Reshape", "r1", INS(x, tb_ints(&t, "s1", 2, IV(0, -1))), NOATTR);
    Value *r2 = tb_op(&t, "Reshape", "r2", INS(x, tb_ints(&t, "s2", 4, IV(4, 1, -1, 2))), NOATTR);
    Value *e = tb_input(&t, "e", DT_F32, 2, IV(0, 3));
    Value *r3 = tb_op(&t, "Reshape", "r3", INS(e, tb_ints(&t, "s3", 2, IV(3, 0))),
                      ATTRS(A_i("allowzero", 1)));
    Value *r4 = tb_op(&t, "Reshape", "r4", INS(x, tb_ints(&t, "s4", 0, NULL)), NOATTR);
    (void)r4;
    Value *sq = tb_op(&t, "Squeeze", "sq", INS(r2), NOATTR);
    Value *sq1 = tb_op(&t, "Squeeze", "sq1", INS(r2, tb_ints(&t, "a1", 1, IV(-3))), NOATTR);
    Value *us = tb_op(&t, "Unsqueeze", "us", INS(x, tb_ints(&t, "a2", 2, IV(0, -1))), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID); /* r4: 24 elements to a scalar */
    CHECK(msg_has(&t, "Reshape 'r4': cannot reshape 2x3x4 (24 elements) to scalar"));
    CHECK(SHAPE(r1, 2, 12) && SHAPE(r2, 4, 1, 3, 2) && SHAPE(r3, 3, 0));
    (void)sq; (void)sq1; (void)us;
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3, 4);
    Value *r2 = tb_op(&t, "Reshape", "r2", INS(x, tb_ints(&t, "s2", 4, IV(4, 1, -1, 2))), NOATTR);
    Value *sq = tb_op(&t, "Squeeze", "sq", INS(r2), NOATTR);
    Value *sq1 = tb_op(&t, "Squeeze", "sq1", INS(r2, tb_ints(&t, "a1", 1, IV(-3))), NOATTR);
    Value *us = tb_op(&t, "Unsqueeze", "us", INS(x, tb_ints(&t, "a2", 2, IV(0, -1))), NOATTR);
    Value *us2 = tb_op(&t, "Unsqueeze", "us2", INS(x, tb_ints(&t, "a3", 2, IV(3, 1))), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(sq, 4, 3, 2) && SHAPE(sq1, 4, 3, 2));
    CHECK(SHAPE(us, 1, 2, 3, 4, 1) && SHAPE(us2, 2, 1, 3, 1, 4));
    tb_free(&t);
  }
  { /* opset 11: axes attributes */
    SETUP(11, 1, 3, 1);
    Value *sq = tb_op(&t, "Squeeze", "sq", INS(x), ATTRS(INTS("axes", 0)));
    Value *us = tb_op(&t, "Unsqueeze", "us", INS(x), ATTRS(INTS("axes", 1)));
    Value *r = tb_op(&t, "Reshape", "r", INS(x, tb_ints(&t, "s", 1, IV(-1))), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(sq, 3, 1) && SHAPE(us, 1, 1, 3, 1) && SHAPE(r, 3));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    tb_op(&t, "Reshape", "r", INS(x, tb_ints(&t, "s", 2, IV(-1, -1))), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "more than one -1"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    tb_op(&t, "Reshape", "r", INS(x, tb_ints(&t, "s", 2, IV(4, -1))), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "cannot reshape 2x3"));
    tb_free(&t);
  }
  { /* a shape computed at run time */
    SETUP(13, 2, 3);
    Value *s = tb_input(&t, "s", DT_I64, 1, IV(2));
    tb_op(&t, "Reshape", "r", INS(x, s), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_UNSUPPORTED);
    CHECK(msg_has(&t, "Reshape 'r': input 'shape' is computed at run time and "
                      "could not be folded to a constant; give static input "
                      "shapes with --input-shape"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    tb_op(&t, "Squeeze", "sq", INS(x, tb_ints(&t, "a", 1, IV(0))), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "cannot squeeze axis 0 of shape 2x3"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    tb_op(&t, "Unsqueeze", "us", INS(x, tb_ints(&t, "a", 2, IV(1, -3))), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "axis 1 is listed twice"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3);
    tb_op(&t, "Unsqueeze", "us", INS(x), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "the 'axes' input is required"));
    tb_free(&t);
  }
}

static void test_gather_shape(void) {
  {
    SETUP(15, 2, 5, 4);
    Value *g1 = tb_op(&t, "Gather", "g1", INS(x, tb_ints(&t, "i1", 2, IV(-1, 0))), ATTRS(A_i("axis", 1)));
    Value *g2 = tb_op(&t, "Gather", "g2", INS(x, tb_scalar_i64(&t, "i2", 1)), NOATTR);
    Value *sh = tb_op(&t, "Shape", "sh", INS(x), NOATTR);
    Value *sh2 = tb_op(&t, "Shape", "sh2", INS(x), ATTRS(A_i("start", 1), A_i("end", -1)));
    Value *sh3 = tb_op(&t, "Shape", "sh3", INS(x), ATTRS(A_i("start", -10)));
    Value *sz = tb_op(&t, "Size", "sz", INS(x), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(g1, 2, 2, 4) && SHAPE(g2, 5, 4));
    CHECK(SHAPE(sh, 3) && sh->dtype == DT_I64 && SHAPE(sh2, 1) && SHAPE(sh3, 3));
    CHECK(sz->rank == 0 && sz->dtype == DT_I64);
    tb_free(&t);
  }
  { /* Shape start/end only from opset 15 */
    SETUP(13, 2, 5, 4);
    Value *sh2 = tb_op(&t, "Shape", "sh2", INS(x), ATTRS(A_i("start", 1)));
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(sh2, 3));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 5);
    tb_op(&t, "Gather", "g", INS(x, tb_ints(&t, "i", 1, IV(-6))), ATTRS(A_i("axis", 1)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID &&
          msg_has(&t, "index -6 is out of range for axis 1 of size 5"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 5);
    Value *f = w_f32(&t, "f", 1, IV(1));
    tb_op(&t, "Gather", "g", INS(x, f), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "indices must be int32 or int64"));
    tb_free(&t);
  }
  { /* Range, ConstantOfShape, Constant */
    SETUP(13, 1);
    Value *r = tb_op(&t, "Range", "r", INS(tb_scalar_i64(&t, "a", 10), tb_scalar_i64(&t, "b", 1),
                                           tb_scalar_i64(&t, "c", -3)), NOATTR);
    Value *rf = tb_op(&t, "Range", "rf", INS(tb_scalar_f32(&t, "fa", 0), tb_scalar_f32(&t, "fb", 1),
                                             tb_scalar_f32(&t, "fc", 0.3f)), NOATTR);
    int64_t one = 7;
    Value *val = tb_const(&t, "val", DT_I64, 1, IV(1), &one);
    Value *co = tb_op(&t, "ConstantOfShape", "co", INS(tb_ints(&t, "s", 2, IV(2, 3))),
                      ATTRS(A_t("value", val)));
    Value *co2 = tb_op(&t, "ConstantOfShape", "co2", INS(tb_ints(&t, "s2", 1, IV(4))), NOATTR);
    Value *k1 = tb_op(&t, "Constant", "k1", 0, NULL, ATTRS(INTS("value_ints", 1, 2, 3)));
    Value *k2 = tb_op(&t, "Constant", "k2", 0, NULL, ATTRS(A_f("value_float", 2.5f)));
    Value *k3 = tb_op(&t, "Constant", "k3", 0, NULL, ATTRS(A_t("value", val)));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(r, 3) && r->dtype == DT_I64 && SHAPE(rf, 4) && rf->dtype == DT_F32);
    CHECK(SHAPE(co, 2, 3) && co->dtype == DT_I64 && SHAPE(co2, 4) && co2->dtype == DT_F32);
    CHECK(SHAPE(k1, 3) && k1->dtype == DT_I64 && k2->rank == 0 && k2->dtype == DT_F32);
    CHECK(SHAPE(k3, 1) && k3->dtype == DT_I64);
    (void)x;
    tb_free(&t);
  }
  {
    SETUP(13, 1);
    tb_op(&t, "Constant", "k", 0, NULL, ATTRS(INTS("value_ints", 1), A_f("value_float", 1)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "exactly one value attribute"));
    (void)x;
    tb_free(&t);
  }
}

static void test_slice(void) {
  { /* opset 13 inputs: negative steps, INT64_MAX ends, clamping */
    SETUP(13, 10, 8, 6);
    Value *y1 = tb_op(&t, "Slice", "s1", INS(x, tb_ints(&t, "st", 2, IV(1, -3)),
                                             tb_ints(&t, "en", 2, IV(INT64_MAX, 1000)),
                                             tb_ints(&t, "ax", 2, IV(0, -1))), NOATTR);
    Value *y2 = tb_op(&t, "Slice", "s2", INS(x, tb_ints(&t, "st2", 1, IV(-1)),
                                             tb_ints(&t, "en2", 1, IV(INT64_MIN)),
                                             tb_ints(&t, "ax2", 1, IV(1)),
                                             tb_ints(&t, "sp2", 1, IV(-3))), NOATTR);
    Value *y3 = tb_op(&t, "Slice", "s3", INS(x, tb_ints(&t, "st3", 1, IV(5)),
                                             tb_ints(&t, "en3", 1, IV(2))), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(y1, 9, 8, 3));
    CHECK(SHAPE(y2, 10, 3, 6)); /* 7, 4, 1 */
    CHECK(SHAPE(y3, 0, 8, 6));
    SliceParams p;
    CHECK(slice_params(&t.cx, t.g, y2->producer ? y2->producer : t.g->nodes[1], &p) == O2L_OK);
    CHECK(p.start[1] == 7 && p.step[1] == -3 && p.end[1] == -1 && p.sliced[1] && !p.sliced[0]);
    tb_free(&t);
  }
  { /* opset 9 attributes */
    SETUP(9, 10, 8);
    Value *y = tb_op(&t, "Slice", "s", INS(x), ATTRS(INTS("starts", 2), INTS("ends", -2),
                                                     INTS("axes", 1)));
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(y, 10, 4));
    tb_free(&t);
  }
  {
    SETUP(13, 10, 8);
    tb_op(&t, "Slice", "s", INS(x, tb_ints(&t, "a", 1, IV(0)), tb_ints(&t, "b", 1, IV(5)),
                                NULL, tb_ints(&t, "c", 1, IV(0))), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "steps[0] is 0"));
    tb_free(&t);
  }
  {
    SETUP(13, 10, 8);
    tb_op(&t, "Slice", "s", INS(x, tb_ints(&t, "a", 2, IV(0, 0)), tb_ints(&t, "b", 1, IV(5))), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "must have the same length"));
    tb_free(&t);
  }
}

static void test_pad_split(void) {
  {
    SETUP(11, 1, 3, 4, 4);
    Value *p11 = tb_op(&t, "Pad", "p11", INS(x, tb_ints(&t, "pads", 8, IV(0, 0, 1, 2, 0, 0, 3, -1))), NOATTR);
    Value *r = tb_op(&t, "Pad", "refl", INS(x, tb_ints(&t, "pads2", 8, IV(0, 0, 3, 3, 0, 0, 3, 3))),
                     ATTRS(A_s("mode", "reflect")));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(p11, 1, 3, 8, 5) && SHAPE(r, 1, 3, 10, 10));
    PadParams p;
    CHECK(pad_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK);
    CHECK(p.mode == PAD_CONSTANT && p.begin[3] == 2 && p.end[3] == -1 && p.value == 0);
    tb_free(&t);
  }
  { /* opset 2 attributes, opset 18 axes */
    SETUP(2, 1, 3, 4, 4);
    Value *y = tb_op(&t, "Pad", "p", INS(x), ATTRS(INTS("pads", 0, 0, 1, 1, 0, 0, 1, 1),
                                                  A_f("value", 1.5f)));
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(y, 1, 3, 6, 6));
    PadParams p;
    CHECK(pad_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK && p.value == 1.5);
    tb_free(&t);
  }
  {
    SETUP(18, 1, 3, 4, 4);
    Value *cv = tb_scalar_f32(&t, "cv", -1);
    Value *y = tb_op(&t, "Pad", "p", INS(x, tb_ints(&t, "pads", 4, IV(1, 2, 3, 4)), cv,
                                         tb_ints(&t, "axes", 2, IV(-1, 1))), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(y, 1, 9, 4, 8));
    PadParams p;
    CHECK(pad_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK && p.value == -1);
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 4, 4);
    tb_op(&t, "Pad", "p", INS(x, tb_ints(&t, "pads", 8, IV(0, 0, 4, 0, 0, 0, 0, 0))),
          ATTRS(A_s("mode", "reflect")));
    CHECK(tb_infer(&t) == O2L_ERR_UNSUPPORTED && msg_has(&t, "reflect padding 4/0 on axis 2"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 4, 4);
    tb_op(&t, "Pad", "p", INS(x, tb_ints(&t, "pads", 4, IV(0, 0, 4, 0))), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "pads has 4 entries; expected 8"));
    tb_free(&t);
  }
  { /* Split: attribute (11), input (13), num_outputs (18), equal */
    SETUP(11, 10, 4);
    Node *s = tb_node(&t, "Split", "s", INS(x), 2, ATTRS(INTS("split", 3, 7)));
    Node *e = tb_node(&t, "Split", "e", INS(x), 2, ATTRS(A_i("axis", -1)));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(s->out[0], 3, 4) && SHAPE(s->out[1], 7, 4));
    CHECK(SHAPE(e->out[0], 10, 2) && SHAPE(e->out[1], 10, 2));
    tb_free(&t);
  }
  {
    SETUP(18, 10, 4);
    Node *s = tb_node(&t, "Split", "s", INS(x, tb_ints(&t, "sp", 3, IV(2, 2, 6))), 3, NOATTR);
    Node *u = tb_node(&t, "Split", "u", INS(x), 3, ATTRS(A_i("num_outputs", 3)));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(s->out[2], 6, 4) && SHAPE(u->out[0], 4, 4) && SHAPE(u->out[2], 2, 4));
    SplitParams p;
    CHECK(split_params(&t.cx, t.g, t.g->nodes[1], &p) == O2L_OK);
    CHECK(p.n == 3 && p.axis == 0 && p.sizes[0] == 4 && p.sizes[1] == 4 && p.sizes[2] == 2);
    tb_free(&t);
  }
  {
    SETUP(13, 10, 4);
    tb_node(&t, "Split", "s", INS(x, tb_ints(&t, "sp", 2, IV(2, 2))), 2, NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "split sizes add up to 4 but axis 0 has 10"));
    tb_free(&t);
  }
  {
    SETUP(13, 10, 4);
    tb_node(&t, "Split", "s", INS(x), 3, NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "does not split evenly into 3"));
    tb_free(&t);
  }
}

static void test_resize(void) {
  { /* opset 13: sizes (u2netp), scales, Resize-10, Upsample 7 and 9 */
    SETUP(13, 1, 3, 20, 20);
    Value *y1 = tb_op(&t, "Resize", "r1", INS(x, NULL, NULL, tb_ints(&t, "sz", 4, IV(1, 3, 40, 30))),
                      ATTRS(A_s("mode", "linear"), A_s("coordinate_transformation_mode", "half_pixel")));
    float sc[4] = {1, 1, 2.5f, 0.5f};
    Value *scv = tb_const(&t, "sc", DT_F32, 1, IV(4), sc);
    Value *empty = tb_const(&t, "empty", DT_F32, 1, IV(0), NULL);
    Value *y2 = tb_op(&t, "Resize", "r2", INS(x, empty, scv), ATTRS(A_s("nearest_mode", "floor")));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(y1, 1, 3, 40, 30) && SHAPE(y2, 1, 3, 50, 10));
    ResizeParams p;
    CHECK(resize_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK);
    CHECK(p.mode == RESIZE_LINEAR && p.coord == COORD_HALF_PIXEL && p.from_sizes &&
          p.scale[2] == 2.0 && p.scale[3] == 1.5);
    CHECK(resize_params(&t.cx, t.g, t.g->nodes[1], &p) == O2L_OK);
    CHECK(p.mode == RESIZE_NEAREST && p.nearest == NEAREST_FLOOR && !p.from_sizes &&
          p.scale[2] == 2.5);
    tb_free(&t);
  }
  {
    SETUP(10, 1, 3, 5, 5);
    float sc[4] = {1, 1, 2, 2};
    Value *y = tb_op(&t, "Resize", "r", INS(x, tb_const(&t, "sc", DT_F32, 1, IV(4), sc)), NOATTR);
    Value *u = tb_op(&t, "Upsample", "u", INS(x, tb_const(&t, "sc2", DT_F32, 1, IV(4), sc)), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(y, 1, 3, 10, 10) && SHAPE(u, 1, 3, 10, 10));
    ResizeParams p;
    CHECK(resize_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK);
    CHECK(p.coord == COORD_ASYMMETRIC && p.nearest == NEAREST_FLOOR);
    tb_free(&t);
  }
  {
    SETUP(7, 1, 3, 5, 5);
    float sc[4] = {1, 1, 3, 2};
    Value *u = tb_op(&t, "Upsample", "u", INS(x), ATTRS(A_fs("scales", 4, sc)));
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(u, 1, 3, 15, 10));
    tb_free(&t);
  }
  { /* opset 18: axes and keep_aspect_ratio_policy */
    SETUP(18, 1, 3, 20, 40);
    Value *y = tb_op(&t, "Resize", "r", INS(x, NULL, NULL, tb_ints(&t, "sz", 2, IV(30, 30))),
                     ATTRS(INTS("axes", 2, 3), A_s("keep_aspect_ratio_policy", "not_larger")));
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(y, 1, 3, 15, 30));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 20, 20);
    float sc[4] = {1, 1, 2, 2};
    tb_op(&t, "Resize", "r", INS(x, NULL, tb_const(&t, "sc", DT_F32, 1, IV(4), sc),
                                 tb_ints(&t, "sz", 4, IV(1, 3, 40, 40))), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "scales or sizes, not both"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 20, 20);
    tb_op(&t, "Resize", "r", INS(x, NULL, NULL, tb_ints(&t, "sz", 2, IV(40, 40))), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "sizes has 2 entries; expected 4"));
    tb_free(&t);
  }
  {
    SETUP(13, 1, 3, 20, 20);
    tb_op(&t, "Resize", "r", INS(x, NULL, NULL, tb_ints(&t, "sz", 4, IV(1, 3, 40, 40))),
          ATTRS(A_s("mode", "bicubic")));
    CHECK(tb_infer(&t) == O2L_ERR_UNSUPPORTED && msg_has(&t, "mode 'bicubic'"));
    tb_free(&t);
  }
}

static void test_reduce(void) {
  {
    SETUP(13, 2, 3, 4);
    Value *m = tb_op(&t, "ReduceMean", "m", INS(x), ATTRS(INTS("axes", -1, 1), A_i("keepdims", 0)));
    Value *m2 = tb_op(&t, "ReduceMax", "m2", INS(x), NOATTR);
    Value *s = tb_op(&t, "ReduceSum", "s", INS(x, tb_ints(&t, "ax", 1, IV(1))), NOATTR);
    Value *s2 = tb_op(&t, "ReduceSum", "s2", INS(x, tb_ints(&t, "ax0", 0, NULL)),
                      ATTRS(A_i("noop_with_empty_axes", 1)));
    Value *a = tb_op(&t, "ArgMax", "a", INS(x), ATTRS(A_i("axis", 1), A_i("keepdims", 0)));
    Value *a2 = tb_op(&t, "ArgMax", "a2", INS(x), ATTRS(A_i("axis", -1)));
    CHECK(tb_infer(&t) == O2L_OK);
    CHECK(SHAPE(m, 2) && SHAPE(m2, 1, 1, 1) && SHAPE(s, 2, 1, 4) && SHAPE(s2, 2, 3, 4));
    CHECK(SHAPE(a, 2, 4) && a->dtype == DT_I64 && SHAPE(a2, 2, 3, 1));
    ReduceParams p;
    CHECK(reduce_params(&t.cx, t.g, t.g->nodes[0], &p) == O2L_OK);
    CHECK(p.naxes == 2 && p.axes[0] == 1 && p.axes[1] == 2 && !p.keepdims);
    CHECK(reduce_params(&t.cx, t.g, t.g->nodes[3], &p) == O2L_OK && p.noop);
    tb_free(&t);
  }
  { /* opset 18: axes as an input for every reduction */
    SETUP(18, 2, 3, 4);
    Value *m = tb_op(&t, "ReduceMean", "m", INS(x, tb_ints(&t, "ax", 2, IV(0, 2))), NOATTR);
    CHECK(tb_infer(&t) == O2L_OK && SHAPE(m, 1, 3, 1));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3, 4);
    tb_op(&t, "ReduceMean", "m", INS(x), ATTRS(INTS("axes", 1, -2)));
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "axis 1 is listed twice"));
    tb_free(&t);
  }
  {
    SETUP(13, 2, 3, 4);
    tb_op(&t, "ReduceMean", "m", INS(x, tb_ints(&t, "ax", 1, IV(0))), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "expected 1 input(s), got 2"));
    tb_free(&t);
  }
}

static void test_graph_errors(void) {
  { /* a value nobody produces */
    TB t;
    tb_init(&t, 13);
    Value *ghost = graph_add_value(&t.cx, t.g, "ghost", DT_UNDEF, -1, NULL);
    tb_op(&t, "Relu", "r", INS(ghost), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "input 0 ('ghost') has no known shape"));
    tb_free(&t);
  }
  {
    TB t;
    tb_init(&t, 13);
    Value *x = tb_input(&t, "x", DT_F32, -1, NULL);
    tb_op(&t, "Relu", "r", INS(x), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "graph input 'x' has no static shape"));
    tb_free(&t);
  }
  { /* declared output type differs */
    TB t;
    tb_init(&t, 13);
    Value *x = tb_input(&t, "x", DT_F32, 1, IV(3));
    Value *y = tb_op(&t, "Relu", "r", INS(x), NOATTR);
    y->dtype = DT_I64;
    tb_output(&t, y);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID &&
          msg_has(&t, "graph output 'r:0' is declared int64 but computes float32"));
    tb_free(&t);
  }
  { /* a constant with too few bytes */
    TB t;
    tb_init(&t, 13);
    Value *x = tb_input(&t, "x", DT_F32, 1, IV(3));
    Value *c = tb_ints(&t, "c", 3, IV(1, 2, 3));
    c->nbytes = 8;
    tb_op(&t, "Add", "a", INS(x, x), NOATTR);
    tb_op(&t, "Reshape", "r", INS(x, c), NOATTR);
    CHECK(tb_infer(&t) == O2L_ERR_INVALID && msg_has(&t, "fewer than its shape needs"));
    tb_free(&t);
  }
}

int main(void) {
  test_conv();
  test_conv_transpose();
  test_pool();
  test_matmul_gemm();
  test_binary();
  test_unary_clip();
  test_norm();
  test_data_movement();
  test_reshape_family();
  test_gather_shape();
  test_slice();
  test_pad_split();
  test_resize();
  test_reduce();
  test_graph_errors();
  return check_done("test_shape");
}
