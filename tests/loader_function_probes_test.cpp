// `goscope probe`'s plan (where each function's probe goes, on real binaries of the
// matrix) and the decoding of a gs_probe_hit record built by hand the way BPF fills it:
// fields, the load bias a PIE hit carries, and malformed records refused.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "loader/function_probes.h"
#include "symbolizer/probe_sites.h"
#include "symbolizer/symbolizer.h"
#include "testprogs.h"

namespace goscope::loader {
namespace {

constexpr uint64_t kPieBias = 0x555500000000;

FunctionProbePlan two_probes() {
  FunctionProbePlan plan;
  plan.probes = {{"main.first", 0x401004, 0x1004}, {"main.second", 0x402008, 0x2008}};
  return plan;
}

gs_probe_hit hit_of(uint64_t cookie, uint64_t ip) {
  gs_probe_hit ev{};
  ev.hdr.type = GS_EV_PROBE_HIT;
  ev.hdr.size = sizeof ev;
  ev.hdr.ktime_ns = 123456789;
  ev.hdr.tgid = 4242;
  ev.hdr.tid = 4243;
  ev.hdr.goid = 17;
  ev.cookie = cookie;
  ev.ip = ip;
  ev.sp = 0xc000050f00;
  ev.ret_addr = kPieBias + 0x404321;
  ev.g = 0xc000001000;
  for (int i = 0; i < GS_ABI_INT_REGS; i++) ev.regs[i] = 0x100 + static_cast<uint64_t>(i);
  return ev;
}

std::vector<uint8_t> bytes_of(const gs_probe_hit& ev) {
  std::vector<uint8_t> out(sizeof ev);
  std::memcpy(out.data(), &ev, sizeof ev);
  return out;
}

TEST(LoaderFunctionProbes, DecodesAHitOfAPieProcess) {
  const FunctionProbePlan plan = two_probes();
  const auto hit = decode_probe_hit(bytes_of(hit_of(1, kPieBias + 0x402008)), plan);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->ktime_ns, 123456789u);
  EXPECT_EQ(hit->tid, 4243u);
  EXPECT_EQ(hit->goid, 17u);
  EXPECT_EQ(hit->probe, 1u);
  EXPECT_EQ(hit->function, "main.second");
  EXPECT_EQ(hit->ip, kPieBias + 0x402008);
  EXPECT_EQ(hit->return_address, kPieBias + 0x404321);
  EXPECT_EQ(hit->load_bias, kPieBias);
  for (size_t i = 0; i < hit->args.size(); i++) EXPECT_EQ(hit->args[i], 0x100 + i);
}

TEST(LoaderFunctionProbes, ANonPieHitHasNoBias) {
  const auto hit = decode_probe_hit(bytes_of(hit_of(0, 0x401004)), two_probes());
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->function, "main.first");
  EXPECT_EQ(hit->load_bias, 0u);
}

TEST(LoaderFunctionProbes, MalformedRecordsAreRefused) {
  const FunctionProbePlan plan = two_probes();
  auto record = bytes_of(hit_of(0, 0x401004));
  EXPECT_FALSE(decode_probe_hit(std::span(record).first(record.size() - 1), plan));  // too short
  EXPECT_FALSE(decode_probe_hit({}, plan));
  gs_probe_hit other = hit_of(0, 0x401004);
  other.hdr.type = GS_EV_PROBE_HIT + 1;
  EXPECT_FALSE(decode_probe_hit(bytes_of(other), plan));
  EXPECT_FALSE(decode_probe_hit(bytes_of(hit_of(2, 0x401004)), plan));  // no such probe
  // Longer than the struct: the rest is ignored.
  record.resize(record.size() + 8);
  EXPECT_TRUE(decode_probe_hit(record, plan));
}

TEST(LoaderFunctionProbes, PlansAfterThePrologueAndListsAbsentFunctions) {
  GS_REQUIRE_TESTPROGS();
  for (const auto& tc : testing::toolchains()) {
    for (const char* variant : {"default", "pie"}) {
      SCOPED_TRACE(tc.version + " " + variant);
      auto bin = sym::GoBinary::open(testing::testprog(tc.version, variant, "hello_probe"));
      ASSERT_TRUE(bin) << bin.error().message;
      auto plan = plan_function_probes(**bin, {"runtime.chansend1", "no.such.function", "main.main"});
      ASSERT_TRUE(plan) << plan.error().message;
      EXPECT_EQ(plan->absent, std::vector<std::string>{"no.such.function"});
      ASSERT_EQ(plan->probes.size(), 2u);
      EXPECT_EQ(plan->offsets.g_goid, *(*bin)->offsets().offsets.g_goid);
      for (const auto& p : plan->probes) {
        auto sites = sym::function_probe_sites(**bin, p.function);
        ASSERT_TRUE(sites);
        EXPECT_EQ(p.vaddr, sites->after_prologue) << p.function;
        // After the stack check when there is one (runtime.chansend1 has none: its entry).
        if (sites->has_stack_check)
          EXPECT_GT(p.vaddr, *(*bin)->function_address(p.function)) << p.function;
        else
          EXPECT_EQ(p.vaddr, *(*bin)->function_address(p.function)) << p.function;
        EXPECT_EQ(p.file_offset, *(*bin)->elf().vaddr_to_file_offset(p.vaddr)) << p.function;
      }
      EXPECT_EQ(plan->probes[0].function, "runtime.chansend1");
      EXPECT_EQ(plan->probes[1].function, "main.main");

      auto none = plan_function_probes(**bin, {"no.such.function"});
      ASSERT_TRUE(none);
      EXPECT_TRUE(none->probes.empty());
    }
  }
}

}  // namespace
}  // namespace goscope::loader
