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

#include "model/recording.h"

namespace goscope::output {


struct SummaryOptions {
  int64_t start_ns = 0;       // when tracing began (CLOCK_MONOTONIC); 0: at the first event
  int64_t end_ns = 0;         // when it ended ("now" for blocked goroutines); 0: at the last event
  size_t max_rows = 10;       // rows per section in text (JSON has them all)
  bool show_runtime = false;  // the runtime's own goroutines and blocking sites too
  bool color = false;         // ANSI colors in text
};

void write_trace_summary(FILE* out, const state::StateModel& state, const EventFormatter& format,
                         const model::TraceCounters& counters, const SummaryOptions& options);

nlohmann::json trace_summary_json(const state::StateModel& state, const EventFormatter& format,
                                  const model::TraceCounters& counters, const SummaryOptions& options);

}  // namespace goscope::output
