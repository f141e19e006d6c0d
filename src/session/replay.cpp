#include "session/replay.h"

namespace goscope::session {

namespace {

// Hands every event to a callback (JSON lines written while the trace is read).
class CallbackSink final : public Sink {
 public:
  explicit CallbackSink(std::function<void(const model::Event&)> f) : f_(std::move(f)) {}
  void on_event(Session&, const model::Event& e) override { f_(e); }

 private:
  std::function<void(const model::Event&)> f_;
};

}  // namespace

void ReplayProducts::make_profiles(Session& s) {
  if (profiles_ || cpu_ || !(wants_.profiles || wants_.cpu)) return;
  auto& source = static_cast<ReplaySource&>(s.source());
  auto ctx = output::profile_context(source.meta(), *s.symbols(), s.stream());
  if (wants_.profiles) profiles_ = std::make_unique<output::BlockingProfiles>(ctx);
  if (wants_.cpu) cpu_ = std::make_unique<output::CpuProfile>(ctx, source.stacks());
}

void ReplayProducts::on_seed(Session& s, const model::ProcessSnapshot&, uint64_t) {
  make_profiles(s);
  if (profiles_) profiles_->seed(s.state());
}

void ReplayProducts::on_stream(Session& s) {
  make_profiles(s);
  if (!wants_.timeline) return;
  output::TimelineOptions to;
  to.start_ns = s.start_ns();
  to.include_runtime = wants_.include_runtime;
  timeline_builder_ = std::make_unique<output::TimelineBuilder>(s.state(), to);
}

void ReplayProducts::on_event(Session&, const model::Event& e) {
  if (e.kind == model::EventKind::kCpuSample) {
    if (cpu_) cpu_->on_event(e);
    return;
  }
  if (profiles_) profiles_->on_event(e);
  if (timeline_builder_) timeline_builder_->on_event(e);
}

void ReplayProducts::on_end(Session& s) {
  if (profiles_) profiles_->finish(s.end().end_ns);
  if (timeline_builder_) timeline_ = timeline_builder_->finish(s.end().end_ns);
}

Replay::~Replay() = default;

Expected<std::unique_ptr<Replay>> Replay::open(const std::string& path, const detect::JudgeConfig& judge,
                                               const ReplayWants& wants) {
  std::unique_ptr<Replay> r(new Replay());
  GS_TRY(r->source_, ReplaySource::open(path));
  detect::JudgeConfig config = judge;
  // Lock holders come from the events as recorded.
  config.holders_traced = r->source_->holders_traced();
  r->session_ = std::make_unique<Session>(*r->source_, config);
  r->products_ = std::make_unique<ReplayProducts>(wants);
  r->session_->add_sink(*r->products_);
  return r;
}

Expected<void> Replay::run(const std::function<void(const model::Event&)>& on_event) {
  if (on_event) {
    callback_ = std::make_unique<CallbackSink>(on_event);
    session_->add_sink(*callback_);
  }
  return session_->run();
}

}  // namespace goscope::session
