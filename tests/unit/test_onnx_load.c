/* test_onnx_load.c - the ONNX reader (src/onnx/) on models built here with
 * a tiny protobuf encoder: ops, attributes, shapes, every way tensor data
 * is carried, external data and its path checks, --input-shape, graph
 * errors, every truncation and byte flip of a small model (under ASan),
 * failed allocations, and the real models in /work/shared/models when
 * they are there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "onnx/onnx.h"
#include "onnx/onnx_priv.h"
#include "ops/ops.h"

/* ---- protobuf encoder ------------------------------------------------- */

typedef struct Buf {
  unsigned char *p;
  size_t n, cap;
} Buf;

static void b_raw(Buf *b, const void *p, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
  }
  if (n)
    memcpy(b->p + b->n, p, n);
  b->n += n;
}
static void b_varint(Buf *b, uint64_t v) {
  do {
    unsigned char c = (unsigned char)(v & 0x7f);
    v >>= 7;
    if (v)
      c |= 0x80;
    b_raw(b, &c, 1);
  } while (v);
}
static void b_key(Buf *b, int field, int wire) {
  b_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}
static void b_int(Buf *b, int field, int64_t v) {
  b_key(b, field, 0);
  b_varint(b, (uint64_t)v);
}
static void b_bytes(Buf *b, int field, const void *p, size_t n) {
  b_key(b, field, 2);
  b_varint(b, n);
  b_raw(b, p, n);
}
static void b_str(Buf *b, int field, const char *s) { b_bytes(b, field, s, strlen(s)); }
static void b_f32(Buf *b, int field, float f) {
  b_key(b, field, 5);
  b_raw(b, &f, 4);
}
/* Appends sub as a nested message and frees it. */
static void b_msg(Buf *b, int field, Buf *sub) {
  b_bytes(b, field, sub->p, sub->n);
  free(sub->p);
  memset(sub, 0, sizeof *sub);
}
static void b_packed_ints(Buf *b, int field, const int64_t *v, int n) {
  Buf t = {0};
  for (int i = 0; i < n; i++)
    b_varint(&t, (uint64_t)v[i]);
  b_msg(b, field, &t);
}
static void b_packed_f32(Buf *b, int field, const float *v, int n) {
  b_bytes(b, field, v, sizeof(float) * (size_t)n);
}

/* ONNX pieces. */
enum { T_FLOAT = 1, T_UINT8 = 2, T_INT8 = 3, T_UINT16 = 4, T_INT16 = 5,
       T_INT32 = 6, T_INT64 = 7, T_STRING = 8, T_BOOL = 9, T_FLOAT16 = 10,
       T_DOUBLE = 11, T_UINT32 = 12, T_UINT64 = 13, T_BFLOAT16 = 16 };

/* TensorProto header: name, data_type, dims (packed). */
static Buf tensor_head(const char *name, int dtype, int rank, const int64_t *dims) {
  Buf t = {0};
  if (rank)
    b_packed_ints(&t, 1, dims, rank);
  b_int(&t, 2, dtype);
  if (name)
    b_str(&t, 8, name);
  return t;
}

/* ValueInfoProto: dims < 0 are symbolic, named by params[i] (or none). */
static Buf value_info(const char *name, int elem, int rank, const int64_t *dims,
                      const char *const *params) {
  Buf shape = {0}, tt = {0}, type = {0}, vi = {0};
  for (int i = 0; i < rank; i++) {
    Buf d = {0};
    if (dims[i] >= 0)
      b_int(&d, 1, dims[i]);
    else if (params && params[i])
      b_str(&d, 2, params[i]);
    b_msg(&shape, 1, &d);
  }
  b_int(&tt, 1, elem);
  if (rank >= 0)
    b_msg(&tt, 2, &shape);
  else
    free(shape.p);
  b_msg(&type, 1, &tt);
  b_str(&vi, 1, name);
  b_msg(&vi, 2, &type);
  return vi;
}

static Buf node(const char *op, const char *name, const char *ins,
                const char *outs) {
  /* ins/outs: comma-separated names; "" between commas = omitted. */
  Buf n = {0};
  const char *lists[2] = {ins, outs};
  for (int k = 0; k < 2; k++) {
    const char *s = lists[k];
    while (s && *s) {
      size_t len = strcspn(s, ",");
      b_bytes(&n, k + 1, s, len);
      s += len;
      if (*s == ',') {
        s++;
        if (!*s)
          b_bytes(&n, k + 1, "", 0);
      }
    }
  }
  if (name)
    b_str(&n, 3, name);
  b_str(&n, 4, op);
  return n;
}

static void attr_int(Buf *n, const char *name, int64_t v) {
  Buf a = {0};
  b_str(&a, 1, name);
  b_int(&a, 3, v);
  b_int(&a, 20, 2);
  b_msg(n, 5, &a);
}
static void attr_float(Buf *n, const char *name, float v) {
  Buf a = {0};
  b_str(&a, 1, name);
  b_f32(&a, 2, v);
  b_int(&a, 20, 1);
  b_msg(n, 5, &a);
}
static void attr_str(Buf *n, const char *name, const char *v) {
  Buf a = {0};
  b_str(&a, 1, name);
  b_str(&a, 4, v);
  b_int(&a, 20, 3);
  b_msg(n, 5, &a);
}
static void attr_ints(Buf *n, const char *name, const int64_t *v, int k, bool packed) {
  Buf a = {0};
  b_str(&a, 1, name);
  if (packed)
    b_packed_ints(&a, 8, v, k);
  else
    for (int i = 0; i < k; i++)
      b_int(&a, 8, v[i]);
  b_int(&a, 20, 7);
  b_msg(n, 5, &a);
}

static Buf model(Buf *graph, int64_t opset, const char *domain) {
  Buf m = {0}, op = {0};
  b_int(&m, 1, 7);
  b_str(&m, 2, "pytorch");
  b_str(&m, 3, "1.13.1");
  b_msg(&m, 7, graph);
  if (opset >= 0) {
    if (domain)
      b_str(&op, 1, domain);
    b_int(&op, 2, opset);
    b_msg(&m, 8, &op);
  }
  return m;
}

/* ---- loading ------------------------------------------------------------ */

static char tmpdir[64];

typedef struct Loaded {
  Arena arena;
  Ctx cx;
  o2l_report rep;
  o2l_options opt;
  Graph *g;
  OnnxFile *f;
  Status st;
} Loaded;

static void write_file(const char *path, const void *p, size_t n) {
  FILE *fp = fopen(path, "wb");
  if (!fp) {
    perror(path);
    exit(1);
  }
  if (n)
    fwrite(p, 1, n, fp);
  fclose(fp);
}

static void unload(Loaded *l) {
  graph_release(l->g);
  onnx_close(l->f);
  o2l_report_free(&l->rep);
  arena_free(&l->arena);
  memset(l, 0, sizeof *l);
}

/* Writes bytes to a fresh temp file in tmpdir and loads it. */
static Status load_bytes(Loaded *l, const void *p, size_t n,
                         const char *const *shapes, int nshapes) {
  memset(l, 0, sizeof *l);
  char path[128];
  snprintf(path, sizeof path, "%s/modelXXXXXX", tmpdir);
  int fd = mkstemp(path);
  if (fd < 0) {
    perror("mkstemp");
    exit(1);
  }
  if (n && write(fd, p, n) != (ssize_t)n) {
    perror("write");
    exit(1);
  }
  close(fd);
  arena_init(&l->arena);
  l->opt.input_shapes = shapes;
  l->opt.n_input_shapes = nshapes;
  ctx_init(&l->cx, &l->arena, &l->opt, &l->rep);
  l->st = onnx_load(&l->cx, path, &l->g, &l->f);
  unlink(path);
  if (l->st == O2L_OK)
    CHECK(l->g && l->f && l->cx.status == O2L_OK);
  else
    CHECK(!l->g && !l->f && l->cx.status == l->st && l->cx.msg[0]);
  return l->st;
}

static Status load_model(Loaded *l, Buf *m) {
  Status st = load_bytes(l, m->p, m->n, NULL, 0);
  return st;
}

static bool in_mapping(const OnnxFile *f, int map, const void *p, size_t n) {
  if (map >= f->nmaps)
    return false;
  const unsigned char *b = f->maps[map].base, *q = p;
  return q >= b && q + n <= b + f->maps[map].size;
}

static bool has_line(const o2l_report *rep, const char *needle) {
  for (int i = 0; i < rep->n_lines; i++)
    if (strstr(rep->lines[i], needle))
      return true;
  return false;
}

/* ---- the conv-like model ------------------------------------------------ */

static const float W_DATA[4 * 3 * 3 * 3] = {0.5f, -1.0f, 2.0f}; /* rest 0 */
static const float B_DATA[4] = {0.25f, -0.5f, 1.5f, 3.0f};

/* x[batch,3,8,8] -> Conv(W raw, B packed float_data) -> Clip(c, "", max)
 * -> Relu -> MyOp (com.example) -> y.  The Relu comes before the Clip that
 * feeds it, a Constant node supplies `max`, one node is unnamed. */
static Buf conv_graph(void) {
  Buf g = {0}, t, n;
  int64_t wd[4] = {4, 3, 3, 3}, bd[1] = {4};

  n = node("Conv", "conv1", "x,W,B", "c");
  int64_t ks[2] = {3, 3}, pads[4] = {1, 1, 1, 1}, st[2] = {1, 1};
  attr_ints(&n, "kernel_shape", ks, 2, true);
  attr_ints(&n, "pads", pads, 4, false);
  attr_ints(&n, "strides", st, 2, true);
  attr_int(&n, "group", 1);
  attr_str(&n, "auto_pad", "NOTSET");
  b_msg(&g, 1, &n);

  n = node("Relu", NULL, "clipped", "r"); /* unnamed, uses a later output */
  b_msg(&g, 1, &n);

  n = node("Clip", "clip", "c,,max", "clipped");
  b_msg(&g, 1, &n);

  n = node("Constant", "k", "", "max");
  Buf a = {0};
  t = tensor_head(NULL, T_FLOAT, 0, NULL);
  b_f32(&t, 4, 6.0f);
  b_str(&a, 1, "value");
  b_msg(&a, 5, &t);
  b_int(&a, 20, 4);
  b_msg(&n, 5, &a);
  b_msg(&g, 1, &n);

  n = node("MyOp", "mine", "r", "y");
  b_str(&n, 7, "com.example");
  attr_float(&n, "alpha", 0.125f);
  b_msg(&g, 1, &n);

  b_str(&g, 2, "torch_jit");
  t = tensor_head("W", T_FLOAT, 4, wd);
  b_bytes(&t, 9, W_DATA, sizeof W_DATA);
  b_msg(&g, 5, &t);
  t = tensor_head("B", T_FLOAT, 1, bd);
  b_packed_f32(&t, 4, B_DATA, 4);
  b_msg(&g, 5, &t);

  int64_t xd[4] = {-1, 3, 8, 8};
  const char *xp[4] = {"batch", NULL, NULL, NULL};
  Buf vi = value_info("x", T_FLOAT, 4, xd, xp);
  b_msg(&g, 11, &vi);
  /* An old exporter also lists the initializer W as an input. */
  vi = value_info("W", T_FLOAT, 4, wd, NULL);
  b_msg(&g, 11, &vi);
  int64_t yd[2] = {7, 7};
  vi = value_info("y", T_FLOAT, 2, yd, NULL);
  b_msg(&g, 12, &vi);
  return g;
}

static Buf conv_model(void) {
  Buf g = conv_graph();
  return model(&g, 13, NULL);
}

static void test_conv_model(void) {
  Buf m = conv_model();
  Loaded l;
  CHECK(load_model(&l, &m) == O2L_OK);
  free(m.p);
  if (l.st != O2L_OK) {
    fprintf(stderr, "  %s\n", l.cx.msg);
    unload(&l);
    return;
  }
  Graph *g = l.g;
  CHECK(g->kind == GRAPH_ONNX && g->opset == 13);
  CHECK(strcmp(g->producer, "pytorch 1.13.1") == 0);
  CHECK(g->nnodes == 5);
  const Node *conv = g->nodes[0], *relu = g->nodes[1], *clip = g->nodes[2],
             *k = g->nodes[3], *mine = g->nodes[4];
  CHECK(conv->op == OP_Conv && strcmp(conv->name, "conv1") == 0);
  CHECK(strcmp(conv->op_type, "Conv") == 0 && strcmp(conv->domain, "") == 0);
  CHECK(relu->op == OP_Relu && strcmp(relu->name, "Relu_1") == 0);
  CHECK(clip->op == op_lookup("Clip") && k->op == op_lookup("Constant"));
  CHECK(mine->op == -1 && strcmp(mine->op_type, "MyOp") == 0 &&
        strcmp(mine->domain, "com.example") == 0);

  /* Attributes. */
  int n = 0;
  const int64_t *ks = node_attr_ints(conv, "kernel_shape", &n);
  CHECK(n == 2 && ks && ks[0] == 3 && ks[1] == 3);
  const int64_t *pads = node_attr_ints(conv, "pads", &n);
  CHECK(n == 4 && pads && pads[3] == 1);
  CHECK(node_attr_int(conv, "group", 0) == 1);
  CHECK(strcmp(node_attr_str(conv, "auto_pad", ""), "NOTSET") == 0);
  CHECK(node_attr_float(mine, "alpha", 0) == 0.125f);
  CHECK(conv->nattrs == 5 && mine->nattrs == 1);
  const Attr *kv = node_attr(k, "value");
  CHECK(kv && kv->type == AT_TENSOR && kv->t && value_is_const(kv->t));
  if (kv && kv->t) {
    CHECK(kv->t->dtype == DT_F32 && kv->t->rank == 0 && kv->t->nbytes == 4);
    CHECK(load_f32(kv->t->data, 0) == 6.0f);
  }

  /* Wiring: omitted optional input, unsorted use, outputs. */
  CHECK(clip->nin == 3 && clip->in[0] == conv->out[0] && clip->in[1] == NULL &&
        clip->in[2] == k->out[0]);
  CHECK(relu->in[0] == clip->out[0] && mine->in[0] == relu->out[0]);

  /* Inputs: the initializer W is not one; batch became 1 with a notice. */
  CHECK(g->ninputs == 1 && g->noutputs == 1);
  Value *x = g->inputs[0];
  CHECK(strcmp(x->name, "x") == 0 && x->dtype == DT_F32 && x->rank == 4 &&
        x->dims[0] == 1 && x->dims[1] == 3 && x->dims[3] == 8 && x->is_input);
  CHECK(has_line(&l.rep, "input 'x': dimension 0 ('batch') set to 1"));
  Value *y = g->outputs[0];
  CHECK(y == mine->out[0] && y->dtype == DT_F32 && y->rank == -1 && y->is_output);
  CHECK(conv->out[0]->rank == -1 && conv->out[0]->dtype == DT_UNDEF);

  /* W: zero copy out of the mapping.  B: decoded float_data. */
  Value *w = conv->in[1], *b = conv->in[2];
  CHECK(w && strcmp(w->name, "W") == 0 && w->rank == 4 && w->dims[0] == 4);
  CHECK(w->nbytes == sizeof W_DATA && in_mapping(l.f, 0, w->data, w->nbytes));
  CHECK(memcmp(w->data, W_DATA, sizeof W_DATA) == 0);
  CHECK(b && b->dtype == DT_F32 && b->nbytes == 16 && !in_mapping(l.f, 0, b->data, 1));
  CHECK(load_f32(b->data, 0) == 0.25f && load_f32(b->data, 3) == 3.0f);
  onnx_release(l.f, w->data, w->nbytes); /* smaller than a page: no-op */
  CHECK(memcmp(w->data, W_DATA, sizeof W_DATA) == 0);
  unload(&l);
}

/* ---- tensor encodings --------------------------------------------------- */

/* A model whose only node is Identity(T) -> y, with T the initializer. */
static Buf model_with_tensor(Buf *t) {
  Buf g = {0};
  Buf n = node("Identity", "id", "T", "y");
  b_msg(&g, 1, &n);
  b_msg(&g, 5, t);
  Buf vi = value_info("y", T_FLOAT, -1, NULL, NULL);
  b_msg(&g, 12, &vi);
  return model(&g, 13, "ai.onnx");
}

/* Loads the tensor; returns its value (l stays loaded) or NULL. */
static const Value *load_tensor(Loaded *l, Buf *t) {
  Buf m = model_with_tensor(t);
  load_model(l, &m);
  free(m.p);
  if (l->st != O2L_OK)
    return NULL;
  return l->g->nodes[0]->in[0];
}

static void expect_tensor_error(Buf *t, Status st, const char *needle) {
  Loaded l;
  const Value *v = load_tensor(&l, t);
  CHECK(!v && l.st == st);
  if (needle && !strstr(l.cx.msg, needle)) {
    CHECK(!"message");
    fprintf(stderr, "  wanted '%s' in: %s\n", needle, l.cx.msg);
  }
  unload(&l);
}

static void test_tensor_encodings(void) {
  Loaded l;
  int64_t d3[1] = {3}, d23[2] = {2, 3};

  /* float_data unpacked. */
  Buf t = tensor_head("T", T_FLOAT, 1, d3);
  b_f32(&t, 4, 1.5f);
  b_f32(&t, 4, -2.0f);
  b_f32(&t, 4, 8.0f);
  const Value *v = load_tensor(&l, &t);
  CHECK(v && v->dtype == DT_F32 && v->nbytes == 12);
  if (v)
    CHECK(load_f32(v->data, 0) == 1.5f && load_f32(v->data, 2) == 8.0f);
  unload(&l);

  /* float_data split over a packed run and an unpacked element. */
  t = tensor_head("T", T_FLOAT, 1, d3);
  float two[2] = {1, 2};
  b_packed_f32(&t, 4, two, 2);
  b_f32(&t, 4, 3.0f);
  v = load_tensor(&l, &t);
  CHECK(v && load_f32(v->data, 1) == 2.0f && load_f32(v->data, 2) == 3.0f);
  unload(&l);

  /* int64_data packed and unpacked, with negatives. */
  int64_t i64[6] = {-1, 0, INT64_MAX, INT64_MIN, 5, -300};
  for (int packed = 0; packed < 2; packed++) {
    t = tensor_head("T", T_INT64, 2, d23);
    if (packed)
      b_packed_ints(&t, 7, i64, 6);
    else
      for (int i = 0; i < 6; i++)
        b_int(&t, 7, i64[i]);
    v = load_tensor(&l, &t);
    CHECK(v && v->dtype == DT_I64 && v->rank == 2 && v->nbytes == 48);
    for (int i = 0; v && i < 6; i++)
      CHECK(load_i64(v->data, (size_t)i) == i64[i]);
    unload(&l);
  }

  /* int32_data carrying int8 (negative values are 10-byte varints). */
  int64_t i8[3] = {-5, 127, -128};
  t = tensor_head("T", T_INT8, 1, d3);
  b_packed_ints(&t, 5, i8, 3);
  v = load_tensor(&l, &t);
  CHECK(v && v->dtype == DT_I8 && v->nbytes == 3);
  if (v) {
    const int8_t *q = v->data;
    CHECK(q[0] == -5 && q[1] == 127 && q[2] == -128);
  }
  unload(&l);

  /* int32_data carrying float16 bits, unpacked. */
  t = tensor_head("T", T_FLOAT16, 1, d3);
  b_int(&t, 5, 0x3c00); /* 1.0 */
  b_int(&t, 5, 0xc000); /* -2.0 */
  b_int(&t, 5, 0x3800); /* 0.5 */
  v = load_tensor(&l, &t);
  CHECK(v && v->dtype == DT_F16 && v->nbytes == 6);
  if (v)
    CHECK(load_as_f64(v->data, DT_F16, 0) == 1.0 &&
          load_as_f64(v->data, DT_F16, 1) == -2.0 &&
          load_as_f64(v->data, DT_F16, 2) == 0.5);
  unload(&l);

  /* bool, uint8, int16, uint16, int32 via int32_data. */
  int64_t bools[3] = {0, 1, 1};
  t = tensor_head("T", T_BOOL, 1, d3);
  b_packed_ints(&t, 5, bools, 3);
  v = load_tensor(&l, &t);
  CHECK(v && v->dtype == DT_BOOL && v->nbytes == 3 &&
        memcmp(v->data, "\0\1\1", 3) == 0);
  unload(&l);
  int64_t small[3] = {-2, 300, 40000};
  const int types[4] = {T_UINT8, T_INT16, T_UINT16, T_INT32};
  const DType dts[4] = {DT_U8, DT_I16, DT_U16, DT_I32};
  for (int k = 0; k < 4; k++) {
    t = tensor_head("T", types[k], 1, d3);
    b_packed_ints(&t, 5, small, 3);
    v = load_tensor(&l, &t);
    CHECK(v && v->dtype == dts[k] && v->nbytes == 3 * dtype_size(dts[k]));
    if (v && dts[k] == DT_I32)
      CHECK(load_i32(v->data, 0) == -2 && load_i32(v->data, 2) == 40000);
    if (v && dts[k] == DT_I16)
      CHECK(load_as_i64(v->data, DT_I16, 1) == 300);
    unload(&l);
  }

  /* double_data and uint64_data (uint32). */
  t = tensor_head("T", T_DOUBLE, 1, d3);
  double dd[3] = {0.1, -1e300, 3};
  b_bytes(&t, 10, dd, sizeof dd);
  v = load_tensor(&l, &t);
  CHECK(v && v->dtype == DT_F64 && v->nbytes == 24 &&
        load_as_f64(v->data, DT_F64, 1) == -1e300);
  unload(&l);
  t = tensor_head("T", T_UINT32, 1, d3);
  int64_t u32[3] = {1, 0xffffffffll, 7};
  b_packed_ints(&t, 11, u32, 3);
  v = load_tensor(&l, &t);
  CHECK(v && v->dtype == DT_U32 && load_as_i64(v->data, DT_U32, 1) == 0xffffffffll);
  unload(&l);

  /* Empty tensor without data, scalar raw, zero-size raw. */
  int64_t d0[1] = {0};
  t = tensor_head("T", T_INT64, 1, d0);
  v = load_tensor(&l, &t);
  CHECK(v && v->nbytes == 0 && value_is_const(v) && value_numel(v) == 0);
  unload(&l);
  t = tensor_head("T", T_INT64, 0, NULL);
  int64_t one = 42;
  b_bytes(&t, 9, &one, 8);
  v = load_tensor(&l, &t);
  CHECK(v && v->rank == 0 && load_i64(v->data, 0) == 42 &&
        in_mapping(l.f, 0, v->data, 8));
  unload(&l);

  /* Errors, each naming the tensor. */
  t = tensor_head("T", T_FLOAT, 1, d3);
  b_f32(&t, 4, 1);
  expect_tensor_error(&t, O2L_ERR_INVALID, "'T' (float32 3) has 1 values in float_data; its shape needs 3");
  t = tensor_head("T", T_FLOAT, 1, d3);
  b_bytes(&t, 9, "12345678", 8);
  expect_tensor_error(&t, O2L_ERR_INVALID, "'T' (float32 3) has 8 bytes of raw_data; its shape needs 12");
  t = tensor_head("T", T_BFLOAT16, 1, d3);
  b_bytes(&t, 9, "123456", 6);
  expect_tensor_error(&t, O2L_ERR_UNSUPPORTED, "tensor 'T' has data type BFLOAT16 (16)");
  t = tensor_head("T", T_STRING, 1, d3);
  b_str(&t, 6, "a");
  expect_tensor_error(&t, O2L_ERR_UNSUPPORTED, "'T': string tensors are not supported");
  t = tensor_head("T", T_FLOAT, 1, d3);
  expect_tensor_error(&t, O2L_ERR_INVALID, "tensor 'T' (float32 3) has no data");
  t = tensor_head("T", T_INT64, 1, d3);
  b_packed_f32(&t, 4, two, 2);
  b_f32(&t, 4, 3.0f);
  expect_tensor_error(&t, O2L_ERR_INVALID, "carries its values in float_data");
  t = tensor_head("T", T_FLOAT, 1, d3);
  b_bytes(&t, 9, "123456789012", 12);
  b_f32(&t, 4, 3.0f);
  expect_tensor_error(&t, O2L_ERR_INVALID, "more than one place");
  int64_t neg[2] = {2, -3};
  t = tensor_head("T", T_FLOAT, 2, neg);
  expect_tensor_error(&t, O2L_ERR_INVALID, "negative dimension -3");
  int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  t = tensor_head("T", T_FLOAT, 9, nine);
  b_f32(&t, 4, 3.0f);
  expect_tensor_error(&t, O2L_ERR_UNSUPPORTED, "more than 8 dimensions");
  int64_t huge[3] = {1ll << 40, 1ll << 40, 1ll << 40};
  t = tensor_head("T", T_FLOAT, 3, huge);
  expect_tensor_error(&t, O2L_ERR_INVALID, "too large");
  t = tensor_head("T", T_FLOAT, 1, d3);
  b_int(&t, 14, 2);
  expect_tensor_error(&t, O2L_ERR_INVALID, "data_location 2");
  t = tensor_head(NULL, T_FLOAT, 1, d0);
  expect_tensor_error(&t, O2L_ERR_INVALID, "initializer #0");
}

/* ---- external data ------------------------------------------------------- */

static void ext_entry(Buf *t, const char *key, const char *val) {
  Buf e = {0};
  b_str(&e, 1, key);
  b_str(&e, 2, val);
  b_msg(t, 13, &e);
}

static Buf ext_tensor(const char *loc, const char *off, const char *len) {
  int64_t d[2] = {2, 3};
  Buf t = tensor_head("T", T_FLOAT, 2, d);
  if (loc)
    ext_entry(&t, "location", loc);
  if (off)
    ext_entry(&t, "offset", off);
  if (len)
    ext_entry(&t, "length", len);
  b_int(&t, 14, 1);
  return t;
}

static void test_external(void) {
  char side[128], sub[128], subside[160];
  snprintf(side, sizeof side, "%s/weights.bin", tmpdir);
  snprintf(sub, sizeof sub, "%s/sub", tmpdir);
  snprintf(subside, sizeof subside, "%s/sub/w2.bin", tmpdir);
  float data[4 + 6] = {9, 9, 9, 9, 1, 2, 3, 4, 5, 6};
  write_file(side, data, sizeof data);
  mkdir(sub, 0700);
  write_file(subside, data + 4, 24);

  Loaded l;
  Buf t = ext_tensor("weights.bin", "16", "24");
  const Value *v = load_tensor(&l, &t);
  CHECK(v && v->nbytes == 24);
  if (v) {
    CHECK(l.f->nmaps == 2 && in_mapping(l.f, 1, v->data, 24));
    CHECK(load_f32(v->data, 0) == 1.0f && load_f32(v->data, 5) == 6.0f);
  }
  unload(&l);

  /* No length (means all the tensor needs), in a subdirectory. */
  t = ext_tensor("sub/w2.bin", NULL, NULL);
  v = load_tensor(&l, &t);
  CHECK(v && load_f32(v->data, 2) == 3.0f);
  unload(&l);

  /* Two tensors from one file: mapped once. */
  {
    Buf g = {0};
    Buf n = node("Add", "add", "T,U", "y");
    b_msg(&g, 1, &n);
    t = ext_tensor("weights.bin", "16", "24");
    b_msg(&g, 5, &t);
    int64_t d[2] = {2, 3};
    Buf u = tensor_head("U", T_FLOAT, 2, d);
    ext_entry(&u, "location", "weights.bin");
    b_int(&u, 14, 1);
    b_msg(&g, 5, &u);
    Buf vi = value_info("y", T_FLOAT, -1, NULL, NULL);
    b_msg(&g, 12, &vi);
    Buf m = model(&g, 13, NULL);
    CHECK(load_model(&l, &m) == O2L_OK);
    free(m.p);
    CHECK(l.f && l.f->nmaps == 2);
    if (l.g)
      CHECK(load_f32(l.g->nodes[0]->in[1]->data, 0) == 9.0f);
    unload(&l);
  }

  t = ext_tensor("../weights.bin", NULL, NULL);
  expect_tensor_error(&t, O2L_ERR_INVALID, "'../weights.bin' is not a relative path");
  t = ext_tensor("sub/../../weights.bin", NULL, NULL);
  expect_tensor_error(&t, O2L_ERR_INVALID, "'..' are refused");
  t = ext_tensor("sub\\..\\weights.bin", NULL, NULL);
  expect_tensor_error(&t, O2L_ERR_INVALID, "not a relative path");
  t = ext_tensor(side, NULL, NULL); /* absolute */
  expect_tensor_error(&t, O2L_ERR_INVALID, "absolute");
  t = ext_tensor("weights.bin", "24", "24");
  expect_tensor_error(&t, O2L_ERR_INVALID, "lie outside 'weights.bin', which has 40 bytes");
  t = ext_tensor("weights.bin", "18446744073709551615", "24");
  expect_tensor_error(&t, O2L_ERR_INVALID, NULL);
  t = ext_tensor("weights.bin", "-1", "24");
  expect_tensor_error(&t, O2L_ERR_INVALID, "offset '-1' is not a number");
  t = ext_tensor("weights.bin", "0", "20");
  expect_tensor_error(&t, O2L_ERR_INVALID, "needs 24 bytes but its external data length is 20");
  t = ext_tensor("missing.bin", NULL, NULL);
  expect_tensor_error(&t, O2L_ERR_IO,
                      "tensor 'T': external data file /tmp/o2l_onnx_");
  t = ext_tensor("missing.bin", NULL, NULL);
  expect_tensor_error(&t, O2L_ERR_IO, "/missing.bin: cannot open: No such file");
  t = ext_tensor(NULL, NULL, NULL);
  expect_tensor_error(&t, O2L_ERR_INVALID, "no 'location'");
  t = ext_tensor("", NULL, NULL);
  expect_tensor_error(&t, O2L_ERR_INVALID, "not a relative path");
  t = ext_tensor("sub", NULL, NULL);
  expect_tensor_error(&t, O2L_ERR_IO, "not a regular file");
  unlink(subside);
  rmdir(sub);
  unlink(side);
}

/* ---- inputs and --input-shape ------------------------------------------ */

/* Two inputs: a[batch,3,H,W] (symbolic H, W unless fixed), b[1,4]. */
static Buf shapes_model(bool sym_hw) {
  Buf g = {0};
  Buf n = node("Add", "add", "a,b", "y");
  b_msg(&g, 1, &n);
  int64_t ad[4] = {-1, 3, sym_hw ? -1 : 16, sym_hw ? -1 : 16};
  const char *ap[4] = {"N", NULL, "H", NULL};
  Buf vi = value_info("a", T_FLOAT, 4, ad, ap);
  b_msg(&g, 11, &vi);
  int64_t bd[2] = {1, 4};
  vi = value_info("b", T_INT64, 2, bd, NULL);
  b_msg(&g, 11, &vi);
  vi = value_info("y", T_FLOAT, 4, ad, NULL);
  b_msg(&g, 12, &vi);
  return model(&g, 17, "");
}

static void expect_shape_error(Buf *m, const char *spec, Status st,
                               const char *needle) {
  Loaded l;
  const char *specs[2] = {spec, "b=1,4"};
  load_bytes(&l, m->p, m->n, specs, spec ? 1 : 0);
  CHECK(l.st == st);
  if (needle && !strstr(l.cx.msg, needle)) {
    CHECK(!"message");
    fprintf(stderr, "  wanted '%s' in: %s\n", needle, l.cx.msg);
  }
  unload(&l);
}

static void test_input_shapes(void) {
  Buf fixed = shapes_model(false), sym = shapes_model(true);
  Loaded l;
  /* Symbolic batch only: 1 with a notice. */
  CHECK(load_bytes(&l, fixed.p, fixed.n, NULL, 0) == O2L_OK);
  if (l.g) {
    CHECK(l.g->opset == 17 && l.g->ninputs == 2);
    CHECK(l.g->inputs[0]->dims[0] == 1 && l.g->inputs[0]->dims[2] == 16);
    CHECK(l.g->inputs[1]->dtype == DT_I64);
    CHECK(has_line(&l.rep, "input 'a': dimension 0 ('N') set to 1; use --input-shape to choose"));
  }
  unload(&l);

  /* Overrides. */
  const char *s1[] = {"a=2,3,16,16"};
  CHECK(load_bytes(&l, fixed.p, fixed.n, s1, 1) == O2L_OK);
  if (l.g)
    CHECK(l.g->inputs[0]->dims[0] == 2 && l.rep.n_lines == 0);
  unload(&l);
  const char *s2[] = {"b=1,4", "a=1,3,32,48"};
  CHECK(load_bytes(&l, sym.p, sym.n, s2, 2) == O2L_OK);
  if (l.g)
    CHECK(l.g->inputs[0]->dims[2] == 32 && l.g->inputs[0]->dims[3] == 48 &&
          l.g->inputs[0]->rank == 4);
  unload(&l);

  /* Errors. */
  expect_shape_error(&sym, NULL, O2L_ERR_USAGE,
                     "input 'a' has shape ?x3x?x?: dimension 2 ('H') is symbolic; "
                     "give the whole shape with --input-shape a=");
  expect_shape_error(&fixed, "c=1,2", O2L_ERR_USAGE,
                     "the model has no input 'c'; its inputs are 'a', 'b'");
  expect_shape_error(&fixed, "a=1,3,16", O2L_ERR_USAGE, "has rank 4 (?x3x16x16), not 3");
  expect_shape_error(&fixed, "a=1,4,16,16", O2L_ERR_USAGE,
                     "dimension 1 of input 'a' is 3 in the model (?x3x16x16), not 4");
  expect_shape_error(&fixed, "a=1,x,16,16", O2L_ERR_USAGE, "'x' is not a positive integer");
  expect_shape_error(&fixed, "a=", O2L_ERR_USAGE, "expected NAME=D1,D2");
  expect_shape_error(&fixed, "a", O2L_ERR_USAGE, "expected NAME=D1,D2");
  expect_shape_error(&fixed, "=1,2", O2L_ERR_USAGE, "expected NAME=D1,D2");
  expect_shape_error(&fixed, "a=1,,16,16", O2L_ERR_USAGE, "is not a positive integer");
  expect_shape_error(&fixed, "a=1,3,16,16,", O2L_ERR_USAGE, "is not a positive integer");
  expect_shape_error(&fixed, "a=0,3,16,16", O2L_ERR_USAGE, "at least 1");
  expect_shape_error(&fixed, "a=-1,3,16,16", O2L_ERR_USAGE, "not a positive integer");
  expect_shape_error(&fixed, "a=1,1,1,1,1,1,1,1,1", O2L_ERR_USAGE, "more than 8 dimensions");
  expect_shape_error(&fixed, "a=99999999999,3,16,16", O2L_ERR_USAGE, "too large");
  const char *dup[] = {"a=1,3,16,16", "a=1,3,16,16"};
  load_bytes(&l, fixed.p, fixed.n, dup, 2);
  CHECK(l.st == O2L_ERR_USAGE && strstr(l.cx.msg, "given twice"));
  unload(&l);

  /* An input with no shape at all needs the option. */
  Buf g = {0};
  Buf n = node("Relu", "r", "a", "y");
  b_msg(&g, 1, &n);
  Buf vi = value_info("a", T_FLOAT, -1, NULL, NULL);
  b_msg(&g, 11, &vi);
  vi = value_info("y", T_FLOAT, -1, NULL, NULL);
  b_msg(&g, 12, &vi);
  Buf m = model(&g, 13, NULL);
  expect_shape_error(&m, NULL, O2L_ERR_USAGE, "input 'a' has no shape");
  const char *s3[] = {"a=5"};
  CHECK(load_bytes(&l, m.p, m.n, s3, 1) == O2L_OK);
  if (l.g)
    CHECK(l.g->inputs[0]->rank == 1 && l.g->inputs[0]->dims[0] == 5);
  unload(&l);
  free(m.p);
  free(fixed.p);
  free(sym.p);
}

/* ---- graph-level checks ------------------------------------------------- */

static Buf one_node_model(const char *ins, const char *outs, const char *gout,
                          int64_t opset, const char *domain) {
  Buf g = {0};
  Buf n = node("Relu", "r", ins, outs);
  b_msg(&g, 1, &n);
  int64_t d[1] = {4};
  Buf vi = value_info("a", T_FLOAT, 1, d, NULL);
  b_msg(&g, 11, &vi);
  vi = value_info(gout, T_FLOAT, -1, NULL, NULL);
  b_msg(&g, 12, &vi);
  return model(&g, opset, domain);
}

static void expect_model_error(Buf *m, Status st, const char *needle) {
  Loaded l;
  load_model(&l, m);
  free(m->p);
  CHECK(l.st == st);
  if (needle && !strstr(l.cx.msg, needle)) {
    CHECK(!"message");
    fprintf(stderr, "  wanted '%s' in: %s\n", needle, l.cx.msg);
  }
  unload(&l);
}

static void test_graph_errors(void) {
  Buf m = one_node_model("zz", "y", "y", 13, NULL);
  expect_model_error(&m, O2L_ERR_INVALID,
                     "node 'r' (Relu) uses tensor 'zz', which is not produced");
  m = one_node_model("a", "y", "q", 13, NULL);
  expect_model_error(&m, O2L_ERR_INVALID, "graph output 'q' is not produced");
  m = one_node_model("a", "a", "a", 13, NULL);
  expect_model_error(&m, O2L_ERR_INVALID, "writes tensor 'a', which is already a graph input");
  /* A default-domain node needs the default opset; a model of other
   * domains only loads (its nodes are then reported unsupported). */
  m = one_node_model("a", "y", "y", 13, "com.other");
  expect_model_error(&m, O2L_ERR_INVALID,
                     "imports no opset for that domain");
  m = one_node_model("a", "y", "y", -1, NULL);
  expect_model_error(&m, O2L_ERR_PARSE, "no opset_import at all");

  /* Two nodes writing one tensor. */
  Buf g = {0};
  Buf n = node("Relu", "r1", "a", "y");
  b_msg(&g, 1, &n);
  n = node("Relu", "r2", "a", "y");
  b_msg(&g, 1, &n);
  Buf vi = value_info("a", T_FLOAT, 0, NULL, NULL);
  b_msg(&g, 11, &vi);
  vi = value_info("y", T_FLOAT, -1, NULL, NULL);
  b_msg(&g, 12, &vi);
  m = model(&g, 13, NULL);
  expect_model_error(&m, O2L_ERR_INVALID, "node 'r2' (Relu) writes tensor 'y', which is already the output of node 'r1'");

  /* No graph. */
  m = (Buf){0};
  b_int(&m, 1, 7);
  expect_model_error(&m, O2L_ERR_PARSE, "has no graph");

  /* Wrong wire type for op_type. */
  g = (Buf){0};
  n = (Buf){0};
  b_int(&n, 4, 3);
  b_msg(&g, 1, &n);
  m = model(&g, 13, NULL);
  expect_model_error(&m, O2L_ERR_PARSE, "field 4 (op_type) of NodeProto has wire type 0");

  /* Sparse initializer. */
  g = (Buf){0};
  b_bytes(&g, 15, "", 0);
  m = model(&g, 13, NULL);
  expect_model_error(&m, O2L_ERR_UNSUPPORTED, "sparse initializers");

  /* Empty and missing files. */
  Loaded l;
  CHECK(load_bytes(&l, "", 0, NULL, 0) == O2L_ERR_PARSE && strstr(l.cx.msg, "empty"));
  unload(&l);
  arena_init(&l.arena);
  ctx_init(&l.cx, &l.arena, NULL, NULL);
  CHECK(onnx_load(&l.cx, "/nonexistent/x.onnx", &l.g, &l.f) == O2L_ERR_IO);
  CHECK(strstr(l.cx.msg, "/nonexistent/x.onnx") && strstr(l.cx.msg, "No such file"));
  CHECK(!l.g && !l.f);
  arena_free(&l.arena);
  onnx_close(NULL);
}

static void test_attr_types(void) {
  /* Old files: no AttributeProto.type.  Also strings, floats, a graph. */
  Buf g = {0};
  Buf n = node("Foo", "foo", "a", "y");
  Buf a = {0};
  b_str(&a, 1, "i");
  b_int(&a, 3, -7);
  b_msg(&n, 5, &a);
  b_str(&a, 1, "f");
  b_f32(&a, 2, 2.5f);
  b_msg(&n, 5, &a);
  b_str(&a, 1, "s");
  b_str(&a, 4, "hello");
  b_msg(&n, 5, &a);
  b_str(&a, 1, "fs");
  b_f32(&a, 7, 1.0f);
  b_f32(&a, 7, 2.0f);
  b_msg(&n, 5, &a);
  b_str(&a, 1, "is");
  int64_t iv[3] = {-1, 0, 1ll << 40};
  b_packed_ints(&a, 8, iv, 3);
  b_msg(&n, 5, &a);
  b_str(&a, 1, "ss");
  b_str(&a, 9, "x");
  b_str(&a, 9, "yz");
  b_msg(&n, 5, &a);
  b_str(&a, 1, "g");
  b_bytes(&a, 6, "\x0a\x00", 2);
  b_msg(&n, 5, &a);
  b_str(&a, 1, "empty_ints");
  b_int(&a, 20, 7);
  b_msg(&n, 5, &a);
  b_msg(&g, 1, &n);
  int64_t d[1] = {4};
  Buf vi = value_info("a", T_FLOAT, 1, d, NULL);
  b_msg(&g, 11, &vi);
  vi = value_info("y", T_FLOAT, -1, NULL, NULL);
  b_msg(&g, 12, &vi);
  Buf m = model(&g, 13, NULL);
  Loaded l;
  CHECK(load_model(&l, &m) == O2L_OK);
  free(m.p);
  if (l.g) {
    const Node *nd = l.g->nodes[0];
    CHECK(nd->op == -1 && nd->nattrs == 8);
    const Attr *at = node_attr(nd, "i");
    CHECK(at && at->type == AT_INT && at->i == -7);
    at = node_attr(nd, "f");
    CHECK(at && at->type == AT_FLOAT && at->f == 2.5f);
    CHECK(strcmp(node_attr_str(nd, "s", ""), "hello") == 0);
    at = node_attr(nd, "fs");
    CHECK(at && at->type == AT_FLOATS && at->n == 2 && at->floats[1] == 2.0f);
    at = node_attr(nd, "is");
    CHECK(at && at->type == AT_INTS && at->n == 3 && at->ints[0] == -1 &&
          at->ints[2] == 1ll << 40);
    at = node_attr(nd, "ss");
    CHECK(at && at->type == AT_STRINGS && at->n == 2 &&
          strcmp(at->strings[1], "yz") == 0);
    at = node_attr(nd, "g");
    CHECK(at && at->type == AT_GRAPH);
    int cnt = -1;
    CHECK(node_attr_ints(nd, "empty_ints", &cnt) == NULL && cnt == 0);
    at = node_attr(nd, "empty_ints");
    CHECK(at && at->type == AT_INTS && at->n == 0);
  }
  unload(&l);
}

/* ---- hostile bytes ------------------------------------------------------ */

static void test_truncations(void) {
  Buf m = conv_model();
  int bad = 0;
  for (size_t len = 0; len < m.n; len++) {
    Loaded l;
    Status st = load_bytes(&l, m.p, len, NULL, 0);
    bool ok = (st == O2L_ERR_PARSE || (len == 0 && st == O2L_ERR_IO)) &&
              strstr(l.cx.msg, "byte");
    if (!ok && bad++ < 5)
      fprintf(stderr, "  truncated at %zu: status %d: %s\n", len, st, l.cx.msg);
    unload(&l);
  }
  CHECK(bad == 0);
  free(m.p);
}

static void test_flips(void) {
  Buf m = conv_model();
  static const unsigned char pats[] = {0xff, 0x80, 0x01, 0x7f};
  int loaded = 0;
  for (size_t i = 0; i < m.n; i++)
    for (size_t k = 0; k < sizeof pats; k++) {
      unsigned char save = m.p[i];
      m.p[i] ^= pats[k];
      Loaded l;
      if (load_bytes(&l, m.p, m.n, NULL, 0) == O2L_OK) {
        loaded++;
        /* Whatever loaded must be walkable. */
        for (int j = 0; j < l.g->nnodes; j++)
          for (int q = 0; q < l.g->nodes[j]->nin; q++)
            if (l.g->nodes[j]->in[q])
              CHECK(l.g->nodes[j]->in[q]->name != NULL);
      }
      unload(&l);
      m.p[i] = save;
    }
  CHECK(loaded > 0); /* e.g. flips inside raw_data or names */
  free(m.p);
}

static void test_alloc_failures(void) {
  Buf m = conv_model();
  int oom = 0;
  for (long nth = 1; nth < 200; nth++) {
    Loaded l;
    memset(&l, 0, sizeof l);
    char path[128];
    snprintf(path, sizeof path, "%s/fault.onnx", tmpdir);
    write_file(path, m.p, m.n);
    arena_init(&l.arena);
    ctx_init(&l.cx, &l.arena, NULL, &l.rep);
    fault_fail_nth(nth);
    l.st = onnx_load(&l.cx, path, &l.g, &l.f);
    fault_fail_nth(0);
    CHECK(l.st == O2L_OK || l.st == O2L_ERR_NOMEM);
    if (l.st == O2L_ERR_NOMEM) {
      oom++;
      CHECK(!l.g && !l.f && strstr(l.cx.msg, "out of memory"));
    }
    unlink(path);
    unload(&l);
  }
  CHECK(oom > 0);
  free(m.p);
}

/* ---- the real models ----------------------------------------------------- */

static void test_real_models(void) {
  const char *dir = getenv("O2L_MODELS_DIR"); /* to test the skip */
  if (!dir)
    dir = "/work/shared/models";
  char mpath[256];
  snprintf(mpath, sizeof mpath, "%s/manifest.json", dir);
  FILE *fp = fopen(mpath, "rb");
  if (!fp) {
    printf("test_onnx_load: real models skipped (%s absent)\n", dir);
    return;
  }
  static char json[1 << 20];
  size_t n = fread(json, 1, sizeof json - 1, fp);
  fclose(fp);
  json[n] = 0;
  /* Each model entry has "file": "X.onnx" and later "node_count": N. */
  int models = 0;
  for (const char *p = json; (p = strstr(p, "\"file\": \"")) != NULL;) {
    p += 9;
    const char *q = strchr(p, '"');
    if (!q || q - p < 6 || strncmp(q - 5, ".onnx", 5) != 0)
      continue;
    char file[128];
    snprintf(file, sizeof file, "%.*s", (int)(q - p), p);
    const char *nc = strstr(q, "\"node_count\": ");
    const char *next = strstr(q, "\"file\": \"");
    while (next) { /* skip the input/output files of this entry */
      const char *e = strchr(next + 9, '"');
      if (e && e - next > 14 && strncmp(e - 5, ".onnx", 5) == 0)
        break;
      next = strstr(next + 9, "\"file\": \"");
    }
    if (!nc || (next && nc > next))
      continue;
    int want = atoi(nc + 14);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    Loaded l;
    memset(&l, 0, sizeof l);
    arena_init(&l.arena);
    ctx_init(&l.cx, &l.arena, NULL, &l.rep);
    double t0 = now_seconds();
    l.st = onnx_load(&l.cx, path, &l.g, &l.f);
    double dt = now_seconds() - t0;
    CHECK(l.st == O2L_OK);
    if (l.st != O2L_OK) {
      fprintf(stderr, "  %s: %s\n", file, l.cx.msg);
    } else {
      CHECK(l.g->nnodes == want);
      CHECK(l.g->opset == 13 && l.g->ninputs == 1 && l.g->noutputs >= 1);
      CHECK(strcmp(l.g->inputs[0]->name, "input") == 0 &&
            l.g->inputs[0]->rank >= 3 && l.g->inputs[0]->dims[0] == 1);
      size_t consts = 0, in_map = 0, biggest = 0;
      const Value *big = NULL;
      for (int i = 0; i < l.g->nvalues; i++) {
        const Value *v = l.g->values[i];
        if (!value_is_const(v))
          continue;
        consts++;
        in_map += in_mapping(l.f, 0, v->data, v->nbytes);
        CHECK(v->nbytes == (size_t)value_numel(v) * dtype_size(v->dtype));
        if (v->nbytes > biggest) {
          biggest = v->nbytes;
          big = v;
        }
      }
      CHECK(consts > 0 && in_map > 0);
      if (big && biggest > 3 * 4096) {
        /* Released pages read back the same. */
        double before = 0, after = 0;
        for (size_t i = 0; i < biggest / 4; i++)
          before += load_f32(big->data, i);
        onnx_release(l.f, big->data, big->nbytes);
        for (size_t i = 0; i < biggest / 4; i++)
          after += load_f32(big->data, i);
        CHECK(before == after || (isnan(before) && isnan(after)));
      }
      printf("  %-24s %4d nodes, %3zu constants (%zu in place), loaded in %.2f ms\n",
             file, l.g->nnodes, consts, in_map, dt * 1e3);
    }
    models++;
    unload(&l);
  }
  CHECK(models >= 1);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/o2l_onnx_XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  test_conv_model();
  test_tensor_encodings();
  test_external();
  test_input_shapes();
  test_graph_errors();
  test_attr_types();
  test_truncations();
  test_flips();
  test_alloc_failures();
  test_real_models();
  rmdir(tmpdir);
  return check_done("test_onnx_load");
}
