/* opattr.h - ONNX operator parameters, parsed once and normalized.
 *
 * Every operator whose meaning depends on attributes, on constant inputs or
 * on the opset has a parameter struct here and a parse function next to its
 * infer function (ops/<family>.c).  The parse functions hide the opset
 * differences (attribute in one version, input in the next), resolve
 * defaults, negative axes and auto_pad, and validate everything against the
 * input shapes; on failure they record a message naming the node and what
 * was expected.  Shape inference and lowering both call them, so lowering
 * may rely on every guarantee stated in a struct's comments.
 *
 * Preconditions: the shapes (rank, dims) and dtypes of the node's inputs
 * are known (pass_infer_shapes runs in topological order), and inputs the
 * parameters are read from (Reshape's shape, Slice's starts...) have been
 * folded to constants.  A required input that is still computed at run time
 * is an error asking for static input shapes.
 *
 * The model's opset is g->opset; op_opset() treats 0 (a hand-built graph
 * that did not say) as the newest opset we know.
 */
#ifndef O2L_OPATTR_H
#define O2L_OPATTR_H

#include <math.h>

#include "ops/ops.h"

#define OP_MAX_SPATIAL 3
#define OP_NEWEST_OPSET 21

/* ---- common helpers (opattr.c) ------------------------------------------ */

/* g->opset, or OP_NEWEST_OPSET when the graph did not say (0). */
int op_opset(const Graph *g);
/* n->op_type, or the registry name when the node was built without one. */
const char *op_name(const Node *n);
/* Records "<op_type> '<name>': <message>" with `code`; returns code. */
Status op_err(Ctx *cx, const Node *n, Status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define op_invalid(cx, n, ...) op_err((cx), (n), O2L_ERR_INVALID, __VA_ARGS__)
#define op_unsup(cx, n, ...) op_err((cx), (n), O2L_ERR_UNSUPPORTED, __VA_ARGS__)

/* Input i, or NULL when omitted or past the end. */
static inline Value *op_in(const Node *n, int i) {
  return i >= 0 && i < n->nin ? n->in[i] : NULL;
}
/* Number of inputs up to the last one present. */
int op_nin(const Node *n);
/* Checks the input count (counting up to the last present input) is in
 * [min_in, max_in], inputs 0..min_in-1 are present, and the node has
 * between 1 and max_out outputs. */
Status op_check_io(Ctx *cx, const Node *n, int min_in, int max_in,
                   int max_out);
/* A present input of float type (float32/float16/float64). */
Status op_need_float(Ctx *cx, const Node *n, int i, const char *what);
/* Input X (input 0) is a float map of at least min_rank dims: (N, C, ...)
 * for min_rank 2, (N, C, D1...Dk) for 3. */
Status op_need_feature_map(Ctx *cx, const Node *n, int min_rank);
/* Attribute getters that reject an attribute of the wrong type.  Absent:
 * the default (ints/floats: *count = -1, *v = NULL). */
Status op_attr_int(Ctx *cx, const Node *n, const char *name, int64_t dflt,
                   int64_t *out);
Status op_attr_float(Ctx *cx, const Node *n, const char *name, double dflt,
                     double *out);
Status op_attr_str(Ctx *cx, const Node *n, const char *name, const char *dflt,
                   const char **out);
Status op_attr_ints(Ctx *cx, const Node *n, const char *name,
                    const int64_t **v, int *count);
Status op_attr_floats(Ctx *cx, const Node *n, const char *name,
                      const float **v, int *count);
/* Normalizes axis from [-rank, rank-1] to [0, rank-1]. */
Status op_axis(Ctx *cx, const Node *n, const char *what, int64_t axis,
               int rank, int *out);
/* An 'axes' list v[0..k) (k <= O2L_MAX_RANK: the caller checks, with its
 * own message) normalized against rank: out[i] (may be NULL) in the listed
 * order, seen[a] true for each listed axis; an axis listed twice is an
 * error. */
Status op_axes(Ctx *cx, const Node *n, const int64_t *v, int k, int rank,
               int *out, bool seen[O2L_MAX_RANK]);
/* Constant integer input i (any integer dtype, scalar or 1-D) as int64s in
 * arena memory.  Not constant: the "computed at run time" error.  Omitted
 * input: *count = -1 and *v = NULL (the caller decides if that is OK). */
Status op_const_ints(Ctx *cx, const Node *n, int i, const char *what,
                     const int64_t **v, int *count);
/* Constant numeric input i with one element, as a double. */
Status op_const_scalar(Ctx *cx, const Node *n, int i, const char *what,
                       double *out);
/* Constant float input i (scalar or 1-D) as doubles in arena memory. */
Status op_const_floats(Ctx *cx, const Node *n, int i, const char *what,
                       const double **v, int *count);
/* numpy multidirectional broadcasting of two shapes; the error names the
 * node and both shapes. */
Status op_broadcast(Ctx *cx, const Node *n, int ra, const int64_t *da,
                    int rb, const int64_t *db, int *rout, int64_t *dout);
/* True if shape b broadcasts to shape a without changing a
 * (unidirectional broadcasting: PRelu slope, Gemm C). */
bool op_unidir_ok(int ra, const int64_t *da, int rb, const int64_t *db);
/* Sets v's dtype and shape. */
void op_set_out(Value *v, DType t, int rank, const int64_t *dims);
/* Sets v's dtype and shape to x's. */
void op_set_out_like(Value *v, const Value *x);
/* ONNX TensorProto.DataType number to DType; DT_UNDEF if unsupported. */
DType op_onnx_dtype(int64_t onnx_type);
/* Element count of a value whose shape is known. */
int64_t op_numel(const Value *v);

/* ---- constant evaluation helpers (opattr.c) ----------------------------- */

/* Largest tensor any fold produces (elements); larger ones are declined. */
#define OP_FOLD_MAX_ELEMS ((int64_t)1 << 26)

/* Allocates aligned arena memory for v's data (its dtype and shape must be
 * set) and attaches it: v->data / v->nbytes.  Returns NULL when declined
 * (too large: no error) or out of memory (error recorded: check
 * cx->status). */
void *op_fold_alloc(Ctx *cx, Value *v);
/* As op_fold_alloc, not zeroed: for folds that write every element. */
void *op_fold_alloc_raw(Ctx *cx, Value *v);
/* Integer store with wrap-around to the target type (no double round
 * trip, so int64 values stay exact). */
void op_store_i64(void *p, DType t, size_t i, int64_t v);
/* Gives v the data of src (same bytes, reinterpreted with v's shape). */
void op_fold_share(Value *v, const Value *src);

/* Walks an output shape and, for up to 3 inputs broadcast to it, the
 * matching element offsets. */
typedef struct BcastIter {
  int rank, nin;
  int64_t dims[O2L_MAX_RANK];
  int64_t idx[O2L_MAX_RANK];
  int64_t st[3][O2L_MAX_RANK]; /* input strides, 0 on broadcast axes */
  int64_t off[3];              /* current element of each input */
} BcastIter;
void op_bcast_init(BcastIter *it, int rank, const int64_t *dims, int nin,
                   const Value *const *in);
void op_bcast_next(BcastIter *it);

/* ---- convolution and pooling (conv.c, pool.c) --------------------------- */

typedef enum {
  AUTO_PAD_NOTSET,
  AUTO_PAD_SAME_UPPER, /* odd total padding: the extra one at the end */
  AUTO_PAD_SAME_LOWER, /* ... at the beginning */
  AUTO_PAD_VALID
} AutoPad;

/* The attributes Conv, ConvTranspose and the pools share, checked for
 * count (nsp entries, pads 2*nsp) and range (kernel/stride/dilation >= 1,
 * pads >= 0).  has_kernel false when kernel_shape is absent. */
typedef struct SpatialAttrs {
  AutoPad auto_pad;
  bool has_kernel;
  int64_t kernel[OP_MAX_SPATIAL];
  int64_t stride[OP_MAX_SPATIAL];
  int64_t dilation[OP_MAX_SPATIAL];
  int64_t pad_begin[OP_MAX_SPATIAL];
  int64_t pad_end[OP_MAX_SPATIAL];
} SpatialAttrs;
Status op_spatial_attrs(Ctx *cx, const Node *n, int nsp, SpatialAttrs *s);
/* auto_pad SAME_UPPER / SAME_LOWER along one axis of `in` cells, stride
 * st, dilated kernel keff: returns the output ceil(in / st) and sets the
 * padding that gives it (*pb + *pe, the odd cell where auto_pad says). */
int64_t op_same_pads(AutoPad auto_pad, int64_t in, int64_t st, int64_t keff,
                     int64_t *pb, int64_t *pe);

/* Conv: X (N,C,D1..Dk), W (M, C/group, k1..kk), B? (M).
 * ConvTranspose: X (N,C,D..), W (C, M/group, k..), B? (M).
 * Guarantees: nsp in 1..3; X float and W of the same type; B, if present,
 * 1-D of M elements; group >= 1 divides C and M; kernel/stride/dilation
 * >= 1; pads >= 0 and resolved from auto_pad (for ConvTranspose: resolved
 * from output_shape too); out[] >= 1 and equal to the inferred output.
 *   Conv:  out = (in + pb + pe - ((k-1)*d + 1)) / s + 1
 *   ConvT: out = s*(in-1) + out_pad + (k-1)*d + 1 - pb - pe */
typedef struct ConvParams {
  int nsp;                /* spatial dims: 1, 2 or 3 */
  bool transposed;        /* ConvTranspose */
  int64_t batch;          /* N */
  int64_t in_ch, out_ch;  /* C of X and M of Y */
  int64_t group;
  bool depthwise;         /* Conv with group == C (>1 allowed); M = C*mult */
  bool has_bias;
  AutoPad auto_pad;       /* as written; pads below already resolved */
  int64_t kernel[OP_MAX_SPATIAL];
  int64_t stride[OP_MAX_SPATIAL];
  int64_t dilation[OP_MAX_SPATIAL];
  int64_t pad_begin[OP_MAX_SPATIAL];
  int64_t pad_end[OP_MAX_SPATIAL];
  int64_t out_pad[OP_MAX_SPATIAL]; /* ConvTranspose output_padding, else 0 */
  int64_t in[OP_MAX_SPATIAL];      /* spatial sizes of X */
  int64_t out[OP_MAX_SPATIAL];     /* spatial sizes of Y */
} ConvParams;
Status conv_params(Ctx *cx, const Graph *g, const Node *n, ConvParams *p);

/* MaxPool / AveragePool on X (N,C,D1..Dk).  Guarantees as ConvParams for
 * the shared fields.  out[] follows ONNX (ceil_mode: the last window must
 * start inside the input or the left padding, PyTorch's rule).  With
 * ceil_mode the last window may reach past in + pad_begin + pad_end:
 * extra_end[] says by how much (those positions are never counted: not in
 * the max, not in an average's divisor, even with count_include_pad).
 * Explicit pads are < the effective kernel size. */
typedef struct PoolParams {
  int nsp;
  bool is_max;
  int64_t batch, channels;
  AutoPad auto_pad;
  int64_t kernel[OP_MAX_SPATIAL];
  int64_t stride[OP_MAX_SPATIAL];
  int64_t dilation[OP_MAX_SPATIAL];
  int64_t pad_begin[OP_MAX_SPATIAL];
  int64_t pad_end[OP_MAX_SPATIAL];
  int64_t extra_end[OP_MAX_SPATIAL];
  bool ceil_mode;
  bool count_include_pad; /* AveragePool only (default 0) */
  int64_t in[OP_MAX_SPATIAL];
  int64_t out[OP_MAX_SPATIAL];
} PoolParams;
Status pool_params(Ctx *cx, const Graph *g, const Node *n, PoolParams *p);

/* ---- matrix products (matmul.c) ---------------------------------------- */

/* Gemm: Y(M,N) = alpha * A' * B' + beta * C.  A and B are 2-D of the same
 * float type; A' is (M,K), B' is (K,N); C, if present, broadcasts
 * unidirectionally to (M,N). */
typedef struct GemmParams {
  double alpha, beta;
  bool trans_a, trans_b;
  int64_t M, K, N;
  bool has_c;
} GemmParams;
Status gemm_params(Ctx *cx, const Graph *g, const Node *n, GemmParams *p);

/* Einsum, the forms that are a (batched) matrix product or a transpose:
 * one or two float operands, letters only (no "..."), no letter twice in
 * one term, explicit ("->") or implicit output (the letters seen once,
 * sorted).  With two operands every letter is a batch letter (in both
 * inputs and the output), a contracted one (both inputs, not the output)
 * or a free one (one input and the output); with one operand the output
 * is a permutation of the input.  Sizes of a letter agree everywhere.
 * term[i] holds operand i's letters, term[nin] the output's. */
typedef struct EinsumParams {
  int nin;
  char term[3][O2L_MAX_RANK + 1];
  int64_t size[128];   /* by letter */
  int out_rank;
  int64_t out[O2L_MAX_RANK];
} EinsumParams;
Status einsum_params(Ctx *cx, const Graph *g, const Node *n, EinsumParams *p);

/* ---- elementwise (eltwise.c) -------------------------------------------- */

/* Clip: min/max from attributes (opset < 11) or constant inputs (>= 11);
 * absent bounds are -inf / +inf.  A bound given by a non-constant input
 * has *_runtime set (min/max then stay infinite and lowering must read
 * the input tensor). */
typedef struct ClipParams {
  double min, max;
  bool has_min, has_max;
  bool min_runtime, max_runtime;
} ClipParams;
Status clip_params(Ctx *cx, const Graph *g, const Node *n, ClipParams *p);

/* Mod: binary with broadcasting; *fmod from the attribute (0: the
 * quotient is floored, Python's %; 1: truncated, C's fmod).  Before opset
 * 28 floats had to use 1; 0 on floats is accepted at any opset. */
Status mod_params(Ctx *cx, const Graph *g, const Node *n, bool *fmod);

/* The activations added with their decompositions (eltwise.c): Gelu
 * (approximate "none" or "tanh"), Selu (alpha, gamma), Celu (alpha != 0),
 * ThresholdedRelu (alpha), with the ONNX defaults; Erf, Mish and Softsign
 * have none. */
typedef struct ActParams {
  double alpha, gamma;
  bool gelu_tanh;
} ActParams;
Status act_params(Ctx *cx, const Graph *g, const Node *n, ActParams *p);

/* ---- normalization and softmax (norm.c) -------------------------------- */

typedef enum {
  BN_FORM_V1,  /* opset < 7: spatial / is_test attributes */
  BN_FORM_V7,  /* 7..8: spatial attribute */
  BN_FORM_V9,  /* 9..13 */
  BN_FORM_V14  /* >= 14: training_mode attribute (15: separate types) */
} BatchNormForm;

/* BatchNormalization in inference mode: X (N,C,...) rank >= 2, float;
 * scale, B, mean, var are 1-D with C elements of a float type.  Training
 * mode (attribute or extra outputs used) is rejected by infer. */
typedef struct BatchNormParams {
  double epsilon, momentum;
  BatchNormForm form;
  int64_t channels;
} BatchNormParams;
Status bn_params(Ctx *cx, const Graph *g, const Node *n, BatchNormParams *p);

/* Softmax / LogSoftmax.  axis normalized.  coerce_2d (opset < 13): the
 * input is treated as 2-D [prod(d<axis), prod(d>=axis)] and normalized
 * over the whole second dimension; when axis == rank-1 this is the same
 * as the per-axis form. */
typedef struct SoftmaxParams {
  int axis;
  bool coerce_2d;
} SoftmaxParams;
Status softmax_params(Ctx *cx, const Graph *g, const Node *n,
                      SoftmaxParams *p);

/* LayerNormalization (17): X float of rank >= 1, normalized over the axes
 * [axis, rank) (axis normalized); Scale and B (optional) float, each
 * broadcasting unidirectionally to X.shape[axis:]; epsilon > 0.  The
 * optional outputs Mean and InvStdDev have X's shape with the normalized
 * axes set to 1.  stash_type only says float32 computing, which is what
 * the lowering does anyway. */
typedef struct LayerNormParams {
  int axis;
  double epsilon;
  bool has_bias;
} LayerNormParams;
Status layernorm_params(Ctx *cx, const Graph *g, const Node *n,
                        LayerNormParams *p);

/* InstanceNormalization: X (N, C, D1...Dk) float, k >= 1; scale and B 1-D
 * of C float values; epsilon > 0.  Normalized per (n, c) over D1...Dk. */
typedef struct InstanceNormParams {
  double epsilon;
  int64_t channels;
} InstanceNormParams;
Status instnorm_params(Ctx *cx, const Graph *g, const Node *n,
                       InstanceNormParams *p);

/* GroupNormalization (18, 21): X (N, C, D1...Dk) float, k >= 0; num_groups
 * G >= 1 dividing C; scale and bias float, (G) per group before opset 21,
 * (C) per channel from 21; epsilon > 0.  Normalized per (n, group) over
 * the group's channels and D1...Dk. */
typedef struct GroupNormParams {
  int64_t groups, channels;
  double epsilon;
  bool per_group; /* opset < 21 */
} GroupNormParams;
Status groupnorm_params(Ctx *cx, const Graph *g, const Node *n,
                        GroupNormParams *p);

/* LRN: X (N, C, D1...Dk) float, k >= 1; size >= 1 (required), alpha,
 * beta, bias as given (defaults 1e-4, 0.75, 1).  ONNX sums the squares of
 * channels [c - floor((size-1)/2), c + ceil((size-1)/2)]. */
typedef struct LrnParams {
  int64_t size;
  double alpha, beta, bias;
} LrnParams;
Status lrn_params(Ctx *cx, const Graph *g, const Node *n, LrnParams *p);

/* ---- data movement (shape_ops.c) --------------------------------------- */

/* Slice: opset < 10 from attributes, >= 10 from constant inputs.  One
 * entry per input axis (axes not named: start 0, step 1, out = dim).
 * Element j (0 <= j < out) of an axis is start + j*step and lies in
 * [0, dim).  end is the clamped end (exclusive): in [0, dim] for step > 0
 * and [-1, dim-1] for step < 0.  step != 0. */
typedef struct SliceParams {
  int rank;
  int64_t start[O2L_MAX_RANK];
  int64_t end[O2L_MAX_RANK];
  int64_t step[O2L_MAX_RANK];
  int64_t out[O2L_MAX_RANK];
  bool sliced[O2L_MAX_RANK]; /* named in axes */
} SliceParams;
Status slice_params(Ctx *cx, const Graph *g, const Node *n, SliceParams *p);

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } PadMode;

/* Pad: opset < 11 from attributes ('paddings' before 2), >= 11 from
 * inputs (pads, constant_value?, axes? (18+)).  begin/end per input axis
 * (axes not named: 0) and may be negative (cropping); out = dim + begin +
 * end >= 0.  reflect: padding < dim; edge / wrap: padding only on axes
 * with dim > 0, wrap padding <= dim. */
typedef struct PadParams {
  int rank;
  PadMode mode;
  int64_t begin[O2L_MAX_RANK], end[O2L_MAX_RANK];
  double value;       /* constant mode fill (0 by default) */
  bool value_runtime; /* constant_value input not constant: value unknown */
  int64_t out[O2L_MAX_RANK];
} PadParams;
Status pad_params(Ctx *cx, const Graph *g, const Node *n, PadParams *p);

/* Split: opset < 13 attribute 'split', >= 13 input, >= 18 num_outputs
 * (uneven: the last chunk smaller); none: equal parts over the outputs.
 * n == node's output count, sizes[] >= 0 (arena) summing to dims[axis]. */
typedef struct SplitParams {
  int axis;
  int n;
  int64_t *sizes;
} SplitParams;
Status split_params(Ctx *cx, const Graph *g, const Node *n, SplitParams *p);

/* Squeeze / Unsqueeze: axes from the attribute (< 13) or input (>= 13),
 * normalized, sorted and unique.  Squeeze: axes of the input, each of
 * size 1 (none given: every size-1 axis).  Unsqueeze: positions in the
 * output. */
typedef struct SqueezeParams {
  int naxes;
  int axes[O2L_MAX_RANK];
  int out_rank;
  int64_t out[O2L_MAX_RANK];
} SqueezeParams;
typedef SqueezeParams UnsqueezeParams;
Status squeeze_params(Ctx *cx, const Graph *g, const Node *n,
                      SqueezeParams *p);
Status unsqueeze_params(Ctx *cx, const Graph *g, const Node *n,
                        UnsqueezeParams *p);

/* Reshape (opset >= 5 shape input, < 5 attribute; 0 copies the input dim
 * unless allowzero (14+); one -1 inferred) and Flatten; the output shape
 * with the same element count. */
typedef struct ReshapeParams {
  int out_rank;
  int64_t out[O2L_MAX_RANK];
} ReshapeParams;
Status reshape_params(Ctx *cx, const Graph *g, const Node *n,
                      ReshapeParams *p);

/* Flatten: axis in [0, rank]; output (outer, inner). */
typedef struct FlattenParams {
  int axis;
  int64_t outer, inner;
} FlattenParams;
Status flatten_params(Ctx *cx, const Graph *g, const Node *n,
                      FlattenParams *p);

/* Transpose: perm is a permutation of 0..rank-1 (default: reversed);
 * out[i] = dims[perm[i]]. */
typedef struct TransposeParams {
  int rank;
  int perm[O2L_MAX_RANK];
  bool identity;
  int64_t out[O2L_MAX_RANK];
} TransposeParams;
Status transpose_params(Ctx *cx, const Graph *g, const Node *n,
                        TransposeParams *p);

/* DepthToSpace (mode "DCR", or "CRD" from opset 11) and SpaceToDepth (the
 * same modes from opset 28) on X (N, C, H, W) with blocksize b >= 1.  DepthToSpace: C divisible by b*b,
 * out (N, C/(b*b), H*b, W*b); SpaceToDepth: H and W divisible by b, out
 * (N, C*b*b, H/b, W/b). */
typedef struct SpaceDepthParams {
  int64_t block;
  bool crd;
  int64_t out[4];
} SpaceDepthParams;
Status spacedepth_params(Ctx *cx, const Graph *g, const Node *n,
                         SpaceDepthParams *p);

/* Gather: axis normalized; indices int32/int64; constant indices are
 * checked to lie in [-dim, dim-1].  out = data[:axis] + indices + data[axis+1:]. */
typedef struct GatherParams {
  int axis;
  int out_rank;
  int64_t out[O2L_MAX_RANK];
} GatherParams;
Status gather_params(Ctx *cx, const Graph *g, const Node *n, GatherParams *p);

/* Concat: inputs of one dtype and rank, equal dims except on axis. */
typedef struct ConcatParams {
  int axis;
  int rank;
  int64_t out[O2L_MAX_RANK];
} ConcatParams;
Status concat_params(Ctx *cx, const Graph *g, const Node *n, ConcatParams *p);

/* Identity / Dropout: Dropout's training_mode input (opset >= 12) must be
 * a constant false; anything else is an error naming the node. */
Status dropout_check(Ctx *cx, const Graph *g, const Node *n);

/* Cast: to = target type (float, int, bool); strings are rejected. */
typedef struct CastParams {
  DType to;
} CastParams;
Status cast_params(Ctx *cx, const Graph *g, const Node *n, CastParams *p);

/* ---- resize (resize.c) -------------------------------------------------- */

typedef enum { RESIZE_NEAREST, RESIZE_LINEAR, RESIZE_CUBIC } ResizeMode;
typedef enum {
  COORD_HALF_PIXEL,
  COORD_PYTORCH_HALF_PIXEL,
  COORD_ALIGN_CORNERS,
  COORD_ASYMMETRIC,
  COORD_TF_CROP_AND_RESIZE,
  COORD_HALF_PIXEL_SYMMETRIC,
  COORD_TF_HALF_PIXEL_FOR_NN
} CoordMode;
typedef enum {
  NEAREST_ROUND_PREFER_FLOOR,
  NEAREST_ROUND_PREFER_CEIL,
  NEAREST_FLOOR,
  NEAREST_CEIL
} NearestMode;

/* Resize (10: X, scales; 11+: X, roi?, scales?, sizes?; 18: axes,
 * antialias, keep_aspect_ratio_policy) and Upsample (7: scales attribute;
 * 9: scales input).  Upsample and Resize-10 are asymmetric with floor
 * rounding.  out[] >= 1: sizes if given (after keep_aspect_ratio_policy),
 * else floor(in * scale).  scale[] is what the coordinate transform uses:
 * the given scale, or out/in when sizes were given. */
typedef struct ResizeParams {
  int rank;
  ResizeMode mode;
  CoordMode coord;
  NearestMode nearest;
  double cubic_a;
  bool exclude_outside;
  bool antialias;
  double extrapolation;
  bool from_sizes;
  int64_t in[O2L_MAX_RANK], out[O2L_MAX_RANK];
  double scale[O2L_MAX_RANK];
  bool has_roi;                      /* tf_crop_and_resize only */
  double roi[2 * O2L_MAX_RANK];      /* starts then ends, normalized coords */
} ResizeParams;
Status resize_params(Ctx *cx, const Graph *g, const Node *n, ResizeParams *p);

/* ---- reductions (reduce.c) --------------------------------------------- */

/* ReduceX: axes from the attribute (< 18; ReduceSum < 13) or the input,
 * normalized, sorted, unique; none given: all axes, or noop when
 * noop_with_empty_axes (the output is the input).  out: reduced axes
 * dropped, or kept as 1 with keepdims. */
typedef struct ReduceParams {
  int rank;
  int naxes;
  int axes[O2L_MAX_RANK];
  bool reduced[O2L_MAX_RANK];
  bool keepdims;
  bool noop;
  int out_rank;
  int64_t out[O2L_MAX_RANK];
} ReduceParams;
Status reduce_params(Ctx *cx, const Graph *g, const Node *n, ReduceParams *p);

/* ArgMax / ArgMin: axis normalized; output int64. */
typedef struct ArgMaxParams {
  int axis;
  bool keepdims;
  bool select_last;
  int out_rank;
  int64_t out[O2L_MAX_RANK];
} ArgMaxParams;
Status argmax_params(Ctx *cx, const Graph *g, const Node *n, ArgMaxParams *p);

/* TopK: X numeric of rank >= 1; k from the attribute (opset < 10) or a
 * constant one-element integer input, 0 <= k <= X.shape[axis]; axis
 * normalized; largest and sorted (opset >= 11, default 1).  Values have
 * X's type, Indices int64, both X's shape with k on the axis. */
typedef struct TopKParams {
  int axis;
  int64_t k;
  bool largest, sorted;
  int out_rank;
  int64_t out[O2L_MAX_RANK];
} TopKParams;
Status topk_params(Ctx *cx, const Graph *g, const Node *n, TopKParams *p);

#endif
