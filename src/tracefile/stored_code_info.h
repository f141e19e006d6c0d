// state::CodeInfo answered from the code tables of a trace file: what the
// recorder looked up in the binary at the addresses the recording refers to,
// so a replay symbolizes, finds sites and infers lock holders as the live run
// did, on a machine without the binary. The trace reader fills it as it reads
// blocks (an address is stored before the first event that needs it); an
// address the file does not have is unknown (no frames, no entry).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "state/code_info.h"

namespace goscope::tracefile {

class StoredCodeInfo final : public state::CodeInfo {
 public:
  // Frames stored for one address: indexes into the string table.
  struct StoredFrame {
    uint32_t function = 0;
    uint32_t file = 0;
    int line = 0;
    bool inlined = false;
  };

  // What the header says about the binary.
  StoredCodeInfo(sym::BuildInfo build_info, sym::GoOffsets offsets, std::vector<std::string> wait_reasons,
                 std::string goroot_src);

  // ---- filled by the reader, in file order
  // Adds a string to the table; its index is the number of strings before it.
  uint32_t add_string(std::string s);
  size_t string_count() const { return strings_.size(); }
  const std::string& string(uint32_t index) const { return strings_[index]; }
  // Frames and function entry at `vaddr` (indexes must be < string_count()). Again for an
  // address already stored replaces it.
  void add_address(uint64_t vaddr, std::vector<StoredFrame> frames, std::optional<uint64_t> entry);
  void add_lock_lines(uint64_t function_entry, state::LockLines lines);
  size_t address_count() const { return addresses_.size(); }

  // ---- state::CodeInfo
  std::vector<state::SourceFrame> frames(uint64_t vaddr) const override;
  std::optional<uint64_t> function_entry(uint64_t vaddr) const override;
  const state::LockLines& lock_lines(uint64_t function_entry) const override;
  std::string_view goroot_src() const override { return goroot_src_; }
  const sym::GoOffsets& offsets() const override { return offsets_; }
  const std::vector<std::string>& wait_reasons() const override { return wait_reasons_; }
  const sym::BuildInfo& build_info() const override { return build_info_; }

 private:
  struct Address {
    std::vector<StoredFrame> frames;
    std::optional<uint64_t> entry;
  };
  sym::BuildInfo build_info_;
  sym::GoOffsets offsets_;
  std::vector<std::string> wait_reasons_;
  std::string goroot_src_;
  // A deque never moves its elements: the views frames() hands out stay valid.
  std::deque<std::string> strings_;
  std::unordered_map<uint64_t, Address> addresses_;
  std::unordered_map<uint64_t, state::LockLines> lock_lines_;
  state::LockLines no_lock_lines_;
};

}  // namespace goscope::tracefile
