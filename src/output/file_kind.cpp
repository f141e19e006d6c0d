#include "output/file_kind.h"

#include <algorithm>
#include <cctype>

namespace goscope::output {

FileKind file_kind(const std::string& path) {
  std::string p = path;
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return std::tolower(c); });
  auto ends = [&](const char* suffix) { return p.ends_with(suffix); };
  if (ends(".html") || ends(".htm")) return FileKind::kHtml;
  if (ends(".jsonl") || ends(".ndjson")) return FileKind::kJsonLines;
  if (ends(".sarif") || ends(".sarif.json")) return FileKind::kSarif;
  if (ends(".findings.json")) return FileKind::kFindingsJson;
  if (ends(".json")) return FileKind::kJson;
  if (ends(".folded") || ends(".collapsed")) return FileKind::kFolded;
  if (ends(".pb.gz") || ends(".pprof") || ends(".pb")) return FileKind::kPprof;
  if (ends(".txt")) return FileKind::kText;
  return FileKind::kUnknown;
}

}  // namespace goscope::output
