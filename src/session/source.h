// Where a session's data comes from. Every source delivers the same things, in
// stream order, to a Receiver (the session): the goroutines that existed before
// the first event (a seed snapshot), the typed event stream (model/event.h), and,
// from a recording, the verdicts and notes it stored. Two sources today — the live
// BPF session (live_source.h) and a trace file (replay_source.h); periodic memory
// snapshots and Go's own trace.out files are two more of the same kind.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/expected.h"
#include "detect/findings.h"
#include "detect/process_view.h"
#include "state/stack_symbolizer.h"
#include "model/event.h"
#include "model/snapshot.h"
#include "model/recording.h"

namespace goscope::session {

class Receiver {
 public:
  virtual ~Receiver() = default;
  virtual void seed(const model::ProcessSnapshot& snapshot, uint64_t load_bias, model::StackTable& stacks) = 0;
  virtual void event(const model::Event& e) = 0;
  // A deadlock or leak verdict reached earlier with the process's memory (a recording's).
  virtual void verdict(const detect::Finding& f) = 0;
  // A note stored with a recording (why something could not be judged then).
  virtual void note(const std::string& text) = 0;
};

class Source {
 public:
  virtual ~Source() = default;

  virtual const model::StreamInfo& stream() const = 0;
  // The one symbolization cache of the stream (frames, sites).
  virtual std::shared_ptr<const state::StackSymbolizer> symbols() const = 0;
  // The process to look at when judging, null when there is none (a recording).
  virtual detect::ProcessView* process() = 0;
  // Lock events cover every acquisition: lock holders are known, not inferred.
  virtual bool holders_traced() const = 0;
  // Live: time is the clock's (the session ticks once a second of it, events or not);
  // else the events' (ticks follow their timestamps).
  virtual bool live() const = 0;
  // CLOCK_MONOTONIC of the session's start (a recording's, for a replay).
  virtual int64_t start_ns() const = 0;

  // Hands over the seed, then starts the stream (a launched program starts running).
  virtual Expected<void> begin(Receiver& r) = 0;
  // Why the source has nothing more to give (the program exited, exec'd another one;
  // the file ended), nullopt while it has.
  virtual std::optional<std::string> ended() = 0;
  // Delivers what arrives within about `timeout_ms` (live), or the next part (replay).
  virtual Expected<void> pump(Receiver& r, int timeout_ms) = 0;
  // At the end: delivers what is still buffered, and says how the stream ended. A
  // replay's end is the recording's; `reason` is the session's when the source has none.
  virtual model::TraceEnd finish(Receiver& r, const std::string& reason) = 0;
  // What was seen, lost or incomplete so far.
  virtual model::TraceCounters counters() const = 0;
};

}  // namespace goscope::session
