#include "session/exports.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>

#include "output/event_format.h"
#include "output/findings_report.h"
#include "output/html_report.h"
#include "output/perfetto.h"

#ifndef GOSCOPE_VERSION
#define GOSCOPE_VERSION "0.0.0"
#endif

namespace goscope::session {

namespace {

struct FormatName {
  const char* name;
  ExportFormat format;
};
constexpr FormatName kFormats[] = {
    {"block", ExportFormat::kBlockProfile},
    {"mutex", ExportFormat::kMutexProfile},
    {"goroutine", ExportFormat::kGoroutineProfile},
    {"offcpu", ExportFormat::kOffCpuProfile},
    {"cpu", ExportFormat::kCpuProfile},
    {"perfetto", ExportFormat::kPerfetto},
    {"jsonl", ExportFormat::kJsonLines},
    {"folded", ExportFormat::kFolded},
    {"folded-offcpu", ExportFormat::kFoldedOffCpu},
    {"folded-cpu", ExportFormat::kFoldedCpu},
    {"html", ExportFormat::kHtml},
    {"sarif", ExportFormat::kSarif},
    {"findings-json", ExportFormat::kFindingsJson},
    {"findings", ExportFormat::kFindingsText},
};

bool ends_with(const std::string& s, const char* suffix) {
  return s.ends_with(suffix);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string export_format_names() {
  std::string out;
  for (const auto& f : kFormats) out += std::string(out.empty() ? "" : ", ") + f.name;
  return out;
}

Expected<ExportFormat> parse_export_format(const std::string& name) {
  for (const auto& f : kFormats)
    if (name == f.name) return f.format;
  if (name == "chrome" || name == "json") return ExportFormat::kPerfetto;
  return make_error("unknown format '" + name + "'; known: " + export_format_names());
}

Expected<ExportFormat> export_format_for_path(const std::string& path) {
  const std::string p = lower(path);
  const std::string base = p.substr(p.rfind('/') == std::string::npos ? 0 : p.rfind('/') + 1);
  if (ends_with(p, ".html") || ends_with(p, ".htm")) return ExportFormat::kHtml;
  if (ends_with(p, ".jsonl") || ends_with(p, ".ndjson")) return ExportFormat::kJsonLines;
  if (ends_with(p, ".sarif") || ends_with(p, ".sarif.json")) return ExportFormat::kSarif;
  if (ends_with(p, ".findings.json")) return ExportFormat::kFindingsJson;
  if (ends_with(p, ".json")) return ExportFormat::kPerfetto;
  if (ends_with(p, ".folded") || ends_with(p, ".collapsed"))
    return base.find("offcpu") != std::string::npos ? ExportFormat::kFoldedOffCpu
           : base.find("cpu") != std::string::npos  ? ExportFormat::kFoldedCpu
                                                    : ExportFormat::kFolded;
  if (ends_with(p, ".pb.gz") || ends_with(p, ".pprof") || ends_with(p, ".pb")) {
    // The extension says pprof; the name must say which profile.
    std::vector<ExportFormat> named;
    if (base.find("block") != std::string::npos) named.push_back(ExportFormat::kBlockProfile);
    if (base.find("mutex") != std::string::npos) named.push_back(ExportFormat::kMutexProfile);
    if (base.find("goroutine") != std::string::npos) named.push_back(ExportFormat::kGoroutineProfile);
    if (base.find("offcpu") != std::string::npos)
      named.push_back(ExportFormat::kOffCpuProfile);
    else if (base.find("cpu") != std::string::npos)
      named.push_back(ExportFormat::kCpuProfile);
    if (named.size() == 1) return named[0];
    return make_error("'" + path +
                      "' is a pprof file, but which profile? Say --format block, mutex, goroutine, offcpu or cpu "
                      "(or put one of those words in the file name)");
  }
  return make_error("cannot tell the format from '" + path + "'; say --format (" + export_format_names() + ")");
}

ReplayWants wants_for(const std::vector<ExportFormat>& formats) {
  ReplayWants w;
  for (ExportFormat f : formats) {
    switch (f) {
      case ExportFormat::kBlockProfile:
      case ExportFormat::kMutexProfile:
      case ExportFormat::kOffCpuProfile:
      case ExportFormat::kGoroutineProfile:
      case ExportFormat::kFolded:
      case ExportFormat::kFoldedOffCpu:
        w.profiles = true;
        break;
      case ExportFormat::kCpuProfile:
      case ExportFormat::kFoldedCpu:
        w.cpu = true;
        break;
      case ExportFormat::kPerfetto:
        w.timeline = true;
        break;
      case ExportFormat::kHtml:
        w.profiles = true;
        w.timeline = true;
        break;
      default:
        break;
    }
  }
  return w;
}

Expected<std::vector<std::string>> write_export(const Replay& replay, ExportFormat format,
                                                const std::string& path) {
  std::vector<std::string> written{path};
  Expected<void> ok;
  const output::BlockingProfiles* profiles = replay.profiles();
  auto need_profiles = [&]() -> Expected<void> {
    if (!profiles) return make_error("internal: profiles were not built for " + path);
    return {};
  };
  switch (format) {
    case ExportFormat::kBlockProfile:
      if (ok = need_profiles(); ok) ok = profiles->write_block(path);
      break;
    case ExportFormat::kMutexProfile:
      if (ok = need_profiles(); ok) ok = profiles->write_mutex(path);
      break;
    case ExportFormat::kOffCpuProfile:
      if (ok = need_profiles(); ok) ok = profiles->write_offcpu(path);
      break;
    case ExportFormat::kGoroutineProfile:
      if (ok = need_profiles(); ok) ok = profiles->write_goroutines(path, replay.state(), replay.end().end_ns);
      break;
    case ExportFormat::kFolded:
      if (ok = need_profiles(); ok) ok = profiles->write_block_folded(path);
      break;
    case ExportFormat::kFoldedOffCpu:
      if (ok = need_profiles(); ok) ok = profiles->write_offcpu_folded(path);
      break;
    case ExportFormat::kCpuProfile:
    case ExportFormat::kFoldedCpu: {
      const output::CpuProfile* cpu = replay.cpu_profile();
      if (!cpu) return make_error("internal: the CPU profile was not built for " + path);
      if (cpu->samples() == 0)
        return make_error("no CPU samples in this trace for " + path +
                          " (recorded with -F 0, or the program never ran on a CPU)");
      ok = format == ExportFormat::kCpuProfile ? cpu->write_pprof(path, replay.end().end_ns)
                                               : cpu->write_folded(path);
      break;
    }
    case ExportFormat::kPerfetto: {
      if (!replay.timeline()) return make_error("internal: the timeline was not built for " + path);
      output::PerfettoOptions po;
      po.process_name = replay.meta().exe_name.substr(replay.meta().exe_name.rfind('/') + 1);
      po.pid = replay.meta().pid;
      po.findings = replay.findings();
      auto files = output::write_perfetto_json(path, *replay.timeline(), *replay.symbols(), replay.stream(), po);
      if (!files) return files.error();
      written = *files;
      break;
    }
    case ExportFormat::kHtml: {
      output::HtmlReportInput in;
      in.meta = &replay.meta();
      in.end = &replay.end();
      in.build = &replay.build_info();
      in.state = &replay.state();
      in.symbols = replay.symbols().get();
      in.stream = &replay.stream();
      in.findings = replay.findings();
      in.notes = replay.notes();
      in.timeline = replay.timeline();
      if (profiles) in.blocking = profiles->block_samples();
      ok = output::write_html_report(path, in);
      break;
    }
    case ExportFormat::kSarif:
    case ExportFormat::kFindingsJson:
    case ExportFormat::kFindingsText: {
      // The format asked for, whatever the file's name.
      ok = output::write_findings_file(path, replay.findings(),
                                       format == ExportFormat::kSarif         ? output::FindingsFormat::kSarif
                                       : format == ExportFormat::kFindingsJson ? output::FindingsFormat::kJson
                                                                               : output::FindingsFormat::kText,
                                       GOSCOPE_VERSION);
      break;
    }
    case ExportFormat::kJsonLines:
      return make_error("internal: JSON lines are written while the trace is read");
  }
  if (!ok) return ok.error();
  return written;
}

}  // namespace goscope::session
