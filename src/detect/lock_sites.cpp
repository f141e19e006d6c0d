#include "detect/lock_sites.h"

#include <string_view>

#include "state/stack_symbolizer.h"

namespace goscope::detect {

namespace {

bool in_sync_package(std::string_view function) {
  const std::string_view pkg = state::package_of(function);
  return pkg == "sync" || pkg == "internal/sync" || pkg == "runtime" || pkg == "sync/atomic";
}

const std::vector<int>& lines_of(const state::LockLines& l, LockAction action) {
  return action == LockAction::kLock ? l.lock : l.rlock;
}

}  // namespace

bool LockSites::function_takes(uint64_t vaddr, LockAction action) const {
  auto entry = code_.function_entry(vaddr);
  return entry && !lines_of(code_.lock_lines(*entry), action).empty();
}

bool LockSites::stack_takes(std::span<const uint64_t> stack, LockAction action) const {
  for (size_t i = 0; i < stack.size(); i++) {
    // Return addresses are looked up in the call instruction, one byte back.
    const uint64_t pc = i == 0 ? stack[i] : stack[i] - 1;
    auto entry = code_.function_entry(pc);
    if (!entry) continue;
    const auto frames = code_.frames(pc);
    if (frames.empty() || in_sync_package(frames.back().function)) continue;
    const int now = frames.back().line;  // the physical function's own line
    for (int line : lines_of(code_.lock_lines(*entry), action))
      if (now <= 0 || line <= 0 || line < now) return true;
  }
  return false;
}

}  // namespace goscope::detect
