/* peak_rss.c - runs a command and reports its wall time and peak RSS.
 *
 *   peak_rss REPORT_FILE COMMAND [ARGS...]
 *
 * writes "EXIT_STATUS WALL_SECONDS MAXRSS_KB" to REPORT_FILE and exits 0.
 * Linux keeps a process's RSS high-water mark across exec, so a command
 * started straight from the Python benchmark would report the Python
 * interpreter's RSS as its own floor; started from this small process, the
 * floor is this process's RSS (about a megabyte).  bench_convert.py
 * compiles it on first use.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: peak_rss REPORT_FILE COMMAND [ARGS...]\n");
    return 64;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("wait4");
    return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  FILE *f = fopen(argv[1], "w");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  fprintf(f, "%d %.6f %ld\n", code,
          (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9,
          ru.ru_maxrss);
  return fclose(f) == 0 ? 0 : 1;
}
