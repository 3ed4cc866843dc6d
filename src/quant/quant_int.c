/* quant_int.c - the full-integer rewrite (int8, and int16 activations with
 * int8 weights), on a calibrated float TFLite graph.
 *
 *  1. Each operator is integer if LiteRT has an integer kernel for it
 *     (qops.c), else it stays float.
 *  2. Each float activation lives as an integer tensor if an integer
 *     operator produces it (graph inputs: if an integer operator reads
 *     them).  Where an integer operator reads a float-home tensor a
 *     QUANTIZE is inserted, where a float operator reads an integer one a
 *     DEQUANTIZE (each at most once per tensor).
 *  3. Same-scale operators (pools, reshapes, concat, pads, slices...)
 *     join their data inputs and outputs into one group (union-find); the
 *     group's range is the union of its members' calibrated ranges and of
 *     the constants it holds.  Outputs of LOGISTIC, SOFTMAX, TANH... have
 *     fixed parameters; a group takes them when every other member fits in
 *     the fixed range, otherwise the fixed output is requantized (a
 *     QUANTIZE int->int) into the group's parameters - the only place a
 *     requantize is added.
 *  4. Parameters: int8 asymmetric, nudged so 0 is exact; int16 symmetric.
 *     Weights symmetric int8 (per channel for conv/depthwise/FC/transpose
 *     conv unless --per-tensor), biases int32 (int64 in 16x8) at
 *     s_in * s_w with TF's overflow adjustment, other constants on their
 *     own range or in the parameters of the group they belong to.
 *  5. The graph inputs/outputs get the requested I/O type, keeping the
 *     ONNX names on the edge tensors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quant_impl.h"

typedef struct QV {
  int parent;         /* union-find over value ids */
  bool is_int;        /* lives as an integer activation */
  bool fixed;
  QParams fixedp;
  bool has_range;
  float lo, hi;       /* calibrated range */
  const float *mean;  /* per-channel means (bias correction), or NULL */
  int nch;
  Value *qcopy;       /* QUANTIZE output of a float-home tensor */
  Value *fcopy;       /* DEQUANTIZE output of an integer tensor */
  /* group (at the root): */
  bool g_has;
  double g_lo, g_hi;
  bool gp_set;
  QParams gp;
} QV;

typedef struct QI {
  Ctx *cx;
  Graph *g;
  DType act, io;
  int qmin, qmax;
  QV *v;              /* per value id, grows with the graph */
  int cap;
  int n0;             /* nodes of the float graph */
  unsigned char *kind;/* per original node: QKind */
  int requants;
} QI;

/* ---- bookkeeping -------------------------------------------------------- */

static Status grow(QI *q) {
  int need = q->g->nvalues + 1;
  if (need <= q->cap)
    return O2L_OK;
  int cap = q->cap ? q->cap : 64;
  while (cap < need)
    cap *= 2;
  QV *p = xrealloc(q->v, sizeof(QV) * (size_t)cap);
  if (!p)
    return ctx_oom(q->cx, "quantization state");
  memset(p + q->cap, 0, sizeof(QV) * (size_t)(cap - q->cap));
  for (int i = q->cap; i < cap; i++)
    p[i].parent = i;
  q->v = p;
  q->cap = cap;
  return O2L_OK;
}

static QV *qv(QI *q, const Value *v) { return &q->v[v->id]; }

static int find(QI *q, int i) {
  while (q->v[i].parent != i) {
    q->v[i].parent = q->v[q->v[i].parent].parent;
    i = q->v[i].parent;
  }
  return i;
}

static void unite(QI *q, const Value *a, const Value *b) {
  int ra = find(q, a->id), rb = find(q, b->id);
  if (ra != rb)
    q->v[rb].parent = ra;
}

static bool is_act(const Value *v) {
  return v && v->dtype == DT_F32 && !value_is_const(v);
}

/* A new tensor like v (same shape), registered in the state. */
static Value *new_like(QI *q, const Value *v, const char *suffix, DType t) {
  Value *n = q_like(q->cx, q->g, v, q_name(q->cx, v->name, suffix), t);
  if (!n || grow(q) != O2L_OK)
    return NULL;
  QV *s = qv(q, n);
  s->parent = n->id;
  return n;
}

static Node *add_unary(QI *q, int op, const char *name, Value *in, Value *out) {
  Node *n = q_add_unary(q->cx, q->g, op, name, in, out);
  if (n && grow(q) != O2L_OK)
    return NULL;
  return n;
}

static QParams params_for(const QI *q, double lo, double hi) {
  if (q->act == DT_I16)
    return qp_symmetric(lo, hi, 32767);
  return qp_asymmetric(lo, hi, q->qmin, q->qmax);
}

/* The constant's own min/max. */
static void const_range(const Value *c, double *lo, double *hi) {
  int64_t n = value_numel(c);
  *lo = 0;
  *hi = 0;
  for (int64_t i = 0; i < n; i++) {
    double x = load_f32(c->data, (size_t)i);
    if (x < *lo)
      *lo = x;
    if (x > *hi)
      *hi = x;
  }
}

/* ---- 1. operator kinds ------------------------------------------------ */

static void note_float_ops(QI *q, const char **why) {
  int counts[TFL_OP_COUNT] = {0};
  const char *reason[TFL_OP_COUNT] = {0};
  for (int i = 0; i < q->n0; i++)
    if (q->kind[i] == QK_FLOAT && why[i]) {
      counts[q->g->nodes[i]->op]++;
      reason[q->g->nodes[i]->op] = why[i];
    }
  for (int op = 0; op < TFL_OP_COUNT; op++)
    if (counts[op] && strcmp(reason[op], "it has no float tensors") != 0)
      ctx_notice(q->cx, "kept %d %s operator(s) in float32 (%s), between "
                 "DEQUANTIZE and QUANTIZE: they will run on the CPU, not on "
                 "an NPU", counts[op], tfl_op_name(op), reason[op]);
}

static bool node_int(const QI *q, const Node *n);

/* Conv-like operators keep their int8 weights and integer kernel even
 * when only float operators read them. */
static bool weighted_op(const Node *n) {
  return n->op == TFL_CONV_2D || n->op == TFL_DEPTHWISE_CONV_2D ||
         n->op == TFL_FULLY_CONNECTED || n->op == TFL_TRANSPOSE_CONV;
}

static bool read_only_by_float(const QI *q, const Value *v) {
  enum { MAXR = 16 };
  Node *use[MAXR];
  int k = graph_consumers(q->g, v, use, MAXR);
  if (!is_act(v) || v->is_output || k <= 0 || k > MAXR)
    return false;
  for (int i = 0; i < k; i++)
    if (node_int(q, use[i]))
      return false;
  return true;
}

/* An integer operator without weights whose outputs only float operators
 * read joins them in float: its output would be dequantized anyway, and
 * quantizing it first loses what the float operator may need most.
 * EfficientViT's linear attention keeps numerators (+-100) and
 * denominators (0.3 and up) in one BATCH_MATMUL output, slices the
 * denominators, adds 1e-5 and divides (a float DIV): at one int8 scale for
 * both, small denominators became 0 and 0 + 1e-5 made the quotients 1e6.
 * The DEQUANTIZE moves to the operator's inputs: no more conversions. */
static void float_with_readers(QI *q) {
  int moved = 0;
  for (bool again = true; again;) {
    again = false;
    for (int i = q->n0 - 1; i >= 0; i--) {
      Node *n = q->g->nodes[i];
      if (q->kind[i] != QK_INT || weighted_op(n) || n->nout < 1)
        continue;
      bool all = true;
      for (int j = 0; j < n->nout && all; j++)
        all = read_only_by_float(q, n->out[j]);
      if (all) {
        q->kind[i] = QK_FLOAT;
        moved++;
        again = true;
      }
    }
  }
  if (moved)
    ctx_report(q->cx, "kept %d operator(s) in float with the float operators "
               "that read them", moved);
}

static Status classify(QI *q) {
  const char **why = xrealloc(NULL, sizeof(char *) * (size_t)(q->n0 + 1));
  q->kind = arena_alloc(q->cx->arena, (size_t)q->n0 + 1, 8);
  if (!why || !q->kind) {
    xfree(why);
    return ctx_oom(q->cx, "quantization state");
  }
  for (int i = 0; i < q->n0; i++)
    q->kind[i] = (unsigned char)qop_kind(q->g->nodes[i], q->act, &why[i]);
  note_float_ops(q, why);
  xfree(why);
  float_with_readers(q);
  return O2L_OK;
}

static bool node_int(const QI *q, const Node *n) {
  return n->id < q->n0 && q->g->nodes[n->id] == n && q->kind[n->id] == QK_INT;
}

/* ---- 2. where each activation lives ------------------------------------ */

static void homes(QI *q, const CalibRange *ranges) {
  Graph *g = q->g;
  for (int i = 0; i < g->nvalues; i++) {
    Value *v = g->values[i];
    QV *s = &q->v[i];
    if (ranges[i].set) {
      s->has_range = true;
      s->lo = ranges[i].min;
      s->hi = ranges[i].max;
      s->mean = ranges[i].mean;
      s->nch = ranges[i].nch;
    }
    if (!is_act(v))
      continue;
    if (v->producer)
      s->is_int = node_int(q, v->producer);
  }
  /* graph inputs: integer when an integer operator reads them */
  for (int i = 0; i < q->n0; i++) {
    Node *n = g->nodes[i];
    if (q->kind[i] != QK_INT)
      continue;
    for (int j = 0; j < n->nin; j++)
      if (is_act(n->in[j]) && !n->in[j]->producer &&
          qop_role(n, j) != QR_OTHER)
        q->v[n->in[j]->id].is_int = true;
  }
}

/* A PADV2 output was calibrated with its border, and a max-pool's border
 * is -FLT_MAX ("below everything"): that range would take the whole group
 * with it (scale ~1e36, every value 0).  The output's range is its input's
 * with the pad value added only when it is an ordinary number; a sentinel
 * is clamped to the lowest integer by QR_SAME_CLAMP, which is what a
 * max-pool needs. */
static void padv2_ranges(QI *q) {
  for (int i = 0; i < q->n0; i++) {
    Node *n = q->g->nodes[i];
    if (q->kind[i] != QK_INT || n->op != TFL_PADV2 || n->nin < 3 ||
        !is_act(n->in[0]) || !is_act(n->out[0]))
      continue;
    QV *in = qv(q, n->in[0]), *out = qv(q, n->out[0]);
    if (!in->has_range)
      continue;
    out->has_range = true;
    out->lo = in->lo;
    out->hi = in->hi;
    const Value *p = n->in[2];
    if (p && value_is_const(p) && p->dtype == DT_F32 && value_numel(p) == 1) {
      float pv = load_f32(p->data, 0);
      if (isfinite(pv) && fabsf(pv) < 1e30f) {
        out->lo = fminf(out->lo, pv);
        out->hi = fmaxf(out->hi, pv);
      }
    }
  }
}

static Value *int_copy(QI *q, Value *v) {
  QV *s = qv(q, v);
  if (s->qcopy)
    return s->qcopy;
  Value *c = new_like(q, v, q->act == DT_I16 ? "_int16" : "_int8", DT_F32);
  if (!c || !add_unary(q, TFL_QUANTIZE, v->name, v, c))
    return NULL;
  s = qv(q, v); /* the state may have moved */
  QV *t = qv(q, c);
  t->is_int = true;
  t->has_range = s->has_range;
  t->lo = s->lo;
  t->hi = s->hi;
  t->mean = s->mean;
  t->nch = s->nch;
  s->qcopy = c;
  return c;
}

static Value *float_copy(QI *q, Value *v) {
  QV *s = qv(q, v);
  if (s->fcopy)
    return s->fcopy;
  Value *c = new_like(q, v, "_dequant", DT_F32);
  if (!c || !add_unary(q, TFL_DEQUANTIZE, v->name, v, c))
    return NULL;
  qv(q, v)->fcopy = c;
  return c;
}

static Status rewire(QI *q) {
  Graph *g = q->g;
  for (int i = 0; i < q->n0; i++) {
    Node *n = g->nodes[i];
    bool integer = q->kind[i] == QK_INT;
    for (int j = 0; j < n->nin; j++) {
      Value *v = n->in[j];
      if (!is_act(v) || (integer && qop_role(n, j) == QR_OTHER))
        continue;
      bool vint = qv(q, v)->is_int;
      if (integer && !vint)
        n->in[j] = int_copy(q, v);
      else if (!integer && vint)
        n->in[j] = float_copy(q, v);
      if (!n->in[j])
        return q->cx->status ? q->cx->status : ctx_oom(q->cx, "quantization");
    }
  }
  return O2L_OK;
}

/* ---- 3. groups ---------------------------------------------------------- */

static void join_groups(QI *q) {
  Graph *g = q->g;
  for (int i = 0; i < q->n0; i++) {
    Node *n = g->nodes[i];
    if (q->kind[i] != QK_INT || !qop_same_scale(n))
      continue;
    Value *anchor = NULL;
    for (int k = 0; k < n->nout && !anchor; k++)
      if (is_act(n->out[k]))
        anchor = n->out[k];
    if (!anchor)
      continue;
    for (int k = 0; k < n->nout; k++)
      if (is_act(n->out[k]))
        unite(q, anchor, n->out[k]);
    for (int j = 0; j < n->nin; j++)
      if (qop_role(n, j) == QR_SAME && is_act(n->in[j]))
        unite(q, anchor, n->in[j]);
  }
}

static void group_add(QV *root, double lo, double hi) {
  if (!root->g_has) {
    root->g_lo = lo;
    root->g_hi = hi;
    root->g_has = true;
    return;
  }
  root->g_lo = fmin(root->g_lo, lo);
  root->g_hi = fmax(root->g_hi, hi);
}

/* Ranges of the free (not fixed) members and of same-scale constants. */
static void group_ranges(QI *q) {
  Graph *g = q->g;
  for (int i = 0; i < g->nvalues; i++) {
    QV *s = &q->v[i];
    if (s->is_int && !s->fixed && s->has_range)
      group_add(&q->v[find(q, i)], s->lo, s->hi);
  }
  for (int i = 0; i < q->n0; i++) {
    Node *n = g->nodes[i];
    if (q->kind[i] != QK_INT || !qop_same_scale(n) || !is_act(n->out[0]))
      continue;
    for (int j = 0; j < n->nin; j++)
      if (qop_role(n, j) == QR_SAME && n->in[j] &&
          value_is_const(n->in[j]) && n->in[j]->dtype == DT_F32) {
        double lo, hi;
        const_range(n->in[j], &lo, &hi);
        group_add(&q->v[find(q, n->out[0]->id)], lo, hi);
      }
  }
}

static bool same_params(QParams a, QParams b) {
  return a.scale == b.scale && a.zp == b.zp;
}

/* Fixed outputs: the group takes the fixed parameters when everything else
 * in it fits (a little clipping of a calibrated range is what the kernel
 * would do anyway); otherwise each fixed output is requantized. */
static Status resolve_fixed(QI *q) {
  Graph *g = q->g;
  int nv = g->nvalues;
  for (int i = 0; i < nv; i++) {
    QV *s = &q->v[i];
    if (!s->is_int || !s->fixed)
      continue;
    int r = find(q, i);
    bool ok = true;
    float flo, fhi;
    qp_real_range(s->fixedp, q->qmin, q->qmax, &flo, &fhi);
    double tol = 0.02 * (fhi - flo);
    for (int k = 0; k < nv && ok; k++) {
      QV *t = &q->v[k];
      if (!t->is_int || find(q, k) != r || k == i)
        continue;
      if (t->fixed && !same_params(t->fixedp, s->fixedp))
        ok = false;
    }
    QV *root = &q->v[r];
    if (ok && root->g_has &&
        (root->g_lo < flo - tol || root->g_hi > fhi + tol))
      ok = false;
    if (ok)
      continue;
    /* requantize: the operator writes a tensor of its own */
    Value *v = g->values[i];
    Node *p = v->producer;
    Value *own = new_like(q, v, "_fixed", DT_F32);
    if (!own || !add_unary(q, TFL_QUANTIZE, q_name(q->cx, p->name, "/requantize"),
                           own, v))
      return q->cx->status;
    for (int k = 0; k < p->nout; k++)
      if (p->out[k] == v)
        p->out[k] = own;
    s = &q->v[i];
    QV *o = qv(q, own);
    o->is_int = true;
    o->fixed = true;
    o->fixedp = s->fixedp;
    o->has_range = s->has_range;
    o->lo = s->lo;
    o->hi = s->hi;
    s->fixed = false;
    group_add(&q->v[find(q, i)], flo, fhi);
    q->requants++;
    ctx_report(q->cx, "requantized the output of %s '%s' (fixed scale %g, "
               "zero point %lld) into the scale of the tensors it shares one "
               "with", tfl_op_name(p->op), p->name, (double)s->fixedp.scale,
               (long long)s->fixedp.zp);
  }
  return O2L_OK;
}

static Status assign_params(QI *q) {
  Graph *g = q->g;
  int unranged = 0;
  const char *first = NULL;
  /* a fixed member decides its group's parameters */
  for (int i = 0; i < g->nvalues; i++) {
    QV *s = &q->v[i];
    if (s->is_int && s->fixed) {
      QV *root = &q->v[find(q, i)];
      root->gp = s->fixedp;
      root->gp_set = true;
    }
  }
  for (int i = 0; i < g->nvalues; i++) {
    QV *s = &q->v[i];
    if (!s->is_int)
      continue;
    QV *root = &q->v[find(q, i)];
    if (!root->gp_set) {
      if (!root->g_has) {
        unranged++;
        first = first ? first : g->values[i]->name;
        root->g_lo = root->g_hi = 0;
      }
      root->gp = params_for(q, root->g_lo, root->g_hi);
      root->gp_set = true;
    }
    Quant *qt = q_per_tensor(q->cx, root->gp);
    if (!qt)
      return q->cx->status;
    if (s->has_range) {
      qt->min = s->lo;
      qt->max = s->hi;
      qt->has_range = 1;
    }
    Value *v = g->values[i];
    v->quant = qt;
    v->dtype = q->act;
  }
  if (unranged)
    ctx_notice(q->cx, "%d tensor(s) (first: '%s') were not computed during "
               "calibration; they were given a range of [0, 0]", unranged,
               first);
  return O2L_OK;
}

/* ---- 4. constants ------------------------------------------------------- */

static Value *quantized_const(QI *q, const Value *c, DType t, Quant *qt,
                              void *data, size_t nbytes) {
  Value *v = graph_add_const(q->cx, q->g, c->name, t, c->rank, c->dims, data,
                             nbytes);
  if (!v || grow(q) != O2L_OK)
    return NULL;
  v->quant = qt;
  return v;
}

/* A float constant in the given per-tensor parameters (activation type). */
static Value *const_in(QI *q, const Value *c, QParams p) {
  int64_t n = value_numel(c);
  size_t es = dtype_size(q->act);
  void *data = arena_alloc(q->cx->arena, (size_t)n * es + 1, 16);
  Quant *qt = q_per_tensor(q->cx, p);
  if (!data || !qt) {
    ctx_oom(q->cx, "quantized constants");
    return NULL;
  }
  for (int64_t i = 0; i < n; i++) {
    int64_t x = qp_quantize(load_f32(c->data, (size_t)i), p, q->qmin, q->qmax);
    if (q->act == DT_I16)
      ((int16_t *)data)[i] = (int16_t)x;
    else
      ((int8_t *)data)[i] = (int8_t)x;
  }
  return quantized_const(q, c, q->act, qt, data, (size_t)n * es);
}

static int weight_axis(const QI *q, const Node *n) {
  if (q->cx->opt && q->cx->opt->per_tensor)
    return -1;
  return qop_weight_axis(n, 1);
}

/* Bias correction: rounding the weights shifts each output channel's mean
 * by sum((Wq - W) * E[x]); with the per-channel input means from
 * calibration the shift is known and is taken out of the bias (Nagel et
 * al. 2019, "Data-Free Quantization", empirical variant).  Padding borders
 * are treated as if they held the mean.  Returns false when the layout is
 * not one we know (no correction then). */
static bool bias_shift(const Node *n, const Value *w, const int8_t *q,
                       const Quant *wq, const float *mean, int nmean,
                       int64_t nout, double *shift) {
  int64_t numel = value_numel(w);
  int r = w->rank;
  if (r < 2 || nout <= 0)
    return false;
  int64_t last = w->dims[r - 1];
  int64_t per_out = numel / nout;   /* weights per output channel (conv/FC) */
  int64_t groups = 1, mult = 1;
  if (n->op == TFL_CONV_2D) {
    if (last <= 0 || nmean % last)
      return false;
    groups = nmean / last;
    if (groups <= 0 || nout % groups)
      return false;
  } else if (n->op == TFL_DEPTHWISE_CONV_2D) {
    if (nmean <= 0 || last % nmean)
      return false;
    mult = last / nmean;
  } else if (n->op == TFL_FULLY_CONNECTED) {
    if (last != nmean)
      return false;
  } else {
    return false;
  }
  for (int64_t o = 0; o < nout; o++)
    shift[o] = 0;
  int64_t inner = 1;
  for (int k = wq->axis + 1; k < r; k++)
    inner *= w->dims[k];
  for (int64_t i = 0; i < numel; i++) {
    int64_t ch = wq->n > 1 ? (i / inner) % wq->n : 0;
    double dw = (double)q[i] * wq->scale[ch] - (double)load_f32(w->data, (size_t)i);
    int64_t o, in;
    if (n->op == TFL_DEPTHWISE_CONV_2D) {
      o = i % last;
      in = o / mult;
    } else {
      o = i / per_out;
      in = (i % last) + (n->op == TFL_CONV_2D ? (o / (nout / groups)) * last : 0);
    }
    shift[o] += dw * mean[in];
  }
  return true;
}

/* The bias minus the shift of bias_shift, as a new float array. */
static const float *corrected_bias(QI *q, const Node *n, const Value *w,
                                   const int8_t *wd, const Quant *wq,
                                   const Value *x, const Value *b) {
  const QV *s = qv(q, x);
  int64_t nb = value_numel(b);
  if (!s->mean || nb <= 0)
    return NULL;
  double *shift = xrealloc(NULL, sizeof(double) * (size_t)nb);
  float *out = arena_alloc(q->cx->arena, sizeof(float) * (size_t)nb, 16);
  if (!shift || !out) {
    xfree(shift);
    return NULL;
  }
  bool ok = bias_shift(n, w, wd, wq, s->mean, s->nch, nb, shift);
  for (int64_t o = 0; ok && o < nb; o++)
    out[o] = (float)((double)load_f32(b->data, (size_t)o) - shift[o]);
  xfree(shift);
  return ok ? out : NULL;
}

/* Weights and bias of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED /
 * TRANSPOSE_CONV. */
static Status weights_and_bias(QI *q, Node *n) {
  Ctx *cx = q->cx;
  Value *w = n->in[1];
  int bi = n->op == TFL_TRANSPOSE_CONV ? 3 : 2;
  Value *b = n->nin > bi ? n->in[bi] : NULL;
  const Value *x = n->in[qop_bias_input(n)];
  if (!x || !x->quant)
    return ctx_err(cx, O2L_ERR_INTERNAL, "%s '%s': input not quantized",
                   tfl_op_name(n->op), n->name);
  double s_in = x->quant->scale[0];
  int axis = weight_axis(q, n);
  int nch = axis >= 0 ? (int)w->dims[axis] : 1;
  int bias_bits = q->act == DT_I16 ? 64 : 32;
  Quant *wq = q_new(cx, nch);
  int64_t nw = value_numel(w);
  int8_t *wd = arena_alloc(cx->arena, (size_t)nw + 1, 16);
  if (!wq || !wd)
    return ctx_oom(cx, "quantized weights");
  wq->axis = axis >= 0 ? axis : 0;
  qw_scales(w->data, w->rank, w->dims, axis, wq->scale);
  int64_t nb = b ? value_numel(b) : 0;
  if (b && (nch == 1 || nb == nch) &&
      qb_adjust_weight_scales(b->data, nb, s_in, wq->scale, nch, bias_bits))
    ctx_report(cx, "%s '%s': weight scale enlarged so the bias fits %d bits",
               tfl_op_name(n->op), n->name, bias_bits);
  qw_quantize(w->data, w->rank, w->dims, axis, wq->scale, wd);
  Value *wv = quantized_const(q, w, DT_I8, wq, wd, (size_t)nw);
  if (!wv)
    return cx->status;
  n->in[1] = wv;
  if (!b)
    return O2L_OK;
  if (nch > 1 && nb != nch)
    return ctx_err(cx, O2L_ERR_INVALID, "%s '%s': bias has %lld values for "
                   "%d output channels", tfl_op_name(n->op), n->name,
                   (long long)nb, nch);
  Quant *bq = q_new(cx, (int)nb);
  void *bd = arena_alloc(cx->arena, (size_t)nb * (size_t)(bias_bits / 8) + 1, 16);
  if (!bq || !bd)
    return ctx_oom(cx, "quantized bias");
  const void *bsrc = b->data;
  const float *corr = corrected_bias(q, n, w, wd, wq, x, b);
  if (corr)
    bsrc = corr;
  qb_quantize(bsrc, nb, s_in, wq->scale, nch, bias_bits, bd, bq->scale);
  bq->axis = 0;
  if (nch == 1) /* per-tensor weights: one bias scale */
    bq->n = 1;
  Value *bv = quantized_const(q, b, bias_bits == 64 ? DT_I64 : DT_I32, bq, bd,
                              (size_t)nb * (size_t)(bias_bits / 8));
  if (!bv)
    return cx->status;
  n->in[bi] = bv;
  return O2L_OK;
}

static Status constants(QI *q) {
  Graph *g = q->g;
  for (int i = 0; i < q->n0; i++) {
    Node *n = g->nodes[i];
    if (q->kind[i] != QK_INT)
      continue;
    bool weighted = n->op == TFL_CONV_2D || n->op == TFL_DEPTHWISE_CONV_2D ||
                    n->op == TFL_FULLY_CONNECTED || n->op == TFL_TRANSPOSE_CONV;
    if (weighted)
      TRY(weights_and_bias(q, n));
    for (int j = 0; j < n->nin; j++) {
      Value *c = n->in[j];
      if (!c || !value_is_const(c) || c->dtype != DT_F32)
        continue;
      QRole role = qop_role(n, j);
      QParams p;
      if (role == QR_SAME || role == QR_SAME_CLAMP) {
        const Value *o = n->out[0];
        if (!o->quant)
          return ctx_err(q->cx, O2L_ERR_INTERNAL, "%s '%s': output not "
                         "quantized", tfl_op_name(n->op), n->name);
        p = (QParams){o->quant->scale[0], o->quant->zp[0]};
      } else if (role == QR_ACT) {
        double lo, hi;
        const_range(c, &lo, &hi);
        p = params_for(q, lo, hi);
      } else {
        continue;
      }
      if (!(n->in[j] = const_in(q, c, p)))
        return q->cx->status;
    }
  }
  return O2L_OK;
}

/* Operators left in float keep float activations, but their weights
 * shrink like everyone else's (q_weight_only). */
static Status float_op_weights(QI *q) {
  unsigned char *fl = xrealloc(NULL, (size_t)q->n0 + 1);
  if (!fl)
    return ctx_oom(q->cx, "quantization state");
  for (int i = 0; i < q->n0; i++)
    fl[i] = q->kind[i] == QK_FLOAT;
  int done = 0;
  Status st = q_weight_only(q->cx, q->g, q->n0, fl, &done);
  xfree(fl);
  TRY(st);
  if (done)
    ctx_report(q->cx, "int8 weights behind a DEQUANTIZE for %d weight(s) of "
               "operators left in float", done);
  return grow(q);
}

/* ---- 5. operator details ------------------------------------------------ */

/* PADV2 whose pad value quantizes to the zero point is a PAD: Vela (and
 * most NPUs) take PAD, not PADV2.  A max-pool pad of -inf after a ReLU is
 * the usual case: both are the lowest integer. */
static void operator_details(QI *q) {
  for (int i = 0; i < q->n0; i++) {
    Node *n = q->g->nodes[i];
    if (q->kind[i] != QK_INT)
      continue;
    if (n->op == TFL_PADV2 && n->nin == 3 && n->in[2] && n->in[2]->quant &&
        value_numel(n->in[2]) == 1 && n->out[0]->quant) {
      int64_t pv = q->act == DT_I16 ? ((const int16_t *)n->in[2]->data)[0]
                                    : ((const int8_t *)n->in[2]->data)[0];
      if (pv == n->out[0]->quant->zp[0]) {
        n->op = TFL_PAD;
        n->nin = 2;
      }
    }
    if (q->act == DT_I16 && (n->op == TFL_ADD || n->op == TFL_SUB))
      n->opt.pot_scale_int16_false = true;
  }
}

/* ---- 6. graph inputs and outputs ----------------------------------------- */

static QParams io_params(const QI *q, const Value *v, DType io) {
  QParams p = {v->quant ? v->quant->scale[0] : 1.0f,
               v->quant ? v->quant->zp[0] : 0};
  if (!v->quant) { /* a float tensor exposed as integer: its own range */
    const QV *s = &q->v[v->id];
    p = io == DT_I16 ? qp_symmetric(s->lo, s->hi, 32767)
        : io == DT_U8 ? qp_asymmetric(s->lo, s->hi, 0, 255)
                      : qp_asymmetric(s->lo, s->hi, -128, 127);
    return p;
  }
  if (io == DT_U8)
    p.zp += 128;
  return p;
}

static const char *type_suffix(DType t) {
  switch (t) {
  case DT_I8: return "_int8";
  case DT_I16: return "_int16";
  case DT_U8: return "_uint8";
  default: return "_float";
  }
}

/* An edge tensor of type io for v (named like v; v takes a suffix) and the
 * conversion between them: in = true for graph inputs (edge -> v). */
static Value *edge(QI *q, Value *v, DType io, bool in) {
  const char *name = v->name;
  Value *e = new_like(q, v, "", io);
  if (!e)
    return NULL;
  e->name = name;
  v->name = q_name(q->cx, name, type_suffix(v->dtype));
  if (!v->name)
    return NULL;
  if (io != DT_F32) {
    Quant *qt = q_per_tensor(q->cx, io_params(q, v, io));
    if (!qt)
      return NULL;
    e->quant = qt;
  }
  e->has_io_perm = v->has_io_perm;
  memcpy(e->io_perm, v->io_perm, sizeof e->io_perm);
  int op;
  if (in)
    op = io == DT_F32 || v->dtype != DT_F32 ? TFL_QUANTIZE : TFL_DEQUANTIZE;
  else
    op = io == DT_F32 ? TFL_DEQUANTIZE : TFL_QUANTIZE;
  Node *n = in ? add_unary(q, op, name, e, v) : add_unary(q, op, name, v, e);
  return n ? e : NULL;
}

static Status graph_io(QI *q) {
  Graph *g = q->g;
  for (int i = 0; i < g->ninputs; i++) {
    Value *v = g->inputs[i];
    if (!(v->dtype == DT_F32 || v->quant) || v->dtype == q->io)
      continue;
    Value *e = edge(q, v, q->io, true);
    if (!e)
      return q->cx->status;
    v->is_input = 0;
    e->is_input = 1;
    g->inputs[i] = e;
  }
  Value **orig = xrealloc(NULL, sizeof(Value *) * (size_t)(g->noutputs + 1));
  if (!orig)
    return ctx_oom(q->cx, "graph outputs");
  memcpy(orig, g->outputs, sizeof(Value *) * (size_t)g->noutputs);
  Status st = O2L_OK;
  for (int i = 0; i < g->noutputs && st == O2L_OK; i++) {
    Value *v = orig[i];
    if (!(v->dtype == DT_F32 || v->quant) || v->dtype == q->io)
      continue;
    Value *e = NULL;
    for (int k = 0; k < i; k++)
      if (orig[k] == v) /* the same tensor twice */
        e = g->outputs[k];
    if (!e && !(e = edge(q, v, q->io, false))) {
      st = q->cx->status;
      break;
    }
    v->is_output = 0;
    e->is_output = 1;
    g->outputs[i] = e;
  }
  xfree(orig);
  return st;
}

/* ---- driver ------------------------------------------------------------- */

static void mark_fixed(QI *q) {
  for (int i = 0; i < q->n0; i++) {
    Node *n = q->g->nodes[i];
    QParams p;
    if (q->kind[i] == QK_INT && is_act(n->out[0]) &&
        qop_fixed_output(n, q->act, &p)) {
      QV *s = qv(q, n->out[0]);
      s->fixed = true;
      s->fixedp = p;
    }
  }
}

static Status run(QI *q, const CalibRange *ranges) {
  TRY(grow(q));
  TRY(classify(q));
  homes(q, ranges);
  padv2_ranges(q);
  TRY(rewire(q));
  join_groups(q);
  mark_fixed(q);
  group_ranges(q);
  TRY(resolve_fixed(q));
  TRY(assign_params(q));
  TRY(constants(q));
  TRY(float_op_weights(q));
  operator_details(q);
  TRY(graph_io(q));
  int nint = 0;
  for (int i = 0; i < q->n0; i++)
    nint += q->kind[i] == QK_INT;
  ctx_report(q->cx, "%s: %d of %d operator(s) integer, %d requantize(s)",
             q->act == DT_I16 ? "int16x8" : "int8", nint, q->n0, q->requants);
  return O2L_OK;
}

Status quant_integer(Ctx *cx, Graph *g, const CalibRange *ranges, DType act,
                     DType io) {
  QI q;
  memset(&q, 0, sizeof q);
  q.cx = cx;
  q.g = g;
  q.act = act;
  q.io = io;
  q.qmin = act == DT_I16 ? -32767 : -128;
  q.qmax = act == DT_I16 ? 32767 : 127;
  q.n0 = g->nnodes;
  graph_uses(g);
  Status st = run(&q, ranges);
  xfree(q.v);
  return st;
}
