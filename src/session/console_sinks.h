// Sinks that write to a terminal, a pipe or a file while a session runs: the event
// lines of `trace` (text or JSON lines, filtered), the verdicts as they are found,
// and warnings about lost events as they happen.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "output/event_filter.h"
#include "output/event_format.h"
#include "session/session.h"

namespace goscope::session {

// One line per event that passes the filter (text, or one JSON object per line). When
// the output cannot be written (its reader went away, the disk is full) the session
// stops at once: the target must not stay instrumented for nobody.
class EventLines final : public Sink {
 public:
  // `name` says what `out` is in an error message ("the event stream (standard output)").
  EventLines(FILE* out, std::string name, const output::EventFormatter& format, const output::EventFilter& filter,
             bool json, bool quiet)
      : out_(out), name_(std::move(name)), format_(format), filter_(filter), json_(json), quiet_(quiet) {}

  void on_event(Session& s, const model::Event& e) override;
  void on_second(Session& s, int64_t now_ns, const std::vector<detect::Finding>& fresh) override;
  void on_end(Session& s) override;

  uint64_t printed() const { return printed_; }
  // "cannot write X: reason" once the output failed, else "".
  const std::string& error() const { return error_; }

 private:
  void check(Session& s);

  FILE* out_;
  std::string name_;
  const output::EventFormatter& format_;
  const output::EventFilter& filter_;
  bool json_;
  bool quiet_;
  uint64_t printed_ = 0;
  std::string error_;
};

// "goscope: found while tracing:" and the verdicts, as soon as they are found.
class FindingsAsFound final : public Sink {
 public:
  FindingsAsFound(FILE* out, std::string verb, bool color) : out_(out), verb_(std::move(verb)), color_(color) {}
  void on_second(Session& s, int64_t now_ns, const std::vector<detect::Finding>& fresh) override;

 private:
  FILE* out_;
  std::string verb_;  // "tracing", "recording"
  bool color_;
};

// Events lost in the ring buffer, reported as they happen (once a second) and at the end.
class LossWarnings final : public Sink {
 public:
  explicit LossWarnings(FILE* out) : out_(out) {}
  void on_second(Session& s, int64_t now_ns, const std::vector<detect::Finding>& fresh) override;
  void on_end(Session& s) override;

 private:
  void report(uint64_t lost);
  FILE* out_;
  uint64_t reported_ = 0;
};

}  // namespace goscope::session
