#include "common/expected.h"

#include <gtest/gtest.h>

#include <string>

namespace goscope {
namespace {

Expected<int> parse_positive(int v) {
  if (v <= 0) return make_error("not positive: " + std::to_string(v));
  return v;
}

Expected<int> doubled(int v) {
  GS_TRY(int x, parse_positive(v));
  return 2 * x;
}

Expected<void> check_positive(int v) {
  GS_CHECK(parse_positive(v));
  return {};
}

TEST(Expected, CarriesValueOrError) {
  auto ok = parse_positive(3);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "not positive: -1");
}

TEST(Expected, TryPropagatesErrors) {
  EXPECT_EQ(*doubled(4), 8);
  auto bad = doubled(0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "not positive: 0");
  EXPECT_TRUE(check_positive(1));
  EXPECT_FALSE(check_positive(-5));
}

TEST(Expected, FromErrnoNamesTheCause) {
  Error e = Error::from_errno("cannot open x", -ENOENT);
  EXPECT_EQ(e.sys_errno, ENOENT);
  EXPECT_NE(e.message.find("No such file"), std::string::npos);
}

}  // namespace
}  // namespace goscope
