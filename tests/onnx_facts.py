"""Facts about an ONNX model that bound what a good conversion contains.

The structural checks of tests/run_conformance.py need, for a given .onnx,
how many explicit PAD ops a converter cannot avoid, how many activations
have nothing to fuse into, and how many Transpose nodes the model has.
These are computed from the ONNX alone (with onnx's shape inference for
the spatial sizes), so the checks adapt to any model instead of carrying
hand-counted numbers.  tests/gen_fixtures.py uses the same functions to
keep each fixture's declared expectations consistent with them.
"""

import collections

import numpy as np
import onnx
from onnx import helper, numpy_helper

# TFLite operators that carry a fused_activation_function, by the ONNX ops
# that lower to them.
FUSABLE_PRODUCERS = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div",
                     "MaxPool", "AveragePool", "Concat", "BatchNormalization"}
ACTIVATIONS = {"Relu", "Clip"}
TFLITE_ACTIVATIONS = ("RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1")
TFLITE_PADS = ("PAD", "PADV2", "MIRROR_PAD")


def channels_last(shape):
    """The channels-last form of an ONNX (channels-first) shape: NCHW ->
    NHWC, NCW -> NWC; shapes of rank < 3 are returned as they are."""
    shape = list(shape)
    return shape if len(shape) < 3 else [shape[0]] + shape[2:] + [shape[1]]


def load(path_or_model):
    if isinstance(path_or_model, onnx.ModelProto):
        return path_or_model
    return onnx.load(path_or_model)


def op_histogram(model):
    return dict(collections.Counter(n.op_type for n in load(model).graph.node))


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _constants(graph):
    """name -> numpy array for initializers and Constant nodes."""
    out = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            out[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    return out


def _shapes(model):
    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # noqa: BLE001 - a model shape inference rejects: no facts
        inferred = model
    g = inferred.graph
    out = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            out[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    return out


def _axis_fits(size, k, s, b, e, ceil_mode):
    """(onnx output size, effective end pad) for one spatial axis."""
    span = size + b + e - k
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + b:   # ONNX: last window starts inside
        out -= 1
    return out, max(0, (out - 1) * s + k - b - size)


def needs_explicit_pad(node, in_shape, kernel):
    """True when the padding of a Conv/MaxPool/AveragePool node is neither
    TFLite's VALID nor its SAME (both spatial axes must agree on one)."""
    a = _attrs(node)
    nd = len(kernel)
    if in_shape is None or len(in_shape) != nd + 2 or any(d is None for d in in_shape[2:]):
        return False   # unknown sizes: nothing to hold the converter to
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    strides = a.get("strides", [1] * nd)
    dil = a.get("dilations", [1] * nd)
    if auto in ("SAME_UPPER", "VALID"):
        return False
    pads = a.get("pads", [0] * 2 * nd)
    ceil_mode = a.get("ceil_mode", 0)
    valid = same = True
    for i in range(nd):
        size, k = in_shape[2 + i], (kernel[i] - 1) * dil[i] + 1
        s = strides[i]
        if auto == "SAME_LOWER":
            out = -(-size // s)
            total = max((out - 1) * s + k - size, 0)
            b, e = total - total // 2, total // 2
        else:
            b, e = pads[i], pads[i + nd]
        out, eff_e = _axis_fits(size, k, s, b, e, ceil_mode)
        if b or eff_e:
            valid = False
        same_out = -(-size // s)
        total = max((same_out - 1) * s + k - size, 0)
        if not (out == same_out and b == total // 2 and eff_e == total - total // 2):
            same = False
    if node.op_type == "AveragePool" and a.get("count_include_pad", 0) and not valid:
        return True    # TFLite's SAME average leaves the padding out of the count
    return not (valid or same)


def pad_budget(model):
    """How many PAD/PADV2/MIRROR_PAD ops a converter may need: one per
    Conv/pool whose padding is neither SAME nor VALID, plus one per Pad node
    that pads something (all-zero Pads, as torch exports before
    AveragePool, must vanish)."""
    m = load(model)
    shapes, consts = _shapes(m), _constants(m.graph)
    need = []
    for n in m.graph.node:
        if n.op_type in ("Conv", "MaxPool", "AveragePool"):
            a = _attrs(n)
            kernel = a.get("kernel_shape")
            if kernel is None and len(n.input) > 1 and n.input[1] in consts:
                kernel = list(consts[n.input[1]].shape[2:])
            if kernel and needs_explicit_pad(n, shapes.get(n.input[0]), kernel):
                need.append(n.name or n.op_type)
        elif n.op_type == "Pad":
            pads = _attrs(n).get("pads")
            if pads is None and len(n.input) > 1:
                pads = consts.get(n.input[1])
            if pads is None or np.any(np.asarray(pads) != 0):
                need.append(n.name or "Pad")
    return len(need), need


def unfusable_activations(model):
    """Relu/Clip nodes that cannot fold into their producer: the producer is
    not an op with a fused activation in TFLite, or its result is used
    elsewhere too (or is a graph output).  Identity/Dropout are looked
    through."""
    m = load(model)
    g = m.graph
    producer = {o: n for n in g.node for o in n.output}
    uses = collections.Counter(i for n in g.node for i in n.input)
    outputs = {o.name for o in g.output}
    left = []
    for n in g.node:
        if n.op_type not in ACTIVATIONS:
            continue
        src = n.input[0]
        p = producer.get(src)
        while p is not None and p.op_type in ("Identity", "Dropout") and uses[src] == 1:
            src = p.input[0]
            p = producer.get(src)
        if p is None or p.op_type not in FUSABLE_PRODUCERS or uses[src] > 1 or src in outputs:
            left.append(n.name or n.op_type)
    return len(left), left


def rank_ge3_io(model):
    """Graph inputs and outputs of rank >= 3 (the ones whose layout the
    converter may change)."""
    g = load(model).graph
    init = {t.name for t in g.initializer}
    n = 0
    for vi in [i for i in g.input if i.name not in init] + list(g.output):
        if len(vi.type.tensor_type.shape.dim) >= 3:
            n += 1
    return n
