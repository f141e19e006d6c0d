// Durations as people write and read them: "500ms", "30s", "5m" in flags and
// settings, "1.25s" / "12.3ms" in messages. Header-only: every module may use it
// (detect/ for rule thresholds and findings, cli/ for flags, output/ for text).
#pragma once

#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/expected.h"

namespace goscope {

// "500ms", "30s", "5m", "1h", "250us", or a plain number of seconds ("1.5"). Positive only.
inline Expected<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) i++;
  const std::string number(text.substr(0, i));
  const std::string_view unit = text.substr(i);
  const std::string quoted = "'" + std::string(text) + "'";
  char* end = nullptr;
  const double value = number.empty() ? 0 : std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size())
    return make_error("invalid duration " + quoted + ": use e.g. 500ms, 30s, 5m, 1h");
  double scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1e9;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "m" || unit == "min")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else
    return make_error("invalid duration unit in " + quoted + ": use us, ms, s, m or h");
  const double ns = value * scale;
  if (!std::isfinite(ns) || ns < 1 || ns > 1e18) return make_error("duration " + quoted + " is out of range");
  return std::chrono::nanoseconds(static_cast<int64_t>(ns));
}

// Three significant digits in the largest unit below 1000 of it: "850ns", "12.3µs", "4.5ms",
// "1.25s", past a minute "2m05s".
inline std::string duration_text(int64_t ns) {
  char buf[32];
  const double v = static_cast<double>(ns);
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

}  // namespace goscope
