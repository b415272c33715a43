// Reads of memory-mapped files that another program may truncate: a read past the file's new end raises SIGBUS,
// which would kill the process (a JVM included). run_guarded() turns such a fault, on the calling thread and inside
// one address range, into a `false` return, so the op can fail with RELABEL_ERR_FAULT instead.
//
// The first call installs a SIGBUS handler that chains to the one it replaces (the JVM's, which turns faults of its
// own mapped buffers into exceptions) for every fault it does not own: another thread's, another address's, or a
// fault outside run_guarded. The guarded function must not own resources with destructors (a fault leaves it by
// siglongjmp), nor take locks.
#pragma once

#include <cstdint>

namespace relabel {

// Runs fn(arg) with SIGBUS faults on [base, base + size) caught on this thread; false when one was caught.
bool run_guarded(const void *base, int64_t size, void (*fn)(void *), void *arg);

}  // namespace relabel
