// The live source: a running program (attached by PID) or one goscope launches
// (held before exec until every probe is in place), traced with uprobes, with the
// goroutines that existed at attach as the seed and the process itself for the judge
// to look at.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loader/live_process.h"
#include "loader/process_info.h"
#include "loader/target.h"
#include "loader/tracer.h"
#include "session/source.h"

namespace goscope::session {

struct LiveOptions {
  pid_t pid = 0;                     // attach to this process...
  std::vector<std::string> command;  // ...or launch this one
  loader::TraceOptions trace;        // probes, stack depth, ring buffer, CPU sampling
};

class LiveSource final : public Source {
 public:
  // Checks privileges, attaches to / launches the target and starts the probes. A
  // launched target stays stopped until begin().
  static Expected<std::unique_ptr<LiveSource>> start(const LiveOptions& options);
  ~LiveSource() override;

  loader::Target& target() { return *target_; }
  const loader::Target& target() const { return *target_; }
  loader::Tracer& tracer() { return *tracer_; }
  const loader::Tracer& tracer() const { return *tracer_; }
  // What the user should know before it starts (CPU sampling unavailable, no snapshot).
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Fixes the start time now (a trace file's header needs it before the run).
  int64_t mark_start();

  const model::StreamInfo& stream() const override { return stream_; }
  std::shared_ptr<const state::StackSymbolizer> symbols() const override { return symbols_; }
  detect::ProcessView* process() override { return process_.get(); }
  bool holders_traced() const override { return holders_traced_; }
  bool live() const override { return true; }
  int64_t start_ns() const override { return start_ns_; }
  Expected<void> begin(Receiver& r) override;
  std::optional<std::string> ended() override;
  Expected<void> pump(Receiver& r, int timeout_ms) override;
  model::TraceEnd finish(Receiver& r, const std::string& reason) override;
  model::TraceCounters counters() const override;

 private:
  LiveSource() = default;

  std::optional<loader::Target> target_;
  std::unique_ptr<loader::Tracer> tracer_;
  std::shared_ptr<const state::StackSymbolizer> symbols_;
  std::unique_ptr<loader::LiveProcess> process_;
  model::StreamInfo stream_;
  bool holders_traced_ = false;
  int64_t start_ns_ = 0;
  std::optional<loader::FileIdentity> program_;  // what the target runs (an exec ends the session)
  std::vector<std::string> warnings_;
};

}  // namespace goscope::session
