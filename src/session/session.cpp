#include "session/session.h"

#include "common/clock.h"

namespace goscope::session {

namespace {
constexpr int64_t kSecond = 1'000'000'000;
}

Session::Session(Source& source, const detect::JudgeConfig& judge)
    : source_(source),
      symbols_(source.symbols()),
      state_(std::make_unique<state::StateModel>(symbols_)),
      judge_(std::make_unique<detect::Judge>(*state_, source.stream(), source.process(), judge)) {}

Session::~Session() = default;

void Session::seed(const model::ProcessSnapshot& snapshot, uint64_t load_bias, model::StackTable& stacks) {
  state_->seed(snapshot, load_bias, stacks);
  for (Sink* s : sinks_) s->on_seed(*this, snapshot, load_bias);
}

void Session::event(const model::Event& e) {
  // A recording's time is its events': once a second of it, as live (goroutine counts
  // for the growth rule).
  if (!source_.live())
    while (e.time_ns >= next_second_ns_) {
      tick(next_second_ns_);
      next_second_ns_ += kSecond;
    }
  if (!streaming_) start_stream();
  // CPU samples are for the CPU profile only (see StateModel::apply).
  if (e.kind != model::EventKind::kCpuSample) {
    state_->apply(e);
    judge_->apply(e);
  }
  for (Sink* s : sinks_) s->on_event(*this, e);
}

void Session::start_stream() {
  streaming_ = true;
  for (Sink* s : sinks_) s->on_stream(*this);
}

void Session::verdict(const detect::Finding& f) {
  judge_->adopt(f);
  for (Sink* s : sinks_) s->on_verdict(*this, f);
}

void Session::note(const std::string& text) {
  recorded_notes_.push_back(text);
}

void Session::tick(int64_t now_ns) {
  auto fresh = judge_->tick(now_ns);
  for (Sink* s : sinks_) s->on_second(*this, now_ns, fresh);
}

const std::vector<std::string>& Session::notes() const {
  // A replay judges again without memory: what it could not judge is no news, the
  // recording's own notes say what was judged with it.
  return source_.process() ? judge_->notes() : recorded_notes_;
}

Expected<void> Session::run(const RunOptions& options) {
  // The live source fixes its start when it begins: the first tick is a second after it.
  GS_CHECK(source_.begin(*this));
  next_second_ns_ = source_.start_ns() + kSecond;
  std::string reason;
  std::optional<Error> error;
  while (true) {
    if (!stop_reason_.empty()) {
      reason = stop_reason_;
      break;
    }
    if (options.interrupt && options.interrupt->load()) {
      reason = "interrupted";
      break;
    }
    if (options.duration_ns && monotonic_ns() - source_.start_ns() >= *options.duration_ns) {
      reason = "duration elapsed";
      break;
    }
    if (auto why = source_.ended()) {
      reason = *why;
      break;
    }
    if (source_.live())
      if (const int64_t now = monotonic_ns(); now >= next_second_ns_) {
        next_second_ns_ += kSecond;
        tick(now);
      }
    if (auto ok = source_.pump(*this, options.poll_ms); !ok) {
      error = ok.error();
      break;
    }
  }
  end_ = source_.finish(*this, reason);
  if (!streaming_) start_stream();
  findings_ = judge_->finish(end_.end_ns, end_.target_exited);
  for (Sink* s : sinks_) s->on_end(*this);
  if (error) return *error;
  return {};
}

}  // namespace goscope::session
