// Read-only memory mapping of whole files (label-map stores), so that Java hands the native gather a pointer
// into the page cache instead of copying records; files larger than 2 GB need no chunking. Also the advisory
// flock(2) locks that keep our writers from replacing a store that a reader has open, and fstat, with which a
// reader notices that another program truncated or rewrote a mapped store in place.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "relabel/relabel.h"

using relabel::clear_error;
using relabel::fail;

namespace {

// Maps the regular file open as fd (not closed here); `name` is for messages.
int32_t map_open_file(int fd, const char *name, void **base, int64_t *size) {
  *base = nullptr;
  *size = 0;
  struct stat st;
  if (fstat(fd, &st) != 0) return fail(RELABEL_ERR_ARGUMENT, "cannot stat %s: %s", name, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(RELABEL_ERR_ARGUMENT, "%s is not a regular file", name);
  if (st.st_size == 0) return RELABEL_OK;
  void *p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return fail(RELABEL_ERR_MEMORY, "cannot map %s: %s", name, std::strerror(errno));
  *base = p;
  *size = static_cast<int64_t>(st.st_size);
  return RELABEL_OK;
}

}  // namespace

extern "C" int32_t relabel_file_map(const char *path, void **base, int64_t *size) {
  clear_error();
  if (path == nullptr || base == nullptr || size == nullptr)
    return fail(RELABEL_ERR_ARGUMENT, "relabel_file_map: NULL argument");
  *base = nullptr;
  *size = 0;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(RELABEL_ERR_ARGUMENT, "cannot open %s: %s", path, std::strerror(errno));
  const int32_t status = map_open_file(fd, path, base, size);
  close(fd);  // the mapping keeps the file referenced
  return status;
}

extern "C" int32_t relabel_file_map_fd(int32_t fd, void **base, int64_t *size) {
  clear_error();
  if (fd < 0 || base == nullptr || size == nullptr)
    return fail(RELABEL_ERR_ARGUMENT, "relabel_file_map_fd: bad argument");
  char name[32];
  std::snprintf(name, sizeof name, "file descriptor %d", fd);
  return map_open_file(fd, name, base, size);
}

extern "C" int32_t relabel_file_lock(const char *path, int32_t mode, int32_t create, int32_t *fd) {
  clear_error();
  if (path == nullptr || fd == nullptr || mode < 0 || mode > 2)
    return fail(RELABEL_ERR_ARGUMENT, "relabel_file_lock: bad argument");
  *fd = -1;
  // O_NONBLOCK: a FIFO given as a store must not block the open (mapping it then fails: not a regular file).
  // An exclusive lock is taken through a writable descriptor where the file allows one: NFS emulates flock with
  // POSIX locks, whose exclusive kind needs write access.
  int f;
  if (create) {
    f = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  } else {
    f = mode == 2 ? open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK) : -1;
    if (f < 0) f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  }
  if (f < 0) {
    const int e = errno;
    if (create && e == EEXIST) return fail(RELABEL_ERR_BUSY, "%s exists", path);
    return fail(RELABEL_ERR_ARGUMENT, "cannot open %s: %s", path, std::strerror(e));
  }
  if (mode != 0) {
    int r;
    do {
      r = flock(f, (mode == 1 ? LOCK_SH : LOCK_EX) | LOCK_NB);
    } while (r != 0 && errno == EINTR);
    if (r != 0) {
      const int e = errno;
      if (e == EWOULDBLOCK) {
        close(f);
        return fail(RELABEL_ERR_BUSY, "%s is locked by another open file", path);
      }
      // ENOLCK / EOPNOTSUPP / EINVAL / ENOSYS (e.g. Lustre mounted without -o flock), EBADF (an exclusive lock on
      // a read-only descriptor over NFS): the file system keeps no such lock for us; go on without one.
      if (e != ENOLCK && e != EOPNOTSUPP && e != EINVAL && e != ENOSYS && e != EBADF) {
        close(f);
        return fail(RELABEL_ERR_ARGUMENT, "cannot lock %s: %s", path, std::strerror(e));
      }
    }
  }
  *fd = f;
  return RELABEL_OK;
}

extern "C" int32_t relabel_file_close(int32_t fd) {
  clear_error();
  if (fd < 0) return RELABEL_OK;
  if (close(fd) != 0 && errno != EINTR) return fail(RELABEL_ERR_ARGUMENT, "close(%d) failed: %s", fd, std::strerror(errno));
  return RELABEL_OK;
}

extern "C" int32_t relabel_file_stat(const char *path, int32_t fd, int64_t *info) {
  clear_error();
  if (info == nullptr || (fd < 0 && path == nullptr)) return fail(RELABEL_ERR_ARGUMENT, "relabel_file_stat: bad argument");
  struct stat st;
  if ((fd >= 0 ? fstat(fd, &st) : stat(path, &st)) != 0) {
    if (fd >= 0) return fail(RELABEL_ERR_ARGUMENT, "cannot stat file descriptor %d: %s", fd, std::strerror(errno));
    return fail(RELABEL_ERR_ARGUMENT, "cannot stat %s: %s", path, std::strerror(errno));
  }
  info[0] = static_cast<int64_t>(st.st_size);
  info[1] = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  info[2] = static_cast<int64_t>(st.st_dev);
  info[3] = static_cast<int64_t>(st.st_ino);
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
#ifdef MADV_HUGEPAGE
  static const int kHugePage = MADV_HUGEPAGE;
#else
  static const int kHugePage = MADV_NORMAL;
#endif
  static const int kAdvice[] = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, kHugePage};
  if (advice < 0 || advice > 5) return fail(RELABEL_ERR_ARGUMENT, "advice must be in [0, 5], got %d", advice);
  // madvise needs a page-aligned start.
  const long page = sysconf(_SC_PAGESIZE);
  char *start = static_cast<char *>(base) + offset;
  char *aligned = reinterpret_cast<char *>(reinterpret_cast<uintptr_t>(start) / page * page);
  madvise(aligned, static_cast<size_t>(length + (start - aligned)), kAdvice[advice]);
  return RELABEL_OK;
}
