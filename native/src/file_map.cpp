// Read-only memory mapping of whole files (label-map stores), so that Java hands the native gather a pointer
// into the page cache instead of copying records; files larger than 2 GB need no chunking.
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "relabel/relabel.h"

using relabel::clear_error;
using relabel::fail;

extern "C" int32_t relabel_file_map(const char *path, void **base, int64_t *size) {
  clear_error();
  if (path == nullptr || base == nullptr || size == nullptr)
    return fail(RELABEL_ERR_ARGUMENT, "relabel_file_map: NULL argument");
  *base = nullptr;
  *size = 0;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(RELABEL_ERR_ARGUMENT, "cannot open %s: %s", path, std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    return fail(RELABEL_ERR_ARGUMENT, "cannot stat %s: %s", path, std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return fail(RELABEL_ERR_ARGUMENT, "%s is not a regular file", path);
  }
  if (st.st_size == 0) {
    close(fd);
    return RELABEL_OK;
  }
  void *p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  const int e = errno;
  close(fd);  // the mapping keeps the file referenced
  if (p == MAP_FAILED) return fail(RELABEL_ERR_MEMORY, "cannot map %s: %s", path, std::strerror(e));
  *base = p;
  *size = static_cast<int64_t>(st.st_size);
  return RELABEL_OK;
}

extern "C" int32_t relabel_file_unmap(void *base, int64_t size) {
  clear_error();
  if (base == nullptr || size <= 0) return RELABEL_OK;
  if (munmap(base, static_cast<size_t>(size)) != 0)
    return fail(RELABEL_ERR_ARGUMENT, "munmap failed: %s", std::strerror(errno));
  return RELABEL_OK;
}

extern "C" int32_t relabel_file_advise(void *base, int64_t offset, int64_t length, int32_t advice) {
  clear_error();
  if (base == nullptr || length <= 0 || offset < 0) return RELABEL_OK;
  static const int kAdvice[] = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED};
  if (advice < 0 || advice > 4) return fail(RELABEL_ERR_ARGUMENT, "advice must be in [0, 4], got %d", advice);
  // madvise needs a page-aligned start.
  const long page = sysconf(_SC_PAGESIZE);
  char *start = static_cast<char *>(base) + offset;
  char *aligned = reinterpret_cast<char *>(reinterpret_cast<uintptr_t>(start) / page * page);
  madvise(aligned, static_cast<size_t>(length + (start - aligned)), kAdvice[advice]);
  return RELABEL_OK;
}
