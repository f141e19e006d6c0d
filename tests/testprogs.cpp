#include "testprogs.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#ifndef GOSCOPE_SOURCE_DIR
#error "GOSCOPE_SOURCE_DIR must be defined by the build"
#endif

namespace goscope::testing {

namespace {

std::string run_and_read(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

}  // namespace

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

const std::vector<Toolchain>& toolchains() {
  static const std::vector<Toolchain> cached = [] {
    std::vector<Toolchain> v;
    std::istringstream in(
        run_and_read(std::string(GOSCOPE_SOURCE_DIR) + "/scripts/go-toolchains.sh --print 2>/dev/null"));
    std::string version, goroot;
    while (in >> version >> goroot) v.push_back({version, goroot});
    return v;
  }();
  return cached;
}

std::string testprog_dir(const std::string& version, const std::string& variant) {
  static const std::string dir = [] {
    std::string d = run_and_read(std::string(GOSCOPE_SOURCE_DIR) + "/scripts/build-testprogs.sh --print-dir");
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
