// A goroutine snapshot of a running Go process, read from its memory from
// outside (loader/snapshot_reader.h). Plain data shared by loader, detect and
// output: addresses are the target's process addresses, never symbolized here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace goscope::model {

// The runtime's goroutine states (runtime/runtime2.go), with _Gscan masked off.
enum class GStatus : uint32_t {
  kIdle = 0,
  kRunnable = 1,
  kRunning = 2,
  kSyscall = 3,
  kWaiting = 4,
  kMoribundUnused = 5,
  kDead = 6,
  kEnqueueUnused = 7,
  kCopystack = 8,
  kPreempted = 9,
};
inline constexpr uint32_t kGScanBit = 0x1000;

// The runtime's own word for a status (gStatusStrings), "???" when unknown.
inline const char* status_name(uint32_t status) {
  static constexpr const char* kNames[] = {"idle",     "runnable", "running", "syscall",   "waiting",
                                           "moribund", "dead",     "enqueue", "copystack", "preempted"};
  return status < sizeof kNames / sizeof kNames[0] ? kNames[status] : "???";
}

// Something a goroutine is parked on.
struct WaitedObject {
  enum class Kind { kChannel, kSemaphore };
  Kind kind = Kind::kChannel;
  uint64_t address = 0;    // hchan* for a channel; the semaphore's uint32 address otherwise
  bool in_select = false;  // one case of a select (sudog.isSelect)
};

// How far the stack could be read.
enum class StackState {
  kComplete,    // walked down to the goroutine's first frame
  kTruncated,   // stopped at the depth limit
  kTorn,        // a frame pointer left the goroutine's stack bounds: the goroutine moved on meanwhile
  kRunning,     // on a CPU right now: its saved registers are stale, no stack without stopping it
  kUnreadable,  // the stack memory could not be read
};
inline const char* stack_state_name(StackState s) {
  switch (s) {
    case StackState::kComplete:
      return "complete";
    case StackState::kTruncated:
      return "truncated";
    case StackState::kTorn:
      return "torn";
    case StackState::kRunning:
      return "running";
    case StackState::kUnreadable:
      return "unreadable";
  }
  return "?";
}

struct GoroutineSnapshot {
  uint64_t goid = 0;
  uint64_t g_address = 0;  // runtime.g* (reused by the runtime: never an identity)
  uint32_t status = 0;     // GStatus value, _Gscan masked off
  bool scan_bit = false;   // the GC was scanning its stack while we read
  uint32_t wait_reason = 0;
  std::string wait_reason_name;  // from the binary's waitReasonStrings; empty when none
  // runtime nanotime() (CLOCK_MONOTONIC ns) when it was first seen blocked; the runtime
  // only records it during a GC, so absent until one ran, or when this Go lacks the field.
  std::optional<int64_t> wait_since_ns;
  std::vector<WaitedObject> waiting_on;  // from the g.waiting sudog list (channels, select cases)
  uint64_t go_pc = 0;                    // the `go` statement that created it (g.gopc)
  uint64_t start_pc = 0;                 // its function (g.startpc)
  std::optional<uint64_t> parent_goid;   // Go 1.21+
  std::vector<uint64_t> stack;  // PCs, innermost first; [0] is the saved PC, the rest return addresses
  StackState stack_state = StackState::kComplete;
  bool from_syscall = false;  // in a system call: the stack is where it entered it
  // Its stack, [stack_lo, stack_hi), and the registers the scheduler saved when it last
  // switched away (stale while it runs).
  uint64_t stack_lo = 0, stack_hi = 0;
  uint64_t sched_sp = 0, sched_pc = 0, sched_bp = 0;
  // The goroutine changed while being read (status, id or saved registers differ
  // between two reads): what is shown may mix two moments.
  bool inconsistent = false;
  std::string inconsistency;
};

struct ProcessSnapshot {
  pid_t pid = 0;
  int64_t taken_at_ns = 0;  // CLOCK_MONOTONIC when the read started (comparable to wait_since_ns)
  uint64_t allglen = 0;     // entries in runtime.allgs, dead ones included
  uint64_t dead_skipped = 0;
  uint64_t unreadable_gs = 0;                 // g pointers whose struct could not be read
  std::vector<GoroutineSnapshot> goroutines;  // live ones, in allgs order
  std::vector<uint64_t> g_addresses;          // every runtime.g in allgs, dead ones included
};

}  // namespace goscope::model
