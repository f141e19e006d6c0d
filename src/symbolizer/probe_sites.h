// Where goscope puts uprobes in a Go function, found with a real disassembler
// (Capstone), never by a byte scan:
//  - entry: the first instruction after the stack-check prologue
//      CMPQ SP, 0x10(R14) | LEAQ -n(SP), R12; CMPQ R12, 0x10(R14)   (g.stackguard0)
//      JBE  morestack-block
//    The morestack block calls runtime.morestack and jumps back to the entry,
//    so a probe on the entry itself fires twice when the stack grows; the
//    instruction after the JBE runs exactly once per call. There, arguments are
//    still in their ABI registers and the frame is not yet set up ([rsp] is the
//    return address). Functions without a stack check are probed at their entry.
//  - every RET: goscope never uses uretprobes on Go code (moving stacks crash them).
//  - the LOCK CMPXCHG / LOCK XADD of inlined sync.(*Mutex).Lock / Unlock fast
//    paths, and the address right after it (ZF says acquired or not; the memory
//    operand's base register holds the mutex address there).
// All addresses are ELF virtual addresses.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "symbolizer/symbolizer.h"

namespace goscope::sym {

struct FunctionProbeSites {
  std::string function;
  uint64_t entry = 0;           // the function's first instruction
  uint64_t end = 0;             // end of its code
  uint64_t after_prologue = 0;  // where the entry probe goes (== entry without a stack check)
  bool has_stack_check = false;
  std::vector<uint64_t> returns;  // every RET instruction
};

// Probe sites of one function by exact Go name. Errors: absent from the binary, undecodable.
Expected<FunctionProbeSites> function_probe_sites(const GoBinary& binary, std::string_view function);

// The direct CALL instructions in [entry, end) (a function's code), in address order.
// Empty when the code cannot be read or decoded.
struct DirectCall {
  uint64_t site = 0;    // the CALL instruction
  uint64_t target = 0;  // where it goes
};
std::vector<DirectCall> direct_calls(const GoBinary& binary, uint64_t entry, uint64_t end);

enum class AtomicKind { kLockCmpxchg, kLockXadd };

struct InlinedAtomicSite {
  std::string inlined;       // "sync.(*Mutex).Lock"
  std::string caller;        // physical function it is inlined into
  uint64_t instruction = 0;  // the LOCK CMPXCHG / LOCK XADD
  uint64_t after = 0;        // the next instruction: where the probe goes
  AtomicKind kind = AtomicKind::kLockCmpxchg;
  std::string base_register;  // memory operand base register, e.g. "rcx"
  int64_t displacement = 0;   // the state word is at base_register + displacement (a Mutex
                              // embedded at +4 in its owner shows up as base = owner, disp = 4)
  std::string from;           // "DWARF" or "pclntab": where the inlined ranges came from
};

// Inlined call sites of the given functions (default: sync.(*Mutex).Lock / Unlock and
// sync.(*RWMutex).RLock / RUnlock) with their atomic instruction. From DWARF
// DW_TAG_inlined_subroutine ranges when `prefer_dwarf` and DWARF exists, else from the
// pclntab inline tree (works on stripped binaries).
// With `out_of_line`, also the atomic in each function's own out-of-line body (what calls
// through an interface such as sync.Locker, or from non-inlining callers, execute).
std::vector<InlinedAtomicSite> inlined_atomic_sites(const GoBinary& binary, bool prefer_dwarf = true,
                                                    std::vector<std::string> functions = {},
                                                    bool out_of_line = false);

// The first of `names` (a Go function under its newest name first) the binary has, with
// its probe sites. The runtime hooks and their names are the loader's (loader/hooks.h).
// A function absent from a binary means the program never does that: the linker dropped it.
struct ResolvedFunction {
  std::string symbol;  // the name found; empty when absent
  std::optional<FunctionProbeSites> sites;
};
ResolvedFunction resolve_function(const GoBinary& binary, std::span<const std::string_view> names);

}  // namespace goscope::sym
