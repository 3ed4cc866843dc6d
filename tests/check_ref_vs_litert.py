#!/usr/bin/env python3
"""check_ref_vs_litert.py - our reference kernels (src/ref/) against LiteRT.

For each shared model: convert it with build/onnx2lite (float32), run the
.tflite with LiteRT on the model's reference input and with build/ref_run
(tests/unit/ref_run.c: tfl_read + the reference runner), and compare every
output.  The error of an output is max|ours - litert| / max(max|litert|, 1e-6).
It must be <= --tol (default 1e-5), or no larger than LiteRT's own spread:
the same error between LiteRT's default (XNNPACK) and reference kernels.
Some deep models (u2netp) amplify float rounding so much that LiteRT's two
kernel sets disagree by ~1e-3 there.

    make build/onnx2lite build/ref_run
    /tmp/venvtest/v/bin/python tests/check_ref_vs_litert.py [--models a,b]
        [--resolver default|builtin|reference] [--time] [--fixtures]

--fixtures also runs tests/fixtures/*.onnx (one or a few ONNX ops each) on
seeded random inputs; fixtures the converter refuses are listed as skipped.

Exit status 0 when every model converts and matches, 1 otherwise.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

RESOLVERS = {
    "default": OpResolverType.AUTO,
    "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    "reference": OpResolverType.BUILTIN_REF,
}


def to_file_layout(x, shape):
    """The reference input (PyTorch layout) in the .tflite input's shape."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    perm = {4: (0, 2, 3, 1), 3: (0, 2, 1)}.get(x.ndim)
    if perm and tuple(x.transpose(perm).shape) == shape:
        return x.transpose(perm)
    raise ValueError(f"input {x.shape} does not fit {shape}")


def random_input(d, rng):
    shape, dt = tuple(d["shape"]), np.dtype(d["dtype"])
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    if dt.kind == "b":
        return rng.integers(0, 2, shape).astype(dt)
    return rng.integers(0, 3, shape).astype(dt)


def check_model(args, name, tmp, onnx_path=None):
    fixture = onnx_path is not None
    onnx_path = onnx_path or os.path.join(args.models_dir, name + ".onnx")
    tfl = os.path.join(tmp, name + ".tflite")
    conv = subprocess.run([args.bin, "convert", onnx_path, "-o", tfl, "-q"],
                          capture_output=True, text=True)
    if conv.returncode != 0:
        return ("skip: " if fixture else "") + \
            f"convert failed: {conv.stderr.strip()}"
    x = None if fixture else \
        np.load(os.path.join(args.models_dir, name + ".input.npy"))
    rng = np.random.default_rng(0)
    inputs = {}
    files = []
    results = {}
    for resolver in (args.resolver, "reference"):
        try:
            it = Interpreter(model_path=tfl, num_threads=1,
                             experimental_op_resolver_type=RESOLVERS[resolver])
            it.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            if resolver == args.resolver:
                return "skip: LiteRT refuses it: " + str(e).splitlines()[0]
            continue  # e.g. ELU, ROUND: not in the reference kernel set
        for i, d in enumerate(it.get_input_details()):
            if i not in inputs:
                inputs[i] = random_input(d, rng) if fixture else \
                    to_file_layout(x, d["shape"]).astype(d["dtype"])
            xi = np.ascontiguousarray(inputs[i])
            it.set_tensor(d["index"], xi)
            path = os.path.join(tmp, f"{name}.in{i}.bin")
            if path not in files:
                xi.tofile(path)
                files.append(path)
        it.invoke()
        results[resolver] = [it.get_tensor(d["index"]).copy()
                             for d in it.get_output_details()]
    outs = results[args.resolver]
    cmd = [args.ref_run, tfl, tmp] + files
    if args.time:
        cmd += ["--iters", "20"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        return f"ref_run failed: {run.stderr.strip()}"
    lines = run.stdout.split("\n")
    worst = spread = 0.0
    for i, want in enumerate(outs):
        got = np.fromfile(os.path.join(tmp, f"out{i}.bin"), dtype=want.dtype)
        if got.size != want.size:
            return f"output {i}: {got.size} values, LiteRT has {want.size}"
        worst = max(worst, rel_err(got.reshape(want.shape), want))
        if "reference" in results:
            spread = max(spread, rel_err(results["reference"][i], want))
    timing = [l for l in lines if l.startswith("time")]
    return worst, spread, (timing[0] if timing else "")


def rel_err(got, want):
    scale = max(float(np.max(np.abs(want))), 1e-6)
    return float(np.max(np.abs(got.astype(np.float64) - want))) / scale


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(root, "build", "onnx2lite"))
    ap.add_argument("--ref-run", default=os.path.join(root, "build", "ref_run"))
    ap.add_argument("--models-dir", default="/work/shared/models")
    ap.add_argument("--models", default="")
    ap.add_argument("--resolver", default="default", choices=sorted(RESOLVERS))
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--time", action="store_true",
                    help="also print ref_run's best time per inference")
    ap.add_argument("--fixtures", action="store_true",
                    help="also run tests/fixtures/*.onnx on random inputs")
    args = ap.parse_args()
    names = ([m for m in args.models.split(",") if m] or
             sorted(os.path.basename(p)[:-5]
                    for p in glob.glob(os.path.join(args.models_dir, "*.onnx"))))
    jobs = [(n, None) for n in names]
    if args.fixtures:
        jobs += [(os.path.basename(p)[:-5], p) for p in
                 sorted(glob.glob(os.path.join(here, "fixtures", "*.onnx")))]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="refchk") as tmp:
        for name, path in jobs:
            res = check_model(args, name, tmp, path)
            if isinstance(res, str) and res.startswith("skip: "):
                print(f"{name:22s} skip  {res[6:].splitlines()[0][:100]}")
                continue
            if isinstance(res, str):
                print(f"{name:22s} FAIL  {res}")
                failed += 1
                continue
            err, spread, timing = res
            ok = err <= max(args.tol, spread)
            failed += not ok
            print(f"{name:22s} {'ok  ' if ok else 'FAIL'}  max rel error "
                  f"{err:.2e} (LiteRT {args.resolver} vs reference kernels: "
                  f"{spread:.2e})  {timing}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
