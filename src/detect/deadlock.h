// The wait-for graph and the deadlock / leak detector (DESIGN.md, "Detection
// semantics"). A deadlock is a set of goroutines, each blocked on a
// synchronisation object for longer than a threshold, none of which can be
// woken by a goroutine outside the set. Who can wake whom:
//   - a Mutex (or an RWMutex's write side) waiter: the lock's holder, known from
//     lock events when they are traced, else inferred from stacks (LockSites);
//   - an RWMutex reader queued behind a writer: that writer;
//   - an RWMutex writer waiting for readers: the read-lock holders;
//   - a channel, WaitGroup or Cond waiter: any goroutine that can still reach
//     the object (ReachabilityOracle: stacks, globals and the heap behind them).
// Goroutines sleeping, in timers, network waits, system calls, running or
// runnable are never stuck, and can wake anyone they can reach. The set is
// found as a greatest fixpoint: start from every suspect, drop those with a
// possible waker outside, repeat. Each connected part of what is left is one
// finding: a cycle (mutex / channel / recursive read lock / mixed), a wait
// nobody can end (WaitGroup, Cond), or a leak (nobody else can use the object).
//
// Nothing here reads the process: the state model, the lock sites and the
// oracle say everything. The same code judges a live trace, a dump and a replay.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "detect/findings.h"
#include "state/state_model.h"
#include "detect/lock_sites.h"
#include "detect/reachability_oracle.h"
#include "model/event.h"
#include "model/snapshot.h"

namespace goscope::detect {

struct DeadlockOptions {
  // A goroutine must have been blocked at least this long to be suspected. dump uses 0
  // (one moment, confirmed by a second look); live tracing a few seconds.
  int64_t min_blocked_ns = 3'000'000'000;
  // Mutex holders and read-lock holders in the state model come from lock events that
  // cover every acquisition (--locks / --all-ops, traced since before the locks were
  // taken). Otherwise holders are inferred from stacks.
  bool holders_traced = false;
  // When set, a suspect must still be blocked in this newer snapshot (live process):
  // what the events said is confirmed by memory before anything is reported.
  const model::ProcessSnapshot* confirm = nullptr;
  uint64_t confirm_load_bias = 0;  // PIE: process address - vaddr, for the snapshot's stacks
  // The traced program has exited: its memory is gone, so only what needs none is
  // judged (every goroutine asleep at the end).
  bool target_exited = false;
  size_t max_stack_frames = 24;
};

class DeadlockDetector {
 public:
  // All must outlive the detector. `lock_sites` and `oracle` may be null: without them
  // lock holders cannot be inferred and channel / WaitGroup / Cond waits cannot be
  // judged (those goroutines then count as possibly woken).
  DeadlockDetector(const state::StateModel& model, const model::StreamInfo& stream, const LockSites* lock_sites,
                   ReachabilityOracle* oracle);

  std::vector<Finding> detect(int64_t now_ns, const DeadlockOptions& options);
  // What the last detect() could not judge, and why (for the report, not findings):
  // "the channel waits of 3 goroutines were not judged: <why>".
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  std::vector<std::string> notes_;
  const state::StateModel& model_;
  const model::StreamInfo& stream_;
  const LockSites* lock_sites_;
  ReachabilityOracle* oracle_;
};

}  // namespace goscope::detect
