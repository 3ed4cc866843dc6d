/* onnx.h - reading an ONNX model into a Graph (kind GRAPH_ONNX).
 *
 * The file is mmapped and constant tensor bytes are left in place (zero
 * copy): Value.data of an initializer points into the mapping (or into an
 * external-data file's mapping), so the OnnxFile must outlive the graph.
 * Every length, index and count read from the file is checked before use;
 * a malformed file gives O2L_ERR_PARSE with the byte offset and what was
 * expected.
 */
#ifndef O2L_ONNX_H
#define O2L_ONNX_H

#include "ir.h"

typedef struct OnnxFile OnnxFile;

/* Loads `path`.  Node ops are OnnxOp values (ops/ops.h) or -1 for an
 * operator we do not know (op_type/domain keep the strings, so the caller
 * can list every unsupported node at once).  Graph inputs exclude
 * initializers.  Symbolic input dimensions are fixed from
 * cx->opt->input_shapes ("NAME=1,3,224,224"); a symbolic first dimension
 * without one becomes 1 with a notice; any other symbolic dimension is an
 * error asking for --input-shape.  Opset imports: g->opset is the version
 * of the default domain. */
Status onnx_load(Ctx *cx, const char *path, Graph **out, OnnxFile **file);

/* Unmaps the model and any external data files. */
void onnx_close(OnnxFile *f);

/* Says the bytes [p, p+n) of a mapping will not be read again (a constant
 * that was copied and transformed), so the pages can leave memory. */
void onnx_release(OnnxFile *f, const void *p, size_t n);

#endif
