// perf_event_open(2) for goscope stat and CPU sampling: the event catalog under
// perf's names, counting events per thread read the way `perf stat` reads them
// (with the multiplexing scale), and sampling events per CPU that a BPF program
// is attached to. No BPF here; file descriptors are owned (RAII).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/expected.h"
#include "model/counters.h"

namespace goscope::loader {

// Parses an -e list the way perf stat does: comma-separated names
//   hardware: cycles (cpu-cycles), instructions, cache-references, cache-misses,
//             branches (branch-instructions), branch-misses, bus-cycles,
//             stalled-cycles-frontend (idle-cycles-frontend),
//             stalled-cycles-backend (idle-cycles-backend), ref-cycles
//   software: task-clock, cpu-clock, context-switches (cs), cpu-migrations (migrations),
//             page-faults (faults), minor-faults, major-faults, alignment-faults,
//             emulation-faults
//   raw:      rNNNN (hex config of PERF_TYPE_RAW, needs a PMU)
// Names are kept as perf prints them (the canonical one, not the alias).
// Errors: an unknown name (the message lists the known ones), an empty list,
// a name twice, more than kMaxCounters.
Expected<std::vector<model::CounterInfo>> parse_counter_list(std::string_view list);

// perf stat's default set plus cache references / misses and the stalled cycles:
// task-clock, context-switches, cpu-migrations, page-faults, cycles, instructions,
// cache-references, cache-misses, branches, branch-misses, stalled-cycles-frontend,
// stalled-cycles-backend.
std::vector<model::CounterInfo> default_counters();

inline constexpr size_t kMaxCounters = 12;  // == GS_PMU_MAX_EVENTS (bpf/goscope.h)

// Whether this machine has a hardware PMU the kernel exposes (a "cpu", "cpu_core",
// "cpu_atom", "armv8_pmuv3*" ... device under /sys/bus/event_source/devices, or
// cycles opening on this thread). `note` says, in one sentence, why hardware
// counters will read <not supported> when there is none.
struct PmuInfo {
  bool hardware = false;
  std::string name;  // the PMU device ("cpu") when there is one
  std::string note;  // "this machine has no hardware PMU (a virtual machine?): ..."
};
PmuInfo detect_pmu();

// The threads of a process now (/proc/PID/task), ascending. Empty when it is gone.
std::vector<pid_t> list_threads(pid_t pid);
// /proc/PID/task/TID/comm without the newline, "" when gone.
std::string thread_name(pid_t pid, pid_t tid);

// File descriptors owned as a list: closed when the list goes, moved, never copied.
class OwnedFds {
 public:
  OwnedFds() = default;
  OwnedFds(OwnedFds&& other) noexcept : fds_(std::exchange(other.fds_, {})) {}
  OwnedFds& operator=(OwnedFds&& other) noexcept;
  ~OwnedFds();
  void push_back(int fd) { fds_.push_back(fd); }  // -1 allowed: a slot with no descriptor
  void reserve(size_t n) { fds_.reserve(n); }
  bool empty() const { return fds_.empty(); }
  size_t size() const { return fds_.size(); }
  int operator[](size_t i) const { return fds_[i]; }
  std::span<const int> view() const { return fds_; }

 private:
  std::vector<int> fds_;
};

// Counting events for one thread: pid = tid, cpu = -1, no inherit (the BPF side
// reads them with bpf_perf_event_read_value, which refuses inherited events),
// enabled at once, read_format TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING,
// exclude_hv. An event the kernel refuses stays in the set as not supported
// (its errno kept for -v); only "the thread is gone" (ESRCH) fails open().
class ThreadCounters {
 public:
  static Expected<ThreadCounters> open(pid_t tid, std::span<const model::CounterInfo> counters);

  pid_t tid() const { return tid_; }
  // One fd per counter, -1 where not supported (for the BPF perf event array).
  std::span<const int> fds() const { return fds_.view(); }
  // Why each counter could not be opened ("" when it could): strerror + a hint.
  std::span<const std::string> errors() const { return errors_; }
  // Current values, one per counter. A thread that exited keeps its final values.
  std::vector<model::CounterValue> read() const;

 private:
  ThreadCounters() = default;
  pid_t tid_ = 0;
  OwnedFds fds_;
  std::vector<std::string> errors_;
};

// CPU sampling: one sampling event per online CPU (pid = -1: the BPF program
// attached to it keeps only the traced process's samples), so threads created
// later are sampled with no extra work.
//   - cpu-clock (software, works everywhere) with a fixed period of 1e9/hz ns:
//     every sample stands for exactly that much CPU time;
//   - cycles (hardware, when there is a PMU) in frequency mode at hz.
struct SamplerOptions {
  uint32_t frequency_hz = 99;
  bool prefer_hardware = true;  // cycles where there is a PMU, else cpu-clock
};

class CpuSampler {
 public:
  // Errors: no CPU could be opened (with errno and what to do).
  static Expected<CpuSampler> open(const SamplerOptions& options);

  std::span<const int> fds() const { return fds_.view(); }  // one per online CPU
  std::string_view event() const { return event_; }   // "cpu-clock" or "cycles"
  uint32_t frequency_hz() const { return hz_; }
  int64_t period_ns() const { return 1'000'000'000 / hz_; }  // CPU time one sample stands for

 private:
  CpuSampler() = default;
  OwnedFds fds_;
  std::string event_;
  uint32_t hz_ = 99;
};

// The online CPUs (/sys/devices/system/cpu/online), e.g. {0, 1}.
std::vector<int> online_cpus();

// A kernel CPU list ("0-1", "0,2-3\n") as ascending CPU numbers; empty when it is
// malformed or names a CPU above kMaxCpuNumber.
std::vector<int> parse_cpu_list(std::string_view text);
inline constexpr int kMaxCpuNumber = 65535;

}  // namespace goscope::loader
