// The build id goscope stores for pprof's mapping: the GNU one when the linker wrote
// it (readelf -n; Go 1.24+ writes one derived from its own), else the one `go tool
// buildid` prints, for every toolchain of the matrix, stripped or not.
#include <gtest/gtest.h>

#include "symbolizer/elf_file.h"
#include "testprogs.h"

namespace goscope::sym {
namespace {

TEST(SymbolizerBuildId, IsWhatGoToolBuildidPrints) {
  GS_REQUIRE_TESTPROGS();
  for (const auto& tc : goscope::testing::toolchains())
    for (const char* variant : {"default", "stripped"}) {
      const std::string path = goscope::testing::testprog(tc.version, variant, "pipeline");
      auto elf = ElfFile::open(path);
      ASSERT_TRUE(elf) << elf.error().message;
      auto want = goscope::testing::run_command("readelf -n " + path +
                                                " | sed -n 's/^ *Build ID: *//p'");
      ASSERT_EQ(want.exit_code, 0) << want.output;
      if (want.output.empty()) {
        want = goscope::testing::run_command("GOROOT=" + tc.goroot + " " + tc.goroot + "/bin/go tool buildid " +
                                             path);
        ASSERT_EQ(want.exit_code, 0) << want.output;
      }
      std::string id = want.output;
      while (!id.empty() && id.back() == '\n') id.pop_back();
      EXPECT_EQ(elf->build_id(), id) << tc.version << " " << variant;
    }
}

}  // namespace
}  // namespace goscope::sym
