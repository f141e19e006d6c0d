#include "tracefile/stored_code_info.h"

namespace goscope::tracefile {

StoredCodeInfo::StoredCodeInfo(sym::BuildInfo build_info, sym::GoOffsets offsets,
                               std::vector<std::string> wait_reasons, std::string goroot_src)
    : build_info_(std::move(build_info)),
      offsets_(offsets),
      wait_reasons_(std::move(wait_reasons)),
      goroot_src_(std::move(goroot_src)) {}

uint32_t StoredCodeInfo::add_string(std::string s) {
  strings_.push_back(std::move(s));
  return static_cast<uint32_t>(strings_.size() - 1);
}

void StoredCodeInfo::add_address(uint64_t vaddr, std::vector<StoredFrame> frames,
                                 std::optional<uint64_t> entry) {
  addresses_[vaddr] = Address{std::move(frames), entry};
}

void StoredCodeInfo::add_lock_lines(uint64_t function_entry, state::LockLines lines) {
  lock_lines_[function_entry] = std::move(lines);
}

std::vector<state::SourceFrame> StoredCodeInfo::frames(uint64_t vaddr) const {
  std::vector<state::SourceFrame> out;
  auto it = addresses_.find(vaddr);
  if (it == addresses_.end()) return out;
  out.reserve(it->second.frames.size());
  for (const StoredFrame& f : it->second.frames)
    out.push_back({strings_[f.function], strings_[f.file], f.line, f.inlined});
  return out;
}

std::optional<uint64_t> StoredCodeInfo::function_entry(uint64_t vaddr) const {
  auto it = addresses_.find(vaddr);
  return it == addresses_.end() ? std::nullopt : it->second.entry;
}

const state::LockLines& StoredCodeInfo::lock_lines(uint64_t function_entry) const {
  auto it = lock_lines_.find(function_entry);
  return it == lock_lines_.end() ? no_lock_lines_ : it->second;
}

}  // namespace goscope::tracefile
