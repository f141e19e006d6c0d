// The hook table: one descriptor per Hook, unique names, and descriptors that make sense
// (a planned hook has sites and a decode function; an atomic hook nothing else).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "loader/hooks.h"

namespace goscope::loader {
namespace {

TEST(LoaderHooks, EveryHookHasExactlyOneDescriptor) {
  std::multiset<uint16_t> seen;
  for (const HookDescriptor& d : hook_table()) seen.insert(static_cast<uint16_t>(d.hook));
  for (uint16_t h = 1; h < static_cast<uint16_t>(Hook::kCount_); h++) {
    EXPECT_EQ(seen.count(h), 1u) << "hook " << h;
    const HookDescriptor* d = hook_descriptor(static_cast<Hook>(h));
    ASSERT_NE(d, nullptr) << "hook " << h;
    EXPECT_EQ(static_cast<uint16_t>(d->hook), h);
  }
  EXPECT_EQ(seen.count(0), 0u);
  EXPECT_EQ(hook_table().size(), static_cast<size_t>(Hook::kCount_) - 1);
  EXPECT_EQ(hook_descriptor(Hook::kNone), nullptr);
  EXPECT_EQ(hook_descriptor(Hook::kCount_), nullptr);
  EXPECT_STREQ(hook_name(Hook::kNone), "none");
  EXPECT_STREQ(hook_name(Hook::kCount_), "?");
}

TEST(LoaderHooks, NamesAreUnique) {
  std::set<std::string> names;
  for (const HookDescriptor& d : hook_table()) {
    EXPECT_FALSE(std::string(d.name).empty());
    EXPECT_TRUE(names.insert(d.name).second) << d.name;
    EXPECT_STREQ(hook_name(d.hook), d.name);
  }
}

TEST(LoaderHooks, DescriptorsAreConsistent) {
  for (const HookDescriptor& d : hook_table()) {
    SCOPED_TRACE(d.name);
    EXPECT_FALSE(d.functions.empty());
    if (d.set == HookSet::kNever) {
      EXPECT_EQ(d.sites, 0);
      EXPECT_EQ(d.decode, nullptr);
      continue;
    }
    EXPECT_NE(d.sites, 0);
    EXPECT_NE(d.decode, nullptr);
    const bool atomic = d.sites & kAtAtomic;
    EXPECT_EQ(atomic, d.set == HookSet::kLockHolders);
    if (atomic) {
      EXPECT_EQ(d.sites, kAtAtomic);
      EXPECT_EQ(d.flags, GS_SITE_READ_ATOMIC);
    }
  }
  // The names `trace --list-probes` prints.
  EXPECT_STREQ(hook_name(Hook::kSemacquire), "semacquire1");
  EXPECT_STREQ(hook_name(Hook::kNotifyOne), "notifylist_notify_one");
  EXPECT_STREQ(hook_name(Hook::kInlineRUnlock), "inlined RWMutex.RUnlock");
}

}  // namespace
}  // namespace goscope::loader
