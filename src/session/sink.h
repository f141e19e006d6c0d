// Where a session's results go. A sink sees the seed, every event after the state
// model and the judge did, once a second the verdicts found for the first time, and
// the end (the session's findings, notes and end are then final). Console lines,
// JSON lines, the trace file writer and the replay's products (profiles, timeline)
// are sinks; a live table and an HTTP server are two more of the same kind.
#pragma once

#include <cstdint>
#include <vector>

#include "detect/findings.h"
#include "model/event.h"

namespace goscope::session {

class Session;

class Sink {
 public:
  virtual ~Sink() = default;
  // The state model has been seeded (goroutines that existed before the first event).
  virtual void on_seed(Session&, const model::ProcessSnapshot&, uint64_t /*load_bias*/) {}
  // Once: the seed, if any, is in and the first event is about to be applied (or, for an
  // empty stream, the end has come). What starts from the state before any event starts here.
  virtual void on_stream(Session&) {}
  virtual void on_event(Session&, const model::Event&) {}
  // A verdict reached earlier (a recording's), adopted by the judge.
  virtual void on_verdict(Session&, const detect::Finding&) {}
  // About once a second (of the clock live, of event time on a replay).
  virtual void on_second(Session&, int64_t /*now_ns*/, const std::vector<detect::Finding>& /*fresh*/) {}
  virtual void on_end(Session&) {}
};

}  // namespace goscope::session
