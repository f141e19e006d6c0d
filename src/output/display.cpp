#include "output/display.h"
#include "common/hex.h"

#include "common/duration.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <iterator>
#include <nlohmann/json.hpp>

namespace goscope::output {

std::string address_text(uint64_t address) {
  return hex_text(address);
}

std::string duration_text(int64_t ns) {
  return goscope::duration_text(ns);
}

std::string_view short_file(std::string_view path) {
  const size_t last = path.rfind('/');
  if (last == std::string_view::npos) return path;                          // "main.go"
  const bool two_elements = path.front() != '/' && path.find('/') == last;  // "runtime/proc.go"
  return two_elements ? path : path.substr(last + 1);
}

std::string frame_text(const state::CodeFrame& frame) {
  if (!frame.known()) return address_text(frame.pc);
  std::string s(frame.function);
  s += " (";
  s += short_file(frame.file);
  s += ':';
  s += std::to_string(frame.line);
  s += ')';
  return s;
}

std::string file_line(const state::CodeFrame& frame) {
  if (!frame.known()) return {};
  return std::string(frame.file) + ":" + std::to_string(frame.line);
}

std::string json_quote(std::string_view s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string valid_utf8(std::string_view s) {
  if (std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
    return std::string(s);
  return nlohmann::json::parse(json_quote(s)).get<std::string>();
}

std::string size_text(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes) / 1024;
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    unit++;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, kUnits[unit]);
  return buf;
}

}  // namespace goscope::output
