"""o2l_testlib.py - what the LiteRT check scripts share: small ONNX models
built with onnx.helper, the converter run as the CLI, onnxruntime's
outputs, LiteRT interpreters and operator counts, and the mapping of test
data between ONNX order and the channels-last order of a .tflite tensor.

Imported by the tests/check_*.py scripts and tests/tfl_runtime_check.py
(they run from tests/, so the module is found next to them).  Nothing
here draws random numbers: each script keeps its own seeded generator.
"""

import contextlib
import os
import re
import subprocess

import numpy as np
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# XNNPACK (the default), the optimized builtin kernels, the reference ones
RESOLVERS = (OpResolverType.AUTO, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
             OpResolverType.BUILTIN_REF)


# ---- building models ----------------------------------------------------------

def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, **attrs)


def onnx_model(name, nodes, inputs, outputs, inits=(), opset=13):
    """inputs: (name, TensorProto type, shape); outputs: (name, type), shape
    left to inference."""
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs],
        list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


class Case:
    """A model over named inputs, what LiteRT must compute and the operator
    counts the converted file must have (TRANSPOSE: 0 unless said
    otherwise).  inputs: (name, TensorProto type, shape); outputs: (name,
    type); feeds: fixed arrays for some inputs; rtol / atol: the tolerance
    of float outputs; refuse: the conversion must fail with a message
    containing this text; skip_ref: why LiteRT's reference kernels are not
    compared; ref_fn(feeds) -> outputs: a numpy reference where onnxruntime
    has none, or "onnx": onnx's reference evaluator (opsets onnxruntime does
    not load yet)."""

    def __init__(self, name, nodes, inputs, outputs, inits=(), opset=13,
                 feeds=None, counts=None, rtol=1e-5, atol=None, refuse=None,
                 skip_ref=None, ref_fn=None):
        self.name, self.nodes, self.inputs = name, nodes, inputs
        self.outputs, self.inits, self.opset = outputs, list(inits), opset
        self.feeds = feeds or {}
        self.counts = {"TRANSPOSE": 0}
        self.counts.update(counts or {})
        self.rtol, self.atol, self.refuse = rtol, atol, refuse
        self.skip_ref, self.ref_fn = skip_ref, ref_fn

    def model(self):
        return onnx_model(self.name, self.nodes, self.inputs, self.outputs,
                          self.inits, self.opset)

    def feed(self, rng):
        """Every input: its fixed array, else random from rng (bools,
        integers in [-9, 9], standard normal floats)."""
        out = {}
        for name, t, shape in self.inputs:
            if name in self.feeds:
                out[name] = self.feeds[name]
            elif t == TensorProto.BOOL:
                out[name] = rng.random(shape) > 0.5
            elif t in (TensorProto.INT32, TensorProto.INT64):
                out[name] = rng.integers(-9, 10, shape).astype(
                    helper.tensor_dtype_to_np_dtype(t))
            else:
                out[name] = rng.standard_normal(shape).astype(np.float32)
        return out


# ---- running ------------------------------------------------------------------

def convert(binary, onnx_path, out, *flags):
    """The converter CLI; the CompletedProcess (text stdout/stderr)."""
    return subprocess.run([binary, "convert", onnx_path, "-o", out] + list(flags),
                          capture_output=True, text=True)


def ort_outputs(path, feeds):
    """onnxruntime's outputs of the model at path, by output name."""
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds)))


def interpreter(path, resolver, skipped, case_name):
    """A LiteRT interpreter for path with `resolver`, or None when the
    reference resolver has no kernel for one of its operators (CEIL...):
    then "case_name (OP vN)" is added to the set `skipped`.  Any other
    refusal raises."""
    try:
        return Interpreter(model_path=path, experimental_op_resolver_type=resolver)
    except (ValueError, RuntimeError) as e:
        if resolver == OpResolverType.BUILTIN_REF and "Didn't find op" in str(e):
            m = re.search(r"opcode '(\w+)' version '(\d+)'", str(e))
            skipped.add(f"{case_name} ({m.group(1)} v{m.group(2)})" if m else case_name)
            return None
        raise


def op_counts(path):
    """TFLite operator name -> count in the .tflite at path."""
    it = Interpreter(model_path=path,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    ops = {}
    for o in it._get_ops_details():
        ops[o["op_name"]] = ops.get(o["op_name"], 0) + 1
    return ops


def count_errors(counts, ops):
    """Messages for every operator whose count in ops is not the one counts
    asks for (None: at least one)."""
    errs = []
    for op, want in counts.items():
        have = ops.get(op, 0)
        if want is None:
            if have == 0:
                errs.append(f"expected some {op}, got none")
        elif have != want:
            errs.append(f"expected {want} {op}, got {have}")
    return errs


@contextlib.contextmanager
def quiet_stderr():
    """LiteRT logs to fd 2 from C++; keep the report readable."""
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# ---- layouts ------------------------------------------------------------------

def cl_perm(rank):
    """The axis order of channels-last: (0, 2, ..., rank-1, 1)."""
    return [0] + list(range(2, rank)) + [1]


def to_tflite_layout(arr, tfl_shape):
    """arr (ONNX order) in the order a TFLite tensor of tfl_shape holds: as
    it is when the shapes agree, else channels-last (rank >= 3)."""
    if list(arr.shape) == list(tfl_shape):
        return arr
    r = arr.ndim
    if r >= 3 and [arr.shape[i] for i in cl_perm(r)] == list(tfl_shape):
        return np.transpose(arr, cl_perm(r))
    raise ValueError(f"no layout maps {arr.shape} to {list(tfl_shape)}")


def from_tflite_layout(arr, onnx_shape):
    """The inverse of to_tflite_layout for an output of ONNX shape
    onnx_shape."""
    if list(arr.shape) == list(onnx_shape):
        return arr
    r = len(onnx_shape)
    if r >= 3 and [onnx_shape[i] for i in cl_perm(r)] == list(arr.shape):
        return np.transpose(arr, np.argsort(cl_perm(r)))
    raise ValueError(f"no layout maps {list(arr.shape)} back to {list(onnx_shape)}")
