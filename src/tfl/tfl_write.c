/* tfl_write.c - placeholder until the writer lands. */
#include "tfl/tfl.h"

Status tfl_write(Ctx *cx, const Graph *g, const char *path, size_t *bytes) {
  (void)g;
  (void)bytes;
  return ctx_err(cx, O2L_ERR_INTERNAL, "%s: the TFLite writer is not built yet", path);
}
const char *tfl_op_name(int op) { (void)op; return "?"; }
