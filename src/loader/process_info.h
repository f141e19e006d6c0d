// What /proc says about a process: its executable, its command line, whose it is,
// whether it is still there. The one place commands read /proc/PID for these; each
// answer is read when asked (a process changes under us), never cached.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/expected.h"

namespace goscope::loader {

// "/proc/PID/exe": opens the very file the process runs, also when it was deleted on
// disk or lives in another mount namespace (a container).
std::string exe_path(pid_t pid);

// Where the process's executable was started from, as the link /proc/PID/exe names it
// ("/usr/bin/app", "/srv/app (deleted)"). That name may mean another file here (a
// container's mount namespace). Error when the link cannot be read (gone, another user's).
Expected<std::string> exe_link(pid_t pid);

// The name to show for the process's executable: exe_link() when that path names the
// same file here, else "/proc/PID/exe" (deleted, or another file under that name in
// this mount namespace). Error as for exe_link().
Expected<std::string> exe_display_path(pid_t pid);

// Identity of a file: device and inode.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};

// The program the process runs (the file behind /proc/PID/exe); nullopt when it cannot
// be told (gone, or not ours to look at). After an exec it changes.
std::optional<FileIdentity> running_program(pid_t pid);

// Its command line, arguments joined by spaces; "" when it cannot be read (gone, a
// kernel thread, a zombie).
std::string cmdline(pid_t pid);

// /proc/PID belongs to another user than goscope's effective one (reading its memory
// then needs CAP_SYS_PTRACE). False when it cannot be told (no such process).
bool owned_by_other_user(pid_t pid);

// The process has exited: no such PID any more, or a zombie (exited, not yet reaped:
// it still answers kill(pid, 0) but has no memory left to read).
bool gone(pid_t pid);

}  // namespace goscope::loader
