#!/usr/bin/env python3
"""Regression cases for what full-integer quantization of real CNNs found
(the tools/zoo models), without torch.

    build/venv/bin/python tests/check_quant_regressions.py [--bin build/onnx2lite]
        [-k SUBSTRING] [--verbose]

Each case is a small ONNX model built here with onnx.helper that reproduces
one pattern of a zoo model (named in the case's note).  It is converted with
--quantize int8 (and int16x8 where the case says so), calibrated on 32
seeded N(0,1) samples, run in LiteRT with the default kernels and with the
reference kernels (BUILTIN_REF, the closest to TFLite Micro), and its
dequantized output compared with onnxruntime's on a fresh N(0,1) input:
cosine >= the case's bound in both.  Operators the case forbids (e.g. SUM,
or DEQUANTIZE: a float island) must be absent from the .tflite, and cases
marked npu must have every operator on the NPU in
`vela --accelerator-config ethos-u55-128` (skipped when vela is missing).
Cases with a size bound also compare the file with the float32 one.
Exit status 1 if any case fails.  Closing line: 'N passed, N failed'.
"""

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(REPO), "shared", "tools"))
RNG = np.random.default_rng(11)
F32 = TensorProto.FLOAT
RESOLVERS = (("default", OpResolverType.AUTO), ("ref", OpResolverType.BUILTIN_REF))


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, **attrs)


class Case:
    """nodes over input X [shape] -> output Y."""

    def __init__(self, name, note, nodes, shape, inits=(), forbid=("DEQUANTIZE",),
                 modes=("int8",), cosine=0.99, opset=13, npu=False, size=None):
        self.name, self.note, self.nodes, self.shape = name, note, nodes, shape
        self.inits, self.forbid, self.modes = list(inits), forbid, modes
        self.cosine, self.opset, self.npu, self.size = cosine, opset, npu, size

    def model(self):
        g = helper.make_graph(self.nodes, self.name,
                              [helper.make_tensor_value_info("X", F32, self.shape)],
                              [helper.make_tensor_value_info("Y", F32, None)], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", self.opset)])
        m.ir_version = 8
        return m


def weights(*shape, scale=0.3):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


# ---- cases -------------------------------------------------------------------

def reduce_cases():
    # ResNeSt / SKNet split attention: x.view(B, radix, C, H, W).sum(dim=1).
    # LiteRT's reference int8 SUM kernel gets every layout wrong (cosine
    # 0.27-0.87, -1.0 for a full reduction); SUM becomes MEAN * count, and
    # the MEAN of the 5-D map is read as 4-D (Vela: at most 4 dimensions).
    return [
        Case("sum_radix_axis", "timm_resnest14d, timm_skresnet18: reference SUM kernel wrong",
             [node("Relu", ["X"], ["r"]), node("Reshape", ["r", "shape"], ["v"]),
              node("ReduceSum", ["v", "axes"], ["Y"], keepdims=0)],
             [1, 16, 8, 8], [const("shape", np.array([1, 2, 8, 8, 8], np.int64)),
                             const("axes", np.array([1], np.int64))],
             forbid=("SUM", "DEQUANTIZE"), modes=("int8", "int16x8"), npu=True),
        Case("radix_softmax", "timm_resnest14d, timm_skresnet18: softmax over the radix axis",
             [node("Conv", ["X", "w"], ["x"]), node("Reshape", ["x", "shape"], ["v"]),
              node("Softmax", ["v"], ["s"], axis=1), node("Reshape", ["s", "back"], ["Y"])],
             [1, 8, 6, 5], [const("w", weights(8, 8, 1, 1)),
                            const("shape", np.array([1, 2, 4, 30], np.int64)),
                            const("back", np.array([1, 8, 6, 5], np.int64))],
             forbid=("DIV", "SUM", "DEQUANTIZE")),
        Case("sum_all_axes", "a full ReduceSum: the reference kernel flipped its sign",
             [node("ReduceSum", ["X", "axes"], ["Y"], keepdims=1)],
             [1, 8, 6, 6], [const("axes", np.array([1, 2, 3], np.int64))],
             forbid=("SUM", "DEQUANTIZE"), modes=("int8", "int16x8")),
    ]


def act_cases():
    # ELU: no kernel at all in the reference resolver (float included),
    # and no int16 kernel: written as MAXIMUM(x, EXP(MINIMUM(x, 0)) - 1).
    return [
        Case("elu", "pool_zoo: ELU missing from BUILTIN_REF",
             [node("Elu", ["X"], ["Y"])], [1, 8, 6, 6],
             forbid=("ELU", "DEQUANTIZE"), modes=("int8", "int16x8"), npu=True),
    ]


def tile_cases():
    # int8 TILE is version 3, which BUILTIN_REF does not register (check_quant
    # ops: Tile); it becomes a CONCATENATION of copies per tiled axis.
    return [Case("tile", "Tile: TILE v3 missing from BUILTIN_REF",
                 [node("Relu", ["X"], ["r"]), node("Tile", ["r", "reps"], ["Y"])],
                 [1, 8, 6, 5], [const("reps", np.array([1, 2, 1, 3], np.int64))],
                 forbid=("TILE", "DEQUANTIZE"), modes=("int8", "int16x8"))]


def gate_cases():
    # ECA-Net / SE gates written x * sigmoid(...).expand_as(x): Expand is a
    # BROADCAST_TO, which Vela does not know (timm ecaresnet26t: 8 CPU
    # operators); MUL broadcasts by itself.
    return [Case("expand_gate", "timm_ecaresnet26t: BROADCAST_TO before a gating MUL",
                 [node("Conv", ["X", "w"], ["x"]), node("GlobalAveragePool", ["x"], ["p"]),
                  node("Sigmoid", ["p"], ["s"]), node("Expand", ["s", "shape"], ["e"]),
                  node("Mul", ["x", "e"], ["Y"])],
                 [1, 8, 6, 5], [const("w", weights(8, 8, 1, 1)),
                                const("shape", np.array([1, 8, 6, 5], np.int64))],
                 forbid=("BROADCAST_TO", "DEQUANTIZE"), npu=True)]


def space_cases():
    # Pixel shuffle / unshuffle (super-resolution heads, pixel_shuffle zoo
    # model): int8 DEPTH_TO_SPACE is version 2, which the reference
    # resolver does not register, and neither it nor SPACE_TO_DEPTH runs
    # on the Ethos-U55: both become SPLIT / RESHAPE / CONCATENATION.
    return [
        Case("depth_to_space", "pixel_shuffle: DEPTH_TO_SPACE v2 missing from BUILTIN_REF",
             [node("Relu", ["X"], ["r"]), node("DepthToSpace", ["r"], ["Y"], blocksize=2)],
             [1, 12, 5, 7], forbid=("DEPTH_TO_SPACE", "DEQUANTIZE"), modes=("int8", "int16x8"),
             npu=True),
        Case("space_to_depth", "pixel_shuffle: PixelUnshuffle on the NPU",
             [node("SpaceToDepth", ["X"], ["Y"], blocksize=3)],
             [1, 2, 9, 6], forbid=("SPACE_TO_DEPTH", "DEQUANTIZE"), modes=("int8", "int16x8"),
             npu=True),
    ]


def norm_cases():
    # LayerNorm over channels written out (ConvNeXt, PoolFormer, EdgeNeXt):
    # (x - mean) / sqrt(var + eps).  DIV had no integer kernel, so every
    # normalization was a DEQUANTIZE / DIV / QUANTIZE island; and Vela
    # reduces the depth of a map only when H, W or C is 1, so the MEANs
    # over the channels ran on the CPU (ConvNeXt: 44 CPU operators).
    ln = [node("Conv", ["X", "w"], ["x"]),
          node("ReduceMean", ["x"], ["m"], axes=[1]), node("Sub", ["x", "m"], ["d"]),
          node("Mul", ["d", "d"], ["d2"]), node("ReduceMean", ["d2"], ["v"], axes=[1]),
          node("Add", ["v", "eps"], ["ve"]), node("Sqrt", ["ve"], ["s"]),
          node("Div", ["d", "s"], ["n"]), node("Mul", ["n", "g"], ["ng"]),
          node("Add", ["ng", "b"], ["Y"])]
    ln_inits = [const("w", weights(8, 8, 1, 1)), const("eps", np.float32(1e-6)),
                const("g", RNG.uniform(0.5, 1.5, (1, 8, 1, 1)).astype(np.float32)),
                const("b", (RNG.standard_normal((1, 8, 1, 1)) * 0.2).astype(np.float32))]
    # torch GroupNorm at opset 13: Reshape (N, G, -1), InstanceNormalization,
    # Reshape back; the statistics reduce the channels and the pixels.
    gn = [node("Conv", ["X", "w"], ["x"]), node("Reshape", ["x", "gshape"], ["r"]),
          node("InstanceNormalization", ["r", "ones", "zeros"], ["i"], epsilon=1e-5),
          node("Reshape", ["i", "xshape"], ["ib"]), node("Mul", ["ib", "g"], ["ig"]),
          node("Add", ["ig", "b"], ["Y"])]

    def gn_inits(groups, shape):
        return [const("w", weights(8, 8, 1, 1)), const("gshape", np.array([1, groups, -1], np.int64)),
                const("ones", np.ones(groups, np.float32)), const("zeros", np.zeros(groups, np.float32)),
                const("xshape", np.array(shape, np.int64)),
                const("g", RNG.uniform(0.5, 1.5, (1, 8, 1, 1)).astype(np.float32)),
                const("b", (RNG.standard_normal((1, 8, 1, 1)) * 0.2).astype(np.float32))]
    gn4_inits = gn_inits(4, [1, 8, 6, 6])
    # GroupNorm(1) (PoolFormer): one statistic over C*H*W, here 8192 > 4096
    # elements, more than Vela reduces along one axis: the MEAN must see
    # the data as [1, H', W', 1].
    gn1_inits = gn_inits(1, [1, 8, 32, 32])
    # F.normalize (EdgeNeXt's cross-covariance attention): x divided by
    # clamp(ReduceL2(x), eps) broadcast back.
    l2 = [node("ReduceL2", ["X"], ["l"], axes=[1], keepdims=1), node("Clip", ["l", "eps"], ["c"]),
          node("Expand", ["c", "shape"], ["e"]), node("Div", ["X", "e"], ["Y"])]
    return [Case("layernorm_channels", "convnext_tiny, layernorm_cf: DIV by SQRT, MEAN over C",
                 ln, [1, 8, 6, 5], ln_inits, forbid=("DIV", "SQRT", "DEQUANTIZE"), npu=True),
            Case("groupnorm", "groupnorm_block: GroupNorm statistics on the NPU",
                 gn, [1, 8, 6, 6], gn4_inits, npu=True),
            Case("groupnorm1_large", "timm_poolformer_s12: GroupNorm(1) MEAN over 8192 elements",
                 gn, [1, 8, 32, 32], gn1_inits, modes=("int8", "int16x8"), npu=True),
            Case("l2_normalize", "timm_edgenext_xx_small: DIV by a clamped L2 norm",
                 l2, [1, 8, 6, 6], [const("eps", np.float32(1e-12)),
                                    const("shape", np.array([1, 8, 6, 6], np.int64))],
                 forbid=("DIV", "SQRT", "DEQUANTIZE"))]


def const_cases():
    # EdgeNeXt's positional encoding: a constant (cumsum of ones, folded)
    # projected by a 1x1 Conv and added to the features.  The Conv's input
    # is a constant: it was never calibrated and conversion failed with
    # "input not quantized".
    pe = np.cumsum(np.ones((1, 4, 6, 6), np.float32), axis=2)
    return [Case("conv_of_constant", "timm_edgenext_xx_small: Conv on a constant input",
                 [node("Conv", ["pe", "w", "wb"], ["p"]), node("Add", ["X", "p"], ["Y"])],
                 [1, 8, 6, 6], [const("pe", pe), const("w", weights(8, 4, 1, 1)),
                                const("wb", weights(8))],
                 forbid=("CONV_2D", "DEQUANTIZE"))]


def pool_cases():
    # NF-ResNet stem: Conv (no activation) -> MaxPool(3, 2, pads 1) on an
    # even size: TFLite SAME pads (0, 1), so the pads are a PADV2 of
    # -FLT_MAX.  Its calibrated range (-3.4e38) went into the same-scale
    # group of the conv output: scale 1e36, every value 0 (cosine 0.23).
    return [Case("conv_maxpool_padv2", "timm_nf_resnet26: max-pool border -FLT_MAX in the range",
                 [node("Conv", ["X", "w"], ["c"], pads=[1, 1, 1, 1]),
                  node("MaxPool", ["c"], ["Y"], kernel_shape=[3, 3], strides=[2, 2],
                       pads=[1, 1, 1, 1])],
                 [1, 6, 16, 16], [const("w", weights(6, 6, 3, 3))])]


def weight_cases():
    # r3d_18: CONV_3D has no int8 (nor hybrid) kernel, so it stays float,
    # and its weights stayed float32 too: the int8 and dynamic files were
    # 0.995x of the float one.  They are int8 behind a DEQUANTIZE now.
    return [Case("conv3d_weights", "r3d_18: CONV_3D weights kept float32 in int8/dynamic",
                 [node("Conv", ["X", "w", "b"], ["c"], pads=[1, 1, 1, 1, 1, 1]),
                  node("Relu", ["c"], ["Y"])],
                 [1, 32, 4, 6, 6], [const("w", weights(64, 32, 3, 3, 3, scale=0.05)),
                                   const("b", weights(64))],
                 forbid=(), modes=("int8", "dynamic"), size=0.3)]


def island_cases():
    # EfficientViT's linear attention divides by (sum + 1e-5).  DIV by a
    # tensor has no int8 kernel and stays float; quantizing the ADD before
    # it rounds the 1e-5 away, the denominator dequantizes to exactly 0 and
    # the float DIV makes NaN (timm_efficientvit_b0: cosine 0.36).  An
    # operator without weights whose only readers are float stays float
    # with them.
    return [Case("eps_before_float_div", "timm_efficientvit_b0: 0/0 in a float DIV island",
                 [node("Relu", ["X"], ["r"]), node("Mul", ["r", "r"], ["n"]),
                  node("Add", ["r", "eps"], ["d"]), node("Div", ["n", "d"], ["Y"])],
                 [1, 8, 6, 5], [const("eps", np.array(1e-5, np.float32))],
                 forbid=(), cosine=0.99)]


def all_cases():
    return (reduce_cases() + act_cases() + tile_cases() + gate_cases() + space_cases() + norm_cases() + const_cases() +
            pool_cases() + weight_cases() + island_cases())


# ---- running -------------------------------------------------------------------

@contextlib.contextmanager
def quiet_stderr():
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def op_histogram(path):
    import eval_tflite  # shared/tools: the reviewers' flatbuffer reader
    return eval_tflite.read_tflite_info(path)["op_histogram"]


def run_tflite(path, x, resolver, ref_shape):
    with quiet_stderr():
        it = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
        it.allocate_tensors()
    d = it.get_input_details()[0]
    channels_last = list(d["shape"]) != list(x.shape)
    if channels_last:
        x = np.moveaxis(x, 1, -1)
    if d["dtype"] != np.float32:
        s, z = d["quantization"]
        info = np.iinfo(d["dtype"])
        x = np.clip(np.round(x / s) + z, info.min, info.max)
    it.set_tensor(d["index"], np.ascontiguousarray(x.astype(d["dtype"])))
    it.invoke()
    o = it.get_output_details()[0]
    y = it.get_tensor(o["index"]).astype(np.float64)
    if o["dtype"] != np.float32:
        s, z = o["quantization"]
        y = (y - z) * s
    if y.ndim >= 3 and (y.shape != tuple(ref_shape) or channels_last):
        y = np.moveaxis(y, -1, 1)  # channels-last edges
    return y.reshape(ref_shape)


def vela_cpu_ops(path, work):
    """CPU operator count Vela reports for path, or None without vela."""
    import re
    import shutil
    vela = shutil.which("vela") or os.path.join(os.path.dirname(sys.executable), "vela")
    if not os.path.exists(vela):
        return None
    p = subprocess.run([vela, "--accelerator-config", "ethos-u55-128", "--output-dir",
                        os.path.join(work, "vela"), path], capture_output=True, text=True)
    m = re.search(r"CPU operators = (\d+)", p.stdout)
    return int(m.group(1)) if m and p.returncode == 0 else -1


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def check(case, binary, work, verbose):
    onnx_path = os.path.join(work, case.name + ".onnx")
    with open(onnx_path, "wb") as f:
        f.write(case.model().SerializeToString())
    calib = os.path.join(work, case.name + ".calib.npy")
    np.save(calib, RNG.standard_normal([32] + case.shape[1:]).astype(np.float32))
    x = RNG.standard_normal(case.shape).astype(np.float32)
    ref = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"]).run(None, {"X": x})[0]
    errs = []
    base = None
    if case.size:
        base = os.path.join(work, case.name + ".float32.tflite")
        subprocess.run([binary, "convert", onnx_path, "-o", base, "-q"], check=True)
    for mode in case.modes:
        tfl = os.path.join(work, "%s.%s.tflite" % (case.name, mode))
        calib_flags = ["--calib", calib] if mode in ("int8", "int16x8") else []
        p = subprocess.run([binary, "convert", onnx_path, "-o", tfl, "--quantize", mode] + calib_flags,
                           capture_output=True, text=True)
        if verbose:
            print(p.stdout + p.stderr)
        if p.returncode != 0:
            errs.append("%s: convert failed (%d): %s" % (mode, p.returncode,
                                                         (p.stdout + p.stderr).strip()[-300:]))
            continue
        hist = op_histogram(tfl)
        for op in case.forbid:
            if hist.get(op, 0):
                errs.append("%s: %d %s operator(s)" % (mode, hist[op], op))
        if base and os.path.getsize(tfl) > case.size * os.path.getsize(base):
            errs.append("%s: %.3fx of float32 (limit %.2fx)" % (
                mode, os.path.getsize(tfl) / os.path.getsize(base), case.size))
        if case.npu and mode == "int8":
            cpu = vela_cpu_ops(tfl, work)
            if cpu:  # None: no vela; -1: vela failed
                errs.append("vela: %s" % ("failed" if cpu < 0 else "%d CPU operator(s)" % cpu))
        for key, res in RESOLVERS:
            try:
                c = cosine(ref, run_tflite(tfl, x, res, ref.shape))
            except Exception as e:  # a refusal is a failure of the case
                errs.append("%s %s kernels: %s" % (mode, key, str(e).splitlines()[0][:120]))
                continue
            if not c >= case.cosine:
                errs.append("%s %s kernels: cosine %.5f < %.3f" % (mode, key, c, case.cosine))
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
                print("FAIL %-24s (%s)\n     %s" % (c.name, c.note, "\n     ".join(errs)))
            else:
                passed += 1
                print("ok   %-24s (%s)" % (c.name, c.note))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
