/* tfl_write.c - a GRAPH_TFL graph to a .tflite file (TFL3 flatbuffer).
 *
 * Layout, front to back: the Model and everything it references (small),
 * then the constant buffers in buffer-index order, each 16-byte aligned.
 * The buffers are pushed first as deferred vectors (fb.h), so their bytes
 * are copied straight from where the graph keeps them (often the mmapped
 * ONNX file) into the output file; the builder's memory holds only the
 * metadata.  Tensors that are not constant point at the empty buffer 0;
 * constants sharing one data pointer share one buffer.
 *
 * Invariants needed: every live node's op is a TflOp, every tensor a live
 * node or the graph I/O touches has a known static shape and a dtype
 * TFLite has, constant byte counts match their shapes.  Violations are
 * reported naming the tensor or node, and no file is left behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tfl/fb.h"
#include "tfl/tfl.h"

enum { SCHEMA_VERSION = 3, BUFFER_ALIGN = 16 };

/* Field ids of the tables written here (tflite-format.md §2). */
enum { MODEL_VERSION = 0, MODEL_OPCODES = 1, MODEL_SUBGRAPHS = 2,
       MODEL_DESCRIPTION = 3, MODEL_BUFFERS = 4, MODEL_METADATA = 6,
       MODEL_SIGNATURES = 7 };
enum { SG_TENSORS = 0, SG_INPUTS = 1, SG_OUTPUTS = 2, SG_OPERATORS = 3, SG_NAME = 4 };
enum { T_SHAPE = 0, T_TYPE = 1, T_BUFFER = 2, T_NAME = 3, T_QUANT = 4,
       T_IS_VARIABLE = 5, T_HAS_RANK = 8 };
enum { Q_SCALE = 2, Q_ZERO_POINT = 3, Q_DIM = 6 };
enum { OP_OPCODE = 0, OP_INPUTS = 1, OP_OUTPUTS = 2, OP_OPTIONS_TYPE = 3,
       OP_OPTIONS = 4 };
enum { OC_DEPRECATED_CODE = 0, OC_VERSION = 2, OC_BUILTIN_CODE = 3 };
enum { PLACEHOLDER_FOR_GREATER_OP_CODES = 127 };

typedef struct OpCode {
  int code, version;
} OpCode;

typedef struct Writer {
  Ctx *cx;
  const Graph *g;
  FbBuilder B;
  int *tindex;         /* value id -> tensor index, -1 = not written */
  Value **tensors;     /* tensor index -> value */
  int ntensors;
  int *tbuffer;        /* tensor index -> buffer index */
  const Value **bufv;  /* buffer index -> the first constant using it */
  int nbuffers;        /* including buffer 0 and the metadata buffer */
  int meta_buffer;     /* index of the min_runtime_version buffer */
  FbRef *bufdata;      /* buffer index -> its deferred data vector */
  OpCode *opcodes;
  int nopcodes;
  int *node_opcode;    /* node index -> opcode index */
  char runtime[16];    /* min_runtime_version, NUL-padded */
  Status st;           /* first failure while building tables */
  /* Small vectors already written, shared by content: per-channel zero
   * points are all zeros, same-scale groups repeat their scale and many
   * tensors have one shape; on a small model these repeats are a tenth of
   * the file.  `elem` keeps an int64 vector from matching two floats. */
  struct SharedVec {
    const void *data;
    size_t bytes, elem;
    FbRef ref;
  } *shared;
  size_t nshared, cshared;
} Writer;

/* ---- operator versions (op_version.cc) -------------------------------- */

static DType in_type(const Node *n, int i) {
  return i < n->nin && n->in[i] ? n->in[i]->dtype : DT_UNDEF;
}

static DType out_type(const Node *n, int i) {
  return i < n->nout && n->out[i] ? n->out[i]->dtype : DT_UNDEF;
}

static int in_rank(const Node *n, int i) {
  return i < n->nin && n->in[i] ? n->in[i]->rank : 0;
}

static bool quantized(const Value *v) {
  return v && v->quant && v->quant->n > 0;
}

static float scale0(const Value *v) {
  return quantized(v) ? v->quant->scale[0] : 0.0f;
}

/* Per-channel as op_signature.cc decides it: one scale per slice of the
 * given weight dimension. */
static bool per_channel(const Node *n, int i, int dim) {
  const Value *w = i < n->nin ? n->in[i] : NULL;
  return quantized(w) && w->rank > dim && w->quant->n == w->dims[dim];
}

static bool need_broadcast(const Node *n) {
  if (n->nin < 2 || !n->in[0] || !n->in[1])
    return false;
  return !value_same_shape(n->in[0], n->in[1]);
}

static int max_in_rank(const Node *n) {
  int r = 0;
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] && n->in[i]->rank > r)
      r = n->in[i]->rank;
  return r;
}

static bool dilated(int w, int h) {
  return (w != 0 && w != 1) || (h != 0 && h != 1);
}

/* The types an int8/int16 rule looks at, as TF's I8 -> 2, I16 -> 3. */
static int by_int_type(DType t, int v_i16, int v_i8) {
  if (t == DT_I16 && v_i16)
    return v_i16;
  if (t == DT_I8)
    return v_i8;
  return 1;
}

static int version_conv(const Node *n) {
  DType i0 = in_type(n, 0), i1 = in_type(n, 1), o0 = out_type(n, 0);
  if (i0 == DT_I16 && i1 == DT_I8 && o0 == DT_I16 && n->opt.quantized_bias_type)
    return 8;
  if (in_rank(n, 0) == 4 && in_rank(n, 1) == 4 &&
      n->in[0]->dims[3] != n->in[1]->dims[3])
    return 6; /* grouped */
  if (i0 == DT_I16 && i1 == DT_I16 && o0 == DT_I16)
    return 4;
  if (i0 == DT_I8 && i1 == DT_I8 && o0 == DT_I8)
    return 3;
  if (i0 == DT_F32 && i1 == DT_I8 && o0 == DT_F32)
    return per_channel(n, 1, 0) ? 5 : 2;
  return 1;
}

static int version_depthwise(const Node *n) {
  DType i0 = in_type(n, 0), i1 = in_type(n, 1), o0 = out_type(n, 0);
  if (i0 == DT_I16 && i1 == DT_I16 && o0 == DT_I16)
    return 5;
  if (i0 == DT_F32 && i1 == DT_I8 && o0 == DT_F32)
    return per_channel(n, 1, 3) ? 6 : 4;
  if (i0 == DT_I8 && i1 == DT_I8 && o0 == DT_I8)
    return 3;
  return dilated(n->opt.dilation_w, n->opt.dilation_h) ? 2 : 1;
}

static int version_fc(const Node *n) {
  DType i0 = in_type(n, 0), i1 = in_type(n, 1), o0 = out_type(n, 0);
  bool hybrid = i0 == DT_F32 && i1 == DT_I8 && o0 == DT_F32;
  if (hybrid && quantized(n->in[1]) && n->in[1]->quant->n > 1)
    return 12;
  if (i0 == DT_I16 && i1 == DT_I8 && o0 == DT_I16 && n->opt.quantized_bias_type)
    return 11;
  if (i0 == DT_I16 && i1 == DT_I16 && o0 == DT_I16)
    return 7;
  if (n->nin == 2)
    return 6;
  if (n->opt.keep_num_dims)
    return 5;
  if (i0 == DT_I8 && i1 == DT_I8 && o0 == DT_I8)
    return 4;
  if (hybrid)
    return n->opt.asymmetric_quantize_inputs ? 9 : 3;
  return 1;
}

static int version_mul(const Node *n) {
  DType i0 = in_type(n, 0);
  if (i0 == DT_F16)
    return 8;
  if ((i0 == DT_I16 && !quantized(n->in[0])) || i0 == DT_U32)
    return 7;
  if (i0 == DT_I64)
    return 5;
  if (i0 == DT_I16)
    return 4;
  if (n->nin >= 2 && n->nout >= 1) {
    float s1 = scale0(n->in[0]), s2 = scale0(n->in[1]), so = scale0(n->out[0]);
    if (s1 != 0 && s2 != 0 && so != 0 && (double)s1 * s2 / so >= 1.0)
      return 3;
  }
  return i0 == DT_I8 ? 2 : 1;
}

static int version_add(const Node *n) {
  DType i0 = in_type(n, 0), o0 = out_type(n, 0);
  if (i0 == DT_F16)
    return 6;
  if (i0 == DT_I16 && !quantized(n->in[0]))
    return 5;
  if (i0 == DT_I64)
    return 4;
  if (i0 == DT_I16 && o0 == DT_I16 && n->opt.pot_scale_int16_false)
    return 3;
  return i0 == DT_I8 ? 2 : 1;
}

static int version_sub(const Node *n) {
  DType i0 = in_type(n, 0), o0 = out_type(n, 0);
  if (i0 == DT_I16 && o0 == DT_I16 && n->opt.pot_scale_int16_false)
    return 5;
  if (i0 == DT_I64)
    return 4;
  if (need_broadcast(n) && max_in_rank(n) > 4)
    return 3;
  return i0 == DT_I8 ? 2 : 1;
}

static int version_transpose(const Node *n) {
  DType i0 = in_type(n, 0);
  int r = in_rank(n, 0);
  if (r > 6)
    return 8;
  if (r > 5)
    return 6;
  if (i0 == DT_I16)
    return 5;
  if (r > 4)
    return 4;
  if (i0 == DT_BOOL)
    return 3;
  return i0 == DT_I8 ? 2 : 1;
}

static int version_strided_slice(const Node *n) {
  DType i0 = in_type(n, 0);
  if (n->opt.offset)
    return 8;
  if (i0 == DT_U32)
    return 7;
  if (n->opt.ellipsis_mask || n->opt.new_axis_mask)
    return 6;
  if (i0 == DT_STRING)
    return 5;
  if (in_rank(n, 0) > 4)
    return 4;
  if (i0 == DT_BOOL)
    return 3;
  return i0 == DT_I8 ? 2 : 1;
}

static int version_transpose_conv(const Node *n) {
  /* Inputs: output_shape, weights, input, bias. */
  DType x = in_type(n, 2), w = in_type(n, 1), o0 = out_type(n, 0);
  if (x == DT_I16 && w == DT_I8 && o0 == DT_I16 && n->opt.quantized_bias_type)
    return 5;
  if (n->opt.act != TFL_ACT_NONE)
    return 4;
  if (n->nin == 4 && n->in[3])
    return 3;
  return w == DT_I8 ? 2 : 1;
}

static int version_cast(const Node *n) {
  DType i = in_type(n, 0), o = out_type(n, 0);
#define EITHER(t) (i == (t) || o == (t))
  if (EITHER(DT_F64) || EITHER(DT_F16))
    return 5;
  if (EITHER(DT_U16))
    return 4;
  if (EITHER(DT_I8))
    return 3;
  if (EITHER(DT_U32))
    return 2;
#undef EITHER
  return 1;
}

int tfl_op_version(const Graph *g, const Node *n) {
  (void)g;
  if (n->version > 0)
    return n->version;
  DType i0 = in_type(n, 0), o0 = out_type(n, 0);
  switch (n->op) {
  case TFL_CONV_2D:
    return version_conv(n);
  case TFL_DEPTHWISE_CONV_2D:
    return version_depthwise(n);
  case TFL_FULLY_CONNECTED:
    return version_fc(n);
  case TFL_MUL:
    return version_mul(n);
  case TFL_ADD:
    return version_add(n);
  case TFL_SUB:
    return version_sub(n);
  case TFL_TRANSPOSE:
    return version_transpose(n);
  case TFL_STRIDED_SLICE:
    return version_strided_slice(n);
  case TFL_TRANSPOSE_CONV:
    return version_transpose_conv(n);
  case TFL_CAST:
    return version_cast(n);
  case TFL_GATHER:
    if (in_type(n, 1) == DT_I16)
      return 6;
    if (n->opt.batch_dims != 0)
      return 5;
    if (i0 == DT_I16)
      return 4;
    if (i0 == DT_BOOL)
      return 3;
    return i0 == DT_I8 ? 2 : 1;
  case TFL_SIGN:
    return i0 == DT_I32 ? 2 : 1;
  case TFL_MAX_POOL_2D:
  case TFL_AVERAGE_POOL_2D:
  case TFL_TANH:
  case TFL_LOGISTIC:
    if (i0 == DT_I16 && o0 == DT_I16)
      return 3;
    return i0 == DT_I8 ? 2 : 1;
  case TFL_SPLIT: /* input 0 is the axis */
    if (in_type(n, 1) == DT_I16)
      return 4;
    if (in_type(n, 1) == DT_I32)
      return 3;
    return in_type(n, 1) == DT_I8 ? 2 : 1;
  case TFL_SLICE:
    if (i0 == DT_U32)
      return 6;
    if (in_rank(n, 0) > 4)
      return 5;
    if (i0 == DT_I16)
      return 4;
    if (i0 == DT_STRING)
      return 3;
    return i0 == DT_I8 ? 2 : 1;
  case TFL_UNPACK:
    if (i0 == DT_I8 || i0 == DT_U8)
      return 2;
    if (i0 == DT_BOOL)
      return 3;
    if (i0 == DT_I16 && o0 == DT_I16)
      return 4;
    return i0 == DT_F16 ? 5 : 1;
  case TFL_DEQUANTIZE:
    if (i0 == DT_I16 || i0 == DT_F16)
      return 3;
    if (i0 == DT_I8)
      return quantized(n->in[0]) && n->in[0]->quant->n > 1 ? 5 : 2;
    return 1;
  case TFL_QUANTIZE:
    if (n->nout > 0 && quantized(n->out[0]) && n->out[0]->quant->n > 1)
      return 3;
    return o0 == DT_I16 ? 2 : 1;
  case TFL_FLOOR_DIV:
    if (i0 == DT_I16 || i0 == DT_I8)
      return 3;
    return i0 == DT_F32 ? 2 : 1;
  case TFL_FLOOR_MOD:
    return i0 == DT_I16 || i0 == DT_I8 ? 2 : 1;
  case TFL_L2_NORMALIZATION:
    return o0 == DT_I8 ? 2 : 1;
  case TFL_ABS:
    if (i0 == DT_I32)
      return 5;
    if (i0 == DT_I16)
      return quantized(n->in[0]) ? 3 : 4;
    return i0 == DT_I8 || i0 == DT_U8 ? 2 : 1;
  case TFL_RELU:
    if (i0 == DT_I16)
      return 3;
    return i0 == DT_I8 || i0 == DT_U8 ? 2 : 1;
  case TFL_RESIZE_BILINEAR:
    if (i0 == DT_I16)
      return 4;
    if (n->opt.half_pixel_centers)
      return 3;
    return i0 == DT_I8 ? 2 : 1;
  case TFL_RESIZE_NEAREST_NEIGHBOR:
    if (i0 == DT_I16)
      return 4;
    if (n->opt.half_pixel_centers || n->opt.align_corners)
      return 3;
    return i0 == DT_I8 ? 2 : 1;
  case TFL_MAXIMUM:
  case TFL_MINIMUM:
    if (i0 == DT_I16 && o0 == DT_I16)
      return 4;
    if (need_broadcast(n) && max_in_rank(n) > 4)
      return 3;
    return i0 == DT_I8 ? 2 : 1;
  case TFL_PACK:
    if (i0 == DT_I8)
      return 2;
    if (i0 == DT_I16 && o0 == DT_I16)
      return 3;
    return i0 == DT_U32 ? 4 : 1;
  case TFL_TILE:
    if (i0 == DT_I8)
      return 3;
    return i0 == DT_STRING ? 2 : 1;
  case TFL_SQUEEZE:
    return i0 == DT_STRING ? 2 : 1;
  case TFL_DIV:
    return need_broadcast(n) && max_in_rank(n) > 4 ? 2 : 1;
  case TFL_EQUAL:
    if (i0 == DT_I16)
      return 5;
    if (i0 == DT_STRING)
      return 3;
    return i0 == DT_I8 ? 2 : 1;
  case TFL_NOT_EQUAL:
    if (i0 == DT_I16)
      return 4;
    if (i0 == DT_STRING)
      return 3;
    return i0 == DT_I8 ? 2 : 1;
  case TFL_LEAKY_RELU:
    return i0 == DT_I16 ? 2 : 1;
  case TFL_BATCH_MATMUL:
    if (i0 == DT_I16)
      return 3;
    if (i0 == DT_I8)
      return 2;
    if (i0 == DT_F32 && in_type(n, 1) == DT_I8 && o0 == DT_F32 &&
        n->opt.asymmetric_quantize_inputs)
      return 4;
    return 1;
  case TFL_PAD:
  case TFL_PADV2:
    if (i0 == DT_BOOL)
      return 5;
    if (in_rank(n, 0) > 4)
      return 4;
    return by_int_type(i0, 3, 2);
  case TFL_CONCATENATION:
    if (i0 == DT_U32)
      return 4;
    return by_int_type(i0, 3, 2);
  case TFL_SOFTMAX:
  case TFL_MEAN:
  case TFL_MIRROR_PAD:
  case TFL_REDUCE_MAX:
  case TFL_REDUCE_MIN:
  case TFL_RELU6:
  case TFL_RSQRT:
  case TFL_LESS:
  case TFL_GREATER_EQUAL:
    return by_int_type(i0, 3, 2);
  case TFL_ARG_MAX:
  case TFL_ARG_MIN:
    if (i0 == DT_BOOL)
      return 3;
    return i0 == DT_I8 ? 2 : 1;
  case TFL_SELECT: {
    if (i0 == DT_U32)
      return 4;
    for (int i = 0; i < 3; i++)
      if (in_rank(n, i) == 5)
        return 3;
    return i0 == DT_I8 ? 2 : 1;
  }
  case TFL_SELECT_V2:
    return i0 == DT_U32 ? 2 : 1;
  case TFL_SPACE_TO_DEPTH:
  case TFL_SPLIT_V:
  case TFL_SUM:
  case TFL_LOG_SOFTMAX:
  case TFL_GREATER:
  case TFL_LESS_EQUAL:
  case TFL_SQUARED_DIFFERENCE:
  case TFL_DEPTH_TO_SPACE:
    return i0 == DT_I8 ? 2 : 1;
  case TFL_EXP:
  case TFL_LOG:
  case TFL_REDUCE_PROD:
  case TFL_SQRT:
    return i0 == DT_I8 || i0 == DT_I16 ? 2 : 1;
  case TFL_BROADCAST_TO:
    /* Version 1 was withdrawn when the op code changed. */
    return i0 == DT_I8 || i0 == DT_I16 ? 3 : 2;
  case TFL_GELU:
    return i0 == DT_I8 || i0 == DT_U8 ? 2 : 1;
  default:
    return 1;
  }
}

/* ---- min_runtime_version (runtime_version.cc) ------------------------- */

/* The TFLite release that first ran each version of an operator, version
 * 1 first.  Ops missing here (or versions past the list) do not raise the
 * minimum, as in TF. */
static const struct {
  int op;
  const char *versions;
} runtime_table[] = {
    {TFL_ADD, "1.5.0 1.14.0 2.4.0 2.6.0 2.13.0 2.23.0"},
    {TFL_AVERAGE_POOL_2D, "1.5.0 1.14.0 2.3.0"},
    {TFL_BATCH_MATMUL, "2.3.0 2.3.0 2.4.0 2.5.0"},
    {TFL_BROADCAST_TO, "2.5.0 2.5.0 2.5.0"},
    {TFL_CAST, "1.5.0 2.7.0 2.8.0 2.9.0 2.12.0 2.15.0 2.17.0 2.21.0"},
    {TFL_CONCATENATION, "1.5.0 1.14.0 2.3.0 2.14.0 2.21.0"},
    {TFL_CONV_2D, "1.5.0 1.14.0 1.14.0 2.3.0 2.4.0 2.9.0 2.11.0 2.15.0"},
    {TFL_CONV_3D, "2.5.0"},
    {TFL_CONV_3D_TRANSPOSE, "2.5.0"},
    {TFL_CUMSUM, "2.4.0"},
    {TFL_DEPTHWISE_CONV_2D, "1.5.0 1.12.0 1.14.0 2.2.0 2.3.0 2.3.0 2.11.0"},
    {TFL_DEPTH_TO_SPACE, "2.1.0 2.5.0"},
    {TFL_DEQUANTIZE, "1.13.1 1.14.0 1.15.0 2.2.0 2.7.0 2.18.0 2.21.0 2.22.0"},
    {TFL_DIV, "1.6.0 2.3.0"},
    {TFL_ELU, "1.14.0"},
    {TFL_EQUAL, "1.14.0 1.14.0 2.3.0 2.13.0 2.21.0"},
    {TFL_EXP, "1.7.0 2.12.0"},
    {TFL_FLOOR, "1.9.0"},
    {TFL_FLOOR_DIV, "1.14.0 1.14.0 2.13.0"},
    {TFL_FLOOR_MOD, "1.13.0 2.13.0"},
    {TFL_FULLY_CONNECTED, "1.5.0 1.10.0 1.14.0 1.14.0 2.0.0 2.1.0 2.3.0 2.3.0 "
                          "2.3.0 2.11.0 2.15.0 2.17.0 2.18.0 2.21.0"},
    {TFL_GATHER, "1.6.0 1.14.0 1.15.0 2.4.0 2.5.0 2.13.0 2.15.0"},
    {TFL_GELU, "2.9.0 2.9.0"},
    {TFL_GREATER, "1.14.0 1.14.0"},
    {TFL_GREATER_EQUAL, "1.14.0 1.14.0 2.13.0"},
    {TFL_HARD_SWISH, "1.15.0"},
    {TFL_L2_NORMALIZATION, "1.5.0 1.14.0"},
    {TFL_LEAKY_RELU, "1.13.1 2.3.0"},
    {TFL_LESS, "1.14.0 1.14.0 2.13.0"},
    {TFL_LESS_EQUAL, "1.14.0 1.14.0"},
    {TFL_LOG, "1.14.0 2.15.0"},
    {TFL_LOCAL_RESPONSE_NORMALIZATION, "1.5.0"},
    {TFL_LOGICAL_AND, "1.11.0"},
    {TFL_LOGICAL_NOT, "1.11.0"},
    {TFL_LOGICAL_OR, "1.11.0"},
    {TFL_LOGISTIC, "1.14.0 1.14.0 2.3.0"},
    {TFL_LOG_SOFTMAX, "1.14.0 1.14.0"},
    {TFL_MAXIMUM, "1.14.0 1.14.0 2.3.0 2.3.0"},
    {TFL_MAX_POOL_2D, "1.5.0 1.14.0 2.3.0"},
    {TFL_MEAN, "1.6.0 1.14.0 2.4.0"},
    {TFL_MINIMUM, "1.14.0 1.14.0 2.3.0 2.3.0"},
    {TFL_MIRROR_PAD, "1.13.1 2.3.0 2.12.0"},
    {TFL_MUL, "1.5.0 1.14.0 1.15.0 2.3.0 2.6.0 2.11.0 2.13.0 2.23.0"},
    {TFL_NEG, "1.9.0"},
    {TFL_NOT_EQUAL, "1.14.0 1.14.0 2.3.0 2.21.0"},
    {TFL_PACK, "1.11.0 1.14.0 2.3.0 2.13.0"},
    {TFL_PAD, "1.5.0 1.14.0 2.4.0 2.6.0 2.20.0"},
    {TFL_PADV2, "1.9.0 1.14.0 2.4.0 2.6.0 2.20.0"},
    {TFL_POW, "1.10.0"},
    {TFL_PRELU, "1.8.0"},
    {TFL_QUANTIZE, "1.14.0 1.15.0 2.7.0 2.21.0 2.21.0 2.21.0"},
    {TFL_REDUCE_MAX, "1.11.0 1.14.0 2.5.0"},
    {TFL_REDUCE_MIN, "1.11.0 1.14.0 2.5.0"},
    {TFL_REDUCE_PROD, "1.11.0 2.6.0"},
    {TFL_RELU, "1.5.0 2.1.0 2.5.0"},
    {TFL_RELU6, "1.5.0 1.14.0 2.5.0"},
    {TFL_RELU_0_TO_1, "2.10.0"},
    {TFL_RELU_N1_TO_1, "1.5.0"},
    {TFL_RESHAPE, "1.5.0"},
    {TFL_RESIZE_BILINEAR, "1.7.0 1.14.0 2.2.0 2.5.0"},
    {TFL_RESIZE_NEAREST_NEIGHBOR, "1.13.1 1.14.0 2.3.0 2.4.0"},
    {TFL_ROUND, "1.14.0"},
    {TFL_RSQRT, "1.10.0 2.5.0 2.15.0"},
    {TFL_SELECT, "1.14.0 1.14.0 2.12.0 2.12.0"},
    {TFL_SELECT_V2, "2.2.0 2.12.0"},
    {TFL_SIGN, "2.11.0 2.12.0"},
    {TFL_SIN, "1.9.0"},
    {TFL_SLICE, "1.14.0 1.14.0 1.14.0 2.4.0 2.5.0 2.14.0 2.21.0"},
    {TFL_SOFTMAX, "1.5.0 1.14.0 2.3.0"},
    {TFL_SPACE_TO_DEPTH, "1.5.0 1.14.0"},
    {TFL_SPLIT, "1.5.0 1.14.0 1.14.0 2.3.0"},
    {TFL_SPLIT_V, "1.13.1 2.3.0"},
    {TFL_SQRT, "1.10.0 2.21.0"},
    {TFL_SQUARE, "1.12.0"},
    {TFL_SQUARED_DIFFERENCE, "1.13.1 2.5.0"},
    {TFL_SQUEEZE, "1.6.0 2.5.0"},
    {TFL_STRIDED_SLICE, "1.6.0 1.14.0 2.1.0 2.2.0 2.5.0 2.6.0 2.14.0 2.14.0"},
    {TFL_SUB, "1.6.0 1.14.0 2.3.0 2.4.0 2.4.0"},
    {TFL_SUM, "1.10.0 1.15.0"},
    {TFL_TANH, "1.14.0 1.14.0 2.3.0"},
    {TFL_TILE, "1.10.1 2.2.0 2.8.0"},
    {TFL_TOPK_V2, "1.7.0 1.14.0 2.13.0"},
    {TFL_TRANSPOSE, "1.6.0 1.14.0 1.15.0 2.3.0 2.4.0 2.12.0 2.14.4 2.22.0"},
    {TFL_TRANSPOSE_CONV, "1.9.0 2.2.0 2.3.0 2.13.0 2.15.0"},
    {TFL_UNPACK, "1.11.0 1.14.0 2.2.0 2.3.0 2.22.0"},
    {TFL_ABS, "1.13.0 2.4.0 2.5.0 2.6.0 2.12.0"},
    {TFL_ARG_MAX, "1.9.0 1.14.0 2.9.0"},
    {TFL_ARG_MIN, "1.9.0 1.14.0 2.9.0"},
    {TFL_CEIL, "1.14.0"},
    {TFL_COS, "1.14.0"},
    {TFL_EXPAND_DIMS, "1.10.0"},
};

/* The version-th word of a space-separated list into out; false if none. */
static bool nth_word(const char *list, int version, char *out, size_t n) {
  const char *p = list;
  for (int i = 1; *p; i++) {
    size_t len = strcspn(p, " ");
    if (i == version) {
      if (len >= n)
        return false;
      memcpy(out, p, len);
      out[len] = 0;
      return true;
    }
    p += len;
    p += strspn(p, " ");
  }
  return false;
}

/* a < b for dotted version strings. */
static bool version_less(const char *a, const char *b) {
  while (*a || *b) {
    char *ea, *eb;
    long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
    if (x != y)
      return x < y;
    a = ea + (*ea == '.');
    b = eb + (*eb == '.');
  }
  return false;
}

static void min_runtime(Writer *w) {
  char best[16] = "1.5.0";
  for (int i = 0; i < w->nopcodes; i++) {
    int op = tfl_op_from_code(w->opcodes[i].code);
    for (size_t k = 0; k < O2L_ARRAY_LEN(runtime_table); k++) {
      char v[16];
      if (runtime_table[k].op == op &&
          nth_word(runtime_table[k].versions, w->opcodes[i].version, v, sizeof v) &&
          version_less(best, v))
        memcpy(best, v, sizeof best);
    }
  }
  memset(w->runtime, 0, sizeof w->runtime);
  memcpy(w->runtime, best, strlen(best));
}

/* ---- checking and indexing ------------------------------------------- */

static const char *vname(const Value *v) {
  return v->name && v->name[0] ? v->name : "(unnamed)";
}

static const char *nname(const Node *n) {
  return n->name && n->name[0] ? n->name : "(unnamed)";
}

static Status check_value(Writer *w, const Value *v) {
  Ctx *cx = w->cx;
  const Graph *g = w->g;
  if (v->id < 0 || v->id >= g->nvalues || g->values[v->id] != v)
    return ctx_err(cx, O2L_ERR_INTERNAL,
                   "tensor '%s' is not part of the graph being written", vname(v));
  if (v->rank < 0)
    return ctx_err(cx, O2L_ERR_INVALID,
                   "tensor '%s' has an unknown shape; TFLite needs static shapes",
                   vname(v));
  for (int i = 0; i < v->rank; i++)
    if (v->dims[i] < 0 || v->dims[i] > INT32_MAX)
      return ctx_err(cx, O2L_ERR_INVALID,
                     "tensor '%s' has dimension %d = %lld; TFLite needs static "
                     "shapes that fit int32",
                     vname(v), i, (long long)v->dims[i]);
  if (tfl_type_from_dtype(v->dtype) < 0)
    return ctx_err(cx, O2L_ERR_UNSUPPORTED, "tensor '%s' has type %s, which TFLite lacks",
                   vname(v), dtype_name(v->dtype));
  if (v->data && dtype_size(v->dtype) > 0) {
    int64_t numel;
    if (!dims_numel(v->rank, v->dims, &numel) ||
        (uint64_t)numel * dtype_size(v->dtype) != v->nbytes) {
      char buf[128];
      return ctx_err(cx, O2L_ERR_INTERNAL,
                     "constant tensor '%s' holds %zu bytes, but %s %s needs %lld",
                     vname(v), v->nbytes, value_shape_str(v, buf, sizeof buf),
                     dtype_name(v->dtype),
                     (long long)((uint64_t)numel * dtype_size(v->dtype)));
    }
  }
  const Quant *q = v->quant;
  if (q && q->n > 0) {
    if (!q->scale || !q->zp)
      return ctx_err(cx, O2L_ERR_INTERNAL, "tensor '%s': quantization without scales",
                     vname(v));
    if (q->n > 1 && (q->axis < 0 || q->axis >= v->rank || v->dims[q->axis] != q->n))
      return ctx_err(cx, O2L_ERR_INTERNAL,
                     "tensor '%s': %d scales along axis %d do not match its shape",
                     vname(v), q->n, q->axis);
  }
  return O2L_OK;
}

static Status mark_value(Writer *w, Value *v) {
  if (!v)
    return O2L_OK;
  TRY(check_value(w, v));
  if (w->tindex[v->id] < 0) {
    w->tindex[v->id] = w->ntensors;
    w->tensors[w->ntensors++] = v;
  }
  return O2L_OK;
}

static void *scratch(Writer *w, size_t n, size_t elem) {
  void *p = arena_alloc(w->cx->arena, (n ? n : 1) * elem, 8);
  if (!p && w->st == O2L_OK)
    w->st = ctx_oom(w->cx, "writing the model");
  return p;
}

/* Tensors in first-use order: graph inputs, then node by node, then
 * outputs, so the file reads like the graph. */
static Status index_tensors(Writer *w) {
  const Graph *g = w->g;
  w->tindex = scratch(w, (size_t)g->nvalues, sizeof(int));
  w->tensors = scratch(w, (size_t)g->nvalues, sizeof(Value *));
  if (!w->tindex || !w->tensors)
    return ctx_oom(w->cx, "writing the model");
  for (int i = 0; i < g->nvalues; i++)
    w->tindex[i] = -1;
  for (int i = 0; i < g->ninputs; i++)
    TRY(mark_value(w, g->inputs[i]));
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    if (n->dead)
      continue;
    if (n->op < 0 || n->op >= TFL_OP_COUNT)
      return ctx_err(w->cx, O2L_ERR_INTERNAL,
                     "node '%s' has operator %d, which is not a TFLite builtin we emit",
                     nname(n), n->op);
    for (int j = 0; j < n->nin; j++)
      TRY(mark_value(w, n->in[j]));
    for (int j = 0; j < n->nout; j++)
      TRY(mark_value(w, n->out[j]));
  }
  for (int i = 0; i < g->noutputs; i++)
    TRY(mark_value(w, g->outputs[i]));
  return O2L_OK;
}

/* One buffer per distinct (data, nbytes) of the constants; buffer 0 is
 * the empty sentinel every activation uses, the last one holds
 * min_runtime_version. */
static Status assign_buffers(Writer *w) {
  int n = w->ntensors;
  w->tbuffer = scratch(w, (size_t)n, sizeof(int));
  w->bufv = scratch(w, (size_t)n + 2, sizeof(Value *));
  size_t cap = 16;
  while (cap < 2 * (size_t)n)
    cap *= 2;
  int *slot = scratch(w, cap, sizeof(int)); /* buffer index, 0 = empty */
  if (!w->tbuffer || !w->bufv || !slot)
    return ctx_oom(w->cx, "writing the model");
  w->nbuffers = 1;
  for (int i = 0; i < n; i++) {
    const Value *v = w->tensors[i];
    if (!v->data) {
      w->tbuffer[i] = 0;
      continue;
    }
    size_t h = ((uintptr_t)v->data >> 4) * 0x9E3779B97F4A7C15ull ^ v->nbytes;
    size_t k = h & (cap - 1);
    while (slot[k]) {
      const Value *o = w->bufv[slot[k]];
      if (o->data == v->data && o->nbytes == v->nbytes)
        break;
      k = (k + 1) & (cap - 1);
    }
    if (!slot[k]) {
      slot[k] = w->nbuffers;
      w->bufv[w->nbuffers++] = v;
    }
    w->tbuffer[i] = slot[k];
  }
  w->meta_buffer = w->nbuffers++;
  return O2L_OK;
}

static Status assign_opcodes(Writer *w) {
  const Graph *g = w->g;
  w->opcodes = scratch(w, (size_t)g->nnodes, sizeof(OpCode));
  w->node_opcode = scratch(w, (size_t)g->nnodes, sizeof(int));
  if (!w->opcodes || !w->node_opcode)
    return ctx_oom(w->cx, "writing the model");
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    if (n->dead)
      continue;
    OpCode oc = {tfl_op_code(n->op), tfl_op_version(g, n)};
    int k = 0;
    while (k < w->nopcodes &&
           (w->opcodes[k].code != oc.code || w->opcodes[k].version != oc.version))
      k++;
    if (k == w->nopcodes)
      w->opcodes[w->nopcodes++] = oc;
    w->node_opcode[i] = k;
  }
  return O2L_OK;
}

/* ---- tables ----------------------------------------------------------- */

/* The ref of an identical vector written before, or 0. */
static FbRef shared_find(const Writer *w, const void *data, size_t bytes,
                         size_t elem) {
  for (size_t i = 0; i < w->nshared; i++)
    if (w->shared[i].bytes == bytes && w->shared[i].elem == elem &&
        !memcmp(w->shared[i].data, data, bytes))
      return w->shared[i].ref;
  return 0;
}

/* `data` must outlive the writer (graph or arena memory). */
static void shared_add(Writer *w, const void *data, size_t bytes, size_t elem,
                       FbRef ref) {
  if (!ref)
    return;
  if (w->nshared == w->cshared) {
    size_t ncap = w->cshared ? w->cshared * 2 : 64;
    struct SharedVec *p = xrealloc(w->shared, sizeof *p * ncap);
    if (!p)
      return; /* sharing is only a saving */
    w->shared = p;
    w->cshared = ncap;
  }
  w->shared[w->nshared++] = (struct SharedVec){data, bytes, elem, ref};
}

static FbRef shared_f32(Writer *w, const float *v, size_t n) {
  FbRef r = shared_find(w, v, n * sizeof *v, sizeof *v);
  if (!r) {
    r = fb_vec_f32(&w->B, v, n);
    shared_add(w, v, n * sizeof *v, sizeof *v, r);
  }
  return r;
}

static FbRef shared_i64(Writer *w, const int64_t *v, size_t n) {
  FbRef r = shared_find(w, v, n * sizeof *v, sizeof *v);
  if (!r) {
    r = fb_vec_i64(&w->B, v, n);
    shared_add(w, v, n * sizeof *v, sizeof *v, r);
  }
  return r;
}

/* A tensor's shape; `v` may be on the stack, so a new one is kept in the
 * arena for later matches. */
static FbRef shared_i32(Writer *w, const int32_t *v, size_t n) {
  FbRef r = shared_find(w, v, n * sizeof *v, sizeof *v);
  if (!r) {
    r = fb_vec_i32(&w->B, v, n);
    int32_t *keep = n ? arena_alloc(w->cx->arena, n * sizeof *v, sizeof *v) : NULL;
    if (keep) {
      memcpy(keep, v, n * sizeof *v);
      shared_add(w, keep, n * sizeof *v, sizeof *v, r);
    }
  }
  return r;
}

/* Scale and zero point only: the calibrated min/max are informative, no
 * runtime (LiteRT, TFLite Micro, Vela) reads them once a scale is there,
 * and on a small model they cost 1% of the file; --report keeps them. */
static FbRef write_quant(Writer *w, const Value *v) {
  const Quant *q = v->quant;
  if (!q || q->n <= 0)
    return 0;
  FbBuilder *B = &w->B;
  FbRef scale = shared_f32(w, q->scale, (size_t)q->n);
  FbRef zp = shared_i64(w, q->zp, (size_t)q->n);
  fb_table_start(B);
  fb_add_ref(B, Q_SCALE, scale);
  fb_add_ref(B, Q_ZERO_POINT, zp);
  if (q->axis)
    fb_add_i32(B, Q_DIM, q->axis);
  return fb_table_end(B);
}

static FbRef write_tensor(Writer *w, int t) {
  FbBuilder *B = &w->B;
  const Value *v = w->tensors[t];
  int32_t shape[O2L_MAX_RANK];
  for (int i = 0; i < v->rank; i++)
    shape[i] = (int32_t)v->dims[i];
  FbRef shape_ref = shared_i32(w, shape, (size_t)v->rank);
  FbRef name = fb_string(B, v->name ? v->name : "");
  FbRef quant = write_quant(w, v);
  fb_table_start(B);
  fb_add_ref(B, T_SHAPE, shape_ref);
  fb_add_i8(B, T_TYPE, (int8_t)tfl_type_from_dtype(v->dtype));
  if (w->tbuffer[t])
    fb_add_u32(B, T_BUFFER, (uint32_t)w->tbuffer[t]);
  fb_add_ref(B, T_NAME, name);
  fb_add_ref(B, T_QUANT, quant);
  if (v->is_variable)
    fb_add_bool(B, T_IS_VARIABLE, true);
  /* TF's exporter marks every ranked tensor; it is what tells a scalar
   * (rank 0) from a tensor of unknown rank. */
  fb_add_bool(B, T_HAS_RANK, true);
  return fb_table_end(B);
}

static int dil(int d) { return d ? d : 1; }

static int tensor_type_of(const Value *v, int fallback) {
  return v ? tfl_type_from_dtype(v->dtype) : fallback;
}

/* The BuiltinOptions table of node n (tflite-format.md §4), or 0 with an
 * error recorded when the options type has no writer here. */
static FbRef write_options(Writer *w, const Node *n, int type) {
  FbBuilder *B = &w->B;
  const TflOptions *o = &n->opt;
  FbRef squeeze = 0;
  if (type == 30 && o->n_squeeze_dims > 0) {
    int32_t dims[8];
    int nd = o->n_squeeze_dims > 8 ? 8 : o->n_squeeze_dims;
    for (int i = 0; i < nd; i++)
      dims[i] = o->squeeze_dims[i];
    squeeze = fb_vec_i32(B, dims, (size_t)nd);
  }
  fb_table_start(B);
  switch (type) {
  case 1: /* Conv2DOptions */
    fb_add_i8(B, 0, (int8_t)o->padding);
    fb_add_i32(B, 1, o->stride_w);
    fb_add_i32(B, 2, o->stride_h);
    fb_add_i8(B, 3, (int8_t)o->act);
    fb_add_i32(B, 4, dil(o->dilation_w));
    fb_add_i32(B, 5, dil(o->dilation_h));
    if (o->quantized_bias_type)
      fb_add_i8(B, 6, (int8_t)o->quantized_bias_type);
    break;
  case 2: /* DepthwiseConv2DOptions */
    fb_add_i8(B, 0, (int8_t)o->padding);
    fb_add_i32(B, 1, o->stride_w);
    fb_add_i32(B, 2, o->stride_h);
    fb_add_i32(B, 3, o->depth_multiplier);
    fb_add_i8(B, 4, (int8_t)o->act);
    fb_add_i32(B, 5, dil(o->dilation_w));
    fb_add_i32(B, 6, dil(o->dilation_h));
    break;
  case 5: /* Pool2DOptions */
    fb_add_i8(B, 0, (int8_t)o->padding);
    fb_add_i32(B, 1, o->stride_w);
    fb_add_i32(B, 2, o->stride_h);
    fb_add_i32(B, 3, o->filter_w);
    fb_add_i32(B, 4, o->filter_h);
    fb_add_i8(B, 5, (int8_t)o->act);
    break;
  case 8: /* FullyConnectedOptions */
    fb_add_i8(B, 0, (int8_t)o->act);
    if (o->keep_num_dims)
      fb_add_bool(B, 2, true);
    if (o->asymmetric_quantize_inputs)
      fb_add_bool(B, 3, true);
    if (o->quantized_bias_type)
      fb_add_i8(B, 4, (int8_t)o->quantized_bias_type);
    break;
  case 9: /* SoftmaxOptions: the schema default beta is 0, never wanted */
    fb_add_f32(B, 0, o->beta);
    break;
  case 10: /* ConcatenationOptions */
    fb_add_i32(B, 0, o->axis);
    fb_add_i8(B, 1, (int8_t)o->act);
    break;
  case 11: /* AddOptions */
  case 28: /* SubOptions */
    fb_add_i8(B, 0, (int8_t)o->act);
    if (o->pot_scale_int16_false)
      fb_add_bool(B, 1, false); /* schema default is true */
    break;
  case 12: /* L2NormOptions */
  case 21: /* MulOptions */
  case 29: /* DivOptions */
    fb_add_i8(B, 0, (int8_t)o->act);
    break;
  case 15: /* ResizeBilinearOptions (ids 0, 1 are deprecated) */
    fb_add_bool(B, 2, o->align_corners);
    fb_add_bool(B, 3, o->half_pixel_centers);
    break;
  case 74: /* ResizeNearestNeighborOptions */
    fb_add_bool(B, 0, o->align_corners);
    fb_add_bool(B, 1, o->half_pixel_centers);
    break;
  case 19: /* SpaceToDepthOptions */
  case 94: /* DepthToSpaceOptions */
    fb_add_i32(B, 0, o->block_size);
    break;
  case 23: /* GatherOptions */
    fb_add_i32(B, 0, o->axis);
    if (o->batch_dims)
      fb_add_i32(B, 1, o->batch_dims);
    break;
  case 27: /* ReducerOptions */
    fb_add_bool(B, 0, o->keep_dims);
    break;
  case 30: /* SqueezeOptions: no list = squeeze every 1-dim */
    fb_add_ref(B, 0, squeeze);
    break;
  case 32: /* StridedSliceOptions */
    fb_add_i32(B, 0, o->begin_mask);
    fb_add_i32(B, 1, o->end_mask);
    fb_add_i32(B, 2, o->ellipsis_mask);
    fb_add_i32(B, 3, o->new_axis_mask);
    fb_add_i32(B, 4, o->shrink_axis_mask);
    if (o->offset)
      fb_add_bool(B, 5, true);
    break;
  case 35: /* SplitOptions */
  case 79: /* SplitVOptions */
    fb_add_i32(B, 0, o->num_splits ? o->num_splits : n->nout);
    break;
  case 37: /* CastOptions: the tensors' own types are authoritative */
    fb_add_i8(B, 0, (int8_t)tensor_type_of(n->nin ? n->in[0] : NULL, o->in_type));
    fb_add_i8(B, 1, (int8_t)tensor_type_of(n->nout ? n->out[0] : NULL, o->out_type));
    break;
  case 40: /* ArgMaxOptions */
  case 57: /* ArgMinOptions */
    fb_add_i8(B, 0, (int8_t)tensor_type_of(n->nout ? n->out[0] : NULL, o->out_type));
    break;
  case 49: /* TransposeConvOptions */
    fb_add_i8(B, 0, (int8_t)o->padding);
    fb_add_i32(B, 1, o->stride_w);
    fb_add_i32(B, 2, o->stride_h);
    fb_add_i8(B, 3, (int8_t)o->act);
    if (o->quantized_bias_type)
      fb_add_i8(B, 4, (int8_t)o->quantized_bias_type);
    break;
  case 59: /* PackOptions */
    fb_add_i32(B, 0, o->values_count ? o->values_count : n->nin);
    fb_add_i32(B, 1, o->axis);
    break;
  case 64: /* UnpackOptions */
    fb_add_i32(B, 0, o->num ? o->num : n->nout);
    fb_add_i32(B, 1, o->axis);
    break;
  case 75: /* LeakyReluOptions */
    fb_add_f32(B, 0, o->alpha);
    break;
  case 77: /* MirrorPadOptions */
    fb_add_i8(B, 0, (int8_t)o->mirror_mode);
    break;
  case 101: /* BatchMatMulOptions */
    fb_add_bool(B, 0, o->adj_x);
    fb_add_bool(B, 1, o->adj_y);
    if (o->asymmetric_quantize_inputs)
      fb_add_bool(B, 2, true);
    break;
  case 102: /* CumsumOptions */
    fb_add_bool(B, 0, o->exclusive);
    fb_add_bool(B, 1, o->reverse);
    break;
  case 106: /* Conv3DOptions */
    fb_add_i8(B, 0, (int8_t)o->padding);
    fb_add_i32(B, 1, o->stride_d);
    fb_add_i32(B, 2, o->stride_w);
    fb_add_i32(B, 3, o->stride_h);
    fb_add_i8(B, 4, (int8_t)o->act);
    fb_add_i32(B, 5, dil(o->dilation_d));
    fb_add_i32(B, 6, dil(o->dilation_w));
    fb_add_i32(B, 7, dil(o->dilation_h));
    break;
  case 13: /* LocalResponseNormalizationOptions */
    fb_add_i32(B, 0, o->radius);
    fb_add_f32(B, 1, o->bias);
    fb_add_f32(B, 2, o->alpha);
    fb_add_f32(B, 3, o->beta);
    break;
  case 116: /* GeluOptions */
    fb_add_bool(B, 0, o->approximate);
    break;
  /* Options tables without fields, written empty as TF does. */
  case 22: case 26: case 33: case 34: case 36: case 39: case 41: case 42:
  case 43: case 44: case 45: case 46: case 47: case 48: case 51: case 52:
  case 53: case 54: case 56: case 60: case 62: case 63: case 65: case 66:
  case 72: case 76: case 78: case 84: case 98:
    break;
  default:
    fb_table_end(B);
    w->st = ctx_err(w->cx, O2L_ERR_INTERNAL,
            "%s node '%s': the writer has no table for BuiltinOptions type %d",
            tfl_op_name(n->op), nname(n), type);
    return 0;
  }
  return fb_table_end(B);
}

static int32_t tensor_ref(const Writer *w, const Value *v) {
  return v ? w->tindex[v->id] : -1;
}

static FbRef write_operator(Writer *w, int i) {
  FbBuilder *B = &w->B;
  const Node *n = w->g->nodes[i];
  int32_t *io = scratch(w, (size_t)(n->nin > n->nout ? n->nin : n->nout), 4);
  if (!io)
    return 0;
  for (int j = 0; j < n->nin; j++)
    io[j] = tensor_ref(w, n->in[j]);
  FbRef ins = fb_vec_i32(B, io, (size_t)n->nin);
  for (int j = 0; j < n->nout; j++)
    io[j] = tensor_ref(w, n->out[j]);
  FbRef outs = fb_vec_i32(B, io, (size_t)n->nout);
  int type = tfl_op_options_type(n->op);
  FbRef opts = 0;
  if (type > 0 && !(opts = write_options(w, n, type)))
    return 0;
  fb_table_start(B);
  fb_add_u32(B, OP_OPCODE, (uint32_t)w->node_opcode[i]);
  fb_add_ref(B, OP_INPUTS, ins);
  fb_add_ref(B, OP_OUTPUTS, outs);
  if (type > 0) {
    fb_add_u8(B, OP_OPTIONS_TYPE, (uint8_t)type);
    fb_add_ref(B, OP_OPTIONS, opts);
  }
  return fb_table_end(B);
}

static FbRef write_index_list(Writer *w, Value *const *v, int n) {
  int32_t *idx = scratch(w, (size_t)n, 4);
  if (!idx)
    return 0;
  for (int i = 0; i < n; i++)
    idx[i] = tensor_ref(w, v[i]);
  return fb_vec_i32(&w->B, idx, (size_t)n);
}

static FbRef write_subgraph(Writer *w) {
  FbBuilder *B = &w->B;
  const Graph *g = w->g;
  FbRef *refs = scratch(w, (size_t)(w->ntensors > g->nnodes ? w->ntensors : g->nnodes),
                        sizeof(FbRef));
  if (!refs)
    return 0;
  for (int t = 0; t < w->ntensors; t++)
    refs[t] = write_tensor(w, t);
  FbRef tensors = fb_vec_refs(B, refs, (size_t)w->ntensors);
  int nops = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i]->dead && !(refs[nops++] = write_operator(w, i)))
      return 0;
  FbRef ops = fb_vec_refs(B, refs, (size_t)nops);
  FbRef ins = write_index_list(w, g->inputs, g->ninputs);
  FbRef outs = write_index_list(w, g->outputs, g->noutputs);
  FbRef name = fb_string(B, "main");
  fb_table_start(B);
  fb_add_ref(B, SG_TENSORS, tensors);
  fb_add_ref(B, SG_INPUTS, ins);
  fb_add_ref(B, SG_OUTPUTS, outs);
  fb_add_ref(B, SG_OPERATORS, ops);
  fb_add_ref(B, SG_NAME, name);
  return fb_table_end(B);
}

static FbRef write_opcodes(Writer *w) {
  FbBuilder *B = &w->B;
  FbRef *refs = scratch(w, (size_t)w->nopcodes, sizeof(FbRef));
  if (!refs)
    return 0;
  for (int i = 0; i < w->nopcodes; i++) {
    int code = w->opcodes[i].code;
    fb_table_start(B);
    /* schema v3a: readers take max(builtin_code, deprecated_builtin_code). */
    fb_add_i8(B, OC_DEPRECATED_CODE,
              (int8_t)(code < PLACEHOLDER_FOR_GREATER_OP_CODES
                           ? code : PLACEHOLDER_FOR_GREATER_OP_CODES));
    fb_add_i32(B, OC_VERSION, w->opcodes[i].version);
    fb_add_i32(B, OC_BUILTIN_CODE, code);
    refs[i] = fb_table_end(B);
  }
  return fb_vec_refs(B, refs, (size_t)w->nopcodes);
}

static FbRef write_buffers(Writer *w) {
  FbBuilder *B = &w->B;
  FbRef *refs = scratch(w, (size_t)w->nbuffers, sizeof(FbRef));
  if (!refs)
    return 0;
  for (int i = 0; i < w->nbuffers; i++) {
    fb_table_start(B);
    if (i > 0)
      fb_add_ref(B, 0, w->bufdata[i]);
    refs[i] = fb_table_end(B);
  }
  return fb_vec_refs(B, refs, (size_t)w->nbuffers);
}

static FbRef write_metadata(Writer *w) {
  FbBuilder *B = &w->B;
  FbRef name = fb_string(B, "min_runtime_version");
  fb_table_start(B);
  fb_add_ref(B, 0, name);
  fb_add_u32(B, 1, (uint32_t)w->meta_buffer);
  FbRef m = fb_table_end(B);
  return fb_vec_refs(B, &m, 1);
}

static FbRef write_tensor_maps(Writer *w, Value *const *v, int n, const char *kind) {
  FbBuilder *B = &w->B;
  FbRef *refs = scratch(w, (size_t)n, sizeof(FbRef));
  if (!refs)
    return 0;
  for (int i = 0; i < n; i++) {
    char fallback[32];
    snprintf(fallback, sizeof fallback, "%s_%d", kind, i);
    FbRef name = fb_string(B, v[i]->name && v[i]->name[0] ? v[i]->name : fallback);
    fb_table_start(B);
    fb_add_ref(B, 0, name);
    fb_add_u32(B, 1, (uint32_t)tensor_ref(w, v[i]));
    refs[i] = fb_table_end(B);
  }
  return fb_vec_refs(B, refs, (size_t)n);
}

static FbRef write_signature(Writer *w) {
  FbBuilder *B = &w->B;
  FbRef ins = write_tensor_maps(w, w->g->inputs, w->g->ninputs, "input");
  FbRef outs = write_tensor_maps(w, w->g->outputs, w->g->noutputs, "output");
  FbRef key = fb_string(B, "serving_default");
  fb_table_start(B);
  fb_add_ref(B, 0, ins);
  fb_add_ref(B, 1, outs);
  fb_add_ref(B, 2, key);
  fb_add_u32(B, 4, 0);
  FbRef s = fb_table_end(B);
  return fb_vec_refs(B, &s, 1);
}

static Status build(Writer *w) {
  FbBuilder *B = &w->B;
  /* Constant data first: deferred vectors must precede everything else,
   * and pushing the last buffer first puts them in index order in the
   * file. */
  w->bufdata = scratch(w, (size_t)w->nbuffers, sizeof(FbRef));
  if (!w->bufdata)
    return ctx_oom(w->cx, "writing the model");
  w->bufdata[w->meta_buffer] =
      fb_vec_deferred(B, w->runtime, sizeof w->runtime, BUFFER_ALIGN);
  for (int i = w->meta_buffer - 1; i >= 1; i--)
    w->bufdata[i] =
        fb_vec_deferred(B, w->bufv[i]->data, w->bufv[i]->nbytes, BUFFER_ALIGN);
  FbRef subgraph = write_subgraph(w);
  if (w->st != O2L_OK)
    return w->st;
  FbRef subgraphs = fb_vec_refs(B, &subgraph, 1);
  FbRef opcodes = write_opcodes(w);
  FbRef buffers = write_buffers(w);
  FbRef desc = fb_string(B, "onnx2lite " O2L_VERSION);
  FbRef meta = write_metadata(w);
  FbRef sigs = write_signature(w);
  fb_table_start(B);
  fb_add_u32(B, MODEL_VERSION, SCHEMA_VERSION);
  fb_add_ref(B, MODEL_OPCODES, opcodes);
  fb_add_ref(B, MODEL_SUBGRAPHS, subgraphs);
  fb_add_ref(B, MODEL_DESCRIPTION, desc);
  fb_add_ref(B, MODEL_BUFFERS, buffers);
  fb_add_ref(B, MODEL_METADATA, meta);
  fb_add_ref(B, MODEL_SIGNATURES, sigs);
  FbRef model = fb_table_end(B);
  fb_finish(B, model, "TFL3");
  if (w->st != O2L_OK)
    return w->st;
  if (fb_error(B))
    return ctx_err(w->cx, strstr(fb_error(B), "memory") ? O2L_ERR_NOMEM
                                                      : O2L_ERR_UNSUPPORTED,
                   "writing the TFLite file: %s", fb_error(B));
  return O2L_OK;
}

/* ---- output ----------------------------------------------------------- */

static int file_write(void *user, const void *p, size_t n) {
  if (n == 0 || fwrite(p, 1, n, (FILE *)user) == n)
    return 0;
  return errno ? errno : EIO;
}

static Status save(Writer *w, const char *path) {
  Ctx *cx = w->cx;
  char *tmp = arena_printf(cx->arena, "%s.tmp.%ld", path, (long)getpid());
  if (!tmp)
    return ctx_oom(cx, "writing the model");
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return ctx_err(cx, O2L_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
  errno = 0;
  int rc = fb_output(&w->B, file_write, f);
  if (fclose(f) != 0 && !rc)
    rc = errno ? errno : EIO;
  if (rc) {
    remove(tmp);
    return ctx_err(cx, O2L_ERR_IO, "%s: write failed: %s", tmp, strerror(rc));
  }
  if (rename(tmp, path) != 0) {
    int e = errno;
    remove(tmp);
    return ctx_err(cx, O2L_ERR_IO, "%s: cannot rename from %s: %s", path, tmp,
                   strerror(e));
  }
  return O2L_OK;
}

Status tfl_write(Ctx *cx, const Graph *g, const char *path, size_t *bytes) {
  if (g->kind != GRAPH_TFL)
    return ctx_err(cx, O2L_ERR_INTERNAL, "tfl_write needs a TFLite graph");
  ArenaMark mark = arena_mark(cx->arena);
  Writer w = {.cx = cx, .g = g};
  fb_init(&w.B);
  Status st = index_tensors(&w);
  if (st == O2L_OK)
    st = assign_buffers(&w);
  if (st == O2L_OK)
    st = assign_opcodes(&w);
  if (st == O2L_OK) {
    min_runtime(&w);
    st = build(&w);
  }
  if (st == O2L_OK)
    st = save(&w, path);
  if (st == O2L_OK && bytes)
    *bytes = (size_t)fb_size(&w.B);
  fb_release(&w.B);
  xfree(w.shared);
  arena_reset(cx->arena, mark);
  return st;
}
