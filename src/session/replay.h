// A recorded trace read to its end through the session pipeline (ReplaySource →
// state model → judge), with whatever products the exports need built by a sink on
// the way (blocking profiles, the CPU profile, the timeline). Shared by `report`,
// `export` and `capture`.
//
// Deadlocks and leaks that needed the process's memory (who can still reach a
// channel, a WaitGroup, a Cond) cannot be judged again without it: the recording
// stored the verdicts it reached, and the replay adopts them. Mutex deadlocks
// (holders from lock events or inferred from stacks), every goroutine asleep at the
// program's exit, and the rules (long blocking, contention, scheduling latency,
// growth, stop-the-world) are judged again from the events.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "detect/judge.h"
#include "output/cpu_profile.h"
#include "output/profiles.h"
#include "output/timeline.h"
#include "model/recording.h"
#include "session/replay_source.h"
#include "session/session.h"

namespace goscope::session {

struct ReplayWants {
  bool profiles = false;  // block, mutex, off-CPU samples
  bool timeline = false;
  bool include_runtime = false;  // the runtime's own goroutines in the timeline
  bool cpu = false;              // the CPU profile (from the CPU samples)
};

// The products of a replay, built as the events go by.
class ReplayProducts final : public Sink {
 public:
  explicit ReplayProducts(const ReplayWants& wants) : wants_(wants) {}

  void on_seed(Session& s, const model::ProcessSnapshot&, uint64_t) override;
  void on_stream(Session& s) override;
  void on_event(Session& s, const model::Event& e) override;
  void on_end(Session& s) override;

  const output::BlockingProfiles* profiles() const { return profiles_.get(); }
  const output::Timeline* timeline() const { return timeline_ ? &*timeline_ : nullptr; }
  const output::CpuProfile* cpu_profile() const { return cpu_.get(); }

 private:
  void make_profiles(Session& s);

  ReplayWants wants_;
  std::unique_ptr<output::BlockingProfiles> profiles_;
  std::unique_ptr<output::CpuProfile> cpu_;
  std::unique_ptr<output::TimelineBuilder> timeline_builder_;
  std::optional<output::Timeline> timeline_;
};

class Replay {
 public:
  // Opens the trace (a clear error when it is not one, or from a newer goscope).
  static Expected<std::unique_ptr<Replay>> open(const std::string& path, const detect::JudgeConfig& judge,
                                                const ReplayWants& wants);
  ~Replay();

  // Reads every item up to the end or the first damage; `on_event` sees each event
  // after the state model did. Then judges what is left and builds what was asked.
  Expected<void> run(const std::function<void(const model::Event&)>& on_event = {});

  const model::TraceMeta& meta() const { return source_->meta(); }
  // The end record, or one made up from the last event when the recording never ended.
  const model::TraceEnd& end() const { return session_->end(); }
  bool ended_cleanly() const { return source_->ended_cleanly(); }
  const std::string& damage() const { return source_->damage(); }
  uint64_t events() const { return source_->events(); }

  const state::StateModel& state() const { return session_->state(); }
  std::shared_ptr<const state::StackSymbolizer> symbols() const { return session_->symbols(); }
  const model::StreamInfo& stream() const { return session_->stream(); }
  const sym::BuildInfo& build_info() const { return source_->build_info(); }
  // After run(): every finding (adopted verdicts, judged again, rules) and the notes.
  const std::vector<detect::Finding>& findings() const { return session_->findings(); }
  const std::vector<std::string>& notes() const { return session_->notes(); }
  const output::BlockingProfiles* profiles() const { return products_->profiles(); }
  const output::Timeline* timeline() const { return products_->timeline(); }
  const output::CpuProfile* cpu_profile() const { return products_->cpu_profile(); }

 private:
  Replay() = default;

  std::unique_ptr<ReplaySource> source_;
  std::unique_ptr<ReplayProducts> products_;
  std::unique_ptr<Sink> callback_;
  std::unique_ptr<Session> session_;
};

}  // namespace goscope::session
