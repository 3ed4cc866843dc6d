/* quant_fp16.c - float16 mode: every float32 constant an operator reads
 * (weights, biases, other constants) is stored as FLOAT16 and expanded by
 * a DEQUANTIZE (fp16 -> fp32) in front of its consumers; activations stay
 * float32 (tflite-quantization.md §7).  LiteRT runs those DEQUANTIZEs once
 * before the first inference.
 *
 * Constants that float16 cannot hold (a value beyond 65504, or a non-zero
 * that would flush to zero, like an epsilon of 1e-12) stay float32: they
 * would change the model's results, and they are tiny anyway.  So do
 * constants of fewer than MIN_ELEMENTS values, which would cost an
 * operator and save nothing.
 */
#include <string.h>

#include "quant/quant_impl.h"

#define MIN_ELEMENTS 16

/* The DEQUANTIZE output standing for constant v, made on first use. */
static Value *fp16_of(Ctx *cx, Graph *g, Value *v, Value **cache, int *kept) {
  if (cache[v->id])
    return cache[v->id];
  int64_t n = value_numel(v);
  if (n < MIN_ELEMENTS || (size_t)n * 4 != v->nbytes)
    return v;
  uint16_t *h = arena_alloc(cx->arena, (size_t)n * 2, 16);
  if (!h) {
    ctx_oom(cx, "float16 weights");
    return NULL;
  }
  if (!qh_convert(v->data, n, h)) {
    (*kept)++;
    ctx_report(cx, "kept constant '%s' float32: float16 cannot hold its "
               "values", v->name);
    cache[v->id] = v;
    return v;
  }
  Value *c = graph_add_const(cx, g, q_name(cx, v->name, "_fp16"), DT_F16,
                             v->rank, v->dims, h, (size_t)n * 2);
  Value *d = c ? q_like(cx, g, v, v->name, DT_F32) : NULL;
  if (!d || !q_add_unary(cx, g, TFL_DEQUANTIZE, v->name, c, d))
    return NULL;
  cache[v->id] = d;
  return d;
}

Status quant_float16(Ctx *cx, Graph *g) {
  int n0 = g->nnodes, nv = g->nvalues, kept = 0, converted = 0;
  Value **cache = xrealloc(NULL, sizeof(Value *) * (size_t)(nv + 1));
  if (!cache)
    return ctx_oom(cx, "float16 weights");
  memset(cache, 0, sizeof(Value *) * (size_t)(nv + 1));
  for (int i = 0; i < n0; i++) {
    Node *n = g->nodes[i];
    if (n->dead)
      continue;
    for (int j = 0; j < n->nin; j++) {
      Value *v = n->in[j];
      if (!v || !value_is_const(v) || v->dtype != DT_F32 || v->id >= nv)
        continue;
      bool fresh = cache[v->id] == NULL;
      Value *d = fp16_of(cx, g, v, cache, &kept);
      if (!d) {
        xfree(cache);
        return cx->status;
      }
      converted += fresh && d != v;
      n->in[j] = d;
    }
  }
  xfree(cache);
  ctx_report(cx, "float16: %d constant(s) stored as float16 with a "
             "DEQUANTIZE each%s", converted,
             kept ? "; some kept float32 (see above)" : "");
  return O2L_OK;
}
