#include "testprogs.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#ifndef GOSCOPE_SOURCE_DIR
#error "GOSCOPE_SOURCE_DIR must be defined by the build"
#endif

namespace goscope::testing {

CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int st = pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

const std::string& scratch_dir() {
  static const struct Scratch {
    std::string dir;
    Scratch() {
      namespace fs = std::filesystem;
      std::string tmpl = (fs::temp_directory_path() / "goscope-tests-XXXXXX").string();
      dir = mkdtemp(tmpl.data()) ? tmpl : fs::temp_directory_path().string();
      fs::create_directories(fs::path(dir) / "no-binaries");
    }
    ~Scratch() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } s;
  return s.dir;
}

namespace {

// scripts/go-toolchains.sh's cache ($GOSCOPE_CACHE, else XDG's, else ~/.cache/goscope).
std::string cache_dir() {
  if (const char* c = std::getenv("GOSCOPE_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/goscope";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.cache/goscope";
}

}  // namespace

CommandResult go_tool_pprof(const Toolchain& tc, const std::string& args, const std::string& file) {
  const std::string cmd = "env -i PATH=/usr/bin:/bin HOME='" + scratch_dir() + "' PPROF_BINARY_PATH='" +
                          scratch_dir() + "/no-binaries' GOENV=off GOTOOLCHAIN=local GOROOT='" + tc.goroot +
                          "' GOCACHE='" + cache_dir() + "/gocache/" + tc.version + "' timeout 120 '" + tc.goroot +
                          "/bin/go' tool pprof " + args + " '" + file + "' 2>&1";
  return run_command(cmd);
}

const std::vector<Toolchain>& toolchains() {
  static const std::vector<Toolchain> cached = [] {
    std::vector<Toolchain> v;
    std::istringstream in(
        run_command(std::string(GOSCOPE_SOURCE_DIR) + "/scripts/go-toolchains.sh --print 2>/dev/null")
            .output);
    std::string version, goroot;
    while (in >> version >> goroot) v.push_back({version, goroot});
    return v;
  }();
  return cached;
}

std::string testprog_dir(const std::string& version, const std::string& variant) {
  static const std::string dir = [] {
    std::string d =
        run_command(std::string(GOSCOPE_SOURCE_DIR) + "/scripts/build-testprogs.sh --print-dir").output;
    while (!d.empty() && (d.back() == '\n' || d.back() == ' ')) d.pop_back();
    return d;
  }();
  return dir + "/" + version + "/" + variant;
}

std::string testprog(const std::string& version, const std::string& variant, const std::string& prog) {
  std::string path = testprog_dir(version, variant) + "/" + prog;
  if (!std::filesystem::exists(path))
    ADD_FAILURE() << "test program missing: " << path << " (run scripts/build-testprogs.sh)";
  return path;
}

}  // namespace goscope::testing
