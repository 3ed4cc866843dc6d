/* norm.c - BatchNormalization (inference form), Softmax and LogSoftmax:
 * parameters and shape inference.
 */
#include <string.h>

#include "ops/opattr.h"

Status bn_params(Ctx *cx, const Graph *g, const Node *n, BatchNormParams *p) {
  memset(p, 0, sizeof *p);
  int opset = op_opset(g);
  TRY(op_check_io(cx, n, 5, 5, 5));
  p->form = opset < 7 ? BN_FORM_V1
            : opset < 9 ? BN_FORM_V7
            : opset < 14 ? BN_FORM_V9 : BN_FORM_V14;
  const Value *x = n->in[0];
  char buf[96];
  if (x->rank < 2)
    return op_invalid(cx, n, "input X has shape %s; expected (N, C, ...)",
                      value_shape_str(x, buf, sizeof buf));
  TRY(op_need_float(cx, n, 0, "input X"));
  TRY(op_attr_float(cx, n, "epsilon", 1e-5, &p->epsilon));
  TRY(op_attr_float(cx, n, "momentum", 0.9, &p->momentum));
  if (!(p->epsilon >= 0))
    return op_invalid(cx, n, "epsilon must be >= 0, got %g", p->epsilon);
  int64_t spatial, training;
  TRY(op_attr_int(cx, n, "spatial", 1, &spatial));
  TRY(op_attr_int(cx, n, "training_mode", 0, &training));
  if (p->form < BN_FORM_V9 && spatial == 0)
    return op_unsup(cx, n, "spatial=0 (per-activation statistics) is not "
                    "supported");
  if (p->form == BN_FORM_V14 && training)
    return op_unsup(cx, n, "training_mode=1 is not supported; export the "
                    "model in eval mode");
  p->channels = x->dims[1];
  static const char *const names[] = {"X", "scale", "B", "input_mean",
                                      "input_var"};
  for (int i = 1; i < 5; i++) {
    const Value *v = n->in[i];
    if (v->rank != 1 || v->dims[0] != p->channels)
      return op_invalid(cx, n, "%s has shape %s; expected (%lld), one value "
                        "per channel", names[i],
                        value_shape_str(v, buf, sizeof buf),
                        (long long)p->channels);
    if (!dtype_is_float(v->dtype))
      return op_invalid(cx, n, "%s must be float, got %s", names[i],
                        dtype_name(v->dtype));
  }
  return O2L_OK;
}

Status bn_infer(Ctx *cx, Graph *g, Node *n) {
  BatchNormParams p;
  TRY(bn_params(cx, g, n, &p));
  const Value *x = n->in[0];
  op_set_out(n->out[0], x->dtype, x->rank, x->dims);
  /* Training-only outputs (running / saved statistics): shaped so the graph
   * is consistent; lowering rejects them if anything reads them. */
  for (int i = 1; i < n->nout; i++)
    if (n->out[i])
      op_set_out(n->out[i], n->in[3]->dtype, 1, &p.channels);
  return O2L_OK;
}

Status softmax_params(Ctx *cx, const Graph *g, const Node *n,
                      SoftmaxParams *p) {
  memset(p, 0, sizeof *p);
  TRY(op_check_io(cx, n, 1, 1, 1));
  const Value *x = n->in[0];
  TRY(op_need_float(cx, n, 0, "input"));
  if (x->rank < 1)
    return op_invalid(cx, n, "input must have rank >= 1, got a scalar");
  p->coerce_2d = op_opset(g) < 13;
  int64_t axis;
  TRY(op_attr_int(cx, n, "axis", p->coerce_2d ? 1 : -1, &axis));
  return op_axis(cx, n, "axis", axis, x->rank, &p->axis);
}

Status softmax_infer(Ctx *cx, Graph *g, Node *n) {
  SoftmaxParams p;
  TRY(softmax_params(cx, g, n, &p));
  const Value *x = n->in[0];
  op_set_out(n->out[0], x->dtype, x->rank, x->dims);
  return O2L_OK;
}
