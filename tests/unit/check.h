/* check.h - the whole unit-test framework: CHECK(cond) reports and counts a
 * failure without stopping, check_done() returns the exit status. */
#ifndef O2L_CHECK_H
#define O2L_CHECK_H
#include <stdio.h>

static int check_failures, check_count;

#define CHECK(cond)                                                   \
  do {                                                                \
    check_count++;                                                    \
    if (!(cond)) {                                                    \
      check_failures++;                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
              #cond);                                                 \
    }                                                                 \
  } while (0)

static inline int check_done(const char *name) {
  printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
  return check_failures ? 1 : 0;
}
#endif
