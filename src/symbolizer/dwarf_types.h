// Struct layouts, global variables and inlined call sites from a Go binary's
// DWARF (through libdw): the offsets the BPF side needs to read runtime
// structures of this very binary.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/expected.h"
#include "symbolizer/elf_file.h"

struct Dwarf;

namespace goscope::sym {

// One DW_TAG_inlined_subroutine instance: a call of `function` inlined into `caller`.
struct DwarfInlinedCall {
  std::string function;                               // abstract origin's name, e.g. "sync.(*Mutex).Lock"
  std::string caller;                                 // the enclosing DW_TAG_subprogram
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // ELF vaddrs, [low, high)
};

class DwarfTypes {
 public:
  // Fails when the binary has no DWARF (stripped with -w, or -s).
  // `elf` must outlive the returned object.
  static Expected<DwarfTypes> open(const ElfFile& elf);

  // Byte offset of `member` inside struct `struct_name` (e.g. "runtime.g", "goid").
  std::optional<uint64_t> member_offset(std::string_view struct_name, std::string_view member) const;
  // Offset of a dotted member path through nested structs, e.g. ("runtime.g", "sched.sp").
  std::optional<uint64_t> member_path_offset(std::string_view struct_name, std::string_view path) const;
  std::optional<uint64_t> struct_size(std::string_view struct_name) const;
  bool has_struct(std::string_view struct_name) const {
    return struct_dies_.count(std::string(struct_name)) != 0;
  }

  // Address and byte size of a global variable with a static location (DW_OP_addr).
  std::optional<std::pair<uint64_t, uint64_t>> variable(std::string_view name) const;

  // Every inlined instance of a function whose name is in `names` (all of them if empty).
  std::vector<DwarfInlinedCall> inlined_calls(const std::vector<std::string>& names) const;

 private:
  struct DwarfCloser {
    void operator()(Dwarf* d) const;
  };
  std::unique_ptr<Dwarf, DwarfCloser> dwarf_;
  std::unordered_map<std::string, uint64_t> struct_dies_;  // name -> DIE offset
  std::unordered_map<std::string, uint64_t> var_dies_;     // name -> DIE offset
};

}  // namespace goscope::sym
