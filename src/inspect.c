/* inspect.c - a short human report on an .onnx or .tflite file: format,
 * inputs and outputs, operator histogram, how many TRANSPOSE/PAD ops are
 * left, tensor count and constant bytes.
 *
 * The file kind comes from its content ("TFL3" at byte 4), not its name.
 * A .tflite is mapped and read with tfl_read (zero copy); an .onnx goes
 * through onnx_load.  Everything lives in one arena, freed before return.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir.h"
#include "onnx/onnx.h"
#include "tfl/fb.h"
#include "tfl/tfl.h"

typedef struct OpCount {
  const char *name;
  int count;
} OpCount;

typedef struct Histogram {
  OpCount *items;
  int n, cap;
  int total;
} Histogram;

static Status hist_add(Ctx *cx, Histogram *h, const char *name) {
  h->total++;
  for (int i = 0; i < h->n; i++)
    if (strcmp(h->items[i].name, name) == 0) {
      h->items[i].count++;
      return O2L_OK;
    }
  if (h->n == h->cap) {
    int nc = h->cap ? h->cap * 2 : 32;
    OpCount *p = arena_alloc(cx->arena, sizeof *p * (size_t)nc, 8);
    if (!p)
      return ctx_oom(cx, "counting operators");
    if (h->n)
      memcpy(p, h->items, sizeof *p * (size_t)h->n);
    h->items = p;
    h->cap = nc;
  }
  h->items[h->n++] = (OpCount){name, 1};
  return O2L_OK;
}

static int by_count(const void *a, const void *b) {
  const OpCount *x = a, *y = b;
  if (x->count != y->count)
    return x->count < y->count ? 1 : -1;
  return strcmp(x->name, y->name);
}

static int hist_get(const Histogram *h, const char *name) {
  for (int i = 0; i < h->n; i++)
    if (strcmp(h->items[i].name, name) == 0)
      return h->items[i].count;
  return 0;
}

static int by_data(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)(*(const Value *const *)a)->data;
  uintptr_t y = (uintptr_t)(*(const Value *const *)b)->data;
  return x < y ? -1 : x > y;
}

/* Bytes of constant data, counting data shared by several tensors once. */
static uint64_t constant_bytes(Ctx *cx, const Graph *g) {
  const Value **c = arena_alloc(cx->arena, sizeof *c * (size_t)(g->nvalues + 1), 8);
  if (!c)
    return 0;
  int n = 0;
  for (int i = 0; i < g->nvalues; i++)
    if (g->values[i]->data && g->values[i]->nbytes)
      c[n++] = g->values[i];
  qsort(c, (size_t)n, sizeof *c, by_data);
  uint64_t total = 0;
  size_t group = 0; /* largest size seen for the current data pointer */
  for (int i = 0; i < n; i++) {
    if (i > 0 && c[i]->data != c[i - 1]->data) {
      total += group;
      group = 0;
    }
    if (c[i]->nbytes > group)
      group = c[i]->nbytes;
  }
  return total + group;
}

static void print_size(FILE *out, const char *label, uint64_t n) {
  if (n >= 10u * 1024 * 1024)
    fprintf(out, "%s: %llu bytes (%.1f MB)\n", label, (unsigned long long)n,
            n / (1024.0 * 1024.0));
  else if (n >= 10u * 1024)
    fprintf(out, "%s: %llu bytes (%.1f KB)\n", label, (unsigned long long)n,
            n / 1024.0);
  else
    fprintf(out, "%s: %llu bytes\n", label, (unsigned long long)n);
}

static void print_value(FILE *out, const Value *v) {
  char dims[160];
  fprintf(out, "  %-24s %-16s %s", v->name && v->name[0] ? v->name : "(unnamed)",
          v->rank < 0 ? "?" : dims_str(v->rank, v->dims, dims, sizeof dims),
          dtype_name(v->dtype));
  const Quant *q = v->quant;
  if (q && q->n == 1)
    fprintf(out, "  scale=%g zero_point=%lld", q->scale[0], (long long)q->zp[0]);
  else if (q && q->n > 1)
    fprintf(out, "  per-axis: %d scales along axis %d", q->n, q->axis);
  fputc('\n', out);
}

static void print_graph(FILE *out, Ctx *cx, const Graph *g, const Histogram *h,
                        int transposes, int pads) {
  fprintf(out, "inputs: %d\n", g->ninputs);
  for (int i = 0; i < g->ninputs; i++)
    print_value(out, g->inputs[i]);
  fprintf(out, "outputs: %d\n", g->noutputs);
  for (int i = 0; i < g->noutputs; i++)
    print_value(out, g->outputs[i]);
  fprintf(out, "operators: %d (%d kinds)\n", h->total, h->n);
  qsort(h->items, (size_t)h->n, sizeof *h->items, by_count);
  for (int i = 0; i < h->n; i++)
    fprintf(out, "  %-28s %d\n", h->items[i].name, h->items[i].count);
  fprintf(out, "transposes: %d\n", transposes);
  fprintf(out, "pads: %d\n", pads);
  fprintf(out, "tensors: %d\n", g->nvalues);
  print_size(out, "constant bytes", constant_bytes(cx, g));
}

/* ---- TFLite ----------------------------------------------------------- */

static Status inspect_tflite(Ctx *cx, const unsigned char *buf, size_t len,
                             FILE *out) {
  Graph *g = NULL;
  TRY(tfl_read(cx, buf, len, &g));
  /* Version and description are not part of the graph: read them here. */
  FbReader r;
  fb_reader_init(&r, buf, len);
  FbTable model = fb_root(&r);
  uint32_t version = fb_get_u32(&r, model, 0, 0);
  size_t dlen = 0;
  const char *desc = fb_get_str(&r, model, 3, &dlen);
  fprintf(out, "format: TFLite, schema version %u\n", version);
  if (desc)
    fprintf(out, "description: %.*s\n", (int)dlen, desc);
  Histogram h = {0};
  Status st = O2L_OK;
  for (int i = 0; i < g->nnodes && st == O2L_OK; i++)
    st = hist_add(cx, &h, g->nodes[i]->op_type);
  if (st == O2L_OK)
    print_graph(out, cx, g, &h, hist_get(&h, "TRANSPOSE"),
                hist_get(&h, "PAD") + hist_get(&h, "PADV2") + hist_get(&h, "MIRROR_PAD"));
  graph_release(g);
  return st;
}

/* ---- ONNX ------------------------------------------------------------- */

static Status inspect_onnx(Ctx *cx, const char *path, FILE *out) {
  Graph *g = NULL;
  OnnxFile *file = NULL;
  Status st = onnx_load(cx, path, &g, &file);
  if (st == O2L_OK) {
    fprintf(out, "format: ONNX, opset %d", g->opset);
    if (g->producer && g->producer[0])
      fprintf(out, ", producer %s", g->producer);
    fputc('\n', out);
    Histogram h = {0};
    for (int i = 0; i < g->nnodes && st == O2L_OK; i++) {
      const Node *n = g->nodes[i];
      const char *name = n->op_type;
      if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
        name = arena_printf(cx->arena, "%s:%s", n->domain, n->op_type);
      st = name ? hist_add(cx, &h, name) : ctx_oom(cx, "counting operators");
    }
    if (st == O2L_OK)
      print_graph(out, cx, g, &h, hist_get(&h, "Transpose"), hist_get(&h, "Pad"));
  }
  graph_release(g);
  onnx_close(file);
  return st;
}

/* ---- entry ------------------------------------------------------------ */

static Status inspect_path(Ctx *cx, const char *path, FILE *out) {
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return ctx_err(cx, O2L_ERR_IO, "%s: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return ctx_err(cx, O2L_ERR_IO, "%s: not a regular file", path);
  }
  size_t len = (size_t)sb.st_size;
  unsigned char head[8] = {0};
  bool tflite = len >= 8 && pread(fd, head, 8, 0) == 8 && memcmp(head + 4, "TFL3", 4) == 0;
  fprintf(out, "file: %s\n", path);
  print_size(out, "size", len);
  if (!tflite) {
    close(fd);
    return inspect_onnx(cx, path, out);
  }
  void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED)
    return ctx_err(cx, O2L_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
  Status st = inspect_tflite(cx, map, len, out);
  munmap(map, len);
  return st;
}

o2l_status o2l_inspect(const char *path, FILE *out, char *err, size_t errlen) {
  if (err && errlen)
    err[0] = 0;
  o2l_options opt;
  memset(&opt, 0, sizeof opt);
  opt.quiet = 1;
  Arena arena;
  arena_init(&arena);
  Ctx cx;
  ctx_init(&cx, &arena, &opt, NULL);
  Status st = path ? inspect_path(&cx, path, out)
                   : ctx_err(&cx, O2L_ERR_USAGE, "inspect needs a file");
  if (st != O2L_OK && err && errlen)
    snprintf(err, errlen, "%s", cx.msg[0] ? cx.msg : o2l_status_str(st));
  arena_free(&arena);
  return st;
}
