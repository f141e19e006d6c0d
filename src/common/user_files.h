// Every file and folder goscope writes goes through here (trace files, exports,
// findings, profiles, summaries, capture folders): goscope usually runs as root
// under sudo, and what it writes belongs to the user who ran sudo.
//
// How, so that no local user can make root write, truncate or hand over a file
// that is not theirs (symbolic links or hard links planted in a folder, a folder
// pre-created under a guessable name):
//   - Under sudo, paths are opened with the invoking user's file-system identity
//     (setfsuid / setfsgid on this thread, for the open only): the kernel checks
//     the user's own permissions, protected_symlinks applies to the user, and a new
//     file or folder is the user's from birth; no chown by path afterwards.
//   - The last component is never a symbolic link (O_NOFOLLOW); an existing regular
//     file is replaced only when it has no other hard link and belongs to the user
//     (it is truncated after these checks, on the open descriptor).
//   - A capture folder is created fresh, or, when it exists, must belong to the user
//     and not be writable by group or others.
//   - Files that replace a whole output (exports, profiles, findings) are written to
//     a temporary file in the same folder and renamed into place: a failed write
//     never leaves half a file, nor destroys the old one.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"

namespace goscope {

// Who files are written for: SUDO_UID / SUDO_GID when running as root under sudo.
struct InvokingUser {
  bool under_sudo = false;
  uid_t uid = 0;
  gid_t gid = 0;
};
InvokingUser invoking_user();

// An open descriptor, closed once.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Opens `path` for writing as a stream that grows while goscope runs (a trace file
// being recorded, the event stream of `trace -o`): created, or an existing file of
// the user's truncated; character devices and pipes (/dev/null, a FIFO) as they are.
Expected<UniqueFd> open_user_file(const std::string& path);
Expected<std::unique_ptr<FILE, int (*)(FILE*)>> open_user_stream(const std::string& path);

// Writes a whole file at once: to a temporary file in the same folder, renamed over
// `path` once complete (devices and pipes are written directly).
Expected<void> write_user_file(const std::string& path, std::string_view bytes);

// A file written in several steps that appears at `path` only when commit() succeeds;
// without commit (an error, an exception) the temporary file is removed.
class AtomicUserFile {
 public:
  static Expected<AtomicUserFile> create(const std::string& path);
  AtomicUserFile(AtomicUserFile&&) noexcept;
  AtomicUserFile& operator=(AtomicUserFile&&) = delete;
  ~AtomicUserFile();
  FILE* stream() const { return stream_; }
  const std::string& path() const { return path_; }
  Expected<void> commit();

 private:
  AtomicUserFile(std::string path, std::string temp, FILE* stream, bool direct)
      : path_(std::move(path)), temp_(std::move(temp)), stream_(stream), direct_(direct) {}
  std::string path_, temp_;
  FILE* stream_ = nullptr;
  bool direct_ = false;  // a device or pipe: written in place, nothing to rename
};

// Creates the folder `dir` for the user, or accepts an existing one that belongs to
// the user and that nobody else can write to.
Expected<void> make_user_dir(const std::string& dir);

// True when `a` and `b` name the same existing file (an output that is also an
// input: refused before anything is opened for writing).
bool same_file(const std::string& a, const std::string& b);

}  // namespace goscope
