#include "symbolizer/dwarf_types.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <algorithm>
#include <functional>

namespace goscope::sym {

namespace {

// The DIE named `name` in one of DwarfTypes' name -> DIE offset indexes.
bool die_named(Dwarf* dwarf, const std::unordered_map<std::string, uint64_t>& index, std::string_view name,
               Dwarf_Die* out) {
  auto it = index.find(std::string(name));
  return it != index.end() && dwarf_offdie(dwarf, it->second, out) != nullptr;
}

// Calls fn for every direct child DIE of every compilation unit.
template <typename Fn>
void for_each_top_level_die(Dwarf* d, Fn fn) {
  Dwarf_Off off = 0, next = 0;
  size_t hsize = 0;
  for (; dwarf_nextcu(d, off, &next, &hsize, nullptr, nullptr, nullptr) == 0; off = next) {
    Dwarf_Die cu, child;
    if (!dwarf_offdie(d, off + hsize, &cu) || dwarf_child(&cu, &child) != 0) continue;
    do fn(&child);
    while (dwarf_siblingof(&child, &child) == 0);
  }
}

}  // namespace

namespace {

std::optional<uint64_t> member_in(Dwarf_Die* st, std::string_view member, Dwarf_Die* member_die) {
  Dwarf_Die child;
  if (dwarf_child(st, &child) != 0) return std::nullopt;
  do {
    if (dwarf_tag(&child) != DW_TAG_member) continue;
    const char* name = dwarf_diename(&child);
    if (!name || member != name) continue;
    Dwarf_Attribute attr;
    Dwarf_Word value = 0;
    if (!dwarf_attr(&child, DW_AT_data_member_location, &attr) || dwarf_formudata(&attr, &value) != 0)
      return std::nullopt;
    if (member_die) *member_die = child;
    return value;
  } while (dwarf_siblingof(&child, &child) == 0);
  return std::nullopt;
}

// Follows typedefs to the struct a member's type names.
bool struct_of(Dwarf_Die* member, Dwarf_Die* out) {
  Dwarf_Attribute attr;
  Dwarf_Die t;
  if (!dwarf_attr(member, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &t)) return false;
  for (int i = 0; i < 8; i++) {
    const int tag = dwarf_tag(&t);
    if (tag == DW_TAG_structure_type) {
      *out = t;
      return true;
    }
    if (tag != DW_TAG_typedef) return false;
    if (!dwarf_attr(&t, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &t)) return false;
  }
  return false;
}

}  // namespace

void DwarfTypes::DwarfCloser::operator()(Dwarf* d) const {
  dwarf_end(d);
}

Expected<DwarfTypes> DwarfTypes::open(const ElfFile& elf) {
  Dwarf* d = dwarf_begin_elf(elf.elf(), DWARF_C_READ, nullptr);
  if (!d) return make_error(elf.path() + " has no DWARF debug info (built with -ldflags=-w or stripped)");
  DwarfTypes t;
  t.dwarf_.reset(d);

  // Go emits every type and global once, as a top-level DIE of some unit: index them.
  for_each_top_level_die(d, [&](Dwarf_Die* die) {
    const int tag = dwarf_tag(die);
    if (tag != DW_TAG_structure_type && tag != DW_TAG_variable) return;
    const char* name = dwarf_diename(die);
    if (name)
      (tag == DW_TAG_structure_type ? t.struct_dies_ : t.var_dies_).emplace(name, dwarf_dieoffset(die));
  });
  if (t.struct_dies_.empty()) return make_error(elf.path() + ": DWARF has no struct types");
  return t;
}

std::optional<uint64_t> DwarfTypes::member_offset(std::string_view struct_name,
                                                  std::string_view member) const {
  Dwarf_Die die;
  if (!die_named(dwarf_.get(), struct_dies_, struct_name, &die)) return std::nullopt;
  return member_in(&die, member, nullptr);
}

std::optional<uint64_t> DwarfTypes::member_path_offset(std::string_view struct_name,
                                                       std::string_view path) const {
  Dwarf_Die st;
  if (!die_named(dwarf_.get(), struct_dies_, struct_name, &st)) return std::nullopt;
  uint64_t total = 0;
  while (true) {
    const size_t dot = path.find('.');
    const std::string_view name = path.substr(0, dot);
    Dwarf_Die m;
    auto o = member_in(&st, name, &m);
    if (!o) return std::nullopt;
    total += *o;
    if (dot == std::string_view::npos) return total;
    path.remove_prefix(dot + 1);
    if (!struct_of(&m, &st)) return std::nullopt;
  }
}

std::optional<uint64_t> DwarfTypes::struct_size(std::string_view struct_name) const {
  Dwarf_Die die;
  if (!die_named(dwarf_.get(), struct_dies_, struct_name, &die)) return std::nullopt;
  Dwarf_Word size = 0;
  Dwarf_Attribute attr;
  if (!dwarf_attr(&die, DW_AT_byte_size, &attr) || dwarf_formudata(&attr, &size) != 0) return std::nullopt;
  return size;
}

std::optional<std::pair<uint64_t, uint64_t>> DwarfTypes::variable(std::string_view name) const {
  Dwarf_Die die;
  if (!die_named(dwarf_.get(), var_dies_, name, &die)) return std::nullopt;
  Dwarf_Attribute attr;
  Dwarf_Op* ops = nullptr;
  size_t nops = 0;
  if (!dwarf_attr(&die, DW_AT_location, &attr) || dwarf_getlocation(&attr, &ops, &nops) != 0 || nops != 1 ||
      ops[0].atom != DW_OP_addr)
    return std::nullopt;
  Dwarf_Die type;
  Dwarf_Word size = 0;
  if (!dwarf_attr(&die, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &type) ||
      dwarf_aggregate_size(&type, &size) != 0)
    return std::nullopt;
  return std::make_pair(static_cast<uint64_t>(ops[0].number), static_cast<uint64_t>(size));
}

std::vector<DwarfInlinedCall> DwarfTypes::inlined_calls(const std::vector<std::string>& names) const {
  std::vector<DwarfInlinedCall> out;
  Dwarf* d = dwarf_.get();
  // Walks a subprogram's subtree for inlined instances (they nest inside lexical blocks and each other).
  std::function<void(Dwarf_Die*, const char*)> walk = [&](Dwarf_Die* parent, const char* caller) {
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0) return;
    do {
      const int tag = dwarf_tag(&child);
      if (tag == DW_TAG_inlined_subroutine) {
        Dwarf_Attribute attr;
        Dwarf_Die origin;
        const char* name = nullptr;
        if (dwarf_attr(&child, DW_AT_abstract_origin, &attr) && dwarf_formref_die(&attr, &origin))
          name = dwarf_diename(&origin);
        if (name && (names.empty() || std::find(names.begin(), names.end(), name) != names.end())) {
          DwarfInlinedCall call{name, caller ? caller : "", {}};
          Dwarf_Addr base = 0, lo = 0, hi = 0;
          for (ptrdiff_t o = 0; (o = dwarf_ranges(&child, o, &base, &lo, &hi)) > 0;)
            call.ranges.emplace_back(lo, hi);
          out.push_back(std::move(call));
        }
      }
      if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block) walk(&child, caller);
    } while (dwarf_siblingof(&child, &child) == 0);
  };
  for_each_top_level_die(d, [&](Dwarf_Die* die) {
    if (dwarf_tag(die) == DW_TAG_subprogram && dwarf_hasattr(die, DW_AT_low_pc))
      walk(die, dwarf_diename(die));
  });
  return out;
}

}  // namespace goscope::sym
