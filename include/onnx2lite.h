/* onnx2lite.h - convert ONNX models to TensorFlow Lite (LiteRT) flatbuffers.
 *
 * The whole public API: fill an o2l_options, call o2l_convert(), read the
 * o2l_report, free it.  Nothing here exits or prints on its own; errors are
 * returned as a status with a message naming the ONNX node, the operator and
 * what was expected.  The command-line program (src/main.c) is a thin user
 * of this header.
 *
 * Thread-safety: conversions share no global state and may run in parallel.
 */
#ifndef ONNX2LITE_H
#define ONNX2LITE_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define O2L_VERSION "0.1.0"

/* Status codes.  The CLI maps them to exit codes: UNSUPPORTED -> 2, every
 * other error -> 1. */
#define O2L_STATUS_LIST(X)                                          \
  X(O2L_OK, "ok")                                                   \
  X(O2L_ERR_IO, "i/o error")                                        \
  X(O2L_ERR_PARSE, "malformed file")                                \
  X(O2L_ERR_INVALID, "invalid model")                               \
  X(O2L_ERR_UNSUPPORTED, "unsupported operator")                    \
  X(O2L_ERR_NOMEM, "out of memory")                                 \
  X(O2L_ERR_USAGE, "bad option")                                    \
  X(O2L_ERR_CALIB, "bad calibration data")                          \
  X(O2L_ERR_INTERNAL, "internal error")

typedef enum {
#define O2L_X_(e, s) e,
  O2L_STATUS_LIST(O2L_X_)
#undef O2L_X_
} o2l_status;

/* The status's short description (its O2L_STATUS_LIST string); never
 * NULL. */
const char *o2l_status_str(o2l_status s);

typedef enum {
  O2L_QUANT_NONE = 0, /* float32 */
  O2L_QUANT_FLOAT16,  /* float16 weights + DEQUANTIZE */
  O2L_QUANT_DYNAMIC,  /* int8 weights, float activations (hybrid kernels) */
  O2L_QUANT_INT8,     /* full integer, int8 activations */
  O2L_QUANT_INT16X8   /* int16 activations, int8 weights */
} o2l_quant_mode;

typedef enum {
  O2L_IO_DEFAULT = 0, /* int8 for int8 mode, int16 for int16x8 */
  O2L_IO_INT8,
  O2L_IO_UINT8,
  O2L_IO_INT16,
  O2L_IO_FLOAT32
} o2l_io_type;

typedef enum {
  O2L_CALIB_MINMAX = 0,
  O2L_CALIB_PERCENTILE,
  O2L_CALIB_MSE
} o2l_calib_method;

typedef struct o2l_options {
  const char *input_path;   /* .onnx */
  const char *output_path;  /* .tflite, written atomically (tmp + rename) */

  /* "NAME=1,3,224,224" entries fixing symbolic dimensions of inputs. */
  const char *const *input_shapes;
  int n_input_shapes;

  int keep_io_layout; /* nonzero: graph inputs/outputs keep the ONNX layout */

  /* Quantization (mode NONE ignores the rest). */
  o2l_quant_mode quantize;
  o2l_io_type io_type;
  int per_tensor;           /* per-tensor weights for conv/FC too */
  const char *calib_path;   /* .npy, .npz, image folder, or "random" */
  int calib_samples;        /* 0 = default (100) */
  o2l_calib_method calib_method;
  float mean[4], std[4];    /* image preprocessing per channel */
  int n_mean, n_std;
  float scale;              /* image preprocessing: pixel * scale (0 = unset) */
  const char *report_json;  /* --report FILE.json, or NULL */

  int quiet; /* no progress, no notices */
  /* Optional callbacks; NULL means silent. */
  void (*progress)(void *user, const char *stage, double fraction);
  void (*notice)(void *user, const char *msg);
  void *user;
} o2l_options;

/* What a conversion did; filled by o2l_convert, released by
 * o2l_report_free. */
typedef struct o2l_report {
  int onnx_nodes;       /* nodes in the ONNX graph as read */
  int tflite_ops;       /* operators in the written model */
  int transposes;       /* TRANSPOSE ops left */
  int pads;             /* PAD/PADV2/MIRROR_PAD ops left */
  long output_bytes;
  double seconds;
  /* Free-form lines: what was folded/fused, each TRANSPOSE with the ONNX
   * node that forced it, notices.  Owned by the report. */
  char **lines;
  int n_lines;
  /* Operator histogram of the output: names[i] occurs counts[i] times. */
  char **op_names;
  int *op_counts;
  int n_op_kinds;
} o2l_report;

/* Converts opt->input_path to opt->output_path.  On failure nothing is
 * written, the message (naming the node/op/offset at fault) is copied to
 * err (if errlen > 0) and the status is returned.  rep may be NULL. */
o2l_status o2l_convert(const o2l_options *opt, o2l_report *rep, char *err,
                       size_t errlen);

/* Prints a human summary of an .onnx or .tflite file (inputs, outputs,
 * operator histogram, TRANSPOSE/PAD counts, size). */
o2l_status o2l_inspect(const char *path, FILE *out, char *err, size_t errlen);

/* Prints the closing report of a conversion. */
void o2l_report_print(const o2l_report *rep, FILE *out);
void o2l_report_free(o2l_report *rep);

#ifdef __cplusplus
}
#endif
#endif
