#include "symbolizer/dwarf_types.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

namespace goscope::sym {

void DwarfTypes::DwarfCloser::operator()(Dwarf* d) const { dwarf_end(d); }

Expected<DwarfTypes> DwarfTypes::open(const ElfFile& elf) {
  Dwarf* d = dwarf_begin_elf(elf.elf(), DWARF_C_READ, nullptr);
  if (!d) return make_error(elf.path() + " has no DWARF debug info (built with -ldflags=-w or stripped)");
  DwarfTypes t;
  t.dwarf_.reset(d);

  // Go emits every type once, as a top-level DIE of some unit: index the structs.
  Dwarf_Off off = 0, next = 0;
  size_t hsize = 0;
  while (dwarf_nextcu(d, off, &next, &hsize, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu, child;
    if (dwarf_offdie(d, off + hsize, &cu) && dwarf_child(&cu, &child) == 0) {
      do {
        if (dwarf_tag(&child) != DW_TAG_structure_type) continue;
        const char* name = dwarf_diename(&child);
        if (name) t.struct_dies_.emplace(name, dwarf_dieoffset(&child));
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    off = next;
  }
  if (t.struct_dies_.empty()) return make_error(elf.path() + ": DWARF has no struct types");
  return t;
}

std::optional<uint64_t> DwarfTypes::member_offset(std::string_view struct_name,
                                                  std::string_view member) const {
  auto it = struct_dies_.find(std::string(struct_name));
  if (it == struct_dies_.end()) return std::nullopt;
  Dwarf_Die die, child;
  if (!dwarf_offdie(dwarf_.get(), it->second, &die) || dwarf_child(&die, &child) != 0) return std::nullopt;
  do {
    if (dwarf_tag(&child) != DW_TAG_member) continue;
    const char* name = dwarf_diename(&child);
    if (!name || member != name) continue;
    Dwarf_Attribute attr;
    Dwarf_Word value = 0;
    if (!dwarf_attr(&child, DW_AT_data_member_location, &attr) || dwarf_formudata(&attr, &value) != 0)
      return std::nullopt;
    return value;
  } while (dwarf_siblingof(&child, &child) == 0);
  return std::nullopt;
}

std::optional<uint64_t> DwarfTypes::struct_size(std::string_view struct_name) const {
  auto it = struct_dies_.find(std::string(struct_name));
  if (it == struct_dies_.end()) return std::nullopt;
  Dwarf_Die die;
  if (!dwarf_offdie(dwarf_.get(), it->second, &die)) return std::nullopt;
  Dwarf_Word size = 0;
  Dwarf_Attribute attr;
  if (!dwarf_attr(&die, DW_AT_byte_size, &attr) || dwarf_formudata(&attr, &size) != 0) return std::nullopt;
  return size;
}

}  // namespace goscope::sym
