// The recording sink: every event into a trace file (tracefile/trace_file.h), the seed,
// the verdicts that needed the process's memory as they are reached (a leak again
// when more goroutines joined it: the replay merges the versions), the judge's notes
// and the end record. Flushed once a second: a killed recorder loses at most the last
// second. A write error is kept and reported after the run; nothing more is written.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "tracefile/trace_file.h"
#include "session/session.h"

namespace goscope::session {

class TraceFileSink final : public Sink {
 public:
  explicit TraceFileSink(tracefile::TraceWriter& writer) : w_(writer) {}

  void on_seed(Session& s, const model::ProcessSnapshot& snapshot, uint64_t load_bias) override;
  void on_event(Session& s, const model::Event& e) override;
  void on_second(Session& s, int64_t now_ns, const std::vector<detect::Finding>& fresh) override;
  void on_end(Session& s) override;

  const std::optional<Error>& error() const { return error_; }

 private:
  void store(const detect::Finding& f);
  void keep(Expected<void> ok) {
    if (!ok && !error_) error_ = ok.error();
  }

  tracefile::TraceWriter& w_;
  std::map<std::string, size_t> stored_;  // key -> goroutines named when stored
  std::optional<Error> error_;
};

}  // namespace goscope::session
