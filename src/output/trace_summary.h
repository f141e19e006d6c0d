// The summary `goscope trace` prints when it stops: how much was seen, which
// goroutines are blocked now (on what, for how long, where), where goroutines
// spent their time blocked, contended mutexes, busy channels, and what was lost.
// The same content as text (for a person) and as JSON (for scripts).
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "state/state_model.h"
#include "output/event_format.h"

namespace goscope::output {

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

struct SummaryOptions {
  int64_t start_ns = 0;       // when tracing began (CLOCK_MONOTONIC); 0: at the first event
  int64_t end_ns = 0;         // when it ended ("now" for blocked goroutines); 0: at the last event
  size_t max_rows = 10;       // rows per section in text (JSON has them all)
  bool show_runtime = false;  // the runtime's own goroutines and blocking sites too
  bool color = false;         // ANSI colors in text
};

void write_trace_summary(FILE* out, const state::StateModel& state, const EventFormatter& format,
                         const TraceCounters& counters, const SummaryOptions& options);

nlohmann::json trace_summary_json(const state::StateModel& state, const EventFormatter& format,
                                  const TraceCounters& counters, const SummaryOptions& options);

}  // namespace goscope::output
