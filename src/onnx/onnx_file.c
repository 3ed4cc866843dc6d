/* onnx_file.c - the mappings behind an OnnxFile: the model and its
 * external data files, mapped read-only and private, so constants can point
 * into them for as long as the OnnxFile lives.  onnx_release lets a stage
 * that has copied a big constant drop its pages to keep peak memory low;
 * the bytes stay readable (the kernel reads them back from the file).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/onnx_priv.h"

Status onnx_map_file(Ctx *cx, OnnxFile *f, const char *path, const char *name,
                     const char *what, Mapping *out) {
  if (!what)
    what = "";
  if (f->nmaps == f->cmaps) {
    int ncap = f->cmaps ? f->cmaps * 2 : 4;
    Mapping *m = xrealloc(f->maps, sizeof(Mapping) * (size_t)ncap);
    if (!m)
      return ctx_oom(cx, "mapping a file");
    f->maps = m;
    f->cmaps = ncap;
  }
  size_t nlen = strlen(name);
  char *copy = xrealloc(NULL, nlen + 1);
  if (!copy)
    return ctx_oom(cx, "mapping a file");
  memcpy(copy, name, nlen + 1);

  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    xfree(copy);
    return ctx_err(cx, O2L_ERR_IO, "%s%s: cannot open: %s", what, path,
                   strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    xfree(copy);
    return ctx_err(cx, O2L_ERR_IO, "%s%s: cannot stat: %s", what, path,
                   strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    xfree(copy);
    return ctx_err(cx, O2L_ERR_IO, "%s%s: not a regular file", what, path);
  }
  Mapping m = {NULL, (size_t)st.st_size, copy};
  if (m.size > 0) {
    void *p = mmap(NULL, m.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      close(fd);
      xfree(copy);
      return ctx_err(cx, O2L_ERR_IO, "%s%s: cannot map: %s", what, path,
                     strerror(e));
    }
    m.base = p;
  }
  close(fd);
  f->maps[f->nmaps++] = m;
  *out = m;
  return O2L_OK;
}

void onnx_close(OnnxFile *f) {
  if (!f)
    return;
  for (int i = 0; i < f->nmaps; i++) {
    if (f->maps[i].base)
      munmap((void *)f->maps[i].base, f->maps[i].size);
    xfree(f->maps[i].name);
  }
  xfree(f->maps);
  xfree(f->dir);
  xfree(f);
}

void onnx_release(OnnxFile *f, const void *p, size_t n) {
  if (!f || !p || n == 0)
    return;
  uintptr_t a = (uintptr_t)p;
  for (int i = 0; i < f->nmaps; i++) {
    const Mapping *m = &f->maps[i];
    uintptr_t base = (uintptr_t)m->base;
    if (!m->base || a < base || a - base >= m->size)
      continue;
    uintptr_t end = a + (n < m->size - (a - base) ? n : m->size - (a - base));
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    /* Only whole pages strictly inside the range: neighbours may still be
     * read, and a dropped page would merely be faulted back in anyway. */
    uintptr_t lo = (a + page - 1) & ~(page - 1);
    uintptr_t hi = end & ~(page - 1);
    if (lo < hi)
      madvise((void *)lo, hi - lo, MADV_DONTNEED);
    return;
  }
}
