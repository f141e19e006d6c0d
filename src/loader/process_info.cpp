#include "loader/process_info.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>

namespace goscope::loader {

namespace {

std::string proc_dir(pid_t pid) {
  return "/proc/" + std::to_string(pid);
}

}  // namespace

std::string exe_path(pid_t pid) {
  return proc_dir(pid) + "/exe";
}

Expected<std::string> exe_link(pid_t pid) {
  const std::string path = exe_path(pid);
  char buf[4096];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return Error::from_errno("cannot read " + path, errno);
  return std::string(buf, static_cast<size_t>(n));
}

Expected<std::string> exe_display_path(pid_t pid) {
  const std::string path = exe_path(pid);
  GS_TRY(std::string link, exe_link(pid));
  // Deleted, or another file under that name in this mount namespace (a container).
  struct stat a {
  }, b{};
  if (::stat(path.c_str(), &a) != 0 || ::stat(link.c_str(), &b) != 0 || a.st_dev != b.st_dev ||
      a.st_ino != b.st_ino)
    return path;
  return link;
}

std::optional<FileIdentity> running_program(pid_t pid) {
  struct stat st {};
  if (::stat(exe_path(pid).c_str(), &st) != 0) return std::nullopt;
  return FileIdentity{st.st_dev, st.st_ino};
}

std::string cmdline(pid_t pid) {
  std::ifstream in(proc_dir(pid) + "/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  for (char& c : raw)
    if (c == '\0') c = ' ';
  return raw;
}

bool owned_by_other_user(pid_t pid) {
  struct stat st {};
  if (::stat(proc_dir(pid).c_str(), &st) != 0) return false;
  return st.st_uid != ::geteuid();
}

bool gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  // The state is the field after the command name, which is in parentheses and may hold
  // any byte, ')' and spaces included: look after the last ')'.
  std::ifstream stat(proc_dir(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

}  // namespace goscope::loader
