/* tfl_options.h - operator options of a TFLite node, and the operator list.
 *
 * The options are one flat struct rather than a union of the schema's
 * option tables: a lowering sets the fields its operator reads and the
 * writer picks the fields of the operator's table (tfl_write.c).  Fields not
 * set stay zero; the fields whose schema default is not zero are noted.
 */
#ifndef O2L_TFL_OPTIONS_H
#define O2L_TFL_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

/* TFLite enums (schema.fbs). */
enum { TFL_PAD_SAME = 0, TFL_PAD_VALID = 1 };
enum {
  TFL_ACT_NONE = 0,
  TFL_ACT_RELU = 1,
  TFL_ACT_RELU_N1_TO_1 = 2,
  TFL_ACT_RELU6 = 3,
  TFL_ACT_TANH = 4
};
enum { TFL_MIRROR_REFLECT = 0, TFL_MIRROR_SYMMETRIC = 1 };

/* TFLite TensorType numbers. */
enum {
  TFL_TYPE_FLOAT32 = 0,
  TFL_TYPE_FLOAT16 = 1,
  TFL_TYPE_INT32 = 2,
  TFL_TYPE_UINT8 = 3,
  TFL_TYPE_INT64 = 4,
  TFL_TYPE_STRING = 5,
  TFL_TYPE_BOOL = 6,
  TFL_TYPE_INT16 = 7,
  TFL_TYPE_INT8 = 9,
  TFL_TYPE_FLOAT64 = 10,
  TFL_TYPE_UINT64 = 12,
  TFL_TYPE_UINT32 = 15,
  TFL_TYPE_UINT16 = 16
};

typedef struct TflOptions {
  int padding;              /* TFL_PAD_* */
  int stride_w, stride_h;
  int dilation_w, dilation_h; /* 0 is written as the default 1 */
  int filter_w, filter_h;   /* pools */
  int depth_multiplier;
  int act;                  /* fused activation, TFL_ACT_* */
  int axis;                 /* concat, gather, pack, split (not SPLIT: input) */
  int batch_dims;
  bool keep_dims;           /* reducers */
  bool keep_num_dims;       /* FULLY_CONNECTED */
  bool align_corners, half_pixel_centers;
  float alpha;              /* LEAKY_RELU */
  float beta;               /* SOFTMAX: lowering must set 1.0 */
  int num_splits;
  int mirror_mode;
  int begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask;
  int in_type, out_type;    /* CAST / ARG_MAX output_type: TFL_TYPE_* */
  bool adj_x, adj_y;        /* BATCH_MATMUL */
  bool asymmetric_quantize_inputs; /* hybrid ops */
  bool pot_scale_int16_false; /* ADD/SUB 16x8: write pot_scale_int16=false */
  int quantized_bias_type;  /* 0 = not written */
  int block_size;           /* DEPTH_TO_SPACE / SPACE_TO_DEPTH */
  bool approximate;         /* GELU */
  int values_count;         /* PACK */
  int num;                  /* UNPACK */
  int squeeze_dims[8];
  int n_squeeze_dims;
  int stride_d, dilation_d; /* CONV_3D (dilation 0 is written as 1) */
  bool exclusive, reverse;  /* CUMSUM */
  bool offset;              /* STRIDED_SLICE: end is an offset from begin */
  int radius;               /* LOCAL_RESPONSE_NORMALIZATION (alpha, beta above) */
  float bias;
} TflOptions;

/* The TFLite builtin operators this project emits.  Columns: our name,
 * BuiltinOperator code, BuiltinOptions union member (0 = none written).
 * Adding an operator here is all the writer needs, plus a case in its
 * options table writer when the options type is new. */
#define TFL_OPS(X)                                   \
  X(ADD, 0, 11)                                      \
  X(AVERAGE_POOL_2D, 1, 5)                           \
  X(CONCATENATION, 2, 10)                            \
  X(CONV_2D, 3, 1)                                   \
  X(DEPTHWISE_CONV_2D, 4, 2)                         \
  X(DEPTH_TO_SPACE, 5, 94)                           \
  X(DEQUANTIZE, 6, 0)                                \
  X(FLOOR, 8, 0)                                     \
  X(FULLY_CONNECTED, 9, 8)                           \
  X(L2_NORMALIZATION, 11, 12)                        \
  X(LOCAL_RESPONSE_NORMALIZATION, 13, 13)            \
  X(LOGISTIC, 14, 0)                                 \
  X(MAX_POOL_2D, 17, 5)                              \
  X(MUL, 18, 21)                                     \
  X(RELU, 19, 0)                                     \
  X(RELU_N1_TO_1, 20, 0)                             \
  X(RELU6, 21, 0)                                    \
  X(RESHAPE, 22, 0)                                  \
  X(RESIZE_BILINEAR, 23, 15)                         \
  X(SOFTMAX, 25, 9)                                  \
  X(SPACE_TO_DEPTH, 26, 19)                          \
  X(TANH, 28, 0)                                     \
  X(PAD, 34, 22)                                     \
  X(GATHER, 36, 23)                                  \
  X(TRANSPOSE, 39, 26)                               \
  X(MEAN, 40, 27)                                    \
  X(SUB, 41, 28)                                     \
  X(DIV, 42, 29)                                     \
  X(SQUEEZE, 43, 30)                                 \
  X(STRIDED_SLICE, 45, 32)                           \
  X(EXP, 47, 33)                                     \
  X(TOPK_V2, 48, 34)                                 \
  X(SPLIT, 49, 35)                                   \
  X(LOG_SOFTMAX, 50, 36)                             \
  X(CAST, 53, 37)                                    \
  X(PRELU, 54, 0)                                    \
  X(MAXIMUM, 55, 39)                                 \
  X(ARG_MAX, 56, 40)                                 \
  X(MINIMUM, 57, 39)                                 \
  X(LESS, 58, 41)                                    \
  X(NEG, 59, 42)                                     \
  X(PADV2, 60, 43)                                   \
  X(GREATER, 61, 44)                                 \
  X(GREATER_EQUAL, 62, 45)                           \
  X(LESS_EQUAL, 63, 46)                              \
  X(SELECT, 64, 47)                                  \
  X(SLICE, 65, 48)                                   \
  X(SIN, 66, 0)                                      \
  X(TRANSPOSE_CONV, 67, 49)                          \
  X(TILE, 69, 51)                                    \
  X(EXPAND_DIMS, 70, 52)                             \
  X(EQUAL, 71, 53)                                   \
  X(NOT_EQUAL, 72, 54)                               \
  X(LOG, 73, 0)                                      \
  X(SUM, 74, 27)                                     \
  X(SQRT, 75, 0)                                     \
  X(RSQRT, 76, 0)                                    \
  X(POW, 78, 56)                                     \
  X(ARG_MIN, 79, 57)                                 \
  X(REDUCE_PROD, 81, 27)                             \
  X(REDUCE_MAX, 82, 27)                              \
  X(PACK, 83, 59)                                    \
  X(LOGICAL_OR, 84, 60)                              \
  X(LOGICAL_AND, 86, 62)                             \
  X(LOGICAL_NOT, 87, 63)                             \
  X(UNPACK, 88, 64)                                  \
  X(REDUCE_MIN, 89, 27)                              \
  X(FLOOR_DIV, 90, 65)                               \
  X(SQUARE, 92, 66)                                  \
  X(FLOOR_MOD, 95, 72)                               \
  X(RESIZE_NEAREST_NEIGHBOR, 97, 74)                 \
  X(LEAKY_RELU, 98, 75)                              \
  X(SQUARED_DIFFERENCE, 99, 76)                      \
  X(MIRROR_PAD, 100, 77)                             \
  X(ABS, 101, 78)                                    \
  X(SPLIT_V, 102, 79)                                \
  X(CEIL, 104, 0)                                    \
  X(COS, 108, 84)                                    \
  X(ELU, 111, 0)                                     \
  X(QUANTIZE, 114, 0)                                \
  X(ROUND, 116, 0)                                   \
  X(HARD_SWISH, 117, 0)                              \
  X(SELECT_V2, 123, 98)                              \
  X(BATCH_MATMUL, 126, 101)                          \
  X(CUMSUM, 128, 102)                                \
  X(BROADCAST_TO, 130, 0)                            \
  X(CONV_3D, 132, 106)                               \
  X(CONV_3D_TRANSPOSE, 141, 106)                     \
  X(GELU, 150, 116)                                  \
  X(RELU_0_TO_1, 152, 0)                             \
  X(SIGN, 158, 0)

typedef enum {
#define TFL_X_(name, code, opt) TFL_##name,
  TFL_OPS(TFL_X_)
#undef TFL_X_
      TFL_OP_COUNT
} TflOp;

/* Name ("CONV_2D") and BuiltinOperator code of an operator. */
const char *tfl_op_name(int op);
int tfl_op_code(int op);
int tfl_op_options_type(int op);
/* Our TflOp for a BuiltinOperator code, or -1. */
int tfl_op_from_code(int code);

#endif
