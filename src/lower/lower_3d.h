/* lower_3d.h - the lowerings of 3-D feature maps (lower_conv3d.c), called by
 * the Conv, ConvTranspose and pooling lowerings of lower_conv.c when the
 * input has three spatial dimensions.  Parameters are already parsed and
 * validated by the caller. */
#ifndef O2L_LOWER_3D_H
#define O2L_LOWER_3D_H

#include "lower/lower.h"
#include "ops/opattr.h"

Status conv3d_lower(Lower *lw, Node *n, const ConvParams *p);
Status convt3d_lower(Lower *lw, Node *n, const ConvParams *p);
Status pool3d_lower(Lower *lw, Node *n, const PoolParams *p);
Status gpool3d_lower(Lower *lw, Node *n);

#endif
