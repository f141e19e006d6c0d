// Who can still reach an object in a live Go process, with the garbage
// collector's semantics: an object is usable by goroutine G when it is reachable
// from G's live stack slots (the GC's stack maps from .gopclntab) or from the
// global variables (.data / .bss, conservatively), through heap objects (found
// with the runtime's span table and scanned conservatively). Goroutine
// structures (runtime.g) and sudogs are never followed: through them every
// blocked goroutine would reach what it waits on. Memory is read with
// process_vm_readv while the target runs; a scan has a byte and time budget.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "detect/reachability_oracle.h"
#include "loader/snapshot_reader.h"
#include "model/snapshot.h"
#include "symbolizer/symbolizer.h"

namespace goscope::loader {

struct ReachabilityLimits {
  uint64_t max_bytes = 256ull << 20;  // memory read by one scan
  uint64_t max_objects = 8'000'000;   // heap objects reached by one scan
  std::chrono::milliseconds max_time{2000};
};

// What the last scan did.
struct ReachabilityStats {
  uint64_t bytes_read = 0;
  uint64_t objects_reached = 0;  // heap objects reached (noscan ones included)
  uint64_t objects_scanned = 0;  // heap objects read and scanned for pointers
  uint64_t stacks_scanned = 0;
  uint64_t scheduler_ps = 0;         // runtime.p structures found (not followed; their timers are)
  uint64_t frames_precise = 0;       // frames scanned with the GC's stack maps
  uint64_t frames_conservative = 0;  // frames without a stack map, or after asyncPreempt
  uint64_t stacks_conservative = 0;  // stacks scanned whole (running, in a syscall, unwinding failed)
  int64_t elapsed_ns = 0;
};

// One live goroutine stack, scanned the way the GC does. Exposed for tests.
struct StackRoots {
  std::vector<std::pair<uint64_t, std::string>>
      pointers;  // words that may point into the heap, frame function
  size_t frames_precise = 0;
  size_t frames_conservative = 0;
  bool whole_stack_conservative = false;  // the unwinding failed (or was not possible)
};

// Scans the stack copy `bytes` = [base, base + size) of a goroutine whose stack is
// [lo, hi) and whose saved registers are `sp`, `pc` (process addresses). `bias` is the
// executable's load bias. `precise` false scans every word.
StackRoots scan_stack(const sym::GoBinary& binary, uint64_t bias, std::span<const uint8_t> bytes,
                      uint64_t base, uint64_t lo, uint64_t hi, uint64_t sp, uint64_t pc, bool precise);

// A runtime.g by its shape (stack bounds, stackguard0), for the g's that are not in
// allgs (each M's g0 and gsignal): never followed, like every other g. `object` is a
// heap object's bytes from its start (past a malloc header is tried too).
bool looks_like_g(std::span<const uint8_t> object, const sym::GoOffsets& offsets);

class ProcessReachability final : public detect::ReachabilityOracle {
 public:
  // `binary` (the target's executable) must outlive this object, and `memory` too.
  ProcessReachability(const sym::GoBinary& binary, uint64_t load_bias, model::ProcessSnapshot snapshot,
                      MemoryReader& memory, ReachabilityLimits limits = {});
  // Reads the memory of `pid` itself.
  ProcessReachability(const sym::GoBinary& binary, uint64_t load_bias, model::ProcessSnapshot snapshot,
                      pid_t pid, ReachabilityLimits limits = {});
  ~ProcessReachability() override;

  Answer reachable(std::span<const uint64_t> targets, const std::set<uint64_t>& excluded) override;
  std::optional<std::unordered_set<uint64_t>> reachable_from_goroutine(
      uint64_t goid, std::span<const uint64_t> targets) override;
  std::optional<uint64_t> read_word(uint64_t address) override;

  const ReachabilityStats& last_scan() const { return stats_; }
  // Empty when scans are possible; else why not (offsets or runtime.mheap_ unknown).
  const std::string& unsupported() const;

 private:
  struct Scan;
  struct Setup;
  bool set_up();
  void find_ps(Scan& scan, const std::vector<std::vector<uint8_t>>& globals);
  Answer run(std::span<const uint64_t> targets, const std::set<uint64_t>* excluded,
             std::optional<uint64_t> only);

  const sym::GoBinary& binary_;
  uint64_t bias_;
  model::ProcessSnapshot snapshot_;
  std::unique_ptr<MemoryReader> owned_memory_;
  MemoryReader& memory_;
  ReachabilityLimits limits_;
  ReachabilityStats stats_;
  std::unique_ptr<Setup> setup_;
};

}  // namespace goscope::loader
