// Read-only memory mapping of whole files (label-map stores), so that Java hands the native gather a pointer
// into the page cache instead of copying records; files larger than 2 GB need no chunking. Also the advisory
// flock(2) locks that keep our writers from replacing a store that a reader has open, and fstat, with which a
// reader notices that another program truncated or rewrote a mapped store in place.
#include <algorithm>
#include <mutex>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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

namespace {

int advice_flag(int32_t advice) {
#ifdef MADV_HUGEPAGE
  static const int kHugePage = MADV_HUGEPAGE;
#else
  static const int kHugePage = MADV_NORMAL;
#endif
  static const int kAdvice[] = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, kHugePage};
  return kAdvice[advice];
}

int32_t check_advice(int32_t advice) {
  if (advice < 0 || advice > 5) return fail(RELABEL_ERR_ARGUMENT, "advice must be in [0, 5], got %d", advice);
  return RELABEL_OK;
}

// [start, start + length) widened to whole pages (madvise needs a page-aligned start).
iovec page_range(char *start, int64_t length) {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  char *aligned = reinterpret_cast<char *>(reinterpret_cast<uintptr_t>(start) / page * page);
  return iovec{aligned, static_cast<size_t>(length + (start - aligned))};
}

// A pidfd of this process for process_madvise(2), opened on first use (again in a forked child: a pidfd names
// the process that opened it); -1 where the kernel has neither call (before 5.10) or refuses them, and then every
// batch takes the madvise-per-range path.
std::mutex self_pidfd_lock;
int self_pidfd = -2;
pid_t self_pidfd_owner = 0;

int current_pidfd() {
#if defined(SYS_process_madvise) && defined(SYS_pidfd_open)
  std::lock_guard<std::mutex> hold(self_pidfd_lock);
  const pid_t me = getpid();
  if (self_pidfd_owner != me) {
    if (self_pidfd >= 0) close(self_pidfd);
    self_pidfd = static_cast<int>(syscall(SYS_pidfd_open, me, 0));
    if (self_pidfd < 0) self_pidfd = -1;
    self_pidfd_owner = me;
  }
  return self_pidfd;
#else
  return -1;
#endif
}

void give_up_pidfd() {
  std::lock_guard<std::mutex> hold(self_pidfd_lock);
  if (self_pidfd >= 0) close(self_pidfd);
  self_pidfd = -1;
}

// process_madvise(2) of up to IOV_MAX ranges in one system call; false when the kernel did not take them all. Only
// for MADV_WILLNEED: of our hints the one process_madvise accepts.
bool advise_many(const iovec *ranges, size_t count, int flag) {
#if defined(SYS_process_madvise) && defined(SYS_pidfd_open)
  if (flag != MADV_WILLNEED) return false;
  const char *off = std::getenv("RELABEL_NO_PROCESS_MADVISE");  // a way around a kernel that mishandles it
  if (off != nullptr && off[0] != '\0' && off[0] != '0') return false;
  const int fd = current_pidfd();
  if (fd < 0) return false;
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) total += ranges[i].iov_len;
  const long done = syscall(SYS_process_madvise, fd, ranges, count, flag, 0u);
  if (done < 0 && (errno == ENOSYS || errno == EPERM || errno == EINVAL)) give_up_pidfd();
  return done >= 0 && static_cast<size_t>(done) == total;
#else
  (void)ranges, (void)count, (void)flag;
  return false;
#endif
}

}  // namespace

extern "C" int32_t relabel_file_advise(void *base, int64_t offset, int64_t length, int32_t advice) {
  clear_error();
  if (check_advice(advice) != RELABEL_OK) return RELABEL_ERR_ARGUMENT;
  if (base == nullptr || length <= 0 || offset < 0) return RELABEL_OK;
  const iovec r = page_range(static_cast<char *>(base) + offset, length);
  madvise(r.iov_base, r.iov_len, advice_flag(advice));
  return RELABEL_OK;
}

extern "C" int32_t relabel_file_advise_ranges(void *base, const int64_t *offsets, int64_t count, int64_t length,
                                              int32_t advice) {
  clear_error();
  if (check_advice(advice) != RELABEL_OK) return RELABEL_ERR_ARGUMENT;
  if (count < 0 || length < 0) return fail(RELABEL_ERR_ARGUMENT, "count %lld and length %lld must be >= 0",
                                          static_cast<long long>(count), static_cast<long long>(length));
  if (count > 0 && offsets == nullptr) return fail(RELABEL_ERR_ARGUMENT, "offsets is NULL");
  for (int64_t i = 0; i < count; ++i)
    if (offsets[i] < 0)
      return fail(RELABEL_ERR_ARGUMENT, "offsets[%lld] = %lld is negative", static_cast<long long>(i),
                  static_cast<long long>(offsets[i]));
  if (base == nullptr || length == 0 || count == 0) return RELABEL_OK;
  const int flag = advice_flag(advice);
  constexpr int64_t kBatch = 1024;  // UIO_MAXIOV: the most ranges one process_madvise takes
  iovec ranges[kBatch];
  for (int64_t from = 0; from < count; from += kBatch) {
    const int64_t n = std::min(kBatch, count - from);
    for (int64_t i = 0; i < n; ++i) ranges[i] = page_range(static_cast<char *>(base) + offsets[from + i], length);
    if (advise_many(ranges, static_cast<size_t>(n), flag)) continue;
    for (int64_t i = 0; i < n; ++i) madvise(ranges[i].iov_base, ranges[i].iov_len, flag);  // advisory: repeats harmless
  }
  return RELABEL_OK;
}
