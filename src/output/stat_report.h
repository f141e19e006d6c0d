// goscope stat's output: the counters of the process printed the way `perf stat`
// prints them, then per thread, the goroutines that used the most, and totals
// per creation site; or the same as one JSON document for scripts.
//
// Text (widths as perf's; numbers with thousands separators):
//
//    Performance counter stats for process 4242 (./server), 3.00 s:
//
//             2,003.51 msec task-clock                #    0.668 CPUs utilized
//                  412      context-switches          #  137.333 /sec
//                    3      cpu-migrations            #    1.000 /sec
//                  120      page-faults               #   40.000 /sec
//      <not supported>      cycles
//      <not supported>      instructions
//          ...  (a counted hardware row: "#    1.23  insn per cycle" on instructions,
//                "#   12.34% of all cache refs" on cache-misses, "#    1.23% of all
//                branches" on branch-misses, "#   12.34% frontend cycles idle" on
//                stalled-cycles-*, "#    1.234 GHz" on cycles when task-clock is there;
//                a multiplexed row ends with "  (62.50%)", the time it was counted;
//                a row that never ran reads "<not counted>")
//
//          3.003512345 seconds time elapsed
//
//    note: <pmu_note, once, when there is no PMU>
//
//    Per thread (tid, name, then each counted counter; not supported columns left out)
//    Top goroutines by <the first counted counter: task-clock by default> (top N):
//      goid, share of the process's total, the counters, slices, created at, function,
//      current function / state
//    By creation site (every goroutine created by the same `go` statement summed):
//      created at, goroutines, the counters, share
//    Unattributed (scheduler, GC on the system stack, before a thread's first switch)
//    and the per_goroutine_note / notes at the end.
//
// JSON (one object; counter objects keyed by counter name):
//   { "pid", "command", "go_version", "duration_ns",
//     "pmu": {"hardware": bool, "note": str},
//     "counters": [{"name", "hardware", "unit": "ns"|"count"}],
//     "process": {"<name>": COUNTER, ...},
//     "threads": [{"tid", "name", "exited", "counters": {...}}],
//     "per_goroutine": bool, "per_goroutine_note": str,
//     "goroutines": [{"goid", "created_at", "function", "current", "state", "slices",
//                     "samples", "counters": {...}}]   (all of them, by the sort counter desc),
//     "sites": [{"created_at", "goroutines", "counters": {...}}],
//     "unattributed": {...},
//     "samples", "lost_samples", "notes": [str] }
//   COUNTER = {"state": "counted"|"not counted"|"not supported", "value": number (scaled,
//              absent unless counted), "raw", "enabled_ns", "running_ns"}
#pragma once

#include <string>

#include "model/counters.h"

namespace goscope::output {

struct StatTextOptions {
  size_t top = 10;           // goroutines listed (all sites are listed up to this many too)
  bool per_thread = true;
  bool color = false;        // unused for now: perf stat prints no colour
};

std::string stat_text(const model::StatResult& result, const StatTextOptions& options = {});
std::string stat_json(const model::StatResult& result);  // pretty-printed, ends with a newline

// The counter goroutines are ranked by: task-clock when counted, else the first
// counted counter, else -1.
int stat_sort_counter(const model::StatResult& result);

}  // namespace goscope::output
