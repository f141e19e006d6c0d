// Folded stacks: the exact text flamegraph.pl and speedscope read.
#include "output/folded.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace goscope::output {
namespace {

Location at(uint64_t address, const std::vector<std::string>& functions_innermost_first) {
  Location l{address, {}};
  for (const auto& f : functions_innermost_first) l.lines.push_back({f, "", "/src/app/main.go", 1});
  return l;
}

std::vector<Sample> samples() {
  Location lock = at(0x401000, {"sync.(*Mutex).Lock", "main.(*Store).Get"});  // Lock inlined into Get
  Location handler = at(0x402000, {"main.handler"});
  Location main = at(0x403000, {"main.main"});
  Location recv = at(0x404000, {"runtime.chanrecv1"});
  return {
      {.stack = {lock, handler, main}, .values = {3, 3000}},
      {.stack = {recv, handler, main}, .values = {1, 5000}},
      {.stack = {lock, handler, main}, .values = {2, 1500}},  // same stack: summed
      {.stack = {at(0x405abc, {}), main}, .values = {1, 7}},  // unsymbolized frame
      {.stack = {recv, main}, .values = {1, 0}},              // nothing to draw
      {.stack = {at(0x406000, {"main.odd;name"}), main}, .values = {1, 1}},
  };
}

TEST(OutputFolded, RootFirstInlinedFramesSummedAndSorted) {
  auto delay = folded_stacks(samples(), 1);
  ASSERT_TRUE(delay) << delay.error().message;
  EXPECT_EQ(*delay,
            "main.main;0x405abc 7\n"
            "main.main;main.handler;main.(*Store).Get;sync.(*Mutex).Lock 4500\n"
            "main.main;main.handler;runtime.chanrecv1 5000\n"
            "main.main;main.odd_name 1\n");

  auto count = folded_stacks(samples(), 0);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count,
            "main.main;0x405abc 1\n"
            "main.main;main.handler;main.(*Store).Get;sync.(*Mutex).Lock 5\n"
            "main.main;main.handler;runtime.chanrecv1 1\n"
            "main.main;main.odd_name 1\n"
            "main.main;runtime.chanrecv1 1\n");
}

TEST(OutputFolded, EmptyAndBadIndex) {
  auto none = folded_stacks({}, 0);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, "");
  auto bad = folded_stacks(samples(), 2);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, ::testing::HasSubstr("only 2 values"));
}

TEST(OutputFolded, WritesFile) {
  auto path = std::filesystem::temp_directory_path() / "goscope-folded-test.txt";
  auto s = samples();
  ASSERT_TRUE(write_folded_file(path.string(), s, 1));
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  std::filesystem::remove(path);
  EXPECT_EQ(text.str(), *folded_stacks(s, 1));
}

}  // namespace
}  // namespace goscope::output
