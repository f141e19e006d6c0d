#include "detect/lock_sites.h"

#include <string_view>

#include "detect/stack_symbolizer.h"
#include "symbolizer/probe_sites.h"

namespace goscope::detect {

namespace {

// Go names of the lock functions, in every layout of the matrix (internal/sync from 1.24).
constexpr std::string_view kLockFunctions[] = {
    "sync.(*Mutex).Lock",          "sync.(*Mutex).TryLock",          "sync.(*Mutex).lockSlow",
    "internal/sync.(*Mutex).Lock", "internal/sync.(*Mutex).TryLock", "internal/sync.(*Mutex).lockSlow",
    "sync.(*RWMutex).Lock",        "sync.(*RWMutex).TryLock",
};
constexpr std::string_view kRLockFunctions[] = {"sync.(*RWMutex).RLock", "sync.(*RWMutex).TryRLock",
                                                "sync.runtime_SemacquireRWMutexR"};

template <size_t N>
bool named(std::string_view name, const std::string_view (&list)[N]) {
  for (std::string_view f : list)
    if (name == f) return true;
  return false;
}

bool in_sync_package(std::string_view function) {
  const std::string_view pkg = package_of(function);
  return pkg == "sync" || pkg == "internal/sync" || pkg == "runtime" || pkg == "sync/atomic";
}

}  // namespace

LockSites::LockSites(const sym::GoBinary& binary) : binary_(binary) {
  for (std::string_view f : kLockFunctions)
    if (auto a = binary.function_address(f)) lock_entries_.insert(*a);
  for (std::string_view f : kRLockFunctions)
    if (auto a = binary.function_address(f)) rlock_entries_.insert(*a);
}

namespace {

// The line of the physical function itself at `pc` (the call site of what is inlined there).
int own_line(const sym::Pclntab& tab, uint64_t pc) {
  const auto frames = tab.frames_at(pc);
  return frames.empty() ? 0 : frames.back().line;
}

}  // namespace

const LockSites::Takes& LockSites::takes(size_t idx) const {
  auto [it, inserted] = cache_.try_emplace(idx);
  if (!inserted) return it->second;
  Takes& t = it->second;
  const sym::Pclntab& tab = binary_.pclntab();
  for (const sym::InlinedRange& r : tab.inlined_ranges(idx)) {
    for (std::string_view callee : r.chain) {
      if (named(callee, kLockFunctions)) t.lock_lines.push_back(own_line(tab, r.start));
      if (named(callee, kRLockFunctions)) t.rlock_lines.push_back(own_line(tab, r.start));
    }
  }
  for (const sym::DirectCall& c :
       sym::direct_calls(binary_, tab.function_entry(idx), tab.function_end(idx))) {
    if (lock_entries_.count(c.target)) t.lock_lines.push_back(own_line(tab, c.site));
    if (rlock_entries_.count(c.target)) t.rlock_lines.push_back(own_line(tab, c.site));
  }
  return t;
}

bool LockSites::function_takes(uint64_t vaddr, LockAction action) const {
  auto idx = binary_.pclntab().function_at(vaddr);
  if (!idx) return false;
  const Takes& t = takes(*idx);
  return !(action == LockAction::kLock ? t.lock_lines : t.rlock_lines).empty();
}

bool LockSites::stack_takes(std::span<const uint64_t> stack, LockAction action) const {
  const sym::Pclntab& tab = binary_.pclntab();
  for (size_t i = 0; i < stack.size(); i++) {
    // Return addresses are looked up in the call instruction, one byte back.
    const uint64_t pc = i == 0 ? stack[i] : stack[i] - 1;
    auto idx = tab.function_at(pc);
    if (!idx || in_sync_package(tab.function_name(*idx))) continue;
    const Takes& t = takes(*idx);
    const int now = own_line(tab, pc);
    for (int line : action == LockAction::kLock ? t.lock_lines : t.rlock_lines)
      if (now <= 0 || line <= 0 || line < now) return true;
  }
  return false;
}

}  // namespace goscope::detect
