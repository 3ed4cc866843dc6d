/* quant.h - quantization of a lowered (float) TFLite graph.
 *
 * quantize_graph rewrites g in place for cx->opt->quantize:
 *   float16  constant float weights stored as float16 + DEQUANTIZE;
 *   dynamic  int8 weights for the operators with hybrid kernels, float
 *            activations;
 *   int8     full integer (calibrated activations, per-channel weights,
 *            int32 biases, fixed output parameters, same-scale rules);
 *   int16x8  int16 activations, int8 weights, int64 biases.
 * int8/int16x8 calibrate first: the float graph runs on the user's samples
 * with our own kernels (src/ref) and every tensor's range is recorded.
 * Graph inputs/outputs carry io_perm (ir.h), which maps calibration data
 * given in the ONNX layout onto the TFLite tensors.
 */
#ifndef O2L_QUANT_H
#define O2L_QUANT_H

#include "ir.h"

Status quantize_graph(Ctx *cx, Graph *g);

/* --report FILE.json: every tensor of the (written) graph with its type,
 * shape, calibrated range and scale/zero point, and every operator with
 * the types of its inputs and outputs.  Written atomically. */
Status quant_write_report(Ctx *cx, const Graph *g, const char *path);

#endif
