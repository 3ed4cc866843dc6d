/* quant_report.c - the --report FILE.json of a conversion: the options
 * that shaped the quantization, then every tensor of the written graph
 * (type, shape, calibrated range, scale and zero point, quantized
 * dimension) and every operator with the types of its inputs and outputs.
 * Everything comes from the graph itself (Value.quant holds the ranges),
 * so the report describes exactly what was written.  The file is written
 * beside its final name and renamed, like the model.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "quant/quant_impl.h"

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double x) {
  if (isfinite(x))
    fprintf(f, "%.9g", x);
  else
    fputs("null", f);
}

static const char *mode_name(o2l_quant_mode m) {
  switch (m) {
  case O2L_QUANT_FLOAT16: return "float16";
  case O2L_QUANT_DYNAMIC: return "dynamic";
  case O2L_QUANT_INT8: return "int8";
  case O2L_QUANT_INT16X8: return "int16x8";
  default: return "none";
  }
}

static const char *method_name(o2l_calib_method m) {
  switch (m) {
  case O2L_CALIB_PERCENTILE: return "percentile";
  case O2L_CALIB_MSE: return "mse";
  default: return "minmax";
  }
}

static void tensor(FILE *f, const Value *v) {
  fputs("    {\"name\": ", f);
  json_str(f, v->name);
  fprintf(f, ", \"type\": \"%s\", \"shape\": [", dtype_name(v->dtype));
  for (int k = 0; k < v->rank; k++)
    fprintf(f, "%s%lld", k ? ", " : "", (long long)v->dims[k]);
  fprintf(f, "], \"constant\": %s", v->data ? "true" : "false");
  if (v->is_input || v->is_output)
    fprintf(f, ", \"io\": \"%s\"", v->is_input ? "input" : "output");
  const Quant *q = v->quant;
  if (q && q->has_range) {
    fputs(", \"calibrated_range\": [", f);
    json_num(f, q->min);
    fputs(", ", f);
    json_num(f, q->max);
    fputs("]", f);
  }
  if (q && q->n > 0) {
    fputs(", \"scale\": [", f);
    for (int k = 0; k < q->n; k++) {
      fputs(k ? ", " : "", f);
      json_num(f, q->scale[k]);
    }
    fputs("], \"zero_point\": [", f);
    for (int k = 0; k < q->n; k++)
      fprintf(f, "%s%lld", k ? ", " : "", (long long)q->zp[k]);
    fputs("]", f);
    if (q->n > 1)
      fprintf(f, ", \"quantized_dimension\": %d", q->axis);
  }
  fputs("}", f);
}

static void operand_list(FILE *f, const char *key, Value *const *v, int n) {
  fprintf(f, "\"%s\": [", key);
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (!v[i])
      continue;
    fputs(k++ ? ", " : "", f);
    fputs("{\"tensor\": ", f);
    json_str(f, v[i]->name);
    fprintf(f, ", \"type\": \"%s\"}", dtype_name(v[i]->dtype));
  }
  fputs("]", f);
}

static bool integer_op(const Node *n) {
  if (n->op == TFL_QUANTIZE || n->op == TFL_DEQUANTIZE)
    return false;
  for (int i = 0; i < n->nout; i++)
    if (n->out[i] && n->out[i]->dtype == DT_F32)
      return false;
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] && n->in[i]->dtype == DT_F32)
      return false;
  return true;
}

static void body(FILE *f, const Ctx *cx, const Graph *g) {
  const o2l_options *opt = cx->opt;
  fputs("{\n  \"quantization\": {\"mode\": ", f);
  json_str(f, opt ? mode_name(opt->quantize) : "none");
  if (opt && (opt->quantize == O2L_QUANT_INT8 ||
              opt->quantize == O2L_QUANT_INT16X8)) {
    fputs(", \"calibration\": ", f);
    json_str(f, opt->calib_path);
    fprintf(f, ", \"calib_method\": \"%s\", \"per_tensor\": %s",
            method_name(opt->calib_method), opt->per_tensor ? "true" : "false");
  }
  fputs("},\n  \"inputs\": [", f);
  for (int i = 0; i < g->ninputs; i++) {
    fputs(i ? ", " : "", f);
    json_str(f, g->inputs[i]->name);
  }
  fputs("],\n  \"outputs\": [", f);
  for (int i = 0; i < g->noutputs; i++) {
    fputs(i ? ", " : "", f);
    json_str(f, g->outputs[i]->name);
  }
  fputs("],\n  \"tensors\": [\n", f);
  int k = 0;
  for (int i = 0; i < g->nvalues; i++) {
    const Value *v = g->values[i];
    if (!v->producer && !v->nuses && !v->is_input && !v->is_output)
      continue;
    fputs(k++ ? ",\n" : "", f);
    tensor(f, v);
  }
  fputs("\n  ],\n  \"operators\": [\n", f);
  k = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    if (n->dead)
      continue;
    fputs(k ? ",\n" : "", f);
    fprintf(f, "    {\"index\": %d, \"op\": \"%s\", \"name\": ", k,
            tfl_op_name(n->op));
    json_str(f, n->name);
    fprintf(f, ", \"integer\": %s, ", integer_op(n) ? "true" : "false");
    operand_list(f, "inputs", n->in, n->nin);
    fputs(", ", f);
    operand_list(f, "outputs", n->out, n->nout);
    fputs("}", f);
    k++;
  }
  fputs("\n  ]\n}\n", f);
}

Status quant_write_report(Ctx *cx, const Graph *g, const char *path) {
  char *tmp = arena_printf(cx->arena, "%s.tmp", path);
  if (!tmp)
    return ctx_oom(cx, "the report");
  FILE *f = fopen(tmp, "w");
  if (!f)
    return ctx_err(cx, O2L_ERR_IO, "cannot write the report '%s': %s", path,
                   strerror(errno));
  body(f, cx, g);
  bool bad = ferror(f) != 0;
  if (fclose(f) != 0)
    bad = true;
  if (bad || rename(tmp, path) != 0) {
    int e = errno;
    remove(tmp);
    return ctx_err(cx, O2L_ERR_IO, "cannot write the report '%s': %s", path,
                   strerror(e));
  }
  return O2L_OK;
}
