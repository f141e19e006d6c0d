#include "session/exports.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>

#include "output/event_format.h"
#include "output/file_kind.h"
#include "output/findings_report.h"
#include "output/html_report.h"
#include "output/perfetto.h"

#ifndef GOSCOPE_VERSION
#define GOSCOPE_VERSION "0.0.0"
#endif

namespace goscope::session {

namespace {

using Written = Expected<std::vector<std::string>>;

Written one(const std::string& path, Expected<void> ok) {
  if (!ok) return ok.error();
  return std::vector<std::string>{path};
}

const output::BlockingProfiles* profiles_of(const Replay& r) {
  return r.profiles();
}

Written write_blocking(const Replay& r, const std::string& path,
                       Expected<void> (output::BlockingProfiles::*write)(const std::string&) const) {
  const output::BlockingProfiles* p = profiles_of(r);
  if (!p) return make_error("internal: profiles were not built for " + path);
  return one(path, (p->*write)(path));
}

Written write_cpu(const Replay& r, const std::string& path, bool pprof) {
  const output::CpuProfile* cpu = r.cpu_profile();
  if (!cpu) return make_error("internal: the CPU profile was not built for " + path);
  if (cpu->samples() == 0)
    return make_error("no CPU samples in this trace for " + path +
                      " (recorded with -F 0, or the program never ran on a CPU)");
  return one(path, pprof ? cpu->write_pprof(path, r.end().end_ns) : cpu->write_folded(path));
}

Written write_findings(const Replay& r, const std::string& path, output::FindingsFormat format) {
  // The format asked for, whatever the file's name.
  return one(path, output::write_findings_file(path, r.findings(), format, GOSCOPE_VERSION));
}

Written write_perfetto(const Replay& r, const std::string& path) {
  if (!r.timeline()) return make_error("internal: the timeline was not built for " + path);
  output::PerfettoOptions po;
  po.process_name = r.meta().exe_name.substr(r.meta().exe_name.rfind('/') + 1);
  po.pid = r.meta().pid;
  po.findings = r.findings();
  return output::write_perfetto_json(path, *r.timeline(), *r.symbols(), r.stream(), po);
}

Written write_html(const Replay& r, const std::string& path) {
  output::HtmlReportInput in;
  in.meta = &r.meta();
  in.end = &r.end();
  in.build = &r.build_info();
  in.state = &r.state();
  in.symbols = r.symbols().get();
  in.stream = &r.stream();
  in.findings = r.findings();
  in.notes = r.notes();
  in.timeline = r.timeline();
  if (r.profiles()) in.blocking = r.profiles()->block_samples();
  return one(path, output::write_html_report(path, in));
}

// Every export format, once: its name for --format, what the replay must build for it,
// and how it is written. A new export is one line here (and its ExportFormat).
struct ExportSpec {
  ExportFormat format;
  const char* name;
  bool profiles, cpu, timeline;  // ReplayWants
  Written (*write)(const Replay&, const std::string&);
};
const ExportSpec kExports[] = {
    {ExportFormat::kBlockProfile, "block", true, false, false,
     [](const Replay& r, const std::string& p) { return write_blocking(r, p, &output::BlockingProfiles::write_block); }},
    {ExportFormat::kMutexProfile, "mutex", true, false, false,
     [](const Replay& r, const std::string& p) { return write_blocking(r, p, &output::BlockingProfiles::write_mutex); }},
    {ExportFormat::kGoroutineProfile, "goroutine", true, false, false,
     [](const Replay& r, const std::string& p) -> Written {
       if (!r.profiles()) return make_error("internal: profiles were not built for " + p);
       return one(p, r.profiles()->write_goroutines(p, r.state(), r.end().end_ns));
     }},
    {ExportFormat::kOffCpuProfile, "offcpu", true, false, false,
     [](const Replay& r, const std::string& p) { return write_blocking(r, p, &output::BlockingProfiles::write_offcpu); }},
    {ExportFormat::kCpuProfile, "cpu", false, true, false,
     [](const Replay& r, const std::string& p) { return write_cpu(r, p, true); }},
    {ExportFormat::kPerfetto, "perfetto", false, false, true, write_perfetto},
    {ExportFormat::kJsonLines, "jsonl", false, false, false,
     [](const Replay&, const std::string&) -> Written {
       return make_error("internal: JSON lines are written while the trace is read");
     }},
    {ExportFormat::kFolded, "folded", true, false, false,
     [](const Replay& r, const std::string& p) {
       return write_blocking(r, p, &output::BlockingProfiles::write_block_folded);
     }},
    {ExportFormat::kFoldedOffCpu, "folded-offcpu", true, false, false,
     [](const Replay& r, const std::string& p) {
       return write_blocking(r, p, &output::BlockingProfiles::write_offcpu_folded);
     }},
    {ExportFormat::kFoldedCpu, "folded-cpu", false, true, false,
     [](const Replay& r, const std::string& p) { return write_cpu(r, p, false); }},
    {ExportFormat::kHtml, "html", true, false, true, write_html},
    {ExportFormat::kSarif, "sarif", false, false, false,
     [](const Replay& r, const std::string& p) { return write_findings(r, p, output::FindingsFormat::kSarif); }},
    {ExportFormat::kFindingsJson, "findings-json", false, false, false,
     [](const Replay& r, const std::string& p) { return write_findings(r, p, output::FindingsFormat::kJson); }},
    {ExportFormat::kFindingsText, "findings", false, false, false,
     [](const Replay& r, const std::string& p) { return write_findings(r, p, output::FindingsFormat::kText); }},
};

const ExportSpec& spec_of(ExportFormat f) {
  for (const auto& e : kExports)
    if (e.format == f) return e;
  return kExports[0];  // every ExportFormat has a line (a test checks)
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string export_format_names() {
  std::string out;
  for (const auto& f : kExports) out += std::string(out.empty() ? "" : ", ") + f.name;
  return out;
}

const char* export_format_name(ExportFormat format) {
  return spec_of(format).name;
}

Expected<ExportFormat> parse_export_format(const std::string& name) {
  for (const auto& f : kExports)
    if (name == f.name) return f.format;
  if (name == "chrome" || name == "json") return ExportFormat::kPerfetto;
  return make_error("unknown format '" + name + "'; known: " + export_format_names());
}

Expected<ExportFormat> export_format_for_path(const std::string& path) {
  const std::string p = lower(path);
  const std::string base = p.substr(p.rfind('/') == std::string::npos ? 0 : p.rfind('/') + 1);
  switch (output::file_kind(path)) {
    case output::FileKind::kHtml:
      return ExportFormat::kHtml;
    case output::FileKind::kJsonLines:
      return ExportFormat::kJsonLines;
    case output::FileKind::kSarif:
      return ExportFormat::kSarif;
    case output::FileKind::kFindingsJson:
      return ExportFormat::kFindingsJson;
    case output::FileKind::kJson:
      return ExportFormat::kPerfetto;
    case output::FileKind::kFolded:
      return base.find("offcpu") != std::string::npos ? ExportFormat::kFoldedOffCpu
             : base.find("cpu") != std::string::npos  ? ExportFormat::kFoldedCpu
                                                      : ExportFormat::kFolded;
    case output::FileKind::kPprof: {
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
    case output::FileKind::kText:
      return ExportFormat::kFindingsText;  // the one text export
    case output::FileKind::kUnknown:
      break;
  }
  return make_error("cannot tell the format from '" + path + "'; say --format (" + export_format_names() + ")");
}

ReplayWants wants_for(const std::vector<ExportFormat>& formats) {
  ReplayWants w;
  for (ExportFormat f : formats) {
    const ExportSpec& e = spec_of(f);
    w.profiles |= e.profiles;
    w.cpu |= e.cpu;
    w.timeline |= e.timeline;
  }
  return w;
}

Expected<std::vector<std::string>> write_export(const Replay& replay, ExportFormat format,
                                                const std::string& path) {
  return spec_of(format).write(replay, path);
}

}  // namespace goscope::session
