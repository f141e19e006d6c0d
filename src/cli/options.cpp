#include "cli/options.h"

#include "common/duration.h"

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common/clock.h"
#include "common/user_files.h"
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
  return goscope::parse_duration(text);
}

void add_color_option(CLI::App& app, std::string& flag) {
  app.add_option("--color", flag, "auto (on a terminal), always or never");
}

bool use_color(const std::string& flag, FILE* stream) {
  return flag == "always" || (flag == "auto" && stream && isatty(fileno(stream)));
}

Expected<FilePtr> create_user_file(const std::string& path) {
  return open_user_stream(path);
}

Expected<void> write_text_file(const std::string& path, std::string_view text) {
  return write_user_file(path, text);
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
