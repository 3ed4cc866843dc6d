#!/usr/bin/env python3
"""Writes examples/tiny_cnn.onnx, the model the README converts first.

    build/venv/bin/python examples/make_example.py

A CIFAR-sized image classifier in the shape PyTorch exports it when
BatchNorm is kept (TrainingMode.PRESERVE): two blocks of 3x3 conv +
BatchNormalization + Relu + 2x2 MaxPool, then Flatten, Gemm and Softmax.
onnx2lite folds the BatchNorms into the convs, fuses the Relus, keeps the
Flatten order of the NCHW map without a TRANSPOSE, and gives a .tflite
with an NHWC input [1,32,32,3].  Weights are random (seed 0); the file is
about 50 KB.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
inits, nodes = [], []


def const(name, arr):
    inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name))
    return name


def conv_bn_relu_pool(x, cin, cout, tag):
    w = rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2.0 / (cin * 9))
    nodes.append(helper.make_node("Conv", [x, const(tag + ".w", w), const(tag + ".b", np.zeros(cout))],
                                  [tag + ".conv"], name=tag + ".conv", kernel_shape=[3, 3],
                                  pads=[1, 1, 1, 1]))
    bn = [const(tag + ".gamma", rng.uniform(0.5, 1.5, cout)),
          const(tag + ".beta", rng.normal(0, 0.2, cout)),
          const(tag + ".mean", rng.normal(0, 0.2, cout)),
          const(tag + ".var", rng.uniform(0.5, 1.5, cout))]
    nodes.append(helper.make_node("BatchNormalization", [tag + ".conv"] + bn, [tag + ".bn"],
                                  name=tag + ".bn"))
    nodes.append(helper.make_node("Relu", [tag + ".bn"], [tag + ".relu"], name=tag + ".relu"))
    nodes.append(helper.make_node("MaxPool", [tag + ".relu"], [tag + ".pool"], name=tag + ".pool",
                                  kernel_shape=[2, 2], strides=[2, 2]))
    return tag + ".pool"


h = conv_bn_relu_pool("input", 3, 8, "block1")          # 8 x 16 x 16
h = conv_bn_relu_pool(h, 8, 16, "block2")               # 16 x 8 x 8
nodes.append(helper.make_node("Flatten", [h], ["flat"], name="flatten", axis=1))
fc_w = rng.standard_normal((10, 16 * 8 * 8)) * np.sqrt(1.0 / (16 * 8 * 8))
nodes.append(helper.make_node("Gemm", ["flat", const("fc.w", fc_w), const("fc.b", np.zeros(10))],
                              ["logits"], name="fc", transB=1))
nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1))

graph = helper.make_graph(nodes, "tiny_cnn",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 10])],
                          initializer=inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="onnx2lite-example")
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny_cnn.onnx")
onnx.save(model, out)
print("wrote %s (%d bytes)" % (out, os.path.getsize(out)))
