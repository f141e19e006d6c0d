// Which code takes locks: the basis of inferring who may hold a mutex when lock
// events were not traced (sync.Mutex stores no owner). A goroutine can hold a
// lock it took in a function that is still on its stack; a function "takes a
// lock" when sync.(*Mutex).Lock (or RWMutex.Lock / RLock, internal/sync's Mutex)
// is inlined into it or called from it (state::CodeInfo::lock_lines: from the
// binary live, from the trace file in a replay). The inference misses a lock
// taken in a function that has returned (a lock helper), which is why findings
// that rest on it say "likely".
#pragma once

#include <cstdint>
#include <span>

#include "state/code_info.h"

namespace goscope::detect {

enum class LockAction : uint8_t {
  kLock,   // a write lock: Mutex.Lock, RWMutex.Lock (and their Try forms)
  kRLock,  // a read lock: RWMutex.RLock, TryRLock
};

class LockSites {
 public:
  // `code` must outlive this object.
  explicit LockSites(const state::CodeInfo& code) : code_(code) {}

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
  const state::CodeInfo& code_;
};

}  // namespace goscope::detect
