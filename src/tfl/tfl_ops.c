/* tfl_ops.c - the operator list of tfl_options.h as lookup functions, and
 * the names of every BuiltinOperator code, so files holding operators we
 * never emit (Vela's CUSTOM "ethos-u", LSTM, ...) can still be described.
 */
#include "tfl/tfl.h"

#include <assert.h>

typedef struct TflOpInfo {
  const char *name;
  int code;
  int options;
} TflOpInfo;

static const TflOpInfo op_info[] = {
#define TFL_X_(name, code, opt) {#name, code, opt},
    TFL_OPS(TFL_X_)
#undef TFL_X_
};
static_assert(sizeof op_info / sizeof op_info[0] == TFL_OP_COUNT,
              "one entry per TflOp");

/* BuiltinOperator names by code, schema.fbs order (0..161). */
static const char *const builtin_names[] = {
  "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D",
  "DEPTH_TO_SPACE", "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR",
  "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
  "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM",
  "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE",
  "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
  "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM",
  "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER",
  "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB",
  "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE",
  "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX",
  "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM",
  "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL",
  "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV",
  "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG",
  "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT",
  "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT",
  "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV",
  "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE",
  "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE",
  "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N",
  "GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE",
  "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF",
  "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND",
  "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
  "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO",
  "RFFT2D", "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE",
  "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "REDUCE_ALL",
  "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE",
  "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM",
  "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1",
  "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM",
  "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR",
  "RIGHT_SHIFT"
};
static_assert(sizeof builtin_names / sizeof builtin_names[0] == 162,
              "BuiltinOperator codes 0..161");

const char *tfl_op_name(int op) {
  return op >= 0 && op < TFL_OP_COUNT ? op_info[op].name : "?";
}

int tfl_op_code(int op) {
  return op >= 0 && op < TFL_OP_COUNT ? op_info[op].code : -1;
}

int tfl_op_options_type(int op) {
  return op >= 0 && op < TFL_OP_COUNT ? op_info[op].options : -1;
}

int tfl_op_from_code(int code) {
  for (int i = 0; i < TFL_OP_COUNT; i++)
    if (op_info[i].code == code)
      return i;
  return -1;
}

const char *tfl_builtin_name(int code) {
  if (code >= 0 && code < (int)(sizeof builtin_names / sizeof builtin_names[0]))
    return builtin_names[code];
  if (code == 203)
    return "DILATE";
  if (code >= 162 && code <= 209)
    return "STABLEHLO_OP";
  return NULL;
}

/* ---- tensor types ----------------------------------------------------- */

static const struct {
  DType dt;
  int tfl;
} type_map[] = {
    {DT_F32, TFL_TYPE_FLOAT32}, {DT_F16, TFL_TYPE_FLOAT16},
    {DT_I32, TFL_TYPE_INT32},   {DT_U8, TFL_TYPE_UINT8},
    {DT_I64, TFL_TYPE_INT64},   {DT_STRING, TFL_TYPE_STRING},
    {DT_BOOL, TFL_TYPE_BOOL},   {DT_I16, TFL_TYPE_INT16},
    {DT_I8, TFL_TYPE_INT8},     {DT_F64, TFL_TYPE_FLOAT64},
    {DT_U64, TFL_TYPE_UINT64},  {DT_U32, TFL_TYPE_UINT32},
    {DT_U16, TFL_TYPE_UINT16},
};

int tfl_type_from_dtype(DType t) {
  for (size_t i = 0; i < sizeof type_map / sizeof type_map[0]; i++)
    if (type_map[i].dt == t)
      return type_map[i].tfl;
  return -1;
}

DType tfl_type_to_dtype(int tfl_type) {
  for (size_t i = 0; i < sizeof type_map / sizeof type_map[0]; i++)
    if (type_map[i].tfl == tfl_type)
      return type_map[i].dt;
  return DT_UNDEF;
}

/* TensorType names by number (schema.fbs). */
static const char *const type_names[] = {
    "FLOAT32", "FLOAT16",  "INT32",  "UINT8",     "INT64",        "STRING",
    "BOOL",    "INT16",    "COMPLEX64", "INT8",   "FLOAT64",      "COMPLEX128",
    "UINT64",  "RESOURCE", "VARIANT", "UINT32",   "UINT16",       "INT4",
    "BFLOAT16", "INT2",    "UINT4",  "FLOAT8_E4M3FN", "FLOAT8_E5M2"};

const char *tfl_type_name(int tfl_type) {
  if (tfl_type >= 0 && tfl_type < (int)(sizeof type_names / sizeof type_names[0]))
    return type_names[tfl_type];
  return NULL;
}
