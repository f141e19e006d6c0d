// `goscope trace`: attach to a Go process (or launch one) and stream its
// goroutine, channel and lock events live, with a summary at the end.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/findings_flags.h"
#include "output/findings_report.h"
#include "cli/commands.h"
#include "cli/live_flags.h"
#include "session/console_sinks.h"
#include "cli/options.h"
#include "loader/kernel_features.h"
#include "loader/probe_plan.h"
#include "loader/process_info.h"
#include "loader/target.h"
#include "output/event_filter.h"
#include "output/event_format.h"
#include "output/trace_summary.h"
#include "symbolizer/symbolizer.h"

namespace goscope::cli {

namespace {

struct TraceCliOptions {
  LiveFlags live;
  bool json = false;
  std::string output;        // events to this file instead of stdout
  std::string summary_json;  // the summary as JSON to this file
  std::string color = "auto";
  int show_frames = 0;
  bool addresses = false;
  bool quiet = false;  // no event stream, only the summary
  output::FilterSpec filter;
  std::vector<std::string> goids;
  bool list_probes = false;  // print the probe plan and exit
};

const char* site_kind_name(uint8_t site) {
  switch (site) {
    case GS_SITE_ENTRY: return "entry";
    case GS_SITE_RET: return "ret";
    case GS_SITE_ATOMIC: return "atomic";
  }
  return "?";
}

// `trace --list-probes`: the sites the flags would probe in the target's binary, and
// nothing attached -- for reading what a run will cost, or probing the same
// instructions with another tool -- and how they would be attached on this kernel
// (probed by trying: without root the answer is "not probed"). Needs no privileges
// beyond reading the binary.
int list_probes(const TraceCliOptions& o) {
  const LiveFlags& f = o.live;
  if (auto ok = f.target.validate(); !ok) return fail(ok.error());
  std::string path;     // what is read: the target's own binary
  std::string display;  // what is printed: its path, when that names the same file here
  if (f.target.pid) {
    path = loader::exe_path(f.target.pid);
    auto shown = loader::exe_display_path(f.target.pid);
    if (!shown) return fail(shown.error());
    display = *shown;
  } else {
    auto resolved = loader::resolve_command(f.target.command.at(0));
    if (!resolved) return fail(resolved.error());
    path = display = *resolved;
  }
  auto bin = sym::GoBinary::open(path);
  if (!bin) return fail(bin.error());
  loader::PlanOptions popts;
  popts.set = f.all_ops ? loader::ProbeSet::kAllOps : loader::ProbeSet::kDefault;
  popts.scheduler = f.scheduler;
  popts.lock_holders = f.lock_holders;
  auto plan = loader::make_plan(**bin, popts, f.stack_depth);
  if (!plan) return fail(plan.error());
  const sym::Pclntab& tab = (*bin)->pclntab();
  auto where = [&](const loader::PlannedSite& p) {
    std::string w = p.function;
    if (auto idx = tab.function_named(p.function)) {
      char off[32];
      std::snprintf(off, sizeof off, "+0x%" PRIx64, p.vaddr - tab.function_entry(*idx));
      w += off;
    }
    return w;
  };
  const loader::HookAttachPath attach = loader::hook_attach_path();
  if (o.json) {
    nlohmann::json j;
    j["binary"] = display;
    j["go_version"] = (*bin)->build_info().go_version;
    j["sites"] = nlohmann::json::array();
    for (const auto& p : plan->sites)
      j["sites"].push_back({{"hook", loader::hook_name(p.hook)},
                            {"site", site_kind_name(p.site)},
                            {"function", p.function},
                            {"location", where(p)},
                            {"address", p.vaddr},
                            {"file_offset", p.file_offset}});
    j["absent"] = plan->absent;
    j["skipped"] = plan->skipped;
    j["hook_attach"] = {{"uprobe_multi", attach.uprobe_multi}, {"text", attach.text}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("# %zu probe sites in %s (%s)\n", plan->sites.size(), display.c_str(),
              (*bin)->build_info().go_version.c_str());
  std::printf("# hook attach: %s\n", attach.text.c_str());
  std::printf("%-20s %-7s %-18s %-12s %s\n", "hook", "site", "address", "file offset", "location");
  for (const auto& p : plan->sites)
    std::printf("%-20s %-7s 0x%-16" PRIx64 " 0x%-10" PRIx64 " %s\n", loader::hook_name(p.hook),
                site_kind_name(p.site), p.vaddr, p.file_offset, where(p).c_str());
  for (const auto& a : plan->absent) std::printf("# absent: %s\n", a.c_str());
  for (const auto& k : plan->skipped) std::printf("# skipped: %s\n", k.c_str());
  return 0;
}

int run_trace(const TraceCliOptions& o) {
  if (o.list_probes) return list_probes(o);
  if (o.color != "auto" && o.color != "always" && o.color != "never")
    return fail(make_error("--color must be auto, always or never"));
  output::FilterSpec spec = o.filter;
  for (const auto& g : o.goids) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(g.c_str(), &end, 10);
    if (g.empty() || *end) return fail(make_error("--goid: not a goroutine id: '" + g + "'"));
    spec.goids.push_back(v);
  }
  auto config = o.live.resolve();
  if (!config) return fail(config.error());
  auto source = start_live(*config);
  if (!source) return fail(source.error());
  session::LiveSource& live = **source;
  session::Session s(live, config->findings.judge(live.holders_traced()));

  FILE* out = stdout;
  FilePtr out_file(nullptr, &std::fclose);
  if (!o.output.empty()) {
    auto created = create_user_file(o.output);
    if (!created) return fail(created.error());
    out_file = std::move(*created);
    out = out_file.get();
  }
  // A launched program writes to the same stdout: each event line must then go out in
  // one write(2), or the program's lines land in the middle of ours. A line-buffered
  // stream whose buffer holds any line does exactly that.
  static char line_buffer[1 << 20];
  if (out == stdout && live.target().launched()) std::setvbuf(out, line_buffer, _IOLBF, sizeof line_buffer);
  const bool color = use_color(o.color, o.json ? nullptr : out);
  output::FormatOptions fopts;
  fopts.color = color;
  fopts.show_runtime = o.filter.include_runtime;
  fopts.stack_frames = o.show_frames;
  fopts.addresses = o.addresses;
  output::EventFormatter format(s.symbols(), s.stream(), fopts);
  auto filter = output::EventFilter::make(spec, format.symbols(), &s.state());
  if (!filter) return fail(filter.error());
  const bool color_stderr = use_color(o.color, stderr);

  // Events as lines; deadlocks and leaks as soon as they are found (each once, when it
  // has lasted --deadlock-after); lost events as they happen.
  session::LossWarnings losses(stderr);
  session::EventLines lines(out, o.output.empty() ? "the event stream (standard output)" : o.output, format,
                            *filter, o.json, o.quiet);
  session::FindingsAsFound found(stderr, "tracing", color_stderr);
  s.add_sink(losses);
  s.add_sink(lines);
  s.add_sink(found);
  announce("tracing", live, config->cpu_hz);
  if (auto ok = s.run(config->run); !ok) return fail(ok.error());

  model::TraceCounters counters = s.end().counters;
  counters.events_printed = lines.printed();
  output::SummaryOptions sopts;
  sopts.start_ns = s.start_ns();
  sopts.end_ns = s.end().end_ns;
  sopts.show_runtime = o.filter.include_runtime;
  sopts.color = color_stderr;
  const auto& findings = s.findings();
  std::fprintf(stderr, "goscope: stopped (%s)\n", s.end().reason.c_str());
  output::write_trace_summary(stderr, s.state(), format, counters, sopts);
  std::fprintf(stderr, "\n");
  output::print_findings(stderr, findings, color_stderr);
  for (const auto& n : s.notes()) std::fprintf(stderr, "note: %s\n", n.c_str());
  const FindingsConfig& fc = config->findings;
  if (!fc.findings_path.empty())
    if (auto ok = write_findings_file(fc.findings_path, findings); !ok) return fail(ok.error());
  if (!o.summary_json.empty()) {
    const std::string text = output::trace_summary_json(s.state(), format, counters, sopts).dump(2) + "\n";
    if (auto ok = write_text_file(o.summary_json, text); !ok) return fail(ok.error());
  }
  if (!lines.error().empty()) {
    std::fprintf(stderr, "goscope: %s: tracing stopped and the probes were detached\n", lines.error().c_str());
    return kExitCouldNotRun;
  }
  return findings_exit_code(findings, fc);
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
  opts->live.add_to(*sub);
  sub->add_flag("--json", opts->json, "one JSON object per event (JSON lines)");
  sub->add_option("-o,--output", opts->output, "write events to this file instead of stdout");
  sub->add_option("--summary-json", opts->summary_json, "also write the summary as JSON to this file");
  sub->add_flag("-q,--quiet", opts->quiet, "no event stream: only the summary at the end");
  add_color_option(*sub, opts->color);
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
  sub->add_flag("--list-probes", opts->list_probes,
                "print the probe sites these flags would attach (hook, instruction address, file\n"
                "offset, function+offset; --json for JSON) and exit without attaching");
  sub->callback([opts, &exit_code] { exit_code = run_trace(*opts); });
}

}  // namespace goscope::cli
