// Symbolized event stacks and code addresses of one traced binary, each looked
// up once. One object is shared by the state model and by output (formatter,
// filter, summary): a stack seen a million times costs one symbolization.
// It lives here, not in output/, because the state model needs it too (where a
// goroutine blocked, whether it is one of the runtime's own) and detect/ must
// not depend on output/.
//
// Addresses are ELF virtual addresses (model/event.h). The code facts come from
// a state::CodeInfo: the binary live, the trace file's tables in a replay. Stacks are innermost
// first: [0] is where the probe fired and is looked up as is; the others are
// return addresses, looked up one byte back, in the call instruction.
//
// Not thread-safe: one consumer thread owns it (lookups fill caches).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "state/code_info.h"
#include "model/event.h"
#include "symbolizer/symbolizer.h"

namespace goscope::state {

struct CodeFrame {
  std::string_view function;  // views into the binary (valid while it is open); "" when unknown
  std::string_view file;
  int line = 0;
  bool inlined = false;  // an inlined call: the next frame is its caller in the same physical function
  uint64_t pc = 0;       // the stack address it stands for, as recorded
  bool known() const { return !function.empty(); }
};

struct SymbolizedStack {
  std::vector<CodeFrame> frames;  // every frame, innermost first, inlined and runtime ones included
  // Index in `frames` of the frame a person means by "where it happened": the first
  // frame of the program's own code, else (a goroutine of the standard library, such
  // as net/http's) the first frame outside the runtime; -1 when only the runtime is there.
  int site = -1;
  // The goroutine's function when the stack is complete down to runtime.goexit; "" otherwise.
  std::string_view start_function;

  const CodeFrame* site_frame() const { return site < 0 ? nullptr : &frames[site]; }
};

class StackSymbolizer {
 public:
  // Live: code facts from `binary`. `binary` and `stacks` must outlive this object.
  StackSymbolizer(const sym::GoBinary& binary, const model::StackTable& stacks);
  // From any source of code facts (a trace file's tables in a replay).
  StackSymbolizer(std::shared_ptr<const CodeInfo> code, const model::StackTable& stacks);

  const CodeInfo& code() const { return *code_; }
  std::shared_ptr<const CodeInfo> code_ptr() const { return code_; }
  const model::StackTable& stacks() const { return stacks_; }

  // The frames of stack `id` (an empty stack for id 0 or an unknown id).
  const SymbolizedStack& stack(model::StackId id) const;
  // Frames at one code address, innermost first; one unknown frame when it is in no
  // function. `return_address`: the address after a call (a `go` statement's gopc),
  // looked up in the call itself.
  std::span<const CodeFrame> frames_at(uint64_t vaddr, bool return_address) const;
  // The physical function containing `vaddr` (not an inlined callee), "" when unknown.
  std::string_view function_at(uint64_t vaddr) const;

  // Part of the Go distribution (standard library, runtime), not the program's own code.
  bool is_standard_library(const CodeFrame& frame) const;

 private:
  std::shared_ptr<const CodeInfo> code_;
  const model::StackTable& stacks_;
  // Caches: by stack id (dense), and by address (return addresses tagged in bit 0 of the key).
  mutable std::vector<std::unique_ptr<SymbolizedStack>> by_id_;
  mutable std::unordered_map<uint64_t, std::vector<CodeFrame>> by_address_;
  SymbolizedStack empty_;
};

// The package path of a Go function name: "net/http" for "net/http.(*conn).serve".
std::string_view package_of(std::string_view function);

// Code of the runtime and of the sync primitives it implements (runtime, its internal
// packages, sync, sync/atomic, internal/sync, and functions the runtime provides to
// other packages under a "runtime_" name). A goroutine blocked in there is blocked
// where its caller called; that caller is the site.
bool is_runtime_function(std::string_view function);

// The runtime's isSystemGoroutine: started in a runtime.* function other than runtime.main
// (GC workers, the scavenger, the finalizer goroutine...). `start_function` is the goroutine's
// function; "" (unknown) is not a system goroutine.
bool is_system_goroutine(std::string_view start_function);

}  // namespace goscope::state
