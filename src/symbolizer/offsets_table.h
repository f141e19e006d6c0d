// The generated fallback offsets table (offsets_table_generated.cpp, written by
// tools/gen_offsets_table from the DWARF of binaries built by every toolchain
// of the matrix; never edited by hand).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace goscope::sym {

struct OffsetsTableEntry {
  std::string_view key;  // OffsetField::key
  int64_t value;         // -1: the field does not exist in this Go version
};

struct OffsetsTableVersion {
  std::string_view go_version;  // major.minor, e.g. "1.22"
  std::span<const OffsetsTableEntry> offsets;
  std::span<const std::string_view> wait_reasons;  // runtime.waitReasonStrings, index = waitReason
};

std::span<const OffsetsTableVersion> offsets_table();

}  // namespace goscope::sym
