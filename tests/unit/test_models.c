/* test_models.c - the real models in /work/shared/models (PyTorch exports,
 * opset 13) through the ONNX-level front of the pipeline: read, check
 * supported, sort, infer shapes, remove no-ops, fold constants.  After
 * that no Shape/Gather/Constant node may remain (their run-time shape
 * arithmetic must have folded away), every value has a static shape, and
 * the graph outputs have the shapes manifest.json records.  Skipped, with
 * a message, when the models are not there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "onnx/onnx.h"
#include "ops/ops.h"
#include "pass/pass.h"

#define MODELS_DIR "/work/shared/models"

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    s = NULL;
  }
  if (s)
    s[n] = 0;
  fclose(f);
  return s;
}

typedef struct OutSpec {
  char name[64];
  int rank;
  long long dims[8];
} OutSpec;

/* Just enough JSON: the "outputs" array following `at`, each entry's
 * "name" and "shape". */
static int manifest_outputs(const char *at, OutSpec *out, int max) {
  const char *p = strstr(at, "\"outputs\"");
  if (!p)
    return -1;
  p = strchr(p, '[');
  if (!p)
    return -1;
  int depth = 0, k = 0;
  for (; *p; p++) {
    if (*p == '[' || *p == '{')
      depth++;
    else if (*p == ']' || *p == '}') {
      if (--depth == 0)
        break;
    } else if (depth == 2 && strncmp(p, "\"name\"", 6) == 0 && k < max) {
      const char *q = strchr(p + 6, '"');
      const char *e = q ? strchr(q + 1, '"') : NULL;
      if (!q || !e || e - q - 1 >= 64)
        return -1;
      memset(&out[k], 0, sizeof out[k]);
      memcpy(out[k].name, q + 1, (size_t)(e - q - 1));
      p = e;
    } else if (depth == 2 && strncmp(p, "\"shape\"", 7) == 0 && k < max) {
      const char *q = strchr(p, '[');
      char *end;
      q++;
      while (*q && *q != ']') {
        long long v = strtoll(q, &end, 10);
        if (end == q) {
          q++;
          continue;
        }
        if (out[k].rank < 8)
          out[k].dims[out[k].rank++] = v;
        q = end;
      }
      p = q;
      k++;
    }
  }
  return k;
}

static int count_op(const Graph *g, int op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i]->dead && g->nodes[i]->op == op)
      k++;
  return k;
}

static void run_model(const char *manifest, const char *file) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", MODELS_DIR, file);
  o2l_options opt;
  memset(&opt, 0, sizeof opt);
  opt.quiet = 1;
  Arena a;
  arena_init(&a);
  Ctx cx;
  ctx_init(&cx, &a, &opt, NULL);
  Graph *g = NULL;
  OnnxFile *f = NULL;
  PassStats st = {0};
  Status s = onnx_load(&cx, path, &g, &f);
  if (s == O2L_OK)
    s = pass_check_supported(&cx, g);
  if (s == O2L_OK)
    s = graph_toposort(&cx, g);
  int before = s == O2L_OK ? g->nnodes : 0;
  if (s == O2L_OK)
    s = pass_infer_shapes(&cx, g);
  if (s == O2L_OK)
    s = pass_remove_noops(&cx, g, &st);
  if (s == O2L_OK)
    s = pass_fold_constants(&cx, g, &st);
  if (s != O2L_OK)
    fprintf(stderr, "%s: %s\n", file, cx.msg);
  CHECK(s == O2L_OK);
  if (s == O2L_OK) {
    CHECK(count_op(g, OP_Shape) == 0);
    CHECK(count_op(g, OP_Gather) == 0);
    CHECK(count_op(g, OP_Constant) == 0);
    CHECK(count_op(g, OP_Identity) == 0);
    for (int i = 0; i < g->nvalues; i++) {
      const Value *v = g->values[i];
      if (v->rank < 0 || v->dtype == DT_UNDEF)
        fprintf(stderr, "%s: value '%s' has no shape\n", file, v->name);
      CHECK(v->rank >= 0 && v->dtype != DT_UNDEF);
    }
    OutSpec want[16];
    const char *at = strstr(manifest, file);
    int nw = at ? manifest_outputs(at, want, 16) : -1;
    CHECK(nw == g->noutputs);
    for (int i = 0; i < nw && i < g->noutputs; i++) {
      const Value *v = g->outputs[i];
      bool same = strcmp(v->name, want[i].name) == 0 && v->rank == want[i].rank;
      for (int d = 0; same && d < v->rank; d++)
        same = v->dims[d] == want[i].dims[d];
      if (!same) {
        char buf[64];
        fprintf(stderr, "%s: output '%s' has shape %s, manifest says '%s' "
                "rank %d\n", file, v->name, value_shape_str(v, buf, sizeof buf),
                want[i].name, want[i].rank);
      }
      CHECK(same);
    }
    printf("  %-24s %4d nodes -> %4d (folded %d, no-ops %d, dead %d)\n", file,
           before, g->nnodes, st.folded, st.noops_removed, st.dead_removed);
  }
  graph_release(g);
  onnx_close(f);
  arena_free(&a);
}

int main(void) {
  char *manifest = read_text(MODELS_DIR "/manifest.json");
  if (!manifest) {
    printf("test_models: %s/manifest.json not found, skipped\n", MODELS_DIR);
    return 0;
  }
  int n = 0;
  for (const char *p = manifest; (p = strstr(p, "\"file\": \"")) != NULL;) {
    p += 9;
    const char *e = strchr(p, '"');
    if (!e)
      break;
    if (e - p > 5 && e - p < 200 && strncmp(e - 5, ".onnx", 5) == 0) {
      char file[256];
      memcpy(file, p, (size_t)(e - p));
      file[e - p] = 0;
      char path[512];
      snprintf(path, sizeof path, "%s/%s", MODELS_DIR, file);
      FILE *t = fopen(path, "rb");
      if (!t) {
        printf("  %s missing, skipped\n", file);
      } else {
        fclose(t);
        run_model(manifest, file);
        n++;
      }
    }
    p = e;
  }
  CHECK(n > 0);
  free(manifest);
  return check_done("test_models");
}
