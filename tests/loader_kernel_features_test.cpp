// How the kernel feature probes read what they saw: for each errno a probe step can
// get, what goscope concludes (supported, missing, or could not tell), which way it
// attaches its hooks, and when it refuses to run. The probes themselves need root and
// a kernel; these readings need neither.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "loader/kernel_features.h"

namespace goscope::loader {
namespace {

using feature_probe::read_attach_cookie;
using feature_probe::read_ringbuf;
using feature_probe::read_uprobe_multi;

bool mentions(const FeatureAnswer& a, const std::string& text) {
  return a.how.find(text) != std::string::npos;
}

TEST(LoaderKernelFeatures, RingBufferIsThereWhenTheMapIsCreated) {
  EXPECT_TRUE(read_ringbuf(0).yes());
  const FeatureAnswer unknown_type = read_ringbuf(EINVAL);
  EXPECT_TRUE(unknown_type.no());
  EXPECT_TRUE(mentions(unknown_type, "EINVAL")) << unknown_type.how;
}

TEST(LoaderKernelFeatures, NoPrivilegesMeansNotProbedNeverMissing) {
  for (int err : {EPERM, EACCES}) {
    const FeatureAnswer r = read_ringbuf(err), c = read_attach_cookie(err, 0),
                        u = read_uprobe_multi(err, 0, 0);
    for (const FeatureAnswer* a : {&r, &c, &u}) {
      EXPECT_EQ(a->support, Support::kUnknown) << a->how;
      EXPECT_TRUE(mentions(*a, "root")) << a->how;
    }
  }
  // A BPF_LINK_CREATE refused for want of privileges says nothing about uprobe_multi either.
  EXPECT_EQ(read_uprobe_multi(0, EPERM, EPERM).support, Support::kUnknown);
}

TEST(LoaderKernelFeatures, NoBpfSyscallIsMissingEverything) {
  EXPECT_TRUE(read_ringbuf(ENOSYS).no());
  EXPECT_TRUE(read_attach_cookie(ENOSYS, ENOSYS).no());
  EXPECT_TRUE(read_uprobe_multi(ENOSYS, 0, 0).no());
  EXPECT_TRUE(mentions(read_ringbuf(ENOSYS), "CONFIG_BPF_SYSCALL"));
}

TEST(LoaderKernelFeatures, ErrorsThatSayNothingAreUnknown) {
  EXPECT_EQ(read_ringbuf(ENOMEM).support, Support::kUnknown);
  EXPECT_TRUE(mentions(read_ringbuf(ENOMEM), "ENOMEM"));
  EXPECT_EQ(read_attach_cookie(E2BIG, 0).support, Support::kUnknown);
  EXPECT_EQ(read_uprobe_multi(ENOMEM, 0, 0).support, Support::kUnknown);
  EXPECT_EQ(read_uprobe_multi(0, EFAULT, EINVAL).support, Support::kUnknown);
  EXPECT_EQ(read_uprobe_multi(0, EBADF, ESRCH).support, Support::kUnknown);
}

TEST(LoaderKernelFeatures, AttachCookieIsTheVerifiersVerdictOnTheHelper) {
  EXPECT_TRUE(read_attach_cookie(0, 0).yes());
  // The helper refused, the same program without it loaded: the helper is unknown (before 5.15).
  const FeatureAnswer helper = read_attach_cookie(EINVAL, 0);
  EXPECT_TRUE(helper.no());
  EXPECT_TRUE(mentions(helper, "bpf_get_attach_cookie")) << helper.how;
  // Even `r0 = 0; exit` refused: no kprobe-type programs at all.
  const FeatureAnswer none = read_attach_cookie(EINVAL, EINVAL);
  EXPECT_TRUE(none.no());
  EXPECT_TRUE(mentions(none, "CONFIG_BPF_EVENTS")) << none.how;
}

TEST(LoaderKernelFeatures, UprobeMultiIsThereWhenLinkCreateReachesItsPathCheck) {
  // 6.6+ with the PID filter fix: "/" is refused as no regular file (EBADF), PID -1 up front (EINVAL).
  const FeatureAnswer fixed = read_uprobe_multi(0, EBADF, EINVAL);
  EXPECT_TRUE(fixed.yes()) << fixed.how;
  EXPECT_TRUE(mentions(fixed, "EBADF") && mentions(fixed, "process")) << fixed.how;
  // A path that does not resolve reached the same code.
  EXPECT_TRUE(read_uprobe_multi(0, ENOENT, EINVAL).yes());
}

TEST(LoaderKernelFeatures, UprobeMultiIsMissingWhenLinkCreateRefusesTheAttachType) {
  // Before 6.6 link_create's attach type check says EINVAL; the PID step then says EINVAL
  // too, which must not be read as "filters by process".
  const FeatureAnswer old = read_uprobe_multi(0, EINVAL, EINVAL);
  EXPECT_TRUE(old.no()) << old.how;
  EXPECT_TRUE(mentions(old, "attach type")) << old.how;
  EXPECT_TRUE(read_uprobe_multi(EINVAL, 0, 0).no());
  // Known attach type, no uprobes in the kernel.
  EXPECT_TRUE(read_uprobe_multi(0, EOPNOTSUPP, 0).no());
}

TEST(LoaderKernelFeatures, UprobeMultiFilteringByThreadIsNotUsed) {
  // 6.6 to 6.9 without the fix: PID -1 goes through to the path check, and a link for a
  // PID would see only the thread with that id.
  const FeatureAnswer by_thread = read_uprobe_multi(0, EBADF, EBADF);
  EXPECT_TRUE(by_thread.no()) << by_thread.how;
  EXPECT_TRUE(mentions(by_thread, "thread")) << by_thread.how;
}

TEST(LoaderKernelFeatures, HookAttachPathFollowsTheProbeAndTheOverride) {
  const FeatureAnswer yes{Support::kYes, "probed"};
  const FeatureAnswer no{Support::kNo, "BPF_LINK_CREATE does not know the uprobe_multi attach type (EINVAL)"};
  const FeatureAnswer unknown{Support::kUnknown, "loading a BPF program was not permitted (EPERM)"};

  HookAttachPath p = choose_hook_attach_path(yes, nullptr);
  EXPECT_TRUE(p.uprobe_multi);
  EXPECT_EQ(p.text, "uprobe_multi (one link)");
  EXPECT_TRUE(choose_hook_attach_path(yes, "1").uprobe_multi);
  EXPECT_TRUE(choose_hook_attach_path(yes, "").uprobe_multi);

  p = choose_hook_attach_path(yes, "0");
  EXPECT_FALSE(p.uprobe_multi);
  EXPECT_EQ(p.text, "one uprobe link per site (no uprobe_multi: GOSCOPE_UPROBE_MULTI=0)");

  p = choose_hook_attach_path(no, nullptr);
  EXPECT_FALSE(p.uprobe_multi);
  EXPECT_EQ(p.text, "one uprobe link per site (no uprobe_multi: " + no.how + ")");

  p = choose_hook_attach_path(unknown, nullptr);
  EXPECT_FALSE(p.uprobe_multi);
  EXPECT_EQ(p.text, "one uprobe link per site (no uprobe_multi: not probed: " + unknown.how + ")");
}

TEST(LoaderKernelFeatures, RefusesOnlyWhenARequiredFeatureIsKnownMissing) {
  KernelFeatures f;
  f.ringbuf = {Support::kYes, ""};
  f.attach_cookie = {Support::kYes, ""};
  f.uprobe_multi = {Support::kNo, "old"};
  EXPECT_EQ(missing_required_features(f), "");  // uprobe_multi is optional

  f.attach_cookie = {Support::kUnknown, "not permitted"};
  EXPECT_EQ(missing_required_features(f), "");  // the load will say why

  f.attach_cookie = {Support::kNo, "the verifier refused the helper"};
  std::string why = missing_required_features(f);
  EXPECT_NE(why.find("attach cookies"), std::string::npos) << why;
  EXPECT_NE(why.find("bpf_get_attach_cookie"), std::string::npos) << why;
  EXPECT_NE(why.find("Linux 5.15"), std::string::npos) << why;
  EXPECT_NE(why.find("the verifier refused the helper"), std::string::npos) << why;
  EXPECT_EQ(why.find("ring buffer"), std::string::npos) << why;

  f.ringbuf = {Support::kNo, "EINVAL"};
  why = missing_required_features(f);
  EXPECT_NE(why.find("BPF_MAP_TYPE_RINGBUF"), std::string::npos) << why;
  EXPECT_NE(why.find("Linux 5.8"), std::string::npos) << why;
  EXPECT_NE(why.find("Linux 5.15"), std::string::npos) << why;
}

// Raw BTF: a struct btf_header (24 bytes), no types, then `strings`.
std::vector<uint8_t> btf_with_strings(const std::string& strings, uint16_t magic = 0xeB9F) {
  std::vector<uint8_t> b(24 + strings.size());
  const uint32_t hdr_len = 24, type_off = 0, type_len = 0, str_off = 0;
  const auto str_len = static_cast<uint32_t>(strings.size());
  std::memcpy(&b[0], &magic, 2);
  b[2] = 1;  // version
  std::memcpy(&b[4], &hdr_len, 4);
  std::memcpy(&b[8], &type_off, 4);
  std::memcpy(&b[12], &type_len, 4);
  std::memcpy(&b[16], &str_off, 4);
  std::memcpy(&b[20], &str_len, 4);
  std::memcpy(&b[24], strings.data(), strings.size());
  return b;
}

TEST(LoaderKernelFeatures, BtfNameLookupMatchesWholeStringsOnly) {
  using feature_probe::btf_has_name;
  const std::string strings("\0int\0bpf_mem_alloc\0bpf_mem_cache\0", 33);
  const auto btf = btf_with_strings(strings);
  EXPECT_TRUE(btf_has_name(btf, "bpf_mem_alloc"));
  EXPECT_TRUE(btf_has_name(btf, "int"));
  EXPECT_FALSE(btf_has_name(btf, "bpf_mem"));
  EXPECT_FALSE(btf_has_name(btf, "mem_alloc"));
  EXPECT_FALSE(btf_has_name(btf, ""));
  EXPECT_FALSE(btf_has_name(btf_with_strings(strings, 0x1234), "bpf_mem_alloc"));  // not BTF
  auto truncated = btf;
  truncated.resize(30);
  EXPECT_FALSE(btf_has_name(truncated, "bpf_mem_alloc"));
  EXPECT_FALSE(btf_has_name({}, "bpf_mem_alloc"));
}

TEST(LoaderKernelFeatures, ProbedOnceForTheWholeProcess) {
  // Without root every answer is "unknown"; either way there is one answer, shared.
  std::vector<const KernelFeatures*> seen(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); i++) threads.emplace_back([&seen, i] { seen[i] = &kernel_features(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<const KernelFeatures*>(seen.begin(), seen.end()).size(), 1u);
  const KernelFeatures& f = kernel_features();
  EXPECT_EQ(&f, seen[0]);
  for (const FeatureAnswer* a : {&f.ringbuf, &f.attach_cookie, &f.uprobe_multi}) EXPECT_FALSE(a->how.empty());
  EXPECT_GT(f.probe_ns, 0);
}

TEST(LoaderKernelFeatures, ErrnoNamesAreTheKernelsOwn) {
  EXPECT_EQ(errno_name(EBADF), "EBADF");
  EXPECT_EQ(errno_name(EINVAL), "EINVAL");
}

}  // namespace
}  // namespace goscope::loader
