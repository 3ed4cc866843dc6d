/* fold.c - pass_fold_constants: nodes whose results are all constant are
 * dropped; their consumers read the constant values instead.
 *
 * pass_infer_shapes has already evaluated every node it could (so that
 * shape-computing chains resolve); this pass evaluates whatever became
 * foldable since (e.g. after no-op removal), then marks every node whose
 * outputs are all constant dead, removes the nodes that only fed them
 * (DCE) and compacts the graph.  A graph output that folded stays a
 * constant Value flagged is_output, with no producer.
 */
#include "ops/opattr.h"
#include "pass/pass.h"

Status pass_fold_constants(Ctx *cx, Graph *g, PassStats *st) {
  int folded = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead || n->op < 0)
      continue;
    TRY(pass_fold_node(cx, g, n));
    if (pass_node_folded(n)) {
      n->dead = true;
      folded++;
    }
  }
  if (st) {
    st->folded += folded;
    st->dead_removed += graph_dce(g);
  } else {
    graph_dce(g);
  }
  graph_compact(g);
  return O2L_OK;
}
