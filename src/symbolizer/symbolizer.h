// goscope's view of a Go executable: Go version and build settings, functions,
// file:line and inlined frames (from .gopclntab, so stripped binaries work),
// runtime struct offsets (DWARF, else the generated table) and the wait-reason
// names. Addresses have explicit kinds, in the spirit of blazesym:
//   - ELF virtual address (vaddr): what the file's headers and tables use;
//   - process address: vaddr + load bias of a running process (PIE);
//   - file offset: what uprobes attach by (ElfFile::vaddr_to_file_offset).
// Batch lookups return one result per address: frames, or why it is unknown.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"
#include "symbolizer/buildinfo.h"
#include "symbolizer/elf_file.h"
#include "symbolizer/go_offsets.h"
#include "symbolizer/pclntab.h"

namespace goscope::sym {

// Go 1.17 brought the register ABI goscope's probes rely on.
inline constexpr GoVersion kMinGoVersion{1, 17, 0};

enum class Unknown {
  kNone = 0,
  kNotInExecutable,  // process address outside the executable's mappings (a library, heap, stack…)
  kNotInText,        // outside the Go text range
  kNoFunction,       // in text but no function covers it (padding, corrupt table)
};
const char* describe(Unknown u);

struct Symbolized {
  uint64_t address = 0;       // as given
  uint64_t vaddr = 0;         // ELF virtual address it maps to (0 when not in the executable)
  std::vector<Frame> frames;  // innermost first; the last is the physical function
  Unknown unknown = Unknown::kNone;
};

// Where the offsets came from.
struct ResolvedOffsets {
  GoOffsets offsets;
  std::string source;  // "DWARF", "table 1.22", or "none"
  std::vector<std::string> wait_reasons;
  std::string wait_reasons_source;  // "symbol", "DWARF", "table 1.22", or "none"
};

class GoBinary {
 public:
  // Opens and parses a Go executable. Errors (clear sentences for the user): no such
  // file, not ELF, not x86-64, not a Go program, Go older than 1.17, corrupt tables.
  static Expected<std::shared_ptr<const GoBinary>> open(const std::string& path);
  // The same, cached per file identity (device, inode, size, mtime): repeated opens are free.
  static Expected<std::shared_ptr<const GoBinary>> open_cached(const std::string& path);

  const ElfFile& elf() const { return *elf_; }
  const BuildInfo& build_info() const { return build_info_; }
  const Pclntab& pclntab() const { return *pclntab_; }
  bool has_dwarf() const { return dwarf_ != nullptr; }
  const DwarfTypes* dwarf() const { return dwarf_.get(); }
  bool is_pie() const { return elf_->is_pie(); }
  bool is_stripped() const { return !elf_->has_symtab(); }
  const ResolvedOffsets& offsets() const { return offsets_; }

  // Entry vaddr of a function by exact Go name, from the pclntab (works when stripped).
  std::optional<uint64_t> function_address(std::string_view name) const;
  // Where the runtime keeps the current g relative to a thread's fs base (-8 for
  // programs linked by Go's own linker; elsewhere for cgo programs).
  int64_t tls_g_offset() const;

  // Batch symbolization of ELF virtual addresses. Thread-safe; the pclntab's pc tables
  // are decoded on first use and cached (bounded) in the binary.
  std::vector<Symbolized> symbolize_vaddrs(std::span<const uint64_t> vaddrs) const;

 private:
  GoBinary() = default;
  std::unique_ptr<ElfFile> elf_;
  BuildInfo build_info_;
  std::unique_ptr<Pclntab> pclntab_;
  std::unique_ptr<DwarfTypes> dwarf_;
  ResolvedOffsets offsets_;
};

// A running process and where its executable is mapped.
class ProcessImage {
 public:
  // Reads /proc/PID/exe and /proc/PID/maps. Errors: no such process, no permission.
  static Expected<ProcessImage> open(pid_t pid);

  pid_t pid() const { return pid_; }
  // "/proc/PID/exe": opens the very file the process runs, also when deleted on
  // disk or inside another mount namespace (a container).
  const std::string& exe_path() const { return exe_path_; }
  const std::string& exe_name() const { return exe_name_; }  // readlink of it, for display
  // process address = vaddr + load_bias (0 for a non-PIE executable).
  uint64_t load_bias() const { return load_bias_; }
  // Process address -> ELF vaddr of the executable, if it lies in one of its mappings.
  std::optional<uint64_t> to_vaddr(uint64_t process_address) const;
  uint64_t to_process(uint64_t vaddr) const { return vaddr + load_bias_; }

 private:
  struct Mapping {
    uint64_t start, end;
  };
  pid_t pid_ = 0;
  std::string exe_path_;
  std::string exe_name_;
  uint64_t load_bias_ = 0;
  std::vector<Mapping> exe_mappings_;
};

// Batch symbolization of process addresses of `process`, whose executable is `binary`.
std::vector<Symbolized> symbolize_process(const GoBinary& binary, const ProcessImage& process,
                                          std::span<const uint64_t> addresses);

}  // namespace goscope::sym
