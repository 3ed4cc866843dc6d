/* graph.c - building and editing a Graph (ir.h).
 *
 * Nodes and values are arena-allocated and referenced by pointer; the
 * pointer arrays grow with xrealloc and are freed with graph_release().
 * Edits are cheap and local: passes mark nodes dead, and graph_compact()
 * drops them (and the values nothing refers to any more) in one sweep.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

Graph *graph_new(Ctx *cx, GraphKind kind) {
  Graph *g = arena_alloc(cx->arena, sizeof *g, 8);
  if (!g) {
    ctx_oom(cx, "creating a graph");
    return NULL;
  }
  g->kind = kind;
  g->arena = cx->arena;
  return g;
}

void graph_release(Graph *g) {
  if (!g)
    return;
  xfree(g->values);
  xfree(g->nodes);
  g->values = NULL;
  g->nodes = NULL;
  g->nvalues = g->cvalues = g->nnodes = g->cnodes = 0;
}

static bool grow(Ctx *cx, void **arr, int *cap, int need, size_t elem) {
  if (need <= *cap)
    return true;
  int ncap = *cap ? *cap * 2 : 64;
  while (ncap < need)
    ncap *= 2;
  void *p = xrealloc(*arr, (size_t)ncap * elem);
  if (!p) {
    ctx_oom(cx, "growing the graph");
    return false;
  }
  *arr = p;
  *cap = ncap;
  return true;
}

Value *graph_add_value(Ctx *cx, Graph *g, const char *name, DType t, int rank,
                       const int64_t *dims) {
  if (rank > O2L_MAX_RANK) {
    ctx_err(cx, O2L_ERR_UNSUPPORTED,
            "tensor '%s' has rank %d; at most %d is supported", name ? name : "",
            rank, O2L_MAX_RANK);
    return NULL;
  }
  if (!grow(cx, (void **)&g->values, &g->cvalues, g->nvalues + 1,
            sizeof(Value *)))
    return NULL;
  Value *v = arena_alloc(g->arena, sizeof *v, 8);
  if (!v) {
    ctx_oom(cx, "adding a tensor");
    return NULL;
  }
  v->id = g->nvalues;
  v->name = name ? name : "";
  v->dtype = t;
  v->rank = rank;
  if (rank > 0 && dims)
    memcpy(v->dims, dims, sizeof(int64_t) * (size_t)rank);
  g->values[g->nvalues++] = v;
  return v;
}

Value *graph_add_const(Ctx *cx, Graph *g, const char *name, DType t, int rank,
                       const int64_t *dims, const void *data, size_t nbytes) {
  Value *v = graph_add_value(cx, g, name, t, rank, dims);
  if (v) {
    /* A zero-size constant still needs a non-NULL pointer to count as
     * constant. */
    static const unsigned char empty[16];
    v->data = data ? data : empty;
    v->nbytes = nbytes;
  }
  return v;
}

Node *graph_add_node(Ctx *cx, Graph *g, int op, const char *name, int nin,
                     Value *const *in, int nout, Value *const *out) {
  if (!grow(cx, (void **)&g->nodes, &g->cnodes, g->nnodes + 1, sizeof(Node *)))
    return NULL;
  Node *n = arena_alloc(g->arena, sizeof *n, 8);
  Value **ins = arena_alloc(g->arena, sizeof(Value *) * (size_t)(nin + 1), 8);
  Value **outs = arena_alloc(g->arena, sizeof(Value *) * (size_t)(nout + 1), 8);
  if (!n || !ins || !outs) {
    ctx_oom(cx, "adding a node");
    return NULL;
  }
  if (nin && in)
    memcpy(ins, in, sizeof(Value *) * (size_t)nin);
  if (nout && out)
    memcpy(outs, out, sizeof(Value *) * (size_t)nout);
  n->id = g->nnodes;
  n->op = op;
  n->name = name ? name : "";
  n->op_type = "";
  n->domain = "";
  n->nin = nin;
  n->nout = nout;
  n->in = ins;
  n->out = outs;
  g->nodes[g->nnodes++] = n;
  return n;
}

bool node_set_inputs(Graph *g, Node *n, int nin, Value *const *in) {
  Value **ins = arena_alloc(g->arena, sizeof(Value *) * (size_t)(nin + 1), 8);
  if (!ins)
    return false;
  if (nin)
    memcpy(ins, in, sizeof(Value *) * (size_t)nin);
  n->in = ins;
  n->nin = nin;
  return true;
}

static Status set_list(Ctx *cx, Graph *g, Value ***dst, int *count, int n,
                       Value *const *v) {
  Value **arr = arena_alloc(g->arena, sizeof(Value *) * (size_t)(n + 1), 8);
  if (!arr)
    return ctx_oom(cx, "setting graph inputs/outputs");
  if (n)
    memcpy(arr, v, sizeof(Value *) * (size_t)n);
  *dst = arr;
  *count = n;
  return O2L_OK;
}

Status graph_set_inputs(Ctx *cx, Graph *g, int n, Value *const *v) {
  TRY(set_list(cx, g, &g->inputs, &g->ninputs, n, v));
  for (int i = 0; i < n; i++)
    v[i]->is_input = 1;
  return O2L_OK;
}

Status graph_set_outputs(Ctx *cx, Graph *g, int n, Value *const *v) {
  TRY(set_list(cx, g, &g->outputs, &g->noutputs, n, v));
  for (int i = 0; i < n; i++)
    v[i]->is_output = 1;
  return O2L_OK;
}

void graph_uses(Graph *g) {
  for (int i = 0; i < g->nvalues; i++) {
    g->values[i]->producer = NULL;
    g->values[i]->nuses = 0;
  }
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead)
      continue;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j])
        n->in[j]->nuses++;
    for (int j = 0; j < n->nout; j++)
      if (n->out[j])
        n->out[j]->producer = n;
  }
}

void graph_compact(Graph *g) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i]->dead) {
      g->nodes[i]->id = k;
      g->nodes[k++] = g->nodes[i];
    }
  g->nnodes = k;
  graph_uses(g);
  /* Keep values that something refers to: produced, used, or graph I/O. */
  k = 0;
  for (int i = 0; i < g->nvalues; i++) {
    Value *v = g->values[i];
    if (v->producer || v->nuses || v->is_input || v->is_output) {
      v->id = k;
      g->values[k++] = v;
    }
  }
  g->nvalues = k;
}

Status graph_toposort(Ctx *cx, Graph *g) {
  graph_uses(g);
  int n = g->nnodes;
  if (n == 0)
    return O2L_OK;
  /* Kahn's algorithm over values: a node is ready when every input is
   * either not produced by a live node or already emitted.  Ties keep the
   * original order, so a sorted graph stays as it is. */
  int *pending = xrealloc(NULL, sizeof(int) * (size_t)n);
  Node **order = xrealloc(NULL, sizeof(Node *) * (size_t)n);
  unsigned char *done = xrealloc(NULL, (size_t)g->nvalues + 1);
  if (!pending || !order || !done) {
    xfree(pending);
    xfree(order);
    xfree(done);
    return ctx_oom(cx, "sorting the graph");
  }
  for (int i = 0; i < g->nvalues; i++) {
    g->values[i]->id = i;
    done[i] = g->values[i]->producer == NULL || g->values[i]->producer->dead;
  }
  int emitted = 0;
  memset(pending, 0, sizeof(int) * (size_t)n);
  bool progress = true;
  while (emitted < n && progress) {
    progress = false;
    for (int i = 0; i < n; i++) {
      Node *nd = g->nodes[i];
      if (pending[i])
        continue;
      bool ready = true;
      for (int j = 0; j < nd->nin && ready; j++)
        if (nd->in[j] && !done[nd->in[j]->id])
          ready = false;
      if (!ready)
        continue;
      pending[i] = 1;
      order[emitted++] = nd;
      for (int j = 0; j < nd->nout; j++)
        if (nd->out[j])
          done[nd->out[j]->id] = 1;
      progress = true;
    }
  }
  Status st = O2L_OK;
  if (emitted < n) {
    const Node *bad = NULL;
    for (int i = 0; i < n && !bad; i++)
      if (!pending[i])
        bad = g->nodes[i];
    st = ctx_err(cx, O2L_ERR_INVALID,
                 "the graph has a cycle or a use of an undefined tensor at "
                 "node '%s' (%s)",
                 bad->name, bad->op_type);
  } else {
    memcpy(g->nodes, order, sizeof(Node *) * (size_t)n);
    for (int i = 0; i < n; i++)
      g->nodes[i]->id = i;
  }
  xfree(pending);
  xfree(order);
  xfree(done);
  return st;
}

int graph_dce(Graph *g) {
  graph_uses(g);
  int killed = 0;
  /* Sweep backwards repeatedly: a node is dead if no output is used. */
  bool changed = true;
  while (changed) {
    changed = false;
    for (int i = g->nnodes - 1; i >= 0; i--) {
      Node *n = g->nodes[i];
      if (n->dead)
        continue;
      bool live = false;
      for (int j = 0; j < n->nout; j++)
        if (n->out[j] && (n->out[j]->nuses || n->out[j]->is_output))
          live = true;
      if (!live) {
        n->dead = true;
        killed++;
        changed = true;
        for (int j = 0; j < n->nin; j++)
          if (n->in[j])
            n->in[j]->nuses--;
      }
    }
  }
  return killed;
}

void graph_replace_uses(Graph *g, Value *from, Value *to) {
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead)
      continue;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] == from)
        n->in[j] = to;
  }
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == from) {
      g->outputs[i] = to;
      to->is_output = 1;
    }
}

int graph_consumers(const Graph *g, const Value *v, Node **out, int max) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead)
      continue;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] == v) {
        if (k < max)
          out[k] = n;
        k++;
        break;
      }
  }
  return k;
}

int64_t value_numel(const Value *v) {
  int64_t n;
  if (v->rank < 0 || !dims_numel(v->rank, v->dims, &n))
    return -1;
  return n;
}

bool value_float_scalar(const Value *v, double *out) {
  if (!value_is_const(v) || !dtype_is_float(v->dtype) || value_numel(v) != 1)
    return false;
  *out = load_as_f64(v->data, v->dtype, 0);
  return true;
}

bool value_same_shape(const Value *a, const Value *b) {
  if (a->rank != b->rank)
    return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i])
      return false;
  return true;
}

const char *value_shape_str(const Value *v, char *buf, size_t n) {
  if (v->rank < 0) {
    snprintf(buf, n, "unknown");
    return buf;
  }
  return dims_str(v->rank, v->dims, buf, n);
}

const Attr *node_attr(const Node *n, const char *name) {
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0)
      return &n->attrs[i];
  return NULL;
}

int64_t node_attr_int(const Node *n, const char *name, int64_t dflt) {
  const Attr *a = node_attr(n, name);
  return a && a->type == AT_INT ? a->i : dflt;
}

float node_attr_float(const Node *n, const char *name, float dflt) {
  const Attr *a = node_attr(n, name);
  if (!a)
    return dflt;
  if (a->type == AT_FLOAT)
    return a->f;
  if (a->type == AT_INT)
    return (float)a->i;
  return dflt;
}

const char *node_attr_str(const Node *n, const char *name, const char *dflt) {
  const Attr *a = node_attr(n, name);
  return a && a->type == AT_STRING && a->s ? a->s : dflt;
}

const int64_t *node_attr_ints(const Node *n, const char *name, int *count) {
  const Attr *a = node_attr(n, name);
  if (!a || a->type != AT_INTS) {
    *count = 0;
    return NULL;
  }
  *count = a->n;
  return a->ints;
}

/* The attribute slot for name, appended when missing, emptied and given
 * type t (NULL on OOM). */
static Attr *attr_slot(Ctx *cx, Node *n, const char *name, AttrType t) {
  Attr *slot = NULL;
  for (int i = 0; i < n->nattrs && !slot; i++)
    if (strcmp(n->attrs[i].name, name) == 0)
      slot = &n->attrs[i];
  if (!slot) {
    Attr *a = arena_alloc(cx->arena, sizeof(Attr) * (size_t)(n->nattrs + 1),
                          8);
    const char *nm = arena_strdup(cx->arena, name);
    if (!a || !nm) {
      ctx_oom(cx, "setting an attribute");
      return NULL;
    }
    if (n->nattrs)
      memcpy(a, n->attrs, sizeof(Attr) * (size_t)n->nattrs);
    n->attrs = a;
    slot = &a[n->nattrs++];
    slot->name = nm;
  }
  const char *nm = slot->name;
  memset(slot, 0, sizeof *slot);
  slot->name = nm;
  slot->type = t;
  return slot;
}

Status node_set_attr_ints(Ctx *cx, Node *n, const char *name,
                          const int64_t *v, int count) {
  int64_t *copy = arena_alloc(cx->arena, sizeof(int64_t) * (size_t)(count + 1), 8);
  Attr *a = copy ? attr_slot(cx, n, name, AT_INTS) : NULL;
  if (!a)
    return ctx_oom(cx, "setting an attribute");
  if (count)
    memcpy(copy, v, sizeof(int64_t) * (size_t)count);
  a->ints = copy;
  a->n = count;
  return O2L_OK;
}

Status node_set_attr_int(Ctx *cx, Node *n, const char *name, int64_t v) {
  Attr *a = attr_slot(cx, n, name, AT_INT);
  if (!a)
    return cx->status;
  a->i = v;
  return O2L_OK;
}

Status node_set_attr_float(Ctx *cx, Node *n, const char *name, float v) {
  Attr *a = attr_slot(cx, n, name, AT_FLOAT);
  if (!a)
    return cx->status;
  a->f = v;
  return O2L_OK;
}
