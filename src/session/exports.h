// The formats a trace converts to (`export`, `capture`), chosen by name or by
// the output file's extension where that is unambiguous (as async-profiler does).
#pragma once

#include <string>
#include <vector>

#include "session/replay.h"
#include "common/expected.h"

namespace goscope::session {

enum class ExportFormat {
  kBlockProfile,      // pprof: time goroutines spent blocked in sync / channel operations
  kMutexProfile,      // pprof: lock contention, charged to the unlocker
  kGoroutineProfile,  // pprof: every goroutine at the end of the trace
  kOffCpuProfile,     // pprof: every blocking interval, sleeps and IO waits too
  kCpuProfile,        // pprof: CPU samples, labelled by goroutine (recorded with -F)
  kPerfetto,          // Trace Event Format JSON (ui.perfetto.dev, chrome://tracing)
  kJsonLines,         // every event, one JSON object per line
  kFolded,            // folded stacks of blocking time (flamegraph.pl, speedscope)
  kFoldedOffCpu,      // folded stacks of all off-CPU time
  kFoldedCpu,         // folded stacks of the CPU samples
  kHtml,              // the self-contained report
  kSarif,             // findings as SARIF 2.1.0
  kFindingsJson,      // findings as JSON
  kFindingsText,      // findings as text
};

// "block", "mutex", "goroutine", "offcpu", "cpu", "perfetto", "jsonl", "folded", "folded-offcpu",
// "folded-cpu", "html", "sarif", "findings-json", "findings".
Expected<ExportFormat> parse_export_format(const std::string& name);
// From the output path: .html, .jsonl, .json (Perfetto), .folded, .sarif; a pprof file
// (.pb.gz, .pprof) when its name says which profile (block, mutex, goroutine, offcpu, cpu).
Expected<ExportFormat> export_format_for_path(const std::string& path);
std::string export_format_names();  // for --help and errors
const char* export_format_name(ExportFormat format);  // "block", "perfetto", ...

// What a replay must build for these formats.
ReplayWants wants_for(const std::vector<ExportFormat>& formats);

// Writes one format from a replay that has run. Returns the files written (Perfetto may
// split a large trace into parts). Every file belongs to the invoking user under sudo.
Expected<std::vector<std::string>> write_export(const Replay& replay, ExportFormat format,
                                                const std::string& path);

}  // namespace goscope::session
