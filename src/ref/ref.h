/* ref.h - float32 reference kernels for TFLite operators, and a runner that
 * executes a whole GRAPH_TFL graph with them.
 *
 * The runner is what calibration (quantization) and conversion checks use:
 * ref_prepare() validates every operator once (kernel present, dtypes,
 * shapes consistent with TFLite's semantics), folds operators whose inputs
 * are all constant (e.g. DEQUANTIZE of float16 weights), plans one
 * activation block with buffers reused across lifetimes, and pre-packs
 * weights for the GEMM.  ref_run() then only computes: no allocation, no
 * validation.  Semantics follow LiteRT's float kernels (NHWC, TFLite padding
 * rules, fused activations); tensor shapes are the static ones in the graph.
 *
 * Activations are float32; int32/int64/bool tensors are allowed where an
 * operator reads indices or produces them (GATHER indices, ARG_MAX, CAST,
 * comparisons), and shape operands (axes, perm, paddings, sizes) must be
 * constant.
 */
#ifndef O2L_REF_H
#define O2L_REF_H

#include "ir.h"

typedef struct RefRunner RefRunner;

/* Called for each float tensor the run computes: the graph inputs first,
 * then every float output of each operator right after it ran (operators
 * folded at prepare time, whose inputs are all constant, are not observed:
 * their outputs are constants).  data is valid only during the call. */
typedef void (*RefObserver)(void *user, const Value *v, const float *data,
                            size_t n);

/* Builds a runner for g.  The graph, its constant data and cx must outlive
 * the runner (errors during ref_run are recorded in cx).  On failure the
 * message names the operator and what was expected, and *out is NULL. */
Status ref_prepare(Ctx *cx, const Graph *g, RefRunner **out);

/* Runs the graph once.  inputs[i] holds g->inputs[i] in its physical shape
 * (float32 inputs as float; an int32/int64 input passes its own type through
 * the same pointer).  Returns an error only for data-dependent faults
 * (e.g. a GATHER index out of range). */
Status ref_run(RefRunner *r, const float *const *inputs);

/* g->outputs[i] after the last ref_run (NULL if i is out of range).  An
 * output of another dtype is returned through the same pointer. */
const float *ref_output(RefRunner *r, int i);

/* Any value's data after the last run, if it is still held (constants,
 * graph inputs and outputs always are; intermediate buffers are reused),
 * else NULL.  For tests and debugging. */
const void *ref_value_data(RefRunner *r, const Value *v);

/* fn(user, ...) is called during the following runs (NULL: no more). */
void ref_set_observer(RefRunner *r, RefObserver fn, void *user);

/* Per-operator time of the last runs, for profiling: seconds spent in node
 * i of the graph (0 for folded nodes).  NULL until ref_set_profiling(r, 1). */
void ref_set_profiling(RefRunner *r, int on);
const double *ref_profile(const RefRunner *r);

/* Frees r and everything it holds (r may be NULL); the graph is not
 * touched. */
void ref_free(RefRunner *r);

#endif
