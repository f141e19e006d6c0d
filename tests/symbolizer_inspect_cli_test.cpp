// `goscope inspect` end to end (unprivileged): the built CLI on test programs,
// on non-Go input and on a missing PID, with its exit codes and JSON.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "testprogs.h"

namespace goscope::sym {
namespace {

using goscope::testing::testprog;
using goscope::testing::toolchains;

// The CLI sits beside the test binary in the build tree: build/tests/.. -> build/src/cli/goscope.
std::string goscope_binary() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const auto p = self.parent_path().parent_path() / "src" / "cli" / "goscope";
  return std::filesystem::exists(p) ? p.string() : std::string();
}

// stdout and stderr together
goscope::testing::CommandResult run(const std::string& cmd) {
  return goscope::testing::run_command(cmd + " 2>&1");
}

#define GS_REQUIRE_CLI(var)                 \
  const std::string var = goscope_binary(); \
  if (var.empty()) GS_SKIP_OR_FAIL() << "goscope CLI not built next to the tests"

TEST(SymbolizerInspectCli, BadTargetsExitTwoWithAClearMessage) {
  GS_REQUIRE_CLI(gs);
  auto r = run(gs + " inspect /bin/sh");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("not a Go program"), std::string::npos) << r.output;
  r = run(gs + " inspect /nonexistent/prog");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("No such file"), std::string::npos) << r.output;
  r = run(gs + " inspect -p 1073741823");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("no process with PID"), std::string::npos) << r.output;
  r = run(gs + " inspect");
  EXPECT_EQ(r.exit_code, 2);
}

TEST(SymbolizerInspectCli, JsonOnEveryVariantOfTheMatrix) {
  GS_REQUIRE_TESTPROGS();
  GS_REQUIRE_CLI(gs);
  size_t checked = 0;
  for (const auto& tc : toolchains()) {
    for (const char* variant : {"default", "stripped", "pie", "noinline", "pie-stripped"}) {
      const std::string bin = testprog(tc.version, variant, "mutex_contention");
      auto r = run(gs + " inspect --json --addr 0x401000 '" + bin + "'");
      ASSERT_EQ(r.exit_code, 0) << r.output;
      auto j = nlohmann::json::parse(r.output, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << r.output.substr(0, 500);
      const bool stripped = std::string(variant).find("stripped") != std::string::npos;
      EXPECT_EQ(j["go_major_minor"], tc.version);
      EXPECT_EQ(j["pie"], std::string(variant).find("pie") != std::string::npos);
      EXPECT_EQ(j["dwarf"], !stripped);
      EXPECT_EQ(j["offsets_source"], stripped ? "table " + tc.version : "DWARF");
      EXPECT_FALSE(j["offsets"]["g.goid"].is_null());
      EXPECT_GT(j["wait_reasons"].size(), 20u);
      size_t present = 0;
      for (const auto& h : j["hooks"]) present += h["present"].get<bool>();
      EXPECT_GE(present, 12u) << bin;
      // -gcflags=all=-l: nothing is inlined, so there are no inlined lock sites.
      EXPECT_EQ(j["inlined_lock_sites"].empty(), std::string(variant) == "noinline") << bin;
      ASSERT_EQ(j["addresses"].size(), 1u);
      EXPECT_FALSE(j["addresses"][0]["frames"].empty()) << bin;
      checked++;
    }
  }
  if (checked == 0) GS_SKIP_OR_FAIL() << "mutex_contention not built";
}

}  // namespace
}  // namespace goscope::sym
