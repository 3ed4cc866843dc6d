#!/usr/bin/env python3
"""Conversion benchmark: wall time and peak memory of onnx2lite per model,
next to how long onnxruntime needs just to load and optimize the same model.

    build/venv/bin/python bench/bench_convert.py --bin build/onnx2lite
        [--models DIR] [--repeat 5] [--only a,b] [--json out.json] [--no-calib]

For every model (DIR/manifest.json when present, else DIR/*.onnx; default
../shared/models):
  - runs `onnx2lite convert M.onnx -o tmp.tflite -q` --repeat times and
    reports the median wall time and the largest peak RSS of the child
    (wait4's ru_maxrss, taken by bench/peak_rss.c, which this script
    compiles with cc), as a ratio to the ONNX file size, both raw and
    net of the RSS of `onnx2lite --version` (the process's fixed cost, which
    dominates for tiny models);
  - peer, measured in the same run: onnxruntime.InferenceSession creation
    (graph optimizations ORT_ENABLE_ALL, one thread), median of --repeat,
    and our time / its time.
Targets from the float-path issue are marked: mobilenet_v2 under 0.1 s, peak
memory under 2x the ONNX file size.

Calibration slot (quantization issue): mobilenet_v2 converted with
--quantize int8 --calib (--calib-samples random samples, default 100), next
to onnxruntime's single-thread inference/s on the same samples, in
--calib-repeat interleaved rounds (best of each).  Two rates: the
calibration loop as onnx2lite reports it (the float graph run on every
sample with the range observers: the issue's measure), and N / (int8
convert time - float convert time), which adds the one-time costs (runner
set-up, quantizing the weights, writing).
Prints markdown tables; --json writes the numbers.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TIME_TARGETS = {"mobilenet_v2": 0.1}     # seconds
MEM_TARGET = 2.0                         # peak RSS / ONNX file size
CALIB_MODEL = "mobilenet_v2"


def peak_rss_tool():
    """build/bench/peak_rss, compiled from bench/peak_rss.c when missing or older."""
    src = os.path.join(HERE, "peak_rss.c")
    exe = os.path.join(REPO, "build", "bench", "peak_rss")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-o", exe, src], check=True)
    return exe


def run_measured(argv):
    """(exit status, wall seconds, peak RSS bytes, stderr) of one run of argv,
    measured by peak_rss (see bench/peak_rss.c for why not from here)."""
    with tempfile.NamedTemporaryFile("r") as rep, tempfile.TemporaryFile() as err:
        subprocess.run([peak_rss_tool(), rep.name] + argv, stdout=subprocess.DEVNULL, stderr=err,
                       check=True)
        code, secs, kb = rep.read().split()
        err.seek(0)
        return int(code), float(secs), int(kb) * 1024, err.read().decode(errors="replace")


def list_models(mdir, only):
    manifest = os.path.join(mdir, "manifest.json")
    if os.path.exists(manifest):
        with open(manifest) as f:
            doc = json.load(f)
        entries = doc["models"] if isinstance(doc, dict) else doc
        models = [(m["name"], os.path.join(mdir, m["file"])) for m in entries]
    else:
        models = [(f[:-5], os.path.join(mdir, f)) for f in sorted(os.listdir(mdir)) if f.endswith(".onnx")]
    return [(n, p) for n, p in models if not only or n in only]


def ort_session_seconds(path, repeat):
    import onnxruntime as ort

    def once():
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        t0 = time.perf_counter()
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        return time.perf_counter() - t0, sess
    once()    # the first session pays onnxruntime's one-time setup
    return statistics.median(once()[0] for _ in range(repeat))


def bench_model(args, name, path, work, baseline):
    out = os.path.join(work, name + ".tflite")
    argv = [args.bin, "convert", path, "-o", out, "-q"]
    times, peaks = [], []
    for _ in range(args.repeat):
        rc, secs, peak, err = run_measured(argv)
        if rc != 0:
            return dict(name=name, error="exit %d: %s" % (rc, err.strip().splitlines()[-1:] or ""))
        times.append(secs)
        peaks.append(peak)
    size = os.path.getsize(path)
    row = dict(name=name, onnx_bytes=size, tflite_bytes=os.path.getsize(out),
               seconds=statistics.median(times), seconds_min=min(times),
               peak_rss=max(peaks), peak_ratio=max(peaks) / size,
               net_peak_ratio=max(0, max(peaks) - baseline) / size)
    if name in TIME_TARGETS:
        row["time_target"] = TIME_TARGETS[name]
        row["time_ok"] = row["seconds"] < TIME_TARGETS[name]
    row["mem_ok"] = row["net_peak_ratio"] < MEM_TARGET
    if not args.no_peer:
        row["ort_seconds"] = ort_session_seconds(path, args.repeat)
        row["vs_ort"] = row["seconds"] / row["ort_seconds"]
    return row


CALIB_REPORT = re.compile(r"calibrated on (\d+) sample\(s\) in ([\d.]+) s")


def bench_calibration(args, models, work):
    """Calibration throughput vs onnxruntime single-thread inference, best of
    --calib-repeat interleaved rounds (a busy moment hits both alike)."""
    path = dict(models).get(CALIB_MODEL)
    if path is None:
        return dict(skipped="%s not among the models" % CALIB_MODEL)
    import onnx
    import onnxruntime as ort
    m = onnx.load(path, load_external_data=False)
    dims = [d.dim_value or 1 for d in m.graph.input[0].type.tensor_type.shape.dim]
    n = args.calib_samples
    x = np.random.default_rng(0).standard_normal([n] + dims[1:]).astype(np.float32)
    calib = os.path.join(work, "calib.npy")
    np.save(calib, x)
    out = os.path.join(work, CALIB_MODEL + ".int8.tflite")
    q = [args.bin, "convert", path, "-o", out, "--quantize", "int8", "--calib", calib,
         "--calib-samples", str(n)]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    sess.run(None, {name: x[:1]})
    best = dict(loop=0.0, whole=0.0, ort=0.0)
    float_s = statistics.median(run_measured([args.bin, "convert", path, "-o", out, "-q"])[1]
                                for _ in range(args.repeat))
    for _ in range(args.calib_repeat):
        rc, int8_s, _, err = run_measured(q)
        got = CALIB_REPORT.search(err)
        if rc != 0 or not got:
            return dict(skipped="--quantize int8 failed: %s" % (err.strip().splitlines() or ["?"])[-1])
        best["loop"] = max(best["loop"], n / max(float(got.group(2)), 1e-9))
        best["whole"] = max(best["whole"], n / max(int8_s - float_s, 1e-9))
        t0 = time.perf_counter()
        for i in range(n):
            sess.run(None, {name: x[i:i + 1]})
        best["ort"] = max(best["ort"], n / (time.perf_counter() - t0))
    return dict(model=CALIB_MODEL, samples=n, calib_samples_per_s=best["loop"],
                int8_minus_float_samples_per_s=best["whole"], ort_inferences_per_s=best["ort"],
                ratio=best["loop"] / best["ort"], ratio_whole=best["whole"] / best["ort"])


def print_tables(args, rows, calib, baseline):
    print("\n| model | ONNX MB | convert s (median) | peak RSS MB | peak / ONNX | net peak / ONNX "
          "| ORT session s | ours / ORT |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print("| %s | conversion failed: %s |||||||" % (r["name"], r["error"]))
            continue
        t = "%.3f" % r["seconds"]
        if "time_ok" in r:
            t += " %s (< %g)" % ("ok" if r["time_ok"] else "MISSED", r["time_target"])
        print("| %s | %.2f | %s | %.1f | %.2f | %.2f%s | %s | %s |" % (
            r["name"], r["onnx_bytes"] / 1e6, t, r["peak_rss"] / 1e6, r["peak_ratio"],
            r["net_peak_ratio"], "" if r["mem_ok"] else " (over %g)" % MEM_TARGET,
            "%.3f" % r["ort_seconds"] if "ort_seconds" in r else "-",
            "%.2f" % r["vs_ort"] if "vs_ort" in r else "-"))
    print("\nnet peak = peak RSS minus %.1f MB, the RSS of `onnx2lite --version`." % (baseline / 1e6))
    if calib is None:
        return
    if "skipped" in calib:
        print("\ncalibration (int8) skipped: %s" % calib["skipped"])
    else:
        print("\ncalibration (int8), one thread each, best of %d:\n\n"
              "| model | samples | calibration samples/s | ORT inference/s | ratio "
              "| int8 - float convert, samples/s | ratio |" % args.calib_repeat)
        print("|---|---:|---:|---:|---:|---:|---:|")
        print("| %s | %d | %.1f | %.1f | %.2f | %.1f | %.2f |" % (
            calib["model"], calib["samples"], calib["calib_samples_per_s"],
            calib["ort_inferences_per_s"], calib["ratio"],
            calib["int8_minus_float_samples_per_s"], calib["ratio_whole"]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "onnx2lite"))
    ap.add_argument("--models", default=os.path.join(os.path.dirname(REPO), "shared", "models"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated model names")
    ap.add_argument("--no-peer", action="store_true", help="skip the onnxruntime measurements")
    ap.add_argument("--no-calib", action="store_true", help="skip the calibration benchmark")
    ap.add_argument("--calib-samples", type=int, default=100)
    ap.add_argument("--calib-repeat", type=int, default=3)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if not os.path.isdir(args.models):
        print("no models folder %s: nothing to benchmark" % args.models)
        return 0
    models = list_models(args.models, set(filter(None, args.only.split(","))))
    with tempfile.TemporaryDirectory(prefix="o2l-bench-") as work:
        baseline = max(run_measured([args.bin, "--version"])[2] for _ in range(3))
        rows = []
        for name, path in models:
            rows.append(bench_model(args, name, path, work, baseline))
            print("%-22s %s" % (name, "error: " + rows[-1]["error"] if "error" in rows[-1]
                                else "%.3f s" % rows[-1]["seconds"]), file=sys.stderr, flush=True)
        calib = None if args.no_calib else bench_calibration(args, models, work)
    print_tables(args, rows, calib, baseline)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(bin=args.bin, repeat=args.repeat, baseline_rss=baseline, models=rows,
                           calibration=calib), f, indent=1)
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
