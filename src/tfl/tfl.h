/* tfl.h - writing and reading .tflite files (TFL3 FlatBuffers).
 *
 * The writer takes a Graph of kind GRAPH_TFL: node->op is a TflOp, node->in
 * entries may be NULL for omitted optional inputs (written as -1), tensors
 * carry physical shapes, dtypes, optional quantization and constant data.
 * It writes schema version 3, operator codes with the builtin/deprecated
 * code rule, buffer 0 empty, constant buffers 16-byte aligned, tensor names,
 * a "serving_default" signature naming the graph inputs and outputs by
 * their tensor names, and a "min_runtime_version" metadata entry.  The file
 * is written to a temporary name beside `path` and renamed, so no partial
 * .tflite ever exists.  Constant data is streamed from where it lives, not
 * copied into the builder.
 */
#ifndef O2L_TFL_H
#define O2L_TFL_H

#include "ir.h"

/* Operator version as TF's op_version.cc would give it (node->version if
 * nonzero). */
int tfl_op_version(const Graph *g, const Node *n);

/* Writes g to path as described above; the file's size in *bytes (may be
 * NULL). */
Status tfl_write(Ctx *cx, const Graph *g, const char *path, size_t *bytes);

/* Reads a .tflite into a new GRAPH_TFL graph (subgraph 0).  Constant data
 * points into `buf`, which must outlive the graph.  Every offset is checked
 * against the buffer; errors give the byte offset. */
Status tfl_read(Ctx *cx, const unsigned char *buf, size_t len, Graph **out);

/* Our DType for a TFLite TensorType and back (-1 / DT_UNDEF if none). */
int tfl_type_from_dtype(DType t);
DType tfl_type_to_dtype(int tfl_type);
/* "INT8" for a TensorType number, NULL if unknown. */
const char *tfl_type_name(int tfl_type);

/* Name of any BuiltinOperator code, including ones we never emit ("LSTM");
 * NULL if unknown. */
const char *tfl_builtin_name(int code);

#endif
