// state::CodeInfo answered by the traced binary itself: frames from its pclntab,
// lock sites from its inline tree and its direct calls (Capstone), offsets and
// wait reasons as the symbolizer resolved them.
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "state/code_info.h"
#include "symbolizer/probe_sites.h"
#include "symbolizer/symbolizer.h"

namespace goscope::state {

namespace {

// Go names of the lock functions, in every layout of the matrix (internal/sync from 1.24).
constexpr std::string_view kLockFunctions[] = {
    "sync.(*Mutex).Lock",          "sync.(*Mutex).TryLock",          "sync.(*Mutex).lockSlow",
    "internal/sync.(*Mutex).Lock", "internal/sync.(*Mutex).TryLock", "internal/sync.(*Mutex).lockSlow",
    "sync.(*RWMutex).Lock",        "sync.(*RWMutex).TryLock",
};
constexpr std::string_view kRLockFunctions[] = {"sync.(*RWMutex).RLock", "sync.(*RWMutex).TryRLock",
                                                "sync.runtime_SemacquireRWMutexR"};
constexpr std::string_view kRuntimeMainFile = "runtime/proc.go";

template <size_t N>
bool named(std::string_view name, const std::string_view (&list)[N]) {
  for (std::string_view f : list)
    if (name == f) return true;
  return false;
}

// The line of the physical function itself at `pc` (the call site of what is inlined there).
int own_line(const sym::Pclntab& tab, uint64_t pc) {
  const auto frames = tab.frames_at(pc);
  return frames.empty() ? 0 : frames.back().line;
}

class BinaryCodeInfo final : public CodeInfo {
 public:
  explicit BinaryCodeInfo(const sym::GoBinary& binary) : binary_(binary) {
    for (std::string_view f : kLockFunctions)
      if (auto a = binary.function_address(f)) lock_entries_.insert(*a);
    for (std::string_view f : kRLockFunctions)
      if (auto a = binary.function_address(f)) rlock_entries_.insert(*a);
    if (auto entry = binary.function_address("runtime.main")) {
      const auto frames = binary.pclntab().frames_at(*entry);
      if (!frames.empty()) {
        const std::string_view file = frames.back().file;
        if (file.size() > kRuntimeMainFile.size() && file.ends_with(kRuntimeMainFile) &&
            file[file.size() - kRuntimeMainFile.size() - 1] == '/')
          goroot_src_ = std::string(file.substr(0, file.size() - kRuntimeMainFile.size()));
      }
    }
  }

  std::vector<SourceFrame> frames(uint64_t vaddr) const override {
    const auto symbolized = binary_.symbolize_vaddrs(std::span<const uint64_t>(&vaddr, 1));
    std::vector<SourceFrame> out;
    out.reserve(symbolized[0].frames.size());
    for (const auto& f : symbolized[0].frames) out.push_back({f.function, f.file, f.line, f.inlined});
    return out;
  }

  std::optional<uint64_t> function_entry(uint64_t vaddr) const override {
    const sym::Pclntab& tab = binary_.pclntab();
    auto idx = tab.function_at(vaddr);
    if (!idx) return std::nullopt;
    return tab.function_entry(*idx);
  }

  const LockLines& lock_lines(uint64_t entry) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = cache_.try_emplace(entry);
    if (!inserted) return it->second;
    LockLines& t = it->second;
    const sym::Pclntab& tab = binary_.pclntab();
    auto idx = tab.function_at(entry);
    if (!idx || tab.function_entry(*idx) != entry) return t;
    for (const sym::InlinedRange& r : tab.inlined_ranges(*idx)) {
      for (std::string_view callee : r.chain) {
        if (named(callee, kLockFunctions)) t.lock.push_back(own_line(tab, r.start));
        if (named(callee, kRLockFunctions)) t.rlock.push_back(own_line(tab, r.start));
      }
    }
    for (const sym::DirectCall& c : sym::direct_calls(binary_, tab.function_entry(*idx), tab.function_end(*idx))) {
      if (lock_entries_.count(c.target)) t.lock.push_back(own_line(tab, c.site));
      if (rlock_entries_.count(c.target)) t.rlock.push_back(own_line(tab, c.site));
    }
    return t;
  }

  std::string_view goroot_src() const override { return goroot_src_; }
  const sym::GoOffsets& offsets() const override { return binary_.offsets().offsets; }
  const std::vector<std::string>& wait_reasons() const override { return binary_.offsets().wait_reasons; }
  const sym::BuildInfo& build_info() const override { return binary_.build_info(); }

 private:
  const sym::GoBinary& binary_;
  std::unordered_set<uint64_t> lock_entries_;  // entries of the lock functions present
  std::unordered_set<uint64_t> rlock_entries_;
  std::string goroot_src_;
  mutable std::mutex mu_;
  mutable std::unordered_map<uint64_t, LockLines> cache_;  // node-based: references stay valid
};

}  // namespace

std::shared_ptr<const CodeInfo> binary_code_info(const sym::GoBinary& binary) {
  return std::make_shared<BinaryCodeInfo>(binary);
}

}  // namespace goscope::state
