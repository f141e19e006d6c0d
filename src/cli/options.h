// Helpers shared by the subcommands: how a target is chosen, durations, colors,
// the stop signal, and the files they write.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"

namespace CLI {
class App;
}
namespace goscope::loader {
class Target;
}

namespace goscope::cli {

// `-p PID` or `-- CMD ARGS...`, the same on every command.
struct TargetOptions {
  pid_t pid = 0;
  std::vector<std::string> command;

  void add_to(CLI::App& app);
  // Exactly one of the two must be given.
  Expected<void> validate() const;
};

// Everything after the first `--` on the command line: the program to launch.
extern std::vector<std::string> g_command_after_dashdash;

// "500ms", "30s", "5m", "1h", or a plain number of seconds.
Expected<std::chrono::nanoseconds> parse_duration(const std::string& text);

// `--color auto|always|never` on `app`, into `flag`.
void add_color_option(CLI::App& app, std::string& flag);
// Whether text for `stream` is colored by --color `flag`: "always", or "auto" and a
// terminal. A null stream is none (JSON is not for a terminal).
bool use_color(const std::string& flag, FILE* stream);

// A FILE that closes itself.
using FilePtr = std::unique_ptr<FILE, int (*)(FILE*)>;
// Creates (or empties) `path` for writing, owned by the invoking user under sudo.
Expected<FilePtr> create_user_file(const std::string& path);
// Writes `text` to `path`, replacing it, owned by the invoking user under sudo.
Expected<void> write_text_file(const std::string& path, std::string_view text);

// Set by SIGINT / SIGTERM; installed without SA_RESTART so blocking waits return.
extern std::atomic<bool> g_stop_requested;
void install_stop_handlers();

// Why a live command should end now, or nullopt to go on: Ctrl-C or SIGTERM
// ("interrupted"), `duration` since `start_ns` (CLOCK_MONOTONIC) elapsed, or the
// target ended (how, for a launched one).
std::optional<std::string> stop_reason(loader::Target& target, int64_t start_ns,
                                       std::optional<std::chrono::nanoseconds> duration);

// Exit codes, as gotracer and CI systems expect them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitCouldNotRun = 2;

// Prints "goscope: <message>" to stderr and returns kExitCouldNotRun.
int fail(const Error& e);

}  // namespace goscope::cli
