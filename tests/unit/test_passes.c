/* test_passes.c - the ONNX-level passes around shape inference:
 * pass_check_supported (one error listing every unsupported node),
 * pass_remove_noops (rewiring, graph output names kept, Dropout's mask and
 * training mode) and pass_fold_constants (dead nodes, constant graph
 * outputs). */
#include "irb.h"

/* An operator the reader did not know: op -1 with its strings. */
static Node *unknown(TB *t, const char *domain, const char *op_type,
                     const char *name, Value *in) {
  Node *n = tb_node(t, "Relu", name, 1, &in, 1, NOATTR);
  n->op = -1;
  n->op_type = op_type;
  n->domain = domain;
  return n;
}

static void test_unsupported(void) {
  TB t;
  tb_init(&t, 13);
  Value *x = tb_input(&t, "x", DT_F32, 1, IV(4));
  Value *a = unknown(&t, "", "Erf", "Erf_12", x)->out[0];
  Value *b = tb_op(&t, "Relu", "ok", INS(a), NOATTR);
  Value *c = unknown(&t, "com.microsoft", "FusedConv", "fc1", b)->out[0];
  unknown(&t, "ai.onnx", "Erf", "Erf_40", c);
  CHECK(pass_check_supported(&t.cx, t.g) == O2L_ERR_UNSUPPORTED);
  const char *want = "3 unsupported operators (nothing was written):\n"
                     "  Erf x2: 'Erf_12', 'Erf_40'\n"
                     "  com.microsoft.FusedConv x1: 'fc1'";
  if (strcmp(t.cx.msg, want) != 0)
    fprintf(stderr, "  got: %s\n", t.cx.msg);
  CHECK(strcmp(t.cx.msg, want) == 0);
  tb_free(&t);

  /* many of one kind: the names are capped */
  tb_init(&t, 13);
  x = tb_input(&t, "x", DT_F32, 1, IV(4));
  for (int i = 0; i < 13; i++)
    unknown(&t, "", "Mod", arena_printf(&t.a, "m%d", i), x);
  CHECK(pass_check_supported(&t.cx, t.g) == O2L_ERR_UNSUPPORTED);
  CHECK(msg_has(&t, "13 unsupported operators (nothing was written):\n  Mod x13: "
                    "'m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', ... (3 more)"));
  tb_free(&t);

  tb_init(&t, 13);
  x = tb_input(&t, "x", DT_F32, 1, IV(4));
  unknown(&t, "", "Erf", "e", x);
  CHECK(pass_check_supported(&t.cx, t.g) == O2L_ERR_UNSUPPORTED);
  CHECK(msg_has(&t, "1 unsupported operator (nothing was written):\n  Erf x1: 'e'"));
  tb_free(&t);

  tb_init(&t, 13);
  x = tb_input(&t, "x", DT_F32, 1, IV(4));
  tb_node(&t, "Relu", "two", INS(x), 2, NOATTR);
  CHECK(pass_check_supported(&t.cx, t.g) == O2L_ERR_INVALID);
  CHECK(msg_has(&t, "Relu 'two' has 2 outputs; the operator has at most 1"));
  tb_free(&t);
}

/* check -> infer -> remove no-ops, as convert.c runs them. */
static Status front(TB *t, PassStats *st) {
  Status s = pass_check_supported(&t->cx, t->g);
  if (s == O2L_OK)
    s = tb_infer(t);
  if (s == O2L_OK)
    s = pass_remove_noops(&t->cx, t->g, st);
  return s;
}

static void test_noops(void) {
  { /* x -> Relu -> a -> Identity -> b -> Relu -> y */
    TB t;
    tb_init(&t, 13);
    Value *x = tb_input(&t, "x", DT_F32, 2, IV(2, 3));
    Value *a = tb_op(&t, "Relu", "r1", INS(x), NOATTR);
    Value *b = tb_op(&t, "Identity", "id", INS(a), NOATTR);
    Value *y = tb_op(&t, "Relu", "r2", INS(b), NOATTR);
    tb_output(&t, y);
    PassStats st = {0};
    CHECK(front(&t, &st) == O2L_OK);
    CHECK(st.noops_removed == 1 && t.g->nnodes == 2);
    CHECK(t.g->nodes[1]->in[0] == a && a->nuses == 1);
    tb_free(&t);
  }
  { /* the Identity writes the graph output: its producer takes the name */
    TB t;
    tb_init(&t, 13);
    Value *x = tb_input(&t, "x", DT_F32, 2, IV(2, 3));
    Value *a = tb_op(&t, "Relu", "r1", INS(x), NOATTR);
    Node *d = tb_node(&t, "Dropout", "drop", INS(a), 1, NOATTR);
    Value *y = d->out[0];
    y->name = "output";
    tb_output(&t, y);
    PassStats st = {0};
    CHECK(front(&t, &st) == O2L_OK);
    CHECK(st.noops_removed == 1 && t.g->nnodes == 1);
    CHECK(t.g->nodes[0]->op == OP_Relu && t.g->nodes[0]->out[0] == y);
    CHECK(t.g->outputs[0] == y && strcmp(y->name, "output") == 0 && y->is_output);
    CHECK(SHAPE(y, 2, 3) && y->producer == t.g->nodes[0]);
    for (int i = 0; i < t.g->nvalues; i++)
      CHECK(t.g->values[i] != a);
    tb_free(&t);
  }
  { /* graph input straight to output, or an input with other readers: kept */
    TB t;
    tb_init(&t, 13);
    Value *x = tb_input(&t, "x", DT_F32, 2, IV(2, 3));
    Value *y1 = tb_op(&t, "Identity", "copy", INS(x), NOATTR);
    Value *a = tb_op(&t, "Relu", "r", INS(x), NOATTR);
    Value *y2 = tb_op(&t, "Identity", "id2", INS(a), NOATTR);
    Value *y3 = tb_op(&t, "Sigmoid", "s", INS(a), NOATTR);
    tb_output(&t, y1);
    tb_output(&t, y2);
    tb_output(&t, y3);
    PassStats st = {0};
    CHECK(front(&t, &st) == O2L_OK);
    CHECK(st.noops_removed == 0 && t.g->nnodes == 4);
    tb_free(&t);
  }
  { /* an Identity chain ending at the output */
    TB t;
    tb_init(&t, 13);
    Value *x = tb_input(&t, "x", DT_F32, 1, IV(3));
    Value *a = tb_op(&t, "Relu", "r", INS(x), NOATTR);
    Value *b = tb_op(&t, "Identity", "i1", INS(a), NOATTR);
    Value *y = tb_op(&t, "Identity", "i2", INS(b), NOATTR);
    tb_output(&t, y);
    PassStats st = {0};
    CHECK(front(&t, &st) == O2L_OK);
    CHECK(st.noops_removed == 2 && t.g->nnodes == 1 && t.g->nodes[0]->out[0] == y);
    tb_free(&t);
  }
  { /* Dropout's mask, when read, becomes a constant */
    TB t;
    tb_init(&t, 13);
    Value *x = tb_input(&t, "x", DT_F32, 1, IV(3));
    Node *d = tb_node(&t, "Dropout", "d", INS(x, tb_scalar_f32(&t, "ratio", 0.1f)), 2, NOATTR);
    Value *m = d->out[1];
    Value *c = tb_op(&t, "Cast", "c", INS(m), ATTRS(A_i("to", 1)));
    Value *y = tb_op(&t, "Mul", "mul", INS(d->out[0], c), NOATTR);
    tb_output(&t, y);
    PassStats st = {0};
    CHECK(front(&t, &st) == O2L_OK);
    CHECK(st.noops_removed == 1 && value_is_const(m) && load_as_i64(m->data, DT_BOOL, 2) == 1);
    CHECK(pass_fold_constants(&t.cx, t.g, &st) == O2L_OK);
    CHECK(t.g->nnodes == 1 && t.g->nodes[0]->op == OP_Mul && t.g->nodes[0]->in[0] == x &&
          value_is_const(t.g->nodes[0]->in[1]));
    tb_free(&t);
  }
  { /* Dropout in training mode */
    TB t;
    tb_init(&t, 13);
    Value *x = tb_input(&t, "x", DT_F32, 1, IV(3));
    Value *tm = tb_input(&t, "train", DT_BOOL, 0, NULL);
    tb_output(&t, tb_op(&t, "Dropout", "d", INS(x, NULL, tm), NOATTR));
    PassStats st = {0};
    CHECK(front(&t, &st) == O2L_ERR_UNSUPPORTED);
    CHECK(msg_has(&t, "Dropout 'd': input 'training_mode' is computed at run time"));
    tb_free(&t);
  }
  { /* operators that are the identity with these parameters */
    TB t;
    tb_init(&t, 13);
    Value *x = tb_input(&t, "x", DT_F32, 2, IV(2, 3));
    Value *r = tb_op(&t, "Reshape", "re", INS(x, tb_ints(&t, "s", 2, IV(2, -1))), NOATTR);
    Value *tr = tb_op(&t, "Transpose", "tr", INS(r), ATTRS(INTS("perm", 0, 1)));
    Value *sl = tb_op(&t, "Slice", "sl", INS(tr, tb_ints(&t, "st", 1, IV(0)),
                                             tb_ints(&t, "en", 1, IV(INT64_MAX))), NOATTR);
    Value *pd = tb_op(&t, "Pad", "pd", INS(sl, tb_ints(&t, "p", 4, IV(0, 0, 0, 0))), NOATTR);
    Value *ca = tb_op(&t, "Cast", "ca", INS(pd), ATTRS(A_i("to", 1)));
    Value *rev = tb_op(&t, "Slice", "rev", INS(ca, tb_ints(&t, "st2", 1, IV(-1)),
                                              tb_ints(&t, "en2", 1, IV(INT64_MIN)),
                                              tb_ints(&t, "ax2", 1, IV(1)),
                                              tb_ints(&t, "sp2", 1, IV(-1))), NOATTR);
    Value *t2 = tb_op(&t, "Transpose", "t2", INS(rev), NOATTR);
    Value *y = tb_op(&t, "Relu", "out", INS(t2), NOATTR);
    tb_output(&t, y);
    PassStats st = {0};
    CHECK(front(&t, &st) == O2L_OK);
    CHECK(st.noops_removed == 5);
    CHECK(t.g->nnodes == 3 && t.g->nodes[0]->op == OP_Slice && t.g->nodes[0]->in[0] == x);
    tb_free(&t);
  }
}

static void test_fold_pass(void) {
  { /* everything constant: the output stays a constant value */
    TB t;
    tb_init(&t, 13);
    Value *k = tb_op(&t, "Constant", "k", 0, NULL, ATTRS(INTS("value_ints", 1, 2)));
    Value *y = tb_op(&t, "Add", "add", INS(k, tb_ints(&t, "one", 1, IV(1))), NOATTR);
    y->name = "output";
    tb_output(&t, y);
    PassStats st = {0};
    CHECK(front(&t, &st) == O2L_OK);
    CHECK(pass_fold_constants(&t.cx, t.g, &st) == O2L_OK);
    CHECK(st.folded == 2 && t.g->nnodes == 0);
    CHECK(t.g->noutputs == 1 && t.g->outputs[0] == y && y->is_output && value_is_const(y));
    CHECK(load_i64(y->data, 0) == 2 && load_i64(y->data, 1) == 3);
    bool kept = false;
    for (int i = 0; i < t.g->nvalues; i++)
      kept |= t.g->values[i] == y;
    CHECK(kept);
    tb_free(&t);
  }
  { /* a node whose result nothing reads any more is removed too */
    TB t;
    tb_init(&t, 13);
    Value *x = tb_input(&t, "x", DT_F32, 4, IV(1, 2, 3, 4));
    Value *r = tb_op(&t, "Relu", "r", INS(x), NOATTR);
    Value *sh = tb_op(&t, "Shape", "sh", INS(r), NOATTR);
    Value *y = tb_op(&t, "Cast", "c", INS(sh), ATTRS(A_i("to", 1)));
    tb_output(&t, y);
    PassStats st = {0};
    CHECK(front(&t, &st) == O2L_OK);
    CHECK(pass_fold_constants(&t.cx, t.g, &st) == O2L_OK);
    CHECK(st.folded == 2 && st.dead_removed == 1 && t.g->nnodes == 0);
    CHECK(value_is_const(y) && y->dtype == DT_F32 && load_f32(y->data, 3) == 4.0f);
    tb_free(&t);
  }
}

/* A graph that makes every pass allocate: large folded constants (new
 * arena chunks), the Shape chain, a no-op with a mask. */
static void build_fault_graph(TB *t) {
  Value *x = tb_input(t, "x", DT_F32, 4, IV(1, 8, 4, 4));
  Value *w = tb_const(t, "w", DT_F32, 2, IV(512, 512), NULL);
  Value *wt = tb_op(t, "Transpose", "wt", INS(w), NOATTR);
  Value *ws = tb_op(t, "Mul", "ws", INS(wt, tb_scalar_f32(t, "two", 2)), NOATTR);
  Value *sh = tb_op(t, "Shape", "sh", INS(x), NOATTR);
  Value *g = tb_op(t, "Gather", "g", INS(sh, tb_scalar_i64(t, "zero", 0)), NOATTR);
  Value *u = tb_op(t, "Unsqueeze", "u", INS(g, tb_ints(t, "ax", 1, IV(0))), NOATTR);
  Value *c = tb_op(t, "Concat", "c", INS(u, tb_ints(t, "m1", 1, IV(-1))), ATTRS(A_i("axis", 0)));
  Value *r = tb_op(t, "Reshape", "r", INS(x, c), NOATTR);
  Node *d = tb_node(t, "Dropout", "d", INS(r), 2, NOATTR);
  Value *m = tb_op(t, "Cast", "mc", INS(d->out[1]), ATTRS(A_i("to", 1)));
  Value *y = tb_op(t, "Mul", "y", INS(d->out[0], m), NOATTR);
  tb_output(t, y);
  tb_output(t, ws);
}

static void test_faults(void) {
  int ok_at = 0;
  for (long n = 1; n < 200 && !ok_at; n++) {
    TB t;
    tb_init(&t, 13);
    build_fault_graph(&t);
    PassStats st = {0};
    fault_fail_nth(n);
    Status s = front(&t, &st);
    if (s == O2L_OK)
      s = pass_fold_constants(&t.cx, t.g, &st);
    fault_fail_nth(0);
    CHECK(s == O2L_OK || s == O2L_ERR_NOMEM);
    if (s == O2L_ERR_NOMEM)
      CHECK(strstr(t.cx.msg, "out of memory") != NULL);
    if (s == O2L_OK) {
      ok_at = (int)n;
      CHECK(t.g->nnodes == 2 && st.folded == 7 && st.noops_removed == 1);
    }
    tb_free(&t);
  }
  CHECK(ok_at > 1); /* some allocation did fail on the way */
}

int main(void) {
  test_unsupported();
  test_noops();
  test_fold_pass();
  test_faults();
  return check_done("test_passes");
}
