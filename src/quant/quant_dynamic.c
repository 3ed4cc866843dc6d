/* quant_dynamic.c - dynamic-range ("hybrid") mode: the constant weights of
 * the operators LiteRT runs hybrid (FULLY_CONNECTED, CONV_2D,
 * DEPTHWISE_CONV_2D, BATCH_MATMUL) become int8, symmetric, per channel
 * where the kernel takes it; activations, biases and everything else stay
 * float32.  The hybrid kernels quantize their float input on the fly at
 * each inference (tflite-quantization.md §6).
 *
 * As TF does, only weights of at least MIN_ELEMENTS values are quantized:
 * smaller ones save nothing and lose precision.  A quantized weight that
 * another (non-hybrid) operator also reads reaches it through a
 * DEQUANTIZE, and so do the weights of operators without a hybrid kernel
 * (q_weight_only).
 */
#include <string.h>

#include "quant/quant_impl.h"

#define MIN_ELEMENTS Q_WEIGHT_MIN

static bool hybrid_slot(const Node *n, int j) {
  if (j != 1)
    return false;
  switch (n->op) {
  case TFL_FULLY_CONNECTED:
  case TFL_CONV_2D:
  case TFL_DEPTHWISE_CONV_2D:
  case TFL_BATCH_MATMUL:
    return true;
  default:
    return false;
  }
}

static int hybrid_axis(Ctx *cx, const Node *n) {
  if (n->op == TFL_BATCH_MATMUL)
    return -1;
  if (cx->opt && cx->opt->per_tensor && n->op != TFL_DEPTHWISE_CONV_2D)
    return -1;
  return qop_weight_axis(n, 1);
}

static Value *int8_weights(Ctx *cx, Graph *g, Value *v, int axis) {
  int64_t n = value_numel(v);
  int nch = axis >= 0 ? (int)v->dims[axis] : 1;
  Quant *q = q_new(cx, nch);
  int8_t *data = arena_alloc(cx->arena, (size_t)n + 1, 16);
  if (!q || !data) {
    ctx_oom(cx, "int8 weights");
    return NULL;
  }
  q->axis = axis >= 0 ? axis : 0;
  qw_scales(v->data, v->rank, v->dims, axis, q->scale);
  qw_quantize(v->data, v->rank, v->dims, axis, q->scale, data);
  Value *c = graph_add_const(cx, g, v->name, DT_I8, v->rank, v->dims, data,
                             (size_t)n);
  if (c)
    c->quant = q;
  return c;
}

typedef struct Entry {
  Value *q;      /* int8 weights */
  Value *deq;    /* DEQUANTIZE output for other consumers */
} Entry;

Status quant_dynamic(Ctx *cx, Graph *g) {
  int n0 = g->nnodes, nv = g->nvalues, done = 0;
  Entry *map = xrealloc(NULL, sizeof(Entry) * (size_t)(nv + 1));
  if (!map)
    return ctx_oom(cx, "dynamic-range quantization");
  memset(map, 0, sizeof(Entry) * (size_t)(nv + 1));
  Status st = O2L_OK;
  for (int i = 0; i < n0 && st == O2L_OK; i++) {
    Node *n = g->nodes[i];
    Value *w = n->nin > 1 ? n->in[1] : NULL;
    if (n->dead || !hybrid_slot(n, 1) || !w || !value_is_const(w) ||
        w->dtype != DT_F32 || w->id >= nv || value_numel(w) < MIN_ELEMENTS)
      continue;
    int axis = hybrid_axis(cx, n);
    Entry *e = &map[w->id];
    if (e->q && (e->q->quant->n > 1 ? e->q->quant->axis : -1) != axis)
      continue; /* read per-channel along another axis: leave it float */
    if (!e->q && !(e->q = int8_weights(cx, g, w, axis))) {
      st = cx->status;
      break;
    }
    n->in[1] = e->q;
    if (n->op == TFL_FULLY_CONNECTED || n->op == TFL_BATCH_MATMUL)
      n->opt.asymmetric_quantize_inputs = true;
    done++;
  }
  /* Everyone else reading a quantized weight gets the DEQUANTIZE. */
  for (int i = 0; i < n0 && st == O2L_OK; i++) {
    Node *n = g->nodes[i];
    for (int j = 0; j < n->nin && !n->dead; j++) {
      Value *v = n->in[j];
      if (!v || v->id >= nv || g->values[v->id] != v || !map[v->id].q)
        continue;
      Entry *e = &map[v->id];
      if (!e->deq) {
        e->deq = q_like(cx, g, v, q_name(cx, v->name, "_dequant"), DT_F32);
        if (!e->deq ||
            !q_add_unary(cx, g, TFL_DEQUANTIZE, v->name, e->q, e->deq)) {
          st = cx->status;
          break;
        }
      }
      n->in[j] = e->deq;
    }
  }
  xfree(map);
  TRY(st);
  ctx_report(cx, "dynamic: int8 weights for %d hybrid operator(s)", done);
  /* The weights of operators without a hybrid kernel (CONV_3D...) are
   * int8 behind a DEQUANTIZE, as TF does. */
  unsigned char *all = xrealloc(NULL, (size_t)n0 + 1);
  if (!all)
    return ctx_oom(cx, "dynamic-range quantization");
  memset(all, 1, (size_t)n0 + 1);
  int wonly = 0;
  st = q_weight_only(cx, g, n0, all, &wonly);
  xfree(all);
  TRY(st);
  if (wonly)
    ctx_report(cx, "dynamic: int8 weights behind a DEQUANTIZE for %d "
               "weight(s) of operators without a hybrid kernel", wonly);
  return O2L_OK;
}
