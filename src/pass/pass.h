/* pass.h - the graph passes, in the order convert.c runs them.
 *
 * ONNX-level passes work on logical (NCHW) shapes and ONNX operators; the
 * TFLite-level ones on the lowered graph.  Each returns a Status and adds
 * what it changed to the report through ctx_notice-free counters in
 * PassStats, which convert.c prints.
 */
#ifndef O2L_PASS_H
#define O2L_PASS_H

#include "ir.h"

typedef struct PassStats {
  int folded;          /* nodes replaced by constants */
  int noops_removed;   /* Identity / Dropout / no-op reshapes */
  int bn_folded;       /* BatchNormalization folded into Conv/Gemm */
  int bn_standalone;   /* BatchNormalization lowered as MUL + ADD */
  int pads_absorbed;   /* Pad nodes merged into a conv/pool */
  int hswish_fused;    /* x * hard-sigmoid(x) patterns made HardSwish */
  int branches_merged; /* Add of parallel Conv / BN / identity branches */
  int slices_merged;   /* Slice of a Slice made one Slice */
  int s2d_made;        /* space-to-depth patterns made one SpaceToDepth */
  int affine_merged;   /* Concats of per-channel affine maps made Mul+Add */
  int acts_fused;      /* activations fused into their producer */
  int dead_removed;    /* nodes whose results nothing used */
  int gelu_fused;      /* Div/Erf/Add/Mul/Mul chains made one Gelu */
} PassStats;

/* Every op known (op >= 0); otherwise one error listing every unsupported
 * node, grouped by op type, with O2L_ERR_UNSUPPORTED. */
Status pass_check_supported(Ctx *cx, Graph *g);
/* Static shapes and types of every value (ops.def infer functions), in
 * topological order. */
Status pass_infer_shapes(Ctx *cx, Graph *g);
/* Evaluates node n (ops.def fold) if its inputs allow it: all constant,
 * or a known input shape for F_SHAPE_ONLY operators.  Shapes must have
 * been inferred.  Used by pass_infer_shapes and pass_fold_constants. */
Status pass_fold_node(Ctx *cx, Graph *g, Node *n);
/* True when n has outputs and every one present is constant (evaluated). */
bool pass_node_folded(const Node *n);
/* Constant folding, including the Shape -> Gather -> Concat -> Reshape
 * chains; reruns inference on what it changes. */
Status pass_fold_constants(Ctx *cx, Graph *g, PassStats *st);
/* Identity / Dropout removal. */
Status pass_remove_noops(Ctx *cx, Graph *g, PassStats *st);
/* BatchNormalization into the preceding Conv/ConvTranspose/Gemm. */
Status pass_fold_bn(Ctx *cx, Graph *g, PassStats *st);
/* Add(Conv(x), Conv(x) | BN(x) | x) into one Conv (RepVGG-style blocks). */
Status pass_merge_branches(Ctx *cx, Graph *g, PassStats *st);
/* Slice(Slice(x)) into one Slice of x (opset >= 10). */
Status pass_merge_slices(Ctx *cx, Graph *g, PassStats *st);
/* Reshape/Transpose/Reshape, CRD SpaceToDepth and Focus-stem Concats of
 * strided Slices into one DCR SpaceToDepth, the readers' convolution
 * weights renumbered when the channel order differs (space_to_depth.c). */
Status pass_space_to_depth(Ctx *cx, Graph *g, PassStats *st);
/* Concat of scalar affine maps of channel slices of one tensor (torchvision
 * transform_input) into one Mul + Add with per-channel constants. */
Status pass_merge_channel_affine(Ctx *cx, Graph *g, PassStats *st);
/* x * HardSigmoid(x) and x * relu6(x + 3) / 6 into HardSwish. */
Status pass_fuse_hardswish(Ctx *cx, Graph *g, PassStats *st);
/* Constant zero Pad into the following Conv / AveragePool pads. */
Status pass_fuse_pad(Ctx *cx, Graph *g, PassStats *st);
/* PyTorch's exact GELU chain (x/sqrt2 -> Erf -> +1 -> *x -> *0.5) into one
 * Gelu node (fuse_gelu.c); needs folded constants and a toposort after. */
Status pass_fuse_gelu(Ctx *cx, Graph *g, PassStats *st);

/* TFLite level: RELU/RELU6/RELU_N1_TO_1 into the producing operator's
 * fused activation; chained RESHAPEs merged, no-op RESHAPEs dropped. */
Status pass_tfl_fuse_activations(Ctx *cx, Graph *g, PassStats *st);
Status pass_tfl_cleanup(Ctx *cx, Graph *g, PassStats *st);

#endif
