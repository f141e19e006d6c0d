// One pipeline for every command: a Source feeds the state model and the judge,
// and the sinks see what comes out. Data flows one way:
//
//   Source --seed, events, recorded verdicts--> StateModel --> Judge --> Sinks
//
// `trace`, `record` and `capture` run it on a LiveSource; `report`, `export` and
// `capture`'s second half on a ReplaySource. The session owns the order of things
// (CPU samples go to sinks only; the judge ticks once a second; at the end the judge
// finishes and every sink sees the final findings), so a new source or a new sink
// plugs in without another orchestration loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "state/state_model.h"
#include "detect/judge.h"
#include "session/sink.h"
#include "session/source.h"

namespace goscope::session {

struct RunOptions {
  std::optional<int64_t> duration_ns;           // stop after this long (live)
  const std::atomic<bool>* interrupt = nullptr;  // set by Ctrl-C / SIGTERM: stop ("interrupted")
  int poll_ms = 100;                            // the longest wait for events (live)
};

class Session final : private Receiver {
 public:
  // `source` must outlive the session.
  Session(Source& source, const detect::JudgeConfig& judge);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Sinks see everything in the order they were added; each must outlive run().
  void add_sink(Sink& sink) { sinks_.push_back(&sink); }

  // Runs the source to its end, the duration, an interrupt or stop(); then the judge
  // finishes and the sinks see the end. An error of the source ends the run with it.
  Expected<void> run(const RunOptions& options = {});
  // Ends run() at its next turn (live: within poll_ms), with this as the reason (an
  // output that failed: the target must not stay instrumented for nothing).
  void stop(std::string reason) {
    if (stop_reason_.empty()) stop_reason_ = std::move(reason);
  }

  Source& source() const { return source_; }
  const model::StreamInfo& stream() const { return source_.stream(); }
  std::shared_ptr<const state::StackSymbolizer> symbols() const { return symbols_; }
  const state::StateModel& state() const { return *state_; }
  detect::Judge& judge() { return *judge_; }
  int64_t start_ns() const { return source_.start_ns(); }

  // After run(): how it ended, every finding (verdicts during the run and at the end,
  // the rules), and the notes (why waits could not be judged).
  const model::TraceEnd& end() const { return end_; }
  const std::vector<detect::Finding>& findings() const { return findings_; }
  const std::vector<std::string>& notes() const;

 private:
  void seed(const model::ProcessSnapshot& snapshot, uint64_t load_bias, model::StackTable& stacks) override;
  void event(const model::Event& e) override;
  void verdict(const detect::Finding& f) override;
  void note(const std::string& text) override;
  void tick(int64_t now_ns);
  void start_stream();

  Source& source_;
  std::shared_ptr<const state::StackSymbolizer> symbols_;
  std::unique_ptr<state::StateModel> state_;
  std::unique_ptr<detect::Judge> judge_;
  std::vector<Sink*> sinks_;
  int64_t next_second_ns_ = 0;
  bool streaming_ = false;  // sinks have seen on_stream
  std::string stop_reason_;
  model::TraceEnd end_;
  std::vector<detect::Finding> findings_;
  std::vector<std::string> recorded_notes_;
};

}  // namespace goscope::session
