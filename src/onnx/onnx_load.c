/* onnx_load.c - ModelProto -> Graph (kind GRAPH_ONNX).
 *
 * The model is mmapped and read in place with the protobuf reader (pb.h);
 * names are copied into the arena, constant bytes are not (onnx_tensor.c).
 * The graph message is walked several times, each walk picking one field,
 * because the order of its fields and of its nodes is not guaranteed:
 * initializers, then inputs (shapes fixed from --input-shape), then nodes,
 * then outputs.  Each tensor name maps to one Value (an open-addressing
 * table); a node may use a name that a later node produces, and once
 * everything is read any name still without a producer is an error naming
 * the node that wanted it.  Subgraphs (If/Loop bodies) are not read.
 */
#include <stdio.h>
#include <string.h>

#include "onnx/onnx_priv.h"
#include "ops/ops.h"

/* ---- message field names, for errors (onnx.proto) ---------------------- */

#define MSG(var, name, ...)                                    \
  static const char *const var##_fields[] = {__VA_ARGS__};    \
  static const PbMsg var = {name, var##_fields,               \
                            (int)O2L_ARRAY_LEN(var##_fields)}

MSG(MODEL_MSG, "ModelProto", [1] = "ir_version", [2] = "producer_name",
    [3] = "producer_version", [4] = "domain", [5] = "model_version",
    [6] = "doc_string", [7] = "graph", [8] = "opset_import",
    [14] = "metadata_props", [20] = "training_info", [25] = "functions");
MSG(OPSET_MSG, "OperatorSetIdProto", [1] = "domain", [2] = "version");
MSG(GRAPH_MSG, "GraphProto", [1] = "node", [2] = "name", [5] = "initializer",
    [10] = "doc_string", [11] = "input", [12] = "output", [13] = "value_info",
    [14] = "quantization_annotation", [15] = "sparse_initializer");
MSG(NODE_MSG, "NodeProto", [1] = "input", [2] = "output", [3] = "name",
    [4] = "op_type", [5] = "attribute", [6] = "doc_string", [7] = "domain",
    [8] = "overload", [9] = "metadata_props");
MSG(ATTR_MSG, "AttributeProto", [1] = "name", [2] = "f", [3] = "i", [4] = "s",
    [5] = "t", [6] = "g", [7] = "floats", [8] = "ints", [9] = "strings",
    [10] = "tensors", [11] = "graphs", [13] = "doc_string", [14] = "tp",
    [15] = "type_protos", [20] = "type", [21] = "ref_attr_name",
    [22] = "sparse_tensor", [23] = "sparse_tensors");
MSG(VALUE_INFO_MSG, "ValueInfoProto", [1] = "name", [2] = "type",
    [3] = "doc_string", [4] = "metadata_props");
MSG(TYPE_MSG, "TypeProto", [1] = "tensor_type", [4] = "sequence_type",
    [5] = "map_type", [6] = "denotation", [8] = "sparse_tensor_type",
    [9] = "optional_type");
MSG(TYPE_TENSOR_MSG, "TypeProto.Tensor", [1] = "elem_type", [2] = "shape");
MSG(SHAPE_MSG, "TensorShapeProto", [1] = "dim");
MSG(DIM_MSG, "TensorShapeProto.Dimension", [1] = "dim_value",
    [2] = "dim_param", [3] = "denotation");

/* GraphProto, NodeProto, AttributeProto field numbers we read. */
/* Counts kept in ints stay far below INT_MAX, whatever the file says. */
enum { MAX_LIST = 1 << 28 };

enum { G_NODE = 1, G_INIT = 5, G_INPUT = 11, G_OUTPUT = 12, G_SPARSE_INIT = 15 };

/* ---- tensor names ------------------------------------------------------- */

enum { K_PENDING, K_CONST, K_INPUT, K_NODE };
static const char *const kind_words[] = {
    "a use", "an initializer", "a graph input", "the output of node"};

typedef struct NameEnt {
  const char *name; /* arena copy, NULL = empty slot */
  size_t len;
  uint32_t hash;
  int kind;         /* K_* */
  Value *v;
  const char *who;  /* K_NODE: producer; K_PENDING: first node using it */
  int who_index;    /* its index, to report the earliest user */
} NameEnt;

/* What a graph input's ValueInfo says, before its shape is settled. */
typedef struct InputInfo {
  Value *v;
  const char *param[O2L_MAX_RANK]; /* dim_param of symbolic dims, or NULL */
} InputInfo;

typedef struct Reader {
  Loader L;
  NameEnt *tab;     /* open addressing, power-of-two capacity */
  size_t cap, count;
  Value **scratch;  /* a node's inputs then outputs */
  size_t cscratch;
} Reader;

static uint32_t name_hash(const unsigned char *s, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 16777619u;
  return h;
}

static NameEnt *names_find(Reader *r, const unsigned char *s, size_t n) {
  if (!r->cap)
    return NULL;
  uint32_t h = name_hash(s, n);
  size_t mask = r->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    NameEnt *e = &r->tab[i];
    if (!e->name)
      return NULL;
    if (e->hash == h && e->len == n && memcmp(e->name, s, n) == 0)
      return e;
  }
}

static Status names_grow(Reader *r) {
  size_t ncap = r->cap ? r->cap * 2 : 256;
  NameEnt *t = xrealloc(NULL, sizeof(NameEnt) * ncap);
  if (!t)
    return ctx_oom(r->L.cx, "indexing tensor names");
  memset(t, 0, sizeof(NameEnt) * ncap);
  for (size_t i = 0; i < r->cap; i++) {
    if (!r->tab[i].name)
      continue;
    size_t j = r->tab[i].hash & (ncap - 1);
    while (t[j].name)
      j = (j + 1) & (ncap - 1);
    t[j] = r->tab[i];
  }
  xfree(r->tab);
  r->tab = t;
  r->cap = ncap;
  return O2L_OK;
}

/* Adds a name known to be absent; `copy` is its arena copy.  The entry
 * pointer is valid until the next add. */
static Status names_add(Reader *r, const unsigned char *s, size_t n,
                        const char *copy, NameEnt **out) {
  if ((r->count + 1) * 2 > r->cap)
    TRY(names_grow(r));
  uint32_t h = name_hash(s, n);
  size_t mask = r->cap - 1, i = h & mask;
  while (r->tab[i].name)
    i = (i + 1) & mask;
  NameEnt *e = &r->tab[i];
  e->name = copy;
  e->len = n;
  e->hash = h;
  r->count++;
  *out = e;
  return O2L_OK;
}

static char *copy_str(Reader *r, const unsigned char *s, size_t n) {
  char *c = arena_strndup(r->L.cx->arena, (const char *)s, n);
  if (!c)
    ctx_oom(r->L.cx, "copying a name");
  return c;
}

/* ---- ValueInfoProto ----------------------------------------------------- */

typedef struct VInfo {
  const unsigned char *name;
  size_t name_n;
  bool tensor, other;  /* has a tensor type / some other type */
  int64_t elem;
  bool has_shape;
  int rank;            /* counted up to O2L_MAX_RANK + 1 */
  int64_t dims[O2L_MAX_RANK];  /* -1 = symbolic */
  const unsigned char *param[O2L_MAX_RANK];
  size_t param_n[O2L_MAX_RANK];
} VInfo;

static Status read_dim(Pb *m, VInfo *vi) {
  Pb d;
  TRY(pb_sub(m, &DIM_MSG, &d));
  int64_t value = -1;
  const unsigned char *param = NULL;
  size_t param_n = 0;
  while (pb_more(&d)) {
    TRY(pb_next(&d));
    if (d.field == 1)
      TRY(pb_i64(&d, &value));
    else if (d.field == 2)
      TRY(pb_bytes(&d, &param, &param_n));
    else
      TRY(pb_skip(&d));
  }
  if (vi->rank < O2L_MAX_RANK) {
    /* Some exporters write -1 for "unknown": symbolic too. */
    vi->dims[vi->rank] = value >= 0 ? value : -1;
    vi->param[vi->rank] = value >= 0 ? NULL : param;
    vi->param_n[vi->rank] = param_n;
  }
  if (vi->rank <= O2L_MAX_RANK)
    vi->rank++;
  return O2L_OK;
}

static Status read_tensor_type(Pb *m, VInfo *vi) {
  Pb t;
  TRY(pb_sub(m, &TYPE_TENSOR_MSG, &t));
  vi->tensor = true;
  while (pb_more(&t)) {
    TRY(pb_next(&t));
    if (t.field == 1) {
      TRY(pb_i64(&t, &vi->elem));
    } else if (t.field == 2) {
      Pb s;
      TRY(pb_sub(&t, &SHAPE_MSG, &s));
      vi->has_shape = true;
      vi->rank = 0;
      while (pb_more(&s)) {
        TRY(pb_next(&s));
        if (s.field == 1)
          TRY(read_dim(&s, vi));
        else
          TRY(pb_skip(&s));
      }
    } else {
      TRY(pb_skip(&t));
    }
  }
  return O2L_OK;
}

static Status read_value_info(Pb *m, VInfo *vi) {
  memset(vi, 0, sizeof *vi);
  Pb v;
  TRY(pb_sub(m, &VALUE_INFO_MSG, &v));
  while (pb_more(&v)) {
    TRY(pb_next(&v));
    if (v.field == 1) {
      TRY(pb_bytes(&v, &vi->name, &vi->name_n));
    } else if (v.field == 2) {
      Pb t;
      TRY(pb_sub(&v, &TYPE_MSG, &t));
      while (pb_more(&t)) {
        TRY(pb_next(&t));
        if (t.field == 1) {
          TRY(read_tensor_type(&t, vi));
        } else {
          if (t.field == 4 || t.field == 5 || t.field == 8 || t.field == 9)
            vi->other = true;
          TRY(pb_skip(&t));
        }
      }
    } else {
      TRY(pb_skip(&v));
    }
  }
  return O2L_OK;
}

/* ---- graph inputs and their shapes -------------------------------------- */

/* "1x3x?x?": the shape with symbolic dims shown as '?'. */
static const char *shape_q(const Value *v, char *buf, size_t n) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < v->rank && k < n; i++) {
    int w = v->dims[i] < 0
                ? snprintf(buf + k, n - k, "%s?", i ? "x" : "")
                : snprintf(buf + k, n - k, "%s%lld", i ? "x" : "",
                           (long long)v->dims[i]);
    if (w < 0)
      break;
    k += (size_t)w;
  }
  if (v->rank == 0)
    snprintf(buf, n, "scalar");
  return buf;
}

static Status read_input(Reader *r, Pb *m, InputInfo *in, int *nin) {
  Ctx *cx = r->L.cx;
  VInfo vi;
  TRY(read_value_info(m, &vi));
  if (!vi.name_n)
    return ctx_err(cx, O2L_ERR_INVALID, "%s: graph input #%d has no name",
                   r->L.path, *nin + 1);
  NameEnt *e = names_find(r, vi.name, vi.name_n);
  if (e && e->kind == K_CONST)
    return O2L_OK; /* an initializer also listed as input (IR < 4 style) */
  char *name = copy_str(r, vi.name, vi.name_n);
  if (!name)
    return cx->status;
  if (e)
    return ctx_err(cx, O2L_ERR_INVALID, "%s: graph input '%s' is listed twice",
                   r->L.path, name);
  if (!vi.tensor)
    return vi.other
               ? ctx_err(cx, O2L_ERR_UNSUPPORTED,
                         "%s: graph input '%s' is not a tensor (sequence, map "
                         "and optional inputs are not supported)",
                         r->L.path, name)
               : ctx_err(cx, O2L_ERR_INVALID, "%s: graph input '%s' has no type",
                         r->L.path, name);
  DType dt = onnx_dtype(vi.elem);
  if (vi.elem == 0)
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: graph input '%s' has no element type", r->L.path, name);
  if (dt == DT_UNDEF || dt == DT_STRING)
    return ctx_err(cx, O2L_ERR_UNSUPPORTED,
                   "%s: graph input '%s' has element type %s (%lld), which is "
                   "not supported", r->L.path, name, onnx_dtype_name(vi.elem),
                   (long long)vi.elem);
  if (vi.rank > O2L_MAX_RANK)
    return ctx_err(cx, O2L_ERR_UNSUPPORTED,
                   "%s: graph input '%s' has more than %d dimensions",
                   r->L.path, name, O2L_MAX_RANK);
  Value *v = graph_add_value(cx, r->L.g, name, dt, vi.has_shape ? vi.rank : -1,
                             vi.dims);
  if (!v)
    return cx->status;
  TRY(names_add(r, vi.name, vi.name_n, name, &e));
  e->kind = K_INPUT;
  e->v = v;
  InputInfo *ii = &in[(*nin)++];
  ii->v = v;
  for (int i = 0; i < vi.rank; i++)
    if (vi.param[i] && vi.param_n[i]) {
      ii->param[i] = copy_str(r, vi.param[i], vi.param_n[i]);
      if (!ii->param[i])
        return cx->status;
    }
  return O2L_OK;
}

/* "NAME=1,3,224,224": the name's length, the rank and dims. */
static Status parse_shape_opt(Ctx *cx, const char *spec, size_t *name_n,
                              int *rank, int64_t *dims) {
  if (!spec)
    return ctx_err(cx, O2L_ERR_USAGE, "--input-shape: missing value");
  const char *eq = strrchr(spec, '=');
  if (!eq || eq == spec || !eq[1])
    return ctx_err(cx, O2L_ERR_USAGE,
                   "--input-shape '%s': expected NAME=D1,D2,... such as "
                   "input=1,3,224,224", spec);
  *name_n = (size_t)(eq - spec);
  *rank = 0;
  const char *p = eq + 1;
  for (;;) {
    const char *tok = p;
    int64_t v = 0;
    while (*p >= '0' && *p <= '9') {
      v = v * 10 + (*p - '0');
      if (v > INT32_MAX)
        return ctx_err(cx, O2L_ERR_USAGE,
                       "--input-shape '%s': dimension %d is too large", spec,
                       *rank);
      p++;
    }
    size_t toklen = strcspn(tok, ",");
    if (p == tok || (*p && *p != ','))
      return ctx_err(cx, O2L_ERR_USAGE,
                     "--input-shape '%s': '%.*s' is not a positive integer",
                     spec, (int)toklen, tok);
    if (v < 1)
      return ctx_err(cx, O2L_ERR_USAGE,
                     "--input-shape '%s': dimension %d is %lld; dimensions "
                     "must be at least 1", spec, *rank, (long long)v);
    if (*rank == O2L_MAX_RANK)
      return ctx_err(cx, O2L_ERR_USAGE,
                     "--input-shape '%s': more than %d dimensions", spec,
                     O2L_MAX_RANK);
    dims[(*rank)++] = v;
    if (!*p)
      return O2L_OK;
    p++; /* ',' */
  }
}

static void list_inputs(const InputInfo *in, int n, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < n && k < cap; i++) {
    int w = snprintf(buf + k, cap - k, "%s'%s'", i ? ", " : "", in[i].v->name);
    if (w < 0)
      break;
    k += (size_t)w;
  }
  if (n == 0)
    snprintf(buf, cap, "(none)");
}

/* Applies one --input-shape entry; *which gets the input's index. */
static Status apply_shape_opt(Ctx *cx, const char *spec, InputInfo *in, int n,
                              int *which) {
  size_t name_n = 0;
  int rank = 0;
  int64_t dims[O2L_MAX_RANK];
  TRY(parse_shape_opt(cx, spec, &name_n, &rank, dims));
  int j;
  for (j = 0; j < n; j++)
    if (strlen(in[j].v->name) == name_n &&
        memcmp(in[j].v->name, spec, name_n) == 0)
      break;
  if (j == n) {
    char names[1024];
    list_inputs(in, n, names, sizeof names);
    return ctx_err(cx, O2L_ERR_USAGE,
                   "--input-shape '%s': the model has no input '%.*s'; its "
                   "inputs are %s", spec, (int)name_n, spec, names);
  }
  Value *v = in[j].v;
  char shape[200];
  if (v->rank >= 0 && v->rank != rank)
    return ctx_err(cx, O2L_ERR_USAGE,
                   "--input-shape '%s': input '%s' has rank %d (%s), not %d",
                   spec, v->name, v->rank, shape_q(v, shape, sizeof shape),
                   rank);
  for (int d = 0; v->rank >= 0 && d < rank; d++)
    if (v->dims[d] >= 0 && v->dims[d] != dims[d])
      return ctx_err(cx, O2L_ERR_USAGE,
                     "--input-shape '%s': dimension %d of input '%s' is %lld "
                     "in the model (%s), not %lld", spec, d, v->name,
                     (long long)v->dims[d], shape_q(v, shape, sizeof shape),
                     (long long)dims[d]);
  v->rank = rank;
  memcpy(v->dims, dims, sizeof(int64_t) * (size_t)rank);
  *which = j;
  return O2L_OK;
}

/* Every input ends with a static shape: from --input-shape, or the model's
 * own with a symbolic batch dimension set to 1. */
static Status resolve_inputs(Reader *r, InputInfo *in, int n) {
  Ctx *cx = r->L.cx;
  const o2l_options *opt = cx->opt;
  int nopt = opt && opt->input_shapes ? opt->n_input_shapes : 0;
  unsigned char *given = arena_alloc(cx->arena, (size_t)n + 1, 1);
  if (!given)
    return ctx_oom(cx, "reading input shapes");
  for (int i = 0; i < nopt; i++) {
    int j = 0;
    TRY(apply_shape_opt(cx, opt->input_shapes[i], in, n, &j));
    if (given[j])
      return ctx_err(cx, O2L_ERR_USAGE,
                     "--input-shape is given twice for input '%s'",
                     in[j].v->name);
    given[j] = 1;
  }
  char shape[200];
  for (int i = 0; i < n; i++) {
    Value *v = in[i].v;
    if (given[i])
      continue;
    if (v->rank < 0)
      return ctx_err(cx, O2L_ERR_USAGE,
                     "input '%s' has no shape in the model; give one with "
                     "--input-shape %s=D1,D2,...", v->name, v->name);
    for (int d = 1; d < v->rank; d++)
      if (v->dims[d] < 0)
        return ctx_err(cx, O2L_ERR_USAGE,
                       "input '%s' has shape %s: dimension %d ('%s') is "
                       "symbolic; give the whole shape with --input-shape "
                       "%s=D1,D2,...", v->name, shape_q(v, shape, sizeof shape),
                       d, in[i].param[d] ? in[i].param[d] : "?", v->name);
    if (v->rank > 0 && v->dims[0] < 0) {
      v->dims[0] = 1;
      ctx_notice(cx, "input '%s': dimension 0 ('%s') set to 1; use "
                     "--input-shape to choose", v->name,
                 in[i].param[0] ? in[i].param[0] : "?");
    }
  }
  return O2L_OK;
}

/* ---- nodes -------------------------------------------------------------- */

/* A node input: the value of that name, created pending if no one has
 * defined it yet (graphs are not always sorted). */
static Status use_name(Reader *r, const unsigned char *s, size_t n,
                       const char *node, int index, Value **out) {
  NameEnt *e = names_find(r, s, n);
  if (e) {
    *out = e->v;
    return O2L_OK;
  }
  char *name = copy_str(r, s, n);
  if (!name)
    return r->L.cx->status;
  Value *v = graph_add_value(r->L.cx, r->L.g, name, DT_UNDEF, -1, NULL);
  if (!v)
    return r->L.cx->status;
  TRY(names_add(r, s, n, name, &e));
  e->kind = K_PENDING;
  e->v = v;
  e->who = node;
  e->who_index = index;
  *out = v;
  return O2L_OK;
}

static Status def_name(Reader *r, const unsigned char *s, size_t n,
                       const char *node, const char *op_type, Value **out) {
  NameEnt *e = names_find(r, s, n);
  if (e && e->kind != K_PENDING)
    return ctx_err(r->L.cx, O2L_ERR_INVALID,
                   "%s: node '%s' (%s) writes tensor '%s', which is already "
                   "%s%s%s%s", r->L.path, node, op_type, e->name,
                   kind_words[e->kind], e->kind == K_NODE ? " '" : "",
                   e->kind == K_NODE ? e->who : "", e->kind == K_NODE ? "'" : "");
  if (!e)
    TRY(use_name(r, s, n, node, -1, out));
  e = names_find(r, s, n);
  e->kind = K_NODE;
  e->who = node;
  *out = e->v;
  return O2L_OK;
}

typedef struct NodeHead {
  const unsigned char *name, *op_type, *domain;
  size_t name_n, op_type_n, domain_n;
  int nin, nout, nattrs;
} NodeHead;

static Status scan_node(Pb nm, NodeHead *h) {
  memset(h, 0, sizeof *h);
  const unsigned char *p;
  size_t n;
  while (pb_more(&nm)) {
    TRY(pb_next(&nm));
    switch (nm.field) {
    case 1: TRY(pb_bytes(&nm, &p, &n)); h->nin++; break;
    case 2: TRY(pb_bytes(&nm, &p, &n)); h->nout++; break;
    case 3: TRY(pb_bytes(&nm, &h->name, &h->name_n)); break;
    case 4: TRY(pb_bytes(&nm, &h->op_type, &h->op_type_n)); break;
    case 5: TRY(pb_bytes(&nm, &p, &n)); h->nattrs++; break;
    case 7: TRY(pb_bytes(&nm, &h->domain, &h->domain_n)); break;
    default: TRY(pb_skip(&nm)); break;
    }
    if (h->nin > MAX_LIST || h->nout > MAX_LIST || h->nattrs > MAX_LIST)
      return pb_err(&nm, "makes a node with more than %d entries", MAX_LIST);
  }
  return O2L_OK;
}

typedef struct AttrScan {
  const unsigned char *name, *s;
  size_t name_n, s_n;
  bool has_f, has_i, has_s, has_t, has_g, has_sparse;
  Pb t;
  float f;
  int64_t i, type;
  size_t nfloats, nints, nstrings, ntensors, ngraphs;
} AttrScan;

static Status scan_attr(Pb am, AttrScan *a) {
  memset(a, 0, sizeof *a);
  Pb vals;
  const unsigned char *p;
  size_t n;
  while (pb_more(&am)) {
    TRY(pb_next(&am));
    switch (am.field) {
    case 1: TRY(pb_bytes(&am, &a->name, &a->name_n)); break;
    case 2: TRY(pb_f32(&am, &a->f)); a->has_f = true; break;
    case 3: TRY(pb_i64(&am, &a->i)); a->has_i = true; break;
    case 4: TRY(pb_bytes(&am, &a->s, &a->s_n)); a->has_s = true; break;
    case 5: TRY(pb_sub(&am, &ONNX_TENSOR_MSG, &a->t)); a->has_t = true; break;
    case 6: TRY(pb_bytes(&am, &p, &n)); a->has_g = true; break;
    case 7:
      TRY(pb_packed(&am, PB_FIXED32, &vals));
      a->nfloats += pb_packed_count(&vals, PB_FIXED32);
      break;
    case 8:
      TRY(pb_packed(&am, PB_VARINT, &vals));
      a->nints += pb_packed_count(&vals, PB_VARINT);
      break;
    case 9: TRY(pb_bytes(&am, &p, &n)); a->nstrings++; break;
    case 10: TRY(pb_bytes(&am, &p, &n)); a->ntensors++; break;
    case 11: TRY(pb_bytes(&am, &p, &n)); a->ngraphs++; break;
    case 20: TRY(pb_i64(&am, &a->type)); break;
    case 22: TRY(pb_bytes(&am, &p, &n)); a->has_sparse = true; break;
    default: TRY(pb_skip(&am)); break;
    }
    if (a->nfloats > MAX_LIST || a->nints > MAX_LIST || a->nstrings > MAX_LIST)
      return pb_err(&am, "makes a list of more than %d values", MAX_LIST);
  }
  return O2L_OK;
}

/* Files from before IR version 2 have no AttributeProto.type: the field
 * that is present says it. */
static AttrType infer_attr_type(const AttrScan *a) {
  if (a->has_f) return AT_FLOAT;
  if (a->has_i) return AT_INT;
  if (a->has_s) return AT_STRING;
  if (a->has_t) return AT_TENSOR;
  if (a->has_g) return AT_GRAPH;
  if (a->nfloats) return AT_FLOATS;
  if (a->nints) return AT_INTS;
  if (a->nstrings) return AT_STRINGS;
  if (a->ntensors) return AT_TENSORS;
  if (a->ngraphs) return AT_GRAPHS;
  if (a->has_sparse) return AT_SPARSE_TENSOR;
  return AT_UNDEF;
}

/* The repeated fields: floats, ints, strings. */
static Status fill_attr_lists(Reader *r, Pb am, const AttrScan *s, Attr *a,
                              int *nints) {
  Arena *ar = r->L.cx->arena;
  float *floats = s->nfloats ? arena_alloc(ar, sizeof(float) * s->nfloats, 8) : NULL;
  int64_t *ints = s->nints ? arena_alloc(ar, sizeof(int64_t) * s->nints, 8) : NULL;
  const char **strs = s->nstrings ? arena_alloc(ar, sizeof(char *) * s->nstrings, 8) : NULL;
  if ((s->nfloats && !floats) || (s->nints && !ints) || (s->nstrings && !strs))
    return ctx_oom(r->L.cx, "reading attributes");
  size_t kf = 0, ki = 0, ks = 0;
  while (pb_more(&am)) {
    TRY(pb_next(&am));
    Pb vals;
    if (am.field == 7) {
      TRY(pb_packed(&am, PB_FIXED32, &vals));
      while (pb_more(&vals) && kf < s->nfloats) {
        uint32_t w;
        TRY(pb_fixed32(&vals, &w));
        memcpy(&floats[kf++], &w, 4);
      }
    } else if (am.field == 8) {
      TRY(pb_packed(&am, PB_VARINT, &vals));
      while (pb_more(&vals)) {
        uint64_t u;
        TRY(pb_varint(&vals, &u));
        if (ki < s->nints) /* always: each varint ends in a counted byte */
          ints[ki++] = (int64_t)u;
      }
    } else if (am.field == 9) {
      const unsigned char *p;
      size_t n;
      TRY(pb_bytes(&am, &p, &n));
      if (ks < s->nstrings && !(strs[ks++] = copy_str(r, p, n)))
        return r->L.cx->status;
    } else {
      TRY(pb_skip(&am));
    }
  }
  a->floats = floats;
  a->ints = ints;
  a->strings = strs;
  *nints = (int)ki;
  return O2L_OK;
}

static Status read_attr(Reader *r, Pb *m, const char *node, Attr *a) {
  Ctx *cx = r->L.cx;
  Pb am;
  TRY(pb_sub(m, &ATTR_MSG, &am));
  AttrScan s;
  TRY(scan_attr(am, &s));
  if (!s.name_n)
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: node '%s' has an attribute without a name", r->L.path,
                   node);
  if (!(a->name = copy_str(r, s.name, s.name_n)))
    return cx->status;
  if (s.type)
    a->type = s.type >= AT_FLOAT && s.type <= AT_SPARSE_TENSOR ? (AttrType)s.type
                                                               : AT_UNDEF;
  else
    a->type = infer_attr_type(&s);
  a->f = s.f;
  a->i = s.i;
  if (s.has_s) {
    if (!(a->s = copy_str(r, s.s, s.s_n)))
      return cx->status;
  } else if (a->type == AT_STRING) {
    a->s = "";
  }
  int nints = 0;
  if (s.nfloats || s.nints || s.nstrings)
    TRY(fill_attr_lists(r, am, &s, a, &nints));
  switch (a->type) {
  case AT_FLOATS: a->n = (int)s.nfloats; break;
  case AT_INTS: a->n = nints; break;
  case AT_STRINGS: a->n = (int)s.nstrings; break;
  case AT_TENSORS: a->n = (int)s.ntensors; break;
  case AT_GRAPHS: a->n = (int)s.ngraphs; break;
  default: break;
  }
  if (s.has_t) {
    TensorInfo t;
    Pb tm = s.t;
    TRY(onnx_tensor_scan(&r->L, &tm, &t));
    char *name = t.name_n ? copy_str(r, t.name, t.name_n)
                          : arena_printf(cx->arena, "%s.%s", node, a->name);
    if (!name)
      return cx->status ? cx->status : ctx_oom(cx, "naming a tensor");
    TRY(onnx_tensor_value(&r->L, &t, name, &a->t));
  } else if (a->type == AT_TENSOR) {
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: attribute '%s' of node '%s' is a TENSOR but holds no "
                   "tensor", r->L.path, a->name, node);
  }
  return O2L_OK;
}

static Status scratch_reserve(Reader *r, size_t n) {
  if (n <= r->cscratch)
    return O2L_OK;
  Value **p = xrealloc(r->scratch, sizeof(Value *) * n);
  if (!p)
    return ctx_oom(r->L.cx, "reading a node");
  r->scratch = p;
  r->cscratch = n;
  return O2L_OK;
}

static bool is_default_domain(const unsigned char *d, size_t n) {
  return n == 0 || (n == 7 && memcmp(d, "ai.onnx", 7) == 0);
}

static Status read_node(Reader *r, Pb *m, int index) {
  Ctx *cx = r->L.cx;
  Pb nm;
  TRY(pb_sub(m, &NODE_MSG, &nm));
  NodeHead h;
  TRY(scan_node(nm, &h));
  if (!h.op_type_n)
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: node #%d (at byte %zu) has no op_type", r->L.path,
                   index, pb_offset(&nm, nm.p));
  char *op_type = copy_str(r, h.op_type, h.op_type_n);
  if (!op_type)
    return cx->status;
  bool dflt = is_default_domain(h.domain, h.domain_n);
  const char *domain = dflt ? "" : copy_str(r, h.domain, h.domain_n);
  const char *name = h.name_n ? copy_str(r, h.name, h.name_n)
                              : arena_printf(cx->arena, "%s_%d", op_type, index);
  if (!domain || !name)
    return cx->status ? cx->status : ctx_oom(cx, "naming a node");
  Attr *attrs = h.nattrs ? arena_alloc(cx->arena, sizeof(Attr) * (size_t)h.nattrs, 8)
                         : NULL;
  if (h.nattrs && !attrs)
    return ctx_oom(cx, "reading attributes");
  TRY(scratch_reserve(r, (size_t)h.nin + (size_t)h.nout + 1));
  Value **in = r->scratch, **out = r->scratch + h.nin;
  int ki = 0, ko = 0, ka = 0, nout = 0;
  while (pb_more(&nm)) {
    TRY(pb_next(&nm));
    const unsigned char *p;
    size_t n;
    if (nm.field == 1) {
      TRY(pb_bytes(&nm, &p, &n));
      in[ki] = NULL; /* "" = an omitted optional input */
      if (n)
        TRY(use_name(r, p, n, name, index, &in[ki]));
      ki++;
    } else if (nm.field == 2) {
      TRY(pb_bytes(&nm, &p, &n));
      out[ko] = NULL;
      if (n) {
        TRY(def_name(r, p, n, name, op_type, &out[ko]));
        nout = ko + 1;
      }
      ko++;
    } else if (nm.field == 5) {
      TRY(read_attr(r, &nm, name, &attrs[ka++]));
    } else {
      TRY(pb_skip(&nm));
    }
  }
  /* Omitted optional outputs: trailing ones are dropped, inner ones get a
   * value nothing reads, so out[] never holds NULL. */
  for (int j = 0; j < nout; j++)
    if (!out[j]) {
      char *vn = arena_printf(cx->arena, "%s:unused%d", name, j);
      if (!vn || !(out[j] = graph_add_value(cx, r->L.g, vn, DT_UNDEF, -1, NULL)))
        return cx->status ? cx->status : ctx_oom(cx, "reading a node");
    }
  int op = dflt ? op_lookup(op_type) : -1;
  Node *node = graph_add_node(cx, r->L.g, op, name, h.nin, in, nout, out);
  if (!node)
    return cx->status;
  node->op_type = op_type;
  node->domain = domain;
  node->nattrs = h.nattrs;
  node->attrs = attrs;
  return O2L_OK;
}

/* ---- the graph ---------------------------------------------------------- */

static Status read_initializer(Reader *r, Pb *m, int index) {
  Ctx *cx = r->L.cx;
  Pb tm;
  TRY(pb_sub(m, &ONNX_TENSOR_MSG, &tm));
  size_t at = pb_offset(&tm, tm.p);
  TensorInfo t;
  TRY(onnx_tensor_scan(&r->L, &tm, &t));
  if (!t.name_n)
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: initializer #%d (at byte %zu) has no name", r->L.path,
                   index, at);
  char *name = copy_str(r, t.name, t.name_n);
  if (!name)
    return cx->status;
  if (names_find(r, t.name, t.name_n))
    return ctx_err(cx, O2L_ERR_INVALID, "%s: initializer '%s' is defined twice",
                   r->L.path, name);
  Value *v;
  TRY(onnx_tensor_value(&r->L, &t, name, &v));
  NameEnt *e;
  TRY(names_add(r, t.name, t.name_n, name, &e));
  e->kind = K_CONST;
  e->v = v;
  return O2L_OK;
}

static Status read_output(Reader *r, Pb *m, Value **outs, int *nout) {
  Ctx *cx = r->L.cx;
  VInfo vi;
  TRY(read_value_info(m, &vi));
  if (!vi.name_n)
    return ctx_err(cx, O2L_ERR_INVALID, "%s: graph output #%d has no name",
                   r->L.path, *nout + 1);
  NameEnt *e = names_find(r, vi.name, vi.name_n);
  if (!e || e->kind == K_PENDING) {
    char *name = copy_str(r, vi.name, vi.name_n);
    return name ? ctx_err(cx, O2L_ERR_INVALID,
                          "%s: graph output '%s' is not produced by any node, "
                          "nor an initializer or graph input", r->L.path, name)
                : cx->status;
  }
  /* Only the element type is kept: output shapes are recomputed. */
  DType dt = onnx_dtype(vi.elem);
  if (e->v->dtype == DT_UNDEF && dt != DT_STRING)
    e->v->dtype = dt;
  outs[(*nout)++] = e->v;
  return O2L_OK;
}

static Status check_all_defined(Reader *r) {
  const NameEnt *bad = NULL;
  for (size_t i = 0; i < r->cap; i++) {
    const NameEnt *e = &r->tab[i];
    if (e->name && e->kind == K_PENDING &&
        (!bad || e->who_index < bad->who_index))
      bad = e;
  }
  if (!bad)
    return O2L_OK;
  const char *op = "?";
  if (bad->who_index >= 0 && bad->who_index < r->L.g->nnodes)
    op = r->L.g->nodes[bad->who_index]->op_type;
  return ctx_err(r->L.cx, O2L_ERR_INVALID,
                 "%s: node '%s' (%s) uses tensor '%s', which is not produced "
                 "by any node, nor an initializer or graph input", r->L.path,
                 bad->who, op, bad->name);
}

static Status read_graph(Reader *r, Pb gm) {
  Ctx *cx = r->L.cx;
  int counts[16] = {0};
  Pb m = gm;
  while (pb_more(&m)) {
    TRY(pb_next(&m));
    if (m.field == G_SPARSE_INIT)
      return ctx_err(cx, O2L_ERR_UNSUPPORTED,
                     "%s: sparse initializers are not supported", r->L.path);
    if (m.field < 16 && ++counts[m.field] > MAX_LIST)
      return pb_err(&m, "repeats more than %d times", MAX_LIST);
    TRY(pb_skip(&m));
  }
  InputInfo *ins = arena_alloc(cx->arena, sizeof(InputInfo) * (size_t)(counts[G_INPUT] + 1), 8);
  Value **outs = arena_alloc(cx->arena, sizeof(Value *) * (size_t)(counts[G_OUTPUT] + 1), 8);
  if (!ins || !outs)
    return ctx_oom(cx, "reading the graph");
  int nin = 0, nout = 0, k = 0;
  for (m = gm; pb_more(&m);) {
    TRY(pb_next(&m));
    if (m.field == G_INIT)
      TRY(read_initializer(r, &m, k++));
    else
      TRY(pb_skip(&m));
  }
  for (m = gm; pb_more(&m);) {
    TRY(pb_next(&m));
    if (m.field == G_INPUT)
      TRY(read_input(r, &m, ins, &nin));
    else
      TRY(pb_skip(&m));
  }
  TRY(resolve_inputs(r, ins, nin));
  k = 0;
  for (m = gm; pb_more(&m);) {
    TRY(pb_next(&m));
    if (m.field == G_NODE)
      TRY(read_node(r, &m, k++));
    else
      TRY(pb_skip(&m));
  }
  for (m = gm; pb_more(&m);) {
    TRY(pb_next(&m));
    if (m.field == G_OUTPUT)
      TRY(read_output(r, &m, outs, &nout));
    else
      TRY(pb_skip(&m));
  }
  TRY(check_all_defined(r));
  if (nout == 0)
    return ctx_err(cx, O2L_ERR_INVALID, "%s: the graph has no outputs",
                   r->L.path);
  Value **in_vals = arena_alloc(cx->arena, sizeof(Value *) * (size_t)(nin + 1), 8);
  if (!in_vals)
    return ctx_oom(cx, "reading the graph");
  for (int i = 0; i < nin; i++)
    in_vals[i] = ins[i].v;
  TRY(graph_set_inputs(cx, r->L.g, nin, in_vals));
  return graph_set_outputs(cx, r->L.g, nout, outs);
}

/* ---- the model ---------------------------------------------------------- */

static Status read_opset(Pb *m, int64_t *version) {
  Pb om;
  TRY(pb_sub(m, &OPSET_MSG, &om));
  const unsigned char *d = NULL;
  size_t dn = 0;
  int64_t v = 0;
  while (pb_more(&om)) {
    TRY(pb_next(&om));
    if (om.field == 1)
      TRY(pb_bytes(&om, &d, &dn));
    else if (om.field == 2)
      TRY(pb_i64(&om, &v));
    else
      TRY(pb_skip(&om));
  }
  if (is_default_domain(d, dn) && v > *version)
    *version = v;
  return O2L_OK;
}

static Status read_model(Reader *r, const unsigned char *p, size_t n) {
  Ctx *cx = r->L.cx;
  Pb m = pb_open(&r->L.src, &MODEL_MSG, p, n);
  Pb gm = {0};
  bool has_graph = false, has_opset = false;
  int64_t opset = 0;
  const unsigned char *pn = NULL, *pv = NULL;
  size_t pn_n = 0, pv_n = 0;
  while (pb_more(&m)) {
    TRY(pb_next(&m));
    switch (m.field) {
    case 2: TRY(pb_bytes(&m, &pn, &pn_n)); break;
    case 3: TRY(pb_bytes(&m, &pv, &pv_n)); break;
    case 7: TRY(pb_sub(&m, &GRAPH_MSG, &gm)); has_graph = true; break;
    case 8: TRY(read_opset(&m, &opset)); has_opset = true; break;
    default: TRY(pb_skip(&m)); break;
    }
  }
  /* A model cut short at a field boundary is still valid protobuf: say
   * where it ended. */
  if (!has_graph)
    return ctx_err(cx, O2L_ERR_PARSE,
                   "%s: the model has no graph (ModelProto field 7); the file "
                   "ends at byte %zu: is it truncated?", r->L.path, n);
  if (!has_opset)
    return ctx_err(cx, O2L_ERR_PARSE,
                   "%s: no opset_import at all: is the file truncated? (it "
                   "ends at byte %zu)", r->L.path, n);
  if (opset > 100000)
    return ctx_err(cx, O2L_ERR_INVALID,
                   "%s: opset_import version %lld is not a real ONNX opset",
                   r->L.path, (long long)opset);
  r->L.g->opset = (int)opset;
  if (pn_n && pv_n)
    r->L.g->producer = arena_printf(cx->arena, "%.*s %.*s", (int)pn_n,
                                    (const char *)pn, (int)pv_n, (const char *)pv);
  else
    r->L.g->producer = copy_str(r, pn ? pn : (const unsigned char *)"", pn_n);
  if (!r->L.g->producer)
    return cx->status ? cx->status : ctx_oom(cx, "reading the producer");
  TRY(read_graph(r, gm));
  /* A model of other domains only (ai.onnx.ml, training) imports no
   * default opset; its nodes are then reported as unsupported.  A node of
   * the default domain needs the import. */
  Graph *g = r->L.g;
  for (int i = 0; opset <= 0 && i < g->nnodes; i++)
    if (g->nodes[i]->domain[0] == 0 ||
        strcmp(g->nodes[i]->domain, "ai.onnx") == 0)
      return ctx_err(cx, O2L_ERR_INVALID,
                     "%s: node '%s' (%s) is in the default domain, but the "
                     "model imports no opset for that domain", r->L.path,
                     g->nodes[i]->name, g->nodes[i]->op_type);
  return O2L_OK;
}

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  const char *d = slash ? path : ".";
  size_t n = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 1;
  char *c = xrealloc(NULL, n + 1);
  if (c) {
    memcpy(c, d, n);
    c[n] = 0;
  }
  return c;
}

Status onnx_load(Ctx *cx, const char *path, Graph **out, OnnxFile **file) {
  *out = NULL;
  *file = NULL;
  OnnxFile *f = xrealloc(NULL, sizeof *f);
  if (!f)
    return ctx_oom(cx, "opening the model");
  memset(f, 0, sizeof *f);
  if (!(f->dir = dir_of(path))) {
    onnx_close(f);
    return ctx_oom(cx, "opening the model");
  }
  Mapping mp;
  Status st = onnx_map_file(cx, f, path, path, NULL, &mp);
  if (st == O2L_OK && mp.size == 0)
    st = ctx_err(cx, O2L_ERR_PARSE,
                 "%s: the file is empty (0 bytes), not an ONNX model", path);
  Graph *g = NULL;
  if (st == O2L_OK && !(g = graph_new(cx, GRAPH_ONNX)))
    st = cx->status;
  if (st == O2L_OK) {
    Reader r = {0};
    r.L.cx = cx;
    r.L.g = g;
    r.L.f = f;
    r.L.path = path;
    r.L.src.cx = cx;
    r.L.src.path = path;
    r.L.src.base = mp.base;
    st = read_model(&r, mp.base, mp.size);
    xfree(r.tab);
    xfree(r.scratch);
  }
  if (st != O2L_OK) {
    graph_release(g);
    onnx_close(f);
    return st;
  }
  *out = g;
  *file = f;
  return O2L_OK;
}
