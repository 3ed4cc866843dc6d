/* runner.c - executes a GRAPH_TFL graph with the reference kernels.
 *
 * ref_prepare() walks the nodes in order (a TFLite graph is stored in
 * execution order; a node reading a value nothing has produced yet is an
 * error), prepares each kernel, and evaluates right away every node whose
 * inputs are all known before the run (constants, or outputs of such
 * nodes: DEQUANTIZE of float16 weights), so its output becomes a constant
 * the next kernel can pack.  Constants are copied once into aligned memory.
 * The remaining values get offsets in one activation block: a value lives
 * from the node that writes it to the last node that reads it (graph
 * outputs to the end), and values whose lifetimes overlap never share
 * bytes (greedy by size, as TFLite's arena planner does), except that a
 * RESHAPE / SQUEEZE / EXPAND_DIMS output is its input's bytes.  ref_run() then
 * only copies the inputs in and calls each kernel's eval.
 */
#include <stdlib.h>

#include "ref/ref_impl.h"

typedef struct RefKernel {
  RefPrepareFn prepare;
  RefEvalFn eval;
} RefKernel;

static const RefKernel kernels[TFL_OP_COUNT] = {
#define REF_K_(op, prep, ev) [TFL_##op] = {prep, ev},
#include "ref/kernels.def"
#undef REF_K_
};

enum { DEF_NONE = -2, DEF_INPUT = -1 };

typedef struct Slot {
  void *data;       /* known data (constant/folded), or set after planning */
  size_t bytes;     /* runtime values: buffer size */
  int def, last;    /* runtime values: node range of the lifetime */
  size_t off;       /* runtime values: offset in the block */
  bool known;       /* available before the run */
  bool runtime;     /* computed (or copied in) during the run */
  int alias;        /* RESHAPE-like output sharing this value's bytes, or -1 */
} Slot;

struct RefRunner {
  Ctx *cx;
  const Graph *g;
  Arena arena;
  Slot *slots;      /* per value id */
  RefOp *ops;       /* nodes left to run, in order */
  RefEvalFn *eval;
  int nops;
  unsigned char *block;
  void *scratch;
  RefObserver obs;
  void *user;
  double *prof;     /* per node of g, when profiling */
};

/* ---- preparation -------------------------------------------------------- */

static Status value_slot(RefRunner *r, const Node *n, const Value *v,
                         Slot **out) {
  const Graph *g = r->g;
  if (!v)
    return ctx_err(r->cx, O2L_ERR_INVALID,
                   "reference runner: a graph input or output is missing");
  if (v->id < 0 || v->id >= g->nvalues || g->values[v->id] != v)
    return ctx_err(r->cx, O2L_ERR_INTERNAL,
                   "reference runner: tensor '%s' of %s is not in the graph",
                   v->name, n ? ref_op_desc(n) : "the graph");
  *out = &r->slots[v->id];
  return O2L_OK;
}

static Status value_bytes(RefRunner *r, const Value *v, size_t *out) {
  int64_t k = ref_numel(v);
  size_t es = dtype_size(v->dtype);
  if (k < 0 || es == 0 || (uint64_t)k > ((uint64_t)1 << 40) / es)
    return ctx_err(r->cx, O2L_ERR_UNSUPPORTED,
                   "reference runner: tensor '%s' (%s, rank %d) has no "
                   "runnable shape/type",
                   v->name, dtype_name(v->dtype), v->rank);
  *out = (size_t)k * es;
  return O2L_OK;
}

/* A constant's data, copied once into aligned memory. */
static Status const_data(RefRunner *r, const Value *v, Slot *s) {
  if (s->data)
    return O2L_OK;
  size_t bytes = 0;
  TRY(value_bytes(r, v, &bytes));
  if (v->nbytes < bytes)
    return ctx_err(r->cx, O2L_ERR_INVALID,
                   "reference runner: constant '%s' holds %zu bytes, its "
                   "shape needs %zu",
                   v->name, v->nbytes, bytes);
  s->data = arena_alloc(&r->arena, bytes ? bytes : 1, 64);
  if (!s->data)
    return ctx_oom(r->cx, "reference runner constants");
  memcpy(s->data, v->data, bytes);
  s->known = true;
  return O2L_OK;
}

/* A runtime value (and so the buffer it shares, if any) is read at node
 * `index`. */
static void use_until(RefRunner *r, Slot *s, int index) {
  if (!s->runtime)
    return;
  Slot *root = s->alias >= 0 ? &r->slots[s->alias] : s;
  if (s->last < index)
    s->last = index;
  if (root->last < index)
    root->last = index;
}

/* The slots of n's inputs: cdata[i] their data when known before the run
 * (constants, folded results), *all_known when every one is. */
static Status bind_inputs(RefRunner *r, const Node *n, const void **cdata,
                          bool *all_known) {
  *all_known = true;
  for (int i = 0; i < n->nin; i++) {
    const Value *v = n->in[i];
    if (!v)
      continue;
    Slot *s = NULL;
    TRY(value_slot(r, n, v, &s));
    if (v->data)
      TRY(const_data(r, v, s));
    if (!s->known && !s->runtime)
      return ctx_err(r->cx, O2L_ERR_INVALID,
                     "reference runner: input '%s' of %s is not computed "
                     "before it (graph not in execution order?)",
                     v->name, ref_op_desc(n));
    cdata[i] = s->known ? s->data : NULL;
    *all_known = *all_known && s->known;
  }
  return O2L_OK;
}

/* Every output of n is present and written by n alone. */
static Status check_outputs(RefRunner *r, const Node *n) {
  for (int i = 0; i < n->nout; i++) {
    const Value *v = n->out[i];
    Slot *s = NULL;
    if (!v)
      return ctx_err(r->cx, O2L_ERR_INVALID, "reference runner: %s has a "
                     "missing output %d", ref_op_desc(n), i);
    TRY(value_slot(r, n, v, &s));
    if (s->known || s->runtime || v->data)
      return ctx_err(r->cx, O2L_ERR_INVALID,
                     "reference runner: tensor '%s' written by %s is also "
                     "a constant, an input or another node's output",
                     v->name, ref_op_desc(n));
  }
  return O2L_OK;
}

/* Evaluates a prepared op whose inputs are all known; its outputs (already
 * allocated in op->out) become known. */
static Status fold_now(RefRunner *r, const Node *n, RefOp *op,
                       const void **cdata, size_t scratch) {
  for (int i = 0; i < n->nin; i++)
    op->in[i] = (void *)cdata[i];
  RefEval e = {r->cx, NULL};
  if (scratch && !(e.scratch = arena_alloc(&r->arena, scratch, 64)))
    return ctx_oom(r->cx, "reference runner scratch");
  TRY(kernels[n->op].eval(&e, op));
  for (int i = 0; i < n->nout; i++)
    r->slots[n->out[i]->id].known = true;
  return O2L_OK;
}

/* Prepares node n; when all its inputs are known it is evaluated now
 * (*folded), else it will run and *scratch is the scratch it needs. */
static Status prepare_node(RefRunner *r, const Node *n, int index,
                           RefOp *op, bool *folded, size_t *scratch) {
  Ctx *cx = r->cx;
  if (n->op < 0 || n->op >= TFL_OP_COUNT || !kernels[n->op].prepare)
    return ctx_err(cx, O2L_ERR_UNSUPPORTED,
                   "reference runner: no float kernel for %s", ref_op_desc(n));
  const void **cdata = arena_alloc(&r->arena, sizeof(void *) * (size_t)(n->nin + 1), 8);
  op->in = arena_alloc(&r->arena, sizeof(void *) * (size_t)(n->nin + 1), 8);
  op->out = arena_alloc(&r->arena, sizeof(void *) * (size_t)(n->nout + 1), 8);
  if (!cdata || !op->in || !op->out)
    return ctx_oom(cx, "reference runner");
  op->node = n;
  op->index = index;
  bool all_known;
  TRY(bind_inputs(r, n, cdata, &all_known));
  TRY(check_outputs(r, n));
  RefPrep p = {cx, &r->arena, cdata, 0};
  TRY(kernels[n->op].prepare(&p, op));
  *scratch = p.scratch;
  *folded = all_known && n->nin > 0;
  /* RESHAPE, SQUEEZE, EXPAND_DIMS move no data: the output shares the
   * input's bytes (its root's lifetime then covers the output's uses). */
  bool view = (n->op == TFL_RESHAPE || n->op == TFL_SQUEEZE ||
               n->op == TFL_EXPAND_DIMS) && !*folded && n->nout == 1 &&
              r->slots[n->in[0]->id].runtime;
  for (int i = 0; i < n->nout; i++) {
    Slot *s = &r->slots[n->out[i]->id];
    TRY(value_bytes(r, n->out[i], &s->bytes));
    if (view) {
      const Slot *src = &r->slots[n->in[0]->id];
      s->alias = src->alias >= 0 ? src->alias : n->in[0]->id;
    }
    if (*folded) {
      s->data = arena_alloc(&r->arena, s->bytes ? s->bytes : 1, 64);
      if (!s->data)
        return ctx_oom(cx, "reference runner folded constants");
      op->out[i] = s->data;
    } else {
      s->runtime = true;
      s->def = index;
      s->last = index;
    }
  }
  if (*folded)
    return fold_now(r, n, op, cdata, p.scratch);
  for (int i = 0; i < n->nin; i++)
    if (n->in[i])
      use_until(r, &r->slots[n->in[i]->id], index);
  return O2L_OK;
}

/* Greedy by size: each runtime value, largest first, goes at the lowest
 * offset that overlaps no placed value alive at the same time. */
typedef struct Extent {
  size_t key, end; /* sort key (size or offset) and end offset */
  int id;
} Extent;

static int cmp_extent(const void *a, const void *b) {
  const Extent *x = a, *y = b;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return x->id - y->id;
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static Status plan(RefRunner *r, size_t *total) {
  int nv = r->g->nvalues, cnt = 0;
  Extent *order = xrealloc(NULL, sizeof(Extent) * (size_t)(nv + 1));
  Extent *live = xrealloc(NULL, sizeof(Extent) * (size_t)(nv + 1));
  if (!order || !live) {
    xfree(order);
    xfree(live);
    return ctx_oom(r->cx, "reference runner buffer plan");
  }
  for (int i = 0; i < nv; i++)
    if (r->slots[i].runtime && r->slots[i].alias < 0) /* largest first */
      order[cnt++] = (Extent){SIZE_MAX - r->slots[i].bytes, 0, i};
  qsort(order, (size_t)cnt, sizeof(Extent), cmp_extent);
  *total = 0;
  for (int k = 0; k < cnt; k++) {
    Slot *s = &r->slots[order[k].id];
    int nl = 0;
    for (int j = 0; j < k; j++) {
      const Slot *t = &r->slots[order[j].id];
      if (!(t->last < s->def || s->last < t->def))
        live[nl++] = (Extent){t->off, t->off + align64(t->bytes ? t->bytes : 1),
                              order[j].id};
    }
    qsort(live, (size_t)nl, sizeof(Extent), cmp_extent);
    size_t off = 0, need = align64(s->bytes ? s->bytes : 1);
    for (int j = 0; j < nl; j++) {
      if (live[j].key >= off + need)
        break;
      if (live[j].end > off)
        off = live[j].end;
    }
    s->off = off;
    if (off + need > *total)
      *total = off + need;
  }
  xfree(order);
  xfree(live);
  return O2L_OK;
}

static Status prepare_all(RefRunner *r, size_t *scratch) {
  const Graph *g = r->g;
  Ctx *cx = r->cx;
  if (g->kind != GRAPH_TFL)
    return ctx_err(cx, O2L_ERR_INTERNAL,
                   "reference runner needs a TFLite graph");
  r->slots = arena_alloc(&r->arena, sizeof(Slot) * (size_t)(g->nvalues + 1), 8);
  r->ops = arena_alloc(&r->arena, sizeof(RefOp) * (size_t)(g->nnodes + 1), 8);
  r->eval = arena_alloc(&r->arena, sizeof(RefEvalFn) * (size_t)(g->nnodes + 1), 8);
  r->prof = arena_alloc(&r->arena, sizeof(double) * (size_t)(g->nnodes + 1), 8);
  if (!r->slots || !r->ops || !r->eval || !r->prof)
    return ctx_oom(cx, "reference runner");
  for (int i = 0; i < g->nvalues; i++)
    r->slots[i].alias = -1;
  for (int i = 0; i < g->ninputs; i++) {
    Slot *s = NULL;
    TRY(value_slot(r, NULL, g->inputs[i], &s));
    if (g->inputs[i]->data)
      continue; /* a constant input is simply a constant */
    TRY(value_bytes(r, g->inputs[i], &s->bytes));
    s->runtime = true;
    s->def = DEF_INPUT;
    s->last = DEF_INPUT;
  }
  *scratch = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    if (n->dead)
      continue;
    RefOp *op = &r->ops[r->nops];
    bool folded = false;
    size_t need = 0;
    TRY(prepare_node(r, n, i, op, &folded, &need));
    if (folded)
      continue;
    r->eval[r->nops++] = kernels[n->op].eval;
    if (need > *scratch)
      *scratch = need;
  }
  for (int i = 0; i < g->noutputs; i++) {
    Slot *s = NULL;
    TRY(value_slot(r, NULL, g->outputs[i], &s));
    if (g->outputs[i]->data)
      TRY(const_data(r, g->outputs[i], s));
    if (s->runtime)
      use_until(r, s, g->nnodes);
    else if (!s->known)
      return ctx_err(cx, O2L_ERR_INVALID,
                     "reference runner: graph output '%s' is never computed",
                     g->outputs[i]->name);
  }
  return O2L_OK;
}

Status ref_prepare(Ctx *cx, const Graph *g, RefRunner **out) {
  *out = NULL;
  RefRunner *r = xrealloc(NULL, sizeof *r);
  if (!r)
    return ctx_oom(cx, "reference runner");
  memset(r, 0, sizeof *r);
  arena_init(&r->arena);
  r->cx = cx;
  r->g = g;
  size_t total = 0, scratch = 0;
  Status st = prepare_all(r, &scratch);
  if (st == O2L_OK)
    st = plan(r, &total);
  if (st == O2L_OK &&
      (!(r->block = arena_alloc(&r->arena, total ? total : 1, 64)) ||
       !(r->scratch = arena_alloc(&r->arena, scratch ? scratch : 1, 64))))
    st = ctx_oom(cx, "reference runner activations");
  if (st != O2L_OK) {
    ref_free(r);
    return st;
  }
  for (int i = 0; i < g->nvalues; i++)
    if (r->slots[i].runtime)
      r->slots[i].data = r->block + r->slots[r->slots[i].alias >= 0
                                                   ? r->slots[i].alias
                                                   : i].off;
  for (int k = 0; k < r->nops; k++) {
    RefOp *op = &r->ops[k];
    const Node *n = op->node;
    for (int i = 0; i < n->nin; i++)
      op->in[i] = n->in[i] ? r->slots[n->in[i]->id].data : NULL;
    for (int i = 0; i < n->nout; i++)
      op->out[i] = r->slots[n->out[i]->id].data;
  }
  *out = r;
  return O2L_OK;
}

/* ---- running -------------------------------------------------------------- */

static void observe(RefRunner *r, const Value *v) {
  if (v->dtype == DT_F32) {
    const Slot *s = &r->slots[v->id];
    r->obs(r->user, v, s->data, s->bytes / sizeof(float));
  }
}

Status ref_run(RefRunner *r, const float *const *inputs) {
  const Graph *g = r->g;
  for (int i = 0; i < g->ninputs; i++) {
    const Slot *s = &r->slots[g->inputs[i]->id];
    if (!s->runtime)
      continue;
    memcpy(s->data, inputs[i], s->bytes);
    if (r->obs)
      observe(r, g->inputs[i]);
  }
  RefEval e = {r->cx, r->scratch};
  bool prof = r->prof && r->prof[g->nnodes] != 0;
  for (int k = 0; k < r->nops; k++) {
    const RefOp *op = &r->ops[k];
    double t0 = prof ? now_seconds() : 0;
    TRY(r->eval[k](&e, op));
    if (prof)
      r->prof[op->index] += now_seconds() - t0;
    if (r->obs)
      for (int i = 0; i < op->node->nout; i++)
        observe(r, op->node->out[i]);
  }
  return O2L_OK;
}

const float *ref_output(RefRunner *r, int i) {
  if (i < 0 || i >= r->g->noutputs)
    return NULL;
  return r->slots[r->g->outputs[i]->id].data;
}

const void *ref_value_data(RefRunner *r, const Value *v) {
  if (!v || v->id < 0 || v->id >= r->g->nvalues || r->g->values[v->id] != v)
    return NULL;
  const Slot *s = &r->slots[v->id];
  if (s->known || (s->runtime && (s->def == DEF_INPUT || s->last == r->g->nnodes)))
    return s->data;
  return NULL;
}

void ref_set_observer(RefRunner *r, RefObserver fn, void *user) {
  r->obs = fn;
  r->user = user;
}

/* prof[nnodes] is the on/off flag, so the per-node array needs no other
 * field. */
void ref_set_profiling(RefRunner *r, int on) {
  memset(r->prof, 0, sizeof(double) * (size_t)r->g->nnodes);
  r->prof[r->g->nnodes] = on ? 1 : 0;
}

const double *ref_profile(const RefRunner *r) {
  return r->prof[r->g->nnodes] != 0 ? r->prof : NULL;
}

void ref_free(RefRunner *r) {
  if (!r)
    return;
  arena_free(&r->arena);
  xfree(r);
}
