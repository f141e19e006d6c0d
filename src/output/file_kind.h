// What kind of file a name asks for, from its extension: the one place where
// goscope reads meaning into a file name (export formats, stat's CPU profile,
// --findings FILE). Case does not matter.
#pragma once

#include <string>

namespace goscope::output {

enum class FileKind {
  kPprof,         // .pb.gz, .pprof, .pb
  kFolded,        // .folded, .collapsed (flamegraph.pl, speedscope)
  kHtml,          // .html, .htm
  kJsonLines,     // .jsonl, .ndjson
  kSarif,         // .sarif, .sarif.json
  kFindingsJson,  // .findings.json
  kJson,          // any other .json
  kText,          // .txt
  kUnknown,
};

FileKind file_kind(const std::string& path);

}  // namespace goscope::output
