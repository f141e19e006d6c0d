#include "session/live_source.h"

#include "common/clock.h"
#include "loader/privileges.h"
#include "loader/process_info.h"

namespace goscope::session {

LiveSource::~LiveSource() = default;

Expected<std::unique_ptr<LiveSource>> LiveSource::start(const LiveOptions& options) {
  std::unique_ptr<LiveSource> s(new LiveSource());
  std::vector<loader::Need> needs = {loader::Need::kBpf, loader::Need::kReadMemory};
  GS_CHECK(loader::check_privileges(needs));
  auto target = options.pid ? loader::Target::attach(options.pid) : loader::Target::launch(options.command);
  if (!target) return target.error();
  s->target_.emplace(std::move(*target));

  loader::TraceOptions topts = options.trace;
  topts.sampling_optional = true;  // the events matter more than the CPU profile
  GS_TRY(s->tracer_, loader::Tracer::start(s->target_->pid(), s->target_->exe_path(), s->target_->launched(), topts));
  loader::Tracer& t = *s->tracer_;
  if (!t.sampling_note().empty()) s->warnings_.push_back(t.sampling_note());
  if (!t.snapshot() && !t.snapshot_error().empty())
    s->warnings_.push_back("no attach-time snapshot (" + t.snapshot_error() +
                           "): goroutines blocked before now stay unseen");
  s->stream_ = t.stream_info();
  s->symbols_ = std::make_shared<state::StackSymbolizer>(t.binary(), t.stacks());
  s->process_ = std::make_unique<loader::LiveProcess>(t.binary(), s->target_->pid());
  // Lock holders are known from events only when every acquisition was traced: lock
  // probes on, from the program's start.
  s->holders_traced_ = (topts.plan.set == loader::ProbeSet::kAllOps || topts.plan.lock_holders) &&
                       s->target_->launched();
  return s;
}

int64_t LiveSource::mark_start() {
  start_ns_ = monotonic_ns();
  return start_ns_;
}

Expected<void> LiveSource::begin(Receiver& r) {
  if (start_ns_ == 0) mark_start();
  if (tracer_->snapshot()) r.seed(*tracer_->snapshot(), tracer_->load_bias(), tracer_->stacks());
  if (target_->launched()) GS_CHECK(target_->release());
  program_ = loader::running_program(target_->pid());
  return {};
}

std::optional<std::string> LiveSource::ended() {
  if (!target_->alive()) return target_->launched() ? "target " + target_->describe_exit() : "target exited";
  if (auto now = loader::running_program(target_->pid()); program_ && now && *now != *program_)
    return "the target exec'd another program";
  return std::nullopt;
}

Expected<void> LiveSource::pump(Receiver& r, int timeout_ms) {
  GS_CHECK(tracer_->poll(timeout_ms, [&r](const model::Event& e) { r.event(e); }));
  return {};
}

model::TraceEnd LiveSource::finish(Receiver& r, const std::string& reason) {
  (void)tracer_->drain([&r](const model::Event& e) { r.event(e); });
  model::TraceEnd end;
  end.end_ns = monotonic_ns();
  end.reason = reason;
  end.target_exited = !target_->alive();
  end.counters = counters();
  return end;
}

model::TraceCounters LiveSource::counters() const {
  const auto c = tracer_->counters();
  model::TraceCounters counters;
  counters.events_seen = c.events;
  counters.ringbuf_full = c.lost_ringbuf;
  counters.malformed = c.malformed + c.bad_slots;
  counters.unpaired = c.unpaired;
  counters.goid_unreadable = c.goid_faults;
  counters.field_unreadable = c.data_faults;
  counters.stack_cut = c.stack_faults;
  return counters;
}

}  // namespace goscope::session
