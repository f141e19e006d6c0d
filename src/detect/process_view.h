// The live process as the judge (judge.h) sees it: a fresh snapshot of its
// goroutines, and who can still reach what in its memory. The loader implements it
// on a real process (loader/live_process.h); tests implement it with tables. Kept
// apart from judge.h so the loader depends on this interface only.
#pragma once

#include <cstdint>
#include <memory>

#include "common/expected.h"
#include "detect/reachability_oracle.h"
#include "model/snapshot.h"

namespace goscope::detect {

// A look at the live process, as the judge needs it.
class ProcessView {
 public:
  virtual ~ProcessView() = default;
  // The process exited or is a zombie: it has no memory left to read.
  virtual bool gone() = 0;
  struct Look {
    model::ProcessSnapshot snapshot;
    uint64_t load_bias = 0;  // PIE: process address - ELF vaddr, for the snapshot's stacks
  };
  // Every goroutine, read now.
  virtual Expected<Look> look() = 0;
  // Who can still reach what, in the process's memory read with this snapshot's
  // goroutines as the stack roots.
  virtual std::unique_ptr<ReachabilityOracle> reachability(const model::ProcessSnapshot& snapshot,
                                                           uint64_t load_bias) = 0;
};

}  // namespace goscope::detect
