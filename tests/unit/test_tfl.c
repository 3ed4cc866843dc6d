/* test_tfl.c - the TFLite writer, reader and inspect: a small graph
 * (CONV_2D, RESHAPE, FULLY_CONNECTED without bias, SOFTMAX, MUL, ADD, GELU,
 * a dead node, shared and scalar constants, quantization parameters) is
 * written, checked byte-level with the fb reader, read back and compared;
 * every truncation of the file must be an error; bad graphs are refused
 * without leaving files behind; operator versions follow op_version.cc. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ir.h"
#include "tfl/fb.h"
#include "tfl/tfl.h"

static char dir[64];

static float conv_w[4 * 3 * 3 * 3], conv_b[4], fc_w[10 * 256];
static const int32_t shape_data[2] = {1, 256};
static const float two_data[1] = {2.0f};
static float w_scales[4] = {0.5f, 0.25f, 0.125f, 1.0f};
static int64_t w_zps[4] = {0, 0, 0, 0};

static Value *act(Ctx *cx, Graph *g, const char *name, int rank, int64_t d0,
                  int64_t d1, int64_t d2, int64_t d3) {
  int64_t dims[4] = {d0, d1, d2, d3};
  return graph_add_value(cx, g, name, DT_F32, rank, dims);
}

static Node *node(Ctx *cx, Graph *g, int op, Value *a, Value *b, Value *c, Value *out) {
  Value *in[3] = {a, b, c};
  int nin = c || op == TFL_FULLY_CONNECTED ? 3 : b ? 2 : 1;
  return graph_add_node(cx, g, op, out->name, nin, in, 1, &out);
}

/* input [1,8,8,3] -> CONV_2D(+bias, RELU) -> RESHAPE [1,256] ->
 * FULLY_CONNECTED(no bias) [1,10] -> SOFTMAX = probs -> MUL 2 -> ADD 2
 * -> GELU = out.  Outputs: out, probs.  A dead SUB hangs off probs. */
static Graph *sample(Ctx *cx) {
  for (size_t i = 0; i < O2L_ARRAY_LEN(conv_w); i++)
    conv_w[i] = (float)((int)(i * 37 % 101) - 50) / 50.0f;
  for (size_t i = 0; i < O2L_ARRAY_LEN(conv_b); i++)
    conv_b[i] = 0.1f * (float)i;
  for (size_t i = 0; i < O2L_ARRAY_LEN(fc_w); i++)
    fc_w[i] = (float)((int)(i * 13 % 29) - 14) / 100.0f;
  Graph *g = graph_new(cx, GRAPH_TFL);
  Value *x = act(cx, g, "input", 4, 1, 8, 8, 3);
  int64_t wd[4] = {4, 3, 3, 3}, bd[1] = {4}, sd[1] = {2}, fd[2] = {10, 256};
  Value *w = graph_add_const(cx, g, "conv/w", DT_F32, 4, wd, conv_w, sizeof conv_w);
  Value *b = graph_add_const(cx, g, "conv/b", DT_F32, 1, bd, conv_b, sizeof conv_b);
  Value *shape = graph_add_const(cx, g, "shape", DT_I32, 1, sd, shape_data, 8);
  Value *fw = graph_add_const(cx, g, "fc/w", DT_F32, 2, fd, fc_w, sizeof fc_w);
  Value *two = graph_add_const(cx, g, "two", DT_F32, 0, NULL, two_data, 4);
  Value *two2 = graph_add_const(cx, g, "two_alias", DT_F32, 0, NULL, two_data, 4);
  Value *c = act(cx, g, "conv_out", 4, 1, 8, 8, 4);
  Value *r = act(cx, g, "reshaped", 2, 1, 256, 0, 0);
  Value *f = act(cx, g, "logits", 2, 1, 10, 0, 0);
  Value *p = act(cx, g, "probs", 2, 1, 10, 0, 0);
  Value *m = act(cx, g, "scaled", 2, 1, 10, 0, 0);
  Value *a = act(cx, g, "shifted", 2, 1, 10, 0, 0);
  Value *o = act(cx, g, "out", 2, 1, 10, 0, 0);
  Value *u = act(cx, g, "unused", 2, 1, 10, 0, 0);
  Quant *wq = arena_alloc(cx->arena, sizeof *wq, 8);
  *wq = (Quant){4, w_scales, w_zps, 0, 0, 0, 0};
  w->quant = wq;
  Quant *cq = arena_alloc(cx->arena, sizeof *cq, 8);
  *cq = (Quant){0, NULL, NULL, 0, -1.0f, 6.0f, 1};
  c->quant = cq;
  Node *n = node(cx, g, TFL_CONV_2D, x, w, b, c);
  n->opt.padding = TFL_PAD_SAME;
  n->opt.stride_w = n->opt.stride_h = 1;
  n->opt.act = TFL_ACT_RELU;
  node(cx, g, TFL_RESHAPE, c, shape, NULL, r);
  node(cx, g, TFL_FULLY_CONNECTED, r, fw, NULL, f);
  n = node(cx, g, TFL_SOFTMAX, f, NULL, NULL, p);
  n->opt.beta = 1.0f;
  node(cx, g, TFL_MUL, p, two, NULL, m);
  node(cx, g, TFL_SUB, p, two, NULL, u)->dead = true;
  n = node(cx, g, TFL_ADD, m, two2, NULL, a);
  n->opt.act = TFL_ACT_RELU6;
  node(cx, g, TFL_GELU, a, NULL, NULL, o)->opt.approximate = true;
  Value *outs[2] = {o, p};
  graph_set_inputs(cx, g, 1, &x);
  graph_set_outputs(cx, g, 2, outs);
  CHECK(cx->status == O2L_OK);
  return g;
}

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = xrealloc(NULL, (size_t)n + 1);
  *len = fread(buf, 1, (size_t)n, f);
  fclose(f);
  return buf;
}

static int files_in_dir(void) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    n += e->d_name[0] != '.';
  if (d)
    closedir(d);
  return n;
}

static const Value *find(const Graph *g, const char *name) {
  for (int i = 0; i < g->nvalues; i++)
    if (strcmp(g->values[i]->name, name) == 0)
      return g->values[i];
  return NULL;
}

/* ---- the file, byte level --------------------------------------------- */

static void check_raw(const unsigned char *buf, size_t len) {
  FbReader r;
  fb_reader_init(&r, buf, len);
  CHECK(fb_has_identifier(buf, len, "TFL3"));
  CHECK(len % 16 == 0);
  FbTable m = fb_root(&r);
  CHECK(fb_get_u32(&r, m, 0, 0) == 3);
  size_t n;
  const char *desc = fb_get_str(&r, m, 3, &n);
  CHECK(desc && strcmp(desc, "onnx2lite " O2L_VERSION) == 0);
  /* Buffers: empty sentinel, conv/w, conv/b, shape, fc/w, the shared
   * scalar, min_runtime_version. */
  FbVec bufs = fb_get_vec(&r, m, 4, 4);
  CHECK(bufs.n == 7);
  FbVec b0 = fb_get_vec(&r, fb_vec_table_at(&r, bufs, 0), 0, 1);
  CHECK(b0.n == 0);
  size_t last = 0;
  for (uint32_t i = 1; i < bufs.n; i++) {
    FbVec d = fb_get_vec(&r, fb_vec_table_at(&r, bufs, i), 0, 1);
    CHECK(d.n > 0 && d.pos % 16 == 0 && d.pos > last);
    last = d.pos;
  }
  FbVec fw = fb_get_vec(&r, fb_vec_table_at(&r, bufs, 4), 0, 1);
  CHECK(fw.n == sizeof fc_w && memcmp(fb_vec_bytes(&r, fw), fc_w, sizeof fc_w) == 0);
  /* min_runtime_version: GELU v1 needs 2.9.0, the highest here. */
  FbVec meta = fb_get_vec(&r, m, 6, 4);
  CHECK(meta.n == 1);
  FbTable md = fb_vec_table_at(&r, meta, 0);
  const char *mname = fb_get_str(&r, md, 0, &n);
  CHECK(mname && strcmp(mname, "min_runtime_version") == 0);
  uint32_t mb = fb_get_u32(&r, md, 1, 0);
  CHECK(mb == 6);
  FbVec mv = fb_get_vec(&r, fb_vec_table_at(&r, bufs, mb), 0, 1);
  CHECK(mv.n == 16 && memcmp(fb_vec_bytes(&r, mv), "2.9.0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0);
  /* Signature. */
  FbVec sigs = fb_get_vec(&r, m, 7, 4);
  CHECK(sigs.n == 1);
  FbTable s = fb_vec_table_at(&r, sigs, 0);
  const char *key = fb_get_str(&r, s, 2, &n);
  CHECK(key && strcmp(key, "serving_default") == 0);
  FbVec sin = fb_get_vec(&r, s, 0, 4), sout = fb_get_vec(&r, s, 1, 4);
  CHECK(sin.n == 1 && sout.n == 2);
  const char *in0 = fb_get_str(&r, fb_vec_table_at(&r, sin, 0), 0, &n);
  const char *out0 = fb_get_str(&r, fb_vec_table_at(&r, sout, 0), 0, &n);
  const char *out1 = fb_get_str(&r, fb_vec_table_at(&r, sout, 1), 0, &n);
  CHECK(in0 && strcmp(in0, "input") == 0);
  CHECK(out0 && strcmp(out0, "out") == 0 && out1 && strcmp(out1, "probs") == 0);
  CHECK(fb_get_u32(&r, s, 4, 9) == 0);
  /* Operator codes: GELU = 150 needs the placeholder in the old field. */
  FbVec ocs = fb_get_vec(&r, m, 1, 4);
  CHECK(ocs.n == 7);
  int seen_gelu = 0;
  for (uint32_t i = 0; i < ocs.n; i++) {
    FbTable oc = fb_vec_table_at(&r, ocs, i);
    int code = fb_get_i32(&r, oc, 3, -1), dep = fb_get_i8(&r, oc, 0, -1);
    CHECK(dep == (code < 127 ? code : 127));
    seen_gelu += code == 150;
  }
  CHECK(seen_gelu == 1);
  /* Subgraph: name, the scalar has an empty shape and has_rank. */
  FbTable sg = fb_vec_table_at(&r, fb_get_vec(&r, m, 2, 4), 0);
  const char *sgname = fb_get_str(&r, sg, 4, &n);
  CHECK(sgname && strcmp(sgname, "main") == 0);
  FbVec tensors = fb_get_vec(&r, sg, 0, 4);
  int scalars = 0;
  for (uint32_t i = 0; i < tensors.n; i++) {
    FbTable t = fb_vec_table_at(&r, tensors, i);
    const char *tn = fb_get_str(&r, t, 3, &n);
    if (tn && strcmp(tn, "two") == 0) {
      CHECK(fb_get_vec(&r, t, 0, 4).n == 0);
      CHECK(fb_get_bool(&r, t, 8, false));
      scalars++;
    }
    if (tn && strcmp(tn, "conv_out") == 0)
      CHECK(fb_get_u32(&r, t, 2, 0) == 0); /* absent = buffer 0 */
  }
  CHECK(scalars == 1);
  /* Options with schema defaults that are not zero. */
  FbVec ops = fb_get_vec(&r, sg, 3, 4);
  CHECK(ops.n == 7);
  FbTable conv = fb_vec_table_at(&r, ops, 0);
  CHECK(fb_get_u8(&r, conv, 3, 0) == 1);
  FbTable copt = fb_get_table(&r, conv, 4);
  CHECK(fb_get_i32(&r, copt, 4, 0) == 1 && fb_get_i32(&r, copt, 5, 0) == 1);
  FbTable fc = fb_vec_table_at(&r, ops, 2);
  FbVec fcin = fb_get_vec(&r, fc, 1, 4);
  CHECK(fcin.n == 3 && fb_vec_i32_at(&r, fcin, 2) == -1);
  FbTable add = fb_vec_table_at(&r, ops, 5);
  CHECK(!fb_has_field(&r, fb_get_table(&r, add, 4), 1)); /* pot_scale_int16 default */
  CHECK(!r.failed);
}

/* ---- read back -------------------------------------------------------- */

static void check_same_value(const Value *a, const Value *b) {
  CHECK(b != NULL);
  if (!b)
    return;
  CHECK(a->dtype == b->dtype);
  CHECK(a->rank == b->rank);
  for (int i = 0; i < a->rank; i++)
    CHECK(a->dims[i] == b->dims[i]);
  CHECK(!a->data == !b->data);
  if (a->data && b->data)
    CHECK(a->nbytes == b->nbytes && memcmp(a->data, b->data, a->nbytes) == 0);
  /* The file keeps scales and zero points; a calibrated range alone is
   * informative and not written. */
  bool aq = a->quant && a->quant->n > 0;
  CHECK(aq == (b->quant != NULL));
  if (aq && b->quant) {
    CHECK(a->quant->n == b->quant->n && a->quant->axis == b->quant->axis);
    for (int i = 0; i < a->quant->n; i++)
      CHECK(a->quant->scale[i] == b->quant->scale[i] &&
            a->quant->zp[i] == b->quant->zp[i]);
    CHECK(!b->quant->has_range);
  }
}

static void check_read_back(const Graph *g, const unsigned char *buf, size_t len) {
  Arena arena;
  arena_init(&arena);
  Ctx cx;
  ctx_init(&cx, &arena, NULL, NULL);
  Graph *h = NULL;
  CHECK(tfl_read(&cx, buf, len, &h) == O2L_OK);
  if (!h) {
    fprintf(stderr, "%s\n", cx.msg);
    arena_free(&arena);
    return;
  }
  CHECK(h->kind == GRAPH_TFL);
  CHECK(h->nvalues == 14); /* "unused" belongs to the dead node */
  CHECK(find(h, "unused") == NULL);
  for (int i = 0; i < g->nvalues; i++)
    if (strcmp(g->values[i]->name, "unused") != 0)
      check_same_value(g->values[i], find(h, g->values[i]->name));
  /* The two aliases of one constant share its data in the file. */
  CHECK(find(h, "two")->data == find(h, "two_alias")->data);
  CHECK(h->ninputs == 1 && strcmp(h->inputs[0]->name, "input") == 0);
  CHECK(h->noutputs == 2 && strcmp(h->outputs[0]->name, "out") == 0 &&
        strcmp(h->outputs[1]->name, "probs") == 0);
  CHECK(h->nnodes == 7);
  int k = 0;
  for (int i = 0; i < g->nnodes && k < h->nnodes; i++) {
    const Node *a = g->nodes[i];
    if (a->dead)
      continue;
    const Node *b = h->nodes[k++];
    CHECK(a->op == b->op);
    CHECK(strcmp(b->op_type, tfl_op_name(a->op)) == 0);
    CHECK(b->version == tfl_op_version(g, a));
    CHECK(a->nin == b->nin && a->nout == b->nout);
    for (int j = 0; j < a->nin && j < b->nin; j++)
      CHECK(!a->in[j] ? !b->in[j] : b->in[j] && strcmp(a->in[j]->name, b->in[j]->name) == 0);
    CHECK(strcmp(a->out[0]->name, b->out[0]->name) == 0);
    TflOptions o = a->opt;
    if (a->op == TFL_CONV_2D) /* 0 means the default, 1 */
      o.dilation_w = o.dilation_h = 1;
    CHECK(memcmp(&o, &b->opt, sizeof o) == 0);
  }
  CHECK(h->nodes[2]->in[2] == NULL);
  CHECK(h->nodes[0]->opt.act == TFL_ACT_RELU && h->nodes[3]->opt.beta == 1.0f);
  CHECK(h->nodes[6]->opt.approximate);
  graph_release(h);
  arena_free(&arena);
}

static void check_truncations(const unsigned char *buf, size_t len) {
  int ok = 0;
  for (size_t cut = 0; cut < len; cut++) {
    unsigned char *p = xrealloc(NULL, cut ? cut : 1);
    memcpy(p, buf, cut);
    Arena arena;
    arena_init(&arena);
    Ctx cx;
    ctx_init(&cx, &arena, NULL, NULL);
    Graph *h = NULL;
    Status st = tfl_read(&cx, p, cut, &h);
    ok += st == O2L_OK;
    if (st != O2L_OK && cut > 8 && !strstr(cx.msg, "at byte"))
      fprintf(stderr, "no offset in: %s\n", cx.msg);
    graph_release(h);
    arena_free(&arena);
    xfree(p);
  }
  CHECK(ok == 0);
}

static void check_inspect(const char *path) {
  char *text = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&text, &n);
  char err[256];
  CHECK(o2l_inspect(path, f, err, sizeof err) == O2L_OK);
  fclose(f);
  if (!text)
    return;
  CHECK(strstr(text, "format: TFLite, schema version 3\n") != NULL);
  CHECK(strstr(text, "description: onnx2lite " O2L_VERSION "\n") != NULL);
  CHECK(strstr(text, "inputs: 1\n  input ") != NULL);
  CHECK(strstr(text, "1x8x8x3") != NULL);
  CHECK(strstr(text, "outputs: 2\n") != NULL);
  CHECK(strstr(text, "operators: 7 (7 kinds)\n") != NULL);
  CHECK(strstr(text, "  CONV_2D ") != NULL && strstr(text, "  GELU ") != NULL);
  CHECK(strstr(text, "transposes: 0\n") != NULL);
  CHECK(strstr(text, "pads: 0\n") != NULL);
  CHECK(strstr(text, "tensors: 14\n") != NULL);
  /* 432 + 16 + 8 + 10240 + 4 */
  CHECK(strstr(text, "constant bytes: 10700 bytes (10.4 KB)\n") != NULL);
  free(text);
  f = open_memstream(&text, &n);
  CHECK(o2l_inspect("/nonexistent/file.tflite", f, err, sizeof err) == O2L_ERR_IO);
  CHECK(strstr(err, "/nonexistent/file.tflite") != NULL);
  fclose(f);
  free(text);
}

/* An ONNX file goes through onnx_load; skipped when the shared models
 * are not there. */
static void check_inspect_onnx(void) {
  const char *models = getenv("O2L_MODELS_DIR");
  char path[512];
  snprintf(path, sizeof path, "%s/lenet.onnx", models ? models : "/work/shared/models");
  if (access(path, R_OK) != 0) {
    printf("test_tfl: %s missing, ONNX inspect not checked\n", path);
    return;
  }
  char *text = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&text, &n);
  char err[256];
  CHECK(o2l_inspect(path, f, err, sizeof err) == O2L_OK);
  fclose(f);
  CHECK(strstr(text, "format: ONNX, opset ") != NULL);
  CHECK(strstr(text, "inputs: 1\n  input ") != NULL);
  CHECK(strstr(text, "1x1x28x28") != NULL);
  CHECK(strstr(text, "  Conv ") != NULL);
  CHECK(strstr(text, "transposes: 0\n") != NULL);
  CHECK(strstr(text, "pads: 2\n") != NULL);
  free(text);
}

static void test_round_trip(void) {
  Arena arena;
  arena_init(&arena);
  Ctx cx;
  ctx_init(&cx, &arena, NULL, NULL);
  Graph *g = sample(&cx);
  char path[128];
  snprintf(path, sizeof path, "%s/sample.tflite", dir);
  size_t bytes = 0;
  Status st = tfl_write(&cx, g, path, &bytes);
  CHECK(st == O2L_OK);
  if (st != O2L_OK)
    fprintf(stderr, "%s\n", cx.msg);
  CHECK(files_in_dir() == 1); /* no temporary left */
  size_t len = 0;
  unsigned char *buf = slurp(path, &len);
  CHECK(buf && len == bytes);
  if (buf) {
    check_raw(buf, len);
    check_read_back(g, buf, len);
    check_truncations(buf, len);
  }
  check_inspect(path);
  check_inspect_onnx();
  xfree(buf);
  remove(path);
  graph_release(g);
  arena_free(&arena);
}

/* ---- refusals --------------------------------------------------------- */

static void expect_refusal(Graph *g, Ctx *cx, Status want, const char *needle) {
  char path[128];
  snprintf(path, sizeof path, "%s/bad.tflite", dir);
  Status st = tfl_write(cx, g, path, NULL);
  CHECK(st == want);
  CHECK(strstr(cx->msg, needle) != NULL);
  if (!strstr(cx->msg, needle))
    fprintf(stderr, "message: %s\n", cx->msg);
  CHECK(files_in_dir() == 0);
}

static void test_refusals(void) {
  Arena arena;
  arena_init(&arena);
  Ctx cx;
  ctx_init(&cx, &arena, NULL, NULL);
  Graph *g = sample(&cx);
  ((Value *)find(g, "logits"))->rank = -1;
  expect_refusal(g, &cx, O2L_ERR_INVALID, "'logits' has an unknown shape");
  graph_release(g);

  ctx_init(&cx, &arena, NULL, NULL);
  g = sample(&cx);
  g->nodes[1]->op = 999;
  expect_refusal(g, &cx, O2L_ERR_INTERNAL, "node 'reshaped' has operator 999");
  graph_release(g);

  ctx_init(&cx, &arena, NULL, NULL);
  g = sample(&cx);
  ((Value *)find(g, "conv/b"))->nbytes = 12;
  expect_refusal(g, &cx, O2L_ERR_INTERNAL, "'conv/b' holds 12 bytes");
  graph_release(g);

  ctx_init(&cx, &arena, NULL, NULL);
  g = sample(&cx);
  CHECK(tfl_write(&cx, g, "/nonexistent-dir/x.tflite", NULL) == O2L_ERR_IO);
  CHECK(strstr(cx.msg, "/nonexistent-dir/x.tflite.tmp.") != NULL);
  graph_release(g);
  arena_free(&arena);
}

static void test_out_of_memory(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/oom.tflite", dir);
  int failed = 0;
  for (long nth = 1; nth < 200; nth++) {
    Arena arena;
    arena_init(&arena);
    Ctx cx;
    ctx_init(&cx, &arena, NULL, NULL);
    Graph *g = sample(&cx);
    fault_fail_nth(nth);
    Status st = tfl_write(&cx, g, path, NULL);
    fault_fail_nth(0);
    CHECK(st == O2L_OK || st == O2L_ERR_NOMEM);
    CHECK(files_in_dir() == (st == O2L_OK));
    failed += st != O2L_OK;
    remove(path);
    graph_release(g);
    arena_free(&arena);
  }
  CHECK(failed > 0);
}

/* ---- tables and versions ---------------------------------------------- */

static void test_tables(void) {
  for (int op = 0; op < TFL_OP_COUNT; op++) {
    const char *name = tfl_builtin_name(tfl_op_code(op));
    CHECK(name && strcmp(name, tfl_op_name(op)) == 0);
    CHECK(tfl_op_from_code(tfl_op_code(op)) == op);
  }
  CHECK(tfl_op_from_code(32) == -1);
  CHECK(strcmp(tfl_builtin_name(16), "LSTM") == 0);
  CHECK(strcmp(tfl_builtin_name(161), "RIGHT_SHIFT") == 0);
  CHECK(tfl_builtin_name(162 + 100) == NULL);
  for (int t = DT_F32; t < DT_COUNT; t++)
    CHECK((int)tfl_type_to_dtype(tfl_type_from_dtype((DType)t)) == t);
  CHECK(tfl_type_from_dtype(DT_I8) == TFL_TYPE_INT8);
  CHECK(strcmp(tfl_type_name(TFL_TYPE_INT8), "INT8") == 0);
}

static Node *typed_node(Ctx *cx, Graph *g, int op, DType x, DType w, DType y,
                        int64_t cin, int64_t wcin, int nin) {
  int64_t xd[4] = {1, 4, 4, cin}, wd[4] = {8, 3, 3, wcin}, yd[4] = {1, 4, 4, 8};
  Value *in[3] = {graph_add_value(cx, g, "x", x, 4, xd),
                  graph_add_value(cx, g, "w", w, 4, wd),
                  graph_add_value(cx, g, "b", DT_I32, 1, wd)};
  Value *out = graph_add_value(cx, g, "y", y, 4, yd);
  return graph_add_node(cx, g, op, "n", nin, in, 1, &out);
}

static void test_versions(void) {
  Arena arena;
  arena_init(&arena);
  Ctx cx;
  ctx_init(&cx, &arena, NULL, NULL);
  Graph *g = graph_new(&cx, GRAPH_TFL);
  Node *n = typed_node(&cx, g, TFL_CONV_2D, DT_F32, DT_F32, DT_F32, 8, 8, 3);
  CHECK(tfl_op_version(g, n) == 1);
  n = typed_node(&cx, g, TFL_CONV_2D, DT_I8, DT_I8, DT_I8, 8, 8, 3);
  CHECK(tfl_op_version(g, n) == 3);
  n = typed_node(&cx, g, TFL_CONV_2D, DT_F32, DT_F32, DT_F32, 8, 4, 3);
  CHECK(tfl_op_version(g, n) == 6); /* grouped */
  n = typed_node(&cx, g, TFL_CONV_2D, DT_F32, DT_I8, DT_F32, 8, 8, 3);
  CHECK(tfl_op_version(g, n) == 2); /* hybrid */
  static float s8[8];
  static int64_t z8[8];
  Quant q = {8, s8, z8, 0, 0, 0, 0};
  n->in[1]->quant = &q;
  CHECK(tfl_op_version(g, n) == 5); /* hybrid, per channel */
  n = typed_node(&cx, g, TFL_CONV_2D, DT_I16, DT_I8, DT_I16, 8, 8, 3);
  CHECK(tfl_op_version(g, n) == 1);
  n->opt.quantized_bias_type = TFL_TYPE_INT32;
  CHECK(tfl_op_version(g, n) == 8);
  n = typed_node(&cx, g, TFL_FULLY_CONNECTED, DT_I8, DT_I8, DT_I8, 8, 8, 3);
  CHECK(tfl_op_version(g, n) == 4);
  n = typed_node(&cx, g, TFL_FULLY_CONNECTED, DT_I8, DT_I8, DT_I8, 8, 8, 2);
  CHECK(tfl_op_version(g, n) == 6);
  n = typed_node(&cx, g, TFL_DEPTHWISE_CONV_2D, DT_F32, DT_F32, DT_F32, 8, 8, 3);
  CHECK(tfl_op_version(g, n) == 1);
  n->opt.dilation_w = 2;
  CHECK(tfl_op_version(g, n) == 2);
  n = typed_node(&cx, g, TFL_RESIZE_BILINEAR, DT_F32, DT_I32, DT_F32, 8, 8, 2);
  CHECK(tfl_op_version(g, n) == 1);
  n->opt.half_pixel_centers = true;
  CHECK(tfl_op_version(g, n) == 3);
  n = typed_node(&cx, g, TFL_SOFTMAX, DT_I8, DT_I8, DT_I8, 8, 8, 1);
  CHECK(tfl_op_version(g, n) == 2);
  n = typed_node(&cx, g, TFL_MEAN, DT_I16, DT_I32, DT_I16, 8, 8, 2);
  CHECK(tfl_op_version(g, n) == 3);
  n = typed_node(&cx, g, TFL_TRANSPOSE_CONV, DT_I32, DT_F32, DT_F32, 8, 8, 3);
  CHECK(tfl_op_version(g, n) == 1);
  n->nin = 4; /* the graph_add_node arrays have room for one more */
  n->in[3] = n->in[2];
  CHECK(tfl_op_version(g, n) == 3);
  n->version = 2;
  CHECK(tfl_op_version(g, n) == 2);
  graph_release(g);
  arena_free(&arena);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/o2l_test_tfl.XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  test_tables();
  test_versions();
  test_round_trip();
  test_refusals();
  test_out_of_memory();
  rmdir(dir);
  return check_done("test_tfl");
}
