// The generated fallback offsets table against the DWARF of every test program
// of every toolchain; and where offsets come from for stripped binaries.
#include <gtest/gtest.h>

#include <filesystem>

#include "symbolizer/go_offsets.h"
#include "symbolizer/offsets_table.h"
#include "symbolizer/symbolizer.h"
#include "testprogs.h"

namespace goscope::sym {
namespace {

using goscope::testing::testprog;
using goscope::testing::toolchains;

std::vector<std::string> programs(const std::string& version, const std::string& variant) {
  std::vector<std::string> out;
  const std::filesystem::path dir = goscope::testing::testprog_dir(version, variant);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SymbolizerOffsets, TableHasEveryMatrixVersion) {
  GS_REQUIRE_TESTPROGS();
  for (const auto& tc : toolchains()) {
    auto v = parse_go_version("go" + tc.version);
    ASSERT_TRUE(v);
    EXPECT_TRUE(offsets_from_table(*v))
        << "Go " << tc.version << " is not in offsets_table_generated.cpp: run tools/gen-offsets-table.sh";
  }
}

// Every field present in a binary's DWARF equals the table; a field the table has and the
// DWARF lacks must belong to a struct that binary does not use at all.
TEST(SymbolizerOffsets, TableEqualsDwarfOfEveryDefaultTestProgram) {
  GS_REQUIRE_TESTPROGS();
  size_t checked = 0;
  for (const auto& tc : toolchains()) {
    auto v = parse_go_version("go" + tc.version);
    auto table = offsets_from_table(*v);
    ASSERT_TRUE(table) << tc.version;
    for (const auto& bin : programs(tc.version, "default")) {
      auto b = GoBinary::open(bin);
      ASSERT_TRUE(b) << b.error().message;
      ASSERT_TRUE((*b)->dwarf()) << bin;
      ASSERT_EQ((*b)->offsets().source, "DWARF");
      const GoOffsets& dw = (*b)->offsets().offsets;
      for (const auto& f : offset_fields()) {
        const auto& d = dw.*f.member;
        const auto& t = table->offsets.*f.member;
        if (d) {
          EXPECT_EQ(d, t) << bin << ": " << f.key;
        } else if (t) {
          bool struct_used = false;
          for (const auto& [st, path] : f.dwarf) struct_used |= (*b)->dwarf()->has_struct(st);
          EXPECT_FALSE(struct_used) << bin << ": DWARF has the struct but not " << f.key;
        }
      }
      // The runtime types are in every Go binary.
      EXPECT_TRUE(dw.g_goid && dw.g_atomicstatus && dw.g_sched_sp && dw.hchan_qcount && dw.sudog_elem) << bin;
      EXPECT_EQ((*b)->offsets().wait_reasons_source, "symbol") << bin;
      EXPECT_EQ((*b)->offsets().wait_reasons, table->wait_reasons) << bin;
      checked++;
    }
  }
  if (checked == 0) GS_SKIP_OR_FAIL() << "no default test programs built";
}

TEST(SymbolizerOffsets, GoidOffsetsMatchTheDesignNotes) {
  // DESIGN.md: goid at 152 in 1.19–1.22 and 1.25+, 160 in 1.23–1.24.
  for (const auto& row : offsets_table()) {
    auto v = parse_go_version("go" + std::string(row.go_version));
    ASSERT_TRUE(v);
    auto t = offsets_from_table(*v);
    ASSERT_TRUE(t && t->offsets.g_goid);
    const bool grown = v->minor == 23 || v->minor == 24;
    EXPECT_EQ(*t->offsets.g_goid, grown ? 160u : 152u) << row.go_version;
    EXPECT_EQ(t->offsets.g_parent_goid.has_value(), v->minor >= 21) << row.go_version;
    EXPECT_GT(t->wait_reasons.size(), 20u);
    EXPECT_EQ(t->wait_reasons[0], "");
  }
}

// Stripped binaries (no DWARF, no symbols) get the table and its wait reasons;
// PIE binaries read waitReasonStrings through their dynamic relocations.
TEST(SymbolizerOffsets, StrippedAndPieBinariesGetTheRightOffsets) {
  GS_REQUIRE_TESTPROGS();
  size_t checked = 0;
  for (const auto& tc : toolchains()) {
    const std::string def = testprog(tc.version, "default", "hello_probe");
    auto ref = GoBinary::open(def);
    ASSERT_TRUE(ref) << ref.error().message;
    for (const char* variant : {"stripped", "pie-stripped", "pie"}) {
      const std::string bin = testprog(tc.version, variant, "hello_probe");
      auto b = GoBinary::open(bin);
      ASSERT_TRUE(b) << b.error().message;
      const bool stripped = std::string(variant).find("stripped") != std::string::npos;
      EXPECT_EQ((*b)->has_dwarf(), !stripped) << bin;
      EXPECT_EQ((*b)->is_stripped(), stripped) << bin;
      EXPECT_EQ((*b)->offsets().source, stripped ? "table " + tc.version : "DWARF") << bin;
      EXPECT_EQ((*b)->offsets().wait_reasons, (*ref)->offsets().wait_reasons) << bin;
      EXPECT_EQ((*b)->offsets().offsets.g_goid, (*ref)->offsets().offsets.g_goid) << bin;
      EXPECT_EQ((*b)->offsets().offsets.hchan_recvq, (*ref)->offsets().offsets.hchan_recvq) << bin;
      checked++;
    }
  }
  if (checked == 0) GS_SKIP_OR_FAIL() << "hello_probe not built";
}

// Where g lives in a thread's TLS: -8(FS) for every binary Go's own linker wrote (the
// default block is runtime.tlsg alone, or no PT_TLS at all for PIE and stripped ones).
TEST(SymbolizerOffsets, TlsSlotOfGIsBelowTheThreadPointer) {
  GS_REQUIRE_TESTPROGS();
  size_t checked = 0;
  for (const auto& tc : toolchains()) {
    for (const char* variant : {"default", "stripped", "pie", "pie-stripped"}) {
      const std::string bin = testprog(tc.version, variant, "pipeline");
      auto b = GoBinary::open(bin);
      ASSERT_TRUE(b) << b.error().message;
      EXPECT_EQ((*b)->tls_g_offset(), -8) << bin;
      // When there is a TLS block (programs whose packages use it), it is runtime.tlsg alone.
      if (const auto& tls = (*b)->elf().tls()) {
        EXPECT_EQ(tls->memsz, 8u) << bin;
      }
      checked++;
    }
  }
  if (checked == 0) GS_SKIP_OR_FAIL() << "hello_probe not built";
}

}  // namespace
}  // namespace goscope::sym
