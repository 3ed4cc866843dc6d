/* qops.c - what quantization needs to know about each TFLite operator:
 * whether LiteRT has an integer kernel for it (int8, and int16 activations
 * with int8 weights), the role of each input (activation, weight, bias, or
 * a tensor that must share the output's parameters), and the operators
 * whose output parameters are fixed by the kernel.
 *
 * "Has an integer kernel" means: the TFLite runtime's builtin and reference
 * resolvers both run it (tflite-quantization.md §2, docs/tflite-facts.md,
 * and what tests/check_quant.py measures).  An operator without one stays
 * float between a DEQUANTIZE and a QUANTIZE.
 */
#include "quant/quant_impl.h"

enum { S8 = 1, S16 = 2 };
#define BOTH (S8 | S16)

/* Integer support per operator (0 = float only). */
static unsigned char support_of(int op) {
  switch (op) {
  case TFL_ADD: case TFL_SUB: case TFL_MUL:
  case TFL_CONV_2D: case TFL_DEPTHWISE_CONV_2D: case TFL_FULLY_CONNECTED:
  case TFL_TRANSPOSE_CONV: case TFL_BATCH_MATMUL:
  case TFL_AVERAGE_POOL_2D: case TFL_MAX_POOL_2D:
  case TFL_CONCATENATION: case TFL_RESHAPE: case TFL_SQUEEZE:
  case TFL_EXPAND_DIMS: case TFL_TRANSPOSE: case TFL_PAD: case TFL_PADV2:
  case TFL_SLICE: case TFL_STRIDED_SLICE: case TFL_GATHER: case TFL_SPLIT:
  case TFL_SPLIT_V: case TFL_PACK: case TFL_UNPACK:
  case TFL_SOFTMAX: case TFL_LOGISTIC: case TFL_TANH:
  case TFL_RELU: case TFL_RELU6: case TFL_LEAKY_RELU:
  case TFL_MEAN: case TFL_REDUCE_MAX: case TFL_REDUCE_MIN:
  case TFL_RESIZE_BILINEAR: case TFL_RESIZE_NEAREST_NEIGHBOR:
  case TFL_MAXIMUM: case TFL_MINIMUM: case TFL_ABS: case TFL_RSQRT:
  case TFL_EXP: case TFL_NEG: case TFL_TILE:
    return BOTH;
  case TFL_DEPTH_TO_SPACE: case TFL_SPACE_TO_DEPTH:
  case TFL_L2_NORMALIZATION: case TFL_LOG_SOFTMAX:
  case TFL_RELU_N1_TO_1: case TFL_MIRROR_PAD: case TFL_SUM:
  case TFL_BROADCAST_TO: case TFL_REDUCE_PROD:
  case TFL_ARG_MAX: case TFL_ARG_MIN:
  case TFL_LESS: case TFL_LESS_EQUAL: case TFL_GREATER:
  case TFL_GREATER_EQUAL: case TFL_EQUAL: case TFL_NOT_EQUAL:
  case TFL_SELECT: case TFL_SELECT_V2:
  case TFL_PRELU: case TFL_HARD_SWISH: case TFL_LOG:
  case TFL_SQRT: case TFL_SQUARED_DIFFERENCE: case TFL_GELU:
  case TFL_ELU:
    /* int16 measured in LiteRT 2.3 (tests/check_quant.py ops): ELU,
     * HARD_SWISH, LOG_SOFTMAX, DEPTH_TO_SPACE, SPACE_TO_DEPTH refuse it;
     * PRELU and SUM run, but PRELU's results are wrong (cosine 0.96) and
     * SUM's reference kernel flipped the sign of a 288-element sum */
    return S8;
  default:
    /* DIV, POW, SIN, COS, SQUARE, FLOOR, CEIL, ROUND, CUMSUM, SIGN,
     * FLOOR_DIV, FLOOR_MOD, CAST, CONV_3D, RELU_0_TO_1...: float kernels
     * only in LiteRT. */
    return 0;
  }
}

static bool is_float(const Value *v) { return v && v->dtype == DT_F32; }

QKind qop_kind(const Node *n, DType act, const char **why) {
  unsigned char s = support_of(n->op);
  *why = NULL;
  if (!(s & (act == DT_I16 ? S16 : S8))) {
    *why = act == DT_I16 ? "no int16x8 kernel in LiteRT"
                         : "no int8 kernel in LiteRT";
    return QK_FLOAT;
  }
  switch (n->op) {
  case TFL_CONV_2D:
  case TFL_DEPTHWISE_CONV_2D:
  case TFL_FULLY_CONNECTED:
  case TFL_TRANSPOSE_CONV: {
    int wi = 1;
    if (n->nin <= wi || !n->in[wi] || !value_is_const(n->in[wi]) ||
        n->in[wi]->dtype != DT_F32) {
      *why = "its weights are not a float constant";
      return QK_FLOAT;
    }
    int bi = n->op == TFL_TRANSPOSE_CONV ? 3 : 2;
    if (n->nin > bi && n->in[bi] &&
        (!value_is_const(n->in[bi]) || n->in[bi]->dtype != DT_F32)) {
      *why = "its bias is not a float constant";
      return QK_FLOAT;
    }
    break;
  }
  default:
    break;
  }
  /* Every float tensor the operator touches must be an activation or a
   * constant we can quantize; a float output of an operator whose integer
   * form has a non-float output (ARG_MAX, comparisons) is fine. */
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] && n->in[i]->dtype != DT_F32 && qop_role(n, i) != QR_OTHER &&
        dtype_is_float(n->in[i]->dtype)) {
      *why = "it has a non-float32 floating-point input";
      return QK_FLOAT;
    }
  bool any_float = false;
  for (int i = 0; i < n->nin; i++)
    any_float = any_float || is_float(n->in[i]);
  for (int i = 0; i < n->nout; i++)
    any_float = any_float || is_float(n->out[i]);
  if (!any_float) {
    *why = "it has no float tensors";
    return QK_FLOAT;
  }
  return QK_INT;
}

QRole qop_role(const Node *n, int i) {
  const Value *v = i < n->nin ? n->in[i] : NULL;
  if (!is_float(v))
    return QR_OTHER;
  switch (n->op) {
  case TFL_CONV_2D:
  case TFL_DEPTHWISE_CONV_2D:
  case TFL_FULLY_CONNECTED:
    return i == 1 ? QR_WEIGHT : i == 2 ? QR_BIAS : QR_ACT;
  case TFL_TRANSPOSE_CONV:
    return i == 1 ? QR_WEIGHT : i == 3 ? QR_BIAS : i == 2 ? QR_ACT : QR_OTHER;
  case TFL_SPLIT:
    return i == 1 ? QR_SAME : QR_OTHER;
  case TFL_PADV2:
    return i == 0 ? QR_SAME : i == 2 ? QR_SAME_CLAMP : QR_OTHER;
  case TFL_SELECT:
  case TFL_SELECT_V2:
    return i == 0 ? QR_OTHER : QR_SAME;
  case TFL_CONCATENATION:
  case TFL_PACK:
  case TFL_MAXIMUM:
  case TFL_MINIMUM:
    return QR_SAME;
  default:
    if (qop_same_scale(n))
      return i == 0 ? QR_SAME : QR_OTHER;
    return QR_ACT;
  }
}

/* RELU6 is here because TFLite Micro's int8 kernel only clamps: it reads
 * the input's parameters and never rescales (LiteRT's would), so any other
 * output scale gives wrong numbers on a microcontroller. */
bool qop_same_scale(const Node *n) {
  switch (n->op) {
  case TFL_RELU6:
  case TFL_MAX_POOL_2D: case TFL_AVERAGE_POOL_2D:
  case TFL_RESHAPE: case TFL_SQUEEZE: case TFL_EXPAND_DIMS:
  case TFL_TRANSPOSE: case TFL_CONCATENATION:
  case TFL_PAD: case TFL_PADV2: case TFL_MIRROR_PAD:
  case TFL_SLICE: case TFL_STRIDED_SLICE: case TFL_GATHER:
  case TFL_SPLIT: case TFL_SPLIT_V:
  case TFL_RESIZE_BILINEAR: case TFL_RESIZE_NEAREST_NEIGHBOR:
  case TFL_MAXIMUM: case TFL_MINIMUM:
  case TFL_BROADCAST_TO: case TFL_TILE:
  case TFL_PACK: case TFL_UNPACK:
  case TFL_DEPTH_TO_SPACE: case TFL_SPACE_TO_DEPTH:
  case TFL_REDUCE_MAX: case TFL_REDUCE_MIN:
  case TFL_SELECT: case TFL_SELECT_V2:
    return true;
  default:
    return false;
  }
}

int qop_weight_axis(const Node *n, int i) {
  if (i != 1)
    return -1;
  switch (n->op) {
  case TFL_CONV_2D:
  case TFL_FULLY_CONNECTED:
  case TFL_TRANSPOSE_CONV:
    return 0;
  case TFL_DEPTHWISE_CONV_2D:
    return 3;
  default:
    return -1;
  }
}

int qop_weight_only_axis(const Node *n, int i) {
  const Value *w = i < n->nin ? n->in[i] : NULL;
  if (i != 1 || !w || !value_is_const(w) || w->dtype != DT_F32)
    return -2;
  switch (n->op) {
  case TFL_CONV_3D:
    return w->rank == 5 ? 4 : -2;          /* [kd, kh, kw, C, M] */
  case TFL_CONV_3D_TRANSPOSE:
    return w->rank == 5 ? 3 : -2;          /* [kd, kh, kw, M, C] */
  case TFL_CONV_2D:
  case TFL_FULLY_CONNECTED:
  case TFL_TRANSPOSE_CONV:
    return 0;
  case TFL_DEPTHWISE_CONV_2D:
    return 3;
  case TFL_BATCH_MATMUL:
    return -1;
  default:
    return -2;
  }
}

int qop_bias_input(const Node *n) {
  return n->op == TFL_TRANSPOSE_CONV ? 2 : 0;
}

bool qop_fixed_output(const Node *n, DType act, QParams *out) {
  if (act == DT_I16) {
    switch (n->op) {
    case TFL_LOGISTIC:
    case TFL_TANH:
    case TFL_SOFTMAX:
      *out = (QParams){1.0f / 32768.0f, 0};
      return true;
    default:
      return false;
    }
  }
  switch (n->op) {
  case TFL_LOGISTIC:
  case TFL_SOFTMAX:
    *out = (QParams){1.0f / 256.0f, -128};
    return true;
  case TFL_TANH:
  case TFL_L2_NORMALIZATION:
    *out = (QParams){1.0f / 128.0f, 0};
    return true;
  case TFL_LOG_SOFTMAX:
    *out = (QParams){16.0f / 256.0f, 127};
    return true;
  default:
    return false;
  }
}
