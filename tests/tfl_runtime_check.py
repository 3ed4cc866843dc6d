#!/usr/bin/env python3
"""tfl_runtime_check.py - runs .tflite files made by onnx2lite's writer in
LiteRT and checks them against numpy.

tests/unit/tfl_sample_writer.c writes the files (CONV_2D + bias + RELU,
DEPTHWISE_CONV_2D, FULLY_CONNECTED, SOFTMAX, MEAN, CONCATENATION, TRANSPOSE,
RESIZE_BILINEAR with half_pixel_centers); this script builds it against
build/libonnx2lite.a unless --writer names a binary, runs it, loads every file
with the default kernels and with the reference kernels, and compares.  The
'serving_default' signature must be there with the tensor names as keys.

  tfl_runtime_check.py [--writer BIN] [--keep DIR] [--facts]

--facts also prints the LiteRT behaviour recorded in docs/tflite-facts.md:
grouped CONV_2D, TRANSPOSE_CONV shapes and padding, resize flags against
ONNX Resize (via onnxruntime), and the highest operator versions accepted.
Exit status: 0 when every check passed.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from o2l_testlib import quiet_stderr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESOLVERS = {
    "default": OpResolverType.AUTO,
    "reference": OpResolverType.BUILTIN_REF,
}
failures = []


def pattern(shape, salt):
    """The constants tfl_sample_writer.c puts in its weight tensors."""
    n = int(np.prod(shape))
    k = (np.arange(n, dtype=np.int64) * 37 + salt * 11) % 101 - 50
    return (k.astype(np.float32) / np.float32(50)).reshape(shape)


def load(path, resolver="default"):
    with quiet_stderr():
        it = Interpreter(model_path=path,
                         experimental_op_resolver_type=RESOLVERS[resolver])
        it.allocate_tensors()
    return it


def run(path, inputs, resolver="default"):
    it = load(path, resolver)
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    with quiet_stderr():
        it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def check(name, got, want, tol=1e-5):
    ok = got.shape == want.shape and np.allclose(got, want, rtol=tol, atol=tol)
    if not ok:
        err = np.abs(got - want).max() if got.shape == want.shape else "shape"
        failures.append(f"{name}: got {got.shape}, want {want.shape}, max err {err}")
    print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return ok


# ---- numpy references ------------------------------------------------------

def same_pad(n, k, s, d=1):
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return out, total // 2, total - total // 2


def conv2d(x, w, b, stride=(1, 1), padding="SAME", groups=1):
    """NHWC input, OHWI filter (I = Cin / groups)."""
    n, h, wd, cin = x.shape
    cout, kh, kw, cg = w.shape
    sh, sw = stride
    if padding == "SAME":
        oh, pt, pb = same_pad(h, kh, sh)
        ow, pl, pr = same_pad(wd, kw, sw)
    else:
        oh, pt, pb = (h - kh) // sh + 1, 0, 0
        ow, pl, pr = (wd - kw) // sw + 1, 0, 0
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0))).astype(np.float64)
    y = np.zeros((n, oh, ow, cout))
    opg = cout // groups
    for o in range(cout):
        g = o // opg
        xs = xp[..., g * cg:(g + 1) * cg]
        for i in range(oh):
            for j in range(ow):
                patch = xs[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
                y[:, i, j, o] = (patch * w[o]).sum(axis=(1, 2, 3))
    return (y + b).astype(np.float32)


def depthwise(x, w, b, mult):
    n, h, wd, c = x.shape
    _, kh, kw, _ = w.shape
    oh, ow = h - kh + 1, wd - kw + 1
    y = np.zeros((n, oh, ow, c * mult))
    for ch in range(c):
        for m in range(mult):
            o = ch * mult + m
            for i in range(oh):
                for j in range(ow):
                    y[:, i, j, o] = (x[:, i:i + kh, j:j + kw, ch] * w[0, :, :, o]).sum(axis=(1, 2))
    return (y + b).astype(np.float32)


def softmax(x, beta):
    e = np.exp(beta * (x - x.max(axis=-1, keepdims=True)))
    return e / e.sum(axis=-1, keepdims=True)


def bilinear_half_pixel(x, oh, ow):
    """TFLite/ONNX half-pixel bilinear resize, NHWC."""
    n, h, w, c = x.shape

    def axis(o, i):
        src = (np.arange(o) + 0.5) * (i / o) - 0.5
        lo = np.floor(src).astype(int)
        frac = src - lo
        return np.clip(lo, 0, i - 1), np.clip(lo + 1, 0, i - 1), frac

    y0, y1, fy = axis(oh, h)
    x0, x1, fx = axis(ow, w)
    top = x[:, y0][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y0][:, :, x1] * fx[None, None, :, None]
    bot = x[:, y1][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y1][:, :, x1] * fx[None, None, :, None]
    return top * (1 - fy)[None, :, None, None] + bot * fy[None, :, None, None]


# ---- the checked models ----------------------------------------------------

def check_models(d):
    rng = np.random.default_rng(0)
    cases = []
    x = rng.standard_normal((1, 7, 6, 3), dtype=np.float32)
    want = np.maximum(conv2d(x, pattern((5, 3, 3, 3), 1), pattern((5,), 2), (2, 1)), 0)
    cases.append(("conv_relu", [x], [want]))
    x = rng.standard_normal((1, 5, 5, 4), dtype=np.float32)
    cases.append(("depthwise", [x], [depthwise(x, pattern((1, 3, 3, 8), 3), pattern((8,), 4), 2)]))
    x = rng.standard_normal((2, 12), dtype=np.float32)
    cases.append(("fully_connected", [x], [x @ pattern((7, 12), 5).T + pattern((7,), 6)]))
    x = rng.standard_normal((2, 9), dtype=np.float32)
    cases.append(("softmax", [x], [softmax(x, 0.5)]))
    x = rng.standard_normal((1, 4, 5, 6), dtype=np.float32)
    cases.append(("mean", [x], [x.mean(axis=(1, 2), keepdims=True)]))
    a = rng.standard_normal((1, 2, 3, 4), dtype=np.float32)
    b = rng.standard_normal((1, 2, 3, 5), dtype=np.float32)
    cases.append(("concatenation", [a, b], [np.concatenate([a, b], axis=3)]))
    x = rng.standard_normal((2, 3, 4, 5), dtype=np.float32)
    cases.append(("transpose", [x], [x.transpose(0, 3, 1, 2)]))
    x = rng.standard_normal((1, 3, 4, 2), dtype=np.float32)
    cases.append(("resize_bilinear_hpc", [x], [bilinear_half_pixel(x, 6, 8)]))
    for name, inputs, wants in cases:
        path = os.path.join(d, name + ".tflite")
        for resolver in RESOLVERS:
            try:
                got = run(path, inputs, resolver)
            except Exception as e:  # a file LiteRT refuses is a failure
                failures.append(f"{name} ({resolver}): {e}")
                print(f"  FAIL {name} ({resolver}): {e}")
                continue
            for g, w in zip(got, wants):
                check(f"{name} ({resolver})", g, w.astype(np.float32))
    check_int8_conv(d, rng)
    check_signature(d, rng)


def check_int8_conv(d, rng):
    """Per-channel int8 CONV_2D: quantization parameters as written, and
    results within one step of a float computation on dequantized values."""
    path = os.path.join(d, "int8_conv.tflite")
    it = load(path)
    details = {t["name"]: t for t in it.get_tensor_details()}
    w_scales = np.float32(0.01) + np.float32(0.01) * np.arange(8, dtype=np.float32)
    qw = details["w"]["quantization_parameters"]
    ok = (np.allclose(qw["scales"], w_scales) and not qw["zero_points"].any()
          and qw["quantized_dimension"] == 0
          and details["x"]["quantization"] == (np.float32(0.05), -3)
          and details["y"]["quantization"] == (np.float32(0.1), 2)
          and details["w"]["dtype"] == np.int8 and details["b"]["dtype"] == np.int32)
    print(f"  {'ok  ' if ok else 'FAIL'} int8_conv quantization parameters")
    if not ok:
        failures.append(f"int8_conv quantization parameters: {qw}, {details['x']['quantization']}")
    k = (np.arange(8 * 9 * 4) * 37 + 11 * 11) % 101 - 50
    w = k.reshape(8, 3, 3, 4).astype(np.float32) * w_scales[:, None, None, None]
    b = (np.arange(8) * 10 - 20) * (np.float32(0.05) * w_scales)
    xq = rng.integers(-128, 128, (1, 6, 6, 4)).astype(np.int8)
    y = np.maximum(conv2d((xq.astype(np.float32) + 3) * 0.05, w, b), 0)
    want = np.clip(np.round(y / 0.1) + 2, -128, 127)
    for resolver in RESOLVERS:
        got = run(path, [xq], resolver)[0].astype(np.float32)
        check(f"int8_conv within 1 step ({resolver})", got, want, tol=1.0 + 1e-6)


def check_signature(d, rng):
    path = os.path.join(d, "concatenation.tflite")
    it = load(path)
    sigs = it.get_signature_list()
    want = {"serving_default": {"inputs": ["a", "b"], "outputs": ["y"]}}
    ok = sigs == want
    print(f"  {'ok  ' if ok else 'FAIL'} signature list {sigs}")
    if not ok:
        failures.append(f"signature list {sigs}, want {want}")
    runner = it.get_signature_runner("serving_default")
    a = rng.standard_normal((1, 2, 3, 4), dtype=np.float32)
    b = rng.standard_normal((1, 2, 3, 5), dtype=np.float32)
    with quiet_stderr():
        out = runner(a=a, b=b)
    check("signature runner", out["y"], np.concatenate([a, b], axis=3))
    it = load(os.path.join(d, "conv_relu.tflite"))
    runner = it.get_signature_runner("serving_default")
    ok = set(runner.get_input_details()) == {"image"} and set(runner.get_output_details()) == {"features"}
    print(f"  {'ok  ' if ok else 'FAIL'} signature names image -> features")
    if not ok:
        failures.append("conv_relu signature names")


# ---- facts for docs/tflite-facts.md ----------------------------------------

def facts_grouped_conv(d):
    print("\n(a) grouped CONV_2D: input [1,6,6,8], filter [O,3,3,8/groups], SAME")
    x = np.random.default_rng(1).standard_normal((1, 6, 6, 8), dtype=np.float32)
    for cout, groups, stride in ((6, 2, 1), (8, 4, 2), (8, 8, 1)):
        name = f"grouped_conv_o{cout}_g{groups}_s{stride}.tflite"
        want = conv2d(x, pattern((cout, 3, 3, 8 // groups), 7), pattern((cout,), 8),
                      (stride, stride), groups=groups)
        line = []
        for resolver, kind in (("default", OpResolverType.AUTO),
                               ("builtin (no XNNPACK)", OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES),
                               ("reference", OpResolverType.BUILTIN_REF)):
            try:
                with quiet_stderr():
                    it = Interpreter(model_path=os.path.join(d, name), experimental_op_resolver_type=kind)
                    it.allocate_tensors()
                    it.set_tensor(it.get_input_details()[0]["index"], x)
                    it.invoke()
                got = it.get_tensor(it.get_output_details()[0]["index"])
                err = np.abs(got - want).max()
                line.append(f"{resolver}: {'correct' if err < 1e-4 else 'WRONG'} (max err {err:.1e})")
            except Exception as e:
                line.append(f"{resolver}: refused ({str(e).splitlines()[0][:80]})")
        print(f"  O={cout} groups={groups} stride={stride}: " + "; ".join(line))


def tconv_full(x, w, s):
    """Transposed conv with no cropping: [(H-1)*s + k] per spatial axis."""
    n, h, wd, cin = x.shape
    cout, k, _, _ = w.shape
    full = np.zeros((n, (h - 1) * s + k, (wd - 1) * s + k, cout))
    for i in range(h):
        for j in range(wd):
            full[:, i * s:i * s + k, j * s:j * s + k, :] += np.einsum("nc,okjc->nkjo", x[:, i, j, :], w)
    return full


def facts_transpose_conv(d):
    print("\n(b) TRANSPOSE_CONV, input [1,5,5,3], stride 2, weights [4,k,k,3];"
          " full = (in-1)*s+k; which crop of the full result is the output")
    x = np.random.default_rng(2).standard_normal((1, 5, 5, 3), dtype=np.float32)
    kinds = (OpResolverType.AUTO, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
             OpResolverType.BUILTIN_REF)
    for name in sorted(os.listdir(d), key=lambda n: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)]):
        m = re.match(r"tconv_(same|valid)_k(\d)_out(\d+)(_bias)?\.tflite", name)
        if not m:
            continue
        pad, k, out, bias = m.group(1), int(m.group(2)), int(m.group(3)), bool(m.group(4))
        full = tconv_full(x, pattern((4, k, k, 3), 9), 2)
        b = pattern((4,), 10) if bias else np.zeros(4, np.float32)
        # Outputs reaching past the full result are compared with zeros
        # (plus bias) there.
        ext = np.pad(full, ((0, 0), (0, 6), (0, 6), (0, 0))) + b
        got = []
        for kind in kinds:
            try:
                with quiet_stderr():
                    it = Interpreter(model_path=os.path.join(d, name), experimental_op_resolver_type=kind)
                    it.allocate_tensors()
                    it.set_tensor(it.get_input_details()[0]["index"], x)
                    it.invoke()
                got.append(it.get_tensor(it.get_output_details()[0]["index"]))
            except Exception as e:
                got.append(re.sub(r"\s+", " ", str(e)).split("Node number")[0].strip()[-70:])
        head = f"  {pad:5s} k={k} bias={int(bias)} output_shape={out:2d} (full {full.shape[1]}): "
        if all(isinstance(g, str) for g in got):
            print(head + "refused by all kernels: " + got[0])
            continue
        if any(isinstance(g, str) for g in got):
            print(head + "only some kernels load it: " +
                  ", ".join(f"{g.shape[1]}x{g.shape[2]}" if not isinstance(g, str) else "refused" for g in got))
            continue
        y = got[0]
        found = [o for o in range(0, 5)
                 if ext[:, o:o + out, o:o + out].shape == y.shape
                 and np.allclose(ext[:, o:o + out, o:o + out], y, atol=1e-4)]
        agree = all(np.allclose(g, y, atol=1e-4) for g in got)
        total = max((5 - 1) * 2 + k - out, 0) if pad == "same" else 0
        print(head + f"{y.shape[1]}x{y.shape[2]} = full[{found[0] if found else '?'}:"
              f"{found[0] + out if found else '?'}] (predicted start {total // 2})"
              + ("" if agree else "; kernels DISAGREE"))


def onnx_resize(x_nhwc, oh, ow, mode, ctm, nearest_mode):
    import onnxruntime as ort
    from onnx import TensorProto, helper
    n, h, w, c = x_nhwc.shape
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode=mode,
                            coordinate_transformation_mode=ctm, nearest_mode=nearest_mode)
    graph = helper.make_graph(
        [node], "r", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, c, h, w])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [helper.make_tensor("sizes", TensorProto.INT64, [4], [n, c, oh, ow])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": x_nhwc.transpose(0, 3, 1, 2).copy()})[0]
    return y.transpose(0, 2, 3, 1)


def facts_resize(d):
    print("\n(c) resize flags vs ONNX Resize (onnxruntime), 4x4->8x8, 3x3->5x5 and 4x4->2x2")
    onnx_modes = [
        ("nearest", "asymmetric", "floor"),
        ("nearest", "align_corners", "round_prefer_ceil"),
        ("nearest", "half_pixel", "round_prefer_ceil"),
        ("nearest", "half_pixel", "round_prefer_floor"),
        ("nearest", "asymmetric", "round_prefer_floor"),
        ("linear", "half_pixel", "floor"),
        ("linear", "pytorch_half_pixel", "floor"),
        ("linear", "align_corners", "floor"),
        ("linear", "asymmetric", "floor"),
    ]
    flags = {0: "align_corners=0 half_pixel=0", 1: "align_corners=1", 2: "half_pixel_centers=1"}
    for kind in ("nearest", "bilinear"):
        for f in range(3):
            line = []
            for size in ("4to8", "3to5", "4to2"):
                h, o = {"4to8": (4, 8), "3to5": (3, 5), "4to2": (4, 2)}[size]
                x = np.random.default_rng(3).standard_normal((1, h, h, 2), dtype=np.float32)
                got = run(os.path.join(d, f"resize_{kind}_f{f}_{size}.tflite"), [x])[0]
                match = [f"{m}/{c}" + (f"/{nm}" if m == "nearest" else "")
                         for m, c, nm in onnx_modes
                         if (m == "linear") == (kind == "bilinear")
                         and np.allclose(onnx_resize(x, o, o, m, c, nm), got, atol=1e-5)]
                line.append(f"{size}: {', '.join(match) or 'no ONNX mode'}")
            print(f"  {kind:8s} {flags[f]:28s} {'; '.join(line)}")


def facts_versions(d):
    print("\n(d) highest operator version LiteRT loads (default / reference kernels)")
    vd = os.path.join(d, "versions")
    top = {}
    for name in os.listdir(vd):
        m = re.match(r"(.+)_v(\d+)\.tflite$", name)
        top.setdefault(m.group(1), []).append(int(m.group(2)))
    rows = []
    for op in sorted(top):
        seen = []
        for resolver in ("default", "reference"):
            ok = []
            for v in sorted(top[op]):
                try:
                    with quiet_stderr():
                        Interpreter(model_path=os.path.join(vd, f"{op}_v{v}.tflite"),
                                    experimental_op_resolver_type=RESOLVERS[resolver])
                    ok.append(v)
                except Exception:
                    pass
            seen.append(f"{ok[0]}-{ok[-1]}" if ok and ok == list(range(ok[0], ok[-1] + 1))
                        else ",".join(map(str, ok)) or "none")
        rows.append(f"{op}={seen[0]}" + (f" (ref {seen[1]})" if seen[1] != seen[0] else ""))
    for i in range(0, len(rows), 5):
        print("  " + "  ".join(rows[i:i + 5]))


def build_writer(tmp):
    lib = os.path.join(ROOT, "build", "libonnx2lite.a")
    if not os.path.exists(lib):
        subprocess.run(["make", "-C", ROOT, "build/libonnx2lite.a"], check=True)
    # The libraries the Makefile links with (LDLIBS := / += lines).
    libs = []
    with open(os.path.join(ROOT, "Makefile")) as f:
        for line in f:
            m = re.match(r"LDLIBS\s*(:=|\+=|=)\s*(.*)", line)
            if m:
                libs = (libs if m.group(1) == "+=" else []) + m.group(2).split()
    exe = os.path.join(tmp, "tfl_sample_writer")
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O1", "-I" + os.path.join(ROOT, "include"),
                    "-I" + os.path.join(ROOT, "src"), "-o", exe,
                    os.path.join(ROOT, "tests", "unit", "tfl_sample_writer.c"), lib] + libs,
                   check=True)
    return exe


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writer", help="a built tfl_sample_writer")
    ap.add_argument("--keep", help="write the files here and keep them")
    ap.add_argument("--facts", action="store_true", help="also print the LiteRT facts")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        writer = args.writer or build_writer(tmp)
        out = args.keep or os.path.join(tmp, "models")
        subprocess.run([writer, out], check=True)
        print("LiteRT checks of files written by tfl_write:")
        check_models(out)
        if args.facts:
            facts_grouped_conv(out)
            facts_transpose_conv(out)
            facts_resize(out)
            facts_versions(out)
    if failures:
        print(f"\n{len(failures)} failure(s):\n  " + "\n  ".join(failures))
        return 1
    print("\nall LiteRT checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
