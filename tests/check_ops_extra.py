#!/usr/bin/env python3
"""Numerical check of the operators added for CNN coverage: 3-D feature maps
(Conv, ConvTranspose, pools, global pools, BatchNorm on NCDHW), the
normalizations (LayerNormalization, InstanceNormalization, GroupNorm and
LayerNorm as older PyTorch exports them), GELU and its Erf chain, Erf, Mish,
Selu, Celu, ThresholdedRelu, Softsign, DepthToSpace, SpaceToDepth, LRN, the
extra reductions, ArgMin, TopK and Mod, in LiteRT against onnxruntime.

    build/venv/bin/python tests/check_ops_extra.py [--bin build/onnx2lite]
        [-k SUBSTRING] [--verbose]

Every case is a small ONNX model built here with onnx.helper, either in a
channels-last context (a Conv makes the map the operator reads, so it is
stored NHWC / NDHWC) or on plain tensors, at the opsets the operator has
variants for.  Each model is converted twice (default edges and
--keep-io-layout), run in LiteRT with XNNPACK (the default), with the builtin
kernels and with the reference kernels, and compared with onnxruntime:
floats to a relative error (max |diff| / max |reference|) of 1e-5 unless a
case says otherwise (the Erf decomposition is checked to an absolute 1e-5),
integers exactly.  In the default mode the operator counts a case declares
(always TRANSPOSE: 0 unless said otherwise) are checked on the file.  Cases
that must be refused check the exit status and the message.  Exit status 1
if any case fails.
"""

import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
from onnx.reference import ReferenceEvaluator

from ai_edge_litert.interpreter import OpResolverType
from o2l_testlib import (REPO, RESOLVERS, Case, cl_perm, const, convert,
                         count_errors, interpreter, node, op_counts,
                         ort_outputs)

RNG = np.random.default_rng(1)
SKIPPED = set()

F32, I32, I64, BOOL = (TensorProto.FLOAT, TensorProto.INT32, TensorProto.INT64,
                       TensorProto.BOOL)
NP = {F32: np.float32, I32: np.int32, I64: np.int64, BOOL: np.bool_}
CIN = 3


def f32(*shape, lo=-1.0, hi=1.0):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


def front(rank, c, out="feat", name="w"):
    """A 1x1 Conv from the NC... input X to `out` with c channels: the map
    the operator under test reads is then stored channels-last."""
    w = const(name, f32(c, CIN, *([1] * (rank - 2))))
    b = const(name + "_b", f32(c))
    return [node("Conv", ["X", w.name, b.name], [out])], [w, b]


def map_case(name, spatial, c, body, outputs, inits=(), n=1, **kw):
    """Case whose body reads `feat`, an (n, c, *spatial) channels-last map."""
    nodes, ci = front(2 + len(spatial), c)
    inputs = [("X", F32, [n, CIN] + list(spatial))] + kw.pop("extra_inputs", [])
    return Case(name, nodes + body, inputs, outputs, ci + list(inits), **kw)


# ---- 3-D feature maps ------------------------------------------------------------

def cases_3d():
    cs = []
    S = [6, 7, 8]  # D, H, W
    C = 4

    def conv(name, k, m=5, group=1, bias=True, n=1, counts=None, **attrs):
        counts = dict(counts or {})
        counts["CONV_2D"] = counts.get("CONV_2D", 0) + 1  # the front Conv
        w = const("cw", f32(m, C // group, *k))
        ins = ["feat", "cw"] + (["cb"] if bias else [])
        inits = [w] + ([const("cb", f32(m))] if bias else [])
        cs.append(map_case(f"conv3d_{name}", S, C,
                           [node("Conv", ins, ["y"], group=group, **attrs)],
                           [("y", F32)], inits, n=n, counts=counts))

    c3 = {"CONV_3D": 1}
    conv("k3_same", [3, 3, 3], pads=[1] * 6, counts=c3)
    conv("relu_fused", [3, 3, 3], pads=[1] * 6, counts={"CONV_3D": 1, "RELU": 0})
    cs[-1].nodes[-1].output[0] = "t"
    cs[-1].nodes.append(node("Relu", ["t"], ["y"]))
    conv("k3_s2_p1", [3, 3, 3], strides=[2, 2, 2], pads=[1] * 6, counts=c3)
    conv("k3_valid", [3, 3, 3], counts=c3)
    conv("k3_nobias", [3, 3, 3], bias=False, pads=[1] * 6, counts=c3)
    conv("k3_asym_pads", [3, 2, 3], pads=[0, 1, 2, 2, 0, 1], counts={"CONV_3D": 1, "PAD": 1})
    conv("k3_dil2", [3, 3, 3], dilations=[2, 1, 2], pads=[2, 1, 2, 2, 1, 2], counts=c3)
    conv("k3_batch2", [3, 3, 3], n=2, strides=[1, 2, 1], pads=[1] * 6, counts=c3)
    conv("auto_same_upper", [2, 3, 2], auto_pad="SAME_UPPER", counts=c3)
    conv("auto_same_lower", [2, 3, 2], auto_pad="SAME_LOWER", counts=c3)
    conv("k133", [1, 3, 3], pads=[0, 1, 1, 0, 1, 1], counts={"CONV_2D": 1, "CONV_3D": 0})
    conv("k133_s2", [1, 3, 3], strides=[1, 2, 2], pads=[0, 1, 1, 0, 1, 1],
         counts={"CONV_2D": 1, "CONV_3D": 0})
    conv("k311", [3, 1, 1], pads=[1, 0, 0, 1, 0, 0], counts={"CONV_2D": 1, "CONV_3D": 0})
    conv("k311_s2", [3, 1, 1], strides=[2, 1, 1], counts={"CONV_2D": 1, "CONV_3D": 0})
    conv("k111", [1, 1, 1], n=2, counts={"CONV_2D": 1, "CONV_3D": 0})
    conv("depthwise_k3", [3, 3, 3], m=C, group=C, pads=[1] * 6,
         counts={"DEPTHWISE_CONV_2D": 3, "CONV_3D": 0})
    conv("depthwise_mult2_s2", [3, 3, 3], m=2 * C, group=C, strides=[2, 2, 2],
         pads=[1] * 6, counts={"DEPTHWISE_CONV_2D": 3, "STRIDED_SLICE": 3})
    conv("depthwise_k133", [1, 3, 3], m=C, group=C, pads=[0, 1, 1, 0, 1, 1],
         counts={"DEPTHWISE_CONV_2D": 1})
    conv("depthwise_k311", [3, 1, 1], m=C, group=C, pads=[1, 0, 0, 1, 0, 0],
         counts={"DEPTHWISE_CONV_2D": 1})
    conv("grouped2_k3", [3, 3, 3], m=6, group=2, pads=[1, 1, 0, 1, 1, 2],
         counts={"CONV_2D": 3, "CONV_3D": 0})
    conv("grouped2_b2_dil", [3, 3, 3], m=6, group=2, n=2, dilations=[2, 1, 1],
         pads=[2, 1, 1, 2, 1, 1], counts={"CONV_2D": 3})

    # ConvTranspose
    def convt(name, k, counts=None, bias=True, **attrs):
        w = const("tw", f32(C, 3, *k))
        ins = ["feat", "tw"] + (["tb"] if bias else [])
        inits = [w] + ([const("tb", f32(3))] if bias else [])
        cs.append(map_case(f"convt3d_{name}", [3, 4, 5], C,
                           [node("ConvTranspose", ins, ["y"], **attrs)],
                           [("y", F32)], inits, counts=counts))

    ct = {"CONV_3D_TRANSPOSE": 1}
    convt("k2_s2", [2, 2, 2], strides=[2, 2, 2], counts=ct)
    convt("k4_s2_p1", [4, 4, 4], strides=[2, 2, 2], pads=[1] * 6, counts=ct)
    convt("k3_s1_p1_nobias", [3, 3, 3], pads=[1] * 6, bias=False, counts=ct)
    convt("k3_s2_p1_op1", [3, 3, 3], strides=[2, 2, 2], pads=[1] * 6,
          output_padding=[1, 1, 1], counts={"CONV_3D_TRANSPOSE": 1, "SLICE": 1})
    convt("k3_s2_valid", [3, 3, 3], strides=[2, 1, 2], counts=ct)
    convt("relu_fused", [2, 2, 2], strides=[2, 2, 2], counts={"CONV_3D_TRANSPOSE": 1, "RELU": 0})
    cs[-1].nodes[-1].output[0] = "t"
    cs[-1].nodes.append(node("Relu", ["t"], ["y"]))

    # pools
    def pool(name, op, k, opset=13, spatial=S, n=1, counts=None, **attrs):
        cs.append(map_case(f"{op}3d_{name}", spatial, 3,
                           [node(op, ["feat"], ["y"], kernel_shape=k, **attrs)],
                           [("y", F32)], n=n, opset=opset, counts=counts))

    for op in ("MaxPool", "AveragePool"):
        tfl = "MAX_POOL_2D" if op == "MaxPool" else "AVERAGE_POOL_2D"
        pool("k2_s2", op, [2, 2, 2], strides=[2, 2, 2], counts={tfl: 2})
        pool("k3_s2_p1", op, [3, 3, 3], strides=[2, 2, 2], pads=[1] * 6,
             counts={tfl: 2})
        pool("k3_s1_p1_b2", op, [3, 3, 3], pads=[1] * 6, n=2, counts={tfl: 2})
        pool("k133", op, [1, 3, 3], strides=[1, 2, 2], pads=[0, 1, 1, 0, 1, 1],
             counts={tfl: 1})
        pool("k311", op, [3, 1, 1], strides=[2, 1, 1], counts={tfl: 1})
        pool("ceil", op, [3, 2, 3], strides=[2, 2, 2], ceil_mode=1, opset=11)
        pool("asym_pads", op, [3, 3, 2], strides=[2, 1, 2], pads=[0, 1, 1, 2, 1, 0])
        pool("same_upper", op, [3, 2, 3], strides=[2, 2, 1], auto_pad="SAME_UPPER")
        pool("same_lower", op, [3, 2, 3], strides=[2, 2, 1], auto_pad="SAME_LOWER")
    for cip in (0, 1):
        pool(f"cip{cip}_k3_p1", "AveragePool", [3, 3, 3], pads=[1] * 6,
             count_include_pad=cip)
        pool(f"cip{cip}_ceil_p1", "AveragePool", [3, 3, 3], strides=[2, 2, 2],
             pads=[1, 0, 1, 1, 1, 0], count_include_pad=cip, ceil_mode=1, opset=19)
    pool("relu_input", "MaxPool", [3, 3, 3], strides=[2, 2, 2], pads=[1] * 6)
    cs[-1].nodes.insert(1, node("Relu", ["feat"], ["feat_r"]))
    cs[-1].nodes[-1].input[0] = "feat_r"
    cs[-1].counts.update({"PADV2": 0})
    cs.append(Case("MaxPool3d_graph_input", [node("MaxPool", ["X"], ["y"],
                                                  kernel_shape=[2, 2, 2], strides=[2, 2, 2])],
                   [("X", F32, [1, C] + S)], [("y", F32)]))
    cs.append(Case("MaxPool3d_dilated", [node("MaxPool", ["X"], ["y"], kernel_shape=[2, 2, 2],
                                              dilations=[2, 1, 1])],
                   [("X", F32, [1, C] + S)], [("y", F32)], opset=12,
                   refuse="dilated pooling"))
    cs.append(Case("convt3d_grouped", [node("ConvTranspose", ["X", "w"], ["y"], group=2)],
                   [("X", F32, [1, C] + S)], [("y", F32)], [const("w", f32(C, 2, 2, 2, 2))],
                   refuse="grouped 3-D ConvTranspose"))
    cs.append(Case("convt3d_dilated", [node("ConvTranspose", ["X", "w"], ["y"],
                                            dilations=[2, 1, 1])],
                   [("X", F32, [1, C] + S)], [("y", F32)], [const("w", f32(C, 2, 2, 2, 2))],
                   refuse="dilated 3-D ConvTranspose"))
    for op in ("GlobalAveragePool", "GlobalMaxPool"):
        cs.append(map_case(f"{op}_3d", S, C, [node(op, ["feat"], ["y"])], [("y", F32)], n=2))
    cs.append(map_case("BatchNorm_3d_map", S, C, [
        node("Relu", ["feat"], ["r"]),
        node("BatchNormalization", ["r", "g", "b", "m", "v"], ["y"])], [("y", F32)],
        [const("g", f32(C, lo=0.5, hi=2)), const("b", f32(C)), const("m", f32(C)),
         const("v", f32(C, lo=0.1, hi=2))], counts={"MUL": 1, "ADD": 1}))
    # a small 3-D network: no TRANSPOSE anywhere, BN folded into the conv
    cs.append(map_case("net3d", [4, 8, 8], C, [
        node("Conv", ["feat", "w1", "b1"], ["c1"], pads=[1] * 6),
        node("BatchNormalization", ["c1", "g", "b", "m", "v"], ["bn"]),
        node("Relu", ["bn"], ["r1"]),
        node("MaxPool", ["r1"], ["p1"], kernel_shape=[1, 2, 2], strides=[1, 2, 2]),
        node("Conv", ["p1", "w2"], ["c2"], group=8, pads=[1] * 6),
        node("Relu", ["c2"], ["r2"]),
        node("GlobalAveragePool", ["r2"], ["g1"]),
        node("Flatten", ["g1"], ["f"]),
        node("Gemm", ["f", "fw", "fb"], ["y"], transB=1)], [("y", F32)],
        [const("w1", f32(8, C, 3, 3, 3)), const("b1", f32(8)),
         const("g", f32(8, lo=0.5, hi=2)), const("b", f32(8)), const("m", f32(8)),
         const("v", f32(8, lo=0.1, hi=2)), const("w2", f32(8, 1, 3, 3, 3)),
         const("fw", f32(10, 8)), const("fb", f32(10))],
        counts={"CONV_3D": 1, "DEPTHWISE_CONV_2D": 3, "MUL": 0, "RELU": 0}))
    return cs


# ---- normalizations --------------------------------------------------------------

def ln_chain(x, axis, w, b, eps_name, pre, opset):
    """LayerNorm as PyTorch exports it before opset 17."""
    def rmean(i, o):
        if opset >= 18:
            return node("ReduceMean", [i, pre + "axes"], [o], keepdims=1)
        return node("ReduceMean", [i], [o], axes=[axis], keepdims=1)
    return [rmean(x, pre + "mu"), node("Sub", [x, pre + "mu"], [pre + "d"]),
            node("Pow", [pre + "d", pre + "two"], [pre + "sq"]),
            rmean(pre + "sq", pre + "var"),
            node("Add", [pre + "var", eps_name], [pre + "ve"]),
            node("Sqrt", [pre + "ve"], [pre + "sd"]),
            node("Div", [pre + "d", pre + "sd"], [pre + "n"]),
            node("Mul", [pre + "n", w], [pre + "s"]),
            node("Add", [pre + "s", b], [pre + "y"])], \
        [const(pre + "two", np.float32(2))] + \
        ([const(pre + "axes", np.array([axis], np.int64))] if opset >= 18 else [])


def cases_norm():
    cs = []
    C, H, W = 6, 5, 7
    # LayerNormalization-17 on plain tensors
    for shape, axis, bias in (([2, 5, 6], -1, True), ([2, 5, 6], 1, False),
                              ([3, 4, 5, 6], -2, True), ([4, 6], 0, True)):
        nshape = shape[axis:]
        ins = ["a", "sc"] + (["bi"] if bias else [])
        inits = [const("sc", f32(*nshape, lo=0.5, hi=1.5))] + \
            ([const("bi", f32(*nshape))] if bias else [])
        cs.append(Case(f"LayerNorm_plain_{len(shape)}d_axis{axis}{'' if bias else '_nobias'}",
                       [node("LayerNormalization", ins, ["y"], axis=axis, epsilon=1e-5)],
                       [("a", F32, shape)], [("y", F32)], inits, opset=17,
                       counts={"MEAN": 2, "RSQRT": 1}))
    cs.append(Case("LayerNorm_scale_broadcast", [node("LayerNormalization", ["a", "sc", "bi"],
                                                      ["y"], axis=1)],
                   [("a", F32, [2, 5, 6])], [("y", F32)],
                   [const("sc", f32(6, lo=0.5, hi=1.5)), const("bi", f32(1, 6))], opset=17))
    cs.append(Case("LayerNorm_mean_invstd_outputs",
                   [node("LayerNormalization", ["a", "sc", "bi"], ["y", "mu", "inv"], axis=-1)],
                   [("a", F32, [2, 5, 6])], [("y", F32), ("mu", F32), ("inv", F32)],
                   [const("sc", f32(6, lo=0.5, hi=1.5)), const("bi", f32(6))], opset=17))
    # Scale / B computed at run time: applied in the data's axis order
    cs.append(Case("LayerNorm_runtime_scale", [node("LayerNormalization", ["a", "s"], ["y"])],
                   [("a", F32, [2, 6]), ("s", F32, [6])], [("y", F32)], opset=17))
    cs.append(map_case("LayerNorm_runtime_params_map", [H, W], C, [
        node("LayerNormalization", ["feat", "s", "b"], ["y"], axis=2)], [("y", F32)],
        extra_inputs=[("s", F32, [W]), ("b", F32, [H, W])], opset=17))
    cs.append(map_case("InstanceNorm_runtime_params", [H, W], C, [
        node("InstanceNormalization", ["feat", "s", "b"], ["y"])], [("y", F32)],
        extra_inputs=[("s", F32, [C]), ("b", F32, [C])], n=2))
    # ConvNeXt: conv -> permute(0,2,3,1) -> LayerNorm(C) -> Linear -> permute back
    lnw = [const("g", f32(C, lo=0.5, hi=1.5)), const("be", f32(C)),
           const("fc", f32(C, 2 * C)), const("fcb", f32(2 * C)),
           const("w2", f32(4, 2 * C, 3, 3)), const("eps", np.float32(1e-6))]
    tail = [node("MatMul", ["ln", "fc"], ["l1"]), node("Add", ["l1", "fcb"], ["l2"]),
            node("Transpose", ["l2"], ["back"], perm=[0, 3, 1, 2]),
            node("Conv", ["back", "w2"], ["y"], pads=[1, 1, 1, 1])]
    cs.append(map_case("LayerNorm_convnext", [H, W], C, [
        node("Transpose", ["feat"], ["nhwc"], perm=[0, 2, 3, 1]),
        node("LayerNormalization", ["nhwc", "g", "be"], ["ln"], epsilon=1e-6)] + tail,
        [("y", F32)], lnw, n=2, opset=17, counts={"MEAN": 2, "FULLY_CONNECTED": 1}))
    for opset in (11, 13, 18):
        body, ci = ln_chain("nhwc", -1, "g", "be", "eps", "p", opset)
        body[-1].output[0] = "ln"
        cs.append(map_case(f"LayerNorm_chain_convnext_opset{opset}", [H, W], C, [
            node("Transpose", ["feat"], ["nhwc"], perm=[0, 2, 3, 1])] + body + tail,
            [("y", F32)], lnw + ci, n=2, opset=opset, counts={"MEAN": 2}))
        body, ci = ln_chain("a", -1, "g", "be", "eps", "p", opset)
        cs.append(Case(f"LayerNorm_chain_plain_opset{opset}", body, [("a", F32, [3, 4, C])],
                       [("py", F32)], lnw[:2] + [lnw[-1]] + ci, opset=opset))
    # LayerNorm of an NCHW map over W: the map is stored NHWC
    cs.append(map_case("LayerNorm_map_axis_last", [H, W], C, [
        node("LayerNormalization", ["feat", "g7", "b7"], ["y"], axis=-1)], [("y", F32)],
        [const("g7", f32(W, lo=0.5, hi=1.5)), const("b7", f32(W))], opset=17))
    cs.append(map_case("LayerNorm_map_axis1", [H, W], C, [
        node("LayerNormalization", ["feat", "gm", "bm"], ["y"], axis=1)], [("y", F32)],
        [const("gm", f32(C, H, W, lo=0.5, hi=1.5)), const("bm", f32(C, 1, 1))], opset=17))
    # InstanceNormalization on 3-D, 4-D, 5-D maps
    for spatial in ([11], [H, W], [3, 4, 5]):
        cs.append(map_case(f"InstanceNorm_{len(spatial)}d", spatial, C, [
            node("InstanceNormalization", ["feat", "s", "b"], ["y"], epsilon=1e-4)],
            [("y", F32)], [const("s", f32(C, lo=0.5, hi=1.5)), const("b", f32(C))], n=2,
            counts={"MEAN": 2}))
    cs.append(Case("InstanceNorm_graph_input", [
        node("InstanceNormalization", ["X", "s", "b"], ["y"])], [("X", F32, [1, C, H, W])],
        [("y", F32)], [const("s", np.ones(C, np.float32)), const("b", np.zeros(C, np.float32))],
        counts={"MEAN": 2, "ADD": 1, "MUL": 2}))
    # GroupNorm as the TorchScript exporter writes it
    for G, opset in ((2, 11), (3, 13), (6, 17)):
        cs.append(map_case(f"GroupNorm_G{G}_opset{opset}", [H, W], C, [
            node("Reshape", ["feat", "gshape"], ["g1"]),
            node("InstanceNormalization", ["g1", "ones", "zeros"], ["g2"], epsilon=1e-5),
            node("Reshape", ["g2", "cshape"], ["g3"]),
            node("Mul", ["g3", "gam"], ["g4"]), node("Add", ["g4", "bet"], ["g5"]),
            node("Conv", ["g5", "w2"], ["y"])], [("y", F32)],
            [const("gshape", np.array([2, G, -1], np.int64)),
             const("cshape", np.array([2, C, H, W], np.int64)),
             const("ones", np.ones(G, np.float32)), const("zeros", np.zeros(G, np.float32)),
             const("gam", f32(C, 1, 1, lo=0.5, hi=1.5)), const("bet", f32(C, 1, 1)),
             const("w2", f32(4, C, 1, 1))], n=2, opset=opset, counts={"MEAN": 2}))
    # GroupNormalization itself: per group before opset 21, per channel from 21
    for G, opset, spatial in ((2, 21, [H, W]), (3, 18, [H, W]), (6, 21, [3, 4, 5]), (1, 21, [H, W])):
        nparam = C if opset >= 21 else G
        cs.append(map_case(f"GroupNormalization_G{G}_{len(spatial)}d_opset{opset}", spatial, C, [
            node("GroupNormalization", ["feat", "gs", "gb"], ["y"], num_groups=G,
                 epsilon=1e-4)], [("y", F32)],
            [const("gs", f32(nparam, lo=0.5, hi=1.5)), const("gb", f32(nparam))], n=2,
            opset=opset, counts={"MEAN": 2}, ref_fn="onnx"))
    cs.append(map_case("GroupNormalization_runtime_params", [H, W], C, [
        node("GroupNormalization", ["feat", "gs", "gb"], ["y"], num_groups=3)], [("y", F32)],
        extra_inputs=[("gs", F32, [C]), ("gb", F32, [C])], n=2, opset=21, ref_fn="onnx"))
    # LRN: odd sizes map onto LOCAL_RESPONSE_NORMALIZATION, even ones are refused
    # LiteRT's reference LRN kernel sums channels [c-r, c+r) (one short of
    # TF's [c-r, c+r]); the builtin kernel is TF's, so only it is compared.
    lrn_ref = "its LRN window is [c-r, c+r), one channel short"
    for size, attrs in ((3, {}), (5, dict(alpha=0.01, beta=0.5, bias=2.0)), (1, {})):
        cs.append(map_case(f"LRN_size{size}", [H, W], C,
                           [node("LRN", ["feat"], ["y"], size=size, **attrs)],
                           [("y", F32)], n=2, counts={"LOCAL_RESPONSE_NORMALIZATION": 1},
                           skip_ref=lrn_ref))

    def lrn_np(x, size, alpha=1e-4, beta=0.75, bias=1.0):
        """ONNX's LRN on any rank (onnxruntime only runs 4-D)."""
        c = x.shape[1]
        sq = np.zeros_like(x, dtype=np.float64)
        for ch in range(c):
            lo, hi = max(0, ch - (size - 1) // 2), min(c - 1, ch + size // 2)
            sq[:, ch] = np.sum(x[:, lo:hi + 1].astype(np.float64) ** 2, axis=1)
        return (x / (bias + alpha / size * sq) ** beta).astype(np.float32)

    wq = f32(C, CIN, 1)
    bq = f32(C)

    def conv1d_lrn(feeds):
        f = np.einsum("ocx,ncl->nol", wq.astype(np.float64), feeds["X"]) + bq[None, :, None]
        return {"y": lrn_np(f.astype(np.float32), 3)}
    c1 = map_case("LRN_1d_map", [9], C, [node("LRN", ["feat"], ["y"], size=3)],
                  [("y", F32)], skip_ref=lrn_ref, ref_fn=conv1d_lrn)
    c1.inits[0] = const("w", wq)
    c1.inits[1] = const("w_b", bq)
    cs.append(c1)
    cs.append(Case("LRN_plain_input", [node("LRN", ["X"], ["y"], size=5, alpha=0.02)],
                   [("X", F32, [1, 7, H, W])], [("y", F32)], skip_ref=lrn_ref))
    for size in (2, 4):
        cs.append(Case(f"LRN_even_size{size}", [node("LRN", ["X"], ["y"], size=size)],
                       [("X", F32, [1, C, H, W])], [("y", F32)], refuse="even size"))
    return cs


# ---- activations ---------------------------------------------------------------------

def gelu_chain(x, form, pre="g", scale_op="Div", const_nodes=False):
    """PyTorch's exact GELU before opset 20, in one of the operand orders
    exporters write it."""
    k = {"Div": np.float32(np.sqrt(2.0)), "Mul": np.float32(np.sqrt(0.5))}[scale_op]
    vals = {pre + "k": k, pre + "one": np.float32(1), pre + "half": np.float32(0.5)}
    nodes, inits = [], []
    for name, v in vals.items():
        if const_nodes:
            nodes.append(node("Constant", [], [name],
                              value=numpy_helper.from_array(np.array(v))))
        else:
            inits.append(const(name, v))
    nodes += [node(scale_op, [x, pre + "k"], [pre + "d"]), node("Erf", [pre + "d"], [pre + "e"])]
    if form == "xa_half":    # (x * (erf + 1)) * 0.5: torch.onnx's own symbolic
        nodes += [node("Add", [pre + "e", pre + "one"], [pre + "a"]),
                  node("Mul", [x, pre + "a"], [pre + "m"]),
                  node("Mul", [pre + "m", pre + "half"], [pre + "y"])]
    elif form == "x_ahalf":  # x * ((1 + erf) * 0.5)
        nodes += [node("Add", [pre + "one", pre + "e"], [pre + "a"]),
                  node("Mul", [pre + "half", pre + "a"], [pre + "m"]),
                  node("Mul", [pre + "m", x], [pre + "y"])]
    else:                    # (x * 0.5) * (1 + erf): HF's gelu written out
        nodes += [node("Mul", [x, pre + "half"], [pre + "h"]),
                  node("Add", [pre + "e", pre + "one"], [pre + "a"]),
                  node("Mul", [pre + "h", pre + "a"], [pre + "y"])]
    return nodes, inits


def cases_act():
    cs = []
    C, H, W = 4, 5, 7
    wide = {"a": (RNG.standard_normal([3, 4, 5]) * 3).astype(np.float32)}

    def both(name, op, opset, counts=None, atol=None, **attrs):
        """op on a channels-last map (after x3 so the values spread) and on a
        plain tensor."""
        cs.append(map_case(f"{name}_map", [H, W], C, [
            node("Mul", ["feat", "k3"], ["f3"]), node(op, ["f3"], ["y"], **attrs)],
            [("y", F32)], [const("k3", np.float32(3))], opset=opset, counts=counts,
            atol=atol))
        cs.append(Case(f"{name}_plain", [node(op, ["a"], ["y"], **attrs)],
                       [("a", F32, [3, 4, 5])], [("y", F32)], opset=opset, feeds=wide,
                       counts=counts, atol=atol))

    both("Gelu", "Gelu", 20, counts={"GELU": 1})
    both("Gelu_tanh", "Gelu", 20, counts={"GELU": 1}, approximate="tanh")
    cs.append(Case("Gelu_bad_approximate", [node("Gelu", ["a"], ["y"], approximate="fast")],
                   [("a", F32, [2, 3])], [("y", F32)], opset=20,
                   refuse="approximate must be"))
    for opset in (9, 13):
        both(f"Erf_opset{opset}", "Erf", opset, atol=1e-5, counts={"EXP": 1, "SIGN": 1})
    cs.append(Case("Erf_large_values", [node("Erf", ["a"], ["y"])], [("a", F32, [200])],
                   [("y", F32)], feeds={"a": np.linspace(-9, 9, 200).astype(np.float32)},
                   atol=1e-5))
    both("Mish", "Mish", 18)
    cs.append(Case("Mish_extremes", [node("Mish", ["a"], ["y"])], [("a", F32, [64])],
                   [("y", F32)], opset=18,
                   feeds={"a": np.linspace(-120, 120, 64).astype(np.float32)}))
    both("Selu", "Selu", 13)
    both("Selu_attrs", "Selu", 7, alpha=2.0, gamma=0.5)
    both("Celu", "Celu", 12)
    both("Celu_alpha2", "Celu", 12, alpha=2.0)
    both("ThresholdedRelu", "ThresholdedRelu", 10, counts={"SELECT_V2": 1})
    both("ThresholdedRelu_alpha", "ThresholdedRelu", 10, alpha=-0.5)
    both("Softsign", "Softsign", 13)
    # the exact GELU chain becomes one GELU, whatever the operand order
    for form in ("xa_half", "x_ahalf", "xhalf_a"):
        for scale_op in ("Div", "Mul"):
            body, ci = gelu_chain("f3", form, scale_op=scale_op)
            body[-1].output[0] = "y"
            cs.append(map_case(f"GeluChain_{form}_{scale_op}", [H, W], C,
                               [node("Mul", ["feat", "k3"], ["f3"])] + body, [("y", F32)],
                               [const("k3", np.float32(3))] + ci,
                               counts={"GELU": 1, "EXP": 0, "MUL": 1}))
    body, ci = gelu_chain("a", "xa_half", const_nodes=True)
    cs.append(Case("GeluChain_constant_nodes_plain", body, [("a", F32, [3, 4, 5])],
                   [("gy", F32)], ci, opset=11, feeds=wide, counts={"GELU": 1, "EXP": 0}))
    # in a transformer-style MLP: MatMul -> GELU -> MatMul
    body, ci = gelu_chain("h", "xa_half")
    cs.append(Case("GeluChain_mlp", [node("MatMul", ["a", "w1"], ["h"])] + body +
                   [node("MatMul", ["gy", "w2"], ["y"])], [("a", F32, [3, 4, 5])],
                   [("y", F32)], ci + [const("w1", f32(5, 8)), const("w2", f32(8, 5))],
                   counts={"GELU": 1, "FULLY_CONNECTED": 2}))
    # not fused: the Erf result is read twice, or the constant is not sqrt(2)
    body, ci = gelu_chain("a", "xa_half")
    cs.append(Case("GeluChain_shared_erf", body + [node("Neg", ["ge"], ["z"])],
                   [("a", F32, [3, 4, 5])], [("gy", F32), ("z", F32)], ci, feeds=wide,
                   atol=2e-5, counts={"GELU": 0, "EXP": 1}))
    body, ci = gelu_chain("a", "xa_half")
    ci[0] = const("gk", np.float32(1.5))
    cs.append(Case("GeluChain_other_constant", body, [("a", F32, [3, 4, 5])],
                   [("gy", F32)], ci, feeds=wide, atol=2e-5, counts={"GELU": 0}))
    return cs


# ---- DepthToSpace / SpaceToDepth ------------------------------------------------------

def cases_space():
    cs = []
    H, W = 5, 7
    for b, opset, mode in ((2, 13, "DCR"), (3, 11, "DCR"), (2, 9, None)):
        attrs = {"blocksize": b}
        if mode:
            attrs["mode"] = mode
        cs.append(map_case(f"DepthToSpace_{mode or 'default'}_b{b}_opset{opset}", [H, W],
                           2 * b * b, [node("DepthToSpace", ["feat"], ["y"], **attrs)],
                           [("y", F32)], n=2, opset=opset, counts={"DEPTH_TO_SPACE": 1}))
    # PixelShuffle: Conv -> DepthToSpace(CRD): the conv's channels renumbered
    for b, bias, n in ((2, True, 1), (3, False, 2)):
        C2 = 3 * b * b
        ins = ["feat", "pw"] + (["pb"] if bias else [])
        cs.append(map_case(f"PixelShuffle_conv_b{b}{'' if bias else '_nobias'}", [H, W], 4, [
            node("Conv", ins, ["pc"], pads=[1, 1, 1, 1]),
            node("DepthToSpace", ["pc"], ["ps"], blocksize=b, mode="CRD"),
            node("Conv", ["ps", "w2"], ["y"], pads=[1, 1, 1, 1])], [("y", F32)],
            [const("pw", f32(C2, 4, 3, 3)), const("w2", f32(2, 3, 3, 3))] +
            ([const("pb", f32(C2))] if bias else []), n=n, opset=13,
            counts={"DEPTH_TO_SPACE": 1}))
    cs.append(map_case("PixelShuffle_convtranspose", [H, W], 4, [
        node("ConvTranspose", ["feat", "tw", "tb"], ["pc"], strides=[2, 2], kernel_shape=[2, 2]),
        node("DepthToSpace", ["pc"], ["y"], blocksize=2, mode="CRD")], [("y", F32)],
        [const("tw", f32(4, 8, 2, 2)), const("tb", f32(8))], counts={"DEPTH_TO_SPACE": 1}))
    # through activations: still renumbered (the Relu is fused afterwards)
    cs.append(map_case("PixelShuffle_after_relu_sigmoid", [H, W], 8, [
        node("Relu", ["feat"], ["r"]), node("Sigmoid", ["r"], ["s"]),
        node("DepthToSpace", ["s"], ["ps"], blocksize=2, mode="CRD"),
        node("Conv", ["ps", "w2"], ["y"])], [("y", F32)], [const("w2", f32(3, 2, 1, 1))],
        n=2, counts={"TRANSPOSE": 0, "DEPTH_TO_SPACE": 1}))
    # CRD of a map that is not a convolution's own output: one TRANSPOSE
    cs.append(map_case("PixelShuffle_after_prelu", [H, W], 8, [
        node("PRelu", ["feat", "sl"], ["r"]),
        node("DepthToSpace", ["r"], ["ps"], blocksize=2, mode="CRD"),
        node("Conv", ["ps", "w2"], ["y"])], [("y", F32)],
        [const("w2", f32(3, 2, 1, 1)), const("sl", f32(8, 1, 1, lo=0.1, hi=0.3))],
        n=2, counts={"TRANSPOSE": 1, "DEPTH_TO_SPACE": 0}))
    cs.append(map_case("PixelShuffle_relu_read_twice", [H, W], 8, [
        node("Relu", ["feat"], ["r"]),
        node("DepthToSpace", ["r"], ["ps"], blocksize=2, mode="CRD"),
        node("Add", ["feat", "r"], ["z"])], [("ps", F32), ("z", F32)],
        counts={"TRANSPOSE": 1, "DEPTH_TO_SPACE": 0}))
    cs.append(map_case("PixelShuffle_conv_read_twice", [H, W], 4, [
        node("Conv", ["feat", "pw"], ["pc"]),
        node("DepthToSpace", ["pc"], ["ps"], blocksize=2, mode="CRD"),
        node("ReduceMean", ["pc"], ["m"], axes=[2, 3], keepdims=0)],
        [("ps", F32), ("m", F32)], [const("pw", f32(8, 4, 1, 1))], counts={"TRANSPOSE": 1}))
    cs.append(Case("PixelShuffle_graph_input", [
        node("DepthToSpace", ["X"], ["y"], blocksize=2, mode="CRD")],
        [("X", F32, [1, 12, H, W])], [("y", F32)], counts={"TRANSPOSE": 1}))
    cs.append(Case("DepthToSpace_DCR_plain_3x3", [
        node("Reshape", ["a", "shp"], ["r"]),
        node("DepthToSpace", ["r"], ["y"], blocksize=3)],
        [("a", F32, [2, 18 * 4 * 5])], [("y", F32)],
        [const("shp", np.array([2, 18, 4, 5], np.int64))], counts={"TRANSPOSE": 1}))
    for b, opset in ((2, 13), (3, 11)):
        cs.append(map_case(f"SpaceToDepth_b{b}_opset{opset}", [6, 12], 3,
                           [node("SpaceToDepth", ["feat"], ["s"], blocksize=b),
                            node("Conv", ["s", "w2"], ["y"])], [("y", F32)],
                           [const("w2", f32(4, 3 * b * b, 1, 1))], n=2, opset=opset,
                           counts={"SPACE_TO_DEPTH": 1}))
    cs.append(map_case("SpaceToDepth_CRD_opset28", [6, 12], 3,
                       [node("SpaceToDepth", ["feat"], ["y"], blocksize=2, mode="CRD")],
                       [("y", F32)], n=2, opset=28, ref_fn="onnx",
                       counts={"TRANSPOSE": 1, "SPACE_TO_DEPTH": 0}))
    cs.append(Case("SpaceToDepth_plain", [
        node("Reshape", ["a", "shp"], ["r"]), node("SpaceToDepth", ["r"], ["y"], blocksize=2)],
        [("a", F32, [2, 3 * 4 * 6])], [("y", F32)],
        [const("shp", np.array([2, 3, 4, 6], np.int64))], counts={"TRANSPOSE": 1}))
    cs.append(Case("DepthToSpace_bad_channels", [
        node("DepthToSpace", ["X"], ["y"], blocksize=2)], [("X", F32, [1, 6, 3, 3])],
        [("y", F32)], refuse="not divisible by blocksize^2"))
    return cs


# ---- reductions, ArgMin, TopK, Mod -------------------------------------------------

def cases_reduce():
    cs = []
    C, H, W = 4, 5, 7
    big = {"a": (RNG.standard_normal([3, 4, 5]) * 40).astype(np.float32)}

    def red(op, opset, axes, keepdims, where="map", **attrs):
        tag = "all" if axes is None else "".join(map(str, axes))
        name = f"{op}_{where}_ax{tag}_k{keepdims}_opset{opset}"
        ins, inits = ["x"], []
        if axes is not None and opset >= 18:
            ins.append("axes")
            inits.append(const("axes", np.array(axes, np.int64)))
        elif axes is not None:
            attrs["axes"] = axes
        body = [node(op, ["feat" if where == "map" else "a"] + ins[1:], ["y"],
                     keepdims=keepdims, **attrs)]
        if where == "map":
            cs.append(map_case(name, [H, W], C, body, [("y", F32)], inits, n=2, opset=opset))
        else:
            cs.append(Case(name, body, [("a", F32, [3, 4, 5])], [("y", F32)], inits,
                           opset=opset, feeds=big if op == "ReduceLogSumExp" else None))

    for op in ("ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"):
        for opset in (13, 18):
            red(op, opset, [2, 3], 1)
            red(op, opset, [1], 0)
            red(op, opset, [-1], 0, where="plain")
        red(op, 11, None, 0, where="plain")
        red(op, 18, [0, 2], 1, where="plain")
    cs.append(Case("ReduceL2_noop_empty_axes", [node("ReduceL2", ["a"], ["y"],
                                                      noop_with_empty_axes=1)],
                   [("a", F32, [3, 4])], [("y", F32)], opset=18))
    cs.append(Case("ReduceL1_int32", [node("ReduceL1", ["a"], ["y"], axes=[1])],
                   [("a", I32, [3, 4])], [("y", I32)], opset=13,
                   refuse="only float32 is supported"))
    # ArgMin (ArgMax's twin)
    for axis, keep in ((1, 1), (1, 0), (3, 0)):
        cs.append(map_case(f"ArgMin_map_axis{axis}_k{keep}", [H, W], C,
                           [node("ArgMin", ["feat"], ["y"], axis=axis, keepdims=keep)],
                           [("y", I64)], n=2, counts={"ARG_MIN": 1}))
    cs.append(Case("ArgMin_int32_ties", [node("ArgMin", ["a"], ["y"], axis=-1, keepdims=0)],
                   [("a", I32, [6, 9])], [("y", I64)], opset=12,
                   feeds={"a": RNG.integers(-2, 3, [6, 9]).astype(np.int32)}))
    cs.append(Case("ArgMin_select_last", [node("ArgMin", ["a"], ["y"], select_last_index=1)],
                   [("a", F32, [6, 9])], [("y", I64)], opset=12,
                   refuse="select_last_index=1"))
    # TopK
    kk = lambda k: const("k", np.array([k], np.int64))
    cs.append(map_case("TopK_map_channels", [H, W], 8, [
        node("TopK", ["feat", "k"], ["v", "i"], axis=1)], [("v", F32), ("i", I64)],
        [kk(3)], n=2, opset=11, counts={"TOPK_V2": 1, "CAST": 1}))
    cs.append(map_case("TopK_map_width_smallest", [H, W], C, [
        node("TopK", ["feat", "k"], ["v", "i"], axis=3, largest=0)],
        [("v", F32), ("i", I64)], [kk(2)], n=2, opset=11,
        counts={"TOPK_V2": 1, "TRANSPOSE": 1, "NEG": 2}))
    cs.append(Case("TopK_plain_opset10", [node("TopK", ["a", "k"], ["v", "i"])],
                   [("a", F32, [3, 4, 9])], [("v", F32), ("i", I64)], [kk(5)], opset=10))
    # axis 0 of a 2-D tensor: moved last, and both results moved back
    cs.append(Case("TopK_attr_k_opset1", [node("TopK", ["a"], ["v", "i"], k=2, axis=0)],
                   [("a", F32, [5, 3])], [("v", F32), ("i", I64)], opset=9,
                   counts={"TRANSPOSE": 3}))
    cs.append(Case("TopK_values_only_int32", [node("TopK", ["a", "k"], ["v", "i"], largest=0)],
                   [("a", I32, [4, 10])], [("v", I32)], [kk(3)], opset=11,
                   feeds={"a": RNG.permutation(40).reshape(4, 10).astype(np.int32)},
                   counts={"CAST": 0}))
    ties = RNG.integers(0, 3, [4, 10]).astype(np.float32)  # lower index first
    for largest in (1, 0):
        cs.append(Case(f"TopK_ties_largest{largest}", [
            node("TopK", ["a", "k"], ["v", "i"], largest=largest)],
            [("a", F32, [4, 10])], [("v", F32), ("i", I64)], [kk(6)], opset=11,
            feeds={"a": ties}))
    cs.append(Case("TopK_k_too_large", [node("TopK", ["a", "k"], ["v", "i"])],
                   [("a", F32, [3, 4])], [("v", F32), ("i", I64)], [kk(5)], opset=11,
                   refuse="outside [0, 4]"))
    # Mod
    ia = RNG.integers(-20, 21, [3, 8]).astype(np.int32)
    ib = RNG.choice([-7, -3, -2, 2, 3, 5], [3, 8]).astype(np.int32)
    for t, tn in ((I32, "i32"), (I64, "i64")):
        for fm in (0, 1):
            cs.append(Case(f"Mod_{tn}_fmod{fm}", [node("Mod", ["a", "b"], ["y"], fmod=fm),
                                                  node("Mod", ["a", "k"], ["z"], fmod=fm)],
                           [("a", t, [3, 8]), ("b", t, [3, 8])], [("y", t), ("z", t)],
                           [const("k", np.array([-3, 4, 5, -6, 7, 2, -2, 9], NP[t]))],
                           feeds={"a": ia.astype(NP[t]), "b": ib.astype(NP[t])},
                           counts={"FLOOR_MOD": 2}))
    cs.append(map_case("Mod_float_map", [H, W], C, [
        node("Mul", ["feat", "k9"], ["f"]), node("Mod", ["f", "kc"], ["y"], fmod=1)],
        [("y", F32)], [const("k9", np.float32(9)),
                       const("kc", np.array([1.5, -2.0, 0.75, -3.0], np.float32).reshape(C, 1, 1))],
        counts={"FLOOR_MOD": 1}))
    cs.append(Case("Mod_float_runtime", [node("Mod", ["a", "b"], ["y"], fmod=1)],
                   [("a", F32, [4, 6]), ("b", F32, [6])], [("y", F32)],
                   feeds={"a": f32(4, 6, lo=-10, hi=10),
                          "b": np.array([1.5, -2.5, 3.0, -0.5, 4.0, 7.0], np.float32)}))
    # floats with fmod=0 (floored, like numpy's %): valid from opset 28
    fa, fb = f32(4, 6, lo=-10, hi=10), np.array([1.5, -2.5, 3.0, -0.5, 4.0, 7.0], np.float32)
    cs.append(Case("Mod_float_fmod0", [node("Mod", ["a", "b"], ["y"])],
                   [("a", F32, [4, 6]), ("b", F32, [6])], [("y", F32)],
                   feeds={"a": fa, "b": fb}, ref_fn=lambda f: {"y": np.mod(f["a"], f["b"])},
                   counts={"FLOOR_MOD": 1}))
    return cs


# ---- Einsum ----------------------------------------------------------------------

def cases_einsum():
    cs = []

    def ein(name, eq, shapes, consts=(), counts=None, opset=12, refuse=None):
        ins, inputs, inits = [], [], []
        for i, shp in enumerate(shapes):
            nm = f"e{i}"
            ins.append(nm)
            if i in consts:
                inits.append(const(nm, f32(*shp)))
            else:
                inputs.append((nm, F32, shp))
        cs.append(Case(f"Einsum_{name}", [node("Einsum", ins, ["y"], equation=eq)], inputs,
                       [("y", F32)], inits, opset=opset, counts=counts, refuse=refuse))

    ein("matmul_const", "ij,jk->ik", [[3, 5], [5, 4]], consts=(1,),
        counts={"FULLY_CONNECTED": 1})
    ein("linear_const", "ij,kj->ik", [[3, 5], [4, 5]], consts=(1,),
        counts={"FULLY_CONNECTED": 1})
    ein("implicit", "ij,jk", [[3, 5], [5, 4]], counts={"BATCH_MATMUL": 1})
    ein("batch_matmul", "bij,bjk->bik", [[2, 3, 5], [2, 5, 4]], counts={"BATCH_MATMUL": 1})
    ein("attention_scores", "bhqd,bhkd->bhqk", [[2, 3, 4, 8], [2, 3, 6, 8]],
        counts={"BATCH_MATMUL": 1})
    ein("attention_values", "bhqk,bhkd->bqhd", [[2, 3, 4, 6], [2, 3, 6, 8]],
        counts={"BATCH_MATMUL": 1, "TRANSPOSE": 1})
    ein("outer", "i,j->ij", [[3], [4]], counts={"BATCH_MATMUL": 1})
    ein("vecmat", "k,kn->n", [[5], [5, 4]], consts=(1,))
    ein("transpose", "ijk->kij", [[2, 3, 4]], counts={"TRANSPOSE": 1})
    ein("diagonal", "ii->i", [[3, 3]], refuse="diagonal")
    ein("sum", "ij->i", [[3, 4]], refuse="summed within operand 0")
    ein("ellipsis", "...ij,...jk->...ik", [[2, 3, 4], [2, 4, 5]], refuse="ellipsis")
    ein("three", "ij,jk,kl->il", [[2, 3], [3, 4], [4, 5]], refuse="more than two operands")
    # a 1x1 convolution written as Einsum on a channels-last map: FC on the
    # NHWC rows, the result channels-last again for the next Conv
    cs.append(map_case("Einsum_pointwise_map", [5, 7], 4, [
        node("Einsum", ["feat", "pw"], ["e"], equation="bchw,oc->bohw"),
        node("Conv", ["e", "w2"], ["y"], pads=[1, 1, 1, 1])], [("y", F32)],
        [const("pw", f32(6, 4)), const("w2", f32(3, 6, 3, 3))], n=2, opset=12,
        counts={"FULLY_CONNECTED": 1}))
    return cs


# ---- running -------------------------------------------------------------------

def cl_matches(onnx_shape, tfl_shape):
    """Is tfl_shape the channels-last form of onnx_shape (and not also the
    plain one, which would leave the test unable to tell the order)?"""
    r = len(onnx_shape)
    if r < 3 or [onnx_shape[i] for i in cl_perm(r)] != list(tfl_shape):
        return False
    if list(onnx_shape) == list(tfl_shape):
        moved = [d for d in onnx_shape[1:] if d > 1]
        if len(set(moved)) > 1 or (len(moved) > 1 and onnx_shape[1] > 1):
            raise ValueError(f"shape {list(onnx_shape)}: NCHW and NHWC look alike; "
                             "choose other sizes")
        return False
    return True


def to_layout(arr, tfl_shape, keep_io=False):
    """arr (ONNX order) in the order a TFLite tensor of tfl_shape holds."""
    if not keep_io and cl_matches(arr.shape, tfl_shape):
        return np.transpose(arr, cl_perm(arr.ndim))
    if list(arr.shape) == list(tfl_shape):
        return arr
    raise ValueError(f"no layout maps {arr.shape} to {list(tfl_shape)}")


def from_layout(arr, onnx_shape, keep_io=False):
    if not keep_io and cl_matches(onnx_shape, arr.shape):
        return np.transpose(arr, np.argsort(cl_perm(arr.ndim)))
    if list(arr.shape) == list(onnx_shape):
        return arr
    raise ValueError(f"no layout maps {list(arr.shape)} back to {list(onnx_shape)}")


def compare(case, name, got, ref):
    if got.dtype != ref.dtype:
        return f"{name}: dtype {got.dtype} vs {ref.dtype}"
    if got.shape != ref.shape:
        return f"{name}: shape {got.shape} vs {ref.shape}"
    if ref.dtype.kind in "biu":
        bad = int(np.sum(got != ref))
        return f"{name}: {bad} of {ref.size} differ" if bad else None
    if not np.array_equal(np.isfinite(got), np.isfinite(ref)):
        return f"{name}: finiteness differs"
    fin = np.isfinite(ref)
    diff = float(np.max(np.abs(got[fin].astype(np.float64) - ref[fin]), initial=0.0))
    if case.atol is not None:
        return f"{name}: abs err {diff:.2e}" if diff > case.atol else None
    scale = max(float(np.max(np.abs(ref[fin]), initial=0.0)), 1e-6)
    return f"{name}: rel err {diff / scale:.2e}" if diff / scale > case.rtol else None


def run_case(case, binary, tmp, keep_io):
    path = os.path.join(tmp, case.name + ".onnx")
    out = os.path.join(tmp, case.name + ("_k" if keep_io else "") + ".tflite")
    onnx.save(case.model(), path)
    p = convert(binary, path, out, "-q", *(["--keep-io-layout"] if keep_io else []))
    if case.refuse is not None:
        if p.returncode == 0:
            return ["converted, but should have been refused"], {}
        if case.refuse not in p.stderr or "'" not in p.stderr:
            return [f"refused without naming the node / '{case.refuse}': {p.stderr.strip()}"], {}
        if os.path.exists(out):
            return ["an output file was left behind"], {}
        return [], {}
    if p.returncode != 0:
        return [f"convert failed ({p.returncode}): {p.stderr.strip()}"], {}
    feeds = case.feed(RNG)
    if case.ref_fn == "onnx":  # onnx's own reference evaluator
        ev = ReferenceEvaluator(path)
        refs = dict(zip(ev.output_names, ev.run(None, feeds)))
    else:
        refs = case.ref_fn(feeds) if case.ref_fn else ort_outputs(path, feeds)
    errs = []
    for res in RESOLVERS:
        if res == OpResolverType.BUILTIN_REF and case.skip_ref:
            SKIPPED.add(f"{case.name} ({case.skip_ref})")
            continue
        try:
            it = interpreter(out, res, SKIPPED, case.name)
        except (ValueError, RuntimeError) as e:
            errs.append(f"{res.name}: {str(e).strip()[:300]}")
            continue
        if not it:
            continue
        it.allocate_tensors()
        for d in it.get_input_details():
            x = to_layout(feeds[d["name"]], d["shape"], keep_io)
            it.set_tensor(d["index"], np.array(x, order="C"))
        it.invoke()
        for d in it.get_output_details():
            ref = refs[d["name"]]
            got = from_layout(it.get_tensor(d["index"]), ref.shape, keep_io)
            e = compare(case, d["name"], got, ref)
            if e:
                errs.append(f"{res.name}: {e}")
    ops = op_counts(out)
    if not keep_io:
        errs += count_errors(case.counts, ops)
    return errs, ops


def all_cases():
    return (cases_3d() + cases_norm() + cases_act() + cases_space() + cases_reduce() +
            cases_einsum())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "onnx2lite"))
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    cases = [c for c in all_cases() if a.k in c.name]
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        print("duplicate case names: " + ", ".join(sorted(dup)))
        return 1
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for c in cases:
            errs = []
            for keep in (False, True):
                try:
                    e, ops = run_case(c, a.bin, tmp, keep)
                except Exception as ex:  # a crash of one case is its failure
                    e, ops = [f"{type(ex).__name__}: {ex}"], {}
                errs += [("keep-io: " if keep else "") + x for x in e]
                if a.verbose and not keep:
                    print(f"  {c.name}: {' '.join(f'{k}={v}' for k, v in sorted(ops.items()))}")
                if c.refuse is not None:
                    break
            if errs:
                failed += 1
                print(f"FAIL {c.name}: " + "; ".join(errs))
    if SKIPPED:
        print("not compared with the reference kernels: " + ", ".join(sorted(SKIPPED)))
    print(f"check_ops_extra: {len(cases) - failed}/{len(cases)} cases pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
