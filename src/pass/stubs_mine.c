/* stubs_mine.c - placeholders (lead's passes and lowering). */
#include "pass/pass.h"
#include "lower/lower.h"

Status pass_fold_bn(Ctx *cx, Graph *g, PassStats *st) { (void)cx; (void)g; (void)st; return O2L_OK; }
Status pass_fuse_pad(Ctx *cx, Graph *g, PassStats *st) { (void)cx; (void)g; (void)st; return O2L_OK; }
Status pass_tfl_fuse_activations(Ctx *cx, Graph *g, PassStats *st) { (void)cx; (void)g; (void)st; return O2L_OK; }
Status pass_tfl_cleanup(Ctx *cx, Graph *g, PassStats *st) { (void)cx; (void)g; (void)st; return O2L_OK; }
