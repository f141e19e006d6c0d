// Which code takes locks: the basis of inferring who may hold a mutex when lock
// events were not traced (sync.Mutex stores no owner). A goroutine can hold a
// lock it took in a function that is still on its stack; a function "takes a
// lock" when sync.(*Mutex).Lock (or RWMutex.Lock / RLock, internal/sync's Mutex)
// is inlined into it or called from it. The inference misses a lock taken in a
// function that has returned (a lock helper), which is why findings that rest on
// it say "likely".
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "symbolizer/symbolizer.h"

namespace goscope::detect {

enum class LockAction : uint8_t {
  kLock,   // a write lock: Mutex.Lock, RWMutex.Lock (and their Try forms)
  kRLock,  // a read lock: RWMutex.RLock, TryRLock
};

class LockSites {
 public:
  // `binary` must outlive this object. Not thread-safe (caches per function).
  explicit LockSites(const sym::GoBinary& binary);

  // Whether the physical function containing `vaddr` takes such a lock.
  bool function_takes(uint64_t vaddr, LockAction action) const;
  // Whether any frame of `stack` (ELF vaddrs) is in a function that takes such a lock,
  // outside the sync package's own code (RWMutex.Lock locks its inner mutex: that is
  // not a lock of the program's).
  bool stack_takes(std::span<const uint64_t> stack, LockAction action) const;

 private:
  struct Takes {
    bool lock = false;
    bool rlock = false;
  };
  const Takes& takes(size_t function_index) const;

  const sym::GoBinary& binary_;
  std::unordered_set<uint64_t> lock_entries_;  // entries of the lock functions present
  std::unordered_set<uint64_t> rlock_entries_;
  mutable std::unordered_map<size_t, Takes> cache_;
};

}  // namespace goscope::detect
