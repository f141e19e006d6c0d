#include "symbolizer/runtime_vars.h"

#include <capstone/capstone.h>

#include <set>
#include <vector>

namespace goscope::sym {

namespace {

// Every RIP-relative memory operand's target in [entry, end).
std::set<uint64_t> rip_targets(const GoBinary& b, uint64_t entry, uint64_t end) {
  std::set<uint64_t> out;
  const auto code = b.elf().vaddr_bytes(entry, end - entry);
  if (code.empty()) return out;
  csh h = 0;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) return out;
  cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
  if (cs_insn* insn = cs_malloc(h)) {
    const uint8_t* p = code.data();
    size_t left = code.size();
    uint64_t a = entry;
    while (left > 0 && cs_disasm_iter(h, &p, &left, &a, insn)) {
      const cs_x86& x = insn->detail->x86;
      for (uint8_t k = 0; k < x.op_count; k++)
        if (x.operands[k].type == X86_OP_MEM && x.operands[k].mem.base == X86_REG_RIP)
          out.insert(insn->address + insn->size + static_cast<uint64_t>(x.operands[k].mem.disp));
    }
    cs_free(insn, 1);
  }
  cs_close(&h);
  return out;
}

bool in_writable_data(const GoBinary& b, uint64_t vaddr, uint64_t size) {
  for (const auto& s : b.elf().sections())
    if ((s.name == ".bss" || s.name == ".noptrbss" || s.name == ".data" || s.name == ".noptrdata") &&
        vaddr >= s.addr && vaddr + size <= s.addr + s.size)
      return true;
  return false;
}

std::set<uint64_t> function_rip_targets(const GoBinary& b, std::string_view name) {
  const auto fn = b.pclntab().function_named(name);
  if (!fn) return {};
  return rip_targets(b, b.pclntab().function_entry(*fn), b.pclntab().function_end(*fn));
}

constexpr uint64_t kSemTableSize = 251 * 64;  // runtime/sema.go: semTabSize entries padded to a cache line

}  // namespace

std::set<uint64_t> data_references(const GoBinary& b, std::string_view name) {
  std::set<uint64_t> out;
  for (uint64_t t : function_rip_targets(b, name))
    if (in_writable_data(b, t, 8)) out.insert(t);
  return out;
}

// semrelease1 hashes the address into semtable (`&semtable[(addr>>3)%251].root`):
// in every Go of the matrix that is the only global variable it refers to.
std::optional<uint64_t> semtable_from_code(const GoBinary& b) {
  std::vector<uint64_t> found;
  for (uint64_t t : function_rip_targets(b, "runtime.semrelease1"))
    if (in_writable_data(b, t, kSemTableSize)) found.push_back(t);
  if (found.size() != 1) return std::nullopt;
  return found[0];
}

// runtime.allgadd does `allgs = append(allgs, gp)`: it reads and writes the
// slice's pointer, length and capacity, three words at X, X+8, X+16. No other
// global it touches (allglock, allgptr, allglen, writeBarrier) is such a triple.
std::optional<uint64_t> allgs_from_code(const GoBinary& b) {
  const auto targets = function_rip_targets(b, "runtime.allgadd");
  std::vector<uint64_t> found;
  for (uint64_t t : targets)
    if (targets.count(t + 8) && targets.count(t + 16)) found.push_back(t);
  if (found.size() != 1 || !in_writable_data(b, found[0], 24)) return std::nullopt;
  return found[0];
}

std::optional<RuntimeVariable> find_runtime_variable(const GoBinary& binary, std::string_view name) {
  if (auto s = binary.elf().find_symbol(name)) return RuntimeVariable{s->vaddr, s->size, "symbol"};
  if (const auto* d = binary.dwarf())
    if (auto v = d->variable(name)) return RuntimeVariable{v->first, v->second, "DWARF"};
  if (name == "runtime.allgs")
    if (auto v = allgs_from_code(binary)) return RuntimeVariable{*v, 24, "code of runtime.allgadd"};
  if (name == "runtime.semtable")
    if (auto v = semtable_from_code(binary))
      return RuntimeVariable{*v, kSemTableSize, "code of runtime.semrelease1"};
  return std::nullopt;
}

}  // namespace goscope::sym
