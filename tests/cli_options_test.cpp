#include "cli/options.h"

#include <gtest/gtest.h>

namespace goscope::cli {
namespace {

using std::chrono::nanoseconds;

TEST(ParseDuration, AcceptsCommonUnits) {
  EXPECT_EQ(*parse_duration("500ms"), nanoseconds(500'000'000));
  EXPECT_EQ(*parse_duration("30s"), nanoseconds(30'000'000'000));
  EXPECT_EQ(*parse_duration("30"), nanoseconds(30'000'000'000));
  EXPECT_EQ(*parse_duration("1.5s"), nanoseconds(1'500'000'000));
  EXPECT_EQ(*parse_duration("2m"), nanoseconds(120'000'000'000));
  EXPECT_EQ(*parse_duration("1h"), nanoseconds(3'600'000'000'000));
}

TEST(ParseDuration, RejectsGarbageWithAHint) {
  for (const char* bad : {"", "abc", "10x", "-5s", "0s", "1..2s", "s"}) {
    auto d = parse_duration(bad);
    EXPECT_FALSE(d) << bad;
    if (!d) {
      EXPECT_NE(d.error().message.find("duration"), std::string::npos) << bad;
    }
  }
}

TEST(TargetOptions, ExactlyOneTarget) {
  TargetOptions none;
  EXPECT_FALSE(none.validate());
  TargetOptions pid;
  pid.pid = 42;
  EXPECT_TRUE(pid.validate());
  TargetOptions cmd;
  cmd.command = {"./prog", "arg"};
  EXPECT_TRUE(cmd.validate());
  TargetOptions both = cmd;
  both.pid = 42;
  auto r = both.validate();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not both"), std::string::npos);
}

}  // namespace
}  // namespace goscope::cli
