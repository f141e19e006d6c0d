// The traced process: an existing PID, or a command goscope launches itself.
// A launched command is held before exec until probes are attached, and runs
// as the invoking user when goscope runs under sudo.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"

namespace goscope::loader {

class Target {
 public:
  // An existing process. Fails with a clear message when there is no such PID.
  static Expected<Target> attach(pid_t pid);
  // Forks a child held before exec; call release() once probes are in place.
  static Expected<Target> launch(const std::vector<std::string>& argv);

  Target(Target&&) noexcept;
  Target& operator=(Target&&) noexcept;
  ~Target();  // a launched child still running is terminated

  pid_t pid() const { return pid_; }
  bool launched() const { return launched_; }
  // The executable to attach uprobes to: /proc/PID/exe for a running process
  // (also reaches deleted binaries and other mount namespaces), the resolved
  // command path for a launched one.
  const std::string& exe_path() const { return exe_path_; }

  // Lets a launched child exec. Fails if exec itself failed (e.g. no such file).
  Expected<void> release();

  // True while the process exists (for a launched child: until it is reaped).
  bool alive();
  // Exit status of a launched child once it has ended (as from waitpid).
  std::optional<int> exit_status() const { return exit_status_; }
  // Describes how the launched child ended, e.g. "exited with status 0".
  std::string describe_exit() const;

 private:
  Target() = default;
  void reap(bool block);

  pid_t pid_ = -1;
  bool launched_ = false;
  std::string exe_path_;
  int release_fd_ = -1;   // write end: one byte lets the child exec
  int exec_err_fd_ = -1;  // read end: errno of a failed exec, EOF on success
  std::optional<int> exit_status_;
};

// Resolves a command name like execvp does ("./prog", "prog" via PATH).
Expected<std::string> resolve_command(const std::string& name);

}  // namespace goscope::loader
