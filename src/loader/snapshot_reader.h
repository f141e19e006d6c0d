// The attach-time goroutine snapshot: reads runtime.allgs and every live g of a
// running Go process with process_vm_readv, without ptrace and without stopping
// it. The target keeps running meanwhile, so every read is validated: a
// goroutine that changed while being read is marked, a torn stack ends its walk.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/expected.h"
#include "model/snapshot.h"
#include "symbolizer/symbolizer.h"

namespace goscope::loader {

// Reads another process's memory. An interface so that the logic on top can be
// tested with a fake.
class MemoryReader {
 public:
  virtual ~MemoryReader() = default;
  // Fills `out` from `address`; false unless every byte was read.
  virtual bool read(uint64_t address, std::span<uint8_t> out) = 0;

  struct Request {
    uint64_t address;
    std::span<uint8_t> out;
    bool ok = false;  // set by read_batch
  };
  // errno of the last failed system call, 0 if none or not applicable.
  virtual int last_errno() const { return 0; }

  // Many reads; each request succeeds or fails on its own.
  virtual void read_batch(std::span<Request> requests) {
    for (Request& r : requests) r.ok = read(r.address, r.out);
  }
};

// process_vm_readv on one PID (needs CAP_SYS_PTRACE for another user's process).
class ProcessMemory final : public MemoryReader {
 public:
  explicit ProcessMemory(pid_t pid) : pid_(pid) {}
  bool read(uint64_t address, std::span<uint8_t> out) override;
  void read_batch(std::span<Request> requests) override;  // IOV_MAX requests per system call
  int last_errno() const override { return last_errno_; }

 private:
  pid_t pid_;
  int last_errno_ = 0;
};

// A frame-pointer walk over a copy of a goroutine's stack, [base, base + bytes.size()).
struct StackWindow {
  uint64_t base = 0;
  std::span<const uint8_t> bytes;
  bool clipped = false;  // the stack goes on above the window (it was read only in part)
  std::optional<uint64_t> word(uint64_t address) const;  // nullopt outside the window or misaligned
};
struct StackWalk {
  std::vector<uint64_t> pcs;  // innermost first
  model::StackState state = model::StackState::kComplete;
};
// Starts at the saved `pc` with frame pointer `bp`. Each frame's pointer must lie
// in the window, above the previous one (stacks grow down, callers are higher),
// or the walk ends as torn (truncated when it points above a clipped window); a
// zero frame pointer or return address ends it complete.
StackWalk walk_frames(const StackWindow& stack, uint64_t pc, uint64_t bp, size_t max_depth);

struct SnapshotLimits {
  size_t max_depth = 128;                // frames per goroutine (Go's traceback prints 100)
  size_t max_stack_bytes = 1 << 20;      // read at most this much of one stack
  size_t max_waiting = 1024;             // sudogs followed per goroutine
  uint64_t max_goroutines = 10'000'000;  // sanity bound on allglen
};

// Reads a snapshot of `process`, whose executable is `binary`. Needs the runtime's
// allgs (from .symtab, DWARF, or in a stripped binary from the code of
// runtime.allgadd) and the g offsets (DWARF, else the generated table). Errors: the process is gone, memory
// not readable, offsets missing.
Expected<model::ProcessSnapshot> read_snapshot(const sym::GoBinary& binary, const sym::ProcessImage& process,
                                               MemoryReader& memory, const SnapshotLimits& limits = {});

}  // namespace goscope::loader
