/* stubs_pass.c - placeholders for passes not written yet; delete each when
 * its real pass lands. */
#include "pass/pass.h"

Status pass_check_supported(Ctx *cx, Graph *g) { (void)cx; (void)g; return O2L_OK; }
Status pass_remove_noops(Ctx *cx, Graph *g, PassStats *st) { (void)cx; (void)g; (void)st; return O2L_OK; }
