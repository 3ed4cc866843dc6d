#!/usr/bin/env python3
"""Summarise an eval_tflite.py run on the zoo and flag graph-quality problems.

    python summarize.py --models /tmp/zoo_models --work /tmp/zoo_eval [--markdown]

Reads WORK/results.json (written by eval_tflite.py) and each WORK/NAME.tflite,
and prints one row per model: opset, status, operator count, TRANSPOSE and
PAD counts, relative error, convert seconds, and flags for what a
TensorFlow-native graph would not have:

  bn?      a MUL by a per-channel constant followed by an ADD of a constant
           right after a CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED
           (BatchNorm not folded)
  act?     a RELU / RELU6 / RELU_N1_TO_1 whose input comes from an operator
           that could have fused it and has no other reader
  slow     conversion slower than 0.5 s
Runs with the LiteRT venv's python (needs ai_edge_litert and numpy only).
"""

import argparse
import json

import numpy as np
import os
import sys

FUSABLE_PRODUCERS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "DIV",
                     "CONCATENATION", "TRANSPOSE_CONV", "AVERAGE_POOL_2D", "MAX_POOL_2D", "CONV_3D"}
ACTS = {"RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1"}
LINEAR = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "CONV_3D", "TRANSPOSE_CONV"}


def graph_flags(path):
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path)
    ops = it._get_ops_details()
    produced = {}
    readers = {}
    for o in ops:
        for t in o["outputs"]:
            produced[t] = o
        for t in o["inputs"]:
            if t >= 0:
                readers.setdefault(t, []).append(o)
    inputs = {d["index"] for d in it.get_input_details()}

    def is_const(t):
        return t >= 0 and t not in produced and t not in inputs

    sizes = {d["index"]: int(np.prod(d["shape"])) for d in it.get_tensor_details()}

    def per_channel(t):  # BN residue is per channel; a scalar is not BN
        return is_const(t) and sizes.get(t, 1) > 1

    bn = act = 0
    for o in ops:
        name = o["op_name"]
        if name in ACTS:
            p = produced.get(o["inputs"][0])
            if p is not None and p["op_name"] in FUSABLE_PRODUCERS and len(readers.get(o["inputs"][0], [])) == 1:
                act += 1
        if name == "MUL" and any(per_channel(t) for t in o["inputs"]):
            x = [t for t in o["inputs"] if not is_const(t)]
            p = produced.get(x[0]) if x else None
            nxt = readers.get(o["outputs"][0], [])
            if p is not None and p["op_name"] in LINEAR and len(nxt) == 1 and nxt[0]["op_name"] == "ADD" and \
                    any(is_const(t) for t in nxt[0]["inputs"]):
                bn += 1
    return bn, act


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    with open(os.path.join(args.models, "manifest.json")) as f:
        manifest = {m["name"]: m for m in json.load(f)["models"]}
    with open(os.path.join(args.work, "results.json")) as f:
        rows = json.load(f)["results"]
    hdr = ("model", "opset", "status", "ops", "TRANSP", "PAD", "rel_err", "conv_s", "flags")
    fmt = "| %s |" % " | ".join(["%s"] * len(hdr)) if args.markdown else \
        "%-34s %5s %-12s %5s %6s %4s %9s %7s  %s"
    print(fmt % hdr)
    if args.markdown:
        print("|%s|" % "|".join(["---"] * len(hdr)))
    for r in rows:
        m = manifest.get(r["name"], {})
        hist = r.get("op_histogram") or {}
        flags = []
        tfl = os.path.join(args.work, r["name"] + ".tflite")
        if r.get("status") in ("PASS", "FAIL") and os.path.exists(tfl):
            try:
                bn, act = graph_flags(tfl)
                if bn:
                    flags.append("bn?=%d" % bn)
                if act:
                    flags.append("act?=%d" % act)
            except Exception as e:  # noqa: BLE001
                flags.append("flag-error:%s" % e)
        if (r.get("convert_seconds") or 0) > 0.5:
            flags.append("slow")
        if r.get("status") == "CONVERT_FAIL":
            tail = (r.get("convert_log_tail") or "").strip().splitlines()
            flags.append((tail[-1] if tail else "")[:150])
        if r.get("error"):
            flags.append(r["error"][:150])
        rel = r.get("rel")
        print(fmt % (r["name"], m.get("opset", "-"), r.get("status"), r.get("op_count", "-"),
                     r.get("transpose_count", "-"), hist.get("PAD", 0) + hist.get("PADV2", 0) if hist else "-",
                     ("%.1e" % rel) if isinstance(rel, (int, float)) else "-",
                     ("%.2f" % r["convert_seconds"]) if r.get("convert_seconds") is not None else "-",
                     " ".join(flags)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
