#include "cli/options.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common/clock.h"
#include "loader/target.h"

namespace goscope::cli {

std::atomic<bool> g_stop_requested{false};

std::vector<std::string> g_command_after_dashdash;

void TargetOptions::add_to(CLI::App& app) {
  app.add_option("-p,--pid", pid, "PID of a running Go program to attach to");
  // The command after `--` is split off before CLI11 parses (see main.cpp):
  // CLI11 2.1 mishandles `--` after a repeatable option.
  app.preparse_callback([this](size_t) { command = g_command_after_dashdash; });
}

Expected<void> TargetOptions::validate() const {
  if (pid != 0 && !command.empty()) return make_error("give either -p PID or -- COMMAND, not both");
  if (pid == 0 && command.empty())
    return make_error("no target: give -p PID of a running Go program, or -- COMMAND ARGS to launch one");
  if (pid < 0) return make_error("invalid PID " + std::to_string(pid));
  return {};
}

Expected<std::chrono::nanoseconds> parse_duration(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) i++;
  const std::string number = text.substr(0, i);
  const std::string unit = text.substr(i);
  double value = 0;
  try {
    size_t used = 0;
    value = std::stod(number, &used);
    if (used != number.size()) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    return make_error("invalid duration '" + text + "': use e.g. 500ms, 30s, 5m, 1h");
  }
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
    return make_error("invalid duration unit in '" + text + "': use ms, s, m or h");
  const double ns = value * scale;
  if (!std::isfinite(ns) || ns <= 0 || ns > 1e18)
    return make_error("duration '" + text + "' is out of range");
  return std::chrono::nanoseconds(static_cast<int64_t>(ns));
}

namespace {
void on_stop_signal(int) {
  g_stop_requested.store(true);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() and read() return EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
}

int fail(const Error& e) {
  std::fprintf(stderr, "goscope: %s\n", e.message.c_str());
  return kExitCouldNotRun;
}

std::optional<std::string> stop_reason(loader::Target& target, int64_t start_ns,
                                       std::optional<std::chrono::nanoseconds> duration) {
  if (g_stop_requested.load()) return "interrupted";
  if (duration && monotonic_ns() - start_ns >= duration->count()) return "duration elapsed";
  if (!target.alive()) return target.launched() ? "target " + target.describe_exit() : "target exited";
  return std::nullopt;
}

}  // namespace goscope::cli
