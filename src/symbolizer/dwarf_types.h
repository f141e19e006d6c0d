// Struct layouts from a Go binary's DWARF (through libdw): the offsets the
// BPF side needs to read runtime structures of this very binary.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/expected.h"
#include "symbolizer/elf_file.h"

struct Dwarf;

namespace goscope::sym {

class DwarfTypes {
 public:
  // Fails when the binary has no DWARF (stripped with -w, or -s).
  // `elf` must outlive the returned object.
  static Expected<DwarfTypes> open(const ElfFile& elf);

  // Byte offset of `member` inside struct `struct_name` (e.g. "runtime.g", "goid").
  std::optional<uint64_t> member_offset(std::string_view struct_name, std::string_view member) const;
  std::optional<uint64_t> struct_size(std::string_view struct_name) const;

 private:
  struct DwarfCloser {
    void operator()(Dwarf* d) const;
  };
  std::unique_ptr<Dwarf, DwarfCloser> dwarf_;
  std::unordered_map<std::string, uint64_t> struct_dies_;  // name -> DIE offset
};

}  // namespace goscope::sym
