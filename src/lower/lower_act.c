/* lower_act.c - activations TFLite has no builtin for (or only as GELU):
 * Gelu, Erf, Mish, Selu, Celu, ThresholdedRelu, Softsign.
 *
 * Like the other unary operators (lower_eltwise.c) they work on the input
 * tensor as it is stored and their output keeps that order, so they never
 * cost a TRANSPOSE.  Gelu is GELU with approximate set for "tanh".  The
 * others are short chains of elementwise operators:
 *   Erf(x)   = sign(x) * (1 - poly(t) * exp(-x*x)), t = 1 / (1 + p*|x|),
 *              Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7);
 *   Mish     = x * tanh(log(exp(x) + 1));
 *   Selu     = gamma * (relu(x) + alpha * (exp(min(x, 0)) - 1));
 *   Celu     = relu(x) + alpha * (exp(min(x, 0) / alpha) - 1);
 *   ThresholdedRelu = select(x > alpha, x, 0);
 *   Softsign = x / (1 + |x|).
 * PyTorch's exact GELU written out with Erf is turned back into one Gelu
 * node before lowering (pass/fuse_gelu.c).
 */
#include <stdio.h>
#include <string.h>

#include "lower/lower.h"
#include "ops/opattr.h"

/* A chain of elementwise steps on tensors shaped like the input; the step
 * whose suffix is NULL writes the node's output. */
typedef struct Steps {
  Lower *lw;
  Value *x; /* the input tensor */
  bool ok;
  Value *one, *zero; /* made once */
} Steps;

static Value *like(Steps *s, const char *sfx, DType dt) {
  Value *t = lw_tensor(s->lw, sfx, dt, s->x->rank, s->x->dims);
  s->ok = s->ok && t;
  return t;
}

static Value *k(Steps *s, const char *sfx, float v) {
  Value **cache = v == 1.0f ? &s->one : v == 0.0f ? &s->zero : NULL;
  if (cache && *cache)
    return *cache;
  Value *c = lw_const_f32_scalar(s->lw, sfx, v);
  s->ok = s->ok && c;
  if (cache)
    *cache = c;
  return c;
}

static Value *op1(Steps *s, TflOp op, Value *a, const char *sfx) {
  if (!s->ok || !a)
    return s->ok = false, NULL;
  Value *out = like(s, sfx, DT_F32);
  if (!out || !lw_op(s->lw, op, 1, &a, 1, &out))
    return s->ok = false, NULL;
  return out;
}

static Value *op2(Steps *s, TflOp op, Value *a, Value *b, const char *sfx) {
  if (!s->ok || !a || !b)
    return s->ok = false, NULL;
  Value *out = like(s, sfx, op == TFL_GREATER ? DT_BOOL : DT_F32);
  Value *in[2] = {a, b};
  if (!out || !lw_op(s->lw, op, 2, in, 1, &out))
    return s->ok = false, NULL;
  return out;
}

/* erf(x), A&S 7.1.26; the last step named sfx. */
static Value *erf_chain(Steps *s, Value *x, const char *sfx) {
  static const float a[5] = {0.254829592f, -0.284496736f, 1.421413741f,
                             -1.453152027f, 1.061405429f};
  Value *ax = op1(s, TFL_ABS, x, "erf_abs");
  Value *den = op2(s, TFL_MUL, ax, k(s, "erf_p", 0.3275911f), "erf_px");
  den = op2(s, TFL_ADD, den, k(s, "one", 1.0f), "erf_den");
  Value *t = op2(s, TFL_DIV, k(s, "one", 1.0f), den, "erf_t");
  Value *poly = op2(s, TFL_MUL, t, k(s, "erf_a5", a[4]), "erf_poly4");
  for (int i = 3; i >= 0; i--) {
    char ca[32], cs[32], cm[32];
    snprintf(ca, sizeof ca, "erf_a%d", i + 1);
    snprintf(cs, sizeof cs, "erf_sum%d", i);
    snprintf(cm, sizeof cm, "erf_poly%d", i);
    poly = op2(s, TFL_ADD, poly, k(s, ca, a[i]), cs);
    poly = op2(s, TFL_MUL, poly, t, cm);
  }
  Value *nx = op1(s, TFL_NEG, x, "erf_neg");
  Value *e = op1(s, TFL_EXP, op2(s, TFL_MUL, x, nx, "erf_negsq"), "erf_exp");
  Value *tail = op2(s, TFL_MUL, poly, e, "erf_tail");
  Value *mag = op2(s, TFL_SUB, k(s, "one", 1.0f), tail, "erf_abs_value");
  return op2(s, TFL_MUL, op1(s, TFL_SIGN, x, "erf_sign"), mag, sfx);
}

/* relu(x) + alpha * (exp(min(x, 0) * scale) - 1); the last step sfx. */
static Value *elu_like(Steps *s, Value *x, double alpha, double scale,
                       const char *sfx) {
  Value *pos = op1(s, TFL_RELU, x, "pos");
  Value *neg = op2(s, TFL_MINIMUM, x, k(s, "zero", 0.0f), "neg");
  if (scale != 1.0)
    neg = op2(s, TFL_MUL, neg, k(s, "inv_alpha", (float)scale), "neg_scaled");
  Value *e = op2(s, TFL_SUB, op1(s, TFL_EXP, neg, "exp"), k(s, "one", 1.0f),
                 "expm1");
  if (alpha != 1.0)
    e = op2(s, TFL_MUL, e, k(s, "alpha", (float)alpha), "neg_part");
  return op2(s, TFL_ADD, pos, e, sfx);
}

static Status act_chain(Lower *lw, Node *n, const ActParams *p, Steps *s,
                        Value **y) {
  Value *x = s->x;
  switch (n->op) {
  case OP_Gelu: {
    Node *op;
    Value *out = like(s, NULL, DT_F32);
    if (!out || !(op = lw_op(lw, TFL_GELU, 1, &x, 1, &out)))
      return lw_failed(lw);
    op->opt.approximate = p->gelu_tanh;
    *y = out;
    return O2L_OK;
  }
  case OP_Erf:
    *y = erf_chain(s, x, NULL);
    break;
  case OP_Mish: {
    Value *sp = op1(s, TFL_EXP, x, "exp");
    sp = op1(s, TFL_LOG, op2(s, TFL_ADD, sp, k(s, "one", 1.0f), "exp_plus1"),
             "softplus");
    *y = op2(s, TFL_MUL, x, op1(s, TFL_TANH, sp, "tanh"), NULL);
    break;
  }
  case OP_Selu:
    *y = op2(s, TFL_MUL, elu_like(s, x, p->alpha, 1.0, "elu"),
             k(s, "gamma", (float)p->gamma), NULL);
    break;
  case OP_Celu:
    *y = elu_like(s, x, p->alpha, 1.0 / p->alpha, NULL);
    break;
  case OP_ThresholdedRelu: {
    Value *above = op2(s, TFL_GREATER, x, k(s, "alpha", (float)p->alpha),
                       "above");
    Value *out = like(s, NULL, DT_F32);
    Value *in[3] = {above, x, k(s, "zero", 0.0f)};
    if (!s->ok || !above || !out || !lw_op(lw, TFL_SELECT_V2, 3, in, 1, &out))
      return lw_failed(lw);
    *y = out;
    return O2L_OK;
  }
  case OP_Softsign: {
    Value *den = op2(s, TFL_ADD, op1(s, TFL_ABS, x, "abs"), k(s, "one", 1.0f),
                     "den");
    *y = op2(s, TFL_DIV, x, den, NULL);
    break;
  }
  default:
    return lw_err(lw, O2L_ERR_INTERNAL, "not an activation of lower_act.c");
  }
  return s->ok && *y ? O2L_OK : lw_failed(lw);
}

Status act_lower(Lower *lw, Node *n) {
  ActParams p;
  TRY(act_params(lw->cx, lw->src, n, &p));
  Value *x = n->in[0], *y = n->out[0];
  if (x->dtype != DT_F32)
    return lw_err(lw, O2L_ERR_UNSUPPORTED, "%s input: only float32 is "
                  "supported", dtype_name(x->dtype));
  Steps s = {lw, lw_in_asis(lw, x), true, NULL, NULL};
  if (!s.x)
    return lw_failed(lw);
  Value *out = NULL;
  TRY(act_chain(lw, n, &p, &s, &out));
  /* The output keeps the input's order (and its axis-order hint). */
  LVal *lx = &lw->map[x->id];
  if (!value_is_const(x) && lx->has_hint) {
    int hint[O2L_MAX_RANK];
    memcpy(hint, lx->hint, sizeof hint);
    lw_set_perm(lw, y, out, hint);
  } else {
    Layout L;
    if (value_is_const(x))
      layout_plain(&L);
    else
      L = lx->L;
    lw_set_layout(lw, y, out, &L);
  }
  return O2L_OK;
}
