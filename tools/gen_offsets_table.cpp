// gen_offsets_table: writes src/symbolizer/offsets_table_generated.cpp, the
// fallback offsets table for binaries without DWARF, from the DWARF of Go
// binaries built by each toolchain of the matrix (see gen-offsets-table.sh).
//
//   gen_offsets_table OUT.cpp GOVERSION=BINARY [GOVERSION=BINARY...]
//
// Several binaries per version are merged (a field absent from one binary's
// DWARF may be present in another's); a conflicting offset is an error.
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "symbolizer/go_offsets.h"
#include "symbolizer/symbolizer.h"

using namespace goscope::sym;

namespace {

std::string quote(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x\"\"", static_cast<unsigned char>(c));
      o += buf;
    } else {
      o += c;
    }
  }
  return o + "\"";
}

std::string ident(const std::string& v) {
  std::string o = "k";
  for (char c : v) o += (c == '.') ? '_' : c;
  return o;
}

struct Row {
  std::map<std::string, int64_t> offsets;  // key -> offset, absent keys missing
  std::vector<std::string> wait_reasons;
  std::vector<std::string> sources;  // "go1.22.3 /path"
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s OUT.cpp GOVERSION=BINARY...\n", argv[0]);
    return 2;
  }
  std::map<std::pair<int, int>, Row> rows;
  std::map<std::pair<int, int>, std::string> names;
  for (int i = 2; i < argc; i++) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "bad argument %s (want GOVERSION=BINARY)\n", arg.c_str());
      return 2;
    }
    const std::string path = arg.substr(eq + 1);
    auto bin = GoBinary::open(path);
    if (!bin) {
      std::fprintf(stderr, "%s\n", bin.error().message.c_str());
      return 2;
    }
    const GoBinary& b = **bin;
    const std::string want = arg.substr(0, eq);
    if (b.build_info().version.major_minor() != want) {
      std::fprintf(stderr, "%s was built by %s, not Go %s\n", path.c_str(), b.build_info().go_version.c_str(),
                   want.c_str());
      return 2;
    }
    if (!b.dwarf()) {
      std::fprintf(stderr, "%s has no DWARF: build it without -ldflags=-w\n", path.c_str());
      return 2;
    }
    const auto key = std::make_pair(b.build_info().version.major, b.build_info().version.minor);
    names[key] = want;
    Row& row = rows[key];
    const GoOffsets o = offsets_from_dwarf(*b.dwarf());
    for (const auto& f : offset_fields()) {
      const auto& v = o.*f.member;
      if (!v) continue;
      auto [it, fresh] = row.offsets.emplace(std::string(f.key), *v);
      if (!fresh && it->second != *v) {
        std::fprintf(stderr, "Go %s: %s is %ld in one binary and %u in %s\n", want.c_str(),
                     std::string(f.key).c_str(), static_cast<long>(it->second), *v, path.c_str());
        return 2;
      }
    }
    std::string src;
    auto wr = read_wait_reasons(b.elf(), b.dwarf(), &src);
    if (!wr) {
      std::fprintf(stderr, "%s: runtime.waitReasonStrings not readable\n", path.c_str());
      return 2;
    }
    if (!row.wait_reasons.empty() && row.wait_reasons != *wr) {
      std::fprintf(stderr, "Go %s: waitReasonStrings differ between binaries\n", want.c_str());
      return 2;
    }
    row.wait_reasons = *wr;
    row.sources.push_back(b.build_info().go_version);
  }

  std::ostringstream out;
  out << "// GENERATED FILE - DO NOT EDIT.\n"
         "// Written by tools/gen_offsets_table (run tools/gen-offsets-table.sh) from the DWARF\n"
         "// and runtime.waitReasonStrings of tools/offsets-probe built by each toolchain of the\n"
         "// matrix (scripts/go-toolchains.sh):";
  for (const auto& [k, r] : rows) {
    out << " " << r.sources.front();
  }
  out << ".\n"
         "// -1 marks a field this Go version does not have. Checked against DWARF by\n"
         "// tests/symbolizer_offsets_test.cpp.\n"
         "// clang-format off\n"
         "#include \"symbolizer/offsets_table.h\"\n\n"
         "namespace goscope::sym {\n\nnamespace {\n\n";
  for (const auto& [k, r] : rows) {
    const std::string id = ident(names[k]);
    out << "constexpr OffsetsTableEntry " << id << "_offsets[] = {\n";
    for (const auto& f : offset_fields()) {
      auto it = r.offsets.find(std::string(f.key));
      out << "    {" << quote(std::string(f.key)) << ", " << (it == r.offsets.end() ? -1 : it->second)
          << "},\n";
    }
    out << "};\n\nconstexpr std::string_view " << id << "_wait_reasons[] = {\n";
    for (const auto& w : r.wait_reasons) out << "    " << quote(w) << ",\n";
    out << "};\n\n";
  }
  out << "constexpr OffsetsTableVersion kTable[] = {\n";
  for (const auto& [k, r] : rows) {
    const std::string id = ident(names[k]);
    out << "    {" << quote(names[k]) << ", " << id << "_offsets, " << id << "_wait_reasons},\n";
  }
  out << "};\n\n}  // namespace\n\nstd::span<const OffsetsTableVersion> offsets_table() { return kTable; "
         "}\n\n"
         "}  // namespace goscope::sym\n";
  std::ofstream f(argv[1]);
  f << out.str();
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", argv[1]);
    return 2;
  }
  std::fprintf(stderr, "wrote %s: %zu Go versions\n", argv[1], rows.size());
  return 0;
}
