#include "cli/live_flags.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/duration.h"

namespace goscope::cli {

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

Expected<LiveConfig> LiveFlags::resolve() const {
  LiveConfig c;
  GS_CHECK(target.validate());
  if (!duration.empty()) {
    GS_TRY(auto d, parse_duration(duration));
    c.run.duration_ns = d.count();
  }
  if (buffer_mb == 0 || (buffer_mb & (buffer_mb - 1)) != 0 || buffer_mb > 1024)
    return make_error("--buffer-size must be a power of two between 1 and 1024 (MiB)");
  if (cpu_hz > 10000) return make_error("-F must be at most 10000 (samples per second per CPU)");
  if (stack_depth < 2 || stack_depth > GS_MAX_FRAMES)
    return make_error("--stack-depth must be between 2 and " + std::to_string(GS_MAX_FRAMES));
  GS_TRY(c.findings, cli::resolve(findings));
  c.source.pid = target.pid;
  c.source.command = target.command;
  loader::TraceOptions& t = c.source.trace;
  t.plan.set = all_ops ? loader::ProbeSet::kAllOps : loader::ProbeSet::kDefault;
  t.plan.scheduler = scheduler;
  t.plan.lock_holders = lock_holders;
  t.stack_depth = stack_depth;
  t.ringbuf_bytes = buffer_mb << 20;
  t.cpu_sample_hz = cpu_hz;
  c.run.interrupt = &g_stop_requested;
  c.cpu_hz = cpu_hz;
  return c;
}

Expected<std::unique_ptr<session::LiveSource>> start_live(const LiveConfig& config) {
  GS_TRY(auto source, session::LiveSource::start(config.source));
  for (const auto& w : source->warnings()) std::fprintf(stderr, "goscope: %s\n", w.c_str());
  install_stop_handlers();
  return source;
}

void announce(const char* verb, const session::LiveSource& s, uint32_t cpu_hz) {
  std::string sampling;
  if (cpu_hz)
    sampling = ", CPU sampling at " + std::to_string(cpu_hz) + " Hz (" + std::string(s.tracer().sample_event()) + ")";
  std::fprintf(stderr, "goscope: %s PID %d (%s, %s): %zu probes%s in %.1f ms; Ctrl-C to stop\n", verb,
               s.target().pid(), s.target().exe_path().c_str(), s.tracer().binary().build_info().go_version.c_str(),
               s.tracer().plan().sites.size(), sampling.c_str(), double(s.tracer().attach_ns()) / 1e6);
}

}  // namespace goscope::cli
