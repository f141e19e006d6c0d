#include "common/user_files.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <vector>

namespace goscope {

InvokingUser invoking_user() {
  InvokingUser u;
  if (geteuid() != 0) return u;
  const char* uid = std::getenv("SUDO_UID");
  const char* gid = std::getenv("SUDO_GID");
  if (!uid || !gid || !*uid || !*gid) return u;
  char* end = nullptr;
  const unsigned long id = std::strtoul(uid, &end, 10);
  if (*end) return u;
  const unsigned long group = std::strtoul(gid, &end, 10);
  if (*end || id == 0) return u;  // sudo from root: root writes for root
  u.under_sudo = true;
  u.uid = static_cast<uid_t>(id);
  u.gid = static_cast<gid_t>(group);
  return u;
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// This thread's file-system identity is the invoking user's while it lives: the
// kernel checks that user's permissions, and what is created belongs to the user.
// setfsuid/setfsgid and the raw setgroups system call change only this thread
// (glibc's setgroups() would change every thread).
class AsInvokingUser {
 public:
  AsInvokingUser() : user_(invoking_user()) {
    if (!user_.under_sudo) return;
    saved_groups_.resize(static_cast<size_t>(std::max(0, getgroups(0, nullptr))));
    if (!saved_groups_.empty()) getgroups(static_cast<int>(saved_groups_.size()), saved_groups_.data());
    std::vector<gid_t> groups{user_.gid};
    if (const passwd* pw = getpwuid(user_.uid)) {
      int n = 64;
      groups.resize(static_cast<size_t>(n));
      if (getgrouplist(pw->pw_name, user_.gid, groups.data(), &n) < 0) {
        groups.resize(static_cast<size_t>(n));
        getgrouplist(pw->pw_name, user_.gid, groups.data(), &n);
      }
      groups.resize(static_cast<size_t>(std::max(n, 1)));
    }
    groups_set_ = syscall(SYS_setgroups, groups.size(), groups.data()) == 0;
    saved_gid_ = static_cast<gid_t>(setfsgid(user_.gid));
    saved_uid_ = static_cast<uid_t>(setfsuid(user_.uid));
  }
  ~AsInvokingUser() {
    if (!user_.under_sudo) return;
    setfsuid(saved_uid_);  // first: back to root's capabilities
    setfsgid(saved_gid_);
    if (groups_set_) syscall(SYS_setgroups, saved_groups_.size(), saved_groups_.data());
  }
  AsInvokingUser(const AsInvokingUser&) = delete;
  AsInvokingUser& operator=(const AsInvokingUser&) = delete;
  const InvokingUser& user() const { return user_; }

 private:
  InvokingUser user_;
  uid_t saved_uid_ = 0;
  gid_t saved_gid_ = 0;
  std::vector<gid_t> saved_groups_;
  bool groups_set_ = false;
};

Error open_error(const std::string& path, int err) {
  if (err == ELOOP)
    return make_error("cannot write " + path +
                      ": it is a symbolic link, and goscope does not write through one (give the real path)");
  if (err == EACCES || err == EPERM) {
    const InvokingUser u = invoking_user();
    if (u.under_sudo)
      return make_error("cannot write " + path + ": " + std::strerror(err) + " for user " +
                        std::to_string(u.uid) + " (under sudo goscope writes as the user who ran it)");
  }
  return Error::from_errno("cannot write " + path, err);
}

// What may be written: a regular file with no other name, a character device
// (/dev/null), a pipe or a socket. Never a block device, never a folder.
Expected<bool> check_writable(const std::string& path, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Error::from_errno("cannot write " + path, errno);
  if (S_ISREG(st.st_mode)) {
    if (st.st_nlink > 1)
      return make_error("cannot write " + path + ": the file has " + std::to_string(st.st_nlink) +
                        " hard links, and goscope does not replace a file that has other names");
    return true;
  }
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) return false;
  return make_error("cannot write " + path + ": not a regular file");
}

std::string folder_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The standard streams by name: the one place a path that is a link is wanted.
int standard_stream(const std::string& path) {
  if (path == "/dev/stdout") return STDOUT_FILENO;
  if (path == "/dev/stderr") return STDERR_FILENO;
  return -1;
}

Expected<void> write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno("cannot write " + path, n < 0 ? errno : EIO);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// A device or pipe at `path` (written in place, not replaced).
bool is_special(const std::string& path) {
  if (standard_stream(path) >= 0) return true;
  AsInvokingUser as;
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

// A new temporary file beside `path`, for the user.
Expected<std::pair<UniqueFd, std::string>> create_temp_beside(const std::string& path) {
  if (name_of(path).empty()) return make_error("cannot write " + path + ": it names a folder, not a file");
  std::string temp = folder_of(path) + "/." + name_of(path) + ".goscope-XXXXXX";
  AsInvokingUser as;
  UniqueFd fd(mkostemp(temp.data(), O_CLOEXEC));
  if (!fd) return open_error(path, errno);
  const mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(fd.get(), 0666 & ~mask);
  return std::make_pair(std::move(fd), std::move(temp));
}

Expected<void> rename_into_place(const std::string& temp, const std::string& path) {
  AsInvokingUser as;
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    ::unlink(temp.c_str());
    return make_error("cannot write " + path + ": it is a folder");
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return Error::from_errno("cannot write " + path, err);
  }
  return {};
}

}  // namespace

Expected<UniqueFd> open_user_file(const std::string& path) {
  if (const int s = standard_stream(path); s >= 0) {
    UniqueFd fd(fcntl(s, F_DUPFD_CLOEXEC, 0));
    if (!fd) return Error::from_errno("cannot write " + path, errno);
    return fd;
  }
  if (path.empty()) return make_error("no file name given");
  UniqueFd fd;
  {
    AsInvokingUser as;
    // No O_TRUNC: an existing file is checked before it loses anything.
    fd = UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666));
    if (!fd) return open_error(path, errno);
  }
  auto regular = check_writable(path, fd.get());
  if (!regular) return regular.error();
  if (*regular && ftruncate(fd.get(), 0) != 0) return Error::from_errno("cannot write " + path, errno);
  return fd;
}

Expected<std::unique_ptr<FILE, int (*)(FILE*)>> open_user_stream(const std::string& path) {
  auto fd = open_user_file(path);
  if (!fd) return fd.error();
  FILE* f = fdopen(fd->get(), "w");
  if (!f) return Error::from_errno("cannot write " + path, errno);
  fd->release();
  return std::unique_ptr<FILE, int (*)(FILE*)>(f, &std::fclose);
}

Expected<void> write_user_file(const std::string& path, std::string_view bytes) {
  if (is_special(path)) {
    auto fd = open_user_file(path);
    if (!fd) return fd.error();
    return write_all(fd->get(), bytes, path);
  }
  auto temp = create_temp_beside(path);
  if (!temp) return temp.error();
  auto& [fd, name] = *temp;
  auto ok = write_all(fd.get(), bytes, path);
  if (ok && ::close(fd.release()) != 0) ok = Error::from_errno("cannot write " + path, errno);
  if (!ok) {
    ::unlink(name.c_str());
    return ok.error();
  }
  return rename_into_place(name, path);
}

Expected<AtomicUserFile> AtomicUserFile::create(const std::string& path) {
  if (is_special(path)) {
    auto f = open_user_stream(path);
    if (!f) return f.error();
    return AtomicUserFile(path, "", f->release(), true);
  }
  auto temp = create_temp_beside(path);
  if (!temp) return temp.error();
  auto& [fd, name] = *temp;
  FILE* f = fdopen(fd.get(), "w");
  if (!f) {
    const int err = errno;
    ::unlink(name.c_str());
    return Error::from_errno("cannot write " + path, err);
  }
  fd.release();
  return AtomicUserFile(path, name, f, false);
}

AtomicUserFile::AtomicUserFile(AtomicUserFile&& o) noexcept
    : path_(std::move(o.path_)), temp_(std::move(o.temp_)), stream_(o.stream_), direct_(o.direct_) {
  o.stream_ = nullptr;
  o.temp_.clear();
}

AtomicUserFile::~AtomicUserFile() {
  if (stream_) std::fclose(stream_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

Expected<void> AtomicUserFile::commit() {
  if (!stream_) return make_error("internal: " + path_ + " was already committed");
  const bool failed = std::ferror(stream_) != 0;
  const int err = errno;
  const bool closed = std::fclose(stream_) == 0;
  stream_ = nullptr;
  if (failed || !closed) return Error::from_errno("cannot write " + path_, failed ? err : errno);
  if (direct_) return {};
  std::string temp = std::move(temp_);
  temp_.clear();
  return rename_into_place(temp, path_);
}

Expected<void> make_user_dir(const std::string& dir) {
  AsInvokingUser as;
  if (::mkdir(dir.c_str(), 0755) == 0) return {};
  if (errno != EEXIST) return open_error(dir, errno);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd)
    return make_error(dir + " exists and is not a folder" +
                      std::string(errno == ELOOP ? " (it is a symbolic link)" : "") + ": choose another name");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Error::from_errno("cannot use the folder " + dir, errno);
  const uid_t owner = as.user().under_sudo ? as.user().uid : geteuid();
  if (st.st_uid != owner)
    return make_error("the folder " + dir + " exists and belongs to another user (uid " +
                      std::to_string(st.st_uid) + "): goscope writes only into a new folder or one of yours; "
                      "choose another name");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return make_error("the folder " + dir + " exists and others can write into it: goscope writes only into "
                      "a new folder or one only you can write to; choose another name");
  return {};
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace goscope
