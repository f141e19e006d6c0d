// What a recording says about itself besides its events: the trace file's
// header (who was traced, how, when, on which machine) and its end record
// (why it stopped, what was lost). Written by `record`/`capture`, shown by
// `report`, used by every exporter for titles and time bases.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace goscope::model {

// What a session counted besides the events: nothing is lost silently.
struct TraceCounters {
  uint64_t events_seen = 0;     // typed events received
  uint64_t events_printed = 0;  // of them, shown (they passed the filter)
  // Lost: records that never became events.
  uint64_t ringbuf_full = 0;  // dropped in BPF: the ring buffer was full
  uint64_t malformed = 0;     // records the decoder rejected
  uint64_t unpaired = 0;      // an operation's entry or return seen without the other (attached mid-call)
  // Incomplete: delivered, with something missing.
  uint64_t goid_unreadable = 0;   // the goroutine id could not be read (goid 0)
  uint64_t field_unreadable = 0;  // a field the probe reads could not be read
  uint64_t stack_cut = 0;         // the stack walk stopped early

  uint64_t lost() const { return ringbuf_full + malformed + unpaired; }
  uint64_t incomplete() const { return goid_unreadable + field_unreadable + stack_cut; }
};


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

}  // namespace goscope::model
