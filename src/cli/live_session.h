// The live part shared by `trace`, `record` and `capture`: choose the target
// (attach or launch), check privileges, start the probes, seed the state model
// with the goroutines that existed at attach, then pump events until Ctrl-C, the
// duration or the target's end -- feeding the state model and the analysis, and
// judging deadlocks once a second. What each command does with the events (print
// them, write them to a trace file) is its callback.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/findings_flags.h"
#include "detect/judge.h"
#include "loader/live_process.h"
#include "cli/options.h"
#include "common/expected.h"
#include "detect/goroutine_state.h"
#include "loader/target.h"
#include "loader/tracer.h"
#include "output/trace_summary.h"

namespace CLI {
class App;
}

namespace goscope::cli {

// The flags of a live session, the same on every live command.
struct LiveFlags {
  TargetOptions target;
  std::string duration;
  bool all_ops = false;
  bool scheduler = false;
  bool lock_holders = false;
  uint32_t stack_depth = GS_DEFAULT_FRAMES;
  uint32_t buffer_mb = GS_RINGBUF_DEFAULT_BYTES >> 20;
  uint32_t cpu_hz = 0;  // CPU samples per second and CPU (0: none); record and capture sample
  FindingsFlags findings;

  // Target, duration, probe choice, stack depth, buffer size and the findings flags.
  // `default_duration`: "" for none (until Ctrl-C or the target's end).
  void add_to(CLI::App& sub, const std::string& default_duration = "");
  // -F / --frequency: CPU sampling for the CPU profile, `default_hz` unless given.
  void add_sampling_option(CLI::App& sub, uint32_t default_hz);
};

class LiveSession {
 public:
  // Validates the flags, checks privileges, attaches to / launches the target and starts
  // the probes. A launched target stays stopped until run().
  static Expected<std::unique_ptr<LiveSession>> start(const LiveFlags& flags);
  ~LiveSession();

  loader::Target& target() { return *target_; }
  loader::Tracer& tracer() { return *tracer_; }
  const detect::StateModel& state() const { return *state_; }
  std::shared_ptr<const detect::StackSymbolizer> symbols() const { return symbols_; }
  const model::StreamInfo& stream() const { return stream_; }
  const FindingsConfig& findings_config() const { return config_; }
  detect::Judge& judge() { return *judge_; }
  bool holders_traced() const { return holders_traced_; }
  int64_t start_ns() const { return start_ns_; }

  // Fixes the session's start time now (before run(): a trace file's header needs it).
  int64_t mark_start();
  // "goscope: <verb> PID 1234 (path, go1.22.3): 40 probes in 12.3 ms; Ctrl-C to stop" on stderr.
  void announce(const char* verb) const;
  // Pumps events until the session should end. `on_event` sees each event after the
  // state model and the analysis did; `on_second` runs about once a second with the
  // deadlocks found for the first time (may be empty).
  Expected<void> run(const std::function<void(const model::Event&)>& on_event,
                     const std::function<void(int64_t now_ns, std::vector<detect::Finding>& fresh)>& on_second);

  // Ends run() at its next turn (within about 100 ms), with this as the reason: the
  // caller's output failed (a closed pipe, a full disk), and the target must not stay
  // instrumented for nothing.
  void stop(std::string reason) {
    if (stop_reason_.empty()) stop_reason_ = std::move(reason);
  }
  // After run(): why it ended, when, and the counters (events_printed is the caller's).
  const std::string& end_reason() const { return end_reason_; }
  int64_t end_ns() const { return end_ns_; }
  output::TraceCounters counters() const;
  bool target_exited() { return !target_->alive(); }

 private:
  LiveSession() = default;
  void report_new_losses();

  LiveFlags flags_;
  std::optional<std::chrono::nanoseconds> duration_;
  FindingsConfig config_;
  std::optional<loader::Target> target_;
  std::unique_ptr<loader::Tracer> tracer_;
  std::shared_ptr<const detect::StackSymbolizer> symbols_;
  std::unique_ptr<detect::StateModel> state_;
  model::StreamInfo stream_;
  std::unique_ptr<loader::LiveProcess> process_;
  std::unique_ptr<detect::Judge> judge_;
  bool holders_traced_ = false;
  int64_t start_ns_ = 0;
  int64_t end_ns_ = 0;
  std::string end_reason_;
  std::string stop_reason_;  // stop(): the caller asked
  uint64_t lost_reported_ = 0;
};

}  // namespace goscope::cli
