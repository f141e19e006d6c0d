#include "loader/target.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

namespace goscope::loader {

namespace {

bool is_executable_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

// Under sudo, the launched program runs as the user who invoked sudo. On
// failure the child reports errno on `err_fd` (as a failed exec does) and exits.
void drop_to_invoking_user(int err_fd) {
  if (geteuid() != 0) return;
  const char* uid_s = std::getenv("SUDO_UID");
  const char* gid_s = std::getenv("SUDO_GID");
  if (!uid_s || !gid_s) return;
  const uid_t uid = static_cast<uid_t>(std::strtoul(uid_s, nullptr, 10));
  const gid_t gid = static_cast<gid_t>(std::strtoul(gid_s, nullptr, 10));
  if (uid == 0) return;
  const char* user = std::getenv("SUDO_USER");
  auto fail = [err_fd] {
    int e = errno;
    (void)!::write(err_fd, &e, sizeof e);
    _exit(126);
  };
  if (user) {
    if (initgroups(user, gid) != 0) fail();
  } else if (setgroups(0, nullptr) != 0) {
    fail();
  }
  if (setgid(gid) != 0 || setuid(uid) != 0) fail();
}

}  // namespace

Expected<std::string> resolve_command(const std::string& name) {
  if (name.empty()) return make_error("no command given after --");
  if (name.find('/') != std::string::npos) {
    if (!std::filesystem::exists(name)) return make_error("cannot run " + name + ": no such file");
    if (!is_executable_file(name)) return make_error("cannot run " + name + ": not an executable file");
    return std::filesystem::absolute(name).string();
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + name;
    if (is_executable_file(cand)) return std::filesystem::absolute(cand).string();
    start = end + 1;
  }
  return make_error("cannot run " + name + ": command not found in PATH");
}

Expected<Target> Target::attach(pid_t pid) {
  if (pid <= 0) return make_error("invalid PID " + std::to_string(pid));
  const std::string proc = "/proc/" + std::to_string(pid);
  if (::access(proc.c_str(), F_OK) != 0) return make_error("no process with PID " + std::to_string(pid));
  char buf[4096];
  const std::string exe = proc + "/exe";
  if (::readlink(exe.c_str(), buf, sizeof buf) < 0) {
    if (errno == EACCES || errno == EPERM)
      return make_error("cannot read " + exe + ": permission denied (run goscope as root)");
    return make_error("PID " + std::to_string(pid) + " has no executable (a kernel thread, or it exited)");
  }
  Target t;
  t.pid_ = pid;
  t.exe_path_ = exe;
  return t;
}

Expected<Target> Target::launch(const std::vector<std::string>& argv) {
  if (argv.empty()) return make_error("no command given after --");
  GS_TRY(std::string path, resolve_command(argv[0]));

  int release[2], exec_err[2];
  if (pipe2(release, O_CLOEXEC) != 0) return Error::from_errno("pipe", errno);
  if (pipe2(exec_err, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(release[0]);
    ::close(release[1]);
    return Error::from_errno("pipe", e);
  }

  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    for (int fd : {release[0], release[1], exec_err[0], exec_err[1]}) ::close(fd);
    return Error::from_errno("fork", e);
  }
  if (pid == 0) {
    ::close(release[1]);
    ::close(exec_err[0]);
    char go = 0;
    ssize_t n;
    do n = ::read(release[0], &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) _exit(127);  // goscope gave up before release()
    drop_to_invoking_user(exec_err[1]);
    // goscope ignores SIGPIPE (a closed output is an error it reports); an ignored signal
    // stays ignored across exec, and the program must run as it would without goscope.
    ::signal(SIGPIPE, SIG_DFL);
    execv(path.c_str(), cargv.data());
    int e = errno;
    (void)!::write(exec_err[1], &e, sizeof e);
    _exit(127);
  }
  ::close(release[0]);
  ::close(exec_err[1]);

  Target t;
  t.pid_ = pid;
  t.launched_ = true;
  t.exe_path_ = path;
  t.release_fd_ = release[1];
  t.exec_err_fd_ = exec_err[0];
  return t;
}

Target::Target(Target&& o) noexcept {
  *this = std::move(o);
}

Target& Target::operator=(Target&& o) noexcept {
  if (this != &o) {
    pid_ = std::exchange(o.pid_, -1);
    launched_ = std::exchange(o.launched_, false);
    exe_path_ = std::move(o.exe_path_);
    release_fd_ = std::exchange(o.release_fd_, -1);
    exec_err_fd_ = std::exchange(o.exec_err_fd_, -1);
    exit_status_ = o.exit_status_;
  }
  return *this;
}

Target::~Target() {
  if (release_fd_ >= 0) ::close(release_fd_);  // an unreleased child exits at EOF
  if (exec_err_fd_ >= 0) ::close(exec_err_fd_);
  if (launched_ && pid_ > 0 && !exit_status_) {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50 && !exit_status_; i++) {
      reap(false);
      if (!exit_status_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exit_status_) {
      ::kill(pid_, SIGKILL);
      reap(true);
    }
  }
}

Expected<void> Target::release() {
  if (release_fd_ < 0) return {};
  char go = 1;
  ssize_t n = ::write(release_fd_, &go, 1);
  ::close(release_fd_);
  release_fd_ = -1;
  if (n != 1) return Error::from_errno("cannot start the command", errno);
  int e = 0;
  ssize_t r;
  do r = ::read(exec_err_fd_, &e, sizeof e);
  while (r < 0 && errno == EINTR);
  ::close(exec_err_fd_);
  exec_err_fd_ = -1;
  if (r == sizeof e) {
    reap(true);
    const bool as_sudo_user = geteuid() == 0 && std::getenv("SUDO_UID");
    return Error::from_errno("cannot run " + exe_path_ + (as_sudo_user ? " as the user who ran sudo" : ""),
                             e);
  }
  return {};
}

void Target::reap(bool block) {
  if (!launched_ || exit_status_) return;
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == pid_) exit_status_ = status;
}

bool Target::alive() {
  if (launched_) {
    reap(false);
    return !exit_status_;
  }
  if (::kill(pid_, 0) == 0 || errno == EPERM) {
    // A zombie has exited even though its PID still answers.
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid_);
    FILE* f = std::fopen(path, "r");
    if (!f) return false;
    char line[512] = {};
    size_t n = std::fread(line, 1, sizeof line - 1, f);
    std::fclose(f);
    const char* close_paren = std::strrchr(line, ')');
    return !(n > 0 && close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z');
  }
  return false;
}

std::string Target::describe_exit() const {
  if (!exit_status_) return "still running";
  const int s = *exit_status_;
  if (WIFEXITED(s)) return "exited with status " + std::to_string(WEXITSTATUS(s));
  if (WIFSIGNALED(s)) return std::string("killed by signal ") + strsignal(WTERMSIG(s));
  return "ended";
}

}  // namespace goscope::loader
