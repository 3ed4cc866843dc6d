#!/usr/bin/env python3
"""Regression cases for what the model zoo (tools/zoo/) found, without torch.

    build/venv/bin/python tests/check_zoo_regressions.py [--bin build/onnx2lite]
        [-k SUBSTRING] [--verbose]

Each case is a small ONNX model built here with onnx.helper that reproduces
one pattern a real PyTorch export had (the zoo model named in the case's
note).  It is converted with the default (channels-last) edges, run in
LiteRT (XNNPACK, builtin and reference kernels) and compared with
onnxruntime to a relative error of 1e-5 (max |diff| / max |reference|);
the TFLite operator counts the case declares (TRANSPOSE is always 0 unless
said otherwise) and the input layout, where declared, are checked too.
Exit status 1 if any case fails.  Closing line: 'N passed, N failed'.
"""

import argparse
import os
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter
from onnx import TensorProto, helper
from o2l_testlib import REPO, RESOLVERS, const, convert, node, onnx_model

sys.path.insert(0, os.path.join(os.path.dirname(REPO), "shared", "tools"))
RTOL = 1e-5
RNG = np.random.default_rng(7)
F32 = TensorProto.FLOAT


def f32(*shape, lo=-1.0, hi=1.0):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


class Case:
    """nodes over input X [shape] -> output Y; counts: TFLite op -> expected
    count (None: at least one); input_shape: expected .tflite input shape."""

    def __init__(self, name, note, nodes, shape, inits=(), counts=None, opset=13,
                 input_shape=None, outputs=("Y",)):
        self.name, self.note, self.nodes, self.shape = name, note, nodes, shape
        self.inits, self.opset, self.input_shape = list(inits), opset, input_shape
        self.outputs = outputs
        self.counts = {"TRANSPOSE": 0}
        self.counts.update(counts or {})

    def model(self):
        return onnx_model(self.name, self.nodes, [("X", F32, self.shape)],
                          [(o, F32) for o in self.outputs], self.inits, self.opset)


def conv(name, x, y, cin, cout, k=1, stride=1, pad=0, group=1):
    w = const(name + "_w", f32(cout, cin // group, *((k, k) if isinstance(k, int) else k)) * 0.5)
    b = const(name + "_b", f32(cout))
    ks = (k, k) if isinstance(k, int) else k
    p = (pad,) * 4 if isinstance(pad, int) else pad
    return node("Conv", [x, w.name, b.name], [y], kernel_shape=list(ks), strides=[stride, stride],
                pads=list(p), group=group), [w, b]


# ---- HardSwish written out (mobilenet_v3_* at opset <= 13, YOLOv5 style) ---

def hswish_cases():
    cs = []
    c0, i0 = conv("c0", "X", "f", 3, 8)
    k = dict(three=const("three", np.float32(3)), zero=const("zero", np.float32(0)),
             six=const("six", np.float32(6)), sixth=const("sixth", np.float32(1 / 6)))
    relu6_p3 = [node("Add", ["f", "three"], ["a"]), node("Clip", ["a", "zero", "six"], ["r"])]
    cs.append(Case("hswish_hardsigmoid", "mobilenet_v3_small/large opset 11/13",
                   [c0, node("HardSigmoid", ["f"], ["h"], alpha=1 / 6, beta=0.5),
                    node("Mul", ["f", "h"], ["Y"])],
                   [1, 3, 6, 7], i0, counts={"HARD_SWISH": 1, "MUL": 0, "ADD": 0}))
    cs.append(Case("hswish_hardsigmoid_swapped", "operand order",
                   [c0, node("HardSigmoid", ["f"], ["h"], alpha=1 / 6, beta=0.5),
                    node("Mul", ["h", "f"], ["Y"])],
                   [1, 3, 6, 7], i0, counts={"HARD_SWISH": 1, "MUL": 0}))
    cs.append(Case("hswish_div6", "x * relu6(x + 3) / 6 (YOLOv5 Hardswish)",
                   [c0] + relu6_p3 + [node("Mul", ["f", "r"], ["m"]), node("Div", ["m", "six"], ["Y"])],
                   [1, 3, 6, 7], i0 + list(k.values()),
                   counts={"HARD_SWISH": 1, "MUL": 0, "DIV": 0, "ADD": 0}))
    cs.append(Case("hswish_gate_times_sixth", "x * (relu6(x + 3) * (1/6))",
                   [c0] + relu6_p3 + [node("Mul", ["r", "sixth"], ["g"]), node("Mul", ["g", "f"], ["Y"])],
                   [1, 3, 6, 7], i0 + list(k.values()), counts={"HARD_SWISH": 1, "MUL": 0}))
    # not hard-swish: the gate is read twice, or the HardSigmoid is not torch's
    cs.append(Case("hswish_gate_shared", "HardSigmoid also an output: no fusion",
                   [c0, node("HardSigmoid", ["f"], ["h"], alpha=1 / 6, beta=0.5),
                    node("Mul", ["f", "h"], ["Y"])],
                   [1, 3, 6, 7], i0, counts={"HARD_SWISH": 0}, outputs=("Y", "h")))
    cs.append(Case("hswish_other_alpha", "HardSigmoid alpha 0.2: no fusion",
                   [c0, node("HardSigmoid", ["f"], ["h"], alpha=0.2, beta=0.5),
                    node("Mul", ["f", "h"], ["Y"])],
                   [1, 3, 6, 7], i0, counts={"HARD_SWISH": 0}))
    cs.append(Case("hswish_gate_of_other", "SE gate x * hsig(s), s != x: no fusion",
                   [c0, node("GlobalAveragePool", ["f"], ["s"]),
                    node("HardSigmoid", ["s"], ["h"], alpha=1 / 6, beta=0.5),
                    node("Mul", ["f", "h"], ["Y"])],
                   [1, 3, 6, 7], i0, counts={"HARD_SWISH": 0}))
    return cs


# ---- no-op pools, Focus stem, dense-layer weights -------------------------

def misc_cases():
    cs = []
    c0, i0 = conv("c0", "X", "f", 3, 8, k=3, pad=1)
    fc_w = const("fc_w", f32(10, 8 * 5 * 5))
    fc_b = const("fc_b", f32(10))
    cs.append(Case("adaptive_pool_identity", "vgg11_bn / alexnet: AdaptiveAvgPool2d to its own size",
                   [c0, node("AveragePool", ["f"], ["p"], kernel_shape=[1, 1], strides=[1, 1]),
                    node("MaxPool", ["p"], ["q"], kernel_shape=[1, 1]),
                    node("Flatten", ["q"], ["fl"]), node("Gemm", ["fl", "fc_w", "fc_b"], ["Y"], transB=1)],
                   [1, 3, 5, 5], i0 + [fc_w, fc_b],
                   counts={"AVERAGE_POOL_2D": 0, "MAX_POOL_2D": 0, "FULLY_CONNECTED": 1}))
    # Focus: x[..., ::2, ::2] etc. concatenated on channels, then a Conv;
    # PyTorch writes each view as a Slice on H (shared) then one on W
    st = {nm: const(nm, np.array(v, np.int64)) for nm, v in
          (("z", [0]), ("o", [1]), ("big", [64]), ("a2", [2]), ("a3", [3]), ("two", [2]))}
    nodes = [node("Slice", ["X", "z", "big", "a2", "two"], ["h0"]),
             node("Slice", ["X", "o", "big", "a2", "two"], ["h1"])]
    for i, (h, w0) in enumerate((("h0", "z"), ("h1", "z"), ("h0", "o"), ("h1", "o"))):
        nodes.append(node("Slice", [h, w0, "big", "a3", "two"], ["q%d" % i]))
    c1, i1 = conv("c1", "cat", "Y", 12, 8, k=3, pad=1)
    cs.append(Case("focus_stem", "yolo_like: strided Slices of the input, Concat, Conv",
                   nodes + [node("Concat", ["q0", "q1", "q2", "q3"], ["cat"], axis=1), c1],
                   [1, 3, 8, 10], i1 + list(st.values()),
                   counts={"CONV_2D": 1, "SPACE_TO_DEPTH": 1, "STRIDED_SLICE": 0,
                           "CONCATENATION": 0}, input_shape=[1, 8, 10, 3]))
    # the Concat also read by something other than a convolution: the
    # channel order cannot be renumbered, the strided slices stay
    cs.append(Case("focus_stem_shared", "Focus Concat also a graph output: slices stay",
                   nodes + [node("Concat", ["q0", "q1", "q2", "q3"], ["cat"], axis=1), c1],
                   [1, 3, 8, 10], i1 + list(st.values()), outputs=("Y", "cat"),
                   counts={"SPACE_TO_DEPTH": 0, "STRIDED_SLICE": 4}))
    # Slice of a Slice with negative steps (x.flip-like views)
    ns = {nm: const(nm, np.array(v, np.int64)) for nm, v in
          (("s_a", [6, 1]), ("e_a", [-100, 100]), ("x_a", [2, 3]), ("p_a", [-1, 2]),
           ("s_b", [1, 4]), ("e_b", [100, -100]), ("x_b", [2, 3]), ("p_b", [2, -3]))}
    cs.append(Case("slice_of_slice_negative", "composed negative and positive steps",
                   [c0, node("Slice", ["f", "s_a", "e_a", "x_a", "p_a"], ["g"]),
                    node("Slice", ["g", "s_b", "e_b", "x_b", "p_b"], ["Y"])],
                   [1, 3, 8, 10], i0 + list(ns.values()), counts={"STRIDED_SLICE": 1}))
    # dense layers: permuted columns (flatten of a channels-last map), a
    # plain Linear (weights used as they are), alpha != 1, MatMul [K, N]
    K = 8 * 5 * 5
    wl = const("wl", f32(40, K))
    wm = const("wm", f32(K, 36))
    wa = const("wa", f32(36, 24))
    cs.append(Case("dense_weights", "vgg/alexnet: FC weight fast paths",
                   [c0, node("Flatten", ["f"], ["fl"]),
                    node("Gemm", ["fl", "wl"], ["g1"], transB=1),
                    node("MatMul", ["fl", "wm"], ["g2"]),
                    node("Gemm", ["g2", "wa"], ["g3"], alpha=0.5),
                    node("Gemm", ["g1", "wl2"], ["g4"], transB=1, alpha=2.0),
                    node("Concat", ["g3", "g4"], ["Y"], axis=1)],
                   [1, 3, 5, 5], i0 + [wl, wm, wa, const("wl2", f32(12, 40))],
                   counts={"FULLY_CONNECTED": 4}))
    # weights permuted through the tiled path: channel counts past one tile
    c2, i2 = conv("c2", "X", "a", 3, 40, k=(3, 5), pad=(1, 2, 1, 2))
    c3, i3 = conv("c3", "a", "b", 40, 70, k=3, pad=1)
    c4, i4 = conv("c4", "b", "c", 70, 70, k=3, pad=1, group=70)
    c5, i5 = conv("c5", "c", "Y", 70, 33, k=(1, 3), pad=(0, 1, 0, 1))
    cs.append(Case("conv_weight_tiles", "r3d_18 / wide_resnet50_2: weight permutation",
                   [c2, c3, c4, c5], [1, 3, 6, 7], i2 + i3 + i4 + i5,
                   counts={"CONV_2D": 3, "DEPTHWISE_CONV_2D": 1}))
    # ReLU after a Concat of conv branches (Inception-style): LiteRT's
    # CONCATENATION takes no fused activation, so the ReLU moves into the
    # convolutions that make the concatenated tensors
    ca, ia = conv("ca", "X", "a", 3, 4, k=3, pad=1)
    cb, ib = conv("cb", "X", "b", 3, 6, k=1)
    cs.append(Case("relu_after_concat", "googlenet / inception: ReLU of a Concat",
                   [ca, cb, node("Concat", ["a", "b"], ["cat"], axis=1),
                    node("Relu", ["cat"], ["Y"])],
                   [1, 3, 6, 7], ia + ib, counts={"CONV_2D": 2, "CONCATENATION": 1, "RELU": 0}))
    return cs


# ---- softmax over an axis that is not stored last (ResNeSt, SKNet) ---------

def softmax_cases():
    cs = []
    c0, i0 = conv("c0", "X", "x", 3, 16, k=3, pad=1)
    c1, i1 = conv("c1", "g", "a", 16, 16)
    shp = {nm: const(nm, np.array(v, np.int64)) for nm, v in
           (("s4", [1, 1, 2, 8]), ("s5", [1, 2, 8, 1, 1]), ("x5", [1, 2, 8, 6, 6]))}
    for op in ("Softmax", "LogSoftmax"):
        cs.append(Case("radix_%s" % op.lower(), "timm resnest14d rSoftMax: softmax over the radix axis",
                       [c0, node("GlobalAveragePool", ["x"], ["g"]), c1,
                        node("Reshape", ["a", "s4"], ["r"]), node("Transpose", ["r"], ["t"], perm=[0, 2, 1, 3]),
                        node(op, ["t"], ["sm"], axis=1), node("Reshape", ["sm", "s5"], ["w"]),
                        node("Reshape", ["x", "x5"], ["xs"]), node("Mul", ["xs", "w"], ["m"]),
                        node("ReduceSum", ["m", "ax1"], ["Y"], keepdims=0)],
                       [1, 3, 6, 6], i0 + i1 + list(shp.values()) + [const("ax1", np.array([1], np.int64))],
                       counts={"SOFTMAX": 0, "LOG_SOFTMAX": 0, "REDUCE_MAX": 1}))
    # over H of a channels-last map, opset 11 (rows of H*W values)
    cs.append(Case("softmax_rows_opset11", "opset < 13 Softmax over (H, W) of a channels-last map",
                   [c0, node("Softmax", ["x"], ["Y"], axis=2)], [1, 3, 6, 6], i0, opset=11,
                   counts={"SOFTMAX": 0, "REDUCE_MAX": 1}))
    # weight standardization (timm nf_resnet26 / resnetv2_50x1_bit): the
    # conv weight is BatchNormalization (inference form) of constants
    wraw = const("wraw", f32(1, 8, 27))
    bnp = [const("bn_s", f32(8, lo=0.5, hi=1.5)), const("bn_b", np.zeros(8, np.float32)),
           const("bn_m", f32(8, lo=-0.1, hi=0.1)), const("bn_v", f32(8, lo=0.5, hi=2.0))]
    cs.append(Case("weight_standardization", "timm nf_resnet26 / resnetv2_50x1_bit StdConv2d",
                   [node("BatchNormalization", ["wraw"] + [b.name for b in bnp], ["wn"], epsilon=1e-5),
                    node("Reshape", ["wn", "wshape"], ["w"]),
                    node("Conv", ["X", "w"], ["Y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
                   [1, 3, 6, 7], [wraw, const("wshape", np.array([8, 3, 3, 3], np.int64))] + bnp,
                   counts={"CONV_2D": 1}))
    return cs


# ---- re-parameterizable branches (RepVGG, MobileOne, RepGhost) -----------

def bn_params(prefix, c):
    return [const(prefix + "_s", f32(c, lo=0.5, hi=1.5)), const(prefix + "_b", f32(c)),
            const(prefix + "_m", f32(c, lo=-0.2, hi=0.2)), const(prefix + "_v", f32(c, lo=0.5, hi=2.0))]


def branch_cases():
    cs = []
    c0, i0 = conv("c0", "X", "x0", 3, 8, k=3, pad=1)
    pre = [c0, node("Relu", ["x0"], ["x"])]
    k3, j3 = conv("k3", "x", "a3", 8, 8, k=3, pad=1)
    k1, j1 = conv("k1", "x", "a1", 8, 8, k=1)
    k5, j5 = conv("k5", "x", "a5", 8, 8, k=5, pad=2)
    bn = bn_params("bn", 8)
    bnn = node("BatchNormalization", ["x"] + [b.name for b in bn], ["id"])
    cs.append(Case("repvgg_block", "timm repvgg_a0: conv3x3(x) + conv1x1(x) + BN(x)",
                   pre + [k3, k1, bnn, node("Add", ["a3", "a1"], ["s"]), node("Add", ["s", "id"], ["r"]),
                          node("Relu", ["r"], ["Y"])],
                   [1, 3, 6, 7], i0 + j3 + j1 + bn, counts={"CONV_2D": 2, "ADD": 0, "MUL": 0}))
    cs.append(Case("mobileone_block", "timm mobileone_s0: 0 + conv1x1 + conv3x3 + conv5x5 + x",
                   pre + [k1, k3, k5, node("Add", ["zero", "a1"], ["s0"]), node("Add", ["s0", "a3"], ["s1"]),
                          node("Add", ["a5", "s1"], ["s2"]), node("Add", ["s2", "x"], ["Y"])],
                   [1, 3, 6, 7], i0 + j3 + j1 + j5 + [const("zero", np.float32(0))],
                   counts={"CONV_2D": 2, "ADD": 0}))
    dw, jd = conv("dw", "x", "d", 8, 8, k=3, pad=1, group=8)
    cs.append(Case("repghost_dw_bn", "timm repghostnet_050: depthwise conv(x) + fusion BN(x)",
                   pre + [dw, bnn, node("Add", ["d", "id"], ["Y"])],
                   [1, 3, 6, 7], i0 + jd + bn, counts={"DEPTHWISE_CONV_2D": 1, "ADD": 0, "MUL": 0}))
    # not mergeable: the taps of a dilated 3x3 are not on a plain 3x3's
    kd = node("Conv", ["x", "kd_w", "kd_b"], ["ad"], kernel_shape=[3, 3], pads=[2, 2, 2, 2],
              dilations=[2, 2])
    cs.append(Case("dilated_not_merged", "dilation 2 + dilation 1: stays two convs",
                   pre + [k3, kd, node("Add", ["a3", "ad"], ["Y"])],
                   [1, 3, 6, 7], i0 + j3 + [const("kd_w", f32(8, 8, 3, 3) * 0.5), const("kd_b", f32(8))],
                   counts={"CONV_2D": 3, "ADD": 1}))
    s2, j2 = conv("s2", "x", "b2", 8, 8, k=3, stride=2, pad=1)
    cs.append(Case("strided_identity_not_merged", "stride-2 conv + pooled x: stays",
                   pre + [s2, node("MaxPool", ["x"], ["px"], kernel_shape=[1, 1], strides=[2, 2]),
                          node("Add", ["b2", "px"], ["Y"])],
                   [1, 3, 6, 6], i0 + j2, counts={"ADD": 1}))
    return cs


# ---- CumSum (timm edgenext: positional encoding from a mask of ones) -------

def cumsum_cases():
    cs = []
    c0, i0 = conv("c0", "X", "f", 3, 4, k=3, pad=1)
    cs.append(Case("cumsum_const_posenc", "edgenext PositionalEncodingFourier: ones.cumsum(1), folded",
                   [c0, node("ConstantOfShape", ["shp"], ["ones"],
                             value=helper.make_tensor("v", F32, [1], [1.0])),
                    node("CumSum", ["ones", "ax1"], ["pe"]), node("Add", ["f", "pe"], ["Y"])],
                   [1, 3, 6, 7], i0 + [const("shp", np.array([1, 1, 6, 7], np.int64)),
                                       const("ax1", np.array(2, np.int64))],
                   counts={"CUMSUM": 0, "ADD": 1}))
    for ex, rev in ((0, 0), (1, 0), (0, 1), (1, 1)):
        cs.append(Case("cumsum_runtime_h_e%d_r%d" % (ex, rev), "CumSum over H of a channels-last map",
                       [c0, node("CumSum", ["f", "ax"], ["Y"], exclusive=ex, reverse=rev)],
                       [1, 3, 6, 7], i0 + [const("ax", np.array(2, np.int32))],
                       counts={"CUMSUM": 1}))
    return cs


# ---- space-to-depth written out (timm tresnet_m, PixelUnshuffle) -----------

def s2d_cases():
    cs = []

    def s2d(x, y, c, h, w, b, perm, tag):
        return [node("Reshape", [x, tag + "_s6"], [tag + "_r"]),
                node("Transpose", [tag + "_r"], [tag + "_t"], perm=perm),
                node("Reshape", [tag + "_t", tag + "_s4"], [y])], \
            [const(tag + "_s6", np.array([-1, c, h // b, b, w // b, b], np.int64)),
             const(tag + "_s4", np.array([-1, c * b * b, h // b, w // b], np.int64))]

    dcr, crd = [0, 3, 5, 1, 2, 4], [0, 1, 3, 5, 2, 4]
    n0, k0 = s2d("X", "s", 3, 8, 10, 2, dcr, "a")
    c1, i1 = conv("c1", "s", "Y", 12, 8, k=3, pad=1)
    cs.append(Case("s2d_dcr", "timm tresnet_m SpaceToDepth: view/permute/view, DCR order",
                   n0 + [c1], [1, 3, 8, 10], k0 + i1,
                   counts={"SPACE_TO_DEPTH": 1, "RESHAPE": 0, "CONV_2D": 1},
                   input_shape=[1, 8, 10, 3]))
    n1, k1 = s2d("X", "s", 3, 8, 10, 2, crd, "a")
    cs.append(Case("s2d_pixel_unshuffle", "PixelUnshuffle (CRD): conv input channels renumbered",
                   n1 + [c1], [1, 3, 8, 10], k1 + i1,
                   counts={"SPACE_TO_DEPTH": 1, "RESHAPE": 0, "CONV_2D": 1}))
    # block 3, an order of its own, through a LeakyRelu and a Clip into a
    # Conv and a ConvTranspose
    c0, i0 = conv("c0", "X", "f", 3, 4, k=3, pad=1)
    n2, k2 = s2d("f", "s", 4, 9, 6, 3, [0, 5, 1, 3, 2, 4], "b")
    c2, i2 = conv("c2", "l", "y1", 36, 5, k=3, pad=1)
    ct = node("ConvTranspose", ["m", "ct_w", "ct_b"], ["y2"], kernel_shape=[2, 2], strides=[2, 2])
    cs.append(Case("s2d_block3_branches", "jcb order, b=3, activations, Conv + ConvTranspose readers",
                   [c0] + n2 + [node("LeakyRelu", ["s"], ["l"], alpha=0.1),
                                node("Clip", ["s", "lo", "hi"], ["m"]), c2, ct],
                   [1, 3, 9, 6], i0 + k2 + i2 + [const("ct_w", f32(36, 5, 2, 2) * 0.5), const("ct_b", f32(5)),
                                                  const("lo", np.float32(-0.5)), const("hi", np.float32(0.5))],
                   counts={"SPACE_TO_DEPTH": 1, "RESHAPE": 0}, outputs=("y1", "y2")))
    # not absorbable: a grouped conv ties channels to groups (one TRANSPOSE,
    # as before); DCR order needs no reader's help
    c3, i3 = conv("c3", "s", "Y", 12, 8, k=3, pad=1, group=2)
    cs.append(Case("s2d_crd_grouped_reader", "CRD into a grouped conv: left to the layout algebra",
                   n1 + [c3], [1, 3, 8, 10], k1 + i3, counts={"SPACE_TO_DEPTH": 0, "TRANSPOSE": 1}))
    n4, k4 = s2d("X", "s", 3, 8, 10, 2, dcr, "a")
    cs.append(Case("s2d_dcr_grouped_reader", "DCR into a grouped conv: SPACE_TO_DEPTH",
                   n4 + [c3], [1, 3, 8, 10], k4 + i3, counts={"SPACE_TO_DEPTH": 1}))
    return cs

# ---- per-channel input transform (torchvision googlenet/inception_v3
# transform_input=True) -------------------------------------------------------

def affine_cases():
    cs = []
    c1, i1 = conv("c1", "cat", "Y", 3, 8, k=3, pad=1)
    nodes, inits = [], [const("ax1", np.array([1], np.int64))]
    for c, (a, b) in enumerate(((0.458, -0.03), (0.448, -0.088), (0.45, -0.188))):
        idx = c if c < 2 else -1  # x[:, -1] for the last one
        inits += [const("i%d" % c, np.array(idx, np.int64)), const("a%d" % c, np.float32(a)),
                  const("b%d" % c, np.float32(b))]
        nodes += [node("Gather", ["X", "i%d" % c], ["g%d" % c], axis=1),
                  node("Unsqueeze", ["g%d" % c, "ax1"], ["u%d" % c]),
                  node("Mul", ["u%d" % c, "a%d" % c], ["m%d" % c]),
                  node("Add", ["m%d" % c, "b%d" % c], ["p%d" % c])]
    cs.append(Case("transform_input", "googlenet_transform_input: x[:, c] * a + b per channel, Concat",
                   nodes + [node("Concat", ["p0", "p1", "p2"], ["cat"], axis=1), c1],
                   [1, 3, 8, 10], inits + i1, input_shape=[1, 8, 10, 3],
                   counts={"MUL": 1, "ADD": 1, "CONCATENATION": 0, "GATHER": 0, "SLICE": 0,
                           "STRIDED_SLICE": 0, "RESHAPE": 0, "CONV_2D": 1}))
    # Slices of several channels, other chain spellings, an untouched piece
    sl = {nm: const(nm, np.array(v, np.int64)) for nm, v in
          (("s0", [0]), ("e0", [2]), ("s1", [2]), ("e1", [3]), ("s2", [3]), ("e2", [4]))}
    k = {nm: const(nm, np.float32(v)) for nm, v in (("ka", 1.7), ("km", 0.25), ("ks", 0.5), ("kc", 2.0))}
    c4, i4 = conv("c4", "cat", "Y", 4, 6, k=1)
    c5, i5 = conv("c5", "cat", "Y", 5, 6, k=1)
    cs.append(Case("channel_affine_slices", "Slice pieces: *a, (x - m) / s, c - x, as is",
                   [node("Slice", ["X", "s0", "e0", "ax1"], ["q0"]),
                    node("Slice", ["X", "s1", "e1", "ax1"], ["q1"]),
                    node("Slice", ["X", "s2", "e2", "ax1"], ["q2"]),
                    node("Mul", ["ka", "q0"], ["r0"]),
                    node("Sub", ["q1", "km"], ["d1"]), node("Div", ["d1", "ks"], ["r1"]),
                    node("Sub", ["kc", "q2"], ["r2"]),
                    node("Slice", ["X", "e2", "big", "ax1"], ["q3"]),
                    node("Concat", ["r0", "r1", "r2", "q3"], ["cat"], axis=1), c5],
                   [1, 5, 6, 7], list(sl.values()) + list(k.values()) + i5 +
                   [const("ax1", np.array([1], np.int64)), const("big", np.array([99], np.int64))],
                   counts={"MUL": 1, "ADD": 1, "CONCATENATION": 0, "SLICE": 0, "STRIDED_SLICE": 0}))
    cs.append(Case("channel_affine_scale_only", "every piece only scaled: one MUL",
                   [node("Slice", ["X", "s0", "e0", "ax1"], ["q0"]),
                    node("Slice", ["X", "e0", "big", "ax1"], ["q1"]),
                    node("Mul", ["q0", "ka"], ["r0"]), node("Mul", ["q1", "ks"], ["r1"]),
                    node("Concat", ["r0", "r1"], ["cat"], axis=1), c4],
                   [1, 4, 6, 7], list(sl.values()) + list(k.values()) + i4 +
                   [const("ax1", np.array([1], np.int64)), const("big", np.array([99], np.int64))],
                   counts={"MUL": 1, "ADD": 0, "CONCATENATION": 0}))
    # pieces out of order: a channel permutation, not an affine map
    cs.append(Case("channel_affine_reordered", "x[:, 1], x[:, 0]: left as it is",
                   [node("Gather", ["X", "i1"], ["g1"], axis=1), node("Unsqueeze", ["g1", "ax1"], ["u1"]),
                    node("Gather", ["X", "i0"], ["g0"], axis=1), node("Unsqueeze", ["g0", "ax1"], ["u0"]),
                    node("Mul", ["u1", "a1"], ["m1"]), node("Mul", ["u0", "a0"], ["m0"]),
                    node("Concat", ["m1", "m0"], ["Y"], axis=1)],
                   [1, 2, 6, 7], [const("ax1", np.array([1], np.int64)), const("i0", np.array(0, np.int64)),
                                  const("i1", np.array(1, np.int64)), const("a0", np.float32(0.5)),
                                  const("a1", np.float32(3.0))],
                   counts={"CONCATENATION": 1}))
    return cs

def all_cases():
    return (hswish_cases() + misc_cases() + softmax_cases() + branch_cases() + cumsum_cases() +
            s2d_cases() + affine_cases())


# ---- running -----------------------------------------------------------------

def op_histogram(path):
    import eval_tflite  # shared/tools: the reviewers' flatbuffer reader
    info = eval_tflite.read_tflite_info(path)
    return info["op_histogram"], info["inputs"]


def run_tflite(path, x, resolver):
    it = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    if list(d["shape"]) != list(x.shape):
        x = x.transpose(0, 2, 3, 1)
    it.set_tensor(d["index"], np.ascontiguousarray(x))
    it.invoke()
    outs = []
    for o in it.get_output_details():
        y = it.get_tensor(o["index"])
        outs.append(y)
    return outs


def check(case, binary, work, verbose):
    onnx_path = os.path.join(work, case.name + ".onnx")
    tfl = os.path.join(work, case.name + ".tflite")
    with open(onnx_path, "wb") as f:
        f.write(case.model().SerializeToString())
    p = convert(binary, onnx_path, tfl)
    if verbose:
        print(p.stdout + p.stderr)
    if p.returncode != 0:
        return ["convert failed (%d): %s" % (p.returncode, (p.stdout + p.stderr).strip()[-300:])]
    errs = []
    hist, ins = op_histogram(tfl)
    for op, want in case.counts.items():
        got = hist.get(op, 0)
        if (want is None and got == 0) or (want is not None and got != want):
            errs.append("%s: %d, expected %s" % (op, got, "some" if want is None else want))
    if case.input_shape and list(ins[0]["shape"]) != case.input_shape:
        errs.append("input shape %s, expected %s" % (ins[0]["shape"], case.input_shape))
    x = RNG.standard_normal(case.shape).astype(np.float32)
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    refs = sess.run(None, {"X": x})
    for res in RESOLVERS:
        outs = run_tflite(tfl, x, res)
        for ref, y in zip(refs, outs):
            if y.shape != ref.shape and y.ndim == 4:
                y = y.transpose(0, 3, 1, 2)
            if y.shape != ref.shape:
                errs.append("%s: shape %s vs %s" % (res.name, y.shape, ref.shape))
                continue
            rel = float(np.max(np.abs(y - ref)) / max(np.max(np.abs(ref)), 1e-30))
            if rel > RTOL:
                errs.append("%s: rel error %.2e" % (res.name, rel))
    return errs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "onnx2lite"))
    ap.add_argument("-k", default="")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as work:
        for c in all_cases():
            if args.k not in c.name:
                continue
            errs = check(c, args.bin, work, args.verbose)
            if errs:
                failed += 1
                print("FAIL %-28s (%s)\n     %s" % (c.name, c.note, "\n     ".join(errs)))
            else:
                passed += 1
                print("ok   %-28s (%s)" % (c.name, c.note))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
