#include "output/display.h"

#include <cinttypes>
#include <cstdio>

namespace goscope::output {

std::string address_text(uint64_t address) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, address);
  return buf;
}

std::string duration_text(int64_t ns) {
  char buf[32];
  const double v = static_cast<double>(ns);
  // %.3g keeps three significant digits; past 1000 of a unit the next unit takes over.
  if (ns < 1'000)
    std::snprintf(buf, sizeof buf, "%" PRId64 "ns", ns);
  else if (ns < 999'500)
    std::snprintf(buf, sizeof buf, "%.3gµs", v / 1e3);
  else if (ns < 999'500'000)
    std::snprintf(buf, sizeof buf, "%.3gms", v / 1e6);
  else if (ns < 59'995'000'000)
    std::snprintf(buf, sizeof buf, "%.3gs", v / 1e9);
  else {
    const int64_t s = (ns + 500'000'000) / 1'000'000'000;
    std::snprintf(buf, sizeof buf, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
  }
  return buf;
}

std::string_view short_file(std::string_view path) {
  const size_t last = path.rfind('/');
  if (last == std::string_view::npos) return path;                          // "main.go"
  const bool two_elements = path.front() != '/' && path.find('/') == last;  // "runtime/proc.go"
  return two_elements ? path : path.substr(last + 1);
}

std::string frame_text(const detect::CodeFrame& frame) {
  if (!frame.known()) return address_text(frame.pc);
  std::string s(frame.function);
  s += " (";
  s += short_file(frame.file);
  s += ':';
  s += std::to_string(frame.line);
  s += ')';
  return s;
}

std::string file_line(const detect::CodeFrame& frame) {
  if (!frame.known()) return {};
  return std::string(frame.file) + ":" + std::to_string(frame.line);
}

}  // namespace goscope::output
