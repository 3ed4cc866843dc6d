/* ir.h - the graph every stage reads and writes.
 *
 * One Graph type serves both ends of the pipeline:
 *   - an ONNX graph (kind GRAPH_ONNX): node->op is an OnnxOp from
 *     ops/ops.def, attributes are the ONNX ones, shapes are logical (NCHW);
 *   - a TFLite graph (kind GRAPH_TFL): node->op is a TflOp from
 *     tfl/tfl_ops.def, options are typed (TflOptions), shapes are physical
 *     (NHWC) and tensors may carry quantization parameters.
 * Lowering (lower/lower.c) reads the first and builds the second.
 *
 * Values and nodes are arena-allocated, so pointers to them stay valid as
 * the graph grows; g->values[i]->id == i.  Passes mark nodes dead and call
 * graph_compact() once; producer/consumer counts are recomputed by
 * graph_uses().
 */
#ifndef O2L_IR_H
#define O2L_IR_H

#include "base.h"

/* Quantization parameters of a TFLite tensor: real = scale * (q - zp). */
typedef struct Quant {
  int n;          /* 1 = per-tensor, else one per slice of `axis` */
  float *scale;
  int64_t *zp;
  int axis;       /* quantized_dimension */
  float min, max; /* calibrated range (informative), valid if has_range */
  int has_range;
} Quant;

typedef struct Value {
  int id;
  const char *name;
  DType dtype;
  int rank;                     /* -1 = unknown (shape inference fills it) */
  int64_t dims[O2L_MAX_RANK];
  /* Constant payload, row-major little-endian, NULL for activations.  May
   * point into the mmapped model (unaligned): read it with load_*(). */
  const void *data;
  size_t nbytes;
  Quant *quant;                 /* TFLite tensors only; NULL = float */
  /* Maintained by graph_uses(): */
  struct Node *producer;        /* NULL for inputs and constants */
  int nuses;                    /* consumer slots (a node using it twice counts 2) */
  unsigned char is_input, is_output;
  unsigned char is_variable;    /* TFLite variable tensor (LSTM state) */
  /* TFLite graph inputs/outputs: the tensor stores the ONNX value
   * transposed by io_perm (channels-last or identity), so data given in
   * the ONNX layout (calibration samples) can be mapped onto it. */
  unsigned char has_io_perm;
  unsigned char io_perm[O2L_MAX_RANK];
} Value;

typedef enum {
  AT_UNDEF = 0,
  AT_FLOAT = 1,
  AT_INT = 2,
  AT_STRING = 3,
  AT_TENSOR = 4,
  AT_GRAPH = 5,
  AT_FLOATS = 6,
  AT_INTS = 7,
  AT_STRINGS = 8,
  AT_TENSORS = 9,
  AT_GRAPHS = 10,
  AT_SPARSE_TENSOR = 11
} AttrType;

typedef struct Attr {
  const char *name;
  AttrType type;
  float f;
  int64_t i;
  const char *s;       /* NUL-terminated copy of a STRING attribute */
  int n;               /* element count of FLOATS / INTS / STRINGS */
  const float *floats;
  const int64_t *ints;
  const char **strings;
  Value *t;            /* TENSOR attribute, as a constant value */
} Attr;

#include "tfl/tfl_options.h"

typedef struct Node {
  int id;
  int op;               /* OnnxOp or TflOp, by graph kind */
  const char *name;     /* ONNX node name (TFLite: the ONNX node it came from) */
  const char *op_type;  /* ONNX op_type string as read (for messages) */
  const char *domain;   /* ONNX domain, "" for ai.onnx */
  int nin, nout;
  Value **in;           /* NULL entries = omitted optional inputs */
  Value **out;
  int nattrs;
  Attr *attrs;          /* ONNX nodes */
  TflOptions opt;       /* TFLite nodes */
  int version;          /* TFLite operator version (0 = let the writer decide) */
  bool dead;
} Node;

typedef enum { GRAPH_ONNX, GRAPH_TFL } GraphKind;

typedef struct Graph {
  GraphKind kind;
  Arena *arena;
  Value **values;
  int nvalues, cvalues;
  Node **nodes;          /* in topological order after graph_toposort() */
  int nnodes, cnodes;
  Value **inputs;        /* runtime inputs, in model order */
  int ninputs;
  Value **outputs;
  int noutputs;
  int opset;             /* ONNX: version of the default domain */
  const char *producer;  /* ONNX producer_name + version, for messages */
} Graph;

/* Allocation failures inside these functions are reported through cx.
 * Node, value and attribute memory is the arena's; graph_release() frees
 * the growable pointer arrays. */
Graph *graph_new(Ctx *cx, GraphKind kind);
void graph_release(Graph *g);
/* A new activation value (name borrowed); NULL on error. */
Value *graph_add_value(Ctx *cx, Graph *g, const char *name, DType t, int rank,
                       const int64_t *dims);
/* A constant value; data is borrowed (must outlive the graph). */
Value *graph_add_const(Ctx *cx, Graph *g, const char *name, DType t, int rank,
                       const int64_t *dims, const void *data, size_t nbytes);
/* A new node; the in / out lists are copied (each with room for one more
 * entry).  NULL on error. */
Node *graph_add_node(Ctx *cx, Graph *g, int op, const char *name, int nin,
                     Value *const *in, int nout, Value *const *out);
/* The graph's inputs / outputs become v[0..n) (copied), each marked
 * is_input / is_output. */
Status graph_set_inputs(Ctx *cx, Graph *g, int n, Value *const *v);
Status graph_set_outputs(Ctx *cx, Graph *g, int n, Value *const *v);

/* Recomputes producer and nuses of every value. */
void graph_uses(Graph *g);
/* Drops dead nodes and values nothing refers to; renumbers ids. */
void graph_compact(Graph *g);
/* Sorts nodes so producers come first; error on a cycle. */
Status graph_toposort(Ctx *cx, Graph *g);
/* Marks nodes whose outputs reach no graph output dead; returns how many. */
int graph_dce(Graph *g);
/* Replaces every use of `from` by `to` (including graph outputs). */
void graph_replace_uses(Graph *g, Value *from, Value *to);
/* Nodes that read v, written into out (up to max); returns the count. */
int graph_consumers(const Graph *g, const Value *v, Node **out, int max);
/* Replaces n's inputs by in[0..nin) (the list is copied into the arena);
 * false when out of memory, n unchanged (the caller records the error). */
bool node_set_inputs(Graph *g, Node *n, int nin, Value *const *in);

/* ---- value helpers ---------------------------------------------------- */

static inline bool value_is_const(const Value *v) { return v && v->data; }
int64_t value_numel(const Value *v);   /* -1 if the shape is unknown */
bool value_same_shape(const Value *a, const Value *b); /* rank and dims */
/* True when v is a constant holding one float element, its value in *out. */
bool value_float_scalar(const Value *v, double *out);
/* v's dims for messages, as dims_str writes them ("unknown" when the shape
 * is), into buf of n bytes; returns buf. */
const char *value_shape_str(const Value *v, char *buf, size_t n);

/* ---- attribute helpers (ONNX nodes) ----------------------------------- */

/* The attribute `name` of n, or NULL.  The typed getters give dflt when
 * it is absent or of another type (node_attr_float also reads an INT). */
const Attr *node_attr(const Node *n, const char *name);
int64_t node_attr_int(const Node *n, const char *name, int64_t dflt);
float node_attr_float(const Node *n, const char *name, float dflt);
const char *node_attr_str(const Node *n, const char *name, const char *dflt);
/* INTS attribute: count in *n (0 if absent) and the array. */
const int64_t *node_attr_ints(const Node *n, const char *name, int *count);
/* Sets (replacing or adding) an INTS / INT / FLOAT attribute; the values
 * are copied into the arena. */
Status node_set_attr_ints(Ctx *cx, Node *n, const char *name,
                          const int64_t *v, int count);
Status node_set_attr_int(Ctx *cx, Node *n, const char *name, int64_t v);
Status node_set_attr_float(Ctx *cx, Node *n, const char *name, float v);

#endif
