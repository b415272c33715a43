#include "fault_guard.h"

#include <pthread.h>

#include <atomic>
#include <csetjmp>
#include <csignal>
#include <cstring>
#include <mutex>

namespace relabel {
namespace {

struct Guard {
  sigjmp_buf env;
  const char *lo;
  const char *hi;
};

// The guarded threads, in a fixed table the handler scans (no thread_local: a TLS read from a library loaded with
// dlopen may call into the dynamic loader, which a signal handler must not; and initial-exec TLS cannot be loaded by
// dlopen at all). A slot is owned by one thread from a successful compare-exchange of `owner` until it is cleared.
constexpr int kSlots = 256;
struct Slot {
  std::atomic<pthread_t> owner;
  std::atomic<Guard *> guard;
};
Slot slots[kSlots];
std::atomic<int> active{0};
struct sigaction previous;
std::once_flag installed;

Slot *find_slot(pthread_t self) {
  for (auto &s : slots)
    if (s.guard.load(std::memory_order_acquire) != nullptr && pthread_equal(s.owner.load(std::memory_order_acquire), self))
      return &s;
  return nullptr;
}

void chain(int sig, siginfo_t *info, void *context) {
  // Not ours: the handler we replaced decides (the JVM's), as if we were not here.
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction != nullptr) {
      previous.sa_sigaction(sig, info, context);
      return;
    }
  } else if (previous.sa_handler == SIG_IGN) {
    return;
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != nullptr) {
    previous.sa_handler(sig);
    return;
  }
  // The default action: restore it; the faulting instruction runs again on return and ends the process as it would.
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGBUS, &dfl, nullptr);
}

void on_sigbus(int sig, siginfo_t *info, void *context) {
  if (active.load(std::memory_order_acquire) > 0) {
    Slot *s = find_slot(pthread_self());
    const char *at = static_cast<const char *>(info != nullptr ? info->si_addr : nullptr);
    if (s != nullptr) {
      Guard *g = s->guard.load(std::memory_order_acquire);
      if (at >= g->lo && at < g->hi) {
        s->guard.store(nullptr, std::memory_order_release);  // the slot is released by run_guarded after the jump
        siglongjmp(g->env, 1);
      }
    }
  }
  chain(sig, info, context);
}

void install() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  std::memset(&previous, 0, sizeof previous);
  sigaction(SIGBUS, &sa, &previous);
}

// Claims a free slot for this thread; nullptr when all are taken (the caller then runs unguarded).
Slot *claim() {
  // A slot is free while its owner is 0 (release() clears the guard before the owner): claim it by the owner.
  for (auto &s : slots) {
    pthread_t free_owner{};
    if (s.owner.compare_exchange_strong(free_owner, pthread_self(), std::memory_order_acq_rel)) return &s;
  }
  return nullptr;
}

void release(Slot *s) {
  s->guard.store(nullptr, std::memory_order_release);
  s->owner.store(pthread_t{}, std::memory_order_release);
  active.fetch_sub(1, std::memory_order_acq_rel);
}

}  // namespace

bool run_guarded(const void *base, int64_t size, void (*fn)(void *), void *arg) {
  std::call_once(installed, install);
  Slot *slot = claim();
  if (slot == nullptr) {  // more than kSlots threads guarded at once: read unguarded, as before the guard existed
    fn(arg);
    return true;
  }
  active.fetch_add(1, std::memory_order_acq_rel);
  Guard g;
  g.lo = static_cast<const char *>(base);
  g.hi = g.lo + (size > 0 ? size : 0);
  if (sigsetjmp(g.env, 1) != 0) {  // a fault in [lo, hi): the handler disarmed the slot
    release(slot);
    return false;
  }
  slot->guard.store(&g, std::memory_order_release);
  try {
    fn(arg);
  } catch (...) {
    release(slot);
    throw;
  }
  release(slot);
  return true;
}

}  // namespace relabel
