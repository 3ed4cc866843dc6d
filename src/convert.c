/* convert.c - the pipeline, top to bottom:
 *
 *   onnx_load -> check supported -> infer shapes -> remove no-ops ->
 *   fold constants -> fold BatchNorm -> fuse pads -> DCE ->
 *   lower (layout: NCHW -> NHWC) -> fuse activations -> cleanup ->
 *   [quantize] -> tfl_write
 *
 * and the report of what happened.  Everything a conversion allocates lives
 * in one arena, freed at the end; the model file stays mapped until then
 * because constants point into it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "lower/lower.h"
#include "onnx/onnx.h"
#include "pass/pass.h"
#include "quant/quant.h"
#include "tfl/tfl.h"

static void report_histogram(o2l_report *rep, const Graph *t) {
  int counts[TFL_OP_COUNT] = {0};
  for (int i = 0; i < t->nnodes; i++)
    if (!t->nodes[i]->dead)
      counts[t->nodes[i]->op]++;
  int kinds = 0;
  for (int i = 0; i < TFL_OP_COUNT; i++)
    kinds += counts[i] > 0;
  rep->op_names = xrealloc(NULL, sizeof(char *) * (size_t)(kinds + 1));
  rep->op_counts = xrealloc(NULL, sizeof(int) * (size_t)(kinds + 1));
  if (!rep->op_names || !rep->op_counts)
    return;
  rep->n_op_kinds = 0;
  rep->tflite_ops = 0;
  for (int i = 0; i < TFL_OP_COUNT; i++) {
    if (!counts[i])
      continue;
    const char *name = tfl_op_name(i);
    char *copy = xrealloc(NULL, strlen(name) + 1);
    if (!copy)
      continue;
    strcpy(copy, name);
    rep->op_names[rep->n_op_kinds] = copy;
    rep->op_counts[rep->n_op_kinds++] = counts[i];
    rep->tflite_ops += counts[i];
  }
  rep->transposes = counts[TFL_TRANSPOSE];
  rep->pads = counts[TFL_PAD] + counts[TFL_PADV2] + counts[TFL_MIRROR_PAD];
}

static void report_passes(Ctx *cx, const PassStats *st) {
  if (st->folded)
    ctx_report(cx, "folded %d constant node(s)", st->folded);
  if (st->noops_removed)
    ctx_report(cx, "removed %d Identity/Dropout node(s)", st->noops_removed);
  if (st->bn_folded)
    ctx_report(cx, "folded %d BatchNormalization node(s) into Conv/Gemm",
               st->bn_folded);
  if (st->bn_standalone)
    ctx_report(cx, "lowered %d BatchNormalization node(s) with nothing to "
               "fold into as MUL + ADD", st->bn_standalone);
  if (st->branches_merged)
    ctx_report(cx, "merged %d Add(s) of parallel Conv/BatchNorm/identity "
               "branches into their Conv", st->branches_merged);
  if (st->slices_merged)
    ctx_report(cx, "merged %d Slice(s) of a Slice into one", st->slices_merged);
  if (st->s2d_made)
    ctx_report(cx, "made %d space-to-depth pattern(s) one SPACE_TO_DEPTH",
               st->s2d_made);
  if (st->affine_merged)
    ctx_report(cx, "merged %d Concat(s) of per-channel affine maps of one "
               "tensor into MUL + ADD", st->affine_merged);
  if (st->hswish_fused)
    ctx_report(cx, "made %d x * hard-sigmoid(x) pattern(s) one HardSwish",
               st->hswish_fused);
  if (st->pads_absorbed)
    ctx_report(cx, "absorbed %d Pad node(s) into conv/pool padding",
               st->pads_absorbed);
  if (st->acts_fused)
    ctx_report(cx, "fused %d activation(s) into their producers",
               st->acts_fused);
  if (st->gelu_fused)
    ctx_report(cx, "fused %d Erf-based GELU chain(s) into GELU",
               st->gelu_fused);
  if (st->dead_removed)
    ctx_report(cx, "removed %d node(s) whose results were unused",
               st->dead_removed);
}

static Status run_onnx_passes(Ctx *cx, Graph *g, PassStats *st) {
  TRY(pass_check_supported(cx, g));
  TRY(graph_toposort(cx, g));
  TRY(pass_infer_shapes(cx, g));
  TRY(pass_remove_noops(cx, g, st));
  TRY(pass_fold_constants(cx, g, st));
  TRY(pass_fold_bn(cx, g, st));
  TRY(pass_merge_branches(cx, g, st));
  TRY(pass_merge_slices(cx, g, st));
  TRY(pass_space_to_depth(cx, g, st));
  TRY(pass_merge_channel_affine(cx, g, st));
  TRY(pass_fuse_hardswish(cx, g, st));
  TRY(pass_fuse_pad(cx, g, st));
  TRY(pass_fuse_gelu(cx, g, st));
  st->dead_removed += graph_dce(g);
  graph_compact(g);
  return graph_toposort(cx, g);
}

static void release_pages(void *user, const void *p, size_t n) {
  onnx_release(user, p, n);
}

static Status pipeline(Ctx *cx, OnnxFile **file, Graph **onnx, Graph **tfl) {
  const o2l_options *opt = cx->opt;
  PassStats st = {0};
  ctx_progress(cx, "reading", 0);
  TRY(onnx_load(cx, opt->input_path, onnx, file));
  cx->release = release_pages;
  cx->release_user = *file;
  if (cx->rep)
    cx->rep->onnx_nodes = (*onnx)->nnodes;
  TRY(run_onnx_passes(cx, *onnx, &st));
  ctx_progress(cx, "lowering", 0.3);
  TRY(lower_graph(cx, *onnx, tfl));
  TRY(pass_tfl_fuse_activations(cx, *tfl, &st));
  TRY(pass_tfl_cleanup(cx, *tfl, &st));
  if (opt->quantize != O2L_QUANT_NONE) {
    ctx_progress(cx, "quantizing", 0.4);
    TRY(quantize_graph(cx, *tfl));
  }
  report_passes(cx, &st);
  ctx_progress(cx, "writing", 0.9);
  size_t bytes = 0;
  TRY(tfl_write(cx, *tfl, opt->output_path, &bytes));
  if (opt->report_json) {
    Status rs = quant_write_report(cx, *tfl, opt->report_json);
    if (rs != O2L_OK) {
      remove(opt->output_path); /* all or nothing */
      return rs;
    }
  }
  if (cx->rep) {
    cx->rep->output_bytes = (long)bytes;
    report_histogram(cx->rep, *tfl);
  }
  ctx_progress(cx, "done", 1);
  return O2L_OK;
}

o2l_status o2l_convert(const o2l_options *opt, o2l_report *rep, char *err,
                       size_t errlen) {
  double t0 = now_seconds();
  if (rep)
    memset(rep, 0, sizeof *rep);
  if (err && errlen)
    err[0] = 0;
  Arena arena;
  arena_init(&arena);
  Ctx cx;
  ctx_init(&cx, &arena, opt, rep);
  Status st;
  if (!opt || !opt->input_path || !opt->output_path) {
    st = ctx_err(&cx, O2L_ERR_USAGE, "an input and an output path are needed");
  } else {
    OnnxFile *file = NULL;
    Graph *onnx = NULL, *tfl = NULL;
    st = pipeline(&cx, &file, &onnx, &tfl);
    graph_release(tfl);
    graph_release(onnx);
    onnx_close(file);
  }
  if (st != O2L_OK && err && errlen)
    snprintf(err, errlen, "%s", cx.msg[0] ? cx.msg : o2l_status_str(st));
  arena_free(&arena);
  if (rep)
    rep->seconds = now_seconds() - t0;
  return st;
}

void o2l_report_print(const o2l_report *rep, FILE *out) {
  fprintf(out, "ops: %d ONNX nodes in, %d TFLite operators out\n",
          rep->onnx_nodes, rep->tflite_ops);
  if (rep->n_op_kinds) {
    fprintf(out, "operators:");
    for (int i = 0; i < rep->n_op_kinds; i++)
      fprintf(out, " %s=%d", rep->op_names[i], rep->op_counts[i]);
    fprintf(out, "\n");
  }
  for (int i = 0; i < rep->n_lines; i++)
    fprintf(out, "  %s\n", rep->lines[i]);
  fprintf(out, "transposes left: %d, pads: %d\n", rep->transposes, rep->pads);
  fprintf(out, "wrote %ld bytes in %.3f s\n", rep->output_bytes, rep->seconds);
}

void o2l_report_free(o2l_report *rep) {
  if (!rep)
    return;
  for (int i = 0; i < rep->n_lines; i++)
    xfree(rep->lines[i]);
  xfree(rep->lines);
  for (int i = 0; i < rep->n_op_kinds; i++)
    xfree(rep->op_names[i]);
  xfree(rep->op_names);
  xfree(rep->op_counts);
  memset(rep, 0, sizeof *rep);
}
