#include "cli/live_session.h"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cinttypes>
#include <cstdio>

#include "common/clock.h"
#include "loader/privileges.h"

namespace goscope::cli {

namespace {

// Identity of the program a process runs: after an exec, the probes (attached to
// the old file) never fire again, so tracing must stop and say so.
std::optional<std::pair<dev_t, ino_t>> running_program(pid_t pid) {
  struct stat st;
  if (stat(("/proc/" + std::to_string(pid) + "/exe").c_str(), &st) != 0) return std::nullopt;
  return std::make_pair(st.st_dev, st.st_ino);
}

}  // namespace

void LiveFlags::add_to(CLI::App& sub, const std::string& default_duration) {
  duration = default_duration;
  target.add_to(sub);
  sub.add_option("-d,--duration", duration,
                 default_duration.empty() ? "stop after this long (e.g. 10s, 2m)"
                                          : "stop after this long (default " + default_duration + ")");
  sub.add_flag("--all-ops", all_ops, "also every channel operation, select and lock acquisition (costly)");
  sub.add_flag("--sched", scheduler, "also every goroutine state change (runtime.casgstatus: very costly)");
  sub.add_flag("--locks", lock_holders, "also inlined Mutex/RWMutex fast paths: lock holders");
  sub.add_option("--stack-depth", stack_depth, "frames recorded per event (max 64)");
  sub.add_option("--buffer-size", buffer_mb, "BPF ring buffer size in MiB (power of two)");
  findings.add_to(sub, /*live=*/true);
}

void LiveFlags::add_sampling_option(CLI::App& sub, uint32_t default_hz) {
  cpu_hz = default_hz;
  sub.add_option("-F,--frequency", cpu_hz,
                 "CPU samples per second and CPU, for the CPU profile (default " + std::to_string(default_hz) +
                     "; 0: none)");
}

LiveSession::~LiveSession() = default;

Expected<std::unique_ptr<LiveSession>> LiveSession::start(const LiveFlags& flags) {
  std::unique_ptr<LiveSession> s(new LiveSession());
  s->flags_ = flags;
  if (auto ok = flags.target.validate(); !ok) return ok.error();
  if (!flags.duration.empty()) {
    auto d = parse_duration(flags.duration);
    if (!d) return d.error();
    s->duration_ = *d;
  }
  if (flags.buffer_mb == 0 || (flags.buffer_mb & (flags.buffer_mb - 1)) != 0 || flags.buffer_mb > 1024)
    return make_error("--buffer-size must be a power of two between 1 and 1024 (MiB)");
  if (flags.cpu_hz > 10000) return make_error("-F must be at most 10000 (samples per second per CPU)");
  if (flags.stack_depth < 2 || flags.stack_depth > GS_MAX_FRAMES)
    return make_error("--stack-depth must be between 2 and " + std::to_string(GS_MAX_FRAMES));
  auto config = resolve(flags.findings);
  if (!config) return config.error();
  s->config_ = *config;
  std::vector<loader::Need> needs = {loader::Need::kBpf, loader::Need::kReadMemory};
  if (auto ok = loader::check_privileges(needs); !ok) return ok.error();

  auto target = flags.target.pid ? loader::Target::attach(flags.target.pid)
                                 : loader::Target::launch(flags.target.command);
  if (!target) return target.error();
  s->target_.emplace(std::move(*target));

  loader::TraceOptions topts;
  topts.plan.set = flags.all_ops ? loader::ProbeSet::kAllOps : loader::ProbeSet::kDefault;
  topts.plan.scheduler = flags.scheduler;
  topts.plan.lock_holders = flags.lock_holders;
  topts.stack_depth = flags.stack_depth;
  topts.ringbuf_bytes = flags.buffer_mb << 20;
  topts.cpu_sample_hz = flags.cpu_hz;
  topts.sampling_optional = true;  // the events matter more than the CPU profile
  auto tracer =
      loader::Tracer::start(s->target_->pid(), s->target_->exe_path(), s->target_->launched(), topts);
  if (!tracer) return tracer.error();
  s->tracer_ = std::move(*tracer);
  loader::Tracer& t = *s->tracer_;

  if (!t.sampling_note().empty()) std::fprintf(stderr, "goscope: %s\n", t.sampling_note().c_str());
  s->stream_ = t.stream_info();
  s->symbols_ = std::make_shared<detect::StackSymbolizer>(t.binary(), t.stacks());
  s->state_ = std::make_unique<detect::StateModel>(s->symbols_);
  if (t.snapshot())
    s->state_->seed(*t.snapshot(), t.load_bias(), t.stacks());
  else if (!t.snapshot_error().empty())
    std::fprintf(stderr, "goscope: no attach-time snapshot (%s): goroutines blocked before now stay unseen\n",
                 t.snapshot_error().c_str());
  // Lock holders are known from events only when every acquisition was traced: lock
  // probes on, from the program's start.
  s->holders_traced_ = (flags.all_ops || flags.lock_holders) && s->target_->launched();
  s->process_ = std::make_unique<loader::LiveProcess>(t.binary(), s->target_->pid());
  s->judge_ = std::make_unique<detect::Judge>(*s->state_, s->stream_, s->process_.get(),
                                              s->config_.judge(s->holders_traced_));
  return s;
}

int64_t LiveSession::mark_start() {
  start_ns_ = monotonic_ns();
  return start_ns_;
}

void LiveSession::announce(const char* verb) const {
  std::string sampling;
  if (flags_.cpu_hz)
    sampling = ", CPU sampling at " + std::to_string(flags_.cpu_hz) + " Hz (" +
               std::string(tracer_->sample_event()) + ")";
  std::fprintf(stderr, "goscope: %s PID %d (%s, %s): %zu probes%s in %.1f ms; Ctrl-C to stop\n", verb,
               target_->pid(), target_->exe_path().c_str(), tracer_->binary().build_info().go_version.c_str(),
               tracer_->plan().sites.size(), sampling.c_str(), double(tracer_->attach_ns()) / 1e6);
}

void LiveSession::report_new_losses() {
  const auto c = tracer_->counters();
  if (c.lost_ringbuf > lost_reported_) {
    std::fprintf(stderr,
                 "goscope: WARNING: %" PRIu64
                 " events lost (ring buffer full); a larger --buffer-size or fewer probes (no --all-ops) helps\n",
                 c.lost_ringbuf - lost_reported_);
    lost_reported_ = c.lost_ringbuf;
  }
}

Expected<void> LiveSession::run(
    const std::function<void(const model::Event&)>& on_event,
    const std::function<void(int64_t now_ns, std::vector<detect::Finding>& fresh)>& on_second) {
  install_stop_handlers();
  if (start_ns_ == 0) mark_start();
  auto sink = [&](const model::Event& e) {
    // CPU samples are for the CPU profile only (see StateModel::apply).
    if (e.kind == model::EventKind::kCpuSample) return on_event(e);
    state_->apply(e);
    judge_->apply(e);
    on_event(e);
  };
  if (target_->launched()) {
    if (auto ok = target_->release(); !ok) return ok.error();
  }
  const auto program = running_program(target_->pid());
  int64_t next_second = start_ns_ + 1'000'000'000;
  while (true) {
    if (!stop_reason_.empty()) {
      end_reason_ = stop_reason_;
      break;
    }
    if (auto why = stop_reason(*target_, start_ns_, duration_)) {
      end_reason_ = *why;
      break;
    }
    if (auto now = running_program(target_->pid()); program && now && *now != *program) {
      end_reason_ = "the target exec'd another program";
      break;
    }
    if (const int64_t now = monotonic_ns(); now >= next_second) {
      // Lost events are reported as they happen, not only at the end.
      report_new_losses();
      next_second += 1'000'000'000;
      auto fresh = judge_->tick(now);
      on_second(now, fresh);
    }
    auto n = tracer_->poll(100, sink);
    if (!n) return n.error();
  }
  (void)tracer_->drain(sink);
  end_ns_ = monotonic_ns();
  report_new_losses();
  return {};
}

output::TraceCounters LiveSession::counters() const {
  const auto c = tracer_->counters();
  output::TraceCounters counters;
  counters.events_seen = c.events;
  counters.ringbuf_full = c.lost_ringbuf;
  counters.malformed = c.malformed + c.bad_slots;
  counters.unpaired = c.unpaired;
  counters.goid_unreadable = c.goid_faults;
  counters.field_unreadable = c.data_faults;
  counters.stack_cut = c.stack_faults;
  return counters;
}

}  // namespace goscope::cli
