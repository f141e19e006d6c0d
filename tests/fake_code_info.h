// A state::CodeInfo made of a few hand-written functions, for tests of what
// symbolizes without a binary (output/ renderers): each function is an address
// range with a name, a file and a first line (line = first line + offset in the
// function), optionally with a callee inlined over part of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "state/code_info.h"

namespace goscope::testing {

class FakeCodeInfo final : public state::CodeInfo {
 public:
  struct Function {
    std::string name;
    std::string file;
    uint64_t entry = 0, end = 0;  // [entry, end)
    int first_line = 0;
    // A call inlined over [inlined_start, inlined_end): its frame comes first, at its own line.
    std::string inlined_name;
    std::string inlined_file;
    uint64_t inlined_start = 0, inlined_end = 0;
    int inlined_line = 0;
  };

  explicit FakeCodeInfo(std::vector<Function> functions, std::string go_version = "go1.22.3")
      : functions_(std::move(functions)) {
    build_.go_version = std::move(go_version);
  }

  std::vector<state::SourceFrame> frames(uint64_t vaddr) const override {
    const Function* f = at(vaddr);
    if (!f) return {};
    std::vector<state::SourceFrame> out;
    if (vaddr >= f->inlined_start && vaddr < f->inlined_end)
      out.push_back({f->inlined_name, f->inlined_file, f->inlined_line, true});
    out.push_back({f->name, f->file, f->first_line + static_cast<int>(vaddr - f->entry), false});
    return out;
  }
  std::optional<uint64_t> function_entry(uint64_t vaddr) const override {
    const Function* f = at(vaddr);
    return f ? std::optional<uint64_t>(f->entry) : std::nullopt;
  }
  const state::LockLines& lock_lines(uint64_t) const override { return no_locks_; }
  std::string_view goroot_src() const override { return "/usr/lib/go/src/"; }
  const sym::GoOffsets& offsets() const override { return offsets_; }
  const std::vector<std::string>& wait_reasons() const override { return wait_reasons_; }
  const sym::BuildInfo& build_info() const override { return build_; }

  sym::GoOffsets& mutable_offsets() { return offsets_; }

 private:
  const Function* at(uint64_t vaddr) const {
    for (const auto& f : functions_)
      if (vaddr >= f.entry && vaddr < f.end) return &f;
    return nullptr;
  }

  std::vector<Function> functions_;
  sym::BuildInfo build_;
  sym::GoOffsets offsets_;
  std::vector<std::string> wait_reasons_;
  state::LockLines no_locks_;
};

}  // namespace goscope::testing
