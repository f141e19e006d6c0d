// Go detection: the `.go.buildinfo` blob every Go ≥ 1.13 binary carries (Go
// version, main module, build settings), in both layouts: pointers to Go
// strings (before 1.18) and inline varint-prefixed strings (1.18+).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/expected.h"
#include "symbolizer/elf_file.h"

namespace goscope::sym {

struct GoVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  bool at_least(int ma, int mi) const { return major > ma || (major == ma && minor >= mi); }
  std::string major_minor() const { return std::to_string(major) + "." + std::to_string(minor); }
};

// "go1.22.3", "go1.21rc2", "go1.24.0 X:nocoverageredesign" -> {1,22,3}; nullopt otherwise.
std::optional<GoVersion> parse_go_version(std::string_view s);

struct BuildInfo {
  std::string go_version;  // as recorded, e.g. "go1.22.3"
  GoVersion version;
  std::string main_path;                                      // "path" line: the main package
  std::string main_module;                                    // "mod" line: module path
  std::string module_version;                                 // e.g. "(devel)"
  std::vector<std::pair<std::string, std::string>> settings;  // "build" lines: -ldflags, GOARCH, vcs...
  std::vector<std::string> deps;                              // "dep" lines, module@version
  bool inline_strings = false;                                // 1.18+ layout
};

// Reads .go.buildinfo (by section, or by scanning data segments for its magic
// when there are no section headers). Errors: not a Go binary, unreadable blob.
Expected<BuildInfo> read_buildinfo(const ElfFile& elf);

// Parses the modinfo text (with or without its 16-byte sentinels) into `info`.
void parse_modinfo(std::string_view modinfo, BuildInfo& info);

}  // namespace goscope::sym
