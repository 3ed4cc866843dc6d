/* inspect.c - placeholder until inspect lands. */
#include "base.h"

o2l_status o2l_inspect(const char *path, FILE *out, char *err, size_t errlen) {
  (void)out;
  snprintf(err, errlen, "%s: inspect is not built yet", path);
  return O2L_ERR_INTERNAL;
}
