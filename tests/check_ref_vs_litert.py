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
    build/venv/bin/python tests/check_ref_vs_litert.py [--models a,b]
        [--resolver default|builtin|reference] [--time] [--fixtures]

--fixtures also runs tests/fixtures/*.onnx (one or a few ONNX ops each) on
seeded random inputs; fixtures the converter refuses are listed as skipped.
--cases runs the one-operator graphs of build/ref_cases (tests/unit/
ref_cases.c), written directly with tfl_write, so the kernels are checked
on semantics the converter may never emit (masks, flags, modes, fused
activations); bool and integer outputs must match exactly.

Exit status 0 when every model converts and matches, 1 otherwise.
"""
import argparse
import glob
import multiprocessing
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


def _litert_child(conn, tfl, resolver, inputs):
    try:
        it = Interpreter(model_path=tfl, num_threads=1,
                         experimental_op_resolver_type=RESOLVERS[resolver])
        it.allocate_tensors()
        ins = it.get_input_details()
        for i, d in enumerate(ins):
            x = inputs(i, d) if callable(inputs) else inputs[i]
            it.set_tensor(d["index"], np.ascontiguousarray(
                x.astype(d["dtype"]).reshape(d["shape"])))
        it.invoke()
        conn.send(("ok", [it.get_tensor(d["index"]).copy()
                          for d in it.get_output_details()],
                   [(d["shape"], d["dtype"]) for d in ins]))
    except Exception as e:  # refused by LiteRT: report, do not crash
        conn.send(("error", str(e).splitlines()[0] if str(e) else repr(e), None))


def run_litert(tfl, resolver, inputs):
    """LiteRT in a child process (a file that crashes the runtime must not
    end the whole run).  inputs: list of arrays, or f(i, detail) -> array.
    Returns (outputs, input details) or an error string."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_litert_child, args=(child, tfl, resolver, inputs))
    proc.start()
    child.close()
    try:
        msg = parent.recv() if parent.poll(120) else None
    except EOFError:  # the child died before answering
        msg = None
    proc.join(5)
    if msg is None:
        return f"LiteRT crashed (exit code {proc.exitcode})"
    if msg[0] == "error":
        return "LiteRT refuses it: " + msg[1]
    return msg[1], msg[2]


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
    inputs, files = {}, []

    def feed(i, d):
        if i not in inputs:
            inputs[i] = random_input(d, rng) if fixture else \
                to_file_layout(x, d["shape"]).astype(d["dtype"])
        return inputs[i]

    # The inputs are drawn here, from the details LiteRT reports, so both
    # runs and ref_run see the same data.
    res = run_litert(tfl, args.resolver, feed)
    if isinstance(res, str):
        return ("skip: " if fixture else "") + res
    _, details = res
    arrays = [feed(i, {"shape": sh, "dtype": dt})
              for i, (sh, dt) in enumerate(details)]
    results = {}
    for resolver in (args.resolver, "reference"):
        r = run_litert(tfl, resolver, arrays)
        if isinstance(r, str):
            if resolver == args.resolver:
                return ("skip: " if fixture else "") + r
            continue  # e.g. ELU, ROUND: not in the reference kernel set
        results[resolver] = r[0]
    for i, xi in enumerate(arrays):
        path = os.path.join(tmp, f"{name}.in{i}.bin")
        np.ascontiguousarray(xi).tofile(path)
        files.append(path)
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


def check_case(args, tmp, name, nin, nout):
    tfl = os.path.join(tmp, name + ".tflite")
    results = {}

    def feed(i, d):
        return np.fromfile(os.path.join(tmp, f"{name}.in{i}.bin"),
                           dtype=d["dtype"])

    for resolver in (args.resolver, "reference"):
        r = run_litert(tfl, resolver, feed)
        if isinstance(r, str):
            if resolver == args.resolver:
                return r
            continue
        results[resolver] = r[0]
    worst = spread = 0.0
    for i, want in enumerate(results[args.resolver]):
        got = np.fromfile(os.path.join(tmp, f"{name}.out{i}.bin"),
                          dtype=want.dtype)
        if got.size != want.size:
            return f"output {i}: {got.size} values, LiteRT has {want.size}"
        got = got.reshape(want.shape)
        if want.dtype.kind != "f":
            if not np.array_equal(got, want):
                return f"output {i} ({want.dtype}) differs in " \
                    f"{int(np.sum(got != want))} of {want.size} values"
            continue
        worst = max(worst, rel_err(got, want))
        if "reference" in results:
            spread = max(spread, rel_err(results["reference"][i], want))
    return worst, spread, ""


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
    ap.add_argument("--no-models", action="store_true",
                    help="skip the shared models (with --cases/--fixtures)")
    ap.add_argument("--cases", action="store_true",
                    help="also run the one-operator graphs of build/ref_cases")
    ap.add_argument("--ref-cases", default=os.path.join(root, "build",
                                                        "ref_cases"))
    args = ap.parse_args()
    names = ([m for m in args.models.split(",") if m] or
             sorted(os.path.basename(p)[:-5]
                    for p in glob.glob(os.path.join(args.models_dir, "*.onnx"))))
    jobs = [] if args.no_models else [(n, None) for n in names]
    if args.fixtures:
        jobs += [(os.path.basename(p)[:-5], p) for p in
                 sorted(glob.glob(os.path.join(here, "fixtures", "*.onnx")))]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="refchk") as tmp:
        if args.cases:
            gen = subprocess.run([args.ref_cases, tmp], capture_output=True,
                                 text=True)
            if gen.returncode != 0:
                print("ref_cases FAIL  " + gen.stderr.strip())
                failed += 1
            with open(os.path.join(tmp, "cases.txt")) as f:
                cases = [l.split() for l in f if l.strip()]
            for name, nin, nout in cases:
                res = check_case(args, tmp, name, int(nin), int(nout))
                failed += report(name, res, args)
        for name, path in jobs:
            res = check_model(args, name, tmp, path)
            failed += report(name, res, args)
    return 1 if failed else 0


def report(name, res, args):
    """Prints one result line; returns 1 on failure."""
    if isinstance(res, str) and res.startswith("skip: "):
        print(f"{name:22s} skip  {res[6:].splitlines()[0][:100]}")
        return 0
    if isinstance(res, str):
        print(f"{name:22s} FAIL  {res}")
        return 1
    err, spread, timing = res
    ok = err <= max(args.tol, spread)
    print(f"{name:22s} {'ok  ' if ok else 'FAIL'}  max rel error "
          f"{err:.2e} (LiteRT {args.resolver} vs reference kernels: "
          f"{spread:.2e})  {timing}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
