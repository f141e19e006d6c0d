// Who can still use an object: the question behind every channel, WaitGroup
// and Cond deadlock and every leak. A goroutine blocked on a channel can only be
// woken by a goroutine that can reach the channel (from its stack, from a global
// variable, or through heap objects reachable from those). The detectors ask it
// through this interface; loader/reachability.h answers it by scanning the live
// process's memory, and tests answer it with a table.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace goscope::detect {

class ReachabilityOracle {
 public:
  virtual ~ReachabilityOracle() = default;

  struct Answer {
    // False when the question could not be answered (memory unreadable, scan budget
    // exhausted, runtime structures unknown for this binary): every target then
    // counts as reachable, and why_unknown says why.
    bool known = false;
    std::string why_unknown;
    // The targets reachable from a root: a global variable, or the stack of a live
    // goroutine not in `excluded`.
    std::unordered_set<uint64_t> reachable;
    // For each reachable target, how it was reached, for reports:
    // "global main.jobs", "stack of goroutine 7 (main.producer)".
    std::unordered_map<uint64_t, std::string> witness;
  };

  // Which of `targets` are reachable from the roots, leaving out the stacks of the
  // goroutines in `excluded` (the ones suspected stuck). Goroutine structures
  // themselves (runtime.g) are never followed: a blocked goroutine's own stack
  // does not make what it waits on usable by others.
  virtual Answer reachable(std::span<const uint64_t> targets, const std::set<uint64_t>& excluded) = 0;

  // Which of `targets` the stack of goroutine `goid` reaches (with the heap behind it,
  // but not the globals). nullopt when unknown.
  virtual std::optional<std::unordered_set<uint64_t>> reachable_from_goroutine(
      uint64_t goid, std::span<const uint64_t> targets) = 0;

  // An aligned 8-byte word of the target's memory now (a WaitGroup's counter, a
  // Mutex's state), nullopt when unreadable or not available (replays).
  virtual std::optional<uint64_t> read_word(uint64_t address) = 0;
};

}  // namespace goscope::detect
