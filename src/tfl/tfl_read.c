/* tfl_read.c - a .tflite file back into a GRAPH_TFL graph (subgraph 0).
 *
 * Used by inspect and by the tests that check what the writer produced.
 * Nothing from the file is trusted: every offset, vector length, tensor,
 * buffer and opcode index is checked (fb.h), and a problem is reported
 * with its byte offset.  Constant data is not copied: Value.data points
 * into the caller's buffer.  Operators we never emit still load, with
 * node->op = -1 and op_type naming them ("LSTM", "CUSTOM:ethos-u"); their
 * options are not decoded.
 */
#include <stdio.h>
#include <string.h>

#include "tfl/fb.h"
#include "tfl/tfl.h"

enum { CODE_CUSTOM = 32 };

typedef struct Reader {
  Ctx *cx;
  FbReader r;
  Graph *g;
  FbVec buffers;
  FbVec opcodes;
  FbVec tensors;
} Reader;

static Status parse_err(Reader *rd) {
  return ctx_err(rd->cx, O2L_ERR_PARSE, "malformed TFLite file at byte %zu: %s",
                 rd->r.err_off, rd->r.err);
}

#define CHECK_READ(rd)          \
  do {                          \
    if ((rd)->r.failed)         \
      return parse_err(rd);     \
  } while (0)

static char *copy_str(Reader *rd, const char *s, size_t n) {
  return arena_strndup(rd->cx->arena, s ? s : "", s ? n : 0);
}

/* ---- tensors ---------------------------------------------------------- */

/* The bytes of buffer `index`, or NULL when it holds none. */
static Status buffer_data(Reader *rd, uint32_t index, size_t where,
                          const void **data, size_t *n) {
  *data = NULL;
  *n = 0;
  if (index == 0)
    return O2L_OK;
  if (index >= rd->buffers.n) {
    fb_reader_fail(&rd->r, where, "buffer index %u, but the file has %u buffers",
                   index, rd->buffers.n);
    return parse_err(rd);
  }
  FbTable b = fb_vec_table_at(&rd->r, rd->buffers, index);
  FbVec v = fb_get_vec(&rd->r, b, 0, 1);
  uint64_t off = fb_get_u64(&rd->r, b, 1, 0), size = fb_get_u64(&rd->r, b, 2, 0);
  CHECK_READ(rd);
  if (v.pos && v.n) {
    *data = fb_vec_bytes(&rd->r, v);
    *n = v.n;
  } else if (off > 1) {
    /* Models past 2 GB keep data after the flatbuffer (schema 3c). */
    if (off > rd->r.len || size > rd->r.len - off) {
      fb_reader_fail(&rd->r, b.pos, "buffer %u: %llu bytes at %llu lie outside the file",
                     index, (unsigned long long)size, (unsigned long long)off);
      return parse_err(rd);
    }
    *data = rd->r.buf + off;
    *n = (size_t)size;
  }
  return O2L_OK;
}

static Status read_quant(Reader *rd, FbTable qt, Value *v) {
  FbReader *r = &rd->r;
  FbVec scale = fb_get_vec(r, qt, 2, 4), zp = fb_get_vec(r, qt, 3, 8);
  FbVec min = fb_get_vec(r, qt, 0, 4), max = fb_get_vec(r, qt, 1, 4);
  int axis = fb_get_i32(r, qt, 6, 0);
  CHECK_READ(rd);
  if (scale.n == 0 && (min.n == 0 || max.n == 0))
    return O2L_OK;
  Arena *a = rd->cx->arena;
  Quant *q = arena_alloc(a, sizeof *q, 8);
  if (!q)
    return ctx_oom(rd->cx, "reading quantization");
  if (scale.n) {
    q->n = (int)scale.n;
    q->scale = arena_alloc(a, sizeof(float) * scale.n, 8);
    q->zp = arena_alloc(a, sizeof(int64_t) * scale.n, 8);
    if (!q->scale || !q->zp)
      return ctx_oom(rd->cx, "reading quantization");
    for (uint32_t i = 0; i < scale.n; i++) {
      q->scale[i] = fb_vec_f32_at(r, scale, i);
      q->zp[i] = i < zp.n ? fb_vec_i64_at(r, zp, i) : 0;
    }
  }
  q->axis = axis;
  if (min.n && max.n) {
    q->min = fb_vec_f32_at(r, min, 0);
    q->max = fb_vec_f32_at(r, max, 0);
    q->has_range = 1;
  }
  CHECK_READ(rd);
  v->quant = q;
  return O2L_OK;
}

static Status read_tensor(Reader *rd, uint32_t i) {
  FbReader *r = &rd->r;
  FbTable t = fb_vec_table_at(r, rd->tensors, i);
  FbVec shape = fb_get_vec(r, t, 0, 4);
  int type = fb_get_i8(r, t, 1, 0);
  uint32_t buffer = fb_get_u32(r, t, 2, 0);
  size_t nlen;
  const char *name = fb_get_str(r, t, 3, &nlen);
  FbTable qt = fb_get_table(r, t, 4);
  bool is_var = fb_get_bool(r, t, 5, false);
  CHECK_READ(rd);
  if (shape.n > O2L_MAX_RANK)
    return ctx_err(rd->cx, O2L_ERR_UNSUPPORTED,
                   "TFLite tensor %u ('%.*s') has rank %u; at most %d is supported", i,
                   (int)nlen, name ? name : "", shape.n, O2L_MAX_RANK);
  int64_t dims[O2L_MAX_RANK];
  for (uint32_t k = 0; k < shape.n; k++)
    dims[k] = fb_vec_i32_at(r, shape, k);
  const void *data;
  size_t nbytes;
  TRY(buffer_data(rd, buffer, t.pos, &data, &nbytes));
  char *vname = copy_str(rd, name, nlen);
  if (!vname)
    return ctx_oom(rd->cx, "reading tensors");
  DType dt = tfl_type_to_dtype(type);
  Value *v = data ? graph_add_const(rd->cx, rd->g, vname, dt, (int)shape.n, dims, data,
                                    nbytes)
                  : graph_add_value(rd->cx, rd->g, vname, dt, (int)shape.n, dims);
  if (!v)
    return rd->cx->status;
  v->is_variable = is_var;
  return fb_table_ok(qt) ? read_quant(rd, qt, v) : O2L_OK;
}

/* ---- operators -------------------------------------------------------- */

static void read_options(FbReader *r, FbTable t, int type, TflOptions *o) {
  switch (type) {
  case 1:
    o->padding = fb_get_i8(r, t, 0, 0);
    o->stride_w = fb_get_i32(r, t, 1, 0);
    o->stride_h = fb_get_i32(r, t, 2, 0);
    o->act = fb_get_i8(r, t, 3, 0);
    o->dilation_w = fb_get_i32(r, t, 4, 1);
    o->dilation_h = fb_get_i32(r, t, 5, 1);
    o->quantized_bias_type = fb_get_i8(r, t, 6, 0);
    break;
  case 2:
    o->padding = fb_get_i8(r, t, 0, 0);
    o->stride_w = fb_get_i32(r, t, 1, 0);
    o->stride_h = fb_get_i32(r, t, 2, 0);
    o->depth_multiplier = fb_get_i32(r, t, 3, 0);
    o->act = fb_get_i8(r, t, 4, 0);
    o->dilation_w = fb_get_i32(r, t, 5, 1);
    o->dilation_h = fb_get_i32(r, t, 6, 1);
    break;
  case 5:
    o->padding = fb_get_i8(r, t, 0, 0);
    o->stride_w = fb_get_i32(r, t, 1, 0);
    o->stride_h = fb_get_i32(r, t, 2, 0);
    o->filter_w = fb_get_i32(r, t, 3, 0);
    o->filter_h = fb_get_i32(r, t, 4, 0);
    o->act = fb_get_i8(r, t, 5, 0);
    break;
  case 8:
    o->act = fb_get_i8(r, t, 0, 0);
    o->keep_num_dims = fb_get_bool(r, t, 2, false);
    o->asymmetric_quantize_inputs = fb_get_bool(r, t, 3, false);
    o->quantized_bias_type = fb_get_i8(r, t, 4, 0);
    break;
  case 9:
    o->beta = fb_get_f32(r, t, 0, 0.0f);
    break;
  case 10:
    o->axis = fb_get_i32(r, t, 0, 0);
    o->act = fb_get_i8(r, t, 1, 0);
    break;
  case 11:
  case 28:
    o->act = fb_get_i8(r, t, 0, 0);
    o->pot_scale_int16_false = !fb_get_bool(r, t, 1, true);
    break;
  case 12:
  case 21:
  case 29:
    o->act = fb_get_i8(r, t, 0, 0);
    break;
  case 15:
    o->align_corners = fb_get_bool(r, t, 2, false);
    o->half_pixel_centers = fb_get_bool(r, t, 3, false);
    break;
  case 74:
    o->align_corners = fb_get_bool(r, t, 0, false);
    o->half_pixel_centers = fb_get_bool(r, t, 1, false);
    break;
  case 19:
  case 94:
    o->block_size = fb_get_i32(r, t, 0, 0);
    break;
  case 23:
    o->axis = fb_get_i32(r, t, 0, 0);
    o->batch_dims = fb_get_i32(r, t, 1, 0);
    break;
  case 27:
    o->keep_dims = fb_get_bool(r, t, 0, false);
    break;
  case 30: {
    FbVec d = fb_get_vec(r, t, 0, 4);
    o->n_squeeze_dims = d.n > 8 ? 8 : (int)d.n;
    for (int i = 0; i < o->n_squeeze_dims; i++)
      o->squeeze_dims[i] = fb_vec_i32_at(r, d, (uint32_t)i);
    break;
  }
  case 32:
    o->begin_mask = fb_get_i32(r, t, 0, 0);
    o->end_mask = fb_get_i32(r, t, 1, 0);
    o->ellipsis_mask = fb_get_i32(r, t, 2, 0);
    o->new_axis_mask = fb_get_i32(r, t, 3, 0);
    o->shrink_axis_mask = fb_get_i32(r, t, 4, 0);
    o->offset = fb_get_bool(r, t, 5, false);
    break;
  case 35:
  case 79:
    o->num_splits = fb_get_i32(r, t, 0, 0);
    break;
  case 37:
    o->in_type = fb_get_i8(r, t, 0, 0);
    o->out_type = fb_get_i8(r, t, 1, 0);
    break;
  case 40:
  case 57:
    o->out_type = fb_get_i8(r, t, 0, 0);
    break;
  case 49:
    o->padding = fb_get_i8(r, t, 0, 0);
    o->stride_w = fb_get_i32(r, t, 1, 0);
    o->stride_h = fb_get_i32(r, t, 2, 0);
    o->act = fb_get_i8(r, t, 3, 0);
    o->quantized_bias_type = fb_get_i8(r, t, 4, 0);
    break;
  case 59:
    o->values_count = fb_get_i32(r, t, 0, 0);
    o->axis = fb_get_i32(r, t, 1, 0);
    break;
  case 64:
    o->num = fb_get_i32(r, t, 0, 0);
    o->axis = fb_get_i32(r, t, 1, 0);
    break;
  case 75:
    o->alpha = fb_get_f32(r, t, 0, 0.0f);
    break;
  case 77:
    o->mirror_mode = fb_get_i8(r, t, 0, 0);
    break;
  case 101:
    o->adj_x = fb_get_bool(r, t, 0, false);
    o->adj_y = fb_get_bool(r, t, 1, false);
    o->asymmetric_quantize_inputs = fb_get_bool(r, t, 2, false);
    break;
  case 102:
    o->exclusive = fb_get_bool(r, t, 0, false);
    o->reverse = fb_get_bool(r, t, 1, false);
    break;
  case 106:
    o->padding = fb_get_i8(r, t, 0, 0);
    o->stride_d = fb_get_i32(r, t, 1, 0);
    o->stride_w = fb_get_i32(r, t, 2, 0);
    o->stride_h = fb_get_i32(r, t, 3, 0);
    o->act = fb_get_i8(r, t, 4, 0);
    o->dilation_d = fb_get_i32(r, t, 5, 1);
    o->dilation_w = fb_get_i32(r, t, 6, 1);
    o->dilation_h = fb_get_i32(r, t, 7, 1);
    break;
  case 13:
    o->radius = fb_get_i32(r, t, 0, 0);
    o->bias = fb_get_f32(r, t, 1, 0.0f);
    o->alpha = fb_get_f32(r, t, 2, 0.0f);
    o->beta = fb_get_f32(r, t, 3, 0.0f);
    break;
  case 116:
    o->approximate = fb_get_bool(r, t, 0, false);
    break;
  default:
    break; /* no fields, or a table we never write */
  }
}

/* Tensor indices of an operator's inputs or outputs; -1 becomes NULL. */
static Status read_tensor_list(Reader *rd, FbVec v, Value ***out) {
  Value **list = arena_alloc(rd->cx->arena, sizeof(Value *) * (v.n + 1), 8);
  if (!list)
    return ctx_oom(rd->cx, "reading operators");
  for (uint32_t i = 0; i < v.n; i++) {
    int32_t t = fb_vec_i32_at(&rd->r, v, i);
    CHECK_READ(rd);
    if (t == -1)
      continue;
    if (t < 0 || (uint32_t)t >= rd->tensors.n) {
      fb_reader_fail(&rd->r, v.pos + 4 * i, "tensor index %d, but the subgraph has %u",
                     t, rd->tensors.n);
      return parse_err(rd);
    }
    list[i] = rd->g->values[t];
  }
  *out = list;
  return O2L_OK;
}

/* op and op_type of the operator code at `index`. */
static Status read_opcode(Reader *rd, uint32_t index, size_t where, Node *n) {
  FbReader *r = &rd->r;
  if (index >= rd->opcodes.n) {
    fb_reader_fail(r, where, "opcode index %u, but the file has %u operator codes",
                   index, rd->opcodes.n);
    return parse_err(rd);
  }
  FbTable oc = fb_vec_table_at(r, rd->opcodes, index);
  int deprecated = fb_get_i8(r, oc, 0, 0);
  size_t clen;
  const char *custom = fb_get_str(r, oc, 1, &clen);
  int version = fb_get_i32(r, oc, 2, 1);
  int code = fb_get_i32(r, oc, 3, 0);
  CHECK_READ(rd);
  /* schema v3a: the larger of the two fields is the code. */
  if (deprecated > code)
    code = deprecated;
  const char *name = tfl_builtin_name(code);
  Arena *a = rd->cx->arena;
  if (code == CODE_CUSTOM)
    n->op_type = arena_printf(a, "CUSTOM:%.*s", (int)clen, custom ? custom : "");
  else
    n->op_type = name ? arena_strdup(a, name) : arena_printf(a, "BUILTIN_%d", code);
  if (!n->op_type)
    return ctx_oom(rd->cx, "reading operators");
  n->op = code == CODE_CUSTOM ? -1 : tfl_op_from_code(code);
  n->version = version;
  return O2L_OK;
}

static Status read_operator(Reader *rd, FbVec ops, uint32_t i) {
  FbReader *r = &rd->r;
  FbTable t = fb_vec_table_at(r, ops, i);
  uint32_t opcode = fb_get_u32(r, t, 0, 0);
  FbVec ins = fb_get_vec(r, t, 1, 4), outs = fb_get_vec(r, t, 2, 4);
  int otype = fb_get_u8(r, t, 3, 0);
  FbTable opts = fb_get_table(r, t, 4);
  CHECK_READ(rd);
  Value **in, **out;
  TRY(read_tensor_list(rd, ins, &in));
  TRY(read_tensor_list(rd, outs, &out));
  const char *name = outs.n && out[0] ? out[0]->name : "";
  Node *n = graph_add_node(rd->cx, rd->g, -1, name, (int)ins.n, in, (int)outs.n, out);
  if (!n)
    return rd->cx->status;
  TRY(read_opcode(rd, opcode, t.pos, n));
  if (n->op >= 0 && otype == tfl_op_options_type(n->op) && fb_table_ok(opts)) {
    read_options(r, opts, otype, &n->opt);
    CHECK_READ(rd);
  }
  return O2L_OK;
}

static Status read_io(Reader *rd, FbVec v, bool inputs) {
  Value **list;
  TRY(read_tensor_list(rd, v, &list));
  for (uint32_t i = 0; i < v.n; i++)
    if (!list[i]) {
      fb_reader_fail(&rd->r, v.pos + 4 * i, "subgraph %s %u is -1",
                     inputs ? "input" : "output", i);
      return parse_err(rd);
    }
  return inputs ? graph_set_inputs(rd->cx, rd->g, (int)v.n, list)
                : graph_set_outputs(rd->cx, rd->g, (int)v.n, list);
}

Status tfl_read(Ctx *cx, const unsigned char *buf, size_t len, Graph **out) {
  *out = NULL;
  if (!fb_has_identifier(buf, len, "TFL3"))
    return ctx_err(cx, O2L_ERR_PARSE,
                   "not a TFLite file: no \"TFL3\" identifier at byte 4");
  Reader rd = {.cx = cx};
  fb_reader_init(&rd.r, buf, len);
  FbReader *r = &rd.r;
  FbTable model = fb_root(r);
  rd.opcodes = fb_get_vec(r, model, 1, 4);
  FbVec subgraphs = fb_get_vec(r, model, 2, 4);
  rd.buffers = fb_get_vec(r, model, 4, 4);
  CHECK_READ(&rd);
  if (subgraphs.n == 0)
    return ctx_err(cx, O2L_ERR_PARSE, "TFLite file has no subgraph");
  FbTable sg = fb_vec_table_at(r, subgraphs, 0);
  rd.tensors = fb_get_vec(r, sg, 0, 4);
  FbVec ins = fb_get_vec(r, sg, 1, 4), outs = fb_get_vec(r, sg, 2, 4);
  FbVec ops = fb_get_vec(r, sg, 3, 4);
  CHECK_READ(&rd);
  /* Every buffer is checked, referenced or not, so a cut-off file is
   * always noticed (the writer puts buffer data last). */
  for (uint32_t i = 0; i < rd.buffers.n; i++) {
    FbTable b = fb_vec_table_at(r, rd.buffers, i);
    fb_get_vec(r, b, 0, 1);
  }
  FbVec meta = fb_get_vec(r, model, 6, 4);
  for (uint32_t i = 0; i < meta.n; i++) {
    FbTable m = fb_vec_table_at(r, meta, i);
    fb_get_str(r, m, 0, NULL);
  }
  CHECK_READ(&rd);
  rd.g = graph_new(cx, GRAPH_TFL);
  if (!rd.g)
    return cx->status;
  Status st = O2L_OK;
  for (uint32_t i = 0; i < rd.tensors.n && st == O2L_OK; i++)
    st = read_tensor(&rd, i);
  for (uint32_t i = 0; i < ops.n && st == O2L_OK; i++)
    st = read_operator(&rd, ops, i);
  if (st == O2L_OK)
    st = read_io(&rd, ins, true);
  if (st == O2L_OK)
    st = read_io(&rd, outs, false);
  if (st != O2L_OK) {
    graph_release(rd.g);
    return st;
  }
  graph_uses(rd.g);
  *out = rd.g;
  return O2L_OK;
}
