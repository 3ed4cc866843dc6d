/* pool.c - MaxPool, AveragePool and the global pools: attribute parsing
 * (PoolParams) and shape inference.
 *
 * ONNX output size, NOTSET padding:
 *   out = floor_or_ceil((in + pb + pe - ((k-1)*d + 1)) / s) + 1
 * and with ceil_mode a last window that would start in the right padding
 * is dropped ((out-1)*s >= in + pb: out -= 1), the rule PyTorch and
 * onnxruntime use.  SAME_* gives ceil(in/s) whatever ceil_mode says.
 */
#include <string.h>

#include "ops/opattr.h"

static Status pool_window(Ctx *cx, const Node *n, PoolParams *p, int i,
                          const SpatialAttrs *s) {
  int64_t in = p->in[i], st = p->stride[i];
  int64_t keff = (p->kernel[i] - 1) * p->dilation[i] + 1;
  int64_t pb = s->pad_begin[i], pe = s->pad_end[i], out;
  if (s->auto_pad == AUTO_PAD_SAME_UPPER || s->auto_pad == AUTO_PAD_SAME_LOWER) {
    out = op_same_pads(s->auto_pad, in, st, keff, &pb, &pe);
  } else {
    if (s->auto_pad == AUTO_PAD_VALID)
      pb = pe = 0;
    else if (pb >= keff || pe >= keff)
      return op_invalid(cx, n, "pads %lld+%lld on spatial axis %d must be "
                        "smaller than the kernel (%lld)", (long long)pb,
                        (long long)pe, i, (long long)keff);
    int64_t span = in + pb + pe - keff;
    if (span < 0)
      return op_invalid(cx, n, "spatial axis %d: the input (%lld, padded "
                        "%lld+%lld) is smaller than the kernel (%lld)", i,
                        (long long)in, (long long)pb, (long long)pe,
                        (long long)keff);
    out = (p->ceil_mode ? (span + st - 1) / st : span / st) + 1;
    if (p->ceil_mode && (out - 1) * st >= in + pb)
      out--;
  }
  p->pad_begin[i] = pb;
  p->pad_end[i] = pe;
  p->out[i] = out;
  int64_t reach = (out - 1) * st + keff - (in + pb + pe);
  p->extra_end[i] = reach > 0 ? reach : 0;
  return O2L_OK;
}

Status pool_params(Ctx *cx, const Graph *g, const Node *n, PoolParams *p) {
  (void)g;
  memset(p, 0, sizeof *p);
  p->is_max = n->op == OP_MaxPool;
  TRY(op_check_io(cx, n, 1, 1, p->is_max ? 2 : 1));
  const Value *x = n->in[0];
  char buf[96];
  if (x->rank < 3 || x->rank > 2 + OP_MAX_SPATIAL)
    return op_unsup(cx, n, "input X has shape %s; expected (N, C, D1...Dk) "
                    "with 1 to 3 spatial dimensions",
                    value_shape_str(x, buf, sizeof buf));
  TRY(op_need_float(cx, n, 0, "input X"));
  p->nsp = x->rank - 2;
  SpatialAttrs s;
  TRY(op_spatial_attrs(cx, n, p->nsp, &s));
  if (!s.has_kernel)
    return op_invalid(cx, n, "the kernel_shape attribute is required");
  int64_t ceil_mode, cip = 0, so;
  TRY(op_attr_int(cx, n, "ceil_mode", 0, &ceil_mode));
  if (!p->is_max)
    TRY(op_attr_int(cx, n, "count_include_pad", 0, &cip));
  TRY(op_attr_int(cx, n, "storage_order", 0, &so));
  if (so != 0 && so != 1)
    return op_invalid(cx, n, "storage_order must be 0 or 1, got %lld",
                      (long long)so);
  if (ceil_mode != 0 && ceil_mode != 1)
    return op_invalid(cx, n, "ceil_mode must be 0 or 1, got %lld",
                      (long long)ceil_mode);
  if (cip != 0 && cip != 1)
    return op_invalid(cx, n, "count_include_pad must be 0 or 1, got %lld",
                      (long long)cip);
  p->ceil_mode = ceil_mode;
  p->count_include_pad = cip;
  p->auto_pad = s.auto_pad;
  p->batch = x->dims[0];
  p->channels = x->dims[1];
  for (int i = 0; i < p->nsp; i++) {
    p->kernel[i] = s.kernel[i];
    p->stride[i] = s.stride[i];
    p->dilation[i] = s.dilation[i];
    p->in[i] = x->dims[2 + i];
    if (p->in[i] < 1)
      return op_invalid(cx, n, "input X has shape %s, empty on spatial axis %d",
                        value_shape_str(x, buf, sizeof buf), i);
    TRY(pool_window(cx, n, p, i, &s));
  }
  return O2L_OK;
}

Status pool_infer(Ctx *cx, Graph *g, Node *n) {
  PoolParams p;
  TRY(pool_params(cx, g, n, &p));
  int64_t d[O2L_MAX_RANK];
  d[0] = p.batch;
  d[1] = p.channels;
  for (int i = 0; i < p.nsp; i++)
    d[2 + i] = p.out[i];
  op_set_out(n->out[0], n->in[0]->dtype, p.nsp + 2, d);
  if (n->nout > 1 && n->out[1]) /* MaxPool Indices */
    op_set_out(n->out[1], DT_I64, p.nsp + 2, d);
  return O2L_OK;
}

Status gpool_infer(Ctx *cx, Graph *g, Node *n) {
  (void)g;
  TRY(op_check_io(cx, n, 1, 1, 1));
  TRY(op_need_feature_map(cx, n, 3));
  const Value *x = n->in[0];
  int64_t d[O2L_MAX_RANK];
  for (int i = 0; i < x->rank; i++)
    d[i] = i < 2 ? x->dims[i] : 1;
  op_set_out(n->out[0], x->dtype, x->rank, d);
  return O2L_OK;
}
