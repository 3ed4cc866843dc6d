/* check.c - pass_check_supported: before any work, every operator of the
 * model must be one we know (node->op >= 0).  All unsupported nodes are
 * reported in one error, grouped by domain and op_type with their node
 * names, so a user sees the whole list at once instead of one per run.
 * Also a light structural check: no node writes more outputs than its
 * operator can have.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ops/ops.h"
#include "pass/pass.h"

enum { MAX_NAMES_PER_GROUP = 10 };

/* "" and "ai.onnx" both name the default domain. */
static const char *domain_of(const Node *n) {
  const char *d = n->domain ? n->domain : "";
  return strcmp(d, "ai.onnx") == 0 ? "" : d;
}

static bool same_kind(const Node *a, const Node *b) {
  return strcmp(domain_of(a), domain_of(b)) == 0 &&
         strcmp(a->op_type ? a->op_type : "", b->op_type ? b->op_type : "") == 0;
}

/* "Erf", or "com.microsoft.FusedConv" outside the default domain. */
static void kind_str(const Node *n, char *buf, size_t len) {
  const char *d = domain_of(n);
  const char *t = n->op_type && n->op_type[0] ? n->op_type : "(no op_type)";
  if (d[0])
    snprintf(buf, len, "%s.%s", d, t);
  else
    snprintf(buf, len, "%s", t);
}

/* Appends to buf at *used, never past len. */
static void appendf(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t len, size_t *used, const char *fmt, ...) {
  if (*used + 1 >= len)
    return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(buf + *used, len - *used, fmt, ap);
  va_end(ap);
  if (w > 0)
    *used = *used + (size_t)w < len ? *used + (size_t)w : len - 1;
}

static bool is_unsupported(const Node *n) { return !n->dead && n->op < 0; }

static Status report_unsupported(Ctx *cx, Graph *g, int total) {
  /* groups in first-seen order; `done` marks nodes already listed */
  unsigned char *done = xrealloc(NULL, (size_t)g->nnodes + 1);
  if (!done)
    return ctx_oom(cx, "listing unsupported operators");
  memset(done, 0, (size_t)g->nnodes + 1);
  char msg[sizeof cx->msg];
  size_t used = 0;
  appendf(msg, sizeof msg, &used, "%d unsupported operator%s (nothing was "
          "written):", total, total == 1 ? "" : "s");
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (!is_unsupported(n) || done[i])
      continue;
    int count = 0;
    for (int j = i; j < g->nnodes; j++)
      if (is_unsupported(g->nodes[j]) && same_kind(n, g->nodes[j]))
        count++;
    char kind[256];
    kind_str(n, kind, sizeof kind);
    appendf(msg, sizeof msg, &used, "\n  %s x%d:", kind, count);
    int listed = 0;
    for (int j = i; j < g->nnodes; j++) {
      Node *m = g->nodes[j];
      if (!is_unsupported(m) || !same_kind(n, m))
        continue;
      done[j] = 1;
      if (listed < MAX_NAMES_PER_GROUP)
        appendf(msg, sizeof msg, &used, "%s'%s'", listed ? ", " : " ",
                m->name);
      listed++;
    }
    if (listed > MAX_NAMES_PER_GROUP)
      appendf(msg, sizeof msg, &used, ", ... (%d more)",
              listed - MAX_NAMES_PER_GROUP);
  }
  xfree(done);
  return ctx_err(cx, O2L_ERR_UNSUPPORTED, "%s", msg);
}

/* Most operators have one output; these may have more. */
static int max_outputs(int op) {
  switch (op) {
  case OP_Split: return 1 << 20;
  case OP_Dropout: case OP_MaxPool: return 2;
  case OP_LayerNormalization: return 3;
  case OP_TopK: return 2;
  case OP_BatchNormalization: return 5;
  default: return 1;
  }
}

Status pass_check_supported(Ctx *cx, Graph *g) {
  int unsupported = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (is_unsupported(g->nodes[i]))
      unsupported++;
  if (unsupported)
    return report_unsupported(cx, g, unsupported);
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    if (n->dead)
      continue;
    if (n->op >= OP_COUNT)
      return ctx_err(cx, O2L_ERR_INTERNAL, "node '%s' has operator number %d",
                     n->name, n->op);
    if (n->nout > max_outputs(n->op))
      return ctx_err(cx, O2L_ERR_INVALID, "%s '%s' has %d outputs; the "
                     "operator has at most %d", op_defs[n->op].name, n->name,
                     n->nout, max_outputs(n->op));
    if (n->nout < 1 || !n->out[0])
      return ctx_err(cx, O2L_ERR_INVALID, "%s '%s' has no output",
                     op_defs[n->op].name, n->name);
  }
  return O2L_OK;
}
