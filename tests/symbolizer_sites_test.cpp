// Probe sites against `go tool objdump` of the same toolchain: every RET of the
// runtime hooks, and the entry probe right after the stack-check JBE. Inlined
// lock sites found through DWARF and through the pclntab inline tree agree.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "loader/hooks.h"
#include "symbolizer/probe_sites.h"
#include "symbolizer/symbolizer.h"
#include "testprogs.h"

namespace goscope::sym {
namespace {

using goscope::testing::testprog;
using goscope::testing::toolchains;

// Every runtime hook on a whole function (the loader's table), resolved.
std::vector<ResolvedFunction> resolve_all(const GoBinary& b) {
  std::vector<ResolvedFunction> out;
  for (const auto& d : loader::hook_table())
    if (!(d.sites & loader::kAtAtomic)) out.push_back(resolve_function(b, d.functions));
  return out;
}

constexpr const char* kProgram = "mutex_contention";

std::string run(const std::string& cmd) {
  return goscope::testing::run_command(cmd).output;
}

struct ObjdumpFunction {
  int copies = 0;            // TEXT blocks with this name (ABI wrappers share names)
  bool undecodable = false;  // objdump printed "?" somewhere in it
  std::vector<uint64_t> rets;
  uint64_t after_stack_check = 0;  // instruction after the JBE of the prologue, 0 if none
  uint64_t entry = 0;
};

// Parses `go tool objdump -s REGEX` output: "TEXT name(SB) file" headers, then
// "  file:line  0xADDR  HEX  ASM" lines.
std::map<std::string, ObjdumpFunction> objdump(const std::string& goroot, const std::string& bin,
                                               const std::vector<std::string>& names) {
  std::string re = names.empty() ? "" : "^(";
  for (size_t i = 0; i < names.size(); i++) {
    if (i) re += "|";
    for (char c : names[i]) {
      if (std::string("()*.[]+?").find(c) != std::string::npos) re += '\\';
      re += c;
    }
  }
  if (!names.empty()) re += ")$";
  const std::string out =
      run("env GOROOT='" + goroot + "' GOTOOLCHAIN=local GOFLAGS= '" + goroot + "/bin/go' tool objdump " +
          (re.empty() ? "" : "-s '" + re + "' ") + "'" + bin + "'");
  std::map<std::string, ObjdumpFunction> fns;
  std::istringstream in(out);
  std::string line, cur;
  int index = 0;
  bool saw_check = false, expect_next = false;
  while (std::getline(in, line)) {
    if (line.rfind("TEXT ", 0) == 0) {
      cur = line.substr(5, line.find("(SB)") - 5);
      fns[cur].copies++;
      index = 0;
      saw_check = expect_next = false;
      continue;
    }
    std::istringstream f(line);
    std::string pos, addr, bytes;
    if (cur.empty() || !(f >> pos >> addr >> bytes) || addr.rfind("0x", 0) != 0) continue;
    std::string asm_text;
    std::getline(f, asm_text);
    const size_t first = asm_text.find_first_not_of(" \t");
    if (first != std::string::npos && asm_text[first] == '?') fns[cur].undecodable = true;
    const uint64_t a = std::stoull(addr, nullptr, 16);
    auto& fn = fns[cur];
    if (index == 0) fn.entry = a;
    if (expect_next) {
      fn.after_stack_check = a;
      expect_next = false;
    }
    if (index < 8 && asm_text.find("0x10(R14)") != std::string::npos &&
        asm_text.find("CMPQ") != std::string::npos)
      saw_check = true;
    if (saw_check && !fn.after_stack_check && asm_text.find("JBE") != std::string::npos) expect_next = true;
    if (first != std::string::npos && asm_text.compare(first, 3, "RET") == 0) fn.rets.push_back(a);
    index++;
  }
  return fns;
}

TEST(SymbolizerSites, ReturnsAndEntryMatchObjdump) {
  GS_REQUIRE_TESTPROGS();
  size_t checked = 0;
  for (const auto& tc : toolchains()) {
    for (const char* variant : {"default", "pie"}) {
      const std::string bin = testprog(tc.version, variant, kProgram);
      auto b = GoBinary::open(bin);
      ASSERT_TRUE(b) << b.error().message;
      std::vector<std::string> names;
      std::vector<ResolvedFunction> hooks = resolve_all(**b);
      for (const auto& h : hooks)
        if (h.sites) names.push_back(h.symbol);
      ASSERT_GE(names.size(), 12u) << bin;
      // Go 1.19's objdump cannot read a PIE's .data.rel.ro.gopclntab (see the addr2line test).
      std::string goroot = tc.goroot;
      if (std::string(variant).find("pie") != std::string::npos && std::stoi(tc.version.substr(2)) < 20) {
        for (const auto& other : toolchains())
          if (std::stoi(other.version.substr(2)) >= 20) {
            goroot = other.goroot;
            break;
          }
      }
      const auto ref = objdump(goroot, bin, names);
      for (const auto& h : hooks) {
        if (!h.sites) continue;
        auto it = ref.find(h.symbol);
        ASSERT_NE(it, ref.end()) << bin << ": objdump has no " << h.symbol;
        EXPECT_EQ(h.sites->entry, it->second.entry) << bin << " " << h.symbol;
        EXPECT_EQ(h.sites->returns, it->second.rets) << bin << " " << h.symbol;
        EXPECT_FALSE(h.sites->returns.empty()) << bin << " " << h.symbol;
        const uint64_t want_probe =
            it->second.after_stack_check ? it->second.after_stack_check : it->second.entry;
        EXPECT_EQ(h.sites->after_prologue, want_probe) << bin << " " << h.symbol;
        EXPECT_EQ(h.sites->has_stack_check, it->second.after_stack_check != 0) << bin << " " << h.symbol;
      }
      // objdump needs a symbol table; `-s -w` leaves the code where it was, so the
      // stripped twin must give exactly the sites objdump just confirmed.
      const std::string twin =
          testprog(tc.version, std::string(variant) == "pie" ? "pie-stripped" : "stripped", kProgram);
      if (std::filesystem::exists(twin)) {
        auto s = GoBinary::open(twin);
        ASSERT_TRUE(s) << s.error().message;
        const auto stripped_hooks = resolve_all(**s);
        ASSERT_EQ(stripped_hooks.size(), hooks.size());
        for (size_t i = 0; i < hooks.size(); i++) {
          ASSERT_EQ(stripped_hooks[i].sites.has_value(), hooks[i].sites.has_value()) << twin;
          if (!hooks[i].sites) continue;
          EXPECT_EQ(stripped_hooks[i].sites->returns, hooks[i].sites->returns)
              << twin << " " << hooks[i].symbol;
          EXPECT_EQ(stripped_hooks[i].sites->after_prologue, hooks[i].sites->after_prologue) << twin;
        }
      }
      checked++;
    }
  }
  if (checked == 0) GS_SKIP_OR_FAIL() << "" << kProgram << " not built";
}

// Every function of a whole binary (thousands): RET sites and the entry probe agree with
// objdump, except where names are ambiguous (ABI0/ABIInternal wrappers share a name) or
// objdump itself cannot decode an instruction.
TEST(SymbolizerSites, EveryFunctionOfABinaryMatchesObjdump) {
  GS_REQUIRE_TESTPROGS();
  size_t checked = 0;
  for (const auto& tc : toolchains()) {
    const std::string bin = testprog(tc.version, "default", "http_server");
    auto b = GoBinary::open(bin);
    ASSERT_TRUE(b) << b.error().message;
    const auto ref = objdump(tc.goroot, bin, {});
    ASSERT_GT(ref.size(), 3000u) << bin;
    size_t compared = 0, mismatches = 0;
    for (const auto& [name, fn] : ref) {
      if (fn.copies != 1 || fn.undecodable) continue;
      auto idx = (*b)->pclntab().function_named(name);
      if (!idx || (*b)->pclntab().function_entry(*idx) != fn.entry) continue;  // e.g. "F.abi0" symbol names
      auto s = function_probe_sites(**b, name);
      ASSERT_TRUE(s) << bin << " " << name << ": " << s.error().message;
      const uint64_t want_probe = fn.after_stack_check ? fn.after_stack_check : fn.entry;
      if (s->returns != fn.rets || s->after_prologue != want_probe) {
        if (++mismatches <= 5)
          ADD_FAILURE() << bin << " " << name << ": " << s->returns.size() << " RET vs objdump "
                        << fn.rets.size() << ", probe 0x" << std::hex << s->after_prologue << " vs 0x"
                        << want_probe;
      }
      compared++;
    }
    EXPECT_GT(compared, 3000u) << bin;
    EXPECT_EQ(mismatches, 0u) << bin << ": " << mismatches << " of " << compared << " functions differ";
    checked++;
  }
  if (checked == 0) GS_SKIP_OR_FAIL() << "http_server not built";
}

std::set<uint64_t> site_addresses(const std::vector<InlinedAtomicSite>& sites) {
  std::set<uint64_t> s;
  for (const auto& x : sites) s.insert(x.instruction);
  return s;
}

TEST(SymbolizerSites, InlinedLockSitesFromDwarfAndPclntabAgree) {
  GS_REQUIRE_TESTPROGS();
  size_t checked = 0;
  for (const auto& tc : toolchains()) {
    const std::string bin = testprog(tc.version, "default", kProgram);
    auto b = GoBinary::open(bin);
    ASSERT_TRUE(b) << b.error().message;
    const auto from_dwarf = inlined_atomic_sites(**b, true);
    const auto from_pclntab = inlined_atomic_sites(**b, false);
    ASSERT_FALSE(from_dwarf.empty()) << bin;
    EXPECT_EQ(from_dwarf.front().from, "DWARF");
    EXPECT_EQ(from_pclntab.front().from, "pclntab");
    EXPECT_EQ(site_addresses(from_dwarf), site_addresses(from_pclntab)) << bin;
    bool main_lock = false, main_unlock = false;
    for (const auto& s : from_pclntab) {
      EXPECT_EQ(s.after > s.instruction, true);
      EXPECT_FALSE(s.base_register.empty()) << bin << " " << s.caller;
      if (s.caller.rfind("main.", 0) == 0 && s.inlined == "sync.(*Mutex).Lock") {
        main_lock = true;
        EXPECT_EQ(s.kind, AtomicKind::kLockCmpxchg) << bin << " " << s.caller;
      }
      if (s.caller.rfind("main.", 0) == 0 && s.inlined == "sync.(*Mutex).Unlock") {
        main_unlock = true;
        EXPECT_EQ(s.kind, AtomicKind::kLockXadd) << bin << " " << s.caller;
      }
    }
    EXPECT_TRUE(main_lock && main_unlock) << bin << ": no inlined Lock/Unlock found in package main";
    // The same sites without DWARF or symbols.
    const std::string stripped = testprog(tc.version, "stripped", kProgram);
    if (std::filesystem::exists(stripped)) {
      auto s = GoBinary::open(stripped);
      ASSERT_TRUE(s) << s.error().message;
      EXPECT_EQ(inlined_atomic_sites(**s).size(), from_pclntab.size()) << stripped;
    }
    checked++;
  }
  if (checked == 0) GS_SKIP_OR_FAIL() << "" << kProgram << " not built";
}

}  // namespace
}  // namespace goscope::sym
