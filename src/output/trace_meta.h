// What a recording says about itself besides its events: the trace file's
// header (who was traced, how, when, on which machine) and its end record
// (why it stopped, what was lost). Written by `record`/`capture`, shown by
// `report`, used by every exporter for titles and time bases.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "output/trace_summary.h"

namespace goscope::output {

struct TraceMeta {
  std::string goscope_version;  // "0.4.0"
  // The traced program.
  pid_t pid = 0;
  std::string exe_name;               // the executable as the user knows it (readlink of /proc/PID/exe)
  std::vector<std::string> command;   // the launched command line, empty when attached (-p)
  bool launched = false;              // goscope started it (-- CMD): events cover its whole life
  std::string build_id;               // GNU build id (hex), "" when none
  // Tracing settings.
  std::string probe_set = "default";  // "default" or "all-ops"
  bool scheduler = false;             // --sched: every status change
  bool lock_holders = false;          // --locks: inlined lock fast paths
  bool holders_traced = false;        // lock events cover every acquisition (see DeadlockOptions)
  uint32_t stack_depth = 0;
  // Time: events carry CLOCK_MONOTONIC ns; start_unix_ns is the wall clock at start_ns.
  int64_t start_ns = 0;
  int64_t start_unix_ns = 0;
  // The machine.
  std::string hostname;
  std::string kernel;  // uname -r
};

struct TraceEnd {
  int64_t end_ns = 0;         // CLOCK_MONOTONIC when recording stopped
  std::string reason;         // "interrupted", "duration elapsed", "the program exited with status 0"
  bool target_exited = false;
  TraceCounters counters;     // what was seen, lost and incomplete
};

}  // namespace goscope::output
