/* onnx_load.c - placeholder until the reader lands. */
#include "onnx/onnx.h"

Status onnx_load(Ctx *cx, const char *path, Graph **out, OnnxFile **file) {
  (void)out;
  (void)file;
  return ctx_err(cx, O2L_ERR_INTERNAL, "%s: the ONNX reader is not built yet", path);
}
void onnx_close(OnnxFile *f) { (void)f; }
void onnx_release(OnnxFile *f, const void *p, size_t n) {
  (void)f;
  (void)p;
  (void)n;
}
