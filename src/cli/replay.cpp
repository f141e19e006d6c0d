#include "cli/replay.h"

#include <algorithm>

namespace goscope::cli {

Replay::~Replay() = default;

Expected<std::unique_ptr<Replay>> Replay::open(const std::string& path, const FindingsConfig& config,
                                               const ReplayWants& wants) {
  auto reader = output::TraceReader::open(path);
  if (!reader) return reader.error();
  std::unique_ptr<Replay> r(new Replay());
  r->reader_ = std::move(*reader);
  r->wants_ = wants;
  r->stream_ = r->reader_->stream_info();
  r->symbols_ = std::make_shared<detect::StackSymbolizer>(r->reader_->code(), r->reader_->stacks());
  r->state_ = std::make_unique<detect::StateModel>(r->symbols_);
  // No process to look at. Lock holders come from the events as recorded.
  r->judge_ = std::make_unique<detect::Judge>(*r->state_, r->stream_, nullptr,
                                              config.judge(r->reader_->meta().holders_traced));
  if (wants.profiles || wants.cpu) {
    auto ctx = output::profile_context(r->reader_->meta(), *r->symbols_, r->stream_);
    if (wants.profiles) r->profiles_ = std::make_unique<output::BlockingProfiles>(ctx);
    if (wants.cpu) r->cpu_ = std::make_unique<output::CpuProfile>(ctx, r->reader_->stacks());
  }
  return r;
}

void Replay::run(const std::function<void(const model::Event&)>& on_event) {
  const output::TraceMeta& meta = reader_->meta();
  std::vector<std::string> recorded_notes;
  int64_t next_second = meta.start_ns + 1'000'000'000;
  int64_t last_ns = meta.start_ns;
  auto start_timeline = [&] {
    if (!wants_.timeline || timeline_builder_) return;
    output::TimelineOptions to;
    to.start_ns = meta.start_ns;
    to.include_runtime = wants_.include_runtime;
    timeline_builder_ = std::make_unique<output::TimelineBuilder>(*state_, to);
  };
  while (const output::TraceReader::Item* item = reader_->next()) {
    switch (item->kind) {
      case output::TraceReader::Item::Kind::kSeed:
        state_->seed(item->seed, 0, reader_->stacks());
        if (profiles_) profiles_->seed(*state_);
        break;
      case output::TraceReader::Item::Kind::kEvent: {
        const model::Event& e = item->event;
        start_timeline();
        // Once a second of trace time, as live: goroutine counts for the growth rule.
        while (e.time_ns >= next_second) {
          judge_->tick(next_second);
          next_second += 1'000'000'000;
        }
        if (e.kind == model::EventKind::kCpuSample) {
          // For the CPU profile only, as live (LiveSession::run).
          if (cpu_) cpu_->on_event(e);
        } else {
          state_->apply(e);
          judge_->apply(e);
          if (profiles_) profiles_->on_event(e);
          if (timeline_builder_) timeline_builder_->on_event(e);
        }
        if (on_event) on_event(e);
        last_ns = std::max(last_ns, e.time_ns);
        break;
      }
      case output::TraceReader::Item::Kind::kFinding:
        judge_->adopt(item->finding);
        break;
      case output::TraceReader::Item::Kind::kNote:
        recorded_notes.push_back(item->note);
        break;
    }
  }
  if (reader_->end()) {
    end_ = *reader_->end();
  } else {
    end_.end_ns = last_ns;
    end_.reason = "the recording did not end cleanly (recorder killed?): the trace stops at its last event";
    end_.counters.events_seen = reader_->events_read();
  }
  findings_ = judge_->finish(end_.end_ns, end_.target_exited);
  notes_ = recorded_notes;
  if (profiles_) profiles_->finish(end_.end_ns);
  start_timeline();
  if (timeline_builder_) timeline_ = timeline_builder_->finish(end_.end_ns);
}

}  // namespace goscope::cli
