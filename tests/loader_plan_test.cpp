// The probe plan of `goscope trace` against real binaries of every Go version of the
// matrix: every site is where it should be (after the stack check, on a RET, right after
// an inlined LOCK CMPXCHG / XADD), attaches at the right file offset, carries a cookie that
// names itself and its slot, and reads what the decoder expects; the offsets handed to BPF
// are the binary's (DWARF, or the generated table when stripped).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "loader/probe_plan.h"
#include "symbolizer/probe_sites.h"
#include "symbolizer/symbolizer.h"
#include "testprogs.h"

namespace goscope::loader {
namespace {

using goscope::testing::testprog;
using goscope::testing::toolchains;

const std::vector<std::string> kPrograms = {"pipeline", "mutex_contention", "waitgroup_cond", "select_mix"};
const std::vector<std::string> kVariants = {"default", "stripped", "pie"};

int minor_of(const std::string& version) {
  return std::stoi(version.substr(2));
}

std::shared_ptr<const sym::GoBinary> open_binary(const std::string& path) {
  auto b = sym::GoBinary::open_cached(path);
  EXPECT_TRUE(b) << path << ": " << b.error().message;
  return b ? *b : nullptr;
}

std::optional<Plan> plan_of(const sym::GoBinary& bin, ProbeSet set, bool scheduler = false,
                            bool lock_holders = false, uint32_t depth = GS_DEFAULT_FRAMES) {
  PlanOptions o;
  o.set = set;
  o.scheduler = scheduler;
  o.lock_holders = lock_holders;
  auto p = make_plan(bin, o, depth);
  EXPECT_TRUE(p) << bin.elf().path() << ": " << p.error().message;
  if (!p) return std::nullopt;
  return std::move(*p);
}

std::vector<const PlannedSite*> sites_of(const Plan& p, Hook h, uint8_t kind) {
  std::vector<const PlannedSite*> v;
  for (const auto& s : p.sites)
    if (s.hook == h && s.site == kind) v.push_back(&s);
  return v;
}

// The runtime function a hook is planned on (empty when it has no site).
std::string function_of(const Plan& p, Hook h) {
  for (const auto& s : p.sites)
    if (s.hook == h) return s.function;
  return "";
}

// What the planner asks the symbolizer for (probe_plan.cpp): the same list, kept apart.
const std::vector<std::string> kLockFunctions = {
    "sync.(*Mutex).Lock",      "sync.(*Mutex).Unlock",        "sync.(*RWMutex).RLock",
    "sync.(*RWMutex).RUnlock", "internal/sync.(*Mutex).Lock", "internal/sync.(*Mutex).Unlock"};

Hook atomic_hook(const sym::InlinedAtomicSite& a) {
  const bool cmpxchg = a.kind == sym::AtomicKind::kLockCmpxchg;
  if (a.inlined.ends_with("(*Mutex).Lock") && cmpxchg) return Hook::kInlineLock;
  if (a.inlined.ends_with("(*Mutex).Unlock") && !cmpxchg) return Hook::kInlineUnlock;
  if (a.inlined.ends_with("(*RWMutex).RLock") && !cmpxchg) return Hook::kInlineRLock;
  if (a.inlined.ends_with("(*RWMutex).RUnlock") && !cmpxchg) return Hook::kInlineRUnlock;
  return Hook::kNone;
}

uint8_t reg_of(const std::string& name) {
  static const std::map<std::string, uint8_t> regs = {
      {"rax", GS_REG_RAX}, {"rbx", GS_REG_RBX}, {"rcx", GS_REG_RCX}, {"rdx", GS_REG_RDX},
      {"rsi", GS_REG_RSI}, {"rdi", GS_REG_RDI}, {"rbp", GS_REG_RBP}, {"rsp", GS_REG_RSP},
      {"r8", GS_REG_R8},   {"r9", GS_REG_R9},   {"r10", GS_REG_R10}, {"r11", GS_REG_R11},
      {"r12", GS_REG_R12}, {"r13", GS_REG_R13}, {"r14", GS_REG_R14}, {"r15", GS_REG_R15}};
  auto it = regs.find(name);
  return it == regs.end() ? 0 : it->second;
}

std::span<const uint8_t> code(const sym::GoBinary& bin, uint64_t vaddr, uint64_t n) {
  return bin.elf().vaddr_bytes(vaddr, n);
}

// The byte at an ELF virtual address, -1 when the file has none there.
int byte_at(const sym::GoBinary& bin, uint64_t vaddr) {
  auto b = code(bin, vaddr, 1);
  return b.empty() ? -1 : b[0];
}

// Every invariant a site of any plan must hold, checked against the binary itself.
void check_sites(const sym::GoBinary& bin, const Plan& plan, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_LE(plan.configs.size(), size_t{GS_MAX_SLOTS});
  EXPECT_TRUE(plan.skipped.empty()) << plan.skipped.front();
  // One slot per (hook, site kind), each used.
  std::set<std::pair<uint16_t, uint8_t>> kinds;
  std::vector<size_t> uses(plan.configs.size());
  for (const auto& c : plan.configs) {
    EXPECT_NE(c.hook, 0);
    EXPECT_TRUE(kinds.emplace(c.hook, c.site).second) << "two slots for hook " << c.hook;
    EXPECT_LE(c.nderefs, GS_MAX_DEREFS);
  }
  const sym::Pclntab& t = bin.pclntab();
  const auto atomics = sym::inlined_atomic_sites(bin, true, kLockFunctions, true);
  std::map<std::string, sym::FunctionProbeSites> probe_sites;
  for (size_t i = 0; i < plan.sites.size(); i++) {
    const PlannedSite& s = plan.sites[i];
    SCOPED_TRACE(std::string(hook_name(s.hook)) + " at " + s.function);
    ASSERT_LT(s.slot, plan.configs.size());
    uses[s.slot]++;
    EXPECT_EQ(GS_COOKIE_SITE(s.cookie), i);
    EXPECT_EQ(GS_COOKIE_SLOT(s.cookie), s.slot);
    EXPECT_EQ(plan.configs[s.slot].hook, static_cast<uint16_t>(s.hook));
    EXPECT_EQ(plan.configs[s.slot].site, s.site);
    auto off = bin.elf().vaddr_to_file_offset(s.vaddr);
    ASSERT_TRUE(off) << off.error().message;
    EXPECT_EQ(s.file_offset, *off);
    // The bytes the uprobe replaces are the bytes of the planned instruction.
    ASSERT_LT(s.file_offset, bin.elf().bytes().size());
    EXPECT_EQ(bin.elf().bytes()[s.file_offset], byte_at(bin, s.vaddr));

    if (s.site == GS_SITE_ATOMIC) {
      const size_t in = s.function.find(" in ");
      ASSERT_NE(in, std::string::npos);
      const std::string caller = s.function.substr(in + 4);
      auto f = t.function_at(s.vaddr);
      ASSERT_TRUE(f);
      EXPECT_EQ(t.function_name(*f), caller);
      auto a =
          std::find_if(atomics.begin(), atomics.end(), [&](const auto& x) { return x.after == s.vaddr; });
      ASSERT_NE(a, atomics.end()) << "no LOCK instruction just before 0x" << std::hex << s.vaddr;
      EXPECT_EQ(atomic_hook(*a), s.hook);
      EXPECT_EQ(GS_COOKIE_REG(s.cookie), reg_of(a->base_register));
      EXPECT_NE(GS_COOKIE_REG(s.cookie), uint32_t{GS_REG_NONE});
      EXPECT_EQ(GS_COOKIE_DISP(s.cookie), a->displacement);
      // LOCK prefix, then CMPXCHG (0F B1) for a Lock, XADD (0F C1) for the others.
      auto insn = code(bin, a->instruction, s.vaddr - a->instruction);
      ASSERT_FALSE(insn.empty());
      EXPECT_EQ(insn[0], 0xF0);
      const uint8_t op = s.hook == Hook::kInlineLock ? 0xB1 : 0xC1;
      bool found = false;
      for (size_t k = 1; k + 1 < insn.size(); k++) found |= insn[k] == 0x0F && insn[k + 1] == op;
      EXPECT_TRUE(found);
      continue;
    }
    EXPECT_EQ(GS_COOKIE_REG(s.cookie), 0u);
    EXPECT_EQ(GS_COOKIE_DISP(s.cookie), 0);
    auto entry = bin.function_address(s.function);
    ASSERT_TRUE(entry);
    auto idx = t.function_named(s.function);
    ASSERT_TRUE(idx);
    EXPECT_GE(s.vaddr, *entry);
    EXPECT_LT(s.vaddr, t.function_end(*idx));
    auto [it, fresh] = probe_sites.try_emplace(s.function);
    if (fresh) {
      auto ps = sym::function_probe_sites(bin, s.function);
      ASSERT_TRUE(ps) << ps.error().message;
      it->second = std::move(*ps);
    }
    const sym::FunctionProbeSites& ps = it->second;
    if (s.site == GS_SITE_ENTRY) {
      EXPECT_EQ(s.vaddr, ps.after_prologue);
      if (ps.has_stack_check) {
        // Right after the JBE to the morestack block: rel8 (76 xx) or rel32 (0F 86 xx xx xx xx).
        EXPECT_GT(s.vaddr, *entry);
        auto before = code(bin, s.vaddr - 6, 6);
        ASSERT_EQ(before.size(), 6u);
        EXPECT_TRUE(before[4] == 0x76 || (before[0] == 0x0F && before[1] == 0x86));
      } else {
        EXPECT_EQ(s.vaddr, *entry);
      }
    } else {
      ASSERT_EQ(s.site, GS_SITE_RET);
      EXPECT_EQ(byte_at(bin, s.vaddr), 0xC3);
      EXPECT_NE(std::find(ps.returns.begin(), ps.returns.end(), s.vaddr), ps.returns.end());
    }
  }
  for (size_t k = 0; k < uses.size(); k++) EXPECT_GT(uses[k], 0u) << "slot " << k << " unused";
  // Every RET of a function with RET sites is probed: a missed one unbalances the pairs.
  for (const auto& [fn, ps] : probe_sites) {
    std::vector<uint64_t> planned;
    for (const auto& s : plan.sites)
      if (s.site == GS_SITE_RET && s.function == fn) planned.push_back(s.vaddr);
    if (!planned.empty()) {
      EXPECT_EQ(planned, ps.returns) << fn;
    }
  }
}

// What each slot reads: the words the decoder takes apart.
void check_configs(const sym::GoBinary& bin, const Plan& plan, int minor, const std::string& what) {
  SCOPED_TRACE(what);
  const sym::GoOffsets& o = bin.offsets().offsets;
  for (const auto& s : plan.sites) {
    const gs_site_config& c = plan.configs[s.slot];
    std::vector<std::pair<uint8_t, uint32_t>> reads;
    for (uint8_t k = 0; k < c.nderefs; k++) reads.emplace_back(c.derefs[k].base, c.derefs[k].offset);
    using R = std::vector<std::pair<uint8_t, uint32_t>>;
    switch (s.hook) {
      case Hook::kNewproc1:
        ASSERT_EQ(s.site, GS_SITE_RET);
        // RAX = the new g: goid, gopc, startpc, and from Go 1.21 on parentGoid.
        if (minor >= 21)
          EXPECT_EQ(reads, (R{{0, *o.g_goid}, {0, *o.g_gopc}, {0, *o.g_startpc}, {0, *o.g_parent_goid}}));
        else
          EXPECT_EQ(reads, (R{{0, *o.g_goid}, {0, *o.g_gopc}, {0, *o.g_startpc}}));
        EXPECT_EQ(c.flags, 0);
        break;
      case Hook::kMakechan:
        ASSERT_EQ(s.site, GS_SITE_RET);
        EXPECT_EQ(reads, (R{{0, *o.hchan_dataqsiz}, {0, *o.hchan_elemsize}}));
        EXPECT_EQ(c.flags, 0);
        break;
      case Hook::kReady:
        EXPECT_EQ(reads, (R{{0, *o.g_goid}}));
        EXPECT_EQ(c.flags, 0);
        break;
      case Hook::kCasgstatus:
        EXPECT_EQ(reads, (R{{0, *o.g_goid}}));
        EXPECT_EQ(c.flags, GS_SITE_NO_STACK);
        break;
      case Hook::kGopark:
        EXPECT_TRUE(reads.empty());
        EXPECT_EQ(c.flags, GS_SITE_WALK_WAITING);
        break;
      case Hook::kSelectgo:
        EXPECT_TRUE(reads.empty());
        EXPECT_EQ(c.flags, s.site == GS_SITE_ENTRY ? GS_SITE_READ_SCASES : 0);
        break;
      case Hook::kInlineLock:
      case Hook::kInlineUnlock:
      case Hook::kInlineRLock:
      case Hook::kInlineRUnlock:
        EXPECT_TRUE(reads.empty());
        EXPECT_EQ(c.flags, GS_SITE_READ_ATOMIC);
        break;
      default:
        EXPECT_TRUE(reads.empty()) << hook_name(s.hook);
        EXPECT_EQ(c.flags, 0) << hook_name(s.hook);
    }
  }
}

std::vector<std::string> default_absent(const std::string& prog) {
  if (prog == "waitgroup_cond") return {};
  return {"notifylist_wait", "notifylist_notify_one", "notifylist_notify_all"};
}

TEST(LoaderPlan, DefaultSetOnEveryVersionAndVariant) {
  GS_REQUIRE_TESTPROGS();
  for (const auto& tc : toolchains()) {
    for (const auto& variant : kVariants) {
      for (const auto& prog : kPrograms) {
        const std::string path = testprog(tc.version, variant, prog);
        auto bin = open_binary(path);
        ASSERT_TRUE(bin);
        auto plan = plan_of(*bin, ProbeSet::kDefault);
        ASSERT_TRUE(plan);
        check_sites(*bin, *plan, path);
        check_configs(*bin, *plan, minor_of(tc.version), path);
        SCOPED_TRACE(path);
        // Entry hooks every program has: exactly one site each.
        for (Hook h : {Hook::kGopark, Hook::kGoexit1, Hook::kReady, Hook::kSemacquire, Hook::kSemrelease,
                       Hook::kClosechan, Hook::kMutexUnlockSlow, Hook::kWaitGroupWait, Hook::kStopTheWorld,
                       Hook::kStartTheWorld}) {
          EXPECT_EQ(sites_of(*plan, h, GS_SITE_ENTRY).size(), 1u) << hook_name(h);
          EXPECT_EQ(plan->count(h), 1u) << hook_name(h);
        }
        EXPECT_EQ(function_of(*plan, Hook::kGopark), "runtime.gopark");
        EXPECT_EQ(function_of(*plan, Hook::kReady), "runtime.ready");
        EXPECT_EQ(function_of(*plan, Hook::kSemacquire), "runtime.semacquire1");
        EXPECT_EQ(function_of(*plan, Hook::kMutexLockSlow),
                  minor_of(tc.version) >= 24 ? "internal/sync.(*Mutex).lockSlow" : "sync.(*Mutex).lockSlow");
        // Results come from RET sites only.
        for (Hook h : {Hook::kNewproc1, Hook::kMakechan}) {
          EXPECT_GE(sites_of(*plan, h, GS_SITE_RET).size(), 1u) << hook_name(h);
          EXPECT_EQ(sites_of(*plan, h, GS_SITE_ENTRY).size(), 0u) << hook_name(h);
        }
        // lockSlow: its entry and every RET (the contended wait).
        EXPECT_EQ(sites_of(*plan, Hook::kMutexLockSlow, GS_SITE_ENTRY).size(), 1u);
        EXPECT_GE(sites_of(*plan, Hook::kMutexLockSlow, GS_SITE_RET).size(), 1u);
        // Cost follows blocking: no per-operation hooks.
        for (Hook h : {Hook::kChansend, Hook::kChanrecv, Hook::kSelectgo, Hook::kRWMutexLock,
                       Hook::kRWMutexUnlock, Hook::kCasgstatus, Hook::kInlineLock, Hook::kInlineUnlock,
                       Hook::kInlineRLock, Hook::kInlineRUnlock})
          EXPECT_EQ(plan->count(h), 0u) << hook_name(h);
        const size_t cond = prog == "waitgroup_cond" ? 1 : 0;
        EXPECT_EQ(plan->count(Hook::kNotifyListWait), cond);
        EXPECT_EQ(plan->count(Hook::kNotifyOne), cond);
        EXPECT_EQ(plan->count(Hook::kNotifyAll), cond);
        // A hook the linker dropped is not an error, it is listed.
        EXPECT_EQ(plan->absent, default_absent(prog));
        EXPECT_EQ(plan->offsets.stack_depth, uint32_t{GS_DEFAULT_FRAMES});
      }
    }
  }
}

TEST(LoaderPlan, AllOpsAddsChannelOperationsAndSelect) {
  GS_REQUIRE_TESTPROGS();
  for (const auto& tc : toolchains()) {
    for (const auto& variant : kVariants) {
      for (const auto& prog : kPrograms) {
        const std::string path = testprog(tc.version, variant, prog);
        auto bin = open_binary(path);
        ASSERT_TRUE(bin);
        auto plan = plan_of(*bin, ProbeSet::kAllOps);
        ASSERT_TRUE(plan);
        check_sites(*bin, *plan, path + " (all ops)");
        check_configs(*bin, *plan, minor_of(tc.version), path + " (all ops)");
        SCOPED_TRACE(path);
        const bool has_select = prog == "select_mix";
        for (auto [h, fn] : {std::pair{Hook::kChansend, "runtime.chansend"},
                             {Hook::kChanrecv, "runtime.chanrecv"},
                             {Hook::kSelectgo, "runtime.selectgo"}}) {
          if (h == Hook::kSelectgo && !has_select) {
            EXPECT_EQ(plan->count(h), 0u);
            continue;
          }
          auto ps = sym::function_probe_sites(*bin, fn);
          ASSERT_TRUE(ps) << ps.error().message;
          ASSERT_FALSE(ps->returns.empty());
          EXPECT_EQ(sites_of(*plan, h, GS_SITE_ENTRY).size(), 1u) << fn;
          EXPECT_EQ(sites_of(*plan, h, GS_SITE_RET).size(), ps->returns.size()) << fn;
        }
        // None of these programs calls RWMutex.Lock / Unlock, and only select_mix selects.
        std::vector<std::string> absent = default_absent(prog);
        if (!has_select) absent.push_back("selectgo");
        absent.push_back("rwmutex_lock");
        absent.push_back("rwmutex_unlock");
        EXPECT_EQ(plan->absent, absent);
        // The default set is a subset: the same sites, in the same order, first.
        auto base = plan_of(*bin, ProbeSet::kDefault);
        ASSERT_TRUE(base);
        size_t k = 0;
        for (const auto& s : plan->sites) {
          if (k < base->sites.size() && s.vaddr == base->sites[k].vaddr && s.hook == base->sites[k].hook) k++;
        }
        EXPECT_EQ(k, base->sites.size());
        EXPECT_GT(plan->count(Hook::kInlineLock), 0u);
        EXPECT_GT(plan->count(Hook::kInlineUnlock), 0u);
      }
    }
  }
}

// Inlined sync.Mutex fast paths: one Lock and one Unlock site in each of main.main and its
// two closures (mutex_contention), none in package main once inlining is off; then only
// the out-of-line bodies are probed.
TEST(LoaderPlan, InlinedMutexSitesOfMutexContention) {
  GS_REQUIRE_TESTPROGS();
  for (const auto& tc : toolchains()) {
    const int minor = minor_of(tc.version);
    for (const std::string variant : {"default", "stripped", "pie", "noinline"}) {
      const std::string path = testprog(tc.version, variant, "mutex_contention");
      auto bin = open_binary(path);
      ASSERT_TRUE(bin);
      SCOPED_TRACE(path);
      auto plan = plan_of(*bin, ProbeSet::kAllOps);
      ASSERT_TRUE(plan);
      if (variant == "noinline") check_sites(*bin, *plan, path);
      std::map<std::string, std::multiset<Hook>> in_main;  // caller in package main -> hooks
      std::map<std::string, std::multiset<Hook>> out_of_line;
      for (const auto& s : plan->sites) {
        if (s.site != GS_SITE_ATOMIC) continue;
        const std::string label = s.function.substr(0, s.function.find(" in "));
        const std::string caller = s.function.substr(s.function.find(" in ") + 4);
        // One name whichever of the nested sync / internal/sync calls the symbolizer saw.
        EXPECT_EQ(label.rfind("sync.", 0), 0u) << s.function;
        if (caller.rfind("main.", 0) == 0) in_main[caller].insert(s.hook);
        if (std::find(kLockFunctions.begin(), kLockFunctions.end(), caller) != kLockFunctions.end())
          out_of_line[caller].insert(s.hook);
      }
      if (variant == "noinline") {
        EXPECT_TRUE(in_main.empty());
        // Only the out-of-line bodies are left. From Go 1.24 on the Mutex atomic is in
        // internal/sync's body. From 1.20 on RWMutex.readerCount is an atomic.Int32, whose Add
        // is a method call once inlining is off: RLock / RUnlock hold no XADD of their own.
        std::map<std::string, std::multiset<Hook>> want;
        const std::string mutex = minor >= 24 ? "internal/sync.(*Mutex)" : "sync.(*Mutex)";
        want[mutex + ".Lock"] = {Hook::kInlineLock};
        want[mutex + ".Unlock"] = {Hook::kInlineUnlock};
        if (minor < 20) {
          want["sync.(*RWMutex).RLock"] = {Hook::kInlineRLock};
          want["sync.(*RWMutex).RUnlock"] = {Hook::kInlineRUnlock};
        }
        EXPECT_EQ(out_of_line, want);
        size_t atomics = 0;
        for (const auto& s : plan->sites) atomics += s.site == GS_SITE_ATOMIC;
        EXPECT_EQ(atomics, minor < 20 ? 4u : 2u);
      } else {
        const std::multiset<Hook> pair = {Hook::kInlineLock, Hook::kInlineUnlock};
        EXPECT_EQ(in_main, (std::map<std::string, std::multiset<Hook>>{
                               {"main.main", pair}, {"main.main.func1", pair}, {"main.main.func2", pair}}));
      }
      // lock_holders adds the same atomic sites to the default set, and nothing else.
      auto holders = plan_of(*bin, ProbeSet::kDefault, false, true);
      auto base = plan_of(*bin, ProbeSet::kDefault);
      ASSERT_TRUE(holders && base);
      std::vector<uint64_t> a, b;
      for (const auto& s : plan->sites)
        if (s.site == GS_SITE_ATOMIC) a.push_back(s.vaddr);
      for (const auto& s : holders->sites)
        if (s.site == GS_SITE_ATOMIC) b.push_back(s.vaddr);
      EXPECT_EQ(a, b);
      EXPECT_EQ(holders->sites.size(), base->sites.size() + b.size());
      EXPECT_EQ(holders->count(Hook::kChansend), 0u);
    }
  }
}

TEST(LoaderPlan, OffsetsAreTheBinarysDwarfOrTable) {
  GS_REQUIRE_TESTPROGS();
  for (const auto& tc : toolchains()) {
    for (const std::string prog : {"pipeline", "waitgroup_cond"}) {
      std::optional<Plan> with_dwarf;
      for (const std::string variant : {"default", "stripped", "pie", "pie-stripped"}) {
        const std::string path = testprog(tc.version, variant, prog);
        auto bin = open_binary(path);
        ASSERT_TRUE(bin);
        SCOPED_TRACE(path);
        auto plan = plan_of(*bin, ProbeSet::kDefault);
        ASSERT_TRUE(plan);
        sym::GoOffsets want;
        if (variant.find("stripped") == std::string::npos) {
          ASSERT_TRUE(bin->has_dwarf());
          EXPECT_EQ(bin->offsets().source, "DWARF");
          want = sym::offsets_from_dwarf(*bin->dwarf());
        } else {
          ASSERT_FALSE(bin->has_dwarf());
          auto table = sym::offsets_from_table(bin->build_info().version);
          ASSERT_TRUE(table);
          EXPECT_EQ(bin->offsets().source, "table " + table->go_version);
          EXPECT_EQ(table->go_version, tc.version);
          want = table->offsets;
        }
        EXPECT_EQ(bin->offsets().offsets, want);
        const gs_go_offsets& got = plan->offsets;
        EXPECT_EQ(got.g_goid, *want.g_goid);
        EXPECT_EQ(got.g_m, *want.g_m);
        EXPECT_EQ(got.m_curg, *want.m_curg);
        EXPECT_EQ(got.g_sched_pc, *want.g_sched_pc);
        EXPECT_EQ(got.g_sched_bp, *want.g_sched_bp);
        EXPECT_EQ(got.g_waiting, *want.g_waiting);
        EXPECT_EQ(got.sudog_c, *want.sudog_c);
        EXPECT_EQ(got.sudog_waitlink, *want.sudog_waitlink);
        EXPECT_EQ(got.sudog_is_select, *want.sudog_is_select);
        EXPECT_EQ(got.stack_depth, uint32_t{GS_DEFAULT_FRAMES});
        // goid moved in 1.23 (g grew) and back in 1.25.
        const int minor = minor_of(tc.version);
        EXPECT_EQ(got.g_goid, minor == 23 || minor == 24 ? 160u : 152u);
        // The table is generated from the DWARF of the same toolchains: same offsets, and the
        // stripped twin has the very same code, so the very same plan.
        if (!with_dwarf) {
          with_dwarf = std::move(plan);
          continue;
        }
        EXPECT_EQ(std::memcmp(&got, &with_dwarf->offsets, sizeof got), 0);
        if (variant == "stripped" || variant == "pie-stripped") {
          ASSERT_EQ(plan->configs.size(), with_dwarf->configs.size());
          for (size_t i = 0; i < plan->configs.size(); i++)
            EXPECT_EQ(std::memcmp(&plan->configs[i], &with_dwarf->configs[i], sizeof(gs_site_config)), 0)
                << i;
          ASSERT_EQ(plan->sites.size(), with_dwarf->sites.size());
          for (size_t i = 0; i < plan->sites.size(); i++) {
            EXPECT_EQ(plan->sites[i].vaddr, with_dwarf->sites[i].vaddr) << i;
            EXPECT_EQ(plan->sites[i].file_offset, with_dwarf->sites[i].file_offset) << i;
            EXPECT_EQ(plan->sites[i].cookie, with_dwarf->sites[i].cookie) << i;
            EXPECT_EQ(plan->sites[i].function, with_dwarf->sites[i].function) << i;
          }
        }
        if (variant == "pie") with_dwarf = std::move(plan);  // pie-stripped is pie's twin
      }
    }
  }
}

TEST(LoaderPlan, StackDepthIsClampedToWhatBpfHolds) {
  GS_REQUIRE_TESTPROGS();
  const auto& tc = toolchains().back();
  auto bin = open_binary(testprog(tc.version, "default", "pipeline"));
  ASSERT_TRUE(bin);
  for (auto [asked, got] : {std::pair<uint32_t, uint32_t>{0, 0},
                            {16, 16},
                            {GS_MAX_FRAMES, GS_MAX_FRAMES},
                            {GS_MAX_FRAMES + 1, GS_MAX_FRAMES},
                            {100000, GS_MAX_FRAMES}}) {
    auto plan = plan_of(*bin, ProbeSet::kDefault, false, false, asked);
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->offsets.stack_depth, got) << asked;
  }
}

TEST(LoaderPlan, SchedulerViewAddsCasgstatusWithoutStacks) {
  GS_REQUIRE_TESTPROGS();
  for (const auto& tc : toolchains()) {
    const std::string path = testprog(tc.version, "stripped", "pipeline");
    auto bin = open_binary(path);
    ASSERT_TRUE(bin);
    auto plan = plan_of(*bin, ProbeSet::kDefault, true);
    ASSERT_TRUE(plan);
    check_sites(*bin, *plan, path);
    check_configs(*bin, *plan, minor_of(tc.version), path);
    auto s = sites_of(*plan, Hook::kCasgstatus, GS_SITE_ENTRY);
    ASSERT_EQ(s.size(), 1u) << path;
    EXPECT_EQ(s[0]->function, "runtime.casgstatus");
    EXPECT_EQ(plan->absent, default_absent("pipeline"));
  }
}

}  // namespace
}  // namespace goscope::loader
