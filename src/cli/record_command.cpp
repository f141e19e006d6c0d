// `goscope record`: a live session whose events go to a trace file instead of
// the terminal; and `goscope capture`: record for a while, then write the trace,
// the findings, every profile, the Perfetto timeline and the HTML report into
// one folder, in one command an on-call engineer can run under sudo.
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <set>

#include "cli/findings_flags.h"
#include "output/findings_report.h"
#include "cli/commands.h"
#include "session/exports.h"
#include "cli/live_flags.h"
#include "session/console_sinks.h"
#include "session/trace_file_sink.h"
#include "cli/options.h"
#include "session/replay.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/user_files.h"
#include "loader/process_info.h"
#include "output/display.h"
#include "tracefile/trace_file.h"

#ifndef GOSCOPE_VERSION
#define GOSCOPE_VERSION "0.0.0"
#endif

namespace goscope::cli {

using session::ExportFormat;
using session::write_export;

namespace {

model::TraceMeta meta_of(session::LiveSource& s, const LiveFlags& flags) {
  model::TraceMeta m;
  m.goscope_version = GOSCOPE_VERSION;
  m.pid = s.target().pid();
  // A launched child is still held before its exec: its /proc/PID/exe is goscope.
  m.exe_name = s.target().exe_path();
  if (auto link = loader::exe_link(m.pid); !s.target().launched() && link && !link->empty())
    m.exe_name = *link;
  m.command = flags.target.command;
  m.launched = s.target().launched();
  m.build_id = s.tracer().binary().elf().build_id();
  m.probe_set = flags.all_ops ? "all-ops" : "default";
  m.scheduler = flags.scheduler;
  m.lock_holders = flags.lock_holders;
  m.holders_traced = s.holders_traced();
  m.stack_depth = flags.stack_depth;
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  m.start_ns = s.mark_start();
  m.start_unix_ns = int64_t(wall.tv_sec) * 1'000'000'000 + wall.tv_nsec;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  m.hostname = host;
  struct utsname u;
  if (uname(&u) == 0) m.kernel = u.release;
  return m;
}

struct Recorded {
  std::vector<detect::Finding> findings;
  std::vector<std::string> notes;
  model::TraceEnd end;
  uint64_t events = 0;
  uint64_t bytes = 0;
};

// Runs a session on the live source into a trace file. Deadlock and leak verdicts
// (they needed the process's memory) go into the file as they are reached, so a
// replay has them.
Expected<Recorded> record_to(session::LiveSource& live, const LiveConfig& config, const LiveFlags& flags,
                             const std::string& path, bool color) {
  const model::TraceMeta meta = meta_of(live, flags);
  GS_TRY(auto writer, tracefile::TraceWriter::create(path, meta, live.symbols()->code_ptr(), live.tracer().stacks()));
  session::Session s(live, config.findings.judge(live.holders_traced()));
  session::LossWarnings losses(stderr);
  session::TraceFileSink file(*writer);
  session::FindingsAsFound found(stderr, "recording", color);
  s.add_sink(losses);
  s.add_sink(file);
  s.add_sink(found);
  announce("recording", live, config.cpu_hz);
  auto ran = s.run(config.run);
  if (!ran) return ran.error();
  if (file.error()) return make_error("writing " + path + " failed: " + file.error()->message);
  Recorded r;
  r.findings = s.findings();
  r.notes = s.notes();
  r.end = s.end();
  r.events = writer->events_written();
  r.bytes = writer->bytes_written();
  return r;
}

void print_recorded(const std::string& path, const Recorded& r, const session::LiveSource& s) {
  const double secs = double(r.end.end_ns - s.start_ns()) / 1e9;
  std::fprintf(stderr, "goscope: stopped (%s)\n", r.end.reason.c_str());
  std::fprintf(stderr, "goscope: %" PRIu64 " events in %.1f s to %s: %s, %.1f bytes per event", r.events, secs,
               path.c_str(), output::size_text(r.bytes).c_str(), r.events ? double(r.bytes) / double(r.events) : 0.0);
  if (r.end.counters.lost()) std::fprintf(stderr, "; %" PRIu64 " lost", r.end.counters.lost());
  std::fprintf(stderr, "\n");
}

// ---------------------------------------------------------------- record

struct RecordCliOptions {
  LiveFlags live;
  std::string output = "goscope.gst";
  std::string color = "auto";
};

int run_record(const RecordCliOptions& o) {
  auto config = o.live.resolve();
  if (!config) return fail(config.error());
  auto source = start_live(*config);
  if (!source) return fail(source.error());
  session::LiveSource& live = **source;
  const bool color = use_color(o.color, stderr);
  auto r = record_to(live, *config, o.live, o.output, color);
  if (!r) return fail(r.error());
  print_recorded(o.output, *r, live);
  output::print_findings(stderr, r->findings, color);
  for (const auto& n : r->notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  std::fprintf(stderr, "goscope: see it with: goscope report %s  (or goscope export %s -o report.html)\n",
               o.output.c_str(), o.output.c_str());
  const FindingsConfig& fc = config->findings;
  if (!fc.findings_path.empty())
    if (auto ok = write_findings_file(fc.findings_path, r->findings); !ok) return fail(ok.error());
  return findings_exit_code(r->findings, fc);
}

// ---------------------------------------------------------------- capture

struct CaptureCliOptions {
  LiveFlags live;
  std::string dir;
  std::string color = "auto";
};

std::string default_capture_dir(pid_t pid) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "goscope-capture-" + std::to_string(pid) + "-" + stamp;
}

int run_capture(const CaptureCliOptions& o) {
  auto config = o.live.resolve();
  if (!config) return fail(config.error());
  auto source = start_live(*config);
  if (!source) return fail(source.error());
  session::LiveSource& s = **source;
  const std::string dir = o.dir.empty() ? default_capture_dir(s.target().pid()) : o.dir;
  if (auto ok = make_user_dir(dir); !ok) return fail(ok.error());
  const bool color = use_color(o.color, stderr);
  const std::string trace_path = dir + "/trace.gst";
  auto r = record_to(s, *config, o.live, trace_path, color);
  if (!r) return fail(r.error());
  print_recorded(trace_path, *r, s);

  // Everything else comes from the trace file, read back: the files agree with it, and
  // the trace is known to be readable before anyone needs it.
  std::vector<std::pair<ExportFormat, std::string>> outputs = {
      {ExportFormat::kHtml, "report.html"},          {ExportFormat::kFindingsText, "findings.txt"},
      {ExportFormat::kFindingsJson, "findings.json"}, {ExportFormat::kSarif, "findings.sarif"},
      {ExportFormat::kBlockProfile, "block.pb.gz"},  {ExportFormat::kMutexProfile, "mutex.pb.gz"},
      {ExportFormat::kGoroutineProfile, "goroutine.pb.gz"}, {ExportFormat::kOffCpuProfile, "offcpu.pb.gz"},
      {ExportFormat::kFolded, "block.folded"},       {ExportFormat::kFoldedOffCpu, "offcpu.folded"},
      {ExportFormat::kPerfetto, "timeline.json"},
  };
  if (o.live.cpu_hz) {
    outputs.emplace_back(ExportFormat::kCpuProfile, "cpu.pb.gz");
    outputs.emplace_back(ExportFormat::kFoldedCpu, "cpu.folded");
  }
  std::vector<ExportFormat> formats;
  for (const auto& [f, name] : outputs) formats.push_back(f);
  auto replay = session::Replay::open(trace_path, config->findings.judge(false), session::wants_for(formats));
  if (!replay) return fail(replay.error());
  if (auto ok = (*replay)->run(); !ok) return fail(ok.error());
  if (!(*replay)->damage().empty())
    std::fprintf(stderr, "goscope: WARNING: %s\n", (*replay)->damage().c_str());
  std::vector<std::string> written{trace_path};
  size_t failed = 0;
  for (const auto& [format, name] : outputs) {
    const bool cpu = format == ExportFormat::kCpuProfile || format == ExportFormat::kFoldedCpu;
    if (cpu && (!(*replay)->cpu_profile() || (*replay)->cpu_profile()->samples() == 0)) {
      // An idle or hung program never ran on a CPU while sampled: nothing to profile.
      if (format == ExportFormat::kCpuProfile)
        std::fprintf(stderr, "goscope: no CPU samples (the program did not run on a CPU): no cpu.pb.gz\n");
      continue;
    }
    auto files = write_export(**replay, format, dir + "/" + name);
    if (!files) {
      std::fprintf(stderr, "goscope: %s\n", files.error().message.c_str());
      failed++;
      continue;
    }
    written.insert(written.end(), files->begin(), files->end());
  }
  const auto& findings = (*replay)->findings();
  output::print_findings(stderr, findings, color);
  const FindingsConfig& fc = config->findings;
  if (!fc.findings_path.empty())
    if (auto ok = write_findings_file(fc.findings_path, r->findings); !ok) return fail(ok.error());
  std::printf("goscope capture of PID %d (%s) in %s:\n", s.target().pid(), s.target().exe_path().c_str(),
              dir.c_str());
  for (const auto& f : written) {
    struct stat st;
    const uint64_t size = stat(f.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
    std::printf("  %-40s %10s\n", f.c_str(), output::size_text(size).c_str());
  }
  std::printf("Open %s/report.html in a browser; timeline.json in ui.perfetto.dev; "
              "go tool pprof -http=: %s/block.pb.gz\n",
              dir.c_str(), dir.c_str());
  const bool all_written = failed == 0;
  if (!all_written) return kExitCouldNotRun;
  return findings_exit_code(findings, fc);
}

}  // namespace

void register_record_commands(CLI::App& app, int& exit_code) {
  auto ro = std::make_shared<RecordCliOptions>();
  CLI::App* rec = app.add_subcommand("record", "Write a trace file (for report, export, or another machine)");
  rec->footer(
      "Examples:\n"
      "  sudo goscope record -p 1234 -d 60s -o incident.gst\n"
      "  sudo goscope record --all-ops -o run.gst -- ./myprog args\n"
      "  goscope report incident.gst; goscope export incident.gst -o report.html\n\n"
      "The trace holds every event, the goroutines at attach, the symbols and build info of\n"
      "the program (it opens without the binary) and the deadlock verdicts reached while\n"
      "recording. It is written in blocks with checksums, flushed every second: a killed\n"
      "recorder loses at most the last second.\n"
      "Exit code 0: nothing at or above --fail-on; 1: findings; 2: could not run.");
  ro->live.add_to(*rec);
  ro->live.add_sampling_option(*rec, 99);
  rec->add_option("-o,--output", ro->output, "the trace file to write (default goscope.gst)");
  add_color_option(*rec, ro->color);
  rec->callback([ro, &exit_code] { exit_code = run_record(*ro); });

  auto co = std::make_shared<CaptureCliOptions>();
  CLI::App* cap = app.add_subcommand(
      "capture", "Record for a while, then write trace, findings, pprof, Perfetto and HTML into a folder");
  cap->footer(
      "Examples:\n"
      "  sudo goscope capture -p 1234 -d 60s -o incident/\n"
      "  sudo goscope capture -o run/ -- ./myprog args\n\n"
      "Writes into the folder (owned by you, not root, under sudo): trace.gst, report.html,\n"
      "findings.txt/.json/.sarif, block/mutex/goroutine/offcpu/cpu .pb.gz (go tool pprof),\n"
      "block.folded, offcpu.folded and cpu.folded (flamegraph.pl, speedscope), timeline.json\n"
      "(ui.perfetto.dev). Exit code 0: nothing at or above --fail-on; 1: findings; 2: could not run.");
  co->live.add_to(*cap, "30s");
  co->live.add_sampling_option(*cap, 99);
  cap->add_option("-o,--output", co->dir, "the folder to write (default goscope-capture-PID-TIME)");
  add_color_option(*cap, co->color);
  cap->callback([co, &exit_code] { exit_code = run_capture(*co); });
}

}  // namespace goscope::cli
