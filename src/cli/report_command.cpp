// `goscope report FILE`: what a recorded trace says -- the summary and the
// findings, judged by the same detectors as live -- and `goscope export FILE -o
// OUT`: the trace in a format other tools read (pprof, Perfetto, folded stacks,
// JSON lines, HTML, SARIF). Neither needs the traced binary nor privileges.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <memory>

#include "cli/findings_flags.h"
#include "cli/commands.h"
#include "session/exports.h"
#include "cli/options.h"
#include "session/replay.h"
#include "common/user_files.h"
#include "output/display.h"
#include "output/event_format.h"
#include "output/findings_report.h"
#include "output/trace_summary.h"

namespace goscope::cli {

using session::ExportFormat;
using session::Replay;
using session::ReplayWants;

namespace {

std::string wall_time_text(int64_t unix_ns) {
  if (unix_ns <= 0) return "unknown time";
  const std::time_t t = unix_ns / 1'000'000'000;
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", std::localtime(&t));
  return buf;
}

void print_header(FILE* out, const std::string& path, const Replay& r) {
  const model::TraceMeta& m = r.meta();
  std::fprintf(out, "goscope trace %s: PID %d (%s, %s)\n", path.c_str(), m.pid, m.exe_name.c_str(),
               r.build_info().go_version.c_str());
  std::fprintf(out, "  recorded %s on %s (kernel %s) by goscope %s, probes %s%s%s, %s\n",
               wall_time_text(m.start_unix_ns).c_str(), m.hostname.c_str(), m.kernel.c_str(),
               m.goscope_version.c_str(), m.probe_set.c_str(), m.scheduler ? " +sched" : "",
               m.lock_holders ? " +locks" : "", m.launched ? "program launched by goscope" : "attached");
  std::fprintf(out, "  %" PRIu64 " events over %s; stopped: %s\n", r.events(),
               output::duration_text(r.end().end_ns - m.start_ns).c_str(), r.end().reason.c_str());
}

// A damaged file still gives everything before the damage; the exit code says it was not whole.
int damage_exit(const Replay& r, int code) {
  if (r.damage().empty()) return code;
  std::fprintf(stderr, "goscope: WARNING: %s\n", r.damage().c_str());
  std::fprintf(stderr, "goscope: the output above covers the %" PRIu64 " events before the damage\n", r.events());
  return r.ended_cleanly() ? code : kExitCouldNotRun;
}

// ---------------------------------------------------------------- report

struct ReportCliOptions {
  std::string path;
  bool json = false;
  bool runtime = false;
  std::string color = "auto";
  FindingsFlags findings;
};

int run_report(const ReportCliOptions& o) {
  auto config = resolve(o.findings);
  if (!config) return fail(config.error());
  auto opened = Replay::open(o.path, config->judge(false), {});
  if (!opened) return fail(opened.error());
  Replay& r = **opened;
  if (auto ok = r.run(); !ok) return fail(ok.error());
  const bool color = use_color(o.color, o.json ? nullptr : stdout);
  output::FormatOptions fopts;
  fopts.color = color;
  fopts.show_runtime = o.runtime;
  output::EventFormatter format(r.symbols(), r.stream(), fopts);
  output::SummaryOptions sopts;
  sopts.start_ns = r.meta().start_ns;
  sopts.end_ns = r.end().end_ns;
  sopts.show_runtime = o.runtime;
  sopts.color = color;
  if (o.json) {
    nlohmann::json j;
    j["trace"] = {{"path", output::valid_utf8(o.path)},
                  {"pid", r.meta().pid},
                  {"exe", output::valid_utf8(r.meta().exe_name)},
                  {"go_version", output::valid_utf8(r.build_info().go_version)},
                  {"start_unix_ns", r.meta().start_unix_ns},
                  {"duration_ns", r.end().end_ns - r.meta().start_ns},
                  {"events", r.events()},
                  {"ended_cleanly", r.ended_cleanly()},
                  {"damage", output::valid_utf8(r.damage())}};
    j["summary"] = output::trace_summary_json(r.state(), format, r.end().counters, sopts);
    j["findings"] = output::findings_json(r.findings());
    // Names from the traced binary need not be UTF-8; JSON must be.
    j["notes"] = nlohmann::json::array();
    for (const auto& n : r.notes()) j["notes"].push_back(output::valid_utf8(n));
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    print_header(stdout, o.path, r);
    std::printf("\n");
    output::write_trace_summary(stdout, r.state(), format, r.end().counters, sopts);
    std::printf("\n");
    std::fflush(stdout);
    output::print_findings(stdout, r.findings(), color);
    for (const auto& n : r.notes()) std::printf("note: %s\n", n.c_str());
  }
  std::fflush(stdout);
  if (!config->findings_path.empty())
    if (auto ok = write_findings_file(config->findings_path, r.findings()); !ok) return fail(ok.error());
  return damage_exit(r, findings_exit_code(r.findings(), *config));
}

// ---------------------------------------------------------------- export

struct ExportCliOptions {
  std::string path;
  std::string output;
  std::string format;
  bool runtime = false;
};

int run_export(const ExportCliOptions& o) {
  auto format = o.format.empty() ? session::export_format_for_path(o.output) : session::parse_export_format(o.format);
  if (!format) return fail(format.error());
  if (same_file(o.path, o.output))
    return fail(make_error("the output " + o.output + " is the trace being read: give another file name"));
  FindingsConfig config;
  config.fail_on.reset();
  ReplayWants wants = session::wants_for({*format});
  wants.include_runtime = o.runtime;
  auto opened = Replay::open(o.path, config.judge(false), wants);
  if (!opened) return fail(opened.error());
  Replay& r = **opened;
  std::vector<std::string> written;
  if (*format == ExportFormat::kJsonLines) {
    // Appears under its name only when complete.
    auto out = AtomicUserFile::create(o.output);
    if (!out) return fail(out.error());
    output::EventFormatter fmt(r.symbols(), r.stream(), {});
    const int64_t t0 = r.meta().start_ns;
    bool failed = false;
    auto ran = r.run([&](const model::Event& e) {
      if (failed) return;
      const std::string line = fmt.json_text(e, t0) + "\n";
      failed = std::fwrite(line.data(), 1, line.size(), out->stream()) != line.size();
    });
    if (!ran) return fail(ran.error());
    if (failed) return fail(Error::from_errno("cannot write " + o.output, errno));
    if (auto ok = out->commit(); !ok) return fail(ok.error());
    written.push_back(o.output);
  } else {
    if (auto ok = r.run(); !ok) return fail(ok.error());
    auto files = session::write_export(r, *format, o.output);
    if (!files) return fail(files.error());
    written = *files;
  }
  for (const auto& f : written) std::fprintf(stderr, "goscope: wrote %s\n", f.c_str());
  return damage_exit(r, kExitOk);
}

}  // namespace

void register_report_commands(CLI::App& app, int& exit_code) {
  auto ro = std::make_shared<ReportCliOptions>();
  CLI::App* rep = app.add_subcommand("report", "Summary and findings of a recorded trace");
  rep->footer(
      "Examples:\n"
      "  goscope report incident.gst\n"
      "  goscope report run.gst --fail-on warning --findings findings.sarif   # in CI\n\n"
      "The same detectors as live: mutex deadlocks and the rules are judged again from the\n"
      "events; deadlocks and leaks that needed the process's memory (channels, WaitGroups,\n"
      "Conds) are as the recording judged them. No binary and no privileges are needed.\n"
      "Exit code 0: nothing at or above --fail-on; 1: findings; 2: could not run, or the\n"
      "file is damaged (what was readable is still reported).");
  rep->add_option("file", ro->path, "the trace (from goscope record / capture)")->required();
  rep->add_flag("--json", ro->json, "machine-readable: trace, summary, findings, notes");
  rep->add_flag("--runtime", ro->runtime, "the runtime's own goroutines and frames too");
  add_color_option(*rep, ro->color);
  ro->findings.add_to(*rep, /*live=*/false);
  rep->callback([ro, &exit_code] { exit_code = run_report(*ro); });

  auto eo = std::make_shared<ExportCliOptions>();
  CLI::App* exp = app.add_subcommand("export", "Convert a trace: pprof, Perfetto JSON, folded stacks, JSON lines, HTML");
  exp->footer(
      "Examples:\n"
      "  goscope export run.gst -o report.html\n"
      "  goscope export run.gst -o block.pb.gz && go tool pprof -top block.pb.gz\n"
      "  goscope export run.gst -o timeline.json          # open in ui.perfetto.dev\n"
      "  goscope export run.gst -o blocking.folded        # flamegraph.pl, speedscope\n"
      "  goscope export run.gst -o events.jsonl\n\n"
      "The format comes from the file name (.html, .json = Perfetto, .jsonl, .folded, .sarif,\n"
      "NAME.pb.gz with block / mutex / goroutine / offcpu / cpu in NAME) or from --format:\n  " +
      session::export_format_names());
  exp->add_option("file", eo->path, "the trace (from goscope record / capture)")->required();
  exp->add_option("-o,--output", eo->output, "the file to write")->required();
  exp->add_option("--format", eo->format, "the format, when the file name does not say");
  exp->add_flag("--runtime", eo->runtime, "the runtime's own goroutines too (timeline)");
  exp->callback([eo, &exit_code] { exit_code = run_export(*eo); });
}

}  // namespace goscope::cli
