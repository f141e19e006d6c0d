// Hardware and software counter values (goscope stat): plain data shared by the
// loader, which opens and reads perf events, and output/, which prints them the
// way `perf stat` does. No perf_event_open here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace goscope::model {

// One counter goscope was asked for, under perf's name ("cycles", "task-clock").
struct CounterInfo {
  std::string name;
  uint32_t type = 0;      // perf_event_attr.type (PERF_TYPE_HARDWARE, PERF_TYPE_SOFTWARE, ...)
  uint64_t config = 0;    // perf_event_attr.config
  bool hardware = false;  // needs a hardware PMU (not there in virtual machines)
  bool time = false;      // the value is nanoseconds (task-clock, cpu-clock): printed as msec
};

enum class CounterState : uint8_t {
  kCounted,       // opened and ran for some of the time
  kNotCounted,    // opened, but never scheduled on the PMU (or the thread never ran)
  kNotSupported,  // could not be opened here (no PMU, unknown event)
};
const char* counter_state_name(CounterState s);  // "counted", "not counted", "not supported"

// perf's read_format TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING: when more events
// are asked for than the PMU has counters, the kernel multiplexes them and the
// count is scaled by enabled / running, as perf stat does.
struct CounterValue {
  CounterState state = CounterState::kNotCounted;
  uint64_t raw = 0;
  uint64_t enabled_ns = 0;
  uint64_t running_ns = 0;

  // raw * enabled / running; raw when never multiplexed; 0 when not counted.
  double scaled() const;
  // running / enabled (1 when never multiplexed, 0 when not counted).
  double fraction() const;
  // Sums raw, enabled and running; counted wins over not counted, not supported
  // stays not supported only when both are.
  CounterValue& operator+=(const CounterValue& other);
};

// One thread of the process. A thread created during the session is counted from
// the moment goscope saw it being created (a few microseconds late at most).
struct ThreadCounts {
  pid_t tid = 0;
  std::string name;  // /proc/PID/task/TID/comm
  bool exited = false;
  std::vector<CounterValue> values;  // one per CounterInfo, same order
};

// What one goroutine consumed while it ran on a thread, summed over its slices
// (from the moment runtime.execute starts it to runtime.schedule).
struct GoroutineCounts {
  uint64_t goid = 0;
  uint64_t create_pc = 0;   // the `go` statement (g.gopc), ELF virtual address
  uint64_t start_pc = 0;    // its function (g.startpc)
  std::string created_at;   // symbolized create_pc: "main.main (main.go:42)"; "" for the runtime's
  std::string function;     // symbolized start_pc: "main.burn"
  std::string current;      // where it was last seen: top frame of its last CPU sample, or
                            // its frame in the end snapshot; "" when unknown
  std::string state;        // at the end: "running", "chan receive", ..., "exited", "" unknown
  uint64_t slices = 0;      // times it was put on a thread
  uint64_t samples = 0;     // CPU samples that hit it
  std::vector<CounterValue> values;  // one per CounterInfo
};

// Everything goscope stat measured.
struct StatResult {
  pid_t pid = 0;
  std::string command;     // the target's command line
  std::string go_version;  // "go1.22.12"
  int64_t duration_ns = 0;
  std::vector<CounterInfo> counters;

  bool hardware_pmu = false;
  std::string pmu_note;  // said once when there is no PMU: why hardware counters are missing

  std::vector<CounterValue> process;  // the whole process: the sum over threads
  std::vector<ThreadCounts> threads;  // by tid

  bool per_goroutine = false;  // goroutine attribution ran
  std::string per_goroutine_note;  // why not, or what it could not see
  std::vector<GoroutineCounts> goroutines;  // every goroutine that ran, any order
  // What ran on the process's threads outside any goroutine slice: the scheduler,
  // GC work on the system stack, and the time before a thread's first switch.
  std::vector<CounterValue> unattributed;

  uint64_t samples = 0;        // CPU samples taken (0 without sampling)
  uint64_t lost_samples = 0;   // samples or counter records BPF could not deliver
  std::vector<std::string> notes;  // anything else the user should know
};

}  // namespace goscope::model
