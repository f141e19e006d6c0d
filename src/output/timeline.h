// Each goroutine's life as a sequence of segments (running, runnable, blocked on
// what), the wake-ups and channel hand-offs between goroutines, and goroutine
// counts over time: what the Perfetto timeline and the HTML report draw. Built
// from the event stream (live or replayed alike) next to the state model.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "state/state_model.h"
#include "model/event.h"

namespace goscope::output {

struct Segment {
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // the trace's end for a segment still open at the end
  state::GoroutineState state = state::GoroutineState::kRunning;  // kRunning, kRunnable or kBlocked
  uint32_t wait_reason = 0;  // kBlocked: the runtime's waitReason number
  uint64_t object = 0;       // kBlocked: the first object waited on (0 none)
  model::ObjectKind object_kind = model::ObjectKind::kNone;
  model::StackId stack = 0;  // kBlocked: where it blocked
};

struct GoroutineTrack {
  uint64_t goid = 0;
  uint64_t parent_goid = 0;
  uint64_t created_pc = 0;  // the `go` statement (a return address), 0 unknown
  uint64_t start_pc = 0;    // its function, 0 unknown
  bool runtime = false;     // one of the runtime's own goroutines
  int64_t created_ns = 0;   // 0: existed before the trace
  int64_t exited_ns = 0;    // 0: still alive at the end
  std::vector<Segment> segments;  // in time order, not overlapping
};

struct Flow {
  enum class Kind : uint8_t {
    kWake,     // from_goid made to_goid runnable (a ready event)
    kChannel,  // a value went from a send on `object` to a receive
    kCreate,   // from_goid created to_goid
  };
  Kind kind = Kind::kWake;
  uint64_t from_goid = 0;
  int64_t from_ns = 0;
  uint64_t to_goid = 0;
  int64_t to_ns = 0;
  uint64_t object = 0;  // kChannel: the channel
};

// Counter samples are at most this close: a change inside a step updates the step's
// sample (the counts at the end of the step), so a busy program costs one sample per step.
inline constexpr int64_t kCounterStepNs = 1'000'000;

struct CounterSample {
  int64_t time_ns = 0;
  uint64_t goroutines = 0;  // alive, the runtime's own excluded
  uint64_t blocked = 0;     // of them, blocked
};

struct Timeline {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  std::vector<GoroutineTrack> tracks;  // by goid
  std::vector<Flow> flows;             // by from_ns
  std::vector<CounterSample> counters; // by time, at each change (at most one per kCounterStepNs)
  uint64_t segments_dropped = 0;       // beyond TimelineOptions::max_segments (never silent)
};

struct TimelineOptions {
  int64_t start_ns = 0;  // the trace's start (0: first event)
  bool include_runtime = false;
  size_t max_segments = 20'000'000;  // memory bound; later segments are counted in segments_dropped
};

// Fed every event right after the state model applied it.
class TimelineBuilder {
 public:
  TimelineBuilder(const state::StateModel& model, const TimelineOptions& options);
  ~TimelineBuilder();
  void on_event(const model::Event& e);
  // Closes open segments at end_ns and returns the timeline (the builder is spent).
  Timeline finish(int64_t end_ns);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace goscope::output
