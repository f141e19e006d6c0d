// A recorded trace read back and fed to the same state model, rules and
// detectors as a live session (DESIGN.md: "replay reads it and feeds the same
// detectors"), plus whatever exporters are asked for (profiles, timeline).
// Shared by `report`, `export` and `capture`.
//
// Deadlocks and leaks that needed the process's memory (who can still reach a
// channel, a WaitGroup, a Cond) cannot be judged again without it: the
// recording stored the verdicts it reached, and the replay adopts them. Mutex
// deadlocks (holders from lock events or inferred from stacks), every goroutine
// asleep at the program's exit, and the rules (long blocking, contention,
// scheduling latency, growth, stop-the-world) are judged again from the events.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/findings_flags.h"
#include "common/expected.h"
#include "detect/goroutine_state.h"
#include "output/cpu_profile.h"
#include "output/profiles.h"
#include "output/timeline.h"
#include "output/trace_file.h"
#include "output/trace_meta.h"

namespace goscope::cli {

struct ReplayWants {
  bool profiles = false;  // block, mutex, off-CPU samples
  bool timeline = false;
  bool include_runtime = false;  // the runtime's own goroutines in the timeline
  bool cpu = false;              // the CPU profile (from the CPU samples)
};

class Replay {
 public:
  // Opens the trace (a clear error when it is not one, or from a newer goscope).
  static Expected<std::unique_ptr<Replay>> open(const std::string& path, const FindingsConfig& config,
                                                const ReplayWants& wants);
  ~Replay();

  // Reads every item up to the end or the first damage; `on_event` sees each event
  // after the state model did. Then judges what is left and builds what was asked.
  void run(const std::function<void(const model::Event&)>& on_event = {});

  const output::TraceMeta& meta() const { return reader_->meta(); }
  // The end record, or one made up from the last event when the recording never ended.
  const output::TraceEnd& end() const { return end_; }
  bool ended_cleanly() const { return reader_->end().has_value(); }
  // What is wrong with the file and where, "" when whole.
  const std::string& damage() const { return reader_->damage(); }
  uint64_t events() const { return reader_->events_read(); }

  const detect::StateModel& state() const { return *state_; }
  std::shared_ptr<const detect::StackSymbolizer> symbols() const { return symbols_; }
  const model::StreamInfo& stream() const { return stream_; }
  const sym::BuildInfo& build_info() const { return reader_->code()->build_info(); }
  // After run(): every finding (adopted verdicts, judged again, rules) and the notes.
  const std::vector<detect::Finding>& findings() const { return findings_; }
  const std::vector<std::string>& notes() const { return notes_; }
  const output::BlockingProfiles* profiles() const { return profiles_.get(); }
  const output::Timeline* timeline() const { return timeline_ ? &*timeline_ : nullptr; }
  const output::CpuProfile* cpu_profile() const { return cpu_.get(); }

 private:
  Replay() = default;

  std::unique_ptr<output::TraceReader> reader_;
  ReplayWants wants_;
  std::shared_ptr<const detect::StackSymbolizer> symbols_;
  std::unique_ptr<detect::StateModel> state_;
  model::StreamInfo stream_;
  std::unique_ptr<detect::Judge> judge_;
  std::unique_ptr<output::BlockingProfiles> profiles_;
  std::unique_ptr<output::CpuProfile> cpu_;
  std::unique_ptr<output::TimelineBuilder> timeline_builder_;
  std::optional<output::Timeline> timeline_;
  output::TraceEnd end_;
  std::vector<detect::Finding> findings_;
  std::vector<std::string> notes_;
};

}  // namespace goscope::cli
