#!/usr/bin/env python3
"""Numerical check of the elementwise, Clip, BatchNormalization and Softmax
lowerings (src/lower/lower_eltwise.c) in LiteRT against onnxruntime.

    build/venv/bin/python tests/check_lower_eltwise.py [--bin build/onnx2lite]
        [-k SUBSTRING] [--verbose]

Every case is a small ONNX model built here with onnx.helper.  Feature-map
cases start with a 1x1 Conv on an NCHW input, so the map the operator reads
is stored channels-last; plain cases work on 1-D/2-D tensors, including
int32/int64/bool ones.  Each model is converted twice (default NHWC edges
and --keep-io-layout), run in LiteRT (with XNNPACK, with the builtin
kernels and with the reference kernels) and compared with onnxruntime: floats
to a relative error of 1e-5 (max |diff| / max |reference|), integers and
bools exactly.  In the default mode the operator counts a case declares
(always TRANSPOSE, 0 unless said otherwise) are checked too.  Exit status
1 if any case fails.
"""

import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto
from onnx.reference import ReferenceEvaluator

import onnxruntime as ort
from o2l_testlib import (REPO, RESOLVERS, Case, const, convert, count_errors,
                         from_tflite_layout, interpreter, node, op_counts,
                         ort_outputs, to_tflite_layout)

RTOL = 1e-5
N, CIN, C, H, W = 1, 3, 4, 5, 7
RNG = np.random.default_rng(0)
SKIPPED = set()  # cases the reference resolver cannot run

F32, I32, I64, BOOL = (TensorProto.FLOAT, TensorProto.INT32, TensorProto.INT64,
                       TensorProto.BOOL)
NP = {F32: np.float32, I32: np.int32, I64: np.int64, BOOL: np.bool_}


def f32(*shape, lo=-1.0, hi=1.0):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


# ---- feature-map cases: X (NCHW) -> 1x1 Conv -> feat, stored channels-last --

def conv_front(out="feat", seed_name="w"):
    """The Conv that makes `out` a channels-last [1,C,H,W] map."""
    w = const(seed_name, f32(C, CIN, 1, 1))
    b = const(seed_name + "_b", f32(C))
    return [node("Conv", ["X", w.name, b.name], [out])], [w, b]


def map_case(name, body, outputs, inits=(), counts=None, opset=13,
             extra_inputs=(), feeds=None, two_maps=False):
    nodes, ci = conv_front()
    if two_maps:
        n2, c2 = conv_front("feat2", "w2")
        nodes += n2
        ci += c2
    inputs = [("X", F32, [N, CIN, H, W])] + list(extra_inputs)
    return Case(name, nodes + body, inputs, outputs, ci + list(inits),
                opset=opset, counts=counts, feeds=feeds)


def map_cases():
    cs = []
    kc = const("kc", f32(C, 1, 1, lo=0.5, hi=2.0))      # per channel
    kw = const("kw", f32(W, lo=0.5, hi=2.0))            # per column
    khw = const("khw", f32(1, 1, H, W, lo=0.5, hi=2.0))  # per pixel
    ks = const("ks", np.float32(0.75))                   # scalar
    for op in ("Add", "Sub", "Mul", "Div", "Max", "Min"):
        for k in (kc, kw, khw, ks):
            cs.append(map_case(f"{op}_map_{k.name}", [node(op, ["feat", k.name], ["y"])],
                               [("y", F32)], [k],
                               counts={"DIV": 0} if op == "Div" else None))
        # |feat| + 1 keeps Div away from ill-conditioned divisors
        cs.append(map_case(f"{op}_const_first_{kc.name}",
                           [node("Abs", ["feat"], ["a"]), node("Add", ["a", "one"], ["p"]),
                            node(op, [kc.name, "p"], ["y"])], [("y", F32)],
                           [kc, const("one", np.float32(1))]))
    cs.append(map_case("Add_two_maps", [node("Add", ["feat", "feat2"], ["y"])],
                       [("y", F32)], two_maps=True))
    cs.append(map_case("Div_runtime", [
        node("Abs", ["feat2"], ["a"]), node("Add", ["a", "ks"], ["d"]),
        node("Div", ["feat", "d"], ["y"])], [("y", F32)], [ks], two_maps=True,
        counts={"DIV": 1}))
    for op in ("Sum", "Mean", "Max", "Min"):
        cs.append(map_case(f"{op}_variadic", [node(op, ["feat", "kc", "feat2"], ["y"])],
                           [("y", F32)], [kc], two_maps=True))
        cs.append(map_case(f"{op}_single", [node(op, ["feat"], ["y"])], [("y", F32)]))
    # Pow on positive values
    pos = [node("Abs", ["feat"], ["a"]), node("Add", ["a", "ks"], ["p"])]
    for e, cnt in ((2.0, {"POW": 0}), (0.5, {"SQRT": 1, "POW": 0}),
                   (1.0, {"POW": 0}), (3.0, {"POW": 1}), (-1.5, {"POW": 1})):
        ec = const("e", np.float32(e))
        cs.append(map_case(f"Pow_{e}", pos + [node("Pow", ["p", "e"], ["y"])],
                           [("y", F32)], [ks, ec], counts=cnt))
    cs.append(map_case("Pow_per_channel", pos + [node("Pow", ["p", "kc"], ["y"])],
                       [("y", F32)], [ks, kc], counts={"POW": 1}))
    cs.append(map_case("Pow_int_exponent", pos + [node("Pow", ["p", "ei"], ["y"])],
                       [("y", F32)], [ks, const("ei", np.int64(3))]))
    cs.append(map_case("Pow_runtime", pos + [node("Pow", ["p", "feat2"], ["y"])],
                       [("y", F32)], [ks], two_maps=True))
    # comparisons, logic, Where
    for op in ("Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Equal"):
        k = "kc" if op != "Equal" else "kz"
        body = [node("Floor", ["feat"], ["fl"])] if op == "Equal" else []
        x = "fl" if op == "Equal" else "feat"
        cs.append(map_case(f"{op}_map", body + [node(op, [x, k], ["y"])],
                           [("y", BOOL)],
                           [kc, const("kz", np.zeros((C, 1, 1), np.float32))]))
    cs.append(map_case("And_Or_Not_Where", [
        node("Greater", ["feat", "kz"], ["g"]), node("Less", ["feat", "ks"], ["l"]),
        node("And", ["g", "l"], ["a"]), node("Or", ["g", "l"], ["o"]),
        node("Not", ["o"], ["no"]),
        node("Where", ["a", "feat", "feat2"], ["sel"]),
        node("Where", ["g", "feat", "kc"], ["sel2"])],
        [("a", BOOL), ("o", BOOL), ("no", BOOL), ("sel", F32), ("sel2", F32)],
        [kc, ks, const("kz", np.float32(0))], two_maps=True,
        counts={"SELECT_V2": 2}))
    # PRelu
    cs.append(map_case("PRelu_channel", [node("PRelu", ["feat", "sl"], ["y"])],
                       [("y", F32)], [const("sl", f32(C, 1, 1, lo=0.05, hi=0.5))],
                       counts={"PRELU": 1}))
    cs.append(map_case("PRelu_one_slope", [node("PRelu", ["feat", "sl"], ["y"])],
                       [("y", F32)], [const("sl", np.array([0.2], np.float32))],
                       counts={"LEAKY_RELU": 1, "PRELU": 0}))
    cs.append(map_case("PRelu_per_pixel", [node("PRelu", ["feat", "sl"], ["y"])],
                       [("y", F32)], [const("sl", f32(C, H, W, lo=0.05, hi=0.5))],
                       counts={"PRELU": 1}))
    # unary and activations
    unary = {"Abs": "ABS", "Ceil": "CEIL", "Cos": "COS", "Exp": "EXP", "Floor": "FLOOR",
             "Neg": "NEG", "Round": "ROUND", "Sign": "SIGN", "Sin": "SIN",
             "HardSwish": "HARD_SWISH", "Relu": "CONV_2D", "Sigmoid": "LOGISTIC",
             "Tanh": "TANH", "Softplus": "LOG", "Elu": "ELU", "LeakyRelu": "LEAKY_RELU",
             "HardSigmoid": "MUL"}
    for op, tfl in unary.items():
        cs.append(map_case(f"{op}_map", [node("Mul", ["feat", "k3"], ["f3"]),
                                         node(op, ["f3"], ["y"])], [("y", F32)],
                           [const("k3", np.float32(3))], counts={tfl: None},
                           opset=14 if op == "HardSwish" else 13))
    for op in ("Log", "Sqrt", "Reciprocal"):
        cs.append(map_case(f"{op}_map", pos + [node(op, ["p"], ["y"])], [("y", F32)],
                           [ks]))
    cs.append(map_case("Elu_alpha", [node("Elu", ["feat"], ["y"], alpha=0.4)],
                       [("y", F32)], counts={"ELU": 0}))
    cs.append(map_case("LeakyRelu_alpha", [node("LeakyRelu", ["feat"], ["y"], alpha=0.3)],
                       [("y", F32)]))
    cs.append(map_case("HardSigmoid_torch", [  # alpha 1/6: no first MUL
        node("Mul", ["feat", "k3"], ["f3"]),
        node("HardSigmoid", ["f3"], ["y"], alpha=1.0 / 6, beta=0.5)],
        [("y", F32)], [const("k3", np.float32(4))], counts={"MUL": 2}))
    cs.append(map_case("HardSigmoid_attrs", [
        node("Mul", ["feat", "k3"], ["f3"]),
        node("HardSigmoid", ["f3"], ["y"], alpha=0.3, beta=0.4)],
        [("y", F32)], [const("k3", np.float32(4))]))
    # Clip
    for lo, hi, cnt in ((0, 6, {"RELU6": 0}), (0, None, {"RELU": 0}),
                        (-1, 1, {"RELU_N1_TO_1": 0}), (-0.5, 1.5, {"MAXIMUM": 1}),
                        (None, 0.3, {"MINIMUM": 1}), (0, 0.5, {"MINIMUM": 1}),
                        (None, None, {})):
        ins, inits = ["f3"], [const("k3", np.float32(4))]
        ins.append("" if lo is None else "lo")
        ins.append("" if hi is None else "hi")
        if lo is not None:
            inits.append(const("lo", np.float32(lo)))
        if hi is not None:
            inits.append(const("hi", np.float32(hi)))
        while ins[-1] == "":
            ins.pop()
        cs.append(map_case(f"Clip_{lo}_{hi}", [node("Mul", ["feat", "k3"], ["f3"]),
                                               node("Clip", ins, ["y"])],
                           [("y", F32)], inits, counts=cnt))
    cs.append(map_case("Clip_attrs_opset6", [node("Clip", ["feat"], ["y"], min=0.0, max=6.0)],
                       [("y", F32)], opset=10, counts={"RELU6": 0}))
    cs.append(map_case("Clip_runtime_max", [node("Clip", ["feat", "z", "m"], ["y"])],
                       [("y", F32)], [const("z", np.float32(-0.2))],
                       extra_inputs=[("m", F32, [])],
                       feeds={"m": np.array(0.4, np.float32)}))
    # a flattened channels-last map is in no axis order; scalars and unary
    # operators still work on it as it is, and the next Conv needs no
    # TRANSPOSE
    w2 = const("w_out", f32(C, C, 1, 1))
    cs.append(map_case("Flattened_map_scalar_ops", [
        node("Reshape", ["feat", "flat"], ["f"]), node("Mul", ["f", "ks"], ["m"]),
        node("Sigmoid", ["m"], ["sg"]), node("Sub", ["sg", "ks"], ["s"]),
        node("Clip", ["s", "lo"], ["c"]), node("Reshape", ["c", "back"], ["r"]),
        node("Conv", ["r", "w_out", "b_out"], ["y"])], [("y", F32)],
        [ks, w2, const("b_out", f32(C)), const("lo", np.float32(-0.1)),
         const("flat", np.array([1, C * H * W], np.int64)),
         const("back", np.array([N, C, H, W], np.int64))],
        counts={"TRANSPOSE": 0, "LOGISTIC": 1}))
    # BatchNormalization that cannot fold (a Relu sits between it and the Conv)
    bn = [const(n, v) for n, v in (("g", f32(C, lo=0.5, hi=2)), ("b", f32(C)),
                                   ("mu", f32(C)), ("var", f32(C, lo=0.1, hi=2)))]
    cs.append(map_case("BatchNorm_standalone", [
        node("Relu", ["feat"], ["r"]),
        node("BatchNormalization", ["r", "g", "b", "mu", "var"], ["y"], epsilon=1e-3)],
        [("y", F32)], bn, counts={"MUL": 1, "ADD": 1}))
    # Softmax / LogSoftmax
    for op in ("Softmax", "LogSoftmax"):
        tfl = "SOFTMAX" if op == "Softmax" else "LOG_SOFTMAX"
        # (axis, opset, written out): over an axis that is not stored last
        # (H or W of a channels-last map) the softmax is written out along
        # it (REDUCE_MAX, SUB, EXP, SUM, DIV) instead of moved by TRANSPOSEs;
        # axis 0 has size 1 and moves for free
        for axis, opset, wo in ((1, 13, 0), (-1, 13, 1), (2, 13, 1), (0, 13, 0),
                                (1, 11, 0), (3, 11, 1), (2, 11, 1), (0, 11, 0)):
            cs.append(map_case(f"{op}_axis{axis}_opset{opset}",
                               [node(op, ["feat"], ["y"], axis=axis)], [("y", F32)],
                               opset=opset, counts={tfl: 1 - wo, "REDUCE_MAX": wo,
                                                    "TRANSPOSE": 0}))
    return cs


# ---- plain cases: 1-D / 2-D tensors, integer and bool types ------------------

def plain_cases():
    cs = []
    S = [4, 6]

    def case(name, body, outputs, inputs, inits=(), counts=None, opset=13, feeds=None):
        cs.append(Case(name, body, inputs, outputs, inits, opset=opset,
                       counts=counts, feeds=feeds))

    for t, tn in ((F32, "f32"), (I32, "i32"), (I64, "i64")):
        ops = ["Add", "Sub", "Mul", "Max", "Min"]
        if t != I64:
            ops.append("Div")
        for op in ops:
            kv = (f32(6, lo=0.5, hi=2) if t == F32 else
                  RNG.integers(1, 5, 6).astype(NP[t]))
            case(f"{op}_{tn}", [node(op, ["a", "b"], ["y"]), node(op, ["a", "k"], ["z"])],
                 [("y", t), ("z", t)], [("a", t, S), ("b", t, S)], [const("k", kv)],
                 feeds=None if op != "Div" or t == F32 else
                 {"a": RNG.integers(-20, 20, S).astype(NP[t]),
                  "b": RNG.integers(1, 5, S).astype(NP[t])})
        for op in ("Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Equal"):
            case(f"{op}_{tn}", [node(op, ["a", "b"], ["y"])], [("y", BOOL)],
                 [("a", t, S), ("b", t, [6])],
                 feeds={"a": RNG.integers(-2, 3, S).astype(NP[t]),
                        "b": RNG.integers(-2, 3, [6]).astype(NP[t])})
        un = ["Relu", "Abs", "Neg"] + (["Sign"] if t != I64 else [])
        for op in un:  # integer Relu is Relu-14
            case(f"{op}_{tn}", [node(op, ["a"], ["y"])], [("y", t)], [("a", t, S)],
                 opset=14)
        lo, hi = np.array(0, NP[t]), np.array(6, NP[t])
        case(f"Clip_{tn}", [node("Clip", ["a", "lo", "hi"], ["y"])], [("y", t)],
             [("a", t, S)], [const("lo", lo), const("hi", hi)])
        case(f"Where_{tn}", [node("Where", ["c", "a", "b"], ["y"])], [("y", t)],
             [("c", BOOL, S), ("a", t, S), ("b", t, [6])])
    case("Pow_i32", [node("Pow", ["a", "b"], ["y"]), node("Pow", ["a", "two"], ["z"])],
         [("y", I32), ("z", I32)], [("a", I32, S), ("b", I32, S)],
         [const("two", np.array(2, np.int32))],
         feeds={"a": RNG.integers(-4, 5, S).astype(np.int32),
                "b": RNG.integers(0, 4, S).astype(np.int32)})
    for t, tn in ((I32, "i32"), (I64, "i64")):  # Pow-12: exponent of its own type
        case(f"Pow_f32_by_{tn}", [node("Pow", ["a", "b"], ["y"])], [("y", F32)],
             [("a", F32, S), ("b", t, [6])], opset=15, counts={"CAST": 1},
             feeds={"a": f32(*S, lo=-2, hi=2),
                    "b": RNG.integers(-2, 4, [6]).astype(NP[t])})
    case("Pow_i64_square", [node("Pow", ["a", "two"], ["z"])], [("z", I64)],
         [("a", I64, S)], [const("two", np.array(2, np.int64))], counts={"MUL": 1})
    case("Logic_bool", [node("And", ["a", "b"], ["x"]), node("Or", ["a", "b"], ["o"]),
                        node("Not", ["a"], ["n"]), node("Equal", ["a", "b"], ["e"])],
         [("x", BOOL), ("o", BOOL), ("n", BOOL), ("e", BOOL)],
         [("a", BOOL, S), ("b", BOOL, S)])
    case("PRelu_2d", [node("PRelu", ["a", "s"], ["y"])], [("y", F32)],
         [("a", F32, S)], [const("s", f32(6, lo=0.05, hi=0.5))], counts={"PRELU": 1})
    case("Broadcast_1d_to_3d", [node("Mul", ["a", "b"], ["y"]),
                                node("Sum", ["a", "b", "c"], ["s"])],
         [("y", F32), ("s", F32)], [("a", F32, [6]), ("b", F32, [3, 1, 6]),
                                    ("c", F32, [4, 1])])
    for axis, opset in ((1, 13), (0, 13), (0, 11), (1, 11)):
        case(f"Softmax_2d_axis{axis}_opset{opset}",
             [node("Softmax", ["a"], ["y"], axis=axis),
              node("LogSoftmax", ["a"], ["z"], axis=axis)],
             [("y", F32), ("z", F32)], [("a", F32, S)], opset=opset,
             counts={"TRANSPOSE": 0})
    g, b, mu, var = (f32(C, lo=0.5, hi=2), f32(C), f32(C), f32(C, lo=0.1, hi=2))
    bn_init = [const("g", g), const("bb", b), const("mu", mu), const("var", var)]
    case("BatchNorm_2d", [node("BatchNormalization", ["a", "g", "bb", "mu", "var"], ["y"])],
         [("y", F32)], [("a", F32, [3, C])], bn_init)
    case("BatchNorm_3d", [node("BatchNormalization", ["a", "g", "bb", "mu", "var"], ["y"])],
         [("y", F32)], [("a", F32, [2, C, 9])], bn_init)
    return cs


# ---- running -------------------------------------------------------------------

def compare(name, got, ref):
    if got.dtype != ref.dtype:
        return f"{name}: dtype {got.dtype} vs {ref.dtype}"
    if ref.dtype.kind in "biu":
        bad = int(np.sum(got != ref))
        return f"{name}: {bad} of {ref.size} differ" if bad else None
    if not np.array_equal(np.isfinite(got), np.isfinite(ref)):
        return f"{name}: finiteness differs"
    fin = np.isfinite(ref)
    scale = max(float(np.max(np.abs(ref[fin]), initial=0.0)), 1e-6)
    err = float(np.max(np.abs(got[fin] - ref[fin]), initial=0.0)) / scale
    return f"{name}: rel err {err:.2e}" if err > RTOL else None


def reference(path, feeds):
    """onnxruntime's outputs; onnx's reference evaluator where onnxruntime
    has no kernel (Relu on integers)."""
    try:
        return ort_outputs(path, feeds)
    except ort.capi.onnxruntime_pybind11_state.NotImplemented:
        ev = ReferenceEvaluator(path)
        return dict(zip(ev.output_names, ev.run(None, feeds)))


def run_case(case, binary, tmp, keep_io):
    path = os.path.join(tmp, case.name + ".onnx")
    out = os.path.join(tmp, case.name + ("_k" if keep_io else "") + ".tflite")
    onnx.save(case.model(), path)
    p = convert(binary, path, out, "-q", *(["--keep-io-layout"] if keep_io else []))
    if p.returncode != 0:
        return [f"convert failed ({p.returncode}): {p.stderr.strip()}"], {}
    feeds = case.feed(RNG)
    refs = reference(path, feeds)
    errs = []
    for res in RESOLVERS:
        it = interpreter(out, res, SKIPPED, case.name)
        if not it:
            continue
        it.allocate_tensors()
        for d in it.get_input_details():
            x = to_tflite_layout(feeds[d["name"]], d["shape"])
            it.set_tensor(d["index"], np.array(x, order="C"))  # keeps rank 0
        it.invoke()
        for d in it.get_output_details():
            ref = refs[d["name"]]
            got = from_tflite_layout(it.get_tensor(d["index"]), ref.shape)
            e = compare(d["name"], got, ref)
            if e:
                errs.append(f"{res.name}: {e}")
    ops = op_counts(out)
    if not keep_io:
        errs += count_errors(case.counts, ops)
    return errs, ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "onnx2lite"))
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    cases = [c for c in map_cases() + plain_cases() if a.k in c.name]
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for c in cases:
            errs = []
            for keep in (False, True):
                e, ops = run_case(c, a.bin, tmp, keep)
                errs += [("keep-io: " if keep else "") + x for x in e]
                if a.verbose and not keep:
                    print(f"  {c.name}: {' '.join(f'{k}={v}' for k, v in sorted(ops.items()))}")
            if errs:
                failed += 1
                print(f"FAIL {c.name}: " + "; ".join(errs))
    if SKIPPED:
        print("not run with the reference kernels (no kernel there): " +
              ", ".join(sorted(SKIPPED)))
    print(f"check_lower_eltwise: {len(cases) - failed}/{len(cases)} cases pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
