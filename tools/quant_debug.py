#!/usr/bin/env python3
"""Where does a quantized model lose its accuracy?  A developer tool.

  layers  FLOAT.tflite QUANT.tflite INPUT.npy [--ref]
          runs both files on one input (ONNX layout, transposed to NHWC/NWC
          here) with every tensor kept, and prints, per operator of the
          quantized file in execution order, the SQNR of its dequantized
          output against the float file's tensor of the same name (onnx2lite
          keeps the ONNX names, so they match).  A steady loss per layer
          means the network amplifies whatever noise it gets; a sudden drop
          points at one operator's ranges or kernel.  --ref uses LiteRT's
          reference kernels for the quantized file.

  input   MODEL.onnx INPUT.npy REFERENCE.npy
          runs the float ONNX model in onnxruntime with only its input
          rounded to 8, 10, 12 and 16 bits over the input's own range, and
          prints the output's SQNR and cosine against REFERENCE.  This is
          the floor for any int8 model with an int8 input: no range method
          or kernel can do better than what rounding the input alone costs.

Run with build/venv/bin/python (numpy, onnxruntime, ai-edge-litert).
"""
import argparse
import sys

import numpy as np


def sqnr(ref, out):
    ref = ref.astype(np.float64)
    err = np.sum((out.astype(np.float64) - ref) ** 2)
    return 10 * np.log10(np.sum(ref ** 2) / max(err, 1e-30))


def cosine(ref, out):
    a, b = ref.ravel().astype(np.float64), out.ravel().astype(np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))


def to_tflite_layout(x):
    if x.ndim == 4:
        return np.transpose(x, (0, 2, 3, 1))
    if x.ndim == 3:
        return np.transpose(x, (0, 2, 1))
    return x


def run_all_tensors(path, x, ref_kernels):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    kw = {"experimental_preserve_all_tensors": True}
    if ref_kernels:
        kw["experimental_op_resolver_type"] = OpResolverType.BUILTIN_REF
    it = Interpreter(model_path=path, **kw)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    if d["dtype"] != np.float32:
        scale, zp = d["quantization"]
        info = np.iinfo(d["dtype"])
        x = np.clip(np.round(x / scale) + zp, info.min, info.max).astype(d["dtype"])
    it.set_tensor(d["index"], x)
    it.invoke()
    return it


def cmd_layers(args):
    x = to_tflite_layout(np.load(args.input))
    fl = run_all_tensors(args.float, x, False)
    qu = run_all_tensors(args.quant, x, args.ref)
    by_name = {t["name"]: t["index"] for t in fl.get_tensor_details()}
    details = qu.get_tensor_details()
    print("%4s %-22s %8s %10s  %s" % ("op", "kind", "sqnr dB", "scale", "tensor"))
    for op in qu._get_ops_details():  # the only per-op listing LiteRT offers
        if op["op_name"] == "DELEGATE":
            continue
        for i in op["outputs"]:
            t = details[i]
            if t["name"] not in by_name:
                continue
            ref = fl.get_tensor(by_name[t["name"]])
            got = qu.get_tensor(i).astype(np.float64)
            scale, zp = t["quantization"]
            if scale:
                got = (got - zp) * scale
            if ref.shape != got.shape:
                continue
            print("%4d %-22s %8.2f %10.4g  %s" % (op["index"], op["op_name"],
                                                 sqnr(ref, got), scale, t["name"]))
    return 0


def cmd_input(args):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    x, ref = np.load(args.input), np.load(args.reference)
    lo, hi = float(x.min()), float(x.max())
    print("%5s %12s %12s %10s" % ("bits", "input dB", "output dB", "cosine"))
    for bits in (8, 10, 12, 16):
        step = (hi - lo) / (2 ** bits - 1)
        xq = (np.round((x - lo) / step) * step + lo).astype(np.float32)
        out = sess.run(None, {sess.get_inputs()[0].name: xq})[0]
        print("%5d %12.2f %12.2f %10.5f" % (bits, sqnr(x, xq), sqnr(ref, out), cosine(ref, out)))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("layers", help="per-operator SQNR, float vs quantized .tflite")
    p.add_argument("float")
    p.add_argument("quant")
    p.add_argument("input")
    p.add_argument("--ref", action="store_true", help="reference kernels for QUANT")
    p = sub.add_parser("input", help="output error from rounding the input alone")
    p.add_argument("model")
    p.add_argument("input")
    p.add_argument("reference")
    args = ap.parse_args()
    return cmd_layers(args) if args.cmd == "layers" else cmd_input(args)


if __name__ == "__main__":
    sys.exit(main())
