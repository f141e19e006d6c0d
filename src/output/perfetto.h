// The goroutine timeline as Trace Event Format JSON, the format ui.perfetto.dev and
// chrome://tracing open:
//
//   - one process (the traced program: "name (pid N)") with one track per goroutine
//     ("tid" = goid, named "G42 main.worker" after its function, or after where it
//     was created; sorted by goid);
//   - a complete slice ("ph":"X") per segment, named "running", "runnable" or what it
//     waited for in the runtime's words ("chan receive", "sync.Mutex.Lock"), with the
//     object, its kind and the blocking site (file:line, function) as args;
//   - flow arrows ("ph":"s" -> "ph":"f", bound to the enclosing slices) for wake-ups,
//     channel hand-offs (send -> receive) and goroutine creation;
//   - counters ("ph":"C") "alive" and "blocked" goroutines (the runtime's own excluded);
//   - findings, optionally, as global instant events at the time they were concluded.
//
// Timestamps are microseconds since the trace's start (fractions keep nanoseconds);
// "displayTimeUnit":"ns".
//
// Large traces are split into several files by time windows: path, then
// <stem>.part2.json, <stem>.part3.json... Perfetto UI's JSON importer (and Chrome's)
// holds the whole file in memory while parsing, and files of several hundred MB fail
// to open in a browser tab; a part of at most max_events_per_file trace events (~150
// bytes each: 1M events is ~150 MB) stays openable. Every part carries all the
// metadata (process and goroutine names) so it reads on its own; a segment crossing a
// window boundary is cut in two, each piece with "args":{"cut":true}; a flow goes
// into the part where it starts (its arrow may end past that part's last slice).
// The bound is approximate: windows are cut at 1/65536 of the trace, so one very dense
// instant may exceed it.
//
// Strings from the binary need not be UTF-8: bad bytes are written as U+FFFD, so each
// file is valid JSON. Events are written one by one; nothing holds a whole file.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "detect/findings.h"
#include "state/stack_symbolizer.h"
#include "model/event.h"
#include "output/timeline.h"

namespace goscope::output {

struct PerfettoOptions {
  std::string process_name;  // the program ("myserver"); the process is named "myserver (pid 42)"
  pid_t pid = 0;
  size_t max_events_per_file = 1'000'000;  // trace events per part, metadata included (approximate)
  // Runtime goroutines are in the timeline only when it was built with include_runtime;
  // this drops them again when false.
  bool include_runtime = false;
  std::span<const detect::Finding> findings;  // written as instant events when not empty
};

// Writes `path` (and <stem>.part2.json... when split); returns the files written, in time order.
Expected<std::vector<std::string>> write_perfetto_json(const std::string& path, const Timeline& timeline,
                                                       const state::StackSymbolizer& symbols,
                                                       const model::StreamInfo& stream,
                                                       const PerfettoOptions& options);

}  // namespace goscope::output
