#!/usr/bin/env python3
"""check_lower_shape.py - data-movement, resize and reduction lowerings
checked numerically in LiteRT against onnxruntime, with their TRANSPOSE
counts.

Every case is a small ONNX model built with onnx.helper around one operator
(or a short chain: channel shuffle, flatten...), in two contexts:
  cl     the operator reads a Conv output, so its input is channels-last;
  plain  the operator reads the graph input directly (ONNX order).
1-D cases (cl1d / plain1d) use [N,C,L] maps and Conv1d.  Each model is
converted with build/onnx2lite, run with LiteRT's default (XNNPACK),
optimized builtin and reference kernels, and compared with onnxruntime (relative error max|d|/max|ref| <=
1e-5; integer outputs exactly).  Inputs and outputs are mapped between
layouts the way eval_tflite.py does (a .tflite tensor with the
channels-last shape of the ONNX one is transposed).  The number of
TRANSPOSE operators must not exceed the one written next to the case.
Cases TFLite cannot express must be refused (exit status 2, the message
naming the node).

  check_lower_shape.py [--bin build/onnx2lite] [--keep DIR] [-k SUBSTR] [-v]
Exit status: 0 when every case passed.
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from onnx import TensorProto, helper, numpy_helper
from o2l_testlib import REPO as ROOT
from o2l_testlib import convert, from_tflite_layout, to_tflite_layout
RTOL = 1e-5
C, H, W, L = 6, 5, 7, 20


class Builder:
    """Collects nodes and initializers; op() returns the output name(s)."""

    def __init__(self, ctx, rng):
        self.ctx, self.rng = ctx, rng
        self.nodes, self.inits, self.inputs = [], [], []
        self.types = {}
        self.k = 0
        self.one_d = ctx.endswith("1d")
        self._feat = {}

    def name(self, base):
        self.k += 1
        return f"{base}{self.k}"

    def const(self, arr, dtype=None):
        a = np.asarray(arr, dtype=dtype)
        n = self.name("c")
        self.inits.append(numpy_helper.from_array(a, n))
        return n

    def op(self, op_type, inputs, nout=1, out_type=None, **attrs):
        outs = [self.name(op_type.lower() + "_") for _ in range(nout)]
        self.nodes.append(helper.make_node(op_type, inputs, outs,
                                           name=self.name("n_" + op_type),
                                           **attrs))
        if out_type is not None:
            types = out_type if isinstance(out_type, list) else [out_type] * nout
            for o, t in zip(outs, types):
                self.types[o] = t
        return outs[0] if nout == 1 else outs

    def runtime_input(self, name, value):
        """A graph input fed with `value` (not a constant)."""
        self.inputs.append((name, list(value.shape), value))
        return name

    def feat(self, i=0):
        """The i-th feature map [1,C,H,W] (or [1,C,L]) of the context."""
        if i in self._feat:
            return self._feat[i]
        sp = [L] if self.one_d else [H, W]
        if self.ctx.startswith("cl"):
            if not any(i[0] == "x" for i in self.inputs):
                self.inputs.append(("x", [1, 3] + sp))
            k = [3] * len(sp)
            w = self.const(self.rng.standard_normal([C, 3] + k).astype(np.float32))
            b = self.const(self.rng.standard_normal([C]).astype(np.float32))
            f = self.op("Conv", ["x", w, b], pads=[1] * (2 * len(sp)),
                        kernel_shape=k)
        else:
            f = f"x{i}"
            self.inputs.append((f, [1, C] + sp))
        self._feat[i] = f
        return f


# ---- cases: (name, max TRANSPOSEs {ctx: n}, builder(b) -> outputs) --------

def shuffle(b, x):
    a = b.op("Reshape", [x, b.const([1, 2, C // 2, H, W], np.int64)])
    t = b.op("Transpose", [a], perm=[0, 2, 1, 3, 4])
    return b.op("Reshape", [t, b.const([1, C, H, W], np.int64)])


def sl(b, x, starts, ends, axes, steps=None):
    ins = [x, b.const(starts, np.int64), b.const(ends, np.int64),
           b.const(axes, np.int64)]
    if steps is not None:
        ins.append(b.const(steps, np.int64))
    return b.op("Slice", ins)


def resize(b, x, mode, coord, nearest=None, scales=None, sizes=None, **kw):
    ins = [x, ""]
    ins.append(b.const(scales, np.float32) if scales is not None else "")
    if sizes is not None:
        ins.append(b.const(sizes, np.int64))
    attrs = dict(mode=mode, coordinate_transformation_mode=coord, **kw)
    if nearest:
        attrs["nearest_mode"] = nearest
    return b.op("Resize", ins, **attrs)


Z = {"cl": 0, "plain": 0}
CASES = [
    ("concat_axis1", Z, lambda b: [b.op("Concat", [b.feat(0), b.feat(1)], axis=1)]),
    ("concat_axis2", Z, lambda b: [b.op("Concat", [b.feat(0), b.feat(1)], axis=2)]),
    ("concat_axis-1", Z, lambda b: [b.op("Concat", [b.feat(0), b.feat(1)], axis=-1)]),
    ("concat_const", Z, lambda b: [b.op("Concat", [b.feat(), b.const(
        np.arange(2 * H * W, dtype=np.float32).reshape(1, 2, H, W))], axis=1)]),
    ("split_equal", Z, lambda b: b.op("Split", [b.feat()], nout=2, axis=1)),
    ("split_uneven", Z, lambda b: b.op("Split", [b.feat(), b.const([1, 5], np.int64)],
                                       nout=2, axis=1)),
    ("split_width", Z, lambda b: b.op("Split", [b.feat(), b.const([3, 4], np.int64)],
                                      nout=2, axis=3)),
    ("slice_channels", Z, lambda b: [sl(b, b.feat(), [1], [4], [1])]),
    ("slice_steps", Z, lambda b: [sl(b, b.feat(), [0, 1], [6, 7], [1, 3], [2, 3])]),
    ("slice_reverse", Z, lambda b: [sl(b, b.feat(), [-1], [-100], [1], [-1])]),
    ("slice_reverse_h", Z, lambda b: [sl(b, b.feat(), [4, 5], [0, 1], [2, 3], [-2, -1])]),
    ("gather_scalar_c", Z, lambda b: [b.op("Gather", [b.feat(), b.const(2, np.int64)], axis=1)]),
    ("gather_scalar_w", Z, lambda b: [b.op("Gather", [b.feat(), b.const(-1, np.int64)], axis=3)]),
    ("gather_run_c", Z, lambda b: [b.op("Gather", [b.feat(), b.const([1, 2, 3], np.int64)], axis=1)]),
    ("gather_vector_c", Z, lambda b: [b.op("Gather", [b.feat(), b.const([4, 0, -1], np.int64)], axis=1)]),
    ("gather_vector_h", Z, lambda b: [b.op("Gather", [b.feat(), b.const([3, 1], np.int32)], axis=2)]),
    ("gather_2d_idx_c", {"cl": 1, "plain": 0}, lambda b: [b.op(
        "Gather", [b.feat(), b.const([[0, 1], [4, 5]], np.int64)], axis=1)]),
    ("pad_zero", Z, lambda b: [b.op("Pad", [b.feat(), b.const([0, 0, 1, 2, 0, 0, 2, 1], np.int64)])]),
    ("pad_channels", Z, lambda b: [b.op("Pad", [b.feat(), b.const([0, 1, 0, 0, 0, 2, 0, 0], np.int64)])]),
    ("pad_value", Z, lambda b: [b.op("Pad", [b.feat(), b.const([0, 0, 1, 0, 0, 0, 0, 3], np.int64),
                                             b.const(1.5, np.float32)])]),
    ("pad_reflect", Z, lambda b: [b.op("Pad", [b.feat(), b.const([0, 0, 2, 1, 0, 0, 1, 3], np.int64)],
                                       mode="reflect")]),
    ("pad_edge", Z, lambda b: [b.op("Pad", [b.feat(), b.const([0, 0, 1, 1, 0, 0, 1, 0], np.int64)],
                                    mode="edge")]),
    ("pad_negative", Z, lambda b: [b.op("Pad", [b.feat(), b.const([0, 0, -1, 2, 0, 0, 1, -3], np.int64)])]),
    ("reduce_mean_hw_keep", Z, lambda b: [b.op("ReduceMean", [b.feat()], axes=[2, 3])]),
    ("reduce_mean_hw", Z, lambda b: [b.op("ReduceMean", [b.feat()], axes=[2, 3], keepdims=0)]),
    ("reduce_max_c", Z, lambda b: [b.op("ReduceMax", [b.feat()], axes=[1])]),
    ("reduce_min_h", Z, lambda b: [b.op("ReduceMin", [b.feat()], axes=[2], keepdims=0)]),
    ("reduce_sum_c", Z, lambda b: [b.op("ReduceSum", [b.feat(), b.const([1], np.int64)], keepdims=0)]),
    ("reduce_prod_w", Z, lambda b: [b.op("ReduceProd", [b.feat()], axes=[-1])]),
    ("reduce_all", Z, lambda b: [b.op("ReduceMax", [b.feat()], keepdims=0)]),
    ("argmax_c", Z, lambda b: [b.op("ArgMax", [b.feat()], axis=1, keepdims=0,
                                    out_type=TensorProto.INT64)]),
    ("argmax_h_keep", Z, lambda b: [b.op("ArgMax", [b.feat()], axis=2,
                                         out_type=TensorProto.INT64)]),
    # A graph output is exposed in ONNX order or channels-last only: a
    # transpose of plain data, or one giving neither order, moves data.
    ("transpose_to_nhwc", {"cl": 0, "plain": 1}, lambda b: [b.op("Transpose", [b.feat()], perm=[0, 2, 3, 1])]),
    ("transpose_hw", {"cl": 1, "plain": 1}, lambda b: [b.op("Transpose", [b.feat()], perm=[0, 1, 3, 2])]),
    ("channel_shuffle_slices", {"cl": 1, "plain": 1}, lambda b: (lambda s: [
        sl(b, s, [0], [C // 2], [1]), sl(b, s, [C // 2], [C], [1])])(shuffle(b, b.feat()))),
    ("channel_shuffle_split", {"cl": 1, "plain": 1}, lambda b: b.op(
        "Split", [shuffle(b, b.feat())], nout=2, axis=1)),
    ("flatten", {"cl": 1, "plain": 0}, lambda b: [b.op("Flatten", [b.feat()])]),
    ("reshape_chain", Z, lambda b: [b.op("Squeeze", [b.op(
        "Unsqueeze", [b.feat(), b.const([0], np.int64)]), b.const([0], np.int64)])]),
    ("expand_bcast", Z, lambda b: [b.op("Expand", [b.op("ReduceMean", [b.feat()], axes=[2, 3]),
                                                   b.const([1, C, H, W], np.int64)])]),
    ("expand_batch", Z, lambda b: [b.op("Expand", [b.feat(), b.const([2, 1, 1, 1], np.int64)])]),
    ("tile", Z, lambda b: [b.op("Tile", [b.feat(), b.const([1, 2, 1, 3], np.int64)])]),
    ("cast_roundtrip", Z, lambda b: [b.op("Cast", [b.op("Cast", [b.feat()], to=TensorProto.INT32,
                                                       out_type=TensorProto.INT32)],
                                          to=TensorProto.FLOAT)]),
    ("identity", Z, lambda b: [b.op("Identity", [b.feat()])]),
    ("dropout_mask", Z, lambda b: b.op("Dropout", [b.feat()], nout=2,
                                       out_type=[TensorProto.FLOAT, TensorProto.BOOL])),
    ("split_empty_part", Z, lambda b: (lambda o: [b.op("Concat", [o[1], o[0]], axis=1)])(
        b.op("Split", [b.feat(), b.const([C, 0], np.int64)], nout=2, axis=1))),
    ("gather_runtime_idx", {"cl": 1, "plain": 0}, lambda b: [b.op("Gather", [b.feat(), b.runtime_input(
        "idx", np.array([[-1, 0], [2, -6]], np.int64))], axis=1)]),
    ("resize_nearest_x2", Z, lambda b: [resize(b, b.feat(), "nearest", "asymmetric", "floor",
                                               scales=[1, 1, 2, 2])]),
    ("resize_nearest_down", Z, lambda b: [resize(b, b.feat(), "nearest", "asymmetric", "floor",
                                                 sizes=[1, C, 3, 4])]),
    ("resize_nearest_align", Z, lambda b: [resize(b, b.feat(), "nearest", "align_corners",
                                                  "round_prefer_ceil", sizes=[1, C, 9, 13])]),
    ("resize_nearest_half_x3", Z, lambda b: [resize(b, b.feat(), "nearest", "half_pixel",
                                                    "round_prefer_floor", scales=[1, 1, 3, 3])]),
    ("resize_nearest_half_ceil", Z, lambda b: [resize(b, b.feat(), "nearest", "half_pixel",
                                                      "round_prefer_ceil", sizes=[1, C, 8, 12])]),
    ("resize_linear_half", Z, lambda b: [resize(b, b.feat(), "linear", "half_pixel",
                                                sizes=[1, C, 9, 11])]),
    ("resize_linear_half_down", Z, lambda b: [resize(b, b.feat(), "linear", "half_pixel",
                                                     sizes=[1, C, 3, 4])]),
    ("resize_linear_pytorch", Z, lambda b: [resize(b, b.feat(), "linear", "pytorch_half_pixel",
                                                   sizes=[1, C, 10, 14])]),
    ("resize_linear_align", Z, lambda b: [resize(b, b.feat(), "linear", "align_corners",
                                                 sizes=[1, C, 10, 13])]),
    ("resize_linear_asym", Z, lambda b: [resize(b, b.feat(), "linear", "asymmetric",
                                                scales=[1, 1, 2, 3])]),
    ("upsample9_nearest", Z, lambda b: [b.op("Upsample", [b.feat(), b.const(
        [1, 1, 2, 3], np.float32)], mode="nearest")], 9),
    ("upsample9_linear", Z, lambda b: [b.op("Upsample", [b.feat(), b.const(
        [1, 1, 2, 2], np.float32)], mode="linear")], 9),
    ("resize10_nearest", Z, lambda b: [b.op("Resize", [b.feat(), b.const(
        [1, 1, 2, 2], np.float32)], mode="nearest")], 10),
    ("resize_then_concat", Z, lambda b: [b.op("Concat", [resize(
        b, b.feat(0), "linear", "half_pixel", scales=[1, 1, 2, 2]), resize(
        b, b.feat(1), "linear", "half_pixel", scales=[1, 1, 2, 2])], axis=1)]),
]

Z1 = {"cl1d": 0, "plain1d": 0}
CASES_1D = [
    ("permute_021", Z1, lambda b: [b.op("Transpose", [b.feat()], perm=[0, 2, 1])]),
    ("resize1d_linear", Z1, lambda b: [resize(b, b.feat(), "linear", "half_pixel", sizes=[1, C, 33])]),
    ("resize1d_nearest", Z1, lambda b: [resize(b, b.feat(), "nearest", "asymmetric", "floor",
                                               scales=[1, 1, 2])]),
    ("concat1d", Z1, lambda b: [b.op("Concat", [b.feat(0), b.feat(1)], axis=1)]),
    ("reduce1d_mean", Z1, lambda b: [b.op("ReduceMean", [b.feat()], axes=[2])]),
    ("pad1d_reflect", Z1, lambda b: [b.op("Pad", [b.feat(), b.const([0, 0, 3, 0, 0, 2], np.int64)],
                                          mode="reflect")]),
]

# Cases that must be refused: (name, builder, text the message must hold[,
# opset]).
REFUSED = [
    ("resize_cubic", lambda b: [resize(b, b.feat(), "cubic", "half_pixel", scales=[1, 1, 2, 2])],
     "cubic"),
    ("resize_crop", lambda b: [resize(b, b.feat(), "linear", "tf_crop_and_resize",
                                      sizes=[1, C, 8, 8])], "tf_crop_and_resize"),
    ("resize_even_down", lambda b: [resize(b, b.op("Pad", [b.feat(), b.const(
        [0, 0, 0, 0, 0, 0, 3, 1], np.int64)]), "nearest", "half_pixel", "round_prefer_floor",
        sizes=[1, C, 4, 4])], "round_prefer_floor"),
    ("resize_channels", lambda b: [resize(b, b.feat(), "nearest", "asymmetric", "floor",
                                          scales=[1, 2, 1, 1])], "channels"),
    ("resize_inexact_scale", lambda b: [resize(b, b.feat(), "linear", "asymmetric",
                                               scales=[1, 1, 1.5, 1.5])], "scales"),
    ("pad_wrap", lambda b: [b.op("Pad", [b.feat(), b.const([0, 0, 1, 1, 0, 0, 1, 1], np.int64)],
                                 mode="wrap")], "wrap", 19),
    ("pad_edge_2", lambda b: [b.op("Pad", [b.feat(), b.const([0, 0, 2, 0, 0, 0, 0, 0], np.int64)],
                                   mode="edge")], "edge"),
    ("argmax_last", lambda b: [b.op("ArgMax", [b.feat()], axis=1, select_last_index=1,
                                    out_type=TensorProto.INT64)], "select_last_index"),
]


# ---- running -----------------------------------------------------------------

def make_model(ctx, build, seed, opset=13):
    b = Builder(ctx, np.random.default_rng(seed))
    outs = build(b)
    inputs = [helper.make_tensor_value_info(
        i[0], helper.np_dtype_to_tensor_dtype(i[2].dtype) if len(i) > 2
        else TensorProto.FLOAT, i[1]) for i in b.inputs]
    outputs = [helper.make_tensor_value_info(o, b.types.get(o, TensorProto.FLOAT), None)
               for o in outs]
    g = helper.make_graph(b.nodes, "case", inputs, outputs, b.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="check_lower_shape")
    m.ir_version = 8 if opset < 19 else 9
    m = onnx.shape_inference.infer_shapes(m)
    onnx.checker.check_model(m)
    return m, b


def rel_err(a, b):
    d = np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))) if a.size else 0
    m = np.max(np.abs(b.astype(np.float64))) if b.size else 0
    return d / m if m > 0 else d


def run_litert(path, feeds, resolver):
    it = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    ops = [o["op_name"] for o in it._get_ops_details()]
    for d in it.get_input_details():
        x = feeds[d["name"]]
        it.set_tensor(d["index"], to_tflite_layout(x, d["shape"]).astype(d["dtype"]))
    it.invoke()
    outs = {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}
    return outs, ops


def check_case(args, tmp, ctx, name, limit, build, seed, opset=13):
    tag = f"{name}[{ctx}]"
    m, b = make_model(ctx, build, seed, opset)
    op = os.path.join(tmp, f"{name}_{ctx}.onnx")
    tp = op[:-5] + ".tflite"
    onnx.save(m, op)
    r = convert(args.bin, op, tp, "-q")
    if r.returncode != 0:
        return f"{tag}: conversion failed ({r.returncode}): {r.stderr.strip()}"
    rng = np.random.default_rng(seed + 1)
    feeds = {i[0]: i[2] if len(i) > 2 else
             rng.standard_normal(i[1]).astype(np.float32) * 2 for i in b.inputs}
    sess = ort.InferenceSession(op, providers=["CPUExecutionProvider"])
    ref = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    problems, ntr = [], 0
    for rname, res in (("default", OpResolverType.AUTO),
                       ("builtin", OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES),
                       ("reference", OpResolverType.BUILTIN_REF)):
        outs, ops = run_litert(tp, feeds, res)
        ntr = ops.count("TRANSPOSE")
        for oname, want in ref.items():
            if oname not in outs:
                problems.append(f"output {oname} missing")
                continue
            try:
                got = from_tflite_layout(outs[oname], want.shape)
            except ValueError as e:
                problems.append(str(e))
                continue
            if want.dtype == bool:
                if not np.array_equal(got, want):
                    problems.append(f"{oname} ({rname}): boolean output differs")
            elif want.dtype.kind in "iu":
                # Cast truncates: a conv result within float noise of an
                # integer may land either side.
                bad = np.count_nonzero(got != want)
                tol = 0 if ctx.startswith("plain") else max(1, want.size // 200)
                if bad > tol or np.max(np.abs(got.astype(np.int64) - want), initial=0) > 1:
                    problems.append(f"{oname} ({rname}): {bad} of {want.size} differ")
            else:
                e = rel_err(got, want)
                if not e <= RTOL:
                    problems.append(f"{oname} ({rname}): rel err {e:.3g}")
        if args.verbose and rname == "default":
            print(f"  {tag}: {' '.join(ops)}")
    if ntr > limit:
        problems.append(f"{ntr} TRANSPOSE (at most {limit} expected)")
    return f"{tag}: " + "; ".join(problems) if problems else None, ntr


def check_refused(args, tmp, name, build, text, seed, opset=13):
    m, _ = make_model("cl", build, seed, opset)
    op = os.path.join(tmp, f"{name}.onnx")
    onnx.save(m, op)
    r = convert(args.bin, op, op[:-5] + ".tflite", "-q")
    node = [n.name for n in m.graph.node if n.op_type in ("Resize", "Pad", "ArgMax")]
    if r.returncode != 2:
        return f"{name}: expected refusal (exit 2), got {r.returncode} {r.stderr.strip()}"
    if text and text not in r.stderr:
        return f"{name}: message lacks '{text}': {r.stderr.strip()}"
    if node and node[-1] not in r.stderr:
        return f"{name}: message does not name node {node[-1]}: {r.stderr.strip()}"
    if args.verbose:
        print(f"  {name}: refused: {r.stderr.strip()}")
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "onnx2lite"))
    ap.add_argument("--keep", help="keep the models in this directory")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        return run(args, args.keep)
    with tempfile.TemporaryDirectory(prefix="check_lower_shape_") as tmp:
        return run(args, tmp)


def run(args, tmp):
    failures, rows, seed = [], [], 0
    for cases, ctxs in ((CASES, ("cl", "plain")), (CASES_1D, ("cl1d", "plain1d"))):
        for name, limits, build, *opset in cases:
            if args.k not in name:
                continue
            for ctx in ctxs:
                seed += 10
                try:
                    res = check_case(args, tmp, ctx, name, limits[ctx], build, seed,
                                     *opset)
                except Exception as e:  # a broken model is a failed case
                    res = (f"{name}[{ctx}]: {type(e).__name__}: {e}", -1)
                if isinstance(res, str):
                    res = (res, -1)
                err, ntr = res
                rows.append((f"{name}[{ctx}]", ntr, limits[ctx], "FAIL" if err else "ok"))
                if err:
                    failures.append(err)
    for name, build, text, *opset in REFUSED:
        if args.k not in name:
            continue
        seed += 10
        try:
            err = check_refused(args, tmp, name, build, text, seed, *opset)
        except Exception as e:
            err = f"{name}: {type(e).__name__}: {e}"
        rows.append((name, "-", "-", "FAIL" if err else "refused"))
        if err:
            failures.append(err)
    w = max(len(r[0]) for r in rows) if rows else 10
    print(f"{'case':<{w}}  TRANSPOSE  max  result")
    for r in rows:
        print(f"{r[0]:<{w}}  {str(r[1]):>9}  {str(r[2]):>3}  {r[3]}")
    for f in failures:
        print("FAIL", f)
    print(f"{len(rows) - len(failures)} of {len(rows)} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
