// Finds the Go toolchains and the test programs they built (scripts/
// go-toolchains.sh and scripts/build-testprogs.sh). Outside CI a missing
// matrix skips loudly; under CI (CI=true) it fails: CI must test every version.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace goscope::testing {

struct Toolchain {
  std::string version;  // "1.19"
  std::string goroot;
};

// Every toolchain of the matrix that is in the cache, in matrix order.
const std::vector<Toolchain>& toolchains();
// Path of a built test program: <testprogs>/<version>/<variant>/<prog>. A
// missing one is a test failure (the matrix is there, so it must be built).
std::string testprog(const std::string& version, const std::string& variant, const std::string& prog);
// The folder of every program built by one toolchain in one variant.
std::string testprog_dir(const std::string& version, const std::string& variant);
// Runs a shell command; its stdout (add " 2>&1" for stderr too) and exit code.
struct CommandResult {
  int exit_code = -1;  // -1: not run, or killed by a signal
  std::string output;
};
CommandResult run_command(const std::string& cmd);
// True under CI, where nothing may be skipped.
bool in_ci();

// A scratch folder for the whole test run (removed at exit): profiles, pprof's HOME,
// and an empty "no-binaries" folder for PPROF_BINARY_PATH.
const std::string& scratch_dir();
// `go tool pprof ARGS FILE` of a matrix toolchain (stdout and stderr), with a clean
// environment and no way to find the profiled binary: what pprof shows comes from the
// profile alone. GOCACHE is the matrix's: Go >= 1.25 builds pprof on first use.
CommandResult go_tool_pprof(const Toolchain& tc, const std::string& args, const std::string& file);

}  // namespace goscope::testing

// Skips loudly (outside CI) or fails (under CI, where nothing may be skipped)
// the current test; stream the reason into it: GS_SKIP_OR_FAIL() << "why";
#define GS_SKIP_OR_FAIL()                                                           \
  return ::testing::internal::AssertHelper(                                         \
             ::goscope::testing::in_ci() ? ::testing::TestPartResult::kFatalFailure \
                                         : ::testing::TestPartResult::kSkip,        \
             __FILE__, __LINE__, "SKIPPED LOUDLY (a failure under CI)") = ::testing::Message()

// Skips (outside CI) or fails (in CI) the current test when the Go matrix is not built.
#define GS_REQUIRE_TESTPROGS()                                                              \
  do {                                                                                      \
    if (::goscope::testing::toolchains().empty()) {                                         \
      if (::goscope::testing::in_ci()) FAIL() << "Go toolchain matrix missing under CI";    \
      GTEST_SKIP() << "SKIPPED LOUDLY: Go toolchain matrix not built; run scripts/test.sh"; \
    }                                                                                       \
  } while (0)
