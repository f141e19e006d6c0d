// Where a Go runtime global variable is, also in stripped binaries: .symtab,
// else DWARF, else (for the globals goscope reads) recovered from the machine
// code of a runtime function that uses it (pclntab survives stripping).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "symbolizer/symbolizer.h"

namespace goscope::sym {

struct RuntimeVariable {
  uint64_t vaddr = 0;  // ELF virtual address
  uint64_t size = 0;   // bytes
  std::string source;  // "symbol", "DWARF", "code of runtime.allgadd", ...
};

// Recovered from code when stripped: "runtime.allgs" (the slice: pointer, len, cap;
// from runtime.allgadd) and "runtime.semtable" (from runtime.semrelease1; its size is
// then the amd64 layout's, 251 cache-line-padded entries).
std::optional<RuntimeVariable> find_runtime_variable(const GoBinary& binary, std::string_view name);

// Every RIP-relative reference of the code of function `name` (exact Go name) into
// the writable data sections (.data, .bss, .noptrdata, .noptrbss), as ELF vaddrs.
std::set<uint64_t> data_references(const GoBinary& binary, std::string_view name);

// runtime.allgs recovered from the code of runtime.allgadd alone (what stripped binaries get).
std::optional<uint64_t> allgs_from_code(const GoBinary& binary);
// runtime.semtable from the code of runtime.semrelease1 alone.
std::optional<uint64_t> semtable_from_code(const GoBinary& binary);

}  // namespace goscope::sym
