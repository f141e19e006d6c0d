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
#include <vector>

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
  // Whether a goroutine whose stack is `stack` (ELF vaddrs, innermost first) may hold
  // such a lock: some frame is in a function that takes one at a source line before the
  // line the frame is at now (so a goroutine blocked in its first Lock holds nothing
  // yet). Frames of the sync package itself are skipped (RWMutex.Lock locks its inner
  // mutex: not a lock of the program's). A lock taken in a loop's later line and kept
  // across iterations is missed; findings resting on this are "likely".
  bool stack_takes(std::span<const uint64_t> stack, LockAction action) const;

 private:
  struct Takes {
    std::vector<int> lock_lines;   // source lines (of the function itself) that take a write lock
    std::vector<int> rlock_lines;  // ... a read lock
  };
  const Takes& takes(size_t function_index) const;

  const sym::GoBinary& binary_;
  std::unordered_set<uint64_t> lock_entries_;  // entries of the lock functions present
  std::unordered_set<uint64_t> rlock_entries_;
  mutable std::unordered_map<size_t, Takes> cache_;
};

}  // namespace goscope::detect
