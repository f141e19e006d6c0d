// `goscope trace`: attach to a Go process (or launch one) and stream its
// goroutine, channel and lock events live, with a summary at the end.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/options.h"
#include "loader/privileges.h"
#include "loader/target.h"
#include "loader/tracer.h"

namespace goscope::cli {

namespace {

struct TraceCliOptions {
  TargetOptions target;
  std::string duration;
  bool all_ops = false;
  bool scheduler = false;
  bool lock_holders = false;
  bool json = false;
  uint32_t stack_depth = GS_DEFAULT_FRAMES;
  uint32_t buffer_mb = GS_RINGBUF_DEFAULT_BYTES >> 20;
};

int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Identity of the program a process runs: after an exec, the probes (attached to
// the old file) never fire again, so tracing must stop and say so.
std::optional<std::pair<dev_t, ino_t>> running_program(pid_t pid) {
  struct stat st;
  if (stat(("/proc/" + std::to_string(pid) + "/exe").c_str(), &st) != 0) return std::nullopt;
  return std::make_pair(st.st_dev, st.st_ino);
}

int run_trace(const TraceCliOptions& o) {
  if (auto ok = o.target.validate(); !ok) return fail(ok.error());
  std::optional<std::chrono::nanoseconds> duration;
  if (!o.duration.empty()) {
    auto d = parse_duration(o.duration);
    if (!d) return fail(d.error());
    duration = *d;
  }
  if (o.buffer_mb == 0 || (o.buffer_mb & (o.buffer_mb - 1)) != 0 || o.buffer_mb > 1024)
    return fail(make_error("--buffer-size must be a power of two between 1 and 1024 (MiB)"));
  if (o.stack_depth < 2 || o.stack_depth > GS_MAX_FRAMES)
    return fail(make_error("--stack-depth must be between 2 and " + std::to_string(GS_MAX_FRAMES)));
  std::vector<loader::Need> needs = {loader::Need::kBpf};
  if (o.target.pid) needs.push_back(loader::Need::kReadMemory);
  if (auto ok = loader::check_privileges(needs); !ok) return fail(ok.error());

  auto target =
      o.target.pid ? loader::Target::attach(o.target.pid) : loader::Target::launch(o.target.command);
  if (!target) return fail(target.error());

  loader::TraceOptions topts;
  topts.plan.set = o.all_ops ? loader::ProbeSet::kAllOps : loader::ProbeSet::kDefault;
  topts.plan.scheduler = o.scheduler;
  topts.plan.lock_holders = o.lock_holders;
  topts.stack_depth = o.stack_depth;
  topts.ringbuf_bytes = o.buffer_mb << 20;
  auto tracer = loader::Tracer::start(target->pid(), target->exe_path(), target->launched(), topts);
  if (!tracer) return fail(tracer.error());
  auto& t = **tracer;

  install_stop_handlers();
  const int64_t t0 = monotonic_ns();
  auto sink = [&](const model::Event& e) {
    std::printf("%.6f g%" PRIu64 " %s other=%" PRIu64 " obj=0x%" PRIx64 " reason=%u value=%" PRId64
                " flags=0x%x nobj=%zu stack=%u\n",
                double(e.time_ns - t0) / 1e9, e.goid, model::event_kind_name(e.kind), e.other_goid, e.object,
                e.wait_reason, e.value, e.flags, e.objects.size(), e.stack);
  };
  std::fprintf(stderr, "goscope: tracing PID %d (%s, %s): %zu probes in %.1f ms; Ctrl-C to stop\n", target->pid(),
               target->exe_path().c_str(), t.binary().build_info().go_version.c_str(), t.plan().sites.size(),
               double(t.attach_ns()) / 1e6);
  if (target->launched()) {
    if (auto ok = target->release(); !ok) return fail(ok.error());
  }
  const auto program = running_program(target->pid());
  // Lost events are reported as they happen, not only at the end.
  uint64_t lost_reported = 0;
  int64_t next_lost_check = t0 + 1000000000;
  auto report_new_losses = [&] {
    const auto c = t.counters();
    if (c.lost_ringbuf > lost_reported) {
      std::fprintf(stderr,
                   "goscope: WARNING: %" PRIu64
                   " events lost (ring buffer full); a larger --buffer-size or fewer probes (no --all-ops) helps\n",
                   c.lost_ringbuf - lost_reported);
      lost_reported = c.lost_ringbuf;
    }
  };
  std::string end_reason = "interrupted";
  while (true) {
    if (g_stop_requested.load()) break;
    if (duration && monotonic_ns() - t0 >= duration->count()) {
      end_reason = "duration elapsed";
      break;
    }
    if (!target->alive()) {
      end_reason = target->launched() ? "target " + target->describe_exit() : "target exited";
      break;
    }
    if (auto now = running_program(target->pid()); program && now && *now != *program) {
      end_reason = "the target exec'd another program";
      break;
    }
    if (monotonic_ns() >= next_lost_check) {
      report_new_losses();
      next_lost_check += 1000000000;
    }
    auto n = t.poll(100, sink);
    if (!n) return fail(n.error());
  }
  (void)t.drain(sink);
  const auto c = t.counters();
  std::fprintf(stderr, "goscope: stopped (%s): %" PRIu64 " events, %" PRIu64 " lost\n", end_reason.c_str(), c.events,
               c.lost_ringbuf);
  return kExitOk;
}

}  // namespace

void register_trace_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<TraceCliOptions>();
  CLI::App* sub = app.add_subcommand("trace", "Stream goroutine, channel and lock events live, with a summary");
  opts->target.add_to(*sub);
  sub->add_option("-d,--duration", opts->duration, "stop after this long (e.g. 10s, 2m)");
  sub->add_flag("--all-ops", opts->all_ops, "also every channel operation, select and lock acquisition (costly)");
  sub->add_flag("--sched", opts->scheduler, "also every goroutine state change (runtime.casgstatus: very costly)");
  sub->add_flag("--locks", opts->lock_holders, "also inlined Mutex/RWMutex fast paths: lock holders");
  sub->add_flag("--json", opts->json, "one JSON object per event (JSON lines)");
  sub->add_option("--stack-depth", opts->stack_depth, "frames recorded per event (max 64)");
  sub->add_option("--buffer-size", opts->buffer_mb, "BPF ring buffer size in MiB (power of two)");
  sub->callback([opts, &exit_code] { exit_code = run_trace(*opts); });
}

}  // namespace goscope::cli
