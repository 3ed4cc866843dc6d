/* quantize.c - quantize_graph: checks the quantization options, runs the
 * stage of the mode (float16, dynamic, or calibration then the integer
 * rewrite), and leaves the graph sorted and compacted for the writer.
 * Also the small graph helpers the stages share.
 */
#include <stdio.h>
#include <string.h>

#include "quant/quant_impl.h"

/* ---- helpers ----------------------------------------------------------- */

Quant *q_new(Ctx *cx, int n) {
  Quant *q = arena_alloc(cx->arena, sizeof *q, 8);
  float *s = arena_alloc(cx->arena, sizeof(float) * (size_t)(n > 0 ? n : 1), 8);
  int64_t *z = arena_alloc(cx->arena, sizeof(int64_t) * (size_t)(n > 0 ? n : 1), 8);
  if (!q || !s || !z) {
    ctx_oom(cx, "quantization parameters");
    return NULL;
  }
  q->n = n;
  q->scale = s;
  q->zp = z;
  return q;
}

Quant *q_per_tensor(Ctx *cx, QParams p) {
  Quant *q = q_new(cx, 1);
  if (q) {
    q->scale[0] = p.scale;
    q->zp[0] = p.zp;
  }
  return q;
}

const char *q_name(Ctx *cx, const char *base, const char *suffix) {
  const char *s = arena_printf(cx->arena, "%s%s", base ? base : "", suffix);
  if (!s)
    ctx_oom(cx, "tensor names");
  return s;
}

Node *q_add_unary(Ctx *cx, Graph *g, int op, const char *name, Value *in,
                  Value *out) {
  if (!in || !out || !name)
    return NULL;
  Node *n = graph_add_node(cx, g, op, name, 1, &in, 1, &out);
  if (n)
    n->op_type = op == TFL_QUANTIZE ? "quantize" : "dequantize";
  return n;
}

Value *q_like(Ctx *cx, Graph *g, const Value *v, const char *name, DType t) {
  if (!name)
    return NULL;
  return graph_add_value(cx, g, name, t, v->rank, v->dims);
}

Status q_weight_only(Ctx *cx, Graph *g, int n0, const unsigned char *float_op,
                     int *done) {
  int nv = g->nvalues;
  Value **deq = xrealloc(NULL, sizeof(Value *) * (size_t)(nv + 1));
  if (!deq)
    return ctx_oom(cx, "weight-only quantization");
  memset(deq, 0, sizeof(Value *) * (size_t)(nv + 1));
  Status st = O2L_OK;
  for (int i = 0; i < n0 && st == O2L_OK; i++) {
    Node *n = g->nodes[i];
    if (n->dead || !float_op[i])
      continue;
    for (int j = 0; j < n->nin && st == O2L_OK; j++) {
      Value *w = n->in[j];
      int axis = qop_weight_only_axis(n, j);
      if (axis < -1 || w->id >= nv || g->values[w->id] != w ||
          value_numel(w) < Q_WEIGHT_MIN)
        continue;
      if (!deq[w->id]) {
        int nch = axis >= 0 ? (int)w->dims[axis] : 1;
        int64_t k = value_numel(w);
        Quant *q = q_new(cx, nch);
        int8_t *data = arena_alloc(cx->arena, (size_t)k + 1, 16);
        if (!q || !data) {
          st = ctx_oom(cx, "int8 weights");
          break;
        }
        q->axis = axis >= 0 ? axis : 0;
        qw_scales(w->data, w->rank, w->dims, axis, q->scale);
        qw_quantize(w->data, w->rank, w->dims, axis, q->scale, data);
        Value *c = graph_add_const(cx, g, w->name, DT_I8, w->rank, w->dims,
                                   data, (size_t)k);
        Value *f = c ? q_like(cx, g, w, q_name(cx, w->name, "_dequant"), DT_F32)
                     : NULL;
        if (!c || !f || !q_add_unary(cx, g, TFL_DEQUANTIZE, w->name, c, f)) {
          st = cx->status ? cx->status : ctx_oom(cx, "int8 weights");
          break;
        }
        c->quant = q;
        deq[w->id] = f;
        (*done)++;
      }
      n->in[j] = deq[w->id];
    }
  }
  xfree(deq);
  return st;
}

/* ---- options -------------------------------------------------------------- */

static const char *io_name(o2l_io_type t) {
  switch (t) {
  case O2L_IO_INT8: return "int8";
  case O2L_IO_UINT8: return "uint8";
  case O2L_IO_INT16: return "int16";
  case O2L_IO_FLOAT32: return "float32";
  default: return "default";
  }
}

/* The graph I/O type for an integer mode, or an error for a combination
 * the runtimes do not have. */
static Status io_type(Ctx *cx, o2l_quant_mode m, DType *io) {
  o2l_io_type t = cx->opt->io_type;
  if (m == O2L_QUANT_INT8) {
    switch (t) {
    case O2L_IO_DEFAULT:
    case O2L_IO_INT8: *io = DT_I8; return O2L_OK;
    case O2L_IO_UINT8: *io = DT_U8; return O2L_OK;
    case O2L_IO_FLOAT32: *io = DT_F32; return O2L_OK;
    default: break;
    }
    return ctx_err(cx, O2L_ERR_USAGE, "--io-type %s does not go with "
                   "--quantize int8 (use int8, uint8 or float32)", io_name(t));
  }
  switch (t) {
  case O2L_IO_DEFAULT:
  case O2L_IO_INT16: *io = DT_I16; return O2L_OK;
  case O2L_IO_FLOAT32: *io = DT_F32; return O2L_OK;
  default: break;
  }
  return ctx_err(cx, O2L_ERR_USAGE, "--io-type %s does not go with "
                 "--quantize int16x8 (use int16 or float32)", io_name(t));
}

static Status check_weight_only(Ctx *cx, const char *mode) {
  const o2l_options *opt = cx->opt;
  if (opt->io_type != O2L_IO_DEFAULT && opt->io_type != O2L_IO_FLOAT32)
    return ctx_err(cx, O2L_ERR_USAGE, "--io-type %s does not go with "
                   "--quantize %s, whose inputs and outputs stay float32",
                   io_name(opt->io_type), mode);
  if (opt->calib_path)
    ctx_notice(cx, "--quantize %s quantizes weights only; --calib is not "
               "used", mode);
  return O2L_OK;
}

static Status integer(Ctx *cx, Graph *g, DType act) {
  const o2l_options *opt = cx->opt;
  DType io = DT_I8;
  TRY(io_type(cx, opt->quantize, &io));
  if (!opt->calib_path)
    return ctx_err(cx, O2L_ERR_USAGE,
                   "--quantize %s needs calibration data to choose the "
                   "activation ranges: pass --calib FILE.npy (an array "
                   "[N, ...] of samples in the ONNX input layout), FILE.npz "
                   "(one such array per input), or a folder of images; "
                   "--calib random calibrates on N(0,1) noise (for testing "
                   "only: the accuracy will suffer)",
                   act == DT_I16 ? "int16x8" : "int8");
  if (g->ninputs == 0)
    return ctx_err(cx, O2L_ERR_UNSUPPORTED,
                   "the model has no runtime inputs to calibrate");
  TRY(quant_rewrite(cx, g));
  graph_uses(g);
  CalibRange *ranges = arena_alloc(cx->arena,
                                   sizeof(CalibRange) * (size_t)(g->nvalues + 1), 8);
  if (!ranges)
    return ctx_oom(cx, "calibration ranges");
  TRY(calibrate_graph(cx, g, act == DT_I16 ? 16 : 8, ranges));
  return quant_integer(cx, g, ranges, act, io);
}

Status quantize_graph(Ctx *cx, Graph *g) {
  const o2l_options *opt = cx->opt;
  if (!opt || opt->quantize == O2L_QUANT_NONE)
    return O2L_OK;
  if (g->kind != GRAPH_TFL)
    return ctx_err(cx, O2L_ERR_INTERNAL, "quantize_graph needs a TFLite graph");
  switch (opt->quantize) {
  case O2L_QUANT_FLOAT16:
    TRY(check_weight_only(cx, "float16"));
    TRY(quant_float16(cx, g));
    break;
  case O2L_QUANT_DYNAMIC:
    TRY(check_weight_only(cx, "dynamic"));
    TRY(quant_dynamic(cx, g));
    break;
  case O2L_QUANT_INT8:
    TRY(integer(cx, g, DT_I8));
    break;
  case O2L_QUANT_INT16X8:
    TRY(integer(cx, g, DT_I16));
    break;
  default:
    return ctx_err(cx, O2L_ERR_USAGE, "unknown quantization mode %d",
                   (int)opt->quantize);
  }
  TRY(graph_toposort(cx, g));
  graph_compact(g);
  return O2L_OK;
}
