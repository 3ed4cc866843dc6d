/* ref_run.c - runs a .tflite with the reference kernels (src/ref/), for
 * tests/check_ref_vs_litert.py.
 *
 *   ref_run MODEL.tflite OUTDIR IN0.bin [IN1.bin ...] [--iters N]
 *
 * Each INi.bin holds graph input i as raw little-endian data of its dtype in
 * its physical (file) shape.  Writes OUTDIR/out<i>.bin the same way and
 * prints one line per output: "out<i> NAME DTYPE D0xD1x...".  With
 * --iters N, runs N more times and prints the best time per run; with
 * --profile also the time per operator kind over those runs; with
 * --observe an observer takes every tensor's min/max, as calibration does.
 * Built by the tests/unit pattern rule: make build/asan/tests/ref_run
 * (or any compiler: it only needs libonnx2lite.a).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "ref/ref.h"
#include "tfl/tfl.h"

typedef struct Range {
  float lo, hi;
} Range;

/* Calibration's per-tensor work, roughly: a min/max pass over the data. */
static void observe(void *user, const Value *v, const float *x, size_t n) {
  Range *r = (Range *)user + v->id;
  float lo[8], hi[8];
  for (int k = 0; k < 8; k++) {
    lo[k] = r->lo;
    hi[k] = r->hi;
  }
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) {
      lo[k] = x[i + k] < lo[k] ? x[i + k] : lo[k];
      hi[k] = x[i + k] > hi[k] ? x[i + k] : hi[k];
    }
  for (; i < n; i++) {
    lo[0] = x[i] < lo[0] ? x[i] : lo[0];
    hi[0] = x[i] > hi[0] ? x[i] : hi[0];
  }
  for (int k = 0; k < 8; k++) {
    r->lo = lo[k] < r->lo ? lo[k] : r->lo;
    r->hi = hi[k] > r->hi ? hi[k] : r->hi;
  }
}

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  unsigned char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 1 << 20;
      unsigned char *p = realloc(buf, cap);
      if (!p) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = p;
    }
    size_t k = fread(buf + n, 1, cap - n, f);
    n += k;
    if (k == 0)
      break;
  }
  fclose(f);
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ref_run MODEL.tflite OUTDIR IN0.bin ... [--iters N]\n");
    return 64;
  }
  int iters = 0, nfiles = 0, profile = 0, obs = 0;
  const char *files[64];
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--iters") && i + 1 < argc)
      iters = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--profile"))
      profile = 1;
    else if (!strcmp(argv[i], "--observe"))
      obs = 1;
    else if (nfiles < 64)
      files[nfiles++] = argv[i];
  }
  size_t len;
  unsigned char *model = slurp(argv[1], &len);
  if (!model) {
    fprintf(stderr, "ref_run: cannot read %s\n", argv[1]);
    return 1;
  }
  Arena a;
  Ctx cx;
  arena_init(&a);
  ctx_init(&cx, &a, NULL, NULL);
  Graph *g = NULL;
  RefRunner *r = NULL;
  int rc = 1;
  void *inputs[64] = {NULL};
  if (tfl_read(&cx, model, len, &g) != O2L_OK)
    goto fail;
  if (g->ninputs != nfiles || g->ninputs > 64) {
    fprintf(stderr, "ref_run: the model has %d inputs, %d files given\n",
            g->ninputs, nfiles);
    goto done;
  }
  for (int i = 0; i < g->ninputs; i++) {
    const Value *v = g->inputs[i];
    size_t want = (size_t)value_numel(v) * dtype_size(v->dtype), got;
    inputs[i] = slurp(files[i], &got);
    if (!inputs[i] || got != want) {
      fprintf(stderr, "ref_run: %s: %zu bytes, input '%s' needs %zu\n",
              files[i], inputs[i] ? got : 0, v->name, want);
      goto done;
    }
  }
  if (ref_prepare(&cx, g, &r) != O2L_OK ||
      ref_run(r, (const float *const *)inputs) != O2L_OK)
    goto fail;
  for (int i = 0; i < g->noutputs; i++) {
    const Value *v = g->outputs[i];
    char path[4096], shape[256];
    snprintf(path, sizeof path, "%s/out%d.bin", argv[2], i);
    FILE *f = fopen(path, "wb");
    size_t n = (size_t)value_numel(v) * dtype_size(v->dtype);
    if (!f || fwrite(ref_output(r, i), 1, n, f) != n) {
      fprintf(stderr, "ref_run: cannot write %s\n", path);
      if (f)
        fclose(f);
      goto done;
    }
    fclose(f);
    printf("out%d %s %s %s\n", i, v->name, dtype_name(v->dtype),
           dims_str(v->rank, v->dims, shape, sizeof shape));
  }
  Range *ranges = NULL;
  if (iters > 0 && obs) {
    ranges = malloc(sizeof(Range) * (size_t)(g->nvalues + 1));
    if (!ranges)
      goto done;
    for (int i = 0; i < g->nvalues; i++)
      ranges[i] = (Range){INFINITY, -INFINITY};
    ref_set_observer(r, observe, ranges);
  }
  if (iters > 0) {
    double best = 1e30;
    ref_set_profiling(r, profile);
    for (int k = 0; k < iters; k++) {
      double t = now_seconds();
      if (ref_run(r, (const float *const *)inputs) != O2L_OK)
        goto fail;
      t = now_seconds() - t;
      best = t < best ? t : best;
    }
    printf("time %.3f ms\n", best * 1e3);
    const double *prof = ref_profile(r);
    for (int op = 0; prof && op < TFL_OP_COUNT; op++) {
      double t = 0;
      int cnt = 0;
      for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->op == op) {
          t += prof[i];
          cnt++;
        }
      if (cnt)
        printf("  %-24s %4d ops %9.3f ms\n", tfl_op_name(op), cnt,
               t * 1e3 / iters);
    }
  }
  free(ranges);
  rc = 0;
  goto done;
fail:
  fprintf(stderr, "ref_run: %s\n", cx.msg);
done:
  for (int i = 0; i < 64; i++)
    free(inputs[i]);
  ref_free(r);
  if (g)
    graph_release(g);
  arena_free(&a);
  free(model);
  return rc;
}
