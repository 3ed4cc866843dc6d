/* conv.c - Conv and ConvTranspose: attribute parsing (ConvParams) and
 * shape inference.  Lowering lives with the lowering code.
 *
 * Output sizes follow the ONNX operator documentation:
 *   Conv, NOTSET:   out = floor((in + pb + pe - ((k-1)*d + 1)) / s) + 1
 *   Conv, SAME_*:   out = ceil(in / s), total pad = max(0, (out-1)*s +
 *                   (k-1)*d + 1 - in), the odd one at the end (UPPER) or
 *                   the beginning (LOWER)
 *   Conv, VALID:    no padding
 *   ConvTranspose:  out = s*(in-1) + output_padding + (k-1)*d + 1 - pb - pe;
 *                   with output_shape (or SAME_*: out = in*s) the pads are
 *                   derived from the total, split as the spec says.
 */
#include <string.h>

#include "ops/opattr.h"

static Status conv_weights(Ctx *cx, const Node *n, ConvParams *p,
                           const Value **px, const Value **pw) {
  TRY(op_check_io(cx, n, 2, 3, 1));
  const Value *x = n->in[0], *w = n->in[1];
  char b1[96], b2[96];
  if (x->rank < 3 || x->rank > 2 + OP_MAX_SPATIAL)
    return op_unsup(cx, n, "input X has shape %s; expected (N, C, D1...Dk) "
                    "with 1 to 3 spatial dimensions",
                    value_shape_str(x, b1, sizeof b1));
  if (w->rank != x->rank)
    return op_invalid(cx, n, "weight W has shape %s but X has shape %s; both "
                      "must have rank %d", value_shape_str(w, b1, sizeof b1),
                      value_shape_str(x, b2, sizeof b2), x->rank);
  TRY(op_need_float(cx, n, 0, "input X"));
  if (w->dtype != x->dtype)
    return op_invalid(cx, n, "weight W is %s but X is %s", dtype_name(w->dtype),
                      dtype_name(x->dtype));
  p->nsp = x->rank - 2;
  int kn;
  const int64_t *kv;
  TRY(op_attr_ints(cx, n, "kernel_shape", &kv, &kn));
  if (kn >= 0 && kn != p->nsp)
    return op_invalid(cx, n, "kernel_shape has %d entries but the weight is "
                      "%d-D", kn, w->rank);
  for (int i = 0; i < kn; i++)
    if (kv[i] != w->dims[2 + i])
      return op_invalid(cx, n, "kernel_shape[%d] = %lld but the weight has "
                        "shape %s", i, (long long)kv[i],
                        value_shape_str(w, b1, sizeof b1));
  *px = x;
  *pw = w;
  return O2L_OK;
}

static Status conv_bias(Ctx *cx, const Node *n, ConvParams *p) {
  const Value *b = op_in(n, 2);
  p->has_bias = b != NULL;
  if (!b)
    return O2L_OK;
  char buf[96];
  if (b->rank != 1 || b->dims[0] != p->out_ch)
    return op_invalid(cx, n, "bias B has shape %s; expected (%lld)",
                      value_shape_str(b, buf, sizeof buf),
                      (long long)p->out_ch);
  if (b->dtype != n->in[0]->dtype)
    return op_invalid(cx, n, "bias B is %s but X is %s", dtype_name(b->dtype),
                      dtype_name(n->in[0]->dtype));
  return O2L_OK;
}

static Status conv_fwd(Ctx *cx, const Node *n, ConvParams *p,
                       const SpatialAttrs *s) {
  for (int i = 0; i < p->nsp; i++) {
    int64_t in = p->in[i], k = p->kernel[i], st = p->stride[i];
    int64_t keff = (k - 1) * p->dilation[i] + 1;
    int64_t pb = s->pad_begin[i], pe = s->pad_end[i], out;
    switch (s->auto_pad) {
    case AUTO_PAD_SAME_UPPER:
    case AUTO_PAD_SAME_LOWER:
      out = op_same_pads(s->auto_pad, in, st, keff, &pb, &pe);
      break;
    case AUTO_PAD_VALID:
      pb = pe = 0;
      /* fall through */
    default:
      if (in + pb + pe < keff)
        return op_invalid(cx, n, "spatial axis %d: the input (%lld, padded "
                          "%lld+%lld) is smaller than the dilated kernel "
                          "(%lld)", i, (long long)in, (long long)pb,
                          (long long)pe, (long long)keff);
      out = (in + pb + pe - keff) / st + 1;
    }
    p->pad_begin[i] = pb;
    p->pad_end[i] = pe;
    p->out[i] = out;
  }
  return O2L_OK;
}

static Status convt_out(Ctx *cx, const Node *n, ConvParams *p,
                        const SpatialAttrs *s) {
  int64_t op[OP_MAX_SPATIAL] = {0}, os[OP_MAX_SPATIAL];
  const int64_t *v;
  int k;
  TRY(op_attr_ints(cx, n, "output_padding", &v, &k));
  if (k >= 0 && k != p->nsp)
    return op_invalid(cx, n, "output_padding has %d entries; expected %d", k,
                      p->nsp);
  for (int i = 0; i < k; i++) {
    int64_t lim = p->stride[i] > p->dilation[i] ? p->stride[i] : p->dilation[i];
    if (v[i] < 0 || v[i] >= lim)
      return op_invalid(cx, n, "output_padding[%d] = %lld must be in [0, %lld) "
                        "(less than the stride or the dilation)", i,
                        (long long)v[i], (long long)lim);
    op[i] = v[i];
  }
  const int64_t *shp;
  int ns;
  TRY(op_attr_ints(cx, n, "output_shape", &shp, &ns));
  /* output_shape may list the spatial sizes or the whole shape */
  if (ns >= 0 && ns != p->nsp && ns != p->nsp + 2)
    return op_invalid(cx, n, "output_shape has %d entries; expected %d", ns,
                      p->nsp);
  for (int i = 0; i < p->nsp; i++) {
    int64_t keff = (p->kernel[i] - 1) * p->dilation[i] + 1;
    int64_t full = p->stride[i] * (p->in[i] - 1) + op[i] + keff;
    p->out_pad[i] = op[i];
    bool derive = ns >= 0 || s->auto_pad == AUTO_PAD_SAME_UPPER ||
                  s->auto_pad == AUTO_PAD_SAME_LOWER;
    if (derive) {
      os[i] = ns >= 0 ? shp[ns - p->nsp + i] : p->in[i] * p->stride[i];
      int64_t total = full - os[i];
      if (os[i] < 1 || total < 0)
        return op_invalid(cx, n, "output size %lld on spatial axis %d cannot "
                          "be produced (the full output is %lld)",
                          (long long)os[i], i, (long long)full);
      if (s->auto_pad == AUTO_PAD_SAME_UPPER) {
        p->pad_begin[i] = total / 2;
        p->pad_end[i] = total - total / 2;
      } else {
        p->pad_begin[i] = total - total / 2;
        p->pad_end[i] = total / 2;
      }
      p->out[i] = os[i];
    } else {
      if (s->auto_pad == AUTO_PAD_VALID)
        p->pad_begin[i] = p->pad_end[i] = 0;
      else {
        p->pad_begin[i] = s->pad_begin[i];
        p->pad_end[i] = s->pad_end[i];
      }
      p->out[i] = full - p->pad_begin[i] - p->pad_end[i];
      if (p->out[i] < 1)
        return op_invalid(cx, n, "pads %lld+%lld leave no output on spatial "
                          "axis %d", (long long)p->pad_begin[i],
                          (long long)p->pad_end[i], i);
    }
  }
  return O2L_OK;
}

Status conv_params(Ctx *cx, const Graph *g, const Node *n, ConvParams *p) {
  (void)g;
  memset(p, 0, sizeof *p);
  p->transposed = n->op == OP_ConvTranspose;
  const Value *x = NULL, *w = NULL;
  TRY(conv_weights(cx, n, p, &x, &w));
  SpatialAttrs s;
  TRY(op_spatial_attrs(cx, n, p->nsp, &s));
  int64_t group;
  TRY(op_attr_int(cx, n, "group", 1, &group));
  p->auto_pad = s.auto_pad;
  p->batch = x->dims[0];
  p->in_ch = x->dims[1];
  char b1[96], b2[96];
  if (group < 1 || group > p->in_ch || p->in_ch % group)
    return op_invalid(cx, n, "group %lld must divide the %lld input channels",
                      (long long)group, (long long)p->in_ch);
  p->group = group;
  if (!p->transposed) {
    p->out_ch = w->dims[0];
    if (w->dims[1] * group != p->in_ch || p->out_ch % group)
      return op_invalid(cx, n, "weight W has shape %s but X has shape %s with "
                        "group %lld; expected W of (M, %lld, ...) with M a "
                        "multiple of the group", value_shape_str(w, b1, sizeof b1),
                        value_shape_str(x, b2, sizeof b2), (long long)group,
                        (long long)(p->in_ch / group));
    p->depthwise = group > 1 && group == p->in_ch;
  } else {
    if (w->dims[0] != p->in_ch)
      return op_invalid(cx, n, "weight W has shape %s but X has %lld channels; "
                        "expected W of (%lld, M/group, ...)",
                        value_shape_str(w, b1, sizeof b1), (long long)p->in_ch,
                        (long long)p->in_ch);
    p->out_ch = w->dims[1] * group;
  }
  for (int i = 0; i < p->nsp; i++) {
    p->kernel[i] = w->dims[2 + i];
    p->stride[i] = s.stride[i];
    p->dilation[i] = s.dilation[i];
    p->in[i] = x->dims[2 + i];
    if (p->kernel[i] < 1 || p->in[i] < 1)
      return op_invalid(cx, n, "empty kernel or input (W %s, X %s)",
                        value_shape_str(w, b1, sizeof b1),
                        value_shape_str(x, b2, sizeof b2));
  }
  TRY(conv_bias(cx, n, p));
  if (p->transposed)
    return convt_out(cx, n, p, &s);
  return conv_fwd(cx, n, p, &s);
}

static Status conv_set_out(Node *n, const ConvParams *p) {
  int64_t d[O2L_MAX_RANK];
  d[0] = p->batch;
  d[1] = p->out_ch;
  for (int i = 0; i < p->nsp; i++)
    d[2 + i] = p->out[i];
  op_set_out(n->out[0], n->in[0]->dtype, p->nsp + 2, d);
  return O2L_OK;
}

Status conv_infer(Ctx *cx, Graph *g, Node *n) {
  ConvParams p;
  TRY(conv_params(cx, g, n, &p));
  return conv_set_out(n, &p);
}

Status convt_infer(Ctx *cx, Graph *g, Node *n) {
  ConvParams p;
  TRY(conv_params(cx, g, n, &p));
  return conv_set_out(n, &p);
}
