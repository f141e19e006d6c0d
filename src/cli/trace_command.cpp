// `goscope trace`: attach to a Go process (or launch one) and stream its
// goroutine, channel and lock events live, with a summary at the end.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "cli/analysis.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/clock.h"
#include "common/invoking_user.h"
#include "detect/goroutine_state.h"
#include "loader/privileges.h"
#include "loader/target.h"
#include "loader/tracer.h"
#include "output/event_filter.h"
#include "output/event_format.h"
#include "output/trace_summary.h"

namespace goscope::cli {

namespace {

struct TraceCliOptions {
  TargetOptions target;
  std::string duration;
  bool all_ops = false;
  bool scheduler = false;
  bool lock_holders = false;
  bool json = false;
  std::string output;        // events to this file instead of stdout
  std::string summary_json;  // the summary as JSON to this file
  std::string color = "auto";
  int show_frames = 0;
  bool addresses = false;
  bool quiet = false;  // no event stream, only the summary
  output::FilterSpec filter;
  std::vector<std::string> goids;
  uint32_t stack_depth = GS_DEFAULT_FRAMES;
  uint32_t buffer_mb = GS_RINGBUF_DEFAULT_BYTES >> 20;
  FindingsFlags findings;
};

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
  if (o.color != "auto" && o.color != "always" && o.color != "never")
    return fail(make_error("--color must be auto, always or never"));
  output::FilterSpec spec = o.filter;
  for (const auto& g : o.goids) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(g.c_str(), &end, 10);
    if (g.empty() || *end) return fail(make_error("--goid: not a goroutine id: '" + g + "'"));
    spec.goids.push_back(v);
  }
  auto findings_config = resolve(o.findings);
  if (!findings_config) return fail(findings_config.error());
  std::vector<loader::Need> needs = {loader::Need::kBpf, loader::Need::kReadMemory};
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

  FILE* out = stdout;
  std::unique_ptr<FILE, int (*)(FILE*)> out_file(nullptr, &std::fclose);
  if (!o.output.empty()) {
    out_file.reset(std::fopen(o.output.c_str(), "w"));
    if (!out_file) return fail(Error::from_errno("cannot write " + o.output, errno));
    give_to_invoking_user(o.output);
    out = out_file.get();
  }
  // A launched program writes to the same stdout: each event line must then go out in
  // one write(2), or the program's lines land in the middle of ours. A line-buffered
  // stream whose buffer holds any line does exactly that.
  static char line_buffer[1 << 20];
  if (out == stdout && target->launched()) std::setvbuf(out, line_buffer, _IOLBF, sizeof line_buffer);
  const bool color = o.color == "always" || (o.color == "auto" && !o.json && isatty(fileno(out)));
  output::FormatOptions fopts;
  fopts.color = color;
  fopts.show_runtime = o.filter.include_runtime;
  fopts.stack_frames = o.show_frames;
  fopts.addresses = o.addresses;
  output::EventFormatter format(t.binary(), t.stream_info(), fopts);
  detect::StateModel state(format.symbols());
  auto filter = output::EventFilter::make(spec, format.symbols(), &state);
  if (!filter) return fail(filter.error());
  if (t.snapshot())
    state.seed(*t.snapshot(), t.load_bias(), t.stacks());
  else if (!t.snapshot_error().empty())
    std::fprintf(stderr, "goscope: no attach-time snapshot (%s): goroutines blocked before now stay unseen\n",
                 t.snapshot_error().c_str());

  // Deadlocks, leaks and rules: judged live (each deadlock reported once, as soon as it
  // has lasted --deadlock-after) and at the end. Lock holders are known from events only
  // when every acquisition was traced: lock probes on, from the program's start.
  const model::StreamInfo stream = t.stream_info();
  const bool holders_traced = (o.all_ops || o.lock_holders) && target->launched();
  Analysis analysis(state, stream, t.binary(), target->pid(), t.load_bias(), *findings_config,
                    holders_traced);
  const bool color_stderr = o.color == "always" || (o.color == "auto" && isatty(fileno(stderr)));

  install_stop_handlers();
  const int64_t t0 = monotonic_ns();
  uint64_t printed = 0;
  auto sink = [&](const model::Event& e) {
    state.apply(e);
    analysis.apply(e);
    if (o.quiet || !filter->accepts(e)) return;
    printed++;
    const std::string line = o.json ? format.json_text(e, t0) : format.text(e, t0);
    std::fwrite(line.data(), 1, line.size(), out);
    std::fputc('\n', out);
  };
  std::fprintf(stderr, "goscope: tracing PID %d (%s, %s): %zu probes in %.1f ms; Ctrl-C to stop\n",
               target->pid(), target->exe_path().c_str(), t.binary().build_info().go_version.c_str(),
               t.plan().sites.size(), double(t.attach_ns()) / 1e6);
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
      std::fprintf(
          stderr,
          "goscope: WARNING: %" PRIu64
          " events lost (ring buffer full); a larger --buffer-size or fewer probes (no --all-ops) helps\n",
          c.lost_ringbuf - lost_reported);
      lost_reported = c.lost_ringbuf;
    }
  };
  std::string end_reason;
  while (true) {
    if (auto why = stop_reason(*target, t0, duration)) {
      end_reason = *why;
      break;
    }
    if (auto now = running_program(target->pid()); program && now && *now != *program) {
      end_reason = "the target exec'd another program";
      break;
    }
    if (const int64_t now = monotonic_ns(); now >= next_lost_check) {
      report_new_losses();
      next_lost_check += 1000000000;
      auto fresh = analysis.tick(now);
      if (!fresh.empty()) {
        std::fflush(out);
        std::fprintf(stderr, "goscope: found while tracing:\n");
        print_findings(stderr, fresh, color_stderr);
      }
    }
    auto n = t.poll(100, sink);
    if (!n) return fail(n.error());
  }
  (void)t.drain(sink);
  const int64_t end_ns = monotonic_ns();
  std::fflush(out);
  report_new_losses();

  const auto c = t.counters();
  output::TraceCounters counters;
  counters.events_seen = c.events;
  counters.events_printed = printed;
  counters.ringbuf_full = c.lost_ringbuf;
  counters.malformed = c.malformed + c.bad_slots;
  counters.unpaired = c.unpaired;
  counters.goid_unreadable = c.goid_faults;
  counters.field_unreadable = c.data_faults;
  counters.stack_cut = c.stack_faults;
  output::SummaryOptions sopts;
  sopts.start_ns = t0;
  sopts.end_ns = end_ns;
  sopts.show_runtime = o.filter.include_runtime;
  sopts.color = o.color == "always" || (o.color == "auto" && isatty(fileno(stderr)));
  const bool target_exited = !target->alive();
  const auto findings = analysis.finish(end_ns, target_exited);
  std::fprintf(stderr, "goscope: stopped (%s)\n", end_reason.c_str());
  output::write_trace_summary(stderr, state, format, counters, sopts);
  std::fprintf(stderr, "\n");
  print_findings(stderr, findings, color_stderr);
  for (const auto& n : analysis.notes()) std::fprintf(stderr, "note: %s\n", n.c_str());
  if (!findings_config->findings_path.empty())
    if (auto ok = write_findings_file(findings_config->findings_path, findings); !ok) return fail(ok.error());
  if (!o.summary_json.empty()) {
    const std::string text = output::trace_summary_json(state, format, counters, sopts).dump(2) + "\n";
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(o.summary_json.c_str(), "w"), &std::fclose);
    if (!f || std::fwrite(text.data(), 1, text.size(), f.get()) != text.size())
      return fail(Error::from_errno("cannot write " + o.summary_json, errno));
    give_to_invoking_user(o.summary_json);
  }
  return findings_exit_code(findings, *findings_config);
}

}  // namespace

void register_trace_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<TraceCliOptions>();
  CLI::App* sub =
      app.add_subcommand("trace", "Stream goroutine, channel and lock events live, with a summary");
  sub->footer(
      "Examples:\n"
      "  sudo goscope trace -p 1234                      # blocking, wake-ups, goroutines, contention\n"
      "  sudo goscope trace --all-ops -- ./myprog args   # also every channel op and lock\n"
      "  sudo goscope trace -p 1234 -k chan --func 'main.*' -d 30s\n"
      "  sudo goscope trace -p 1234 --json -o events.jsonl --summary-json summary.json\n\n"
      "The default probes cost in proportion to blocking (park, wake-up, lock slow paths,\n"
      "goroutine creation and exit, make/close of channels, stop-the-world). --all-ops adds\n"
      "every channel operation, select and Mutex/RWMutex acquisition: far more costly.\n"
      "With -p, goroutines that blocked before goscope attached come from a snapshot of\n"
      "the process's memory. Lost events are counted and reported, never silent.\n\n"
      "Deadlocks and leaks are judged while tracing: goroutines blocked longer than\n"
      "--deadlock-after are checked against lock holders and a scan of the process's\n"
      "memory (who can still reach the channel / WaitGroup / Cond), and each deadlock is\n"
      "reported once, as soon as it is found. At the end come the findings of the rules\n"
      "(long blocking, contention, scheduling latency, goroutine growth, GC pauses).\n"
      "Exit code 0: nothing at or above --fail-on; 1: findings; 2: could not run.");
  opts->target.add_to(*sub);
  sub->add_option("-d,--duration", opts->duration, "stop after this long (e.g. 10s, 2m)");
  sub->add_flag("--all-ops", opts->all_ops,
                "also every channel operation, select and lock acquisition (costly)");
  sub->add_flag("--sched", opts->scheduler,
                "also every goroutine state change (runtime.casgstatus: very costly)");
  sub->add_flag("--locks", opts->lock_holders, "also inlined Mutex/RWMutex fast paths: lock holders");
  sub->add_flag("--json", opts->json, "one JSON object per event (JSON lines)");
  sub->add_option("-o,--output", opts->output, "write events to this file instead of stdout");
  sub->add_option("--summary-json", opts->summary_json, "also write the summary as JSON to this file");
  sub->add_flag("-q,--quiet", opts->quiet, "no event stream: only the summary at the end");
  sub->add_option("--color", opts->color, "auto (on a terminal), always or never");
  sub->add_option("--frames", opts->show_frames,
                  "stack frames listed under each event (default: only the site)");
  sub->add_flag("--addresses", opts->addresses, "code addresses next to sites and frames");
  sub->add_option("-g,--goid", opts->goids, "only events of these goroutines (also as wakee / parent)")
      ->allow_extra_args(false);
  sub->add_option("--object,--chan", opts->filter.objects,
                  "only events on this channel / mutex address (0x...)")
      ->allow_extra_args(false);
  sub->add_option("--func", opts->filter.functions,
                  "only events with a frame matching this glob, e.g. 'main.*'")
      ->allow_extra_args(false);
  sub->add_option("--pkg", opts->filter.packages, "only events with a frame in this package (path prefix)")
      ->allow_extra_args(false);
  sub->add_option(
         "-k,--kind", opts->filter.kinds,
         "only these event kinds: park, ready, go-create, chan-send, ... or groups sched, chan, sync, gc")
      ->allow_extra_args(false);
  sub->add_flag("--runtime", opts->filter.include_runtime, "also the runtime's own goroutines and frames");
  sub->add_option("--stack-depth", opts->stack_depth, "frames recorded per event (max 64)");
  sub->add_option("--buffer-size", opts->buffer_mb, "BPF ring buffer size in MiB (power of two)");
  opts->findings.add_to(*sub, /*live=*/true);
  sub->callback([opts, &exit_code] { exit_code = run_trace(*opts); });
}

}  // namespace goscope::cli
