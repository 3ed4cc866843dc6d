#!/usr/bin/env python3
"""Quantization against the usual chain's: onnx2lite vs onnx2tf + TFLiteConverter.

Not part of `make test` or `make bench`: it needs TensorFlow and onnx2tf
(gigabytes), which is what onnx2lite exists to avoid.  Set up once:

    python3 -m venv /tmp/tfpeer/venv
    /tmp/tfpeer/venv/bin/pip install tensorflow-cpu onnx2tf tf_keras onnx \\
        onnx_graphsurgeon sng4onnx psutil onnxruntime onnxsim ai-edge-litert
    mkdir -p /tmp/tfpeer/out && cd /tmp/tfpeer/out
    for m in digits_cnn m5_audio mobilenet_v2 resnet10 u2netp; do
        ../venv/bin/onnx2tf -i ../../../work/shared/models/$m.onnx -o $m -osd -oiqt
    done

(`-oiqt` makes onnx2tf pad max-pools with 0 rather than float32's lowest
value; without it TF's calibrator puts that value into resnet10's ranges
and the int8 model aborts in ADD's Prepare.  onnx2tf also fetches a sample
image from GitHub for 3-channel inputs; offline, any
calibration_image_sample_data_20x128x128x3_float32.npy in the working
folder will do, it only feeds onnx2tf's own checks.)  Then:

    /tmp/tfpeer/venv/bin/python bench/tf_peer.py --work /tmp/tfpeer/out

For each model: the float32, full-int8 (Optimize.DEFAULT, a representative
dataset, TFLITE_BUILTINS_INT8, float input/output) and dynamic-range files
from TFLiteConverter on the SavedModel, and onnx2lite's float32 / int8
(--io-type float32) / dynamic files from the ONNX model, both calibrated on
the same 100 samples (tests/check_quant.py's seeded N(0,1) draw, or
digits_calib.npy), run in LiteRT with the default and the reference
kernels.  Prints, per model and converter, the worst output's cosine and
SQNR against PyTorch's reference, and the int8 and dynamic sizes against
that converter's own float32 file.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ["digits_cnn", "m5_audio", "mobilenet_v2", "resnet10", "u2netp"]


def channels_last(x):
    if x.ndim >= 3:
        return np.transpose(x, (0,) + tuple(range(2, x.ndim)) + (1,))
    return x


def to_reference(out, ref):
    if out.shape == ref.shape:
        return out
    if out.ndim >= 3:
        back = np.transpose(out, (0, out.ndim - 1) + tuple(range(1, out.ndim - 1)))
        if back.shape == ref.shape:
            return back
    return out.reshape(ref.shape)


def cosine_sqnr(out, ref):
    o = out.astype(np.float64).ravel()
    r = ref.astype(np.float64).ravel()
    cos = float(o @ r / max(np.linalg.norm(o) * np.linalg.norm(r), 1e-300))
    sqnr = float(10 * np.log10((r @ r) / max((o - r) @ (o - r), 1e-300)))
    return cos, sqnr


def calibration(args, m):
    if m.get("calib_file"):
        return np.load(os.path.join(args.models, m["calib_file"]))[:100].astype(np.float32)
    rng = np.random.default_rng(12345)  # as tests/check_quant.py draws it
    return rng.standard_normal([100] + m["inputs"][0]["shape"][1:]).astype(np.float32)


def tf_convert(saved_model, mode, calib):
    import tensorflow as tf
    conv = tf.lite.TFLiteConverter.from_saved_model(saved_model)
    if mode != "float32":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "int8":
        nhwc = channels_last(calib)
        conv.representative_dataset = lambda: ([nhwc[i:i + 1]] for i in range(len(nhwc)))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return conv.convert()


def run(path, x, refs, ref_kernels):
    """Worst (cosine, sqnr) over the outputs.  onnx2tf names its outputs
    StatefulPartitionedCall:K in the ONNX order; onnx2lite keeps the names
    and the order."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    kind = OpResolverType.BUILTIN_REF if ref_kernels else OpResolverType.AUTO
    it = Interpreter(model_path=path, experimental_op_resolver_type=kind)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    it.set_tensor(d["index"], channels_last(x).astype(d["dtype"]))
    it.invoke()
    outs = it.get_output_details()

    def order(o):
        tail = o["name"].rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else o["index"]
    if all(o["name"].rsplit(":", 1)[-1].isdigit() for o in outs):
        outs = sorted(outs, key=order)
    res = [cosine_sqnr(to_reference(it.get_tensor(o["index"]), r), r) for o, r in zip(outs, refs)]
    return min(c for c, _ in res), min(s for _, s in res)


def ours(args, m, mode, calib_path, out):
    cmd = [args.bin, "convert", os.path.join(args.models, m["file"]), "-o", out, "-q"]
    if mode != "float32":
        cmd += ["--quantize", mode]
    if mode == "int8":
        cmd += ["--io-type", "float32", "--calib", calib_path]
    subprocess.run(cmd, check=True)


def measure(args, m):
    name = m["name"]
    x = np.load(os.path.join(args.models, m["inputs"][0]["file"]))
    refs = [np.load(os.path.join(args.models, o["file"])) for o in m["outputs"]]
    calib = calibration(args, m)
    calib_path = os.path.join(args.work, name + ".calib.npy")
    np.save(calib_path, calib)
    rows = {}
    for who in ("tf", "onnx2lite"):
        sizes, row = {}, {}
        for mode in ("float32", "int8", "dynamic"):
            path = os.path.join(args.work, "%s.%s.%s.tflite" % (name, who, mode))
            if who == "onnx2lite":
                ours(args, m, mode, calib_path, path)
            elif not os.path.exists(path):  # TF's conversions take minutes: kept
                with open(path, "wb") as f:
                    f.write(tf_convert(os.path.join(args.work, name), mode, calib))
            sizes[mode] = os.path.getsize(path)
            if mode == "int8":
                row["int8"] = run(path, x, refs, False)
                row["int8_ref"] = run(path, x, refs, True)
        row["int8_size"] = sizes["int8"] / sizes["float32"]
        row["dynamic_size"] = sizes["dynamic"] / sizes["float32"]
        rows[who] = row
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "onnx2lite"))
    ap.add_argument("--models", default=os.path.join(os.path.dirname(ROOT), "shared", "models"))
    ap.add_argument("--work", required=True, help="folder holding onnx2tf's SavedModels (NAME/)")
    ap.add_argument("--only", default=",".join(MODELS))
    args = ap.parse_args()
    with open(os.path.join(args.models, "manifest.json")) as f:
        manifest = {m["name"]: m for m in json.load(f)["models"]}
    print("| model | converter | int8 cos (default / ref) | int8 SQNR dB | int8 size | dynamic size |")
    print("|---|---|---:|---:|---:|---:|")
    for name in args.only.split(","):
        for who, r in measure(args, manifest[name]).items():
            print("| %s | %s | %.5f / %.5f | %.1f / %.1f | %.3fx | %.3fx |" % (
                name, "TFLiteConverter" if who == "tf" else who, r["int8"][0], r["int8_ref"][0],
                r["int8"][1], r["int8_ref"][1], r["int8_size"], r["dynamic_size"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
