/* irb.h - building small ONNX graphs in C for the shape, fold and pass
 * tests: graph inputs, constants (copied into the arena, optionally
 * unaligned), nodes with hand-made attributes, and running inference. */
#ifndef O2L_IRB_H
#define O2L_IRB_H
#include <stdarg.h>
#include <string.h>

#include "check.h"
#include "ops/opattr.h"
#include "pass/pass.h"

typedef struct TB {
  Arena a;
  Ctx cx;
  Graph *g;
} TB;

static inline void tb_init(TB *t, int opset) {
  arena_init(&t->a);
  ctx_init(&t->cx, &t->a, NULL, NULL);
  t->g = graph_new(&t->cx, GRAPH_ONNX);
  t->g->opset = opset;
}

static inline void tb_free(TB *t) {
  graph_release(t->g);
  arena_free(&t->a);
}

/* Clears the recorded error so one graph can test several failures. */
static inline void tb_clear(TB *t) {
  t->cx.status = O2L_OK;
  t->cx.msg[0] = 0;
}

static inline Value *tb_input(TB *t, const char *name, DType dt, int rank,
                              const int64_t *dims) {
  Value *v = graph_add_value(&t->cx, t->g, name, dt, rank, dims);
  v->is_input = 1;
  Value **arr = arena_alloc(&t->a, sizeof(Value *) * (size_t)(t->g->ninputs + 1), 8);
  if (t->g->ninputs)
    memcpy(arr, t->g->inputs, sizeof(Value *) * (size_t)t->g->ninputs);
  arr[t->g->ninputs++] = v;
  t->g->inputs = arr;
  return v;
}

static inline void tb_output(TB *t, Value *v) {
  Value **arr = arena_alloc(&t->a, sizeof(Value *) * (size_t)(t->g->noutputs + 1), 8);
  if (t->g->noutputs)
    memcpy(arr, t->g->outputs, sizeof(Value *) * (size_t)t->g->noutputs);
  arr[t->g->noutputs++] = v;
  t->g->outputs = arr;
  v->is_output = 1;
}

/* A constant whose bytes are copied into the arena at offset `skew` from
 * an aligned address (skew 1 makes every element unaligned); data NULL:
 * zeros. */
static inline Value *tb_const_skew(TB *t, const char *name, DType dt, int rank,
                                   const int64_t *dims, const void *data,
                                   size_t skew) {
  int64_t k = 1;
  for (int i = 0; i < rank; i++)
    k *= dims[i];
  size_t nb = (size_t)k * dtype_size(dt);
  unsigned char *p = arena_alloc(&t->a, nb + skew + 1, 16);
  if (data)
    memcpy(p + skew, data, nb);
  return graph_add_const(&t->cx, t->g, name, dt, rank, dims, p + skew, nb);
}

static inline Value *tb_const(TB *t, const char *name, DType dt, int rank,
                              const int64_t *dims, const void *data) {
  return tb_const_skew(t, name, dt, rank, dims, data, 0);
}

static inline Value *tb_ints(TB *t, const char *name, int n, const int64_t *v) {
  int64_t d = n;
  return tb_const(t, name, DT_I64, 1, &d, v);
}

static inline Value *tb_scalar_i64(TB *t, const char *name, int64_t v) {
  return tb_const(t, name, DT_I64, 0, NULL, &v);
}

static inline Value *tb_scalar_f32(TB *t, const char *name, float v) {
  return tb_const(t, name, DT_F32, 0, NULL, &v);
}

/* Attribute constructors; arrays are copied into the arena by tb_node. */
static inline Attr A_i(const char *name, int64_t v) {
  Attr a = {0};
  a.name = name;
  a.type = AT_INT;
  a.i = v;
  return a;
}
static inline Attr A_f(const char *name, float v) {
  Attr a = {0};
  a.name = name;
  a.type = AT_FLOAT;
  a.f = v;
  return a;
}
static inline Attr A_s(const char *name, const char *s) {
  Attr a = {0};
  a.name = name;
  a.type = AT_STRING;
  a.s = s;
  return a;
}
static inline Attr A_is(const char *name, int n, const int64_t *v) {
  Attr a = {0};
  a.name = name;
  a.type = AT_INTS;
  a.n = n;
  a.ints = v;
  return a;
}
static inline Attr A_fs(const char *name, int n, const float *v) {
  Attr a = {0};
  a.name = name;
  a.type = AT_FLOATS;
  a.n = n;
  a.floats = v;
  return a;
}
static inline Attr A_t(const char *name, Value *v) {
  Attr a = {0};
  a.name = name;
  a.type = AT_TENSOR;
  a.t = v;
  return a;
}

#define IV(...) ((const int64_t[]){__VA_ARGS__})
#define NI(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define INTS(name, ...) A_is(name, NI(__VA_ARGS__), IV(__VA_ARGS__))

/* A node of op_type with inputs `in` (NULL entries: omitted) and nout new
 * outputs named name:0, name:1...; returns the node. */
static inline Node *tb_node(TB *t, const char *op_type, const char *name,
                            int nin, Value *const *in, int nout, int nattr,
                            const Attr *attrs) {
  Value *outs[16];
  for (int i = 0; i < nout && i < 16; i++)
    outs[i] = graph_add_value(&t->cx, t->g,
                              arena_printf(&t->a, "%s:%d", name, i), DT_UNDEF,
                              -1, NULL);
  Node *n = graph_add_node(&t->cx, t->g, op_lookup(op_type), name, nin, in,
                           nout, outs);
  n->op_type = op_type;
  n->nattrs = nattr;
  n->attrs = arena_alloc(&t->a, sizeof(Attr) * (size_t)(nattr + 1), 8);
  for (int i = 0; i < nattr; i++) {
    Attr a = attrs[i];
    if (a.type == AT_INTS && a.n) {
      int64_t *c = arena_alloc(&t->a, sizeof(int64_t) * (size_t)a.n, 8);
      memcpy(c, a.ints, sizeof(int64_t) * (size_t)a.n);
      a.ints = c;
    }
    if (a.type == AT_FLOATS && a.n) {
      float *c = arena_alloc(&t->a, sizeof(float) * (size_t)a.n, 8);
      memcpy(c, a.floats, sizeof(float) * (size_t)a.n);
      a.floats = c;
    }
    n->attrs[i] = a;
  }
  return n;
}

/* One-output node; returns its output value. */
static inline Value *tb_op(TB *t, const char *op_type, const char *name,
                           int nin, Value *const *in, int nattr,
                           const Attr *attrs) {
  return tb_node(t, op_type, name, nin, in, 1, nattr, attrs)->out[0];
}

#define INS(...) (int)(sizeof((Value *[]){__VA_ARGS__}) / sizeof(Value *)), \
                 ((Value *[]){__VA_ARGS__})
#define ATTRS(...) (int)(sizeof((Attr[]){__VA_ARGS__}) / sizeof(Attr)), \
                   ((Attr[]){__VA_ARGS__})
#define NOATTR 0, NULL

/* Infers (and folds what it can) the whole graph. */
static inline Status tb_infer(TB *t) {
  Status s = graph_toposort(&t->cx, t->g);
  if (s != O2L_OK)
    return s;
  return pass_infer_shapes(&t->cx, t->g);
}

static inline bool has_shape(const Value *v, int rank, const int64_t *dims) {
  if (v->rank != rank)
    return false;
  for (int i = 0; i < rank; i++)
    if (v->dims[i] != dims[i])
      return false;
  return true;
}
#define SHAPE(v, ...) has_shape((v), NI(__VA_ARGS__), IV(__VA_ARGS__))

static inline bool msg_has(const TB *t, const char *s) {
  bool ok = strstr(t->cx.msg, s) != NULL;
  if (!ok)
    fprintf(stderr, "  message was: %s\n  expected to contain: %s\n",
            t->cx.msg, s);
  return ok;
}

#endif
