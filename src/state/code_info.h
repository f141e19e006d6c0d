// What detect/ and output/ need to know about the traced binary's code: the
// source frames at an address, which function an address is in, where functions
// take locks, GOROOT, the runtime's struct offsets and wait reason names.
// Live, the binary answers (BinaryCodeInfo, from its pclntab, DWARF and code);
// a replay answers from the tables stored in the trace file, so a trace opens on
// a machine without the binary. Addresses are ELF virtual addresses.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "symbolizer/buildinfo.h"
#include "symbolizer/go_offsets.h"

namespace goscope::sym {
class GoBinary;
}

namespace goscope::state {

// One source position at an address. Views stay valid while the CodeInfo lives.
struct SourceFrame {
  std::string_view function;  // "main.worker"; "" when unknown
  std::string_view file;
  int line = 0;
  bool inlined = false;  // an inlined call: the next frame is its caller in the same physical function
};

// Source lines of a function (its own lines, not its inlined callees') where it takes a lock.
struct LockLines {
  std::vector<int> lock;   // write locks: Mutex.Lock, RWMutex.Lock (and their Try forms)
  std::vector<int> rlock;  // read locks: RWMutex.RLock, TryRLock
};

class CodeInfo {
 public:
  virtual ~CodeInfo() = default;

  // Source frames at exactly `vaddr`, innermost first (inlined callees, then the physical
  // function last); empty when `vaddr` is in no known function. Callers move return
  // addresses into their call instruction (vaddr - 1) before asking.
  virtual std::vector<SourceFrame> frames(uint64_t vaddr) const = 0;
  // Entry of the physical function containing `vaddr`; nullopt when none.
  virtual std::optional<uint64_t> function_entry(uint64_t vaddr) const = 0;
  // Where the function with this entry takes locks (empty lists when it takes none or is unknown).
  virtual const LockLines& lock_lines(uint64_t function_entry) const = 0;
  // GOROOT/src/ as the binary records file names ("/usr/lib/go-1.22/src/"); "" for a
  // -trimpath build, where standard library files are named "runtime/proc.go".
  virtual std::string_view goroot_src() const = 0;
  virtual const sym::GoOffsets& offsets() const = 0;
  // runtime.waitReasonStrings: index = waitReason number.
  virtual const std::vector<std::string>& wait_reasons() const = 0;
  virtual const sym::BuildInfo& build_info() const = 0;
};

// The live answer: from the binary itself. `binary` must outlive the result.
std::shared_ptr<const CodeInfo> binary_code_info(const sym::GoBinary& binary);

}  // namespace goscope::state
