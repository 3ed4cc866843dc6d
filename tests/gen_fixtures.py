#!/usr/bin/env python3
"""Generate the small ONNX models the conformance tests convert.

    build/venv/bin/python tests/gen_fixtures.py            # rewrite tests/fixtures/
    build/venv/bin/python tests/gen_fixtures.py --check    # fail if the files differ

Each fixture is one concern of the float path (a fused BatchNorm, a
depthwise conv, ceil-mode pooling, a Flatten of an NCHW map, ...), built
with onnx.helper from a numpy RNG seeded by the fixture's name, so the
files are byte-for-byte reproducible and committed to git.  Next to the
models, fixtures/expect.json holds what tests/run_conformance.py needs to
know about each one without importing this file: how to make its inputs,
its tolerance, the converter arguments to try, and the structure the
.tflite must have (counts of TFLite operators, the layout of inputs and
outputs).  Models that must be rejected live in fixtures/errors/ with the
exit status and the words the error message must contain.

Expectation keys (all optional):
  count        {TFLITE_OP: n or [lo, hi]}, checked on the default (NHWC)
               conversion; with --keep-io-layout every key but TRANSPOSE and
               RESHAPE is checked too.
  only         no TFLite operator outside `count` (default conversion).
  transpose_max  TRANSPOSE ops allowed in the default conversion; without
               it, at most one per ONNX Transpose node.
  io_layout    {name: "channels_last" | "identity"}, default conversion.
  rtol, atol   max|got - ref| <= rtol * max|ref| + atol (default 1e-4, 1e-5).
  inputs       {name: {"shape": [...], "dist": ["normal"] | ["uniform", lo, hi]}}
  variants     [{"args": [...], "shapes": {name: [...]}}]: extra conversions
               of the same model (e.g. --input-shape).
"""

import argparse
import json
import os
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_facts  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "fixtures")
IR_VERSION = 8          # onnxruntime reads it for every opset used here
MAX_FIXTURE_BYTES = 200 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024

FLOAT = TensorProto.FLOAT


class G:
    """A graph under construction: nodes, initializers and I/O declarations,
    with random weights from the fixture's own RNG."""

    def __init__(self, name, opset=13):
        self.name = name
        self.opset = opset
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))
        self.nodes, self.inits, self.ins, self.outs = [], [], [], []
        self.inputs = {}        # name -> {"shape", "dist"} for the runner
        self.io_layout = {}
        self.extra_opsets = []
        self.n = 0

    def _name(self, stem):
        self.n += 1
        return "%s_%d" % (stem, self.n)

    # -- declarations ------------------------------------------------------
    def input(self, name, shape, dist=("normal",), layout=None, feed_shape=None):
        self.ins.append(helper.make_tensor_value_info(name, FLOAT, shape))
        self.inputs[name] = {"shape": list(feed_shape or shape), "dist": list(dist)}
        if layout:
            self.io_layout[name] = layout
        return name

    def output(self, name, layout=None):
        self.outs.append(name)
        if layout:
            self.io_layout[name] = layout
        return name

    def const(self, arr, stem="c"):
        name = self._name(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def ints(self, values, stem="i"):
        return self.const(np.asarray(values, dtype=np.int64), stem)

    def floats(self, values, stem="f"):
        return self.const(np.asarray(values, dtype=np.float32), stem)

    def op(self, op_type, inputs, outs=1, name=None, out=None, domain=None, **attrs):
        """Adds a node; returns its output name (or list when outs > 1)."""
        name = name or self._name(op_type.lower())
        if out is not None:
            names = [out] if isinstance(out, str) else list(out)
        else:
            names = [name] if outs == 1 else ["%s_o%d" % (name, i) for i in range(outs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, name=name,
                                           domain=domain, **attrs))
        return names[0] if len(names) == 1 else names

    # -- random layers -----------------------------------------------------
    def weight(self, shape, fan_in, gain=2.0):
        w = self.rng.standard_normal(shape) * np.sqrt(gain / fan_in)
        return self.floats(w.astype(np.float32), "w")

    def bias(self, n, scale=0.1):
        return self.floats((self.rng.standard_normal(n) * scale).astype(np.float32), "b")

    def conv(self, x, cin, cout, k, stride=1, pads=None, group=1, dilation=1,
             bias=True, out=None, name=None, gain=2.0, **extra):
        ks = [k] * 2 if isinstance(k, int) else list(k)
        nd = len(ks)
        attrs = dict(kernel_shape=ks, strides=[stride] * nd if isinstance(stride, int) else stride,
                     dilations=[dilation] * nd, group=group, **extra)
        if pads is not None:
            attrs["pads"] = [pads] * (2 * nd) if isinstance(pads, int) else list(pads)
        fan_in = cin // group * int(np.prod(ks))
        ins = [x, self.weight([cout, cin // group] + ks, fan_in, gain)]
        if bias:
            ins.append(self.bias(cout))
        return self.op("Conv", ins, out=out, name=name, **attrs)

    def bn(self, x, c, out=None):
        r = self.rng
        gamma = r.uniform(0.5, 1.5, c).astype(np.float32)
        beta = (r.standard_normal(c) * 0.2).astype(np.float32)
        mean = (r.standard_normal(c) * 0.2).astype(np.float32)
        var = r.uniform(0.5, 1.5, c).astype(np.float32)
        return self.op("BatchNormalization",
                       [x, self.floats(gamma), self.floats(beta), self.floats(mean), self.floats(var)],
                       out=out, epsilon=1e-5)

    def gemm(self, x, k, n, out=None):
        return self.op("Gemm", [x, self.weight([n, k], k, 1.0), self.bias(n)], out=out,
                       transB=1)

    # -- the model ---------------------------------------------------------
    def model(self):
        graph = helper.make_graph(self.nodes, self.name, self.ins,
                                  [helper.make_tensor_value_info(o, FLOAT, None) for o in self.outs],
                                  initializer=self.inits)
        opsets = [helper.make_opsetid("", self.opset)] + \
                 [helper.make_opsetid(d, v) for d, v in self.extra_opsets]
        m = helper.make_model(graph, opset_imports=opsets, producer_name="onnx2lite-tests")
        m.ir_version = IR_VERSION
        return m


def finish(g, checked=True):
    """Fills output shapes by ONNX shape inference and validates the model."""
    m = g.model()
    if not checked:
        return m
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    known = {vi.name: vi for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    del m.graph.output[:]
    for o in g.outs:
        vi = known[o]
        if not vi.type.tensor_type.HasField("shape"):
            raise ValueError("%s: no inferred shape for output %s" % (g.name, o))
        m.graph.output.append(vi)
    onnx.checker.check_model(m, full_check=True)
    return m


# ----------------------------------------------------------------------------
# the fixtures: name -> builder returning (G, expectations)
# ----------------------------------------------------------------------------

FIXTURES = {}
CL = "channels_last"
ID = "identity"


def fixture(fn):
    FIXTURES[fn.__name__] = fn
    return fn


def fixture_rows(builder, rows):
    """Registers one fixture per (name, args, kwargs) row, made by
    builder(name, *args, **kwargs) and described by builder's docstring."""
    for name, args, kwargs in rows:
        def fn(name=name, args=args, kwargs=kwargs):
            return builder(name, *args, **kwargs)
        fn.__name__, fn.__doc__ = name, builder.__doc__
        FIXTURES[name] = fn


@fixture
def cnn_bn_gemm():
    """conv+BN (not folded by the exporter)+relu+maxpool, twice, then
    flatten+gemm+softmax: BN folds, relus fuse, flatten order is kept."""
    g = G("cnn_bn_gemm")
    x = g.input("input", [1, 3, 16, 16], layout=CL)
    h = g.op("Relu", [g.bn(g.conv(x, 3, 8, 3, pads=1), 8)])
    h = g.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    h = g.op("Relu", [g.bn(g.conv(h, 8, 16, 3, pads=1), 16)])
    h = g.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    h = g.op("Flatten", [h], axis=1)
    g.op("Softmax", [g.gemm(h, 256, 10)], out=g.output("output"), axis=1)
    return g, dict(count={"CONV_2D": 2, "MAX_POOL_2D": 2, "FULLY_CONNECTED": 1,
                          "SOFTMAX": 1, "RESHAPE": [0, 1]}, only=True)


@fixture
def depthwise_conv():
    """group == channels: DEPTHWISE_CONV_2D with the relu fused."""
    g = G("depthwise_conv", opset=17)
    x = g.input("input", [1, 8, 12, 10], layout=CL)
    h = g.conv(x, 8, 8, 3, pads=1, group=8)
    g.op("Relu", [h], out=g.output("output", CL))
    return g, dict(count={"DEPTHWISE_CONV_2D": 1}, only=True)


@fixture
def depthwise_multiplier():
    """group == in channels, out = 2 x in: depth multiplier 2."""
    g = G("depthwise_multiplier")
    x = g.input("input", [1, 4, 10, 9], layout=CL)
    g.conv(x, 4, 8, 3, pads=1, group=4, out=g.output("output", CL))
    return g, dict(count={"DEPTHWISE_CONV_2D": 1}, only=True)


@fixture
def grouped_conv_g2():
    g = G("grouped_conv_g2")
    x = g.input("input", [1, 8, 10, 9], layout=CL)
    g.conv(x, 8, 8, 3, pads=1, group=2, out=g.output("output", CL))
    return g, dict(count={"TRANSPOSE": 0, "DEPTHWISE_CONV_2D": 0})


@fixture
def grouped_conv_g4():
    g = G("grouped_conv_g4")
    x = g.input("input", [1, 8, 10, 9], layout=CL)
    h = g.conv(x, 8, 16, 3, pads=1, group=4)
    g.op("Relu", [h], out=g.output("output", CL))
    return g, dict(count={"TRANSPOSE": 0, "DEPTHWISE_CONV_2D": 0, "RELU": 0})


@fixture
def dilated_conv():
    """dilation 2 with pads 2: SAME, so no PAD and no SPACE_TO_BATCH."""
    g = G("dilated_conv")
    x = g.input("input", [1, 4, 16, 14], layout=CL)
    g.conv(x, 4, 8, 3, pads=2, dilation=2, out=g.output("output", CL))
    return g, dict(count={"CONV_2D": 1}, only=True)


@fixture
def conv_same_valid():
    """Paddings TFLite has names for: stride-2 pads (0,0,1,1) on an even
    size is SAME, pads 1 at stride 1 is SAME, no pads is VALID."""
    g = G("conv_same_valid")
    x = g.input("input", [1, 3, 16, 14], layout=CL)
    h = g.op("Relu", [g.conv(x, 3, 8, 3, stride=2, pads=[0, 0, 1, 1])])
    h = g.conv(h, 8, 8, 3, pads=1)
    g.conv(h, 8, 4, 2, stride=2, out=g.output("output", CL))
    return g, dict(count={"CONV_2D": 3}, only=True)


@fixture
def conv_asym_pads():
    """pads (top 1, left 0, bottom 2, right 1): not SAME, needs an explicit pad."""
    g = G("conv_asym_pads")
    x = g.input("input", [1, 3, 12, 11], layout=CL)
    g.conv(x, 3, 8, 3, pads=[1, 0, 2, 1], out=g.output("output", CL))
    return g, dict(count={"CONV_2D": 1, "PAD": [0, 1], "PADV2": [0, 1]}, only=True)


@fixture
def conv_stride2_pad1():
    """PyTorch's stride-2 pad-1 conv on an even size: pads (1,1) act as
    (1,0), SAME would be (0,1), so an explicit pad is needed."""
    g = G("conv_stride2_pad1")
    x = g.input("input", [1, 3, 16, 14], layout=CL)
    g.conv(x, 3, 8, 3, stride=2, pads=1, out=g.output("output", CL))
    return g, dict(count={"CONV_2D": 1, "PAD": [0, 1], "PADV2": [0, 1]}, only=True)


@fixture
def conv1d_stack():
    """NCW (m5_audio-like): conv1d k8 s4 + BN + relu, maxpool1d,
    conv1d + BN + relu, avgpool1d."""
    g = G("conv1d_stack", opset=17)
    x = g.input("input", [1, 2, 128], layout=CL)
    h = g.op("Relu", [g.bn(g.conv(x, 2, 8, [8], stride=4), 8)])
    h = g.op("MaxPool", [h], kernel_shape=[2], strides=[2])
    h = g.op("Relu", [g.bn(g.conv(h, 8, 8, [3], pads=1), 8)])
    g.op("AveragePool", [h], out=g.output("output", CL), kernel_shape=[3], strides=[3])
    return g, dict(count={"TRANSPOSE": 0, "MUL": 0, "ADD": 0, "RELU": 0})


@fixture
def convtranspose_k3():
    """ConvTranspose stride 2, k 3, pads 1, output_padding 1: 6x5 -> 12x10."""
    g = G("convtranspose_k3")
    x = g.input("input", [1, 8, 6, 5], layout=CL)
    w = g.weight([8, 4, 3, 3], 8 * 9)
    g.op("ConvTranspose", [x, w, g.bias(4)], out=g.output("output", CL), kernel_shape=[3, 3],
         strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])
    return g, dict(count={"TRANSPOSE_CONV": 1, "TRANSPOSE": 0})


@fixture
def convtranspose_k4():
    """ConvTranspose stride 2, k 4, pads 1: 6x5 -> 12x10."""
    g = G("convtranspose_k4")
    x = g.input("input", [1, 8, 6, 5], layout=CL)
    w = g.weight([8, 4, 4, 4], 8 * 16)
    g.op("ConvTranspose", [x, w, g.bias(4)], out=g.output("output", CL), kernel_shape=[4, 4],
         strides=[2, 2], pads=[1, 1, 1, 1])
    return g, dict(count={"TRANSPOSE_CONV": 1, "TRANSPOSE": 0})


@fixture
def maxpool_ceil():
    """ceil_mode: k2 s2 on an odd size (u2netp), then k3 s2 (squeezenet);
    both come out as TFLite SAME."""
    g = G("maxpool_ceil")
    x = g.input("input", [1, 4, 11, 12], layout=CL)
    h = g.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    g.op("MaxPool", [h], out=g.output("output", CL), kernel_shape=[3, 3], strides=[2, 2],
         ceil_mode=1)
    return g, dict(count={"MAX_POOL_2D": 2}, only=True)


@fixture
def maxpool_pads():
    """resnet's MaxPool 3x3 s2 p1 on an even size (not SAME)."""
    g = G("maxpool_pads")
    x = g.input("input", [1, 4, 12, 10], layout=CL)
    g.op("MaxPool", [x], out=g.output("output", CL), kernel_shape=[3, 3], strides=[2, 2],
         pads=[1, 1, 1, 1])
    return g, dict(count={"MAX_POOL_2D": 1, "TRANSPOSE": 0})


@fixture
def avgpool_exclude_pad():
    """count_include_pad=0 with pads 1, k3 s1: exactly TFLite's SAME."""
    g = G("avgpool_exclude_pad")
    x = g.input("input", [1, 4, 9, 8], layout=CL)
    g.op("AveragePool", [x], out=g.output("output", CL), kernel_shape=[3, 3], pads=[1, 1, 1, 1],
         count_include_pad=0)
    return g, dict(count={"AVERAGE_POOL_2D": 1}, only=True)


@fixture
def avgpool_include_pad():
    """count_include_pad=1 with pads: the zeros count, so pad then VALID."""
    g = G("avgpool_include_pad")
    x = g.input("input", [1, 4, 9, 8], layout=CL)
    g.op("AveragePool", [x], out=g.output("output", CL), kernel_shape=[3, 3], strides=[2, 2],
         pads=[1, 1, 1, 1], count_include_pad=1)
    return g, dict(count={"AVERAGE_POOL_2D": 1, "TRANSPOSE": 0})


@fixture
def avgpool_ceil():
    """ceil_mode on an odd size: the last window is partial."""
    g = G("avgpool_ceil")
    x = g.input("input", [1, 4, 9, 7], layout=CL)
    g.op("AveragePool", [x], out=g.output("output", CL), kernel_shape=[2, 2], strides=[2, 2],
         ceil_mode=1)
    return g, dict(count={"AVERAGE_POOL_2D": 1}, only=True)


@fixture
def global_pools():
    g = G("global_pools")
    x = g.input("input", [1, 8, 6, 7], layout=CL)
    h = g.conv(x, 8, 8, 1)
    g.op("GlobalAveragePool", [h], out=g.output("avg"))
    g.op("GlobalMaxPool", [h], out=g.output("max"))
    return g, dict(count={"TRANSPOSE": 0, "CONV_2D": 1})


@fixture
def residual_add():
    """conv-relu-conv + skip, relu: both relus fuse (into CONV_2D and ADD)."""
    g = G("residual_add")
    x = g.input("input", [1, 8, 10, 9], layout=CL)
    h = g.op("Relu", [g.conv(x, 8, 8, 3, pads=1)])
    h = g.conv(h, 8, 8, 3, pads=1)
    g.op("Relu", [g.op("Add", [h, x])], out=g.output("output", CL))
    return g, dict(count={"CONV_2D": 2, "ADD": 1}, only=True)


@fixture
def concat_channels():
    """A squeezenet fire module: squeeze 1x1, expand 1x1 and 3x3, concat axis 1."""
    g = G("concat_channels")
    x = g.input("input", [1, 8, 10, 9], layout=CL)
    s = g.op("Relu", [g.conv(x, 8, 4, 1)])
    e1 = g.op("Relu", [g.conv(s, 4, 6, 1)])
    e3 = g.op("Relu", [g.conv(s, 4, 6, 3, pads=1)])
    g.op("Concat", [e1, e3], out=g.output("output", CL), axis=1)
    return g, dict(count={"CONV_2D": 3, "CONCATENATION": 1}, only=True)


@fixture
def channel_shuffle_split():
    """shufflenet's channel shuffle (Reshape 5-D, Transpose(0,2,1,3,4),
    Reshape back) followed by a Split on channels."""
    g = G("channel_shuffle_split")
    x = g.input("input", [1, 8, 6, 5], layout=CL)
    h = g.conv(x, 8, 8, 1)
    h = g.op("Reshape", [h, g.ints([1, 2, 4, 6, 5])])
    h = g.op("Transpose", [h], perm=[0, 2, 1, 3, 4])
    h = g.op("Reshape", [h, g.ints([1, 8, 6, 5])])
    a, b = g.op("Split", [h, g.ints([4, 4])], outs=2, axis=1)
    b = g.op("Relu", [g.conv(b, 4, 4, 3, pads=1)])
    g.op("Concat", [a, b], out=g.output("output", CL), axis=1)
    return g, dict(transpose_max=1)


@fixture
def channel_shuffle_slice():
    """The shuffle followed by shufflenet's chunk: Slices whose bounds come
    from Shape -> Gather -> Div -> Mul at run time."""
    g = G("channel_shuffle_slice")
    x = g.input("input", [1, 8, 6, 5], layout=CL)
    h = g.conv(x, 8, 8, 1)
    h = g.op("Reshape", [h, g.ints([1, 2, 4, 6, 5])])
    h = g.op("Transpose", [h], perm=[0, 2, 1, 3, 4])
    h = g.op("Reshape", [h, g.ints([1, 8, 6, 5])])
    c = g.op("Gather", [g.op("Shape", [h]), g.ints(1)], axis=0)
    half = g.op("Div", [c, g.ints(2)])
    half1 = g.op("Unsqueeze", [half, g.ints([0])])
    end = g.op("Unsqueeze", [g.op("Mul", [half, g.ints(2)]), g.ints([0])])
    a = g.op("Slice", [h, g.ints([0]), half1, g.ints([1])])
    b = g.op("Slice", [h, half1, end, g.ints([1])])
    b = g.op("Relu", [g.conv(b, 4, 4, 3, pads=1)])
    g.op("Concat", [a, b], out=g.output("output", CL), axis=1)
    return g, dict(transpose_max=1, count={"SHAPE": 0, "GATHER": 0, "DIV": 0, "MUL": 0})


@fixture
def reshape_gemm_nchw():
    """lenet: Reshape(1,-1) of an NCHW map before Gemm; the NHWC map must
    not be flattened as is (and no TRANSPOSE: permute the Gemm weight)."""
    g = G("reshape_gemm_nchw")
    x = g.input("input", [1, 3, 8, 7], layout=CL)
    h = g.op("Relu", [g.conv(x, 3, 6, 3, pads=1)])
    h = g.op("Reshape", [h, g.ints([1, -1])])
    g.gemm(h, 6 * 8 * 7, 10, out=g.output("output"))
    return g, dict(count={"CONV_2D": 1, "FULLY_CONNECTED": 1, "RESHAPE": [0, 1]}, only=True)


@fixture
def flatten_matmul_nchw():
    """Flatten of an NCHW map before MatMul + Add (the weight is [K, N])."""
    g = G("flatten_matmul_nchw")
    x = g.input("input", [1, 3, 8, 7], layout=CL)
    h = g.op("Relu", [g.conv(x, 3, 6, 3, pads=1)])
    h = g.op("Flatten", [h], axis=1)
    h = g.op("MatMul", [h, g.weight([6 * 8 * 7, 10], 6 * 8 * 7, 1.0)])
    g.op("Add", [h, g.bias(10)], out=g.output("output"))
    return g, dict(count={"TRANSPOSE": 0, "CONV_2D": 1})


def _resize_fixture(name, mode, ctm, shape, scales=None, sizes=None, opset=13, **attrs):
    g = G(name, opset=opset)
    x = g.input("input", shape, layout=CL)
    h = g.conv(x, shape[1], 4, 1)
    roi = "" if opset >= 13 else g.floats([])
    ins = [h, roi, g.floats(scales)] if scales else [h, roi, g.floats([]), g.ints(sizes)]
    g.op("Resize", ins, out=g.output("output", CL), mode=mode,
         coordinate_transformation_mode=ctm, **attrs)
    want = "RESIZE_NEAREST_NEIGHBOR" if mode == "nearest" else "RESIZE_BILINEAR"
    return g, dict(count={"CONV_2D": 1, want: 1}, only=True)


@fixture
def resize_nearest_asymmetric():
    return _resize_fixture("resize_nearest_asymmetric", "nearest", "asymmetric", [1, 3, 5, 6],
                           scales=[1, 1, 2, 2], nearest_mode="floor")


@fixture
def resize_nearest_opset11():
    """opset 11 Resize: the roi input is present (and ignored)."""
    return _resize_fixture("resize_nearest_opset11", "nearest", "asymmetric", [1, 3, 5, 6],
                           scales=[1, 1, 2, 2], nearest_mode="floor", opset=11)


@fixture
def resize_linear_half_pixel():
    """u2netp's bilinear Resize: half_pixel, target given as sizes."""
    return _resize_fixture("resize_linear_half_pixel", "linear", "half_pixel", [1, 3, 5, 6],
                           sizes=[1, 4, 10, 12])


@fixture
def resize_linear_align_corners():
    return _resize_fixture("resize_linear_align_corners", "linear", "align_corners",
                           [1, 3, 5, 6], scales=[1, 1, 2, 2])


@fixture
def resize_linear_asymmetric():
    return _resize_fixture("resize_linear_asymmetric", "linear", "asymmetric", [1, 3, 5, 6],
                           scales=[1, 1, 2, 2])


@fixture
def upsample_opset9():
    g = G("upsample_opset9", opset=9)
    x = g.input("input", [1, 3, 5, 6], layout=CL)
    h = g.conv(x, 3, 4, 1)
    g.op("Upsample", [h, g.floats([1, 1, 2, 2])], out=g.output("output", CL), mode="nearest")
    return g, dict(count={"CONV_2D": 1, "RESIZE_NEAREST_NEIGHBOR": 1}, only=True)


def _pad_fixture(name, mode, pads, value=None):
    g = G(name)
    x = g.input("input", [1, 3, 7, 6], layout=CL)
    h = g.conv(x, 3, 4, 1)
    ins = [h, g.ints(pads)] + ([g.floats(value)] if value is not None else [])
    g.op("Pad", ins, out=g.output("output", CL), mode=mode)
    return g


@fixture
def pad_constant():
    g = _pad_fixture("pad_constant", "constant", [0, 0, 1, 2, 0, 0, 2, 1], value=0.5)
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


@fixture
def pad_reflect():
    g = _pad_fixture("pad_reflect", "reflect", [0, 0, 2, 1, 0, 0, 1, 2])
    return g, dict(count={"CONV_2D": 1, "MIRROR_PAD": 1}, only=True)


@fixture
def pad_edge():
    """edge padding by 1 is SYMMETRIC mirror padding by 1."""
    g = _pad_fixture("pad_edge", "edge", [0, 0, 1, 1, 0, 0, 1, 1])
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


@fixture
def slice_steps_negative_idx():
    """Slice on channels and space with negative starts/ends and steps 2, 3."""
    g = G("slice_steps_negative_idx")
    x = g.input("input", [1, 8, 10, 12], layout=CL)
    h = g.conv(x, 8, 8, 1)
    g.op("Slice", [h, g.ints([-6, 1, -11]), g.ints([-1, 9, 1000]), g.ints([1, 2, 3]),
                   g.ints([1, 2, 3])], out=g.output("output", CL))
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


@fixture
def slice_reverse():
    """Negative steps: W reversed completely (end = INT64_MIN), H every 2nd backwards."""
    g = G("slice_reverse")
    x = g.input("input", [1, 8, 10, 12], layout=CL)
    h = g.conv(x, 8, 8, 1)
    g.op("Slice", [h, g.ints([-1, 8]), g.ints([np.iinfo(np.int64).min, 1]), g.ints([3, 2]),
                   g.ints([-1, -2])], out=g.output("output", CL))
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


@fixture
def split_channels():
    """Split on channels with explicit sizes (opset 13: sizes as an input)."""
    g = G("split_channels")
    x = g.input("input", [1, 8, 6, 5], layout=CL)
    h = g.conv(x, 8, 8, 1)
    g.op("Split", [h, g.ints([3, 5])], out=[g.output("a", CL), g.output("b", CL)], axis=1)
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


@fixture
def split_opset18():
    """opset 18 Split with num_outputs, on the H axis."""
    g = G("split_opset18", opset=18)
    x = g.input("input", [1, 8, 6, 5], layout=CL)
    h = g.conv(x, 8, 8, 1)
    g.op("Split", [h], out=[g.output("a", CL), g.output("b", CL)], axis=2, num_outputs=2)
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


def _gather_fixture(name, axis, indices):
    """Gather with constant indices (a scalar drops the axis) on a conv
    output: the axis follows the NHWC layout."""
    g = G(name)
    x = g.input("input", [1, 8, 6, 5], layout=CL)
    h = g.conv(x, 8, 8, 1)
    g.op("Gather", [h, g.ints(indices)], out=g.output("output"), axis=axis)
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


fixture_rows(_gather_fixture, [
    ("gather_channel_scalar", (1, 2), {}),
    ("gather_channel_vector", (1, [3, 0, 5, -1]), {}),
    ("gather_spatial_vector", (2, [0, 2, 2, -1]), {}),
    ("gather_spatial_scalar", (3, 1), {}),
])


def _softmax_fixture(name, op, axis, opset=13, transpose_max=None):
    g = G(name, opset=opset)
    x = g.input("input", [1, 6, 5, 7], layout=CL)
    h = g.conv(x, 6, 6, 1)
    g.op(op, [h], out=g.output("output"), axis=axis)
    want = "SOFTMAX" if op == "Softmax" else "LOG_SOFTMAX"
    e = dict(count={"CONV_2D": 1, want: 1})
    if transpose_max is not None:
        e["transpose_max"] = transpose_max
    return g, e


@fixture
def softmax_axis1():
    """Softmax over channels: the last axis in NHWC."""
    g, e = _softmax_fixture("softmax_axis1", "Softmax", 1)
    return g, dict(e, only=True)


@fixture
def logsoftmax_axis1():
    g, e = _softmax_fixture("logsoftmax_axis1", "LogSoftmax", 1)
    return g, dict(e, only=True)


@fixture
def softmax_last_axis():
    """Softmax over W of an NCHW map: in NHWC that is not the last axis, so
    it is written out along W (REDUCE_MAX, SUB, EXP, SUM, DIV), with no
    TRANSPOSE."""
    g, e = _softmax_fixture("softmax_last_axis", "Softmax", -1, transpose_max=0)
    e["count"] = {"CONV_2D": 1, "SOFTMAX": 0, "REDUCE_MAX": 1}
    return g, e


@fixture
def softmax_opset11_axis1():
    """opset < 13: Softmax(axis=1) normalises over C*H*W together."""
    return _softmax_fixture("softmax_opset11_axis1", "Softmax", 1, opset=11, transpose_max=2)


@fixture
def ncw_permute_matmul_logsoftmax():
    """m5_audio's tail: conv1d, permute(0,2,1), MatMul + Add, LogSoftmax on
    the last axis.  In NWC the permute moves no data: no TRANSPOSE."""
    g = G("ncw_permute_matmul_logsoftmax")
    x = g.input("input", [1, 4, 20], layout=CL)
    h = g.op("Relu", [g.conv(x, 4, 6, [3], pads=1)])
    h = g.op("Transpose", [h], perm=[0, 2, 1])
    h = g.op("Add", [g.op("MatMul", [h, g.weight([6, 5], 6, 1.0)]), g.bias(5)])
    g.op("LogSoftmax", [h], out=g.output("output", ID), axis=-1)
    return g, dict(count={"TRANSPOSE": 0, "LOG_SOFTMAX": 1})


@fixture
def reduce_opset13():
    """ReduceMean/Max/Min (axes attribute) and ReduceSum (axes input), keepdims 0 and 1."""
    g = G("reduce_opset13")
    x = g.input("input", [1, 6, 5, 7], layout=CL)
    h = g.conv(x, 6, 6, 1)
    g.op("ReduceMean", [h], out=g.output("mean_hw"), axes=[2, 3], keepdims=1)
    g.op("ReduceMax", [h], out=g.output("max_c"), axes=[1], keepdims=0)
    g.op("ReduceMin", [h], out=g.output("min_h"), axes=[2], keepdims=1)
    g.op("ReduceSum", [h, g.ints([1, 2, 3])], out=g.output("sum_all"), keepdims=0)
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


@fixture
def reduce_opset18():
    """opset 18: every Reduce takes its axes as an input."""
    g = G("reduce_opset18", opset=18)
    x = g.input("input", [1, 6, 5, 7], layout=CL)
    h = g.conv(x, 6, 6, 1)
    g.op("ReduceMean", [h, g.ints([-1])], out=g.output("mean_w"), keepdims=0)
    g.op("ReduceMax", [h, g.ints([2, 3])], out=g.output("max_hw"), keepdims=1)
    g.op("ReduceMin", [h, g.ints([1])], out=g.output("min_c"), keepdims=1)
    g.op("ReduceSum", [h, g.ints([2])], out=g.output("sum_h"), keepdims=0)
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


@fixture
def clip_relu6_opset11():
    """Clip(0, 6) with min/max as inputs (opset 11) after a conv: RELU6 fused."""
    g = G("clip_relu6_opset11", opset=11)
    x = g.input("input", [1, 3, 8, 7], layout=CL)
    h = g.conv(x, 3, 8, 3, pads=1, gain=40.0)
    g.op("Clip", [h, g.floats(0.0), g.floats(6.0)], out=g.output("output", CL))
    return g, dict(count={"CONV_2D": 1}, only=True)


@fixture
def clip_relu6_attrs():
    """Clip(0, 6) with min/max attributes (Clip-6, here in an opset 10 model)."""
    g = G("clip_relu6_attrs", opset=10)
    x = g.input("input", [1, 3, 8, 7], layout=CL)
    h = g.conv(x, 3, 8, 3, pads=1, gain=40.0)
    g.op("Clip", [h], out=g.output("output", CL), min=0.0, max=6.0)
    return g, dict(count={"CONV_2D": 1}, only=True)


@fixture
def clip_general():
    """Clip(-0.5, 1.5), and Clip with only a min (max omitted)."""
    g = G("clip_general")
    x = g.input("input", [1, 3, 8, 7], layout=CL)
    h = g.conv(x, 3, 8, 3, pads=1)
    g.op("Clip", [h, g.floats(-0.5), g.floats(1.5)], out=g.output("clamped", CL))
    g.op("Clip", [h, g.floats(0.25)], out=g.output("min_only", CL))
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


def _act_fixture(name, op, tfl_op=None, opset=13, conv_gain=2.0, **attrs):
    """An activation after a conv; where TFLite has the operator, exactly it."""
    g = G(name, opset=opset)
    x = g.input("input", [1, 3, 8, 7], layout=CL)
    h = g.conv(x, 3, 8, 3, pads=1, gain=conv_gain)
    extra = []
    if op == "PRelu":   # per-channel slope [C,1,1]: must become [1,1,C] in NHWC
        extra = [g.floats(g.rng.uniform(0.05, 0.5, (8, 1, 1)).astype(np.float32))]
    g.op(op, [h] + extra, out=g.output("output", CL), **attrs)
    count = {"CONV_2D": 1, "TRANSPOSE": 0}
    if tfl_op:
        count[tfl_op] = 1
    return g, dict(count=count, only=bool(tfl_op))


fixture_rows(_act_fixture, [
    ("act_leaky_relu", ("LeakyRelu", "LEAKY_RELU"), dict(alpha=0.1)),
    ("act_prelu", ("PRelu", "PRELU"), {}),
    ("act_elu", ("Elu", "ELU"), {}),
    ("act_sigmoid", ("Sigmoid", "LOGISTIC"), {}),
    ("act_tanh", ("Tanh", "TANH"), {}),
    ("act_hard_sigmoid", ("HardSigmoid", None), dict(conv_gain=20.0, alpha=0.2, beta=0.5)),
    ("act_hard_swish", ("HardSwish", "HARD_SWISH"), dict(opset=14, conv_gain=20.0)),
])


@fixture
def pow_exponents():
    """Pow by 2, 0.5 and 3 on positive values."""
    g = G("pow_exponents")
    x = g.input("input", [1, 4, 6, 5], dist=("uniform", 0.1, 2.0))
    g.op("Pow", [x, g.floats(2.0)], out=g.output("square"))
    g.op("Pow", [x, g.floats(0.5)], out=g.output("sqrt"))
    g.op("Pow", [x, g.floats(3.0)], out=g.output("cube"))
    return g, dict(count={"TRANSPOSE": 0})


@fixture
def unary_math():
    """Sqrt, Exp, Log, Neg, Abs (inputs in [0.1, 3])."""
    g = G("unary_math")
    x = g.input("input", [1, 4, 6, 5], dist=("uniform", 0.1, 3.0))
    g.op("Sqrt", [x], out=g.output("sqrt"))
    g.op("Exp", [x], out=g.output("exp"))
    g.op("Log", [x], out=g.output("log"))
    g.op("Neg", [x], out=g.output("neg"))
    g.op("Abs", [g.op("Sub", [x, g.floats(1.5)])], out=g.output("abs"))
    return g, dict(count={"TRANSPOSE": 0})


@fixture
def binary_broadcast_const():
    """Max/Min/Div/Sub with constants of shapes [C,1,1], [1,1,H,W] and a
    scalar after a conv: the [C,1,1] constants must follow the NHWC layout."""
    g = G("binary_broadcast_const")
    x = g.input("input", [1, 4, 6, 5], layout=CL)
    h = g.conv(x, 4, 4, 1)
    per_c = g.floats(g.rng.standard_normal((4, 1, 1)).astype(np.float32) * 0.5)
    per_hw = g.floats(g.rng.uniform(0.5, 2.0, (1, 1, 6, 5)).astype(np.float32))
    g.op("Max", [h, per_c], out=g.output("max", CL))
    g.op("Min", [h, g.floats(0.3)], out=g.output("min", CL))
    g.op("Div", [h, per_hw], out=g.output("div", CL))
    g.op("Sub", [per_c, h], out=g.output("sub", CL))
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


@fixture
def two_inputs():
    """Two graph inputs, one broadcast [1,C,1,1] against [1,C,H,W]."""
    g = G("two_inputs")
    a = g.input("a", [1, 4, 6, 5], layout=CL)
    b = g.input("b", [1, 4, 1, 1], dist=("uniform", 0.5, 2.0))
    h = g.conv(a, 4, 4, 3, pads=1)
    g.op("Max", [h, b], out=g.output("max", CL))
    g.op("Div", [h, b], out=g.output("div", CL))
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


@fixture
def squeeze_unsqueeze_transpose():
    """Unsqueeze to 5-D, Squeeze back, Transpose H<->W between two convs."""
    g = G("squeeze_unsqueeze_transpose")
    x = g.input("input", [1, 4, 6, 5], layout=CL)
    h = g.conv(x, 4, 8, 1)
    h = g.op("Unsqueeze", [h, g.ints([2])])
    h = g.op("Squeeze", [h, g.ints([2])])
    h = g.op("Transpose", [h], perm=[0, 1, 3, 2])
    g.conv(h, 8, 4, 3, pads=1, out=g.output("output", CL))
    return g, dict(count={"CONV_2D": 2}, transpose_max=1)


@fixture
def squeeze_unsqueeze_opset11():
    """opset 11: Squeeze/Unsqueeze axes as attributes; a 1x1 map squeezed to 2-D."""
    g = G("squeeze_unsqueeze_opset11", opset=11)
    x = g.input("input", [1, 4, 6, 5], layout=CL)
    h = g.op("GlobalAveragePool", [g.conv(x, 4, 8, 1)])
    h = g.op("Squeeze", [h], axes=[2, 3])
    h = g.op("Unsqueeze", [h], axes=[1])
    g.op("Squeeze", [h], out=g.output("output"), axes=[1])
    return g, dict(count={"CONV_2D": 1, "TRANSPOSE": 0})


@fixture
def shape_chain_reshape():
    """torch's old flatten: Shape -> Gather(0) -> Unsqueeze -> Concat(-1) ->
    Reshape, then Gemm.  All of it folds away."""
    g = G("shape_chain_reshape")
    x = g.input("input", [1, 3, 6, 5], layout=CL)
    h = g.op("Relu", [g.conv(x, 3, 4, 3, pads=1)])
    n = g.op("Unsqueeze", [g.op("Gather", [g.op("Shape", [h]), g.ints(0)], axis=0), g.ints([0])])
    shape = g.op("Concat", [n, g.ints([-1])], axis=0)
    h = g.op("Reshape", [h, shape])
    g.gemm(h, 4 * 6 * 5, 7, out=g.output("output"))
    return g, dict(count={"CONV_2D": 1, "FULLY_CONNECTED": 1, "RESHAPE": [0, 1]}, only=True)


@fixture
def cast_roundtrip():
    """float -> int32 -> float truncates toward zero."""
    g = G("cast_roundtrip")
    x = g.input("input", [1, 4, 6, 5], dist=("uniform", -5.0, 5.0))
    h = g.op("Cast", [x], to=TensorProto.INT32)
    g.op("Cast", [h], out=g.output("output"), to=FLOAT)
    return g, dict(count={"TRANSPOSE": 0})


@fixture
def constant_of_shape():
    """ConstantOfShape of a Shape folds to a constant."""
    g = G("constant_of_shape")
    x = g.input("input", [1, 4, 6, 5], layout=CL)
    h = g.conv(x, 4, 4, 1)
    c = g.op("ConstantOfShape", [g.op("Shape", [h])],
             value=numpy_helper.from_array(np.array([0.5], dtype=np.float32)))
    g.op("Add", [h, c], out=g.output("output", CL))
    return g, dict(count={"CONV_2D": 1, "ADD": [0, 1]}, only=True)


@fixture
def identity_dropout():
    """Identity and inference-mode Dropout vanish; the relu still fuses."""
    g = G("identity_dropout")
    x = g.input("input", [1, 3, 8, 7], layout=CL)
    h = g.op("Identity", [g.conv(x, 3, 8, 3, pads=1)])
    h = g.op("Dropout", [h])
    g.op("Relu", [h], out=g.output("output", CL))
    return g, dict(count={"CONV_2D": 1}, only=True)


@fixture
def symbolic_batch():
    """Batch dimension 'N': 1 by default, 2 with --input-shape."""
    g = G("symbolic_batch")
    x = g.input("pixels", ["N", 3, 8, 7], layout=CL, feed_shape=[1, 3, 8, 7])
    h = g.op("Relu", [g.conv(x, 3, 8, 3, pads=1)])
    h = g.op("Flatten", [g.op("GlobalAveragePool", [h])], axis=1)
    g.gemm(h, 8, 5, out=g.output("logits"))
    return g, dict(count={"CONV_2D": 1, "FULLY_CONNECTED": 1, "TRANSPOSE": 0},
                   variants=[{"args": ["--input-shape", "pixels=2,3,8,7"],
                              "shapes": {"pixels": [2, 3, 8, 7]}}])


@fixture
def output_nchw_4d():
    """A 4-D map is the graph output (segmentation head)."""
    g = G("output_nchw_4d")
    x = g.input("input", [1, 3, 10, 9], layout=CL)
    h = g.op("Relu", [g.conv(x, 3, 8, 3, pads=1)])
    g.op("Sigmoid", [g.conv(h, 8, 2, 1)], out=g.output("mask", CL))
    return g, dict(count={"CONV_2D": 2, "LOGISTIC": 1}, only=True)


@fixture
def two_outputs():
    """A 4-D map and 2-D logits, declared in that order."""
    g = G("two_outputs", opset=17)
    x = g.input("input", [1, 3, 10, 9], layout=CL)
    h = g.op("Relu", [g.conv(x, 3, 8, 3, pads=1)], out=g.output("features", CL))
    h = g.op("Flatten", [g.op("GlobalAveragePool", [h])], axis=1)
    g.gemm(h, 8, 4, out=g.output("logits"))
    return g, dict(count={"CONV_2D": 1, "FULLY_CONNECTED": 1, "TRANSPOSE": 0})


# ----------------------------------------------------------------------------
# models that must be rejected (tests/fixtures/errors/)
# ----------------------------------------------------------------------------

ERRORS = {}


def error_fixture(fn):
    ERRORS[fn.__name__] = fn
    return fn


@error_fixture
def unsupported_ops():
    """Three unsupported operators (one in a custom domain) around supported
    ones: all three are listed at once, exit 2."""
    g = G("unsupported_ops")
    g.extra_opsets = [("com.example", 1)]
    x = g.input("input", [2, 2])
    d = g.op("Det", [g.op("Relu", [x])], name="det_node")
    nz = g.op("NonZero", [x], name="nonzero_node")
    f = g.op("FancyOp", [x], name="fancy_node", domain="com.example")
    g.op("Add", [d, g.op("Cast", [g.op("ReduceSum", [nz], keepdims=0)], to=FLOAT)], out=g.output("y"))
    g.op("Relu", [f], out=g.output("z"))
    return g, dict(exit=[2], stderr=["Det", "NonZero", "FancyOp", "det_node", "nonzero_node",
                                     "fancy_node"])


@error_fixture
def bad_kernel_shape():
    """Conv on a 4-D input with a 1-element kernel_shape."""
    g = G("bad_kernel_shape")
    x = g.input("input", [1, 3, 8, 8])
    g.op("Conv", [x, g.weight([4, 3, 3, 3], 27)], name="conv_bad_kernel",
         out=g.output("y"), kernel_shape=[3])
    return g, dict(exit=[1], stderr=["conv_bad_kernel"])


@error_fixture
def negative_strides():
    g = G("negative_strides")
    x = g.input("input", [1, 3, 8, 8])
    g.op("Conv", [x, g.weight([4, 3, 3, 3], 27)], name="conv_neg_stride",
         out=g.output("y"), strides=[-1, 1])
    return g, dict(exit=[1], stderr=["conv_neg_stride"])


@error_fixture
def conv_channel_mismatch():
    """Weight [4,5,3,3] on a 3-channel input: wrong dims inside the model."""
    g = G("conv_channel_mismatch")
    x = g.input("input", [1, 3, 8, 8])
    g.op("Conv", [x, g.weight([4, 5, 3, 3], 45)], name="conv_mismatch", out=g.output("y"))
    return g, dict(exit=[1], stderr=["conv_mismatch"])


@error_fixture
def short_initializer():
    """An initializer whose raw_data is shorter than its dims say."""
    g = G("short_initializer")
    x = g.input("input", [1, 3, 8, 8])
    w = TensorProto(name="short_weight", data_type=FLOAT, dims=[4, 3, 3, 3], raw_data=b"\0" * 40)
    g.inits.append(w)
    g.op("Conv", [x, "short_weight"], name="conv_short", out=g.output("y"))
    return g, dict(exit=[1], stderr=["short_weight"])


# ----------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------

def check_unambiguous(name, m, exp):
    """The runner maps an I/O tensor by shape alone (identity or
    channels-last); a shape for which both fit with different data would
    make the comparison guess, so fixtures must not have one."""
    for vi in list(m.graph.input) + list(m.graph.output):
        dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        if len(dims) < 3 or not all(dims):
            continue
        probe = np.arange(int(np.prod(dims))).reshape(dims)
        perm = [0] + list(range(2, len(dims))) + [1]
        if onnx_facts.channels_last(dims) == dims and not np.array_equal(probe, probe.transpose(perm)):
            raise ValueError("%s: %s has ambiguous shape %s" % (name, vi.name, dims))


def check_consistent(name, m, exp):
    """An expectation that forbids what onnx_facts says the model needs
    would be a broken fixture, not a converter bug."""
    count, only = exp.get("count", {}), exp.get("only", False)

    def allowed(op):
        v = count.get(op, None if only else [0, 1 << 30])
        return 0 if v is None else (v[1] if isinstance(v, list) else v)
    budget, where = onnx_facts.pad_budget(m)
    if budget > sum(allowed(op) for op in onnx_facts.TFLITE_PADS):
        raise ValueError("%s: needs %d explicit pad(s) (%s) but its expectations forbid them"
                         % (name, budget, ", ".join(where)))
    left, where = onnx_facts.unfusable_activations(m)
    if left > sum(allowed(op) for op in onnx_facts.TFLITE_ACTIVATIONS):
        raise ValueError("%s: activations %s cannot fuse but are forbidden" % (name, where))


def fixture_feeds(name, inputs, shapes=None):
    """The inputs the tests feed a fixture: its expect.json "inputs" specs
    (shape, distribution), drawn from an RNG seeded by the fixture's name;
    shapes overrides some shapes (a variant with another batch size)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    feeds = {}
    for inp, spec in inputs.items():
        shape = (shapes or {}).get(inp, spec["shape"])
        dist = spec["dist"]
        if dist[0] == "uniform":
            feeds[inp] = rng.uniform(dist[1], dist[2], shape).astype(np.float32)
        else:
            feeds[inp] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def onnx_reference(model, feeds):
    """{output name: array} from onnxruntime, one thread; model is a path
    or serialized bytes."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds)))


def check_reference(name, m, inputs):
    """onnxruntime must accept every fixture and give finite, non-constant
    outputs on the inputs the tests will feed."""
    for o, v in onnx_reference(m.SerializeToString(), fixture_feeds(name, inputs)).items():
        if not np.all(np.isfinite(v)):
            raise ValueError("%s: output %s is not finite" % (name, o))
        if v.size > 1 and float(np.std(v)) == 0.0:
            raise ValueError("%s: output %s is constant" % (name, o))


def build_all():
    """Returns {relative path: bytes} and the expect.json document."""
    files, doc = {}, {"fixtures": {}, "errors": {}}
    for name, fn in FIXTURES.items():
        g, exp = fn()
        m = finish(g)
        check_unambiguous(name, m, exp)
        check_consistent(name, m, exp)
        check_reference(name, m, g.inputs)
        files[name + ".onnx"] = m.SerializeToString()
        entry = {"file": name + ".onnx", "opset": g.opset, "about": (fn.__doc__ or "").strip(),
                 "inputs": g.inputs, "outputs": list(g.outs)}
        if g.io_layout:
            entry["io_layout"] = g.io_layout
        entry.update(exp)
        doc["fixtures"][name] = entry
    for name, fn in ERRORS.items():
        g, exp = fn()
        m = finish(g, checked=False)
        files[os.path.join("errors", name + ".onnx")] = m.SerializeToString()
        doc["errors"][name] = dict(file="errors/%s.onnx" % name,
                                   about=(fn.__doc__ or "").strip(), **exp)
    files["expect.json"] = (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()
    return files, doc


def stale_files(files, out_dir=OUT_DIR):
    """The generated files that are missing from out_dir or differ there."""
    stale = []
    for rel, data in sorted(files.items()):
        path = os.path.join(out_dir, rel)
        if not os.path.exists(path):
            stale.append(rel)
            continue
        with open(path, "rb") as f:
            if f.read() != data:
                stale.append(rel)
    return stale


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=OUT_DIR)
    ap.add_argument("--check", action="store_true",
                    help="compare with the files on disk instead of writing")
    args = ap.parse_args(argv)
    files, doc = build_all()
    total = 0
    for rel, data in files.items():
        if len(data) > MAX_FIXTURE_BYTES:
            raise SystemExit("%s is %d bytes (limit %d)" % (rel, len(data), MAX_FIXTURE_BYTES))
        total += len(data)
    if total > MAX_TOTAL_BYTES:
        raise SystemExit("fixtures total %d bytes (limit %d)" % (total, MAX_TOTAL_BYTES))
    if args.check:
        stale = stale_files(files, args.out)
        if stale:
            print("out of date (run tests/gen_fixtures.py): %s" % ", ".join(sorted(stale)))
            return 1
        print("%d fixture files up to date" % len(files))
        return 0
    for rel, data in files.items():
        path = os.path.join(args.out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    print("wrote %d fixtures + %d error models (%d bytes) to %s" % (
        len(doc["fixtures"]), len(doc["errors"]), total, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
